"""Gmsh 2D cross-sections of a layer stack with a rough ZnO/Ag interface and trenches (MODEL.md sec. 2).

Coordinates are in nm (the length scale of femqled). x is lateral, 0..W; y runs up through the stack from the
anode (y = 0). The layers of the case are flat; the last one's top is the rough profile ``h(x) - d_il``, the
interlayer lies between that and the cathode interface ``h(x)``, and the modelled Ag lies above up to a flat top.
Trenches are Ag sub-regions standing on the cathode interface.

Everything is built with the built-in (geo) kernel from explicit points and lines shared between neighbouring
regions, so each interface is known by construction: regions and facet sets become Gmsh physical groups whose
names are recorded in a :class:`Layout` (the name <-> tag registry used by the physics).

With ``mesh.flat_lateral_size_nm`` the flat layers, and a band at the bottom of the last one, are transfinite:
rectangles of that width over the rows of the quasi-1D column, split into right triangles; the rough part around
the cathode keeps the isotropic size field.

``quasi_1d`` cases become a single column of triangles (two per row) over a graded 1D node distribution, written
as a discrete Gmsh model so that both kinds of mesh are read the same way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from femqled import heterojunction
from femqled.errors import InputError

SAMPLES_PER_CORRELATION = 8   # rough-profile points per correlation length


@dataclass
class Layout:
    """Where things are and what they are called: the name <-> tag registry of a mesh.

    ``regions``/``facets`` map names to Gmsh physical tags; ``groups`` maps composite facet names ("cathode",
    "interfaces") to lists of facet names. ``y`` holds nominal (mean) positions in nm.
    """

    regions: dict[str, int] = field(default_factory=dict)
    facets: dict[str, int] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    materials: dict[str, str] = field(default_factory=dict)
    y: dict[str, float] = field(default_factory=dict)
    width_nm: float = 0.0
    stack: list[str] = field(default_factory=list)   # semiconductor regions, bottom to top
    facet_regions: dict[str, list[str]] = field(default_factory=dict)   # regions each facet set touches
    parts: dict[str, list[str]] = field(default_factory=dict)   # "device" (electrical), "acetate", "all"

    def facet_tags(self, name: str) -> list[int]:
        """Tags of a facet set or of a composite group."""
        if name in self.facets:
            return [self.facets[name]]
        if name in self.groups:
            return [self.facets[n] for n in self.groups[name]]
        raise KeyError(f"no facet set {name!r}; known: {sorted(self.facets) + sorted(self.groups)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Layout":
        return cls(**d)


def geometry_parameters(case: dict) -> dict:
    """The subset of a case that determines the mesh (hashed for the cache)."""
    keys = ("geometry", "interlayer", "cathode", "roughness", "trench", "mesh")
    params = {k: case[k] for k in keys}
    params["layer"] = heterojunction.stack(case)
    params["materials"] = {l["name"]: l["material"] for l in params["layer"]}
    return params


# --------------------------------------------------------------------------------------------------------------
# rough profile
# --------------------------------------------------------------------------------------------------------------

def rough_profile(width: float, rms: float, corr: float, seed: int):
    """A periodic random profile r(x) with zero mean, RMS ``rms`` and Gaussian correlation length ``corr``.

    Sum of Fourier modes k_m = 2 pi m / W with amplitudes from a Gaussian spectrum exp(-(k corr)^2 / 8) and
    seeded random phases, scaled to the exact RMS. Zero mean (m >= 1 only) conserves the mean interface position.
    Returns a function of x (numpy arrays in, out).
    """
    if rms == 0.0:
        return lambda x: np.zeros_like(np.asarray(x, dtype=float))
    rng = np.random.default_rng(seed)
    m = np.arange(1, max(8, int(4 * width / corr) + 1))
    k = 2 * np.pi * m / width
    amp = np.exp(-((k * corr) ** 2) / 8.0) * rng.standard_normal(m.size)
    phase = rng.uniform(0, 2 * np.pi, m.size)
    scale = rms / np.sqrt(0.5 * np.sum(amp ** 2))   # RMS of sum a_m cos(.) over a period

    def r(x):
        x = np.asarray(x, dtype=float)
        return scale * np.sum(amp[:, None] * np.cos(np.outer(k, x.ravel()) + phase[:, None]), axis=0).reshape(x.shape)

    return r


def trench_shape(shape: str, s):
    """Depth fraction of a trench at normalised position s in [-1, 1]."""
    s = np.clip(np.asarray(s, dtype=float), -1, 1)
    if shape == "rectangular":
        return np.ones_like(s)
    if shape == "triangular":
        return 1.0 - np.abs(s)
    return np.sqrt(1.0 - s ** 2)   # elliptic


# --------------------------------------------------------------------------------------------------------------
# 2D model
# --------------------------------------------------------------------------------------------------------------

def build_model(case: dict, gmsh) -> Layout:
    """Build and mesh the cross-section of ``case`` in the current Gmsh model; returns its :class:`Layout`."""
    if case["geometry"]["quasi_1d"]:
        return _build_quasi_1d(case, gmsh)
    return _build_2d(case, gmsh)


def _stack_positions(case):
    y = [0.0]
    for layer in heterojunction.stack(case):
        y.append(y[-1] + layer["thickness_nm"])
    y_cat = y[-1] + case["interlayer"]["thickness_nm"]
    return y, y_cat, y_cat + case["cathode"]["thickness_nm"]


def _layout_skeleton(case) -> Layout:
    y, y_cat, y_top = _stack_positions(case)
    layers = heterojunction.stack(case)
    names = [l["name"] for l in layers]
    il, ag = case["interlayer"]["name"], case["cathode"]["name"]
    lay = Layout(width_nm=case["geometry"]["width_nm"], stack=names + [il])
    for i, l in enumerate(layers):
        lay.materials[l["name"]] = l["material"]
        lay.y[f"{l['name']}.bottom"] = y[i]
        lay.y[f"{l['name']}.top"] = y[i + 1]
    lay.materials[il] = case["interlayer"]["material"]
    lay.materials[ag] = case["cathode"]["material"]
    lay.y.update({f"{il}.bottom": y[-1], f"{il}.top": y_cat, f"{ag}.bottom": y_cat, f"{ag}.top": y_top,
                  "anode": 0.0, "cathode": y_cat, "top": y_top})
    return lay


def _check_profile(case, xs, h):
    """Rough interfaces must not cross the flat ones around them."""
    y, y_cat, y_top = _stack_positions(case)
    d_il = case["interlayer"]["thickness_nm"]
    hmin, hmax = float(np.min(h)), float(np.max(h))
    below = (y_cat + hmin - d_il) - y[-2]
    if below <= case["mesh"]["interface_size_nm"]:
        raise InputError("roughness.rms_nm",
                         f"the rough interface dips {-hmin:.3g} nm below its mean and would cross the "
                         f"{case['layer'][-2]['name'] if len(case['layer']) > 1 else 'anode'}/"
                         f"{case['layer'][-1]['name']} interface; reduce roughness.rms_nm or thicken "
                         f"layer {case['layer'][-1]['name']!r}")
    above = y_top - (y_cat + hmax)
    if above <= case["mesh"]["interface_size_nm"]:
        raise InputError("roughness.rms_nm", f"the rough interface rises {hmax:.3g} nm above its mean, through the "
                                             f"modelled Ag; reduce roughness.rms_nm or raise cathode.thickness_nm")


def _build_2d(case: dict, gmsh) -> Layout:
    geo = gmsh.model.geo
    lay = _layout_skeleton(case)
    W = case["geometry"]["width_nm"]
    y, y_cat, y_top = _stack_positions(case)
    d_il = case["interlayer"]["thickness_nm"]
    ms = case["mesh"]
    rgh = case["roughness"]
    r = rough_profile(W, rgh["rms_nm"], rgh["correlation_length_nm"], rgh["seed"])

    # sample points of the rough curves: uniform, plus the ends of every trench
    spacing = float(np.clip(rgh["correlation_length_nm"] / SAMPLES_PER_CORRELATION,
                            ms["interface_size_nm"], 4 * ms["interface_size_nm"]))
    if rgh["rms_nm"] == 0.0:
        spacing = W
    n = max(1, int(np.ceil(W / spacing)))
    xs = list(np.linspace(0.0, W, n + 1))
    trenches = sorted(case["trench"], key=lambda t: t["x_nm"])
    for t in trenches:
        xs += [t["x_nm"] - t["width_nm"] / 2, t["x_nm"] + t["width_nm"] / 2]
        xs += list(np.linspace(t["x_nm"] - t["width_nm"] / 2, t["x_nm"] + t["width_nm"] / 2,
                               max(4, int(np.ceil(t["width_nm"] / ms["interface_size_nm"]))) + 1))
    xs = np.unique(np.round(np.array(xs), 9))
    h = r(xs)
    h[-1] = h[0]   # exact periodicity
    _check_profile(case, xs, h)

    def point(x, yy):
        return geo.addPoint(float(x), float(yy), 0.0)

    def chain(points):
        return [geo.addLine(a, b) for a, b in zip(points[:-1], points[1:])]

    # horizontal curves, each a list of line tags oriented left -> right; remember their end points
    names = [l["name"] for l in heterojunction.stack(case)]
    lat = ms["flat_lateral_size_nm"]            # None: the flat layers meshed isotropically like the rest
    left_pts, right_pts = [], []
    flat = []                         # y[0] .. y[-2]: anode and the flat interfaces
    for yy in y[:-1]:
        a, b = point(0, yy), point(W, yy)
        left_pts.append(a)
        right_pts.append(b)
        flat.append(chain([a, b]))
    p_etl = [point(x, y_cat - d_il + hh) for x, hh in zip(xs, h)]
    etl_top = chain(p_etl)
    p_cat = [point(x, y_cat + hh) for x, hh in zip(xs, h)]
    p_top = [point(0, y_top), point(W, y_top)]
    top = chain(p_top)
    left_pts += [p_etl[0], p_cat[0], p_top[0]]
    right_pts += [p_etl[-1], p_cat[-1], p_top[-1]]

    # cathode pieces between trench ends, and trench tops
    idx = {round(float(x), 9): i for i, x in enumerate(xs)}
    cut = [0]
    for t in trenches:
        cut += [idx[round(t["x_nm"] - t["width_nm"] / 2, 9)], idx[round(t["x_nm"] + t["width_nm"] / 2, 9)]]
    cut.append(len(xs) - 1)
    pieces = [chain(p_cat[a:b + 1]) for a, b in zip(cut[:-1], cut[1:])]   # alternating: flat, trench, flat, ...
    trench_tops = []
    for k, t in enumerate(trenches):
        a, b = cut[2 * k + 1], cut[2 * k + 2]
        s = (xs[a:b + 1] - t["x_nm"]) / (t["width_nm"] / 2)
        depth = t["depth_nm"] * trench_shape(t["shape"], s)
        pts = [point(x, y_cat + hh + d) if d > 1e-12 else p_cat[a + i]
               for i, (x, hh, d) in enumerate(zip(xs[a:b + 1], h[a:b + 1], depth))]
        if t["shape"] == "rectangular":
            pts = [p_cat[a]] + pts + [p_cat[b]]
        trench_tops.append(chain(pts))

    # the lateral sides, one chain per region of the column; structured flat layers get a node at every row
    rows = {}                         # region index -> interior y of its side nodes (structured layers)
    band = None                       # structured: the rows of the bottom band of the last layer
    if lat is not None:
        for i in range(len(names) - 1):
            rows[i] = column_rows(y[i], y[i + 1], ms)[1:-1]
        band = _band_rows(y[-2], float(np.min(y_cat - d_il + h)), ms["interface_size_nm"], lat, row_growth(ms))
        rows[len(names) - 1] = band
    left, right = [], []
    band_ends = []
    rungs = []                        # the side lines of structured surfaces: one cell each
    for side, pts, x_side in ((left, left_pts, 0.0), (right, right_pts, W)):
        for i in range(len(pts) - 1):
            inner = [point(x_side, yy) for yy in rows.get(i, [])]
            side.append(chain([pts[i]] + inner + [pts[i + 1]]))
            if band is not None and i == len(names) - 1:
                band_ends.append(inner[-1])
                rungs += side[i][:len(inner)]
            elif i in rows:
                rungs += side[i]

    def loop(bottom, r_side, top_c, l_side):
        curves = list(bottom) + list(r_side) + [-c for c in reversed(top_c)] + [-c for c in reversed(l_side)]
        return geo.addPlaneSurface([geo.addCurveLoop(curves)])

    surfaces = {}
    # (surface, its long sides, its corners): split rectangles into right triangles, never obtuse,
    # so the fitted fluxes stay monotone at any aspect ratio; with no lateral size, only the thermionic interface
    # layers, one cell across at the interface size
    structured = []
    nx = int(np.ceil(W / (lat if lat is not None else ms["interface_size_nm"]))) + 1
    for i, name in enumerate(names):
        top_c = flat[i + 1] if i + 1 < len(flat) else etl_top
        if band is not None and i == len(names) - 1:
            n_band = len(band)
            band_top = chain(band_ends)
            lower = loop(flat[i], right[i][:n_band], band_top, left[i][:n_band])
            upper = loop(band_top, right[i][n_band:], top_c, left[i][n_band:])
            surfaces[name] = [lower, upper]
            structured.append((lower, flat[i] + band_top, [left_pts[i], right_pts[i]] + band_ends[::-1]))
            continue
        surfaces[name] = [loop(flat[i], right[i], top_c, left[i])]
        if lat is not None or heterojunction.is_interface_layer(name):
            structured.append((surfaces[name][0], flat[i] + flat[i + 1],
                               [left_pts[i], right_pts[i], right_pts[i + 1], left_pts[i + 1]]))
            if lat is None:
                rungs += [left[i][0], right[i][0]]
    il, ag = case["interlayer"]["name"], case["cathode"]["name"]
    cathode_all = sum(pieces, [])
    surfaces[il] = [loop(etl_top, right[len(names)], cathode_all, left[len(names)])]
    ag_bottom = []
    for k, piece in enumerate(pieces):
        if k % 2 == 0:
            ag_bottom += piece
        else:
            ag_bottom += trench_tops[k // 2]
    surfaces[ag] = [loop(ag_bottom, right[len(names) + 1], top, left[len(names) + 1])]
    trench_names = []
    for k in range(len(trenches)):
        name = f"trench{k + 1}"
        trench_names.append(name)
        bottom = pieces[2 * k + 1]
        tt = trench_tops[k]
        curves = list(bottom) + [-c for c in reversed(tt)]
        surfaces[name] = [geo.addPlaneSurface([geo.addCurveLoop(curves)])]
        lay.materials[name] = trenches[k]["material"]
    geo.synchronize()

    # physical groups: regions 1.., facets 101..
    for tag, (name, s) in enumerate(surfaces.items(), start=1):
        gmsh.model.addPhysicalGroup(2, s, tag, name=name)
        lay.regions[name] = tag
    facet_sets: dict[str, list[int]] = {"anode": flat[0]}
    region_seq = names + [il]
    for i in range(1, len(flat)):
        facet_sets[f"{region_seq[i - 1]}/{region_seq[i]}"] = flat[i]
    facet_sets[f"{names[-1]}/{il}"] = etl_top
    facet_sets[f"{il}/{ag}"] = sum(pieces[0::2], [])
    for k, name in enumerate(trench_names):
        facet_sets[f"{il}/{name}"] = pieces[2 * k + 1]
        facet_sets[f"{ag}/{name}"] = [abs(c) for c in trench_tops[k]]
    facet_sets["top"] = top
    column = names + [il, ag]
    for i, region in enumerate(column):
        facet_sets[f"{region}.left"] = left[i]
        facet_sets[f"{region}.right"] = right[i]
    for tag, (name, curves) in enumerate(facet_sets.items(), start=101):
        gmsh.model.addPhysicalGroup(1, [abs(c) for c in curves], tag, name=name)
        lay.facets[name] = tag
    lay.groups["cathode"] = [f"{il}/{ag}"] + [f"{il}/{n}" for n in trench_names]
    _finish_layout(lay, column, trench_names)

    if case["geometry"]["lateral"] == "periodic":
        affine = [1, 0, 0, W, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
        for lc, rc in zip(sum(left, []), sum(right, [])):
            gmsh.model.mesh.setPeriodic(1, [rc], [lc], affine)

    in_structure = {abs(c) for _, curves, _ in structured for c in curves} if lat is not None else set()
    _size_field(gmsh, [abs(c) for n, cs in facet_sets.items() if n != "top" and "." not in n for c in cs
                       if abs(c) not in in_structure]
                + [abs(c) for cs in trench_tops for c in cs], ms)
    for surface, long_sides, corners in structured:
        for c in long_sides:
            gmsh.model.mesh.setTransfiniteCurve(c, nx)
        gmsh.model.mesh.setTransfiniteSurface(surface, "Left", corners)
    for c in rungs:
        gmsh.model.mesh.setTransfiniteCurve(c, 2)
    gmsh.model.mesh.generate(2)
    return lay


def _band_rows(y0: float, y_low: float, h0: float, lat: float, growth: float) -> list[float]:
    """Rows of the structured band at the bottom of the last layer: from ``y0`` up, sizes ``h0`` growing by
    ``1 + growth`` per row until they reach the lateral size ``lat`` (there the band's cells are square and the
    unstructured mesh above starts), within half the room below the rough top's lowest point ``y_low``."""
    rows, yy, size = [], y0, h0
    room = 0.5 * (y_low - y0)
    while yy + size <= y0 + room:
        yy += size
        rows.append(yy)
        if size >= lat:
            break
        size = min(size * (1 + growth), lat)
    return rows or [y0 + room]


