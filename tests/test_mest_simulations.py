"""mest simulations: samplers, estimators and the exact excess risk against independent references."""
import numpy as np
import pytest
from scipy import stats

from simulations import two_stage as sim
from simulations.two_stage import linear

EIG = [6.0, 3.0, 1.0, 0.8, 0.5, 0.5]


def _rotation(rng, d):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


# ------------------------------------------------------------------------------------------ Wishart
def test_bartlett_wishart_moments():
    """E[W] = N Sigma and Var(W_ij) = N (Sigma_ij^2 + Sigma_ii Sigma_jj), within 5 standard errors."""
    rng = np.random.default_rng(1)
    A = rng.standard_normal((4, 4))
    sigma = A @ A.T + np.eye(4)
    N, reps = 15, 40000
    W = sim.wishart(rng, N, np.linalg.cholesky(sigma), reps)
    var = N * (sigma ** 2 + np.outer(np.diag(sigma), np.diag(sigma)))
    z = (W.mean(0) - N * sigma) / np.sqrt(var / reps)
    assert np.abs(z).max() < 5
    assert np.allclose(W.var(0) / var, 1, atol=0.05)
    assert np.allclose(W, np.swapaxes(W, 1, 2))


def test_bartlett_rejects_too_few_degrees_of_freedom():
    with pytest.raises(ValueError, match="dof"):
        sim.bartlett_factor(np.random.default_rng(0), 3, 5, 2)


@pytest.mark.parametrize("make", ["spectral", "factor"])
def test_wishart_and_data_samplers_agree_in_law(make):
    """The exact scatter-matrix sampler and the data-level sampler give the same law of n * excess."""
    if make == "spectral":
        task = sim.spectral_task(EIG, 2, [1.0, -2.0], 0.5, basis=_rotation(np.random.default_rng(3), len(EIG)))
    else:
        B = np.zeros((6, 2))
        B[0, 0], B[1, 1] = 2.0, 1.2
        task = sim.factor_task(B @ _rotation(np.random.default_rng(4), 2), 0.5, [1.0, 0.5], 0.2)
    n, m, reps = 40, 60, 3000
    a = sim.two_stage_mc(task, n, m, reps, np.random.default_rng(5), sampler="wishart")
    b = sim.two_stage_mc(task, n, m, reps, np.random.default_rng(6), sampler="data")
    for key in ("excess", "approx"):
        assert stats.ks_2samp(a[key], b[key]).pvalue > 1e-3, key
        se = np.sqrt(a[key].var() / reps + b[key].var() / reps)
        assert abs(a[key].mean() - b[key].mean()) < 4 * se


# --------------------------------------------------------------------------------------- estimators
def test_pca_representation_is_top_eigenspace():
    rng = np.random.default_rng(7)
    task = sim.spectral_task(EIG, 3, [1.0, 1.0, 1.0], 1.0)
    S = sim.pretrain_covariance(task, 50, 5, rng, "data")
    M = sim.representation_map(task, S)
    for t in range(5):
        vals, vecs = np.linalg.eigh(S[t])
        top = vecs[:, -3:]
        assert np.allclose(M[t].T @ M[t], np.eye(3), atol=1e-12)
        assert np.allclose(M[t] @ M[t].T, top @ top.T, atol=1e-10)


def test_batched_eigh_matches_numpy():
    rng = np.random.default_rng(8)
    A = rng.standard_normal((6, 7, 7))
    S = A @ np.swapaxes(A, 1, 2)
    v, u = sim.batched_eigh(S)
    v2, _ = np.linalg.eigh(S)
    assert np.allclose(v, v2)
    assert np.allclose(u @ (v[..., None] * np.swapaxes(u, 1, 2)), S)


def _gaussian_loglik(B, s2, S_hat):
    d = B.shape[0]
    C = B @ B.T + s2 * np.eye(d)
    return -0.5 * (np.linalg.slogdet(C)[1] + np.trace(np.linalg.solve(C, S_hat)))


