"""``theorycheck plot CLAIM|PREFIX ... [--out FILE|DIR]``: each claim's figure and, for several claims, the
summary of each family.

Every input is checked before any work (exit status 2, one line): the claims, the ``--set`` names and
values, and ``--out`` (a ``.png``/``.pdf``/``.svg`` file for one claim, or a writable directory).  Then the
claims run as ``verify`` runs them (at the tier's seeds, or ``--seeds``; ``--store DIR`` reuses the
replicates a ``verify --out DIR`` stored and keeps new ones there), and each row becomes a figure.  With
``--rows JSON`` nothing runs: each claim's recorded row in that file (``verify --json PATH``) is drawn.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .. import paths, registry
from ..regime import RegimeError, parse_assignments
from . import style

DIR_FORMATS = (".png", ".pdf")
DEFAULT_DIR = "figures"


def _probe(directory: Path, flag: str, value: str) -> None:
    """Create ``directory`` and write a probe file there: the permission bits alone do not tell (a
    privileged user passes ``os.access`` on a read-only or virtual file system)."""
    probe = directory / ".theorycheck-write-probe"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RegimeError(f"{flag} {value!r} is not writable ({exc.strerror or type(exc).__name__}); allowed: "
                          f"a writable directory or a .png, .pdf or .svg file in one") from None


def _target(args, claims) -> tuple[Path, bool]:
    """``(path, is_file)`` of ``--out`` after its checks."""
    out = args.out
    if out is None:
        out = f"{claims[0].id}.png" if len(claims) == 1 else DEFAULT_DIR
    suffix = Path(out).suffix.lower()
    if suffix in style.FORMATS:
        if len(claims) > 1:
            raise RegimeError(f"--out {out!r} is one file but {len(claims)} claims are selected; allowed: a "
                              f"directory for several claims")
        path = paths.check_output_file(out, "--out", create_parent=True, suffixes=style.FORMATS)
        _probe(path.absolute().parent, "--out", out)
        return path, True
    if suffix and not Path(out).is_dir():
        raise RegimeError(f"--out {out!r}: allowed file types are {', '.join(style.FORMATS)} (or a directory)")
    path = paths.check_output_dir(out, "--out")
    _probe(path, "--out", out)
    return path, False


def _recorded_rows(args, claims) -> dict | None:
    """``--rows JSON``: the recorded row of every selected claim at ``--tier``, checked before any drawing
    (``None`` without ``--rows``).  It draws what was run, so nothing that would run is allowed with it."""
    if not getattr(args, "rows", None):
        return None
    clash = [flag for flag, value in (("--store", args.store), ("--seed", args.seed), ("--seeds", args.seeds))
             if value is not None] + (["--set"] if args.set else [])
    if clash:
        raise RegimeError(f"--rows draws recorded rows and runs nothing, so {', '.join(clash)} cannot go with it; "
                          "allowed: --rows with --out, --tier and --quiet")
    found: dict = {}
    for r in paths.read_rows(args.rows, "--rows"):
        if r["claim"] in found:
            raise RegimeError(f"--rows {args.rows!r} holds two rows of {r['claim']}; allowed: one row per claim")
        found[r["claim"]] = r
    missing = [c.id for c in claims if c.id not in found]
    if missing:
        raise RegimeError(f"--rows {args.rows!r} has no row of {', '.join(missing)}; allowed: claims whose rows "
                          "it holds")
    other = [f"{c.id} ({found[c.id].get('tier')})" for c in claims if found[c.id].get("tier") != args.tier]
    if other:
        raise RegimeError(f"--rows {args.rows!r}: the rows of {', '.join(other)} are not of the {args.tier} tier; "
                          "allowed: --tier as the rows were run")
    return {c.id: found[c.id] for c in claims}


def run_cli(args) -> int:
    """Exit 0 when every figure was written, 1 when one failed, 2 on bad input (before any work)."""
    from .. import backends
    from ..runner import DEFAULT_ROOT, verify_claim
    from .render import write_claim_figure, write_summaries

    claims, skipped = registry.select_at_tier(args.claims, args.tier)
    if skipped:
        print(registry.skipped_note(skipped, args.tier), file=sys.stderr)
    recorded = _recorded_rows(args, claims)
    plans = registry.plan(claims, skipped, parse_assignments(args.set), args.tier)
    out, is_file = _target(args, claims)
    store = None
    if args.store:
        _probe(paths.check_output_dir(args.store, "--store"), "--store", args.store)
        from ..store import Store

        store = Store(args.store)
    root = DEFAULT_ROOT if args.seed is None else args.seed
    backend = backends.InProcess()
    rows, failed = [], 0
    try:
        for claim, params in plans:
            if recorded is not None:
                row = recorded[claim.id]
            else:
                n = args.seeds or int(claim.seeds[args.tier])
                row = verify_claim(claim, params, n, root, backend=backend, store=store, progress=not args.quiet,
                                   tier=args.tier)
            rows.append(row)
            target = out if is_file else out / claim.id
            try:
                written, warning = write_claim_figure(claim, row, target, None if is_file else DIR_FORMATS,
                                                      detail=not args.no_detail and recorded is None)
            except Exception as exc:  # one claim's figure failing leaves the others
                failed += 1
                print(f"theorycheck: figure of {claim.id} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
                continue
            if warning:
                print(f"theorycheck: warning: {warning}", file=sys.stderr)
            for path in written:
                print(path)
    finally:
        backend.close()
        if store is not None:
            store.close()
    if not is_file and len(rows) > 1:
        name = args.claims[0].rstrip(".") if len(args.claims) == 1 else None
        for path in write_summaries(rows, out, DIR_FORMATS, name):
            print(path)
    return 1 if failed else 0
