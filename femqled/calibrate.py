"""Calibration: fit case parameters to measured observables by least squares (issue 7).

A targets file (TOML) names the parameters to fit and the observables to match:

    [[parameter]]
    path = "contacts.cathode_barrier_eV"     # a dotted path into the case (materials.NAME.KEY for materials)
    lower = 0.0                              # bounds (required)
    upper = 0.8
    initial = 0.3                            # optional: default the case's value
    scale = "linear"                         # or "log" (fit log10 x: mobilities, diffusivities)

    [[target]]
    observable = "V_at_10mA"                 # see OBSERVABLES
    value = 1.9                              # measured
    sigma = 0.05                             # uncertainty: the residual is (simulated - value) / sigma
    source = "He et al. 2023 Fig. 1b"        # free text, reported

    [[target]]
    observable = "elevation_duration_h"      # or, for a value known within a factor (lifetimes):
    value = 60.0
    factor = 1.5                             # the residual is ln(simulated / value) / ln(factor): +-1 at x1.5, /1.5
    J_mA_cm2 = 30.0
    hours = 300.0

    [sweep]                                  # optional: the J-V / C-V sweep of the pristine observables
    V_max = 4.0
    dV = 0.1

Every evaluation builds the case with the trial parameters and runs what the targets need: a J-V sweep, a C-V
sweep, a constant-current steady state (the EL peak and width at ``J_mA_cm2``) and/or constant-current lifetime
tests (``J_mA_cm2`` and ``hours`` of the target; ``SIMS_depth_ratio`` is the ToF-SIMS acetate penetration
into the Ag at the test's luminance maximum, where the elevation ends, over the pristine one; at the end of the
test before 2026-12-07, :func:`femqled.ageing.aged_state`), and/or the contact-limit test at ``J_mA_cm2``
(:mod:`femqled.instruments.contact_limit`: the largest EL and PL rise a degrading cathode can give, up to the
ageing table's ``compliance_V``). The project's targets files are ``cases/targets-*.toml``. The fit is
scipy.optimize.least_squares (trust-region reflective) in normalised coordinates z = 0..1 across each
parameter's bounds (log10 for ``scale = "log"``), with a forward-difference Jacobian of step ``diff_step``. Every
rank runs the same evaluations on the communicator and rank 0's residuals are broadcast, so the fit is identical
on every rank. ``calibration.json`` records every evaluation; ``calibrated.toml`` holds the fitted values as
case overrides, to paste into a case or (with their sources, "calibrated to <observable>") into the parameter
file.
"""

from __future__ import annotations

import copy
import json
import math
import time
from pathlib import Path

import numpy as np
from mpi4py import MPI

from femqled import materials
from femqled.errors import InputError, SolverError
from femqled.schema import Field, Table, read_toml

JV_OBSERVABLES = ("turn_on_V", "min_ideality", "V_at_10mA", "eta_X_at_10mA", "EQE_at_10mA", "max_EQE")
CV_OBSERVABLES = ("cv_onset_V",)
OPERATING_OBSERVABLES = ("EL_peak_nm", "EL_fwhm_nm")       # the pristine device held at J_mA_cm2
LIMIT_OBSERVABLES = ("EL_rise_limit", "PL_rise_limit")      # contact-limit test at J_mA_cm2 (instruments)
AGEING_OBSERVABLES = ("elevation", "elevation_duration_h", "SIMS_depth_ratio")
OBSERVABLES = (JV_OBSERVABLES + CV_OBSERVABLES + OPERATING_OBSERVABLES + LIMIT_OBSERVABLES
               + AGEING_OBSERVABLES)
AT_CURRENT = OPERATING_OBSERVABLES + LIMIT_OBSERVABLES     # observables of a current density J_mA_cm2
FAILED_RESIDUAL = 1e3          # residual of an evaluation that did not converge (steers the fit away)

