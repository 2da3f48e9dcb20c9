"""What the efficiency elevation costs in this model, and what the paper's predicted instruments read then.

    scripts/femqled-env python3 scripts/elevation_cost.py [--rise 0.9] [--J 10] [--set MATERIAL:KEY=VALUE ...]

On the default case in quasi-1D, the cathode barrier is raised under constant-current operation (bisection on
the barrier) until the luminance at J is (1 + rise) x its pristine value, or the voltage reaches ``--V-max``.
Printed per variant: the pristine voltage and the voltage then (the cost of the rise), and, pristine -> then,
the three readings of issue 7 that are predicted, not fitted (He et al. 2023):

- J at 3 V, and the SKPM reading at 3 V (field within 5 nm of ZnO/Ag, aged / pristine; the largest relative
  change of the field elsewhere; Fig. 3j-k, criteria >= x2 and <= 20 %);
- the C-V onset at 1 kHz (Fig. 2e: 1.4 -> 1.9 V), and on a second line the carriers of the rise (the paper
  reads electrons in the dots) and the bias across each layer at 3 V;
- the minimum ideality over one window, the pristine curve's (Fig. 2d: 3.45 -> 4.14, ratio 1.20);

and a third line: the bias across each layer at the operating point, pristine -> then (where the cost goes).

Without ``--set`` a fixed list of variants runs, each the default with one or two material values changed
(the ZnO film's mobility and doping, the QD film's mobilities, the hole-injection step at PEDOT:PSS/TFB), so
that the cost can be compared across the plausible range (docs/model.md, "What the elevation costs").
``--set`` runs the default and the given variant: ``--set ZnO-NP:mu_n_cm2Vs=1 --set QD:mu_p_cm2Vs=1e-4``
(``model:KEY=VALUE`` for a value of the case's [model] table).
``--thickness ETL=20`` (repeatable) changes a layer of the default case for every variant (the cost of the rise
grows with the ETL's thickness: docs/model.md, "What the elevation costs").
``--charge-near QD`` (or ``Ag``) turns up, instead of the barrier, a fixed negative charge in the 2 nm of the ETL
next to the QD film (or the Ag): what a slow interior variable, e.g. a small part of the acetate drifting away
from the Ag under forward bias, would do.
``--interfacial D0`` degrades the contact by its kinetics instead of its energetics: a Bardeen interfacial layer of
D0 nm (``contacts.interfacial_layer_nm``; its capacitance takes part of the voltage, electrons tunnel through it)
grows in steps of 0.25 nm, the barrier as pristine (the acetate-rich Ag of a trench as a thicker tunnel layer).
``--ions N`` turns up the contact state theta as the ageing does with ``[ions]``: the barrier by
``--barrier-rise`` x theta (default the parameter file's) and mobile anions in the ETL, N x theta per cm^2, in
equilibrium while operating and frozen while measured (femqled/ions.py); ``--ions-layer EML`` puts them in the
QD film instead. Rank 0 prints; runs on any number of ranks.
"""

import argparse
import sys
from pathlib import Path

from mpi4py import MPI

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from femqled import elevation, materials  # noqa: E402
from femqled.device import Device  # noqa: E402
from femqled.elevation import across, cost, knob  # noqa: E402  (the machinery: femqled/elevation.py)
from femqled.errors import InputError, SolverError  # noqa: E402
from femqled.schema import read_toml  # noqa: E402

def _chi(material: str) -> float:
    """Electron affinity (eV) of a library material: a valence edge E_v moves by band_gap = E_v - chi."""
    return materials.library()[material]["electron_affinity_eV"]


VARIANTS = [
    ("default", {}),
    ("ZnO mu_n 1 cm2/Vs", {"ZnO-NP:mu_n_cm2Vs": 1.0}),
    ("ZnO N_D 1e16", {"ZnO-NP:Nd_cm3": 1e16}),
    ("ZnO N_D 1e19", {"ZnO-NP:Nd_cm3": 1e19}),
    ("QD mu_n, mu_p x10", {f"QD:{k}": 10 * materials.library()["QD"][k] for k in ("mu_n_cm2Vs", "mu_p_cm2Vs")}),
    ("TFB 5.5, QD VB 5.55 eV", {"TFB:band_gap_eV": 5.5 - _chi("TFB"), "QD:band_gap_eV": 5.55 - _chi("QD")}),
    ("TFB HOMO 5.6 eV", {"TFB:band_gap_eV": 5.6 - _chi("TFB")}),
]


