"""femqled hypotheses --fit (femqled/hypothesis_fit.py): the magnitudes of a hypothesis closest to the paper's
readings. The objective is computed from the scorecard rows it records (not typed), the best is the smallest, the
best table is a valid [[hypothesis]] that gives the same row again, and the search is the same on every rank."""

import csv
import json
import math
from pathlib import Path

import pytest
from mpi4py import MPI
from test_cli import ROOT, femqled

from femqled import acceptance, hypothesis_fit as hf
from femqled.errors import InputError

OWN = f'''base = "{ROOT / 'cases' / 'default.toml'}"
[[hypothesis]]
name = "charge+barrier"
about = "fixed anions next to the dots and a barrier rise"
charge_cm2 = -1e13
charge_near = "QD"
barrier_rise_eV = 0.2
'''


def test_free_keys_map_the_unit_interval_onto_their_bounds():
    assert hf.to_value(0.0, 0.1, 0.4, False) == 0.1 and hf.to_value(1.0, 0.1, 0.4, False) == pytest.approx(0.4)
    assert hf.to_value(0.5, 1e11, 1e13, True) == pytest.approx(1e12)
    assert hf.to_value(0.5, -1e13, -1e11, True) == pytest.approx(-1e12)
    assert hf.to_value(1.5, 0.0, 1.0, False) == 1.0                      # clipped to the bounds
    assert hf.parse_free(["barrier_rise_eV=0:0.4", "ions_cm2=1e11:1e13:log"]) == {
        "barrier_rise_eV": (0.0, 0.4, False), "ions_cm2": (1e11, 1e13, True)}


@pytest.mark.parametrize("specs, says", [
    ([], "--free: --fit needs at least one free key"),
    (["colour=0:1"], "--free: 'colour' cannot be fitted"),
    (["barrier_rise_eV=0.4:0.1"], "--free: barrier_rise_eV: the lower bound must be below"),
    (["barrier_rise_eV=0:x"], "--free: the bounds of barrier_rise_eV must be numbers"),
    (["barrier_rise_eV=0:1:lin"], "--free: expected KEY=LO:HI"),
    (["charge_cm2=-1e12:1e12:log"], "--free: charge_cm2: a log scale needs bounds of one sign"),
    (["ions_cm2=-1:1e12"], "--free ions_cm2: must be >= 0"),
    (["coverage=0.5:1.5"], "--free coverage: must be > 0 and <= 1"),
    (["barrier_rise_eV=0:1", "barrier_rise_eV=0:2"], "--free: barrier_rise_eV is given twice"),
])
def test_bad_free_keys_are_one_message(specs, says):
    with pytest.raises(InputError) as e:
        hf.parse_free(specs)
    assert str(e.value).startswith(says), str(e.value)


def test_best_table_is_a_hypothesis_table_a_case_can_hold(tmp_path):
    """best.toml writes each key as TOML (a switch as true / false, text quoted), and the case that holds it
    validates to the values fitted."""
    import tomllib

    from femqled.case import load_case

    raw = tomllib.loads(OWN + "ions_cm2 = 1e12\nions_reversible = true\n")
    text = hf.best_table(raw, "charge+barrier", {"F": 1.0, "rows_passed": 2, "barrier_rise_eV": 0.3})
    (tmp_path / "best.toml").write_text(OWN.split("[[hypothesis]]")[0] + text)
    h = load_case(tmp_path / "best.toml")["hypothesis"][0]
    assert h["ions_reversible"] is True and h["barrier_rise_eV"] == 0.3 and h["charge_near"] == "QD"
    assert h["ions_cm2"] == 1e12


def test_a_row_that_does_not_rise_is_farther_than_any_that_does():
    risen = {"luminance_rise": 0.9, "ideality_pristine": 1.0, "ideality_aged": math.nan, "cv_pristine_V": math.nan,
             "cv_aged_V": math.nan, "skpm_near": math.nan, "skpm_elsewhere": math.nan,
             "peeloff_ZnO_Ag": math.nan, "peeloff_Ag_recovery": math.nan}        # every reading unread
    barely = {**risen, "luminance_rise": 0.74, "ideality_aged": 1.2, "cv_pristine_V": 1.4, "cv_aged_V": 1.9,
              "skpm_near": 3.0, "skpm_elsewhere": 0.0, "peeloff_ZnO_Ag": 0.0, "peeloff_Ag_recovery": 1.0}
    F_risen, F_barely = hf.objective(risen)[0], hf.objective(barely)[0]
    assert F_risen == pytest.approx(hf.UNREAD_ALL) and F_barely > F_risen
    assert hf.objective({"failed": "x"})[0] > hf.objective({**barely, "luminance_rise": 0.0})[0]


