"""Huang, Wen, Chi, Liang (ICLR 2025): one-layer softmax ViT trained by MAE or contrastive learning.

Closed forms used by the ``vit.*`` claims, as SymPy expressions in the geometry and the training
constants.  Symbols: ``P`` patches, ``C1`` the global-area size, ``C`` the local-area size, ``gamma`` the
masking ratio, ``z`` the (constant) per-area scalar, ``eta`` the step size, ``K`` the number of clusters
(each with weight ``pi = 1/K``), ``t`` the step.

Conventions are those of docs/papers/vit.md §2-§3: softmax over all ``P`` keys (masked keys carry value
0), i.i.d. Bernoulli(gamma) masks, MAE loss ``1/2 sum_{p in M} ||F_p - X_p||^2`` averaged over images,
zero initialisation.  Everything here is a function of parameters only.
"""
from __future__ import annotations

import math
from functools import lru_cache

#: The SymPy symbols, module attributes made at first access (SymPy loads then).
SYMBOL_NAMES = ("P", "C1", "C", "gamma", "z", "eta", "K", "t", "kappa_s", "kappa_c")


@lru_cache(maxsize=None)
def symbols() -> dict:
    """``{name: SymPy symbol}`` for :data:`SYMBOL_NAMES`, created at first use."""
    import sympy as sp

    geometry = sp.symbols("P C_1 C_loc gamma z eta K t", positive=True)
    exponents = sp.symbols("kappa_s kappa_c", real=True)
    return dict(zip(SYMBOL_NAMES, geometry + exponents))


def _geometry() -> tuple:
    """``(P, C1, C, gamma, z, eta, K, t)``."""
    return tuple(symbols()[name] for name in SYMBOL_NAMES[:8])


def __getattr__(name):
    if name in SYMBOL_NAMES:
        return symbols()[name]
    if name == "sp":
        import sympy

        return sympy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ------------------------------------------------------------------------------------------ the gap
def information_gap():
    """``Delta = 2 kappa_s - kappa_c - 1`` with ``C_1 = P^kappa_s`` and ``C_loc = P^kappa_c``.

    ``P^Delta = (C_1/P)^2 / (C_loc/P)``: the initial pull of a masked local query away from the global
    area over its pull toward its own area (docs/papers/vit.md §1, [R]).
    """
    kappa_s, kappa_c = symbols()["kappa_s"], symbols()["kappa_c"]
    return 2 * kappa_s - kappa_c - 1


def finite_gap():
    """Non-asymptotic gap ``log(C_1^2 / (P C_loc)) / log P`` (equals Delta when ``C = P^kappa`` exactly)."""
    import sympy as sp

    P, C1, C, gamma, z, eta, K, t = _geometry()
    return sp.log(C1 ** 2 / (P * C)) / sp.log(P)


def finite_gap_value(P_: int, C1_: int, C_: int) -> float:
    P, C1, C, gamma, z, eta, K, t = _geometry()
    return float(finite_gap().subs({P: P_, C1: C1_, C: C_}))


# ------------------------------------------------------------------------------- binomial moments
def binomial_moments(m, r):
    """Raw moments ``(E n, E n^2, E n^3)`` of ``n ~ Bin(m, r)`` (from the factorial moments)."""
    f1 = m * r
    f2 = m * (m - 1) * r ** 2
    f3 = m * (m - 1) * (m - 2) * r ** 3
    return f1, f2 + f1, f3 + 3 * f2 + f1


