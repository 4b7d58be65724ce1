"""The cost-growth ladder of ``theorycheck bench mrp``: the claims' tiers are rungs of it, and its other
rungs are sizes the claims' regime accepts (no timing is asserted)."""
import numpy as np
import pytest

from claims import mrp


@pytest.mark.parametrize("quick", [True, False])
def test_growth_ladder_passes_through_the_tiers(quick):
    tier = mrp.gain_regime().resolve("quick" if quick else "full")
    ladder = mrp._growth_ladder(quick)
    ks = [p["k"] for p in ladder]
    assert ks == sorted(ks) and tier["k"] in ks
    at_tier = ladder[ks.index(tier["k"])]
    assert {n: at_tier[n] for n in ("m", "N", "P", "d")} == {n: tier[n] for n in ("m", "N", "P", "d")}
    for p in ladder:
        assert p["N"] == 50 * p["k"] and p["d"] >= 8 * p["k"]
        assert p["m"] == round(2.4 + 2 * np.log(p["k"]))
        if p["k"] <= mrp.gain_regime().param("k").high:
            mrp.gain_regime().validate(p)