def test_fit_command_records_computed_misses_and_its_best(tmp_path):
    """Three evaluations on the quasi-1D default (a grid of 3 along the barrier rise, the charge fixed): every
    F is recomputed from the readings fit.csv records, the best is the smallest, best.toml is a [[hypothesis]]
    table a case can hold, and its scorecard row is the best evaluation's."""
    case = tmp_path / "own.toml"
    case.write_text(OWN)
    r = femqled("hypotheses", str(case), "--fit", "charge+barrier", "--free", "barrier_rise_eV=0:0.4",
                "--evaluations", "3", "--out", str(tmp_path / "f"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "f" / "hypotheses-fit"
    with open(out / "fit.csv") as f:
        rows = list(csv.DictReader(f))
    assert [float(r_["barrier_rise_eV"]) for r_ in rows] == pytest.approx([0.0, 0.2, 0.4])
    for r_ in rows:
        reading = {k: float(r_[k]) for k in ("luminance_rise", "ideality_pristine", "ideality_aged",
                                             "cv_pristine_V", "cv_aged_V", "skpm_near", "skpm_elsewhere",
                                             "peeloff_ZnO_Ag", "peeloff_Ag_recovery")}
        assert float(r_["F"]) == pytest.approx(hf.objective(reading)[0], rel=1e-9)
        for part, v in acceptance.misses(reading).items():
            assert float(r_[f"miss_{part}"]) == pytest.approx(v, rel=1e-9, abs=1e-12)
    record = json.loads((out / "fit.json").read_text())
    assert record["best"]["F"] == min(float(r_["F"]) for r_ in rows)
    assert record["settings"]["free"] == ["barrier_rise_eV=0:0.4"] and record["settings"]["git_revision"]
    # the best table in a case: the same row
    best = (out / "best.toml").read_text()
    (tmp_path / "best.toml").write_text(f'base = "{ROOT / "cases" / "default.toml"}"\n' + best)
    r = femqled("hypotheses", str(tmp_path / "best.toml"), "--only", "charge+barrier", "--out",
                str(tmp_path / "b"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    again = json.loads((tmp_path / "b" / "hypotheses" / "hypotheses.json").read_text())["hypotheses"][0]
    assert hf.objective(again)[0] == pytest.approx(record["best"]["F"], rel=1e-6)
    kept = json.loads((out / "best" / "hypotheses.json").read_text())["hypotheses"][0]
    assert kept["V"] == pytest.approx(again["V"], rel=1e-6)


@pytest.mark.parametrize("args, field", [
    (("--fit", "barrier", "--free", "barrier_rise_eV=0:1"), "--fit"),            # a built-in one: no table
    (("--fit", "charge+barrier"), "--free"),
    (("--free", "barrier_rise_eV=0:1"), "--free"),                               # --free without --fit
    (("--fit", "charge+barrier", "--free", "ions_cm2=-1:1"), "--free ions_cm2"),
    (("--fit", "charge+barrier", "--free", "barrier_rise_eV=0:1", "--only", "barrier"), "--only"),
])
def test_bad_fit_options_are_one_line(tmp_path, args, field):
    case = tmp_path / "own.toml"
    case.write_text(OWN)
    r = femqled("hypotheses", str(case), *args, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"femqled: error: {field}:"), r.stderr


@pytest.mark.mpi
def test_the_search_is_the_same_on_every_rank():
    """Two evaluations (a grid of 2 along the barrier rise): each rank records the same values and F, and F does
    not depend on the number of ranks beyond the steady states' resolution (the serial run, one rank)."""
    from femqled.case import raw_case

    comm = MPI.COMM_WORLD
    path = Path(f"/tmp/femqled-fit-{MPI.Get_processor_name()}-{comm.size}.toml")
    if comm.rank == 0:
        path.write_text(OWN)
    comm.barrier()
    raw = raw_case(path)
    free = {"barrier_rise_eV": (0.1, 0.3, False)}
    rec = hf.fit(raw, "charge+barrier", free, comm, evaluations=2, grid=2)
    got = [(e["barrier_rise_eV"], e["F"], e["V"]) for e in rec["evaluations"]]
    assert len(got) == 2 and all(g == got for g in comm.allgather(got))
    solo = hf.fit(raw, "charge+barrier", free, MPI.COMM_SELF, evaluations=2, grid=2) if comm.rank == 0 else None
    if comm.rank == 0:
        for e, s in zip(rec["evaluations"], solo["evaluations"]):
            assert e["F"] == pytest.approx(s["F"], rel=1e-3) and e["V"] == pytest.approx(s["V"], rel=1e-4)
    comm.barrier()
