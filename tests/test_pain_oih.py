"""pain.oih on the composed model: what buprenorphine maintenance does to each pronociceptive term
after a heroin history (issue 14 diagnosis).

The reduced composition in test_adaptation.py (no glia, no immune) reproduces pain.oih; the
composed model misses its buprenorphine half. These tests pin down why, so a future mechanism
can be checked against them: the OIH state keeps growing on buprenorphine, but the glial and
spinal/DRG neuro-immune sensitisation built by heroin (morphine's TLR4 activity, withdrawal,
plasma cytokines) resolves over months on buprenorphine (no TLR4 agonism at clinical
concentrations), and that resolution outweighs the growth at trough between weeks 6 and 15.
"""

import numpy as np
import pytest

from opiaxis.models import default_model
from opiaxis.validate import targets_adaptation as T
from opiaxis.validate.targets_pk import typical_patient

WEEKS = (6, 15)


def _troughs(overrides=None):
    m = default_model()
    regimen = f"{T.MAINTENANCE['buprenorphine']} for 16 w at {T.ENTRY:g} h"
    tw = [T.ENTRY + w * 168.0 - 1e-3 for w in WEEKS]
    t = np.unique(np.concatenate([np.arange(0.0, T.ENTRY + 16 * 168.0, 24.0), tw]))
    r = typical_patient([T.HEROIN_HISTORY, regimen], t, overrides, model=m)
    idx = [int(np.argmin(abs(t - x))) for x in tw]
    names = ("oih_level", "spinal_sensitization", "glial_activation", "cold_pressor_tolerance")
    return {n: r.get(n)[0, idx] for n in names}


@pytest.fixture(scope="module")
def bup():
    return _troughs()


def test_buprenorphine_oih_state_grows_while_heroin_neuroinflammation_resolves(bup):
    h6, h15 = bup["oih_level"]
    assert h15 > h6                                   # NMDA-type OIH still growing on the partial agonist
    z6, z15 = bup["spinal_sensitization"]
    g6, g15 = bup["glial_activation"]
    assert z15 < z6 and g15 <= g6                     # heroin-era glia/DRG sensitisation resolving


def test_glial_resolution_is_what_offsets_buprenorphine_oih(bup):
    """Counterfactual: without the glial pain terms the trough cold-pressor tolerance falls from week
    6 to week 15 (hyperalgesia grows, as Compton 2012 found); with them it rises (the miss)."""
    off = _troughs({"spinal_sensitization_gain": 0.0, "glial_pain_gain": 0.0})
    c6, c15 = off["cold_pressor_tolerance"]
    assert c15 < c6
