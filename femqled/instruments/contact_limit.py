"""Contact-limit test: how much brighter can a degrading cathode make this device at a constant current?

A virtual experiment (no counterpart in the paper; it separates *how much* from *when*). The device is held at
a current density J while the cathode barrier is raised step by step, until the operating voltage reaches the
source's compliance V_c: the state of a contact that can no longer keep the ETL supplied with electrons, as far
as a lifetime test at V_c can follow it. The luminance, PL yield and eta_X there, over their pristine values,
are the largest elevation that contact degradation can give at J:

    EL_rise_limit = L(V_c) / L(pristine) - 1,     PL_rise_limit = PL(V_c) / PL(pristine) - 1.

Why it exists (docs/model.md, "Why the contact matters"): at a constant current a degraded contact changes the
device's interior only once it limits the electron supply; beyond that the QDs lose their excess electrons
and the photons per electron approach the trion- and leakage-free value. The rise is then bounded by the
pristine charge balance (the electron excess in the QDs), not by the ageing kinetics, and it is nearly the
same at every current if the pristine balance is. The paper saw +90 % at both 10 and 100 mA cm^-2 (He et al.
2023 Fig. 1b, 2b); ``femqled calibrate`` fits the QD film's transport to it with the observables
``EL_rise_limit`` and ``PL_rise_limit`` (cases/targets-elevation.toml), and the ageing kinetics then only set
the time.

How: barrier steps of ``step_eV`` under constant-current operation until V >= V_c, then bisection on the barrier
(``bisections`` halvings) between the last state below V_c and the first above it; the quantities at V_c are
interpolated linearly in V between the final bracket. The barrier is restored afterwards.

Where the luminance peaks on the way and falls before the compliance (the dots' hole capacity reached: with
single-level statistics, :mod:`femqled.statistics`, the holes the rise needs cannot all enter the dots and pass on
into the ZnO, and the voltage stops rising), the "limit" is the state of the largest luminance instead: the
steps stop once the luminance has fallen below half its largest value so far, and a golden-section search on the
barrier (``refinements`` evaluations) within a step either side of the brightest step finds the peak. Where the
brightest step is the last below the compliance, the peak can still lie within that step (with dim positive
trions, the default's emission, the luminance falls once the dots hold a hole excess: at 100 mA cm^-2 it peaks
~0.01 eV before the compliance): the same search runs there, a state above the compliance counting as dark, and
the brighter of its peak and the compliance state is the limit. So EL_rise_limit is the largest rise a degrading
contact gives at J up to the compliance; ``at_compliance`` says which case it is.
"""

from __future__ import annotations

import numpy as np

from femqled.errors import ComplianceReached, SolverError

KEYS = ("luminance_cd_m2", "PL_yield", "eta_X", "EQE", "n_qd_mean_cm3", "X_in_hole_charged_dots")


def _state(op) -> dict:
    return {"V": op.V, "barrier_rise_eV": None, **{k: float(op.extra[k]) for k in KEYS}}


def run(dev, J: float, V_c: float = 10.0, step_eV: float = 0.02, bisections: int = 6,
        max_rise_eV: float = 2.0, refinements: int = 10) -> dict:
    """The contact-limit test of ``dev`` at ``J`` (mA cm^-2): the device as it is ("pristine") and at the
    compliance ``V_c`` (V), or at the luminance's peak where it falls before ("limit"), and the rises. The barrier
    is restored and the device left at rest (equilibrium).

    Raises SolverError if the device as it is needs more than V_c, or if within ``max_rise_eV`` of barrier rise
    V_c is not reached and the luminance has not peaked."""
    c = dev.contacts
    saved = c.barrier.x.array.copy()

    def at(d):
        c.barrier.x.array[:] = saved + d
        c.update_barrier()
        try:
            op = dev.operate(J, V_max=V_c)
        except ComplianceReached:
            raise
        except SolverError:
            # the way back from a state near the compliance to a lower barrier (the peak search after the steps)
            # need not converge; from rest it does
            dev.reset()
            op = dev.operate(J, V_max=V_c)
        s = _state(op)
        s["barrier_rise_eV"] = d
        return s

    def L(s):
        return s["luminance_cd_m2"]

    try:
        try:
            pristine = at(0.0)
        except ComplianceReached as e:
            raise SolverError(f"contact-limit test: the device as it is already needs more than the compliance "
                              f"({e})") from None
        steps = [pristine]
        d_hi, fallen = None, False
        d = step_eV
        while d <= max_rise_eV + 1e-12:
            try:
                steps.append(at(d))
            except ComplianceReached:
                d_hi = d
                break
            if L(steps[-1]) < 0.5 * max(L(s) for s in steps):
                fallen = True
                break
            d += step_eV
        if d_hi is None and not fallen:
            raise SolverError(f"contact-limit test: {J:g} mA/cm2 still needs less than {V_c:g} V with the barrier "
                              f"raised by {max_rise_eV:g} eV")
        k = max(range(len(steps)), key=lambda i: L(steps[i]))
        if d_hi is not None and k == len(steps) - 1:
            limit = _at_compliance(at, steps[-1], d_hi, V_c, bisections)
            # the brightest step is the last below the compliance, but the luminance may still peak within a
            # step of it and fall before the compliance (dim positive trions once the dots hold a hole excess)
            peak = _peak(at, steps, k, step_eV, refinements)
            if L(peak) > L(limit):
                limit = peak
        else:
            limit = _peak(at, steps, k, step_eV, refinements)
    finally:
        c.barrier.x.array[:] = saved
        c.update_barrier()
        dev.reset()       # at rest: the way down from the compliance through the restored barrier may not converge
    return {
        "J_mA_cm2": J, "V_c": V_c, "pristine": pristine, "limit": limit,
        "at_compliance": limit["V"] == V_c,
        "EL_rise_limit": limit["luminance_cd_m2"] / pristine["luminance_cd_m2"] - 1.0,
        "PL_rise_limit": limit["PL_yield"] / pristine["PL_yield"] - 1.0,
        "eta_X_ratio": limit["eta_X"] / pristine["eta_X"] if pristine["eta_X"] > 0 else np.nan,
    }


