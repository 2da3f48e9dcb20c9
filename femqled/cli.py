"""The command line: ``femqled <command> CASE [options]`` (also ``python3 -m femqled``), under mpirun or not.

Commands: mesh, jv, demo, age (lifetime test), cv, spectrum, limit, bands, skpm, sims, rebuild, sweep, plot,
calibrate, mechanisms, hypotheses, paper, compare (paper runs side by side).
Instruments that measure a state take ``--state CHECKPOINT`` to measure an aged state saved by ``age``
(default: pristine).
Bad input prints one line naming the field and what is allowed, and exits with status 2; a solver failure
prints one line saying what failed and where the last good state was written, and exits with status 3.
"""

from __future__ import annotations

import argparse
import sys
import time

from mpi4py import MPI

from pathlib import Path

from femqled.errors import InputError, SolverError


def cmd_mesh(args, comm=MPI.COMM_WORLD) -> int:
    from femqled import io, mesh as fmesh, viz
    from femqled.case import load_case

    case = load_case(args.case, args.set)
    t0 = time.perf_counter()
    dm = fmesh.device_mesh(case, comm)
    t_mesh = time.perf_counter() - t0
    out = io.results_dir(case, args.out, comm)
    io.write_mesh_xdmf(dm, out / "mesh.xdmf")
    pics = [viz.plot_regions(dm, out / "mesh.png"),
            viz.plot_regions(dm, out / "mesh_cathode.png", zoom="cathode")]
    summary = {"mesh_file": str(dm.path), "cells": dm.num_cells_global(), "vertices": dm.num_vertices_global(),
               "min_angle_deg": fmesh.min_angle_deg(dm), "seconds": t_mesh,
               "regions": dm.layout.regions, "facets": dm.layout.facets}
    io.write_json(out / "mesh.json", summary, comm=comm)
    io.write_manifest(out, case, "mesh", comm=comm)
    io.say(f"mesh: {summary['cells']} cells, {summary['vertices']} vertices, min angle "
           f"{summary['min_angle_deg']:.1f} deg ({t_mesh:.1f} s); cached at {dm.path}", comm=comm)
    io.say(f"wrote {out / 'mesh.xdmf'} (ParaView), {pics[0] if pics[0] else ''} and the cathode close-up, "
           f"{out / 'mesh.json'}", comm=comm)
    return 0


def _voltages(spec: str):
    import numpy as np

    try:
        a, b, step = (float(v) for v in spec.split(":"))
        if step <= 0 or b < a:
            raise ValueError
    except ValueError:
        raise InputError("--V", f"{spec!r} is not START:STOP:STEP with STEP > 0 and STOP >= START") from None
    return np.round(np.arange(a, b + step / 2, step), 10)


def _setup(args, comm, acetate: bool = False):
    """(case, results dir, device, ageing or None): the state to measure, pristine or ``--state``."""
    from femqled import io
    from femqled.case import load_case

    case = load_case(args.case, args.set)
    if getattr(args, "quasi_1d", False):
        case["geometry"]["quasi_1d"] = True
    out = io.results_dir(case, args.out, comm)
    state = getattr(args, "state", None)
    if state or acetate:
        from femqled.ageing import Ageing

        ag = Ageing(case, comm)
        if state:
            if not Path(state).is_file():
                raise InputError("--state", f"no such checkpoint: {state} (written by 'femqled age' as "
                                            "<results>/checkpoint.npz)")
            ag.restore(state)
        return case, out, ag.device, ag
    from femqled.device import Device

    return case, out, Device(case, comm), None


def cmd_jv(args, comm=MPI.COMM_WORLD) -> int:
    from femqled import io
    from femqled.instruments import jv

    voltages = _voltages(args.V)                  # a bad --V is reported before the device is built
    case, out, dev, _ = _setup(args, comm)
    io.say(f"jv: {3 * dev.S.dofmap.index_map.size_global} unknowns on {dev.comm.size} rank(s)", comm=comm)
    dev.solve(0.0)
    rows, summary = jv.run(dev, voltages, out, progress=not args.quiet)
    io.write_manifest(out, case, "jv", {"summary": summary}, comm=comm)
    io.say(_jv_line(summary) + f"\nwrote {out / 'jv.csv'}, {out / 'jv.json'}, {out / 'jv.png'}", comm=comm)
    return 0


def _jv_line(s: dict) -> str:
    parts = [f"{s['points']} points in {s['wall_s']:.1f} s", f"min ideality {s['min_ideality']:.2f}"]
    if "turn_on_V" in s:
        parts.append(f"turn-on (1 cd/m2) {s['turn_on_V']:.2f} V")
        parts.append(f"max EQE {100 * s['max_EQE']:.2f} %")
    if "eta_X_at_10mA" in s:
        parts.append(f"at 10 mA/cm2: V {s['V_at_10mA']:.2f} V, eta_X {s['eta_X_at_10mA']:.3f}, "
                     f"EQE {100 * s['EQE_at_10mA']:.2f} %, L {s['luminance_cd_m2_at_10mA']:.3g} cd/m2")
    return "jv: " + "; ".join(parts)


