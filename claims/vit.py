"""Huang, Wen, Chi, Liang — MAE vs contrastive learning on a one-layer softmax ViT (``vit.*``).

Binds :mod:`derivations.vit` (closed forms) to :mod:`simulations.vit` (exact full-batch GD on a fixed set
of images and masks).  Concrete choices implemented (docs/papers/vit.md §6): softmax over all P keys (masked keys
carry value 0), i.i.d. Bernoulli(gamma) masks with gamma = 0.5, unnormalised 1/2-sum MAE loss averaged over
images, pi_k = 1/K, zero initialisation, row-major contiguous areas (global area first; the second cluster
uses the transposed grid), z = 1 unless a claim says otherwise; CL = InfoNCE between two masked views with
pooled attention output, tau = 0.5, no head.  Area attention of a masked query is the conditional mean
given that another patch of its area is visible.

Roles.  Claims that compare a derived exact expectation of the model's first GD step with its Monte Carlo
estimate on a finite mask set (the initial rates, the phase switch), or whose regime already forces the
outcome (the two-phase count), are ``role="consistency"``: they check our derivation or the simulator,
not a statement of the paper.

Several claims read different statistics of one expensive run (e.g. own-area attention, its increments and
the loss gap of one MAE training).  :func:`_shared_run` keys such a run by the replicate's identity and
draws it from a generator spawned from that identity, so every claim's replicate ``i`` sees the same run
whichever claim (or worker) computes it first, and a calibration run never sees a measured one.
"""
from __future__ import annotations

import dataclasses
import math
import zlib

import numpy as np

from derivations import vit as D
from simulations import vit as S
from theorycheck import (Claim, Constraint, Curve, Param, Regime, Tolerance, loglog_slope, register,
                         register_bench, replicate_identity)
from theorycheck import Ladder, Window

SOURCE = "Huang, Wen, Chi, Liang, ICLR 2025 (arXiv 2403.02233)"
MAE_ASSUMPTION = ("one-layer softmax attention in the exact (Phi, Upsilon) parametrisation; softmax over all P "
                  "keys; Bernoulli(gamma) masks, a fixed set of `masks` masks per cluster image; MAE loss "
                  "1/2 sum over masked patches, mean over images; pi_k = 1/K; z = 1; Q = 0 at start; "
                  "full-batch GD in float64; docs/papers/vit.md §2.1-§2.2, §6.")
CL_ASSUMPTION = ("InfoNCE (tau = 0.5, B images, other images' second views as negatives) between two "
                 "Bernoulli(gamma)-masked views, representation = pooled attention output with query e_p, no "
                 "head; docs/papers/vit.md §2.3 and §6.10 (our instantiation, not necessarily the paper's).")


# ------------------------------------------------------------------------------- shared runs
_SHARED: dict = {}
_SHARED_MAX = 64


def _shared_run(kind: str, p, rng, compute):
    """``compute(run_rng)`` once per (kind, parameters, replicate identity), reused by every claim.

    ``run_rng`` is spawned from ``(root, crc32(kind), replicate key)``: it depends on the replicate, not on
    the claim that asks first, so a shared run is reproducible in any order and on any worker.
    """
    root, key = replicate_identity(rng)
    ident = (kind, repr(sorted(p.items())), root, key)
    if ident not in _SHARED:
        while len(_SHARED) >= _SHARED_MAX:
            _SHARED.pop(next(iter(_SHARED)))
        entropy = root if isinstance(root, int) else list(root)
        seq = np.random.SeedSequence(entropy=entropy, spawn_key=(zlib.crc32(kind.encode()),) + tuple(key))
        _SHARED[ident] = compute(np.random.default_rng(seq))
    return _SHARED[ident]


# ------------------------------------------------------------------------------------ regimes
def _tiles(p):
    return p["C_global"] < p["P"] and (p["P"] - p["C_global"]) % p["C_local"] == 0


TILING = Constraint("tiling", _tiles,
                    "C_global < P and the local areas tile the other patches: (P - C_global) divisible by C_local",
                    ("P", "C_global", "C_local"))
LOCAL_SIZE = Constraint("local_area_size", lambda p: p["C_local"] >= 2,
                        "C_local >= 2 (a one-patch area has no other patch to attend to)", ("C_local",))
GLOBAL_LARGER = Constraint("global_area_larger", lambda p: p["C_global"] > p["C_local"],
                           "C_global > C_local (the global area is the large one: kappa_s > kappa_c)",
                           ("C_global", "C_local"))
GLOBAL_MAJORITY = Constraint("global_area_majority", lambda p: 2 * p["C_global"] >= p["P"],
                             "2 C_global >= P (the global area covers at least half of the image)",
                             ("P", "C_global"))
SMALL_STEP = Constraint("small_step", lambda p: p["eta"] <= 2.0,
                        "eta <= 2 (docs/papers/vit.md §6.7: eta small; GD then follows the gradient flow, T* ~ 1/eta)", ("eta",))


def _exact_ratio(p) -> float:
    r = D.initial_rates("local")["ratio"]
    return D.evaluate(r, P=p["P"], C1=p["C_global"], C=p["C_local"], gamma=p["gamma"], z=1, K=1)


LARGE_GAP = Constraint("large_gap", lambda p: _tiles(p) and _exact_ratio(p) > 1.1,
                       "the exact initial global pull on a masked local query exceeds its target pull by 10 % "
                       "(C_global^2 / (P C_local) above the phase boundary; see 'vit.mae.phase_switch')",
                       ("P", "C_global", "C_local", "gamma"))


def _tstar_mf(p) -> float:
    """Mean-field T* (the slower of local and global queries) of :func:`derivations.vit.tstar_mean_field`."""
    args = (p["P"], p["C_global"], p["C_local"], p["gamma"], p["K"], p["eta"], p["eps"])
    return max(D.tstar_mean_field(*args, query="local"), D.tstar_mean_field(*args, query="global"))


BUDGET_FACTOR = 1.5
# raised from 1.25 after the property test drew P = 36, C_global = 6, C_local = 3, K = 2, eta = 0.625, eps = 0.14 at
# 1.25 x T*: own-area attention 0.861 [0.849, 0.873] against >= 0.859 (inconclusive); 0.873 [0.862, 0.883] at 1.35,
# 0.889 [0.881, 0.897] at 1.55, 0.909 [0.903, 0.915] at 1.94
BUDGET = Constraint("budget", lambda p: _tiles(p) and p["C_local"] >= 2 and p["steps"] >= BUDGET_FACTOR * _tstar_mf(p),
                    f"steps >= {BUDGET_FACTOR} x the derived mean-field T* (phase-I law + phase-II growth to 1 - eps, "
                    "derivations.vit.tstar_mean_field): the theorem speaks of the state after T*, and the mean-field "
                    "T* runs short of the simulated one by up to a quarter (at 1.25 x it the drawn setting P = 36, "
                    "C_global = 6, K = 2 ended at 0.861 [0.849, 0.873] against 1 - eps = 0.859)",
                    ("steps", "P", "C_global", "C_local", "K", "eta", "gamma", "eps"))

P_SEARCH = (16, 25, 32, 36)


def _tiling_strategy(params, P_values=P_SEARCH, C_local_max=8, geometry_ok=lambda P, C1, C: True):
    """Strategy of whole parameter dicts whose geometry tiles: ``(P, C_global, C_local)`` drawn from the
    tilings with ``P`` in ``P_values`` and ``2 <= C_local < C_global``, every other parameter from its
    ``search`` range (the regime's constraints still filter the result)."""
    names = ("P", "C_global", "C_local")

    def strategy(tier):
        from hypothesis import strategies as st

        triples = [(P, C1, C) for P in P_values for C in range(2, C_local_max + 1) for C1 in range(C + 1, P)
                   if (P - C1) % C == 0 and geometry_ok(P, C1, C)]
        rest = st.fixed_dictionaries({q.name: q.strategy() for q in params if q.name not in names})
        return st.tuples(st.sampled_from(triples), rest).map(
            lambda t: {**t[1], "P": t[0][0], "C_global": t[0][1], "C_local": t[0][2]})
    return strategy


def _geometry(P, C1, C, K, *, p_high=100):
    return [
        Param("P", P[0], P[1], kind="int", low=4, high=p_high, search=(16, 36), doc="number of patches"),
        Param("C_global", C1[0], C1[1], kind="int", low=1, high=p_high, search=(3, 34),
              doc="size of the global area"),
        Param("C_local", C[0], C[1], kind="int", low=1, high=p_high, search=(2, 8), doc="size of each local area"),
        Param("K", K[0], K[1], kind="choice", choices=(1, 2), doc="number of clusters (pi_k = 1/K)"),
    ]


def _training(masks=(128, 256), eta=(1.0, 1.0), steps=None, gamma=0.5, eps=True):
    out = [Param("gamma", gamma, gamma, kind="float", low=0.0, high=1.0, low_open=True, high_open=True,
                 search=(0.3, 0.7), doc="masking ratio"),
           Param("masks", masks[0], masks[1], kind="int", low=8, high=4096, search=(64, 192),
                 doc="masks per image (fixed set)"),
           Param("eta", eta[0], eta[1], kind="float", low=0.0, high=10.0, low_open=True, search=(0.5, 1.5),
                 doc="GD step size")]
    if steps is not None:
        out.append(Param("steps", steps[0], steps[1], kind="int", low=1, high=100000, search=(600, 1500),
                         doc="step budget"))
    if eps:
        out.append(Param("eps", 0.1, 0.1, kind="float", low=0.0, high=0.5, low_open=True, search=(0.08, 0.15),
                         doc="convergence threshold: own-area attention >= 1 - eps"))
    return out


def _mae_regime(params, constraints, **strategy):
    return Regime(params, constraints, strategy_fn=_tiling_strategy(params, **strategy))


def _mae_batch(p, rng, C_local=None, C_global=None):
    g = S.Geometry(p["P"], p["C_global"] if C_global is None else C_global,
                   p["C_local"] if C_local is None else C_local, p["K"])
    return S.mae_batch(g, p["masks"], p["gamma"], rng)


def _run(p, rng, budget=False, C_local=None, eta=None, max_steps=None):
    b = _mae_batch(p, rng, C_local)
    steps = max_steps or p.get("steps", 20000)
    return S.run_mae(b, p["eta"] if eta is None else eta, steps, p.get("eps", 0.1),
                     extra_steps=steps if budget else 0)


def _budget_run(p, rng):
    """The MAE run to the end of the step budget, shared by the T-MAE-1 claims."""
    return _shared_run("vit.mae.budget_run", p, rng, lambda r: _run(p, r, budget=True))


def _converged_run(p, rng):
    """The MAE run until every query reaches own-area attention 1 - eps, shared by several claims."""
    return _shared_run("vit.mae.converged_run", p, rng, lambda r: _run(p, r))


def _first_passage(series: np.ndarray, level: float) -> float | None:
    """First time a per-step series reaches ``level``, interpolated linearly between steps."""
    hit = np.nonzero(series >= level)[0]
    if not hit.size:
        return None
    t = int(hit[0])
    if t == 0:
        return 0.0
    lo, hi = series[t - 1], series[t]
    return float(t - 1 + (level - lo) / (hi - lo))


# ------------------------------------------------------------------------- T-MAE-1: own area
def _own_area_measure(p, rng):
    tr = _budget_run(p, rng)
    series = tr.min_own(True)
    drops = np.diff(series)
    return {"value": float(series[-1]), "t_star_local": tr.t_star_local, "t_star_global": tr.t_star_global,
            "largest_drop": float(-drops.min()) if drops.size else 0.0,
            "loss_gap_fraction": float((tr.loss[-1] - tr.loss_opt) / tr.loss[0]),
            "min_own_global_queries": float(tr.min_own(False)[-1])}


def _initial_own(p):
    return (1 - p["gamma"]) * (p["C_local"] - 1) / p["P"]


def _unconditioned_cap(p):
    return 1 - p["gamma"] ** (p["C_local"] - 1)


_MAE_HEADLINE_PARAMS = _geometry((36, 64), (18, 32), (3, 4), (2, 2)) + _training(steps=(780, 1000))
OWN_AREA_MASKS = 48
# added after the property test drew P = 16, C_global = 4, C_local = 2 with 64 masks (the worst query's own-area
# attention 0.879 [0.843, 0.916] against >= 0.875: inconclusive; 0.890 [0.869, 0.911] at 128 masks, 0.906
# [0.902, 0.909] at 192)
MASKS_PER_QUERY = Constraint(
    "masks_per_query", lambda p: p["masks"] * p["gamma"] * (1 - p["gamma"] ** (p["C_local"] - 1)) >= OWN_AREA_MASKS,
    f"masks gamma (1 - gamma^(C_local - 1)) >= {OWN_AREA_MASKS}: the statement is about the conditional mean over "
    "the masks in which a query is masked and part of its own area is visible, and with fewer such masks (16 at "
    "64 masks, C_local = 2) the worst of the local queries is decided by mask noise; 48 is the quick tier's "
    "(128 masks, C_local = 3, gamma = 0.5)", ("masks", "gamma", "C_local"))
