"""Regime validation, parsing and strategies (framework only; no paper)."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theorycheck.regime import Constraint, Param, Regime, RegimeError, parse_assignments

REGIME = Regime(
    params=[
        Param("n", quick=100, full=1000, kind="int", low=2, high=10**6, search=(2, 500), doc="samples"),
        Param("eta", quick=0.1, kind="float", low=0, high=1, low_open=True, doc="step"),
        Param("lams", quick=[3.0, 2.0, 1.0], kind="floats", low=0, low_open=True, length=(2, 6),
              search=(0.1, 10)),
        Param("mode", quick="a", kind="choice", choices=("a", "b")),
        Param("variant", quick="x", kind="choice", choices=("x", "y", "z"), search=("x", "z")),
    ],
    constraints=[
        Constraint("descending", lambda p: all(x >= y for x, y in zip(p["lams"], p["lams"][1:])),
                   "lams must be in descending order", ("lams",)),
        Constraint("step small", lambda p: p["eta"] * p["n"] <= 50, "eta * n <= 50", ("eta", "n")),
    ],
)


def test_defaults_per_tier():
    assert REGIME.resolve("quick")["n"] == 100
    assert REGIME.resolve("full", overrides={"eta": 0.01})["n"] == 1000


@pytest.mark.parametrize("text,value", [("7", 7), ("7.0", 7), ("1e2", 100)])
def test_int_parsing(text, value):
    assert REGIME.resolve(texts={"n": text})["n"] == value


def test_list_and_choice_parsing():
    p = REGIME.resolve(texts={"lams": "[5, 4.5]", "mode": "b"})
    assert p["lams"] == [5.0, 4.5] and p["mode"] == "b"


@pytest.mark.parametrize("name,text,needle", [
    ("n", "abc", "n='abc' is malformed"),
    ("n", "1", "n=1 is out of range"),
    ("n", "2.5", "not an integer"),
    ("eta", "0", "eta=0.0 is out of range; allowed: a number in (0, 1]"),
    ("eta", "nan", "malformed"),
    ("lams", "[1]", "lams has 1 entries"),
    ("lams", "[1, -1]", "out of range"),
    ("lams", "[1, 2]", "assumption 'descending' fails"),
    ("mode", "c", "allowed: one of 'a', 'b'"),
    ("bogus", "1", "unknown parameter 'bogus'"),
])
def test_bad_values_name_the_parameter(name, text, needle):
    with pytest.raises(RegimeError) as err:
        REGIME.resolve(texts={name: text})
    msg = str(err.value)
    assert needle in msg and "\n" not in msg


def test_constraint_names_the_values():
    with pytest.raises(RegimeError, match=r"'step small' fails with eta=0.9, n=100"):
        REGIME.resolve(overrides={"eta": 0.9})


def test_parse_assignments():
    assert parse_assignments(["a=1", "b=[1,2]"]) == {"a": "1", "b": "[1,2]"}
    with pytest.raises(RegimeError, match="NAME=VALUE"):
        parse_assignments(["oops"])


def test_no_code_execution_in_values():
    with pytest.raises(RegimeError):
        REGIME.resolve(texts={"n": "__import__('os').getpid()"})


@given(REGIME.strategy())
def test_strategy_stays_inside_regime(params):
    assert REGIME.satisfies(params)
    assert 2 <= params["n"] <= 500
    assert all(0.1 <= x <= 10 for x in params["lams"])
    assert params["variant"] in ("x", "z")  # a choice's search is the subset drawn


def test_choice_search_does_not_narrow_the_regime():
    assert REGIME.resolve(texts={"variant": "y"})["variant"] == "y"


@given(st.integers(-10, 10))
def test_validate_is_range_check(n):
    p = dict(REGIME.resolve(), n=n)
    assert REGIME.satisfies(p) == (n >= 2)


# ------------------------------------------------------------------ every registered claim's strategy
def _claim_ids():
    from theorycheck import registry

    return [c.id for c in registry.all_claims()]


@pytest.mark.parametrize("claim_id", _claim_ids())
def test_every_claim_strategy_draws_inside_its_regime(claim_id):
    """The strategy that explore and the property tests share draws complete settings that pass the
    regime's own validation, with a declared search range for every parameter (no fallback spread)."""
    from hypothesis import HealthCheck, settings

    from theorycheck import registry
    from theorycheck.explore import regime_strategy

    claim = registry.get(claim_id)
    strategy, note = regime_strategy(claim.regime, "quick")
    assert note == "", note

    @settings(max_examples=3, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(strategy)
    def inside(params):
        assert set(params) == set(claim.regime.names)
        assert claim.regime.validate(params) == params

    inside()


def test_a_bool_search_draws_only_its_values():
    from hypothesis import given, settings

    from theorycheck.regime import Param

    drawn = set()
    both = Param("flag", True, True, kind="bool")
    fixed = Param("flag", True, True, kind="bool", search=(True,))

    @settings(max_examples=40, database=None, derandomize=True)
    @given(both.strategy(), fixed.strategy())
    def draw(a, b):
        drawn.add(("both", a))
        drawn.add(("fixed", b))

    draw()
    assert drawn == {("both", True), ("both", False), ("fixed", True)}
