"""One replicate as a task: its seed, its picklable description, and how it runs.

Replicate ``i`` of claim ``c`` under root seed ``R`` is driven by
``numpy.random.SeedSequence(entropy=R, spawn_key=(crc32(c), i))`` (a calibration run appends ``1`` to the
key), so its numbers depend only on (claim, parameters, root, i).  A :class:`Task` names that replicate in
plain values a worker process can receive; :func:`run_replicate` runs it and records the outcome.

Both the sweep runner (:mod:`theorycheck.runner`) and the backends (:mod:`theorycheck.backends`) build on
this module, which imports neither of them.
"""
from __future__ import annotations

import importlib
import math
import time
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

if TYPE_CHECKING:
    from .claim import Claim

MEASURE, CALIBRATION = "measure", "calibration"
STREAMS = {MEASURE: None, CALIBRATION: 1}


def replicate_seed(claim_id: str, root: int, index: int, stream: str = MEASURE) -> np.random.SeedSequence:
    """The seed of replicate ``index`` of a claim under a root seed.

    The measured replicates have ``spawn_key = (crc32(claim), index)``; a claim's calibration runs (the
    empirical ingredient of an ``independent_runs`` prediction) have ``(crc32(claim), index, 1)``, so they
    never coincide with a measured replicate.
    """
    key = (zlib.crc32(claim_id.encode()), int(index))
    if STREAMS[stream] is not None:
        key += (STREAMS[stream],)
    return np.random.SeedSequence(entropy=int(root), spawn_key=key)


def replicate_rngs(claim_id: str, root: int, n: int, stream: str = MEASURE) -> list[np.random.Generator]:
    return [np.random.default_rng(replicate_seed(claim_id, root, i, stream)) for i in range(n)]


def replicate_identity(rng: np.random.Generator) -> tuple:
    """``(root, key)`` of a replicate generator made by :func:`replicate_seed`: the root entropy and the
    replicate's key without the claim (``(index,)`` for a measured replicate, ``(index, 1)`` for a
    calibration run).

    Claims that share one expensive run between several claims key that run by this identity, so replicate
    ``i`` of every such claim sees the same run and a calibration run never sees a measured one.
    """
    ss = rng.bit_generator.seed_seq
    entropy = ss.entropy if isinstance(ss.entropy, int) else tuple(ss.entropy)
    return entropy, tuple(int(k) for k in ss.spawn_key[1:])


def split_measurement(out: Any) -> tuple[float, dict]:
    """A measurement as (value, extras); ``measure`` may return a number or ``{"value": v, ...}``."""
    if isinstance(out, Mapping):
        extras = {k: v for k, v in out.items() if k != "value"}
        return float(out["value"]), extras
    return float(out), {}


def run_replicate(claim: Claim, params: Mapping[str, Any], root: int, index: int, stream: str = MEASURE) -> dict:
    """Run one replicate (``claim.measure``, or ``claim.calibrate`` on the calibration stream); errors are
    captured, never raised.

    The record holds ``index, value, extras, error``, the wall-clock ``elapsed_s`` and the CPU time
    ``cpu_s`` of the process that ran it.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    rng = np.random.default_rng(replicate_seed(claim.id, root, index, stream))
    fn = claim.measure if stream == MEASURE else claim.calibrate
    try:
        value, extras = split_measurement(fn(params, rng))
        if not math.isfinite(value):
            raise FloatingPointError(f"measurement is {value}")
        error = None
    except Exception as exc:  # recorded as the claim's error, reported by the CLI
        value, extras, error = float("nan"), {}, f"{type(exc).__name__}: {exc}"
    return {"index": index, "value": value, "extras": extras, "error": error,
            "elapsed_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}


@dataclass(frozen=True)
class Task:
    """One replicate to run: everything a worker needs, in plain picklable values.

    Parameters
    ----------
    claim_id : str
    params : dict
        Resolved parameters (JSON-compatible values).
    root : int
        Root of the replicate's ``SeedSequence``.
    index : int
        Replicate index.
    modules : tuple of str
        Modules to import, in order, to find the claim on a worker that does not know it.
    stream : {"measure", "calibration"}
        Which of the claim's functions runs, on which seed stream (:func:`replicate_seed`).
    """

    claim_id: str
    params: dict
    root: int
    index: int
    modules: tuple = field(default=())
    stream: str = "measure"

    @classmethod
    def of(cls, claim, params, root: int, index: int, stream: str = "measure") -> "Task":
        return cls(claim.id, dict(params), int(root), int(index), claim_modules(claim), stream)


def claim_modules(claim) -> tuple[str, ...]:
    """Modules where a worker can find ``claim``: its ``module`` attribute if set, else the modules of its
    callables (``__main__`` excluded: a worker's main module is not the caller's)."""
    names = [getattr(claim, "module", None)]
    for fn in (claim.measure, claim.predict, claim.negative_control, claim.plot, claim.calibrate):
        names.append(getattr(fn, "__module__", None))
    seen: list[str] = []
    for n in names:
        if n and n not in seen and n not in ("__main__", "__mp_main__", "builtins"):
            seen.append(n)
    return tuple(seen)


def resolve_claim(claim_id: str, modules=()):
    """The claim with this id in this process: registered, defined in one of ``modules``, or a plug-in."""
    from . import registry
    from .claim import Claim

    found = registry.lookup(claim_id)
    for name in modules:
        if found is not None:
            break
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        found = registry.lookup(claim_id)
        if found is None:
            found = next((v for v in vars(module).values() if isinstance(v, Claim) and v.id == claim_id), None)
    return found if found is not None else registry.get(claim_id)
