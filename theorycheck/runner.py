"""Sweep runner: a claim's measurements as independent tasks (parameters, seed), reduced to a verdict.

Replicate ``i`` of claim ``c`` under root seed ``R`` is driven by
``numpy.random.SeedSequence(entropy=R, spawn_key=(crc32(c), i))``, so the numbers depend only on
(claim, parameters, root, i): not on the order, the worker count or the backend that ran them (every
backend runs a replicate with one BLAS and one Numba thread, see :mod:`theorycheck.backends`).  The seed
and the replicate itself are :mod:`theorycheck.task`'s, shared with the backends.

* :func:`verify_claim` — ``n`` seeds at one parameter setting, reduced to the claim's verdict;
* :func:`sweep` — a grid of one parameter times seeds, with :meth:`Sweep.slope` for rate exponents;
* :func:`measure_points` — the engine of both: tasks on a backend, resumed from and saved to a store.
"""
from __future__ import annotations

import math
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from . import backends
from .claim import Calibration, Claim
from .fit import SlopeFit, bootstrap_slope, loglog_slope
from .progress import Progress
from .task import CALIBRATION, MEASURE
# The seeding lives in theorycheck.task; these names stay importable from here.
from .task import (STREAMS, real_number, replicate_identity, replicate_rngs, replicate_seed, run_replicate,
                   split_measurement)
from .verdict import as_interval, control_distance, decide, mean_ci, proportion_ci, resolution

DEFAULT_ROOT = 20260101

__all__ = ["DEFAULT_ROOT", "MEASURE", "CALIBRATION", "STREAMS", "replicate_seed", "replicate_rngs",
           "replicate_identity", "split_measurement", "run_replicate", "reduce_values", "summarise_calibration",
           "evaluate", "judge", "measure_points", "run_calibration", "verify_claim", "Sweep", "SweepError", "sweep",
           "row_ok"]


def reduce_values(values: Sequence[float], extras: Sequence[Mapping] | None, method: str) -> tuple[float, float, float]:
    """``(estimate, lo, hi)`` of replicate values by an interval method of :mod:`theorycheck.verdict`."""
    if method == "student_t":
        return mean_ci(values)
    if method == "wilson_cluster":
        try:
            succ = [float(e["successes"]) for e in extras]
            trials = [float(e["trials"]) for e in extras]
        except (KeyError, TypeError):
            raise ValueError("interval 'wilson_cluster' needs every replicate to report successes and trials") from None
        return proportion_ci(succ, trials)
    raise ValueError(f"unknown interval method {method!r}")


def summarise_calibration(claim: Claim, values: Sequence[float], extras: Sequence[Mapping]) -> Calibration:
    """The calibration summary handed to an ``independent_runs`` prediction (a proportion when every run
    reports ``successes`` and ``trials``, else a Student-t mean)."""
    method = "wilson_cluster" if extras and all("successes" in e and "trials" in e for e in extras) else "student_t"
    m, lo, hi = reduce_values(values, extras, method)
    return Calibration(m, lo, hi, tuple(float(v) for v in values), len(values), method)


def _unit(tol: float, predicted, res: float) -> tuple[float, str]:
    """Unit of the control distance: the tolerance, else the half-width of a predicted interval, else the
    resolution."""
    if tol > 0:
        return tol, "tolerance"
    lo, hi = as_interval(predicted)
    if hi > lo and math.isfinite(hi - lo):
        return (hi - lo) / 2, "band half-width"
    return res, "resolution"


def evaluate(claim: Claim, params: Mapping[str, Any], values: Iterable[float], extras: Sequence[Mapping] | None = None,
             calibration: Calibration | None = None, tier: str = "quick") -> dict:
    """Reduce replicate values to the claim's verdict, its negative control's and (if any) its positive
    control's verdict, with the interval method, the resolution and the control's distance."""
    values = [float(v) for v in values]
    extras = list(extras) if extras is not None else [{} for _ in values]
    measured, lo, hi = reduce_values(values, extras, claim.interval)
    return judge(claim, params, measured, lo, hi, calibration)


