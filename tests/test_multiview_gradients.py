"""Hand-written gradients of the multi-view networks against central finite differences, and the
closed-form mask expectation of the MRP losses against Monte Carlo over masks."""
import numpy as np
import pytest

from simulations.multiview import data, kernels, losses
from helpers_gradients import central_difference as _fd

K, M_PER, Q, VARRHO = 3, 2, 3, 0.1


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)
    cfg = data.DataConfig(k=K, P=8, d=12, mu=0.3, sigma_p=0.2, sigma_n=0.2, gamma=0.05, project_noise=False)
    D = data.sample(cfg, 7, rng)
    n, P, d = D.X.shape
    # scale 0.15 puts pre-activations on all three pieces of the smoothed ReLU
    W = 0.15 * rng.standard_normal((K * M_PER, d))
    B = losses.Batch(D.X)
    Z = losses.preact(B, W)
    assert (Z < 0).any() and ((Z > 0) & (Z < VARRHO)).any() and (Z > VARRHO).any()
    return rng, D, B, n, P, W


def test_azl_gradient(setup):
    rng, D, X2, n, P, W = setup
    _, g, _, _ = losses.azl_loss_grad(X2, D.y, W, K, VARRHO, Q)
    fd = _fd(lambda w: losses.azl_loss_grad(X2, D.y, w, K, VARRHO, Q)[0], W)
    assert np.abs(g - fd).max() < 1e-7 * max(1.0, np.abs(fd).max())


def test_head_gradients(setup):
    rng, D, X2, n, P, W = setup
    U = 0.3 * rng.standard_normal((K, W.shape[0]))
    _, gW, gU, _, _ = losses.head_loss_grad(X2, D.y, W, U, VARRHO, Q)
    assert np.abs(gW - _fd(lambda w: losses.head_loss_grad(X2, D.y, w, U, VARRHO, Q)[0], W)).max() < 1e-7
    assert np.abs(gU - _fd(lambda u: losses.head_loss_grad(X2, D.y, W, u, VARRHO, Q)[0], U)).max() < 1e-7


@pytest.mark.parametrize("theta", [0.25, 0.6])
@pytest.mark.parametrize("decoder", ["pooled", "patch"])
def test_mrp_gradients(setup, theta, decoder):
    rng, D, X2, n, P, W = setup
    b = 1 + 0.2 * rng.standard_normal(W.shape[0])
    WT = W + 0.05 * rng.standard_normal(W.shape)
    if decoder == "pooled":
        target = losses.encode(X2, WT, VARRHO, Q)
        f = lambda w, bb: losses.mrp_pooled_loss_grad(X2, w, bb, theta, VARRHO, Q, teacher_H=target,
                                                      want_b=True)
    else:
        target = losses.patch_acts(X2, WT, VARRHO, Q)
        f = lambda w, bb: losses.mrp_patch_loss_grad(X2, w, bb, theta, VARRHO, Q, teacher_A=target,
                                                     want_b=True)
    _, gW, gb, _ = f(W, b)
    assert np.abs(gW - _fd(lambda w: f(w, b)[0], W)).max() < 1e-8
    assert np.abs(gb - _fd(lambda bb: f(W, bb)[0], b)).max() < 1e-8


@pytest.mark.parametrize("decoder", ["pooled", "patch"])
def test_stopgrad_equals_frozen_copy(setup, decoder):
    """The stop-gradient student teacher is the gradient with the teacher frozen at the student."""
    rng, D, X2, n, P, W = setup
    b = np.ones(W.shape[0])
    A = losses.patch_acts(X2, W, VARRHO, Q)
    if decoder == "pooled":
        g0 = losses.mrp_pooled_loss_grad(X2, W, b, 0.25, VARRHO, Q)[1]
        g1 = losses.mrp_pooled_loss_grad(X2, W, b, 0.25, VARRHO, Q,
                                         teacher_H=A.reshape(W.shape[0], n, P).sum(axis=2))[1]
    else:
        g0 = losses.mrp_patch_loss_grad(X2, W, b, 0.25, VARRHO, Q)[1]
        g1 = losses.mrp_patch_loss_grad(X2, W, b, 0.25, VARRHO, Q, teacher_A=A)[1]
    assert np.abs(g0 - g1).max() < 1e-14


