"""Positive trions ([emission] trions = "both", femqled/emission.py): the holes' occupancy of the dots splits the
recombination into X, X- and X+ by the formula of the module docstring, the split is of the same recombination
as the electrons-only model's, and a degraded contact that fills the dots with holes makes dim X+ there."""

import numpy as np
import pytest
import ufl
from dolfinx import fem
from mpi4py import MPI

from femqled import budget, materials
from femqled.device import Device
from femqled.errors import InputError
from femqled.instruments import contact_limit
from helpers import small_case


def q1d(**changes):
    return small_case(geometry={"quasi_1d": True}, **changes)


def q1d_earlier(trions: str) -> dict:
    """The small stack with the QD film of the default before 2026-12-06 (cases/negative-trions.toml), whose
    contact-limit state fills the dots with holes."""
    from femqled.case import load_case

    qd = load_case("cases/negative-trions.toml")["materials"]["QD"]
    keys = ("mu_n_cm2Vs", "mu_p_cm2Vs", "k_auger_trion_per_s", "lambda_trion_shift_nm", "fwhm_trion_nm")
    return q1d(emission={"trions": trions}, materials={"QD": {k: qd[k] for k in keys}})


def mean(dev, expr) -> float:
    """The value of a constant UFL expression, as the mean over the QD layer (assembled, so as the code sees it)."""
    dx = dev.dm.dx("EML")
    num = dev.comm.allreduce(fem.assemble_scalar(fem.form(expr * dx)), op=MPI.SUM)
    return num / dev.comm.allreduce(fem.assemble_scalar(fem.form(1.0 * dx)), op=MPI.SUM)


def doubly(m):
    """P(k >= 2 | k >= 1) for Poisson occupancy, written as 1 - P(1) / P(k >= 1)."""
    return 1.0 - m * np.exp(-m) / -np.expm1(-m)


@pytest.mark.mpi
@pytest.mark.parametrize("me, mh", [(0.5, 2e-4), (1e-4, 0.8), (2.0, 3.0), (0.3, 0.3)])
def test_channel_weights_are_the_poisson_split(me, mh):
    """X : X- : X+ = (1-fe)(1-fh) + fe fh : fe (1-fh) : fh (1-fe) with f = P(k>=2 | k>=1) of m_e, m_h (the
    series branch below m = 1e-3 included); they sum to one; the PL proxy weighs q_e q_h + (1-q_e)(1-q_h),
    (1-q_e) q_h, q_e (1-q_h) with q = e^-m."""
    dev = Device(q1d(emission={"trions": "both"}))
    em = dev.emission
    n, p = fem.Constant(dev.mesh, me * em.N_qd), fem.Constant(dev.mesh, mh * em.N_qd)
    w = [mean(dev, wi) for wi in em.channel_weights(n, p)]
    fe, fh = doubly(me), doubly(mh)
    expect = [(1 - fe) * (1 - fh) + fe * fh, fe * (1 - fh), fh * (1 - fe)]
    assert w == pytest.approx(expect, rel=1e-6, abs=1e-12)
    assert sum(w) == pytest.approx(1.0, rel=1e-12)
    qe, qh = np.exp(-me), np.exp(-mh)
    pl = (qe * qh + (1 - qe) * (1 - qh)) * em.eta_X_rad + (1 - qe) * qh * em.eta_trion_rad \
        + qe * (1 - qh) * em.eta_trion_pos_rad
    assert mean(dev, em.pl_yield(n, p)) == pytest.approx(pl, rel=1e-9)
    assert em.eta_trion_pos_rad < em.eta_trion_rad < em.eta_X_rad           # the parameter file's X+ is dimmest


