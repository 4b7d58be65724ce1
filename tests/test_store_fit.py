"""Rate fitting (theorycheck.fit): exact on power laws, intervals that cover at their level, and a
sweep's fitted exponent that tells a right rate from a wrong one."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theorycheck.fit import bootstrap_slope, loglog_slope


@given(st.floats(0.01, 3), st.sampled_from([-1, 1]), st.floats(0.1, 10), st.integers(3, 12))
def test_loglog_slope_is_exact_on_a_power_law(size, sign, c, g):
    # A flat exact curve (slope 0) is left out: scipy's linregress gives its interval as NaN.
    b = sign * size
    x = np.geomspace(2, 2000, g)
    fit = loglog_slope(x, c * x ** b)
    assert fit.slope == pytest.approx(b, abs=1e-9)
    assert fit.low == pytest.approx(b, abs=1e-6) and fit.high == pytest.approx(b, abs=1e-6)
    assert np.allclose(fit.predict(x), c * x ** b, rtol=1e-8)


def test_regression_interval_covers_at_about_its_level():
    rng = np.random.default_rng(1)
    x = np.geomspace(10, 1e4, 8)
    covered = 0
    trials = 400
    for _ in range(trials):
        y = 3 * x ** -0.5 * np.exp(0.1 * rng.standard_normal(x.size))
        fit = loglog_slope(x, y)
        covered += fit.low <= -0.5 <= fit.high
    # 95 % nominal: a binomial(400, .95) count lies in [366, 394] with probability > 0.999
    assert 366 <= covered <= 394


def test_bootstrap_interval_covers_and_excludes_an_exponent_off_by_one():
    rng = np.random.default_rng(2)
    x = np.geomspace(10, 1e4, 6)
    y = x[:, None] ** -1.0 * np.exp(0.2 * rng.standard_normal((x.size, 20)))
    fit = bootstrap_slope(x, y, rng=np.random.default_rng(3))
    assert fit.low <= -1.0 <= fit.high
    assert fit.high < 0.0 and fit.low > -2.0
    assert fit.low < fit.slope < fit.high


def test_bootstrap_is_reproducible_with_its_rng():
    x = np.geomspace(1, 100, 5)
    y = np.outer(x ** -1.0, np.linspace(0.9, 1.1, 7))
    a = bootstrap_slope(x, y, rng=np.random.default_rng(4))
    b = bootstrap_slope(x, y, rng=np.random.default_rng(4))
    assert (a.low, a.high) == (b.low, b.high)


@pytest.mark.parametrize("x,y,match", [
    ([1, 2], [1, -1], "positive"),
    ([0, 2], [1, 1], "positive"),
    ([1], [1], "two grid points"),
])
def test_bad_input_is_refused(x, y, match):
    with pytest.raises(ValueError, match=match):
        loglog_slope(x, y)


def test_bootstrap_needs_a_seed_axis():
    with pytest.raises(ValueError, match="shape"):
        bootstrap_slope([1, 2, 3], [1, 2, 3])
