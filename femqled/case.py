"""Case files: a TOML description of one device and what to do with it.

``load_case(path, sets)`` reads and validates a case (``sets``: the command line's ``--set KEY=VALUE`` overrides,
:func:`apply_sets`) and returns a plain nested dict with defaults filled in. Every
key, its unit (in its name) and what is allowed is in :data:`CASE_SCHEMA`; ``docs/case-reference.md`` is the
human-readable copy. Bad input raises :class:`femqled.errors.InputError` naming the key.

Geometry conventions: x is lateral (0..width_nm), y runs through the stack from the anode (y = 0, bottom of the
first layer) up to the top of the modelled Ag. Layers are listed bottom to top; the last layer is the electron
transport layer on which the acetate-rich interlayer sits; the rough ZnO/Ag interface (the cathode) is the top
of the interlayer.
"""

from __future__ import annotations

from femqled import materials
from femqled.errors import InputError
from femqled.schema import Field, Table, read_toml


class FromParameters:
    """A default read from the parameter file's [ageing] table (shown as such in the case reference)."""

    def __init__(self, key: str):
        self.key = key

    def __call__(self):
        return materials.ageing_parameter(self.key)

    def __repr__(self):
        return f"parameters.toml [ageing] ({self():g})"


_NAME_OK = "letters, digits, '-' and '_' only, starting with a letter"
RESERVED_NAMES = ("anode", "cathode", "top", "left", "right", "interfaces")


def _name_check(value: str) -> str | None:
    if not value or not value[0].isalpha() or not all(c.isalnum() or c in "-_" for c in value):
        return f"{value!r} is not a valid region name ({_NAME_OK})"
    if value in RESERVED_NAMES or value.startswith("trench"):
        return f"{value!r} is reserved; reserved names: {', '.join(RESERVED_NAMES)}, trench*"
    return None


LAYER = Table({
    "name": Field(str, doc="region name", check=_name_check),
    "material": Field(str, doc="a material of the library or of [materials]"),
    "thickness_nm": Field(float, gt=0.0, doc="layer thickness in nm"),
}, doc="one layer of the stack, bottom (anode) to top")

INTERFACE = Table({
    "between": Field(str, doc="two adjacent layers, lower/upper, e.g. \"HTL/EML\""),
    "model": Field(str, "thermionic", choices=("thermionic",),
                   doc="thermionic emission over the band step at a transfer velocity: the quasi-Fermi levels "
                       "jump (femqled/heterojunction.py); interfaces not listed keep continuous quasi-Fermi levels"),
    "v_n_cm_s": Field(float, None, gt=0.0, doc="electron transfer velocity (cm/s); default: the Richardson "
                                               "velocity sqrt(kT/2 pi m0), 2.7e6 cm/s at 300 K"),
    "v_p_cm_s": Field(float, None, gt=0.0, doc="hole transfer velocity (cm/s); default: the Richardson velocity"),
    "thickness_nm": Field(float, 0.1, gt=0.0, max=1.0, doc="thickness of the thin layer that carries the "
                                                           "interface law (nm; results do not depend on it while "
                                                           "it is much thinner than the Debye length)"),
}, doc="a heterojunction between two adjacent layers where carriers cross by thermionic emission")

GEOMETRY = Table({
    "width_nm": Field(float, 200.0, gt=0.0, doc="lateral width of the cross-section (nm)"),
    "lateral": Field(str, "zero-flux", choices=("zero-flux", "periodic"),
                     doc="lateral sides: zero-flux, or periodic (matching nodes left/right)"),
    "quasi_1d": Field(bool, False, doc="a single column of cells: the 1D answer of the flat stack"),
    "quasi_1d_width_nm": Field(float, 1.0, gt=0.0, doc="column width in quasi-1D mode (nm)"),
})

INTERLAYER = Table({
    "name": Field(str, "IL", check=_name_check, doc="region name"),
    "material": Field(str, "ZnO-acetate"),
    "thickness_nm": Field(float, 2.0, gt=0.0, doc="acetate-rich interlayer on top of the last layer (nm)"),
})

CATHODE = Table({
    "name": Field(str, "Ag", check=_name_check, doc="region name"),
    "material": Field(str, "Ag"),
    "thickness_nm": Field(float, 20.0, gt=0.0, doc="Ag kept in the model: the acetate domain (nm)"),
})

ROUGHNESS = Table({
    "rms_nm": Field(float, 0.0, min=0.0, doc="RMS amplitude of the ZnO/Ag interface (nm); 0 = flat"),
    "correlation_length_nm": Field(float, 20.0, gt=0.0, doc="Gaussian correlation length (nm)"),
    "seed": Field(int, 1, min=0, doc="random seed of the profile"),
})

