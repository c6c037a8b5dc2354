"""Respiration module (issue 14): CO2 chemoreflex, clamped vs spontaneous breathing, hypercapnia
under opioids, breathing tolerance separate from analgesic tolerance and lost in abstinence; an O2
store and a hypoxic drive (design memo C, second step)."""

import numpy as np
import pytest

from opiaxis.models import build_model
from opiaxis.validate import targets_adaptation as T
from opiaxis.validate.targets_pk import typical_patient


@pytest.fixture(scope="module")
def m():
    return build_model(modules=["pk", "receptors", "adaptation", "respiration"])


def test_clamped_c50_below_spontaneous(m):
    """With PaCO2 free to rise (and O2 free to fall), the CO2 that accumulates and the hypoxic drive
    drive breathing back: the same fentanyl ramp halves ventilation at a higher effect-site
    concentration than under an end-tidal clamp (1200 µg over 60 min: the spontaneous arm needs more
    than the 150 µg of the target's ramp; at 600 µg it no longer halves since the hypoxic drive)."""
    clamped = T.fentanyl_c50([], 24.0, 1200.0, model=m)
    spont = T.fentanyl_c50([], 24.0, 1200.0, model=m, clamped=False)
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


def test_breathing_tolerance_partial_separate_and_lost_in_two_phases(m):
    """Heroin 4×/day for 4 weeks builds breathing tolerance (its own states, not the analgesic
    tolerance_level) in two phases, Φ_b = Φ_f·Φ_s; after the last dose, once the drug is gone, each
    decays towards naïve with its own rate: (Φ_f − 1) halves in ln2/k_off (days), (Φ_s − 1) in
    ln2/k_off,s (13.2 d, the slow phase of Cox et al., Br J Pharmacol 1975), so a fortnight after
    the fast phase is gone the slow phase still holds tolerance."""
    k_f = m.parameter("resp_tolerance_offset_rate").value
    k_s = m.parameter("resp_tolerance_slow_offset_rate").value
    h_f, h_s = np.log(2) / k_f, np.log(2) / k_s
    assert h_s > 3 * h_f
    t0 = T.HEROIN_LAST + 48.0            # heroin and metabolites cleared
    t = np.array([T.HEROIN_LAST - 1.0, t0, t0 + h_f, t0 + h_s])
    r = typical_patient([T.HEROIN], np.concatenate([[0.0], t]), model=m)
    fast, slow = r.get("resp_tolerance_fast")[0][1:], r.get("resp_tolerance_slow")[0][1:]
    fold = r.get("resp_tolerance_fold")[0][1:]
    np.testing.assert_allclose(fold, fast * slow, rtol=1e-12)
    assert fold[0] > 2.0 and fast[0] > 1.5 and slow[0] > 1.5
    assert (fast[2] - 1) / (fast[1] - 1) == pytest.approx(0.5, abs=0.05)
    assert (slow[3] - 1) / (slow[1] - 1) == pytest.approx(0.5, abs=0.05)
    assert slow[3] - 1 > 2 * (fast[3] - 1)   # what remains after two weeks is mostly the slow phase


def test_breathing_tolerance_grows_with_effect_times_time(m):
    """Effect-driven tolerance (design memo B), in two phases: d ln Φ_x/dt = k_on,x·E − k_off,x·(1 − 1/Φ_x)
    with k_on,x = k_off,x/r. Early on, while Φ_b is near 1, ln Φ_b tracks (k_on,f + k_on,s)·∫E dt; a
    larger dose (more effect) builds more, and nothing builds without an effect."""
    t = np.arange(0.0, 12.0 + 1e-9, 0.02)
    k_on = (m.parameter("resp_tolerance_offset_rate").value + m.parameter("resp_tolerance_slow_offset_rate").value) \
        / m.parameter("resp_tolerance_residual").value
    folds = {}
    for mg in (2.5, 10.0):
        r = typical_patient([f"morphine {mg:g} mg IV once at 1 h"], t, model=m)
        E, fold = r.get("resp_drive_depression")[0], r.get("resp_tolerance_fold")[0]
        predicted = k_on * np.trapezoid(E, t)
        assert np.log(fold[-1]) == pytest.approx(predicted, rel=0.1)   # loss is second order this early
        folds[mg] = fold[-1]
    assert folds[10.0] - 1 > 2 * (folds[2.5] - 1) > 0


def test_breathing_tolerance_less_with_intermittent_dosing(m):
    """The same weekly morphine as 15 mg IV q6h or as one 210-mg dose a week (continuous versus
    intermittent: Marchette et al., JPET 2023, tolerance after continuous fentanyl, none after
    intermittent high doses): the intermittent user ends three weeks with far less breathing
    tolerance, since the effect saturates (E ≤ 1) and the tolerance decays between doses."""
    t = np.array([0.0, 21 * 24.0 - 1.0])
    cont = typical_patient(["morphine 15 mg IV q6h for 21 d"], t, model=m).get("resp_tolerance_fold")[0][-1]
    inter = typical_patient(["morphine 210 mg IV q168h for 21 d"], t, model=m).get("resp_tolerance_fold")[0][-1]
    assert cont > 2.0 and inter - 1 < 0.5 * (cont - 1)


