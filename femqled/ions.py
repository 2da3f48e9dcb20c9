"""Mobile ions in one layer: Boltzmann equilibrium with a fixed inventory while the device operates, frozen while
it is measured (MODEL.md sec. 3, the rho_ion of Poisson).

A population of ions of charge number z (acetate: -1) lives in one layer (``[ions] layer``) and cannot leave it
(its boundaries block). Its inventory per unit area N (cm^-2) is a property of the device's history (with
ageing, it follows the contact state: :class:`femqled.ageing.Ageing`). Two time scales decide how it enters the
electrical problem:

- an ion crosses a few tens of nm in seconds to minutes (ion mobilities 1e-12-1e-10 cm^2 V^-1 s^-1), which is
  short against an ageing step (hours): while the device *operates*, the ions are in equilibrium with the
  potential, zero ion current, a flat electrochemical potential eta:

      a(x) = exp(-z psi(x) - eta)          (scaled: a in N0, psi in V_t),  eta such that  int a dx = N W;

- the same transit is long against an electrical measurement (a 1 kHz C-V, a J-V sweep of seconds): while the
  device is *measured*, the ions stay where the last operation left them (``freeze``).

Poisson gets + z a, mass-lumped like the carriers' charge (same vertex quadrature and box weights), so the charge
in the equations is exactly the inventory. The constraint is a single global unknown eta, met to ``RTOL``: by
default as one more unknown of the bordered Newton (:mod:`femqled.current_control`; with the bias, at constant
current), with the derivatives of :meth:`MobileIons.linearised`; where that does not converge, and with
``[solver] current_control = "secant"``, by a safeguarded secant iteration on ln(inventory) around the Newton
solve of the device (``equilibrate``), each evaluation one Newton solve from the previous state.

Use: ``dev.ions.set_inventory(N_cm2)``; ``dev.operate(J)`` (the ions move with the operating state and are frozen
at its end) or ``dev.ions.settle(V)`` (equilibrium at a bias, then frozen); every other solve (``solve``,
``sweep``, transients, small-signal C-V) sees the frozen profile.
"""

from __future__ import annotations

import numpy as np
import ufl
from dolfinx import fem
from dolfinx.fem import petsc as fem_petsc
from mpi4py import MPI
from petsc4py import PETSc

from femqled.errors import InputError
from femqled.scaling import N0_CM3

RTOL = 1e-8            # relative accuracy of the inventory in operation
MAX_ETA_STEP = 2.0     # largest change of eta per Newton solve (x7.4 in the ion density)
FIRST_FRACTION = 1e-3  # from no ions, the first solve carries this fraction of the inventory (continuation)


