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

Split layout.  On data with the exact structure of :class:`losses.Batch` (a feature patch has one nonzero
coordinate) the ``split_*`` kernels never form ``ZT``: BLAS gives only the dense rows' block
``Zd = W[:, cols] @ Xd^T`` (M, n_dense), a one-nonzero row's pre-activation ``W[r, col] x`` is read from
``W``, and the backward operand is ``Zd`` overwritten in place, its one-nonzero rows scattered straight
into ``grad W``.  They evaluate every product and sum in the order of ``pool`` / ``pool_keep_grad`` /
``backprop`` / ``scale_grad`` followed by ``split_grad``, so their results are equal bit for bit.
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
def split_layout(dense_idx, oh_idx, n, P):
    """Index maps of the split layout (:class:`losses.Batch`) for the fused ``split_*`` kernels.

    The kernels keep one row of values per kernel ``r`` as ``[dense rows..., one-nonzero rows...]`` (the
    dense rows in the order of ``Zd``'s columns, the others in the order of ``oh_idx``).  Returns ``perm``
    (n P,): the position of patch ``i`` in that row; ``dsamp`` (n_dense,) and ``osamp`` (n_one,): the
    sample each dense and each one-nonzero row belongs to.
    """
    nd = dense_idx.size
    perm = np.empty(n * P, dtype=np.int64)
    dsamp = np.empty(nd, dtype=np.int64)
    osamp = np.empty(oh_idx.size, dtype=np.int64)
    for j in range(nd):
        perm[dense_idx[j]] = j
        dsamp[j] = dense_idx[j] // P
    for j in range(oh_idx.size):
        perm[oh_idx[j]] = nd + j
        osamp[j] = oh_idx[j] // P
    return perm, dsamp, osamp


@njit(cache=True, nogil=True, inline="always")
def _sums_by_sample(act, perm, n, P, h, q2, squares):
    """``h[a] = sum_p act[perm[a P + p]]`` (and ``q2[a]`` of the squares when ``squares``), each sum in
    patch order; four samples at a time, whose independent sums the CPU overlaps."""
    a = 0
    while a + 4 <= n:
        i0 = a * P
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        t0 = 0.0
        t1 = 0.0
        t2 = 0.0
        t3 = 0.0
        for p in range(P):
            v0 = act[perm[i0 + p]]
            v1 = act[perm[i0 + P + p]]
            v2 = act[perm[i0 + 2 * P + p]]
            v3 = act[perm[i0 + 3 * P + p]]
            s0 += v0
            s1 += v1
            s2 += v2
            s3 += v3
            if squares:
                t0 += v0 * v0
                t1 += v1 * v1
                t2 += v2 * v2
                t3 += v3 * v3
        h[a] = s0
        h[a + 1] = s1
        h[a + 2] = s2
        h[a + 3] = s3
        if squares:
            q2[a] = t0
            q2[a + 1] = t1
            q2[a + 2] = t2
            q2[a + 3] = t3
        a += 4
    while a < n:
        s = 0.0
        t = 0.0
        for i in range(a * P, a * P + P):
            v = act[perm[i]]
            s += v
            if squares:
                t += v * v
        h[a] = s
        if squares:
            q2[a] = t
        a += 1


@njit(cache=True, nogil=True, inline="always")
def _split_pool_keep_grad_q(Zd, perm, oh_col, oh_val, W, n, P, varrho, q, H, Doh):
    M, nd = Zd.shape
    no = oh_col.size
    act = np.empty(nd + no)
    c = varrho / q
    inv = 1.0 / varrho
    for r in range(M):
        for j in range(nd):
            z = Zd[r, j]
            u = min(max(z * inv, 0.0), 1.0)
            d = _powi(u, q - 1)
            act[j] = c * d * u + max(z - varrho, 0.0)
            Zd[r, j] = d
        for j in range(no):
            z = W[r, oh_col[j]] * oh_val[j]
            u = min(max(z * inv, 0.0), 1.0)
            d = _powi(u, q - 1)
            act[nd + j] = c * d * u + max(z - varrho, 0.0)
            Doh[r, j] = d
        _sums_by_sample(act, perm, n, P, H[r], H[r], False)


