"""A family's summary: each claim's interval standardised against its own band, in one picture.

For a claim with prediction ``[p_lo, p_hi]`` (a number is ``p_lo = p_hi = p``), tolerance ``tol`` and unit
``u`` (``tol``; when ``tol = 0`` the predicted interval's half-width, else the row's resolution, the unit
of the row's control distance), a measured value ``v`` is drawn at

* ``within``: ``z = (v - (p_lo + p_hi)/2) / ((p_hi - p_lo)/2 + u)``: the band maps onto ``[-1, 1]``;
* ``below`` (an upper bound): ``z = (v - p_hi)/u``: the band ``(-inf, p_hi + tol]`` maps onto ``(-inf, 1]``
  (onto ``(-inf, 0]`` when ``tol = 0``);
* ``above`` (a lower bound): ``z = (v - p_lo)/u``: the band maps onto ``[-1, inf)`` (``[0, inf)``).

For a point prediction and ``tol > 0`` every case is ``(measured - predicted) / tolerance``.  The interval
``[ci_low, ci_high]`` goes through the same map, so verified means the whole standardised interval lies in
the shaded band and refuted that it lies wholly outside.  Claims are grouped: theorem claims whose expected
verdict is ``verified``, documented findings (expected ``refuted`` or ``inconclusive``), consistency checks.
"""
from __future__ import annotations

import math

import numpy as np

from ..verdict import as_interval
from . import style

LIMIT = 5.0          # standardised values beyond ±LIMIT are drawn at the edge with their value
GROUPS = (("theorem", "Theorem claims"), ("finding", "Documented findings (expected refuted or inconclusive)"),
          ("consistency", "Consistency checks (simulator or identity; not theorem verifications)"))


def unit(row) -> float:
    """The standardising unit of a row (see the module docstring)."""
    tol = row.get("tolerance") or 0.0
    if tol > 0:
        return float(tol)
    lo, hi = as_interval(row["predicted"])
    if hi > lo and math.isfinite(hi - lo):
        return (hi - lo) / 2
    res = row.get("resolution")
    return float(res) if res and math.isfinite(res) and res > 0 else 1.0


def _within_half(row) -> float:
    """Half-width of a ``within`` band, ``(p_hi - p_lo)/2 + tol``, or the unit when the band is a point."""
    lo, hi = as_interval(row["predicted"])
    half = (hi - lo) / 2 + (row.get("tolerance") or 0.0)
    return half if half > 0 else unit(row)


def standardise(row, value: float) -> float:
    """``value`` in the row's band units (see the module docstring)."""
    lo, hi = as_interval(row["predicted"])
    comparison = row.get("comparison", "within")
    if comparison == "within":
        return (value - (lo + hi) / 2) / _within_half(row)
    return (value - (hi if comparison == "below" else lo)) / unit(row)


def band_edges(row) -> tuple[float, float]:
    """The acceptance band in standardised units."""
    tol = row.get("tolerance") or 0.0
    lo, hi = as_interval(row["predicted"])
    comparison = row.get("comparison", "within")
    if comparison == "within":
        return (-1.0, 1.0) if (hi - lo) / 2 + tol > 0 else (0.0, 0.0)
    edge = tol / unit(row)
    return (-math.inf, edge) if comparison == "below" else (-edge, math.inf)


def group_of(row) -> str:
    if row.get("role", "theorem") == "consistency":
        return "consistency"
    return "theorem" if row.get("expected", "verified") == "verified" else "finding"


def _clip(z: float) -> float:
    return max(-LIMIT, min(LIMIT, z))


def summary_figure(rows, title: str):
    """The summary figure of ``rows`` (verify rows of one family)."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from ..runner import row_ok

    ordered = []
    for key, name in GROUPS:
        group = sorted((r for r in rows if group_of(r) == key), key=lambda r: r["claim"])
        if group:
            ordered.append((name, group))
    n_lines = sum(len(g) + 1 for _, g in ordered)
    with style.style():
        fig, ax = plt.subplots(figsize=(style.WIDTH + 1.6, 0.9 + 0.27 * n_lines), layout="constrained")
        y = 0
        ticks, labels = [], []
        for name, group in ordered:
            ax.text(-LIMIT - 0.2, y, name, ha="left", va="center", fontweight="bold", fontsize=8.5)
            y += 1
            for r in group:
                _draw_row(ax, r, y, row_ok(r))
                ticks.append(y)
                labels.append(r["claim"])
                y += 1
        ax.set_yticks(ticks)
        ax.set_yticklabels(labels, fontsize=7.5)
        ax.set_ylim(y - 0.4, -0.8)
        ax.set_xlim(-LIMIT - 0.3, LIMIT + 0.3)
        ax.axvline(0, color="#999999", lw=0.6)
        ax.set_xlabel("(measured − predicted) / tolerance: each claim's 95 % interval against its own band "
                      "(shaded; one-sided for bounds)")
        n_ok = sum(row_ok(r) for r in rows)
        ax.set_title(f"{title}: {len(rows)} claims, {n_ok} as expected", fontweight="bold")
        legend = [Line2D([], [], color=c, marker=m, ls="", label=v) for v, (c, m) in style.VERDICT_STYLE.items()]
        legend.append(Line2D([], [], color=style.NEGATIVE, marker="|", ls="", ms=8, label="negative control"))
        legend.append(Line2D([], [], color=style.BAND, lw=6, alpha=0.5, label="accepted band"))
        ax.legend(handles=legend, loc="upper center", bbox_to_anchor=(0.5, -0.06 - 1.2 / max(n_lines, 6)), ncol=6,
                  fontsize=7.5)
    return fig


def _draw_row(ax, r, y: float, ok: bool) -> None:
    colour, marker = style.VERDICT_STYLE.get(r.get("verdict"), (style.MEASURED, "o"))
    status = f"{r.get('verdict')}" + ("" if r.get("verdict") == r.get("expected") else f" (expected {r.get('expected')})")
    ax.text(LIMIT + 0.45, y, status + ("" if ok else "  ✗"), ha="left", va="center", fontsize=7.5, color=colour,
            clip_on=False)
    if r.get("predicted") is None or r.get("ci_low") is None:
        ax.text(0, y, style.short(f"error: {r.get('error', 'no interval')}", 80), ha="center", va="center",
                fontsize=7, color=colour)
        return
    lo, hi = band_edges(r)
    ax.fill_betweenx([y - 0.38, y + 0.38], max(lo, -LIMIT - 0.3), min(hi, LIMIT + 0.3), color=style.BAND,
                     alpha=0.35, lw=0)
    z, z_lo, z_hi = (standardise(r, r[k]) for k in ("measured", "ci_low", "ci_high"))
    ax.plot([_clip(z_lo), _clip(z_hi)], [y, y], color=colour, lw=2.2, solid_capstyle="butt")
    ax.plot([_clip(z)], [y], marker=marker, color=colour, ms=6, ls="")
    for edge_value, side in ((z_lo, -1), (z_hi, 1)):
        if abs(edge_value) > LIMIT:
            ax.text(_clip(edge_value) + side * 0.05, y - 0.42, f"{z:.3g}", ha="center", va="bottom", fontsize=6,
                    color=colour)
            break
    nc = r.get("negative_control") or {}
    if nc.get("predicted") is not None:
        c_lo, c_hi = as_interval(nc["predicted"])
        for cz in {standardise(r, c_lo), standardise(r, c_hi)}:
            if np.isfinite(cz):
                ax.plot([_clip(cz)], [y], marker="|", color=style.NEGATIVE, ms=8, mew=1.5, ls="")
