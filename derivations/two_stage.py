r"""Two-stage M-estimation asymptotics for pre-training (Tinati & Tu, arXiv 2603.27631, COLT 2026).

``docs/papers/two_stage.md`` §2-§5, every formula tagged [R] (derived from first principles; only the
abstract of the paper was checked).  Pre-training fits :math:`\hat\theta_m` on ``m`` unlabelled points,
the head :math:`\hat w_n` is the OLS fit of a linear probe on ``n`` labelled points, and with
:math:`\gamma = \lim n/m`

.. math::

    n\,\mathcal E_{n,m} \Rightarrow \sum_i \lambda_i \chi^2_{1,i} + \gamma \sum_j \mu_j \tilde\chi^2_{1,j},
    \qquad \lim n\,\mathbb E\mathcal E = A + \gamma B,

with :math:`\lambda = \mathrm{eig}(H_{ww}^{-1}G_{ww})` (head weights, ``A = sum(lambda)``) and
:math:`\mu = \mathrm{eig}(S\Sigma_{\rm pre})` (pre-training weights, ``B = sum(mu)``).

Case studies
------------
3a  spectral pre-training (PCA span) + OLS head: closed forms in the eigenvalues, Anderson's
    :math:`m\,\mathrm{Var}(C_{ab}) = \lambda_a\lambda_b/(\lambda_b-\lambda_a)^2`, and the exact finite-``n``
    formula :math:`\mathbb E\mathcal E = \mathbb E[a](1 + r/(n-r-1)) + \sigma^2 r/(n-r-1)`.
3b  factor model :math:`x = Bz + e`: 3a with :math:`\lambda_b = \ell_b + s^2` (top) and :math:`s^2` (bottom).
3c  Gaussian mixture (known :math:`\pi`, identity covariance, means estimated): the blocks
    :math:`H_{ww}, G_{ww}, I_\mu, S` are expectations without closed form; SymPy derives the integrands
    (posteriors, score, :math:`g=\nabla_\mu f`) and a tensor Gauss-Hermite rule (``d <= 2``) or a Monte
    Carlo integral with :data:`GMM_DRAWS` draws (fixed internal seed :data:`GMM_INTEGRAL_SEED`) evaluates
    them: a numerical integral of the prediction, not a replicate; cached per parameter set.

Every closed form is a SymPy expression; the public functions evaluate its ``lambdify``-ed form on
NumPy arrays of parameters.  Nothing here simulates the estimators.  The SymPy layer is built at first use
(:func:`expressions`), so importing this module does not load SymPy.
"""
from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace

import numpy as np


