"""Calibration (issue 7): the least-squares fit recovers a parameter from targets the model itself produced."""

import math

import pytest
from mpi4py import MPI

from femqled import calibrate
from femqled.errors import InputError
from helpers import small_case

SWEEP = {"V_max": 3.0, "dV": 0.1, "f_Hz": 1e3}


def test_fit_recovers_a_known_mobility(tmp_path):
    """Synthetic data: V at 10 mA/cm2 of the quasi-1D stack with TFB mu_p = 3e-3 cm2/Vs; the fit starts from
    the library value (1e-2) in log scale and must land within 2 % of 3e-3."""
    case = small_case(geometry={"quasi_1d": True})
    path = "materials.TFB.mu_p_cm2Vs"
    truth = calibrate.with_values(case, [path], [3e-3])
    target = {"observable": "V_at_10mA", "sigma": 0.001, "J_mA_cm2": 10.0, "hours": 1.0, "source": "synthetic"}
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
