"""Where a luminance change comes from: a budget over the recombination channels (the mechanism in numbers).

The luminance is linear in the channel currents of :mod:`femqled.emission` (mA cm^-2 of electrons consumed):

    L = a_X J_X + a_T J_X- + a_H J_H,        a_c = eta_rad,c x (the luminance of a unit photon current in c's line)

(+ a_P J_X+ with positive trions, ``[emission] trions = "both"``: then a channel of its own below)

with J_H = J_leak + J_HTL,bulk (electrons recombining in or at the TFB, blue) and nothing emitted by trap-assisted
recombination (J_trap) or by electrons that leave the device unrecombined or recombine elsewhere
(J_other = J_e - J_X - J_X- [- J_X+] - J_H - J_trap, J_e the electron current injected at the cathode). Since
J_X = J_e - sum_{c != X} J_c, the change between two states splits exactly by where the exciton channel's
current came from:

    dL / L0 = sum_{c != X} (-dJ_c) (a_X - a_c) / L0  +  dJ_e a_X / L0

each term the points of the rise that channel gave up (trions: -dJ_X- (a_X - a_T): a dim, red trion that
becomes a bright exciton; leakage: -dJ_H (a_X - a_H); traps and "elsewhere": -dJ_c a_X), the last the electron
current itself. The blue shift of the spectrum needs no term of its own: fewer red trions are what shift it, and
the photopic weight of each line is in a_c. He et al. 2023 attribute the elevation to fewer trions and less
electron leakage into the TFB; :func:`between` says how much of the simulated rise each gives.
"""

from __future__ import annotations

import numpy as np

CHANNELS = {"trions": "J_trion_mA_cm2", "leakage into the HTL": "J_H", "trap-assisted": "J_trap_mA_cm2",
            "elsewhere": "J_other"}
POSITIVE = {"positive trions": "J_trion_pos_mA_cm2"}      # a channel only with trions = "both"


def coefficients(emission) -> dict[str, float]:
    """a_c (cd m^-2 per mA cm^-2 of electrons) of the exciton, trion and HTL channels of ``emission`` (and the
    positive trion's, zero unless the emission tells it apart)."""
    unit = {"X": 0.0, "trion": 0.0, "HTL": 0.0}
    yields = {"X": emission.eta_X_rad, "trion": emission.eta_trion_rad, "HTL": emission.eta_htl}
    if emission.both_trions:
        yields["trion_pos"] = emission.eta_trion_pos_rad
    a = {c: y * emission.luminance(*emission.spectrum({**unit, c: 1.0})) for c, y in yields.items()}
    a.setdefault("trion_pos", 0.0)
    return a


def currents(rec: dict) -> dict[str, float]:
    """The channel currents of a record (an operating point's emission record or a lifetime test's row)."""
    J = {k: float(rec[k]) for k in ("J_e_mA_cm2", "J_X_mA_cm2", "J_trion_mA_cm2", "J_trap_mA_cm2")}
    J["J_H"] = float(rec["J_leak_mA_cm2"]) + float(rec.get("J_htl_bulk_mA_cm2", 0.0) or 0.0)
    pos = float(rec.get("J_trion_pos_mA_cm2", 0.0))
    J["J_trion_pos_mA_cm2"] = pos if np.isfinite(pos) else 0.0      # rows written before X+ was recorded
    J["J_other"] = (J["J_e_mA_cm2"] - J["J_X_mA_cm2"] - J["J_trion_mA_cm2"] - J["J_trion_pos_mA_cm2"] - J["J_H"]
                    - J["J_trap_mA_cm2"])
    return J


def luminance(a: dict, J: dict) -> float:
    """L (cd m^-2) of channel currents ``J`` with coefficients ``a``."""
    return (a["X"] * J["J_X_mA_cm2"] + a["trion"] * J["J_trion_mA_cm2"] + a["trion_pos"] * J["J_trion_pos_mA_cm2"]
            + a["HTL"] * J["J_H"])


def between(emission, before: dict, after: dict) -> dict:
    """The budget of the luminance change from ``before`` to ``after`` (records with the channel currents):
    ``rise`` (L1 / L0 - 1, from the channels), ``parts`` (the fraction of L0 each channel gave up, and the
    electron current's), which sum to ``rise`` exactly, and ``currents`` (mA cm^-2, before and after)."""
    a = coefficients(emission)
    J0, J1 = currents(before), currents(after)
    L0 = luminance(a, J0)
    worth = {"trions": a["X"] - a["trion"], "leakage into the HTL": a["X"] - a["HTL"], "trap-assisted": a["X"],
             "elsewhere": a["X"], "positive trions": a["X"] - a["trion_pos"]}
    channels = CHANNELS | (POSITIVE if emission.both_trions else {})
    parts = {name: -(J1[key] - J0[key]) * worth[name] / L0 for name, key in channels.items()}
    parts["electron current"] = (J1["J_e_mA_cm2"] - J0["J_e_mA_cm2"]) * a["X"] / L0
    return {"rise": luminance(a, J1) / L0 - 1.0, "parts": parts, "coefficients_cd_m2_per_mA_cm2": a,
            "currents_mA_cm2": {"before": J0, "after": J1}}


def sentence(b: dict) -> str:
    """The budget in words: 'trions +62.1, leakage into the HTL +25.3, … points (of +89.2 %)'."""
    # largest first as printed; equal printed values in the order of the budget (runs that differ by
    # roundoff list them alike)
    parts = sorted(b["parts"].items(), key=lambda kv: -abs(round(100 * kv[1], 1)))
    return (", ".join(f"{name} {signed(100 * v, 1)}" for name, v in parts if np.isfinite(v))
            + f" points (of {signed(100 * b['rise'], 1)} %)")


def signed(x: float, decimals: int) -> str:
    """``x`` with its sign and ``decimals`` decimals, a value that rounds to zero as +0.0 (never -0.0: runs
    that differ by roundoff read the same)."""
    r = round(float(x), decimals) + 0.0
    return f"{r:+.{decimals}f}"


def of_test(emission, rows: list[dict]) -> dict | None:
    """The budget of a lifetime test's rise: its first row to its maximum (the row of the elevation,
    :func:`femqled.instruments.lifetime.maximum_index`); None without emission, without a rise, or with rows that
    lack the channel currents (checkpoints written before they were recorded)."""
    from femqled.instruments.lifetime import maximum_index

    if not getattr(emission, "active", False) or len(rows) < 2:
        return None
    k = maximum_index(rows)
    if k == 0:
        return None
    try:
        b = between(emission, rows[0], rows[k])
    except (KeyError, TypeError):
        return None
    return b if np.isfinite(b["rise"]) else None
