"""EL spectrum and PL at an operating point (He et al. 2023 Fig. 2b-c; MODEL.md sec. 5).

At a current density (constant-current operation) or a bias: the outcoupled EL spectrum from the channel rates
(X, X-, HTL; X+ with both trions) x yields as Gaussians in photon energy (:mod:`femqled.emission`), its peak and
FWHM, the luminance (CIE photopic) and each channel's share of the photons, and the PL yield proxy. Outputs:
``spectrum.csv`` (wavelength, spectral photon flux), ``spectrum.json`` and ``spectrum.png``.
"""

from __future__ import annotations

import numpy as np

from femqled.instruments.figure import figure, legend


def measure(dev, J_mA_cm2: float | None = None, V: float | None = None) -> dict:
    op = dev.operate(J_mA_cm2) if J_mA_cm2 is not None else dev.solve(V)
    e = op.extra
    photons = {"X": e["photons_X"], "trion": e["photons_trion"], "trion_pos": e["photons_trion_pos"],
               "HTL": e["photons_HTL"]}
    lam, S = dev.emission.spectrum(photons)
    total = sum(photons.values()) or 1.0
    return {"V": op.V, "J_mA_cm2": op.J, "peak_nm": e["peak_nm"], "fwhm_nm": e["fwhm_nm"],
            "luminance_cd_m2": e["luminance_cd_m2"], "EQE": e["EQE"], "eta_X": e["eta_X"],
            "PL_yield": e["PL_yield"], "share_X": photons["X"] / total, "share_trion": photons["trion"] / total,
            "share_trion_pos": photons["trion_pos"] / total,
            "share_HTL": photons["HTL"] / total, "lambda_nm": lam, "spectrum": S}


def run(dev, outdir, J_mA_cm2: float | None = 10.0, V: float | None = None) -> dict:
    from femqled import io

    m = measure(dev, J_mA_cm2, V)
    rows = [{"lambda_nm": a, "photons_cm2_s_nm": b} for a, b in zip(m["lambda_nm"], m["spectrum"])]
    io.write_csv(outdir / "spectrum.csv", rows, comm=dev.comm)
    io.write_json(outdir / "spectrum.json", {k: v for k, v in m.items() if k not in ("lambda_nm", "spectrum")},
                  comm=dev.comm)
    if dev.comm.rank == 0:
        plot([(m, "")], outdir / "spectrum.png")
    return m


def plot(measurements, path) -> None:
    with figure(path) as (fig, ax):
        for m, label in measurements:
            S = np.asarray(m["spectrum"])
            ax.plot(m["lambda_nm"], S / S.max(),
                    label=f"{label} peak {m['peak_nm']:.1f} nm, FWHM {m['fwhm_nm']:.1f} nm")
        ax.set_xlabel("wavelength (nm)")
        ax.set_ylabel("EL (normalised)")
        ax.set_xlim(400, 750)
        legend(ax, fontsize=8)
