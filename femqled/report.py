"""REPORT.md of the study (issue 7): each observable of He et al. 2023 against what femqled computed, with the
acceptance's tolerance, PASS/FAIL, its basis (fitted or predicted) and its wall time, and the prose around the
table: the predicted driving voltages, the mechanism, where each rise comes from, the pictures at 10 mA cm^-2 and
what could not be measured. Everything is read from the results :func:`femqled.paper.run` collected (the files it
wrote), never typed: a row whose measurement failed reads "not measured: <what failed>" and fails.
"""

from __future__ import annotations

import numpy as np

from femqled import acceptance, budget, materials, mechanisms
from femqled.instruments import cv, skpm

ELEVATION_H = {30.0: 60.0, 50.0: 20.0, 100.0: 10.0}     # the paper's elevation durations (h) at J (mA cm^-2)

# What the default's calibration fitted (docs/model.md, "Calibration"), by the parameters its targets files set:
# a "fitted" basis names those files, which is true of a case that keeps the parameter file's values of them.
SIZE = ("materials.QD.mu_n_cm2Vs", "materials.QD.mu_p_cm2Vs")                      # cases/targets-elevation.toml
LINE = ("materials.QD.k_auger_trion_per_s", "materials.QD.lambda_trion_shift_nm", "materials.QD.fwhm_trion_nm")
KINETICS = ("ageing.barrier_rise_eV", "ageing.saturation_cm2", "ageing.exponent",  # cases/targets-ageing*.toml
            "materials.Ag.acetate_D_cm2s")


def fitted(text: str, case: dict | None, paths) -> str:
    """The basis ``text`` of a fitted row, or, where ``case`` gives any of ``paths`` (the parameters those
    targets fitted) another value than the parameter file's, the same text saying which it changes."""
    if case is None:
        return text
    from femqled.calibrate import get_value

    library = materials.library({})

    def own(path):
        keys = path.split(".")
        return library[keys[1]][keys[2]] if keys[0] == "materials" else materials.ageing_parameter(keys[1])

    changed = [p for p in paths if get_value(case, p) != own(p)]
    if not changed:
        return text
    return (f"{text}, for the parameter file's values; this case sets {', '.join(changed)} (the case file says "
            "how they were chosen)")


class Missing(Exception):
    """A report row's measurement is not there (its solver failed); the message says what failed."""


def pictures_sentence(tot: dict) -> str:
    """REPORT.md's line on states_2d_10mA.png: the numbers written above its panels, pristine -> aged."""
    p, a = tot.get("pristine", {}), tot.get("aged", {})
    names = {"R_X_mA_cm2": "excitons", "R_trion_mA_cm2": "trions", "R_trion_pos_mA_cm2": "positive trions",
             "R_trap_mA_cm2": "trap-assisted"}
    parts = [f"{what} {p[k]:.3g} → {a[k]:.3g} mA cm⁻²" for k, what in names.items() if k in p and k in a]
    parts += [f"electrons in the {k[2:-4]} {p[k]:.2e} → {a[k]:.2e} cm⁻²" for k in p
              if k.startswith("n_") and k in a]
    if not parts:
        return "The pictures at 10 mA cm⁻² (`states_2d_10mA.png`) lack a state: see the run's output."
    out = ("The mechanism in pictures, `states_2d_10mA.png` (pristine beside aged at 10 mA cm⁻², near the trench; "
           "each channel integrated over the stack, q∫R dy): " + "; ".join(parts) + ".")
    cuts = [w for w in p.get("cutlines", {}) if w in a.get("cutlines", {})]
    if cuts:                                     # the band diagrams: the drop across each layer, per cutline
        along = {"trench": "through the trench", "flat": "through the flat contact", "middle": "along the middle"}

        def drops(state, w):
            return " / ".join(f"{v:.2f}" for v in state["cutlines"][w]["drops_V"].values())

        lines = " and ".join(f"{along.get(w, w)}, x = {p['cutlines'][w]['x_nm']:.0f} nm" for w in cuts)
        layers = " / ".join(p["cutlines"][cuts[0]]["drops_V"])
        out += (f" Where the bias goes at that current (`bands_10mA.png`, the band diagrams {lines}; across "
                f"{layers}): " + "; ".join(f"{along.get(w, w)} {drops(p, w)} → {drops(a, w)} V" for w in cuts) + ".")
    return out