# --------------------------------------------------------------------------------- SymPy, built on first use
@lru_cache(maxsize=None)
def expressions() -> SimpleNamespace:
    """The module's SymPy symbols and closed forms, built at first use (SymPy is imported then).

    Each is also a module attribute (``two_stage.PAIR_WEIGHT``), served from here.
    """
    import sympy as sp

    # --------------------------------------------------------------------------------------------- symbols
    lam_a, lam_b = sp.symbols("lambda_a lambda_b", positive=True)   # bottom (a > r) / top (b <= r) eigenvalue
    beta_b = sp.Symbol("beta_b", real=True)                          # coordinate of beta* on u_b
    sigma2 = sp.Symbol("sigma2", positive=True)                      # label noise variance
    n_sym, m_sym, r_sym = sp.symbols("n m r", positive=True)
    gamma_sym = sp.Symbol("gamma", nonnegative=True)
    ell_b, s2_sym = sp.symbols("ell_b s2", positive=True)            # factor loading eigenvalue, noise var
    c_b = sp.Symbol("c_b", real=True)                                # c = V^T beta
    mean_approx = sp.Symbol("Ea", nonnegative=True)                  # E[a(U_hat)]
    C_phi, C_psi, c_const = sp.symbols("C_Phi C_Psi c", positive=True)

    # ------------------------------------------------------------------------ 3a: spectral pre-training
    # Anderson (1963): m Var(C_ab) -> lambda_a lambda_b / (lambda_b - lambda_a)^2 for Gaussian x.
    ANDERSON_VARIANCE = lam_a * lam_b / (lam_b - lam_a) ** 2
    # Diagonal entry of S = Lambda_2 (x) beta beta^T at the (a, b) coordinate: lambda_a beta_b^2.
    SCHUR_DIAGONAL = lam_a * beta_b ** 2
    # Contribution of the pair (a, b) to the pre-training weight w_a: lambda_a^2 beta_b^2 lambda_b/(gap)^2.
    # w_a is the one non-zero eigenvalue of the block lambda_a beta beta^T diag(Anderson variances).
    PAIR_WEIGHT = sp.simplify(lam_a * beta_b ** 2 * ANDERSON_VARIANCE)
    # Contribution of the pair to m E||U U^T - U* U*^T||_F^2 (projector distance diagnostic).
    PAIR_PROJECTOR = 2 * ANDERSON_VARIANCE

    # Exact finite-sample mean excess of 3a given E[a(U_hat)] (Gaussian linear model conditional on U_hat).
    FINITE_SAMPLE_EXCESS = mean_approx * (1 + r_sym / (n_sym - r_sym - 1)) + sigma2 * r_sym / (n_sym - r_sym - 1)
    # Its limit: n E[excess] -> sigma^2 r + gamma * (m E[a]).
    ASYMPTOTIC_MEAN_RISK = sigma2 * r_sym + gamma_sym * sp.Symbol("B", nonnegative=True)
    # Head and pre-training constants A = sigma^2 r (sigma_eff^2 r in 3b) and B = lim m E[a].
    A_sym, B_sym = sp.symbols("A B_const", nonnegative=True)
    # n E[excess] at finite n with the exact OLS factor and E[a] replaced by its leading term B/m:
    # A n/(n-r-1) + (n/m) B (n-1)/(n-r-1).  Exact in n for the jointly Gaussian tasks 3a and 3b; the only
    # neglected term is the O(1/m^2) remainder of E[a].
    HEAD_CORRECTED_MEAN_RISK = sp.simplify(
        n_sym * FINITE_SAMPLE_EXCESS.subs({mean_approx: B_sym / m_sym, sigma2: A_sym / r_sym}))

    # ------------------------------------------------------------------------------- 3b: factor model
    # Top eigenvalue of Sigma = B B^T + s^2 I, bottom eigenvalue s^2.
    FACTOR_TOP_EIGENVALUE = ell_b + s2_sym
    # theta* = U* beta_tilde: posterior-mean coefficient on u_b.
    FACTOR_TILDE_BETA = sp.sqrt(ell_b) / (ell_b + s2_sym) * c_b
    # One term of the effective noise sigma_eff^2 = sigma_nu^2 + sum_b s^2 c_b^2/(s^2 + ell_b).
    FACTOR_NOISE_TERM = s2_sym * c_b ** 2 / (s2_sym + ell_b)
    # One term of the common bottom weight W = s^4 sum_b c_b^2 / (ell_b (ell_b + s^2)).
    FACTOR_WEIGHT_TERM = s2_sym ** 2 * c_b ** 2 / (ell_b * (ell_b + s2_sym))

    # ------------------------------------------------------------------------------- section 5: bound
    # Rate shape of the prior bound (Ge et al. 2023) with unknown constants: c (sqrt(C_Phi/m) + sqrt(C_Psi/n)).
    PRIOR_BOUND_SHAPE = c_const * (sp.sqrt(C_phi / m_sym) + sp.sqrt(C_psi / n_sym))

    names = dict(locals())
    names.pop("sp")
    return SimpleNamespace(**names)


@lru_cache(maxsize=None)
def _numeric() -> SimpleNamespace:
    """The closed forms' NumPy functions (``sympy.lambdify``), made at first use."""
    import sympy as sp

    e = expressions()
    return SimpleNamespace(
        _pair_weight=sp.lambdify((e.lam_a, e.lam_b, e.beta_b), e.PAIR_WEIGHT, "numpy"),
        _pair_projector=sp.lambdify((e.lam_a, e.lam_b), e.PAIR_PROJECTOR, "numpy"),
        _finite_sample=sp.lambdify((e.mean_approx, e.r_sym, e.n_sym, e.sigma2), e.FINITE_SAMPLE_EXCESS, "numpy"),
        _head_corrected=sp.lambdify((e.A_sym, e.B_sym, e.r_sym, e.n_sym, e.m_sym), e.HEAD_CORRECTED_MEAN_RISK,
                                    "numpy"),
        _tilde_beta=sp.lambdify((e.ell_b, e.s2_sym, e.c_b), e.FACTOR_TILDE_BETA, "numpy"),
        _noise_term=sp.lambdify((e.ell_b, e.s2_sym, e.c_b), e.FACTOR_NOISE_TERM, "numpy"),
        _weight_term=sp.lambdify((e.ell_b, e.s2_sym, e.c_b), e.FACTOR_WEIGHT_TERM, "numpy"),
        _prior_shape=sp.lambdify((e.n_sym, e.m_sym, e.C_phi, e.C_psi, e.c_const), e.PRIOR_BOUND_SHAPE,
                                 "numpy"),
    )


