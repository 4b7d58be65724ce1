"""Multi-view data of Allen-Zhu & Li (Def. 2.1/2.2), as reused by Pan, Zhou & Yan.

Each class ``i`` has two orthonormal features ``v_{i,1}, v_{i,2}``; the features are the first ``2k``
standard basis vectors of R^d (``v_{i,l} = e_{2i+l}``, ``l in {0, 1}``).  A sample ``X`` has ``P`` patches

    x_p = z_p v + sum_{v'} alpha_{p,v'} v' + xi_p          (feature patch of v)
    x_p =         sum_{v'} alpha_{p,v'} v' + xi_p          (noise patch)

with three separately settable noise sources:

* feature noise ``alpha_{p,v'} ~ U[0, gamma]`` on every feature coordinate of every patch;
* per-coordinate Gaussian noise on feature patches, ``xi_p ~ N(0, sigma_p^2 I)``;
* Gaussian noise patches, ``xi_p ~ N(0, sigma_n^2 I)`` on the patches that carry no feature.

With ``project_noise`` the Gaussian noise is projected onto the orthogonal complement of span(V) (the
large-d limit in which ``<v, xi_p>`` vanishes while ``||xi_p||`` stays O(1)); because the features are
the first 2k basis vectors this simply zeroes the first 2k coordinates of ``xi_p``.
"""
from __future__ import annotations

from dataclasses import dataclass, asdict

import numpy as np


@dataclass(frozen=True)
class DataConfig:
    """Every parameter of the distribution (docs/papers/mrp.md §1.1).

    Attributes
    ----------
    k : int
        Number of classes (2k features).
    P : int
        Patches per sample.
    d : int
        Patch dimension (``d >= 2k``).
    C_p : int
        Patches per feature present in a sample.
    s : float
        Off-class sparsity: each off-class feature is present with probability ``s / k``.
    mu : float
        Single-view fraction of the mixture ``(1 - mu) D_m + mu D_s``.
    rho : float
        Weak-view scale in single-view samples (``S_weak = rho U[1, 1.5]``).
    Gamma : float
        Upper end of the off-class total in single-view samples (``U[0.05, Gamma]``).
    gamma : float
        Feature-noise cap: ``alpha_{p,v'} ~ U[0, gamma]`` on every patch and feature.
    sigma_p : float
        Per-coordinate std of the Gaussian noise on feature patches.
    sigma_n : float
        Per-coordinate std of the Gaussian noise patches.
    project_noise : bool
        Project the Gaussian noise off span(V).
    """

    k: int = 10
    P: int = 100
    d: int = 512
    C_p: int = 2
    s: float = 2.0
    mu: float = 0.03
    rho: float = 0.03
    Gamma: float = 0.2
    gamma: float = 0.0
    sigma_p: float = 0.022
    sigma_n: float = 0.022
    project_noise: bool = True

    def __post_init__(self):
        if self.k < 2:
            raise ValueError(f"k={self.k}: need at least two classes")
        if self.d < 2 * self.k:
            raise ValueError(f"d={self.d} < 2k={2 * self.k}: the 2k features must be orthonormal in R^d")
        if self.P < 2 * self.C_p:
            raise ValueError(f"P={self.P} < 2 C_p: the two class features need {2 * self.C_p} patches")
        if not 0.0 <= self.mu <= 1.0:
            raise ValueError(f"mu={self.mu} must lie in [0, 1]")

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Dataset:
    """A sample of ``n`` inputs.

    Attributes
    ----------
    X : ndarray, shape (n, P, d), float64
        The patches.
    y : ndarray, shape (n,), int
        Labels.
    single : ndarray, shape (n,), bool
        True for single-view samples.
    strong : ndarray, shape (n,), int
        Strong view ``l_hat`` of a single-view sample (0 or 1), -1 for multi-view samples.
    z : ndarray, shape (n, P, 2k)
        Feature coefficients ``z_p`` (without the feature noise alpha).
    """

    X: np.ndarray
    y: np.ndarray
    single: np.ndarray
    strong: np.ndarray
    z: np.ndarray

    @property
    def n(self) -> int:
        return self.X.shape[0]


def sample(cfg: DataConfig, n: int, rng: np.random.Generator, kind: str = "mixture") -> Dataset:
    """Draw ``n`` samples from ``D_m`` (``kind="multi"``), ``D_s`` (``"single"``) or the mixture.

    Parameters
    ----------
    cfg : DataConfig
    n : int
    rng : numpy.random.Generator
    kind : {"mixture", "multi", "single"}
    """
    k, P, d, C = cfg.k, cfg.P, cfg.d, cfg.C_p
    if kind == "mixture":
        single = rng.random(n) < cfg.mu
    elif kind in ("multi", "single"):
        single = np.full(n, kind == "single")
    else:
        raise ValueError(f"kind={kind!r}: expected 'mixture', 'multi' or 'single'")
    y = rng.integers(0, k, size=n)
    strong = np.where(single, rng.integers(0, 2, size=n), -1)
    z = np.zeros((n, P, 2 * k))
    max_feats = P // C
    for a in range(n):
        cls = int(y[a])
        feats = [2 * cls, 2 * cls + 1]
        totals = [rng.uniform(1.0, 1.5), rng.uniform(1.0, 1.5)]
        if single[a]:
            totals[1 - strong[a]] *= cfg.rho
        off = np.flatnonzero(rng.random(2 * k) < cfg.s / k)
        off = off[off // 2 != cls][: max(0, max_feats - 2)]
        for f in off:
            feats.append(int(f))
            totals.append(rng.uniform(0.05, cfg.Gamma) if single[a] else rng.uniform(0.1, 0.4))
        patches = rng.permutation(P)[: C * len(feats)].reshape(len(feats), C)
        for f, tot, ps in zip(feats, totals, patches):
            z[a, ps, f] = tot * rng.dirichlet(np.ones(C))
    X = np.zeros((n, P, d))
    X[:, :, : 2 * k] = z
    if cfg.gamma > 0:
        X[:, :, : 2 * k] += rng.uniform(0.0, cfg.gamma, size=(n, P, 2 * k))
    is_feature = z.sum(axis=2) > 0
    std = np.where(is_feature, cfg.sigma_p, cfg.sigma_n)[:, :, None]
    lo = 2 * k if cfg.project_noise else 0
    if cfg.sigma_p > 0 or cfg.sigma_n > 0:
        X[:, :, lo:] += std * rng.standard_normal((n, P, d - lo))
    return Dataset(X=X, y=y, single=single, strong=strong, z=z)


def noise_part(cfg: DataConfig, X: np.ndarray) -> np.ndarray:
    """The component of every patch orthogonal to span(V) (its Gaussian noise there), shape (..., d-2k)."""
    return X[..., 2 * cfg.k:]
