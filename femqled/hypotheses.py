"""Which mechanism of the elevation reads the way the paper's instruments did: a scorecard of the hypotheses
(``femqled hypotheses CASE``; ``scripts/hypotheses.py`` on the default case).

Each hypothesis is one knob on the case in quasi-1D (or on its 2D cross-section: ``two_d``, ``femqled hypotheses
--2d``; :mod:`femqled.elevation`), turned up under constant-current
operation until the luminance at J is (1 + rise) x its pristine value. The device is then read before and at
that point as He et al. 2023 read it, and judged with issue 7's tolerances (:mod:`femqled.acceptance`) on the
four readings the study predicts rather than fits:

- minimum ideality, aged / pristine (Fig. 2d: x1.20 +- 0.08);
- C-V onset at 1 kHz (Fig. 2e: 1.4 -> 1.9 V, each +- 0.2 V);
- SKPM at 3 V (Fig. 3j-k: the field within 5 nm of ZnO/Ag x2 or more; elsewhere a change of 20 % at most);
- peel-off (Fig. 4b, 4g: the EQE with the ZnO and the Ag rebuilt within 5 % of pristine, the Ag alone
  recovering >= 70 % of the change), each rebuild putting back the parts of the hypothesis that sit in what it
  replaces (:func:`femqled.elevation.removed_by`: the barrier and the tunnel layer with either, what sits in the
  ETL with the ZnO, ions in the QD film with neither): where the change is, as the paper located it;

and on two readings the paper gives in words: the driving voltage rises during the elevation (Supplementary
Fig. 4a) and the C-V rise is electrons accumulating in the QD film (its ref. 37): "e-" when, pristine and aged,
electrons in the QD layer are the largest part of the in-phase charge growing across the steepest rise and
holes in the HTL less than a quarter of it. Each row also says where its rise comes from (:mod:`femqled.budget`):
the points from fewer trions and from less electron leakage into the TFB, the two causes the paper names.
And it gives the state of the ETL's surface at the cathode, pristine -> aged, at the operating point and at 3 V
(:func:`femqled.instruments.skpm.cathode_surface`): what any contact law sees, and so what decides whether a contact
could give the rise and still let the aged device carry the pristine current at 3 V (docs/model.md, "No contact
law does it").

Hypotheses (ETL: the layer under the cathode; QD film: the case's QD layer, :func:`femqled.elevation.roles`):
    barrier          the cathode barrier rises (the default case's ageing)
    tunnel-layer     a Bardeen tunnel layer at the cathode grows from 0.5 nm, the barrier as pristine
    charge-dots      a fixed negative charge in the 2 nm of the ETL next to the dots
    charge-Ag        the same charge next to the Ag
    anions-ETL       mobile anions released into the ETL, no barrier rise (cases/anions.toml)
    anions-ETL+barrier  anions (6e12 cm^-2 at theta = 1) and the parameter file's barrier rise together
    anions-QD        mobile anions in the QD film, no barrier rise
    anions-QD+barrier   anions in the QD film (3e12 cm^-2 at theta = 1) and a barrier rise (0.25 eV at theta = 1)

and those of the case (``[[hypothesis]]`` tables, :func:`catalogue`): any combination of a barrier rise, ions
released into a layer (``ions_reversible``: bound to the contact's state both ways, so that each peel-off that
restores the contact takes them back), a fixed charge at either end of the ETL and a growing tunnel layer, each
proportional to one degradation variable theta in [0, 1] (:func:`femqled.elevation.degradation`), so that
``femqled sweep --run hypotheses CASE --vary hypothesis.NAME.ions_cm2=...`` maps one. On the 2D cross-section the
contact's part may be patchy (``coverage`` < 1: the barrier rise and the tunnel layer over that fraction of the
interface, openings left pristine; :func:`femqled.elevation.covered`), e.g. an acetate layer that leaves a few
conducting spots.

Which magnitudes of a case's hypothesis come closest to the paper's readings is a search over such rows
(``femqled hypotheses CASE --fit NAME --free KEY=LO:HI``, :mod:`femqled.hypothesis_fit`).

:func:`score` runs them (a hypothesis that cannot reach the rise is a row saying where it stopped), :func:`write`
writes hypotheses.json (every number, the settings, versions, git revision), hypotheses.csv, hypotheses.png
(the readings against the paper's windows) and, per hypothesis, the C-V, J-V and SKPM curves the readings come
from (curves/<name>.*.csv and .png, pristine beside aged). Runs on any number of ranks; ~70 s for the eight on
the default case.
"""