@njit(cache=True, nogil=True)
def split_pool_keep_grad(Zd, perm, dsamp, osamp, oh_col, oh_val, W, n, P, varrho, q):
    """:func:`pool_keep_grad` on the split layout of :class:`losses.Batch`, without assembling ``ZT``.

    ``Zd`` (M, n_dense) holds the dense rows' pre-activations (the BLAS product); a one-nonzero row ``j``
    has ``z = W[r, oh_col[j]] oh_val[j]``; ``perm``, ``dsamp``, ``osamp`` from :func:`split_layout`.
    Returns ``H`` (M, n) and ``Doh`` (M, n_one) = ``relu~'`` of the one-nonzero rows, and overwrites ``Zd``
    in place with ``relu~'``.  The activations of a kernel are computed in contiguous runs (with ``q``
    fixed at compile time for ``q`` in 3..6) and summed per sample in patch order, so ``H`` equals
    :func:`pool_keep_grad`'s bit for bit.
    """
    M = Zd.shape[0]
    H = np.empty((M, n))
    Doh = np.empty((M, oh_col.size))
    if q == 3:
        _split_pool_keep_grad_q(Zd, perm, oh_col, oh_val, W, n, P, varrho, 3, H, Doh)
    elif q == 4:
        _split_pool_keep_grad_q(Zd, perm, oh_col, oh_val, W, n, P, varrho, 4, H, Doh)
    elif q == 5:
        _split_pool_keep_grad_q(Zd, perm, oh_col, oh_val, W, n, P, varrho, 5, H, Doh)
    elif q == 6:
        _split_pool_keep_grad_q(Zd, perm, oh_col, oh_val, W, n, P, varrho, 6, H, Doh)
    else:
        _split_pool_keep_grad_q(Zd, perm, oh_col, oh_val, W, n, P, varrho, q, H, Doh)
    return H, Doh


@njit(cache=True, nogil=True)
def split_scale_grad(D, Doh, perm, dsamp, osamp, oh_col, oh_val, C1, d):
    """:func:`scale_grad` followed by :func:`split_grad` on the split layout, in one pass.

    ``D`` (M, n_dense) and ``Doh`` (M, n_one) are the ``relu~'`` left by :func:`split_pool_keep_grad`
    (``perm`` is unused: the arguments follow :func:`split_layout`'s order).
    ``D`` is scaled in place, ``D[r, j] *= C1[r, a]``, ready for the BLAS product ``D @ Xd``; returns the
    one-nonzero rows' contribution to ``grad W``, ``gW[r, oh_col[j]] += Doh[r, j] C1[r, a] oh_val[j]``
    (M, d), accumulated in the order of :func:`split_grad`.
    """
    M, nd = D.shape
    gW = np.zeros((M, d))
    for r in range(M):
        for j in range(nd):
            D[r, j] *= C1[r, dsamp[j]]
        for j in range(oh_col.size):
            gW[r, oh_col[j]] += Doh[r, j] * C1[r, osamp[j]] * oh_val[j]
    return gW


@njit(cache=True, nogil=True, inline="always")
def _split_mrp_pooled_q(Zd, perm, dsamp, osamp, oh_col, oh_val, W, n, P, T, b, theta, c2, varrho, q, H, Q, gW):
    M, nd = Zd.shape
    no = oh_col.size
    act = np.empty(nd + no)     # relu~ as pool computes it: c u^q + (z - varrho)^+
    act_b = np.empty(nd + no)   # relu~ as backprop computes it: c u^(q-1) u + (z - varrho)^+
    dact = np.empty(nd + no)
    g0 = np.empty(n)
    own = T.shape[0] == 0
    c = varrho / q
    inv = 1.0 / varrho
    for r in range(M):
        for j in range(nd):
            z = Zd[r, j]
            u = min(max(z * inv, 0.0), 1.0)
            d = _powi(u, q - 1)
            lin = max(z - varrho, 0.0)
            act[j] = c * (d * u) + lin
            act_b[j] = c * d * u + lin
            dact[j] = d
        for j in range(no):
            z = W[r, oh_col[j]] * oh_val[j]
            u = min(max(z * inv, 0.0), 1.0)
            d = _powi(u, q - 1)
            lin = max(z - varrho, 0.0)
            act[nd + j] = c * (d * u) + lin
            act_b[nd + j] = c * d * u + lin
            dact[nd + j] = d
        _sums_by_sample(act, perm, n, P, H[r], Q[r], True)
        bt = b[r] * theta
        k2 = c2[r]
        for a in range(n):
            s = H[r, a]
            t = s if own else T[r, a]
            g0[a] = -(t - bt * s) * b[r] * theta / n
        for j in range(nd):
            Zd[r, j] = dact[j] * (g0[dsamp[j]] + k2 * act_b[j])
        for j in range(no):
            gW[r, oh_col[j]] += dact[nd + j] * (g0[osamp[j]] + k2 * act_b[nd + j]) * oh_val[j]


