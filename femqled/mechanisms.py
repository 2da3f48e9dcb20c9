"""Which acetate-driving kinetics explain the data? The four kinetics of ``[ageing] kinetics`` side by side (issue 7).

For each kinetics (diffusion, current, field, thermal) the constant-current lifetime test runs at 30, 50 and
100 mA cm^-2 (the paper's Fig. 1c-d currents) on the same device, and two questions are answered:

1. Current-density dependence of the elevation duration: the exponent m of t_el ~ J^-m fitted over the three
   currents, against the paper's m = ln(60/10) / ln(100/30) = 1.49 (60, 20 and 10 h). A kinetics reproduces it
   if the luminance rises (>= 10 %) and its elevation ends within the test at every current, and its m is within
   0.5 of the paper's.
2. Direction of acetate motion (ToF-SIMS, Fig. 5c: acetate piled at ZnO/Ag spreads *into* the Ag with operation):
   the acetate that entered the Ag by 10 h at 100 mA cm^-2 (or by the end of a test that reached its voltage
   compliance sooner), over what plain diffusion moves in the same time. A
   kinetics sends acetate into the Ag if the ratio is > 1 (operation drives it in); < 1 means operation holds it
   back (an anion pushed by the field away from the cathode under forward bias).

The thermal kinetics needs self-heating to depend on the current: if the case has none
(``thermal_resistance_K_cm2_W = 0``), the comparison uses THERMAL_RESISTANCE (stated in the output).

Outputs: ``mechanisms.json`` (per kinetics: durations, fitted m, inventory ratio, verdicts), ``mechanisms.csv``
and ``mechanisms.png`` (duration vs J with the paper's points; Ag inventory vs time at 100 mA cm^-2).
"""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path

import numpy as np
from mpi4py import MPI

KINETICS = ("diffusion", "current", "field", "thermal")
CURRENTS = {30.0: 300.0, 50.0: 150.0, 100.0: 80.0}            # mA cm^-2 -> test time (h)
PAPER_DURATION_H = {30.0: 60.0, 50.0: 20.0, 100.0: 10.0}
PAPER_EXPONENT = math.log(60.0 / 10.0) / math.log(100.0 / 30.0)
EXPONENT_TOLERANCE = 0.5
THERMAL_RESISTANCE = 100.0      # K cm^2 / W: [E] a glass-substrate QLED, ~30 K at 0.3 W cm^-2
DIRECTION_TIME_H = 10.0
MIN_ELEVATION = 0.1             # a kinetics whose luminance does not rise by 10 % explains no elevation


def fitted_exponent(J, t) -> float:
    """m of t = a J^-m by least squares in log-log."""
    J, t = np.asarray(J, float), np.asarray(t, float)
    ok = (J > 0) & (t > 0) & np.isfinite(t)
    if ok.sum() < 2:
        return float("nan")
    slope = np.polyfit(np.log(J[ok]), np.log(t[ok]), 1)[0]
    return float(-slope)


def inventory_at(rows: list[dict], t_h: float) -> float:
    """Acetate that entered the Ag by t_h (per width; NaN for a test without rows)."""
    if not rows:
        return float("nan")
    t = np.array([r["t_h"] for r in rows])
    a = np.array([r["acetate_in_Ag"] for r in rows])
    return float(np.interp(min(t_h, t[-1]), t, a) - a[0])


