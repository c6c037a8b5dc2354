"""ot.craving (Lin et al., Eur Addict Res 2018;24:71): where the oxytocin–craving link lives in the model.

The link is central: oxytocin tone dampens cue and stress reactivity (reward module) and shares its
drivers with craving (early adversity and depression history lower the tone and raise craving
reactivity; oxytocin module). Plasma oxytocin mirrors the central tone only loosely (its own
between-person spread; at rest r 0.08 across 17 studies, Valstad et al., Neurosci Biobehav Rev
2017;78:117), which is why the scored plasma association is weak (issue 14: reported as missed).
"""

import pytest

from opiaxis.behaviour.trials import ot_craving


@pytest.fixture(scope="module")
def lin():
    return ot_craving(n=77)


def test_central_oxytocin_tone_is_negatively_associated_with_craving(lin):
    assert lin["rho_central"] < 0 and lin["p_central"] < 0.05


def test_plasma_mirrors_the_central_tone_only_loosely(lin):
    assert 0 < lin["rho_plasma_central"] < 0.6
    assert abs(lin["rho"]) < abs(lin["rho_central"])   # the plasma read-out dilutes the central link
