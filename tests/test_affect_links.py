"""Issue 14: links between affect, the HPA axis and oxytocin, each with its counterfactual."""

import numpy as np
import pytest

from opiaxis.engine import simulate
from opiaxis.models import build_model


@pytest.fixture(scope="module")
def hpa_mood():
    """The HPA axis and mood only: cortisol ↔ depressive state, nothing else moving."""
    return build_model(modules=["hpa", "mood"])


def _cortisol_after_8_weeks(model, gain):
    P = np.tile(model.default_parameters(), (2, 1))
    P[:, model.param_index["hpa_depression_gain"]] = gain
    P[1, model.param_index["mood_trait_offset"]] = 0.12     # past the tipping point: in an episode at rest
    t = 24.0 * 7 * 8                                        # same clock hour as t = 0
    r = simulate(model, P, np.array([0.0, t]))
    return r.get("cortisol_rel")[:, -1], r.get("mood_state")[:, -1]


def test_a_depressive_episode_raises_cortisol_and_the_link_removed_does_not(hpa_mood):
    """CRH hypersecretion and higher cortisol in depression (Nemeroff 1984; Stetler & Miller 2011):
    a person in an episode has higher cortisol than a euthymic one; without the link they do not,
    and a typical euthymic person stays at rest either way."""
    cort, mood = _cortisol_after_8_weeks(hpa_mood, 0.2)
    assert mood[1] > 0.9 and abs(mood[0]) < 1e-9
    assert cort[0] == pytest.approx(1.0, abs=1e-3)
    assert 1.08 < cort[1] < 1.35
    cort0, _ = _cortisol_after_8_weeks(hpa_mood, 0.0)
    assert cort0[1] == pytest.approx(1.0, abs=1e-3)


def test_oxytocin_tone_starts_at_the_persons_drug_free_set_point():
    """Early adversity and low support lower the allostatic set point (seed 002); a drug-free person
    starts there and stays (no weeks-long drift toward it from the healthy value 1)."""
    model = build_model(modules=["oxytocin"])
    P = np.tile(model.default_parameters(), (2, 1))
    P[1, model.param_index["early_life_adversity"]] = 1.0
    P[1, model.param_index["social_support"]] = 0.2
    r = simulate(model, P, np.array([0.0, 24.0 * 7 * 6]))
    O = r.get("oxytocin_tone_endogenous")
    assert O[0, 0] == pytest.approx(1.0) and O[0, -1] == pytest.approx(1.0)
    expected = np.exp(-(0.25 + 0.6 * 0.3))
    assert O[1, 0] == pytest.approx(expected) and O[1, -1] == pytest.approx(expected, rel=1e-6)
