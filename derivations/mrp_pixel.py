"""Bernoulli-mask moments of the pixel-target MRP loss (Pan, Zhou & Yan; docs/papers/mrp.md §2.5).

Keep-mask ``eps_p ~ Bernoulli(theta)`` i.i.d. over the ``P`` patches (``eps_p = 1`` keeps patch ``p``).  The
loss ``1/(2P) E sum_p (1 - eps_p) ||x_p - U sum_q eps_q a_q||^2`` needs three moments,

    m_1 = E[1 - eps_p] = 1 - theta,
    m_2 = E[(1 - eps_p) eps_q]          = theta (1 - theta)      (q != p; 0 for q = p),
    m_3 = E[(1 - eps_p) eps_q eps_q']   = (1 - theta) theta^2    (q != q', both != p),
    m_3' = E[(1 - eps_p) eps_q^2]       = (1 - theta) theta      (q != p),

which are derived here from the Bernoulli law (``eps^2 = eps``, independence) and combined into the
coefficients of the closed form:

    c_0 = m_1,  c_1 = m_2,  c_2 (P - 2) = m_3 (P - 2),  c_K = m_3 + (m_3' - m_3) (P - 1)

(``sum_p ||U S_{-p}||^2 = (P - 2) ||U S||^2 + sum_p ||U a_p||^2`` with ``S_{-p} = S - a_p``, and
``sum_p sum_{q != p} ||U a_q||^2 = (P - 1) sum_q ||U a_q||^2``).  The SymPy work runs on first call.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

theta_s, P_s = sp.symbols("theta P", positive=True)


def _bernoulli_moment(pattern: tuple[int, ...]) -> sp.Expr:
    """``E[prod_j f_j(eps_j)]`` for independent keep bits, ``pattern[j]`` the power of ``eps`` (>= 1) or
    ``-1`` for the factor ``1 - eps``; indices are distinct patches."""
    e = sp.Symbol("e")
    out = sp.Integer(1)
    for power in pattern:
        f = (1 - e) if power == -1 else e ** power
        out *= f.subs(e, 1) * theta_s + f.subs(e, 0) * (1 - theta_s)   # E over one Bernoulli(theta) bit
    return sp.simplify(out)


@lru_cache(maxsize=None)
def mask_moments() -> dict[str, sp.Expr]:
    """The four moments ``m_1, m_2, m_3, m_3'`` as SymPy expressions in ``theta``."""
    return {"m1": _bernoulli_moment((-1,)), "m2": _bernoulli_moment((-1, 1)),
            "m3": _bernoulli_moment((-1, 1, 1)), "m3_same": _bernoulli_moment((-1, 2))}


@lru_cache(maxsize=None)
def loss_coefficients_expr() -> tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr]:
    """``(c_0, c_1, c_2 (P - 2), c_K)`` of the closed-form loss, in ``theta`` and ``P``."""
    m = mask_moments()
    return (m["m1"], m["m2"], sp.expand(m["m3"] * (P_s - 2)),
            sp.expand(m["m3"] + (m["m3_same"] - m["m3"]) * (P_s - 1)))


def loss_coefficients(theta: float, P: int) -> tuple[float, float, float, float]:
    """The coefficients as numbers."""
    return tuple(float(c.subs({theta_s: theta, P_s: P})) for c in loss_coefficients_expr())
