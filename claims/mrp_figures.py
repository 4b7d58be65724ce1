"""Figures of the MRP family: the ``Claim.plot`` hooks of the ``mrp.*`` claims, drawn by ``theorycheck plot``.

* :func:`plot_trajectories` (SL claims) — SL's Lambda_{i,l}(t) with the predicted hitting times of varrho,
  beside Lambda_{i,l}(t) of MRP pretraining;
* :func:`plot_heatmaps` — [<w_r, v_f>]^+ after SL, after MRP pretraining and after fine-tuning;
* :func:`plot_pretraining` (MRP claims) — the MRP run of the claim's own target: Lambda_{i,l}(t) with
  Lambda_{i,l} = max_r [<w_r, v_{i,l}>]^+ over every kernel, and [<w_r, v_f>]^+ after pretraining and
  after fine-tuning; its title says what was run (pixel target: no teacher, eta_pix, T_pix; feature
  target: distillation from a random teacher of scale sigma_T and that teacher's own coverage at step 0);
* :func:`plot_accuracy_vs_k` (the pretraining-gain claim) — single-view test accuracy after fine-tuning
  for each target, of the same architecture trained from random init and of AZL's SL network, at several k
  (N scaled with k), mean and Student-t 95 % interval over seeds per point, and the gain over the control.

Every figure reruns nothing a claim has measured: the runs come from :func:`claims.mrp.run_sl` /
:func:`claims.mrp.run_mrp`, cached by (parameters, root, replicate), so the claim's own replicates are reused.
``python -m claims.mrp_figures DIR`` writes the quick tier's figures of both targets to ``DIR``;
``--ladders FILE`` draws instead :func:`plot_ladders_along_k`, the SL and MRP-FT k-ladders side by side,
from their recorded verify rows.
"""
from __future__ import annotations

import numpy as np

#: the classes of the accuracy-against-k figure and its replicates per point (about 3 minutes of one core
#: at the quick tier: one k = 10 point is an SL run and two pretraining + fine-tuning runs, ~20 s)
ACCURACY_KS = (6, 8, 10)
ACCURACY_SEEDS = 4
#: C8's margin over SL as the spec states it (the band of mrp.ft.gain_vs_control)
GAIN_BAND = (0.3, 0.7)


def _mrp():
    """The claims module (imported on use: it imports this module when it is loaded)."""
    from claims import mrp

    return mrp


def mrp_params(p, **over) -> dict:
    """The MRP parameters of ``p`` (an MRP, SL or gain regime's values), quick-tier defaults for the rest."""
    C = _mrp()
    return C.mrp_regime().resolve("quick", overrides={**{n: p[n] for n in C.MRP_KEYS if n in p}, **over})


def sl_params(p, **over) -> dict:
    C = _mrp()
    # the SL regime without the noise cap of the non-memorisation claims: any SL claim's noise is drawable
    return C.sl_regime(noise_memorised=True).resolve("quick", overrides={**{n: p[n] for n in C.SL_KEYS if n in p},
                                                                       **over})


def run_label(pm, om, sep: str = "; ") -> str:
    """What an MRP run was: the target, and for the feature target the teacher and its own coverage.

    ``teacher_coverage`` is the fraction of the 2k features on which the teacher's own kernels reach varrho
    at step 0 (for a student-copy teacher, the student's init); the pixel target has no teacher.
    """
    if pm["target"] == "pixels":
        mask = f"theta={pm['theta']:g}" if pm["masked"] else "no mask (every patch from all of them)"
        return (f"pixel target: auto-encoder, no teacher{sep}sigma_0={pm['sigma0_mrp']:g}, {mask}, "
                f"eta_pix={pm['eta_pix']:g}, T_pix={pm['T_pix']}")
    tc = om["teacher_coverage"]
    if pm["teacher"] == "fixed":
        teacher = f"distillation from a random teacher, sigma_T={pm['sigma_teacher']:g}"
    else:
        teacher = f"{pm['teacher']} student-copy teacher"
    return (f"feature target: {teacher} (teacher's coverage at step 0: {tc:.2f}){sep}sigma_0={pm['sigma0_mrp']:g}, "
            f"theta={pm['theta']:g}, eta_pre={pm['eta_pre']:g}, T_pre={pm['T_pre']}")


