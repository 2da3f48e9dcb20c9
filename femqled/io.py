"""Outputs: one directory per case with a manifest, XDMF/VTX for ParaView, CSV/JSON for curves.

``results/<case name>/`` by default (``--out`` or ``$FEMQLED_RESULTS`` change it). Rank 0 writes summaries;
field files are written collectively. The manifest records the parameters, versions, git revision and the
command line of every command run into that directory.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from mpi4py import MPI

import femqled


def results_dir(case: dict, out: str | None = None, comm=MPI.COMM_WORLD) -> Path:
    base = Path(out) if out else Path(os.environ.get("FEMQLED_RESULTS", "results")) / Path(case["_path"]).stem
    if comm.rank == 0:
        base.mkdir(parents=True, exist_ok=True)
    comm.barrier()
    return base


def git_revision() -> str:
    here = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(["git", "-C", str(here), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return (rev + ("+dirty" if dirty else "")) if rev else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def versions() -> dict:
    import dolfinx
    import gmsh
    import petsc4py
    import mpi4py

    return {"femqled": femqled.__version__, "dolfinx": dolfinx.__version__, "petsc4py": petsc4py.__version__,
            "mpi4py": mpi4py.__version__, "gmsh": gmsh.__version__, "python": sys.version.split()[0]}


def write_manifest(outdir: Path, case: dict, command: str, extra: dict | None = None, comm=MPI.COMM_WORLD):
    """Add a record for ``command`` to ``outdir/manifest.json`` (rank 0)."""
    if comm.rank != 0:
        return
    path = outdir / "manifest.json"
    manifest = json.loads(path.read_text()) if path.exists() else {"runs": []}
    manifest["case"] = {k: v for k, v in case.items() if not k.startswith("_")}
    manifest["case_file"] = case.get("_path")
    manifest["runs"].append({"command": command, "argv": sys.argv, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                             "ranks": comm.size, "git": git_revision(), "versions": versions(), **(extra or {})})
    write_json(path, manifest, comm=comm)


def scalars(data) -> dict:
    """``data`` with only its scalar leaves (numbers, strings, booleans; nested tables kept): a run's summary as
    the manifest and ``femqled sweep``'s table record it, without curves or arrays."""
    import numbers

    out = {}
    for k, v in data.items():
        if isinstance(v, dict):
            inner = scalars(v)
            if inner:
                out[k] = inner
        elif isinstance(v, (bool, str, numbers.Number)) or getattr(v, "shape", None) == ():
            out[k] = v.item() if hasattr(v, "item") else v
    return out


def flat(data: dict, prefix: str = "") -> dict:
    """A nested summary as one level, keys joined by '.' (a CSV line)."""
    out = {}
    for k, v in data.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        out.update(flat(v, key) if isinstance(v, dict) else {key: v})
    return out


def last_run(outdir: Path, command: str | None = None) -> dict:
    """The latest record of ``outdir/manifest.json`` (of ``command``, if given); {} without one."""
    path = Path(outdir) / "manifest.json"
    try:
        runs = json.loads(path.read_text()).get("runs", []) if path.is_file() else []
    except ValueError:
        runs = []
    runs = [r for r in runs if command is None or r.get("command") == command]
    return runs[-1] if runs else {}


def write_json(path: Path, data, comm=MPI.COMM_WORLD) -> None:
    if comm.rank == 0:
        tmp = Path(str(path) + ".tmp")
        tmp.write_text(json.dumps(data, indent=1, default=float))
        os.replace(tmp, path)


def write_csv(path: Path, rows: list[dict], comm=MPI.COMM_WORLD) -> None:
    """Rows as CSV (rank 0); the columns are every key of any row, in order of appearance (a key some rows
    lack, e.g. ``sweep_dt_s`` of a point a sweep reached in time, is left empty in the others)."""
    if comm.rank != 0 or not rows:
        return
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for row in rows for k in row)), restval="")
        w.writeheader()
        w.writerows(rows)


def write_mesh_xdmf(dm, path: Path) -> None:
    """The mesh with its region (cell) and facet tags, for ParaView."""
    from dolfinx.io import XDMFFile

    dm.cell_tags.name = "regions"
    dm.facet_tags.name = "facets"
    with XDMFFile(dm.comm, str(path), "w") as f:
        f.write_mesh(dm.mesh)
        dm.mesh.topology.create_connectivity(dm.mesh.topology.dim - 1, dm.mesh.topology.dim)
        f.write_meshtags(dm.cell_tags, dm.mesh.geometry)
        f.write_meshtags(dm.facet_tags, dm.mesh.geometry)


def say(*args, comm=MPI.COMM_WORLD, **kw) -> None:
    """Print on rank 0 only."""
    if comm.rank == 0:
        print(*args, **kw, flush=True)


HEARTBEAT_S = 30.0      # how often a sweep asked for a bar says a line where its output is not a terminal (s)


class Progress:
    """What a sweep of ``total`` points says while it runs, on rank 0 only. ``every``: True, a bar (tqdm) where
    standard error is a terminal, else (a batch job's log, a pipe) a line every :data:`HEARTBEAT_S` seconds;
    False or None, nothing; a number, a line at most every ``every`` seconds (the heartbeat of long runs such as
    ``femqled paper``: ``<label>: <k> of <total> (<what>), <elapsed> s``). Use as a context manager;
    :meth:`update` after each point with what to show of it."""

    def __init__(self, label: str, total: int, every: bool | float | None, comm=MPI.COMM_WORLD):
        self.label, self.total, self.comm, self.done = label, total, comm, 0
        self.bar = None
        if every is True and not _terminal():
            every = HEARTBEAT_S
        self.every = None if every is None or every is False or every is True else float(every)
        if every is True and comm.rank == 0:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=label, unit="pt", leave=False)
        self.t0 = self.said = time.perf_counter()

    def update(self, **shown) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.set_postfix(**shown)
            self.bar.update()
        elif self.every is not None and time.perf_counter() - self.said >= self.every:
            self.said = time.perf_counter()
            what = ", ".join(f"{k} = {v}" for k, v in shown.items())
            say(f"{self.label}: {self.done} of {self.total}" + (f" ({what})" if what else "")
                + f", {self.said - self.t0:.0f} s", comm=self.comm)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _terminal() -> bool:
    """Whether standard error, where a progress bar draws, is a terminal (only rank 0's answer is used: only it
    says anything)."""
    return bool(getattr(sys.stderr, "isatty", lambda: False)())