TRENCH = Table({
    "x_nm": Field(float, doc="centre of the trench (nm)"),
    "width_nm": Field(float, gt=0.0, doc="width at the interface (nm)"),
    "depth_nm": Field(float, gt=0.0, doc="depth into the Ag (nm)"),
    "shape": Field(str, "elliptic", choices=("rectangular", "triangular", "elliptic")),
    "material": Field(str, "Ag-grain-boundary", doc="material of the trench region"),
})

MESH = Table({
    "interface_size_nm": Field(float, 0.5, gt=0.0, doc="element size at every interface and contact (nm)"),
    "bulk_size_nm": Field(float, 5.0, gt=0.0, doc="element size far from interfaces (nm)"),
    "grading": Field(float, 0.25, gt=0.0, max=1.0, doc="growth of element size per unit distance (nm/nm)"),
    "flat_lateral_size_nm": Field(float, None, gt=0.0,
                                  doc="2D: mesh the flat layers (all but the last) and a band at the bottom of "
                                      "the last one structured, split rectangles of this width (nm) over the "
                                      "rows of the quasi-1D column; default: isotropic like the rest"),
})

CONTACTS = Table({
    "anode": Field(str, "ohmic", choices=("ohmic",), doc="anode (y = 0): ohmic (charge-neutral, Dirichlet)"),
    "cathode": Field(str, "thermionic", choices=("ohmic", "thermionic"),
                     doc="cathode (the rough IL/Ag interface): thermionic emission (Robin) or ohmic"),
    "cathode_barrier_eV": Field(float, None, doc="electron barrier Phi_B0 at the cathode (eV); default: "
                                                 "cathode work function minus the interlayer electron affinity"),
    "richardson_A_cm2K2": Field(float, 120.0, gt=0.0, doc="effective Richardson constant A* (A cm^-2 K^-2)"),
    "hole_barrier_eV": Field(float, None, doc="hole barrier at the cathode (eV); default: Eg - Phi_B0"),
    "image_force_lowering": Field(bool, False, doc="Schottky (image-force) lowering of the barrier maximum by the "
                                                   "field at the cathode: thermionic velocity x exp(dPhi(E)/kT)"),
    "interfacial_layer_nm": Field(float, 0.0, min=0.0,
                                  doc="insulating interfacial layer between the interlayer and the metal (nm): 0 = "
                                      "none; > 0 = Bardeen contact: Robin psi with capacitance eps_i/d_i and "
                                      "tunnelling transmission exp(-2 kappa d_i) on thermionic emission "
                                      "(eps_i, tunnel barrier: [model] interfacial_*)"),
})

EMISSION = Table({
    "qd_layer": Field(str, None, doc="region of the QD film (default: the first layer whose material has "
                                     "qd_density_cm3); empty string: no QD emission model"),
    "occupancy": Field(str, "poisson", choices=("poisson", "simple"),
                       doc="QD charge statistics that split recombination into X and X-: Poisson occupancy "
                           "of the dots, or f = n / (n + N_QD)"),
    "trions": Field(str, "both", choices=("negative", "both"),
                    doc="which charged excitons the emission tells apart: both (X- and X+: the QD material's "
                        "k_auger_positive_trion_per_s, lambda_positive_trion_shift_nm, fwhm_positive_trion_nm) "
                        "or negative (X- only: an exciton in a dot with an extra hole counts as a bright X; the "
                        "default before 2026-12-06, cases/negative-trions.toml)"),
    "leakage": Field(bool, True, doc="electron leakage into the layer below the QDs by interface recombination"),
})

