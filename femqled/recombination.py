"""Bulk recombination (scaled rates, :mod:`femqled.scaling`).

    R = R_SRH + R_Langevin
    R_SRH      = (n p - ni^2) / (tau_p (n + ni) + tau_n (p + ni))          (mid-gap traps; regions with tau_n, tau_p)
    R_Langevin = xi (mu_n + mu_p) (n p - ni^2) / (eps_r lambda2)           (q (mu_n + mu_p) / eps, scaled; xi <= 1)

ni^2 = Nc Nv exp(-Eg) (times g(eta_n) g(eta_p) where a material has single-level statistics, so that R vanishes
in equilibrium: :mod:`femqled.statistics`). Each material switches a channel on by giving tau_n_s and tau_p_s (SRH) or a
langevin_prefactor xi > 0. In the QD film the two channels are different events (:mod:`femqled.emission`):
Langevin capture forms an exciton (X or X-, which may emit), SRH is trap-assisted recombination through a
surface trap of a dot, which does not (Wetzelaer et al., PRB 83, 165204 (2011), the paper's ref. 52 for the
ideality factor: trap-assisted recombination gives eta = 2 where n ~ p, Langevin gives 1).
"""

from __future__ import annotations

import ufl


def intrinsic_density2(m):
    return ufl.exp(m.lnNc + m.lnNv - m.Eg)


def channels(device, n, p):
    """(R_SRH, R_Langevin), scaled rates (UFL); R = R_SRH + R_Langevin."""
    m = device.mat
    ni2 = intrinsic_density2(m)
    if m.single_level:      # equilibrium n p under single-level statistics (femqled.statistics)
        lg_n, lg_p = device.log_occupancy()
        ni2 = ni2 * ufl.exp(lg_n + lg_p)
    ni = ufl.sqrt(ni2)
    excess = n * p - ni2
    srh = m.srh * excess / (m.taup * (n + ni) + m.taun * (p + ni))
    langevin = m.xi * (m.mun + m.mup) * excess / (m.eps * device.sc.lambda2)
    return srh, langevin
