r"""The tensor-power recursion of Allen-Zhu & Li (AZL), as used by both MRP papers (``docs/papers/mrp.md`` §5).

In the early phase a kernel's correlation with a feature grows by the recursion

.. math::  x_{t+1} = x_t + \eta C\, x_t^{\,q-1},\qquad q \ge 3,\ \eta C > 0,\ 0 < x_0 < A,

and :math:`T = \min\{t : x_t \ge A\}` is its hitting time of the level ``A``.  Write :math:`p = q-2 \ge 1`,
:math:`k = \eta C`, :math:`u = x^{-p}` and :math:`s_t = k x_t^{\,p}` (the relative step at time t).

Continuous time
---------------
:math:`\dot x = k x^{q-1}` is solved by :math:`x(t) = (x_0^{-p} - p k t)^{-1/p}` (blow-up at
:math:`1/(p k x_0^p)`), so the ODE time from :math:`x_0` to a level ``x`` is
:math:`\tau(x) = (x_0^{-p} - x^{-p})/(p k)` and :math:`t_A = \tau(A)`.
:func:`check_ode_solution` substitutes ``x(t)`` back into the ODE and simplifies the residual to zero.

Exact ODE time of one discrete step
-----------------------------------
In ``u`` the step is :math:`u_{t+1} = u_t (1+s_t)^{-p}` and the ODE moves ``u`` down at the constant speed
:math:`p k`, so the ODE time the step covers is, exactly,

.. math::  \Delta_t = \int_{x_t}^{x_{t+1}} \frac{dx}{k x^{q-1}} = \frac{u_t - u_{t+1}}{p k}
           = g(s_t),\qquad g(s) = \frac{1-(1+s)^{-p}}{p s} = \int_0^1 (1+s v)^{-(p+1)}\,dv

(:func:`check_step_ode_time`).  From the integral form: ``g`` is decreasing and convex, ``g(0) = 1``,
:math:`(1+s)^{-(p+1)} \le g(s) \le 1`, and (Taylor with a sign-definite remainder of
:math:`(1+sv)^{-(p+1)}`) :math:`1 - \tfrac{p+1}{2}s \le g(s) \le 1 - \tfrac{p+1}{2}s + \tfrac{(p+1)(p+2)}{6}s^2`.
After ``n`` steps the ODE clock reads :math:`\tau_n = \sum_{t<n} g(s_t) = \tau(x_n)`, and the discrete
hitting time is :math:`T = \min\{n : \tau_n \ge t_A\}`.  Each step costs one unit of discrete time but
advances the ODE clock by only :math:`g(s_t)`; the *ODE time lost* is :math:`L_n = \sum_{t<n}(1-g(s_t))`.

Bounds on the discrete hitting time (proof)
-------------------------------------------
Let :math:`S = k A^{p}` (the relative step at the threshold).  For :math:`t < T`, :math:`x_t < A`, hence
:math:`0 < s_t < S`, and :math:`x_T = x_{T-1}(1+s_{T-1}) < A(1+S)`.  Facts about one step, for
:math:`0 < s \le S`:

(i)   :math:`1-g(s) \ge a\,s \ge a\ln(1+s)` with :math:`a = (1-g(S))/S`, because :math:`1-g` is concave with
      :math:`1-g(0)=0`, so it lies above its chord on :math:`[0,S]`;
(ii)  :math:`1-g(s) \le \tfrac{p+1}{2}s \le b \ln(1+s)` with :math:`b = \tfrac{p+1}{2}\,S/\ln(1+S)`, because
      :math:`s/\ln(1+s)` is increasing;
(iii) :math:`1-g(s) \ge \tfrac{p+1}{2}s - \tfrac{(p+1)(p+2)}{6}s^2` (the Taylor bound on ``g`` above), and
      :math:`\ln(1+s) \le s \le \ln(1+s) + s^2/2`.

Sums telescope: :math:`\sum_{t<n}\ln(1+s_t) = \ln(x_n/x_0)`, and since :math:`k e^{p l} \ge s_t` for
:math:`l \in [\ln x_t, \ln x_{t+1}]`, :math:`\sum_{t<n} s_t\ln(1+s_t) \le \int_{\ln x_0}^{\ln x_n} k e^{pl}\,dl
\le k x_n^p/p`.  With (ii)'s monotonicity, :math:`\sum_{t<n} s_t^2 \le \frac{S}{\ln(1+S)}\,\frac{k x_n^p}{p}`:
at most :math:`Q_- = \frac{S^2(1+S)^p}{p\ln(1+S)}` for ``n = T`` and :math:`Q_+ = \frac{S^2}{p\ln(1+S)}` for
``n = T-1``; the squares add only a constant, not a multiple of :math:`\ln(A/x_0)`.

*Lower bound.*  :math:`T = \tau_T + L_T \ge t_A + L_T`, and by (i), resp. (iii),
:math:`L_T \ge a\ln(x_T/x_0) \ge a\ln(A/x_0)` and
:math:`L_T \ge \tfrac{p+1}{2}\ln(A/x_0) - c_-`, :math:`c_- = \tfrac{(p+1)(p+2)}{6}Q_-`.

*Upper bound.*  :math:`T - 1 = \tau_{T-1} + L_{T-1} < t_A + L_{T-1}` (the level is not reached at ``T-1``),
and by (ii), resp. (ii)+(iii), :math:`L_{T-1} < b\ln(A/x_0)` and
:math:`L_{T-1} < \tfrac{p+1}{2}\ln(A/x_0) + c_+`, :math:`c_+ = \tfrac{p+1}{4}Q_+`.  Independently, each of
the ``T-1`` steps covers at least :math:`g(S)` ODE time, so :math:`(T-1) g(S) \le \tau_{T-1} < t_A`.  Hence,
with :math:`\ell = \ln(A/x_0)`,

.. math::  t_A + \max\big(a\ell,\ \tfrac{q-1}{2}\ell - c_-\big) \;\le\; T \;<\;
           1 + \min\Big(t_A + b\ell,\ t_A + \tfrac{q-1}{2}\ell + c_+,\ \frac{t_A}{g(S)}\Big).

As :math:`S \to 0`, :math:`a, b \to \tfrac{q-1}{2}` and :math:`c_\pm = O(S)`, so the interval has width
:math:`1 + O(S)`: the discrete recursion lags the ODE by :math:`\tfrac{q-1}{2}\ln(A/x_0)` steps plus less
than one step of overshoot.  The crude bounds
:math:`t_A \le T \le 1 + t_A (1+S)^{q-1}` (each step covers at most 1 and at least :math:`(1+S)^{-(q-1)}`
ODE time) follow as special cases and are exported for comparison.  For the integer ``T`` the bounds
sharpen to ``ceil(lo) <= T <= ceil(hi) - 1``.  For :math:`S < 10^{-4}` the numerical lower coefficient uses
the rigorous polynomial bound :math:`a \ge \tfrac{p+1}{2} - \tfrac{(p+1)(p+2)}{6}S` (no cancellation).

Gap amplification (the race)
----------------------------
Leader :math:`x_0 = (1+\delta) y_0`, follower :math:`y_0`, same ``k``.  In continuous time, when the leader
reaches ``A`` the follower stands at

.. math::  y(t_A) = \big(y_0^{-p} - p k t_A\big)^{-1/p} = \big(y_0^{-p}(1-(1+\delta)^{-p}) + A^{-p}\big)^{-1/p},

which the spec approximates by :math:`y_0 (p\delta)^{-1/p}` (dropping :math:`A^{-p}` and linearising in δ).
Discrete time: with :math:`v = y^{-p}`, :math:`v_T = v_0 - pk(T - L^y_T)`, so
:math:`y_T^{-p} = y(t_A)^{-p} - p k D` with :math:`D = T - t_A - L^y_T`.  The follower stays below the
leader (the map is increasing), so its relative steps are also below ``S``, :math:`y_T < A(1+S)`, and
(i)-(iii) give, with :math:`\ell_y = \ln(y_T/y_0)`,
:math:`\max(a\ell_y, \tfrac{q-1}{2}\ell_y - c_-) \le L^y_T \le \min(b\ell_y, \tfrac{q-1}{2}\ell_y + c_+(1+S)^p)`.
Subtracting these from the bounds on :math:`T - t_A` bounds ``D`` by two functions decreasing in
:math:`\ell_y`.  Each inequality :math:`y_T^{-p} \lessgtr y(t_A)^{-p} - pk D(\ell_y)` then has a left side
decreasing and a right side increasing in :math:`y_T`, so ``y_T`` lies between the roots of the two
equalities (:func:`follower_at_leader_hit_bounds`, solved by bisection, rounded outward).
The relative discretisation error is about :math:`k\,y(t_A)^{p}\,D`, i.e. small when the follower is far
below ``A``.

Hitting-time ratio
------------------
In continuous time, :math:`t_A(y_0)/t_A(x_0) = \frac{(1+\delta)^p - (x_0/A)^p}{1 - (x_0/A)^p} \to (1+\delta)^{p}`
as :math:`x_0/A \to 0`.  The discrete ratio :math:`T_y/T_x` lies in :math:`[lo_y/hi_x,\ hi_y/lo_x]` (the bounds
above for both starts); :func:`hitting_time_ratio_error_bound` returns the largest distance of that interval
from :math:`(1+\delta)^{q-2}`: it accounts for the finite threshold and the discretisation together.

Log-log slope of the hitting time
---------------------------------
The spec's exponent is asymptotic: the local slope of the continuous hitting time,
:math:`d\ln t_A/d\ln x_0 = -p/(1-(x_0/A)^{p})`, tends to :math:`-p = -(q-2)` only as :math:`x_0/A \to 0`.
At a finite grid of starts the least-squares slope of :math:`\ln T` on :math:`\ln x_0` has two corrections:
the finite-A term (steeper, :func:`continuous_loglog_slope`) and the discrete lag
:math:`\tfrac{q-1}{2}\ln(A/x_0)` steps, which grows as ``x0`` falls and so makes the slope shallower by about
:math:`\tfrac{q-1}{2}(p\ln(A/x_0) - 1)/t_A`.  With :math:`T_i \in [lo_i, hi_i)` the slope
:math:`\sum_i w_i \ln T_i` lies between the sums that take each end by the sign of its weight
(:func:`loglog_slope_bounds`), a rigorous interval about one step wide (relative ``1/T``) that tends to
``-(q-2)`` as the grid moves far below ``A``.

Everything here is a pure function of the parameters (SymPy expressions plus lambdified numerics).  The
SymPy layer is built at first use (:func:`expressions`), so importing this module does not load SymPy.
"""
from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace

