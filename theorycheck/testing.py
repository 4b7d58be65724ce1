"""The conformance battery: named checks that every registered claim must pass, importable by any package.

A test module runs the battery over the registry with one import::

    from theorycheck.testing import battery

    test_conformance = battery()            # every registered claim
    test_my_paper = battery("mypaper")      # or the claims whose id starts with "mypaper."

Each test case is one (claim, check) pair with the id ``CLAIM-CHECK``, so ``pytest -k mypaper.rate`` runs the
battery of one claim.  A check applies only where it means something (``plot_runs`` to a claim with a plot
hook, ``derivation_self_checks`` to a claim whose derivations define ``check_*`` functions).

The checks (:data:`CHECKS`), in the order they run for a claim:

``documented``                   source, statement, assumption, measured label, tolerance reason, control
                                 labels; a finding for each tier not expected ``verified``;
``prediction_pre_registered``    the prediction and the controls are finite at both tiers' defaults, differ
                                 from each other, and a fresh worker process that never measured the claim
                                 computes the same prediction as the verified run did after measuring;
``verdicts_as_expected``         the quick tier's verdict is the claim's expectation, its negative control
                                 (and competing theory) refuted, its positive control verified (not for a
                                 claim judged only at the full tier: ``test_full_tier`` judges it there);
``reproducible_from_generator``  a replicate rerun from its seed gives the same value and extras;
``no_hidden_global_state``       a replicate run right after another claim's gives the same value;
``runs_in_worker_process``       a replicate run in a spawned worker process gives the same value;
``extras_json_serialisable``     every replicate's extras survive a JSON round trip;
``regime_strategy_runnable``     settings drawn by the regime's Hypothesis strategy validate and give finite
                                 predictions (``battery(measure_drawn=True)`` also measures one);
``plot_runs``                    the plot hook draws a figure at the quick tier;
``derivation_self_checks``       every ``check_*`` function of the derivation modules the claim imports
                                 returns only zeros (or True).

The quick-tier run of a claim (also of a claim judged only at the full tier, ``Claim.tiers``: reruns, worker
processes and JSON do not depend on the tier) is computed once per process (:func:`quick_row`) and shared by the checks that
need it; the checks that rerun a replicate rerun the fastest one.  :data:`LIGHT_CHECKS` cost at most about one
replicate per claim; :data:`HEAVY_CHECKS` more (a suite may put them behind a marker).
"""
from __future__ import annotations

import inspect
import json
import math
import sys
from typing import Any, Callable

from . import registry
from .claim import Calibration, Claim
from .regime import TIERS
from .verdict import as_interval

_ROWS: dict[tuple, dict] = {}
_SELF_CHECKS: dict[str, list[str]] = {}          # module -> its self-check names
_SELF_CHECK_RESULTS: dict[str, str | None] = {}  # self-check -> None when it passed, else its residuals
_POOLS: dict[tuple[str, int], Any] = {}   # (role, workers) -> a pool of worker processes, see _pool
_row_workers: int | None = None


# ------------------------------------------------------------------------------------------ shared runs
def quick_row(claim: Claim, tier: str = "quick", backend=None) -> dict:
    """The result row of ``claim`` at ``tier`` (its defaults and seeds, the default root), computed once per
    process (on ``backend``; by default on the pool of the running battery's ``workers``, else in-process).
    A claim judged only at the full tier runs at the quick tier too (its verdict there is not judged)."""
    from .runner import DEFAULT_ROOT, verify_claim

    key = (claim.id, tier)
    if key not in _ROWS:
        if backend is None and _row_workers:
            backend = _row_pool(_row_workers)
        params = claim.regime.resolve(tier)
        _ROWS[key] = verify_claim(claim, params, int(claim.seeds[tier]), DEFAULT_ROOT, backend=backend,
                                  progress=False, tier=tier)
    return _ROWS[key]


def computed_row(claim_id: str, tier: str = "quick") -> dict | None:
    """The row :func:`quick_row` has already computed in this process, or ``None``."""
    return _ROWS.get((claim_id, tier))


def _fastest(row: dict) -> int:
    times = row["replicate_elapsed_s"]
    return min(range(len(times)), key=lambda i: times[i])


def _worker():
    """One spawned single-threaded worker process shared by the checks of this process (never the pool that
    computed a row, so a prediction made there comes from a process that measured nothing)."""
    return _pool("fresh", 1)


def _row_pool(workers: int):
    """The pool of ``workers`` single-threaded processes that computes a battery's quick rows."""
    return _pool("rows", workers)


def _pool(role: str, workers: int):
    if (role, workers) not in _POOLS:
        import atexit

        from .backends import LocalProcesses

        _POOLS[role, workers] = LocalProcesses(workers)
        atexit.register(_POOLS[role, workers].close)
    return _POOLS[role, workers]


