"""Runs of ``femqled paper`` side by side: their REPORT rows, PASS / FAIL, and where the verdicts differ.

``femqled compare DIR DIR [DIR ...]`` reads each directory's ``report.json`` (and ``manifest.json``, for the
code revision and versions the run recorded) and writes ``compare.md`` (one table: a column per run), ``compare.csv``
(a line per row and run) and ``compare.json`` into ``--out`` (default ``results/compare``). Uses: the default
against the publication-quality settings (``results/paper`` against ``results/paper-fine``), the contact barrier
against another hypothesis (``femqled paper cases/anions.toml --out results/paper-anions``), a run before
against a run after a change of code or parameters. Nothing is recomputed: every cell is a report's own text.

Rows are matched by their observable without a trailing parenthesis, which names settings that may differ
between runs (the ideality's current window, the wall-time row's ranks); a row a run does not have (``--fine``
has no 60-minute row) reads "—".
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from mpi4py import MPI

from femqled import io
from femqled.budget import sentence
from femqled.errors import InputError

MISSING = "—"


def row_key(row: dict) -> str:
    """The observable a row reports, without a trailing parenthesis (settings that may differ between runs)."""
    return re.sub(r"\s*\([^()]*\)\s*$", "", row["observable"]).strip()


def load(directory: str | Path) -> dict:
    """One run: its report (``report.json``), the directory, and the revision its manifest recorded."""
    d = Path(directory)
    path = d / "report.json"
    if not path.is_file():
        raise InputError(str(directory), "not a directory written by 'femqled paper' (no report.json in it)")
    try:
        report = json.loads(path.read_text())
    except ValueError:
        report = None
    rows = report.get("rows") if isinstance(report, dict) else None
    if not rows or not all(isinstance(r, dict) and {"observable", "simulated", "pass"} <= set(r) for r in rows):
        raise InputError(str(path), "not a report of 'femqled paper' (no rows with observables)")
    last = io.last_run(d, "paper")
    return {"dir": str(d), "report": report, "git": last.get("git", "not recorded"),
            "versions": last.get("versions", {})}


def labels_for(runs: list[dict], labels: list[str] | None = None) -> list[str]:
    """``labels`` if given (one per run), else each directory's name, or its path where names repeat."""
    if labels:
        if len(labels) != len(runs):
            raise InputError("--labels", f"give one label per directory ({len(runs)}), got {len(labels)}")
        return list(labels)
    names = [Path(r["dir"]).name or r["dir"] for r in runs]
    return names if len(set(names)) == len(names) else [r["dir"] for r in runs]


def table(runs: list[dict]) -> list[dict]:
    """One entry per observable (in the order the runs first report them): the paper's value and tolerance, each
    run's simulated value and verdict (None where the run has no such row), and whether the verdicts (and the
    values as reported) agree."""
    order, by_key = [], {}
    for i, run in enumerate(runs):
        for row in run["report"]["rows"]:
            k = row_key(row)
            if k not in by_key:
                order.append(k)
                by_key[k] = {"observable": k, "paper": row["paper"], "tolerance": row["tolerance"],
                             "runs": [None] * len(runs)}
            by_key[k]["runs"][i] = {"simulated": row["simulated"], "pass": bool(row["pass"]),
                                    "wall_s": row.get("wall_s")}
    out = []
    for k in order:
        e = by_key[k]
        verdicts = {r["pass"] for r in e["runs"] if r is not None}
        e["verdicts_agree"] = len(verdicts) <= 1 and all(r is not None for r in e["runs"])
        e["values_agree"] = e["verdicts_agree"] and len({r["simulated"] for r in e["runs"]}) == 1
        out.append(e)
    return out


def _summary(run: dict) -> dict:
    rep = run["report"]
    rows = rep["rows"]
    return {"dir": run["dir"], "case": rep.get("case"), "sets": rep.get("sets", []), "preset": rep.get("preset", "default"),
            "quick": bool(rep.get("quick")), "ranks": rep.get("ranks"), "settings": rep.get("settings", ""),
            "wall_min": rep.get("wall_total_s", float("nan")) / 60, "passed": sum(bool(r["pass"]) for r in rows),
            "rows": len(rows), "git": run["git"], "resumed": rep.get("reused_lifetime_tests", []),
            "voltage_pristine_to_max_V": rep.get("voltage_pristine_to_max_V", {})}


