"""Pixel-target MRP: hand-written gradients against finite differences, the closed-form mask expectation
against Monte Carlo over masks, the simulation's coefficients against the SymPy derivation."""
import numpy as np
import pytest

from derivations import mrp_pixel
from simulations.multiview import data, pixel
from helpers_gradients import central_difference as _fd

K, M, Q, VARRHO = 3, 6, 3, 0.1


def _sample(structured: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    if structured:  # one-nonzero feature patches: the sparse split of losses.Batch is used
        cfg = data.DataConfig(k=K, P=8, d=12, mu=0.3, sigma_p=0.0, sigma_n=0.2, gamma=0.0)
    else:
        cfg = data.DataConfig(k=K, P=8, d=12, mu=0.3, sigma_p=0.2, sigma_n=0.2, gamma=0.05, project_noise=False)
    D = data.sample(cfg, 7, rng)
    W = 0.15 * rng.standard_normal((M, 12))
    U = 0.3 * rng.standard_normal((12, M))
    return rng, D, W, U


@pytest.mark.parametrize("structured", [False, True])
@pytest.mark.parametrize("masked,theta", [(True, 0.25), (True, 0.7), (False, 0.25)])
def test_pixel_gradients(structured, masked, theta):
    rng, D, W, U = _sample(structured)
    pb = pixel.PixelBatch(D.X)
    assert pb.batch.structured == structured
    _, gW, gU, _ = pixel.pixel_loss_grad(pb, W, U, theta, VARRHO, Q, masked)
    fW = _fd(lambda w: pixel.pixel_loss_grad(pb, w, U, theta, VARRHO, Q, masked)[0], W)
    fU = _fd(lambda u: pixel.pixel_loss_grad(pb, W, u, theta, VARRHO, Q, masked)[0], U)
    assert np.abs(fW).max() > 1e-3 and np.abs(fU).max() > 1e-3
    assert np.abs(gW - fW).max() < 1e-8
    assert np.abs(gU - fU).max() < 1e-8


@pytest.mark.parametrize("theta", [0.25, 0.6])
def test_closed_form_matches_monte_carlo_over_masks(theta):
    rng, D, W, U = _sample(False, seed=1)
    exact = pixel.pixel_loss_grad(pixel.PixelBatch(D.X), W, U, theta, VARRHO, Q)[0]
    mean, se = pixel.monte_carlo_loss(D.X, W, U, theta, VARRHO, Q, 20000, rng)
    assert abs(mean - exact) < 4 * se
    # the per-patch self term matters: dropping c_K's (P - 1) part moves the loss by many standard errors
    c0, c1, c2p, cK = pixel.mask_coefficients(theta, D.X.shape[1])
    assert cK > 0 and abs(mean - exact) < 0.05 * exact


def test_unmasked_loss_is_the_plain_autoencoder():
    rng, D, W, U = _sample(False, seed=2)
    A = pixel.kernels.smoothed_relu(np.einsum("npd,rd->npr", D.X, W), VARRHO, Q)
    pred = A.sum(axis=1) @ U.T
    direct = 0.5 * np.sum((D.X - pred[:, None, :]) ** 2) / (D.X.shape[0] * D.X.shape[1])
    assert pixel.pixel_loss_grad(pixel.PixelBatch(D.X), W, U, 0.25, VARRHO, Q, masked=False)[0] == \
        pytest.approx(direct, rel=1e-12)


@pytest.mark.parametrize("theta,P", [(0.25, 25), (0.5, 8), (0.9, 36)])
def test_simulation_coefficients_are_the_derived_ones(theta, P):
    assert pixel.mask_coefficients(theta, P) == pytest.approx(mrp_pixel.loss_coefficients(theta, P), rel=1e-14)


def test_bernoulli_moments_against_draws():
    rng = np.random.default_rng(3)
    theta = 0.3
    eps = (rng.random((400_000, 3)) < theta).astype(float)
    mom = {k: float(v.subs(mrp_pixel.theta_s, theta)) for k, v in mrp_pixel.mask_moments().items()}
    draws = {"m1": 1 - eps[:, 0], "m2": (1 - eps[:, 0]) * eps[:, 1], "m3": (1 - eps[:, 0]) * eps[:, 1] * eps[:, 2],
             "m3_same": (1 - eps[:, 0]) * eps[:, 1] ** 2}
    for key, x in draws.items():
        assert abs(x.mean() - mom[key]) < 4 * x.std() / np.sqrt(x.size), key


def test_keep_everything_has_nothing_to_reconstruct():
    """theta = 1: no patch is ever masked, the loss and both gradients vanish (the no-mask ablation's limit)."""
    rng, D, W, U = _sample(True, seed=4)
    loss, gW, gU, _ = pixel.pixel_loss_grad(pixel.PixelBatch(D.X), W, U, 1.0, VARRHO, Q)
    assert loss == 0.0 and not gW.any() and not gU.any()


def test_pretraining_lowers_the_loss_and_tracks_every_step():
    rng, D, W, U = _sample(True, seed=5)
    run = pixel.pretrain_pixels(D.X, pixel.PixelConfig(theta=0.25, eta=2.0, T=20), 0.05 * W, 0 * U, K)
    assert run.steps == list(range(21))
    assert run.loss[-1] < run.loss[0]
    assert np.abs(run.W - 0.05 * W).max() > 0


def test_reference_step_matches_fused():
    rng, D, W, U = _sample(True, seed=6)
    from simulations.multiview import reference

    _, gW, gU, _ = pixel.pixel_loss_grad(pixel.PixelBatch(D.X), W, U, 0.3, VARRHO, Q)
    rW, rU = reference.pixel_grad(D.X, W, U, 0.3, VARRHO, Q)
    assert np.abs(gW - rW).max() < 1e-12 and np.abs(gU - rU).max() < 1e-12


def _experiment(pixels, teacher="fixed", probe=True):
    from simulations.multiview import experiments, train

    cfg = data.DataConfig(k=3, P=10, d=24, mu=0.1, sigma_p=0.0, sigma_n=0.04)
    net = train.NetConfig(m=2, q=3, sigma0_mrp=0.03, eta=2.0, T=20, eta_pre=2.0, T_pre=10, teacher=teacher)
    pc = pixel.PixelConfig(theta=0.25, eta=50.0, T=10) if pixels else None
    return experiments.mrp_experiment(cfg, net, 40, 30, np.random.SeedSequence(7), 0.3, finetune=True, pixels=pc,
                                      probe=probe)


def test_skipping_the_linear_probe_changes_nothing_else():
    """probe=False (the MRP-FT k-ladder) leaves every other number of the run as it was, bit for bit."""
    full, lean = _experiment(True), _experiment(True, probe=False)
    assert np.isfinite(full["lp_sv"]) and np.isnan(lean["lp_sv"])
    for key in ("coverage", "coverage0", "ft_sv", "ft_mv", "ctl_sv", "ctl_mv", "retained", "n_captured",
                "ft_train_acc", "noise_single_ft", "gain_vs_control"):
        assert lean[key] == full[key], key
    assert np.array_equal(lean["C_ft"], full["C_ft"]) and np.array_equal(lean["C"], full["C"])


def test_teacher_coverage_is_recorded_per_target():
    """The fixed teacher's own coverage, the student's at init for a student-derived teacher, none for pixels."""
    fixed, stopgrad, pix = _experiment(False), _experiment(False, "stopgrad"), _experiment(True)
    assert fixed["teacher_coverage"] == fixed["coverage_teacher"]
    assert fixed["teacher_coverage"] > 0.5          # sigma_T = 0.3 reaches varrho = 0.1 on most features
    assert np.isnan(stopgrad["coverage_teacher"])
    assert stopgrad["teacher_coverage"] == pytest.approx(float(np.mean(stopgrad["lam_traj"][0] >= 0.1)))
    assert np.isnan(pix["teacher_coverage"])
    assert pix["n_features"] == 6 and 0.0 <= pix["coverage"] <= 1.0 and "gain_vs_control" in pix
