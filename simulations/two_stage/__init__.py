"""Monte Carlo of two-stage M-estimators (Tinati & Tu case studies, ``docs/papers/two_stage.md`` §3a-§3c).

* :mod:`.linear` — PCA span (3a) and factor-model MLE with posterior-mean features (3b), OLS head,
  exact excess risk; data-level or exact scatter-matrix (Wishart) sampling.
* :mod:`.gmm` — Gaussian mixture (3c): EM from the truth, posterior features, OLS head, test-set excess.
* :mod:`.wishart` — batched Bartlett sampler.
"""
from .gmm import draw_mixture, em_means, gmm_mc, head_ols, posterior_mean_target, regular_simplex_means, test_set_excess
from .linear import (LinearTask, batched_eigh, excess_parts, factor_task, fit_head, pretrain_covariance, representation_map,
                     spectral_task, two_stage_mc)
from .wishart import bartlett_factor, wishart

__all__ = ["LinearTask", "batched_eigh", "bartlett_factor", "draw_mixture", "em_means", "excess_parts", "factor_task", "fit_head",
           "gmm_mc", "head_ols", "posterior_mean_target", "pretrain_covariance", "regular_simplex_means",
           "representation_map", "spectral_task", "test_set_excess", "two_stage_mc", "wishart", "warmup"]


def warmup() -> None:
    """Compile the Numba kernels on tiny inputs (loads them from the cache after the first run)."""
    import numpy as np

    rng = np.random.default_rng(0)
    means = regular_simplex_means(3, 2, 3.0)
    task = spectral_task([3.0, 2.0, 1.0], 1, [1.0], 1.0)
    two_stage_mc(task, n=10, m=10, reps=2, rng=rng)
    gmm_mc(means, np.full(3, 1 / 3), np.array([1.0, -1.0, 0.5]), 0.25, n=20, m=20, reps=2, rng=rng, test_size=50)
