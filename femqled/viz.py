"""Pictures rendered off-screen with PyVista: regions of a mesh, fields of a state.

Reads like the sentence: ``plot_regions(dm, "mesh.png")``, ``plot_field(dm, psi, "psi.png", zoom="cathode")``.
Rank 0 renders from data gathered from all ranks; other ranks return at once. Needs no display (off-screen,
with Xvfb started by PyVista where the VTK build requires one).
"""

from __future__ import annotations

import os

import numpy as np
from mpi4py import MPI

from femqled import compat

os.environ.setdefault("PYVISTA_OFF_SCREEN", "true")

_XVFB = None


def ensure_display() -> None:
    """Give VTK an X display when there is none: a private Xvfb on a free display number, ended at exit.

    Debian's VTK renders off-screen through X; ``Xvfb -displayfd`` picks a free display, so concurrent
    processes never collide.
    """
    global _XVFB
    if os.environ.get("DISPLAY") or _XVFB is not None:
        return
    import atexit
    import shutil
    import subprocess

    if shutil.which("Xvfb") is None:
        raise RuntimeError("rendering needs an X display or Xvfb (Debian package xvfb)")
    r, w = os.pipe()
    _XVFB = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1600x1200x24", "-nolisten", "tcp"],
                             pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as f:
        number = f.readline().strip()
    if not number:
        raise RuntimeError("Xvfb did not start")
    os.environ["DISPLAY"] = f":{number}"
    atexit.register(_XVFB.terminate)


def _gather_grid(dm, cell_values: np.ndarray | None = None, point_values: dict | None = None):
    """Gather the owned cells of all ranks into one pyvista grid on rank 0 (None elsewhere)."""
    mesh = dm.mesh
    tdim = mesh.topology.dim
    n = mesh.topology.index_map(tdim).size_local
    x = mesh.geometry.x
    cells = compat.cell_nodes(mesh)[:n]
    pts = x[cells].reshape(-1, 3)            # duplicate vertices per cell: simple and exact for P1/DG0 data
    data = {"pts": pts}
    if cell_values is not None:
        data["cell"] = cell_values[:n]
    for name, vals in (point_values or {}).items():
        data[name] = vals[cells].reshape(-1)
    allp = dm.comm.gather(data, root=0)
    if dm.comm.rank != 0:
        return None
    ensure_display()
    import pyvista as pv

    P = np.concatenate([d["pts"] for d in allp])
    nc = P.shape[0] // 3
    conn = np.hstack([np.full((nc, 1), 3), np.arange(3 * nc).reshape(nc, 3)]).ravel()
    grid = pv.UnstructuredGrid(conn, np.full(nc, pv.CellType.TRIANGLE, dtype=np.uint8), P)
    if cell_values is not None:
        grid.cell_data["value"] = np.concatenate([d["cell"] for d in allp])
    for name in point_values or {}:
        grid.point_data[name] = np.concatenate([d[name] for d in allp])
    return grid


def _window(dm, zoom: str | None):
    """Camera bounds (xmin, xmax, ymin, ymax) for a zoom target."""
    lay = dm.layout
    if zoom == "cathode":
        yc = lay.y["cathode"]
        W = lay.width_nm
        return (W / 2 - W / 6, W / 2 + W / 6, yc - 8, yc + 10)
    return None


def plot_regions(dm, path, zoom: str | None = None, title: str | None = None) -> str | None:
    """Colour each region; the rough interface and trenches show as the boundaries between colours."""
    grid = _gather_grid(dm, cell_values=dm.region_ids().astype(float))
    if grid is None:
        return None
    import pyvista as pv

    names = {v: k for k, v in dm.layout.regions.items()}
    pl = pv.Plotter(off_screen=True, window_size=(1400, 900))
    pl.add_mesh(grid, scalars="value", cmap="tab10", show_edges=zoom is not None, edge_color="#333333",
                line_width=0.3, categories=True, show_scalar_bar=False)
    centres = []
    labels = []
    for tag, name in names.items():
        sub = grid.extract_cells(np.flatnonzero(grid.cell_data["value"] == tag))
        if sub.n_cells:
            c = np.array(sub.center)
            if zoom is None or _inside(c, _window(dm, zoom)):
                centres.append(c + [0, 0, 1])
                labels.append(name)
    if centres:
        pl.add_point_labels(np.array(centres), labels, font_size=18, point_size=1, shape_opacity=0.6)
    _camera(pl, grid, _window(dm, zoom))
    pl.add_title(title or ("regions" if zoom is None else f"regions near the {zoom}"), font_size=12)
    pl.screenshot(str(path))
    pl.close()
    return str(path)


def plot_field(dm, values: np.ndarray, path, name: str = "field", zoom: str | None = None,
               log: bool = False, cmap: str = "viridis", clim=None) -> str | None:
    """Plot a P1 field (one value per mesh geometry node, as ``u.x.array`` of a P1 function). The colour range
    is ``clim`` (in log10 units where ``log``), else that of what the picture shows (:func:`colour_range`)."""
    if clim is None:
        clim = colour_range(dm, values, zoom, log)
    v = np.log10(np.maximum(values, 1e-300)) if log else values
    grid = _gather_grid(dm, point_values={name: v})
    if grid is None:
        return None
    import pyvista as pv

    pl = pv.Plotter(off_screen=True, window_size=(1400, 900))
    pl.add_mesh(grid, scalars=name, cmap=cmap, clim=clim,
                scalar_bar_args={"title": ("log10 " if log else "") + name})
    _camera(pl, grid, _window(dm, zoom))
    pl.screenshot(str(path))
    pl.close()
    return str(path)


