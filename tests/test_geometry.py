"""Geometry and meshes (issue 3): areas, tags, determinism, quality, MPI distribution, quasi-1D."""

import numpy as np
import pytest
from mpi4py import MPI

import dolfinx
from femqled import compat
from femqled import mesh as fmesh
from femqled.geometry import rough_profile
from helpers import small_case

ROUGH = dict(roughness={"rms_nm": 1.0, "correlation_length_nm": 10.0, "seed": 3},
             trench=[{"x_nm": 30.0, "width_nm": 8.0, "depth_nm": 4.0}])
MIN_ANGLE_DEG = 20.0      # stated quality threshold of 2D meshes


def area(dm, *regions):
    form = dolfinx.fem.form(dolfinx.fem.Constant(dm.mesh, 1.0) * dm.dx(*regions))
    return dm.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM)


def length(dm, name):
    return dm.comm.allreduce(float(np.sum(fmesh.facet_lengths(dm, name))), op=MPI.SUM)


@pytest.mark.mpi
def test_flat_region_areas_equal_thickness_times_width():
    case = small_case()
    dm = fmesh.device_mesh(case)
    W = case["geometry"]["width_nm"]
    for layer in case["layer"]:
        assert area(dm, layer["name"]) == pytest.approx(layer["thickness_nm"] * W, rel=5e-3)
    assert area(dm, "IL") == pytest.approx(2.0 * W, rel=5e-3)
    assert area(dm, "Ag") == pytest.approx(12.0 * W, rel=5e-3)


@pytest.mark.mpi
def test_rough_areas_within_one_percent_and_mean_interface_conserved():
    case = small_case(**ROUGH)
    dm = fmesh.device_mesh(case)
    W = case["geometry"]["width_nm"]
    assert area(dm, "ETL") == pytest.approx(15.0 * W, rel=1e-2)
    assert area(dm, "Ag", "trench1") == pytest.approx(12.0 * W, rel=1e-2)
    assert area(dm, "IL") == pytest.approx(2.0 * W, rel=1e-2)
    assert area(dm) == pytest.approx((10 + 12 + 10 + 15 + 2 + 12) * W, rel=1e-9)


def test_rough_profile_has_requested_rms_zero_mean_and_is_periodic():
    r = rough_profile(200.0, 1.5, 20.0, seed=4)
    x = np.linspace(0, 200.0, 20001)
    v = r(x)
    assert np.sqrt(np.mean(v[:-1] ** 2)) == pytest.approx(1.5, rel=1e-3)
    assert abs(np.mean(v[:-1])) < 1e-6
    assert v[0] == pytest.approx(v[-1], abs=1e-9)


@pytest.mark.mpi
def test_tags_present_disjoint_and_interfaces_nonempty():
    case = small_case(**ROUGH)
    dm = fmesh.device_mesh(case)
    comm = dm.comm
    # every cell has exactly one region tag; every region is non-empty
    ncell = dm.mesh.topology.index_map(2).size_local + dm.mesh.topology.index_map(2).num_ghosts
    assert len(np.unique(dm.cell_tags.indices)) == len(dm.cell_tags.indices) == ncell
    for name in dm.layout.regions:
        assert comm.allreduce(len(dm.cells(name))) > 0, name
    # facet sets are disjoint and non-empty
    assert len(np.unique(dm.facet_tags.indices)) == len(dm.facet_tags.indices)
    for name in dm.layout.facets:
        assert comm.allreduce(len(dm.facets(name))) > 0, name
    W = case["geometry"]["width_nm"]
    for name in ("anode", "HIL/HTL", "HTL/EML", "EML/ETL"):
        assert length(dm, name) == pytest.approx(W, rel=1e-9)
    assert length(dm, "ETL/IL") > W
    assert length(dm, "cathode") > W
    assert set(dm.layout.groups["cathode"]) == {"IL/Ag", "IL/trench1"}


