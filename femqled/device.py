"""The electrical problem: Poisson + electron/hole continuity on the semiconductor stack (MODEL.md sec. 3).

Unknowns (scaled, :mod:`femqled.scaling`): u = (psi, phi_n, phi_p) in one blocked P1 space; the cathode Fermi
level is the reference (phi = 0 there) and the anode's is the applied bias V. Carrier densities

    n = exp(psi + chi - phi_n + ln Nc),    p = exp(-psi - chi - Eg + phi_p + ln Nv)

stay positive whatever Newton does, and continuous quasi-Fermi potentials give exact heterojunction offsets
(Boltzmann statistics; a material with ``statistics = "single-level"`` adds ln g(eta) to each exponent, which
caps n and p at Nc and Nv: :mod:`femqled.statistics`).
Equations, for test functions (v, w_n, w_p):

    Poisson:   (eps lambda2 grad psi, grad v) - (p - n + C + rho_fixed + z a, v)_L                     = 0
    electrons: (mu_n n grad phi_n, grad w_n)_EAFE - (R, w_n)_L - <v_n (n - n0), w_n>_cathode,L         = 0
    holes:     (mu_p p grad phi_p, grad w_p)_EAFE + (R, w_p)_L + <v_p (p - p0), w_p>_cathode,L         = 0

where _L is mass lumping (vertex quadrature with the box-method weights of ``DeviceMesh.box_weights``: each
vertex gets its Voronoi share of each cell, each cell with its own band parameters at its vertices) and
_EAFE the exponentially fitted edge fluxes of :mod:`femqled.eafe` (Scharfetter-Gummel on triangles): the
discretisation of finite-volume TCAD codes, written as a finite-element method.

rho_fixed a fixed charge (e.g. a probe's), a the mobile ions of :mod:`femqled.ions` (charge number z),
with J_n = -mu_n n grad phi_n, J_p = -mu_p p grad phi_p (the conduction coefficient carries a floor density
DENSITY_FLOOR = 1e-20 N0 = 1e-2 cm^-3: where a carrier is absent its quasi-Fermi potential is otherwise
undetermined and Newton wanders there; the floor's current is ~20 orders of magnitude below any current of
interest), recombination R from :mod:`femqled.recombination`,
thermionic emission at the cathode (:mod:`femqled.contacts`) and zero flux on the lateral sides.

Terminal currents come from the residual (conservative): the device current is the electron + hole residual
tested with a function equal to 1 on the anode; the cathode current is the Robin flux. Their sum vanishes to
solver tolerance.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
import ufl
from dolfinx import fem, la
from mpi4py import MPI

from femqled import compat, heterojunction, statistics
from femqled.contacts import Contacts
from femqled.current_control import AboveCompliance, CurrentControl
from femqled.eafe import EdgeFluxes
from femqled.emission import Emission
from femqled.errors import ComplianceReached, InputError, SolverError
from femqled.ions import MobileIons
from femqled.mesh import device_mesh
from femqled.recombination import channels
from femqled.scaling import Scales
from femqled.semiconductor import MaterialFields, neutral_potential
from femqled.snes import NewtonSolver

DENSITY_FLOOR = 1e-20     # scaled (x N0 = 1e-2 cm^-3), see the module docstring


@dataclass
class OperatingPoint:
    """One converged steady state: bias (V), current densities (mA cm^-2, positive forward), Newton iterations."""

    V: float
    J: float
    J_cathode: float
    iterations: int
    extra: dict = field(default_factory=dict)

    def as_row(self) -> dict:
        return {"V": self.V, "J_mA_cm2": self.J, "J_cathode_mA_cm2": self.J_cathode,
                "newton_iterations": self.iterations, **self.extra}


def _over_compliance(J_target: float, V_max: float, op: OperatingPoint) -> ComplianceReached:
    """The error of a current that needs more than the compliance (``op``: the state left at V_max)."""
    return ComplianceReached(f"{J_target:g} mA/cm2 needs more than the compliance of {V_max:g} V "
                             f"({op.J:.4g} mA/cm2 at {op.V:.3f} V)")


class Device:
    """A device of a case: mesh, materials, unknowns, equations and its solver.

    >>> dev = Device(case)          # builds / loads the mesh, equilibrium initial guess
    >>> dev.solve(1.5)              # steady state at 1.5 V (continuation from the present state)
    >>> dev.sweep([0, 1, 2, 3])     # list of OperatingPoint
    """

    def __init__(self, case: dict, comm=MPI.COMM_WORLD, sources=None):
        """``sources(device, (v, w_n, w_p))``, optional: a UFL form added to the residual (manufactured
        solutions, optical generation...)."""
        self.case = case
        self._sources = sources
        if case["geometry"]["lateral"] == "periodic" and not case["geometry"]["quasi_1d"]:
            raise InputError("geometry.lateral", "'periodic' meshes are built (matching nodes left and right) but "
                                                 "the solvers do not yet couple the sides; use 'zero-flux'")
        self.sc = Scales(case["temperature_K"])
        self.lib = heterojunction.case_library(case)
        self.dm = device_mesh(case, comm, part="device")
        self.mesh = self.dm.mesh
        self.comm = comm
        self.mat = MaterialFields(self.dm, self.lib, self.sc)
        self.box = self.dm.box_weights()     # lumped terms: box-method (Voronoi) vertex weights
        # weight of the space charge and carrier storage (no charge in femqled.heterojunction's thin layers)
        self.charge_weight = self.mat.charged * self.box
        self.V_space = fem.functionspace(self.mesh, ("Lagrange", 1, (3,)))
        self.S, to_V = compat.collapse(self.V_space.sub(0))  # scalar P1
        # node k of S is block k of the blocked space: dof of component c is 3 k + c (used throughout)
        if not np.array_equal(np.asarray(to_V), 3 * np.arange(len(to_V))):
            raise RuntimeError("collapsed P1 space does not follow the block order of (psi, phi_n, phi_p)")
        self.u = fem.Function(self.V_space, name="u")
        self.bias = 0.0                                     # applied voltage (V) of the present state
        self.contacts = Contacts(self)
        self.emission = Emission(self)
        # mobile ions of [ions] (femqled.ions): in equilibrium while operating, frozen while measured
        self.ions = MobileIons(self, case["ions"]) if case["ions"]["layer"] else None
        self._build_forms()
        self.emission.build_forms()
        self.fluxes = EdgeFluxes(self)
        self.solver_cfg = case["solver"]
        self.newton = self._newton(self.F)
        self._residual_vec = self.newton.b.duplicate()
        self._transient = None           # built on the first transient step (see transient_step)
        self._dlnJ_dV = None             # d ln J / dV at the last operating point (first secant step of operate)
        self._current_control = None     # the bordered Newton of operate (built at its first use)
        self._sweeping = False           # inside sweeping(): bias steps start from the secant predictor ...
        self._previous = None            # ... through (bias, state) before the last step and the state it reached
        self._in_time = False            # the last bias step was taken in time (solve: no steady state there)
        self._initial_guess()
        self.equilibrium()
        if self.ions is not None and case["ions"]["sheet_cm2"] > 0:   # a device at rest: ions settled at 0 V
            self.ions.set_inventory(case["ions"]["sheet_cm2"])
            self.ions.settle(0.0)

    def _newton(self, F) -> NewtonSolver:
        cfg = self.solver_cfg
        return NewtonSolver(F, self.u, self.contacts.bcs, hooks=self.fluxes, max_step=cfg["newton_max_update_Vt"],
                            max_it=cfg["newton_max_iterations"],
                            petsc_options={"pc_factor_mat_solver_type": cfg["linear_solver"]})

    # ---------------------------------------------------------------------------------------------------------
    def densities(self, u=None):
        """(n, p), scaled (UFL), of the state ``u`` (default the present one), with each material's statistics."""
        m = self.mat
        u = self.u if u is None else u
        psi, phin, phip = u[0], u[1], u[2]
        ln_n = psi + m.chi - phin + m.lnNc
        ln_p = -psi - m.chi - m.Eg + phip + m.lnNv
        if m.single_level:
            lg_n, lg_p = self.log_occupancy(u)
            ln_n, ln_p = ln_n + lg_n, ln_p + lg_p
        return ufl.exp(ln_n), ufl.exp(ln_p)

    def log_occupancy(self, u=None):
        """(ln g_n, ln g_p) (UFL): the factors by which single-level statistics lower n and p below Boltzmann's
        (:mod:`femqled.statistics`; 0 in Boltzmann materials)."""
        m = self.mat
        u = self.u if u is None else u
        eta_n = u[0] + m.chi - u[1]
        eta_p = -u[0] - m.chi - m.Eg + u[2]
        return m.level * statistics.ufl_ln_g(eta_n), m.level * statistics.ufl_ln_g(eta_p)

    def _build_forms(self):
        m, dm = self.mat, self.dm
        psi, phin, phip = self.u[0], self.u[1], self.u[2]
        v, wn, wp = ufl.TestFunctions(self.V_space)
        n, p = self.densities()
        self.n, self.p = n, p
        self.R_srh, self.R_langevin = channels(self, n, p)
        self.R = self.R_srh + self.R_langevin
        dx, dxl = dm.dx(), dm.dx(lumped=True)
        lam2 = self.sc.lambda2
        cat_n, cat_p = self.contacts.cathode_fluxes(n, p)   # outward particle fluxes at the cathode
        ds_c = self.contacts.ds_cathode
        floor = DENSITY_FLOOR
        # rho_fixed: extra fixed charge per cell (scaled by q N0; e.g. displaced charged acetate, see ageing.py)
        self.rho_fixed = fem.Function(self.mat.Q, name="fixed_charge")
        box = self.box
        self.F = (m.eps * lam2 * ufl.inner(ufl.grad(psi), ufl.grad(v)) * dx
                  - (p - n + m.C + self.rho_fixed) * v * self.charge_weight * dxl
                  + floor * m.mun * ufl.inner(ufl.grad(phin), ufl.grad(wn)) * dx - self.R * wn * box * dxl
                  + floor * m.mup * ufl.inner(ufl.grad(phip), ufl.grad(wp)) * dx + self.R * wp * box * dxl)
        robin = self.contacts.poisson_term(v)
        self._robin_charge = None
        if robin is not None:
            self.F += robin
            self._robin_charge = fem.form(self.contacts.poisson_term(fem.Constant(self.mesh, 1.0)))
        if self.ions is not None:
            self.F += self.ions.residual(v)
        if self._sources is not None:
            self.F += self._sources(self, (v, wn, wp))
        leak = self.emission.residual_terms(n, p, self.u, wn, wp)
        if leak is not None:
            self.F += leak
        if ds_c is not None:
            self.F += -cat_n * wn * ds_c + cat_p * wp * ds_c
            self.I_cathode_form = fem.form((-cat_n + cat_p) * ds_c)   # the Robin flux itself
            self.I_cathode_n_form = fem.form(-cat_n * ds_c)            # its electron part
            w = ufl.TestFunction(self.S)                               # ... and per cathode node
            self._jn_node_form = fem.form(-cat_n * w * ds_c)
            self._ds_node_form = fem.form(w * ds_c)
        else:
            self.I_cathode_form = None

    def _initial_guess(self):
        """psi from local charge neutrality (per cell, averaged to nodes), phi_n = phi_p = 0."""
        Q = self.mat.Q
        psi0 = fem.Function(Q)
        for region, vals in self.mat.values.items():
            psi0.x.array[self.dm.cells(region)] = neutral_potential(vals, 0.0, 0.0)
        psi0.x.scatter_forward()
        g = fem.Function(self.S)
        g.interpolate(psi0)
        self.u.x.array[0::3] = g.x.array
        self.u.x.array[1::3] = 0.0
        self.u.x.array[2::3] = 0.0
        self.u.x.scatter_forward()

    # ---------------------------------------------------------------------------------------------------------
    def equilibrium(self):
        """Thermal equilibrium (V = 0): Poisson with flat quasi-Fermi levels, from the neutral guess."""
        self.contacts.set_bias(0.0)
        limit = self.newton.max_it       # from the neutral guess: not bounded by [solver] (a continuation limit)
        self.newton.max_it = max(limit, 100)
        self.newton.snes.setTolerances(max_it=self.newton.max_it)
        try:
            ok, its = self.newton.solve()
        finally:
            self.newton.max_it = limit
            self.newton.snes.setTolerances(max_it=limit)
        if not ok:
            raise SolverError(f"equilibrium did not converge in {its} Newton iterations "
                              f"(last update {self.newton.last_update:.3g} V_t)")
        self.bias = 0.0
        return its

    def reset(self):
        """Back to thermal equilibrium from the neutral guess (after the contact changed under a biased state:
        the path down from a high bias through a changed barrier need not converge, the state at 0 V is unique)."""
        self._initial_guess()
        self._dlnJ_dV, self._in_time = None, False
        return self.equilibrium()

    def set_state(self, u_values, bias: float) -> None:
        """Put a state (local values of ``u``, ghosts included) and the bias it belongs to into the device."""
        self.u.x.array[:] = u_values
        self.u.x.scatter_forward()
        self.bias = float(bias)
        self.contacts.set_bias(self.bias)
        self._in_time = False

    def _try(self, V: float) -> tuple[bool, int]:
        saved, bias0 = self.u.x.array.copy(), self.bias
        self.contacts.set_bias(V)
        ok, its = self.newton.solve()
        if ok and self.ions is not None and self.ions.mobile:      # the ions' inventory (one global unknown)
            self.bias = V
            ok, more = self._equilibrate_ions()
            its += more
        if ok and np.all(np.isfinite(self.u.x.array)):
            self.bias = V
            return True, its
        self.u.x.array[:] = saved
        self.u.x.scatter_forward()
        self.bias = bias0
        self.contacts.set_bias(bias0)
        return False, its

    def _equilibrate_ions(self) -> tuple[bool, int]:
        """From a steady state at the present bias: the mobile ions' inventory met (their electrochemical potential
        eta, one global unknown), by the bordered Newton on the state and eta together (:mod:`femqled.current_control`),
        else (and with ``[solver] current_control = "secant"``) by the secant on eta of
        :meth:`femqled.ions.MobileIons.equilibrate`. Returns (converged, iterations)."""
        if self.solver_cfg["current_control"] == "bordered":
            its = self._bordered().solve(None, 0.0)
            if its is not None:
                return True, its
        return self.ions.equilibrate(self.newton)

    def _bordered(self) -> CurrentControl:
        """The bordered Newton of this device (built at its first use)."""
        if self._current_control is None:
            self._current_control = CurrentControl(self)
        return self._current_control

    @contextlib.contextmanager
    def sweeping(self):
        """Within this context the bias continuation predicts: each step starts from the straight line through the
        last two converged states, u(V) ~ u1 + (V - V1) (u1 - u0) / (V1 - V0), instead of the present state,
        which saves about one Newton iteration per point of a sweep (quasi-1D fine default, 0-4 V every 0.025 V:
        525 against 672). The answer is the same steady state (Newton stops at its roundoff floor either way). The
        prediction is used only while the present state is the one the last step reached (the same array on
        every rank: nothing else changed it), for steps at most twice the last one; where the predicted start
        does not converge the step is retried from the present state. Constant-current operation (:meth:`operate`,
        without mobile ions) predicts so as well: the default case at 10 mA cm^-2 to 1000 h, 2 ranks, 720 -> 651
        Newton iterations over the lifetime test (2026-12-05; Newton's solves counted over ``Ageing.run`` by a
        scratch script, the bench's way). Elsewhere every step starts from the present
        state."""
        self._sweeping, self._previous = True, None
        try:
            yield self
        finally:
            self._sweeping, self._previous = False, None

    @contextlib.contextmanager
    def _predicting(self):
        """:meth:`sweeping`, unless already inside it (a sweep's own memory is kept)."""
        if self._sweeping:
            yield
        else:
            with self.sweeping():
                yield

    def _step(self, V: float) -> tuple[bool, int]:
        """One continuation step to bias V: from the secant prediction (in :meth:`sweeping`) where it applies,
        else (or where the prediction fails) from the present state; the present state is kept on failure."""
        if not self._sweeping:
            return self._try(V)
        start, bias0, prev = self.u.x.array.copy(), self.bias, self._previous
        usable = prev is not None and prev[0] != bias0 and np.array_equal(prev[2], start)
        s = (V - bias0) / (bias0 - prev[0]) if usable else 0.0      # the step over the last one
        ok, its = False, 0
        if self.comm.allreduce(bool(usable), op=MPI.LAND) and 0.0 < abs(s) <= 2.0:
            self.u.x.array[:] = start + s * (start - prev[1])
            self.u.x.scatter_forward()
            ok, its = self._try(V)
            if not ok:                                 # _try put back the prediction: back to the state
                self.u.x.array[:] = start
                self.u.x.scatter_forward()
        if not ok:
            ok, more = self._try(V)
            its += more
        if ok:
            self._previous = (bias0, start, self.u.x.array.copy())
        return ok, its

    def solve(self, V: float, dV: float | None = None, dV_min: float | None = None) -> OperatingPoint:
        """Steady state at bias V (volts), by continuation from the present state with adaptive steps
        (defaults: the case's [solver] bias_step_V and min_bias_step_V).

        Where a step finds no steady state even at the smallest step, it is taken in time instead (one backward-
        Euler step at ``[solver] sweep_rate_V_s``, :meth:`transient_step`) and the next step tries the steady
        state again. That is what a swept instrument sees where the steady state is out of reach: behind a thick
        tunnel layer the electrons in the ETL and the dots reach the cathode through a transmission ~e^-46, so
        the steady state fixes their charge only through currents ~1e-20 of the internal ones, below what the
        arithmetic resolves (Newton wanders at its roundoff floor), and in time that charge stays put (its
        relaxation time is days). A point reached so is marked ``extra["sweep_dt_s"]``, and its J is the total
        current, displacement included. On failure (or with ``sweep_rate_V_s = 0``) the last good state is kept
        (``u``, ``bias``) and :class:`SolverError` says where it stopped."""
        dV = self.solver_cfg["bias_step_V"] if dV is None else dV
        dV_min = self.solver_cfg["min_bias_step_V"] if dV_min is None else dV_min
        rate = self.solver_cfg["sweep_rate_V_s"]
        total, in_time = 0, None
        step = min(dV, abs(V - self.bias)) or dV
        while abs(V - self.bias) > 1e-12:
            target = self.bias + np.sign(V - self.bias) * min(step, abs(V - self.bias))
            ok, its = self._step(target)
            total += its
            if ok:
                in_time, self._in_time = None, False
                if its <= 6:
                    step = min(step * 1.5, 4 * dV)
                continue
            step /= 2
            if step >= dV_min and not self._in_time:   # (after a step in time the next failure skips the halving)
                continue
            target = self.bias + np.sign(V - self.bias) * min(dV, abs(V - self.bias))
            in_time = self._step_in_time(target, abs(target - self.bias), rate)
            if in_time is not None:
                total += in_time.iterations
                step = dV                                     # the next step tries a steady state
                continue
            raise SolverError(f"no convergence on the way to V = {V:g} V: stuck at {self.bias:g} V (no steady "
                              f"state in steps down to {dV_min:g} V" + (f", nor a step in time at {rate:g} V/s)"
                                                                         if rate > 0 else ")"))
        if total == 0:   # re-solve at the same bias (e.g. after a parameter change); else held there in time
            ok, total = self._try(V)
            if not ok:
                in_time = self._step_in_time(V, dV, rate)
                ok = in_time is not None
                total += in_time.iterations if ok else 0
            if not ok:
                raise SolverError(f"no convergence at V = {V:g} V")
        op = self.operating_point(total)
        if in_time is not None:                    # the last step was taken in time: the current it measured
            op.J, op.J_cathode = in_time.J, in_time.J_cathode
            op.extra["sweep_dt_s"] = in_time.extra["dt_s"]
        return op

    def _step_in_time(self, V: float, dV: float, rate: float) -> OperatingPoint | None:
        """The step of :meth:`solve` to bias V taken in time, over dV / rate (s), or None (no rate, or it failed)."""
        if not rate > 0:
            return None
        try:
            op = self.transient_step(V, dV / rate)
        except SolverError:
            return None
        self._previous, self._in_time = None, True
        return op

    def sweep(self, voltages, progress=None) -> list[OperatingPoint]:
        """Steady states at each bias in turn (with the secant predictor of :meth:`sweeping`); ``progress(op)``
        after each."""
        points = []
        with self.sweeping():
            for V in voltages:
                points.append(self.solve(float(V)))
                if progress:
                    progress(points[-1])
        return points

    # -- transients -----------------------------------------------------------------------------------------
    def _transient_solver(self):
        """Newton solver of one backward-Euler step: the residual plus the storage terms

            - ((n - n_old) / dt, w_n)_L + ((p - p_old) / dt, w_p)_L          (dt scaled by t0)

        (the carrier equations read dn/dt = -div(mu_n n grad phi_n) - R, dp/dt = -div(-mu_p p grad phi_p) - R).
        """
        if self._transient is None:
            _, wn, wp = ufl.TestFunctions(self.V_space)
            self.u_old = fem.Function(self.V_space, name="u_old")
            self.inv_dt = fem.Constant(self.mesh, 0.0)
            n, p = self.densities()
            n_old, p_old = self.densities(self.u_old)
            dxl = self.dm.dx(lumped=True)
            F_t = self.F + self.inv_dt * (-(n - n_old) * wn + (p - p_old) * wp) * self.charge_weight * dxl
            self._transient = self._newton(F_t)
        return self._transient

    def transient_step(self, V: float, dt_s: float) -> OperatingPoint:
        """One backward-Euler step of length ``dt_s`` (s) to bias ``V`` (volts) from the present state.

        The record's J (J_cathode) is the total current density at the anode (cathode), conduction +
        displacement, mA cm^-2: the carrier reaction (or Robin flux) plus the change of the contact's Poisson
        reaction (its charge) over dt. The two are equal: discrete charge conservation, exact for the
        backward-Euler step because storage and Poisson charge use the same lumped quadrature.
        """
        if not dt_s > 0:
            raise InputError("dt_s", f"must be > 0 s, got {dt_s!r}")
        solver = self._transient_solver()
        q_old = self._reactions()
        self.u_old.x.array[:] = self.u.x.array
        self.inv_dt.value = self.sc.t0 / dt_s
        saved, bias = self.u.x.array.copy(), self.bias
        self.contacts.set_bias(V)
        ok, its = solver.solve()
        if not (ok and np.all(np.isfinite(self.u.x.array))):
            self.u.x.array[:] = saved
            self.u.x.scatter_forward()
            self.contacts.set_bias(bias)
            raise SolverError(f"transient step to V = {V:g} V over {dt_s:.3g} s did not converge in {its} "
                              "Newton iterations; the state before the step is kept")
        self.bias = V
        q = self._reactions(solver)
        to = self.sc.J0_mA_cm2 / self.width()
        k = self.sc.t0 / dt_s
        Ja = (q["anode"] + (q["anode_psi"] - q_old["anode_psi"]) * k) * to
        Jc = (self._cathode_current(q)[0] - (q["cathode_psi"] - q_old["cathode_psi"]) * k) * to
        return OperatingPoint(V, Ja, Jc, its, {"dt_s": dt_s})

    def operate(self, J_target: float, rtol: float = 1e-6, max_it: int = 40,
                V_max: float | None = None) -> OperatingPoint:
        """Constant-current operation: the steady state whose current density is ``J_target`` (mA cm^-2 > 0).

        ``V_max``: the voltage compliance of the source; if the current needs more, ComplianceReached is raised
        (the state is left at V_max).

        ``[solver] current_control = "bordered"`` (the default): Newton on the state and the bias together
        (:mod:`femqled.current_control`; with mobile ions their electrochemical potential too), from the present
        state where it is operating (>= 0.5 V) or else once the secant below has come within a factor 10 of the
        current; the current is then the target to what the steady states resolve (1e-6). Where that does not
        converge (and with ``"secant"``): a
        safeguarded secant iteration on ln J(V), each evaluation a continuation solve from the present state;
        the bracket [V_lo, V_hi] is kept so that a bad secant step falls back to bisection. The default 2D
        lifetime test takes 4-5 factorisations per ageing step, 9 with the secant (2026-12-05, the ageing steps
        of ``cases/default.toml`` to 300 h, 2 ranks, counted by a scratch script the bench's way).

        Mobile ions (``[ions]``) follow the potential during the operation and are frozen where it leaves them.
        """
        if not J_target > 0:
            raise InputError("J_target", f"must be > 0 mA/cm2, got {J_target!r}")
        ions = self.ions
        if ions is None or ions.target <= 0:
            with self._predicting():
                return self._operate(J_target, rtol, max_it, V_max)
        if ions.anchor_bias is not None:
            self.solve(ions.anchor_bias)        # back (frozen) to the state the profile was made in
        ions.thaw()
        try:
            return self._operate(J_target, rtol, max_it, V_max)
        finally:
            ions.freeze()

    def _operate(self, J_target: float, rtol: float, max_it: int, V_max: float | None) -> OperatingPoint:
        bordered = self.solver_cfg["current_control"] == "bordered"
        if bordered and self.bias >= 0.5:
            op = self._operate_bordered(J_target, rtol, V_max)
            if op is not None:
                return op
            bordered = False
        lnT = np.log(J_target)
        op = self.solve(max(self.bias, 0.5))
        V_lo, V_hi = -np.inf, np.inf
        pts = []
        for _ in range(max_it):
            steady = "sweep_dt_s" not in op.extra                # (a point reached in time is no operating point)
            if steady and op.J > 0 and abs(op.J - J_target) <= rtol * J_target:
                return op
            if bordered and op.J > 0 and abs(np.log(op.J) - lnT) < np.log(10.0):
                bop = self._operate_bordered(J_target, rtol, V_max)     # near enough for its linear model
                if bop is not None:
                    return bop
                bordered = False
            if op.J < J_target:
                V_lo = max(V_lo, op.V)
            else:
                V_hi = min(V_hi, op.V)
            pts.append((op.V, np.log(max(op.J, 1e-300))))
            if len(pts) >= 2 and pts[-1][1] != pts[-2][1]:
                (V0, l0), (V1, l1) = pts[-2], pts[-1]
                V = V1 + (lnT - l1) * (V1 - V0) / (l1 - l0)
                if abs(V1 - V0) > 1e-4 and l1 != l0 and (l1 - l0) / (V1 - V0) > 0:
                    self._dlnJ_dV = (l1 - l0) / (V1 - V0)      # remembered for the next operating point
            elif self._dlnJ_dV is not None and op.J > 0:     # the slope of the previous operating point
                V = op.V + float(np.clip((lnT - pts[-1][1]) / self._dlnJ_dV, -0.25, 0.25))
            else:
                V = op.V + (0.25 if op.J < J_target else -0.25)
            if np.isfinite(V_lo) and np.isfinite(V_hi) and not (V_lo < V < V_hi):
                V = 0.5 * (V_lo + V_hi)
            V = float(np.clip(V, op.V - 1.0, op.V + 1.0))      # at most 1 V per step
            if V_max is not None and V >= V_max:
                if op.V >= V_max * (1 - 1e-12):
                    raise _over_compliance(J_target, V_max, op)
                V = V_max
            if abs(V - op.V) < 1e-13 * max(1.0, abs(op.V)) and abs(op.J - J_target) <= 1e-6 * J_target:
                return op                                  # as close as the steady states resolve
            previous = op
            op = self.solve(V)
            if self._resolution_reached(pts, op, lnT):
                best = min(pts + [(op.V, np.log(max(op.J, 1e-300)))], key=lambda p: abs(p[1] - lnT))
                return op if best[0] == op.V else self.solve(best[0])
            if 0 < previous.J < op.J < J_target and op.V > 5.0:
                slope = (np.log(op.J) - np.log(previous.J)) / (op.V - previous.V)     # d ln J / dV
                if (lnT - np.log(op.J)) / slope > 20.0:
                    raise SolverError(f"the device cannot carry {J_target:g} mA/cm2: the current saturates "
                                      f"({op.J:.4g} mA/cm2 at {op.V:.2f} V, more than 20 V more needed); an "
                                      "injection-limited contact (cathode barrier too high?)")
        raise SolverError(f"constant-current operation at {J_target:g} mA/cm2 did not converge in {max_it} "
                          f"steps (last V = {op.V:.4f} V, J = {op.J:.4g} mA/cm2)")

    def _operate_bordered(self, J_target: float, rtol: float, V_max: float | None) -> OperatingPoint | None:
        """The steady state at J_target by the bordered Newton (:mod:`femqled.current_control`) from the present
        state, or None (the device unchanged) where it does not converge."""
        try:
            its = self._bordered().solve(J_target, rtol, V_max)
        except AboveCompliance:
            raise _over_compliance(J_target, V_max, self.solve(V_max)) from None
        if its is None:
            return None
        self._dlnJ_dV = self._current_control.slope
        return self.operating_point(its)

    @staticmethod
    def _resolution_reached(pts, op, lnT: float, near: float = 1e-4) -> bool:
        """Whether the steady states no longer resolve the current next to the target exp(lnT): ``op`` and an
        earlier point of ``pts`` ((V, ln J) pairs), both within ``near`` (relative) of the target, gave bitwise the
        same current at different biases, or more current at the lower bias. J(V) of a device rises with V;
        where it does not, the difference is the arithmetic's (the terminal current is a sum of cancelling
        fluxes, resolved to ~1e-7 of itself in the quasi-1D default, 2026-12-05), and bisecting further only
        repeats the same few values (the lifetime tests' constant current to 1e-8 took ~24 steady states per
        operating point there, 20 of them at that floor). Far from the target (a device that cannot carry the
        current, whose J is noise) the search goes on as before."""
        if not op.J > 0:
            return False
        l = np.log(op.J)
        if abs(l - lnT) > near:
            return False
        return any(V != op.V and abs(lj - lnT) <= near and (lj == l or (lj - l) * (V - op.V) < 0) for V, lj in pts)

    # ---------------------------------------------------------------------------------------------------------
    def width(self) -> float:
        return self.dm.layout.width_nm

    def _reactions(self, solver=None) -> dict[str, float]:
        """Carrier residuals summed over each contact's owned nodes (scaled currents), from ONE assembly:
        ``anode`` (electrons + holes), ``cathode`` (electrons + holes) and ``cathode_n`` (electrons); and the
        Poisson residuals ``anode_psi``, ``cathode_psi`` (the contacts' charges, for displacement currents)."""
        b = self._residual_vec
        (solver or self.newton).assemble_residual(b)
        nown = self.S.dofmap.index_map.size_local
        a = self.contacts.anode_dofs
        c = self.contacts.cathode_dofs
        a, c = a[a < nown], c[c < nown]
        r = b.array
        local = np.array([r[3 * a + 1].sum() + r[3 * a + 2].sum(), r[3 * c + 1].sum() + r[3 * c + 2].sum(),
                          r[3 * c + 1].sum(), r[3 * a].sum(), r[3 * c].sum()])
        if self._robin_charge is not None:     # psi is Robin at the cathode: its row holds -(the layer's term)
            local[4] -= fem.assemble_scalar(self._robin_charge)
        total = self.comm.allreduce(local, op=MPI.SUM)
        return {"anode": float(total[0]), "cathode": float(total[1]), "cathode_n": float(total[2]),
                "anode_psi": float(total[3]), "cathode_psi": float(total[4])}

    def _terminal(self) -> tuple[float, float, float]:
        """(device current, cathode current, electron current injected at the cathode), mA cm^-2.

        All from the discrete equations (conservative): the anode's from the residual at its nodes, the
        cathode's from the Robin flux (thermionic) or minus the residual at its nodes (ohmic).
        """
        react = self._reactions()
        Ic, Ie = self._cathode_current(react)
        to = self.sc.J0_mA_cm2 / self.width()
        return react["anode"] * to, Ic * to, Ie * to

    def _cathode_current(self, react: dict) -> tuple[float, float]:
        """(carrier current, its electron part) through the cathode, scaled: the Robin flux (thermionic) or
        minus the residual at its nodes (ohmic), given the reactions of :meth:`_reactions`."""
        if self.I_cathode_form is None:
            return -react["cathode"], -react["cathode_n"]
        return tuple(self.comm.allreduce(fem.assemble_scalar(f), op=MPI.SUM)
                     for f in (self.I_cathode_form, self.I_cathode_n_form))

    def electron_current(self) -> float:
        """Electron current injected at the cathode, mA cm^-2."""
        return self._terminal()[2]

    def currents(self) -> tuple[float, float]:
        """(device current, current through the cathode), mA cm^-2, forward positive (see :meth:`_terminal`)."""
        return self._terminal()[:2]

    def cathode_points(self) -> np.ndarray:
        """The cathode's nodes on every rank, (N, 2) x, y (nm) sorted by x: the same array on each rank."""
        nown = self.S.dofmap.index_map.size_local
        c = self.contacts
        X = self.S.tabulate_dof_coordinates()[c.cathode_dofs[c.cathode_dofs < nown]]
        x, y = (np.concatenate(self.comm.allgather(X[:, k])) for k in (0, 1))
        order = np.argsort(x)
        return np.column_stack([x[order], y[order]])

    def cathode_profile(self) -> dict[str, np.ndarray]:
        """Along the cathode (owned nodes of this rank): coordinates x, y (nm), barrier (eV) and the local
        electron current density injected there, j_n = q v_n (n0 - n) (mA cm^-2; thermionic cathodes)."""
        c = self.contacts
        nown = self.S.dofmap.index_map.size_local
        dofs = c.cathode_dofs[c.cathode_dofs < nown]
        X = self.S.tabulate_dof_coordinates()[dofs]
        out = {"x": X[:, 0], "y": X[:, 1], "barrier_eV": c.barrier.x.array[dofs]}
        if c.kind == "thermionic":
            out["j_n_mA_cm2"] = self._cathode_node_current()[dofs] * self.sc.J0_mA_cm2
            if c.interfacial:
                out["interfacial_layer_nm"] = c.d_i.x.array[dofs]
        return out

    def _cathode_node_current(self) -> np.ndarray:
        """Injected electron current density per P1 node (scaled; nonzero on the cathode): the lumped Robin flux
        of each node over its share of the cathode length - the same terms as the residual."""
        out = []
        for form in (self._jn_node_form, self._ds_node_form):
            b = fem.assemble_vector(form)
            b.scatter_reverse(la.InsertMode.add)
            b.scatter_forward()
            out.append(b.array.copy())
        flux, length = out
        return np.divide(flux, length, out=np.zeros_like(flux), where=length > 0)

    def operating_point(self, iterations: int = 0) -> OperatingPoint:
        Ja, Jc, Je = self._terminal()
        extra = self.emission.record(Je, Ja) if self.emission.active else {}
        return OperatingPoint(self.bias, Ja, Jc, iterations, extra)
