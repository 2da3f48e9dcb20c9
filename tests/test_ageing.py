"""The ageing loop (issue 5): acetate is conserved through it; a trench degrades first and the cathode current
moves away from it (acceptance 6)."""

import numpy as np
import pytest
from mpi4py import MPI

from femqled.ageing import Ageing
from helpers import small_case


@pytest.mark.mpi
def test_trench_degrades_first_and_current_moves_away():
    case = small_case(roughness={"rms_nm": 0.5, "correlation_length_nm": 10.0},
                      trench=[{"x_nm": 30.0, "width_nm": 8.0, "depth_nm": 4.0}],
                      ageing={"hours": 60.0, "J_mA_cm2": 10.0, "first_step_h": 2.0, "max_dtheta": 0.1})
    ag = Ageing(case, MPI.COMM_WORLD)
    total0 = ag.acetate.inventory()
    rows = ag.run(progress=False)
    assert rows[-1]["t_h"] == pytest.approx(60.0)
    assert abs(ag.acetate.inventory() - total0) <= 1e-10 * total0
    c, theta = ag.centres(), ag.theta
    at_trench, flat = theta[np.abs(c - 30) < 3].mean(), theta[np.abs(c - 30) > 10].mean()
    assert at_trench > 1.3 * flat > 0, (at_trench, flat)
    prof = ag.device.cathode_profile()
    x = np.concatenate(ag.comm.allgather(prof["x"]))
    j = np.concatenate(ag.comm.allgather(prof["j_n_mA_cm2"]))
    assert j[np.abs(x - 30) < 3].mean() < j[np.abs(x - 30) > 10].mean()
    assert all(abs(r["J_mA_cm2"] - 10.0) <= 1e-5 for r in rows)        # constant-current operation


@pytest.mark.mpi
def test_restart_equals_an_uninterrupted_run(shared_tmp):
    """Run to 9 h and checkpoint, resume to 30 h: the same as one run to 30 h (<= 1e-10; measured bitwise). The
    first step after 9 h starts from the straight line through the last two operating states (Ageing's
    predictor), so the checkpoint must carry the state one step back as well.

    On several ranks the linear solves use superlu_dist, whose results are bitwise reproducible; MUMPS's
    parallel factorisation agrees only to roundoff, which the contact current (a small difference of nearly
    equal densities) amplifies to ~1e-10 in theta. The mesh partition is deterministic (femqled.partition)."""
    from pathlib import Path

    comm = MPI.COMM_WORLD
    solver = {"linear_solver": "mumps" if comm.size == 1 else "superlu_dist"}
    base = dict(roughness={"rms_nm": 0.5, "correlation_length_nm": 10.0},
                trench=[{"x_nm": 30.0, "width_nm": 8.0, "depth_nm": 4.0}], solver=solver,
                ageing={"J_mA_cm2": 10.0, "first_step_h": 2.0, "max_dtheta": 0.1})
    straight = Ageing(small_case(**{**base, "ageing": {**base["ageing"], "hours": 30.0}}), comm)
    straight.run(progress=False, stops=[9.0])
    out = Path(shared_tmp) / "age"
    if comm.rank == 0:
        out.mkdir()
    comm.barrier()
    first = Ageing(small_case(**{**base, "ageing": {**base["ageing"], "hours": 9.0}}), comm)
    first.run(out, progress=False)
    second = Ageing(small_case(**{**base, "ageing": {**base["ageing"], "hours": 30.0}}), comm)
    rows = second.run(out, progress=False, resume=True, stops=[9.0])
    assert rows[-1]["t_h"] == pytest.approx(30.0)
    assert [r["t_h"] for r in rows] == [r["t_h"] for r in straight.rows]          # the same steps
    a, b = straight.rows[-1], rows[-1]
    diffs = {k: abs(b[k] / a[k] - 1) for k in ("theta_mean", "acetate_in_Ag", "V", "luminance_cd_m2")}
    print("restart differences", diffs)
    assert max(diffs.values()) <= 1e-10, diffs
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]    # no partial checkpoint left behind


def test_time_step_convergence_is_first_order():
    """Fixed steps dt, dt/2, dt/4 of the coupled loop (current-activated kinetics, quasi-1D): the error of
    theta(t_end) against a dt/32 reference falls by >= 1.8x per halving (backward Euler + sequential splitting)."""
    def theta_end(dt):
        case = small_case(geometry={"quasi_1d": True},
                          ageing={"J_mA_cm2": 30.0, "hours": 8.0, "first_step_h": dt, "max_dtheta": 1.0,
                                  "max_dL": 1e9, "step_growth": 1.0})
        ag = Ageing(case, MPI.COMM_SELF)
        rows = ag.run(progress=False)
        assert rows[-1]["t_h"] == pytest.approx(8.0)
        assert len(rows) - 1 == round(8.0 / dt)
        return rows[-1]["theta_mean"]

    ref = theta_end(2.0 / 32)
    errors = [abs(theta_end(dt) - ref) for dt in (2.0, 1.0, 0.5)]
    print("theta errors", errors, "ratios", errors[0] / errors[1], errors[1] / errors[2])
    assert errors[0] / errors[1] >= 1.8 and errors[1] / errors[2] >= 1.8


