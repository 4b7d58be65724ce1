r"""Claims ``mest.*``: Tinati & Tu, two-stage M-estimation asymptotics (``docs/papers/two_stage.md`` §2-§5).

Every formula checked here is the spec's own derivation ([R]); only the paper's abstract was confirmed
([V]).  The predictions come from :mod:`derivations.two_stage`, the measurements from
:mod:`simulations.two_stage`; one replicate is ``reps`` independent repetitions of the whole two-stage
procedure (fresh pre-training and downstream samples each time).

=================================  ============  ==============================================================
claim                              kind          statement
=================================  ============  ==============================================================
mest.spectral.mean_risk            estimate      3a: n E[excess] -> A + gamma B
mest.factor.mean_risk              estimate      3b: same for the factor model
mest.gmm.mean_risk                 estimate      3c: same for the Gaussian mixture (blocks by quadrature)
mest.spectral.rate                 scaling       3a: excess ~ n^-1 at fixed gamma (prior bound: n^-1/2)
mest.spectral.law                  upper_bound   3a: KS distance of n * excess to the weighted chi-square limit
mest.factor.law                    upper_bound   3b: same
mest.spectral.finite_sample        estimate      3a: exact E[excess] = E[a](1 + r/(n-r-1)) + sigma^2 r/(n-r-1)
mest.spectral.representation_term  estimate      3a: m E[a(U_hat)] -> sum_a w_a
=================================  ============  ==============================================================
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.special import stdtrit

from derivations import two_stage as ts
from simulations import two_stage as sim
from theorycheck import (Claim, Constraint, Curve, Param, Regime, Tolerance, loglog_slope, register,
                         register_bench)
from theorycheck import Ladder, Window

PAPER = "Tinati & Tu, two-stage M-estimation asymptotics for pre-training (arXiv 2603.27631, COLT 2026)"
KS_C95 = math.sqrt(-math.log(0.025) / 2)          # Kolmogorov 95 % point: 1.358
LAW_CONTROL_CRITICALS = 3.0                        # the law control sits this many KS critical values away
MEAN_NEAR_MISS = 0.8                               # near-miss control of the mean risk: A + 0.8 gamma B
DOWNSTREAM_PER_DIM = 50                            # docs/papers/two_stage.md §4 guidance n >= 50 r

SPECTRAL_EIGS = [10.0, 6.0, 4.0] + [1.0] * 17      # docs/papers/two_stage.md §4, §3a
SPECTRAL_BETA = [1.0, 1.0, 1.0]


# =============================================================================================== regimes
def _sizes(n, m, reps, n_low=2):
    return [Param("n", quick=n[0], full=n[1], kind="int", low=n_low, high=10 ** 7, search=(50, 20000),
                  doc="downstream (labelled) sample size"),
            Param("m", quick=m[0], full=m[1], kind="int", low=2, high=10 ** 8, search=(500, 200000),
                  doc="pre-training (unlabelled) sample size"),
            Param("reps", quick=reps[0], full=reps[1], kind="int", low=2, high=10 ** 6,
                  doc="repetitions of the two-stage procedure per replicate")]


def _sampler_param():
    return Param("sampler", quick="wishart", kind="choice", choices=("wishart", "data"),
                 doc="'wishart': exact draw of the scatter matrices the estimators see; 'data': draw the points")


def _eig(p, i):
    return float(p["eigenvalues"][i])


def _spectral_constraints(with_n=True, with_m=True, guidance_n=False, guidance_m=False):
    """Assumptions of 3a; ``guidance_n`` / ``guidance_m`` add docs/papers/two_stage.md §4's size guidance (the asymptotic claims)."""
    cons = [
        Constraint("eigenvalues_descending",
                   lambda p: all(a >= b for a, b in zip(p["eigenvalues"], p["eigenvalues"][1:])),
                   "eigenvalues listed in non-increasing order (lambda_1 >= ... >= lambda_d)", ("eigenvalues",)),
        Constraint("proper_subspace", lambda p: 1 <= p["r"] < len(p["eigenvalues"]),
                   "1 <= r < d = len(eigenvalues)", ("r", "eigenvalues")),
        Constraint("eigengap", lambda p: _eig(p, p["r"] - 1) > _eig(p, p["r"]),
                   "lambda_r > lambda_(r+1): an eigengap after the r-th eigenvalue", ("r", "eigenvalues")),
        Constraint("beta_length", lambda p: len(p["beta"]) == p["r"],
                   "len(beta) == r (coordinates of beta* in the top-r eigenbasis)", ("beta", "r")),
    ]
    if with_n:
        cons.append(Constraint("ols_mean_exists", lambda p: p["n"] > p["r"] + 1,
                               "n > r + 1 (the OLS excess risk has a finite mean)", ("n", "r")))
    if with_m:
        cons.append(Constraint("full_rank_sample_covariance", lambda p: p["m"] >= len(p["eigenvalues"]),
                               "m >= d = len(eigenvalues) (full-rank sample covariance)", ("m", "eigenvalues")))
    if guidance_n:
        cons.append(_downstream_guidance(lambda p: p["r"], ("n", "r")))
    if guidance_m:
        cons.append(_pretraining_guidance(lambda p: p["eigenvalues"], lambda p: p["r"], ("m", "eigenvalues", "r")))
    return cons


GUIDANCE_REASON = ("docs/papers/two_stage.md §4: below it the neglected second-order terms of the eigenvector "
                   "expansion (relative size ~ d lambda_1 lambda_(r+1)/(gap^2 m)) exceed the 5 % precision the "
                   "asymptotic claims are judged at")


def _downstream_guidance(r_of, names):
    return Constraint("downstream_size_guidance", lambda p: p["n"] >= DOWNSTREAM_PER_DIM * r_of(p),
                      f"n >= {DOWNSTREAM_PER_DIM} r (docs/papers/two_stage.md §4 guidance: the head's higher-order "
                      "terms in 1/n stay small; the exact OLS factor n/(n-r-1) is predicted, not absorbed)", names)


def _pretraining_guidance(spectrum_of, r_of, names):
    return Constraint("pretraining_size_guidance",
                      lambda p: p["m"] >= pretraining_size_guidance(spectrum_of(p), r_of(p)),
                      "m >= 20 d lambda_1 lambda_(r+1)/(lambda_r - lambda_(r+1))^2 (" + GUIDANCE_REASON + ")",
                      names)


def pretraining_size_guidance(eigenvalues, r) -> int:
    """Spec §4: the perturbation expansion is accurate for m >~ 20 d lambda_1 lambda_(r+1)/(lambda_r - lambda_(r+1))^2."""
    lam = [float(v) for v in eigenvalues]
    return int(math.ceil(20 * len(lam) * lam[0] * lam[r] / (lam[r - 1] - lam[r]) ** 2))


def _spectral_strategy(defaults, sizes: str | None, m_factor: float = 1, m_span: float | None = None,
                       m_floor: int = 0, n_floor: int = 0):
    """Hypothesis strategy of valid 3a configurations (beta's length depends on r); the other parameters
    keep the tier defaults ``defaults(tier)``.

    ``sizes="asymptotic"`` draws n >= 50 r and m above :func:`pretraining_size_guidance` (docs/papers/two_stage.md §4: where the
    asymptotic claims are asserted, so ``explore`` searches there); ``sizes="small_n"`` draws r + 4 <= n <= 60
    (the finite-sample claim); ``"rate"`` draws gamma and a doubling grid of n whose smallest point meets the
    guidance; ``None`` draws no sizes.
    ``m_factor`` raises the lowest m to that multiple of the guidance (and at least ``m_floor``), ``m_span`` caps m at
    ``m_span`` times the lowest (default: up to 200000); ``n_floor`` raises the lowest asymptotic n.
    """

    def strategy(tier):
        from hypothesis import strategies as st

        @st.composite
        def configs(draw):
            d = draw(st.integers(3, 12))
            r = draw(st.integers(1, d - 1))
            top = sorted(draw(st.lists(st.floats(1.5, 20.0), min_size=r, max_size=r)), reverse=True)
            bottom = sorted(draw(st.lists(st.floats(0.05, 1.0), min_size=d - r, max_size=d - r)), reverse=True)
            p = {"eigenvalues": top + bottom, "r": r,
                 "beta": draw(st.lists(st.floats(-3.0, 3.0), min_size=r, max_size=r)),
                 "noise_var": draw(st.floats(0.05, 5.0))}
            m_low = max(d, m_floor, int(math.ceil(m_factor * pretraining_size_guidance(p["eigenvalues"], r))))
            if sizes == "rate":
                p["gamma"] = draw(st.floats(0.25, 4.0))
                n0 = max(DOWNSTREAM_PER_DIM * r, int(math.ceil(p["gamma"] * m_low)) + 1)
                n0 = draw(st.integers(n0, 2 * n0))
                p["n_grid"] = [n0 * 2 ** k for k in range(draw(st.integers(3, 5)))]
            elif sizes is not None:
                p["m"] = draw(st.integers(m_low, max(m_low, int(m_span * m_low) if m_span else 200000)))
                p["n"] = draw(st.integers(r + 4, 60) if sizes == "small_n"
                              else st.integers(max(n_floor, DOWNSTREAM_PER_DIM * r), max(n_floor, 20000)))
            return p

        return configs().map(lambda p: {**defaults(tier), **p})

    return strategy


def _spectral_core_params():
    return [Param("eigenvalues", quick=SPECTRAL_EIGS, kind="floats", low=0, low_open=True, length=(2, 200),
                  doc="eigenvalues of Cov(x), descending (d = their number)"),
            Param("r", quick=3, kind="int", low=1, high=199, doc="representation dimension (top-r PCA span)"),
            Param("beta", quick=SPECTRAL_BETA, kind="floats", length=(1, 199), search=(-3, 3),
                  doc="beta*: coordinates of the regression vector in the top-r eigenbasis"),
            Param("noise_var", quick=1.0, kind="float", low=0, low_open=True, doc="label noise variance sigma^2")]


def _pretraining_term_resolved(A_B, r_of, names):
    """The mean-risk claims test the pre-training term only where its near miss cannot share the band of the
    prediction: (1 + tol) (A + 0.8 γB) < (1 - tol) (A + γB), both at the finite-n head factor, so that a
    verified verdict refutes the near miss.  Where γB is below about half of the prediction (beta* near 0,
    small gamma, a wide eigengap) the 5 % band cannot tell A + γB from A + 0.8 γB, nor from the oracle A."""
    def check(p):
        A, B = A_B(p)
        r = r_of(p)
        pred = ts.head_corrected_mean_risk(A, B, r, p["n"], p["m"])
        near = ts.head_corrected_mean_risk(A, MEAN_NEAR_MISS * B, r, p["n"], p["m"])
        return (1 + MEAN_TOL) * near < (1 - MEAN_TOL) * pred
    return Constraint("pretraining_term_resolved", check,
                      f"(1 + tol) (A + {MEAN_NEAR_MISS:g} γB) < (1 - tol) (A + γB), tol = 0.05 the claim's band: the "
                      f"pre-training term is large enough (about half of the prediction) for the band to tell it "
                      f"from the {MEAN_NEAR_MISS:g} γB near miss (the property test drew beta* = 0, where the "
                      f"near miss and the oracle A were verified with the claim)", names)


