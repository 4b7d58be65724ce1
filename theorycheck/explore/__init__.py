"""Falsification search: where in (and just outside) its regime does a claim stop holding?

``theorycheck explore CLAIM`` lets Hypothesis search a claim's parameter space for settings whose
verdict is ``refuted``.  Every candidate setting is one call of
:func:`theorycheck.runner.verify_claim` (the same seeds, statistics and verdict as ``verify``), and the
predicate Hypothesis minimises is ``verdict == "refuted"``.

Two kinds of region are searched.

**In the regime.**  Candidates are drawn from ``claim.regime.strategy(tier)``, the strategy the
property tests use (a parameter declared without a finite range to draw from is drawn within a factor
``FALLBACK_SPREAD`` of its tier defaults, and the report says so).  A refuted setting is shrunk by Hypothesis towards the smallest sizes and simplest
numbers, then *polished*: each float (and each element of a float list) is tried at one and two
significant digits and kept rounded when the setting stays in the regime and stays refuted.

**Just past one assumption** (``--outside-regime``).  For each :class:`~theorycheck.regime.Constraint`
``c`` of the regime, a candidate is made from an in-regime point ``x`` by moving one parameter ``p`` of
``c`` (direction ``s = ±1``) until ``c`` stops holding: the boundary ``b`` is found by doubling steps and
bisection, and the candidate is ``x`` with ``p = b + s·δ·|b|`` for a relative excess
``δ ∈ {0, 0.1, 0.25, 0.5, 1}`` (``δ = 0``: the first value past the boundary; integers move by
``max(1, ceil(δ·|b|))`` steps past it).  Every *other* assumption and every parameter range must still
hold, so each search relaxes exactly one assumption.  Hypothesis shrinks ``δ`` towards 0 together
with the sizes, so a counterexample is reported as close to the boundary as the search could bring it.
A failure past an assumption is attributed to it only when the counterexample's *in-regime neighbour*
(the moved parameter put back at the last value where the assumption holds) is ``verified``; the
assumption that "breaks the claim first" is, among the attributed ones, the one refuted at the smallest
excess δ (ties: fewer settings needed to find it).

Budget.  ``budget`` is the number of distinct settings evaluated while *searching* each region (the
Hypothesis ``max_examples``); shrinking and polishing a counterexample may evaluate at most
``shrink_budget`` further settings (default: ``budget``).  A search with ``k`` assumptions relaxed thus
evaluates at most ``(k + 1)·(budget + shrink_budget)`` settings.  Settings whose verdict is
``inconclusive`` are reported apart, and so are settings whose measurement raised (``error``): an
exception is never counted as a refutation.

A wall-clock ``time_limit`` (Python API; the CLI passes ``args.time_limit`` when it has such a flag)
gives the regime half of it and each relaxed assumption an equal share of the time left when its search
starts; a region cut short says so.  An ``eval_timeout`` runs each setting in a forked child process
and stops it past that many seconds (the setting counts as an ``error``).

Persistence.  With an output directory ``DIR``, every counterexample is appended to
``DIR/explore-counterexamples.json`` (parameter values in plain JSON), and the next ``explore`` of the
same claim replays the stored ones first: a stored setting that is still refuted is reported as the
region's counterexample when the new search finds none.  :func:`stored_counterexamples` and
:func:`replay` read the file back (e.g. from a test).  The figure and the report of each claim are
written to ``DIR/explore_<claim>.png`` and ``DIR/explore_<claim>.json``; the command also keeps every
finished replicate in the results store ``DIR/results.sqlite``, so an interrupted search loses nothing
and a rerun reuses what was measured.  Hypothesis's own example database is not used: Hypothesis
switches it off whenever the search is seeded, and a seeded search (from ``--seed ROOT``) is what
makes a run reproducible.

Exit status of the command: 0 when the search ran (a counterexample is a result, not a failure);
2 on bad input (unknown claim, a budget below 1, no Hypothesis installed).
"""
from __future__ import annotations

import json
import math
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..claim import Claim
from ..regime import Constraint, Regime, RegimeError
from ..runner import DEFAULT_ROOT, verify_claim
from ..store import params_key

EXCESSES = (0.0, 0.1, 0.25, 0.5, 1.0)
"""Relative distances past an assumption's boundary that the relaxed search draws from (shrinks to 0)."""

IN_REGIME = "regime"
MAX_ERROR_CHARS = 300
DEFAULT_OUT = "theorycheck-explore"
COUNTEREXAMPLES_FILE = "explore-counterexamples.json"
VERDICT_COLOURS = {"verified": "#2ca02c", "inconclusive": "#ff7f0e", "refuted": "#d62728", "error": "#7f7f7f"}


# --------------------------------------------------------------------------------------------- records
@dataclass
class Evaluation:
    """One setting run through :func:`verify_claim`.

    ``region`` is ``"regime"`` or the name of the relaxed assumption; ``phase`` is ``search``,
    ``shrink``, ``polish`` or ``replay``; ``moved`` describes the move past the assumption's boundary.
    """

    index: int
    region: str
    phase: str
    params: dict
    verdict: str
    predicted: Any
    measured: float | None
    ci_low: float | None
    ci_high: float | None
    tolerance: float | None
    error: str | None
    elapsed_s: float
    moved: dict | None = None

    def margin(self, comparison: str) -> float | None:
        """How far the measured mean lies past the edge of the acceptance band, in band half-widths.

        Negative inside the band; ``None`` when the setting errored.  For ``within`` it is
        ``max(lo - m, m - hi) / w`` with band ``[lo, hi]`` and ``w = max(tol, 1e-12·|p|, 1e-300)``.
        """
        if self.measured is None or self.predicted is None:
            return None
        p = self.predicted if isinstance(self.predicted, list) else [self.predicted, self.predicted]
        lo, hi = float(min(p)), float(max(p))
        tol = float(self.tolerance or 0.0)
        width = max(tol, 1e-12 * max(abs(lo), abs(hi)), 1e-300)
        m = float(self.measured)
        if comparison == "below":
            past = m - (hi + tol)
        elif comparison == "above":
            past = (lo - tol) - m
        else:
            past = max((lo - tol) - m, m - (hi + tol))
        return past / width


