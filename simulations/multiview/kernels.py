"""Fused elementwise kernels around the two BLAS products of a GD step.

The smoothed ReLU of Allen-Zhu & Li with threshold ``varrho`` and power ``q``:

    relu~(z)  = 0                              z <= 0
              = z^q / (q varrho^(q-1))         0 <= z <= varrho
              = z - (1 - 1/q) varrho           z >= varrho
    relu~'(z) = 0, (z/varrho)^(q-1), 1         on the same pieces.

A step computes ``Z = X W^T`` (BLAS), then one fused pass gives the pooled activations
``H[n, r] = sum_p relu~(Z[n, p, r])`` (and ``Q = sum_p relu~^2``), then a second fused pass writes the
back-propagated pre-activation gradient

    G[n, p, r] = relu~'(Z[n, p, r]) * (c1[n, r] + c2[r] relu~(Z[n, p, r]) + c3[r] AT[n, p, r])

and finally ``grad W = G^T X`` (BLAS).  Every loss of the package has this form.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _act(z, rho, q, inv):
    if z <= 0.0:
        return 0.0
    if z <= rho:
        return z ** q * inv
    return z - (1.0 - 1.0 / q) * rho


@njit(cache=True, nogil=True)
def _dact(z, rho, q):
    if z <= 0.0:
        return 0.0
    if z <= rho:
        return (z / rho) ** (q - 1)
    return 1.0


@njit(cache=True, nogil=True)
def smoothed_relu(Z, rho, q):
    """Elementwise ``relu~`` of an array of any shape (flattened), returns a new array."""
    out = np.empty(Z.size)
    flat = Z.ravel()
    inv = 1.0 / (q * rho ** (q - 1))
    for i in range(flat.size):
        out[i] = _act(flat[i], rho, q, inv)
    return out.reshape(Z.shape)


@njit(cache=True, nogil=True)
def smoothed_relu_grad(Z, rho, q):
    """Elementwise ``relu~'``."""
    out = np.empty(Z.size)
    flat = Z.ravel()
    for i in range(flat.size):
        out[i] = _dact(flat[i], rho, q)
    return out.reshape(Z.shape)


@njit(cache=True, nogil=True)
def pool(Z, rho, q):
    """``H = sum_p relu~(Z)`` and ``Q = sum_p relu~(Z)^2`` for ``Z`` of shape (n, P, M)."""
    n, P, M = Z.shape
    H = np.zeros((n, M))
    Q = np.zeros((n, M))
    inv = 1.0 / (q * rho ** (q - 1))
    for a in range(n):
        for p in range(P):
            for r in range(M):
                v = _act(Z[a, p, r], rho, q, inv)
                H[a, r] += v
                Q[a, r] += v * v
    return H, Q


@njit(cache=True, nogil=True)
def patch_acts(Z, rho, q):
    """``relu~(Z)`` for ``Z`` of shape (n, P, M) (the teacher's per-patch activations)."""
    return smoothed_relu(Z, rho, q)


@njit(cache=True, nogil=True)
def backprop(Z, c1, c2, c3, AT, rho, q):
    """``G = relu~'(Z) * (c1[n, r] + c2[r] relu~(Z) + c3[r] AT)``; pass ``AT`` of shape (0, 0, 0) if unused."""
    n, P, M = Z.shape
    G = np.empty((n, P, M))
    inv = 1.0 / (q * rho ** (q - 1))
    use_a = False
    for r in range(M):
        if c2[r] != 0.0:
            use_a = True
    use_t = AT.shape[0] > 0
    for a in range(n):
        for p in range(P):
            for r in range(M):
                z = Z[a, p, r]
                if z <= 0.0:
                    G[a, p, r] = 0.0
                    continue
                g = c1[a, r]
                if use_a:
                    g += c2[r] * _act(z, rho, q, inv)
                if use_t:
                    g += c3[r] * AT[a, p, r]
                G[a, p, r] = _dact(z, rho, q) * g
    return G


def warmup() -> None:
    """Compile every kernel on tiny inputs."""
    Z = np.linspace(-0.2, 0.3, 24).reshape(2, 3, 4)
    smoothed_relu(Z, 0.1, 3)
    smoothed_relu_grad(Z, 0.1, 3)
    pool(Z, 0.1, 3)
    patch_acts(Z, 0.1, 3)
    backprop(Z, np.ones((2, 4)), np.ones(4), np.zeros(4), np.zeros((0, 0, 0)), 0.1, 3)
    backprop(Z, np.ones((2, 4)), np.ones(4), np.ones(4), Z, 0.1, 3)
