"""Results store: every finished replicate in an embedded SQLite database, so runs resume.

``verify --out DIR`` keeps ``DIR/results.sqlite`` (WAL journal; one writing process at a time, guarded by
an advisory lock on ``DIR/store.lock``) with three tables:

``runs``          one row per process that wrote to the store: code version, git revision, package
                  versions, Python, platform, host and command line (the provenance of its numbers);
``measurements``  one row per finished replicate: claim, parameters, root seed and replicate index (the
                  seed), value, extras, elapsed (wall) and CPU time, the run and the worker that computed it;
``results``       one row per verdict: the full result row as JSON.

A replicate is keyed by (code version, claim, parameters, root seed, replicate index) and committed as
soon as it finishes, so a run killed at any moment keeps every finished replicate and the rerun reuses
them, never recomputing or duplicating one.  A replicate's code version is its claim's version
(:func:`claim_version`): a hash of what its value depends on -- the claim's module, the project modules it
imports (transitively), the framework's measuring core and the numerical packages' versions -- so a store
written by other code is recomputed, never mixed, and editing one claims module recomputes its claims
only.  The process-wide :func:`code_version` (every source file) is recorded with each run and lets a run
refuse a worker that runs other code.  On closing, the tables are exported as Parquet files
in ``DIR/parquet/`` (when pyarrow is installed) for analysis.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import math
import os
import platform
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

from .regime import RegimeError

SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at REAL NOT NULL,
    code_version TEXT NOT NULL,
    git_revision TEXT,
    git_dirty INTEGER,
    versions TEXT NOT NULL,
    python TEXT NOT NULL,
    platform TEXT NOT NULL,
    host TEXT NOT NULL,
    argv TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS measurements (
    code_version TEXT NOT NULL,
    claim TEXT NOT NULL,
    params TEXT NOT NULL,
    root_seed INTEGER NOT NULL,
    seed_index INTEGER NOT NULL,
    value REAL NOT NULL,
    extras TEXT NOT NULL,
    elapsed_s REAL NOT NULL,
    cpu_s REAL,
    finished_at REAL NOT NULL,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    worker_host TEXT,
    worker_pid INTEGER,
    PRIMARY KEY (code_version, claim, params, root_seed, seed_index)
);
CREATE TABLE IF NOT EXISTS results (
    result_id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    code_version TEXT NOT NULL,
    claim TEXT NOT NULL,
    params TEXT NOT NULL,
    root_seed INTEGER NOT NULL,
    seeds INTEGER NOT NULL,
    verdict TEXT NOT NULL,
    expected TEXT NOT NULL,
    finished_at REAL NOT NULL,
    row TEXT NOT NULL
);
"""
SOURCE_PACKAGES = ("theorycheck", "derivations", "simulations", "claims")
VERSIONED_PACKAGES = ("theorycheck", "numpy", "scipy", "sympy", "numba", "matplotlib", "dask", "distributed",
                      "pyarrow", "threadpoolctl")
#: The framework modules that a replicate's value or its reduction goes through (not the CLI, the report,
#: the plots or the store): part of every claim's version.
MEASURING_CORE = ("theorycheck.claim", "theorycheck.regime", "theorycheck.verdict", "theorycheck.runner",
                  "theorycheck.fit")
#: Packages whose version is part of every claim's version.
NUMERICAL_PACKAGES = ("numpy", "scipy", "numba", "sympy")
#: Project packages whose modules a claim's version follows wherever a claim imports them.
PROJECT_ROOTS = ("derivations", "simulations", "claims")
DB_NAME, LOCK_NAME, PARQUET_DIR = "results.sqlite", "store.lock", "parquet"


class StoreBusy(RegimeError):
    """Another process is writing to the store (the command line prints the message, no traceback)."""


class StoreFormatError(RegimeError):
    """The directory holds a store of another format."""


