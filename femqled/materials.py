"""The materials library: one parameter file (``femqled/data/parameters.toml``), every value with a source.

A material is a dict of parameters (units in the key names); ``base`` inherits from another material. A case may
override or add materials with ``[materials.NAME]`` tables, which are merged on top of the library.
"""

from __future__ import annotations

import copy
import tomllib
from functools import lru_cache
from pathlib import Path

from femqled.errors import InputError

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


def model_parameters(overrides: dict | None = None) -> dict:
    """Parameters of the model that belong to no single material ([model]), with case overrides."""
    out = {k: v for k, v in _model_raw().items() if k != "sources"}
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
