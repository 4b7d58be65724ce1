"""Test-only claims for the sweep, store, backend, report and fault tests.

They are defined at module level and NOT registered on import (the shared claim battery must not see
them); tests register them where the registry is needed, and worker processes find them by importing
this module (see :func:`theorycheck.backends.resolve_claim`).  Each is a real, falsifiable statement with
a known answer and a negative control.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from theorycheck.claim import Claim
from theorycheck.regime import Param, Regime
from theorycheck.verdict import Tolerance


def _gram_trace(params, rng):
    """``(tr(AᵀA)/(n m) + xᵀx/d) / 2`` for Gaussian ``A`` (n×m) and ``x`` (length d): expectation 1.

    The products go through BLAS (a matrix product and a long dot product, which a multi-threaded BLAS
    splits across threads), so a difference in thread counts between backends would show in the bits.
    """
    n, d = int(params["n"]), int(params["d"])
    a = rng.standard_normal((n, n))
    gram = a.T @ a
    x = rng.standard_normal(d)
    return 0.5 * (np.trace(gram) / (n * n) + float(x @ x) / d)


MARKER_DIR_VAR = "THEORYCHECK_TEST_MARKERS"
GATE_VAR = "THEORYCHECK_TEST_GATE"


def _slow_gram_trace(params, rng):
    """The Gram trace after a sleep of ``delay`` seconds.

    For the fault tests (the value never depends on these): when the environment names a marker
    directory, a file ``<pid>-<value>`` is left there at the start, so a test sees which process is in
    the middle of which replicate; when it names a gate file, the replicate waits (up to a minute) until
    that file exists, so a test decides when a run may finish.
    """
    marker_dir, gate = os.environ.get(MARKER_DIR_VAR), os.environ.get(GATE_VAR)
    value = _gram_trace(params, rng)
    if marker_dir:
        tag = f"{os.getpid()}-{value!r}"
        Path(marker_dir, tag).write_text(tag)
    if gate:
        deadline = time.monotonic() + 60
        while not Path(gate).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    time.sleep(float(params["delay"]))
    return value


def _mean_square(params, rng):
    """``E[(mean of n standard normals)²] = 1/n``: a log-log slope of -1 in ``n``."""
    n = int(params["n"])
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    means = rng.standard_normal((200, n)).mean(axis=1)
    return {"value": float(np.mean(means ** 2)), "n": n}


def _draw(color):
    def plot(params, rngs):
        from theorycheck.plots import figure

        fig, (ax,) = figure(width=4.0, height=3.0)
        vals = [_gram_trace(params, r) for r in rngs]
        ax.bar(range(len(vals)), vals, color=color, width=0.9)
        ax.axhline(1.0, color="black", lw=1)
        ax.set_xlabel("seed")
        ax.set_ylabel("gram trace")
        return fig

    return plot


_GRAM_REGIME = Regime(params=[
    Param("n", quick=60, full=200, kind="int", low=2, high=2000, doc="matrix size"),
    Param("d", quick=200_000, kind="int", low=1, high=10**7, doc="vector length"),
])
_SLOW_REGIME = Regime(params=[
    Param("n", quick=40, kind="int", low=2, high=2000, doc="matrix size"),
    Param("d", quick=50_000, kind="int", low=1, high=10**7, doc="vector length"),
    Param("delay", quick=0.25, kind="float", low=0.0, high=10.0, doc="seconds each replicate sleeps"),
])

GRAM = Claim(
    id="planted.gram", source="test-only", statement="a normalised Gaussian Gram trace has mean 1",
    kind="estimate", regime=_GRAM_REGIME, predict=lambda p: 1.0, measure=_gram_trace, tolerance=0.05,
    negative_control=lambda p: 1.5, negative_label="constant +50 %", seeds={"quick": 6, "full": 6},
    measured_label="gram trace", plot=_draw("#ff00ff"))

GRAM_CYAN = Claim(
    id="planted.gram_cyan", source="test-only", statement="the same statement, drawn in another colour",
    kind="upper_bound", regime=_GRAM_REGIME, predict=lambda p: 1.0, measure=_gram_trace, tolerance=0.05,
    negative_control=lambda p: 0.5, negative_label="bound halved", seeds={"quick": 4, "full": 4},
    measured_label="gram trace", plot=_draw("#00e0e0"))

SLOW = Claim(
    id="planted.slow", source="test-only", statement="the Gram trace again, each replicate slowed down",
    kind="estimate", regime=_SLOW_REGIME, predict=lambda p: 1.0, measure=_slow_gram_trace, tolerance=0.1,
    negative_control=lambda p: 1.5, negative_label="constant +50 %", seeds={"quick": 12, "full": 12},
    measured_label="gram trace")

MEAN_SQUARE = Claim(
    id="planted.mean_square", source="test-only", statement="the squared sample mean of n normals is 1/n",
    kind="estimate", regime=Regime(params=[Param("n", quick=8, kind="int", low=1, high=10**6, doc="samples")]),
    predict=lambda p: 1.0 / p["n"], measure=_mean_square, tolerance=Tolerance(0.3, relative=True),
    negative_control=lambda p: 2.0 / p["n"], negative_label="twice the variance")

ALL = (GRAM, GRAM_CYAN, SLOW, MEAN_SQUARE)


def thread_report() -> dict:
    """Thread limits as seen inside a process: environment, BLAS pools (threadpoolctl) and Numba."""
    import os

    import numba
    from threadpoolctl import threadpool_info

    return {"env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
            "blas": sorted({p["num_threads"] for p in threadpool_info()}), "numba": numba.get_num_threads(),
            "pid": os.getpid()}


# A subprocess test about resuming pins the code version, so that a source file edited while the test
# runs (by anyone) cannot make the rerun look like another code version's.
PIN_VAR = "THEORYCHECK_TEST_CODE_VERSION"
if os.environ.get(PIN_VAR):
    import theorycheck.store as _store

    _pinned = os.environ[PIN_VAR]
    _store.code_version = lambda: _pinned

DRIVER = """
import sys
import helpers_planted
from theorycheck import registry
from theorycheck.cli import main
registry._loaded = True  # only the planted claims: the test must not depend on the paper modules
for claim in helpers_planted.ALL:
    registry.register(claim)
sys.exit(main(sys.argv[1:]))
"""