def params_key(params: Mapping[str, Any]) -> str:
    """Canonical JSON of a parameter dict (sorted keys), the store's key for parameters."""
    return json.dumps(dict(params), sort_keys=True, separators=(",", ":"), default=json_default)


def json_default(x):
    """JSON for NumPy scalars and arrays (measure extras often hold them)."""
    if hasattr(x, "tolist"):
        return x.tolist()
    if isinstance(x, (set, frozenset, tuple)):
        return list(x)
    raise TypeError(f"{type(x).__name__} is not JSON-serialisable")


def dumps(obj) -> str:
    return json.dumps(obj, sort_keys=True, default=json_default)


@lru_cache(maxsize=1)
def code_version() -> str:
    """SHA-256 (first 16 hex digits) of the source files of every package that can change a number."""
    import importlib

    h = hashlib.sha256()
    for name in SOURCE_PACKAGES:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        roots = [Path(p) for p in getattr(mod, "__path__", [])]
        for root in roots:
            for f in sorted(root.rglob("*.py")):
                h.update(str(f.relative_to(root.parent)).encode())
                h.update(f.read_bytes())
    return h.hexdigest()[:16]


# ---------------------------------------------------------------------------------------- claim versions
def _source_file(name: str) -> Path | None:
    """The ``.py`` file of module ``name`` (found without importing it when it is not loaded), or None."""
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None) if module is not None else None
    if path is None:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError, AttributeError):
            return None
        path = getattr(spec, "origin", None) if spec is not None else None
    return Path(path) if path and str(path).endswith(".py") and Path(path).is_file() else None


def _imported_names(name: str, path: Path) -> set[str]:
    """Absolute names of the modules a source file imports (anywhere in it, lazy imports included), with
    ``pkg.name`` candidates for ``from pkg import name``."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError):
        return set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base_parts = parts[:len(parts) - node.level + 1] if node.level > 1 else parts
                base = ".".join(p for p in base_parts if p)
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            if base:
                out.add(base)
                out.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return out


def module_closure(names) -> dict[str, Path]:
    """Source files of the modules ``names`` and of every module they import, transitively (see
    :func:`_closure`; computed once per set of names, until :func:`clear_version_caches`)."""
    return dict(_closure(tuple(sorted(set(names)))))


@lru_cache(maxsize=None)
def _closure(names: tuple[str, ...]) -> dict[str, Path]:
    """Source files of the modules ``names`` and of every module they import, transitively, within the
    project's packages (:data:`PROJECT_ROOTS`) and the top-level packages of ``names`` themselves (a plug-in
    claim's own package); importing ``a.b.c`` runs ``a`` and ``a.b`` too, so parent packages are included.

    Returns
    -------
    dict
        ``{module name: source path}``.
    """
    roots = set(PROJECT_ROOTS) | {n.split(".")[0] for n in names}
    roots.discard("theorycheck")
    found: dict[str, Path] = {}
    queue = list(names)
    seen: set[str] = set()
    while queue:
        name = queue.pop()
        if name in seen or name.split(".")[0] not in roots:
            continue
        seen.add(name)
        path = _source_file(name)
        if path is None:
            continue
        found[name] = path
        parts = name.split(".")
        queue.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        queue.extend(_imported_names(name, path))
    return found


@lru_cache(maxsize=1)
def _core_digest() -> str:
    from importlib.metadata import PackageNotFoundError, version

    h = hashlib.sha256()
    for name in MEASURING_CORE:
        path = _source_file(name)
        h.update(name.encode())
        h.update(path.read_bytes() if path is not None else b"")
    for pkg in NUMERICAL_PACKAGES:
        try:
            h.update(f"{pkg}=={version(pkg)}".encode())
        except PackageNotFoundError:
            h.update(f"{pkg}: absent".encode())
    return h.hexdigest()


@lru_cache(maxsize=None)
def modules_version(modules: tuple[str, ...]) -> str:
    """SHA-256 (first 16 hex digits) of the measuring core, the numerical packages' versions and the source
    of :func:`module_closure` of ``modules`` (names and contents, sorted by name)."""
    h = hashlib.sha256(_core_digest().encode())
    for name, path in sorted(module_closure(modules).items()):
        h.update(name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def claim_version(claim_id: str) -> str:
    """The version under which replicates of a claim are stored: :func:`modules_version` of the modules
    that define it (:func:`theorycheck.backends.claim_modules`).

    ``claim_id`` may carry a stream suffix (``CLAIM@calibration``).  A claim that is not registered (so
    whose modules are unknown) falls back to :func:`code_version`.
    """
    from . import registry
    from .task import claim_modules

    claim = registry.lookup(claim_id.split("@", 1)[0])
    if claim is None:
        return code_version()
    return modules_version(claim_modules(claim))


def clear_version_caches() -> None:
    """Forget every computed version (after source files changed in this process)."""
    code_version.cache_clear()
    _closure.cache_clear()
    _core_digest.cache_clear()
    modules_version.cache_clear()
    provenance.cache_clear()


def _git(*args: str) -> str | None:
    try:
        proc = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10,
                              cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


@lru_cache(maxsize=1)
def provenance() -> dict[str, Any]:
    """Package versions, Python, platform, host, git revision (and whether the tree had local changes) and
    code version of this process."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for pkg in VERSIONED_PACKAGES:
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = None
    rev = _git("rev-parse", "HEAD") or None
    status = _git("status", "--porcelain", "--untracked-files=no") if rev else None
    return {"versions": versions, "python": platform.python_version(), "platform": platform.platform(),
            "host": socket.gethostname(), "git_revision": rev,
            "git_dirty": None if status is None else bool(status), "code_version": code_version()}