MEAN_GUIDANCE_FACTOR = 4
MEAN_M_FLOOR = 2000
# quick-tier repetitions of the mean-risk claims, raised from 4000 after the property test drew n = 50 (3a,
# eigenvalues [1.5, 1, 0.25], beta = [3]): 1.679 [1.620, 1.738] against 1.652 +- 0.083 was inconclusive on
# 4 x 4000 repetitions (the OLS risk at n = 50 r is heavy-tailed); 4 x 20000 gave 1.662 [1.654, 1.671]
MEAN_REPS_QUICK = 20000


def _mean_pretraining_floor(p) -> int:
    return max(MEAN_M_FLOOR, MEAN_GUIDANCE_FACTOR * pretraining_size_guidance(p["eigenvalues"], p["r"]))


SPECTRAL_MEAN_REGIME = Regime(
    params=_spectral_core_params() + _sizes((2000, 8000), (2000, 8000), (MEAN_REPS_QUICK, 20000)) + [_sampler_param()],
    constraints=_spectral_constraints(guidance_n=True, guidance_m=True) + [
        _pretraining_term_resolved(lambda p: _spectral_A_B(p), lambda p: p["r"],
                                   ("eigenvalues", "r", "beta", "noise_var", "n", "m")),
        Constraint("pretraining_size_for_the_band",
                   lambda p: p["m"] >= _mean_pretraining_floor(p),
                   f"m >= max({MEAN_M_FLOOR}, {MEAN_GUIDANCE_FACTOR} x the spec's pretraining size guidance): at the "
                   "guidance itself the "
                   "gamma B term is 9.7 % above its limit (eigenvalues [1.5, 1, 1], r = 1, beta = [1], n = 50, "
                   "m = 360, 8 seeds: refuted), 3.6 % at twice it, 1.9 % at four times it and 1.0 % at eight times it, a 1/m "
                   "bias the 5 % band cannot absorb where the pre-training term dominates (at four times it the quick "
                   "tier's 4 seeds were inconclusive, +2.1 % at eigenvalues [2, 1, 1], noise 0.25, n = 50, m = 480); "
                   "at eight times it but m = 80 (eigenvalues [8, 1, 1], beta = [3], n = 50) +1.9 %, again inconclusive on 4 "
                   "seeds: the O(1/m) terms the guidance does not scale, hence the floor", ("m", "eigenvalues", "r"))],
    strategy_fn=_spectral_strategy(lambda tier: SPECTRAL_MEAN_REGIME.defaults(tier), sizes="asymptotic",
                                   m_factor=MEAN_GUIDANCE_FACTOR, m_span=8, m_floor=MEAN_M_FLOOR))


def _spectral_task(p):
    return sim.spectral_task(p["eigenvalues"], p["r"], p["beta"], p["noise_var"])


def _spectral_A_B(p):
    return ts.spectral_A(p["r"], p["noise_var"]), ts.spectral_B(p["eigenvalues"], p["r"], p["beta"])


def _spectral_weights(p):
    return ts.spectral_head_weights(p["r"], p["noise_var"]), ts.spectral_pretrain_weights(
        p["eigenvalues"], p["r"], p["beta"])


# -------------------------------------------------------------------------------------------- 3b
FACTOR_LOADINGS = [9.0, 4.0]
FACTOR_BETA = [1.0, -1.0]


def _factor_constraints():
    return [
        Constraint("loadings_descending",
                   lambda p: all(a >= b for a, b in zip(p["loadings"], p["loadings"][1:])),
                   "loadings ell_1 >= ... >= ell_r (eigenvalues of B^T B)", ("loadings",)),
        Constraint("proper_subspace", lambda p: len(p["loadings"]) < p["d"],
                   "r = len(loadings) < d", ("loadings", "d")),
        Constraint("beta_length", lambda p: len(p["beta"]) == len(p["loadings"]),
                   "len(beta) == r = len(loadings)", ("beta", "loadings")),
        Constraint("ols_mean_exists", lambda p: p["n"] > len(p["loadings"]) + 1,
                   "n > r + 1 (the OLS excess risk has a finite mean)", ("n", "loadings")),
        Constraint("full_rank_sample_covariance", lambda p: p["m"] >= p["d"], "m >= d (full-rank sample covariance)",
                   ("m", "d")),
        _downstream_guidance(lambda p: len(p["loadings"]), ("n", "loadings")),
        _pretraining_guidance(lambda p: ts.factor_spectrum(p["loadings"], p["noise_s2"], p["d"]),
                              lambda p: len(p["loadings"]), ("m", "loadings", "noise_s2", "d")),
    ]


def _factor_params(n, m, reps):
    return [Param("loadings", quick=FACTOR_LOADINGS, kind="floats", low=0, low_open=True, length=(1, 50),
                  doc="ell: eigenvalues of B^T B (B = U* L^(1/2) V^T, V = I), descending"),
            Param("d", quick=30, kind="int", low=2, high=500, doc="ambient dimension"),
            Param("noise_s2", quick=1.0, kind="float", low=0, low_open=True, doc="isotropic noise variance s^2"),
            Param("beta", quick=FACTOR_BETA, kind="floats", length=(1, 50), doc="y = beta^T z + nu"),
            Param("label_noise_var", quick=0.25, kind="float", low=0, low_open=True,
                  doc="sigma_nu^2 (> 0: with beta = 0 a zero label would make the head's Gaussian law degenerate)")] + \
        _sizes(n, m, reps) + [_sampler_param()]


def _factor_strategy(defaults, m_factor: float = 1, m_span: float | None = None, m_floor: int = 0,
                     n_floor: int = 0):
    """Hypothesis strategy of valid 3b configurations (beta's length is r = len(loadings)), sizes drawn where
    docs/papers/two_stage.md §4's guidance holds (n >= 50 r, m above :func:`pretraining_size_guidance`).

    ``m_factor``, ``m_span``, ``m_floor`` and ``n_floor`` raise and cap the sizes as in :func:`_spectral_strategy`.
    """

    def strategy(tier):
        from hypothesis import strategies as st

        @st.composite
        def configs(draw):
            r = draw(st.integers(1, 4))
            d = draw(st.integers(r + 1, 40))
            p = {"loadings": sorted(draw(st.lists(st.floats(0.3, 20.0), min_size=r, max_size=r)), reverse=True),
                 "d": d, "noise_s2": draw(st.floats(0.1, 3.0)),
                 "beta": draw(st.lists(st.floats(-3.0, 3.0), min_size=r, max_size=r)),
                 "label_noise_var": draw(st.floats(0.01, 2.0)),
                 "n": draw(st.integers(max(n_floor, DOWNSTREAM_PER_DIM * r), max(n_floor, 20000)))}
            spectrum = ts.factor_spectrum(p["loadings"], p["noise_s2"], d)
            m_low = max(d, m_floor, int(math.ceil(m_factor * pretraining_size_guidance(spectrum, r))))
            p["m"] = draw(st.integers(m_low, max(m_low, int(m_span * m_low) if m_span else 200000)))
            return p

        return configs().map(lambda p: {**defaults(tier), **p})

    return strategy


def _factor_spectrum(p):
    return ts.factor_spectrum(p["loadings"], p["noise_s2"], p["d"])


# added after the property test drew m = 18 at the guidance (loadings [9], d = 2, s^2 = 3, beta = [3], n = 52):
# n E[excess] 5.72 [5.61, 5.84] against 4.62 +- 0.23, the same finite-m bias of the gamma B term as in 3a
FACTOR_MEAN_REGIME = Regime(_factor_params((2000, 8000), (2000, 8000), (MEAN_REPS_QUICK, 20000)),
                            _factor_constraints() + [
    _pretraining_term_resolved(lambda p: _factor_A_B(p), lambda p: len(p["loadings"]),
                               ("loadings", "d", "noise_s2", "beta", "label_noise_var", "n", "m")),
    Constraint("pretraining_size_for_the_band",
               lambda p: p["m"] >= max(MEAN_M_FLOOR, MEAN_GUIDANCE_FACTOR * pretraining_size_guidance(
                   _factor_spectrum(p), len(p["loadings"]))),
               f"m >= max({MEAN_M_FLOOR}, {MEAN_GUIDANCE_FACTOR} x the spec's pretraining size guidance), as for 3a: "
               "at the guidance itself (loadings [9], d = 2, s^2 = 3, beta = [3], n = 52, m = 18) n E[excess] was "
               "5.72 [5.61, 5.84] against A + gamma B = 4.62 +- 0.23, refuted by the O(1/m) bias of the gamma B term",
               ("m", "loadings", "noise_s2", "d"))],
                            _factor_strategy(lambda tier: FACTOR_MEAN_REGIME.defaults(tier),
                                             m_factor=MEAN_GUIDANCE_FACTOR, m_span=8, m_floor=MEAN_M_FLOOR))


def _factor_task(p):
    ell = np.asarray(p["loadings"], float)
    B = np.zeros((p["d"], ell.size))
    B[np.arange(ell.size), np.arange(ell.size)] = np.sqrt(ell)      # U* = first r coordinates, V = I
    return sim.factor_task(B, p["noise_s2"], p["beta"], p["label_noise_var"])


def _factor_A_B(p):
    return (ts.factor_A(p["loadings"], p["noise_s2"], p["beta"], p["label_noise_var"]),
            ts.factor_B(p["loadings"], p["noise_s2"], p["beta"], p["d"]))


def _factor_weights(p):
    return (ts.factor_head_weights(p["loadings"], p["noise_s2"], p["beta"], p["label_noise_var"]),
            ts.factor_pretrain_weights(p["loadings"], p["noise_s2"], p["beta"], p["d"]))


# -------------------------------------------------------------------------------------------- 3c
#: Order of the Gauss-Hermite rule integrating each fit's excess (K order^2 = 10800 nodes at d = 2, K = 3);
#: at the quick-tier sizes it is within 2e-4 of order 120 on every repetition's excess.
GMM_EXCESS_GH_ORDER = 60