AGEING = Table({
    "kinetics": Field(str, "current", choices=("diffusion", "current", "field", "thermal"),
                      doc="what drives acetate into the Ag: plain thermal diffusion; current-activated diffusion in "
                          "the Ag, D_eff = D (|j_n| / j_ref)^m with j_n the local cathode current density; field: "
                          "drift of a charged species (charge acetate_charge) in the electrostatic potential; "
                          "thermal: D exp(-E_a/k (1/T - 1/T0)) with Joule heating T = T0 + R_th J V"),
    "acetate_charge": Field(int, -1, doc="charge number of acetate for the field kinetics (an anion: -1)"),
    "charge_in_poisson": Field(bool, False, doc="field kinetics: the displaced acetate charge z q (a - a0) (the "
                                                "initial acetate is an immobile compensating background) enters "
                                                "Poisson in the oxide; sequential coupling, stable only while "
                                                "the displaced charge stays small (experimental)"),
    "activation_energy_eV": Field(float, FromParameters("activation_energy_eV"), min=0.0,
                                  doc="E_a of the thermal kinetics (eV; [E] order of grain-boundary diffusion in Ag)"),
    "thermal_resistance_K_cm2_W": Field(float, 0.0, min=0.0,
                                        doc="R_th of the thermal kinetics: self-heating T - T0 = R_th J V (K cm2/W)"),
    "J_mA_cm2": Field(float, 10.0, gt=0.0, doc="operating current density (constant-current test)"),
    "compliance_V": Field(float, 10.0, gt=0.0, doc="voltage compliance of the source: the test ends (normally, "
                                                   "with the time reached) when the current needs more"),
    "hours": Field(float, 1000.0, gt=0.0, doc="operating time to simulate (h)"),
    "j_ref_mA_cm2": Field(float, FromParameters("j_ref_mA_cm2"), gt=0.0,
                          doc="reference current density of the current-activated kinetics"),
    "exponent": Field(float, FromParameters("exponent"), gt=0.0, doc="m of the current-activated kinetics"),
    "depth_nm": Field(float, FromParameters("depth_nm"), gt=0.0,
                      doc="depth delta into the Ag over which acetate degrades the contact "
                                                "([E] the ToF-SIMS spreading, He et al. 2023 Fig. 5c)"),
    "saturation_cm2": Field(float, FromParameters("saturation_cm2"), gt=0.0,
                            doc="Ag-side acetate inventory (per area) at full degradation"),
    "barrier_rise_eV": Field(float, FromParameters("barrier_rise_eV"), min=0.0,
                             doc="cathode barrier rise at full degradation, Phi_B0 + dPhi theta"),
    "first_step_h": Field(float, 0.1, gt=0.0, doc="first time step (h)"),
    "max_dtheta": Field(float, 0.05, gt=0.0, max=1.0, doc="largest change of theta allowed in one step"),
    "max_dL": Field(float, 0.05, gt=0.0, doc="largest relative change of the luminance allowed in one step (near "
                                             "the contact's threshold L moves fast while theta moves slowly)"),
    "step_growth": Field(float, 1.5, min=1.0, doc="factor by which the step grows after an easy step "
                                                  "(1 = fixed steps, for convergence studies)"),
    "bins_nm": Field(float, 2.0, gt=0.0, doc="lateral resolution of theta(s) along the cathode (nm)"),
    "output_times_h": Field(float, list, list_of=True, min=0.0,
                            doc="times (h) at which the fields are written (VTX time series for ParaView; also "
                                "at 0 and at the end); the steps land on them"),
})

IONS = Table({
    "layer": Field(str, "", doc="layer that holds mobile ions (empty: none); they cannot leave it, are in Boltzmann "
                                "equilibrium with the potential while the device operates (constant current) and "
                                "frozen where that leaves them while it is measured (femqled/ions.py)"),
    "charge": Field(int, -1, check=lambda z: None if z != 0 else "must be a nonzero integer (acetate: -1)",
                    doc="charge number z of the ions (acetate: -1)"),
    "sheet_cm2": Field(float, 0.0, min=0.0, doc="ions per unit area in the pristine device (cm^-2), settled at 0 V"),
    "released_cm2": Field(float, FromParameters("ion_release_cm2"), min=0.0,
                          doc="ions added at full contact degradation (cm^-2): during ageing and in its states "
                              "the inventory is sheet_cm2 + released_cm2 x mean(theta)"),
    "reversible": Field(bool, False, doc="the release is bound to the contact's state both ways: a peel-off that "
                                         "restores the contact takes the released ions back, rebuilding the Ag "
                                         "alone included (the inventory then follows the rebuilt theta); false: "
                                         "they stay in their layer, and only a fresh film of it removes them"),
})

