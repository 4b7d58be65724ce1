"""The verdict row's evidence: calibration on an independent stream, pooled-count intervals, positive
controls, competing theories, per-tier expectations, resolution and control distance (framework only)."""
import math

import numpy as np
import pytest

from theorycheck.claim import Calibration, Claim
from theorycheck.regime import Param, Regime
from theorycheck.runner import (CALIBRATION, DEFAULT_ROOT, MEASURE, replicate_identity, replicate_seed, row_ok,
                                verify_claim)
from theorycheck.store import Store
from theorycheck.verdict import Tolerance, wilson_interval

REGIME = Regime([Param("n", 400, 4000, kind="int", low=10, high=10 ** 6, doc="draws per replicate")])
SEEN = []


def _coin_flips(p, rng):
    """Successes of n fair coin flips: a proportion 1/2 counted over samples."""
    k = int(rng.binomial(p["n"], 0.5))
    return {"value": k / p["n"], "successes": k, "trials": p["n"]}


def _normal_mean(p, rng):
    SEEN.append(replicate_identity(rng))
    return float(rng.normal(3.0, 1.0, size=p["n"]).mean())


def _calibrate_mean(p, rng):
    SEEN.append(replicate_identity(rng))
    return float(rng.normal(3.0, 1.0, size=p["n"]).mean())


def _claim(**kw):
    base = dict(id="planted.coin", source="test", statement="a fair coin", kind="estimate", regime=REGIME,
                predict=lambda p: 0.5, measure=_coin_flips, tolerance=Tolerance(0.05),
                negative_control=lambda p: 0.6, negative_label="a biased coin 0.6", measured_label="heads",
                tolerance_reason="test", seeds={"quick": 4, "full": 8})
    base.update(kw)
    return Claim(**base)


def test_calibration_runs_on_their_own_stream_and_feed_the_prediction():
    SEEN.clear()
    got = []

    def predict(p, cal):
        got.append(cal)
        return (cal.ci_low, cal.ci_high)

    claim = _claim(id="planted.calibrated", measure=_normal_mean, predict=predict, calibrate=_calibrate_mean,
                   prediction_source="independent_runs", calibration_label="mean of the calibration runs",
                   negative_control=lambda p, cal: cal.mean + 0.5, tolerance=Tolerance(0.1),
                   calibration_seeds={"quick": 3, "full": 3})
    row = verify_claim(claim, REGIME.resolve("quick"), 4, progress=False)
    keys = [k for _, k in SEEN]
    assert keys[:3] == [(0, 1), (1, 1), (2, 1)] and keys[3:] == [(0,), (1,), (2,), (3,)]
    cal = got[0]
    assert isinstance(cal, Calibration) and cal.seeds == 3 and cal.ci_low < cal.mean < cal.ci_high
    assert row["prediction_source"] == "independent_runs" and row["calibration"]["seeds"] == 3
    assert row["predicted"] == [cal.ci_low, cal.ci_high]
    assert set(row["values"]).isdisjoint(cal.values)             # no measured replicate is a calibration run
    assert row["verdict"] == "verified" and row["negative_control"]["verdict"] == "refuted"
    with pytest.raises(ValueError, match="calibration"):
        claim.prediction(REGIME.resolve("quick"))                  # the prediction cannot run without them


def test_calibration_and_measured_seeds_differ():
    a = replicate_seed("c", DEFAULT_ROOT, 0, MEASURE)
    b = replicate_seed("c", DEFAULT_ROOT, 0, CALIBRATION)
    assert a.spawn_key != b.spawn_key
    assert np.random.default_rng(a).random() != np.random.default_rng(b).random()


def test_calibration_records_are_stored_apart_and_reused(tmp_path):
    claim = _claim(id="planted.calibrated2", measure=_normal_mean, predict=lambda p, cal: cal.mean,
                   calibrate=_calibrate_mean, prediction_source="independent_runs", calibration_label="mean",
                   negative_control=lambda p, cal: cal.mean + 1, tolerance=Tolerance(0.2))
    with Store(tmp_path) as st:
        first = verify_claim(claim, REGIME.resolve("quick"), 4, store=st, progress=False)
        claims = {r["claim"] for r in st.table("measurements")}
    assert claims == {"planted.calibrated2", "planted.calibrated2@calibration"}
    SEEN.clear()
    with Store(tmp_path) as st:
        again = verify_claim(claim, REGIME.resolve("quick"), 4, store=st, progress=False)
    assert SEEN == [] and again["calibration"]["mean"] == first["calibration"]["mean"]


def test_wilson_cluster_interval_pools_counts_and_never_collapses():
    claim = _claim(interval="wilson_cluster")
    row = verify_claim(claim, REGIME.resolve("quick"), 6, progress=False)
    succ = sum(e["successes"] for e in row["extras"])
    lo, hi = wilson_interval(succ, 6 * 400)
    assert row["measured"] == pytest.approx(succ / 2400)
    assert row["ci_low"] <= lo and row["ci_high"] >= hi and row["interval"] == "wilson_cluster"
    unanimous = _claim(id="planted.sure", interval="wilson_cluster", predict=lambda p: 1.0,
                       negative_control=lambda p: 0.9,
                       measure=lambda p, rng: {"value": 1.0, "successes": p["n"], "trials": p["n"]})
    row = verify_claim(unanimous, REGIME.resolve("quick"), 6, progress=False)
    assert row["ci_high"] == 1.0 and row["ci_low"] < 1.0               # 2400 of 2400, not [1, 1]
    missing = _claim(id="planted.nocounts", interval="wilson_cluster", measure=lambda p, rng: 0.5)
    row = verify_claim(missing, REGIME.resolve("quick"), 2, progress=False)
    assert row["verdict"] == "error" and "successes and trials" in row["error"]