def cmd_demo(args, comm=MPI.COMM_WORLD) -> int:
    """The main job on a case: mesh, J-V sweep, fields at 3 V for ParaView, pictures."""
    from femqled import io, viz
    from femqled.case import load_case
    from femqled.device import Device
    from femqled.fields import FieldWriter, write_xdmf_potentials
    from femqled.instruments import jv

    voltages = _voltages(args.V)
    case = load_case(args.case, args.set)
    out = io.results_dir(case, args.out, comm)
    dev = Device(case, comm)
    io.say(f"demo: {case['title'] or args.case}\n      {dev.dm.num_cells_global()} cells, "
           f"{3 * dev.S.dofmap.index_map.size_global} unknowns, {dev.comm.size} MPI rank(s)", comm=comm)
    viz.plot_regions(dev.dm, out / "regions.png")
    rows, summary = jv.run(dev, voltages, out, progress=not args.quiet)
    io.say(_jv_line(summary), comm=comm)
    dev.solve(args.field_bias)
    fw = FieldWriter(dev)
    paths = fw.write(out, stem=f"fields_{args.field_bias:g}V")
    fw.close()
    write_xdmf_potentials(dev, out / f"potentials_{args.field_bias:g}V.xdmf")
    at = f"at {args.field_bias:g} V"
    n = fw.vertex_values("n")
    viz.plot_field(dev.dm, n, out / "n_log10.png", name="n (cm^-3)", log=True, title=f"n (cm^-3) {at}")
    viz.plot_field(dev.dm, fw.vertex_values("psi"), out / "psi.png", name="psi (V)", title=f"psi (V) {at}")
    viz.plot_field(dev.dm, n, out / "n_cathode.png", name="n (cm^-3)", log=True, zoom="cathode",
                   title=f"n (cm^-3) near the cathode {at}")
    io.write_manifest(out, case, "demo", {"summary": summary}, comm=comm)
    io.say(f"demo: results in {out}/\n      jv.csv, jv.json, jv.png (J-V, EQE, eta_X), "
           f"{paths[0].name} + {paths[1].name} (ParaView: fields at {args.field_bias:g} V), "
           f"potentials_{args.field_bias:g}V.xdmf, regions.png, n_log10.png, psi.png, n_cathode.png, "
           "manifest.json", comm=comm)
    return 0


def cmd_age(args, comm=MPI.COMM_WORLD) -> int:
    """Constant-current ageing (the lifetime test): acetate into the Ag, contact degradation, the time series."""
    from femqled import budget, io
    from femqled.ageing import Ageing
    from femqled.case import load_case
    from femqled.instruments import lifetime

    case = load_case(args.case, args.set)
    if args.hours is not None:
        case["ageing"]["hours"] = args.hours
    if args.J is not None:
        case["ageing"]["J_mA_cm2"] = args.J
    if args.quasi_1d:
        case["geometry"]["quasi_1d"] = True
    out = io.results_dir(case, args.out, comm)
    ag = Ageing(case, comm)
    failed = None
    try:
        rows = ag.run(out, progress=not args.quiet, resume=args.resume, stops=args.stops or ())
    except SolverError as e:                     # the summary of what was reached, then the one-line failure
        rows, failed = ag.rows, e
    summary = lifetime.summarize(rows, ag.stopped)
    summary["failed"] = failed and str(failed)
    b = budget.of_test(ag.device.emission, rows)
    if b:
        summary["rise_budget"] = b["parts"]          # the points of the rise each channel gave up (femqled/budget.py)
    io.write_json(out / "lifetime.json", summary, comm=comm)
    if comm.rank == 0:
        lifetime.plot(rows, summary, out / "lifetime.png")
    io.write_manifest(out, case, "age", {"summary": summary}, comm=comm)
    if failed is not None:
        raise failed
    first, last = rows[0], rows[-1]
    io.say(f"age: {last['t_h']:g} h at {case['ageing']['J_mA_cm2']:g} mA/cm2 in {len(rows) - 1} steps: "
           f"L x{last['luminance_cd_m2'] / first['luminance_cd_m2']:.3f} (max {1 + summary['elevation']:.3f} at "
           f"{summary['elevation_duration_h']:.3g} h), V {first['V']:.3f} -> {last['V']:.3f} V, "
           f"eta_X {first['eta_X']:.4f} -> {last['eta_X']:.4f}, theta {last['theta_mean']:.3f}; "
           f"wrote {out / 'ageing.csv'}, lifetime.json, lifetime.png, checkpoint.npz (the end) and at_max.npz "
           "(the luminance maximum)", comm=comm)
    if b:
        io.say(f"age: where the rise comes from (femqled/budget.py): {budget.sentence(b)}", comm=comm)
    return 0


def cmd_cv(args, comm=MPI.COMM_WORLD) -> int:
    from femqled import io
    from femqled.instruments import cv

    voltages = _voltages(args.V)
    case, out, dev, _ = _setup(args, comm)
    dev.solve(0.0)
    rows, summary = cv.run(dev, voltages, out, f_Hz=args.f, progress=not args.quiet)
    io.write_manifest(out, case, "cv", {"summary": summary}, comm=comm)
    io.say(f"cv: {summary['points']} points at {args.f:g} Hz in {summary['wall_s']:.1f} s; onset of the "
           f"capacitance rise {summary['onset_V']:.2f} V ({cv.describe_rise(summary['rise_carriers'])}); "
           f"wrote {out / 'cv.csv'}, cv.json, cv.png", comm=comm)
    return 0


def cmd_spectrum(args, comm=MPI.COMM_WORLD) -> int:
    from femqled import io
    from femqled.instruments import spectrum

    case, out, dev, _ = _setup(args, comm)
    m = spectrum.run(dev, out, J_mA_cm2=None if args.V is not None else args.J, V=args.V)
    io.write_manifest(out, case, "spectrum", {"summary": io.scalars(m)}, comm=comm)
    channels = {"X": "share_X", "X-": "share_trion", "X+": "share_trion_pos", "HTL": "share_HTL"}
    if not dev.emission.both_trions:                     # X+ only where told apart
        del channels["X+"]
    shares = "/".join(channels) + " " + "/".join(f"{m[k]:.2f}" for k in channels.values())
    io.say(f"spectrum: at {m['J_mA_cm2']:.3g} mA/cm2, {m['V']:.3f} V: peak {m['peak_nm']:.1f} nm, FWHM "
           f"{m['fwhm_nm']:.1f} nm, L {m['luminance_cd_m2']:.4g} cd/m2, EQE {100 * m['EQE']:.2f} %, "
           f"eta_X {m['eta_X']:.3f}, PL yield {m['PL_yield']:.3f}; photons {shares}; wrote "
           f"{out / 'spectrum.csv'}, spectrum.json, spectrum.png", comm=comm)
    return 0


