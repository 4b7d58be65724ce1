"""Predictions for mask-reconstruction pretraining (Pan, Zhou & Yan) and the AZL multi-view baseline.

Built on the tensor-power lemma (:mod:`derivations.tensor_power`).  Everything here is a pure function
of parameters; the SymPy expressions are the source and are lambdified for numbers.

Early phase.  While every correlation ``c = <w, v>`` is below the smoothed-ReLU threshold ``varrho``,
``relu~'(z) = (z / varrho)^(q-1)`` and the projection of the gradient on ``v`` gives

* SL (AZL network, docs/papers/mrp.md §5):  ``c_{t+1} = c_t + eta C_SL c_t^(q-1)``,
  ``C_SL = (1 - 1/k) varrho^-(q-1) E[1{v in V(X), y = i} sum_{p in P_v} z_p^q]
  - (1/k) varrho^-(q-1) E[1{v in V'(X)} sum_p z_p^q]``;
* MRP, pooled decoder ``b = 1``, teacher = student at init: the residual is the cross-patch term
  ``theta (1 - theta) sum_{p != p'} a_{p'} relu~'(<w, x_p>) x_p`` and
  ``c_{t+1} = c_t + eta C_MRP c_t^(2q-1)``, ``C_MRP = theta (1-theta) / (q varrho^(2q-2))
  E[1{v in V(X)} sum_{p != p' in P_v} z_p^q z_{p'}^q]`` — a tensor-power recursion of power ``2q``;
* MRP, per-patch prediction (``c_r = 1/(theta P)``), teacher = student at init: the same projection gives
  a self term of positive sign larger than the cross term whenever ``P > 3``, so ``C < 0`` (the kernels
  shrink): :func:`patch_decoder_growth_sign`.

The coefficients ``z_p`` split a total ``S`` over ``C_p = 2`` patches by a uniform Dirichlet, so
``E[z_1^q + z_2^q] = 2 E[S^q] / (q + 1)`` and ``E[z_1^q z_2^q] = E[S^(2q)] B(q+1, q+1)``.
"""
from __future__ import annotations

import math

import sympy as sp

from . import tensor_power

z, rho_s, q_s = sp.symbols("z varrho q", positive=True)
k_s, mu_s, theta_s, wk_s, P_s = sp.symbols("k mu theta rho_w P", positive=True)


def smoothed_relu_expr(q: int | sp.Symbol = q_s, varrho=rho_s) -> sp.Piecewise:
    """AZL smoothed ReLU as a SymPy ``Piecewise`` in ``z``."""
    return sp.Piecewise((0, z <= 0), (z ** q / (q * varrho ** (q - 1)), z <= varrho),
                        (z - (1 - sp.Integer(1) / q) * varrho, True))


def smoothed_relu_derivative_expr(q=q_s, varrho=rho_s) -> sp.Piecewise:
    return sp.Piecewise((0, z <= 0), ((z / varrho) ** (q - 1), z <= varrho), (1, True))


def check_smoothed_relu(q: int = 3, varrho: float = sp.Rational(1, 10)) -> tuple:
    """(value jump, slope jump) at ``z = varrho`` and the derivative residual; all simplify to 0."""
    lo = z ** q / (q * varrho ** (q - 1))
    hi = z - (1 - sp.Integer(1) / q) * varrho
    return (sp.simplify((lo - hi).subs(z, varrho)),
            sp.simplify((sp.diff(lo, z) - sp.diff(hi, z)).subs(z, varrho)),
            sp.simplify(sp.diff(lo, z) - smoothed_relu_derivative_expr(q, varrho).args[1][0]))


def _moment_uniform(a, b, n):
    """E[S^n] for S ~ U[a, b]."""
    a, b, n = sp.nsimplify(a), sp.nsimplify(b), sp.Integer(n) if isinstance(n, int) else n
    return (b ** (n + 1) - a ** (n + 1)) / ((n + 1) * (b - a))


