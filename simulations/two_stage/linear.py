r"""Two-stage estimators of the linear-Gaussian case studies (docs/papers/two_stage.md §3a spectral, §3b factor model).

Both tasks are jointly Gaussian: :math:`x\sim N(0,\Sigma)` and :math:`y = \theta^{\star\top}x + \epsilon` with
:math:`\epsilon\sim N(0,\sigma^2_{\rm res})` independent of ``x``.  They differ in how the data are generated
(3b draws the latent ``z`` and labels from it) and in the representation:

* ``"pca"`` (3a): :math:`\phi(x) = \hat U^\top x`, ``U_hat`` the top-``r`` eigenvectors of
  :math:`\hat\Sigma = \frac1m\sum_i z_iz_i^\top`;
* ``"factor_posterior"`` (3b): Gaussian MLE of the factor model (Tipping-Bishop):
  :math:`\hat B = \hat U(\hat\Lambda_r - \hat s^2I)^{1/2}` with :math:`\hat s^2` the mean of the ``d - r``
  smallest sample eigenvalues, and the posterior-mean representation
  :math:`\hat\phi(x) = (\hat B^\top\hat B + \hat s^2I)^{-1}\hat B^\top x = \hat\Lambda_r^{-1}(\hat\Lambda_r-\hat s^2)^{1/2}\hat U^\top x`.

Either way :math:`\phi(x) = M^\top x` for a ``d x r`` matrix ``M``; the head is OLS without intercept on
``n`` fresh labelled points, and the excess risk is exact:
:math:`\mathcal E = (M\hat w-\theta^\star)^\top\Sigma(M\hat w-\theta^\star)`.  Its parts are the approximation
error :math:`a(M) = \min_w (Mw-\theta^\star)^\top\Sigma(Mw-\theta^\star)` (representation term) and the head
part :math:`\mathcal E - a(M)`.

Samplers
--------
``"data"`` draws the ``m`` and ``n`` points.  ``"wishart"`` draws what the estimators see of them, exactly
in law: the scatter matrix :math:`m\hat\Sigma\sim W_d(m,\Sigma)`, and, given ``M`` (the downstream sample is
independent of the pre-training sample), :math:`[\Phi\ y]^\top[\Phi\ y]\sim W_{r+1}(n,\Sigma_{\phi y})`
with :math:`\Sigma_{\phi y} = \begin{pmatrix}M^\top\Sigma M & M^\top\Sigma\theta^\star\\ \cdot &
\theta^{\star\top}\Sigma\theta^\star+\sigma^2_{\rm res}\end{pmatrix}`.  Its cost does not grow with ``n, m``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from numba import njit

from .wishart import wishart

REPRESENTATIONS = ("pca", "factor_posterior")
SAMPLERS = ("wishart", "data")
_DATA_CHUNK_DOUBLES = 4_000_000


@dataclass(frozen=True)
class LinearTask:
    """A jointly Gaussian two-stage task.

    Attributes
    ----------
    sigma : ndarray (d, d)
        Covariance of ``x`` (pre-training and downstream marginals are equal).
    theta : ndarray (d,)
        :math:`\\theta^\\star` with :math:`f^\\star(x) = \\theta^{\\star\\top}x = \\mathbb E[y|x]`.
    resid_var : float
        :math:`\\mathrm{Var}(y - f^\\star(x))` (independent of ``x``).
    r : int
        Representation dimension.
    representation : {"pca", "factor_posterior"}
    draw_x : callable
        ``draw_x(rng, reps, size) -> X`` of shape ``(reps, size, d)`` (unlabelled data).
    draw_xy : callable
        ``draw_xy(rng, reps, size) -> (X, y)`` (labelled data).
    """

    sigma: np.ndarray
    theta: np.ndarray
    resid_var: float
    r: int
    representation: str
    draw_x: Callable
    draw_xy: Callable

    @property
    def d(self) -> int:
        return self.sigma.shape[0]


def spectral_task(eigenvalues, r: int, beta, noise_var: float, basis=None) -> LinearTask:
    r"""3a: :math:`\Sigma = Q\,\mathrm{diag}(\lambda)Q^\top`, :math:`y = \beta^{\star\top}U^{\star\top}x + \varepsilon`.

    ``basis`` is the orthogonal ``Q`` (default identity, i.e. coordinates in the eigenbasis); its first
    ``r`` columns are :math:`U^\star`.
    """
    lam = np.asarray(eigenvalues, float)
    d = lam.size
    Q = np.eye(d) if basis is None else np.asarray(basis, float)
    sqrt_lam = np.sqrt(lam)
    theta = Q[:, :r] @ np.asarray(beta, float)
    sd = float(np.sqrt(noise_var))
    diagonal = basis is None

    def draw_x(rng, reps, size):
        xi = rng.standard_normal((reps, size, d)) * sqrt_lam
        return xi if diagonal else xi @ Q.T

    def draw_xy(rng, reps, size):
        X = draw_x(rng, reps, size)
        return X, X @ theta + sd * rng.standard_normal((reps, size))

    return LinearTask((Q * lam) @ Q.T, theta, float(noise_var), int(r), "pca", draw_x, draw_xy)


def factor_task(B, s2: float, beta, noise_var: float) -> LinearTask:
    r"""3b: :math:`x = Bz + e`, :math:`z\sim N(0,I_r)`, :math:`e\sim N(0,s^2I_d)`, :math:`y = \beta^\top z + \nu`.

    :math:`\theta^\star = B(B^\top B+s^2I)^{-1}\beta` and
    :math:`\sigma^2_{\rm res} = \sigma_\nu^2 + \beta^\top(I+B^\top B/s^2)^{-1}\beta` (Gaussian conditioning).
    """
    B = np.asarray(B, float)
    d, r = B.shape
    beta = np.asarray(beta, float)
    BtB = B.T @ B
    theta = B @ np.linalg.solve(BtB + s2 * np.eye(r), beta)
    resid = float(noise_var + beta @ np.linalg.solve(np.eye(r) + BtB / s2, beta))
    s, sd = float(np.sqrt(s2)), float(np.sqrt(noise_var))

    def draw_x(rng, reps, size):
        z = rng.standard_normal((reps, size, r))
        return z @ B.T + s * rng.standard_normal((reps, size, d))

    def draw_xy(rng, reps, size):
        z = rng.standard_normal((reps, size, r))
        X = z @ B.T + s * rng.standard_normal((reps, size, d))
        return X, z @ beta + sd * rng.standard_normal((reps, size))

    return LinearTask(B @ B.T + s2 * np.eye(d), theta, resid, r, "factor_posterior", draw_x, draw_xy)


# ---------------------------------------------------------------------------------------- stages
@njit(cache=True, nogil=True)
def batched_eigh(S):
    """Eigen-decomposition of each symmetric ``S[t]`` (ascending eigenvalues), like ``numpy.linalg.eigh``.

    One LAPACK call per matrix from compiled code: NumPy's batched ``eigh`` lets a threaded BLAS
    oversubscribe a loaded machine on ``30 x 30`` matrices (tens of times slower).
    """
    R, d, _ = S.shape
    vals = np.empty((R, d))
    vecs = np.empty((R, d, d))
    for t in range(R):
        v, u = np.linalg.eigh(S[t])
        vals[t] = v
        vecs[t] = u
    return vals, vecs


def _chunks(reps: int, size: int, d: int):
    step = max(1, _DATA_CHUNK_DOUBLES // max(1, size * d))
    for start in range(0, reps, step):
        yield min(step, reps - start)


def pretrain_covariance(task: LinearTask, m: int, reps: int, rng, sampler: str = "wishart") -> np.ndarray:
    r"""``reps`` draws of the uncentred sample covariance :math:`\hat\Sigma = \frac1m\sum_i z_iz_i^\top`."""
    if sampler == "wishart":
        return wishart(rng, m, np.linalg.cholesky(task.sigma), reps) / m
    if sampler != "data":
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    parts = []
    for c in _chunks(reps, m, task.d):
        X = task.draw_x(rng, c, m)
        parts.append(np.swapaxes(X, 1, 2) @ X / m)
    return np.concatenate(parts)


def representation_map(task: LinearTask, sigma_hat: np.ndarray) -> np.ndarray:
    r"""The map ``M`` (``reps x d x r``) with :math:`\phi(x) = M^\top x` fitted from :math:`\hat\Sigma`."""
    r = task.r
    vals, vecs = batched_eigh(np.ascontiguousarray(sigma_hat))      # ascending
    U = vecs[..., ::-1][..., :r]
    if task.representation == "pca":
        return U
    if task.representation != "factor_posterior":
        raise ValueError(f"representation must be one of {REPRESENTATIONS}")
    top = vals[..., ::-1][..., :r]
    s2_hat = vals[..., :-r].mean(axis=-1)
    if np.any(top[..., -1] <= s2_hat):
        raise FloatingPointError("factor MLE: a sample top-r eigenvalue does not exceed the noise estimate s2_hat")
    scale = np.sqrt(top - s2_hat[..., None]) / top
    return U * scale[..., None, :]


def fit_head(task: LinearTask, M: np.ndarray, n: int, rng, sampler: str = "wishart") -> np.ndarray:
    r"""OLS head (no intercept) on ``n`` fresh labelled points, one per representation ``M[t]``."""
    reps, d, r = M.shape
    if sampler == "wishart":
        SM = task.sigma @ M
        joint = np.empty((reps, r + 1, r + 1))
        joint[:, :r, :r] = np.swapaxes(M, 1, 2) @ SM
        cross = np.swapaxes(SM, 1, 2) @ task.theta
        joint[:, :r, r] = cross
        joint[:, r, :r] = cross
        joint[:, r, r] = task.theta @ task.sigma @ task.theta + task.resid_var
        W = wishart(rng, n, np.linalg.cholesky(joint))
        return np.linalg.solve(W[:, :r, :r], W[:, :r, r:])[..., 0]
    if sampler != "data":
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    out, start = np.empty((reps, r)), 0
    for c in _chunks(reps, n, d):
        X, y = task.draw_xy(rng, c, n)
        Phi = X @ M[start:start + c]
        gram = np.swapaxes(Phi, 1, 2) @ Phi
        out[start:start + c] = np.linalg.solve(gram, (np.swapaxes(Phi, 1, 2) @ y[..., None]))[..., 0]
        start += c
    return out


def excess_parts(task: LinearTask, M: np.ndarray, w: np.ndarray) -> dict:
    r"""Exact excess :math:`(Mw-\theta^\star)^\top\Sigma(Mw-\theta^\star)`, the approximation error
    :math:`a(M)` and the head part ``excess - approx`` (arrays of length ``reps``)."""
    delta = np.einsum("tdr,tr->td", M, w) - task.theta
    excess = np.einsum("td,de,te->t", delta, task.sigma, delta)
    SM = task.sigma @ M
    C = np.swapaxes(M, 1, 2) @ SM
    c = np.swapaxes(SM, 1, 2) @ task.theta
    approx = task.theta @ task.sigma @ task.theta - np.einsum("tr,tr->t", c, np.linalg.solve(C, c[..., None])[..., 0])
    approx = np.maximum(approx, 0.0)
    return {"excess": excess, "approx": approx, "head": excess - approx}


def two_stage_mc(task: LinearTask, n: int, m: int, reps: int, rng, sampler: str = "wishart") -> dict:
    """``reps`` independent repetitions of pre-training on ``m`` points and OLS on ``n`` points.

    Returns
    -------
    dict of ndarray (reps,)
        ``excess`` (test risk minus Bayes risk), ``approx`` (representation term :math:`a(\\hat M)`),
        ``head`` (``excess - approx``).
    """
    if m < task.d and sampler == "wishart":
        raise ValueError(f"m={m} < d={task.d}: use sampler='data'")
    M = representation_map(task, pretrain_covariance(task, m, reps, rng, sampler))
    w = fit_head(task, M, n, rng, sampler)
    parts = excess_parts(task, M, w)
    for name, arr in parts.items():
        if not np.all(np.isfinite(arr)):
            raise FloatingPointError(f"two-stage Monte Carlo (n={n}, m={m}): {name} is NaN or infinite")
    return parts