HYPOTHESIS = Table({
    "name": Field(str, doc="its name in the scorecard (`femqled hypotheses CASE --only NAME`), not a built-in "
                           "one's (femqled/hypotheses.py)"),
    "about": Field(str, "", doc="what it is, in words (the scorecard's description)"),
    "barrier_rise_eV": Field(float, 0.0, doc="cathode barrier rise at theta = 1 (eV): Phi_B0 + dPhi theta"),
    "ions_cm2": Field(float, 0.0, min=0.0, doc="mobile ions ([ions] charge: anions) released into ions_layer at "
                                               "theta = 1 (cm^-2), in equilibrium while the device operates and "
                                               "frozen while it is measured (femqled/ions.py)"),
    "ions_reversible": Field(bool, False, doc="the released ions are bound to the contact's state both ways "
                                              "(as [ions] reversible): each peel-off that restores the contact "
                                              "takes them back, the Ag alone included; false: only a fresh film of "
                                              "their layer removes them"),
    "ions_layer": Field(str, "ETL", doc="the layer of the ions: its name, or its place: EML (the QD layer), ETL "
                                        "(the layer under the cathode), HTL (the layer below the QD layer)"),
    "charge_cm2": Field(float, 0.0, doc="fixed charge at theta = 1 (elementary charges per cm^2; negative: "
                                        "anions) in the 2 nm of the ETL next to charge_near"),
    "charge_near": Field(str, "QD", choices=("QD", "Ag"), doc="which end of the ETL holds the fixed charge: "
                                                            "next to the dots or to the Ag"),
    "tunnel_to_nm": Field(float, 0.0, min=0.0, doc="a Bardeen tunnel layer at the cathode, tunnel_from_nm thick "
                                                   "at theta = 0 and this at theta = 1 (nm; 0: none)"),
    "tunnel_from_nm": Field(float, 0.5, gt=0.0, doc="the tunnel layer's thickness at theta = 0 (nm)"),
    "coverage": Field(float, 1.0, gt=0.0, max=1.0,
                      doc="fraction of the cathode interface that the contact's change (the barrier rise, the tunnel "
                          "layer) covers; the rest stays pristine, in openings centred at x = 0, period_nm, "
                          "2 period_nm, ... (< 1: a patchy contact, judged on the 2D cross-section: `femqled "
                          "hypotheses CASE --2d`)"),
    "period_nm": Field(float, 0.0, min=0.0, doc="the openings' spacing along the interface (nm; 0: the "
                                                "cross-section's width, so its two edges are half openings)"),
}, doc="a hypothesis of what the ageing changes, for the scorecard (`femqled hypotheses`): each change is "
       "proportional to one degradation variable theta, which is turned up from 0 to at most 1 (steps of 0.05, "
       "then bisection) under constant current until the luminance has risen")

SOLVER = Table({
    "bias_step_V": Field(float, 0.1, gt=0.0, doc="first continuation step of a bias change (V); grows by 1.5x "
                                                  "after easy steps, up to 4x"),
    "min_bias_step_V": Field(float, 1e-4, gt=0.0, doc="a failed step is halved until this; then the step is "
                                                      "taken in time (sweep_rate_V_s) or the solve fails and the "
                                                      "last good state is kept"),
    "sweep_rate_V_s": Field(float, 1.0, min=0.0, doc="where a bias step finds no steady state, it is taken in time "
                                                     "at this rate (backward Euler, the current then includes the "
                                                     "displacement current), as a swept instrument would: a region "
                                                     "all but cut off from the contacts (behind a thick tunnel "
                                                     "layer) keeps its charge; 0: fail instead (docs/model.md, "
                                                     "'Electrical problem')"),
    "newton_max_iterations": Field(int, 60, min=1, doc="Newton iterations per steady state"),
    "linear_solver": Field(str, "mumps", choices=("mumps", "superlu_dist"),
                           doc="parallel LU of every linear solve: mumps (fastest) or superlu_dist (bitwise "
                               "reproducible on several ranks; mumps agrees to roundoff only)"),
    "newton_max_update_Vt": Field(float, 5.0, gt=0.0, doc="largest Newton update of any potential (units of "
                                                          "kT/q; per-dof clipping)"),
    "current_control": Field(str, "bordered", choices=("bordered", "secant"),
                             doc="constant-current operation and mobile ions: bordered (Newton on the state, "
                                 "the bias and the ions' electrochemical potential together, "
                                 "femqled/current_control.py; where it does not converge, the secant) or secant "
                                 "(a steady state at each trial bias, a secant on ln J(V); the ions' inventory "
                                 "by a secant around whole Newton solves)"),
})

