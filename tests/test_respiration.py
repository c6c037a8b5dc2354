"""Respiration module (issue 14): CO2 chemoreflex, clamped vs spontaneous breathing, hypercapnia
under opioids, breathing tolerance separate from analgesic tolerance and lost in abstinence."""

import numpy as np
import pytest

from opiaxis.models import build_model
from opiaxis.validate import targets_adaptation as T
from opiaxis.validate.targets_pk import typical_patient


@pytest.fixture(scope="module")
def m():
    return build_model(modules=["pk", "receptors", "adaptation", "respiration"])


def test_clamped_c50_below_spontaneous(m):
    """With PaCO2 free to rise, the CO2 that accumulates drives breathing back: the same fentanyl
    ramp halves ventilation at a higher effect-site concentration than under a CO2 clamp (600 µg
    over 60 min: the spontaneous arm needs more than the 150 µg of the target's ramp)."""
    clamped = T.fentanyl_c50([], 24.0, 600.0, model=m)
    spont = T.fentanyl_c50([], 24.0, 600.0, model=m, clamped=False)
    assert np.isfinite(spont) and spont > 1.1 * clamped


def test_hypercapnia_under_opioid_and_chemoreflex_offsets_depression(m):
    """Morphine 10 mg IV in a naïve person: PaCO2 rises above its baseline, PaO2 and SpO2 fall, and
    spontaneous ventilation is less depressed than the central drive (the chemoreflex offsets it)."""
    t = np.arange(0.0, 12.0, 0.05)
    r = typical_patient(["morphine 10 mg IV once at 1 h"], t, model=m)
    p, v, e = r.get("paco2")[0], r.get("ventilation_rel")[0], r.get("resp_drive_depression")[0]
    k = int(np.argmax(p))
    assert p[0] == pytest.approx(40.0) and p[k] > 42.0
    assert r.get("pao2")[0][k] < r.get("pao2")[0][0] and r.get("spo2")[0][k] < r.get("spo2")[0][0]
    assert v[k] > 1 - e[k] + 0.02
    assert p[-1] < p[k]     # recovers as morphine is cleared


def test_breathing_tolerance_partial_separate_and_lost_with_its_time_constant(m):
    """Heroin 4×/day for 4 weeks builds breathing tolerance (its own state, not the analgesic
    tolerance_level); after the last dose it decays towards naïve with resp_tolerance_offset_rate
    once the drug is gone: (Φ_b − 1) halves in ln2/k_off."""
    k_off = m.parameter("resp_tolerance_offset_rate").value
    half = np.log(2) / k_off
    t0 = T.HEROIN_LAST + 48.0            # heroin and metabolites cleared
    t = np.array([T.HEROIN_LAST - 1.0, t0, t0 + half])
    r = typical_patient([T.HEROIN], np.concatenate([[0.0], t]), model=m)
    fold = r.get("resp_tolerance_fold")[0][1:]
    assert fold[0] > 2.0
    assert (fold[2] - 1) / (fold[1] - 1) == pytest.approx(0.5, abs=0.05)


def test_breathing_tolerance_builds_slower_than_analgesic_tolerance(m):
    """One morphine 10 mg IV dose: the counter-adaptation (analgesic/reward tolerance_level) shifts
    within hours, breathing tolerance (sustained exposure, gain t½ days) far less."""
    t = np.array([0.0, 8.0, 24.0])
    r = typical_patient(["morphine 10 mg IV once at 1 h"], t, model=m)
    tol, resp = r.get("tolerance_level")[0], r.get("resp_tolerance_level")[0]
    assert tol[1] > 5 * resp[1] and tol[2] > 2 * resp[2] > 0


def test_drug_free_steady_state(m):
    r = T._drug_free([0.0, 500.0], m)
    np.testing.assert_allclose(r.get("paco2")[0], 40.0, atol=1e-9)
    np.testing.assert_allclose(r.get("ventilation_rel")[0], 1.0, atol=1e-9)
    np.testing.assert_allclose(r.get("resp_tolerance_fold")[0], 1.0, atol=1e-12)


@pytest.mark.xfail(strict=True, reason="issue 14, open: breathing tolerance fold ~5 on the compressed stimulus scale "
                   "(~12-fold in concentration) and the adaptation module's load bound (ε 0.01) carried into the "
                   "drive keep a chronic user's isohypercapnic ventilation at 0.30 of baseline after Algera's doses (and, "
                   "the load capped at 101, above ~0.1 at any dose)")
def test_fentanyl_can_stop_a_chronic_users_breathing(m):
    """Algera et al. 2021: apnoea in 7 of 8 chronic high-dose users after cumulative fentanyl 600–1800
    µg/70 kg (escalating IV doses 250, 350, 500, 700 µg). The model's chronic user (oral morphine 200
    mg/day for 8 weeks) given the same four doses 30 min apart, PaCO2 clamped, should reach apnoea
    (ventilation below 10% of the pre-fentanyl value)."""
    t_test = T.CHRONIC_LAST + T.CHRONIC_DELAY
    doses = [f"fentanyl {d} ug IV once over 1.5 min at {t_test + 0.5 * k:g} h" for k, d in enumerate((250, 350, 500, 700))]
    t = np.concatenate([[0.0], t_test + np.arange(0.0, 2.5, 1 / 60)])
    over = {"co2_clamp": 1.0}
    with_f = typical_patient([T.CHRONIC_USER] + doses, t, over, model=m).get("ventilation_rel")[0][1:]
    base = typical_patient([T.CHRONIC_USER], t, over, model=m).get("ventilation_rel")[0][1:]
    assert (with_f / base).min() < 0.1