def _canonical(extras) -> str:
    from .store import json_default

    return json.dumps(extras, sort_keys=True, default=json_default)


def _same_replicate(claim: Claim, row: dict, index: int, record: dict, how: str) -> None:
    assert record["error"] is None, f"{claim.id}: replicate {index} {how} failed: {record['error']}"
    assert record["value"] == row["values"][index], (
        f"{claim.id}: replicate {index} {how} gave {record['value']!r}, the verified run {row['values'][index]!r}")
    assert _canonical(record["extras"]) == _canonical(row["extras"][index]), (
        f"{claim.id}: replicate {index} {how} gave other extras than the verified run")


def _finite_prediction(value, what: str) -> tuple[float, float]:
    lo, hi = as_interval(value)
    assert math.isfinite(lo) and math.isfinite(hi), f"{what} is not finite: {value!r}"
    return lo, hi


# ------------------------------------------------------------------------------------------ the checks
def check_documented(claim: Claim) -> None:
    """The claim says where it comes from, what it assumes, what it measures and why its tolerance."""
    for name in ("source", "statement", "assumption", "measured_label", "tolerance_reason", "negative_label"):
        assert str(getattr(claim, name) or "").strip(), f"{claim.id}: {name} is empty"
    assert claim.seeds["full"] >= claim.seeds["quick"]
    for tier in (t for t in TIERS if claim.runs_at(t)):
        if claim.expected_for(tier) != "verified":
            assert claim.finding_for(tier), f"{claim.id}: expected {claim.expected_for(tier)} at {tier} without a finding"
        if claim.expected_for(tier) == "refuted":
            assert claim.positive_control is not None and claim.positive_label, (
                f"{claim.id}: expected refuted at the {tier} tier without a positive control")


def _fresh_prediction(claim_id: str, modules: tuple, params: dict):
    """In a worker process: the claim's prediction, computed without measuring anything."""
    from .runner import _jsonable
    from .task import resolve_claim

    return _jsonable(resolve_claim(claim_id, modules).prediction(params))


def check_prediction_pre_registered(claim: Claim) -> None:
    """Finite predictions and controls at both tiers, distinct from each other, and the same prediction
    computed in a process that never measured the claim as after the verified run's measurements."""
    from .runner import _jsonable
    from .task import claim_modules

    if claim.prediction_source != "independent_runs":
        params = claim.regime.resolve("quick")
        fresh = _worker().call(_fresh_prediction, claim.id, claim_modules(claim), params)
        here = {}
        for tier in TIERS:
            at = claim.regime.resolve(tier)
            here[tier] = claim.prediction(at)
            pred = _finite_prediction(here[tier], f"{claim.id}: prediction at {tier}")
            assert _finite_prediction(claim.control(at), f"{claim.id}: negative control") != pred, (
                f"{claim.id}: the negative control predicts what the claim predicts at the {tier} tier")
            if claim.positive_control is not None:
                # the same point on the other side ("slope >= 0" against "slope <= 0") is another statement
                other_side = (claim.positive_comparison or claim.comparison) != claim.comparison
                corrected = _finite_prediction(claim.corrected(at), f"{claim.id}: positive control")
                assert other_side or corrected != pred, (
                    f"{claim.id}: the positive control states what the claim states at the {tier} tier")
        row = quick_row(claim)
        fresh = fresh.result()
        assert fresh == row["predicted"] == _jsonable(here["quick"]), (
            f"{claim.id}: prediction {fresh!r} in a fresh process, {row['predicted']!r} after measuring")
        return
    row = quick_row(claim)
    assert row.get("error") is None, row.get("error")
    cal = row["calibration"]
    summary = Calibration(cal["mean"], cal["ci_low"], cal["ci_high"], tuple(cal["values"]), cal["seeds"],
                          cal["interval"])
    again = _jsonable(claim.prediction(row["params"], summary))
    _finite_prediction(again, f"{claim.id}: prediction")
    assert again == row["predicted"], f"{claim.id}: prediction from the calibration summary {again!r} != {row['predicted']!r}"


def assert_row_as_expected(claim: Claim, row: dict, tier: str) -> None:
    """A result row comes out as the claim expects at ``tier``, with every control as it must be."""
    assert row.get("error") is None, f"{claim.id} ({tier}): {row.get('error')}"
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


def check_verdicts_as_expected(claim: Claim) -> None:
    """The quick tier's verdict is the expected one; the negative control is refuted."""
    assert_row_as_expected(claim, quick_row(claim), "quick")


