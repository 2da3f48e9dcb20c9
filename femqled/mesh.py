"""Meshes: built once by Gmsh on rank 0, cached by a hash of their parameters, distributed to every rank.

``device_mesh(case, comm)`` returns a :class:`DeviceMesh`: the DOLFINx mesh, its cell and facet tags and the
:class:`~femqled.geometry.Layout` (name <-> tag registry). The cache lives in ``$FEMQLED_MESH_DIR`` (default
``./meshes``) as ``<hash>.msh`` plus ``<hash>.json`` (layout, parameters, Gmsh version). Files are written to
temporary names and renamed, the JSON last, under a file lock: a half-written mesh is never used.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import ufl
from mpi4py import MPI

from femqled import compat
from femqled.errors import InputError
from femqled.geometry import Layout, build_model, geometry_parameters

GEOMETRY_VERSION = 3   # bump when the geometry builder changes what a given case produces


def mesh_dir() -> Path:
    return Path(os.environ.get("FEMQLED_MESH_DIR", "meshes"))


def mesh_hash(case: dict) -> str:
    import gmsh

    key = {"geometry": geometry_parameters(case), "gmsh": gmsh.__version__, "builder": GEOMETRY_VERSION}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def _gmsh_build(case: dict, msh: Path) -> Layout:
    import gmsh

    gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.option.setNumber("General.NumThreads", 1)
        gmsh.model.add("femqled")
        try:
            layout = build_model(case, gmsh)
        except InputError:
            raise
        except Exception as e:  # Gmsh failures are reported as one message
            raise InputError("mesh", f"Gmsh could not build this geometry ({str(e).strip() or type(e).__name__}); "
                                     "check layer thicknesses, roughness and trenches") from None
        gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
        gmsh.write(str(msh))
        for part in layout.parts:
            if part == "all":
                continue
            gmsh.clear()
            gmsh.open(str(msh))
            keep = set(layout.parts[part])
            drop = [(2, t) for n, t in layout.regions.items() if n not in keep]
            drop += [(1, t) for n, t in layout.facets.items() if not keep & set(layout.facet_regions[n])]
            gmsh.model.removePhysicalGroups(drop)
            gmsh.write(str(part_path(msh, part)))     # only the kept entities are saved...
            gmsh.clear()
            gmsh.open(str(part_path(msh, part)))
            gmsh.model.mesh.renumberNodes()           # ...and DOLFINx wants contiguous node tags
            gmsh.model.mesh.renumberElements()
            gmsh.write(str(part_path(msh, part)))
        return layout
    finally:
        gmsh.finalize()


def part_path(msh: Path, part: str) -> Path:
    """The file holding one part of a cached mesh (the full mesh for "all")."""
    return msh if part == "all" else msh.with_name(f"{msh.stem}.{part}.msh")


def ensure_mesh(case: dict, comm=MPI.COMM_WORLD) -> tuple[Path, Layout]:
    """The cached mesh of ``case`` (built on rank 0 if missing); every rank gets the path and the layout."""
    result = None
    if comm.rank == 0:
        try:
            result = ("ok", *_ensure_mesh_serial(case))
        except InputError as e:
            result = ("error", e.field, e.problem)
    result = comm.bcast(result, root=0)
    if result[0] == "error":
        raise InputError(result[1], result[2])
    return Path(result[1]), Layout.from_dict(result[2])


def _ensure_mesh_serial(case: dict) -> tuple[str, dict]:
    import gmsh

    d = mesh_dir()
    d.mkdir(parents=True, exist_ok=True)
    h = mesh_hash(case)
    msh, meta = d / f"{h}.msh", d / f"{h}.json"
    with open(d / f"{h}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (msh.exists() and meta.exists()):
            tmp = d / f".{h}.{os.getpid()}.msh"
            try:
                layout = _gmsh_build(case, tmp)
                for part in layout.parts:
                    os.replace(part_path(tmp, part), part_path(msh, part))
                record = {"layout": layout.to_dict(), "parameters": geometry_parameters(case),
                          "gmsh": gmsh.__version__, "builder": GEOMETRY_VERSION}
                tmpj = d / f".{h}.{os.getpid()}.json"
                tmpj.write_text(json.dumps(record, indent=1, sort_keys=True))
                os.replace(tmpj, meta)
            finally:
                for leftover in d.glob(f".{h}.{os.getpid()}.*"):
                    leftover.unlink(missing_ok=True)
    layout = json.loads(meta.read_text())["layout"]
    return str(msh), layout


def _lumped(lumped: bool) -> dict | None:
    return {"quadrature_rule": "vertex", "quadrature_degree": 1} if lumped else None


@dataclass
class DeviceMesh:
    """A distributed mesh with its tags and layout. Lengths in nm."""

    mesh: object
    cell_tags: object
    facet_tags: object
    layout: Layout
    path: Path
    part: str = "all"

    @property
    def comm(self):
        return self.mesh.comm

    def cells(self, *regions: str) -> np.ndarray:
        """Local cell indices of the named regions."""
        tags = [self.layout.regions[r] for r in regions if r in self.layout.regions]
        return np.sort(self.cell_tags.indices[np.isin(self.cell_tags.values, tags)])

    def facets(self, *names: str) -> np.ndarray:
        """Local facet indices of the named facet sets or groups."""
        tags = [t for n in names for t in self.layout.facet_tags(n)]
        return np.sort(self.facet_tags.indices[np.isin(self.facet_tags.values, tags)])

    def dx(self, *regions: str, lumped: bool = False):
        """Integration measure over the named regions (all cells if none named); ``lumped``: vertex quadrature
        (mass lumping, each cell with its own coefficients at its vertices)."""
        dx = ufl.Measure("dx", domain=self.mesh, subdomain_data=self.cell_tags, metadata=_lumped(lumped))
        if not regions:
            return dx
        tags = tuple(self.layout.regions[r] for r in regions)
        return dx(tags)

    def box_weights(self):
        """DG1 weights that turn the vertex quadrature of ``dx(lumped=True)`` into the box (Voronoi) dual.

        Vertex quadrature gives each vertex a third of the cell; the finite-volume box method, whose edge
        couplings the fitted fluxes of :mod:`femqled.eafe` use (cot weights), gives vertex i of a non-obtuse
        triangle the part of its circumcentric dual, (|e_ij|^2 cot theta_k + |e_ik|^2 cot theta_j) / 8, and in an
        obtuse triangle A/2 to the obtuse vertex and A/4 to the others (Meyer et al., VisMath 2003). The weight
        is 3 share / A. On the quasi-1D column (rectangles split into right triangles) the box method is exactly
        the 1D Scharfetter-Gummel scheme: both nodes of a row get the same share of each material, where equal
        thirds would mix the two sides of a heterojunction differently at the two nodes.
        """
        if getattr(self, "_box", None) is not None:
            return self._box
        from dolfinx import fem
        V = fem.functionspace(self.mesh, ("DG", 1))
        X = V.tabulate_dof_coordinates()[:, :2]
        dofs = V.dofmap.list
        P = X[dofs]                                            # (ncell, 3, 2)
        w = np.empty(dofs.shape)
        a1, a2 = P[:, 1] - P[:, 0], P[:, 2] - P[:, 0]
        area = 0.5 * np.abs(a1[:, 0] * a2[:, 1] - a1[:, 1] * a2[:, 0])
        cot = np.empty(dofs.shape)                             # cot of the angle at each vertex
        for a in range(3):
            u, v = P[:, (a + 1) % 3] - P[:, a], P[:, (a + 2) % 3] - P[:, a]
            cot[:, a] = np.einsum("ij,ij->i", u, v) / (2 * area)
        for a in range(3):
            b, c = (a + 1) % 3, (a + 2) % 3
            e_ab = np.sum((P[:, b] - P[:, a]) ** 2, axis=1)
            e_ac = np.sum((P[:, c] - P[:, a]) ** 2, axis=1)
            w[:, a] = (e_ab * cot[:, c] + e_ac * cot[:, b]) / 8
        obtuse = np.any(cot < 0, axis=1)
        w[obtuse] = np.where(cot[obtuse] < 0, 0.5, 0.25) * area[obtuse, None]
        f = fem.Function(V, name="box_weight")
        f.x.array[dofs.ravel()] = (3 * w / area[:, None]).ravel()
        self._box = f
        return f

    def region_ids(self) -> np.ndarray:
        """Per local cell (owned, then ghosts): the region tag (0 where untagged)."""
        cmap = self.mesh.topology.index_map(self.mesh.topology.dim)
        ids = np.zeros(cmap.size_local + cmap.num_ghosts, dtype=np.int32)
        ids[self.cell_tags.indices] = self.cell_tags.values
        return ids

    def ds(self, *names: str, lumped: bool = False):
        """Integration measure over exterior facet sets (anode, top, left, right...)."""
        ds = ufl.Measure("ds", domain=self.mesh, subdomain_data=self.facet_tags, metadata=_lumped(lumped))
        return ds(tuple(t for n in names for t in self.layout.facet_tags(n)))

    def dS(self, *names: str):
        """Integration measure over interior facet sets (interfaces, the cathode)."""
        dS = ufl.Measure("dS", domain=self.mesh, subdomain_data=self.facet_tags)
        return dS(tuple(t for n in names for t in self.layout.facet_tags(n)))

    def num_cells_global(self) -> int:
        return self.mesh.topology.index_map(self.mesh.topology.dim).size_global

    def num_vertices_global(self) -> int:
        return self.mesh.topology.index_map(0).size_global


def read_mesh(path: Path, comm):
    """Read a .msh file on rank 0 (quietly) and distribute it: ``(mesh, cell_tags, facet_tags)``."""
    import gmsh

    if comm.rank == 0:
        gmsh.initialize(interruptible=False)
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.open(str(path))
    try:
        return compat.model_to_mesh(gmsh.model if comm.rank == 0 else None, comm, 0, gdim=2)
    finally:
        if comm.rank == 0:
            gmsh.finalize()


def device_mesh(case: dict, comm=MPI.COMM_WORLD, part: str = "all") -> DeviceMesh:
    """Build (if needed) and load the mesh of ``case`` on ``comm``.

    ``part``: "all" regions, the electrical "device" (the semiconductor stack, whose top is the cathode), or the
    "acetate" domain (last layer, interlayer, Ag and trenches).
    """
    path, layout = ensure_mesh(case, comm)
    if part not in layout.parts:
        raise InputError("part", f"unknown mesh part {part!r}; allowed: {', '.join(layout.parts)}")
    mesh, cell_tags, facet_tags = read_mesh(part_path(path, part), comm)
    tdim = mesh.topology.dim
    mesh.topology.create_connectivity(tdim - 1, tdim)
    return DeviceMesh(mesh, cell_tags, facet_tags, layout, path, part)


# --------------------------------------------------------------------------------------------------------------
# measures of a mesh (collective)
# --------------------------------------------------------------------------------------------------------------

def owned_cell_vertices(mesh) -> np.ndarray:
    """(owned cells, 3, 2): the x, y of each owned triangle's vertices (nm)."""
    tdim = mesh.topology.dim
    n = mesh.topology.index_map(tdim).size_local
    dofs = compat.cell_nodes(mesh)[:n]
    return mesh.geometry.x[dofs][:, :, :2]