def test_factor_representation_is_posterior_mean_of_the_gaussian_mle():
    """Tipping-Bishop: B_hat = U (L - s2)^(1/2), s2_hat = mean of the small eigenvalues is a stationary point
    of the Gaussian likelihood (central differences), and M^T x is the posterior mean under it."""
    rng = np.random.default_rng(9)
    B = np.zeros((6, 2))
    B[0, 0], B[1, 1] = 2.0, 1.2
    task = sim.factor_task(B, 0.5, [1.0, 0.5], 0.2)
    S_hat = sim.pretrain_covariance(task, 80, 1, rng, "data")
    M = sim.representation_map(task, S_hat)[0]
    vals, vecs = np.linalg.eigh(S_hat[0])
    s2 = vals[:-2].mean()
    B_hat = vecs[:, ::-1][:, :2] * np.sqrt(vals[::-1][:2] - s2)
    assert np.allclose(M, B_hat @ np.linalg.inv(B_hat.T @ B_hat + s2 * np.eye(2)))
    h = 1e-6
    for idx in np.ndindex(B_hat.shape):
        E = np.zeros_like(B_hat)
        E[idx] = h
        grad = (_gaussian_loglik(B_hat + E, s2, S_hat[0]) - _gaussian_loglik(B_hat - E, s2, S_hat[0])) / (2 * h)
        assert abs(grad) < 1e-6
    grad_s2 = (_gaussian_loglik(B_hat, s2 + h, S_hat[0]) - _gaussian_loglik(B_hat, s2 - h, S_hat[0])) / (2 * h)
    assert abs(grad_s2) < 1e-6
    # and it is the maximum: nudging B_hat in a random direction lowers the likelihood
    D = rng.standard_normal(B_hat.shape) * 1e-2
    assert _gaussian_loglik(B_hat + D, s2, S_hat[0]) < _gaussian_loglik(B_hat, s2, S_hat[0])


def test_data_head_is_least_squares():
    rng = np.random.default_rng(10)
    task = sim.spectral_task(EIG, 2, [1.0, -1.0], 0.3)
    M = sim.representation_map(task, sim.pretrain_covariance(task, 100, 3, rng, "data"))
    w = sim.fit_head(task, M, 30, np.random.default_rng(11), "data")
    X, y = task.draw_xy(np.random.default_rng(11), 3, 30)
    for t in range(3):
        ref = np.linalg.lstsq(X[t] @ M[t], y[t], rcond=None)[0]
        assert np.allclose(w[t], ref)


@pytest.mark.parametrize("make", ["spectral", "factor"])
def test_closed_form_excess_equals_large_test_set(make):
    """(M w - theta*)^T Sigma (M w - theta*) = E[(y - w^T phi)^2] - E[(y - f*)^2], the latter estimated on
    4 x 10^5 fresh labelled points drawn from the generative model (latent z for 3b)."""
    rng = np.random.default_rng(12)
    if make == "spectral":
        task = sim.spectral_task(EIG, 2, [1.0, -2.0], 0.5, basis=_rotation(rng, len(EIG)))
    else:
        B = np.zeros((6, 2))
        B[0, 0], B[1, 1] = 2.0, 1.2
        task = sim.factor_task(B @ _rotation(rng, 2), 0.5, [1.0, 0.5], 0.2)
    M = sim.representation_map(task, sim.pretrain_covariance(task, 30, 2, rng, "data"))
    w = sim.fit_head(task, M, 15, rng, "data")
    parts = sim.excess_parts(task, M, w)
    N = 400_000
    X, y = task.draw_xy(np.random.default_rng(13), 1, N)
    X, y = X[0], y[0]
    bayes = y - X @ task.theta
    assert bayes.var() == pytest.approx(task.resid_var, rel=1e-2)
    for t in range(2):
        pred = X @ (M[t] @ w[t])
        # difference of the two risks, computed pointwise to cancel the label noise exactly
        est = np.mean((y - pred) ** 2 - bayes ** 2)
        se = np.std((y - pred) ** 2 - bayes ** 2) / np.sqrt(N)
        assert abs(est - parts["excess"][t]) < 5 * se
        best = np.linalg.lstsq(X @ M[t], X @ task.theta, rcond=None)[0]
        approx = np.mean((X @ task.theta - X @ M[t] @ best) ** 2)
        assert approx == pytest.approx(parts["approx"][t], rel=2e-2, abs=1e-6)


