"""Claims judged at one tier only (``Claim.tiers``) and ladders whose other parameters grow with the size
(``Ladder.coscale``)."""
import dataclasses

import numpy as np
import pytest

from theorycheck import limit, readme, registry
from theorycheck.cli import EXIT_BAD_INPUT, EXIT_OK, main
from theorycheck.limit import Ladder
from theorycheck.verdict import bootstrap_half_width

import helpers_planted as planted

FULL_ONLY = dataclasses.replace(planted.GRAM, id="planted.full_only.gram", tiers=("full",),
                                tiers_reason="planted: its quick size is too small to decide")


@pytest.fixture
def tiered_registry(monkeypatch):
    monkeypatch.setattr(registry, "_loaded", True)
    monkeypatch.setattr(registry, "_CLAIMS", {})
    for c in (planted.GRAM, FULL_ONLY):
        registry.register(c)
    yield


@pytest.mark.parametrize("tiers, reason, match", [
    ((), "x", "non-empty tuple of tiers"), (("quick", "huge"), "x", "non-empty tuple of tiers"),
    ("full", "x", "non-empty tuple of tiers"), (("full",), "", "must say why"),
])
def test_a_claim_rejects_tiers_it_cannot_be_judged_at(tiers, reason, match):
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(planted.GRAM, tiers=tiers, tiers_reason=reason)


def test_tiers_are_ordered_and_the_home_tier_is_the_first():
    assert planted.GRAM.tiers == ("quick", "full") and planted.GRAM.home_tier == "quick"
    both = dataclasses.replace(planted.GRAM, tiers=("full", "quick"))
    assert both.tiers == ("quick", "full")
    assert FULL_ONLY.home_tier == "full" and FULL_ONLY.runs_at("full") and not FULL_ONLY.runs_at("quick")
    assert FULL_ONLY.describe()["tiers"] == ["full"]


def test_verify_skips_a_full_only_claim_at_the_quick_tier_and_says_so(tiered_registry, capsys, tmp_path):
    out = tmp_path / "rows.json"
    assert main(["verify", "planted", "--quiet", "--json", str(out)]) == EXIT_OK
    err = capsys.readouterr().err
    assert "not judged at the quick tier, skipped: planted.full_only.gram (judged at full)" in err
    import json

    assert [r["claim"] for r in json.loads(out.read_text())] == ["planted.gram"]


