"""Unit tests of the tensor-power lemma: SymPy self-checks, the numeric API, the kernels and the regimes."""
import math

import numpy as np
import pytest
import mpmath

from derivations import tensor_power as tp
from simulations import tensor_power as sim
from theorycheck.regime import RegimeError


def python_hitting_time(x0, k, q, A):
    """Independent plain-Python iteration of x <- x + k x^(q-1)."""
    x, steps = float(x0), 0
    while x < A:
        x = x + k * x ** (q - 1)
        steps += 1
    return steps


# ----------------------------------------------------------------------------- SymPy self-checks
def test_closed_form_solves_the_ode():
    residuals = tp.check_ode_solution()
    assert len(residuals) == 1 + 2 * 6
    assert all(r == 0 for r in residuals), residuals


def test_closed_form_hits_the_level_at_t_A():
    assert all(r == 0 for r in tp.check_hitting_time())


def test_one_step_covers_ode_time_g():
    assert all(r == 0 for r in tp.check_step_ode_time(qs=(3, 4, 5)))


def test_follower_formula_is_the_solution_at_the_leaders_hit():
    assert all(r == 0 for r in tp.check_follower_formula())


def test_wrong_closed_form_is_caught():
    """The self-check can fail: a solution with the wrong exponent leaves a non-zero residual."""
    wrong = (tp.x0 ** -1 - 2 * tp.eta * tp.C * tp.t) ** -1  # q = 3 with a factor 2 too many
    resid = tp.sp.simplify(tp.sp.diff(wrong, tp.t) - tp.eta * tp.C * wrong ** 2)
    assert resid != 0


# ----------------------------------------------------------------------------- continuous time
def test_continuous_solution_and_hitting_time():
    x0, eta, C, q, A = 0.02, 0.01, 3.0, 4, 0.7
    tA = tp.continuous_hitting_time(x0, eta, C, q, A)
    assert tA == pytest.approx((x0 ** -2 - A ** -2) / (2 * eta * C), rel=1e-14)
    assert tp.continuous_solution(x0, eta, C, q, 0.0) == pytest.approx(x0, rel=1e-14)
    assert tp.continuous_solution(x0, eta, C, q, tA) == pytest.approx(A, rel=1e-12)
    blowup = 1 / (2 * eta * C * x0 ** 2)
    assert math.isnan(tp.continuous_solution(x0, eta, C, q, blowup * 1.01))
    # q = 3 closed form of the spec
    assert tp.continuous_hitting_time(0.1, 0.5, 2.0, 3, 1.0) == pytest.approx((1 / 0.1 - 1) / 1.0)


def test_step_ode_time_matches_quadrature():
    """g(s) = (1 - (1+s)^-(q-2)) / ((q-2) s) against 40-digit quadrature of dx / (k x^(q-1))."""
    for q in (3, 4, 7):
        for x, k in ((0.3, 0.2), (0.01, 0.05), (0.9, 1.5)):
            with mpmath.workdps(40):
                xm, km = mpmath.mpf(x), mpmath.mpf(k)
                quad = float(mpmath.quad(lambda u: 1 / (km * u ** (q - 1)), [xm, xm + km * xm ** (q - 1)]))
            S = k * x ** (q - 2)
            g = float(tp._f_g(S, q))
            assert g == pytest.approx(quad, rel=1e-10)
            assert (1 + S) ** -(q - 1) <= g <= 1


def test_loss_coefficients():
    for q in (3, 4, 6):
        half = (q - 1) / 2
        for S in (1e-7, 5e-5, 1e-4, 2e-4, 1e-2, 0.3):
            a, b = tp.loss_coefficients(S, q)
            assert 0 < a <= half <= b
            assert a == pytest.approx(half, abs=2 * q * q * S)
            assert b == pytest.approx(half, abs=q * S)
        # the rigorous series branch used below S = 1e-4 never exceeds the exact coefficient
        a_series, _ = tp.loss_coefficients(0.999e-4, q)
        S = 1.001e-4
        assert a_series >= tp.loss_coefficients(S, q)[0] - 1e-8
        assert a_series <= (1 - float(tp._f_g(0.999e-4, q))) / 0.999e-4 + 1e-9


def test_loss_constants_are_order_S():
    for q in (3, 5):
        for S in (1e-6, 1e-3, 0.1, 0.5):
            c_lo, c_hi = tp.loss_constants(S, q)
            p = q - 2
            assert 0 < c_hi <= c_lo
            assert c_lo == pytest.approx((q - 1) * q * S / (6 * p), rel=3 * q * S + 1e-9)
            assert c_hi == pytest.approx((q - 1) * S / (4 * p), rel=S + 1e-9)


# ----------------------------------------------------------------------------- discrete bounds
def test_bounds_hand_example():
    # x = 0.5, 0.625, 0.8203125, 1.1567..., so T = 3
    assert python_hitting_time(0.5, 0.5, 3, 1.0) == 3
    lo, hi = tp.discrete_hitting_time_bounds(0.5, 1.0, 0.5, 3, 1.0)
    assert lo <= 3 < hi
    assert sim.hitting_times([0.5], 0.5, 3, 1.0)[0] == 3