def sum_zq(a, b, q, C_p: int = 2):
    """``E[sum_{p in P_v} z_p^q]`` for a total ``S ~ U[a, b]`` split by a uniform Dirichlet over C_p patches.

    ``z_p = S u_p`` with ``u ~ Dir(1..1)``; ``E[u_p^q] = q! (C_p - 1)! / (q + C_p - 1)!``.
    """
    q = int(q)
    e_u = sp.factorial(q) * sp.factorial(C_p - 1) / sp.factorial(q + C_p - 1)
    return C_p * _moment_uniform(a, b, q) * e_u


def cross_zq(a, b, q):
    """``E[sum_{p != p'} z_p^q z_p'^q]`` for C_p = 2: ``2 E[S^(2q)] B(q+1, q+1)``."""
    q = int(q)
    return 2 * _moment_uniform(a, b, 2 * q) * sp.factorial(q) ** 2 / sp.factorial(2 * q + 1)


def growth_constant_sl(k, q, varrho, mu, rho_w, s=2, Gamma=0.2):
    """``C_SL`` of the early-phase recursion ``c <- c + eta C c^(q-1)`` for a class-i kernel and v_{i,l}.

    Own class: multi-view samples (prob (1-mu)/k) carry ``S ~ U[1, 1.5]``; single-view samples (mu/k)
    carry it as the strong view with prob 1/2 and ``rho_w S`` otherwise.  Other classes' samples carry v
    as an off-class feature with prob ``s/k`` and pull it down with weight ``logit_i ~ 1/k``.
    """
    q = int(q)
    own = ((1 - mu) / k) * sum_zq(1, 1.5, q) + (mu / k) * sp.Rational(1, 2) * (
        sum_zq(1, 1.5, q) + sp.nsimplify(rho_w) ** q * sum_zq(1, 1.5, q))
    off = ((k - 1) / k) * (s / k) * ((1 - mu) * sum_zq(0.1, 0.4, q) + mu * sum_zq(0.05, Gamma, q))
    return float((1 - sp.Integer(1) / k) * own / varrho ** (q - 1) - off / (k * varrho ** (q - 1)))


def growth_constant_mrp(k, q, varrho, mu, rho_w, theta, decoder="fixed"):
    """Early-phase constant of ``c <- c + eta C c^(2q-1)`` for MRP with the teacher equal to the student.

    ``decoder="fixed"`` or ``"learned"`` (``b = 1`` at init): the cross-patch term above.  ``"patch"``:
    returns the (negative) net constant of :func:`patch_decoder_growth_sign`.
    """
    q = int(q)
    freq = (1 - mu) / k * cross_zq(1, 1.5, q) + (mu / k) * sp.Rational(1, 2) * (
        cross_zq(1, 1.5, q) * (1 + sp.nsimplify(rho_w) ** (2 * q)))
    pooled = theta * (1 - theta) * freq / (q * varrho ** (2 * q - 2))
    if decoder in ("fixed", "learned"):
        return float(pooled)
    if decoder == "patch":
        return float(patch_decoder_growth_sign(theta, 25) * abs(pooled))
    raise ValueError(f"decoder={decoder!r}")


def patch_decoder_growth_sign(theta, P) -> int:
    """Sign of the early-phase growth under per-patch prediction with the student as teacher.

    For a kernel on one feature with two patches of equal activation ``a``, ``dL/da_j`` equals
    ``(1-theta) a [-2/P^2 + 1/P - 1/P^2 + (1-theta)(P-1)/(theta P^2)]``; positive (shrinking) iff the
    bracket is positive.
    """
    th, Pn = sp.nsimplify(theta), sp.Integer(int(P))
    bracket = -2 / Pn ** 2 + 1 / Pn - 1 / Pn ** 2 + (1 - th) * (Pn - 1) / (th * Pn ** 2)
    return -1 if bracket > 0 else 1


def expected_max_gaussian(n: int) -> float:
    """``E max`` of n standard normals (Blom approximation), the init scale of Lambda^(0) / sigma_0."""
    from scipy.stats import norm

    return float(norm.ppf((n - 0.375) / (n + 0.25)))


def predicted_hitting_time(x0, eta, C, q_eff, A):
    """Continuous-time hitting time of the level ``A`` from ``x0`` (tensor-power lemma, power q_eff)."""
    return float(tensor_power.continuous_hitting_time(x0, eta, C, q_eff, A))


