"""Figures of docs/mrp_study.md (drawn by ``python studies/mrp_sweep.py --figures``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from claims import mrp as C
from theorycheck.plots import figure
from theorycheck.runner import replicate_rngs

FIG = Path(__file__).resolve().parents[1] / "docs" / "figures"
SEED_ROOT = 20260101


def _save(fig, name):
    import matplotlib.pyplot as plt

    FIG.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIG / name, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return FIG / name


def lambda_trajectories(index: int = 1):
    """SL Lambda_{i,l}(t) with the predicted hitting times of varrho, and MRP pretraining's Lambda(t)."""
    rng = replicate_rngs("study.sl", SEED_ROOT, index + 1)[index]
    return _save(C.plot_trajectories(C.gain_regime().resolve("quick"), [rng]), "mrp_lambda_trajectories.png")


def heatmaps(index: int = 1):
    """Kernel-by-feature correlations after SL, after MRP pretraining and after fine-tuning."""
    rng = replicate_rngs("study.sl", SEED_ROOT, index + 1)[index]
    return _save(C.plot_heatmaps(C.gain_regime().resolve("quick"), [rng]), "mrp_heatmaps.png")


def accuracy_vs_k(results: dict):
    """Single- and multi-view test accuracy of SL, MRP-FT and the same-architecture control across k."""
    rows = results.get("k", [])
    if not rows:
        return None
    fig, axes = figure(1, 1, width=6.0, height=4.2)
    ax = axes[0]
    series = [("sl", "sv", "SL (AZL) single-view", "C0", "o-"), ("sl", "mv", "SL (AZL) multi-view", "C0", "s--"),
              ("mrp", "ft_sv", "MRP-FT single-view", "C3", "o-"), ("mrp", "ctl_sv", "same-arch SL control single-view",
                                                                    "C2", "o-")]
    for fam, key, label, color, style in series:
        pts = [(r["over"]["k"], r["stats"][key]) for r in rows if r["family"] == fam]
        ks = np.array([a for a, _ in pts])
        mean = np.array([b["mean"] for _, b in pts])
        se = np.array([b["se"] or 0.0 for _, b in pts])
        ax.errorbar(ks, mean, yerr=1.96 * se, fmt=style, color=color, label=label, capsize=3)
    pts = [(r["over"]["k"], r["stats"]["f2"]["mean"]) for r in rows if r["family"] == "sl"]
    ax.plot([a for a, _ in pts], [0.5 * (1 + b) for _, b in pts], "x:", color="C0",
            label=r"accounting $(1+f_2)/2$ (measured $f_2$)")
    ax.axhspan(0.35, 0.65, color="C0", alpha=0.08, label="C3 band [0.35, 0.65]")
    ax.set(xlabel="k (classes), N = 50k", ylabel="test accuracy", ylim=(0.3, 1.05),
           title=f"{rows[0]['seeds']} seeds per point, mean ± 1.96 s.e.")
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, "mrp_accuracy_vs_k.png")


def sparsity_sweep(results: dict):
    rows = results.get("s", [])
    if not rows:
        return None
    fig, axes = figure(1, 1, width=5.5, height=3.8)
    ax = axes[0]
    s = np.array([r["over"]["s"] for r in rows])
    for key, label, color in (("sv", "single-view accuracy", "C0"),
                              ("sv_one_view", "on classes with one learned view", "C1"),
                              ("f2", "f_2 (classes with both views)", "C2")):
        mean = np.array([r["stats"][key]["mean"] for r in rows])
        se = np.array([r["stats"][key]["se"] or 0 for r in rows])
        ax.errorbar(s, mean, yerr=1.96 * se, fmt="o-", color=color, label=label, capsize=3)
    ax.axhline(0.5, color="k", lw=0.7)
    ax.set(xlabel="off-class sparsity s (each off-class feature w.p. s/k)", ylabel="value",
           title="SL at k=6: the weak view decides when few off-class features compete")
    ax.legend(fontsize=8)
    return _save(fig, "mrp_sparsity.png")


def draw_all(results: dict):
    for f in (lambda: lambda_trajectories(), lambda: heatmaps(), lambda: accuracy_vs_k(results),
              lambda: sparsity_sweep(results)):
        print(f())