from __future__ import annotations

import copy
from pathlib import Path

from femqled import acceptance, budget, io, materials
from femqled.errors import InputError, SolverError

BARRIER_RISE = materials.ageing_parameter("barrier_rise_eV")

# name: (what it is, the keyword arguments of elevation.knob, the role of the layer of the mobile ions or "")
HYPOTHESES = {
    "barrier": ("the cathode barrier rises (the default ageing)", {}, ""),
    "tunnel-layer": ("a tunnel layer at the cathode grows from 0.5 nm, barrier as pristine",
                     {"interfacial": 0.5}, ""),
    "charge-dots": ("fixed negative charge in the ETL next to the dots", {"near": "QD"}, ""),
    "charge-Ag": ("fixed negative charge in the ETL next to the Ag", {"near": "Ag"}, ""),
    "anions-ETL": ("mobile anions released into the ETL, no barrier rise", {"ions": 1.2e13}, "ETL"),
    "anions-ETL+barrier": ("anions in the ETL and the barrier rise together",
                           {"ions": 6e12, "barrier_rise": BARRIER_RISE}, "ETL"),
    "anions-QD": ("mobile anions in the QD film, no barrier rise", {"ions": 1.2e13}, "EML"),
    "anions-QD+barrier": ("anions in the QD film (3e12 cm^-2 at theta = 1) and a barrier rise of 0.25 eV at theta = 1",
                          {"ions": 3e12, "barrier_rise": 0.25}, "EML"),
}


def electrons_in_dots_lead(shares: dict, eml: str = "EML", htl: str = "HTL") -> bool:
    """The paper's reading of a C-V rise: electrons accumulate in the QD film with the holes held back, i.e.
    electrons in the QD layer ``eml`` are the largest part of the growth and holes in the ``htl`` less than a
    quarter of it (a TFB/QD junction charging as a dipole splits it ~50/50 between the two, whichever comes
    first)."""
    return bool(shares) and max(shares, key=shares.get) == f"n_{eml}" and shares.get(f"p_{htl}", 0.0) < 0.25


def judge(name: str, p: dict, e: dict, emission=None, role: dict | None = None) -> dict:
    """One scorecard row from the pristine and elevated readings of :func:`femqled.elevation.cost`; with the
    device's ``emission``, where the rise comes from (:mod:`femqled.budget`: the points of the rise from fewer
    trions and from less leakage into the TFB); ``role``: :func:`femqled.elevation.roles` of the case."""
    role = role or {"EML": "EML", "HTL": "HTL"}

    def lead(shares):
        return electrons_in_dots_lead(shares, role["EML"], role["HTL"])

    near, change = e["skpm"]
    row = {
        "hypothesis": name, "knob": e["knob"], "luminance_rise": e["L"] / p["L"] - 1,
        "V0": p["V"], "V": e["V"], "J3_pristine": p["J3"], "J3_aged": e["J3"],
        "skpm_near": near, "skpm_elsewhere": change, "skpm_pass": acceptance.skpm_passes(near, change),
        "cv_pristine_V": p["onset"], "cv_aged_V": e["onset"], "cv_pass": acceptance.cv_passes(p["onset"], e["onset"]),
        "cv_rise_pristine": p["rise"], "cv_rise_aged": e["rise"],
        "cv_electrons_in_dots": lead(p["rise_shares"]) and lead(e["rise_shares"]),
        "ideality_pristine": p["eta"], "ideality_aged": e["eta"],
        "ideality_pass": acceptance.ideality_passes(p["eta"], e["eta"]),
        "voltage_rises": e["V"] > p["V"],
    }
    for at in ("op", "3V"):              # what a contact law sees, pristine and aged (skpm.cathode_surface)
        for key, unit in (("E", "MV_cm"), ("n", "cm3")):
            row[f"surface_{key}_{at}_pristine"] = p[f"surface_{at}"][f"{key}_{unit}"]
            row[f"surface_{key}_{at}"] = e[f"surface_{at}"][f"{key}_{unit}"]
    L_zr, L_ag = (e.get("peeloff", {}).get(site, float("nan")) for site in ("ZnO/Ag", "Ag"))
    change = p["L"] - e["L"]
    row.update(peeloff_ZnO_Ag=L_zr / p["L"] - 1, peeloff_Ag_recovery=(L_ag - e["L"]) / change if change
               else float("nan"))
    row["peeloff_pass"] = acceptance.peeloff_passes(row["peeloff_ZnO_Ag"], row["peeloff_Ag_recovery"])
    row["rows_passed"] = sum(row[k] for k in ("skpm_pass", "cv_pass", "ideality_pass", "peeloff_pass"))
    row["curves"] = curves(p, e)
    if emission is not None:
        parts = budget.between(emission, p["record"], e["record"])["parts"]
        row.update(rise_from_trions=parts["trions"], rise_from_leakage=parts["leakage into the HTL"])
    return row


