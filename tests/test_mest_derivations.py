"""mest derivations: SymPy closed forms against independent numeric computations.

The general theorem of spec §2 is evaluated here from its blocks (H_ww, G_ww, the Schur complement S and
Anderson's covariance Sigma_pre, built numerically from the data model) and compared with the closed
forms of 3a and 3b for random configurations.
"""
import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from derivations import two_stage as ts


# ------------------------------------------------------------------------------------ blocks, numerically
def _isserlis(S, a, b, c, e):
    """E[x_a x_b x_c x_e] for x ~ N(0, S)."""
    return S[a, b] * S[c, e] + S[a, c] * S[b, e] + S[a, e] * S[b, c]


def _blocks_linear(sigma, U, Uperp, w_star, resid_var):
    """Section 2 blocks for phi(x) = U^T x with U(C) = U + Uperp C (C horizontal, (d-r) x r).

    g_{ab}(x) = d/dC_ab [w*^T U(C)^T x] = w*_b (Uperp^T x)_a; Sigma_pre from Anderson's 4th-moment
    formula m Cov(C_ab, C_a'b') = E[x~_a x~_b x~_a' x~_b'] / ((lam_b - lam_a)(lam_b' - lam_a')).
    """
    r, q = U.shape[1], Uperp.shape[1]
    V = np.hstack([U, Uperp])
    S_rot = V.T @ sigma @ V                              # covariance of x~ = V^T x (diagonal here)
    lam = np.diag(S_rot)
    H = U.T @ sigma @ U
    G = resid_var * H
    S_pp = Uperp.T @ sigma @ Uperp
    S_pu = Uperp.T @ sigma @ U
    Egg = np.kron(S_pp, np.outer(w_star, w_star))       # index (a, b) -> a * r + b
    Egphi = np.kron(S_pu, w_star[:, None])               # ((d-r) r, r)
    S = Egg - Egphi @ np.linalg.solve(H, Egphi.T)
    pairs = [(a, b) for a in range(q) for b in range(r)]
    Sigma_pre = np.empty((len(pairs), len(pairs)))
    for i, (a, b) in enumerate(pairs):
        for j, (a2, b2) in enumerate(pairs):
            num = _isserlis(S_rot, r + a, b, r + a2, b2) - S_rot[r + a, b] * S_rot[r + a2, b2]
            Sigma_pre[i, j] = num / ((lam[b] - lam[r + a]) * (lam[b2] - lam[r + a2]))
    return H, G, S, Sigma_pre


def _theorem(H, G, S, Sigma_pre):
    head = np.sort(np.linalg.eigvals(np.linalg.solve(H, G)).real)
    pre = np.sort(np.linalg.eigvals(S @ Sigma_pre).real)
    return float(np.trace(np.linalg.solve(H, G))), float(np.trace(S @ Sigma_pre)), head, pre


def _orthogonal(rng, d):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


@st.composite
def spectral_configs(draw):
    d = draw(st.integers(3, 9))
    r = draw(st.integers(1, d - 1))
    top = sorted(draw(st.lists(st.floats(1.2, 15.0), min_size=r, max_size=r)), reverse=True)
    bottom = sorted(draw(st.lists(st.floats(0.05, 1.0), min_size=d - r, max_size=d - r)), reverse=True)
    beta = draw(st.lists(st.floats(-3.0, 3.0), min_size=r, max_size=r))
    return top + bottom, r, beta, draw(st.floats(0.05, 4.0)), draw(st.integers(0, 2 ** 31))


@given(spectral_configs())
def test_spectral_closed_forms_match_theorem_from_blocks(cfg):
    eig, r, beta, noise, seed = cfg
    d = len(eig)
    Q = _orthogonal(np.random.default_rng(seed), d)      # a random eigenbasis
    sigma = (Q * np.asarray(eig)) @ Q.T
    H, G, S, Sp = _blocks_linear(sigma, Q[:, :r], Q[:, r:], np.asarray(beta), noise)
    A, B, head, pre = _theorem(H, G, S, Sp)
    assert A == pytest.approx(ts.spectral_A(r, noise), rel=1e-9)
    assert B == pytest.approx(ts.spectral_B(eig, r, beta), rel=1e-8, abs=1e-12)
    assert np.allclose(head, ts.spectral_head_weights(r, noise), rtol=1e-9)
    # S Sigma_pre has exactly one non-zero eigenvalue w_a per bottom direction, (r - 1)(d - r) zeros
    w = np.sort(ts.spectral_pretrain_weights(eig, r, beta))
    assert np.allclose(pre[-(d - r):], w, rtol=1e-7, atol=1e-10)
    assert np.allclose(pre[:-(d - r)], 0.0, atol=1e-9 * max(1.0, w.max()))


