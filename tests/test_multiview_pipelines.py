"""The fused kernels against plain NumPy, the stopping rules, the early-phase exponent fit, and the
sharing of one training run between the claims of a family."""
import numpy as np
import pytest

from simulations.multiview import data, experiments, kernels, losses, reference, train


def _act(Z, varrho, q):
    return np.where(Z <= 0, 0.0, np.where(Z <= varrho, np.clip(Z, 0, None) ** q / (q * varrho ** (q - 1)),
                                          Z - (1 - 1 / q) * varrho))


@pytest.mark.parametrize("q", [3, 6])
def test_fused_pool_and_backprop_match_numpy(q):
    rng = np.random.default_rng(0)
    P, n, M, varrho = 5, 7, 4, 0.1
    ZT = 0.15 * rng.standard_normal((M, n * P))
    ZT[0, :3] = [0.0, varrho, -0.0]  # the seams of the smoothed ReLU
    A = _act(ZT, varrho, q)
    dA = reference._dact(ZT, varrho, q)
    H, Q = kernels.pool(ZT, P, varrho, q)
    assert np.allclose(H, A.reshape(M, n, P).sum(axis=2), rtol=1e-13, atol=1e-15)
    assert np.allclose(Q, (A ** 2).reshape(M, n, P).sum(axis=2), rtol=1e-13, atol=1e-15)
    C1, c2, c3 = rng.standard_normal((M, n)), rng.standard_normal(M), rng.standard_normal(M)
    AT = rng.random((M, n * P))
    G = kernels.backprop(ZT.copy(), P, C1, c2, c3, AT, varrho, q)
    expect = dA * (np.repeat(C1, P, axis=1) + c2[:, None] * A + c3[:, None] * AT)
    assert np.allclose(G, expect, rtol=1e-12, atol=1e-15)
    Z2 = ZT.copy()
    H2 = kernels.pool_keep_grad(Z2, P, varrho, q)
    assert np.allclose(H2, H, rtol=1e-13, atol=1e-15) and np.allclose(Z2, dA, rtol=1e-13, atol=1e-15)


def test_power_law_exponent_recovers_the_recursion():
    for q in (3, 6):
        c = [1e-3]
        while c[-1] < 0.2:
            c.append(c[-1] + 2.0 * c[-1] ** (q - 1) * (1e-3) ** -(q - 2) * 0.01)
        assert experiments.power_law_exponent(np.array(c), 0.05) == pytest.approx(q - 1, abs=1e-9)
    assert np.isnan(experiments.power_law_exponent(np.array([0.01, 0.2, 0.3]), 0.05))


def test_winner_is_the_first_unit_past_the_threshold_not_the_largest_at_the_end():
    # unit 0 follows the q = 4 recursion and crosses 0.05 first; unit 1 starts larger, stalls, then
    # overtakes it long after (a run trained past capture): the exponent belongs to unit 0
    c = [2e-3]
    while len(c) < 400:
        c.append(min(c[-1] + 2000.0 * c[-1] ** 3, 1.0))
    late = np.r_[np.full(300, 4e-3), np.linspace(4e-3, 2.0, 100)]
    block = np.c_[c, late]
    assert (np.array(c[:300]) > 0.05).any() and late[-1] > c[-1]
    assert np.array_equal(experiments.winner_trajectory(block, 0.05), block[:, 0])
    assert experiments.power_law_exponent(experiments.winner_trajectory(block, 0.05), 0.05) == pytest.approx(3, abs=1e-9)
    corr = np.full((400, 6, 4), 1e-3)  # k = 2 classes, m = 3 kernels; class 1's own block is [3:6, 2:4]
    corr[:, 4, 3], corr[:, 5, 2] = block[:, 0], block[:, 1]
    corr[:, 1, 3] = 3.0 * block[:, 0]  # another class's kernel: not class 1's unit
    assert experiments.class_exponents(corr, 2, 3, 0.05)[1] == pytest.approx(3, abs=1e-9)
    assert np.array_equal(experiments.winner_trajectory(block[:30], 0.05), block[:30, 1])  # none crossed: the last step's largest


