"""Claims of Pan, Zhou & Yan (MRP vs SL on multi-view data) and of the Allen-Zhu & Li SL baseline.

Spec: shared/spec/mrp.md, section 4.4 (C1-C12) with the sanity/ablation checks.  Every claim runs one
replicate of exact full-batch GD in float64 on the spec's networks at a small size.

Shared runs.  The claims of a family measure different quantities of the same training run: replicate
``i`` of every SL claim (C1-C5, C11, C12) uses the same training set and initialisation, and so does
replicate ``i`` of every MRP claim (C6-C10).  The run is drawn from the family's own
``SeedSequence(root, (crc32(family), i))`` — a function of the replicate generator's seed (its root and
index), so it is still driven only by the generator the claim receives — and kept in an in-process cache
keyed by (parameters, root, i).  A different ``--seed`` root gives fresh runs for every claim.

Deviations from the spec, stated in every claim's ``assumption``:

* Gaussian noise only on the noise patches (sigma_p = 0 on the feature patches, sigma_n = 0.04) and
  projected off span(V), feature noise gamma = 0: at d = 128 the noise a winning kernel collects from its
  own feature patches fires the losing view's patches (measured: the loser catches up), which the
  large-d limit of the theory removes (spec 8);
* rho_w = 0.03 (spec 0.1), mu = 0.02 (about one single-view training sample per class, AZL's
  mu N / k = k^0.2), off-class sparsity s = 3 (spec 2: with fewer off-class features the weak view alone
  classifies the single-view samples of a class that learned the other view);
* SL: q = 6, m = 6, sigma_0 = 0.012 (spec: q = 3, sigma_0 = 1/k puts Lambda^(0) above varrho), measured at
  the first step at which every multi-view training sample is classified correctly (the end of AZL's
  feature-learning phase, before the single-view samples are memorised);
* MRP: q = 3, sigma_0 = 0.03, teacher = a fixed random encoder of init scale sigma_T = 0.15 (spec 7's
  fixed-teacher ablation; with the stop-gradient and EMA teachers the pooled objective has no fixed
  point, and the exact least-squares decoder scale removes the growth, see docs/mrp_study.md), decoder b = 1, the loss averaged
  over the mask in closed form, a fixed budget of T_pre steps.
"""
from __future__ import annotations

import zlib
from functools import lru_cache

import numpy as np

from derivations import mrp as theory
from simulations.multiview import data as mvdata
from simulations.multiview import experiments as mvexp
from simulations.multiview import train as mvtrain
from theorycheck.claim import Claim
from theorycheck.regime import Constraint, Param, Regime
from theorycheck.registry import register, register_bench
from theorycheck.verdict import Tolerance

SOURCE_AZL = "Allen-Zhu & Li 2020 (arXiv 2012.09816) Thm 1 via Pan-Zhou-Yan 2023 (arXiv 2206.03826); spec 4.1 [M], 4.4"
SOURCE_MRP = "Pan, Zhou & Yan 2023 (arXiv 2206.03826) Thm 1/2; spec 4.2-4.4 [V qualitative, M/R quantitative]"
DATA_ASSUMPTION = ("Data: C_p = 2, s = 3 (spec 2), features = first 2k basis vectors, gamma = 0, Gaussian noise "
                   "only on noise patches (sigma_p = 0, sigma_n = 0.04) and projected off span(V), rho_w = "
                   "0.03 (spec 0.1), mu = 0.02; exact full-batch GD in float64.")
SL_ASSUMPTION = (" SL: AZL net, m = 6, q = 6, sigma_0 = 0.012, eta = 8, measured at the first step at which "
                 "every multi-view training sample is classified correctly (or T).")
MRP_ASSUMPTION = (" MRP: km kernels, q = 3, sigma_0 = 0.03, fixed random teacher of init scale sigma_T = 0.15, "
                  "pooled decoder b = 1, theta = 0.25, loss averaged over the mask in closed form, eta_pre = "
                  "2 for T_pre = 150 steps; fine-tuning: linear head u (init 0) and encoder trained jointly "
                  "by CE, eta = 2, 150 steps.")
VARRHO = 0.1


