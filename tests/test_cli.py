"""The command line, run as a user would (subprocesses): outputs exist and are readable; bad input is one line."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SMALL = """
title = "small test stack"
[geometry]
width_nm = 30.0
[[layer]]
name = "HIL"
material = "PEDOT:PSS"
thickness_nm = 10.0
[[layer]]
name = "HTL"
material = "TFB"
thickness_nm = 12.0
[[layer]]
name = "EML"
material = "QD"
thickness_nm = 10.0
[[layer]]
name = "ETL"
material = "ZnO-NP"
thickness_nm = 15.0
[cathode]
thickness_nm = 10.0
[roughness]
rms_nm = 0.5
correlation_length_nm = 8.0
[[trench]]
x_nm = 15.0
width_nm = 6.0
depth_nm = 3.0
[mesh]
interface_size_nm = 0.5
bulk_size_nm = 2.5
"""


def femqled(*args, cwd, np=1):
    cmd = [sys.executable, "-m", "femqled", *args]
    if np > 1:
        cmd = ["mpirun", "-n", str(np), *cmd]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FEMQLED_MESH_DIR": str(Path(cwd) / "meshes")}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture
def case_file(tmp_path):
    p = tmp_path / "small.toml"
    p.write_text(SMALL)
    return p


def test_mesh_command_writes_xdmf_png_and_summary(case_file, tmp_path):
    r = femqled("mesh", str(case_file), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "results" / "small"
    summary = json.loads((out / "mesh.json").read_text())
    assert summary["cells"] > 0 and summary["min_angle_deg"] > 20
    import xml.etree.ElementTree as ET

    import h5py

    grids = {g.get("Name") for g in ET.parse(out / "mesh.xdmf").iter("Grid")}
    assert {"mesh", "regions", "facets"} <= grids, grids
    with h5py.File(out / "mesh.h5") as h5:
        assert h5["Mesh/mesh/geometry"].shape[0] == summary["vertices"]
    from femqled.viz import image_variance

    for png in ("mesh.png", "mesh_cathode.png"):
        assert image_variance(out / png) > 0, png
    assert json.loads((out / "manifest.json").read_text())["runs"][0]["command"] == "mesh"


def test_jv_command_quasi_1d(case_file, tmp_path):
    r = femqled("jv", str(case_file), "--quasi-1d", "--V", "0:3:0.25", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "results" / "small"
    lines = (out / "jv.csv").read_text().splitlines()
    assert len(lines) == 1 + 13 and lines[0].startswith("V,J_mA_cm2")
    s = json.loads((out / "jv.json").read_text())
    assert s["points"] == 13 and s["min_ideality"] > 1
    assert "min ideality" in r.stdout


def test_demo_on_two_ranks_leaves_readable_files(case_file, tmp_path):
    r = femqled("demo", str(case_file), "--V", "0:2:0.5", "--quiet", cwd=tmp_path, np=2)
    assert r.returncode == 0, r.stderr + r.stdout
    out = tmp_path / "results" / "small"
    import xml.etree.ElementTree as ET

    import meshio

    with meshio.xdmf.TimeSeriesReader(out / "potentials_3V.xdmf") as reader:   # mesh and last field via meshio
        points, cells = reader.read_points_cells()
        _, point_data, _ = reader.read_data(0)
    assert len(points) > 0 and cells and point_data
    names = {a.get("Name") for a in ET.parse(out / "potentials_3V.xdmf").iter("Attribute")}
    assert {"psi", "phi_n", "phi_p"} <= names, names
    assert (out / "fields_3V.bp").is_dir() and (out / "fields_3V_vectors.bp").is_dir()
    assert r.stdout.count("demo: results in") == 1          # rank 0 prints, once


@pytest.mark.parametrize("edit, field", [
    (lambda t: t.replace('thickness_nm = 12.0', 'thickness_nm = -12.0'), "layer[1].thickness_nm"),
    (lambda t: t.replace('material = "QD"', 'material = "unobtainium"'), "layer[2].material"),
    (lambda t: t.replace('[cathode]', '[cathode]\ncolour = "red"'), "cathode.colour"),
])
def test_bad_input_is_one_clear_line(case_file, tmp_path, edit, field):
    case_file.write_text(edit(SMALL))
    r = femqled("mesh", str(case_file), cwd=tmp_path)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"femqled: error: {field}:"), r.stderr


def test_age_command_quasi_1d(case_file, tmp_path):
    r = femqled("age", str(case_file), "--quasi-1d", "--hours", "20", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = (tmp_path / "results" / "small" / "ageing.csv").read_text().splitlines()
    assert lines[0].startswith("t_h,dt_h,V,J_mA_cm2,luminance_cd_m2") and len(lines) > 3
    assert float(lines[-1].split(",")[0]) == pytest.approx(20.0)


def test_newton_failure_keeps_the_curve_and_the_last_good_state(case_file, tmp_path):
    """A Newton that cannot converge (at most 4 iterations, no step cutting below 0.5 V) stops the sweep with
    one line saying where; the converged points and the last good state are written."""
    case_file.write_text(SMALL + "[solver]\nnewton_max_iterations = 4\nbias_step_V = 0.5\nmin_bias_step_V = 0.5\n")
    out = tmp_path / "res"
    r = femqled("jv", str(case_file), "--V", "0:3:0.5", "--quasi-1d", "--quiet", "--out", str(out), cwd=tmp_path)
    assert r.returncode == 3, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and "solver failed" in lines[0] and "last good state" in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    rows = (out / "jv.csv").read_text().splitlines()
    assert len(rows) >= 2                                # header + the converged points
    assert (out / "last_good_state.bp").is_dir()
