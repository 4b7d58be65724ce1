"""NumPy + Numba simulations: one subpackage per idealised model (knows nothing of SymPy or claims)."""