def test_same_seed_same_mesh_other_seed_other_interface(tmp_path, monkeypatch):
    hashes = []
    for i, seed in enumerate((3, 3, 4)):
        monkeypatch.setenv("FEMQLED_MESH_DIR", str(tmp_path / f"cache{i}"))
        case = small_case(roughness={"rms_nm": 1.0, "correlation_length_nm": 10.0, "seed": seed})
        dm = fmesh.device_mesh(case, MPI.COMM_SELF)
        hashes.append(fmesh.coordinate_hash(dm))
    assert hashes[0] == hashes[1]
    assert hashes[0] != hashes[2]


def test_cache_reuses_the_built_mesh():
    case = small_case(roughness={"rms_nm": 0.5, "seed": 11})
    p1, _ = fmesh.ensure_mesh(case, MPI.COMM_SELF)
    t1 = p1.stat().st_mtime_ns
    p2, _ = fmesh.ensure_mesh(case, MPI.COMM_SELF)
    assert p1 == p2 and p2.stat().st_mtime_ns == t1
    other = small_case(roughness={"rms_nm": 0.5, "seed": 12})
    assert fmesh.mesh_hash(other) != fmesh.mesh_hash(case)


@pytest.mark.mpi
def test_quality_and_interface_element_size():
    case = small_case(**ROUGH)
    dm = fmesh.device_mesh(case)
    angle = fmesh.min_angle_deg(dm)
    assert angle > MIN_ANGLE_DEG, f"min angle {angle:.1f} deg"
    h = case["mesh"]["interface_size_nm"]
    for name in dm.layout.groups["interfaces"] + ["anode"]:
        local = fmesh.facet_lengths(dm, name)
        longest = dm.comm.allreduce(float(local.max()) if local.size else 0.0, op=MPI.MAX)
        assert longest <= 1.02 * h, f"{name}: longest interface element {longest:.3f} nm > {h} nm"


@pytest.mark.mpi
def test_one_and_two_ranks_same_global_counts():
    case = small_case(**ROUGH)
    world = fmesh.device_mesh(case, MPI.COMM_WORLD)
    alone = fmesh.device_mesh(case, MPI.COMM_SELF)
    assert world.num_cells_global() == alone.num_cells_global()
    assert world.num_vertices_global() == alone.num_vertices_global()


@pytest.mark.mpi
def test_quasi_1d_is_one_column_with_the_same_stack():
    case = small_case(geometry={"quasi_1d": True, "quasi_1d_width_nm": 1.0}, **ROUGH)
    dm = fmesh.device_mesh(case)
    x = dm.mesh.geometry.x
    xs = np.unique(np.round(np.concatenate(dm.comm.allgather(x[:, 0])), 12))
    assert list(xs) == [0.0, 1.0]                    # one column: two vertex columns
    ys = np.unique(np.round(np.concatenate(dm.comm.allgather(x[:, 1])), 12))
    assert dm.num_cells_global() == 2 * (len(ys) - 1)  # two triangles per row
    for layer in case["layer"]:
        assert area(dm, layer["name"]) == pytest.approx(layer["thickness_nm"] * 1.0, rel=1e-12)
    assert area(dm, "Ag") == pytest.approx(12.0, rel=1e-12)
    assert length(dm, "EML/ETL") == pytest.approx(1.0)


@pytest.mark.mpi
def test_periodic_mesh_has_matching_lateral_nodes():
    case = small_case(geometry={"lateral": "periodic"}, **ROUGH)
    dm = fmesh.device_mesh(case)
    x = np.concatenate(dm.comm.allgather(dm.mesh.geometry.x[:, :2]))
    W = case["geometry"]["width_nm"]
    left = np.unique(np.round(x[np.isclose(x[:, 0], 0.0)][:, 1], 9))
    right = np.unique(np.round(x[np.isclose(x[:, 0], W)][:, 1], 9))
    assert np.array_equal(left, right)


def triangle_angles_deg(dm, cells):
    """The three angles of each of the given local cells, (n, 3) in degrees."""
    p = dm.mesh.geometry.x[compat.cell_nodes(dm.mesh)[cells]][:, :, :2]
    out = []
    for k in range(3):
        a, b = p[:, (k + 1) % 3] - p[:, k], p[:, (k + 2) % 3] - p[:, k]
        cos = np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        out.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    return np.stack(out, axis=1)


