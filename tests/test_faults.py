"""Fault tests: a verify killed with SIGKILL resumes to the same table; a Dask worker killed mid-task has
its task retried with unchanged numbers; two verify processes on one store do not corrupt it."""
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import helpers_planted as planted
from theorycheck import runner
from theorycheck.backends import single_threaded
from theorycheck.store import code_version

TESTS = Path(__file__).resolve().parent
SLOW = {"n": 40, "d": 50_000, "delay": 0.25}


def _env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env[planted.PIN_VAR] = code_version()
    env.update(extra)
    return env


def _verify_argv(out, *more):
    return [sys.executable, "-c", planted.DRIVER, "verify", "planted.slow", "--out", str(out), "--quiet", *more]


def _query(out, sql):
    db = Path(out) / "results.sqlite"
    if not db.exists():
        return None
    con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute(sql).fetchall()
    except sqlite3.OperationalError:  # the schema is being created
        return None
    finally:
        con.close()


def _count(out) -> int:
    rows = _query(out, "SELECT COUNT(*) FROM measurements")
    return rows[0][0] if rows else 0


def _wait_for(predicate, what, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _reference(n_seeds, root=runner.DEFAULT_ROOT):
    """The serial numbers of planted.slow: its value does not depend on the delay, only on the seed."""
    with single_threaded():
        return [planted._gram_trace(SLOW, rng) for rng in runner.replicate_rngs("planted.slow", root, n_seeds)]


def test_sigkill_mid_run_resumes_to_the_same_table(tmp_path):
    out = tmp_path / "store"
    argv = _verify_argv(out, "--workers", "2", "--seeds", "12")
    proc = subprocess.Popen(argv, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        _wait_for(lambda: _count(out) >= 3 or proc.poll() is not None, "three stored measurements")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its worker processes, mid-sweep
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    killed_at = _count(out)
    assert 3 <= killed_at < 12
    assert _query(out, "PRAGMA integrity_check") == [("ok",)]

    rerun = subprocess.run(argv + ["--json", "-"], env=_env(), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    import json

    row = json.loads(rerun.stdout)[0]
    assert row["reused"] == killed_at and row["verdict"] == "verified"
    table = _query(out, "SELECT seed_index, value, run_id FROM measurements ORDER BY seed_index")
    assert [i for i, _, _ in table] == list(range(12))  # none lost, none duplicated
    assert [v for _, v, _ in table] == _reference(12) == row["values"]
    per_run = _query(out, "SELECT run_id, COUNT(*) FROM measurements GROUP BY run_id")
    assert sorted(n for _, n in per_run) == sorted([killed_at, 12 - killed_at])


def test_dask_worker_killed_mid_task_is_retried(tmp_path, monkeypatch):
    pytest.importorskip("distributed", reason="Dask distributed is not installed (pip install '.[dask]')")
    from theorycheck.dask_backend import DaskBackend

    markers = tmp_path / "markers"
    markers.mkdir()
    monkeypatch.setenv(planted.MARKER_DIR_VAR, str(markers))  # the workers inherit it
    params = dict(SLOW, delay=1.0)
    backend = DaskBackend("local", workers=2)
    result = {}
    try:
        thread = threading.Thread(target=lambda: result.update(
            row=runner.verify_claim(planted.SLOW, params, 6, backend=backend, progress=False)))
        thread.start()
        _wait_for(lambda: any(markers.iterdir()), "a replicate to start")
        victim = next(markers.iterdir()).name
        killed_pid = int(victim.split("-", 1)[0])
        assert killed_pid in backend.workers().values()
        os.kill(killed_pid, signal.SIGKILL)  # mid-task: the replicate sleeps for a second after its marker
        thread.join(240)
    finally:
        backend.close()
    row = result["row"]
    assert row["values"] == _reference(6)
    assert row["verdict"] == "verified" and row["negative_control"]["verdict"] == "refuted"
    runs_of_victim = [m.name for m in markers.iterdir() if m.name.split("-", 1)[1] == victim.split("-", 1)[1]]
    assert len(runs_of_victim) == 2 and victim in runs_of_victim  # retried once, elsewhere


def test_two_verify_processes_on_one_store(tmp_path):
    out = tmp_path / "store"
    gate = tmp_path / "gate"
    argv = _verify_argv(out, "--seeds", "8", "--set", "delay=0")
    first = subprocess.Popen(argv, env=_env(**{planted.GATE_VAR: str(gate)}), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    try:
        lock = out / "store.lock"
        _wait_for(lambda: lock.exists() and lock.read_text().startswith("process"), "the first to hold the store")
        second = subprocess.run(argv, env=_env(), capture_output=True, text=True, timeout=120)
        assert first.poll() is None  # the first is held at its gate, still writing
        assert second.returncode == 2
        assert f"is in use by process {first.pid} " in second.stderr
        assert second.stderr.count("\n") == 1 and "Traceback" not in second.stderr
    finally:
        gate.write_text("open")
        first.wait(timeout=240)
    assert first.returncode == 0, first.stderr.read().decode()
    assert _query(out, "PRAGMA integrity_check") == [("ok",)]
    table = _query(out, "SELECT seed_index, value FROM measurements ORDER BY seed_index")
    assert [i for i, _ in table] == list(range(8)) and [v for _, v in table] == _reference(8)
    assert _query(out, "SELECT COUNT(*) FROM results") == [(1,)]
