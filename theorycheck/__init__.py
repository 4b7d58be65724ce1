"""theorycheck: check theory papers on self-supervised pre-training against exact simulations.

The framework knows no paper.  A paper contributes a derivation module (``derivations/``), a simulation
subpackage (``simulations/``) and a claim module (``claims/``) that registers :class:`Claim` objects.

Attributes are imported lazily, so that worker processes can limit their BLAS threads before NumPy loads.
"""
from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "Claim": "claim", "CLAIM_KINDS": "claim", "Curve": "claim",
    "Param": "regime", "Constraint": "regime", "Regime": "regime", "RegimeError": "regime",
    "Tolerance": "verdict", "decide": "verdict", "mean_ci": "verdict",
    "loglog_slope": "fit", "bootstrap_slope": "fit", "SlopeFit": "fit",
    "register": "registry", "register_bench": "registry", "all_claims": "registry", "get": "registry",
    "select": "registry",
    "verify_claim": "runner", "DEFAULT_ROOT": "runner",
    "replicate_rngs": "task", "replicate_seed": "task", "replicate_identity": "task", "Task": "task",
    "figure": "plots", "mean_band": "plots", "slope_label": "plots",
    "Ladder": "limit", "Window": "limit",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'theorycheck' has no attribute {name!r}")
