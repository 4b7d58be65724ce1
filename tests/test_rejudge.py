"""``theorycheck rejudge``: recorded limit rows judged again from their replicate values, no rerun."""
import json

import pytest

from theorycheck import limit, registry, runner
from theorycheck.cli import EXIT_BAD_INPUT, EXIT_FAIL, EXIT_OK, main
from theorycheck.limit import Window

from test_limit import TRUE_LIMIT, _planted


@pytest.fixture
def planted():
    claim = registry.register(_planted())
    yield claim
    registry.unregister(claim.id)


def _row(claim):
    return runner.verify_claim(claim, claim.regime.resolve("quick"), 8, 11, progress=False, tier="quick")


def _public(row):
    return json.loads(json.dumps({k: v for k, v in row.items() if k != "extras"}, default=float))


def test_a_row_judged_again_by_the_same_code_is_the_same_row(planted):
    row = _public(_row(planted))
    again = limit.rejudge(planted, row)
    for field in ("verdict", "limit", "limit_ci_low", "limit_ci_high", "ci_low", "ci_high", "resolution",
                  "negative_control", "fit", "window", "ladder", "code_version"):
        assert again[field] == pytest.approx(row[field]) if isinstance(row[field], float) else again[field] == row[field]
    assert again["rejudged"]["verdict_before"] == row["verdict"] == "verified"


def test_a_row_judged_with_a_narrower_interval_gets_the_current_one(planted):
    """A row whose recorded interval was too narrow to cover the limit (as a former interval rule might have
    left it) comes back with the interval the current code computes from the same values."""
    row = _public(_row(planted))
    before = dict(row, limit_ci_low=row["limit"] - 1e-6, limit_ci_high=row["limit"] + 1e-6, verdict="refuted")
    again = limit.rejudge(planted, before)
    assert (again["limit_ci_low"], again["limit_ci_high"]) == pytest.approx((row["limit_ci_low"], row["limit_ci_high"]))
    assert again["limit_ci_low"] <= TRUE_LIMIT <= again["limit_ci_high"]
    assert again["verdict"] == "verified"
    narrow = [row["limit"] - 1e-6, row["limit"] + 1e-6]
    assert again["rejudged"] == {"code_version": again["rejudged"]["code_version"], "verdict_before": "refuted",
                                 "interval_before": narrow, "verdict_when_measured": "refuted",
                                 "interval_when_measured": narrow}


def test_the_claims_current_expectation_and_band_are_used(planted):
    row = _public(_row(planted))
    registry.unregister(planted.id)
    moved = registry.register(_planted(expected="refuted", positive_control=lambda p: TRUE_LIMIT,
                                       positive_label="planted limit"))
    moved.predict = lambda p: TRUE_LIMIT + 1.0
    again = limit.rejudge(moved, row)
    assert again["expected"] == "refuted" and again["verdict"] == "refuted"
    assert again["positive_control"]["verdict"] == "verified"
    assert again["limit"] == row["limit"]


def test_a_row_from_another_ladder_is_refused(planted):
    row = _public(_row(planted))
    registry.unregister(planted.id)
    other = registry.register(_planted(window=Window(largest=3)))
    with pytest.raises(ValueError, match="its window changed since"):
        limit.rejudge(other, row)


def test_cli_rejudges_limit_rows_and_keeps_the_others(planted, tmp_path, capsys):
    row = _public(_row(planted))
    fixed = {"claim": "other.fixed", "kind": "estimate", "verdict": "verified", "measured": 1.0}
    src = tmp_path / "rows.json"
    src.write_text(json.dumps([fixed, dict(row, limit_ci_low=0.0, limit_ci_high=0.0)]))
    assert main(["rejudge", str(src), "--json", str(src)]) == EXIT_OK
    out = json.loads(src.read_text())
    assert out[0] == fixed
    assert out[1]["limit_ci_low"] == pytest.approx(row["limit_ci_low"])
    assert out[1]["rejudged"]["interval_before"] == [0.0, 0.0]
    assert "Before this judgement" in capsys.readouterr().out


def test_cli_exit_status_follows_the_judged_rows(planted, tmp_path):
    row = _public(_row(planted))
    registry.unregister(planted.id)
    wrong = registry.register(_planted())
    wrong.predict = lambda p: TRUE_LIMIT + 1.0          # now refuted where verified is expected
    src = tmp_path / "rows.json"
    src.write_text(json.dumps([row]))
    assert main(["rejudge", str(src)]) == EXIT_FAIL


