"""Acute physical dependence (adaptation equation 2b): naloxone precipitates withdrawal after ONE dose of
morphine because a fast superactivation builds while the agonist holds the signalling tone below its adapted
level; with its weight 0 one dose leaves no dependence. The fast phase is read-outs only: the slow loop (tone R,
moderator M) never sees it, so M and R are the same with and without it in any fixed regimen."""

import numpy as np
import pytest

from opiaxis.models import build_model
from opiaxis.validate.targets_pk import typical_patient

OFF = {"adapt_fast_weight": 0.0}   # control: no fast phase
PRECIPITATED = 3.0                 # PRECIPITATED_COWS_EXCESS of pred.wd.bup_in_methadone / acute_dependence


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
    with_fast, r, _ = _excess(m4, 10.0, 2.0)
    without, r0, _ = _excess(m4, 10.0, 2.0, OFF)
    assert with_fast >= PRECIPITATED
    assert without < 0.5             # control: the slow moderator alone (t½ of days) gives none
    f = r.get("mor_superactivation_fast")[0]
    assert f.max() > 0.3 and np.all(f >= -1e-9)
    np.testing.assert_allclose(r0.get("mor_superactivation_fast")[0], 0.0, atol=1e-12)


def test_precipitated_withdrawal_grows_with_the_morphine_dose(m4):
    """Bickel et al., JPET 1988;244:126: naloxone 6 h after morphine 1–17 mg, graded with the dose."""
    low, _, _ = _excess(m4, 3.0, 6.0)
    high, _, _ = _excess(m4, 17.0, 6.0)
    assert high > low + 2


def test_withdrawal_hyperalgesia_after_one_dose(m4):
    """Compton, Athanasos & Elashoff, J Pain 2003;4:511: cold-pressor tolerance falls in precipitated
    withdrawal after one dose; without the fast phase it does not."""
    free = typical_patient([], np.array([0.0, 24.0]), model=m4).get("cold_pressor_tolerance")[0][-1]
    for ov, ok in ((None, lambda x: x < 0.9 * free), (OFF, lambda x: x > 0.98 * free)):
        _, r, t = _excess(m4, 10.0, 2.0, ov, read="cold_pressor_tolerance")
        assert ok(r.get("cold_pressor_tolerance")[0][t >= 3.0].min())


@pytest.mark.parametrize("regimen", ["methadone 80 mg oral daily for 60 d", "heroin 40 mg IV q8h for 28 d"])
def test_slow_loop_unchanged_by_the_fast_phase(m4, regimen):
    """Maintained (methadone) and intermittent (heroin q8h) users: the slow moderator M and the tone R are the
    same with and without the fast phase. It enters neither equation; what differs is the ODE solver's step
    control (F and D are integrated in both runs, 0 in the control): measured max |ΔM| 4e-11 (heroin) and 9e-10
    (methadone), |ΔR| 4e-8 and 1.7e-6 (R turns over in minutes) on the default model, so M is held to 1e-6 and
    R and tolerance_level to 1e-5."""
    t = np.arange(0.0, 28 * 24.0, 1.0)
    on, off = typical_patient([regimen], t, model=m4), typical_patient([regimen], t, OFF, model=m4)
    for name, tol in (("mor_counteradaptation", 1e-6), ("mor_signal_tone", 1e-5), ("tolerance_level", 1e-5)):
        np.testing.assert_allclose(on.get(name)[0], off.get(name)[0], rtol=0, atol=tol, err_msg=name)


def test_slow_loop_equations_do_not_read_the_fast_phase(m4):
    """Structurally: neither the tone R nor the slow moderator M (nor what their equations read through
    assignments) contains F or D; the runs above check the same numerically."""
    odes = m4.substituted_odes()
    reads = {name: {str(x) for x in odes[name].free_symbols} for name in odes}
    fast = {"mor_superactivation_fast", "mor_signal_tone_fast"}
    for name in ("mor_signal_tone", "mor_counteradaptation"):
        assert not (reads[name] & fast), name
    assert "mor_superactivation_fast" in reads["mor_signal_tone_fast"]      # the check can see F


def test_fast_phase_silent_when_drug_free(m4):
    t = np.array([0.0, 50.0, 500.0])
    r = typical_patient([], t, model=m4)
    np.testing.assert_allclose(r.get("mor_superactivation_fast")[0], 0.0, atol=1e-12)
    np.testing.assert_allclose(r.get("mor_signal_tone_fast")[0], 0.0, atol=1e-12)