def curves(p: dict, e: dict) -> dict:
    """What the row's readings were taken from, pristine and aged, as lists: the C-V curve (V, nF cm^-2), the J-V
    curve (V, mA cm^-2) and the SKPM field at 3 V (nm from the anode, MV cm^-1; the aged profile on the
    pristine's points), with the place of ZnO/Ag."""
    import numpy as np

    y = p["profile"]["y_nm"]
    aged_E = np.interp(y, e["profile"]["y_nm"], e["profile"]["E_MV_cm"])
    return {"cv": {"V": p["cv_curve"][0].tolist(), "pristine": p["cv_curve"][1].tolist(),
                   "aged": e["cv_curve"][1].tolist()},
            "jv": {"V": p["jv_curve"][0].tolist(), "pristine": p["jv_curve"][1].tolist(),
                   "aged": e["jv_curve"][1].tolist()},
            "skpm": {"y_nm": y.tolist(), "pristine": p["profile"]["E_MV_cm"].tolist(), "aged": aged_E.tolist(),
                     "y_ZnO_Ag_nm": e.get("y_ZnO_Ag_nm", float("nan"))}}


def plot_curves(row: dict, path) -> None:
    """<name>.png: one hypothesis's C-V, J-V and SKPM field, pristine (dashed) and aged (solid), with the onsets
    and the place of ZnO/Ag."""
    from femqled.instruments.figure import figure

    c = row["curves"]
    with figure(path, 3, (15, 4.2)) as (fig, (a1, a2, a3)):
        for ax, key, ylab in ((a1, "cv", "C at 1 kHz (nF cm$^{-2}$)"), (a2, "jv", "J (mA cm$^{-2}$)")):
            ax.plot(c[key]["V"], c[key]["pristine"], "r--", label="pristine")
            ax.plot(c[key]["V"], c[key]["aged"], "b-", label=f"{100 * row['luminance_rise']:+.0f} %")
            ax.set(xlabel="V (V)", ylabel=ylab)
        for onset, color in ((row["cv_pristine_V"], "r"), (row["cv_aged_V"], "b")):
            a1.axvline(onset, color=color, ls=":", lw=1)
        a1.set_title(f"C-V onset {row['cv_pristine_V']:.2f} -> {row['cv_aged_V']:.2f} V (paper 1.4 -> 1.9 V)")
        a2.set_yscale("log")
        a2.set_title(f"J-V: min ideality {row['ideality_pristine']:.2f} -> {row['ideality_aged']:.2f}")
        a3.plot(c["skpm"]["y_nm"], c["skpm"]["pristine"], "r--", label="pristine")
        a3.plot(c["skpm"]["y_nm"], c["skpm"]["aged"], "b-", label="aged")
        a3.axvline(c["skpm"]["y_ZnO_Ag_nm"], color="k", lw=0.8, ls=":")
        a3.set(xlabel="y from the anode (nm)", ylabel="E (MV cm$^{-1}$)",
               title=f"SKPM at 3 V: ZnO/Ag x{row['skpm_near']:.2f}, elsewhere {100 * row['skpm_elsewhere']:.0f} %")
        a1.legend(fontsize=8)
        fig.suptitle(f"{row['hypothesis']}: {row.get('description', '')}", fontsize=10)


