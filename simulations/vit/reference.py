"""Plain NumPy (and optional PyTorch) implementations of one MAE gradient step, for benchmarking.

Both evaluate every (sample, query, key) score as a dense ``(n, P, P)`` tensor and use one-hot feature
maps, the way the model is usually written without the area factorisation of :mod:`.kernels`.
"""
from __future__ import annotations

import time

import numpy as np

from .data import Batch, mae_batch
from .geometry import Geometry
from .mae import mae_evaluate, zero_params


def _one_hot(batch: Batch) -> np.ndarray:
    F = batch.geometry.n_features
    return np.eye(F)[batch.key_feature]                     # (n, P, F)


def mae_loss_grad_numpy(phi, ups, batch: Batch, onehot=None):
    """MAE loss and gradient in (Phi, Upsilon) with dense (n, P, P) tensors."""
    oh = _one_hot(batch) if onehot is None else onehot
    w = batch.key_value                                      # (n, P)
    n = batch.n
    S = ups[None] + w[:, None, :] * np.transpose(phi[:, batch.key_feature], (1, 0, 2))
    if not batch.masked_in:
        S = np.where(batch.masked[:, None, :] == 1, -np.inf, S)
    S -= S.max(axis=2, keepdims=True)
    a = np.exp(S)
    a /= a.sum(axis=2, keepdims=True)
    aw = a * w[:, None, :]
    Fo = aw @ oh                                             # (n, P, F)
    X = oh * batch.target_value[:, :, None]
    m = batch.masked[:, :, None].astype(float)
    R = m * (Fo - X)
    loss = 0.5 * float(np.sum(R * (Fo - X))) / n
    dA = (R @ np.transpose(oh, (0, 2, 1))) * w[:, None, :]
    dS = a * (dA - np.sum(a * dA, axis=2, keepdims=True))
    gups = dS.sum(axis=0) / n
    gphi = np.einsum("spq,sqf->pf", dS * w[:, None, :], oh, optimize=True) / n
    return loss, gphi, gups


def mae_loss_grad_torch(phi, ups, batch: Batch):
    """The same step in PyTorch on the CPU (autograd for the gradient); ``None`` when torch is absent."""
    try:
        import torch
    except ImportError:
        return None
    tphi = torch.tensor(phi, dtype=torch.float64, requires_grad=True)
    tups = torch.tensor(ups, dtype=torch.float64, requires_grad=True)
    kf = torch.as_tensor(batch.key_feature)
    w = torch.as_tensor(batch.key_value)
    oh = torch.nn.functional.one_hot(kf, batch.geometry.n_features).to(torch.float64)
    S = tups[None] + w[:, None, :] * tphi[:, kf].permute(1, 0, 2)
    a = torch.softmax(S, dim=2)
    Fo = (a * w[:, None, :]) @ oh
    X = oh * torch.as_tensor(batch.target_value)[:, :, None]
    m = torch.as_tensor(batch.masked, dtype=torch.float64)[:, :, None]
    loss = 0.5 * torch.sum(m * (Fo - X) ** 2) / batch.n
    loss.backward()
    return float(loss.detach()), tphi.grad.numpy(), tups.grad.numpy()


def _best_of(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_rows(quick: bool) -> list[dict]:
    """One MAE GD step (loss + exact gradient) at the full-tier size (P = 64, K = 2, 256 masks per image),
    timed for the Numba kernel, plain NumPy and PyTorch-CPU in the same run (best of several repeats)."""
    P, C1, C, masks = (16, 8, 2, 32) if quick else (64, 32, 4, 256)
    g = Geometry(P, C1, C, 2)
    b = mae_batch(g, masks, 0.5, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    phi = 0.5 * rng.standard_normal((P, g.n_features))
    ups = 0.1 * rng.standard_normal((P, P))
    oh = _one_hot(b)
    reps = 3 if quick else 10
    mae_evaluate(phi, ups, b)
    t_kernel = _best_of(lambda: mae_evaluate(phi, ups, b), reps)
    t_numpy = _best_of(lambda: mae_loss_grad_numpy(phi, ups, b, oh), reps)
    t_torch = None
    if mae_loss_grad_torch(phi, ups, b) is not None:
        t_torch = _best_of(lambda: mae_loss_grad_torch(phi, ups, b), reps)
    return [{"case": f"mae_step P={P} K=2 masks={masks}", "seconds": t_kernel,
             "numpy_seconds": t_numpy, "torch_seconds": t_torch,
             "ratio_vs_numpy": t_numpy / t_kernel,
             "ratio_vs_torch": None if t_torch is None else t_torch / t_kernel}]
