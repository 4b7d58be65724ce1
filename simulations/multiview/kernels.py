"""Fused elementwise kernels around the two BLAS products of a GD step.

The smoothed ReLU of Allen-Zhu & Li with threshold ``varrho`` and integer power ``q``:

    relu~(z)  = 0                              z <= 0
              = z^q / (q varrho^(q-1))         0 <= z <= varrho
              = z - (1 - 1/q) varrho           z >= varrho
    relu~'(z) = 0, (z/varrho)^(q-1), 1         on the same pieces.

Layout.  Every kernel works on the transposed pre-activations ``ZT[r, a P + p] = <w_r, x_{a,p}>`` of
shape (M, n P), the output of the BLAS product ``W @ XT`` (``XT`` = the patches as columns), so that
each kernel ``r`` and sample ``a`` own a contiguous run of ``P`` entries.  A step computes

* ``ZT = W @ XT`` (BLAS);
* one fused pass for the pooled activations ``H[r, a] = sum_p relu~(ZT)`` and ``Q[r, a] = sum_p relu~^2``;
* one fused pass, in place, for the back-propagated pre-activation gradient (for the cross-entropy
  networks the first pass already leaves ``relu~'`` in place and the second only scales it)
  ``G[r, a P + p] = relu~'(z) (c1[r, a] + c2[r] relu~(z) + c3[r] AT[r, a P + p])``;
* ``grad W = G @ X`` (BLAS).

Every loss of the package has this form.  Powers are integer products (no ``pow``).
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def _powi(u, n):
    out = 1.0
    for _ in range(n):
        out *= u
    return out


@njit(cache=True, nogil=True, inline="always")
def _act(z, varrho, q):
    """Branch-free ``relu~(z) = (varrho/q) u^q + max(z - varrho, 0)``, ``u = clip(z / varrho, 0, 1)``."""
    u = min(max(z / varrho, 0.0), 1.0)
    return varrho / q * _powi(u, q) + max(z - varrho, 0.0)


@njit(cache=True, nogil=True, inline="always")
def _dact(z, varrho, q):
    """Branch-free ``relu~'(z) = u^(q-1)``."""
    return _powi(min(max(z / varrho, 0.0), 1.0), q - 1)


@njit(cache=True, nogil=True)
def smoothed_relu(Z, varrho, q):
    """Elementwise ``relu~`` of an array of any shape; returns a new array."""
    flat = Z.ravel()
    out = np.empty(flat.size)
    for i in range(flat.size):
        out[i] = _act(flat[i], varrho, q)
    return out.reshape(Z.shape)


@njit(cache=True, nogil=True)
def smoothed_relu_grad(Z, varrho, q):
    """Elementwise ``relu~'``."""
    flat = Z.ravel()
    out = np.empty(flat.size)
    for i in range(flat.size):
        out[i] = _dact(flat[i], varrho, q)
    return out.reshape(Z.shape)


@njit(cache=True, nogil=True)
def pool(ZT, P, varrho, q):
    """``H[r, a] = sum_p relu~(ZT[r, aP+p])`` and ``Q[r, a] = sum_p relu~(.)^2``, each of shape (M, n)."""
    M, nP = ZT.shape
    n = nP // P
    H = np.empty((M, n))
    Q = np.empty((M, n))
    c = varrho / q
    inv = 1.0 / varrho
    for r in range(M):
        for a in range(n):
            s = 0.0
            s2 = 0.0
            for i in range(a * P, a * P + P):
                z = ZT[r, i]
                u = min(max(z * inv, 0.0), 1.0)
                v = c * _powi(u, q) + max(z - varrho, 0.0)
                s += v
                s2 += v * v
            H[r, a] = s
            Q[r, a] = s2
    return H, Q