GMM_SIZE_PER_COMPONENT = 200
GMM_M_PER_COMPONENT = 300
GMM_MIN_SEPARATION = 3.0
GMM_REGIME = Regime(
    params=[Param("d", quick=2, kind="int", low=1, high=10,
                  doc="dimension (2: the plane of the means' triangle, the spec's smallest d)"),
            Param("K", quick=3, kind="int", low=2, high=8, doc="number of components (equal weights 1/K)"),
            Param("separation", quick=3.0, kind="float", low=0, low_open=True, high=20,
                  doc="pairwise distance of the means (vertices of a regular simplex)"),
            Param("beta", quick=[1.0, -1.0, 0.5], kind="floats", length=(2, 8), doc="y = beta_z + nu"),
            Param("label_noise_var", quick=0.25, kind="float", low=0, doc="sigma_nu^2"),
            Param("n", quick=2000, full=8000, kind="int", low=2, high=10 ** 6, doc="downstream sample size"),
            Param("m", quick=1000, full=4000, kind="int", low=2, high=10 ** 6, doc="pre-training sample size"),
            Param("reps", quick=600, full=600, kind="int", low=2, high=10 ** 5,
                  doc="repetitions of the two-stage procedure per replicate"),
            Param("excess_rule", quick="gauss_hermite", kind="choice", choices=("gauss_hermite", "test_set"),
                  doc="how the population excess of each fit is integrated: 'gauss_hermite' (tensor rule of order "
                      f"{GMM_EXCESS_GH_ORDER} per component, d <= 2) or 'test_set' (test_size points)"),
            Param("test_size", quick=100_000, kind="int", low=1000, high=10 ** 7,
                  doc="size of the test set shared by the repetitions of a replicate (excess_rule='test_set')")],
    constraints=[
        Constraint("simplex_fits", lambda p: p["d"] >= p["K"] - 1, "d >= K - 1 (means on a regular simplex)",
                   ("d", "K")),
        Constraint("beta_length", lambda p: len(p["beta"]) == p["K"], "len(beta) == K", ("beta", "K")),
        Constraint("ols_mean_exists", lambda p: p["n"] > p["K"] + 1, "n > K + 1 (OLS on K posteriors)", ("n", "K")),
        Constraint("identifiable_means", lambda p: p["m"] >= 10 * p["K"] * p["d"],
                   "m >= 10 K d (EM has enough points per estimated mean coordinate)", ("m", "K", "d")),
        Constraint("quadrature_dimension", lambda p: p["excess_rule"] != "gauss_hermite" or p["d"] <= 2,
                   "excess_rule 'gauss_hermite' needs d <= 2 (a tensor rule has K order^d nodes)",
                   ("excess_rule", "d")),
        Constraint("separated_means", lambda p: p["separation"] >= GMM_MIN_SEPARATION,
                   f"separation >= {GMM_MIN_SEPARATION:g} (docs/papers/two_stage.md §4 uses about 3; at 1 the mean's "
                   "Fisher information is nearly singular and EM from the truth does not converge in 10^4 iterations "
                   "at m <= 150, as explore found). Raised from 2 after the property test drew separation 2 (K = 3, "
                   "d = 3, n = m = 200 K): the biases the prediction leaves out decay slowly there, +3.2 % at "
                   "n = m = 200 K (11.74 [11.50, 11.99] against 11.38 +- 0.57, inconclusive), +2.8 % at 400 K, "
                   "+1.5 % at 800 K", ("separation",)),
        Constraint("asymptotic_sizes", lambda p: min(p["n"], p["m"]) >= GMM_SIZE_PER_COMPONENT * p["K"],
                   f"n, m >= {GMM_SIZE_PER_COMPONENT} K: the spec gives no 3c guidance, and the OLS head on K "
                   "posteriors and EM carry O(K/n), O(K/m) relative biases the prediction leaves out. Raised from "
                   "our first analogue of docs/papers/two_stage.md §4's n >= 50 r after the property test drew K = 4, "
                   "d = 4, n = m = 200 = 50 K: +4.7 % (1.130 [1.106, 1.155] against 1.079 +- 0.054, inconclusive); "
                   "the same setting gave +3.7 % at n = m = 100 K (inconclusive) and +2.1 % at 200 K (1.102 "
                   "[1.089, 1.115], verified)", ("n", "m", "K")),
        Constraint("pretraining_size", lambda p: p["m"] >= GMM_M_PER_COMPONENT * p["K"],
                   f"m >= {GMM_M_PER_COMPONENT} K: EM's O(K/m) bias weighs on the pre-training term gamma B, which "
                   "dominates when n >> m. Added after the property test drew K = 4, d = 3, separation 5.8, "
                   "n = 4490, m = 816 (gamma = 5.5): +3.5 % (0.2399 [0.2347, 0.2451] against 0.2318 +- 0.0116, "
                   "inconclusive); at the same n +2.2 % at m = 1224 (300 K, verified), +1.6 % at 1632, +1.2 % at 3264",
                   ("m", "K")),
        # added after the property test drew beta = [0, 0], sigma_nu^2 = 0: y = 0, so the excess, the prediction and
        # its near miss are all 0 and the control cannot be refuted
        Constraint("pretraining_term_resolved", lambda p: _gmm_term_resolved(p),
                   f"(1 + tol) (A + {MEAN_NEAR_MISS:g} γB) < (1 - tol) (A + γB), tol = 0.05 the claim's band, as for "
                   "3a and 3b: the pre-training term is large enough for the band to tell it from the near miss "
                   "(the property test drew beta = [0, 0] with no label noise, where y = 0 and every excess is 0)",
                   ("d", "K", "separation", "beta", "label_noise_var", "n", "m")),
    ],
    strategy_fn=lambda tier: _gmm_strategy(tier))


def _gmm_term_resolved(p) -> bool:
    if max(p["beta"]) == min(p["beta"]):          # y independent of the component: B = 0 (no quadrature needed)
        return False
    lim = _gmm_limit(p)
    gamma = p["n"] / p["m"]
    return (1 + MEAN_TOL) * (lim["A"] + MEAN_NEAR_MISS * gamma * lim["B"]) < (1 - MEAN_TOL) * (lim["A"] + gamma * lim["B"])


def _gmm_strategy(tier):
    """Hypothesis strategy of valid 3c configurations (beta's length is K), sizes n >= 200 K and m >= 300 K (the
    regime's floors, see its ``asymptotic_sizes`` and ``pretraining_size``); the excess by Gauss-Hermite where
    d <= 2, the tier's repetitions per replicate (300 until a drawn setting, d = 1, K = 2, separation 5.5,
    n = m = 400, came out +2.5 % with an interval of +-2 %: inconclusive at the resolution, not at the
    theorem)."""
    from hypothesis import strategies as st

    @st.composite
    def configs(draw):
        K = draw(st.integers(2, 4))
        d = draw(st.integers(max(1, K - 1), 5))
        return {"K": K, "d": d, "separation": draw(st.floats(GMM_MIN_SEPARATION, 6.0)),
                "beta": draw(st.lists(st.floats(-2.0, 2.0), min_size=K, max_size=K)),
                "label_noise_var": draw(st.floats(0.0, 1.0)),
                "n": draw(st.integers(GMM_SIZE_PER_COMPONENT * K, 5000)),
                "m": draw(st.integers(max(10 * K * d, GMM_M_PER_COMPONENT * K), 5000)),
                "excess_rule": "gauss_hermite" if d <= 2 else "test_set"}

    return configs().map(lambda p: {**GMM_REGIME.defaults(tier), **p})


def _gmm_model(p):
    means = sim.regular_simplex_means(p["K"], p["d"], p["separation"])
    return means, np.full(p["K"], 1.0 / p["K"]), np.asarray(p["beta"], float)


def _gmm_limit(p):
    means, pi, beta = _gmm_model(p)
    return ts.gmm_limit(means, pi, beta, p["label_noise_var"])


# =============================================================================================== measures
def _linear_mc(task_fn):
    def run(p, n, m, reps, rng):
        return sim.two_stage_mc(task_fn(p), n, m, reps, rng, p.get("sampler", "wishart"))
    return run


def _gmm_mc(p, n, m, reps, rng):
    means, pi, beta = _gmm_model(p)
    nodes = (ts.gmm_gauss_hermite_nodes(means, pi, GMM_EXCESS_GH_ORDER)
             if p.get("excess_rule", "test_set") == "gauss_hermite" else None)
    return sim.gmm_mc(means, pi, beta, p["label_noise_var"], n, m, reps, rng, test_size=p["test_size"],
                      test_points=nodes)


def _mean_risk_measure(run):
    def measure(p, rng):
        out = run(p, p["n"], p["m"], p["reps"], rng)
        e = out["excess"]
        return {"value": p["n"] * float(e.mean()),
                "se": p["n"] * float(e.std(ddof=1) / math.sqrt(e.size)),
                "m_mean_approx": p["m"] * float(out["approx"].mean()),
                "n_mean_head": p["n"] * float(out["head"].mean())}
    return measure


# =============================================================================================== figures
def _risk_grid(p, ns, ratio, run, rngs, reps):
    """Mean excess at every grid point (rows) for every seed (columns), ``m = n / ratio``."""
    out = np.empty((len(ns), len(rngs)))
    for j, rng in enumerate(rngs):
        for i, n in enumerate(ns):
            out[i, j] = float(run(p, int(n), int(round(n / ratio)), reps, rng)["excess"].mean())
    return out


def _rate_figure(p, rngs, run, A, B, C_phi, C_psi, ns, gamma, reps, title, tol=None):
    from theorycheck import figure, mean_band, slope_label

    ns = np.asarray(ns, float)
    ms = np.round(ns / gamma)
    Y = _risk_grid(p, ns, gamma, run, rngs, reps)
    fig, (ax, ax2) = figure(ncols=2, width=5.4)
    mean_band(ax, ns, Y, f"Monte Carlo mean ± 1.96 s.e. ({len(rngs)} seeds × {reps} reps)")
    ax.plot(ns, A / ns + B / ms, "k-", lw=1.5, label=f"asymptotic A/n + B/m (A={A:.3g}, B={B:.3g})")
    ax.plot(ns, ts.prior_bound_shape(ns, ms, C_phi, C_psi), "k--", lw=1,
            label=r"prior bound $\sqrt{C_\Phi/m}+\sqrt{C_\Psi/n}$ (rate shape only)")
    ax.plot([], [], " ", label=slope_label(ns, Y.mean(axis=1)))
    ax.set(xscale="log", yscale="log", xlabel="n (downstream sample size)", ylabel="E[excess test risk]",
           title=f"{title}: n/m = {gamma:.3g}")
    ax.legend(fontsize=7)
    mean_band(ax2, ns, ns[:, None] * Y, "n · mean excess (Monte Carlo)")
    pred = A + gamma * B
    ax2.axhline(pred, color="k", lw=1.5, label=f"A + γB = {pred:.4g}")
    if tol is not None:
        ax2.axhspan(pred * (1 - tol), pred * (1 + tol), color="k", alpha=0.1, label=f"±{tol:.0%} tolerance")
    ax2.plot([], [], " ", label=f"oracle A = {A:.3g} (negative control, off scale)" if A < 0.8 * pred
             else f"oracle A = {A:.3g} (negative control)")
    ax2.set(xscale="log", xlabel="n", ylabel="n · E[excess]", title="scaled risk against the limit",
            ylim=(0.8 * pred, 1.2 * pred))
    ax2.legend(fontsize=7)
    for a in (ax, ax2):
        a.set_xticks(ns, [f"{int(v)}" for v in ns])
        a.minorticks_off()
    fig.tight_layout()
    return fig


def _mean_risk_plot(run, A_B, C_fn, title, reps_cap, grid, tol):
    def plot(p, rngs):
        A, B = A_B(p)
        gamma = p["n"] / p["m"]
        ns = [max(int(round(p["n"] * 2.0 ** k)), 2) for k in grid]
        C_phi, C_psi = C_fn(p)
        return _rate_figure(p, rngs, run, A, B, C_phi, C_psi, ns, gamma, min(p["reps"], reps_cap), title, tol)
    return plot


# =============================================================================================== mean risk
MEAN_TOL = 0.05
MEAN_TOL_REASON = ("±5 % of the prediction: the precision docs/papers/two_stage.md §4 states ('ratio within about 5 % "
                   "at the largest sizes'). The regime enforces the spec's guidance m >= 20 d λ1 λ_(r+1)/gap², which "
                   "keeps the first neglected term of m E[a(U_hat)], of relative order d λ1 λ_(r+1)/(gap² m), below "
                   "1/20 of γB, and n >= 50 r; the finite-n factor of the OLS head (n/(n-r-1) on A, (n-1)/(n-r-1) on "
                   "γB, exact for this jointly Gaussian model) is predicted, not absorbed. Fixed before the runs, not "
                   "from a measured value")
MEAN_NEAR_MISS_LABEL = (f"A + {MEAN_NEAR_MISS:g} γB: a pre-training term 20 % smaller (same finite-n head factor)")
ORACLE_LABEL = "oracle risk A alone (pre-training free at first order: the γB term dropped)"


