"""SymPy derivations: shared lemmas and one module per paper (pure functions of parameters)."""
