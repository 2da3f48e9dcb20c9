"""The ageing loop (issue 5): acetate is conserved through it; a trench degrades first and the cathode current
moves away from it (acceptance 6)."""

import numpy as np
import pytest
from mpi4py import MPI

from femqled.ageing import Ageing
from helpers import small_case


@pytest.mark.mpi
def test_trench_degrades_first_and_current_moves_away():
    case = small_case(roughness={"rms_nm": 0.5, "correlation_length_nm": 10.0},
                      trench=[{"x_nm": 30.0, "width_nm": 8.0, "depth_nm": 4.0}],
                      ageing={"hours": 60.0, "J_mA_cm2": 10.0, "first_step_h": 2.0, "max_dtheta": 0.1})
    ag = Ageing(case, MPI.COMM_WORLD)
    total0 = ag.acetate.inventory()
    rows = ag.run(progress=False)
    assert rows[-1]["t_h"] == pytest.approx(60.0)
    assert abs(ag.acetate.inventory() - total0) <= 1e-10 * total0
    c, theta = ag.centres(), ag.theta
    at_trench, flat = theta[np.abs(c - 30) < 3].mean(), theta[np.abs(c - 30) > 10].mean()
    assert at_trench > 1.3 * flat > 0, (at_trench, flat)
    prof = ag.device.cathode_profile()
    x = np.concatenate(ag.comm.allgather(prof["x"]))
    j = np.concatenate(ag.comm.allgather(prof["j_n_mA_cm2"]))
    assert j[np.abs(x - 30) < 3].mean() < j[np.abs(x - 30) > 10].mean()
    assert all(abs(r["J_mA_cm2"] - 10.0) <= 1e-5 for r in rows)        # constant-current operation


def test_restart_equals_an_uninterrupted_run(shared_tmp):
    """Serial. OPEN BUG: on 2 ranks a restarted run differs from the uninterrupted one (theta by 7e-4 and 0.10 in
    two measurements) although the checkpoint round trip is exact; under investigation (see issue 5 note)."""
    from pathlib import Path

    base = dict(roughness={"rms_nm": 0.5, "correlation_length_nm": 10.0},
                trench=[{"x_nm": 30.0, "width_nm": 8.0, "depth_nm": 4.0}],
                ageing={"J_mA_cm2": 10.0, "first_step_h": 2.0, "max_dtheta": 0.1})
    comm = MPI.COMM_SELF
    straight = Ageing(small_case(**{**base, "ageing": {**base["ageing"], "hours": 30.0}}), comm)
    straight.run(progress=False, stops=[12.0])
    out = Path(shared_tmp) / "age"
    out.mkdir()
    first = Ageing(small_case(**{**base, "ageing": {**base["ageing"], "hours": 12.0}}), comm)
    first.run(out, progress=False)
    second = Ageing(small_case(**{**base, "ageing": {**base["ageing"], "hours": 30.0}}), comm)
    rows = second.run(out, progress=False, resume=True, stops=[12.0])
    assert rows[-1]["t_h"] == pytest.approx(30.0)
    a, b = straight.rows[-1], rows[-1]
    diffs = {k: abs(b[k] / a[k] - 1) for k in ("theta_mean", "acetate_in_Ag", "V", "luminance_cd_m2")}
    print("restart differences", diffs)
    assert max(diffs.values()) <= 1e-10, diffs          # serial runs are bitwise reproducible
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]    # no partial checkpoint left behind
