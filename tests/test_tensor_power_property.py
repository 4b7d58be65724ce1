"""Property test of the tensor-power bounds: every example drawn from the race regime is iterated by the
Numba kernel and by an independent plain-Python loop, and every derived bound must hold."""
import numpy as np
from hypothesis import given

from claims.lemma import RATIO
from derivations import tensor_power as tp
from simulations import tensor_power as sim


def python_path_end(x0, k, q, A):
    """Plain-Python iteration: hitting time and the last two iterates."""
    prev, x, steps = float("nan"), float(x0), 0
    while x < A:
        prev, x = x, x + k * x ** (q - 1)
        steps += 1
    return steps, prev, x


def python_follower_at(y0, k, q, steps):
    y = float(y0)
    for _ in range(steps):
        y = y + k * y ** (q - 1)
    return y


def near_level(prev, x, A):
    """The hit is decided by the last bits of float64 (the two implementations round x^(q-1)
    differently), so they may then differ by one step."""
    return abs(x / A - 1) < 1e-9 or abs(prev / A - 1) < 1e-9


@given(RATIO.regime.strategy("quick"))
def test_bounds_hold_for_every_example(p):
    q, eta, C, A, d = p["q"], p["eta"], p["C"], p["A"], p["delta"]
    k = eta * C
    x0 = p["x0"]
    y0 = x0 / (1 + d)
    t_x, t_y, y_hit = sim.race([x0], [y0], k, q, A)
    for start, T_kernel in ((x0, int(t_x[0])), (y0, int(t_y[0]))):
        T_py, prev, last = python_path_end(start, k, q, A)
        if near_level(prev, last, A):
            assert abs(T_py - T_kernel) <= 1
        else:
            assert T_py == T_kernel
        lo, hi = tp.discrete_hitting_time_bounds(start, eta, C, q, A)
        clo, chi = tp.crude_hitting_time_bounds(start, eta, C, q, A)
        for T in (T_py, T_kernel):
            assert lo <= T < hi, (T, lo, hi)
            assert clo <= T <= chi
    # where the follower stands at the leader's hit, both implementations
    ylo, yhi = tp.follower_at_leader_hit_bounds(y0, d, eta, C, q, A)
    assert ylo <= y_hit[0] <= yhi
    y_py = python_follower_at(y0, k, q, int(t_x[0]))
    assert ylo <= y_py <= yhi
    # hitting-time ratio within its derived error of (1+delta)^(q-2)
    ratio = t_y[0] / t_x[0]
    rlo, rhi = tp.hitting_time_ratio_bounds(y0, d, eta, C, q, A)
    assert rlo <= ratio <= rhi
    assert abs(ratio - (1 + d) ** (q - 2)) <= tp.hitting_time_ratio_error_bound(y0, d, eta, C, q, A)
    assert np.isfinite(y_hit[0])
