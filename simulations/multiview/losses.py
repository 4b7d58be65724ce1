"""Losses and hand-written gradients of the three networks (AZL SL, linear head, MRP pretraining).

All networks share the encoder ``h_r(X) = sum_p relu~(<w_r, x_p>)``, ``r in [M]``.  A :class:`Batch` holds
the patches laid out for both products of a step, ``ZT = W X^T`` (:meth:`Batch.forward`) and
``grad W = G X`` (:meth:`Batch.backward`), on contiguous operands and using the data's exact sparsity
(see :mod:`kernels` for the layout).

Mask expectation.  The MRP losses average over the Bernoulli(theta) keep-mask ``eps`` in closed form
(exact full-batch GD on ``E_eps``), using ``h_r(eps X) = sum_p eps_p a_{rp}`` with ``a = relu~(<w, x>)``:
``E[h(eps X)] = theta h`` and ``Var[h(eps X)] = theta (1 - theta) sum_p a_p^2``.
"""
from __future__ import annotations

import numpy as np

from . import kernels

_NO_T = np.zeros((0, 0))


class Batch:
    """The patches of ``n`` samples, laid out for the two products of a step.

    Exact structure.  When the Gaussian noise sits only on the noise patches, is projected off span(V)
    and gamma = 0, a feature patch ``z_p v`` has a single nonzero coordinate and a noise patch is zero on
    the 2k feature coordinates.  The rows with at most one nonzero (``oh_*``: row, column, value) then
    enter both products by a gather / scatter, and only the other rows, restricted to the columns they
    use, go through BLAS.  The split is exact (the same sums, in another order) and is used when at least
    ``min_sparse`` of the rows have one nonzero; otherwise every row is dense.

    Parameters
    ----------
    X : ndarray, shape (n, P, d)
    structured : bool
        Allow the split (``False`` forces two dense products).
    min_sparse : float
        Smallest fraction of one-nonzero rows for which the split is used.
    """

    def __init__(self, X: np.ndarray, structured: bool = True, min_sparse: float = 0.2):
        self.n, self.P, self.d = X.shape
        self.X2 = np.ascontiguousarray(X.reshape(self.n * self.P, self.d), dtype=np.float64)
        nnz = np.count_nonzero(self.X2, axis=1)
        one = nnz <= 1
        self.structured = bool(structured and one.mean() >= min_sparse)
        if self.structured:
            self.oh_idx = np.flatnonzero(one).astype(np.int64)
            rows = self.X2[self.oh_idx]
            self.oh_col = np.abs(rows).argmax(axis=1).astype(np.int64)
            self.oh_val = rows[np.arange(rows.shape[0]), self.oh_col].copy()
            self.dense_idx = np.flatnonzero(~one).astype(np.int64)
            Xd = self.X2[self.dense_idx]
            cols = np.flatnonzero(np.any(Xd != 0, axis=0))
            if cols.size and cols[-1] - cols[0] + 1 == cols.size:  # a contiguous block: use a slice
                cols = slice(int(cols[0]), int(cols[-1]) + 1)
            self.cols = cols
            self.Xd = np.ascontiguousarray(Xd[:, self.cols])
            self.XdT = np.ascontiguousarray(self.Xd.T)
            self.perm, self.dsamp, self.osamp = kernels.split_layout(self.dense_idx, self.oh_idx, self.n, self.P)
        else:
            self.XT = np.ascontiguousarray(self.X2.T)

    def forward(self, W: np.ndarray) -> np.ndarray:
        """``ZT[r, a P + p] = <w_r, x_{a,p}>``, shape (M, n P)."""
        if not self.structured:
            return W @ self.XT
        Zd = W[:, self.cols] @ self.XdT
        return kernels.assemble_preact(Zd, self.dense_idx, self.oh_idx, self.oh_col, self.oh_val, W,
                                       self.n * self.P)

    @property
    def split(self) -> tuple:
        """``(perm, dsamp, osamp, oh_col, oh_val)``, the split layout the fused kernels take."""
        return self.perm, self.dsamp, self.osamp, self.oh_col, self.oh_val

    def forward_dense(self, W: np.ndarray) -> np.ndarray:
        """The dense rows' pre-activations only, ``Zd = W[:, cols] @ Xd^T`` (M, n_dense); the fused
        kernels (``kernels.split_*``) read the one-nonzero rows from ``W``."""
        return W[:, self.cols] @ self.XdT

    def backward_dense(self, Gd: np.ndarray, gW: np.ndarray) -> np.ndarray:
        """``gW[:, cols] += Gd @ Xd``: the dense rows' part of ``G @ X2`` added to the one-nonzero rows' ``gW``."""
        gW[:, self.cols] += Gd @ self.Xd
        return gW

    def backward(self, G: np.ndarray) -> np.ndarray:
        """``G @ X2`` for ``G`` of shape (M, n P): the gradient in ``W`` of a pre-activation gradient."""
        if not self.structured:
            return G @ self.X2
        Gd, gW = kernels.split_grad(G, self.dense_idx, self.oh_idx, self.oh_col, self.oh_val, self.d)
        gW[:, self.cols] += Gd @ self.Xd
        return gW


