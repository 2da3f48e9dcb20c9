"""Reproduce the study's figures and write REPORT.md: simulated vs measured, with tolerances (issue 7).

``femqled paper [CASE] [--quick] [--fine]`` (``make paper``; ``--fine``: the publication-quality
discretisation of :mod:`femqled.quality`, ``make paper-fine``): lifetime tests at 10, 30, 50 and 100 mA cm^-2
(the EL spectra of the 100 mA cm^-2 test, as in the paper's Fig. 2c) and, on the 10 mA cm^-2 device before and
after ageing, J-V (ideality), C-V (onset), SKPM, ToF-SIMS, 2D pictures and peel-off-rebuild; then the
four acetate-driving kinetics side by side (:mod:`femqled.mechanisms`, quasi-1D); one PNG per figure of the
study (:mod:`femqled.paper_figures`). The 2D pictures (:mod:`femqled.viz`): each field of both states at 3 V
(``pristine/``, ``aged/``), and pristine beside aged near the trench at 3 V (``states_2d_3V.png``, the SKPM's
bias) and at 10 mA cm^-2 (``states_2d_10mA.png``, the lifetime test's current: there the aged dots hold fewer
electrons and form fewer trions for the same current), with the band diagrams of both states at that current
through the trench and through the flat contact beside it (:mod:`femqled.instruments.bands`: ``bands_10mA.png``, a
row per cutline; ``bands_10mA.csv`` and ``bands_10mA_flat.csv`` in ``pristine/`` and ``aged/``; along the middle of
the width in a case without trenches).
Every number in the report (composed by :mod:`femqled.report`) is read from the results these runs write
(``results/paper/``), so the report is computed, never typed (``manifest.json`` beside it records the case as run, the versions and the git revision;
``femqled compare`` puts runs side by side, :mod:`femqled.compare`); ``--quick`` runs the same chain in quasi-1D with short times (the test suite checks the
chain, not the physics). The aged state is the 10 mA cm^-2 device at its
luminance maximum, where the elevation ends (:func:`femqled.ageing.aged_state`).
"""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

import numpy as np
from mpi4py import MPI

# the lifetime tests: J (mA cm^-2) -> hours (each past the paper's elevation time at that current)
HOURS = {10.0: 1500.0, 30.0: 300.0, 50.0: 150.0, 100.0: 80.0}
PROGRESS_S = 60.0          # the heartbeat of the lifetime tests and sweeps: at most one line a minute (rank 0)


def run_key(case: dict) -> str:
    """What a lifetime test's result depends on, as a hash: the case as run (settings included) and the code and
    parameter file of the package (not the number of ranks: results do not depend on it)."""
    import hashlib

    return hashlib.sha256(json.dumps(case, sort_keys=True, default=str).encode() + _package_hash()).hexdigest()[:16]


@functools.cache
def _package_hash() -> bytes:
    """A hash of the package's source and parameter file (read once per process)."""
    import hashlib

    h = hashlib.sha256()
    pkg = Path(__file__).resolve().parent
    for f in sorted([*pkg.rglob("*.py"), *pkg.glob("data/*.toml")]):
        h.update(f.relative_to(pkg).as_posix().encode() + f.read_bytes())
    return h.digest()


def _read(path: Path, comm) -> dict | None:
    """A JSON file read on rank 0 and shared (None if missing or unreadable)."""
    data = None
    if comm.rank == 0 and path.exists():
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            data = None
    return comm.bcast(data, root=0)


def _stage(name: str, key: str, compute, outdir: Path, comm, resume: bool, keep=lambda value: True):
    """(value, reused, wall_s) of a stage of the study after the lifetime tests: ``compute()`` run and its value
    saved (``stages/<name>.rank<r>of<n>.pkl``, each rank its part, with ``key`` and the wall time) if ``keep(value)``
    (a stage with a failed measurement is not kept: a resumed run tries it again), or with ``resume`` the value an
    earlier run saved with the same key on the same number of ranks, reused."""
    import pickle

    path = outdir / "stages" / f"{name}.rank{comm.rank}of{comm.size}.pkl"
    saved = None
    if resume and path.exists():
        try:
            with open(path, "rb") as f:
                saved = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            saved = None
    mine = saved is not None and saved.get("key") == key
    if comm.allreduce(mine, op=MPI.LAND):
        from femqled import io

        io.say(f"paper: {name}: an earlier run's (same case, settings and code) is reused", comm=comm)
        return saved["value"], True, saved["wall_s"]
    t0 = time.perf_counter()
    value = compute()
    wall = time.perf_counter() - t0
    if not keep(value):
        return value, False, wall
    if comm.rank == 0:
        path.parent.mkdir(exist_ok=True)
    comm.barrier()
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        pickle.dump({"key": key, "value": value, "wall_s": wall}, f)
    tmp.replace(path)
    return value, False, wall


