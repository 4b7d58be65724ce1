"""Property tests of mask-reconstruction pretraining vs supervised learning: k, s, q and the other data and
training parameters drawn from each claim's regime (the strategy ``theorycheck explore`` searches), judged
by the claim's own measurement and verdict.  Each setting trains the paper's networks on 8 to 16 seeds, so
these tests are marked ``slow`` (deselected by default; ``-m property`` or ``-m slow`` runs them).

The SL claims share one regime and one set of training runs per replicate (an in-process cache keyed by
parameters and replicate), so one drawn setting judges all three of them for the cost of one.

A failing example's message starts with the ``theorycheck verify ... --set ... --seed ...`` command that
reproduces it.
"""
import pytest
from hypothesis import given, note

from theorycheck import registry
from theorycheck.explore.properties import check, drawn_settings, judge, property_settings, verify_command

pytestmark = [pytest.mark.property, pytest.mark.slow]

POWER_METHOD = registry.get("mrp.sl.power_method")
ACCOUNTING = registry.get("mrp.sl.single_view_accounting")
SL_SINGLE_VIEW = registry.get("mrp.sl.single_view_accuracy")
FT_VS_CONTROL = registry.get("mrp.ft.gain_vs_control")
SL_TRIO = (POWER_METHOD, ACCOUNTING, SL_SINGLE_VIEW)


def test_sl_claims_share_one_regime():
    """The trio below draws from one regime; it must be the same one for all three claims."""
    first = SL_TRIO[0].regime
    for claim in SL_TRIO[1:]:
        assert claim.regime.params == first.params
        assert [c.name for c in claim.regime.constraints] == [c.name for c in first.constraints]


@property_settings()
@given(drawn_settings(SL_SINGLE_VIEW))
def test_sl_power_method_accounting_and_single_view_accuracy(drawn):
    """At each drawn (k, s, q, ...): the winning correlation grows with exponent q - 1 (power method), a
    single-view sample is classified correctly exactly when its class learned its view, 1/2 on one-view
    classes (accounting), and SL single-view accuracy matches its finite-k prediction; every negative
    control is refuted at the same setting."""
    params, root = drawn
    for claim in SL_TRIO:
        note(verify_command(claim, params, root))
    for claim in SL_TRIO:
        row = check(claim, params, root)
        assert row["seeds"] == claim.seeds["quick"]


@property_settings()
@given(drawn_settings(FT_VS_CONTROL))
def test_mrp_finetuning_against_same_architecture_control(drawn):
    """C8's headline, MRP-FT's single-view accuracy gain over the same architecture trained from random
    initialisation >= 0.3, is never verified at a drawn setting, and its negative control (the control ahead
    by 0.3) is refuted there.

    The tiers assert the claim's expected ``refuted``; across the regime the gain runs from below 0 to 0.25-0.28
    (no noise; N = 250 with d = 48, P = 12), where 16 seeds cannot tell it from 0.3, so a drawn setting must
    not confirm C8 rather than refute it (the claim's finding has the settings).  The corrected statement
    (gain >= 0) is the positive control at the tiers, not a property of the whole regime (a strong teacher
    distilled for long leaves MRP-FT below the control), so a drawn setting only notes its verdict."""
    params, root = drawn
    command = verify_command(FT_VS_CONTROL, params, root)
    note(command)
    row = judge(FT_VS_CONTROL, params, root)
    where = f"reproduce with\n  {command}\n  measured {row['measured']} CI [{row['ci_low']}, {row['ci_high']}]"
    assert row["verdict"] in ("refuted", "inconclusive"), f"C8's gain >= 0.3 came out {row['verdict']}; {where}"
    assert row["negative_control"]["verdict"] == "refuted", f"negative control not refuted; {where}"
    assert row["seeds"] == FT_VS_CONTROL.seeds["quick"]
    note(f"verdict {row['verdict']}; corrected statement (gain >= 0): {row['positive_control']['verdict']}")
