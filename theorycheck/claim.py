"""The claim: a paper's quantitative statement made runnable.

A claim binds a prediction (from ``derivations/``) to a measurement (from ``simulations/``) and names
the comparison the paper makes.  See :mod:`theorycheck.verdict` for how the two are compared.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .regime import TIERS, Regime
from .verdict import COMPARISONS, INTERVALS, VERDICTS, Tolerance

CLAIM_KINDS = ("estimate", "upper_bound", "lower_bound", "scaling", "qualitative", "limit")
ROLES = ("theorem", "consistency")
PREDICTION_SOURCES = ("derived", "constant", "independent_runs")
_DEFAULT_COMPARISON = {"estimate": "within", "upper_bound": "below", "lower_bound": "above",
                       "scaling": "within", "limit": "within"}
_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


@dataclass(frozen=True)
class Calibration:
    """Summary of a claim's calibration runs: the empirical ingredient of an ``independent_runs`` prediction.

    ``mean`` with its 95 % interval ``[ci_low, ci_high]`` over ``seeds`` replicates of the claim's calibration
    stream (independent of the measured replicates); ``values`` are the replicates' values.
    """

    mean: float
    ci_low: float
    ci_high: float
    values: tuple
    seeds: int
    interval: str = "student_t"


@dataclass(frozen=True)
class Curve:
    """A claim's natural axis (n, k, P, eta, the step): how its replicates expose points for the figure.

    Each replicate's measurement carries the extras ``x`` and ``y``, equal-length lists of the points
    ``(x_j, y_j)`` the replicate measured along the axis, and optionally ``y_predicted``, the derived curve
    at the same ``x_j`` (a function of the parameters).  For a ``scaling`` claim the measured value is the
    fitted log-log slope of ``y`` on ``x`` and the figure sets it against the predicted slope.

    Parameters
    ----------
    x_label, y_label : str
        Axis labels with symbols or units, e.g. ``"P / C_local"`` and ``"T* (GD steps)"``.
    log : bool
        Log-log axes (default for the points of a scaling claim).
    """

    x_label: str
    y_label: str
    log: bool = False


ROW_FIELDS = frozenset((
    "claim", "kind", "comparison", "role", "tier", "expected", "seeds", "root_seed", "params", "prediction_source",
    "interval", "values", "extras", "replicate_elapsed_s", "reused", "measured_label", "finding", "tolerance_reason",
    "backend", "code_version", "verdict", "predicted", "measured", "ci_low", "ci_high", "tolerance", "resolution",
    "control_distance", "negative_control", "positive_control", "alternative", "calibration", "event_label",
    "event_failures", "error", "elapsed_s", "provenance", "limit", "limit_ci_low", "limit_ci_high", "window"))
"""Fields of a verify row (the command-line contract's JSON fields) that ``reported_extras`` may not reuse."""


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
    kind : {"estimate", "upper_bound", "lower_bound", "scaling", "qualitative", "limit"}
        What the paper asserts, at its own strength (``limit``: an asymptotic statement, see ``ladder``).
    regime : Regime
        Parameters, tier defaults and the paper's assumptions.
    predict : callable
        ``predict(params) -> float | (lo, hi)``: a function of the parameters only.  With
        ``prediction_source="independent_runs"`` it is ``predict(params, calibration)``, where
        ``calibration`` (:class:`Calibration`) summarises the ``calibrate`` runs, never the measured ones.
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
        ``plot(params, rngs) -> matplotlib.figure.Figure``, a richer figure of the claim's own (trajectories,
        heatmaps, phase diagrams), drawn after the comparison figure that the framework draws for every claim
        from its verify row (:mod:`theorycheck.figures`).
    curve : Curve, optional
        The claim's natural axis: its replicates report points ``x``, ``y`` along it (see :class:`Curve`).
    role : {"theorem", "consistency"}
        ``consistency`` marks a check of the simulator or of an identity that holds by construction: it
        runs and must come out as expected, but it is shown apart and never counted as a verified theorem.
    prediction_source : {"derived", "constant", "independent_runs"}
        Where the prediction comes from: ``derivations/`` (a function of the parameters), a value the paper
        states, or an empirical ingredient measured by ``calibrate`` on runs from their own seed stream.
    tolerance_reason : str
        Where the tolerance comes from (the theorem's stated precision, a derived finite-size correction,
        a discretisation bound, the Monte Carlo error of a quadrature); never the measured value.
    expected_by_tier : dict, optional
        ``{"quick": ..., "full": ...}``; a tier left out expects ``expected``.
    finding_by_tier : dict, optional
        The finding of a tier whose expected verdict is not ``verified`` (default ``finding``).
    positive_control : callable, optional
        Required when a tier expects ``refuted``: the corrected statement's prediction (same signature as
        ``predict``), judged on the same interval; it must come out ``verified``.
    positive_label : str
        What the corrected statement is.
    positive_tolerance : Tolerance or float, optional
        Tolerance of the corrected statement (default: the claim's).
    positive_comparison : {"within", "below", "above"}, optional
        Band shape of the corrected statement (default: the claim's).
    alternative : callable, optional
        The competing theory's prediction (same signature as ``predict``), e.g. the prior bound's rate, kept
        beside the near-miss negative control; it is judged like the negative control and must be refuted.
    alternative_label : str
        What the competing theory is.
    interval : {"student_t", "wilson_cluster"}
        How replicates reduce to an interval (:mod:`theorycheck.verdict`); ``wilson_cluster`` needs every
        replicate to report ``successes`` and ``trials``.
    event_label : str
        For a theorem that holds with high probability (``with probability 1 - delta, X``): what the event is.
        A replicate whose measurement reports ``event: False`` is a run where the event failed; it is left
        out of the interval and counted in the row's ``event_failures``.  The event's failures are thus
        reported, never hidden; more than ``max_event_failures`` of them make the row an error (the setting
        is outside the theorem's high-probability regime).
    max_event_failures : float
        Largest fraction of replicates whose event may fail (default 1/4).
    calibrate : callable, optional
        ``calibrate(params, rng) -> float | {"value": ...}``: one replicate of the empirical ingredient of
        an ``independent_runs`` prediction, driven by a generator of the claim's calibration stream
        (independent of every measured replicate).
    calibration_seeds : dict, optional
        Calibration replicates per tier (default: the claim's ``seeds``).
    calibration_label : str
        What ``calibrate`` measures.
    reported_extras : tuple of str
        Replicate extras the verify row reports beside its verdict, each as the mean of its finite values over
        the measured replicates (``null`` when no replicate has one), for what a reader needs to judge the
        verdict but is not the measured value (for example the coverage a teacher already had at step 0).
    ladder : theorycheck.limit.Ladder, optional
        Required for (and only for) ``kind="limit"``: the size parameter, its sizes per tier, the
        finite-size model and the window, fixed before the data; the verdict is on the extrapolated limit
        and its bootstrap interval over seeds (:mod:`theorycheck.limit`).  ``seeds`` are per size.
    tiers : tuple of str
        The tiers at which the claim is judged (default both).  A claim that cannot be decisive at the quick
        tier's sizes (a limit whose regime starts past them) is judged at the full tier only: ``verify`` skips
        it at the other tiers and refuses it when it is named there; the battery's verdict check leaves it to
        ``test_full_tier`` (its other checks run on its quick ladder).
    tiers_reason : str
        Why the claim is not judged at every tier (required when ``tiers`` leaves one out).
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
    curve: Curve | None = None
    role: str = "theorem"
    prediction_source: str = "derived"
    tolerance_reason: str = ""
    expected_by_tier: dict | None = None
    finding_by_tier: dict | None = None
    positive_control: Callable | None = None
    positive_label: str = ""
    positive_tolerance: Tolerance | float | None = None
    positive_comparison: str | None = None
    alternative: Callable | None = None
    alternative_label: str = ""
    interval: str = "student_t"
    event_label: str = ""
    max_event_failures: float = 0.25
    calibrate: Callable | None = None
    calibration_seeds: dict | None = None
    calibration_label: str = ""
    reported_extras: tuple = ()
    ladder: Any = None
    tiers: tuple = TIERS
    tiers_reason: str = ""

    def __post_init__(self):
        if not _ID.match(self.id):
            raise ValueError(f"claim id {self.id!r} must be dotted lowercase, e.g. 'paper.short_name'")
        clash = sorted(set(self.reported_extras) & ROW_FIELDS)
        if clash:
            raise ValueError(f"{self.id}: reported_extras {clash} would overwrite fields of the verify row")
        if self.kind not in CLAIM_KINDS:
            raise ValueError(f"{self.id}: kind must be one of {CLAIM_KINDS}, got {self.kind!r}")
        if self.comparison is None:
            if self.kind == "qualitative":
                raise ValueError(f"{self.id}: a qualitative claim must name its comparison {COMPARISONS}")
            self.comparison = _DEFAULT_COMPARISON[self.kind]
        if self.comparison not in COMPARISONS:
            raise ValueError(f"{self.id}: comparison must be one of {COMPARISONS}")
        if self.role not in ROLES:
            raise ValueError(f"{self.id}: role must be one of {ROLES}, got {self.role!r}")
        if self.prediction_source not in PREDICTION_SOURCES:
            raise ValueError(f"{self.id}: prediction_source must be one of {PREDICTION_SOURCES}")
        if self.interval not in INTERVALS:
            raise ValueError(f"{self.id}: interval must be one of {INTERVALS}, got {self.interval!r}")
        if (self.prediction_source == "independent_runs") != (self.calibrate is not None):
            raise ValueError(f"{self.id}: prediction_source='independent_runs' goes with a calibrate function "
                             f"(and only then)")
        self.expected_by_tier = {t: (self.expected_by_tier or {}).get(t, self.expected) for t in TIERS}
        self.finding_by_tier = {t: (self.finding_by_tier or {}).get(t, self.finding) for t in TIERS}
        for tier, exp in self.expected_by_tier.items():
            if exp not in VERDICTS[:3]:
                raise ValueError(f"{self.id}: expected[{tier!r}] must be verified, refuted or inconclusive")
            if exp != "verified" and not self.finding_by_tier[tier]:
                raise ValueError(f"{self.id}: a claim expected {exp!r} at the {tier} tier must state its finding")
        if "refuted" in self.expected_by_tier.values() and (self.positive_control is None
                                                            or not self.positive_label):
            raise ValueError(f"{self.id}: a claim expected 'refuted' needs a positive control (the corrected "
                             f"statement) and its label")
        if (self.kind == "limit") != (self.ladder is not None):
            raise ValueError(f"{self.id}: kind='limit' goes with a ladder (theorycheck.limit.Ladder), and only then")
        if self.ladder is not None:
            self._check_ladder()
        if isinstance(self.tiers, str) or not self.tiers or not set(self.tiers) <= set(TIERS):
            raise ValueError(f"{self.id}: tiers must be a non-empty tuple of tiers from {TIERS}, got {self.tiers!r}")
        self.tiers = tuple(t for t in TIERS if t in self.tiers)
        if self.tiers != TIERS and not self.tiers_reason:
            raise ValueError(f"{self.id}: a claim judged only at {self.tiers} must say why (tiers_reason)")
        if self.curve is not None and not isinstance(self.curve, Curve):
            raise ValueError(f"{self.id}: curve must be a theorycheck.claim.Curve (axis labels of the points x, y)")
        if self.alternative is not None and not self.alternative_label:
            raise ValueError(f"{self.id}: an alternative (competing theory) needs its label")
        if not callable(self.negative_control) or not self.negative_label:
            raise ValueError(f"{self.id}: every claim needs a negative control and its label")
        if not isinstance(self.tolerance, Tolerance):
            self.tolerance = Tolerance(float(self.tolerance))
        if self.positive_tolerance is not None and not isinstance(self.positive_tolerance, Tolerance):
            self.positive_tolerance = Tolerance(float(self.positive_tolerance))
        if self.positive_comparison is not None and self.positive_comparison not in COMPARISONS:
            raise ValueError(f"{self.id}: positive_comparison must be one of {COMPARISONS}")
        for tier in TIERS:
            if int(self.seeds.get(tier, 0)) < 1:
                raise ValueError(f"{self.id}: seeds[{tier!r}] must be a positive integer")
        if int(self.seeds["full"]) < int(self.seeds["quick"]):
            raise ValueError(f"{self.id}: the full tier must run at least the quick tier's seeds "
                             f"({self.seeds['full']} < {self.seeds['quick']})")
        if self.calibrate is not None:
            self.calibration_seeds = dict(self.calibration_seeds or self.seeds)

    def _check_ladder(self) -> None:
        from .limit import Ladder

        if not isinstance(self.ladder, Ladder):
            raise ValueError(f"{self.id}: ladder must be a theorycheck.limit.Ladder")
        if self.ladder.size not in self.regime.names:
            raise ValueError(f"{self.id}: the ladder's size {self.ladder.size!r} is not a parameter of the regime")
        if self.calibrate is not None or self.event_label:
            raise ValueError(f"{self.id}: a limit claim takes neither calibration runs nor an event")

    # ------------------------------------------------------------------ per tier
    @property
    def home_tier(self) -> str:
        """The first tier at which the claim is judged (the quick tier unless it runs at the full only)."""
        return self.tiers[0]

    def runs_at(self, tier: str) -> bool:
        """Whether the claim is judged at ``tier``."""
        return tier in self.tiers

    def expected_for(self, tier: str = "quick") -> str:
        """The verdict the project stands behind at ``tier``."""
        return self.expected_by_tier[tier]

    def finding_for(self, tier: str = "quick") -> str:
        """The finding of ``tier`` (empty when it is expected ``verified`` and none was written)."""
        return self.finding_by_tier[tier]

    # ------------------------------------------------------------------ predictions
    def _call(self, fn, params, calibration):
        if self.prediction_source == "independent_runs":
            if calibration is None:
                raise ValueError(f"{self.id}: its prediction needs the calibration runs (prediction_source="
                                 f"'independent_runs')")
            return fn(params, calibration)
        return fn(params)

    def prediction(self, params, calibration=None):
        """The prediction at ``params`` (and, for ``independent_runs``, the calibration summary)."""
        return self._call(self.predict, params, calibration)

    def control(self, params, calibration=None):
        """The negative control's prediction."""
        return self._call(self.negative_control, params, calibration)

    def competing(self, params, calibration=None):
        """The competing theory's prediction, or None."""
        if self.alternative is None:
            return None
        return self._call(self.alternative, params, calibration)

    def corrected(self, params, calibration=None):
        """The positive control's prediction (the corrected statement), or None."""
        if self.positive_control is None:
            return None
        return self._call(self.positive_control, params, calibration)

    def describe(self) -> dict[str, Any]:
        """Static description used by ``theorycheck list``."""
        return {
            "claim": self.id, "kind": self.kind, "comparison": self.comparison, "source": self.source,
            "statement": self.statement, "assumption": self.assumption, "expected": self.expected,
            "expected_by_tier": dict(self.expected_by_tier), "finding": self.finding,
            "finding_by_tier": dict(self.finding_by_tier), "role": self.role,
            "prediction_source": self.prediction_source, "interval": self.interval,
            "tolerance": self.tolerance.describe(), "tolerance_reason": self.tolerance_reason,
            "negative_control": self.negative_label, "positive_control": self.positive_label or None,
            "alternative": self.alternative_label or None,
            "calibration": self.calibration_label or None, "event": self.event_label or None,
            "seeds": dict(self.seeds), "tiers": list(self.tiers), "tiers_reason": self.tiers_reason or None,
            "ladder": None if self.ladder is None else self.ladder.describe(),
            "curve": None if self.curve is None else {"x": self.curve.x_label, "y": self.curve.y_label,
                                                      "log": self.curve.log},
            "params": {p.name: {"quick": p.quick, "full": p.full, "allowed": p.allowed(), "doc": p.doc}
                       for p in self.regime.params},
        }
