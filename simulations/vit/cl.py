"""Contrastive objective: InfoNCE between two masked views of the same images, pooled attention output.

Each image :math:`i` of a fixed batch of :math:`B` is seen through two independent masks.  A view's
representation is :math:`g(\\tilde X)=\\sum_p\\omega_p F_p(\\tilde X;Q)` with pooling weights :math:`\\omega`
(``"mean"``: :math:`1/P`, the spec's choice; ``"masked"``: :math:`1/|\\mathcal M|` on masked patches;
``"visible"``: :math:`1/|\\mathcal U|` on visible patches).  The loss, with temperature :math:`\\tau` and
the other images' second views as negatives, is

.. math::  \\mathcal L_{\\rm CL}=\\frac1B\\sum_{i=1}^B\\Big[-\\frac{\\langle g_i^{(1)},g_i^{(2)}\\rangle}{\\tau}
           +\\log\\sum_{j=1}^B\\exp\\frac{\\langle g_i^{(1)},g_j^{(2)}\\rangle}{\\tau}\\Big].
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import Batch
from .kernels import pooled_backward, pooled_forward
from .mae import zero_params

POOLINGS = ("mean", "masked", "visible")


def pooling_weights(batch: Batch, mode: str = "mean") -> np.ndarray:
    """Pooling weights ``omega[s, p]`` of every sample."""
    n, P = batch.masked.shape
    if mode == "mean":
        return np.full((n, P), 1.0 / P)
    if mode in ("masked", "visible"):
        sel = (batch.masked == 1) if mode == "masked" else (batch.masked == 0)
        cnt = sel.sum(axis=1, keepdims=True)
        return np.where(sel, 1.0 / np.maximum(cnt, 1), 0.0)
    raise ValueError(f"pooling must be one of {POOLINGS}, got {mode!r}")


def info_nce(G: np.ndarray, tau: float) -> tuple[float, np.ndarray]:
    """InfoNCE loss of representations ``G`` (rows ``0..B-1`` first views, ``B..2B-1`` second views)
    and its gradient ``dL/dG``."""
    B = G.shape[0] // 2
    G1, G2 = G[:B], G[B:]
    L = G1 @ G2.T / tau
    mx = L.max(axis=1, keepdims=True)
    E = np.exp(L - mx)
    Z = E.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(Z[:, 0]) + mx[:, 0] - np.diag(L)))
    D = (E / Z - np.eye(B)) / B
    dG = np.empty_like(G)
    dG[:B] = D @ G2 / tau
    dG[B:] = D.T @ G1 / tau
    return loss, dG


def pooled(phi, ups, batch: Batch, pool: np.ndarray):
    """Pooled representations ``(n, F)`` and the mean area attention ``(K, P, N)`` of pooled queries."""
    g = batch.geometry
    G = np.zeros((batch.n, g.n_features))
    acc = np.zeros((g.K, g.P, g.n_areas))
    cnt = np.zeros((g.K, g.P))
    pooled_forward(phi, ups, batch.key_code, batch.z_area, batch.cluster, pool, g.n_areas, batch.masked_in,
                   G, acc, cnt)
    with np.errstate(invalid="ignore", divide="ignore"):
        return G, acc / cnt[:, :, None]


@dataclass
class CLState:
    loss: float
    grad_phi: np.ndarray
    grad_ups: np.ndarray
    area: np.ndarray     # (K, P, N) mean area attention of query p over pooled samples of cluster k


def cl_evaluate(phi, ups, batch: Batch, pool: np.ndarray, tau: float) -> CLState:
    """InfoNCE loss, its exact gradient in (Phi, Upsilon) and the area attention."""
    g = batch.geometry
    G, area = pooled(phi, ups, batch, pool)
    loss, dG = info_nce(G, tau)
    gphi = np.zeros_like(phi)
    gups = np.zeros_like(ups)
    pooled_backward(phi, ups, batch.key_code, batch.z_area, batch.cluster, pool, g.n_areas, batch.masked_in,
                    np.ascontiguousarray(dG), gphi, gups)
    return CLState(loss, gphi, gups, area)


@dataclass
class CLTrajectory:
    """Per-step record of a CL run: loss, global-area and own-area attention ``(T+1, K, P)``."""

    eta: float
    loss: np.ndarray
    glob: np.ndarray
    own: np.ndarray
    max_phi: np.ndarray
    max_ups: np.ndarray
    is_local: np.ndarray
    area: np.ndarray          # final (K, P, N) area attention
    phi: np.ndarray
    ups: np.ndarray

    def min_global_local(self) -> np.ndarray:
        """Per step: the minimum over local queries of global-area attention."""
        return np.nanmin(self.glob[:, self.is_local], axis=1)

    def mean_own_local(self) -> np.ndarray:
        return np.nanmean(self.own[:, self.is_local], axis=1)


def run_cl(batch: Batch, eta: float, steps: int, tau: float = 0.5, pooling: str = "mean") -> CLTrajectory:
    """Full-batch GD on the InfoNCE loss from zero parameters for ``steps`` steps.

    Raises
    ------
    FloatingPointError
        When the loss or a parameter becomes NaN or infinite (naming the step and the quantity).
    """
    g = batch.geometry
    pool = pooling_weights(batch, pooling)
    phi, ups = zero_params(batch)
    kk, pp = np.meshgrid(np.arange(g.K), np.arange(g.P), indexing="ij")
    losses, globs, owns, mphi, mups = [], [], [], [], []
    for t in range(steps + 1):
        st = cl_evaluate(phi, ups, batch, pool, tau)
        if not np.isfinite(st.loss):
            raise FloatingPointError(f"CL loss is {st.loss} at step {t}")
        losses.append(st.loss)
        globs.append(st.area[:, :, 0])
        owns.append(st.area[kk, pp, g.area])
        mphi.append(np.max(np.abs(phi)))
        mups.append(np.max(np.abs(ups)))
        if t == steps:
            break
        phi -= eta * st.grad_phi
        ups -= eta * st.grad_ups
        if not (np.all(np.isfinite(phi)) and np.all(np.isfinite(ups))):
            raise FloatingPointError(f"CL parameters (Phi, Upsilon) became non-finite at step {t + 1}")
    return CLTrajectory(eta, np.array(losses), np.array(globs), np.array(owns), np.array(mphi), np.array(mups),
                        g.is_local, st.area, phi, ups)
