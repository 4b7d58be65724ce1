"""The shared battery: every registered claim at the quick tier.

Each claim must come out as its expected verdict at the quick tier, its negative control — the nearest
meaningful wrong prediction, judged by the same verdict logic — must come out ``refuted``, and a claim
expected ``refuted`` must carry a positive control (the corrected statement) that comes out ``verified``.
``test_full_tier`` (marker ``full``, deselected by default: ``python -m pytest -m full``) asserts the same at
the full tier.
"""
import math

import pytest

from theorycheck import registry
from theorycheck.regime import TIERS
from theorycheck.runner import DEFAULT_ROOT, verify_claim
from theorycheck.verdict import as_interval

CLAIMS = registry.all_claims()
IDS = [c.id for c in CLAIMS]


def assert_row_as_expected(claim, row, tier):
    assert row.get("error") is None, row.get("error")
    assert row["verdict"] == claim.expected_for(tier), (
        f"{claim.id} ({tier}): verdict {row['verdict']} != expected {claim.expected_for(tier)}; measured "
        f"{row['measured']} CI [{row['ci_low']}, {row['ci_high']}] vs predicted {row['predicted']} ± "
        f"{row['tolerance']}")
    assert row["negative_control"]["verdict"] == "refuted", (
        f"{claim.id} ({tier}): negative control ({claim.negative_label}) came out "
        f"{row['negative_control']['verdict']}")
    if claim.positive_control is not None:
        assert row["positive_control"]["verdict"] == "verified", (
            f"{claim.id} ({tier}): positive control ({claim.positive_label}) came out "
            f"{row['positive_control']['verdict']}")
    if claim.alternative is not None:
        assert row["alternative"]["verdict"] == "refuted", (
            f"{claim.id} ({tier}): the competing theory ({claim.alternative_label}) came out "
            f"{row['alternative']['verdict']}")
    if claim.role == "theorem":
        assert row["ci_low"] < row["ci_high"], f"{claim.id}: a zero-width interval from a random measurement"
    for field in ("resolution", "interval", "prediction_source", "control_distance", "role"):
        assert row[field] is not None, f"{claim.id}: row lacks {field}"


@pytest.mark.parametrize("claim", CLAIMS, ids=IDS)
def test_claim_quick_tier(claim):
    params = claim.regime.resolve("quick")
    row = verify_claim(claim, params, int(claim.seeds["quick"]), DEFAULT_ROOT, progress=False, tier="quick")
    assert_row_as_expected(claim, row, "quick")


@pytest.mark.full
@pytest.mark.parametrize("claim", CLAIMS, ids=IDS)
def test_full_tier(claim, full_backend):
    params = claim.regime.resolve("full")
    row = verify_claim(claim, params, int(claim.seeds["full"]), DEFAULT_ROOT, backend=full_backend,
                       progress=False, tier="full")
    assert_row_as_expected(claim, row, "full")


@pytest.mark.parametrize("claim", CLAIMS, ids=IDS)
def test_claim_contract(claim):
    """Static contract: defaults lie in the regime for both tiers, the prediction is finite and differs from
    both controls, the tolerance states its reason, and a claim expected ``refuted`` at a tier has a
    positive control and that tier's finding."""
    for tier in TIERS:
        params = claim.regime.resolve(tier)
        if claim.prediction_source == "independent_runs":
            continue  # the prediction needs calibration runs: checked by the quick-tier battery
        lo, hi = as_interval(claim.predict(params))
        assert math.isfinite(lo) and math.isfinite(hi)
        assert as_interval(claim.negative_control(params)) != (lo, hi)
        if claim.positive_control is not None:
            assert as_interval(claim.positive_control(params)) != (lo, hi)
    assert claim.source and claim.statement and claim.measured_label
    assert claim.tolerance_reason, f"{claim.id}: the tolerance must state its reason (tolerance_reason)"
    assert claim.seeds["full"] >= claim.seeds["quick"]
    for tier in TIERS:
        if claim.expected_for(tier) == "refuted":
            assert claim.positive_control is not None and claim.positive_label, (
                f"{claim.id}: expected refuted at the {tier} tier without a positive control")
        if claim.expected_for(tier) != "verified":
            assert claim.finding_for(tier)