def cmd_limit(args, comm=MPI.COMM_WORLD) -> int:
    from femqled import io
    from femqled.instruments import contact_limit

    case, out, dev, _ = _setup(args, comm)
    V_c = args.compliance if args.compliance is not None else case["ageing"]["compliance_V"]
    results = []
    for J in args.J:
        r = contact_limit.run(dev, J, V_c=V_c)
        results.append(r)
        io.say(f"limit: {J:g} mA/cm2: EL {100 * r['EL_rise_limit']:+.1f} %, PL {100 * r['PL_rise_limit']:+.1f} % "
               f"at {r['limit']['V']:.3g} V{' (the compliance)' if r['at_compliance'] else ', the peak'} "
               f"(eta_X {r['pristine']['eta_X']:.3f} -> {r['limit']['eta_X']:.3f}, barrier "
               f"+{r['limit']['barrier_rise_eV']:.3f} eV; X in dots with an extra hole "
               f"{100 * r['pristine']['X_in_hole_charged_dots']:.0f} -> "
               f"{100 * r['limit']['X_in_hole_charged_dots']:.0f} %)", comm=comm)
    contact_limit.write(results, out, comm)
    io.write_manifest(out, case, "limit", {"summary": {f"J{r['J_mA_cm2']:g}": io.scalars(r)
                                                        for r in results}}, comm=comm)
    io.say(f"limit: wrote {out / 'limit.csv'}, limit.json, limit.png", comm=comm)
    return 0


def cmd_skpm(args, comm=MPI.COMM_WORLD) -> int:
    from femqled import io
    from femqled.instruments import skpm

    case, out, dev, _ = _setup(args, comm)
    prof = skpm.run(dev, args.V, out, lines=args.lines, hold=args.hold)
    summary = {"V": args.V, "hold": args.hold, "drops_V": prof["drops_V"],
               "max_field_MV_cm": float(abs(prof["E_MV_cm"]).max()), "cathode_surface": prof["surface"]}
    io.write_manifest(out, case, "skpm", {"summary": summary}, comm=comm)
    drops = ", ".join(f"{k} {v:.2f}" for k, v in prof["drops_V"].items())
    surface = prof["surface"]
    held = ", the mobile ions settled there" if args.hold and dev.ions is not None else ""
    io.say(f"skpm: potential and field at {args.V:g} V{held}, averaged over {args.lines} lines; largest field "
           f"{abs(prof['E_MV_cm']).max():.3g} MV/cm; across the layers (V): {drops}; at the cathode, what its "
           f"contact law sees: field {surface['E_MV_cm']:+.3f} MV/cm, electrons {surface['n_cm3']:.3g} cm-3; "
           f"wrote {out / 'skpm.csv'}, skpm.json, skpm.png", comm=comm)
    return 0


def cmd_bands(args, comm=MPI.COMM_WORLD) -> int:
    """Band diagram along a vertical cutline at a bias (default 0 V) or a current: E_c, E_v, E_Fn, E_Fp."""
    import numpy as np

    from femqled import io
    from femqled.instruments import bands

    case, out, dev, _ = _setup(args, comm)
    if args.J is not None:
        dev.operate(args.J)
        at = f"{args.J:g} mA/cm2 ({dev.bias:.3g} V)"
    else:
        dev.solve(args.V or 0.0)
        at = f"{dev.bias:g} V"
    label = "aged" if args.state else "pristine"
    x = bands.position(dev.dm, args.x)
    res = bands.run(dev, out, x_nm=x, title=f"{label}, {at}; cutline x = {x:.0f} nm")
    io.write_manifest(out, case, "bands", {"summary": {k: v for k, v in res.items() if k != "bands"}}, comm=comm)
    b = res["bands"]
    split = b["EFn_eV"] - b["EFp_eV"]
    k = int(np.nanargmax(split))
    io.say(f"bands: the {label} state at {at}, cutline x = {res['x_nm']:g} nm; largest quasi-Fermi level splitting "
           f"{split[k]:.3f} eV at y = {b['y_nm'][k]:.1f} nm; wrote {out / 'bands.csv'}, bands.json, bands.png",
           comm=comm)
    return 0


def cmd_sims(args, comm=MPI.COMM_WORLD) -> int:
    from femqled import io
    from femqled.instruments import sims

    case, out, dev, ag = _setup(args, comm, acetate=True)
    p = sims.run(ag.acetate, out, resolution_nm=args.resolution)
    io.write_manifest(out, case, "sims", {"summary": io.scalars(p)}, comm=comm)
    io.say(f"sims: depth profiles (resolution {args.resolution:g} nm); acetate above 10 % of its peak "
           f"{p['acetate_penetration_into_Ag_nm']:.2f} nm into the Ag; wrote {out / 'sims.csv'}, sims.json, "
           "sims.png", comm=comm)
    return 0


def cmd_rebuild(args, comm=MPI.COMM_WORLD) -> int:
    from femqled import io
    from femqled.instruments import rebuild

    if not args.state:
        raise InputError("--state", "rebuild needs the aged state: --state <results>/checkpoint.npz")
    if not 0.0 <= args.residual <= 1.0:
        raise InputError("--residual", f"must be within 0..1, got {args.residual:g}")
    state = args.state
    if not Path(state).is_file():
        raise InputError("--state", f"no such checkpoint: {state}")
    voltages = _voltages(args.V)
    args.state = None                       # _setup: pristine first; rebuild restores the aged state itself
    case, out, dev, ag = _setup(args, comm, acetate=True)
    res = rebuild.run(ag, state, out, voltages, J_mA_cm2=args.J, residual=args.residual)
    io.write_manifest(out, case, "rebuild", {"summary": res["states"]}, comm=comm)
    s = res["states"]
    io.say("rebuild: EQE at {:g} mA/cm2: ".format(args.J) + ", ".join(
        f"{k} {100 * v['EQE_at_J']:.2f} %" for k, v in s.items()) +
        f"; recovery ZnO/Ag {s['rebuilt ZnO/Ag']['EQE_recovery']:.2f}, Ag {s['rebuilt Ag']['EQE_recovery']:.2f}; "
        f"wrote {out / 'rebuild.json'}, rebuild.csv, rebuild.png", comm=comm)
    return 0


