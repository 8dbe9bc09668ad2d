"""Loss curves as pictures: a person would rather look at the curve than read the log."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .atomic import replacing

if TYPE_CHECKING:  # a record is only read here; the files tier stays below the algorithm
    from ..core.optim import IterationRecord

COLUMNS = ("iteration", "total", "content", "style", "tv", "seconds", "elapsed")


def write_history_csv(history: Sequence[IterationRecord], path: str | os.PathLike) -> Path:
    """Every iteration's losses and time, written atomically."""
    path = Path(path)
    with replacing(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for r in history:
            writer.writerow([r.iteration] + [f"{getattr(r, c):.6g}" for c in COLUMNS[1:]])
    return path


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_loss_parts(ax, history: Sequence[IterationRecord]) -> None:
    """Total, content, style and TV loss per iteration on a log axis that starts 5 decades below the peak.

    A run from the content image starts with a content loss of 0; without a floor its first points would
    stretch the axis over many empty decades.
    """
    its = [r.iteration for r in history]
    peak = 0.0
    for name, line in (("total", "-"), ("content", "--"), ("style", "--"), ("tv", ":")):
        values = [getattr(r, name) for r in history]
        if any(v > 0 for v in values):
            ax.plot(its, values, line, label=name)
            peak = max(peak, max(values))
    ax.set_yscale("log")
    if peak > 0:
        ax.set_ylim(bottom=peak * 1e-5)


def plot_history(history: Sequence[IterationRecord], path: str | os.PathLike, title: str = "") -> Path:
    """Losses per iteration (log scale) and time per iteration, side by side, as a PNG."""
    plt = pyplot()
    path = Path(path)
    its = [r.iteration for r in history]
    fig, (ax_loss, ax_time) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [2, 1]})
    plot_loss_parts(ax_loss, history)
    ax_loss.set_xlabel("iteration")
    ax_loss.set_ylabel("weighted loss")
    ax_loss.grid(True, which="both", alpha=0.3)
    ax_loss.legend()
    ax_time.plot(its, [r.seconds for r in history], ".", markersize=3)
    ax_time.set_xlabel("iteration")
    ax_time.set_ylabel("seconds per iteration")
    ax_time.set_ylim(bottom=0)
    ax_time.grid(True, alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Write a matplotlib figure as PNG atomically and free it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    try:
        with replacing(path) as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)
    return path
