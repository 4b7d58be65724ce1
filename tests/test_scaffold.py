"""``theorycheck new lemma|paper NAME``: the files it writes, the claim they register (verified, its near miss
refuted), and the bad inputs it refuses with one line before writing anything."""
import importlib
import sys
import uuid

import pytest

import claims as claims_pkg
import derivations
import simulations
from theorycheck import registry
from theorycheck.cli import main
from theorycheck.runner import verify_claim

DIRS = ("claims", "derivations", "simulations", "tests")


@pytest.fixture
def tree(tmp_path, monkeypatch):
    for d in DIRS:
        (tmp_path / d).mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _refused(argv, capsys, *words):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for word in words:
        assert word in err, err


def test_new_paper_writes_its_files_and_its_claim_verifies(tree, capsys, monkeypatch):
    name = f"pp{uuid.uuid4().hex[:8]}"
    assert main(["new", "paper", name]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:5] == [f"derivations/{name}.py", f"simulations/{name}/__init__.py", f"simulations/{name}/kernels.py",
                       f"claims/{name}.py", f"tests/test_{name}.py"]
    monkeypatch.setattr(registry, "_CLAIMS", {})
    monkeypatch.setattr(registry, "_loaded", True)
    for pkg, d in ((derivations, "derivations"), (simulations, "simulations"), (claims_pkg, "claims")):
        monkeypatch.setattr(pkg, "__path__", [*pkg.__path__, str(tree / d)])
    try:
        importlib.import_module(f"claims.{name}")
        claim = registry.get(f"{name}.mean_norm")
        row = verify_claim(claim, claim.regime.resolve("quick"), claim.seeds["quick"], progress=False)
        assert row["verdict"] == "verified" and row["negative_control"]["verdict"] == "refuted", row
        text = (tree / "claims" / f"{name}.py").read_text()
        assert "REPLACE" in text and "from theorycheck import" in text and "import theorycheck." not in text
    finally:
        for mod in [m for m in sys.modules if name in m]:
            del sys.modules[mod]


def test_new_refuses_to_overwrite_and_writes_nothing(tree, capsys):
    (tree / "claims" / "lemma_taken.py").write_text("# mine\n")
    _refused(["new", "lemma", "taken"], capsys, "claims/lemma_taken.py exists", "never overwrites")
    assert not (tree / "derivations" / "taken.py").exists()
    assert (tree / "claims" / "lemma_taken.py").read_text() == "# mine\n"


@pytest.mark.parametrize("name", ["Demo", "1demo", "class", "lemma", "de-mo"])
def test_new_refuses_a_bad_name(tree, capsys, name):
    _refused(["new", "lemma", name], capsys, "not allowed")


def test_new_outside_a_project_tree(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _refused(["new", "paper", "x"], capsys, "not a theorycheck project tree")
    assert list(tmp_path.iterdir()) == []
