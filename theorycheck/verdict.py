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
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats

VERDICTS = ("verified", "refuted", "inconclusive", "error")
COMPARISONS = ("within", "below", "above")


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
