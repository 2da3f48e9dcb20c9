"""Band diagram along a cutline: where the bias goes and where each carrier piles up (TCAD's first picture).

Along one vertical line across the stack (at ``x`` nm, default the middle of the width; :func:`position` also
takes "trench", through the middle of the first trench's foot, and "flat", through the contact farthest from every
trench), sampled every ``dy_nm`` between mesh nodes (never on a flat interface, so each point lies in one
material):

    E_c = -(psi + chi),   E_v = E_c - E_g,   E_Fn = -phi_n,   E_Fp = -phi_p     (eV, the cathode Fermi level 0)

with the unknowns of :mod:`femqled.device` in volts and each point's own electron affinity chi and gap E_g, so
that n = N_c exp((E_Fn - E_c)/kT) and p = N_v exp((E_v - E_Fp)/kT) are the device's densities (times g(eta) of
:mod:`femqled.statistics` in a single-level material); the vacuum level
is -psi. The metal beyond the cathode interface is left out (NaN). Outputs: ``<stem>.csv`` (y, E_vac, E_c, E_v,
E_Fn, E_Fp, n, p), ``<stem>.json`` (the state's bias, the line, each layer's span and the drop across it) and
``<stem>.png``.
"""

from __future__ import annotations

import numpy as np

from mpi4py import MPI

from femqled import statistics
from femqled.errors import InputError
from femqled.instruments.figure import figure, legend
from femqled.probe import evaluate
from femqled.scaling import N0_CM3

COLUMNS = ("y_nm", "Evac_eV", "Ec_eV", "Ev_eV", "EFn_eV", "EFp_eV", "n_cm3", "p_cm3")


def position(dm, x) -> float:
    """The cutline's x (nm) from a number, None (the middle of the width), "trench" (the middle of the first
    trench's foot on the cathode) or "flat" (the point of the width farthest from every trench foot, 1 nm in from
    the lateral sides, where the contact is flat; the middle without trenches). Collective."""
    from femqled.mesh import trench_feet

    W = dm.layout.width_nm
    if x is None:
        return W / 2
    if x not in ("trench", "flat"):
        try:
            return float(x)
        except (TypeError, ValueError):
            raise InputError("--x", f"a position across the width (nm, 0..{W:g}), 'trench' or 'flat'; got {x!r}")
    feet = trench_feet(dm)
    if x == "trench" and not feet:
        raise InputError("--x", "this case has no [[trench]]; give a position across the width (nm) or 'flat'")
    return _through(feet[0]) if x == "trench" else _flat(W, feet)


def _through(foot: tuple[float, float]) -> float:
    """The middle of a trench's foot (nm)."""
    return (foot[0] + foot[1]) / 2


def _flat(W: float, feet: list[tuple[float, float]]) -> float:
    """The point of [1, W - 1] nm farthest from every foot (the zero-flux sides are mirrors: nothing lies beyond
    them); the middle without feet."""
    if not feet:
        return W / 2
    xs = np.linspace(min(1.0, W / 2), max(W - 1.0, W / 2), 2001)
    gap = np.min([np.maximum(np.maximum(a - xs, xs - b), 0.0) for a, b in feet], axis=0)
    return float(xs[np.argmax(gap)])


def cutlines(dm) -> dict[str, float]:
    """Where to look across the width (collective): through the first trench and through the flat contact
    ({"trench": x, "flat": x}, nm), or {"middle": x} without trenches."""
    from femqled.mesh import trench_feet

    feet = trench_feet(dm)
    W = dm.layout.width_nm
    return {"trench": _through(feet[0]), "flat": _flat(W, feet)} if feet else {"middle": W / 2}