def judge(claim: Claim, params: Mapping[str, Any], measured: float, lo: float, hi: float,
          calibration: Calibration | None = None) -> dict:
    """The verdict of an interval ``[lo, hi]`` of the measured statistic against the claim's band, with its
    negative control's, competing theory's and positive control's verdicts, the resolution and the control's
    distance (the reduction-free part of :func:`evaluate`, shared with limit claims)."""
    predicted = claim.prediction(params, calibration)
    tol = claim.tolerance.width(predicted)
    res = resolution(lo, hi, predicted, tol, claim.comparison)
    wrong = claim.control(params, calibration)
    wrong_tol = claim.tolerance.width(wrong)
    unit, unit_name = _unit(tol, predicted, res)
    dist = control_distance(predicted, tol, wrong, claim.comparison, unit)
    p_lo, p_hi = as_interval(predicted)
    w_lo, w_hi = as_interval(wrong)
    gap = max(w_lo - p_hi, p_lo - w_hi, 0.0)
    row = {
        "predicted": _jsonable(predicted), "measured": measured, "ci_low": lo, "ci_high": hi,
        "tolerance": tol, "verdict": decide(lo, hi, predicted, tol, claim.comparison),
        "interval": claim.interval, "resolution": res, "prediction_source": claim.prediction_source,
        "control_distance": dist, "control_distance_unit": unit_name,
        "negative_control": {"label": claim.negative_label, "predicted": _jsonable(wrong),
                             "tolerance": wrong_tol, "distance": dist,
                             "resolutions": (gap / res) if res > 0 else None,
                             "verdict": decide(lo, hi, wrong, wrong_tol, claim.comparison)},
    }
    other = claim.competing(params, calibration)
    if other is not None:
        other_tol = claim.tolerance.width(other)
        row["alternative"] = {"label": claim.alternative_label, "predicted": _jsonable(other), "tolerance": other_tol,
                              "distance": control_distance(predicted, tol, other, claim.comparison, unit),
                              "verdict": decide(lo, hi, other, other_tol, claim.comparison)}
    right = claim.corrected(params, calibration)
    if right is not None:
        ptol_obj = claim.positive_tolerance or claim.tolerance
        ptol = ptol_obj.width(right)
        pcmp = claim.positive_comparison or claim.comparison
        row["positive_control"] = {"label": claim.positive_label, "predicted": _jsonable(right), "tolerance": ptol,
                                   "comparison": pcmp, "verdict": decide(lo, hi, right, ptol, pcmp)}
    if calibration is not None:
        row["calibration"] = {"label": claim.calibration_label, "mean": calibration.mean,
                              "ci_low": calibration.ci_low, "ci_high": calibration.ci_high,
                              "seeds": calibration.seeds, "interval": calibration.interval,
                              "values": list(calibration.values)}
    return row


def _jsonable(pred):
    lo, hi = as_interval(pred)
    return lo if lo == hi and not isinstance(pred, (tuple, list, np.ndarray)) else [lo, hi]


def _error_record(index: int, params, message: str) -> dict:
    return {"index": index, "value": float("nan"), "extras": {}, "error": message, "elapsed_s": 0.0,
            "params": dict(params), "worker": None}


