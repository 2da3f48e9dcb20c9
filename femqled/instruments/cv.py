"""C-V by small-signal AC analysis (MODEL.md sec. 5; He et al. 2023 Fig. 2e).

At a steady state u0 (bias V), a small bias modulation dV e^{i omega t} drives a response du e^{i omega t} of the
linearised transient equations

    (K + i omega M) du = 0  in the interior,   du = dV (1, 1, 1) / V_t  on the anode (psi, phi_n, phi_p),

with K the Jacobian of the steady residual (EAFE fluxes included) and M the Jacobian of the carrier storage
terms (-n w_n + p w_p, lumped; Poisson has none). In real arithmetic this is the 2x2 block system

    [ K   -omega M ] [x_r]   [b_r]
    [ omega M   K  ] [x_i] = [b_i],        du = x_r + i x_i,

solved with PETSc. Eliminating x_r = K^-1 (b_r + omega M x_i) leaves

    (I + omega^2 K^-1 M K^-1 M) x_i = K^-1 (b_i - omega M K^-1 b_r),

an identity plus a small term at the frequencies of a C-V measurement (omega K^-1 M is small wherever carriers
are), solved by GMRES to 1e-13 of x_i itself with one LU factorisation of K (3-6 iterations, each two direct
solves; the factorisation's symbolic part is kept from bias to bias), then x_r directly. Where GMRES does not
converge within 30 iterations (high frequency; a region that exchanges carriers with the contacts slowly) the
whole block matrix is factorised instead (one AIJ matrix twice the size; ~2.6 s against ~0.7 s per point on the
default 2D device, 2 ranks). The two paths agree to 1e-9 in C (tests/test_cv.py). The split answer is also
checked against K and M themselves: where K is nearly singular (a layer whose carriers float behind a thick
tunnel layer) its LU can mislead GMRES into "converging" on a wrong x_i. The block system's residual
|A x - b| / |b| is then ~1e-11 (against ~3e-15 where the split path is right), C off by 1e5, and the whole
block system is factorised instead (``SPLIT_RESIDUAL`` 1e-13).

The anode's total current (conduction + displacement) follows from the unconstrained rows at the anode nodes, as
in :meth:`femqled.device.Device.transient_step`:

    dJ = sum_anode [ (K + i omega M) du ]_carriers + i omega sum_anode [ K du ]_psi,

the admittance per area Y = dJ / dV = G + i omega C, so C = Im(Y) / omega.

Which charge forms the capacitance (:meth:`SmallSignal.charge_response`): from the same du, the in-phase
response of the stored carriers per layer, C_n,k = q Re int_k dn / dV and C_p,k = q Re int_k dp / dV (nF cm^-2,
dn = n (dpsi - dphi_n), dp = p (dphi_p - dpsi), lumped as the storage terms). The paper reads the rise of its C-V
as electrons accumulating in the QD film (He et al. 2023, Fig. 2e and its ref. 37); these columns say whether the
simulated rise is that, or electrons and holes charging a heterojunction together. The carrier of the rise is
the (carrier, layer) whose response grows most across the steepest rise.

Onset of the capacitance rise (a documented criterion; the paper reads it off by eye): where the tangent at the
steepest rise meets the line fitted to the low-bias baseline (:func:`onset_voltage`).
"""

from __future__ import annotations

import time

import numpy as np
import ufl
from dolfinx import fem
from mpi4py import MPI
from petsc4py import PETSc

from femqled import compat
from femqled.instruments.figure import figure, legend
from femqled.scaling import Q
from femqled.linearised import Linearised, lu_solver


SPLIT_RTOL = 1e-13        # the imaginary part, eliminated, solved by GMRES to this fraction of itself
SPLIT_ITERATIONS = 30     # beyond that, the whole block system is factorised
SPLIT_RESIDUAL = 1e-13    # nor accepted beyond this residual of the block system itself (|A x - b| / |b|)


class _Eliminated:
    """x -> (I + w^2 K^-1 M K^-1 M) x, the imaginary part of the block system with the real part eliminated
    (a petsc4py Python matrix; ``ksp`` solves with K's LU, ``t1``, ``t2`` are work vectors)."""

    def __init__(self, ksp, M, w, t1, t2):
        self.ksp, self.M, self.w, self.t1, self.t2 = ksp, M, w, t1, t2

    def mult(self, mat, x, y):
        self.M.mult(x, self.t1)
        self.ksp.solve(self.t1, self.t2)
        self.M.mult(self.t2, self.t1)
        self.ksp.solve(self.t1, y)
        y.scale(self.w * self.w)
        y.axpy(1.0, x)


