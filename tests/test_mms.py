"""Manufactured solution of the coupled scaled system (issue 4, acceptance 1; MODEL.md sec. 7).

Smooth psi*, phi_n*, phi_p* that meet the ohmic contact values and have zero lateral flux; sources from the
continuous operators (UFL, exact) are added to the discrete equations (EAFE fluxes, lumped reaction terms), and
the L2 errors are measured on three Gmsh meshes of decreasing size.
"""

import math

import numpy as np
import pytest
import ufl
from dolfinx import fem
from mpi4py import MPI

from femqled import statistics
from femqled.device import Device
from femqled.semiconductor import neutral_potential
from helpers import small_case

MMS = {"role": "semiconductor", "eps_r": 10.0, "electron_affinity_eV": 0.0, "band_gap_eV": 0.05,
       "Nc_cm3": 1e18, "Nv_cm3": 1e18, "mu_n_cm2Vs": 1.0, "mu_p_cm2Vs": 1.0, "langevin_prefactor": 1.0}
W = L = 20.0
BIAS = 0.1


def mms_case(h, kind="boltzmann"):
    return small_case(layer=[{"name": "A", "material": "mms", "thickness_nm": 16.0}],
                      interlayer={"name": "B", "material": "mms", "thickness_nm": 4.0},
                      geometry={"width_nm": W}, contacts={"cathode": "ohmic"}, emission={"qd_layer": ""},
                      mesh={"interface_size_nm": h, "bulk_size_nm": h},
                      materials={"mms": {**MMS, "statistics": kind}})


def exact(dev):
    vals = dev.mat.values["A"]
    Vs = dev.sc.potential(BIAS)
    psi_a, psi_c = neutral_potential(vals, Vs, Vs), neutral_potential(vals, 0.0, 0.0)
    x = ufl.SpatialCoordinate(dev.mesh)
    X, Y = x[0], x[1]
    bump = ufl.sin(math.pi * Y / L) * ufl.cos(math.pi * X / W)
    psi = psi_a + (psi_c - psi_a) * Y / L + 0.5 * bump
    phin = Vs * (1 - Y / L) + (0.2 if dev.mat.single_level else 0.5) * bump    # single level: eta_n varies too
    phip = Vs * (1 - Y / L) + 0.3 * ufl.sin(2 * math.pi * Y / L) * (1 + 0.5 * ufl.cos(math.pi * X / W))
    return vals, psi, phin, phip


def sources(dev, tests):
    v, wn, wp = tests
    m, psi, phin, phip = exact(dev)
    lam2 = dev.sc.lambda2
    eta_n, eta_p = psi + m["chi"] - phin, -psi - m["chi"] - m["Eg"] + phip
    lg_n, lg_p = m["level"] * statistics.ufl_ln_g(eta_n), m["level"] * statistics.ufl_ln_g(eta_p)
    n = ufl.exp(eta_n + m["lnNc"] + lg_n)                 # femqled.statistics: ln g = 0 for Boltzmann
    p = ufl.exp(eta_p + m["lnNv"] + lg_p)
    ni2 = math.exp(m["lnNc"] + m["lnNv"] - m["Eg"]) * ufl.exp(lg_n + lg_p)
    R = m["xi"] * (m["mun"] + m["mup"]) * (n * p - ni2) / (m["eps"] * lam2)
    f_psi = -ufl.div(m["eps"] * lam2 * ufl.grad(psi)) - (p - n + m["C"])
    f_n = -ufl.div(m["mun"] * n * ufl.grad(phin)) - R
    f_p = -ufl.div(m["mup"] * p * ufl.grad(phip)) + R
    dx = ufl.Measure("dx", domain=dev.mesh, subdomain_data=dev.dm.cell_tags, metadata={"quadrature_degree": 6})
    return -(f_psi * v + f_n * wn + f_p * wp) * dx


def errors(h, comm, kind="boltzmann"):
    dev = Device(mms_case(h, kind), comm, sources=sources)
    dev.solve(BIAS)
    _, psi, phin, phip = exact(dev)
    dx = ufl.dx(domain=dev.mesh, metadata={"quadrature_degree": 6})
    out = []
    for k, ex in enumerate((psi, phin, phip)):
        e2 = fem.assemble_scalar(fem.form((dev.u[k] - ex) ** 2 * dx))
        out.append(math.sqrt(comm.allreduce(e2, op=MPI.SUM)))
    return np.array(out)


@pytest.mark.mpi
@pytest.mark.parametrize("kind", ["boltzmann", "single-level"])
def test_manufactured_solution_converges_at_second_order(kind):
    """Boltzmann, and a single level per site (femqled.statistics; here eta ~ -1 +- 0.5, where g = 1/(1+e^eta)
    lowers the densities by ~30 %: the modified Scharfetter-Gummel fluxes, the equilibrium n_i^2, the ohmic
    contacts' neutral potential)."""
    hs = [2.0, 1.0, 0.5]
    errs = np.array([errors(h, MPI.COMM_WORLD, kind) for h in hs])
    rates = np.log(errs[:-1] / errs[1:]) / np.log(2.0)
    assert np.all(errs[1:] < errs[:-1]), errs
    assert rates[-1][0] >= 1.9, f"potential rates {rates[:, 0]}, errors {errs[:, 0]}"
    assert rates[-1][1] >= 1.8 and rates[-1][2] >= 1.8, f"carrier rates {rates[:, 1:]}, errors {errs[:, 1:]}"
