"""Gauss-Hermite quadrature of the 3c blocks and of each fit's excess."""
import numpy as np

from derivations import two_stage as ts
from simulations.two_stage import gmm as G

PI = np.full(3, 1 / 3)
BETA = np.array([1.0, -1.0, 0.5])


def test_gauss_hermite_rule_integrates_mixture_moments_exactly():
    means = G.regular_simplex_means(3, 2, 3.0)
    x, w = ts.gmm_gauss_hermite_nodes(means, PI, 12)
    assert x.shape == (3 * 144, 2) and np.isclose(w.sum(), 1.0)
    mean = PI @ means
    second = np.eye(2) + (means * PI[:, None]).T @ means
    assert np.allclose(w @ x, mean, atol=1e-12)
    assert np.allclose((x * w[:, None]).T @ x, second, atol=1e-12)
    fourth = sum(p * (np.linalg.norm(mu) ** 4 + 8 * mu @ mu + 8) for p, mu in zip(PI, means))
    assert np.isclose(w @ np.sum(x ** 2, axis=1) ** 2, fourth)   # E|mu + z|^4 in d = 2


def test_gauss_hermite_blocks_agree_with_monte_carlo():
    """The deterministic rule and 10^6 Monte Carlo draws give the same A, B within the Monte Carlo error."""
    means = G.regular_simplex_means(3, 2, 3.0)
    gh = ts.gmm_limit(means, PI, BETA, 0.25)                       # default at d = 2: Gauss-Hermite
    fine = ts.gmm_limit(means, PI, BETA, 0.25, draws=-120)
    mc = ts.gmm_limit(means, PI, BETA, 0.25, draws=1_000_000, seed=7)
    assert abs(gh["A"] / fine["A"] - 1) < 1e-5 and abs(gh["B"] / fine["B"] - 1) < 1e-4
    assert abs(mc["A"] / gh["A"] - 1) < 0.003 and abs(mc["B"] / gh["B"] - 1) < 0.01
    assert ts.gmm_default_draws(3) == ts.GMM_DRAWS and ts.gmm_default_draws(2) < 0


def test_weighted_excess_matches_a_large_test_set():
    """The quadrature excess of a fit equals its test-set excess within the test set's error, and the
    uniform-weight kernel is the test-set kernel."""
    means = G.regular_simplex_means(3, 2, 3.0)
    log_pi = np.log(PI)
    rng = np.random.default_rng(3)
    mu_hat = means + 0.1 * rng.standard_normal((4, 3, 2))
    w_hat = BETA + 0.1 * rng.standard_normal((4, 3))
    nodes, weights = ts.gmm_gauss_hermite_nodes(means, PI, 60)
    e_q, a_q = G.weighted_excess(nodes, weights, G.posterior_mean_target(nodes, means, log_pi, BETA),
                                 mu_hat, w_hat, log_pi)
    Xt, _ = G.draw_mixture(rng, means, PI, (400_000,))
    f = G.posterior_mean_target(Xt, means, log_pi, BETA)
    e_t, a_t = G.test_set_excess(Xt, f, mu_hat, w_hat, log_pi)
    assert np.allclose(e_q, e_t, rtol=0.01) and np.allclose(a_q, a_t, rtol=0.03)
    assert np.all(a_q > 0) and np.all(a_q < e_q)


def test_gmm_mc_with_quadrature_points_is_reproducible_and_draws_no_test_set():
    means = G.regular_simplex_means(3, 2, 3.0)
    nodes = ts.gmm_gauss_hermite_nodes(means, PI, 30)
    a = G.gmm_mc(means, PI, BETA, 0.25, n=200, m=300, reps=4, rng=np.random.default_rng(1), test_points=nodes)
    b = G.gmm_mc(means, PI, BETA, 0.25, n=200, m=300, reps=4, rng=np.random.default_rng(1), test_points=nodes)
    assert np.array_equal(a["excess"], b["excess"]) and np.all(a["excess"] > a["approx"])
