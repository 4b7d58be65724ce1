"""The MRP family's own figures (claims/mrp_figures.py) draw for both targets and show the runs they name.

Every figure is drawn at a tiny size inside the regimes (k = 6, P = 10, d = 32, N = 60, mu = 0.1, 40-150
steps), a few seconds each; the runs are cached in-process, so the figures of one target share them.
"""
import json

import numpy as np
import pytest

from claims import mrp as C
from claims import mrp_figures as F
from theorycheck import registry, replicate_rngs
from theorycheck.cli import main

TINY = {"P": 10, "d": 32, "N": 60, "mu": 0.1, "n_test": 60, "T_pre": 50, "T_pix": 40, "T_ft": 150}
RNGS = replicate_rngs("mrp.coverage", 3, 2)


def tiny(**over):
    return C.mrp_regime().resolve("quick", overrides={**TINY, **over})


def _images(fig):
    return [im for ax in fig.axes for im in ax.get_images()]


def _lambda_lines(ax):
    return [line for line in ax.get_lines() if line.get_label() == "_lambda"]


@pytest.mark.parametrize("target", C.TARGETS)
def test_pretraining_figure_shows_the_run_of_its_target(target):
    p = tiny(target=target)
    o = C.run_mrp(p, RNGS[0])
    fig = F.plot_pretraining(p, RNGS)
    title = fig.get_suptitle()
    if target == "pixels":
        assert "pixel target" in title and "no teacher" in title
        assert "eta_pix=100" in title and "T_pix=40" in title and "sigma_T" not in title
    else:
        assert "feature target" in title and "random teacher, sigma_T=0.15" in title
        assert f"teacher's coverage at step 0: {o['teacher_coverage']:.2f}" in title and "eta_pix" not in title
    traj = fig.axes[0]
    lines = _lambda_lines(traj)
    assert len(lines) == 2 * p["k"]
    # line 2i + l is Lambda_{i,l}(t) over the pretraining steps
    assert np.allclose(lines[3].get_ydata(), np.maximum(o["lam_traj"][:, 1, 1], 1e-4))
    assert len(lines[0].get_xdata()) == (p["T_pix"] if target == "pixels" else p["T_pre"]) + 1
    assert f"coverage {o['coverage']:.2f}" in traj.get_title()
    pre, ft = _images(fig)
    for im, M in ((pre, o["C"]), (ft, o["C_ft"])):
        A = np.maximum(M, 0.0)
        assert np.allclose(im.get_array(), A / A.max())
        assert im.get_array().shape == (p["k"] * p["m"], 2 * p["k"])
    assert f"single-view test accuracy {o['ft_sv']:.2f}" in fig.axes[2].get_title()


def test_the_no_mask_ablation_draws_pretraining_alone_and_says_so():
    p = tiny(target="pixels", masked=False)
    fig = F.plot_pretraining_only(p, RNGS)
    assert "no mask" in fig.get_suptitle()
    assert len(_images(fig)) == 1 and len(_lambda_lines(fig.axes[0])) == 2 * p["k"]


@pytest.mark.parametrize("target", C.TARGETS)
def test_trajectories_and_heatmaps_name_the_mrp_target(target):
    p = tiny(target=target)
    fig = F.plot_trajectories(p, RNGS)
    sl_ax, mrp_ax = fig.axes
    assert sl_ax.get_title().startswith("SL (AZL net)") and len(_lambda_lines(sl_ax)) == 2 * p["k"]
    assert (target == "pixels") == ("pixel target" in mrp_ax.get_title())
    fig = F.plot_heatmaps(p, RNGS)
    what = "pixel target" if target == "pixels" else "feature target"
    assert [ax.get_title() for ax in fig.axes[:3]][1:] == [f"MRP ({what}) after pretraining",
                                                            f"MRP ({what}) after fine-tuning"]
    assert len(_images(fig)) == 3 and what in fig.get_suptitle()


def test_accuracy_against_k_plots_the_mean_of_each_series_and_skips_k_outside_the_regime():
    p = tiny()
    ks, n = (5, 6, 7), 2  # k = 5 is outside the MRP claims' regime (theorem_probability: k >= 6)
    data = F.accuracy_by_k(p, RNGS, ks, n)
    assert sorted(data) == [6, 7] and data[7]["N"] == 70
    assert all(len(data[k][s]) == n for k in data for s in ("features", "pixels", "control", "sl"))
    fig = F.plot_accuracy_vs_k(p, RNGS, ks, n)
    acc, gain = fig.axes
    labels = [c.get_label() for c in acc.containers]
    assert labels == [label for _, label, _ in F.SERIES]
    for (key, _, _), bars in zip(F.SERIES, acc.containers):
        y = bars.lines[0].get_ydata()
        assert np.allclose(y, [np.mean(data[k][key]) for k in (6, 7)])
    assert len(gain.containers) == 2
    for (key, _, _), bars in zip(F.SERIES[:2], gain.containers):
        expect = [np.mean(np.array(data[k][key]) - np.array(data[k]["control"])) for k in (6, 7)]
        assert np.allclose(bars.lines[0].get_ydata(), expect)
    assert "pretraining" in gain.get_title() and f"{n} seeds per point" in acc.get_title()


