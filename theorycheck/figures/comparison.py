"""The comparison figure every claim gets, drawn from its verify row: no plotting code in the claim.

Top panel (the comparison): the measured statistic on the horizontal axis; each replicate's value (a
run whose high-probability event failed is drawn hollow, apart: it is not in the interval); the mean (or
pooled proportion) with its 95 % interval; the predicted value or interval, the acceptance band
``[p_lo - tol, p_hi + tol]`` (one-sided ``(-inf, p_hi + tol]`` for an upper bound, ``[p_lo - tol, inf)``
for a lower one), and the negative control, positive control and competing theory with their verdicts.
A control far off the data's scale is drawn as an arrow at the edge with its value.

Second panel (a claim with a :class:`~theorycheck.claim.Curve`): the replicates' points ``(x, y)`` along
the claim's natural axis with their mean and 95 % interval; for a scaling claim on log-log axes, the
fitted slope (the claim's measured value) and the predicted slope with its band, drawn as lines through
the points' centroid in log space; otherwise the derived curve ``y_predicted`` when the replicates carry it.
"""
from __future__ import annotations

import io
import math

import numpy as np
from scipy import stats

from ..verdict import as_interval, band
from . import style

CONTROLS = (("negative_control", "negative control", style.NEGATIVE, "--"),
            ("positive_control", "positive control", style.POSITIVE, "-."),
            ("alternative", "competing theory", style.ALTERNATIVE, ":"))
OFF_SCALE = 4.0      # a control further than this many data spans from the data is drawn as an edge arrow


def _finite(x) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def replicates(row) -> tuple[np.ndarray, np.ndarray]:
    """``(values, kept)``: every replicate's value and whether it entered the interval (its event held)."""
    values = np.asarray(row.get("values") or [], float)
    extras = row.get("extras") or [{} for _ in values]
    kept = np.array([bool((e or {}).get("event", True)) if row.get("event_label") else True for e in extras],
                    dtype=bool)
    if kept.shape != values.shape:
        kept = np.ones_like(values, dtype=bool)
    return values, kept


def _relation(comparison: str, pred, tol: float) -> str:
    lo, hi = as_interval(pred)
    centre = style.format_value(lo) if lo == hi else f"[{style.format_value(lo)}, {style.format_value(hi)}]"
    tol_text = f" ± {tol:.3g}" if tol else ""
    return {"within": f"{centre}{tol_text}", "below": f"≤ {style.format_value(hi)}{f' + {tol:.3g}' if tol else ''}",
            "above": f"≥ {style.format_value(lo)}{f' − {tol:.3g}' if tol else ''}"}[comparison]


def _limits(row, values) -> tuple[float, float, float]:
    """``(lo, hi, span)`` of the data, the interval, the prediction and the finite band edges."""
    pts = [v for v in values if math.isfinite(v)]
    pts += [row[k] for k in ("measured", "ci_low", "ci_high") if _finite(row.get(k))]
    if row.get("predicted") is not None:
        p_lo, p_hi = as_interval(row["predicted"])
        b_lo, b_hi = band(row["predicted"], row.get("tolerance") or 0.0, row["comparison"])
        pts += [x for x in (p_lo, p_hi, b_lo, b_hi) if math.isfinite(x)]
    if not pts:
        return -1.0, 1.0, 2.0
    lo, hi = min(pts), max(pts)
    span = hi - lo
    if span <= 0:
        span = max(abs(lo) * 0.1, 1e-9)
    return lo, hi, span


