r"""Limit claims: an asymptotic statement checked as an asymptotic, on a ladder of sizes.

A theorem that holds as a size grows (``k``, ``n``, ``m``, ``P``, or a dimensionless size such as
:math:`1/(\eta C A^{q-2})`) says little at any one size.  A claim of ``kind="limit"`` declares, before any
data, a :class:`Ladder`: the regime parameter that is stepped, the sizes of each tier, the finite-size model
and the window of sizes the model is fitted on.  Every rung (size :math:`\times` replicate) is one task of the
runner (:func:`theorycheck.runner.measure_points`), so rungs run on any backend and are stored under
parameters that include the size: an interrupted ladder resumes.

Finite-size models, fitted on the seed means :math:`\bar y_g` at the scales :math:`s_g` of the window
----------------------------------------------------------------------------------------------------------
``power``
    :math:`\bar y(s) = L + c\, s^{-\alpha}`.  With ``alpha`` fixed by the theory this is a linear least-squares
    fit in :math:`(1, s^{-\alpha})`; with ``alpha=None`` the exponent is fitted too, by profiling:
    for each :math:`\alpha` on :data:`ALPHA_GRID` the linear fit's residual sum of squares, minimised over
    the grid (needs three sizes in the window).  The limit is :math:`L`.
``loglog_slope``
    The least-squares slope of :math:`\ln \bar y` on :math:`\ln s` over the window: the asymptotic exponent.

Interval.  Replicate ``i`` of every rung is driven by the same seed (common random numbers), so the seeds are
resampled jointly across rungs: a bootstrap draw picks ``S`` seed indices with replacement, averages each
rung over them and refits.  The interval is the fixed-size claims' Student-t interval with the bootstrap's
standard error (:func:`theorycheck.verdict.bootstrap_interval`),

.. math::  \hat L \pm t_{S-1,\,0.975}\, \sqrt{S/(S-1)}\; \widehat{\mathrm{se}}_{\mathrm{boot}},
           \qquad \widehat{\mathrm{se}}_{\mathrm{boot}} = \tfrac12\,(q_{0.841} - q_{0.159}),

with :math:`q_p` the quantiles of the ``n_boot`` refitted values (half their central 68 % range: the standard
deviation for a normal spread).  For a fit that is linear in the rung means it is the Student-t interval of
that linear combination; the factor :math:`\sqrt{S/(S-1)}` undoes the plug-in variance of resampling ``S``
seeds.  Where the 2.5-97.5 % percentile interval of the refits reaches further (a skewed spread, or draws in
which a rung lost every positive seed and the log-log slope has no finite value) the interval extends to it.
The percentile interval alone covers about 90 % at the 5-16 seeds the ladders use (Monte Carlo in
``tests/test_limit_coverage.py``), which let a verdict on a band's edge flip between seed roots.  The
bootstrap's generator is derived from the root seed and the claim (:func:`bootstrap_rng`), so a verdict is
reproducible.  The interval is judged against the band exactly as a
fixed-size claim's (:func:`theorycheck.runner.judge`), with the negative, positive and competing controls.

Window rules (:class:`Window`) are declared with the claim: the ``largest`` few sizes, or the sizes whose
scale is at least a threshold derived from the parameters (a pre-asymptotic scale), or both.
"""
from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .regime import RegimeError
from .task import real_number
from .verdict import bootstrap_interval

MODELS = ("power", "loglog_slope")
#: Exponents over which a ``power`` model with a fitted ``alpha`` is profiled.
ALPHA_GRID = np.geomspace(0.05, 4.0, 400)
LEVEL = 0.95


