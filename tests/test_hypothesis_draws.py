"""The suite's Hypothesis draws are the same whichever modules a run has imported (see ``conftest``)."""
import importlib

from hypothesis import given, settings
from hypothesis import strategies as st


def _draws():
    out = []

    @settings(derandomize=True, max_examples=40, database=None)
    @given(st.floats(0, 1000), st.integers(0, 10 ** 6))
    def collect(x, n):
        out.append((x, n))

    collect()
    return out


def test_drawn_examples_do_not_depend_on_the_imported_modules(tmp_path, monkeypatch):
    before = _draws()
    (tmp_path / "constants_probe.py").write_text("SCALE = 271.828125\nCOUNT = 314159\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("constants_probe")
    after = _draws()
    assert after == before
    assert all(x != 271.828125 and n != 314159 for x, n in after)
