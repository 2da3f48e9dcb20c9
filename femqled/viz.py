"""Pictures of a mesh and of device states: PyVista (off-screen) for single fields, matplotlib for comparisons.

Reads like the sentence: ``plot_regions(dm, "mesh.png")``, ``plot_field(dm, psi, "psi.png", zoom="cathode")``,
``compare_states({"pristine": a, "aged": b}, "states.png")``. Rank 0 draws from data gathered from all ranks;
every rank calls (the zoom windows and colour ranges are collective), the others return at once. Needs no display
(off-screen, with Xvfb started where the VTK build requires one).

Zoom windows (:func:`window`), all over the third of the width centred on the first trench (where there is
none, on the lowest point of the rough cathode interface): ``"cathode"`` from 8 nm below the
nominal interface to 10 nm into the Ag; a layer's name, that layer with 1 nm either side; ``"LAYER:cathode"``
from that layer up to 10 nm into the Ag. A log picture shows at most :data:`LOG_DECADES` decades below its
largest value, and leaves grey where the quantity is zero (a recombination channel outside the dots, n in the
Ag).
"""

from __future__ import annotations

import os

import numpy as np
from mpi4py import MPI

from femqled import compat

os.environ.setdefault("PYVISTA_OFF_SCREEN", "true")

_XVFB = None
_X_CONNECTION = None         # kept open: an X server resets (refusing connections) when its last client leaves
LOG_DECADES = 10.0           # decades a log picture spans below its largest value
NO_DATA = "#d9d9d9"          # where a log picture's quantity is zero


def ensure_display() -> None:
    """Give VTK an X display when there is none that opens: a private Xvfb on a free display number, ended
    at exit.

    Debian's VTK renders off-screen through X; ``Xvfb -displayfd`` picks a free display, so concurrent
    processes never collide; ``-noreset``, so that a child process rendering on it never meets a server
    between two lives.
    """
    global _XVFB
    if _XVFB is not None or _X_CONNECTION is not None or _display_opens(os.environ.get("DISPLAY")):
        return
    import atexit
    import shutil
    import subprocess

    if shutil.which("Xvfb") is None:
        raise RuntimeError("rendering needs an X display or Xvfb (Debian package xvfb)")
    r, w = os.pipe()
    _XVFB = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1600x1200x24", "-nolisten", "tcp",
                              "-noreset"],
                             pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as f:
        number = f.readline().strip()
    if not number:
        raise RuntimeError("Xvfb did not start")
    os.environ["DISPLAY"] = f":{number}"
    atexit.register(_XVFB.terminate)


def _display_opens(display: str | None) -> bool:
    """Whether Xlib can open ``display``: a DISPLAY that does not open (seen in CI: ``:0``) would make VTK
    abort the process, so it counts as none. The connection stays open for the process's life, so the server
    cannot reset between this check and VTK's own connection."""
    global _X_CONNECTION
    if not display:
        return False
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("X11")
    if name is None:
        return False
    xlib = ctypes.CDLL(name)
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    handle = xlib.XOpenDisplay(display.encode())
    if not handle:
        return False
    _X_CONNECTION = handle
    return True


def _gather(dm, cell_values: np.ndarray | None = None, point_values: dict | None = None) -> dict | None:
    """The owned triangles of all ranks on rank 0 (None elsewhere): ``{"pts": (3 n, 3) vertices, three per
    triangle in order, "cell": per triangle, name: per vertex}``; ``point_values`` are (owned cells, 3) arrays
    (:func:`femqled.fields.vertex_values`)."""
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
        data[name] = np.asarray(vals)[:n].reshape(-1)
    allp = dm.comm.gather(data, root=0)
    if dm.comm.rank != 0:
        return None
    return {k: np.concatenate([d[k] for d in allp]) for k in data}


def _gather_grid(dm, cell_values: np.ndarray | None = None, point_values: dict | None = None):
    """Gather the owned cells of all ranks into one pyvista grid on rank 0 (None elsewhere)."""
    data = _gather(dm, cell_values, point_values)
    if data is None:
        return None
    ensure_display()
    import pyvista as pv

    P = data["pts"]
    nc = P.shape[0] // 3
    conn = np.hstack([np.full((nc, 1), 3), np.arange(3 * nc).reshape(nc, 3)]).ravel()
    grid = pv.UnstructuredGrid(conn, np.full(nc, pv.CellType.TRIANGLE, dtype=np.uint8), P)
    if cell_values is not None:
        grid.cell_data["value"] = data["cell"]
    for name in point_values or {}:
        grid.point_data[name] = data[name]
    return grid