def _rerun(claim: Claim, params, index: int) -> dict:
    """Replicate ``index`` of ``claim`` at ``params`` under the default root, run here single-threaded as every
    backend runs its replicates (a multi-threaded BLAS sums in another order and changes the last bits)."""
    from .runner import DEFAULT_ROOT
    from .task import run_replicate, single_threaded

    with single_threaded():
        return run_replicate(claim, params, DEFAULT_ROOT, index)


def check_reproducible_from_generator(claim: Claim) -> None:
    """A replicate rerun from its seed gives the verified run's value and extras, bit for bit."""
    row = quick_row(claim)
    i = _fastest(row)
    _same_replicate(claim, row, i, _rerun(claim, row["params"], i), "rerun")


def check_no_hidden_global_state(claim: Claim) -> None:
    """A replicate run right after another claim's replicate (or, when no other claim has run in this
    process, after another replicate of its own) gives the verified run's value."""
    row = quick_row(claim)
    i = _fastest(row)
    others = [(cid, r) for (cid, tier), r in _ROWS.items() if cid != claim.id and tier == "quick"
              and r.get("error") is None and registry.lookup(cid) is not None]
    if others:
        cid, other = min(others, key=lambda item: min(item[1]["replicate_elapsed_s"]))
        _rerun(registry.lookup(cid), other["params"], _fastest(other))
    else:
        _rerun(claim, row["params"], (i + 1) % len(row["values"]))
    _same_replicate(claim, row, i, _rerun(claim, row["params"], i), "after another claim")


def check_runs_in_worker_process(claim: Claim) -> None:
    """A replicate run in a spawned worker process (which finds the claim by importing its module) gives
    the verified run's value."""
    from .runner import DEFAULT_ROOT

    row = quick_row(claim)
    i = _fastest(row)
    record = _worker().submit(claim, row["params"], DEFAULT_ROOT, i).result()
    _same_replicate(claim, row, i, record, "in a worker process")


def check_extras_json_serialisable(claim: Claim) -> None:
    """Every replicate's extras are JSON (NumPy scalars and arrays as numbers and lists) and keep their keys."""
    row = quick_row(claim)
    for i, extras in enumerate(row["extras"]):
        try:
            back = json.loads(_canonical(extras))
        except TypeError as exc:
            raise AssertionError(f"{claim.id}: extras of replicate {i} are not JSON-serialisable: {exc}") from None
        assert set(back) == set(extras), f"{claim.id}: extras of replicate {i} lost keys in JSON"


def check_regime_strategy_runnable(claim: Claim, measure_drawn: bool = False, examples: int = 5) -> None:
    """Settings drawn by the regime's strategy validate, satisfy the assumptions and give finite
    predictions; with ``measure_drawn``, one replicate at the first drawn setting runs without error."""
    from hypothesis import HealthCheck, given, settings

    from .runner import DEFAULT_ROOT
    from .task import run_replicate

    drawn: list[dict] = []

    @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(claim.regime.strategy("quick"))
    def draw(params):
        claim.regime.validate(params)
        assert claim.regime.satisfies(params), f"{claim.id}: drawn setting {params} breaks an assumption"
        if claim.prediction_source != "independent_runs":
            _finite_prediction(claim.prediction(params), f"{claim.id}: prediction at drawn {params}")
            _finite_prediction(claim.control(params), f"{claim.id}: negative control at drawn {params}")
        drawn.append(params)

    draw()
    assert drawn, f"{claim.id}: the regime's strategy drew no setting"
    if measure_drawn:
        record = run_replicate(claim, drawn[0], DEFAULT_ROOT, 0)
        assert record["error"] is None, f"{claim.id}: at drawn {drawn[0]}: {record['error']}"


