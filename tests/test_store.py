"""Results store: resume without recomputing or duplicating, provenance, code versions, one writer,
Parquet export."""
import json
import sqlite3
import threading
import time

import pytest

import helpers_planted as planted
from theorycheck import runner
from theorycheck import store as store_mod
from theorycheck.store import Store, StoreBusy, StoreFormatError, params_key

PARAMS = {"n": 30, "d": 1000}


class CountingBackend:
    """In-process backend that counts the replicates it actually runs."""

    slots = 1
    name = "counting"

    def __init__(self):
        from theorycheck.backends import InProcess

        self.inner, self.ran = InProcess(), []

    def submit(self, claim, params, root, index):
        self.ran.append(index)
        return self.inner.submit(claim, params, root, index)

    def close(self):
        pass


def _rows(path):
    con = sqlite3.connect(path / "results.sqlite")
    try:
        return con.execute("SELECT claim, params, root_seed, seed_index, value FROM measurements "
                           "ORDER BY seed_index").fetchall()
    finally:
        con.close()


def test_rerun_reuses_every_measurement_and_adds_only_new_seeds(tmp_path):
    first = CountingBackend()
    with Store(tmp_path) as st:
        row1 = runner.verify_claim(planted.GRAM, PARAMS, 4, backend=first, store=st, progress=False)
    assert sorted(first.ran) == [0, 1, 2, 3] and row1["reused"] == 0
    second = CountingBackend()
    with Store(tmp_path) as st:
        row2 = runner.verify_claim(planted.GRAM, PARAMS, 6, backend=second, store=st, progress=False)
        assert st.count() == 6
    assert sorted(second.ran) == [4, 5] and row2["reused"] == 4
    assert row2["values"][:4] == row1["values"]
    third = CountingBackend()
    with Store(tmp_path) as st:
        row3 = runner.verify_claim(planted.GRAM, PARAMS, 6, backend=third, store=st, progress=False)
    assert third.ran == [] and row3["values"] == row2["values"] and row3["reused"] == 6
    rows = _rows(tmp_path)
    assert len(rows) == 6 and len({r[3] for r in rows}) == 6  # no duplicates


def test_other_parameters_and_roots_are_other_measurements(tmp_path):
    with Store(tmp_path) as st:
        a = runner.verify_claim(planted.GRAM, PARAMS, 2, store=st, progress=False)
        b = runner.verify_claim(planted.GRAM, dict(PARAMS, n=31), 2, store=st, progress=False)
        c = runner.verify_claim(planted.GRAM, PARAMS, 2, root=5, store=st, progress=False)
        assert st.count() == 6
    assert a["values"] != b["values"] and a["values"] != c["values"]


def test_another_code_version_recomputes_rather_than_mixes(tmp_path, monkeypatch):
    with Store(tmp_path) as st:
        old = runner.verify_claim(planted.GRAM, PARAMS, 3, store=st, progress=False)
    monkeypatch.setattr(store_mod, "claim_version", lambda claim_id: "0123456789abcdef")
    backend = CountingBackend()
    with Store(tmp_path) as st:
        new = runner.verify_claim(planted.GRAM, PARAMS, 3, backend=backend, store=st, progress=False)
        versions = st.con.execute("SELECT code_version, COUNT(*) FROM measurements GROUP BY 1").fetchall()
    assert sorted(backend.ran) == [0, 1, 2] and new["reused"] == 0
    assert new["values"] == old["values"]  # same code in fact, so the same numbers: recomputed, not copied
    assert dict(versions)["0123456789abcdef"] == 3 and len(versions) == 2


def test_a_worker_of_other_code_is_an_error_not_a_mix(tmp_path):
    class OtherCode(CountingBackend):
        def submit(self, claim, params, root, index):
            fut = super().submit(claim, params, root, index)
            fut.result()["worker"]["code_version"] = "ffffffffffffffff"
            return fut

    with Store(tmp_path) as st:
        row = runner.verify_claim(planted.GRAM, PARAMS, 2, backend=OtherCode(), store=st, progress=False)
        kept = st.con.execute("SELECT DISTINCT code_version FROM measurements").fetchall()
    assert row["verdict"] == "error" and "code version ffffffffffffffff" in row["error"]
    assert kept == [("ffffffffffffffff",)]


