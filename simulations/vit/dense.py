"""Independent dense implementation: the full matrix :math:`Q\\in\\mathbb R^{d\\times d}` on explicit vectors.

Features :math:`v_{k,j}` are the first :math:`F` standard basis vectors of :math:`\\mathbb R^d` and positions
:math:`e_p` the last :math:`P` (:math:`d=F+P`).  A sample's tokens are :math:`z_q=\\tilde X_q+e_q`, the
scores :math:`e_p^\\top Qz_q`, the output :math:`F_p=\\sum_q a_{p\\to q}\\tilde X_q`.  The gradient uses the
per-key scalar of docs/papers/vit.md §3.1, for an upstream gradient :math:`R_p=\\partial\\ell/\\partial F_p`:

.. math::  g_{p,q}=a_{p\\to q}\\langle R_p,\\ \\tilde X_q-F_p\\rangle,\\qquad
           \\nabla_Q\\ell=\\sum_{p}\\sum_q g_{p,q}\\,e_p z_q^\\top .

(For MAE, :math:`R_p=\\mathbf 1\\{p\\in\\mathcal M\\}(F_p-X_p)`.)  Nothing here shares code with the kernels;
it is the cross-check of the (Phi, Upsilon) parametrisation and is only meant for small sizes.
"""
from __future__ import annotations

import numpy as np

from .data import Batch


def embed(batch: Batch, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Visible content ``Xt`` (P, d), full content ``X`` (P, d) and tokens ``Z`` (P, d) of sample ``s``."""
    g = batch.geometry
    F, P = g.n_features, g.P
    d = F + P
    k = batch.cluster[s]
    X = np.zeros((P, d))
    for p in range(P):
        j = g.area[k, p]
        X[p, g.feature[k, p]] = batch.z_area[s, j]
    Xt = X * (1 - batch.masked[s])[:, None]
    Z = Xt + np.hstack([np.zeros((P, F)), np.eye(P)])
    return Xt, X, Z


def _attention(Q, batch, s, Z):
    g = batch.geometry
    F, P = g.n_features, g.P
    S = Q[F:, :] @ Z.T                                  # (P, P): e_p^T Q z_q
    if not batch.masked_in:
        S = np.where(batch.masked[s][None, :] == 1, -np.inf, S)
    S = S - S.max(axis=1, keepdims=True)
    a = np.exp(S)
    return a / a.sum(axis=1, keepdims=True)


def _grad_from_upstream(a, R, Xt, Fo, Z, F, P, d):
    """``sum_p sum_q g_pq e_p z_q^T`` with ``g_pq = a_pq <R_p, Xt_q - F_p>``."""
    g = a * (R @ Xt.T - np.sum(R * Fo, axis=1, keepdims=True))
    G = np.zeros((d, d))
    G[F:, :] = g @ Z
    return G


def mae_loss_grad_dense(Q: np.ndarray, batch: Batch) -> tuple[float, np.ndarray]:
    """MAE loss (mean over samples of ``1/2 sum_{p masked} ||F_p - X_p||^2``) and its gradient in ``Q``."""
    g = batch.geometry
    F, P = g.n_features, g.P
    d = F + P
    loss, grad = 0.0, np.zeros((d, d))
    for s in range(batch.n):
        Xt, X, Z = embed(batch, s)
        a = _attention(Q, batch, s, Z)
        Fo = a @ Xt
        m = batch.masked[s].astype(float)[:, None]
        R = m * (Fo - X)
        loss += 0.5 * float(np.sum(R * (Fo - X)))
        grad += _grad_from_upstream(a, R, Xt, Fo, Z, F, P, d)
    return loss / batch.n, grad / batch.n


def pooled_dense(Q: np.ndarray, batch: Batch, pool: np.ndarray) -> np.ndarray:
    """Pooled representations ``G[s] = sum_p pool[s, p] F_p`` (feature coordinates), shape (n, F)."""
    g = batch.geometry
    F = g.n_features
    out = np.zeros((batch.n, F))
    for s in range(batch.n):
        Xt, _, Z = embed(batch, s)
        a = _attention(Q, batch, s, Z)
        out[s] = (pool[s] @ (a @ Xt))[:F]
    return out


def pooled_grad_dense(Q: np.ndarray, batch: Batch, pool: np.ndarray, dG: np.ndarray) -> np.ndarray:
    """Gradient in ``Q`` of a loss of the pooled representations, given ``dG = dl/dG`` (n, F)."""
    g = batch.geometry
    F, P = g.n_features, g.P
    d = F + P
    grad = np.zeros((d, d))
    for s in range(batch.n):
        Xt, _, Z = embed(batch, s)
        a = _attention(Q, batch, s, Z)
        Fo = a @ Xt
        up = np.zeros(d)
        up[:F] = dG[s]
        R = pool[s][:, None] * up[None, :]
        grad += _grad_from_upstream(a, R, Xt, Fo, Z, F, P, d)
    return grad


def split(Q: np.ndarray, F: int) -> tuple[np.ndarray, np.ndarray]:
    """``(Phi, Upsilon)`` read off a dense ``Q``: ``Phi = Q[pos, feat]``, ``Upsilon = Q[pos, pos]``."""
    return Q[F:, :F].copy(), Q[F:, F:].copy()


def assemble_q(phi: np.ndarray, ups: np.ndarray) -> np.ndarray:
    """The dense ``Q`` with the given position rows (every other entry zero)."""
    P, F = phi.shape
    Q = np.zeros((F + P, F + P))
    Q[F:, :F] = phi
    Q[F:, F:] = ups
    return Q


def run_mae_dense(batch: Batch, eta: float, steps: int) -> list[np.ndarray]:
    """Full-batch GD on ``Q`` from zero; the list of iterates ``Q^(0..steps)``."""
    g = batch.geometry
    d = g.n_features + g.P
    Q = np.zeros((d, d))
    out = [Q.copy()]
    for _ in range(steps):
        _, G = mae_loss_grad_dense(Q, batch)
        Q = Q - eta * G
        out.append(Q.copy())
    return out
