"""vit: the derivations behind the positive controls and regimes, the shared-run cache, the search strategies."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from scipy.integrate import quad

from claims import vit as V
from derivations import vit as D
from theorycheck import registry
from theorycheck.runner import replicate_rngs


def _corrected_phase1_slope_ratio(a0, a_end, c=0.5, dt=1e-3):
    """Integrate dA/dt = -c A^3 (1 - A) from a0 until A = a_end; slope of the straight-line fit of A^-2
    against t, divided by the law's slope 2c."""
    ts, inv = [], []
    a, t = a0, 0.0
    while a > a_end:
        ts.append(t)
        inv.append(a ** -2)
        k1 = -c * a ** 3 * (1 - a)
        mid = a + 0.5 * dt * k1
        a += dt * (-c * mid ** 3 * (1 - mid))
        t += dt
    return np.polyfit(ts, inv, 1)[0] / (2 * c)


@pytest.mark.parametrize("P, C1, C", [(36, 18, 3), (64, 32, 4), (36, 30, 2)])
def test_phase1_softmax_factor_brackets_the_corrected_law(P, C1, C):
    lo, hi = (float(x.subs({D.P: P, D.C1: C1, D.C: C, D.gamma: 0.5})) for x in D.phase1_softmax_factor())
    a0 = 0.5 * C1 / P
    a_end = math.sqrt(0.5 * (C - 1) / P)
    ratio = _corrected_phase1_slope_ratio(a0, a_end)
    assert lo == pytest.approx(1 - a0) and hi == pytest.approx(1 - a_end)
    assert lo < ratio < hi
    # without the factor the same fit returns the law's slope: the bracket is what the factor adds
    assert lo < 1 - 0.5 * (a0 + a_end) + 0.1


def test_attention_growth_integral_and_mean_field_tstar():
    f = lambda a: 1 / (a * a * (1 - a) ** 3)
    for a0, a1 in ((0.03, 0.5), (0.2, 0.9), (0.05, 0.95)):
        assert D.attention_growth_integral(a0, a1) == pytest.approx(quad(f, a0, a1)[0], rel=1e-9)
    P, C1, C, g, K, eta, eps = 36, 18, 3, 0.5, 2, 1.0, 0.1
    local = D.tstar_mean_field(P, C1, C, g, K, eta, eps, "local")
    glob = D.tstar_mean_field(P, C1, C, g, K, eta, eps, "global")
    t1 = D.evaluate(D.phase1_duration(), P=P, C1=C1, C=C, gamma=g, z=1, K=K, eta=eta)
    expected = t1 + K / (eta * g) * quad(f, g * (C - 1) / P, 1 - eps)[0]
    assert local == pytest.approx(expected, rel=1e-9)
    assert glob == pytest.approx(K / (eta * g) * quad(f, g * (C1 - 1) / P, 1 - eps)[0], rel=1e-9)
    assert D.tstar_mean_field(P, C1, C, g, K, 2 * eta, eps) == pytest.approx(local / 2)


def _rates_monte_carlo(P, C1, C, gamma, own_count, n=400_000, seed=0):
    """First-step target and global rates of a masked local query at Q = 0 (K = 1, z = 1) by sampling the
    visible counts n_b directly (spec 3.2 with A_b = n_b / P)."""
    rng = np.random.default_rng(seed)
    r = 1 - gamma
    n_loc = (P - C1) // C
    na = rng.binomial(own_count, r, n)
    n1 = rng.binomial(C1, r, n)
    others = rng.binomial(C, r, (n, n_loc - 1))
    sq = (na ** 2 + n1 ** 2 + (others ** 2).sum(axis=1)) / P ** 2
    target = gamma * np.mean(na / P * (1 - 2 * na / P + sq))
    glob = -gamma * np.mean(n1 / P * ((n1 + na) / P - sq))
    return target, glob


@pytest.mark.parametrize("own_counted_visible", [False, True])
def test_initial_rates_and_their_near_miss_match_monte_carlo(own_counted_visible):
    P, C1, C, gamma = 36, 18, 3, 0.5
    rates = D.initial_rates("local", own_counted_visible)
    vals = dict(P=P, C1=C1, C=C, gamma=gamma, z=1, K=1)
    target, glob = _rates_monte_carlo(P, C1, C, gamma, C if own_counted_visible else C - 1)
    assert D.evaluate(rates["target"], **vals) == pytest.approx(target, rel=0.01)
    assert D.evaluate(rates["global"], **vals) == pytest.approx(glob, rel=0.01)


def test_near_miss_rate_is_outside_the_monte_carlo_band():
    vals = dict(P=36, C1=18, C=3, gamma=0.5, z=1, K=2)
    exact = D.evaluate(D.initial_rates("local")["global"], **vals)
    wrong = D.evaluate(D.initial_rates("local", True)["global"], **vals)
    assert 0.04 < wrong / exact - 1 < 0.08