def test_failed_replicates_are_not_stored(tmp_path):
    with Store(tmp_path) as st:
        with pytest.raises(runner.SweepError):
            runner.sweep(planted.MEAN_SQUARE, {"n": 8}, "n", [0, 4], 2, store=st, progress=False)
        stored = st.table("measurements")
    assert sorted((m["params"]["n"], m["seed_index"]) for m in stored) == [(4, 0), (4, 1)]


def test_measurement_provenance(tmp_path):
    with Store(tmp_path) as st:
        row = runner.verify_claim(planted.MEAN_SQUARE, {"n": 8}, 3, store=st, progress=False)
        meas = st.table("measurements")
        runs = st.table("runs")
        results = st.latest_results()
    assert len(runs) == 1 and len(meas) == 3
    run = runs[0]
    assert run["code_version"] == store_mod.code_version()
    assert run["versions"]["numpy"] and run["python"] and run["host"]
    assert "git_revision" in run
    for m in meas:
        assert m["claim"] == "planted.mean_square" and m["params"] == {"n": 8}
        assert m["root_seed"] == runner.DEFAULT_ROOT and m["run_id"] == run["run_id"]
        assert m["value"] == row["values"][m["seed_index"]] and m["elapsed_s"] >= 0
        assert m["extras"] == {"n": 8} and m["worker_pid"] > 0
    assert results[0]["verdict"] == row["verdict"] and results[0]["run"]["run_id"] == run["run_id"]


def test_second_writer_fails_with_a_clear_message(tmp_path):
    with Store(tmp_path):
        with pytest.raises(StoreBusy, match=r"is in use by process \d+ .*another --out DIR"):
            Store(tmp_path)
        reader = Store(tmp_path, readonly=True)  # a report may read while verify writes
        reader.close()
    Store(tmp_path).close()  # free again


def test_second_writer_can_wait_for_the_first(tmp_path):
    opened, events = threading.Event(), []

    def first_writer():
        with Store(tmp_path):
            opened.set()
            time.sleep(0.5)
            events.append("first closed")

    thread = threading.Thread(target=first_writer)
    thread.start()
    opened.wait(30)
    with Store(tmp_path, wait=30):
        events.append("second opened")
    thread.join()
    assert events == ["first closed", "second opened"]


def test_readonly_store_needs_a_store(tmp_path):
    with pytest.raises(StoreFormatError, match="holds no results store"):
        Store(tmp_path, readonly=True)


def test_a_store_of_another_format_is_refused(tmp_path):
    con = sqlite3.connect(tmp_path / "results.sqlite")
    con.execute("CREATE TABLE measurements (x)")
    con.commit()
    con.close()
    with pytest.raises(StoreFormatError, match="store format 0"):
        Store(tmp_path)


def test_wal_mode(tmp_path):
    with Store(tmp_path) as st:
        assert st.con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_parquet_export(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed (pip install '.[dask]')")
    with Store(tmp_path) as st:
        row = runner.verify_claim(planted.MEAN_SQUARE, {"n": 8}, 3, store=st, progress=False)
        runner.verify_claim(planted.GRAM, PARAMS, 2, store=st, progress=False)
    meas = pq.read_table(tmp_path / "parquet" / "measurements.parquet").to_pylist()
    results = pq.read_table(tmp_path / "parquet" / "results.parquet").to_pylist()
    runs = pq.read_table(tmp_path / "parquet" / "runs.parquet").to_pylist()
    assert len(meas) == 5 and len(results) == 2 and len(runs) == 1
    ms = sorted((m["seed_index"], m["value"]) for m in meas if m["claim"] == "planted.mean_square")
    assert [v for _, v in ms] == row["values"]
    assert {m["param_n"] for m in meas} == {8.0, 30.0}
    assert all(m["git_revision"] == runs[0]["git_revision"] and json.loads(m["versions"])["numpy"] for m in meas)
    r = next(r for r in results if r["claim"] == "planted.mean_square")
    assert (r["verdict"], r["measured"], r["predicted_low"]) == (row["verdict"], row["measured"], 0.125)
    assert r["params"] == params_key({"n": 8})


def test_params_key_is_canonical():
    import numpy as np

    assert params_key({"b": 1, "a": [1.5, 2]}) == params_key({"a": [1.5, 2], "b": 1}) == '{"a":[1.5,2],"b":1}'
    assert params_key({"x": np.float64(0.5)}) == '{"x":0.5}'