# ------------------------------------------------------------------ regime
DATA_PARAMS = [
    Param("k", 6, 20, kind="int", low=3, high=30, search=(3, 6), doc="classes"),
    Param("P", 25, 36, kind="int", low=8, high=900, search=(12, 25), doc="patches per sample"),
    Param("d", 128, 256, kind="int", low=16, high=1024, search=(48, 128), doc="patch dimension"),
    Param("N", 300, 1000, kind="int", low=20, high=5000, search=(60, 300), doc="training samples"),
    Param("s", 3.0, 3.0, low=0.0, high=10.0, search=(1.0, 4.0),
          doc="off-class sparsity: each off-class feature w.p. s/k"),
    Param("mu", 0.02, 0.02, low=0.0, high=0.5, search=(0.0, 0.1), doc="single-view fraction"),
    Param("rho_w", 0.03, 0.03, low=0.0, high=1.0, search=(0.0, 0.1), doc="weak-view scale in single-view samples"),
    Param("sigma_p", 0.0, 0.0, low=0.0, high=1.0, search=(0.0, 0.02),
          doc="per-coordinate noise std on feature patches"),
    Param("sigma_n", 0.04, 0.04, low=0.0, high=1.0, search=(0.0, 0.08),
          doc="per-coordinate noise std on noise patches"),
    Param("project_noise", True, True, kind="bool", doc="project the patch noise off span(V)"),
    Param("n_test", 600, 2000, kind="int", low=50, high=20000, search=(200, 600), doc="test samples per distribution"),
]
SL_PARAMS = [
    Param("m", 6, 6, kind="int", low=1, high=16, search=(4, 8), doc="kernels per class"),
    Param("q", 6, 6, kind="int", low=3, high=10, search=(5, 7), doc="smoothed-ReLU power of the SL network"),
    Param("sigma0", 0.012, 0.012, low=1e-5, high=0.2, log=True, search=(0.006, 0.015), doc="SL init std"),
    Param("eta", 8.0, 8.0, low=1e-3, high=50.0, search=(2.0, 10.0), doc="SL step size"),
    Param("T", 2000, 4000, kind="int", low=1, high=20000, search=(300, 2000), doc="SL step budget"),
    Param("stop_at", "multi", "multi", kind="choice", choices=("multi", "fit", "learned", "T"), search=("multi",),
          doc="SL measurement point: all multi-view training samples fitted, all fitted, the first "
              "plus a captured view in every class, or T"),
]
MRP_PARAMS = [
    Param("m", 6, 6, kind="int", low=1, high=16, search=(4, 8), doc="kernels per class (the encoder has km)"),
    Param("q_mrp", 3, 3, kind="int", low=3, high=10, search=(3, 4), doc="smoothed-ReLU power of the MRP encoder"),
    Param("sigma0_mrp", 0.03, 0.03, low=1e-4, high=0.2, log=True, search=(0.01, 0.04), doc="MRP encoder init std"),
    Param("sigma_teacher", 0.15, 0.15, low=1e-4, high=1.0, log=True, search=(0.09, 0.3),
          doc="init std of a fixed random teacher"),
    Param("theta", 0.25, 0.25, low=0.05, high=1.0, search=(0.1, 0.5), doc="mask keep probability"),
    Param("teacher", "fixed", "fixed", kind="choice", choices=mvtrain.TEACHERS, search=("fixed",), doc="teacher"),
    Param("decoder", "fixed", "fixed", kind="choice", choices=mvtrain.DECODERS, search=("fixed",), doc="decoder"),
    Param("tau", 0.99, 0.99, low=0.0, high=1.0, search=(0.9, 0.999), doc="EMA rate of the EMA teacher"),
    Param("eta_pre", 2.0, 2.0, low=1e-3, high=20.0, search=(1.0, 4.0), doc="pretraining step size"),
    Param("T_pre", 150, 300, kind="int", low=0, high=20000, search=(100, 300), doc="pretraining step budget"),
    Param("w_cap", 1e6, 1e6, low=0.1, high=1e9, search=(1e3, 1e6), log=True,
          doc="stop pretraining at this largest kernel norm"),
    Param("eta_ft", 2.0, 2.0, low=1e-3, high=50.0, search=(1.0, 4.0), doc="fine-tuning step size"),
    Param("T_ft", 150, 300, kind="int", low=1, high=20000, search=(100, 300), doc="fine-tuning step budget"),
]
SL_KEYS = tuple(p.name for p in DATA_PARAMS + SL_PARAMS)
MRP_KEYS = tuple(p.name for p in DATA_PARAMS + MRP_PARAMS)

_BASE_CONSTRAINTS = [
    Constraint("orthonormal_features", lambda p: p["d"] >= 2 * p["k"] + 8, "d >= 2k + 8", ("d", "k")),
    Constraint("room_for_features", lambda p: p["P"] >= 8, "P >= 8 patches", ("P",)),
]
_SL_CONSTRAINTS = [
    Constraint("polynomial_phase", lambda p: theory.init_below_threshold(p["sigma0"], p["k"] * p["m"], VARRHO, 2.0),
               "sigma0 sqrt(2 log km) <= varrho/2 (no feature near capture at step 0)", ("sigma0", "k", "m")),
    Constraint("noise_below_threshold",
               lambda p: theory.noise_below_threshold(p["sigma_p"], 0.0, p["d"], p["k"], VARRHO, p["project_noise"]),
               "sigma_p log k <= varrho/2 unless the noise is projected off span(V)",
               ("sigma_p", "project_noise")),
]
_MRP_CONSTRAINTS = [
    Constraint("polynomial_phase",
               lambda p: p["sigma0_mrp"] * np.sqrt(2 * np.log(p["k"] * p["m"])) <= VARRHO,
               "sigma0_mrp sqrt(2 log km) <= varrho (no feature captured at step 0)", ("sigma0_mrp", "k", "m")),
    # MRP Thm 1-2 speak of T = poly(k)/eta iterations; the fixed-teacher student converges by eta t ~ 100
    Constraint("pretraining_budget", lambda p: p["eta_pre"] * p["T_pre"] >= 100,
               "eta_pre * T_pre >= 100 (the theorems' T = poly(k)/eta pretraining steps)", ("eta_pre", "T_pre")),
    Constraint("finetuning_budget", lambda p: p["eta_ft"] * p["T_ft"] >= 100,
               "eta_ft * T_ft >= 100 (the theorems' T' = poly(k)/eta fine-tuning steps)", ("eta_ft", "T_ft")),
]


