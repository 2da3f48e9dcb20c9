"""femqled/acceptance.py: the tolerances of issue 7 for the predicted rows, at and across their edges."""

import math

import pytest

from femqled import acceptance as a


def test_ideality_ratio_window():
    assert a.ideality_passes(1.0, 1.20) and a.ideality_passes(3.45, 4.14)
    assert a.ideality_passes(1.0, 1.279) and a.ideality_passes(1.0, 1.121)
    assert not a.ideality_passes(1.0, 1.281) and not a.ideality_passes(1.0, 1.119)
    assert not a.ideality_passes(1.0, math.nan) and not a.ideality_passes(0.0, 1.2)


@pytest.mark.parametrize("c0, c1, ok", [(1.4, 1.9, True), (1.21, 2.09, True), (1.19, 1.9, False),
                                        (1.4, 2.11, False), (1.46, 1.31, False), (1.46, math.nan, False)])
def test_cv_onsets(c0, c1, ok):
    assert a.cv_passes(c0, c1) is ok


@pytest.mark.parametrize("near, change, ok", [(2.0, 0.2, True), (5.96, 0.1, True), (1.99, 0.1, False),
                                              (4.0, 0.21, False), (math.nan, 0.1, False), (3.0, math.nan, False)])
def test_skpm(near, change, ok):
    assert a.skpm_passes(near, change) is ok


@pytest.mark.parametrize("zr, ag, ok", [(0.0, 1.0, True), (0.05, 0.7, True), (-0.049, 0.95, True),
                                        (0.051, 1.0, False), (-0.06, 1.0, False), (0.0, 0.69, False),
                                        (math.nan, 1.0, False), (0.0, math.nan, False)])
def test_peel_off(zr, ag, ok):
    """REPORT.md's peel-off row and the scorecard's: ZnO/Ag rebuilt within 5 % of pristine, Ag alone >= 70 %."""
    assert a.peeloff_passes(zr, ag) is ok


def test_signed_values_that_round_to_zero_read_plus_zero():
    """REPORT.md and the rise budget print signed values; two runs that differ by roundoff around zero read the
    same (`femqled compare` saw a peel-off change of +0.0 % in one run and -0.0 % in the next)."""
    from femqled.budget import signed

    assert [signed(x, 1) for x in (-1e-9, -0.04, 0.0, 0.04)] == ["+0.0"] * 4
    assert signed(-0.06, 1) == "-0.1" and signed(88.66, 1) == "+88.7" and signed(-2.5e-3, 2) == "+0.00"


def test_the_rise_budget_reads_the_same_for_runs_that_differ_by_roundoff():
    """Parts of the rise budget that print alike keep the budget's order whatever their roundoff (`femqled
    compare` saw 'elsewhere +0.0, electron current +0.0' in one run and the reverse in the next)."""
    from femqled.budget import sentence

    def budget(elsewhere, current):
        return {"rise": 0.89, "parts": {"trions": 0.6, "leakage into the HTL": 0.264, "trap-assisted": 0.025,
                                        "elsewhere": elsewhere, "electron current": current}}

    first, second = sentence(budget(1e-12, -3e-12)), sentence(budget(-4e-12, 2e-13))
    assert first == second
    assert first.startswith("trions +60.0, leakage into the HTL +26.4, trap-assisted +2.5, elsewhere +0.0")
    assert sentence(budget(0.0, -0.03)).index("electron current -3.0") < sentence(budget(0.0, -0.03)).index("else")