def _linear_mean_risk(A_B, r_of, pretrain_factor):
    """n E[excess] predicted at finite n (:func:`derivations.two_stage.head_corrected_mean_risk`) with the
    pre-training constant B scaled by ``pretrain_factor`` (1: the theorem; 0.8: the near miss; 0: the oracle)."""
    def predict(p):
        A, B = A_B(p)
        return ts.head_corrected_mean_risk(A, pretrain_factor * B, r_of(p), p["n"], p["m"])
    return predict


def _gmm_mean_risk(pretrain_factor):
    def predict(p):
        lim = _gmm_limit(p)
        return lim["A"] + pretrain_factor * p["n"] / p["m"] * lim["B"]
    return predict


register(Claim(
    id="mest.spectral.mean_risk",
    source=f"{PAPER}; docs/papers/two_stage.md §2 main theorem and §3a spectral pre-training [R]; framing [V]",
    statement="PCA span + OLS head: n E[excess] -> sigma^2 r + gamma sum_a w_a, "
              "w_a = lambda_a^2 sum_b beta_b^2 lambda_b/(lambda_b - lambda_a)^2, gamma = n/m",
    kind="estimate", regime=SPECTRAL_MEAN_REGIME,
    predict=_linear_mean_risk(_spectral_A_B, lambda p: p["r"], 1.0),
    measure=_mean_risk_measure(_linear_mc(_spectral_task)),
    tolerance=Tolerance(MEAN_TOL, relative=True),
    tolerance_reason=MEAN_TOL_REASON,
    negative_control=_linear_mean_risk(_spectral_A_B, lambda p: p["r"], MEAN_NEAR_MISS),
    negative_label=MEAN_NEAR_MISS_LABEL,
    alternative=_linear_mean_risk(_spectral_A_B, lambda p: p["r"], 0.0),
    alternative_label=ORACLE_LABEL,
    seeds={"quick": 4, "full": 10},
    assumption="x ~ N(0, diag(eigenvalues)) (PCA is rotation-equivariant), U_hat = top-r eigenvectors of the uncentred "
               "sample covariance, OLS head without intercept, exact excess (U w - U* b)^T Sigma (U w - U* b); "
               "sampler='wishart' draws the scatter matrices exactly (Bartlett). The limit A + γB is evaluated with "
               "the exact finite-n OLS factor, A n/(n-r-1) + γB (n-1)/(n-r-1) (docs/papers/two_stage.md §3a, §4: 1.002 "
               "at n = 2000, 1.027 at n = 50 r), and sizes are held to the spec's guidance",
    measured_label="n x mean excess test risk",
    plot=_mean_risk_plot(_linear_mc(_spectral_task), _spectral_A_B,
                         lambda p: (len(p["eigenvalues"]) * p["r"], p["r"]), "3a spectral", 2000,
                         [-2, -1, 0, 1, 2], MEAN_TOL),
))

register(Claim(
    id="mest.factor.mean_risk",
    source=f"{PAPER}; docs/papers/two_stage.md §2 and §3b factor model [R]",
    statement="factor model x = Bz + e, Gaussian-MLE span, posterior-mean features, OLS head: "
              "n E[excess] -> r sigma_eff^2 + gamma (d - r) W, W = s^4 sum_b c_b^2/(ell_b (ell_b + s^2))",
    kind="estimate", regime=FACTOR_MEAN_REGIME,
    predict=_linear_mean_risk(_factor_A_B, lambda p: len(p["loadings"]), 1.0),
    measure=_mean_risk_measure(_linear_mc(_factor_task)),
    tolerance=Tolerance(MEAN_TOL, relative=True),
    tolerance_reason=MEAN_TOL_REASON,
    negative_control=_linear_mean_risk(_factor_A_B, lambda p: len(p["loadings"]), MEAN_NEAR_MISS),
    negative_label=MEAN_NEAR_MISS_LABEL,
    alternative=_linear_mean_risk(_factor_A_B, lambda p: len(p["loadings"]), 0.0),
    alternative_label=ORACLE_LABEL,
    seeds={"quick": 4, "full": 10},
    assumption="B = U* L^(1/2) V^T with U* = first r coordinates and V = I; Tipping-Bishop MLE with s^2 estimated "
               "(mean of the d - r smallest sample eigenvalues), posterior mean (B^T B + s^2 I)^-1 B^T x as "
               "features, excess against f* = theta*^T x in closed form. Conditional on the fitted map the task is "
               "a Gaussian linear model with noise sigma_eff^2 + a, so the exact finite-n OLS factor of 3a applies "
               "(A n/(n-r-1) + γB (n-1)/(n-r-1)); sizes are held to the spec's guidance",
    measured_label="n x mean excess test risk",
    plot=_mean_risk_plot(_linear_mc(_factor_task), _factor_A_B, lambda p: (p["d"] * len(p["loadings"]),
                                                                            len(p["loadings"])),
                         "3b factor model", 2000, [-2, -1, 0, 1, 2], MEAN_TOL),
))

register(Claim(
    id="mest.gmm.mean_risk",
    source=f"{PAPER}; docs/papers/two_stage.md §2 and §3c Gaussian mixture [R]",
    statement="Gaussian mixture, EM means, posterior features, OLS head: n E[excess] -> tr(H_ww^-1 G_ww) "
              "+ gamma tr(S I_mu^-1) (blocks by Monte Carlo quadrature, 10^6 draws)",
    kind="estimate", regime=GMM_REGIME,
    predict=_gmm_mean_risk(1.0),
    measure=_mean_risk_measure(_gmm_mc),
    tolerance=Tolerance(MEAN_TOL, relative=True),
    tolerance_reason="±5 % of the prediction: the precision docs/papers/two_stage.md §4 states. A and B are integrated "
                     "by a tensor Gauss-Hermite rule at d <= 2 (orders 80 and 120 agree to 1e-5; 10^6 Monte Carlo draws "
                     "for d > 2, about 0.3 % on B); the O(K/n) bias of OLS on the (non-Gaussian) posteriors and the "
                     "O(1/m) bias of EM have no closed form here and are kept inside the 5 % by the regime's n, m >= 200 "
                     "K (measured: +0.85 % of γB at m = 1000, see the assumption; the floor was 50 K until a drawn "
                     "setting at K = 4, n = m = 200 came out +4.7 %). Fixed before the runs, not from a "
                     "measured value",
    negative_control=_gmm_mean_risk(MEAN_NEAR_MISS),
    negative_label=f"A + {MEAN_NEAR_MISS:g} γB: a pre-training term 20 % smaller",
    alternative=_gmm_mean_risk(0.0),
    alternative_label=ORACLE_LABEL,
    seeds={"quick": 16, "full": 20},
    assumption="equal weights 1/K and identity covariances known, means on a regular simplex with the given "
               "pairwise distance, EM from the true means to max|Δμ| < 1e-10, posterior features, OLS without "
               "intercept; the asymptotic prediction A + γB is kept (no finite-n factor is known for the "
               "heteroscedastic posterior head). Each fit's population excess is integrated by a tensor "
               f"Gauss-Hermite rule of order {GMM_EXCESS_GH_ORDER} per component (excess_rule='gauss_hermite', d <= 2: "
               "within 2e-4 of order 120 and of a 2*10^6-point test set on every repetition) instead of the spec's "
               "test set of 10^5 points (excess_rule='test_set', used for d > 2): unbiased like the test set, "
               "without its Monte Carlo error and 10 times cheaper. Quick tier d = 2, n = 2000, m = 1000 (γ = 2: "
               "the pre-training term is 54 % of the prediction and the 0.8 γB near miss sits 2.8 % below the "
               "band), 16 seeds x 600 repetitions. History, changed after seeing verdicts: with 10^6 Monte Carlo "
               "draws (B 0.2 % low at the fixed seed) and a test set, 16 x 300 repetitions measured 2.496-2.533 "
               "against 2.484 over five roots, one inconclusive (upper CI 2.615 > 2.608). Measured cause "
               "(15000 repetitions at n = 2000, m = 1000, test set): n E[excess] = 2.499 ± 0.013 = 1.006 x the "
               "prediction, split into the head n E[head] = 1.1446 ± 0.008 (A = 1.1440: ratio 1.0005; oracle run "
               "with the true means, 20000 repetitions: 0.998 ± 0.004) and the pre-training term "
               "m E[a(μ_hat)] = 0.6770 ± 0.005 against B = 0.6714 (Gauss-Hermite; 0.6699 by the old Monte "
               "Carlo): EM's finite-m bias, m E[a]/B = 1.030, 1.013, 1.009 (± 0.007) at m = 250, 500, 1000 "
               "(20000 repetitions each), about 7.5/m, so +0.4 % of the prediction at the quick sizes. The "
               "test-set estimator is unbiased (the test set is independent of the fits). The reported +1.5 % "
               "offsets were that +0.6 % plus seed noise of a ±1.7 % interval; the 600 repetitions (cost paid by "
               "the cheaper excess) shrink the interval so the upper end stays about 3 % inside the band edge (five "
               "fresh roots: measured 2.481-2.514, upper CI <= 2.547 against the edge 2.611). explore (budget 10, "
               "300 repetitions per replicate): no counterexample; inconclusive at the regime's small-size edge "
               "(d = 5, separation 2, n = 169, m = 633: 2.158 [2.126, 2.191] vs 2.071; d = 3, n = 199, m = 160: "
               "0.377 [0.364, 0.390] vs 0.364), the O(K/n) and O(1/m) biases that n, m >= 50 K only bound; the "
               "property test then drew K = 4, d = 4, n = m = 200 (+4.7 %, inconclusive), and the floor is now "
               "200 K (+2.1 % there); it then drew n = 4490, m = 816 (+3.5 %, inconclusive), and m's floor is "
               "300 K (+2.2 % there)",
    measured_label="n x mean excess test risk",
    plot=_mean_risk_plot(_gmm_mc, lambda p: (lambda lim: (lim["A"], lim["B"]))(_gmm_limit(p)),
                         lambda p: (p["d"] * p["K"], p["K"]), "3c Gaussian mixture", 100, [-1, 0, 1], MEAN_TOL),
))


# =============================================================================================== rate
def _rate_grid_ok(p):
    """Spec §4 guidance at the smallest grid point (n and m = n/gamma grow along the grid)."""
    n0 = p["n_grid"][0]
    return (n0 >= DOWNSTREAM_PER_DIM * p["r"]
            and round(n0 / p["gamma"]) >= pretraining_size_guidance(p["eigenvalues"], p["r"]))


