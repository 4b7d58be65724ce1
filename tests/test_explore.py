"""Falsification search on planted claims: a counterexample hidden in one corner of the regime, a claim
that needs exactly one of its two assumptions, and a correct claim."""
import json
import math

import pytest

from theorycheck import registry
from theorycheck.claim import Claim
from theorycheck.cli import main
from theorycheck.explore import (FALLBACK_SPREAD, IN_REGIME, Evaluator, explore, find_boundary, influence,
                                 past_value, regime_strategy, replay, stored_counterexamples, summary_rows)
from theorycheck.regime import Constraint, Param, Regime


def _truth(p):
    return p["a"] * math.log(p["n"]) / 10.0


def _corner_claim() -> Claim:
    """Predicts ``a·log(n)/10``; the measurement agrees (noise 0.01, tolerance 0.1) except in the corner
    ``n >= 800, a >= 8`` of the regime, where it is off by one."""
    regime = Regime(
        params=[Param("n", quick=100, kind="int", low=10, high=1000, doc="size"),
                Param("a", quick=1.0, kind="float", low=0.1, high=10.0, doc="scale"),
                Param("k", quick=1, kind="int", low=1, high=5, doc="irrelevant")],
        constraints=[Constraint("budget", lambda p: p["a"] * p["n"] <= 9000, "a·n <= 9000", ("a", "n"))])
    return Claim(
        id="planted.corner", source="test", statement="planted: wrong only in one corner", kind="estimate",
        regime=regime, predict=_truth,
        measure=lambda p, rng: _truth(p) + (1.0 if p["n"] >= 800 and p["a"] >= 8 else 0.0) + rng.normal(0, 0.01),
        tolerance=0.1, negative_control=lambda p: _truth(p) + 1.0, negative_label="off by one",
        seeds={"quick": 3, "full": 3}, measured_label="planted value")


def _needs_one_claim() -> Claim:
    """Correct under its assumptions; wrong as soon as ``n >= 20 a`` fails; ``a >= 0.5`` is not needed."""
    regime = Regime(
        params=[Param("n", quick=100, kind="int", low=10, high=1000, doc="size"),
                Param("a", quick=1.0, kind="float", low=0.1, high=10.0, doc="scale")],
        constraints=[Constraint("enough_n", lambda p: p["n"] >= 20 * p["a"], "n >= 20 a", ("n", "a")),
                     Constraint("a_floor", lambda p: p["a"] >= 0.5, "a >= 0.5", ("a",))])
    return Claim(
        id="planted.needs_one", source="test", statement="planted: needs n >= 20 a", kind="estimate",
        regime=regime, predict=_truth,
        measure=lambda p, rng: _truth(p) + (0.0 if p["n"] >= 20 * p["a"] else 1.0) + rng.normal(0, 0.01),
        tolerance=0.1, negative_control=lambda p: _truth(p) + 1.0, negative_label="off by one",
        seeds={"quick": 3, "full": 3}, measured_label="planted value")


def _region(report, name):
    return next(r for r in report["regions"] if r["region"] == name)


def test_finds_planted_corner_and_shrinks_to_it():
    report = explore(_corner_claim(), budget=300, shrink_budget=300)
    cx = _region(report, IN_REGIME)["counterexample"]
    assert cx is not None
    assert cx["params"]["n"] == 800 and cx["params"]["a"] == 8.0 and cx["params"]["k"] == 1
    assert cx["verdict"] == "refuted" and cx["measured"] == pytest.approx(_truth(cx["params"]) + 1, abs=0.05)
    assert all(e["verdict"] in ("verified", "refuted") for e in report["evaluations"])


def test_correct_claim_reports_no_counterexample():
    report = explore(_needs_one_claim(), budget=60)
    reg = _region(report, IN_REGIME)
    assert reg["counterexample"] is None
    assert reg["counts"].get("verified", 0) == reg["evaluated"] > 10
    assert report["first_breaking_assumption"] is None


