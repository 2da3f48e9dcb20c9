"""Boundary conditions at the contacts (MODEL.md sec. 3, "Contacts").

Anode (y = 0, bottom of the first layer), ohmic: psi from charge neutrality, phi_n = phi_p = V (Dirichlet).

Cathode (the rough interlayer/Ag interface), either
- ohmic: psi from neutrality, phi_n = phi_p = 0; or
- thermionic emission (default): psi = -chi - Phi_B(s) (the metal Fermi level is the reference, phi = 0), and
  Robin conditions on the carriers: outward particle fluxes v_n (n - n0) and v_p (p - p0) with
  n0 = Nc exp(-Phi_B / kT), p0 = Nv exp(-(Eg - Phi_B) / kT) and v = A* T^2 / (q N), the thermionic velocity.
  The barrier Phi_B(s) is a P1 function on the mesh (only its cathode values matter): ageing sets it per point.
- thermionic through an interfacial layer (``contacts.interfacial_layer_nm`` = d_i > 0; Bardeen / Card-Rhoderick):
  a thin insulating layer (acetate, eps_i) between the semiconductor and the metal takes part of the voltage.
  psi is no longer fixed at the cathode: the layer is a capacitance C_i = eps_i / d_i per area,

      eps_s d(psi)/d(nu) = C_i (psi_m - psi),      psi_m = -chi - Phi_B / V_t   (Robin on psi),

  and carriers cross it by thermionic emission times a tunnelling transmission T = exp(-2 kappa d_i),
  kappa = sqrt(2 m0 E_i) / hbar (E_i the tunnel barrier), towards the metal's Fermi level:
  outward fluxes T v_n (n - n0(psi_s)), n0(psi_s) = Nc exp(psi_s + chi) (the density in equilibrium with the
  metal at the present surface band edge), likewise for holes. d_i -> 0 recovers the plain thermionic contact.
  The voltage across the layer lowers the barrier as the bias rises, so the ideality factor grows with
  d_i / eps_i (Card & Rhoderick, J. Phys. D 4, 1589, 1971). ``d_i(s)`` is a P1 function: ageing may grow it.
- image-force barrier lowering (``contacts.image_force_lowering``, Schottky effect; Sze & Ng sec. 3.2.4): the
  field E_n = -grad(psi).nu that pulls electrons away from the metal lowers the barrier maximum by
  dPhi = sqrt(q E_n / (4 pi eps_s)) (0.13 eV at 1 MV/cm in ZnO). Emission over the lowered maximum goes both
  ways, so it multiplies the thermionic velocity: outward flux v_n exp(dPhi/kT) (n - n0), which keeps
  equilibrium current-free and raises the saturation current by exp(dPhi/kT). Off by default: the drift-
  diffusion density at the contact plane is still n0 (no image potential in the bands), so it does not lift
  the injection limit of a high barrier.
"""

from __future__ import annotations

import math

import numpy as np
from dolfinx import fem

