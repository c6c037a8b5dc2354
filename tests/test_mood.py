"""Endogenous opioids, regional PET and mood (issue 5): invariants and targets."""

import numpy as np
import pandas as pd
import pytest

from opiaxis import dosing
from opiaxis.engine import simulate
from opiaxis.study import regimen_doses
from opiaxis.models import build_model
from opiaxis.physiology.endogenous import REGIONS, social_events
from opiaxis.validate import targets_mood as T


@pytest.fixture(scope="module")
def small():
    """pk + receptors + endogenous + mood: the modules of this issue, without the others."""
    return build_model(modules=["pk", "receptors", "endogenous", "mood"])


def run(model, regimens, times, params=None, events=None):
    doses = regimen_doses(model, [1], regimens) if regimens else None
    if events is not None:
        ev = dosing.expand_doses(events)
        doses = ev if doses is None else pd.concat([doses, ev], ignore_index=True)
    P = model.default_parameters()
    for k, v in (params or {}).items():
        P[model.param_index[k]] = v
    return simulate(model, P[None, :], np.asarray(times, float), doses, ids=[1])


def test_no_drift_at_rest(small):
    r = run(small, [], [0.0, 24.0, 24 * 60.0])
    x = r.states[0]
    assert np.allclose(x[-1], x[0], atol=1e-6)
    assert abs(r.get("mood_drive")[0, -1]) < 1e-9
    assert r.get("madrs")[0, -1] == pytest.approx(2.0)
    for reg, (bp0, _, _) in REGIONS.items():
        assert r.get(f"mor_bpnd_{reg}")[0, -1] == pytest.approx(bp0)


def test_samidorphan_blocks_mu_agonism_not_kappa_antagonism(small):
    t = np.arange(24 * 6, 24 * 7 + 0.1, 1.0)
    bup = run(small, ["buprenorphine 2 mg SL daily for 7 d"], t)
    bs = run(small, ["buprenorphine-samidorphan 2/2 mg SL daily for 7 d"], t)
    rest = run(small, [], t)
    # μ agonism: buprenorphine's is blocked by samidorphan
    assert bs.get("mor_agonism_central").mean() < 0.1 * bup.get("mor_agonism_central").mean()
    assert bup.get("mor_agonism_central").mean() > 0.05
    # κ antagonism: dynorphin signalling stays blocked (at least as much as buprenorphine alone)
    k_rest = rest.get("kor_endogenous_agonism").mean()
    assert bup.get("kor_endogenous_agonism").mean() < 0.85 * k_rest
    assert bs.get("kor_endogenous_agonism").mean() <= bup.get("kor_endogenous_agonism").mean()
    # samidorphan also displaces endogenous μ ligands; the net BUP/SAM drive is still antidepressant
    assert bs.get("mor_endogenous_agonism").mean() < 0.2 * rest.get("mor_endogenous_agonism").mean()
    assert bs.get("mood_drive").mean() < 0 < bs.get("mood_drive").mean() + 1


def test_low_dose_buprenorphine_antidepressant(small):
    t = np.arange(24 * 6, 24 * 7 + 0.1, 2.0)
    # twelfth session: −0.018 with the tones against a set point (buprenorphine's κ blockade of resting tone no
    # longer counts; its μ agonism does); before, below −0.02, the threshold then — lowered −0.02 → −0.01
    assert run(small, ["buprenorphine 0.4 mg SL daily for 7 d"], t).get("mood_drive").mean() < -0.01


# ---- twelfth session: opioid tones measured against the set point of the receptors drugs leave free ---------
def test_silent_blockade_of_resting_tone_is_mood_neutral(small):
    """A κ antagonist or naltrexone in a healthy person whose peptides are at rest removes the tonic
    tone and its set point together: no drive (Malcolm et al. 1987: naltrexone 50 mg/day leaves healthy
    mood unchanged). Before the set point aticaprant 10 mg gave −0.10 and naltrexone −0.03 to −0.06."""
    t = np.arange(24 * 6, 24 * 7 + 0.1, 2.0)
    for reg in ("aticaprant 10 mg oral daily for 7 d", "naltrexone 50 mg oral daily for 7 d"):
        r = run(small, [reg], t)
        assert r.get("kor_occupancy").mean() > 0.5 or r.get("mor_occupancy_central").mean() > 0.5
        assert abs(r.get("mood_drive")).max() < 0.003, reg
        assert abs(r.get("kappa_mood_signal")).max() < 0.003, reg


