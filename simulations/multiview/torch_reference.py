"""PyTorch-CPU reference of one GD step of SL, MRP and the pixel target, the reference of ``theorycheck bench mrp``.

Each step is the one :mod:`train` and :mod:`pixel` take: the forward pass on the dense layout
``X2`` (``n P`` patches by ``d``, float64), the loss, its gradient by autograd, and the update
``W <- W - eta grad W``.  The mathematics is that of :mod:`losses`:

* SL (AZL network): ``F[a, i] = sum_{r in class i} sum_p relu~(<w_r, x_{a,p}>)``,
  ``L = mean_a CE(F_a, y_a)``;
* MRP (pooled decoder ``b``, fixed teacher ``t``, mask averaged in closed form):
  ``L = 1/(2n) sum_{a,r} [(t_{ra} - b_r theta h_{ra})^2 + b_r^2 theta (1 - theta) sum_p a_{rap}^2]``;
* pixel target (linear decoder ``U``, every masked patch predicted from the visible ones' pooled code):
  the closed form of :func:`pixel.pixel_loss_grad`;

with ``relu~(z) = varrho/q (z/varrho)^q`` on ``[0, varrho]`` and ``z - (1 - 1/q) varrho`` above.
torch is an optional dependency (the ``bench`` extra): :func:`load_torch` returns ``None`` when it is
not installed, and nothing here imports it at module load.
"""
from __future__ import annotations

import numpy as np


_FIRST_THREADS: dict = {}


def load_torch():
    """The ``torch`` module, or ``None`` when it is not installed or cannot load (a CUDA build on a machine
    without the CUDA libraries fails at import)."""
    try:
        import torch
    except (ImportError, OSError):
        return None
    _FIRST_THREADS.setdefault("intra_op", torch.get_num_threads())
    return torch


def default_threads(torch) -> int:
    """torch's intra-op thread count as first seen by :func:`load_torch` (its default: ``OMP_NUM_THREADS`` or the
    physical cores), so that a caller that sets one thread can still time the default."""
    return _FIRST_THREADS.setdefault("intra_op", torch.get_num_threads())


def _act(Z, varrho: float, q: int):
    """``relu~(Z)`` written with clamps so that autograd gives ``relu~'(z) = min(z/varrho, 1)^(q-1)`` on ``z > 0``."""
    u = (Z / varrho).clamp(0.0, 1.0)
    return varrho / q * u ** q + (Z - varrho).clamp(min=0.0)


class TorchStep:
    """One GD step ``theta <- theta - eta grad L(theta)`` on torch leaf tensors, called repeatedly.

    Parameters
    ----------
    torch : module
    loss : callable
        ``loss(*params) -> 0-d tensor``.
    params : sequence of ndarray
        Initial values (copied into float64 tensors).
    eta : float
        Step size.
    """

    def __init__(self, torch, loss, params, eta: float):
        self.torch, self.loss, self.eta = torch, loss, float(eta)
        self.params = [torch.tensor(np.array(p, dtype=np.float64), requires_grad=True) for p in params]

    def __call__(self) -> float:
        """Take one step; returns the loss before it."""
        value = self.loss(*self.params)
        grads = self.torch.autograd.grad(value, self.params)
        with self.torch.no_grad():
            for p, g in zip(self.params, grads):
                p.sub_(g, alpha=self.eta)
        return float(value.detach())

    def weights(self) -> list[np.ndarray]:
        """Current parameter values as NumPy arrays (copies)."""
        return [p.detach().numpy().copy() for p in self.params]


def sl_step(torch, X2, y, W0, k: int, P: int, varrho: float, q: int, eta: float) -> TorchStep:
    """GD step of the AZL network on ``X2`` (``n P`` by ``d``) with labels ``y``, kernels ordered class by class."""
    n, M = len(y), W0.shape[0]
    Xt, yt = torch.from_numpy(np.ascontiguousarray(X2, dtype=np.float64)), torch.from_numpy(np.asarray(y, np.int64))

    def loss(W):
        H = _act((Xt @ W.T).reshape(n, P, M), varrho, q).sum(1)
        F = H.reshape(n, k, M // k).sum(2)
        return torch.nn.functional.cross_entropy(F, yt)

    return TorchStep(torch, loss, [W0], eta)


def mrp_step(torch, X2, n: int, P: int, W0, b, theta: float, varrho: float, q: int, teacher_H,
             eta: float) -> TorchStep:
    """GD step of the encoder under the pooled MRP loss with decoder scales ``b`` (held fixed) against the
    fixed teacher's pooled code ``teacher_H`` of shape (M, n)."""
    M = W0.shape[0]
    Xt = torch.from_numpy(np.ascontiguousarray(X2, dtype=np.float64))
    Tt = torch.from_numpy(np.ascontiguousarray(np.asarray(teacher_H, np.float64).T))
    bt = torch.from_numpy(np.asarray(b, np.float64))

    def loss(W):
        A = _act((Xt @ W.T).reshape(n, P, M), varrho, q)
        H, Q = A.sum(1), (A * A).sum(1)
        return 0.5 * (((Tt - bt * theta * H) ** 2).sum() + (bt ** 2 * theta * (1 - theta) * Q).sum()) / n

    return TorchStep(torch, loss, [W0], eta)


def pixel_step(torch, X, W0, U0, theta: float, varrho: float, q: int, eta: float) -> TorchStep:
    """Joint GD step of encoder ``W`` (M, d) and decoder ``U`` (d, M) under the pixel-target loss averaged over
    the Bernoulli(theta) mask (``X`` of shape (n, P, d)); coefficients of :func:`pixel.mask_coefficients`."""
    n, P, d = X.shape
    M = W0.shape[0]
    X3 = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64))
    Xt, Xs = X3.reshape(n * P, d), X3.sum(1)
    w = 1.0 - theta
    c1, c2p, cK = theta * w, w * theta ** 2 * (P - 2), w * theta ** 2 + w ** 2 * theta * (P - 1)
    sq = float((X3 ** 2).sum())

    def loss(W, U):
        A = _act((Xt @ W.T).reshape(n, P, M), varrho, q)
        US = A.sum(1) @ U.T
        return 0.5 / (n * P) * (w * sq - 2 * c1 * ((Xs * US).sum() - ((X3 @ U) * A).sum())
                                + c2p * (US ** 2).sum() + cK * ((A @ U.T) ** 2).sum())

    return TorchStep(torch, loss, [W0, U0], eta)