def check_plot_runs(claim: Claim) -> None:
    """The plot hook draws a matplotlib figure from the quick tier's generators."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .runner import DEFAULT_ROOT
    from .task import replicate_rngs

    params = claim.regime.resolve("quick")
    fig = claim.plot(params, replicate_rngs(claim.id, DEFAULT_ROOT, int(claim.seeds["quick"])))
    try:
        assert fig is not None and fig.axes, f"{claim.id}: plot drew no axes"
    finally:
        plt.close(fig)


def derivation_self_checks(claim: Claim) -> list[str]:
    """Names ``module.check_name`` of the self-checks of the modules the claim imports (outside its own
    modules, loaded when the claim was): top-level functions named ``check_*`` callable without arguments."""
    from .store import module_closure
    from .task import claim_modules

    own = set(claim_modules(claim))
    out = []
    for name in sorted(module_closure(claim_modules(claim))):
        if name in own:
            continue
        if name not in sys.modules:
            continue  # imported lazily by the claim, if at all: its self-checks wait for a claim that loads it
        if name not in _SELF_CHECKS:
            module = sys.modules[name]
            _SELF_CHECKS[name] = [
                f"{name}.{fn_name}" for fn_name, fn in vars(module).items()
                if fn_name.startswith("check_") and inspect.isfunction(fn) and fn.__module__ == name
                and all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                        for p in inspect.signature(fn).parameters.values())]
        out += _SELF_CHECKS[name]
    return out


def _is_zero(value) -> bool:
    if value is True:
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_zero(v) for v in value)
    try:
        import sympy as sp

        if isinstance(value, sp.Basic):
            return bool(value == 0 or sp.simplify(value) == 0)
    except ImportError:
        pass
    try:
        return abs(complex(value)) <= 1e-12
    except (TypeError, ValueError):
        return False


def check_derivation_self_checks(claim: Claim) -> None:
    """Every ``check_*`` function of the claim's derivations returns zeros (each is run once per process)."""
    names = derivation_self_checks(claim)
    assert names, f"{claim.id}: no derivation self-check found"
    for full in names:
        if full not in _SELF_CHECK_RESULTS:
            module, fn_name = full.rsplit(".", 1)
            result = getattr(sys.modules[module], fn_name)()
            _SELF_CHECK_RESULTS[full] = None if _is_zero(result) else repr(result)[:300]
        assert _SELF_CHECK_RESULTS[full] is None, f"{full} returned non-zero residuals: {_SELF_CHECK_RESULTS[full]}"


CHECKS: dict[str, Callable[[Claim], None]] = {
    "documented": check_documented,
    "prediction_pre_registered": check_prediction_pre_registered,
    "verdicts_as_expected": check_verdicts_as_expected,
    "reproducible_from_generator": check_reproducible_from_generator,
    "no_hidden_global_state": check_no_hidden_global_state,
    "runs_in_worker_process": check_runs_in_worker_process,
    "extras_json_serialisable": check_extras_json_serialisable,
    "regime_strategy_runnable": check_regime_strategy_runnable,
    "plot_runs": check_plot_runs,
    "derivation_self_checks": check_derivation_self_checks,
}


#: The checks that cost at most about one replicate per claim (and one worker process per test session).
LIGHT_CHECKS = ("documented", "prediction_pre_registered", "verdicts_as_expected", "reproducible_from_generator",
                "runs_in_worker_process", "extras_json_serialisable")
#: The rest: another claim's replicate, predictions at drawn settings (a quadrature each for some claims),
#: a figure, the symbolic self-checks of the derivations.
HEAVY_CHECKS = tuple(name for name in CHECKS if name not in LIGHT_CHECKS)


def applies(claim: Claim, check: str) -> bool:
    """Whether a named check means something for ``claim``."""
    if check == "plot_runs":
        return claim.plot is not None
    if check == "verdicts_as_expected":
        return claim.runs_at("quick")
    if check == "derivation_self_checks":
        return bool(derivation_self_checks(claim))
    return True


# ------------------------------------------------------------------------------------------ pytest
def claims(prefix: str | None = None) -> list[Claim]:
    """The registered claims (whose id equals ``prefix`` or starts with ``prefix.``), sorted by id."""
    return registry.all_claims() if prefix is None else registry.select([prefix])


def cases(prefix: str | None = None, checks=None) -> list[tuple[Claim, str]]:
    """The (claim, check name) pairs of the battery."""
    names = list(CHECKS) if checks is None else list(checks)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check {unknown[0]!r}; allowed: {', '.join(CHECKS)}")
    return [(c, n) for c in claims(prefix) for n in names if applies(c, n)]


def run_check(claim: Claim, check: str, **options: Any) -> None:
    """Run one named check (AssertionError when the claim fails it)."""
    fn = CHECKS[check]
    accepted = inspect.signature(fn).parameters
    fn(claim, **{k: v for k, v in options.items() if k in accepted})


def battery(prefix: str | None = None, checks=None, measure_drawn: bool = False, workers: int | None = None):
    """A pytest test function parametrised over the battery's (claim, check) pairs.

    Assign it to a ``test_*`` name in a test module: ``test_conformance = battery("mypaper")``.  The case
    ids are ``CLAIM-CHECK``.  With ``workers``, each claim's quick-tier run (the shared row) spreads its
    replicates over that many worker processes; the checks that rerun a replicate still rerun it here and
    in a fresh process, so the row is also checked against an in-process run.
    """
    import pytest

    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive integer or None, got {workers!r}")
    pairs = cases(prefix, checks)

    @pytest.mark.parametrize("claim, check", pairs, ids=[f"{c.id}-{n}" for c, n in pairs])
    def test_battery(claim, check):
        global _row_workers
        _row_workers, before = workers, _row_workers
        try:
            run_check(claim, check, measure_drawn=measure_drawn)
        finally:
            _row_workers = before

    return test_battery
