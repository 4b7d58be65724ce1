"""Figures drawn by the framework: every registered claim's comparison figure, the family summaries, the
standardisation they rest on, and ``theorycheck plot``'s files and bad-input errors.

The battery renders from small verify rows (two replicates at the quick tier, two calibration runs), not
from the claims' full seed counts: what is checked is that every claim's row draws, not its verdict
(``test_claims_battery`` checks verdicts).
"""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import helpers_planted as planted
from theorycheck import registry
from theorycheck.cli import main
from theorycheck.figures import comparison_figure, save, standardise, band_edges
from theorycheck.figures.render import write_summaries
from theorycheck.runner import DEFAULT_ROOT, verify_claim
from theorycheck.testing import computed_row
from theorycheck.verdict import decide

CLAIMS = registry.all_claims()
IDS = [c.id for c in CLAIMS]
SEEDS = 2


@pytest.fixture(scope="module")
def rows(pool2):
    """A verify row per registered claim: the battery's quick row when this session has computed it, else a
    small one (quick tier, two replicates and two calibration runs)."""
    out = {}
    for c in CLAIMS:
        out[c.id] = computed_row(c.id) or verify_claim(
            c, c.regime.resolve("quick"), SEEDS, DEFAULT_ROOT, backend=pool2, progress=False, tier="quick",
            calibration_seeds=SEEDS if c.calibrate is not None else None)
    return out


def _visible_axes(fig):
    return [ax for ax in fig.axes if ax.axison]


@pytest.mark.parametrize("claim", CLAIMS, ids=IDS)
def test_every_claim_has_a_labelled_comparison_figure(claim, rows, tmp_path):
    row = rows[claim.id]
    fig = comparison_figure(row, claim)
    axes = _visible_axes(fig)
    strip = axes[0]
    assert strip.get_xlabel() == (claim.measured_label or "measured statistic")
    assert [t.get_text().split("\n")[0] for t in strip.get_yticklabels()] == ["replicates", "mean, 95 % CI"]
    assert claim.id in fig.texts[0].get_text() if fig.texts else claim.id in fig._suptitle.get_text()
    labels = strip.get_legend().get_texts()
    assert any(t.get_text().startswith("negative control") for t in labels)
    if row["verdict"] != "error":
        assert any(t.get_text().startswith("accepted band") for t in labels)
        assert any(t.get_text().startswith("measured ") for t in labels)
    if claim.curve is not None and row["verdict"] != "error":
        assert len(axes) == 2, f"{claim.id}: its replicates report no points x, y along its axis"
        assert axes[1].get_xlabel() == claim.curve.x_label and axes[1].get_ylabel() == claim.curve.y_label
    (path,) = save(fig, tmp_path / f"{claim.id}.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_family_summaries_show_every_claim(rows, tmp_path):
    written = write_summaries(list(rows.values()), tmp_path, (".png",))
    families = sorted({c.split(".")[0] for c in IDS})
    assert [p.name for p in written] == [f"{f}.summary.png" for f in families]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in written)


def test_single_view_accuracy_shows_replicates_interval_and_band(rows):
    row = rows["mrp.sl.single_view_accuracy"]
    fig = comparison_figure(row, registry.get(row["claim"]))
    strip = _visible_axes(fig)[0]
    (points,) = [c for c in strip.collections if str(c.get_label()).startswith("replicates")]
    kept = [v for v, e in zip(row["values"], row["extras"]) if e.get("event", True)]
    assert np.allclose(np.sort(points.get_offsets()[:, 0]), np.sort(kept))
    (bar,) = [c for c in strip.containers if str(c.get_label()).startswith("measured")]
    (seg,) = bar.lines[2][0].get_segments()
    assert np.allclose(seg[:, 0], [row["ci_low"], row["ci_high"]])
    (band,) = [p for p in strip.patches if str(p.get_label()).startswith("accepted band")]
    lo, hi = np.atleast_1d(row["predicted"])[[0, -1]]
    assert math.isclose(band.get_x(), lo - row["tolerance"])
    assert math.isclose(band.get_x() + band.get_width(), hi + row["tolerance"])


