"""Acute vs chronic opioid suppression of the HPA axis (hpa module, the naive sensitivity and its fast
tolerance), and the cold pressor's own μ efficacy (pain module, equation 5).

Therapeutic morphine all but stops cortisol secretion in opioid-naive people (Zis et al., Psychiatry
Res 1985;15:91; McDonald et al., J Pharmacol Exp Ther 1959;125:241), whereas maintained patients'
cortisol approaches normal (Kreek; Nava et al. 2006): the same dose must suppress less in a person who
has taken opioids for weeks. Cold-pressor pain is relieved ~25% by morphine 5 mg IV (Watso et al.,
Am J Physiol Heart Circ Physiol 2022), far less than clinical pain."""

import numpy as np
import pytest

from opiaxis.models import default_model
from opiaxis.validate.targets_pk import typical_patient

DAY = 24.0
MORPHINE = "morphine 5 mg IV once at {:g} h"


@pytest.fixture(scope="module")
def model():
    return default_model()


def _cortisol_ratio(model, history, t0):
    """Cortisol 3 h after morphine 5 mg IV relative to the same person without it."""
    t = np.concatenate([np.arange(0.0, t0, 24.0), [t0, t0 + 3.0]])
    with_m = typical_patient(history + [MORPHINE.format(t0)], t, model=model)
    without = typical_patient(history, t, model=model)
    c = with_m.get("cortisol_plasma")[0] / without.get("cortisol_plasma")[0]
    return float(c[-1]), with_m.get("hpa_opioid_suppression")[0][-2]


def test_naive_person_is_suppressed_more_than_a_maintained_one_by_the_same_dose(model):
    t0 = 8 * 7 * DAY + 1.5                         # 09:30 after 8 weeks; the last methadone dose 25.5 h before
    naive, s_naive = _cortisol_ratio(model, [], t0)
    maintained, s_maint = _cortisol_ratio(model, ["methadone 60 mg oral daily for 56 d"], t0)
    assert s_naive == pytest.approx(0.9, abs=1e-3)          # 0.6 + 0.4·0.75 before any opioid
    assert s_maint < 0.65                                   # the fast tolerance is (nearly) complete
    assert naive < 0.8                                      # a marked acute fall in 3 h
    assert maintained > naive + 0.1, (naive, maintained)


def test_naive_sensitivity_returns_over_weeks_of_abstinence(model):
    stop = 28 * DAY
    t = np.array([stop, stop + 7 * DAY, stop + 90 * DAY])
    F = typical_patient(["heroin 25 mg IV q6h for 28 d"], t, model=model).get("hpa_opioid_acute_tolerance")[0]
    assert F[0] > 0.9                        # four weeks of heroin: tolerant
    assert F[0] > F[1] > F[2]                # lost monotonically without opioid
    assert F[2] < 0.2                        # t½ 30 d: mostly naive again after 3 months


def test_cold_pressor_relief_is_smaller_than_clinical_relief(model):
    """The derivation point of cold_pressor_analgesia_emax (Watso 2022: −25% at 35 min) and its
    consequence: the same μ stimulus relieves clinical pain twice as much."""
    t = np.array([0.0, 35 / 60])
    r = typical_patient(["morphine 5 mg IV once at 0 h"], t, model=model)
    cp, clin = r.get("cold_pressor_analgesia")[0][1], r.get("analgesia_fraction")[0][1]
    assert 0.2 <= cp <= 0.3
    assert clin == pytest.approx(2 * cp, rel=1e-6)
    rise = r.get("cold_pressor_tolerance")[0][1] / r.get("cold_pressor_tolerance")[0][0]
    assert rise == pytest.approx(1 / (1 - cp), rel=0.02)     # tolerance ∝ 1/remaining intensity below the cap
