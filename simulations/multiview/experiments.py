"""One replicate of each pipeline, reduced to the docs/papers/mrp.md §3 quantities (no claims, no statistics).

* :func:`sl_experiment` — the AZL network trained by full-batch GD on ``N`` samples, measured at a stated
  stopping point, with the per-class capture ``Lambda``, the lottery, the single-view accounting, the
  early-phase power law and test accuracies on fresh ``D_m`` / ``D_s`` sets;
* :func:`ensemble_experiment` — ``K`` AZL networks trained on the same samples from independent inits;
* :func:`mrp_experiment` — MRP pretraining, fine-tuning of a linear head, a linear probe, and the
  same-architecture network trained from random init (the SL control), on the same downstream samples.

Every function is driven by one :class:`numpy.random.SeedSequence`; the data, the initialisation and the
extra models draw from separate children of it, so the same sequence reproduces the same training set
for every model that needs it.
"""
from __future__ import annotations

import numpy as np

from . import data as mvdata
from . import pixel as mvpixel
from . import train as mvtrain

CAPTURE = 0.1  # tau_cap = varrho (docs/papers/mrp.md §4.4): a feature is captured when its correlation reaches it


def _streams(ss: np.random.SeedSequence, n: int = 4) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in ss.spawn(n)]


def _samples(cfg: mvdata.DataConfig, N: int, n_test: int, rng: np.random.Generator):
    D = mvdata.sample(cfg, N, rng)
    Ds = mvdata.sample(cfg, n_test, rng, "single")
    Dm = mvdata.sample(cfg, n_test, rng, "multi")
    return D, Ds, Dm


def power_law_exponent(c: np.ndarray, upto: float) -> float:
    """Least-squares slope of ``log(c_{t+1} - c_t)`` against ``log c_t`` over the steps with
    ``0 < c_t <= upto`` and a positive increment: ``q - 1`` for the recursion ``c <- c + eta C c^(q-1)``.
    NaN when fewer than five such steps exist."""
    inc = np.diff(c)
    ok = (c[:-1] > 0) & (c[:-1] <= upto) & (inc > 0)
    ok &= np.cumprod(c[:-1] <= upto).astype(bool)  # the segment before the first crossing only
    if ok.sum() < 5:
        return float("nan")
    x, y = np.log(c[:-1][ok]), np.log(inc[ok])
    return float(np.polyfit(x, y, 1)[0])


def winner_trajectory(block: np.ndarray, upto: float) -> np.ndarray:
    """The correlation trajectory of the tensor-power winner among the columns of ``block`` (steps, units):
    the unit that is largest at the first step any unit exceeds ``upto``, or at the last step when none does.

    Taking the largest unit at the last step instead would pick, in a run trained long past capture, a unit
    that overtook the winner after it saturated, whose early growth is not the recursion's.
    """
    above = (block > upto).any(axis=1)
    t = int(above.argmax()) if above.any() else len(block) - 1
    return block[:, int(block[t].argmax())]


def class_exponents(corr: np.ndarray, k: int, m: int, upto: float) -> np.ndarray:
    """Per class ``i``, :func:`power_law_exponent` of the winner (:func:`winner_trajectory`) among its
    kernels' correlations with its own two views, ``corr[:, i m:(i + 1) m, 2i:2i + 2]``; ``corr`` has shape
    (steps, k m, 2k)."""
    return np.array([power_law_exponent(winner_trajectory(
        corr[:, i * m:(i + 1) * m, 2 * i:2 * i + 2].reshape(len(corr), -1), upto), upto) for i in range(k)])


def noise_patches(data: mvdata.Dataset) -> np.ndarray:
    """Mask of the patches that carry no feature (``z_p = 0``), shape (n, P)."""
    return ~np.any(data.z != 0, axis=2)


def fitted_by_noise(data: mvdata.Dataset, predict) -> np.ndarray:
    """Samples classified correctly only through their noise patches.

    ``predict(X) -> F`` (n, k) is a network whose output is a sum over patches of ``relu~(<w, x_p>)``
    terms, so zeroing a patch removes exactly its contribution (``relu~(0) = 0``).  A sample is fitted by
    noise when ``argmax F(X) = y`` but ``argmax F(X')`` is not, where ``X'`` keeps only the feature
    patches: its fit rests on memorised noise (AZL Thm 1: how SL fits the single-view training samples).
    """
    return fitted_and_by_noise(data, predict)[1]


def fitted_and_by_noise(data: mvdata.Dataset, predict) -> tuple[np.ndarray, np.ndarray]:
    """``(fitted, by_noise)``: the samples classified correctly, and those of them fitted only through their
    noise patches (:func:`fitted_by_noise`), from one prediction on ``data.X``."""
    X_feat = np.where(noise_patches(data)[:, :, None], 0.0, data.X)
    right = predict(data.X).argmax(axis=1) == data.y
    right_without_noise = predict(X_feat).argmax(axis=1) == data.y
    return right, right & ~right_without_noise