@pytest.mark.parametrize("content, match", [
    (None, "is not a file"), ("{not json", "is not JSON"), ('{"a": 1}', "is not a list of verify rows"),
    ('[{"claim": "x", "verdict": "verified", "kind": "estimate"}]', "holds no limit row"),
    ('[{"claim": "nowhere.limit", "verdict": "verified", "kind": "limit"}]', "unregistered claims nowhere.limit"),
])
def test_cli_refuses_bad_rows_files_in_one_line(tmp_path, capsys, content, match):
    path = tmp_path / "rows.json"
    if content is not None:
        path.write_text(content)
    assert main(["rejudge", str(path)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1


def test_plot_draws_a_recorded_row_without_running_it(planted, tmp_path, monkeypatch):
    from theorycheck import runner as runner_module

    src = tmp_path / "rows.json"
    src.write_text(json.dumps([_public(_row(planted))]))

    def refuse(*a, **k):
        raise AssertionError("plot --rows ran the claim")

    monkeypatch.setattr(runner_module, "verify_claim", refuse)
    out = tmp_path / "planted.png"
    assert main(["plot", planted.id, "--rows", str(src), "--out", str(out), "--quiet"]) == EXIT_OK
    assert out.stat().st_size > 10_000


@pytest.mark.parametrize("extra, match", [
    (["--seed", "3"], "--seed cannot go with it"), (["--tier", "full"], "are not of the full tier"),
])
def test_plot_rows_refuses_what_it_cannot_draw(planted, tmp_path, capsys, extra, match):
    src = tmp_path / "rows.json"
    src.write_text(json.dumps([_public(_row(planted))]))
    assert main(["plot", planted.id, "--rows", str(src), "--out", str(tmp_path / "x.png"), *extra]) == EXIT_BAD_INPUT
    assert match in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_plot_rows_needs_a_row_of_every_claim(planted, tmp_path, capsys):
    src = tmp_path / "rows.json"
    src.write_text(json.dumps([{"claim": "other.claim", "verdict": "verified"}]))
    assert main(["plot", planted.id, "--rows", str(src), "--out", str(tmp_path / "x.png")]) == EXIT_BAD_INPUT
    assert "has no row of planted.limit" in capsys.readouterr().err


def test_a_second_judgement_keeps_what_the_row_had_when_measured(planted):
    row = _public(_row(planted))
    narrow = dict(row, limit_ci_low=row["limit"] - 1e-6, limit_ci_high=row["limit"] + 1e-6, verdict="refuted")
    twice = limit.rejudge(planted, limit.rejudge(planted, narrow))
    assert twice["rejudged"]["verdict_before"] == "verified"
    assert twice["rejudged"]["verdict_when_measured"] == "refuted"
    assert twice["rejudged"]["interval_when_measured"] == [row["limit"] - 1e-6, row["limit"] + 1e-6]


@pytest.mark.parametrize("change, match", [
    ({"error": "boom"}, "no rung values to judge"), ({"tier": "elsewhere"}, "where the claim is not judged"),
])
def test_rows_that_cannot_be_judged_are_refused(planted, change, match):
    with pytest.raises(ValueError, match=match):
        limit.rejudge(planted, dict(_public(_row(planted)), **change))


def test_cli_names_a_malformed_limit_row_in_one_line(planted, tmp_path, capsys):
    row = _public(_row(planted))
    del row["root_seed"]
    src = tmp_path / "rows.json"
    src.write_text(json.dumps([row]))
    assert main(["rejudge", str(src)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "lacks root_seed" in err and err.count("\n") == 1


def test_plot_rows_refuses_a_seed_of_zero_and_a_claim_twice(planted, tmp_path, capsys):
    row = _public(_row(planted))
    src = tmp_path / "rows.json"
    src.write_text(json.dumps([row]))
    assert main(["plot", planted.id, "--rows", str(src), "--seed", "0", "--out", str(tmp_path / "x.png")]) == EXIT_BAD_INPUT
    assert "--seed cannot go with it" in capsys.readouterr().err
    src.write_text(json.dumps([row, row]))
    assert main(["plot", planted.id, "--rows", str(src), "--out", str(tmp_path / "x.png")]) == EXIT_BAD_INPUT
    assert "holds two rows of planted.limit" in capsys.readouterr().err
