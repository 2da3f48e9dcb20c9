"""What an efficiency elevation costs: one knob turned up under constant current until the luminance has risen
by a given fraction, and the device read before and then as He et al. 2023 read it.

The knob is a hypothesis of what the ageing changes (:mod:`femqled.hypotheses` names them): the cathode barrier
(the default ageing), a Bardeen tunnel layer at the cathode, a fixed negative charge next to the dots or the Ag,
the contact state of mobile anions released by the degrading interface (:mod:`femqled.ions`), or a combination
of these that a case file declares (``[[hypothesis]]``, :func:`degradation`). :func:`cost`
raises it (steps, then bisection) under constant-current operation at J until L = (1 + rise) L0, and reads, before
and at that point (:func:`readings`, the instruments of issue 7 that are predicted rather than fitted):

- J and the SKPM profile at 3 V (Fig. 3j-k), and the bias across each layer there;
- the C-V onset at 1 kHz over 0-3 V and which carriers form the rise (Fig. 2e);
- the minimum ideality over 0.4-4 V in one window (the pristine curve's floor; Fig. 2d);
- the bias across each layer at the operating point (where the cost of the rise goes);
- the luminance at J after each peel-off rebuild (Fig. 4: the ZnO and the Ag rebuilt, the Ag alone), each putting
  back the parts of the hypothesis that sit there (:func:`removed_by`).

Quasi-1D by default (:func:`device`): the hypotheses are about the flat stack, and a scorecard of eight takes ~1
min. On the case's 2D cross-section (``two_d``) a hypothesis may also be patchy: its change at the contact covering
only part of the interface (:func:`covered`), the rest left pristine in openings.
The stack's parts are found by their place, not their names (:func:`roles`): the emitting layer is the case's QD
layer (``emission.qd_layer``, or as :mod:`femqled.emission` finds it), the ETL the layer under the cathode, the
HTL the layer below the QD layer. Runs on any number of ranks.
"""

from __future__ import annotations

import copy

import numpy as np
from mpi4py import MPI

from femqled import materials
from femqled.case import HYPOTHESIS, validate
from femqled.device import Device
from femqled.errors import InputError, SolverError
from femqled.instruments import contact_limit, cv, jv, skpm
from femqled.instruments.skpm import cathode_surface


def device(raw: dict, comm, ions: str = "", interfacial_nm: float = 0.0, two_d: bool = False) -> Device:
    """The quasi-1D device of the case data ``raw`` (as read, before validation; not changed), validated as a
    case file is, with mobile ions in the layer ``ions`` (none yet; "" for none) and a Bardeen interfacial layer
    of ``interfacial_nm`` at the cathode (0: as the case has it); ``two_d``: the case's cross-section as it is."""
    data = copy.deepcopy(raw)
    if not two_d:
        data.setdefault("geometry", {})["quasi_1d"] = True
    if interfacial_nm:
        data.setdefault("contacts", {})["interfacial_layer_nm"] = interfacial_nm
    if ions:
        data["ions"] = {"layer": ions}
    return Device(validate(data), comm)


def roles(case: dict) -> dict[str, str]:
    """The layers the hypotheses act on, by their place in a validated case: ``{"EML": the QD layer, "ETL": the
    layer under the cathode, "HTL": the layer below the QD layer}`` (InputError if the stack has no such places)."""
    names = [layer["name"] for layer in case["layer"]]
    lib = materials.library(case["materials"])
    eml = case["emission"]["qd_layer"] or next((layer["name"] for layer in case["layer"]
                                                if "qd_density_cm3" in lib[layer["material"]]), None)
    if eml is None:
        raise InputError("emission.qd_layer", "the hypotheses need a QD layer (a layer whose material has "
                                              "qd_density_cm3)")
    k = names.index(eml)
    if k == 0 or k == len(names) - 1:
        raise InputError("layer", f"the hypotheses need a layer on either side of the QD layer {eml!r} (a hole "
                                  f"and an electron transport layer); the stack is {', '.join(names)}")
    return {"EML": eml, "ETL": names[-1], "HTL": names[k - 1]}


def operating_drops(dev) -> dict:
    """Bias (V) across each layer at the present state (the operating point: where the cost of a rise goes)."""
    return skpm.layer_drops(skpm.profile(dev), dev.dm.layout)