def _lambda_lines(ax, lam_traj, steps=None):
    """Lambda_{i,l}(t) on a log axis, one colour per class, solid / dashed = view 1 / 2; returns the lines."""
    k = lam_traj.shape[1]
    steps = np.arange(lam_traj.shape[0]) if steps is None else steps
    lines = []
    for i in range(k):
        for l in range(2):
            lines += ax.semilogy(steps, np.maximum(lam_traj[:, i, l], 1e-4), color=f"C{i % 10}",
                                 ls="-" if l == 0 else "--", lw=1.3, label="_lambda")
    ax.axhline(_mrp().VARRHO, color="k", lw=0.8)
    return lines


def _heatmap(ax, M, k, title, ylabel="kernel r"):
    """[<w_r, v_f>]^+ (kernels x the 2k features) scaled to its maximum."""
    A = np.maximum(M, 0.0)
    im = ax.imshow(A / max(A.max(), 1e-300), aspect="auto", cmap="viridis", vmin=0, vmax=1,
                   interpolation="nearest")
    ax.set_xticks(range(2 * k), [f"{i}.{l + 1}" for i in range(k) for l in range(2)], fontsize=7, rotation=90)
    ax.set(xlabel=r"feature $v_{i,l}$", ylabel=ylabel, title=title)
    ax.title.set_fontsize(9)
    return im


def plot_trajectories(p, rngs):
    """SL Lambda_{i,l}(t) (run 100 steps past the measurement point to show the drift) with the hitting
    times of varrho predicted by the tensor-power recursion from Lambda^(0) with the loss factor frozen at
    its initial value (a loser's marker without a crossing is the lottery), and MRP pretraining's Lambda(t)."""
    from theorycheck import figure

    C = _mrp()
    stop = C.run_sl(sl_params(p), rngs[0])["stop"]
    T = max(150, stop + 100)
    # the figure's run only extends the measured one past its stop, so the step-budget constraint does not apply
    ps = {**sl_params(p), "stop_at": "T", "T": T}
    o = C.run_sl(ps, rngs[0])
    k = ps["k"]
    fig, axes = figure(1, 2, width=6.4, height=4.0)
    ax = axes[0]
    _lambda_lines(ax, o["lam_traj"], o["steps"])
    for i in range(k):
        for l in range(2):
            x0 = o["lam0"][i, l]
            t_hit = C.theory.sl_hitting_time(x0, ps["eta"], k, ps["q"], C.VARRHO, ps["mu"], ps["rho_w"],
                                             s=ps["s"]) if x0 > 0 else np.inf
            if t_hit < T:
                ax.plot([t_hit], [C.VARRHO], marker="v" if l == 0 else "^", color=f"C{i % 10}", ms=7, ls="none")
    ax.axvline(stop, color="grey", lw=1.0, ls=":")
    ax.text(stop, 1.5e-4, " every multi-view\n training sample fitted", fontsize=8, color="grey")
    ax.set(xlabel="GD step", ylabel=r"$\Lambda_{i,l}$ (class-$i$ kernels)", ylim=(1e-4, 30),
           title=f"SL (AZL net), k={k}, q={ps['q']}, m={ps['m']}: solid/dashed = view 1/2, "
                 r"markers = predicted $t_\varrho$")
    ax.title.set_fontsize(9)
    pm = mrp_params(p)
    om = C.run_mrp(pm, rngs[0])
    ax = axes[1]
    _lambda_lines(ax, om["lam_traj"])
    ax.set(xlabel="pretraining step", ylabel=r"$\Lambda_{i,l}$ (all kernels)", ylim=(1e-3, 30),
           title=f"MRP pretraining: coverage {om['coverage']:.2f} (step 0: {om['coverage0']:.2f})\n"
                 + run_label(pm, om, "\n"))
    ax.title.set_fontsize(8)
    fig.tight_layout()
    return fig


def plot_heatmaps(p, rngs):
    """[<w_r, v_f>]^+ (kernels x features, each map scaled to its maximum) after SL, after MRP
    pretraining and after fine-tuning."""
    from theorycheck import figure

    C = _mrp()
    ps, pm = sl_params(p), mrp_params(p)
    o, om = C.run_sl(ps, rngs[0]), C.run_mrp(pm, rngs[0])
    k = ps["k"]
    what = "pixel target" if pm["target"] == "pixels" else "feature target"
    mats = [(o["W"][:, :2 * k], f"SL (AZL net), step {o['stop']}"),
            (om["C"], f"MRP ({what}) after pretraining"), (om["C_ft"], f"MRP ({what}) after fine-tuning")]
    fig, axes = figure(3, 1, width=4.0, height=5.2)
    fig.set_layout_engine("constrained")
    for j, (ax, (M, title)) in enumerate(zip(axes, mats)):
        im = _heatmap(ax, M, k, title, "kernel r" if j == 0 else "")
    fig.colorbar(im, ax=list(axes), shrink=0.8, label=r"$[\langle w_r, v\rangle]^+$ / max")
    fig.suptitle(run_label(pm, om, "\n"), fontsize=8)
    return fig