def test_depression_recruits_dynorphin_that_a_kappa_antagonist_blocks(small):
    """A depressive state raises dynorphin (dynorphin_depression_gain; Shirayama et al. 2004) and that
    κ signal above the set point is depressogenic; aticaprant removes it, so it lowers the drive of a
    depressed person and not of a healthy one."""
    t = np.arange(24 * 13, 24 * 14 + 0.1, 2.0)
    dep = {"depression_history": 1.0, "mood_trait_offset": 0.1}     # past the tipping point: stays in an episode
    rest, ati = run(small, [], t, dep), run(small, ["aticaprant 10 mg oral daily for 14 d"], t, dep)
    M = rest.get("mood_state").mean()
    assert M > 0.8
    g = small.default_parameters()[small.param_index["dynorphin_depression_gain"]]
    assert rest.get("dynorphin_tone").mean() == pytest.approx(1 + g * M, rel=0.05)
    assert rest.get("kappa_mood_signal").mean() > 0.03              # 0.25·D/(1 + 0.25·D) − 0.2 at D ≈ 1.45
    assert ati.get("kappa_mood_signal").mean() < 0.1 * rest.get("kappa_mood_signal").mean()
    # the drive falls by the blocked excess (w_κ 0.7 × ~0.05), more than the healthy person's 0
    assert ati.get("mood_drive").mean() < rest.get("mood_drive").mean() - 0.02
    healthy = run(small, [], t)
    assert healthy.get("dynorphin_tone").mean() == pytest.approx(1.0, abs=1e-9)


def test_opioid_and_naltrexone_pet(small):
    t = [0.0, 24 * 3 + 4]
    oxy = run(small, ["oxycodone 20 mg oral q6h for 3 d"], t)
    ntx = run(small, ["naltrexone 50 mg oral daily for 4 d"], t)
    for r in (oxy, ntx):
        for reg, (bp0, _, _) in REGIONS.items():
            assert r.get(f"mor_bpnd_{reg}")[0, -1] < 0.5 * bp0
    # naltrexone leaves little endogenous μ signal (it displaces endogenous ligands too)
    assert ntx.get("mor_endogenous_agonism")[0, -1] < 0.2 * 0.1 / 1.1


def test_social_rejection_lowers_bpnd_and_acceptance_deactivates_thalamus(small):
    ev = pd.concat([social_events([1], "rejection", 10.0, 0.5), social_events([1], "acceptance", 30.0, 0.5)])
    r = run(small, [], [9.0, 10.4, 30.4], events=ev)
    nacc, thal = r.get("mor_bpnd_nacc")[0], r.get("mor_bpnd_thalamus")[0]
    assert nacc[1] < 0.97 * nacc[0]          # rejection: release, lower BPND
    assert thal[2] > thal[0]                  # acceptance: thalamic deactivation (Hsu 2013)
    assert r.get("negative_affect")[0, 1] > 0.05


def test_social_events_helper_rows():
    ev = social_events([1, 2], "rejection", 5.0, 0.5, intensity=2.0, rate=3.0)
    assert list(ev["CMT"]) == ["social.rejection"] * 2
    assert ev["RATE"].iloc[0] == 6.0 and ev["AMT"].iloc[0] == 3.0
    with pytest.raises(ValueError):
        social_events([1], "praise")


def test_scales_within_published_ranges(small):
    P = np.tile(small.default_parameters(), (4, 1))
    P[:, small.param_index["mood_initial"]] = [0.0, 0.6, 1.1, 3.0]
    P[:, small.param_index["mood_trait_offset"]] = [0.0, 0.02, 0.05, 3.0]
    r = simulate(small, P, np.array([0.0, 500.0]))
    for name, hi in (("madrs", 60), ("hamd", 52), ("phq9", 27), ("bdi", 63)):
        v = r.get(name)
        assert np.all(v >= 0) and np.all(v <= hi), name
    madrs = r.get("madrs")[:, -1]
    assert np.all(np.diff(madrs) > 0)  # ordered by severity
    assert 25 <= r.get("madrs")[2, 0] <= 36  # a current episode ~ the trial baseline (MADRS ~30)


