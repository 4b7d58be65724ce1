"""Verdict statistics: an interval for the measured quantity set against a tolerance band.

Every claim reduces its replicates to a confidence interval ``[lo, hi]`` of the measured statistic
(by default the Student-t interval of the mean over independent seeds).  The prediction ``p`` (a number
or an interval ``[p_lo, p_hi]``) and the tolerance ``tol`` define an acceptance band whose shape depends on
the comparison the paper makes:

========== ==================================== ==================================
comparison band                                  meaning
========== ==================================== ==================================
within     ``[p_lo - tol, p_hi + tol]``         an estimate (or a fitted exponent)
below      ``(-inf, p_hi + tol]``               an upper bound: measured <= predicted
above      ``[p_lo - tol, +inf)``               a lower bound: measured >= predicted
========== ==================================== ==================================

``verified`` when the whole interval lies inside the band, ``refuted`` when it lies wholly outside, and
``inconclusive`` otherwise.

Intervals (the ``interval`` field of a verify row; a claim declares one of :data:`INTERVALS`, a limit
claim's row says ``bootstrap_seeds``):

``student_t``
    ``mean ± t_{(1+level)/2, S-1} s / sqrt(S)`` over the S seeds' values (each seed one independent draw of
    the measured statistic: a mean, a fitted slope, a crossing point).
``bootstrap_seeds``
    For a statistic fitted to seed means (a limit claim's extrapolated limit or exponent): seeds are
    resampled with replacement ``B`` times and the statistic refitted; the interval is
    ``point ± t_{(1+level)/2, S-1} sqrt(S/(S-1)) se`` with ``se`` half the central 68 % range of the ``B``
    refits (:func:`bootstrap_half_width`), the Student-t interval with a bootstrap standard error, widened
    to the refits' percentile interval where that reaches further.
``wilson_cluster``
    For a proportion counted over test samples (an accuracy, a fraction of features or classes): each
    replicate reports ``successes`` of ``trials``; the interval is the hull of the Wilson score interval of
    the pooled counts and the Student-t interval of the seeds' proportions.  Samples of one seed share a
    trained model, so the seeds' spread is the honest width when they disagree (a cluster-robust interval);
    when every seed gives the same proportion the Wilson interval keeps a finite-sample width (never
    ``[1, 1]`` from 16 seeds).

Resolution.  For an interval ``[lo, hi]``, :func:`resolution` is the smallest shift ``|delta|`` of the
prediction that the same interval would *refute*: the distance the prediction must move before the data
could tell it apart.  A negative control should sit a few resolutions from the prediction, and the
control's distance from the edge of the claim's band is reported in tolerance units
(:func:`control_distance`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

VERDICTS = ("verified", "refuted", "inconclusive", "error")
COMPARISONS = ("within", "below", "above")
INTERVALS = ("student_t", "wilson_cluster")


@dataclass(frozen=True)
class Tolerance:
    """Half-width of the acceptance band, absolute or relative to the prediction.

    Parameters
    ----------
    value : float
        The half-width (``absolute``) or the fraction of ``|p|`` (``relative``).
    relative : bool
        When true the half-width is ``value * max(|p_lo|, |p_hi|)``.
    """

    value: float
    relative: bool = False

    def width(self, predicted) -> float:
        lo, hi = as_interval(predicted)
        if self.relative:
            return self.value * max(abs(lo), abs(hi))
        return self.value

    def describe(self) -> str:
        return f"±{self.value:.3g}×|predicted|" if self.relative else f"±{self.value:.3g}"


def as_interval(predicted) -> tuple[float, float]:
    """A prediction as ``(lo, hi)``: a number gives a degenerate interval."""
    if isinstance(predicted, (tuple, list, np.ndarray)):
        lo, hi = (float(v) for v in predicted)
        return (lo, hi) if lo <= hi else (hi, lo)
    return float(predicted), float(predicted)


def bootstrap_half_width(draws, n_seeds: int, level: float = 0.95) -> float:
    r"""Half-width of the Student-t interval of a statistic with a bootstrap standard error over seeds.

    .. math:: t_{(1+\mathrm{level})/2,\,S-1}\; \sqrt{S/(S-1)}\; \tfrac12\,(q_{0.841} - q_{0.159})

    with :math:`q_p` the quantiles of the bootstrap ``draws`` (refits of the statistic on ``S = n_seeds``
    seeds drawn with replacement).  Half the central 68 % range is the standard deviation of a normal
    spread and is not moved by the few draws that land far out (a rung whose every drawn seed measured 0);
    :math:`\sqrt{S/(S-1)}` undoes the plug-in variance of the resampling, so for the mean of one rung the
    interval is the Student-t interval of :func:`mean_ci`.  The plain 2.5-97.5 % percentile interval of
    the draws covers about 90 % at 5-16 seeds.
    """
    from scipy import stats

    if int(n_seeds) < 2:
        raise ValueError("a bootstrap over seeds needs two or more seeds")
    lo, hi = np.quantile(np.asarray(draws, float), [stats.norm.cdf(-1.0), stats.norm.cdf(1.0)])
    se = 0.5 * float(hi - lo) * math.sqrt(n_seeds / (n_seeds - 1))
    return float(stats.t.ppf(0.5 + level / 2, int(n_seeds) - 1)) * se


def bootstrap_interval(point: float, draws, n_seeds: int, level: float = 0.95) -> tuple[float, float]:
    """The ``bootstrap_seeds`` interval: ``point`` +- :func:`bootstrap_half_width`, widened to the draws'
    percentile interval where that reaches further (a skewed spread of refits, or draws far out)."""
    half = bootstrap_half_width(draws, n_seeds, level)
    a = (1 - level) / 2
    low, high = np.quantile(np.asarray(draws, float), [a, 1 - a])
    return float(min(point - half, low)), float(max(point + half, high))


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval of independent replicates.

    ``mean ± t_{(1+level)/2, n-1} · s / sqrt(n)``; with one replicate (or zero spread) the interval is
    the point itself, which is exact for deterministic measurements.
    """
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("no replicates")
    if not np.all(np.isfinite(x)):
        raise FloatingPointError("a replicate is NaN or infinite")
    m = float(x.mean())
    if x.size == 1:
        return m, m, m
    from scipy import stats

    se = float(x.std(ddof=1)) / math.sqrt(x.size)
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1)) * se
    return m, m - half, m + half


