"""How fast can the acetate fill the contact's window? The acetate alone on a case's 2D mesh, no electrical
solve: the Ag activated uniformly as the `current` kinetics would at --J (D x (J / j_ref)^m everywhere in the
metal), stepped through 1-1280 h, and the contact state theta per bin printed unclipped (mean, min, max and
the lowest bins). --film-still holds the acetate of the ETL film still (D = 0 there; the interlayer keeps
its own), to separate what the interlayer supplies from what the film takes or gives.

    scripts/femqled-env python3 scripts/acetate_supply.py cases/anions.toml --J 100
    scripts/femqled-env python3 scripts/acetate_supply.py cases/anions.toml --J 100 --film-still
"""

import argparse

import numpy as np
from mpi4py import MPI

from femqled.ageing import Ageing
from femqled.case import load_case
from femqled.errors import InputError

STEPS_H = (1, 2, 5, 12, 20, 40, 80, 160, 320, 640)      # cumulative: 1, 3, 8, 20, 40, 80, 160, 320, 640, 1280 h


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case")
    ap.add_argument("--J", type=float, default=100.0, help="current density the activation stands for (mA cm^-2)")
    ap.add_argument("--film-still", action="store_true", help="hold the acetate of the ETL film still")
    args = ap.parse_args()
    if args.J <= 0:
        ap.error(f"--J {args.J}: allowed: a current density above 0 mA cm^-2")
    comm = MPI.COMM_WORLD
    try:
        case = load_case(args.case)
    except InputError as e:
        ap.error(str(e))
    ag = Ageing(case, comm)
    cfg, ac = ag.cfg, ag.acetate
    factor = (args.J / cfg["j_ref_mA_cm2"]) ** cfg["exponent"]
    ac.set_metal_activation(lambda x: np.full_like(x, factor))
    if args.film_still:
        film = case["layer"][-1]["name"]
        ac.D.x.array[ac.dm.cells(film)] = 0.0
        ac.D.x.scatter_forward()
    t = 0.0
    for dt in STEPS_H:
        ac.step(dt)
        t += dt
        theta = (ag.ag_inventory_cm2() - ag.pristine_cm2) / cfg["saturation_cm2"]
        if comm.rank == 0:
            low = np.argsort(theta)[:3]
            print(f"t = {t:6.0f} h  theta mean {theta.mean():.3f}  min {theta.min():.3f}  max {theta.max():.3f}"
                  "  lowest bins at x = " + ", ".join(f"{ag.centres()[i]:.0f} nm" for i in low), flush=True)


if __name__ == "__main__":
    main()
