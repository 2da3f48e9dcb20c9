"""J-V characteristics and the diode ideality factor (He et al. 2023, eq. 1; MODEL.md sec. 5).

    eta(V) = (q / k T) dV / d ln J

evaluated by finite differences of ln J on the sampled curve (second order on non-uniform grids). The minimum
over the exponential regime (where J is above ``J_min``, by default 1e-6 of the largest current, and the curve
is still exponential: eta below ``eta_max``) is the number the paper reports.
"""

from __future__ import annotations

import numpy as np

from femqled.scaling import KB, Q


def ideality(V, J, T: float = 300.0) -> np.ndarray:
    """Local ideality factor at each sample (NaN where J <= 0)."""
    V = np.asarray(V, dtype=float)
    J = np.asarray(J, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lnJ = np.where(J > 0, np.log(np.abs(J)), np.nan)
        dlnJ = np.gradient(lnJ, V)
        return (Q / (KB * T)) / dlnJ


def min_ideality(V, J, T: float = 300.0, J_min: float | None = None, eta_max: float = 20.0) -> tuple[float, float]:
    """(minimum ideality over the exponential regime, the voltage where it occurs)."""
    eta = ideality(V, J, T)
    J = np.asarray(J, dtype=float)
    floor = J_min if J_min is not None else 1e-6 * np.nanmax(J)
    ok = np.isfinite(eta) & (J > floor) & (eta > 0) & (eta < eta_max)
    if not np.any(ok):
        return float("nan"), float("nan")
    k = np.flatnonzero(ok)[np.argmin(eta[ok])]
    return float(eta[k]), float(np.asarray(V)[k])