def measure_points(claim: Claim, points: Sequence[tuple[Mapping[str, Any], int]], root: int = DEFAULT_ROOT,
                   backend=None, store=None, bar: Progress | None = None, stream: str = MEASURE) -> dict:
    """Measure replicates ``(params, index)`` of a claim as independent tasks and return their records.

    Stored records of this code version are reused, never recomputed; each new record is written to
    ``store`` as soon as it finishes (so an interrupted run keeps it), and only if it succeeded.  With a
    store, a record computed by a worker whose code version differs from this process's is an error of
    that replicate (the source changed during the run, or a cluster runs other code): it is kept under
    the worker's version, never mixed into this run.  At most ``backend.window`` tasks (default
    ``2 * backend.slots``) are in flight, so the progress bar moves even on the in-process backend and an
    interrupted run leaves little queued.

    ``stream="calibration"`` runs ``claim.calibrate`` on the calibration seed stream; its records are stored
    under the id ``CLAIM@calibration``.

    Returns
    -------
    dict
        ``{(params_key(params), index): record}`` for every point (see :func:`run_replicate`).
    """
    from .store import params_key

    backend = backend or backends.InProcess()
    store_id = claim.id if stream == MEASURE else f"{claim.id}@{stream}"

    def submit(params, index):
        if stream == MEASURE:
            return backend.submit(claim, params, root, index)
        return backend.submit(claim, params, root, index, stream=stream)

    keyed = {}
    for params, index in points:
        keyed[(params_key(params), int(index))] = (dict(params), int(index))
    records: dict[tuple[str, int], dict] = {}
    if store is not None:
        by_params: dict[str, tuple[dict, list[int]]] = {}
        for (pk, i), (params, _) in keyed.items():
            by_params.setdefault(pk, (params, []))[1].append(i)
        for pk, (params, indices) in by_params.items():
            for i, rec in store.lookup(store_id, params, root, indices).items():
                records[(pk, i)] = rec
    reused = len(records)
    todo = [k for k in keyed if k not in records]
    bar = bar or Progress(claim.id, len(keyed), enabled=False)
    bar.update(done=reused, reused=reused)
    version = store.version if store is not None else None
    window = max(1, int(getattr(backend, "window", 2 * backend.slots)))
    in_flight: dict = {}
    queue = deque(todo)
    try:
        while queue or in_flight:
            while queue and len(in_flight) < window:
                key = queue.popleft()
                params, index = keyed[key]
                in_flight[submit(params, index)] = key
            bar.update(running=min(len(in_flight), backend.slots))
            finished, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
            for fut in finished:
                key = in_flight.pop(fut)
                params, index = keyed[key]
                try:
                    rec = fut.result()
                except Exception as exc:  # a worker died or the cluster failed: the replicate errs
                    rec = _error_record(index, params, f"{type(exc).__name__}: {exc}")
                worker_version = (rec.get("worker") or {}).get("code_version", version)
                if store is not None and rec["error"] is None and worker_version != version:
                    # Kept in the store under the worker's own code version, never mixed into this run.
                    store.save(store_id, params, root, rec)
                    rec["error"] = (f"replicate {index} was computed by code version {worker_version}, this run "
                                    f"is {version}: the source changed during the run or the workers run "
                                    f"other code")
                records[key] = rec
                if store is not None and rec["error"] is None:
                    store.save(store_id, params, root, rec)
            bar.update(done=len(records), running=min(len(in_flight), backend.slots))
    finally:
        for fut in in_flight:
            fut.cancel()
    return records


def run_calibration(claim: Claim, params: Mapping[str, Any], n: int, root: int = DEFAULT_ROOT, backend=None,
                    store=None, progress: bool = False) -> tuple[Calibration | None, str | None]:
    """Run ``n`` calibration replicates (reusing stored ones) and return ``(summary, None)``, or
    ``(None, message)`` when a run failed."""
    from .store import params_key

    bar = Progress(f"{claim.id} (calibration)", n, enabled=progress)
    recs = measure_points(claim, [(params, i) for i in range(n)], root, backend, store, bar, stream=CALIBRATION)
    recs = [recs[(params_key(params), i)] for i in range(n)]
    bar.close("done")
    error = next((f"calibration run {r['index']}: {r['error']}" for r in recs if r["error"]), None)
    if error is not None:
        return None, error
    return summarise_calibration(claim, [r["value"] for r in recs], [r["extras"] for r in recs]), None


