"""Carrier statistics: how a band's density follows its quasi-Fermi level (a material's ``statistics``).

With eta the scaled distance of the quasi-Fermi level into the band, eta_n = (E_Fn - E_c) / kT = psi + chi - phi_n
and eta_p = (E_v - E_Fp) / kT = -psi - chi - E_g + phi_p (units of :mod:`femqled.scaling`), and N the band's
effective density (Nc_cm3, Nv_cm3):

    boltzmann       n = N e^eta                                  (the default: a non-degenerate band)
    single-level    n = N / (1 + e^-eta) = N e^eta g(eta),   g(eta) = 1 / (1 + e^eta)

"single-level" is Fermi-Dirac occupation of one level per site whose capacity is N: the 1S states of a film of
quantum dots, N = (states per dot) x (dots per volume), which Boltzmann statistics would fill without limit
(n > N once E_F passes the level). Both are written n = N exp(eta + ln g(eta)) with ln g = 0 for Boltzmann.

The fluxes stay J_n = q mu_n n grad(E_Fn) and J_p = q mu_p p grad(E_Fp) (the generalised Einstein relation),
and since n = N e^(psi + ln g) e^(-phi_n) the Scharfetter-Gummel / EAFE flux of :mod:`femqled.eafe` carries
over with the effective potential psi + ln g(eta_n) for electrons and psi - ln g(eta_p) for holes in place of psi
(Bessemoulin-Chatard, Numer. Math. 121, 637 (2012), the "modified" SG scheme). In equilibrium (phi_n = phi_p)
n p = Nc Nv e^-Eg g(eta_n) g(eta_p), which the recombination's n_i^2 then carries (:mod:`femqled.recombination`).
"""

from __future__ import annotations

import numpy as np
import ufl

KINDS = ("boltzmann", "single-level")


def flag(kind: str) -> float:
    """The per-cell switch of the equations: 0 for Boltzmann, 1 for a single level per site."""
    return float(KINDS.index(kind))


# numpy (the EAFE fluxes, the band diagrams) ---------------------------------------------------------------
def ln_g(eta):
    """ln g(eta) = -ln(1 + e^eta) of a single level, stable for every eta."""
    eta = np.asarray(eta, dtype=float)
    return -(np.maximum(eta, 0.0) + np.log1p(np.exp(-np.abs(eta))))


def dln_g(eta):
    """d ln g / d eta = -1 / (1 + e^-eta), in (-1, 0)."""
    eta = np.asarray(eta, dtype=float)
    return -0.5 * (1.0 + np.tanh(0.5 * eta))


# UFL (the densities of the equations) ---------------------------------------------------------------------
def ufl_ln_g(eta):
    """ln g(eta) of a single level as a UFL expression (stable for every eta)."""
    return -(ufl.max_value(eta, 0.0) + ufl.ln(1.0 + ufl.exp(-abs(eta))))
