"""Acetate transport in the ZnO film, the interlayer and the Ag (MODEL.md sec. 4): plain thermal diffusion.

    da/dt = div(D S grad(a / S))

with material diffusivity D and solubility S (per region, DG0), so that a/S is continuous across ZnO/Ag while a
itself may jump. The unknown is c = a / S (continuous P1); a = S c. Units of this module: lengths in nm, time
in hours, concentrations in 1e21 cm^-3 (``A0_CM3``). Backward Euler in time (first order; the issue's
time-step test measures it). Lateral sides, the bottom of the ZnO film and the top of the modelled Ag are
zero-flux unless a fixed concentration is given on a facet set.

Still to come (issue 5): the field-driven, current-activated and Arrhenius kinetics, the contact state theta(s)
and its coupling to the cathode barrier, adaptive steps, checkpoints.
"""

from __future__ import annotations

import numpy as np
import ufl
from dolfinx import fem, la
from dolfinx.fem import petsc as fem_petsc
from mpi4py import MPI
from petsc4py import PETSc

from femqled import compat, materials
from femqled.mesh import device_mesh

A0_CM3 = 1e21
CM2_S_TO_NM2_H = 1e14 * 3600.0


class AcetateTransport:
    """Acetate on the "acetate" part of a case's mesh (last layer, interlayer, Ag and trenches)."""

    def __init__(self, case: dict, comm=MPI.COMM_WORLD):
        self.case = case
        self.comm = comm
        self.lib = materials.library(case["materials"])
        self.dm = device_mesh(case, comm, part="acetate")
        mesh = self.dm.mesh
        self.V = fem.functionspace(mesh, ("Lagrange", 1))
        Q = fem.functionspace(mesh, ("DG", 0))
        self.D, self.S, a0 = fem.Function(Q), fem.Function(Q), fem.Function(Q)
        for region in self.dm.layout.parts["acetate"]:
            mat = self.lib[self.dm.layout.materials[region]]
            cells = self.dm.cells(region)
            self.D.x.array[cells] = float(mat.get("acetate_D_cm2s", 0.0)) * CM2_S_TO_NM2_H
            self.S.x.array[cells] = float(mat.get("acetate_solubility", 1.0))
            a0.x.array[cells] = float(mat.get("acetate_initial_cm3", 0.0)) / A0_CM3
        for f in (self.D, self.S, a0):
            f.x.scatter_forward()
        self.D_base = self.D.x.array.copy()
        self.metal_cells = np.concatenate([self.dm.cells(r) for r in self.dm.layout.parts["acetate"]
                                           if self.lib[self.dm.layout.materials[r]]["role"] == "metal"])
        self.c = fem.Function(self.V, name="acetate_over_S")
        self.c_old = fem.Function(self.V)
        self.c.interpolate(fem.Expression(a0 / self.S, _points(self.V)))
        self.c.x.scatter_forward()
        self.t = 0.0                                   # hours
        self._dt = fem.Constant(mesh, 1.0)
        self.bcs = []
        self._build()

    def _build(self):
        c, w = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
        dx = self.dm.dx()
        self.a_form = fem.form(self.S * c * w * dx + self._dt * self.D * self.S * ufl.inner(ufl.grad(c), ufl.grad(w)) * dx)
        self.L_form = fem.form(self.S * self.c_old * w * dx)
        self.A = compat.create_matrix(self.a_form)
        self.ksp = PETSc.KSP().create(self.comm)
        self.ksp.setOperators(self.A)
        self.ksp.setType("preonly")
        self.ksp.getPC().setType("lu")
        self.ksp.getPC().setFactorSolverType("mumps")
        self._assembled_dt = None

    def fix(self, facet_set: str, value_cm3: float) -> None:
        """Hold a/S at a fixed value (cm^-3, as a) on a facet set: a reservoir (verification, rebuild)."""
        fdim = self.dm.mesh.topology.dim - 1
        dofs = fem.locate_dofs_topological(self.V, fdim, self.dm.facets(facet_set))
        self.bcs.append(fem.dirichletbc(PETSc.ScalarType(value_cm3 / A0_CM3), dofs, self.V))
        self._assembled_dt = None

    def set_metal_activation(self, factor_of_x) -> None:
        """Multiply D in the metal regions by ``factor_of_x(x)`` (x of each cell centre, nm): current activation."""
        mesh = self.dm.mesh
        tdim = mesh.topology.dim
        ncell = mesh.topology.index_map(tdim).size_local + mesh.topology.index_map(tdim).num_ghosts
        xc = mesh.geometry.x[mesh.geometry.dofmap[:ncell]].mean(axis=1)[:, 0]
        self.D.x.array[:] = self.D_base
        cells = self.metal_cells
        self.D.x.array[cells] = self.D_base[cells] * factor_of_x(xc[cells])
        self._assembled_dt = None

    def cell_amounts(self):
        """Per owned cell: centre (x, y), region tag and amount of acetate in it (1e21 cm^-3 nm^2)."""
        mesh = self.dm.mesh
        tdim = mesh.topology.dim
        n = mesh.topology.index_map(tdim).size_local
        Q = self.D.function_space
        v = ufl.TestFunction(Q)
        b = fem.assemble_vector(fem.form(self.S * self.c * v * ufl.dx(domain=mesh)))
        b.scatter_reverse(la.InsertMode.add)
        centres = mesh.geometry.x[mesh.geometry.dofmap[:n]].mean(axis=1)[:, :2]
        amounts = b.array[Q.dofmap.list[:n].ravel()]
        tags = np.zeros(mesh.topology.index_map(tdim).size_local + mesh.topology.index_map(tdim).num_ghosts, int)
        tags[self.dm.cell_tags.indices] = self.dm.cell_tags.values
        return centres, tags[:n], amounts

    def step(self, dt_h: float) -> None:
        """Advance by dt (hours), backward Euler."""
        self.c.x.petsc_vec.copy(self.c_old.x.petsc_vec)
        self.c_old.x.scatter_forward()
        if self._assembled_dt != dt_h:
            self._dt.value = dt_h
            self.A.zeroEntries()
            fem_petsc.assemble_matrix(self.A, self.a_form, bcs=self.bcs)
            self.A.assemble()
            self._assembled_dt = dt_h
        b = self.c.x.petsc_vec.duplicate()
        with b.localForm() as bl:
            bl.set(0.0)
        fem_petsc.assemble_vector(b, self.L_form)
        fem_petsc.apply_lifting(b, [self.a_form], bcs=[self.bcs])
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        compat.set_bc(b, self.bcs)
        self.ksp.solve(b, self.c.x.petsc_vec)
        self.c.x.scatter_forward()
        b.destroy()
        self.t += dt_h

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


def _points(space):
    ip = space.element.interpolation_points
    return ip() if callable(ip) else ip
