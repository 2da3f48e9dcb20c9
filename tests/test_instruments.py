"""Virtual instruments (issue 6): ideality, SIMS convolution, SKPM, lifetime summary, against exact answers;
the contact-limit test (issue 7) against an independent operating point."""

import numpy as np
import pytest
from helpers import capacitor_case, small_case
from mpi4py import MPI
from scipy.special import erf

from femqled.acetate import AcetateTransport
from femqled.device import Device
from femqled.errors import ComplianceReached
from femqled.instruments import contact_limit, jv, lifetime, sims, skpm
from femqled.scaling import KB, Q


@pytest.mark.parametrize("n", [1.0, 1.7, 3.45, 4.14])
def test_ideality_of_a_synthetic_exponential_is_recovered(n):
    Vt = KB * 300.0 / Q
    V = np.linspace(0.0, 3.0, 61)
    J = 1e-9 * np.exp(V / (n * Vt))
    eta, _ = jv.min_ideality(V, J, 300.0)
    assert eta == pytest.approx(n, rel=1e-2)
    assert np.allclose(jv.ideality(V, J, 300.0), n, rtol=1e-2)


def test_points_reached_in_time_are_left_out_of_the_ideality():
    """A sweep's points reached in time (no steady state: a displacement current, Device.solve) are counted and
    left out of the ideality; counted as steady, the jump from their charging current back to the steady curve
    would read as an ideality below 1.5."""
    Vt = KB * 300.0 / Q
    V = np.linspace(0.0, 3.0, 61)
    J = 1e-9 * np.exp(V / (2.0 * Vt))
    rows = [{"V": v, "J_mA_cm2": j} for v, j in zip(V, J)]
    for k in range(50, 54):                     # a plateau of charging current where the steady state failed
        rows[k].update(J_mA_cm2=J[49] * (1 + 0.2 * (k - 49)), sweep_dt_s=0.05)
    s = jv.summarize(rows, 300.0)
    assert s["points_in_time"] == 4 and s["min_ideality"] == pytest.approx(2.0, rel=1e-2)
    for r in rows:
        r.pop("sweep_dt_s", None)
    assert jv.summarize(rows, 300.0)["min_ideality"] < 1.5


def test_currents_not_conserved_are_left_out_of_the_ideality():
    """Steady states whose anode and cathode currents disagree (Newton's roundoff floor) are not resolved: they are
    counted and left out of the ideality (here a noisy stretch that would read as an ideality of ~0.3)."""
    Vt = KB * 300.0 / Q
    V = np.linspace(0.0, 3.0, 61)
    J = 1e-9 * np.exp(V / (2.0 * Vt))
    rows = [{"V": v, "J_mA_cm2": j, "J_cathode_mA_cm2": j * (1 + 1e-9)} for v, j in zip(V, J)]
    for k in range(50, 54):
        rows[k].update(J_mA_cm2=J[k] * 10.0 ** (k % 2), J_cathode_mA_cm2=J[k] * 0.5)
    s = jv.summarize(rows, 300.0)
    assert s["points_unresolved"] == 4 and s["min_ideality"] == pytest.approx(2.0, rel=1e-2)
    for r in rows:
        r["J_cathode_mA_cm2"] = r["J_mA_cm2"]
    assert jv.summarize(rows, 300.0)["min_ideality"] < 1.0