@dataclass(frozen=True)
class Window:
    """The rungs the finite-size model is fitted on, declared before the data.

    Parameters
    ----------
    largest : int, optional
        Keep the ``largest`` rungs of greatest scale.
    threshold : callable, optional
        ``threshold(params) -> float``: keep the rungs whose scale is at least this (a derived
        pre-asymptotic scale).  With ``largest`` too, both apply.
    threshold_label : str
        What the threshold is (required with ``threshold``).
    """

    largest: int | None = 3
    threshold: Callable[[Mapping[str, Any]], float] | None = None
    threshold_label: str = ""

    def __post_init__(self):
        if self.largest is not None and int(self.largest) < 2:
            raise ValueError("a window needs at least two sizes (largest >= 2)")
        if self.largest is None and self.threshold is None:
            raise ValueError("a window needs a rule: largest=N sizes, a threshold, or both")
        if self.threshold is not None and not self.threshold_label:
            raise ValueError("a window threshold needs its label (what the derived scale is)")

    def select(self, scales: Sequence[float], params) -> np.ndarray:
        """Boolean mask of the rungs in the window (``scales`` in any order).

        ``params`` is one mapping for every rung, or a sequence of the rungs' own parameters (one per scale):
        a ladder that grows other parameters with its size derives each rung's threshold from that rung's.
        """
        s = np.asarray(scales, float)
        keep = np.ones(s.shape, bool)
        if self.threshold is not None:
            per_rung = [params] * len(s) if isinstance(params, Mapping) else list(params)
            if len(per_rung) != len(s):
                raise ValueError(f"the window got {len(per_rung)} rungs' parameters for {len(s)} sizes")
            keep &= s >= np.array([float(self.threshold(p)) for p in per_rung])
        if self.largest is not None:
            order = np.argsort(-s, kind="stable")
            top = np.zeros(s.shape, bool)
            top[order[:int(self.largest)]] = True
            keep &= top
        return keep

    def describe(self) -> str:
        parts = []
        if self.largest is not None:
            parts.append(f"the largest {int(self.largest)} sizes")
        if self.threshold is not None:
            parts.append(f"sizes past {self.threshold_label}")
        return " and ".join(parts)


@dataclass(frozen=True)
class Ladder:
    """A limit claim's sizes, finite-size model and window (see the module docstring).

    Parameters
    ----------
    size : str
        The regime parameter stepped along the ladder.
    sizes : dict
        ``{"quick": (...), "full": (...)}``: its values per tier (each rung must lie in the regime).
    model : {"power", "loglog_slope"}
        The finite-size model.
    alpha : float, optional
        The correction's exponent from the theory (``power``); None fits it.
    alpha_reason : str
        Where ``alpha`` comes from (required when it is fixed).
    window : Window
        The rungs the model is fitted on.
    scale : callable, optional
        ``scale(params) -> float``: the size the limit is taken in (it grows to infinity), e.g.
        ``1 / (eta C A^(q-2))``; default the parameter ``size`` itself.
    scale_label : str
        The scale's name on the figure's axis.
    value_label : str
        What a rung's replicates measure, on the figure's value axis (default the claim's measured label,
        which names the extrapolated quantity; they differ for ``loglog_slope``: a value and its exponent).
    n_boot : int
        Bootstrap draws.
    coscale : callable, optional
        ``coscale(params) -> params``: the other parameters a theorem lets grow with the size (AZL's
        ``m = polylog k`` kernels per class, ``N = poly(k)`` samples), applied to every rung after the size is
        set; each rung, co-scaled, must lie in the regime.
    coscaled : tuple of str
        The names ``coscale`` sets (required with it): ``--set`` of one of them is refused, since the ladder
        would override it.
    coscale_label : str
        What ``coscale`` sets (required with it).
    """

    size: str
    sizes: Mapping[str, Sequence]
    model: str = "power"
    alpha: float | None = None
    alpha_reason: str = ""
    window: Window = field(default_factory=Window)
    scale: Callable[[Mapping[str, Any]], float] | None = None
    scale_label: str = ""
    n_boot: int = 2000
    coscale: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None
    coscaled: tuple = ()
    coscale_label: str = ""
    value_label: str = ""

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"ladder model must be one of {MODELS}, got {self.model!r}")
        for tier in ("quick", "full"):
            if len(tuple(self.sizes.get(tier, ()))) < 2:
                raise ValueError(f"the ladder needs at least two sizes at the {tier} tier")
        if self.model == "power" and self.alpha is not None:
            if not (float(self.alpha) > 0) or not self.alpha_reason:
                raise ValueError("a fixed alpha must be positive and carry its reason (alpha_reason)")
        if self.coscale is not None and (not self.coscale_label or not self.coscaled):
            raise ValueError("a co-scaling rule needs its label and the names it sets (coscale_label, coscaled)")
        if int(self.n_boot) < 200:
            raise ValueError("the bootstrap needs at least 200 draws")

    def scale_of(self, params: Mapping[str, Any]) -> float:
        s = float(self.scale(params)) if self.scale is not None else float(params[self.size])
        if not (s > 0 and math.isfinite(s)):
            raise ValueError(f"the ladder's scale must be positive and finite, got {s} at {self.size}="
                             f"{params[self.size]!r}")
        return s

    def rungs(self, params: Mapping[str, Any], tier: str) -> list[dict]:
        """The parameter dicts of the ladder at ``tier``: ``params`` with the size set to each rung (and the
        co-scaled parameters set from it)."""
        out = [dict(params, **{self.size: v}) for v in self.sizes[tier]]
        return out if self.coscale is None else [dict(self.coscale(p)) for p in out]

    def check_settable(self, names) -> None:
        """Refuse a setting of a co-scaled parameter (the ladder would override it at every rung)."""
        fixed = sorted(set(names) & set(self.coscaled))
        if fixed:
            raise RegimeError(f"{fixed[0]!r} cannot be set: it grows with {self.size} along the ladder "
                              f"({self.coscale_label})")

    def describe(self) -> dict:
        return {"size": self.size, "sizes": {t: list(v) for t, v in self.sizes.items()}, "model": self.model,
                "alpha": self.alpha, "alpha_reason": self.alpha_reason, "window": self.window.describe(),
                "scale": self.scale_label or self.size, "coscale": self.coscale_label or None}


