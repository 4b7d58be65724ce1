"""The fused split-layout steps (``kernels.split_*``) of the SL, fine-tuning and pooled-MRP networks: equal
bit for bit to the unfused sequence they replace (assemble ``ZT``, pool, back-propagate, split), equal to
the plain NumPy reference to 1e-12, and equal to central finite differences on exactly sparse data."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from simulations.multiview import data, kernels, losses, reference
from helpers_gradients import central_difference as _fd

VARRHO = 0.1


def _sparse_batch(seed, k, P, d, n):
    """Data with the exact structure of the claims (noise off span(V), gamma = 0) and a weight scale that
    puts pre-activations on all three pieces of the smoothed ReLU, feature and noise patches alike."""
    rng = np.random.default_rng(seed)
    cfg = data.DataConfig(k=k, P=P, d=d, sigma_p=0.0, sigma_n=0.3, gamma=0.0, project_noise=True)
    D = data.sample(cfg, n, rng)
    B = losses.Batch(D.X)
    assert B.structured and B.oh_idx.size
    return rng, D, B


def _weights(rng, M, d, B):
    W = 0.15 * rng.standard_normal((M, d))
    Z = B.forward(W)
    assert (Z < 0).any() and ((Z > 0) & (Z < VARRHO)).any() and (Z > VARRHO).any()
    assert (B.X2[B.oh_idx] @ W.T > VARRHO).any()   # one-nonzero rows past the threshold too
    return W


def _unfused_azl(B, y, W, k, q):
    ZT = B.forward(W)
    H = kernels.pool_keep_grad(ZT, B.P, VARRHO, q)
    F = losses.azl_logits(H, k)
    loss, _, dF = losses.softmax_ce(F, y)
    C1 = np.repeat(dF.T, W.shape[0] // k, axis=0)
    return loss, B.backward(kernels.scale_grad(ZT, B.P, C1))


def _unfused_mrp(B, W, b, theta, q, T):
    n = B.n
    ZT = B.forward(W)
    H, Qs = kernels.pool(ZT, B.P, VARRHO, q)
    T = H if T is None else T
    resid = T - b[:, None] * theta * H
    C1 = -resid * b[:, None] * theta / n
    c2 = b ** 2 * theta * (1 - theta) / n
    G = kernels.backprop(ZT, B.P, C1, c2, np.zeros(W.shape[0]), losses._NO_T, VARRHO, q)
    return H, Qs, B.backward(G)


@settings(max_examples=12)
@given(seed=st.integers(0, 2 ** 32 - 1), k=st.integers(2, 5), m=st.integers(1, 3), P=st.integers(4, 12),
       n=st.integers(4, 30), q=st.sampled_from([3, 4, 5, 6, 7]))
def test_fused_steps_equal_unfused_bit_for_bit_and_numpy_reference(seed, k, m, P, n, q):
    d = 2 * k + 6
    rng, D, B = _sparse_batch(seed, k, P, d, n)
    W = 0.15 * rng.standard_normal((k * m, d))
    loss, g, _, _ = losses.azl_loss_grad(B, D.y, W, k, VARRHO, q)
    loss0, g0 = _unfused_azl(B, D.y, W, k, q)
    assert loss == loss0 and np.array_equal(g, g0)
    ref = reference.azl_grad(B.X2, D.y, W, k, P, VARRHO, q)
    assert np.allclose(g, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())

    b = 1 + 0.3 * rng.standard_normal(k * m)
    teacher = losses.encode(B, W + 0.1 * rng.standard_normal(W.shape), VARRHO, q)
    for T in (None, teacher):
        _, gW, _, H = losses.mrp_pooled_loss_grad(B, W, b, 0.3, VARRHO, q, teacher_H=T)
        H0, _, gW0 = _unfused_mrp(B, W, b, 0.3, q, T)
        assert np.array_equal(H, H0) and np.array_equal(gW, gW0)
        ref = reference.mrp_pooled_grad(B.X2, n, P, W, b, 0.3, VARRHO, q, None if T is None else T.T)
        assert np.allclose(gW, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())

    U = 0.3 * rng.standard_normal((k, k * m))
    _, gW, gU, F, _ = losses.head_loss_grad(B, D.y, W, U, VARRHO, q)
    dense = losses.Batch(D.X, structured=False)
    _, gW1, gU1, F1, _ = losses.head_loss_grad(dense, D.y, W, U, VARRHO, q)
    assert np.allclose(gW, gW1, rtol=1e-12, atol=1e-12 * np.abs(gW1).max())
    assert np.allclose(gU, gU1, rtol=1e-12, atol=1e-15) and np.allclose(F, F1, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("q", [3, 6])
def test_fused_gradients_match_finite_differences(q):
    k, m = 3, 2
    rng, D, B = _sparse_batch(1, k, 8, 12, 9)
    W = _weights(rng, k * m, 12, B)
    g = losses.azl_loss_grad(B, D.y, W, k, VARRHO, q)[1]
    fd = _fd(lambda w: losses.azl_loss_grad(B, D.y, w, k, VARRHO, q)[0], W)
    assert np.abs(g - fd).max() < 1e-7 * max(1.0, np.abs(fd).max())
    b = 1 + 0.2 * rng.standard_normal(k * m)
    teacher = losses.encode(B, 1.1 * W, VARRHO, q)
    for T in (None, teacher):
        f = lambda w: losses.mrp_pooled_loss_grad(B, w, b, 0.25, VARRHO, q, teacher_H=T)
        gW = f(W)[1]
        if T is None:   # the stop-gradient teacher: differentiate with the target frozen at the student
            H = losses.encode(B, W, VARRHO, q)
            f = lambda w: losses.mrp_pooled_loss_grad(B, w, b, 0.25, VARRHO, q, teacher_H=H)
        fd = _fd(lambda w: f(w)[0], W)
        assert np.abs(gW - fd).max() < 1e-7 * max(1.0, np.abs(fd).max())
    U = 0.3 * rng.standard_normal((k, k * m))
    gW = losses.head_loss_grad(B, D.y, W, U, VARRHO, q)[1]
    fd = _fd(lambda w: losses.head_loss_grad(B, D.y, w, U, VARRHO, q)[0], W)
    assert np.abs(gW - fd).max() < 1e-7 * max(1.0, np.abs(fd).max())

