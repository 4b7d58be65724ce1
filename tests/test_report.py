"""``theorycheck report DIR``: a self-contained HTML report with the verdict table, every figure and the
provenance of each number, checked as text and in a real headless browser."""
import base64
import re
import shutil
import subprocess

import numpy as np
import pytest

import helpers_planted as planted
from theorycheck import registry, runner
from theorycheck.cli import main
from theorycheck.report import build_report, write_report
from theorycheck.store import Store

CHROMIUM = shutil.which("chromium")
PLANTED = (planted.GRAM, planted.GRAM_CYAN, planted.MEAN_SQUARE)
MAGENTA, CYAN = (1.0, 0.0, 1.0), (0.0, 0xE0 / 255, 0xE0 / 255)


@pytest.fixture
def planted_registry(monkeypatch):
    """The planted claims, and only them: the report must not depend on the paper modules."""
    monkeypatch.setattr(registry, "_loaded", True)
    for c in PLANTED:
        registry.register(c)
    yield
    for c in PLANTED:
        registry.unregister(c.id)


@pytest.fixture
def store_dir(tmp_path, planted_registry):
    out = tmp_path / "store"
    rows = {}
    with Store(out) as st:
        rows["gram"] = runner.verify_claim(planted.GRAM, {"n": 40, "d": 20_000}, 5, store=st, progress=False)
        rows["cyan"] = runner.verify_claim(planted.GRAM_CYAN, {"n": 40, "d": 20_000}, 4, store=st, progress=False)
        rows["ms"] = runner.verify_claim(planted.MEAN_SQUARE, {"n": 8}, 3, store=st, progress=False)
    return out, rows


def _images(text):
    return re.findall(r'<img class="claim-figure" alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)


def test_report_holds_the_verdict_table_every_figure_and_provenance(store_dir):
    out, rows = store_dir
    text = build_report(out)
    table = text.split('<table class="verdicts">')[1].split("</table>")[0]
    assert table.count("<tr>") == 4  # header and one row per claim
    for row in rows.values():
        assert f'href="#claim-{row["claim"].replace(".", "-")}"' in table
    assert "3 of 3 checks as expected" in text
    pngs = [base64.b64decode(b) for b in _images(text)]
    # a comparison figure for each of the three claims, and the two claims' own figures
    assert len(pngs) == 5 and all(p[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert "This claim has no figure of its own." in text  # mean_square has none
    for row in rows.values():  # each section shows the claim's comparison first
        section = text.split(f'<h2 id="claim-{row["claim"].replace(".", "-")}">')[1].split("<section>")[0]
        alts = re.findall(r'<img class="claim-figure" alt="([^"]*)"', section)
        assert alts[0] == f"comparison figure of {row['claim']}", alts
    run = Store(out, readonly=True)
    try:
        run_id = run.table("runs")[0]["run_id"]
        meas = run.table("measurements")
    finally:
        run.close()
    assert text.count(run_id) >= 3
    for m in meas:  # every replicate's value is in the report
        assert f'<td class="num">{m["seed_index"]}</td><td class="num">{float(m["value"]):.4g}</td>' in text
    assert "spawn_key=(crc32('planted.gram'), i)" in text and "numpy" in text


def test_report_is_self_contained(store_dir):
    text = build_report(store_dir[0])
    assert "<script" not in text and "<link" not in text
    srcs = re.findall(r'(?:src|href)="([^"]*)"', text)
    assert srcs and all(s.startswith(("data:image/png;base64,", "#")) for s in srcs)


def test_figures_are_cached_and_reused(store_dir, monkeypatch):
    out, _ = store_dir
    first = build_report(out)
    assert len(list((out / "figures").glob("*.png"))) == 5

    def boom(*args, **kwargs):
        raise AssertionError("the cached figure should have been used")

    import theorycheck.figures

    monkeypatch.setattr(planted.GRAM, "plot", boom)
    monkeypatch.setattr(planted.GRAM_CYAN, "plot", boom)
    monkeypatch.setattr(theorycheck.figures, "comparison_figure", boom)
    assert _images(build_report(out)) == _images(first)


def test_a_figure_that_fails_is_reported_not_fatal(store_dir, monkeypatch):
    out, _ = store_dir

    def broken(params, rngs):
        raise ValueError("no data to draw")

    monkeypatch.setattr(planted.GRAM_CYAN, "plot", broken)
    text = build_report(out, figures=True)
    assert "The figure could not be drawn: ValueError: no data to draw" in text
    assert len(_images(text)) == 4  # the three comparison figures and GRAM's own


def test_report_of_an_older_code_version_says_so(store_dir, monkeypatch):
    from theorycheck import report

    monkeypatch.setattr(report, "claim_version", lambda claim_id: "feedfeedfeedfeed")
    assert build_report(store_dir[0]).count("(other code)") == 3


def test_cli_report_writes_the_file_and_refuses_a_bad_dir(store_dir, tmp_path, capsys):
    out, _ = store_dir
    assert main(["report", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out / "report.html")
    assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")
    target = tmp_path / "elsewhere" / "r.html"
    assert main(["report", str(out), "--out", str(target)]) == 0 and target.exists()
    assert main(["report", str(tmp_path / "missing")]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert "holds no results store" in capsys.readouterr().err


def _chromium(*args, tmp_path):
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--hide-scrollbars", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_report_renders_every_figure_in_headless_chromium(store_dir, tmp_path):
    import matplotlib.image

    out, _ = store_dir
    html_path = write_report(out)

    # 1. The browser decodes every embedded image: a copy of the page with a probe script that writes
    #    the count of decoded images into the DOM, read back with --dump-dom.
    probe = tmp_path / "probe.html"
    probe.write_text(html_path.read_text().replace("</body>", """<script>
window.addEventListener('load', () => {
  const imgs = [...document.querySelectorAll('img.claim-figure')];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 100 && i.naturalHeight > 100).length;
  document.body.setAttribute('data-decoded', ok + '/' + imgs.length);
});
</script></body>"""))
    dom = _chromium("--virtual-time-budget=10000", "--dump-dom", probe.as_uri(), tmp_path=tmp_path)
    assert 'data-decoded="5/5"' in dom.stdout, dom.stderr[-2000:]

    # 2. A screenshot of the report itself shows both figures' colours.
    shot = tmp_path / "report.png"
    res = _chromium(f"--screenshot={shot}", "--window-size=1280,4000", html_path.as_uri(), tmp_path=tmp_path)
    assert shot.exists(), res.stderr[-2000:]
    pixels = matplotlib.image.imread(shot)[..., :3]
    for colour in (MAGENTA, CYAN):
        close = np.all(np.abs(pixels - np.array(colour)) < 0.05, axis=-1)
        assert close.sum() > 2000, f"figure colour {colour} is missing from the screenshot"
    white = np.all(pixels > 0.98, axis=-1).mean()
    assert white < 0.97  # not a blank page