def file_stem(name: str) -> str:
    """A hypothesis's name as a file name (characters other than letters, digits, ``.``, ``_``, ``+``, ``-``
    replaced by ``_``)."""
    import re

    return re.sub(r"[^A-Za-z0-9._+-]", "_", name)


def plot(rows: list[dict], path) -> None:
    """hypotheses.png: each hypothesis's four readings against the paper's windows (shaded): the C-V onsets,
    the SKPM numbers, the peel-off, the ideality ratio; and a fifth panel, the ETL's surface at the cathode (what a
    contact law sees, :func:`femqled.instruments.skpm.cathode_surface`): aged at the operating point and at 3 V, with
    the pristine state at 3 V, and from each aged operating point the quadrant (more electrons, less field) where
    a contact law that injects more with more field and less with more electrons at the surface passes no more
    than the operating current (docs/model.md, "No contact law does it")."""
    import math

    from matplotlib.patches import Rectangle

    from femqled.instruments.figure import figure

    read = [r for r in rows if "failed" not in r]
    color = {r["hypothesis"]: f"C{i}" for i, r in enumerate(read)}

    def point(ax, r, x, y, note=""):
        ax.plot(x, y, "o", color=color[r["hypothesis"]])
        ax.annotate(r["hypothesis"] + note, (x, y), fontsize=7, color=color[r["hypothesis"]],
                    xytext=(5, (3, -10, -21)[read.index(r) % 3]), textcoords="offset points")

    with figure(path, 5, (25, 4.6)) as (fig, (a1, a2, a4, a3, a5)):
        (p0, p1), tol = acceptance.CV_ONSET_V, acceptance.CV_ONSET_TOL_V
        a1.add_patch(Rectangle((p0 - tol, p1 - tol), 2 * tol, 2 * tol, color="g", alpha=0.15, label="paper"))
        for r in read:
            rise = math.isfinite(r["cv_aged_V"])
            point(a1, r, r["cv_pristine_V"], r["cv_aged_V"] if rise else 0.0, "" if rise else " (no rise)")
        a1.plot([0, 2.5], [0, 2.5], "k:", lw=0.8)
        a1.set(xlim=(1.0, 2.2), ylim=(-0.3, 2.3), xlabel="C-V onset pristine (V)", ylabel="C-V onset aged (V)",
               title="C-V onset at 1 kHz")
        a1.legend(fontsize=7, loc="upper right")
        a2.axvspan(acceptance.SKPM_NEAR_MIN, 100, ymax=100 * acceptance.SKPM_ELSEWHERE_MAX / 400, color="g",
                   alpha=0.15)
        for r in read:
            point(a2, r, r["skpm_near"], 100 * r["skpm_elsewhere"])
        a2.set(xscale="log", xlim=(0.5, 100), ylim=(0, 400), xlabel="field within 5 nm of ZnO/Ag, aged / pristine",
               ylabel="largest change of the field elsewhere (%)", title="SKPM at 3 V (paper: shaded)")
        tol = 100 * acceptance.PEELOFF_TOL
        a4.add_patch(Rectangle((-tol, 100 * acceptance.PEELOFF_AG_MIN), 2 * tol, 200, color="g", alpha=0.15))
        for r in read:
            point(a4, r, 100 * r["peeloff_ZnO_Ag"], 100 * r["peeloff_Ag_recovery"])
        a4.set(xlim=(-60, 100), ylim=(-20, 120), xlabel="EQE with ZnO/Ag rebuilt vs pristine (%)",
               ylabel="change recovered by rebuilding the Ag alone (%)", title="peel-off at J (paper: shaded)")
        lo = acceptance.IDEALITY_RATIO - acceptance.IDEALITY_RATIO_TOL
        a3.axvspan(lo, lo + 2 * acceptance.IDEALITY_RATIO_TOL, color="g", alpha=0.15, label="paper")
        for i, r in enumerate(read):
            x = r["ideality_aged"] / r["ideality_pristine"]
            if math.isfinite(x):
                a3.barh(i, x, color=color[r["hypothesis"]])
            else:
                a3.text(0.02, i, "no exponential regime (aged)", va="center", fontsize=7)
        a3.set_yticks(range(len(read)), [f"{r['hypothesis']} ({r['V0']:.2f} -> {r['V']:.2f} V)" for r in read],
                      fontsize=7)
        a3.axvline(1.0, color="k", lw=0.8, ls=":")
        a3.set(xlabel="minimum ideality, aged / pristine", title="ideality (V at the rise in brackets)")
        a3.legend(fontsize=7)
        for r in read:
            c = color[r["hypothesis"]]
            n_op, E_op = r["surface_n_op"], r["surface_E_op"]
            a5.plot([n_op, 1e30], [E_op, E_op], ":", color=c, lw=0.8)       # the quadrant right of and below
            a5.plot([n_op, n_op], [E_op, -1e3], ":", color=c, lw=0.8)       # the aged operating point
            point(a5, r, n_op, E_op)
            a5.plot(r["surface_n_3V"], r["surface_E_3V"], "s", mfc="none", color=c)
        if read:
            a5.plot(read[0]["surface_n_3V_pristine"], read[0]["surface_E_3V_pristine"], "k*", ms=10,
                    label="pristine at 3 V")
        a5.plot([], [], "ko", label="aged at J")
        a5.plot([], [], "ks", mfc="none", label="aged at 3 V")
        n_all = [r[k] for r in read for k in ("surface_n_op", "surface_n_3V", "surface_n_3V_pristine")]
        E_all = [r[k] for r in read for k in ("surface_E_op", "surface_E_3V", "surface_E_3V_pristine")]
        if n_all:
            a5.set(xlim=(0.3 * min(n_all), 3 * max(n_all)),
                   ylim=(min(E_all) - 0.1 * (1 + abs(min(E_all))), max(E_all) + 0.1 * (1 + abs(max(E_all)))))
        a5.set(xscale="log", xlabel="electrons at the ETL's surface at the cathode (cm$^{-3}$)",
               ylabel="field there, driving electrons in (MV cm$^{-1}$)",
               title="what a contact law sees (dotted: it passes at most J)")
        a5.legend(fontsize=7, loc="lower left")