import numpy as np

#: Symbols and SymPy expressions, module attributes made at first access (:func:`expressions`).
SYMBOLIC_NAMES = (
    "x0", "y0", "x", "t", "eta", "C", "q", "A", "delta", "s", "S", "v",
    "CONTINUOUS_SOLUTION", "BLOWUP_TIME", "ODE_TIME_TO_LEVEL", "CONTINUOUS_HITTING_TIME",
    "STEP_ODE_TIME", "STEP_ODE_TIME_INTEGRAL", "THRESHOLD_STEP", "LOSS_COEF_LOWER", "LOSS_COEF_LOWER_SERIES",
    "LOSS_COEF_UPPER", "LOSS_CONST_LOWER", "LOSS_CONST_UPPER", "HIT_LOWER", "HIT_UPPER", "HIT_UPPER_SHARP",
    "HIT_UPPER_PLAIN",
    "HIT_LOWER_CRUDE", "HIT_UPPER_CRUDE", "FOLLOWER_AT_LEADER_HIT", "FOLLOWER_SPEC_APPROX",
    "HITTING_TIME_RATIO", "HITTING_TIME_RATIO_CONTINUOUS",
)

__all__ = [
    *SYMBOLIC_NAMES,
    # symbolic checks
    "check_ode_solution", "check_hitting_time", "check_step_ode_time", "check_follower_formula",
    # numbers
    "continuous_solution", "continuous_hitting_time", "discrete_hitting_time_bounds",
    "discrete_hitting_time_bounds_int", "crude_hitting_time_bounds", "threshold_step", "loss_coefficients",
    "loss_constants", "follower_at_leader_hit",
    "follower_spec_approximation", "follower_at_leader_hit_bounds", "follower_at_leader_hit_error_bound",
    "hitting_time_ratio", "hitting_time_ratio_continuous", "hitting_time_ratio_bounds",
    "hitting_time_ratio_error_bound", "loglog_slope_bounds", "continuous_loglog_slope", "asymptotic_exponent",
]

