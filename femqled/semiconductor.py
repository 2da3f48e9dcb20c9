"""Material data on the mesh: one DG0 function per parameter, scaled (see :mod:`femqled.scaling`).

Each cell carries its own material's values, so at an interface node every element uses its own band edges:
with continuous potentials psi, phi_n, phi_p the carrier densities jump by the band offsets, exactly.
"""

from __future__ import annotations

import math

import numpy as np
from dolfinx import fem

from femqled import statistics
from femqled.errors import InputError
from femqled.scaling import EPS0, Q, Scales



def _scaled(mat: dict, sc: Scales, region: str) -> dict[str, float]:
    def need(key):
        if key not in mat:
            raise InputError(f"materials.{mat.get('_name', region)}.{key}",
                             f"is required for the electrical model (region {region!r})")
        return float(mat[key])

    if mat["role"] == "insulator":
        # an insulator: no band states within reach (huge gap, tiny DOS), permittivity only
        return {"eps": need("eps_r"), "chi": 0.0, "Eg": sc.potential(20.0), "lnNc": -200.0, "lnNv": -200.0,
                "mun": 1e-30, "mup": 1e-30, "C": 0.0, "taun": 1.0, "taup": 1.0, "xi": 0.0, "srh": 0.0,
                "charged": 1.0, "level": 0.0}
    Nd, Na = float(mat.get("Nd_cm3", 0.0)), float(mat.get("Na_cm3", 0.0))
    if mat.get("statistics") == "single-level":       # one level per site: the dopants' charge must fit in it
        name = mat.get("_name", region)
        for key, N, cap in (("Nd_cm3", Nd - Na, "Nc_cm3"), ("Na_cm3", Na - Nd, "Nv_cm3")):
            if N >= float(need(cap)):
                raise InputError(f"materials.{name}.{key}", f"the net doping ({N:g} cm^-3) must stay below {cap} "
                                                            f"({float(need(cap)):g}) with single-level statistics")
    if "trap_density_cm3" in mat and not ("tau_n_s" in mat or "tau_p_s" in mat):   # given lifetimes win
        taun, taup = trap_lifetimes(mat)
    else:
        taun, taup = float(mat.get("tau_n_s", 0.0)), float(mat.get("tau_p_s", 0.0))
    srh = 1.0 if (taun > 0 and taup > 0) else 0.0
    return {
        "eps": need("eps_r"),
        "chi": sc.potential(need("electron_affinity_eV")),
        "Eg": sc.potential(need("band_gap_eV")),
        "lnNc": math.log(sc.density(need("Nc_cm3"))),
        "lnNv": math.log(sc.density(need("Nv_cm3"))),
        "mun": sc.mobility(need("mu_n_cm2Vs")),
        "mup": sc.mobility(need("mu_p_cm2Vs")),
        "C": sc.density(Nd - Na),
        "taun": taun / sc.t0 if srh else 1.0,   # SRH off: multiplied by srh = 0
        "taup": taup / sc.t0 if srh else 1.0,
        "xi": float(mat.get("langevin_prefactor", 0.0)),
        "srh": srh,
        # 0: carriers here carry no space charge or storage (the thin layers of femqled.heterojunction, which
        # stand for a zero-thickness interface)
        "charged": 0.0 if mat.get("space_charge") is False else 1.0,
        # 1: both bands hold one level per site of capacity Nc, Nv (femqled.statistics); 0: Boltzmann
        "level": statistics.flag(mat.get("statistics", "boltzmann")),
    }


def trap_lifetimes(mat: dict) -> tuple[float, float]:
    """SRH lifetimes (s) of trap-assisted recombination in a disordered film from its trap density N_t:

        tau_n = eps / (q mu_n N_t),     tau_p = eps / (q mu_p N_t)

    the capture coefficients of free carriers by traps being Langevin-type, C_n = q mu_n / eps and
    C_p = q mu_p / eps (Kuik et al., PRL 107, 256805 (2011); Wetzelaer et al., PRB 83, 165204 (2011)), so that
    R_SRH = C_n C_p N_t (n p - ni^2) / (C_n n + C_p p). ``trap_density_cm3`` = 0 gives (0, 0): no SRH. A material
    that also gives tau_n_s or tau_p_s (e.g. a case overriding the library's trap density) uses those instead."""
    Nt = float(mat["trap_density_cm3"])          # >= 0: checked with the case (femqled.case)
    if Nt <= 0:
        return 0.0, 0.0
    eps = float(mat["eps_r"]) * EPS0                      # F/m
    Nt_m3 = Nt * 1e6
    mun, mup = float(mat["mu_n_cm2Vs"]) * 1e-4, float(mat["mu_p_cm2Vs"]) * 1e-4
    return eps / (Q * mun * Nt_m3), eps / (Q * mup * Nt_m3)