@st.composite
def factor_configs(draw):
    r = draw(st.integers(1, 4))
    d = draw(st.integers(r + 1, 10))
    ell = sorted(draw(st.lists(st.floats(0.3, 20.0), min_size=r, max_size=r)), reverse=True)
    beta = draw(st.lists(st.floats(-3.0, 3.0), min_size=r, max_size=r))
    return ell, d, draw(st.floats(0.1, 3.0)), beta, draw(st.floats(0.0, 2.0)), draw(st.integers(0, 2 ** 31))


@given(factor_configs())
def test_factor_closed_forms_match_theorem_from_blocks(cfg):
    ell, d, s2, beta, nu, seed = cfg
    r = len(ell)
    rng = np.random.default_rng(seed)
    Q = _orthogonal(rng, d)
    V = _orthogonal(rng, r)                               # general V: the closed forms use c = V^T beta
    beta = np.asarray(beta)
    B = Q[:, :r] @ np.diag(np.sqrt(ell)) @ V.T
    sigma = B @ B.T + s2 * np.eye(d)
    theta = B @ np.linalg.solve(B.T @ B + s2 * np.eye(r), beta)         # E[y|x] = theta^T x
    resid = nu + beta @ (np.eye(r) - B.T @ np.linalg.solve(sigma, B)) @ beta   # Var(y|x), Gaussian conditioning
    U = Q[:, :r]
    H, G, S, Sp = _blocks_linear(sigma, U, Q[:, r:], U.T @ theta, resid)
    A, Bv, head, pre = _theorem(H, G, S, Sp)
    c = V.T @ beta
    assert np.allclose(U @ (U.T @ theta), theta)          # well specified: f* in the span of U*
    assert A == pytest.approx(ts.factor_A(ell, s2, c, nu), rel=1e-8)
    assert Bv == pytest.approx(ts.factor_B(ell, s2, c, d), rel=1e-7, abs=1e-12)
    W = ts.factor_bottom_weight(ell, s2, c)
    assert np.allclose(pre[-(d - r):], W, rtol=1e-6, atol=1e-10)
    assert np.allclose(ts.factor_tilde_beta(ell, s2, c), U.T @ theta)


def test_factor_weight_is_spectral_weight_under_substitution():
    """Symbolically: w_a of 3a with lambda_b = ell + s^2, lambda_a = s^2, beta_b = beta~_b equals W's term."""
    sub = ts.PAIR_WEIGHT.subs({ts.lam_b: ts.FACTOR_TOP_EIGENVALUE, ts.lam_a: ts.s2_sym,
                               ts.beta_b: ts.FACTOR_TILDE_BETA})
    assert sp.simplify(sub - ts.FACTOR_WEIGHT_TERM) == 0


def test_finite_sample_formula_has_the_asymptotic_limit():
    """n * E[excess] with E[a] = B/m and m = n/gamma tends to sigma^2 r + gamma B."""
    Bs = sp.Symbol("B", positive=True)
    expr = ts.n_sym * ts.FINITE_SAMPLE_EXCESS.subs(ts.mean_approx, Bs * ts.gamma_sym / ts.n_sym)
    lim = sp.limit(expr, ts.n_sym, sp.oo)
    assert sp.simplify(lim - ts.ASYMPTOTIC_MEAN_RISK.subs(sp.Symbol("B", nonnegative=True), Bs)) == 0


def test_finite_sample_pieces_numbers():
    eig = [10.0, 6.0, 4.0] + [1.0] * 17
    p = ts.finite_sample_pieces(eig, 3, [1, 1, 1], 1.0, n=12, m=2000)
    B = ts.spectral_B(eig, 3, [1, 1, 1])
    assert p["inflation"] == pytest.approx(1 + 3 / 8)
    assert p["ols_term"] == pytest.approx(3 / 8)
    assert p["mean_excess"] == pytest.approx(B / 2000 * 11 / 8 + 3 / 8)
    with pytest.raises(ValueError, match="n=4"):
        ts.finite_sample_excess(0.1, 3, 4, 1.0)