def test_the_emission_readings_of_a_sweep_come_from_its_steady_states():
    """Turn-on, EQE maximum and the values at 10 mA cm^-2 are read from resolved steady states only: points
    reached in time (here a charging plateau at 10 mA cm^-2 around 1.1 V, bright and with an EQE of 20 %) and
    a point whose anode and cathode currents disagree (EQE 20 % at 2.95 V) would move each of them."""
    Vt = KB * 300.0 / Q
    V = np.round(np.linspace(0.0, 3.0, 61), 6)
    J = 10.0 * np.exp((V - 1.5) / (2.0 * Vt))        # 10 mA cm^-2 at 1.5 V; L = 1 cd m^-2 at J = 0.1
    rows = [{"V": v, "J_mA_cm2": j, "luminance_cd_m2": 10.0 * j, "EQE": 5.0 + v, "eta_X": 0.5}
            for v, j in zip(V, J)]
    for k in range(20, 24):
        rows[k].update(J_mA_cm2=10.0, luminance_cd_m2=50.0, EQE=20.0, sweep_dt_s=0.05)
    rows[59].update(EQE=20.0, J_cathode_mA_cm2=0.5 * J[59])     # and one steady state not resolved
    s = jv.summarize(rows, 300.0)
    assert s["turn_on_V"] == pytest.approx(1.5 + 2.0 * Vt * np.log(1e-2), abs=2e-3)
    assert (s["max_EQE"], s["V_max_EQE"]) == (pytest.approx(8.0), pytest.approx(3.0))
    assert s["V_at_10mA"] == pytest.approx(1.5, abs=1e-9)
    assert s["EQE_at_10mA"] == pytest.approx(6.5, abs=1e-9)
    for r in rows:
        r.pop("sweep_dt_s", None)
        r.pop("J_cathode_mA_cm2", None)
    counted = jv.summarize(rows, 300.0)
    assert counted["turn_on_V"] < 1.05 and counted["max_EQE"] == 20.0 and counted["V_at_10mA"] < 1.2
    assert np.isnan(jv.summarize([dict(rows[k], sweep_dt_s=0.05) for k in range(3)], 300.0)["max_EQE"])


def test_one_ideality_window_for_curves_of_one_device():
    """A curve with n = 1 below 1e-4 mA cm^-2 and n = 2 above: its own relative floor (1e-6 of a small maximum)
    reaches the n = 1 part; the floor of a brighter reference curve (passed as J_min) does not."""
    Vt = KB * 300.0 / Q
    V = np.linspace(0.0, 1.2, 121)
    V1 = 0.6                                             # where the regimes meet, J = 1e-4 there
    J = np.where(V < V1, 1e-4 * np.exp((V - V1) / Vt), 1e-4 * np.exp((V - V1) / (2 * Vt)))
    rows = [{"V": v, "J_mA_cm2": j} for v, j in zip(V, J)]
    own = jv.summarize(rows, 300.0)
    assert own["ideality_floor_mA_cm2"] == pytest.approx(1e-6 * J.max())
    assert own["min_ideality"] == pytest.approx(1.0, rel=2e-2)
    shared = jv.summarize(rows, 300.0, J_min=1e-3)
    assert shared["ideality_floor_mA_cm2"] == 1e-3
    assert shared["min_ideality"] == pytest.approx(2.0, rel=2e-2)


def test_sims_convolution_conserves_the_amount_and_smears_a_step_by_sigma():
    dz, sigma = 0.05, 1.0
    z = np.arange(0.0, 30.0, dz)
    step = (z >= 10.0).astype(float)
    zz, g = sims.gaussian_convolve(z, step, sigma)
    assert g.sum() * dz == pytest.approx(step.sum() * dz, rel=1e-12)
    inner = (zz > 5) & (zz < 20)                       # away from the far end of the step
    expected = 0.5 * (1 + erf((zz[inner] - 10.0 + dz / 2) / (np.sqrt(2) * sigma)))
    assert np.max(np.abs(g[inner] - expected)) < 0.01
    lo, hi = np.interp([0.1587, 0.8413], g[inner], zz[inner])
    assert hi - lo == pytest.approx(2 * sigma, rel=0.03)        # 16-84 % width of an erf step = 2 sigma


def test_sims_depths_are_read_between_the_samples():
    """An acetate tail exp(-(z_p - z) / lam) above its peak at z_p and an Ag signal falling linearly through one
    half at z_i: the penetration is z_i - z_10, z_10 where the tail is 10 % of the largest sample. Read on the
    0.1 nm grid and on the same grid shifted by fractions of a bin, every answer is within 2e-3 nm of it (at the
    sample below the crossing alone they were up to one bin off)."""
    lam, z_p, z_i, dz = 1.0, 20.0, 19.5, 0.1
    for shift in (0.0, 0.037, 0.071):
        z = np.arange(0.0, 40.0, dz) + shift
        a = np.where(z <= z_p, np.exp(-(z_p - z) / lam), np.exp(-(z - z_p) / 0.2))
        ag = np.clip(0.5 - (z - z_i) / 4.0, 0.0, 1.0)
        p = {"z_nm": z, "raw": {"Ag": ag}, "z_conv_nm": z, "normalised": {"acetate_1e21_cm3": a / a.max()}}
        exact = z_i - (z_p + lam * np.log(0.1 * a.max()))
        p["interface_depth_nm"] = sims._interface_depth(p)
        assert p["interface_depth_nm"] == pytest.approx(z_i, abs=1e-9)
        assert sims.penetration_nm(p) == pytest.approx(exact, abs=2e-3)