def _with(params, over):
    out = []
    for p in params:
        if p.name in over:
            kw = dict(p.__dict__)
            kw.update(over[p.name])
            p = Param(**kw)
        out.append(p)
    return out


def sl_regime(extra=(), **over) -> Regime:
    return Regime(_with(DATA_PARAMS + SL_PARAMS + list(extra), over), _BASE_CONSTRAINTS + _SL_CONSTRAINTS)


def mrp_regime(**over) -> Regime:
    return Regime(_with(DATA_PARAMS + MRP_PARAMS, over), _BASE_CONSTRAINTS + _MRP_CONSTRAINTS)


def gain_regime() -> Regime:
    """SL and MRP together (the SL baseline's parameters keep their names; ``m`` is shared)."""
    params = DATA_PARAMS + SL_PARAMS + [p for p in MRP_PARAMS if p.name != "m"]
    return Regime(params, _BASE_CONSTRAINTS + _SL_CONSTRAINTS + _MRP_CONSTRAINTS)


def data_config(p) -> mvdata.DataConfig:
    return mvdata.DataConfig(k=p["k"], P=p["P"], d=p["d"], s=p["s"], mu=p["mu"], rho=p["rho_w"], sigma_p=p["sigma_p"],
                             sigma_n=p["sigma_n"], project_noise=p["project_noise"])


# ------------------------------------------------------------------ shared runs
def family_seed(rng: np.random.Generator, family: str) -> tuple:
    """(root entropy, replicate key) of a claim's replicate generator, as the key of the family's run."""
    ss = rng.bit_generator.seed_seq
    entropy = ss.entropy if isinstance(ss.entropy, int) else tuple(ss.entropy)
    return entropy, tuple(ss.spawn_key[1:])


def _family_sequence(family: str, entropy, tail) -> np.random.SeedSequence:
    ent = entropy if isinstance(entropy, int) else list(entropy)
    return np.random.SeedSequence(entropy=ent, spawn_key=(zlib.crc32(family.encode()),) + tuple(tail))


def _key(p, names) -> tuple:
    return tuple((n, p[n]) for n in names)


@lru_cache(maxsize=64)
def _sl_cached(key: tuple, entropy, tail) -> dict:
    p = dict(key)
    net = mvtrain.NetConfig(m=p["m"], q=p["q"], sigma0=p["sigma0"], eta=p["eta"], T=p["T"])
    stop = None if p["stop_at"] == "T" else p["stop_at"]
    return mvexp.sl_experiment(data_config(p), net, p["N"], p["n_test"], _family_sequence("mrp.sl", entropy, tail),
                               stop_at=stop)


@lru_cache(maxsize=32)
def _ensemble_cached(key: tuple, entropy, tail, K: int) -> dict:
    p = dict(key)
    net = mvtrain.NetConfig(m=p["m"], q=p["q"], sigma0=p["sigma0"], eta=p["eta"], T=p["T"])
    stop = None if p["stop_at"] == "T" else p["stop_at"]
    first = _sl_cached(key, entropy, tail)
    return mvexp.ensemble_experiment(data_config(p), net, p["N"], p["n_test"],
                                     _family_sequence("mrp.sl", entropy, tail), K, first, stop_at=stop)


def _mrp_net(p) -> mvtrain.NetConfig:
    return mvtrain.NetConfig(m=p["m"], q=p["q_mrp"], sigma0_mrp=p["sigma0_mrp"], eta=p["eta_ft"], T=p["T_ft"],
                             eta_pre=p["eta_pre"], T_pre=p["T_pre"], theta=p["theta"], teacher=p["teacher"],
                             tau=p["tau"], decoder=p["decoder"], w_cap=p["w_cap"])


@lru_cache(maxsize=64)
def _mrp_cached(key: tuple, entropy, tail, finetune: bool) -> dict:
    p = dict(key)
    return mvexp.mrp_experiment(data_config(p), _mrp_net(p), p["N"], p["n_test"],
                                _family_sequence("mrp.mrp", entropy, tail), p["sigma_teacher"], finetune)


def run_sl(p, rng) -> dict:
    """The SL run of this replicate (shared by every SL claim)."""
    return _sl_cached(_key(p, SL_KEYS), *family_seed(rng, "mrp.sl"))


def run_ensemble(p, rng) -> dict:
    return _ensemble_cached(_key(p, SL_KEYS), *family_seed(rng, "mrp.sl"), int(p["K"]))


def run_mrp(p, rng, finetune: bool = True) -> dict:
    """The MRP pretraining + fine-tuning run of this replicate (shared by every MRP claim)."""
    return _mrp_cached(_key(p, MRP_KEYS), *family_seed(rng, "mrp.mrp"), finetune)


def _report(out: dict, key: str, extras=()) -> dict:
    res = {"value": float(out[key])}
    for e in extras:
        v = out[e]
        v = v if isinstance(v, (bool, int)) else float(v)
        res[e] = None if isinstance(v, float) and not np.isfinite(v) else v
    return res


SL_EXTRAS = ("sv", "mv", "one_view", "f2", "f0", "stop")
MRP_EXTRAS = ("coverage", "coverage_teacher", "purity_below_03", "purity_median", "ft_sv", "ft_mv", "lp_sv",
              "ctl_sv", "retained", "ft_memorised_single", "noise_single_ft")


