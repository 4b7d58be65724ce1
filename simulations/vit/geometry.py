"""Spatial layout of the data model: patches, clusters, areas and their features.

For every cluster :math:`k` the patch set :math:`\\mathcal P=[P]` is partitioned into one **global area**
:math:`\\mathcal P_{k,1}` of :math:`C_1` patches and :math:`N_k-1=(P-C_1)/C_{loc}` **local areas** of
:math:`C_{loc}` patches each.  Patches are numbered row-major on a :math:`\\sqrt P\\times\\sqrt P` grid when
:math:`P` is a square (on a line otherwise).  Cluster 0 takes its areas as consecutive runs of that order
(the global area is the top rows); cluster 1 takes them along the transposed order (column-major), or the
reversed order when :math:`P` is not a square, so that the two partitions overlap non-trivially.

Each (cluster, area) pair has its own orthonormal feature :math:`v_{k,j}`; features are numbered
consecutively, cluster by cluster, the global area first.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


def patch_order(P: int, cluster: int) -> np.ndarray:
    """The order in which cluster ``cluster`` lays its areas over the patches."""
    side = math.isqrt(P)
    base = np.arange(P)
    if cluster % 2 == 0:
        return base
    if side * side == P:
        return base.reshape(side, side).T.ravel()
    return base[::-1].copy()


@dataclass(frozen=True)
class Geometry:
    """Areas and features of ``K`` clusters over ``P`` patches.

    Parameters
    ----------
    P : int
        Number of patches.
    C_global : int
        Size of every cluster's global area.
    C_local : int
        Size of every local area; ``(P - C_global) % C_local == 0``.
    K : int
        Number of clusters (1 or 2 in practice).

    Attributes
    ----------
    area : ndarray, shape (K, P)
        ``area[k, p]`` = index ``j`` of the area of patch ``p`` in cluster ``k`` (0 = global).
    feature : ndarray, shape (K, P)
        ``feature[k, p]`` = global index of the feature ``v_{k, area[k, p]}``.
    n_areas : int
        Areas per cluster, ``N = 1 + (P - C_global) / C_local``.
    n_features : int
        ``K * N``.
    """

    P: int
    C_global: int
    C_local: int
    K: int = 2
    area: np.ndarray = field(init=False, repr=False, compare=False)
    feature: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        P, C1, C = int(self.P), int(self.C_global), int(self.C_local)
        if not (1 <= C1 < P) or C < 1 or (P - C1) % C != 0 or self.K < 1:
            raise ValueError(f"geometry P={P}, C_global={C1}, C_local={C} does not tile the patches")
        area = np.empty((self.K, P), dtype=np.int64)
        for k in range(self.K):
            order = patch_order(P, k)
            labels = np.empty(P, dtype=np.int64)
            labels[:C1] = 0
            labels[C1:] = 1 + np.arange(P - C1) // C
            area[k, order] = labels
        object.__setattr__(self, "area", area)
        object.__setattr__(self, "feature", area + self.n_areas * np.arange(self.K)[:, None])

    @property
    def n_areas(self) -> int:
        return 1 + (self.P - self.C_global) // self.C_local

    @property
    def n_local(self) -> int:
        return self.n_areas - 1

    @property
    def n_features(self) -> int:
        return self.K * self.n_areas

    def area_size(self, j: int) -> int:
        return self.C_global if j == 0 else self.C_local

    def global_feature(self, k: int) -> int:
        return k * self.n_areas

    @property
    def is_local(self) -> np.ndarray:
        """``(K, P)`` boolean: patch ``p`` lies in a local area of cluster ``k``."""
        return self.area > 0

    def finite_gap(self) -> float:
        """The non-asymptotic information gap ``log(C_1^2 / (P C_loc)) / log P``."""
        return math.log(self.C_global ** 2 / (self.P * self.C_local)) / math.log(self.P)
