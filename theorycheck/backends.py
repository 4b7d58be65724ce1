"""Where replicates run: in this process, in local worker processes, or on a Dask cluster.

A replicate is a :class:`~theorycheck.task.Task` — (claim id, parameters, root seed, replicate index) plus the
names of the modules that define the claim — and its result is the record made by
:func:`~theorycheck.task.run_task`, which also limits a worker to one numerical thread.  Every backend exposes

* ``submit(claim, params, root, index) -> concurrent.futures.Future`` of that record,
* ``slots``, how many tasks run at once, and ``close()``.

A worker process finds the claim again by id: in its registry, else by importing the claim's modules
(a module-level :class:`~theorycheck.claim.Claim` is found there even when it is not registered, which is
how test-only and benchmark claims reach workers), else by loading every plug-in.  A worker runs with one
BLAS, OpenMP and Numba thread, so ``N`` workers use ``N`` cores and a replicate gives the same bits on
every backend: the numbers depend only on (claim, parameters, root, index).
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from .task import (SINGLE_THREAD_ENV, THREAD_VARS, Task, claim_modules, limit_threads, resolve_claim, run_task,
                   single_threaded, worker_info)

__all__ = ["THREAD_VARS", "SINGLE_THREAD_ENV", "limit_threads", "single_threaded", "Task", "claim_modules",
           "resolve_claim", "worker_info", "run_task", "InProcess", "LocalProcesses", "make_backend"]


# ------------------------------------------------------------------------------------------ backends
class InProcess:
    """Run each replicate at once in the calling process, single-threaded like a worker."""

    slots = 1
    name = "in-process"

    def submit(self, claim, params, root, index, stream: str = "measure") -> Future:
        fut: Future = Future()
        with single_threaded():
            fut.set_result(run_task(Task.of(claim, params, root, index, stream), claim=claim))
        return fut

    def close(self) -> None:
        pass


@contextlib.contextmanager
def _environ(values: dict):
    """Temporarily set environment variables (those a spawned child inherits before it imports NumPy)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class LocalProcesses:
    """``workers`` spawned processes, each with one BLAS/OpenMP/Numba thread.

    Replicate ``i`` of every claim runs on process ``i mod workers``: claims that share a simulation run
    (a per-process cache keyed by the replicate's seed) find it in the process that computed it.  A spawned
    child may import NumPy before any initialiser runs, so the single-thread variables are in this process's
    environment while the pool lives (as Dask's nanny does for its workers), and every child inherits them
    from its start.  The processes are started here, not at the first task.
    """

    name = "local processes"

    def __init__(self, workers: int):
        self.slots = int(workers)
        self.window = 4 * self.slots       # room for each process's share when replicates differ in cost
        self._env = _environ(SINGLE_THREAD_ENV)
        self._env.__enter__()
        self.pools = [self._start() for _ in range(self.slots)]

    @staticmethod
    def _start() -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=limit_threads)
        pool.submit(time.sleep, 0.05).result()
        return pool

    def call(self, fn, *args, slot: int = 0) -> Future:
        """Run ``fn(*args)`` on process ``slot``.  When that process died, its executor is broken: what it
        held fails (the store keeps what finished), and a new process runs this call."""
        try:
            return self.pools[slot].submit(fn, *args)
        except BrokenProcessPool:
            self.pools[slot].shutdown(wait=False, cancel_futures=True)
            self.pools[slot] = self._start()
            return self.pools[slot].submit(fn, *args)

    def submit(self, claim, params, root, index, stream: str = "measure") -> Future:
        """Submit replicate ``index`` to process ``index mod workers``."""
        return self.call(run_task, Task.of(claim, params, root, index, stream), slot=int(index) % self.slots)

    def close(self) -> None:
        try:
            for pool in self.pools:
                pool.shutdown(wait=True, cancel_futures=True)
        finally:
            if self._env is not None:
                self._env.__exit__(None, None, None)
                self._env = None


def make_backend(workers: int = 1, scheduler: str | None = None):
    """The backend for ``--workers N`` / ``--scheduler ADDRESS``.

    ``--scheduler local`` starts a Dask ``LocalCluster`` on 127.0.0.1 with ``N`` single-threaded worker
    processes when ``N > 1``, else one per core; any other address connects to a running scheduler.
    """
    if scheduler:
        from .dask_backend import DaskBackend

        return DaskBackend(scheduler, workers=workers if workers > 1 else None)
    if workers <= 1:
        return InProcess()
    return LocalProcesses(workers)