class MobileIons:
    """The ions of ``[ions]`` on a :class:`femqled.device.Device` (built by the device before its forms)."""

    def __init__(self, dev, cfg: dict):
        self.dev = dev
        self.layer = cfg["layer"]
        self.z = int(cfg["charge"])             # the layer and charge are checked with the case (femqled.case)
        mesh = dev.mesh
        cells = dev.dm.cells(self.layer)
        self.mask = fem.Function(dev.mat.Q, name="ion_host")
        self.mask.x.array[cells] = 1.0
        self.mask.x.scatter_forward()
        # P1 nodes that touch the host layer (local + ghost): the only nodes whose frozen value matters. A node
        # may touch host cells of other ranks only (its own rank does not tag them): gathered at its owner
        # and sent back to every copy, so that the frozen profile does not depend on the partition
        touching = fem.Function(dev.S)
        touching.x.array[dev.S.dofmap.list[cells].ravel()] = 1.0
        vec = touching.x.petsc_vec
        vec.ghostUpdate(addv=PETSc.InsertMode.MAX_VALUES, mode=PETSc.ScatterMode.REVERSE)
        vec.ghostUpdate(addv=PETSc.InsertMode.INSERT_VALUES, mode=PETSc.ScatterMode.FORWARD)
        self.host_nodes = np.flatnonzero(touching.x.array > 0)
        self.eta = fem.Constant(mesh, 0.0)
        self.mobile_flag = fem.Constant(mesh, 0.0)
        self.frozen = fem.Function(dev.S, name="ion_density")
        psi = dev.u[0]
        self.a_mobile = ufl.exp(self.mask * (-self.z * psi - self.eta) + (1 - self.mask) * (-100.0))
        self.density = self.mask * (self.mobile_flag * self.a_mobile + (1 - self.mobile_flag) * self.frozen)
        dxl = dev.dm.dx(lumped=True)
        self._inventory_form = fem.form(self.density * dev.charge_weight * dxl)
        held = self.mask * self.a_mobile * dev.charge_weight           # what the mobile ions hold
        self._mobile_inventory_form = fem.form(held * dxl)
        # the constraint linearised (the bordered Newton, femqled.current_control), on the psi rows:
        # d(residual)/d eta = z a (mobile only), d(inventory)/d psi = -z a
        v = ufl.TestFunctions(dev.V_space)[0]
        self._residual_eta_form = fem.form(self.z * self.mobile_flag * held * v * dxl)
        self._inventory_u_form = fem.form(-self.z * held * v * dxl)
        self.target = 0.0          # scaled inventory: N / N0 in nm, times the width (nm^2 N0)
        self.mobile = False
        self.anchor_bias = None    # the bias at which the frozen profile (holding ions) was made, else None

    # -- the equations ----------------------------------------------------------------------------------------------
    def residual(self, v):
        """The ions' charge z a in Poisson: the device residual holds -(p - n + C + rho) v."""
        return -self.z * self.density * v * self.dev.charge_weight * self.dev.dm.dx(lumped=True)

    # -- inventory ----------------------------------------------------------------------------------------------------
    def set_inventory(self, N_cm2: float) -> None:
        """Ions per unit area of the device (cm^-2, >= 0); takes effect at the next operation or ``settle``
        (0: at once)."""
        if not (N_cm2 >= 0 and np.isfinite(N_cm2)):
            raise InputError("ions inventory", f"must be a finite number >= 0 cm^-2, got {N_cm2!r}")
        self.target = N_cm2 / self._cm2_per_scaled() if N_cm2 > 0 else 0.0
        if self.target == 0:                 # no ions: nothing to settle
            self.freeze()

    @property
    def inventory_cm2(self) -> float:
        """The ions in the equations now (frozen or mobile), per unit area (cm^-2)."""
        return self._assemble(self._inventory_form) * self._cm2_per_scaled()

    @property
    def target_cm2(self) -> float:
        return self.target * self._cm2_per_scaled()

    def _cm2_per_scaled(self) -> float:
        """cm^-2 per unit of the scaled inventory (N0 nm^2 over the device's width in nm)."""
        return N0_CM3 * 1e-7 / self.dev.width()

    def _assemble(self, form) -> float:
        return float(self.dev.comm.allreduce(fem.assemble_scalar(form), op=MPI.SUM))

    def _eta_for(self, amount: float) -> float:
        """The eta that gives ``amount`` (scaled) in the present potential (exact for a frozen psi)."""
        psi = self.dev.u.x.array[0::3][self.host_nodes]
        top = float(np.max(-self.z * psi)) if psi.size else -np.inf
        top = self.dev.comm.allreduce(top, op=MPI.MAX)
        self.eta.value = top
        return top + np.log(self._assemble(self._mobile_inventory_form) / amount)

    def excess(self) -> float:
        """ln(mobile inventory / target): 0 where the mobile ions hold their inventory."""
        return float(np.log(self._assemble(self._mobile_inventory_form) / self.target))

    def linearised(self, F_eta, I_u) -> tuple[float, float]:
        """The inventory constraint at the present state, for a Newton step on the state and eta together
        (:mod:`femqled.current_control`): into the vectors ``F_eta`` the residual's derivative with respect to
        eta and into ``I_u`` the mobile inventory's derivative along the state (both on the psi rows of the
        host layer, ghosts summed); returns the mobile inventory I (scaled) and ln(I / target). The inventory's
        derivative with respect to eta is -I."""
        for vec, form in ((F_eta, self._residual_eta_form), (I_u, self._inventory_u_form)):
            with vec.localForm() as local:
                local.set(0.0)
            fem_petsc.assemble_vector(vec, form)
            vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        inventory = self._assemble(self._mobile_inventory_form)
        return inventory, float(np.log(inventory / self.target))

    # -- mobile / frozen ------------------------------------------------------------------------------------------
    def freeze(self) -> None:
        """Keep the present equilibrium profile (eta met in the present potential) for the solves that follow."""
        self.frozen.x.array[:] = 0.0
        if self.target > 0:
            self.eta.value = self._eta_for(self.target)
            psi = self.dev.u.x.array[0::3][self.host_nodes]
            self.frozen.x.array[self.host_nodes] = np.exp(np.clip(-self.z * psi - float(self.eta.value), -700, 300))
        self.frozen.x.scatter_forward()
        self.mobile = False
        self.mobile_flag.value = 0.0
        self.anchor_bias = self.dev.bias if self.target > 0 else None

    def thaw(self) -> None:
        """Let the ions follow the potential (from the present state: eta that holds the inventory now)."""
        if self.target <= 0:
            self.freeze()
            return
        have = self.anchor_bias is not None      # a frozen profile holds ions already
        self.eta.value = self._eta_for(self.target if have else FIRST_FRACTION * self.target)
        self.mobile = True
        self.mobile_flag.value = 1.0

    def equilibrate(self, newton) -> tuple[bool, int]:
        """After a converged Newton solve with mobile ions: move eta (one Newton solve per step) until the
        inventory is the target to RTOL. Returns (converged, Newton iterations)."""
        if not self.mobile or self.target <= 0:
            return True, 0
        its, prev = 0, None
        for _ in range(60):
            g = self.excess()                          # ln(have / want)
            if abs(g) < RTOL:
                return True, its
            eta = float(self.eta.value)
            step = g                                   # d g / d eta = -1 without self-screening
            if prev is not None and g != prev[1] and eta != prev[0]:
                slope = (g - prev[1]) / (eta - prev[0])
                if slope < 0:
                    step = -g / slope
            step = float(np.clip(step, -MAX_ETA_STEP, MAX_ETA_STEP))
            saved = self.dev.u.x.array.copy()
            for _ in range(8):                         # a failed Newton solve halves the step
                self.eta.value = eta + step
                ok, k = newton.solve()
                its += k
                if ok and np.all(np.isfinite(self.dev.u.x.array)):
                    break
                self.dev.u.x.array[:] = saved
                self.dev.u.x.scatter_forward()
                step /= 2
            else:
                self.eta.value = eta
                return False, its
            prev = (eta, g)
        return False, its

    def settle(self, V: float | None = None):
        """Equilibrium of the ions at bias V (the present bias if None), then frozen: the state of a device held
        at V long enough for its ions to move. Returns the operating point."""
        V = self.dev.bias if V is None else float(V)
        self.thaw()
        try:
            return self.dev.solve(V)          # every converged solve meets the inventory (Device._try)
        finally:
            self.freeze()
