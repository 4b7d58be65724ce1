"""The command-line contract: commands, JSON fields and exit codes (with a test-only claim)."""
import contextlib
import json
import subprocess
import sys

import pytest

from theorycheck import registry
from theorycheck.claim import Claim
from theorycheck.cli import main
from theorycheck.regime import Constraint, Param, Regime

ROW_FIELDS = {"claim", "kind", "verdict", "expected", "predicted", "measured", "ci_low", "ci_high", "tolerance",
              "seeds", "params", "negative_control", "elapsed_s",
              "resolution", "interval", "prediction_source", "control_distance", "role"}


def _gaussian_mean_claim(claim_id: str, bias: float = 0.0, **extra) -> Claim:
    """The mean of N(mu, 1) samples estimates mu; ``bias`` plants a wrong prediction."""
    regime = Regime(
        params=[Param("mu", quick=1.0, kind="float", low=-10, high=10, doc="true mean"),
                Param("samples", quick=400, full=4000, kind="int", low=2, high=10**6, doc="draws per replicate"),
                Param("r", quick=1, kind="int", low=1, high=5)],
        constraints=[Constraint("enough samples", lambda p: p["samples"] >= 10 * p["r"], "samples >= 10 r",
                                ("samples", "r"))])
    return Claim(
        id=claim_id, source="test", statement="the sample mean estimates mu", kind="estimate", regime=regime,
        predict=lambda p: p["mu"] + bias,
        measure=lambda p, rng: float(rng.normal(p["mu"], 1.0, p["samples"]).mean()),
        tolerance=0.2, negative_control=lambda p: p["mu"] + 1.0, negative_label="mean off by one",
        seeds={"quick": 6, "full": 6}, measured_label="sample mean", plot=_plot,
        tolerance_reason="test: the sampling error of the mean is 1/sqrt(samples)", **extra)


def _plot(params, rngs):
    from theorycheck.plots import figure

    fig, (ax,) = figure()
    ax.hist([r.normal(params["mu"], 1, 100).mean() for r in rngs])
    return fig


@contextlib.contextmanager
def _registered(*claims):
    for c in claims:
        registry.register(c)
    try:
        yield claims
    finally:
        for c in claims:
            registry.unregister(c.id)


@pytest.fixture
def toy_claims():
    claims = [_gaussian_mean_claim("toy.mean"), _gaussian_mean_claim("toy.biased", bias=0.5)]
    for c in claims:
        registry.register(c)
    yield claims
    for c in claims:
        registry.unregister(c.id)


