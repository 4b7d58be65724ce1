"""Plain NumPy reference of one GD step (SL and MRP), the baseline of ``theorycheck bench mrp``.

Same mathematics as :mod:`losses`, written with whole-array NumPy operations and no fusion.
"""
from __future__ import annotations

import numpy as np


def _act(Z, varrho, q):
    return np.where(Z <= 0, 0.0, np.where(Z <= varrho, np.clip(Z, 0, None) ** q / (q * varrho ** (q - 1)),
                                          Z - (1 - 1 / q) * varrho))


def _dact(Z, varrho, q):
    return np.where(Z <= 0, 0.0, np.where(Z <= varrho, (np.clip(Z, 0, None) / varrho) ** (q - 1), 1.0))


def azl_grad(X2, y, W, k, P, varrho, q):
    """Gradient of the AZL cross-entropy loss (reference)."""
    n = y.shape[0]
    Z = (X2 @ W.T).reshape(n, P, -1)
    H = _act(Z, varrho, q).sum(axis=1)
    F = H.reshape(n, k, -1).sum(axis=2)
    F = F - F.max(axis=1, keepdims=True)
    prob = np.exp(F) / np.exp(F).sum(axis=1, keepdims=True)
    prob[np.arange(n), y] -= 1.0
    c1 = np.repeat(prob / n, W.shape[0] // k, axis=1)
    G = _dact(Z, varrho, q) * c1[:, None, :]
    return G.reshape(n * P, -1).T @ X2


def mrp_pooled_grad(X2, n, P, W, b, theta, varrho, q, teacher_H=None):
    """Gradient of the pooled MRP loss (reference); ``teacher_H`` of shape (n, M), or ``None`` for the
    stop-gradient student teacher."""
    Z = (X2 @ W.T).reshape(n, P, -1)
    A = _act(Z, varrho, q)
    H = A.sum(axis=1)
    resid = (H if teacher_H is None else teacher_H) - b * theta * H
    G = _dact(Z, varrho, q) * (-resid * b * theta / n)[:, None, :] + \
        _dact(Z, varrho, q) * A * (b ** 2 * theta * (1 - theta) / n)
    return G.reshape(n * P, -1).T @ X2


def pixel_grad(X, W, U, theta, varrho, q):
    """Gradients (W, U) of the pixel-target loss averaged over masks in closed form (reference, no fusion);
    ``X`` of shape (n, P, d)."""
    n, P, d = X.shape
    w = 1.0 - theta
    c1, c2p, cK = theta * w, w * theta ** 2 * (P - 2), w * theta ** 2 + w ** 2 * theta * (P - 1)
    Z = np.einsum("npd,rd->npr", X, W)
    A = _act(Z, varrho, q)                                   # (n, P, M)
    S = A.sum(axis=1)                                        # (n, M)
    Xs = X.sum(axis=1)                                       # (n, d)
    G = U.T @ U
    dA = (c1 * (X @ U - (Xs @ U)[:, None, :]) + c2p * (S @ G)[:, None, :] + cK * A @ G) / (n * P)
    gW = np.einsum("npr,npd->rd", _dact(Z, varrho, q) * dA, X)
    XA = Xs.T @ S - np.einsum("npd,npr->dr", X, A)
    gU = (-c1 * XA + U @ (c2p * S.T @ S + cK * np.einsum("npr,nps->rs", A, A))) / (n * P)
    return gW, gU
