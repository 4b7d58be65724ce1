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
    """Single- and multi-view test accuracy across k of AZL SL, MRP-FT, the linear probe on the pretrained
    encoder and the same-architecture control trained from random init."""
    rows = results.get("k", []) + results.get("k_mrp", [])
    if not rows:
        return None
    fig, axes = figure(2, 1, width=5.6, height=4.2)
    series = [("sl", "AZL SL", "C0", "o-"), ("mrp", "MRP-FT", "C3", "s-"), ("mrp", "linear probe", "C1", "^-"),
              ("mrp", "same-arch SL control", "C2", "d-")]
    keys = {"AZL SL": ("sv", "mv"), "MRP-FT": ("ft_sv", "ft_mv"), "linear probe": ("lp_sv", None),
            "same-arch SL control": ("ctl_sv", "ctl_mv")}
    for j, (ax, view) in enumerate(zip(axes, ("single-view", "multi-view"))):
        for fam, label, color, style in series:
            key = keys[label][j]
            pts = [(r["over"]["k"], r["stats"][key]) for r in rows if r["family"] == fam and key in r["stats"]]
            if not pts:
                continue
            ks = np.array([a for a, _ in pts])
            mean = np.array([b["mean"] for _, b in pts])
            se = np.array([b["se"] or 0.0 for _, b in pts])
            ax.errorbar(ks, mean, yerr=1.96 * se, fmt=style, color=color, label=label, capsize=3)
        ax.set(xlabel="k (classes), N = 50k, P = 36", ylabel=f"{view} test accuracy")
    ax = axes[0]
    pts = [(r["over"]["k"], r["stats"]["f2"]["mean"]) for r in rows if r["family"] == "sl"]
    ax.plot([a for a, _ in pts], [0.5 * (1 + b) for _, b in pts], "x:", color="C0",
            label=r"SL accounting $(1+f_2)/2$ (measured $f_2$)")
    ax.axhspan(0.35, 0.65, color="C0", alpha=0.08, label="C3 band [0.35, 0.65]")
    ax.set(ylim=(0.3, 1.05), title=f"{rows[0]['seeds']} seeds per point, mean ± 1.96 s.e.")
    ax.legend(fontsize=7, loc="lower right")
    axes[1].set(ylim=(0.9, 1.005), title="multi-view; C4 / C9 threshold 0.97 dotted")
    axes[1].axhline(0.97, color="k", lw=0.7, ls=":")
    axes[1].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
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