@pytest.mark.mpi
def test_skpm_of_a_capacitor_is_a_straight_line():
    d_nm = 50.0
    dev = Device(capacitor_case(d_nm, 3.0))
    dev.solve(2.0)
    prof = skpm.profile(dev, lines=5, dy_nm=0.5)
    inside = (prof["y_nm"] > 2) & (prof["y_nm"] < d_nm - 2)
    E = prof["E_MV_cm"][inside]
    assert np.allclose(E, E.mean(), rtol=1e-6)
    drop = prof["psi_V"][np.argmin(np.abs(prof["y_nm"] - 0))] - prof["psi_V"][np.argmin(np.abs(prof["y_nm"] - d_nm))]
    assert abs(E.mean()) * d_nm / 10 == pytest.approx(abs(drop), rel=1e-6)
    drops = skpm.layer_drops(prof, dev.dm.layout)                  # where the bias goes: by thickness here
    assert list(drops) == ["D", "DC"]
    assert drops["D"] / drops["DC"] == pytest.approx(48.0 / 2.0, rel=1e-6)
    assert sum(drops.values()) == pytest.approx(prof["psi_V"][0] - prof["psi_V"][-1], rel=1e-9)


@pytest.mark.mpi
def test_skpm_shows_the_interfacial_layer_drop():
    # a capacitor with an interfacial layer at the cathode: D = eps E is continuous, so the field in the layer is
    # eps_s / eps_i times the field in the semiconductor, and beyond the layer the profile is the metal's
    d_s, eps_s, d_i, eps_i = 50.0, 3.0, 1.0, 4.0
    dev = Device(capacitor_case(d_s, eps_s, contacts={"cathode": "thermionic", "interfacial_layer_nm": d_i},
                                model={"interfacial_eps_r": eps_i}))
    dev.solve(2.0)
    prof = skpm.profile(dev, lines=3, dy_nm=0.05)
    y, E = prof["y_nm"], prof["E_MV_cm"]
    E_s = np.mean(E[(y > 5) & (y < d_s - 5)])
    in_layer = (y > d_s + 0.2) & (y < d_s + d_i - 0.2)
    assert np.allclose(E[in_layer], E_s * eps_s / eps_i, rtol=1e-4)
    psi_m = float(dev.contacts.psi_cathode.x.array[0]) * dev.sc.Vt
    assert np.allclose(prof["psi_V"][y > d_s + d_i + 0.1], psi_m, atol=1e-9)
    drops = skpm.layer_drops(prof, dev.dm.layout)                  # the last layer's drop includes the interlayer's
    assert drops["DC"] == pytest.approx((2.0 * E_s + d_i * E_s * eps_s / eps_i) / 10, rel=1e-3)


def test_skpm_compare_reads_the_interface_and_the_rest():
    y = np.linspace(0.0, 100.0, 1001)
    E0 = np.where(y < 50, 0.5, 0.1) + 0.2 * np.exp(-((y - 98) / 1.0) ** 2)
    E1 = np.where(y < 50, 0.55, 0.1) + 1.0 * np.exp(-((y - 98) / 1.0) ** 2)    # +10 % in the first half
    near, change = skpm.compare({"y_nm": y, "E_MV_cm": E0}, {"y_nm": y, "E_MV_cm": E1}, 98.0)
    assert near == pytest.approx(1.1 / 0.3, rel=1e-3)
    assert change == pytest.approx(0.1, rel=1e-6)


