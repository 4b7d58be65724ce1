r"""The tensor-power recursion :math:`x_{t+1} = x_t + k\,x_t^{\,q-1}` (``k = eta C``), iterated exactly in float64.

The recursion is deterministic; a replicate differs from another only through the starting points it draws
(:func:`jittered_starts`).  Kernels loop over a batch of starting points and stop each one at its hitting
time of the level ``A``, so nothing ever exceeds ``A (1 + k A^(q-2))``.
"""
from __future__ import annotations

import numpy as np
from numba import njit

NOT_REACHED = -1


@njit(cache=True, nogil=True)
def _step(x, k, q):
    return x + k * x ** (q - 1)


@njit(cache=True, nogil=True)
def _hitting_times_kernel(x0s, k, q, A, max_steps, out):
    for i in range(x0s.shape[0]):
        x = x0s[i]
        steps = 0
        while x < A and steps < max_steps:
            x = _step(x, k, q)
            steps += 1
        out[i] = steps if x >= A else NOT_REACHED


@njit(cache=True, nogil=True)
def _race_kernel(x0s, y0s, k, q, A, max_steps, t_leader, t_follower, y_at_leader_hit):
    for i in range(x0s.shape[0]):
        x = x0s[i]
        y = y0s[i]
        steps = 0
        t_leader[i] = NOT_REACHED
        t_follower[i] = NOT_REACHED
        y_at_leader_hit[i] = np.nan
        if x >= A:
            t_leader[i] = 0
            y_at_leader_hit[i] = y
        if y >= A:
            t_follower[i] = 0
        while (x < A or y < A) and steps < max_steps:
            if x < A:
                x = _step(x, k, q)
            if y < A:
                y = _step(y, k, q)
            steps += 1
            if x >= A and t_leader[i] == NOT_REACHED:
                t_leader[i] = steps
                y_at_leader_hit[i] = y
            if y >= A and t_follower[i] == NOT_REACHED:
                t_follower[i] = steps


@njit(cache=True, nogil=True)
def _trajectory_kernel(x0, k, q, A, out):
    """Fill ``out[t] = x_t`` until the level A is reached; return the number of steps taken."""
    x = x0
    out[0] = x
    n = out.shape[0] - 1
    for t in range(n):
        if x >= A:
            return t
        x = _step(x, k, q)
        out[t + 1] = x
    return n if x >= A else NOT_REACHED


def _check(x0s, k, q, A, max_steps):
    if int(q) != q or q < 3:
        raise ValueError(f"q={q!r}: the recursion is studied for integer q >= 3")
    if not (np.isfinite(k) and k > 0):
        raise ValueError(f"k = eta*C = {k!r} must be positive and finite")
    if not (np.isfinite(A) and A > 0):
        raise ValueError(f"A={A!r} must be positive and finite")
    if np.any(~np.isfinite(x0s)) or np.any(x0s <= 0):
        raise ValueError("starting points must be positive and finite")
    if int(max_steps) < 1:
        raise ValueError(f"max_steps={max_steps!r} must be a positive integer")


def _raise_not_reached(which, idx, start, max_steps):
    raise FloatingPointError(f"{which} started at {start:.6g} did not reach the level A within "
                             f"max_steps={max_steps} steps (index {idx}); raise max_steps or the step size")


def hitting_times(x0s, k, q, A, max_steps=10_000_000):
    """Hitting times ``T_i = min{t : x_t >= A}`` of the recursion from each starting point.

    Parameters
    ----------
    x0s : array_like, shape (n,)
        Starting points (positive).
    k : float
        ``eta * C``.
    q : int
        Power, ``q >= 3``.
    A : float
        Level.
    max_steps : int
        Give up (FloatingPointError) when a start has not reached ``A`` after this many steps.

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
    """
    x0s = np.ascontiguousarray(np.atleast_1d(np.asarray(x0s, dtype=np.float64)))
    _check(x0s, k, q, A, max_steps)
    out = np.empty(x0s.shape[0], dtype=np.int64)
    _hitting_times_kernel(x0s, float(k), int(q), float(A), int(max_steps), out)
    bad = np.flatnonzero(out == NOT_REACHED)
    if bad.size:
        _raise_not_reached("x", int(bad[0]), float(x0s[bad[0]]), max_steps)
    return out


def race(x0s, y0s, k, q, A, max_steps=10_000_000):
    """Leader ``x`` and follower ``y`` iterated side by side.

    Returns
    -------
    t_leader, t_follower : numpy.ndarray of int64
        Hitting times of ``A`` by ``x`` and by ``y``.
    y_at_leader_hit : numpy.ndarray of float64
        ``y_{t_leader}``: where the follower stands when the leader hits ``A``.
    """
    x0s = np.ascontiguousarray(np.atleast_1d(np.asarray(x0s, dtype=np.float64)))
    y0s = np.ascontiguousarray(np.atleast_1d(np.asarray(y0s, dtype=np.float64)))
    if x0s.shape != y0s.shape:
        raise ValueError(f"leader and follower batches differ in shape: {x0s.shape} vs {y0s.shape}")
    _check(x0s, k, q, A, max_steps)
    _check(y0s, k, q, A, max_steps)
    n = x0s.shape[0]
    t_x = np.empty(n, dtype=np.int64)
    t_y = np.empty(n, dtype=np.int64)
    y_hit = np.empty(n, dtype=np.float64)
    _race_kernel(x0s, y0s, float(k), int(q), float(A), int(max_steps), t_x, t_y, y_hit)
    for name, arr, starts in (("leader", t_x, x0s), ("follower", t_y, y0s)):
        bad = np.flatnonzero(arr == NOT_REACHED)
        if bad.size:
            _raise_not_reached(name, int(bad[0]), float(starts[bad[0]]), max_steps)
    return t_x, t_y, y_hit


def trajectory(x0, k, q, A, max_steps=10_000_000):
    """The path ``x_0, x_1, ..., x_T`` up to and including the hitting time of ``A``."""
    steps = int(hitting_times([x0], k, q, A, max_steps)[0])
    buf = np.empty(steps + 1, dtype=np.float64)
    done = _trajectory_kernel(float(x0), float(k), int(q), float(A), buf)
    if done != steps:
        raise FloatingPointError(f"trajectory from {x0:.6g} took {done} steps, the hitting time is {steps}")
    return buf


def jittered_starts(rng, center, jitter, n):
    """``n`` starting points ``center * exp(U)``, ``U ~ Uniform(-ln(1+jitter), ln(1+jitter))``."""
    half = np.log1p(float(jitter))
    return float(center) * np.exp(rng.uniform(-half, half, size=int(n)))


def log_uniform_starts(rng, low, high, n):
    """``n`` starting points drawn log-uniformly in ``[low, high]``."""
    return np.exp(rng.uniform(np.log(low), np.log(high), size=int(n)))
