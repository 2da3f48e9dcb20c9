"""Transient (backward-Euler) carrier equations and the interfacial-layer (Bardeen) cathode, against exact answers.

- A parallel-plate capacitor under a voltage ramp carries the displacement current eps/d dV/dt.
- A silicon pn diode after a bias step: the total (conduction + displacement) current is the same at both
  contacts at every step, and the transient settles on the steady state.
- An interfacial layer of thickness d_i and permittivity eps_i on a charge-free layer (d_s, eps_s) is a series
  capacitor: it takes the fraction (d_i/eps_i) / (d_s/eps_s + d_i/eps_i) of the voltage.
- d_i -> 0 gives back the plain thermionic contact.
"""

import numpy as np
import pytest
from helpers import capacitor_case, pn_case, small_case

from femqled.device import Device
from femqled.scaling import EPS0


@pytest.mark.mpi
def test_capacitor_ramp_gives_displacement_current():
    d_nm, eps = 50.0, 3.0
    dev = Device(capacitor_case(d_nm, eps))
    dt, dV = 1e-7, 0.1                                   # 1 V/us
    expected = eps * EPS0 / (d_nm * 1e-9) * dV / dt * 1e3 / 1e4     # mA cm^-2
    for k in range(1, 6):
        op = dev.transient_step(k * dV, dt)
        assert op.J == pytest.approx(expected, rel=1e-6)
        assert op.J_cathode == pytest.approx(expected, rel=1e-6)
    op = dev.transient_step(5 * dV, dt)                  # bias held: the displacement current stops
    assert abs(op.J) < 1e-9 * expected


@pytest.mark.mpi
def test_pn_transient_conserves_charge_and_settles_on_the_steady_state():
    dev = Device(pn_case())
    V = 0.4
    steady = Device(pn_case()).solve(V)
    for dt in np.logspace(-12, -4, 9):
        op = dev.transient_step(V, float(dt))
        assert abs(op.J - op.J_cathode) <= 1e-6 * abs(op.J)
    assert op.J == pytest.approx(steady.J, rel=1e-6)


def test_interfacial_layer_is_a_series_capacitor():
    d_s, eps_s, d_i, eps_i = 50.0, 3.0, 1.0, 4.0
    case = capacitor_case(d_s, eps_s, contacts={"cathode": "thermionic", "interfacial_layer_nm": d_i},
                          model={"interfacial_eps_r": eps_i})
    dev = Device(case)
    c = dev.contacts
    assert c.eps_i == eps_i
    for V in (0.5, 2.0):
        dev.solve(V)
        u = dev.u.x.array
        a = c.anode_dofs[0]
        k = c.cathode_dofs[c.cathode_dofs < dev.S.dofmap.index_map.size_local]
        psi_ref = c.psi_cathode.x.array[k]
        frac = (u[3 * k] - psi_ref) / (u[3 * a] - psi_ref)
        expected = (d_i / eps_i) / (d_s / eps_s + d_i / eps_i)
        assert np.allclose(frac, expected, rtol=1e-6)


def test_thin_interfacial_layer_recovers_the_thermionic_contact():
    plain = Device(small_case(geometry={"quasi_1d": True})).solve(1.5)
    thin = Device(small_case(geometry={"quasi_1d": True}, contacts={"interfacial_layer_nm": 1e-5})).solve(1.5)
    assert thin.J == pytest.approx(plain.J, rel=1e-3)
    assert thin.extra["eta_X"] == pytest.approx(plain.extra["eta_X"], rel=1e-3)


def test_thicker_interfacial_layer_blocks_injection():
    case = small_case(geometry={"quasi_1d": True}, contacts={"interfacial_layer_nm": 0.2})
    dev = Device(case)
    J = [dev.solve(2.1).J]                 # past the turn-on
    for d in (1.5, 2.5):
        dev.contacts.set_interfacial_layer(d)
        J.append(dev.solve(2.1).J)
    assert J[0] > J[1] > J[2]
    assert J[2] < 0.1 * J[0]


