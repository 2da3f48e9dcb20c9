"""Test set-up shared by the serial run and the `mpirun -n 2` run (tests marked ``mpi``)."""

import os
import tempfile

import pytest
from mpi4py import MPI


@pytest.fixture(scope="session", autouse=True)
def mesh_cache():
    """A fresh mesh cache per test session, the same directory on every rank."""
    comm = MPI.COMM_WORLD
    d = tempfile.mkdtemp(prefix="femqled-meshes-") if comm.rank == 0 else None
    d = comm.bcast(d, root=0)
    os.environ["FEMQLED_MESH_DIR"] = d
    yield d


@pytest.fixture
def shared_tmp(tmp_path):
    """A temporary directory that every rank sees (rank 0's tmp_path)."""
    return MPI.COMM_WORLD.bcast(str(tmp_path), root=0)
