"""Derivations of the MRP family, the NumPy reference step, and the claims' regimes."""
import math

import numpy as np
import pytest

from derivations import mrp as theory
from simulations.multiview import data, losses, reference
from theorycheck.regime import RegimeError


def test_smoothed_relu_is_c1():
    for q in (3, 5, 8):
        jump, slope, _ = theory.check_smoothed_relu(q)
        assert jump == 0 and slope == 0


def test_dirichlet_moments_against_monte_carlo():
    rng = np.random.default_rng(0)
    S = rng.uniform(1, 1.5, 400000)
    u = rng.uniform(0, 1, S.size)
    for q in (3, 5):
        mc = np.mean((S * u) ** q + (S * (1 - u)) ** q)
        assert abs(float(theory.sum_zq(1, 1.5, q)) - mc) < 4e-3 * mc
        mc2 = np.mean(2 * (S * u) ** q * (S * (1 - u)) ** q)
        assert abs(float(theory.cross_zq(1, 1.5, q)) - mc2) < 1e-2 * mc2


def test_growth_signs_and_hitting_times():
    assert theory.growth_constant_sl(6, 5, 0.1, 0.05, 0.03) > 0
    assert theory.growth_constant_mrp(6, 3, 0.1, 0.05, 0.03, 0.25) > 0
    assert theory.growth_constant_mrp(6, 3, 0.1, 0.05, 0.03, 0.25, "patch") < 0
    t1 = theory.sl_hitting_time(0.01, 8, 6, 5, 0.1, 0.05, 0.03)
    t2 = theory.sl_hitting_time(0.02, 8, 6, 5, 0.1, 0.05, 0.03)
    assert t1 > t2 > 0
    assert theory.follower_ratio(0.2, 5) == pytest.approx(1.2 ** 3)


def test_accounting_and_ensemble():
    assert theory.single_view_accuracy_sl(0.0) == 0.5
    assert theory.single_view_accuracy_sl(0.3) == pytest.approx(0.65)
    assert theory.single_view_accuracy_ensemble(3) == pytest.approx(1 - 2 ** -3)
    assert theory.single_view_accuracy_ensemble(1, 0.4) == pytest.approx(0.7)


def test_regime_conditions():
    assert theory.init_below_threshold(0.01, 12, 0.1)
    assert not theory.init_below_threshold(0.1, 40, 0.1)  # spec default sigma_0 = 1/k at k = 10
    assert theory.noise_below_threshold(0.5, 0.0, 128, 6, 0.1, True)
    assert not theory.noise_below_threshold(0.05, 0.0, 128, 6, 0.1, False)
    assert theory.memorisation_regime(0.03, 600, 10) and not theory.memorisation_regime(0.2, 2000, 10)


def test_reference_step_matches_fused():
    rng = np.random.default_rng(3)
    cfg = data.DataConfig(k=4, P=10, d=24, mu=0.2)
    D = data.sample(cfg, 30, rng)
    n, P, d = D.X.shape
    X2 = D.X.reshape(n * P, d)
    W = 0.1 * rng.standard_normal((8, d))
    B = losses.Batch(D.X)
    assert np.allclose(losses.azl_loss_grad(B, D.y, W, 4, 0.1, 5)[1], reference.azl_grad(X2, D.y, W, 4, P, 0.1, 5))
    b = np.ones(8)
    assert np.allclose(losses.mrp_pooled_loss_grad(B, W, b, 0.25, 0.1, 3)[1],
                       reference.mrp_pooled_grad(X2, n, P, W, b, 0.25, 0.1, 3))


def test_regimes_reject_bad_input():
    from theorycheck import registry

    c = registry.get("mrp.sl.single_view_accuracy") if hasattr(registry, "get") else \
        {x.id: x for x in registry.all_claims()}["mrp.sl.single_view_accuracy"]
    with pytest.raises(RegimeError):
        c.regime.resolve("quick", texts={"sigma0": "0.1"})  # Lambda^(0) above varrho
    with pytest.raises(RegimeError):
        c.regime.resolve("quick", texts={"d": "10"})
    with pytest.raises(RegimeError, match="single_view_samples"):
        c.regime.resolve("quick", texts={"k": "8"})               # mu N = 6 single-view samples for 8 classes
    assert c.regime.resolve("quick", texts={"k": "8", "mu": "0.03"})["k"] == 8