def interfaces(dm) -> np.ndarray | None:
    """The interfaces between regions as segments ``(m, 2, 2)`` (nm) on rank 0 (None elsewhere)."""
    from femqled.mesh import facet_points

    allseg = dm.comm.gather(facet_points(dm, "interfaces"), root=0)
    return np.concatenate(allseg) if dm.comm.rank == 0 else None


def _focus_x(dm) -> float:
    """x (nm) the zoomed pictures centre on (collective): the middle of the first trench's foot on the cathode
    interface, else the lowest point of that interface, else the middle of the width."""
    from femqled.mesh import cathode_sets, facet_points, trench_feet

    feet = trench_feet(dm)
    if feet:
        return (feet[0][0] + feet[0][1]) / 2
    lay = dm.layout
    cathode = cathode_sets(lay)
    x = facet_points(dm, *cathode).reshape(-1, 2) if cathode else np.zeros((0, 2))
    best = (float(x[:, 1].min()), float(x[np.argmin(x[:, 1]), 0])) if len(x) else (np.inf, lay.width_nm / 2)
    return min(dm.comm.allgather(best))[1]


def window(dm, zoom: str | None):
    """Picture bounds (xmin, xmax, ymin, ymax) in nm for a zoom (module docstring), None for the whole mesh.
    Collective."""
    if zoom is None:
        return None
    lay = dm.layout
    W = lay.width_nm
    x0 = float(np.clip(_focus_x(dm) - W / 6, 0.0, W - W / 3))
    lower, _, upper = zoom.partition(":")
    upper = upper or lower
    for name in (lower, upper):
        if name != "cathode" and name not in lay.stack:
            raise ValueError(f"unknown zoom {zoom!r}; allowed: 'cathode', a layer ({', '.join(lay.stack)}) or "
                             f"'LAYER:cathode'")
    yc = lay.y["cathode"]
    y0 = yc - 8.0 if lower == "cathode" else lay.y[f"{lower}.bottom"] - 1.0
    y1 = yc + 10.0 if upper == "cathode" else lay.y[f"{upper}.top"] + 1.0
    return (x0, x0 + W / 3, y0, y1)


def _log(values) -> np.ndarray:
    """log10 where positive, NaN where not (no data: drawn grey)."""
    v = np.asarray(values, dtype=float)
    return np.where(v > 0, np.log10(np.where(v > 0, v, 1.0)), np.nan)


def plot_regions(dm, path, zoom: str | None = None, title: str | None = None) -> str | None:
    """Colour each region; the rough interface and trenches show as the boundaries between colours."""
    win = window(dm, zoom)
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
            if _inside(c, win):
                centres.append(c + [0, 0, 1])
                labels.append(name)
    if centres:
        pl.add_point_labels(np.array(centres), labels, font_size=18, point_size=1, shape_opacity=0.6)
    _camera(pl, win or grid.bounds[:4])
    pl.add_title(title or ("regions" if zoom is None else f"regions near the {zoom}"), font_size=12)
    pl.screenshot(str(path))
    pl.close()
    return str(path)


def plot_field(dm, values: np.ndarray, path, name: str = "field", zoom: str | None = None,
               log: bool = False, cmap: str = "viridis", clim=None, title: str | None = None) -> str | None:
    """Plot a field given at the vertices of each owned triangle, (owned cells, 3) as from
    :func:`femqled.fields.vertex_values`, titled ``title`` (else ``name``), its colour bar beside it. The colour
    range is ``clim`` (in log10 units where ``log``), else that of what the picture shows (:func:`colour_range`)."""
    if clim is None:
        clim = colour_range(dm, values, zoom, log)
    win = window(dm, zoom)
    label = ("log10 " if log else "") + name
    grid = _gather_grid(dm, point_values={label: _log(values) if log else np.asarray(values, dtype=float)})
    if grid is None:
        return None
    import pyvista as pv

    grid = _crop(grid, win)
    pl = pv.Plotter(off_screen=True, window_size=(1400, 900))
    pl.add_mesh(grid, scalars=label, cmap=cmap, clim=clim, nan_color=NO_DATA,
                scalar_bar_args={"title": label, "vertical": True, "position_x": 0.87, "position_y": 0.1,
                                 "width": 0.05, "height": 0.8, "title_font_size": 16, "label_font_size": 14,
                                 "fmt": "%.3g"})
    _camera(pl, win or grid.bounds[:4], right=0.8)
    pl.add_title(title or name, font_size=12)
    pl.screenshot(str(path))
    pl.close()
    return str(path)


