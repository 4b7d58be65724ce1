"""One-layer softmax-attention ViT of Huang, Wen, Chi and Liang: data model, masking, MAE and CL objectives.

The trainable matrix ``Q`` is kept in its exact (Phi, Upsilon) parametrisation (feature-position and
position-position correlations); :mod:`.dense` is an independent implementation on the full ``Q`` used to
cross-check it.

Modules
-------
geometry   patches, clusters, global and local areas, features
data       fixed finite sets of (image, mask) samples
kernels    Numba kernels: scores, area attention, fused loss/gradient passes
mae        MAE loss, its infimum, full-batch GD and the per-step record
cl         InfoNCE on two masked views with pooled output, full-batch GD
dense      the dense-Q reference implementation
reference  plain NumPy (and optional PyTorch) MAE steps for benchmarking
"""
from .cl import CLTrajectory, cl_evaluate, info_nce, pooling_weights, run_cl
from .data import Batch, cl_batch, mae_batch
from .geometry import Geometry
from .mae import MAETrajectory, mae_evaluate, mean_area_attention, optimal_loss, run_mae, zero_params

__all__ = ["Batch", "CLTrajectory", "Geometry", "MAETrajectory", "cl_batch", "cl_evaluate", "info_nce",
           "mae_batch", "mae_evaluate", "mean_area_attention", "optimal_loss", "pooling_weights", "run_cl",
           "run_mae", "zero_params", "warmup"]


def warmup() -> None:
    """Compile (or load from the cache) every kernel on a tiny problem."""
    import numpy as np

    g = Geometry(6, 2, 2, 2)
    rng = np.random.default_rng(0)
    run_mae(mae_batch(g, 2, 0.5, rng), 0.1, 1)
    run_cl(cl_batch(g, 2, 0.5, rng), 0.1, 1)