def test_outside_regime_names_the_needed_assumption():
    report = explore(_needs_one_claim(), budget=40, shrink_budget=60, outside_regime=True)
    needed, unneeded = _region(report, "enough_n"), _region(report, "a_floor")
    cx = needed["counterexample"]
    assert cx is not None and cx["moved"]["excess"] == 0.0
    assert cx["params"]["n"] < 20 * cx["params"]["a"] and cx["params"]["a"] >= 0.5
    assert unneeded["counterexample"] is None and unneeded["evaluated"] > 5
    assert all(e["params"]["a"] < 0.5 and e["params"]["n"] >= 20 * e["params"]["a"]
               for e in report["evaluations"] if e["region"] == "a_floor")
    assert report["first_breaking_assumption"]["assumption"] == "enough_n"
    neighbour = cx["inside_neighbour"]
    assert neighbour["verdict"] == "verified" and neighbour["params"]["n"] >= 20 * neighbour["params"]["a"]
    rows = {r["relaxed"]: r for r in summary_rows(report)}
    assert rows["-"]["first_failing"] == "none" and rows["a_floor"]["first_failing"] == "none"
    assert rows["enough_n"]["first_failing"].startswith(f"n={cx['params']['n']}, a=")


def test_failure_already_inside_is_not_blamed_on_the_assumption():
    report = explore(_corner_claim(), budget=150, shrink_budget=40, outside_regime=True)
    assert _region(report, IN_REGIME)["counterexample"] is not None
    past = _region(report, "budget")["counterexample"]
    # the corner extends up to the a·n = 9000 boundary: the in-regime neighbour is refuted too
    assert past is not None and past["inside_neighbour"]["verdict"] == "refuted"
    assert report["first_breaking_assumption"] is None


def test_shrink_budget_caps_evaluations():
    report = explore(_corner_claim(), budget=300, shrink_budget=2)
    reg = _region(report, IN_REGIME)
    assert reg["counterexample"] is not None
    assert reg["shrink_evaluations"] <= 2
    assert reg["evaluated"] <= 300 + 2


def test_time_limit_stops_new_evaluations():
    report = explore(_needs_one_claim(), budget=40, outside_regime=True, time_limit=0.0)
    assert report["evaluations"] == []
    assert all(r["timed_out"] and r["evaluated"] == 0 for r in report["regions"])
    assert report["time_limit_s"] == 0.0


def test_polish_rounds_list_elements():
    regime = Regime(params=[Param("w", quick=[1.0], kind="floats", low=0, high=10, length=(1, 2))])
    claim = Claim(id="planted.lists", source="test", statement="planted lists", kind="upper_bound", regime=regime,
                  predict=lambda p: 1.0, measure=lambda p, rng: max(p["w"]) + rng.normal(0, 1e-3),
                  tolerance=0.1, negative_control=lambda p: -5.0, negative_label="too low",
                  seeds={"quick": 2, "full": 2}, measured_label="max w")
    cx = _region(explore(claim, budget=100, shrink_budget=100), IN_REGIME)["counterexample"]
    assert cx is not None and len(cx["params"]["w"]) == 1
    assert 1.1 < cx["params"]["w"][0] <= 2.0 and cx["params"]["w"][0] == float(f"{cx['params']['w'][0]:.2g}")


def test_eval_timeout_stops_a_slow_setting():
    import time as _time

    base = _needs_one_claim()

    def measure(p, rng):
        if p["n"] > 900:
            _time.sleep(60)
        return _truth(p) + rng.normal(0, 0.01)

    claim = Claim(id="planted.slow", source="test", statement="planted slow corner", kind="estimate",
                  regime=base.regime, predict=_truth, measure=measure, tolerance=0.1,
                  negative_control=base.negative_control, negative_label="off by one",
                  seeds={"quick": 1, "full": 1}, measured_label="x")
    evaluator = Evaluator(claim, n_seeds=1, root=1, eval_timeout=3.0)
    slow = evaluator({"n": 950, "a": 1.0}, IN_REGIME, "search")
    fast = evaluator({"n": 100, "a": 1.0}, IN_REGIME, "search")
    assert slow.verdict == "error" and "TimeoutError" in slow.error
    assert fast.verdict == "verified" and fast.measured == pytest.approx(_truth(fast.params), abs=0.05)


def test_errors_are_not_refutations():
    base = _corner_claim()

    def measure(p, rng):
        if p["n"] > 500:
            raise FloatingPointError("planted divergence at step 3 in the loss")
        return _truth(p) + rng.normal(0, 0.01)

    claim = Claim(id="planted.errors", source="test", statement="planted errors", kind="estimate",
                  regime=base.regime, predict=_truth, measure=measure, tolerance=0.1,
                  negative_control=base.negative_control, negative_label="off by one",
                  seeds={"quick": 2, "full": 2}, measured_label="x")
    report = explore(claim, budget=40)
    reg = _region(report, IN_REGIME)
    assert reg["counterexample"] is None
    assert reg["counts"].get("error", 0) == len(reg["errors"]) > 0
    assert all("planted divergence" in e["error"] for e in reg["errors"])