# ------------------------------------------------------------------ claim builders
def _sl_claim(cid, statement, key, predicted, tol, neg, neg_label, label, expected="verified", finding="",
              regime=None, seeds=None, source_note=" [ours: finite-size check]", extra_assumption="", kind="estimate",
              comparison=None, measure=None):
    return register(Claim(
        id=cid, source=SOURCE_AZL + source_note, statement=statement, kind=kind, regime=regime or sl_regime(),
        predict=predicted if callable(predicted) else (lambda p: predicted),
        measure=measure or (lambda p, rng: _report(run_sl(p, rng), key, SL_EXTRAS)),
        tolerance=Tolerance(tol), negative_control=neg if callable(neg) else (lambda p: neg), negative_label=neg_label,
        seeds=seeds or {"quick": 16, "full": 16}, comparison=comparison, expected=expected, finding=finding,
        assumption=DATA_ASSUMPTION + SL_ASSUMPTION + extra_assumption, measured_label=label))


def _mrp_claim(cid, statement, key, predicted, tol, neg, neg_label, label, expected="verified", finding="",
               regime=None, seeds=None, finetune=True, extra_assumption=""):
    extras = MRP_EXTRAS if finetune else ("coverage", "coverage_gain", "purity_below_03")
    return register(Claim(
        id=cid, source=SOURCE_MRP + " [ours: finite-size check]", statement=statement, kind="estimate",
        regime=regime or mrp_regime(), predict=lambda p: predicted,
        measure=lambda p, rng: _report(run_mrp(p, rng, finetune), key, extras),
        tolerance=Tolerance(tol), negative_control=lambda p: neg, negative_label=neg_label,
        seeds=seeds or {"quick": 8, "full": 8}, expected=expected, finding=finding,
        assumption=DATA_ASSUMPTION + MRP_ASSUMPTION + extra_assumption, measured_label=label))


# ------------------------------------------------------------------ SL claims (AZL Thm 1, spec C1-C5, C11, C12)
ONE_VIEW = _sl_claim(
    "mrp.sl.one_view_per_class",
    "AZL SL learns one view per class: the fraction of classes with exactly one view at Lambda >= varrho is "
    ">= 0.7 (prediction 1 - 0.3, spec C1).",
    "one_view", 1.0, 0.3, 0.0, "MRP's both views per class (0 +- 0.3)", "fraction of one-view classes")

_sl_claim(
    "mrp.sl.lottery",
    "The view SL learns is the one with the larger initial correlation (one-view classes with a relative "
    "initial gap >= 10 %): agreement >= 0.8 (spec C2).",
    "lottery", 1.0, 0.2, 0.5, "coin flip (0.5 +- 0.2)", "P[learned view = argmax_l Lambda^(0)]")

SINGLE_VIEW = _sl_claim(
    "mrp.sl.single_view_accuracy",
    "AZL Thm 1: SL single-view test accuracy is about 1/2 (band [0.35, 0.65], spec C3).",
    "sv", 0.5, 0.15, 1.0, "MRP-FT value (1.0 +- 0.15)", "single-view test accuracy")

_sl_claim(
    "mrp.sl.single_view_accounting",
    "The mechanism of C3 class by class: a class that learned one view classifies the half of its "
    "single-view samples whose strong view is the learned one, so its single-view accuracy is 1/2 (+-0.1).",
    "sv_one_view", 0.5, 0.1, 1.0, "MRP value: every single-view sample classified (1.0 +- 0.1)",
    "single-view accuracy on classes with one learned view", source_note=" [ours: the accounting of spec 8]",
    measure=lambda p, rng: _report(run_sl(p, rng), "sv_one_view",
                                   SL_EXTRAS + ("sv_learned_strong", "sv_other_strong")))

_sl_claim(
    "mrp.sl.multi_view_accuracy",
    "AZL Thm 1: SL multi-view test accuracy >= 0.97 (spec C4).",
    "mv", 1.0, 0.03, 0.5, "the single-view value 1/2 (0.5 +- 0.03)", "multi-view test accuracy")


def _err_over_mu(p, rng):
    o = run_sl(p, rng)
    err = p["mu"] * (1 - o["sv"]) + (1 - p["mu"]) * (1 - o["mv"])
    return {"value": err / p["mu"], "test_error": err, "sv": o["sv"], "mv": o["mv"]}


_sl_claim(
    "mrp.sl.error_over_mu",
    "AZL Thm 1: SL test error on D = (1 - mu) D_m + mu D_s is about mu/2 (error/mu in [0.35, 0.65], spec C5).",
    None, 0.5, 0.15, 0.0, "MRP's zero single-view error (0 +- 0.15)", "test error / mu",
    regime=sl_regime(mu={"low": 0.005, "search": (0.005, 0.1)}), measure=_err_over_mu,
    extra_assumption=" The error is mu (1 - acc_s) + (1 - mu)(1 - acc_m) from fixed-size D_s and D_m test sets.")

