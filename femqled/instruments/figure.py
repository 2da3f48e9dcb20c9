"""The one way the instruments draw a figure: matplotlib off-screen (Agg), laid out and saved as PNG."""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def figure(path, ncols: int = 1, figsize=(6, 4), nrows: int = 1):
    """``with figure(path, 2, (11, 4)) as (fig, axes): ...`` draws into a new figure saved to ``path`` (PNG);
    ``nrows`` > 1 gives a grid (axes then 2D, as matplotlib's subplots)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, figsize=figsize)
    try:
        yield fig, axes
        fig.tight_layout()
        fig.savefig(path, dpi=120)
    finally:
        plt.close(fig)


def legend(ax, **kwargs) -> None:
    """``ax.legend(**kwargs)`` where the axes hold labelled artists; nothing where they hold none (a figure drawn
    from what a failed run left: matplotlib would warn on stderr)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)