def colour_range(dm, values: np.ndarray, zoom: str | None = None, log: bool = False):
    """(min, max) of a field at the vertices of the owned triangles ((owned cells, 3), as :func:`plot_field`
    takes) over what a picture shows (the zoom window, or all), on every rank; None where it is empty or flat
    (the plotter's own range). ``log``: of log10 over the positive values, at most :data:`LOG_DECADES` below the
    largest."""
    from femqled.mesh import owned_cell_vertices

    x = owned_cell_vertices(dm.mesh).reshape(-1, 2)
    v = np.asarray(values, dtype=float)[: len(x) // 3].reshape(-1)
    v = _log(v) if log else v
    win = window(dm, zoom)
    shown = np.isfinite(v)
    if win is not None:
        shown &= (x[:, 0] >= win[0]) & (x[:, 0] <= win[1]) & (x[:, 1] >= win[2]) & (x[:, 1] <= win[3])
    lo = dm.comm.allreduce(float(v[shown].min()) if shown.any() else np.inf, op=MPI.MIN)
    hi = dm.comm.allreduce(float(v[shown].max()) if shown.any() else -np.inf, op=MPI.MAX)
    if log:
        lo = max(lo, hi - LOG_DECADES)
    return (lo, hi) if np.isfinite(lo) and hi > lo else None


def state_images(dev, acetate) -> dict[str, tuple]:
    """The pictures of a state, not yet drawn: ``{stem: (DeviceMesh, vertex values, plot options)}`` for psi, n,
    p, R_X, R_trion (R_trion_pos with both trions), R_trap where the dots have traps (whole stack), n near the
    cathode and the acetate near the rough interface and trenches. The option ``detail`` is where
    :func:`compare_states` looks: n from the dots to the Ag, the recombination channels in the dots, the acetate
    at the cathode, all near the trench."""
    from femqled.fields import FieldWriter, vertex_values

    fw = FieldWriter(dev)
    fw.update()
    qd = dev.emission.qd if dev.emission.active else None
    images = {"psi": (dev.dm, fw.vertex_values("psi"), {"name": "psi (V)"})}
    traps = dev.emission.active and dev.mat.values[dev.emission.qd]["srh"] > 0
    for name, unit in (("n", "cm^-3"), ("p", "cm^-3"), ("R_X", "cm^-3 s^-1"), ("R_trion", "cm^-3 s^-1"),
                       ("R_trion_pos", "cm^-3 s^-1"), ("R_trap", "cm^-3 s^-1")):
        if name in fw.functions and (name != "R_trap" or traps):
            opts = {"name": f"{name} ({unit})", "log": True}
            if qd and name != "p":
                opts["detail"] = f"{qd}:cathode" if name == "n" else qd
            images[name] = (dev.dm, fw.vertex_values(name), opts)
    images["n_cathode"] = (dev.dm, images["n"][1], {"name": "n (cm^-3)", "log": True, "zoom": "cathode"})
    fw.close()
    if acetate is not None:
        # floor at 1e15 cm^-3: backward Euler leaves tiny (even slightly negative) values ahead of a front
        a = np.maximum(vertex_values(acetate.c) * 1e21, 1e15)
        images["acetate"] = (acetate.dm, a, {"name": "acetate a/S (cm^-3)", "log": True, "zoom": "cathode",
                                             "cmap": "magma", "detail": "cathode"})
    return images


def detached(images: dict) -> dict:
    """:func:`state_images` without their meshes, to be saved: each names its mesh, "acetate" or "device"."""
    return {stem: ("acetate" if stem == "acetate" else "device", values, opts)
            for stem, (_, values, opts) in images.items()}


def attached(images: dict, meshes: dict) -> dict:
    """:func:`detached` pictures on ``meshes`` ({"device": DeviceMesh, "acetate": DeviceMesh})."""
    return {stem: (meshes[where], values, opts) for stem, (where, values, opts) in images.items()}


def _shown(label: str) -> str:
    """"aged_3V" -> "aged, 3 V", "aged_10mA" -> "aged, 10 mA/cm2" (a state's label as a title reads it)."""
    state, _, at = label.rpartition("_")
    if state and at.endswith("mA"):
        return f"{state}, {at[:-2]} mA/cm2"
    return f"{state}, {at[:-1]} V" if state and at.endswith("V") else label


def _common_range(drawn, zoom_key: str = "zoom"):
    """One colour range for the same picture of several states (collective)."""
    ranges = [colour_range(dm, v, opts.get(zoom_key), opts.get("log", False)) for dm, v, opts in drawn]
    ranges = [r for r in ranges if r is not None]
    return (min(r[0] for r in ranges), max(r[1] for r in ranges)) if ranges else None


def draw_states(states: dict[str, tuple]) -> list[str]:
    """Draw the pictures of several states, ``{label: (images, outdir)}``, into ``<outdir>/<stem>_<label>.png``;
    a picture has the same colour range in every state (pristine and aged compare by eye)."""
    from pathlib import Path

    paths = []
    stems = dict.fromkeys(stem for images, _ in states.values() for stem in images)
    for stem in stems:
        drawn = {label: (images[stem], outdir) for label, (images, outdir) in states.items() if stem in images}
        clim = _common_range([img for img, _ in drawn.values()])
        for label, ((dm, v, opts), outdir) in drawn.items():
            kw = {k: opts[k] for k in ("name", "log", "zoom", "cmap") if k in opts}
            where = f", near the {opts['zoom']}" if opts.get("zoom") else ""
            paths.append(plot_field(dm, v, Path(outdir) / f"{stem}_{label}.png", clim=clim,
                                    title=f"{opts['name']}{where}: {_shown(label)}", **kw))
    return [p for p in paths if p]


def compare_states(states: dict[str, dict], path) -> str | None:
    """One matplotlib figure comparing states side by side, ``{label: state_images(...)}``: a row per picture
    with a ``detail`` option (n from the dots to the Ag, R_X, R_trion, R_trap in the dots, the acetate at the
    cathode; all over the third of the width around the trench), a column per state, one colour scale per row,
    the interfaces drawn, axes in nm. Collective; rank 0 writes ``path``."""
    labels = list(states)
    stems = [s for s in dict.fromkeys(k for img in states.values() for k in img)
             if all(s in states[lab] and "detail" in states[lab][s][2] for lab in labels)]
    rows = []
    for stem in stems:
        drawn = [states[lab][stem] for lab in labels]
        dm, _, opts = drawn[0]
        log = opts.get("log", False)
        rows.append({"comm": dm.comm, "opts": opts, "clim": _common_range(drawn, "detail"),
                     "win": window(dm, opts["detail"]), "lines": interfaces(dm),
                     "data": [_gather(d, point_values={"v": _log(v) if log else np.asarray(v, dtype=float)})
                              for d, v, _ in drawn],
                     "notes": [(_total(stem, d, v, opts) or (None, None, ""))[2] for d, v, _ in drawn]})
    if not rows or rows[0]["comm"].rank != 0:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection
    from matplotlib.tri import Triangulation

    panel_w, tallest = 4.6, 1.2          # a panel at most 1.2 times as tall as wide (a quasi-1D column: stretched)
    ratios = [(r["win"][3] - r["win"][2]) / (r["win"][1] - r["win"][0]) for r in rows]
    heights = [panel_w * min(a, tallest) + 0.6 for a in ratios]
    fig = plt.figure(figsize=(panel_w * len(labels) + 1.6, sum(heights) + 0.4), layout="constrained")
    gs = fig.add_gridspec(len(rows), len(labels) + 1, width_ratios=[1] * len(labels) + [0.04],
                          height_ratios=heights)
    try:
        for i, r in enumerate(rows):
            x0, x1, y0, y1 = r["win"]
            opts = r["opts"]
            vmin, vmax = r["clim"] or (None, None)
            for j, (lab, d) in enumerate(zip(labels, r["data"])):
                ax = fig.add_subplot(gs[i, j])
                P, v = d["pts"][:, :2], d["v"]
                tri = np.arange(len(P)).reshape(-1, 3)
                c = P[tri].mean(axis=1)
                pad = 2.0
                keep = (c[:, 0] > x0 - pad) & (c[:, 0] < x1 + pad) & (c[:, 1] > y0 - pad) & (c[:, 1] < y1 + pad)
                T = Triangulation(P[:, 0], P[:, 1], tri[keep])
                T.set_mask(~np.all(np.isfinite(v[tri[keep]]), axis=1))
                im = ax.tripcolor(T, np.nan_to_num(v), shading="gouraud", cmap=opts.get("cmap", "viridis"),
                                  vmin=vmin, vmax=vmax)
                ax.add_collection(LineCollection(r["lines"], colors="0.55", linewidths=0.6))
                ax.set_facecolor(NO_DATA)
                ax.set_xlim(x0, x1)
                ax.set_ylim(y0, y1)
                ax.set_aspect("equal" if ratios[i] <= tallest else "auto")
                ax.set_title(f"{opts['name'].split(' (')[0]}: {_shown(lab)}{r['notes'][j]}", fontsize=10)
                ax.set_ylabel("y (nm)" if j == 0 else "")
                ax.set_xlabel("x (nm)" if i == len(rows) - 1 else "")
                ax.tick_params(labelsize=8)
            cb = fig.colorbar(im, cax=fig.add_subplot(gs[i, -1]))
            cb.set_label(("log10 " if opts.get("log") else "") + opts["name"], fontsize=8)
            cb.ax.tick_params(labelsize=8)
        fig.savefig(path, dpi=130)
    finally:
        plt.close(fig)
    return str(path)


def _total(stem: str, dm, values, opts):
    """(key, value, note) that a comparison panel's title adds, or None (collective): for a rate in cm^-3 s^-1 its
    integral over the stack as a current density, q int R dy (mA/cm2); for n, the electrons per area in the layer
    the panel starts from (cm^-2)."""
    from femqled.fields import per_width
    from femqled.scaling import Q

    if "s^-1" in opts["name"]:
        J = per_width(dm, values) * 1e-7 * Q * 1e3
        return f"{stem}_mA_cm2", J, f" (q\u222bR dy = {J:.3g} mA/cm2)"
    layer = opts.get("detail", "").partition(":")[0]
    if stem == "n" and layer in dm.layout.regions:
        N = per_width(dm, values, layer) * 1e-7
        return f"n_{layer}_cm2", N, f" ({layer}: {N:.2e} cm^-2)"
    return None


def totals(images: dict) -> dict:
    """The numbers the comparison figure writes above its panels, for one state's ``state_images``: q int R dy
    (mA/cm2) of each recombination channel, electrons per area in the dots (cm^-2). Collective."""
    out = {}
    for stem, (dm, values, opts) in images.items():
        t = _total(stem, dm, values, opts) if "detail" in opts else None
        if t:
            out[t[0]] = t[1]
    return out


def _crop(grid, win):
    """A gathered grid cut at the window's four edges (the data interpolated there), so nothing is drawn beside
    the window (under the colour bar); the whole grid without a window."""
    if win is None:
        return grid
    x0, x1, y0, y1 = win
    for normal, origin in (("-x", (x0, 0, 0)), ("x", (x1, 0, 0)), ("-y", (0, y0, 0)), ("y", (0, y1, 0))):
        grid = grid.clip(normal=normal, origin=origin)          # keeps the side the normal points away from
    return grid


def _inside(c, win) -> bool:
    return win is None or (win[0] <= c[0] <= win[1] and win[2] <= c[1] <= win[3])


def _camera(pl, bounds, right: float = 1.0):
    """Parallel projection onto the x-y plane showing ``bounds`` (xmin, xmax, ymin, ymax) in the left ``right``
    of the picture's width (the rest for a colour bar), with a 2 % margin."""
    x0, x1, y0, y1 = bounds
    w, h = pl.window_size
    pl.view_xy()
    pl.camera.parallel_projection = True
    scale = 1.02 * max((y1 - y0) / 2, (x1 - x0) / 2 / right * h / w)      # half the visible height
    width = 2 * scale * w / h
    xc = (x0 + x1) / 2 + (1 - right) * width / 2          # the data centred in the left part
    yc = (y0 + y1) / 2
    pl.camera.focal_point = (xc, yc, 0)
    pl.camera.position = (xc, yc, 1000)
    pl.camera.parallel_scale = scale


def image_variance(path) -> float:
    """Pixel variance of a PNG (0 for a blank picture)."""
    import matplotlib.image

    img = matplotlib.image.imread(str(path))
    return float(np.var(img[..., :3]))