from femqled.errors import InputError
from femqled import materials
from femqled.scaling import EPS0, H, M0, Q
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
        if self.cathode_vals["level"] > 0 and self.cfg["cathode"] != "ohmic":
            name = dm.layout.materials[self.cathode_region]
            raise InputError(f"materials.{name}.statistics", f"layer {self.cathode_region!r} lies under a thermionic "
                                                             "cathode, whose law assumes Boltzmann statistics; allowed "
                                                             "there: 'boltzmann' (single-level: interior layers or "
                                                             "next to an ohmic contact)")

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
        metal_name = dm.layout.materials[dm.layout.groups["cathode"][0].split("/")[1]]
        metal, il_mat = lib[metal_name], lib[dm.layout.materials[self.cathode_region]]
        barrier0 = self.cfg["cathode_barrier_eV"]
        if barrier0 is None and self.kind == "ohmic" and "work_function_eV" not in metal:
            barrier0 = 0.0              # unused: an ohmic cathode fixes psi from neutrality
        if barrier0 is None:
            if "work_function_eV" not in metal:
                raise InputError(f"materials.{metal_name}.work_function_eV", "is required for the cathode's "
                                                                            "barrier (eV; or give "
                                                                            "contacts.cathode_barrier_eV)")
            barrier0 = float(metal["work_function_eV"]) - float(il_mat.get("electron_affinity_eV", 0))
        self.barrier0_eV = barrier0
        self.barrier = fem.Function(S, name="cathode_barrier_eV")
        self.barrier.x.array[:] = self.barrier0_eV
        self.psi_cathode = fem.Function(S)
        self.phi_cathode = fem.Function(S)
        self.ds_cathode = None
        self.d_i0 = float(self.cfg["interfacial_layer_nm"])
        self.interfacial = self.d_i0 > 0
        self.d_i = fem.Function(S, name="interfacial_layer_nm")
        self.d_i.x.array[:] = self.d_i0
        if self.interfacial and self.kind != "thermionic":
            raise InputError("contacts.interfacial_layer_nm", "an interfacial layer needs contacts.cathode = "
                                                              "'thermionic'; allowed with 'ohmic': 0")
        model = materials.model_parameters(case["model"])
        self.eps_i = float(model["interfacial_eps_r"])
        E_i = float(model["interfacial_tunnel_barrier_eV"])
        self.two_kappa_nm = 2 * math.sqrt(2 * M0 * E_i * Q) / (H / (2 * math.pi)) * 1e-9     # 1/nm
        if self.kind == "ohmic":
            self.psi_cathode.x.array[:] = neutral_potential(self.cathode_vals, 0.0, 0.0)
            self.bcs += [fem.dirichletbc(self.psi_cathode, dofs(0, cathode_facets), V.sub(0)),
                         fem.dirichletbc(self.phi_cathode, dofs(1, cathode_facets), V.sub(1)),
                         fem.dirichletbc(self.phi_cathode, dofs(2, cathode_facets), V.sub(2))]
        else:
            self.ds_cathode = dm.ds("cathode", lumped=True)
            if not self.interfacial:
                self.bcs.append(fem.dirichletbc(self.psi_cathode, dofs(0, cathode_facets), V.sub(0)))
            T = device.case["temperature_K"]
            A = self.cfg["richardson_A_cm2K2"] * 1e4                     # A m^-2 K^-2
            Nc = math.exp(self.cathode_vals["lnNc"]) * sc.N0              # m^-3
            Nv = math.exp(self.cathode_vals["lnNv"]) * sc.N0
            self.v_n = A * T * T / (Q * Nc) / sc.v0                       # scaled
            self.v_p = A * T * T / (Q * Nv) / sc.v0
            eps_s = device.mat.values[self.cathode_region]["eps"]
            # dPhi / V_t = beta sqrt(E_n) with E_n in V_t / nm
            self.image_beta = math.sqrt(Q / (4 * math.pi * EPS0 * eps_s * 1e-9 * sc.Vt))
            self.image_force = bool(self.cfg["image_force_lowering"])
            self.update_barrier()

    # ---------------------------------------------------------------------------------------------------------
    def set_bias(self, V: float) -> None:
        """Anode Fermi level at V (volts) above the cathode's."""
        phi = self.dev.sc.potential(V)
        self.phi_anode.x.array[:] = phi
        self.psi_anode.x.array[:] = neutral_potential(self.anode_vals, phi, phi)

    def set_interfacial_layer(self, value) -> None:
        """Interfacial-layer thickness d_i (nm, > 0): a number, or a function of the coordinates x -> (N,)."""
        if not self.interfacial:
            raise InputError("contacts.interfacial_layer_nm", "the case has no interfacial layer (0 nm); set a "
                                                              "thickness > 0 to let it vary")
        if callable(value):
            self.d_i.interpolate(value)
        else:
            self.d_i.x.array[:] = float(value)
        if np.any(self.d_i.x.array[self.cathode_dofs] <= 0):
            raise InputError("contacts.interfacial_layer_nm", "the interfacial layer must stay thicker than 0 nm")
        self.d_i.x.scatter_forward()

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
        hole_barrier = self.cfg["hole_barrier_eV"]
        lowering = 1.0
        if self.image_force:
            E = -ufl.dot(ufl.grad(self.dev.u[0]), ufl.FacetNormal(self.dev.mesh))        # V_t / nm
            lowering = ufl.exp(self.image_beta * ufl.sqrt(0.5 * (E + ufl.sqrt(E * E + 1e-6))))  # smooth max(E, 0)
        if self.interfacial:
            psi = self.dev.u[0]
            n0 = ufl.exp(psi + m.chi + m.lnNc)                    # equilibrium with the metal, phi = 0
            p0 = ufl.exp(-psi - m.chi - m.Eg + m.lnNv) if hole_barrier is None else \
                ufl.exp(m.lnNv - hole_barrier / sc.Vt)
            T = ufl.exp(-self.two_kappa_nm * self.d_i)
            return lowering * T * self.v_n * (n - n0), T * self.v_p * (p - p0)
        phiB = self.barrier / sc.Vt
        n0 = ufl.exp(m.lnNc - phiB)
        p0 = ufl.exp(m.lnNv - (m.Eg - phiB) if hole_barrier is None else m.lnNv - hole_barrier / sc.Vt)
        return lowering * self.v_n * (n - n0), self.v_p * (p - p0)

    def poisson_term(self, v):
        """The interfacial layer's Robin term of the Poisson residual (UFL), or None (psi is Dirichlet)."""
        if not self.interfacial:
            return None
        lam2 = self.dev.sc.lambda2
        return lam2 * self.eps_i / self.d_i * (self.dev.u[0] - self.psi_cathode) * v * self.ds_cathode
