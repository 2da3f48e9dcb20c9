"""Recombination and emission in the QD layer: the heart of the efficiency elevation (MODEL.md sec. 3).

Exciton formation in the QD film is Langevin-type recombination R (:mod:`femqled.recombination`); trap-
assisted (SRH) recombination there, where the QD material has traps (trap_density_cm3, or tau_n_s and tau_p_s),
is a loss that emits nothing (J_trap). Where exciton formation happens decides what is emitted (He et al. 2023,
Fig. 6b): a hole arriving at a neutral or singly charged dot makes a bright exciton X; at a doubly charged dot
(QD2- + h) a dim, Auger-quenched trion X-. With m = n / N_QD extra electrons per dot, the fraction of
recombination events that make trions is

    poisson:  f = P(k >= 2) / P(k >= 1) = (1 - e^-m - m e^-m) / (1 - e^-m)     (Poisson occupancy of the dots)
    simple:   f = n / (n + N_QD)

so R_X = (1 - f) R and R_X- = f R. Radiative yields: eta_rad_X = k_r / (k_r + k_nr) and
eta_rad_X- = 2 k_r / (2 k_r + k_A + k_nr) (the trion's radiative rate is twice the exciton's).

With ``[emission] trions = "both"`` the holes' occupancy of the dots counts too: electrons and holes occupy the
dots independently (Poisson, m_e = n / N_QD, m_h = p / N_QD), and the exciton formed where both meet keeps the
charge of the carriers left beside it: f_e = f(m_e), f_h = f(m_h) as above,

    R_X- = f_e (1 - f_h) R,   R_X+ = f_h (1 - f_e) R,   R_X = [(1 - f_e)(1 - f_h) + f_e f_h] R

(the last term, an exciton beside both an extra electron and an extra hole, counted neutral; it is small wherever
either excess is), eta_rad_X+ = 2 k_r / (2 k_r + k_A+ + k_nr) with the positive trion's own Auger rate, line
shift and width; the default since 2026-12-06. With ``"negative"`` (the default before) only the electrons count:
an exciton in a dot that holds an extra hole is a bright X (``X_in_hole_charged_dots`` of the record says how
many of the X channel's are).

Electrons leak into the hole-transport layer below the QDs by recombining across the interface with its holes:

    R_s = k_s n_QD p_HTL (1 - exp(phi_n - phi_p))          (per unit area; zero in equilibrium)

a sink of electrons and holes on that interface (part of the electrical equations), emitting in the HTL
(blue) with yield eta_HTL. Bulk recombination in the HTL emits with the same yield.

Per state: J_X, J_X-, J_trap, J_leak (mA cm^-2 of electrons consumed by each channel), eta_X = J_X / J_e (the
paper's exciton-generation efficiency, J_e the electron current injected at the cathode), EQE = photons out
per electron, the EL spectrum (Gaussians in energy) and the luminance (CIE photopic, Lambertian), and the PL
proxy: the QD film's photoluminescence yield under weak optical excitation during operation, the volume mean of
q0 eta_rad_X + (1 - q0) eta_rad_X- with q0 the fraction of neutral dots (e^-m, or N_QD / (n + N_QD)); with both
trions, q_e q_h eta_rad_X + (1 - q_e) q_h eta_rad_X- + q_e (1 - q_h) eta_rad_X+ + (1 - q_e)(1 - q_h) eta_rad_X
(q_e, q_h the fractions of dots without an extra electron, hole).
"""

from __future__ import annotations

import numpy as np
import ufl
from dolfinx import fem
from mpi4py import MPI

from femqled import heterojunction, materials
from femqled.errors import InputError
from femqled.scaling import H, Q

C_LIGHT = 2.99792458e8
HC_EV_NM = 1239.841984


def photopic(lam_nm):
    """CIE 1931 photopic luminosity V(lambda), Gaussian approximation 1.019 exp(-285.4 (lambda_um - 0.559)^2)."""
    lam_um = np.asarray(lam_nm) / 1000.0
    return 1.019 * np.exp(-285.4 * (lam_um - 0.559) ** 2)


def line_shape(lam_nm, peak_nm: float, fwhm_nm: float):
    """A Gaussian in photon energy with the given peak and FWHM (in wavelength at the peak), normalised to
    unit area over wavelength."""
    E, E0 = HC_EV_NM / lam_nm, HC_EV_NM / peak_nm
    dE = HC_EV_NM * fwhm_nm / peak_nm ** 2
    g = np.exp(-4 * np.log(2) * ((E - E0) / dE) ** 2) * HC_EV_NM / lam_nm ** 2
    return g / np.trapezoid(g, lam_nm)