def test_counterexamples_persist_and_replay_first(tmp_path):
    first = explore(_corner_claim(), budget=300, shrink_budget=300, out=tmp_path)
    stored = stored_counterexamples(tmp_path, "planted.corner")
    assert [r["params"] for r in stored] == [_region(first, IN_REGIME)["counterexample"]["params"]]
    assert (tmp_path / "explore_planted.corner.png").stat().st_size > 0
    assert json.loads((tmp_path / "explore_planted.corner.json").read_text())["claim"] == "planted.corner"
    assert [r["verdict"] for r in replay(_corner_claim(), tmp_path)] == ["refuted"]
    second = explore(_corner_claim(), budget=1, shrink_budget=0, out=tmp_path)
    assert second["evaluations"][0]["phase"] == "replay"
    assert second["evaluations"][0]["params"] == stored[0]["params"]
    # a budget of one does not find the corner again: the replayed counterexample stands
    assert len(second["evaluations"]) == 2
    assert _region(second, IN_REGIME)["counterexample"]["params"] == stored[0]["params"]
    assert stored_counterexamples(tmp_path) == stored


def test_find_boundary_and_past_value():
    regime = _needs_one_claim().regime
    c = regime.constraints[0]
    assert find_boundary(regime, c, {"n": 100, "a": 2.0}, "n", -1) == (40, 39)
    inside, outside = find_boundary(regime, c, {"n": 100, "a": 2.0}, "a", +1)
    assert inside == pytest.approx(5.0) and inside <= 5.0 < outside < 5.0 + 1e-6
    assert past_value("float", (inside, outside), +1, 0.0) == 5.01
    assert past_value("float", (inside, outside), +1, 0.1) == 5.5
    assert past_value("int", (40, 39), -1, 0.0) == 39 and past_value("int", (40, 39), -1, 0.25) == 30
    # moving a down never breaks n >= 20 a, and n cannot grow past its declared range to break it
    assert find_boundary(regime, c, {"n": 100, "a": 2.0}, "a", -1) is None
    assert find_boundary(regime, c, {"n": 100, "a": 2.0}, "n", +1) is None


def test_influence_ranks_the_parameters_that_move_the_margin():
    claim = _corner_claim()
    evals = []
    for i, (n, a, k) in enumerate([(100, 1.0, 3), (900, 9.0, 2), (850, 8.5, 4), (200, 2.0, 1), (950, 9.5, 5),
                                   (300, 0.5, 2)]):
        p = {"n": n, "a": a, "k": k}
        wrong = n >= 800 and a >= 8
        evals.append({"index": i, "region": IN_REGIME, "phase": "search", "params": p,
                      "verdict": "refuted" if wrong else "verified", "predicted": _truth(p),
                      "measured": _truth(p) + (1.0 if wrong else 0.0) + 0.001 * i, "ci_low": None, "ci_high": None,
                      "tolerance": 0.1, "error": None, "elapsed_s": 0.0, "moved": None})
    ranked = [name for name, _ in influence(claim, evals)]
    assert set(ranked[:2]) == {"n", "a"}


def test_parameter_without_search_range_is_drawn_around_its_defaults():
    from hypothesis import given, settings

    regime = Regime(params=[Param("s", quick=0.5, full=1.0, low=0, low_open=True),
                            Param("m", quick=20, kind="int", low=1)],
                    constraints=[Constraint("m even", lambda p: p["m"] % 2 == 0, "m even", ("m",))])
    strategy, note = regime_strategy(regime)
    assert "s, m" in note

    @settings(max_examples=50, database=None)
    @given(strategy)
    def check(p):
        assert 0.5 / FALLBACK_SPREAD <= p["s"] <= 1.0 * FALLBACK_SPREAD
        assert 20 / FALLBACK_SPREAD <= p["m"] <= 20 * FALLBACK_SPREAD and p["m"] % 2 == 0

    check()


@pytest.fixture
def planted_registered():
    claim = _corner_claim()
    registry.register(claim)
    yield claim
    registry.unregister(claim.id)