def test_methadone_patients_tolerate_their_own_peak_and_a_superimposed_morphine_infusion(m):
    """Two human constraints on the *form* of breathing tolerance (fifteenth session; docs/validation.md,
    "The form of breathing tolerance"): (1) methadone-maintained patients showed no change in ventilatory
    responses or respiratory drive after taking their daily dose (Santiago, Goldblatt, Winters, Pugliese &
    Edelman, Am Rev Respir Dis 1980, "Respiratory consequences of methadone: the response to added
    resistance to breathing"; abstract read): over day 59 of methadone 80 mg the spontaneous ventilation
    swings by < 10%; (2) at the trough (~20 h after the dose), a morphine infusion to plasma 106–305 ng/mL
    lowered the respiration rate by only 12 ± 3% (range −29% to +8%; Athanasos et al., Pain 2006;120:267;
    abstract read): with morphine at that protocol (pred.pain.mmt_crosstolerance's assumed history and
    infusion), spontaneous ventilation stays ≥ 0.71 of its course without morphine (the worst patient),
    while in a naïve person the same infusion depresses the drive by more than half. A tolerance that
    subtracts a tolerated signal instead of dividing the signal (an offset; fifteenth session's candidate)
    fails both (swing 0.68–1.00; ventilation ratio 0.63)."""
    from opiaxis.validate.targets_predictions import MMT_HISTORY, MMT_LAST, _morphine_infusion
    t = np.concatenate([[0.0], np.arange(58 * 24.0, 59 * 24.0 + 1e-9, 0.25)])
    v = typical_patient(["methadone 80 mg oral daily for 60 d"], t, model=m).get("ventilation_rel")[0][1:]
    assert v.max() - v.min() < 0.1 * v.max()
    t_s = MMT_LAST + 20.0
    t = np.concatenate([np.arange(0.0, t_s, 6.0), t_s + np.arange(0.0, 3.0 + 1e-9, 1 / 12)])
    sess = t >= t_s
    with_m = typical_patient(MMT_HISTORY + _morphine_infusion(t_s), t, model=m)
    without = typical_patient(MMT_HISTORY, t, model=m)
    ratio = with_m.get("ventilation_rel")[0][sess] / without.get("ventilation_rel")[0][sess]
    assert ratio.min() >= 0.71
    naive = typical_patient(_morphine_infusion(t_s), t, model=m).get("resp_drive_depression")[0][sess]
    assert naive.max() > 0.5


def test_methadone_central_availability_in_the_pet_range():
    """Methadone 18–90 mg/day (Melichar et al., JPET 2005: minimal μ occupancy by [11C]diprenorphine
    PET; high receptor reserve, Hume et al. 2007): with τ the binding constant is τ·K^app, so the
    daily-mean availability stays high while the signalling agonism (what withdrawal, reward, HPA
    read) is what K^app alone gives (≈ 0.976 at 80 mg, unchanged from before τ)."""
    mm = build_model(modules=["pk", "receptors"])
    t = np.arange(20 * 24.0, 21 * 24.0, 0.5)
    for mg, lo in ((18, 0.85), (90, 0.6)):
        r = typical_patient([f"methadone {mg} mg oral daily for 21 d"], np.concatenate([[0.0], t]), model=mm)
        avail, ago = r.get("mor_availability_pet")[0][1:], r.get("mor_agonism_central")[0][1:]
        c = r.get("methadone_effect")[0][1:]
        k_app = mm.parameter("methadone_mor_central_K").value
        assert avail.mean() > lo
        np.testing.assert_allclose(ago, (c / k_app) / (1 + c / k_app), rtol=1e-6)


def test_linear_signal_additive_and_reversed_by_an_antagonist():
    """σ (mor_signal_central) is linear and additive for full agonists (no bound, no compression):
    heroin on top of methadone adds its own signal; naloxone, as it occupies receptors, takes the
    signal away (Gaddum/Schild), although methadone's binding is weak."""
    mm = build_model(modules=["pk", "receptors"])
    t = np.array([0.0, 24 * 20 + 3.0, 24 * 20 + 3.25])
    meth = ["methadone 80 mg oral daily for 21 d"]
    s_m = typical_patient(meth, t, model=mm).get("mor_signal_central")[0]
    s_h = typical_patient(["fentanyl 100 ug IV once at 483 h"], t, model=mm).get("mor_signal_central")[0]
    both = typical_patient(meth + ["fentanyl 100 ug IV once at 483 h"], t, model=mm).get("mor_signal_central")[0]
    assert both[2] == pytest.approx(s_m[2] + s_h[2], rel=0.02) and s_h[2] > 1.0
    nlx = typical_patient(meth + ["naloxone 0.4 mg IV once at 483 h"], t, model=mm).get("mor_signal_central")[0]
    assert nlx[2] < 0.5 * s_m[2]


