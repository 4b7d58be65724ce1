"""Replicates on a Dask distributed cluster (``verify --scheduler ADDRESS``).

``--scheduler local`` starts a ``LocalCluster`` bound to 127.0.0.1 with single-threaded worker processes
(``processes=True, threads_per_worker=1``) whose BLAS, OpenMP and Numba thread counts are set to one
before the worker process starts; any other address (``tcp://host:8786``) connects to a running
scheduler, whose workers must have theorycheck (and the claim modules) installed.  Every task runs
:func:`theorycheck.task.run_task`, which also limits a remote worker to one numerical thread, so
the numbers are those of every other backend.

The scheduler reschedules the tasks of a worker that dies (up to ``distributed.scheduler.allowed-failures``
times), and a task is a pure function of its (claim, parameters, root, index), so a retried task gives
the same number.
"""
from __future__ import annotations

import logging
import math
import os
import time
import uuid
from concurrent.futures import CancelledError, Future

from .task import SINGLE_THREAD_ENV, Task, limit_threads, run_task


def _need_distributed():
    try:
        import dask
        import distributed
    except ImportError:
        from .regime import RegimeError

        raise RegimeError("--scheduler needs Dask: pip install 'theorycheck[dask]' "
                          "(dask[distributed] and pyarrow)") from None
    return dask, distributed


def local_cluster(n_workers: int | None = None):
    """A ``LocalCluster`` on 127.0.0.1: ``n_workers`` (default: one per core) single-threaded processes,
    no dashboard."""
    dask, distributed = _need_distributed()
    n = int(n_workers or os.cpu_count() or 1)
    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {}, **SINGLE_THREAD_ENV)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": env}):
        # No dashboard; the scheduler's small HTTP service (health, metrics) on a free loopback port.
        return distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                                        dashboard_address=None, silence_logs=logging.ERROR,
                                        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})


class DaskBackend:
    """Submit replicates to a Dask cluster.

    Parameters
    ----------
    address : str
        ``"local"`` for a new local cluster, or a scheduler address.
    workers : int, optional
        Worker processes of a local cluster (default: one per core); ignored for an address.
    timeout : str
        How long to try to reach a scheduler at ``address``.
    """

    name = "dask"

    def __init__(self, address: str, workers: int | None = None, timeout: str = "20s"):
        _, distributed = _need_distributed()
        self.cluster = None
        if address == "local":
            self.cluster = local_cluster(workers)
            self.client = distributed.Client(self.cluster)
            self.client.run(limit_threads)
            self.name = "dask local cluster"
        else:
            try:
                self.client = distributed.Client(address, timeout=timeout)
            except (OSError, TimeoutError) as exc:
                from .regime import RegimeError

                raise RegimeError(f"--scheduler {address!r}: cannot reach a Dask scheduler there ({exc})") \
                    from None
            self.name = f"dask {address}"
        self._futures: dict = {}
        self._slots, self._slots_at = 1, -math.inf

    @property
    def window(self) -> int:
        """Tasks kept in flight: many per thread, so the scheduler's round trips overlap with work."""
        return 8 * self.slots + 8

    @property
    def slots(self) -> int:
        """Threads of the cluster's workers (tasks that run at once; asked again every few seconds)."""
        now = time.monotonic()
        if now - self._slots_at > 5.0:
            self._slots = max(1, sum(self.client.nthreads().values()))
            self._slots_at = now
        return self._slots

    def workers(self) -> dict:
        """``{worker address: process id}`` of the cluster's workers."""
        return self.client.run(os.getpid)

    def submit(self, claim, params, root, index, stream: str = "measure") -> Future:
        """Submit a replicate; the returned ``concurrent.futures.Future`` resolves to its record."""
        task = Task.of(claim, params, root, index, stream)
        key = f"theorycheck-{task.claim_id}-{task.index}-{uuid.uuid4().hex}"
        dfut = self.client.submit(run_task, task, key=key, pure=False)
        fut: Future = Future()
        self._futures[fut] = dfut

        def done(d):
            self._futures.pop(fut, None)
            if fut.done():
                return
            try:
                if d.status == "finished":
                    fut.set_result(d.result())
                elif d.status == "cancelled":
                    fut.set_exception(CancelledError(f"{key} was cancelled"))
                else:
                    fut.set_exception(d.exception())
            except Exception as exc:  # the client went away while the task ran
                if not fut.done():
                    fut.set_exception(exc)

        dfut.add_done_callback(done)
        return fut

    def close(self) -> None:
        for dfut in list(self._futures.values()):
            dfut.cancel()
        self._futures.clear()
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