def _size_field(gmsh, curves, ms):
    """Element size ``interface_size_nm`` on the given curves, growing by ``grading`` nm/nm up to the bulk size.

    The Distance field samples each curve at a fixed number of points, so curves are grouped by length and each
    group is sampled at least every quarter of the interface size.
    """
    f = gmsh.model.mesh.field
    h0 = ms["interface_size_nm"]
    lengths = {}
    for c in curves:
        (x0, y0, _), (x1, y1, _) = (gmsh.model.getValue(0, abs(p[1]), []) for p in gmsh.model.getBoundary([(1, c)]))
        lengths[c] = float(np.hypot(x1 - x0, y1 - y0))
    groups: dict[int, list[int]] = {}
    for c, L in lengths.items():
        groups.setdefault(int(np.ceil(4 * L / h0)) + 2, []).append(c)
    thresholds = []
    for sampling, cs in groups.items():
        dist = f.add("Distance")
        f.setNumbers(dist, "CurvesList", cs)
        f.setNumber(dist, "Sampling", sampling)
        thr = f.add("Threshold")
        f.setNumber(thr, "InField", dist)
        f.setNumber(thr, "SizeMin", h0)
        f.setNumber(thr, "SizeMax", ms["bulk_size_nm"])
        f.setNumber(thr, "DistMin", 0.25 * h0)
        f.setNumber(thr, "DistMax", 0.25 * h0 + (ms["bulk_size_nm"] - h0) / ms["grading"])
        thresholds.append(thr)
    fmin = f.add("Min")
    f.setNumbers(fmin, "FieldsList", thresholds)
    f.setAsBackgroundMesh(fmin)
    for opt in ("MeshSizeExtendFromBoundary", "MeshSizeFromPoints", "MeshSizeFromCurvature"):
        gmsh.option.setNumber(f"Mesh.{opt}", 0)
    gmsh.option.setNumber("Mesh.Algorithm", 6)   # Frontal-Delaunay: good angles with size fields


