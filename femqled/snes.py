"""Newton's method with PETSc SNES and DOLFINx assembly callbacks (version-stable across DOLFINx 0.9-0.11).

``NewtonSolver(F, u, bcs)`` solves F(u; v) = 0 for a DOLFINx Function ``u``. Dirichlet values are written into
``u`` before the solve, so Newton corrections vanish on Dirichlet dofs (no lifting needed). Each step is capped
to ``max_step`` in the sup norm (in V_t for potentials: a damped Newton, as semiconductor solvers need) by a
line-search pre-check. Convergence is judged on the update (sup norm below ``atol_update``) or the residual,
because rows of drift-diffusion systems differ by many orders of magnitude, or on a residual stalled 13 orders
below the first (its roundoff floor) while the update cannot fall. A start that is the last answer, bitwise and
with no larger a residual (the same state solved again with nothing changed), is accepted without a step. If
Newton reaches that floor without stopping and then fails (an ill-conditioned Jacobian amplifies roundoff into
the step), the best iterate at the floor is the answer. The linear solver is MUMPS LU (parallel, with its own
row/column scaling) unless other PETSc options are given.
"""

from __future__ import annotations

import itertools
import os

import numpy as np
import ufl
from dolfinx import fem
from dolfinx.fem import petsc as fem_petsc
from mpi4py import MPI
from petsc4py import PETSc

from femqled import compat

_counter = itertools.count()


LINEAR_SOLVERS = ("mumps", "superlu_dist")


def lu_options(package: str) -> dict:
    """PETSc options of a parallel LU factorisation. ``mumps``: fastest here; its parallel factorisation
    schedules work dynamically, so runs on several ranks agree to roundoff only (~1e-14), not bitwise.
    ``superlu_dist``: bitwise reproducible run to run (about 1.5x slower on the default case, 2 ranks)."""
    opts = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": package}
    if package == "mumps":
        opts.update({"mat_mumps_icntl_28": 1, "mat_mumps_icntl_7": 5})   # sequential analysis, METIS ordering
    return opts


