"""``theorycheck new lemma|paper NAME``: scaffold a derivation module, a simulation subpackage, a claims
module with one working claim and its near-miss control, and its tests, into the current project tree.

The generated claim is a real, falsifiable statement that passes the conformance battery
(:mod:`theorycheck.testing`) as generated: for ``x_1, ..., x_n`` i.i.d. ``N(mu e_1, sigma^2 I_d)``, the
squared norm of their mean has expectation ``mu^2 + d sigma^2 / n`` (SymPy derives it, a Numba kernel
reduces the Monte Carlo draws), and the near miss ``mu^2 + d sigma^2 / (n - 1)`` (the unbiased-variance
denominator) is refuted.  Every file says in comments what to replace with the lemma's or paper's own.

Files (``NAME`` is the lemma's or the paper's name):

=====================  ==========================================  ==========================================
                       ``new lemma NAME``                          ``new paper NAME``
=====================  ==========================================  ==========================================
derivation             ``derivations/NAME.py``                     ``derivations/NAME.py``
simulation             ``simulations/NAME/{__init__,kernels}.py``  ``simulations/NAME/{__init__,kernels}.py``
claims                 ``claims/lemma_NAME.py``, id ``lemma.NAME`` ``claims/NAME.py``, id ``NAME.mean_norm``
tests                  ``tests/test_NAME.py``                      ``tests/test_NAME.py``
=====================  ==========================================  ==========================================
"""
from __future__ import annotations

import keyword
import re
from pathlib import Path
from string import Template

from .regime import RegimeError

KINDS = ("lemma", "paper")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
PROJECT_DIRS = ("claims", "derivations", "simulations")

DERIVATION = Template('''\
r"""${title}: the derivation (SymPy), a pure function of the parameters.

REPLACE this module's contents with the ${kind}'s statement.  The template derives, for ``x_1, ..., x_n``
i.i.d. ``N(mu e_1, sigma^2 I_d)``,

.. math::  E \\| \\bar x \\|^2 = \\mu^2 + d \\sigma^2 / n,

coordinate by coordinate from the moment generating function of the mean, ``M(t) = M_x(t / n)^n`` with
``M_x(t) = exp(m t + s^2 t^2 / 2)``, and ``E[Y^2] = M''(0)``.  Keep the conventions: symbolic work happens on
first use (:func:`expected_squared_norm_expr` is cached), never at import, so ``theorycheck list`` stays
fast; numerical functions take plain numbers; every ``check_*`` function takes no required argument and
returns residuals that are all zero (the conformance battery runs them).
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

n, d = sp.symbols("n d", positive=True, integer=True)
mu, sigma, t = sp.symbols("mu sigma t", real=True)


def _normal_mgf(mean, sd, at):
    return sp.exp(mean * at + sd ** 2 * at ** 2 / 2)


def _second_moment_of_mean(mean, sd, size):
    """``E[Y^2]`` for ``Y`` the mean of ``size`` i.i.d. ``N(mean, sd^2)``: ``d^2/dt^2 M_x(t/size)^size`` at 0."""
    return sp.simplify(sp.diff(_normal_mgf(mean, sd, t / size) ** size, t, 2).subs(t, 0))


@lru_cache(maxsize=None)
def expected_squared_norm_expr() -> sp.Expr:
    """``E ||bar x||^2`` as a SymPy expression in ``mu, sigma, d, n``: one coordinate of mean ``mu``, the
    other ``d - 1`` of mean 0."""
    return sp.simplify(_second_moment_of_mean(mu, sigma, n) + (d - 1) * _second_moment_of_mean(0, sigma, n))


@lru_cache(maxsize=None)
def _numeric():
    return sp.lambdify((mu, sigma, d, n), expected_squared_norm_expr(), "math")


def expected_squared_norm(mu_: float, sigma_: float, d_: int, n_: int) -> float:
    """``mu^2 + d sigma^2 / n``: the prediction (REPLACE with the ${kind}'s predicted quantity)."""
    return float(_numeric()(float(mu_), float(sigma_), int(d_), int(n_)))


def near_miss_squared_norm(mu_: float, sigma_: float, d_: int, n_: int) -> float:
    """``mu^2 + d sigma^2 / (n - 1)``: the unbiased-variance denominator in place of ``n``, the nearest
    meaningful wrong statement (REPLACE with the ${kind}'s near miss: an exponent off by one, the other
    model's constant, a dropped term)."""
    return float(mu_) ** 2 + int(d_) * float(sigma_) ** 2 / (int(n_) - 1)


def check_expected_squared_norm() -> list:
    """Residuals (all zero): the derived expression minus the closed form ``mu^2 + d sigma^2 / n``, and, for
    ``n = 3, d = 1``, the second moment of ``(x_1 + x_2 + x_3) / 3`` expanded from the three variables'
    independent moments minus the expression."""
    x = sp.symbols("x1:4", real=True)
    square = sp.expand(((x[0] + x[1] + x[2]) / 3) ** 2)
    moments = {1: mu, 2: mu ** 2 + sigma ** 2}
    by_moments = sum(coeff * sp.Mul(*[moments[e] for e in powers if e])
                     for powers, coeff in sp.Poly(square, *x).terms())
    return [sp.simplify(expected_squared_norm_expr() - (mu ** 2 + d * sigma ** 2 / n)),
            sp.simplify(by_moments - expected_squared_norm_expr().subs({d: 1, n: 3}))]
''')