# --------------------------------------------------------------------------------------------------------------
# quasi-1D: one column of cells over a graded node distribution
# --------------------------------------------------------------------------------------------------------------

def graded_nodes(y0: float, y1: float, h_min: float, h_max: float, growth: float) -> np.ndarray:
    """Nodes on [y0, y1], size h_min at both ends growing by ``1 + growth`` per element up to h_max."""
    L = y1 - y0
    sizes = []
    s = h_min
    total = 0.0
    while total < L / 2:
        sizes.append(s)
        total += s
        s = min(s * (1 + growth), h_max)
    half = np.cumsum([0.0] + sizes)
    half = half * (L / 2) / half[-1]
    nodes = np.concatenate([half, L - half[::-1][1:]])
    return y0 + np.unique(np.round(nodes, 12))


def row_growth(ms: dict) -> float:
    """Growth of the rows of the quasi-1D column (and of the structured flat layers) per row: the case's grading,
    at most 20 %."""
    return min(0.2, ms["grading"])


def column_rows(y0: float, y1: float, ms: dict) -> np.ndarray:
    """The nodes of the quasi-1D column over one region [y0, y1] (``ms``: the case's [mesh]); the structured flat
    layers of 2D meshes use the same rows."""
    return graded_nodes(y0, y1, ms["interface_size_nm"], ms["bulk_size_nm"], row_growth(ms))


