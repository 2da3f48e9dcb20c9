"""Exponentially fitted carrier fluxes: the edge-averaged finite element (EAFE) form of Scharfetter-Gummel.

Galerkin P1 on quasi-Fermi potentials cannot represent the exponential boundary layers of drift-diffusion (a
carrier crossing a band offset into a layer where it recombines). EAFE (Xu & Zikatanov, Math. Comp. 68, 1999)
integrates the flux exactly along each edge of each triangle, as Scharfetter-Gummel does in 1D, and gives an
M-matrix on triangulations without obtuse angle pairs. With n = N e^psi e^-phi_n (N = Nc e^chi, scaled):

    mu_n n grad phi_n = -mu_n N e^psi grad(e^-phi_n),

and the Galerkin term (mu_n n grad phi_n, grad lambda_i)_T becomes a sum over the edges ij of triangle T of

    mu_n omega_ij G_ij,   G_ij = n_m B(d) (-2 sinh(D/2)),   B(d) = (d/2) / sinh(d/2),

with omega_ij = cot(theta_k)/2 the P1 stiffness weight of the edge (theta_k the angle opposite it),
d = psi_j - psi_i, D = phi_j - phi_i and n_m = N exp((psi_i + psi_j)/2 - (phi_i + phi_j)/2) the density at the
edge midpoint. Holes alike, with p = P e^-psi e^phi_p: G^p_ij = -p_m B(d) 2 sinh(D_p/2). Each triangle uses its
own material (N, P, mu), so heterojunction offsets are exact at shared nodes. Where a material has single-level
statistics (:mod:`femqled.statistics`), psi in d and in n_m is the effective potential psi + ln g(eta_n) (holes:
psi - ln g(eta_p)) at each node, with that triangle's band edges. Everything is evaluated in log
form (no overflow, no cancellation for small differences).

Assembly is vectorised over the locally owned cells; the residual is added to the local (ghosted) vector before
DOLFINx's reverse scatter, and the Jacobian summed per matrix entry (the pattern is fixed at set-up) and added
to the DOLFINx matrix, whose sparsity contains every mesh edge, row by row (4x faster than entry by entry).
"""

from __future__ import annotations

import numpy as np
from petsc4py import PETSc

from femqled import compat, statistics

_EDGES = np.array([[0, 1, 2], [1, 2, 0], [2, 0, 1]])   # (i, j, opposite k) per local edge


def _log_B(d):
    """log B(d) = log((d/2) / sinh(d/2)), even in d, stable for all d."""
    a = np.abs(d) / 2
    small = a < 1e-4
    big = np.where(small, 1.0, a)
    logsinh = big + np.log1p(-np.exp(-2 * big)) - np.log(2.0)
    return np.where(small, -a * a / 6, np.log(big) - logsinh)


def _dlog_B(d):
    """d/dd log B(d) = 1/d - coth(d/2)/2, odd in d."""
    small = np.abs(d) < 1e-4
    dd = np.where(small, 1.0, d)
    return np.where(small, -d / 12, 1 / dd - 0.5 / np.tanh(dd / 2))


def _log_2sinh_abs(x):
    """log(2 sinh(|x|)) (-inf at 0)."""
    a = np.abs(x)
    with np.errstate(divide="ignore"):
        return np.where(a > 0, a + np.log1p(-np.exp(-2 * np.maximum(a, 1e-300))), -np.inf)


def _log_cosh(x):
    a = np.abs(x)
    return a + np.log1p(np.exp(-2 * a)) - np.log(2.0)


