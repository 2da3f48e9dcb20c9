"""Constant-current steady states, and mobile ions holding their inventory, by a bordered Newton iteration:
the bias and the ions' electrochemical potential are unknowns beside the state.

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

Mobile ions (:mod:`femqled.ions`, while they are mobile) add one more unknown, their electrochemical potential
eta (the ion density a = exp(-z psi - eta) enters Poisson), and one more equation, their inventory
ln I(u, eta) = ln N (I the integral of a over the host layer; dI/deta = -I, and i.x the derivative of I along x).
With F_eta = dF/deta (Poisson rows of the host layer) one more back-substitution, K c = -F_eta, and du = a +
dV b + deta c, where (dV, deta) solve the 2 x 2 system

    (j.b / J) dV + (j.c / J) deta           = ln J* - ln J - j.a / J
    (i.b / I) dV + (i.c / I - 1) deta       = ln N - ln I - i.a / I,

or, at a fixed bias (``J_target`` None: the ions settling at a bias, :meth:`femqled.device.Device._try`),
deta alone from the second. Before (and with ``[solver] current_control = "secant"``), eta was met by a secant
around whole Newton solves: 3-5 of them for each trial bias of the secant on ln J(V).

One factorisation and two (three with ions) back-substitutions per iteration solve for the state and the bias
together, where the secant on ln J(V) (:meth:`femqled.device.Device.operate`'s fallback) converges a steady
state at each trial bias. The bias and eta move only where the step with both fixed is small (below
``COUPLE``; farther, the linear model of the borders is no guide), by at most ``MAX_DV`` and
:data:`femqled.ions.MAX_ETA_STEP` per iteration; each component of du is capped to the fixed-bias Newton's
``max_step`` (V_t). The answer is a steady state (the step at a fixed bias below the fixed-bias Newton's
``atol_update``, or an update below ``SETTLED``, whose successor is about its square; V_t) whose current is the
target to ``rtol`` or ``RESOLVED``, whichever is larger: what the steady states resolve (the terminal current
is a sum of cancelling fluxes: at one converged state of the default 2D device it moves by ~1e-7 of itself
under updates of 4e-14 V_t; in quasi-1D it takes values ~1.3e-7 apart, see ``Device._resolution_reached``),
and whose ions hold their inventory to :data:`femqled.ions.RTOL`.
"""