@pytest.mark.mpi
def test_both_trions_split_the_same_recombination_and_hole_excess_makes_dim_x_plus():
    """The option changes what the recombination is called, not the device: the same voltage and the same
    recombination in the dots (J_X + J_X- [+ J_X+]); pristine (electron excess) X- outnumber X+; at the
    contact-limit state (the dots full of holes, tests/test_instruments.py) X+ outnumber X-, the X channel has
    lost most of what the electrons-only model counts in it, and the device is dimmer than that model says (the
    QD film of the earlier default, fitted with the electrons-only model)."""
    neg, both = Device(q1d_earlier("negative")), Device(q1d_earlier("both"))
    lim = contact_limit.run(neg, 10.0, V_c=5.0)["limit"]
    states = []
    for rise in (0.0, lim["barrier_rise_eV"]):
        pair = []
        for dev in (neg, both):
            dev.contacts.set_barrier(dev.contacts.barrier0_eV + rise)
            pair.append(dev.operate(10.0))
        a, b = pair
        assert b.V == pytest.approx(a.V, rel=1e-9)
        ra, rb = a.extra, b.extra
        assert ra["J_trion_pos_mA_cm2"] == 0.0 and ra["photons_trion_pos"] == 0.0
        total = rb["J_X_mA_cm2"] + rb["J_trion_mA_cm2"] + rb["J_trion_pos_mA_cm2"]
        assert total == pytest.approx(ra["J_X_mA_cm2"] + ra["J_trion_mA_cm2"], rel=1e-9)
        assert rb["J_X_mA_cm2"] < ra["J_X_mA_cm2"] and rb["luminance_cd_m2"] < ra["luminance_cd_m2"]
        states.append(rb)
    pristine, aged = states
    assert pristine["J_trion_mA_cm2"] > pristine["J_trion_pos_mA_cm2"] > 0
    assert aged["J_trion_pos_mA_cm2"] > aged["J_trion_mA_cm2"]
    assert aged["J_trion_pos_mA_cm2"] > aged["J_X_mA_cm2"]


@pytest.mark.mpi
def test_budget_with_positive_trions_adds_up_to_the_change():
    """femqled/budget.py with X+ a channel of its own: the luminance from the channel currents is the device's,
    the parts (positive trions among them) add up to the change; raising the barrier into the hole excess
    costs the positive trions' part."""
    dev = Device(q1d(emission={"trions": "both"}))
    before = dict(dev.operate(10.0).extra)
    dev.contacts.set_barrier(dev.contacts.barrier0_eV + 0.35)
    after = dict(dev.operate(10.0).extra)
    a = budget.coefficients(dev.emission)
    assert a["X"] > a["trion"] > a["trion_pos"] > 0
    for rec in (before, after):
        assert budget.luminance(a, budget.currents(rec)) == pytest.approx(rec["luminance_cd_m2"], rel=1e-9)
    b = budget.between(dev.emission, before, after)
    assert sum(b["parts"].values()) == pytest.approx(b["rise"], rel=1e-12)
    assert b["parts"]["positive trions"] < 0
    assert "positive trions" in budget.sentence(b)


def test_both_trions_need_the_positive_trion_parameters():
    """A QD material without the X+ values cannot tell X+ apart: one message naming emission.trions and the
    missing keys."""
    qd = {k: v for k, v in materials.library()["QD"].items() if "positive" not in k and k != "sources"}
    case = q1d(emission={"trions": "both"}, materials={"QD-bare": qd},
               layer=[{"name": "HIL", "material": "PEDOT:PSS", "thickness_nm": 10.0},
                      {"name": "HTL", "material": "TFB", "thickness_nm": 12.0},
                      {"name": "EML", "material": "QD-bare", "thickness_nm": 10.0},
                      {"name": "ETL", "material": "ZnO-NP", "thickness_nm": 15.0}])
    with pytest.raises(InputError, match=r"emission\.trions: .*k_auger_positive_trion_per_s"):
        Device(case, MPI.COMM_SELF)


def test_electrons_only_model_builds_no_positive_trion_channel():
    """trions = "negative": the channel weights are (1 - f, f, 0), nothing of X+ is built."""
    dev = Device(q1d(emission={"trions": "negative"}), MPI.COMM_SELF)
    n = fem.Constant(dev.mesh, 0.7 * dev.emission.N_qd)
    wX, wT, wP = dev.emission.channel_weights(n, n)
    assert wP == 0 and isinstance(wX, ufl.core.expr.Expr)
    assert mean(dev, wT) == pytest.approx(doubly(0.7), rel=1e-9)