def test_lifetime_summary_finds_the_elevation():
    t = np.linspace(0, 2000, 41)
    L = 100 * (1 + 0.9 * np.sin(np.pi * t / 2000) ** 2 * (t < 1000) + 0.9 * (t >= 1000) * np.exp(-(t - 1000) / 500))
    rows = [{"t_h": a, "luminance_cd_m2": b, "V": 3.0, "eta_X": 0.5, "EQE": 0.1} for a, b in zip(t, L)]
    s = lifetime.summarize(rows)
    assert s["elevation_duration_h"] == pytest.approx(1000.0)
    assert s["elevation"] == pytest.approx(0.9)
    # 99 % of the rise: sin^2(pi t / 2000) = 0.99, read linearly between the 50 h samples (a tenth of a step)
    assert s["t_99_h"] == pytest.approx(2000 / np.pi * np.arcsin(np.sqrt(0.99)), abs=5.0)
    flat = lifetime.summarize([{**r, "luminance_cd_m2": 100.0} for r in rows])
    assert np.isnan(flat["t_99_h"]) and flat["elevation"] == 0.0


@pytest.mark.parametrize("peak", [623.0, 623.1, 625.87])
def test_el_peak_and_fwhm_of_a_gaussian_line(peak):
    """The EL analysis of one Gaussian line (in energy) on the 0.25 nm grid against the same line sampled every
    0.001 nm: the peak between grid points to 0.01 nm (parabolic vertex; a line Gaussian in energy peaks ~0.3 nm
    blue of hc/E0 per unit wavelength) and the FWHM to 0.05 nm."""
    from femqled.emission import Emission, line_shape, peak_and_fwhm

    lam = Emission.LAMBDA
    fine = np.arange(600.0, 650.0, 0.001)
    p_fine, w_fine = peak_and_fwhm(fine, line_shape(fine, peak, 24.0))
    p, w = peak_and_fwhm(lam, line_shape(lam, peak, 24.0))
    assert abs(p_fine - peak) < 0.5
    assert p == pytest.approx(p_fine, abs=0.01)
    assert w == pytest.approx(w_fine, abs=0.05)


@pytest.mark.mpi
def test_contact_limit_state_is_the_operating_point_at_the_compliance():
    """The contact-limit test's limit state, rebuilt by hand (barrier raised by its rise, then constant-current
    operation), is at the compliance with the same luminance; the dots have lost electrons there, so eta_X and
    the luminance are up; the device's barrier is left as it was. (The compliance, 2 V, lies below the voltage
    of the luminance's peak, 2.25 V on this stack, measured 2026-12-06.)"""
    dev = Device(small_case(geometry={"quasi_1d": True}))
    pristine = dict(dev.operate(10.0).extra)
    saved = dev.contacts.barrier.x.array.copy()
    r = contact_limit.run(dev, 10.0, V_c=2.0)
    assert np.array_equal(dev.contacts.barrier.x.array, saved)
    p, lim = r["pristine"], r["limit"]
    assert r["at_compliance"] and p["V"] < 2.0 and lim["barrier_rise_eV"] > 0
    assert lim["n_qd_mean_cm3"] < p["n_qd_mean_cm3"] and lim["eta_X"] > p["eta_X"]
    assert r["EL_rise_limit"] == pytest.approx(lim["luminance_cd_m2"] / p["luminance_cd_m2"] - 1)
    assert r["EL_rise_limit"] > 0
    dev.contacts.set_barrier(dev.contacts.barrier0_eV + lim["barrier_rise_eV"])
    op = dev.operate(10.0)
    print(f"limit: rise {lim['barrier_rise_eV']:.4f} eV, V {op.V:.4f} V, EL {100 * r['EL_rise_limit']:+.1f} %")
    assert op.V == pytest.approx(2.0, rel=2e-2)
    assert op.extra["luminance_cd_m2"] == pytest.approx(lim["luminance_cd_m2"], rel=2e-2)
    # ... the dots trade negative trions for excitons and take in holes, short of a hole excess: X+ grows but
    # stays a minor channel (docs/model.md, "Positive trions"; with X+ counted as bright, the default before
    # 2026-12-06 turned the electron excess into a hole excess, tests/test_trions.py)
    a = op.extra
    assert a["J_trion_mA_cm2"] < pristine["J_trion_mA_cm2"] and a["J_X_mA_cm2"] > pristine["J_X_mA_cm2"]
    assert pristine["J_trion_pos_mA_cm2"] < a["J_trion_pos_mA_cm2"] < 0.5 * a["J_X_mA_cm2"]