# -------------------------------------------------------------------------------- initial rates
def initial_rates(query: str = "local", own_counted_visible: bool = False):
    """Expected first-step increments ``Delta Phi / eta`` of a query's FP correlations at ``Q = 0``.

    At zero initialisation every key has attention ``1/P``, so the area attention of a masked query is
    ``A_b = n_b / P`` with ``n_b`` the visible patches of area ``b`` (``n_own ~ Bin(C_own - 1, 1-gamma)``,
    the query itself being masked; ``n_b ~ Bin(C_b, 1-gamma)`` otherwise, all independent).  From the
    exact gradient (docs/papers/vit.md §3.1) with ``g_pq = a_pq <F_p - X_p, X~_q - F_p>``:

    .. math::
        \\frac{\\Delta\\Phi_{\\rm target}}{\\eta} = \\pi\\gamma z^3\\,
            \\mathbb E\\Big[\\frac{n_a}{P}\\Big(1-\\frac{2n_a}{P}+\\sum_c\\frac{n_c^2}{P^2}\\Big)\\Big],\\qquad
        \\frac{\\Delta\\Phi_{\\rm global}}{\\eta} = -\\pi\\gamma z^3\\,
            \\mathbb E\\Big[\\frac{n_1}{P}\\Big(\\frac{n_1+n_a}{P}-\\sum_c\\frac{n_c^2}{P^2}\\Big)\\Big].

    (The spec's section 3.2 writes the leading orders with ``z^2``; the score's derivative in ``Phi``
    carries one more ``z``, hence ``z^3``.)

    Parameters
    ----------
    query : {"local", "global"}
        Where the query patch lies; for a global query only ``"target"`` is returned.
    own_counted_visible : bool
        Count the query patch itself among the visible candidates of its own area
        (``n_own ~ Bin(C_own, 1-gamma)``): the near-miss of forgetting that the query is masked.

    Returns
    -------
    dict of SymPy expressions: ``target``, ``global`` (local query only), ``ratio = -global/target``.
    """
    P, C1, C, gamma, z, eta, K, t = _geometry()
    r = 1 - gamma
    pi = 1 / K
    n_loc = (P - C1) / C                                   # local areas per cluster
    own = 0 if own_counted_visible else 1
    if query == "local":
        a1, a2, a3 = binomial_moments(C - own, r)          # own (local) area, query masked
        g1, g2, g3 = binomial_moments(C1, r)               # global area
        o1, o2, _ = binomial_moments(C, r)                 # each other local area
        others2 = (n_loc - 1) * o2
        target = pi * gamma * z ** 3 / P * (a1 - 2 * a2 / P + (a3 + a1 * (g2 + others2)) / P ** 2)
        glob = -pi * gamma * z ** 3 * ((g2 + g1 * a1) / P ** 2 - (g1 * a2 + g3 + g1 * others2) / P ** 3)
        return {"target": target, "global": glob, "ratio": -glob / target}
    if query == "global":
        a1, a2, a3 = binomial_moments(C1 - own, r)
        o1, o2, _ = binomial_moments(C, r)
        target = pi * gamma * z ** 3 / P * (a1 - 2 * a2 / P + (a3 + a1 * n_loc * o2) / P ** 2)
        return {"target": target}
    raise ValueError("query must be 'local' or 'global'")


def leading_rates():
    """The leading orders of docs/papers/vit.md §3.2: target ``pi gamma (1-gamma) (C/P) z^3``, global
    ``-pi gamma (1-gamma)^2 (C1/P)^2 z^3`` (the own area counted with ``C`` visible candidates)."""
    P, C1, C, gamma, z, eta, K, t = _geometry()
    pi = 1 / K
    return {"target": pi * gamma * (1 - gamma) * C / P * z ** 3,
            "global": -pi * gamma * (1 - gamma) ** 2 * (C1 / P) ** 2 * z ** 3}


def evaluate(expr, **values) -> float:
    """Numerical value of an expression for named parameters (``P=64, C1=32, C=4, gamma=0.5, z=1, K=2``)."""
    P, C1, C, gamma, z, eta, K, t = _geometry()
    names = {"P": P, "C1": C1, "C": C, "gamma": gamma, "z": z, "eta": eta, "K": K, "t": t}
    return float(expr.subs({names[k]: v for k, v in values.items()}))


def phase_boundary_C1(P_: int, C_: int, gamma_: float) -> float:
    """The global-area size at which the exact initial rates balance (``ratio = 1``), as a real number.

    Below it a masked local query starts with its target FP dominating (one phase); above it the global
    FP moves faster first (two phases).  Solved on ``C_loc <= C1 <= P - C_loc``.
    """
    import sympy as sp

    P, C1, C, gamma, z, eta, K, t = _geometry()
    ratio = initial_rates("local")["ratio"].subs({P: P_, C: C_, gamma: gamma_, z: 1, K: 1})
    f = sp.lambdify(C1, ratio - 1, "math")
    lo, hi = float(C_), float(P_ - C_)
    if f(lo) > 0 or f(hi) < 0:
        raise ValueError(f"no phase boundary for P={P_}, C_loc={C_}, gamma={gamma_}")
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if f(mid) < 0 else (lo, mid)
    return 0.5 * (lo + hi)


# ------------------------------------------------------------------------------------------ phase I
def phase1_law():
    """Heuristic phase-I law for the global-area attention ``A_1`` of a masked local query.

    While ``A_1`` dominates, ``Delta Phi_global ~ -eta pi gamma z^3 A_1^2`` and
    ``dA_1/dPhi_global ~ z A_1``, so ``dA_1/dt ~ -c A_1^3`` with ``c = eta pi gamma z^4`` and

    .. math::  A_1(t)^{-2} = A_1(0)^{-2} + 2\\,\\eta\\,\\pi\\gamma z^4\\,t ,

    the spec's ``A_1^{-2}(0) + 2 eta z^2 t`` with the cluster weight, masking rate and score factor made
    explicit.  Returns ``(A_1(0), slope of A_1^{-2} in t)``.
    """
    P, C1, C, gamma, z, eta, K, t = _geometry()
    return (1 - gamma) * C1 / P, 2 * eta * gamma * z ** 4 / K


