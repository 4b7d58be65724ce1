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
import threading
import time
from collections import deque
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

    Replicate ``i`` of every claim is queued for process ``i mod workers`` (its home): claims that share a
    simulation run (a per-process cache keyed by the replicate's seed) find it in the process that computed
    it.  A process that has been idle for ``steal_after`` seconds while another still has queued replicates
    takes the last of them, so replicates of unequal cost do not leave one core idle while the other works
    through its share; the delay lets a home process drain replicates it has cached (milliseconds each)
    before they are stolen and recomputed.  A stolen replicate's home becomes the thief, which now holds its
    run, for every later claim.  Each process holds one handed-over task at a time; the rest wait in this
    process's queues, where they can still be taken.

    A spawned child may import NumPy before any initialiser runs, so the single-thread variables are in this
    process's environment while the pool lives (as Dask's nanny does for its workers), and every child
    inherits them from its start.  The processes are started here, not at the first task.
    """

    name = "local processes"
    steal_after = 0.2

    def __init__(self, workers: int):
        self.slots = int(workers)
        self.window = 4 * self.slots       # room for each process's share when replicates differ in cost
        self._env = _environ(SINGLE_THREAD_ENV)
        self._env.__enter__()
        self.pools = [self._start() for _ in range(self.slots)]
        self._cond = threading.Condition()
        self._queued: list[deque] = [deque() for _ in range(self.slots)]
        self._busy = [False] * self.slots   # a process holds at most one handed-over task
        self._idle_since = [time.monotonic()] * self.slots
        self._homes: dict[tuple, int] = {}   # (root, index, stream) -> the process that holds its run
        self._restart_lock = threading.Lock()
        self.stolen = 0
        self._closed = False
        self._dispatcher = threading.Thread(target=self._dispatch, name="theorycheck-dispatch", daemon=True)
        self._dispatcher.start()

    @staticmethod
    def _start() -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=limit_threads)
        pool.submit(time.sleep, 0.05).result()
        return pool

    def call(self, fn, *args, slot: int = 0) -> Future:
        """Run ``fn(*args)`` on process ``slot`` now, outside the queues.  When that process died, its
        executor is broken: what it held fails (the store keeps what finished), and a new process runs
        this call."""
        pool = self.pools[slot]
        try:
            return pool.submit(fn, *args)
        except BrokenProcessPool:
            with self._restart_lock:
                if self.pools[slot] is pool:  # not yet restarted by another thread
                    pool.shutdown(wait=False, cancel_futures=True)
                    self.pools[slot] = self._start()
            return self.pools[slot].submit(fn, *args)

    def submit(self, claim, params, root, index, stream: str = "measure") -> Future:
        """Queue replicate ``index`` for its home process (``index mod workers`` unless it was stolen)."""
        fut: Future = Future()
        seed = (int(root), int(index), stream)
        with self._cond:
            if self._closed or not self._dispatcher.is_alive():
                raise RuntimeError("the local process pool is closed")
            home = self._homes.get(seed, int(index) % self.slots)
            self._queued[home].append((fut, Task.of(claim, params, root, index, stream), seed))
            self._cond.notify()
        return fut

    def _next(self, slot: int, now: float):
        """The next queued task for ``slot``: its own first, else the last of the longest other queue
        once ``slot`` has idled ``steal_after`` seconds."""
        if self._queued[slot]:
            return self._queued[slot].popleft()
        if not self._busy[slot] and now - self._idle_since[slot] >= self.steal_after:
            victim = max(range(self.slots), key=lambda s: len(self._queued[s]))
            if self._queued[victim]:
                self.stolen += 1
                item = self._queued[victim].pop()
                self._homes[item[2]] = slot
                return item
        return None

    def _dispatch(self) -> None:
        try:
            self._dispatch_loop()
        except BaseException as exc:  # never leave a caller waiting on a queue nobody serves
            with self._cond:
                self._closed = True
                self._drain(RuntimeError(f"the dispatcher of the local processes failed: {exc!r}"))
            raise

    def _drain(self, exc: BaseException | None = None) -> None:
        """Empty the queues (the lock held): fail every queued replicate with ``exc``, or cancel it, and wake
        whoever waits on it."""
        for queue in self._queued:
            while queue:
                fut = queue.popleft()[0]
                if exc is None:
                    fut.cancel()
                if fut.set_running_or_notify_cancel():
                    fut.set_exception(exc)

    def _dispatch_loop(self) -> None:
        while True:
            launches = []
            with self._cond:
                now = time.monotonic()
                for slot in range(self.slots):
                    while not self._busy[slot]:
                        item = self._next(slot, now)
                        if item is None:
                            break
                        if item[0].set_running_or_notify_cancel():  # False: the caller cancelled it
                            self._busy[slot] = True
                            launches.append((slot, item[0], item[1]))
                if not launches:
                    if self._closed:
                        return
                    self._cond.wait(timeout=self.steal_after / 4 if any(self._queued) else None)
                    continue
            for slot, fut, task in launches:
                self._launch(slot, fut, task)

    def _launch(self, slot: int, fut: Future, task: Task) -> None:
        try:
            inner = self.call(run_task, task, slot=slot)
        except Exception as exc:  # the pool is shutting down
            self._finished(slot, fut, None, exc)
            return
        inner.add_done_callback(lambda done: self._finished(slot, fut, done))

    def _finished(self, slot: int, fut: Future, done: Future | None, exc: BaseException | None = None) -> None:
        if done is not None:
            exc = done.exception() if not done.cancelled() else RuntimeError("the worker cancelled the task")
        if exc is None:
            fut.set_result(done.result())
        else:
            fut.set_exception(exc)
        with self._cond:
            self._busy[slot] = False
            self._idle_since[slot] = time.monotonic()
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._drain()
            self._cond.notify()
        self._dispatcher.join()
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