def test_two_stage_mc_raises_on_bad_input():
    task = sim.spectral_task(EIG, 2, [1.0, 1.0], 1.0)
    with pytest.raises(ValueError, match="m=3"):
        sim.two_stage_mc(task, 20, 3, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="sampler"):
        sim.two_stage_mc(task, 20, 30, 2, np.random.default_rng(0), sampler="exact")


# ------------------------------------------------------------------------------------------------ GMM
def _softmax_post(X, mu, log_pi):
    eta = log_pi + X @ mu.T - 0.5 * (mu ** 2).sum(1)
    p = np.exp(eta - eta.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True)


def test_regular_simplex_means():
    M = sim.regular_simplex_means(4, 5, 2.5)
    dist = np.linalg.norm(M[:, None] - M[None], axis=-1)
    assert np.allclose(dist[~np.eye(4, dtype=bool)], 2.5)
    assert np.allclose(M.mean(0), 0) and np.allclose(M[:, 3:], 0)
    with pytest.raises(ValueError, match="d >= K - 1"):
        sim.regular_simplex_means(4, 2, 1.0)


def test_em_reaches_a_stationary_point_of_the_likelihood():
    """At the EM output the score sum_i phi_ij (x_i - mu_j) vanishes, and a central difference of the
    log-likelihood confirms it."""
    rng = np.random.default_rng(14)
    means = sim.regular_simplex_means(3, 2, 3.0)
    log_pi = np.log(np.array([0.3, 0.3, 0.4]))
    X, _ = sim.draw_mixture(rng, means, np.exp(log_pi), (2, 400))
    mu_hat, iters, last = sim.em_means(X, means, log_pi, 1e-12, 10000)
    assert np.all(last < 1e-12) and np.all(iters > 1)

    def loglik(mu, x):
        eta = log_pi + x @ mu.T - 0.5 * (mu ** 2).sum(1) - 0.5 * (x ** 2).sum(1, keepdims=True)
        top = eta.max(1, keepdims=True)
        return float((top[:, 0] + np.log(np.exp(eta - top).sum(1))).sum())

    for t in range(2):
        post = _softmax_post(X[t], mu_hat[t], log_pi)
        score = post.T @ X[t] - post.sum(0)[:, None] * mu_hat[t]
        assert np.abs(score).max() < 1e-8
        h = 1e-5
        for idx in np.ndindex(mu_hat[t].shape):
            E = np.zeros_like(mu_hat[t])
            E[idx] = h
            fd = (loglik(mu_hat[t] + E, X[t]) - loglik(mu_hat[t] - E, X[t])) / (2 * h)
            assert abs(fd) < 1e-5


def test_em_non_convergence_is_reported():
    means = sim.regular_simplex_means(3, 2, 3.0)
    with pytest.raises(RuntimeError, match="did not converge"):
        sim.gmm_mc(means, np.full(3, 1 / 3), np.array([1.0, -1.0, 0.5]), 0.25, n=20, m=50, reps=2,
                   rng=np.random.default_rng(0), test_size=100, max_iter=1)


