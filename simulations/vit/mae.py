"""Masked-autoencoder objective and its exact full-batch gradient descent from zero initialisation.

.. math::  \\mathcal L_{\\rm MAE}(\\Phi,\\Upsilon)=\\frac1n\\sum_{s=1}^n\\frac12\\sum_{p\\in\\mathcal M_s}
           \\|F_p(\\tilde X_s)-X_{s,p}\\|_2^2 ,

the mean over a fixed finite set of (image, mask) samples, and GD
:math:`(\\Phi,\\Upsilon)\\leftarrow(\\Phi,\\Upsilon)-\\eta\\nabla\\mathcal L` from :math:`\\Phi=\\Upsilon=0`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import Batch
from .kernels import mae_loss_grad, pooled_forward


@dataclass
class MAEState:
    """Loss, gradient and attention statistics at one parameter point."""

    loss: float
    grad_phi: np.ndarray
    grad_ups: np.ndarray
    own: np.ndarray      # (K, P) conditional mean own-area attention of masked query p (nan if never)
    glob: np.ndarray     # (K, P) conditional mean global-area attention


def zero_params(batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    g = batch.geometry
    return np.zeros((g.P, g.n_features)), np.zeros((g.P, g.P))


def mae_evaluate(phi: np.ndarray, ups: np.ndarray, batch: Batch) -> MAEState:
    """Loss, exact gradient and conditional area attention (one fused pass over the samples)."""
    g = batch.geometry
    gphi = np.zeros_like(phi)
    gups = np.zeros_like(ups)
    own = np.zeros((g.K, g.P))
    glob = np.zeros((g.K, g.P))
    cnt = np.zeros((g.K, g.P))
    loss = mae_loss_grad(phi, ups, batch.key_code, batch.masked, batch.z_area, batch.cluster,
                         batch.key_feature, batch.own_visible, g.n_areas, batch.masked_in,
                         gphi, gups, own, glob, cnt)
    with np.errstate(invalid="ignore", divide="ignore"):
        return MAEState(loss, gphi, gups, own / cnt, glob / cnt)


def optimal_loss(batch: Batch) -> float:
    """Infimum of the finite-sample MAE loss: masked patches whose area has no other visible patch.

    All other masked patches can put all their attention on visible patches of their own area (exact
    reconstruction); the rest are best predicted by ``F_p = 0`` (attention on masked keys only), which
    costs ``z_p^2 / 2``.  The infimum is approached as ``|Phi| -> inf``.
    """
    lost = (batch.masked == 1) & (batch.own_visible == 0)
    return 0.5 * float(np.sum(lost * batch.target_value ** 2)) / batch.n


def mean_area_attention(phi, ups, batch: Batch, rows=None) -> np.ndarray:
    """Mean area attention ``(K, P, N)`` of query ``p`` over samples with ``rows[s, p]``.

    ``rows`` defaults to the MAE conditioning (``p`` masked, another patch of its area visible).
    """
    g = batch.geometry
    rows = batch.own_visible if rows is None else np.ascontiguousarray(rows, dtype=np.uint8)
    acc = np.zeros((g.K, g.P, g.n_areas))
    cnt = np.zeros((g.K, g.P))
    G = np.zeros((batch.n, g.n_features))
    pooled_forward(phi, ups, batch.key_code, batch.z_area, batch.cluster, rows.astype(float), g.n_areas,
                   batch.masked_in, G, acc, cnt)
    with np.errstate(invalid="ignore", divide="ignore"):
        return acc / cnt[:, :, None]


@dataclass
class MAETrajectory:
    """Per-step record of an MAE run (index t = parameters after t steps).

    Attributes
    ----------
    loss, loss_opt : loss per step and the finite-sample infimum
    own, glob : (T+1, K, P) conditional mean own-area / global-area attention
    phi_target, phi_global : (T+1, K, P) ``Phi[p, f_k(b(p))]`` and ``Phi[p, f_k(0)]``
    max_phi, max_ups : (T+1,) ``max |Phi|``, ``max |Upsilon|``
    is_local : (K, P) query ``p`` lies in a local area of cluster ``k``
    t_star_local, t_star_global : first step at which every local (global) query reaches own-area attention
        ``>= 1 - eps`` (None if not within the budget)
    phi, ups : final parameters
    """

    eta: float
    eps: float
    loss: np.ndarray
    loss_opt: float
    own: np.ndarray
    glob: np.ndarray
    phi_target: np.ndarray
    phi_global: np.ndarray
    max_phi: np.ndarray
    max_ups: np.ndarray
    is_local: np.ndarray
    t_star_local: int | None
    t_star_global: int | None
    phi: np.ndarray
    ups: np.ndarray

    @property
    def steps(self) -> int:
        return self.loss.shape[0] - 1

    def min_own(self, local: bool = True) -> np.ndarray:
        """Per step: the minimum over (local or global) queries of own-area attention."""
        sel = self.is_local if local else ~self.is_local
        return np.nanmin(self.own[:, sel], axis=1)

    def local_mean(self, x: np.ndarray) -> np.ndarray:
        """Per step: the mean of a (T+1, K, P) record over local queries."""
        return np.nanmean(x[:, self.is_local], axis=1)

    def t_star(self) -> int | None:
        """Steps until every query (local and global) reaches own-area attention ``>= 1 - eps``."""
        if self.t_star_local is None or self.t_star_global is None:
            return None
        return max(self.t_star_local, self.t_star_global)

    def first_step(self, series: np.ndarray, level: float) -> int | None:
        hit = np.nonzero(series >= level)[0]
        return int(hit[0]) if hit.size else None

    def t2(self) -> int | None:
        """End of phase II: first step at which every local query has own-area attention ``>= 1/2``."""
        return self.first_step(self.min_own(True), 0.5)

    def t1(self) -> int | None:
        """End of phase I: first step at which the mean target-FP increment of local queries is at least
        the magnitude of the mean global-FP increment (0 when it already is at the first step)."""
        dt = np.abs(np.diff(self.local_mean(self.phi_target)))
        dg = np.abs(np.diff(self.local_mean(self.phi_global)))
        hit = np.nonzero(dt >= dg)[0]
        return int(hit[0]) if hit.size else None


def _record_phi(phi, batch):
    g = batch.geometry
    rows = np.arange(g.P)
    tgt = np.stack([phi[rows, g.feature[k]] for k in range(g.K)])
    glb = np.stack([phi[rows, g.global_feature(k)] for k in range(g.K)])
    return tgt, glb


def run_mae(batch: Batch, eta: float, max_steps: int, eps: float = 0.1, extra_steps: int = 0,
            phi0=None, ups0=None) -> MAETrajectory:
    """Full-batch GD on the MAE loss from zero (or given) parameters.

    Stops ``extra_steps`` after every local and global query has reached own-area attention
    ``>= 1 - eps``, or after ``max_steps``.

    Raises
    ------
    FloatingPointError
        When the loss or a parameter becomes NaN or infinite (naming the step and the quantity).
    """
    g = batch.geometry
    phi, ups = zero_params(batch) if phi0 is None else (phi0.copy(), ups0.copy())
    is_local = g.is_local
    losses, owns, globs, tgts, glbs, mphi, mups = [], [], [], [], [], [], []
    t_loc = t_glo = None
    stop_at = max_steps
    for t in range(max_steps + 1):
        st = mae_evaluate(phi, ups, batch)
        if not np.isfinite(st.loss):
            raise FloatingPointError(f"MAE loss is {st.loss} at step {t}")
        losses.append(st.loss)
        owns.append(st.own)
        globs.append(st.glob)
        tg, gl = _record_phi(phi, batch)
        tgts.append(tg)
        glbs.append(gl)
        mphi.append(np.max(np.abs(phi)))
        mups.append(np.max(np.abs(ups)))
        if t_loc is None and np.nanmin(st.own[is_local]) >= 1 - eps:
            t_loc = t
        if t_glo is None and np.nanmin(st.own[~is_local]) >= 1 - eps:
            t_glo = t
        if t_loc is not None and t_glo is not None and stop_at == max_steps:
            stop_at = min(max_steps, t + extra_steps)
        if t >= stop_at:
            break
        phi -= eta * st.grad_phi
        ups -= eta * st.grad_ups
        if not (np.all(np.isfinite(phi)) and np.all(np.isfinite(ups))):
            raise FloatingPointError(f"MAE parameters (Phi, Upsilon) became non-finite at step {t + 1}")
    return MAETrajectory(eta, eps, np.array(losses), optimal_loss(batch), np.array(owns), np.array(globs),
                         np.array(tgts), np.array(glbs), np.array(mphi), np.array(mups), is_local,
                         t_loc, t_glo, phi, ups)
