"""Acetate transport verification (issue 5, acceptance 1-2): conservation and semi-infinite diffusion."""

import math

import numpy as np
import pytest
from mpi4py import MPI
from scipy.special import erfc

from femqled.acetate import A0_CM3, CM2_S_TO_NM2_H, AcetateTransport
from helpers import small_case


@pytest.mark.mpi
def test_inventory_conserved_with_zero_flux():
    case = small_case(roughness={"rms_nm": 1.0, "correlation_length_nm": 10.0, "seed": 5},
                      trench=[{"x_nm": 30.0, "width_nm": 8.0, "depth_nm": 4.0}],
                      materials={"Ag": {"acetate_D_cm2s": 1e-16, "acetate_solubility": 0.3}})
    ac = AcetateTransport(case, MPI.COMM_WORLD)
    total0, ag0 = ac.inventory(), ac.inventory("Ag", "trench1")
    for dt in (0.01, 0.1, 1.0, 10.0, 10.0):
        ac.step(dt)
    drift = abs(ac.inventory() - total0) / total0
    print(f"inventory drift {drift:.1e}")
    assert drift <= 1e-10
    assert ac.inventory("Ag", "trench1") > ag0 + 1e-3 * total0      # acetate did move into the Ag


def test_semi_infinite_diffusion_matches_erfc():
    D_cm2s, C0 = 1e-16, 1e21                            # 36 nm^2/h
    case = small_case(geometry={"quasi_1d": True}, cathode={"thickness_nm": 300.0},
                      mesh={"interface_size_nm": 0.1, "bulk_size_nm": 1.0, "grading": 0.1},
                      materials={"Ag": {"acetate_D_cm2s": D_cm2s, "acetate_solubility": 1.0}})
    ac = AcetateTransport(case, MPI.COMM_SELF)
    ac.fix("cathode", C0)
    D = D_cm2s * CM2_S_TO_NM2_H
    y0 = ac.dm.layout.y["cathode"]
    times = np.concatenate([[0.0], np.geomspace(1e-4, 10.0, 400)])
    Q = []
    for t0, t1 in zip(times[:-1], times[1:]):
        ac.step(t1 - t0)
        Q.append(ac.inventory("Ag") / ac.dm.layout.width_nm)
    y = ac.V.tabulate_dof_coordinates()[:, 1]
    z = y - y0
    inside = z >= 0
    a = ac.c.x.array[inside] * A0_CM3                   # S = 1 in the Ag
    exact = C0 * erfc(z[inside] / (2 * math.sqrt(D * 10.0)))
    err = np.max(np.abs(a - exact)) / C0
    print(f"erfc: max error {err:.2e} of the surface value")
    assert err <= 0.01
    # the inventory grows as 2 C0 sqrt(D t / pi): flux proportional to t^-1/2
    Q = np.array(Q) * A0_CM3 / C0
    t = times[1:]
    late = t > 1.0
    expected = 2 * np.sqrt(D * t[late] / math.pi)
    assert np.allclose(Q[late], expected, rtol=0.01)
    slope = np.polyfit(np.log(t[late]), np.log(Q[late]), 1)[0]
    print(f"inventory: max deviation {np.max(np.abs(Q[late] / expected - 1)):.2e}, slope {slope:.4f}")
    assert slope == pytest.approx(0.5, abs=0.01)