TARGETS_SCHEMA = Table({
    "parameter": Field(Table({
        "path": Field(str, doc="dotted path into the case, e.g. materials.QD.electron_affinity_eV"),
        "lower": Field(float, doc="lower bound"),
        "upper": Field(float, doc="upper bound"),
        "initial": Field(float, None, doc="starting value (default: the case's value)"),
        "scale": Field(str, "linear", choices=("linear", "log")),
    }), list_of=True),
    "target": Field(Table({
        "observable": Field(str, choices=OBSERVABLES),
        "value": Field(float, doc="measured value"),
        "sigma": Field(float, None, gt=0.0, doc="uncertainty (residual unit); or give factor"),
        "factor": Field(float, None, gt=1.0, doc="a tolerance by a factor instead of sigma: the residual is "
                                                "ln(simulated / value) / ln(factor)"),
        "J_mA_cm2": Field(float, 10.0, gt=0.0, doc="current density of an EL or lifetime observable"),
        "hours": Field(float, 1000.0, gt=0.0, doc="duration of a lifetime observable's test (h)"),
        "source": Field(str, "", doc="where the measured value comes from"),
    }), list_of=True),
    "sweep": Field(Table({
        "V_max": Field(float, 4.0, gt=0.0),
        "dV": Field(float, 0.1, gt=0.0),
        "f_Hz": Field(float, 1e3, gt=0.0, doc="C-V frequency"),
    }), dict),
    "max_evaluations": Field(int, 40, min=1, doc="cap on model runs, finite-difference (Jacobian) runs included"),
    "diff_step": Field(float, 0.02, gt=0.0, doc="finite-difference step of the Jacobian as a fraction of each "
                                                "parameter's range (large enough to see past the time-step "
                                                "granularity of lifetime observables)"),
})


def load_targets(path) -> dict:
    spec = TARGETS_SCHEMA.check(read_toml(path, "targets", "targets file"), "")
    if not spec["parameter"] or not spec["target"]:
        raise InputError("targets", "needs at least one [[parameter]] and one [[target]]")
    for i, p in enumerate(spec["parameter"]):
        if not p["lower"] < p["upper"]:
            raise InputError(f"parameter[{i}].upper", "must be > lower")
        if p["scale"] == "log" and p["lower"] <= 0:
            raise InputError(f"parameter[{i}].lower", "must be > 0 for scale = 'log'")
    for i, t in enumerate(spec["target"]):
        if (t["sigma"] is None) == (t["factor"] is None):
            raise InputError(f"target[{i}].sigma", "give either sigma (an uncertainty) or factor (a tolerance by a "
                                                   "factor > 1), not both or neither")
        if t["factor"] is not None and not t["value"] > 0:
            raise InputError(f"target[{i}].value", f"must be > 0 with a factor, got {t['value']!r}")
    return spec


def residual(simulated: float, target: dict) -> float:
    """(simulated - value) / sigma, or ln(simulated / value) / ln(factor) for a tolerance by a factor;
    FAILED_RESIDUAL where the run gave no value (with a factor: no positive value)."""
    if target.get("factor") is not None:
        if not (math.isfinite(simulated) and simulated > 0):
            return FAILED_RESIDUAL
        return math.log(simulated / target["value"]) / math.log(target["factor"])
    if not math.isfinite(simulated):
        return FAILED_RESIDUAL
    return (simulated - target["value"]) / target["sigma"]


# -- parameters in a case ------------------------------------------------------------------------------------
def get_value(case: dict, path: str):
    """The case's value at a dotted path (a material's value from the library with the case's overrides; in an
    array of tables an element by its name or index, :func:`femqled.case.element`)."""
    from femqled.case import element

    keys = path.split(".")
    if keys[0] == "materials" and len(keys) == 3:
        return materials.library(case["materials"]).get(keys[1], {}).get(keys[2])
    node = case
    for k in keys:
        at = element(node, k) if isinstance(node, list) else None      # a layer by its name, a trench by index
        if at is not None:
            node = node[at]
        elif isinstance(node, dict) and k in node:
            node = node[k]
        else:
            return None
    return node


def with_values(case: dict, paths: list[str], values) -> dict:
    """A validated copy of ``case`` with the dotted paths set (:func:`femqled.case.set_path`: a layer by its name,
    ``layer.ETL.thickness_nm``; bad paths: one InputError naming them)."""
    from femqled.case import set_path, validate

    def strip(node):                     # None marks a derived default in a validated case: leave it out
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if v is not None and not k.startswith("_")}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    raw = strip(copy.deepcopy(case))
    for path, value in zip(paths, values):
        set_path(raw, path, float(value), field=f"parameter {path}")
    try:
        out = validate(raw)
    except InputError as e:
        raise InputError(f"parameter {e.field}", e.problem) from None
    out["_path"] = case.get("_path", "")
    return out


