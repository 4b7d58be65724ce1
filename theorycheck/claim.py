"""The claim: a paper's quantitative statement made runnable.

A claim binds a prediction (from ``derivations/``) to a measurement (from ``simulations/``) and names
the comparison the paper makes.  See :mod:`theorycheck.verdict` for how the two are compared.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .regime import Regime
from .verdict import COMPARISONS, VERDICTS, Tolerance

CLAIM_KINDS = ("estimate", "upper_bound", "lower_bound", "scaling", "qualitative")
_DEFAULT_COMPARISON = {"estimate": "within", "upper_bound": "below", "lower_bound": "above",
                       "scaling": "within"}
_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


@dataclass
class Claim:
    """One checkable statement of a paper.

    Parameters
    ----------
    id : str
        Stable dotted name ``paper.short_name``.
    source : str
        Paper, theorem or section, and the spec tag ([V]/[M]/[R]) of what is implemented.
    statement : str
        One sentence a reader can check against the paper.
    kind : {"estimate", "upper_bound", "lower_bound", "scaling", "qualitative"}
        What the paper asserts, at its own strength.
    regime : Regime
        Parameters, tier defaults and the paper's assumptions.
    predict : callable
        ``predict(params) -> float | (lo, hi)``.
    measure : callable
        ``measure(params, rng) -> float | {"value": float, ...}``: one independent replicate, driven only
        by the ``numpy.random.Generator`` it is given.
    tolerance : Tolerance or float
        Half-width of the acceptance band (a float means absolute).
    negative_control : callable
        ``negative_control(params) -> float | (lo, hi)``: a deliberately wrong prediction that the same
        verdict logic must reject.
    negative_label : str
        What the wrong prediction is ("exponent off by one", "constant +50 %").
    seeds : dict
        Number of replicates per tier, e.g. ``{"quick": 5, "full": 20}``.
    comparison : {"within", "below", "above"}, optional
        Shape of the acceptance band; derived from ``kind`` unless given (required for ``qualitative``).
    expected : {"verified", "refuted", "inconclusive"}
        The verdict the project stands behind.
    finding : str
        Required when ``expected != "verified"``: what was measured and the likely cause.
    assumption : str
        The reconstruction or concrete choice implemented (shown by ``theorycheck list``).
    measured_label : str
        What the measured number is (shown in tables and figures).
    plot : callable, optional
        ``plot(params, rngs) -> matplotlib.figure.Figure``, the bound-versus-empirical figure.
    """

    id: str
    source: str
    statement: str
    kind: str
    regime: Regime
    predict: Callable[[Mapping[str, Any]], Any]
    measure: Callable[[Mapping[str, Any], Any], Any]
    tolerance: Tolerance | float
    negative_control: Callable[[Mapping[str, Any]], Any]
    negative_label: str
    seeds: dict = field(default_factory=lambda: {"quick": 5, "full": 20})
    comparison: str | None = None
    expected: str = "verified"
    finding: str = ""
    assumption: str = ""
    measured_label: str = ""
    plot: Callable | None = None

    def __post_init__(self):
        if not _ID.match(self.id):
            raise ValueError(f"claim id {self.id!r} must be dotted lowercase, e.g. 'paper.short_name'")
        if self.kind not in CLAIM_KINDS:
            raise ValueError(f"{self.id}: kind must be one of {CLAIM_KINDS}, got {self.kind!r}")
        if self.comparison is None:
            if self.kind == "qualitative":
                raise ValueError(f"{self.id}: a qualitative claim must name its comparison {COMPARISONS}")
            self.comparison = _DEFAULT_COMPARISON[self.kind]
        if self.comparison not in COMPARISONS:
            raise ValueError(f"{self.id}: comparison must be one of {COMPARISONS}")
        if self.expected not in VERDICTS[:3]:
            raise ValueError(f"{self.id}: expected must be verified, refuted or inconclusive")
        if self.expected != "verified" and not self.finding:
            raise ValueError(f"{self.id}: a claim expected {self.expected!r} must state its finding")
        if not callable(self.negative_control) or not self.negative_label:
            raise ValueError(f"{self.id}: every claim needs a negative control and its label")
        if not isinstance(self.tolerance, Tolerance):
            self.tolerance = Tolerance(float(self.tolerance))
        for tier in ("quick", "full"):
            if int(self.seeds.get(tier, 0)) < 1:
                raise ValueError(f"{self.id}: seeds[{tier!r}] must be a positive integer")

    @property
    def paper(self) -> str:
        return self.id.split(".", 1)[0]

    def describe(self) -> dict[str, Any]:
        """Static description used by ``theorycheck list``."""
        return {
            "claim": self.id, "kind": self.kind, "comparison": self.comparison, "source": self.source,
            "statement": self.statement, "assumption": self.assumption, "expected": self.expected,
            "finding": self.finding, "tolerance": self.tolerance.describe(),
            "negative_control": self.negative_label, "seeds": dict(self.seeds),
            "params": {p.name: {"quick": p.quick, "full": p.full, "allowed": p.allowed(), "doc": p.doc}
                       for p in self.regime.params},
        }
