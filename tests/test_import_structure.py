"""What importing costs: no import circle in the framework, and the claims and derivations that build SymPy
expressions, SciPy statistics or figures only on demand do not load those libraries at import."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORK = ROOT / "theorycheck"


def module_level_imports(path: Path) -> set[str]:
    """The ``theorycheck`` modules a framework module imports when it is imported (function bodies excluded)."""
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


def find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """A path ``a -> ... -> a`` through ``graph`` (module -> modules it imports), or None."""
    state: dict[str, str] = {}

    def visit(name, path):
        if state.get(name) == "open":
            return path[path.index(name):] + [name]
        if state.get(name) == "done" or name not in graph:
            return None
        state[name] = "open"
        for dep in sorted(graph[name]):
            circle = visit(dep, path + [name])
            if circle:
                return circle
        state[name] = "done"
        return None

    return next((c for c in (visit(name, []) for name in sorted(graph)) if c), None)


def test_the_framework_imports_form_no_circle():
    graph = {p.stem: module_level_imports(p) for p in FRAMEWORK.glob("*.py") if p.stem != "__init__"}
    assert find_circle(graph) is None, " -> ".join(find_circle(graph))
    assert "runner" not in graph["backends"] and "backends" not in graph["task"]
    assert "backends" not in graph["dask_backend"], "dask_backend takes the task from theorycheck.task"


def test_the_detector_finds_a_circle(tmp_path):
    (tmp_path / "a.py").write_text("from .b import x\n")
    (tmp_path / "b.py").write_text("def f():\n    from .a import y\n")
    assert module_level_imports(tmp_path / "a.py") == {"b"}
    assert module_level_imports(tmp_path / "b.py") == set(), "an import inside a function is not module level"
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def loaded_after(statement: str) -> set[str]:
    code = (f"import sys\n{statement}\n"
            "print(' '.join(m for m in ('numpy', 'sympy', 'scipy.stats', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_a_worker_can_limit_its_threads_before_numpy_loads():
    # a worker unpickles limit_threads / run_task by reference, importing their module first
    assert loaded_after("import theorycheck.task, theorycheck.backends, theorycheck.dask_backend") == set()
    assert loaded_after("from theorycheck.task import replicate_seed\nreplicate_seed('a.b', 1, 0)") == {"numpy"}


def test_claims_and_derivations_load_heavy_libraries_only_on_demand():
    assert loaded_after("import derivations.tensor_power, derivations.two_stage, derivations.vit") == {"numpy"}
    assert loaded_after("import claims.lemma, claims.mest, claims.vit") == {"numpy"}
    # ... and the SymPy layer is still there when asked for.
    assert loaded_after("from derivations import tensor_power as tp\nstr(tp.HIT_UPPER)") == {"numpy", "sympy"}
    assert loaded_after("from derivations import two_stage as ts\nts.spectral_B([3.0, 1.0], 1, [1.0])") \
        == {"numpy", "sympy"}