class Store:
    """SQLite results store in ``DIR/results.sqlite``.

    Parameters
    ----------
    directory : str or Path
        Created when missing.
    wait : float
        Seconds to wait for another writing process to release the store; then :class:`StoreBusy`.
    readonly : bool
        Open for reading only (no lock, no run recorded): what ``theorycheck report`` does, which may run
        while a ``verify`` writes.
    """

    def __init__(self, directory, wait: float = 0.0, readonly: bool = False):
        self.dir = Path(directory)
        self.path = self.dir / DB_NAME
        self.readonly = readonly
        self.version = code_version()
        self.written = 0
        self._lock = None
        if readonly:
            if not self.path.exists():
                raise StoreFormatError(f"{self.dir} holds no results store ({DB_NAME}); "
                                       f"write one with 'theorycheck verify --out {self.dir}'")
            self.con = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=60)
            self._check_format()
            self.run_id = None
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = self._acquire_lock(wait)
        try:
            self.con = sqlite3.connect(self.path, timeout=60)
            self.con.execute("PRAGMA journal_mode=WAL")
            self.con.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable when a process is killed
            self._check_format()
            with self.con:
                self.con.executescript(SCHEMA)
                self.con.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self.run_id = uuid.uuid4().hex
            prov = provenance()
            with self.con:
                self.con.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?)", (
                    self.run_id, time.time(), self.version, prov["git_revision"],
                    None if prov["git_dirty"] is None else int(prov["git_dirty"]), dumps(prov["versions"]),
                    prov["python"], prov["platform"], prov["host"], dumps(sys.argv)))
        except BaseException:
            self._release_lock()
            raise

    # ------------------------------------------------------------------------------ one writer at a time
    def _acquire_lock(self, wait: float):
        import fcntl

        fh = open(self.dir / LOCK_NAME, "a+")
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    fh.seek(0)
                    holder = fh.read().strip() or "another process"
                    fh.close()
                    raise StoreBusy(f"results store {self.dir} is in use by {holder}; wait for it to finish "
                                    f"or write to another --out DIR") from None
                time.sleep(0.2)
        fh.seek(0)
        fh.truncate()
        fh.write(f"process {os.getpid()} on {socket.gethostname()} since "
                 f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        fh.flush()
        return fh

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the file releases the advisory lock
            self._lock = None

    def _check_format(self) -> None:
        found = self.con.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in self.con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if (tables and found != SCHEMA_VERSION) or (self.readonly and "measurements" not in tables):
            raise StoreFormatError(f"{self.path} has store format {found}, this theorycheck writes format "
                                   f"{SCHEMA_VERSION}; write to a new --out DIR")

    # ------------------------------------------------------------------------------ measurements
    def lookup(self, claim: str, params: Mapping[str, Any], root: int, indices: Iterable[int]) -> dict[int, dict]:
        """Stored records of the given replicates written by this code version."""
        rows = self.con.execute(
            "SELECT seed_index, value, extras, elapsed_s, cpu_s, worker_host, worker_pid FROM measurements "
            "WHERE code_version=? AND claim=? AND params=? AND root_seed=?",
            (claim_version(claim), claim, params_key(params), int(root))).fetchall()
        wanted = set(int(i) for i in indices)
        return {i: {"index": i, "value": v, "extras": json.loads(e), "error": None, "elapsed_s": t, "cpu_s": c,
                    "params": dict(params), "worker": {"host": h, "pid": p, "code_version": self.version},
                    "cached": True}
                for i, v, e, t, c, h, p in rows if i in wanted}

    def save(self, claim: str, params: Mapping[str, Any], root: int, record: Mapping[str, Any]) -> None:
        """Commit one finished replicate (ignored when it is already stored).

        It is stored under its claim's version (:func:`claim_version`); a record computed by a worker that
        runs other code (another :func:`code_version`) is kept under that worker's version, which no claim
        version of this code equals.
        """
        worker = record.get("worker") or {}
        worker_version = worker.get("code_version", self.version)
        version = claim_version(claim) if worker_version == self.version else worker_version
        with self.con:
            cur = self.con.execute(
                "INSERT OR IGNORE INTO measurements VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (version, claim, params_key(params), int(root),
                 int(record["index"]), float(record["value"]), dumps(record["extras"]),
                 float(record["elapsed_s"]), record.get("cpu_s"), time.time(), self.run_id, worker.get("host"),
                 worker.get("pid")))
        self.written += cur.rowcount

    def save_result(self, row: Mapping[str, Any]) -> None:
        """Commit a verdict row (every verify appends one; the report shows the latest)."""
        with self.con:
            self.con.execute(
                "INSERT INTO results (run_id, code_version, claim, params, root_seed, seeds, verdict, expected, "
                "finished_at, row) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (self.run_id, claim_version(row["claim"]), row["claim"], params_key(row["params"]), int(row["root_seed"]),
                 int(row["seeds"]), row["verdict"], row["expected"], time.time(), dumps(_finite(row))))
        self.written += 1

    def count(self) -> int:
        return self.con.execute("SELECT COUNT(*) FROM measurements").fetchone()[0]

    # ------------------------------------------------------------------------------ reading
    def table(self, name: str) -> list[dict]:
        """Every row of ``runs``, ``measurements`` or ``results`` as dicts (JSON columns decoded)."""
        if name not in ("runs", "measurements", "results"):
            raise ValueError(f"no table {name!r}")
        cur = self.con.execute(f"SELECT * FROM {name}")
        cols = [d[0] for d in cur.description]
        out = []
        for values in cur.fetchall():
            rec = dict(zip(cols, values))
            for c in ("versions", "argv", "params", "extras", "row"):
                if c in rec and isinstance(rec[c], str):
                    rec[c] = json.loads(rec[c])
            out.append(rec)
        return out

    def latest_results(self) -> list[dict]:
        """The latest verdict row of each (claim, parameters, root seed, seeds), with its run's provenance,
        sorted by claim."""
        runs = {r["run_id"]: r for r in self.table("runs")}
        latest: dict[tuple, dict] = {}
        for rec in sorted(self.table("results"), key=lambda r: r["result_id"]):
            latest[(rec["claim"], params_key(rec["params"]), rec["root_seed"], rec["seeds"])] = rec
        out = []
        for rec in sorted(latest.values(), key=lambda r: (r["claim"], r["result_id"])):
            row = dict(rec["row"])
            row["run"] = runs.get(rec["run_id"], {})
            row["stored_code_version"] = rec["code_version"]
            row["finished_at"] = rec["finished_at"]
            out.append(row)
        return out

    # ------------------------------------------------------------------------------ export
    def export_parquet(self, directory=None) -> list[Path]:
        """Write ``runs``, ``measurements`` (with its run's provenance) and ``results`` as Parquet files.

        Parameters are kept as canonical JSON (``params``) and, for analysis, spread into one column per
        parameter name (``param_<name>``): float64 when every value of that name is a number, else JSON
        text.  Files are replaced atomically.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        out = Path(directory) if directory is not None else self.dir / PARQUET_DIR
        out.mkdir(parents=True, exist_ok=True)
        runs = self.table("runs")
        by_run = {r["run_id"]: r for r in runs}
        meas = []
        for m in self.table("measurements"):
            run = by_run.get(m["run_id"], {})
            meas.append({**m, "params": params_key(m["params"]), "extras": dumps(m["extras"]),
                         "git_revision": run.get("git_revision"), "versions": dumps(run.get("versions")),
                         "python": run.get("python"), "platform": run.get("platform"), "_p": m["params"]})
        _spread_params(meas)
        results = []
        for r in self.table("results"):
            row = r["row"]
            pred = row.get("predicted")
            lo, hi = (pred if isinstance(pred, list) else [pred, pred]) if pred is not None else (None, None)
            nc = row.get("negative_control") or {}
            results.append({
                "result_id": r["result_id"], "run_id": r["run_id"], "code_version": r["code_version"],
                "claim": r["claim"], "kind": row.get("kind"), "verdict": r["verdict"], "expected": r["expected"],
                "predicted_low": lo, "predicted_high": hi, "measured": row.get("measured"),
                "ci_low": row.get("ci_low"), "ci_high": row.get("ci_high"), "tolerance": row.get("tolerance"),
                "seeds": r["seeds"], "root_seed": r["root_seed"], "params": params_key(r["params"]),
                "negative_control_verdict": nc.get("verdict"), "elapsed_s": row.get("elapsed_s"),
                "finished_at": r["finished_at"], "row": dumps(row), "_p": r["params"]})
        _spread_params(results)
        tables = {"runs": [{**r, "versions": dumps(r["versions"]), "argv": dumps(r["argv"])} for r in runs],
                  "measurements": meas, "results": results}
        written = []
        for name, rows in tables.items():
            path = out / f"{name}.parquet"
            tmp = path.with_suffix(".parquet.tmp")
            pq.write_table(pa.Table.from_pylist(rows) if rows else pa.table({}), tmp)
            tmp.replace(path)
            written.append(path)
        return written

    def close(self) -> None:
        """Export Parquet (when this process wrote anything and pyarrow is installed), close, unlock."""
        try:
            if not self.readonly and self.written:
                try:
                    import pyarrow  # noqa: F401
                except ImportError:
                    pass
                else:
                    self.export_parquet()
        finally:
            self.con.close()
            self._release_lock()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _spread_params(rows: list[dict]) -> None:
    """Add ``param_<name>`` columns from each row's ``_p`` dict (removed afterwards)."""
    names = sorted({k for r in rows for k in r["_p"]})
    for name in names:
        vals = [r["_p"].get(name) for r in rows]
        numeric = all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in vals)
        for r, v in zip(rows, vals):
            r[f"param_{name}"] = (None if v is None else float(v)) if numeric else (None if v is None else dumps(v))
    for r in rows:
        del r["_p"]


def _finite(obj):
    """Replace NaN/inf by None so that the stored JSON is standard."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