# -- observables ---------------------------------------------------------------------------------------------
def measure(case: dict, targets: list[dict], sweep: dict, scratch: Path, comm=MPI.COMM_WORLD) -> list[float]:
    """The simulated value of every target (NaN where a run failed)."""
    from femqled.ageing import AT_MAX, Ageing, aged_state
    from femqled.device import Device
    from femqled.instruments import contact_limit, cv, jv, lifetime, sims

    names = {t["observable"] for t in targets}
    V = np.round(np.arange(0.0, sweep["V_max"] + 1e-9, sweep["dV"]), 9)
    found: dict = {}
    try:
        if names & set(JV_OBSERVABLES + CV_OBSERVABLES):
            dev = Device(case, comm)
            if names & set(JV_OBSERVABLES):
                _, s = jv.run(dev, V, scratch, progress=False)
                found.update({k: s.get(k, math.nan) for k in JV_OBSERVABLES})
            if names & set(CV_OBSERVABLES):
                dev.solve(0.0)
                _, s = cv.run(dev, V, scratch, f_Hz=sweep["f_Hz"], progress=False)
                found["cv_onset_V"] = s["onset_V"]
    except SolverError:
        pass

    out = []
    for t in targets:
        name = t["observable"]
        if name in OPERATING_OBSERVABLES:
            key = ("operating", t["J_mA_cm2"])
            if key not in found:
                try:
                    op = Device(case, comm).operate(t["J_mA_cm2"])
                    found[key] = {"EL_peak_nm": op.extra["peak_nm"], "EL_fwhm_nm": op.extra["fwhm_nm"]}
                except SolverError:
                    found[key] = {}
            out.append(float(found[key].get(name, math.nan)))
        elif name in LIMIT_OBSERVABLES:
            key = ("limit", t["J_mA_cm2"])
            if key not in found:
                try:
                    found[key] = contact_limit.run(Device(case, comm), t["J_mA_cm2"],
                                                   V_c=case["ageing"]["compliance_V"])
                except SolverError:
                    found[key] = {}
            out.append(float(found[key].get(name, math.nan)))
        elif name in AGEING_OBSERVABLES:
            key = (t["J_mA_cm2"], t["hours"])
            if key not in found:
                c = copy.deepcopy(case)
                c["ageing"].update(J_mA_cm2=t["J_mA_cm2"], hours=t["hours"])
                ag = Ageing(c, comm)
                try:
                    rows = ag.run(scratch, progress=False)
                except SolverError:
                    rows = ag.rows
                found[key] = lifetime.summarize(rows, ag.stopped) if rows else {}
                if rows and "SIMS_depth_ratio" in names:    # read after the elevation, as REPORT.md's row
                    state = aged_state(scratch, found[key], comm)
                    if state.name == AT_MAX:
                        ag.restore(state)
                    found[key]["SIMS_depth_ratio"] = sims.penetration_ratio(ag.acetate)
            out.append(float(found[key].get(name, math.nan)))
        else:
            out.append(float(found.get(name, math.nan)))
    return out


# -- the fit -------------------------------------------------------------------------------------------------
class _BudgetSpent(Exception):
    """Raised inside the optimiser when ``max_evaluations`` model runs have been made."""


