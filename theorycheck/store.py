"""Results store: every finished replicate in an embedded SQLite database, so runs resume.

A replicate is keyed by (code version, claim, parameters, root seed, replicate index).  The code version
is a hash of the source of every package that can change a number (the framework, the derivations,
the simulations and the claims), so a store written by other code is recomputed, never mixed.
"""
from __future__ import annotations

import hashlib
import json
import platform
import sqlite3
import subprocess
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

SCHEMA = """
CREATE TABLE IF NOT EXISTS measurements (
    code_version TEXT NOT NULL,
    claim TEXT NOT NULL,
    params TEXT NOT NULL,
    root_seed INTEGER NOT NULL,
    seed_index INTEGER NOT NULL,
    value REAL NOT NULL,
    extras TEXT NOT NULL,
    elapsed_s REAL NOT NULL,
    finished_at REAL NOT NULL,
    provenance TEXT NOT NULL,
    PRIMARY KEY (code_version, claim, params, root_seed, seed_index)
);
"""
SOURCE_PACKAGES = ("theorycheck", "derivations", "simulations", "claims")


def params_key(params: Mapping[str, Any]) -> str:
    """Canonical JSON of a parameter dict (sorted keys), the store's key for parameters."""
    return json.dumps(dict(params), sort_keys=True, separators=(",", ":"))


@lru_cache(maxsize=1)
def code_version() -> str:
    """SHA-256 (first 16 hex digits) of the source files of the packages that produce numbers."""
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


@lru_cache(maxsize=1)
def provenance() -> dict[str, Any]:
    """Package versions, Python, platform, git revision and code version of this run."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for pkg in ("theorycheck", "numpy", "scipy", "sympy", "numba", "matplotlib"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = None
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        rev = None
    return {"versions": versions, "python": platform.python_version(), "platform": platform.platform(),
            "git_revision": rev, "code_version": code_version()}


class Store:
    """SQLite store in ``DIR/results.sqlite`` (WAL mode; the calling process is the only writer).

    Parameters
    ----------
    directory : str or Path
        Created when missing.
    """

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "results.sqlite"
        self.con = sqlite3.connect(self.path, timeout=60)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("PRAGMA synchronous=NORMAL")
        self.con.executescript(SCHEMA)
        self.version = code_version()
        self._prov = json.dumps(provenance(), sort_keys=True)

    def lookup(self, claim: str, params: Mapping[str, Any], root: int, indices: Iterable[int]) -> dict[int, dict]:
        """Stored records of the given replicates written by this code version."""
        rows = self.con.execute(
            "SELECT seed_index, value, extras, elapsed_s FROM measurements WHERE code_version=? AND claim=? "
            "AND params=? AND root_seed=?", (self.version, claim, params_key(params), int(root))).fetchall()
        wanted = set(indices)
        return {i: {"index": i, "value": v, "extras": json.loads(e), "error": None, "elapsed_s": t, "cached": True}
                for i, v, e, t in rows if i in wanted}

    def save(self, claim: str, params: Mapping[str, Any], root: int, record: Mapping[str, Any]) -> None:
        with self.con:
            self.con.execute(
                "INSERT OR IGNORE INTO measurements VALUES (?,?,?,?,?,?,?,?,?,?)",
                (self.version, claim, params_key(params), int(root), int(record["index"]), float(record["value"]),
                 json.dumps(record["extras"], sort_keys=True), float(record["elapsed_s"]), time.time(),
                 self._prov))

    def count(self) -> int:
        return self.con.execute("SELECT COUNT(*) FROM measurements").fetchone()[0]

    def close(self) -> None:
        self.con.close()
