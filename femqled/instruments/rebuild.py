"""Peel-off and rebuild from an aged state (He et al. 2023 Fig. 4; MODEL.md sec. 5).

The paper peels the Ag (or ZnO/Ag) off an aged device and deposits fresh layers. femqled does the same to a
saved ageing state (``checkpoint.npz``):

- ``pristine``: the initial acetate profile, theta = 0 (the reference);
- ``aged``: the state as saved;
- ``rebuilt ZnO/Ag``: a fresh ZnO film and Ag: acetate back to its initial profile and the contact to pristine;
- ``rebuilt Ag``: the Ag-side acetate removed (a ``residual`` fraction of it left, default 0.1: acetate bound at
  the exposed ZnO surface survives the peel-off), the ZnO side as aged; theta and the barrier follow.

Mobile ions (``[ions]``, released by the degrading interface) sit in a layer, not in the contact: a rebuild
puts them back to a fresh film's (``sheet_cm2``) where :func:`femqled.elevation.removed_by` says it replaces
them, as in the hypotheses' peel-off (the ZnO/Ag rebuild, when they are in the layer under the cathode), and
leaves them as aged elsewhere. Unless their release is ``reversible``: then they follow the rebuilt contact's
state (sheet_cm2 + released_cm2 mean(theta)) after either rebuild.

For each: a J-V sweep (luminance, EQE, ideality), the state at ``J`` (EQE, eta_X, EL peak and FWHM) and the
recovery of each rebuild, (X_rebuilt - X_aged) / (X_pristine - X_aged), for EQE at ``J``. Outputs
``rebuild.json``, ``rebuild.csv`` (all J-V points, with a ``state`` column) and ``rebuild.png``.
"""

from __future__ import annotations

import numpy as np

from femqled.elevation import SITES, removed_by
from femqled.instruments import jv
from femqled.instruments.figure import figure, legend


def set_state(ag, c_values, theta=None, ions_cm2=None):
    """Put an acetate profile (P1 values of c = a/S) into ``ag`` and the contact state that follows (or
    ``theta``), with its barrier; with mobile ions, the inventory that follows theta (or ``ions_cm2``)."""
    ac = ag.acetate
    ac.c.x.array[:] = c_values
    ac.c.x.scatter_forward()
    ag.theta = ag.contact_state() if theta is None else theta
    ag.apply_barrier(ag.theta)
    if ions_cm2 is not None and ag.device.ions is not None:
        ag.device.ions.set_inventory(ions_cm2)
    ag.device.reset()                     # the measurements start from equilibrium under the new contact
    ag.condition()                        # ... and with mobile ions where operation at the test current puts them


def measure(ag, voltages, J_mA_cm2: float, J_min: float | None = None, progress: bool | float = False,
            label: str = "peel-off J-V") -> dict:
    """J-V (ideality over J > ``J_min``, see femqled.instruments.jv) and the state at ``J_mA_cm2``, found from the
    sweep's last steady state below that current (not from the sweep's end, volts above it)."""
    from femqled import io

    dev = ag.device
    dev.solve(0.0)
    below = []                     # the last state of the sweep below the test current: where operate starts

    def point(op):
        bar.update(V=f"{op.V:.3g} V", J=f"{op.J:.3g} mA/cm2")
        if op.J < J_mA_cm2:
            below[:] = [op.V, dev.u.x.array.copy()]

    with io.Progress(label, len(voltages), progress, dev.comm) as bar:
        rows = dev.sweep(voltages, progress=point)
    rows = [r.as_row() for r in rows]
    summary = jv.summarize(rows, dev.case["temperature_K"], J_min=J_min)
    if below and dev.bias != below[0]:         # not from the end of the sweep, volts above (fewer solves)
        dev.set_state(below[1], below[0])
    op = dev.operate(J_mA_cm2)
    e = op.extra
    summary.update({"V_at_J": op.V, "EQE_at_J": e["EQE"], "eta_X_at_J": e["eta_X"], "peak_nm": e["peak_nm"],
                    "fwhm_nm": e["fwhm_nm"], "theta_mean": float(np.mean(ag.theta))})
    if dev.ions is not None:
        summary["ions_cm2"] = dev.ions.inventory_cm2
    return {"rows": rows, "summary": summary}


