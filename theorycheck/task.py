"""One replicate as a task: its seed, its picklable description, and how it runs.

Replicate ``i`` of claim ``c`` under root seed ``R`` is driven by
``numpy.random.SeedSequence(entropy=R, spawn_key=(crc32(c), i))`` (a calibration run appends ``1`` to the
key), so its numbers depend only on (claim, parameters, root, i).  A :class:`Task` names that replicate in
plain values a worker process can receive; :func:`run_replicate` runs it and records the outcome.

:func:`run_task` runs a task where it lands: in a worker process it first makes the process single-threaded
for numerics (one BLAS, OpenMP and Numba thread), so that a replicate gives the same bits on every backend.
Both the sweep runner (:mod:`theorycheck.runner`) and the backends (:mod:`theorycheck.backends`,
:mod:`theorycheck.dask_backend`) build on this module, which imports none of them.  NumPy is imported
where it is used, so that a worker that unpickles :func:`limit_threads` or :func:`run_task` sets its thread
limits before NumPy loads.
"""
from __future__ import annotations

import contextlib
import importlib
import math
import os
import socket
import sys
import time
import warnings
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    import numpy as np

    from .claim import Claim

MEASURE, CALIBRATION = "measure", "calibration"
STREAMS = {MEASURE: None, CALIBRATION: 1}


def replicate_seed(claim_id: str, root: int, index: int, stream: str = MEASURE) -> np.random.SeedSequence:
    """The seed of replicate ``index`` of a claim under a root seed.

    The measured replicates have ``spawn_key = (crc32(claim), index)``; a claim's calibration runs (the
    empirical ingredient of an ``independent_runs`` prediction) have ``(crc32(claim), index, 1)``, so they
    never coincide with a measured replicate.
    """
    import numpy as np

    key = (zlib.crc32(claim_id.encode()), int(index))
    if STREAMS[stream] is not None:
        key += (STREAMS[stream],)
    return np.random.SeedSequence(entropy=int(root), spawn_key=key)


def replicate_rngs(claim_id: str, root: int, n: int, stream: str = MEASURE) -> list[np.random.Generator]:
    import numpy as np

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


def real_number(x) -> float | None:
    """``x`` as a finite float when it is a real number (not a bool, which counts events), else None."""
    import numpy as np

    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating)):
        return None
    try:
        v = float(x)
    except (OverflowError, ValueError):
        return None
    return v if math.isfinite(v) else None


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
    import numpy as np

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


# ------------------------------------------------------------------------------------------ thread limits
# NUMBA_NUM_THREADS is deliberately absent: Numba re-reads it at every compilation and refuses to see it
# changed once its thread pool runs (Dask's nanny writes these variables into the parent's environment
# for good).  Numba is limited at run time instead, with ``numba.set_num_threads(1)``.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
SINGLE_THREAD_ENV = {k: "1" for k in THREAD_VARS}

_limited = False


def limit_threads() -> None:
    """Make this process single-threaded for numerics, for good (a worker's initialiser).

    The environment variables cover libraries loaded later; libraries already loaded (NumPy's BLAS, when
    the worker imported NumPy before this ran) are limited at run time through ``threadpoolctl`` when it
    is installed, and Numba through ``numba.set_num_threads`` (never through NUMBA_NUM_THREADS, see above).
    """
    global _limited
    os.environ.update(SINGLE_THREAD_ENV)
    _single_numba_thread()  # first: starting Numba's threading layer may load an OpenMP runtime
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        pass
    _limited = True


def _single_numba_thread() -> None:
    """One Numba thread for the calling thread (Numba's limit is per calling thread)."""
    import numba

    numba.set_num_threads(1)


_warned = False


def _warn_no_threadpoolctl() -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn("threadpoolctl is not installed: in-process replicates run with the BLAS's own thread "
                      "count and may differ in the last bits from worker processes "
                      "(pip install 'theorycheck[dask]' or threadpoolctl)", RuntimeWarning, stacklevel=3)


@contextlib.contextmanager
def single_threaded():
    """Run a block with one BLAS/OpenMP thread and one Numba thread, then restore the previous limits.

    The in-process backend uses this so that its numbers are those of a single-threaded worker.
    """
    stack = contextlib.ExitStack()
    with stack:
        try:
            from threadpoolctl import threadpool_limits

            stack.enter_context(threadpool_limits(1))
        except ImportError:
            _warn_no_threadpoolctl()
        if "numba" in sys.modules:
            import numba

            before = numba.get_num_threads()
            numba.set_num_threads(1)
            stack.callback(numba.set_num_threads, before)
        yield


# ------------------------------------------------------------------------------------------ running a task
def worker_info() -> dict:
    """Where a record was computed: host, process id and the code version of that process."""
    from .store import code_version

    return {"host": socket.gethostname(), "pid": os.getpid(), "code_version": code_version()}


def run_task(task: Task, claim=None) -> dict:
    """Run one replicate (in a worker, or in-process when ``claim`` is given) and return its record.

    The record holds ``index, value, extras, error, elapsed_s`` (see :func:`theorycheck.task.run_replicate`)
    plus ``worker`` (:func:`worker_info`) and the task's ``params``.
    """
    if claim is None:
        if not _limited:
            limit_threads()
        _single_numba_thread()
        try:
            claim = resolve_claim(task.claim_id, task.modules)
        except Exception as exc:  # reported as the replicate's error, like a failing measurement
            return {"index": task.index, "value": float("nan"), "extras": {}, "params": task.params,
                    "error": f"{type(exc).__name__}: {exc}", "elapsed_s": 0.0, "worker": worker_info()}
    record = run_replicate(claim, task.params, task.root, task.index, task.stream)
    record["params"] = task.params
    record["worker"] = worker_info()
    return record