@dataclass
class RegionResult:
    """What the search of one region found."""

    region: str
    message: str
    evaluated: int = 0
    counts: dict = field(default_factory=dict)
    counterexample: dict | None = None
    shrink_evaluations: int = 0
    shrink_cut_short: bool = False
    inconclusive: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    note: str = ""
    timed_out: bool = False
    elapsed_s: float = 0.0


class Evaluator:
    """Runs settings through :func:`verify_claim`, caching by parameters and logging every evaluation."""

    def __init__(self, claim: Claim, n_seeds: int, root: int, log: Callable[[str], None] | None = None,
                 store=None, eval_timeout: float | None = None):
        self.claim, self.n_seeds, self.root, self.log, self.store = claim, int(n_seeds), int(root), log, store
        self.eval_timeout = eval_timeout
        self.cache: dict[str, Evaluation] = {}
        self.history: list[Evaluation] = []

    def known(self, params: Mapping[str, Any]) -> Evaluation | None:
        return self.cache.get(params_key(params))

    def __call__(self, params: Mapping[str, Any], region: str, phase: str, moved: dict | None = None) -> Evaluation:
        key = params_key(params)
        if key in self.cache:
            return self.cache[key]
        order = [n for n in self.claim.regime.names if n in params]
        params = {n: params[n] for n in order + [n for n in params if n not in order]}
        if self.eval_timeout is None:
            row = verify_claim(self.claim, params, self.n_seeds, self.root, store=self.store, progress=False)
        else:
            row = _verify_with_timeout(self.claim, params, self.n_seeds, self.root, self.eval_timeout)
        error = row.get("error")
        if error is not None and len(error) > MAX_ERROR_CHARS:
            error = error[:MAX_ERROR_CHARS] + " ..."
        ev = Evaluation(index=len(self.history) + 1, region=region, phase=phase, params=params,
                        verdict=row["verdict"], predicted=row.get("predicted"), measured=row.get("measured"),
                        ci_low=row.get("ci_low"), ci_high=row.get("ci_high"), tolerance=row.get("tolerance"),
                        error=error, elapsed_s=float(row["elapsed_s"]), moved=moved)
        self.cache[key] = ev
        self.history.append(ev)
        if self.log:
            self.log(_describe_eval(ev))
        return ev