# ============================================================================= SymPy, built on first use
@lru_cache(maxsize=None)
def expressions() -> SimpleNamespace:
    """The module's SymPy symbols and expressions, built at first use (SymPy is imported then).

    Each is also a module attribute (``tensor_power.HIT_LOWER``), served from here.
    """
    import sympy as sp
    from sympy.codegen.cfunctions import expm1, log1p

    # ----------------------------------------------------------------------------- symbols
    x0, y0, x, t, eta, C, A, delta, s, S, v = sp.symbols("x0 y0 x t eta C A delta s S v", positive=True)
    q = sp.Symbol("q", positive=True)  # the lemma takes an integer q >= 3; p = q - 2 >= 1
    _p = q - 2
    _k = eta * C

    # ----------------------------------------------------------------------------- continuous time
    # x(t) solving x' = eta C x^(q-1), x(0) = x0.
    CONTINUOUS_SOLUTION = (x0 ** (-_p) - _p * _k * t) ** (-1 / _p)
    # Blow-up time of x(t).
    BLOWUP_TIME = 1 / (_p * _k * x0 ** _p)
    # ODE time from x0 to the level x.
    ODE_TIME_TO_LEVEL = (x0 ** (-_p) - x ** (-_p)) / (_p * _k)
    # Continuous-time hitting time t_A of the level A.
    CONTINUOUS_HITTING_TIME = ODE_TIME_TO_LEVEL.subs(x, A)

    # ----------------------------------------------------------------------------- one discrete step
    # g(s): ODE time covered by one step from a point with relative step s = eta C x_t^(q-2).
    STEP_ODE_TIME = (1 - (1 + s) ** (-_p)) / (_p * s)
    # The same as an integral over the step, int_0^1 (1 + s v)^-(q-1) dv.
    STEP_ODE_TIME_INTEGRAL = sp.Integral((1 + s * v) ** (-(q - 1)), (v, 0, 1))
    # S = eta C A^(q-2): the relative step at the threshold (largest before the hit).
    THRESHOLD_STEP = _k * A ** _p
    # a(S) = (1 - g(S)) / S: lost ODE time per unit of ln x, lower coefficient (chord of the concave 1-g).
    LOSS_COEF_LOWER = (1 - STEP_ODE_TIME.subs(s, S)) / S
    # Rigorous polynomial lower bound on a(S) (from g(S) <= 1 - (p+1)S/2 + (p+1)(p+2)S^2/6).
    LOSS_COEF_LOWER_SERIES = (q - 1) / sp.Integer(2) - (q - 1) * q * S / 6
    # b(S) = (q-1)/2 * S / ln(1+S): upper coefficient.
    LOSS_COEF_UPPER = (q - 1) * S / (2 * sp.log(1 + S))
    # c_- = (q-1) q / 6 * S^2 (1+S)^(q-2) / ((q-2) ln(1+S)): constant of the second lower bound
    # on the lost time.
    LOSS_CONST_LOWER = (q - 1) * q * S ** 2 * (1 + S) ** _p / (6 * _p * sp.log(1 + S))
    # c_+ = (q-1)/4 * S^2 / ((q-2) ln(1+S)): constant of the second upper bound on the lost time.
    LOSS_CONST_UPPER = (q - 1) * S ** 2 / (4 * _p * sp.log(1 + S))

    _tA = CONTINUOUS_HITTING_TIME
    _ellx = sp.log(A / x0)
    _half = (q - 1) / sp.Integer(2)
    _SA = THRESHOLD_STEP
    # Rigorous lower bound on T (real-valued).
    HIT_LOWER = _tA + sp.Max(LOSS_COEF_LOWER.subs(S, _SA) * _ellx, _half * _ellx - LOSS_CONST_LOWER.subs(S, _SA))
    # Sharp upper bound 1 + t_A + min(b ln(A/x0), (q-1)/2 ln(A/x0) + c_+) (T is strictly below it).
    HIT_UPPER_SHARP = 1 + _tA + sp.Min(LOSS_COEF_UPPER.subs(S, _SA) * _ellx,
                                       _half * _ellx + LOSS_CONST_UPPER.subs(S, _SA))
    # Plain upper bound 1 + t_A / g(S) (better only when t_A S is below ln(A/x0)).
    HIT_UPPER_PLAIN = 1 + _tA / STEP_ODE_TIME.subs(s, _SA)
    # Rigorous upper bound on T (strict), the smallest of the three.
    HIT_UPPER = sp.Min(HIT_UPPER_SHARP, HIT_UPPER_PLAIN)
    # Crude bounds: each step covers at most 1 and at least (1+S)^-(q-1) ODE time.
    HIT_LOWER_CRUDE = _tA
    HIT_UPPER_CRUDE = 1 + _tA * (1 + THRESHOLD_STEP) ** (q - 1)

    # ----------------------------------------------------------------------------- the race
    _leader = (1 + delta) * y0
    # Continuous-time follower value when the leader (x0 = (1+delta) y0) hits A.
    FOLLOWER_AT_LEADER_HIT = (y0 ** (-_p) * (1 - (1 + delta) ** (-_p)) + A ** (-_p)) ** (-1 / _p)
    # The spec's approximation y0 ((q-2) delta)^(-1/(q-2)).
    FOLLOWER_SPEC_APPROX = y0 * (_p * delta) ** (-1 / _p)
    # Follower-to-leader hitting-time ratio in continuous time as x0/A -> 0.
    HITTING_TIME_RATIO = (1 + delta) ** _p
    # Exact continuous-time ratio t_A(y0) / t_A((1+delta) y0) at finite A.
    HITTING_TIME_RATIO_CONTINUOUS = _tA.subs(x0, y0) / _tA.subs(x0, _leader)


    # ------------------------------------------------------------ numerically stable forms
        # g(S) and a(S) by expm1/log1p, and the rigorous polynomial bound for tiny S.
    _G_STABLE = -expm1(-_p * log1p(S)) / (_p * S)
    _A_STABLE = sp.Piecewise((LOSS_COEF_LOWER_SERIES, S < sp.Float(1e-4)), ((1 - _G_STABLE) / S, True))
    _B_STABLE = (q - 1) * S / (2 * log1p(S))
    _CLO_STABLE = (q - 1) * q * S ** 2 * (1 + S) ** _p / (6 * _p * log1p(S))
    _CHI_STABLE = (q - 1) * S ** 2 / (4 * _p * log1p(S))
    _Ssym = THRESHOLD_STEP
    # T - t_A: lower and upper bounds on the ODE time lost before the hit, as numerics.
    _LAG_LOWER_NUM = sp.Max(_A_STABLE.subs(S, _Ssym) * _ellx, _half * _ellx - _CLO_STABLE.subs(S, _Ssym))
    _LAG_UPPER_NUM = 1 + sp.Min(_B_STABLE.subs(S, _Ssym) * _ellx, _half * _ellx + _CHI_STABLE.subs(S, _Ssym),
                                _tA * (1 / _G_STABLE.subs(S, _Ssym) - 1))
    _HIT_LOWER_NUM = _tA + _LAG_LOWER_NUM
    _HIT_UPPER_NUM = _tA + _LAG_UPPER_NUM

    names = dict(locals())
    for module_name in ("sp", "expm1", "log1p"):
        names.pop(module_name)
    return SimpleNamespace(**names)


