"""femqled benchmarks: `make bench` runs them and writes bench/results.json (machine-readable).

    python3 scripts/bench.py mesh                 (serial) time to build and to load the default mesh
    mpirun -n 2 python3 scripts/bench.py jv       61-point J-V sweep of the default case
    mpirun -n 2 python3 scripts/bench.py cv       21-point C-V sweep (0-2 V, 1 kHz) of the default case: the time
                                                  of the steady states and of the small-signal solves, and one
                                                  point's small-signal solve by the whole block system
    mpirun -n 2 python3 scripts/bench.py ageing   the default case at 10 mA/cm2 to 1000 h (the lifetime test)
    mpirun -n 2 python3 scripts/bench.py ageing-ions   the anion case (cases/anions.toml: mobile ions) at
                                                  100 mA/cm2 to 30 h: the ions' inventory solved with the state
Each writes bench/<name>.json; scripts/run-bench merges them into bench/results.json.
"""

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from mpi4py import MPI

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CASE = ROOT / "cases" / "default.toml"
IONS_CASE = ROOT / "cases" / "anions.toml"


def peak_rss_mb(comm) -> float:
    """Peak resident memory summed over ranks (MB)."""
    mine = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return comm.allreduce(mine, op=MPI.SUM)


def bench_mesh(comm):
    from femqled import mesh as fmesh
    from femqled.case import load_case

    os.environ["FEMQLED_MESH_DIR"] = comm.bcast(tempfile.mkdtemp() if comm.rank == 0 else None)
    case = load_case(CASE)
    t0 = time.perf_counter()
    fmesh.ensure_mesh(case, comm)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    dm = fmesh.device_mesh(case, comm)
    t_load = time.perf_counter() - t0
    return {"case": str(CASE.relative_to(ROOT)), "build_s": t_build, "load_s": t_load,
            "cells": dm.num_cells_global(), "vertices": dm.num_vertices_global(),
            "min_angle_deg": fmesh.min_angle_deg(dm), "ranks": comm.size}


def bench_jv(comm):
    from femqled.case import load_case
    from femqled.device import Device

    case = load_case(CASE)
    t0 = time.perf_counter()
    dev = Device(case, comm)
    t_setup = time.perf_counter() - t0
    V = np.round(np.linspace(0.0, 6.0, 61), 6)
    t0 = time.perf_counter()
    points = dev.sweep(V)
    wall = time.perf_counter() - t0
    its = [p.iterations for p in points]
    return {"case": str(CASE.relative_to(ROOT)), "points": len(points), "dofs": 3 * dev.S.dofmap.index_map.size_global,
            "cells": dev.dm.num_cells_global(), "newton_median": float(np.median(its)), "newton_max": int(max(its)),
            "newton_total": int(sum(its)), "setup_s": t_setup, "wall_s": wall, "s_per_point": wall / len(points),
            "peak_rss_mb": peak_rss_mb(comm), "ranks": comm.size, "J_at_6V_mA_cm2": points[-1].J}


def bench_cv(comm):
    from femqled.case import load_case
    from femqled.device import Device
    from femqled.instruments.cv import SmallSignal

    dev = Device(load_case(CASE), comm)
    ss = SmallSignal(dev)
    t_steady = t_ac = 0.0
    paths, its, C = [], [], []
    for V in np.round(np.linspace(0.0, 2.0, 21), 6):
        t0 = time.perf_counter()
        dev.solve(float(V))
        t1 = time.perf_counter()
        C.append(ss.capacitance(1e3)[0] * 1e9)
        t_ac += time.perf_counter() - t1
        t_steady += t1 - t0
        paths.append(ss.path)
        its.append(ss.iterations)
    whole = SmallSignal(dev, split=False)
    t0 = time.perf_counter()
    C_whole = whole.capacitance(1e3)[0] * 1e9
    t_whole = time.perf_counter() - t0
    return {"case": str(CASE.relative_to(ROOT)), "points": len(C), "f_Hz": 1e3,
            "steady_s": t_steady, "small_signal_s": t_ac, "small_signal_s_per_point": t_ac / len(C),
            "eliminated_points": paths.count("split"), "gmres_iterations_max": int(max(its)),
            "whole_block_s_one_point": t_whole, "C_at_2V_nF_cm2": C[-1],
            "C_at_2V_whole_block_rel_diff": abs(C_whole - C[-1]) / abs(C_whole),
            "peak_rss_mb": peak_rss_mb(comm), "ranks": comm.size}


def bench_ageing(comm, path=CASE, J: float | None = None, hours: float | None = None):
    from femqled.ageing import Ageing
    from femqled.case import load_case

    case = load_case(path)
    if J is not None:
        case["ageing"]["J_mA_cm2"], case["ageing"]["hours"] = J, hours
    t0 = time.perf_counter()
    ag = Ageing(case, comm)
    t_setup = time.perf_counter() - t0
    its = []
    newton = ag.device.newton
    solve = newton.solve

    def counted():                              # every Newton solve of the electrical problem
        ok, n = solve()
        its.append(n)
        return ok, n

    newton.solve = counted
    from femqled.current_control import CurrentControl

    bordered, cc_solve = [], CurrentControl.solve

    def counted_bordered(self, *args, **kw):    # every constant-current solve by the bordered Newton
        its = None
        try:
            its = cc_solve(self, *args, **kw)
        finally:
            bordered.append(len(self.history) if its is None else its)
        return its

    CurrentControl.solve = counted_bordered
    t0 = time.perf_counter()
    rows = ag.run(progress=False)
    wall = time.perf_counter() - t0
    from femqled.instruments import lifetime

    s = lifetime.summarize(rows)
    return {"case": str(path.relative_to(ROOT)), "J_mA_cm2": case["ageing"]["J_mA_cm2"],
            "hours": case["ageing"]["hours"], "steps": len(rows) - 1,
            "newton_solves": len(its), "newton_iterations_total": int(sum(its)),
            "newton_iterations_median": float(np.median(its)), "newton_iterations_max": int(max(its)),
            "bordered_solves": len(bordered), "bordered_iterations_total": int(sum(bordered)),
            "factorisations": int(sum(its) + sum(bordered)), "setup_s": t_setup, "wall_s": wall, "s_per_step": wall / max(1, len(rows) - 1),
            "peak_rss_mb": peak_rss_mb(comm), "ranks": comm.size, "elevation": s["elevation"],
            "elevation_duration_h": s["elevation_duration_h"], "V_start": rows[0]["V"], "V_end": rows[-1]["V"]}


if __name__ == "__main__":
    comm = MPI.COMM_WORLD
    name = sys.argv[1]
    result = {"mesh": bench_mesh, "jv": bench_jv, "cv": bench_cv, "ageing": bench_ageing,
              "ageing-ions": lambda c: bench_ageing(c, IONS_CASE, J=100.0, hours=30.0)}[name](comm)
    if comm.rank == 0:
        out = ROOT / "bench" / f"{name}.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(result, indent=1))
        print(json.dumps({name: result}))