def catalogue(case: dict) -> dict:
    """The built-in :data:`HYPOTHESES` and the validated ``case``'s ``[[hypothesis]]`` tables, in that order, as
    name: (what it is, the keyword arguments of :func:`femqled.elevation.knob`, the role or name of the layer of
    the mobile ions or ""); a case's hypothesis named like a built-in one is an InputError."""
    out = dict(HYPOTHESES)
    for i, h in enumerate(case["hypothesis"]):
        if h["name"] in HYPOTHESES:
            raise InputError(f"hypothesis[{i}].name", f"{h['name']!r} is built in; allowed: any other name "
                                                      f"(built in: {', '.join(HYPOTHESES)})")
        out[h["name"]] = (h["about"] or "a hypothesis of the case", {"own": h}, h["ions_layer"] if h["ions_cm2"]
                          else "")
    return out


def mark(ok: bool) -> str:
    return "PASS" if ok else "fail"


def names_of(only: str, known=HYPOTHESES) -> list[str]:
    """The hypotheses of a comma-separated ``only`` (all ``known`` for ""); InputError naming an unknown one."""
    names = [n.strip() for n in only.split(",") if n.strip()] or list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError("--only", f"no hypothesis {', '.join(map(repr, unknown))}; known: {', '.join(known)}")
    return names