POWER_METHOD = _sl_claim(
    "mrp.sl.power_method",
    "Before saturation the winning correlation follows the tensor-power recursion c_{t+1} = c_t + eta C "
    "c_t^(q-1): the log-log slope of the increment against c_t is q - 1 (spec C11, spec 5).",
    "exponent", lambda p: p["q"] - 1.0, 0.25, lambda p: p["q"] - 2.0, "exponent off by one (q - 2 +- 0.25)",
    "fitted exponent of c_{t+1} - c_t against c_t", kind="scaling",
    source_note="; tensor-power lemma, spec 5 [M]",
    extra_assumption=" Per class the winning (kernel, view) correlation from step 0 to its first crossing "
                     "of varrho/2; median over classes. Tolerance 0.25: the loss factor 1 - logit_y drifts "
                     "as the class is fitted.",
    measure=lambda p, rng: _report(run_sl(p, rng), "exponent", SL_EXTRAS + ("n_exponent",)))


def _ensemble_measure(p, rng):
    o = run_ensemble(p, rng)
    K = int(p["K"])
    pred = theory.single_view_accuracy_ensemble(K, o["f2_mean"])
    return {"value": o["sv_ensemble"] - pred, "sv_ensemble": o["sv_ensemble"], "predicted_from_f2": pred,
            "f2_mean": o["f2_mean"], "sv_single_mean": float(np.mean(o["sv_models"]))}


ENSEMBLE = _sl_claim(
    "mrp.sl.ensemble",
    "AZL Thm 2: averaging K independently initialised SL models classifies a single-view sample unless every "
    "model missed its strong view: accuracy 1 - ((1 - f_2)/2)^K with f_2 the models' fraction of two-view "
    "classes (residual within +-0.1, spec C12).",
    None, 0.0, 0.1, lambda p: 0.5 - theory.single_view_accuracy_ensemble(int(p["K"]), 0.0),
    "no ensemble gain: one model's 1/2 in place of 1 - 2^-K (residual 1/2 - (1 - 2^-K) +- 0.1)",
    "ensemble single-view accuracy - (1 - ((1 - f_2)/2)^K)",
    regime=sl_regime(extra=[Param("K", 3, 3, kind="int", low=2, high=10, search=(2, 4), doc="ensemble size")]),
    seeds={"quick": 8, "full": 8}, measure=_ensemble_measure,
    source_note=" [ours: the finite-k form with the measured f_2]",
    extra_assumption=" The K models share the training set and differ in their init; their outputs F are "
                     "averaged.")

_sl_claim(
    "mrp.ablation.mu_zero",
    "Ablation (spec 4.4): with mu = 0 the training set has no single-view samples, and SL still misses "
    "about half of the single-view test samples (accuracy in [0.35, 0.65]): the gap comes from the "
    "lottery, not from the single-view training samples.",
    "sv", 0.5, 0.15, 1.0, "MRP-FT value (1.0 +- 0.15)", "single-view test accuracy, mu = 0",
    regime=sl_regime(mu={"quick": 0.0, "full": 0.0, "search": (0.0, 0.0)}), seeds={"quick": 16, "full": 16},
    extra_assumption=" mu = 0 in training; the test set is still drawn from D_s.")


# C13: the noise that makes memorisation visible, at a k where SL reaches 100 % training accuracy in budget
MEMORY_DATA = {"sigma_n": {"quick": 0.08, "full": 0.08, "search": (0.06, 0.1)},
               "mu": {"quick": 0.1, "full": 0.1, "search": (0.05, 0.2)},
               "k": {"full": 10}, "N": {"full": 500}, "d": {"full": 128}}
MEMORY_ASSUMPTION = (" C13 setting: sigma_n = 0.08 (noise patches strong enough to be memorised), mu = 0.1 (a few "
                     "single-view training samples per class); full tier at k = 10, N = 500 and d = 128 (at "
                     "d = 256 the noise norm 0.08 sqrt(d - 2k) = 1.2 is memorised before the features are "
                     "learned).")


def _memorised(p, rng):
    o = run_sl(p, rng)
    if not np.isfinite(o["memorised"]):
        raise ValueError("no single-view training sample needs memorisation (no one-view class has a single-view "
                         "sample whose strong view is the unlearned one); raise mu or N")
    return _report(o, "memorised", SL_EXTRAS + ("n_need_memory", "memorised_single", "noise_single", "train_acc"))


_sl_claim(
    "mrp.sl.noise_memorisation",
    "AZL Thm 1: SL reaches 100 % training accuracy by memorising noise: of the single-view training samples "
    "its learned features cannot fit (one-view class, strong view the unlearned one), the fraction "
    "classified correctly only through their noise patches is about 1 (>= 0.7, spec C13).",
    "memorised", 1.0, 0.3, 0.0, "fitted by features, as after MRP-FT (0 +- 0.3)",
    "fraction of the feature-unfittable single-view training samples fitted by noise",
    regime=sl_regime(stop_at={"quick": "fit", "full": "fit", "search": ("fit",)}, **MEMORY_DATA),
    seeds={"quick": 6, "full": 6},
    measure=_memorised, source_note=" [ours: the memorisation test of spec C13]",
    extra_assumption=MEMORY_ASSUMPTION + " Measured at the first step with every training sample fitted (or "
                     "T); a sample is fitted by noise when it is classified correctly but not once its noise "
                     "patches are zeroed.")


