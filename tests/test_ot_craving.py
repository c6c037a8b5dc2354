"""ot.craving (Lin et al., Eur Addict Res 2018;24:71): where the oxytocin–craving link lives in the model.

The link is central: oxytocin tone dampens cue and stress reactivity (reward module) and shares its
drivers with craving (early adversity and depression history lower the tone and raise craving
reactivity; oxytocin module). Plasma oxytocin moves in proportion with the endogenous tone (the
allostatic drivers act on the hypothalamic neurons that release into blood and brain alike) but
carries a large between-person spread of its own (at rest plasma–CSF r 0.08 across 17 studies,
Valstad et al., Neurosci Biobehav Rev 2017;78:117), so the scored plasma association is weaker
than the central one and, at Lin's n = 77, detected in only about half of the re-drawn cohorts.
"""

import numpy as np
import pytest

from opiaxis.behaviour.trials import ot_craving
from opiaxis.engine import simulate
from opiaxis.models import build_model


@pytest.fixture(scope="module")
def lin():
    return ot_craving(n=77)


def test_central_oxytocin_tone_is_negatively_associated_with_craving(lin):
    assert lin["rho_central"] < 0 and lin["p_central"] < 0.05


def test_plasma_mirrors_the_central_tone_only_loosely(lin):
    assert 0 < lin["rho_plasma_central"] < 0.6
    assert abs(lin["rho"]) < abs(lin["rho_central"])   # the plasma read-out dilutes the central link


def test_plasma_oxytocin_at_full_tolerance_is_the_blood_ratio_the_suppression_is_read_from():
    """oxytocin_opioid_suppression is sized from blood levels (drug-dependent patients 5.89 vs
    9.53 ng/mL in controls: 62%, Huang et al., Front Psychiatry 2018;9:633): a drug-free person
    and one at full chronic tolerance, 20 weeks on (t½ of the tone 2 weeks), differ in plasma by
    that ratio. (The earlier sub-proportional plasma exponent 0.7 gave ~72%.)"""
    model = build_model(modules=["oxytocin"])
    P = np.tile(model.default_parameters(), (2, 1))
    P[1, model.param_index["tolerance_level"]] = 1.0
    r = simulate(model, P, np.array([0.0, 24.0 * 7 * 20]))
    plasma = r.get("oxytocin_endogenous_plasma")[:, -1]
    assert plasma[1] / plasma[0] == pytest.approx(5.89 / 9.53, abs=0.03)
