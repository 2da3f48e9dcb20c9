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

import numpy as np
from mpi4py import MPI

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from femqled import materials  # noqa: E402
from femqled.case import validate  # noqa: E402
from femqled.device import Device  # noqa: E402
from femqled.errors import InputError, SolverError  # noqa: E402
from femqled.instruments import cv, jv, skpm  # noqa: E402
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


def device(overrides: dict, comm, ions: str = "", interfacial_nm: float = 0.0,
           thickness: dict | None = None) -> Device:
    """The quasi-1D default case with ``{"MATERIAL:KEY" or "model:KEY": value}``, validated as a case file is
    (``ions``: the layer that holds mobile ions, none yet; "" for none; ``interfacial_nm``: a Bardeen interfacial
    layer at the cathode, nm, 0 for none; ``thickness``: ``{layer name: nm}`` of the case's [[layer]] tables)."""
    data = read_toml(ROOT / "cases" / "default.toml", "case", "case file")
    data.setdefault("geometry", {})["quasi_1d"] = True
    for layer in data["layer"]:
        if layer["name"] in (thickness or {}):
            layer["thickness_nm"] = thickness[layer["name"]]
    if interfacial_nm:
        data.setdefault("contacts", {})["interfacial_layer_nm"] = interfacial_nm
    if ions:
        data["ions"] = {"layer": ions}
    for key, value in overrides.items():
        table, name = key.rsplit(":", 1)
        target = data.setdefault("model", {}) if table == "model" else \
            data.setdefault("materials", {}).setdefault(table, {})
        target[name] = value
    return Device(validate(data), comm)


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


def operating_drops(dev) -> dict:
    """Bias (V) across each layer at the present state (the operating point: where the cost of a rise goes)."""
    return skpm.layer_drops(skpm.profile(dev), dev.dm.layout)


def readings(dev, ss, floor=None) -> dict:
    """J and SKPM profile at 3 V, C-V onset (0-3 V, 1 kHz), minimum ideality over J > floor (0.4-4 V)."""
    try:
        J3 = dev.solve(3.0).J
    except SolverError:          # the path down from the operating point through a changed contact: from 0 V
        dev.reset()
        J3 = dev.solve(3.0).J
    out = {"J3": J3, "profile": skpm.profile(dev)}
    out["drops"] = skpm.layer_drops(out["profile"], dev.dm.layout)
    Vc = np.round(np.arange(0.0, 3.0 + 1e-9, 0.1), 6)
    C, parts = [], []
    for V in Vc:
        dev.solve(float(V))
        C.append(ss.capacitance(1e3)[0] * 1e9)
        parts.append(ss.charge_response())
    out["onset"] = cv.onset_voltage(Vc, C)
    out["rise_shares"] = cv.rise_carriers(Vc, C, {k: [q[k] for q in parts] for k in parts[0]})
    out["rise"] = cv.describe_rise(out["rise_shares"])
    Vj = np.round(np.arange(0.4, 4.0 + 1e-9, 0.05), 6)
    J = np.array([dev.solve(float(V)).J for V in Vj])
    out["floor"] = jv.ideality_floor(J) if floor is None else floor
    out["eta"] = jv.min_ideality(Vj, J, J_min=out["floor"])[0]
    return out


def charge_near(dev, side: str):
    """A setter of a fixed negative charge, d x 1e12 cm^-2, spread over the 2 nm of the ETL next to ``side``
    ("QD" or "Ag"): the probe of a slow interior variable (docs/model.md, "What the elevation costs")."""
    import ufl
    from dolfinx import fem
    from dolfinx.mesh import compute_midpoints

    cells = dev.dm.cells("ETL")
    y = compute_midpoints(dev.mesh, 2, cells.astype(np.int32))[:, 1]
    lo = dev.comm.allreduce(y.min() if y.size else np.inf, op=MPI.MIN)
    hi = dev.comm.allreduce(y.max() if y.size else -np.inf, op=MPI.MAX)
    sel = cells[y < lo + 2.0] if side == "QD" else cells[y > hi - 2.0]
    ind = fem.Function(dev.mat.Q)
    ind.x.array[sel] = 1.0
    area = dev.comm.allreduce(fem.assemble_scalar(fem.form(ind * ufl.dx(domain=dev.mesh))), op=MPI.SUM)
    thickness_cm = area / dev.width() * 1e-7

    def setter(d):
        dev.rho_fixed.x.array[:] = 0.0
        dev.rho_fixed.x.array[sel] = -dev.sc.density(d * 1e12 / thickness_cm)
    return setter


