"""Named parameters, tier defaults and the paper's assumptions as validated constraints.

A :class:`Regime` is the set of parameter values a claim is stated for.  Each :class:`Param` carries a
default per tier (``quick`` and ``full``), a type and a range; each :class:`Constraint` is one of the
paper's assumptions written as a predicate on the whole parameter dictionary.  The same object

* parses and validates ``--set NAME=VALUE`` input (numbers and literal lists only, never ``eval``),
* rejects out-of-regime values with a one-line message naming the parameter and the allowed range,
* yields a Hypothesis strategy over the regime for property tests and for falsification search.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

TIERS = ("quick", "full")
KINDS = ("int", "float", "floats", "ints", "choice", "bool")


class RegimeError(ValueError):
    """A parameter value is unknown, malformed or outside the claim's regime (CLI exit status 2)."""


@dataclass(frozen=True)
class Param:
    """One named parameter of a claim.

    Parameters
    ----------
    name : str
        Identifier used by ``--set NAME=VALUE``.
    quick, full : Any
        Defaults of the two tiers.
    kind : {"int", "float", "floats", "ints", "choice", "bool"}
        Type; ``floats`` and ``ints`` are lists.
    low, high : float, optional
        Inclusive bounds of every value (of every element for lists).
    low_open, high_open : bool
        Make the corresponding bound strict.
    choices : sequence, optional
        Allowed values when ``kind == "choice"``.
    length : tuple of (int, int), optional
        Allowed list lengths (inclusive) for list kinds.
    search : tuple, optional
        Range ``(lo, hi)`` the Hypothesis strategy draws from; defaults to ``(low, high)``.  For a
        ``choice`` the subset of ``choices`` it draws from, for a ``bool`` the values it draws.  Use it to
        keep property tests and falsification searches inside sizes (and model variants) the machine can run
        while the regime itself stays as wide as the theory.
    log : bool
        Draw the strategy on a logarithmic scale (positive ranges only).
    doc : str
        One line: what the parameter means.
    """

    name: str
    quick: Any
    full: Any = None
    kind: str = "float"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: Sequence[Any] | None = None
    length: tuple[int, int] | None = None
    search: tuple | None = None
    log: bool = False
    doc: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Param {self.name}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.full is None:
            object.__setattr__(self, "full", self.quick)

    # ------------------------------------------------------------------ description
    def allowed(self) -> str:
        """Human-readable description of the allowed values."""
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "bool":
            return "true or false"
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        left = "(" if (self.low_open or self.low is None) else "["
        right = ")" if (self.high_open or self.high is None) else "]"
        what = {"int": "an integer", "float": "a number", "floats": "a list of numbers",
                "ints": "a list of integers"}[self.kind]
        rng = f"in {left}{lo}, {hi}{right}"
        if self.kind in ("floats", "ints"):
            ln = ""
            if self.length:
                a, b = self.length
                ln = f" of length {a}" if a == b else f" of length {a}..{b}"
            return f"{what}{ln}, each {rng}"
        return f"{what} {rng}"

    # ------------------------------------------------------------------ validation
    def _check_scalar(self, x: Any, integer: bool) -> float | int:
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise RegimeError(f"{self.name}={x!r} is not a number; allowed: {self.allowed()}")
        if integer:
            if isinstance(x, float):
                if not x.is_integer():
                    raise RegimeError(f"{self.name}={x!r} is not an integer; allowed: {self.allowed()}")
                x = int(x)
        else:
            x = float(x)
            if not math.isfinite(x):
                raise RegimeError(f"{self.name}={x!r} is not finite; allowed: {self.allowed()}")
        bad_low = self.low is not None and (x <= self.low if self.low_open else x < self.low)
        bad_high = self.high is not None and (x >= self.high if self.high_open else x > self.high)
        if bad_low or bad_high:
            raise RegimeError(f"{self.name}={x!r} is out of range; allowed: {self.allowed()}")
        return x

    def validate(self, value: Any) -> Any:
        """Return ``value`` coerced to this parameter's type, or raise :class:`RegimeError`."""
        if self.kind == "choice":
            if value not in self.choices:
                raise RegimeError(f"{self.name}={value!r} is not allowed; allowed: {self.allowed()}")
            return value
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            if value in (0, 1):
                return bool(value)
            raise RegimeError(f"{self.name}={value!r} is not a boolean; allowed: {self.allowed()}")
        if self.kind in ("floats", "ints"):
            if not isinstance(value, (list, tuple)):
                raise RegimeError(f"{self.name}={value!r} is not a list; allowed: {self.allowed()}")
            if self.length and not (self.length[0] <= len(value) <= self.length[1]):
                raise RegimeError(f"{self.name} has {len(value)} entries; allowed: {self.allowed()}")
            return [self._check_scalar(v, self.kind == "ints") for v in value]
        return self._check_scalar(value, self.kind == "int")

    def parse(self, text: str) -> Any:
        """Parse the text of ``--set NAME=TEXT`` (a number, a literal list, a choice or a boolean)."""
        text = text.strip()
        if self.kind == "choice":
            for c in self.choices:
                if str(c) == text:
                    return c
            raise RegimeError(f"{self.name}={text!r} is not allowed; allowed: {self.allowed()}")
        if self.kind == "bool":
            low = text.lower()
            if low in ("true", "1", "yes"):
                return True
            if low in ("false", "0", "no"):
                return False
            raise RegimeError(f"{self.name}={text!r} is not a boolean; allowed: {self.allowed()}")
        try:
            value = json.loads(text.replace("(", "[").replace(")", "]"))
        except ValueError:
            raise RegimeError(f"{self.name}={text!r} is malformed; allowed: {self.allowed()}") from None
        return self.validate(value)

    # ------------------------------------------------------------------ strategy
    def strategy(self):
        """Hypothesis strategy over this parameter's search range."""
        from hypothesis import strategies as st

        if self.kind == "choice":
            return st.sampled_from(list(self.search or self.choices))
        if self.kind == "bool":
            return st.sampled_from([bool(v) for v in self.search]) if self.search else st.booleans()
        lo, hi = self.search if self.search else (self.low, self.high)
        if lo is None or hi is None:
            raise ValueError(f"Param {self.name}: give `search=(lo, hi)` to draw it")
        if self.kind in ("int", "ints"):
            elem = st.integers(int(math.ceil(lo)), int(math.floor(hi)))
            if self.low_open and self.search is None:
                elem = elem.filter(lambda v: v > lo)
        elif self.log:
            elem = st.floats(math.log(lo), math.log(hi)).map(math.exp)
        else:
            elem = st.floats(lo, hi, allow_nan=False, allow_infinity=False,
                             exclude_min=self.low_open and self.search is None,
                             exclude_max=self.high_open and self.search is None)
        if self.kind in ("floats", "ints"):
            a, b = self.length or (1, 5)
            return st.lists(elem, min_size=a, max_size=b)
        return elem


