"""mest regimes: --set validation with one-line messages, and predict for random valid configurations."""
import json

import numpy as np
import pytest
from hypothesis import given, settings

from derivations import two_stage as ts
from theorycheck import cli, registry
from theorycheck.regime import RegimeError

SPECTRAL = "mest.spectral.mean_risk"


def _predict(capsys, *sets):
    argv = ["predict", SPECTRAL, "--json"]
    for s in sets:
        argv += ["--set", s]
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("assignment, names", [
    ("r=0", ["r=0", "allowed"]),
    ("n=abc", ["n=", "abc", "allowed"]),
    ("m=1.5", ["m=1.5", "integer"]),
    ("noise_var=-1", ["noise_var", "allowed"]),
    ("eigenvalues=[3,-1]", ["eigenvalues", "allowed"]),
    ("beta=[1,2", ["beta", "malformed"]),
    ("sampler=exact", ["sampler", "wishart"]),
    ("bogus=1", ["bogus", "allowed"]),
])
def test_bad_values_exit_2_naming_the_parameter(capsys, assignment, names):
    code, out, err = _predict(capsys, assignment)
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    for word in names:
        assert word in err


@pytest.mark.parametrize("sets, constraint, param", [
    (["r=2"], "beta_length", "beta"),
    (["eigenvalues=[1,2,3,0.5]"], "eigenvalues_descending", "eigenvalues"),
    (["eigenvalues=[5,3,3,1]", "r=2", "beta=[1,1]", "m=100"], "eigengap", "r"),
    (["eigenvalues=[5,3,2]", "beta=[1,1,1]", "m=100"], "proper_subspace", "r"),
    (["n=4"], "ols_mean_exists", "n"),
    (["m=10"], "full_rank_sample_covariance", "m"),
])
def test_violated_assumptions_are_named(capsys, sets, constraint, param):
    code, out, err = _predict(capsys, *sets)
    assert code == 2, err
    assert constraint in err and param in err and "required" in err
    assert err.count("\n") == 1


def test_readme_example_and_formula(capsys):
    # r = 2 leaves the gap 6 - 4, so the guidance asks m >= 20 * 20 * 10 * 4 / 2^2 = 4000, the band 4 x 4000
    code, out, _ = _predict(capsys, "r=2", "beta=[1,1]", "n=8000", "m=16000")
    assert code == 0
    row = json.loads(out)
    eig = [10.0, 6.0, 4.0] + [1.0] * 17
    w = [la ** 2 * (10 / (10 - la) ** 2 + 6 / (6 - la) ** 2) for la in eig[2:]]
    # the limit A + gamma B with the exact OLS factor: A n/(n-r-1) + gamma B (n-1)/(n-r-1)
    assert row["predicted"] == pytest.approx(2 * 8000 / 7997 + 0.5 * sum(w) * 7999 / 7997)
    assert row["negative_control"]["predicted"] == pytest.approx(2 * 8000 / 7997 + 0.8 * 0.5 * sum(w) * 7999 / 7997)
    code, _, err = _predict(capsys, "r=2", "beta=[1,1]", "n=8000", "m=15999")
    assert code == 2 and "pretraining_size_for_the_band" in err


CLAIM = registry.get(SPECTRAL)


@settings(max_examples=30)
@given(CLAIM.regime.strategy("quick"))
def test_predict_random_valid_configurations(params):
    """predict = A + (n/m) B, with A and B computed independently of the derivation module."""
    eig, r, beta = np.asarray(params["eigenvalues"]), params["r"], np.asarray(params["beta"])
    top, bottom = eig[:r], eig[r:]
    B = float((bottom[:, None] ** 2 * beta[None, :] ** 2 * top[None, :] / (top[None, :] - bottom[:, None]) ** 2).sum())
    n, m = params["n"], params["m"]
    expected = params["noise_var"] * r * n / (n - r - 1) + n / m * B * (n - 1) / (n - r - 1)
    assert CLAIM.predict(params) == pytest.approx(expected, rel=1e-10)
    # the same configuration passes the command-line validation and predicts the same number
    texts = {k: json.dumps(v) for k, v in params.items() if k != "sampler"}
    again = CLAIM.regime.resolve("quick", texts=texts)
    assert CLAIM.predict(again) == pytest.approx(expected, rel=1e-10)


