"""Where replicates run: in this process, or in local worker processes.

Every backend exposes ``submit(claim, params, root, index) -> Future`` of the record made by
:func:`theorycheck.runner.run_replicate`, and ``slots`` (how many tasks run at once).  Worker processes
find the claim again by id in the registry, and limit BLAS and Numba to one thread each so that
``workers`` processes use ``workers`` cores.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def limit_threads() -> None:
    """Worker initialiser: one BLAS and one Numba thread (runs before the worker imports NumPy)."""
    os.environ.update({k: "1" for k in THREAD_VARS})


class InProcess:
    """Run each replicate immediately in the calling process."""

    slots = 1

    def submit(self, claim, params, root, index) -> Future:
        from .runner import run_replicate

        fut: Future = Future()
        fut.set_result(run_replicate(claim, params, root, index))
        return fut

    def close(self) -> None:
        pass


def _run_by_id(claim_id, params, root, index):
    from . import registry
    from .runner import run_replicate

    return run_replicate(registry.get(claim_id), params, root, index)


class LocalProcesses:
    """A pool of ``workers`` spawned processes, one BLAS/Numba thread each."""

    def __init__(self, workers: int):
        self.slots = workers
        self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=limit_threads)

    def submit(self, claim, params, root, index) -> Future:
        return self.pool.submit(_run_by_id, claim.id, dict(params), root, index)

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


def make_backend(workers: int = 1, scheduler: str | None = None):
    """The backend for ``--workers N`` / ``--scheduler ADDRESS``."""
    if scheduler:
        from .dask_backend import DaskBackend

        return DaskBackend(scheduler)
    if workers <= 1:
        return InProcess()
    return LocalProcesses(workers)
