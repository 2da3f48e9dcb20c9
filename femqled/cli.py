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


def cmd_equilibrium(args) -> int:
    from femqled.demo import run_equilibrium

    return run_equilibrium(args.case, args.out)


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
    command("equilibrium", cmd_equilibrium, "solve the device in thermal equilibrium (0 V); write fields")
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