def test_spec_default_numbers():
    """The spec's 3a / 3b defaults, computed by hand."""
    eig = [10.0, 6.0, 4.0] + [1.0] * 17
    w_a = 10 / 81 + 6 / 25 + 4 / 9
    assert ts.spectral_B(eig, 3, [1, 1, 1]) == pytest.approx(17 * w_a)
    assert ts.spectral_projector_error(eig, 3) == pytest.approx(2 * 17 * (10 / 81 + 6 / 25 + 4 / 9))
    # 3b: sigma_eff^2 = 0.25 + 1/10 + 1/5 = 0.55, W = 1/90 + 1/20
    assert ts.factor_effective_noise([9, 4], 1.0, [1, -1], 0.25) == pytest.approx(0.55)
    assert ts.factor_bottom_weight([9, 4], 1.0, [1, -1]) == pytest.approx(1 / 90 + 1 / 20)
    assert ts.factor_mean_risk([9, 4], 1.0, [1, -1], 0.25, 30, 1.0) == pytest.approx(1.1 + 28 * (1 / 90 + 1 / 20))


def test_spectral_rejects_no_gap():
    with pytest.raises(ValueError, match="eigengap"):
        ts.spectral_B([3.0, 2.0, 2.0, 1.0], 2, [1, 1])


def test_prior_bound_shape():
    assert ts.prior_bound_shape(100, 400, 60, 3) == pytest.approx(math.sqrt(60 / 400) + math.sqrt(3 / 100))
    assert np.allclose(ts.prior_bound_shape(np.array([1, 4]), np.array([1, 4]), 1, 1), [2, 1])


# ------------------------------------------------------------------------------------------------ 3c
def test_gmm_sympy_derivatives_match_closed_forms_and_finite_differences():
    """SymPy's score and g equal phi_j (x - mu_j) and phi_j (beta_j - f)(x - mu_j), and a central
    finite difference of the log-likelihood / of f."""
    K, d = 3, 2
    _, _, funcs = ts.gmm_integrands(K, d)
    rng = np.random.default_rng(0)
    mu = rng.standard_normal((K, d)) * 2
    log_pi = np.log(np.array([0.2, 0.5, 0.3]))
    beta = np.array([1.0, -1.0, 0.5])
    x = rng.standard_normal((d, 7)) * 2
    args = ([list(r) for r in mu], list(log_pi), list(beta), 0.3)
    phi = np.array(funcs["phi"](list(x), *args))
    f = np.array(funcs["f"](list(x), *args))[0]
    score = np.array(funcs["score"](list(x), *args)).reshape(K, d, -1)
    g = np.array(funcs["g"](list(x), *args)).reshape(K, d, -1)
    for j in range(K):
        assert np.allclose(score[j], phi[j] * (x - mu[j][:, None]))
        assert np.allclose(g[j], phi[j] * (beta[j] - f) * (x - mu[j][:, None]))

    def loglik(m):
        dens = np.exp(log_pi)[:, None] * np.exp(-0.5 * ((x[None] - m[:, :, None]) ** 2).sum(1))
        return np.log(dens.sum(0))

    def fval(m):
        return np.array(funcs["f"](list(x), [list(r) for r in m], list(log_pi), list(beta), 0.3))[0]

    h = 1e-6
    for j in range(K):
        for i in range(d):
            e = np.zeros((K, d))
            e[j, i] = h
            assert np.allclose((loglik(mu + e) - loglik(mu - e)) / (2 * h), score[j, i], atol=1e-7)
            assert np.allclose((fval(mu + e) - fval(mu - e)) / (2 * h), g[j, i], atol=1e-7)
    v = np.array(funcs["v"](list(x), *args))[0]
    assert np.allclose(v, 0.3 + (beta[:, None] ** 2 * phi).sum(0) - f ** 2)