def fit(case: dict, spec: dict, outdir: Path, comm=MPI.COMM_WORLD, say=print) -> dict:
    """Least-squares fit of ``spec['parameter']`` to ``spec['target']``; returns (and writes) the record."""
    from scipy.optimize import least_squares

    from femqled import io

    params, targets = spec["parameter"], spec["target"]
    paths = [p["path"] for p in params]
    # the optimiser works in z in [0, 1] per parameter (lower..upper, linear or log10), so that one relative
    # finite-difference step means the same fraction of every parameter's range
    lo = [math.log10(p["lower"]) if p["scale"] == "log" else p["lower"] for p in params]
    hi = [math.log10(p["upper"]) if p["scale"] == "log" else p["upper"] for p in params]
    z0 = []
    for p, a, b in zip(params, lo, hi):
        v = p["initial"] if p["initial"] is not None else get_value(case, p["path"])
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            raise InputError(f"parameter {p['path']}", "has no numeric value in the case; give 'initial'")
        v = min(max(float(v), p["lower"]), p["upper"])
        z0.append(((math.log10(v) if p["scale"] == "log" else v) - a) / (b - a))
    with_values(case, paths, [p["lower"] for p in params])       # bad paths fail here, before any run

    def physical(z):
        out = []
        for zi, p, a, b in zip(z, params, lo, hi):
            x = a + float(np.clip(zi, 0.0, 1.0)) * (b - a)
            out.append(10 ** x if p["scale"] == "log" else x)
        return out

    scratch = Path(outdir) / "evaluation"
    if comm.rank == 0:
        scratch.mkdir(parents=True, exist_ok=True)
    comm.barrier()
    history = []

    def residuals(x):
        if len(history) >= spec["max_evaluations"]:      # the cap counts every model run, Jacobian ones too
            raise _BudgetSpent
        t0 = time.perf_counter()
        values = physical(x)
        sim = measure(with_values(case, paths, values), targets, spec["sweep"], scratch, comm)
        r = [residual(s, t) for s, t in zip(sim, targets)]
        r = comm.bcast(r, root=0)
        history.append({"parameters": dict(zip(paths, values)), "simulated": sim, "residuals": r,
                        "wall_s": time.perf_counter() - t0})
        say(f"calibrate: evaluation {len(history)}: " + ", ".join(f"{k} = {v:.6g}" for k, v in zip(paths, values))
            + f"; cost {0.5 * sum(ri * ri for ri in r):.4g} ({history[-1]['wall_s']:.1f} s)")
        io.write_json(Path(outdir) / "calibration.json", {"partial": True, "history": history}, comm=comm)
        return np.array(r)

    t0 = time.perf_counter()
    # forward differences of absolute step diff_step in z (scipy scales the relative step by max(1, |z|) = 1)
    try:
        res = least_squares(residuals, np.array(z0), bounds=(0.0, 1.0), method="trf", diff_step=spec["diff_step"],
                            max_nfev=spec["max_evaluations"])
        status, message = int(res.status), str(res.message)
    except _BudgetSpent:
        status, message = 0, f"the evaluation budget ({spec['max_evaluations']}) is spent; best evaluation kept"
    best = min(history, key=lambda h: sum(r * r for r in h["residuals"]))
    record = {
        "parameters": best["parameters"],
        "rows": [{"observable": t["observable"], "simulated": s, "measured": t["value"],
                  "sigma": t.get("sigma"), "factor": t.get("factor"), "residual": r, "source": t["source"],
                  **({"J_mA_cm2": t["J_mA_cm2"], "hours": t["hours"]} if t["observable"] in AGEING_OBSERVABLES
                     else {"J_mA_cm2": t["J_mA_cm2"]} if t["observable"] in AT_CURRENT else {})}
                 for t, s, r in zip(targets, best["simulated"], best["residuals"])],
        "cost": 0.5 * sum(r * r for r in best["residuals"]),
        "evaluations": len(history), "optimizer_status": status, "optimizer_message": message,
        "wall_s": time.perf_counter() - t0, "history": history,
    }
    io.write_json(Path(outdir) / "calibration.json", record, comm=comm)
    if comm.rank == 0:
        (Path(outdir) / "calibrated.toml").write_text(overrides_toml(best["parameters"], targets))
    return record


def overrides_toml(values: dict, targets: list[dict]) -> str:
    """The fitted values as case overrides (TOML tables), each with the observables it was calibrated to."""
    observed = ", ".join(sorted({t["observable"] for t in targets}))
    tables: dict[str, dict] = {}
    for path, v in values.items():
        keys = path.split(".")
        table = ".".join(json.dumps(k) if not k.replace("_", "").isalnum() else k for k in keys[:-1])
        tables.setdefault(table, {})[keys[-1]] = v
    lines = [f"# written by femqled calibrate: calibrated to {observed}"]
    for table, kv in tables.items():
        if table:
            lines += ["", f"[{table}]"]
        lines += [f"{k} = {v:.6g}" for k, v in kv.items()]
    return "\n".join(lines) + "\n"


def report(record: dict) -> str:
    lines = [f"calibrate: {record['evaluations']} evaluations, cost {record['cost']:.4g} "
             f"({record['optimizer_message']})"]
    lines += [f"  {k} = {v:.6g}" for k, v in record["parameters"].items()]
    lines.append("  observable              simulated     measured  tolerance   residual")
    for r in record["rows"]:
        tol = f"x{r['factor']:g}" if r.get("factor") is not None else f"{r['sigma']:.3g}"
        lines.append(f"  {r['observable']:<22} {r['simulated']:>10.4g} {r['measured']:>12.4g} {tol:>10} "
                     f"{r['residual']:>+10.3g}")
    return "\n".join(lines)