def _earlier_run(d: Path, key: str, comm) -> tuple[str | None, dict | None]:
    """What ``--resume`` finds of a lifetime test in ``d`` run with ``key``: ("finished", its summary),
    ("interrupted", None) when a run with the same key left only its checkpoint, ("other", None) when the checkpoint
    is another case's, settings' or code's, or (None, None) without a checkpoint."""
    if not comm.bcast((d / "checkpoint.npz").exists() if comm.rank == 0 else None, root=0):
        return None, None
    done = _read(d / "lifetime.json", comm)
    if done is not None and done.get("run_key") == key:
        return "finished", done
    started = _read(d / "run.json", comm)
    if done is None and started is not None and started.get("run_key") == key:
        return "interrupted", None
    return "other", None


def run(case_path: str, outdir: Path, comm=MPI.COMM_WORLD, quick: bool = False, preset: str = "default",
        resume: bool = False, sets=()) -> dict:
    """The whole study; ``preset``: the discretisation (:mod:`femqled.quality`: "default" or "fine"); ``resume``:
    a lifetime test that finished in ``outdir`` with the same case, settings and code (:func:`run_key`) is
    reused, an interrupted one continues from its checkpoint, and each later stage (:func:`_stage`) saved with
    the same key is reused; ``sets``: ``KEY=VALUE`` changes to the case (:func:`femqled.case.apply_sets`, the command line's ``--set``)."""
    from femqled import ageing, budget, io, quality, report
    from femqled.ageing import Ageing
    from femqled.case import load_case
    from femqled.errors import SolverError
    from femqled import mechanisms, paper_figures, viz
    from femqled.instruments import bands, cv, jv, lifetime, rebuild, sims, skpm

    outdir = Path(outdir)
    if comm.rank == 0:
        outdir.mkdir(parents=True, exist_ok=True)
    comm.barrier()
    base = quality.apply(load_case(case_path, sets), preset)
    if quick:
        base["geometry"]["quasi_1d"] = True
    hours = {J: (h / 50 if quick else h) for J, h in HOURS.items()}
    step = 0.2 if quick else quality.SWEEP_STEP_V[preset]
    V_sweep = np.round(np.arange(0.0, 4.0 + 1e-9, step), 6)
    jv_step = 0.2 if quick else quality.JV_STEP_V[preset]
    V_ideality = np.round(np.arange(0.0, 4.0 + 1e-9, jv_step), 6)       # pristine and aged J-V (ideality)
    results, walls, ages = {}, {}, {}
    failures = {}                                # what could not be measured, and why (the rows say so)

    # -- lifetime tests ------------------------------------------------------------------------------------------
    reused, continued = [], []                   # lifetime tests taken from an earlier run (--resume)
    for J, h in hours.items():
        t0 = time.perf_counter()
        case = json.loads(json.dumps(base))
        case["_path"] = base["_path"]
        case["ageing"].update(J_mA_cm2=J, hours=h)
        d = outdir / f"age_{J:g}mA"
        if comm.rank == 0:
            d.mkdir(exist_ok=True)
        comm.barrier()
        ag = Ageing(case, comm)
        key = run_key(case)
        found, done = _earlier_run(d, key, comm) if resume else (None, None)
        if found == "other":
            io.say(f"paper: lifetime at {J:g} mA/cm2: the earlier test in {d} had another case, settings or code; "
                   "run again", comm=comm)
        if found == "finished":                   # finished before with the same case, settings and code
            ag.restore(d / "checkpoint.npz")
            ag.stopped = done["stopped"]
            rows, failed = ag.rows, done["failed"]
            walls[f"age_{J:g}"] = done["wall_s"]                       # the earlier run's
            reused.append(f"{J:g}")
            io.say(f"paper: lifetime at {J:g} mA/cm2: the finished test in {d} is reused (same case, settings "
                   "and code)", comm=comm)
        else:
            io.write_json(d / "run.json", {"run_key": key}, comm=comm)
            if found == "interrupted":
                continued.append(f"{J:g}")
                io.say(f"paper: lifetime at {J:g} mA/cm2: resuming the interrupted test in {d}", comm=comm)
            try:
                rows = ag.run(d, progress=PROGRESS_S, resume=found == "interrupted")
                failed = None
            except SolverError as e:                  # report what was reached; the rows say FAIL
                rows, failed = ag.rows, str(e)
                io.say(f"paper: lifetime at {J:g} mA/cm2 stopped: {e}", comm=comm)
            walls[f"age_{J:g}"] = time.perf_counter() - t0
        if failed:
            failures[f"age_{J:g}"] = f"the lifetime test at {J:g} mA/cm2 stopped: {failed}"
        s = lifetime.summarize(rows, ag.stopped)
        b = budget.of_test(ag.device.emission, rows)
        s.update(failed=failed, run_key=key, wall_s=walls[f"age_{J:g}"], rise_budget=b and b["parts"])
        io.write_json(d / "lifetime.json", s, comm=comm)
        if comm.rank == 0:
            lifetime.plot(rows, s, d / "lifetime.png")
        results[f"age_{J:g}"] = {"summary": s, "rows": rows, "budget": b}
        ages[J] = ag
        io.say(f"paper: lifetime at {J:g} mA/cm2: " + ("no operating point" if not rows else
               f"elevation {100 * s['elevation']:+.0f} % at {s['elevation_duration_h']:.3g} h")
               + f" ({walls[f'age_{J:g}']:.0f} s)", comm=comm)

    # -- the 10 mA/cm2 device, pristine and aged ------------------------------------------------------------------
    ag = ages[10.0]
    ckpt = ageing.aged_state(outdir / "age_10mA", results["age_10"]["summary"], comm)
    if ckpt.name == ageing.AT_MAX:              # the brightest state, not the end of the test
        ag.restore(ckpt)
    aged_at = {"file": ckpt.name, "t_h": float(ag.acetate.t), "t_end_h": results["age_10"]["summary"]["t_end_h"]}
    states = {"pristine": (ag.acetate.c_initial, np.zeros_like(ag.theta)),
              "aged": (ag.acetate.c.x.array.copy(), ag.theta.copy())}
    pictures, operating, diagrams, at_10mA = {}, {}, {}, {}
    floor = None                                 # one ideality window for both curves: the pristine's (jv)
    stage_key = run_key({"case": base, "quick": quick, "preset": preset, "steps": [step, jv_step],
                         "aged": {k: results["age_10"]["summary"][k] for k in ("t_end_h", "L_max_cd_m2",
                                                                                  "V_at_max")}})
    reused_stages = []

    def attach(images):                          # a saved stage's pictures on this run's meshes
        return viz.attached(images, {"device": ag.device.dm, "acetate": ag.acetate.dm})

    def measure_state(label, c_values, theta):
        """The J-V, C-V, SKPM, SIMS, pictures and band diagrams of one state (a stage: saved, reusable). A
        measurement whose solver fails is recorded in ``failed`` (its last good state and its points so far
        are where the instrument leaves them) and the next one starts from 0 V again."""
        rebuild.set_state(ag, c_values, theta=theta)
        d = outdir / label
        if comm.rank == 0:
            d.mkdir(exist_ok=True)
        comm.barrier()
        out = {"walls": {}, "failed": {}, "results": {}}
        V_cv = np.round(np.arange(0.0, 3.0 + 1e-9, min(step, 0.1)), 6)
        io.say(f"paper: the {label} state: J-V ({len(V_ideality)} points), C-V ({len(V_cv)}), SKPM at 3 V, SIMS, "
               "pictures at 3 V and 10 mA/cm2", comm=comm)

        def attempt(name, what, measure):
            t0 = time.perf_counter()
            try:
                return measure()
            except SolverError as e:
                out["failed"][f"{name}_{label}"] = f"the {label} {what} failed: {e}"
                io.say(f"paper: the {label} {what} failed: {e}; going on with the next measurement", comm=comm)
                return None
            finally:
                out["walls"][f"{name}_{label}"] = time.perf_counter() - t0

        def from_zero(measure):
            try:
                ag.device.solve(0.0)
            except SolverError:                  # the way down failed: the state at 0 V is unique, start afresh
                ag.device.reset()
            return measure()

        got = attempt("jv", "J-V", lambda: from_zero(lambda: jv.run(
            ag.device, V_ideality, d, progress=PROGRESS_S, J_min=floor, label=f"paper: {label} J-V")))
        out["results"]["jv_rows"], out["results"]["jv"] = got or (None, None)
        got = attempt("cv", "C-V", lambda: from_zero(lambda: cv.run(
            ag.device, V_cv, d, progress=PROGRESS_S, label=f"paper: {label} C-V")))
        out["results"]["cv_rows"], out["results"]["cv"] = got or (None, None)
        out["results"]["skpm"] = attempt("skpm", "SKPM at 3 V", lambda: skpm.run(ag.device, 3.0, d))
        out["results"]["sims"] = attempt("sims", "ToF-SIMS", lambda: sims.run(ag.acetate, d))
        out["pictures_3V"] = None                # at 3 V (where the SKPM reading left the device)
        if out["results"]["skpm"] is not None:
            out["pictures_3V"] = viz.detached(viz.state_images(ag.device, ag.acetate))
        t0 = time.perf_counter()
        out["operating"], out["diagrams"], out["at_10mA"] = None, {}, None
        try:                                     # and at the test's current: where the two differ in eta_X
            ag.device.operate(10.0)
            out["operating"] = viz.detached(viz.state_images(ag.device, ag.acetate))
            cuts = {}
            for k, (where, x) in enumerate(bands.cutlines(ag.device.dm).items()):   # through the trench, beside it
                bd = bands.run(ag.device, d, stem="bands_10mA" if k == 0 else f"bands_10mA_{where}", x_nm=x,
                               title=f"{label}, 10 mA/cm2, {where} (x = {x:.0f} nm)")
                out["diagrams"][where] = (f"{label}, 10 mA/cm2 ({bd['V']:.3g} V); {where}, x = {x:.0f} nm",
                                          bd["bands"])
                cuts[where] = {"x_nm": x, "drops_V": bd["drops_V"]}
            out["at_10mA"] = {**viz.totals(attach(out["operating"])),
                              "drops_V": next(iter(cuts.values()))["drops_V"], "cutlines": cuts}
        except SolverError as e:
            io.say(f"paper: no picture of the {label} state at 10 mA/cm2: {e}", comm=comm)
        out["walls"]["pictures"] = time.perf_counter() - t0
        return out

    if not results["age_10"]["rows"]:            # no aged state: the 10 mA/cm2 test never operated
        del states["aged"]
        failures["aged"] = "no aged state: the lifetime test at 10 mA/cm2 has no operating point"
        results["aged"] = {"jv": None, "cv": None, "skpm": None, "sims": None, "jv_rows": None, "cv_rows": None}
    for label, (c_values, theta) in states.items():
        got, again, _ = _stage(f"state_{label}", stage_key, lambda: measure_state(label, c_values, theta), outdir,
                               comm, resume, keep=lambda value: not value["failed"])
        if again:
            reused_stages.append(label)
        else:
            io.say(f"paper: the {label} state measured ({sum(got['walls'].values()):.0f} s)"
                   + (f"; {len(got['failed'])} measurement(s) failed" if got["failed"] else ""), comm=comm)
        for k, w in got["walls"].items():
            walls[k] = walls.get(k, 0.0) + w
        results[label] = got["results"]
        failures.update(got["failed"])
        if got["results"]["jv"] is not None:
            floor = got["results"]["jv"]["ideality_floor_mA_cm2"]
        if got["pictures_3V"] is not None:
            pictures[f"{label}_3V"] = (attach(got["pictures_3V"]), outdir / label)
        if got["operating"] is not None:
            operating[f"{label}_10mA"] = attach(got["operating"])
            at_10mA[label] = got["at_10mA"]
        for where, panel in got["diagrams"].items():
            diagrams[where, label] = panel
    t0 = time.perf_counter()
    viz.draw_states(pictures)                    # pristine and aged with the same colour range per picture
    viz.compare_states({label: images for label, (images, _) in pictures.items()}, outdir / "states_2d_3V.png")
    viz.compare_states(operating, outdir / "states_2d_10mA.png")
    if comm.rank == 0 and diagrams:
        wheres, labels = (list(dict.fromkeys(k[i] for k in diagrams)) for i in (0, 1))   # a row per cutline
        panels = dict(diagrams[w, lb] for w in wheres for lb in labels if (w, lb) in diagrams)
        bands.plot(panels, bands.spans(ag.device.dm.layout), outdir / "bands_10mA.png", ncols=len(labels))
    results["pictures_10mA"] = at_10mA
    walls["pictures"] += time.perf_counter() - t0
    if comm.rank == 0:
        (outdir / "rebuild").mkdir(exist_ok=True)
    comm.barrier()
    io.say(f"paper: peel-off and rebuild: four states, a J-V each ({len(V_sweep)} points) and the state at "
           "10 mA/cm2", comm=comm)
    def peel_off():
        if not results["age_10"]["rows"]:
            return {"failed": "no aged state to peel off: the lifetime test at 10 mA/cm2 has no operating point"}
        try:
            return rebuild.run(ag, ckpt, outdir / "rebuild", V_sweep, J_mA_cm2=10.0, progress=PROGRESS_S,
                               label="paper: peel-off")
        except SolverError as e:
            io.say(f"paper: the peel-off failed: {e}; going on", comm=comm)
            return {"failed": f"the peel-off failed: {e}"}

    rb, again, walls["rebuild"] = _stage("rebuild", stage_key, peel_off, outdir, comm, resume,
                                         keep=lambda value: "failed" not in value)
    if again:
        reused_stages.append("rebuild")
    if "failed" in rb:
        failures["rebuild"] = rb["failed"]

    # -- the acetate-driving kinetics side by side (quasi-1D: 12 lifetime tests) -----------------------------------
    flat = json.loads(json.dumps(base))
    flat["geometry"]["quasi_1d"] = True
    io.say(f"paper: the acetate-driving kinetics side by side: {len(mechanisms.KINETICS) * len(mechanisms.CURRENTS)} "
           "quasi-1D lifetime tests", comm=comm)
    mech, again, walls["mechanisms"] = _stage("mechanisms", stage_key, lambda: mechanisms.run(
        flat, outdir / "mechanisms", comm, hours_scale=1 / 50 if quick else 1.0), outdir, comm, resume,
        keep=lambda value: not value["failed"])
    if again:
        reused_stages.append("mechanisms")
    if mech["failed"]:
        n = len(mechanisms.KINETICS) * len(mechanisms.CURRENTS)
        failures["mechanisms"] = (f"{len(mech['failed'])} of the {n} lifetime tests of the kinetics comparison "
                                  f"stopped ({mech['failed'][0]}{'; …' if len(mech['failed']) > 1 else ''})")

    # -- one PNG per figure of the study ----------------------------------------------------------------------------
    t0 = time.perf_counter()
    paper_figures.write_all(outdir, results, ages[100.0].device.emission, comm)
    walls["figures"] = time.perf_counter() - t0

    # -- the report -------------------------------------------------------------------------------------------------
    results["rebuild"], results["mechanisms"] = rb, mech
    rows = report.rows(results, walls, failures, floor=floor, interface_y_nm=float(np.mean(ag.interface_y)),
                       stack=ag.device.dm.layout.stack, compliance_V=base["ageing"]["compliance_V"], quick=quick,
                       preset=preset, case=base)
    total = sum(walls.values())
    settings = quality.describe(base, preset)
    # what the model predicts where the paper gives no number: the driving voltage through the elevation
    volts = {f"{J:g}": (results[f"age_{J:g}"]["summary"]["V0"], results[f"age_{J:g}"]["summary"]["V_at_max"])
             for J in HOURS if results[f"age_{J:g}"]["rows"]}
    # ... and the current at 3 V (the SKPM's bias), pristine and aged, from their J-V curves (Fig. 2d's)
    amps = {label: float(np.interp(3.0, [r["V"] for r in results[label]["jv_rows"]],
                                   [r["J_mA_cm2"] for r in results[label]["jv_rows"]]))
            for label in ("pristine", "aged") if results[label]["jv_rows"]}
    budgets = {f"{J:g}": results[f"age_{J:g}"]["budget"] for J in HOURS}
    summary = {"rows": rows, "quick": quick, "ranks": comm.size, "walls_s": walls, "case": str(case_path), "sets": list(sets),
              "reused_lifetime_tests": reused, "continued_lifetime_tests": continued, "reused_stages": reused_stages,
              "preset": preset, "settings": settings, "wall_total_s": total, "voltage_pristine_to_max_V": volts,
              "current_at_3V_mA_cm2": amps, "pictures_10mA": results["pictures_10mA"], "aged_state": aged_at,
              "rise_budget": {J: b and {"rise": b["rise"], "parts": b["parts"]} for J, b in budgets.items()},
              "failures": failures}
    io.write_json(outdir / "report.json", summary, comm=comm)
    io.write_manifest(outdir, base, "paper", extra={"preset": preset, "quick": quick, "resume": resume}, comm=comm)
    if comm.rank == 0:
        (outdir / "REPORT.md").write_text(report.markdown(summary, base))
    return summary

