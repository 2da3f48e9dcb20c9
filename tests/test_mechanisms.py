"""The acetate-driving kinetics side by side (issue 7, femqled/mechanisms.py)."""

import json

import numpy as np
import pytest
from mpi4py import MPI

from femqled import mechanisms
from femqled.viz import image_variance
from helpers import small_case


def test_fitted_exponent_of_a_power_law():
    J = np.array([30.0, 50.0, 100.0])
    assert mechanisms.fitted_exponent(J, 7.0 * J ** -1.7) == pytest.approx(1.7, rel=1e-12)
    assert mechanisms.PAPER_EXPONENT == pytest.approx(1.488, abs=1e-3)


def test_kinetics_side_by_side(tmp_path):
    """Short tests (times / 20) of the small stack in quasi-1D: plain diffusion is the reference of the
    direction (ratio 1 exactly); current-activated transfer drives more acetate into the Ag and ends its
    elevation sooner at higher current (m > 0); the field pushes the anion less far in than the current does."""
    case = small_case(geometry={"quasi_1d": True})
    res = mechanisms.run(case, tmp_path, MPI.COMM_SELF, hours_scale=1 / 20, say=lambda m: None)
    k = res["kinetics"]
    assert set(k) == set(mechanisms.KINETICS)
    assert k["diffusion"]["acetate_into_Ag_vs_diffusion"] == pytest.approx(1.0, abs=1e-12)
    assert k["current"]["acetate_into_Ag_vs_diffusion"] > 1.0 and k["current"]["drives_acetate_into_Ag"]
    assert k["field"]["acetate_into_Ag_vs_diffusion"] < k["current"]["acetate_into_Ag_vs_diffusion"]
    assert k["current"]["exponent"] > 0.5
    saved = json.loads((tmp_path / "mechanisms.json").read_text())
    assert saved["explains_both"] == res["explains_both"]
    assert image_variance(tmp_path / "mechanisms.png") > 0