def budget_sentence(budgets: dict) -> str:
    """REPORT.md's line on where each lifetime test's rise comes from (femqled/budget.py)."""
    known = {J: b for J, b in budgets.items() if b}
    if not known:
        return ""
    return ("Where the rise comes from (`femqled/budget.py`: the luminance by recombination channel, the points of "
            "the rise each channel gave up to excitons, first step → luminance maximum; He et al. read fewer "
            "trions and less electron leakage into the TFB): "
            + "; ".join(f"at {J} mA cm⁻² {budget.sentence(b)}" for J, b in known.items()) + ".")


def rows_table(rows):
    return "\n".join(f"| {r['observable']} | {r['simulated']} | {r['paper']} | {r['tolerance']} | {r['basis']} | "
                     f"{'PASS' if r['pass'] else 'FAIL'} | {r['wall_s']:.0f} |" for r in rows)


def mechanism_sentence(case: dict) -> str:
    """What the contact does in this case, in one sentence for REPORT.md."""
    ions = case["ions"]
    if ions["layer"] and ions["released_cm2"] > 0 and case["ageing"]["barrier_rise_eV"] == 0:
        return ("In this case the degrading interface does not raise the cathode barrier but releases mobile ions "
                f"into the layer {ions['layer']}, where they follow the operating device and change the dots' "
                "electron excess at the same current (docs/model.md, \"Mobile ions\"; the voltages above say what "
                "that costs).")
    return ("In this model a degrading cathode raises the exciton-generation efficiency at a constant current "
            "only once it can no longer keep the ETL supplied, so the elevation costs volts; the SKPM and C–V "
            "rows read the same fact at 3 V and near the built-in voltage (docs/model.md, \"What the elevation "
            "costs\"; scripts/elevation_cost.py). No other contact law escapes it: the rise fixes the state of "
            "the ETL's surface at the cathode, where any law whose injection grows with the field and falls with "
            "the electrons already there passes no more than the operating current, so at 3 V the aged device "
            "is starved (docs/model.md, \"No contact law does it\"; the state is in the SKPM row). `femqled "
            "hypotheses CASE` judges the alternatives tried (a tunnel layer, fixed charge, mobile anions) on the "
            "ideality, C–V, SKPM and peel-off rows with these tolerances. The ideality rises because the aged dots "
            "hold fewer electrons at "
            "every bias and trap-assisted recombination, largest where electrons and holes balance, then sets the "
            "slope of the exponential regime (docs/model.md, \"QD layer\").")


