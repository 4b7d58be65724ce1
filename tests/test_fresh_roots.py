"""Decisive verdicts: the quick tier comes out as expected under seed roots that no other test uses.

A verdict that flips under a fresh root was on its band's edge; the claims size their seeds, regimes and
predictions so that the interval sits well inside (or well outside) the band whatever the root.
"""
import pytest

from theorycheck import registry
from theorycheck.runner import DEFAULT_ROOT, verify_claim

from test_claims_battery import assert_row_as_expected

FRESH_ROOTS = (7, 31337, 2718281)
CLAIMS = registry.all_claims()


def test_fresh_roots_are_fresh():
    assert DEFAULT_ROOT not in FRESH_ROOTS and len(set(FRESH_ROOTS)) == len(FRESH_ROOTS)


@pytest.mark.parametrize("root", FRESH_ROOTS)
@pytest.mark.parametrize("claim", CLAIMS, ids=[c.id for c in CLAIMS])
def test_quick_tier_under_a_fresh_root(claim, root, pool2):
    row = verify_claim(claim, claim.regime.resolve("quick"), int(claim.seeds["quick"]), root, backend=pool2,
                       progress=False, tier="quick")
    assert_row_as_expected(claim, row, "quick")
