"""Checkpoints of P1 fields, independent of the number of ranks, written atomically.

Values are gathered to rank 0 in the order of the mesh's input (file) node indices, which are the same for
every partition of a cached mesh, and saved with other state in one ``.npz`` written to a temporary name and
renamed: a run killed while writing leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from femqled import compat


def _input_index(V) -> np.ndarray:
    """Input (file) node index of each local dof of a P1 space (block index for blocked spaces)."""
    mesh = V.mesh
    tdim = mesh.topology.dim
    ncell = mesh.topology.index_map(tdim).size_local + mesh.topology.index_map(tdim).num_ghosts
    dofs = V.dofmap.list[:ncell].ravel()
    nodes = compat.cell_nodes(mesh)[:ncell].ravel()
    out = np.empty(V.dofmap.index_map.size_local + V.dofmap.index_map.num_ghosts, dtype=np.int64)
    out[dofs] = mesh.geometry.input_global_indices[nodes]
    return out


def gather(func) -> np.ndarray | None:
    """All values of a P1 function in input-node order (rank 0; None elsewhere)."""
    V = func.function_space
    bs = V.dofmap.index_map_bs
    n = V.dofmap.index_map.size_local
    idx = _input_index(V)[:n]
    vals = func.x.array[: n * bs].reshape(n, bs)
    comm = V.mesh.comm
    parts = comm.gather((idx, vals), root=0)
    if comm.rank != 0:
        return None
    I = np.concatenate([p[0] for p in parts])
    Vv = np.concatenate([p[1] for p in parts])
    out = np.empty((I.max() + 1, bs))
    out[I] = Vv
    return out


def scatter(func, values: np.ndarray) -> None:
    """Set a P1 function from values in input-node order (every rank holds the array)."""
    V = func.function_space
    bs = V.dofmap.index_map_bs
    idx = _input_index(V)
    func.x.array[:] = values[idx].reshape(-1) if bs > 1 else values[idx, 0]
    func.x.scatter_forward()


def save(path: Path, comm, **arrays) -> None:
    """Rank 0 writes ``arrays`` to ``path`` atomically."""
    if comm.rank == 0:
        path = Path(path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    comm.barrier()


def load(path: Path, comm) -> dict:
    data = None
    if comm.rank == 0:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    return comm.bcast(data, root=0)