def rows(results: dict, walls: dict, failures: dict, *, floor: float | None, interface_y_nm: float, stack,
         compliance_V: float, quick: bool, preset: str, case: dict | None = None) -> list[dict]:
    """The rows of REPORT.md from ``results`` (``age_<J>``: each lifetime test's summary, rows and budget;
    ``pristine``, ``aged``: the J-V, C-V, SKPM and SIMS of each state; ``rebuild``; ``mechanisms``), ``walls``
    (s per measurement) and ``failures`` (what could not be measured, by measurement). ``floor``: the ideality
    window (mA cm^-2); ``interface_y_nm``: the mean height of the ZnO/Ag interface; ``stack``: the layers, bottom
    to top; ``compliance_V``: the lifetime tests' voltage compliance; the wall-time row only at the default
    settings (the 60 min budget is theirs); ``case``: the study's case, whose values of what the calibration
    fitted decide whether a row's "fitted" basis is the default's (:func:`fitted`)."""
    rb, mech = results["rebuild"], results["mechanisms"]
    out = []

    def row(obs, paper, tol, wall, basis, value):
        """One report row; ``value()`` gives (simulated, pass) from the results, or raises :class:`Missing` when a
        measurement it needs failed (the row then says which and fails); ``basis`` says whether the paper's
        value was a calibration target (fitted) or not."""
        try:
            sim, ok = value()
        except Missing as m:
            sim, ok = f"not measured: {m}", False
        out.append({"observable": obs, "simulated": sim, "paper": paper, "tolerance": tol, "basis": basis,
                     "pass": bool(ok), "wall_s": wall})

    def need(label, what):
        """``results[label][what]``, or :class:`Missing` saying why it is not there."""
        got = results.get(label, {}).get(what)
        if got is None or (what == "rows" and not got):
            raise Missing(failures.get(f"{what}_{label}") or failures.get(label) or f"no {what} of {label}")
        return got

    def stopped(key):
        s = results[key]["summary"]
        if s.get("failed"):
            return f" (run stopped at {s['t_end_h']:.3g} h)"
        if s.get("stopped"):
            return f" (ended at the {compliance_V:g} V compliance)"
        if s["elevation_duration_h"] >= s["t_end_h"] * (1 - 1e-9):
            return f" (still rising at the end of the test, 99 % of the rise by {s['t_99_h']:.3g} h)"
        return ""

    def rise_10():
        need("age_10", "rows")
        s10 = results["age_10"]["summary"]
        return (f"{100 * s10['elevation']:+.0f} % at {s10['elevation_duration_h']:.0f} h" + stopped("age_10"),
                abs(100 * s10["elevation"] - 90) <= 15 and 700 <= s10["elevation_duration_h"] <= 1500
                and not s10.get("failed") and "still rising" not in stopped("age_10"))

    row("luminance rise at 10 mA cm⁻² (max) and its time", "+90 % at ~1000 h", "+90 ± 15 %, 700–1500 h",
        walls["age_10"], fitted("fitted (size: quasi-1D contact limit, cases/targets-elevation.toml; time: quasi-1D, "
                                "cases/targets-ageing.toml)", case, SIZE + KINETICS), rise_10)
    Js = sorted(ELEVATION_H)

    def durations():
        for J in Js:
            need(f"age_{J:g}", "rows")
        t_el = [results[f"age_{J:g}"]["summary"]["elevation_duration_h"] for J in Js]
        ok_t = all(target / 1.5 <= t <= target * 1.5 for t, target in zip(t_el, [ELEVATION_H[J] for J in Js]))
        slope = float(np.polyfit(np.log(Js), np.log(np.maximum(t_el, 1e-9)), 1)[0])
        notes = {J: stopped(f"age_{J:g}") for J in Js}
        return (" / ".join(f"{t:.3g} h" for t in t_el) + f" (t ~ J^{slope:.2f})"
                + (notes[Js[0]] if len(set(notes.values())) == 1 else      # one note for all tests, or each its own
                   "".join(f" ({J:g} mA cm⁻²: {note[2:]}" for J, note in notes.items() if note)),
                ok_t and not any(results[f"age_{J:g}"]["summary"].get("failed") for J in Js)
                and not any("still rising" in note for note in notes.values()))

    row("elevation duration at 30 / 50 / 100 mA cm⁻² (fitted exponent)", "60 / 20 / 10 h (t ~ J^-1.5..-2)",
        "each within ×1.5", sum(walls[f"age_{J:g}"] for J in Js),
        fitted("fitted (rate: 2D, cases/targets-ageing-2d.toml; exponent and barrier rise: quasi-1D, "
               "cases/targets-ageing.toml)", case, KINETICS), durations)

    def at_el_maximum():                         # the 100 mA cm^-2 test: its first row and its EL maximum
        r100 = need("age_100", "rows")
        k = int(np.argmax([r["luminance_cd_m2"] for r in r100]))
        return r100[0], r100[k]

    def el_pl():
        p0, p1 = at_el_maximum()
        el = p1["luminance_cd_m2"] / p0["luminance_cd_m2"] - 1
        pl = p1["PL_yield"] / p0["PL_yield"] - 1
        return f"EL {100 * el:+.0f} %, PL {100 * pl:+.1f} %", 0.7 <= el <= 1.1 and pl <= 0.1

    row("EL and PL rise at 100 mA cm⁻² (to the EL maximum)", "EL +90 %, PL +5 %", "EL +70..110 %, PL ≤ +10 %",
        walls["age_100"], fitted("EL fitted (size: quasi-1D contact limit, cases/targets-elevation.toml); PL "
                                 "predicted", case, SIZE), el_pl)

    def spectra():                               # the spectra of Fig. 2c: the 100 mA cm^-2 test, to its EL maximum
        p0, p1 = at_el_maximum()
        return (f"{p0['peak_nm']:.1f} → {p1['peak_nm']:.1f} nm; {p0['fwhm_nm']:.1f} → {p1['fwhm_nm']:.1f} nm; TFB "
                f"{'falls' if p1['photons_HTL'] < p0['photons_HTL'] else 'rises'}",
                abs(p0["peak_nm"] - 626) <= 1.5 and abs(p1["peak_nm"] - 623) <= 1.5 and
                abs(p0["fwhm_nm"] - 30) <= 3 and abs(p1["fwhm_nm"] - 24) <= 3
                and p1["photons_HTL"] < p0["photons_HTL"])

    row("EL peak / FWHM at 100 mA cm⁻², pristine → EL maximum; TFB emission", "626 → 623 nm; 30 → 24 nm; falls",
        "±1.5 nm; ±3 nm", walls["age_100"], fitted("pristine fitted (quasi-1D, cases/targets-elevation.toml); EL "
                                                   "maximum predicted", case, SIZE + LINE), spectra)

    def ideality():
        n0, n1 = need("pristine", "jv")["min_ideality"], need("aged", "jv")["min_ideality"]
        return f"{n1 / n0:.2f} ({n0:.2f} → {n1:.2f})", acceptance.ideality_passes(n0, n1)

    window = f" (one window: J above {floor:.1e} mA cm⁻²)" if floor is not None else ""
    row(f"minimum ideality factor, aged / pristine{window}",
        f"{acceptance.IDEALITY_RATIO:.2f} ({acceptance.IDEALITY_PAPER[0]} → {acceptance.IDEALITY_PAPER[1]})",
        f"{acceptance.IDEALITY_RATIO:.2f} ± {acceptance.IDEALITY_RATIO_TOL}",
        walls.get("jv_pristine", 0.0) + walls.get("jv_aged", 0.0),
        "QD trap density chosen by a quasi-1D scan against it (parameter file); 2D predicted", ideality)
    carriers = {k: cv.describe_rise(results[k]["cv"]["rise_carriers"]) for k in ("pristine", "aged")
                if results[k].get("cv") is not None}

    def onsets():
        c0, c1 = need("pristine", "cv")["onset_V"], need("aged", "cv")["onset_V"]
        return f"{c0:.2f} / {c1:.2f} V", acceptance.cv_passes(c0, c1)

    row("C–V onset of the capacitance rise, pristine / aged", " / ".join(f"{v}" for v in acceptance.CV_ONSET_V)
        + " V", f"±{acceptance.CV_ONSET_TOL_V} V", walls.get("cv_pristine", 0.0) + walls.get("cv_aged", 0.0),
        "predicted" + (("; the rise is carried by (in-phase charge growth across its steepest step) "
                        + ", ".join(f"{c} ({k})" for k, c in carriers.items())
                        + "; the paper reads electrons in the QD film") if carriers else ""), onsets)
    drops = {k: " / ".join(f"{v:.2f}" for v in results[k]["skpm"]["drops_V"].values()) for k in ("pristine", "aged")
             if results[k].get("skpm") is not None}
    surfaces = {k: f"{results[k]['skpm']['surface']['E_MV_cm']:+.3f} MV cm⁻¹, "
                   f"{results[k]['skpm']['surface']['n_cm3']:.2g} cm⁻³" for k in ("pristine", "aged")
                if (results[k].get("skpm") or {}).get("surface") is not None}

    def kelvin_probe():
        near, change = skpm.compare(need("pristine", "skpm"), need("aged", "skpm"), interface_y_nm)
        return f"×{near:.2f}; {100 * change:.0f} %", acceptance.skpm_passes(near, change)

    layers = " / ".join(stack)
    row("SKPM at 3 V: field within 5 nm of ZnO/Ag, aged / pristine; largest change elsewhere",
        "strong field appears at ZnO/Ag; little change elsewhere",
        f"≥ ×{acceptance.SKPM_NEAR_MIN:g}; ≤ {100 * acceptance.SKPM_ELSEWHERE_MAX:.0f} %",
        walls.get("skpm_pristine", 0.0) + walls.get("skpm_aged", 0.0),
        "predicted" + (f"; the bias across {layers}: " + ", ".join(f"{v} V ({k})" for k, v in drops.items())
                       if drops else "") + (f"; the ETL's surface at the cathode (field, electrons), what its contact "
                                            f"law sees: " + ", ".join(f"{v} ({k})" for k, v in surfaces.items())
                                            if surfaces else ""), kelvin_probe)

    def tof_sims():
        s0 = need("pristine", "sims")["acetate_penetration_into_Ag_nm"]
        s1 = need("aged", "sims")["acetate_penetration_into_Ag_nm"]
        return f"{s0:.2f} → {s1:.2f} nm", s1 >= 2 * s0

    row("ToF-SIMS: acetate depth into Ag at 10 % of its peak, pristine → aged", "acetate spreads into the Ag",
        "at least ×2", walls.get("sims_pristine", 0.0) + walls.get("sims_aged", 0.0),
        fitted("fitted (quasi-1D, cases/targets-ageing.toml)", case, KINETICS), tof_sims)

    def peel_off_row():
        if "failed" in rb:
            raise Missing(rb["failed"])
        st = rb["states"]
        eq_p, eq_zr = st["pristine"]["EQE_at_J"], st["rebuilt ZnO/Ag"]["EQE_at_J"]
        rec = st["rebuilt Ag"]["EQE_recovery"]
        return (f"{budget.signed(100 * (eq_zr / eq_p - 1), 1)} %; {100 * rec:.0f} %",
                acceptance.peeloff_passes(eq_zr / eq_p - 1, rec))

    row("peel-off: EQE of rebuilt ZnO/Ag vs pristine; recovery by rebuilt Ag", "restored; largely restored",
        "±5 %; ≥ 70 %", walls["rebuild"], "predicted", peel_off_row)
    kin = mech["kinetics"]

    def kinetics():
        if len(mech["failed"]) == len(mechanisms.KINETICS) * len(mechanisms.CURRENTS):
            raise Missing(failures["mechanisms"])
        return ("; ".join(f"{k} m = {r['exponent']:.2f}, ×{r['acetate_into_Ag_vs_diffusion']:.2g}"
                          for k, r in kin.items()) + f" → explain both: {', '.join(mech['explains_both']) or 'none'}",
                bool(mech["explains_both"]))

    row("mechanisms (quasi-1D): exponent m of t ~ J^-m; acetate into Ag vs diffusion",
        f"m = {mech['paper_exponent']:.2f}; acetate spreads into Ag", f"m within ±{mech['exponent_tolerance']} "
        f"of {mech['paper_exponent']:.2f}, and driven into Ag", walls["mechanisms"],
        "compared (each kinetics with the calibrated rate)", kinetics)
    total = sum(walls.values())
    if preset == "default":                      # the 60 min budget is the default settings' (issue 7)
        row("`make paper` wall time (2 ranks)" if not quick else "wall time (quick)", "—", "≤ 60 min", total, "—",
            lambda: (f"{total / 60:.1f} min", total <= 3600))
    return out