class NewtonSolver:
    def __init__(self, F, u, bcs=(), J=None, hooks=None, max_step: float = 5.0, atol_update: float = 1e-9,
                 rtol_residual: float = 1e-16, max_it: int = 60, petsc_options: dict | None = None,
                 jit_options: dict | None = None, roundoff_floor: float = 1e-13):
        self.u = u
        self.bcs = list(bcs)
        self.hooks = hooks     # optional terms assembled outside UFL: add_residual(local array), add_jacobian(A)
        self.max_step = max_step
        self.atol_update = atol_update
        self.rtol_residual = rtol_residual
        self.roundoff_floor = roundoff_floor
        self.max_it = max_it
        J = ufl.derivative(F, u) if J is None else J
        self.F_form = fem.form(F, jit_options=jit_options)
        self.J_form = fem.form(J, jit_options=jit_options)
        self.b = u.x.petsc_vec.duplicate()
        self.A = compat.create_matrix(self.J_form)
        self.x = u.x.petsc_vec.duplicate()
        comm = u.function_space.mesh.comm
        self.snes = PETSc.SNES().create(comm)
        prefix = f"femqled_newton_{next(_counter)}_"
        self.snes.setOptionsPrefix(prefix)
        opts = PETSc.Options()
        defaults = {"snes_type": "newtonls", "snes_linesearch_type": "basic", "ksp_type": "preonly",
                    "pc_type": "lu", "pc_factor_mat_solver_type": "mumps",
                    "ksp_diagonal_scale": None, "ksp_diagonal_scale_fix": None}
        for k, v in lu_options((petsc_options or {}).get("pc_factor_mat_solver_type", "mumps")).items():
            defaults[k] = v
        for k, v in {**defaults, **(petsc_options or {})}.items():
            opts[prefix + k] = v
        self.snes.setFromOptions()
        self.snes.setFunction(self._residual, self.b)
        self.snes.setJacobian(self._jacobian, self.A, self.A)
        self.snes.setTolerances(max_it=max_it)
        self.snes.setConvergenceTest(self._converged)
        self.snes.setLineSearchPreCheck(self._cap)
        self._f0 = None
        self._f_now = np.inf                        # the residual norm of the present iterate
        self._answer = None                         # the state the last converged solve returned ...
        self._f_answer = np.inf                     # ... and its residual norm

        self._best_x = u.x.petsc_vec.duplicate()    # the best iterate at the roundoff floor in this solve ...
        self._best_f = np.inf                       # ... and its residual norm (inf: the floor not reached)
        self.monitor = os.environ.get("FEMQLED_NEWTON_MONITOR", "0") not in ("", "0")
        self.iterations = 0
        self.last_update = np.inf

    # callbacks ---------------------------------------------------------------------------------------------
    def _update_u(self, x):
        x.copy(self.u.x.petsc_vec)
        self.u.x.scatter_forward()

    def _residual(self, snes, x, b):
        self._update_u(x)
        self.assemble_residual(b)
        compat.set_bc(b, self.bcs, x, -1.0)   # b = x - g on Dirichlet dofs (zero: x holds g)

    def assemble_residual(self, b):
        """F(u) into b, without Dirichlet conditions (reaction forces at contacts stay in b)."""
        with b.localForm() as bl:
            bl.set(0.0)
        fem_petsc.assemble_vector(b, self.F_form)
        if self.hooks is not None:
            with b.localForm() as bl:
                self.hooks.add_residual(bl.array)
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)

    def _jacobian(self, snes, x, A, P):
        self._update_u(x)
        A.zeroEntries()
        fem_petsc.assemble_matrix(A, self.J_form, bcs=self.bcs)
        A.assemble()
        if self.hooks is not None:
            self.hooks.add_jacobian(A)

    def _cap(self, x, y):
        """Clip each component of the Newton step y to at most max_step in magnitude (in place).

        Per-dof clipping, not a global scaling: a quasi-Fermi potential where its carrier is negligible may ask
        for a large update that must not shrink the useful rest of the step.
        """
        with y.localForm() as yl:
            a = yl.array
            np.clip(a, -self.max_step, self.max_step, out=a)

    def _converged(self, snes, it, norms):
        xnorm, unorm, fnorm = norms
        if self.monitor and snes.comm.rank == 0 and it > 0:
            print(f"    newton {it:2d}: |F| {fnorm:.3e}  |du|inf "
                  f"{snes.getSolutionUpdate().norm(PETSc.NormType.NORM_INFINITY):.3e}", flush=True)
        self._f_now = fnorm
        if it == 0:
            if self._is_the_answer(snes.getSolution(), fnorm):
                # the start is the last answer, solved again with nothing changed (the same state, bitwise, and
                # no larger a residual). Iterating would only stir roundoff, and where the Jacobian is
                # ill-conditioned (behind a thick tunnel layer) that never settles. (Until 2026-12-06 a start
                # passed here whose residual lay 13 orders below the first residual of the last solve: a solve
                # started far off, e.g. from an aged state after the contact was rebuilt, made that scale so large
                # that later starts off the answer passed as converged, and every state after was wrong)
                self.last_update = 0.0
                return 2    # SNES_CONVERGED_FNORM_ABS
            self._f0 = max(fnorm, 1e-300)
            self._fprev = self._f0
            return 0
        self.last_update = snes.getSolutionUpdate().norm(PETSc.NormType.NORM_INFINITY)
        fprev, self._fprev = self._fprev, fnorm
        if not np.isfinite(fnorm):
            return -4   # SNES_DIVERGED_FNORM_NAN
        # small update AND a residual that no longer falls (its roundoff floor): rows of minority carriers are
        # tiny, so a tiny update can still leave a residual that matters for current conservation
        stalled = fnorm > 0.2 * fprev
        # ... or a residual stalled at the roundoff floor of the first one while the update cannot fall (quasi-
        # Fermi levels of carriers that are all but absent, e.g. behind a thick tunnel layer, are fixed only to
        # ~1e-7 V_t by the arithmetic; the densities they give are not)
        floor = stalled and fnorm < self.roundoff_floor * self._f0
        if fnorm < min(self.roundoff_floor * self._f0, self._best_f):
            # keep the best iterate at the floor: where the Jacobian is this ill-conditioned, a step taken from
            # the floor is roundoff amplified and can carry Newton away (see solve)
            snes.getSolution().copy(self._best_x)
            self._best_f = fnorm
        if (self.last_update < self.atol_update and stalled) or fnorm < self.rtol_residual * self._f0 \
                or floor or fnorm < 1e-300:
            return 3    # SNES_CONVERGED_SNORM_RELATIVE
        if it >= self.max_it:
            return -5   # SNES_DIVERGED_MAX_IT
        return 0

    def _is_the_answer(self, x, fnorm: float) -> bool:
        """Whether ``x`` is, bitwise on every rank, the state the last converged solve returned, with a residual
        no larger than it had then (a changed parameter would change the residual)."""
        same = self._answer is not None and fnorm <= 2.0 * self._f_answer and \
            np.array_equal(x.array_r, self._answer.array_r)
        return bool(self.u.function_space.mesh.comm.allreduce(same, op=MPI.LAND))

    # solve -------------------------------------------------------------------------------------------------
    def solve(self) -> tuple[bool, int]:
        """Solve from the current ``u``; returns (converged, iterations). ``u`` holds the last iterate."""
        for bc in self.bcs:   # Dirichlet values into the initial guess
            compat.apply_dirichlet(bc, self.u.x.array)
        self.u.x.scatter_forward()
        self.u.x.petsc_vec.copy(self.x)
        self._best_f = np.inf
        self.snes.solve(None, self.x)
        self.iterations = self.snes.getIterationNumber()
        ok = self.snes.getConvergedReason() > 0
        f_end = self._f_now
        if not ok and np.isfinite(self._best_f):
            # Newton reached the roundoff floor (residual 13 orders below the first) but did not stop there and
            # then wandered off: that iterate is the solution as well as the arithmetic can give it
            self._best_x.copy(self.x)
            ok, f_end = True, self._best_f
        if ok:              # what a solve of the same state again may accept (_converged); a failed solve keeps
            if self._answer is None:          # the last answer, which its residual still tells from a changed one
                self._answer = self.x.duplicate()
            self.x.copy(self._answer)
            self._f_answer = f_end
        self._update_u(self.x)
        return ok, self.iterations

    def destroy(self):
        for obj in (self.snes, self.A, self.b, self.x, self._best_x, self._answer):
            if obj is not None:
                obj.destroy()