def test_cli_json_and_exit_codes(planted_registered, tmp_path, capsys):
    code = main(["explore", "planted.corner", "--budget", "200", "--json", "-", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    (report,) = json.loads(out)
    assert report["claim"] == "planted.corner" and report["budget"] == 200
    assert _region(report, IN_REGIME)["counterexample"]["verdict"] == "refuted"
    assert (tmp_path / "results.sqlite").exists()
    # a rerun reuses every replicate from the store and replays the stored counterexample first
    assert main(["explore", "planted.corner", "--budget", "200", "--json", "-", "--out", str(tmp_path)]) == 0
    (again,) = json.loads(capsys.readouterr().out)
    assert again["evaluations"][0]["phase"] == "replay"
    assert _region(again, IN_REGIME)["counterexample"]["params"] == _region(report, IN_REGIME)["counterexample"]["params"]
    assert main(["explore", "planted.nonexistent", "--out", str(tmp_path)]) == 2
    assert main(["explore", "planted.corner", "--budget", "0"]) == 2


# ------------------------------------------------------------------ property-test helpers and the agreement figure
def test_verify_command_reproduces_the_setting(capsys):
    """The command a failing property example prints parses back, through the CLI's own parser, to the very
    setting and root that failed (floats exactly, lists and choices included)."""
    import shlex

    from theorycheck.explore.properties import verify_command
    from theorycheck.regime import parse_assignments

    claim = _corner_claim()
    params = {"n": 811, "a": 8.123456789012345, "k": 1}
    cmd = verify_command(claim, params, 987654321)
    words = shlex.split(cmd)
    assert words[:3] == ["theorycheck", "verify", "planted.corner"] and words[-2:] == ["--seed", "987654321"]
    sets = [words[i + 1] for i, w in enumerate(words) if w == "--set"]
    assert claim.regime.resolve("quick", texts=parse_assignments(sets)) == params
    assert "k=" not in cmd          # a parameter at its tier default is not repeated


def test_property_check_names_the_command_and_the_failure():
    from theorycheck.explore.properties import check, failures

    claim = _corner_claim()
    row = check(claim, {"n": 100, "a": 1.0, "k": 1}, root=5)
    assert row["verdict"] == "verified" and failures(claim, row) == []
    with pytest.raises(AssertionError, match=r"theorycheck verify planted.corner --set n=900 --set a=9.0 "
                                             r"--seed 5\n.*verdict refuted, expected verified"):
        check(claim, {"n": 900, "a": 9.0, "k": 1}, root=5)


def test_property_check_requires_the_control_refuted():
    """A claim verified at a setting where its negative control is also verified fails the property."""
    from theorycheck.explore.properties import failures, judge

    base = _corner_claim()
    claim = Claim(id="planted.blunt", source="test", statement="planted: control too close", kind="estimate",
                  regime=base.regime, predict=_truth, measure=lambda p, rng: _truth(p) + rng.normal(0, 1e-4),
                  tolerance=0.1, negative_control=lambda p: _truth(p) + 0.01, negative_label="too close",
                  seeds={"quick": 3, "full": 3}, measured_label="planted value")
    row = judge(claim, {"n": 100, "a": 1.0, "k": 1}, root=1)
    assert row["verdict"] == "verified"
    assert any("negative control (too close) verified" in f for f in failures(claim, row))


def test_drawn_settings_stay_in_the_regime():
    from hypothesis import given

    from theorycheck.explore.properties import ROOT_RANGE, drawn_settings

    claim = _needs_one_claim()

    @given(drawn_settings(claim))
    def inside(drawn):
        params, root = drawn
        assert claim.regime.satisfies(params) and ROOT_RANGE[0] <= root <= ROOT_RANGE[1]

    inside()


def test_agreement_figure_from_explore(tmp_path):
    """explore draws predicted against measured (one point per setting without error, coloured by verdict)."""
    from theorycheck.explore.figures import agreement_points

    claim = _corner_claim()
    report = explore(claim, budget=15, shrink_budget=5, out=tmp_path / "run")
    path = tmp_path / "run" / "explore_planted.corner_agreement.png"
    assert report["agreement_figure"] == str(path) and path.stat().st_size > 0
    points = agreement_points(claim, report["evaluations"])
    assert len(points) == len(report["evaluations"])
    for pt, ev in zip(points, report["evaluations"]):
        assert pt["band"] == pytest.approx((ev["predicted"] - 0.1, ev["predicted"] + 0.1))
        assert pt["verdict"] == ev["verdict"]
    explicit = tmp_path / "agree.png"
    assert explore(claim, budget=3, agreement_figure=explicit)["agreement_figure"] == str(explicit)
    assert explicit.stat().st_size > 0


def test_cli_figure_flag(tmp_path):
    figure = tmp_path / "fig.png"
    registry.register(_needs_one_claim())
    try:
        code = main(["explore", "planted.needs_one", "--budget", "3", "--quiet", "--out", str(tmp_path / "o"),
                     "--figure", str(figure)])
    finally:
        registry.unregister("planted.needs_one")
    assert code == 0 and figure.stat().st_size > 0