def current_sentence(amps: dict) -> str:
    """The current at 3 V, pristine -> aged (from their J-V curves): what Fig. 2d's curves would show of it."""
    if len(amps) < 2:
        return ""
    return (f"The current at 3 V, the SKPM's bias, pristine → aged: {amps['pristine']:.3g} → {amps['aged']:.3g} "
            f"mA cm⁻² (×{amps['aged'] / amps['pristine']:.2g}; the J–V curves of `fig2d_jv.png`, which the "
            "paper's Fig. 2d measured during the elevation). ")


def aged_sentence(aged: dict | None) -> str:
    """Which state the aged rows read: the 10 mA cm^-2 test at its luminance maximum, or at its end."""
    if not aged:
        return ""
    if aged["file"] == "checkpoint.npz":
        return (f" The aged state (J–V, C–V, SKPM, ToF-SIMS, peel-off, pictures) is the 10 mA cm⁻² test's end, "
                f"t = {aged['t_h']:.4g} h (its luminance never rose).")
    return (f" The aged state (J–V, C–V, SKPM, ToF-SIMS, peel-off, pictures) is the 10 mA cm⁻² device at its "
            f"luminance maximum, t = {aged['t_h']:.4g} h, where the elevation ends (He et al. measured \"after the "
            f"efficiency elevation\"); the test itself went on to {aged['t_end_h']:.4g} h.")


