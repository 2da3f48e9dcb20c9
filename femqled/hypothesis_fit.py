"""The magnitudes of a hypothesis that come closest to the paper's readings (``femqled hypotheses CASE --fit NAME
--free KEY=LO:HI ...``).

A case's ``[[hypothesis]]`` table fixes each of its changes at theta = 1 (a barrier rise, ions, a fixed charge, a
tunnel layer, ...; :func:`femqled.elevation.degradation`), and the scorecard turns theta up until the luminance
has risen (:func:`femqled.hypotheses.score`). Which magnitudes, if any, make that row read as He et al. 2023 read
the device? This module searches them: some keys of the table are left free within bounds, each evaluation is
one scorecard row, and the objective is

    F = sum over the readings of (distance outside the paper's window / the window's tolerance)^2

(:func:`femqled.acceptance.misses`: the ideality ratio, the two C-V onsets, the SKPM field near ZnO/Ag and
elsewhere, the two peel-off readings; 0 when a reading passes) for a row that reached the rise (+90 +- 15 %); a
row that did not counts more than any that did (:func:`objective`). The search is derivative-free, as the
readings are piecewise (an onset jumps where another rise becomes the steepest): a grid of ``grid`` values per
free key (its bounds and the points between), then Nelder-Mead from the best grid point in coordinates
normalised to the bounds (log10 for a key marked ``log``), at most ``evaluations`` distinct rows in all (a point
the bounds clip onto one already read is not read again). Every rank runs every evaluation on the communicator
(the scorecard's own parallelism) and rank 0's objective is broadcast, so the search is the same on every rank.

:func:`fit` returns the record; :func:`write` writes ``fit.csv`` (one line per evaluation: the free values, F,
its parts, the readings), ``fit.json`` (settings, versions, git revision, the evaluations, the best),
``best.toml`` (the hypothesis table with the best values, to paste into a case) and the best row's scorecard in
``best/`` (:func:`femqled.hypotheses.write`).
"""

from __future__ import annotations

import copy
import itertools
import math
from pathlib import Path

import numpy as np
from mpi4py import MPI

from femqled import acceptance, hypotheses, io
from femqled.case import HYPOTHESIS
from femqled.errors import InputError
from femqled.schema import check_value

FREE_KEYS = tuple(k for k, f in HYPOTHESIS.fields.items() if f.type is float)   # the table's magnitudes
UNREAD_ALL = (len(acceptance.MISS_PARTS) - 1) * acceptance.UNREAD ** 2   # every reading unread (700)
NOT_RISEN = 1000.0           # F of a row that did not reach the rise, plus 100 x its rise miss^2: above any risen one
FAILED = 1e4                 # F of a row that could not be read at all (the scorecard's "failed")
READINGS = ("luminance_rise", "knob", "V0", "V", "skpm_near", "skpm_elsewhere", "cv_pristine_V", "cv_aged_V",
            "ideality_pristine", "ideality_aged", "peeloff_ZnO_Ag", "peeloff_Ag_recovery", "rows_passed")


def parse_free(specs: list[str]) -> dict[str, tuple[float, float, bool]]:
    """``["KEY=LO:HI", "KEY=LO:HI:log", ...]`` -> {key: (lo, hi, log)}, each bound within the schema's limits of
    the key (:data:`femqled.case.HYPOTHESIS`); InputError naming ``--free`` otherwise."""
    if not specs:
        raise InputError("--free", "--fit needs at least one free key: --free KEY=LO:HI (or KEY=LO:HI:log), KEY "
                                   f"one of {', '.join(FREE_KEYS)}")
    free = {}
    for spec in specs:
        key, _, rng = spec.partition("=")
        parts = rng.split(":")
        if key not in FREE_KEYS:
            raise InputError("--free", f"{key!r} cannot be fitted; one of {', '.join(FREE_KEYS)} (got {spec!r})")
        if key in free:
            raise InputError("--free", f"{key} is given twice")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "log"):
            raise InputError("--free", f"expected KEY=LO:HI or KEY=LO:HI:log, got {spec!r}")
        try:
            lo, hi = float(parts[0]), float(parts[1])
        except ValueError:
            raise InputError("--free", f"the bounds of {key} must be numbers, got {rng!r}") from None
        log = len(parts) == 3
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise InputError("--free", f"{key}: the lower bound must be below the upper one, got {lo:g}:{hi:g}")
        if log and not (lo > 0 or hi < 0):
            raise InputError("--free", f"{key}: a log scale needs bounds of one sign, not {lo:g}:{hi:g}")
        for bound in (lo, hi):                                 # the schema's limits, one message
            check_value(HYPOTHESIS.fields[key], bound, f"--free {key}")
        free[key] = (lo, hi, log)
    return free


def to_value(z: float, lo: float, hi: float, log: bool) -> float:
    """The key's value at the normalised coordinate z in [0, 1] (log10-linear between the bounds for ``log``)."""
    z = min(max(z, 0.0), 1.0)
    if not log:
        return lo + z * (hi - lo)
    s = math.copysign(1.0, lo)
    a, b = math.log10(abs(lo)), math.log10(abs(hi))
    return s * 10 ** (a + z * (b - a))


