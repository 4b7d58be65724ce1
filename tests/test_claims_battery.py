"""The shared battery (:mod:`theorycheck.testing`) over every registered claim, at the quick tier.

Each claim must come out as its expected verdict at the quick tier, its negative control -- the nearest
meaningful wrong prediction, judged by the same verdict logic -- must come out ``refuted``, a claim expected
``refuted`` must carry a positive control (the corrected statement) that comes out ``verified``, and the
claim must pass the other light checks of the battery (documented, pre-registered prediction, reproducible
from its generator, runs in a worker process, JSON extras).  The heavy checks (no hidden global state,
runnable regime strategy, plot, derivation self-checks, whose SymPy identities ``test_tensor_power.py`` and
``test_mrp.py`` also assert) carry the marker ``slow``; ``test_full_tier`` (marker ``full``) asserts the
verdicts at the full tier.  ``pytest -k CLAIM`` runs the battery of one claim; ``-m "slow or not slow"``
adds the heavy checks.  The quick-tier rows the light checks share run on two worker processes (the
checks that rerun a replicate rerun it in this process and in a fresh one, so the pool is checked too).
"""
import pytest

from theorycheck.testing import HEAVY_CHECKS, LIGHT_CHECKS, assert_row_as_expected, battery, claims, quick_row

test_battery = battery(checks=LIGHT_CHECKS, workers=2)
test_battery_heavy = pytest.mark.slow(battery(checks=HEAVY_CHECKS))


@pytest.mark.full
@pytest.mark.parametrize("claim", [c for c in claims() if c.runs_at("full")], ids=lambda c: c.id)
def test_full_tier(claim, full_backend):
    assert_row_as_expected(claim, quick_row(claim, tier="full", backend=full_backend), "full")


def test_battery_refuses_a_bad_worker_count():
    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(ValueError, match="workers must be a positive integer"):
            battery(workers=bad)