def width_of(names) -> int:
    """The width of the table's first column for the hypotheses ``names``."""
    return max([19, *map(len, names)])


def header(rise: float, J: float, what: str, width: int = 19) -> list[str]:
    """The table's first lines (``what``: the device judged; ``width``: :func:`width_of` the names)."""
    return [f"hypotheses for a {100 * rise:+.0f} % luminance rise at {J:g} mA/cm2 ({what}); "
            f"paper: ideality x{acceptance.IDEALITY_RATIO:.2f}, C-V {acceptance.CV_ONSET_V[0]:g} -> "
            f"{acceptance.CV_ONSET_V[1]:g} V, SKPM near >= x{acceptance.SKPM_NEAR_MIN:g} and elsewhere "
            f"<= {100 * acceptance.SKPM_ELSEWHERE_MAX:.0f} %, peel-off ZnO/Ag within "
            f"{100 * acceptance.PEELOFF_TOL:.0f} % and Ag >= {100 * acceptance.PEELOFF_AG_MIN:.0f} %, the voltage "
            "rises, the C-V rise is e- in the dots",
            f"{'hypothesis':>{width}} | {'V0':>5} -> {'V':>5} | SKPM: near, elsewhere | C-V onset (V)      | "
            f"ideality ratio | peel-off: ZnO/Ag; Ag | rows | V up | C-V e-"]


def lines(r: dict, width: int = 19) -> list[str]:
    """A row of the table (two lines; one if the hypothesis could not be read)."""
    name = r["hypothesis"]
    if "failed" in r:
        return [f"{name:>{width}} | no readings at the rise: {r['failed']}"]
    return [f"{name:>{width}} | {r['V0']:5.2f} -> {r['V']:5.2f} | x{r['skpm_near']:5.2f}, "
            f"{100 * r['skpm_elsewhere']:4.0f} % {mark(r['skpm_pass'])} | {r['cv_pristine_V']:.2f} -> "
            f"{r['cv_aged_V']:4.2f} {mark(r['cv_pass'])}  | x{r['ideality_aged'] / r['ideality_pristine']:4.2f} "
            f"{mark(r['ideality_pass'])}     | {budget.signed(100 * r['peeloff_ZnO_Ag'], 0):>4} %; "
            f"{budget.signed(100 * r['peeloff_Ag_recovery'], 0).lstrip('+'):>4} % "
            f"{mark(r['peeloff_pass'])} | {r['rows_passed']}/4  | {'yes' if r['voltage_rises'] else 'no':>4} "
            f"| {'yes' if r['cv_electrons_in_dots'] else 'no'}",
            f"{'':>{width}}   luminance {100 * r['luminance_rise']:+.0f} %; C-V rise: {r['cv_rise_pristine']} -> "
            f"{r['cv_rise_aged']}; the rise from fewer trions "
            f"{100 * r['rise_from_trions']:+.1f}, from less leakage into the TFB {100 * r['rise_from_leakage']:+.1f} "
            "points",
            f"{'':>{width}}   the ETL's surface at the cathode (what a contact law sees): at J "
            f"{surface(r, 'op')}; at 3 V {surface(r, '3V')}"]


def surface(r: dict, at: str) -> str:
    """"E a -> b MV/cm, n c -> d cm-3": the cathode's surface state of a row, pristine -> aged, at ``at`` ("op":
    the operating point; "3V")."""
    return (f"E {r[f'surface_E_{at}_pristine']:+.3f} -> {r[f'surface_E_{at}']:+.3f} MV/cm, "
            f"n {r[f'surface_n_{at}_pristine']:.2e} -> {r[f'surface_n_{at}']:.2e} cm-3")


def check_geometry(case: dict, names: list[str], two_d: bool) -> None:
    """InputError if one of the hypotheses ``names`` of the validated ``case`` is patchy (coverage < 1) and the
    scorecard is to run on the flat stack (a column of cells has no lateral pattern)."""
    if two_d:
        return
    for i, h in enumerate(case["hypothesis"]):
        if h["name"] in names and h["coverage"] < 1:
            raise InputError(f"hypothesis[{i}].coverage", f"{h['name']!r} is patchy ({h['coverage']:g}), which the "
                                                          "flat stack cannot show; run the scorecard on the 2D "
                                                          "cross-section (femqled hypotheses CASE --2d), or set 1")


