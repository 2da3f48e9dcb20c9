"""Single-level carrier statistics (femqled/statistics.py): the occupancy law, the modified Scharfetter-Gummel
fluxes' Jacobian, detailed balance in equilibrium, the capacity of a biased QD film, and bad input.

The manufactured solution with single-level statistics converging at second order is in tests/test_mms.py."""

import math

import numpy as np
import pytest
import ufl
from dolfinx import fem
from mpi4py import MPI

from femqled import elevation, statistics
from femqled.device import Device
from femqled.errors import InputError
from femqled.instruments import bands, contact_limit
from femqled.materials import library
from femqled.scaling import N0_CM3
from femqled.semiconductor import neutral_potential
from helpers import small_case
from test_mms import mms_case


def test_single_level_occupancy_is_the_fermi_function_and_boltzmann_below_the_level():
    eta = np.array([-800.0, -40.0, -3.0, -0.5, 0.0, 0.5, 3.0, 40.0, 800.0])
    occupancy = np.exp(eta + statistics.ln_g(eta))              # n / N
    fermi = np.exp(-np.logaddexp(0.0, -eta))                    # 1 / (1 + e^-eta), stable
    assert np.all(np.isfinite(statistics.ln_g(eta)))
    np.testing.assert_allclose(occupancy, fermi, rtol=1e-13, atol=1e-300)
    assert np.all(occupancy <= 1.0)
    low = eta < -30
    np.testing.assert_allclose(occupancy[low], np.exp(eta[low]), rtol=1e-12)   # Boltzmann far below the level
    h = 1e-6
    fd = (statistics.ln_g(eta + h) - statistics.ln_g(eta - h)) / (2 * h)
    np.testing.assert_allclose(statistics.dln_g(eta), fd, rtol=1e-7, atol=1e-9)


def _qd_case(kind, **changes):
    return small_case(geometry={"quasi_1d": True}, materials={"QD": {"statistics": kind}}, **changes)


@pytest.fixture(scope="module")
def biased_single_level():
    """The small QLED stack, quasi-1D, single-level QD film, at 10 mA cm^-2 with the cathode barrier +0.3 eV:
    holes pile up in the dots up to a good part of their capacity."""
    dev = Device(_qd_case("single-level"), MPI.COMM_SELF)
    dev.contacts.set_barrier(dev.contacts.barrier0_eV + 0.3)
    dev.operate(10.0)
    return dev


def test_flux_jacobian_matches_finite_differences(biased_single_level):
    """The analytic Jacobian of the EAFE fluxes with the effective potential psi + ln g (chain rule through eta)
    against central differences of the residual, every column of the QD film's nodes."""
    dev = biased_single_level
    fl = dev.fluxes
    u = dev.u.x.array
    N = u.size

    def residual():
        r = np.zeros(N)
        fl.add_residual(r)
        return r

    A = np.zeros((N, N))
    np.add.at(A, (fl.rows, fl.cols), fl.jacobian_values(full=True))
    qd_nodes = np.unique(dev.V_space.dofmap.list[dev.dm.cells("EML")].ravel())
    u0 = u.copy()
    checked = 0
    for node in qd_nodes:
        for comp in range(3):
            k = 3 * node + comp
            h = 1e-6
            u[k] = u0[k] + h
            rp = residual()
            u[k] = u0[k] - h
            rm = residual()
            u[k] = u0[k]
            fd = (rp - rm) / (2 * h)
            scale = np.abs(A[:, k]).max() + np.abs(fd).max()
            np.testing.assert_allclose(A[:, k], fd, atol=1e-6 * scale, err_msg=f"column {k}")
            checked += 1
    assert checked == 3 * qd_nodes.size > 30