def sl_experiment(cfg: mvdata.DataConfig, net: mvtrain.NetConfig, N: int, n_test: int,
                  ss: np.random.SeedSequence, stop_at: str | None = "multi") -> dict:
    """Train the AZL network once and measure everything the SL claims need.

    Returns
    -------
    dict
        ``sv``, ``mv`` (test accuracies), ``one_view``, ``f2`` (fractions of classes with exactly one /
        both views at ``Lambda >= varrho``), ``f0`` (none), ``lottery`` / ``n_lottery`` (agreement of the
        learned view with ``argmax_l Lambda^(0)`` on one-view classes with a relative initial gap >= 10 %),
        ``sv_one_view`` (single-view accuracy on classes that learned one view), ``sv_learned_strong`` /
        ``sv_other_strong`` (split by whether the sample's strong view is the learned one),
        ``exponent`` (median over classes of the early-phase power-law exponent), ``stop``, ``fitted``,
        ``lam0``, ``lam`` (k, 2), ``lam_traj`` (steps, k, 2), ``W`` and ``noise_single`` (largest
        ``<w_{y,r}, xi_p>`` over the single-view training samples), ``memorised`` (fraction of the
        single-view training samples of one-view classes whose strong view is the unlearned one — those the
        learned features cannot fit — that are fitted by noise, :func:`fitted_by_noise`; NaN when there is
        none), ``n_need_memory`` (their number), ``n_need_fitted`` (how many of them are classified
        correctly when training stops), ``n_memorised`` (how many are fitted by noise, a subset of those)
        and ``memorised_single`` (the fraction fitted by noise over every single-view training sample).
    """
    rng_data, rng_init, _, _ = _streams(ss)
    k, m = cfg.k, net.m
    D, Ds, Dm = _samples(cfg, N, n_test, rng_data)
    W0 = mvtrain.init_weights(rng_init, k * m, cfg.d, net.sigma0)
    run = mvtrain.train_sl(D, net, W0, k, stop_at=stop_at)
    corr = np.array(run.corr)
    lam_traj = np.array([mvtrain.capture_sl(c, k) for c in corr])
    lam0, lam = lam_traj[0], lam_traj[-1]
    learned = lam >= CAPTURE
    n_learned = learned.sum(axis=1)
    one = n_learned == 1
    Fs = mvtrain.azl_predict(Ds.X, run.W, k, net)
    ok_s = Fs.argmax(axis=1) == Ds.y
    mv = mvtrain.accuracy(mvtrain.azl_predict(Dm.X, run.W, k, net), Dm.y)
    gap = np.abs(lam0[:, 0] - lam0[:, 1]) / np.maximum(lam0.min(axis=1), 1e-300)
    winner0 = lam0.argmax(axis=1)
    sel = one & (gap >= 0.1)
    if not sel.any():
        sel = one
    lottery = float(np.mean(lam[sel].argmax(axis=1) == winner0[sel])) if sel.any() else float("nan")
    # single-view accounting on classes that learned exactly one view
    cls_one = one[Ds.y]
    learned_view = lam.argmax(axis=1)
    strong_is_learned = Ds.strong == learned_view[Ds.y]
    sv_one = float(ok_s[cls_one].mean()) if cls_one.any() else float("nan")
    sv_ls = float(ok_s[cls_one & strong_is_learned].mean()) if (cls_one & strong_is_learned).any() else float("nan")
    sv_os = float(ok_s[cls_one & ~strong_is_learned].mean()) if (cls_one & ~strong_is_learned).any() else float("nan")
    # early phase: the winning (kernel, view) correlation of every class up to varrho / 2
    exps = class_exponents(corr, k, m, CAPTURE / 2)
    fitted_train, by_noise = fitted_and_by_noise(D, lambda X: mvtrain.azl_predict(X, run.W, k, net))
    need = D.single & one[D.y] & (D.strong != learned_view[D.y])
    return {"sv": float(ok_s.mean()), "mv": mv, "one_view": float(one.mean()),
            "f2": float((n_learned == 2).mean()), "f0": float((n_learned == 0).mean()),
            "lottery": lottery, "n_lottery": int(sel.sum()), "sv_one_view": sv_one,
            "sv_learned_strong": sv_ls, "sv_other_strong": sv_os,
            "exponent": float(np.nanmedian(exps)) if np.isfinite(exps).any() else float("nan"),
            "n_exponent": int(np.isfinite(exps).sum()),
            "stop": int(run.stop_step), "fitted": bool(run.extra["fitted"]), "train_acc": float(run.train_acc[-1]),
            "lam0": lam0, "lam": lam, "lam_traj": lam_traj, "steps": np.array(run.steps), "W": run.W,
            "corr0": corr[0], "noise_single": mvtrain.max_noise_corr(D, run.W, k, m),
            "memorised": float(by_noise[need].mean()) if need.any() else float("nan"),
            "n_need_memory": int(need.sum()), "n_memorised": int(by_noise[need].sum()),
            "n_need_fitted": int(fitted_train[need].sum()),
            "n_sv_test": int(Ds.n),
            "n_sv_accounted": int(np.sum(ok_s == learned[Ds.y, Ds.strong])), "n_sv_correct": int(ok_s.sum()),
            "n_sv_one_view": int(cls_one.sum()),
            "n_sv_one_view_correct": int(ok_s[cls_one].sum()), "n_views_learned": int(learned.sum()),
            "n_two_view": int((n_learned == 2).sum()), "n_one_view": int(one.sum()),
            "n_lottery_agree": int(np.sum(lam[sel].argmax(axis=1) == winner0[sel])) if sel.any() else 0,
            "memorised_single": float(by_noise[D.single].mean()) if D.single.any() else float("nan")}


