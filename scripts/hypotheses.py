"""Which mechanism of the elevation reads the way the paper's instruments did: the scorecard of the hypotheses
on the default case.

    scripts/femqled-env python3 scripts/hypotheses.py [--rise 0.9] [--J 10] [--only NAME,...] [--out DIR]
                                                      [--set MATERIAL:KEY=VALUE ...]

``femqled hypotheses CASE`` (femqled/hypotheses.py: the hypotheses, the readings, the tests they are judged by)
on ``cases/default.toml``, with ``--set`` in the form of ``scripts/elevation_cost.py``: ``--set
ZnO-NP:mu_n_cm2Vs=1`` judges them on the default device with that value of the parameter file changed
(``model:KEY=VALUE`` for a value of the case's [model] table). Rank 0 prints a table; ``--out DIR`` writes
hypotheses.json, hypotheses.csv, hypotheses.png and the curves behind each row (curves/). Runs on any number of ranks; 70 s for the list on one core
here (2026-12-05, the tunnel layer's readings included since its sweeps step in time where no steady state
exists; 29 s while they stopped at 0.56 V).
"""

import argparse
import sys
import time
from pathlib import Path

from mpi4py import MPI

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import elevation_cost as ec  # noqa: E402
from femqled import hypotheses  # noqa: E402
from femqled.errors import InputError  # noqa: E402
from femqled.hypotheses import HYPOTHESES  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rise", type=float, default=0.9, help="luminance rise to reach (default 0.9: +90 %%)")
    ap.add_argument("--J", type=float, default=10.0, help="operating current density, mA/cm2 (default 10)")
    ap.add_argument("--V-max", type=float, default=30.0, help="largest voltage tried (V, default 30)")
    ap.add_argument("--only", default="", metavar="NAME,...",
                    help=f"a subset of the hypotheses: {', '.join(HYPOTHESES)}")
    ap.add_argument("--out", metavar="DIR", help="write hypotheses.json, hypotheses.csv and hypotheses.png there")
    ap.add_argument("--set", action="append", default=[], metavar="MATERIAL:KEY=VALUE",
                    help="judge the hypotheses on the default device with this value changed (repeatable)")
    args = ap.parse_args()
    if not (args.rise > 0 and args.J > 0):
        ap.error("--rise and --J must be > 0")
    try:
        names = hypotheses.names_of(args.only)
        over = ec.parse_sets(args.set)
    except InputError as err:
        ap.error(str(err))
    comm = MPI.COMM_WORLD
    say = print if comm.rank == 0 else (lambda *a, **k: None)
    what = "; ".join(["quasi-1D default case", *args.set])
    for line in hypotheses.header(args.rise, args.J, what):
        say(line)
    t0 = time.perf_counter()
    try:
        rows = hypotheses.score(ec.raw_case(over), comm, names, args.rise, args.J, args.V_max, say)
    except InputError as err:                       # a --set value out of its domain: one line naming it
        ap.error(str(err))
    wall = time.perf_counter() - t0
    say(f"{sum('failed' not in r for r in rows)} of {len(rows)} hypotheses read in {wall:.0f} s")
    if args.out:
        hypotheses.write(args.out, rows, {"rise": args.rise, "J_mA_cm2": args.J, "V_max": args.V_max,
                                          "wall_s": wall, "set": over}, comm)


if __name__ == "__main__":
    main()