def test_drug_free_drive_beyond_the_tipping_point_starts_in_an_episode(small):
    """The initial latent state is the drug-free steady state: a resting drive above the euthymic
    state's tipping point (0.096 for c = 2, θ = 0.5) leaves only the depressed state, so such a
    person starts — and stays, without drugs — in an episode; just below it they start and stay
    euthymic (bistable: history decides, default euthymic)."""
    P = np.tile(small.default_parameters(), (4, 1))
    P[:, small.param_index["mood_trait_offset"]] = [0.09, 0.10, 0.0, 0.01]
    P[2:, small.param_index["depression_history"]] = 1.0
    P[3, small.param_index["early_life_adversity"]] = 1.0
    r = simulate(small, P, np.array([0.0, 24 * 60.0]))
    M, madrs = r.get("mood_state"), r.get("madrs")
    assert madrs[0, 0] == pytest.approx(2.0) and M[0, -1] < 0.25 and madrs[0, -1] < 10  # 0.09: euthymic branch
    assert madrs[1, 0] > 25 and abs(M[1, -1] - M[1, 0]) < 0.05                # 0.10: in an episode at rest
    assert M[2, -1] < 0.25 and madrs[2, -1] < 10                               # history alone (0.05): euthymic
    assert madrs[3, 0] > 25 and madrs[3, -1] > 25                              # history + adversity + 0.01


def test_target_rejection():
    o = T.rejection_challenge(n=12)
    for reg in ("nacc", "amygdala", "thalamus"):
        assert o["HC"][f"BPND change % {reg}"] < o["MDD"][f"BPND change % {reg}"] < 0
    assert o["MDD"]["recovery h"] > o["HC"]["recovery h"]
    assert o["MDD"]["baseline MADRS"] > 20 > o["HC"]["baseline MADRS"]


def test_target_bupsam_trial_reproducible_and_in_band():
    v = T.bupsam_trial(n=300)
    assert -5 <= v["difference"] <= -1
    assert 0.1 <= v["hedges g"] <= 0.4
    assert v["change placebo"] < -3   # placebo response present in both arms
    # the scored read-out: the model's expected effect (paired arms), precise to a fraction of a point
    assert -5 <= v["expected difference"] <= -1 and 0.1 <= v["expected g"] <= 0.4
    assert v["expected difference SE"] < 0.5 and v["paired n"] == v["randomised"]


def test_ssri_trial_reproduces_the_drug_placebo_difference_it_was_calibrated_to():
    """The SSRI candidate's antidepressant_effect (calibrated: opiaxis calibrate mood.antidepressant)
    gives an 8-week SSRI vs placebo difference inside the MADRS trials' 95% CI on Cipriani 2018's data
    (Hengartner et al. 2020: 2.99, 2.24–3.74); with no drug effect the paired arms are identical
    (control: the difference is the drug's, not the design's)."""
    from opiaxis.calibrate.procedures import SSRI_CANDIDATE, candidate_setting
    point, low, high = T.SSRI_MADRS_DIFFERENCE
    v = T.ssri_trial(effect=candidate_setting(SSRI_CANDIDATE, "antidepressant_effect"))
    assert low <= -v["expected difference"] <= high, v
    assert v["randomised"] > 250 and v["baseline MADRS"] > 25 and v["change placebo"] < -3, v
    control = T.ssri_trial(effect=0.0, n=40, weeks=2)
    assert control["expected difference"] == 0.0 and control["randomised"] > 0


def test_per_patient_randomness_reproducible():
    assert T.bupsam_trial(n=40, weeks_leadin=1, weeks=1) == T.bupsam_trial(n=40, weeks_leadin=1, weeks=1)
    a = T.bupsam_trial(n=40, weeks_leadin=1, weeks=1)
    b = T.bupsam_trial(n=40, weeks_leadin=1, weeks=1, seed=T.SEED + 1)
    assert a != b


def test_target_prevalence_general_vs_oud():
    g = T.prevalence(n=200, population="general")
    assert 3 <= g["prevalence %"] <= 10          # calibration: ~6.6% (Kessler 2003)
    o = T.prevalence(n=90, weeks=3)
    assert o["prevalence %"] > 2 * g["prevalence %"]
    assert 25 <= o["prevalence %"] <= 47          # full target (n=300, 4 weeks) scored in validation


def test_receptor_density_sets_bpnd_and_endogenous_tone(small):
    """mood.mor.bdi mechanism: fewer μ receptors → lower BPND and a weaker antidepressant endogenous
    signal (higher depressogenic drive), at the same peptide levels (Nummenmaa et al. 2020)."""
    t = [0.0, 24.0 * 7]
    low = run(small, [], t, {"mor_density": 0.7})
    high = run(small, [], t, {"mor_density": 1.3})
    assert low.get("mor_bpnd_nacc")[0, -1] == pytest.approx(0.7 / 1.3 * high.get("mor_bpnd_nacc")[0, -1])
    assert low.get("mor_endogenous_agonism")[0, -1] == pytest.approx(high.get("mor_endogenous_agonism")[0, -1])
    assert low.get("mood_drive")[0, -1] > high.get("mood_drive")[0, -1] + 0.01
    assert low.get("bdi")[0, -1] > high.get("bdi")[0, -1]   # sub-clinical scores are not clipped