def raw_case(overrides: dict, thickness: dict | None = None) -> dict:
    """The default case's data with ``{"MATERIAL:KEY" or "model:KEY": value}`` and ``thickness`` (``{layer name:
    nm}`` of its [[layer]] tables), before validation."""
    data = read_toml(ROOT / "cases" / "default.toml", "case", "case file")
    for layer in data["layer"]:
        if layer["name"] in (thickness or {}):
            layer["thickness_nm"] = thickness[layer["name"]]
    for key, value in overrides.items():
        table, name = key.rsplit(":", 1)
        target = data.setdefault("model", {}) if table == "model" else \
            data.setdefault("materials", {}).setdefault(table, {})
        target[name] = value
    return data


def device(overrides: dict, comm, ions: str = "", interfacial_nm: float = 0.0,
           thickness: dict | None = None) -> Device:
    """The quasi-1D default case of :func:`raw_case`, validated as a case file is (``ions``: the layer that holds
    mobile ions, none yet; "" for none; ``interfacial_nm``: a Bardeen interfacial layer at the cathode, nm, 0 for
    none)."""
    return elevation.device(raw_case(overrides, thickness), comm, ions=ions, interfacial_nm=interfacial_nm)


def check(overrides: dict) -> None:
    """Each ``MATERIAL:KEY`` / ``model:KEY`` names a value the parameter file has (InputError otherwise)."""
    for key in overrides:
        table, name = key.rsplit(":", 1)
        known = materials.model_parameters() if table == "model" else materials.library().get(table)
        if known is None:
            raise InputError(f"--set {key}", f"no material {table!r}; known: {', '.join(sorted(materials.library()))}")
        if name not in known:
            raise InputError(f"--set {key}", f"{table} has no value {name!r}; it has: {', '.join(sorted(known))}")


def key_number(item: str, option: str, expected: str) -> tuple[str, float]:
    """``"KEY=NUMBER"`` -> (KEY, NUMBER); InputError naming ``option`` and the item otherwise."""
    key, _, value = item.partition("=")
    try:
        return key, float(value)
    except ValueError:
        raise InputError(f"{option} {item!r}", f"expected {expected}") from None


def parse_sets(items: list[str]) -> dict:
    """``["QD:mu_n_cm2Vs=1e-3", "model:KEY=VALUE"]`` -> ``{"QD:mu_n_cm2Vs": 1e-3, ...}``, each checked against
    the parameter file (InputError naming the item otherwise)."""
    expected = "MATERIAL:KEY=NUMBER or model:KEY=NUMBER"
    over = {}
    for item in items:
        key, value = key_number(item, "--set", expected)
        if ":" not in key:
            raise InputError(f"--set {item!r}", f"expected {expected}")
        over[key] = value
    check(over)
    return over


