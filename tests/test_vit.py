"""vit: gradients against finite differences, (Phi, Upsilon) kernels against the dense-Q implementation,
derivations against simulation, regimes and the symmetry of mean-pooled CL."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from derivations import vit as D
from simulations import vit as S
from simulations.vit import dense
from simulations.vit.reference import mae_loss_grad_numpy
from theorycheck import registry
from theorycheck.regime import RegimeError


def _params(rng, g, scale=1.0):
    return scale * rng.standard_normal((g.P, g.n_features)), 0.5 * scale * rng.standard_normal((g.P, g.P))


def _fd(f, arr, idx, h=1e-5):
    old = arr[idx]
    arr[idx] = old + h
    up = f()
    arr[idx] = old - h
    down = f()
    arr[idx] = old
    return (up - down) / (2 * h)


@pytest.mark.parametrize("softmax_all", [True, False])
@pytest.mark.parametrize("z_mode", ["one", "uniform"])
def test_mae_gradient_matches_finite_differences(softmax_all, z_mode):
    rng = np.random.default_rng(3)
    g = S.Geometry(16, 8, 2, 2)
    b = S.mae_batch(g, 5, 0.5, rng, n_images=4, z_mode=z_mode, softmax_all=softmax_all)
    phi, ups = _params(rng, g)
    st_ = S.mae_evaluate(phi, ups, b)
    for arr, grad in ((phi, st_.grad_phi), (ups, st_.grad_ups)):
        for _ in range(6):
            idx = tuple(rng.integers(0, s) for s in arr.shape)
            num = _fd(lambda: S.mae_evaluate(phi, ups, b).loss, arr, idx)
            assert abs(num - grad[idx]) <= 1e-7 * max(1.0, abs(num)), (idx, num, grad[idx])


@pytest.mark.parametrize("pooling", ["mean", "masked", "visible"])
def test_infonce_gradient_matches_finite_differences(pooling):
    rng = np.random.default_rng(4)
    g = S.Geometry(16, 8, 2, 2)
    b = S.cl_batch(g, 6, 0.5, rng, z_mode="uniform")
    pool = S.pooling_weights(b, pooling)
    phi, ups = _params(rng, g)
    st_ = S.cl_evaluate(phi, ups, b, pool, 0.5)
    for arr, grad in ((phi, st_.grad_phi), (ups, st_.grad_ups)):
        for _ in range(6):
            idx = tuple(rng.integers(0, s) for s in arr.shape)
            num = _fd(lambda: S.cl_evaluate(phi, ups, b, pool, 0.5).loss, arr, idx)
            assert abs(num - grad[idx]) <= 1e-7 * max(1.0, abs(num)), (idx, num, grad[idx])


def test_dense_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    g = S.Geometry(9, 3, 2, 1)
    b = S.mae_batch(g, 3, 0.5, rng)
    Q = 0.3 * rng.standard_normal((g.n_features + g.P,) * 2)
    _, G = dense.mae_loss_grad_dense(Q, b)
    for _ in range(8):
        idx = tuple(rng.integers(0, Q.shape[0], size=2))
        num = _fd(lambda: dense.mae_loss_grad_dense(Q, b)[0], Q, idx)
        assert abs(num - G[idx]) <= 1e-7 * max(1.0, abs(num))


@pytest.mark.parametrize("softmax_all", [True, False])
def test_kernels_agree_with_dense_q(softmax_all):
    rng = np.random.default_rng(6)
    g = S.Geometry(16, 8, 2, 2)
    b = S.mae_batch(g, 6, 0.5, rng, n_images=4, z_mode="uniform", softmax_all=softmax_all)
    phi, ups = _params(rng, g, 2.0)
    st_ = S.mae_evaluate(phi, ups, b)
    loss, G = dense.mae_loss_grad_dense(dense.assemble_q(phi, ups), b)
    gphi, gups = dense.split(G, g.n_features)
    assert abs(loss - st_.loss) < 1e-12
    np.testing.assert_allclose(st_.grad_phi, gphi, rtol=0, atol=1e-13)
    np.testing.assert_allclose(st_.grad_ups, gups, rtol=0, atol=1e-13)
    assert np.all(G[: g.n_features] == 0)            # only position rows of Q receive gradient
    cb = S.cl_batch(g, 5, 0.5, rng, z_mode="uniform", softmax_all=softmax_all)
    pool = S.pooling_weights(cb, "visible")
    Gd = dense.pooled_dense(dense.assemble_q(phi, ups), cb, pool)
    loss_d, dG = S.info_nce(Gd, 0.5)
    cs = S.cl_evaluate(phi, ups, cb, pool, 0.5)
    assert abs(loss_d - cs.loss) < 1e-12
    gphi, gups = dense.split(dense.pooled_grad_dense(dense.assemble_q(phi, ups), cb, pool, dG), g.n_features)
    np.testing.assert_allclose(cs.grad_phi, gphi, rtol=0, atol=1e-13)
    np.testing.assert_allclose(cs.grad_ups, gups, rtol=0, atol=1e-13)


def test_gd_trajectory_agrees_with_dense_q_to_1e10():
    rng = np.random.default_rng(7)
    g = S.Geometry(16, 8, 2, 2)
    b = S.mae_batch(g, 8, 0.5, rng)
    steps = 40
    tr = S.run_mae(b, 1.0, steps, eps=1e-9)
    Qs = dense.run_mae_dense(b, 1.0, steps)
    phi, ups = dense.split(Qs[-1], g.n_features)
    assert tr.steps == steps
    assert np.max(np.abs(phi - tr.phi)) < 1e-10 and np.max(np.abs(ups - tr.ups)) < 1e-10
    assert np.max(np.abs(tr.phi)) > 0.1                  # the check is not vacuous


def test_numpy_reference_agrees_with_kernel():
    rng = np.random.default_rng(8)
    g = S.Geometry(16, 8, 2, 2)
    b = S.mae_batch(g, 10, 0.5, rng, z_mode="uniform")
    phi, ups = _params(rng, g)
    st_ = S.mae_evaluate(phi, ups, b)
    loss, gphi, gups = mae_loss_grad_numpy(phi, ups, b)
    assert abs(loss - st_.loss) < 1e-12
    np.testing.assert_allclose(gphi, st_.grad_phi, atol=1e-13, rtol=0)
    np.testing.assert_allclose(gups, st_.grad_ups, atol=1e-13, rtol=0)


def test_underflow_fallback_gives_the_exact_softmax():
    rng = np.random.default_rng(9)
    g = S.Geometry(9, 3, 2, 1)
    b = S.mae_batch(g, 4, 0.5, rng)
    phi = np.zeros((g.P, g.n_features))
    ups = np.zeros((g.P, g.P))
    phi[:, 1] = 800.0                  # feature factor peaks on area 1 ...
    ups[:, g.area[0] != 1] = 900.0     # ... position factor elsewhere: the factored form underflows
    st_ = S.mae_evaluate(phi, ups, b)
    loss, G = dense.mae_loss_grad_dense(dense.assemble_q(phi, ups), b)
    assert math.isfinite(st_.loss) and abs(st_.loss - loss) < 1e-12
    np.testing.assert_allclose(st_.grad_ups, dense.split(G, g.n_features)[1], atol=1e-12)


def test_divergence_raises_naming_the_step():
    rng = np.random.default_rng(10)
    b = S.mae_batch(S.Geometry(9, 3, 2, 1), 4, 0.5, rng)
    phi, ups = S.zero_params(b)
    phi[0, 0] = np.nan
    with pytest.raises(FloatingPointError, match="step 0"):
        S.run_mae(b, 1.0, 3, phi0=phi, ups0=ups)


def test_optimal_loss_matches_derivation():
    rng = np.random.default_rng(11)
    g = S.Geometry(16, 8, 2, 1)
    b = S.mae_batch(g, 20000, 0.5, rng)
    exact = float(D.optimal_loss().subs({D.P: 16, D.C1: 8, D.C: 2, D.gamma: 0.5, D.z: 1}))
    assert abs(S.optimal_loss(b) - exact) < 0.02 * exact


def test_loss_decreases_to_within_a_percent_of_the_infimum():
    rng = np.random.default_rng(12)
    b = S.mae_batch(S.Geometry(16, 8, 2, 1), 64, 0.5, rng)
    tr = S.run_mae(b, 1.0, 3000, 0.05)
    assert np.all(np.diff(tr.loss) <= 1e-12)
    assert tr.loss[-1] - tr.loss_opt < 0.01 * tr.loss[0]


@settings(max_examples=10)
@given(st.sampled_from([(16, 8, 2), (16, 10, 3), (36, 18, 3), (64, 32, 4), (64, 16, 8), (36, 24, 4)]),
       st.sampled_from([0.25, 0.5, 0.75]))
def test_initial_rates_match_first_step(geom, gamma):
    P, C1, C = geom
    g = S.Geometry(P, C1, C, 1)
    b = S.mae_batch(g, 3000, gamma, np.random.default_rng(P + C1 + C))
    st_ = S.mae_evaluate(*S.zero_params(b), b)
    rows = np.arange(P)
    loc = g.is_local[0]
    tgt = -st_.grad_phi[rows, g.feature[0]][loc].mean()
    glb = -st_.grad_phi[rows, 0][loc].mean()
    gtg = -st_.grad_phi[rows, g.feature[0]][~loc].mean()
    vals = dict(P=P, C1=C1, C=C, gamma=gamma, z=1, K=1)
    r = D.initial_rates("local")
    assert abs(tgt / D.evaluate(r["target"], **vals) - 1) < 0.03
    assert abs(glb / D.evaluate(r["global"], **vals) - 1) < 0.03
    assert abs(gtg / D.evaluate(D.initial_rates("global")["target"], **vals) - 1) < 0.03


def test_gap_and_phase_laws():
    assert D.finite_gap_value(64, 32, 4) == pytest.approx(1 / 3)
    assert D.finite_gap_value(64, 16, 8) == pytest.approx(-1 / 6)
    gap = D.information_gap().subs({D.kappa_s: 1, D.kappa_c: 0})
    assert gap == 1
    c1 = D.phase_boundary_C1(64, 4, 0.5)
    ratio = D.initial_rates("local")["ratio"]
    assert D.evaluate(ratio, P=64, C1=c1, C=4, gamma=0.5, z=1, K=1) == pytest.approx(1, abs=1e-9)
    a0, slope = D.phase1_law()
    assert D.evaluate(a0, P=64, C1=32, gamma=0.5) == 0.25
    assert D.evaluate(slope, gamma=0.5, z=1, K=2, eta=1) == 0.5
    assert D.evaluate(D.phase1_duration(), P=64, C1=32, C=4, gamma=0.5, z=1, K=2, eta=1) == pytest.approx(80 / 1.5)
    assert D.evaluate(D.phase1_duration(), P=64, C1=16, C=8, gamma=0.5, z=1, K=2, eta=1) == 0
    closed = D.evaluate(D.phase2_duration(), P=64, C=4, gamma=0.5, z=1, K=1, eta=1)
    assert closed == pytest.approx(D.phase2_duration_value(64, 4, 0.5, 1, 1, 1), rel=1e-6)


def test_mean_pooled_cl_keeps_every_query_row_identical():
    rng = np.random.default_rng(13)
    g = S.Geometry(16, 8, 2, 2)
    tr = S.run_cl(S.cl_batch(g, 8, 0.5, rng, z_mode="uniform"), 50.0, 30)
    assert np.max(np.abs(tr.phi - tr.phi[0])) < 1e-12
    assert np.max(np.abs(tr.phi)) > 0.05
    broken = S.run_cl(S.cl_batch(g, 8, 0.5, rng, z_mode="uniform"), 50.0, 30, pooling="visible")
    assert np.max(np.abs(broken.phi - broken.phi[0])) > 1e-3


def test_geometry_tiles_and_clusters_differ():
    g = S.Geometry(64, 32, 4, 2)
    for k in range(2):
        counts = np.bincount(g.area[k])
        assert counts[0] == 32 and np.all(counts[1:] == 4)
    assert not np.array_equal(g.area[0], g.area[1])
    with pytest.raises(ValueError, match="does not tile"):
        S.Geometry(64, 30, 4, 2)


def test_headline_claims_accept_other_geometries_and_reject_bad_ones():
    own = registry.get("vit.mae.own_area_attention")
    col = registry.get("vit.cl.global_collapse")
    assert own.regime.resolve("quick", texts={"P": "49", "C_global": "25", "C_local": "4"})["P"] == 49
    for claim in (own, col):
        with pytest.raises(RegimeError, match="tiling"):
            claim.regime.resolve("quick", texts={"P": "36", "C_global": "20", "C_local": "3"})
        with pytest.raises(RegimeError, match="local_area_size"):
            claim.regime.resolve("quick", texts={"P": "36", "C_global": "18", "C_local": "1"})
    with pytest.raises(RegimeError, match="global_area_majority"):
        col.regime.resolve("quick", texts={"P": "36", "C_global": "12", "C_local": "3"})
    with pytest.raises(RegimeError, match="large_gap"):
        registry.get("vit.mae.two_phase").regime.resolve("quick", texts={"P": "64", "C_global": "16", "C_local": "8"})