def peak_and_fwhm(lam_nm, spectrum) -> tuple[float, float]:
    """Peak wavelength (the vertex of the parabola through the largest sample and its neighbours, so that the peak
    moves smoothly, not in steps of the grid) and full width at half maximum (linear interpolation)."""
    k = int(np.argmax(spectrum))
    half = spectrum[k] / 2
    peak = float(lam_nm[k])
    if 0 < k < len(spectrum) - 1:
        ym, y0, yp = spectrum[k - 1], spectrum[k], spectrum[k + 1]
        curvature = ym - 2 * y0 + yp
        if curvature < 0:                        # uniform grid: vertex offset in units of the spacing
            peak += 0.5 * (ym - yp) / curvature * (lam_nm[k + 1] - lam_nm[k])

    def cross(idx):
        for a in idx:
            b = a + (1 if idx.step is None or idx.step > 0 else -1)
            if spectrum[a] >= half > spectrum[b] or spectrum[a] > half >= spectrum[b]:
                return lam_nm[a] + (half - spectrum[a]) * (lam_nm[b] - lam_nm[a]) / (spectrum[b] - spectrum[a])
        return np.nan

    right = cross(range(k, len(spectrum) - 1))
    left = cross(range(k, 0, -1))
    return peak, float(right - left)


class Emission:
    """The QD channels of a device: the leakage term of the equations and the per-state emission record."""

    def __init__(self, device):
        self.dev = device
        case, lay = device.case, device.dm.layout
        cfg = case["emission"]
        names = [l["name"] for l in case["layer"]]
        qd = cfg["qd_layer"]
        if qd is None:
            qd = next((l["name"] for l in case["layer"] if "qd_density_cm3" in device.lib[l["material"]]), "")
        self.active = bool(qd)
        self.both_trions = self.active and cfg["trions"] == "both"     # X+ told apart (module docstring)
        self.model = materials.model_parameters(case["model"])
        if not self.active:
            return
        self.qd = qd
        self.qd_mat = device.lib[lay.materials[qd]]
        below = names.index(qd) - 1
        self.htl = names[below] if below >= 0 else None
        self.htl_mat = device.lib[lay.materials[self.htl]] if self.htl else {}
        self.interface = f"{self.htl}/{qd}" if self.htl else None
        self.occupancy = cfg["occupancy"]
        # a thermionic HTL/QD junction (femqled.heterojunction) replaces the interface-recombination leakage:
        # electrons then cross into the HTL and recombine in its bulk (J_htl_bulk)
        self.thermionic = self.htl is not None and heterojunction.layer_name(self.htl, qd) in lay.regions
        self.leakage = cfg["leakage"] and self.interface is not None and not self.thermionic
        sc = device.sc
        self.N_qd = sc.density(float(self.qd_mat["qd_density_cm3"]))
        kr, knr = float(self.qd_mat["k_r_per_s"]), float(self.qd_mat["k_nr_per_s"])
        kA = float(self.qd_mat["k_auger_trion_per_s"])
        self.eta_X_rad = kr / (kr + knr)
        self.eta_trion_rad = 2 * kr / (2 * kr + kA + knr)
        self.eta_trion_pos_rad = 0.0
        if self.both_trions:
            keys = ("k_auger_positive_trion_per_s", "lambda_positive_trion_shift_nm", "fwhm_positive_trion_nm")
            missing = [k for k in keys if k not in self.qd_mat]
            if missing:
                raise InputError("emission.trions", f"'both' needs the QD material's {', '.join(missing)} "
                                                    f"(material {lay.materials[qd]!r}); or trions = 'negative'")
            kA_pos = float(self.qd_mat["k_auger_positive_trion_per_s"])
            self.eta_trion_pos_rad = 2 * kr / (2 * kr + kA_pos + knr)
        self.eta_htl = float(self.htl_mat.get("emission_yield", 0.0))
        # k_s: cm^4/s -> scaled surface rate constant
        R0_cm3 = sc.R0 * 1e-6
        self.k_s = float(self.model["interface_recombination_cm4_s"]) * (1e18 ** 2) / (R0_cm3 * 1e-7)
        self.outcoupling = float(self.model["outcoupling"])

    # -- terms of the equations ----------------------------------------------------------------------------
    def interface_rate(self, n, p, phin, phip):
        """R_s on the HTL/QD interface (UFL, restricted), or None without leakage."""
        if not self.active or not self.leakage:
            return None
        m = self.dev.mat
        ind_q, ind_h = m.indicator(self.qd), m.indicator(self.htl)
        n_qd = (n * ind_q)("+") + (n * ind_q)("-")
        p_htl = (p * ind_h)("+") + (p * ind_h)("-")
        return self.k_s * n_qd * p_htl * (1 - ufl.exp(phin("+") - phip("+")))

    def residual_terms(self, n, p, u, wn, wp):
        Rs = self.interface_rate(n, p, u[1], u[2])
        if Rs is None:
            return None
        self.Rs = Rs
        dS = self.dev.dm.dS(self.interface)
        return -Rs * wn("+") * dS + Rs * wp("+") * dS

    # -- records ---------------------------------------------------------------------------------------------
    def trion_fraction(self, n):
        m = n / self.N_qd
        if self.occupancy == "simple":
            return n / (n + self.N_qd)
        em = ufl.exp(-m)
        exact = (1 - em - m * em) / ufl.max_value(1 - em, 1e-300)
        series = m / 2 - m * m / 12           # P(k>=2)/P(k>=1) for m -> 0 (the exact form cancels there)
        return ufl.conditional(ufl.lt(m, 1e-3), series, exact)

    def neutral_fraction(self, n):
        """Fraction of dots with no extra electron: e^-m (Poisson) or N_QD / (n + N_QD) (simple)."""
        if self.occupancy == "simple":
            return self.N_qd / (n + self.N_qd)
        return ufl.exp(-n / self.N_qd)

    def channel_weights(self, n, p):
        """(w_X, w_X-, w_X+): the shares of the recombination that make an exciton, a negative and a positive
        trion (UFL; w_X+ = 0 unless trions = 'both')."""
        fe = self.trion_fraction(n)
        if not self.both_trions:
            return 1 - fe, fe, 0
        fh = self.trion_fraction(p)
        return (1 - fe) * (1 - fh) + fe * fh, fe * (1 - fh), fh * (1 - fe)

    def pl_yield(self, n, p=None):
        """PL proxy: an exciton made by weak light in a neutral dot is an X, in a charged dot a trion (with both
        trions: a dot with an extra electron only X-, with an extra hole only X+, with both X)."""
        qe = self.neutral_fraction(n)
        if not self.both_trions:
            return qe * self.eta_X_rad + (1 - qe) * self.eta_trion_rad
        qh = self.neutral_fraction(p)
        return ((qe * qh + (1 - qe) * (1 - qh)) * self.eta_X_rad + (1 - qe) * qh * self.eta_trion_rad
                + qe * (1 - qh) * self.eta_trion_pos_rad)

    def build_forms(self):
        if not self.active:
            return
        dev = self.dev
        dm = dev.dm
        n, p, R = dev.n, dev.p, dev.R_langevin
        wX, wT, wP = self.channel_weights(n, p)
        dxq = dm.dx(self.qd, lumped=True)     # the quadrature of the equations, with their box weights b
        b = dev.box
        self._forms = {
            "R_X": fem.form(R * wX * b * dxq),
            # ... of which in dots that hold an extra hole (Poisson, as the electrons'): with trions = 'negative'
            # positive trions that the model counts as bright excitons (docs/model.md, "The aged dots hold holes")
            "R_X_hole": fem.form(R * wX * (1 - ufl.exp(-p / self.N_qd)) * b * dxq),
            "R_trion": fem.form(R * wT * b * dxq),
            "R_trap": fem.form(dev.R_srh * b * dxq),
            "n_qd": fem.form(n * b * dxq),
            "p_qd": fem.form(p * b * dxq),
            "trion_fraction": fem.form(wT * b * dxq),
            "PL": fem.form(self.pl_yield(n, p) * b * dxq),
            "area_qd": fem.form(b * dxq),
        }
        if self.both_trions:
            self._forms["R_trion_pos"] = fem.form(R * wP * b * dxq)
        if self.htl:
            self._forms["R_htl"] = fem.form(dev.R * b * dm.dx(self.htl, lumped=True))
        if self.leakage:
            self._forms["R_s"] = fem.form(self.Rs * dm.dS(self.interface))

    def record(self, J_e_mA_cm2: float, J_mA_cm2: float) -> dict:
        """The emission record of the present state (rates per unit area as current densities, mA cm^-2)."""
        if not self.active:
            return {}
        dev = self.dev
        comm = dev.comm
        val = {k: comm.allreduce(fem.assemble_scalar(f), op=MPI.SUM) for k, f in self._forms.items()}
        W = dev.width()
        to_J = dev.sc.J0_mA_cm2 / W          # scaled rate integral per width -> mA cm^-2 of electrons
        J_X, J_T = val["R_X"] * to_J, val["R_trion"] * to_J
        J_P = val.get("R_trion_pos", 0.0) * to_J
        J_trap = val["R_trap"] * to_J
        J_leak = val.get("R_s", 0.0) * to_J
        J_htl = val.get("R_htl", 0.0) * to_J
        eta_X = J_X / J_e_mA_cm2 if J_e_mA_cm2 > 0 else 0.0
        photons = {"X": self.eta_X_rad * J_X, "trion": self.eta_trion_rad * J_T,
                   "trion_pos": self.eta_trion_pos_rad * J_P,
                   "HTL": self.eta_htl * (J_leak + J_htl)}                       # mA cm^-2 of photons (internal)
        EQE = self.outcoupling * sum(photons.values()) / J_mA_cm2 if J_mA_cm2 > 0 else 0.0
        lam, S = self.spectrum(photons)
        L = self.luminance(lam, S)
        peak, fwhm = peak_and_fwhm(lam, S) if np.max(S) > 0 else (np.nan, np.nan)
        area = val["area_qd"]
        return {"J_e_mA_cm2": J_e_mA_cm2, "J_X_mA_cm2": J_X, "J_trion_mA_cm2": J_T,
                "J_trion_pos_mA_cm2": J_P, "J_leak_mA_cm2": J_leak,
                "J_trap_mA_cm2": J_trap, "J_htl_bulk_mA_cm2": J_htl, "eta_X": eta_X, "EQE": EQE,
                "luminance_cd_m2": L,
                "n_qd_mean_cm3": val["n_qd"] / area * 1e18, "p_qd_mean_cm3": val["p_qd"] / area * 1e18,
                "trion_fraction_mean": val["trion_fraction"] / area, "peak_nm": peak, "fwhm_nm": fwhm,
                "PL_yield": val["PL"] / area,
                "X_in_hole_charged_dots": val["R_X_hole"] / val["R_X"] if val["R_X"] > 0 else np.nan,
                "photons_X": photons["X"], "photons_trion": photons["trion"],
                "photons_trion_pos": photons["trion_pos"], "photons_HTL": photons["HTL"]}

    # -- optics ------------------------------------------------------------------------------------------------
    LAMBDA = np.arange(380.0, 780.01, 0.25)

    def spectrum(self, photons: dict) -> tuple[np.ndarray, np.ndarray]:
        """Outcoupled photon spectrum (photons cm^-2 s^-1 nm^-1) from internal photon currents (mA cm^-2) of
        the channels X, trion (X-), HTL and, with both trions, trion_pos (X+)."""
        lam = self.LAMBDA
        qm = self.qd_mat
        to_flux = 1e-3 / Q * self.outcoupling        # mA cm^-2 -> photons cm^-2 s^-1
        S = photons["X"] * to_flux * line_shape(lam, qm["lambda_X_nm"], qm["fwhm_X_nm"])
        S = S + photons["trion"] * to_flux * line_shape(lam, qm["lambda_X_nm"] + qm["lambda_trion_shift_nm"],
                                                        qm["fwhm_trion_nm"])
        if self.both_trions and photons.get("trion_pos", 0.0) > 0:
            S = S + photons["trion_pos"] * to_flux * line_shape(
                lam, qm["lambda_X_nm"] + qm["lambda_positive_trion_shift_nm"], qm["fwhm_positive_trion_nm"])
        if self.htl_mat.get("lambda_nm"):
            S = S + photons["HTL"] * to_flux * line_shape(lam, self.htl_mat["lambda_nm"], self.htl_mat["fwhm_nm"])
        return lam, S

    @staticmethod
    def luminance(lam_nm, photon_spectrum) -> float:
        """Luminance (cd m^-2) of a Lambertian emitter with the given outcoupled photon spectrum."""
        energy = photon_spectrum * 1e4 * H * C_LIGHT / (lam_nm * 1e-9)    # W m^-2 nm^-1
        return float(683.0 / np.pi * np.trapezoid(energy * photopic(lam_nm), lam_nm))
