"""The README: its two opening commands, CI running the test command, fresh results tables, and a link to
the fresh claim table in docs/claims.md."""
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


def test_claim_table_is_fresh_in_docs_and_linked_from_the_readme():
    text = (ROOT / "docs" / "claims.md").read_text()
    assert readme.BEGIN in text and readme.END in text
    assert readme.render(text, ROOT) == text, "docs/claims.md is stale: run `python -m theorycheck.readme`"
    front = (ROOT / "README.md").read_text()
    assert "](docs/claims.md)" in front and readme.BEGIN not in front


def test_readme_results_tables_are_fresh():
    text = (ROOT / "README.md").read_text()
    assert readme.render(text, ROOT) == text, "README results are stale: run `python -m theorycheck.readme`"


def test_check_mode_reports_a_stale_file(tmp_path, monkeypatch, capsys):
    (tmp_path / "README.md").write_text("# x\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "claims.md").write_text(f"{readme.BEGIN}\nSTALE-ROW\n{readme.END}\n")
    monkeypatch.chdir(tmp_path)
    assert readme.main(["--check"]) == 1 and "docs/claims.md" in capsys.readouterr().err
    assert readme.main([]) == 0 and readme.main(["--check"]) == 0
    assert "STALE-ROW" not in (tmp_path / "docs" / "claims.md").read_text()


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
