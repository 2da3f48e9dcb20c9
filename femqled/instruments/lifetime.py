"""Lifetime test at constant current (He et al. 2023 Fig. 1b-d; MODEL.md sec. 5): L(t), V(t), EQE(t),
eta_X(t) from an ageing time series, the elevation (largest L / initial L) and the elevation duration (the time
of the largest L; ``t_99_h``, when 99 % of the rise was reached). ``lifetime.json`` + ``lifetime.png``."""

from __future__ import annotations

import numpy as np

from femqled.instruments.figure import figure, legend

PLATEAU = 1e-4


def rise_time(t: np.ndarray, L: np.ndarray, fraction: float) -> float:
    """The first time (h, linear between samples) at which L - L(0) reaches ``fraction`` of its largest value:
    how far an elevation that approaches its end slowly has come (NaN if L never rises)."""
    rise = L - L[0]
    if rise.max() <= 0:
        return float("nan")
    target = fraction * rise.max()
    i = int(np.flatnonzero(rise >= target)[0])
    if i == 0:
        return float(t[0])
    w = (target - rise[i - 1]) / (rise[i] - rise[i - 1])
    return float(t[i - 1] + w * (t[i] - t[i - 1]))


def maximum_index(rows: list[dict]) -> int:
    """The row where the elevation ends: the first within PLATEAU of the largest L (once the contact is fully
    degraded L is flat to solver tolerance, and the time of a noise-level maximum would mean nothing)."""
    L = np.array([r["luminance_cd_m2"] for r in rows])
    return int(np.flatnonzero(L >= (1 - PLATEAU) * np.nanmax(L))[0])


def summarize(rows: list[dict], stopped: str | None = None) -> dict:
    """``stopped``: why the test ended early (the voltage compliance), or None. Without rows (a test that failed
    before its first operating point) every value is NaN and the test ran for 0 h."""
    if not rows:
        nan = float("nan")
        return {"t_end_h": 0.0, "L0_cd_m2": nan, "L_max_cd_m2": nan, "elevation": nan, "elevation_duration_h": nan,
                "t_99_h": nan, "V0": nan, "V_at_max": nan, "eta_X0": nan, "eta_X_at_max": nan, "EQE0": nan,
                "EQE_at_max": nan, "steps": 0, "stopped": stopped}
    t = np.array([r["t_h"] for r in rows])
    L = np.array([r["luminance_cd_m2"] for r in rows])
    k = maximum_index(rows)
    return {"t_end_h": float(t[-1]), "L0_cd_m2": float(L[0]), "L_max_cd_m2": float(L[k]),
            "elevation": float(L[k] / L[0] - 1), "elevation_duration_h": float(t[k]),
            "t_99_h": rise_time(t, L, 0.99),
            "V0": rows[0]["V"], "V_at_max": rows[k]["V"], "eta_X0": rows[0]["eta_X"], "eta_X_at_max": rows[k]["eta_X"],
            "EQE0": rows[0]["EQE"], "EQE_at_max": rows[k]["EQE"], "steps": len(rows) - 1,
            "stopped": stopped}


def plot(rows: list[dict], summary: dict, path) -> None:
    """L/L0, V and EQE, eta_X against time (nothing without rows)."""
    if not rows:
        return
    t = np.array([r["t_h"] for r in rows])
    with figure(path, 3, (13, 3.8)) as (fig, axes):
        axes[0].plot(t, [r["luminance_cd_m2"] / rows[0]["luminance_cd_m2"] for r in rows], "r-")
        axes[0].axvline(summary["elevation_duration_h"], ls=":", c="k")
        axes[0].set_ylabel("L / L0")
        axes[1].plot(t, [r["V"] for r in rows], "k-")
        axes[1].set_ylabel("V (V)")
        axes[2].plot(t, [100 * r["EQE"] for r in rows], "b-", label="EQE (%)")
        axes[2].plot(t, [100 * r["eta_X"] for r in rows], "g--", label=r"$\eta_X$ (%)")
        legend(axes[2])
        for ax in axes:
            ax.set_xlabel("t (h)")
        fig.suptitle(f"elevation {100 * summary['elevation']:+.0f} % at {summary['elevation_duration_h']:.3g} h")
