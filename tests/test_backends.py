"""Backends: the same seed gives the same numbers, bit for bit, in-process, on local worker processes and
on a Dask LocalCluster; workers are single-threaded; sweeps and their fitted rates."""
import math
import time

import numpy as np
import pytest

import helpers_planted as planted
from theorycheck import backends, registry, runner
from theorycheck.backends import InProcess, LocalProcesses, Task, claim_modules, resolve_claim, run_task

distributed = pytest.importorskip("distributed", reason="Dask distributed is not installed (pip install '.[dask]')")
pytest.importorskip("threadpoolctl", reason="threadpoolctl is not installed (pip install '.[dask]')")

GRAM_PARAMS = {"n": 60, "d": 200_000}


@pytest.fixture(scope="module")
def local_pool():
    pool = LocalProcesses(2)
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def dask_cluster():
    from theorycheck.dask_backend import DaskBackend

    backend = DaskBackend("local", workers=2)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def serial_row():
    return runner.verify_claim(planted.GRAM, GRAM_PARAMS, 6, progress=False)


def test_serial_row_is_a_real_check(serial_row):
    assert serial_row["verdict"] == "verified" and serial_row["negative_control"]["verdict"] == "refuted"
    assert len(set(serial_row["values"])) == 6  # independent replicates, not one value repeated


def test_local_processes_give_the_serial_numbers(local_pool, serial_row):
    row = runner.verify_claim(planted.GRAM, GRAM_PARAMS, 6, backend=local_pool, progress=False)
    assert row["values"] == serial_row["values"]
    assert {k: row[k] for k in ("verdict", "measured", "ci_low", "ci_high")} == \
           {k: serial_row[k] for k in ("verdict", "measured", "ci_low", "ci_high")}
    assert row["backend"] == "local processes"


def test_dask_local_cluster_with_two_workers_gives_the_serial_numbers(dask_cluster, serial_row):
    assert len(dask_cluster.workers()) == 2 and dask_cluster.slots == 2
    row = runner.verify_claim(planted.GRAM, GRAM_PARAMS, 6, backend=dask_cluster, progress=False)
    assert row["values"] == serial_row["values"]
    assert row["verdict"] == serial_row["verdict"] and row["measured"] == serial_row["measured"]
    records = runner.measure_points(planted.GRAM, [(GRAM_PARAMS, i) for i in range(4)], 3, dask_cluster)
    assert {r["worker"]["pid"] for r in records.values()} <= set(dask_cluster.workers().values())


def test_the_order_of_tasks_does_not_change_a_replicate(serial_row):
    backend = InProcess()
    later = backend.submit(planted.GRAM, GRAM_PARAMS, runner.DEFAULT_ROOT, 5).result()
    first = backend.submit(planted.GRAM, GRAM_PARAMS, runner.DEFAULT_ROOT, 0).result()
    assert (first["value"], later["value"]) == (serial_row["values"][0], serial_row["values"][5])


def test_local_cluster_binds_to_loopback(dask_cluster):
    import os

    import psutil

    assert dask_cluster.cluster.scheduler_address.startswith("tcp://127.0.0.1:")
    assert all(addr.startswith("tcp://127.0.0.1:") for addr in dask_cluster.workers())
    listening = []
    for pid in [os.getpid(), *dask_cluster.workers().values()]:  # scheduler and nannies live in this process
        listening += [c.laddr for c in psutil.Process(pid).net_connections(kind="inet")
                      if c.status == psutil.CONN_LISTEN]
    assert listening and {addr.ip for addr in listening} == {"127.0.0.1"}


def test_local_workers_are_single_threaded(local_pool):
    reports = [local_pool.call(planted.thread_report, slot=i).result() for i in range(local_pool.slots)]
    for rep in reports:
        assert set(rep["env"].values()) == {"1"}
        assert rep["blas"] == [1] and rep["numba"] == 1


def test_dask_workers_are_single_threaded(dask_cluster):
    reports = dask_cluster.client.run(planted.thread_report)
    assert len(reports) == 2
    for rep in reports.values():
        assert set(rep["env"].values()) == {"1"}
        assert rep["blas"] == [1] and rep["numba"] == 1


def test_in_process_runs_single_threaded_and_restores_limits():
    from threadpoolctl import threadpool_info

    before = sorted({p["num_threads"] for p in threadpool_info()})
    with backends.single_threaded():
        assert sorted({p["num_threads"] for p in threadpool_info()}) == [1]
    assert sorted({p["num_threads"] for p in threadpool_info()}) == before


def test_worker_finds_an_unregistered_module_claim():
    assert planted.GRAM.id not in registry._CLAIMS
    assert claim_modules(planted.GRAM)[0] == "helpers_planted"
    assert resolve_claim(planted.GRAM.id, ("helpers_planted",)) is planted.GRAM


def test_a_claim_no_worker_can_find_is_an_error_record(monkeypatch):
    monkeypatch.setattr(registry, "_loaded", True)  # the paper modules need not be imported to miss
    rec = run_task(Task("planted.nowhere", {}, 1, 0, ("helpers_planted",)))
    assert rec["error"].startswith("UnknownClaim") and math.isnan(rec["value"])


def test_make_backend_choices():
    from theorycheck.dask_backend import DaskBackend
    from theorycheck.regime import RegimeError

    b = backends.make_backend(1)
    assert isinstance(b, InProcess) and b.slots == 1
    with pytest.raises(RegimeError, match="cannot reach a Dask scheduler"):
        DaskBackend("tcp://127.0.0.1:9", timeout="1s")