SIM_INIT = Template('''\
"""${title}: the idealised model (NumPy draws, Numba reduction).  Knows nothing of SymPy or of claims.

REPLACE with the ${kind}'s model: data generators take a ``numpy.random.Generator`` and draw everything a
replicate needs; kernels are Numba functions with ``cache=True`` in :mod:`.kernels`; ``warmup`` compiles
(or loads from the cache) every kernel on tiny inputs.
"""
import numpy as np

from .kernels import squared_norms_of_means

__all__ = ["draw_samples", "squared_norms_of_means", "warmup"]


def draw_samples(rng: np.random.Generator, trials: int, n: int, d: int, mu: float, sigma: float) -> np.ndarray:
    """``trials`` independent data sets of ``n`` samples ``N(mu e_1, sigma^2 I_d)``: shape ``(trials, n, d)``."""
    x = sigma * rng.standard_normal((trials, n, d))
    x[:, :, 0] += mu
    return x


def warmup() -> None:
    """Compile (or load from the cache) every kernel on tiny inputs."""
    squared_norms_of_means(np.zeros((1, 2, 1)))
''')

SIM_KERNELS = Template('''\
"""${title}: Numba kernels (REPLACE with the ${kind}'s exact GD steps or Monte Carlo reductions)."""
import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def squared_norms_of_means(x: np.ndarray) -> np.ndarray:
    """``||(1/n) sum_i x[t, i]||^2`` for every data set ``t`` of ``x`` (shape ``(trials, n, d)``)."""
    trials, n, d = x.shape
    out = np.empty(trials)
    for t in range(trials):
        total = 0.0
        for j in range(d):
            m = 0.0
            for i in range(n):
                m += x[t, i, j]
            m /= n
            total += m * m
        out[t] = total
    return out
''')

