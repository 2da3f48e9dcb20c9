"""The one way the instruments draw a figure: matplotlib off-screen (Agg), laid out and saved as PNG."""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def figure(path, ncols: int = 1, figsize=(6, 4)):
    """``with figure(path, 2, (11, 4)) as (fig, axes): ...`` draws into a new figure saved to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=figsize)
    try:
        yield fig, axes
        fig.tight_layout()
        fig.savefig(path, dpi=120)
    finally:
        plt.close(fig)