def cutline(dev, x_nm: float | None = None, dy_nm: float = 0.1, y_nm=None) -> dict[str, np.ndarray]:
    """The band diagram of the present state along the vertical line at ``x_nm`` (collective; every rank gets
    it): arrays of :data:`COLUMNS`, NaN where the line is outside the semiconductor; at the heights ``y_nm`` if
    given (a point on an interface then takes either side's material)."""
    lay = dev.dm.layout
    x = position(dev.dm, x_nm)
    if not 0.0 <= x <= lay.width_nm:
        raise InputError("--x", f"the cutline must lie within the width, 0..{lay.width_nm:g} nm; got {x:g}")
    X = dev.mesh.geometry.x
    top = dev.comm.allreduce(float(X[:, 1].max()) if len(X) else -np.inf, op=MPI.MAX)
    y = ((np.arange(int(np.floor(top / dy_nm))) + 0.5) * dy_nm      # between nodes: one material per point
         if y_nm is None else np.asarray(y_nm, dtype=float))
    pts = np.column_stack([np.full_like(y, x), y])
    Vt = dev.sc.Vt
    psi, phi_n, phi_p = (evaluate(dev.u, pts, component=k) * Vt for k in range(3))
    chi, Eg = evaluate(dev.mat.chi, pts) * Vt, evaluate(dev.mat.Eg, pts) * Vt
    lnNc, lnNv = evaluate(dev.mat.lnNc, pts), evaluate(dev.mat.lnNv, pts)
    Ec = -(psi + chi)
    Ev = Ec - Eg
    EFn, EFp = -phi_n, -phi_p
    eta_n, eta_p = (EFn - Ec) / Vt, (Ev - EFp) / Vt
    if dev.mat.single_level:                                    # femqled.statistics
        level = evaluate(dev.mat.level, pts)
        lnNc, lnNv = lnNc + level * statistics.ln_g(eta_n), lnNv + level * statistics.ln_g(eta_p)
    with np.errstate(over="ignore", invalid="ignore"):          # N_c, N_v scaled by N0_CM3
        n = N0_CM3 * np.exp(lnNc + eta_n)
        p = N0_CM3 * np.exp(lnNv + eta_p)
    return dict(zip(COLUMNS, (y, -psi, Ec, Ev, EFn, EFp, n, p)))


def spans(layout) -> dict[str, tuple[float, float]]:
    """Nominal (bottom, top) of each layer of the stack (nm)."""
    return {r: (layout.y[f"{r}.bottom"], layout.y[f"{r}.top"]) for r in layout.stack}


def drops(b: dict, layout) -> dict[str, float]:
    """The potential drop across each layer along the cutline (V, anode side minus cathode side; the vacuum level
    is -psi), as :func:`femqled.instruments.skpm.layer_drops` reads it: where the bias goes."""
    from femqled.instruments.skpm import layer_drops

    keep = np.isfinite(b["Evac_eV"])
    return layer_drops({"y_nm": b["y_nm"][keep], "psi_V": -b["Evac_eV"][keep]}, layout)


def run(dev, outdir, stem: str = "bands", x_nm: float | str | None = None, title: str = "") -> dict:
    """Write the band diagram of the present state (the caller brings it to its bias or current) along the cutline
    at ``x_nm`` (:func:`position`)."""
    from femqled import io

    x_nm = position(dev.dm, x_nm)
    b = cutline(dev, x_nm)
    keep = np.isfinite(b["Ec_eV"])
    rows = [{k: float(b[k][i]) for k in COLUMNS} for i in np.flatnonzero(keep)]
    io.write_csv(outdir / f"{stem}.csv", rows, comm=dev.comm)
    lay = dev.dm.layout
    summary = {"V": float(dev.bias), "x_nm": x_nm,
               "layers_nm": spans(lay), "drops_V": drops(b, lay), "title": title}
    io.write_json(outdir / f"{stem}.json", summary, comm=dev.comm)
    if dev.comm.rank == 0:
        plot({title or f"{dev.bias:.3g} V": b}, spans(lay), outdir / f"{stem}.png")
    return {"bands": b, **summary}


def plot(diagrams: dict[str, dict], layers: dict, path, ncols: int | None = None) -> None:
    """One panel per diagram (``{title: cutline(...)}``), ``ncols`` to a row (default all in one row), on one
    energy axis: E_c and E_v (black), E_Fn (blue, dashed), E_Fp (red, dashed), the layers named above."""
    ncols = ncols or len(diagrams)
    nrows = -(-len(diagrams) // ncols)
    with figure(path, ncols, (5.5 * ncols, 4.6 * nrows), nrows=nrows) as (fig, axes):
        axes = np.ravel(axes)
        lo = min(np.nanmin(b["Ev_eV"]) for b in diagrams.values())
        hi = max(np.nanmax(b["Ec_eV"]) for b in diagrams.values())
        for ax, (title, b) in zip(axes, diagrams.items()):
            y = b["y_nm"]
            ax.plot(y, b["Ec_eV"], "k-", lw=1.2, label="$E_c$, $E_v$")
            ax.plot(y, b["Ev_eV"], "k-", lw=1.2)
            ax.plot(y, b["EFn_eV"], "b--", lw=1.0, label="$E_{Fn}$")
            ax.plot(y, b["EFp_eV"], "r--", lw=1.0, label="$E_{Fp}$")
            for name, (y0, y1) in layers.items():
                ax.axvline(y0, color="0.8", lw=0.6)
                ax.text((y0 + y1) / 2, hi + 0.05 * (hi - lo), name, ha="center", va="bottom", fontsize=8)
            ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.15 * (hi - lo))
            ax.set_xlabel("y (nm, from the anode)")
            ax.set_ylabel("energy (eV, cathode Fermi level 0)")
            ax.set_title(title, fontsize=10)
            legend(ax, fontsize=8, loc="best")