def test_earlier_default_values_give_no_rise_with_dim_positive_trions():
    """docs/model.md, "Positive trions": with the values of the default before 2026-12-06
    (cases/negative-trions.toml, fitted with X+ counted as bright) and X+ told apart the contact-limit test at
    100 mA cm^-2 finds the pristine state the brightest (the luminance only falls as the barrier rises). Its peak
    search then goes back to a low barrier from the steps near the compliance, which needs the device at rest
    first (a solver failure before, measured)."""
    from femqled.case import load_case

    case = load_case("cases/negative-trions.toml", ["emission.trions=both"])
    case["geometry"]["quasi_1d"] = True
    r = contact_limit.run(Device(case, MPI.COMM_SELF), 100.0)
    assert not r["at_compliance"] and r["limit"]["barrier_rise_eV"] < 0.02
    assert abs(r["EL_rise_limit"]) < 0.02


@pytest.mark.parametrize("path, peaks", [("cases/default.toml", True), ("cases/negative-trions.toml", False)])
def test_anions_rise_peaks_only_with_dim_positive_trions(path, peaks):
    """docs/model.md, "Mobile ions" (on the default with positive trions): anions in the ETL hold the dots'
    electron excess down at 10 mA cm^-2. With X+ told apart (the default) the luminance peaks where the dots are
    balanced and falls beyond, the extra anions making them hole-rich (quasi-1D, measured: +91 % at 3e12 cm^-2,
    +12 % at 6e12); with X+ counted as bright (cases/negative-trions.toml) it keeps rising (+46 % at 3e12, +76 % at
    6e12), so that variant's maximum came only at the contact's saturation."""
    from femqled.case import load_case

    case = load_case(path, ["ions.layer=ETL", "geometry.quasi_1d=true"])
    dev = Device(case, MPI.COMM_SELF)
    L = []
    for N in (0.0, 3e12, 6e12):
        dev.ions.set_inventory(N)
        L.append(dev.operate(10.0).extra["luminance_cd_m2"])
    assert L[1] > 1.4 * L[0]
    if peaks:
        assert L[1] > 1.8 * L[0] and L[2] < 0.75 * L[1]
    else:
        assert L[2] > 1.1 * L[1]


def test_the_largest_rise_belongs_to_the_dots_whichever_knob_reaches_it():
    """docs/model.md, "Mobile ions" (on the default with positive trions): at a fixed current the dots' state is
    one family set from the ETL side, so raising the cathode barrier and releasing anions into the ETL reach the
    same largest luminance (quasi-1D default at 10 mA cm^-2, measured: x1.909860 at +0.2904 eV and x1.909859 at
    3.04e12 anions per cm^2, each by a golden section of 12 evaluations), though at different voltages."""
    from femqled.case import load_case
    from femqled.instruments.contact_limit import golden_max

    dev = Device(load_case("cases/default.toml", ["ions.layer=ETL", "geometry.quasi_1d=true"]), MPI.COMM_SELF)
    b0 = dev.contacts.barrier0_eV
    L0 = dev.operate(10.0).extra["luminance_cd_m2"]

    def by_barrier(d):
        dev.contacts.set_barrier(b0 + d)
        return dev.operate(10.0, V_max=30.0)

    def by_anions(n12):
        dev.ions.set_inventory(n12 * 1e12)
        return dev.operate(10.0, V_max=30.0)

    peaks = {}
    for name, knob, lo, hi in (("barrier", by_barrier, 0.27, 0.31), ("anions", by_anions, 2.0, 4.5)):
        x, L = golden_max(lambda v, knob=knob: knob(v).extra["luminance_cd_m2"], lo, hi, 12)
        peaks[name] = (L / L0, knob(x).V)
        dev.contacts.set_barrier(b0)
        dev.ions.set_inventory(0.0)
        dev.reset()
    assert peaks["barrier"][0] > 1.8
    assert peaks["anions"][0] == pytest.approx(peaks["barrier"][0], rel=1e-4)
    assert peaks["barrier"][1] - peaks["anions"][1] > 0.5         # the barrier's costs more volts
