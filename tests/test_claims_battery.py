"""The shared battery: every registered claim at the quick tier.

Each claim must come out as its ``expected`` verdict, and its negative control — a deliberately wrong
prediction judged by the same verdict logic — must come out ``refuted``.
"""
import pytest

from theorycheck import registry
from theorycheck.runner import DEFAULT_ROOT, verify_claim

CLAIMS = registry.all_claims()


@pytest.mark.parametrize("claim", CLAIMS, ids=[c.id for c in CLAIMS])
def test_claim_quick_tier(claim):
    params = claim.regime.resolve("quick")
    row = verify_claim(claim, params, int(claim.seeds["quick"]), DEFAULT_ROOT, progress=False)
    assert row.get("error") is None, row.get("error")
    assert row["verdict"] == claim.expected, (
        f"{claim.id}: verdict {row['verdict']} != expected {claim.expected}; measured {row['measured']} "
        f"CI [{row['ci_low']}, {row['ci_high']}] vs predicted {row['predicted']} ± {row['tolerance']}")
    assert row["negative_control"]["verdict"] == "refuted", (
        f"{claim.id}: negative control ({claim.negative_label}) came out {row['negative_control']['verdict']}")


@pytest.mark.parametrize("claim", CLAIMS, ids=[c.id for c in CLAIMS])
def test_claim_contract(claim):
    """Static contract: defaults lie in the regime for both tiers, and the prediction is finite."""
    import math

    from theorycheck.verdict import as_interval

    for tier in ("quick", "full"):
        params = claim.regime.resolve(tier)
        lo, hi = as_interval(claim.predict(params))
        assert math.isfinite(lo) and math.isfinite(hi)
        assert as_interval(claim.negative_control(params)) != (lo, hi)
    assert claim.source and claim.statement and claim.measured_label