#: Symbols and SymPy closed forms, module attributes made at first access (:func:`expressions`).
SYMBOLIC_NAMES = (
    "lam_a", "lam_b", "beta_b", "sigma2", "n_sym", "m_sym", "r_sym", "gamma_sym", "ell_b", "s2_sym", "c_b",
    "mean_approx", "C_phi", "C_psi", "c_const", "ANDERSON_VARIANCE", "SCHUR_DIAGONAL", "PAIR_WEIGHT",
    "PAIR_PROJECTOR", "FINITE_SAMPLE_EXCESS", "ASYMPTOTIC_MEAN_RISK", "A_sym", "B_sym",
    "HEAD_CORRECTED_MEAN_RISK", "FACTOR_TOP_EIGENVALUE", "FACTOR_TILDE_BETA", "FACTOR_NOISE_TERM",
    "FACTOR_WEIGHT_TERM", "PRIOR_BOUND_SHAPE",
)

_LAMBDIFIED = (
    "_pair_weight", "_pair_projector", "_finite_sample", "_head_corrected", "_tilde_beta", "_noise_term",
    "_weight_term", "_prior_shape",
)


def __getattr__(name):
    """SymPy names (symbols, closed forms, ``sp``) and lambdified functions, made at first access."""
    if name == "sp":
        import sympy

        return sympy
    if name in SYMBOLIC_NAMES:
        return getattr(expressions(), name)
    if name in _LAMBDIFIED:
        return getattr(_numeric(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------------------------- 3a numbers
def _split(eigenvalues, r):
    lam = np.asarray(eigenvalues, float)
    if not 1 <= r < lam.size:
        raise ValueError(f"r={r} must satisfy 1 <= r < d={lam.size}")
    top, bottom = lam[:r], lam[r:]
    if not top.min() > bottom.max():
        raise ValueError(f"eigengap needed: lambda_r={top.min()} must exceed lambda_(r+1)={bottom.max()}")
    return top, bottom


def spectral_head_weights(r: int, noise_var: float) -> np.ndarray:
    r"""Head weights of 3a: :math:`\mathrm{eig}(H_{ww}^{-1}G_{ww}) = \mathrm{eig}(\Lambda_1^{-1}\sigma^2\Lambda_1)
    = (\sigma^2, \dots, \sigma^2)` (``r`` of them)."""
    return np.full(int(r), float(noise_var))


def spectral_pretrain_weights(eigenvalues, r: int, beta) -> np.ndarray:
    r"""Pre-training weights of 3a, one per bottom eigenvalue ``a = r+1..d``:

    .. math:: w_a = \lambda_a^2 \sum_{b\le r} \beta_b^{\star2} \frac{\lambda_b}{(\lambda_b-\lambda_a)^2}.
    """
    top, bottom = _split(eigenvalues, r)
    beta = np.asarray(beta, float)
    if beta.size != r:
        raise ValueError(f"beta has {beta.size} entries, r={r} needed")
    return _numeric()._pair_weight(bottom[:, None], top[None, :], beta[None, :]).sum(axis=1)


def spectral_A(r: int, noise_var: float) -> float:
    r""":math:`A = \mathrm{tr}(H_{ww}^{-1}G_{ww}) = \sigma^2 r`."""
    return float(spectral_head_weights(r, noise_var).sum())


def spectral_B(eigenvalues, r: int, beta) -> float:
    r""":math:`B = \mathrm{tr}(S\Sigma_{\rm pre}) = \sum_a w_a = \lim m\,\mathbb E[a(\hat U)]`."""
    return float(spectral_pretrain_weights(eigenvalues, r, beta).sum())


def spectral_mean_risk(eigenvalues, r: int, beta, noise_var: float, gamma: float) -> float:
    r""":math:`\lim n\,\mathbb E\mathcal E = \sigma^2 r + \gamma\sum_a w_a` (3a)."""
    return spectral_A(r, noise_var) + float(gamma) * spectral_B(eigenvalues, r, beta)


def spectral_projector_error(eigenvalues, r: int) -> float:
    r"""Diagnostic :math:`\lim m\,\mathbb E\|\hat U\hat U^\top - U^\star U^{\star\top}\|_F^2
    = 2\sum_{a>r,b\le r}\lambda_a\lambda_b/(\lambda_b-\lambda_a)^2`."""
    top, bottom = _split(eigenvalues, r)
    return float(_numeric()._pair_projector(bottom[:, None], top[None, :]).sum())


def finite_sample_excess(mean_approx_error: float, r: int, n: int, noise_var: float) -> float:
    r"""Exact :math:`\mathbb E\mathcal E = \mathbb E[a](1+\frac{r}{n-r-1}) + \frac{\sigma^2 r}{n-r-1}` of 3a
    given :math:`\mathbb E[a(\hat U)]` (needs ``n > r + 1``)."""
    if n <= r + 1:
        raise ValueError(f"n={n} must exceed r + 1 = {r + 1}")
    return float(_numeric()._finite_sample(mean_approx_error, r, n, noise_var))


def finite_sample_pieces(eigenvalues, r: int, beta, noise_var: float, n: int, m: int) -> dict:
    r"""The pieces of the 3a finite-sample formula with :math:`\mathbb E[a] \approx B/m`.

    Returns ``inflation = 1 + r/(n-r-1)``, ``ols_term = sigma^2 r/(n-r-1)``, ``mean_approx = B/m``
    (the leading term of :math:`\mathbb E[a(\hat U)]`; ``m E[a] -> B``) and ``mean_excess``.
    """
    B = spectral_B(eigenvalues, r, beta)
    ea = B / m
    return {"inflation": 1 + r / (n - r - 1), "ols_term": noise_var * r / (n - r - 1), "mean_approx": ea,
            "mean_excess": finite_sample_excess(ea, r, n, noise_var)}


def head_corrected_mean_risk(A: float, B: float, r: int, n: int, m: int) -> float:
    r"""Finite-``n`` prediction of :math:`n\,\mathbb E\mathcal E` for the jointly Gaussian tasks (3a, 3b):

    .. math:: n\Big[\frac Bm\Big(1+\frac{r}{n-r-1}\Big) + \frac{A}{n-r-1}\Big]
              = A\frac{n}{n-r-1} + \frac nm B\frac{n-1}{n-r-1},

    the exact OLS factor of :func:`finite_sample_excess` with :math:`\sigma^2 r = A` and
    :math:`\mathbb E[a] = B/m`.  It tends to :math:`A + \gamma B`; the neglected remainder is the
    :math:`O(1/m^2)` term of :math:`\mathbb E[a(\hat U)]` (needs ``n > r + 1``).
    """
    if n <= r + 1:
        raise ValueError(f"n={n} must exceed r + 1 = {r + 1}")
    return float(_numeric()._head_corrected(A, B, r, n, m))


# ---------------------------------------------------------------------------------------- 3b
def factor_spectrum(ell, s2: float, d: int) -> np.ndarray:
    r"""Eigenvalues of :math:`\Sigma = BB^\top + s^2I`: :math:`\ell_b + s^2` (``r`` top) then ``s2`` (``d-r``)."""
    ell = np.asarray(ell, float)
    return np.concatenate([ell + s2, np.full(int(d) - ell.size, float(s2))])


def factor_tilde_beta(ell, s2: float, c) -> np.ndarray:
    r""":math:`\tilde\beta_b = \sqrt{\ell_b}\,c_b/(\ell_b+s^2)`, with :math:`\theta^\star = U^\star\tilde\beta`."""
    return _numeric()._tilde_beta(np.asarray(ell, float), s2, np.asarray(c, float))


def factor_effective_noise(ell, s2: float, c, noise_var: float) -> float:
    r""":math:`\sigma^2_{\rm eff} = \sigma_\nu^2 + s^2\sum_b c_b^2/(s^2+\ell_b)`."""
    return float(noise_var + _numeric()._noise_term(np.asarray(ell, float), s2, np.asarray(c, float)).sum())


def factor_bottom_weight(ell, s2: float, c) -> float:
    r""":math:`W = s^4\sum_b c_b^2/(\ell_b(\ell_b+s^2))` (all ``d - r`` pre-training weights equal ``W``)."""
    return float(_numeric()._weight_term(np.asarray(ell, float), s2, np.asarray(c, float)).sum())


def factor_head_weights(ell, s2: float, c, noise_var: float) -> np.ndarray:
    return np.full(np.asarray(ell).size, factor_effective_noise(ell, s2, c, noise_var))


def factor_pretrain_weights(ell, s2: float, c, d: int) -> np.ndarray:
    return np.full(int(d) - np.asarray(ell).size, factor_bottom_weight(ell, s2, c))


def factor_A(ell, s2: float, c, noise_var: float) -> float:
    return float(factor_head_weights(ell, s2, c, noise_var).sum())


def factor_B(ell, s2: float, c, d: int) -> float:
    return float(factor_pretrain_weights(ell, s2, c, d).sum())


def factor_mean_risk(ell, s2: float, c, noise_var: float, d: int, gamma: float) -> float:
    r""":math:`\lim n\,\mathbb E\mathcal E = r\sigma^2_{\rm eff} + \gamma(d-r)W` (3b)."""
    return factor_A(ell, s2, c, noise_var) + float(gamma) * factor_B(ell, s2, c, d)


# ------------------------------------------------------------------------------------- section 5
def prior_bound_shape(n, m, C_Phi: float, C_Psi: float, c: float = 1.0):
    r"""Rate shape :math:`c(\sqrt{C_\Phi/m} + \sqrt{C_\Psi/n})` of the prior bound (constants unknown:
    "rate shape only")."""
    return _numeric()._prior_shape(np.asarray(n, float), np.asarray(m, float), C_Phi, C_Psi, c)


# ---------------------------------------------------------------------------------------- 3c
#: Draws of the Monte Carlo integrals of the 3c blocks.
GMM_DRAWS = 1_000_000
#: Fixed seed of those integrals (a quadrature rule of the prediction, not a replicate).
GMM_INTEGRAL_SEED = 2603_27631
#: Order of the tensor Gauss-Hermite rule used instead for d <= GMM_GH_MAX_DIM (K order^d nodes).  At the
#: quick-tier mixture (d = 2, K = 3, separation 3) orders 80 and 120 agree on A to 1e-6 and on B to 1e-5
#: relative, while 10^6 Monte Carlo draws scatter B by about 0.3 % over seeds (-0.2 % at the old fixed seed).
GMM_GH_ORDER = 80
GMM_GH_MAX_DIM = 2
_GMM_CHUNK = 125_000


@lru_cache(maxsize=16)
def gmm_integrands(K: int, d: int):
    r"""SymPy integrands of the 3c blocks, lambdified.

    With logits :math:`\eta_k = \log\pi_k + x^\top\mu_k - |\mu_k|^2/2` (the :math:`|x|^2` term cancels),

    * posteriors :math:`\phi_k = e^{\eta_k}/\sum_j e^{\eta_j}`,
    * score :math:`s_{j} = \partial_{\mu_j}\log\sum_k\pi_kN(x;\mu_k,I)` (SymPy derivative; equals
      :math:`\phi_j(x-\mu_j)`),
    * :math:`f = \beta^\top\phi`, :math:`g_{j} = \partial_{\mu_j}f` (SymPy derivative; equals
      :math:`\phi_j(\beta_j-f)(x-\mu_j)`),
    * conditional variance :math:`v = \sigma_\nu^2 + \sum_k\beta_k^2\phi_k - f^2`.

    Returns ``(symbols, exprs, funcs)``; each ``funcs[name](x, mu, log_pi, beta, noise_var)`` takes
    ``x`` of shape ``(d, N)``, ``mu`` ``(K, d)``, and returns a list of arrays of length ``N``.
    """
    import sympy as sp

    x = sp.Matrix(sp.symbols(f"x0:{d}", real=True))
    mu = sp.Matrix(K, d, lambda k, i: sp.Symbol(f"mu_{k}_{i}", real=True))
    log_pi = sp.Matrix(sp.symbols(f"logpi0:{K}", real=True))
    beta = sp.Matrix(sp.symbols(f"beta0:{K}", real=True))
    noise = sp.Symbol("sigma_nu2", positive=True)
    eta = [log_pi[k] + (x.T * mu[k, :].T)[0] - (mu[k, :] * mu[k, :].T)[0] / 2 for k in range(K)]
    log_mix = sp.log(sum(sp.exp(e) for e in eta))                 # log sum_k pi_k N(x; mu_k, I) + const
    denom = sum(sp.exp(e) for e in eta)
    phi = [sp.exp(e) / denom for e in eta]
    f = sum(beta[k] * phi[k] for k in range(K))
    score = [sp.diff(log_mix, mu[j, i]) for j in range(K) for i in range(d)]
    g = [sp.diff(f, mu[j, i]) for j in range(K) for i in range(d)]
    v = noise + sum(beta[k] ** 2 * phi[k] for k in range(K)) - f ** 2
    args = (list(x), [list(mu.row(k)) for k in range(K)], list(log_pi), list(beta), noise)
    exprs = {"phi": phi, "f": [f], "score": score, "g": g, "v": [v]}
    funcs = {name: sp.lambdify(args, e, "numpy", cse=True) for name, e in exprs.items()}
    return {"x": x, "mu": mu, "log_pi": log_pi, "beta": beta, "noise": noise}, exprs, funcs


def gmm_draw(rng, means, pi, size):
    """``size`` draws of :math:`x\\sim\\sum_k\\pi_kN(\\mu_k,I)` with their labels (for the integrals)."""
    means = np.asarray(means, float)
    labels = rng.choice(means.shape[0], size=size, p=np.asarray(pi, float))
    return means[labels] + rng.standard_normal((size, means.shape[1])), labels


def _stack(values, size):
    return np.stack([np.broadcast_to(np.asarray(v, float), (size,)) for v in values], axis=1)


def gmm_gauss_hermite_nodes(means, pi, order: int):
    r"""Tensor Gauss-Hermite rule of the mixture :math:`\sum_k\pi_kN(\mu_k,I_d)`: nodes ``(K order^d, d)``
    and weights summing to 1.

    :math:`\mathbb E h(x) = \sum_k\pi_k\,\mathbb E h(\mu_k+z)`, each Gaussian expectation by the
    ``order``-point probabilists' Hermite rule in every coordinate (exact for polynomials of degree
    ``2 order - 1`` per coordinate; the 3c integrands are analytic, so the error falls geometrically in
    ``order``).  Deterministic: no seed, no Monte Carlo error.
    """
    means = np.asarray(means, float)
    pi = np.asarray(pi, float)
    K, d = means.shape
    z, w = np.polynomial.hermite_e.hermegauss(int(order))
    w = w / np.sqrt(2.0 * np.pi)
    grids = np.meshgrid(*([z] * d), indexing="ij")
    Z = np.stack([g.ravel() for g in grids], axis=1)
    W = np.prod(np.stack([g.ravel() for g in np.meshgrid(*([w] * d), indexing="ij")], axis=1), axis=1)
    nodes = (means[:, None, :] + Z[None, :, :]).reshape(-1, d)
    weights = (pi[:, None] * W[None, :]).ravel()
    return nodes, weights


def _gmm_points(means, pi, draws, seed):
    """Chunks ``(x, weight)`` of the rule: Gauss-Hermite (``draws <= 0``, order ``-draws``) or Monte Carlo."""
    if draws <= 0:
        x, w = gmm_gauss_hermite_nodes(means, pi, -draws)
        for start in range(0, x.shape[0], _GMM_CHUNK):
            yield x[start:start + _GMM_CHUNK], w[start:start + _GMM_CHUNK]
        return
    rng = np.random.default_rng(seed)
    done = 0
    while done < draws:
        size = min(_GMM_CHUNK, draws - done)
        x, _ = gmm_draw(rng, means, pi, size)
        yield x, np.full(size, 1.0 / draws)
        done += size


@lru_cache(maxsize=64)
def _gmm_blocks_cached(means_t, pi_t, beta_t, noise_var, draws, seed):
    means, pi, beta = np.array(means_t), np.array(pi_t), np.array(beta_t)
    K, d = means.shape
    _, _, funcs = gmm_integrands(K, d)
    args = ([list(row) for row in means], list(np.log(pi)), list(beta), noise_var)
    p = K * d
    H, G, I_mu, Egg, Egphi = (np.zeros((K, K)), np.zeros((K, K)), np.zeros((p, p)), np.zeros((p, p)),
                              np.zeros((p, K)))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        for x, wt in _gmm_points(means, pi, draws, seed):
            size = x.shape[0]
            xs = list(x.T)
            phi = _stack(funcs["phi"](xs, *args), size)
            v = _stack(funcs["v"](xs, *args), size)[:, 0]
            s = _stack(funcs["score"](xs, *args), size)
            g = _stack(funcs["g"](xs, *args), size)
            if not (np.all(np.isfinite(phi)) and np.all(np.isfinite(s)) and np.all(np.isfinite(g))):
                raise FloatingPointError("3c integrand: a posterior, score or g value is NaN/inf")
            H += (phi * wt[:, None]).T @ phi
            G += (phi * (wt * v)[:, None]).T @ phi
            I_mu += (s * wt[:, None]).T @ s
            Egg += (g * wt[:, None]).T @ g
            Egphi += (g * wt[:, None]).T @ phi
    S = Egg - Egphi @ np.linalg.solve(H, Egphi.T)
    S = (S + S.T) / 2
    return H, G, I_mu, S, Egphi


def gmm_default_draws(d: int) -> int:
    """The quadrature rule used by default: Gauss-Hermite of order :data:`GMM_GH_ORDER` (coded ``-order``)
    for ``d <= GMM_GH_MAX_DIM``, else :data:`GMM_DRAWS` Monte Carlo draws."""
    return -GMM_GH_ORDER if d <= GMM_GH_MAX_DIM else GMM_DRAWS


def gmm_blocks(means, pi, beta, noise_var: float, draws: int | None = None,
               seed: int = GMM_INTEGRAL_SEED) -> dict:
    r"""The 3c blocks by quadrature, cached: ``draws > 0`` Monte Carlo points (fixed ``seed``),
    ``draws = -q`` the tensor Gauss-Hermite rule of order ``q`` (:func:`gmm_gauss_hermite_nodes`),
    ``None`` the default (:func:`gmm_default_draws`).

    Returns ``H_ww = E[phi phi^T]``, ``G_ww = E[v phi phi^T]``, ``I_mu = E[s s^T]`` (``Kd x Kd``, mean
    coordinates ordered component-major), ``S = E[g g^T] - E[g phi^T] H_ww^{-1} E[phi g^T]`` and
    ``H_wtheta = E[phi g^T]`` (the Murphy-Topel cross block, non-zero here).
    """
    if draws is None:
        draws = gmm_default_draws(np.asarray(means).shape[1])
    key = (tuple(map(tuple, np.asarray(means, float))), tuple(np.asarray(pi, float)),
           tuple(np.asarray(beta, float)), float(noise_var), int(draws), int(seed))
    H, G, I_mu, S, Egphi = _gmm_blocks_cached(*key)
    return {"H_ww": H.copy(), "G_ww": G.copy(), "I_mu": I_mu.copy(), "S": S.copy(),
            "H_wtheta": Egphi.T.copy()}


def limit_from_blocks(H_ww, G_ww, S, Sigma_pre) -> dict:
    r"""Section 2 from its blocks: weights :math:`\mathrm{eig}(H^{-1}G)`, :math:`\mathrm{eig}(S\Sigma_{\rm pre})`
    and their sums ``A``, ``B``."""
    head = np.sort(np.linalg.eigvals(np.linalg.solve(H_ww, G_ww)).real)[::-1]
    pre = np.sort(np.linalg.eigvals(S @ Sigma_pre).real)[::-1]
    return {"head_weights": head, "pretrain_weights": np.clip(pre, 0.0, None),
            "A": float(np.trace(np.linalg.solve(H_ww, G_ww))), "B": float(np.trace(S @ Sigma_pre))}


def gmm_limit(means, pi, beta, noise_var: float, draws: int | None = None,
              seed: int = GMM_INTEGRAL_SEED) -> dict:
    r"""3c: ``A = tr(H^{-1}G)``, ``B = tr(S I_mu^{-1})`` and the weights of the limit law."""
    blocks = gmm_blocks(means, pi, beta, noise_var, draws, seed)
    out = limit_from_blocks(blocks["H_ww"], blocks["G_ww"], blocks["S"], np.linalg.inv(blocks["I_mu"]))
    out.update(blocks)
    return out