CASE_SCHEMA = Table({
    "base": Field(str, "", doc="another case file (path relative to this one) that this case starts from: its "
                               "tables are merged key by key under this file's, lists ([[layer]], [[trench]], ...) "
                               "and values are replaced"),
    "set": Field(Table(open=True, doc="values to change in what this case starts from, by the dotted paths of "
                                       "the command line's `--set` (a layer by its name or index, a trench by its "
                                       "index), applied after `base` is merged: `\"layer.ETL.thickness_nm\" = 20` "
                                       "(or unquoted, `layer.ETL.thickness_nm = 20`). A `[[layer]]` list would "
                                       "replace the whole stack; `[set]` changes one value of it"), dict),
    "title": Field(str, "", doc="free text"),
    "temperature_K": Field(float, 300.0, gt=0.0, doc="device temperature (K)"),
    "geometry": Field(GEOMETRY, dict),
    "layer": Field(LAYER, list_of=True, doc="the stack, bottom to top, as [[layer]] tables"),
    "interface": Field(INTERFACE, list, list_of=True),
    "interlayer": Field(INTERLAYER, dict),
    "cathode": Field(CATHODE, dict),
    "roughness": Field(ROUGHNESS, dict),
    "trench": Field(TRENCH, list, list_of=True),
    "mesh": Field(MESH, dict),
    "contacts": Field(CONTACTS, dict),
    "emission": Field(EMISSION, dict),
    "ageing": Field(AGEING, dict),
    "ions": Field(IONS, dict),
    "solver": Field(SOLVER, dict),
    "hypothesis": Field(HYPOTHESIS, list, list_of=True,
                        doc="hypotheses of one's own for the scorecard, as [[hypothesis]] tables"),
    "model": Field(Table(open=True, value_field=Field(float)), dict, doc="overrides of [model] parameters"),
    "materials": Field(Table(open=True, value_field=Field(Table(open=True, value_field=Field(object))),
                             doc="material overrides"), dict),
})


def _check_materials(case: dict, lib: dict) -> None:
    def need(path: str, name: str, roles: tuple[str, ...]):
        if name not in lib:
            raise InputError(path, f"unknown material {name!r}; known: {materials.known(lib)}")
        if lib[name]["role"] not in roles:
            raise InputError(path, f"material {name!r} is a {lib[name]['role']}; allowed here: {', '.join(roles)}")

    for i, layer in enumerate(case["layer"]):
        need(f"layer[{i}].material", layer["material"], ("semiconductor", "insulator"))
    need("interlayer.material", case["interlayer"]["material"], ("semiconductor", "insulator"))
    need("cathode.material", case["cathode"]["material"], ("metal",))
    qd = case["emission"]["qd_layer"]
    names = [l["name"] for l in case["layer"]]
    if qd:
        if qd not in names:
            raise InputError("emission.qd_layer", f"{qd!r} is not a layer; layers: {', '.join(names)}")
        if "qd_density_cm3" not in lib[case["layer"][names.index(qd)]["material"]]:
            raise InputError("emission.qd_layer", f"layer {qd!r} has no QD parameters (qd_density_cm3)")
    for i, t in enumerate(case["trench"]):
        need(f"trench[{i}].material", t["material"], ("metal",))
    materials.model_parameters(case["model"])     # [model]: known keys, each within its domain
    host = case["ions"]["layer"]
    if host:
        hosts = names + [case["interlayer"]["name"]]
        if host not in hosts:
            raise InputError("ions.layer", f"{host!r} is not a layer; allowed: {', '.join(hosts)}")
        material = case["interlayer"]["material"] if host == case["interlayer"]["name"] else \
            case["layer"][names.index(host)]["material"]
        if lib[material]["role"] != "semiconductor":
            raise InputError("ions.layer", f"layer {host!r} is an insulator; ions live in a semiconductor layer")
    pairs = [(a["name"], b["name"]) for a, b in zip(case["layer"], case["layer"][1:])]
    material_of = {l["name"]: l["material"] for l in case["layer"]}
    seen = set()
    for i, spec in enumerate(case["interface"]):
        pair = tuple(spec["between"].split("/"))
        if pair not in pairs:
            raise InputError(f"interface[{i}].between", f"{spec['between']!r} is not a pair of adjacent layers; "
                                                        f"allowed: {', '.join('/'.join(p) for p in pairs)}")
        if pair in seen:
            raise InputError(f"interface[{i}].between", f"{spec['between']!r} is listed twice")
        seen.add(pair)
        for name in pair:
            if lib[material_of[name]]["role"] != "semiconductor":
                raise InputError(f"interface[{i}].between", f"layer {name!r} is an insulator; a thermionic "
                                                            f"interface joins two semiconductors")