def test_the_mrp_claims_carry_the_figures_of_their_runs():
    assert C.COVERAGE.plot is F.plot_pretraining and C.FT_SINGLE.plot is F.plot_pretraining
    assert registry.get("mrp.ft.gain_vs_control").plot is F.plot_accuracy_vs_k
    assert registry.get("mrp.ablation.pixel_no_mask").plot is F.plot_pretraining_only
    assert registry.get("mrp.sl.single_view_accuracy").plot is F.plot_trajectories


def test_plot_command_draws_the_pixel_target_figure_without_a_warning(tmp_path, capsys):
    out = tmp_path / "coverage.png"
    sets = [a for k, v in TINY.items() for a in ("--set", f"{k}={v}")]
    assert main(["plot", "mrp.coverage", "--set", "target=pixels", *sets, "--seeds", "2", "--quiet",
                 "--out", str(out)]) == 0
    assert "warning" not in capsys.readouterr().err
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------ the two k-ladders side by side
def _ladder_row(claim, seeds, means, extras, root=20260101):
    """A verify row of a k-ladder: rung values (m - 0.01, m + 0.01) and each extra's (mean, s.e.) per k."""
    rungs = [{"size": k, "mean": m, "values": [m - 0.01, m + 0.01],
              "extras_mean": {name: v[i][0] for name, v in extras.items()},
              "extras_se": {name: v[i][1] for name, v in extras.items()}} for i, (k, m) in enumerate(means)]
    return {"claim": claim, "seeds": seeds, "root_seed": root, "params": {"mu": 0.02}, "ladder": rungs}


def test_the_ladders_figure_draws_each_series_from_its_row(tmp_path):
    ks = (10, 20, 40)
    sl = _ladder_row(F.SL_LADDER, 8, [(k, 0.25) for k in ks],
                     {"sv": [(0.64, 0.01), (0.62, 0.02), (0.65, None)],
                      "error_over_mu": [(0.5, 0.05), (0.46, 0.04), (0.53, 0.1)]})
    ft = _ladder_row(F.FT_LADDER, 5, [(k, 1.0 - k / 1000) for k in ks],
                     {"error_over_mu": [(0.0, 0.0)] * 3, "ctl_sv": [(0.85, 0.02), (0.95, 0.01), (0.99, 0.0)],
                      "ctl_error_over_mu": [(0.15, 0.02), (0.05, 0.01), (0.01, 0.0)]}, root=7)
    fig = F.plot_ladders_along_k(sl, ft)
    single, error = fig.axes
    drawn = {c.get_label(): c.lines[0].get_ydata().tolist() for c in single.containers}
    assert drawn == {"AZL SL network": [0.64, 0.62, 0.65], "MRP-FT (pixel target)": [0.99, 0.98, 0.96],
                     "same architecture from random init": [0.85, 0.95, 0.99]}
    drawn = {c.get_label(): c.lines[0].get_ydata().tolist() for c in error.containers}
    assert drawn == {"AZL SL network": [0.5, 0.46, 0.53], "MRP-FT (pixel target)": [0.0, 0.0, 0.0],
                     "same architecture from random init": [0.15, 0.05, 0.01]}
    assert "5 (MRP) / 8 (SL) seeds per k, roots 7 / 20260101" in single.get_title()
    bars = {c.get_label(): c for c in single.containers}["MRP-FT (pixel target)"]
    half = bars.lines[2][0].get_segments()[0][:, 1]
    assert half[1] - half[0] == pytest.approx(2 * 1.96 * np.std([0.98, 1.0], ddof=1) / np.sqrt(2))
    bad = tmp_path / "rows.json"
    for rows in ([], [sl, {**ft, "ladder": [{k: v for k, v in r.items() if not k.startswith("extras")}
                                            for r in ft["ladder"]]}]):
        bad.write_text(json.dumps(rows))
        with pytest.raises(SystemExit) as exc:
            F.main([str(tmp_path), "--ladders", str(bad)])
        assert exc.value.code == 2 and not (tmp_path / "mrp_ladders_along_k.png").exists()


def test_the_recorded_ladder_rows_draw_the_readme_figure(tmp_path):
    """docs/results/limit_full.json holds both k-ladders' rows with the extras the README's figure draws."""
    from pathlib import Path

    rows = Path(__file__).resolve().parents[1] / "docs" / "results" / "limit_full.json"
    assert F.main([str(tmp_path), "--ladders", str(rows)]) == 0
    assert (tmp_path / "mrp_ladders_along_k.png").stat().st_size > 0