def ensemble_experiment(cfg: mvdata.DataConfig, net: mvtrain.NetConfig, N: int, n_test: int,
                        ss: np.random.SeedSequence, K: int, first: dict, stop_at: str | None = "multi") -> dict:
    """Average the outputs ``F`` of ``K`` AZL networks trained on the same samples (AZL Thm 2).

    ``first`` is :func:`sl_experiment` of the same sequence (model 1, reused); models 2..K draw their
    inits from a separate child stream.  Returns the ensemble's single-view accuracy ``sv_ensemble``, the
    models' mean fraction of two-view classes ``f2_mean``, their fractions of classes with no captured view
    ``f0_models`` and their single-view accuracies ``sv_models``.
    """
    rng_data, _, rng_extra, _ = _streams(ss)
    k, m = cfg.k, net.m
    D, Ds, _ = _samples(cfg, N, n_test, rng_data)
    Ws, f2s, f0s = [first["W"]], [first["f2"]], [first["f0"]]
    for _ in range(K - 1):
        W0 = mvtrain.init_weights(rng_extra, k * m, cfg.d, net.sigma0)
        run = mvtrain.train_sl(D, net, W0, k, stop_at=stop_at)
        lam = mvtrain.capture_sl(mvtrain.features_corr(run.W, k), k)
        Ws.append(run.W)
        f2s.append(float(np.all(lam >= CAPTURE, axis=1).mean()))
        f0s.append(float(np.all(lam < CAPTURE, axis=1).mean()))
    Fs = [mvtrain.azl_predict(Ds.X, W, k, net) for W in Ws]
    sv_models = [mvtrain.accuracy(F, Ds.y) for F in Fs]
    return {"sv_ensemble": mvtrain.accuracy(sum(Fs) / K, Ds.y), "f2_mean": float(np.mean(f2s)),
            "f0_models": f0s, "sv_models": sv_models}