def readings(dev, ss, floor=None) -> dict:
    """J and SKPM profile at 3 V (and the cathode's surface state there, ``surface_3V``:
    :func:`femqled.instruments.skpm.cathode_surface`), C-V onset (0-3 V, 1 kHz), minimum ideality over J > floor
    (0.4-4 V); the curves they are read from: ``cv_curve`` (V, C in nF cm^-2), ``jv_curve`` (V, J in mA cm^-2)."""
    try:
        J3 = dev.solve(3.0).J
    except SolverError:          # the path down from the operating point through a changed contact: from 0 V
        dev.reset()
        J3 = dev.solve(3.0).J
    out = {"J3": J3, "profile": skpm.profile(dev), "surface_3V": cathode_surface(dev)}
    out["drops"] = skpm.layer_drops(out["profile"], dev.dm.layout)
    Vc = np.round(np.arange(0.0, 3.0 + 1e-9, 0.1), 6)
    C, parts = [], []
    for V in Vc:
        dev.solve(float(V))
        C.append(ss.capacitance(1e3)[0] * 1e9)
        parts.append(ss.charge_response())
    out["onset"] = cv.onset_voltage(Vc, C)
    out["rise_shares"] = cv.rise_carriers(Vc, C, {k: [q[k] for q in parts] for k in parts[0]})
    out["rise"] = cv.describe_rise(out["rise_shares"])
    Vj = np.round(np.arange(0.4, 4.0 + 1e-9, 0.05), 6)
    J = np.array([dev.solve(float(V)).J for V in Vj])
    out["cv_curve"], out["jv_curve"] = (Vc, np.array(C)), (Vj, J)
    out["floor"] = jv.ideality_floor(J) if floor is None else floor
    out["eta"] = jv.min_ideality(Vj, J, J_min=out["floor"])[0]
    return out


def charge_near(dev, etl: str, side: str):
    """A setter of a fixed negative charge, d x 1e12 cm^-2, spread over the 2 nm of the layer ``etl`` next to
    ``side`` ("QD": its bottom, towards the dots; "Ag": its top, towards the cathode, under the interlayer; in 2D
    the cells within the interlayer's thickness + 2 nm of the rough interface): the probe of a slow interior
    variable (docs/model.md, "What the elevation costs")."""
    import ufl
    from dolfinx import fem
    from dolfinx.mesh import compute_midpoints

    cells = dev.dm.cells(etl)
    mid = compute_midpoints(dev.mesh, 2, cells.astype(np.int32))
    y = mid[:, 1]
    lo = dev.comm.allreduce(y.min() if y.size else np.inf, op=MPI.MIN)
    hi = dev.comm.allreduce(y.max() if y.size else -np.inf, op=MPI.MAX)
    if side == "QD":                       # the ETL's bottom is flat
        sel = cells[y < lo + 2.0]
    elif dev.case["geometry"]["quasi_1d"]:
        sel = cells[y > hi - 2.0]
    else:                                  # 2D: within 2 nm of the ETL's top, which follows the rough interface
        at = dev.cathode_points()
        d = np.sqrt(((mid[:, None, :2] - at[None, :, :]) ** 2).sum(axis=2)).min(axis=1) if len(mid) else y
        sel = cells[d < dev.case["interlayer"]["thickness_nm"] + 2.0]
    ind = fem.Function(dev.mat.Q)
    ind.x.array[sel] = 1.0
    area = dev.comm.allreduce(fem.assemble_scalar(fem.form(ind * ufl.dx(domain=dev.mesh))), op=MPI.SUM)
    thickness_cm = area / dev.width() * 1e-7

    def setter(d):
        dev.rho_fixed.x.array[:] = 0.0
        dev.rho_fixed.x.array[sel] = -dev.sc.density(d * 1e12 / thickness_cm)
    return setter


SITES = ("ZnO/Ag", "Ag")        # what the peel-off rebuilds (He et al. 2023 Fig. 4): the ETL and the Ag, the Ag alone


def removed_by(site: str, ions_in_etl: bool, reversible: bool = False) -> set[str]:
    """The parts of a hypothesis that rebuilding ``site`` puts back: the contact's (the barrier rise, the tunnel
    layer: acetate at and in the Ag) with either rebuild; what sits in the ETL (a fixed charge, ions if they are
    in it) with the ZnO; ions in the QD film or below with neither. Ions whose release is ``reversible`` (bound to
    the contact's state both ways) go back with the contact, with either rebuild, wherever they are."""
    parts = {"barrier", "tunnel"}
    if site == "ZnO/Ag":
        parts |= {"charge", "ions"} if ions_in_etl else {"charge"}
    if reversible:
        parts.add("ions")
    return parts


def covered(h: dict, width_nm: float):
    """Where a hypothesis ``h`` changes the contact: None for all of it (``coverage`` 1), else the indicator
    x -> 0 / 1 (x of shape (3, N)) of the covered part, the openings of width (1 - coverage) period centred at
    x = 0, period, 2 period, ... (period ``period_nm``, or ``width_nm`` for 0)."""
    if h["coverage"] >= 1.0:
        return None
    P = h["period_nm"] or width_nm
    half = 0.5 * (1.0 - h["coverage"]) * P

    def indicator(x):
        s = np.mod(x[0], P)
        return ((s > half) & (s < P - half)).astype(float)
    return indicator