@njit(cache=True, nogil=True)
def pool_keep_grad(ZT, P, varrho, q):
    """``H`` as in :func:`pool`, and ``ZT`` overwritten in place with ``relu~'(ZT)`` (cross-entropy
    networks need only the derivative afterwards)."""
    M, nP = ZT.shape
    n = nP // P
    H = np.empty((M, n))
    c = varrho / q
    inv = 1.0 / varrho
    for r in range(M):
        for a in range(n):
            s = 0.0
            for i in range(a * P, a * P + P):
                z = ZT[r, i]
                u = min(max(z * inv, 0.0), 1.0)
                d = _powi(u, q - 1)
                s += c * d * u + max(z - varrho, 0.0)
                ZT[r, i] = d
            H[r, a] = s
    return H


@njit(cache=True, nogil=True)
def scale_grad(D, P, C1):
    """``D[r, aP+p] *= C1[r, a]`` in place (the pre-activation gradient of a cross-entropy network)."""
    M, nP = D.shape
    n = nP // P
    for r in range(M):
        for a in range(n):
            g = C1[r, a]
            for i in range(a * P, a * P + P):
                D[r, i] *= g
    return D


@njit(cache=True, nogil=True)
def backprop(ZT, P, C1, c2, c3, AT, varrho, q):
    """Overwrite ``ZT`` with ``relu~'(z) (C1[r, a] + c2[r] relu~(z) + c3[r] AT[r, aP+p])``.

    ``C1`` has shape (M, n); ``c2``, ``c3`` shape (M,); pass ``AT`` of shape (0, 0) when ``c3`` is unused.
    Returns ``ZT`` (now the gradient with respect to the pre-activations).
    """
    M, nP = ZT.shape
    n = nP // P
    use_t = AT.shape[0] > 0
    c = varrho / q
    inv = 1.0 / varrho
    for r in range(M):
        k2 = c2[r]
        k3 = c3[r]
        for a in range(n):
            g0 = C1[r, a]
            for i in range(a * P, a * P + P):
                z = ZT[r, i]
                u = min(max(z * inv, 0.0), 1.0)
                d = _powi(u, q - 1)
                g = g0 + k2 * (c * d * u + max(z - varrho, 0.0))
                if use_t:
                    g += k3 * AT[r, i]
                ZT[r, i] = d * g
    return ZT


@njit(cache=True, nogil=True)
def assemble_preact(Zd, dense_idx, oh_idx, oh_col, oh_val, W, nP):
    """``ZT`` (M, n P) from the dense rows' product ``Zd`` (M, n_dense) and the one-nonzero rows:
    ``ZT[:, dense_idx[j]] = Zd[:, j]``, ``ZT[:, oh_idx[j]] = W[:, oh_col[j]] oh_val[j]``."""
    M = W.shape[0]
    ZT = np.empty((M, nP))
    for r in range(M):
        for j in range(dense_idx.size):
            ZT[r, dense_idx[j]] = Zd[r, j]
        for j in range(oh_idx.size):
            ZT[r, oh_idx[j]] = W[r, oh_col[j]] * oh_val[j]
    return ZT


@njit(cache=True, nogil=True)
def split_grad(G, dense_idx, oh_idx, oh_col, oh_val, d):
    """The dense rows' columns of ``G`` (M, n_dense) for a BLAS product, and the one-nonzero rows'
    contribution ``sum_j G[:, oh_idx[j]] oh_val[j] e_{oh_col[j]}`` to ``G @ X`` (M, d)."""
    M = G.shape[0]
    Gd = np.empty((M, dense_idx.size))
    gW = np.zeros((M, d))
    for r in range(M):
        for j in range(dense_idx.size):
            Gd[r, j] = G[r, dense_idx[j]]
        for j in range(oh_idx.size):
            gW[r, oh_col[j]] += G[r, oh_idx[j]] * oh_val[j]
    return Gd, gW