def test_shared_run_is_the_same_whichever_claim_asks_first():
    p = {"P": 16, "x": [1, 2]}
    draw = lambda r: r.random(3)
    a = replicate_rngs("vit.some.claim", 7, 2)
    b = replicate_rngs("vit.other.claim", 7, 2)
    V._SHARED.clear()
    first = V._shared_run("kind", p, a[1], draw)
    V._SHARED.clear()
    second = V._shared_run("kind", p, b[1], draw)
    np.testing.assert_array_equal(first, second)
    assert V._shared_run("kind", p, b[1], draw) is second                       # reused, not recomputed
    assert not np.array_equal(V._shared_run("kind", p, b[0], draw), second)     # another replicate
    cal = replicate_rngs("vit.some.claim", 7, 2, stream="calibration")
    assert not np.array_equal(V._shared_run("kind", p, cal[1], draw), second)   # calibration stream apart
    calls = []
    V._shared_run("kind", dict(p, P=25), b[1], lambda r: calls.append(1))    # other parameters: a run of its own
    V._shared_run("other kind", p, b[1], lambda r: calls.append(1))
    assert len(calls) == 2


def test_first_passage_is_interpolated_between_steps():
    s = np.array([0.0, 0.5, 1.0, 1.0])
    assert V._first_passage(s, 0.75) == pytest.approx(1.5)
    assert V._first_passage(s, 0.0) == 0.0
    assert V._first_passage(s, 1.5) is None


@pytest.mark.parametrize("claim_id", ["vit.mae.own_area_attention", "vit.mae.learning_order",
                                      "vit.mae.tstar_order", "vit.mae.eta_invariance", "vit.mae.upsilon_bounded",
                                      "vit.cl.global_collapse", "vit.mae.phase_switch"])
def test_search_strategies_draw_runnable_in_regime_settings(claim_id):
    regime = registry.get(claim_id).regime

    @settings(max_examples=25)
    @given(regime.strategy("quick"))
    def check(p):
        assert regime.satisfies(p)
        assert p["P"] <= 49 and p.get("masks", 256) <= 2048
        if "C_local" in p and "C_global" in p:
            assert (p["P"] - p["C_global"]) % p["C_local"] == 0 and p["C_local"] >= 2
    check()


def test_budget_constraint_rejects_a_budget_short_of_the_derived_tstar():
    own = registry.get("vit.mae.own_area_attention")
    p = own.regime.resolve("quick")
    assert p["steps"] >= V.BUDGET_FACTOR * V._tstar_mf(p)
    assert not own.regime.satisfies(dict(p, steps=int(V._tstar_mf(p))))


def test_tail_diluted_order_ratio_runs_from_one_to_the_heuristic():
    f = lambda a: 1 / (a * a * (1 - a) ** 3)
    P, C1, C, g, eps = 36, 18, 3, 0.5, 0.1
    head, tail = quad(f, g * (C1 - 1) / P, 0.5)[0], quad(f, 0.5, 1 - eps)[0]
    assert D.order_ratio_diluted(P, C1, C, g, eps) == pytest.approx((C1 / C * head + tail) / (head + tail), rel=1e-9)
    assert D.order_ratio_diluted(P, C1, C, g, 0.5) == pytest.approx(C1 / C)          # no tail: the heuristic
    assert D.order_ratio_diluted(P, C1, C, g, 1e-4) < 1.001                          # the tail dominates
    assert 1 < D.order_ratio_diluted(P, C1, C, g, 0.05) < D.order_ratio_diluted(P, C1, C, g, 0.15) < C1 / C


def test_cost_growth_times_the_limit_ladder_and_fits_its_exponents():
    """``theorycheck bench vit``'s cost growth: one row per rung of the quick T* ladder (C_global = P/2), each
    replicate the limit claim's own measurement, and exponents fitted to those times (no timing asserted)."""
    from theorycheck import loglog_slope

    rows = V._cost_growth(quick=True)
    rungs, growth = rows[:-1], rows[-1]
    assert [r["case"] for r in rungs] == [f"mae ladder P={P}" for P in V.TSTAR_LIMIT_PS["quick"]]
    p = dict(V.TSTAR_LIMIT_REGIME.resolve("quick"), P=V.TSTAR_LIMIT_PS["quick"][0])
    assert rungs[0]["t_star"] == V._local_slope_measure(p, np.random.default_rng(2))["t_star"]
    assert growth["sizes_P"] == list(V.TSTAR_LIMIT_PS["quick"])
    assert growth["replicate_seconds_by_P"] == [r["replicate_seconds"] for r in rungs]
    fit = loglog_slope(growth["sizes_P"], growth["replicate_seconds_by_P"])
    assert growth["replicate_exponent"] == pytest.approx(fit.slope)
    assert growth["step_exponent_ci_low"] <= growth["step_exponent"] <= growth["step_exponent_ci_high"]
