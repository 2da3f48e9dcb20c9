"""Discretisation presets (femqled/quality.py): the fine preset only refines, and names what it set."""

from pathlib import Path

import pytest

from femqled import quality
from femqled.case import load_case

ROOT = Path(__file__).resolve().parent.parent


def test_fine_preset_refines_and_default_is_the_case():
    case = load_case(ROOT / "cases" / "default.toml")
    assert quality.apply(case, "default") == case
    fine = quality.apply(case, "fine")
    assert fine["mesh"]["interface_size_nm"] == 0.1 and fine["mesh"]["grading"] == case["mesh"]["grading"]
    assert fine["ageing"]["max_dtheta"] == 0.02 and fine["ageing"]["max_dL"] == 0.02
    assert case["mesh"]["interface_size_nm"] == 0.5          # the case itself is untouched
    case["mesh"]["interface_size_nm"] = 0.05                  # a finer setting of the case stays
    assert quality.apply(case, "fine")["mesh"]["interface_size_nm"] == 0.05
    assert "0.05 V" in quality.describe(fine, "fine")
    assert "flat layers structured 2 nm wide" in quality.describe(fine, "fine")


def test_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="allowed: default, fine"):
        quality.apply(load_case(ROOT / "cases" / "default.toml"), "coarse")
