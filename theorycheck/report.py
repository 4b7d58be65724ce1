"""``theorycheck report DIR``: a self-contained HTML report of a results store.

One HTML file, readable offline: no script, no external style sheet, font or image; every figure is an
embedded base64 PNG.  It holds

* the verdict table: each claim's verdict against its expectation, prediction, measured mean with its
  95 % interval, tolerance and negative control;
* one section per claim: the statement, source and assumption; its comparison figure first (drawn by
  :mod:`theorycheck.figures` from the stored row: replicates, interval, predicted band, controls), then
  its own figure, if any (``Claim.plot`` drawn with the same replicate seeds as the measurement); and the
  provenance of every number: the run that wrote the verdict (code version, git revision, package
  versions, platform, command line), the root seed and the seed of each replicate, and for each replicate
  its value, time, worker and run.

Figures are drawn at report time by the current code with the stored parameters and seeds, and cached in
``DIR/figures/`` under a key of (code version, claim, parameters, root, seeds), so a second report is fast.
"""
from __future__ import annotations

import base64
import hashlib
import html
import io
import sys
import time
from pathlib import Path
from typing import Any

from .formatting import control_distance_text, fmt
from .store import Store, claim_version, code_version, params_key

FIGURE_DIR = "figures"
VERDICT_COLOURS = {"verified": "#1b7f3b", "refuted": "#b3261e", "inconclusive": "#a15c00", "error": "#5c2a86"}

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:2em auto;
max-width:1400px;padding:0 1em;color:#1d1d1f;line-height:1.4}
.scroll{overflow-x:auto} table.verdicts{font-size:.8em} table.verdicts td{white-space:nowrap;vertical-align:middle}
h1{margin-bottom:.2em} h2{margin-top:2em;border-bottom:1px solid #ccc;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f5}
td.num{text-align:right;font-variant-numeric:tabular-nums;font-family:monospace;white-space:nowrap}
.badge{color:#fff;border-radius:.3em;padding:.05em .45em;font-weight:600;white-space:nowrap}
.ok{color:#1b7f3b;font-weight:600} .bad{color:#b3261e;font-weight:600}
.meta{color:#555;font-size:.9em} .stale{color:#a15c00;font-weight:600}
figure{margin:1em 0} figure img{max-width:100%;border:1px solid #eee}
details{margin:.5em 0} summary{cursor:pointer;color:#333}
code{background:#f3f3f5;padding:0 .2em;border-radius:.2em}
"""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _badge(verdict: str) -> str:
    colour = VERDICT_COLOURS.get(verdict, "#555")
    return f'<span class="badge" style="background:{colour}">{_e(verdict)}</span>'


def _anchor(claim_id: str) -> str:
    return "claim-" + claim_id.replace(".", "-")


def _when(t) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "–"


# ------------------------------------------------------------------------------------------ figures
def _figure_key(row) -> str:
    text = "|".join([code_version(), row["claim"], params_key(row["params"]), str(row["root_seed"]),
                     str(row["seeds"])])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _cached_png(cached: Path | None, draw) -> bytes:
    """PNG bytes of the figure ``draw()`` returns, read from / written to ``cached`` when given (atomically; a
    read-only store still gets its report)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if cached is not None and cached.exists():
        return cached.read_bytes()
    fig = draw()
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    finally:
        plt.close(fig)
    data = buf.getvalue()
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(cached)
        except OSError:
            pass
    return data


def claim_figure_png(claim, row, cache_dir: Path | None) -> bytes:
    """PNG bytes of ``claim.plot(params, rngs)`` with the row's parameters and replicate seeds (cached)."""
    from .backends import single_threaded
    from .runner import replicate_rngs

    def draw():
        with single_threaded():
            return claim.plot(row["params"], replicate_rngs(claim.id, row["root_seed"], int(row["seeds"])))

    cached = cache_dir / f"{row['claim']}-{_figure_key(row)}.png" if cache_dir is not None else None
    return _cached_png(cached, draw)


def _summary(rows) -> str:
    from .runner import row_ok

    n_ok = sum(row_ok(r) for r in rows)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    parts = ", ".join(f"{_badge(v)} {n}" for v, n in sorted(counts.items()))
    cls = "ok" if n_ok == len(rows) else "bad"
    theorems = [r for r in rows if r.get("role", "theorem") == "theorem"]
    verified = sum(r["verdict"] == "verified" for r in theorems)
    refuted = sum(r["verdict"] == "refuted" for r in theorems)
    n_cons = len(rows) - len(theorems)
    return (f'<p><span class="{cls}">{n_ok} of {len(rows)} checks as expected</span> '
            f"(verdict equals the expected one, the negative control and any competing theory are refuted, "
            f"any positive control is verified). Verdicts: {parts}.</p>"
            f"<p>Theorem claims: {verified} of {len(theorems)} verified, {refuted} refuted (documented "
            f"findings). Consistency checks (tests of the simulator or of an identity, never counted as "
            f"verified theorems): {n_cons}.</p>")


def _verdict_rows(rows, current: str) -> str:
    from .runner import row_ok

    body = []
    for r in rows:
        nc = r.get("negative_control") or {}
        pc = r.get("positive_control")
        stale = "" if r.get("stored_code_version") == claim_version(r["claim"]) else \
            ' <span class="stale" title="measured by other code than the current">(other code)</span>'
        ok = '<span class="ok">yes</span>' if row_ok(r) else '<span class="bad">no</span>'
        measured = fmt(r.get("measured"))
        if r.get("ci_low") is not None:
            measured += f" [{fmt(r.get('ci_low'))}, {fmt(r.get('ci_high'))}]"
        pos = "–" if pc is None else f'<span title="{_e(pc.get("label", ""))}">{_badge(pc.get("verdict", "error"))}</span>'
        body.append(
            f'<tr><td><a href="#{_anchor(r["claim"])}">{_e(r["claim"])}</a></td><td>{_e(r["kind"])}</td>'
            f'<td>{_badge(r["verdict"])}</td><td>{_e(r["expected"])}</td>'
            f'<td class="num">{_e(fmt(r.get("predicted")))}</td>'
            f'<td class="num">±{_e(fmt(r.get("tolerance")))}</td>'
            f'<td class="num">{_e(measured)}</td><td>{_e(r.get("interval", "student_t"))}</td>'
            f'<td class="num">{_e(fmt(r.get("resolution")))}</td>'
            f'<td title="{_e(nc.get("label", ""))}">{_badge(nc.get("verdict", "error"))}</td>'
            f'<td class="num">{_e(control_distance_text(r))}</td><td>{pos}</td>'
            f'<td class="num">{r["seeds"]}</td><td class="num">{_e(fmt(r.get("elapsed_s")))}</td>'
            f'<td>{ok}</td><td><code>{_e(r.get("stored_code_version", "")[:8])}</code>{stale}</td></tr>')
    return "".join(body)


def _verdict_table(rows, current: str) -> str:
    head = ("<tr><th>claim</th><th>kind</th><th>verdict</th><th>expected</th><th>predicted</th>"
            "<th>tolerance</th><th>measured [95% CI]</th><th>interval</th>"
            "<th title=\"smallest shift of the prediction these seeds would refute\">resolution</th>"
            "<th>negative control</th><th title=\"the negative control's distance from the band edge\">"
            "control distance</th><th>positive control</th><th>seeds</th>"
            "<th>time (s)</th><th title=\"verdict as expected, controls as required\">ok</th>"
            "<th>code version</th></tr>")
    out = []
    theorems = [r for r in rows if r.get("role", "theorem") == "theorem"]
    checks = [r for r in rows if r.get("role", "theorem") != "theorem"]
    if theorems:
        out.append(f'<h2>Theorem claims</h2><div class="scroll"><table class="verdicts">{head}'
                   f'{_verdict_rows(theorems, current)}</table></div>')
    if checks:
        out.append(f'<h2>Consistency checks</h2><p class="meta">Checks of the simulator or of an identity that '
                   f'holds by construction: they must come out as expected, but they verify no theorem.</p>'
                   f'<div class="scroll"><table class="verdicts">{head}{_verdict_rows(checks, current)}'
                   f'</table></div>')
    return "".join(out)


def _kv_table(pairs) -> str:
    return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in pairs) + "</table>"


def _provenance(row) -> str:
    run = row.get("run") or {}
    versions = run.get("versions") or {}
    dirty = run.get("git_dirty")
    rev = run.get("git_revision") or "unknown (not a git checkout)"
    if dirty:
        rev = f"{rev} (with local changes; the code version identifies the source exactly)"
    pairs = [
        ("verdict written", _e(_when(row.get("finished_at")))),
        ("run", f"<code>{_e(run.get('run_id', '–'))}</code> started {_e(_when(run.get('started_at')))}"),
        ("command", f"<code>{_e(' '.join(run.get('argv') or []))}</code>"),
        ("code version", f"<code>{_e(row.get('stored_code_version', ''))}</code> (SHA-256 of the source of "
                         "theorycheck, derivations, simulations and claims)"),
        ("git revision", f"<code>{_e(rev)}</code>"),
        ("packages", _e(", ".join(f"{k} {v}" for k, v in versions.items() if v))),
        ("Python, platform, host", _e(f"{run.get('python', '–')}, {run.get('platform', '–')}, "
                                      f"{run.get('host', '–')}")),
        ("backend", _e(row.get("backend", "–"))),
        ("parameters", f"<code>{_e(params_key(row['params']))}</code>"),
        ("seeds", f"root {row['root_seed']}; replicate i uses <code>SeedSequence(entropy={row['root_seed']}, "
                  f"spawn_key=(crc32('{_e(row['claim'])}'), i))</code>, i = 0…{row['seeds'] - 1}"),
    ]
    return _kv_table(pairs)


def _replicates(row, measurements) -> str:
    by_index = {m["seed_index"]: m for m in measurements}
    head = ("<tr><th>seed i</th><th>value</th><th>time (s)</th><th>CPU (s)</th><th>finished</th><th>worker</th>"
            "<th>run</th></tr>")
    body = []
    values = row.get("values") or []
    for i in range(int(row["seeds"])):
        m = by_index.get(i)
        value = values[i] if i < len(values) else (m or {}).get("value")
        if m is None:
            body.append(f'<tr><td class="num">{i}</td><td class="num">{_e(fmt(value))}</td>'
                        f'<td colspan="5">not stored (the replicate failed)</td></tr>')
            continue
        body.append(f'<tr><td class="num">{i}</td><td class="num">{_e(fmt(m["value"]))}</td>'
                    f'<td class="num">{_e(fmt(m["elapsed_s"]))}</td><td class="num">{_e(fmt(m.get("cpu_s")))}</td>'
                    f'<td>{_e(_when(m["finished_at"]))}</td>'
                    f'<td>{_e(m.get("worker_host") or "–")} pid {_e(m.get("worker_pid") or "–")}</td>'
                    f'<td><code>{_e(m["run_id"][:12])}</code></td></tr>')
    return f"<table>{head}{''.join(body)}</table>"


def _claim_section(row, claim, figure_html: str, measurements) -> str:
    parts = [f'<h2 id="{_anchor(row["claim"])}">{_e(row["claim"])} {_badge(row["verdict"])}</h2>']
    if claim is not None:
        meta = [("statement", _e(claim.statement)), ("source", _e(claim.source))]
        if claim.assumption:
            meta.append(("assumption", _e(claim.assumption)))
        meta.append(("tolerance", _e(claim.tolerance.describe())
                     + (f" — {claim.tolerance_reason}" if claim.tolerance_reason else "")))
    else:
        meta = [("claim", "not registered in this installation: figure and statement unavailable")]
    nc = row.get("negative_control") or {}
    if nc:
        meta.append(("negative control",
                     f"{_e(nc.get('label', ''))}: predicted {_e(fmt(nc.get('predicted')))} "
                     f"± {_e(fmt(nc.get('tolerance')))} → {_badge(nc.get('verdict', 'error'))}"))
    meta.append(("role, prediction", _e(f"{row.get('role', 'theorem')}; prediction {row.get('prediction_source', 'derived')}; "
                                        f"interval {row.get('interval', 'student_t')}; resolution "
                                        f"{fmt(row.get('resolution'))}; control distance {control_distance_text(row)}")))
    cal = row.get("calibration")
    if cal:
        meta.append(("calibration", _e(f"{cal.get('label', '')}: {fmt(cal.get('mean'))} [{fmt(cal.get('ci_low'))}, "
                                       f"{fmt(cal.get('ci_high'))}] from {cal.get('seeds')} independent runs")))
    for key, name in (("alternative", "competing theory"), ("positive_control", "positive control")):
        c = row.get(key)
        if c:
            meta.append((name, f"{_e(c.get('label', ''))}: predicted {_e(fmt(c.get('predicted')))} "
                               f"± {_e(fmt(c.get('tolerance')))} → {_badge(c.get('verdict', 'error'))}"))
    if row.get("event_label"):
        meta.append(("high-probability event", _e(f"{row['event_label']}: failed in {row.get('event_failures', 0)} of "
                                                  f"{row['seeds']} replicates (left out of the interval)")))
    if row.get("finding"):
        meta.append(("finding", _e(row["finding"])))
    if row.get("measured_label"):
        meta.append(("measured", _e(row["measured_label"])))
    if row.get("error"):
        meta.append(("error", f'<span class="bad">{_e(row["error"])}</span>'))
    parts.append(_kv_table(meta))
    parts.append(figure_html)
    parts.append("<h3>Provenance</h3>")
    parts.append(_provenance(row))
    parts.append(f"<details open><summary>Replicates ({row['seeds']}; {row.get('reused', 0)} reused from "
                 f"earlier runs)</summary>{_replicates(row, measurements)}</details>")
    return "\n".join(parts)


def comparison_png(claim, row, cache_dir: Path | None) -> bytes:
    """PNG bytes of the claim's comparison figure drawn from its stored row (cached like the claim's own)."""
    from .figures import comparison_figure

    cached = cache_dir / f"{row['claim']}-comparison-{_figure_key(row)}.png" if cache_dir is not None else None
    return _cached_png(cached, lambda: comparison_figure(row, claim))


def _img(png: bytes, claim_id: str, caption: str, what: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img class="claim-figure" alt="{what} of {_e(claim_id)}" '
            f'src="data:image/png;base64,{data}"><figcaption class="meta">{caption}</figcaption></figure>')


def _figure_html(row, claim, cache_dir) -> str:
    """The claim's comparison figure (drawn from its row, for every claim), then its own figure, if any."""
    parts = []
    try:
        png = comparison_png(claim, row, cache_dir)
        parts.append(_img(png, row["claim"], f"{_e(row['claim'])}: measured against predicted, from the stored row "
                                             f"({row['seeds']} replicates of root {row['root_seed']})",
                          "comparison figure"))
    except Exception as exc:  # a figure that cannot be drawn is reported, not fatal
        parts.append(f'<p class="bad">The comparison figure could not be drawn: {_e(type(exc).__name__)}: '
                     f'{_e(exc)}</p>')
    if claim is None or claim.plot is None:
        parts.append('<p class="meta">This claim has no figure of its own.</p>')
        return "".join(parts)
    try:
        png = claim_figure_png(claim, row, cache_dir)
    except Exception as exc:  # a figure that cannot be drawn is reported, not fatal
        parts.append(f'<p class="bad">The figure could not be drawn: {_e(type(exc).__name__)}: {_e(exc)}</p>')
        return "".join(parts)
    caption = (f"{_e(row['claim'])}: Claim.plot with the stored parameters and the {row['seeds']} replicate "
               f"seeds of root {row['root_seed']}, drawn by code version {_e(code_version())}")
    parts.append(_img(png, row["claim"], caption, "figure"))
    return "".join(parts)


# ------------------------------------------------------------------------------------------ the page
def build_report(directory, figures: bool = True, log=None) -> str:
    """The HTML text of the report of the store in ``directory``."""
    from . import registry

    store = Store(directory, readonly=True)
    try:
        rows = store.latest_results()
        measurements = store.table("measurements")
    finally:
        store.close()
    current = code_version()
    claims: dict[str, Any] = {}
    load_error = None
    try:
        registry.load_plugins()
    except Exception as exc:  # a broken claim module must not stop the report
        load_error = f"{type(exc).__name__}: {exc}"
    for r in rows:
        try:
            claims[r["claim"]] = registry.get(r["claim"])
        except Exception:
            claims[r["claim"]] = None
    cache_dir = Path(directory) / FIGURE_DIR
    sections = []
    for r in rows:
        mine = [m for m in measurements if m["claim"] == r["claim"] and m["root_seed"] == r["root_seed"]
                and m["code_version"] == r.get("stored_code_version") and m["params"] == r["params"]]
        if log:
            log(f"report: {r['claim']}")
        fig = _figure_html(r, claims[r["claim"]], cache_dir) if figures else ""
        sections.append(_claim_section(r, claims[r["claim"]], fig, mine))
    notes = []
    if load_error:
        notes.append(f'<p class="bad">Claim modules could not all be loaded ({_e(load_error)}); '
                     f"figures of the missing claims are omitted.</p>")
    if not rows:
        notes.append("<p>The store holds no verdicts yet.</p>")
    title = f"theorycheck report: {Path(directory).resolve().name}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{_e(title)}</title><style>{CSS}</style></head>
<body>
<h1>{_e(title)}</h1>
<p class="meta">Generated {_e(_when(time.time()))} by theorycheck code version <code>{_e(current)}</code>
from <code>{_e(Path(directory).name)}/results.sqlite</code>: the latest verdict of each claim, parameters
and seed count. Verdict: the 95% interval of the measured statistic (Student-t over independent seeds; for
proportions, the hull of the Wilson interval of the pooled counts and the seeds' t interval) against the
band [predicted − tol, predicted + tol] (estimates; one side for bounds): verified if inside, refuted if
wholly outside, inconclusive otherwise. Resolution: the smallest shift of the prediction that the same
interval would refute; control distance: how far the negative control sits past the band edge.</p>
{''.join(notes)}
{_summary(rows) if rows else ''}
{_verdict_table(rows, current) if rows else ''}
{''.join(f'<section>{s}</section>' for s in sections)}
</body></html>
"""


def write_report(directory, out=None, figures: bool = True, log=None) -> Path:
    """Write the report of ``directory`` to ``out`` (default ``DIR/report.html``) atomically."""
    text = build_report(directory, figures=figures, log=log)
    out = Path(out) if out else Path(directory) / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out


def run_cli(args) -> int:
    """``theorycheck report DIR [--out FILE]``: exit 0 when written (2, with a message, on a bad DIR)."""
    from .regime import RegimeError

    if not Path(args.dir).is_dir():
        raise RegimeError(f"{args.dir!r} is not a directory; give the DIR of 'theorycheck verify --out DIR'")
    out = write_report(args.dir, getattr(args, "out", None),
                       log=lambda m: print(m, file=sys.stderr) if sys.stderr.isatty() else None)
    print(out)
    return 0
