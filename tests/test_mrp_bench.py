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


def test_bench_table_prints_missing_ratios_and_exponents(monkeypatch, capsys):
    """A reference that is not installed leaves its ratio ``None`` (printed ``n/a``, kept ``null`` in JSON);
    a cost-growth row has exponents and no single time."""
    import json

    from theorycheck import cli, registry

    rows = [{"case": "step", "seconds": 0.002, "ratio_vs_floor": 1.25, "ratio_vs_torch": None},
            {"case": "step cost growth", "exponent": 2.5, "exponent_ci_low": 2.25, "exponent_ci_high": 2.75}]
    monkeypatch.setitem(registry._BENCHES, "fake", lambda quick: rows)
    monkeypatch.setattr(registry, "load_plugins", lambda: None, raising=False)
    assert cli.main(["bench", "fake", "--quick"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "2.00 ms" in out[0] and "ratio_vs_floor=1.25" in out[0] and "ratio_vs_torch=n/a" in out[0]
    assert "exponent=2.50, exponent_ci_low=2.25, exponent_ci_high=2.75" in out[1] and " ms" not in out[1]
    assert cli.main(["bench", "fake", "--quick", "--json", "-"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed[0]["ratio_vs_torch"] is None and printed[1]["exponent"] == 2.5