def _check_stack(case: dict) -> None:
    layers = case["layer"]
    if len(layers) < 1:
        raise InputError("layer", "at least one [[layer]] is required (the stack, bottom to top)")
    names = [l["name"] for l in layers] + [case["interlayer"]["name"], case["cathode"]["name"]]
    for i, n in enumerate(names):
        if names.index(n) != i:
            raise InputError("layer", f"region name {n!r} is used twice; names must be unique")
    mesh = case["mesh"]
    thinnest = min([l["thickness_nm"] for l in layers] + [case["interlayer"]["thickness_nm"]])
    if mesh["interface_size_nm"] > thinnest:
        raise InputError("mesh.interface_size_nm",
                         f"{mesh['interface_size_nm']:g} nm is larger than the thinnest layer ({thinnest:g} nm); "
                         f"allowed: <= {thinnest:g}")
    if mesh["bulk_size_nm"] < mesh["interface_size_nm"]:
        raise InputError("mesh.bulk_size_nm", f"must be >= mesh.interface_size_nm ({mesh['interface_size_nm']:g})")
    W = case["geometry"]["width_nm"]
    if mesh["interface_size_nm"] > W and not case["geometry"]["quasi_1d"]:
        raise InputError("mesh.interface_size_nm", f"must be <= geometry.width_nm ({W:g})")
    if mesh["flat_lateral_size_nm"] is not None and mesh["flat_lateral_size_nm"] > W:
        raise InputError("mesh.flat_lateral_size_nm", f"must be <= geometry.width_nm ({W:g})")
    # the rough interface rises up to ~3 RMS into the modelled Ag, which must keep an interface element above it
    rms, iface = case["roughness"]["rms_nm"], mesh["interface_size_nm"]
    if 3 * rms + iface >= case["cathode"]["thickness_nm"]:
        raise InputError("roughness.rms_nm", f"{rms:g} nm leaves no room in the modelled Ag; allowed: < "
                                             f"{(case['cathode']['thickness_nm'] - iface) / 3:.3g} nm ((cathode."
                                             f"thickness_nm - mesh.interface_size_nm) / 3), or raise "
                                             f"cathode.thickness_nm")
    spans = []
    for i, t in enumerate(case["trench"]):
        a, b = t["x_nm"] - t["width_nm"] / 2, t["x_nm"] + t["width_nm"] / 2
        if a <= 0 or b >= W:
            raise InputError(f"trench[{i}].x_nm", f"trench spans {a:g}..{b:g} nm; it must lie inside 0..{W:g} nm")
        if t["width_nm"] < 2 * mesh["interface_size_nm"]:
            raise InputError(f"trench[{i}].width_nm", f"must be >= 2 x mesh.interface_size_nm "
                                                      f"({2 * mesh['interface_size_nm']:g} nm)")
        for j, (a2, b2) in enumerate(spans):
            if a < b2 and a2 < b:
                raise InputError(f"trench[{i}].x_nm", f"overlaps trench[{j}]; trenches must not overlap")
        spans.append((a, b))
        # the Ag above the trench must stay at least one interface element thick
        room = case["cathode"]["thickness_nm"] - 3 * case["roughness"]["rms_nm"] - mesh["interface_size_nm"]
        if t["depth_nm"] >= room:
            raise InputError(f"trench[{i}].depth_nm",
                             f"{t['depth_nm']:g} nm is deeper than the modelled Ag allows; allowed: < {room:.3g} nm "
                             f"(cathode.thickness_nm - 3 x roughness.rms_nm - mesh.interface_size_nm)")


def validate(data: dict) -> dict:
    """Validate a parsed case (a dict) and return it with defaults filled in."""
    case = CASE_SCHEMA.check(data)
    lib = materials.library(case["materials"])
    _check_materials(case, lib)
    _check_stack(case)
    _check_hypotheses(case)
    return case


def _check_hypotheses(case: dict) -> None:
    """[[hypothesis]]: unique names, each changing something, its ions in a layer the stack has."""
    places = ("EML", "ETL", "HTL")
    layers = [layer["name"] for layer in case["layer"]]
    seen = set()
    for i, h in enumerate(case["hypothesis"]):
        path = f"hypothesis[{i}]"
        if h["name"] in seen:
            raise InputError(f"{path}.name", f"{h['name']!r} is used twice; allowed: a name per hypothesis")
        seen.add(h["name"])
        if not any(h[k] for k in ("barrier_rise_eV", "ions_cm2", "charge_cm2", "tunnel_to_nm")):
            raise InputError(path, "changes nothing; set at least one of barrier_rise_eV, ions_cm2, charge_cm2, "
                                   "tunnel_to_nm")
        if h["coverage"] < 1 and not (h["barrier_rise_eV"] or h["tunnel_to_nm"]):
            raise InputError(f"{path}.coverage", "covers the contact's change, and this hypothesis changes nothing at "
                                                 "the contact; allowed: 1, or set barrier_rise_eV or tunnel_to_nm")
        if h["ions_cm2"] and h["ions_layer"] not in places + tuple(layers):
            raise InputError(f"{path}.ions_layer", f"no layer {h['ions_layer']!r}; allowed: "
                                                   f"{', '.join(places + tuple(layers))}")


