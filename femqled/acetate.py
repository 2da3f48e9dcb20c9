"""Acetate transport in the ZnO film, the interlayer and the Ag (MODEL.md sec. 4).

    da/dt = div(D S grad(a / S))                                  (neutral, the default)
    da/dt = div(D S (grad(a / S) + z (a / S) grad(psi / V_t)))    (charged, charge number z, Einstein mobility)

with material diffusivity D and solubility S (per region, DG0), so that a/S is continuous across ZnO/Ag while a
itself may jump. The unknown is c = a / S (continuous P1); a = S c. Units of this module: lengths in nm, time
in hours, concentrations in 1e21 cm^-3 (``A0_CM3``). Backward Euler in time (first order; the issue's
time-step test measures it), with the storage term mass-lumped (vertex quadrature): with the consistent mass a
step much shorter than h^2 / D undershoots ahead of a front (-4 % of the peak on the default mesh's first
ageing step); lumped, it stays non-negative on these meshes (``tests/test_acetate.py``). The total inventory
is the same sum either way and is conserved exactly. Lateral sides, the bottom of the ZnO film and the top of
the modelled Ag are zero-flux unless a fixed concentration is given on a facet set.

A charged species (``set_potential``) is solved in the Slotboom variable c^ = c e^{z psi / V_t}: the flux is
D S e^{-z psi/V_t} grad c^, so a zero-flux equilibrium is exactly Boltzmann, c ~ e^{-z psi / V_t}, at the
nodes. psi is frozen during a step (taken from the electrical state at its start; in the metal, the value at
the interface: a metal has no field).
The driving kinetics (current-activated, thermal, field) are applied by :mod:`femqled.ageing`.
"""

from __future__ import annotations

import numpy as np
import ufl
from dolfinx import fem, la
from dolfinx.fem import petsc as fem_petsc
from mpi4py import MPI
from petsc4py import PETSc

from femqled import compat, heterojunction
from femqled.mesh import device_mesh, owned_cell_vertices
from femqled.snes import lu_options

A0_CM3 = 1e21
CM2_S_TO_NM2_H = 1e14 * 3600.0