def test_resolution_and_control_distance_in_the_row():
    row = verify_claim(_claim(), REGIME.resolve("quick"), 8, progress=False)
    lo, hi = row["ci_low"], row["ci_high"]
    assert row["resolution"] == pytest.approx(min(hi - 0.5 + 0.05, 0.5 + 0.05 - lo))
    # the control 0.6 sits 0.05 past the band edge 0.55: one tolerance
    assert row["control_distance"] == pytest.approx(1.0) and row["control_distance_unit"] == "tolerance"
    assert row["negative_control"]["resolutions"] == pytest.approx(0.1 / row["resolution"])


def test_positive_control_and_competing_theory_decide_the_row():
    claim = _claim(id="planted.wrong", predict=lambda p: 0.7, expected="refuted", finding="the coin is fair",
                   negative_control=lambda p: 0.8, positive_control=lambda p: 0.5,
                   positive_label="a fair coin", alternative=lambda p: 0.9, alternative_label="a sure coin")
    row = verify_claim(claim, REGIME.resolve("quick"), 6, progress=False)
    assert row["verdict"] == "refuted" and row["positive_control"]["verdict"] == "verified"
    assert row["alternative"]["verdict"] == "refuted" and row_ok(row)
    bad = _claim(id="planted.wrong2", predict=lambda p: 0.7, expected="refuted", finding="x",
                 negative_control=lambda p: 0.8, positive_control=lambda p: 0.65, positive_label="not fair either")
    row = verify_claim(bad, REGIME.resolve("quick"), 6, progress=False)
    assert row["positive_control"]["verdict"] != "verified" and not row_ok(row)


def test_expectations_per_tier():
    claim = _claim(id="planted.tiers", expected_by_tier={"full": "inconclusive"},
                   finding_by_tier={"full": "the full tier's finding"})
    assert claim.expected_for("quick") == "verified" and claim.expected_for("full") == "inconclusive"
    row = verify_claim(claim, REGIME.resolve("full"), 2, progress=False, tier="full")
    assert row["expected"] == "inconclusive" and row["finding"] == "the full tier's finding"
    with pytest.raises(ValueError, match="finding"):
        _claim(id="planted.nofinding", expected_by_tier={"full": "refuted"})
    with pytest.raises(ValueError, match="at least the quick tier"):
        _claim(id="planted.fewer", seeds={"quick": 8, "full": 4})
    with pytest.raises(ValueError, match="role"):
        _claim(id="planted.role", role="lemma")
    with pytest.raises(ValueError, match="calibrate"):
        _claim(id="planted.source", prediction_source="independent_runs")
    with pytest.raises(ValueError, match="positive control"):
        _claim(id="planted.nofix", expected="refuted", finding="wrong")


def test_consistency_role_is_reported():
    row = verify_claim(_claim(id="planted.check", role="consistency"), REGIME.resolve("quick"), 3, progress=False)
    assert row["role"] == "consistency" and not math.isnan(row["resolution"])


def test_a_high_probability_event_is_counted_not_hidden():
    """Replicates whose event failed leave the interval and are counted; too many make the row an error."""
    def measure(p, rng):
        u = rng.random()
        return {"value": 0.5 + 0.01 * rng.standard_normal() if u > 0.2 else 0.0, "event": bool(u > 0.2)}

    claim = _claim(id="planted.whp", measure=measure, event_label="the run converged", interval="student_t",
                   max_event_failures=0.5)
    row = verify_claim(claim, REGIME.resolve("quick"), 12, progress=False)
    failed = sum(not e["event"] for e in row["extras"])
    assert row["event_failures"] == failed >= 1 and row["verdict"] == "verified"      # the zeros are left out
    assert row["ci_low"] > 0.45
    strict = _claim(id="planted.whp2", measure=measure, event_label="the run converged", max_event_failures=0.0)
    row = verify_claim(strict, REGIME.resolve("quick"), 12, progress=False)
    assert row["verdict"] == "error" and "failed in" in row["error"]


def _flips_with_aux(p, rng):
    out = _coin_flips(p, rng)
    i = replicate_identity(rng)[1][0]
    return {**out, "aux": float("nan") if i == 0 else float(i), "none": float("nan")}


def test_reported_extras_are_the_mean_of_finite_replicate_values():
    claim = _claim(id="planted.reported", measure=_flips_with_aux, reported_extras=("aux", "none"))
    row = verify_claim(claim, REGIME.resolve("quick"), 4, progress=False)
    assert row["aux"] == pytest.approx((1 + 2 + 3) / 3)       # replicate 0 reports NaN and is left out
    assert row["none"] is None
    assert "aux" not in verify_claim(_claim(id="planted.unreported", measure=_flips_with_aux),
                                     REGIME.resolve("quick"), 4, progress=False)


def test_reported_extras_may_not_overwrite_row_fields():
    with pytest.raises(ValueError, match="verdict"):
        _claim(id="planted.clash", reported_extras=("verdict",))