def run(case: dict, outdir: Path, comm=MPI.COMM_WORLD, hours_scale: float = 1.0, say=None) -> dict:
    """Run the comparison; ``hours_scale`` shortens every test (quick checks of the chain)."""
    from femqled import io
    from femqled.ageing import Ageing
    from femqled.errors import SolverError
    from femqled.instruments import lifetime

    outdir = Path(outdir)
    if comm.rank == 0:
        outdir.mkdir(parents=True, exist_ok=True)
    comm.barrier()
    say = say or (lambda m: io.say(m, comm=comm))
    series, out, table, failed_tests = {}, {}, [], []
    for kin in KINETICS:
        durations, ends, elevations, stopped = {}, {}, {}, {}
        for J, hours in CURRENTS.items():
            t0 = time.perf_counter()
            c = copy.deepcopy(case)
            c["ageing"].update(kinetics=kin, J_mA_cm2=J, hours=hours * hours_scale, output_times_h=[])
            if kin == "thermal" and c["ageing"]["thermal_resistance_K_cm2_W"] == 0.0:
                c["ageing"]["thermal_resistance_K_cm2_W"] = THERMAL_RESISTANCE
            ag = Ageing(c, comm)
            try:
                rows = ag.run(None, progress=False, stops=[DIRECTION_TIME_H * hours_scale])
                failed = None
            except SolverError as e:
                rows, failed = ag.rows, str(e)
                failed_tests.append(f"{kin} at {J:g} mA/cm2: {e}")
            s = lifetime.summarize(rows, ag.stopped or failed)
            durations[J], ends[J], elevations[J] = s["elevation_duration_h"], s["t_end_h"], s["elevation"]
            stopped[J] = s["stopped"]
            series[(kin, J)] = rows
            table.append({"kinetics": kin, "J_mA_cm2": J, "elevation": s["elevation"],
                          "elevation_duration_h": s["elevation_duration_h"], "t_end_h": s["t_end_h"],
                          "test_h": hours * hours_scale, "stopped": s["stopped"] or "",
                          "acetate_in_Ag_at_10h": inventory_at(rows, DIRECTION_TIME_H * hours_scale),
                          "wall_s": time.perf_counter() - t0})
            say(f"mechanisms: {kin} at {J:g} mA/cm2: " + (f"failed before its first point: {failed}" if not rows else
                f"elevation {100 * s['elevation']:+.0f} % at {s['elevation_duration_h']:.3g} h")
                + f" ({table[-1]['wall_s']:.0f} s)")
        Js = sorted(durations)
        m = fitted_exponent(Js, [durations[J] for J in Js])
        # an elevation that is still rising at the end of the test has not ended: its duration is unknown
        ended = all(durations[J] < ends[J] * (1 - 1e-9) or stopped[J] for J in Js)
        rises = all(elevations[J] >= MIN_ELEVATION for J in Js)
        out[kin] = {"durations_h": {f"{J:g}": durations[J] for J in Js},
                    "elevations": {f"{J:g}": elevations[J] for J in Js},
                    "exponent": m, "elevation_ends_within_test": bool(ended), "luminance_rises": bool(rises),
                    "reproduces_J_dependence": bool(ended and rises and math.isfinite(m)
                                                    and abs(m - PAPER_EXPONENT) <= EXPONENT_TOLERANCE)}
    # direction: equal times (a run may end early at its voltage compliance)
    diff = series[("diffusion", 100.0)]
    for kin in KINETICS:
        rows = series[(kin, 100.0)]
        t_cmp = min([DIRECTION_TIME_H * hours_scale] + [r[-1]["t_h"] for r in (rows, diff) if r])
        a, a_diff = inventory_at(rows, t_cmp), inventory_at(diff, t_cmp)
        ratio = a / a_diff if a_diff > 0 else float("nan")
        out[kin].update(acetate_into_Ag_vs_diffusion=ratio, direction_time_h=t_cmp,
                        drives_acetate_into_Ag=bool(ratio > 1.0 + 1e-6))
    result = {"paper_exponent": PAPER_EXPONENT, "exponent_tolerance": EXPONENT_TOLERANCE,
              "thermal_resistance_K_cm2_W": (case["ageing"]["thermal_resistance_K_cm2_W"] or THERMAL_RESISTANCE),
              "hours_scale": hours_scale, "kinetics": out,
              "explains_both": [k for k in KINETICS if out[k]["reproduces_J_dependence"]
                                and out[k]["drives_acetate_into_Ag"]],
              "failed": failed_tests}
    io.write_json(outdir / "mechanisms.json", result, comm=comm)
    io.write_csv(outdir / "mechanisms.csv", table, comm=comm)
    if comm.rank == 0:
        plot(result, series, outdir / "mechanisms.png", hours_scale)
    return result


def plot(result: dict, series: dict, path, hours_scale: float = 1.0) -> None:
    from femqled.instruments.figure import figure, legend

    with figure(path, 2, (10, 4)) as (fig, (ax1, ax2)):
        Js = sorted(CURRENTS)
        ax1.loglog(Js, [PAPER_DURATION_H[J] * hours_scale for J in Js], "ks", ms=8, label="paper")
        for kin, rec in result["kinetics"].items():
            t = [rec["durations_h"][f"{J:g}"] for J in Js]
            ax1.loglog(Js, t, "o-", label=f"{kin} (m = {rec['exponent']:.2f})")
            rows = series[(kin, 100.0)]
            if rows:                             # (a test that failed before its first point has no curve)
                ax2.plot([r["t_h"] for r in rows], [r["acetate_in_Ag"] - rows[0]["acetate_in_Ag"] for r in rows],
                         label=kin)
        ax1.set(xlabel="J (mA cm$^{-2}$)", ylabel="elevation duration (h)",
                title=f"t ~ J$^{{-m}}$, paper m = {result['paper_exponent']:.2f}")
        legend(ax1, fontsize=8)
        ax2.set(xlabel="t (h) at 100 mA cm$^{-2}$", ylabel="acetate entered the Ag (per width)",
                title="direction of acetate motion")
        legend(ax2, fontsize=8)