def _at_compliance(at, below: dict, d_hi: float, V_c: float, bisections: int) -> dict:
    """The state at the compliance: bisection on the barrier between ``below`` and ``d_hi``, then extrapolated
    in V to V_c."""
    d_lo = below["barrier_rise_eV"]
    for _ in range(bisections):
        mid = 0.5 * (d_lo + d_hi)
        try:
            below, d_lo = at(mid), mid
        except ComplianceReached:
            d_hi = mid
    # the compliance state itself (V = V_c, J a little below the target) is not an operating point at J:
    # extrapolate to V_c from the last state below it (``below``, at d_lo) and one a bracket width lower
    prev = at(d_lo - (d_hi - d_lo))
    w = (V_c - below["V"]) / (below["V"] - prev["V"]) if below["V"] != prev["V"] else 0.0
    limit = {k: below[k] + w * (below[k] - prev[k]) for k in KEYS}
    limit.update(V=V_c, barrier_rise_eV=d_lo + w * (d_lo - prev["barrier_rise_eV"]))
    return limit


def _peak(at, steps: list[dict], k: int, step_eV: float, refinements: int) -> dict:
    """The brightest state within a step either side of ``steps[k]`` (golden section on the barrier; a state
    above the compliance counts as dark)."""
    best = steps[k]

    def value(d):
        nonlocal best
        try:
            s = at(d)
        except ComplianceReached:
            return -np.inf
        if s["luminance_cd_m2"] > best["luminance_cd_m2"]:
            best = s
        return s["luminance_cd_m2"]

    d = steps[k]["barrier_rise_eV"]
    golden_max(value, max(d - step_eV, 0.0), d + step_eV, refinements)
    return dict(best)


def golden_max(f, lo: float, hi: float, evaluations: int) -> tuple[float, float]:
    """(x, f(x)) of the largest f found by a golden-section search on [lo, hi] with ``evaluations`` calls of f (a
    unimodal f: the luminance around its peak as a contact degrades)."""
    g = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = f(a), f(b)
    best = (fa, a) if fa >= fb else (fb, b)
    for _ in range(max(evaluations - 2, 0)):
        if fa >= fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = f(a)
            x, fx = a, fa
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = f(b)
            x, fx = b, fb
        if fx > best[0]:
            best = (fx, x)
    return best[1], best[0]


def write(results: list[dict], outdir, comm) -> None:
    """``limit.csv`` (one row per current), ``limit.json`` (everything) and ``limit.png`` (rises vs J)."""
    from femqled import io

    rows = [{"J_mA_cm2": r["J_mA_cm2"], "V0": r["pristine"]["V"], "eta_X0": r["pristine"]["eta_X"],
             "eta_X_limit": r["limit"]["eta_X"], "EQE0": r["pristine"]["EQE"], "EQE_limit": r["limit"]["EQE"],
             "EL_rise_limit": r["EL_rise_limit"], "PL_rise_limit": r["PL_rise_limit"],
             "barrier_rise_eV": r["limit"]["barrier_rise_eV"]} for r in results]
    io.write_csv(outdir / "limit.csv", rows, comm=comm)
    io.write_json(outdir / "limit.json", {"tests": results}, comm=comm)
    if comm.rank == 0:
        plot(rows, outdir / "limit.png")


def plot(rows: list[dict], path) -> None:
    from femqled.instruments.figure import figure, legend

    J = [r["J_mA_cm2"] for r in rows]
    with figure(path, 1, (5.5, 4)) as (fig, ax):
        ax.plot(J, [100 * r["EL_rise_limit"] for r in rows], "ro-", label="EL (luminance) rise")
        ax.plot(J, [100 * r["PL_rise_limit"] for r in rows], "bs-", label="PL rise")
        ax.axhline(90.0, ls=":", c="k", label="paper: +90 % (10 and 100 mA cm$^{-2}$)")
        ax.set_xscale("log")
        ax.set_xlabel("J (mA cm$^{-2}$)")
        ax.set_ylabel("largest rise at the compliance (%)")
        ax.set_title("contact-limit test")
        legend(ax, fontsize=8)