def reported_mean(extras: list[Mapping[str, Any]], name: str) -> float | None:
    """Mean of the finite values of ``extras[i][name]`` over replicates, ``None`` when there are none."""
    vals = [v for v in (real_number(e.get(name)) for e in extras) if v is not None]
    return float(np.mean(vals)) if vals else None


def verify_claim(claim: Claim, params: Mapping[str, Any], n_seeds: int, root: int = DEFAULT_ROOT,
                 backend=None, store=None, progress: bool = True, tier: str = "quick",
                 calibration_seeds: int | None = None) -> dict:
    """Measure ``n_seeds`` replicates (reusing any stored ones) and return the result row.

    The row holds the JSON fields of the command-line contract (``claim, kind, verdict, expected,
    predicted, measured, ci_low, ci_high, tolerance, seeds, params, negative_control, elapsed_s``, and
    ``resolution, interval, prediction_source, control_distance, role, tier``) and, for provenance, the
    root seed, every replicate's value, extras and elapsed time, how many were reused from the store, the
    backend and the code version.  ``expected`` is the claim's expectation at ``tier``.  A claim whose
    prediction comes from independent runs first runs ``calibration_seeds`` (default: the claim's, per
    tier) calibration replicates on its own seed stream.  When ``store`` is given the row is saved there too.
    """
    from .store import code_version, params_key

    if claim.kind == "limit":
        from .limit import verify_limit

        return verify_limit(claim, params, n_seeds, root, backend, store, progress, tier)
    t0 = time.perf_counter()
    backend = backend or backends.InProcess()
    pk = params_key(params)
    calibration, calibration_error = None, None
    if claim.calibrate is not None:
        calibration, calibration_error = run_calibration(
            claim, params, int(calibration_seeds or claim.calibration_seeds[tier]), root, backend, store, progress)
    bar = Progress(claim.id, n_seeds, enabled=progress)
    records = measure_points(claim, [(params, i) for i in range(n_seeds)], root, backend, store, bar)
    ordered = [records[(pk, i)] for i in range(n_seeds)]
    errors = [r["error"] for r in ordered if r["error"]]
    if calibration_error:
        errors.insert(0, calibration_error)
    row = {"claim": claim.id, "kind": claim.kind, "comparison": claim.comparison, "role": claim.role,
           "tier": tier, "expected": claim.expected_for(tier), "seeds": n_seeds, "root_seed": int(root),
           "params": dict(params), "prediction_source": claim.prediction_source, "interval": claim.interval,
           "values": [r["value"] for r in ordered], "extras": [r["extras"] for r in ordered],
           "replicate_elapsed_s": [r["elapsed_s"] for r in ordered],
           "reused": sum(bool(r.get("cached")) for r in ordered),
           "measured_label": claim.measured_label, "finding": claim.finding_for(tier),
           "tolerance_reason": claim.tolerance_reason,
           "backend": getattr(backend, "name", type(backend).__name__), "code_version": code_version()}
    failed = dict(verdict="error", predicted=None, measured=None, ci_low=None, ci_high=None, tolerance=None,
                  resolution=None, control_distance=None,
                  negative_control={"label": claim.negative_label, "verdict": "error"})
    if claim.positive_control is not None:
        failed["positive_control"] = {"label": claim.positive_label, "verdict": "error"}
    kept = list(range(n_seeds))
    if claim.event_label and not errors:
        kept = [i for i, r in enumerate(ordered) if r["extras"].get("event", True)]
        row.update(event_label=claim.event_label, event_failures=n_seeds - len(kept))
        if n_seeds - len(kept) > claim.max_event_failures * n_seeds or len(kept) < 2:
            errors.append(f"the theorem's event ({claim.event_label}) failed in {n_seeds - len(kept)} of {n_seeds} "
                          f"replicates, more than {claim.max_event_failures:.0%}: the setting is outside its "
                          f"high-probability regime")
    if errors:
        row.update(failed, error=errors[0])
    else:
        try:
            row.update(evaluate(claim, params, [row["values"][i] for i in kept], [row["extras"][i] for i in kept],
                                calibration, tier))
        except Exception as exc:
            row.update(failed, error=f"{type(exc).__name__}: {exc}")
    for name in claim.reported_extras:
        row[name] = reported_mean(row["extras"], name)
    row["elapsed_s"] = time.perf_counter() - t0
    bar.close(row["verdict"])
    if store is not None and hasattr(store, "save_result"):
        store.save_result(row)
    return row