def test_random_kernel_purity_matches_monte_carlo():
    """The positive control of mrp.purity: the closed-form purity of a random Gaussian kernel against draws."""
    from derivations import mrp as theory

    rng = np.random.default_rng(11)
    n, sigma, thr = 12, 0.15, 0.1
    C = sigma * rng.standard_normal((200_000, n))
    top = np.sort(C, axis=1)[:, ::-1]
    keep = top[:, 0] >= thr
    mc = np.mean(np.maximum(top[keep, 1], 0) / top[keep, 0] < 0.3)
    assert abs(theory.random_kernel_purity(n, 0.3, thr / sigma) - mc) < 4e-3
    assert theory.random_kernel_purity(n, 0.3, thr / sigma) < theory.random_kernel_purity(4, 0.3, thr / sigma)


def test_calibration_runs_are_independent_of_measured_runs_and_shared():
    """Calibration runs (key (i, 1)) never coincide with a measured replicate (key (i,)), and two claims that
    calibrate on the SL family see the same calibration run; the view coverage is (1 + f_2 - f_0)/2."""
    from claims import mrp
    from derivations import mrp as theory
    from theorycheck.runner import replicate_identity, replicate_rngs

    p = dict(mrp.sl_regime().resolve("quick"), **{"k": 3, "P": 10, "d": 24, "N": 40, "n_test": 60, "m": 2,
                                                                   "T": 50})  # below the regime: plumbing only
    meas = replicate_rngs("mrp.sl.single_view_accuracy", 7, 1)[0]
    cal_a = replicate_rngs("mrp.sl.single_view_accuracy", 7, 1, stream="calibration")[0]
    cal_b = replicate_rngs("mrp.sl.ensemble", 7, 1, stream="calibration")[0]
    assert replicate_identity(meas)[1] == (0,) and replicate_identity(cal_a)[1] == (0, 1)
    ra, rb, rm = mrp.run_sl(p, cal_a), mrp.run_sl(p, cal_b), mrp.run_sl(p, meas)
    assert ra is rb
    assert not np.array_equal(ra["W"], rm["W"])
    row = mrp.calibrate_view_coverage(p, cal_a)
    assert row["trials"] == 2 * p["k"]
    assert row["value"] == pytest.approx(theory.sl_view_coverage(ra["f2"], ra["f0"]))


def test_proportion_replicates_report_counts():
    from claims import mrp

    out = mrp._accuracy(0.95, 600)
    assert (out["successes"], out["trials"], out["value"]) == (570, 600, 0.95)
    with pytest.raises(ValueError, match="no trials"):
        mrp._proportion(0, 0)


def test_teacher_miss_probability_matches_monte_carlo():
    """The teacher_covers_features constraint: P[no teacher kernel reaches varrho on a feature] against draws."""
    rng = np.random.default_rng(5)
    M, sigma, thr = 12, 0.105, 0.1
    C = sigma * rng.standard_normal((200_000, M))
    mc = np.mean(C.max(axis=1) < thr)
    assert abs(theory.teacher_miss_probability(M, thr / sigma) - mc) < 3e-3
    assert theory.teacher_miss_probability(36, 0.1 / 0.15) < 1e-4 < theory.teacher_miss_probability(12, 1.0)


