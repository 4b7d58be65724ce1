"""Property tests of a claim: settings drawn from its regime, judged by its own measurement and verdict.

A property test of claim ``c`` draws ``(params, root)`` from :func:`drawn_settings` (the regime's strategy,
the one :func:`theorycheck.explore.explore` searches, and a root seed for the replicates), runs
:func:`theorycheck.runner.verify_claim` at that setting with the claim's tier seed count, and asserts
:func:`failures` is empty:

* the verdict equals the claim's expected verdict at the tier;
* a claim expected ``verified`` has its negative control ``refuted`` at the same setting (its competing
  theory, when it has one, is checked too with ``require_alternative=True``: the near miss is what makes a
  verdict evidence, the competing theory may sit closer than the band resolves at some settings);
* a claim expected ``refuted`` has its positive control (the corrected statement) ``verified``.

Every failure message starts with the one ``theorycheck verify`` command that reproduces the setting
(:func:`verify_command`).
"""
from __future__ import annotations

import json
import shlex
from typing import Any, Mapping

from ..claim import Claim
from ..runner import verify_claim

PROPERTY_EXAMPLES = {"thorough": 30}
"""Settings each property test draws under a Hypothesis profile of that name (test configuration)."""

DEFAULT_PROPERTY_EXAMPLES = 10
"""Settings each property test draws under any other profile (the derandomized default)."""

ROOT_RANGE = (0, 2 ** 32 - 1)
"""Root seeds a property test draws for the replicates (``verify --seed``)."""


def property_examples() -> int:
    """Examples per property test under the Hypothesis profile currently loaded."""
    from hypothesis import settings

    return PROPERTY_EXAMPLES.get(settings.get_current_profile_name(), DEFAULT_PROPERTY_EXAMPLES)


def property_settings(**overrides):
    """Hypothesis settings of a property test: the loaded profile with :func:`property_examples` examples."""
    from hypothesis import HealthCheck, settings

    base = {"max_examples": property_examples(), "deadline": None,
            "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much,
                                      HealthCheck.data_too_large]}
    base.update(overrides)
    return settings(**base)


def drawn_settings(claim: Claim, tier: str = "quick"):
    """Strategy of ``(params, root)``: ``params`` from the claim's regime strategy (the one ``explore``
    searches, see :func:`theorycheck.explore.regime_strategy`), ``root`` a replicate root seed."""
    from hypothesis import strategies as st

    from . import regime_strategy

    strategy, _ = regime_strategy(claim.regime, tier)
    return st.tuples(strategy, st.integers(*ROOT_RANGE))


def _cli_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, list, tuple)):
        return json.dumps(list(value) if isinstance(value, tuple) else value)
    return str(value)


def verify_command(claim: Claim, params: Mapping[str, Any], root: int, tier: str = "quick") -> str:
    """The ``theorycheck verify`` command that reruns ``claim`` at ``params`` under root ``root``.

    Only parameters that differ from the tier's defaults are set; floats are written in their shortest
    round-trip form, so the command reproduces the setting exactly.
    """
    defaults = claim.regime.defaults(tier)
    sets = [f"--set {shlex.quote(f'{name}={_cli_value(value)}')}" for name, value in params.items()
            if name not in defaults or defaults[name] != value]
    parts = ["theorycheck verify", claim.id] + (["--tier", tier] if tier != "quick" else []) + sets
    return " ".join(parts + [f"--seed {int(root)}"])


def judge(claim: Claim, params: Mapping[str, Any], root: int, tier: str = "quick", backend=None) -> dict:
    """The result row of ``claim`` at ``params``: :func:`theorycheck.runner.verify_claim` with the claim's
    seed count of ``tier``, replicates spawned from ``root``."""
    params = claim.regime.validate(params)
    return verify_claim(claim, params, int(claim.seeds[tier]), int(root), backend=backend, progress=False,
                        tier=tier)


def failures(claim: Claim, row: Mapping[str, Any], tier: str = "quick", require_alternative: bool = False) -> list[str]:
    """What the row breaks of the claim's expectation (empty when the property holds)."""
    expected = claim.expected_for(tier)
    out = []
    if row["verdict"] != expected:
        what = (f"error: {row.get('error')}" if row["verdict"] == "error" else
                f"measured {row['measured']:.6g} CI [{row['ci_low']:.6g}, {row['ci_high']:.6g}] against "
                f"predicted {row['predicted']} +- {row['tolerance']:.4g}")
        out.append(f"verdict {row['verdict']}, expected {expected}: {what}")
        return out
    if expected == "verified":
        control = row["negative_control"]
        if control["verdict"] != "refuted":
            out.append(f"negative control ({control['label']}) {control['verdict']}, not refuted: predicted "
                       f"{control['predicted']} against measured CI [{row['ci_low']:.6g}, {row['ci_high']:.6g}]")
        other = row.get("alternative")
        if require_alternative and other is not None and other["verdict"] != "refuted":
            out.append(f"competing theory ({other['label']}) {other['verdict']}, not refuted")
    elif expected == "refuted":
        positive = row.get("positive_control")
        if positive is None or positive["verdict"] != "verified":
            out.append("positive control " + ("missing" if positive is None else
                                              f"({positive['label']}) {positive['verdict']}, not verified"))
    return out


def check(claim: Claim, params: Mapping[str, Any], root: int, tier: str = "quick", backend=None,
          require_alternative: bool = False) -> dict:
    """Judge the setting and raise ``AssertionError`` (led by the reproducing command) when the claim's
    expectation fails there; returns the row."""
    row = judge(claim, params, root, tier, backend)
    problems = failures(claim, row, tier, require_alternative)
    if problems:
        raise AssertionError(f"{claim.id} at a setting drawn from its regime; reproduce with\n  "
                             f"{verify_command(claim, row['params'], root, tier)}\n  " + "\n  ".join(problems))
    return row


def holds(claim: Claim, drawn: tuple[Mapping[str, Any], int], backend=None) -> dict:
    """The body of a property test: ``drawn`` is ``(params, root)`` from :func:`drawn_settings`; notes the
    reproducing command for Hypothesis' report, checks the claim there at its quick-tier seeds (replicates
    on ``backend``, default in-process; the numbers do not depend on it) and returns the row."""
    from hypothesis import note

    params, root = drawn
    note(verify_command(claim, params, root))
    row = check(claim, params, root, backend=backend)
    assert row["seeds"] == claim.seeds["quick"]
    return row
