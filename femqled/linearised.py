"""The device linearised at its present state: the Jacobian, unconstrained and constrained, and its LU.

Newton at a fixed bias needs only the constrained Jacobian, inside SNES (:mod:`femqled.snes`). Two solvers need
more, and share this: the small-signal analysis (C-V, :mod:`femqled.instruments.cv`) and constant-current
operation (the bordered Newton of :mod:`femqled.current_control`). They use

- ``Kf``: the Jacobian of the unconstrained residual (UFL forms and EAFE edge fluxes, Dirichlet rows included).
  The anode's current is the sum of the residual's carrier rows at its nodes (conservative), so the same rows
  of ``Kf`` give the current's derivative along any change of the state (:meth:`Linearised.anode_rows`);
- ``K``: the same with the Dirichlet rows and columns replaced by the identity's, as the constrained assembly
  gives them (to roundoff), and its LU factorisation (:meth:`Linearised.lu`; the symbolic part is kept from one
  factorisation to the next, the pattern being the same);
- ``bias_step``: the change of the Dirichlet values for one volt more at the anode, 1/V_t on psi, phi_n and
  phi_p (the anode is an ohmic contact: psi follows its quasi-Fermi level, :meth:`femqled.contacts.Contacts.set_bias`).
"""

from __future__ import annotations

import numpy as np
from petsc4py import PETSc

from femqled import compat
from femqled.snes import lu_options


def lu_solver(A: PETSc.Mat, prefix: str, options: dict, ksp: PETSc.KSP | None = None) -> PETSc.KSP:
    """A KSP (new, or ``ksp`` again: the symbolic factorisation is kept where A's pattern is) that solves with
    the LU factorisation of A as it is now. The LU ``options`` (:func:`femqled.snes.lu_options`) sit in the
    options database only while it factorises (MUMPS reads its own then), so none is left unused at exit."""
    if ksp is None:
        ksp = PETSc.KSP().create(A.getComm())
        ksp.setOptionsPrefix(prefix)
    ksp.setOperators(A)
    opts = PETSc.Options()
    for k, v in options.items():
        opts[prefix + k] = v
    try:
        ksp.setFromOptions()
        ksp.setUp()
    finally:
        for k in options:
            opts.delValue(prefix + k)
    return ksp


class Linearised:
    """Jacobians of a :class:`femqled.device.Device` at its present state (``assemble`` refreshes them)."""

    def __init__(self, dev, prefix: str):
        self.dev = dev
        self.prefix = prefix
        self.form = dev.newton.J_form
        self.Kf = compat.create_matrix(self.form)            # unconstrained (the reactions)
        self.K = None                                        # with identity Dirichlet rows (the system)
        self._ksp = None
        nown = dev.S.dofmap.index_map.size_local
        a = dev.contacts.anode_dofs
        self.anode_owned = a[a < nown]
        self.dirichlet = np.unique(np.concatenate([compat.bc_dofs(bc) for bc in dev.contacts.bcs]))
        nloc, r0 = 3 * nown, dev.u.x.petsc_vec.getOwnershipRange()[0]
        self.dirichlet_owned = self.dirichlet[self.dirichlet < nloc]
        self.dirichlet_rows = (self.dirichlet_owned + r0).astype(PETSc.IntType)       # owned, global
        self.anode_all = np.concatenate([3 * a, 3 * a + 1, 3 * a + 2])
        self.lu_opts = lu_options(dev.case["solver"]["linear_solver"])

    def assemble(self) -> None:
        """Kf and K at the device's present state."""
        Kf = self.Kf
        Kf.zeroEntries()
        compat.assemble_matrix(Kf, self.form, bcs=[], diagonal=0.0)
        Kf.assemble()
        self.dev.fluxes.add_jacobian(Kf, full=True)
        if self.K is None:
            self.K = Kf.duplicate(copy=True)
            self.K.setOption(PETSc.Mat.Option.KEEP_NONZERO_PATTERN, True)
        else:
            Kf.copy(self.K, structure=PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
        self.K.zeroRowsColumns(self.dirichlet_rows, diag=1.0)

    def bias_step(self) -> PETSc.Vec:
        """A new vector: 1/V_t on the anode's Dirichlet dofs (psi, phi_n, phi_p), 0 elsewhere."""
        g = self.dev.u.x.petsc_vec.duplicate()
        with g.localForm() as gl:
            gl.set(0.0)
            gl.array[self.anode_all] = 1.0 / self.dev.sc.Vt
        return g

    def lu(self) -> PETSc.KSP | None:
        """A KSP solving with the LU factorisation of K as it is now (None where K cannot be factorised)."""
        try:
            self._ksp = lu_solver(self.K, self.prefix, self.lu_opts, self._ksp)
        except PETSc.Error:
            if self._ksp is not None:
                self._ksp.destroy()
            self._ksp = None
        return self._ksp

    def anode_rows(self, A: PETSc.Mat, x: PETSc.Vec) -> tuple[float, float]:
        """Local sums over this rank's owned anode nodes of (A x) in the carrier rows and in the psi rows (with
        A = Kf: the derivative of the anode's conduction current, scaled, and of its charge, along x). Not yet
        summed over ranks."""
        y = x.duplicate()
        try:
            A.mult(x, y)
            a = self.anode_owned
            r = y.array
            return float(r[3 * a + 1].sum() + r[3 * a + 2].sum()), float(r[3 * a].sum())
        finally:
            y.destroy()
