"""Losses and hand-written gradients of the three networks (AZL SL, linear head, MRP pretraining).

All networks share the encoder ``h_r(X) = sum_p relu~(<w_r, x_p>)``, ``r in [M]``.  Every function takes
the patches flattened to ``X2`` of shape (n P, d) and returns ``(loss, grads..., cache)``; the gradient
of the encoder is always ``G^T X2`` with ``G`` from :func:`kernels.backprop`.

Mask expectation.  The MRP losses average over the Bernoulli(theta) keep-mask ``eps`` in closed form
(exact full-batch GD on ``E_eps``), using ``h_r(eps X) = sum_p eps_p a_{rp}`` with ``a = relu~(<w, x>)``:
``E[h(eps X)] = theta h`` and ``Var[h(eps X)] = theta (1 - theta) sum_p a_p^2``.
"""
from __future__ import annotations

import numpy as np

from . import kernels

_NO_T = np.zeros((0, 0, 0))


def preact(X2: np.ndarray, W: np.ndarray, n: int, P: int) -> np.ndarray:
    """``Z[n, p, r] = <w_r, x_p>`` by one BLAS product."""
    return (X2 @ W.T).reshape(n, P, W.shape[0])


def softmax_ce(F: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean cross-entropy of logits ``F`` (n, k); returns (loss, probabilities, dL/dF)."""
    n = F.shape[0]
    Fs = F - F.max(axis=1, keepdims=True)
    E = np.exp(Fs)
    S = E.sum(axis=1, keepdims=True)
    prob = E / S
    loss = float(np.mean(np.log(S[:, 0]) - Fs[np.arange(n), y]))
    dF = prob.copy()
    dF[np.arange(n), y] -= 1.0
    return loss, prob, dF / n


# --------------------------------------------------------------------------- supervised (AZL, spec 2.2)
def azl_logits(H: np.ndarray, k: int) -> np.ndarray:
    """``F_i = sum_{r in class i} h_r``; kernels are ordered class by class (``r = i m + j``)."""
    n, M = H.shape
    return H.reshape(n, k, M // k).sum(axis=2)


def azl_loss_grad(X2, y, W, k, P, varrho, q):
    """Loss and gradient of the AZL network.

    ``-grad_{w_{i,r}} L = E[(1_{i=y} - logit_i) sum_p relu~'(<w_{i,r}, x_p>) x_p]``.
    """
    n = y.shape[0]
    Z = preact(X2, W, n, P)
    H, _ = kernels.pool(Z, varrho, q)
    F = azl_logits(H, k)
    loss, prob, dF = softmax_ce(F, y)
    m = W.shape[0] // k
    c1 = np.repeat(dF, m, axis=1)
    G = kernels.backprop(Z, c1, np.zeros(W.shape[0]), np.zeros(W.shape[0]), _NO_T, varrho, q)
    return loss, G.reshape(n * P, -1).T @ X2, F


# --------------------------------------------------------------------------- linear head (spec 2.4 a)
def head_loss_grad(X2, y, W, U, P, varrho, q, train_encoder=True):
    """``F = H U^T`` with cross-entropy; returns (loss, grad W or None, grad U, F)."""
    n = y.shape[0]
    Z = preact(X2, W, n, P)
    H, _ = kernels.pool(Z, varrho, q)
    F = H @ U.T
    loss, prob, dF = softmax_ce(F, y)
    gU = dF.T @ H
    gW = None
    if train_encoder:
        c1 = dF @ U
        zeros = np.zeros(W.shape[0])
        G = kernels.backprop(Z, c1, zeros, zeros, _NO_T, varrho, q)
        gW = G.reshape(n * P, -1).T @ X2
    return loss, gW, gU, F


# --------------------------------------------------------------------------- MRP pretraining (spec 2.3)
def mrp_pooled_loss_grad(X2, n, P, W, b, theta, varrho, q, teacher_H=None, want_b=False):
    """Pooled diagonal decoder ``h'_r = b_r h_r(eps X)`` against the teacher's ``h^T_r(X)``.

    ``L = 1/(2n) sum_{n,r} [(t - b theta h)^2 + b^2 theta (1 - theta) Q]``, ``Q = sum_p a_p^2``;
    ``teacher_H=None`` means teacher = stop-gradient copy of the student (``t = h``, forward reused).
    """
    Z = preact(X2, W, n, P)
    H, Q = kernels.pool(Z, varrho, q)
    T = H if teacher_H is None else teacher_H
    resid = T - b * theta * H
    loss = 0.5 * float(np.sum(resid ** 2) + np.sum(b ** 2 * theta * (1 - theta) * Q)) / n
    c1 = -resid * b * theta / n
    c2 = b ** 2 * theta * (1 - theta) / n
    G = kernels.backprop(Z, c1, c2, np.zeros(W.shape[0]), _NO_T, varrho, q)
    gW = G.reshape(n * P, -1).T @ X2
    gb = None
    if want_b:
        gb = (np.sum(-resid * theta * H, axis=0) + b * theta * (1 - theta) * np.sum(Q, axis=0)) / n
    return loss, gW, gb, H


def mrp_patch_loss_grad(X2, n, P, W, b, theta, varrho, q, teacher_A=None, want_b=False):
    """Per-patch prediction of the teacher's masked-patch activations from the visible patches.

    For every masked patch ``p`` (``eps_p = 0``) the decoder predicts ``a^T_{rp}`` by
    ``c_r sum_{q visible} a_{rq}``, ``c_r = b_r / (theta P)`` (the mean over the expected visible set);
    the loss averages ``1/2 sum_r sum_p (1 - eps_p)(a^T_{rp} - c_r S_{r,-p})^2`` over samples and masks:

    ``E = (1-theta) [Q^T - 2 c theta (h^T h - sum_p a^T_p a_p) + c^2 theta^2 ((P-2) h^2 + Q)
    + c^2 theta (1-theta) (P-1) Q]`` per (sample, kernel).  ``teacher_A=None``: stop-gradient student.
    """
    Z = preact(X2, W, n, P)
    H, Q = kernels.pool(Z, varrho, q)
    c = b / (theta * P)
    w = 1.0 - theta
    if teacher_A is None:
        HT, QT, cross = H, Q, Q
    else:
        HT = teacher_A.sum(axis=1)
        QT = np.einsum("npr,npr->nr", teacher_A, teacher_A)
        cross = np.einsum("npr,npr->nr", teacher_A, kernels.patch_acts(Z, varrho, q))
    body = (QT - 2 * c * theta * (HT * H - cross) + c ** 2 * theta ** 2 * ((P - 2) * H ** 2 + Q)
            + c ** 2 * theta * w * (P - 1) * Q)
    loss = 0.5 * w * float(np.sum(body)) / n
    c1 = w * (-c * theta * HT + c ** 2 * theta ** 2 * (P - 2) * H) / n
    c2 = w * (c ** 2 * theta ** 2 + c ** 2 * theta * w * (P - 1)) / n * np.ones(W.shape[0])
    c3 = w * c * theta / n * np.ones(W.shape[0])
    if teacher_A is None:
        G = kernels.backprop(Z, c1, c2 + c3, np.zeros(W.shape[0]), _NO_T, varrho, q)
    else:
        G = kernels.backprop(Z, c1, c2, c3, teacher_A, varrho, q)
    gW = G.reshape(n * P, -1).T @ X2
    gb = None
    if want_b:
        dc = w * np.sum(-theta * (HT * H - cross) + c * theta ** 2 * ((P - 2) * H ** 2 + Q)
                        + c * theta * w * (P - 1) * Q, axis=0) / n
        gb = dc / (theta * P)
    return loss, gW, gb, H
