r"""Exact sampling of Gaussian scatter matrices (Bartlett decomposition), batched over repetitions.

For :math:`x_1,\dots,x_N \stackrel{iid}{\sim} N(0,\Sigma)` in :math:`\mathbb R^p`, the scatter matrix
:math:`\sum_i x_ix_i^\top` has the Wishart law :math:`W_p(N,\Sigma)`.  Bartlett: with :math:`\Sigma = LL^\top`,
:math:`W = LAA^\top L^\top` where ``A`` is lower triangular, :math:`A_{ii}^2\sim\chi^2_{N-i}` (``i = 0..p-1``)
and :math:`A_{ij}\sim N(0,1)` for ``i > j``, all independent.  Cost :math:`O(p^3)` per draw, independent of
``N``: the estimators of the linear case studies (PCA of the uncentred sample covariance, OLS) see the
data only through such scatter matrices, so this is an exact draw of their inputs.
"""
from __future__ import annotations

import numpy as np


def bartlett_factor(rng: np.random.Generator, dof: int, p: int, reps: int) -> np.ndarray:
    """Lower-triangular Bartlett factors ``A`` of shape ``(reps, p, p)`` with ``A A^T ~ W_p(dof, I)``."""
    if dof < p:
        raise ValueError(f"Bartlett sampling needs dof >= p (got dof={dof}, p={p}); draw the data instead")
    A = np.tril(rng.standard_normal((reps, p, p)), k=-1)
    diag = np.sqrt(rng.chisquare(dof - np.arange(p), size=(reps, p)))
    idx = np.arange(p)
    A[:, idx, idx] = diag
    return A


def wishart(rng: np.random.Generator, dof: int, chol: np.ndarray, reps: int | None = None) -> np.ndarray:
    r"""Draws of :math:`W_p(\mathrm{dof}, LL^\top)`.

    Parameters
    ----------
    rng : numpy.random.Generator
    dof : int
        Number of summed outer products ``N``.
    chol : ndarray, shape (p, p) or (reps, p, p)
        Lower Cholesky factor(s) ``L`` of the covariance; a batch gives one draw per covariance.
    reps : int, optional
        Number of draws when ``chol`` is a single matrix.

    Returns
    -------
    ndarray, shape (reps, p, p)
    """
    chol = np.asarray(chol, float)
    if chol.ndim == 2:
        if reps is None:
            raise ValueError("give reps for a single covariance factor")
        batch = int(reps)
    else:
        batch = chol.shape[0]
    p = chol.shape[-1]
    LA = chol @ bartlett_factor(rng, int(dof), p, batch)
    return LA @ np.swapaxes(LA, -1, -2)