class AcetateTransport:
    """Acetate on the "acetate" part of a case's mesh (last layer, interlayer, Ag and trenches)."""

    def __init__(self, case: dict, comm=MPI.COMM_WORLD):
        self.case = case
        self.comm = comm
        self.lib = heterojunction.case_library(case)
        self.dm = device_mesh(case, comm, part="acetate")
        mesh = self.dm.mesh
        self.V = fem.functionspace(mesh, ("Lagrange", 1))
        Q = fem.functionspace(mesh, ("DG", 0))
        self.D, self.S, a0 = fem.Function(Q), fem.Function(Q), fem.Function(Q)
        for region in self.dm.layout.parts["acetate"]:
            mat = self.lib[self.dm.layout.materials[region]]
            cells = self.dm.cells(region)
            # a material may give its diffusivity relative to its base's (a grain boundary: 100x the metal)
            D = float(mat.get("acetate_D_cm2s", 0.0)) * float(mat.get("acetate_D_factor", 1.0))
            self.D.x.array[cells] = D * CM2_S_TO_NM2_H
            self.S.x.array[cells] = float(mat.get("acetate_solubility", 1.0))
            a0.x.array[cells] = float(mat.get("acetate_initial_cm3", 0.0)) / A0_CM3
        for f in (self.D, self.S, a0):
            f.x.scatter_forward()
        self.D_base = self.D.x.array.copy()
        self._sample_rule = None           # points of samples(), built once
        self.metal_cells = np.concatenate([self.dm.cells(r) for r in self.dm.layout.parts["acetate"]
                                           if self.lib[self.dm.layout.materials[r]]["role"] == "metal"])
        self.c = fem.Function(self.V, name="acetate_over_S")
        self.c_old = fem.Function(self.V)
        nodal_max(self.c, a0.x.array / self.S.x.array)
        self.c_initial = self.c.x.array.copy()          # the pristine profile (rebuild, peel-off)
        touched = fem.Function(self.V)                  # 1 on nodes that touch a non-metal cell
        nonmetal = np.ones(len(self.D.x.array))
        nonmetal[self.metal_cells] = 0.0
        nodal_max(touched, nonmetal)
        self.metal_only_nodes = np.flatnonzero(touched.x.array < 0.5)
        self.t = 0.0                                   # hours
        self.exchanged = 0.0                           # amount that left through fixed facets (see fix)
        self._dt = fem.Constant(mesh, 1.0)
        self.z = 0                                     # charge number; nonzero after set_potential
        self.g = fem.Function(self.V)                  # Slotboom weight e^{-z psi / V_t} (1: neutral)
        self.g.x.array[:] = 1.0
        self.c_hat = fem.Function(self.V)
        self.bcs = []
        self._build()

    def _build(self):
        c, w = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
        dx, dxl = self.dm.dx(), self.dm.dx(lumped=True)
        self.a_form = fem.form(self.S * c * w * dxl
                               + self._dt * self.D * self.S * ufl.inner(ufl.grad(c), ufl.grad(w)) * dx)
        self.L_form = fem.form(self.S * self.c_old * w * dxl)
        # charged: the Slotboom variable, with the same lumped storage
        self.a_form_z = fem.form(self.S * self.g * c * w * dxl
                                 + self._dt * self.D * self.S * self.g * ufl.inner(ufl.grad(c), ufl.grad(w)) * dx)
        self.L_form_z = fem.form(self.S * self.c_old * w * dxl)
        self.A = compat.create_matrix(self.a_form)
        self.ksp = None                                 # created at the first step (LU options used then)
        self._assembled_dt = None

    def fix(self, facet_set: str, value_cm3: float) -> None:
        """Hold a/S at a fixed value (cm^-3, as a) on a facet set: a reservoir or, at 0, a sink (neutral species).
        The amount that leaves through it is accumulated in ``exchanged`` (1e21 cm^-3 nm^2, out positive)."""
        fdim = self.dm.mesh.topology.dim - 1
        dofs = fem.locate_dofs_topological(self.V, fdim, self.dm.facets(facet_set))
        self.bcs.append(fem.dirichletbc(PETSc.ScalarType(value_cm3 / A0_CM3), dofs, self.V))
        self._fixed_dofs = np.union1d(getattr(self, "_fixed_dofs", np.empty(0, dtype=np.int32)), dofs)
        self._assembled_dt = None

    def set_potential(self, z: int, psi_V) -> None:
        """Make the species charged (charge number z, e.g. -1 for acetate) in the electrostatic potential psi (V):
        an array of P1 nodal values of this mesh, or a function of the coordinates x -> (N,)."""
        from femqled.scaling import Scales

        Vt = Scales(self.case["temperature_K"]).Vt
        psi = fem.Function(self.V)
        if callable(psi_V):
            psi.interpolate(psi_V)
        else:
            psi.x.array[:] = psi_V
        self.z = int(z)
        self.g.x.array[:] = np.exp(-self.z * psi.x.array / Vt)
        self.g.x.scatter_forward()
        self._assembled_dt = None

    def reset_diffusivity(self) -> None:
        """D back to the parameter file's values (before the kinetics of a step are applied)."""
        self.D.x.array[:] = self.D_base
        self._assembled_dt = None

    def set_diffusivity_factor(self, factor: float) -> None:
        """Multiply D everywhere by ``factor`` (thermal activation), on top of any metal activation."""
        self.D.x.array[:] *= factor
        self._assembled_dt = None

    def set_metal_activation(self, factor_of_x) -> None:
        """Multiply D in the metal regions by ``factor_of_x(x)`` (x of each cell centre, nm): current activation."""
        mesh = self.dm.mesh
        tdim = mesh.topology.dim
        ncell = mesh.topology.index_map(tdim).size_local + mesh.topology.index_map(tdim).num_ghosts
        xc = mesh.geometry.x[compat.cell_nodes(mesh)[:ncell]].mean(axis=1)[:, 0]
        self.reset_diffusivity()
        cells = self.metal_cells
        self.D.x.array[cells] = self.D_base[cells] * factor_of_x(xc[cells])

    def samples(self, k: int = 8):
        """The acetate of the owned cells as k^2 points per cell (the centroids of the cell's k x k
        sub-triangles, a rule exact for the P1 a/S): point (x, y) (nm), region tag, amount (1e21 cm^-3 nm^2)
        and area (nm^2). Binning points rather than whole cells places each amount within h/k of where it is."""
        mesh = self.dm.mesh
        tdim = mesh.topology.dim
        n = mesh.topology.index_map(tdim).size_local
        if self._sample_rule is None or self._sample_rule[0] != k:
            bary = [((3 * i + 1) / (3 * k), (3 * j + 1) / (3 * k)) for i in range(k) for j in range(k - i)]
            bary += [((3 * i + 2) / (3 * k), (3 * j + 2) / (3 * k)) for i in range(k - 1) for j in range(k - 1 - i)]
            lam = np.array([(1.0 - a - b, a, b) for a, b in bary])             # (k^2, 3) barycentric weights
            X = owned_cell_vertices(mesh)                                      # (n, 3, 2)
            e1, e2 = X[:, 1] - X[:, 0], X[:, 2] - X[:, 0]
            area = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
            self._sample_rule = (k, lam, np.einsum("pv,cvd->cpd", lam, X).reshape(-1, 2),
                                 np.repeat(self.dm.region_ids()[:n], len(lam)),
                                 np.repeat(area / len(lam), len(lam)))
        _, lam, points, tags, weights = self._sample_rule
        c = self.c.x.array[self.V.dofmap.list[:n]]                               # (n, 3): P1 vertices
        a = (c @ lam.T) * self.S.x.array[:n, None]                              # (n, k^2)
        return points, tags, a.ravel() * weights, weights

    def _solver(self):
        if self.ksp is None:
            self.ksp = PETSc.KSP().create(self.comm)
            prefix = f"femqled_acetate_{id(self)}_"
            self.ksp.setOptionsPrefix(prefix)
            opts = PETSc.Options()
            for k, v in lu_options(self.case["solver"]["linear_solver"]).items():
                opts[prefix + k] = v
            self.ksp.setOperators(self.A)
            self.ksp.setFromOptions()
        return self.ksp

    def step(self, dt_h: float) -> None:
        """Advance by dt (hours), backward Euler."""
        self.c.x.petsc_vec.copy(self.c_old.x.petsc_vec)
        self.c_old.x.scatter_forward()
        charged = self.z != 0
        a_form, L_form = (self.a_form_z, self.L_form_z) if charged else (self.a_form, self.L_form)
        if self._assembled_dt != (dt_h, charged):
            self._dt.value = dt_h
            self.A.zeroEntries()
            fem_petsc.assemble_matrix(self.A, a_form, bcs=self.bcs)
            self.A.assemble()
            self._assembled_dt = (dt_h, charged)
        b = self.c.x.petsc_vec.duplicate()
        with b.localForm() as bl:
            bl.set(0.0)
        fem_petsc.assemble_vector(b, L_form)
        fem_petsc.apply_lifting(b, [a_form], bcs=[self.bcs])
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        compat.set_bc(b, self.bcs)
        target = self.c_hat if charged else self.c
        self._solver().solve(b, target.x.petsc_vec)
        target.x.scatter_forward()
        if charged:
            self.c.x.array[:] = self.g.x.array * self.c_hat.x.array
        b.destroy()
        if self.bcs:
            self.exchanged += self._reaction()
        self.t += dt_h

    def _reaction(self) -> float:
        """Amount that left through the fixed dofs in the last step: minus the residual of the balance
        S (c - c_old) + dt div(flux) there (the rows the Dirichlet conditions replaced)."""
        if not hasattr(self, "_res_form"):
            w = ufl.TestFunction(self.V)
            dx, dxl = self.dm.dx(), self.dm.dx(lumped=True)
            self._res_form = fem.form(self.S * (self.c - self.c_old) * w * dxl
                                      + self._dt * self.D * self.S * ufl.inner(ufl.grad(self.c), ufl.grad(w)) * dx)
        r = fem.assemble_vector(self._res_form)
        r.scatter_reverse(la.InsertMode.add)
        nown = self.V.dofmap.index_map.size_local
        d = self._fixed_dofs[self._fixed_dofs < nown]
        return -self.comm.allreduce(float(r.array[d].sum()), op=MPI.SUM)

    def lumped_inventory(self) -> float:
        """Integral of a with vertex quadrature (the amount the charged transport conserves)."""
        form = fem.form(self.S * self.c * self.dm.dx(lumped=True))
        return self.comm.allreduce(fem.assemble_scalar(form), op=MPI.SUM)

    # ---------------------------------------------------------------------------------------------------------
    def inventory(self, *regions: str) -> float:
        """Amount of acetate per unit depth, integral of a over the regions (1e21 cm^-3 nm^2; all if none)."""
        form = fem.form(self.S * self.c * self.dm.dx(*regions))
        return self.comm.allreduce(fem.assemble_scalar(form), op=MPI.SUM)

    def density(self) -> fem.Function:
        """a in cm^-3 as a DG0-times-P1 field interpolated to discontinuous P1."""
        D1 = fem.functionspace(self.dm.mesh, ("Discontinuous Lagrange", 1))
        a = fem.Function(D1, name="acetate_cm3")
        a.interpolate(fem.Expression(self.S * self.c * A0_CM3, _points(D1)))
        return a