def parse_thickness(items: list[str]) -> dict:
    """``["ETL=20"]`` -> ``{"ETL": 20.0}``: layers of the default case by name, thicker than 0 nm (InputError
    naming the item otherwise)."""
    names = [layer["name"] for layer in read_toml(ROOT / "cases" / "default.toml", "case", "case file")["layer"]]
    out = {}
    for item in items:
        name, nm = key_number(item, "--thickness", "LAYER=NM with a number of nm")
        if name not in names:
            raise InputError(f"--thickness {item!r}", f"no layer {name!r}; the default case has {', '.join(names)}")
        if not nm > 0:
            raise InputError(f"--thickness {item!r}", "a layer must be thicker than 0 nm")
        out[name] = nm
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rise", type=float, default=0.9, help="luminance rise to reach (default 0.9: +90 %%)")
    ap.add_argument("--J", type=float, default=10.0, help="operating current density, mA/cm2 (default 10)")
    ap.add_argument("--V-max", type=float, default=30.0, help="largest voltage tried (V, default 30)")
    ap.add_argument("--set", action="append", default=[], metavar="MATERIAL:KEY=VALUE",
                    help="a material (or model:) value of the variant (repeatable)")
    ap.add_argument("--charge-near", choices=("QD", "Ag"),
                    help="instead of the barrier, a fixed negative charge (1e12 cm^-2 steps) in the 2 nm of the "
                         "ETL next to the QD film or the Ag: a slow interior variable")
    ap.add_argument("--interfacial", type=float, metavar="D0_NM",
                    help="instead of the barrier, a Bardeen interfacial layer at the cathode, D0_NM thick pristine, "
                         "grown in 0.25 nm steps (tunnelling and the layer's capacitance; barrier as pristine)")
    ap.add_argument("--ions", type=float, metavar="N_CM2",
                    help="the contact state theta as the knob: the barrier rise x theta and N_CM2 x theta mobile "
                         "anions in the layer of --ions-layer (femqled/ions.py)")
    ap.add_argument("--barrier-rise", type=float, default=materials.ageing_parameter("barrier_rise_eV"),
                    help="with --ions: the barrier rise at theta = 1 (eV; default the parameter file's)")
    ap.add_argument("--ions-layer", choices=("ETL", "EML"), default="ETL",
                    help="with --ions: the layer the anions live in (default ETL; EML: the QD film)")
    ap.add_argument("--thickness", action="append", default=[], metavar="LAYER=NM",
                    help="a layer thickness of the variants, e.g. ETL=20 (repeatable)")
    args = ap.parse_args()
    try:
        thick = parse_thickness(args.thickness)
    except InputError as err:
        ap.error(str(err))
    if sum((bool(args.charge_near), args.ions is not None, args.interfacial is not None)) > 1:
        ap.error("--charge-near, --ions and --interfacial are different knobs: give one")
    if args.interfacial is not None and not args.interfacial > 0:
        ap.error(f"--interfacial: the pristine layer must be thicker than 0 nm, got {args.interfacial:g}")
    if args.ions is not None and not (args.ions >= 0 and args.barrier_rise >= 0):
        ap.error("--ions and --barrier-rise must be >= 0")
    comm = MPI.COMM_WORLD
    say = print if comm.rank == 0 else (lambda *a, **k: None)
    variants = VARIANTS
    if args.set:
        try:
            over = parse_sets(args.set)
        except InputError as err:
            ap.error(str(err))
        variants = [VARIANTS[0], (" ".join(args.set), over)]
    what = (f"negative charge in the ETL next to the {args.charge_near} (1e12 cm^-2)" if args.charge_near
            else f"contact state theta: barrier +{args.barrier_rise:g} eV and {args.ions:g} mobile anions per cm2 "
                 f"in the {args.ions_layer} at theta = 1" if args.ions is not None
            else f"interfacial layer at the cathode (nm, {args.interfacial:g} nm pristine)"
            if args.interfacial is not None else "cathode barrier rise (eV)")
    say(f"cost of a {100 * args.rise:+.0f} % luminance rise at {args.J:g} mA/cm2 (quasi-1D"
        f"{''.join(f'; {k} {v:g} nm' for k, v in thick.items())}; {what} raised until then, at most {args.V_max:g} V)")
    say(f"{'variant':>20} | {'V0':>5} -> {'V':>6} {'knob':>5} {'L rise':>7} | J(3 V) pristine -> aged | "
        f"SKPM ZnO/Ag, elsewhere | C-V onset | min ideality")
    for name, over in variants:
        try:
            dev = device(over, comm, ions=args.ions_layer if args.ions is not None else "",
                         interfacial_nm=args.interfacial or 0.0, thickness=thick)
        except InputError as err:                         # a bad --set: one line naming the field
            ap.error(str(err))
        turn = knob(dev, near=args.charge_near, ions=args.ions, barrier_rise=args.barrier_rise,
                    interfacial=args.interfacial)
        try:
            p, e = cost(dev, args.J, args.rise, args.V_max, **turn)
        except SolverError as err:                       # one line, and on to the next variant
            say(f"{name:>20} | failed: {err}")
            continue
        near, change = e["skpm"]
        say(f"{name:>20} | {p['V']:5.2f} -> {e['V']:6.2f} {e['knob']:5.3g} {100 * (e['L'] / p['L'] - 1):+6.0f}% | "
            f"{p['J3']:7.1f} -> {e['J3']:7.2f} mA/cm2 | x{near:5.2f}, {100 * change:4.0f} % | "
            f"{p['onset']:.2f} -> {e['onset']:.2f} V | {p['eta']:.2f} -> {e['eta']:.2f} (x{e['eta'] / p['eta']:.2f})")
        say(f"{'':>20}   C-V rise: {p['rise']} -> {e['rise']}; {across(p, e, 'drops', 'at 3 V')}")
        say(f"{'':>20}   {across(p, e, 'drops_op', f'at {args.J:g} mA/cm2')}")


if __name__ == "__main__":
    main()
