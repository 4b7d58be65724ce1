"""Full-batch gradient descent for SL, MRP pretraining and fine-tuning, with the docs/papers/mrp.md §3 quantities tracked.

Every loop is exact full-batch GD in float64 on the stated loss (the MRP losses in closed form over the
mask).  A NaN/Inf loss or weight raises :class:`FloatingPointError` naming the step and the quantity.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import kernels, losses
from .data import Dataset

TEACHERS = ("ema", "stopgrad", "fixed")
DECODERS = ("fixed", "learned", "ls", "patch")


@dataclass(frozen=True)
class NetConfig:
    """Network and optimiser settings.

    Attributes
    ----------
    m : int
        Kernels per class (the encoder has ``M = k m`` kernels).
    q, varrho : smoothed-ReLU power and threshold.
    sigma0 : float
        Init std of the SL networks (AZL and the same-architecture control).
    sigma0_mrp : float
        Init std of the MRP encoder (the MRP signal is of degree 2q-1 in a correlation, SL's q-1).
    eta, T : step size and step budget of SL and fine-tuning.
    eta_pre, T_pre : step size and step budget of pretraining.
    theta : keep probability of the mask.
    teacher : {"ema", "stopgrad", "fixed"}; tau : EMA rate.
    decoder : {"fixed", "learned", "ls", "patch"}
        Pooled ``b = 1``; pooled ``b_r`` learned by GD; pooled ``b_r`` set to its least-squares optimum at
        every step (exact minimisation over the decoder); per-patch prediction.
    w_cap : float
        Pretraining stops when the largest kernel norm reaches ``w_cap`` (the pooled objective with a
        student-copy teacher has no fixed point).
    """

    m: int = 2
    q: int = 3
    varrho: float = 0.1
    sigma0: float = 1e-3
    sigma0_mrp: float = 0.03
    eta: float = 8.0
    T: int = 400
    eta_pre: float = 1.0
    T_pre: int = 600
    theta: float = 0.25
    teacher: str = "ema"
    tau: float = 0.99
    decoder: str = "fixed"
    w_cap: float = 3.0

    def __post_init__(self):
        if self.teacher not in TEACHERS:
            raise ValueError(f"teacher={self.teacher!r}: expected one of {TEACHERS}")
        if self.decoder not in DECODERS:
            raise ValueError(f"decoder={self.decoder!r}: expected one of {DECODERS}")


def _check(step: int, what: str, value) -> None:
    if not np.all(np.isfinite(value)):
        raise FloatingPointError(f"GD diverged at step {step}: {what} is not finite")


def features_corr(W: np.ndarray, k: int) -> np.ndarray:
    """``C[r, f] = <w_r, v_f>``: the features are the first 2k coordinates."""
    return W[:, : 2 * k].copy()


def capture_sl(C: np.ndarray, k: int) -> np.ndarray:
    """AZL ``Lambda_{i,l} = max_{r in class i} [<w_{i,r}, v_{i,l}>]^+``, shape (k, 2)."""
    m = C.shape[0] // k
    out = np.empty((k, 2))
    for i in range(k):
        out[i] = np.maximum(C[i * m:(i + 1) * m, 2 * i:2 * i + 2].max(axis=0), 0.0)
    return out


def capture_all(C: np.ndarray, k: int) -> np.ndarray:
    """MRP ``Lambda_{i,l} = max_r [<w_r, v_{i,l}>]^+`` over every kernel, shape (k, 2)."""
    return np.maximum(C.max(axis=0), 0.0).reshape(k, 2)


@dataclass
class Run:
    """Result of one GD run: final weights and the tracked trajectory."""

    W: np.ndarray
    steps: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    corr: list = field(default_factory=list)
    stop_step: int = 0
    U: np.ndarray | None = None
    b: np.ndarray | None = None
    extra: dict = field(default_factory=dict)


def init_weights(rng, M: int, d: int, sigma: float) -> np.ndarray:
    return sigma * rng.standard_normal((M, d))


def train_sl(data: Dataset, net: NetConfig, W0: np.ndarray, k: int, stop_at: str | None = "fit",
             track_every: int = 1) -> Run:
    """GD on the AZL network for at most ``net.T`` steps.

    ``stop_at="fit"`` stops at the first step of 100 % training accuracy; ``"multi"`` at the first step
    at which every multi-view training sample is classified correctly (the end of AZL's feature-learning
    phase, before the single-view samples are memorised); ``"learned"`` at the first step at which, in
    addition, every class has captured a view (``max_{r,l} <w_{i,r}, v_{i,l}> >= varrho`` for every i);
    ``None`` runs all ``T`` steps.
    """
    if stop_at not in ("fit", "multi", "learned", None):
        raise ValueError(f"stop_at={stop_at!r}: expected 'fit', 'multi', 'learned' or None")
    batch = losses.Batch(data.X)
    W = W0.copy()
    run = Run(W=W)
    multi = ~data.single
    for t in range(net.T + 1):
        loss, g, F, correct = losses.azl_loss_grad(batch, data.y, W, k, net.varrho, net.q)
        _check(t, "SL loss", loss)
        acc = correct / data.n
        if stop_at in ("multi", "learned"):
            hit = bool(np.all(F[multi].argmax(axis=1) == data.y[multi]))
            if hit and stop_at == "learned":
                hit = bool(np.all(capture_sl(features_corr(W, k), k).max(axis=1) >= net.varrho))
        else:
            hit = stop_at == "fit" and correct == data.n
        if t % track_every == 0 or hit or t == net.T:
            run.steps.append(t)
            run.loss.append(loss)
            run.train_acc.append(acc)
            run.corr.append(features_corr(W, k))
        if hit or t == net.T:
            break
        W -= net.eta * g
        _check(t, "SL weights", W)
    run.W, run.stop_step = W, t
    run.extra["fitted"] = bool(hit)
    return run


def train_head(data: Dataset, net: NetConfig, W0: np.ndarray, U0: np.ndarray, k: int,
               train_encoder: bool = True, stop_at_fit: bool = False, track_every: int = 10) -> Run:
    """GD on the linear-head network ``F = H U^T`` (fine-tuning, linear probe, or the SL control)."""
    batch = losses.Batch(data.X)
    W, U = W0.copy(), U0.copy()
    run = Run(W=W, U=U)
    for t in range(net.T + 1):
        loss, gW, gU, F, correct = losses.head_loss_grad(batch, data.y, W, U, net.varrho, net.q, train_encoder)
        _check(t, "fine-tuning loss", loss)
        acc = correct / data.n
        if t % track_every == 0 or t == net.T:
            run.steps.append(t)
            run.loss.append(loss)
            run.train_acc.append(acc)
            run.corr.append(features_corr(W, k))
        if (stop_at_fit and acc == 1.0) or t == net.T:
            break
        U -= net.eta * gU
        if train_encoder:
            W -= net.eta * gW
            _check(t, "encoder weights", W)
        _check(t, "head weights", U)
    run.W, run.U, run.stop_step = W, U, t
    return run


def pretrain_mrp(data: Dataset, net: NetConfig, W0: np.ndarray, k: int, track_every: int = 5,
                 teacher_W: np.ndarray | None = None) -> Run:
    """MRP pretraining (docs/papers/mrp.md §2.3) with the named teacher and decoder; returns the encoder run.

    The teacher starts as a copy of the student (or ``teacher_W`` for the fixed random teacher); with
    ``teacher="stopgrad"`` its forward pass is the student's own.  Pretraining stops after ``T_pre`` steps
    or when the largest kernel norm reaches ``w_cap``.
    """
    batch = losses.Batch(data.X)
    W = W0.copy()
    WT = (W0 if teacher_W is None else teacher_W).copy()
    b = np.ones(W.shape[0])
    learn_b = net.decoder == "learned"
    ls_b = net.decoder == "ls"
    patch = net.decoder == "patch"
    q = int(net.q)
    run = Run(W=W, b=b)

    def teacher_target():
        if patch:
            return losses.patch_acts(batch, WT, net.varrho, q)
        return losses.encode(batch, WT, net.varrho, q)

    fixed_target = teacher_target() if net.teacher == "fixed" else None
    for t in range(net.T_pre + 1):
        if net.teacher == "stopgrad":
            target = None
        elif net.teacher == "fixed":
            target = fixed_target
        else:
            target = teacher_target()
        if ls_b:
            ZT = losses.preact(batch, W)
            H, Q = kernels.pool(ZT, batch.P, net.varrho, q)
            b = losses.mrp_pooled_optimal_scale(H, Q, net.theta, target)
        if patch:
            loss, gW, gb, H = losses.mrp_patch_loss_grad(batch, W, b, net.theta, net.varrho, q,
                                                         teacher_A=target, want_b=False)
        else:
            loss, gW, gb, H = losses.mrp_pooled_loss_grad(batch, W, b, net.theta, net.varrho, q,
                                                          teacher_H=target, want_b=learn_b)
        _check(t, "MRP loss", loss)
        wmax = float(np.sqrt((W ** 2).sum(axis=1)).max())
        done = t == net.T_pre or wmax >= net.w_cap
        if t % track_every == 0 or done:
            run.steps.append(t)
            run.loss.append(loss)
            run.corr.append(features_corr(W, k))
        if done:
            break
        W -= net.eta_pre * gW
        _check(t, "MRP encoder weights", W)
        if learn_b:
            b = b - net.eta_pre * gb
            _check(t, "decoder scale b", b)
        if net.teacher == "ema":
            WT = net.tau * WT + (1 - net.tau) * W
    run.W, run.b, run.stop_step = W, b, t
    run.extra["w_max"] = wmax
    return run


# --------------------------------------------------------------------------- evaluation
def encoder_features(X: np.ndarray, W: np.ndarray, varrho: float, q: int, batch: int = 512) -> np.ndarray:
    """``H(X)`` in batches, shape (n, M)."""
    n = X.shape[0]
    out = np.empty((n, W.shape[0]))
    for a in range(0, n, batch):
        out[a:a + batch] = losses.encode(losses.Batch(X[a:a + batch]), W, varrho, q).T
    return out


def azl_predict(X, W, k, net: NetConfig) -> np.ndarray:
    return losses.azl_logits(encoder_features(X, W, net.varrho, net.q).T, k)


def head_predict(X, W, U, net: NetConfig) -> np.ndarray:
    return encoder_features(X, W, net.varrho, net.q) @ U.T


def accuracy(F: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(F.argmax(axis=1) == y))


def purity_ratios(C: np.ndarray, threshold: float) -> np.ndarray:
    """For kernels whose largest feature correlation is >= threshold: 2nd largest / largest."""
    top = np.sort(C, axis=1)[:, ::-1]
    keep = top[:, 0] >= threshold
    return np.maximum(top[keep, 1], 0.0) / top[keep, 0]


def max_noise_corr(data: Dataset, W: np.ndarray, k: int, m: int | None = None,
                   only_single: bool = True) -> float:
    """``max |<w_r, xi_p>|`` over patches of (single-view) training samples, xi_p's part off span(V).

    With ``m`` given (AZL network) only the kernels of the sample's own class count.
    """
    sel = data.single if only_single else np.ones(data.n, bool)
    if not np.any(sel):
        return 0.0
    Xi = data.X[sel][:, :, 2 * k:]
    G = np.einsum("npd,rd->npr", Xi, W[:, 2 * k:])
    if m is None:
        return float(np.abs(G).max())
    ys = data.y[sel]
    return float(max(np.abs(G[a][:, ys[a] * m:(ys[a] + 1) * m]).max() for a in range(len(ys))))