# ------------------------------------------------------------------------------------------ fitting
def _power_fixed(s: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """``(L, c)`` of ``y = L + c s^-alpha`` by least squares, for each row of ``y`` (shape (B, G))."""
    z = s ** (-alpha)
    zc = z - z.mean()
    c = (y - y.mean(axis=1, keepdims=True)) @ zc / (zc @ zc)
    return y.mean(axis=1) - c * z.mean(), c


def _power_profiled(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(L, c, alpha)`` with ``alpha`` minimising the residual sum of squares over :data:`ALPHA_GRID`."""
    z = s[None, :] ** (-ALPHA_GRID[:, None])               # (A, G)
    zc = z - z.mean(axis=1, keepdims=True)
    szz = np.einsum("ag,ag->a", zc, zc)
    yc = y - y.mean(axis=1, keepdims=True)                  # (B, G)
    szy = yc @ zc.T                                         # (B, A)
    rss = np.einsum("bg,bg->b", yc, yc)[:, None] - szy ** 2 / szz[None, :]
    best = np.argmin(rss, axis=1)
    rows = np.arange(y.shape[0])
    c = szy[rows, best] / szz[best]
    return y.mean(axis=1) - c * z[best].mean(axis=1), c, ALPHA_GRID[best]


def _loglog(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if np.any(y <= 0):
        raise ValueError("a log-log slope needs positive values at every size of the window")
    lx = np.log(s)
    lxc = lx - lx.mean()
    ly = np.log(y)
    slope = (ly - ly.mean(axis=1, keepdims=True)) @ lxc / (lxc @ lxc)
    return slope, ly.mean(axis=1) - slope * lx.mean()


def fit(s: Sequence[float], y, model: str = "power", alpha: float | None = None) -> dict:
    """Fit a finite-size model to values ``y`` at scales ``s``.

    Parameters
    ----------
    s : array_like, shape (G,)
        The scales of the rungs in the window.
    y : array_like, shape (G,) or (B, G)
        Values (seed means) at those scales; a 2-D array fits each row.

    Returns
    -------
    dict
        ``limit`` (L, or the log-log slope), and ``c``, ``alpha`` (power) or ``intercept`` (slope): arrays
        of shape (B,) for 2-D ``y``, floats otherwise.
    """
    s = np.asarray(s, float)
    y = np.asarray(y, float)
    flat = y.ndim == 1
    y2 = y[None, :] if flat else y
    if y2.shape[1] != s.size:
        raise ValueError(f"{s.size} scales but {y2.shape[1]} values per fit")
    if np.unique(s).size < s.size:
        raise ValueError("the window's scales must be distinct")
    if model == "loglog_slope":
        if s.size < 2:
            raise ValueError("a log-log slope needs two sizes in the window")
        slope, icpt = _loglog(s, y2)
        out = {"limit": slope, "intercept": icpt}
    elif model == "power":
        if alpha is None:
            if s.size < 3:
                raise ValueError("a power model with a fitted alpha needs three sizes in the window")
            L, c, a = _power_profiled(s, y2)
        else:
            if s.size < 2:
                raise ValueError("a power model needs two sizes in the window")
            L, c = _power_fixed(s, y2, float(alpha))
            a = np.full(L.shape, float(alpha))
        out = {"limit": L, "c": c, "alpha": a}
    else:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    return {k: float(v[0]) for k, v in out.items()} if flat else out


def bootstrap_rng(claim_id: str, root: int) -> np.random.Generator:
    """The bootstrap's generator: fixed by the root seed and the claim (a stream no replicate uses)."""
    return np.random.default_rng(np.random.SeedSequence(
        entropy=int(root), spawn_key=(zlib.crc32(f"{claim_id}@bootstrap".encode()),)))


def bootstrap(s: Sequence[float], values, model: str = "power", alpha: float | None = None, n_boot: int = 2000,
              rng: np.random.Generator | None = None, level: float = LEVEL) -> dict:
    """The fitted limit with its Student-t interval from a bootstrap over seeds (module docstring).

    Parameters
    ----------
    s : array_like, shape (G,)
    values : array_like, shape (G, S)
        Replicate ``j`` of every rung in column ``j``; columns are resampled jointly.

    Returns
    -------
    dict
        ``limit, ci_low, ci_high`` and the point fit's parameters (``c``, ``alpha`` or ``intercept``).
    """
    v = np.asarray(values, float)
    if v.ndim != 2 or v.shape[1] < 2:
        raise ValueError("the bootstrap over seeds needs values of shape (sizes, seeds) with two or more seeds")
    if not np.all(np.isfinite(v)):
        raise FloatingPointError("a replicate of the ladder is NaN or infinite")
    point = fit(s, v.mean(axis=1), model, alpha)
    rng = np.random.default_rng(0) if rng is None else rng
    idx = rng.integers(0, v.shape[1], size=(int(n_boot), v.shape[1]))
    means = v[:, idx].mean(axis=2).T                    # (B, G)
    degenerate = 0.0
    if model == "loglog_slope":
        if np.any(v < 0):
            raise ValueError("a log-log slope needs non-negative values at every size of the window")
        # a draw in which every drawn seed measured 0 at a rung has no finite slope; the smallest positive
        # float stands in for that 0, so the draw lands far out (on the side set by the rung's position in
        # log-scale: low at the top rung, high at the bottom one); the row reports the share of such draws
        zero = means <= 0
        degenerate = float(zero.any(axis=1).mean())
        means = np.where(zero, np.finfo(float).tiny, means)
    draws = fit(s, means, model, alpha)["limit"]
    low, high = bootstrap_interval(point["limit"], draws, v.shape[1], level)
    out = dict(point, ci_low=low, ci_high=high)
    if model == "loglog_slope":
        out["degenerate_draws"] = degenerate
    return out


# ------------------------------------------------------------------------------------------ the verify row
def extras_summary(extras: Sequence[Mapping[str, Any]]) -> tuple[dict, dict, dict]:
    """Per extra reported by a rung's replicates, the mean of its finite real numbers, that mean's standard
    error (None from fewer than two) and how many replicates entered it; a replicate that reports none,
    NaN or a non-number is left out, as in :func:`theorycheck.runner.reported_mean` (bools, which count
    events, are not averaged).  Returns ``(means, standard_errors, counts)``."""
    means, ses, counts = {}, {}, {}
    for name in sorted({n for e in extras for n in (e or {})}):
        xs = [v for v in (real_number((e or {}).get(name)) for e in extras) if v is not None]
        if xs:
            means[name] = float(np.mean(xs))
            ses[name] = float(np.std(xs, ddof=1) / math.sqrt(len(xs))) if len(xs) > 1 else None
            counts[name] = len(xs)
    return means, ses, counts


def _rung_summary(scale: float, size, vals: np.ndarray, in_window: bool, extras=()) -> dict:
    from .verdict import mean_ci

    m, lo, hi = mean_ci(vals)
    means, ses, counts = extras_summary(extras)
    return {"size": size, "scale": scale, "mean": m, "ci_low": lo, "ci_high": hi, "seeds": int(vals.size),
            "values": [float(x) for x in vals], "in_window": bool(in_window), "extras_mean": means,
            "extras_se": ses, "extras_n": counts}


def verify_limit(claim, params: Mapping[str, Any], n_seeds: int, root: int, backend=None, store=None,
                 progress: bool = True, tier: str = "quick") -> dict:
    """Run a limit claim's ladder at ``tier`` (``n_seeds`` replicates per rung) and return its verify row.

    The row carries the fields of every verify row (its ``measured`` and ``ci_low, ci_high`` are the
    extrapolated limit and its bootstrap interval, judged against the band) and ``limit, limit_ci_low,
    limit_ci_high``, ``window`` (the rule and the sizes it kept), ``ladder`` (per rung: size, scale, mean and
    95 % interval, the replicates' values, whether it is in the window, and ``extras_mean``, ``extras_se``,
    ``extras_n``: the mean of each numeric extra the replicates report, its standard error and how many
    reported it, what else the ladder shows along its sizes) and ``fit`` (the
    model's parameters).
    ``params``, ``values``, ``extras`` and ``replicate_elapsed_s`` are those of the top rung (the largest
    scale), so a replicate can be rerun from the row.
    """
    from . import backends
    from .progress import Progress
    from .runner import measure_points
    from .store import code_version, params_key

    t0 = time.perf_counter()
    backend = backend or backends.InProcess()
    lad = claim.ladder
    rungs = lad.rungs(params, tier)
    base = {"claim": claim.id, "kind": claim.kind, "comparison": claim.comparison, "role": claim.role,
            "tier": tier, "expected": claim.expected_for(tier), "seeds": n_seeds, "root_seed": int(root),
            "prediction_source": claim.prediction_source, "interval": "bootstrap_seeds",
            "measured_label": claim.measured_label, "finding": claim.finding_for(tier),
            "tolerance_reason": claim.tolerance_reason,
            "backend": getattr(backend, "name", type(backend).__name__), "code_version": code_version(),
            "ladder_model": lad.describe()}
    failed = dict(verdict="error", predicted=None, measured=None, ci_low=None, ci_high=None, tolerance=None,
                  resolution=None, control_distance=None, limit=None, limit_ci_low=None, limit_ci_high=None,
                  negative_control={"label": claim.negative_label, "verdict": "error"})
    if claim.positive_control is not None:
        failed["positive_control"] = {"label": claim.positive_label, "verdict": "error"}
    try:
        rungs = [claim.regime.validate(p) for p in rungs]
        scales = np.array([lad.scale_of(p) for p in rungs])
    except ValueError as exc:
        row = dict(base, params=dict(params), values=[], extras=[], replicate_elapsed_s=[], reused=0, **failed,
                   error=f"ladder of {lad.size}: {exc}")
        row["elapsed_s"] = time.perf_counter() - t0
        return row
    order = np.argsort(scales, kind="stable")
    rungs = [rungs[g] for g in order]
    scales = scales[order]
    bar = Progress(f"{claim.id} (ladder of {lad.size})", len(rungs) * n_seeds, enabled=progress)
    records = measure_points(claim, [(p, i) for p in rungs for i in range(n_seeds)], root, backend, store, bar)
    grid = [[records[(params_key(p), i)] for i in range(n_seeds)] for p in rungs]
    top = grid[-1]
    row = dict(base, params=dict(rungs[-1]), values=[r["value"] for r in top], extras=[r["extras"] for r in top],
               replicate_elapsed_s=[r["elapsed_s"] for r in top],
               reused=sum(bool(r.get("cached")) for rec in grid for r in rec),
               ladder_elapsed_s=[float(sum(r["elapsed_s"] for r in rec) / n_seeds) for rec in grid])
    errors = [f"{lad.size}={p[lad.size]!r}, replicate {r['index']}: {r['error']}"
              for p, rec in zip(rungs, grid) for r in rec if r["error"]]
    if not errors:
        try:
            values = np.array([[r["value"] for r in rec] for rec in grid], float)
            keep = lad.window.select(scales, rungs)
            row["ladder"] = [_rung_summary(float(scales[g]), rungs[g][lad.size], values[g], keep[g],
                                           [r["extras"] for r in grid[g]]) for g in range(len(rungs))]
            row["window"] = {"rule": lad.window.describe(),
                             "sizes": [rungs[g][lad.size] for g in range(len(rungs)) if keep[g]],
                             "scales": [float(x) for x in scales[keep]]}
            _judge_window(claim, row, scales[keep], values[keep], rungs[-1], root)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    if errors:
        row.update(failed, error=errors[0])
    row["elapsed_s"] = time.perf_counter() - t0
    bar.close(row["verdict"])
    if store is not None and hasattr(store, "save_result"):
        store.save_result(row)
    return row


def _judge_window(claim, row: dict, scales: np.ndarray, values: np.ndarray, top: Mapping[str, Any], root: int) -> None:
    """Fit the window's values (sizes, seeds), bootstrap the interval and judge it: sets ``fit``, ``limit``,
    ``limit_ci_low``, ``limit_ci_high`` and the verdict fields of ``row`` (``top``: the top rung's params)."""
    from .runner import judge

    lad = claim.ladder
    est = bootstrap(scales, values, lad.model, lad.alpha, lad.n_boot, bootstrap_rng(claim.id, root))
    row["fit"] = {"model": lad.model, **{k: v for k, v in est.items() if k not in ("ci_low", "ci_high")}}
    row.update(limit=est["limit"], limit_ci_low=est["ci_low"], limit_ci_high=est["ci_high"])
    row.update(judge(claim, top, est["limit"], est["ci_low"], est["ci_high"]))
    row["interval"] = "bootstrap_seeds"


def rejudge(claim, row: Mapping[str, Any]) -> dict:
    """A limit row judged again from the replicate values it records, with the current statistics and the
    claim's current band, controls, expectation and finding; no replicate is rerun.

    The row must come from the same ladder (sizes, model, window rule and co-scaling as the claim declares
    now) and carry its rungs' values.  The result keeps the measurement's ``code_version`` and
    ``provenance`` and adds ``rejudged``: the code version that judged it, the verdict and interval before
    this judgement and those the row had when it was measured (kept across repeated judgements).
    """
    from .store import code_version

    if row.get("kind") != "limit" or row.get("claim") != claim.id:
        raise ValueError(f"{row.get('claim')!r} is not a limit row of {claim.id}")
    if row.get("error") or not row.get("ladder"):
        raise ValueError(f"{claim.id}: the row has no rung values to judge (it errored: {row.get('error')})")
    missing = [f for f in ("tier", "root_seed", "params", "window", "limit_ci_low", "limit_ci_high") if f not in row]
    if missing:
        raise ValueError(f"{claim.id}: the row lacks {', '.join(missing)}; allowed: rows written by verify --json")
    if not claim.runs_at(row["tier"]):
        raise ValueError(f"{claim.id}: the row is of the {row['tier']} tier, where the claim is not judged")
    declared, recorded = claim.ladder.describe(), row.get("ladder_model") or {}
    changed = sorted(k for k in set(declared) | set(recorded) if declared.get(k) != recorded.get(k))
    if changed:
        raise ValueError(f"{claim.id}: the row was measured on another ladder than the claim declares (its "
                         f"{', '.join(changed)} changed since); rerun it")
    window = [g for g in row["ladder"] if g["in_window"]]
    if [g["size"] for g in window] != list(row["window"]["sizes"]):
        raise ValueError(f"{claim.id}: the row's rungs do not match its window {row['window']['sizes']}")
    tier = row["tier"]
    out = dict(row, expected=claim.expected_for(tier), finding=claim.finding_for(tier),
               measured_label=claim.measured_label, tolerance_reason=claim.tolerance_reason)
    if claim.alternative is None:
        out.pop("alternative", None)
    if claim.positive_control is None:
        out.pop("positive_control", None)
    _judge_window(claim, out, np.array([g["scale"] for g in window], float),
                  np.array([g["values"] for g in window], float), row["params"], int(row["root_seed"]))
    before = [row["limit_ci_low"], row["limit_ci_high"]]
    first = row.get("rejudged") or {}
    out["rejudged"] = {"code_version": code_version(), "verdict_before": row["verdict"], "interval_before": before,
                       "verdict_when_measured": first.get("verdict_when_measured", row["verdict"]),
                       "interval_when_measured": first.get("interval_when_measured", before)}
    return out
