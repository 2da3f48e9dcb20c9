"""One PNG per figure of the study (He et al., Nat. Commun. 14, 7785, 2023), simulated, with the paper's numbers.

:func:`write_all` draws, from what ``femqled paper`` ran (:mod:`femqled.paper`), into ``results/paper/``:

    fig1b_luminance_10mA.png      L/L0 at 10 mA cm^-2 (paper: +90 % at ~1000 h)
    fig1c_elevation_durations.png  elevation duration vs J, log-log, with the paper's points and the fitted slope
    fig1d_luminance_50mA.png      L/L0 at 50 mA cm^-2, the elevation shaded (paper: ~20 h)
    fig2b_EL_PL_100mA.png         EL and PL intensity at 100 mA cm^-2 (paper: EL +90 %, PL +5 %)
    fig2c_EL_spectra_100mA.png    normalised EL spectra from pristine to the EL maximum (626 -> 623 nm), log inset
    fig2d_jv.png                  J-V and ideality, pristine and aged (paper: min ideality 3.45 -> 4.14)
    fig2e_cv.png                  C-V, pristine and aged, onsets (paper: 1.4 -> 1.9 V); the carriers of the rise
    fig3jk_skpm.png               SKPM potential and field at 3 V, pristine and aged
    fig4_peel_off.png             EQE and J-V of pristine, aged, rebuilt ZnO/Ag and rebuilt Ag
    fig5c_sims.png                ToF-SIMS depth profiles, pristine and aged

Rank 0 draws; the other ranks return at once. The aged device of Fig. 2d-e, 3 and 5 is the 10 mA cm^-2 device at
the end of its test (the paper aged those at 100 mA cm^-2 or for ~1000 h: same state variable, the contact).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from femqled.instruments import cv, jv, sims, skpm
from femqled.instruments.figure import figure, legend
from femqled.report import ELEVATION_H

PAPER_DURATIONS_H = {10.0: 1000.0, **ELEVATION_H}      # Fig. 1b-c: ~1000 h at 10 mA cm^-2 and the report's rows


def _series(rows, key):
    return np.array([r[key] for r in rows], dtype=float)


def _luminance(rows, path, J, paper_text, paper_rise=None, paper_time=None, shade=None):
    t, L = _series(rows, "t_h"), _series(rows, "luminance_cd_m2")
    with figure(path, 2, (11, 4)) as (fig, (a1, a2)):
        a1.plot(t, L / L[0], "r-", label="femqled")
        if paper_rise is not None:
            a1.axhline(1 + paper_rise, ls=":", c="k", label=paper_text)
        if paper_time is not None:
            a1.axvline(paper_time, ls=":", c="gray")
        if shade is not None:
            a1.axvspan(0, shade, color="r", alpha=0.1, label=f"elevation (to {shade:.3g} h)")
        a1.set_xlabel("time (h)")
        a1.set_ylabel("L / L0")
        a1.set_title(f"luminance at {J:g} mA cm$^{{-2}}$")
        legend(a1, fontsize=8)
        a2.plot(t, _series(rows, "V"), "k-")
        a2.set_xlabel("time (h)")
        a2.set_ylabel("V (V)")
        a2.set_title("voltage at constant current")


def _fig1c(results, path):
    Js = sorted(J for J in PAPER_DURATIONS_H if f"age_{J:g}" in results)
    t_sim = [results[f"age_{J:g}"]["summary"]["elevation_duration_h"] for J in Js]
    with figure(path, 1, (5.5, 4.2)) as (fig, ax):
        ax.loglog(Js, t_sim, "ro-", label="femqled")
        ax.loglog(list(PAPER_DURATIONS_H), list(PAPER_DURATIONS_H.values()), "ks", mfc="none",
                  label="He et al. 2023")
        hi = [J for J in Js if J >= 30.0]
        if len(hi) >= 2:
            m = np.polyfit(np.log(hi), np.log([t for J, t in zip(Js, t_sim) if J >= 30.0]), 1)[0]
            ax.set_title(f"elevation duration: femqled t ~ J^{m:.2f} (30-100 mA cm$^{{-2}}$)", fontsize=9)
        ax.set_xlabel("J (mA cm$^{-2}$)")
        ax.set_ylabel("elevation duration (h)")
        legend(ax)


def _fig2b(rows, path):
    t, L, PL = _series(rows, "t_h"), _series(rows, "luminance_cd_m2"), _series(rows, "PL_yield")
    with figure(path, 1, (6, 4)) as (fig, ax):
        ax.plot(t, 100 * L / L[0], "rs-", ms=3, label="EL")
        ax.plot(t, 100 * PL / PL[0], "bo-", ms=3, label="PL")
        ax.axhline(190, ls=":", c="r", label="paper: EL 190 %")
        ax.axhline(105, ls=":", c="b", label="paper: PL 105 %")
        ax.set_xlabel("time (h)")
        ax.set_ylabel("intensity (% of initial)")
        ax.set_title("EL and PL at 100 mA cm$^{-2}$")
        legend(ax, fontsize=8)


def _fig2c(rows, emission, path):
    k = int(np.argmax(_series(rows, "luminance_cd_m2")))
    picks = sorted(set(np.linspace(0, k, min(k + 1, 5)).round().astype(int)))
    with figure(path, 2, (11, 4)) as (fig, (a1, a2)):
        from matplotlib import colormaps

        cmap = colormaps["coolwarm_r"]
        for i, j in enumerate(picks):
            r = rows[j]
            lam, S = emission.spectrum({"X": r["photons_X"], "trion": r["photons_trion"], "HTL": r["photons_HTL"],
                                        "trion_pos": r.get("photons_trion_pos", 0.0)})
            c = cmap(i / max(len(picks) - 1, 1))
            lab = f"{r['t_h']:.3g} h: {r['peak_nm']:.1f} nm, FWHM {r['fwhm_nm']:.1f} nm"
            a1.plot(lam, S / S.max(), color=c, label=lab)
            a2.semilogy(lam, S / S.max(), color=c)
        for a in (a1, a2):
            a.set_xlabel("wavelength (nm)")
        a1.set_xlim(560, 700)
        a1.axvline(626, ls=":", c="r")
        a1.axvline(623, ls=":", c="b")
        a1.set_ylabel("EL (normalised)")
        a1.set_title("EL at 100 mA cm$^{-2}$, pristine to EL maximum (paper 626 -> 623 nm)", fontsize=9)
        legend(a1, fontsize=7)
        a2.set_xlim(400, 750)
        a2.set_ylim(1e-4, 2)
        a2.set_title("semi-log: the TFB band (~435 nm)", fontsize=9)


def _fig2d(jv_rows, jv_sums, path, T: float = 300.0):
    with figure(path, 2, (11, 4)) as (fig, (a1, a2)):
        for label, rows in jv_rows.items():
            style = {"pristine": "r--", "aged": "b-"}[label]
            V, J = _series(rows, "V"), _series(rows, "J_mA_cm2")
            ok = J > 1e-9 * J.max()                     # below that: the numerical current floor
            a1.semilogy(V[ok], J[ok], style, label=label)
            lit = J > jv_sums[label]["ideality_floor_mA_cm2"]          # the window the minimum was taken over
            a2.plot(V[lit], jv.ideality(V, J, T)[lit], style,
                    label=f"{label}: min {jv_sums[label]['min_ideality']:.2f}")
        a1.set_xlabel("V (V)")
        a1.set_ylabel("J (mA cm$^{-2}$)")
        legend(a1)
        a2.set_ylim(0, 8)
        a2.axhline(3.45, ls=":", c="r", label="paper pristine 3.45")
        a2.axhline(4.14, ls=":", c="b", label="paper aged 4.14")
        a2.set_xlabel("V (V)")
        a2.set_ylabel("ideality factor")
        legend(a2, fontsize=8)


def _fig2e(cv_rows, cv_sums, path):
    """C-V pristine and aged with their onsets (left); the in-phase carrier response of the layers that carry
    the rise (right: which charge the capacitance is, femqled.instruments.cv.charge_response)."""
    with figure(path, 2, (11, 4.2)) as (fig, (ax, a2)):
        for label, rows in cv_rows.items():
            c, paper = {"pristine": ("r", 1.4), "aged": ("b", 1.9)}[label]
            V = _series(rows, "V")
            ax.plot(V, _series(rows, "C_nF_cm2"), c + ".-", label=label)
            onset = cv_sums[label]["onset_V"]
            if onset == onset:
                ax.axvline(onset, ls="--", c=c, label=f"{label} onset {onset:.2f} V")
            ax.axvline(paper, ls=":", c=c, label=f"paper {label} {paper} V")
            shares = cv_sums[label].get("rise_carriers", {})
            for part, ls in zip(sorted(shares, key=shares.get, reverse=True)[:3], ("-", "--", ":")):
                a2.plot(V, _series(rows, cv.column(part)), c, ls=ls,
                        label=f"{label}: {cv.part_words(part)} ({100 * shares[part]:.0f} % of the rise)")
        ax.set_xlabel("V (V)")
        ax.set_ylabel("C (nF cm$^{-2}$)")
        ax.set_title("C-V at 1 kHz")
        legend(ax, fontsize=7)
        a2.set_xlabel("V (V)")
        a2.set_ylabel("in-phase carrier charge per volt (nF cm$^{-2}$)")
        a2.set_title("which charge rises (paper: electrons in the QDs)")
        legend(a2, fontsize=7)


def write_all(outdir, results: dict, emission=None, comm=None) -> list[str]:
    """Every figure whose data ``results`` holds (keys as in :func:`femqled.paper.run`); returns the paths."""
    if comm is not None and comm.rank != 0:
        return []
    out = Path(outdir)
    paths = []

    def done(name):
        paths.append(str(out / name))
        return out / name

    def ran(J):                                  # a lifetime test with operating points
        return bool(results.get(f"age_{J:g}", {}).get("rows"))

    if ran(10):
        s = results["age_10"]["summary"]
        _luminance(results["age_10"]["rows"], done("fig1b_luminance_10mA.png"), 10.0, "paper: +90 %", 0.9, 1000.0,
                   shade=s["elevation_duration_h"])
    _fig1c({k: v for k, v in results.items() if k.startswith("age_") and v.get("rows")},
           done("fig1c_elevation_durations.png"))
    if ran(50):
        _luminance(results["age_50"]["rows"], done("fig1d_luminance_50mA.png"), 50.0, "", None, 20.0,
                   shade=results["age_50"]["summary"]["elevation_duration_h"])
    if ran(100):
        _fig2b(results["age_100"]["rows"], done("fig2b_EL_PL_100mA.png"))
        if emission is not None and "photons_X" in results["age_100"]["rows"][0]:
            _fig2c(results["age_100"]["rows"], emission, done("fig2c_EL_spectra_100mA.png"))

    measured = {what: [k for k in ("pristine", "aged") if results.get(k, {}).get(what) is not None]
                for what in ("jv", "cv", "skpm", "sims")}          # the states in which each was measured
    if measured["jv"]:
        _fig2d({k: results[k]["jv_rows"] for k in measured["jv"]}, {k: results[k]["jv"] for k in measured["jv"]},
               done("fig2d_jv.png"))
    if measured["cv"]:
        _fig2e({k: results[k]["cv_rows"] for k in measured["cv"]}, {k: results[k]["cv"] for k in measured["cv"]},
               done("fig2e_cv.png"))
    if measured["skpm"]:
        first, *other = measured["skpm"]
        skpm.plot(results[first]["skpm"], 3.0, done("fig3jk_skpm.png"),
                  other=results[other[0]]["skpm"] if other else None, labels=(first, *other, "")[:2])
    if measured["sims"]:
        sims.plot([(results[k]["sims"], k) for k in measured["sims"]], done("fig5c_sims.png"))
    if (out / "rebuild" / "rebuild.png").is_file():
        shutil.copyfile(out / "rebuild" / "rebuild.png", done("fig4_peel_off.png"))
    return paths
