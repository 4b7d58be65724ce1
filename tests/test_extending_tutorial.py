"""docs/extending.md runs: its files are written into tmp_path, its Python blocks executed against a fresh
registry, its plug-in package's battery run by pytest from outside the repository, and its lemma commands
replayed into a temporary project tree."""
import importlib
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import claims as claims_pkg
import derivations
import simulations
from theorycheck import registry
from theorycheck.scaffold import scaffold
from theorycheck.testing import run_check

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "extending.md").read_text()
FILE_BLOCK = re.compile(r"<!-- file: (\S+) -->\n```python\n(.*?)```", re.S)
RUN_BLOCK = re.compile(r"<!-- run -->\n```python\n(.*?)```", re.S)
CONSOLE = re.compile(r"```console\n(.*?)```", re.S)


@pytest.fixture
def fresh_registry(monkeypatch):
    """An empty registry that loads no entry point: only what the test imports is registered."""
    monkeypatch.setattr(registry, "_CLAIMS", {})
    monkeypatch.setattr(registry, "_BROKEN", {})
    monkeypatch.setattr(registry, "_loaded", True)


@pytest.fixture
def plugin_tree(tmp_path, monkeypatch):
    """The tutorial's files under tmp_path, which is put on sys.path; mypaper forgotten afterwards."""
    files = FILE_BLOCK.findall(DOC)
    assert {path for path, _ in files} >= {"mypaper/__init__.py", "mypaper/derivation.py", "mypaper/model.py",
                                           "mypaper/claims.py", "tests/test_mypaper.py"}
    for path, text in files:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m == "mypaper" or m.startswith("mypaper.")]:
        del sys.modules[name]


def test_the_paper_package_verifies_in_python(plugin_tree, fresh_registry):
    importlib.import_module("mypaper.claims")
    blocks = RUN_BLOCK.findall(DOC)
    assert blocks
    for code in blocks:
        exec(compile(code, "docs/extending.md", "exec"), {})
    claim = registry.get("mypaper.ls_error")
    for check in ("documented", "verdicts_as_expected", "reproducible_from_generator",
                  "extras_json_serialisable", "regime_strategy_runnable", "derivation_self_checks"):
        run_check(claim, check)


def test_the_paper_package_runs_the_battery_from_outside_the_repository(plugin_tree):
    env = dict(os.environ, PYTHONPATH=str(plugin_tree))
    proc = subprocess.run([sys.executable, "-m", "pytest", "tests/test_mypaper.py", "-q", "-p", "no:cacheprovider"],
                          cwd=plugin_tree, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert re.search(r"\b6 passed\b", proc.stdout), proc.stdout[-2000:]


def test_the_lemma_commands_scaffold_the_listed_files_and_the_claim_verifies(tmp_path, fresh_registry, monkeypatch):
    console = CONSOLE.findall(DOC)[0].splitlines()
    assert console[0] == "$ theorycheck new lemma demo"
    listed = [line for line in console[1:] if not line.startswith("$")]
    for d in ("claims", "derivations", "simulations", "tests"):
        (tmp_path / d).mkdir()
    written = scaffold("lemma", "demo", tmp_path)
    assert [str(p.relative_to(tmp_path)) for p in written] == listed
    assert "$ theorycheck verify lemma.demo" in console and "$ python -m pytest -k demo" in console

    # The same scaffold under a name of its own, imported through the project packages' paths.
    name = f"tut{uuid.uuid4().hex[:8]}"
    tree = tmp_path / "tree"
    for d in ("claims", "derivations", "simulations", "tests"):
        (tree / d).mkdir(parents=True)
    scaffold("lemma", name, tree)
    for pkg, d in ((derivations, "derivations"), (simulations, "simulations"), (claims_pkg, "claims")):
        monkeypatch.setattr(pkg, "__path__", [*pkg.__path__, str(tree / d)])
    try:
        importlib.import_module(f"claims.lemma_{name}")
        claim = registry.get(f"lemma.{name}")
        for check in ("documented", "verdicts_as_expected", "reproducible_from_generator", "plot_runs",
                      "extras_json_serialisable", "derivation_self_checks"):
            run_check(claim, check)
    finally:
        for mod in [m for m in sys.modules if m.endswith(name) or f".{name}." in m or m.endswith(f"lemma_{name}")]:
            del sys.modules[mod]