def _run(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_json(toy_claims, capsys):
    code, out, _ = _run(["list", "--json"], capsys)
    rows = {r["claim"]: r for r in json.loads(out)}
    assert code == 0 and rows["toy.mean"]["negative_control"] == "mean off by one"


def test_predict_json_uses_set(toy_claims, capsys):
    code, out, _ = _run(["predict", "toy.mean", "--set", "mu=2.5", "--json"], capsys)
    assert code == 0 and json.loads(out)["predicted"] == 2.5


def test_verify_json_rows_and_exit_zero(toy_claims, capsys):
    code, out, _ = _run(["verify", "toy.mean", "--json", "-", "--quiet"], capsys)
    rows = json.loads(out)
    assert code == 0 and len(rows) == 1
    assert ROW_FIELDS <= set(rows[0])
    assert rows[0]["verdict"] == "verified" and rows[0]["negative_control"]["verdict"] == "refuted"
    assert rows[0]["ci_low"] <= rows[0]["measured"] <= rows[0]["ci_high"]


def test_verify_prefix_and_failure_exit_one(toy_claims, capsys):
    code, out, _ = _run(["verify", "toy", "--json", "-", "--quiet"], capsys)
    rows = {r["claim"]: r for r in json.loads(out)}
    assert set(rows) == {"toy.mean", "toy.biased"}
    assert rows["toy.biased"]["verdict"] == "refuted" and code == 1


def test_seed_root_reproducible_and_fresh(toy_claims, capsys):
    runs = []
    for seed in ("5", "5", "6"):
        _, out, _ = _run(["verify", "toy.mean", "--seed", seed, "--json", "-", "--quiet"], capsys)
        runs.append(json.loads(out)[0]["measured"])
    assert runs[0] == runs[1] != runs[2]


@pytest.mark.parametrize("argv,needle", [
    (["verify", "nope"], "unknown claim 'nope'"),
    (["verify", "toy.mean", "--set", "samples=abc"], "samples='abc' is malformed"),
    (["verify", "toy.mean", "--set", "r=0"], "r=0 is out of range; allowed: an integer in [1, 5]"),
    (["verify", "toy.mean", "--set", "bogus=1"], "unknown parameter 'bogus'"),
    (["verify", "toy.mean", "--set", "samples=20", "--set", "r=3"], "assumption 'enough samples' fails"),
    (["verify", "toy.mean", "--seeds", "0"], "allowed: an integer >= 1"),
    (["verify", "toy.mean", "--tier", "huge"], "invalid choice"),
    (["predict", "toy.mean", "--set", "mu"], "NAME=VALUE"),
    (["plot", "toy.mean", "--out", "x.txt"], "allowed file types"),
    (["bench", "nomodel"], "unknown model 'nomodel'"),
])
def test_bad_input_exits_two_with_one_line(toy_claims, capsys, argv, needle):
    code, _, err = _run(argv, capsys)
    assert code == 2
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_plot_writes_png_and_pdf(toy_claims, capsys, tmp_path):
    for name in ("fig.png", "fig.pdf"):
        code, _, _ = _run(["plot", "toy.mean", "--out", str(tmp_path / name)], capsys)
        data = (tmp_path / name).read_bytes()
        assert code == 0 and data[:4] in (b"\x89PNG", b"%PDF")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.pdf", "fig.png"]


def test_console_script_bad_input_has_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "theorycheck", "verify", "no.such.claim"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "no.such.claim" in proc.stderr


def test_measure_error_is_reported_not_raised(capsys):
    claim = _gaussian_mean_claim("toy.broken")
    claim.measure = lambda p, rng: float("nan")
    with _registered(claim):
        code, out, _ = _run(["verify", "toy.broken", "--json", "-", "--quiet"], capsys)
    row = json.loads(out)[0]
    assert code == 1 and row["verdict"] == "error" and "FloatingPointError" in row["error"]


def test_list_shows_consistency_checks_apart_and_expectations_per_tier(capsys):
    claims = [_gaussian_mean_claim("toy.theorem"),
              _gaussian_mean_claim("toy.identity", role="consistency"),
              _gaussian_mean_claim("toy.tiered", bias=0.5, expected_by_tier={"full": "refuted"},
                                   finding_by_tier={"full": "planted bias"}, positive_control=lambda p: p["mu"],
                                   positive_label="the unbiased mean")]
    for c in claims:
        registry.register(c)
    try:
        code, out, _ = _run(["list"], capsys)
        theorems, checks = out.split("Consistency checks")
        assert code == 0 and "toy.theorem" in theorems and "toy.identity" in checks
        assert "toy.identity" not in theorems and "expected quick verified, full refuted" in theorems
        code, out, _ = _run(["list", "--json"], capsys)
        rows = {r["claim"]: r for r in json.loads(out)}
        assert rows["toy.tiered"]["expected_by_tier"] == {"quick": "verified", "full": "refuted"}
        assert rows["toy.identity"]["role"] == "consistency"
        # the full tier judges against the full tier's expectation, with the positive control verified
        code, out, _ = _run(["verify", "toy.tiered", "--tier", "full", "--json", "-", "--quiet"], capsys)
        row = json.loads(out)[0]
        assert code == 0 and row["expected"] == "refuted" and row["verdict"] == "refuted"
        assert row["positive_control"]["verdict"] == "verified" and row["tier"] == "full"
        code, out, _ = _run(["verify", "toy.tiered", "--json", "-", "--quiet"], capsys)
        assert code == 1 and json.loads(out)[0]["expected"] == "verified"
    finally:
        for c in claims:
            registry.unregister(c.id)


def test_a_failed_positive_control_fails_the_run(capsys):
    claim = _gaussian_mean_claim("toy.badfix", bias=0.5, expected="refuted", finding="planted bias",
                                 positive_control=lambda p: p["mu"] + 0.45, positive_label="a wrong correction")
    with _registered(claim):
        code, out, _ = _run(["verify", "toy.badfix", "--json", "-", "--quiet"], capsys)
    row = json.loads(out)[0]
    assert row["verdict"] == "refuted" and row["positive_control"]["verdict"] != "verified" and code == 1