def phase1_softmax_factor():
    r"""The factor the phase-I law leaves out, bracketed over phase I: ``(1 - A_1(0), 1 - A_1(T_1))``.

    With the softmax derivative ``dA_1/dPhi_global = z A_1 (1 - A_1)`` the law becomes
    ``dA_1/dt ~ -c A_1^3 (1 - A_1)``, so the slope of ``A_1^{-2}`` in ``t`` is ``2c (1 - A_1(t))``.  Over phase
    I, ``A_1`` falls from ``A_1(0) = (1-gamma) C_1/P`` to its end value ``A_1(T_1) = sqrt((1-gamma)(C_loc-1)/P)``
    (:func:`phase1_duration`), so a straight-line fit of ``A_1^{-2}`` has slope ratio (measured / law) inside

    .. math::  \Big[1-\frac{(1-\gamma)C_1}{P},\ 1-\sqrt{\frac{(1-\gamma)(C_{loc}-1)}{P}}\Big].
    """
    import sympy as sp

    P, C1, C, gamma, z, eta, K, t = _geometry()
    a0, _ = phase1_law()
    return 1 - a0, 1 - sp.sqrt((1 - gamma) * (C - 1) / P)


def phase1_duration():
    """``T_1``: the phase-I law run until the global pull equals the leading target pull,
    ``A_1^2 = (1-gamma)(C_loc - 1)/P`` (i.e. ``A_1 = Theta(P^{(kappa_c-1)/2})``); zero when the gap is small.

    .. math::  T_1 = \\frac{P/((1-\\gamma)(C_{loc}-1)) - P^2/((1-\\gamma)^2C_1^2)}{2\\eta\\pi\\gamma z^4}.
    """
    import sympy as sp

    P, C1, C, gamma, z, eta, K, t = _geometry()
    a0, slope = phase1_law()
    a_end_sq = (1 - gamma) * (C - 1) / P
    return sp.Max(0, (1 / a_end_sq - 1 / a0 ** 2) / slope)


# -------------------------------------------------------------------------------------- time scales
def tstar_order():
    """The theorem's order ``T* = O(P^{1-kappa_c} log P / eta + 1/(eta eps))`` with ``P^{1-kappa_c} = P/C``.

    The exponent of ``P/C_loc`` in the first term is 1; as an upper-bound order this bounds the fitted
    log-log slope of ``T*`` against ``P/C_loc`` from above (up to the log factor).
    """
    import sympy as sp

    P, C1, C, gamma, z, eta, K, t = _geometry()
    eps = sp.Symbol("epsilon", positive=True)
    return (P / C) * sp.log(P) / eta + 1 / (eta * eps)


TSTAR_EXPONENT = 1.0        # exponent of P/C_loc in the T* (and T_2 - T_1) order
ETA_EXPONENT = -1.0         # eta T* is invariant in eta


# ---------------------------------------------------------------------------------------- optimum
def optimal_loss():
    """Population infimum of the MAE loss (docs/papers/vit.md §2.2) for identical clusters with constant ``z``:

    .. math::  \\mathcal L^* = \\tfrac12\\big(C_1\\gamma^{C_1} + (P-C_1)\\gamma^{C_{loc}}\\big)z^2 ,

    the masked patches whose whole area is masked (probability ``gamma * gamma^(C-1)`` per patch).
    """
    import sympy as sp

    P, C1, C, gamma, z, eta, K, t = _geometry()
    return sp.Rational(1, 2) * (C1 * gamma ** C1 + (P - C1) * gamma ** C) * z ** 2


def collapse_global_attention_initial():
    """Global-area attention of any query at ``Q = 0``: ``(1-gamma) C1 / P`` (expected visible share)."""
    P, C1, C, gamma, z, eta, K, t = _geometry()
    return (1 - gamma) * C1 / P