from __future__ import annotations

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from femqled import compat
from femqled.ions import MAX_ETA_STEP, RTOL as IONS_RTOL
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

    def solve(self, J_target: float | None, rtol: float, V_max: float | None = None) -> int | None:
        """Bring the device to the steady state carrying ``J_target`` (mA cm^-2; None: at its present bias)
        from its present state and bias, its mobile ions (where they are mobile) holding their inventory;
        returns the number of iterations, or None (the device back at its start) where the iteration does not
        converge or the current is not positive. :class:`AboveCompliance` (the device back at its start) where
        the answer lies above ``V_max``."""
        dev = self.dev
        start, bias0 = dev.u.x.array.copy(), dev.bias
        eta0 = float(dev.ions.eta.value) if dev.ions is not None else 0.0
        try:
            its = self._iterate(J_target, rtol)
        except PETSc.Error:
            its = None
        if its is None or (V_max is not None and dev.bias > V_max):
            dev.set_state(start, bias0)
            if dev.ions is not None:
                dev.ions.eta.value = eta0
            if its is not None:
                raise AboveCompliance
        return its

    def _iterate(self, J_target: float | None, rtol: float) -> int | None:
        dev, lin = self.dev, self.lin
        sc, comm = dev.sc, dev.comm
        control = J_target is not None                           # the bias: an unknown, else fixed
        ions = dev.ions if dev.ions is not None and dev.ions.mobile and dev.ions.target > 0 else None
        to = sc.J0_mA_cm2 / dev.width()
        lnT = np.log(J_target / to) if control else 0.0         # scaled target
        max_step, atol = dev.newton.max_step, dev.newton.atol_update
        u = dev.u
        V = dev.bias
        self._set_bias(V)
        F = dev._residual_vec
        rhs, a, b, r, c, F_eta, I_u = (u.x.petsc_vec.duplicate() for _ in range(7))
        D = lin.dirichlet_owned
        self.history = []
        tol = max(rtol, RESOLVED)

        def on_target(J, g_ions):
            return ((not control or abs(J * to - J_target) <= tol * J_target)
                    and (ions is None or abs(g_ions) < IONS_RTOL))

        try:
            for it in range(1, MAX_ITERATIONS + 1):
                J = dev._reactions()["anode"]                    # assembles the residual into F
                if control and not J > 0:
                    return None
                lin.assemble()
                ksp = lin.lu()
                if ksp is None:
                    return None
                rhs.array[:] = -F.array                          # the step with the bias and eta fixed
                rhs.array[D] = 0.0
                ksp.solve(rhs, a)
                rows, cols, right = [], [], []                   # the borders' equations, linearised
                if control:
                    lin.Kf.mult(self.g, r)                       # the response to one volt
                    r.array[:] *= -1.0
                    r.array[D] = self.g.array[D]
                    ksp.solve(r, b)
                    cols.append(b)
                if ions is not None:
                    inventory, g_ions = ions.linearised(F_eta, I_u)
                    F_eta.array[:] *= -1.0                       # the response to one unit of eta
                    F_eta.array[D] = 0.0
                    ksp.solve(F_eta, c)
                    cols.append(c)
                else:
                    g_ions = 0.0
                if control:                                      # ln J: its derivative along x, j.x / J
                    j = comm.allreduce(np.array([lin.anode_rows(lin.Kf, x)[0] for x in [a] + cols]), op=MPI.SUM)
                    if not j[1] > 0:                             # J must rise with V
                        return None
                    self.slope = j[1] / J
                    rows.append(j[1:] / J)
                    right.append(lnT - np.log(J) - j[0] / J)
                if ions is not None:                             # ln I: its derivative along x, I_u.x / I
                    i = np.array([I_u.dot(x) for x in [a] + cols]) / inventory
                    row = i[1:].copy()
                    row[-1] -= 1.0                               # d ln I / d eta = -1
                    rows.append(row)
                    right.append(-g_ions - i[0])
                step = comm.allreduce(float(np.max(np.abs(a.array), initial=0.0)), op=MPI.MAX)
                if step < atol and on_target(J, g_ions):
                    return it                                    # a steady state on target already
                moves = np.zeros(len(cols))
                if cols and step <= COUPLE:                      # (far from a steady state the linear model
                    try:                                         # of the borders is no guide)
                        moves = np.linalg.solve(np.array(rows), np.array(right))
                    except np.linalg.LinAlgError:
                        return None
                dV = float(np.clip(moves[0], -MAX_DV, MAX_DV)) if control else 0.0
                d_eta = float(np.clip(moves[-1], -MAX_ETA_STEP, MAX_ETA_STEP)) if ions is not None else 0.0
                du = a.array.copy()
                if control:
                    du += dV * b.array
                if ions is not None:
                    du += d_eta * c.array
                np.clip(du, -max_step, max_step, out=du)
                size = max(comm.allreduce(float(np.max(np.abs(du), initial=0.0)), op=MPI.MAX),
                           abs(dV) / sc.Vt, abs(d_eta))
                if not np.isfinite(size) or V + dV < 0:
                    return None
                V += dV
                u.x.petsc_vec.array[:] += du
                u.x.scatter_forward()
                self._set_bias(V)
                if ions is not None:
                    ions.eta.value = float(ions.eta.value) + d_eta
                self.history.append(size)
                if size < SETTLED and on_target(dev._reactions()["anode"] if control else 0.0,
                                                 ions.excess() if ions is not None else 0.0):
                    return it                                    # Newton's next update: ~size^2
            return None
        finally:
            for vec in (rhs, a, b, r, c, F_eta, I_u):
                vec.destroy()

    def _set_bias(self, V: float) -> None:
        """The bias V into the device and the contacts' Dirichlet values into the state."""
        dev = self.dev
        dev.bias = float(V)
        dev.contacts.set_bias(dev.bias)
        for bc in dev.contacts.bcs:
            compat.apply_dirichlet(bc, dev.u.x.array)
        dev.u.x.scatter_forward()