@njit(cache=True, nogil=True)
def split_pool_keep_grad(Zd, dense_idx, oh_idx, oh_col, oh_val, W, n, P, varrho, q):
    """:func:`pool_keep_grad` on the split layout of :class:`losses.Batch`, without assembling ``ZT``.

    ``Zd`` (M, n_dense) holds the dense rows' pre-activations, ``Zd[:, j]`` of patch ``dense_idx[j]``; a
    one-nonzero patch ``oh_idx[j]`` has ``z = W[r, oh_col[j]] oh_val[j]``.  Returns ``H`` (M, n) and
    overwrites ``Zd`` in place with ``relu~'(z)`` (the one-nonzero rows' ``relu~'`` is recomputed by
    :func:`split_scale_grad`).  Each sample's dense and one-nonzero patches are visited in two branch-free
    runs (both index lists are sorted) and their activations summed in patch order, so ``H`` equals
    :func:`pool_keep_grad`'s bit for bit.
    """
    M = Zd.shape[0]
    nd, no = dense_idx.size, oh_idx.size
    H = np.empty((M, n))
    v = np.empty(P)
    c = varrho / q
    inv = 1.0 / varrho
    for r in range(M):
        jd = 0
        jo = 0
        for a in range(n):
            base = a * P
            end = base + P
            while jd < nd and dense_idx[jd] < end:
                z = Zd[r, jd]
                u = min(max(z * inv, 0.0), 1.0)
                d = _powi(u, q - 1)
                v[dense_idx[jd] - base] = c * d * u + max(z - varrho, 0.0)
                Zd[r, jd] = d
                jd += 1
            while jo < no and oh_idx[jo] < end:
                z = W[r, oh_col[jo]] * oh_val[jo]
                u = min(max(z * inv, 0.0), 1.0)
                v[oh_idx[jo] - base] = c * _powi(u, q - 1) * u + max(z - varrho, 0.0)
                jo += 1
            s = 0.0
            for p in range(P):
                s += v[p]
            H[r, a] = s
    return H


@njit(cache=True, nogil=True)
def split_scale_grad(D, dense_idx, oh_idx, oh_col, oh_val, W, n, P, C1, varrho, q, d):
    """:func:`scale_grad` followed by :func:`split_grad` on the split layout, in one pass.

    ``D`` (M, n_dense) is the dense rows' ``relu~'`` left by :func:`split_pool_keep_grad`; it is scaled in
    place, ``D[r, j] *= C1[r, a]``, ready for the BLAS product ``D @ Xd``.  Returns the one-nonzero rows'
    contribution to ``grad W``, ``gW[r, oh_col[j]] += relu~'(z) C1[r, a] oh_val[j]`` (M, d), accumulated in
    the order of :func:`split_grad`.
    """
    M = D.shape[0]
    nd, no = dense_idx.size, oh_idx.size
    gW = np.zeros((M, d))
    inv = 1.0 / varrho
    for r in range(M):
        jd = 0
        jo = 0
        for a in range(n):
            g = C1[r, a]
            end = (a + 1) * P
            while jd < nd and dense_idx[jd] < end:
                D[r, jd] *= g
                jd += 1
            while jo < no and oh_idx[jo] < end:
                col = oh_col[jo]
                val = oh_val[jo]
                u = min(max(W[r, col] * val * inv, 0.0), 1.0)
                gW[r, col] += _powi(u, q - 1) * g * val
                jo += 1
    return gW