def plot_pretraining(p, rngs, finetune: bool = True):
    """The MRP run of the claim's target (replicate 0): Lambda_{i,l}(t) through pretraining, and
    [<w_r, v_f>]^+ after pretraining and (with ``finetune``) after fine-tuning; the title names the run."""
    from theorycheck import figure

    C = _mrp()
    pm = mrp_params(p)
    om = C.run_mrp(pm, rngs[0], finetune)
    k = pm["k"]
    fig, axes = figure(3 if finetune else 2, 1, width=4.3, height=4.6)
    fig.set_layout_engine("constrained")
    ax = axes[0]
    _lambda_lines(ax, om["lam_traj"])
    ax.set(xlabel="pretraining step", ylabel=r"$\Lambda_{i,l} = \max_r [\langle w_r, v_{i,l}\rangle]^+$",
           ylim=(1e-3, 30), title=f"coverage {om['coverage']:.2f} (step 0: {om['coverage0']:.2f})\n"
                                  "solid/dashed = view 1/2 of class i")
    ax.title.set_fontsize(9)
    im = _heatmap(axes[1], om["C"], k, f"after pretraining\n{om['n_pure_kernels']} of "
                                       f"{om['n_captured_kernels']} captured kernels pure")
    if finetune:
        im = _heatmap(axes[2], om["C_ft"], k, f"after fine-tuning\nsingle-view test accuracy {om['ft_sv']:.2f}",
                      "")
    fig.colorbar(im, ax=list(axes[1:]), shrink=0.8, label=r"$[\langle w_r, v\rangle]^+$ / max")
    fig.suptitle(f"MRP, k={k}, km={k * pm['m']} kernels, q={pm['q_mrp']}, replicate 0: " + run_label(pm, om, "\n"),
                 fontsize=9)
    return fig


def plot_pretraining_only(p, rngs):
    """:func:`plot_pretraining` of a claim that measures pretraining alone (no fine-tuning run)."""
    return plot_pretraining(p, rngs, finetune=False)


def accuracy_by_k(p, rngs, ks=ACCURACY_KS, n_seeds=ACCURACY_SEEDS) -> dict:
    """Single-view test accuracies per k on replicates ``rngs[:n_seeds]``: ``{k: {series: [per seed]}}``.

    Series: ``features`` / ``pixels`` (MRP-FT of each target), ``control`` (the same architecture from
    random init, which both targets' runs share: same data, same control init), ``sl`` (AZL's network).
    Every other parameter is ``p``'s; N is scaled with k (N/k as in ``p``), so that the single-view
    training samples per class, mu N / k, stay as in ``p``.  A k outside the regimes is left out.
    """
    from theorycheck import RegimeError

    C = _mrp()
    out = {}
    for k in ks:
        over = {"k": int(k), "N": int(round(p["N"] * k / p["k"]))}
        try:
            pms = {t: mrp_params(p, target=t, **over) for t in C.TARGETS}
            ps = sl_params(p, **over)
        except RegimeError:
            continue
        rec = {"features": [], "pixels": [], "control": [], "sl": []}
        for rng in rngs[:n_seeds]:
            for t, pm in pms.items():
                o = C.run_mrp(pm, rng)
                rec[t].append(float(o["ft_sv"]))
            rec["control"].append(float(o["ctl_sv"]))
            rec["sl"].append(float(C.run_sl(ps, rng)["sv"]))
        out[int(k)] = {**rec, "N": over["N"]}
    return out


SERIES = (("pixels", "MRP-FT, pixel target (no teacher)", "o-"),
          ("features", "MRP-FT, feature target (random teacher)", "s-"),
          ("control", "same architecture from random init", "d--"),
          ("sl", "AZL SL network", "^:"))