def merged(base: dict, over: dict) -> dict:
    """``over`` on top of ``base`` (neither is changed): tables merge key by key, anything else (values, lists)
    is replaced."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_with_base(path, chain=()) -> dict:
    """A case file's raw tables with its ``base`` chain merged underneath (a cycle is an InputError), then its
    own ``[set]`` values applied (each file's at its level of the chain)."""
    from pathlib import Path

    path = Path(path)
    raw = read_toml(path, "base" if chain else "case", "case file")
    parent = raw.get("base")
    if not parent:
        out = dict(raw)
    else:
        if not isinstance(parent, str):
            raise InputError("base", f"must be a path (string) to another case file, got {parent!r}")
        chain = chain + (path.resolve(),)
        parent_path = (path.parent / parent).resolve()
        if parent_path in chain:
            raise InputError("base", f"{path} and {parent} inherit from each other; allowed: a chain without cycles")
        below = _read_with_base(parent_path, chain)
        _check_replaced_stack(below, raw)
        out = merged(below, raw)
        out.pop("base")
    sets = out.pop("set", {})
    if not isinstance(sets, dict):
        raise InputError("set", f"must be a table of dotted paths and values, got {sets!r}")
    for key, value in _dotted(sets):
        set_path(out, key, value, field=f"set.{key}")
    return out


def _dotted(table: dict, prefix: str = ""):
    """(dotted path, value) of every value in a ``[set]`` table: ``"layer.ETL.thickness_nm" = 20`` and the
    nested tables TOML makes of ``layer.ETL.thickness_nm = 20`` alike."""
    for k, v in table.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict):
            yield from _dotted(v, key)
        else:
            yield key, v


def _check_replaced_stack(below: dict, raw: dict) -> None:
    """A case whose ``[[layer]]`` list names a layer without its material while its base has a stack most likely
    meant to change that layer of the base's stack, which a list cannot do (it replaces the whole stack)."""
    layers = raw.get("layer")
    if not isinstance(layers, list) or not isinstance(below.get("layer"), list):
        return
    if any(isinstance(e, dict) and "material" not in e for e in layers):
        names = [str(e.get("name", i)) for i, e in enumerate(below["layer"]) if isinstance(e, dict)]
        raise InputError("layer", "a [[layer]] list replaces the whole stack of the base case ("
                                  f"{', '.join(names)}), so each of its layers needs a material; to change one "
                                  "value of a layer of the base, use [set], e.g. \"layer.ETL.thickness_nm\" = 20")


def parse_value(text: str):
    """A ``--set`` value as TOML reads it (a number, true / false, a quoted string, an array); else the bare text."""
    import tomllib

    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def element(items: list, part: str) -> int | None:
    """The index of the element of an array of tables named by ``part``: its ``name``, or its index; else None."""
    if part.isdigit():
        return int(part) if int(part) < len(items) else None
    names = [e.get("name") if isinstance(e, dict) else None for e in items]
    return names.index(part) if part in names else None


def set_path(raw: dict, key: str, value, field: str | None = None) -> None:
    """Set the value at a dotted path of a case's raw tables, in place: tables are created where missing; in an
    array of tables the element is named by its ``name`` or its index (``layer.ETL.thickness_nm``,
    ``trench.0.depth_nm``). A path that names nothing is an InputError naming ``field`` (default ``--set KEY``)."""
    field = field or f"--set {key}"
    parts = key.strip().split(".")
    if not all(parts):
        raise InputError(field, "expected a dotted path, e.g. ageing.barrier_rise_eV or layer.ETL.thickness_nm")
    node, where = raw, ""
    for k, part in enumerate(parts):
        last = k == len(parts) - 1
        if isinstance(node, list):
            at = element(node, part)
            if at is None:
                names = [str(e["name"]) for e in node if isinstance(e, dict) and "name" in e]
                raise InputError(field, f"{where} has no element {part!r}; name one of "
                                        f"{', '.join(names) or '(no names)'} or an index 0..{len(node) - 1}")
            if last:
                raise InputError(field, f"names an element of {where}; add the key to set in it")
            node = node[at]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise InputError(field, f"{where} is a value, not a table")
        where = f"{where}.{part}" if where else part


