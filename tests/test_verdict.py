"""Verdict statistics and slope fitting (framework only)."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theorycheck.fit import bootstrap_slope, loglog_slope
from theorycheck.verdict import Tolerance, band, decide, mean_ci


def test_mean_ci_matches_t_interval():
    x = [1.0, 2.0, 3.0, 4.0]
    m, lo, hi = mean_ci(x)
    half = 3.182446305284263 * np.std(x, ddof=1) / 2  # t_{0.975, 3}
    assert m == 2.5 and lo == pytest.approx(2.5 - half) and hi == pytest.approx(2.5 + half)


def test_mean_ci_single_and_nan():
    assert mean_ci([3.0]) == (3.0, 3.0, 3.0)
    with pytest.raises(FloatingPointError):
        mean_ci([1.0, float("nan")])


@pytest.mark.parametrize("ci,pred,tol,cmp,verdict", [
    ((0.95, 1.05), 1.0, 0.1, "within", "verified"),
    ((0.85, 1.05), 1.0, 0.1, "within", "inconclusive"),
    ((1.2, 1.3), 1.0, 0.1, "within", "refuted"),
    ((0.0, 0.3), 0.5, 0.0, "below", "verified"),
    ((0.4, 0.6), 0.5, 0.0, "below", "inconclusive"),
    ((0.6, 0.7), 0.5, 0.0, "below", "refuted"),
    ((0.6, 0.7), 0.5, 0.0, "above", "verified"),
    ((0.1, 0.2), 0.5, 0.0, "above", "refuted"),
    ((0.2, 0.8), (0.0, 1.0), 0.0, "within", "verified"),
    ((0.9, 1.2), (0.0, 1.0), 0.0, "within", "inconclusive"),
])
def test_decide(ci, pred, tol, cmp, verdict):
    assert decide(ci[0], ci[1], pred, tol, cmp) == verdict


def test_relative_tolerance():
    assert Tolerance(0.05, relative=True).width(-20.0) == pytest.approx(1.0)
    assert Tolerance(0.05, relative=True).width((2.0, 4.0)) == pytest.approx(0.2)


def test_band_unknown_comparison():
    with pytest.raises(ValueError):
        band(1.0, 0.1, "sideways")


@given(st.floats(-5, 5), st.floats(0.01, 3), st.floats(0, 1))
def test_verdicts_partition(centre, half, tol):
    """Exactly one verdict, and verified and refuted exclude each other by geometry."""
    lo, hi = centre - half, centre + half
    v = decide(lo, hi, 0.0, tol, "within")
    inside = -tol <= lo and hi <= tol
    outside = hi < -tol or lo > tol
    assert v == ("verified" if inside else "refuted" if outside else "inconclusive")


def test_loglog_slope_recovers_exponent():
    rng = np.random.default_rng(1)
    x = np.geomspace(10, 1e4, 8)
    y = 3 * x ** -1.0 * np.exp(rng.normal(0, 0.02, x.size))
    f = loglog_slope(x, y)
    assert f.low < -1.0 < f.high and f.high - f.low < 0.1
    assert not (f.low < -0.5 < f.high)


def test_bootstrap_slope_interval_covers_truth():
    rng = np.random.default_rng(2)
    x = np.geomspace(100, 3200, 6)
    y = (2 / x)[:, None] * rng.gamma(5, 0.2, size=(6, 40))
    f = bootstrap_slope(x, y, rng=np.random.default_rng(0))
    assert f.low < -1 < f.high and f.high - f.low < 0.2


def test_loglog_rejects_nonpositive():
    with pytest.raises(ValueError):
        loglog_slope([1, 2, 3], [1, 0, 2])
    assert math.isfinite(loglog_slope([1, 2], [1, 2]).slope)


def test_loglog_slope_of_exact_power_law_has_zero_width():
    f = loglog_slope([1, 2, 4], [1, 1, 1])
    assert (f.slope, f.low, f.high) == (0.0, 0.0, 0.0)
