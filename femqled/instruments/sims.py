"""ToF-SIMS depth profiles (He et al. 2023 Fig. 5c; MODEL.md sec. 5).

Sputtering from the Ag surface down: depth z = y_top - y (nm). Every ``bin_nm`` in depth, laterally averaged
over the width (``nx`` points): the acetate concentration a = S c and the Ag and Zn signals (the fractions of
the width that are metal, resp. ZnO-containing). Each
profile is convolved with a Gaussian depth-resolution function of standard deviation ``resolution_nm``
(default 1 nm) on a grid padded by 5 sigma, so the convolution conserves the integral, then normalised to its
maximum. The acetate penetration into the Ag: the depth below the ZnO/Ag interface (its mean height) where the
(convolved) acetate falls to 10 % of its peak. Both depths are read between the samples, where the profile
crosses its level (linear interpolation between the two samples around the crossing), so they do not move with
the sampling grid: on the 0.1 nm grid alone a pristine 2.40 nm and an aged 4.80 nm are each up to one bin off,
and whether the row's "at least x2" holds would be decided by the grid.
"""

from __future__ import annotations

import numpy as np
from mpi4py import MPI

from femqled.instruments.figure import figure, legend


def gaussian_convolve(z: np.ndarray, f: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Convolve samples f on the uniform grid z with a unit-area Gaussian of std sigma; returns (z', f') on a
    grid extended by 5 sigma at both ends (sum f' dz = sum f dz)."""
    dz = z[1] - z[0]
    pad = int(np.ceil(5 * sigma / dz))
    zz = np.concatenate([z[0] - dz * np.arange(pad, 0, -1), z, z[-1] + dz * np.arange(1, pad + 1)])
    ff = np.concatenate([np.zeros(pad), f, np.zeros(pad)])
    if sigma <= 0:
        return zz, ff
    k = np.arange(-pad, pad + 1) * dz
    kernel = np.exp(-0.5 * (k / sigma) ** 2)
    kernel /= kernel.sum()
    return zz, np.convolve(ff, kernel, mode="same")


def depth_profiles(acetate, bin_nm: float = 0.1, resolution_nm: float = 1.0, nx: int = 100) -> dict:
    """Raw and convolved depth profiles from an :class:`femqled.acetate.AcetateTransport` (all ranks).

    The raw profiles are lateral averages over ``nx`` points per depth, sampled every ``bin_nm``: acetate
    a = S c (1e21 cm^-3), and the Ag and Zn signals (1 where the point is in a metal, resp. a ZnO-containing
    region)."""
    from dolfinx import fem

    from femqled.probe import evaluate

    comm = acetate.comm
    dm = acetate.dm
    lay = dm.layout
    X = dm.mesh.geometry.x
    y_top = comm.allreduce(float(X[:, 1].max()) if len(X) else -np.inf, op=MPI.MAX)
    y_bot = comm.allreduce(float(X[:, 1].min()) if len(X) else np.inf, op=MPI.MIN)
    W = lay.width_nm
    z = np.arange(0.0, y_top - y_bot + 1e-9, bin_nm)
    xs = W * (np.arange(nx) + 0.5) / nx
    Z, Xg = np.meshgrid(z, xs, indexing="ij")
    pts = np.column_stack([Xg.ravel(), (y_top - Z).ravel()])
    metal = fem.Function(acetate.D.function_space)
    metal.x.array[acetate.metal_cells] = 1.0
    c = evaluate(acetate.c, pts).reshape(Z.shape)
    S = evaluate(acetate.S, pts).reshape(Z.shape)
    m = evaluate(metal, pts).reshape(Z.shape)
    inside = np.isfinite(c)
    raw = {"acetate_1e21_cm3": np.where(inside, S * c, 0.0).mean(axis=1),
           "Ag": np.where(inside, m, 0.0).mean(axis=1),
           "Zn": np.where(inside, 1.0 - m, 0.0).mean(axis=1)}
    out = {"z_nm": z, "raw": raw}
    conv = {}
    for k, f in raw.items():
        zz, g = gaussian_convolve(z, f, resolution_nm)
        conv[k] = g
    out["z_conv_nm"] = zz
    out["convolved"] = conv
    out["normalised"] = {k: g / g.max() if g.max() > 0 else g for k, g in conv.items()}
    out["interface_depth_nm"] = _interface_depth(out)
    return out


def crossing(z: np.ndarray, f: np.ndarray, k: int, level: float) -> float:
    """Where f crosses ``level`` between the samples k - 1 and k (linear interpolation; z[k] if k is 0 or the
    two samples are equal)."""
    if k <= 0 or f[k] == f[k - 1]:
        return float(z[k])
    return float(z[k - 1] + (level - f[k - 1]) / (f[k] - f[k - 1]) * (z[k] - z[k - 1]))


def _interface_depth(p) -> float:
    """Depth of the ZnO/Ag interface: where the Ag signal (raw) falls through one half."""
    z, ag = p["z_nm"], p["raw"]["Ag"]
    k = int(np.argmax(ag < 0.5))
    return crossing(z, ag, k, 0.5)


def penetration_nm(p, level: float = 0.1) -> float:
    """How far beyond its peak, towards and into the Ag (i.e. to smaller depth z), the convolved acetate stays
    above ``level`` x its peak, measured from the ZnO/Ag interface (nm, positive = into the Ag)."""
    z, a = p["z_conv_nm"], p["normalised"]["acetate_1e21_cm3"]
    j = int(np.argmax(a))
    while j > 0 and a[j - 1] >= level:         # from the peak towards the surface, while above the level
        j -= 1
    return float(p["interface_depth_nm"] - crossing(z, a, j, level))


def penetration_ratio(acetate, resolution_nm: float = 1.0) -> float:
    """Acetate penetration into the Ag of the present state over that of the pristine (initial) profile: the
    ToF-SIMS row of issue 7 (at least x2). The present profile is restored."""
    now = acetate.c.x.array.copy()
    aged = penetration_nm(depth_profiles(acetate, resolution_nm=resolution_nm))
    acetate.c.x.array[:] = acetate.c_initial
    acetate.c.x.scatter_forward()
    try:
        pristine = penetration_nm(depth_profiles(acetate, resolution_nm=resolution_nm))
    finally:
        acetate.c.x.array[:] = now
        acetate.c.x.scatter_forward()
    return aged / pristine


def run(acetate, outdir, resolution_nm: float = 1.0, label: str = "") -> dict:
    from femqled import io

    p = depth_profiles(acetate, resolution_nm=resolution_nm)
    rows = [{"depth_nm": z, **{k: v[i] for k, v in p["normalised"].items()}}
            for i, z in enumerate(p["z_conv_nm"])]
    io.write_csv(outdir / "sims.csv", rows, comm=acetate.comm)
    summary = {"resolution_nm": resolution_nm, "interface_depth_nm": p["interface_depth_nm"],
               "acetate_penetration_into_Ag_nm": penetration_nm(p)}
    io.write_json(outdir / "sims.json", summary, comm=acetate.comm)
    if acetate.comm.rank == 0:
        plot([(p, label)], outdir / "sims.png")
    return {**p, **summary}


def plot(profiles, path) -> None:
    with figure(path) as (fig, ax):
        styles = ("-", "--", ":")
        for (p, label), ls in zip(profiles, styles):
            for key, c in (("acetate_1e21_cm3", "k"), ("Ag", "tab:gray"), ("Zn", "tab:blue")):
                ax.plot(p["z_conv_nm"], p["normalised"][key], ls, color=c, label=f"{key.split('_')[0]} {label}")
        ax.set_xlabel("depth from the Ag surface (nm)")
        ax.set_ylabel("normalised intensity")
        legend(ax, fontsize=7)