def contact_state(dev, barrier_rise_eV: float, ions_cm2: float):
    """A setter of the contact state theta as the ageing applies it with ``[ions]``: barrier Phi_B0 + dPhi theta
    and ``ions_cm2`` x theta mobile anions in the ETL."""
    c = dev.contacts

    def setter(theta):
        c.set_barrier(c.barrier0_eV + barrier_rise_eV * theta)
        dev.ions.set_inventory(ions_cm2 * theta)
    return setter


def knob(dev, near: str | None = None, ions: float | None = None, barrier_rise: float = 0.0,
         interfacial: float | None = None) -> dict:
    """The keyword arguments of :func:`cost` that turn up one hypothesis on ``dev``: a fixed charge next to
    ``near``, the contact state with ``ions`` anions per cm^2 (and ``barrier_rise``), a tunnel layer grown from
    ``interfacial`` nm; none of them: the cathode barrier."""
    if near:
        return {"knob": charge_near(dev, near), "step": 1.0, "most": 100.0}
    if interfacial is not None:
        return {"knob": lambda d, c=dev.contacts: c.set_interfacial_layer(interfacial + d), "step": 0.25,
                "most": 5.0}
    if ions is not None:
        return {"knob": contact_state(dev, barrier_rise, ions), "step": 0.05, "most": 1.0}
    return {}


def cost(dev, J: float, rise: float, V_max: float, bisections: int = 14, knob=None,
         step: float = 0.05, most: float = 2.0) -> tuple[dict, dict]:
    """(pristine, elevated): operating point (``record``: its emission record) and readings of the device as it
    is, and with the barrier raised (or ``knob(d)`` turned up from 0 in steps of ``step``, at most ``most``) until
    L = (1 + rise) L0 (or the largest rise below V_max)."""
    c = dev.contacts
    ss = cv.SmallSignal(dev)
    y_if = float(dev.comm.allreduce(dev.mesh.geometry.x[:, 1].max(), op=MPI.MAX))    # flat ZnO/Ag
    knob = knob or (lambda d: c.set_barrier(c.barrier0_eV + d))

    def at(d):
        knob(d)
        try:
            return dev.operate(J, V_max=V_max)
        except SolverError:
            return None

    op0 = at(0.0)
    if op0 is None:
        raise SolverError(f"the device as it is cannot be operated at {J:g} mA/cm2 below {V_max:g} V")
    L0 = op0.extra["luminance_cd_m2"]
    p = {"knob": 0.0, "V": op0.V, "L": L0, "eta_X": op0.extra["eta_X"], "record": dict(op0.extra),
         "drops_op": operating_drops(dev), **readings(dev, ss)}

    def done(op):
        return op is None or op.extra["luminance_cd_m2"] >= (1 + rise) * L0

    lo, hi = 0.0, step
    while not done(at(hi)) and hi < most:
        lo, hi = hi, hi + step
    for _ in range(bisections):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if done(at(mid)) else (mid, hi)
    op = at(lo)
    e = {"knob": lo, "V": op.V, "L": op.extra["luminance_cd_m2"], "eta_X": op.extra["eta_X"],
         "record": dict(op.extra), "drops_op": operating_drops(dev), **readings(dev, ss, p["floor"])}
    e["skpm"] = skpm.compare(p["profile"], e["profile"], y_if)
    return p, e


def across(p: dict, e: dict, key: str, where: str) -> str:
    """"<where> across HIL / HTL / ...: pristine drops -> elevated drops V" from the ``key`` of two readings."""
    volts = [" / ".join(f"{v:.2f}" for v in r[key].values()) for r in (p, e)]
    return f"{where} across {' / '.join(p[key])}: {volts[0]} -> {volts[1]} V"


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