def draw_strip(ax, row, measured_label: str = "") -> None:
    """The comparison panel of ``row`` on ``ax`` (see the module docstring)."""
    values, kept = replicates(row)
    lo, hi, span = _limits(row, values)
    x_lo, x_hi = lo - 0.12 * span, hi + 0.12 * span
    off_scale = []
    for key, _, _, _ in CONTROLS:
        c = row.get(key)
        if c and c.get("predicted") is not None:
            c_lo, c_hi = as_interval(c["predicted"])
            if c_hi < lo - OFF_SCALE * span or c_lo > hi + OFF_SCALE * span:
                off_scale.append(key)
                continue
            x_lo, x_hi = min(x_lo, c_lo - 0.05 * span), max(x_hi, c_hi + 0.05 * span)
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(-0.75, 1.6)
    handles = []
    if row.get("predicted") is not None:
        tol = row.get("tolerance") or 0.0
        p_lo, p_hi = as_interval(row["predicted"])
        b_lo, b_hi = band(row["predicted"], tol, row["comparison"])
        handles.append(ax.axvspan(max(b_lo, x_lo - span), min(b_hi, x_hi + span), color=style.BAND, alpha=0.3,
                                  lw=0, label=f"accepted band: {_relation(row['comparison'], row['predicted'], tol)}"))
        if p_hi > p_lo:
            handles.append(ax.axvspan(p_lo, p_hi, color=style.PREDICTED, alpha=0.25, lw=0,
                                      label=f"predicted interval [{p_lo:.4g}, {p_hi:.4g}]"))
        for p in {p_lo, p_hi}:
            line = ax.axvline(p, color=style.PREDICTED, lw=2, label=f"predicted {p:.4g}")
        if p_hi == p_lo:
            handles.append(line)
    for key, name, colour, ls in CONTROLS:
        c = row.get(key)
        if not c or c.get("predicted") is None:
            continue
        c_lo, c_hi = as_interval(c["predicted"])
        text = f"{name}: {style.short(c.get('label', ''), 70)} ({_relation(c.get('comparison', row['comparison']), c['predicted'], c.get('tolerance') or 0.0)}) → {c.get('verdict', '?')}"
        if key in off_scale:
            right = c_lo > hi
            ax.annotate(f"{name} {style.format_value(c['predicted'])} {'→' if right else '←'}",
                        xy=(1.0 if right else 0.0, 0.93), xycoords="axes fraction", ha="right" if right else "left",
                        va="top", color=colour, fontsize=7.5)
            handles.append(ax.plot([], [], color=colour, ls=ls, lw=1.5, label=style.wrap(text + " (off scale)", 60))[0])
            continue
        for x in {c_lo, c_hi}:
            line = ax.axvline(x, color=colour, ls=ls, lw=1.5)
        if c_hi > c_lo:
            ax.axvspan(c_lo, c_hi, color=colour, alpha=0.12, lw=0)
        line.set_label(style.wrap(text, 60))
        handles.append(line)
    n = len(values)
    jitter = np.linspace(-0.13, 0.13, n) if n > 1 else np.zeros(n)
    if n:
        order = np.argsort(np.argsort(values))  # rank: spreads equal values, keeps the strip readable
        y = jitter[order] if n > 1 else jitter
        handles.append(ax.scatter(values[kept], y[kept], s=18, color=style.REPLICATE, edgecolor="white", lw=0.4,
                                  zorder=3, label=f"replicates ({int(kept.sum())} in the interval)"))
        if (~kept).any():
            handles.append(ax.scatter(values[~kept], y[~kept] - 0.5, s=18, facecolor="none",
                                      edgecolor=style.REPLICATE, zorder=3,
                                      label=f"event failed, left out ({int((~kept).sum())})"))
    colour, marker = style.VERDICT_STYLE.get(row.get("verdict"), (style.MEASURED, "o"))
    if _finite(row.get("ci_low")) and _finite(row.get("measured")):
        m, c_lo, c_hi = row["measured"], row["ci_low"], row["ci_high"]
        h = ax.errorbar([m], [1.0], xerr=[[m - c_lo], [c_hi - m]], fmt=marker, color=colour, ms=7, capsize=4,
                        lw=2, zorder=4, label=f"measured {m:.4g}, 95 % CI [{c_lo:.4g}, {c_hi:.4g}] → {row['verdict']}")
        handles.append(h)
    if row.get("error"):
        ax.text(0.5, 0.97, style.wrap(f"error: {row['error']}", 80), transform=ax.transAxes, ha="center",
                va="top", fontsize=7.5, color=style.VERDICT_STYLE["error"][0])
    ax.set_yticks([0.0, 1.0])
    # a limit row's replicates belong to its rungs, drawn in the ladder panel
    strip = (f"replicates\n(S = {n})" if n or row.get("kind") != "limit"
             else f"replicates\n({row.get('seeds')} per rung, below)")
    ax.set_yticklabels([strip, f"mean, 95 % CI\n({row.get('interval', 'student_t')})"])
    ax.set_xlabel(measured_label or row.get("measured_label") or "measured statistic")
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7, handlelength=2.2)


def curve_points(row) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    """``[(x, y, y_predicted or None)]`` of the replicates that entered the interval and report a curve."""
    _, kept = replicates(row)
    out = []
    for e, k in zip(row.get("extras") or [], kept):
        if k and isinstance(e, dict) and "x" in e and "y" in e:
            x, y = np.asarray(e["x"], float), np.asarray(e["y"], float)
            if x.shape == y.shape and x.size:
                yp = e.get("y_predicted")
                out.append((x, y, None if yp is None else np.asarray(yp, float)))
    return out