def band(predicted, tol: float, comparison: str) -> tuple[float, float]:
    """The acceptance band for a prediction, tolerance half-width and comparison."""
    lo, hi = as_interval(predicted)
    if comparison == "within":
        return lo - tol, hi + tol
    if comparison == "below":
        return -math.inf, hi + tol
    if comparison == "above":
        return lo - tol, math.inf
    raise ValueError(f"comparison must be one of {COMPARISONS}, got {comparison!r}")


def decide(ci_low: float, ci_high: float, predicted, tol: float, comparison: str) -> str:
    """Verdict of an interval against the band: verified / refuted / inconclusive."""
    b_lo, b_hi = band(predicted, tol, comparison)
    if b_lo <= ci_low and ci_high <= b_hi:
        return "verified"
    if ci_high < b_lo or ci_low > b_hi:
        return "refuted"
    return "inconclusive"


def wilson_interval(successes: float, trials: float, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``successes / trials``.

    ``(p + z^2/2n ± z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)`` with ``z`` the normal quantile; it has a
    positive width for every finite ``n``, also at ``p = 0`` and ``p = 1``.
    """
    n = float(trials)
    if not n > 0:
        raise ValueError("a proportion needs trials > 0")
    if not 0 <= successes <= n:
        raise ValueError(f"successes={successes} must lie in [0, trials={n}]")
    from scipy import stats

    p = successes / n
    z = float(stats.norm.ppf(0.5 + level / 2))
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion_ci(successes: Sequence[float], trials: Sequence[float],
                  level: float = 0.95) -> tuple[float, float, float]:
    """Pooled proportion and the ``wilson_cluster`` interval (see the module docstring).

    Returns ``(p, lo, hi)`` with ``p = sum successes / sum trials``.
    """
    s = np.asarray(successes, float)
    n = np.asarray(trials, float)
    if s.size == 0 or s.shape != n.shape:
        raise ValueError("successes and trials must be non-empty and of the same length")
    if np.any(n <= 0):
        raise ValueError("every replicate needs trials > 0")
    p = float(s.sum() / n.sum())
    lo, hi = wilson_interval(float(s.sum()), float(n.sum()), level)
    if s.size > 1:
        _, tlo, thi = mean_ci(s / n, level)
        lo, hi = min(lo, tlo), max(hi, thi)
    return p, lo, hi


def resolution(ci_low: float, ci_high: float, predicted, tol: float, comparison: str) -> float:
    """Smallest ``|delta|`` such that the prediction shifted by ``delta`` is refuted by ``[ci_low, ci_high]``.

    ``within``: the band ``[p_lo + delta - tol, p_hi + delta + tol]`` must clear the interval on one side,
    so ``min(ci_high - p_lo + tol, p_hi + tol - ci_low)`` (a negative value is clipped to 0: the
    unshifted prediction is refuted already).  ``below`` (an upper bound) is refuted only by lowering it:
    ``p_hi + tol - ci_low``; ``above`` only by raising it: ``ci_high - p_lo + tol``.
    """
    lo, hi = as_interval(predicted)
    up = ci_high - lo + tol
    down = hi + tol - ci_low
    if comparison == "within":
        r = min(up, down)
    elif comparison == "below":
        r = down
    elif comparison == "above":
        r = up
    else:
        raise ValueError(f"comparison must be one of {COMPARISONS}, got {comparison!r}")
    return max(0.0, float(r))


def control_distance(predicted, tol: float, control, comparison: str, unit: float | None = None) -> float:
    """Distance of a control prediction from the edge of the claim's band, in units of ``unit``.

    The distance is the gap between the control's predicted value (or interval) and the nearest finite
    edge of the claim's band ``band(predicted, tol, comparison)``; 0 when the control lies inside the band.
    ``unit`` defaults to ``tol`` (tolerance units); pass another scale (the resolution, the half-width of a
    predicted interval) when ``tol`` is 0.
    """
    b_lo, b_hi = band(predicted, tol, comparison)
    c_lo, c_hi = as_interval(control)
    if c_lo > b_hi:
        gap = c_lo - b_hi
    elif c_hi < b_lo:
        gap = b_lo - c_hi
    else:
        gap = 0.0
    unit = tol if unit is None else unit
    if not unit or not math.isfinite(unit) or unit <= 0:
        return math.inf if gap > 0 else 0.0
    return float(gap / unit)