@pytest.mark.parametrize("decoder", ["pooled", "patch"])
def test_mask_expectation_matches_monte_carlo(setup, decoder):
    rng, D, X2, n, P, W = setup
    theta, reps = 0.4, 20000
    b = 1 + 0.2 * rng.standard_normal(W.shape[0])
    M = W.shape[0]
    TAT = losses.patch_acts(X2, 1.1 * W, VARRHO, Q)
    A = losses.patch_acts(X2, W, VARRHO, Q).reshape(M, n, P).transpose(1, 2, 0)
    TA = TAT.reshape(M, n, P).transpose(1, 2, 0)
    vals = np.empty(reps)
    for i in range(reps):
        e = rng.random((n, P, 1)) < theta
        S = (e * A).sum(axis=1)
        if decoder == "pooled":
            vals[i] = 0.5 * np.sum((TA.sum(axis=1) - b * S) ** 2) / n
        else:
            vals[i] = 0.5 * np.sum((1 - e) * (TA - (b / (theta * P)) * S[:, None, :]) ** 2) / n
    if decoder == "pooled":
        exact = losses.mrp_pooled_loss_grad(X2, W, b, theta, VARRHO, Q, teacher_H=TA.sum(axis=1).T)[0]
    else:
        exact = losses.mrp_patch_loss_grad(X2, W, b, theta, VARRHO, Q, teacher_A=TAT)[0]
    se = vals.std() / np.sqrt(reps)
    assert abs(vals.mean() - exact) < 5 * se


def test_least_squares_scale_is_stationary(setup):
    """The closed-form decoder scale zeroes the gradient of the pooled loss in b."""
    rng, D, X2, n, P, W = setup
    target = losses.encode(X2, W + 0.05 * rng.standard_normal(W.shape), VARRHO, Q)
    ZT = losses.preact(X2, W)
    H, Qs = kernels.pool(ZT, P, VARRHO, Q)
    b = losses.mrp_pooled_optimal_scale(H, Qs, 0.3, target)
    gb = losses.mrp_pooled_loss_grad(X2, W, b, 0.3, VARRHO, Q, teacher_H=target, want_b=True)[2]
    assert np.abs(gb).max() < 1e-12 * max(1.0, np.abs(H).max() ** 2)


def test_smoothed_relu_pieces():
    z = np.array([-1.0, 0.0, 0.05, 0.1, 0.3])
    a = kernels.smoothed_relu(z, VARRHO, Q)
    expect = [0.0, 0.0, 0.05 ** 3 / (3 * 0.1 ** 2), 0.1 / 3, 0.3 - (2 / 3) * 0.1]
    assert np.allclose(a, expect)
    assert np.allclose(kernels.smoothed_relu_grad(z, VARRHO, Q), [0, 0, 0.25, 1, 1])


def test_divergence_is_reported():
    from simulations.multiview import train

    rng = np.random.default_rng(1)
    cfg = data.DataConfig(k=3, P=8, d=12)
    D = data.sample(cfg, 20, rng)
    # the squared reconstruction error overflows once the step size throws the kernels far out
    net = train.NetConfig(m=2, eta_pre=1e150, T_pre=20, w_cap=np.inf, teacher="fixed")
    with pytest.raises(FloatingPointError, match="step"), np.errstate(over="ignore"):
        train.pretrain_mrp(D, net, train.init_weights(rng, 6, 12, 0.3), 3)


def test_data_structure():
    rng = np.random.default_rng(2)
    cfg = data.DataConfig(k=4, P=20, d=16, mu=0.5, rho=0.1, sigma_p=0.1, sigma_n=0.1)
    D = data.sample(cfg, 200, rng)
    assert np.all(D.X[:, :, :8] == D.z)  # noise projected off span(V), gamma = 0
    tot = D.z.sum(axis=1)
    own = tot[np.arange(200), 2 * D.y], tot[np.arange(200), 2 * D.y + 1]
    multi = ~D.single
    assert np.all(own[0][multi] >= 1) and np.all(own[1][multi] >= 1)
    weak = np.where(D.strong == 0, own[1], own[0])[D.single]
    assert np.all(weak <= 0.15) and np.all(weak >= 0.1)
    assert np.all((D.z > 0).sum(axis=1)[np.arange(200), 2 * D.y] == 2)