def mrp_experiment(cfg: mvdata.DataConfig, net: mvtrain.NetConfig, N: int, n_test: int,
                   ss: np.random.SeedSequence, sigma_teacher: float, finetune: bool = True,
                   pixels: mvpixel.PixelConfig | None = None, sigma_dec: float = 0.0, probe: bool = True) -> dict:
    """MRP pretraining on ``N`` unlabeled samples, then fine-tuning on ``N`` fresh labeled samples.

    Returns ``coverage`` (fraction of the 2k features with ``max_r <w_r, v> >= varrho``), ``coverage_gain``
    (coverage minus its value at step 0), ``coverage_teacher``
    (the same for a fixed teacher's own kernels), ``teacher_coverage`` (the teacher's own coverage at
    the start: the fixed teacher's, or for a student-derived teacher the student's at init), ``purity_below_03`` (fraction of captured kernels whose
    second-largest feature correlation is below 0.3 of the largest), ``purity_median``, ``lam_traj``, and
    with ``finetune``: ``ft_sv``, ``ft_mv`` (fine-tuned), ``lp_sv`` (linear probe), ``ctl_sv``, ``ctl_mv``
    (same architecture from random init), ``retained`` (fraction of captured features still captured
    after fine-tuning).

    With ``pixels`` the encoder is pretrained on the pixel target (docs/papers/mrp.md §2.5, :mod:`pixel`) jointly with a
    linear decoder drawn at init std ``sigma_dec``: no teacher (``teacher_coverage`` is NaN), the same
    fine-tuning, probe and control.  ``probe=False`` skips the linear probe (``lp_sv`` is NaN); the other
    runs draw the same numbers either way.
    """
    rng_data, rng_init, rng_ctl, _ = _streams(ss)
    k, M = cfg.k, cfg.k * net.m
    Dpre = mvdata.sample(cfg, N, rng_data)
    W0 = mvtrain.init_weights(rng_init, M, cfg.d, net.sigma0_mrp)
    if pixels is not None:
        teacher_W = None
        U0 = sigma_dec * rng_init.standard_normal((cfg.d, M))
        pre = mvpixel.pretrain_pixels(Dpre.X, pixels, W0, U0, k)
    else:
        teacher_W = mvtrain.init_weights(rng_init, M, cfg.d, sigma_teacher) if net.teacher == "fixed" else None
        pre = mvtrain.pretrain_mrp(Dpre, net, W0, k, track_every=1, teacher_W=teacher_W)
    C = mvtrain.features_corr(pre.W, k)
    lam = mvtrain.capture_all(C, k)
    ratios = mvtrain.purity_ratios(C, CAPTURE)
    cov_t = float("nan")
    if teacher_W is not None:
        cov_t = float(np.mean(mvtrain.capture_all(mvtrain.features_corr(teacher_W, k), k) >= CAPTURE))
    lam0 = mvtrain.capture_all(pre.corr[0], k)
    # the teacher's own coverage at the start: a fixed teacher's kernels, or the student's init it copies
    teacher_cov = cov_t if teacher_W is not None else float(np.mean(lam0 >= CAPTURE))
    if pixels is not None:
        teacher_cov = float("nan")
    out = {"coverage": float(np.mean(lam >= CAPTURE)), "coverage_teacher": cov_t, "teacher_coverage": teacher_cov,
           "coverage_gain": float(np.mean(lam >= CAPTURE) - np.mean(lam0 >= CAPTURE)),
           "purity_below_03": float(np.mean(ratios < 0.3)) if ratios.size else 0.0,
           "purity_median": float(np.median(ratios)) if ratios.size else float("nan"),
           "n_captured_kernels": int(ratios.size), "n_pure_kernels": int(np.sum(ratios < 0.3)),
           "n_features_captured": int(np.sum(lam >= CAPTURE)), "n_features": int(lam.size),
           "pre_stop": int(pre.stop_step), "w_max": pre.extra["w_max"], "pre_loss": np.array(pre.loss),
           "coverage0": float(np.mean(lam0 >= CAPTURE)), "lam0_max": float(lam0.max()),
           "lam_traj": np.array([mvtrain.capture_all(c, k) for c in pre.corr]), "C": C}
    if not finetune:
        return out
    D, Ds, Dm = _samples(cfg, N, n_test, rng_data)
    U0 = np.zeros((k, M))
    ft = mvtrain.train_head(D, net, pre.W, U0, k, train_encoder=True)
    lp = mvtrain.train_head(D, net, pre.W, U0, k, train_encoder=False) if probe else None
    ctl = mvtrain.train_head(D, net, mvtrain.init_weights(rng_ctl, M, cfg.d, net.sigma0_mrp), U0, k,
                             train_encoder=True)
    cap = lam >= CAPTURE
    lam_ft = mvtrain.capture_all(mvtrain.features_corr(ft.W, k), k)
    out.update({
        "ft_sv": mvtrain.accuracy(mvtrain.head_predict(Ds.X, ft.W, ft.U, net), Ds.y),
        "ft_mv": mvtrain.accuracy(mvtrain.head_predict(Dm.X, ft.W, ft.U, net), Dm.y),
        "lp_sv": mvtrain.accuracy(mvtrain.head_predict(Ds.X, lp.W, lp.U, net), Ds.y) if probe else float("nan"),
        "ctl_sv": mvtrain.accuracy(mvtrain.head_predict(Ds.X, ctl.W, ctl.U, net), Ds.y),
        "ctl_mv": mvtrain.accuracy(mvtrain.head_predict(Dm.X, ctl.W, ctl.U, net), Dm.y),
        "retained": float(np.mean(lam_ft[cap] >= CAPTURE)) if cap.any() else float("nan"),
        "n_captured": int(cap.sum()), "n_retained": int(np.sum(lam_ft[cap] >= CAPTURE)),
        "n_single_train": int(D.single.sum()),
        "ft_train_acc": float(ft.train_acc[-1]), "C_ft": mvtrain.features_corr(ft.W, k),
        "noise_single_ft": mvtrain.max_noise_corr(D, ft.W, k),
        "ft_memorised_single": float(fitted_by_noise(D, lambda X: mvtrain.head_predict(X, ft.W, ft.U, net))[
            D.single].mean()) if D.single.any() else float("nan"),
    })
    out["gain_vs_control"] = out["ft_sv"] - out["ctl_sv"]
    return out