@pytest.mark.mpi
@pytest.mark.parametrize("lateral", ["zero-flux", "periodic"])
def test_structured_flat_layers_are_split_rectangles_on_the_quasi_1d_rows(lateral):
    """`mesh.flat_lateral_size_nm`: the flat layers, and a band at the bottom of the last one, are rectangles of
    that width split into right triangles (never obtuse at any aspect ratio: the fitted fluxes stay monotone)
    whose rows are the quasi-1D column's; the rough part keeps its isotropic mesh and every area stays."""
    geometry = {"lateral": lateral}
    case = small_case(mesh={"flat_lateral_size_nm": 2.0}, geometry=geometry, **ROUGH)
    dm = fmesh.device_mesh(case)
    W = case["geometry"]["width_nm"]
    flat = [layer["name"] for layer in case["layer"][:-1]]
    angles = triangle_angles_deg(dm, dm.cells(*flat))
    assert dm.comm.allreduce(angles.shape[0]) > 0 and np.allclose(angles.max(axis=1), 90.0, atol=1e-6)
    x = dm.mesh.geometry.x
    nodes = compat.cell_nodes(dm.mesh)[dm.cells(*flat)]
    widths = np.ptp(x[nodes][:, :, 0], axis=1)
    assert np.allclose(widths, W / np.ceil(W / 2.0))
    y_bottom = sum(layer["thickness_nm"] for layer in case["layer"][:-1])
    etl = dm.cells("ETL")
    centre_y = x[compat.cell_nodes(dm.mesh)[etl]][:, :, 1].mean(axis=1)
    band = triangle_angles_deg(dm, etl[centre_y < y_bottom + 1.0])
    assert dm.comm.allreduce(band.shape[0]) > 0 and np.allclose(band.max(axis=1), 90.0, atol=1e-6)

    column = fmesh.device_mesh(small_case(geometry={"quasi_1d": True}, **ROUGH), MPI.COMM_SELF)
    rows = np.unique(np.round(column.mesh.geometry.x[:, 1], 9))
    rows = rows[rows <= y_bottom + 1e-9]
    mine = np.unique(np.round(np.concatenate(dm.comm.allgather(x[nodes.ravel(), 1])), 9))
    assert np.array_equal(mine, rows)

    for layer in case["layer"][:-1]:
        assert area(dm, layer["name"]) == pytest.approx(layer["thickness_nm"] * W, rel=1e-12)
    assert area(dm, "ETL") == pytest.approx(case["layer"][-1]["thickness_nm"] * W, rel=1e-2)
    assert area(dm) == pytest.approx((10 + 12 + 10 + 15 + 2 + 12) * W, rel=1e-9)
    h = case["mesh"]["interface_size_nm"]
    for name in ("ETL/IL", "IL/Ag", "IL/trench1"):
        local = fmesh.facet_lengths(dm, name)
        assert dm.comm.allreduce(float(local.max()) if local.size else 0.0, op=MPI.MAX) <= 1.02 * h
    if lateral == "periodic":
        xy = np.concatenate(dm.comm.allgather(x[:, :2]))
        left = np.unique(np.round(xy[np.isclose(xy[:, 0], 0.0)][:, 1], 9))
        right = np.unique(np.round(xy[np.isclose(xy[:, 0], W)][:, 1], 9))
        assert np.array_equal(left, right)


@pytest.mark.mpi
@pytest.mark.parametrize("quasi_1d", [False, True])
def test_parts_of_the_mesh(quasi_1d):
    case = small_case(geometry={"quasi_1d": quasi_1d}, **({} if quasi_1d else ROUGH))
    full = fmesh.device_mesh(case)
    dev = fmesh.device_mesh(case, part="device")
    ace = fmesh.device_mesh(case, part="acetate")
    stack = ["HIL", "HTL", "EML", "ETL", "IL"]
    metal = ["Ag"] + (["trench1"] if not quasi_1d else [])
    assert area(dev) == pytest.approx(area(full, *stack), rel=1e-12)
    assert area(ace) == pytest.approx(area(full, "ETL", "IL", *metal), rel=1e-12)
    # the cathode is an exterior boundary of the device part, with the same length
    assert length(dev, "cathode") == pytest.approx(length(full, "cathode"), rel=1e-12)
    assert dev.comm.allreduce(len(dev.cells("Ag"))) == 0