def sl_hitting_time(x0, eta, k, q, varrho, mu, rho_w, A=None, s=2, Gamma=0.2):
    """SL: time for ``c_t`` to reach ``A`` (default ``varrho``) from ``x0``."""
    C = growth_constant_sl(k, q, varrho, mu, rho_w, s, Gamma)
    return predicted_hitting_time(x0, eta, C, q, varrho if A is None else A)


def capture_time_units(sigma0: float, n_kernels: int, q: int, varrho: float) -> float:
    r"""The tensor-power lemma's hitting time of ``varrho``, ``x' = eta C x^(q-1)``, from the typical leading
    initial correlation of a feature ``x_0 = sigma_0 E[max of n_kernels standard normals]``, in units of
    ``1 / (eta C varrho^(q-2))``:

    .. math::  \eta C \varrho^{q-2}\, t_\varrho = \frac{(\varrho/x_0)^{q-2} - 1}{q - 2}

    (:func:`derivations.tensor_power.continuous_hitting_time`).  Its ratio between two settings is how a
    pretraining budget scales with the init and the power when ``C varrho^(q-2)`` is comparable.
    """
    x0 = float(sigma0) * expected_max_gaussian(int(n_kernels))
    q = int(q)
    return ((float(varrho) / x0) ** (q - 2) - 1.0) / (q - 2)


def mrp_hitting_time(x0, eta, k, q, varrho, mu, rho_w, theta, A=None):
    """MRP (pooled decoder, student teacher): hitting time with the effective power ``2q``."""
    C = growth_constant_mrp(k, q, varrho, mu, rho_w, theta)
    return predicted_hitting_time(x0, eta, C, 2 * q, varrho if A is None else A)


def lottery_winner(lam0_view1: float, lam0_view2: float) -> int:
    """The view that wins the SL lottery: the larger initial correlation (0 or 1)."""
    return 0 if lam0_view1 >= lam0_view2 else 1


def follower_ratio(delta: float, q: int) -> float:
    """Hitting time of the follower over the leader's, ``(1 + delta)^(q-2)`` (tensor-power lemma)."""
    return float(tensor_power.hitting_time_ratio(delta, q))


def single_view_accuracy_sl(f_both: float = 0.0) -> float:
    """SL single-view accuracy: ``(1 + f_2) / 2``; the theory's limit ``f_2 -> 0`` gives 1/2.

    A class that learned one view classifies its single-view samples whose strong view is that view
    (half of them); a class that learned both classifies all.
    """
    return 0.5 * (1.0 + f_both)


def single_view_accuracy_ensemble(K: int, f_both: float = 0.0) -> float:
    """Average of K independent SL models: wrong only if every model missed the strong view,
    ``1 - ((1 - f_2) / 2)^K``; ``f_2 = 0`` gives AZL's ``1 - 2^-K``."""
    return 1.0 - ((1.0 - f_both) / 2.0) ** int(K)


def sl_total_error_over_mu(f_both: float = 0.0) -> float:
    """SL test error / mu: ``(1 - f_2)/2`` (multi-view error ~ 0)."""
    return 0.5 * (1.0 - f_both)


# ------------------------------------------------------------------ regime conditions (made explicit)
def init_below_threshold(sigma0: float, M: int, varrho: float, factor: float = 3.0) -> bool:
    """``sigma_0 sqrt(2 log M) <= varrho / factor``: a polynomial phase exists (the expected largest of M
    initial correlations is a factor below the capture threshold)."""
    return sigma0 * math.sqrt(2 * math.log(max(M, 2))) <= varrho / factor


def noise_below_threshold(sigma_p: float, gamma: float, d: int, k: int, varrho: float,
                          project_noise: bool) -> bool:
    """A learned feature (``Lambda ~ log k``) must not fire noise along itself: ``(gamma + sigma_p) log k
    <= varrho / 2`` unless the Gaussian noise is projected off span(V) (then only ``gamma`` counts)."""
    lam = max(math.log(k), 1.0)
    along_v = gamma + (0.0 if project_noise else sigma_p)
    return along_v * lam <= varrho / 2


def single_view_per_class_view(mu: float, N: int, k: int) -> float:
    """Expected single-view training samples per (class, strong view): ``mu N / (2k)``."""
    return mu * N / (2 * k)