def min_angle_deg(dm: DeviceMesh) -> float:
    """Smallest interior angle of any triangle (degrees), over all ranks."""
    v = owned_cell_vertices(dm.mesh)
    angles = []
    for i in range(3):
        a = v[:, (i + 1) % 3] - v[:, i]
        b = v[:, (i + 2) % 3] - v[:, i]
        c = np.einsum("ij,ij->i", a, b) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        angles.append(np.degrees(np.arccos(np.clip(c, -1, 1))))
    local = float(np.min(angles)) if v.shape[0] else 180.0
    return dm.comm.allreduce(local, op=MPI.MIN)


def facet_points(dm: DeviceMesh, *names: str, owned: bool = False) -> np.ndarray:
    """(facets, 2, 2): the x, y of the two ends of each local facet of the named sets (nm); ``owned``: only the
    facets this rank owns (each facet once over the ranks)."""
    mesh = dm.mesh
    fdim = mesh.topology.dim - 1
    facets = dm.facets(*names)
    if owned:
        facets = facets[facets < mesh.topology.index_map(fdim).size_local]
    if len(facets) == 0:
        return np.zeros((0, 2, 2))
    mesh.topology.create_connectivity(fdim, 0)
    from dolfinx.mesh import entities_to_geometry

    return mesh.geometry.x[entities_to_geometry(mesh, fdim, facets.astype(np.int32), False)][:, :, :2]