@pytest.mark.mpi
def test_picture_colour_range_is_that_of_what_is_shown():
    """The colour range of a picture (viz.colour_range): of a field equal to the height y, over the whole stack
    it is (0, total height); zoomed on the cathode, the window's heights; a log picture ignores where the field is
    zero and spans at most LOG_DECADES below its largest value; the same on any number of ranks."""
    from femqled.viz import LOG_DECADES, colour_range, window

    case = small_case()
    dm = fmesh.device_mesh(case)
    y = fmesh.owned_cell_vertices(dm.mesh)[:, :, 1]           # a field given at each owned triangle's vertices
    lo, hi = colour_range(dm, y)
    top = dm.comm.allreduce(float(y.max()), op=MPI.MAX)
    assert lo == pytest.approx(0.0, abs=1e-12) and hi == pytest.approx(top, rel=1e-12)
    win = window(dm, "cathode")
    lo, hi = colour_range(dm, y, zoom="cathode")
    assert win[2] - 1e-9 <= lo < hi <= win[3] + 1e-9
    assert colour_range(dm, np.ones_like(y)) is None           # a flat field: the plotter's own range
    lay = dm.layout
    qd = np.where((y > lay.y["EML.bottom"]) & (y < lay.y["EML.top"]), 10.0 ** (y - lay.y["EML.bottom"]), 0.0)
    lo, hi = colour_range(dm, qd, log=True)                    # 1e0 .. 1e10 inside the dots, zero elsewhere
    span = dm.comm.allreduce(float(np.log10(qd[qd > 0]).max()) if (qd > 0).any() else -np.inf, op=MPI.MAX)
    assert hi == pytest.approx(span, rel=1e-12) and lo == pytest.approx(max(span - LOG_DECADES, 0.0), abs=0.5)
    y_e = 10.0 ** np.clip(y, 0.0, 30.0) + 1.0                  # 30 decades: the picture shows the top LOG_DECADES
    lo, hi = colour_range(dm, y_e, log=True)
    assert hi - lo == pytest.approx(LOG_DECADES, rel=1e-12)


@pytest.mark.mpi
def test_pictures_keep_a_jump_at_an_interface():
    """fields.vertex_values: a discontinuous field (the region tag, in DG1) at the vertices of each owned triangle
    is that triangle's own value, also at the vertices it shares with another region (no averaging across a
    heterojunction, so no dependence on which cell or rank writes a shared node last)."""
    from dolfinx import fem

    from femqled.fields import vertex_values

    dm = fmesh.device_mesh(small_case())
    tag = fem.Function(fem.functionspace(dm.mesh, ("DG", 0)))
    tag.x.array[:] = dm.region_ids()
    f = fem.Function(fem.functionspace(dm.mesh, ("DG", 1)))
    f.interpolate(tag)
    v = vertex_values(f)
    n = dm.mesh.topology.index_map(2).size_local
    assert v.shape == (n, 3)
    assert np.array_equal(v, np.repeat(dm.region_ids()[:n, None], 3, axis=1).astype(float))
    assert dm.comm.allreduce(len(np.unique(v)), op=MPI.MAX) > 1       # the stack's regions, several of them