CLAIMS = Template('''\
"""${title}: the claim ``${claim_id}`` (REPLACE this docstring with the theorem, its assumptions, its
source and the reason of the tolerance, one claim at a time).

Theorem (template).  For ``x_1, ..., x_n`` i.i.d. ``N(mu e_1, sigma^2 I_d)``,
``E ||bar x||^2 = mu^2 + d sigma^2 / n``.  A replicate is the mean of ``||bar x||^2`` over ``trials``
independent data sets drawn from the replicate's generator; the verdict is over replicates.  (For a
deterministic model, a replicate is a fresh setting drawn by the generator, e.g. jittered starting points.)
The near miss ``mu^2 + d sigma^2 / (n - 1)`` is 9.5 % away at the quick tier (0.821 against 0.75 at
d = 4, n = 8): about two tolerances, and several times the interval's half-width (about 1.6 % of the
prediction with 5 seeds).
"""
from __future__ import annotations

from derivations import ${module} as theory
from simulations import ${module} as sim
from theorycheck import Claim, Constraint, Param, Regime, Tolerance, figure, register

# REPLACE: the paper, the theorem or section, and how sure the statement is (a spec tag such as [V]/[M]/[R]).
SOURCE = "template: expectation of the squared norm of a Gaussian sample mean (a textbook identity) [V]"
# REPLACE: the reconstruction or the concrete choices implemented.
ASSUMPTION = "i.i.d. Gaussian samples with mean mu e_1 and covariance sigma^2 I_d; Monte Carlo over data sets"
MAX_DRAWS = 4_000_000   # runtime and memory guard: trials * n * d numbers per replicate


def _regime() -> Regime:
    """Parameters with quick and full defaults; ``search=`` keeps drawn settings at runnable sizes (every
    bounded parameter needs it, or the strategy draws up to the bound)."""
    return Regime(
        params=[
            Param("d", 4, 8, kind="int", low=1, high=10_000, search=(1, 12), doc="dimension"),
            Param("n", 8, 8, kind="int", low=2, high=10_000, search=(2, 16), doc="samples per data set"),
            Param("mu", 0.5, 0.5, low=0, high=100, search=(0.0, 2.0), doc="norm of the mean"),
            Param("sigma", 1.0, 1.0, low=0, low_open=True, high=100, search=(0.2, 3.0), log=True,
                  doc="standard deviation of each coordinate"),
            Param("trials", 4000, 8000, kind="int", low=100, high=10_000_000, search=(1000, 8000), log=True,
                  doc="data sets per replicate"),
        ],
        constraints=[
            Constraint("runtime", lambda p: p["trials"] * p["n"] * p["d"] <= MAX_DRAWS,
                       f"trials * n * d <= {MAX_DRAWS:,} (a replicate's draws)", ("trials", "n", "d")),
        ])


def _measure(p, rng):
    x = sim.draw_samples(rng, p["trials"], p["n"], p["d"], p["mu"], p["sigma"])
    norms = sim.squared_norms_of_means(x)
    return {"value": float(norms.mean()), "trials": int(p["trials"]), "max": float(norms.max())}


def _predict(p):
    return theory.expected_squared_norm(p["mu"], p["sigma"], p["d"], p["n"])


def _near_miss(p):
    return theory.near_miss_squared_norm(p["mu"], p["sigma"], p["d"], p["n"])


def _plot(p, rngs):
    """Each replicate's mean squared norm against the prediction and the near miss."""
    fig, (ax,) = figure()
    values = [_measure(p, rng)["value"] for rng in rngs]
    ax.plot(range(len(values)), values, "o", label="replicates")
    ax.axhline(_predict(p), color="k", label="predicted")
    ax.axhline(_near_miss(p), color="r", ls="--", label="near miss")
    ax.set_xlabel("replicate")
    ax.set_ylabel("mean of ||x bar||^2")
    ax.legend()
    return fig


CLAIM = register(Claim(
    id="${claim_id}",
    source=SOURCE,
    statement="E ||mean of n i.i.d. N(mu e_1, sigma^2 I_d)||^2 = mu^2 + d sigma^2 / n",
    kind="estimate",
    regime=_regime(),
    predict=_predict,
    measure=_measure,
    tolerance=Tolerance(0.05, relative=True),
    tolerance_reason=("the statement is an exact expectation; 5 % of the prediction is the precision this "
                      "claim checks, fixed before any run: half the distance to the near miss at the quick tier"),
    negative_control=_near_miss,
    negative_label="mu^2 + d sigma^2 / (n - 1) (unbiased-variance denominator)",
    seeds={"quick": 5, "full": 10},
    assumption=ASSUMPTION,
    measured_label="mean over data sets of ||x bar||^2",
    plot=_plot,
))
''')

