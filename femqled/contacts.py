"""Boundary conditions at the contacts (MODEL.md sec. 3, "Contacts").

Anode (y = 0, bottom of the first layer), ohmic: psi from charge neutrality, phi_n = phi_p = V (Dirichlet).

Cathode (the rough interlayer/Ag interface), either
- ohmic: psi from neutrality, phi_n = phi_p = 0; or
- thermionic emission (default): psi = -chi - Phi_B(s) (the metal Fermi level is the reference, phi = 0), and
  Robin conditions on the carriers: outward particle fluxes v_n (n - n0) and v_p (p - p0) with
  n0 = Nc exp(-Phi_B / kT), p0 = Nv exp(-(Eg - Phi_B) / kT) and v = A* T^2 / (q N), the thermionic velocity.
  The barrier Phi_B(s) is a P1 function on the mesh (only its cathode values matter): ageing sets it per point.
"""

from __future__ import annotations

import math

import numpy as np
from dolfinx import fem

from femqled.errors import InputError
from femqled.scaling import KB, Q
from femqled.semiconductor import neutral_potential


class Contacts:
    def __init__(self, device):
        self.dev = device
        dm, case, sc = device.dm, device.case, device.sc
        self.cfg = case["contacts"]
        fdim = dm.mesh.topology.dim - 1
        V, S = device.V_space, device.S
        stack = dm.layout.stack
        self.anode_region, self.cathode_region = stack[0], stack[-1]
        self.anode_vals = device.mat.values[self.anode_region]
        self.cathode_vals = device.mat.values[self.cathode_region]

        anode_facets = dm.facets("anode")
        cathode_facets = dm.facets("cathode")
        self.anode_dofs = fem.locate_dofs_topological(S, fdim, anode_facets)
        self.cathode_dofs = fem.locate_dofs_topological(S, fdim, cathode_facets)

        def dofs(i, facets):
            return fem.locate_dofs_topological((V.sub(i), S), fdim, facets)

        self.psi_anode = fem.Function(S)
        self.phi_anode = fem.Function(S)
        self.bcs = [fem.dirichletbc(self.psi_anode, dofs(0, anode_facets), V.sub(0)),
                    fem.dirichletbc(self.phi_anode, dofs(1, anode_facets), V.sub(1)),
                    fem.dirichletbc(self.phi_anode, dofs(2, anode_facets), V.sub(2))]

        # cathode barrier (eV) as a P1 function; psi at the cathode follows it
        self.kind = self.cfg["cathode"]
        lib = device.lib
        metal = lib[dm.layout.materials[dm.layout.groups["cathode"][0].split("/")[1]]]
        il_mat = lib[dm.layout.materials[self.cathode_region]]
        default_barrier = float(metal.get("work_function_eV", 4.3)) - float(il_mat.get("electron_affinity_eV", 0))
        barrier0 = self.cfg["cathode_barrier_eV"]
        self.barrier0_eV = default_barrier if barrier0 is None else barrier0
        self.barrier = fem.Function(S, name="cathode_barrier_eV")
        self.barrier.x.array[:] = self.barrier0_eV
        self.psi_cathode = fem.Function(S)
        self.phi_cathode = fem.Function(S)
        self.ds_cathode = None
        if self.kind == "ohmic":
            self.psi_cathode.x.array[:] = neutral_potential(self.cathode_vals, 0.0, 0.0)
            self.bcs += [fem.dirichletbc(self.psi_cathode, dofs(0, cathode_facets), V.sub(0)),
                         fem.dirichletbc(self.phi_cathode, dofs(1, cathode_facets), V.sub(1)),
                         fem.dirichletbc(self.phi_cathode, dofs(2, cathode_facets), V.sub(2))]
        else:
            self.ds_cathode = dm.ds("cathode", lumped=True)
            self.bcs.append(fem.dirichletbc(self.psi_cathode, dofs(0, cathode_facets), V.sub(0)))
            T = device.case["temperature_K"]
            A = self.cfg["richardson_A_cm2K2"] * 1e4                     # A m^-2 K^-2
            Nc = math.exp(self.cathode_vals["lnNc"]) * sc.N0              # m^-3
            Nv = math.exp(self.cathode_vals["lnNv"]) * sc.N0
            self.v_n = A * T * T / (Q * Nc) / sc.v0                       # scaled
            self.v_p = A * T * T / (Q * Nv) / sc.v0
            self.update_barrier()

    # ---------------------------------------------------------------------------------------------------------
    def set_bias(self, V: float) -> None:
        """Anode Fermi level at V (volts) above the cathode's."""
        phi = self.dev.sc.potential(V)
        self.phi_anode.x.array[:] = phi
        self.psi_anode.x.array[:] = neutral_potential(self.anode_vals, phi, phi)

    def set_barrier(self, value) -> None:
        """Cathode barrier Phi_B (eV): a number, or a function of the coordinates x (shape (3, N)) -> (N,)."""
        if callable(value):
            self.barrier.interpolate(value)
        else:
            self.barrier.x.array[:] = float(value)
        self.update_barrier()

    def update_barrier(self) -> None:
        if self.kind == "ohmic":
            raise InputError("contacts.cathode", "an ohmic cathode has no barrier; use 'thermionic'")
        sc = self.dev.sc
        chi = self.cathode_vals["chi"]
        self.psi_cathode.x.array[:] = -chi - self.barrier.x.array / sc.Vt
        self.psi_cathode.x.scatter_forward()

    def cathode_fluxes(self, n, p):
        """Outward particle fluxes (scaled) of electrons and holes at the cathode (UFL), or (0, 0) if ohmic."""
        if self.kind == "ohmic":
            return 0, 0
        import ufl

        m, sc = self.dev.mat, self.dev.sc
        phiB = self.barrier / sc.Vt
        hole_barrier = self.cfg["hole_barrier_eV"]
        n0 = ufl.exp(m.lnNc - phiB)
        p0 = ufl.exp(m.lnNv - (m.Eg - phiB) if hole_barrier is None else m.lnNv - hole_barrier / sc.Vt)
        return self.v_n * (n - n0), self.v_p * (p - p0)