def cmd_plot(args, comm=MPI.COMM_WORLD) -> int:
    """2D pictures of the pristine state and, with --state, of that state beside it: psi, n, p, recombination
    channels, acetate near the Ag; with --state also one figure comparing the two near the trench."""
    from femqled import io, viz

    state = args.state
    if state and not Path(state).is_file():
        raise InputError("--state", f"no such checkpoint: {state} (written by 'femqled age' as "
                                    "<results>/checkpoint.npz)")
    args.state = None                              # the pristine state first, the checkpoint's after it
    case, out, dev, ag = _setup(args, comm, acetate=True)
    if args.J is not None:
        at, where = f"{args.J:g}mA", f"{args.J:g} mA/cm2"

        def bring():
            dev.operate(args.J)
    else:
        V = 3.0 if args.V is None else args.V
        at, where = f"{V:g}V", f"{V:g} V"

        def bring():
            dev.solve(V)
    images = {}
    bring()
    images[f"pristine_{at}"] = viz.state_images(dev, ag.acetate)
    if state:
        ag.restore(state)
        bring()
        images[f"aged_{at}"] = viz.state_images(dev, ag.acetate)
    paths = viz.draw_states({label: (img, out) for label, img in images.items()})
    what = "pristine and aged states" if state else "pristine state"
    if state:
        paths.append(viz.compare_states(images, out / f"states_{at}.png"))
    io.write_manifest(out, case, "plot", comm=comm)
    io.say(f"plot: {len([p for p in paths if p])} pictures of the {what} at {where} in {out}/ (psi, n, p, "
           f"R_X, R_trion, R_trap, n near the cathode, acetate near the Ag"
           + (f"; both side by side near the trench: states_{at}.png)" if state else ")"), comm=comm)
    return 0


def cmd_paper(args, comm=MPI.COMM_WORLD) -> int:
    """Reproduce the study's figures; REPORT.md with simulated vs measured values (femqled/paper.py)."""
    from femqled import io, paper

    out = Path(args.out or "results/paper")
    rep = paper.run(args.case, out, comm, quick=args.quick, preset="fine" if args.fine else "default",
                    resume=args.resume, sets=args.set)
    passed = sum(r["pass"] for r in rep["rows"])
    io.say(f"paper: {passed} of {len(rep['rows'])} rows pass; wrote {out / 'REPORT.md'}", comm=comm)
    if rep["failures"]:                           # the report is written; the exit status says it is incomplete
        raise SolverError(f"{len(rep['failures'])} measurement(s) of the study failed; REPORT.md names them")
    return 0


def cmd_compare(args, comm=MPI.COMM_WORLD) -> int:
    """Runs of `femqled paper` side by side (femqled/compare.py)."""
    from femqled import compare, io

    out = Path(args.out or "results/compare")
    res = compare.run(args.dirs, out, labels=args.labels, comm=comm)
    io.say(res["markdown"], comm=comm)
    io.say(f"compare: wrote {out / 'compare.md'}, compare.csv, compare.json", comm=comm)
    return 0


def cmd_calibrate(args, comm=MPI.COMM_WORLD) -> int:
    """Least-squares fit of case parameters to a targets file (femqled/calibrate.py)."""
    from femqled import calibrate, io
    from femqled.case import load_case

    case = load_case(args.case, args.set)
    if args.quasi_1d:
        case["geometry"]["quasi_1d"] = True
    if args.fine:
        from femqled import quality

        case = quality.apply(case, "fine")
    spec = calibrate.load_targets(args.targets)
    if args.max_evaluations is not None:
        spec["max_evaluations"] = args.max_evaluations
    out = io.results_dir(case, args.out, comm) / "calibration"
    if comm.rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    comm.barrier()
    record = calibrate.fit(case, spec, out, comm, say=lambda m: io.say(m, comm=comm))
    io.write_manifest(out, case, "calibrate", {"targets": spec, "parameters": record["parameters"]}, comm=comm)
    io.say(calibrate.report(record) + f"\nwrote {out / 'calibration.json'}, {out / 'calibrated.toml'}", comm=comm)
    return 0


def cmd_mechanisms(args, comm=MPI.COMM_WORLD) -> int:
    """The acetate-driving kinetics side by side (femqled/mechanisms.py)."""
    from femqled import io, mechanisms
    from femqled.case import load_case

    case = load_case(args.case, args.set)
    if args.quasi_1d:
        case["geometry"]["quasi_1d"] = True
    out = io.results_dir(case, args.out, comm) / "mechanisms"
    res = mechanisms.run(case, out, comm, hours_scale=args.hours_scale)
    io.write_manifest(out, case, "mechanisms", {"result": res}, comm=comm)
    lines = [f"mechanisms: paper exponent {res['paper_exponent']:.2f}"]
    for kin, r in res["kinetics"].items():
        jdep = "yes" if r["reproduces_J_dependence"] else "no "
        lines.append(f"  {kin:<10} m = {r['exponent']:5.2f}  J-dependence {jdep}"
                     f"  acetate into Ag x{r['acetate_into_Ag_vs_diffusion']:.3g} vs diffusion "
                     f"({'driven in' if r['drives_acetate_into_Ag'] else 'not driven in'})")
    lines.append(f"  explain both: {', '.join(res['explains_both']) or 'none'}; wrote {out / 'mechanisms.png'}")
    io.say("\n".join(lines + [f"  stopped: {f}" for f in res["failed"]]), comm=comm)
    if res["failed"]:
        raise SolverError(f"{len(res['failed'])} of the lifetime tests stopped (listed above)")
    return 0