RATE_REGIME = Regime(
    params=_spectral_core_params() + [
        Param("gamma", quick=1.0, kind="float", low=0, low_open=True, high=1000, search=(0.25, 4.0),
              doc="fixed ratio n/m"),
        Param("n_grid", quick=[500, 1000, 2000, 4000, 8000], full=[500, 1000, 2000, 4000, 8000, 16000, 32000],
              kind="ints", low=4, high=10 ** 7, length=(3, 20), doc="downstream sizes of the sweep (m = n/gamma)"),
        Param("reps", quick=2000, full=10000, kind="int", low=2, high=10 ** 6, doc="repetitions per grid point"),
        _sampler_param()],
    strategy_fn=_spectral_strategy(lambda tier: RATE_REGIME.defaults(tier), sizes="rate"),
    constraints=_spectral_constraints(with_n=False, with_m=False) + [
        Constraint("grid_increasing", lambda p: all(a < b for a, b in zip(p["n_grid"], p["n_grid"][1:])),
                   "n_grid strictly increasing", ("n_grid",)),
        Constraint("ols_mean_exists", lambda p: p["n_grid"][0] > p["r"] + 1, "every n > r + 1", ("n_grid", "r")),
        Constraint("full_rank_sample_covariance", lambda p: round(p["n_grid"][0] / p["gamma"]) >= len(p["eigenvalues"]),
                   "m = n/gamma >= d on the whole grid", ("n_grid", "gamma", "eigenvalues")),
        Constraint("size_guidance_on_grid", _rate_grid_ok,
                   f"n >= {DOWNSTREAM_PER_DIM} r and m = n/gamma >= 20 d λ1 λ_(r+1)/gap² at every grid point "
                   f"(checked at the smallest; {GUIDANCE_REASON})", ("n_grid", "gamma", "eigenvalues", "r")),
    ])


def _rate_measure(p, rng):
    run = _linear_mc(_spectral_task)
    ns = np.asarray(p["n_grid"], float)
    means = np.array([float(run(p, int(n), int(round(n / p["gamma"])), p["reps"], rng)["excess"].mean())
                      for n in ns])
    fit = loglog_slope(ns, means)
    A, B = _spectral_A_B(p)
    derived = [ts.head_corrected_mean_risk(A, B, p["r"], int(n), int(round(n / p["gamma"]))) / n for n in ns]
    return {"value": fit.slope, "intercept": fit.intercept, "mean_excess": means.tolist(),
            "n_times_mean_excess": (ns * means).tolist(), "x": ns.tolist(), "y": means.tolist(),
            "y_predicted": [float(v) for v in derived]}


def _grid_slope(ns, curve) -> float:
    """Least-squares slope of log(curve) on log(n) over the grid (the fit the measurement makes)."""
    ns = np.asarray(ns, float)
    return float(loglog_slope(ns, np.asarray(curve, float)).slope)


def _rate_predict(p):
    """Slope of the finite-n prediction E = head_corrected_mean_risk / n over the grid (m = n/gamma): -1 in the
    limit; the exact OLS factor bends it by O(r/n) (about -0.002 on the quick grid)."""
    A, B = _spectral_A_B(p)
    ns = [int(n) for n in p["n_grid"]]
    return _grid_slope(ns, [ts.head_corrected_mean_risk(A, B, p["r"], n, int(round(n / p["gamma"]))) / n
                            for n in ns])


def _rate_log_factor(p):
    """Near miss: the fast rate with a logarithmic factor, E ~ log(n)/n (an Õ(1/n) bound's shape); its slope over
    the grid is about -1 + 1/log(n)."""
    ns = np.asarray(p["n_grid"], float)
    return _grid_slope(ns, np.log(ns) / ns)


def _rate_plot(p, rngs):
    A, B = _spectral_A_B(p)
    d, r = len(p["eigenvalues"]), p["r"]
    return _rate_figure(p, rngs, _linear_mc(_spectral_task), A, B, d * r, r, p["n_grid"], p["gamma"],
                        p["reps"], "3a spectral, rate", MEAN_TOL)


def _rate_tolerance_bound(n_grid, rel=MEAN_TOL) -> float:
    """Largest change of the least-squares log-log slope from relative errors of at most ``rel`` at every grid
    point: ``rel * sum|x - x_bar| / sum (x - x_bar)^2`` with ``x = log n``."""
    x = np.log(np.asarray(n_grid, float))
    dx = x - x.mean()
    return float(rel * np.abs(dx).sum() / (dx ** 2).sum())


RATE_TOL = 0.05

register(Claim(
    id="mest.spectral.rate",
    source=f"{PAPER}; docs/papers/two_stage.md §2 (E ≈ A/n + B/m) and §5 (prior bound of Ge et al. 2023, rate shape "
           "[V]) [R]",
    statement="at fixed gamma = n/m the mean excess risk of PCA + OLS falls as n^-1 (fitted log-log slope -1), "
              "faster than the prior bound's n^-1/2",
    kind="scaling", regime=RATE_REGIME,
    predict=_rate_predict, measure=_rate_measure,
    tolerance=Tolerance(RATE_TOL),
    tolerance_reason=f"±{RATE_TOL:g} on the slope: relative errors of at most 5 % of the prediction at every grid "
                     f"point (the spec's precision, held by the guidance at the smallest grid point) move the "
                     f"least-squares slope by at most 5 % · Σ|x - x̄| / Σ(x - x̄)² with x = log n: "
                     f"{_rate_tolerance_bound([500, 1000, 2000, 4000, 8000]):.3f} on the quick grid, "
                     f"{_rate_tolerance_bound([500 * 2 ** k for k in range(7)]):.3f} on the full one; ±{RATE_TOL:g} "
                     f"rounds that bound up. The exact OLS factor's bend is predicted",
    negative_control=_rate_log_factor,
    negative_label="the fast rate with a log factor, log(n)/n (an Õ(1/n) shape): slope -1 + 1/log n over the grid",
    alternative=lambda p: -0.5,
    alternative_label="the prior bound's slope -1/2 (sqrt(C_Phi/m) + sqrt(C_Psi/n), Ge et al. 2023)",
    seeds={"quick": 5, "full": 10},
    assumption="3a defaults of docs/papers/two_stage.md §4, m = n/gamma on a doubling grid from n = 500 (every grid "
               "point above the spec's size guidance); one seed = one sweep, slope by least squares on the log of the "
               "mean excess over reps repetitions; the prediction is the slope of the finite-n prediction over the same "
               "grid",
    measured_label="fitted log-log slope of E[excess] against n",
    plot=_rate_plot, curve=Curve("n (downstream samples; m = n/γ)", "mean excess risk E[excess]", log=True),
))


# =============================================================================================== laws
def _sample_law(rng, head_w, pre_w, gamma, size):
    r"""Draws of :math:`\sum_i\lambda_i\chi^2_1 + \gamma\sum_j\mu_j\chi^2_1` (equal weights grouped)."""
    weights = np.concatenate([np.asarray(head_w, float), gamma * np.asarray(pre_w, float)])
    out = np.zeros(int(size))
    vals, counts = np.unique(np.round(weights, 12), return_counts=True)
    for w, k in zip(vals, counts):
        if w > 0:
            out += w * rng.chisquare(int(k), size=int(size))
    return out


def _ks_critical(p):
    R, N = p["reps"], p["limit_draws"]
    return KS_C95 * math.sqrt((R + N) / (R * N))


@lru_cache(maxsize=64)
def _law_gap(head_w, pre_w, gamma, factor, draws=1_000_000, seed=20260327):
    """sup |F_wrong - F_limit| with the pre-training weights times ``factor`` (quadrature by a fixed-seed draw)."""
    rng = np.random.default_rng(seed)
    right = _sample_law(rng, head_w, pre_w, gamma, draws)
    wrong = _sample_law(rng, head_w, np.asarray(pre_w) * factor, gamma, draws)
    from scipy import stats

    return float(stats.ks_2samp(right, wrong).statistic)


def law_near_miss_factor(head_w, pre_w, gamma, critical):
    """The factor f on the pre-training weights whose law lies ``LAW_CONTROL_CRITICALS`` critical values from the limit.

    Solves sup|F_f - F_1| = c * critical (c = LAW_CONTROL_CRITICALS) by the secant method on the fixed-seed
    quadrature :func:`_law_gap`, starting from f = 1.1; the gap is close to linear in f - 1 there, so three
    steps suffice. It depends on the parameters only (the replicate count sets the critical value), so the
    control is as near as the test's resolution allows: a pre-training term 100 (f - 1) % larger.
    """
    target = LAW_CONTROL_CRITICALS * critical
    f0, f1 = 1.0, 1.1
    g0, g1 = 0.0, _law_gap(tuple(head_w), tuple(pre_w), gamma, f1)
    for _ in range(3):
        f0, f1 = f1, max(1.005, f1 + (target - g1) * (f1 - f0) / (g1 - g0))
        g0, g1 = g1, _law_gap(tuple(head_w), tuple(pre_w), gamma, round(f1, 4))
    return round(f1, 4)


def _law_factor(p, weights):
    head_w, pre_w = weights(p)
    return law_near_miss_factor(tuple(head_w), tuple(pre_w), p["n"] / p["m"], _ks_critical(p))


def _law_regime(core, constraints, n, m, reps, strategy_fn=None):
    return Regime(core + _sizes(n, m, reps) + [
        Param("limit_draws", quick=200_000, kind="int", low=1000, high=10 ** 7,
              doc="draws of the limit law per replicate (two-sample KS)"), _sampler_param()],
        constraints, strategy_fn)


LAW_PRETRAINING_SHARE = 0.25


def _law_pretraining_present(weights, names):
    """The law's near-miss control scales the pre-training weights until the law moves by 3 KS critical
    values; with no pre-training term (beta* = 0) there is nothing to scale."""
    def check(p):
        head_w, pre_w = weights(p)
        return p["n"] / p["m"] * float(np.sum(pre_w)) >= LAW_PRETRAINING_SHARE * float(np.sum(head_w))
    return Constraint("pretraining_term_present", check,
                      f"gamma sum_a w_a >= {LAW_PRETRAINING_SHARE:g} x the head's mean sigma^2 r: the near-miss "
                      "law scales the pre-training weights, which is undefined when they vanish (explore drew "
                      "beta* = 0: ZeroDivisionError in 2 of 10 settings) and needs them to move the law",
                      names)


LAW_SIZE_FLOOR = 1000
# added after the property test drew the factor law at n = 50 (loadings [1], d = 12, beta = [2], m = 599): KS
# distance 0.028 [0.021, 0.035] against the critical value 0.031, inconclusive
LAW_SIZES = Constraint(
    "law_sizes", lambda p: min(p["n"], p["m"]) >= LAW_SIZE_FLOOR,
    f"n, m >= {LAW_SIZE_FLOOR}: the O(1/n + 1/m) distortion of the law must stay below the KS resolution (at "
    "n = m = 500 the distance was 0.030 against 0.022, from 1000 on below it; the factor law at n = 50, m = 599 gave "
    "0.028 [0.021, 0.035] against 0.031), a floor the spec's mean-risk guidance n >= 50 r does not give",
    ("n", "m"))


def _law_pretraining_floor(spectrum_of, r_of):
    # added after the property test drew the factor law at m = 9947, the guidance itself (loadings [0.3125],
    # d = 37, n = 1000): KS distance 0.027 [0.021, 0.033] against the critical value 0.031, inconclusive
    return Constraint(
        "law_pretraining_size", lambda p: p["m"] >= MEAN_GUIDANCE_FACTOR * pretraining_size_guidance(
            spectrum_of(p), r_of(p)),
        f"m >= {MEAN_GUIDANCE_FACTOR} x the spec's pretraining size guidance, as for the mean risk (whose gamma B "
        "term is +9.7 % at the guidance, +1.9 % at four times it): at the guidance itself the factor law's KS "
        "distance was 0.027 [0.021, 0.033] against the critical value 0.031 (loadings [0.3125], d = 37, n = 1000, "
        "m = 9947)", ("m",))