def phase2_duration():
    """Heuristic length of phase II, ``T_2 - T_1``, for a masked local query.

    Once the global pull is spent, ``F_p ~ A_a z v_a`` and the exact target rate reduces to
    ``dPhi_t/dt ~ eta pi gamma z^3 A_a (1 - A_a)^2`` with ``dA_a/dPhi_t = z A_a (1 - A_a)``, so

    .. math::  T_2-T_1=\\frac{1}{\\eta\\pi\\gamma z^4}\\int_{A_0}^{1/2}\\frac{dA}{A^2(1-A)^3},
               \\qquad A_0=\\frac{(1-\\gamma)(C_{loc}-1)}{P},

    which is ``~ P / ((1-gamma)(C_loc-1) eta pi gamma z^4)``: linear in ``P/C_loc`` (exponent 1).
    """
    import sympy as sp

    P, C1, C, gamma, z, eta, K, t = _geometry()
    A = sp.Symbol("A", positive=True)
    a0 = (1 - gamma) * (C - 1) / P
    antider = sp.integrate(1 / (A ** 2 * (1 - A) ** 3), A)
    integral = antider.subs(A, sp.Rational(1, 2)) - antider.subs(A, a0)
    return K * integral / (eta * gamma * z ** 4)


def attention_growth_integral(a0: float, a1: float) -> float:
    r"""``int_{a0}^{a1} dA / (A^2 (1-A)^3)`` in closed form (``0 < a0 < a1 < 1``), by partial fractions

    .. math::  \frac{1}{A^2(1-A)^3} = \frac1{A^2}+\frac3A+\frac1{(1-A)^3}+\frac2{(1-A)^2}+\frac3{1-A},
               \qquad F(A) = -\frac1A + 3\log\frac{A}{1-A} + \frac1{2(1-A)^2} + \frac2{1-A}.
    """
    def F(a):
        return -1 / a + 3 * math.log(a / (1 - a)) + 1 / (2 * (1 - a) ** 2) + 2 / (1 - a)
    return F(a1) - F(a0)


def phase2_duration_value(P_, C_, gamma_, z_, K_, eta_) -> float:
    """Numerical ``T_2 - T_1`` (the integral evaluated by quadrature of the closed form)."""
    a0 = (1 - gamma_) * (C_ - 1) / P_
    return K_ * attention_growth_integral(a0, 0.5) / (eta_ * gamma_ * z_ ** 4)


def tstar_mean_field(P_: int, C1_: int, C_: int, gamma_: float, K_: int, eta_: float, eps_: float,
                     query: str = "local") -> float:
    r"""Mean-field ``T*`` of a query (own-area attention ``1 - eps``): the phase-I law (local queries only)
    followed by the phase-II growth law of :func:`phase2_duration` run on to ``1 - eps``:

    .. math::  T^*_q = T_1\,[q\ {\rm local}] + \frac{K}{\eta\gamma}\int_{A_0}^{1-\epsilon}
               \frac{dA}{A^2(1-A)^3},\qquad A_0 = \frac{(1-\gamma)(C_q - 1)}{P}.

    A heuristic order (it ignores mask fluctuations and the other areas' share of ``F_p``); the claims
    use it to size step budgets, never as a verdict's prediction.
    """
    own = C_ if query == "local" else C1_
    t1 = 0.0
    if query == "local":
        t1 = evaluate(phase1_duration(), P=P_, C1=C1_, C=C_, gamma=gamma_, z=1, K=K_, eta=eta_)
    a0 = (1 - gamma_) * (own - 1) / P_
    return t1 + K_ * attention_growth_integral(a0, 1 - eps_) / (eta_ * gamma_)


def order_ratio_diluted(P_: int, C1_: int, C_: int, gamma_: float, eps_: float) -> float:
    r"""The spec's learning-order heuristic with the mean-field tail put back (a sharpening, not a bound).

    docs/papers/vit.md §4 orders the areas by their heads alone, ``T*_local/T*_global ~ C_global/C_local``.
    Here the global query's mean-field head (own-area attention from ``A_0 = (1-gamma)(C_global-1)/P`` to
    1/2) is multiplied by that factor, and both queries share the mean-field tail from 1/2 to ``1 - eps``:

    .. math::  r = \frac{(C_1/C)\,h + \tau}{h + \tau},\qquad h = \int_{A_0}^{1/2}\frac{dA}{A^2(1-A)^3},
               \quad \tau = \int_{1/2}^{1-\epsilon}\frac{dA}{A^2(1-A)^3}.

    The common factor ``K/(eta gamma)`` cancels; ``r -> C_1/C`` as the tail vanishes and ``r -> 1`` as it
    dominates.
    """
    head = attention_growth_integral((1 - gamma_) * (C1_ - 1) / P_, 0.5)
    tail = attention_growth_integral(0.5, 1 - eps_) if eps_ < 0.5 else 0.0
    return (C1_ / C_ * head + tail) / (head + tail)