class EdgeFluxes:
    """EAFE electron and hole flux terms of the continuity equations of a :class:`femqled.device.Device`."""

    def __init__(self, device):
        V = device.V_space
        mesh = device.mesh
        tdim = mesh.topology.dim
        self.u = device.u
        ncell = mesh.topology.index_map(tdim).size_local
        dofs = V.dofmap.list[:ncell]                                   # block (node) indices, (ncell, 3)
        X = V.tabulate_dof_coordinates()[:, :2]
        m = device.mat
        mun, mup = m.mun.x.array[:ncell], m.mup.x.array[:ncell]
        lnN = (m.chi.x.array + m.lnNc.x.array)[:ncell]                 # n = exp(lnN + psi - phi_n)
        lnP = (-m.chi.x.array - m.Eg.x.array + m.lnNv.x.array)[:ncell]  # p = exp(lnP - psi + phi_p)

        i = dofs[:, _EDGES[:, 0]].ravel()
        j = dofs[:, _EDGES[:, 1]].ravel()
        k = dofs[:, _EDGES[:, 2]].ravel()
        a, b = X[i] - X[k], X[j] - X[k]
        cross = np.abs(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0])
        omega = 0.5 * np.einsum("ij,ij->i", a, b) / cross            # cot(theta_k) / 2
        self.i, self.j = i, j
        self.cn = np.repeat(mun, 3) * omega
        self.cp = np.repeat(mup, 3) * omega
        self.lnN = np.repeat(lnN, 3)
        self.lnP = np.repeat(lnP, 3)
        self.level = None                       # single-level statistics (femqled.statistics): per edge,
        if m.single_level:                      # the switch and the band-edge part of eta_n and eta_p
            self.level = np.repeat(m.level.x.array[:ncell], 3)
            self.eta0_n = np.repeat(m.chi.x.array[:ncell], 3)                    # eta_n = psi - phi_n + chi
            self.eta0_p = np.repeat(-(m.chi.x.array + m.Eg.x.array)[:ncell], 3)  # eta_p = -(psi - phi_p) - chi - Eg
        self.min_omega = float(omega.min()) if omega.size else 0.0

        # COO pattern of the Jacobian: per edge, electron rows (i, j) x cols (psi_i, psi_j, phin_i, phin_j),
        # hole rows x (psi_i, psi_j, phip_i, phip_j): 16 entries per edge
        imap = V.dofmap.index_map
        gblock = imap.local_to_global(np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32))

        def glob(block, comp):
            return 3 * gblock[block] + comp

        rows, cols, lrows, lcols = [], [], [], []
        for comp in (1, 2):
            for r in (i, j):
                for c_block, c_comp in ((i, 0), (j, 0), (i, comp), (j, comp)):
                    rows.append(glob(r, comp))
                    cols.append(glob(c_block, c_comp))
                    lrows.append(3 * r + comp)
                    lcols.append(3 * c_block + c_comp)
        self.rows = np.concatenate(rows).astype(PETSc.IntType)
        self.cols = np.concatenate(cols).astype(PETSc.IntType)
        bc_mask = np.zeros(3 * (imap.size_local + imap.num_ghosts), dtype=bool)
        for bc in device.contacts.bcs:
            bc_mask[compat.bc_dofs(bc)] = True
        self.keep = ~(bc_mask[np.concatenate(lrows)] | bc_mask[np.concatenate(lcols)])
        self._insertion(3 * imap.local_range[0], 3 * imap.local_range[1], 3 * imap.size_global)

    def _insertion(self, r0: int, r1: int, N: int) -> None:
        """How the 16 entries per edge reach the matrix: summed per (row, column) once here, the owned rows as
        one CSR block (one MatSetValues per row, in C), the few rows of other ranks by (row, column, value)."""
        rows, cols = self.rows.astype(np.int64), self.cols.astype(np.int64)
        self.owned = (rows >= r0) & (rows < r1)
        key, self.own_slot = np.unique((rows[self.owned] - r0) * N + cols[self.owned], return_inverse=True)
        counts = np.bincount(key // N, minlength=r1 - r0)
        self.csr = (np.concatenate([[0], np.cumsum(counts)]).astype(PETSc.IntType), (key % N).astype(PETSc.IntType))
        key, self.off_slot = np.unique(rows[~self.owned] * N + cols[~self.owned], return_inverse=True)
        self.off_rc = ((key // N).astype(PETSc.IntType).reshape(-1, 1), (key % N).astype(PETSc.IntType).reshape(-1, 1))

    # -----------------------------------------------------------------------------------------------------------
    def _edge_terms(self):
        u = self.u.x.array
        psi_i, psi_j = u[3 * self.i], u[3 * self.j]
        shared = self.level is None             # Boltzmann everywhere: one Bernoulli term for both carriers
        if shared:
            d = psi_j - psi_i
            psi_m = 0.5 * (psi_i + psi_j)
            lB, dlB = _log_B(d), _dlog_B(d)
        out = []
        for comp, lnD, coef, sign in ((1, self.lnN, self.cn, 1.0), (2, self.lnP, self.cp, -1.0)):
            f_i, f_j = u[3 * self.i + comp], u[3 * self.j + comp]
            if not shared:
                # the effective potential psi* = psi + sign ln g(eta) in place of psi (femqled.statistics)
                eta0 = self.eta0_n if comp == 1 else self.eta0_p
                eta_i, eta_j = sign * (psi_i - f_i) + eta0, sign * (psi_j - f_j) + eta0
                s_i, s_j = self.level * statistics.dln_g(eta_i), self.level * statistics.dln_g(eta_j)
                ps_i = psi_i + sign * self.level * statistics.ln_g(eta_i)
                ps_j = psi_j + sign * self.level * statistics.ln_g(eta_j)
                d = ps_j - ps_i
                psi_m = 0.5 * (ps_i + ps_j)
                lB, dlB = _log_B(d), _dlog_B(d)
            D = f_j - f_i
            f_m = 0.5 * (f_i + f_j)
            lndens = lnD + sign * (psi_m - f_m)                        # log n_m or log p_m
            # G = -dens_m B(d) 2 sinh(D/2)  (electrons and holes alike)
            G = -np.sign(D) * np.exp(lndens + lB + _log_2sinh_abs(D / 2))
            C = np.exp(lndens + lB + _log_cosh(D / 2))                  # dens_m B(d) cosh(D/2)
            # derivatives w.r.t. psi_i, psi_j, f_i, f_j (psi*: d psi*/d psi = 1 + s, d psi*/d f = -s)
            dpsi_i = sign * G / 2 - G * dlB
            dpsi_j = sign * G / 2 + G * dlB
            df_i = -sign * G / 2 + C
            df_j = -sign * G / 2 - C
            if not shared:
                df_i, df_j = df_i - dpsi_i * s_i, df_j - dpsi_j * s_j
                dpsi_i, dpsi_j = dpsi_i * (1 + s_i), dpsi_j * (1 + s_j)
            out.append((comp, coef, G, (dpsi_i, dpsi_j, df_i, df_j)))
        return out

    def add_residual(self, b_local: np.ndarray) -> None:
        """Add the flux terms to a local (ghosted) residual array."""
        for comp, coef, G, _ in self._edge_terms():
            r = coef * G
            np.add.at(b_local, 3 * self.i + comp, r)
            np.add.at(b_local, 3 * self.j + comp, -r)

    def jacobian_values(self, full: bool = False) -> np.ndarray:
        vals = []
        for comp, coef, G, derivs in self._edge_terms():
            for sgn in (1.0, -1.0):                  # row i: +coef dG, row j: -coef dG
                for dG in derivs:
                    vals.append(sgn * coef * dG)
        v = np.concatenate(vals)
        if not full:
            v[~self.keep] = 0.0
        return v

    def add_jacobian(self, A, full: bool = False) -> None:
        """Add the flux Jacobian to an assembled matrix (global indices; PETSc sends off-process rows).
        ``full``: also the rows and columns of Dirichlet dofs (the unconstrained Jacobian, for reactions);
        otherwise those entries add 0 (DOLFINx has set the Dirichlet rows and columns)."""
        vals = self.jacobian_values(full=full)
        add = PETSc.InsertMode.ADD_VALUES
        own = np.bincount(self.own_slot, weights=vals[self.owned], minlength=self.csr[1].size)
        A.setValuesCSR(*self.csr, own, addv=add)
        if self.off_slot.size:
            off = np.bincount(self.off_slot, weights=vals[~self.owned], minlength=self.off_rc[0].size)
            A.setValuesRCV(*self.off_rc, off.reshape(-1, 1), addv=add)
        A.assemble()