def cmd_hypotheses(args, comm=MPI.COMM_WORLD) -> int:
    """The scorecard of the hypotheses of the elevation on a case (femqled/hypotheses.py)."""
    from femqled import hypotheses, io
    from femqled.case import load_case, raw_case
    from femqled.elevation import roles

    case = load_case(args.case, args.set)            # bad input: one line before anything runs
    roles(case)                                      # ... and a stack the hypotheses cannot act on
    if args.fit:
        return _fit_hypothesis(args, case, comm)
    if args.free:
        raise InputError("--free", "goes with --fit NAME (the hypothesis whose keys it frees)")
    names = hypotheses.names_of(args.only, hypotheses.catalogue(case))
    hypotheses.check_geometry(case, names, args.two_d)
    root = io.results_dir(case, args.out, comm)
    out = root / "hypotheses"
    say = lambda line: io.say(line, comm=comm)     # noqa: E731
    geometry = "2D" if args.two_d else "quasi-1D"
    for line in hypotheses.header(args.rise, args.J, f"{args.case}, {geometry}", hypotheses.width_of(names)):
        say(line)
    t0 = time.perf_counter()
    rows = hypotheses.score(raw_case(args.case, args.set), comm, names, args.rise, args.J, args.V_max, say,
                            two_d=args.two_d)
    wall = time.perf_counter() - t0
    settings = {"case": args.case, "set": args.set, "rise": args.rise, "J_mA_cm2": args.J, "V_max": args.V_max,
                "geometry": geometry, "wall_s": wall}
    hypotheses.write(out, rows, settings, comm)
    keys = ("rows_passed", "luminance_rise", "V0", "V", "skpm_near", "skpm_elsewhere", "cv_pristine_V", "cv_aged_V",
            "ideality_pristine", "ideality_aged", "peeloff_ZnO_Ag", "peeloff_Ag_recovery")
    summary = {r["hypothesis"]: {k: r[k] for k in keys} if "failed" not in r else {"failed": r["failed"]}
               for r in rows}
    io.write_manifest(root, case, "hypotheses", {"summary": summary}, comm=comm)   # where `sweep` reads it
    say(f"hypotheses: {sum('failed' not in r for r in rows)} of {len(rows)} read in {wall:.0f} s; wrote "
        f"{out / 'hypotheses.json'}, hypotheses.csv, hypotheses.png")
    return 0


def _fit_hypothesis(args, case: dict, comm) -> int:
    """``femqled hypotheses CASE --fit NAME --free KEY=LO:HI ...`` (femqled/hypothesis_fit.py)."""
    from femqled import acceptance, hypotheses, hypothesis_fit, io
    from femqled.case import raw_case

    own = {h["name"]: h for h in case["hypothesis"]}
    if args.fit not in own:
        known = ", ".join(own) or "none"
        raise InputError("--fit", f"{args.fit!r} is not one of the case's [[hypothesis]] tables ({known}); the "
                                  "built-in ones have no keys to fit: declare it as a table (docs/case-reference.md)")
    if args.only:
        raise InputError("--only", "--fit reads one hypothesis, the one it names")
    free = hypothesis_fit.parse_free(args.free)
    hypotheses.check_geometry(case, [args.fit], args.two_d)
    root = io.results_dir(case, args.out, comm)
    out = root / "hypotheses-fit"
    say = lambda line: io.say(line, comm=comm)     # noqa: E731
    geometry = "2D" if args.two_d else "quasi-1D"
    bounds = ", ".join(f"{k} {lo:g}..{hi:g}{' (log)' if log else ''}" for k, (lo, hi, log) in free.items())
    say(f"fitting {args.fit} ({args.case}, {geometry}) to the paper's readings: {bounds}; at most "
        f"{args.evaluations} evaluations, F = sum of (miss / tolerance)^2, 0 when every row passes")
    t0 = time.perf_counter()
    raw = raw_case(args.case, args.set)
    record = hypothesis_fit.fit(raw, args.fit, free, comm, args.evaluations, args.grid,
                                {"rise": args.rise, "J": args.J, "V_max": args.V_max, "two_d": args.two_d}, say)
    wall = time.perf_counter() - t0
    settings = {"case": args.case, "set": args.set, "fit": args.fit, "free": args.free, "rise": args.rise,
                "J_mA_cm2": args.J, "V_max": args.V_max, "geometry": geometry, "evaluations": args.evaluations,
                "grid": args.grid, "wall_s": wall}
    hypothesis_fit.write(out, record, raw, args.fit, settings, comm)
    best = record["best"]
    io.write_manifest(root, case, "hypotheses-fit", {"summary": {k: best[k] for k in ("F", "rows_passed",
                                                                                       *free)}}, comm=comm)
    say(f"best of {len(record['evaluations'])} (evaluation {best['evaluation']}): "
        + ", ".join(f"{k} = {best[k]:.4g}" for k in free)
        + f"; F = {best['F']:.4g}, {best['rows_passed']} of 4 rows; misses: "
        + ", ".join(f"{k} {best['miss_' + k]:.2f}" for k in acceptance.MISS_PARTS
                    if 'miss_' + k in best)
        + f"\nwrote {out / 'fit.csv'}, fit.json, best.toml, best/ in {wall:.0f} s")
    return 0


def _variants(vary: list[str]) -> list[list[str]]:
    """``--vary KEY=V1,V2,...`` (repeatable: every combination) as lists of ``--set`` items."""
    import itertools

    axes = []
    for item in vary:
        key, eq, values = item.partition("=")
        vals = [v.strip() for v in values.split(",")]
        if not eq or not key.strip() or not all(vals):
            raise InputError(f"--vary {item}", "expected KEY=V1,V2,... with KEY a case value's dotted path, e.g. "
                                               "layer.ETL.thickness_nm=20,30,40")
        axes.append([f"{key.strip()}={v}" for v in vals])
    return [list(c) for c in itertools.product(*axes)] if axes else [[]]