def _agreement(e: dict) -> str:
    return "same" if e["values_agree"] else "values differ" if e["verdicts_agree"] else "verdicts differ"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def markdown(runs: list[dict], labels: list[str], rows: list[dict]) -> str:
    """The comparison as one Markdown document: who ran what, the table of rows, the predicted voltages, where
    each lifetime test's rise comes from."""
    summ = [_summary(r) for r in runs]
    lines = ["# femqled paper runs side by side", ""]
    for lab, s in zip(labels, summ):
        lines.append(f"- **{lab}**: `{s['dir']}`, case `{s['case']}`" + "".join(f" `--set {x}`" for x in s["sets"])
                     + f"{' (quick)' if s['quick'] else ''}, "
                     f"{s['preset']} settings, {s['ranks']} rank(s), code {s['git']}; {s['passed']} of {s['rows']} "
                     f"rows pass; {s['wall_min']:.1f} min"
                     + (f" (lifetime tests at {', '.join(s['resumed'])} mA cm⁻² reused from an earlier run)"
                        if s["resumed"] else ""))
    differ = [e["observable"] for e in rows if not e["verdicts_agree"]]
    moved = sum(e["verdicts_agree"] and not e["values_agree"] for e in rows)
    lines += ["", "Verdicts differ in: " + ("; ".join(differ) if differ else "no row")
              + f"; values differ, verdicts the same, in {moved} of {len(rows)} rows.", ""]
    lines.append("| observable | paper | tolerance | " + " | ".join(labels) + " | runs |")
    lines.append("|---|---|---|" + "---|" * len(labels) + "---|")
    for e in rows:
        cells = [MISSING if r is None else f"{r['simulated']} **{'PASS' if r['pass'] else 'FAIL'}**"
                 for r in e["runs"]]
        lines.append(f"| {_cell(e['observable'])} | {_cell(e['paper'])} | {_cell(e['tolerance'])} | "
                     + " | ".join(_cell(c) for c in cells) + f" | {_agreement(e)} |")
    Js = sorted({J for s in summ for J in s["voltage_pristine_to_max_V"]}, key=float)
    if Js:
        lines += ["", "Driving voltage, pristine → at the luminance maximum (V; no number in the paper's main text):",
                  "", "| J (mA cm⁻²) | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
        for J in Js:
            vals = [s["voltage_pristine_to_max_V"].get(J) for s in summ]
            lines.append(f"| {J} | " + " | ".join(MISSING if v is None else f"{v[0]:.2f} → {v[1]:.2f}"
                                                   for v in vals) + " |")
    budgets = [run["report"].get("rise_budget") or {} for run in runs]
    Js = sorted({J for b in budgets for J, v in b.items() if v}, key=float)
    if Js:
        lines += ["", "Where the rise comes from (femqled/budget.py: points of the rise each channel gave up, first "
                      "step → luminance maximum):", "", "| J (mA cm⁻²) | " + " | ".join(labels) + " |",
                  "|---|" + "---|" * len(labels)]
        for J in Js:
            lines.append(f"| {J} | " + " | ".join(MISSING if not b.get(J) else _cell(sentence(b[J]))
                                                   for b in budgets) + " |")
    return "\n".join(lines) + "\n"


def run(directories: list[str], outdir: str | Path, labels: list[str] | None = None,
        comm=MPI.COMM_WORLD) -> dict:
    """Compare the runs in ``directories``; write compare.md / .csv / .json into ``outdir`` (rank 0 reads and
    writes; every rank returns the same result)."""
    if len(directories) < 2:
        raise InputError("DIR", "give two or more directories written by 'femqled paper'")
    result, error = None, None
    if comm.rank == 0:
        try:
            runs = [load(d) for d in directories]
            labs = labels_for(runs, labels)
            rows = table(runs)
            result = {"runs": [{"label": lab, **_summary(r), "versions": r["versions"]} for lab, r in zip(labs, runs)],
                      "rows": rows, "markdown": markdown(runs, labs, rows)}
        except InputError as e:
            error = (e.field, e.problem)
    result, error = comm.bcast((result, error), root=0)
    if error:
        raise InputError(*error)
    out = Path(outdir)
    if comm.rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        (out / "compare.md").write_text(result["markdown"])
    io.write_json(out / "compare.json", {k: v for k, v in result.items() if k != "markdown"}, comm=comm)
    io.write_csv(out / "compare.csv", [
        {"observable": e["observable"], "run": run["label"], "simulated": "" if r is None else r["simulated"],
         "pass": "" if r is None else r["pass"], "paper": e["paper"], "tolerance": e["tolerance"]}
        for e in result["rows"] for run, r in zip(result["runs"], e["runs"])], comm=comm)
    return result