def preact(batch: Batch, W: np.ndarray) -> np.ndarray:
    """``ZT[r, a P + p] = <w_r, x_{a,p}>``, shape (M, n P) (see :meth:`Batch.forward`)."""
    return batch.forward(W)


def encode(batch: Batch, W: np.ndarray, varrho: float, q: int) -> np.ndarray:
    """Pooled activations ``H[r, a] = h_r(X_a)``, shape (M, n)."""
    return kernels.pool(preact(batch, W), batch.P, varrho, int(q))[0]


def patch_acts(batch: Batch, W: np.ndarray, varrho: float, q: int) -> np.ndarray:
    """Per-patch activations ``A[r, a P + p] = relu~(<w_r, x_{a,p}>)``, shape (M, n P)."""
    return kernels.smoothed_relu(preact(batch, W), varrho, int(q))


def softmax_ce(F: np.ndarray, y: np.ndarray) -> tuple[float, int, np.ndarray]:
    """Mean cross-entropy of logits ``F`` (n, k): (loss, number correct, dL/dF)."""
    return kernels.softmax_ce(np.ascontiguousarray(F), np.asarray(y, dtype=np.int64))


# --------------------------------------------------------------------------- supervised (AZL, docs/papers/mrp.md §2.2)
def azl_logits(H: np.ndarray, k: int) -> np.ndarray:
    """``F[a, i] = sum_{r in class i} H[r, a]``; kernels are ordered class by class (``r = i m + j``)."""
    M, n = H.shape
    return H.reshape(k, M // k, n).sum(axis=1).T


def azl_loss_grad(batch: Batch, y, W, k, varrho, q):
    """Loss and gradient of the AZL network: (loss, grad W, logits F, number correct).

    ``-grad_{w_{i,r}} L = E[(1_{i=y} - logit_i) sum_p relu~'(<w_{i,r}, x_p>) x_p]``.
    """
    H, back = _pooled_with_backward(batch, W, varrho, int(q))
    F = azl_logits(H, k)
    loss, correct, dF = softmax_ce(F, y)
    return loss, back(np.repeat(dF.T, W.shape[0] // k, axis=0)), F, correct


def _pooled_with_backward(batch: Batch, W, varrho, q):
    """``H = pool relu~(<W, x_p>)`` (M, n) and ``back(C1)``, the gradient in W of ``sum_{r,a} C1[r, a] H[r, a]``
    (the fused split kernels on structured data, the dense kernels otherwise)."""
    if batch.structured:
        Zd = batch.forward_dense(W)
        H, Doh = kernels.split_pool_keep_grad(Zd, *batch.split, W, batch.n, batch.P, varrho, q)
        return H, lambda C1: batch.backward_dense(Zd, kernels.split_scale_grad(Zd, Doh, *batch.split, C1, batch.d))
    ZT = preact(batch, W)
    H = kernels.pool_keep_grad(ZT, batch.P, varrho, q)
    return H, lambda C1: batch.backward(kernels.scale_grad(ZT, batch.P, C1))


# --------------------------------------------------------------------------- linear head (docs/papers/mrp.md §2.4 a)
def head_loss_grad(batch: Batch, y, W, U, varrho, q, train_encoder=True):
    """``F = H^T U^T`` with cross-entropy; returns (loss, grad W or None, grad U, F, number correct)."""
    H, back = _pooled_with_backward(batch, W, varrho, int(q))
    F = H.T @ U.T
    loss, correct, dF = softmax_ce(F, y)
    gU = dF.T @ H.T
    gW = back(np.ascontiguousarray((dF @ U).T)) if train_encoder else None
    return loss, gW, gU, F, correct


# --------------------------------------------------------------------------- MRP pretraining (docs/papers/mrp.md §2.3)
def mrp_pooled_loss_grad(batch: Batch, W, b, theta, varrho, q, teacher_H=None, want_b=False):
    """Pooled diagonal decoder ``h'_r = b_r h_r(eps X)`` against the teacher's ``h^T_r(X)``.

    ``L = 1/(2n) sum_{a,r} [(t - b theta h)^2 + b^2 theta (1 - theta) Q]``, ``Q = sum_p a_p^2``;
    ``teacher_H=None`` (shape (M, n) otherwise) means teacher = stop-gradient copy of the student
    (``t = h``, forward reused).  Returns (loss, grad W, grad b or None, H).
    """
    q = int(q)
    n = batch.n
    c2 = b ** 2 * theta * (1 - theta) / n
    if batch.structured:
        Zd = batch.forward_dense(W)
        H, Q, gW = kernels.split_mrp_pooled(Zd, *batch.split, W, n, batch.P,
                                            _NO_T if teacher_H is None else teacher_H, b, theta, c2,
                                            varrho, q, batch.d)
        gW = batch.backward_dense(Zd, gW)
    else:
        ZT = preact(batch, W)
        H, Q = kernels.pool(ZT, batch.P, varrho, q)
    T = H if teacher_H is None else teacher_H
    bc = b[:, None]
    resid = T - bc * theta * H
    loss = 0.5 * float(np.sum(resid ** 2) + np.sum(bc ** 2 * theta * (1 - theta) * Q)) / n
    if not batch.structured:
        C1 = -resid * bc * theta / n
        G = kernels.backprop(ZT, batch.P, C1, c2, np.zeros(W.shape[0]), _NO_T, varrho, q)
        gW = batch.backward(G)
    gb = None
    if want_b:
        gb = (np.sum(-resid * theta * H, axis=1) + b * theta * (1 - theta) * np.sum(Q, axis=1)) / n
    return loss, gW, gb, H


def mrp_pooled_optimal_scale(H, Q, theta, teacher_H=None):
    """Least-squares decoder scale ``b_r* = argmin_b L = E[t h] / (theta E[h^2] + (1 - theta) E[Q])``."""
    T = H if teacher_H is None else teacher_H
    num = np.sum(T * H, axis=1)
    den = theta * np.sum(H * H, axis=1) + (1 - theta) * np.sum(Q, axis=1)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0 / theta)


def mrp_patch_loss_grad(batch: Batch, W, b, theta, varrho, q, teacher_A=None, want_b=False):
    """Per-patch prediction of the teacher's masked-patch activations from the visible patches.

    For every masked patch ``p`` (``eps_p = 0``) the decoder predicts ``a^T_{rp}`` by
    ``c_r sum_{p' visible} a_{rp'}``, ``c_r = b_r / (theta P)`` (the mean over the expected visible set);
    the loss averages ``1/2 sum_r sum_p (1 - eps_p)(a^T_{rp} - c_r S_{r,-p})^2`` over samples and masks:

    ``E = (1-theta) [Q^T - 2 c theta (h^T h - sum_p a^T_p a_p) + c^2 theta^2 ((P-2) h^2 + Q)
    + c^2 theta (1-theta) (P-1) Q]`` per (sample, kernel).  ``teacher_A=None``: stop-gradient student;
    otherwise the teacher's per-patch activations of shape (M, n P).
    """
    q = int(q)
    n, P = batch.n, batch.P
    ZT = preact(batch, W)
    H, Q = kernels.pool(ZT, P, varrho, q)
    c = (b / (theta * P))[:, None]
    w = 1.0 - theta
    M = W.shape[0]
    if teacher_A is None:
        HT, QT, cross = H, Q, Q
    else:
        HT = teacher_A.reshape(M, n, P).sum(axis=2)
        QT = np.einsum("rnp,rnp->rn", teacher_A.reshape(M, n, P), teacher_A.reshape(M, n, P))
        A = kernels.smoothed_relu(ZT, varrho, q).reshape(M, n, P)
        cross = np.einsum("rnp,rnp->rn", teacher_A.reshape(M, n, P), A)
    body = (QT - 2 * c * theta * (HT * H - cross) + c ** 2 * theta ** 2 * ((P - 2) * H ** 2 + Q)
            + c ** 2 * theta * w * (P - 1) * Q)
    loss = 0.5 * w * float(np.sum(body)) / n
    C1 = w * (-c * theta * HT + c ** 2 * theta ** 2 * (P - 2) * H) / n
    cv = c[:, 0]
    c2 = w * (cv ** 2 * theta ** 2 + cv ** 2 * theta * w * (P - 1)) / n
    c3 = w * cv * theta / n
    if teacher_A is None:
        G = kernels.backprop(ZT, P, C1, c2 + c3, np.zeros(M), _NO_T, varrho, q)
    else:
        G = kernels.backprop(ZT, P, C1, c2, c3, teacher_A, varrho, q)
    gW = batch.backward(G)
    gb = None
    if want_b:
        dc = w * np.sum(-theta * (HT * H - cross) + c * theta ** 2 * ((P - 2) * H ** 2 + Q)
                        + c * theta * w * (P - 1) * Q, axis=1) / n
        gb = dc / (theta * P)
    return loss, gW, gb, H