def test_gmm_kernels_against_numpy_reference():
    rng = np.random.default_rng(15)
    means = sim.regular_simplex_means(3, 2, 2.0)
    log_pi = np.log(np.full(3, 1 / 3))
    beta = np.array([1.0, -1.0, 0.5])
    mu_hat = means[None] + 0.1 * rng.standard_normal((2, 3, 2))
    X, z = sim.draw_mixture(rng, means, np.exp(log_pi), (2, 300))
    y = beta[z] + 0.5 * rng.standard_normal((2, 300))
    w = sim.head_ols(X, y, mu_hat, log_pi)
    Xt, _ = sim.draw_mixture(rng, means, np.exp(log_pi), (5000,))
    fstar = sim.posterior_mean_target(Xt, means, log_pi, beta)
    assert np.allclose(fstar, _softmax_post(Xt, means, log_pi) @ beta)
    e, a = sim.test_set_excess(Xt, fstar, mu_hat, w, log_pi)
    for t in range(2):
        Phi = _softmax_post(X[t], mu_hat[t], log_pi)
        assert np.allclose(w[t], np.linalg.lstsq(Phi, y[t], rcond=None)[0])
        Pt = _softmax_post(Xt, mu_hat[t], log_pi)
        assert e[t] == pytest.approx(np.mean((fstar - Pt @ w[t]) ** 2), rel=1e-10)
        best = np.linalg.lstsq(Pt, fstar, rcond=None)[0]
        assert a[t] == pytest.approx(np.mean((fstar - Pt @ best) ** 2), rel=1e-6)
        assert e[t] >= a[t]


def test_gmm_mc_outputs():
    means = sim.regular_simplex_means(3, 2, 3.0)
    out = sim.gmm_mc(means, np.full(3, 1 / 3), np.array([1.0, -1.0, 0.5]), 0.25, n=100, m=200, reps=5,
                     rng=np.random.default_rng(16), test_size=2000)
    assert out["excess"].shape == (5,) and np.all(out["head"] >= -1e-15) and np.all(out["approx"] >= 0)
    again = sim.gmm_mc(means, np.full(3, 1 / 3), np.array([1.0, -1.0, 0.5]), 0.25, n=100, m=200, reps=5,
                       rng=np.random.default_rng(16), test_size=2000)
    assert np.array_equal(out["excess"], again["excess"])          # driven only by the generator


def test_projector_error_matches_anderson_diagnostic():
    """m E||U_hat U_hat^T - U* U*^T||_F^2 -> 2 sum lambda_a lambda_b / (lambda_b - lambda_a)^2 (spec 3a)."""
    from derivations import two_stage as ts

    task = sim.spectral_task(EIG, 2, [1.0, 1.0], 1.0)
    m, reps = 20000, 4000
    M = sim.representation_map(task, sim.pretrain_covariance(task, m, reps, np.random.default_rng(17)))
    P_star = np.diag([1.0, 1.0, 0, 0, 0, 0])
    err = m * ((M @ np.swapaxes(M, 1, 2) - P_star) ** 2).sum(axis=(1, 2))
    pred = ts.spectral_projector_error(EIG, 2)
    assert abs(err.mean() - pred) < 4 * err.std() / np.sqrt(reps) + 0.02 * pred


@pytest.mark.parametrize("r, n", [(3, 12), (2, 30)])
def test_ols_excess_law_with_the_true_representation(r, n):
    """With the true span (a = 0) the OLS excess is sigma^2 chi^2_r / chi^2_(n-r+1): mean sigma^2 r/(n-r-1) and the
    relative s.d. of claims.mest.ols_excess_relative_sd (Monte Carlo, 4 standard errors)."""
    from claims.mest import ols_excess_relative_sd

    task = sim.spectral_task(EIG, r, [1.0] * r, 0.7)
    reps = 200_000
    M = np.broadcast_to(np.eye(len(EIG))[:, :r], (reps, len(EIG), r)).copy()
    w = sim.fit_head(task, M, n, np.random.default_rng(18), "wishart")
    e = sim.excess_parts(task, M, w)["excess"] / 0.7
    mean = r / (n - r - 1)
    assert abs(e.mean() - mean) < 4 * e.std() / np.sqrt(reps)
    rel_sd = e.std() / e.mean()
    ref = np.random.default_rng(19)
    u = ref.chisquare(r, reps) / ref.chisquare(n - r + 1, reps)
    assert stats.ks_2samp(e, u).pvalue > 1e-3
    assert rel_sd == pytest.approx(ols_excess_relative_sd(r, n), rel=0.05)
