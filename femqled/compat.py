"""The one place that knows DOLFINx version differences (0.9, 0.10, 0.11).

femqled targets DOLFINx 0.9 (Debian 13) and keeps working on 0.10/0.11 (Debian sid) through the few functions
below. Everything else in the package uses only API that is the same in all three. The nonlinear solver is our
own petsc4py SNES with DOLFINx assembly callbacks (:mod:`femqled.snes`), the most version-stable route: it does
not use ``dolfinx.fem.petsc.NonlinearProblem`` (Newton-based in 0.9, SNES-based from 0.10).
"""

from __future__ import annotations

import dolfinx
import dolfinx.fem.petsc

DOLFINX_VERSION: tuple[int, int] = tuple(int(v) for v in dolfinx.__version__.split(".")[:2])  # type: ignore

try:  # 0.10 and later: dolfinx.io.gmsh, returning a MeshData named tuple
    from dolfinx.io import gmsh as _gmshio
except ImportError:  # 0.9: dolfinx.io.gmshio, returning (mesh, cell_tags, facet_tags)
    from dolfinx.io import gmshio as _gmshio  # type: ignore[no-redef]


def _mesh_and_tags(result):
    if hasattr(result, "mesh"):
        return result.mesh, result.cell_tags, result.facet_tags
    return result[0], result[1], result[2]


def read_msh(path, comm, rank: int = 0, gdim: int = 2):
    """Read a Gmsh ``.msh`` file on ``rank`` and distribute it: ``(mesh, cell_tags, facet_tags)``."""
    from femqled.partition import cell_partitioner

    return _mesh_and_tags(_gmshio.read_from_msh(str(path), comm, rank, gdim=gdim, partitioner=cell_partitioner()))


def model_to_mesh(model, comm, rank: int = 0, gdim: int = 2):
    """Distribute the mesh of the current Gmsh model: ``(mesh, cell_tags, facet_tags)``."""
    from femqled.partition import cell_partitioner

    return _mesh_and_tags(_gmshio.model_to_mesh(model, comm, rank, gdim=gdim, partitioner=cell_partitioner()))


def create_cell_partitioner(graph_partitioner=None):
    """A cell partitioner with ghost mode shared_facet, from a graph partitioner (None: DOLFINx's default).
    0.11 adds a required ``max_facet_to_cell_links`` (2 for our non-branching meshes)."""
    import dolfinx.mesh as dmesh

    mode = dmesh.GhostMode.shared_facet
    head = (mode,) if graph_partitioner is None else (graph_partitioner, mode)
    try:
        return dmesh.create_cell_partitioner(*head)
    except TypeError:
        return dmesh.create_cell_partitioner(*head, 2)


def set_bc(vec, bcs, x0=None, alpha: float = 1.0) -> None:
    """``vec[dofs] = alpha * (g - x0[dofs])`` on every Dirichlet dof (``x0`` None means zero)."""
    if x0 is None:
        dolfinx.fem.petsc.set_bc(vec, bcs, alpha=alpha)
    else:
        dolfinx.fem.petsc.set_bc(vec, bcs, x0, alpha)


def create_matrix(form):
    """A PETSc matrix with the sparsity of a bilinear form."""
    return dolfinx.fem.petsc.create_matrix(form)


def assemble_matrix(A, form, bcs=(), diagonal: float = 1.0) -> None:
    """Assemble a bilinear form into the PETSc matrix A with Dirichlet rows/columns set to ``diagonal``
    (the keyword is ``diagonal`` in 0.9, ``diag`` from 0.10)."""
    try:
        dolfinx.fem.petsc.assemble_matrix(A, form, bcs=list(bcs), diagonal=diagonal)
    except TypeError:
        dolfinx.fem.petsc.assemble_matrix(A, form, bcs=list(bcs), diag=diagonal)


def bc_dofs(bc):
    """Local dof indices (owned and ghost) of a Dirichlet condition."""
    dofs, _ = bc.dof_indices()
    return dofs


def apply_dirichlet(bc, array) -> None:
    """Write the Dirichlet values of ``bc`` into a dof array (owned and ghost)."""
    bc.set(array)


def collapse(subspace):
    """``(collapsed space, parent dof of each collapsed dof)``; 0.11 nests the map in an extra list."""
    import numpy as np

    space, mapping = subspace.collapse()
    return space, np.asarray(mapping).reshape(-1)


def cell_nodes(mesh):
    """Geometry node indices of each cell, one row per cell (local cells first, then ghosts): ``geometry.dofmap``
    in 0.9, ``geometry.dofmaps[0]`` from 0.10 (where ``dofmap`` is deprecated)."""
    maps = getattr(mesh.geometry, "dofmaps", None)
    return maps[0] if isinstance(maps, list) else mesh.geometry.dofmap