def test_stop_at_multi_view_fit():
    rng = np.random.default_rng(4)
    cfg = data.DataConfig(k=3, P=10, d=24, mu=0.3, sigma_p=0.0, sigma_n=0.04)
    D = data.sample(cfg, 60, rng)
    net = train.NetConfig(m=3, q=4, sigma0=0.01, eta=8.0, T=400)
    W0 = train.init_weights(rng, 9, 24, 0.01)
    run = train.train_sl(D, net, W0, 3, stop_at="multi")
    F = train.azl_predict(D.X, run.W, 3, net)
    multi = ~D.single
    assert run.extra["fitted"] and np.all(F[multi].argmax(axis=1) == D.y[multi])
    if run.stop_step > 0:  # one step earlier some multi-view sample was still misclassified
        prev = train.train_sl(D, train.NetConfig(m=3, q=4, sigma0=0.01, eta=8.0, T=run.stop_step - 1), W0, 3,
                              stop_at=None)
        Fp = train.azl_predict(D.X, prev.W, 3, net)
        assert not np.all(Fp[multi].argmax(axis=1) == D.y[multi])
    learned = train.train_sl(D, net, W0, 3, stop_at="learned")
    lam = train.capture_sl(train.features_corr(learned.W, 3), 3)
    assert learned.stop_step >= run.stop_step
    if learned.extra["fitted"]:  # every class has captured a view, every multi-view sample is fitted
        assert np.all(lam.max(axis=1) >= net.varrho)
        Fl = train.azl_predict(D.X, learned.W, 3, net)
        assert np.all(Fl[multi].argmax(axis=1) == D.y[multi])
    else:
        assert learned.stop_step == net.T and np.any(lam.max(axis=1) < net.varrho)
    with pytest.raises(ValueError, match="stop_at"):
        train.train_sl(D, net, W0, 3, stop_at="never")


def test_family_runs_are_shared_and_fresh_under_a_new_root():
    from claims import mrp
    from theorycheck.runner import replicate_rngs

    p = dict(mrp.sl_regime().resolve("quick"), **{"k": 3, "P": 10, "d": 24, "N": 40, "n_test": 60, "m": 2,
                                                                   "T": 50})  # below the regime: plumbing only
    a = replicate_rngs("mrp.sl.single_view_accuracy", 7, 2)
    b = replicate_rngs("mrp.sl.lottery", 7, 2)
    c = replicate_rngs("mrp.sl.lottery", 8, 2)
    ra, rb, rc = mrp.run_sl(p, a[1]), mrp.run_sl(p, b[1]), mrp.run_sl(p, c[1])
    assert ra is rb  # one run per (parameters, root, replicate), whichever claim asks
    assert not np.array_equal(ra["W"], rc["W"])
    assert not np.array_equal(ra["W"], mrp.run_sl(p, a[0])["W"])
    mrp._sl_cached.cache_clear()
    assert np.array_equal(mrp.run_sl(p, b[1])["W"], ra["W"])  # recomputed identically


def test_structured_batch_equals_dense_products():
    rng = np.random.default_rng(5)
    cfg = data.DataConfig(k=4, P=16, d=40, mu=0.2, s=3.0, sigma_p=0.0, sigma_n=0.05)
    D = data.sample(cfg, 30, rng)
    sparse, dense = losses.Batch(D.X), losses.Batch(D.X, structured=False)
    assert sparse.structured and not dense.structured
    W = 0.1 * rng.standard_normal((8, 40))
    G = rng.standard_normal((8, 30 * 16))
    assert np.allclose(sparse.forward(W), W @ dense.X2.T, rtol=1e-13, atol=1e-15)
    assert np.allclose(sparse.backward(G), G @ dense.X2, rtol=1e-12, atol=1e-13)
    a = losses.azl_loss_grad(sparse, D.y, W, 4, 0.1, 5)
    b = losses.azl_loss_grad(dense, D.y, W, 4, 0.1, 5)
    assert a[0] == pytest.approx(b[0], rel=1e-13) and np.allclose(a[1], b[1], rtol=1e-11, atol=1e-14)
    noisy = data.sample(data.DataConfig(k=4, P=16, d=40, sigma_p=0.05, gamma=0.01), 10, rng)
    assert not losses.Batch(noisy.X).structured  # dense feature noise: no one-hot rows


