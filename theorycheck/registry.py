"""The registry of claims and benchmarks, filled by plug-in modules.

Claim modules are found through the ``theorycheck.claims`` entry-point group: each entry names a module
or a package, and every module of a package is imported.  A module registers what it defines with
:func:`register` (claims) and :func:`register_bench` (benchmarks), so adding a claim module to a
registered package needs no edit anywhere else.
"""
from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from importlib.metadata import entry_points
from typing import Callable

from .claim import Claim
from .regime import RegimeError

ENTRY_POINT_GROUP = "theorycheck.claims"
BUILTIN_BENCHES = ("theorycheck.sweep_bench",)

_CLAIMS: dict[str, Claim] = {}
_BENCHES: dict[str, Callable] = {}
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


def _import_tree(name: str) -> None:
    module = importlib.import_module(name)
    if hasattr(module, "__path__"):
        for info in pkgutil.walk_packages(module.__path__, prefix=module.__name__ + "."):
            importlib.import_module(info.name)


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
        raise UnknownClaim(f"unknown claim {claim_id!r}; see 'theorycheck list'") from None


def select(patterns: list[str] | None) -> list[Claim]:
    """Claims matching full ids or dotted prefixes (``mrp`` selects every ``mrp.*``); all when empty."""
    claims = all_claims()
    if not patterns:
        return claims
    chosen: dict[str, Claim] = {}
    for pat in patterns:
        hits = [c for c in claims if c.id == pat or c.id.startswith(pat.rstrip(".") + ".")]
        if not hits:
            raise UnknownClaim(f"unknown claim {pat!r}: no claim id equals it or starts with '{pat}.'; "
                               f"see 'theorycheck list'")
        for c in hits:
            chosen[c.id] = c
    return list(chosen.values())


def benches() -> dict[str, Callable]:
    load_plugins()
    return dict(sorted(_BENCHES.items()))
