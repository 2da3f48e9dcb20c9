"""J-V characteristics and the diode ideality factor (He et al. 2023, eq. 1; MODEL.md sec. 5).

    eta(V) = (q / k T) dV / d ln J

evaluated by finite differences of ln J on the sampled curve (second order on non-uniform grids). The minimum
over the exponential regime (where J is above ``J_min``, by default 1e-6 of the largest current, and the curve
is still exponential: eta below ``eta_max``) is the number the paper reports.

Curves of one device that are to be compared (pristine and aged, or rebuilt) use one absolute window: the
floor of the first curve is passed as ``J_min`` to the others, as one source meter's floor would be. A floor
relative to each curve's own maximum would let an aged curve that draws less current reach further down its
diffusion regime and report a smaller ideality for that reason alone (measured on the make-paper run of
e401b36: aged 1.05 at 0.8 V against pristine 1.25 at 1.0 V, from curves that coincide below 1.1 V).
"""

from __future__ import annotations

import numpy as np

from femqled.scaling import KB, Q
from femqled.instruments.figure import figure, legend


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
    floor = J_min if J_min is not None else ideality_floor(J)
    ok = np.isfinite(eta) & (J > floor) & (eta > 0) & (eta < eta_max)
    if not np.any(ok):
        return float("nan"), float("nan")
    k = np.flatnonzero(ok)[np.argmin(eta[ok])]
    return float(eta[k]), float(np.asarray(V)[k])


def turn_on_voltage(V, L, threshold_cd_m2: float = 1.0) -> float:
    """First voltage at which the luminance reaches ``threshold`` (log-interpolated); NaN if never."""
    V, L = np.asarray(V, float), np.asarray(L, float)
    above = np.flatnonzero(L >= threshold_cd_m2)
    if not above.size:
        return float("nan")
    k = above[0]
    if k == 0 or L[k - 1] <= 0:
        return float(V[k])
    a, b = np.log(L[k - 1]), np.log(L[k])
    return float(V[k - 1] + (np.log(threshold_cd_m2) - a) * (V[k] - V[k - 1]) / (b - a))


def ideality_floor(J) -> float:
    """The default lower end of the exponential regime: 1e-6 of the largest current (mA cm^-2)."""
    return 1e-6 * float(np.nanmax(np.asarray(J, dtype=float)))


UNRESOLVED = 1e-2   # a steady state whose terminal currents differ by more than this (relative) is not resolved


def reached_in_time(rows: list[dict]) -> np.ndarray:
    """Which points of a sweep were reached in time (``sweep_dt_s`` given: no steady state there, Device.solve)."""
    return np.array([r.get("sweep_dt_s") not in (None, "") for r in rows], dtype=bool)


def summarize(rows: list[dict], T: float, J_min: float | None = None) -> dict:
    """Summary of a sweep: minimum ideality over J > ``J_min`` (default :func:`ideality_floor` of this curve;
    the floor used is recorded as ``ideality_floor_mA_cm2``), turn-on, EQE maximum, values at 10 mA cm^-2.
    Every reading is a property of resolved steady states: points a sweep reached in time (``sweep_dt_s``: no
    steady state there, a displacement current; counted as ``points_in_time``) and points whose anode and
    cathode currents differ by more than ``UNRESOLVED`` of the larger (currents at Newton's roundoff floor,
    e.g. near 0 V or behind a thick tunnel layer; ``points_unresolved``) are left out of them (NaN where no
    resolved point is left)."""
    V = np.array([float(r["V"]) for r in rows])
    J = np.array([float(r["J_mA_cm2"]) for r in rows])
    in_time = reached_in_time(rows)
    Jc = np.array([float(r.get("J_cathode_mA_cm2", j)) for r, j in zip(rows, J)])
    unresolved = np.abs(J - Jc) > UNRESOLVED * np.maximum(np.abs(J), np.abs(Jc))
    out = {"points": len(rows), "points_in_time": int(in_time.sum()), "points_unresolved": int(unresolved.sum())}
    floor = ideality_floor(J) if J_min is None else float(J_min)
    steady = ~(in_time | unresolved)
    eta_min, V_eta = min_ideality(V, np.where(steady, J, np.nan), T, J_min=floor)
    out.update(min_ideality=eta_min, V_min_ideality=V_eta, ideality_floor_mA_cm2=floor)
    if rows and "luminance_cd_m2" in rows[0]:
        out.update(emission_readings(V[steady], J[steady], *(np.array([r[k] for r in rows])[steady]
                                                           for k in ("luminance_cd_m2", "EQE", "eta_X"))))
    return out