SPECTRAL_LAW_REGIME = _law_regime(_spectral_core_params(), _spectral_constraints(guidance_n=True, guidance_m=True) + [
                                  _law_pretraining_present(lambda p: _spectral_weights(p),
                                                           ("eigenvalues", "r", "beta", "noise_var", "n", "m")),
                                  LAW_SIZES, _law_pretraining_floor(lambda p: p["eigenvalues"], lambda p: p["r"])],
                                  (20000, 50000),
                                  (20000, 50000), (2000, 10000),
                                  _spectral_strategy(lambda tier: SPECTRAL_LAW_REGIME.defaults(tier), sizes="asymptotic",
                                                     m_factor=MEAN_GUIDANCE_FACTOR, m_floor=LAW_SIZE_FLOOR,
                                                     n_floor=LAW_SIZE_FLOOR))
FACTOR_LAW_REGIME = _law_regime(_factor_params((1, 1), (1, 1), (1, 1))[:5], _factor_constraints() + [
                                _law_pretraining_present(lambda p: _factor_weights(p),
                                                         ("loadings", "d", "noise_s2", "beta", "n", "m")),
                                LAW_SIZES, _law_pretraining_floor(_factor_spectrum, lambda p: len(p["loadings"]))],
                                (20000, 50000),
                                (20000, 50000), (2000, 10000),
                                _factor_strategy(lambda tier: FACTOR_LAW_REGIME.defaults(tier),
                                                 m_factor=MEAN_GUIDANCE_FACTOR, m_floor=LAW_SIZE_FLOOR,
                                                 n_floor=LAW_SIZE_FLOOR))


def _law_measure(run, weights):
    def measure(p, rng):
        out = run(p, p["n"], p["m"], p["reps"], rng)
        x = p["n"] * out["excess"]
        head_w, pre_w = weights(p)
        gamma = p["n"] / p["m"]
        limit = _sample_law(rng, head_w, pre_w, gamma, p["limit_draws"])
        wrong = _sample_law(rng, head_w, _law_factor(p, weights) * pre_w, gamma, p["limit_draws"])
        oracle = _sample_law(rng, head_w, 0 * pre_w, gamma, p["limit_draws"])
        from scipy import stats

        return {"value": float(stats.ks_2samp(x, limit).statistic),
                "ks_to_wrong_law": float(stats.ks_2samp(x, wrong).statistic),
                "ks_to_oracle_law": float(stats.ks_2samp(x, oracle).statistic),
                "mean_n_excess": float(x.mean())}
    return measure


def _law_negative(weights, factor=None):
    """The band of KS distances D implied if n*excess followed the limit law with its pre-training weights times
    ``factor`` (default: :func:`law_near_miss_factor`): |D - Δ| <= critical value, Δ = sup|F_wrong - F_limit|
    (fixed-seed quadrature)."""
    def negative(p):
        head_w, pre_w = weights(p)
        f = _law_factor(p, weights) if factor is None else factor
        gap = _law_gap(tuple(head_w), tuple(pre_w), p["n"] / p["m"], f)
        k = _ks_critical(p)
        return (max(gap - k, 0.0), gap + k)
    return negative


def _law_plot(run, weights, title):
    def plot(p, rngs):
        from theorycheck import figure

        head_w, pre_w = weights(p)
        gamma = p["n"] / p["m"]
        reps = min(p["reps"], 2000)
        x = np.sort(np.concatenate([p["n"] * run(p, p["n"], p["m"], reps, rng)["excess"] for rng in rngs]))
        qs = (np.arange(x.size) + 0.5) / x.size
        draw_rng = rngs[0]
        limit = np.quantile(_sample_law(draw_rng, head_w, pre_w, gamma, 400_000), qs)
        factor = _law_factor(p, weights)
        wrong = np.quantile(_sample_law(draw_rng, head_w, factor * pre_w, gamma, 400_000), qs)
        oracle = np.quantile(_sample_law(draw_rng, head_w, 0 * pre_w, gamma, 400_000), qs)
        fig, (ax,) = figure(width=5.6, height=5.0)
        ax.plot(limit, x, ".", ms=2, label=f"n·excess vs limit law ({len(rngs)} seeds × {reps} reps)")
        ax.plot(limit, wrong, "--", lw=1, label=f"limit law with γ-term weights ×{factor:g} (negative control)")
        ax.plot(limit, oracle, ":", lw=1, label="oracle law (γ-term dropped)")
        lim = [0, float(limit[-1])]
        ax.plot(lim, lim, "k-", lw=0.8, label="y = x")
        ax.set(xlabel="quantiles of the weighted χ² limit", ylabel="quantiles of n · excess",
               title=f"{title}: QQ plot, n={p['n']}, m={p['m']}")
        ax.legend(fontsize=7)
        fig.tight_layout()
        return fig
    return plot


# 16 (was 8 / 10) after the property test drew a spectral setting (d = 9, r = 2, n = 15641, m = 6924) where the
# 8 seeds' mean KS distance 0.0230 sat inside the band [0, 0.0305] with its interval [0.0151, 0.0309] astride the edge
LAW_SEEDS = {"quick": 16, "full": 16}
LAW_NOTE = ("one replicate = the two-sample KS distance between reps values of n*excess and limit_draws draws "
            "of the weighted chi-square limit (gamma = n/m); bound = the 95 % KS critical value "
            "1.358 sqrt((R+N)/(RN)), tolerance 0 (the critical value is the allowance); the negative control "
            "is the band |D - Δ| <= critical value implied if the law had its gamma-term weights x f, f the "
            f"smallest factor whose law lies Δ = {LAW_CONTROL_CRITICALS:g} critical values from the limit (Δ = "
            "sup|F_f - F_limit| by a fixed-seed quadrature of 10^6 draws; f = 1.09 / 1.12 (spectral / factor) at "
            "the quick tier's 2000 repetitions, 1.04 / 1.05 at the full tier's 10000), the competing theory the same "
            "band for the oracle law (gamma-term dropped)")
LAW_TOL_REASON = ("0: the allowance is already in the prediction, the 95 % critical value 1.358 sqrt((R+N)/(RN)) "
                  "of the two-sample KS distance between R values of n*excess and N draws of the limit (the "
                  "resolution of a law comparison at these Monte Carlo sizes); the O(1/n + 1/m) distortion of the "
                  "law is kept below it by n = m = 20000, far above the spec's guidance")

register(Claim(
    id="mest.spectral.law",
    source=f"{PAPER}; docs/papers/two_stage.md §2 limit law and §3a [R]",
    statement="n * excess of PCA + OLS converges in law to sigma^2 chi^2_r + gamma sum_a w_a chi^2_1 "
              "(KS distance below the 95 % critical value)",
    kind="upper_bound", comparison="within", regime=SPECTRAL_LAW_REGIME,
    predict=lambda p: (0.0, _ks_critical(p)),
    measure=_law_measure(_linear_mc(_spectral_task), _spectral_weights),
    tolerance=Tolerance(0.0),
    negative_control=_law_negative(_spectral_weights),
    tolerance_reason=LAW_TOL_REASON,
    negative_label=f"limit law with the gamma-term weights x f, f = 1 + O(critical value): the pre-training term "
                   f"enlarged just enough to sit {LAW_CONTROL_CRITICALS:g} critical values from the limit",
    alternative=_law_negative(_spectral_weights, factor=0.0),
    alternative_label="oracle law sigma^2 chi^2_r (pre-training free: gamma-term dropped)",
    seeds=LAW_SEEDS,
    assumption="3a set-up of mest.spectral.mean_risk at n = m large enough that the finite-size distortion of the "
               "law is below the KS resolution (at n = m = 500 with 4000 repetitions the distance is 0.030 > 0.022, "
               "the law's tail is still distorted by higher-order eigenvector terms; from n = m = 1000 on it is "
               "below); " + LAW_NOTE,
    measured_label="KS distance of n*excess to the limit law",
    plot=_law_plot(_linear_mc(_spectral_task), _spectral_weights, "3a spectral"),
))

register(Claim(
    id="mest.factor.law",
    source=f"{PAPER}; docs/papers/two_stage.md §2 limit law and §3b [R]",
    statement="n * excess of the factor-model two-stage estimator converges in law to "
              "sigma_eff^2 chi^2_r + gamma W chi^2_(d-r) (KS distance below the 95 % critical value)",
    kind="upper_bound", comparison="within", regime=FACTOR_LAW_REGIME,
    predict=lambda p: (0.0, _ks_critical(p)),
    measure=_law_measure(_linear_mc(_factor_task), _factor_weights),
    tolerance=Tolerance(0.0),
    negative_control=_law_negative(_factor_weights),
    tolerance_reason=LAW_TOL_REASON,
    negative_label=f"limit law with the gamma-term weight W x f, f = 1 + O(critical value): the pre-training term "
                   f"enlarged just enough to sit {LAW_CONTROL_CRITICALS:g} critical values from the limit",
    alternative=_law_negative(_factor_weights, factor=0.0),
    alternative_label="oracle law sigma^2 chi^2_r (pre-training free: gamma-term dropped)",
    seeds=LAW_SEEDS,
    assumption="3b set-up of mest.factor.mean_risk; " + LAW_NOTE,
    measured_label="KS distance of n*excess to the limit law",
    plot=_law_plot(_linear_mc(_factor_task), _factor_weights, "3b factor model"),
))


# =============================================================================================== finite n
FINITE_REGIME = Regime(
    params=_spectral_core_params() + _sizes((12, 12), (2000, 20000), (30000, 100000)) + [_sampler_param()],
    constraints=_spectral_constraints(with_n=False, guidance_m=True) + [
        Constraint("finite_variance", lambda p: p["n"] > p["r"] + 3,
                   "n > r + 3 (the OLS excess has a finite variance, so the Monte Carlo mean has a CI)", ("n", "r"))],
    strategy_fn=_spectral_strategy(lambda tier: FINITE_REGIME.defaults(tier), sizes="small_n"))


def _finite_predict(p, n_eff=None):
    """n E[excess] by the exact formula with E[a] = B/m; ``n_eff`` replaces n inside the OLS factor only (the
    near miss uses n + 1, i.e. the denominator n - r instead of n - r - 1)."""
    B = ts.spectral_B(p["eigenvalues"], p["r"], p["beta"])
    n_ols = p["n"] if n_eff is None else n_eff
    return p["n"] * ts.finite_sample_excess(B / p["m"], p["r"], n_ols, p["noise_var"])


def ols_excess_relative_sd(r: int, n: int) -> float:
    r"""Relative s.d. of the excess of OLS on ``n`` Gaussian points in ``r`` dimensions: the excess is
    :math:`\sigma^2u` with :math:`u = \chi^2_r/\chi^2_{n-r+1}` (independent), so
    :math:`\mathrm{Var}(u)/\mathbb E[u]^2 = (r+2)(n-r-1)/(r(n-r-3)) - 1` (needs ``n > r + 3``)."""
    return math.sqrt((r + 2) * (n - r - 1) / (r * (n - r - 3)) - 1)


FINITE_TOL = 0.02
_FIN_SD = ols_excess_relative_sd(3, 12)
_FIN_HALF = stdtrit(4, 0.975) * _FIN_SD / math.sqrt(5 * 30000)

