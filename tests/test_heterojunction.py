"""Thermionic heterojunctions (issue 4; femqled/heterojunction.py): the interface law against analytic limits."""

import numpy as np
import pytest
from mpi4py import MPI

from femqled import materials
from femqled.device import Device
from femqled.errors import InputError
from femqled.heterojunction import richardson_velocity_cm_s
from femqled.scaling import Q, Scales
from helpers import small_case

N_CM3 = 1e16
L_NM = 1000.0            # NA 500 + NB 490 + NC 10 nm of n-Si


def resistor(v_n=None, delta=0.1, quasi_1d=True, interface=True):
    """n-Si (1e16 cm^-3) between two ohmic contacts, a thermionic interface of velocity v_n half-way."""
    iface = [{"between": "NA/NB", "v_n_cm_s": v_n, "v_p_cm_s": v_n, "thickness_nm": delta}] if interface else []
    return small_case(
        layer=[{"name": "NA", "material": "Si-n", "thickness_nm": 500.0},
               {"name": "NB", "material": "Si-n", "thickness_nm": 490.0}],
        interlayer={"name": "NC", "material": "Si-n", "thickness_nm": 10.0},
        interface=iface,
        geometry={"quasi_1d": quasi_1d, "width_nm": 20.0},
        mesh={"interface_size_nm": 0.5, "bulk_size_nm": 10.0, "grading": 0.2},
        contacts={"cathode": "ohmic"}, emission={"qd_layer": ""},
        materials={"Si-n": {"base": "Si", "Nd_cm3": N_CM3}})


def series_current_mA_cm2(V, v_n):
    """J = V / (R_bulk + R_interface): R_bulk = L / (q mu N), R_interface = V_t / (q v N) (linear regime)."""
    mu = materials.library()["Si"]["mu_n_cm2Vs"]
    R_bulk = L_NM * 1e-7 / (Q * mu * N_CM3)
    R_int = Scales(300.0).Vt / (Q * v_n * N_CM3)
    return V / (R_bulk + R_int) * 1e3, R_bulk, R_int


def current(case, V=2e-3, comm=MPI.COMM_SELF):
    return Device(case, comm).solve(V).J


def test_interface_resistance_is_kT_over_q_v_N():
    """With the interface resistance equal to the bulk's, the current halves; the series law holds to 1e-5
    (measured 2.8e-8 at 2 mV, where the law's nonlinear correction is ~(V / 4 V_t)^2 of the interface part)."""
    mu = materials.library()["Si"]["mu_n_cm2Vs"]
    v_n = Scales(300.0).Vt * mu / (L_NM * 1e-7)          # R_interface = R_bulk
    J_ref, R_b, R_i = series_current_mA_cm2(2e-3, v_n)
    assert R_i == pytest.approx(R_b)
    J = current(resistor(v_n))
    J_bulk = current(resistor(interface=False))
    assert J_bulk == pytest.approx(2e-3 / R_b * 1e3, rel=1e-5)
    assert J == pytest.approx(J_ref, rel=1e-5), f"{J} vs series law {J_ref} mA/cm2"


def test_fast_interface_is_continuous_and_thickness_does_not_matter():
    """v -> infinity: the continuous answer (the interface resistance left, V_t / (q v N) = 3.6e-6 R_bulk at
    1e11 cm/s, is what is measured); the thin layer's thickness changes nothing (measured 5e-11 for 0.05/0.2 nm)."""
    J_cont = current(resistor(interface=False))
    assert current(resistor(1e11)) == pytest.approx(series_current_mA_cm2(2e-3, 1e11)[0], rel=1e-5)
    assert current(resistor(1e11)) == pytest.approx(J_cont, rel=1e-5)
    slow = [current(resistor(1e5, delta)) for delta in (0.05, 0.2)]
    assert slow[0] == pytest.approx(slow[1], rel=1e-5)
    assert slow[0] == pytest.approx(series_current_mA_cm2(2e-3, 1e5)[0], rel=1e-5)


@pytest.mark.mpi
def test_interface_in_2d_agrees_with_quasi_1d():
    """Structured thin layer in the 2D mesh, on every rank count: the flat 2D answer equals quasi-1D."""
    J1 = current(resistor(1e5), comm=MPI.COMM_SELF)
    J2 = current(resistor(1e5, quasi_1d=False), comm=MPI.COMM_WORLD)
    assert J2 == pytest.approx(J1, rel=1e-5)


def test_qled_thermionic_junction_fast_limit_and_hole_blocking():
    """The TFB/QD junction of the QLED (band offsets, charge piled up on both faces): no current in
    equilibrium; a fast interface is the continuous-quasi-Fermi answer (measured 2.4e-7 in J, 8.3e-6 in eta_X);
    slow hole transfer into the dots limits the current."""
    plain = small_case(geometry={"quasi_1d": True}, emission={"leakage": False})
    ref = Device(plain, MPI.COMM_SELF).solve(3.0)
    J = {}
    for v in (1e12, 1.0):
        case = small_case(geometry={"quasi_1d": True}, emission={"leakage": False},
                          interface=[{"between": "HTL/EML", "v_n_cm_s": v, "v_p_cm_s": v, "thickness_nm": 0.01}])
        dev = Device(case, MPI.COMM_SELF)
        assert dev.emission.thermionic and not dev.emission.leakage
        # no current in equilibrium, to the roundoff floor of the terminal current (1e-6 mA cm^-2, docs/model.md;
        # a 1e12 cm/s interface is a conductance ~1e4 times the film's)
        assert abs(dev.solve(0.0).J) < 1e-6
        op = dev.solve(3.0)
        J[v] = op.J
        if v == 1e12:
            assert op.J == pytest.approx(ref.J, rel=1e-5)
            assert op.extra["eta_X"] == pytest.approx(ref.extra["eta_X"], rel=1e-3)
    assert J[1.0] < 0.9 * J[1e12], J


@pytest.mark.parametrize("between, message", [
    ("HTL/ETL", "not a pair of adjacent layers"),
    ("EML/HTL", "not a pair of adjacent layers"),
    ("HTL", "not a pair of adjacent layers"),
])
def test_bad_interface_gets_one_message(between, message):
    with pytest.raises(InputError) as err:
        small_case(interface=[{"between": between}])
    assert "interface[0].between" in str(err.value) and message in str(err.value)


def test_richardson_velocity():
    assert richardson_velocity_cm_s(300.0) == pytest.approx(2.69e6, rel=5e-3)
    assert np.isclose(richardson_velocity_cm_s(1200.0), 2 * richardson_velocity_cm_s(300.0))