def cathode_sets(layout) -> list[str]:
    """The facet sets that make up the cathode interface (flat pieces and trench feet)."""
    return [n for n in layout.groups.get("cathode", []) if n in layout.facets]


def trench_feet(dm: DeviceMesh) -> list[tuple[float, float]]:
    """(x_min, x_max) in nm of each trench's foot on the cathode interface, in the trenches' order (collective;
    every rank gets the list; empty without trenches)."""
    feet = sorted((n for n in cathode_sets(dm.layout) if "/trench" in n),
                  key=lambda n: int(n.rpartition("trench")[2] or 0))
    out = []
    for name in feet:
        x = facet_points(dm, name)[:, :, 0]
        lo = dm.comm.allreduce(float(x.min()) if x.size else np.inf, op=MPI.MIN)
        hi = dm.comm.allreduce(float(x.max()) if x.size else -np.inf, op=MPI.MAX)
        if np.isfinite(lo):
            out.append((lo, hi))
    return out


def facet_lengths(dm: DeviceMesh, *names: str) -> np.ndarray:
    """Lengths of the locally owned facets of the named sets (nm)."""
    x = facet_points(dm, *names, owned=True)
    return np.linalg.norm(x[:, 1] - x[:, 0], axis=1)


def coordinate_hash(dm: DeviceMesh) -> str:
    """A hash of the mesh as built (vertex coordinates and cells in file order), from the cached .msh file."""
    import meshio

    m = meshio.read(dm.path)
    hsh = hashlib.sha256(np.round(m.points, 10).tobytes())
    for block in m.cells:
        hsh.update(block.data.tobytes())
    return hsh.hexdigest()[:16]
