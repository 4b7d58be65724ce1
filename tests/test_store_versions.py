"""Per-claim result versions: editing one claims module recomputes that module's claims only.

A tiny plug-in package is written into ``tmp_path``: ``claims_a`` (two claims, no project import),
``claims_b`` (one claim, importing ``stats`` which imports ``kernel``) and ``unrelated`` (imported by no
claim).  A store is built, one file is edited, and the rerun counts the replicates it reused.
"""
import importlib
import sys
import textwrap
import uuid

import pytest

from theorycheck import registry, runner
from theorycheck import store as store_mod
from theorycheck.store import Store, claim_version, module_closure

CLAIM = """
from theorycheck import Claim, Param, Regime, register


def _regime():
    return Regime([Param("n", 2000, 2000, kind="int", low=1, search=(100, 4000), doc="draws per replicate")])


def claim(claim_id, measure):
    return register(Claim(
        id=claim_id, source="test", statement="a mean of n squared standard normals has mean 1",
        kind="estimate", regime=_regime(), predict=lambda p: 1.0, measure=measure, tolerance=0.5,
        negative_control=lambda p: 3.0, negative_label="3", seeds={"quick": 3, "full": 3},
        tolerance_reason="test", measured_label="mean square"))
"""

FILES = {
    "__init__.py": "",
    "make.py": CLAIM,
    "kernel.py": "def draw(rng, n):\n    return rng.standard_normal(n)\n",
    "stats.py": "from .kernel import draw\n\n\ndef mean_square(rng, n):\n    return float((draw(rng, n) ** 2).mean())\n",
    "claims_a.py": textwrap.dedent("""
        from .make import claim

        ONE = claim("{pkg}.a.one", lambda p, rng: float((rng.standard_normal(p["n"]) ** 2).mean()))
        TWO = claim("{pkg}.a.two", lambda p, rng: float((rng.standard_normal(p["n"]) ** 2).mean()))
        """),
    "claims_b.py": textwrap.dedent("""
        from . import make
        from .stats import mean_square

        THREE = make.claim("{pkg}.b.three", lambda p, rng: mean_square(rng, p["n"]))
        """),
    "unrelated.py": "VALUE = 1\n",
}


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """The package on ``sys.path`` with its claims registered; unregistered and forgotten afterwards."""
    pkg = f"vt{uuid.uuid4().hex[:8]}"
    root = tmp_path / pkg
    root.mkdir()
    for name, text in FILES.items():
        (root / name).write_text(text.replace("{pkg}", pkg))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module(f"{pkg}.claims_a")
    importlib.import_module(f"{pkg}.claims_b")
    ids = [f"{pkg}.a.one", f"{pkg}.a.two", f"{pkg}.b.three"]
    store_mod.clear_version_caches()
    yield pkg, root, [registry.lookup(i) for i in ids]
    for i in ids:
        registry.unregister(i)
    for name in [m for m in sys.modules if m == pkg or m.startswith(pkg + ".")]:
        del sys.modules[name]
    store_mod.clear_version_caches()


def _run(directory, claims):
    """Verify every claim on the store; ``{claim id: replicates reused}``."""
    with Store(directory) as st:
        rows = [runner.verify_claim(c, c.regime.resolve("quick"), 3, store=st, progress=False) for c in claims]
    assert all(r["verdict"] == "verified" for r in rows)
    return {r["claim"]: r["reused"] for r in rows}


def _edit(path):
    path.write_text(path.read_text() + "\n# edited\n")
    store_mod.clear_version_caches()


def test_editing_one_claims_module_recomputes_its_claims_only(plugin, tmp_path):
    pkg, root, claims = plugin
    out = tmp_path / "store"
    assert set(_run(out, claims).values()) == {0}
    assert set(_run(out, claims).values()) == {3}
    _edit(root / "claims_a.py")
    assert _run(out, claims) == {f"{pkg}.a.one": 0, f"{pkg}.a.two": 0, f"{pkg}.b.three": 3}
    _edit(root / "kernel.py")  # imported by claims_b through stats
    assert _run(out, claims) == {f"{pkg}.a.one": 3, f"{pkg}.a.two": 3, f"{pkg}.b.three": 0}
    _edit(root / "unrelated.py")
    assert set(_run(out, claims).values()) == {3}


def test_the_measuring_core_and_package_versions_are_part_of_every_version(plugin, tmp_path, monkeypatch):
    pkg, _, claims = plugin
    out = tmp_path / "store"
    _run(out, claims)
    before = {c.id: claim_version(c.id) for c in claims}
    assert len(set(before.values())) == 2  # claims_a's two claims share a module, claims_b differs
    monkeypatch.setattr(store_mod, "_core_digest", lambda: "another numpy")
    store_mod.modules_version.cache_clear()
    assert all(claim_version(c.id) != before[c.id] for c in claims)
    assert set(_run(out, claims).values()) == {0}
    monkeypatch.undo()


def test_closure_follows_imports_transitively_and_stays_in_the_claims_packages(plugin):
    pkg, _, _ = plugin
    closure = module_closure((f"{pkg}.claims_b",))
    assert set(closure) == {pkg, f"{pkg}.claims_b", f"{pkg}.make", f"{pkg}.stats", f"{pkg}.kernel"}
    lemma = module_closure(("claims.lemma",))
    assert {"claims.lemma", "derivations.tensor_power", "simulations.tensor_power",
            "simulations.tensor_power.recursion"} <= set(lemma)
    assert not any(name.startswith(("theorycheck", "numpy", "claims.mrp", "derivations.mrp")) for name in lemma)


def test_calibration_stream_shares_its_claims_version(plugin):
    _, _, claims = plugin
    assert claim_version(f"{claims[0].id}@calibration") == claim_version(claims[0].id)