def cmd_sweep(args, comm=MPI.COMM_WORLD) -> int:
    """Several cases, or one case with values varied (``--vary``), in one mpirun: the ranks split into groups
    (sub-communicators), each runs its share; then rank 0 gathers each run's summary (its manifest's) into
    ``sweep.csv`` / ``sweep.json``, a line per run."""
    from femqled import io
    from femqled.case import load_case, parse_value

    sub_parser = build_parser()
    if args.run not in sub_parser.case_commands:
        raise InputError("--run", f"{args.run!r} is not a command to sweep; allowed: "
                                  f"{', '.join(sub_parser.case_commands)}")
    variants = _variants(args.vary)
    runs = [(case, sets) for case in args.cases for sets in variants]
    for case, sets in runs:                      # bad input: one line before anything runs
        load_case(case, sets)
    root = Path(args.out or ("results/sweep" if args.vary else "results"))
    groups = min(len(runs), comm.size)
    color = comm.rank % groups
    sub = comm.Split(color, comm.rank)
    status, dirs, failed = 0, [], {}
    for k, (case, sets) in enumerate(runs):
        out = root / Path(case).stem if (args.out or args.vary) else None
        if sets:
            out = (out if len(args.cases) > 1 else root) / ",".join(sets)
        dirs.append(out)
        if k % groups != color:
            continue
        sub_args = sub_parser.parse_args([args.run, case, *(["--out", str(out)] if out else []),
                                          *[a for item in sets for a in ("--set", item)], *args.options])
        label = f"{case}{' ' + ' '.join(sets) if sets else ''}"
        io.say(f"sweep: {label} on ranks {comm.rank}..{comm.rank + sub.size - 1} ({sub.size} of {comm.size})",
               comm=sub)
        try:
            status = max(status, sub_args.func(sub_args, sub))
        except (InputError, SolverError) as e:       # one run's failure: say so, go on with the others
            failed[k] = f"{'bad input' if isinstance(e, InputError) else 'solver failed'}: {e}"
            io.say(f"sweep: {label}: {failed[k]}", comm=sub)
            status = max(status, 2 if isinstance(e, InputError) else 3)
    sub.Free()
    status = comm.allreduce(status, op=MPI.MAX)
    failed = {k: v for part in comm.allgather(failed) for k, v in part.items()}
    if comm.rank == 0 and (args.out or args.vary):
        table = []
        for k, ((case, sets), d) in enumerate(zip(runs, dirs)):
            last = io.last_run(d)
            table.append({"case": case, "dir": str(d), **{x.partition("=")[0]: parse_value(x.partition("=")[2])
                                                              for x in sets},
                          "failed": failed.get(k, ""), **io.flat(last.get("summary", {}) if k not in failed else {})})
        io.write_csv(root / "sweep.csv", table, comm=comm)
        io.write_json(root / "sweep.json", table, comm=comm)
        io.say(f"sweep: {len(runs)} runs of {args.run}; wrote {root / 'sweep.csv'}, sweep.json", comm=comm)
    return status