def score(raw: dict, comm, names: list[str], rise: float = 0.9, J: float = 10.0, V_max: float = 30.0,
          say=None, two_d: bool = False) -> list[dict]:
    """The scorecard rows of the hypotheses ``names`` on the case data ``raw`` (as read, before validation;
    quasi-1D, or the case's 2D cross-section with ``two_d``: :func:`femqled.elevation.device`); ``say(line)`` gets
    each row's lines as it is read."""
    from femqled import elevation            # (DOLFINx: imported when a scorecard runs, not with the CLI)
    from femqled.case import validate

    case = validate(copy.deepcopy(raw))
    check_geometry(case, names, two_d)
    role, known = elevation.roles(case), catalogue(case)
    say = say or (lambda line: None)
    rows = []
    for name in names:
        what, kw, layer = known[name]
        own = kw.get("own")
        tunnel = own["tunnel_from_nm"] if own and own["tunnel_to_nm"] else kw.get("interfacial", 0.0)
        dev = elevation.device(raw, comm, ions=role.get(layer, layer), interfacial_nm=tunnel, two_d=two_d)
        try:
            p, e = elevation.cost(dev, J, rise, V_max, **elevation.knob(dev, etl=role["ETL"], **kw))
        except SolverError as err:                          # one line, and on to the next hypothesis
            row = {"hypothesis": name, "description": what, "failed": str(err)}
        else:
            row = {"hypothesis": name, "description": what, **judge(name, p, e, dev.emission, role)}
        rows.append(row)
        for line in lines(row, width_of(names)):
            say(line)
    return rows


def write(out, rows: list[dict], settings: dict, comm) -> None:
    """hypotheses.json ({"settings", "hypotheses"}, with the criteria, versions and git revision),
    hypotheses.csv and hypotheses.png in the directory ``out`` (created); for each hypothesis read, the curves
    its readings come from in ``curves/<name>.cv.csv``, ``.jv.csv``, ``.skpm.csv`` and ``curves/<name>.png``."""
    out = Path(out)
    if comm.rank == 0:
        (out / "curves").mkdir(parents=True, exist_ok=True)
    comm.barrier()
    meta = {**settings, "ranks": comm.size, "git_revision": io.git_revision(), "versions": io.versions(),
            "criteria": {"ideality_ratio": [acceptance.IDEALITY_RATIO, acceptance.IDEALITY_RATIO_TOL],
                         "cv_onset_V": [*acceptance.CV_ONSET_V, acceptance.CV_ONSET_TOL_V],
                         "skpm": [acceptance.SKPM_NEAR_MIN, acceptance.SKPM_ELSEWHERE_MAX],
                         "peeloff": [acceptance.PEELOFF_TOL, acceptance.PEELOFF_AG_MIN]}}
    table = [{k: v for k, v in r.items() if k != "curves"} for r in rows]
    io.write_json(out / "hypotheses.json", {"settings": meta, "hypotheses": table}, comm=comm)
    io.write_csv(out / "hypotheses.csv", table, comm=comm)       # a failed row leaves the readings empty
    for r in rows:
        if "curves" not in r:
            continue
        stem, c = out / "curves" / file_stem(r["hypothesis"]), r["curves"]
        for key, x, y in (("cv", "V", "C_nF_cm2"), ("jv", "V", "J_mA_cm2"), ("skpm", "y_nm", "E_MV_cm")):
            points = zip(c[key][x], c[key]["pristine"], c[key]["aged"])
            io.write_csv(Path(f"{stem}.{key}.csv"), [{x: a, f"{y}_pristine": b, f"{y}_aged": d} for a, b, d in points],
                         comm=comm)
        if comm.rank == 0:
            plot_curves(r, f"{stem}.png")
    if comm.rank == 0:
        plot(table, out / "hypotheses.png")