TESTS = Template('''\
"""${title}: the kernel against a NumPy reference and the derivation against its closed form and a
Monte Carlo estimate (REPLACE with the ${kind}'s tests: a finite-difference test for every hand-written
gradient, a Monte Carlo test for every closed-form expectation).  The claim's conformance battery runs in
``tests/test_claims_battery.py`` (``pytest -k ${claim_id}``)."""
import numpy as np

from derivations import ${module} as theory
from simulations import ${module} as sim


def test_${module}_kernel_matches_numpy():
    x = np.random.default_rng(0).standard_normal((7, 5, 3))
    np.testing.assert_allclose(sim.squared_norms_of_means(x), (x.mean(axis=1) ** 2).sum(axis=1), rtol=1e-12)


def test_${module}_derivation_self_checks():
    assert all(r == 0 for r in theory.check_expected_squared_norm())


def test_${module}_expectation_against_monte_carlo():
    rng = np.random.default_rng(1)
    x = sim.draw_samples(rng, 200_000, 3, 2, 0.7, 1.5)
    norms = sim.squared_norms_of_means(x)
    sem = norms.std(ddof=1) / np.sqrt(norms.size)
    assert abs(norms.mean() - theory.expected_squared_norm(0.7, 1.5, 2, 3)) < 5 * sem
    assert abs(norms.mean() - theory.near_miss_squared_norm(0.7, 1.5, 2, 3)) > 20 * sem
''')


def plan(kind: str, name: str, root: Path) -> dict[Path, str]:
    """``{path: text}`` of the files ``new KIND NAME`` writes under ``root``.

    Raises
    ------
    RegimeError
        When the kind or the name is not allowed, ``root`` is not a project tree, or a file exists.
    """
    if kind not in KINDS:
        raise RegimeError(f"unknown kind {kind!r}; allowed: {', '.join(KINDS)}")
    if not _NAME.match(name) or keyword.iskeyword(name) or name in KINDS:
        raise RegimeError(f"name {name!r} is not allowed; allowed: a lowercase Python identifier "
                          f"([a-z][a-z0-9_]*), not a keyword, not {' or '.join(KINDS)}")
    missing = [d for d in PROJECT_DIRS if not (root / d).is_dir()]
    if missing:
        raise RegimeError(f"{str(root)!r} is not a theorycheck project tree (no {missing[0]}/); run 'theorycheck "
                          f"new' at the root of a tree with {', '.join(d + '/' for d in PROJECT_DIRS)}")
    claims_module = f"lemma_{name}" if kind == "lemma" else name
    claim_id = f"lemma.{name}" if kind == "lemma" else f"{name}.mean_norm"
    values = {"title": f"{'Lemma' if kind == 'lemma' else 'Paper'} {name}", "kind": kind, "module": name,
              "claim_id": claim_id}
    files = {
        root / "derivations" / f"{name}.py": DERIVATION,
        root / "simulations" / name / "__init__.py": SIM_INIT,
        root / "simulations" / name / "kernels.py": SIM_KERNELS,
        root / "claims" / f"{claims_module}.py": CLAIMS,
        root / "tests" / f"test_{name}.py": TESTS,
    }
    taken = [p for p in [root / "simulations" / name, *files] if p.exists()]
    if taken:
        raise RegimeError(f"{taken[0].relative_to(root)} exists; 'theorycheck new' never overwrites a file: "
                          f"choose another name")
    return {path: template.substitute(values) for path, template in files.items()}


def scaffold(kind: str, name: str, root: Path | str = ".") -> list[Path]:
    """Write the files of ``new KIND NAME`` under ``root`` (all checked before any is written) and return
    their paths."""
    root = Path(root)
    files = plan(kind, name, root)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return list(files)