def test_fields_are_written_as_a_time_series(tmp_path):
    """VTX time series for ParaView at t = 0, the requested output times and the end."""
    import os

    os.environ.setdefault("ADIOS2_ALWAYS_USE_MPI", "1")    # Debian sid ships only the MPI bindings
    import adios2

    case = small_case(geometry={"quasi_1d": True}, ageing={"hours": 20.0, "output_times_h": [5.0, 10.0]})
    ag = Ageing(case, MPI.COMM_SELF)
    rows = ag.run(tmp_path, progress=False)
    assert any(abs(r["t_h"] - 5.0) < 1e-12 for r in rows) and any(abs(r["t_h"] - 10.0) < 1e-12 for r in rows)
    for name, var in (("ageing_fields.bp", "n"), ("ageing_acetate.bp", "acetate_cm3")):
        path = tmp_path / name
        assert path.is_dir(), name
        with adios2.FileReader(str(path)) as f:
            info = f.available_variables()
            assert var in info, (name, list(info))
            assert int(info[var]["AvailableStepsCount"]) == 4, (name, info[var])     # 0, 5, 10, 20 h


def test_test_ends_at_the_voltage_compliance():
    """A contact that degrades past what 100 mA/cm2 can be pushed through at 2.5 V: the run ends normally (no
    error), says why, keeps every row within the compliance and locates the crossing to 1 % in time."""
    from femqled.instruments import lifetime

    case = small_case(geometry={"quasi_1d": True},
                      ageing={"J_mA_cm2": 100.0, "hours": 50.0, "barrier_rise_eV": 0.8, "compliance_V": 2.5})
    ag = Ageing(case, MPI.COMM_SELF)
    rows = ag.run(None, progress=False)
    assert ag.stopped and "compliance" in ag.stopped
    assert rows[-1]["t_h"] < 50.0 and all(r["V"] <= 2.5 for r in rows)
    # the step control resolves the rise: no accepted step changes L by more than 2 max_dL (0.1)
    L = np.array([r["luminance_cd_m2"] for r in rows])
    assert np.max(np.abs(L[1:] / L[:-1] - 1)) <= 0.1 + 1e-12
    assert rows[-1]["dt_h"] <= 0.02 * rows[-1]["t_h"] or rows[-1]["V"] > 2.4
    s = lifetime.summarize(rows, ag.stopped)
    assert s["stopped"] == ag.stopped and s["elevation_duration_h"] <= s["t_end_h"]
    # back to the pristine contact from the state at the compliance: the device is the pristine one again
    from femqled.device import Device
    from femqled.instruments import rebuild

    rebuild.set_state(ag, ag.acetate.c_initial, theta=np.zeros_like(ag.theta))
    assert ag.device.solve(1.2).J == pytest.approx(Device(case, MPI.COMM_SELF).solve(1.2).J, rel=1e-6)


def test_progress_a_line_per_step_or_a_heartbeat(capsys):
    """Ageing.run(progress=...): True (or 0 s) a line per accepted step, naming the current; a number of seconds
    at most one line per that time; False none."""
    case = small_case(geometry={"quasi_1d": True}, ageing={"J_mA_cm2": 50.0, "hours": 20.0})
    lines = []                                   # (a list: 0.0 == False as a dict key)
    for progress in (True, 0.0, 1e9, False):
        rows = Ageing(case, MPI.COMM_SELF).run(None, progress=progress)
        lines.append([l for l in capsys.readouterr().out.splitlines() if l.startswith("age: 50 mA/cm2  t =")])
    every, zero, heartbeat, none = lines
    assert len(rows) > 3 and len(every) == len(zero) == len(rows) - 1
    assert heartbeat == [] and none == []


