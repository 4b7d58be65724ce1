"""Multi-seed runner: replicates as independent tasks, reduced to a verdict.

Replicate ``i`` of claim ``c`` under root seed ``R`` is driven by
``numpy.random.SeedSequence(entropy=R, spawn_key=(crc32(c), i))``, so the numbers depend only on
(claim, parameters, root, i): not on the order, the worker count or the backend that ran them.
"""
from __future__ import annotations

import math
import time
import zlib
from concurrent.futures import FIRST_COMPLETED, wait
from typing import Any, Iterable, Mapping

import numpy as np

from . import backends
from .claim import Claim
from .progress import Progress
from .verdict import as_interval, decide, mean_ci

DEFAULT_ROOT = 20260101


def replicate_seed(claim_id: str, root: int, index: int) -> np.random.SeedSequence:
    """The seed of replicate ``index`` of a claim under a root seed."""
    return np.random.SeedSequence(entropy=int(root), spawn_key=(zlib.crc32(claim_id.encode()), int(index)))


def replicate_rngs(claim_id: str, root: int, n: int) -> list[np.random.Generator]:
    return [np.random.default_rng(replicate_seed(claim_id, root, i)) for i in range(n)]


def split_measurement(out: Any) -> tuple[float, dict]:
    """A measurement as (value, extras); ``measure`` may return a number or ``{"value": v, ...}``."""
    if isinstance(out, Mapping):
        extras = {k: v for k, v in out.items() if k != "value"}
        return float(out["value"]), extras
    return float(out), {}


def run_replicate(claim: Claim, params: Mapping[str, Any], root: int, index: int) -> dict:
    """Run one replicate; errors are captured, never raised."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(replicate_seed(claim.id, root, index))
    try:
        value, extras = split_measurement(claim.measure(params, rng))
        if not math.isfinite(value):
            raise FloatingPointError(f"measurement is {value}")
        error = None
    except Exception as exc:  # recorded as the claim's error, reported by the CLI
        value, extras, error = float("nan"), {}, f"{type(exc).__name__}: {exc}"
    return {"index": index, "value": value, "extras": extras, "error": error,
            "elapsed_s": time.perf_counter() - t0}


def evaluate(claim: Claim, params: Mapping[str, Any], values: Iterable[float]) -> dict:
    """Reduce replicate values to the claim's verdict and its negative control's verdict."""
    values = [float(v) for v in values]
    predicted = claim.predict(params)
    tol = claim.tolerance.width(predicted)
    measured, lo, hi = mean_ci(values)
    wrong = claim.negative_control(params)
    wrong_tol = claim.tolerance.width(wrong)
    return {
        "predicted": _jsonable(predicted), "measured": measured, "ci_low": lo, "ci_high": hi,
        "tolerance": tol, "verdict": decide(lo, hi, predicted, tol, claim.comparison),
        "negative_control": {"label": claim.negative_label, "predicted": _jsonable(wrong),
                             "tolerance": wrong_tol,
                             "verdict": decide(lo, hi, wrong, wrong_tol, claim.comparison)},
    }


def _jsonable(pred):
    lo, hi = as_interval(pred)
    return lo if lo == hi and not isinstance(pred, (tuple, list, np.ndarray)) else [lo, hi]


def verify_claim(claim: Claim, params: Mapping[str, Any], n_seeds: int, root: int = DEFAULT_ROOT,
                 backend: "backends.Backend | None" = None, store=None, progress: bool = True) -> dict:
    """Measure ``n_seeds`` replicates (reusing any stored ones) and return the result row."""
    t0 = time.perf_counter()
    records: dict[int, dict] = {}
    if store is not None:
        records.update(store.lookup(claim.id, params, root, range(n_seeds)))
    todo = [i for i in range(n_seeds) if i not in records]
    bar = Progress(claim.id, n_seeds, enabled=progress)
    bar.update(done=len(records))
    backend = backend or backends.InProcess()
    pending = {backend.submit(claim, params, root, i) for i in todo}
    try:
        while pending:
            bar.update(running=min(len(pending), backend.slots))
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                rec = fut.result()
                records[rec["index"]] = rec
                if store is not None and rec["error"] is None:
                    store.save(claim.id, params, root, rec)
            bar.update(done=len(records), running=min(len(pending), backend.slots))
    finally:
        for fut in pending:
            fut.cancel()
    ordered = [records[i] for i in range(n_seeds)]
    errors = [r["error"] for r in ordered if r["error"]]
    row = {"claim": claim.id, "kind": claim.kind, "comparison": claim.comparison,
           "expected": claim.expected, "seeds": n_seeds, "root_seed": root, "params": dict(params),
           "values": [r["value"] for r in ordered], "extras": [r["extras"] for r in ordered],
           "measured_label": claim.measured_label, "finding": claim.finding}
    if errors:
        row.update(verdict="error", error=errors[0], predicted=None, measured=None, ci_low=None,
                   ci_high=None, tolerance=None,
                   negative_control={"label": claim.negative_label, "verdict": "error"})
    else:
        try:
            row.update(evaluate(claim, params, row["values"]))
        except Exception as exc:
            row.update(verdict="error", error=f"{type(exc).__name__}: {exc}", predicted=None,
                       measured=None, ci_low=None, ci_high=None, tolerance=None,
                       negative_control={"label": claim.negative_label, "verdict": "error"})
    row["elapsed_s"] = time.perf_counter() - t0
    bar.close(row["verdict"])
    return row


def row_ok(row: Mapping[str, Any]) -> bool:
    """A row passes when its verdict is its expectation and its negative control is refuted."""
    return row["verdict"] == row["expected"] and row["negative_control"]["verdict"] == "refuted"