# ---- issue 14: sub-clinical read-outs, central cytokines -----------------------------------------
def test_scale_equating_passes_through_its_anchors_and_the_origin():
    """BDI-II and PHQ-9 from HAM-D: piecewise linear through the published anchors (Furukawa 2019;
    Kroenke 2001 / Zimmerman 2013) and through 0, so no euthymic score is clipped to 0."""
    import sympy as sp
    from opiaxis.physiology.mood import madrs_from_latent, through_anchors
    h = sp.Symbol("h")
    bdi = through_anchors(h, ((10, 13), (20, 32), (30, 50)), 1.8)
    phq = through_anchors(h, ((17, 10), (24, 15)), sp.Rational(5, 7))
    for x, y in ((0, 0), (10, 13), (20, 32), (30, 50), (5, 6.5)):
        assert float(bdi.subs(h, x)) == pytest.approx(y)
    for x, y in ((0, 0), (17, 10), (24, 15)):
        assert float(phq.subs(h, x)) == pytest.approx(y)
    M = sp.Symbol("M")
    madrs = madrs_from_latent(M, 2.0, 0.7)
    below, above = float(madrs.subs(M, -1e-7)), float(madrs.subs(M, 1e-7))
    assert below == pytest.approx(above, abs=1e-4) and above == pytest.approx(2.0, abs=1e-4)
    slope_below = (float(madrs.subs(M, -1e-6)) - float(madrs.subs(M, -2e-6))) / 1e-6
    slope_above = (float(madrs.subs(M, 2e-6)) - float(madrs.subs(M, 1e-6))) / 1e-6
    assert slope_below == pytest.approx(slope_above, rel=1e-3)   # C1 at the euthymic point
    assert 0 < float(madrs.subs(M, -0.2)) < 0.1


def test_subclinical_symptoms_rank_people_by_their_drive(small):
    """Sub-clinical drives (below the episode threshold) give strictly ordered BDI-II, PHQ-9 and
    HAM-D scores: the between-person variation Nummenmaa et al. 2020 measured is not clipped."""
    P = np.tile(small.default_parameters(), (5, 1))
    P[:, small.param_index["mood_trait_offset"]] = [-0.06, -0.03, 0.0, 0.03, 0.06]
    r = simulate(small, P, np.array([0.0, 24 * 7 * 8.0]))
    for name in ("bdi", "phq9", "hamd", "madrs"):
        v = r.get(name)[:, -1]
        assert np.all(np.diff(v) > 0), name
    assert r.get("bdi")[-1, -1] < 13          # still sub-clinical (BDI-II minimal range 0–13)


def test_central_cytokines_raise_the_depressive_drive(small):
    """Dantzer et al. 2008: brain IL-1β/TNF-α induce depressed mood. Doubling central cytokines adds
    mood_weight_central_cytokines·ln 2 to the drive; with the weight 0 the link is gone. (The dynorphin
    that the rising latent state recruits is held off, so the cytokine term is read alone.)"""
    t = [0.0, 24.0]
    base = run(small, [], t)
    up = run(small, [], t, {"central_cytokines_rel": 2.0, "dynorphin_depression_gain": 0.0})
    w = small.parameter("mood_weight_central_cytokines").value
    assert up.get("mood_drive")[0, -1] - base.get("mood_drive")[0, -1] == pytest.approx(w * np.log(2.0))
    cut = run(small, [], t, {"central_cytokines_rel": 2.0, "mood_weight_central_cytokines": 0.0})
    assert cut.get("mood_drive")[0, -1] == pytest.approx(base.get("mood_drive")[0, -1])


def test_oud_cohort_heroin_inside_street_and_treatment_data():
    """mood.oud.prevalence's heroin cohort is anchored to data, not assumed (targets_mood's comment):
    2-3 injections a day (NDARC; HAT schedules at most 3), 60-400 mg diacetylmorphine a day (street
    habits up to heavy use; HAT's 300-400 mg/day is the upper anchor)."""
    per_day = 24 / float(T.OUD_HEROIN_INTERVAL.strip("qh"))
    assert 2 <= per_day <= 3
    daily = [d * per_day for d in T.OUD_HEROIN_DOSES_MG]
    assert 60 <= min(daily) and max(daily) <= 400
    assert len(set(T.OUD_HEROIN_DOSES_MG)) == len(T.OUD_HEROIN_DOSES_MG)