register(Claim(
    id="mest.spectral.finite_sample",
    source=f"{PAPER}; docs/papers/two_stage.md §3a exact finite-sample check [R]",
    statement="for PCA + OLS at any n > r + 1, E[excess] = E[a(U_hat)] (1 + r/(n-r-1)) + sigma^2 r/(n-r-1) "
              "(Gaussian linear model conditional on U_hat)",
    kind="estimate", regime=FINITE_REGIME, role="consistency",
    predict=_finite_predict,
    measure=_mean_risk_measure(_linear_mc(_spectral_task)),
    tolerance=Tolerance(FINITE_TOL, relative=True),
    tolerance_reason=f"±{FINITE_TOL:.0%} of the prediction, a Monte Carlo allowance fixed before the runs: the identity "
                     f"is exact and its one approximation, E[a] = B/m, moves the prediction by < 0.2 % (E[a] carries "
                     f"3 % of it, with a relative error below 1/20 under the guidance on m). The excess of OLS with "
                     f"a Gaussian design is sigma^2 chi^2_r/chi^2_(n-r+1): relative s.d. {_FIN_SD:.2f} per "
                     f"repetition at n = 12, r = 3, so the 95 % half-width of 5 seeds x 30000 repetitions is "
                     f"{_FIN_HALF:.1%} and ±{FINITE_TOL:.0%} is {FINITE_TOL / _FIN_HALF:.1f} times it",
    negative_control=lambda p: _finite_predict(p, n_eff=p["n"] + 1),
    negative_label="the OLS factor with n - r in place of n - r - 1 (E[W^-1] read as I/(n-r) instead of I/(n-r-1))",
    alternative=lambda p: ts.spectral_mean_risk(p["eigenvalues"], p["r"], p["beta"], p["noise_var"], p["n"] / p["m"]),
    alternative_label="the asymptotic formula A + (n/m) B at the same small n",
    seeds={"quick": 5, "full": 10},
    assumption="a consistency check, not a theorem of the paper: with sampler='wishart' the head sees [Phi y]^T [Phi y] "
               "drawn from the Wishart law of the jointly Gaussian (phi, y), so the identity E[excess | U_hat] = "
               "a + (sigma^2 + a) r/(n-r-1) (inverse-Wishart mean) holds by construction of the simulated model. "
               "It checks the head's simulator and the exact OLS factor that the mean-risk and rate claims predict. "
               "3a set-up at small n (n = 12, r = 3); E[a(U_hat)] is replaced by its leading term B/m",
    measured_label="n x mean excess test risk",
))

# ---------------------------------------------------------------------------------- representation term
REPR_NEAR_MISS = 1.15
REPR_REGIME = Regime(
    params=_spectral_core_params() + _sizes((200, 200), (2000, 8000), (4000, 20000)) + [_sampler_param()],
    constraints=_spectral_constraints(guidance_m=True),
    strategy_fn=_spectral_strategy(lambda tier: REPR_REGIME.defaults(tier), sizes="asymptotic"))


def _representation_measure(p, rng):
    out = _linear_mc(_spectral_task)(p, p["n"], p["m"], p["reps"], rng)
    approx = out["approx"]
    return {"value": p["m"] * float(approx.mean()),
            "se": p["m"] * float(approx.std(ddof=1) / math.sqrt(approx.size)),
            "n_mean_head": p["n"] * float(out["head"].mean())}


register(Claim(
    id="mest.spectral.representation_term",
    source=f"{PAPER}; docs/papers/two_stage.md §2 (tr(S Σ_pre)), §3a (Anderson 1963 eigenvector CLT) and §4 pieces [R]",
    statement="m E[a(U_hat)] -> sum_a w_a: the representation part of the excess (best head on U_hat) "
              "is tr(S Sigma_pre)/m",
    kind="estimate", regime=REPR_REGIME,
    predict=lambda p: ts.spectral_B(p["eigenvalues"], p["r"], p["beta"]),
    measure=_representation_measure,
    tolerance=Tolerance(MEAN_TOL, relative=True),
    tolerance_reason="±5 % of the prediction: the precision docs/papers/two_stage.md §4 states; the regime enforces "
                     "the guidance m >= 20 d λ1 λ_(r+1)/gap², which keeps the first neglected term of m E[a(U_hat)], "
                     "of relative order d λ1 λ_(r+1)/(gap² m), below 1/20. Fixed before the runs, not from a measured "
                     "value",
    negative_control=lambda p: REPR_NEAR_MISS * ts.spectral_B(p["eigenvalues"], p["r"], p["beta"]),
    negative_label=f"B x {REPR_NEAR_MISS:g}: eigenvector variances of an effective sample m/{REPR_NEAR_MISS:g} "
                   f"(three tolerances off)",
    seeds={"quick": 4, "full": 10},
    assumption="3a set-up; a(U_hat) = min_w (U_hat w - U* b)^T Sigma (U_hat w - U* b) in closed form (no head is "
               "fitted, so n plays no part). A theorem, not an identity: the simulator draws the scatter matrix "
               "and takes its eigenvectors; Anderson's eigenvector CLT and the Sigma-weighting of the spec are "
               "what B = sum_a w_a asserts about them",
    measured_label="m x mean approximation error a(U_hat)",
))


# =============================================================================================== limits
MEAN_LIMIT_TOL = 0.02
MEAN_LIMIT_MS = {"quick": (250, 500, 1000, 2000), "full": (125, 250, 500, 1000, 2000, 4000, 8000)}


def _spectral_limit_n(p) -> int:
    return int(round(p["gamma"] * p["m"]))


def _spectral_limit_strategy(tier):
    """3a configurations whose pre-training guidance is at most the third-largest quick-tier rung (d <= 8, top
    eigenvalues in [4, 20], the others in [0.05, 1]: guidance <= 20 * 8 * 20 / 9 = 356), gamma in [0.25, 4]."""
    from hypothesis import strategies as st

    @st.composite
    def configs(draw):
        d = draw(st.integers(3, 8))
        r = draw(st.integers(1, d - 1))
        top = sorted(draw(st.lists(st.floats(4.0, 20.0), min_size=r, max_size=r)), reverse=True)
        bottom = sorted(draw(st.lists(st.floats(0.05, 1.0), min_size=d - r, max_size=d - r)), reverse=True)
        return {**SPECTRAL_MEAN_LIMIT_REGIME.defaults(tier), "eigenvalues": top + bottom, "r": r,
                "beta": draw(st.lists(st.floats(-3.0, 3.0), min_size=r, max_size=r)),
                "noise_var": draw(st.floats(0.05, 5.0)), "gamma": draw(st.floats(0.25, 4.0))}

    return configs()


SPECTRAL_MEAN_LIMIT_REGIME = Regime(
    params=_spectral_core_params() + [
        Param("gamma", quick=1.0, kind="float", low=0, low_open=True, high=100, search=(0.1, 10), log=True,
              doc="gamma = n/m, held fixed along the ladder (n = round(gamma m))"),
        Param("m", quick=2000, full=8000, kind="int", low=2, high=10 ** 8, search=(500, 20000),
              doc="pre-training (unlabelled) sample size: the ladder's size"),
        Param("reps", quick=2000, full=4000, kind="int", low=2, high=10 ** 6,
              doc="repetitions of the two-stage procedure per replicate"),
        _sampler_param()],
    constraints=_spectral_constraints(with_n=False) + [
        Constraint("ols_mean_exists", lambda p: _spectral_limit_n(p) > p["r"] + 1,
                   "round(gamma m) > r + 1 (the OLS excess risk has a finite mean)", ("gamma", "m", "r")),
        Constraint("pretraining_term_resolved",
                   lambda p: _ratio_of(MEAN_NEAR_MISS)(p) + MEAN_LIMIT_TOL < 1 - MEAN_LIMIT_TOL,
                   f"(A + {MEAN_NEAR_MISS:g} gamma B)/(A + gamma B) < 1 - 2 x {MEAN_LIMIT_TOL:g}: the pre-training term is "
                   f"at least a fifth of A + gamma B, so the near miss's band clears the claim's (where gamma B is "
                   f"smaller, no interval can tell the two)", ("eigenvalues", "r", "beta", "noise_var", "gamma", "m")),
        Constraint("window_past_the_guidance",
                   lambda p: pretraining_size_guidance(p["eigenvalues"], p["r"]) <= MEAN_LIMIT_MS["quick"][-3],
                   f"the spec's pre-training guidance 20 d lambda_1 lambda_(r+1)/gap^2 <= {MEAN_LIMIT_MS['quick'][-3]} "
                   "(the third-largest quick-tier m), so the window has three sizes past it at either tier",
                   ("eigenvalues", "r"))],
    strategy_fn=_spectral_limit_strategy)


def _spectral_limit_ratio_measure(p, rng):
    n = _spectral_limit_n(p)
    out = sim.two_stage_mc(_spectral_task(p), n, p["m"], p["reps"], rng, p["sampler"])
    A, B = _spectral_A_B(p)
    e = out["excess"]
    return {"value": n * float(e.mean()) / (A + n / p["m"] * B), "n": n,
            "se": n * float(e.std(ddof=1) / math.sqrt(e.size)) / (A + n / p["m"] * B)}


def _ratio_of(pretrain_factor):
    """The limit of n E[excess] / (A + gamma B) if the pre-training term were ``pretrain_factor`` gamma B."""
    def predict(p):
        A, B = _spectral_A_B(p)
        g = _spectral_limit_n(p) / p["m"]
        return (A + pretrain_factor * g * B) / (A + g * B)
    return predict


register(Claim(
    id="mest.spectral.mean_risk_limit",
    source=f"{PAPER}; docs/papers/two_stage.md §2 main theorem and §3a spectral pre-training [R]; the ladder ours",
    statement="PCA span + OLS head: at fixed gamma = n/m, n E[excess] / (sigma^2 r + gamma sum_a w_a) -> 1 as m "
              "grows (the main theorem as a limit, extrapolated from a ladder of m)",
    kind="limit", regime=SPECTRAL_MEAN_LIMIT_REGIME,
    predict=lambda p: 1.0, measure=_spectral_limit_ratio_measure,
    tolerance=MEAN_LIMIT_TOL,
    tolerance_reason=("±0.02, fixed before the ladder: the finite-size terms the limit removes are O(1/m) at fixed "
                      "gamma (the OLS factor n/(n-r-1) = 1 + (r+1)/n + O(n^-2) and the 1/m bias of the gamma B term, "
                      "docs/papers/two_stage.md §4), so what a c/m fit leaves is the O(1/m^2) remainder, of order "
                      "(c/m)^2 with c ~ 10 the size of the spec's measured ratios (1.07 at m = 125): below 0.1 % "
                      "past the guidance; the band is the spec's 5 % precision tightened for the extrapolation, "
                      "wide enough for it to carry no Monte Carlo error"),
    negative_control=_ratio_of(MEAN_NEAR_MISS),
    negative_label=MEAN_NEAR_MISS_LABEL,
    alternative=_ratio_of(0.0),
    alternative_label=ORACLE_LABEL,
    seeds={"quick": 5, "full": 10},
    ladder=Ladder("m", MEAN_LIMIT_MS, model="power", alpha=1.0,
                  alpha_reason="the head's factor n/(n-r-1) and the pre-training term's bias are both 1 + O(1/m) at "
                               "fixed gamma (docs/papers/two_stage.md §3a, §4)",
                  window=Window(largest=3, threshold=lambda p: pretraining_size_guidance(p["eigenvalues"], p["r"]),
                                threshold_label="the spec's pre-training guidance m >= 20 d lambda_1 "
                                                "lambda_(r+1)/gap^2 (445 at the defaults)"),
                  scale_label="m (pre-training sample size), n = gamma m"),
    assumption="as mest.spectral.mean_risk (Gaussian x, top-r PCA span of the uncentred sample covariance, OLS head, "
               "exact excess, Wishart sampler), with n = round(gamma m) along a ladder of m; the finite-n OLS factor "
               "is not predicted here: it is one of the finite-size terms the extrapolation removes. Decisive at the "
               "defaults; the regime does not yet bound the ladder's resolution elsewhere: at a drawn setting with a "
               "heavier-tailed n x excess (eigenvalues [9, 5, 1, 0.89, 0.50, 0.10], r = 2, noise 3.14, gamma = 3.0, "
               "root 11) the quick tier's 5 x 2000 repetitions gave 1.008 [0.985, 1.031], inconclusive",
    measured_label="n x mean excess / (A + gamma B), extrapolated to m -> infinity"))


