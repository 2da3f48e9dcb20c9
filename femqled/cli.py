"""The command line: ``femqled <command> CASE [options]`` (also ``python3 -m femqled``), under mpirun or not.

Bad input prints one line naming the field and what is allowed, and exits with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import sys
import time

from mpi4py import MPI

from femqled.errors import InputError, SolverError


def cmd_mesh(args) -> int:
    from femqled import io, mesh as fmesh, viz
    from femqled.case import load_case

    comm = MPI.COMM_WORLD
    case = load_case(args.case)
    t0 = time.perf_counter()
    dm = fmesh.device_mesh(case, comm)
    t_mesh = time.perf_counter() - t0
    out = io.results_dir(case, args.out)
    io.write_mesh_xdmf(dm, out / "mesh.xdmf")
    pics = [viz.plot_regions(dm, out / "mesh.png"),
            viz.plot_regions(dm, out / "mesh_cathode.png", zoom="cathode")]
    summary = {"mesh_file": str(dm.path), "cells": dm.num_cells_global(), "vertices": dm.num_vertices_global(),
               "min_angle_deg": fmesh.min_angle_deg(dm), "seconds": t_mesh,
               "regions": dm.layout.regions, "facets": dm.layout.facets}
    io.write_json(out / "mesh.json", summary)
    io.write_manifest(out, case, "mesh")
    io.say(f"mesh: {summary['cells']} cells, {summary['vertices']} vertices, min angle "
           f"{summary['min_angle_deg']:.1f} deg ({t_mesh:.1f} s); cached at {dm.path}")
    io.say(f"wrote {out / 'mesh.xdmf'} (ParaView), {pics[0] if pics[0] else ''} and the cathode close-up, "
           f"{out / 'mesh.json'}")
    return 0


def _voltages(spec: str):
    import numpy as np

    try:
        a, b, step = (float(v) for v in spec.split(":"))
        if step <= 0 or b < a:
            raise ValueError
    except ValueError:
        raise InputError("--V", f"{spec!r} is not START:STOP:STEP with STEP > 0 and STOP >= START") from None
    return np.round(np.arange(a, b + step / 2, step), 10)


def cmd_jv(args) -> int:
    from femqled import io
    from femqled.case import load_case
    from femqled.device import Device
    from femqled.instruments import jv

    case = load_case(args.case)
    if args.quasi_1d:
        case["geometry"]["quasi_1d"] = True
    out = io.results_dir(case, args.out)
    dev = Device(case)
    io.say(f"jv: {3 * dev.S.dofmap.index_map.size_global} unknowns on {dev.comm.size} rank(s)")
    rows, summary = jv.run(dev, _voltages(args.V), out, progress=not args.quiet)
    io.write_manifest(out, case, "jv", {"summary": summary})
    io.say(_jv_line(summary) + f"\nwrote {out / 'jv.csv'}, {out / 'jv.json'}, {out / 'jv.png'}")
    return 0


def _jv_line(s: dict) -> str:
    parts = [f"{s['points']} points in {s['wall_s']:.1f} s", f"min ideality {s['min_ideality']:.2f}"]
    if "turn_on_V" in s:
        parts.append(f"turn-on (1 cd/m2) {s['turn_on_V']:.2f} V")
        parts.append(f"max EQE {100 * s['max_EQE']:.2f} %")
    if "eta_X_at_10mA" in s:
        parts.append(f"at 10 mA/cm2: V {s['V_at_10mA']:.2f} V, eta_X {s['eta_X_at_10mA']:.3f}, "
                     f"EQE {100 * s['EQE_at_10mA']:.2f} %, L {s['luminance_cd_m2_at_10mA']:.3g} cd/m2")
    return "jv: " + "; ".join(parts)


def cmd_demo(args) -> int:
    """The main job on a case: mesh, J-V sweep, fields at 3 V for ParaView, pictures."""
    from femqled import io, viz
    from femqled.case import load_case
    from femqled.device import Device
    from femqled.fields import FieldWriter, write_xdmf_potentials
    from femqled.instruments import jv

    case = load_case(args.case)
    out = io.results_dir(case, args.out)
    dev = Device(case)
    io.say(f"demo: {case['title'] or args.case}\n      {dev.dm.num_cells_global()} cells, "
           f"{3 * dev.S.dofmap.index_map.size_global} unknowns, {dev.comm.size} MPI rank(s)")
    viz.plot_regions(dev.dm, out / "regions.png")
    rows, summary = jv.run(dev, _voltages(args.V), out, progress=not args.quiet)
    io.say(_jv_line(summary))
    dev.solve(args.field_bias)
    fw = FieldWriter(dev)
    paths = fw.write(out, stem=f"fields_{args.field_bias:g}V")
    fw.close()
    write_xdmf_potentials(dev, out / f"potentials_{args.field_bias:g}V.xdmf")
    viz.plot_field(dev.dm, fw.nodal("n"), out / "n_log10.png", name="n (cm^-3)", log=True)
    viz.plot_field(dev.dm, fw.nodal("psi"), out / "psi.png", name="psi (V)")
    viz.plot_field(dev.dm, fw.nodal("n"), out / "n_cathode.png", name="n (cm^-3)", log=True, zoom="cathode")
    io.write_manifest(out, case, "demo", {"summary": summary})
    io.say(f"demo: results in {out}/\n      jv.csv, jv.json, jv.png (J-V, EQE, eta_X), "
           f"{paths[0].name} + {paths[1].name} (ParaView: fields at {args.field_bias:g} V), "
           f"potentials_{args.field_bias:g}V.xdmf, regions.png, n_log10.png, psi.png, n_cathode.png, "
           "manifest.json")
    return 0


def cmd_age(args) -> int:
    """Constant-current ageing: acetate into the Ag, contact degradation, the time series."""
    from femqled import io
    from femqled.ageing import Ageing
    from femqled.case import load_case

    case = load_case(args.case)
    if args.hours is not None:
        case["ageing"]["hours"] = args.hours
    if args.J is not None:
        case["ageing"]["J_mA_cm2"] = args.J
    if args.quasi_1d:
        case["geometry"]["quasi_1d"] = True
    out = io.results_dir(case, args.out)
    ag = Ageing(case)
    rows = ag.run(out, progress=not args.quiet, resume=args.resume)
    io.write_manifest(out, case, "age", {"steps": len(rows)})
    first, last = rows[0], rows[-1]
    io.say(f"age: {last['t_h']:g} h at {case['ageing']['J_mA_cm2']:g} mA/cm2 in {len(rows) - 1} steps: "
           f"L x{last['luminance_cd_m2'] / first['luminance_cd_m2']:.3f}, V {first['V']:.3f} -> {last['V']:.3f} V, "
           f"eta_X {first['eta_X']:.4f} -> {last['eta_X']:.4f}, theta {last['theta_mean']:.3f}; "
           f"wrote {out / 'ageing.csv'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="femqled", description="Finite-element simulator of ageing QLEDs.")
    from femqled import __version__

    p.add_argument("--version", action="version", version=f"femqled {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, func, help_):
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.add_argument("case", help="case file (TOML), e.g. cases/default.toml")
        sp.add_argument("--out", help="results directory (default results/<case name>)")
        sp.set_defaults(func=func)
        return sp

    command("mesh", cmd_mesh, "build (or reuse) the mesh; write XDMF, PNG pictures and a summary")
    sp = command("jv", cmd_jv, "J-V sweep with luminance, EQE, eta_X and ideality; CSV, JSON and a figure")
    sp.add_argument("--V", default="0:6:0.1", help="START:STOP:STEP in volts (default 0:6:0.1)")
    sp.add_argument("--quasi-1d", action="store_true", help="solve the flat stack in one column of cells")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp = command("age", cmd_age, "constant-current ageing: acetate, contact state, L(t), V(t), eta_X(t) (CSV)")
    sp.add_argument("--hours", type=float, help="operating time (default: [ageing] hours)")
    sp.add_argument("--J", type=float, help="current density, mA/cm2 (default: [ageing] J_mA_cm2)")
    sp.add_argument("--quasi-1d", action="store_true", help="the flat stack in one column of cells")
    sp.add_argument("--quiet", action="store_true", help="no per-step progress lines")
    sp.add_argument("--resume", action="store_true", help="continue from the last checkpoint in the results")
    sp = command("demo", cmd_demo, "the main job: mesh, J-V 0-6 V, fields for ParaView and pictures")
    sp.add_argument("--V", default="0:6:0.1", help="START:STOP:STEP in volts (default 0:6:0.1)")
    sp.add_argument("--field-bias", type=float, default=3.0, help="bias of the written fields (V)")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except InputError as e:
        if MPI.COMM_WORLD.rank == 0:
            print(f"femqled: error: {e}", file=sys.stderr, flush=True)
        return 2
    except SolverError as e:
        if MPI.COMM_WORLD.rank == 0:
            print(f"femqled: solver failed: {e}", file=sys.stderr, flush=True)
        return 3


if __name__ == "__main__":
    sys.exit(main())