@dataclass
class Sweep:
    """A grid of one parameter times seeds: ``values[g, s]`` is seed ``s`` at ``x[g]``.

    The same replicate index drives every grid point (common random numbers), so :meth:`slope` with the
    bootstrap resamples whole seeds and keeps the dependence of a seed's points.
    """

    claim: str
    axis: str
    x: np.ndarray
    values: np.ndarray
    params: list
    root: int

    def slope(self, method: str = "bootstrap", level: float = 0.95, n_boot: int = 2000) -> SlopeFit:
        """Log-log slope of the seed-mean curve with a confidence interval.

        ``method="bootstrap"`` resamples seeds (:func:`theorycheck.fit.bootstrap_slope`, needs two or more
        seeds); ``"regression"`` gives the regression interval of the seed-mean curve
        (:func:`theorycheck.fit.loglog_slope`).
        """
        if method == "bootstrap":
            if self.values.shape[1] < 2:
                raise ValueError("the bootstrap over seeds needs at least two seeds")
            return bootstrap_slope(self.x, self.values, level=level, n_boot=n_boot,
                                   rng=np.random.default_rng(self.root))
        if method == "regression":
            return loglog_slope(self.x, self.values.mean(axis=1), level=level)
        raise ValueError(f"method must be 'bootstrap' or 'regression', got {method!r}")


class SweepError(RuntimeError):
    """A replicate of a sweep failed."""


def sweep(claim: Claim, params: Mapping[str, Any], axis: str, grid: Sequence, n_seeds: int,
          root: int = DEFAULT_ROOT, backend=None, store=None, progress: bool = True) -> Sweep:
    """Run ``claim.measure`` at every ``params | {axis: x}`` for ``x`` in ``grid`` and seeds ``0..n_seeds-1``.

    Every (grid point, seed) is an independent task on ``backend``; stored ones are reused.

    Raises
    ------
    SweepError
        When a replicate failed (the message names the grid point and the seed).
    """
    from .store import params_key

    if axis not in params:
        raise ValueError(f"sweep axis {axis!r} is not a parameter of {claim.id}")
    points = [dict(params, **{axis: x}) for x in grid]
    bar = Progress(f"{claim.id} over {axis}", len(points) * n_seeds, enabled=progress)
    records = measure_points(claim, [(p, i) for p in points for i in range(n_seeds)], root, backend, store,
                             bar)
    bar.close("done")
    values = np.empty((len(points), n_seeds))
    for g, p in enumerate(points):
        pk = params_key(p)
        for i in range(n_seeds):
            rec = records[(pk, i)]
            if rec["error"]:
                raise SweepError(f"{claim.id} at {axis}={p[axis]!r}, seed {i}: {rec['error']}")
            values[g, i] = rec["value"]
    return Sweep(claim.id, axis, np.asarray(grid, dtype=float), values, points, int(root))


def row_ok(row: Mapping[str, Any]) -> bool:
    """A row passes when its verdict is its expectation, its negative control and its competing theory (if
    any) are refuted and its positive control (if any) is verified."""
    positive, other = row.get("positive_control"), row.get("alternative")
    return (row["verdict"] == row["expected"] and row["negative_control"]["verdict"] == "refuted"
            and (positive is None or positive["verdict"] == "verified")
            and (other is None or other["verdict"] == "refuted"))
