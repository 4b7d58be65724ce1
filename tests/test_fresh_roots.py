"""Decisive verdicts: the quick tier comes out as expected under seed roots that no other test uses.

A verdict that flips under a fresh root was on its band's edge; the claims size their seeds, regimes and
predictions so that the interval sits well inside (or well outside) the band whatever the root.

The default run judges every claim under one of the three roots (one root per family, in turn, so that a
family's claims still share their runs), which costs one quick tier; ``-m slow`` judges every claim under all
three.
"""
import pytest

from theorycheck import registry
from theorycheck.runner import DEFAULT_ROOT, verify_claim

from test_claims_battery import assert_row_as_expected

FRESH_ROOTS = (7, 31337, 2718281)
# a claim judged at the full tier only (Claim.tiers) records the roots it was run under in its own module
CLAIMS = [claim for claim in registry.all_claims() if claim.runs_at("quick")]


def test_fresh_roots_are_fresh():
    assert DEFAULT_ROOT not in FRESH_ROOTS and len(set(FRESH_ROOTS)) == len(FRESH_ROOTS)


FAMILIES = sorted({claim.id.split(".")[0] for claim in CLAIMS})
CASES = [pytest.param(claim, root, id=f"{claim.id}-{root}",
                      marks=() if FAMILIES.index(claim.id.split(".")[0]) % len(FRESH_ROOTS) == j
                      else pytest.mark.slow)
         for claim in CLAIMS for j, root in enumerate(FRESH_ROOTS)]


def test_every_root_judges_a_third_of_the_claims_by_default():
    default = [case for case in CASES if not case.marks]
    assert len(default) == len(CLAIMS)
    assert {case.values[1] for case in default} == set(FRESH_ROOTS)


@pytest.mark.parametrize("claim, root", CASES)
def test_quick_tier_under_a_fresh_root(claim, root, pool2):
    row = verify_claim(claim, claim.regime.resolve("quick"), int(claim.seeds["quick"]), root, backend=pool2,
                       progress=False, tier="quick")
    assert_row_as_expected(claim, row, "quick")
