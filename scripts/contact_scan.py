"""How a degrading cathode acts on the device at constant current (docs/model.md, "Why the contact matters").

    scripts/femqled-env python3 scripts/contact_scan.py [J_mA_cm2]

On the default case in quasi-1D: raise the cathode barrier by dPhi (thermionic contact), then thicken an
interfacial (Bardeen) layer instead, and print V, eta_X, the mean QD electron density and the luminance at the
operating current, and at 3 V the current and the SKPM reading against the pristine contact (the field within 5 nm
of ZnO/Ag, aged over pristine, and the largest change elsewhere: He et al. 2023 Fig. 3j-k, issue 7's criteria >= x2
and <= 20 %); then the contact-limit test (femqled.instruments.contact_limit) at 10 / 30 / 50 / 100 mA cm^-2: the
largest EL and PL rise a degrading cathode can give up to the 10 V compliance. Rank 0 prints; runs on any number of
ranks.
"""

import sys
from pathlib import Path

from mpi4py import MPI

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from femqled.case import load_case  # noqa: E402
from femqled.device import Device  # noqa: E402
from femqled.errors import SolverError  # noqa: E402
from femqled.instruments import contact_limit, skpm  # noqa: E402


def line(label, op):
    x = op.extra
    return (f"{label:>22}  V = {op.V:7.3f} V  eta_X = {x['eta_X']:.3f}  n_QD = {x['n_qd_mean_cm3']:.2e} cm^-3  "
            f"L = {x['luminance_cd_m2']:7.1f} cd/m2")


def scan(dev, label, values, setter, J, say, reference=None):
    """Operate at J for each contact value, then at 3 V: J and the SKPM reading against ``reference`` (the first
    profile if None). Returns the reference profile."""
    y_if = float(dev.mesh.comm.allreduce(dev.mesh.geometry.x[:, 1].max(), op=MPI.MAX))    # flat ZnO/Ag
    for d in values:
        setter(d)
        try:
            op = dev.operate(J)
        except SolverError as e:
            say(f"{label} = {d:.2f}: {e}")
            break
        text = f"  | 3 V: J = {dev.solve(3.0).J:7.1f} mA/cm2"
        prof = skpm.profile(dev)
        if reference is None:
            reference = prof
        else:
            near, change = skpm.compare(reference, prof, y_if)
            text += f", SKPM x{near:.2f} at ZnO/Ag, {100 * change:.0f} % elsewhere"
        say(line(f"{label} = {d:.2f}", op) + text)
    return reference


def main():
    comm = MPI.COMM_WORLD
    J = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    say = print if comm.rank == 0 else (lambda *a, **k: None)
    case = load_case(ROOT / "cases" / "default.toml")
    case["geometry"]["quasi_1d"] = True
    dev = Device(case, comm)
    say(f"cathode barrier rise at {J:g} mA/cm2 (quasi-1D default case)")
    c = dev.contacts
    ref = scan(dev, "dPhi_B (eV)", (0.0, 0.1, 0.2, 0.25, 0.3, 0.35), lambda d: c.set_barrier(c.barrier0_eV + d),
               J, say)
    case["contacts"]["interfacial_layer_nm"] = 0.1
    dev = Device(case, comm)
    say("interfacial layer instead (barrier as pristine)")
    scan(dev, "d_i (nm)", (0.1, 1.0, 2.0, 2.5, 3.0), dev.contacts.set_interfacial_layer, J, say, ref)
    case["contacts"]["interfacial_layer_nm"] = 0.0
    say("contact-limit test (10 V compliance)")
    for Jl in (10.0, 30.0, 50.0, 100.0):
        r = contact_limit.run(Device(case, comm), Jl, V_c=10.0)
        p, lim = r["pristine"], r["limit"]
        say(f"{Jl:>5g} mA/cm2  V0 = {p['V']:.3f} V  eta_X {p['eta_X']:.3f} -> {lim['eta_X']:.3f}  EQE "
            f"{100 * p['EQE']:.1f} -> {100 * lim['EQE']:.1f} %  EL {100 * r['EL_rise_limit']:+.1f} %  "
            f"PL {100 * r['PL_rise_limit']:+.1f} %  (barrier +{lim['barrier_rise_eV']:.3f} eV)")


if __name__ == "__main__":
    main()
