"""The tensor-power claims can fail, and fail near: near-miss controls, the asymptotic exponent as a limit of
the derived finite-A slope, and the regime conditions the verdicts need."""
import numpy as np
import pytest

from claims.lemma import BOUNDS, FOLLOWER, RATIO, SCALING
from derivations import tensor_power as tp
from simulations import tensor_power as sim
from theorycheck.fit import loglog_slope
from theorycheck.regime import RegimeError
from theorycheck.runner import DEFAULT_ROOT, verify_claim

CLAIMS = (BOUNDS, SCALING, FOLLOWER, RATIO)
NEAR = 10.0   # a near-miss control sits at most this many resolutions from the band (not 20-500)


def _row(claim, tier):
    return verify_claim(claim, claim.regime.resolve(tier), int(claim.seeds[tier]), DEFAULT_ROOT,
                        progress=False, tier=tier)


def _assert_near_miss(row):
    assert row["verdict"] == "verified", row
    control = row["negative_control"]
    assert control["verdict"] == "refuted"
    assert 0 < control["resolutions"] <= NEAR, control
    if "alternative" in row:
        assert row["alternative"]["verdict"] == "refuted"


@pytest.mark.parametrize("claim", CLAIMS, ids=[c.id for c in CLAIMS])
def test_negative_control_is_a_near_miss(claim):
    _assert_near_miss(_row(claim, "quick"))


@pytest.mark.full
@pytest.mark.parametrize("claim", CLAIMS, ids=[c.id for c in CLAIMS])
def test_negative_control_is_a_near_miss_full_tier(claim):
    _assert_near_miss(_row(claim, "full"))


# ----------------------------------------------------------------------------- the exponent
def test_continuous_slope_is_the_regression_of_t_A():
    xs = np.geomspace(0.01, 0.3, 7)
    tA = tp.continuous_hitting_time(xs, 0.01, 5.0, 4, 1.0)
    slope = np.polyfit(np.log(xs), np.log(tA), 1)[0]
    assert tp.continuous_loglog_slope(xs, 0.01, 5.0, 4, 1.0) == pytest.approx(slope, rel=1e-12)
    # a narrow grid gives the local slope -(q-2) / (1 - (x0/A)^(q-2)); eta C does not enter
    for q, x0 in ((3, 0.2), (4, 0.1), (6, 0.5)):
        narrow = x0 * np.array([1 - 1e-5, 1 + 1e-5])
        local = -(q - 2) / (1 - x0 ** (q - 2))
        assert tp.continuous_loglog_slope(narrow, 0.003, 2.0, q, 1.0) == pytest.approx(local, rel=1e-6)
        assert tp.continuous_loglog_slope(narrow, 0.3, 7.0, q, 1.0) == pytest.approx(local, rel=1e-6)


@pytest.mark.parametrize("q", (3, 4, 5))
def test_derived_slope_tends_to_the_asymptotic_exponent(q):
    """The spec's -(q-2) is the limit of the derived finite-A slope as the grid moves far below A: the
    distance shrinks decade by decade (the finite-A term as (x0/A)^(q-2), the lag as ln(A/x0) / t_A)."""
    eta, C, A = 1e-3, 5.0, 1.0
    gaps = []
    for top in (0.3, 0.03, 0.003):
        grid = np.geomspace(top / 10, top, 8)
        lo, hi = tp.loglog_slope_bounds(grid, eta, C, q, A)
        gaps.append(max(abs(lo + (q - 2)), abs(hi + (q - 2))))
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 0.02 * gaps[0] and gaps[2] < 2e-3
    assert tp.asymptotic_exponent(q) == -(q - 2)


def test_finite_a_slope_is_what_the_recursion_does():
    """The recursion's slope near A sits in the derived bounds and far from the asymptotic exponent; the
    continuous-time slope (lag dropped) lies outside the bounds."""
    xs = np.geomspace(0.02, 0.2, 10)
    eta, C, q, A = 0.01, 5.0, 3, 1.0
    T = sim.hitting_times(xs, eta * C, q, A)
    slope = loglog_slope(xs, T).slope
    lo, hi = tp.loglog_slope_bounds(xs, eta, C, q, A)
    assert lo <= slope <= hi
    assert slope < -1.05
    assert tp.continuous_loglog_slope(xs, eta, C, q, A) < lo


# ----------------------------------------------------------------------------- what the verdicts need
def test_scaling_regime_bounds_the_jitter_by_the_rounding():
    params = SCALING.regime.resolve("quick")
    assert SCALING.regime.satisfies(params)
    with pytest.raises(RegimeError, match="jitter within the rounding"):
        SCALING.regime.resolve("quick", texts={"jitter": "0.2"})


def test_scaling_claim_catches_a_dropped_lag(monkeypatch):
    """A derivation without the discrete lag (slope bounds = the continuous-time slope, one rounding step
    wide) is refuted by the claim at the quick tier."""
    import claims.lemma as lemma_claims

    def without_lag(grid, eta, C, q, A):
        c = tp.continuous_loglog_slope(grid, eta, C, q, A)
        return c - 5e-4, c + 5e-4

    monkeypatch.setattr(lemma_claims.tp, "loglog_slope_bounds", without_lag)
    row = _row(SCALING, "quick")
    assert row["verdict"] == "refuted"
