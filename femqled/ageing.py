"""Operating-time evolution: acetate moves into the Ag, the contact degrades, electrons redistribute (sec. 4).

At each ageing step (operator splitting: electrons are quasi-static on the hours scale):

1. the electrical steady state at the operating current (``Device.operate``), giving the local cathode current
   density j_n(s) and the emission record (L, EQE, eta_X);
2. the acetate transport follows the kinetics: ``diffusion`` (as in the parameter file); ``current``
   (D_eff = D (|j_n(s)| / j_ref)^m in the Ag, a Black-type law; m = 1.5-2 from the paper's elevation times);
   ``field`` (a charged species, charge ``acetate_charge``, drifting in the electrostatic potential of the
   operating state: under forward bias the field pushes an anion away from the Ag; with ``charge_in_poisson``
   the displaced charge z q (a - a0) enters Poisson - a sequential coupling that is stable only while that
   charge stays small: a dense mobile ion population screens within ~0.1 nm and needs an implicit coupling);
   ``thermal`` (Arrhenius, D exp(-E_a/k (1/T - 1/T0)), with Joule self-heating T = T0 + R_th J V);
3. one backward-Euler acetate step;
4. the contact state theta(s) in [0, 1]: the acetate in the Ag within ``depth_nm`` of the interface, per lateral
   bin of ``bins_nm``, divided by ``saturation_cm2``; the cathode barrier becomes Phi_B0 + dPhi_B theta(s), and
   with ``[ions]`` the mobile ions in their layer number sheet_cm2 + released_cm2 mean(theta) per unit area (they
   follow the operating potential, :mod:`femqled.ions`).

The step grows by ``step_growth`` (1.5x) while theta changes by less than ``max_dtheta`` and the luminance by less
than ``max_dL`` (relative), and is halved (and redone) when either changes by more than twice that: near the
contact's threshold L moves fast while theta moves slowly. Each step's constant-current solve starts from the
straight line in time through the last two operating states (state and bias; the checkpoint keeps both, so a
resumed run takes the same steps to the bit). If the electrical solve fails, the step is cut (4x) and
redone; if it still fails, the last good state is written (checkpoint + fields) and the run stops with a message.
Steps are first order in time (backward Euler for acetate, the kinetics from the electrical state at the start of
the step: a sequential splitting); tests/test_ageing.py measures the order. Rank 0 writes ``ageing.csv`` (time
series) as it goes.
"""

from __future__ import annotations

import time

import numpy as np
from mpi4py import MPI

from femqled import compat
from femqled.acetate import A0_CM3, AcetateTransport
from femqled.device import Device
from femqled.errors import ComplianceReached, InputError, SolverError
from femqled.fields import write_state
from femqled.scaling import KB, N0_CM3, Q


COMPLIANCE_RTOL = 1e-2   # the time at which the voltage compliance is reached, relative
AT_MAX = "at_max.npz"    # beside checkpoint.npz: the state of the brightest step (Ageing.run)
OPERATE_RTOL = 1e-8    # constant current to 1e-8 by the secant; the bordered Newton (the default) stops at what
                       # the steady states resolve, 1e-6 (at a converged 2D state J moves by ~1e-7 under Newton
                       # updates of 4e-14 V_t: a sum of cancelling fluxes; femqled/current_control.py)


