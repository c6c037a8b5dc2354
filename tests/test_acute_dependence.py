"""Acute physical dependence (adaptation equation 2b): naloxone precipitates withdrawal after ONE dose of
morphine because the fast moderator follows the signalling tone's fall below its adapted level within
hours; with its weight 0 (the model before the thirteenth session) one dose leaves no dependence."""

import numpy as np
import pytest

from opiaxis.models import build_model
from opiaxis.validate.targets_pk import typical_patient

OFF = {"adapt_fast_weight": 0.0}   # control: no fast phase


@pytest.fixture(scope="module")
def m4():
    return build_model(modules=["pk", "receptors", "adaptation", "respiration", "pain"])


def _excess(m, morphine_mg, lag_h, overrides=None, read="cows_score"):
    """Peak excess of ``read`` over the course without naloxone in the hour after naloxone 10 mg IV given
    ``lag_h`` after morphine IV (at 1 h), and the course with naloxone."""
    t_n = 1.0 + lag_h
    t = np.unique(np.concatenate([np.arange(0.0, t_n, 0.25), t_n + np.arange(0.0, 1.0 + 1e-9, 1 / 60)]))
    mor = [f"morphine {morphine_mg:g} mg IV once at 1 h"]
    base = typical_patient(mor, t, overrides, model=m).get(read)[0]
    r = typical_patient(mor + [f"naloxone 10 mg IV once at {t_n:g} h"], t, overrides, model=m)
    w = t >= t_n
    return float((r.get(read)[0] - base)[w].max()), r, t


def test_one_dose_then_naloxone_precipitates_withdrawal_only_with_the_fast_phase(m4):
    """Compton et al., Pharmacol Biochem Behav 2004;77:263: morphine 10 mg IV, naloxone 10 mg IV 2 h later."""
    with_fast, r, t = _excess(m4, 10.0, 2.0)
    without, _, _ = _excess(m4, 10.0, 2.0, OFF)
    assert with_fast >= 5            # at least mild withdrawal (COWS 5)
    assert without < 0.5             # control: the slow moderator alone (t½ of days) gives none
    mf = r.get("mor_counteradaptation_fast")[0]
    assert mf.min() < 0.9 and np.all(mf <= 1 + 1e-9)


def test_precipitated_withdrawal_grows_with_the_morphine_dose(m4):
    """Bickel et al., JPET 1988;244:126: naloxone 6 h after morphine 1–17 mg, graded with the dose."""
    low, _, _ = _excess(m4, 3.0, 6.0)
    high, _, _ = _excess(m4, 17.0, 6.0)
    assert high > low + 2


def test_withdrawal_hyperalgesia_after_one_dose(m4):
    """Compton, Athanasos & Elashoff, J Pain 2003;4:511: cold-pressor tolerance falls in precipitated
    withdrawal after one dose; without the fast phase it does not."""
    t_n = 3.0
    t = np.unique(np.concatenate([np.arange(0.0, t_n, 0.25), t_n + np.arange(0.0, 1.0 + 1e-9, 1 / 60)]))
    for ov, bound in ((None, 0.9), (OFF, 0.98)):
        cp = typical_patient(["morphine 10 mg IV once at 1 h", f"naloxone 10 mg IV once at {t_n:g} h"], t, ov,
                             model=m4).get("cold_pressor_tolerance")[0][t >= t_n]
        if ov is None:
            assert cp.min() < bound * 40.0
        else:
            assert cp.min() > bound * 40.0


def test_fast_phase_silent_when_drug_free(m4):
    t = np.array([0.0, 50.0, 500.0])
    r = typical_patient([], t, model=m4)
    np.testing.assert_allclose(r.get("mor_counteradaptation_fast")[0], 1.0, atol=1e-12)
    np.testing.assert_allclose(r.get("mor_counteradaptation_level")[0], 1.0, atol=1e-12)
