"""Mesh convergence of the QD channels (docs/model.md, verification table).

    scripts/femqled-env python3 scripts/mesh_convergence.py [J_mA_cm2]

The default case in quasi-1D at the operating current (10 mA cm^-2), with the interface element refined from
0.5 nm to 0.025 nm: V, eta_X, the trion fraction, the leakage current and the mean QD electron density.
Rank 0 prints; runs on any number of ranks.
"""

import sys
from pathlib import Path

from mpi4py import MPI

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from femqled.case import load_case  # noqa: E402
from femqled.device import Device  # noqa: E402

J = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
comm = MPI.COMM_WORLD
for h in (0.5, 0.25, 0.1, 0.05, 0.025):
    case = load_case(ROOT / "cases" / "default.toml")
    case["geometry"]["quasi_1d"] = True
    case["mesh"].update(interface_size_nm=h, grading=0.1)
    dev = Device(case, comm)
    op = dev.operate(J)
    e = op.extra
    if comm.rank == 0:
        print(f"interface element {h:5.3f} nm: V {op.V:.4f} V  eta_X {e['eta_X']:.4f}  trion fraction "
              f"{e['trion_fraction_mean']:.4f}  J_leak {e['J_leak_mA_cm2']:.3f} mA/cm2  n_QD "
              f"{e['n_qd_mean_cm3']:.3e} cm^-3  ({3 * dev.S.dofmap.index_map.size_global} unknowns)", flush=True)
