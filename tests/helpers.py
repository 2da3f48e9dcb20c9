"""Small cases for tests: the default stack, thinner and narrower so that meshes build in well under a second."""

import copy

from femqled.case import merged, validate

BASE = {
    "title": "test stack",
    "geometry": {"width_nm": 60.0},
    "layer": [
        {"name": "HIL", "material": "PEDOT:PSS", "thickness_nm": 10.0},
        {"name": "HTL", "material": "TFB", "thickness_nm": 12.0},
        {"name": "EML", "material": "QD", "thickness_nm": 10.0},
        {"name": "ETL", "material": "ZnO-NP", "thickness_nm": 15.0},
    ],
    "interlayer": {"thickness_nm": 2.0},
    "cathode": {"thickness_nm": 12.0},
    "mesh": {"interface_size_nm": 0.5, "bulk_size_nm": 2.5},
}


def merge(base: dict, changes: dict) -> dict:
    """A fresh copy of ``changes`` over ``base``, merged as a case file over its base (femqled.case.merged)."""
    return copy.deepcopy(merged(base, changes))


def raw_case(**changes) -> dict:
    return merge(BASE, changes)


def small_case(**changes) -> dict:
    case = validate(raw_case(**changes))
    case["_path"] = "test.toml"
    return case


def pn_case(tau_s: float = 1e-8, quasi_1d: bool = True, **changes) -> dict:
    """Silicon pn diode, N_A = N_D = 1e16 cm^-3, 1 um, abrupt junction at 0.5 um, SRH tau_n = tau_p = tau_s."""
    doping = {"tau_n_s": tau_s, "tau_p_s": tau_s}
    return small_case(
        layer=[{"name": "P", "material": "Si-p", "thickness_nm": 500.0},
               {"name": "N", "material": "Si-n", "thickness_nm": 490.0}],
        interlayer={"name": "NC", "material": "Si-n", "thickness_nm": 10.0},
        geometry={"quasi_1d": quasi_1d, "width_nm": 40.0},
        mesh={"interface_size_nm": 0.5, "bulk_size_nm": 10.0, "grading": 0.2},
        contacts={"cathode": "ohmic"}, emission={"qd_layer": ""},
        materials={"Si-p": {"base": "Si", "Na_cm3": 1e16, **doping},
                   "Si-n": {"base": "Si", "Nd_cm3": 1e16, **doping}}, **changes)


def sclc_case(L_nm: float = 100.0, mu: float = 1e-4, eps: float = 3.0) -> dict:
    """Electron-only n+ / i / n+ device: trap-free space-charge-limited current through the i layer."""
    ins = {"role": "semiconductor", "eps_r": eps, "electron_affinity_eV": 3.0, "band_gap_eV": 3.0,
           "Nc_cm3": 1e20, "Nv_cm3": 1e20, "mu_n_cm2Vs": mu, "mu_p_cm2Vs": mu}
    return small_case(
        layer=[{"name": "NA", "material": "nplus", "thickness_nm": 5.0},
               {"name": "I", "material": "ins", "thickness_nm": L_nm}],
        interlayer={"name": "NB", "material": "nplus", "thickness_nm": 5.0},
        geometry={"quasi_1d": True},
        mesh={"interface_size_nm": 0.05, "bulk_size_nm": 1.0, "grading": 0.1},
        contacts={"cathode": "ohmic"}, emission={"qd_layer": ""},
        materials={"ins": ins, "nplus": {**ins, "Nd_cm3": 1e20}})


def capacitor_case(d_nm: float = 50.0, eps: float = 3.0, **changes) -> dict:
    """An undoped wide-gap layer between two contacts: no carriers within reach, a parallel-plate capacitor."""
    wide = {"role": "semiconductor", "eps_r": eps, "electron_affinity_eV": 2.0, "band_gap_eV": 4.0,
            "Nc_cm3": 1e10, "Nv_cm3": 1e10, "mu_n_cm2Vs": 1e-4, "mu_p_cm2Vs": 1e-4}
    base = dict(layer=[{"name": "D", "material": "wide", "thickness_nm": d_nm - 2.0}],
                interlayer={"name": "DC", "material": "wide", "thickness_nm": 2.0},
                geometry={"quasi_1d": True},
                mesh={"interface_size_nm": 0.5, "bulk_size_nm": 2.0, "grading": 0.2},
                contacts={"cathode": "ohmic"}, emission={"qd_layer": ""}, materials={"wide": wide})
    return small_case(**merge(base, changes))


def count_factorisations(dev) -> list[int]:
    """Count the LU factorisations of the device's solves from now on: fixed-bias Newton (one per iteration)
    and the bordered Newton of constant-current operation and of the ions' inventory (one per iteration)."""
    count = []
    solve = dev.newton.solve

    def newton():
        ok, its = solve()
        count.append(its)
        return ok, its

    dev.newton.solve = newton
    cc = dev._bordered()
    bordered = cc.solve

    def counted(*args, **kw):
        its = bordered(*args, **kw)
        count.append(len(cc.history) if its is None else its)
        return its

    cc.solve = counted
    return count
