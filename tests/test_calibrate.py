"""Calibration (issue 7): the least-squares fit recovers a parameter from targets the model itself produced."""

import math
from pathlib import Path

import pytest
from mpi4py import MPI

from femqled import calibrate
from femqled.errors import InputError
from helpers import small_case

SWEEP = {"V_max": 3.0, "dV": 0.1, "f_Hz": 1e3}


@pytest.mark.parametrize("tolerance", [{"sigma": 0.001}, {"sigma": None, "factor": 1.001}], ids=["sigma", "factor"])
def test_fit_recovers_a_known_mobility(tmp_path, tolerance):
    """Synthetic data: V at 10 mA/cm2 of the quasi-1D stack with TFB mu_p = 3e-3 cm2/Vs; the fit starts from
    the library value (1e-2) in log scale and must land within 2 % of 3e-3, with the target's tolerance an
    uncertainty or a factor (x1.001), which the report prints."""
    case = small_case(geometry={"quasi_1d": True})
    path = "materials.TFB.mu_p_cm2Vs"
    truth = calibrate.with_values(case, [path], [3e-3])
    target = {"observable": "V_at_10mA", **tolerance, "J_mA_cm2": 10.0, "hours": 1.0, "source": "synthetic"}
    (V_true,) = calibrate.measure(truth, [target], SWEEP, tmp_path, MPI.COMM_SELF)
    assert math.isfinite(V_true)
    spec = {"parameter": [{"path": path, "lower": 1e-4, "upper": 1e-1, "initial": None, "scale": "log"}],
            "target": [{**target, "value": V_true}], "sweep": SWEEP, "max_evaluations": 20, "diff_step": 1e-3}
    record = calibrate.fit(case, spec, tmp_path, MPI.COMM_SELF, say=lambda m: None)
    assert record["parameters"][path] == pytest.approx(3e-3, rel=0.02), record["parameters"]
    assert abs(record["rows"][0]["residual"]) < 1.0
    assert (tmp_path / "calibration.json").is_file()
    text = (tmp_path / "calibrated.toml").read_text()
    assert '[materials.TFB]' in text and "mu_p_cm2Vs" in text
    if tolerance.get("factor"):
        assert record["rows"][0]["factor"] == 1.001 and "x1.001" in calibrate.report(record)


def test_targets_file_errors_name_the_field(tmp_path):
    bad = tmp_path / "t.toml"
    bad.write_text('[[parameter]]\npath = "x"\nlower = 1.0\nupper = 0.5\n'
                   '[[target]]\nobservable = "V_at_10mA"\nvalue = 1.0\nsigma = 0.1\n')
    with pytest.raises(InputError, match=r"parameter\[0\].upper"):
        calibrate.load_targets(bad)
    bad.write_text('[[parameter]]\npath = "x"\nlower = 0.0\nupper = 1.0\n'
                   '[[target]]\nobservable = "brightness"\nvalue = 1.0\nsigma = 0.1\n')
    with pytest.raises(InputError, match=r"target\[0\].observable"):
        calibrate.load_targets(bad)
    case = small_case()
    with pytest.raises(InputError, match="parameter"):
        calibrate.with_values(case, ["contacts.no_such_key"], [1.0])


def test_a_tolerance_by_a_factor_is_symmetric_in_the_ratio(tmp_path):
    """``factor`` (a lifetime known within x1.5): the residual is +1 at value x factor and -1 at value / factor
    (a relative sigma would read +1.67 / -1.11 there), 0 at the value; a run without a positive value is the
    failed residual. A targets file gives sigma or factor, one of them, and a factor needs a positive value."""
    t = {"observable": "elevation_duration_h", "value": 60.0, "sigma": None, "factor": 1.5}
    assert calibrate.residual(90.0, t) == pytest.approx(1.0, rel=1e-12)
    assert calibrate.residual(40.0, t) == pytest.approx(-1.0, rel=1e-12)
    assert calibrate.residual(60.0, t) == 0.0
    assert calibrate.residual(math.nan, t) == calibrate.residual(0.0, t) == calibrate.FAILED_RESIDUAL
    s = {"observable": "elevation_duration_h", "value": 60.0, "sigma": 18.0, "factor": None}
    assert calibrate.residual(90.0, s) == pytest.approx(30.0 / 18.0)
    head = '[[parameter]]\npath = "x"\nlower = 0.0\nupper = 1.0\n[[target]]\nobservable = "V_at_10mA"\n'
    bad = tmp_path / "t.toml"
    for body in ("value = 1.0\nsigma = 0.1\nfactor = 1.5\n", "value = 1.0\n"):
        bad.write_text(head + body)
        with pytest.raises(InputError, match=r"target\[0\].sigma"):
            calibrate.load_targets(bad)
    bad.write_text(head + "value = 0.0\nfactor = 1.5\n")
    with pytest.raises(InputError, match=r"target\[0\].value"):
        calibrate.load_targets(bad)
    bad.write_text(head + "value = 2.0\nfactor = 1.0\n")
    with pytest.raises(InputError, match=r"target\[0\].factor"):
        calibrate.load_targets(bad)


