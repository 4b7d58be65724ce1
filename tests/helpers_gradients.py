"""Central finite differences, the reference every hand-written gradient of the simulations is tested against."""
import numpy as np


def central_difference(f, W, eps=1e-6):
    """``g[idx] = (f(W + eps e_idx) - f(W - eps e_idx)) / (2 eps)`` for every entry of ``W``."""
    g = np.zeros_like(W)
    for idx in np.ndindex(W.shape):
        Wp, Wm = W.copy(), W.copy()
        Wp[idx] += eps
        Wm[idx] -= eps
        g[idx] = (f(Wp) - f(Wm)) / (2 * eps)
    return g
