"""Finite sets of images and masks, fixed for a whole run (deterministic full-batch GD).

An image of cluster :math:`k` carries one scalar :math:`z_j` per area and patch :math:`p` holds
:math:`X_p=z_{b(p)}v_{k,b(p)}`.  A mask hides each patch independently with probability :math:`\\gamma`
(``mask_mode="bernoulli"``) or hides a uniform subset of :math:`\\lfloor\\gamma P\\rceil` patches
(``"fixed"``).  A *sample* is one (image, mask) pair; the kernels read every sample through the arrays of
:class:`Batch`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import Geometry

Z_MODES = ("one", "uniform")
MASK_MODES = ("bernoulli", "fixed")


@dataclass(frozen=True)
class Batch:
    """Samples (image, mask) of one geometry.

    Attributes
    ----------
    geometry : Geometry
    cluster : ndarray, shape (n,)
        Cluster of each sample's image.
    image : ndarray, shape (n,)
        Index of each sample's image (two CL views share it).
    z_area : ndarray, shape (n, N)
        Per-area scalars ``z_j`` of each sample's image.
    masked : ndarray of uint8, shape (n, P)
        1 where the patch is masked.
    key_feature : ndarray of int64, shape (n, P)
        Feature index ``f_k(b(q))`` of every patch.
    key_code : ndarray of int64, shape (n, P)
        ``f_k(b(q))`` for a visible key, ``F`` (one past the last feature) for a masked key.
    key_value : ndarray, shape (n, P)
        ``w_q = 1{q unmasked} z_{b(q)}``: the coefficient of the feature carried by key ``q``.
    target_value : ndarray, shape (n, P)
        ``z_{b(p)}``: the coefficient of the patch itself (the MAE target).
    masked_in : bool
        Masked keys enter the softmax (with value 0); otherwise it runs over the visible keys only.
    own_visible : ndarray of uint8, shape (n, P)
        1 when patch ``p`` is masked and its area has another unmasked patch (the conditioning of the
        area-attention metric).
    """

    geometry: Geometry
    cluster: np.ndarray
    image: np.ndarray
    z_area: np.ndarray
    masked: np.ndarray
    key_feature: np.ndarray
    key_code: np.ndarray
    key_value: np.ndarray
    target_value: np.ndarray
    masked_in: bool
    own_visible: np.ndarray

    @property
    def n(self) -> int:
        return self.cluster.shape[0]


def draw_z(n_areas: int, z_mode: str, rng: np.random.Generator) -> np.ndarray:
    """One image's per-area scalars: all 1, or i.i.d. Unif[0.5, 1.5]."""
    if z_mode == "one":
        return np.ones(n_areas)
    if z_mode == "uniform":
        return rng.uniform(0.5, 1.5, size=n_areas)
    raise ValueError(f"z_mode must be one of {Z_MODES}, got {z_mode!r}")


def draw_mask(P: int, gamma: float, mask_mode: str, rng: np.random.Generator) -> np.ndarray:
    """A mask (1 = masked): i.i.d. Bernoulli(gamma), or a uniform subset of round(gamma P) patches."""
    if mask_mode == "bernoulli":
        return (rng.random(P) < gamma).astype(np.uint8)
    if mask_mode == "fixed":
        m = np.zeros(P, dtype=np.uint8)
        m[rng.choice(P, size=int(round(gamma * P)), replace=False)] = 1
        return m
    raise ValueError(f"mask_mode must be one of {MASK_MODES}, got {mask_mode!r}")


def assemble(geometry: Geometry, cluster, image, z_area, masked, softmax_all: bool = True) -> Batch:
    """Derive the kernel arrays of a batch from clusters, scalars and masks."""
    cluster = np.asarray(cluster, dtype=np.int64)
    masked = np.ascontiguousarray(masked, dtype=np.uint8)
    area = geometry.area[cluster]                               # (n, P)
    z_patch = np.take_along_axis(np.asarray(z_area, float), area, axis=1)
    key_value = np.ascontiguousarray(z_patch * (1 - masked))
    # another unmasked patch in p's own area (p itself masked)
    own_visible = np.zeros_like(masked)
    for s in range(cluster.shape[0]):
        counts = np.bincount(area[s], weights=1 - masked[s], minlength=geometry.n_areas)
        own_visible[s] = (masked[s] == 1) & (counts[area[s]] >= 1)
    key_feature = np.ascontiguousarray(geometry.feature[cluster])
    key_code = np.where(masked == 1, geometry.n_features, key_feature).astype(np.int64)
    return Batch(geometry, cluster, np.asarray(image, dtype=np.int64),
                 np.ascontiguousarray(np.asarray(z_area, float)), masked, key_feature, key_code, key_value,
                 np.ascontiguousarray(z_patch), bool(softmax_all), own_visible)


def mae_batch(geometry: Geometry, n_masks: int, gamma: float, rng: np.random.Generator, *,
              n_images: int | None = None, z_mode: str = "one", mask_mode: str = "bernoulli",
              softmax_all: bool = True) -> Batch:
    """``n_images`` images (clusters in turn, default one per cluster) times ``n_masks`` masks each.

    With ``z_mode="one"`` all images of a cluster coincide, so one image per cluster loses nothing.
    """
    n_images = geometry.K if n_images is None else int(n_images)
    cluster, image, z, masks = [], [], [], []
    for i in range(n_images):
        k = i % geometry.K
        zi = draw_z(geometry.n_areas, z_mode, rng)
        for _ in range(n_masks):
            cluster.append(k)
            image.append(i)
            z.append(zi)
            masks.append(draw_mask(geometry.P, gamma, mask_mode, rng))
    return assemble(geometry, cluster, image, np.array(z), np.array(masks), softmax_all)


def cl_batch(geometry: Geometry, n_images: int, gamma: float, rng: np.random.Generator, *,
             z_mode: str = "one", mask_mode: str = "bernoulli", softmax_all: bool = True) -> Batch:
    """``n_images`` images, each seen through two independent masks.

    Samples ``0..B-1`` are the first views and ``B..2B-1`` the second views of the same images.
    """
    cluster = np.arange(n_images) % geometry.K
    z = np.array([draw_z(geometry.n_areas, z_mode, rng) for _ in range(n_images)])
    m1 = np.array([draw_mask(geometry.P, gamma, mask_mode, rng) for _ in range(n_images)])
    m2 = np.array([draw_mask(geometry.P, gamma, mask_mode, rng) for _ in range(n_images)])
    image = np.arange(n_images)
    return assemble(geometry, np.concatenate([cluster, cluster]), np.concatenate([image, image]),
                    np.concatenate([z, z]), np.concatenate([m1, m2]), softmax_all)
