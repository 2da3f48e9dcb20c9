"""The materials library: one parameter file (``femqled/data/parameters.toml``), every value with a source.

A material is a dict of parameters (units in the key names); ``base`` inherits from another material. A case may
override or add materials with ``[materials.NAME]`` tables, which are merged on top of the library.
"""

from __future__ import annotations

import copy
import math
import tomllib
from functools import lru_cache
from pathlib import Path

from femqled.errors import InputError
from femqled.statistics import KINDS as STATISTICS

PARAMETER_FILE = Path(__file__).with_name("data") / "parameters.toml"
ROLES = ("semiconductor", "metal", "insulator")


@lru_cache(maxsize=1)
def _library_raw() -> dict:
    with open(PARAMETER_FILE, "rb") as f:
        return tomllib.load(f)["materials"]


@lru_cache(maxsize=1)
def _model_raw() -> dict:
    with open(PARAMETER_FILE, "rb") as f:
        return tomllib.load(f).get("model", {})


@lru_cache(maxsize=1)
def _ageing_raw() -> dict:
    with open(PARAMETER_FILE, "rb") as f:
        return tomllib.load(f).get("ageing", {})


def ageing_parameter(key: str) -> float:
    """A default of the ageing kinetics ([ageing] of the parameter file; a case overrides it in [ageing])."""
    return _ageing_raw()[key]


# What each parameter may hold (units in the names), for the library and a case's [materials.NAME] alike:
# "> 0", ">= 0", "0..1" (a fraction, ends included) or "number" (any finite number).
PARAMETERS = {
    "eps_r": "> 0", "electron_affinity_eV": ">= 0", "band_gap_eV": "> 0", "Nc_cm3": "> 0", "Nv_cm3": "> 0",
    "mu_n_cm2Vs": "> 0", "mu_p_cm2Vs": "> 0", "Nd_cm3": ">= 0", "Na_cm3": ">= 0",
    "langevin_prefactor": "0..1", "trap_density_cm3": ">= 0", "tau_n_s": ">= 0", "tau_p_s": ">= 0",
    "qd_density_cm3": "> 0", "k_r_per_s": "> 0", "k_nr_per_s": ">= 0", "k_auger_trion_per_s": ">= 0",
    "lambda_X_nm": "> 0", "fwhm_X_nm": "> 0", "lambda_trion_shift_nm": "number", "fwhm_trion_nm": "> 0",
    "k_auger_positive_trion_per_s": ">= 0", "lambda_positive_trion_shift_nm": "number",
    "fwhm_positive_trion_nm": "> 0",
    "emission_yield": "0..1", "lambda_nm": "> 0", "fwhm_nm": "> 0",
    "work_function_eV": "> 0",
    "acetate_D_cm2s": ">= 0", "acetate_D_factor": "> 0", "acetate_initial_cm3": ">= 0", "acetate_solubility": "> 0",
}
# ... and the parameters of the model that belong to no single material ([model])
MODEL_PARAMETERS = {
    "interface_recombination_cm4_s": ">= 0", "outcoupling": "0..1", "interfacial_eps_r": "> 0",
    "interfacial_tunnel_barrier_eV": "> 0",
}
WORDS = {"> 0": "a number > 0", ">= 0": "a number >= 0", "0..1": "a number from 0 to 1", "number": "a number"}


def check_value(field: str, value, domain: str) -> None:
    """Raise InputError naming ``field`` unless ``value`` is a finite number within ``domain`` (PARAMETERS)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = {"> 0": value > 0, ">= 0": value >= 0, "0..1": 0 <= value <= 1, "number": True}[domain]
    if not ok:
        raise InputError(field, f"must be {WORDS[domain]}; got {value!r}")


def _check_entry(name: str, entry: dict) -> None:
    """The keys a material's table gives itself (before inheritance): known, and each within its domain."""
    for key, value in entry.items():
        if key in ("role", "base", "sources", "space_charge"):
            continue
        if key == "statistics":
            if value not in STATISTICS:
                raise InputError(f"materials.{name}.statistics", "must be one of " + ", ".join(STATISTICS)
                                 + f"; got {value!r}")
            continue
        if key not in PARAMETERS:
            raise InputError(f"materials.{name}.{key}", "unknown material parameter; allowed: role, base, statistics, "
                                                        + ", ".join(PARAMETERS))
        check_value(f"materials.{name}.{key}", value, PARAMETERS[key])


def model_parameters(overrides: dict | None = None) -> dict:
    """Parameters of the model that belong to no single material ([model]), with case overrides."""
    out = {k: v for k, v in _model_raw().items() if k != "sources"}
    for key, value in (overrides or {}).items():
        if key not in MODEL_PARAMETERS:
            raise InputError(f"model.{key}", "unknown key; allowed: " + ", ".join(MODEL_PARAMETERS))
        check_value(f"model.{key}", value, MODEL_PARAMETERS[key])
    out.update(overrides or {})
    return out


def library(overrides: dict | None = None) -> dict[str, dict]:
    """All materials, with ``base`` inheritance resolved and case overrides applied (sources dropped)."""
    raw = copy.deepcopy(_library_raw())
    for name, values in (overrides or {}).items():
        raw.setdefault(name, {}).update(values)
    resolved: dict[str, dict] = {}

    def resolve(name: str, seen: tuple = ()) -> dict:
        if name in resolved:
            return resolved[name]
        if name in seen:
            raise InputError(f"materials.{name}.base", "circular 'base' chain: " + " -> ".join(seen + (name,)))
        entry = dict(raw[name])
        _check_entry(name, entry)
        entry.pop("sources", None)
        base = entry.pop("base", None)
        if base is not None:
            if base not in raw:
                raise InputError(f"materials.{name}.base", f"unknown material {base!r}; known: {known(raw)}")
            entry = {**resolve(base, seen + (name,)), **entry}
        if entry.get("role") not in ROLES:
            raise InputError(f"materials.{name}.role", f"must be one of {', '.join(ROLES)}")
        resolved[name] = entry
        return entry

    for name in raw:
        resolve(name)
    return resolved


def known(lib: dict | None = None) -> str:
    return ", ".join(sorted(lib if lib is not None else _library_raw()))


def sources() -> dict[str, dict[str, str]]:
    """The source of every parameter of every library material: ``{material: {key: source}}``."""
    out = {name: dict(entry.get("sources", {})) for name, entry in _library_raw().items()}
    out["model"] = dict(_model_raw().get("sources", {}))
    out["ageing"] = dict(_ageing_raw().get("sources", {}))
    return out
