"""Heterojunctions where the band offset limits transport: thermionic emission with a transfer velocity.

By default the quasi-Fermi potentials are continuous across every interface (:mod:`femqled.device`): transport
across an offset is then limited only by the densities on either side. An ``[[interface]]`` of a case declares a
junction between two adjacent layers where carriers cross by thermionic emission instead, at a finite transfer
velocity v (cm/s), so the quasi-Fermi levels jump:

    J_n = q v_n (n_top(E_Fn,a) - n_top(E_Fn,b)),     n_top(E_F) = Nc_top exp((E_F - Ec_top) / kT)

where Ec_top is the higher of the two conduction band edges (the top of the step) and a, b are the two sides;
likewise J_p with the lower valence band edge. In equilibrium (equal E_F) the current vanishes for any offset,
and for v -> infinity the quasi-Fermi level becomes continuous again. (Equivalently, with n on the low side,
J_n = q v_n (n_low exp(-dEc/kT) - n_high) when both sides share Nc: the textbook thermionic-emission condition.)

How it is solved: as a thin layer of thickness ``delta`` (default 0.1 nm) inserted between the two layers, whose
band edges are the barrier tops (chi = min chi, ionisation energy = max) and whose mobilities are

    mu_n = v_n delta / V_t,     mu_p = v_p delta / V_t,

with no doping, no recombination and no space charge (its carriers stand for the interface, not for a film),
and a permittivity EPS_FACTOR = 1e4 times its neighbours' so that psi stays continuous across it, as across an
abrupt interface (charges piled up on the two faces would otherwise see a 0.1 nm capacitor). The
exponentially fitted flux across a layer much thinner than every Debye and drift length is D / delta (n_a - n_b)
with the layer's own band edges at its two faces: exactly the law above, with the quasi-Fermi level free to jump
between the faces. This keeps one continuous P1 space (no doubled interface nodes, no multipoint constraints)
and every solver, instrument and MPI path unchanged. tests/test_heterojunction.py checks the interface
resistance V_t / (q v N) against the analytic series law, the v -> infinity limit and the independence of delta.

Default velocity: the Richardson velocity v_R = sqrt(kT / (2 pi m0)) (= A* T^2 / (q Nc) of the free electron,
2.7e6 cm/s at 300 K; Sze & Ng, Physics of Semiconductor Devices, 3rd ed., sec. 3.2.4).
"""

from __future__ import annotations

import math

from femqled import materials
from femqled.scaling import KB, M0, Q

# permittivity of the thin layer over its neighbours': psi stays continuous across it as across an abrupt
# interface (a 0.1 nm layer of eps_r ~ 3 between interface charges of 1e13 cm^-2 would drop ~60 mV)
EPS_FACTOR = 1e4
SEPARATOR = "|"          # interface layer names: "HTL|EML" (never a user region name: see case._name_check)


def richardson_velocity_cm_s(T: float) -> float:
    """sqrt(kT / (2 pi m0)) in cm/s."""
    return math.sqrt(KB * T / (2.0 * math.pi * M0)) * 100.0


def layer_name(lower: str, upper: str) -> str:
    return f"{lower}{SEPARATOR}{upper}"


def material_name(lower: str, upper: str) -> str:
    return f"thermionic({layer_name(lower, upper)})"


def is_interface_layer(name: str) -> bool:
    return SEPARATOR in name


def stack(case: dict) -> list[dict]:
    """The case's ``[[layer]]`` list with a thin layer inserted at every thermionic ``[[interface]]``."""
    thin = {tuple(i["between"].split("/")): i for i in case.get("interface", [])}
    out = []
    for lower, upper in zip(case["layer"], case["layer"][1:] + [None]):
        out.append(lower)
        if upper is not None and (lower["name"], upper["name"]) in thin:
            spec = thin[(lower["name"], upper["name"])]
            out.append({"name": layer_name(lower["name"], upper["name"]),
                        "material": material_name(lower["name"], upper["name"]),
                        "thickness_nm": spec["thickness_nm"]})
    return out


def interface_material(a: dict, b: dict, spec: dict, T: float) -> dict:
    """The thin layer's material between resolved materials ``a`` (below) and ``b`` (above)."""
    Vt = KB * T / Q
    chi_a, chi_b = a["electron_affinity_eV"], b["electron_affinity_eV"]
    ip_a, ip_b = chi_a + a["band_gap_eV"], chi_b + b["band_gap_eV"]
    cb_side = a if chi_a <= chi_b else b           # the higher conduction band edge (smaller affinity)
    vb_side = a if ip_a >= ip_b else b             # the lower valence band edge (larger ionisation energy)
    chi, ip = min(chi_a, chi_b), max(ip_a, ip_b)
    v_R = richardson_velocity_cm_s(T)
    v_n = spec["v_n_cm_s"] if spec["v_n_cm_s"] is not None else v_R
    v_p = spec["v_p_cm_s"] if spec["v_p_cm_s"] is not None else v_R
    delta_cm = spec["thickness_nm"] * 1e-7
    return {
        "role": "semiconductor",
        "eps_r": EPS_FACTOR * max(a["eps_r"], b["eps_r"]),
        "electron_affinity_eV": chi,
        "band_gap_eV": ip - chi,
        "Nc_cm3": cb_side["Nc_cm3"],
        "Nv_cm3": vb_side["Nv_cm3"],
        "mu_n_cm2Vs": v_n * delta_cm / Vt,
        "mu_p_cm2Vs": v_p * delta_cm / Vt,
        "space_charge": False,
    }


def case_library(case: dict) -> dict[str, dict]:
    """The materials of a case: the library with the case's overrides, plus one material per thin layer."""
    lib = materials.library(case["materials"])
    names = {l["name"]: l["material"] for l in case["layer"]}
    for spec in case.get("interface", []):
        lower, upper = spec["between"].split("/")
        lib[material_name(lower, upper)] = interface_material(lib[names[lower]], lib[names[upper]], spec,
                                                              case["temperature_K"])
    return lib
