"""The registry of claims and benchmarks, filled by plug-in modules.

Claim modules are found through the ``theorycheck.claims`` entry-point group: each entry names a module
or a package, and every module of a package is imported.  A module registers what it defines with
:func:`register` (claims) and :func:`register_bench` (benchmarks), so adding a claim module to a
registered package needs no edit anywhere else.

A module that fails to import is isolated: it is recorded in :func:`broken` (module name and the error,
one line each), every other module's claims still register, and asking for a claim that matches nothing
names the broken modules in its one-line error.
"""
from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from importlib.metadata import entry_points
from typing import Callable

from .claim import Claim
from .regime import RegimeError

ENTRY_POINT_GROUP = "theorycheck.claims"
BUILTIN_BENCHES = ("theorycheck.sweep_bench",)

_CLAIMS: dict[str, Claim] = {}
_BENCHES: dict[str, Callable] = {}
_BROKEN: dict[str, str] = {}
_loaded = False


class UnknownClaim(RegimeError):
    """No registered claim matches a name or prefix (CLI exit status 2)."""


def register(claim: Claim) -> Claim:
    """Add a claim; a second claim with the same id is an error."""
    if claim.id in _CLAIMS and _CLAIMS[claim.id] is not claim:
        raise ValueError(f"claim {claim.id!r} is registered twice")
    _CLAIMS[claim.id] = claim
    return claim


def unregister(claim_id: str) -> None:
    _CLAIMS.pop(claim_id, None)


def register_bench(name: str, func: Callable) -> Callable:
    """Add a benchmark ``func(quick: bool) -> list[dict]`` under a model name (``theorycheck bench NAME``)."""
    _BENCHES[name] = func
    return func


def _error_line(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message (with the file and line of a
    syntax error)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, SyntaxError) and exc.filename:
        text = f"{exc.msg} ({exc.filename}, line {exc.lineno})"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _try_import(name: str):
    """Import a claims module; on failure record it in :data:`_BROKEN` and return None."""
    try:
        return importlib.import_module(name)
    except Exception as exc:  # any error of a plug-in module is isolated to that module
        _BROKEN[name] = _error_line(exc)
        for claim_id in [k for k, c in _CLAIMS.items() if getattr(c.measure, "__module__", None) == name]:
            del _CLAIMS[claim_id]  # registered before the module failed: half a module is not kept
        return None


def _import_tree(name: str) -> None:
    module = _try_import(name)
    if module is not None and hasattr(module, "__path__"):
        for info in pkgutil.walk_packages(module.__path__, prefix=module.__name__ + ".",
                                          onerror=lambda failed: None):
            if info.name not in _BROKEN and info.name not in sys.modules:
                _try_import(info.name)


def load_plugins() -> None:
    """Import every module named by the ``theorycheck.claims`` entry points (once)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        _import_tree(ep.value)
    for name in BUILTIN_BENCHES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


def broken() -> dict[str, str]:
    """``{module: error}`` of every claims module that failed to import."""
    load_plugins()
    return dict(_BROKEN)


def broken_lines() -> list[str]:
    """One line per claims module that failed to import, naming the module and the error."""
    return [f"claims module {name} failed to import: {error}" for name, error in broken().items()]


def all_claims() -> list[Claim]:
    load_plugins()
    return [_CLAIMS[k] for k in sorted(_CLAIMS)]


def lookup(claim_id: str, load: bool = False) -> Claim | None:
    """The registered claim with this id, or None; ``load`` imports the plug-in modules first."""
    if load:
        load_plugins()
    return _CLAIMS.get(claim_id)


def get(claim_id: str) -> Claim:
    load_plugins()
    try:
        return _CLAIMS[claim_id]
    except KeyError:
        raise UnknownClaim(f"unknown claim {claim_id!r}{_broken_note()}; see 'theorycheck list'") from None


def _broken_note() -> str:
    lines = broken_lines()
    return f" ({'; '.join(lines)})" if lines else ""


def select(patterns: list[str] | None) -> list[Claim]:
    """Claims matching full ids or dotted prefixes (``mrp`` selects every ``mrp.*``); all when empty."""
    claims = all_claims()
    if not patterns:
        return claims
    chosen: dict[str, Claim] = {}
    for pat in patterns:
        hits = [c for c in claims if c.id == pat or c.id.startswith(pat.rstrip(".") + ".")]
        if not hits:
            raise UnknownClaim(f"unknown claim {pat!r}: no claim id equals it or starts with '{pat}.'"
                               f"{_broken_note()}; see 'theorycheck list'")
        for c in hits:
            chosen[c.id] = c
    return list(chosen.values())


def select_at_tier(patterns: list[str] | None, tier: str) -> tuple[list[Claim], list[Claim]]:
    """:func:`select`, split into the claims judged at ``tier`` and those skipped there (``Claim.tiers``).

    A claim named by its full id that is not judged at ``tier`` is bad input, as is a selection of which no
    claim is judged at ``tier``.
    """
    chosen = select(patterns)
    named = set(patterns or ())
    for c in chosen:
        # a pattern that is this claim's id and also a prefix of other claims selects those as well
        also = any(o.id != c.id and o.id.startswith(c.id + ".") for o in chosen)
        if c.id in named and not also and not c.runs_at(tier):
            raise RegimeError(f"{c.id} is judged only at the {' and '.join(c.tiers)} tier (--tier {c.home_tier}), "
                              f"not at {tier}: {c.tiers_reason}")
    run = [c for c in chosen if c.runs_at(tier)]
    if chosen and not run:
        raise RegimeError(f"no selected claim is judged at the {tier} tier; --tier {chosen[0].home_tier} runs them")
    return run, [c for c in chosen if not c.runs_at(tier)]


def plan(claims: list[Claim], skipped: list[Claim], texts: dict, tier: str) -> list[tuple[Claim, dict]]:
    """``(claim, params)`` at ``tier`` for each claim, from the ``--set`` texts: a claim selected alone must know
    every name; of several, each takes the names it knows (an unknown name is one no selected claim knows,
    skipped ones included); a ladder's co-scaled parameters cannot be set."""
    unknown = set(texts) - {n for c in list(claims) + list(skipped) for n in c.regime.names}
    if unknown:
        raise RegimeError(f"unknown parameter {sorted(unknown)[0]!r} for the selected claims")
    single = len(claims) + len(skipped) == 1
    plans = []
    for c in claims:
        known = texts if single else {k: v for k, v in texts.items() if k in c.regime.names}
        if c.ladder is not None:
            c.ladder.check_settable(known)
        plans.append((c, c.regime.resolve(tier, texts=known)))
    return plans


def skipped_note(skipped: list[Claim], tier: str) -> str:
    """The one line naming the selected claims that are not judged at ``tier`` (empty when none)."""
    if not skipped:
        return ""
    ids = ", ".join(f"{c.id} (judged at {'/'.join(c.tiers)})" for c in skipped)
    return f"theorycheck: not judged at the {tier} tier, skipped: {ids}"


def benches() -> dict[str, Callable]:
    load_plugins()
    return dict(sorted(_BENCHES.items()))