class MaterialFields:
    """DG0 functions ``eps, chi, Eg, lnNc, lnNv, mun, mup, C, taun, taup, xi, srh, charged, level`` on a device
    mesh.

    ``values[region][name]`` keeps the scaled numbers of each region; ``indicator(region)`` is a DG0 function
    equal to 1 on that region. ``single_level``: whether any region has single-level statistics (the same on every
    rank; without, the equations are exactly the Boltzmann ones).
    """

    NAMES = ("eps", "chi", "Eg", "lnNc", "lnNv", "mun", "mup", "C", "taun", "taup", "xi", "srh", "charged",
             "level")

    def __init__(self, dm, lib: dict, sc: Scales):
        self.dm = dm
        self.Q = fem.functionspace(dm.mesh, ("DG", 0))
        self.values: dict[str, dict[str, float]] = {}
        self.fields = {name: fem.Function(self.Q, name=name) for name in self.NAMES}
        for region in dm.layout.parts[dm.part]:
            mat = dict(lib[dm.layout.materials[region]])
            mat["_name"] = dm.layout.materials[region]
            vals = _scaled(mat, sc, region)
            self.values[region] = vals
            cells = dm.cells(region)
            for name in self.NAMES:
                self.fields[name].x.array[cells] = vals[name]
        for f in self.fields.values():
            f.x.scatter_forward()
        self.single_level = any(vals["level"] > 0 for vals in self.values.values())

    def __getattr__(self, name):
        fields = self.__dict__.get("fields", {})
        if name in fields:
            return fields[name]
        raise AttributeError(name)

    def indicator(self, *regions: str):
        f = fem.Function(self.Q)
        for r in regions:
            f.x.array[self.dm.cells(r)] = 1.0
        f.x.scatter_forward()
        return f


def neutral_potential(vals: dict, phi_n: float, phi_p: float) -> float:
    """Scaled psi that makes p - n + C = 0 in a material with scaled values ``vals`` (stable for any sign of C).

    n = A e^psi, p = B e^-psi with A = e^(chi - phi_n + lnNc), B = e^(-chi - Eg + phi_p + lnNv); with single-level
    statistics each times g(eta) (:mod:`femqled.statistics`), solved from the Boltzmann root by bisection.
    """
    psi_b = _neutral_boltzmann(vals, phi_n, phi_p)
    if vals.get("level", 0.0) == 0.0:
        return psi_b
    C = vals["C"]

    def excess(psi):                  # ln of the positive over the negative charge: decreasing in psi
        eta_n, eta_p = psi + vals["chi"] - phi_n, -psi - vals["chi"] - vals["Eg"] + phi_p
        ln_n = vals["lnNc"] + eta_n + float(statistics.ln_g(eta_n))
        ln_p = vals["lnNv"] + eta_p + float(statistics.ln_g(eta_p))
        return np.logaddexp(ln_p, math.log(C) if C > 0 else -np.inf) - \
            np.logaddexp(ln_n, math.log(-C) if C < 0 else -np.inf)

    lo, hi = psi_b - 200.0, psi_b + 200.0
    if not excess(lo) > 0 > excess(hi):      # a doping above the capacity: refused with the material (_scaled)
        raise ValueError("no neutral potential: the net doping exceeds the capacity of the single level")
    for _ in range(200):              # bisection to roundoff
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if excess(mid) > 0 else (lo, mid)
    return 0.5 * (lo + hi)


def _neutral_boltzmann(vals: dict, phi_n: float, phi_p: float) -> float:
    lnA = vals["chi"] - phi_n + vals["lnNc"]
    lnB = -vals["chi"] - vals["Eg"] + phi_p + vals["lnNv"]
    C = vals["C"]
    # A x^2 - C x - B = 0, x = e^psi; written in logs to avoid overflow
    lnAB = lnA + lnB
    if C == 0.0:
        return 0.5 * (lnB - lnA)
    disc = math.sqrt(C * C + 4.0 * math.exp(lnAB)) if lnAB < 600 else math.exp(0.5 * lnAB) * 2.0
    if C > 0:   # n-type: x = (C + sqrt(.)) / 2A
        return math.log((C + disc) / 2.0) - lnA
    return lnB - math.log((disc - C) / 2.0)   # p-type: x = 2B / (sqrt(.) - C)