# ------------------------------------------------------------------ MRP claims (Thm 1/2, spec C6-C10)
COVERAGE = _mrp_claim(
    "mrp.coverage",
    "MRP Thm 1: after pretraining every feature is captured, coverage = #{(i,l): Lambda >= varrho}/2k >= 0.9 "
    "(spec C6).",
    "coverage", 1.0, 0.1, 0.5, "SL's one view per class (0.5 +- 0.1)", "coverage")

_mrp_claim(
    "mrp.purity",
    "MRP Thm 1: one kernel captures at most one feature: >= 90 % of the captured kernels have their "
    "second-largest feature correlation below 0.3 of the largest (spec C7).",
    "purity_below_03", 1.0, 0.1, 0.5, "half of the kernels pure (0.5 +- 0.1)",
    "fraction of captured kernels with 2nd/1st correlation < 0.3", expected="refuted",
    finding="no captured kernel is pure (fraction ~0): the student copies the fixed random teacher, whose "
            "kernels respond to random mixtures of features; the stop-gradient and EMA variants mix the two "
            "co-occurring views of a class too (spec 8, docs/mrp_study.md)")

FT_SINGLE = _mrp_claim(
    "mrp.ft.single_view_accuracy",
    "MRP Thm 2: after fine-tuning, single-view test accuracy >= 0.9 (spec C8).",
    "ft_sv", 1.0, 0.1, 0.5, "SL value (0.5 +- 0.1)", "single-view test accuracy after fine-tuning")


def _gain_measure(p, rng):
    o, s = run_mrp(p, rng), run_sl(p, rng)
    return {"value": o["ft_sv"] - s["sv"], "ft_sv": o["ft_sv"], "sl_sv": s["sv"], "ctl_sv": o["ctl_sv"]}


register(Claim(
    id="mrp.ft.single_view_gain",
    source=SOURCE_MRP + " vs " + SOURCE_AZL + " [ours: finite-size check]",
    statement="MRP Thm 2 vs AZL Thm 1: fine-tuned single-view accuracy exceeds the AZL SL network's by about "
              "1/2 (band [0.3, 0.7], spec C8 'SL + 0.3').",
    kind="estimate", regime=gain_regime(), predict=lambda p: 0.5, measure=_gain_measure, tolerance=Tolerance(0.2),
    negative_control=lambda p: -0.5, negative_label="SL/MRP swap (-0.5 +- 0.2)", seeds={"quick": 8, "full": 8},
    assumption=DATA_ASSUMPTION + SL_ASSUMPTION + MRP_ASSUMPTION + " Replicate i pairs the MRP run i with the SL "
               "run i (independent samples of the same distribution).",
    measured_label="single-view accuracy: MRP-FT - AZL SL"))

_mrp_claim(
    "mrp.ft.gain_vs_control",
    "Fine-tuned single-view accuracy exceeds that of the same architecture trained from random init (the "
    "SL control of spec 2.4) by >= 0.3 (band [0.3, 0.7]).",
    "gain_vs_control", 0.5, 0.2, -0.5, "SL/MRP swap (-0.5 +- 0.2)", "single-view accuracy: MRP-FT - SL control",
    expected="refuted",
    finding="the same-architecture control (linear head on km kernels, trained from random init) already "
            "learns both views of most classes: a linear head has no per-class winner-take-all, so the gain "
            "is ~0.1, not >= 0.3")

_mrp_claim(
    "mrp.ft.multi_view_accuracy",
    "MRP Thm 2: after fine-tuning, multi-view test accuracy >= 0.97 (spec C9).",
    "ft_mv", 1.0, 0.03, 0.5, "SL's single-view value 1/2 (0.5 +- 0.03)", "multi-view test accuracy after FT")

_mrp_claim(
    "mrp.ft.retention",
    "MRP Thm 2: features captured in pretraining are retained through fine-tuning (>= 95 %, spec C10).",
    "retained", 1.0, 0.05, 0.5, "half lost (0.5 +- 0.05)", "fraction of captured features kept")

_mrp_claim(
    "mrp.ft.noise_memorisation",
    "MRP Thm 2 against AZL's memorisation (spec C13): after fine-tuning the pretrained features fit the "
    "single-view training samples, so at most 1 in 10 of them is classified correctly only through its "
    "noise patches (prediction 0 +- 0.1).",
    "ft_memorised_single", 0.0, 0.1, 0.375,
    "SL's share: the single-view samples whose strong view is unlearned, (1 - f_2)/2 at f_2 = 1/4 (0.375 +- 0.1)",
    "fraction of single-view training samples fitted by noise after FT", seeds={"quick": 6, "full": 6},
    regime=mrp_regime(**MEMORY_DATA), extra_assumption=MEMORY_ASSUMPTION)

_mrp_claim(
    "mrp.ablation.no_mask",
    "Ablation (spec 4.4): theta = 1 (no masking) with the stop-gradient student teacher and b = 1 "
    "leaves the residual at zero, so no feature is learned (coverage gain over step 0 is 0).",
    "coverage_gain", 0.0, 0.1, 1.0, "the masked value (gain 1.0 +- 0.1)", "coverage gain without masking",
    finetune=False,
    seeds={"quick": 4, "full": 5},
    regime=mrp_regime(theta={"quick": 1.0, "full": 1.0, "search": (1.0, 1.0)},
                      decoder={"quick": "fixed", "full": "fixed"},
                      teacher={"quick": "stopgrad", "full": "stopgrad", "search": ("stopgrad",)}),
    extra_assumption=" Ablation: theta = 1, stop-gradient student teacher.")