def objective(row: dict) -> tuple[float, dict]:
    """(F, its parts) of a scorecard row. The rise is what the hypothesis must give, the readings how it reads
    then: F is the sum of the readings' squared misses (at most :data:`UNREAD_ALL`) for a row that reached the
    rise, :data:`NOT_RISEN` + 100 x the rise's squared miss for one that did not (so a hypothesis that changes
    little, and so disturbs nothing, cannot look close), :data:`FAILED` for one that could not be read."""
    if "failed" in row:
        return FAILED, {}
    parts = acceptance.misses(row)
    if parts["rise"] > 0:
        return NOT_RISEN + 100.0 * parts["rise"] ** 2, parts
    return float(sum(v * v for k, v in parts.items() if k != "rise")), parts


def with_values(raw: dict, name: str, values: dict) -> dict:
    """The case data ``raw`` with the hypothesis ``name``'s keys set to ``values``."""
    data = copy.deepcopy(raw)
    for h in data["hypothesis"]:
        if h["name"] == name:
            h.update(values)
    return data


def fit(raw: dict, name: str, free: dict, comm=MPI.COMM_WORLD, evaluations: int = 40, grid: int = 3,
        score_kw: dict | None = None, say=None) -> dict:
    """Search the free keys of the case's hypothesis ``name`` (``free``: :func:`parse_free`) for the smallest F.
    ``score_kw``: rise, J, V_max, two_d of :func:`femqled.hypotheses.score`. Returns {"evaluations": [...],
    "best": the best evaluation, "rows": {index: its full scorecard row}} (every rank the same)."""
    from scipy.optimize import minimize

    say = say or (lambda line: None)
    keys = list(free)
    done: dict[tuple, int] = {}
    evals, rows = [], {}

    class Spent(Exception):
        pass

    def evaluate(z) -> float:
        z = tuple(float(round(min(max(v, 0.0), 1.0), 6)) for v in z)
        if z in done:
            return evals[done[z]]["F"]
        if len(evals) >= evaluations:
            raise Spent
        values = {k: to_value(v, *free[k]) for k, v in zip(keys, z)}
        row = hypotheses.score(with_values(raw, name, values), comm, [name], **(score_kw or {}))[0]
        F, parts = objective(row)
        F = comm.bcast(F, root=0)
        record = {"evaluation": len(evals) + 1, **values, "F": F, **{f"miss_{k}": v for k, v in parts.items()},
                  **{k: row.get(k, float("nan")) for k in READINGS}, "failed": row.get("failed", "")}
        done[z] = len(evals)
        rows[len(evals)] = row
        evals.append(record)
        shown = " ".join(f"{k}={v:.4g}" for k, v in values.items())
        if "failed" in row:
            say(f"  {record['evaluation']:3d}  {shown} | failed: {row['failed']}")
        else:
            say(f"  {record['evaluation']:3d}  {shown} | {100 * row['luminance_rise']:+.0f} % at {row['V']:.2f} V "
                f"| rows {row['rows_passed']}/4 | F {F:.3g}")
        return F

    try:
        points = [np.linspace(0.0, 1.0, grid) for _ in keys] if grid > 1 else [[0.5] for _ in keys]
        for z in itertools.product(*points):
            evaluate(z)
        start = min(done, key=lambda z: evals[done[z]]["F"])
        if len(evals) < evaluations:
            simplex = [start] + [tuple(min(max(s + (0.25 if s < 0.5 else -0.25) * (i == j), 0.0), 1.0)
                                       for j, s in enumerate(start)) for i in range(len(keys))]
            minimize(evaluate, np.array(start), method="Nelder-Mead", bounds=[(0.0, 1.0)] * len(keys),
                     options={"initial_simplex": np.array(simplex), "xatol": 1e-3, "fatol": 1e-3,
                              "maxfev": 50 * evaluations})        # (points clipped to the bounds repeat: cached)
    except Spent:
        pass
    best = min(range(len(evals)), key=lambda i: evals[i]["F"])
    return {"evaluations": evals, "best": evals[best], "rows": {best: rows[best]}}


def best_table(raw: dict, name: str, best: dict) -> str:
    """The hypothesis ``name`` with the best values, as a ``[[hypothesis]]`` TOML table."""
    h = next(h for h in with_values(raw, name, {k: best[k] for k in FREE_KEYS if k in best})["hypothesis"]
             if h["name"] == name)
    lines = [f"# femqled hypotheses --fit {name}: F = {best['F']:.4g}, {best['rows_passed']} of 4 rows", "",
             "[[hypothesis]]"]
    for k, v in h.items():
        value = f'"{v}"' if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else repr(v)
        lines.append(f"{k} = {value}")
    return "\n".join(lines) + "\n"


def write(out: Path, record: dict, raw: dict, name: str, settings: dict, comm=MPI.COMM_WORLD) -> None:
    """fit.csv, fit.json, best.toml and the best row's scorecard (``best/``) in ``out`` (created)."""
    out = Path(out)
    if comm.rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    comm.barrier()
    io.write_csv(out / "fit.csv", record["evaluations"], comm=comm)
    io.write_json(out / "fit.json", {"settings": {**settings, "ranks": comm.size, "git_revision": io.git_revision(),
                                                  "versions": io.versions()},
                                     "best": record["best"], "evaluations": record["evaluations"]}, comm=comm)
    if comm.rank == 0:
        (out / "best.toml").write_text(best_table(raw, name, record["best"]))
    hypotheses.write(out / "best", list(record["rows"].values()), settings, comm)
