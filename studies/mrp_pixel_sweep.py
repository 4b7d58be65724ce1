"""Regime study of the pixel-target MRP (spec 2.5): where C6-C10 hold and what breaks them.

Every point runs the claims' own pipeline (``claims.mrp.run_mrp`` with ``target=pixels``) at the quick-tier
defaults with the listed overrides, over replicates 0..n-1 of a fixed root (not a root of any claim), so
each row is reproducible and the same numbers come out of ``theorycheck verify mrp --set target=pixels ...``.

    python studies/mrp_pixel_sweep.py [--seeds 3] [--only mask,theta,...]

Writes ``studies/mrp_pixel_sweep_results.json`` (one record per point).
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
OUT = ROOT / "studies" / "mrp_pixel_sweep_results.json"
SEED_ROOT = 20261201

KEYS = ("coverage", "coverage0", "lam0_max", "purity_below_03", "purity_median", "n_captured_kernels", "ft_sv",
        "ft_mv", "lp_sv", "ctl_sv", "gain_vs_control", "retained", "ft_memorised_single", "w_max")
PIX = {"target": "pixels"}

SWEEPS = {
    # the ablation that isolates masking: every patch reconstructed from all of them (a plain auto-encoder)
    "mask": [{}, {"masked": False}],
    "theta": [{"theta": t} for t in (0.1, 0.5, 0.75)],
    "sigma0": [{"sigma0_mrp": s} for s in (0.01, 0.02, 0.04)] + [{"sigma0_mrp": 0.01, "T_pix": 600}],
    "k": [{"k": k, "N": 50 * k, "P": 36} for k in (4, 6, 10)],
    "noise": [{"sigma_n": 0.02}, {"sigma_n": 0.08}, {"sigma_p": 0.04}],
    "N": [{"N": n} for n in (100, 1000)],
    "T": [{"T_pix": 600}],
}


def _params(over: dict) -> dict:
    """Quick-tier defaults with ``over`` applied, each value validated but the regime's assumptions not
    checked: the sweep goes past them on purpose, to show what breaks."""
    regime = C.mrp_regime()
    params = regime.defaults("quick")
    params.update({name: regime.param(name).validate(value) for name, value in {**PIX, **over}.items()})
    return params


def run_point(over: dict, n: int) -> dict:
    p = _params(over)
    t0 = time.perf_counter()
    vals = {k: [] for k in KEYS}
    for rng in replicate_rngs("study.pixel", SEED_ROOT, n):
        o = C.run_mrp(p, rng)
        for k in KEYS:
            v = o.get(k, float("nan"))
            vals[k].append(float(v) if v is not None else float("nan"))
    stats = {}
    for k, v in vals.items():
        a = np.asarray(v, float)
        ok = a[np.isfinite(a)]
        stats[k] = {"mean": float(ok.mean()) if ok.size else None,
                    "se": float(ok.std(ddof=1) / np.sqrt(ok.size)) if ok.size > 1 else None,
                    "values": [None if not np.isfinite(x) else x for x in a]}
    return {"over": over, "seeds": n, "seconds": time.perf_counter() - t0, "stats": stats}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--only", default=",".join(SWEEPS))
    args = ap.parse_args(argv)
    for name in args.only.split(","):
        if not name:
            continue
        rows = []
        for over in SWEEPS[name]:
            row = run_point(over, args.seeds)
            rows.append(row)
            brief = {k: round(v["mean"], 3) for k, v in row["stats"].items() if v["mean"] is not None}
            print(name, over, f"{row['seconds']:.0f}s", brief, flush=True)
        results = json.loads(OUT.read_text()) if OUT.exists() else {}
        results[name] = rows
        tmp = OUT.with_suffix(".tmp")
        tmp.write_text(json.dumps(results, indent=1))
        tmp.replace(OUT)


if __name__ == "__main__":
    main()
