"""Command-line interface (the contract of DESIGN.md: commands, flags, exit codes and JSON fields).

Exit status: 0 when every claim run comes out as its expected verdict with its negative control refuted;
1 when any differs, is inconclusive or errored; 2 on bad input, with a one-line message.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from . import paths, registry
from .formatting import fmt as _fmt
from .regime import TIERS, RegimeError, parse_assignments

EXIT_OK, EXIT_FAIL, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage block
        raise RegimeError(message)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer; allowed: an integer >= 1") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not allowed; allowed: an integer >= 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; allowed: a number > 0") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not allowed; allowed: a finite number > 0")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="theorycheck", description="Check theory papers on self-supervised pre-training "
                                                "against exact simulations of their idealised models.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("list", help="list registered claims")
    s.add_argument("--json", action="store_true", help="print JSON")

    s = sub.add_parser("predict", help="print a claim's prediction")
    s.add_argument("claim")
    s.add_argument("--set", action="append", metavar="NAME=VALUE", default=[])
    s.add_argument("--tier", choices=TIERS, default="quick")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("verify", help="measure claims over seeds and give verdicts")
    s.add_argument("claims", nargs="*", metavar="CLAIM", help="ids or prefixes (default: all)")
    s.add_argument("--tier", choices=TIERS, default="quick")
    s.add_argument("--seeds", type=_positive_int, help="replicates per claim (default: the claim's, per tier)")
    s.add_argument("--seed", type=_int, default=None, help="root of the SeedSequence of every replicate")
    s.add_argument("--set", action="append", metavar="NAME=VALUE", default=[])
    s.add_argument("--json", metavar="PATH|-", help="write result rows as JSON ('-' for stdout)")
    s.add_argument("--out", metavar="DIR", help="results store: resumes, and keeps what finished")
    s.add_argument("--workers", type=_positive_int, default=1, help="local worker processes")
    s.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address, or 'local' for a LocalCluster on 127.0.0.1 "
                        "(--workers N workers; one per core when --workers is not given)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")

    s = sub.add_parser("plot", help="draw claims' bound-versus-empirical figures and each family's summary")
    s.add_argument("claims", nargs="+", metavar="CLAIM", help="ids or prefixes ('vit' draws every vit.* claim)")
    s.add_argument("--out", metavar="FILE|DIR", help="a .png, .pdf or .svg file for one claim (default: CLAIM.png); "
                        "a directory for several (default: figures/): CLAIM.png and .pdf per claim and "
                        "FAMILY.summary.png and .pdf")
    s.add_argument("--set", action="append", metavar="NAME=VALUE", default=[])
    s.add_argument("--tier", choices=TIERS, default="quick")
    s.add_argument("--seed", type=_int, default=None, help="root of the SeedSequence of every replicate")
    s.add_argument("--seeds", type=_positive_int, help="replicates per claim (default: the claim's, per tier)")
    s.add_argument("--store", metavar="DIR", help="results store (verify --out DIR): stored replicates are reused, "
                          "new ones kept")
    s.add_argument("--rows", metavar="JSON", help="draw from the recorded verify rows in this file (verify --json "
                        "PATH) instead of running the claims; their own figures (Claim.plot) are left out")
    s.add_argument("--no-detail", action="store_true", help="leave out the claim's own figure (Claim.plot)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")

    s = sub.add_parser("bench", help="time the simulation kernels as ratios against references")
    s.add_argument("models", nargs="*", metavar="MODEL")
    s.add_argument("--json", metavar="PATH|-")
    s.add_argument("--quick", action="store_true", help="small shapes (a smoke run)")

    s = sub.add_parser("rejudge", help="judge recorded limit rows again from their replicate values (no rerun)")
    s.add_argument("rows", metavar="ROWS", help="a JSON file of verify rows (verify --json PATH)")
    s.add_argument("--json", metavar="PATH|-", help="write every row, the limit rows judged again ('-' for stdout; "
                        "PATH may be ROWS, replaced whole)")

    s = sub.add_parser("report", help="write a self-contained HTML report of a results store")
    s.add_argument("dir", metavar="DIR", help="a directory written by 'verify --out DIR'")
    s.add_argument("--out", metavar="FILE", help="HTML file (default: DIR/report.html)")

    s = sub.add_parser("new", help="scaffold a lemma or a paper: derivation, simulation, claim with its control, tests")
    s.add_argument("kind", choices=("lemma", "paper"))
    s.add_argument("name", metavar="NAME", help="lowercase identifier (the module names)")

    s = sub.add_parser("explore", help="search a claim's regime for settings where it is refuted")
    s.add_argument("claim")
    s.add_argument("--budget", type=_positive_int, default=20, help="parameter settings to try")
    s.add_argument("--outside-regime", action="store_true",
                   help="also search just past each assumption, one relaxed at a time")
    s.add_argument("--json", metavar="PATH|-")
    s.add_argument("--out", metavar="DIR", help="results store (counterexamples persist there)")
    s.add_argument("--seeds", type=_positive_int, help="replicates per setting (default: the claim's quick tier)")
    s.add_argument("--seed", type=_int, default=None)
    s.add_argument("--time-limit", type=_positive_float, default=None, metavar="SECONDS",
                   help="wall-clock limit per claim (half to the regime, the rest shared by the assumptions)")
    s.add_argument("--eval-timeout", type=_positive_float, default=None, metavar="SECONDS",
                   help="stop one setting past this and count it as an error")
    s.add_argument("--shrink-budget", type=_positive_int, default=None, metavar="N",
                   help="settings spent shrinking a counterexample (default: the budget)")
    s.add_argument("--figure", metavar="PATH",
                   help="predicted against measured over the drawn settings, with the band, coloured by verdict "
                        "(default: DIR/explore_CLAIM_agreement.png; with several claims the id is added to PATH)")
    s.add_argument("--quiet", action="store_true")
    return p


# ---------------------------------------------------------------------------------------------- commands
def _warn_broken() -> None:
    """One line on stderr per claims module that failed to import (its claims are absent)."""
    for line in registry.broken_lines():
        print(f"theorycheck: warning: {line}", file=sys.stderr)


def cmd_list(args) -> int:
    rows = [c.describe() for c in registry.all_claims()]
    _warn_broken()
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    for role, title in (("theorem", "Theorem claims"), ("consistency", "Consistency checks (tests of the "
                                                                        "simulator or of an identity; never "
                                                                        "counted as verified theorems)")):
        group = [r for r in rows if r["role"] == role]
        if not group:
            continue
        print(f"{title}:")
        for r in group:
            exp = {t: v for t, v in r["expected_by_tier"].items() if t in r["tiers"]}
            only = "" if len(exp) > 1 else f"{next(iter(exp))} tier only"
            if set(exp.values()) == {"verified"}:
                tag = f"  [{only}]" if only else ""
            elif len(set(exp.values())) == 1:
                tag = f"  [expected {next(iter(exp.values()))}{', ' + only if only else ''}]"
            else:
                tag = f"  [expected quick {exp['quick']}, full {exp['full']}]"
            print(f"  {r['claim']:<42} {r['kind']:<12} {r['statement']}{tag}")
            if r["assumption"]:
                print(f"  {'':<42} assumes: {r['assumption']}")
        print()
    return EXIT_OK


def _calibration(claim, params, tier):
    """The calibration summary of an ``independent_runs`` claim (its calibration runs, in this process)."""
    if claim.calibrate is None:
        return None
    from .runner import run_calibration

    calibration, error = run_calibration(claim, params, int(claim.calibration_seeds[tier]))
    if error:
        raise RuntimeError(f"{claim.id}: {error}")
    return calibration


def cmd_predict(args) -> int:
    claim = registry.get(args.claim)
    params = claim.regime.resolve(args.tier, texts=parse_assignments(args.set))
    from .runner import _jsonable

    calibration = _calibration(claim, params, args.tier)
    pred = _jsonable(claim.prediction(params, calibration))
    row = {"claim": claim.id, "kind": claim.kind, "comparison": claim.comparison, "predicted": pred,
           "tolerance": claim.tolerance.width(pred), "tolerance_reason": claim.tolerance_reason,
           "prediction_source": claim.prediction_source, "params": params,
           "negative_control": {"label": claim.negative_label,
                                "predicted": _jsonable(claim.control(params, calibration))}}
    if calibration is not None:
        row["calibration"] = {"label": claim.calibration_label, "mean": calibration.mean,
                              "ci_low": calibration.ci_low, "ci_high": calibration.ci_high,
                              "seeds": calibration.seeds}
    if args.json:
        print(json.dumps(row, indent=2))
    else:
        print(f"{claim.id}: predicted {_fmt(pred)} ({claim.kind}, {claim.comparison}, "
              f"tolerance {claim.tolerance.describe()}; {claim.prediction_source})")
        if calibration is not None:
            print(f"  from {calibration.seeds} independent runs: {claim.calibration_label} = {_fmt(calibration.mean)} "
                  f"[{_fmt(calibration.ci_low)}, {_fmt(calibration.ci_high)}]")
    return EXIT_OK


def _row_line(r) -> str:
    ci = "-" if r["ci_low"] is None else f"[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]"
    dist = r.get("control_distance")
    dist = "-" if dist is None else ("inf" if dist == math.inf else f"{dist:.2g}")
    pos = r.get("positive_control")
    ctrl = r["negative_control"]["verdict"] + ("" if pos is None else f"/{pos['verdict'][:5]}")
    return (f"{r['claim']:<40} {r['verdict']:<12} {r['expected']:<9} {_fmt(r['predicted']):>14} "
            f"{_fmt(r['measured']):>10} {ci:>24} {_fmt(r.get('resolution')):>9} {ctrl:<15} {dist:>5} "
            f"{r['elapsed_s']:6.1f}s")


def _print_table(rows) -> None:
    head = (f"{'claim':<40} {'verdict':<12} {'expected':<9} {'predicted':>14} {'measured':>10} {'95% CI':>24} "
            f"{'resol.':>9} {'neg/pos ctrl':<15} {'dist':>5} {'time':>7}")
    findings = []
    for role, title in (("theorem", None), ("consistency", "Consistency checks (not theorem verifications):")):
        group = [r for r in rows if r.get("role", "theorem") == role]
        if not group:
            continue
        if title:
            print(f"\n{title}")
        print(head)
        print("-" * len(head))
        for r in group:
            print(_row_line(r))
            if r.get("error"):
                print(f"    error: {r['error']}")
            if r.get("ladder") and r.get("window"):
                means = ", ".join(f"{_fmt(g['size'])}: {_fmt(g['mean'])}" for g in r["ladder"])
                print(f"    limit extrapolated over {r['window']['rule']} ({r.get('fit', {}).get('model')}); "
                      f"rung means {means}")
            if r.get("event_failures"):
                print(f"    the theorem's event ({r['event_label']}) failed in {r['event_failures']} of {r['seeds']} "
                      f"replicates, left out of the interval")
            if r["expected"] != "verified" and r["verdict"] == r["expected"]:
                findings.append(r)
    print("\nresol.: the smallest shift of the prediction these seeds would refute; dist: the negative control's "
          "distance from the band edge in tolerance units.")
    if findings:
        print("\nDocumented findings (the project expects these verdicts):")
        for r in findings:
            print(f"  {r['claim']}: {r['finding']}")


def cmd_verify(args) -> int:
    from . import backends
    from .runner import DEFAULT_ROOT, row_ok, verify_claim

    paths.check_json_target(args.json)
    if args.out:
        paths.check_output_dir(args.out, "--out")
    paths.check_scheduler(args.scheduler)
    claims, skipped = registry.select_at_tier(args.claims, args.tier)
    _warn_broken()
    if skipped:
        print(registry.skipped_note(skipped, args.tier), file=sys.stderr)
    plans = registry.plan(claims, skipped, parse_assignments(args.set), args.tier)
    root = DEFAULT_ROOT if args.seed is None else args.seed
    store = None
    if args.out:
        from .store import Store

        store = Store(args.out)
    backend = backends.make_backend(args.workers, args.scheduler)
    rows = []
    try:
        for claim, params in plans:
            n = args.seeds or int(claim.seeds[args.tier])
            rows.append(verify_claim(claim, params, n, root, backend=backend, store=store,
                                     progress=not args.quiet, tier=args.tier))
    except KeyboardInterrupt:
        print("interrupted: finished replicates are kept in the store" if store else "interrupted",
              file=sys.stderr)
        return EXIT_FAIL
    finally:
        backend.close()
        if store is not None:
            store.close()
    _emit(rows, args)
    return EXIT_OK if all(row_ok(r) for r in rows) else EXIT_FAIL


def _emit(rows, args) -> None:
    from .store import provenance

    for r in rows:
        r["provenance"] = provenance()
    public = [{k: v for k, v in r.items() if k != "extras"} for r in rows]
    if args.json == "-":
        print(json.dumps(public, indent=2, default=float))
    else:
        _print_table(rows)
        if args.json:
            Path(args.json).write_text(json.dumps(public, indent=2, default=float))
    if args.out:
        tmp = Path(args.out) / "results.json.tmp"
        tmp.write_text(json.dumps(rows, indent=2, default=float))
        tmp.replace(Path(args.out) / "results.json")


def cmd_plot(args) -> int:
    from .figures.command import run_cli

    return run_cli(args)


def cmd_bench(args) -> int:
    paths.check_json_target(args.json)
    benches = registry.benches()
    names = args.models or list(benches)
    for n in names:
        if n not in benches:
            raise RegimeError(f"unknown model {n!r}; allowed: {', '.join(benches) or 'none registered'}")
    rows = []
    for n in names:
        for row in benches[n](quick=args.quick):
            rows.append({"model": n, **row})
            if args.json != "-":
                ratios = ", ".join(f"{k}={'n/a' if v is None else f'{v:.2f}'}" for k, v in row.items()
                                   if k.startswith("ratio") or "exponent" in k or k == "replicate_seconds")
                ms = f"{row['seconds'] * 1e3:9.2f} ms" if "seconds" in row else " " * 12
                print(f"{n:<8} {row.get('case', ''):<28} {ms}  {ratios}")
    if args.json == "-":
        print(json.dumps(rows, indent=2))
    elif args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return EXIT_OK


def cmd_rejudge(args) -> int:
    """Judge the limit rows of a rows file again from the replicate values they record; other rows are kept."""
    from .limit import rejudge
    from .runner import row_ok

    paths.check_json_target(args.json)
    rows = paths.read_rows(args.rows)
    todo = [i for i, r in enumerate(rows) if r.get("kind") == "limit"]
    if not todo:
        raise RegimeError(f"ROWS {args.rows!r} holds no limit row; allowed: rows of kind 'limit' (their rung "
                          "values are recorded)")
    unknown = sorted({rows[i]["claim"] for i in todo if registry.lookup(rows[i]["claim"], load=True) is None})
    if unknown:
        raise RegimeError(f"ROWS {args.rows!r} has rows of unregistered claims {', '.join(unknown)}; allowed: "
                          "rows of registered claims (theorycheck list)")
    out = list(rows)
    try:
        for i in todo:
            out[i] = rejudge(registry.lookup(rows[i]["claim"]), rows[i])
    except (ValueError, KeyError, TypeError) as exc:
        raise RegimeError(str(exc) if isinstance(exc, ValueError) else
                          f"ROWS {args.rows!r}: a limit row is malformed ({type(exc).__name__}: {exc}); allowed: "
                          "rows written by verify --json") from None
    judged = [out[i] for i in todo]
    text = json.dumps(out, indent=2, default=float) + "\n"
    if args.json == "-":
        print(text, end="")
    else:
        _print_table(judged)
        print("\nBefore this judgement:")
        for r in judged:
            before = r["rejudged"]
            print(f"  {r['claim']}: was {before['verdict_before']} "
                  f"[{_fmt(before['interval_before'][0])}, {_fmt(before['interval_before'][1])}]")
        if args.json:
            tmp = Path(args.json).with_name(Path(args.json).name + ".tmp")
            tmp.write_text(text)
            tmp.replace(args.json)
    return EXIT_OK if all(row_ok(r) for r in judged) else EXIT_FAIL


def cmd_report(args) -> int:
    from .report import run_cli

    paths.check_input_dir(args.dir, "report DIR")
    if args.out:
        paths.check_output_file(args.out, "--out", create_parent=True)
    return run_cli(args)


def cmd_explore(args) -> int:
    from .explore import run_cli

    paths.check_json_target(args.json)
    if args.out:
        paths.check_output_dir(args.out, "--out")
    return run_cli(args)


def cmd_new(args) -> int:
    from .scaffold import scaffold

    written = scaffold(args.kind, args.name, Path.cwd())
    for path in written:
        print(path.relative_to(Path.cwd()))
    claim_id = f"lemma.{args.name}" if args.kind == "lemma" else f"{args.name}.mean_norm"
    print(f"next: theorycheck verify {claim_id}; python -m pytest -k {args.name}; then replace what the "
          f"comments marked REPLACE say (docs/extending.md)")
    return EXIT_OK


COMMANDS = {"list": cmd_list, "predict": cmd_predict, "verify": cmd_verify, "plot": cmd_plot, "bench": cmd_bench,
            "report": cmd_report, "explore": cmd_explore, "new": cmd_new, "rejudge": cmd_rejudge}


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except RegimeError as exc:
        print(f"theorycheck: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
