"""Virtual instruments (issue 6): ideality, SIMS convolution, SKPM, lifetime summary, against exact answers."""

import numpy as np
import pytest
from helpers import capacitor_case
from scipy.special import erf

from femqled.device import Device
from femqled.instruments import jv, lifetime, sims, skpm
from femqled.scaling import KB, Q


@pytest.mark.parametrize("n", [1.0, 1.7, 3.45, 4.14])
def test_ideality_of_a_synthetic_exponential_is_recovered(n):
    Vt = KB * 300.0 / Q
    V = np.linspace(0.0, 3.0, 61)
    J = 1e-9 * np.exp(V / (n * Vt))
    eta, _ = jv.min_ideality(V, J, 300.0)
    assert eta == pytest.approx(n, rel=1e-2)
    assert np.allclose(jv.ideality(V, J, 300.0), n, rtol=1e-2)


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


def test_lifetime_summary_finds_the_elevation():
    t = np.linspace(0, 2000, 41)
    L = 100 * (1 + 0.9 * np.sin(np.pi * t / 2000) ** 2 * (t < 1000) + 0.9 * (t >= 1000) * np.exp(-(t - 1000) / 500))
    rows = [{"t_h": a, "luminance_cd_m2": b, "V": 3.0, "eta_X": 0.5, "EQE": 0.1} for a, b in zip(t, L)]
    s = lifetime.summarize(rows)
    assert s["elevation_duration_h"] == pytest.approx(1000.0)
    assert s["elevation"] == pytest.approx(0.9)


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
