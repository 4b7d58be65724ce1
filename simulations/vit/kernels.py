"""Numba kernels of the one-layer softmax attention model in the (Phi, Upsilon) parametrisation.

For a sample ``s`` (cluster ``k``, per-area scalars ``z``) and a query patch ``p`` the scores are

.. math::  s_{p,q} = \\Upsilon_{p,q} + \\mathbf 1\\{q\\in\\mathcal U\\}\\,z_{b(q)}\\,\\Phi_{p,f(b(q))},

and :math:`a_{p\\to q}=\\mathrm{softmax}_q(s_{p,q})` over all keys (or over the visible keys only).  Every
visible key of area ``b`` shares the feature factor, so
:math:`e^{s_{p,q}}=e^{\\Upsilon_{p,q}}\\,e^{z_b\\Phi_{p,f(b)}}`: one exponential per area, not per key.
With the area attention :math:`A_{p,b}=\\sum_{q\\in b\\cap\\mathcal U}a_{p\\to q}` the output in feature
coordinates is :math:`F_p[f(b)]=z_bA_{p,b}`.  For an upstream gradient :math:`R=\\partial\\ell/\\partial F_p`,
with :math:`\\rho_b=z_bR[f(b)]` on visible keys (0 on masked ones) and :math:`\\bar\\rho=\\sum_b\\rho_bA_{p,b}`,

.. math::  \\frac{\\partial\\ell}{\\partial\\Upsilon_{p,q}} = a_{p\\to q}(\\rho_{b(q)}-\\bar\\rho),\\qquad
           \\frac{\\partial\\ell}{\\partial\\Phi_{p,f(b)}} = z_b\\,A_{p,b}\\,(\\rho_b-\\bar\\rho).

Keys are addressed through ``code[q]``: the feature index of a visible key, or the slot ``F`` for a
masked key (whose feature factor is 1, or 0 when masked keys are left out of the softmax).  Every kernel
loops over query rows ``p`` outermost, so each row of the gradient is written by one iteration only.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def position_factors(Ups):
    """``exp(Upsilon[p, q] - max_r Upsilon[p, r])``: the position part of every score, once per call."""
    P = Ups.shape[0]
    EU = np.empty_like(Ups)
    for p in range(P):
        mx = Ups[p, 0]
        for q in range(1, P):
            if Ups[p, q] > mx:
                mx = Ups[p, q]
        for q in range(P):
            EU[p, q] = np.exp(Ups[p, q] - mx)
    return EU


@njit(cache=True, nogil=True)
def _attend(Phi, Ups, EU, p, code, z, f0, masked_in, EF, e, A):
    """Unnormalised attention ``e[q]`` of query ``p`` for one sample and its area attention ``A``.

    On return ``A[f0 + j]`` holds the (normalised) attention on the visible keys of area ``j`` and
    ``e / tot`` is the attention row; returns ``1 / tot`` (0.0 when no key enters the softmax).
    """
    P = code.shape[0]
    N = z.shape[0]
    F = EF.shape[0] - 1
    shift = 0.0
    for j in range(N):
        v = z[j] * Phi[p, f0 + j]
        if v > shift:
            shift = v
    for j in range(N):
        EF[f0 + j] = np.exp(z[j] * Phi[p, f0 + j] - shift)
        A[f0 + j] = 0.0
    EF[F] = np.exp(-shift) if masked_in else 0.0
    A[F] = 0.0
    tot = 0.0
    for q in range(P):
        c = code[q]
        v = EU[p, q] * EF[c]
        e[q] = v
        A[c] += v
        tot += v
    if tot < 1e-250:
        # the two factors peak on different keys: redo the row with an exact max shift
        mx = -np.inf
        for q in range(P):
            c = code[q]
            if c == F and not masked_in:
                continue
            v = Ups[p, q] + (0.0 if c == F else z[c - f0] * Phi[p, c])
            if v > mx:
                mx = v
        if mx == -np.inf:
            return 0.0
        tot = 0.0
        for j in range(N):
            A[f0 + j] = 0.0
        A[F] = 0.0
        for q in range(P):
            c = code[q]
            if c == F:
                v = np.exp(Ups[p, q] - mx) if masked_in else 0.0
            else:
                v = np.exp(Ups[p, q] + z[c - f0] * Phi[p, c] - mx)
            e[q] = v
            A[c] += v
            tot += v
    inv = 1.0 / tot
    for j in range(N):
        A[f0 + j] *= inv
    return inv


@njit(cache=True, nogil=True)
def _backward(p, e, inv, A, rho, code, z, f0, scale, gPhi, gUps):
    """Add ``scale * dl/dParams`` of one (sample, query) pair; ``rho[f] = z_b R[f]`` (``rho[F] = 0``)."""
    P = code.shape[0]
    N = z.shape[0]
    bar = 0.0
    for j in range(N):
        bar += rho[f0 + j] * A[f0 + j]
    c0 = scale * inv
    for q in range(P):
        gUps[p, q] += c0 * e[q] * (rho[code[q]] - bar)
    for j in range(N):
        f = f0 + j
        gPhi[p, f] += scale * z[j] * A[f] * (rho[f] - bar)


@njit(cache=True, nogil=True)
def mae_loss_grad(Phi, Ups, code, masked, z_area, cluster, target, own_visible, n_areas, masked_in,
                  gPhi, gUps, own_acc, glob_acc, count):
    """MAE loss ``(1/n) sum_s 1/2 sum_{p masked} ||F_p - X_p||^2``, its gradient and attention statistics.

    Parameters
    ----------
    Phi : (P, F) ; Ups : (P, P)
    code, masked, target, own_visible : (n, P) sample arrays of :class:`Batch` (``target[s, p]`` is the
        feature index of patch ``p``)
    z_area : (n, N) ; cluster : (n,) ; n_areas : int
    masked_in : bool
        Masked keys enter the softmax (with value 0).
    gPhi, gUps : zeroed outputs, shapes of Phi and Ups
    own_acc, glob_acc, count : zeroed (K, P) outputs: sums over samples with ``own_visible`` of the
        own-area and global-area attention of masked query ``p``, and their number.

    Returns
    -------
    float
        The loss.
    """
    n, P = code.shape
    F = Phi.shape[1]
    EU = position_factors(Ups)
    e = np.empty(P)
    EF = np.empty(F + 1)
    A = np.zeros(F + 1)
    rho = np.zeros(F + 1)
    inv_n = 1.0 / n
    loss = 0.0
    for p in range(P):
        for s in range(n):
            if masked[s, p] == 0:
                continue
            k = cluster[s]
            f0 = k * n_areas
            t = target[s, p]
            z = z_area[s]
            zt = z[t - f0]
            inv = _attend(Phi, Ups, EU, p, code[s], z, f0, masked_in, EF, e, A)
            if inv == 0.0:
                loss += 0.5 * inv_n * zt * zt
                continue
            sq = 0.0
            for j in range(n_areas):
                f = f0 + j
                r = z[j] * A[f] - (zt if f == t else 0.0)     # residual F_p - X_p
                sq += r * r
                rho[f] = z[j] * r
            loss += 0.5 * inv_n * sq
            _backward(p, e, inv, A, rho, code[s], z, f0, inv_n, gPhi, gUps)
            if own_visible[s, p]:
                own_acc[k, p] += A[t]
                glob_acc[k, p] += A[f0]
                count[k, p] += 1.0
    return loss


@njit(cache=True, nogil=True)
def pooled_forward(Phi, Ups, code, z_area, cluster, pool, n_areas, masked_in, G, area_acc, count):
    """Pooled representation ``G[s] = sum_p pool[s, p] F_p`` and the summed area attention of every query.

    Parameters
    ----------
    pool : (n, P) pooling weights (``1/P`` for mean pooling)
    G : zeroed (n, F) output
    area_acc : zeroed (K, P, n_areas) output: sum over pooled samples of the area attention of query ``p``
    count : zeroed (K, P) output
    """
    n, P = code.shape
    F = Phi.shape[1]
    EU = position_factors(Ups)
    e = np.empty(P)
    EF = np.empty(F + 1)
    A = np.zeros(F + 1)
    for p in range(P):
        for s in range(n):
            c = pool[s, p]
            if c == 0.0:
                continue
            k = cluster[s]
            f0 = k * n_areas
            z = z_area[s]
            if _attend(Phi, Ups, EU, p, code[s], z, f0, masked_in, EF, e, A) == 0.0:
                continue
            for j in range(n_areas):
                G[s, f0 + j] += c * z[j] * A[f0 + j]
                area_acc[k, p, j] += A[f0 + j]
            count[k, p] += 1.0


@njit(cache=True, nogil=True)
def pooled_backward(Phi, Ups, code, z_area, cluster, pool, n_areas, masked_in, dG, gPhi, gUps):
    """Gradient of a loss of ``G`` (upstream ``dG``, shape (n, F)) into zeroed ``gPhi`` and ``gUps``."""
    n, P = code.shape
    F = Phi.shape[1]
    EU = position_factors(Ups)
    e = np.empty(P)
    EF = np.empty(F + 1)
    A = np.zeros(F + 1)
    rho = np.zeros(F + 1)
    for p in range(P):
        for s in range(n):
            c = pool[s, p]
            if c == 0.0:
                continue
            f0 = cluster[s] * n_areas
            z = z_area[s]
            inv = _attend(Phi, Ups, EU, p, code[s], z, f0, masked_in, EF, e, A)
            if inv == 0.0:
                continue
            for j in range(n_areas):
                rho[f0 + j] = z[j] * dG[s, f0 + j]
            _backward(p, e, inv, A, rho, code[s], z, f0, c, gPhi, gUps)
