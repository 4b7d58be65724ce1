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


# ------------------------------------------------------------------ intervals, resolution, control distance
from theorycheck.verdict import control_distance, proportion_ci, resolution, wilson_interval  # noqa: E402


def test_wilson_interval_matches_the_closed_form_and_is_never_degenerate():
    lo, hi = wilson_interval(0, 100)
    assert lo == pytest.approx(0.0, abs=1e-12) and 0.03 < hi < 0.04          # 1.96^2 / (100 + 1.96^2) = 0.0370
    assert hi == pytest.approx(1.959963984540054 ** 2 / (100 + 1.959963984540054 ** 2))
    lo, hi = wilson_interval(100, 100)
    assert hi == 1.0 and lo == pytest.approx(1 - 0.0370, abs=1e-4)
    lo, hi = wilson_interval(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-4) and hi == pytest.approx(0.5962, abs=1e-4)


def test_wilson_interval_covers_at_its_level():
    """Monte Carlo: the 95 % Wilson interval covers p in about 95 % of binomial draws."""
    rng = np.random.default_rng(3)
    for p, n in ((0.5, 40), (0.9, 200), (0.02, 500)):
        draws = rng.binomial(n, p, size=4000)
        cover = np.mean([lo <= p <= hi for lo, hi in (wilson_interval(k, n) for k in draws)])
        assert 0.92 < cover < 0.98, (p, n, cover)


def test_proportion_ci_pools_counts_and_widens_to_the_seed_spread():
    p, lo, hi = proportion_ci([600, 600, 600], [600, 600, 600])
    assert p == 1.0 and hi == 1.0 and lo < 1.0           # unanimous seeds still give a finite width
    assert (lo, hi) == pytest.approx(wilson_interval(1800, 1800))
    p, lo, hi = proportion_ci([300, 500, 100], [600, 600, 600])   # seeds far apart: the t interval wins
    _, tlo, thi = mean_ci([0.5, 500 / 600, 100 / 600])
    assert p == pytest.approx(0.5) and (lo, hi) == pytest.approx((tlo, thi))
    with pytest.raises(ValueError):
        proportion_ci([1, 2], [0, 3])


@given(st.floats(-5, 5), st.floats(0.01, 1), st.floats(0, 1), st.floats(-1, 1),
       st.sampled_from(["within", "below", "above"]))
def test_resolution_is_the_smallest_refuting_shift(centre, half, tol, pred, comparison):
    """Shifting the prediction by just over the resolution refutes it; by just under, does not."""
    lo, hi = centre - half, centre + half
    r = resolution(lo, hi, pred, tol, comparison)
    if decide(lo, hi, pred, tol, comparison) == "refuted":
        assert r == 0.0
        return
    eps = 1e-6
    shifts = {"within": (r, -r), "below": (-r,), "above": (r,)}[comparison]
    assert any(decide(lo, hi, pred + s * (1 + eps) + math.copysign(eps, s), tol, comparison) == "refuted"
               for s in shifts)
    for s in (r * (1 - 1e-3), -r * (1 - 1e-3)):
        assert decide(lo, hi, pred + s, tol, comparison) != "refuted"


def test_control_distance_in_tolerance_units():
    # band [0.35, 0.65]; a control at 0.75 sits 0.1 past the edge, 2/3 of a tolerance
    assert control_distance(0.5, 0.15, 0.75, "within") == pytest.approx(2 / 3)
    assert control_distance(0.5, 0.15, (0.2, 0.3), "within") == pytest.approx(1 / 3)
    assert control_distance(0.5, 0.15, 0.6, "within") == 0.0
    assert control_distance(1.0, 0.0, 0.0, "below", unit=0.5) == 0.0          # below the upper bound
    assert control_distance(1.0, 0.0, 2.0, "below", unit=0.5) == pytest.approx(2.0)