class Ageing:
    def __init__(self, case: dict, comm=MPI.COMM_WORLD):
        self.case, self.cfg, self.comm = case, case["ageing"], comm
        self.stopped = None          # why a run ended before its time (the voltage compliance), or None
        self._before = None          # (step h, bias V, state) of the operating state one step back (see run)
        self.device = Device(case, comm)
        self.acetate = AcetateTransport(case, comm)
        self.phi0 = self.device.contacts.barrier0_eV
        W = self.device.dm.layout.width_nm
        nb = max(1, int(round(W / self.cfg["bins_nm"])))
        self.edges = np.linspace(0.0, W, nb + 1)
        self.theta = np.zeros(nb)
        lay = self.device.dm.layout
        self.metal_tags = [lay.regions[r] for r in lay.parts["acetate"]
                           if self.acetate.lib[lay.materials[r]]["role"] == "metal"]
        points = self.device.cathode_points()
        self.interface_x, self.interface_y = points[:, 0].copy(), points[:, 1].copy()
        self.rows: list[dict] = []
        self.pristine_cm2 = self.ag_inventory_cm2()      # the pile-up at the interface at t = 0

    # ---------------------------------------------------------------------------------------------------------
    def centres(self) -> np.ndarray:
        return 0.5 * (self.edges[1:] + self.edges[:-1])

    def ag_inventory_cm2(self) -> np.ndarray:
        """Acetate per unit interface length (cm^-2) in the Ag within depth_nm of the interface, per lateral bin:
        depth_nm times the mean density over the part of the Ag that the bin and the depth window sample.

        The amount is binned at 64 points per cell (``AcetateTransport.samples``) and divided by the area those
        points stand for. Binning whole cells by their centres instead, a 2 nm bin of the default mesh
        collected 0.77-1.22 of its nominal area, and dividing by the nominal area made three bins of the
        default geometry lag the rest by a factor of ~3 in time. A bin that samples no point (bins finer than
        the mesh) takes the density of its neighbours."""
        xy, tags, amount, area = self.acetate.samples()
        depth = xy[:, 1] - np.interp(xy[:, 0], self.interface_x, self.interface_y)
        near = np.isin(tags, self.metal_tags) & (depth < self.cfg["depth_nm"])
        held, _ = np.histogram(xy[near, 0], bins=self.edges, weights=amount[near])
        seen, _ = np.histogram(xy[near, 0], bins=self.edges, weights=area[near])
        held, seen = self.comm.allreduce(held, op=MPI.SUM), self.comm.allreduce(seen, op=MPI.SUM)
        ok = seen > 0
        if not ok.any():
            raise InputError("ageing.depth_nm", f"no cell of the cathode lies within {self.cfg['depth_nm']} nm "
                             "of the interface; allowed: a depth of at least one element of the mesh")
        density = np.interp(self.centres(), self.centres()[ok], held[ok] / seen[ok])   # 1e21 cm^-3
        return density * self.cfg["depth_nm"] * A0_CM3 * 1e-7                           # -> cm^-2

    def contact_state(self) -> np.ndarray:
        """theta per lateral bin: the acetate that entered the Ag within depth_nm of the interface since t = 0,
        over ``saturation_cm2``. The pristine pile-up (the interface node belongs to the interlayer, so the
        first Ag elements hold S times its value) is the reference: it is the pristine contact."""
        return np.clip((self.ag_inventory_cm2() - self.pristine_cm2) / self.cfg["saturation_cm2"], 0.0, 1.0)

    def apply_barrier(self, theta) -> None:
        """The contact that follows theta: barrier Phi_B0 + dPhi_B theta(s), and, with ``[ions]``, the mobile
        ions the degraded interface leaves in the host layer, sheet + released x mean(theta) (cm^-2)."""
        c, d = self.centres(), self.cfg["barrier_rise_eV"]
        self.device.contacts.set_barrier(lambda x: self.phi0 + d * np.interp(x[0], c, theta))
        if self.device.ions is not None:
            ions = self.case["ions"]
            self.device.ions.set_inventory(ions["sheet_cm2"] + ions["released_cm2"] * float(np.mean(theta)))

    def condition(self) -> None:
        """Drive the device at the test current so that its mobile ions take their operating profile, where
        the measurements that follow find them (no-op without ions)."""
        ions = self.device.ions
        if ions is not None and ions.target > 0:
            self.device.operate(self.cfg["J_mA_cm2"])

    def apply_kinetics(self) -> None:
        """Set the acetate transport of the next step from the present electrical state (see the case's
        ``ageing.kinetics``)."""
        cfg, ac = self.cfg, self.acetate
        kin = cfg["kinetics"]
        ac.reset_diffusivity()
        if kin == "current":
            prof = self.device.cathode_profile()
            x = np.concatenate(self.comm.allgather(prof["x"]))
            j = np.abs(np.concatenate(self.comm.allgather(prof["j_n_mA_cm2"])))
            o = np.argsort(x)
            x, j = x[o], j[o]
            ref, m = cfg["j_ref_mA_cm2"], cfg["exponent"]
            ac.set_metal_activation(lambda xc: (np.interp(xc, x, j) / ref) ** m)
        elif kin == "thermal":
            T0 = self.case["temperature_K"]
            J_A = (self.rows[-1]["J_mA_cm2"] if self.rows else cfg["J_mA_cm2"]) * 1e-3      # A cm^-2
            T = T0 + cfg["thermal_resistance_K_cm2_W"] * J_A * self.device.bias
            self.temperature_K = T
            ac.set_diffusivity_factor(np.exp(-cfg["activation_energy_eV"] / (KB / Q) * (1.0 / T - 1.0 / T0)))
        elif kin == "field":
            ac.set_potential(cfg["acetate_charge"], self.potential_on_acetate_mesh())

    def acetate_on_device_cells(self, c_values=None) -> np.ndarray:
        """Acetate a (1e21 cm^-3) per device cell in the oxide regions shared with the acetate mesh: S of the
        cell's material times the mean of c at its vertices (0 elsewhere)."""
        from femqled.probe import evaluate

        dev, ac = self.device, self.acetate
        c = ac.c
        if c_values is not None:
            c = fem_function_like(ac.c, c_values)
        mesh = dev.mesh
        ncell = mesh.topology.index_map(2).size_local + mesh.topology.index_map(2).num_ghosts
        X = mesh.geometry.x[:, :2]
        out = np.zeros(ncell)
        lay = dev.dm.layout
        shared = [r for r in lay.parts["acetate"] if r in lay.parts["device"]]
        vals = evaluate(c, X)                               # c at every device node (NaN outside the oxide)
        for region in shared:
            cells = dev.dm.cells(region)
            S = float(ac.lib[lay.materials[region]].get("acetate_solubility", 1.0))
            nodes = compat.cell_nodes(mesh)[cells]
            out[cells] = S * np.nan_to_num(vals[nodes]).mean(axis=1)
        return out

    def update_acetate_charge(self) -> None:
        """rho_fixed = z (a - a0) / N0 in the oxide (scaled), for the field kinetics with charge_in_poisson."""
        cfg = self.cfg
        if cfg["kinetics"] != "field" or not cfg["charge_in_poisson"]:
            return
        if not hasattr(self, "_a0_cells"):
            self._a0_cells = self.acetate_on_device_cells(self.acetate.c_initial)
        a = self.acetate_on_device_cells()
        self.device.rho_fixed.x.array[:] = cfg["acetate_charge"] * (a - self._a0_cells) * A0_CM3 / N0_CM3
        self.device.rho_fixed.x.scatter_forward()

    def potential_on_acetate_mesh(self) -> np.ndarray:
        """The electrostatic potential (V) at the acetate mesh's nodes: the device's psi in the oxide, and in
        the metal the value at the interface below (a metal holds no field)."""
        from femqled.probe import evaluate

        ac, dev = self.acetate, self.device
        X = ac.V.tabulate_dof_coordinates()[:, :2]
        psi = evaluate(dev.u, X, component=0) * dev.sc.Vt
        nown = dev.S.dofmap.index_map.size_local
        c = dev.contacts
        dofs = c.cathode_dofs[c.cathode_dofs < nown]
        xs = np.concatenate(self.comm.allgather(dev.S.tabulate_dof_coordinates()[dofs, 0]))
        ps = np.concatenate(self.comm.allgather(dev.u.x.array[3 * dofs] * dev.sc.Vt))
        o = np.argsort(xs)
        metal = np.isnan(psi)
        psi[metal] = np.interp(X[metal, 0], xs[o], ps[o])
        return psi

    def record(self, op, dt) -> dict:
        e = op.extra
        row = {"t_h": self.acetate.t, "dt_h": dt, "V": op.V, "J_mA_cm2": op.J,
               "luminance_cd_m2": e.get("luminance_cd_m2", np.nan), "EQE": e.get("EQE", np.nan),
               "eta_X": e.get("eta_X", np.nan), "trion_fraction": e.get("trion_fraction_mean", np.nan),
               "J_e_mA_cm2": e.get("J_e_mA_cm2", np.nan), "J_X_mA_cm2": e.get("J_X_mA_cm2", np.nan),
               "J_trion_mA_cm2": e.get("J_trion_mA_cm2", np.nan),
               "J_trion_pos_mA_cm2": e.get("J_trion_pos_mA_cm2", np.nan),
               "J_leak_mA_cm2": e.get("J_leak_mA_cm2", np.nan), "J_trap_mA_cm2": e.get("J_trap_mA_cm2", np.nan),
               "J_htl_bulk_mA_cm2": e.get("J_htl_bulk_mA_cm2", np.nan),
               "n_qd_cm3": e.get("n_qd_mean_cm3", np.nan),
               "PL_yield": e.get("PL_yield", np.nan), "peak_nm": e.get("peak_nm", np.nan),
               "fwhm_nm": e.get("fwhm_nm", np.nan), "photons_X": e.get("photons_X", np.nan),
               "photons_trion": e.get("photons_trion", np.nan),
               "photons_trion_pos": e.get("photons_trion_pos", np.nan), "photons_HTL": e.get("photons_HTL", np.nan),
               "theta_mean": float(self.theta.mean()), "theta_max": float(self.theta.max()),
               "acetate_in_Ag": self.acetate.inventory(*[n for n, t in self.device.dm.layout.regions.items()
                                                          if t in self.metal_tags]),
               "ions_cm2": self.device.ions.inventory_cm2 if self.device.ions is not None else 0.0,
               "newton_iterations": op.iterations}
        self.rows.append(row)
        return row

    # ---------------------------------------------------------------------------------------------------------
    ROW_KEYS = ("t_h", "dt_h", "V", "J_mA_cm2", "luminance_cd_m2", "EQE", "eta_X", "trion_fraction",
                "J_e_mA_cm2", "J_X_mA_cm2", "J_trion_mA_cm2", "J_leak_mA_cm2", "J_trap_mA_cm2",
                "J_htl_bulk_mA_cm2", "n_qd_cm3", "PL_yield", "peak_nm", "fwhm_nm", "photons_X",
                "photons_trion", "photons_HTL", "theta_mean", "theta_max", "acetate_in_Ag", "ions_cm2",
                "newton_iterations", "J_trion_pos_mA_cm2", "photons_trion_pos")

    # the columns of a checkpoint written before checkpoints named them (they then had no J_trap)
    UNNAMED_ROW_KEYS = ("t_h", "dt_h", "V", "J_mA_cm2", "luminance_cd_m2", "EQE", "eta_X", "trion_fraction",
                        "J_leak_mA_cm2", "n_qd_cm3", "PL_yield", "peak_nm", "fwhm_nm", "photons_X", "photons_trion",
                        "photons_HTL", "theta_mean", "theta_max", "acetate_in_Ag", "ions_cm2", "newton_iterations")

    def save(self, path, dt_next: float) -> None:
        """Checkpoint: acetate, electrical state, theta, time, next step, the slope d ln J/dV that the next
        constant-current solve starts from, and the time series (atomic)."""
        from femqled import checkpoint as ck

        rows = np.array([[r[k] for k in self.ROW_KEYS] for r in self.rows])
        ck.save(path, self.comm, mesh=np.array(self.device.dm.path.name.split(".")[0]),
                c=ck.gather(self.acetate.c), u=ck.gather(self.device.u), theta=self.theta,
                t=np.array(self.acetate.t), dt=np.array(dt_next), bias=np.array(self.device.bias), rows=rows,
                row_keys=np.array(self.ROW_KEYS),
                slope=np.array(np.nan if self.device._dlnJ_dV is None else self.device._dlnJ_dV),
                **self._before_arrays())

    def _before_arrays(self) -> dict:
        """The operating state one step back (the start of the next step's prediction) for a checkpoint."""
        if self._before is None:
            return {}
        from femqled import checkpoint as ck

        dt0, V0, u0 = self._before
        return {"before_dt": np.array(dt0), "before_bias": np.array(V0),
                "before_u": ck.gather(fem_function_like(self.device.u, u0))}

    def restore(self, path) -> float:
        """Load a checkpoint written by :meth:`save`; returns the next time step."""
        from femqled import checkpoint as ck

        d = ck.load(path, self.comm)
        mine = self.device.dm.path.name.split(".")[0]
        if "mesh" not in d or str(d["mesh"]) != mine:
            raise InputError("--state" if str(path).endswith(".npz") else "checkpoint",
                             f"{path} was written for another mesh ({d.get('mesh', 'unknown')}), not this case's "
                             f"({mine}); use the same case file and options (e.g. --quasi-1d) as the run")
        ck.scatter(self.acetate.c, d["c"])
        ck.scatter(self.device.u, d["u"])
        self.theta = d["theta"]
        self.acetate.t = float(d["t"])
        self.device.bias = float(d["bias"])
        slope = float(d["slope"])
        self.device._dlnJ_dV = None if np.isnan(slope) else slope     # operate's memory: part of the state
        self._before = None                                             # ... and so is the state a step back
        if "before_u" in d:
            u0 = fem_function_like(self.device.u, self.device.u.x.array)
            ck.scatter(u0, d["before_u"])
            self._before = (float(d["before_dt"]), float(d["before_bias"]), u0.x.array.copy())
        self.device.contacts.set_bias(self.device.bias)
        self.apply_barrier(self.theta)
        if self.device.ions is not None:
            self.device.ions.freeze()        # the saved state is an operating state: its ions' profile
        self.update_acetate_charge()
        if "row_keys" in d:
            keys = [str(k) for k in d["row_keys"]]
        else:                        # written before the checkpoint named its columns (and before J_trap)
            keys = list(self.UNNAMED_ROW_KEYS)
        self.rows = [{k: np.nan for k in self.ROW_KEYS} | dict(zip(keys, map(float, r))) for r in d["rows"]]
        return float(d["dt"])

    def _undo_step(self, saved, step, theta, state, bias) -> None:
        """Back to the state before a step: acetate, contact, electrical state and bias."""
        self._undo_acetate_step(saved, step)
        self.update_acetate_charge()
        self.theta = theta
        self.apply_barrier(theta)
        self.device.set_state(state, bias)
        if self.device.ions is not None:
            self.device.ions.freeze()        # the profile of the state before the step

    def run(self, outdir=None, progress: bool | float = True, resume: bool = False, checkpoint_every: int = 1,
            stops=()):
        """Age to ``hours`` at ``J_mA_cm2``; returns the time series (list of dicts).

        ``progress``: a line per step on rank 0 (True), none (False), or at most one every ``progress`` seconds
        (a number: the heartbeat of long runs such as ``femqled paper``).

        Steps land exactly on every time in ``stops`` (and on the end), and the step size grows from the
        unshortened step, so runs that share stops share their step sequence. With ``outdir``,
        ``checkpoint.npz`` is written every ``checkpoint_every`` steps; ``resume`` continues from it and gives
        the same answer as an uninterrupted run with the same stops. ``at_max.npz`` (the same format) holds the
        state of the brightest step so far: at the end, the device at its luminance maximum, where the
        elevation ends (the aged state the study's instruments read, He et al. 2023: "after the efficiency
        elevation"), which a test that goes on to its compliance or its hours has passed.
        """
        from pathlib import Path

        from femqled import io

        cfg = self.cfg
        J, t_end = cfg["J_mA_cm2"], cfg["hours"]
        ckpt = Path(outdir) / "checkpoint.npz" if outdir is not None else None
        brightest = Path(outdir) / AT_MAX if outdir is not None else None
        if resume and ckpt is not None and ckpt.exists():
            dt = self.restore(ckpt)
            io.say(f"age: resumed from {ckpt} at t = {self.acetate.t:g} h", comm=self.comm)
        else:
            op = self.device.operate(J, rtol=OPERATE_RTOL)
            self._before = None
            self.record(op, 0.0)
            dt = cfg["first_step_h"]
            if brightest is not None:
                self.save(brightest, dt)
        L_max = max((r["luminance_cd_m2"] for r in self.rows), default=-np.inf)
        outputs = sorted({float(t) for t in cfg["output_times_h"] if 0 < t < t_end} | {t_end})
        writers = self._field_writers(outdir, resume) if outdir is not None else None
        if writers and not (resume and self.acetate.t > 0):
            self._write_fields(writers)
        steps = 0
        t0 = said = time.perf_counter()
        every = 0.0 if progress is True else None if progress is False or progress is None else float(progress)
        marks = sorted({float(t) for t in stops if 0 < t < t_end} | set(outputs))
        while self.acetate.t < t_end * (1 - 1e-12):
            next_mark = next(m for m in marks if m > self.acetate.t * (1 + 1e-12))
            step = min(dt, next_mark - self.acetate.t)
            self.apply_kinetics()
            saved = self.acetate.c.x.array.copy()
            self.acetate.step(step)
            if abs(self.acetate.t - next_mark) < 1e-9 * max(1.0, next_mark):
                self.acetate.t = next_mark                      # land exactly on the mark
            theta = self.contact_state()
            change = float(np.max(np.abs(theta - self.theta)))
            if change > 2 * cfg["max_dtheta"] and step > 1e-6:
                self._undo_acetate_step(saved, step)      # too big a step: redo with half
                dt = step / 2
                continue
            self.update_acetate_charge()
            previous_theta, previous_state = self.theta, self.device.u.x.array.copy()
            previous_bias = self.device.bias
            self.theta = theta
            self.apply_barrier(theta)
            try:
                op = self._operate_predicted(J, cfg["compliance_V"], step, previous_state, previous_bias)
            except ComplianceReached as e:        # the test ends, as on a source-measure unit at its limit
                self._undo_step(saved, step, previous_theta, previous_state, previous_bias)
                if step > COMPLIANCE_RTOL * max(self.acetate.t, cfg["first_step_h"]):
                    dt = step / 4             # find the time the compliance is reached to COMPLIANCE_RTOL
                    continue
                self.stopped = f"voltage compliance at t = {self.acetate.t:g} h: {e}"
                io.say(f"age: the test ends at t = {self.acetate.t:g} h: {e}", comm=self.comm)
                if outdir is not None:
                    self.save(ckpt, step)
                break
            except SolverError as e:              # cut the step; if it is already tiny, keep the last good state
                self._undo_step(saved, step, previous_theta, previous_state, previous_bias)
                if step > cfg["first_step_h"] * 1e-3:
                    dt = step / 4
                    io.say(f"age: the electrical solve failed at t = {self.acetate.t + step:g} h; step cut to "
                           f"{dt:.3g} h", comm=self.comm)
                    continue
                where = ""
                if outdir is not None:
                    self.save(ckpt, step)
                    write_state(self.device, outdir, "last_good_state")
                    where = f"; the last good state (t = {self.acetate.t:g} h) is in {ckpt} and " \
                            f"{Path(outdir) / 'last_good_state.bp'}"
                raise SolverError(f"ageing stopped at t = {self.acetate.t:g} h: {e}{where}") from None
            dL = self._luminance_change(op)
            if dL > 2 * cfg["max_dL"] and step > cfg["first_step_h"] * 1e-3:
                self._undo_step(saved, step, previous_theta, previous_state, previous_bias)
                dt = step / 2
                continue
            row = self.record(op, step)
            self._before = (step, previous_bias, previous_state)
            if brightest is not None and row["luminance_cd_m2"] > L_max:
                L_max = row["luminance_cd_m2"]
                self.save(brightest, dt)
            if every is not None and time.perf_counter() - said >= every:
                said = time.perf_counter()
                io.say(f"age: {J:g} mA/cm2  t = {row['t_h']:9.3g} h  V = {row['V']:.3f} V  L = {row['luminance_cd_m2']:.4g} cd/m2"
                       f"  eta_X = {row['eta_X']:.4f}  theta = {row['theta_mean']:.3f}/{row['theta_max']:.3f}"
                       f"  ({time.perf_counter() - t0:.0f} s)", comm=self.comm)
            if outdir is not None:
                io.write_csv(outdir / "ageing.csv", self.rows, comm=self.comm)
                if writers and any(abs(self.acetate.t - t) <= 1e-9 * max(1.0, t) for t in outputs):
                    self._write_fields(writers)
            if change < cfg["max_dtheta"] and dL < cfg["max_dL"]:
                dt *= cfg["step_growth"]
            steps += 1
            if ckpt is not None and steps % checkpoint_every == 0:
                self.save(ckpt, dt)
        if writers:
            writers[0].close()
            writers[3].close()
        return self.rows

    def _operate_predicted(self, J, V_max, step, state, bias):
        """Constant-current operation after a step of ``step`` hours from the operating state (``state``,
        ``bias``): from the straight line in time through it and the operating state one step before it
        (``self._before``: that step's length, bias and state), where that step was at least half this one;
        from the present state otherwise, or where the predicted start fails. ``make bench`` (``ageing``: the
        default case at 10 mA cm^-2 to 1000 h, 2 ranks, 2026-12-05): 963 -> 718 Newton iterations, 164.7 ->
        110.1 s, the same 34 steps (with the bordered Newton of ``Device.operate``: 282 factorisations, 48.6 s); ``femqled age cases/default.toml --quasi-1d --J 10`` (and ``--J 100``)
        ``--hours 2000`` before and after: the same steps, every column of ageing.csv within 3.1e-7. The answer is the same steady state
        (the constant current to what the steady states resolve)."""
        dev = self.device
        if self._before is not None and 0.0 < step <= 2.0 * self._before[0]:
            dt0, V0, u0 = self._before
            r = step / dt0
            dev.set_state(state + r * (state - u0), min(bias + r * (bias - V0), V_max))
            try:
                return dev.operate(J, rtol=OPERATE_RTOL, V_max=V_max)
            except ComplianceReached:
                raise
            except SolverError:                   # back to the present state and the usual way
                dev.set_state(state, bias)
        return dev.operate(J, rtol=OPERATE_RTOL, V_max=V_max)

    def _luminance_change(self, op) -> float:
        """|L / L_previous - 1| of a new operating point (0 without a previous row or without emission)."""
        L = op.extra.get("luminance_cd_m2", np.nan)
        L0 = self.rows[-1].get("luminance_cd_m2", np.nan) if self.rows else np.nan
        change = abs(L / L0 - 1.0) if L0 else np.nan
        return float(change) if np.isfinite(change) else 0.0

    def _undo_acetate_step(self, saved: np.ndarray, step: float) -> None:
        self.acetate.c.x.array[:] = saved
        self.acetate.c.x.scatter_forward()
        self.acetate.t -= step

    def _field_writers(self, outdir, resume: bool):
        """VTX time series: ``ageing_fields.bp`` (+ vectors) on the device, ``ageing_acetate.bp`` on the acetate
        mesh (a resumed run starts new files named after its start time)."""
        from pathlib import Path

        from femqled.fields import AcetateWriter, FieldWriter

        suffix = f"_from_{self.acetate.t:g}h" if resume and self.acetate.t > 0 else ""
        return (FieldWriter(self.device), Path(outdir), f"ageing_fields{suffix}",
                AcetateWriter(self.acetate, Path(outdir) / f"ageing_acetate{suffix}.bp"))

    def _write_fields(self, writers) -> None:
        fw, outdir, stem, aw = writers
        fw.write(outdir, t=self.acetate.t, stem=stem)
        aw.write(self.acetate.t)


def aged_state(d, summary: dict, comm=MPI.COMM_WORLD):
    """The checkpoint of the aged state in a lifetime test's directory ``d``: the device at its luminance
    maximum (``at_max.npz``), where the elevation ends, which is what He et al. measured "after the efficiency
    elevation" (C-V, SKPM, ToF-SIMS, peel-off); the end of the test (``checkpoint.npz``) where the luminance
    never rose above its first value or the file is missing. ``summary``: the test's
    :func:`femqled.instruments.lifetime.summarize`. Until 2026-12-07 the study read the end: with the default
    case the 10 mA cm^-2 test goes on to its 10 V compliance ~450 h past its maximum."""
    from pathlib import Path

    at_max = Path(d) / AT_MAX
    rose = summary.get("elevation_duration_h", 0.0) > 0.0
    there = comm.bcast(at_max.exists() if comm.rank == 0 else None, root=0)
    return at_max if rose and there else Path(d) / "checkpoint.npz"


def fem_function_like(func, values):
    """A new Function in ``func``'s space holding ``values`` (local, ghosts included)."""
    from dolfinx import fem

    f = fem.Function(func.function_space)
    f.x.array[:] = values
    f.x.scatter_forward()
    return f
