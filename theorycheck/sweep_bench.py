"""``theorycheck bench sweep``: throughput of a seed sweep on 1 and 2 local workers and a 2-worker Dask
LocalCluster, as ratios.

The workload is one replicate per seed of full-batch gradient descent on a multi-output least-squares
problem (float64, two BLAS matrix products per step), a stand-in for the claims' simulations that belongs
to no paper.  Each backend is started and warmed up (every worker has imported the code and run a task)
before the clock starts, so the times are of the sweep alone.  ``ratio_vs_1_worker`` is the time on one
local worker divided by the time of the case: ideally 2 for two workers on two free cores.  The rows also
say whether every backend gave the same numbers, bit for bit, how many cores the sweep actually got, and
the load average of the machine.
"""
from __future__ import annotations

import os
import time

import numpy as np

from .claim import Claim
from .regime import Param, Regime
from .registry import register_bench


def least_squares_gd(params, rng) -> float:
    """Final loss of ``steps`` full-batch GD steps on ``0.5/n ||X W - Y||²``, ``Y = X W* + noise``.

    ``X`` is ``n × d`` standard normal, ``W*`` is ``d × k``; the step is ``1/λ_max(XᵀX/n)`` estimated by
    ``d`` power iterations, so GD converges towards the noise floor ``0.5 σ² (1 - d/n) k``.
    """
    n, d, k, steps = int(params["n"]), int(params["d"]), int(params["k"]), int(params["steps"])
    x = rng.standard_normal((n, d))
    w_star = rng.standard_normal((d, k)) / np.sqrt(d)
    y = x @ w_star + 0.1 * rng.standard_normal((n, k))
    gram = x.T @ x / n
    v = np.ones(d)
    for _ in range(d):
        v = gram @ v
        v /= np.linalg.norm(v)
    lr = 1.0 / float(v @ gram @ v)
    w = np.zeros((d, k))
    xty = x.T @ y / n
    for step in range(steps):
        w -= lr * (gram @ w - xty)
        if not np.isfinite(w[0, 0]):
            raise FloatingPointError(f"GD diverged at step {step}: weight is {w[0, 0]}")
    r = x @ w - y
    return float(0.5 * np.sum(r * r) / n)


WORKLOAD = Claim(
    id="bench.sweep_least_squares", source="theorycheck sweep benchmark (belongs to no paper)",
    statement="full-batch GD on least squares reaches the noise floor", kind="estimate",
    regime=Regime(params=[
        Param("n", quick=400, kind="int", low=2, high=10**5, doc="samples"),
        Param("d", quick=200, kind="int", low=1, high=10**4, doc="features"),
        Param("k", quick=20, kind="int", low=1, high=10**3, doc="outputs"),
        Param("steps", quick=300, full=4000, kind="int", low=1, high=10**6, doc="GD steps"),
    ]),
    predict=lambda p: 0.5 * 0.01 * (1 - p["d"] / p["n"]) * p["k"], measure=least_squares_gd,
    tolerance=0.05, negative_control=lambda p: 0.5 * 0.01 * p["k"], negative_label="noise floor without d/n",
    seeds={"quick": 16, "full": 32})


def _time_sweep(backend, params, n_seeds, root) -> tuple[float, list[float], float]:
    from .runner import measure_points
    from .store import params_key

    measure_points(WORKLOAD, [(params, i) for i in range(2 * backend.slots)], root + 1, backend)  # warm-up
    t0 = time.perf_counter()
    records = measure_points(WORKLOAD, [(params, i) for i in range(n_seeds)], root, backend)
    seconds = time.perf_counter() - t0
    pk = params_key(params)
    for i in range(n_seeds):
        if records[(pk, i)]["error"]:
            raise RuntimeError(f"sweep benchmark replicate {i} failed: {records[(pk, i)]['error']}")
    cpu = sum(records[(pk, i)]["cpu_s"] for i in range(n_seeds))
    return seconds, [records[(pk, i)]["value"] for i in range(n_seeds)], cpu


def compare_backends(cases, params, n_seeds: int, root: int = 7) -> list[dict]:
    """Time the same seed sweep on each ``(case name, backend factory)``; the first case is the reference.

    Returns rows ``case, seconds, tasks, tasks_per_s, ratio_vs_1_worker, same_numbers, cores_used,
    load_1min``; ``cores_used`` is the CPU time of the tasks over the wall time of the sweep, the number of
    cores the sweep actually got (below the worker count when other processes share the machine).
    """
    rows, reference = [], None
    for case, make in cases:
        load = os.getloadavg()[0]
        backend = make()
        try:
            seconds, values, cpu = _time_sweep(backend, params, n_seeds, root)
        finally:
            backend.close()
        if reference is None:
            reference = (seconds, values)
        rows.append({"case": case, "seconds": seconds, "tasks": n_seeds, "tasks_per_s": n_seeds / seconds,
                     "ratio_vs_1_worker": reference[0] / seconds, "same_numbers": values == reference[1],
                     "cores_used": cpu / seconds, "load_1min": load})
    return rows


def bench_sweep(quick: bool) -> list[dict]:
    """One local worker, two local workers, and a two-worker Dask LocalCluster (when Dask is installed)."""
    from .backends import LocalProcesses

    tier = "quick" if quick else "full"
    cases = [("1 local worker", lambda: LocalProcesses(1)), ("2 local workers", lambda: LocalProcesses(2))]
    try:
        import distributed  # noqa: F401

        from .dask_backend import DaskBackend

        cases.append(("dask LocalCluster, 2 workers", lambda: DaskBackend("local", workers=2)))
    except ImportError:
        pass
    return compare_backends(cases, WORKLOAD.regime.resolve(tier), int(WORKLOAD.seeds[tier]))


register_bench("sweep", bench_sweep)
