"""Property tests of MAE vs contrastive learning on a one-layer softmax ViT: tiling geometries
(P, C_global, C_local, K), masking ratio gamma and step size drawn from each claim's regime (the strategy
``theorycheck explore`` searches), judged by the claim's own measurement and verdict.

A failing example's message starts with the ``theorycheck verify ... --set ... --seed ...`` command that
reproduces it.  The phase-switch sweep trains on up to 2048 masks at every C_global of its sweep (minutes
per setting), and the learning order trains 16 seeds to convergence at every setting; both are marked
``slow`` (deselected by default; ``-m property`` runs them).
"""
import pytest
from hypothesis import given

from theorycheck import registry
from theorycheck.explore.properties import drawn_settings, holds as _holds, property_settings

pytestmark = pytest.mark.property

RATE_TARGET = registry.get("vit.mae.initial_rate_target")
RATE_GLOBAL = registry.get("vit.mae.initial_rate_global")
OWN_AREA = registry.get("vit.mae.own_area_attention")
ETA_INVARIANCE = registry.get("vit.mae.eta_invariance")
PHASE_SWITCH = registry.get("vit.mae.phase_switch")
LEARNING_ORDER = registry.get("vit.mae.learning_order")


@property_settings()
@given(drawn_settings(RATE_TARGET))
def test_first_step_target_rate(pool2, drawn):
    """At Q = 0 the target FP correlation of a masked local query grows at the derived exact rate."""
    _holds(RATE_TARGET, drawn, pool2)


@property_settings()
@given(drawn_settings(RATE_GLOBAL))
def test_first_step_global_rate(pool2, drawn):
    """At Q = 0 the global FP correlation of a masked local query falls at the derived exact rate."""
    _holds(RATE_GLOBAL, drawn, pool2)


@property_settings()
@given(drawn_settings(OWN_AREA))
def test_own_area_attention_reaches_one_minus_eps(pool2, drawn):
    """After a step budget past the derived T*, every masked local query attends >= 1 - eps to its area."""
    _holds(OWN_AREA, drawn, pool2)


@property_settings()
@given(drawn_settings(ETA_INVARIANCE))
def test_eta_tstar_is_invariant_in_eta(pool2, drawn):
    """The fitted log-log slope of T* against eta is -1 (eta T* invariant)."""
    _holds(ETA_INVARIANCE, drawn, pool2)


@pytest.mark.slow
@property_settings()
@given(drawn_settings(PHASE_SWITCH))
def test_phase_switch_at_derived_boundary(pool2, drawn):
    """Sweeping C_global, the first-step increments switch from target-led to global-led at the derived C_global."""
    _holds(PHASE_SWITCH, drawn, pool2)


@pytest.mark.slow
@property_settings()
@given(drawn_settings(LEARNING_ORDER))
def test_global_queries_converge_before_local(pool2, drawn):
    """Queries in the global area reach own-area attention 1 - eps before queries in local areas."""
    _holds(LEARNING_ORDER, drawn, pool2)
