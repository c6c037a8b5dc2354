"""Withdrawal hyperalgesia from the adapted level (pain equation 3; thirteenth session, 2026-11-30).

The pain module's withdrawal hyperalgesia reads the adaptation module's ``unopposed_counteradaptation``,
(R − M)⁺/r_sev — the rebound of the μ-inhibitable tone over the level it has adapted to — instead of
``withdrawal_signal``, (R − 1)⁺/r_sev. A maintained methadone patient is then more hyperalgesic at
trough than at peak although the signalling tone never rises above its drug-free baseline (no
withdrawal_signal): pain tolerance rises with methadone's level within the dosing interval (Dyer et
al. 1999; Athanasos et al., Pain 2006;120:267). Controls: the gain set to 0 removes the swing of pain
sensitivity; the naive person is unchanged (M = 1, so both read-outs agree).
"""

import numpy as np
import pytest

from opiaxis.models import default_model
from opiaxis.validate.targets_pk import typical_patient
from opiaxis.validate.targets_predictions import MMT_HISTORY, MMT_LAST

DOSE = MMT_LAST + 24.0
TIMES = np.concatenate([np.arange(0.0, DOSE, 6.0), [DOSE - 1e-3, DOSE + 3.0]])  # trough, 3 h after the dose
NAMES = ("pain_sensitivity", "cold_pressor_tolerance", "withdrawal_signal", "unopposed_counteradaptation")


def _interdose(overrides=None):
    r = typical_patient(MMT_HISTORY + [f"methadone 60 mg oral once at {DOSE:g} h"], TIMES, overrides,
                        model=default_model())
    return {n: r.get(n)[0, -2:] for n in NAMES}


@pytest.fixture(scope="module")
def mmt():
    return _interdose()


@pytest.fixture(scope="module")
def mmt_no_gain():
    return _interdose({"withdrawal_hyperalgesia_gain": 0.0})


def test_trough_hyperalgesia_without_overt_withdrawal(mmt):
    u_trough, u_peak = mmt["unopposed_counteradaptation"]
    assert u_trough > 0.03 > 0.005 > u_peak           # the tone is above its adapted level at 24 h only
    assert mmt["withdrawal_signal"].max() < 1e-3       # ... yet below the drug-free baseline: no withdrawal
    g_trough, g_peak = mmt["pain_sensitivity"]
    assert g_trough > g_peak + 0.03


def test_peak_vs_trough_rise_exceeds_what_analgesia_alone_gives(mmt, mmt_no_gain):
    rise = mmt["cold_pressor_tolerance"][1] / mmt["cold_pressor_tolerance"][0] - 1
    rise_analgesia_only = mmt_no_gain["cold_pressor_tolerance"][1] / mmt_no_gain["cold_pressor_tolerance"][0] - 1
    g = mmt_no_gain["pain_sensitivity"]
    assert abs(g[0] - g[1]) < 1e-3                     # control: without the gain sensitivity does not swing
    assert rise_analgesia_only < 0.045                 # the twelfth session's bound (E_cp 0.4): ~+4%
    assert rise > rise_analgesia_only + 0.02           # this mechanism adds the trough hyperalgesia


def test_naive_and_drug_free_read_outs_agree():
    t = np.array([0.0, 2.0, 8.0, 30.0])
    r = typical_patient(["morphine 10 mg IV once at 0.001 h"], t, model=default_model())
    u, w = r.get("unopposed_counteradaptation")[0], r.get("withdrawal_signal")[0]
    assert u[0] == 0.0 and w[0] == 0.0                 # drug-free: both exactly 0
    np.testing.assert_allclose(u[:3], w[:3], atol=1e-3)  # while the dose acts M ≈ 1: the two agree
    assert u[3] >= w[3]                                 # the late rebound of one dose (M just below 1): U ≥ W


def test_in_withdrawal_the_adapted_reference_adds_at_most_the_tolerance_share():
    """After stopping heroin the moderator M is below 1, so (R − M)⁺ ≥ (R − 1)⁺, by at most (1 − M)/r_sev."""
    t = np.arange(0.0, 28 * 24.0 + 72.0, 3.0)
    r = typical_patient(["heroin 25 mg IV q6h for 28 d"], t, model=default_model())
    after = t > 28 * 24.0
    u, w = r.get("unopposed_counteradaptation")[0][after], r.get("withdrawal_signal")[0][after]
    m = r.get("mor_counteradaptation")[0][after]
    assert np.all(u >= w - 1e-6)
    assert np.all(u - w <= (1 - m) / 2.0 + 0.01)        # r_sev = 2 (wd_rebound_severe)
