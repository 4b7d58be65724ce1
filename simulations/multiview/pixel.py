"""Pixel-target MRP (docs/papers/mrp.md §2.5): an auto-encoder that reconstructs the masked patches from the
visible ones.

Encoder (two layers): the ``M = k m`` smoothed-ReLU conv kernels ``w_r`` with sum pooling over the visible
patches, ``h(eps X) = sum_p eps_p a_p``, ``a_p = relu~(W x_p) in R^M``; ``eps_p ~ Bernoulli(theta)`` i.i.d.
(``eps_p = 1`` keeps patch ``p``).  Decoder (one layer): a linear ``U in R^{d x M}``, the same prediction
``U h(eps X)`` for every masked position.  Loss, per sample::

    l(X) = 1/(2P) E_eps sum_p (1 - eps_p) || x_p - U h(eps X) ||^2.

Mask expectation in closed form.  With ``S = sum_q a_q``, ``X_s = sum_p x_p``, ``G = U^T U`` and
``K = sum_p a_p a_p^T``, the Bernoulli moments (derived in ``derivations/mrp_pixel.py``)

    E[1 - eps_p] = 1 - theta,   E[(1 - eps_p) eps_q] = theta (1 - theta) [q != p],
    E[(1 - eps_p) eps_q eps_q'] = (1 - theta) theta^2 [q != q'] + (1 - theta) theta [q = q'], (q, q' != p)

give

    2 P l(X) = c_0 sum_p ||x_p||^2 - 2 c_1 (X_s^T U S - sum_p x_p^T U a_p)
               + c_2 (P - 2) S^T G S + c_K tr(G K),

    c_0 = 1 - theta,  c_1 = theta (1 - theta),  c_2 = (1 - theta) theta^2,
    c_K = (1 - theta) theta^2 + (1 - theta)^2 theta (P - 1)

(``sum_p ||U (S - a_p)||^2 = (P - 2) ||U S||^2 + tr(G K)`` and ``sum_p sum_{q != p} ||U a_q||^2 =
(P - 1) tr(G K)``).  Without masks (the plain auto-encoder of the ablation, every patch reconstructed from
all of them) ``2 P l(X) = sum_p ||x_p||^2 - 2 X_s^T U S + P S^T G S``, i.e. ``c_0 = c_1 = 1``, the
per-patch ``x_p^T U a_p`` term absent, ``(P - 2) c_2 -> P`` and ``c_K = 0``.

Gradients (mean over ``n`` samples, ``L = (1/n) sum_a l(X_a)``)::

    dL/dU     = 1/(nP) [ -c_1 (sum_a X_s S^T - sum_{a,p} x_p a_p^T) + U (c_2 (P-2) sum_a S S^T + c_K sum_{a,p} a_p a_p^T) ]
    dL/da_p   = 1/(nP) [ c_1 U^T (x_p - X_s) + c_2 (P-2) G S + c_K G a_p ]
    dL/dw_r   = sum_{a,p} relu~'(<w_r, x_p>) (dL/da_p)_r x_p.

A step stacks ``[W; U^T]`` into one forward product and ``[dL/dz; A]`` into one backward product (on the
data's exact sparsity, :class:`losses.Batch`); the rest is ``M x M`` work and one fused Numba pass.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from . import kernels, losses
from .train import Run, _check, features_corr


def mask_coefficients(theta: float, P: int, masked: bool = True) -> tuple[float, float, float, float]:
    """``(c_0, c_1, c_2 (P - 2), c_K)`` of the closed-form loss (module docstring); ``masked=False`` gives
    the plain auto-encoder's ``(1, 1, P, 0)``."""
    if not masked:
        return 1.0, 1.0, float(P), 0.0
    w = 1.0 - theta
    return w, theta * w, w * theta ** 2 * (P - 2), w * theta ** 2 + w ** 2 * theta * (P - 1)


@njit(cache=True, nogil=True)
def acts_pool(ZT, P, varrho, q):
    """Per-patch activations ``A = relu~(ZT)`` (M, n P) and their pooled sums ``S[r, a]`` (M, n)."""
    M, nP = ZT.shape
    n = nP // P
    A = np.empty((M, nP))
    S = np.empty((M, n))
    c = varrho / q
    inv = 1.0 / varrho
    for r in range(M):
        for a in range(n):
            s = 0.0
            for i in range(a * P, a * P + P):
                z = ZT[r, i]
                u = min(max(z * inv, 0.0), 1.0)
                v = c * kernels._powi(u, q) + max(z - varrho, 0.0)
                A[r, i] = v
                s += v
            S[r, a] = s
    return A, S


class PixelBatch:
    """The patches of ``n`` samples with the sums a step reuses: ``X_s`` per sample and ``sum ||x_p||^2``."""

    def __init__(self, X: np.ndarray):
        self.batch = losses.Batch(X)
        self.n, self.P, self.d = X.shape
        self.Xs = np.ascontiguousarray(X.sum(axis=1))          # (n, d)
        self.sq = float(np.einsum("npd,npd->", X, X))


