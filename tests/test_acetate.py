"""Acetate transport verification (issue 5, acceptance 1-2): conservation and semi-infinite diffusion."""

import math
from pathlib import Path

import numpy as np
import pytest
from mpi4py import MPI
from scipy.special import erfc

from femqled.acetate import A0_CM3, CM2_S_TO_NM2_H, AcetateTransport
from femqled.case import load_case
from helpers import small_case

ROOT = Path(__file__).resolve().parent.parent


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



@pytest.mark.mpi
def test_no_undershoot_ahead_of_a_front():
    """The default device (rough interface, trench) at the start of ageing: steps far shorter than h^2 / D
    into acetate-free Ag (D x100, as the current-activated kinetics make it). The lumped storage keeps a/S
    between 0 and its initial peak (a discrete maximum principle); the consistent mass went from -4 % to
    107 % of it."""
    ac = AcetateTransport(load_case(ROOT / "cases" / "default.toml"), MPI.COMM_WORLD)
    ac.set_metal_activation(lambda x: np.full_like(x, 100.0))
    total0 = ac.inventory()
    peak0 = ac.comm.allreduce(float(ac.c.x.array.max()), op=MPI.MAX)
    for dt in (0.001, 0.01, 0.1, 1.0):
        ac.step(dt)
        lo = ac.comm.allreduce(float(ac.c.x.array.min()), op=MPI.MIN)
        hi = ac.comm.allreduce(float(ac.c.x.array.max()), op=MPI.MAX)
        print(f"dt {dt} h: a/S from {lo * A0_CM3:.2e} to {hi * A0_CM3:.2e} cm^-3")
        assert lo >= -1e-12 * peak0 and hi <= (1 + 1e-12) * peak0
    assert ac.inventory() == pytest.approx(total0, rel=1e-10)
    assert ac.inventory("Ag", "trench1") > 0.0

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


@pytest.mark.mpi
def test_charged_acetate_in_a_fixed_potential_relaxes_to_boltzmann():
    """z = -1 in psi(y) varying by 0.15 V over the domain, zero flux: the profile becomes c ~ exp(-z psi / V_t)
    with the (lumped) inventory conserved."""
    from femqled.acetate import AcetateTransport
    from femqled.scaling import Scales

    # the diffusivity the equilibration time was chosen for (independent of the calibrated Ag value)
    case = small_case(geometry={"quasi_1d": True}, materials={"Ag": {"acetate_D_cm2s": 1e-20}})
    ac = AcetateTransport(case)
    y = ac.V.tabulate_dof_coordinates()[:, 1]
    y0 = ac.comm.allreduce(y.min() if len(y) else np.inf, op=MPI.MIN)
    y1 = ac.comm.allreduce(y.max() if len(y) else -np.inf, op=MPI.MAX)
    ac.set_potential(-1, lambda x: 0.15 * np.sin(np.pi * (x[1] - y0) / (y1 - y0)))
    inv0 = ac.lumped_inventory()
    for dt in (1.0, 10.0, 100.0, 1e3, 1e4, 1e4, 1e4, 1e4):     # hours; equilibration takes ~100 h
        ac.step(dt)
    assert ac.lumped_inventory() == pytest.approx(inv0, rel=1e-10)
    Vt = Scales(300.0).Vt
    boltz = np.exp(0.15 * np.sin(np.pi * (y - y0) / (y1 - y0)) / Vt)       # e^{-z psi/V_t}, z = -1
    ratio = ac.c.x.array / boltz
    spread = ac.comm.allreduce(ratio.max(), op=MPI.MAX) / ac.comm.allreduce(ratio.min(), op=MPI.MIN) - 1
    assert spread < 1e-2


def test_field_kinetics_push_the_anion_away_from_the_silver():
    """Under forward bias the field in the ZnO points from the cathode into the device: an anion drifts away
    from the Ag (MODEL.md sec. 4), so less acetate enters the Ag than by diffusion alone."""
    from femqled.ageing import Ageing

    inventory = {}
    for kin in ("diffusion", "field"):
        case = small_case(geometry={"quasi_1d": True},
                          ageing={"kinetics": kin, "J_mA_cm2": 100.0, "hours": 50.0, "first_step_h": 1.0})
        rows = Ageing(case, MPI.COMM_SELF).run(progress=False)
        inventory[kin] = rows[-1]["acetate_in_Ag"]
    assert inventory["field"] < inventory["diffusion"], inventory


