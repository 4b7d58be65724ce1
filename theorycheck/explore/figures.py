"""Predicted against measured over the settings a search (or a property test) drew.

One panel per figure: every evaluated setting ``i`` is a point at ``(p_i, m_i)``, its predicted value
``p_i`` (the midpoint of a predicted interval) against the measured mean ``m_i``, with the measured
confidence interval ``[c_i^-, c_i^+]`` as a vertical bar and the acceptance band ``B_i`` of
:func:`theorycheck.verdict.band` (``[lo_i - tol_i, hi_i + tol_i]`` for ``within``, one-sided for
``below`` / ``above``) as a wide grey bar behind it; the colour is the setting's verdict.  The diagonal
``m = p`` is where the theorem and the simulation agree exactly.  When every setting has the same
prediction (a rate exponent, a constant), the horizontal axis is the setting's rank along the parameter
that varies most with the measured margin instead, so that the settings do not pile up on one vertical.
Positive values spanning a factor 50 or more are drawn on logarithmic axes.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

from ..claim import Claim
from ..verdict import as_interval, band

from . import VERDICT_COLOURS


def agreement_points(claim: Claim, evaluations: Sequence[Mapping]) -> list[dict]:
    """Per evaluated setting without error: ``predicted`` (midpoint), ``measured``, ``ci``, ``band`` and
    ``verdict``; settings that errored are left out (the search report counts them)."""
    points = []
    for ev in evaluations:
        if ev.get("measured") is None or ev.get("predicted") is None:
            continue
        lo, hi = as_interval(ev["predicted"])
        tol = float(ev.get("tolerance") or 0.0)
        b_lo, b_hi = band(ev["predicted"], tol, claim.comparison)
        ci = (ev.get("ci_low"), ev.get("ci_high"))
        points.append({"predicted": 0.5 * (lo + hi), "measured": float(ev["measured"]),
                       "ci": tuple(float(c) if c is not None else float(ev["measured"]) for c in ci),
                       "band": (b_lo, b_hi), "verdict": ev["verdict"], "params": ev.get("params", {})})
    return points


def draw_agreement(claim: Claim, evaluations: Sequence[Mapping], path: str | Path, title: str = "",
                   axis_param: str | None = None) -> Path:
    """Save the predicted-against-measured figure of ``evaluations`` (rows with ``params, verdict, predicted,
    measured, ci_low, ci_high, tolerance``) to ``path``; returns the path."""
    from matplotlib.lines import Line2D

    from ..plots import figure, save_figure

    points = agreement_points(claim, evaluations)
    fig, (ax,) = figure(width=5.6, height=4.6)
    preds = [pt["predicted"] for pt in points]
    constant = bool(points) and (max(preds) - min(preds)) <= 1e-9 * max(1.0, max(abs(v) for v in preds))
    if constant:
        xs = _ranks(claim, points, axis_param)
        label = f"setting, ordered by {axis_param}" if axis_param else "setting (in the order drawn)"
    else:
        xs = preds
        label = "predicted"
    finite = [v for pt in points for v in (pt["measured"], *pt["ci"]) if math.isfinite(v)]
    span = (max(finite) - min(finite)) if finite else 1.0
    spread = (max(xs) - min(xs)) if xs else 1.0
    width = 0.012 * (spread or 1.0)
    for x, pt in zip(xs, points):
        b_lo, b_hi = pt["band"]
        b_lo = b_lo if math.isfinite(b_lo) else min(finite) - 0.1 * span
        b_hi = b_hi if math.isfinite(b_hi) else max(finite) + 0.1 * span
        ax.fill_between([x - width, x + width], [b_lo, b_lo], [b_hi, b_hi], color="0.6", alpha=0.35, lw=0)
        colour = VERDICT_COLOURS.get(pt["verdict"], "k")
        ax.errorbar([x], [pt["measured"]], yerr=[[pt["measured"] - pt["ci"][0]], [pt["ci"][1] - pt["measured"]]],
                    fmt="o", color=colour, ms=4, capsize=2, lw=1)
        if constant:
            ax.plot([x - width, x + width], [pt["predicted"]] * 2, color="k", lw=1)
    if points and not constant:
        lo, hi = min(xs), max(xs)
        ax.plot([lo, hi], [lo, hi], color="k", lw=0.8, ls="--")
    positive = [v for pt in points for v in (pt["measured"], pt["ci"][0])] + ([] if constant else xs)
    if positive and min(positive) > 0 and max(positive) / min(positive) >= 50:
        ax.set_yscale("log")
        if not constant:
            ax.set_xscale("log")
    ax.set_xlabel(label)
    ax.set_ylabel(claim.measured_label or "measured")
    handles = [Line2D([], [], ls="", marker="o", color=c, label=v) for v, c in VERDICT_COLOURS.items() if v != "error"]
    handles.append(Line2D([], [], color="0.6", lw=6, alpha=0.5, label="acceptance band"))
    handles.append(Line2D([], [], color="k", lw=1, ls="-" if constant else "--",
                          label="predicted" if constant else "measured = predicted"))
    ax.legend(handles=handles, fontsize=7, loc="best", framealpha=0.8)
    errors = sum(ev.get("verdict") == "error" for ev in evaluations)
    ax.set_title(title or f"{claim.id}: {len(points)} settings" + (f" ({errors} errored, not shown)" if errors else ""),
                 fontsize=9)
    return save_figure(fig, path)


def _ranks(claim: Claim, points: Sequence[Mapping], axis_param: str | None) -> list[float]:
    if axis_param is None:
        return [float(i) for i in range(len(points))]
    values = [_scalar(pt["params"].get(axis_param)) for pt in points]
    order = sorted(range(len(points)), key=lambda i: (values[i] is None, values[i] or 0.0))
    rank = [0.0] * len(points)
    for r, i in enumerate(order):
        rank[i] = float(r)
    return rank


def _scalar(v) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, (list, tuple)) and v and all(isinstance(x, (int, float)) for x in v):
        return float(sum(v)) / len(v)
    return None