def test_event_and_live_coverage():
    """AZL's event is f_0 = 0; the event-conditional calibration counts the views of the classes that captured
    one, so it equals the coverage on an event run and (1 + f_2/(1 - f_0))/2 on a run with a dead class."""
    from claims import mrp
    from theorycheck.runner import replicate_rngs

    assert mrp.sl_event({"f0": 0.0}) and not mrp.sl_event({"f0": 1 / 6})
    p = dict(mrp.sl_regime().resolve("quick"), **{"k": 3, "P": 10, "d": 24, "N": 40, "n_test": 60, "m": 2,
                                                                   "T": 50})  # below the regime: plumbing only
    rng = replicate_rngs("mrp.sl.error_over_mu", 7, 1, stream="calibration")[0]
    o = mrp.run_sl(p, rng)
    live = mrp.calibrate_live_coverage(p, rng)
    n_live = p["k"] - int(round(o["f0"] * p["k"]))
    assert live["trials"] == 2 * n_live and live["successes"] == o["n_views_learned"]
    if n_live == p["k"]:
        assert live["value"] == mrp.calibrate_view_coverage(p, rng)["value"]


def test_mrp_regimes_reject_small_k_and_thin_teachers():
    from claims import mrp

    with pytest.raises(RegimeError, match="k >= 6"):
        mrp.mrp_regime().resolve("quick", overrides={"k": 5})
    with pytest.raises(RegimeError, match="teacher"):
        mrp.mrp_regime().resolve("quick", overrides={"m": 2, "sigma_teacher": 0.09})


def test_sl_dead_class_probability_matches_monte_carlo():
    """AZL's event failure: some class's leading initial correlation below x* = sigma0 (t(sigma0)/T)^(1/(q-2))."""
    rng = np.random.default_rng(3)
    sigma0, m, k, q, T, t0 = 0.012, 6, 6, 6, 2000, 83.5
    x_star = sigma0 * (t0 / T) ** (1 / (q - 2))
    leaders = (sigma0 * rng.standard_normal((100_000, k, 2 * m))).max(axis=2)
    mc = np.mean((leaders < x_star).any(axis=1))
    assert abs(theory.sl_dead_class_probability(sigma0, m, k, q, T, t0) - mc) < 4e-3
    assert theory.sl_dead_class_probability(sigma0, m, k, q, 4 * T, t0) < theory.sl_dead_class_probability(
        sigma0, m, k, q, T, t0)


def test_capture_time_units_is_the_lemma_hitting_time_in_units_of_the_threshold():
    from derivations import tensor_power

    for sigma0, km, q in ((0.03, 36, 3), (0.01, 40, 4), (0.02, 48, 5)):
        x0 = sigma0 * theory.expected_max_gaussian(km)
        eta, C = 0.7, 3.0
        t = tensor_power.continuous_hitting_time(x0, eta, C, q, 0.1)
        assert theory.capture_time_units(sigma0, km, q, 0.1) == pytest.approx(eta * C * 0.1 ** (q - 2) * t, rel=1e-12)
    # a smaller init or a larger power starts slower
    assert theory.capture_time_units(0.01, 40, 4, 0.1) > theory.capture_time_units(0.01, 40, 3, 0.1) > \
        theory.capture_time_units(0.03, 40, 3, 0.1)


def test_mixture_error_is_the_error_rate_of_a_sampled_mixture():
    """mu (1 - sv) + (1 - mu)(1 - mv) against the error rate of 400 000 samples of D = (1 - mu) D_m + mu D_s,
    each single-view sample right with probability sv and each multi-view one with probability mv."""
    from claims.mrp import mixture_error

    rng = np.random.default_rng(5)
    n = 400_000
    for mu, sv, mv in ((0.1, 0.62, 0.995), (0.02, 0.9, 0.97), (0.5, 0.3, 0.8)):
        single = rng.random(n) < mu
        right = np.where(single, rng.random(n) < sv, rng.random(n) < mv)
        rate = 1 - right.mean()
        se = math.sqrt(rate * (1 - rate) / n)
        assert abs(rate - mixture_error(mu, sv, mv)) < 5 * se, (mu, sv, mv, rate)
    assert mixture_error(0.1, 1.0, 1.0) == 0.0 and mixture_error(0.1, 0.0, 1.0) == 0.1
