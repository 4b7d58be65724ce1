"""Figures: saving a claim's figure, and drawing helpers shared by the claim modules.

Matplotlib runs on the non-interactive Agg backend, so no display is needed.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .fit import loglog_slope  # noqa: E402


def save_claim_figure(claim, params, out, root=None, tier: str = "quick") -> Path:
    """Draw ``claim.plot(params, rngs)`` with the claim's replicate generators and save it atomically."""
    from .runner import DEFAULT_ROOT, replicate_rngs

    rngs = replicate_rngs(claim.id, DEFAULT_ROOT if root is None else root, int(claim.seeds[tier]))
    return save_figure(claim.plot(params, rngs), out)


def save_figure(fig, out) -> Path:
    """Save and close a figure; the file appears whole or not at all (written to a temporary name first)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp" + out.suffix)
    try:
        fig.savefig(tmp, dpi=130, bbox_inches="tight")
        tmp.replace(out)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return out


def band(ax, x, samples, label: str, color=None, level: float = 0.95):
    """Median line and central ``level`` band of ``samples`` (shape (len(x), replicates))."""
    samples = np.asarray(samples, float)
    a = (1 - level) / 2
    lo, mid, hi = np.quantile(samples, [a, 0.5, 1 - a], axis=1)
    line, = ax.plot(x, mid, "o-", color=color, label=label)
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.25, lw=0)
    return line


def mean_band(ax, x, samples, label: str, color=None):
    """Mean line with a ±1.96 standard-error band over replicates (axis 1)."""
    samples = np.asarray(samples, float)
    mean = samples.mean(axis=1)
    se = samples.std(axis=1, ddof=1) / np.sqrt(samples.shape[1]) if samples.shape[1] > 1 else 0 * mean
    line, = ax.plot(x, mean, "o-", color=color, label=label)
    ax.fill_between(x, mean - 1.96 * se, mean + 1.96 * se, color=line.get_color(), alpha=0.25, lw=0)
    return line


def slope_label(x, y, name: str = "fitted slope") -> str:
    """Legend text ``fitted slope -0.98 [-1.02, -0.95]`` for a log-log curve."""
    f = loglog_slope(x, y)
    return f"{name} {f.slope:.2f} [{f.low:.2f}, {f.high:.2f}]"


def figure(ncols: int = 1, nrows: int = 1, width: float = 5.0, height: float = 3.8):
    """A new figure with ``nrows × ncols`` axes (always an array of axes)."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    return fig, axes.ravel()