def test_bounds_contain_kernel_hitting_times_and_are_nearly_attained():
    """Over a dense grid of starts the positions of T in [lo, hi) fill (0, 1): the bounds hold and
    neither can be tightened by a tenth of their width (about one step)."""
    for q, eta, C, A in ((3, 0.01, 5.0, 1.0), (4, 0.02, 2.0, 1.3), (5, 0.01, 10.0, 0.8)):
        xs = np.geomspace(0.02, 0.5, 1000) * A
        k = eta * C
        T = sim.hitting_times(xs, k, q, A)
        lo, hi = tp.discrete_hitting_time_bounds(xs, eta, C, q, A)
        assert np.all(lo <= T) and np.all(T < hi)
        pos = (T - lo) / (hi - lo)
        assert pos.min() < 0.1 and pos.max() > 0.9
        lo_i, hi_i = tp.discrete_hitting_time_bounds_int(xs, eta, C, q, A)
        assert np.all(lo_i <= T) and np.all(T <= hi_i)
        clo, chi = tp.crude_hitting_time_bounds(xs, eta, C, q, A)
        assert np.all(clo <= lo) and np.all(hi <= chi + 1e-9)


def test_bounds_width_tends_to_one_step():
    lo, hi = tp.discrete_hitting_time_bounds(1e-3, 1e-6, 1.0, 3, 1.0)
    assert hi - lo == pytest.approx(1.0, abs=1e-4)


def test_shrunk_bounds_fail():
    """Neither bound has slack to give away: dropping the +1 of the upper bound (the overshoot of the
    last step) or raising the lower bound by a tenth of a step is violated somewhere on a grid."""
    xs = np.geomspace(1e-3, 0.05, 300)
    T = sim.hitting_times(xs, 0.05, 3, 1.0)
    lo, hi = tp.discrete_hitting_time_bounds(xs, 0.01, 5.0, 3, 1.0)
    assert np.any(T >= hi - 1)
    assert np.any(T < lo + 0.1)  # min over the grid: lo + 0.04


def test_api_rejects_bad_input():
    with pytest.raises(ValueError, match="q"):
        tp.discrete_hitting_time_bounds(0.1, 0.1, 1.0, 2, 1.0)
    with pytest.raises(ValueError, match="q"):
        tp.continuous_hitting_time(0.1, 0.1, 1.0, 3.5, 1.0)
    with pytest.raises(ValueError, match="below the level"):
        tp.continuous_hitting_time(1.5, 0.1, 1.0, 3, 1.0)
    with pytest.raises(ValueError, match="eta"):
        tp.discrete_hitting_time_bounds(0.1, -0.1, 1.0, 3, 1.0)


# ----------------------------------------------------------------------------- the race
def test_follower_formula_numbers():
    y0, d, eta, C, q, A = 0.01, 0.3, 0.01, 2.0, 4, 1.0
    tA = tp.continuous_hitting_time((1 + d) * y0, eta, C, q, A)
    direct = tp.continuous_solution(y0, eta, C, q, tA)
    assert tp.follower_at_leader_hit(y0, d, eta, C, q, A) == pytest.approx(direct, rel=1e-12)
    # the spec's approximation is the delta -> 0, A -> inf limit
    for q in (3, 5):
        exact = tp.follower_at_leader_hit(1e-6, 1e-4, eta, C, q, 1e6)
        assert tp.follower_spec_approximation(1e-6, 1e-4, q) == pytest.approx(exact, rel=1e-3)


def test_follower_bounds_contain_the_race():
    for q, x0, d, eta, C, A in ((3, 0.01, 0.2, 0.01, 5.0, 1.0), (4, 0.05, 0.05, 0.02, 3.0, 1.0),
                                (6, 0.3, 0.5, 0.05, 1.0, 1.0)):
        x0s = np.geomspace(0.5, 1.0, 50) * x0
        y0s = x0s / (1 + d)
        t_x, t_y, y_hit = sim.race(x0s, y0s, eta * C, q, A)
        lo, hi = tp.follower_at_leader_hit_bounds(y0s, d, eta, C, q, A)
        assert np.all(lo <= y_hit) and np.all(y_hit <= hi)
        rlo, rhi = tp.hitting_time_ratio_bounds(y0s, d, eta, C, q, A)
        assert np.all(rlo <= t_y / t_x) and np.all(t_y / t_x <= rhi)
        err = tp.hitting_time_ratio_error_bound(y0s, d, eta, C, q, A)
        assert np.all(np.abs(t_y / t_x - (1 + d) ** (q - 2)) <= err)
        elo, ehi = tp.follower_at_leader_hit_error_bound(y0s, d, eta, C, q, A)
        yc = tp.follower_at_leader_hit(y0s, d, eta, C, q, A)
        assert np.allclose(lo / yc - 1, elo) and np.allclose(hi / yc - 1, ehi)


