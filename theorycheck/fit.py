"""Rate fitting: log-log slopes with confidence intervals.

For a sweep ``x_1 < ... < x_G`` with measurements ``y_{g,s}`` (grid point g, seed s) the rate exponent is
the least-squares slope ``b`` of ``log y = a + b log x``.  Two intervals are offered:

* :func:`loglog_slope` — the classical regression interval ``b ± t_{G-2} · se(b)`` on one curve;
* :func:`bootstrap_slope` — resample seeds with replacement, refit the slope of the seed-mean curve,
  and take the Student-t interval with the refits' standard error
  (:func:`theorycheck.verdict.bootstrap_interval`); this respects the dependence of the grid points
  within a seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .verdict import bootstrap_interval


@dataclass(frozen=True)
class SlopeFit:
    """Fitted log-log slope ``slope`` with intercept and confidence interval ``[low, high]``."""

    slope: float
    intercept: float
    low: float
    high: float

    def predict(self, x):
        return np.exp(self.intercept) * np.asarray(x, float) ** self.slope


def _check_positive(x, y):
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if x.shape[0] != y.shape[0] or x.shape[0] < 2:
        raise ValueError("need at least two grid points with one value each")
    if np.any(x <= 0) or np.any(y <= 0) or not np.all(np.isfinite(y)):
        raise ValueError("log-log fit needs positive finite x and y")
    return np.log(x), np.log(y)


def loglog_slope(x, y, level: float = 0.95) -> SlopeFit:
    """Least-squares slope of ``log y`` on ``log x`` with its regression interval.

    Parameters
    ----------
    x, y : array_like, shape (G,)
    level : float
        Confidence level of the interval.
    """
    from scipy import stats

    lx, ly = _check_positive(x, y)
    res = stats.linregress(lx, ly)
    g = lx.size
    stderr = float(res.stderr)
    if not np.isfinite(stderr):  # a curve that is exactly a power law (e.g. flat) has zero residuals
        stderr = 0.0 if np.allclose(ly, res.intercept + res.slope * lx) else stderr
    if g > 2:
        half = float(stats.t.ppf(0.5 + level / 2, g - 2)) * stderr
    else:
        half = 0.0
    return SlopeFit(float(res.slope), float(res.intercept), float(res.slope) - half, float(res.slope) + half)


def bootstrap_slope(x, y, level: float = 0.95, n_boot: int = 2000, rng=None) -> SlopeFit:
    """Slope of the seed-mean curve with a Student-t interval from a bootstrap over seeds.

    Parameters
    ----------
    x : array_like, shape (G,)
    y : array_like, shape (G, S)
        One column per seed.
    """
    y = np.asarray(y, float)
    if y.ndim != 2:
        raise ValueError("y must have shape (grid points, seeds)")
    point = loglog_slope(x, y.mean(axis=1))
    rng = np.random.default_rng(0) if rng is None else rng
    s = y.shape[1]
    lx = np.log(np.asarray(x, float))
    lxc = lx - lx.mean()
    idx = rng.integers(0, s, size=(n_boot, s))
    means = y[:, idx].mean(axis=2)  # (G, n_boot)
    ly = np.log(means)
    slopes = (lxc @ (ly - ly.mean(axis=0))) / (lxc @ lxc)
    return SlopeFit(point.slope, point.intercept, *bootstrap_interval(point.slope, slopes, s, level))