def plot_accuracy_vs_k(p, rngs, ks=ACCURACY_KS, n_seeds=ACCURACY_SEEDS):
    """Single-view test accuracy after fine-tuning against k for each target, the same-architecture control
    and AZL SL (left), and the gain attributable to pretraining, MRP-FT minus the control (right); mean and
    Student-t 95 % interval over the seeds of each point."""
    from theorycheck import figure, mean_ci
    from theorycheck.figures import OKABE_ITO

    data = accuracy_by_k(p, rngs, ks, n_seeds)
    if not data:
        raise ValueError(f"no k of {tuple(ks)} lies in the MRP and SL regimes at these parameters")
    colours = {"pixels": OKABE_ITO["vermillion"], "features": OKABE_ITO["blue"], "control": OKABE_ITO["black"],
               "sl": OKABE_ITO["bluish_green"]}
    kk = np.array(sorted(data))
    n = len(data[kk[0]]["sl"])
    fig, axes = figure(2, 1, width=4.6, height=4.0)
    shift = 0.04 * (kk.max() - kk.min() if kk.size > 1 else 1)

    def series(ax, j, values, label, fmt, colour):
        stats = np.array([mean_ci(v) for v in values])
        ax.errorbar(kk + (j - 1.5) * shift, stats[:, 0], yerr=[stats[:, 0] - stats[:, 1], stats[:, 2] - stats[:, 0]],
                    fmt=fmt, color=colour, label=label, capsize=3, ms=5)

    ax = axes[0]
    for j, (key, label, fmt) in enumerate(SERIES):
        series(ax, j, [data[k][key] for k in kk], label, fmt, colours[key])
    ax.set(xlabel=f"k (classes), N = {data[kk[0]]['N'] // kk[0]}k", ylabel="single-view test accuracy",
           xticks=kk, ylim=(0.3, 1.04), title=f"after fine-tuning; {n} seeds per point, mean and 95 % t-interval")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7, loc="lower left")
    ax = axes[1]
    for j, (key, label, fmt) in enumerate(SERIES[:2]):
        gains = [np.array(data[k][key]) - np.array(data[k]["control"]) for k in kk]
        series(ax, j + 1, gains, label.replace("MRP-FT, ", "") + " - control", fmt, colours[key])
    ax.axhspan(*GAIN_BAND, color=OKABE_ITO["sky_blue"], alpha=0.25, lw=0, label="C8's margin over SL [0.3, 0.7]")
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set(xlabel="k (classes)", ylabel="MRP-FT - same-architecture control", xticks=kk, ylim=(-0.3, 0.8),
           title="gain attributable to pretraining")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


#: the two k-ladders drawn side by side: the AZL SL network's and MRP-FT's (pixel target), same k, m and N
SL_LADDER, FT_LADDER = "mrp.sl.two_view_fraction_limit", "mrp.ft.single_view_limit"


def _rung_series(row: dict, key: str | None):
    """``(k, mean, 1.96 s.e.)`` of a ladder row: the rungs' own value (``key=None``) or an extra's mean."""
    ks, mean, half = [], [], []
    for rung in row["ladder"]:
        if key is None:
            v = np.asarray(rung["values"], float)
            m, h = float(v.mean()), (1.96 * float(v.std(ddof=1)) / np.sqrt(v.size) if v.size > 1 else 0.0)
        elif key in rung.get("extras_mean", {}):
            m, se = rung["extras_mean"][key], rung.get("extras_se", {}).get(key)
            h = 0.0 if se is None else 1.96 * se
        else:
            continue
        ks.append(rung["size"])
        mean.append(m)
        half.append(h)
    return np.array(ks, float), np.array(mean, float), np.array(half, float)