class SmallSignal:
    """Admittance of a :class:`femqled.device.Device` at its present steady state."""

    def __init__(self, dev, split: bool = True):
        self.dev = dev
        self.split = split              # False: always factorise the whole block system (the reference path)
        self.path, self.iterations = None, 0
        self.residual = float("nan")        # |A x - b| / |b| of the last solve's block system
        V = dev.V_space
        _, wn, wp = ufl.TestFunctions(V)
        n, p = dev.n, dev.p
        storage = (-n * wn + p * wp) * dev.charge_weight * dev.dm.dx(lumped=True)
        self.M_form = fem.form(ufl.derivative(storage, dev.u))
        self.lin = Linearised(dev, prefix=f"femqled_cv_{id(self)}_split_")   # K, Kf and K's LU (split path)
        self.Mf = compat.create_matrix(self.M_form)         # unconstrained (the reactions)
        self.M = None                                       # with Dirichlet rows (the system): _assemble
        # in-phase carrier response per layer: int_k n (dpsi - dphin), int_k p (dphip - dpsi) for a given du
        # (Boltzmann; with single-level statistics times 1 + d ln g / d eta)
        self.du = fem.Function(V)
        dn, dp = ufl.derivative(n, dev.u, self.du), ufl.derivative(p, dev.u, self.du)   # n (dpsi - dphin), ...
        self.response_forms = {f"{c}_{k}": fem.form(d * dev.charge_weight * dev.dm.dx(k, lumped=True))
                               for k in dev.dm.layout.stack for c, d in (("n", dn), ("p", dp))}
        self._last = None
        self.prefix = f"femqled_cv_{id(self)}_"

    def _assemble(self):
        """K, Kf (:class:`femqled.linearised.Linearised`); Mf unconstrained (the reactions) and M the same with
        the Dirichlet rows and columns zeroed, as the constrained assembly would give it (to roundoff)."""
        self.lin.assemble()
        Mf = self.Mf
        Mf.zeroEntries()
        compat.assemble_matrix(Mf, self.M_form, bcs=[], diagonal=0.0)
        Mf.assemble()
        if self.M is None:                  # the same pattern at every bias
            self.M = Mf.duplicate(copy=True)
            self.M.setOption(PETSc.Mat.Option.KEEP_NONZERO_PATTERN, True)
        else:
            Mf.copy(self.M, structure=PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
        self.M.zeroRowsColumns(self.lin.dirichlet_rows, diag=0.0)

    def admittance(self, f_Hz: float) -> complex:
        """Y = dJ/dV (A cm^-2 V^-1) at frequency f (Hz)."""
        dev = self.dev
        sc = dev.sc
        self._assemble()
        w = 2 * np.pi * f_Hz * sc.t0                                 # scaled angular frequency
        comm = dev.comm
        lin = self.lin
        g = lin.bias_step()                                          # du on the anode for dV = 1 V
        Kg, Mg = g.duplicate(), g.duplicate()
        lin.Kf.mult(g, Kg)
        self.Mf.mult(g, Mg)
        D = lin.dirichlet_owned
        b_r = -Kg.array.copy()
        b_i = -w * Mg.array.copy()
        b_r[D] = g.array[D]
        b_i[D] = 0.0
        xr, xi = g.duplicate(), g.duplicate()
        self.path = "split" if self.split and self._solve_split(w, b_r, b_i, xr, xi) else "coupled"
        if self.path == "coupled":
            self._solve_coupled(w, b_r, b_i, xr, xi)
            self.residual = self._residual(w, b_r, b_i, xr, xi)
        # currents from the unconstrained rows at the anode (owned nodes)
        out = []
        for vec in (xr, xi):
            (Kc, Kp), (Mc, _) = lin.anode_rows(lin.Kf, vec), lin.anode_rows(self.Mf, vec)
            out.append((Kc, Mc, Kp))
        (Kc_r, Mc_r, Kp_r), (Kc_i, Mc_i, Kp_i) = (comm.allreduce(np.array(o), op=MPI.SUM) for o in out)
        # dJ = (Kc + i w Mc) + i w Kp, with du = xr + i xi
        re = Kc_r - w * Mc_i - w * Kp_i
        im = Kc_i + w * Mc_r + w * Kp_r
        to = sc.J0_mA_cm2 * 1e-3 / dev.width()                       # scaled -> A cm^-2
        self._last = xr.array.copy()                                  # in-phase du, for charge_response
        for obj in (g, Kg, Mg, xr, xi):
            obj.destroy()
        return complex(re * to, im * to)

    def _solve_split(self, w, b_r, b_i, xr, xi) -> bool:
        """The block system through one LU of K: eliminating x_r = K^-1 (b_r + w M x_i) leaves

            (I + w^2 K^-1 M K^-1 M) x_i = K^-1 (b_i - w M K^-1 b_r),

        an identity plus a small term at C-V frequencies, solved by GMRES to ``SPLIT_RTOL`` of x_i itself (each
        application two direct solves with K), then x_r directly. True if K factorised and GMRES converged within
        ``SPLIT_ITERATIONS`` and the answer solves the block system itself to ``SPLIT_RESIDUAL`` (K's LU is not
        accurate enough where K is nearly singular)."""
        ksp = self.lin.lu()
        if ksp is None:                     # K alone cannot be factorised: the whole block system may still be
            return False
        t1, t2, c = xr.duplicate(), xr.duplicate(), xr.duplicate()
        n, N = xr.getLocalSize(), xr.getSize()
        S = PETSc.Mat().createPython(((n, N), (n, N)), context=_Eliminated(ksp, self.M, w, t1, t2),
                                     comm=self.dev.comm)
        S.setUp()
        gm = PETSc.KSP().create(self.dev.comm)
        try:
            t1.array[:] = b_r                                      # c = K^-1 (b_i - w M K^-1 b_r)
            ksp.solve(t1, t2)
            self.M.mult(t2, t1)
            t1.array[:] = b_i - w * t1.array
            ksp.solve(t1, c)
            gm.setOperators(S)
            gm.setType("gmres")
            gm.setGMRESRestart(SPLIT_ITERATIONS)
            gm.getPC().setType("none")
            gm.setTolerances(rtol=SPLIT_RTOL, atol=0.0, max_it=SPLIT_ITERATIONS)
            xi.set(0.0)
            gm.solve(c, xi)
            self.iterations = gm.getIterationNumber()
            if gm.getConvergedReason() <= 0:
                return False
            self.M.mult(xi, t1)                                     # x_r = K^-1 (b_r + w M x_i)
            t1.array[:] = b_r + w * t1.array
            ksp.solve(t1, xr)
            if ksp.getConvergedReason() <= 0:
                return False
            self.residual = self._residual(w, b_r, b_i, xr, xi)
            return self.residual <= SPLIT_RESIDUAL
        finally:
            for obj in (gm, S, t1, t2, c):
                obj.destroy()

    def _residual(self, w, b_r, b_i, xr, xi) -> float:
        """|A x - b| / |b| of the block system with K and M themselves (not K's factorisation)."""
        t1, t2 = xr.duplicate(), xr.duplicate()
        K, M = self.lin.K, self.M
        try:
            K.mult(xr, t1)
            M.mult(xi, t2)
            rr = t1.array - w * t2.array - b_r
            K.mult(xi, t1)
            M.mult(xr, t2)
            ri = t1.array + w * t2.array - b_i
        finally:
            t1.destroy()
            t2.destroy()
        comm = self.dev.comm
        r2, b2 = comm.allreduce(np.array([rr @ rr + ri @ ri, b_r @ b_r + b_i @ b_i]), op=MPI.SUM)
        return float(np.sqrt(r2 / b2))

    def _solve_coupled(self, w, b_r, b_i, xr, xi) -> None:
        """The block matrix [[K, -wM], [wM, K]] as one AIJ matrix (nest -> aij), LU."""
        nloc = xr.getLocalSize()
        wM, mwM = self.M.copy(), self.M.copy()
        wM.scale(w)
        mwM.scale(-w)
        K = self.lin.K
        nest = PETSc.Mat().createNest([[K, mwM], [wM, K]], comm=self.dev.comm)
        A = nest.convert("aij")
        b = A.createVecRight()
        x = A.createVecRight()
        # nest ordering of a converted matrix: each rank holds its block-0 rows then its block-1 rows
        b.array[:nloc] = b_r
        b.array[nloc:] = b_i
        ksp = lu_solver(A, self.prefix, self.lin.lu_opts)
        try:
            ksp.solve(b, x)
            if ksp.getConvergedReason() <= 0:
                raise RuntimeError(f"small-signal solve failed: {ksp.getConvergedReason()}")
            xr.array[:] = x.array[:nloc]
            xi.array[:] = x.array[nloc:]
        finally:
            for obj in (ksp, A, nest, wM, mwM, b, x):
                obj.destroy()

    def charge_response(self) -> dict[str, float]:
        """In-phase carrier charge per volt (nF cm^-2, >= 0 when the carrier accumulates) of each layer, from
        the last :meth:`admittance` solve: ``{"n_EML": .., "p_HTL": .., ...}``."""
        if self._last is None:
            raise RuntimeError("charge_response needs an admittance solve first")
        dev, sc = self.dev, self.dev.sc
        self.du.x.petsc_vec.array[:] = self._last
        self.du.x.scatter_forward()
        to = Q * sc.N0 * 1e-13 / dev.width() * 1e9                  # scaled int dn per area -> nF cm^-2
        return {part: to * dev.comm.allreduce(fem.assemble_scalar(form), op=MPI.SUM)
                for part, form in self.response_forms.items()}

    def capacitance(self, f_Hz: float) -> tuple[float, float]:
        """(C in F cm^-2, G in S cm^-2) at frequency f."""
        Y = self.admittance(f_Hz)
        return Y.imag / (2 * np.pi * f_Hz), Y.real


def steepest_rise(V, C) -> int | None:
    """Index k of the steepest rising interval [V_k, V_k+1] before the largest C (None if C never rises)."""
    V, C = np.asarray(V, float), np.asarray(C, float)
    peak = int(np.argmax(C))
    if peak == 0:
        return None
    slopes = np.diff(C[:peak + 1]) / np.diff(V[:peak + 1])
    k = int(np.argmax(slopes))
    return k if slopes[k] > 0 else None


def onset_voltage(V, C, baseline_V: float = 0.5, least_rise: float = 0.5) -> float:
    """Onset of the capacitance rise: where the tangent at its steepest point meets the low-bias baseline.

    The baseline is the straight line fitted to C over V <= ``baseline_V`` (the geometric / depletion
    capacitance, which drifts slowly with bias); the tangent goes through the middle of the steepest rising
    interval before the largest C. This is the extrapolated onset read off a curve (He et al. 2023 Fig. 2e,
    dashed lines): a threshold such as "C 10 % above the baseline" also reads the slow drift of the depletion
    capacitance, which moves it by most of a volt on a device whose built-in voltage is high (docs/model.md,
    Instruments). NaN if C never rises by ``least_rise`` (50 %) above the baseline: a plateau or a slow drift is
    not a capacitance rise."""
    V, C = np.asarray(V, float), np.asarray(C, float)
    k = steepest_rise(V, C)
    if k is None:
        return float("nan")
    peak = int(np.argmax(C))
    s = (C[k + 1] - C[k]) / (V[k + 1] - V[k])
    Vm, Cm = 0.5 * (V[k] + V[k + 1]), 0.5 * (C[k] + C[k + 1])
    low = V <= baseline_V
    if np.count_nonzero(low) >= 2:
        b1, b0 = np.polyfit(V[low], C[low], 1)
    else:
        b1, b0 = 0.0, C[0]
    if not s > b1 or not C[peak] >= (1 + least_rise) * (b0 + b1 * V[peak]):
        return float("nan")
    return float((Cm - s * Vm - b0) / (b1 - s))          # tangent = baseline


def rise_carriers(V, C, parts: dict[str, list[float]]) -> dict[str, float]:
    """Share of each carrier response (``parts``: name -> C_part per point, nF cm^-2) in the growth across the
    steepest rise of C: (growth of the part) / (sum of the growing parts' growth). Empty if C never rises."""
    k = steepest_rise(V, C)
    if k is None:
        return {}
    grow = {name: float(vals[k + 1] - vals[k]) for name, vals in parts.items()}
    total = sum(g for g in grow.values() if g > 0)
    return {name: g / total for name, g in grow.items() if g > 0} if total > 0 else {}


def column(part: str) -> str:
    """The cv.csv column of a carrier response: "n_EML" -> "Cn_EML_nF_cm2"."""
    return f"C{part}_nF_cm2"


def parts_of(rows: list[dict]) -> list[str]:
    """The carrier responses ("n_EML", "p_HTL", ...) that the rows of :func:`run` hold."""
    return [k[1:-len("_nF_cm2")] for k in (rows[0] if rows else {}) if k.startswith("C") and k != "C_nF_cm2"]


CARRIERS = {"n": "electrons", "p": "holes"}


def part_words(part: str) -> str:
    """The carrier response in words: "n_EML" -> "electrons in EML"."""
    return f"{CARRIERS[part[0]]} in {part[2:]}"


def describe_rise(shares: dict[str, float], most: int = 3, least: float = 0.1) -> str:
    """The carriers of a rise in words: "holes in HTL 47 %, electrons in EML 46 %" (shares >= ``least``)."""
    top = sorted(((v, k) for k, v in shares.items() if v >= least), reverse=True)[:most]
    return ", ".join(f"{part_words(k)} {100 * v:.0f} %" for v, k in top) or "no rise"


def run(dev, voltages, outdir, f_Hz: float = 1e3, progress: bool | float = True,
        label: str = "C-V") -> tuple[list[dict], dict]:
    """C-V sweep: ``cv.csv`` (V, C, G, J and the in-phase carrier response per layer, ``Cn_<layer>_nF_cm2``,
    ``Cp_<layer>_nF_cm2``; ``sweep_dt_s`` where the DC point was reached in time, :meth:`Device.solve`),
    ``cv.json`` (onset, the carriers of the rise, settings), ``cv.png``. ``progress``:
    a bar (True), nothing (False) or a line at most every ``progress`` s, headed ``label``."""
    from femqled import io
    from femqled.errors import SolverError
    from femqled.fields import sweep_stopped

    ss = SmallSignal(dev)
    rows = []
    t0 = time.perf_counter()
    with io.Progress(label, len(voltages), progress, dev.comm) as bar, dev.sweeping():
        for V in voltages:
            try:
                op = dev.solve(float(V))
            except SolverError as e:          # keep what was computed (the state beside the J-V's, if one failed)
                bar.close()
                raise sweep_stopped(dev, outdir, rows, "cv", e, "cv_last_good_state") from None
            C, G = ss.capacitance(f_Hz)
            parts = {column(k): val for k, val in ss.charge_response().items()}
            rows.append({"V": float(V), "C_nF_cm2": C * 1e9, "G_S_cm2": G, "J_mA_cm2": op.J, **parts,
                         **({"sweep_dt_s": op.extra["sweep_dt_s"]} if "sweep_dt_s" in op.extra else {})})
            bar.update(V=f"{V:.3g} V", C=f"{C * 1e9:.4g} nF/cm2")
    Vs = [r["V"] for r in rows]
    Cs = [r["C_nF_cm2"] for r in rows]
    shares = rise_carriers(Vs, Cs, {k: [r[column(k)] for r in rows] for k in parts_of(rows)})
    summary = {"f_Hz": f_Hz, "points": len(rows), "onset_V": onset_voltage(Vs, Cs),
               "rise_carriers": shares, "rise_carrier": max(shares, key=shares.get) if shares else None,
               "onset_criterion": "tangent at the steepest rise meets the line fitted to C at V <= 0.5 V "
                                  "(a rise of >= 50 %)", "wall_s": time.perf_counter() - t0}
    io.write_csv(outdir / "cv.csv", rows, comm=dev.comm)
    io.write_json(outdir / "cv.json", summary, comm=dev.comm)
    if dev.comm.rank == 0:
        plot(rows, summary, outdir / "cv.png")
    return rows, summary


def plot(rows, summary, path) -> None:
    with figure(path, 1, (5.5, 4)) as (fig, ax):
        Vs = [r["V"] for r in rows]
        ax.plot(Vs, [r["C_nF_cm2"] for r in rows], "k.-", label="C")
        top = max((r["C_nF_cm2"] for r in rows), default=0.0)
        for part in parts_of(rows):
            vals = [r[column(part)] for r in rows]
            if max(vals) > 0.05 * top:          # the carriers that take part: in-phase charge per volt
                ax.plot(Vs, vals, lw=1, ls=":", label=part_words(part))
        if summary["onset_V"] == summary["onset_V"]:
            ax.axvline(summary["onset_V"], ls="--", c="r", label=f"onset {summary['onset_V']:.2f} V")
        legend(ax, fontsize=7)
        ax.set_xlabel("V (V)")
        ax.set_ylabel(f"C (nF cm$^{{-2}}$) at {summary['f_Hz']:g} Hz")