@njit(cache=True, nogil=True)
def split_mrp_pooled(Zd, perm, dsamp, osamp, oh_col, oh_val, W, n, P, T, b, theta, c2, varrho, q, d):
    """The pooled-MRP step's elementwise work on the split layout (see :func:`split_pool_keep_grad`).

    For every kernel ``r``: the activations of all its patches in one contiguous run; then per sample
    ``a``, :func:`pool`'s ``H``, ``Q`` (sums in patch order), ``C1 = -(t - b_r theta H) b_r theta / n``
    with ``t = T[r, a]`` (``t = H`` when ``T`` has shape (0, 0): the stop-gradient teacher), and
    :func:`backprop`'s pre-activation gradient ``relu~'(z) (C1 + c2[r] relu~(z))``: in place into ``Zd``
    for the dense rows, scattered into ``gW`` (M, d) for the one-nonzero rows.  Every product and sum is
    evaluated as in the unfused path (``pool``, ``backprop``, ``split_grad``; ``u^q`` is ``u^(q-1) u``
    there too), so the results are equal bit for bit.  Returns ``H``, ``Q``, ``gW``.
    """
    M = Zd.shape[0]
    H = np.empty((M, n))
    Q = np.empty((M, n))
    gW = np.zeros((M, d))
    if q == 3:
        _split_mrp_pooled_q(Zd, perm, dsamp, osamp, oh_col, oh_val, W, n, P, T, b, theta, c2, varrho, 3, H, Q, gW)
    elif q == 4:
        _split_mrp_pooled_q(Zd, perm, dsamp, osamp, oh_col, oh_val, W, n, P, T, b, theta, c2, varrho, 4, H, Q, gW)
    elif q == 5:
        _split_mrp_pooled_q(Zd, perm, dsamp, osamp, oh_col, oh_val, W, n, P, T, b, theta, c2, varrho, 5, H, Q, gW)
    elif q == 6:
        _split_mrp_pooled_q(Zd, perm, dsamp, osamp, oh_col, oh_val, W, n, P, T, b, theta, c2, varrho, 6, H, Q, gW)
    else:
        _split_mrp_pooled_q(Zd, perm, dsamp, osamp, oh_col, oh_val, W, n, P, T, b, theta, c2, varrho, q, H, Q, gW)
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
    perm, dsamp, osamp = split_layout(idx, oh, 1, 3)
    W = np.linspace(-0.2, 0.3, 12).reshape(4, 3)
    for q in (3, 6):
        Zd2 = np.linspace(-0.2, 0.3, 8).reshape(4, 2)
        H, Doh = split_pool_keep_grad(Zd2, perm, dsamp, osamp, oh, np.ones(1), W, 1, 3, 0.1, q)
        split_scale_grad(Zd2, Doh, perm, dsamp, osamp, oh, np.ones(1), np.ones((4, 1)), 3)
        for T in (np.zeros((0, 0)), np.ones((4, 1))):
            split_mrp_pooled(Zd2.copy(), perm, dsamp, osamp, oh, np.ones(1), W, 1, 3, T, np.ones(4), 0.25,
                             np.ones(4), 0.1, q, 3)