def test_drug_free_steady_state(m):
    r = T._drug_free([0.0, 500.0], m)
    np.testing.assert_allclose(r.get("paco2")[0], 40.0, atol=1e-9)
    np.testing.assert_allclose(r.get("ventilation_rel")[0], 1.0, atol=1e-9)
    for name in ("resp_tolerance_fold", "resp_tolerance_fast", "resp_tolerance_slow"):
        np.testing.assert_allclose(r.get(name)[0], 1.0, atol=1e-12, err_msg=name)


@pytest.mark.xfail(strict=True, reason="issue 14, open (after the structural fix): the linear signal removed the "
                   "load bound, but oral morphine 200 mg/day builds an effect-driven "
                   "breathing tolerance Φ ≈ 8 (fentanyl concentration fold ~12, Algera: 4.3) and Algera's "
                   "doses leave the chronic user's isohypercapnic ventilation at 0.16 of baseline (0.30 before); the "
                   "same exposure question as tol.fentanyl.c50")
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


def test_occupancy_equivalent_agonism_bounded_with_a_partial_agonist():
    """Methadone (τ 100) with buprenorphine displacing it: the signalling agonism stays within 0…1 (the
    full agonists share only the receptors buprenorphine does not hold), so adaptation's load stays finite
    and the solver integrates (a σ/(1+σ) form exceeded 1 here)."""
    mm = build_model(modules=["pk", "receptors"])
    t = np.arange(0.0, 30.0, 0.25)
    r = typical_patient(["methadone 80 mg oral daily for 2 d", "buprenorphine 16 mg SL once at 20 h"], t, model=mm)
    a, occ_b = r.get("mor_agonism_central")[0], r.get("mor_occupancy_buprenorphine")[0]
    assert (r.stats[:, 2] == 0).all() and occ_b.max() > 0.3
    assert a.max() <= 1 - 0.5 * occ_b[np.argmax(a)] + 1e-9


def test_o2_store_falls_before_co2_rises_and_hypoxic_drive_rescues_partial_depression(m):
    """Design memo C, second step. Heroin 25 mg IV: in a naïve person the drive is abolished and
    PaO2 falls below the FDA 'dangerous' 30 mmHg within minutes, long before PaCO2 (slow CO2 stores,
    k_el 0.08/min) reaches the value whose alveolar-gas-equation PaO2 would be as low; after 4 weeks
    of 4×/day heroin 25 mg (breathing tolerance, Φ ≈ 13) a dose of 80 mg depresses the drive only
    partly and the hypoxic drive keeps PaO2 above 30 mmHg (≈ 46), where without it the O2 store would
    fall below (≈ 18). The tolerant arm's dose was 25 mg while 6-MAM's central potency was ~5× too
    high (design memo docs/design/heroin-potency.md); at the corrected potency 25 mg leaves PaO2 near
    60 mmHg even without the hypoxic drive, so it no longer tests the rescue."""
    tt = np.arange(0.0, 3.0 + 1e-9, 1 / 120)
    naive = typical_patient(["heroin 25 mg IV once at 24 h"], 24.0 + np.concatenate([[-23.0], tt]), model=m)
    pao2, paco2 = naive.get("pao2")[0][1:], naive.get("paco2")[0][1:]
    k = int(np.argmax(pao2 < 30.0))
    assert pao2.min() < 30.0 and tt[k] < 0.25
    assert 149.0 - paco2[k] / 0.8 - 10.0 > 45.0      # the steady-state read-out would still be far above
    t_use = T.HEROIN_LAST + 6.0
    grid = t_use + np.concatenate([[-T.HEROIN_LAST - 6.0 + 1.0], tt])
    low = {}
    for gain in (None, 0.0):
        over = None if gain is None else {"hypoxic_ventilatory_gain": gain}
        r = typical_patient([T.HEROIN, f"heroin 80 mg IV once at {t_use:g} h"], grid, over, model=m)
        low[gain] = r.get("pao2")[0][1:].min()
    assert low[None] > 30.0 > low[0.0]


def test_o2_store_recovers_from_a_solver_overshoot_below_zero(m):
    """A step that overshoots the alveolar PO2 below 0 (deep apnoea, loose tolerances) must recover to
    rest once breathing resumes, not sit at a spurious equilibrium (before the rates read max(P_A, 0),
    P_A ≈ −1 mmHg held 20-fold ventilation against the pole of the uptake term)."""
    from opiaxis.engine.simulate import simulate
    P = m.default_parameters()[None, :]
    x0 = m.initial_state(P)
    x0[0, m.state_index["alveolar_po2"]] = -1.0
    r = simulate(m, P, np.array([0.5, 2.0]), None, ids=np.array([1]), x0=x0, t0=0.0)
    pa = r.states[0, -1, m.state_index["alveolar_po2"]]
    assert pa == pytest.approx(149.0 - 40.0 / 0.8, abs=1.0)
