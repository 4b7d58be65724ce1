r"""Two-stage estimator of the Gaussian-mixture case study (docs/papers/two_stage.md §3c).

Data: :math:`z\sim\mathrm{Cat}(\pi)`, :math:`x|z=k\sim N(\mu_k,I_d)`; labels :math:`y = \beta_z+\nu`,
:math:`\nu\sim N(0,\sigma_\nu^2)`.  Known :math:`\pi` and identity covariance; only the means are estimated.

* Pre-training: maximum likelihood of :math:`\mu` by EM started at the truth (labels cannot switch), run
  until :math:`\max|\Delta\mu| <` ``tol``.
* Representation: posteriors :math:`\phi_k(x) = \pi_kN(x;\hat\mu_k,I)/\sum_j\pi_jN(x;\hat\mu_j,I)`,
  computed as a softmax of :math:`\log\pi_k + x^\top\hat\mu_k - |\hat\mu_k|^2/2`.
* Head: OLS of ``y`` on :math:`\phi(x)\in\mathbb R^K` without intercept (:math:`\sum_k\phi_k = 1`).
* Excess: :math:`\frac1T\sum_{t}(\beta^\top\phi_{\mu^\star}(x_t) - \hat w^\top\phi_{\hat\mu}(x_t))^2` on a test
  set shared by all repetitions of a call, or the same sum with the weights of a quadrature rule of the
  mixture; its representation part is the least-squares residual of :math:`f^\star` on
  :math:`\phi_{\hat\mu}` over the same points.
"""
from __future__ import annotations

import numpy as np
from numba import njit

_MAX_CHUNK_DOUBLES = 3_000_000


@njit(cache=True, nogil=True)
def _posterior(x, mu, log_pi, out):
    """Softmax posteriors of one point ``x`` (d,) under means ``mu`` (K, d); written into ``out``."""
    K, d = mu.shape
    top = -np.inf
    for k in range(K):
        eta = log_pi[k]
        for i in range(d):
            eta += mu[k, i] * (x[i] - 0.5 * mu[k, i])
        out[k] = eta
        if eta > top:
            top = eta
    total = 0.0
    for k in range(K):
        out[k] = np.exp(out[k] - top)
        total += out[k]
    for k in range(K):
        out[k] /= total


@njit(cache=True, nogil=True)
def em_means(X, mu0, log_pi, tol, max_iter):
    """EM for the means, one run per repetition.

    Parameters
    ----------
    X : (R, m, d) pre-training samples; mu0 : (K, d) start; log_pi : (K,); tol : float; max_iter : int

    Returns
    -------
    mu_hat : (R, K, d); iters : (R,) iterations used; last_change : (R,) final max |Delta mu|.
    """
    R, m, d = X.shape
    K = mu0.shape[0]
    mu_hat = np.empty((R, K, d))
    iters = np.zeros(R, np.int64)
    last = np.zeros(R)
    p = np.empty(K)
    for t in range(R):
        mu = mu0.copy()
        change = np.inf
        it = 0
        while it < max_iter and change >= tol:
            num = np.zeros((K, d))
            den = np.zeros(K)
            for i in range(m):
                _posterior(X[t, i], mu, log_pi, p)
                for k in range(K):
                    den[k] += p[k]
                    for j in range(d):
                        num[k, j] += p[k] * X[t, i, j]
            change = 0.0
            for k in range(K):
                for j in range(d):
                    new = num[k, j] / den[k]
                    diff = abs(new - mu[k, j])
                    if not diff <= change:   # also catches NaN
                        change = diff
                    mu[k, j] = new
            it += 1
        mu_hat[t] = mu
        iters[t] = it
        last[t] = change
    return mu_hat, iters, last


@njit(cache=True, nogil=True)
def head_ols(X, y, mu_hat, log_pi):
    """OLS of ``y`` (R, n) on the posteriors of ``X`` (R, n, d) under ``mu_hat`` (R, K, d); returns (R, K)."""
    R, n, d = X.shape
    K = mu_hat.shape[1]
    w = np.empty((R, K))
    p = np.empty(K)
    for t in range(R):
        gram = np.zeros((K, K))
        rhs = np.zeros(K)
        for i in range(n):
            _posterior(X[t, i], mu_hat[t], log_pi, p)
            for a in range(K):
                rhs[a] += p[a] * y[t, i]
                for b in range(K):
                    gram[a, b] += p[a] * p[b]
        w[t] = np.linalg.solve(gram, rhs)
    return w


def test_set_excess(Xt, fstar, mu_hat, w_hat, log_pi):
    """Excess and its representation part on a test set ``Xt`` (T, d) with targets ``fstar`` (T,).

    Returns ``excess`` (R,) = mean (fstar - w_hat . phi)^2 and ``approx`` (R,) = min_w mean (fstar - w . phi)^2.
    """
    return weighted_excess(Xt, np.full(Xt.shape[0], 1.0 / Xt.shape[0]), fstar, mu_hat, w_hat, log_pi)