def run(ag, checkpoint, outdir, voltages, J_mA_cm2: float = 10.0, residual: float = 0.1,
        progress: bool | float = False, label: str = "peel-off") -> dict:
    """The four states' J-V and state at ``J_mA_cm2`` (see the module); ``progress``: each sweep's bar (True),
    nothing (False) or a line at most every ``progress`` s headed ``<label> <state> J-V`` (femqled.io.Progress)."""
    from femqled import io

    ac = ag.acetate
    results = {}
    set_state(ag, ac.c_initial, theta=np.zeros_like(ag.theta))
    results["pristine"] = measure(ag, voltages, J_mA_cm2, progress=progress, label=f"{label} pristine J-V")
    floor = results["pristine"]["summary"]["ideality_floor_mA_cm2"]     # one window for all four curves
    ag.restore(checkpoint)
    aged_c = ac.c.x.array.copy()
    ions = ag.device.ions
    in_etl = ions is not None and ions.layer == ag.case["layer"][-1]["name"]      # the layer under the cathode
    # the ions' inventory after each rebuild: as aged, or (None) as theta = 0 sets it where the rebuild replaces them
    back = ions is not None and ag.case["ions"]["reversible"]
    kept = {site: None if ions is None or "ions" in removed_by(site, in_etl, back) else ions.inventory_cm2
            for site in SITES}
    results["aged"] = measure(ag, voltages, J_mA_cm2, floor, progress=progress, label=f"{label} aged J-V")
    set_state(ag, ac.c_initial, theta=np.zeros_like(ag.theta), ions_cm2=kept["ZnO/Ag"])
    results["rebuilt ZnO/Ag"] = measure(ag, voltages, J_mA_cm2, floor, progress=progress,
                                        label=f"{label} rebuilt ZnO/Ag J-V")
    c = aged_c.copy()
    c[ac.metal_only_nodes] *= residual
    set_state(ag, c, ions_cm2=kept["Ag"])
    results["rebuilt Ag"] = measure(ag, voltages, J_mA_cm2, floor, progress=progress, label=f"{label} rebuilt Ag J-V")
    s = {k: v["summary"] for k, v in results.items()}
    change = s["pristine"]["EQE_at_J"] - s["aged"]["EQE_at_J"]
    for k in ("rebuilt ZnO/Ag", "rebuilt Ag"):
        s[k]["EQE_recovery"] = (s[k]["EQE_at_J"] - s["aged"]["EQE_at_J"]) / change if change else float("nan")
    out = {"J_mA_cm2": J_mA_cm2, "residual": residual, "checkpoint": str(checkpoint), "states": s}
    io.write_json(outdir / "rebuild.json", out, comm=ag.comm)
    io.write_csv(outdir / "rebuild.csv", [{"state": k, **r} for k, v in results.items() for r in v["rows"]],
                 comm=ag.comm)
    if ag.comm.rank == 0:
        plot(results, outdir / "rebuild.png")
    return out


def plot(results, path) -> None:
    with figure(path, 2, (11, 4)) as (fig, (a1, a2)):
        for (label, r), style in zip(results.items(), ("k-", "r--", "b-.", "g:")):
            V = np.array([x["V"] for x in r["rows"]])
            J = np.array([x["J_mA_cm2"] for x in r["rows"]])
            ok = J > 1e-9 * J.max()
            a1.semilogy(V[ok], J[ok], style, label=label)
            lit = J > 1e-3 * J.max()
            a2.plot(J[lit], [100 * x["EQE"] for x, k in zip(r["rows"], lit) if k], style, label=label)
        a1.set_xlabel("V (V)")
        a1.set_ylabel("J (mA cm$^{-2}$)")
        a2.set_xscale("log")
        a2.set_xlabel("J (mA cm$^{-2}$)")
        a2.set_ylabel("EQE (%)")
        legend(a1, fontsize=8)