def test_gmm_blocks_against_quadrature_in_one_dimension():
    """d = 1, K = 2: the Monte Carlo blocks agree with adaptive quadrature of the same integrals."""
    means = np.array([[-1.25], [1.25]])
    pi = np.array([0.4, 0.6])
    beta = np.array([1.0, -0.5])
    nu = 0.2
    out = ts.gmm_limit(means, pi, beta, nu)

    def post(x):
        e = np.log(pi) + means[:, 0] * x - means[:, 0] ** 2 / 2
        p = np.exp(e - e.max())
        return p / p.sum()

    def dens(x):
        return float((pi * np.exp(-0.5 * (x - means[:, 0]) ** 2)).sum() / math.sqrt(2 * math.pi))

    def E(fn):
        return integrate.quad(lambda x: dens(x) * fn(x), -12, 12, limit=200, epsabs=1e-12)[0]

    H = np.array([[E(lambda x, a=a, b=b: post(x)[a] * post(x)[b]) for b in range(2)] for a in range(2)])

    def v(x):
        p = post(x)
        return nu + (beta ** 2 * p).sum() - (beta @ p) ** 2

    def s(x):
        return post(x) * (x - means[:, 0])

    def g(x):
        p = post(x)
        return p * (beta - beta @ p) * (x - means[:, 0])

    G = np.array([[E(lambda x, a=a, b=b: v(x) * post(x)[a] * post(x)[b]) for b in range(2)] for a in range(2)])
    I_mu = np.array([[E(lambda x, a=a, b=b: s(x)[a] * s(x)[b]) for b in range(2)] for a in range(2)])
    Egg = np.array([[E(lambda x, a=a, b=b: g(x)[a] * g(x)[b]) for b in range(2)] for a in range(2)])
    Egp = np.array([[E(lambda x, a=a, b=b: g(x)[a] * post(x)[b]) for b in range(2)] for a in range(2)])
    S = Egg - Egp @ np.linalg.solve(H, Egp.T)
    A = np.trace(np.linalg.solve(H, G))
    B = np.trace(S @ np.linalg.inv(I_mu))
    assert np.allclose(out["H_ww"], H, rtol=5e-3)
    assert np.allclose(out["I_mu"], I_mu, rtol=1e-2)
    assert out["A"] == pytest.approx(A, rel=5e-3)
    assert out["B"] == pytest.approx(B, rel=3e-2)


def test_gmm_limit_is_cached_and_consistent():
    means = np.array([[0.0, 0.0], [3.0, 0.0], [1.5, 2.6]])
    pi = np.full(3, 1 / 3)
    a = ts.gmm_limit(means, pi, [1.0, -1.0, 0.5], 0.25, draws=200_000)
    b = ts.gmm_limit(means, pi, [1.0, -1.0, 0.5], 0.25, draws=200_000)
    assert a["A"] == b["A"] and a["B"] == b["B"]
    assert a["A"] == pytest.approx(a["head_weights"].sum())
    assert a["B"] == pytest.approx(a["pretrain_weights"].sum(), rel=1e-9)
    assert np.all(np.linalg.eigvalsh(a["S"]) > -1e-12)
    assert np.abs(a["H_wtheta"]).max() > 1e-3              # the Murphy-Topel cross block is active in 3c
    # gamma term exponentially small in the separation: B falls as the means move apart
    far = ts.gmm_limit(means * 2, pi, [1.0, -1.0, 0.5], 0.25, draws=200_000)
    assert far["B"] < 0.5 * a["B"]


@settings(max_examples=10)
@given(st.floats(0.0, 10.0))
def test_mean_risk_linear_in_gamma(gamma):
    eig = [5.0, 2.0, 0.5, 0.5]
    base = ts.spectral_mean_risk(eig, 2, [1.0, 2.0], 0.7, 0.0)
    assert base == pytest.approx(1.4)
    assert ts.spectral_mean_risk(eig, 2, [1.0, 2.0], 0.7, gamma) == pytest.approx(
        base + gamma * ts.spectral_B(eig, 2, [1.0, 2.0]))


def test_head_corrected_mean_risk_is_the_exact_factor_with_the_asymptotic_limit():
    """n E[excess] = A n/(n-r-1) + (n/m) B (n-1)/(n-r-1): the finite-sample formula with sigma^2 r = A and
    E[a] = B/m, tending to A + gamma B at m = n/gamma."""
    A, B, r, n, m = 3.0, 13.7, 3, 150, 445
    assert ts.head_corrected_mean_risk(A, B, r, n, m) == pytest.approx(
        n * ts.finite_sample_excess(B / m, r, n, A / r))
    assert ts.head_corrected_mean_risk(A, B, r, n, m) == pytest.approx(A * n / (n - r - 1) + n / m * B * (n - 1) / (n - r - 1))
    expr = ts.HEAD_CORRECTED_MEAN_RISK.subs(ts.m_sym, ts.n_sym / ts.gamma_sym)
    assert sp.simplify(sp.limit(expr, ts.n_sym, sp.oo) - (ts.A_sym + ts.gamma_sym * ts.B_sym)) == 0
    with pytest.raises(ValueError, match="n=4"):
        ts.head_corrected_mean_risk(A, B, 3, 4, 100)