def test_contact_limit_finds_the_peak_where_the_luminance_falls_before_the_compliance():
    """With single-level statistics in the dots (femqled.statistics) the holes the rise needs do not all fit, the
    luminance peaks well below the compliance and falls: the limit is the peak, brighter than the states a few
    meV of barrier either side of it (rebuilt by hand), and not at the compliance."""
    dev = Device(small_case(geometry={"quasi_1d": True}, materials={"QD": {"statistics": "single-level"}}),
                 MPI.COMM_SELF)
    r = contact_limit.run(dev, 10.0, V_c=10.0)
    lim, L0 = r["limit"], r["pristine"]["luminance_cd_m2"]
    assert not r["at_compliance"] and lim["V"] < 9.0 and r["EL_rise_limit"] > 0.1
    around = []
    for dd in (-0.004, 0.0, 0.004):
        dev.contacts.set_barrier(dev.contacts.barrier0_eV + lim["barrier_rise_eV"] + dd)
        around.append(dev.operate(10.0).extra["luminance_cd_m2"])
    assert around[1] == pytest.approx(lim["luminance_cd_m2"], rel=1e-6)
    assert around[0] < around[1] and around[2] < around[1]
    assert r["EL_rise_limit"] == pytest.approx(around[1] / L0 - 1, rel=1e-6)


def test_contact_limit_finds_a_peak_within_the_last_step_before_the_compliance():
    """With dim positive trions (the default) the luminance at 100 mA cm^-2 peaks a little before the compliance
    and falls (the dots take in a hole excess). Where that peak lies within the last barrier step below the
    compliance, the limit is still the brightest state up to the compliance: no state of a finer scan by hand is
    brighter, and it lies below the compliance. (Measured 2026-12-06, quasi-1D default, steps of 0.02 eV: the peak
    +89.9 % at +0.255 eV and 7.5 V, the compliance state +75.7 %, which the test reported before; with the values
    the default had before they were refitted on the fixed test, +107.9 % against +90.5 %.)"""
    from femqled.case import load_case

    dev = Device(load_case("cases/default.toml", ["geometry.quasi_1d=true"]), MPI.COMM_SELF)
    r = contact_limit.run(dev, 100.0, V_c=10.0)
    lim = r["limit"]
    scan = []
    for d in np.arange(0.20, 0.40, 0.004):
        dev.contacts.set_barrier(dev.contacts.barrier0_eV + d)
        try:
            scan.append(dev.operate(100.0, V_max=10.0).extra["luminance_cd_m2"])
        except ComplianceReached:
            break
    assert len(scan) > 5 and scan[-1] < max(scan)              # it peaks before the compliance
    assert lim["luminance_cd_m2"] >= max(scan) * (1 - 1e-3)
    assert not r["at_compliance"] and lim["V"] < 10.0
    assert r["EL_rise_limit"] == pytest.approx(lim["luminance_cd_m2"] / r["pristine"]["luminance_cd_m2"] - 1)


def test_the_elevation_search_reads_a_peak_within_its_last_step_before_the_compliance():
    """The scorecard's search (femqled.elevation.cost) asked for a rise out of reach at 100 mA cm^-2 on the quasi-1D
    default reads the device at the luminance's peak, which lies within its last barrier step below the
    compliance: the contact-limit test's peak, not the compliance state (measured 2026-12-06: +76.0 % there
    against the peak's +89.9 %)."""
    from femqled import elevation
    from femqled.case import raw_case

    dev = elevation.device(raw_case("cases/default.toml"), MPI.COMM_SELF)
    r = contact_limit.run(dev, 100.0, V_c=10.0)
    assert not r["at_compliance"]
    p, e = elevation.cost(dev, 100.0, rise=1.5, V_max=10.0)
    assert e["L"] / p["L"] - 1 == pytest.approx(r["EL_rise_limit"], rel=2e-3)
    assert e["knob"] == pytest.approx(r["limit"]["barrier_rise_eV"], abs=2e-3) and e["V"] < 9.5


def test_sims_penetration_ratio_grows_as_acetate_enters_the_silver():
    """Pristine profile: ratio exactly 1. After diffusion into a fast Ag the acetate reaches deeper (ratio > 1),
    and the ratio leaves the present profile untouched."""
    case = small_case(geometry={"quasi_1d": True}, materials={"Ag": {"acetate_D_cm2s": 1e-18}})
    ac = AcetateTransport(case, MPI.COMM_WORLD)
    assert sims.penetration_ratio(ac) == 1.0
    ac.step(20.0)                                   # h: sqrt(D t) ~ 2.7 nm
    now = ac.c.x.array.copy()
    ratio = sims.penetration_ratio(ac)
    assert np.array_equal(ac.c.x.array, now)
    assert ratio > 1.5