def pixel_loss_grad(pb: PixelBatch, W: np.ndarray, U: np.ndarray, theta: float, varrho: float, q: int,
                    masked: bool = True):
    """Closed-form mask-averaged reconstruction loss and its gradients: (loss, grad W, grad U, S).

    ``W`` (M, d) encoder kernels, ``U`` (d, M) decoder; ``S`` (M, n) the pooled activations of the full input.
    """
    q = int(q)
    n, P = pb.n, pb.P
    M = W.shape[0]
    c0, c1, c2p, cK = mask_coefficients(theta, P, masked)
    Z2 = pb.batch.forward(np.vstack([W, U.T]))                 # (2M, nP): <w_r, x_p> and (U^T x_p)_r
    ZT = np.ascontiguousarray(Z2[:M])
    UX = Z2[M:]
    A, S = acts_pool(ZT, P, varrho, q)
    G = U.T @ U
    UXs = U.T @ pb.Xs.T                                          # (M, n)
    GS = G @ S
    GA = G @ A if masked else None
    per_patch = float(np.sum(UX * A)) if masked else 0.0
    K = A @ A.T if masked else None
    SS = S @ S.T
    scale = 1.0 / (n * P)
    loss = 0.5 * scale * (c0 * pb.sq - 2 * c1 * (float(np.sum(UXs * S)) - per_patch)
                          + c2p * float(np.sum(S * GS)) + (cK * float(np.sum(G * K)) if K is not None else 0.0))
    C1 = scale * (-c1 * UXs + c2p * GS)
    if masked:
        AT = scale * (c1 * UX + cK * GA)
        Gz = kernels.backprop(ZT, P, C1, np.zeros(M), np.ones(M), np.ascontiguousarray(AT), varrho, q)
    else:
        Gz = kernels.backprop(ZT, P, C1, np.zeros(M), np.zeros(M), losses._NO_T, varrho, q)
    back = pb.batch.backward(np.vstack([Gz, A]) if masked else Gz)   # rows M..2M: sum_p a_p x_p^T
    gW = back[:M]
    XA = pb.Xs.T @ S.T                                           # sum_a X_s S^T, (d, M)
    if masked:
        XA = XA - back[M:].T
    mix = c2p * SS + (cK * K if K is not None else 0.0)
    gU = scale * (-c1 * XA + U @ mix)
    return loss, gW, gU, S


@dataclass(frozen=True)
class PixelConfig:
    """Pixel-target pretraining settings: encoder ``M`` kernels at init std ``sigma0``, decoder at init std
    ``sigma_dec``, step size ``eta`` for ``T`` steps of full-batch GD, keep probability ``theta``
    (``masked=False``: the plain auto-encoder)."""

    q: int = 3
    varrho: float = 0.1
    theta: float = 0.25
    eta: float = 100.0
    T: int = 150
    masked: bool = True


def pretrain_pixels(X: np.ndarray, cfg: PixelConfig, W0: np.ndarray, U0: np.ndarray, k: int,
                    track_every: int = 1) -> Run:
    """Encoder and decoder trained jointly by exact full-batch GD on the closed-form loss (``T`` steps)."""
    pb = PixelBatch(X)
    W, U = W0.copy(), U0.copy()
    run = Run(W=W, U=U)
    for t in range(cfg.T + 1):
        loss, gW, gU, _ = pixel_loss_grad(pb, W, U, cfg.theta, cfg.varrho, cfg.q, cfg.masked)
        _check(t, "pixel reconstruction loss", loss)
        if t % track_every == 0 or t == cfg.T:
            run.steps.append(t)
            run.loss.append(loss)
            run.corr.append(features_corr(W, k))
        if t == cfg.T:
            break
        W -= cfg.eta * gW
        U -= cfg.eta * gU
        _check(t, "encoder weights", W)
        _check(t, "decoder weights", U)
    run.W, run.U, run.stop_step = W, U, t
    run.extra["w_max"] = float(np.sqrt((W ** 2).sum(axis=1)).max())
    return run


def monte_carlo_loss(X: np.ndarray, W: np.ndarray, U: np.ndarray, theta: float, varrho: float, q: int,
                     draws: int, rng: np.random.Generator) -> tuple[float, float]:
    """The loss averaged over ``draws`` explicit Bernoulli(theta) masks (for tests): (mean, standard error)."""
    n, P, d = X.shape
    A = kernels.smoothed_relu(np.einsum("npd,rd->npr", X, W), varrho, int(q))     # (n, P, M)
    vals = np.empty(draws)
    for j in range(draws):
        eps = (rng.random((n, P)) < theta).astype(float)
        h = np.einsum("np,npr->nr", eps, A)
        pred = h @ U.T                                                           # (n, d)
        err = ((X - pred[:, None, :]) ** 2).sum(axis=2)                          # (n, P)
        vals[j] = 0.5 * np.sum((1 - eps) * err) / (n * P)
    return float(vals.mean()), float(vals.std(ddof=1) / np.sqrt(draws))


def warmup() -> None:
    acts_pool(np.linspace(-0.2, 0.3, 24).reshape(4, 6), 3, 0.1, 3)