def colour_range(dm, values: np.ndarray, zoom: str | None = None, log: bool = False):
    """(min, max) of a nodal field over the nodes a picture shows (the zoom window, or all), on every rank; None
    where it is empty or flat (the plotter's own range)."""
    v = np.log10(np.maximum(values, 1e-300)) if log else np.asarray(values, dtype=float)
    win = _window(dm, zoom)
    mesh = dm.mesh
    nodes = np.unique(compat.cell_nodes(mesh)[: mesh.topology.index_map(mesh.topology.dim).size_local])
    x = mesh.geometry.x
    shown = np.zeros(len(v), dtype=bool)
    shown[nodes] = True                            # the nodes of owned cells: what the picture gathers
    if win is not None:
        shown &= (x[:, 0] >= win[0]) & (x[:, 0] <= win[1]) & (x[:, 1] >= win[2]) & (x[:, 1] <= win[3])
    lo = dm.comm.allreduce(float(v[shown].min()) if shown.any() else np.inf, op=MPI.MIN)
    hi = dm.comm.allreduce(float(v[shown].max()) if shown.any() else -np.inf, op=MPI.MAX)
    return (lo, hi) if np.isfinite(lo) and hi > lo else None


def p1_to_geometry(func) -> np.ndarray:
    """Nodal values of a P1 function in mesh geometry order (what :func:`plot_field` takes)."""
    mesh = func.function_space.mesh
    tdim = mesh.topology.dim
    ncell = mesh.topology.index_map(tdim).size_local + mesh.topology.index_map(tdim).num_ghosts
    out = np.zeros(mesh.geometry.x.shape[0])
    out[compat.cell_nodes(mesh)[:ncell].ravel()] = func.x.array[func.function_space.dofmap.list[:ncell].ravel()]
    return out


def state_images(dev, acetate) -> dict[str, tuple]:
    """The pictures of a state, not yet drawn: ``{stem: (DeviceMesh, nodal values, plot options)}`` for psi, n,
    p, R_X, R_trion, R_trap where the dots have traps (whole stack), n near the cathode and the acetate near the
    rough interface and trenches."""
    from femqled.fields import FieldWriter

    fw = FieldWriter(dev)
    fw.update()
    images = {"psi": (dev.dm, np.array(fw.nodal("psi")), {"name": "psi (V)"})}
    traps = dev.emission.active and dev.mat.values[dev.emission.qd]["srh"] > 0
    for name, unit in (("n", "cm^-3"), ("p", "cm^-3"), ("R_X", "cm^-3 s^-1"), ("R_trion", "cm^-3 s^-1"),
                       ("R_trap", "cm^-3 s^-1")):
        if name in fw.functions and (name != "R_trap" or traps):
            images[name] = (dev.dm, np.array(fw.nodal(name)), {"name": f"{name} ({unit})", "log": True})
    images["n_cathode"] = (dev.dm, images["n"][1], {"name": "n (cm^-3)", "log": True, "zoom": "cathode"})
    fw.close()
    if acetate is not None:
        # floor at 1e15 cm^-3: backward Euler leaves tiny (even slightly negative) values ahead of a front
        a = np.maximum(p1_to_geometry(acetate.c) * 1e21, 1e15)
        images["acetate"] = (acetate.dm, a, {"name": "acetate a/S (cm^-3)", "log": True, "zoom": "cathode",
                                             "cmap": "magma"})
    return images


def draw_states(states: dict[str, tuple]) -> list[str]:
    """Draw the pictures of several states, ``{label: (images, outdir)}``, into ``<outdir>/<stem>_<label>.png``;
    a picture has the same colour range in every state (pristine and aged compare by eye)."""
    from pathlib import Path

    paths = []
    stems = dict.fromkeys(stem for images, _ in states.values() for stem in images)
    for stem in stems:
        drawn = {label: (images[stem], outdir) for label, (images, outdir) in states.items() if stem in images}
        ranges = [colour_range(dm, v, opts.get("zoom"), opts.get("log", False))
                  for (dm, v, opts), _ in drawn.values()]
        ranges = [r for r in ranges if r is not None]
        clim = (min(r[0] for r in ranges), max(r[1] for r in ranges)) if ranges else None
        for label, ((dm, v, opts), outdir) in drawn.items():
            paths.append(plot_field(dm, v, Path(outdir) / f"{stem}_{label}.png", clim=clim, **opts))
    return [p for p in paths if p]


def state_pictures(dev, acetate, outdir, label: str) -> list[str]:
    """2D pictures of one state (files ``<field>_<label>.png``): :func:`state_images`, drawn."""
    return draw_states({label: (state_images(dev, acetate), outdir)})


def _inside(c, win) -> bool:
    return win is None or (win[0] <= c[0] <= win[1] and win[2] <= c[1] <= win[3])


def _camera(pl, grid, win):
    pl.view_xy()
    if win is not None:
        x0, x1, y0, y1 = win
        pl.camera.focal_point = ((x0 + x1) / 2, (y0 + y1) / 2, 0)
        pl.camera.position = ((x0 + x1) / 2, (y0 + y1) / 2, 1000)
        pl.camera.parallel_projection = True
        pl.camera.parallel_scale = max((y1 - y0) / 2, (x1 - x0) / 2 * 900 / 1400)
    else:
        pl.camera.parallel_projection = True
        pl.reset_camera()
        b = grid.bounds
        pl.camera.parallel_scale = max((b[3] - b[2]) / 2, (b[1] - b[0]) / 2 * 900 / 1400) * 1.05


def image_variance(path) -> float:
    """Pixel variance of a PNG (0 for a blank picture)."""
    import matplotlib.image

    img = matplotlib.image.imread(str(path))
    return float(np.var(img[..., :3]))
