"""Claim modules: one per paper, each binding derivations to simulations.  Every module here is
registered automatically through the ``theorycheck.claims`` entry point."""