def _verify_with_timeout(claim: Claim, params: Mapping[str, Any], n_seeds: int, root: int,
                         timeout: float) -> dict:
    """:func:`verify_claim` in a forked child process, killed after ``timeout`` seconds (an ``error`` row
    naming the timeout).  The child writes to no store."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)

    def child():
        try:
            send.send(verify_claim(claim, params, n_seeds, root, progress=False))
        except BaseException as exc:  # reported as the setting's error
            send.send({"verdict": "error", "error": f"{type(exc).__name__}: {exc}", "elapsed_s": 0.0})
        finally:
            send.close()

    t0 = time.perf_counter()
    proc = ctx.Process(target=child, daemon=True)
    proc.start()
    send.close()
    try:
        if receive.poll(timeout):
            try:
                return receive.recv()
            except EOFError:
                return {"verdict": "error", "error": f"the evaluation process died (exit code {proc.exitcode})",
                        "elapsed_s": time.perf_counter() - t0}
        return {"verdict": "error", "error": f"TimeoutError: the evaluation took longer than {timeout:g} s "
                                             f"and was stopped", "elapsed_s": time.perf_counter() - t0}
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        receive.close()


# ------------------------------------------------------------------------------------ strategies
def _numeric(regime: Regime, names: Sequence[str]) -> list[str]:
    return [n for n in names if n in regime.names and regime.param(n).kind in ("int", "float")]


def _holds(constraint: Constraint, params: Mapping[str, Any]) -> bool:
    try:
        return bool(constraint.check(params))
    except (ValueError, TypeError, IndexError, ZeroDivisionError, KeyError, OverflowError):
        return False


def _params_valid(regime: Regime, params: Mapping[str, Any]) -> bool:
    try:
        for name, value in params.items():
            regime.param(name).validate(value)
    except RegimeError:
        return False
    return True


def _others_hold(regime: Regime, relaxed: Constraint, params: Mapping[str, Any]) -> bool:
    return all(_holds(c, params) for c in regime.constraints if c is not relaxed)


def find_boundary(regime: Regime, constraint: Constraint, params: Mapping[str, Any], name: str,
                  sign: int) -> tuple[float, float] | None:
    """Last value of ``name`` (moving in direction ``sign`` from ``params[name]``) at which ``constraint``
    holds, and the first at which it fails, within the parameter's declared range.

    Steps double (``x0 + s·h·2^k`` with ``h = 10^-3·max(|x0|, 1)`` for floats, ``x0 + s·2^k`` for
    integers) until the assumption fails, then bisection narrows the bracket to a relative width of
    ``10^-9`` (exact for integers).  ``None`` when it still holds at the end of the range, or when it
    does not hold at ``params`` itself.
    """
    param = regime.param(name)
    integer = param.kind == "int"
    x0 = params[name]
    trial = dict(params)

    def fails(v) -> bool:
        trial[name] = int(v) if integer else float(v)
        return not _holds(constraint, trial)

    if fails(x0):
        return None
    limit = param.high if sign > 0 else param.low
    open_limit = param.high_open if sign > 0 else param.low_open
    h = 1 if integer else 1e-3 * max(abs(x0), 1.0)
    inside, outside = x0, None
    for k in range(64):
        v = x0 + sign * h * 2 ** k
        if limit is not None and (v - limit) * sign >= 0:
            v = limit
            if open_limit:  # stop just short of an open bound
                v = (limit - sign) if integer else limit - sign * 1e-9 * max(abs(limit), 1.0)
            if (v - inside) * sign <= 0:
                return None
            if fails(v):
                outside = v
            break
        if fails(v):
            outside = v
            break
        inside = v
    if outside is None:
        return None
    while True:
        if integer:
            if abs(outside - inside) <= 1:
                break
            mid = (inside + outside) // 2
        else:
            if abs(outside - inside) <= 1e-9 * max(abs(inside), abs(outside), 1e-12):
                break
            mid = 0.5 * (inside + outside)
            if mid in (inside, outside):
                break
        if fails(mid):
            outside = mid
        else:
            inside = mid
    return (int(inside), int(outside)) if integer else (float(inside), float(outside))


def _round_away(x: float, digits: int, sign: int) -> float:
    """``x`` rounded to ``digits`` significant digits, rounded in direction ``sign``."""
    if x == 0 or not math.isfinite(x):
        return x
    scale = 10.0 ** (digits - 1 - math.floor(math.log10(abs(x))))
    y = (math.ceil(x * scale) if sign > 0 else math.floor(x * scale)) / scale
    return float(f"{y:.{digits + 2}g}")


def past_value(param_kind: str, boundary: tuple[float, float], sign: int, excess: float) -> float | int:
    """The value ``excess`` past the boundary (relative to the last value where the assumption holds).

    Floats are rounded to three significant digits away from the boundary, integers move
    ``max(0, ceil(excess·|b|) - 1)`` steps beyond the first failing integer.
    """
    inside, outside = boundary
    if param_kind == "int":
        return int(outside + sign * max(0, math.ceil(excess * abs(inside)) - 1))
    target = outside + sign * excess * abs(inside)
    return _round_away(target, 3, sign)


FALLBACK_SPREAD = 4.0
"""A parameter declared without a finite search range is drawn in [min(defaults)/4, max(defaults)·4]."""


def regime_strategy(regime: Regime, tier: str = "quick"):
    """``regime.strategy(tier)``, or, when some parameter has no finite range to draw from, the same
    strategy with that parameter drawn around its tier defaults (log-uniformly for positive values,
    within ``FALLBACK_SPREAD`` of them and inside its declared range).  Returns ``(strategy, note)``.
    """
    from hypothesis import strategies as st

    try:
        return regime.strategy(tier), ""
    except ValueError:
        pass
    if regime.strategy_fn is not None:
        raise RegimeError("the regime's own strategy cannot be drawn; give every parameter `search=(lo, hi)`")
    parts, widened = {}, []
    for p in regime.params:
        try:
            parts[p.name] = p.strategy()
        except ValueError:
            parts[p.name] = _fallback_strategy(p)
            widened.append(p.name)
    note = (f"no search range declared for {', '.join(widened)}: drawn within a factor "
            f"{FALLBACK_SPREAD:g} of the tier defaults")
    return st.fixed_dictionaries(parts).filter(regime.satisfies), note


def _fallback_strategy(p):
    from hypothesis import strategies as st

    values = [v for v in (p.quick, p.full) for v in (v if isinstance(v, (list, tuple)) else [v])]
    if not values or not all(isinstance(v, (int, float)) for v in values):
        raise RegimeError(f"parameter {p.name!r} has no range to draw from; give it `search=(lo, hi)`")
    a, b = min(values), max(values)
    if a > 0:
        lo, hi = a / FALLBACK_SPREAD, b * FALLBACK_SPREAD
    else:
        span = max(abs(a), abs(b), 1.0) * FALLBACK_SPREAD
        lo, hi = a - span, b + span
    if p.low is not None:
        lo = max(lo, p.low)
    if p.high is not None:
        hi = min(hi, p.high)
    integer = p.kind in ("int", "ints")
    if integer:
        elem = st.integers(int(math.ceil(lo)), int(math.floor(hi)))
    elif lo > 0:
        elem = st.floats(math.log(lo), math.log(hi)).map(math.exp)
    else:
        elem = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    if p.kind in ("floats", "ints"):
        n_lo, n_hi = p.length or (1, 5)
        return st.lists(elem, min_size=n_lo, max_size=n_hi)
    return elem


def relaxed_strategy(regime: Regime, constraint: Constraint, tier: str = "quick"):
    """Hypothesis strategy of ``(params, move)`` just past ``constraint``, every other assumption holding.

    ``move = {"param", "direction", "excess", "boundary"}`` records which parameter crossed the boundary,
    how far, and the last value at which the assumption held.
    """
    from hypothesis import assume
    from hypothesis import strategies as st

    base_strategy, _ = regime_strategy(regime, tier)
    movable = _numeric(regime, constraint.params) or _numeric(regime, regime.names)
    if not movable:
        raise RegimeError(f"assumption {constraint.name!r} involves no numeric parameter to move past it")

    @st.composite
    def draw(draw_):
        base = draw_(base_strategy)
        name = draw_(st.sampled_from(movable))
        sign = draw_(st.sampled_from((1, -1)))
        excess = draw_(st.sampled_from(EXCESSES))
        b = find_boundary(regime, constraint, base, name, sign)
        assume(b is not None)
        kind = regime.param(name).kind
        value = past_value(kind, b, sign, excess)
        params = dict(base)
        params[name] = value
        if _holds(constraint, params) or not _params_valid(regime, params):
            # rounding can step back over a non-monotone boundary: fall back to the first failing value
            params[name] = b[1]
        assume(not _holds(constraint, params))
        assume(_params_valid(regime, params) and _others_hold(regime, constraint, params))
        last_in = b[0]
        rel = abs(params[name] - last_in) / max(abs(last_in), 1e-300)
        return params, {"param": name, "direction": "up" if sign > 0 else "down", "excess": excess,
                        "boundary": last_in, "relative_excess": rel}

    return draw()


# ---------------------------------------------------------------------------------------- search
def _hypothesis_settings(budget: int):
    from hypothesis import HealthCheck, Phase, Verbosity, settings

    return settings(max_examples=int(budget), database=None, deadline=None, derandomize=False,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
                    suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet, print_blob=False)


def search_region(evaluator: Evaluator, strategy, region: str, message: str, budget: int, shrink_budget: int,
                  seed: int = 0, relaxed: bool = False, replayed: Sequence[Evaluation] = (),
                  deadline: float | None = None) -> RegionResult:
    """Let Hypothesis look for a refuted setting drawn from ``strategy`` and shrink the first it finds.

    ``strategy`` yields parameter dicts (in the regime) or ``(params, move)`` pairs (relaxed).
    ``replayed`` are this region's stored counterexamples, already re-run: the first still refuted
    stands as the counterexample when the search finds none.  After ``deadline`` (a
    ``time.monotonic()`` value) no new setting is evaluated.
    """
    from hypothesis import find
    from hypothesis.errors import NoSuchExample, Unsatisfiable

    t0 = time.perf_counter()
    state = {"found": False, "shrink": 0, "cut": False, "search": 0, "timed_out": False}
    start = len(evaluator.history)

    def refuted(drawn) -> bool:
        params, move = drawn if relaxed else (drawn, None)
        known = evaluator.known(params)
        if known is None:
            if deadline is not None and time.monotonic() > deadline:
                state["timed_out"] = True
                return False
            if state["found"]:
                if state["shrink"] >= shrink_budget:
                    state["cut"] = True
                    return False
                state["shrink"] += 1
            else:
                if state["search"] >= budget:
                    return False
                state["search"] += 1
            known = evaluator(params, region, "shrink" if state["found"] else "search", move)
        if known.verdict == "refuted":
            state["found"] = True
            return True
        return False

    result = RegionResult(region=region, message=message)
    try:
        drawn = find(strategy, refuted, settings=_hypothesis_settings(budget), random=random.Random(seed))
    except (NoSuchExample, Unsatisfiable):
        drawn = None
    if drawn is not None:
        params, move = drawn if relaxed else (drawn, None)
        best = evaluator.known(params)
        if not relaxed:
            best, used = polish(evaluator, best, region, shrink_budget - state["shrink"], deadline)
            state["shrink"] += used
        result.counterexample = _counterexample(best, move)
        if relaxed:
            result.counterexample["inside_neighbour"] = inside_neighbour(evaluator, best.params, move, region)
    else:
        still = [ev for ev in replayed if ev.verdict == "refuted"]
        if still:
            result.counterexample = _counterexample(still[0], still[0].moved)
            result.note = "the search found none; a stored counterexample replayed as refuted"
    mine = evaluator.history[start:]
    result.evaluated = len(mine)
    result.shrink_evaluations = state["shrink"]
    result.shrink_cut_short = state["cut"]
    result.timed_out = state["timed_out"]
    for ev in mine:
        result.counts[ev.verdict] = result.counts.get(ev.verdict, 0) + 1
    result.inconclusive = [_brief(ev) for ev in mine if ev.verdict == "inconclusive"]
    result.errors = [{**_brief(ev), "error": ev.error} for ev in mine if ev.verdict == "error"]
    if not mine and not state["timed_out"]:
        result.note = ("no setting could be drawn: none breaks this assumption alone while every other holds "
                       "(another assumption implies it, or it cannot be crossed inside the declared ranges)"
                       if relaxed else "no setting could be drawn from the regime's strategy")
    result.elapsed_s = time.perf_counter() - t0
    return result


def inside_neighbour(evaluator: Evaluator, params: Mapping[str, Any], move: Mapping[str, Any],
                     region: str) -> dict | None:
    """Evaluate the counterexample with the moved parameter put back at the last value where the relaxed
    assumption holds (rounded to three significant digits towards the inside when that still holds).

    A failure past an assumption is attributed to that assumption only when this in-regime neighbour is
    ``verified``: otherwise the claim already fails at the boundary, inside its regime.
    """
    regime = evaluator.claim.regime
    name, last_in = move["param"], move["boundary"]
    sign = 1 if move["direction"] == "up" else -1
    candidates = [last_in]
    if regime.param(name).kind == "float":
        candidates.insert(0, _round_away(float(last_in), 3, -sign))
    for value in candidates:
        trial = dict(params)
        trial[name] = value
        if regime.satisfies(trial):
            ev = evaluator(trial, region, "neighbour")
            return {"params": ev.params, "verdict": ev.verdict, "measured": ev.measured,
                    "predicted": ev.predicted, "ci": [ev.ci_low, ev.ci_high]}
    return None


def polish(evaluator: Evaluator, ev: Evaluation, region: str, allowance: int,
           deadline: float | None = None) -> tuple[Evaluation, int]:
    """Round each float (and each element of a float list) of an in-regime counterexample to 1 then 2
    significant digits when it stays in the regime and stays refuted (at most ``allowance`` new
    evaluations, none started after ``deadline``); returns the result and the count."""
    regime = evaluator.claim.regime
    used = 0
    best = ev
    slots = [(p.name, None) for p in regime.params if p.kind == "float"]
    slots += [(p.name, i) for p in regime.params if p.kind == "floats" for i in range(len(ev.params[p.name]))]
    for name, i in slots:
        x = best.params[name] if i is None else best.params[name][i]
        if x == 0:
            continue
        for digits in (1, 2):
            y = float(f"{x:.{digits}g}")
            if y == x:
                break
            cand = dict(best.params)
            if i is None:
                cand[name] = y
            else:
                cand[name] = list(cand[name])
                cand[name][i] = y
            if not regime.satisfies(cand):
                continue
            known = evaluator.known(cand)
            if known is None:
                if used >= allowance or (deadline is not None and time.monotonic() > deadline):
                    return best, used
                used += 1
                known = evaluator(cand, region, "polish")
            if known.verdict == "refuted":
                best = known
                break
    return best, used


def _brief(ev: Evaluation) -> dict:
    return {"params": ev.params, "predicted": ev.predicted, "measured": ev.measured,
            "ci": None if ev.ci_low is None else [ev.ci_low, ev.ci_high], "moved": ev.moved}


def _counterexample(ev: Evaluation, move: dict | None) -> dict:
    return {"params": ev.params, "verdict": ev.verdict, "predicted": ev.predicted, "measured": ev.measured,
            "ci": [ev.ci_low, ev.ci_high], "tolerance": ev.tolerance, "moved": move, "evaluation": ev.index}


# ----------------------------------------------------------------------------------------- explore
def explore(claim: Claim, budget: int = 20, outside_regime: bool = False, n_seeds: int | None = None,
            root: int = DEFAULT_ROOT, out: str | Path | None = None, shrink_budget: int | None = None,
            tier: str = "quick", log: Callable[[str], None] | None = None,
            time_limit: float | None = None, store=None, eval_timeout: float | None = None,
            agreement_figure: str | Path | None = None) -> dict:
    """Search a claim's regime (and optionally just past each assumption) for refuted settings.

    Parameters
    ----------
    claim : Claim
    budget : int
        Distinct settings evaluated while searching each region.
    outside_regime : bool
        Also search just past each assumption, one relaxed at a time.
    n_seeds : int, optional
        Replicates per setting (default: the claim's quick-tier count).
    root : int
        Root seed of the replicates (and of Hypothesis's random choices).
    out : path, optional
        Directory for the counterexample file, the figure and the JSON report.
    shrink_budget : int, optional
        New settings allowed for shrinking and polishing each counterexample (default ``budget``).
    tier : {"quick", "full"}
        Tier whose strategy is searched.
    log : callable, optional
        Receives one line per evaluated setting.
    time_limit : float, optional
        Wall-clock seconds for the whole search: the regime gets half, and each relaxed assumption an
        equal share of the time left when its search starts; no new setting is evaluated past a
        region's share (the report says which regions were cut short).
    store : theorycheck.store.Store, optional
        Results store: every finished replicate is kept there, and a rerun reuses them.
    eval_timeout : float, optional
        Seconds one setting may take: each setting then runs in a forked child process that is
        stopped past it (the setting counts as an ``error``); such settings use no store.
    agreement_figure : path, optional
        Where to draw predicted against measured over every evaluated setting, with the acceptance band,
        coloured by verdict (:func:`theorycheck.explore.figures.draw_agreement`); default
        ``out/explore_<claim>_agreement.png`` when ``out`` is given.

    Returns
    -------
    dict
        JSON-serialisable report: the regions searched, their counterexamples, the evaluations, the
        first assumption whose relaxation breaks the claim, and the figure path.
    """
    t0 = time.perf_counter()
    end = None if time_limit is None else time.monotonic() + float(time_limit)
    n_seeds = int(n_seeds or claim.seeds["quick"])
    shrink_budget = int(budget if shrink_budget is None else shrink_budget)
    outdir = Path(out) if out is not None else None
    if outdir is not None:
        outdir.mkdir(parents=True, exist_ok=True)
    evaluator = Evaluator(claim, n_seeds, root, log, store, eval_timeout)
    replayed: dict[str, list[Evaluation]] = {}
    if outdir is not None:
        for row in replay(claim, outdir, evaluator):
            replayed.setdefault(row["region"], []).append(evaluator.known(row["params"]))

    regions = []
    n_regions = 1 + (len(claim.regime.constraints) if outside_regime else 0)

    def share():
        if end is None:
            return None
        now = time.monotonic()
        left = max(0.0, end - now)
        if not regions and n_regions > 1:
            return now + 0.5 * left  # the regime itself gets half; the relaxed assumptions share the rest
        return now + left / max(1, n_regions - len(regions))

    if log:
        log(f"{claim.id}: searching the regime (budget {budget}, {n_seeds} seeds per setting)")
    strategy, strategy_note = regime_strategy(claim.regime, tier)
    if strategy_note and log:
        log(f"  note: {strategy_note}")
    regions.append(search_region(evaluator, strategy, IN_REGIME,
                                 "every assumption holds", budget, shrink_budget, seed=root,
                                 replayed=replayed.get(IN_REGIME, ()), deadline=share()))
    if outside_regime:
        for c in claim.regime.constraints:
            if log:
                log(f"{claim.id}: relaxing {c.name!r} ({c.message})")
            try:
                strategy = relaxed_strategy(claim.regime, c, tier)
            except RegimeError as exc:
                regions.append(RegionResult(region=c.name, message=c.message, note=str(exc)))
                continue
            regions.append(search_region(evaluator, strategy, c.name, c.message, budget, shrink_budget,
                                         seed=root, relaxed=True, replayed=replayed.get(c.name, ()),
                                         deadline=share()))

    report = {
        "claim": claim.id, "kind": claim.kind, "comparison": claim.comparison, "expected": claim.expected,
        "budget": int(budget), "shrink_budget": shrink_budget, "seeds": n_seeds, "root_seed": int(root),
        "tier": tier, "outside_regime": bool(outside_regime), "strategy_note": strategy_note,
        "time_limit_s": time_limit, "eval_timeout_s": eval_timeout,
        "regions": [asdict(r) for r in regions],
        "first_breaking_assumption": first_breaking(regions),
        "evaluations": [asdict(e) for e in evaluator.history],
        "elapsed_s": None, "figure": None, "agreement_figure": None,
    }
    if outdir is not None:
        _append_counterexamples(outdir, claim, regions)
        fig_path = outdir / f"explore_{claim.id}.png"
        draw_figure(claim, report, fig_path, tier)
        report["figure"] = str(fig_path)
    if agreement_figure is None and outdir is not None:
        agreement_figure = outdir / f"explore_{claim.id}_agreement.png"
    if agreement_figure is not None:
        from .figures import draw_agreement

        ranked = [name for name, score in influence(claim, report["evaluations"]) if score > 0]
        title = (f"{claim.id}: {n_seeds} seeds per setting, {len(report['evaluations'])} settings, "
                 f"{sum(e['verdict'] == 'error' for e in report['evaluations'])} errors")
        report["agreement_figure"] = str(draw_agreement(claim, report["evaluations"], agreement_figure, title,
                                                        ranked[0] if ranked else None))
    report["elapsed_s"] = time.perf_counter() - t0
    if outdir is not None:
        (outdir / f"explore_{claim.id}.json").write_text(json.dumps(report, indent=2, default=float))
    return report


def first_breaking(regions: Sequence[RegionResult]) -> dict | None:
    """The relaxed assumption refuted at the smallest relative excess past its boundary (ties: the one
    whose counterexample took fewer evaluations to reach), among those whose in-regime neighbour at the
    boundary is verified (see :func:`inside_neighbour`)."""
    broken = [r for r in regions if r.region != IN_REGIME and r.counterexample is not None
              and (r.counterexample.get("inside_neighbour") or {}).get("verdict") == "verified"]
    if not broken:
        return None

    def key(r):
        mv = r.counterexample["moved"] or {}
        return (mv.get("relative_excess", math.inf), r.counterexample["evaluation"])

    r = min(broken, key=key)
    return {"assumption": r.region, "message": r.message, "counterexample": r.counterexample}


# ----------------------------------------------------------------------------------- persistence
def _append_counterexamples(outdir: Path, claim: Claim, regions: Sequence[RegionResult]) -> None:
    path = outdir / COUNTEREXAMPLES_FILE
    rows = json.loads(path.read_text()) if path.exists() else []
    seen = {(r["claim"], r["region"], params_key(r["params"])) for r in rows}
    for reg in regions:
        cx = reg.counterexample
        if cx is None or (claim.id, reg.region, params_key(cx["params"])) in seen:
            continue
        rows.append({"claim": claim.id, "region": reg.region, "params": cx["params"], "moved": cx["moved"],
                     "predicted": cx["predicted"],
                     "measured": cx["measured"], "found_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(rows, indent=2, default=float))
    tmp.replace(path)


def stored_counterexamples(directory: str | Path, claim_id: str | None = None) -> list[dict]:
    """Counterexamples recorded in ``directory`` (optionally of one claim)."""
    path = Path(directory) / COUNTEREXAMPLES_FILE
    if not path.exists():
        return []
    rows = json.loads(path.read_text())
    return [r for r in rows if claim_id is None or r["claim"] == claim_id]


def replay(claim: Claim, directory: str | Path, evaluator: Evaluator | None = None,
           n_seeds: int | None = None, root: int = DEFAULT_ROOT) -> list[dict]:
    """Re-run the stored counterexamples of ``claim`` and return ``{region, params, verdict}`` rows.

    Settings whose parameters no longer fit the claim's declared parameters are skipped (the claim
    changed since they were found); the regime's assumptions are not re-checked, because relaxed
    counterexamples violate one on purpose.
    """
    evaluator = evaluator or Evaluator(claim, int(n_seeds or claim.seeds["quick"]), root)
    out = []
    for row in stored_counterexamples(directory, claim.id):
        params = row["params"]
        if set(params) != set(claim.regime.names) or not _params_valid(claim.regime, params):
            continue
        ev = evaluator(params, row["region"], "replay", row.get("moved"))
        out.append({"region": row["region"], "params": params, "verdict": ev.verdict})
    return out


# ---------------------------------------------------------------------------------------- figure
def _scalar(value) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (int, float)) for v in value):
        return float(sum(value)) / len(value)
    return None


def influence(claim: Claim, evaluations: Sequence[Mapping]) -> list[tuple[str, float]]:
    """Parameters ranked by |Spearman correlation| between their value and the margin past the band.

    A list parameter enters by its mean, a choice by its index; a parameter that took fewer than two
    distinct values has influence 0.
    """
    from scipy.stats import spearmanr

    rows = [(e["params"], Evaluation(**e).margin(claim.comparison)) for e in evaluations]
    rows = [(params, m) for params, m in rows if m is not None and math.isfinite(m)]
    ranked, varied = [], set()
    for p in claim.regime.params:
        if len({json.dumps(e["params"].get(p.name), default=str) for e in evaluations}) >= 2:
            varied.add(p.name)
        xs, ys = [], []
        for params, m in rows:
            x = _axis_values(claim, p.name, params)
            if x is not None:
                xs.append(x)
                ys.append(m)
        score = 0.0
        if len(set(xs)) >= 2 and len(set(ys)) >= 2:
            rho = spearmanr(xs, ys).statistic
            score = 0.0 if not math.isfinite(rho) else abs(float(rho))
        ranked.append((p.name, score))
    ranked.sort(key=lambda t: -t[1])
    return [t for t in ranked if t[0] in varied] + [t for t in ranked if t[0] not in varied]


def _axis_values(claim: Claim, name: str, params: Mapping) -> float | None:
    p = claim.regime.param(name)
    value = params.get(name)
    if p.kind == "choice":
        return float(p.choices.index(value)) if value in p.choices else None
    return _scalar(value)


def draw_figure(claim: Claim, report: Mapping, path: str | Path, tier: str = "quick") -> Path:
    """Verdicts of every evaluated setting in the plane of the two most influential parameters.

    Colours are verdicts; circles are in-regime settings, triangles settings past one assumption; stars
    mark counterexamples.  The black contour is the regime boundary in that plane with every other
    parameter at its ``tier`` default (or at the in-regime counterexample's values when there is one).
    """
    import numpy as np

    from ..plots import figure

    evals = report["evaluations"]
    ranked = influence(claim, evals)
    axes_names = [n for n, _ in ranked][:2]
    fig, (ax,) = figure(width=6.0, height=4.8)
    markers = {True: "o", False: "^"}
    for ev in evals:
        in_regime = ev["region"] == IN_REGIME
        x = _axis_values(claim, axes_names[0], ev["params"]) if axes_names else ev["index"]
        if len(axes_names) >= 2:
            y = _axis_values(claim, axes_names[1], ev["params"])
        else:
            y = Evaluation(**ev).margin(claim.comparison)
        if x is None or y is None:
            continue
        ax.scatter([x], [y], c=VERDICT_COLOURS.get(ev["verdict"], "k"), marker=markers[in_regime], s=36,
                   alpha=0.8, edgecolors="none")
    cx_points = []
    for reg in report["regions"]:
        cx = reg["counterexample"]
        if cx is None:
            continue
        x = _axis_values(claim, axes_names[0], cx["params"]) if axes_names else cx["evaluation"]
        y = (_axis_values(claim, axes_names[1], cx["params"]) if len(axes_names) >= 2 else
             Evaluation(index=0, region="", phase="", params=cx["params"], verdict=cx["verdict"],
                        predicted=cx["predicted"], measured=cx["measured"], ci_low=None, ci_high=None,
                        tolerance=cx["tolerance"], error=None, elapsed_s=0).margin(claim.comparison))
        if x is not None and y is not None:
            cx_points.append((x, y, reg["region"]))
    for k, (x, y, region) in enumerate(cx_points):
        ax.scatter([x], [y], marker="*", s=260, facecolors="none", edgecolors="k", linewidths=1.3)
        ax.annotate(region if region != IN_REGIME else "in regime", (x, y), textcoords="offset points",
                    xytext=(6, 6 - 10 * k), fontsize=7)  # stacked, so coinciding stars stay legible
    log_axes = set()
    for name, axis in zip(axes_names, ("x", "y")):
        values = [_axis_values(claim, name, ev["params"]) for ev in evals]
        if _log_scale(claim.regime.param(name), [v for v in values if v is not None]):
            (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
            log_axes.add(name)
    ax.autoscale_view()
    if len(axes_names) >= 2:
        _draw_boundary(ax, claim, report, axes_names, tier, np, log_axes)
        ax.set_ylabel(_axis_label(claim, axes_names[1]))
    else:
        ax.axhline(0.0, color="k", lw=0.8)
        ax.set_ylabel("margin past the acceptance band (band half-widths)")
    ax.set_xlabel(_axis_label(claim, axes_names[0]) if axes_names else "evaluation")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], ls="", marker="s", color=c, label=v) for v, c in VERDICT_COLOURS.items()]
    handles += [Line2D([], [], ls="", marker="o", color="k", mfc="none", label="in regime"),
                Line2D([], [], ls="", marker="^", color="k", mfc="none", label="one assumption relaxed"),
                Line2D([], [], ls="", marker="*", color="k", mfc="none", ms=12, label="counterexample")]
    if len(axes_names) >= 2:
        handles.append(Line2D([], [], color="k", lw=1.2, label="regime boundary"))
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), framealpha=0.8)
    n_eval = len(evals)
    title = f"{claim.id}: {n_eval} settings, budget {report['budget']}, {report['seeds']} seeds each"
    if len(axes_names) >= 2:
        inside = any(r["region"] == IN_REGIME and r["counterexample"] for r in report["regions"])
        title += ("\nboundary: other parameters at the in-regime counterexample" if inside else
                  f"\nboundary: other parameters at their {tier} defaults")
    ax.set_title(title, fontsize=9)
    from ..plots import save_figure

    return save_figure(fig, path)


def _axis_label(claim: Claim, name: str) -> str:
    p = claim.regime.param(name)
    suffix = " (mean of list)" if p.kind in ("floats", "ints") else " (choice index)" if p.kind == "choice" else ""
    room = max(0, 52 - len(name) - len(suffix))
    doc = p.doc if len(p.doc) <= room else p.doc[:room - 1].rstrip(" ,;:(") + "…"
    return f"{name}{suffix}" + (f": {doc}" if doc and room > 8 else "")


def _log_scale(param, values: Sequence[float]) -> bool:
    """Log axis for a parameter declared ``log``, or whose positive values span a factor 50 or more."""
    if not values or min(values) <= 0:
        return False
    return bool(param.log or max(values) / min(values) >= 50)


def _draw_boundary(ax, claim: Claim, report: Mapping, names: Sequence[str], tier: str, np,
                   log_axes=frozenset()) -> None:
    regime = claim.regime
    if any(regime.param(n).kind not in ("int", "float") for n in names):
        return
    base = regime.defaults(tier)
    inside = [r["counterexample"] for r in report["regions"] if r["region"] == IN_REGIME and r["counterexample"]]
    if inside:
        base = dict(inside[0]["params"])
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    grids = []
    for name, (a, b) in zip(names, ((x0, x1), (y0, y1))):
        if name in log_axes and a > 0 and b > 0:
            g = np.geomspace(a, b, 90)
        else:
            g = np.linspace(a, b, 90)
        grids.append(g)
    gx, gy = np.meshgrid(*grids)
    inside_mask = np.zeros(gx.shape)
    for i in range(gx.shape[0]):
        for j in range(gx.shape[1]):
            trial = dict(base)
            for name, v in zip(names, (gx[i, j], gy[i, j])):
                trial[name] = int(round(v)) if regime.param(name).kind == "int" else float(v)
            inside_mask[i, j] = 1.0 if regime.satisfies(trial) else 0.0
    if 0 < inside_mask.mean() < 1:
        ax.contour(gx, gy, inside_mask, levels=[0.5], colors="k", linewidths=1.2)
        ax.contourf(gx, gy, inside_mask, levels=[0.5, 1.5], colors=["#1f77b4"], alpha=0.06)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)


# ------------------------------------------------------------------------------------------- CLI
def _describe_eval(ev: Evaluation) -> str:
    shown = ", ".join(f"{k}={_short(v)}" for k, v in ev.params.items())
    what = (f"error: {_first_line(ev.error)}" if ev.verdict == "error" else
            f"{ev.verdict}: measured {_short(ev.measured)} [{_short(ev.ci_low)}, {_short(ev.ci_high)}] vs "
            f"predicted {_short(ev.predicted)} ± {_short(ev.tolerance)}")
    return f"  [{ev.index:3d}] {ev.region} / {ev.phase}: {shown} -> {what} ({ev.elapsed_s:.1f}s)"


def _first_line(text: str | None, width: int = 160) -> str:
    line = (text or "").splitlines()[0] if text else ""
    return line if len(line) <= width else line[:width] + " ..."


def _short(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        return "[" + ", ".join(_short(x) for x in v) + "]"
    return str(v)


def format_report(report: Mapping) -> str:
    """The human-readable summary of one claim's search."""
    lines = [f"{report['claim']} ({report['kind']}, {report['comparison']}): {len(report['evaluations'])} settings "
             f"in {report['elapsed_s']:.1f}s, budget {report['budget']} per region, {report['seeds']} seeds each"]
    if report.get("strategy_note"):
        lines.append(f"  note: {report['strategy_note']}")
    for reg in report["regions"]:
        counts = ", ".join(f"{v} {k}" for k, v in sorted(reg["counts"].items())) or "none evaluated"
        label = "in the regime" if reg["region"] == IN_REGIME else f"relaxing {reg['region']!r} ({reg['message']})"
        lines.append(f"  {label}: {counts}")
        cx = reg["counterexample"]
        if cx is None:
            lines.append("    no counterexample found" + (f": {reg['note']}" if reg["note"] else ""))
        else:
            shown = ", ".join(f"{k}={_short(v)}" for k, v in cx["params"].items())
            lines.append(f"    counterexample: {shown}")
            lines.append(f"      measured {_short(cx['measured'])} CI [{_short(cx['ci'][0])}, {_short(cx['ci'][1])}]"
                         f" vs predicted {_short(cx['predicted'])} ± {_short(cx['tolerance'])}")
            if cx["moved"]:
                mv = cx["moved"]
                lines.append(f"      {mv['param']} moved {mv['direction']} past the boundary "
                             f"(assumption holds up to {mv['param']}={_short(mv['boundary'])}; "
                             f"relative excess {mv['relative_excess']:.3g})")
                nb = cx.get("inside_neighbour")
                if nb is not None:
                    lines.append(f"      inside neighbour {mv['param']}={_short(nb['params'][mv['param']])}: "
                                 f"{nb['verdict']} (measured {_short(nb['measured'])} vs predicted "
                                 f"{_short(nb['predicted'])})"
                                 + ("" if nb["verdict"] == "verified" else
                                    ": the claim already fails inside, so this is not the assumption's doing"))
            cut = ", cut short by the shrink budget" if reg["shrink_cut_short"] else ""
            lines.append(f"      shrinking used {reg['shrink_evaluations']} settings{cut}")
        if reg.get("timed_out"):
            lines.append("    cut short by the time limit")
        if reg["inconclusive"]:
            lines.append(f"    {len(reg['inconclusive'])} inconclusive setting(s)")
        timeouts = sum("TimeoutError" in (e["error"] or "") for e in reg["errors"])
        if reg["errors"] and reg["counts"].get("error", 0) == reg["evaluated"]:
            if timeouts == len(reg["errors"]):
                lines.append("    every setting hit the per-setting timeout")
            elif reg["region"] != IN_REGIME and not timeouts:
                lines.append("    every setting raised: the model is not defined past this assumption "
                             "(a precondition of the simulation, not a testable assumption)")
            else:
                lines.append("    every setting raised" + (" or timed out" if timeouts else ""))
        for e in reg["errors"][:2]:
            shown = ", ".join(f"{k}={_short(v)}" for k, v in e["params"].items())
            lines.append(f"    error at {shown}: {_first_line(e['error'])}")
    if report["outside_regime"]:
        fb = report["first_breaking_assumption"]
        lines.append("  first assumption whose relaxation breaks the claim: "
                     + ("none within the budget" if fb is None else f"{fb['assumption']!r}"))
    if report["figure"]:
        lines.append(f"  figure: {report['figure']}")
    if report.get("agreement_figure"):
        lines.append(f"  predicted against measured: {report['agreement_figure']}")
    return "\n".join(lines)


def run_cli(args) -> int:
    """``theorycheck explore``: 0 when the search ran (found or not), 2 on bad input."""
    from .. import registry

    try:
        import hypothesis  # noqa: F401
    except ImportError:
        raise RegimeError("explore needs Hypothesis: pip install hypothesis") from None
    claims, skipped = registry.select_at_tier([args.claim], "quick")
    if skipped:
        print(registry.skipped_note(skipped, "quick"), file=sys.stderr)
    root = DEFAULT_ROOT if args.seed is None else int(args.seed)
    out = Path(args.out or DEFAULT_OUT)
    log = None if (args.quiet or args.json == "-") else (lambda line: print(line, file=sys.stderr, flush=True))
    from ..store import Store

    store = Store(out)
    reports = []
    try:
        for claim in claims:
            figure_path = getattr(args, "figure", None)
            if figure_path and len(claims) > 1:
                figure_path = Path(figure_path)
                figure_path = figure_path.with_name(f"{figure_path.stem}_{claim.id}{figure_path.suffix}")
            reports.append(explore(claim, budget=args.budget, outside_regime=args.outside_regime,
                                   n_seeds=args.seeds, root=root, out=out, log=log,
                                   time_limit=args.time_limit, eval_timeout=args.eval_timeout,
                                   shrink_budget=args.shrink_budget, store=store, agreement_figure=figure_path))
            if args.json != "-":
                print(format_report(reports[-1]), flush=True)
    except KeyboardInterrupt:
        print("interrupted: every finished replicate is kept in the results store of the output directory",
              file=sys.stderr)
        return 1
    finally:
        store.close()
    if args.json == "-":
        print(json.dumps(reports, indent=2, default=float))
    elif args.json:
        Path(args.json).write_text(json.dumps(reports, indent=2, default=float))
    return 0


def summary_rows(report: Mapping) -> list[dict]:
    """One row per searched region for a findings table: claim, assumption relaxed (``-`` for the
    regime itself), settings evaluated by verdict, and the first failing setting (or ``none``)."""
    rows = []
    for reg in report["regions"]:
        cx = reg["counterexample"]
        if cx is None:
            failing = "none" + (" (cut short by the time limit)" if reg.get("timed_out") else "")
        else:
            failing = ", ".join(f"{k}={_short(v)}" for k, v in cx["params"].items())
            failing += f": measured {_short(cx['measured'])} vs predicted {_short(cx['predicted'])}"
            nb = cx.get("inside_neighbour")
            if cx["moved"]:
                failing += f" ({cx['moved']['param']} past {_short(cx['moved']['boundary'])}"
                failing += f"; inside neighbour {nb['verdict']})" if nb else ")"
        counts = ", ".join(f"{v} {k}" for k, v in sorted(reg["counts"].items())) or "0"
        rows.append({"claim": report["claim"], "relaxed": "-" if reg["region"] == IN_REGIME else reg["region"],
                     "settings": counts, "first_failing": failing})
    return rows