@pytest.mark.mpi
def test_contact_state_samples_the_depth_window_of_every_bin():
    """The contact state's inventory on the rough default interface (with its trench), 100 bins of 2 nm:
    acetate of one density in the Ag reads depth_nm x that density in every bin (to roundoff), and a density
    rising linearly with depth, 1 -> 2 over the 8 nm window, reads 1.5 x depth_nm within 1 % (measured 0.43 %
    with 64 points per cell, 5.5 % with one). Whole cells binned by their centres over the nominal area
    read a bin up to 23 % off (they collect 0.77-1.22 of it)."""
    from femqled.acetate import A0_CM3
    from femqled.case import load_case

    ag = Ageing(load_case("cases/default.toml"), MPI.COMM_WORLD)
    ac, d = ag.acetate, ag.cfg["depth_nm"]
    S_ag = float(ac.lib["Ag"]["acetate_solubility"])
    unit = S_ag * d * A0_CM3 * 1e-7                       # cm^-2 for a / S = 1 (1e21 cm^-3) over the window
    ac.c.x.array[:] = 0.7
    uniform = ag.ag_inventory_cm2() / unit
    assert len(uniform) == 100
    assert np.max(np.abs(uniform / 0.7 - 1.0)) < 1e-10, (uniform.min(), uniform.max())
    X = ac.V.tabulate_dof_coordinates()
    depth = X[:, 1] - np.interp(X[:, 0], ag.interface_x, ag.interface_y)
    ac.c.x.array[:] = 1.0 + np.clip(depth, 0.0, None) / d
    rising = ag.ag_inventory_cm2() / unit
    assert np.max(np.abs(rising / 1.5 - 1.0)) < 1e-2, (rising.min(), rising.max())


def test_a_checkpoint_names_its_columns_and_an_older_one_still_loads(tmp_path):
    """The time series in a checkpoint carries its column names (``row_keys``), so a column added later (here
    J_trap_mA_cm2, 2026-12-02) leaves the others where they were; a checkpoint written before the names were
    stored loads with the columns of that time and NaN for the new one."""
    comm = MPI.COMM_SELF
    case = small_case(geometry={"quasi_1d": True}, ageing={"J_mA_cm2": 10.0, "hours": 2.0, "first_step_h": 1.0})
    first = Ageing(case, comm)
    first.run(tmp_path, progress=False)
    path = tmp_path / "checkpoint.npz"
    with np.load(path) as z:
        data = {k: z[k] for k in z.files}
    assert list(data["row_keys"]) == list(Ageing.ROW_KEYS)
    again = Ageing(case, comm)
    again.restore(path)
    assert again.rows == first.rows
    old = list(Ageing.UNNAMED_ROW_KEYS)                                 # the layout before the names were kept
    data["rows"] = data["rows"][:, [list(Ageing.ROW_KEYS).index(k) for k in old]]
    del data["row_keys"]
    np.savez(path, **data)
    older = Ageing(case, comm)
    older.restore(path)
    for a, b in zip(first.rows, older.rows):
        assert np.isnan(b["J_trap_mA_cm2"]) and a["J_trap_mA_cm2"] >= 0 and np.isnan(b["J_X_mA_cm2"])
        assert all(b[k] == a[k] for k in old)


def test_the_brightest_state_is_kept_beside_the_end(tmp_path):
    """``at_max.npz`` holds the state of the brightest step: a test that goes on past its luminance maximum (the
    quasi-1D default at 100 mA cm^-2 runs to its 10 V compliance after it) leaves there the time, contact and
    acetate of that step, and ``checkpoint.npz`` the end; :func:`aged_state` picks the maximum, or the end where
    the luminance never rose."""
    from femqled.ageing import aged_state
    from femqled.case import load_case
    from femqled.instruments import lifetime

    case = load_case("cases/default.toml", ["geometry.quasi_1d=true", "ageing.J_mA_cm2=100", "ageing.hours=30"])
    ag = Ageing(case, MPI.COMM_WORLD)
    rows = ag.run(tmp_path, progress=False)
    s = lifetime.summarize(rows, ag.stopped)
    assert ag.stopped and rows[-1]["t_h"] > s["elevation_duration_h"] > 0          # past the maximum
    assert rows[-1]["luminance_cd_m2"] < 0.99 * max(r["luminance_cd_m2"] for r in rows)
    at_max, end = Ageing(case, MPI.COMM_WORLD), Ageing(case, MPI.COMM_WORLD)
    at_max.restore(aged_state(tmp_path, s))
    end.restore(tmp_path / "checkpoint.npz")
    assert at_max.acetate.t == pytest.approx(s["elevation_duration_h"], rel=1e-12)
    assert at_max.rows[-1]["luminance_cd_m2"] == max(r["luminance_cd_m2"] for r in rows)
    assert end.acetate.t == pytest.approx(rows[-1]["t_h"], rel=1e-12)
    assert at_max.theta.mean() < end.theta.mean()
    assert at_max.acetate.inventory() == pytest.approx(end.acetate.inventory(), rel=1e-9)     # acetate moved, kept
    assert aged_state(tmp_path, {**s, "elevation_duration_h": 0.0}).name == "checkpoint.npz"