def nodal_max(func, cell_values: np.ndarray) -> None:
    """Set a P1 function from per-cell values (local + ghost cells): each node takes the largest value of the
    cells around it. A discontinuous initial profile (the acetate-rich interlayer next to acetate-free Ag) has
    no unique nodal value at an interface; this rule keeps the pile-up at the interface node, and - unlike an
    interpolation, where the last cell visited wins - it does not depend on the partition or the rank count."""
    V = func.function_space
    mesh = V.mesh
    tdim = mesh.topology.dim
    ncell = mesh.topology.index_map(tdim).size_local + mesh.topology.index_map(tdim).num_ghosts
    dofs = V.dofmap.list[:ncell]
    vals = np.full(func.x.array.shape, -np.inf)
    np.maximum.at(vals, dofs.ravel(), np.repeat(cell_values[:ncell], dofs.shape[1]))
    vec = func.x.petsc_vec
    with vec.localForm() as loc:
        loc.array[:] = vals
    vec.ghostUpdate(addv=PETSc.InsertMode.MAX_VALUES, mode=PETSc.ScatterMode.REVERSE)
    vec.ghostUpdate(addv=PETSc.InsertMode.INSERT_VALUES, mode=PETSc.ScatterMode.FORWARD)


def _points(space):
    ip = space.element.interpolation_points
    return ip() if callable(ip) else ip