def emission_readings(V, J, L, EQE, eta) -> dict:
    """Turn-on, EQE maximum (over J > 1e-3 of the largest) and V, eta_X, EQE, L at 10 mA cm^-2 (interpolated
    in ln J, when the curve spans it) of the points given; NaN where there are none."""
    nan = float("nan")
    out = {"turn_on_V": nan, "max_EQE": nan, "V_max_EQE": nan}
    if len(J) == 0:
        return out
    lit = J > 1e-3 * J.max()            # EQE is meaningless at the numerical current floor
    k = np.flatnonzero(lit)[np.argmax(EQE[lit])]
    out.update(turn_on_V=turn_on_voltage(V, L), max_EQE=float(EQE[k]), V_max_EQE=float(V[k]))
    if J.max() >= 10.0 and J.min() < 10.0:     # at 10 mA cm^-2 (the paper's operating point)
        k = np.searchsorted(J, 10.0) if np.all(np.diff(J) > 0) else int(np.argmin(abs(J - 10)))
        k = min(max(k, 1), len(J) - 1)
        w = (np.log(10.0) - np.log(J[k - 1])) / (np.log(J[k]) - np.log(J[k - 1]))
        for key, arr in (("V", V), ("eta_X", eta), ("EQE", EQE), ("luminance_cd_m2", L)):
            out[f"{key}_at_10mA"] = float(arr[k - 1] + w * (arr[k] - arr[k - 1]))
    return out


def run(dev, voltages, outdir, progress: bool | float = True, J_min: float | None = None,
        label: str = "J-V") -> tuple[list[dict], dict]:
    """Sweep the bias, write ``jv.csv``, ``jv.json`` (summary) and ``jv.png``; returns (rows, summary).
    ``J_min``: the ideality window's floor (mA cm^-2), to compare with another curve (see the module);
    ``progress``: a bar (True), nothing (False) or a line at most every ``progress`` s, headed ``label``
    (:class:`femqled.io.Progress`)."""
    import time

    from femqled import io
    from femqled.errors import SolverError
    from femqled.fields import sweep_stopped

    comm = dev.comm
    rows = []
    t0 = time.perf_counter()
    with io.Progress(label, len(voltages), progress, comm) as bar, dev.sweeping():
        for V in voltages:
            try:
                op = dev.solve(float(V))
            except SolverError as e:          # keep what was computed: the curve so far and the last good state
                bar.close()
                raise sweep_stopped(dev, outdir, rows, "jv", e, "last_good_state") from None
            rows.append(op.as_row())
            bar.update(V=f"{V:.3g} V", J=f"{op.J:.3g} mA/cm2")
    wall = time.perf_counter() - t0
    summary = summarize(rows, dev.case["temperature_K"], J_min=J_min)
    summary.update(wall_s=wall, newton_iterations=[r["newton_iterations"] for r in rows])
    io.write_csv(outdir / "jv.csv", rows, comm=comm)
    io.write_json(outdir / "jv.json", summary, comm=comm)
    if comm.rank == 0:
        plot(rows, summary, outdir / "jv.png")
    return rows, summary


def plot(rows, summary, path) -> None:
    V = np.array([r["V"] for r in rows])
    J = np.array([r["J_mA_cm2"] for r in rows])
    with figure(path, 2, (11, 4.2)) as (fig, axes):
        ax = axes[0]
        pos = J > 1e-9 * J.max()          # below that: the numerical current floor
        lit = J > 1e-3 * J.max()
        ax.semilogy(V[pos], J[pos], "k-", label="J")
        timed = pos & reached_in_time(rows)
        if timed.any():                   # no steady state there: stepped in time (Device.solve)
            ax.semilogy(V[timed], J[timed], "ko", mfc="none", ms=4, label="reached in time")
            legend(ax)
        ax.set_xlabel("V (V)")
        ax.set_ylabel("J (mA cm$^{-2}$)")
        if "luminance_cd_m2" in rows[0]:
            L = np.array([r["luminance_cd_m2"] for r in rows])
            ax2 = ax.twinx()
            ax2.semilogy(V[L > 0], L[L > 0], "r--", label="L")
            ax2.set_ylabel("luminance (cd m$^{-2}$)", color="r")
            ax = axes[1]
            for key, style, label in (("EQE", "b-", "EQE (%)"), ("eta_X", "g-", r"$\eta_X$ (%)"),
                                      ("trion_fraction_mean", "m:", "trion fraction (%)")):
                ax.plot(V[lit], [100 * r[key] for r, ok in zip(rows, lit) if ok], style, label=label)
            ax.set_xlabel("V (V)")
            legend(ax)
        eta = summary.get("min_ideality")
        axes[0].set_title(f"min ideality {eta:.2f}" if eta == eta else "J-V")