def memorisation_regime(mu: float, N: int, k: int, cap: float = 2.0) -> bool:
    """AZL's regime has ``mu N / k = k^0.2`` (~1-2) single-view samples per class, so memorising their
    noise is cheaper than learning the losing view; we require at most ``cap`` per (class, view)."""
    return single_view_per_class_view(mu, N, k) <= cap


def random_kernel_purity(n_features: int, ratio: float = 0.3, threshold_over_scale: float = 0.0) -> float:
    """Purity of a random Gaussian kernel: ``P[c_(2) < ratio * c_(1) | c_(1) >= t]``.

    The correlations ``c_f = <w, v_f>`` of a kernel ``w ~ N(0, sigma^2 I_d)`` with ``n`` orthonormal features
    are i.i.d. ``N(0, sigma^2)``; with ``x = c_(1) / sigma`` the largest, the other ``n - 1`` all lie below
    ``ratio * x`` with probability ``Phi(ratio x)^(n-1)``, so

    ``P = int_t^inf n phi(x) Phi(ratio x)^(n-1) dx / (1 - Phi(t)^n)``,  ``t = threshold / sigma``

    (a kernel counts as captured when its largest correlation reaches the threshold).  This is the purity of
    a student that copies a fixed random teacher of scale ``sigma``.
    """
    from scipy import integrate
    from scipy.stats import norm

    n, t = int(n_features), float(threshold_over_scale)
    num, _ = integrate.quad(lambda x: n * norm.pdf(x) * norm.cdf(ratio * x) ** (n - 1), t, math.inf)
    return float(num / (1.0 - norm.cdf(t) ** n))


def sl_view_coverage(f_both: float, f_none: float = 0.0) -> float:
    """Fraction of the 2k (class, view) features SL captured: ``(1 + f_2 - f_0)/2``.

    By the class-by-class accounting it is also SL's single-view accuracy: a class with one learned view
    classifies the half of its single-view samples whose strong view it learned, a two-view class all, a
    class with none none (``(f_1/2 + f_2) = (1 + f_2 - f_0)/2``).
    """
    return 0.5 * (1.0 + f_both - f_none)


def teacher_miss_probability(n_kernels: int, threshold_over_scale: float) -> float:
    """Probability that a fixed random teacher has no kernel on a given feature: ``(1 - Q(t))^M``.

    The teacher's ``M = km`` kernels ``w_r ~ N(0, sigma_T^2 I_d)`` have i.i.d. ``N(0, sigma_T^2)`` correlations
    with a unit feature ``v``; none reaches the capture threshold ``varrho`` with probability
    ``Phi(t)^M``, ``t = varrho / sigma_T``.  A student that distils the teacher cannot capture a feature
    its teacher does not carry, so this is the expected fraction of features lost to the teacher.
    """
    return float((0.5 * math.erfc(-float(threshold_over_scale) / math.sqrt(2.0))) ** int(n_kernels))


def sl_dead_class_probability(sigma0: float, m: int, k: int, q: int, T: int, hitting_time_at_sigma0: float) -> float:
    """Probability that some class of the AZL network captures no view within ``T`` steps (AZL's event fails).

    By the tensor-power recursion the hitting time of ``varrho`` scales as ``x0^-(q-2)``, so a class
    reaches ``varrho`` within ``T`` iff its leading initial correlation exceeds
    ``x* = sigma0 (t(sigma0)/T)^(1/(q-2))``, ``t(sigma0)`` the hitting time from ``sigma0``.  The leader is the
    largest of the class's ``2m`` i.i.d. ``N(0, sigma0^2)`` (kernel, view) correlations, below ``x*`` with
    probability ``p = Phi(x*/sigma0)^(2m)``; with ``k`` independent classes the event fails with probability
    ``1 - (1 - p)^k``.
    """
    x_ratio = (float(hitting_time_at_sigma0) / float(T)) ** (1.0 / (int(q) - 2))
    p_class = (0.5 * math.erfc(-x_ratio / math.sqrt(2.0))) ** (2 * int(m))
    return float(1.0 - (1.0 - p_class) ** int(k))
