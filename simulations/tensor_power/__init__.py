"""The AZL tensor-power recursion ``x_{t+1} = x_t + eta C x_t^(q-1)``: hitting times and the leader/follower
race, iterated exactly in float64 by Numba kernels."""
from .recursion import (NOT_REACHED, hitting_times, jittered_starts, log_uniform_starts, race,
                        trajectory)

__all__ = ["NOT_REACHED", "hitting_times", "jittered_starts", "log_uniform_starts", "race", "trajectory",
           "warmup"]


def warmup():
    """Compile (or load from the cache) every kernel on tiny inputs."""
    hitting_times([0.5], 0.1, 3, 1.0)
    race([0.5], [0.4], 0.1, 3, 1.0)
    trajectory(0.5, 0.1, 3, 1.0, max_steps=100)
