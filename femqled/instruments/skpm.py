"""Scanning Kelvin probe microscopy on a cross-section (He et al. 2023 Fig. 3j-k; MODEL.md sec. 5).

The electrostatic potential psi(y) across the stack at a bias (default 3 V), sampled along ``lines`` (5)
vertical lines evenly spread over the width and averaged, and the field E(y) = -d psi / dy (V/nm -> MV/cm by
x 10) by centred differences. Inside the cathode metal (beyond the rough interface of each line) the metal is an
equipotential: the profile there is the value at its interface. With an interfacial (Bardeen) layer at the
cathode (``contacts.interfacial_layer_nm`` > 0, :mod:`femqled.contacts`) the layer is not meshed but takes a
voltage: the profile then goes linearly from the semiconductor's surface potential to the metal's over the
layer's thickness d_i beyond the interface, so its field (psi_s - psi_m) / d_i shows where SKPM would see it.
Where the bias goes (:func:`layer_drops`): the potential difference across each layer of the stack along the
averaged profile, bottom to top at the layers' nominal interfaces (the last layer to the end of the profile, inside
the metal), in ``skpm.json``; the SKPM row of REPORT.md reads pristine and aged side by side with it. And what
the cathode's contact law sees (:func:`cathode_surface`): the field and the electron density at the ETL's surface
next to the cathode, in ``skpm.json`` (``cathode_surface``) and beside the SKPM row.
With mobile ions (``[ions]``) the reading can take either limit of a scan of minutes: the ions where the last
operation left them (the default, as every other measurement sees them) or settled at the bias (``hold``).
Outputs: ``skpm.csv`` (y, psi, E), ``skpm.json`` (bias, the drop per layer) and ``skpm.png``.
"""

from __future__ import annotations

import numpy as np
from mpi4py import MPI

from femqled.instruments.figure import figure, legend
from femqled.probe import evaluate


def profile(dev, lines: int = 5, dy_nm: float = 0.1) -> dict[str, np.ndarray]:
    """Averaged psi(y) (V) and E(y) (MV/cm) along ``lines`` vertical lines, y from the anode to the top of the
    highest point of the cathode (and 1 nm beyond the thickest interfacial layer, if there is one)."""
    lay = dev.dm.layout
    W = lay.width_nm
    xs = W * (np.arange(lines) + 0.5) / lines
    X = dev.mesh.geometry.x
    y_top = dev.comm.allreduce(float(X[:, 1].max()) if len(X) else -np.inf, op=MPI.MAX)
    c = dev.contacts
    if c.interfacial:      # the layer lies beyond the meshed interface: extend the lines through it into the metal
        d_max = dev.comm.allreduce(float(c.d_i.x.array.max()) if len(c.d_i.x.array) else 0.0, op=MPI.MAX)
        y_top += d_max + 1.0
    y = np.arange(0.0, y_top + dy_nm / 2, dy_nm)
    psi_lines, ends = [], []
    for x in xs:
        vals = evaluate(dev.u, np.column_stack([np.full_like(y, x), y]), component=0) * dev.sc.Vt
        last = np.flatnonzero(np.isfinite(vals))[-1]      # the line's last point in the semiconductor
        vals[last + 1:] = vals[last]                      # the metal beyond the interface: equipotential
        psi_lines.append(vals)
        ends.append(last)
    if c.interfacial:                                     # ... behind the interfacial layer's drop
        at = np.column_stack([xs, y[ends]])
        psi_m, d_i = evaluate(c.psi_cathode, at) * dev.sc.Vt, evaluate(c.d_i, at)
        for vals, last, pm, d in zip(psi_lines, ends, psi_m, d_i):
            w = np.clip((y[last + 1:] - y[last]) / d, 0.0, 1.0)
            vals[last + 1:] = vals[last] + w * (pm - vals[last])
    psi = np.nanmean(np.array(psi_lines), axis=0)
    E = -np.gradient(psi, y) * 10.0                         # V/nm -> MV/cm
    return {"y_nm": y, "psi_V": psi, "E_MV_cm": E, "lines_x_nm": xs}


def field_near(prof: dict, y0: float, within_nm: float = 5.0) -> float:
    """Largest |E| (MV/cm) within ``within_nm`` of the depth y0 (e.g. the ZnO/Ag interface)."""
    near = np.abs(prof["y_nm"] - y0) <= within_nm
    return float(np.max(np.abs(prof["E_MV_cm"][near])))


