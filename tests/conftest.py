"""Shared test configuration: Hypothesis profiles without deadlines and a one-off JIT warm-up.

Profiles (``--hypothesis-profile=NAME``):

* ``theorycheck`` (default): derandomized, so the suite draws the same examples on every run; no example
  database (derandomized runs use none).  Property tests (``-m property``) draw
  :data:`theorycheck.explore.properties.DEFAULT_PROPERTY_EXAMPLES` settings each.
* ``thorough``: random draws, more examples (property tests draw ``PROPERTY_EXAMPLES["thorough"]``), and
  an example database under ``.hypothesis/`` so a failure found once replays first next time.

``--hypothesis-seed=S`` gives fresh draws under either profile.

Draws do not depend on which modules are imported.  Hypothesis mixes literal constants from every local
module in ``sys.modules`` into its draws, so a derandomized test drew other settings in the whole suite
(which imports more of the package, and the packages the tutorial tests generate) than alone, and CI drew
settings that no local run of the same file had tried.  The local-constant pool is kept empty here (its
global constants stay), so ``pytest tests/test_property_vit.py`` draws what the whole suite draws.
"""
import importlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

settings.register_profile("theorycheck", deadline=None, max_examples=25, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.register_profile("thorough", deadline=None, max_examples=300, derandomize=False,
                          database=DirectoryBasedExampleDatabase(
                              str(Path(__file__).resolve().parent.parent / ".hypothesis" / "examples")),
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.load_profile("theorycheck")


def _draws_independent_of_imports() -> None:
    from hypothesis.internal.conjecture import providers

    empty = providers.Constants()
    providers._get_local_constants = lambda: empty


_draws_independent_of_imports()


def _selected_simulations(items) -> set[str]:
    """The simulation subpackages the selected tests reach: those their test modules (and, for the claims
    battery, their claims' modules) import, transitively."""
    from theorycheck.store import module_closure
    from theorycheck.task import claim_modules

    names = set()
    for item in items:
        module = getattr(item, "module", None)
        if module is not None:
            names.add(module.__name__)
        claim = getattr(getattr(item, "callspec", None), "params", {}).get("claim")
        if claim is not None and hasattr(claim, "measure"):
            names.update(claim_modules(claim))
    return {".".join(m.split(".")[:2]) for m in module_closure(tuple(sorted(names)))
            if m.startswith("simulations.")}


@pytest.fixture(scope="session", autouse=True)
def warm_kernels(request):
    """Compile (or load from cache) once per session the kernels of the simulation subpackages the selected
    tests reach (``pytest -k one_claim`` compiles that claim's only): each may define ``warmup()``."""
    for name in sorted(_selected_simulations(request.session.items)):
        module = importlib.import_module(name)
        if hasattr(module, "warmup"):
            module.warmup()


@pytest.fixture(scope="session")
def pool2():
    """Two single-threaded local worker processes, shared by the tests that run many claims."""
    from theorycheck.backends import LocalProcesses

    backend = LocalProcesses(2)
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def full_backend(pool2):
    return pool2