def markdown(report: dict, base: dict) -> str:
    """REPORT.md from ``report`` (the dictionary written to ``report.json``) and the case as run, ``base``."""
    rows, failures, volts = report["rows"], report["failures"], report["voltage_pristine_to_max_V"]
    reused, continued, stages = report["reused_lifetime_tests"], report["continued_lifetime_tests"], \
        report["reused_stages"]
    resumed = ""
    if reused or continued or stages:
        resumed = (" Resumed (`--resume`): " + "; ".join(
            part for part in (f"the lifetime tests at {', '.join(reused)} mA cm⁻² are an earlier run's, with its wall "
                              "times" if reused else "",
                              f"those at {', '.join(continued)} mA cm⁻² continued from its checkpoints (their wall "
                              "times are this run's part)" if continued else "",
                              f"the measurements of {', '.join(stages)} are an earlier run's (same case, settings, "
                              "code and aged state), with its wall times" if stages else "") if part) + ".")
    passed = sum(r["pass"] for r in rows)
    return (f"# femqled against He et al. 2023\n\nCase `{report['case']}`"
            + "".join(f" `--set {item}`" for item in report["sets"])
            + f"{' (quick: quasi-1D, times / 50)' if report['quick'] else ''}"
            f", {report['ranks']} MPI rank(s), {report['settings']}; {report['wall_total_s'] / 60:.1f} min.{resumed} "
            f"{passed} of {len(rows)} rows pass. "
            "Every value below is read from the "
            "results in this directory (report.json); the figures are the PNGs beside it. Basis: \"fitted\" rows "
            "compare with values that were targets of the calibration named (they check the fit); \"predicted\" "
            "rows were not fitted to." + aged_sentence(report.get("aged_state")) + "\n\n"
            "| observable | femqled | paper | tolerance | basis | result | wall (s) |\n|---|---|---|---|---|---|---|\n"
            + rows_table(rows) + "\n\n"
            "Predicted, with no number in the paper's main text (it reports that the driving voltage rises "
            "gradually during the elevation, Supplementary Fig. 4a): the driving voltage, pristine → at the "
            "luminance maximum, "
            + ("; ".join(f"{v0:.2f} → {v1:.2f} V at {J} mA cm⁻²" for J, (v0, v1) in volts.items())
               or "not measured (no lifetime test operated)")
            + ". " + current_sentence(report["current_at_3V_mA_cm2"]) + mechanism_sentence(base)
            + "\n\n" + budget_sentence(report["rise_budget"]) + "\n\n"
            + pictures_sentence(report["pictures_10mA"]) + "\n"
            + ("\nWhat could not be measured (each instrument leaves its points so far and its last good state in "
               "its directory; the rows that need it say \"not measured\"): "
               + "; ".join(failures.values()) + ".\n" if failures else ""))