@pytest.mark.mpi
def test_zoom_windows_centre_on_the_trench_and_name_their_layers():
    """viz.window: the third of the width around the trench's foot, from a layer's bottom (minus 1 nm) to its top
    (plus 1 nm) or to 10 nm into the Ag; an unknown zoom names what is allowed. The same on any number of ranks."""
    from femqled.viz import window

    case = small_case(trench=[{"x_nm": 15.0, "width_nm": 6.0, "depth_nm": 3.0, "shape": "elliptic"}])
    dm = fmesh.device_mesh(case)
    lay = dm.layout
    W = lay.width_nm
    x0, x1, y0, y1 = window(dm, "EML")
    assert x1 - x0 == pytest.approx(W / 3) and x0 == pytest.approx(15.0 - W / 6, abs=0.3)
    assert (y0, y1) == pytest.approx((lay.y["EML.bottom"] - 1, lay.y["EML.top"] + 1))
    assert window(dm, "EML:cathode")[2:] == pytest.approx((lay.y["EML.bottom"] - 1, lay.y["cathode"] + 10))
    assert window(dm, None) is None
    with pytest.raises(ValueError, match="unknown zoom 'QD'; allowed: 'cathode', a layer"):
        window(dm, "QD")
    x0, x1, *_ = window(fmesh.device_mesh(small_case(trench=[{"x_nm": 5.0, "width_nm": 6.0, "depth_nm": 3.0,
                                                                "shape": "elliptic"}])), "cathode")
    assert (x0, x1) == pytest.approx((0.0, W / 3))             # a trench near the edge: the window stays inside


@pytest.mark.mpi
def test_cutline_positions_through_the_trench_and_the_flat_contact():
    """bands.position: "trench" is the middle of the first trench's foot, "flat" the point farthest from every
    foot (1 nm in from the zero-flux sides); without trenches "flat" is the middle and "trench" one line naming
    --x; the same on any number of ranks."""
    from femqled.errors import InputError
    from femqled.instruments.bands import position

    el = {"width_nm": 4.0, "depth_nm": 3.0, "shape": "elliptic"}
    dm = fmesh.device_mesh(small_case(trench=[{"x_nm": 15.0, **el}]))
    W = dm.layout.width_nm
    assert fmesh.trench_feet(dm)[0] == pytest.approx((13.0, 17.0), abs=0.3)
    assert position(dm, "trench") == pytest.approx(15.0, abs=0.3)
    assert position(dm, "flat") == pytest.approx(W - 1.0, abs=0.05)       # farther from the foot than x = 1 nm
    assert position(dm, "7.5") == 7.5 and position(dm, None) == W / 2
    dm = fmesh.device_mesh(small_case(trench=[{"x_nm": 0.25 * W, **el}, {"x_nm": 0.75 * W, **el}]))
    assert position(dm, "trench") == pytest.approx(0.25 * W, abs=0.3)
    assert position(dm, "flat") == pytest.approx(0.5 * W, abs=0.3)          # between the two trenches
    dm = fmesh.device_mesh(small_case())
    assert position(dm, "flat") == W / 2
    with pytest.raises(InputError, match="no \\[\\[trench\\]\\]"):
        position(dm, "trench")
    with pytest.raises(InputError, match="'trench' or 'flat'; got 'middle'"):
        position(dm, "middle")


@pytest.mark.mpi
def test_layer_integral_per_width_of_a_field_at_triangle_vertices():
    """fields.per_width: 1 over the dots gives their thickness, y - y_bottom gives t^2 / 2 (linear on each
    triangle: exact), over the whole mesh the height of its flat top; the same on any number of ranks."""
    from femqled.fields import per_width

    dm = fmesh.device_mesh(small_case())
    lay = dm.layout
    y = fmesh.owned_cell_vertices(dm.mesh)[:, :, 1]
    t = lay.y["EML.top"] - lay.y["EML.bottom"]
    assert per_width(dm, np.ones_like(y), "EML") == pytest.approx(t, rel=1e-12)
    assert per_width(dm, y - lay.y["EML.bottom"], "EML") == pytest.approx(t ** 2 / 2, rel=1e-12)
    assert per_width(dm, np.ones_like(y), "HTL", "EML") == pytest.approx(lay.y["EML.top"] - lay.y["HTL.bottom"],
                                                                         rel=1e-12)
    assert per_width(dm, np.ones_like(y)) == pytest.approx(lay.y["top"], rel=1e-12)     # the whole mesh, Ag too