def test_ratio_limits():
    assert tp.hitting_time_ratio(0.5, 4) == pytest.approx(2.25)
    assert tp.hitting_time_ratio_continuous(1e-5, 0.5, 4, 1.0) == pytest.approx(2.25, rel=1e-8)
    # at finite A the continuous ratio exceeds (1+delta)^(q-2)
    assert tp.hitting_time_ratio_continuous(0.1, 0.5, 3, 1.0) > 1.5


def test_slope_bounds_contain_the_fit():
    from theorycheck.fit import loglog_slope

    xs = np.geomspace(2e-3, 2e-2, 8)
    T = sim.hitting_times(xs, 0.05, 3, 1.0)
    lo, hi = tp.loglog_slope_bounds(xs, 0.01, 5.0, 3, 1.0)
    assert lo <= loglog_slope(xs, T).slope <= hi
    assert -1.05 < lo < hi < -1.0


# ----------------------------------------------------------------------------- kernels
def test_kernel_matches_python_loop():
    xs = np.array([0.3, 0.05, 0.011, 0.2])
    for q in (3, 4, 5):
        T = sim.hitting_times(xs, 0.07, q, 0.9)
        assert list(T) == [python_hitting_time(x, 0.07, q, 0.9) for x in xs]


def test_race_agrees_with_single_runs():
    x0s = np.array([0.02, 0.03])
    y0s = x0s / 1.1
    t_x, t_y, y_hit = sim.race(x0s, y0s, 0.05, 3, 1.0)
    assert np.array_equal(t_x, sim.hitting_times(x0s, 0.05, 3, 1.0))
    assert np.array_equal(t_y, sim.hitting_times(y0s, 0.05, 3, 1.0))
    for i in range(2):
        path = sim.trajectory(y0s[i], 0.05, 3, 1.0)
        assert y_hit[i] == path[t_x[i]]
        assert path.size == t_y[i] + 1 and path[-1] >= 1.0 > path[-2]


def test_kernel_errors():
    with pytest.raises(FloatingPointError, match="max_steps"):
        sim.hitting_times([1e-3], 1e-3, 3, 1.0, max_steps=10)
    with pytest.raises(ValueError, match="q"):
        sim.hitting_times([0.1], 0.1, 2, 1.0)
    with pytest.raises(ValueError, match="positive"):
        sim.hitting_times([-0.1], 0.1, 3, 1.0)
    with pytest.raises(ValueError, match="shape"):
        sim.race([0.1, 0.2], [0.1], 0.1, 3, 1.0)


def test_jittered_starts_stay_in_range():
    rng = np.random.default_rng(3)
    xs = sim.jittered_starts(rng, 0.01, 0.05, 1000)
    assert xs.min() >= 0.01 / 1.05 and xs.max() <= 0.01 * 1.05
    ys = sim.log_uniform_starts(rng, 1e-3, 1e-2, 1000)
    assert ys.min() >= 1e-3 and ys.max() <= 1e-2


# ----------------------------------------------------------------------------- regimes
def test_regimes_reject_out_of_regime_values():
    from claims.lemma import BOUNDS, RATIO, SCALING

    with pytest.raises(RegimeError, match="q"):
        BOUNDS.regime.resolve("quick", texts={"q": "2"})
    with pytest.raises(RegimeError, match="small steps"):
        BOUNDS.regime.resolve("quick", texts={"eta": "0.5"})
    with pytest.raises(RegimeError, match="below the level"):
        RATIO.regime.resolve("quick", texts={"x0": "0.99"})
    with pytest.raises(RegimeError, match="runtime"):
        BOUNDS.regime.resolve("quick", texts={"x0_min": "1e-9"})
    with pytest.raises(RegimeError, match="below the level"):
        SCALING.regime.resolve("quick", texts={"x0_max": "0.995"})
    with pytest.raises(RegimeError, match="jitter"):
        SCALING.regime.resolve("quick", texts={"jitter": "0"})
    # starts near the level are inside the scaling regime: the prediction carries the finite-A term
    assert SCALING.regime.resolve("quick", texts={"x0_max": "0.5"})["x0_max"] == 0.5


def test_bounds_claim_fails_when_one_bound_is_too_tight(monkeypatch):
    """The bounds claim must reject bounds that some start violates (upper bound shrunk by 10 %)."""
    import claims.lemma as lemma_claims
    from derivations import tensor_power as tpd
    from theorycheck.runner import verify_claim

    exact = tpd.discrete_hitting_time_bounds

    def shrunk(*args):
        lo, hi = exact(*args)
        return lo, lo + 0.9 * (hi - lo)

    monkeypatch.setattr(tpd, "discrete_hitting_time_bounds", shrunk)
    claim = lemma_claims.BOUNDS
    row = verify_claim(claim, claim.regime.resolve("quick"), 5, progress=False)
    assert row["verdict"] == "refuted" and row["ci_low"] > 1.0