def test_the_dots_stay_within_their_capacity_where_boltzmann_overfills_them(biased_single_level):
    dev = biased_single_level
    b = bands.cutline(dev)
    y, n, p = b["y_nm"], b["n_cm3"], b["p_cm3"]
    lay = dev.dm.layout
    eml = (y > lay.y["EML.bottom"]) & (y < lay.y["EML.top"])
    qd = library()["QD"]
    assert p[eml].max() <= qd["Nv_cm3"] and n[eml].max() <= qd["Nc_cm3"]
    assert p[eml].max() > 0.3 * qd["Nv_cm3"]                     # the state is degenerate: the test means it
    # the densities of the equations (UFL) are those of the band diagram (numpy): the film's sheet density
    sheet_ufl = fem.assemble_scalar(fem.form(dev.p * dev.dm.dx("EML"))) / dev.width() * N0_CM3 * 1e-7
    sheet_np = np.sum(0.5 * (p[eml][1:] + p[eml][:-1]) * np.diff(y[eml])) * 1e-7          # cm^-2
    assert sheet_ufl == pytest.approx(sheet_np, rel=0.02)
    # ... and Boltzmann statistics in the same state of the potentials would put more holes there than there are
    eta_p = (b["Ev_eV"] - b["EFp_eV"])[eml] / dev.sc.Vt
    assert np.max(qd["Nv_cm3"] * np.exp(eta_p)) > qd["Nv_cm3"]


def test_the_elevation_search_reads_the_peak_where_the_rise_is_out_of_reach():
    """The dots' capacity caps the rise (+~40 % on this small stack, below the +90 % asked): the scorecard's
    search (femqled.elevation.cost) then reads the device at the luminance's peak, the same peak the contact-limit
    test finds, not past it where the device goes dark."""
    dev = Device(_qd_case("single-level"), MPI.COMM_SELF)
    r = contact_limit.run(dev, 10.0, V_c=10.0)
    assert not r["at_compliance"] and 0.1 < r["EL_rise_limit"] < 0.9
    p, e = elevation.cost(dev, 10.0, rise=0.9, V_max=10.0)
    assert e["L"] / p["L"] - 1 == pytest.approx(r["EL_rise_limit"], rel=2e-3)
    assert e["V"] == pytest.approx(r["limit"]["V"], abs=0.1)


def test_detailed_balance_in_equilibrium_with_a_degenerate_level():
    """At 0 V no current and no net recombination, also where the level is a third filled (the n_i^2 of the
    recombination carries g(eta_n) g(eta_p)); without that factor the rate would be ~30 % of the n p term."""
    dev = Device(mms_case(2.0, "single-level"), MPI.COMM_SELF)
    op = dev.solve(0.0)
    assert abs(op.J) < 1e-12
    dx = ufl.dx(domain=dev.mesh)
    m = dev.mat
    R = fem.assemble_scalar(fem.form(dev.R * dx))
    scale = fem.assemble_scalar(fem.form(m.xi * (m.mun + m.mup) * dev.n * dev.p / (m.eps * dev.sc.lambda2) * dx))
    assert scale > 0 and abs(R) < 1e-10 * scale


def test_neutral_potential_with_a_single_level():
    vals = {"chi": 3.0, "Eg": 40.0, "lnNc": 0.0, "lnNv": 0.0, "C": 0.5, "level": 1.0}     # N_D half the capacity
    psi = neutral_potential(vals, 0.0, 0.0)
    eta_n = psi + vals["chi"]
    n = math.exp(eta_n + float(statistics.ln_g(eta_n)))
    assert n == pytest.approx(0.5, rel=1e-12)                  # the level half filled: eta_n = 0
    assert eta_n == pytest.approx(0.0, abs=1e-10)
    with pytest.raises(ValueError, match="capacity"):
        neutral_potential({**vals, "C": 1.5}, 0.0, 0.0)         # more donors than states


@pytest.mark.parametrize("changes, field, words", [
    ({"materials": {"QD": {"statistics": "fermi"}}}, "materials.QD.statistics", "boltzmann, single-level"),
    ({"materials": {"ZnO-acetate": {"statistics": "single-level"}}}, "materials.ZnO-acetate.statistics",
     "thermionic"),
    ({"materials": {"QD": {"statistics": "single-level", "Nd_cm3": 3e18}}}, "materials.QD.Nd_cm3", "Nc_cm3"),
])
def test_bad_statistics_name_the_field(changes, field, words):
    with pytest.raises(InputError) as e:
        Device(small_case(geometry={"quasi_1d": True}, **changes), MPI.COMM_SELF)
    assert e.value.field == field and words in str(e.value)