def test_structured_gradient_matches_finite_differences():
    rng = np.random.default_rng(6)
    cfg = data.DataConfig(k=3, P=10, d=16, mu=0.3, s=3.0, sigma_p=0.0, sigma_n=0.2)
    D = data.sample(cfg, 6, rng)
    B = losses.Batch(D.X)
    assert B.structured
    W = 0.15 * rng.standard_normal((6, 16))
    g = losses.azl_loss_grad(B, D.y, W, 3, 0.1, 3)[1]
    fd = np.zeros_like(W)
    for idx in np.ndindex(W.shape):
        Wp, Wm = W.copy(), W.copy()
        Wp[idx] += 1e-6
        Wm[idx] -= 1e-6
        fd[idx] = (losses.azl_loss_grad(B, D.y, Wp, 3, 0.1, 3)[0] - losses.azl_loss_grad(B, D.y, Wm, 3, 0.1, 3)[0]) / 2e-6
    assert np.abs(g - fd).max() < 1e-7 * max(1.0, np.abs(fd).max())


def test_fitted_by_noise_separates_memorised_from_feature_fits():
    """Planted AZL network on k = 2: class 0's kernel reads feature v_{0,1}; class 1's kernel reads the noise
    direction of sample 1's noise patch only, so sample 1 (class 1) is fitted through that patch alone."""
    k, P, d = 2, 4, 8
    X = np.zeros((3, P, d))
    z = np.zeros((3, P, 2 * k))
    X[0, 0, 0] = z[0, 0, 0] = 1.0          # class 0: its feature v_{0,1} on patch 0
    X[1, 1, 2] = z[1, 1, 2] = 1.0          # class 1: its feature v_{1,1}, which no kernel reads
    X[1, 3, 6] = 1.0                       # ... and a noise patch along e_6
    X[2, 2, 3] = z[2, 2, 3] = 1.0          # class 1 again, without the memorised noise
    D = data.Dataset(X=X, y=np.array([0, 1, 1]), single=np.ones(3, bool), strong=np.zeros(3, int), z=z)
    W = np.zeros((2, d))
    W[0, 0] = 1.0
    W[1, 6] = 1.0
    net = train.NetConfig(m=1, q=3, sigma0=0.01, eta=1.0, T=1)
    predict = lambda X_: train.azl_predict(X_, W, k, net)  # noqa: E731
    assert np.array_equal(experiments.noise_patches(D)[1], [True, False, True, True])
    # sample 0 rests on its feature, sample 1 on noise, sample 2 is misclassified (a tie goes to class 0)
    assert np.array_equal(experiments.fitted_by_noise(D, predict), [False, True, False])
    W[1, 6] = 0.0  # forget the noise: nothing is fitted by noise any more
    assert not experiments.fitted_by_noise(D, predict).any()


def test_need_fitted_counts_the_unfittable_samples_fitted_when_training_stops():
    """``n_memorised <= n_need_fitted <= n_need_memory``; equal counts once every training sample is fitted, and
    fewer fitted when the budget T stops training first (the same data and initialisation)."""
    cfg = data.DataConfig(k=3, P=12, d=48, mu=0.4, sigma_p=0.0, sigma_n=0.08)
    runs = [experiments.sl_experiment(cfg, train.NetConfig(m=3, q=4, sigma0=0.01, eta=8.0, T=T), 60, 60,
                                      np.random.SeedSequence(3), stop_at="fit") for T in (40, 3000)]
    for o in runs:
        assert 0 <= o["n_memorised"] <= o["n_need_fitted"] <= o["n_need_memory"]
    early, late = runs
    assert not early["fitted"] and early["train_acc"] < 1 and early["n_need_fitted"] < early["n_need_memory"]
    assert late["fitted"] and late["train_acc"] == 1 and late["n_need_memory"] > 0
    assert late["n_need_fitted"] == late["n_need_memory"]


def test_the_sl_run_cache_holds_every_run_of_a_calibrated_claim():
    """The SL claims share runs through one cache; it must hold a calibrated claim's measured and calibration
    runs together, or the claims evict each other's runs in order and recompute every one."""
    from claims import mrp

    need = max(mrp.COVERAGE_CLAIM_SEEDS.values()) + max(mrp.SL_CALIBRATION_SEEDS.values())
    assert mrp._sl_cached.cache_info().maxsize >= need