@njit(cache=True, nogil=True)
def split_mrp_pooled(Zd, dense_idx, oh_idx, oh_col, oh_val, W, n, P, T, b, theta, c2, varrho, q, d):
    """The pooled-MRP step's elementwise work on the split layout, one pass per (kernel, sample).

    For every kernel ``r`` and sample ``a``: :func:`pool`'s ``H``, ``Q`` over the sample's patches, then
    ``C1 = -(t - b_r theta H) b_r theta / n`` with ``t = T[r, a]`` (``t = H`` when ``T`` has shape (0, 0):
    the stop-gradient teacher), then :func:`backprop`'s pre-activation gradient
    ``relu~'(z) (C1 + c2[r] relu~(z))`` of the same patches from per-patch buffers: written in place into
    ``Zd`` for the dense rows, scattered into ``gW`` (M, d) for the one-nonzero rows.  Every product and
    sum is evaluated as in the unfused path (``pool``, ``backprop``, ``split_grad``: ``u^q`` is
    ``u^(q-1) u`` there too), so the results are equal bit for bit.  Returns ``H``, ``Q``, ``gW``.
    """
    M = Zd.shape[0]
    nd, no = dense_idx.size, oh_idx.size
    H = np.empty((M, n))
    Q = np.empty((M, n))
    gW = np.zeros((M, d))
    v = np.empty(P)
    dv = np.empty(P)
    w = np.empty(P)
    own = T.shape[0] == 0
    c = varrho / q
    inv = 1.0 / varrho
    for r in range(M):
        bt = b[r] * theta
        k2 = c2[r]
        jd = 0
        jo = 0
        for a in range(n):
            base = a * P
            end = base + P
            jd0 = jd
            jo0 = jo
            while jd < nd and dense_idx[jd] < end:
                p = dense_idx[jd] - base
                z = Zd[r, jd]
                u = min(max(z * inv, 0.0), 1.0)
                dd = _powi(u, q - 1)
                lin = max(z - varrho, 0.0)
                v[p] = c * (dd * u) + lin
                dv[p] = dd
                w[p] = c * dd * u + lin
                jd += 1
            while jo < no and oh_idx[jo] < end:
                p = oh_idx[jo] - base
                z = W[r, oh_col[jo]] * oh_val[jo]
                u = min(max(z * inv, 0.0), 1.0)
                dd = _powi(u, q - 1)
                lin = max(z - varrho, 0.0)
                v[p] = c * (dd * u) + lin
                dv[p] = dd
                w[p] = c * dd * u + lin
                jo += 1
            s = 0.0
            s2 = 0.0
            for p in range(P):
                s += v[p]
                s2 += v[p] * v[p]
            H[r, a] = s
            Q[r, a] = s2
            t = s if own else T[r, a]
            g0 = -(t - bt * s) * b[r] * theta / n
            for j in range(jd0, jd):
                p = dense_idx[j] - base
                Zd[r, j] = dv[p] * (g0 + k2 * w[p])
            for j in range(jo0, jo):
                p = oh_idx[j] - base
                gW[r, oh_col[j]] += dv[p] * (g0 + k2 * w[p]) * oh_val[j]
    return H, Q, gW


@njit(cache=True, nogil=True)
def softmax_ce(F, y):
    """Mean cross-entropy of logits ``F`` (n, k): returns (loss, correct count, ``dL/dF`` of shape (n, k))."""
    n, k = F.shape
    dF = np.empty((n, k))
    loss = 0.0
    correct = 0
    for a in range(n):
        mx = F[a, 0]
        arg = 0
        for i in range(1, k):
            if F[a, i] > mx:
                mx = F[a, i]
                arg = i
        s = 0.0
        for i in range(k):
            e = np.exp(F[a, i] - mx)
            dF[a, i] = e
            s += e
        loss += np.log(s) - (F[a, y[a]] - mx)
        for i in range(k):
            dF[a, i] /= s * n
        dF[a, y[a]] -= 1.0 / n
        if arg == y[a]:
            correct += 1
    return loss / n, correct, dF


def warmup() -> None:
    """Compile every kernel on tiny inputs."""
    Z = np.linspace(-0.2, 0.3, 24).reshape(4, 6)
    for q in (3, 5):
        smoothed_relu(Z, 0.1, q)
        smoothed_relu_grad(Z, 0.1, q)
        pool(Z, 3, 0.1, q)
        backprop(Z.copy(), 3, np.ones((4, 2)), np.ones(4), np.zeros(4), np.zeros((0, 0)), 0.1, q)
        backprop(Z.copy(), 3, np.ones((4, 2)), np.ones(4), np.ones(4), Z.copy(), 0.1, q)
        scale_grad(Z.copy(), 3, np.ones((4, 2)))
        pool_keep_grad(Z.copy(), 3, 0.1, q)
    softmax_ce(np.ones((3, 2)), np.array([0, 1, 0]))
    idx = np.array([0, 2], dtype=np.int64)
    oh = np.array([1], dtype=np.int64)
    Zd = assemble_preact(np.ones((4, 2)), idx, oh, oh, np.ones(1), np.ones((4, 3)), 3)
    split_grad(Zd, idx, oh, oh, np.ones(1), 3)