def degradation(dev, h: dict, etl: str, removed=()):
    """A setter of the degradation variable theta of a hypothesis of one's own (a case's ``[[hypothesis]]``
    table ``h``): at theta the cathode barrier is Phi_B0 + barrier_rise_eV theta, the ions' inventory ions_cm2
    theta, the fixed charge charge_cm2 theta (e cm^-2) in the 2 nm of the layer ``etl`` next to charge_near, the
    tunnel layer tunnel_from_nm + (tunnel_to_nm - tunnel_from_nm) theta (nm); the ``removed`` parts ("barrier",
    "ions", "charge", "tunnel") as at theta = 0. With ``coverage`` < 1 the barrier rise and the tunnel layer's
    growth act only where :func:`covered` says (the openings keep Phi_B0 and tunnel_from_nm)."""
    c = dev.contacts
    charge = charge_near(dev, etl, h["charge_near"]) if h["charge_cm2"] else None
    where = covered(h, dev.dm.layout.width_nm)

    def on_contact(base, change):
        """base + change over the covered part: a number, or a function of the coordinates."""
        return base + change if where is None or change == 0.0 else lambda x: base + change * where(x)

    def setter(theta):
        at = {part: 0.0 if part in removed else theta for part in ("barrier", "ions", "charge", "tunnel")}
        c.set_barrier(on_contact(c.barrier0_eV, h["barrier_rise_eV"] * at["barrier"]))
        if h["ions_cm2"]:
            dev.ions.set_inventory(h["ions_cm2"] * at["ions"])
        if charge is not None:
            charge(-h["charge_cm2"] * at["charge"] / 1e12)    # (charge_near's unit: 1e12 negative charges / cm^2)
        if h["tunnel_to_nm"]:
            c.set_interfacial_layer(on_contact(h["tunnel_from_nm"],
                                               (h["tunnel_to_nm"] - h["tunnel_from_nm"]) * at["tunnel"]))
    return setter


def knob(dev, near: str | None = None, ions: float | None = None, barrier_rise: float = 0.0,
         interfacial: float | None = None, etl: str = "ETL", own: dict | None = None) -> dict:
    """The keyword arguments of :func:`cost` that turn up one hypothesis on ``dev``: a fixed charge in the layer
    ``etl`` next to ``near``, the contact state with ``ions`` anions per cm^2 (and ``barrier_rise``), a tunnel
    layer grown from ``interfacial`` nm, a case's ``[[hypothesis]]`` table ``own`` (theta from 0 to 1,
    :func:`degradation`); none of them: the cathode barrier. ``rebuild``: for each of :data:`SITES`, the setter
    of the same state with what that peel-off puts back as pristine (:func:`removed_by`)."""
    in_etl = dev.ions is not None and dev.ions.layer == etl
    if own is not None:
        return {"knob": degradation(dev, own, etl), "step": 0.05, "most": 1.0,
                "rebuild": {s: degradation(dev, own, etl, removed_by(s, in_etl, own["ions_reversible"]))
                            for s in SITES}}
    if near:
        setter = charge_near(dev, etl, near)
        return {"knob": setter, "step": 1.0, "most": 100.0,
                "rebuild": {s: lambda d, s=s: setter(0.0 if "charge" in removed_by(s, in_etl) else d) for s in SITES}}
    if interfacial is not None:
        grown = lambda d, c=dev.contacts: c.set_interfacial_layer(interfacial + d)     # noqa: E731
        return {"knob": grown, "step": 0.25, "most": 5.0, "rebuild": {s: lambda d: grown(0.0) for s in SITES}}
    if ions is not None:       # the contact state as the ageing applies it with [ions]: both parts x theta, as a
        # [[hypothesis]] table (the schema's defaults for the rest: no charge, no tunnel layer, the whole contact)
        return knob(dev, etl=etl, own=HYPOTHESIS.check({"name": "ions", "barrier_rise_eV": barrier_rise,
                                                        "ions_cm2": ions}, "hypothesis"))
    return {}


def interface_height(dev) -> float:
    """The height of the ZnO/Ag interface (nm) the SKPM reading is taken at: the top of the flat stack in quasi-1D,
    the mean height of the rough cathode interface in 2D (as ``make paper`` reads it)."""
    if dev.case["geometry"]["quasi_1d"]:
        return float(dev.comm.allreduce(dev.mesh.geometry.x[:, 1].max(), op=MPI.MAX))
    return float(np.mean(dev.cathode_points()[:, 1]))


