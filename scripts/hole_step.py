"""How the exciton-generation efficiency follows the TFB -> QD hole step at constant current.

    scripts/femqled-env python3 scripts/hole_step.py [--J 10] [--edges 5.40,5.45,5.50,5.55]

The quasi-1D default case operated at J (mA cm^-2) with the QD film's valence edge at each of ``--edges`` (eV
below vacuum; its conduction edge fixed, so the band gap changes: ``QD:band_gap_eV`` of
``scripts/elevation_cost.py``). Rank 0 prints the voltage, eta_X and luminance per edge. What it answers
(docs/model.md, "Not yet"): the sign of a hole injection that speeds up with the dots' negative charge
(MODEL.md sec. 3), which the aged dots, holding fewer electrons, would then slow. Runs on any number of ranks.
"""

import argparse
import sys
from pathlib import Path

from mpi4py import MPI

sys.path.insert(0, str(Path(__file__).resolve().parent))

import elevation_cost as ec  # noqa: E402
from femqled.errors import InputError, SolverError  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--J", type=float, default=10.0, help="operating current density (mA cm^-2)")
    ap.add_argument("--edges", default="5.40,5.45,5.50,5.55", help="QD valence edges (eV), comma-separated")
    ap.add_argument("--V-max", type=float, default=12.0, help="voltage compliance (V)")
    args = ap.parse_args()
    comm = MPI.COMM_WORLD
    try:
        edges = [float(e) for e in args.edges.split(",")]
    except ValueError:
        ap.error(f"--edges: comma-separated numbers (eV) expected, got {args.edges!r}")
    chi = ec._chi("QD")
    for edge in edges:
        try:
            dev = ec.device({"QD:band_gap_eV": edge - chi}, comm)
            op = dev.operate(args.J, V_max=args.V_max)
        except (InputError, SolverError) as err:
            if comm.rank == 0:
                print(f"QD valence edge {edge:.2f} eV: {err}", flush=True)
            continue
        if comm.rank == 0:
            print(f"QD valence edge {edge:.2f} eV: V {op.V:.3f}  eta_X {op.extra['eta_X']:.4f}  "
                  f"L {op.extra['luminance_cd_m2']:.4g} cd/m2", flush=True)


if __name__ == "__main__":
    main()