# ------------------------------------------------------------------ benchmark
def _timeit(f, reps: int) -> float:
    """Best of ``reps`` wall-clock times (the least disturbed run on a shared machine)."""
    import time

    f()
    best = np.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def _torch_steps(torch, X2, y, W, k, P, q, b, theta, teacher_H):
    """The SL and MRP steps written with PyTorch autograd (CPU, float64)."""
    n = y.shape[0]
    M = W.shape[0]
    Xt, yt = torch.from_numpy(X2), torch.from_numpy(y)
    Wt = torch.from_numpy(W.copy()).requires_grad_(True)
    Tt, bt = torch.from_numpy(np.ascontiguousarray(teacher_H)), torch.from_numpy(b)

    def act(Z):
        u = (Z / VARRHO).clamp(0.0, 1.0)
        return VARRHO / q * u ** q + (Z - VARRHO).clamp(min=0.0)

    def sl():
        A = act((Xt @ Wt.T).reshape(n, P, M))
        F = A.sum(1).reshape(n, k, M // k).sum(2)
        loss = torch.nn.functional.cross_entropy(F, yt)
        Wt.grad = None
        loss.backward()

    def mrp():
        A = act((Xt @ Wt.T).reshape(n, P, M))
        H, Q = A.sum(1), (A * A).sum(1)
        loss = 0.5 * (((Tt - bt * theta * H) ** 2).sum() + (bt ** 2 * theta * (1 - theta) * Q).sum()) / n
        Wt.grad = None
        loss.backward()

    return sl, mrp


def _bench(quick: bool) -> list:
    """One GD step of SL (AZL network) and of MRP (pooled decoder, fixed teacher) at the tier's size.

    Ratios: the plain NumPy step over ours (``ratio_vs_numpy``); ours over the two dense matrix products
    of the step timed alone (``ratio_vs_floor``: below 1 because our step multiplies only the rows that
    are not one-hot, see ``losses.Batch``) and over those smaller products (``ratio_vs_sparse_floor``);
    our fused step without the sparse split over the dense floor (``ratio_dense_fused_vs_floor``); and
    PyTorch-CPU autograd over ours (``ratio_vs_torch``) when torch is installed.  Best-of-N timings.
    """
    from simulations.multiview import losses, reference

    p = gain_regime().resolve("quick" if quick else "full")
    rng = np.random.default_rng(0)
    D = mvdata.sample(data_config(p), p["N"], rng)
    batch = losses.Batch(D.X)
    dense = losses.Batch(D.X, structured=False)
    n, P, d, k = batch.n, batch.P, batch.d, p["k"]
    M = k * p["m"]
    W = 0.05 * rng.standard_normal((M, d))
    b = np.ones(M)
    teacher_H = losses.encode(batch, 0.15 * rng.standard_normal((M, d)), VARRHO, p["q_mrp"])
    G = rng.standard_normal((M, n * P))
    reps = 7 if quick else 5
    floor = _timeit(lambda: W @ dense.XT, reps) + _timeit(lambda: G @ dense.X2, reps)
    if batch.structured:
        Wc, Gd = np.ascontiguousarray(W[:, batch.cols]), rng.standard_normal((M, batch.dense_idx.size))
        sparse_floor = _timeit(lambda: Wc @ batch.XdT, reps) + _timeit(lambda: Gd @ batch.Xd, reps)
    else:
        sparse_floor = floor
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None
    cases = {
        "sl_step": (lambda: losses.azl_loss_grad(batch, D.y, W, k, VARRHO, p["q"]),
                    lambda: losses.azl_loss_grad(dense, D.y, W, k, VARRHO, p["q"]),
                    lambda: reference.azl_grad(dense.X2, D.y, W, k, P, VARRHO, p["q"])),
        "mrp_step": (lambda: losses.mrp_pooled_loss_grad(batch, W, b, p["theta"], VARRHO, p["q_mrp"], teacher_H),
                     lambda: losses.mrp_pooled_loss_grad(dense, W, b, p["theta"], VARRHO, p["q_mrp"], teacher_H),
                     lambda: reference.mrp_pooled_grad(dense.X2, n, P, W, b, p["theta"], VARRHO, p["q_mrp"],
                                                       teacher_H.T)),
    }
    torch_steps = (_torch_steps(torch, dense.X2, D.y, W, k, P, p["q"], b, p["theta"], teacher_H.T)
                   if torch is not None else (None, None))
    rows = []
    for (name, (fast, fused_dense, ref)), tstep in zip(cases.items(), torch_steps):
        t_fast, t_dense, t_ref = _timeit(fast, reps), _timeit(fused_dense, reps), _timeit(ref, reps)
        t_torch = _timeit(tstep, reps) if tstep is not None else None
        rows.append({"case": name, "seconds": t_fast, "dense_fused_seconds": t_dense, "numpy_seconds": t_ref,
                     "floor_seconds": floor, "sparse_floor_seconds": sparse_floor,
                     "ratio_vs_numpy": t_ref / t_fast, "ratio_vs_floor": t_fast / floor,
                     "ratio_vs_sparse_floor": t_fast / sparse_floor, "ratio_dense_fused_vs_floor": t_dense / floor,
                     "ratio_vs_torch": None if t_torch is None else t_torch / t_fast,
                     "shape": f"n={n} P={P} d={d} M={M}, dense rows {batch.dense_idx.size if batch.structured else n * P}"
                              f" of {n * P}"})
    return rows


register_bench("mrp", _bench)


# ------------------------------------------------------------------ figures
def plot_trajectories(p, rngs):
    """SL Lambda_{i,l}(t) (run 100 steps past the measurement point to show the drift) with the hitting
    times of varrho predicted by the tensor-power recursion from Lambda^(0) with the loss factor frozen at
    its initial value (a loser's marker without a crossing is the lottery), and MRP pretraining's Lambda(t)."""
    from theorycheck.plots import figure

    sl_keys = {n: p[n] for n in SL_KEYS if n in p}
    stop = run_sl(sl_regime().resolve("quick", overrides=sl_keys), rngs[0])["stop"]
    T = max(150, stop + 100)
    ps = sl_regime().resolve("quick", overrides={**sl_keys, "stop_at": "T", "T": T})
    o = run_sl(ps, rngs[0])
    k = ps["k"]
    fig, axes = figure(1, 2, width=6.4, height=4.0)
    ax = axes[0]
    for i in range(k):
        for l in range(2):
            color = f"C{i % 10}"
            ax.semilogy(o["steps"], np.maximum(o["lam_traj"][:, i, l], 1e-4), color=color,
                        ls="-" if l == 0 else "--", lw=1.3)
            x0 = o["lam0"][i, l]
            t_hit = theory.sl_hitting_time(x0, ps["eta"], k, ps["q"], VARRHO, ps["mu"], ps["rho_w"], s=ps["s"]) \
                if x0 > 0 else np.inf
            if t_hit < T:
                ax.plot([t_hit], [VARRHO], marker="v" if l == 0 else "^", color=color, ms=7, ls="none")
    ax.axhline(VARRHO, color="k", lw=0.8)
    ax.axvline(stop, color="grey", lw=1.0, ls=":")
    ax.text(stop, 1.5e-4, " every multi-view\n training sample fitted", fontsize=8, color="grey")
    ax.set(xlabel="GD step", ylabel=r"$\Lambda_{i,l}$ (class-$i$ kernels)", ylim=(1e-4, 30),
           title=f"SL (AZL net), k={k}, q={ps['q']}, m={ps['m']}: solid/dashed = view 1/2, "
                 r"markers = predicted $t_\varrho$")
    ax.title.set_fontsize(9)
    mrp_keys = {n: p[n] for n in MRP_KEYS if n in p}
    pm = mrp_regime().resolve("quick", overrides=mrp_keys)
    om = run_mrp(pm, rngs[0])
    ax = axes[1]
    for i in range(k):
        for l in range(2):
            ax.semilogy(np.maximum(om["lam_traj"][:, i, l], 1e-4), color=f"C{i % 10}", ls="-" if l == 0 else "--",
                        lw=1.3)
    ax.axhline(VARRHO, color="k", lw=0.8)
    ax.set(xlabel="pretraining step", ylabel=r"$\Lambda_{i,l}$ (all kernels)", ylim=(1e-3, 30),
           title=f"MRP pretraining ({pm['teacher']} teacher, sigma_T={pm['sigma_teacher']}, decoder "
                 f"{pm['decoder']}): coverage {om['coverage']:.2f}")
    ax.title.set_fontsize(9)
    fig.tight_layout()
    return fig


def plot_heatmaps(p, rngs):
    """[<w_r, v_f>]^+ (kernels x features, each map scaled to its maximum) after SL, after MRP
    pretraining and after fine-tuning."""
    from theorycheck.plots import figure

    ps = sl_regime().resolve("quick", overrides={n: p[n] for n in SL_KEYS if n in p})
    pm = mrp_regime().resolve("quick", overrides={n: p[n] for n in MRP_KEYS if n in p})
    o, om = run_sl(ps, rngs[0]), run_mrp(pm, rngs[0])
    k = ps["k"]
    mats = [(o["W"][:, :2 * k], f"SL (AZL net), step {o['stop']}"), (om["C"], "MRP student after pretraining"),
            (om["C_ft"], "MRP after fine-tuning")]
    fig, axes = figure(3, 1, width=4.0, height=5.2)
    for j, (ax, (M, title)) in enumerate(zip(axes, mats)):
        A = np.maximum(M, 0.0)
        im = ax.imshow(A / A.max(), aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks(range(2 * k), [f"{i}.{l + 1}" for i in range(k) for l in range(2)], fontsize=7, rotation=90)
        ax.set(xlabel=r"feature $v_{i,l}$", ylabel="kernel r" if j == 0 else "", title=title)
        ax.title.set_fontsize(9)
    fig.colorbar(im, ax=list(axes), shrink=0.8, label=r"$[\langle w_r, v\rangle]^+$ / max")
    return fig


for _claim in (POWER_METHOD, ONE_VIEW, SINGLE_VIEW, ENSEMBLE):
    _claim.plot = plot_trajectories
for _claim in (COVERAGE, FT_SINGLE):
    _claim.plot = plot_heatmaps