def test_verify_refuses_a_full_only_claim_named_at_the_quick_tier(tiered_registry, capsys):
    assert main(["verify", "planted.full_only.gram"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "judged only at the full tier (--tier full)" in err[0]
    assert "its quick size is too small" in err[0]


def test_verify_runs_a_full_only_claim_at_the_full_tier(tiered_registry, capsys, tmp_path):
    import json

    out = tmp_path / "rows.json"
    assert main(["verify", "planted.full_only.gram", "--tier", "full", "--quiet", "--json", str(out)]) == EXIT_OK
    (row,) = json.loads(out.read_text())
    assert row["tier"] == "full" and row["verdict"] == "verified"


def test_an_empty_selection_is_not_a_crash(monkeypatch):
    monkeypatch.setattr(registry, "_loaded", True)
    monkeypatch.setattr(registry, "_CLAIMS", {})
    assert registry.select_at_tier(None, "quick") == ([], [])


def test_a_selection_with_nothing_judged_at_the_tier_is_bad_input(tiered_registry):
    with pytest.raises(registry.RegimeError, match="no selected claim is judged at the quick tier"):
        registry.select_at_tier(["planted.full_only"], "quick")
    run, skipped = registry.select_at_tier(["planted"], "full")
    assert sorted(c.id for c in run) == ["planted.full_only.gram", "planted.gram"] and skipped == []


def test_the_readme_table_says_where_a_claim_is_not_judged():
    text = readme._expected(FULL_ONLY)
    assert text.startswith("quick: not judged: planted: its quick size is too small to decide")
    assert "full: verified" in text


# ------------------------------------------------------------------------------------------ co-scaled ladders
def test_a_coscaled_ladder_sets_the_grown_parameters_at_every_rung():
    lad = Ladder("k", {"quick": (4, 8), "full": (4, 16)}, model="loglog_slope",
                 coscale=lambda p: dict(p, m=int(round(np.log(p["k"]) * 2)), N=10 * p["k"]), coscaled=("m", "N"),
                 coscale_label="m = 2 ln k, N = 10 k")
    rungs = lad.rungs({"k": 1, "m": 99, "N": 99, "d": 7}, "full")
    assert rungs == [{"k": 4, "m": 3, "N": 40, "d": 7}, {"k": 16, "m": 6, "N": 160, "d": 7}]
    assert lad.describe()["coscale"] == "m = 2 ln k, N = 10 k"
    lad.check_settable(["d"])
    with pytest.raises(registry.RegimeError, match="'N' cannot be set: it grows with k along the ladder"):
        lad.check_settable(["d", "N"])
    for missing in ({"coscaled": ("m",)}, {"coscale_label": "m"}):
        with pytest.raises(ValueError, match="co-scaling rule needs its label and the names it sets"):
            Ladder("k", {"quick": (4, 8), "full": (4, 16)}, coscale=lambda p: p, **missing)


def test_verify_refuses_a_set_of_a_coscaled_parameter(capsys):
    assert main(["verify", "mrp.sl.two_view_fraction_limit", "--tier", "full", "--set", "m=12"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "'m' cannot be set: it grows with k along the ladder" in err


def test_a_slope_bootstrap_survives_draws_whose_mean_is_zero():
    """A top rung where two of four seeds measured 0: a draw of only those (a share (2/4)^4 of the draws) has
    no finite slope; it lands far below instead of failing the row, and the row reports that share."""
    s = np.array([10.0, 20.0, 40.0])
    v = np.array([[0.3, 0.2, 0.25, 0.3], [0.2, 0.15, 0.2, 0.25], [0.1, 0.0, 0.0, 0.2]])
    est = limit.bootstrap(s, v, "loglog_slope", n_boot=4000, rng=np.random.default_rng(0))
    assert est["limit"] == pytest.approx(limit.fit(s, v.mean(axis=1), "loglog_slope")["limit"])
    assert est["degenerate_draws"] == pytest.approx(0.5 ** 4, abs=0.015)
    assert est["ci_low"] < -50 and np.isfinite(est["ci_low"])
    # the upper end is the Student-t side, the point plus t_3 sqrt(4/3) times the refits' central spread
    idx = np.random.default_rng(0).integers(0, 4, size=(4000, 4))
    means = v[:, idx].mean(axis=2).T
    draws = limit.fit(s, np.where(means <= 0, np.finfo(float).tiny, means), "loglog_slope")["limit"]
    assert est["ci_high"] == pytest.approx(est["limit"] + bootstrap_half_width(draws, 4))
    assert est["ci_high"] > np.quantile(draws, 0.975)
    with pytest.raises(ValueError, match="needs non-negative values"):
        limit.bootstrap(s, v - 0.05, "loglog_slope", n_boot=400, rng=np.random.default_rng(0))


def test_list_says_which_claims_are_judged_at_one_tier_only(tiered_registry, capsys):
    assert main(["list"]) == EXIT_OK
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "planted.full_only.gram" in ln)
    assert line.rstrip().endswith("[full tier only]")


def test_plot_skips_a_full_only_claim_at_the_quick_tier(tiered_registry, capsys, tmp_path):
    assert main(["plot", "planted", "--quiet", "--out", str(tmp_path)]) == EXIT_OK
    captured = capsys.readouterr()
    assert "skipped: planted.full_only.gram" in captured.err
    assert (tmp_path / "planted.gram.png").exists() and not (tmp_path / "planted.full_only.gram.png").exists()
    assert main(["plot", "planted.full_only.gram", "--out", str(tmp_path / "x.png")]) == EXIT_BAD_INPUT


def test_the_registered_full_only_ladders_skip_the_quick_tier():
    for cid in ("vit.mae.tstar_slope_limit", "vit.mae.learning_order_ratio_limit", "vit.mae.head_start_limit",
                "mrp.sl.two_view_fraction_limit", "mrp.ft.single_view_limit"):
        claim = registry.get(cid)
        assert claim.tiers == ("full",) and claim.tiers_reason
        run, skipped = registry.select_at_tier([cid.split(".")[0]], "quick")
        assert claim in skipped and claim not in run