@lru_cache(maxsize=None)
def _numeric() -> SimpleNamespace:
    """The expressions' NumPy functions (``sympy.lambdify``), made at first use."""
    import sympy as sp

    e = expressions()
    x0, y0, t, eta, C, q, A, delta, S = e.x0, e.y0, e.t, e.eta, e.C, e.q, e.A, e.delta, e.S
    args = (x0, eta, C, q, A)
    race_args = (y0, delta, eta, C, q, A)

    def lamb(arguments, expr):
        return sp.lambdify(arguments, expr, modules="numpy")

    return SimpleNamespace(
        _f_solution=lamb((x0, eta, C, q, t), e.CONTINUOUS_SOLUTION),
        _f_hit=lamb(args, e.CONTINUOUS_HITTING_TIME),
        _f_lo=lamb(args, e._HIT_LOWER_NUM),
        _f_hi=lamb(args, e._HIT_UPPER_NUM),
        _f_lo_crude=lamb(args, e.HIT_LOWER_CRUDE),
        _f_hi_crude=lamb(args, e.HIT_UPPER_CRUDE),
        _f_step=lamb((eta, C, q, A), e._Ssym),
        _f_g=lamb((S, q), e._G_STABLE),
        _f_a=lamb((S, q), e._A_STABLE),
        _f_b=lamb((S, q), e._B_STABLE),
        _f_clo=lamb((S, q), e._CLO_STABLE),
        _f_chi=lamb((S, q), e._CHI_STABLE),
        _f_lag_lo=lamb(args, e._LAG_LOWER_NUM),
        _f_lag_hi=lamb(args, e._LAG_UPPER_NUM),
        _f_follower=lamb(race_args, e.FOLLOWER_AT_LEADER_HIT),
        _f_follower_spec=lamb((y0, delta, q), e.FOLLOWER_SPEC_APPROX),
        _f_ratio=lamb((delta, q), e.HITTING_TIME_RATIO),
        _f_ratio_cont=lamb((y0, delta, q, A), e.HITTING_TIME_RATIO_CONTINUOUS),
    )


