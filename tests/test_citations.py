"""Every citation of a paper note (``docs/papers/X.md §N [ID]``) resolves: the note exists, it has a heading
for each cited section, and a cited check ID (``C6``, ``T-MAE-1``) appears in that section."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAPERS = ROOT / "docs" / "papers"
SCANNED_DIRS = ("claims", "derivations", "simulations", "theorycheck", "docs", "studies", "tests")
SKIPPED_PARTS = {".venv", "__pycache__", ".git", "build", "dist"}

CITATION = re.compile(r"docs/papers/([\w-]+)\.md")
SECTION = r"§([0-9]+(?:\.[0-9]+)*[a-z]?)"
CHAIN = re.compile(rf"`*[ \t]*{SECTION}((?:\s*(?:,|-|–|and|/)\s*{SECTION})*)")
CHECK_ID = re.compile(r"[ \t]+(C[0-9]+|T-[A-Za-z]+(?:-[0-9]+)?)\b")
HEADING = re.compile(r"^#+\s+§([0-9]+(?:\.[0-9]+)*[a-z]?)\b")
STALE = re.compile(r"shared/spec/|[Ss]pec:? ``(?:mrp|vit|two_stage)\.md``|spec (?:mrp|vit|two_stage)\.md")


def scanned_files():
    """The repository's Python and Markdown sources (this test excluded: it holds example citations)."""
    files = [p for p in ROOT.glob("*.md")]
    for d in SCANNED_DIRS:
        files += [p for p in (ROOT / d).rglob("*") if p.suffix in (".py", ".md")]
    return sorted(p for p in files if p.is_file() and not SKIPPED_PARTS & set(p.parts)
                  and p.resolve() != Path(__file__).resolve())


def sections(note: str) -> dict[str, str]:
    """``{section number: its text up to the next heading of the same or a higher level}``."""
    lines = note.splitlines()
    heads = [(i, len(line) - len(line.lstrip("#")), HEADING.match(line).group(1))
             for i, line in enumerate(lines) if HEADING.match(line)]
    out = {}
    for k, (i, level, number) in enumerate(heads):
        end = next((j for j, lv, _ in heads[k + 1:] if lv <= level), len(lines))
        out[number] = "\n".join(lines[i:end])
    return out


def citations(text: str):
    """``(note name, [section numbers], check ID or None)`` for every citation of a note in ``text``."""
    for m in CITATION.finditer(text):
        chain = CHAIN.match(text, m.end())
        if not chain:
            yield m.group(1), [], None
            continue
        numbers = [chain.group(1)] + re.findall(SECTION, chain.group(2))
        check = CHECK_ID.match(text, chain.end())
        yield m.group(1), numbers, check.group(1) if check else None


def unresolved(text: str, notes: dict[str, dict[str, str]]) -> list[str]:
    """The citations in ``text`` that do not resolve, each as a one-line reason."""
    bad = []
    for name, numbers, check in citations(text):
        if name not in notes:
            bad.append(f"docs/papers/{name}.md does not exist")
            continue
        for number in numbers:
            if number not in notes[name]:
                bad.append(f"docs/papers/{name}.md has no section §{number}")
        if check and numbers and numbers[-1] in notes[name]:
            ids = re.findall(r"C[0-9]+|T-[A-Za-z]+(?:-[0-9]+)?", notes[name][numbers[-1]])
            if check not in ids:
                bad.append(f"docs/papers/{name}.md §{numbers[-1]} does not mention {check}")
    return bad


@pytest.fixture(scope="module")
def notes():
    return {p.stem: sections(p.read_text(encoding="utf-8")) for p in PAPERS.glob("*.md")}


def test_every_paper_family_has_a_note(notes):
    assert {"mrp", "vit", "two_stage"} <= set(notes)
    for name, secs in notes.items():
        assert {"0", "1", "2"} <= set(secs), f"docs/papers/{name}.md lacks its numbered sections"


def test_every_citation_resolves(notes):
    found, bad = 0, []
    for path in scanned_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        found += sum(1 for _ in citations(text))
        bad += [f"{path.relative_to(ROOT)}: {reason}" for reason in unresolved(text, notes)]
    assert found >= 50, f"only {found} citations of docs/papers/ found: the scan misses the sources"
    assert not bad, "\n".join(bad)


def test_no_citation_of_the_notes_outside_the_repository():
    stale = []
    for path in scanned_files():
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if STALE.search(line):
                stale.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()[:100]}")
    assert not stale, "cite docs/papers/<paper>.md §N instead:\n" + "\n".join(stale)


def test_the_resolver_rejects_what_does_not_resolve(notes):
    assert unresolved("see docs/papers/mrp.md §4.4 C6 and docs/papers/vit.md §4 T-MAE-1.", notes) == []
    assert unresolved("docs/papers/two_stage.md §2-§5, ``docs/papers/vit.md`` §6.4's ratios", notes) == []
    assert unresolved("docs/papers/mrp.md §4.99", notes) == ["docs/papers/mrp.md has no section §4.99"]
    assert unresolved("docs/papers/mrp.md §5 C6", notes) == ["docs/papers/mrp.md §5 does not mention C6"]
    assert unresolved("docs/papers/nope.md §1", notes) == ["docs/papers/nope.md does not exist"]
    assert unresolved("docs/papers/vit.md §2.1-§2.9", notes) == ["docs/papers/vit.md has no section §2.9"]


def test_claims_named_in_the_notes_exist():
    from theorycheck import registry

    ids = {c.id for c in registry.all_claims()}
    named = {name: set(re.findall(r"`((?:lemma|mest|mrp|vit)\.[a-z0-9_.]*[a-z0-9_])`", p.read_text(encoding="utf-8")))
             for name, p in ((p.stem, p) for p in PAPERS.glob("*.md"))}
    assert sum(map(len, named.values())) >= 30
    missing = {name: sorted(c for c in cs if c not in ids) for name, cs in named.items()}
    assert not any(missing.values()), missing