def apply_sets(raw: dict, sets=()) -> dict:
    """``KEY=VALUE`` overrides (the command line's ``--set``) on a case's raw tables, before validation: KEY a
    dotted path (:func:`set_path`: ``ageing.barrier_rise_eV=0.4``, ``materials.ZnO-NP.Nd_cm3=1e16``,
    ``layer.ETL.thickness_nm=20``), VALUE as TOML reads it (:func:`parse_value`). ``raw`` is not changed. A path
    that names nothing is an InputError naming ``--set``; a value the schema does not allow is reported by
    :func:`validate` with its dotted path."""
    import copy

    out = copy.deepcopy(raw)
    for item in sets:
        key, eq, text = item.partition("=")
        if not eq or not key.strip():
            raise InputError(f"--set {item}", "expected KEY=VALUE with KEY a dotted path, e.g. "
                                              "ageing.barrier_rise_eV=0.4 or layer.ETL.thickness_nm=20")
        set_path(out, key.strip(), parse_value(text.strip()))
    return out


def raw_case(path, sets=()) -> dict:
    """A case file's data as read (with the ``base`` it starts from, if any, and the ``sets`` overrides of
    :func:`apply_sets`), before validation: what a variant of the case is built from (:mod:`femqled.elevation`)."""
    return apply_sets(_read_with_base(path), sets)


def load_case(path, sets=()) -> dict:
    """Read and validate a case file (:func:`raw_case`); the result carries its path as ``case['_path']``."""
    case = validate(raw_case(path, sets))
    case["_path"] = str(path)
    return case


def reference_markdown() -> str:
    """docs/case-reference.md, generated from :data:`CASE_SCHEMA` (a test keeps the file in sync)."""
    from femqled.schema import REQUIRED

    lines = ["# Case file reference", "",
             "Generated from `femqled/case.py` (`python3 -m femqled.case > docs/case-reference.md`). A case is a",
             "TOML file; units are in the key names. Unknown keys, missing required keys, wrong types and",
             "out-of-range values are reported with the key's dotted path and what is allowed. On the command",
             "line, `--set KEY=VALUE` changes one value of a case (a dotted path: `ageing.barrier_rise_eV=0.4`,",
             "`layer.ETL.thickness_nm=20` for a layer by its name, `trench.0.depth_nm=5` by index).", ""]

    def table(name: str, t: Table, array: bool = False):
        header = f"[[{name}]]" if array else (f"[{name}]" if name else "top level")
        lines.extend([f"## `{header}`", ""])
        if t.doc:
            lines.extend([t.doc, ""])
        if t.open:
            lines.extend(["Free keys (see the description above).", ""])
        rows = [(k, f) for k, f in t.fields.items() if not isinstance(f.type, Table)]
        if rows:
            lines.extend(["| key | type | default | allowed | meaning |", "|---|---|---|---|---|"])
            for k, f in rows:
                typ = getattr(f.type, "__name__", str(f.type))
                default = "required" if f.default is REQUIRED else repr(f.default)
                lines.append(f"| `{k}` | {typ} | {default} | {f.describe() or '-'} | {f.doc} |")
            lines.append("")
        for k, f in t.fields.items():
            if isinstance(f.type, Table):
                table(f"{name}.{k}" if name else k, f.type, f.list_of)

    table("", CASE_SCHEMA)
    lines.extend(["## `[materials.NAME]`", "",
                  "Overrides or new materials, merged over `femqled/data/parameters.toml` (where every library",
                  "value has its source). `base = \"NAME\"` inherits from another material. A new material needs",
                  "`role` (" + ", ".join(f"`{r}`" for r in materials.ROLES) + "); a semiconductor the band and",
                  "transport keys, an insulator `eps_r`, a metal `work_function_eV`. Other keys are rejected.", "",
                  "| key | allowed |", "|---|---|"])
    lines.extend(f"| `{k}` | {materials.WORDS[d]} |" for k, d in materials.PARAMETERS.items())
    lines.append("| `statistics` | one of " + ", ".join(f"'{k}'" for k in materials.STATISTICS)
                 + " (default 'boltzmann'; 'single-level': one level per site of capacity Nc_cm3, Nv_cm3, "
                   "femqled/statistics.py; not under a thermionic cathode) |")
    lines.extend(["", "Keys of `[model]` (parameters of no single material):", "", "| key | allowed |", "|---|---|"])
    lines.extend(f"| `{k}` | {materials.WORDS[d]} |" for k, d in materials.MODEL_PARAMETERS.items())
    return "\n".join(lines)


if __name__ == "__main__":
    print(reference_markdown())