def test_image_force_lowering_keeps_equilibrium_and_raises_the_reverse_current():
    """A Schottky diode (n-Si, 0.6 eV barrier; the ohmic anode is the n-side, so V > 0 is reverse): the
    Schottky effect multiplies the thermionic velocity by exp(dPhi/kT): no current at 0 V (detailed balance),
    more reverse (emission-limited) current, by a factor of order exp(0.03-0.1 eV / kT)."""
    J = {}
    for on in (False, True):
        case = small_case(layer=[{"name": "N", "material": "Si-n", "thickness_nm": 300.0}],
                          interlayer={"name": "NC", "material": "Si-n", "thickness_nm": 10.0},
                          geometry={"quasi_1d": True}, mesh={"interface_size_nm": 0.5, "bulk_size_nm": 5.0},
                          contacts={"image_force_lowering": on, "cathode_barrier_eV": 0.6},
                          emission={"qd_layer": ""}, materials={"Si-n": {"base": "Si", "Nd_cm3": 1e17}})
        dev = Device(case)
        assert abs(dev.operating_point().J) < 1e-12
        J[on] = dev.solve(2.0).J
    print("reverse current without / with lowering", J)
    assert abs(J[False]) > 0 and 1.5 < J[True] / J[False] < 1e3, J


def test_thick_interfacial_layer_reaches_equilibrium():
    """Behind a 4.5 nm tunnel layer (transmission ~e^-45) the ETL's electrons are all but cut off from the metal:
    Newton's residual stalls at its roundoff floor while the update of their quasi-Fermi level cannot fall below
    ~1e-7 V_t; the solver accepts that floor (femqled/snes.py), and the state is equilibrium: flat quasi-Fermi
    levels (to 1e-3 V_t), no current."""
    from pathlib import Path

    from femqled.case import load_case
    case = load_case(Path(__file__).resolve().parent.parent / "cases" / "default.toml")
    case["geometry"]["quasi_1d"] = True
    case["contacts"]["interfacial_layer_nm"] = 4.0
    dev = Device(case)
    dev.contacts.set_interfacial_layer(4.5)
    dev.reset()
    u = dev.u.x.array
    assert np.abs(u[1::3]).max() < 1e-3 and np.abs(u[2::3]).max() < 1e-3      # phi_n, phi_p in V_t
    assert abs(dev.operating_point().J) < 1e-12


@pytest.mark.mpi
def test_a_sweep_behind_a_thick_tunnel_layer_steps_in_time_and_reads_the_capacitance():
    """Behind a 4.6 nm tunnel layer the way up from 0 V finds no steady state from ~0.3 V (the ETL and the dots
    float: their charge is fixed only by currents below the arithmetic's resolution). The sweep then steps in
    time at [solver] sweep_rate_V_s, as an instrument sweeping at that rate would, and reads a displacement
    current: the same at both contacts, proportional to the rate, and equal to rate x the capacitance of the
    small-signal analysis (femqled.instruments.cv) at that bias. With the rate 0 the sweep fails as before."""
    from femqled.errors import SolverError
    from femqled.instruments.cv import SmallSignal

    def swept(rate):
        """{V: (J, J_cathode, dt, C)} of the points reached in time, C from the small-signal analysis there. In
        time the floating charge stays put, so the step's charge change is the capacitor's alone, whether the
        step starts from a point reached in time or from a steady state (which, between steps in time, Newton
        may find again at its roundoff floor)."""
        dev = Device(small_case(geometry={"quasi_1d": True}, contacts={"interfacial_layer_nm": 4.6},
                                solver={"sweep_rate_V_s": rate}))
        points = {}
        with dev.sweeping():
            for V in np.round(np.arange(0.1, 0.81, 0.1), 2):
                op = dev.solve(float(V))
                if "sweep_dt_s" in op.extra:
                    points[V] = (op.J, op.J_cathode, op.extra["sweep_dt_s"], SmallSignal(dev).capacitance(1e3)[0])
        return points

    with pytest.raises(SolverError, match="no steady state in steps down to"):
        swept(0.0)
    one, two = swept(1.0), swept(2.0)
    both = sorted(set(one) & set(two))
    # The first bias without a steady state is the same at every rate (the sweeps agree up to it); which later
    # ones find a steady state again depends on roundoff.
    assert both and both[0] == min(one) == min(two), (one, two)
    for V in both:
        (J1, Jc1, dt1, C1), (J2, _, dt2, _) = one[V], two[V]
        assert 0 < dt1 * 1.0 <= 0.1 + 1e-12 and 0 < dt2 * 2.0 <= 0.1 + 1e-12   # dt = dV / rate, dV up to 0.1 V
        assert Jc1 == pytest.approx(J1, rel=1e-2)                  # the same current at both contacts
        assert J2 / J1 == pytest.approx(2.0, rel=1e-2)              # a displacement current
        assert J1 * 1e-3 / 1.0 == pytest.approx(C1, rel=1e-2)      # mA cm^-2 at 1 V/s = C (F cm^-2)


