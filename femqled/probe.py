"""Point evaluation of fields in parallel: each rank evaluates the points inside its cells; values are gathered
so that every rank gets all of them (NaN outside the mesh)."""

from __future__ import annotations

import numpy as np
from dolfinx import geometry
from mpi4py import MPI


def evaluate(func, points: np.ndarray, component: int | None = None) -> np.ndarray:
    """Values of ``func`` (a DOLFINx Function) at ``points`` (N x 2 or N x 3, nm), on every rank.

    ``component`` picks one component of a blocked (vector) function."""
    mesh = func.function_space.mesh
    pts = np.zeros((len(points), 3))
    pts[:, : np.asarray(points).shape[1]] = points
    tree = geometry.bb_tree(mesh, mesh.topology.dim)
    candidates = geometry.compute_collisions_points(tree, pts)
    colliding = geometry.compute_colliding_cells(mesh, candidates, pts)
    n_owned = mesh.topology.index_map(mesh.topology.dim).size_local
    idx, cells = [], []
    for i in range(len(pts)):
        c = colliding.links(i)
        c = c[c < n_owned]                         # owned cells only: each point is counted once
        if len(c):
            idx.append(i)
            cells.append(c[0])
    local = np.full(len(pts), np.nan)
    if idx:
        vals = np.asarray(func.eval(pts[idx], np.asarray(cells, dtype=np.int32))).reshape(len(idx), -1)
        vals = vals[:, component] if component is not None else vals[:, 0]
        local[idx] = vals
    found = np.ascontiguousarray(np.where(np.isnan(local), -np.inf, local))
    out = np.empty_like(found)
    mesh.comm.Allreduce(found, out, op=MPI.MAX)
    return np.where(np.isinf(out), np.nan, out)