def test_every_mest_claim_has_a_refutable_negative_control_and_valid_defaults():
    claims = registry.select(["mest"])
    assert {c.id for c in claims} >= {"mest.spectral.mean_risk", "mest.factor.mean_risk", "mest.gmm.mean_risk",
                                      "mest.spectral.rate", "mest.spectral.law", "mest.factor.law",
                                      "mest.spectral.finite_sample"}
    for c in claims:
        for tier in ("quick", "full"):
            p = c.regime.resolve(tier)
            assert c.negative_control(p) != c.predict(p)


@pytest.mark.parametrize("claim_id, overrides, constraint", [
    ("mest.factor.mean_risk", {"beta": [1.0]}, "beta_length"),
    ("mest.factor.mean_risk", {"loadings": [1.0, 2.0], "beta": [1.0, 1.0]}, "loadings_descending"),
    ("mest.factor.mean_risk", {"d": 2}, "proper_subspace"),
    ("mest.gmm.mean_risk", {"K": 4, "d": 3}, "beta_length"),
    ("mest.gmm.mean_risk", {"separation": 1.0}, "separated_means"),
    ("mest.gmm.mean_risk", {"separation": 2.9}, "separated_means"),
    ("mest.gmm.mean_risk", {"d": 1}, "simplex_fits"),
    ("mest.gmm.mean_risk", {"m": 20}, "identifiable_means"),
    ("mest.spectral.rate", {"n_grid": [500, 400, 1000]}, "grid_increasing"),
    ("mest.spectral.finite_sample", {"n": 6}, "finite_variance"),
    # spec §4 size guidance: n >= 50 r, m >= 20 d lambda_1 lambda_(r+1)/gap^2 (= 445 for the 3a defaults,
    # 375 for the 3b defaults), n, m >= 50 K for the mixture
    ("mest.spectral.mean_risk", {"n": 149}, "downstream_size_guidance"),
    ("mest.spectral.mean_risk", {"m": 444}, "pretraining_size_guidance"),
    ("mest.spectral.law", {"m": 444}, "pretraining_size_guidance"),
    ("mest.spectral.representation_term", {"m": 444}, "pretraining_size_guidance"),
    ("mest.spectral.finite_sample", {"m": 444}, "pretraining_size_guidance"),
    ("mest.factor.mean_risk", {"n": 99}, "downstream_size_guidance"),
    ("mest.factor.mean_risk", {"m": 374}, "pretraining_size_guidance"),
    ("mest.factor.law", {"m": 374}, "pretraining_size_guidance"),
    ("mest.gmm.mean_risk", {"n": 149}, "asymptotic_sizes"),
    ("mest.gmm.mean_risk", {"m": 149}, "asymptotic_sizes"),
    ("mest.spectral.rate", {"n_grid": [400, 800, 1600]}, "size_guidance_on_grid"),
    ("mest.spectral.rate", {"gamma": 2.0}, "size_guidance_on_grid"),
    # the mean-risk and law claims need a pre-training term the band (or the KS test) can resolve
    ("mest.spectral.mean_risk", {"m": 1999}, "pretraining_size_for_the_band"),
    ("mest.factor.mean_risk", {"n": 100, "m": 375}, "pretraining_term_resolved"),
    ("mest.spectral.law", {"beta": [0.0, 0.0, 0.0]}, "pretraining_term_present"),
])
def test_other_regimes_reject_with_named_assumption(claim_id, overrides, constraint):
    with pytest.raises(RegimeError, match=constraint):
        registry.get(claim_id).regime.resolve("quick", overrides=overrides)


def test_law_prediction_is_the_ks_critical_value():
    c = registry.get("mest.spectral.law")
    p = c.regime.resolve("quick")
    lo, hi = c.predict(p)
    R, N = p["reps"], p["limit_draws"]
    assert lo == 0 and hi == pytest.approx(1.3581 * np.sqrt(1 / R + 1 / N), rel=1e-4)
    wlo, whi = c.negative_control(p)
    assert wlo > hi                     # the wrong law's band excludes every distance the claim accepts
    # the near miss: the gamma-weights enlarged just enough that the two laws sit 3 critical values apart
    from claims import mest as mest_claims
    assert (wlo + whi) / 2 == pytest.approx(mest_claims.LAW_CONTROL_CRITICALS * hi, rel=0.02)
    head_w, pre_w = mest_claims._spectral_weights(p)
    factor = mest_claims.law_near_miss_factor(tuple(head_w), tuple(pre_w), p["n"] / p["m"], hi)
    assert 1.0 < factor < 1.2
    # with more repetitions the critical value shrinks and so does the factor: the control follows the resolution
    assert mest_claims.law_near_miss_factor(tuple(head_w), tuple(pre_w), p["n"] / p["m"], hi / 2) < factor