LAW_LIMIT_LEVEL = 0.9
LAW_LIMIT_TOL = 0.01
LAW_LIMIT_DRAWS = 1_000_000


@lru_cache(maxsize=64)
def _law_cdf_at_limit_quantile(head_w, pre_w, gamma, factor, level=LAW_LIMIT_LEVEL, draws=LAW_LIMIT_DRAWS,
                               seed=20260327):
    """``(q, F_f(q))``: the ``level`` quantile q of the limit law and the CDF there of the law with the pre-training
    weights times ``factor`` (quadrature by fixed-seed draws, independent of every replicate)."""
    rng = np.random.default_rng(seed)
    q = float(np.quantile(_sample_law(rng, head_w, pre_w, gamma, draws), level))
    other = _sample_law(rng, head_w, np.asarray(pre_w) * factor, gamma, draws)
    return q, float(np.mean(other <= q))


def _law_limit_args(p, factor=1.0):
    head_w, pre_w = _spectral_weights(p)
    return (tuple(float(w) for w in head_w), tuple(float(w) for w in pre_w), float(p["gamma"]), float(factor))


def _law_tail_measure(p, rng):
    n = _spectral_limit_n(p)
    out = sim.two_stage_mc(_spectral_task(p), n, p["m"], p["reps"], rng, p["sampler"])
    q, _ = _law_cdf_at_limit_quantile(*_law_limit_args(p))
    below = int(np.sum(n * out["excess"] <= q))
    return {"value": below / out["excess"].size - LAW_LIMIT_LEVEL, "n": n, "quantile": q, "below": below}


def _law_tail_shift(factor):
    """The limit of P(n excess <= q) - level if n excess followed the law with pre-training weights x ``factor``
    (None: :func:`law_tail_near_miss_factor`)."""
    def predict(p):
        f = law_tail_near_miss_factor(p) if factor is None else factor
        return _law_cdf_at_limit_quantile(*_law_limit_args(p, f))[1] - LAW_LIMIT_LEVEL
    return predict


def law_tail_near_miss_factor(p) -> float:
    """The factor f of the pre-training weights whose law puts P(X <= q) at ``LAW_CONTROL_CRITICALS`` tolerances
    below the level: the nearest pre-training term the tail check should refute.  Secant steps from f = 1.05 on the
    fixed-seed quadrature (the shift is close to linear in f - 1 there); a function of the parameters only."""
    target = -LAW_CONTROL_CRITICALS * LAW_LIMIT_TOL

    def shift(f):
        return _law_cdf_at_limit_quantile(*_law_limit_args(p, round(f, 4)))[1] - LAW_LIMIT_LEVEL
    f0, f1 = 1.0, 1.05
    g0, g1 = 0.0, shift(f1)
    for _ in range(3):
        if g1 == g0:
            break
        f0, f1 = f1, max(1.005, f1 + (target - g1) * (f1 - f0) / (g1 - g0))
        g0, g1 = g1, shift(f1)
    return round(f1, 4)


register(Claim(
    id="mest.spectral.law_tail_limit",
    source=f"{PAPER}; docs/papers/two_stage.md §2 limit law and §3a [R]; the ladder ours",
    statement=f"PCA span + OLS head at fixed gamma = n/m: P(n excess <= q) -> {LAW_LIMIT_LEVEL:g} as m grows, q the "
              f"{LAW_LIMIT_LEVEL:g} quantile of the limit law sigma^2 chi^2_r + gamma sum_a w_a chi^2_1 (convergence "
              "in law, checked in the tail where the finite-m distortion is largest)",
    kind="limit", regime=SPECTRAL_MEAN_LIMIT_REGIME,
    predict=lambda p: 0.0, measure=_law_tail_measure,
    tolerance=LAW_LIMIT_TOL,
    tolerance_reason=(f"±{LAW_LIMIT_TOL:g} in probability, fixed before the ladder: the quantile's quadrature error "
                      f"(10^6 fixed-seed draws: sd sqrt(0.09/10^6) = 3e-4 in probability) and the O(1/m^2) remainder "
                      "of a c/m fit are an order below it; it is about the resolution of the quick tier's 5 x 2000 "
                      "repetitions per size (sd of one replicate's fraction sqrt(0.09/2000) = 0.0067)"),
    negative_control=_law_tail_shift(None),
    negative_label=(f"limit law with the gamma-term weights x f, f the smallest factor that moves P(X <= q) "
                    f"{LAW_CONTROL_CRITICALS:g} tolerances below {LAW_LIMIT_LEVEL:g} (f = 1.056 at the defaults: a "
                    "pre-training term 5.6 % larger); chosen after the first verdict, where the law claims' x1.2 sat 11 "
                    "tolerances away"),
    alternative=_law_tail_shift(0.0),
    alternative_label="oracle law sigma^2 chi^2_r (pre-training free: gamma-term dropped)",
    seeds={"quick": 40, "full": 40},
    ladder=Ladder("m", MEAN_LIMIT_MS, model="power", alpha=1.0,
                  alpha_reason="n excess is an even (quadratic) function of asymptotically normal estimates, so the "
                               "odd n^-1/2 Edgeworth term of its law vanishes and the first correction is O(1/n) + "
                               "O(1/m), c/m at fixed gamma, the order mest.spectral.mean_risk_limit measures for the mean",
                  window=Window(largest=3, threshold=lambda p: pretraining_size_guidance(p["eigenvalues"], p["r"]),
                                threshold_label="the spec's pre-training guidance m >= 20 d lambda_1 "
                                                "lambda_(r+1)/gap^2 (445 at the defaults)"),
                  scale_label="m (pre-training sample size), n = gamma m"),
    assumption="as mest.spectral.mean_risk_limit; one replicate is the fraction of reps values of n x excess at or "
               f"below the limit law's {LAW_LIMIT_LEVEL:g} quantile, minus {LAW_LIMIT_LEVEL:g} (an unbiased estimate "
               "of the law's finite-m distortion at that point, so no KS noise floor enters the limit). Seeds raised "
               "from 5 to 10 at the quick tier after seeing verdicts: under the fresh root 2718281 the 5 seeds gave "
               "-0.0045 [-0.0103, 0.0013], inconclusive (the interval a third wider than the band allows); then from 10 to 40 "
               "at both tiers after another fresh root gave -0.0054 [-0.0108, -0.0007] at 10 seeds (with 40 seeds, "
               "-0.0009 [-0.0034, 0.0017] at that root, and -0.0011 to -0.0023 at three others)",
    measured_label=f"P(n excess <= q_{LAW_LIMIT_LEVEL:g}) - {LAW_LIMIT_LEVEL:g}, extrapolated to m -> infinity"))



# =============================================================================================== bench
def _numpy_em(X, mu0, log_pi, tol, max_iter):
    """Plain NumPy EM for the means (reference of the Numba kernel), one repetition."""
    mu = mu0.copy()
    for _ in range(max_iter):
        eta = log_pi + X @ mu.T - 0.5 * (mu ** 2).sum(1)
        post = np.exp(eta - eta.max(1, keepdims=True))
        post /= post.sum(1, keepdims=True)
        new = (post.T @ X) / post.sum(0)[:, None]
        change = np.abs(new - mu).max()
        mu = new
        if change < tol:
            break
    return mu


def _numpy_test_excess(Xt, fstar, mu, w, log_pi):
    eta = log_pi + Xt @ mu.T - 0.5 * (mu ** 2).sum(1)
    post = np.exp(eta - eta.max(1, keepdims=True))
    post /= post.sum(1, keepdims=True)
    return float(np.mean((fstar - post @ w) ** 2))


def bench_two_stage(quick: bool) -> list[dict]:
    """Rows ``case, seconds, ratio_vs_numpy``: each kernel against a plain NumPy reference of the same work."""
    import time

    def timeit(fn):
        t0 = time.perf_counter()
        out = fn()
        return time.perf_counter() - t0, out

    sim.warmup()
    rng = np.random.default_rng(0)
    rows = []
    reps = 50 if quick else 400
    task = sim.spectral_task(SPECTRAL_EIGS, 3, SPECTRAL_BETA, 1.0)
    t_w, _ = timeit(lambda: sim.two_stage_mc(task, 2000, 2000, reps, rng, "wishart"))
    t_d, _ = timeit(lambda: sim.two_stage_mc(task, 2000, 2000, reps, rng, "data"))
    rows.append({"case": f"3a two-stage wishart vs data, n=m=2000 d=20 reps={reps}", "seconds": t_w,
                 "ratio_vs_numpy": t_d / t_w})
    A = rng.standard_normal((reps * 4, 30, 30))
    S = A @ np.swapaxes(A, 1, 2)
    t_k, (v, _) = timeit(lambda: sim.batched_eigh(S))
    t_n, (v2, _) = timeit(lambda: np.linalg.eigh(S))
    rows.append({"case": f"batched eigh {reps * 4} x 30x30", "seconds": t_k, "ratio_vs_numpy": t_n / t_k,
                 "same_numbers": bool(np.allclose(v, v2))})
    means = sim.regular_simplex_means(3, 3, 3.0)
    log_pi = np.log(np.full(3, 1 / 3))
    R = 4 if quick else 20
    X, _ = sim.draw_mixture(rng, means, np.exp(log_pi), (R, 2000))
    t_k, (mu_hat, _, _) = timeit(lambda: sim.em_means(X, means, log_pi, 1e-10, 10000))
    t_n, mu_ref = timeit(lambda: [_numpy_em(X[t], means, log_pi, 1e-10, 10000) for t in range(R)])
    rows.append({"case": f"GMM EM means, m=2000 K=3 d=3 reps={R}", "seconds": t_k, "ratio_vs_numpy": t_n / t_k,
                 "same_numbers": bool(np.allclose(mu_hat, np.array(mu_ref), atol=1e-8))})
    Xt, _ = sim.draw_mixture(rng, means, np.exp(log_pi), (100_000,))
    beta = np.array([1.0, -1.0, 0.5])
    fstar = sim.posterior_mean_target(Xt, means, log_pi, beta)
    w = np.tile(beta, (R, 1))
    t_k, (e, _) = timeit(lambda: sim.test_set_excess(Xt, fstar, mu_hat, w, log_pi))
    t_n, e_ref = timeit(lambda: [_numpy_test_excess(Xt, fstar, mu_hat[t], w[t], log_pi) for t in range(R)])
    rows.append({"case": f"GMM test-set excess, T=1e5 reps={R}", "seconds": t_k, "ratio_vs_numpy": t_n / t_k,
                 "same_numbers": bool(np.allclose(e, e_ref, rtol=1e-9))})
    return rows


register_bench("two_stage", bench_two_stage)