@pytest.mark.mpi
def test_band_diagram_reads_the_device():
    """instruments.bands on the quasi-1D default: at 0 V one Fermi level (E_Fn = E_Fp = 0); each layer's
    E_c - E_v is its gap and E_c steps by the electron affinities at a junction (psi is continuous); operated at
    10 mA cm^-2, E_Fp at the ohmic anode is -V and the cutline's n, taken just above each node of the dots, is the
    device's own n there (a sign or unit slip in E_c, E_Fn or N_c would show); the same on any number of ranks."""
    from femqled.case import load_case
    from femqled.fields import FieldWriter
    from femqled.instruments import bands
    from femqled.probe import evaluate

    case = load_case("cases/default.toml")
    case["geometry"]["quasi_1d"] = True
    dev = Device(case, MPI.COMM_WORLD)
    dev.solve(0.0)
    b = bands.cutline(dev)
    inside = np.isfinite(b["Ec_eV"])
    assert inside.sum() > 1000 and np.nanmax(np.abs(b["EFn_eV"])) < 1e-9 and np.nanmax(np.abs(b["EFp_eV"])) < 1e-9
    lay, Vt = dev.dm.layout, dev.sc.Vt
    for region, (y0, y1) in bands.spans(lay).items():
        k = (b["y_nm"] > y0) & (b["y_nm"] < y1)
        assert np.allclose(b["Ec_eV"][k] - b["Ev_eV"][k], dev.mat.values[region]["Eg"] * Vt, atol=1e-12), region
    y_j = lay.y["EML.bottom"]                                   # TFB / QD
    step = bands.cutline(dev, y_nm=[y_j - 1e-6, y_j + 1e-6])["Ec_eV"]
    assert step[0] - step[1] == pytest.approx((dev.mat.values["EML"]["chi"] - dev.mat.values["HTL"]["chi"]) * Vt,
                                              abs=1e-4)
    op = dev.operate(10.0)
    b = bands.cutline(dev)
    assert b["EFp_eV"][0] == pytest.approx(-op.V, abs=1e-3)
    ys = np.unique(np.round(dev.mesh.geometry.x[:, 1], 9))
    ys = dev.comm.bcast(np.unique(np.concatenate(dev.comm.allgather(ys))), root=0)
    ys = ys[(ys > lay.y["EML.bottom"]) & (ys < lay.y["EML.top"] - 1e-3)] + 1e-5
    fw = FieldWriter(dev)
    fw.update()
    n_dev = evaluate(fw.functions["n"], np.column_stack([np.full_like(ys, 0.5), ys]))
    fw.close()
    n_cut = bands.cutline(dev, x_nm=0.5, y_nm=ys)["n_cm3"]
    assert len(ys) > 10 and np.allclose(n_cut, n_dev, rtol=1e-3)


@pytest.mark.mpi
def test_a_long_sweep_says_where_it_is_on_rank_0_only(shared_tmp, capsys):
    """The heartbeat of long sweeps (``femqled paper``): a line per point with ``progress=0``, at most one per
    ``progress`` seconds, none with False; only rank 0 prints; the curve is the same whatever is said."""
    from pathlib import Path

    dev = Device(small_case(geometry={"quasi_1d": True}))
    V = [0.0, 0.1, 0.2]
    curves = []
    for every in (0.0, 3600.0, False):
        dev.solve(0.0)
        rows, _ = jv.run(dev, V, Path(shared_tmp), progress=every, label="J-V heartbeat")
        curves.append([r["J_mA_cm2"] for r in rows])
        lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("J-V heartbeat")]
        expected = len(V) if every is not False and every == 0.0 and MPI.COMM_WORLD.rank == 0 else 0
        assert len(lines) == expected, (every, lines)
        if expected:
            assert lines[-1].startswith(f"J-V heartbeat: {len(V)} of {len(V)} (V = 0.2 V, J = ")
    for other in curves[1:]:                          # the same to roundoff (each sweep starts from 0 V again)
        assert other == pytest.approx(curves[0], rel=1e-9, abs=1e-12 * max(map(abs, curves[0])))