def compare(pristine: dict, aged: dict, y0: float, within_nm: float = 5.0) -> tuple[float, float]:
    """The SKPM reading of He et al. 2023 Fig. 3j-k as two numbers: the largest field within ``within_nm`` of
    y0 (the ZnO/Ag interface), aged over pristine; and the largest relative change of |E| elsewhere, where the
    pristine field is at least 10 % of its maximum there (NaN if nowhere), on the pristine profile's points."""
    near = field_near(aged, y0, within_nm) / field_near(pristine, y0, within_nm)
    y = pristine["y_nm"]
    far = np.abs(y - y0) > within_nm
    Ea = np.abs(pristine["E_MV_cm"][far])
    Eb = np.abs(np.interp(y, aged["y_nm"], aged["E_MV_cm"])[far])       # the profiles may differ in length
    big = Ea > 0.1 * Ea.max()
    change = float(np.max(np.abs(Eb[big] - Ea[big]) / Ea[big])) if np.any(big) else float("nan")
    return float(near), change


def cathode_surface(dev, depth_nm: float = 0.3) -> dict:
    """The state of the ETL's surface at the cathode (in the interlayer, where the case has one), ``depth_nm`` in
    from the interface along the flat-contact cutline (:func:`femqled.instruments.bands.position`, "flat"): the
    field ``E_MV_cm`` (positive where it drives electrons from the cathode into the device) and the electron
    density ``n_cm3``. Collective.

    This is what any contact law sees: its net injection depends on the surface field and density (and on the
    contact's own state). At a given current and rise the state of the dots is fixed, and the ETL between them
    and the contact follows from it, so every contact law that reaches that rise leaves the same surface state
    (docs/model.md, "No contact law does it")."""
    from femqled.instruments import bands

    b = bands.cutline(dev, "flat")
    inside = np.flatnonzero(np.isfinite(b["Evac_eV"]))
    y, Evac = b["y_nm"][inside], b["Evac_eV"][inside]
    at = y[-1] - depth_nm                                   # the last point in the semiconductor: the interface
    E = np.gradient(Evac, y) * 10.0                         # E = -d psi / dy, psi = -Evac; V/nm -> MV/cm
    return {"E_MV_cm": float(np.interp(at, y, E)), "n_cm3": float(np.interp(at, y, b["n_cm3"][inside]))}


def layer_drops(prof: dict, layout) -> dict[str, float]:
    """Potential drop (V, anode side minus cathode side) across each layer of ``layout.stack`` along the
    averaged profile: between the nominal bottom and top of each layer; the last layer's top is the end of the
    profile (in the metal, so a rough interface and an interfacial layer's drop count towards it)."""
    y, psi = prof["y_nm"], prof["psi_V"]
    out = {}
    for i, region in enumerate(layout.stack):
        lo = layout.y[f"{region}.bottom"]
        hi = y[-1] if i == len(layout.stack) - 1 else layout.y[f"{region}.top"]
        out[region] = float(np.interp(lo, y, psi) - np.interp(hi, y, psi))
    return out


def run(dev, V: float, outdir, lines: int = 5, hold: bool = False) -> dict:
    """The profile at V (:func:`profile`), the drop per layer and the cathode's surface, written to ``outdir``.
    ``hold``: the device held at V until its mobile ions settle there (:meth:`femqled.ions.MobileIons.settle`),
    as over a scan of minutes; otherwise (and always without ions) they stay where the last operation left them."""
    from femqled import io

    if hold and dev.ions is not None:
        dev.ions.settle(V)
    else:
        dev.solve(V)
    prof = profile(dev, lines)
    prof["drops_V"] = layer_drops(prof, dev.dm.layout)
    prof["surface"] = cathode_surface(dev)
    rows = [{"y_nm": a, "psi_V": b, "E_MV_cm": c} for a, b, c in zip(prof["y_nm"], prof["psi_V"], prof["E_MV_cm"])]
    io.write_csv(outdir / "skpm.csv", rows, comm=dev.comm)
    io.write_json(outdir / "skpm.json", {"V": V, "lines": lines, "hold": hold, "drops_V": prof["drops_V"],
                                         "cathode_surface": prof["surface"]}, comm=dev.comm)
    if dev.comm.rank == 0:
        plot(prof, V, outdir / "skpm.png")
    return prof


def plot(prof, V, path, other=None, labels=("", "")) -> None:
    with figure(path, 2, (10, 4)) as (fig, (a1, a2)):
        for p, style, lab in ((prof, "r--", labels[0]), (other, "b-", labels[1])):
            if p is None:
                continue
            a1.plot(p["y_nm"], p["psi_V"], style, label=lab)
            a2.plot(p["y_nm"], p["E_MV_cm"], style, label=lab)
        a1.set_xlabel("y (nm, from the anode)")
        a1.set_ylabel(f"potential at {V:g} V (V)")
        a2.set_xlabel("y (nm, from the anode)")
        a2.set_ylabel("field (MV/cm)")
        if other is not None:
            legend(a1)