def _build_quasi_1d(case: dict, gmsh) -> Layout:
    lay = _layout_skeleton(case)
    w = case["geometry"]["quasi_1d_width_nm"]
    lay.width_nm = w
    y, y_cat, y_top = _stack_positions(case)
    bounds = y + [y_cat, y_top]
    ms = case["mesh"]
    names = [l["name"] for l in heterojunction.stack(case)] + [case["interlayer"]["name"], case["cathode"]["name"]]

    ys = [bounds[0]]
    region_rows = []
    for i in range(len(names)):
        seg = column_rows(bounds[i], bounds[i + 1], ms)
        region_rows.append((len(ys) - 1, len(ys) - 1 + len(seg) - 1))
        ys += list(seg[1:])
    ys = np.array(ys)
    nrow = len(ys)
    # node i at (0, ys[i]) has tag i+1; node at (w, ys[i]) has tag nrow+i+1
    coords = np.zeros((2 * nrow, 3))
    coords[:nrow, 1] = ys
    coords[nrow:, 0] = w
    coords[nrow:, 1] = ys

    gmsh.model.add("quasi1d")
    surf_tags = {}
    node_entity = gmsh.model.addDiscreteEntity(0)
    gmsh.model.mesh.addNodes(0, node_entity, list(range(1, 2 * nrow + 1)), coords.ravel())
    elem = 1
    for k, name in enumerate(names):
        s = gmsh.model.addDiscreteEntity(2)
        a, b = region_rows[k]
        tris = []
        for i in range(a, b):
            l0, l1, r0, r1 = i + 1, i + 2, nrow + i + 1, nrow + i + 2
            tris += [l0, r0, r1, l0, r1, l1]
        ntri = 2 * (b - a)
        gmsh.model.mesh.addElementsByType(s, 2, list(range(elem, elem + ntri)), tris)
        elem += ntri
        surf_tags[name] = s
        gmsh.model.addPhysicalGroup(2, [s], k + 1, name=name)
        lay.regions[name] = k + 1

    def facet(name, tag, segments):
        c = gmsh.model.addDiscreteEntity(1)
        nonlocal elem
        gmsh.model.mesh.addElementsByType(c, 1, list(range(elem, elem + len(segments))),
                                          [n for seg in segments for n in seg])
        elem += len(segments)
        gmsh.model.addPhysicalGroup(1, [c], tag, name=name)
        lay.facets[name] = tag

    row_of = [a for a, _ in region_rows] + [region_rows[-1][1]]
    facet("anode", 101, [(1, nrow + 1)])
    tag = 102
    for i in range(1, len(names)):
        r = row_of[i]
        facet(f"{names[i - 1]}/{names[i]}", tag, [(r + 1, nrow + r + 1)])
        tag += 1
    facet("top", tag, [(nrow, 2 * nrow)])
    tag += 1
    for k, name in enumerate(names):
        a, b = region_rows[k]
        facet(f"{name}.left", tag, [(i + 1, i + 2) for i in range(a, b)])
        facet(f"{name}.right", tag + 1, [(nrow + i + 1, nrow + i + 2) for i in range(a, b)])
        tag += 2
    il, ag = case["interlayer"]["name"], case["cathode"]["name"]
    lay.groups["cathode"] = [f"{il}/{ag}"]
    _finish_layout(lay, names, [])
    return lay


def _finish_layout(lay: Layout, column: list[str], trench_names: list[str]) -> None:
    """Composite facet groups, the regions each facet set touches, and the named parts of the mesh."""
    lay.groups["interfaces"] = [n for n in lay.facets if "/" in n]
    lay.groups["left"] = [f"{r}.left" for r in column]
    lay.groups["right"] = [f"{r}.right" for r in column]
    lay.groups["lateral"] = lay.groups["left"] + lay.groups["right"]
    for name in lay.facets:
        if "/" in name:
            lay.facet_regions[name] = name.split("/")
        elif "." in name:
            lay.facet_regions[name] = [name.split(".")[0]]
        elif name == "anode":
            lay.facet_regions[name] = [column[0]]
        elif name == "top":
            lay.facet_regions[name] = [column[-1]]
    lay.parts["all"] = list(lay.regions)
    lay.parts["device"] = list(lay.stack)
    lay.parts["acetate"] = [lay.stack[-2], lay.stack[-1], column[-1]] + trench_names