def _slope_line(ax, lx0, ly0, lx, slope, **kw):
    return ax.plot(np.exp(lx), np.exp(ly0 + slope * (lx - lx0)), **kw)[0]


def draw_curve(ax, row, curve, kind: str) -> bool:
    """The points along the natural axis (see the module docstring); False when the row carries none."""
    pts = curve_points(row)
    if not pts:
        return False
    log = curve.log or kind == "scaling"
    for i, (x, y, _) in enumerate(pts):
        ax.plot(x, y, "o-", color=style.REPLICATE, ms=3, lw=0.6, alpha=0.55,
                label=f"replicates ({len(pts)})" if i == 0 else None)
    same_x = all(p[0].shape == pts[0][0].shape and np.allclose(p[0], pts[0][0]) for p in pts)
    if same_x:
        ys = np.stack([p[1] for p in pts])
        mean = ys.mean(axis=0)
        if len(pts) > 1:
            half = stats.t.ppf(0.975, len(pts) - 1) * ys.std(axis=0, ddof=1) / math.sqrt(len(pts))
        else:
            half = np.zeros_like(mean)
        ax.errorbar(pts[0][0], mean, yerr=half, fmt="o", color=style.MEASURED, ms=5, capsize=3, zorder=4,
                    label="mean over replicates, 95 % CI")
    if kind == "scaling" and row.get("predicted") is not None:
        xs = np.concatenate([p[0] for p in pts])
        ys_all = np.concatenate([p[1] for p in pts])
        ok = (xs > 0) & (ys_all > 0)
        if ok.any():
            lx0, ly0 = np.log(xs[ok]).mean(), np.log(ys_all[ok]).mean()
            lx = np.linspace(np.log(xs[ok]).min(), np.log(xs[ok]).max(), 50)
            tol = row.get("tolerance") or 0.0
            p_lo, p_hi = as_interval(row["predicted"])
            if row["comparison"] == "within":
                ax.fill_between(np.exp(lx), np.exp(ly0 + (p_lo - tol) * (lx - lx0)),
                                np.exp(ly0 + (p_hi + tol) * (lx - lx0)), color=style.BAND, alpha=0.3, lw=0,
                                label=f"predicted slope band {_relation('within', row['predicted'], tol)}")
                for p in {p_lo, p_hi}:
                    _slope_line(ax, lx0, ly0, lx, p, color=style.PREDICTED, lw=2,
                                    label=f"predicted slope {_relation('within', row['predicted'], tol)}")
            else:
                edge = p_hi + tol if row["comparison"] == "below" else p_lo - tol
                _slope_line(ax, lx0, ly0, lx, edge, color=style.PREDICTED, lw=2,
                                label=f"bound: slope {_relation(row['comparison'], row['predicted'], tol)}")
            if _finite(row.get("measured")):
                m = row["measured"]
                ci = (f" [{row['ci_low']:.3g}, {row['ci_high']:.3g}]" if _finite(row.get("ci_low")) else "")
                _slope_line(ax, lx0, ly0, lx, m, color=style.MEASURED, lw=1.5,
                            label=f"fitted slope {m:.3g}{ci} (mean of the replicates' fits)")
            c = row.get("negative_control") or {}
            if c.get("predicted") is not None:
                c_lo, c_hi = as_interval(c["predicted"])
                _slope_line(ax, lx0, ly0, lx, (c_lo + c_hi) / 2, color=style.NEGATIVE, ls="--", lw=1.3,
                            label=f"negative control: slope {style.format_value(c['predicted'])}")
            pc = row.get("positive_control") or {}
            if pc.get("predicted") is not None:
                for s in set(as_interval(pc["predicted"])):
                    _slope_line(ax, lx0, ly0, lx, s, color=style.POSITIVE, ls="-.", lw=1.2,
                                label=f"positive control: slope {style.format_value(pc['predicted'])}")
            ax.text(0.99, 0.02, "slope lines pass through the points' centroid (log space)",
                    transform=ax.transAxes, ha="right", va="bottom", fontsize=6.5, color="#555555")
    elif any(p[2] is not None for p in pts):
        x, _, yp = next(p for p in pts if p[2] is not None)
        ax.plot(x, yp, "-", color=style.PREDICTED, lw=2, label="predicted (derived)")
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel(curve.x_label)
    ax.set_ylabel(curve.y_label)
    hs, ls = ax.get_legend_handles_labels()
    seen = {}
    for h, lab in zip(hs, ls):
        seen.setdefault(lab, h)
    ax.legend(list(seen.values()), [style.wrap(k, 60) for k in seen], loc="center left", bbox_to_anchor=(1.01, 0.5),
              fontsize=7)
    return True