def plot_ladders_along_k(sl_row: dict, ft_row: dict):
    """C3/C8 and C5 along the two k-ladders (m = polylog k, N = 50 k): single-view test accuracy and test
    error / mu of AZL's SL network, of MRP-FT (pixel target, no teacher) and of the same architecture
    trained from random init, seed means with 1.96 standard errors.  Raises ValueError when a row lacks a
    series (a row recorded before the rungs carried ``extras_mean``)."""
    from theorycheck.plots import figure

    fig, axes = figure(2, 1, width=5.4, height=4.0)
    series = [(sl_row, "sv", "error_over_mu", "AZL SL network", "C0", "o-"),
              (ft_row, None, "error_over_mu", "MRP-FT (pixel target)", "C3", "s-"),
              (ft_row, "ctl_sv", "ctl_error_over_mu", "same architecture from random init", "C2", "d--")]
    for j, ax in enumerate(axes):
        for row, sv, err, label, color, style in series:
            ks, m, h = _rung_series(row, (sv, err)[j])
            if not ks.size:
                raise ValueError(f"the row of {row.get('claim', '?')} has no rung reporting "
                                 f"{(sv, err)[j] or 'a value'}; allowed: a verify row whose rungs carry extras_mean")
            ax.errorbar(ks, m, yerr=h, fmt=style, color=color, label=label, capsize=3)
    axes[0].axhline(0.9, color="C3", lw=0.7, ls=":", label="C8: >= 0.9")
    axes[0].axhline(0.5, color="C0", lw=0.7, ls=":", label="AZL's limit 1/2 (C3)")
    axes[0].set(xscale="log", xlabel="k (classes)", ylabel="single-view test accuracy", ylim=(0.3, 1.05),
                title=f"{ft_row['seeds']} (MRP) / {sl_row['seeds']} (SL) seeds per k, roots "
                      f"{ft_row.get('root_seed', '?')} / {sl_row.get('root_seed', '?')}")
    axes[1].axhline(0.5, color="C0", lw=0.7, ls=":", label="AZL's limit 1/2 (C5)")
    axes[1].set(xscale="log", xlabel="k (classes)", ylabel="test error / mu",
                title=f"error / mu = (mu (1 - sv) + (1 - mu)(1 - mv)) / mu, mu = {sl_row['params']['mu']:g}")
    for ax in axes:
        ax.set_xticks([r["size"] for r in sl_row["ladder"]], [str(r["size"]) for r in sl_row["ladder"]])
        ax.minorticks_off()
        ax.title.set_fontsize(9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def attach(C) -> None:
    """Set the ``plot`` hook of the MRP family's claims (``C``: the claims module)."""
    for claim in (C.POWER_METHOD, C.ONE_VIEW, C.SINGLE_VIEW, C.ENSEMBLE):
        claim.plot = plot_trajectories
    for claim in (C.COVERAGE, C.PURITY, C.FT_SINGLE, C.FT_MULTI, C.RETENTION, C.FT_MEMORISATION):
        claim.plot = plot_pretraining
    C.PIXEL_NO_MASK.plot = plot_pretraining_only
    C.GAIN_VS_CONTROL.plot = plot_accuracy_vs_k


def main(argv=None) -> int:
    """Draw the quick tier's MRP figures of both targets into a directory (default docs/figures)."""
    import argparse
    import json
    from pathlib import Path

    from theorycheck import DEFAULT_ROOT, replicate_rngs
    from theorycheck.plots import save_figure

    ap = argparse.ArgumentParser(prog="python -m claims.mrp_figures", description=main.__doc__)
    ap.add_argument("out", nargs="?", default="docs/figures")
    ap.add_argument("--seed", type=int, default=DEFAULT_ROOT, help="seed root (default: the claims' default)")
    ap.add_argument("--ladders", metavar="JSON", help="draw only the two k-ladders' figure from the verify "
                    f"rows of {SL_LADDER} and {FT_LADDER} in this JSON file (e.g. docs/results/limit_full.json)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.ladders:
        rows = {r["claim"]: r for r in json.loads(Path(args.ladders).read_text())}
        missing = [c for c in (SL_LADDER, FT_LADDER) if c not in rows or not rows[c].get("ladder")]
        if missing:
            ap.error(f"--ladders {args.ladders}: no ladder row of {', '.join(missing)}; allowed: a JSON list of "
                     "verify rows holding both")
        try:
            fig = plot_ladders_along_k(rows[SL_LADDER], rows[FT_LADDER])
        except ValueError as exc:
            ap.error(f"--ladders {args.ladders}: {exc}")
        print(save_figure(fig, out / "mrp_ladders_along_k.png"))
        return 0
    C = _mrp()
    for target in C.TARGETS:
        p = C.COVERAGE.regime.resolve("quick", overrides={"target": target})
        rngs = replicate_rngs(C.COVERAGE.id, args.seed, int(C.COVERAGE.seeds["quick"]))
        print(save_figure(plot_pretraining(p, rngs), out / f"mrp_{target}_pretraining.png"))
    p = C.GAIN_VS_CONTROL.regime.resolve("quick")
    rngs = replicate_rngs(C.GAIN_VS_CONTROL.id, args.seed, int(C.GAIN_VS_CONTROL.seeds["quick"]))
    print(save_figure(plot_accuracy_vs_k(p, rngs), out / "mrp_accuracy_vs_k_targets.png"))
    print(json.dumps({k: {s: (np.round(v, 4).tolist() if s != "N" else v) for s, v in row.items()}
                      for k, row in accuracy_by_k(p, rngs).items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