def _number(kind=float, zero: bool = False, upper: float | None = None):
    """An argparse type: a finite number > 0 (>= 0 with ``zero``; <= ``upper``), else one line naming the option."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}")
        if not ((value >= 0 if zero else value > 0) and value < float("inf")) or \
                (upper is not None and value > upper):
            allowed = (">= 0" if zero else "> 0") + (f" and <= {upper:g}" if upper is not None else "")
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text}")
        return value
    return parse


POSITIVE, COUNT, FRACTION = _number(float), _number(int), _number(float, zero=True, upper=1.0)


class _Parser(argparse.ArgumentParser):
    """Command-line mistakes are one line, like a case's: ``femqled: error: --J: must be > 0, got -5`` (exit 2;
    ``femqled COMMAND --help`` shows the usage)."""

    def error(self, message: str):
        if message.startswith("argument "):
            message = message[len("argument "):]
        if MPI.COMM_WORLD.rank == 0:
            print(f"femqled: error: {message} (femqled {self.prog.split()[-1]} --help: the options)"
                  if self.prog != "femqled" else f"femqled: error: {message}", file=sys.stderr, flush=True)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="femqled", description="Finite-element simulator of ageing QLEDs.")
    from femqled import __version__

    p.add_argument("--version", action="version", version=f"femqled {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p.case_commands = []                            # the commands that run a case (what sweep can run)

    def command(name, func, help_):
        p.case_commands.append(name)
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.add_argument("case", help="case file (TOML), e.g. cases/default.toml")
        sp.add_argument("--out", help="results directory (default results/<case name>)")
        sp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="change a value of the case (repeatable): a dotted path, e.g. ageing.barrier_rise_eV=0.4, "
                             "materials.ZnO-NP.Nd_cm3=1e16, layer.ETL.thickness_nm=20 (a layer by its name)")
        sp.set_defaults(func=func)
        return sp

    command("mesh", cmd_mesh, "build (or reuse) the mesh; write XDMF, PNG pictures and a summary")
    sp = command("jv", cmd_jv, "J-V sweep with luminance, EQE, eta_X and ideality; CSV, JSON and a figure")
    sp.add_argument("--V", default="0:6:0.1", help="START:STOP:STEP in volts (default 0:6:0.1)")
    sp.add_argument("--quasi-1d", action="store_true", help="solve the flat stack in one column of cells")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp = command("age", cmd_age, "constant-current ageing: acetate, contact state, L(t), V(t), eta_X(t) (CSV)")
    sp.add_argument("--hours", type=POSITIVE, help="operating time (default: [ageing] hours)")
    sp.add_argument("--J", type=POSITIVE, help="current density, mA/cm2 (default: [ageing] J_mA_cm2)")
    sp.add_argument("--quasi-1d", action="store_true", help="the flat stack in one column of cells")
    sp.add_argument("--quiet", action="store_true", help="no per-step progress lines")
    sp.add_argument("--resume", action="store_true", help="continue from the last checkpoint in the results")
    sp.add_argument("--stops", type=float, nargs="*", help="times (h) the steps must land on")
    state_help = "an aged state to measure: <results>/checkpoint.npz written by 'age' (default: pristine)"
    sp = command("cv", cmd_cv, "C-V by small-signal AC analysis; onset of the capacitance rise")
    sp.add_argument("--V", default="0:3:0.1", help="START:STOP:STEP in volts (default 0:3:0.1)")
    sp.add_argument("--f", type=POSITIVE, default=1e3, help="frequency in Hz (default 1000)")
    sp.add_argument("--state", help=state_help)
    sp.add_argument("--quasi-1d", action="store_true", help="the flat stack in one column of cells")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp = command("spectrum", cmd_spectrum, "EL spectrum (peak, FWHM, luminance, channel shares) and PL yield")
    sp.add_argument("--J", type=POSITIVE, default=10.0, help="current density, mA/cm2 (default 10)")
    sp.add_argument("--V", type=float, help="a bias (V) instead of a current density")
    sp.add_argument("--state", help=state_help)
    sp.add_argument("--quasi-1d", action="store_true", help="the flat stack in one column of cells")
    sp = command("limit", cmd_limit, "contact-limit test: the largest EL and PL rise a degrading cathode can give "
                                     "at constant current, up to the voltage compliance")
    sp.add_argument("--J", type=POSITIVE, nargs="+", default=[10.0, 100.0], help="current densities, mA/cm2 "
                                                                               "(default 10 100)")
    sp.add_argument("--compliance", type=POSITIVE, help="voltage compliance (V; default: [ageing] compliance_V)")
    sp.add_argument("--quasi-1d", action="store_true", help="the flat stack in one column of cells")
    sp = command("bands", cmd_bands, "band diagram along a vertical cutline: E_c, E_v and the quasi-Fermi levels")
    at = sp.add_mutually_exclusive_group()
    at.add_argument("--V", type=float, help="bias (V, default 0: equilibrium)")
    at.add_argument("--J", type=POSITIVE, help="instead of a bias, a current density (mA/cm2, constant current)")
    sp.add_argument("--x", help="the cutline's position across the width: nm, 'trench' (through the first trench) "
                                "or 'flat' (the contact farthest from the trenches); default the middle")
    sp.add_argument("--state", help=state_help)
    sp.add_argument("--quasi-1d", action="store_true", help="the flat stack in one column of cells")
    sp = command("skpm", cmd_skpm, "Kelvin probe across the stack: potential and field at a bias")
    sp.add_argument("--V", type=float, default=3.0, help="bias (V, default 3)")
    sp.add_argument("--lines", type=COUNT, default=5, help="vertical lines averaged (default 5)")
    sp.add_argument("--hold", action="store_true",
                    help="the device held at the bias until its mobile ions ([ions]) settle there, as over a scan "
                         "of minutes (default: they stay where the last operation left them)")
    sp.add_argument("--state", help=state_help)
    sp.add_argument("--quasi-1d", action="store_true", help="the flat stack in one column of cells")
    sp = command("sims", cmd_sims, "ToF-SIMS depth profiles of acetate, Ag and Zn")
    sp.add_argument("--resolution", type=POSITIVE, default=1.0, help="depth resolution (nm, Gaussian sigma)")
    sp.add_argument("--state", help=state_help)
    sp.add_argument("--quasi-1d", action="store_true", help="the flat stack in one column of cells")
    sp = command("rebuild", cmd_rebuild, "peel-off and rebuild from an aged state: ZnO/Ag, or Ag only")
    sp.add_argument("--state", help="the aged state: <results>/checkpoint.npz written by 'age'")
    sp.add_argument("--residual", type=FRACTION, default=0.1, help="fraction of the Ag-side acetate left (0.1)")
    sp.add_argument("--J", type=POSITIVE, default=10.0, help="current density of the EQE comparison (mA/cm2)")
    sp.add_argument("--V", default="0:4:0.1", help="J-V sweep START:STOP:STEP (default 0:4:0.1)")
    sp.add_argument("--quasi-1d", action="store_true", help="the flat stack in one column of cells")
    sp = command("plot", cmd_plot, "2D pictures of the pristine state and of --state beside it: psi, n, p, "
                                   "recombination channels, acetate; with --state one comparison near the trench")
    at = sp.add_mutually_exclusive_group()
    at.add_argument("--V", type=float, help="bias of the pictured states (V, default 3)")
    at.add_argument("--J", type=POSITIVE, help="instead of a bias, the current density of the pictured states "
                                            "(mA/cm2: constant-current operation, as in a lifetime test)")
    sp.add_argument("--state", help=state_help)
    sp = command("paper", cmd_paper, "reproduce the study's figures; REPORT.md (simulated vs measured)")
    sp.add_argument("--quick", action="store_true", help="quasi-1D and short times: checks the chain, not physics")
    sp.add_argument("--fine", action="store_true", help="publication-quality discretisation (femqled/quality.py: "
                                                        "interface elements 0.1 nm, 2 %% ageing steps, 0.05 V sweeps)")
    sp.add_argument("--resume", action="store_true", help="reuse the lifetime tests that finished in --out with the "
                                                          "same case, settings and code; continue an interrupted one")
    sp = command("calibrate", cmd_calibrate, "fit case parameters to measured observables (least squares over "
                                             "a targets file); residuals, calibration.json, calibrated.toml")
    sp.add_argument("targets", help="targets file (TOML): [[parameter]] and [[target]] tables, see "
                                    "femqled/calibrate.py and cases/targets-*.toml")
    sp.add_argument("--quasi-1d", action="store_true", help="the flat stack in one column of cells")
    sp.add_argument("--max-evaluations", type=COUNT, help="cap on model evaluations (default: the targets file's)")
    sp.add_argument("--fine", action="store_true", help="publication-quality discretisation (femqled/quality.py), "
                                                        "as for 'paper --fine'")
    sp = command("mechanisms", cmd_mechanisms, "the acetate-driving kinetics side by side: elevation time vs J "
                                               "(fitted exponent) and direction of acetate motion; one figure")
    sp.add_argument("--quasi-1d", action="store_true", help="the flat stack in one column of cells")
    sp.add_argument("--hours-scale", type=POSITIVE, default=1.0, help="shorten every test by this factor")
    sp = command("hypotheses", cmd_hypotheses, "what the ageing might change (built in, or [[hypothesis]] tables "
                                               "of the case), each turned up (quasi-1D, or --2d) until the "
                                               "luminance has risen, judged on the paper's ideality, C-V, SKPM and "
                                               "peel-off readings: a scorecard (table, CSV, JSON, figures, the "
                                               "curves)")
    from femqled.hypotheses import HYPOTHESES

    sp.add_argument("--only", default="", metavar="NAME,...",
                    help=f"a subset, comma-separated: {', '.join(HYPOTHESES)} and the case's own "
                         "([[hypothesis]] tables: docs/case-reference.md)")
    sp.add_argument("--rise", type=POSITIVE, default=0.9, help="luminance rise to reach (default 0.9: +90 %%)")
    sp.add_argument("--J", type=POSITIVE, default=10.0, help="operating current density, mA/cm2 (default 10)")
    sp.add_argument("--V-max", type=POSITIVE, default=30.0, help="largest voltage tried (V, default 30)")
    sp.add_argument("--2d", dest="two_d", action="store_true",
                    help="on the case's 2D cross-section (rough interface, trenches) instead of the flat stack; a "
                         "patchy contact ([[hypothesis]] coverage < 1) needs it. Minutes per hypothesis")
    sp.add_argument("--fit", metavar="NAME", help="instead of a scorecard: search the magnitudes of the case's "
                                                  "hypothesis NAME that come closest to the paper's readings "
                                                  "(femqled/hypothesis_fit.py); fit.csv, fit.json, best.toml")
    sp.add_argument("--free", action="append", default=[], metavar="KEY=LO:HI[:log]",
                    help="with --fit: a key of the hypothesis's table to vary within bounds (repeat for more), e.g. "
                         "--free barrier_rise_eV=0:0.4 --free charge_cm2=-2e13:-1e11:log")
    sp.add_argument("--evaluations", type=COUNT, default=40, help="with --fit: at most this many scorecard rows "
                                                                   "(default 40)")
    sp.add_argument("--grid", type=COUNT, default=3, help="with --fit: values per free key of the starting grid, "
                                                          "bounds included (default 3)")
    cp = sub.add_parser("compare", help="runs of 'femqled paper' side by side: rows, PASS/FAIL, where they differ",
                        description="runs of 'femqled paper' side by side: each directory's REPORT rows in a "
                                    "column, PASS/FAIL, and the rows whose verdicts differ; compare.md, .csv, "
                                    ".json, e.g. femqled compare results/paper results/paper-fine")
    cp.add_argument("dirs", nargs="+", metavar="DIR", help="directories written by 'femqled paper' (report.json)")
    cp.add_argument("--labels", nargs="+", help="a column label per directory (default: the directories' names)")
    cp.add_argument("--out", help="results directory (default results/compare)")
    cp.set_defaults(func=cmd_compare)
    sw = sub.add_parser("sweep", help="run one command on several cases (or values, --vary) at once, splitting "
                                      "the MPI ranks; a table of the runs' summaries",
                        description="run one command on several cases, or on one case with values varied "
                                    "(--vary), at once, splitting the MPI ranks into groups (sub-communicators); "
                                    "options after -- go to the command, e.g. mpirun -n 2 femqled sweep --run age "
                                    "a.toml b.toml -- --hours 100, or femqled sweep --run limit cases/default.toml "
                                    "--vary layer.ETL.thickness_nm=20,40 -- --quasi-1d; sweep.csv gathers the "
                                    "runs' summaries")
    sw.add_argument("cases", nargs="+", help="case files")
    sw.add_argument("--run", required=True, help="the command to run on each case (e.g. jv, age)")
    sw.add_argument("--out", help="results directory; each case in <out>/<case name>, each variant of --vary in "
                                  "<out>[/<case name>]/<KEY=VALUE,...>; the runs' summaries in <out>/sweep.csv "
                                  "(default results/sweep with --vary)")
    sw.add_argument("--vary", action="append", default=[], metavar="KEY=V1,V2,...",
                    help="run each case with these values of one case value (a --set path; repeat for every "
                         "combination), e.g. --vary layer.ETL.thickness_nm=20,30,40")
    sw.set_defaults(func=cmd_sweep, options=[])
    sp = command("demo", cmd_demo, "the main job: mesh, J-V 0-6 V, fields for ParaView and pictures")
    sp.add_argument("--V", default="0:6:0.1", help="START:STOP:STEP in volts (default 0:6:0.1)")
    sp.add_argument("--field-bias", type=float, default=3.0, help="bias of the written fields (V)")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    options = []
    if "sweep" in argv and "--" in argv:            # sweep: what follows -- goes to the swept command
        k = argv.index("--")
        argv, options = argv[:k], argv[k + 1:]
    args = build_parser().parse_args(argv)
    if args.command == "sweep":
        args.options = options
    try:
        return args.func(args)
    except InputError as e:
        if MPI.COMM_WORLD.rank == 0:
            print(f"femqled: error: {e}", file=sys.stderr, flush=True)
        return 2
    except SolverError as e:
        if MPI.COMM_WORLD.rank == 0:
            print(f"femqled: solver failed: {e}", file=sys.stderr, flush=True)
        return 3
    except BrokenPipeError:             # the output piped into a reader that stopped (| head): stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