def caption(row, claim=None) -> str:
    """The figure's caption: statement, tier, seeds and root, parameters, tolerance and its reason."""
    lines = []
    if claim is not None:
        lines.append(style.wrap(f"Statement: {claim.statement}", 120))
    lines.append(style.wrap(f"{row.get('tier', 'quick')} tier, {row.get('seeds')} seeds, root {row.get('root_seed')}; "
                            f"parameters: {style.params_caption(row.get('params'))}", 120))
    reason = row.get("tolerance_reason") or (claim.tolerance_reason if claim is not None else "")
    if reason:
        lines.append(style.wrap(f"Tolerance ±{style.format_value(row.get('tolerance'))}: {style.short(reason, 300)}",
                                120))
    if row.get("event_label"):
        lines.append(style.wrap(f"Event ({row['event_label']}) failed in {row.get('event_failures', 0)} of "
                                f"{row.get('seeds')} replicates (left out).", 120))
    if row.get("finding") and row.get("verdict") == row.get("expected") != "verified":
        lines.append(style.wrap(f"Finding: {style.short(row['finding'], 400)}", 120))
    return "\n".join(lines)


def detail_image(claim, row):
    """RGBA pixels of the claim's own figure (``claim.plot``) at the row's parameters and replicate seeds."""
    import matplotlib.image
    import matplotlib.pyplot as plt

    from ..backends import single_threaded
    from ..runner import replicate_rngs

    with single_threaded():
        fig = claim.plot(row["params"], replicate_rngs(claim.id, row["root_seed"], int(row["seeds"])))
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=style.DPI, bbox_inches="tight")
    finally:
        plt.close(fig)
    buf.seek(0)
    return matplotlib.image.imread(buf, format="png")


def comparison_figure(row, claim=None, detail=None):
    """The claim's figure: the comparison panel, the natural-axis panel when the claim has a curve, the
    caption, and ``detail`` (pixels of the claim's own figure, from :func:`detail_image`) below them."""
    import matplotlib.pyplot as plt

    from .limit import draw_limit, has_ladder

    curve = getattr(claim, "curve", None)
    has_curve = curve is not None and bool(curve_points(row))
    ladder = has_ladder(row)
    text = caption(row, claim)
    heights = ([2.4] + ([3.4] if ladder else []) + ([3.2] if has_curve else [])
               + [0.14 * (text.count("\n") + 1) + 0.1])
    if detail is not None:
        heights.append(min(10.0, style.WIDTH * detail.shape[0] / detail.shape[1]))
    with style.style():
        fig = plt.figure(figsize=(style.WIDTH, sum(heights) + 0.5), layout="constrained")
        grid = fig.add_gridspec(len(heights), 1, height_ratios=heights)
        ax = fig.add_subplot(grid[0])
        # a limit row's strip shows the extrapolated limit alone; its replicates are on the limit panel
        draw_strip(ax, dict(row, values=[], extras=[]) if ladder else row, getattr(claim, "measured_label", ""))
        colour = style.VERDICT_STYLE.get(row.get("verdict"), (style.MEASURED, ""))[0]
        fig.suptitle(f"{row['claim']}  ({row.get('kind')}, {row.get('role', 'theorem')})", fontweight="bold",
                     fontsize=10.5)
        ax.set_title(f"verdict {row.get('verdict')}, expected {row.get('expected')}", color=colour, fontsize=9.5)
        i = 1
        if ladder:
            lad = getattr(claim, "ladder", None)
            draw_limit(fig.add_subplot(grid[i]), row, getattr(lad, "scale_label", "") or getattr(lad, "size", ""),
                       getattr(lad, "value_label", "") or getattr(claim, "measured_label", ""))
            i += 1
        if has_curve:
            draw_curve(fig.add_subplot(grid[i]), row, curve, row.get("kind"))
            i += 1
        cap = fig.add_subplot(grid[i])
        cap.axis("off")
        cap.text(0.0, 1.0, text, transform=cap.transAxes, ha="left", va="top", fontsize=7, color="#333333")
        if detail is not None:
            axd = fig.add_subplot(grid[i + 1])
            axd.imshow(detail)
            axd.axis("off")
            axd.set_title("the claim's own figure (Claim.plot)", fontsize=8.5, color="#333333")
    return fig
