"""The README: its two opening commands, CI running the test command, and a fresh claim table."""
import re
from pathlib import Path

from theorycheck import readme

ROOT = Path(__file__).resolve().parents[1]


def _opening_commands():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block and text.index(block.group(0)) < text.index("\n## "), "README must open with the commands"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_commands():
    first, second = _opening_commands()
    assert "pip install -e ." in first and "theorycheck verify" in first and "--tier full" not in first
    assert '".[test]"' in second and "pytest" in second


def test_ci_runs_the_readme_test_command():
    _, test_command = _opening_commands()
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()


def test_claim_table_is_fresh():
    text = (ROOT / "README.md").read_text()
    assert readme.render(text, ROOT) == text, "claim table is stale: run `python -m theorycheck.readme`"


def test_claim_table_lists_every_claim():
    from theorycheck import registry

    table = readme.claim_table()
    for claim in registry.all_claims():
        assert f"`{claim.id}`" in table


def test_results_tables_render_recorded_rows(tmp_path):
    rows = [{"claim": "fam.a", "role": "theorem", "verdict": "verified", "expected": "verified", "predicted": 0.5,
             "tolerance": 0.1, "measured": 0.52, "ci_low": 0.5, "ci_high": 0.54, "interval": "student_t",
             "resolution": 0.14, "control_distance": 1.5, "control_distance_unit": "tolerance", "seeds": 8,
             "negative_control": {"label": "0.75", "verdict": "refuted"}},
            {"claim": "other.b", "role": "theorem", "verdict": "verified", "expected": "verified"}]
    import json

    (tmp_path / "run.json").write_text(json.dumps(rows))
    text = (f"{readme.BEGIN}\n{readme.END}\n<!-- results:begin run.json fam -->\nold\n<!-- results:end -->\n")
    out = readme.render(text, tmp_path)
    assert "| `fam.a` | verified (verified) | 0.5 ± 0.1 | 0.52 [0.5, 0.54] | student_t | 0.14 | 0.75: refuted " \
           "(1.5 tol) | – | 8 |" in out
    assert "other.b" not in out.split(readme.END)[1] and "\nold\n" not in out
