"""Constant-current steady states by a bordered Newton iteration: the bias is one more unknown.

At a constant current J* the steady state u and the bias V solve together

    F(u) = 0             the interior equations (Poisson, electron and hole continuity)
    u_D = g(V)           the contacts' Dirichlet values; the anode's move with the bias, g' = dg/dV = 1/V_t
    ln J(u) = ln J*      J: the anode's current, the sum of the residual's carrier rows at its nodes

Newton on (u, V), by block elimination of the bordered system (Keller): with K the Jacobian with identity
Dirichlet rows and columns (what Newton at a fixed bias factorises), Kf the unconstrained Jacobian and
j.x = sum over the anode's carrier rows of Kf x (the derivative of J along x, as conservative as J itself),

    K a = -F                                 (F = 0 on Dirichlet rows: u_D = g(V) is kept exact)
    K b = r,   r = -Kf g' on interior rows, g' on Dirichlet rows     (the state's response to one volt)
    dV = (ln J* - ln J - j.a / J) / (j.b / J),      du = a + dV b.

One factorisation and two back-substitutions per iteration solve for the state and the bias together, where
the secant on ln J(V) (:meth:`femqled.device.Device.operate`'s fallback) converges a steady state at each trial
bias. The bias moves only where the step at a fixed bias is small (below ``COUPLE``; farther, the linear
model of the current is no guide), by at most ``MAX_DV`` per iteration; each component of du is capped to the
fixed-bias Newton's ``max_step`` (V_t). The answer is a steady state (the step at a fixed bias below the
fixed-bias Newton's ``atol_update``, or an update below ``SETTLED``, whose successor is about its square; V_t)
whose current is the target to ``rtol`` or ``RESOLVED``, whichever is larger: what the steady states resolve
(the terminal current is a sum of cancelling fluxes: at one converged state of the default 2D device it moves
by ~1e-7 of itself under updates of 4e-14 V_t; in quasi-1D it takes values ~1.3e-7 apart, see
``Device._resolution_reached``).
"""

from __future__ import annotations

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from femqled import compat
from femqled.linearised import Linearised

MAX_DV = 0.1             # V, the largest bias change of one iteration: below Newton's cap of 5 V_t on each
                         # component, which the dofs next to the anode (moving with it) must not reach
COUPLE = 1.0             # V_t: the bias moves only where the step at a fixed bias is below this
MAX_ITERATIONS = 20
RESOLVED = 1e-6          # relative: the current as close as the steady states resolve it
SETTLED = 1e-7           # V_t: an update this small leaves the state converged (Newton's next: ~its square)


class AboveCompliance(Exception):
    """The steady state at the current lies above the compliance voltage."""


class CurrentControl:
    """Bordered Newton for the steady state of a :class:`femqled.device.Device` at a given current."""

    def __init__(self, dev):
        self.dev = dev
        self.lin = Linearised(dev, prefix=f"femqled_cc_{id(self)}_")
        self.g = self.lin.bias_step()
        self.history: list[float] = []        # the updates (V_t) of the last solve, for diagnostics
        self.slope = None                     # d ln J / dV (1/V) at the last answer

    def solve(self, J_target: float, rtol: float, V_max: float | None = None) -> int | None:
        """Bring the device to the steady state carrying ``J_target`` (mA cm^-2) from its present state and
        bias; returns the number of iterations, or None (the device back at its start) where the iteration
        does not converge or the current is not positive. :class:`AboveCompliance` (the device back at its
        start) where the answer lies above ``V_max``."""
        dev = self.dev
        start, bias0 = dev.u.x.array.copy(), dev.bias
        try:
            its = self._iterate(J_target, rtol)
        except PETSc.Error:
            its = None
        if its is None or (V_max is not None and dev.bias > V_max):
            dev.set_state(start, bias0)
            if its is not None:
                raise AboveCompliance
        return its

    def _iterate(self, J_target: float, rtol: float) -> int | None:
        dev, lin = self.dev, self.lin
        sc, comm = dev.sc, dev.comm
        to = sc.J0_mA_cm2 / dev.width()
        lnT = np.log(J_target / to)                              # scaled target
        max_step, atol = dev.newton.max_step, dev.newton.atol_update
        u = dev.u
        V = dev.bias
        self._set_bias(V)
        F = dev._residual_vec
        rhs, a, b, r = (u.x.petsc_vec.duplicate() for _ in range(4))
        D = lin.dirichlet_owned
        self.history = []
        tol = max(rtol, RESOLVED)
        try:
            for it in range(1, MAX_ITERATIONS + 1):
                J = dev._reactions()["anode"]                    # assembles the residual into F
                if not J > 0:
                    return None
                lin.assemble()
                ksp = lin.lu()
                if ksp is None:
                    return None
                rhs.array[:] = -F.array                          # the step at this bias
                rhs.array[D] = 0.0
                ksp.solve(rhs, a)
                lin.Kf.mult(self.g, r)                           # the response to one volt
                r.array[:] *= -1.0
                r.array[D] = self.g.array[D]
                ksp.solve(r, b)
                ja, jb = comm.allreduce(np.array([lin.anode_rows(lin.Kf, a)[0], lin.anode_rows(lin.Kf, b)[0]]),
                                        op=MPI.SUM)
                if not jb > 0:                                   # J must rise with V
                    return None
                self.slope = jb / J
                step = comm.allreduce(float(np.max(np.abs(a.array), initial=0.0)), op=MPI.MAX)
                if step < atol and abs(J * to - J_target) <= tol * J_target:
                    return it                                    # a steady state at the current already
                dV = 0.0
                if step <= COUPLE:                               # volts (b: the response to one volt)
                    dV = float(np.clip((lnT - np.log(J) - ja / J) / (jb / J), -MAX_DV, MAX_DV))
                du = a.array + dV * b.array
                np.clip(du, -max_step, max_step, out=du)
                size = max(comm.allreduce(float(np.max(np.abs(du), initial=0.0)), op=MPI.MAX), abs(dV) / sc.Vt)
                if not np.isfinite(size) or V + dV < 0:
                    return None
                V += dV
                u.x.petsc_vec.array[:] += du
                u.x.scatter_forward()
                self._set_bias(V)
                self.history.append(size)
                if size < SETTLED and abs(dev._reactions()["anode"] * to - J_target) <= tol * J_target:
                    return it                                    # Newton's next update: ~size^2
            return None
        finally:
            for v in (rhs, a, b, r):
                v.destroy()

    def _set_bias(self, V: float) -> None:
        """The bias V into the device and the contacts' Dirichlet values into the state."""
        dev = self.dev
        dev.bias = float(V)
        dev.contacts.set_bias(dev.bias)
        for bc in dev.contacts.bcs:
            compat.apply_dirichlet(bc, dev.u.x.array)
        dev.u.x.scatter_forward()