@njit(cache=True, nogil=True)
def weighted_excess(Xt, weights, fstar, mu_hat, w_hat, log_pi):
    """:func:`test_set_excess` with point weights summing to 1 (a quadrature rule instead of a test set):
    ``excess`` = sum_t weights_t (fstar_t - w_hat . phi_t)^2, ``approx`` its minimum over w."""
    T, d = Xt.shape
    R, K, _ = mu_hat.shape
    excess = np.empty(R)
    approx = np.empty(R)
    p = np.empty(K)
    for t in range(R):
        gram = np.zeros((K, K))
        rhs = np.zeros(K)
        sq = 0.0
        ff = 0.0
        for i in range(T):
            _posterior(Xt[i], mu_hat[t], log_pi, p)
            pred = 0.0
            for a in range(K):
                pred += w_hat[t, a] * p[a]
                rhs[a] += weights[i] * p[a] * fstar[i]
                for b in range(a + 1):
                    gram[a, b] += weights[i] * p[a] * p[b]
            sq += weights[i] * (fstar[i] - pred) ** 2
            ff += weights[i] * fstar[i] ** 2
        for a in range(K):
            for b in range(a):
                gram[b, a] = gram[a, b]
        sol = np.linalg.solve(gram, rhs)
        fit = 0.0
        for a in range(K):
            fit += rhs[a] * sol[a]
        excess[t] = sq
        approx[t] = max(ff - fit, 0.0)
    return excess, approx


@njit(cache=True, nogil=True)
def posterior_mean_target(Xt, mu, log_pi, beta):
    r""":math:`f^\star(x_t) = \beta^\top\phi_\mu(x_t)` for every row of ``Xt``."""
    T = Xt.shape[0]
    K = mu.shape[0]
    out = np.empty(T)
    p = np.empty(K)
    for i in range(T):
        _posterior(Xt[i], mu, log_pi, p)
        f = 0.0
        for k in range(K):
            f += beta[k] * p[k]
        out[i] = f
    return out


# ------------------------------------------------------------------------------------- drivers
def regular_simplex_means(K: int, d: int, separation: float) -> np.ndarray:
    """``K`` means at the vertices of a regular simplex centred at 0, pairwise distance ``separation``,
    in the first ``K - 1`` coordinates of :math:`\\mathbb R^d` (needs ``d >= K - 1``)."""
    if d < K - 1:
        raise ValueError(f"a regular simplex of K={K} points needs d >= K - 1 = {K - 1}, got d={d}")
    centred = np.eye(K) - 1.0 / K
    _, _, vt = np.linalg.svd(centred)
    pts = centred @ vt[:K - 1].T
    pts *= separation / np.linalg.norm(pts[0] - pts[1])
    out = np.zeros((K, d))
    out[:, :K - 1] = pts
    return out


def draw_mixture(rng, means, pi, shape):
    """Points of the mixture with their labels: ``X`` of shape ``shape + (d,)`` and ``z`` of ``shape``."""
    means = np.asarray(means, float)
    z = rng.choice(means.shape[0], size=shape, p=np.asarray(pi, float))
    return means[z] + rng.standard_normal(tuple(shape) + (means.shape[1],)), z


def gmm_mc(means, pi, beta, noise_var: float, n: int, m: int, reps: int, rng, test_size: int = 100_000,
           tol: float = 1e-10, max_iter: int = 10_000, test_points=None) -> dict:
    """``reps`` repetitions of EM pre-training on ``m`` points and the posterior OLS head on ``n`` points.

    One test set of ``test_size`` points is drawn first and shared by all repetitions of the call; or, with
    ``test_points = (nodes, weights)`` (a quadrature rule of the mixture, weights summing to 1), the excess
    is that rule's integral instead (no test set is drawn).

    Returns
    -------
    dict
        ``excess``, ``approx``, ``head`` (arrays of length ``reps``) and ``em_iters`` (max EM iterations).
    """
    means = np.asarray(means, float)
    beta = np.asarray(beta, float)
    log_pi = np.log(np.asarray(pi, float))
    K, d = means.shape
    if test_points is None:
        Xt, _ = draw_mixture(rng, means, pi, (test_size,))
        wt = np.full(test_size, 1.0 / test_size)
    else:
        Xt, wt = (np.ascontiguousarray(a, dtype=float) for a in test_points)
    fstar = posterior_mean_target(Xt, means, log_pi, beta)
    sd = float(np.sqrt(noise_var))
    step = max(1, _MAX_CHUNK_DOUBLES // (max(n, m) * d))
    excess, approx, iters_max = [], [], 0
    for start in range(0, reps, step):
        c = min(step, reps - start)
        Xp, _ = draw_mixture(rng, means, pi, (c, m))
        mu_hat, iters, last = em_means(Xp, means, log_pi, tol, max_iter)
        if not np.all(np.isfinite(mu_hat)):
            raise FloatingPointError(f"EM (m={m}): an estimated mean is NaN or infinite")
        if np.any(last >= tol):
            bad = int(np.argmax(last))
            raise RuntimeError(f"EM (m={m}) did not converge in {max_iter} iterations: repetition "
                               f"{start + bad}, max |delta mu| = {last[bad]:.3g}")
        iters_max = max(iters_max, int(iters.max()))
        Xd, z = draw_mixture(rng, means, pi, (c, n))
        y = beta[z] + sd * rng.standard_normal((c, n))
        w = head_ols(Xd, y, mu_hat, log_pi)
        e, a = weighted_excess(Xt, wt, fstar, mu_hat, w, log_pi)
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(e))):
            raise FloatingPointError(f"GMM head (n={n}): a head weight or the excess is NaN or infinite")
        excess.append(e)
        approx.append(a)
    excess, approx = np.concatenate(excess), np.concatenate(approx)
    return {"excess": excess, "approx": approx, "head": excess - approx, "em_iters": iters_max}
