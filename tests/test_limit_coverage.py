"""The limit interval covers what it says: Monte Carlo coverage of :func:`theorycheck.limit.bootstrap`.

Ladders are drawn with a planted limit (or exponent) and seed noise, at the seed counts the registered ladders
use (5-16), and the share of 95 % intervals that contain the planted value is counted.  The plain percentile
interval of the bootstrap refits covers about 90 % at 8 seeds; the Student-t interval with the bootstrap's
standard error (:func:`theorycheck.verdict.bootstrap_half_width`) covers 95 %.
"""
import numpy as np
import pytest
from scipy import stats

from theorycheck import limit
from theorycheck.verdict import bootstrap_half_width, mean_ci

SCALES = np.array([14.0, 20.0, 28.0, 40.0])
LADDERS = 2000          # coverage estimates with standard error 0.005 at 95 %


def _ladder(rng, model: str, n_seeds: int) -> tuple[np.ndarray, float]:
    """Values (sizes, seeds) with a planted log-log slope -0.3 (log-normal seed noise) or a planted limit
    0.9 approached as 0.5/s (normal seed noise), and the planted value."""
    noise = rng.standard_normal((SCALES.size, n_seeds))
    if model == "loglog_slope":
        return np.exp(-0.3 * np.log(SCALES)[:, None] + 0.3 * noise), -0.3
    return 0.9 + 0.5 / SCALES[:, None] + 0.02 * noise, 0.9


def _coverage(model: str, n_seeds: int, interval) -> float:
    rng = np.random.default_rng(20261203 + n_seeds)
    alpha = None if model == "loglog_slope" else 1.0
    hits = 0
    for _ in range(LADDERS):
        values, planted = _ladder(rng, model, n_seeds)
        lo, hi = interval(values, alpha, rng)
        hits += lo <= planted <= hi
    return hits / LADDERS


def _claim_interval(model):
    def interval(values, alpha, rng):
        est = limit.bootstrap(SCALES, values, model, alpha, n_boot=1000, rng=rng)
        return est["ci_low"], est["ci_high"]
    return interval


def _percentile_interval(model):
    def interval(values, alpha, rng):
        idx = rng.integers(0, values.shape[1], size=(1000, values.shape[1]))
        draws = limit.fit(SCALES, values[:, idx].mean(axis=2).T, model, alpha)["limit"]
        return tuple(np.quantile(draws, [0.025, 0.975]))
    return interval


@pytest.mark.parametrize("model, n_seeds", [("loglog_slope", 5), ("loglog_slope", 8), ("power", 8),
                                            ("power", 16)])
def test_the_limit_interval_covers_the_planted_value_at_its_level(model, n_seeds):
    coverage = _coverage(model, n_seeds, _claim_interval(model))
    assert 0.93 <= coverage <= 0.975, f"{model}, {n_seeds} seeds: coverage {coverage:.3f}, not 0.95"


def test_the_percentile_interval_alone_undercovers_at_eight_seeds():
    """What the interval corrects, and proof that the coverage check can tell a 90 % interval from 95 %."""
    coverage = _coverage("loglog_slope", 8, _percentile_interval("loglog_slope"))
    assert coverage < 0.925, f"percentile coverage {coverage:.3f}"


@pytest.mark.parametrize("n_seeds", [5, 8, 16])
def test_for_one_mean_the_half_width_is_the_student_t_half_width(n_seeds):
    """Resampling the mean of S values: t_{S-1} sqrt(S/(S-1)) times the refits' spread is the Student-t
    half-width of :func:`mean_ci` (the bootstrap's spread of a mean is sqrt((S-1)/S) s/sqrt(S))."""
    rng = np.random.default_rng(n_seeds)
    x = rng.standard_normal(n_seeds)
    draws = x[rng.integers(0, n_seeds, size=(40_000, n_seeds))].mean(axis=1)
    m, lo, hi = mean_ci(x)
    assert bootstrap_half_width(draws, n_seeds) == pytest.approx((hi - lo) / 2, rel=0.05)
    # and not the plug-in or normal-quantile width it replaces
    plug_in = stats.norm.ppf(0.975) * draws.std()
    assert plug_in < 0.9 * (hi - lo) / 2


def test_the_half_width_refuses_fewer_than_two_seeds():
    with pytest.raises(ValueError, match="two or more seeds"):
        bootstrap_half_width(np.zeros(10), 1)