def test_thermal_kinetics_with_self_heating_age_faster():
    from femqled.ageing import Ageing

    theta = {}
    for Rth in (0.0, 200.0):
        case = small_case(geometry={"quasi_1d": True},
                          ageing={"kinetics": "thermal", "J_mA_cm2": 100.0, "hours": 20.0, "first_step_h": 1.0,
                                  "activation_energy_eV": 0.5, "thermal_resistance_K_cm2_W": Rth})
        ag = Ageing(case, MPI.COMM_SELF)
        rows = ag.run(progress=False)
        theta[Rth] = rows[-1]["theta_mean"]
        if Rth:
            assert ag.temperature_K > 300.0
    assert theta[200.0] > theta[0.0] > 0, theta


@pytest.mark.mpi
def test_inventory_change_equals_what_the_sink_took():
    """A sink (a/S = 0) on top of the Ag: the inventory falls by exactly the amount that left through it."""
    case = small_case(roughness={"rms_nm": 0.5, "correlation_length_nm": 10.0},
                      trench=[{"x_nm": 30.0, "width_nm": 8.0, "depth_nm": 4.0}])
    ac = AcetateTransport(case)
    ac.D.x.array[:] *= 100.0                    # let the acetate reach the sink within the test
    ac.D_base = ac.D.x.array.copy()
    ac.fix("top", 0.0)
    total0 = ac.inventory()
    for dt in (1.0, 5.0, 20.0, 100.0):
        ac.step(dt)
    assert ac.exchanged > 1e-3 * total0         # a real amount left
    assert abs((total0 - ac.inventory()) - ac.exchanged) <= 1e-10 * total0


def test_displaced_acetate_charge_enters_poisson():
    """Field kinetics with charge_in_poisson: the device's fixed charge is z (a - a0) over the oxide, exactly
    the displaced amount on the acetate mesh, and it changes the operating voltage. (Short: the coupling is a
    sequential splitting, stable only while the displaced charge is small; see ageing.py.)"""
    from dolfinx import fem

    from femqled.ageing import Ageing

    V = {}
    for coupled in (False, True):
        case = small_case(geometry={"quasi_1d": True},
                          ageing={"kinetics": "field", "charge_in_poisson": coupled, "J_mA_cm2": 10.0,
                                  "hours": 1.0, "first_step_h": 0.25, "step_growth": 1.0})
        ag = Ageing(case, MPI.COMM_SELF)
        rows = ag.run(progress=False)
        V[coupled] = rows[-1]["V"]
    dev, ac = ag.device, ag.acetate
    lay = dev.dm.layout
    oxide = [r for r in lay.parts["acetate"] if r in lay.parts["device"]]
    q_dev = fem.assemble_scalar(fem.form(dev.rho_fixed * dev.dm.dx())) * 1e18 / A0_CM3     # 1e21 cm^-3 nm^2
    a_now = ac.inventory(*oxide)
    ac.c.x.array[:] = ac.c_initial
    a_init = ac.inventory(*oxide)
    assert abs(q_dev - (-1) * (a_now - a_init)) <= 1e-8 * abs(a_init)
    assert abs(a_now - a_init) > 1e-6 * a_init
    assert V[True] != V[False]


def test_grain_boundary_diffusivity_follows_the_silver():
    """The trench material gives its diffusivity as a factor (100) on the Ag value it inherits: a case (or a
    calibration) that changes the Ag diffusivity moves the grain-boundary path with it."""
    for D_ag in (1e-20, 3e-18):
        case = small_case(trench=[{"x_nm": 30.0, "width_nm": 8.0, "depth_nm": 4.0}],
                          materials={"Ag": {"acetate_D_cm2s": D_ag}})
        ac = AcetateTransport(case, MPI.COMM_SELF)
        D_gb = ac.D.x.array[ac.dm.cells("trench1")] / CM2_S_TO_NM2_H
        D_metal = ac.D.x.array[ac.dm.cells("Ag")] / CM2_S_TO_NM2_H
        assert len(D_gb) and len(D_metal)
        assert np.allclose(D_metal, D_ag, rtol=1e-12) and np.allclose(D_gb, 100.0 * D_ag, rtol=1e-12)