def test_fit_recovers_a_trion_line_from_the_spectrum(tmp_path):
    """Synthetic data: peak and FWHM of the EL of the quasi-1D stack at 100 mA/cm2 with an X- line 10 nm red of
    X and 40 nm wide; started from 4 nm / 30 nm, the fit of shift and width must find them (the observables of
    cases/targets-elevation.toml)."""
    case = small_case(geometry={"quasi_1d": True})
    paths = ["materials.QD.lambda_trion_shift_nm", "materials.QD.fwhm_trion_nm"]
    truth = calibrate.with_values(case, paths, [10.0, 40.0])
    targets = [{"observable": o, "sigma": s, "J_mA_cm2": 100.0, "hours": 1.0, "source": "synthetic"}
               for o, s in (("EL_peak_nm", 0.1), ("EL_fwhm_nm", 0.1))]
    sim = calibrate.measure(truth, targets, SWEEP, tmp_path, MPI.COMM_SELF)
    assert all(math.isfinite(v) for v in sim) and sim[0] > 623.0 and sim[1] > 24.0   # trions shift and widen
    spec = {"parameter": [{"path": paths[0], "lower": 0.0, "upper": 30.0, "initial": 4.0, "scale": "linear"},
                          {"path": paths[1], "lower": 24.0, "upper": 80.0, "initial": 30.0, "scale": "linear"}],
            "target": [{**t, "value": v} for t, v in zip(targets, sim)], "sweep": SWEEP, "max_evaluations": 40,
            "diff_step": 1e-3}
    record = calibrate.fit(case, spec, tmp_path, MPI.COMM_SELF, say=lambda m: None)
    assert all(abs(r["residual"]) < 1.0 for r in record["rows"]), record["rows"]
    assert record["parameters"][paths[0]] == pytest.approx(10.0, abs=0.5), record["parameters"]
    assert record["parameters"][paths[1]] == pytest.approx(40.0, abs=1.0), record["parameters"]


def test_evaluation_budget_counts_every_model_run(tmp_path):
    """max_evaluations caps the model runs, the finite-difference (Jacobian) ones included: a long 2D fit stops
    when its budget is spent and keeps its best evaluation; the history is on disk after every run."""
    case = small_case(geometry={"quasi_1d": True})
    paths = ["materials.TFB.mu_p_cm2Vs", "materials.QD.mu_n_cm2Vs"]
    target = {"observable": "V_at_10mA", "sigma": 0.001, "J_mA_cm2": 10.0, "hours": 1.0, "source": "synthetic",
              "value": 2.0}
    spec = {"parameter": [{"path": p, "lower": 1e-5, "upper": 1e-1, "initial": None, "scale": "log"} for p in paths],
            "target": [target], "sweep": SWEEP, "max_evaluations": 2, "diff_step": 1e-3}
    record = calibrate.fit(case, spec, tmp_path, MPI.COMM_SELF, say=lambda m: None)
    assert record["evaluations"] == 2 and len(record["history"]) == 2
    assert "budget" in record["optimizer_message"]
    costs = [0.5 * sum(r * r for r in h["residuals"]) for h in record["history"]]
    assert record["cost"] == pytest.approx(min(costs))


def test_contact_limit_observables_are_the_instruments(tmp_path):
    """``EL_rise_limit`` / ``PL_rise_limit`` of a targets file are the contact-limit test of the case, up to the
    ageing table's voltage compliance (cases/targets-elevation.toml)."""
    from femqled.device import Device
    from femqled.instruments import contact_limit

    case = small_case(geometry={"quasi_1d": True}, ageing={"compliance_V": 5.0})
    targets = [{"observable": o, "sigma": 0.1, "J_mA_cm2": 10.0, "hours": 1.0, "source": "synthetic"}
               for o in ("EL_rise_limit", "PL_rise_limit")]
    sim = calibrate.measure(case, targets, SWEEP, tmp_path, MPI.COMM_SELF)
    direct = contact_limit.run(Device(case, MPI.COMM_SELF), 10.0, V_c=5.0)
    assert sim == pytest.approx([direct["EL_rise_limit"], direct["PL_rise_limit"]], rel=1e-9)
    assert sim[0] > 0.0


def test_sims_target_reads_the_luminance_maximum(tmp_path):
    """``SIMS_depth_ratio`` is read where REPORT.md reads it, at the test's luminance maximum: the same as a test
    stopped there (the quasi-1D default at 100 mA cm^-2 goes on to its compliance after its maximum), not the end."""
    from femqled.ageing import Ageing
    from femqled.case import load_case
    from femqled.instruments import lifetime, sims

    def default(*sets):
        """The quasi-1D default case with ``sets`` (dotted --set assignments)."""
        return load_case(Path(__file__).resolve().parent.parent / "cases" / "default.toml",
                         ["geometry.quasi_1d=true", *sets])

    target = {"observable": "SIMS_depth_ratio", "J_mA_cm2": 100.0, "hours": 30.0}
    got = calibrate.measure(default(), [target], SWEEP, tmp_path)[0]
    run = Ageing(default("ageing.J_mA_cm2=100", "ageing.hours=30"), MPI.COMM_WORLD)
    s = lifetime.summarize(run.run(progress=False), run.stopped)
    at_end = sims.penetration_ratio(run.acetate)
    stopped = Ageing(default("ageing.J_mA_cm2=100", f"ageing.hours={s['elevation_duration_h']!r}"), MPI.COMM_WORLD)
    stopped.run(progress=False)
    assert got == pytest.approx(sims.penetration_ratio(stopped.acetate), rel=1e-6)
    assert got < at_end