def test_tstar_scaling_is_on_log_log_axes_with_fitted_and_predicted_slopes(rows):
    row = rows["vit.mae.tstar_scaling"]
    fig = comparison_figure(row, registry.get(row["claim"]))
    ax = _visible_axes(fig)[1]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    lines = {name: line for line in ax.get_lines() for name in ("fitted slope", "predicted slope")
             if str(line.get_label()).startswith(name)}

    def slope(line):
        x, y = line.get_data()
        return np.polyfit(np.log(x), np.log(y), 1)[0]

    assert math.isclose(slope(lines["fitted slope"]), row["measured"], rel_tol=1e-9)
    assert math.isclose(slope(lines["predicted slope"]), row["predicted"], rel_tol=1e-9)


# ------------------------------------------------------------------------------ standardisation
@given(p=st.floats(-5, 5), width=st.floats(0, 2), tol=st.floats(0.01, 2),
       comparison=st.sampled_from(["within", "below", "above"]),
       lo=st.floats(-10, 10), length=st.floats(0, 5))
def test_standardised_interval_inside_band_iff_verified(p, width, tol, comparison, lo, length):
    predicted = [p, p + width] if width > 0 else p
    row = {"predicted": predicted, "tolerance": tol, "comparison": comparison, "resolution": 1.0}
    hi = lo + length
    z_lo, z_hi = standardise(row, lo), standardise(row, hi)
    b_lo, b_hi = band_edges(row)
    verdict = decide(lo, hi, predicted, tol, comparison)
    eps = 1e-9
    if b_lo + eps <= z_lo and z_hi <= b_hi - eps:
        assert verdict == "verified"
    if z_hi < b_lo - eps or z_lo > b_hi + eps:
        assert verdict == "refuted"
    if verdict == "verified":
        assert b_lo - eps <= z_lo and z_hi <= b_hi + eps


def test_a_point_prediction_standardises_to_measured_minus_predicted_over_tolerance():
    for comparison in ("within", "below", "above"):
        row = {"predicted": 2.0, "tolerance": 0.5, "comparison": comparison}
        assert standardise(row, 3.0) == pytest.approx(2.0)
        assert standardise(row, 1.5) == pytest.approx(-1.0)


# ------------------------------------------------------------------------------ the command
@pytest.fixture
def planted_registry(monkeypatch):
    monkeypatch.setattr(registry, "_loaded", True)
    monkeypatch.setattr(registry, "_CLAIMS", {})
    for c in (planted.GRAM, planted.GRAM_CYAN, planted.MEAN_SQUARE):
        registry.register(c)
    yield


def test_plot_prefix_writes_each_claim_and_the_family_summary(planted_registry, tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["plot", "planted", "--out", str(out), "--seeds", "3", "--quiet"]) == 0
    names = sorted(p.name for p in out.iterdir())
    expected = sorted(f"{c}.{s}" for c in ("planted.gram", "planted.gram_cyan", "planted.mean_square",
                                           "planted.summary") for s in ("png", "pdf"))
    assert names == expected
    printed = capsys.readouterr().out.split()
    assert sorted(p.split("/")[-1] for p in printed) == expected


def test_plot_one_claim_to_a_file(planted_registry, tmp_path):
    target = tmp_path / "one.pdf"
    assert main(["plot", "planted.gram", "--out", str(target), "--seeds", "3", "--quiet"]) == 0
    assert target.read_bytes()[:4] == b"%PDF" and sorted(p.name for p in tmp_path.iterdir()) == ["one.pdf"]


@pytest.mark.parametrize("argv,needle", [
    (["plot", "nothing.here"], "unknown claim 'nothing.here'"),
    (["plot", "planted", "--out", "{tmp}/one.png"], "is one file but 3 claims are selected"),
    (["plot", "planted", "--out", "{tmp}/notes.txt"], "allowed file types are .png, .pdf, .svg"),
    (["plot", "planted", "--out", "/proc/theorycheck-figures"], "is not writable"),
    (["plot", "planted.gram", "--set", "bogus=1"], "unknown parameter 'bogus'"),
])
def test_plot_bad_input_exits_two_before_any_work(planted_registry, tmp_path, capsys, monkeypatch, argv, needle):
    import theorycheck.runner

    def no_work(*args, **kwargs):
        raise AssertionError("work started before the input was checked")

    monkeypatch.setattr(theorycheck.runner, "verify_claim", no_work)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
