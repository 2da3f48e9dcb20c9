"""Discretisation presets: a case's own settings ("default") and publication quality ("fine", ``--fine``).

The calibrated parameters (femqled/data/parameters.toml) were fitted with the default settings: elements of
0.5 nm at every interface growing by 0.25 nm/nm, ageing steps that change the contact state theta and the
luminance by at most 5 %, and J-V and C-V every 0.1 V in ``femqled paper`` (the pristine and aged J-V that the
ideality is read from every 0.05 V: ``JV_STEP_V``). The QD channels are the coarse
part: the quasi-1D default device at 10 mA cm^-2 gives eta_X = 0.336 / 0.365 / 0.378 / 0.380 / 0.381 with
interface elements of 0.5 / 0.25 / 0.1 / 0.05 / 0.025 nm (``scripts/mesh_convergence.py``, grading 0.1,
2026-11-26), so the default is 12 % low and 0.1 nm is within 1 %. The ageing steps matter less: the
quasi-1D lifetime test at 100 mA cm^-2 gives an elevation duration of 9.917 / 9.797 / 9.733 / 9.718 h and a
rise of +85.4 / +86.9 / +87.2 / +88.1 % with steps limited to 5 / 2 / 1 / 0.5 % (same date; a scratch loop:
``Ageing(case).run`` with ``[ageing] max_dL = max_dtheta`` set to each value, ``lifetime.summarize``).

``fine`` refines every setting to at most: interface elements 0.1 nm, 2 % per ageing step, bias sweeps every
0.05 V (0.025 V for the ideality). The grading stays the case's: at 0.1 nm, grading 0.25 and 0.1 give the same
eta_X (0.3779) in quasi-1D. The 2D
default case at 10 mA cm^-2 on 2 ranks (2026-11-26; a scratch script timing ``Device(apply(case, preset))`` and its
``operate(10.0)`` under ``mpirun -n 2``): default 35,765 cells, one operating point 21.9 s, eta_X
0.3434; fine 210,398 cells, 154 s, eta_X 0.3778 (with grading 0.1 as well: 431,786 cells, 505 s, 0.3782). With the
flat layers structured 2 nm wide (``[mesh] flat_lateral_size_nm``, the default case's since 2026-12-05; the same
scratch timing that day on a ~1.5x slower machine): fine 84,203 cells, 53.2 s, eta_X 0.3887, against isotropic
210,398 cells, 122.6 s, 0.3884 (1 nm wide: 108,883 cells, 93.4 s, 0.3890). With the
finer ageing steps, ``make paper-fine`` took 72.4 min run whole and alone (2026-12-05, a clean clone of 9b4a0b7 with
the flat layers structured, 2 ranks; 107.7 min the run before, ~60 min of it beside the test suites); 8 of 10
rows pass, the same two failing as at the default settings (README). The calibration absorbed the
default's discretisation error, so a publication-quality reproduction recalibrates with the same preset (``femqled
calibrate ... --fine``) before ``femqled paper --fine``: ``cases/fine.toml`` holds steps 1-2 redone so (2026-12-05,
docs/model.md "Calibration"), and ``make paper-fine`` runs it; ``paper --fine`` with the default-calibrated
parameters measures that error. For the targets of calibration step 1 (``femqled calibrate cases/default.toml
cases/targets-elevation.toml --quasi-1d --fine --max-evaluations 1``, 2026-11-26) it is: contact-limit rise at 10 /
100 mA cm^-2 +84.0 / +94.6 % (default +90.9 / +88.3 %), pristine EL 625.3 nm, FWHM 29.1 nm (626.0, 30.1); cost
0.255 against 0.0068.
"""

from __future__ import annotations

import copy

PRESETS = ("default", "fine")

FINE_MESH = {"interface_size_nm": 0.1}
FINE_AGEING = {"max_dtheta": 0.02, "max_dL": 0.02}
SWEEP_STEP_V = {"default": 0.1, "fine": 0.05}
# the J-V sweeps that the ideality factor is read from: eta = (q/kT) dV/d ln J is a derivative, and at eta ~ 1.5
# (90 mV per decade) a 0.1 V step spans more than a decade, too coarse to place the minimum: with trap-assisted
# recombination in the dots the quasi-1D ratio aged / pristine read on a 0.1 V grid moved 1.12-1.20 with the
# barrier where a 0.05 V grid gave 1.23 (2026-12-02, docs/model.md "QD layer")
JV_STEP_V = {"default": 0.05, "fine": 0.025}


def apply(case: dict, preset: str) -> dict:
    """A copy of ``case`` with the preset's settings; "fine" only refines (a finer setting of the case stays)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown discretisation preset {preset!r}; allowed: {', '.join(PRESETS)}")
    out = copy.deepcopy(case)
    if preset == "fine":
        for table, values in (("mesh", FINE_MESH), ("ageing", FINE_AGEING)):
            for key, value in values.items():
                out[table][key] = min(float(out[table][key]), value)
    return out


def describe(case: dict, preset: str) -> str:
    """One line for reports: the preset and the settings it gives."""
    m, a = case["mesh"], case["ageing"]
    flat = (f", flat layers structured {m['flat_lateral_size_nm']:g} nm wide"
            if m.get("flat_lateral_size_nm") is not None else "")
    return (f"{preset} settings: interface elements {m['interface_size_nm']:g} nm (grading {m['grading']:g}{flat}), "
            f"ageing steps <= {100 * a['max_dtheta']:g} % in theta and {100 * a['max_dL']:g} % in luminance, "
            f"J-V for the ideality every {JV_STEP_V[preset]:g} V, other sweeps every {SWEEP_STEP_V[preset]:g} V")