def test_finite_sample_prediction_matches_formula():
    c = registry.get("mest.spectral.finite_sample")
    p = c.regime.resolve("quick")
    B = ts.spectral_B(p["eigenvalues"], p["r"], p["beta"])
    n, r, m = p["n"], p["r"], p["m"]
    assert c.predict(p) == pytest.approx(n * (B / m * (1 + r / (n - r - 1)) + r / (n - r - 1)))


@pytest.mark.parametrize("claim_id, overrides", [
    ("mest.spectral.mean_risk", {"n": 2000, "m": 2000}),   # the band's floor max(2000, 4 x 445)
    ("mest.factor.mean_risk", {"n": 2000, "m": 2000}),    # the same floor, max(2000, 4 x 375)
    ("mest.gmm.mean_risk", {"n": 1800, "m": 900}),         # m >= 300 K at K = 3 (and n >= 200 K)
    ("mest.spectral.law", {"n": 1000, "m": 1780}),         # n >= 1000 and m >= 4 x the guidance 445
    ("mest.spectral.rate", {"n_grid": [500, 1000, 2000], "gamma": 1.0}),
])
def test_guidance_boundary_is_inside(claim_id, overrides):
    registry.get(claim_id).regime.resolve("quick", overrides=overrides)


@pytest.mark.parametrize("claim_id, overrides, constraint", [
    ("mest.factor.mean_risk", {"n": 2000, "m": 1999}, "pretraining_size_for_the_band"),
    ("mest.gmm.mean_risk", {"n": 599, "m": 1200}, "asymptotic_sizes"),
    ("mest.gmm.mean_risk", {"n": 1200, "m": 899}, "pretraining_size"),
    ("mest.gmm.mean_risk", {"beta": [0.5, 0.5, 0.5]}, "pretraining_term_resolved"),
    ("mest.spectral.law", {"n": 999, "m": 2000}, "law_sizes"),
    ("mest.spectral.law", {"n": 1000, "m": 1779}, "law_pretraining_size"),
    ("mest.factor.law", {"n": 1000, "m": 999}, "law_sizes"),
    ("mest.factor.law", {"loadings": [0.3125], "d": 37, "beta": [1.0], "n": 40000, "m": 20000},
     "law_pretraining_size"),                                 # 4 x guidance = 39772
])
def test_size_floors_reject_just_below(claim_id, overrides, constraint):
    with pytest.raises(RegimeError, match=constraint):
        registry.get(claim_id).regime.resolve("quick", overrides=overrides)


def test_guidance_numbers():
    from claims.mest import pretraining_size_guidance

    assert pretraining_size_guidance([10.0, 6.0, 4.0] + [1.0] * 17, 3) == 445      # 20 * 20 * 10 / 9
    assert pretraining_size_guidance(ts.factor_spectrum([9.0, 4.0], 1.0, 30), 2) == 375   # 20 * 30 * 10 / 16


def test_roles_and_near_miss_controls():
    """finite_sample is a consistency check (an identity of the simulated Gaussian model); the theorem claims'
    controls sit a few tolerances from the band, and the competing theories are kept as alternatives."""
    roles = {c.id: c.role for c in registry.select(["mest"])}
    assert roles.pop("mest.spectral.finite_sample") == "consistency"
    assert set(roles.values()) == {"theorem"}
    for cid in ("mest.spectral.mean_risk", "mest.factor.mean_risk", "mest.gmm.mean_risk"):
        c = registry.get(cid)
        p = c.regime.resolve("quick")
        pred, ctrl, oracle = c.predict(p), c.negative_control(p), c.alternative(p)
        assert oracle < ctrl < pred
        gap_in_tolerances = (pred * (1 - 0.05) - ctrl) / (0.05 * pred)
        assert 0.5 < gap_in_tolerances < 5, (cid, gap_in_tolerances)
    rate = registry.get("mest.spectral.rate")
    p = rate.regime.resolve("quick")
    assert rate.predict(p) == pytest.approx(-1.0, abs=0.01)
    assert -0.95 < rate.negative_control(p) < -0.8 and rate.alternative(p) == -0.5
