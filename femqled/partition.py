"""A deterministic partitioner for distributing meshes over MPI ranks.

Debian's DOLFINx partitions with PT-Scotch, whose threaded build returns a different partition each time the same
mesh is loaded. Results then differ between runs at roundoff level, which adaptive decisions (time steps,
continuation) can amplify, and a run resumed from a checkpoint no longer repeats the uninterrupted one.
femqled therefore partitions the (small, 2D) dual graph itself, the same way every time:

1. a breadth-first ordering of the cells from a pseudo-peripheral cell (two BFS sweeps; scipy.sparse.csgraph),
   which orders a cross-section in fronts;
2. ``nparts`` consecutive chunks of that order, each connected;
3. for ``GhostMode.shared_facet``, each cell is also sent, as a ghost, to the owners of its facet neighbours
   (the dual graph's edges are shared facets), which interior-facet integrals need.

Set ``FEMQLED_PARTITIONER=scotch`` to use DOLFINx's default instead (better balanced surfaces for many ranks,
not reproducible run to run).
"""

from __future__ import annotations

import os

import numpy as np
from mpi4py import MPI


def _bfs_order(offsets: np.ndarray, targets: np.ndarray, n: int) -> np.ndarray:
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import breadth_first_order

    A = csr_matrix((np.ones(len(targets)), targets, offsets), shape=(n, n))
    order = np.empty(0, dtype=np.int64)
    seen = np.zeros(n, dtype=bool)
    pieces = []
    for start in range(n):          # every connected component (there is normally one)
        if seen[start]:
            continue
        first = breadth_first_order(A, start, directed=False, return_predecessors=False)
        far = first[-1]             # a pseudo-peripheral cell: the last one reached
        piece = breadth_first_order(A, far, directed=False, return_predecessors=False)
        seen[piece] = True
        pieces.append(piece)
    order = np.concatenate(pieces) if pieces else order
    return order


def graph_partitioner(comm, nparts: int, graph, ghosting: bool):
    """Graph partitioner with DOLFINx's signature: destinations (owner first, then ghost ranks) of local cells."""
    from dolfinx import graph as dgraph

    offsets = np.asarray(graph.offsets, dtype=np.int64)
    targets = np.asarray(graph.array, dtype=np.int64)
    n_local = len(offsets) - 1
    counts = comm.allgather(n_local)
    start = int(sum(counts[: comm.rank]))
    n = int(sum(counts))
    parts = comm.gather((np.diff(offsets), targets), root=0)
    owner_all = None
    if comm.rank == 0:
        degrees = np.concatenate([p[0] for p in parts])
        adj = np.concatenate([p[1] for p in parts])
        offs = np.concatenate([[0], np.cumsum(degrees)])
        order = _bfs_order(offs, adj, n)
        owner_all = np.empty(n, dtype=np.int32)
        owner_all[order] = (np.arange(n, dtype=np.int64) * nparts // max(n, 1)).astype(np.int32)
    owner_all = comm.bcast(owner_all, root=0)
    own = owner_all[start:start + n_local]
    def adjacency(data, offsets):             # 0.11 wraps the C++ list in a Python class: hand back the C++ one
        al = dgraph.adjacencylist(data, offsets)
        return getattr(al, "_cpp_object", al)

    if not ghosting:
        return adjacency(own.astype(np.int32), np.arange(n_local + 1, dtype=np.int32))
    dest, dest_off = [], [0]
    for k in range(n_local):
        nb = owner_all[targets[offsets[k]:offsets[k + 1]]]
        ghosts = np.unique(nb[nb != own[k]])
        dest.append(np.concatenate([[own[k]], ghosts]).astype(np.int32))
        dest_off.append(dest_off[-1] + len(dest[-1]))
    data = np.concatenate(dest) if dest else np.empty(0, dtype=np.int32)
    return adjacency(data, np.asarray(dest_off, dtype=np.int32))


def cell_partitioner():
    """The cell partitioner femqled distributes meshes with (ghost mode shared_facet)."""
    from femqled import compat

    if os.environ.get("FEMQLED_PARTITIONER", "") == "scotch":
        return compat.create_cell_partitioner()
    return compat.create_cell_partitioner(graph_partitioner)