@pytest.mark.parametrize("given, needs", [({}, "materials.Al.work_function_eV: is required"),
                                          ({"work_function_eV": -1.0}, "materials.Al.work_function_eV: must be")])
def test_a_cathode_metal_of_the_case_needs_a_work_function(given, needs):
    """A metal defined by a case without its work function is named, not given a silent 4.3 eV."""
    from femqled.errors import InputError

    al = {"role": "metal", **given}
    case = lambda: small_case(cathode={"material": "Al"}, materials={"Al": al})      # noqa: E731
    with pytest.raises(InputError) as e:
        Device(case())
    assert str(e.value).startswith(needs), str(e.value)
    al["work_function_eV"] = 4.3
    assert Device(case()).contacts.barrier0_eV == pytest.approx(4.3 - 3.6)   # minus the interlayer's affinity


@pytest.mark.mpi
def test_every_contact_law_at_the_same_rise_leaves_the_same_etl_surface():
    """The premise of docs/model.md "No contact law does it": at a given current and rise the dots' state is
    fixed and the ETL follows from it, so a barrier and a tunnel layer that reach the same rise leave the ETL's
    surface at the cathode in the same state; and that state is starved (fewer electrons, a field driving them
    in) against the pristine one, at the operating point and at 3 V, which is what makes a contact law whose
    injection grows with the field and falls with the surface density unable to pass the pristine current at 3 V."""
    from pathlib import Path

    from mpi4py import MPI

    from femqled import elevation
    from femqled.case import raw_case

    raw = raw_case(Path(__file__).resolve().parent.parent / "cases" / "default.toml")
    comm = MPI.COMM_WORLD
    barrier = elevation.device(raw, comm)
    p, e = elevation.cost(barrier, 10.0, 0.5, 30.0, bisections=18)
    tunnel = elevation.device(raw, comm, interfacial_nm=0.5)
    pt, et = elevation.cost(tunnel, 10.0, 0.5, 30.0, bisections=18, **elevation.knob(tunnel, interfacial=0.5))
    assert e["L"] / p["L"] == pytest.approx(1.5, abs=1e-3) and et["L"] / pt["L"] == pytest.approx(1.5, abs=1e-3)
    assert e["knob"] > 0.1 and et["knob"] > 0.5                    # eV and nm: two different changes of the contact
    # measured 2026-12-07: +0.328 MV/cm and 1.91e13 cm^-3 for both (pristine -0.086 / -0.071, 9.3e17 / 7.1e17)
    assert et["surface_op"]["E_MV_cm"] == pytest.approx(e["surface_op"]["E_MV_cm"], rel=5e-3)
    assert et["surface_op"]["n_cm3"] == pytest.approx(e["surface_op"]["n_cm3"], rel=2e-2)
    for pristine, aged in ((p, e), (pt, et)):
        for at in ("surface_op", "surface_3V"):
            assert pristine[at]["E_MV_cm"] < 0.0 < aged[at]["E_MV_cm"]
            assert aged[at]["n_cm3"] < 1e-3 * pristine[at]["n_cm3"]
        assert aged["J3"] < 0.05 * pristine["J3"]