def test_sweep_fits_the_rate_on_every_backend(dask_cluster, local_pool):
    grid = [4, 8, 16, 32, 64]
    serial = runner.sweep(planted.MEAN_SQUARE, {"n": 8}, "n", grid, 6, progress=False)
    assert serial.values.shape == (5, 6)
    for backend in (local_pool, dask_cluster):
        other = runner.sweep(planted.MEAN_SQUARE, {"n": 8}, "n", grid, 6, backend=backend, progress=False)
        assert np.array_equal(other.values, serial.values)
    boot = serial.slope("bootstrap")
    reg = serial.slope("regression")
    # E[mean²] = 1/n: slope -1, inside both intervals; an exponent off by one (-2, or 0) outside.
    for fit in (boot, reg):
        assert fit.low <= -1.0 <= fit.high
        assert not fit.low <= -2.0 <= fit.high and not fit.low <= 0.0 <= fit.high
    assert boot.slope == reg.slope


def test_sweep_error_names_the_point():
    with pytest.raises(runner.SweepError, match="n=0"):
        runner.sweep(planted.MEAN_SQUARE, {"n": 8}, "n", [4, 0], 2, progress=False)
    with pytest.raises(ValueError, match="axis"):
        runner.sweep(planted.MEAN_SQUARE, {"n": 8}, "m", [4], 2, progress=False)


def test_sweep_bench_rows(monkeypatch):
    from theorycheck import sweep_bench

    assert registry._BENCHES["sweep"] is sweep_bench.bench_sweep
    params = dict(sweep_bench.WORKLOAD.regime.resolve("quick"), steps=5)
    rows = sweep_bench.compare_backends([("a", InProcess), ("b", InProcess)], params, 3)
    assert [r["case"] for r in rows] == ["a", "b"] and rows[0]["ratio_vs_1_worker"] == 1.0
    assert all(r["same_numbers"] and r["tasks"] == 3 and r["seconds"] > 0 for r in rows)
    loss = sweep_bench.least_squares_gd(dict(params, steps=400), np.random.default_rng(0))
    floor = sweep_bench.WORKLOAD.predict(params)
    assert abs(loss - floor) < 0.5 * floor  # GD reaches the noise floor: the workload is a real computation


def test_a_dead_local_worker_fails_its_replicates_and_the_pool_recovers():
    import os
    import signal

    pool = LocalProcesses(1)
    try:
        victim = pool.call(os.getpid).result()
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while not pool.pools[0]._broken and time.monotonic() < deadline:  # the executor notices the death
            time.sleep(0.05)
        records = runner.measure_points(planted.MEAN_SQUARE, [({"n": 8}, 0)], backend=pool)
        (first,) = records.values()
        serial = runner.measure_points(planted.MEAN_SQUARE, [({"n": 8}, 0)])
        assert first["error"] is None and first["value"] == next(iter(serial.values()))["value"]
        assert first["worker"]["pid"] != victim
    finally:
        pool.close()


def test_local_replicate_i_runs_on_process_i_mod_workers(local_pool, monkeypatch):
    """Claims that share a run per replicate seed find it cached: replicate i always lands on one process."""
    monkeypatch.setattr(local_pool, "steal_after", 3600.0)  # no process idles that long: no stealing here
    records = runner.measure_points(planted.MEAN_SQUARE, [({"n": 8}, i) for i in range(6)], backend=local_pool)
    pids = {index: rec["worker"]["pid"] for (_, index), rec in records.items()}
    again = runner.measure_points(planted.MEAN_SQUARE, [({"n": 16}, i) for i in range(6)], backend=local_pool)
    assert {index: rec["worker"]["pid"] for (_, index), rec in again.items()} == pids
    assert len(set(pids.values())) == local_pool.slots == 2
    assert all(pids[i] == pids[i % 2] for i in pids)


def test_an_idle_local_process_takes_the_queued_replicates_of_a_busy_one():
    """Replicates of unequal cost: while process 0 is busy, process 1 takes the replicates queued for it, and
    a stolen replicate stays with the process that now holds its run."""
    import os

    pool = LocalProcesses(2)
    try:
        pids = [pool.call(os.getpid, slot=s).result() for s in range(2)]
        pool.call(time.sleep, 3.0, slot=0)  # process 0 is busy for 3 s
        params = planted.SLOW.regime.resolve("quick", {"delay": 0.05})
        points = [(params, i) for i in range(0, 12, 2)]  # every replicate's home is process 0
        records = runner.measure_points(planted.SLOW, points, backend=pool)
        serial = runner.measure_points(planted.SLOW, points)
        ran_on = {index: rec["worker"]["pid"] for (_, index), rec in records.items()}
        stolen = sorted(i for i, pid in ran_on.items() if pid == pids[1])
        assert len(stolen) == pool.stolen >= 3
        values = {k: r["value"] for k, r in records.items()}
        assert all(np.isfinite(list(values.values()))) and values == {k: r["value"] for k, r in serial.items()}
        again = runner.measure_points(planted.SLOW, points, backend=pool)
        assert {index: rec["worker"]["pid"] for (_, index), rec in again.items()} == ran_on
    finally:
        pool.close()


def test_closing_local_processes_releases_whoever_waits_on_a_queued_replicate():
    from concurrent.futures import wait

    pool = LocalProcesses(1)
    closed = False
    try:
        pool.call(time.sleep, 2.0, slot=0)
        params = planted.SLOW.regime.resolve("quick", {"delay": 0.0})
        futures = [pool.submit(planted.SLOW, params, 0, i) for i in range(4)]
        pool.close()
        closed = True
        done, pending = wait(futures, timeout=30)
        assert not pending and sum(f.cancelled() for f in futures) >= 2
        with pytest.raises(RuntimeError, match="closed"):
            pool.submit(planted.SLOW, params, 0, 9)
    finally:
        if not closed:
            pool.close()
