"""Fields of a device state in physical units, for ParaView (VTX) and pictures.

Densities and rates jump at heterojunctions, so they are written in discontinuous P1 (each triangle with its own
band parameters); potentials are continuous. Units: psi, phi_n, phi_p in V (phi = -E_F/q, the cathode Fermi level
is 0); n, p in cm^-3; E in V/nm; J_n, J_p in mA cm^-2; R, R_X, R_trion, R_trap in cm^-3 s^-1 (R: all
recombination; in the QD film R_X + R_trion is exciton formation, R_trap the dark trap-assisted part; with
``[emission] trions = "both"`` R_trion_pos, the positive trions, too).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import ufl
from dolfinx import fem, io

from femqled import compat


class FieldWriter:
    """Evaluates the fields of a :class:`femqled.device.Device` and writes them, once or as a time series."""

    SCALARS = ("psi", "phi_n", "phi_p", "n", "p", "R", "R_X", "R_trion", "R_trap")
    VECTORS = ("E", "J_n", "J_p")

    def __init__(self, dev):
        self.dev = dev
        mesh = dev.mesh
        self.D1 = fem.functionspace(mesh, ("Discontinuous Lagrange", 1))
        self.D1v = fem.functionspace(mesh, ("Discontinuous Lagrange", 1, (2,)))
        sc, u, m = dev.sc, dev.u, dev.mat
        Vt, N0 = sc.Vt, 1e18
        n, p = dev.n, dev.p
        R0 = sc.R0 * 1e-6      # cm^-3 s^-1
        J0 = sc.J0_mA_cm2
        exprs = {"psi": u[0] * Vt, "phi_n": u[1] * Vt, "phi_p": u[2] * Vt, "n": n * N0, "p": p * N0,
                 "R": dev.R * R0}
        if dev.emission.active:
            qd = m.indicator(dev.emission.qd)
            wX, wT, wP = dev.emission.channel_weights(n, dev.p)
            exprs["R_X"] = dev.R_langevin * wX * qd * R0
            exprs["R_trion"] = dev.R_langevin * wT * qd * R0
            if dev.emission.both_trions:
                exprs["R_trion_pos"] = dev.R_langevin * wP * qd * R0
            exprs["R_trap"] = dev.R_srh * qd * R0
        vexprs = {"E": -ufl.grad(u[0]) * Vt, "J_n": -m.mun * n * ufl.grad(u[1]) * J0,
                  "J_p": -m.mup * p * ufl.grad(u[2]) * J0}
        ip = self.D1.element.interpolation_points
        ipv = self.D1v.element.interpolation_points
        ip = ip() if callable(ip) else ip
        ipv = ipv() if callable(ipv) else ipv
        self.functions, self._expr = {}, []
        for name, e in exprs.items():
            fn = fem.Function(self.D1, name=name)
            self.functions[name] = fn
            self._expr.append((fn, fem.Expression(e, ip)))
        self.vectors = {}
        for name, e in vexprs.items():
            fn = fem.Function(self.D1v, name=name)
            self.vectors[name] = fn
            self._expr.append((fn, fem.Expression(e, ipv)))
        self._writers = None

    def update(self) -> None:
        for fn, expr in self._expr:
            fn.interpolate(expr)
            fn.x.scatter_forward()

    def write(self, outdir: Path, t: float = 0.0, stem: str = "fields") -> list[Path]:
        """Write (or append at time t) ``<stem>.bp`` (scalars) and ``<stem>_vectors.bp`` (VTX, ParaView)."""
        self.update()
        if self._writers is None or self._writers[0] != (outdir, stem):
            self.close()
            comm = self.dev.comm
            paths = [Path(outdir) / f"{stem}.bp", Path(outdir) / f"{stem}_vectors.bp"]
            w1 = io.VTXWriter(comm, str(paths[0]), list(self.functions.values()), engine="BP4")
            w2 = io.VTXWriter(comm, str(paths[1]), list(self.vectors.values()), engine="BP4")
            self._writers = ((outdir, stem), [w1, w2], paths)
        for w in self._writers[1]:
            w.write(t)
        return self._writers[2]

    def close(self) -> None:
        if self._writers is not None:
            for w in self._writers[1]:
                w.close()
            self._writers = None

    def vertex_values(self, name: str) -> np.ndarray:
        """(owned cells, 3): a scalar field at each owned triangle's vertices, for pictures (a density keeps its
        jump at a heterojunction: each triangle shows its own side)."""
        return vertex_values(self.functions[name])


def vertex_values(func) -> np.ndarray:
    """(owned cells, 3): a scalar P1 or DG1 function at each owned triangle's vertices, in the order of the cell's
    geometry nodes (:func:`femqled.compat.cell_nodes`); the same whatever the partition."""
    V = func.function_space
    n = V.mesh.topology.index_map(V.mesh.topology.dim).size_local
    return np.array(func.x.array[V.dofmap.list[:n]])


def per_width(dm, values: np.ndarray, *regions: str) -> float:
    """The integral of a field given at the vertices of each owned triangle ((owned cells, 3), linear on each)
    over the named regions (all if none), divided by the mesh's width: nm x the field's unit (a density in
    cm^-3 gives 1e7 x its areal density in cm^-2). Collective; the same on any number of ranks."""
    from femqled.mesh import owned_cell_vertices

    P = owned_cell_vertices(dm.mesh)
    a1, a2 = P[:, 1] - P[:, 0], P[:, 2] - P[:, 0]
    area = 0.5 * np.abs(a1[:, 0] * a2[:, 1] - a1[:, 1] * a2[:, 0])
    keep = np.ones(len(P), dtype=bool)
    if regions:
        keep = np.isin(dm.region_ids()[: len(P)], [dm.layout.regions[r] for r in regions])
    local = float(np.sum(area[keep] * np.asarray(values, dtype=float)[: len(P)][keep].mean(axis=1)))
    return dm.comm.allreduce(local) / dm.layout.width_nm


def write_xdmf_potentials(dev, path: Path) -> None:
    """The continuous potentials (psi, phi_n, phi_p in V) in XDMF, with the mesh."""
    S = dev.S
    funcs = []
    for k, name in enumerate(("psi", "phi_n", "phi_p")):
        f = fem.Function(S, name=name)
        f.x.array[:] = dev.u.x.array[k::3] * dev.sc.Vt
        funcs.append(f)
    with io.XDMFFile(dev.comm, str(path), "w") as xf:
        xf.write_mesh(dev.mesh)
        for f in funcs:
            xf.write_function(f)


def write_state(dev, outdir: Path, stem: str) -> list[Path]:
    """The present state of ``dev`` as VTX fields ``<stem>.bp`` (+ vectors): e.g. the last good state."""
    fw = FieldWriter(dev)
    try:
        return fw.write(Path(outdir), stem=stem)
    finally:
        fw.close()


def sweep_stopped(dev, outdir: Path, rows: list[dict], name: str, error: Exception, state_stem: str):
    """A bias sweep that stopped on ``error``: its converged points ``<name>.csv`` and the last good state
    ``<state_stem>.bp`` written to ``outdir``; returns the SolverError that says so (for the caller to raise)."""
    from femqled import io
    from femqled.errors import SolverError

    io.write_csv(Path(outdir) / f"{name}.csv", rows, comm=dev.comm)
    write_state(dev, outdir, state_stem)
    return SolverError(f"{error}; the {len(rows)} converged points are in {Path(outdir) / f'{name}.csv'} and the "
                       f"last good state ({dev.bias:g} V) in {Path(outdir) / f'{state_stem}.bp'}")


class AcetateWriter:
    """The acetate concentration a (cm^-3, discontinuous P1: a jumps with the solubility) as a VTX time series."""

    def __init__(self, acetate, path: Path):
        self.acetate = acetate
        D1 = fem.functionspace(acetate.dm.mesh, ("Discontinuous Lagrange", 1))
        self.a = fem.Function(D1, name="acetate_cm3")
        ip = D1.element.interpolation_points
        self._expr = fem.Expression(acetate.S * acetate.c * 1e21, ip() if callable(ip) else ip)
        self.writer = io.VTXWriter(acetate.comm, str(path), [self.a], engine="BP4")

    def write(self, t: float) -> None:
        self.a.interpolate(self._expr)
        self.a.x.scatter_forward()
        self.writer.write(t)

    def close(self) -> None:
        self.writer.close()
