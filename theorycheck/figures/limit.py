"""The limit panel of a limit claim's figure (:mod:`theorycheck.limit`), drawn from its verify row.

The value against the ladder's scale: each replicate (faint), the mean of every rung with its 95 % interval
(the rungs of the window filled, the others hollow), the fitted finite-size model over the window and beyond
it, and at the right edge the extrapolated limit with its bootstrap interval beside the accepted band and the
negative control.  A ``loglog_slope`` ladder is drawn on log-log axes with the fitted line of the window.
"""
from __future__ import annotations

import math

import numpy as np

from ..verdict import as_interval, band
from . import style


def has_ladder(row) -> bool:
    return bool(row.get("ladder"))


def _model_curve(fit: dict, s: np.ndarray) -> np.ndarray:
    if fit["model"] == "loglog_slope":
        return np.exp(fit["intercept"]) * s ** fit["limit"]
    return fit["limit"] + fit["c"] * s ** (-fit["alpha"])


def draw_limit(ax, row, scale_label: str = "", value_label: str = "") -> None:
    """The limit panel of ``row`` on ``ax`` (see the module docstring)."""
    rungs = row["ladder"]
    s = np.array([r["scale"] for r in rungs], float)
    mean = np.array([r["mean"] for r in rungs], float)
    lo = np.array([r["ci_low"] for r in rungs], float)
    hi = np.array([r["ci_high"] for r in rungs], float)
    inside = np.array([r["in_window"] for r in rungs], bool)
    fit = row.get("fit") or {}
    slope = fit.get("model") == "loglog_slope"
    for g, r in enumerate(rungs):
        ax.plot(np.full(len(r["values"]), s[g]), r["values"], ".", color=style.REPLICATE, alpha=0.35, ms=3,
                label="replicates" if g == 0 else None)
    for sel, face, lab in ((inside, style.MEASURED, "rung mean, 95 % CI (in the window)"),
                           (~inside, "none", "rung mean, 95 % CI (outside the window)")):
        if sel.any():
            ax.errorbar(s[sel], mean[sel], yerr=[mean[sel] - lo[sel], hi[sel] - mean[sel]], fmt="o",
                        mfc=face, color=style.MEASURED, ms=5, capsize=3, zorder=4, label=lab)
    if fit:
        grid = np.geomspace(s.min(), s.max() * 4, 100)
        ax.plot(grid, _model_curve(fit, grid), "-", color=style.MEASURED, lw=1.3,
                label=("fitted slope " if slope else "fitted L + c s^-α: ") +
                      ", ".join(f"{k} = {style.format_value(v)}" for k, v in fit.items() if k != "model"))
    if not slope and row.get("limit") is not None and row.get("predicted") is not None:
        x_edge = s.max() * 6
        b_lo, b_hi = band(row["predicted"], row.get("tolerance") or 0.0, row["comparison"])
        y_all = np.concatenate([lo, hi, [row["limit_ci_low"], row["limit_ci_high"]]])
        span = float(np.ptp(y_all)) or 1.0
        # an infinite (one-sided) band edge is drawn a data span beyond the data
        ax.axhspan(b_lo if math.isfinite(b_lo) else y_all.min() - span,
                   b_hi if math.isfinite(b_hi) else y_all.max() + span, color=style.BAND, alpha=0.25,
                   lw=0, label=f"accepted band for the limit [{style.format_value(b_lo)}, {style.format_value(b_hi)}]")
        for p in set(as_interval(row["predicted"])):
            ax.axhline(p, color=style.PREDICTED, lw=1.5)
        colour, marker = style.VERDICT_STYLE.get(row.get("verdict"), (style.MEASURED, "o"))
        ax.errorbar([x_edge], [row["limit"]], yerr=[[row["limit"] - row["limit_ci_low"]],
                                                    [row["limit_ci_high"] - row["limit"]]],
                    fmt=marker, color=colour, ms=8, capsize=5, lw=2, zorder=5,
                    label=f"extrapolated limit {row['limit']:.4g} [{row['limit_ci_low']:.4g}, "
                          f"{row['limit_ci_high']:.4g}] → {row.get('verdict')}")
        c = row.get("negative_control") or {}
        if c.get("predicted") is not None:
            c_lo, c_hi = as_interval(c["predicted"])
            if abs((c_lo + c_hi) / 2 - row["limit"]) < 6 * span:
                for v in {c_lo, c_hi}:
                    ax.axhline(v, color=style.NEGATIVE, ls="--", lw=1.2)
                ax.plot([], [], color=style.NEGATIVE, ls="--",
                        label=f"negative control {style.format_value(c['predicted'])} → {c.get('verdict')}")
    ax.set_xscale("log")
    if slope and np.all(lo > 0):
        ax.set_yscale("log")
    window = row.get("window") or {}
    ax.set_title(style.wrap(f"window: {window.get('rule', '?')} ({len(window.get('sizes', []))} of {len(rungs)} "
                            f"sizes)", 100), fontsize=8.5)
    ax.set_xlabel(scale_label or "size")
    ax.set_ylabel(style.wrap(value_label or row.get("measured_label") or "value", 40), fontsize=8)
    hs, ls = ax.get_legend_handles_labels()
    ax.legend(hs, [style.wrap(x, 60) for x in ls], loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7)
    if not math.isfinite(float(s.max())):
        raise ValueError("a rung's scale is not finite")