def cost(dev, J: float, rise: float, V_max: float, bisections: int = 14, knob=None,
         step: float = 0.05, most: float = 2.0, rebuild: dict | None = None) -> tuple[dict, dict]:
    """(pristine, elevated): operating point (``record``: its emission record) and readings of the device as it
    is, and with the barrier raised (or ``knob(d)`` turned up from 0 in steps of ``step``, at most ``most``) until
    L = (1 + rise) L0 (or the largest rise below V_max: where the luminance peaks below the rise and falls before
    V_max, as where the dots' capacity stops the holes, or where the step after the brightest one fails, the peak,
    by golden section). Both readings carry the cathode's surface state
    (:func:`femqled.instruments.skpm.cathode_surface`) at the operating point (``surface_op``) and at 3 V
    (``surface_3V``). The elevated reading's
    ``peeloff``: the luminance at J after each peel-off rebuild (``rebuild``: site -> setter, :func:`knob`; the
    barrier's: both put it back; each from rest; NaN where the rebuilt device cannot be operated)."""
    c = dev.contacts
    ss = cv.SmallSignal(dev)
    y_if = interface_height(dev)
    if knob is None:
        knob = lambda d: c.set_barrier(c.barrier0_eV + d)                 # noqa: E731
        rebuild = {s: lambda d: knob(0.0) for s in SITES}

    def at(d):
        knob(d)
        try:
            return dev.operate(J, V_max=V_max)
        except SolverError:
            return None

    op0 = at(0.0)
    if op0 is None:
        raise SolverError(f"the device as it is cannot be operated at {J:g} mA/cm2 below {V_max:g} V")
    L0 = op0.extra["luminance_cd_m2"]
    p = {"knob": 0.0, "V": op0.V, "L": L0, "eta_X": op0.extra["eta_X"], "record": dict(op0.extra),
         "drops_op": operating_drops(dev), "surface_op": cathode_surface(dev), **readings(dev, ss)}

    def done(op):
        return op is None or op.extra["luminance_cd_m2"] >= (1 + rise) * L0

    def luminance(d):
        op = at(d)
        return -np.inf if op is None else op.extra["luminance_cd_m2"]

    lo, hi = 0.0, step
    best, fallen = (L0, 0.0), False                      # the brightest step so far (luminance, knob)
    while True:
        op = at(hi)
        if op is not None and op.extra["luminance_cd_m2"] > best[0]:
            best = (op.extra["luminance_cd_m2"], hi)
        if done(op) or hi >= most:
            break
        if op.extra["luminance_cd_m2"] < 0.5 * best[0]:   # past a peak below the rise (e.g. the dots' capacity)
            fallen = True
            break
        lo, hi = hi, hi + step
    # below the rise, the luminance peaked and fell, or a step failed (the compliance) after the brightest step, which
    # a peak within that step can hide (with dim positive trions at high current, the contact-limit test's case)
    peak = best[0] < (1 + rise) * L0 and (fallen or best[1] < lo or op is None)
    if peak:
        # the elevated state is the peak (golden section)
        d, L_d = contact_limit.golden_max(luminance, max(best[1] - step, 0.0), best[1] + step, 12)
        if L_d >= (1 + rise) * L0:
            # ... unless the steps stepped over a peak narrower than a step that does reach the rise (with dim
            # positive trions, docs/model.md "Positive trions"): then the rise on its rising side
            lo, hi, peak = max(best[1] - step, 0.0), d, False
        else:
            lo = d if L_d >= best[0] else best[1]
    if not peak:
        for _ in range(bisections):
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if done(at(mid)) else (mid, hi)
    op = at(lo)
    e = {"knob": lo, "V": op.V, "L": op.extra["luminance_cd_m2"], "eta_X": op.extra["eta_X"],
         "record": dict(op.extra), "drops_op": operating_drops(dev), "surface_op": cathode_surface(dev),
         **readings(dev, ss, p["floor"])}
    e["skpm"], e["y_ZnO_Ag_nm"] = skpm.compare(p["profile"], e["profile"], y_if), y_if
    e["peeloff"] = {}
    for site, setter in (rebuild or {}).items():
        setter(lo)
        try:              # a rebuilt device starts at rest (from the aged state, a contact 1 eV lower at once is
            dev.reset()   # a solve from far off: the 2D pinholes at 98 % never got back, docs/model.md)
            op_site = dev.operate(J, V_max=V_max)
        except SolverError:
            op_site = None
        e["peeloff"][site] = op_site.extra["luminance_cd_m2"] if op_site else float("nan")
    knob(lo)
    return p, e


def across(p: dict, e: dict, key: str, where: str) -> str:
    """"<where> across HIL / HTL / ...: pristine drops -> elevated drops V" from the ``key`` of two readings."""
    volts = [" / ".join(f"{v:.2f}" for v in r[key].values()) for r in (p, e)]
    return f"{where} across {' / '.join(p[key])}: {volts[0]} -> {volts[1]} V"