MAE_HEADLINE_REGIME = _mae_regime(_MAE_HEADLINE_PARAMS, (TILING, LOCAL_SIZE, GLOBAL_LARGER, SMALL_STEP, BUDGET,
                                                         MASKS_PER_QUERY))
MAE_HEADLINE = _MAE_HEADLINE_PARAMS


def plot_attention_maps(p, rngs):
    """MAE vs CL area attention (query patch x key area, cluster 0), side by side."""
    from theorycheck import figure

    rng = rngs[0]
    g = S.Geometry(p["P"], p["C_global"], p["C_local"], p.get("K", 2))
    mae_b = S.mae_batch(g, p.get("masks", 128), p["gamma"], rng)
    tr = S.run_mae(mae_b, 1.0, 1000, 0.1, extra_steps=1000)
    mae_map = S.mean_area_attention(tr.phi, tr.ups, mae_b)[0]
    cl_b = S.cl_batch(g, p.get("images", 32), p["gamma"], rng)
    ctr = S.run_cl(cl_b, p.get("eta_cl", 100.0), p.get("steps_cl", 200))
    cl_map = ctr.area[0]
    order = np.lexsort((np.arange(g.P), g.area[0]))
    fig, axes = figure(2, 1, width=4.6, height=5.2)
    for ax, m, title in ((axes[0], mae_map, "MAE (masked query, own area visible)"),
                         (axes[1], cl_map, "CL (mean-pooled InfoNCE)")):
        im = ax.imshow(m[order], aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("key area (0 = global)")
        ax.set_ylabel("query patch (sorted by its area)")
    fig.colorbar(im, ax=list(axes), label="area attention", shrink=0.8)
    fig.suptitle(f"P={g.P}, C_global={g.C_global}, C_local={g.C_local}, cluster 0", fontsize=10)
    return fig



register(Claim(
    id="vit.mae.own_area_attention",
    source=f"{SOURCE}, MAE theorem (docs/papers/vit.md §4 T-MAE-1) [V qualitative, R quantitative]",
    statement="After MAE training (a step budget past the derived T*) every masked local patch puts at least "
              "1 - eps = 0.9 of its attention on its own area (conditional mean over masks).",
    kind="qualitative", comparison="within", regime=MAE_HEADLINE_REGIME,
    predict=lambda p: (1 - p["eps"], 1.0),
    measure=_own_area_measure, tolerance=0.0,
    tolerance_reason="0 around the band [1 - eps, 1]: eps is the theorem's own precision "
                     "(docs/papers/vit.md §4 T-MAE-1 pass criterion), so no further slack is added.",
    negative_control=lambda p: _unconditioned_cap(p),
    negative_label="own-area attention stops at the unconditioned cap 1 - gamma^(C_local - 1) (0.75 at "
                   "C_local = 3): the level reached if it only tracked whether the own area is visible",
    seeds={"quick": 4, "full": 5}, assumption=MAE_ASSUMPTION + " Regime: the step budget covers 1.5 x the "
    "derived mean-field T* (constraint 'budget'; 1.25 until a drawn setting ended at the band's edge).",
    measured_label="min over local queries of own-area attention at the end of the budget",
))


def _monotone_measure(p, rng):
    tr = _budget_run(p, rng)
    inc = np.diff(tr.min_own(True))
    return {"value": float(inc.min()), "argmin_step": int(np.argmin(inc)), "first_increment": float(inc[0])}


register(Claim(
    id="vit.mae.own_area_monotone",
    source=f"{SOURCE}, MAE theorem (T-MAE-1: one phase, no dip of own-area attention) [R]",
    statement="The own-area attention of the worst local query rises at every GD step (no dip, also when the "
              "gap is positive): its smallest single-step increment is positive.",
    kind="lower_bound", regime=MAE_HEADLINE_REGIME,
    predict=lambda p: 0.0, measure=_monotone_measure, tolerance=0.0,
    tolerance_reason="0: the statement is a sign (no dip at any step); GD in float64 adds no slack beyond "
                     "1e-12, far below the increments (~1e-4).",
    negative_control=lambda p: (1 - p["eps"] - _initial_own(p)) / p["steps"],
    negative_label="uniform growth: every step adds at least (1 - eps - A(0)) / steps",
    seeds={"quick": 4, "full": 5}, assumption=MAE_ASSUMPTION,
    measured_label="min over steps of the increment of min-over-local-queries own-area attention",
))


def _loss_gap_measure(p, rng):
    tr = _budget_run(p, rng)
    return {"value": float((tr.loss[-1] - tr.loss_opt) / tr.loss[0]), "loss0": float(tr.loss[0]),
            "loss_opt": tr.loss_opt, "loss_end": float(tr.loss[-1])}


register(Claim(
    id="vit.mae.loss_gap",
    source=f"{SOURCE}, MAE theorem (T-MAE-1: loss within eps of optimal) [V/R]",
    statement="The MAE loss comes within 5 % of L(0) of its infimum L* (masked patches whose whole area is "
              "masked) within the step budget.",
    kind="upper_bound", regime=MAE_HEADLINE_REGIME,
    predict=lambda p: 0.05, measure=_loss_gap_measure, tolerance=0.0,
    tolerance_reason="0 beyond the spec's pass criterion 0.05 L(0) for the theorem's 'loss within eps of "
                     "optimal' (a stated precision, not a fitted one).",
    negative_control=lambda p: 0.0,
    negative_label="the infimum is attained (gap 0); it is only approached as |Phi| -> inf",
    seeds={"quick": 4, "full": 5}, assumption=MAE_ASSUMPTION + " L* of the finite mask set.",
    measured_label="(L(T) - L*) / L(0)",
))


# ------------------------------------------------------------------- initial rates (docs/papers/vit.md §3.2)
def _first_step(p, rng):
    b = _mae_batch(p, rng)
    g = b.geometry
    phi, ups = S.zero_params(b)
    st = S.mae_evaluate(phi, ups, b)
    step = -st.grad_phi                         # Delta Phi / eta
    rows = np.arange(g.P)
    tgt = np.stack([step[rows, g.feature[k]] for k in range(g.K)])
    glb = np.stack([step[rows, g.global_feature(k)] for k in range(g.K)])
    loc = g.is_local
    return float(tgt[loc].mean()), float(glb[loc].mean()), float(tgt[~loc].mean())


def _rate(p, which, query="local", leading=False, own_counted_visible=False):
    vals = dict(P=p["P"], C1=p["C_global"], C=p["C_local"], gamma=p["gamma"], z=1, K=p["K"])
    expr = D.leading_rates()[which] if leading else D.initial_rates(query, own_counted_visible)[which]
    return D.evaluate(expr, **vals)


# masks drawn from the quick tier's 256 up: at 64 masks the 20 seeds' interval on the first-step rate is 2.5 % wide
# against the 3 % band, and the property test drew an inconclusive verdict there (P = 16, C_global = 4, C_local = 2)
_RATE_PARAMS = [p if p.name != "masks" else dataclasses.replace(p, search=(256, 384))
                for p in _geometry((36, 64), (18, 32), (3, 4), (2, 2)) + _training(masks=(256, 512), eps=False)]
RATE_MASKS = Constraint("rate_masks", lambda p: p["masks"] >= 256,
                        "masks >= 256: with fewer masks the Monte Carlo spread of the first-step rate over 20 seeds "
                        "fills most of the 3 % band (at 64 masks: inconclusive, interval 2.5 % wide)", ("masks",))
RATE_REGIME = _mae_regime(_RATE_PARAMS, (TILING, LOCAL_SIZE, GLOBAL_LARGER, RATE_MASKS))
RATE_GLOBAL_MASK_AREA = 256 * 18
# added after the property test drew P = 25, C_global = 23, C_local = 2 (one local area): over roots 0-3 the 20 seeds
# gave 0.01114-0.01171 around the exact 0.011424 (unbiased), intervals +-2.6-3.3 % against the 3 % band
RATE_TARGET_REGIME = _mae_regime(_RATE_PARAMS, (TILING, LOCAL_SIZE, GLOBAL_LARGER, RATE_MASKS, Constraint(
    "target_rate_masks", lambda p: p["masks"] * (p["P"] - p["C_global"]) >= RATE_GLOBAL_MASK_AREA,
    f"masks x (P - C_global) >= {RATE_GLOBAL_MASK_AREA} (256 masks at the default 18 local patches): the target "
    "rate is an average over the masked local queries, about gamma (P - C_global) per mask, so one seed's relative "
    "Monte Carlo error grows as 1/sqrt(masks (P - C_global)); with one local area of 2 patches and 256 masks the "
    "20-seed interval is +-2.6-3.3 %, as wide as the 3 % band (P = 25, C_global = 23: 0.01114-0.01171 over four "
    "roots against 0.011424)", ("masks", "P", "C_global"))))
# added after the property test drew P = 16, C_global = 4, C_local = 2 (inconclusive at 256 masks: the leading
# order there is 3 % off the exact rate, inside the band, and one seed's Monte Carlo error is about 5 %)
RATE_GLOBAL_REGIME = _mae_regime(_RATE_PARAMS, (TILING, LOCAL_SIZE, GLOBAL_LARGER, RATE_MASKS, Constraint(
    "global_rate_masks", lambda p: p["masks"] * p["C_global"] >= RATE_GLOBAL_MASK_AREA,
    f"masks x C_global >= {RATE_GLOBAL_MASK_AREA} (256 masks at the default C_global = 18): the global rate is an "
    "average over the visible global patches, n_1 ~ Bin(C_global, 1 - gamma), so one seed's relative Monte Carlo "
    "error grows as 1/sqrt(masks C_global); at C_global = 4 with 256 masks it is about 5 % and the 20-seed "
    "interval straddles the 3 % band (P = 16, C_local = 2: -0.00797 [-0.00814, -0.00779] against -0.00806 +- "
    "0.00024), with 1152 masks -0.00800 [-0.00810, -0.00792], verified", ("masks", "C_global")), Constraint(
    "leading_order_resolved", lambda p: abs(_rate(p, "global", leading=True) / _rate(p, "global") - 1) >= 3 * RATE_TOL.value,
    "the leading-order control lies at least 3 tolerances (9 %) from the exact rate, so that its band starts a "
    "band width outside the prediction's: the two cross as C_global grows (at P = 16, C_global = 4, C_local = 2 the "
    "leading order is 3 % off, at P = 32, C_global = 6, C_local = 2 it is exact), and where they meet the "
    "comparison cannot fail", ("P", "C_global", "C_local", "gamma", "K")),
))
RATE_TOL = Tolerance(0.03, relative=True)
RATE_TOL_REASON = ("3 % relative: the Monte Carlo error of one finite mask set (relative standard error of the "
                   "mean first-step increment of one seed: ~1 % for the target rate, ~3 % for the global rate at "
                   "256 masks per cluster); the closed form is exact, so the band allows no more than one seed's "
                   "sampling error and 20 seeds put the interval well inside it.")
RATE_ROLE = ("Consistency: the derived rate is the exact expectation over Bernoulli masks of the simulator's own "
             "first GD step, so agreement checks our algebra (a Monte Carlo test of a closed form), not the "
             "paper.")

register(Claim(
    id="vit.mae.initial_rate_target",
    source=f"{SOURCE}, phase analysis; docs/papers/vit.md §3.2 [D: our exact form of the leading-order rate]",
    statement="At Q = 0 the target FP correlation of a masked local query grows at the derived exact rate "
              "pi gamma z^3 E[(n_a/P)(1 - 2 n_a/P + sum_c n_c^2/P^2)] per unit eta.",
    kind="estimate", regime=RATE_TARGET_REGIME, role="consistency",
    predict=lambda p: _rate(p, "target"),
    measure=lambda p, rng: _first_step(p, rng)[0], tolerance=RATE_TOL, tolerance_reason=RATE_TOL_REASON,
    negative_control=lambda p: _rate(p, "target", own_counted_visible=True),
    negative_label="the exact form with the masked query counted among its area's visible patches "
                   "(n_a ~ Bin(C_local, 1 - gamma))",
    alternative=lambda p: _rate(p, "target", leading=True),
    alternative_label="docs/papers/vit.md §3.2 leading order pi gamma (1-gamma) (C/P) z^3",
    seeds={"quick": 20, "full": 20}, assumption=MAE_ASSUMPTION + " " + RATE_ROLE,
    measured_label="first-step Delta Phi_target / eta, mean over local queries",
))

register(Claim(
    id="vit.mae.initial_rate_global",
    source=f"{SOURCE}, phase I 'decoupling global FP correlations'; docs/papers/vit.md §3.2 [D: our exact form]",
    statement="At Q = 0 the global FP correlation of a masked local query falls at the derived exact rate "
              "-pi gamma z^3 E[(n_1/P)((n_1+n_a)/P - sum_c n_c^2/P^2)] per unit eta.",
    kind="estimate", regime=RATE_GLOBAL_REGIME, role="consistency",
    predict=lambda p: _rate(p, "global"),
    measure=lambda p, rng: _first_step(p, rng)[1], tolerance=RATE_TOL, tolerance_reason=RATE_TOL_REASON,
    negative_control=lambda p: _rate(p, "global", leading=True),
    negative_label="docs/papers/vit.md §3.2 leading order -pi gamma (1-gamma)^2 (C1/P)^2 z^3 (21-23 % off; the nearer "
                   "slip of counting the masked query as visible is only 3.6 % off at P = 64, inside the Monte "
                   "Carlo tolerance)",
    seeds={"quick": 20, "full": 20}, assumption=MAE_ASSUMPTION + " " + RATE_ROLE,
    measured_label="first-step Delta Phi_global / eta, mean over local queries",
))


# --------------------------------------------------------------------- T-MAE-2: two phases
def _phase_count(tr) -> int:
    """2 when phase I is non-empty (global FP of local queries falls faster than the target FP rises at
    first) and the run still ends in area-wide local attention; 1 when the target FP leads from the start."""
    t1 = tr.t1()
    gl = tr.local_mean(tr.phi_global)
    final_ok = tr.t_star_local is not None
    if t1 is None or not final_ok:
        return 0
    if t1 >= 1 and np.all(np.diff(gl[: t1 + 1]) < 0):
        return 2
    return 1 if t1 == 0 else 0


def _two_phase_measure(p, rng):
    tr = _converged_run(p, rng)
    return {"value": float(_phase_count(tr)), "t1": tr.t1(), "t2": tr.t2(), "t_star_local": tr.t_star_local,
            "phi_global_min": float(tr.local_mean(tr.phi_global).min())}


def _phase_params(p):
    return dict(P=p["P"], C1=p["C_global"], C=p["C_local"], gamma=p["gamma"], z=1, K=p["K"], eta=p["eta"])


def plot_phases(p, rngs):
    """Global and target FP correlations of local queries vs t, large-gap and small-gap geometry, with the
    derived T_1 and T_2 marked."""
    from theorycheck import figure

    P = p["P"]
    c1_small = P // 4
    divisors = [c for c in range(2, c1_small) if (P - c1_small) % c == 0]
    small_c = min(divisors, key=lambda c: abs(c - c1_small / 2))
    cases = [(p["C_global"], p["C_local"], "large gap"), (c1_small, small_c, "small gap")]
    fig, axes = figure(2, 1, width=5.8, height=3.8)
    for ax, (c1, c, label) in zip(axes, cases):
        q = dict(p, C_global=c1, C_local=c)
        tr = _run(q, rngs[0])
        t = np.arange(tr.steps + 1)
        ax.plot(t, tr.local_mean(tr.phi_global), label="Phi global (local queries)")
        ax.plot(t, tr.local_mean(tr.phi_target), label="Phi target (local queries)")
        ax2 = ax.twinx()
        ax2.plot(t, tr.local_mean(tr.glob), "k:", lw=1)
        ax2.set_ylim(0, 1)
        ax2.set_ylabel("global-area attention (dotted)", fontsize=8)
        vals = _phase_params(q)
        t1 = D.evaluate(D.phase1_duration(), **vals)
        t2 = t1 + D.phase2_duration_value(P, c, p["gamma"], 1.0, p["K"], p["eta"])
        for x, style, name in ((t1, "--", "derived T_1"), (t2, "-.", "derived T_2")):
            ax.axvline(x, color="grey", ls=style, label=f"{name} = {x:.0f}")
        for x, style, name in ((tr.t1(), "--", "measured T_1"), (tr.t2(), "-.", "measured T_2")):
            if x is not None:
                ax.axvline(x, color="red", ls=style, lw=0.8, label=f"{name} = {x}")
        gap = D.finite_gap_value(P, c1, c)
        ax.set_title(f"{label}: P={P}, C_global={c1}, C_local={c}, Delta_hat={gap:+.2f}", fontsize=9)
        ax.set_xlabel("GD step t")
        ax.set_ylabel("FP correlation")
        ax.legend(fontsize=6, loc="center right")
    fig.tight_layout()
    return fig



_TWO_PHASE_PARAMS = _geometry((36, 64), (18, 32), (3, 4), (1, 2)) + _training()
TWO_PHASE_REGIME = _mae_regime(_TWO_PHASE_PARAMS, (TILING, LOCAL_SIZE, GLOBAL_LARGER, SMALL_STEP, LARGE_GAP))

register(Claim(
    id="vit.mae.two_phase",
    source=f"{SOURCE}, MAE theorem, large-gap case (T-MAE-2) [V two phases, R details]",
    statement="For a positive information gap a masked local query passes through two phases: its global FP "
              "falls faster than its target FP rises for T_1 >= 1 steps, then the target FP takes over and "
              "own-area attention still reaches 1 - eps.",
    kind="qualitative", comparison="within", regime=TWO_PHASE_REGIME, role="consistency",
    predict=lambda p: 2.0, measure=_two_phase_measure, tolerance=0.0,
    tolerance_reason="0: a phase count is an integer; any other count refutes.",
    negative_control=lambda p: 1.0, negative_label="one phase (the small-gap behaviour)",
    seeds={"quick": 3, "full": 3}, assumption=MAE_ASSUMPTION + " T_1 = first step with |dPhi_target| >= "
    "|dPhi_global| (mean over local queries). Consistency: the regime's large_gap constraint (exact first-step "
    "ratio > 1.1) already forces T_1 >= 1 up to mask noise, so the count checks the simulator against the "
    "derived rates; the theorem's content (area-wide local attention after phase I) is tested by "
    "vit.mae.own_area_attention, whose geometry has a positive gap, and the phase-I law by vit.mae.phase1_law.",
    measured_label="phase count (2 = non-empty phase I with falling global FP and convergence, 1 = one phase)",
    plot=plot_phases,
))


def _phase1_measure(p, rng):
    tr = _converged_run(p, rng)
    t1 = tr.t1()
    if t1 is None or t1 < 3:
        raise ValueError(f"phase I lasts {t1} steps: too short to fit the phase-I law")
    t = np.arange(t1 + 1)
    a1 = tr.local_mean(tr.glob)[: t1 + 1]
    slope = np.polyfit(t, a1 ** -2.0, 1)[0]
    _, pred = D.phase1_law()
    pred = D.evaluate(pred, gamma=p["gamma"], z=1, K=p["K"], eta=p["eta"])
    return {"value": float(slope / pred), "slope": float(slope), "t1": t1,
            "a1_initial": float(a1[0]), "a1_end": float(a1[-1])}


def _softmax_factor(p):
    lo, hi = D.phase1_softmax_factor()
    vals = {D.P: p["P"], D.C1: p["C_global"], D.C: p["C_local"], D.gamma: p["gamma"]}
    return float(lo.subs(vals)), float(hi.subs(vals))


PHASE1_FINDING = ("fitted slope of A_1^-2 over phase I is {} of 2 eta pi gamma z^4: the law drops the softmax "
                  "factor (1 - A_1) of dA_1/dPhi_global; with it (derived bracket [1 - A_1(0), 1 - A_1(T_1)] "
                  "= {}) the corrected law is verified.")

register(Claim(
    id="vit.mae.phase1_law",
    source=f"{SOURCE}, phase I; docs/papers/vit.md §3.3 heuristic A_1^-2(t) = A_1^-2(0) + 2 eta z^2 t (ours, with pi "
           "gamma z^4 made explicit) [D]",
    statement="During phase I the global-area attention of masked local queries follows "
              "A_1(t)^-2 = A_1(0)^-2 + 2 eta pi gamma z^4 t (slope ratio measured/derived = 1).",
    kind="estimate", regime=TWO_PHASE_REGIME,
    predict=lambda p: 1.0, measure=_phase1_measure,
    tolerance=0.1,
    tolerance_reason="10 %: discretisation (eta = 1 moves A_1^-2 by ~2 % per step) and mask noise (< 2 %) "
                     "leave the rest for the heuristic's stated accuracy of a Theta-law.",
    negative_control=lambda p: p["K"] / p["gamma"],
    negative_label="the spec's literal rate 2 eta z^2 (cluster weight and masking rate left out)",
    positive_control=_softmax_factor, positive_tolerance=0.05,
    positive_label="the law with the softmax factor (1 - A_1): slope ratio in the derived bracket "
                   "[1 - (1-gamma) C_global/P, 1 - sqrt((1-gamma)(C_local-1)/P)], +- 0.05 (discretisation and "
                   "mask noise)",
    seeds={"quick": 6, "full": 6}, expected="refuted",
    finding_by_tier={"quick": PHASE1_FINDING.format("0.77 [0.74, 0.80] (P=36, K=1; 0.73-0.85 over P = 16-64)",
                                                    "[0.75, 0.83]"),
                     "full": PHASE1_FINDING.format("0.74 [0.73, 0.75] (P=64, K=2; just under the bracket's lower "
                                                   "end, inside its +-0.05)", "[0.75, 0.85]")},
    assumption=MAE_ASSUMPTION,
    measured_label="fitted slope of mean A_1^-2 over [0, T_1] / derived slope",
))


# --------------------------------------------------------------- T-MAE-5: the phase switch

def _sweep_c1(P, C):
    return [c1 for c1 in range(C, P - C + 1) if (P - c1) % C == 0 and c1 > C - 1]


def _crossing(x, ratio):
    """Interpolated x where log(ratio) crosses 0, linearly in log x between adjacent grid points."""
    lr = np.log(ratio)
    for i in range(len(x) - 1):
        if lr[i] < 0 <= lr[i + 1]:
            w = -lr[i] / (lr[i + 1] - lr[i])
            return float(math.exp(math.log(x[i]) + w * (math.log(x[i + 1]) - math.log(x[i]))))
    raise ValueError("the initial-rate ratio does not cross 1 on the C_global grid")


def _switch_measure(p, rng):
    P, C = p["P"], p["C_local"]
    c1s = _sweep_c1(P, C)
    x, ratio = [], []
    for c1 in c1s:
        q = dict(p, C_global=c1)
        tgt, glb, _ = _first_step(q, rng)
        x.append(c1 * c1 / (P * C))
        ratio.append(-glb / tgt)
    return {"value": _crossing(np.array(x), np.array(ratio)), "x": x, "ratio": ratio}


def _switch_predict(p):
    P, C = p["P"], p["C_local"]
    x = np.array([c1 * c1 / (P * C) for c1 in _sweep_c1(P, C)])
    ratio = np.array([_exact_ratio(dict(p, C_global=c1)) for c1 in _sweep_c1(P, C)])
    return _crossing(x, ratio)


def plot_phase_diagram(p, rngs):
    """One-phase / two-phase over (C_global, C_local) at fixed P from the measured first-step ratio, with the
    Delta_hat = 0 line and the exact-rate boundary."""
    from theorycheck import figure

    P = p["P"]
    fig, axes = figure(1, 1, width=6.0, height=4.6)
    ax = axes[0]
    cs = [c for c in range(2, P // 2 + 1) if any((P - c1) % c == 0 for c1 in range(c + 1, P))]
    cs = [c for c in cs if c <= P // 4]
    for c in cs:
        for c1 in range(c + 1, P):
            if (P - c1) % c:
                continue
            q = dict(p, C_global=c1, C_local=c)
            tgt, glb, _ = _first_step(q, rngs[0])
            two = -glb / tgt > 1
            ax.scatter(c1, c, c="tab:red" if two else "tab:blue", s=18, marker="s")
    c1_line = np.linspace(1, P, 200)
    ax.plot(c1_line, c1_line ** 2 / P, "k--", label="Delta_hat = 0: C_global^2 = P C_local")
    bc = [(D.phase_boundary_C1(P, c, p["gamma"]), c) for c in cs if c <= P // 4]
    ax.plot([b[0] for b in bc], [b[1] for b in bc], "g-o", ms=3, label="exact initial-rate boundary (derived)")
    ax.scatter([], [], c="tab:red", marker="s", label="two phases (measured)")
    ax.scatter([], [], c="tab:blue", marker="s", label="one phase (measured)")
    ax.set_xlabel("C_global")
    ax.set_ylabel("C_local")
    ax.set_yscale("log", base=2)
    ax.set_ylim(1.5, max(cs) * 1.5)
    ax.set_title(f"MAE phase diagram, P = {P}, gamma = {p['gamma']}", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig


def _has_crossing(p) -> bool:
    try:
        _switch_predict(p)
    except ValueError:
        return False
    return True


SWITCH_REGIME = Regime(
    [Param("P", 36, 64, kind="int", low=8, high=100, search=(16, 49), doc="number of patches"),
     Param("C_local", 3, 4, kind="int", low=1, high=50, search=(2, 6), doc="size of each local area"),
     Param("K", 1, 2, kind="choice", choices=(1, 2), doc="number of clusters")]
    + _training(masks=(2048, 2048), eps=False)[:1]
    + [Param("masks", 2048, 2048, kind="int", low=8, high=4096, search=(1024, 2048),
             doc="masks per image (fixed set)"),
       Param("eta", 1.0, 1.0, kind="float", low=0.0, high=10.0, low_open=True, search=(0.5, 1.5),
             doc="GD step size")],
    (LOCAL_SIZE, Constraint("sweep", lambda p: len(_sweep_c1(p["P"], p["C_local"])) >= 4,
                            "at least 4 tilings C_global in [C_local, P - C_local]", ("P", "C_local")),
     Constraint("crossing", lambda p: _has_crossing(p),
                "the derived exact initial-rate ratio crosses 1 on the C_global grid", ("P", "C_local", "gamma"))))

register(Claim(
    id="vit.mae.phase_switch",
    source=f"{SOURCE}, information gap Delta decides one vs two phases (T-MAE-5) [R]; boundary from our "
           "exact initial rates [D]",
    statement="Sweeping C_global at fixed P and C_local, the first-step increments switch from target-led (one "
              "phase) to global-led (two phases) where the derived exact rates balance, i.e. at "
              "C_global^2/(P C_local) = x* (Delta_hat = 0 up to a gamma-dependent factor).",
    kind="estimate", regime=SWITCH_REGIME, role="consistency",
    predict=_switch_predict, measure=_switch_measure, tolerance=0.05,
    tolerance_reason="0.05 in C_global^2/(P C_local): the Monte Carlo error of the crossing located from "
                     "first-step ratios on 2048 masks per cluster (each ratio ~1 % relative standard error, "
                     "which moves one seed's interpolated crossing by ~0.03); both crossings use the same grid "
                     "and interpolation, so interpolation error cancels.",
    negative_control=lambda p: 1.0,
    negative_label="the asymptotic boundary Delta_hat = 0 (C_global^2 = P C_local)",
    alternative=lambda p: 1.0 / (1.0 - p["gamma"]),
    alternative_label="boundary of the docs/papers/vit.md §3.2 leading-order rates, x = 1/(1-gamma)",
    seeds={"quick": 8, "full": 8},
    assumption=MAE_ASSUMPTION + " Both crossings located by log-linear interpolation on the same C_global grid. "
    "Consistency: the measured first-step ratio is a Monte Carlo estimate of the derived exact ratio, so this "
    "locates the finite-P boundary of T-MAE-5 through our derivation rather than testing the paper.",
    measured_label="C_global^2/(P C_local) where |dPhi_global/dPhi_target| crosses 1",
    plot=plot_phase_diagram,
))


# ---------------------------------------------------------------- T-MAE-3: order of learning
ORDER_MIN_RATIO = 4
GLOBAL_DOMINANT = Constraint("global_area_dominant", lambda p: p["C_global"] >= ORDER_MIN_RATIO * p["C_local"],
                             f"C_global >= {ORDER_MIN_RATIO} C_local (kappa_s > kappa_c at finite P: the global "
                             "area is several local areas large, so the head start is not within mask noise)",
                             ("C_global", "C_local"))
ENOUGH_MASKS = Constraint("enough_masks", lambda p: p["masks"] >= 256,
                          "masks >= 256 (docs/papers/vit.md §7: T* is insensitive to the number of masks only beyond "
                          "~256; fewer leave the slowest query's conditional attention noisy, T*_local/T*_global then "
                          "varies by +-0.16 per run)", ("masks",))
_ORDER_PARAMS = _geometry((32, 64), (16, 32), (4, 4), (1, 2)) + _training(masks=(256, 256))
_ORDER_PARAMS = [q if q.name != "masks" else Param("masks", 256, 256, kind="int", low=8, high=4096,
                                                   search=(256, 384), doc=q.doc) for q in _ORDER_PARAMS]
_ORDER_PARAMS = [q if q.name != "gamma" else Param("gamma", 0.5, 0.5, kind="float", low=0.0, high=1.0,
                                                   low_open=True, high_open=True, search=(0.5, 0.75), doc=q.doc)
                 for q in _ORDER_PARAMS]
ORDER_MASKING = Constraint("masking_ratio", lambda p: p["gamma"] >= 0.5,
                           "gamma >= 0.5 (docs/papers/vit.md §6.4's masking ratios 0.5 and 0.75); below it the "
                           "time-scale statements can fail at P <= 36 (falsification search: T*_local/T*_global = "
                           "0.83-0.91 at P=36, C_global=30, C_local=3, gamma=0.3; T_2's slope 1.10-1.13 at P=25, "
                           "C_global=13, gamma=0.3)", ("gamma",))
# added after the property test drew C_global = 28 of P = 32 (one local area of 4 patches), eps = 0.082
ORDER_LOCAL_SHARE = Constraint(
    "local_share", lambda p: 4 * (p["P"] - p["C_global"]) >= p["P"],
    "P - C_global >= P/4 (local areas hold at least a quarter of the patches): as the global area takes over the "
    "image the head start vanishes. 16 seeds at P = 32, C_local = 4: T*_local/T*_global 1.19 [1.15, 1.23] at "
    "C_global = 16, 1.09-1.13 under three roots at 24, 1.02 [0.99, 1.05] at 28 (eps = 0.082, inconclusive); the "
    "falsification search had found the order reversed (0.83-0.91) at 30 of 36 with gamma = 0.3",
    ("P", "C_global"))
ORDER_REGIME = _mae_regime(_ORDER_PARAMS, (TILING, LOCAL_SIZE, GLOBAL_LARGER, SMALL_STEP, GLOBAL_DOMINANT,
                                           ENOUGH_MASKS, ORDER_MASKING, ORDER_LOCAL_SHARE))


def _order_measure(p, rng, log=False):
    tr = _converged_run(p, rng)
    if tr.t_star_local is None or tr.t_star_global is None:
        raise ValueError("the run did not converge within 20000 steps")
    r = tr.t_star_local / tr.t_star_global
    return {"value": math.log(r) if log else r, "t_star_local": tr.t_star_local, "t_star_global": tr.t_star_global}


register(Claim(
    id="vit.mae.learning_order",
    source=f"{SOURCE}, global patches are learned first (T-MAE-3, theorem strength) [R/D]",
    statement="Queries in the global area reach own-area attention 1 - eps before queries in local areas: "
              "T*_local / T*_global >= 1.",
    kind="lower_bound", regime=ORDER_REGIME,
    predict=lambda p: 1.0, measure=_order_measure, tolerance=0.0,
    tolerance_reason="0: the theorem's ordering is strict; T* counts integer steps (~150-500), so rounding moves "
                     "the ratio by < 1 %.",
    negative_control=lambda p: p["C_global"] / p["C_local"],
    negative_label="docs/papers/vit.md §4 T-MAE-3 heuristic taken as a bound: T*_local/T*_global >= "
                   "P^(kappa_s-kappa_c) = C_global/C_local",
    alternative=lambda p: D.order_ratio_diluted(p["P"], p["C_global"], p["C_local"], p["gamma"], p["eps"]),
    alternative_label="the heuristic's head start diluted by the mean-field tail (derived, "
                      "derivations.vit.order_ratio_diluted)",
    seeds={"quick": 16, "full": 16}, assumption=MAE_ASSUMPTION + " Regime restated after a falsification search: "
    "with a small masking ratio (gamma = 0.3) and a global area of 30 of 36 patches the local areas converge "
    "first (T*_local/T*_global = 0.83-0.91), so the regime keeps the spec's masking ratios gamma >= 0.5. 16 seeds "
    "(was 6) after the property test drew C_global = 24 of P = 32, eps = 0.094, where the margin is small: 1.08 "
    "[0.99, 1.17] at 6 seeds (inconclusive); at 16 seeds 1.10 [1.06, 1.14], 1.13 [1.09, 1.17], 1.09 [1.05, 1.13] "
    "under roots 0, 1, 2 (about 4 s each). Negative control changed after seeing verdicts: it was the half-exponent "
    "sharpening (C_global/C_local)^(1/2), which the property test found true at large masking ratios (P = 32, "
    "C_global = 16, C_local = 2, gamma = 0.75, eps = 0.125: ratio 3.13 [3.02, 3.25] against 2.83; P = 32, C_global "
    "= 17, C_local = 3, gamma = 0.75, eps = 0.15: 2.50 [2.42, 2.58] against 2.38). The ratio rises with gamma "
    "faster than either derived law (25 settings, 16 seeds each): the tail-diluted heuristic (kept as the "
    "competing theory) is 1.04-1.27 times the ratio at gamma <= 0.56 (12 settings) but 0.74-1.09 times it at "
    "gamma >= 0.59, below it at 11 of 13 (3.44 against 4.23 [3.97, 4.49] at P = 36, C_global = 18, C_local = 2, "
    "gamma = 0.75, eps = 0.15); the mean-field ratio is 1.10-1.77 and 0.93-1.22 times it. No derived sharpening "
    "is near the ratio and wrong across the regime, so the control is the paper's own quantitative order, 2-8 "
    "times the interval's upper end at every measured setting: the ordering is resolved from 1 and from the "
    "heuristic, not from anything in between. The constraints P >= 32 and C_global >= P/2, added because the "
    "half-exponent control was true at P = 16 (ratio 2.0 [1.88, 2.19], C_global = 8, C_local = 2, gamma = 0.75) and "
    "at C_global = 8 of P = 36 (2.84 [2.68, 3.02]), are withdrawn with it: the ordering held there.",
    measured_label="T*_local / T*_global",
))

ORDER_RATIO_FINDING = ("T*_local/T*_global is {} at {}, not C_global/C_local = {}: the O(1/(eta eps)) tail shared "
                       "by every area dominates T*, so the head start is diluted. The theorem-strength order "
                       "(global first, ratio >= 1) holds.")

register(Claim(
    id="vit.mae.learning_order_ratio",
    source=f"{SOURCE}; docs/papers/vit.md §4 T-MAE-3 heuristic T*_local/T*_global ~ P^(kappa_s-kappa_c) = "
           "C_global/C_local (ours, a sharpening of the theorem) [D/R]",
    statement="T*_local / T*_global equals C_global / C_local within a factor 3.",
    kind="estimate", regime=ORDER_REGIME,
    predict=lambda p: math.log(p["C_global"] / p["C_local"]),
    measure=lambda p, rng: _order_measure(p, rng, log=True), tolerance=math.log(3.0),
    tolerance_reason="log 3: the spec's stated precision of the heuristic ('within a factor of 2-3').",
    negative_control=lambda p: 2 * math.log(p["C_global"] / p["C_local"]),
    negative_label="ratio (C_global/C_local)^2",
    positive_control=lambda p: 0.0, positive_comparison="above", positive_tolerance=0.0,
    positive_label="no derived corrected ratio (the mean-field head-plus-tail law is a heuristic of its own): "
                   "the theorem-strength statement log(T*_local/T*_global) >= 0",
    # 24 seeds: at 6 a fresh root gave log 0.226 [0.160, 0.291], astride the band's lower edge log(4/3) = 0.288
    seeds={"quick": 24, "full": 24}, expected="refuted",
    finding_by_tier={"quick": ORDER_RATIO_FINDING.format("1.18 (log 0.16 [0.13, 0.19], 24 seeds)", "P=32, K=1", 4),
                     "full": ORDER_RATIO_FINDING.format("1.38 (log 0.32 [0.28, 0.36])", "P=64, K=2", 8)},
    assumption=MAE_ASSUMPTION, measured_label="log(T*_local / T*_global)",
))


# ------------------------------------------------------------------- T-MAE-4: time scales
def _sweep_locals(p):
    return list(p["C_locals"])


def _times_sweep_fresh(p, rng):
    rows = []
    for c in _sweep_locals(p):
        tr = _run(p, rng, C_local=c)
        if tr.t_star() is None:
            raise ValueError(f"C_local={c}: no convergence within the budget")
        rows.append((p["P"] / c, tr.t_star(), tr.t2(), tr.t_star_local - tr.t_star_global))
    return np.array(rows, dtype=float)


def _times_sweep(p, rng):
    """T*, T_2 and T*_local - T*_global over the C_local sweep (one shared run per replicate)."""
    return _shared_run("vit.mae.c_local_sweep", p, rng, lambda r: _times_sweep_fresh(p, r))


def _slope_measure(col):
    def measure(p, rng):
        rows = _times_sweep(p, rng)
        f = loglog_slope(rows[:, 0], rows[:, col])
        return {"value": f.slope, "ci": [f.low, f.high], "P_over_C": rows[:, 0].tolist(),
                "times": rows[:, col].tolist(), "x": rows[:, 0].tolist(), "y": rows[:, col].tolist()}
    return measure


def _sweep_ok(p):
    return all(c >= 2 and c < p["C_global"] and (p["P"] - p["C_global"]) % c == 0 for c in p["C_locals"])


def _sweep_spread(p):
    cs = p["C_locals"]
    return len(set(cs)) == len(cs) and max(cs) >= 4 * min(cs)


def _scaling_strategy(params):
    """Whole parameter dicts with a C_local sweep that tiles: ``P`` in ``P_SEARCH``, ``C_global``, and 3-4
    distinct tiling local sizes spanning a factor >= 4 (the other parameters from their search ranges)."""
    def strategy(tier):
        from hypothesis import strategies as st

        options = []
        for P in P_SEARCH + (48,):
            for c1 in range(P // 2, P - 1):
                divs = [c for c in range(2, c1) if (P - c1) % c == 0]
                for n in (3, 4):
                    for i in range(len(divs) - n + 1):
                        cs = divs[i:i + n]
                        if cs[-1] >= 4 * cs[0]:
                            options.append((P, c1, cs))
        rest = st.fixed_dictionaries({q.name: q.strategy() for q in params
                                      if q.name not in ("P", "C_global", "C_locals")})
        return st.tuples(st.sampled_from(options), rest).map(
            lambda t: {**t[1], "P": t[0][0], "C_global": t[0][1], "C_locals": list(t[0][2])})
    return strategy


_SCALING_PARAMS = ([Param("P", 32, 64, kind="int", low=8, high=100, search=(16, 48), doc="number of patches"),
                    Param("C_global", 16, 32, kind="int", low=1, high=100, search=(8, 46),
                          doc="size of the global area"),
                    Param("C_locals", [2, 4, 8], [2, 4, 8, 16], kind="ints", low=2, high=50, length=(2, 8),
                          search=(2, 16), doc="local-area sizes swept"),
                    Param("K", 1, 2, kind="choice", choices=(1, 2), doc="number of clusters")]
                   + _training(masks=(256, 256)))
_SCALING_PARAMS = [q if q.name != "masks" else Param("masks", 256, 256, kind="int", low=8, high=4096,
                                                     search=(256, 384), doc=q.doc) for q in _SCALING_PARAMS]
_SCALING_PARAMS = [q if q.name != "gamma" else Param("gamma", 0.5, 0.5, kind="float", low=0.0, high=1.0,
                                                     low_open=True, high_open=True, search=(0.5, 0.75), doc=q.doc)
                   for q in _SCALING_PARAMS]
SCALING_REGIME = Regime(
    _SCALING_PARAMS,
    (Constraint("sweep_tiles", _sweep_ok, "every C_local in C_locals is >= 2, below C_global and tiles "
                "P - C_global", ("P", "C_global", "C_locals")),
     Constraint("sweep_spread", _sweep_spread, "distinct C_locals spanning a factor >= 4 (a slope needs a "
                "lever arm: the band of +-0.3 would otherwise be within the mask noise)", ("C_locals",)),
     SMALL_STEP, ENOUGH_MASKS, ORDER_MASKING),
    strategy_fn=_scaling_strategy(_SCALING_PARAMS))


def plot_tstar(p, rngs):
    """T*, T_2 and T*_local - T*_global against P/C_local on log-log axes with the order-1 slope."""
    from theorycheck import figure, mean_band

    runs = np.stack([_times_sweep(p, r) for r in rngs[:3]], axis=2)       # (G, 4, seeds)
    x = runs[:, 0, 0]
    fig, axes = figure(1, 1, width=5.6, height=4.4)
    ax = axes[0]
    for col, name in ((1, "T*"), (2, "T_2"), (3, "T*_local - T*_global")):
        y = runs[:, col, :]
        f = loglog_slope(x, y.mean(axis=1))
        mean_band(ax, x, y, f"{name}: slope {f.slope:.2f} [{f.low:.2f}, {f.high:.2f}]")
    ref = runs[:, 1, :].mean(axis=1)
    ax.plot(x, ref[0] * (x / x[0]) ** D.TSTAR_EXPONENT, "k--", label="order P/C_local (slope 1, theorem)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("P / C_local")
    ax.set_ylabel("GD steps")
    ax.set_title(f"MAE time scales, P={p['P']}, C_global={p['C_global']}, eta={p['eta']}", fontsize=10)
    ax.legend(fontsize=7)
    return fig


register(Claim(
    id="vit.mae.tstar_order",
    source=f"{SOURCE}, MAE convergence time T* = O(P^(1-kappa_c) log P / eta + 1/(eta eps)) (T-MAE-4 at "
           "theorem strength: an upper-bound order) [R]",
    statement="The fitted log-log slope of T* against P/C_local (fixed P) is at most 1.",
    kind="upper_bound", regime=SCALING_REGIME,
    predict=lambda p: D.TSTAR_EXPONENT, measure=_slope_measure(1), tolerance=0.0,
    tolerance_reason="0: the order's exponent of P/C_local is 1 (derivations.vit.tstar_order); the log P factor "
                     "is constant at fixed P, so it adds no slope.",
    negative_control=lambda p: 0.0, negative_label="T* does not grow with P/C_local (slope <= 0)",
    seeds={"quick": 5, "full": 5}, assumption=MAE_ASSUMPTION + " Sweep of C_local at fixed P and C_global.",
    measured_label="log-log slope of T* vs P/C_local", plot=plot_tstar,
    curve=Curve("P / C_local (patches per local area)", "T* (GD steps)", log=True),
))

register(Claim(
    id="vit.mae.t2_order",
    source=f"{SOURCE}, phase II length T_2 - T_1 = O(P^(1-kappa_c) log P / eta) (theorem strength) [R]",
    statement="The fitted log-log slope of T_2 (own-area attention of every local query >= 1/2) against "
              "P/C_local is at most 1.",
    kind="upper_bound", regime=SCALING_REGIME,
    predict=lambda p: D.TSTAR_EXPONENT, measure=_slope_measure(2), tolerance=0.0,
    tolerance_reason="0: the order's exponent of P/C_local is 1; the log P factor is constant at fixed P.",
    negative_control=lambda p: 0.5,
    negative_label="T_2 set by the phase-I end scale A_1 = O(P^((kappa_c-1)/2)): slope <= 1/2",
    alternative=lambda p: 0.0, alternative_label="T_2 does not grow with P/C_local (slope <= 0)",
    seeds={"quick": 5, "full": 5}, assumption=MAE_ASSUMPTION + " Sweep of C_local at fixed P and C_global. "
    "Regime restated after falsification searches: at 128 masks one seed's slope reached 1.006 under a fresh root, so "
    "the regime keeps masks >= 256 (docs/papers/vit.md §7); with 256 masks the search then refuted the bound at small "
    "masking ratios (slope 1.13 [1.03, 1.23] at P=25, C_global=13, C_locals=[3, 4, 6, 12], gamma=0.3; inconclusive at "
    "0.375), so it keeps the spec's gamma >= 0.5.",
    measured_label="log-log slope of T_2 vs P/C_local",
    curve=Curve("P / C_local (patches per local area)", "T_2 (GD steps)", log=True),
))

TSTAR_SCALING_FINDING = ("slope of T* vs P/C_local is {}, while T_2 carries 0.79-0.84 and T*_local - T*_global "
                         "~1.2-1.4: the O(1/(eta eps)) tail common to every area dominates T* at P <= 64. The "
                         "theorem-strength order (slope <= 1) holds.")

register(Claim(
    id="vit.mae.tstar_scaling",
    source=f"{SOURCE}; docs/papers/vit.md §4 T-MAE-4 sharpening T* proportional to P/C_local (ours) [D/R]",
    statement="T* grows proportionally to P/C_local: fitted log-log slope 1 +- 0.3.",
    kind="scaling", regime=SCALING_REGIME,
    predict=lambda p: D.TSTAR_EXPONENT, measure=_slope_measure(1), tolerance=0.3,
    tolerance_reason="0.3: the spec's stated precision for this sharpening (T-MAE-4: slope 1 +- 0.3).",
    negative_control=lambda p: 2.0, negative_label="slope 2",
    positive_control=lambda p: (0.0, D.TSTAR_EXPONENT), positive_comparison="within", positive_tolerance=0.0,
    positive_label="no derived corrected exponent (the mean-field head-plus-tail law gives ~0.5, itself a "
                   "heuristic): the theorem's order form T* = a (P/C_local) log P/eta + b/(eta eps), a, b >= 0, "
                   "whose log-log slope at fixed P lies in [0, 1]",
    seeds={"quick": 5, "full": 5}, expected="refuted",
    finding_by_tier={"quick": TSTAR_SCALING_FINDING.format("0.29 [0.21, 0.36] (P=32, K=1)"),
                     "full": TSTAR_SCALING_FINDING.format("0.41 [0.36, 0.45] (P=64, K=2)")},
    assumption=MAE_ASSUMPTION + " Sweep of C_local at fixed P and C_global.",
    measured_label="log-log slope of T* vs P/C_local",
    curve=Curve("P / C_local (patches per local area)", "T* (GD steps)", log=True),
))


def _fractional_tstar(tr) -> float:
    """T* with the crossing of 1 - eps interpolated between steps (the slower of local and global queries)."""
    level = 1 - tr.eps
    times = [_first_passage(tr.min_own(local), level) for local in (True, False)]
    if any(t is None for t in times):
        raise ValueError("no convergence within the budget")
    return max(times)


def _eta_measure(p, rng):
    b = _mae_batch(p, rng)
    ts = []
    for eta in p["etas"]:
        tr = S.run_mae(b, eta, 40000, p["eps"])
        if tr.t_star() is None:
            raise ValueError(f"eta={eta}: no convergence")
        ts.append(_fractional_tstar(tr))
    f = loglog_slope(p["etas"], ts)
    return {"value": f.slope, "t_star": ts, "eta_t_star": [e * t for e, t in zip(p["etas"], ts)],
            "x": [float(e) for e in p["etas"]], "y": ts}


def _etas_ok(p):
    e = p["etas"]
    return min(e) > 0 and max(e) <= 2.0 and max(e) >= 2 * min(e)


_ETA_PARAMS = (_geometry((32, 64), (16, 32), (4, 4), (1, 2)) + _training()
               + [Param("etas", [0.5, 1.0, 2.0], [0.5, 1.0, 2.0], kind="floats", low=0.0, high=4.0,
                        low_open=True, length=(2, 6), search=(0.5, 2.0), doc="step sizes swept")])
ETA_REGIME = _mae_regime(_ETA_PARAMS, (TILING, LOCAL_SIZE, GLOBAL_LARGER,
                                       Constraint("eta_sweep", _etas_ok, "0 < etas <= 2 (eta small, docs/papers/vit.md §6.7) "
                                                  "spanning a factor >= 2 (the slope's lever arm)", ("etas",))))

register(Claim(
    id="vit.mae.eta_invariance",
    source=f"{SOURCE}, T* proportional to 1/eta (T-MAE-4, eta part) [R]",
    statement="eta T* is invariant in eta: the fitted log-log slope of T* against eta is -1 +- 0.05.",
    kind="scaling", regime=ETA_REGIME,
    predict=lambda p: D.ETA_EXPONENT, measure=_eta_measure, tolerance=0.05,
    tolerance_reason="0.05: the O(eta) discretisation of GD against the gradient flow at eta <= 2 (a relative "
                     "change of eta T* of a few % across a factor-4 range of eta moves the slope by <= 0.03), "
                     "plus the interpolated first-passage time (error << 1 step of ~200-800).",
    negative_control=lambda p: -0.5,
    negative_label="T* proportional to eta^(-1/2) (the accelerated-method rate)",
    alternative=lambda p: 0.0, alternative_label="T* independent of eta (slope 0)",
    seeds={"quick": 3, "full": 3},
    assumption=MAE_ASSUMPTION + " Same mask set for every eta; T* is the first passage of 1 - eps interpolated "
    "between steps (an integer T* would make the slope exactly -1 for step sizes in ratio 2).",
    measured_label="log-log slope of T* vs eta",
    curve=Curve("step size η", "T* (GD steps, first passage interpolated)", log=True),
))


# ----------------------------------------------------------------------------- T-Upsilon
_UPS_PARAMS = _geometry((32, 64), (16, 32), (2, 4), (1, 2)) + _training()
UPS_REGIME = _mae_regime(_UPS_PARAMS, (TILING, LOCAL_SIZE, GLOBAL_LARGER, SMALL_STEP))


def _ups_measure(p, rng):
    tr = _converged_run(p, rng)
    return {"value": float(tr.max_ups[-1] / tr.max_phi[-1]), "max_ups": float(tr.max_ups[-1]),
            "max_phi": float(tr.max_phi[-1])}


register(Claim(
    id="vit.mae.upsilon_bounded",
    source=f"{SOURCE}, PP correlations stay bounded relative to FP (T-Upsilon at theorem strength) [R]",
    statement="At T* the largest position-position correlation is at most the largest feature-position "
              "correlation: max|Upsilon| / max|Phi| <= 1.",
    kind="upper_bound", regime=UPS_REGIME,
    predict=lambda p: 1.0, measure=_ups_measure, tolerance=0.0,
    tolerance_reason="0: 'bounded relative to FP' read at its weakest constant, 1; no slack on top.",
    negative_control=lambda p: 0.1, negative_label="spec sharpening: max|Upsilon|/max|Phi| <= 0.1",
    seeds={"quick": 3, "full": 3}, assumption=MAE_ASSUMPTION, measured_label="max|Upsilon| / max|Phi| at T*",
))

UPS_FINDING = ("max|Upsilon|/max|Phi| at T* is {}; below 0.1 only for C_local >= 16: Upsilon learns a "
               "positional prior toward the query's own area. The theorem-strength bound (<= 1) holds.")

register(Claim(
    id="vit.mae.upsilon_small",
    source=f"{SOURCE}; docs/papers/vit.md §4 T-Upsilon sharpening (ours) [R]",
    statement="PP correlations stay negligible: max|Upsilon| / max|Phi| <= 0.1 at T*.",
    kind="upper_bound", regime=UPS_REGIME,
    predict=lambda p: 0.1, measure=_ups_measure, tolerance=0.0,
    tolerance_reason="0 beyond the spec's stated threshold 0.1.",
    negative_control=lambda p: 0.01, negative_label="max|Upsilon|/max|Phi| <= 0.01",
    positive_control=lambda p: 1.0, positive_comparison="below", positive_tolerance=0.0,
    positive_label="no derived corrected constant: the theorem-strength bound max|Upsilon|/max|Phi| <= 1",
    seeds={"quick": 3, "full": 3}, expected="refuted",
    finding_by_tier={"quick": UPS_FINDING.format("0.81 [0.78, 0.84] (P=32, C_local=2)"),
                     "full": UPS_FINDING.format("0.38 [0.35, 0.41] (P=64, C_local=4)")},
    assumption=MAE_ASSUMPTION, measured_label="max|Upsilon| / max|Phi| at T*",
))


# --------------------------------------------------------------------------------- CL
def _cl_params(steps=(200, 300), images=(32, 64), eta=(100.0, 100.0), z_mode="one", pooling="mean"):
    return [Param("gamma", 0.5, 0.5, kind="float", low=0.0, high=1.0, low_open=True, high_open=True,
                  search=(0.3, 0.7), doc="masking ratio"),
            Param("images", images[0], images[1], kind="int", low=4, high=1024, search=(16, 48),
                  doc="batch size B"),
            Param("eta_cl", eta[0], eta[1], kind="float", low=0.0, high=1000.0, low_open=True,
                  search=(0.8 * eta[0], 1.5 * eta[0]), doc="CL step size"),
            Param("steps_cl", steps[0], steps[1], kind="int", low=1, high=100000,
                  search=(steps[0], int(1.5 * steps[0])), doc="CL step horizon"),
            Param("tau", 0.5, 0.5, kind="float", low=0.0, high=10.0, low_open=True, search=(0.4, 0.6),
                  doc="temperature"),
            Param("z_mode", z_mode, z_mode, kind="choice", choices=("one", "uniform"), search=(z_mode,),
                  doc="per-area scalar: 1, or Unif[0.5, 1.5]"),
            Param("pooling", pooling, pooling, kind="choice", choices=S.cl.POOLINGS, search=(pooling,),
                  doc="pooling of the outputs")]


CL_SIGNAL = Constraint("cl_signal", lambda p: p["K"] == 2 or p["z_mode"] == "uniform",
                       "K = 2 or z random: with z = 1 and one cluster every image is the same and InfoNCE has "
                       "no signal", ("K", "z_mode"))
CL_HORIZON = Constraint("cl_horizon", lambda p: p["eta_cl"] * p["steps_cl"] >= 2e4,
                        "eta_cl * steps_cl >= 2e4 (the pilot's collapse takes ~150 steps at eta 50-200)",
                        ("eta_cl", "steps_cl"))


def _cl_run_fresh(p, rng):
    g = S.Geometry(p["P"], p["C_global"], p["C_local"], p["K"])
    b = S.cl_batch(g, p["images"], p["gamma"], rng, z_mode=p["z_mode"])
    return S.run_cl(b, p["eta_cl"], p["steps_cl"], p["tau"], p["pooling"])


def _cl_run(p, rng):
    return _shared_run("vit.cl.run", p, rng, lambda r: _cl_run_fresh(p, r))


def _collapse_measure(p, rng):
    tr = _cl_run(p, rng)
    mg = tr.min_global_local()
    return {"value": float(mg[-1]), "initial": float(mg[0]), "peak": float(np.max(mg)),
            "own_local_final": float(tr.mean_own_local()[-1]), "own_local_initial": float(tr.mean_own_local()[0])}


def _initial_global(p):
    return D.evaluate(D.collapse_global_attention_initial(), P=p["P"], C1=p["C_global"], gamma=p["gamma"])


_CL_HEADLINE_PARAMS = _geometry((36, 64), (18, 32), (3, 4), (2, 2)) + _cl_params()
CL_HEADLINE_REGIME = Regime(_CL_HEADLINE_PARAMS, (TILING, LOCAL_SIZE, GLOBAL_LARGER, GLOBAL_MAJORITY, CL_SIGNAL,
                                                  CL_HORIZON),
                            strategy_fn=_tiling_strategy(_CL_HEADLINE_PARAMS,
                                                         geometry_ok=lambda P, C1, C: 2 * C1 >= P))

register(Claim(
    id="vit.cl.global_collapse",
    source=f"{SOURCE}, CL theorem: CL concentrates on global FP correlations and collapses to one global "
           "pattern (T-CL-1) [V qualitative]",
    statement="After the CL horizon (z = 1, mean pooling) every local query puts at least 0.9 of its "
              "attention on the global area (its own-area attention, recorded alongside, falls).",
    kind="qualitative", comparison="within", regime=CL_HEADLINE_REGIME,
    predict=lambda p: (0.9, 1.0), measure=_collapse_measure, tolerance=0.0,
    tolerance_reason="0 around the band [0.9, 1]: the spec's threshold for 'collapse' (T-CL-1: >= 0.9), a "
                     "stated precision.",
    negative_control=lambda p: (_initial_global(p), 0.8),
    negative_label="partial collapse: global attention risen from its Q = 0 share (1-gamma) C_global/P but "
                   "below 0.8",
    alternative=lambda p: (0.0, 0.5),
    alternative_label="MAE-like: local queries keep most attention off the global area (<= 0.5)",
    seeds={"quick": 3, "full": 3}, assumption=CL_ASSUMPTION + " z = 1, mean pooling, horizon steps_cl.",
    measured_label="min over local queries of global-area attention at the horizon",
    plot=plot_attention_maps,
))

_PERSIST_PARAMS = (_geometry((16, 16), (6, 6), (2, 2), (2, 2))
                   + _cl_params(steps=(1500, 1500), images=(32, 32), eta=(400.0, 400.0), z_mode="uniform"))
PERSIST_REGIME = Regime(_PERSIST_PARAMS, (TILING, LOCAL_SIZE, GLOBAL_LARGER),
                        strategy_fn=_tiling_strategy(_PERSIST_PARAMS, P_values=(16,)))

PERSIST_FINDING = ("global-area attention of local queries peaks at 0.90-0.95, then settles at {} by eta t = 6e5 "
                   "as the loss keeps dropping: the local scalars z_j tell images apart, so the collapse is "
                   "transient and draw-dependent (with z = 1 it stays at 0.99). CL still favours the global "
                   "area: it stays above its Q = 0 share (1-gamma) C_global/P.")

register(Claim(
    id="vit.cl.collapse_persistent",
    source=f"{SOURCE}; T-CL-1 read as a statement about the end of training, z random per area (ours) [R]",
    statement="With z_j ~ Unif[0.5, 1.5] per area, the global collapse of CL persists at a long horizon: every "
              "local query keeps >= 0.9 of its attention on the global area.",
    kind="qualitative", comparison="within", regime=PERSIST_REGIME,
    predict=lambda p: (0.9, 1.0), measure=_collapse_measure, tolerance=0.0,
    tolerance_reason="0 around the band [0.9, 1]: the spec's collapse threshold (T-CL-1), a stated precision.",
    negative_control=lambda p: (0.0, 0.25),
    negative_label="attention returns to uniform (<= 0.25)",
    positive_control=_initial_global, positive_comparison="above", positive_tolerance=0.0,
    positive_label="no derived long-horizon level: the theorem-strength statement 'CL favours the global area' "
                   "(global attention above its Q = 0 share (1-gamma) C_global/P)",
    seeds={"quick": 16, "full": 16}, expected="refuted",
    finding_by_tier={"quick": PERSIST_FINDING.format("0.76 [0.68, 0.84] over 16 seeds (0.44-1.0 per seed)"),
                     "full": PERSIST_FINDING.format("0.76 [0.68, 0.84] over 16 seeds (0.44-1.0 per seed)")},
    assumption=CL_ASSUMPTION + " z ~ Unif[0.5, 1.5] per area and image, mean pooling.",
    measured_label="min over local queries of global-area attention at the horizon",
))


def _spread_measure(p, rng):
    tr = _cl_run(p, rng)
    gl = tr.glob[-1][tr.is_local]
    am = np.argmax(tr.area, axis=2)
    return {"value": float(gl.max() - gl.min()), "min_global": float(gl.min()),
            "argmax_global_fraction": float(np.mean(am == 0))}


_SPREAD_PARAMS = (_geometry((16, 16), (8, 8), (2, 2), (2, 2))
                  + _cl_params(steps=(400, 400), images=(32, 32), z_mode="uniform", pooling="visible"))
SPREAD_REGIME = Regime(_SPREAD_PARAMS, (TILING, LOCAL_SIZE, GLOBAL_LARGER),
                       strategy_fn=_tiling_strategy(_SPREAD_PARAMS, P_values=(16,)))

register(Claim(
    id="vit.cl.position_independence",
    source=f"{SOURCE}, CL: the attended area does not depend on the query position (T-CL-2) [R/V review]",
    statement="Under CL every local query attends to the global area with the same weight (spread across "
              "positions <= 0.1), here with visible-token pooling and z random per area, where the row "
              "symmetry of mean pooling no longer forces it.",
    kind="upper_bound", regime=SPREAD_REGIME,
    predict=lambda p: 0.1, measure=_spread_measure, tolerance=0.0,
    tolerance_reason="0 beyond the spec's threshold 0.1 for 'the same area for all p'.",
    negative_control=lambda p: 0.01, negative_label="spread <= 0.01",
    positive_control=lambda p: 1 - _initial_global(p), positive_comparison="below", positive_tolerance=0.0,
    positive_label="no derived spread: the theorem-strength statement that every local query attends to the "
                   "global area at least at its Q = 0 share A_1(0), so spread <= 1 - A_1(0)",
    seeds={"quick": 10, "full": 10}, expected="refuted",
    finding="with visible-token pooling and z ~ Unif[0.5, 1.5] the global-area attention of local queries "
            "spreads by 0.41 [0.27, 0.54] across positions (0.13-0.86 per seed); the argmax area is still global "
            "for 75-100 % of queries. With mean pooling the spread is exactly 0 by row symmetry (a test, not a "
            "claim).",
    assumption=CL_ASSUMPTION + " Visible-token pooling (mean over unmasked patches), z ~ Unif[0.5, 1.5].",
    measured_label="max - min over local queries of global-area attention",
))


# ------------------------------------------------------------------- T-MAE-4 as a limit in P
# full ladder extended from P <= 128 to 256 after the P <= 128 verdicts (the local slope was flat from 96 to 128 and
# the issue asks for P >= 256); the window rule (the largest three) was kept, so the window moved to P = 128-256
TSTAR_LIMIT_PS = {"quick": (16, 24, 32), "full": (32, 48, 64, 96, 128, 192, 256)}


def _limit_geometry_ok(p):
    c1 = int(round(p["P"] * p["global_fraction"]))
    return all(2 <= c < c1 < p["P"] and (p["P"] - c1) % c == 0 for c in p["C_locals"])


TSTAR_LIMIT_REGIME = Regime(
    [Param("P", 32, 128, kind="int", low=8, high=512, search=(16, 48), doc="number of patches: the ladder's size"),
     Param("global_fraction", 0.5, 0.5, kind="float", low=0.0, high=1.0, low_open=True, high_open=True,
           search=(0.5, 0.5), doc="C_global = round(global_fraction P), so the geometry scales with P"),
     Param("C_locals", [2, 4], [2, 4], kind="ints", low=2, high=64, length=(2, 2), search=(2, 4),
           doc="the two local-area sizes whose T* give the local slope"),
     Param("K", 1, 1, kind="choice", choices=(1, 2), doc="number of clusters (pi_k = 1/K)")]
    + [q if q.name != "masks" else Param("masks", 256, 256, kind="int", low=8, high=4096, search=(256, 384), doc=q.doc)
       for q in _training(masks=(256, 256))],
    (Constraint("geometry_scales", _limit_geometry_ok,
                "both C_locals lie in [2, C_global) and tile P - C_global, C_global = round(global_fraction P)",
                ("P", "global_fraction", "C_locals")),
     Constraint("distinct_locals", lambda p: p["C_locals"][0] < p["C_locals"][1],
                "C_locals = [smaller, larger] (the slope's lever arm)", ("C_locals",)),
     SMALL_STEP, ENOUGH_MASKS, ORDER_MASKING),
    strategy_fn=lambda tier: _tstar_limit_strategy(tier))


def _tstar_limit_strategy(tier):
    """Settings whose geometry scales: P a multiple of 8 in [16, 48], C_global = P/2, C_locals = [2, 4]; the
    training parameters from their search ranges."""
    from hypothesis import strategies as st

    rest = st.fixed_dictionaries({q.name: q.strategy() for q in TSTAR_LIMIT_REGIME.params
                                  if q.name not in ("P", "global_fraction", "C_locals", "K")})
    return st.tuples(st.sampled_from((16, 24, 32, 40, 48)), rest).map(
        lambda t: {**t[1], "P": t[0], "global_fraction": 0.5, "C_locals": [2, 4], "K": 1})


def _local_slope_measure(p, rng):
    """d ln T* / d ln(P/C_local) between the two local sizes, C_global = round(global_fraction P)."""
    q = dict(p, C_global=int(round(p["P"] * p["global_fraction"])))
    ts = []
    for c in p["C_locals"]:
        tr = _run(q, rng, C_local=c)
        if tr.t_star() is None:
            raise ValueError(f"P={p['P']}, C_local={c}: no convergence within the budget")
        ts.append(_fractional_tstar(tr))
    small, large = p["C_locals"]
    return {"value": math.log(ts[0] / ts[1]) / math.log(large / small), "t_star": ts,
            "P_over_C": [p["P"] / c for c in p["C_locals"]]}


# Judged at the full tier only: its quick ladder (P <= 32, about 15 s of CPU) cannot be decisive under every root
# (see the quick finding). Larger quick ladders were not decisive either (6 seeds; roots 20260101, 7, 31337,
# 2718281; c/P extrapolation; a slope-0.4 control, the exponent measured at P <= 64, refuted wherever the claim
# was verified):
#   P = 48, 64, 96:  0.97 [0.84, 1.15] verified; 0.78 [0.62, 0.95], 0.74 [0.63, 0.83], 0.80 [0.62, 0.94] inconclusive
#   P = 64, 96, 128: 1.02 [0.81, 1.21], 0.96 [0.81, 1.13] verified; 0.83 [0.64, 1.05], 0.92 [0.68, 1.16] inconclusive
# The extrapolated slope rises with the window (the c/P model misses part of the approach). The full ladder
# (P = 32..128, window P = 64, 96, 128) at 16 seeds, under the former percentile interval: roots 20260101, 7,
# 31337, 2718281 gave 0.90 [0.79, 1.01],
# 0.85 [0.73, 0.96], 0.93 [0.82, 1.03], 0.86 [0.74, 0.98], all verified with the slope-2 control refuted (106-109 s
# each on 2 workers); the lower ends sit 0.03-0.12 above the band's edge 0.7.  Extended to P = 192, 256 (window
# P = 128, 192, 256), default root, 16 seeds: 0.995 [0.894, 1.096] (the Student-t interval; [0.906, 1.092] under
# the percentile interval), 27 min on 2 workers while the test suite
# shared the cores (replicates of 62 and 97 s at P = 192 and 256); root 7 on the extended ladder: local slope 0.34,
# 0.49, 0.57, 0.67, 0.70, 0.78, 0.90, limit 1.066 [0.957, 1.176] ([0.971, 1.164] percentile), verified, the control refuted (56 min on 2 workers
# beside the test suite); roots 31337 and 2718281 were run on the P <= 128 ladder only.
TSTAR_SLOPE_LIMIT = register(Claim(
    id="vit.mae.tstar_slope_limit",
    source=f"{SOURCE}; docs/papers/vit.md §4 T-MAE-4 sharpening T* proportional to P/C_local (ours) as a limit in P "
           "[D/R]",
    statement="As P grows (C_global = P/2, C_local in {2, 4}), the local log-log slope of T* against P/C_local tends "
              "to 1 (+- 0.3): the sharpened T-MAE-4 judged where the theorem's regime would start.",
    kind="limit", regime=TSTAR_LIMIT_REGIME,
    predict=lambda p: D.TSTAR_EXPONENT, measure=_local_slope_measure, tolerance=0.3,
    tolerance_reason="0.3: the spec's stated precision for this sharpening (T-MAE-4: slope 1 +- 0.3).",
    negative_control=lambda p: 2.0, negative_label="slope 2",
    seeds={"quick": 5, "full": 16}, expected_by_tier={"quick": "inconclusive", "full": "verified"},
    tiers=("full",),
    tiers_reason="its quick ladder (P <= 32) lies before the regime the sharpening speaks of: the local slope is "
                 "0.16-0.36 there and its extrapolation is not decisive under every root",
    finding_by_tier={
        "quick": "not decisive at P <= 32: the local slope rises with P (0.16, 0.33, 0.36 at P = 16, 24, 32) and its "
                 "c/P extrapolation lands at 0.48-0.63 under four roots (10 seeds), with interval tops 0.57-0.72 "
                 "against the band's edge 0.7: refuted under two roots, inconclusive under two",
        "full": ""},
    ladder=Ladder("P", TSTAR_LIMIT_PS, model="power", alpha=1.0,
                  alpha_reason="the order form's local slope is a X/(a X + b/eps), X = (P/C_local) log P, so 1 - slope "
                               "falls as 1/(P log P): alpha = 1 with the logarithm neglected",
                  window=Window(largest=3), scale_label="P (patches), C_global = P/2"),
    assumption=MAE_ASSUMPTION + " T* from the crossing of 1 - eps interpolated between steps; one replicate runs "
               "both local sizes on fresh masks. Full tier at the default root (16 seeds): local slope 0.38, 0.45, 0.54, "
               "0.69, 0.70, 0.81, 0.84 at P = 32, 48, 64, 96, 128, 192, 256; its c/P extrapolation over P = 128, 192, "
               "256 is 0.995 [0.894, 1.096], verified, the slope-2 control refuted. The ladder ended at P = 128 until "
               "the verdicts there (P = 64, 96, 128, under the former percentile interval: 0.90 [0.79, 1.01] at the default root, 0.85 [0.73, 0.96], 0.93 "
               "[0.82, 1.03] and 0.86 [0.74, 0.98] at roots 7, 31337 and 2718281; at 5 seeds 1.10 [0.92, 1.25]; all percentile intervals), where "
               "the local slope was flat from P = 96 to 128 and the verdict rested on the extrapolation; it was "
               "extended to P = 256 after them, with the window rule kept (the largest three sizes), and the local "
               "slope rose again (0.81, 0.84). Under the extended ladder root 7 gives 1.066 [0.957, 1.176], verified "
               "(local slope 0.78, 0.90 at P = 192, 256). "
               "Registered at 16 seeds after the 5-seed verdicts: a choice of seeds made after seeing verdicts.",
    measured_label="local slope d ln T* / d ln(P/C_local), extrapolated to P -> infinity"))


# ------------------------------------------------------------------- T-MAE-3 as a limit in P
# Pre-registered before its ladder ran (3279ee9): the sizes are the T* ladder's (multiples of 16, so the half size
# tiles too), 16 seeds, the band and the control fixed there; expected verified at the full tier.  Recorded
# inconclusive after its default-root run (see the claim's finding).
RATIO_LIMIT_PS = {"quick": (32, 48, 64), "full": TSTAR_LIMIT_PS["full"]}


def _c_global(P, fraction):
    """``C_global = round(fraction P)``: the global area scales with the image."""
    return int(round(P * fraction))


def _ratio_tiles(P, fraction, C_local):
    c1 = _c_global(P, fraction)
    return 2 <= C_local < c1 < P and (P - c1) % C_local == 0


def _order_limit_regime(sizes, sizes_doc):
    """The learning-order ladders' regime: ``C_global = round(global_fraction P)`` and a fixed ``C_local``
    tiling the rest at every size in ``sizes(P)``."""
    return Regime(
        [Param("P", 32, 128, kind="int", low=8, high=512, search=(32, 64), doc="number of patches: the ladder's size"),
         Param("global_fraction", 0.5, 0.5, kind="float", low=0.0, high=1.0, low_open=True, high_open=True,
               search=(0.5, 0.5), doc=f"C_global = round(global_fraction P) at {sizes_doc}"),
         Param("C_local", 4, 4, kind="int", low=2, high=64, search=(4, 4), doc="size of each local area, fixed"),
         Param("K", 1, 1, kind="choice", choices=(1, 2), doc="number of clusters (pi_k = 1/K)")]
        + [q if q.name != "masks" else Param("masks", 256, 256, kind="int", low=8, high=4096, search=(256, 384),
                                             doc=q.doc)
           for q in _training(masks=(256, 256))],
        (Constraint("geometry_scales",
                    lambda p: all(P == int(P) and _ratio_tiles(int(P), p["global_fraction"], p["C_local"])
                                  for P in sizes(p["P"])),
                    f"at {sizes_doc} the local areas tile P - C_global with 2 <= C_local < C_global, "
                    "C_global = round(global_fraction P)", ("P", "global_fraction", "C_local")),
         SMALL_STEP, ENOUGH_MASKS, ORDER_MASKING),
        strategy_fn=lambda tier: _ratio_limit_strategy(tier))


RATIO_LIMIT_REGIME = _order_limit_regime(lambda P: (P / 2, P), "P and at P/2")


def _ratio_limit_strategy(tier):
    """Settings whose geometry scales from P/2 to P: P in {32, 48, 64}, C_global = P/2, C_local = 4; the
    training parameters from their search ranges."""
    from hypothesis import strategies as st

    rest = st.fixed_dictionaries({q.name: q.strategy() for q in RATIO_LIMIT_REGIME.params
                                  if q.name not in ("P", "global_fraction", "C_local", "K")})
    return st.tuples(st.sampled_from((32, 48, 64)), rest).map(
        lambda t: {**t[1], "P": t[0], "global_fraction": 0.5, "C_local": 4, "K": 1})


def _order_times(p, P, rng):
    """``(T*_local, T*_global)`` of one run at ``P`` patches (crossings of ``1 - eps`` interpolated)."""
    q = dict(p, P=P, C_global=_c_global(P, p["global_fraction"]))
    tr = _run(q, rng)
    level = 1 - tr.eps
    times = [_first_passage(tr.min_own(local), level) for local in (True, False)]
    if any(t is None for t in times):
        raise ValueError(f"P={P}, C_local={p['C_local']}: no convergence within the budget")
    return times


def _ratio_slope_measure(p, rng):
    r"""Local log-log slope of :math:`r = T^*_{loc}/T^*_{glob}` against :math:`C_{glob}/C_{loc}` from
    :math:`P/2` to :math:`P` (``C_global = round(global_fraction P)``, ``C_local`` fixed, one run at each size):

    .. math::  \sigma(P) = \frac{\ln r(P) - \ln r(P/2)}{\ln\frac{C_{glob}(P)}{C_{glob}(P/2)}}.

    The extras carry both ratios, the ratio over ``C_global/C_local`` at ``P`` (the prefactor the fixed-size
    claim judges) and the tail-diluted heuristic's slope over the same pair
    (:func:`derivations.vit.order_ratio_diluted`), for comparison only.
    """
    sizes = (p["P"] // 2, p["P"])
    c1 = [_c_global(P, p["global_fraction"]) for P in sizes]
    times = [_order_times(p, P, rng) for P in sizes]
    ratios = [tl / tg for tl, tg in times]
    lever = math.log(c1[1] / c1[0])
    diluted = [D.order_ratio_diluted(P, c, p["C_local"], p["gamma"], p["eps"]) for P, c in zip(sizes, c1)]
    return {"value": math.log(ratios[1] / ratios[0]) / lever, "ratio": ratios[1], "ratio_half": ratios[0],
            "ratio_over_heuristic": ratios[1] * p["C_local"] / c1[1],
            "t_star_local": times[1][0], "t_star_global": times[1][1],
            "diluted_slope": math.log(diluted[1] / diluted[0]) / lever}


# expected verified when pre-registered; recorded inconclusive after the default root's verdict
RATIO_LIMIT_FINDING = (
    "the heuristic's exponent is not reached by P = 256: the local slope rises with P (0.09, 0.18, 0.22, 0.28, "
    "0.38, 0.44, 0.50 at P = 32 ... 256, 16 seeds) and its c/P extrapolation over P = 128-256 is 0.61 [0.46, 0.76] "
    "(inconclusive; the half-exponent control verified). T*_global stays at 162-183 steps while T*_local grows "
    "from 186 to 443, so the ratio (1.15 ... 2.43 against C_global/C_local = 4 ... 32) is the head start diluted by "
    "a shared tail of T*_global's size. The affine law r = aP + b through the means at P = 128 and 256 (b/a = 165) "
    "has exponent 1 as P -> infinity, yet its own local slopes extrapolate to 0.68 under this window: the c/P "
    "model cannot tell exponent 1 from 0.6 at P <= 256; a local slope of 0.9 would need P ~ 2100. "
    "'vit.mae.head_start_limit' judges the head start itself. Root 7: 0.66 [0.55, 0.76], inconclusive again, the "
    "control verified. The upper ends sit 0.06 above the band's edge 0.7 at both roots (0.03 and 0.05 under the "
    "former percentile interval)")


ORDER_RATIO_LIMIT = register(Claim(
    id="vit.mae.learning_order_ratio_limit",
    source=f"{SOURCE}; docs/papers/vit.md §4 T-MAE-3 heuristic T*_local/T*_global ~ P^(kappa_s-kappa_c) = "
           "C_global/C_local (ours, a sharpening of the theorem) as a limit in P [D/R]",
    statement="As P grows (C_global = P/2, C_local = 4 fixed, so kappa_s - kappa_c = 1), the local log-log slope "
              "of T*_local/T*_global against C_global/C_local tends to 1 (+- 0.3): the heuristic's exponent, judged "
              "where the theorem's regime would start.",
    kind="limit", regime=RATIO_LIMIT_REGIME,
    predict=lambda p: 1.0, measure=_ratio_slope_measure, tolerance=0.3,
    tolerance_reason="0.3: the precision the spec states for the companion exponent (T-MAE-4: slope 1 +- 0.3); "
                     "the heuristic's own 'within a factor 2-3' bounds the prefactor, which "
                     "'vit.mae.learning_order_ratio' judges at fixed size.",
    negative_control=lambda p: 0.5,
    negative_label="half exponent: T*_local/T*_global ~ (C_global/C_local)^(1/2), the sharpening the fixed-size "
                   "order claim first took as its control",
    seeds={"quick": 5, "full": 16}, expected_by_tier={"quick": "inconclusive", "full": "inconclusive"},
    tiers=("full",),
    tiers_reason="its quick ladder (P <= 64) lies before the regime the heuristic speaks of: the shared "
                 "O(1/(eta eps)) tail dilutes the head start there (ratio 1.18 at P = 32, 1.38 at P = 64)",
    finding_by_tier={"quick": "not judged at the quick tier: at P <= 64 the shared tail dominates T* (see the "
                              "fixed-size 'vit.mae.learning_order_ratio')",
                     "full": RATIO_LIMIT_FINDING},
    ladder=Ladder("P", RATIO_LIMIT_PS, model="power", alpha=1.0,
                  alpha_reason="with the tail put back, r = (C_global/C_local) h/(h + tau) + tau/(h + tau) is "
                               "affine in P at C_global = P/2 (derivations.vit.order_ratio_diluted), so 1 minus "
                               "its local slope falls as 1/P",
                  window=Window(largest=3), scale_label="P (patches), C_global = P/2, C_local = 4"),
    assumption=MAE_ASSUMPTION + " One replicate runs P/2 and P on fresh masks; T* from the crossing of 1 - eps "
               "interpolated between steps, for the slowest local and the slowest global query.",
    measured_label="local slope d ln(T*_local/T*_global) / d ln(C_global/C_local), extrapolated to P -> infinity"))


# Added after the default-root run of 'vit.mae.learning_order_ratio_limit', whose extras showed T*_global flat in P
# (162-183 steps at P = 32-256): r - 1 = (T*_local - T*_global)/T*_global removes the shared tail. Its prediction
# is derived (derivations.vit.order_ratio_diluted: r - 1 = (C_global/C_local - 1) h/(h + tau)), its replicates run
# on this claim's own seed streams (data the ratio ladder did not see), 16 seeds, expected verified at the full tier.
HEAD_START_LIMIT_REGIME = _order_limit_regime(lambda P: (P,), "P")


def _head_start_measure(p, rng):
    """``r - 1 = (T*_local - T*_global)/T*_global`` of one run at ``P`` (``C_global = round(global_fraction P)``),
    with both times and ``C_global/C_local - 1``."""
    t_local, t_global = _order_times(p, p["P"], rng)
    return {"value": t_local / t_global - 1, "t_star_local": t_local, "t_star_global": t_global,
            "heuristic": _head_start_scale(p)}


def _head_start_scale(p):
    """``C_global/C_local - 1`` at ``P``: the size the head start is proportional to."""
    return _c_global(p["P"], p["global_fraction"]) / p["C_local"] - 1


HEAD_START_LIMIT = register(Claim(
    id="vit.mae.head_start_limit",
    source=f"{SOURCE}; docs/papers/vit.md §4 T-MAE-3 heuristic with the mean-field tail put back "
           "(derivations.vit.order_ratio_diluted; ours) as a limit in P [D/R]",
    statement="As P grows (C_global = P/2, C_local = 4 fixed), the head start (T*_local - T*_global)/T*_global "
              "grows in proportion to C_global/C_local - 1: its log-log slope over the largest three sizes is 1 "
              "(+- 0.3).",
    kind="limit", regime=HEAD_START_LIMIT_REGIME,
    predict=lambda p: 1.0, measure=_head_start_measure, tolerance=0.3,
    tolerance_reason="0.3: the precision the spec states for the companion exponent (T-MAE-4: slope 1 +- 0.3).",
    negative_control=lambda p: 0.5,
    negative_label="half exponent, as for 'vit.mae.learning_order_ratio_limit'",
    seeds={"quick": 5, "full": 16}, expected_by_tier={"quick": "inconclusive", "full": "verified"},
    tiers=("full",),
    tiers_reason="its quick ladder (P <= 64) is the ratio ladder's pre-asymptotic range, where the global "
                 "query's mean-field head (from A_0 = (1 - gamma)(C_global - 1)/P) still moves with P",
    finding_by_tier={"quick": "not judged at the quick tier (see the tier reason)",
                     "full": "verified at the default root, 0.95 [0.81, 1.09], and at root 7, 0.92 [0.82, 1.02] "
                             "(16 seeds, 5 min each on 2 workers), the half-exponent control refuted at both; "
                             "r - 1 = 0.046 (C_global/C_local - 1) at P = 256, half the derived law's 0.099"},
    ladder=Ladder("P", RATIO_LIMIT_PS, model="loglog_slope", window=Window(largest=3), scale=_head_start_scale,
                  scale_label="C_global/C_local - 1 (C_global = P/2, C_local = 4)",
                  value_label="(T*_local - T*_global) / T*_global"),
    assumption=MAE_ASSUMPTION + " T* from the crossing of 1 - eps interpolated between steps, for the slowest local "
               "and the slowest global query. The derived law makes r - 1 proportional to C_global/C_local - 1 "
               "up to the drift of the global head h with A_0, which vanishes as 1/P.",
    measured_label="log-log slope of (T*_local - T*_global)/T*_global against C_global/C_local - 1"))


# ------------------------------------------------------------------------------ benchmark
def _cost_growth(quick: bool) -> list:
    """Seconds of one MAE step (``seconds``) and of one replicate of the T* ladder (``replicate_seconds``)
    against ``P`` (:data:`TSTAR_LIMIT_PS`).

    At every ladder size (``C_global = P/2``, ``C_local`` in {2, 4}, K = 1, 256 masks, the limit regime's
    defaults) one MAE step (loss and exact gradient, best of ``reps`` after a warm-up) is timed, and one
    replicate of :func:`_local_slope_measure` (both local sizes trained to own-area attention ``1 - eps``) is
    timed once.  Exponents are least-squares log-log slopes against ``P`` with their regression intervals
    (:func:`theorycheck.loglog_slope`): the step's over every timing, the replicate's over the sizes.
    """
    import time

    from simulations.vit.reference import _best_of

    tier = "quick" if quick else "full"
    base = TSTAR_LIMIT_REGIME.resolve(tier)
    reps = 3 if quick else 5
    sizes, step_times, replicate_times, rows = [], [], [], []
    for P in TSTAR_LIMIT_PS[tier]:
        p = dict(base, P=P)
        q = dict(p, C_global=P // 2, C_local=4)
        b = _mae_batch(q, np.random.default_rng(0))
        rng = np.random.default_rng(1)
        phi = 0.5 * rng.standard_normal((P, b.geometry.n_features))
        ups = 0.1 * rng.standard_normal((P, P))
        S.mae_evaluate(phi, ups, b)
        ts = [_best_of(lambda: S.mae_evaluate(phi, ups, b), 1) for _ in range(reps)]
        t0 = time.perf_counter()
        out = _local_slope_measure(p, np.random.default_rng(2))
        t_rep = time.perf_counter() - t0
        sizes.append(P)
        step_times.append(ts)
        replicate_times.append(t_rep)
        rows.append({"case": f"mae ladder P={P}", "seconds": min(ts), "replicate_seconds": t_rep,
                     "t_star": out["t_star"], "shape": f"P={P} C_global={P // 2} C_local=2,4 K=1 masks={p['masks']}"})
    step_fit = loglog_slope(np.repeat(sizes, reps), np.concatenate(step_times))
    rep_fit = loglog_slope(sizes, replicate_times)
    rows.append({"case": "mae ladder cost growth", "sizes_P": sizes,
                 "step_seconds_by_P": [min(t) for t in step_times], "replicate_seconds_by_P": replicate_times,
                 "step_exponent": step_fit.slope, "step_exponent_ci_low": step_fit.low,
                 "step_exponent_ci_high": step_fit.high, "replicate_exponent": rep_fit.slope,
                 "replicate_exponent_ci_low": rep_fit.low, "replicate_exponent_ci_high": rep_fit.high})
    return rows


def _bench(quick: bool):
    from simulations.vit import reference

    return reference.bench_rows(quick) + _cost_growth(quick)


register_bench("vit", _bench)