@dataclass(frozen=True)
class Constraint:
    """One assumption of the paper, as a predicate on the full parameter dictionary.

    Parameters
    ----------
    name : str
        Short name of the assumption (shown in errors and by ``explore``).
    check : callable
        ``check(params) -> bool``; true when the assumption holds.
    message : str
        What is required, phrased for the user (``"r < d (the top-r eigenspace must be proper)"``).
    params : tuple of str
        The parameters the assumption involves (named in the error).
    """

    name: str
    check: Callable[[Mapping[str, Any]], bool]
    message: str
    params: tuple[str, ...] = ()


@dataclass(frozen=True)
class Regime:
    """Parameters with tier defaults plus the paper's assumptions.

    Parameters
    ----------
    params : sequence of Param
    constraints : sequence of Constraint
    strategy_fn : callable, optional
        ``strategy_fn(tier) -> SearchStrategy`` of whole parameter dicts, for regimes whose parameters
        depend on each other (e.g. a list whose length is another parameter).  When absent, the
        strategy draws every parameter independently and filters by the constraints.
    """

    params: Sequence[Param]
    constraints: Sequence[Constraint] = ()
    strategy_fn: Callable[[str], Any] | None = None
    _index: dict = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_index", {p.name: p for p in self.params})

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def param(self, name: str) -> Param:
        try:
            return self._index[name]
        except KeyError:
            raise RegimeError(f"unknown parameter {name!r}; allowed: {', '.join(self.names) or 'none'}") from None

    def defaults(self, tier: str = "quick") -> dict[str, Any]:
        if tier not in TIERS:
            raise RegimeError(f"unknown tier {tier!r}; allowed: {', '.join(TIERS)}")
        return {p.name: getattr(p, tier) for p in self.params}

    def check_constraints(self, params: Mapping[str, Any]) -> None:
        """Raise :class:`RegimeError` naming the first violated assumption."""
        for c in self.constraints:
            try:
                ok = bool(c.check(params))
            except (ValueError, TypeError, IndexError, ZeroDivisionError) as exc:
                ok, detail = False, f" ({exc})"
            else:
                detail = ""
            if not ok:
                names = ", ".join(f"{n}={params[n]!r}" for n in c.params if n in params)
                where = f" with {names}" if names else ""
                raise RegimeError(f"assumption {c.name!r} fails{where}; required: {c.message}{detail}")

    def resolve(self, tier: str = "quick", overrides: Mapping[str, Any] | None = None,
                texts: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Tier defaults updated by overrides (values) and texts (unparsed ``--set`` strings), validated."""
        params = self.defaults(tier)
        for name, value in (overrides or {}).items():
            params[name] = self.param(name).validate(value)
        for name, text in (texts or {}).items():
            params[name] = self.param(name).parse(text)
        self.check_constraints(params)
        return params

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Validate a complete parameter dict (every name known, every value in range, all assumptions)."""
        missing = [n for n in self.names if n not in params]
        if missing:
            raise RegimeError(f"missing parameter(s) {', '.join(missing)}")
        out = {}
        for name, value in params.items():
            out[name] = self.param(name).validate(value)
        self.check_constraints(out)
        return out

    def satisfies(self, params: Mapping[str, Any]) -> bool:
        try:
            self.validate(params)
        except RegimeError:
            return False
        return True

    def strategy(self, tier: str = "quick"):
        """Hypothesis strategy of parameter dicts inside the regime."""
        from hypothesis import strategies as st

        if self.strategy_fn is not None:
            base = self.strategy_fn(tier)
        else:
            base = st.fixed_dictionaries({p.name: p.strategy() for p in self.params})
        return base.filter(self.satisfies)


def parse_assignments(items: Sequence[str] | None) -> dict[str, str]:
    """Split ``NAME=VALUE`` strings; raise :class:`RegimeError` on a malformed item."""
    out: dict[str, str] = {}
    for item in items or ():
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise RegimeError(f"--set {item!r} is malformed; expected NAME=VALUE")
        out[name.strip()] = text
    return out
