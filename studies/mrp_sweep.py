"""Regime study of the MRP family: compact sweeps and the figures of docs/mrp_study.md.

Every point runs the claims' own pipelines (``claims.mrp.run_sl`` / ``run_mrp``) at the quick-tier
defaults with the listed overrides, over replicates 0..n-1 of a fixed root, so each row is reproducible
(and the same numbers come out of ``theorycheck verify mrp --set ...``).

    python studies/mrp_sweep.py [--seeds 8] [--only k,s,...] [--figures]

The k sweeps (``k`` for SL, ``k_mrp`` for MRP, k = 4..20) were run with ``--seeds 5``, the others with 8.

Writes ``studies/mrp_sweep_results.json`` (one record per point) and, with ``--figures``, the
``docs/figures/mrp_*.png`` figures.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from claims import mrp as C
from theorycheck.runner import replicate_rngs

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "studies" / "mrp_sweep_results.json"
FIG = ROOT / "docs" / "figures"
SEED_ROOT = 20260101

SL_KEYS = ("sv", "mv", "one_view", "f2", "f0", "lottery", "sv_one_view", "sv_other_strong", "exponent", "stop",
           "train_acc", "noise_single")
MRP_KEYS = ("coverage", "coverage_teacher", "purity_below_03", "purity_median", "ft_sv", "ft_mv", "lp_sv",
            "ctl_sv", "ctl_mv", "retained", "w_max", "pre_stop")

K_GRID = (4, 6, 8, 10, 12, 16, 20)

# (sweep name, family, list of overrides)
SWEEPS = {
    # P = 36 leaves room for the off-class features up to k = 20 (at P = 25 they are capped from k ~ 12)
    "k": [("sl", {"k": k, "N": 50 * k, "P": 36}) for k in K_GRID],
    "k_mrp": [("mrp", {"k": k, "N": 50 * k, "P": 36}) for k in K_GRID],
    "s": [("sl", {"s": s}) for s in (0.5, 1.0, 2.0, 3.0, 4.0)],
    "m": [("sl", {"m": m, "sigma0": 0.013}) for m in (2, 4)] + [("sl", {"m": 6})],
    "q": [("sl", {"q": 5, "sigma0": 0.01}), ("sl", {"q": 6}), ("sl", {"q": 8, "sigma0": 0.018})],
    "stop": [("sl", {"stop_at": "multi"}), ("sl", {"stop_at": "T", "T": 800})],
    "noise": [("sl", {"sigma_p": 0.04, "sigma_n": 0.04}), ("sl", {"sigma_n": 0.02}),
              ("sl", {"sigma_n": 0.08}), ("sl", {"sigma_n": 0.08, "stop_at": "fit"})],
    "mu": [("sl", {"mu": mu}) for mu in (0.0, 0.02, 0.05, 0.1)],
    "mrp_variant": [
        ("mrp", {"sigma_teacher": 0.03}), ("mrp", {"sigma_teacher": 0.09}), ("mrp", {}),
        ("mrp", {"teacher": "stopgrad", "w_cap": 20.0, "T_pre": 600}),
        ("mrp", {"teacher": "stopgrad", "w_cap": 3.0, "T_pre": 600}),
        ("mrp", {"teacher": "stopgrad", "decoder": "learned", "w_cap": 20.0, "T_pre": 600}),
        ("mrp", {"teacher": "stopgrad", "decoder": "ls", "T_pre": 600}),
        ("mrp", {"teacher": "ema", "w_cap": 20.0, "T_pre": 600}),
    ],
}


def _params(family: str, over: dict) -> dict:
    """Quick-tier defaults with ``over`` applied, each value validated but the regime's assumptions not
    checked: the sweeps go past them on purpose, to show what breaks."""
    regime = C.sl_regime() if family == "sl" else C.mrp_regime()
    params = regime.defaults("quick")
    params.update({name: regime.param(name).validate(value) for name, value in over.items()})
    return params


def run_point(family: str, over: dict, n: int) -> dict:
    p = _params(family, over)
    keys = SL_KEYS if family == "sl" else MRP_KEYS
    t0 = time.perf_counter()
    vals = {k: [] for k in keys}
    for rng in replicate_rngs(f"study.{family}", SEED_ROOT, n):
        o = C.run_sl(p, rng) if family == "sl" else C.run_mrp(p, rng)
        for k in keys:
            v = o.get(k, float("nan"))
            vals[k].append(float(v) if v is not None else float("nan"))
    stats = {}
    for k, v in vals.items():
        a = np.asarray(v, float)
        ok = a[np.isfinite(a)]
        stats[k] = {"mean": float(ok.mean()) if ok.size else None,
                    "se": float(ok.std(ddof=1) / np.sqrt(ok.size)) if ok.size > 1 else None,
                    "values": [None if not np.isfinite(x) else x for x in a]}
    return {"family": family, "over": over, "seeds": n, "seconds": time.perf_counter() - t0, "stats": stats}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--only", default=",".join(SWEEPS))
    ap.add_argument("--figures", action="store_true")
    args = ap.parse_args(argv)
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    for name in args.only.split(","):
        if not name:
            continue
        rows = []
        for family, over in SWEEPS[name]:
            row = run_point(family, over, args.seeds)
            rows.append(row)
            brief = {k: round(v["mean"], 3) for k, v in row["stats"].items() if v["mean"] is not None}
            print(name, family, over, f"{row['seconds']:.0f}s", brief, flush=True)
        # re-read first: another process may have written other sweeps meanwhile
        results = json.loads(OUT.read_text()) if OUT.exists() else {}
        results[name] = rows
        tmp = OUT.with_suffix(".tmp")
        tmp.write_text(json.dumps(results, indent=1))
        tmp.replace(OUT)
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    if args.figures:
        import sys

        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import mrp_figures

        mrp_figures.draw_all(results)


if __name__ == "__main__":
    main()
