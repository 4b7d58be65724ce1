"""Isolated plug-ins: a claims module that fails to import is reported in one line naming it and its error;
every other claim still lists and runs; asking for a claim that only the broken module could hold exits 2
with that line."""
import sys
import textwrap
import uuid
from types import SimpleNamespace

import pytest

from theorycheck import registry
from theorycheck.cli import main

GOOD = textwrap.dedent("""
    import numpy as np

    from theorycheck import Claim, Param, Regime, register

    register(Claim(
        id="{pkg}.good.mean", source="test", statement="the mean of n standard normals is 0",
        kind="estimate", regime=Regime([Param("n", 2000, 2000, kind="int", low=1, search=(100, 4000))]),
        predict=lambda p: 0.0, measure=lambda p, rng: float(rng.standard_normal(p["n"]).mean()),
        tolerance=0.2, negative_control=lambda p: 1.0, negative_label="1", seeds={"quick": 4, "full": 4},
        tolerance_reason="test", measured_label="mean"))
    """)
HALF = GOOD.replace("good.mean", "half.mean") + "\nraise RuntimeError('half way')\n"
BROKEN = "import numpy as np\nimport a_module_that_does_not_exist_anywhere\n"


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """A plug-in package with a good, a broken and a half-imported claims module, as the only entry point."""
    pkg = f"bp{uuid.uuid4().hex[:8]}"
    (tmp_path / pkg).mkdir()
    for name, text in {"__init__.py": "", "good.py": GOOD, "broken.py": BROKEN, "half.py": HALF,
                       "syntax.py": "def f(:\n"}.items():
        (tmp_path / pkg / name).write_text(text.replace("{pkg}", pkg))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "entry_points", lambda group: [SimpleNamespace(value=pkg)])
    monkeypatch.setattr(registry, "_CLAIMS", {})
    monkeypatch.setattr(registry, "_BROKEN", {})
    monkeypatch.setattr(registry, "_loaded", False)
    yield pkg
    for name in [m for m in sys.modules if m == pkg or m.startswith(pkg + ".")]:
        del sys.modules[name]


def test_list_works_and_names_each_broken_module_in_one_line(plugin, capsys):
    assert main(["list"]) == 0
    out, err = capsys.readouterr()
    assert f"{plugin}.good.mean" in out and f"{plugin}.half.mean" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 3
    broken = next(line for line in lines if f"{plugin}.broken " in line)
    assert "ModuleNotFoundError" in broken and "a_module_that_does_not_exist_anywhere" in broken
    assert any(f"{plugin}.half " in line and "RuntimeError: half way" in line for line in lines)
    assert any(f"{plugin}.syntax " in line and "SyntaxError" in line and "line 1" in line for line in lines)


def test_every_other_claim_still_runs(plugin, capsys):
    assert main(["verify", f"{plugin}.good", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "verified" in out and f"claims module {plugin}.broken failed to import" in err


def test_a_claim_of_the_broken_module_exits_2_with_its_line(plugin, capsys):
    assert main(["verify", f"{plugin}.broken.anything"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"claims module {plugin}.broken failed to import: ModuleNotFoundError" in err
    assert main(["predict", f"{plugin}.half.mean"]) == 2
    assert "RuntimeError: half way" in capsys.readouterr().err
