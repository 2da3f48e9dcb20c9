"""The paper's readings of a device before and after the elevation, with issue 7's tolerances (He et al. 2023).

One place for the numbers and the tests that both ``femqled paper`` (REPORT.md) and ``femqled hypotheses``
(each candidate mechanism, quasi-1D) apply to the three readings the study predicts rather than fits:

- minimum ideality factor, aged / pristine: 3.45 -> 4.14 (Fig. 2d), a ratio of 1.20 +- 0.08;
- C-V onset of the capacitance rise at 1 kHz: 1.4 -> 1.9 V (Fig. 2e), each +- 0.2 V;
- SKPM at 3 V (Fig. 3j-k): the field within 5 nm of ZnO/Ag at least x2; elsewhere a change of at most 20 %;
- peel-off (Fig. 4b, 4g): the EQE with the ZnO and the Ag rebuilt within 5 % of pristine; rebuilding the Ag alone
  recovers at least 70 % of the change.
"""

from __future__ import annotations

import math

IDEALITY_PAPER = (3.45, 4.14)
IDEALITY_RATIO, IDEALITY_RATIO_TOL = 1.20, 0.08
CV_ONSET_V = (1.4, 1.9)                  # pristine, aged
CV_ONSET_TOL_V = 0.2
SKPM_NEAR_MIN = 2.0                      # aged / pristine field within 5 nm of ZnO/Ag
SKPM_ELSEWHERE_MAX = 0.2                 # largest relative change of the field elsewhere
PEELOFF_TOL = 0.05                       # EQE with ZnO/Ag rebuilt, relative to pristine
PEELOFF_AG_MIN = 0.7                     # fraction of the change recovered by rebuilding the Ag alone
ELEVATION, ELEVATION_TOL = 0.90, 0.15    # the luminance rise at 10 mA cm^-2 (Fig. 1b): +90 +- 15 %
MISS_PARTS = ("rise", "ideality", "cv_pristine", "cv_aged", "skpm_near", "skpm_elsewhere", "peeloff_ZnO_Ag",
              "peeloff_Ag")              # the parts of :func:`misses`
UNREAD = 10.0                            # the miss of a reading that could not be taken (NaN: no rise, no regime)


def _finite(*x: float) -> bool:
    return all(v is not None and math.isfinite(v) for v in x)


def ideality_passes(pristine: float, aged: float) -> bool:
    """Minimum ideality factors: aged / pristine = 1.20 +- 0.08."""
    return _finite(pristine, aged) and pristine > 0 and abs(aged / pristine - IDEALITY_RATIO) <= IDEALITY_RATIO_TOL


def cv_passes(pristine_V: float, aged_V: float) -> bool:
    """C-V onsets (V): 1.4 and 1.9 V, each within 0.2 V (NaN, no rise, fails)."""
    return _finite(pristine_V, aged_V) and all(abs(v - ref) <= CV_ONSET_TOL_V
                                               for v, ref in zip((pristine_V, aged_V), CV_ONSET_V))


def skpm_passes(near: float, elsewhere: float) -> bool:
    """SKPM at 3 V (:func:`femqled.instruments.skpm.compare`): near >= x2 and elsewhere <= 20 %."""
    return _finite(near, elsewhere) and near >= SKPM_NEAR_MIN and elsewhere <= SKPM_ELSEWHERE_MAX


def peeloff_passes(rebuilt_vs_pristine: float, recovery_Ag: float) -> bool:
    """Peel-off: EQE with ZnO/Ag rebuilt / pristine - 1 within +-5 %, and the Ag alone recovering >= 70 % of the
    change ((EQE_rebuilt - EQE_aged) / (EQE_pristine - EQE_aged))."""
    return (_finite(rebuilt_vs_pristine, recovery_Ag) and abs(rebuilt_vs_pristine) <= PEELOFF_TOL
            and recovery_Ag >= PEELOFF_AG_MIN)


def _outside(x: float, lo: float, hi: float, tol: float) -> float:
    """How far x lies outside [lo, hi], in units of tol (0 inside; :data:`UNREAD` for NaN)."""
    if not _finite(x):
        return UNREAD
    return max(lo - x, x - hi, 0.0) / tol


def misses(row: dict) -> dict[str, float]:
    """How far a scorecard row (:func:`femqled.hypotheses.judge`) lies from each of the paper's windows, in units
    of each window's tolerance (0: inside, i.e. the part passes): the rise reached (+90 +- 15 %), the ideality
    ratio (1.20 +- 0.08), the C-V onsets (each +- 0.2 V), the SKPM field near ZnO/Ag (>= x2, in units of x1) and
    elsewhere (<= 20 %, in units of 20 %), the peel-off's rebuilt ZnO/Ag (+- 5 %) and the Ag's recovery (>= 70 %,
    in units of 30 %). A reading that could not be taken counts :data:`UNREAD`. The sum of their squares is
    what ``femqled hypotheses --fit`` minimises (:mod:`femqled.hypothesis_fit`)."""
    eta0, eta1 = row["ideality_pristine"], row["ideality_aged"]
    ratio = eta1 / eta0 if _finite(eta0, eta1) and eta0 > 0 else float("nan")
    (cv0, cv1), inf = CV_ONSET_V, float("inf")
    return {
        "rise": _outside(row["luminance_rise"], ELEVATION - ELEVATION_TOL, inf, ELEVATION_TOL),
        "ideality": _outside(ratio, IDEALITY_RATIO - IDEALITY_RATIO_TOL, IDEALITY_RATIO + IDEALITY_RATIO_TOL,
                             IDEALITY_RATIO_TOL),
        "cv_pristine": _outside(row["cv_pristine_V"], cv0 - CV_ONSET_TOL_V, cv0 + CV_ONSET_TOL_V, CV_ONSET_TOL_V),
        "cv_aged": _outside(row["cv_aged_V"], cv1 - CV_ONSET_TOL_V, cv1 + CV_ONSET_TOL_V, CV_ONSET_TOL_V),
        "skpm_near": _outside(row["skpm_near"], SKPM_NEAR_MIN, inf, 1.0),
        "skpm_elsewhere": _outside(row["skpm_elsewhere"], -inf, SKPM_ELSEWHERE_MAX, SKPM_ELSEWHERE_MAX),
        "peeloff_ZnO_Ag": _outside(row["peeloff_ZnO_Ag"], -PEELOFF_TOL, PEELOFF_TOL, PEELOFF_TOL),
        "peeloff_Ag": _outside(row["peeloff_Ag_recovery"], PEELOFF_AG_MIN, inf, 1.0 - PEELOFF_AG_MIN),
    }

