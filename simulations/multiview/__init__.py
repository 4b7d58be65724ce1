"""The multi-view model of Allen-Zhu & Li and the mask-reconstruction pretraining of Pan, Zhou & Yan.

Modules: :mod:`data` (the distribution), :mod:`kernels` (fused Numba elementwise work),
:mod:`losses` (losses and hand-written gradients), :mod:`pixel` (the pixel-target auto-encoder),
:mod:`train` (full-batch GD loops and tracked
quantities), :mod:`reference` (a plain NumPy step, the benchmark baseline).
"""
from .data import DataConfig, Dataset, sample  # noqa: F401
from .train import NetConfig, Run, pretrain_mrp, train_head, train_sl  # noqa: F401


def warmup() -> None:
    """Compile the Numba kernels on tiny inputs (called once per test session)."""
    from . import kernels, pixel

    kernels.warmup()
    pixel.warmup()