_LAZY_NUMERICS = ("_f_solution", "_f_hit", "_f_lo", "_f_hi", "_f_lo_crude", "_f_hi_crude", "_f_step", "_f_g",
                  "_f_a", "_f_b", "_f_clo", "_f_chi", "_f_lag_lo", "_f_lag_hi", "_f_follower",
                  "_f_follower_spec", "_f_ratio", "_f_ratio_cont")


def __getattr__(name):
    """SymPy names (symbols, expressions, ``sp``) and lambdified functions, made at first access."""
    if name == "sp":
        import sympy

        return sympy
    if name in _LAZY_NUMERICS:
        return getattr(_numeric(), name)
    private_expression = name.startswith("_") and not name.startswith("__") and hasattr(expressions(), name)
    if name in SYMBOLIC_NAMES or private_expression:
        return getattr(expressions(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ============================================================================= symbolic checks
def _qs(qs):
    return tuple(range(3, 9)) if qs is None else tuple(qs)


def check_ode_solution(qs=None) -> list:
    """Residuals ``x'(t) - eta C x(t)^(q-1)`` of :data:`CONTINUOUS_SOLUTION`, simplified.

    The first entry is the general-q residual (with the base ``x0^-(q-2) - (q-2) eta C t`` replaced by a
    positive symbol ``B``, valid before blow-up), followed by the residual and the initial-value error
    ``x(0) - x0`` for each concrete q in ``qs`` (default 3..8).  All entries simplify to 0.
    """
    import sympy as sp

    e = expressions()
    x0, t, q, _p, _k = e.x0, e.t, e.q, e._p, e._k
    B = sp.Symbol("B", positive=True)
    base = x0 ** (-_p) - _p * _k * t
    # dx/dt through the chain rule on the base, then x written in B.
    general = sp.diff(B ** (-1 / _p), B) * sp.diff(base, t) - _k * (B ** (-1 / _p)) ** (q - 1)
    out = [sp.simplify(sp.powdenest(general, force=True))]
    for qq in _qs(qs):
        sol = e.CONTINUOUS_SOLUTION.subs(q, qq)
        out.append(sp.simplify(sp.diff(sol, t) - _k * sol ** (qq - 1)))
        out.append(sp.simplify(sol.subs(t, 0) - x0))
    return out


def check_hitting_time(qs=None) -> list:
    """``x(t_A) - A`` for concrete q (default 3..8); each simplifies to 0."""
    import sympy as sp

    e = expressions()
    out = []
    for qq in _qs(qs):
        sol = e.CONTINUOUS_SOLUTION.subs(e.q, qq).subs(e.t, e.CONTINUOUS_HITTING_TIME.subs(e.q, qq))
        out.append(sp.simplify(sp.powdenest(sol, force=True) - e.A))
    return out


def check_step_ode_time(qs=None) -> list:
    """Residuals proving that one step covers ODE time ``g(s)``, for concrete q (default 3..8).

    For each q: (1) ``int_{x}^{x + k x^(q-1)} dx' / (k x'^(q-1)) - g(k x^(q-2))`` and
    (2) ``int_0^1 (1+s v)^-(q-1) dv - g(s)``, and (3) the numerically stable form used by the lambdified
    bound minus ``g``.  All simplify to 0.
    """
    import sympy as sp

    e = expressions()
    q, s, S, x, _k = e.q, e.s, e.S, e.x, e._k
    out = []
    xp = sp.Symbol("xp", positive=True)
    for qq in _qs(qs):
        g = e.STEP_ODE_TIME.subs(q, qq)
        step_integral = sp.integrate(1 / (_k * xp ** (qq - 1)), (xp, x, x + _k * x ** (qq - 1)))
        out.append(sp.simplify(step_integral - g.subs(s, _k * x ** (qq - 2))))
        out.append(sp.simplify(e.STEP_ODE_TIME_INTEGRAL.subs(q, qq).doit() - g))
        out.append(sp.simplify(sp.expand_func(e._G_STABLE.subs(q, qq)).rewrite(sp.log) - g.subs(s, S)))
    return out


def check_follower_formula(qs=None) -> list:
    """``y(t_A) - FOLLOWER_AT_LEADER_HIT`` with ``y(t) = CONTINUOUS_SOLUTION(y0)`` and ``t_A`` the leader's
    hitting time from ``(1+delta) y0``, for concrete q (default 3..8); each simplifies to 0."""
    import sympy as sp

    e = expressions()
    q, x0 = e.q, e.x0
    out = []
    for qq in _qs(qs):
        y_t = e.CONTINUOUS_SOLUTION.subs(q, qq).subs(x0, e.y0)
        tA_leader = e.CONTINUOUS_HITTING_TIME.subs(q, qq).subs(x0, e._leader)
        resid = y_t.subs(e.t, tA_leader) - e.FOLLOWER_AT_LEADER_HIT.subs(q, qq)
        out.append(sp.simplify(resid))
    return out


# ============================================================================= numerics
def _check_q(qv) -> int:
    if isinstance(qv, bool) or int(qv) != qv or int(qv) < 3:
        raise ValueError(f"q={qv!r}: the tensor-power lemma needs an integer q >= 3")
    return int(qv)


def _pos(name, value):
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name}={value!r}: must be positive and finite")
    return arr


def _below(name, value, A_):
    if np.any(np.asarray(value) >= np.asarray(A_)):
        raise ValueError(f"{name}={value!r} must lie below the level A={A_!r}")


def _out(arr):
    arr = np.asarray(arr, dtype=float)
    return float(arr) if arr.ndim == 0 else arr


def continuous_solution(x0, eta, C, q, t):
    """x(t) = (x0^-(q-2) - (q-2) eta C t)^(-1/(q-2)); NaN at or after the blow-up time."""
    q = _check_q(q)
    x0_, eta_, C_ = _pos("x0", x0), _pos("eta", eta), _pos("C", C)
    t_ = np.asarray(t, dtype=float)
    base = x0_ ** (-(q - 2)) - (q - 2) * eta_ * C_ * t_
    with np.errstate(invalid="ignore", divide="ignore"):
        val = np.where(base > 0, _numeric()._f_solution(x0_, eta_, C_, q, np.where(base > 0, t_, 0.0)), np.nan)
    return _out(val)


def continuous_hitting_time(x0, eta, C, q, A):
    """t_A = (x0^-(q-2) - A^-(q-2)) / ((q-2) eta C)."""
    q = _check_q(q)
    args = _pos("x0", x0), _pos("eta", eta), _pos("C", C), q, _pos("A", A)
    _below("x0", x0, A)
    return _out(_numeric()._f_hit(*args))


def discrete_hitting_time_bounds(x0, eta, C, q, A):
    """Rigorous real-valued bounds ``(lo, hi)`` with ``lo <= T < hi`` for the discrete hitting time.

    With ``l = ln(A/x0)`` and ``S = eta C A^(q-2)``: ``lo = t_A + max(a l, (q-1)/2 l - c_-)`` and
    ``hi = 1 + min(t_A + b l, t_A + (q-1)/2 l + c_+, t_A / g(S))`` (proof in the module docstring).
    Vectorised over array arguments.
    """
    q = _check_q(q)
    args = _pos("x0", x0), _pos("eta", eta), _pos("C", C), q, _pos("A", A)
    _below("x0", x0, A)
    return _out(_numeric()._f_lo(*args)), _out(_numeric()._f_hi(*args))


def discrete_hitting_time_bounds_int(x0, eta, C, q, A):
    """Integer bounds ``(ceil(lo), ceil(hi) - 1)`` on T, both inclusive."""
    lo, hi = discrete_hitting_time_bounds(x0, eta, C, q, A)
    lo_i, hi_i = np.ceil(lo), np.ceil(hi) - 1
    if np.ndim(lo_i) == 0:
        return int(lo_i), int(hi_i)
    return lo_i.astype(np.int64), hi_i.astype(np.int64)


def crude_hitting_time_bounds(x0, eta, C, q, A):
    """The crude bounds ``(t_A, 1 + t_A (1 + S)^(q-1))`` for comparison."""
    q = _check_q(q)
    args = _pos("x0", x0), _pos("eta", eta), _pos("C", C), q, _pos("A", A)
    _below("x0", x0, A)
    return _out(_numeric()._f_lo_crude(*args)), _out(_numeric()._f_hi_crude(*args))


def threshold_step(eta, C, q, A):
    """S = eta C A^(q-2), the relative step size at the level A."""
    return _out(_numeric()._f_step(_pos("eta", eta), _pos("C", C), _check_q(q), _pos("A", A)))


def loss_coefficients(S_value, q):
    """``(a(S), b(S))``: per unit of ``ln x`` the discrete recursion loses between a and b ODE time."""
    q = _check_q(q)
    S_ = _pos("S", S_value)
    return _out(_numeric()._f_a(S_, q)), _out(_numeric()._f_b(S_, q))


def loss_constants(S_value, q):
    """``(c_-, c_+)``: the lost time is at least ``(q-1)/2 ln(x_T/x0) - c_-`` and less than
    ``(q-1)/2 ln(x_{T-1}/x0) + c_+``."""
    q = _check_q(q)
    S_ = _pos("S", S_value)
    return _out(_numeric()._f_clo(S_, q)), _out(_numeric()._f_chi(S_, q))


def follower_at_leader_hit(y0, delta, eta, C, q, A):
    """Continuous-time follower value when the leader ``(1+delta) y0`` hits A:
    ``(y0^-(q-2) (1 - (1+delta)^-(q-2)) + A^-(q-2))^(-1/(q-2))`` (``eta C`` cancels)."""
    q = _check_q(q)
    args = _pos("y0", y0), _pos("delta", delta), _pos("eta", eta), _pos("C", C), q, _pos("A", A)
    _below("(1+delta) y0", (1 + np.asarray(delta)) * np.asarray(y0), A)
    return _out(_numeric()._f_follower(*args))


def follower_spec_approximation(y0, delta, q):
    """The spec's approximation ``y0 ((q-2) delta)^(-1/(q-2))`` of :func:`follower_at_leader_hit`."""
    q = _check_q(q)
    return _out(_numeric()._f_follower_spec(_pos("y0", y0), _pos("delta", delta), q))


def _bisect_log(fun, lo, hi, want_upper, iters=200):
    """Root of a decreasing ``fun`` in ``[lo, hi]`` (log-space bisection, vectorised).

    Returns the bracket end on the requested side: the point where ``fun <= 0`` (``want_upper``) or
    ``fun > 0`` (otherwise), so the result is a rigorous bound on the root up to ``fun``'s own rounding.
    """
    a, b = np.log(lo), np.log(hi)
    for _ in range(iters):
        m = 0.5 * (a + b)
        pos = fun(np.exp(m)) > 0
        a = np.where(pos, m, a)
        b = np.where(pos, b, m)
    return np.exp(b) if want_upper else np.exp(a)


def follower_at_leader_hit_bounds(y0, delta, eta, C, q, A):
    """Rigorous bounds ``(lo, hi)`` on the discrete follower value ``y_{T_x}`` (module docstring, "the race").

    ``y_{T_x}^-(q-2) = y(t_A)^-(q-2) - (q-2) eta C D`` with ``D = (T_x - t_A) - L^y``, where ``T_x - t_A``
    is bounded as in :func:`discrete_hitting_time_bounds` and the follower's lost time ``L^y`` lies in
    ``[max(a l_y, (q-1)/2 l_y - c_-), min(b l_y, (q-1)/2 l_y + c_+ (1+S)^(q-2))]``, ``l_y = ln(y/y0)``.
    """
    q = _check_q(q)
    p = q - 2
    y0_, d_, eta_, C_, A_ = (_pos("y0", y0), _pos("delta", delta), _pos("eta", eta), _pos("C", C),
                             _pos("A", A))
    x0_ = (1 + d_) * y0_
    _below("(1+delta) y0", x0_, A_)
    k = eta_ * C_
    S_ = k * A_ ** p
    a_, b_ = _numeric()._f_a(S_, q), _numeric()._f_b(S_, q)
    c_lo, c_hi = _numeric()._f_clo(S_, q), _numeric()._f_chi(S_, q) * (1 + S_) ** p
    half = (q - 1) / 2
    lag_lo = _numeric()._f_lag_lo(x0_, eta_, C_, q, A_)   # T_x - t_A >= lag_lo
    lag_hi = _numeric()._f_lag_hi(x0_, eta_, C_, q, A_)   # T_x - t_A <  lag_hi
    vc = _numeric()._f_follower(y0_, d_, eta_, C_, q, A_) ** (-p)
    ceiling = A_ * (1 + S_)

    def upper_eq(y):  # decreasing in y; y_T lies where it is >= 0
        ly = np.log(y / y0_)
        return y ** (-p) - vc + p * k * (lag_hi - np.maximum(a_ * ly, half * ly - c_lo))

    def lower_eq(y):  # decreasing in y; y_T lies where it is <= 0
        ly = np.log(y / y0_)
        return y ** (-p) - vc + p * k * (lag_lo - np.minimum(b_ * ly, half * ly + c_hi))

    y0b, ceil_b = np.broadcast_arrays(y0_, ceiling)
    hi = np.where(upper_eq(ceil_b) > 0, ceil_b, _bisect_log(upper_eq, y0b, ceil_b, want_upper=True))
    lo = np.where(lower_eq(ceil_b) > 0, ceil_b, _bisect_log(lower_eq, y0b, ceil_b, want_upper=False))
    lo = np.maximum(lo, y0b)
    return _out(lo), _out(hi)


def follower_at_leader_hit_error_bound(y0, delta, eta, C, q, A):
    """Relative discretisation error bounds ``(lo, hi)``: ``y_{T_x} / y(t_A) - 1`` lies in ``[lo, hi]``."""
    lo, hi = follower_at_leader_hit_bounds(y0, delta, eta, C, q, A)
    yc = follower_at_leader_hit(y0, delta, eta, C, q, A)
    return _out(np.asarray(lo) / yc - 1), _out(np.asarray(hi) / yc - 1)


def hitting_time_ratio(delta, q):
    """Follower-to-leader hitting-time ratio ``(1+delta)^(q-2)`` (continuous time, x0/A -> 0)."""
    return _out(_numeric()._f_ratio(_pos("delta", delta), _check_q(q)))


def hitting_time_ratio_continuous(y0, delta, q, A):
    """Exact continuous-time ratio ``t_A(y0) / t_A((1+delta) y0)`` at finite A."""
    q = _check_q(q)
    _below("(1+delta) y0", (1 + np.asarray(delta)) * np.asarray(y0), A)
    return _out(_numeric()._f_ratio_cont(_pos("y0", y0), _pos("delta", delta), q, _pos("A", A)))


def hitting_time_ratio_bounds(y0, delta, eta, C, q, A):
    """Rigorous bounds ``(lo_y / hi_x, hi_y / lo_x)`` on the discrete ratio ``T_y / T_x``."""
    x0_ = (1 + np.asarray(delta, float)) * np.asarray(y0, float)
    lo_x, hi_x = discrete_hitting_time_bounds(x0_, eta, C, q, A)
    lo_y, hi_y = discrete_hitting_time_bounds(y0, eta, C, q, A)
    return _out(np.asarray(lo_y) / hi_x), _out(np.asarray(hi_y) / lo_x)


def hitting_time_ratio_error_bound(y0, delta, eta, C, q, A):
    """Largest distance of :func:`hitting_time_ratio_bounds` from ``(1+delta)^(q-2)``: the discrete ratio
    ``T_y / T_x`` is within this of ``(1+delta)^(q-2)`` (finite-A and discretisation error together)."""
    lo, hi = hitting_time_ratio_bounds(y0, delta, eta, C, q, A)
    r = hitting_time_ratio(delta, q)
    return _out(np.maximum(np.asarray(hi) - r, r - np.asarray(lo)))


def loglog_slope_bounds(x0_grid, eta, C, q, A):
    """Bounds on the least-squares slope of ``ln T`` against ``ln x0`` over a grid of starting points.

    The slope is ``sum_i w_i ln T_i`` with ``w_i = (ln x0_i - mean) / sum (ln x0_j - mean)^2``; with
    ``ln T_i`` in ``[ln lo_i, ln hi_i]`` its extremes take the lower or upper end by the sign of ``w_i``.
    """
    xs, w = _slope_weights(x0_grid)
    lo, hi = discrete_hitting_time_bounds(xs, eta, C, q, A)
    centre = np.log(lo).mean()   # sum w = 0: centring changes nothing but the rounding
    llo, lhi = np.log(lo) - centre, np.log(hi) - centre
    return (float(np.sum(np.where(w > 0, w * llo, w * lhi))),
            float(np.sum(np.where(w > 0, w * lhi, w * llo))))


def _slope_weights(x0_grid):
    xs = _pos("x0_grid", x0_grid)
    if xs.ndim != 1 or xs.size < 2:
        raise ValueError("x0_grid must be a 1-d grid of at least two starting points")
    lx = np.log(xs)
    return xs, (lx - lx.mean()) / np.sum((lx - lx.mean()) ** 2)


def continuous_loglog_slope(x0_grid, eta, C, q, A):
    """Least-squares slope of ``ln t_A`` on ``ln x0`` over a grid: the spec's continuous-time closed form at
    finite ``A`` (no discretisation lag).

    ``t_A = (x0^-(q-2) - A^-(q-2)) / ((q-2) eta C)``, so the slope depends on the grid, ``q`` and ``A`` only
    (``eta C`` is a factor of ``t_A``); it is steeper than ``-(q-2)`` and tends to it as ``x0 / A -> 0``.
    """
    xs, w = _slope_weights(x0_grid)
    log_t = np.log(continuous_hitting_time(xs, eta, C, q, A))
    return float(np.sum(w * (log_t - log_t.mean())))   # sum w = 0: centring only reduces the rounding


def asymptotic_exponent(q):
    """The spec's exponent ``-(q-2)``: ``t_A ~ x0^-(q-2) / ((q-2) eta C)`` as ``x0 / A -> 0``."""
    return -float(_check_q(q) - 2)
