"""Limit claims (:mod:`theorycheck.limit`): the extrapolation and its bootstrap on planted data with a known
limit, the window rule, the verify row's fields, reproducibility and resumption of an interrupted ladder."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theorycheck import limit, runner
from theorycheck.claim import Claim
from theorycheck.limit import Ladder, Window
from theorycheck.regime import Param, Regime
from theorycheck.store import Store

TRUE_LIMIT, CORRECTION, NOISE = 2.0, 3.0, 0.02


def _planted_measure(p, rng):
    """``L + c / n`` plus Gaussian noise of standard deviation ``noise``: the limit in ``n`` is ``L``.

    The noise is the ``n``-th draw of the replicate's stream, so the rungs of one seed are not the same
    draw (a replicate's generator is the same at every rung)."""
    return TRUE_LIMIT + CORRECTION / p["n"] + p["noise"] * rng.standard_normal(int(p["n"]))[-1]


def _planted(model="power", alpha=1.0, window=None, expected="verified", **kw):
    return Claim(
        id="planted.limit", source="test", statement="L + c/n tends to L", kind="limit",
        regime=Regime([Param("n", 8, 8, kind="int", low=1, high=10_000, doc="size"),
                       Param("noise", NOISE, NOISE, low=0, high=1, doc="noise sd")]),
        predict=lambda p: TRUE_LIMIT, measure=_planted_measure, tolerance=0.05,
        negative_control=lambda p: TRUE_LIMIT + 0.2, negative_label="limit +0.2",
        seeds={"quick": 8, "full": 8}, expected=expected, finding="" if expected == "verified" else "planted",
        ladder=Ladder("n", {"quick": (4, 8, 16, 32, 64, 128), "full": (4, 8, 16, 32, 64, 128, 256)}, model=model,
                      alpha=alpha, alpha_reason="planted 1/n" if alpha else "", window=window or Window(largest=4)),
        measured_label="limit of the planted value", **kw)


# ------------------------------------------------------------------------------------------ fitting
@settings(max_examples=60)
@given(L=st.floats(-10, 10), c=st.floats(-10, 10), alpha=st.sampled_from([0.5, 1.0, 1.5, 2.0]),
       noise=st.floats(1e-3, 0.5), s0=st.floats(1.0, 50.0))
def test_fixed_alpha_recovers_the_planted_limit_within_its_noise(L, c, alpha, noise, s0):
    s = s0 * 2.0 ** np.arange(5)
    rng = np.random.default_rng(0)
    v = L + c * s[:, None] ** -alpha + noise * rng.standard_normal((5, 12))
    est = limit.bootstrap(s, v, "power", alpha, n_boot=400, rng=np.random.default_rng(1))
    # L_hat - L = w . (noise means), w the regression weights of the intercept: its sd is noise |w| / sqrt(S)
    z = s ** -alpha
    zc = z - z.mean()
    w = 1 / s.size - z.mean() * zc / (zc @ zc)
    sd = noise * np.linalg.norm(w) / np.sqrt(12)
    assert abs(est["limit"] - L) <= 6 * sd
    assert est["ci_low"] <= est["limit"] <= est["ci_high"]
    assert est["ci_high"] - est["ci_low"] <= 8 * sd
    assert abs(est["c"] - c) <= 6 * noise / np.sqrt(12) / np.linalg.norm(zc)


@settings(max_examples=40)
@given(L=st.floats(-5, 5), c=st.floats(0.5, 10) | st.floats(-10, -0.5),
       alpha=st.sampled_from([float(a) for a in limit.ALPHA_GRID[40::60]]))
def test_fitted_alpha_recovers_an_exact_power_law(L, c, alpha):
    s = 2.0 ** np.arange(1, 7)
    got = limit.fit(s, L + c * s ** -alpha, "power", None)
    assert got["alpha"] == pytest.approx(alpha, rel=1e-9)
    assert got["limit"] == pytest.approx(L, abs=1e-8 * (1 + abs(c)))


@settings(max_examples=40)
@given(b=st.floats(-3, 3), a=st.floats(-2, 2), noise=st.floats(1e-3, 0.2))
def test_loglog_slope_recovers_the_planted_exponent(b, a, noise):
    s = 2.0 ** np.arange(6)
    rng = np.random.default_rng(2)
    v = np.exp(a + b * np.log(s))[:, None] * np.exp(noise * rng.standard_normal((6, 10)))
    est = limit.bootstrap(s, v, "loglog_slope", n_boot=400, rng=np.random.default_rng(3))
    assert abs(est["limit"] - b) <= 6 * noise / np.sqrt(10) / np.std(np.log(s)) / np.sqrt(6) + 1e-9
    assert est["ci_low"] <= est["limit"] <= est["ci_high"]


def test_bootstrap_interval_covers_the_planted_limit_at_about_its_level():
    s = np.array([8.0, 16.0, 32.0, 64.0])
    covered = 0
    for trial in range(200):
        rng = np.random.default_rng(trial)
        v = 1.0 + 2.0 / s[:, None] + 0.1 * rng.standard_normal((4, 20))
        est = limit.bootstrap(s, v, "power", 1.0, n_boot=400, rng=np.random.default_rng(10_000 + trial))
        covered += est["ci_low"] <= 1.0 <= est["ci_high"]
    assert 0.85 <= covered / 200 <= 0.99


def test_a_misspecified_exponent_leaves_a_bias_the_interval_shows():
    # data approach L as s^-0.5 but the model says s^-2: the extrapolation undershoots the correction
    s = np.array([16.0, 64.0, 256.0])
    v = 1.0 + 1.0 / np.sqrt(s)[:, None] + 1e-3 * np.random.default_rng(0).standard_normal((3, 16))
    est = limit.bootstrap(s, v, "power", 2.0, n_boot=400, rng=np.random.default_rng(1))
    assert est["ci_low"] > 1.03


def test_fit_rejects_what_it_cannot_fit():
    with pytest.raises(ValueError, match="three sizes"):
        limit.fit([1.0, 2.0], [1.0, 2.0], "power", None)
    with pytest.raises(ValueError, match="distinct"):
        limit.fit([1.0, 1.0, 2.0], [1.0, 2.0, 3.0], "power", 1.0)
    with pytest.raises(ValueError, match="positive"):
        limit.fit([1.0, 2.0], [1.0, -2.0], "loglog_slope")
    with pytest.raises(ValueError, match="two or more seeds"):
        limit.bootstrap([1.0, 2.0], [[1.0], [2.0]], "power", 1.0)


# ------------------------------------------------------------------------------------------ the window
def test_window_keeps_the_largest_sizes_in_any_order():
    mask = Window(largest=3).select([64, 4, 16, 8, 32], {})
    assert mask.tolist() == [True, False, True, False, True]


def test_window_threshold_is_derived_from_the_parameters():
    w = Window(largest=None, threshold=lambda p: 10 * p["k"], threshold_label="10 k")
    assert w.select([5, 10, 20, 40], {"k": 2}).tolist() == [False, False, True, True]
    both = Window(largest=2, threshold=lambda p: 20.0, threshold_label="20")
    assert both.select([5, 10, 20, 40, 30], {}).tolist() == [False, False, False, True, True]
    assert both.select([5, 10, 20, 40], {}).tolist() == [False, False, True, True]
    assert "largest 2" in both.describe() and "past 20" in both.describe()


def test_window_threshold_reads_each_rungs_own_parameters():
    """A ladder that grows m with its size derives each rung's threshold from that rung's m, not the base's."""
    w = Window(largest=None, threshold=lambda p: 10 * p["m"], threshold_label="10 m")
    rungs = [{"k": k, "m": m} for k, m in ((8, 1), (16, 1), (32, 4), (64, 8))]
    assert w.select([8, 16, 32, 64], rungs).tolist() == [False, True, False, False]
    assert w.select([8, 16, 32, 64], {"m": 2}).tolist() == [False, False, True, True]
    with pytest.raises(ValueError, match="3 rungs' parameters for 4 sizes"):
        w.select([8, 16, 32, 64], rungs[:3])


@pytest.mark.parametrize("kw, match", [({"largest": 1}, "at least two"), ({"largest": None}, "needs a rule"),
                                       ({"threshold": lambda p: 1.0}, "label")])
def test_window_rejects_a_rule_that_cannot_fit(kw, match):
    with pytest.raises(ValueError, match=match):
        Window(**kw)


def test_claim_requires_a_ladder_for_a_limit_and_a_known_size():
    with pytest.raises(ValueError, match="goes with a ladder"):
        Claim(**{**_planted().__dict__, "ladder": None})
    with pytest.raises(ValueError, match="not a parameter"):
        Claim(**{**_planted().__dict__, "ladder": Ladder("m", {"quick": (1, 2), "full": (1, 2)}, alpha=1.0,
                                                        alpha_reason="x")})
    with pytest.raises(ValueError, match="alpha_reason"):
        Ladder("n", {"quick": (1, 2), "full": (1, 2)}, alpha=1.0)


# ------------------------------------------------------------------------------------------ the verify row
def test_verify_row_carries_the_limit_its_interval_the_window_and_the_ladder():
    claim = _planted()
    row = runner.verify_claim(claim, claim.regime.resolve("quick"), 8, progress=False)
    assert row["verdict"] == "verified" and row["negative_control"]["verdict"] == "refuted"
    assert row["kind"] == "limit" and row["interval"] == "bootstrap_seeds"
    assert row["measured"] == row["limit"] and (row["ci_low"], row["ci_high"]) == (row["limit_ci_low"],
                                                                                     row["limit_ci_high"])
    assert row["limit_ci_low"] < TRUE_LIMIT < row["limit_ci_high"]
    assert row["window"]["sizes"] == [16, 32, 64, 128] and "largest 4" in row["window"]["rule"]
    assert [r["size"] for r in row["ladder"]] == [4, 8, 16, 32, 64, 128]
    assert [r["in_window"] for r in row["ladder"]] == [False, False, True, True, True, True]
    first = row["ladder"][0]
    assert first["ci_low"] < TRUE_LIMIT + CORRECTION / 4 < first["ci_high"]
    assert row["params"]["n"] == 128 and len(row["values"]) == 8      # the top rung, rerunnable from the row
    assert row["fit"]["alpha"] == 1.0 and row["fit"]["c"] == pytest.approx(CORRECTION, abs=1.0)
    back = json.loads(json.dumps({k: row[k] for k in ("limit", "limit_ci_low", "limit_ci_high", "window",
                                                      "ladder")}))
    assert back["window"]["sizes"] == [16, 32, 64, 128]
    again = runner.verify_claim(claim, claim.regime.resolve("quick"), 8, progress=False)
    assert (again["limit"], again["limit_ci_low"], again["limit_ci_high"]) == (row["limit"], row["limit_ci_low"],
                                                                              row["limit_ci_high"])
    other = runner.verify_claim(claim, claim.regime.resolve("quick"), 8, root=7, progress=False)
    assert other["limit"] != row["limit"]


def _with_extras(p, rng):
    value = _planted_measure(p, rng)
    return {"value": value, "twice": 2.0 * value, "size": int(p["n"]), "tag": "x",
            "half_nan": float("nan") if value > TRUE_LIMIT + CORRECTION / p["n"] else 1.0}


def test_each_rung_reports_the_mean_of_its_replicates_numeric_extras():
    claim = Claim(**{**_planted().__dict__, "measure": _with_extras})
    row = runner.verify_claim(claim, claim.regime.resolve("quick"), 6, progress=False)
    for rung in row["ladder"]:
        means = rung["extras_mean"]
        assert means["twice"] == pytest.approx(2 * rung["mean"]) and means["size"] == rung["size"]
        assert "tag" not in means and means.get("half_nan", 1.0) == 1.0
        assert rung["extras_se"]["size"] == 0.0
        assert rung["extras_se"]["twice"] == pytest.approx(2 * np.std(rung["values"], ddof=1) / np.sqrt(6))
    assert limit.extras_summary([{"a": 1, "b": None}, {"a": 3, "b": float("nan")}, None, {"c": 5}]) == (
        {"a": 2.0, "c": 5.0}, {"a": 1.0, "c": None}, {"a": 2, "c": 1})


def test_extras_summary_averages_real_numbers_only():
    """Bools (events: counted, not averaged, as runner.reported_mean), complex numbers, overflowing ints and
    non-numbers are left out; NumPy reals count like Python's."""
    extras = [{"event": True, "x": np.float32(1.0), "n": np.int64(3), "z": 1 + 2j, "huge": 10 ** 400, "s": "a"},
              {"event": np.bool_(False), "x": 3.0, "n": 5, "z": 2j, "huge": 1, "s": None}]
    means, ses, counts = limit.extras_summary(extras)
    assert means == {"x": 2.0, "n": 4.0, "huge": 1.0} and counts == {"x": 2, "n": 2, "huge": 1}
    assert ses["huge"] is None
    assert runner.reported_mean(extras, "n") == 4.0 and runner.reported_mean(extras, "event") is None
    assert runner.reported_mean(extras, "huge") == 1.0 and runner.reported_mean(extras, "z") is None


def test_a_claim_whose_limit_is_wrong_comes_out_refuted():
    claim = _planted(expected="refuted", positive_control=lambda p: TRUE_LIMIT, positive_label="the true limit")
    row = runner.verify_claim(Claim(**{**claim.__dict__, "predict": lambda p: TRUE_LIMIT + 0.3}),
                              claim.regime.resolve("quick"), 8, progress=False)
    assert row["verdict"] == "refuted" and row["positive_control"]["verdict"] == "verified"


def test_the_top_rung_alone_would_not_reach_the_limit():
    # without the extrapolation the largest size's mean is still c/128 = 0.023 off, beyond noise / sqrt(S)
    claim = _planted(window=Window(largest=3))
    row = runner.verify_claim(claim, claim.regime.resolve("full"), 8, progress=False, tier="full")
    top = row["ladder"][-1]
    assert top["size"] == 256 and top["mean"] - TRUE_LIMIT > 0
    assert abs(row["limit"] - TRUE_LIMIT) < 0.05


def test_a_rung_outside_the_regime_is_an_error_before_any_work():
    claim = Claim(**{**_planted().__dict__,
                     "ladder": Ladder("n", {"quick": (8, 20_000), "full": (8, 16)}, alpha=1.0, alpha_reason="x",
                                      window=Window(largest=2))})
    ran = []
    row = runner.verify_claim(claim, claim.regime.resolve("quick"), 3, backend=_Counting(ran), progress=False)
    assert row["verdict"] == "error" and "n" in row["error"] and ran == []


class _Counting:
    """In-process backend that counts what it runs and can be stopped (KeyboardInterrupt) after ``stop`` tasks."""

    slots = 1
    name = "counting"

    def __init__(self, ran, stop=None):
        from theorycheck.backends import InProcess

        self.inner, self.ran, self.stop = InProcess(), ran, stop

    def submit(self, claim, params, root, index, stream="measure"):
        if self.stop is not None and len(self.ran) >= self.stop:
            raise KeyboardInterrupt
        self.ran.append((params["n"], index))
        return self.inner.submit(claim, params, root, index, stream)

    def close(self):
        pass


def test_an_interrupted_ladder_resumes_from_the_store(tmp_path):
    claim = _planted()
    params = claim.regime.resolve("quick")
    first = []
    with Store(tmp_path) as store, pytest.raises(KeyboardInterrupt):
        runner.verify_claim(claim, params, 4, backend=_Counting(first, stop=10), store=store, progress=False)
    assert len(first) == 10
    second = []
    with Store(tmp_path) as store:
        row = runner.verify_claim(claim, params, 4, backend=_Counting(second), store=store, progress=False)
    assert row["reused"] == 10 and len(second) == 6 * 4 - 10
    assert not set(first) & set(second)                 # the store keys include the size: nothing rerun
    fresh = runner.verify_claim(claim, params, 4, progress=False)
    assert fresh["limit"] == row["limit"] and fresh["ladder"] == row["ladder"]


def test_the_figure_draws_the_limit_panel(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from theorycheck.figures.comparison import comparison_figure

    claim = _planted()
    row = runner.verify_claim(claim, claim.regime.resolve("quick"), 8, progress=False)
    fig = comparison_figure(row, claim)
    try:
        strip, panel = fig.axes[0], fig.axes[1]
        # the replicates belong to the rungs: the strip says how many per rung, not "S = 0"
        assert strip.get_yticklabels()[0].get_text() == "replicates\n(8 per rung, below)"
        assert panel.get_xscale() == "log" and "window" in panel.get_title()
        labels = panel.get_legend_handles_labels()[1]
        assert any(lab.startswith("extrapolated limit") and "verified" in lab for lab in labels)
        assert any("negative control" in lab for lab in labels)
        fig.savefig(tmp_path / "limit.png")
    finally:
        plt.close(fig)
    assert (tmp_path / "limit.png").stat().st_size > 10_000


def test_cli_verify_json_rows_carry_the_limit_fields(capsys, tmp_path):
    from theorycheck.cli import main

    out = tmp_path / "rows.json"
    assert main(["verify", "lemma.tensor_power.offset_limit", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "limit extrapolated over the largest 3 sizes (power)" in table
    (row,) = json.loads(out.read_text())
    assert row["kind"] == "limit" and row["verdict"] == "verified"
    assert row["limit_ci_low"] <= row["limit"] <= row["limit_ci_high"]
    assert row["window"]["sizes"] == [0.1, 0.05, 0.025]
    assert [g["size"] for g in row["ladder"]] == [0.2, 0.1, 0.05, 0.025]


@pytest.mark.parametrize("claim_id", ["mest.spectral.mean_risk_limit", "mest.spectral.law_tail_limit",
                                      "lemma.tensor_power.offset_limit", "vit.mae.tstar_slope_limit",
                                      "vit.mae.learning_order_ratio_limit", "vit.mae.head_start_limit",
                                      "mrp.sl.two_view_fraction_limit", "mrp.ft.single_view_limit"])
def test_registered_ladders_fit_their_window_at_every_drawn_setting(claim_id):
    """Every rung of a drawn setting lies in the regime and the window keeps enough sizes for its model."""
    from hypothesis import HealthCheck

    from theorycheck import registry

    claim = registry.get(claim_id)
    lad = claim.ladder

    @settings(max_examples=10, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(claim.regime.strategy("quick"))
    def check(params):
        for tier in ("quick", "full"):
            rungs = [claim.regime.validate(p) for p in lad.rungs(params, tier)]
            scales = [lad.scale_of(p) for p in rungs]
            kept = lad.window.select(scales, rungs)
            assert kept.sum() >= (3 if lad.alpha is None else 2), (tier, params)

    check()
