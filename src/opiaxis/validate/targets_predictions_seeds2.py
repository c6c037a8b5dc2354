"""Held-out predictions from the seed reviews, third set (fifteenth session, 2026-11-30).

Six published human findings in areas that had no held-out prediction yet: glial modulators in humans
(minocycline, ibudilast), opioid-induced hyperalgesia on starting an opioid, the course of depressive
symptoms on opioid agonist treatment, the faecal short-chain fatty acids of methadone patients, and
the HPA axis of long-term methadone patients. None is in ``shared/science/targets.md`` or among the
other targets, none was asserted by a test, and no parameter was calibrated to any
(``data/calibration.yaml`` searched for each source). Each band and protocol was written from the
abstract and committed before the target was first simulated; a band is never changed after its first
run. Assumed protocol details (doses the abstracts do not give, timing, which model read-out stands for
a clinical scale) are named in each target's comment.

Glial modulators: the model has no ibudilast or minocycline drug; both are the glia module's study
parameter ``glial_modulator_inhibition`` (the fraction by which glial recruitment is attenuated), set
to 0.5 for both (assumed: the level of the recommend engine's glial-modulator adjunct,
``data/candidates.yaml``; no human dose–inhibition relation is known for either drug).
"""

from __future__ import annotations

import numpy as np

from ..dosing import EventTable
from ..engine import simulate
from ..models import default_model
from .registry import target
from .targets_adaptation import ENTRY, HEROIN_HISTORY, _drug_free
from .targets_pk import typical_patient
from .targets_predictions_seeds import _window_mean

GLIAL_MODULATOR = 0.5   # glial_modulator_inhibition standing for minocycline 200 mg/day or ibudilast 50 mg bid (assumed)


def _switched(regimens: list[str], t_switch: float, times, overrides: dict, model=None):
    """One typical patient on ``regimens``; from ``t_switch`` (h, not a dose time) on, the parameters
    ``overrides`` apply (a drug the model expresses as a parameter, started at ``t_switch``).
    Returns the results from ``t_switch`` on, at ``times`` (all ≥ ``t_switch``)."""
    model = model or default_model()
    ev = EventTable.from_regimens(model, regimens).for_ids([1]).expanded()
    P = model.default_parameters()[None, :]
    r0 = simulate(model, P, np.array([0.0, t_switch]), ev[ev["TIME"] <= t_switch], ids=[1])
    P2 = P.copy()
    for k, v in overrides.items():
        P2[0, model.param_index[k]] = v
    after = ev[ev["TIME"] > t_switch]
    return simulate(model, P2, np.asarray(times, float), after if len(after) else None, ids=[1],
                    t0=t_switch, x0=r0.states[:, -1, :])


# ----------------------------------------------------------------------------------------------
# Glia and pain: minocycline in agonist-maintained patients (Arout, Waters, MacLean, Compton & Sofuoglu,
# Psychopharmacology 2019;236:2857; abstract read): 20 patients with OUD maintained on agonist treatment,
# randomised double-blind to minocycline 200 mg/day or placebo for 15 days; cold-pressor test sessions on
# treatment days 1, 8 and 15: minocycline did not change pain threshold or tolerance (title: "does not
# affect experimental pain ... in opioid maintained patients"). Assumed: 12 weeks of heroin, then
# methadone 80 mg/day for 24 weeks (stable maintenance) before randomisation; minocycline =
# glial_modulator_inhibition 0.5 from randomisation (2 h after a dose) on; sessions 2 h after the
# day's methadone dose on days 8 and 15; "does not affect" read as a cold-pressor tolerance on minocycline
# within ±20% of placebo's at both sessions (an assumed margin: a 10-per-arm study with a between-person
# CV of cold-pressor tolerance near 60% could not have excluded smaller effects).
MINO_START = ENTRY + 24 * 7 * 24.0 + 2.0


@target("pred.glia.minocycline_cpt",
        finding="minocycline 200 mg/day for 15 days does not change cold-pressor pain threshold or tolerance in "
                "patients maintained on opioid agonist treatment",
        band="cold-pressor tolerance on minocycline within ±20% of placebo's on days 8 and 15 of treatment "
             "(2 h after the methadone dose)",
        source="Arout et al., Psychopharmacology 2019;236:2857")
def _minocycline_cpt():
    regs = [HEROIN_HISTORY, f"methadone 80 mg oral daily for 40 w at {ENTRY:g} h"]
    days = (8, 15)
    t = np.array([MINO_START + (d - 1) * 24.0 for d in days])   # day 1 starts at MINO_START, 2 h after a dose
    value, ok = {}, True
    arms = {name: _switched(regs, MINO_START, t, {"glial_modulator_inhibition": inh})
            for name, inh in (("placebo", 0.0), ("minocycline", GLIAL_MODULATOR))}
    for k, d in enumerate(days):
        cpt = {a: float(r.get("cold_pressor_tolerance")[0][k]) for a, r in arms.items()}
        ratio = cpt["minocycline"] / cpt["placebo"]
        value[f"day {d}: CPT placebo s"], value[f"day {d}: CPT minocycline s"] = cpt["placebo"], cpt["minocycline"]
        value[f"day {d}: ratio"] = ratio
        ok &= 0.8 <= ratio <= 1.2
        for name in ("glial_activation", "spinal_sensitization", "central_sensitization", "pain_sensitivity"):
            for a, r in arms.items():   # not scored: where the modulator acts
                value[f"day {d}: {name} {a}"] = float(r.get(name)[0][k])
    return value, ok, "; ".join(f"{k} {v:.3g}" for k, v in value.items())


# ----------------------------------------------------------------------------------------------
# Glia and craving: ibudilast after detoxification (Metz et al., Neuropsychopharmacology 2017;42:1825;
# abstract read): 11 non-treatment-seeking opioid-dependent men, inpatient detoxification with morphine,
# then maintenance on placebo and on ibudilast 50 mg bid (within-subject); under ibudilast oxycodone's
# liking (15 mg) and breakpoint fell and heroin craving was significantly reduced. Scored: craving (the
# model has no drug-liking or self-administration read-out for a sample session). Assumed: 12 weeks of
# heroin, then morphine 30 mg oral q6h for 7 days (the inpatient morphine stabilisation of the same group's
# ibudilast withdrawal study, Cooper et al., Drug Alcohol Depend 2016; PMC4644513), then stop; ibudilast
# (glial_modulator_inhibition 0.5) or placebo from 2 h after the last morphine dose; craving averaged over
# days 8–14 of ibudilast (the sessions of the second maintenance week). Parallel arms on the typical patient
# stand for the crossover.
IBU_MORPHINE_START = ENTRY
IBU_MORPHINE_LAST = ENTRY + 7 * 24.0 - 6.0
IBU_START = IBU_MORPHINE_LAST + 2.0


@target("pred.glia.ibudilast_craving",
        finding="in recently detoxified opioid-dependent volunteers, ibudilast 50 mg bid reduces heroin craving "
                "(and oxycodone's liking) against placebo",
        band="mean craving over days 8–14 of ibudilast lower than on placebo (direction)",
        source="Metz et al., Neuropsychopharmacology 2017;42:1825")
def _ibudilast_craving():
    regs = [HEROIN_HISTORY, f"morphine 30 mg oral q6h for 7 d at {IBU_MORPHINE_START:g} h"]
    t = IBU_START + np.arange(0.0, 14 * 24.0 + 1e-9, 2.0)
    lo, hi = IBU_START + 7 * 24.0, IBU_START + 14 * 24.0
    value = {}
    arms = {name: _switched(regs, IBU_START, t, {"glial_modulator_inhibition": inh})
            for name, inh in (("placebo", 0.0), ("ibudilast", GLIAL_MODULATOR))}
    for name in ("craving", "cows_score", "glial_activation", "central_cytokines_rel", "madrs"):
        for a, r in arms.items():
            value[f"{name}: {a}"] = _window_mean(r, name, t, lo, hi)
    ok = value["craving: ibudilast"] < value["craving: placebo"]
    return value, ok, "days 8–14 after detoxification: " + "; ".join(f"{k} {v:.4g}" for k, v in value.items())


# ----------------------------------------------------------------------------------------------
# Pain: one month of oral morphine in chronic low-back pain gives analgesic tolerance but no demonstrable
# opioid-induced hyperalgesia (Chu et al., Pain 2012;153:1583; abstract read: randomised, placebo-
# controlled, 103 completers, titrated to a mean 78 mg morphine/day for 1 month; pain sensitivity by the
# cold pressor and heat pain; contrary, a 6-patient pilot: all became hyperalgesic on the cold pressor,
# Chu, Clark & Angst, J Pain 2006;7:43). Only the OIH half is scored (the 42% loss of remifentanil
# potency is the pain module's unscored check, so not held out). Assumed: the typical patient with chronic
# non-cancer pain (nociceptive_drive 1.5, the module's documented value), SR morphine 40 mg bid (80 mg/day)
# for 30 days; the day-30 test at trough (12 h after the evening dose), against the same patient's drug-free
# baseline; "no demonstrable OIH" read as cold-pressor tolerance at day 30 ≥ 90% of baseline AND the model's
# pain-sensitivity gain (the hyperalgesic term itself, which the residual analgesia at trough would mask in
# the cold pressor) ≤ 1.10 × baseline (assumed margins).
@target("pred.pain.morphine_month_no_oih",
        finding="after one month of oral morphine (mean 78 mg/day) chronic low-back pain patients develop analgesic "
                "tolerance but not opioid-induced hyperalgesia",
        band="day-30 trough cold-pressor tolerance ≥ 90% of the drug-free baseline and pain-sensitivity gain ≤ 1.10× "
             "baseline",
        source="Chu et al., Pain 2012;153:1583 (contrary pilot: Chu, Clark & Angst, J Pain 2006;7:43)")
def _morphine_month_no_oih():
    t_test = 30 * 24.0   # 12 h after the last (evening) dose, at 708 h (doses at 0, 12, …, 708 h)
    t = np.array([0.0, t_test])
    over = {"nociceptive_drive": 1.5}
    r = typical_patient(["morphine 40 mg oral ER bid for 30 d"], t, overrides=over)
    value = {}
    for name in ("cold_pressor_tolerance", "pain_sensitivity", "cold_pressor_analgesia", "oih_level",
                 "central_sensitization", "analgesic_tolerance_level", "pain_nrs"):
        value[f"{name} baseline"], value[f"{name} day 30"] = (float(x) for x in r.get(name)[0])
    cpt = value["cold_pressor_tolerance day 30"] / value["cold_pressor_tolerance baseline"]
    gain = value["pain_sensitivity day 30"] / value["pain_sensitivity baseline"]
    value["CPT ratio"], value["sensitivity ratio"] = cpt, gain
    ok = cpt >= 0.9 and gain <= 1.10
    return value, ok, "; ".join(f"{k} {v:.4g}" for k, v in value.items())


# ----------------------------------------------------------------------------------------------
# Mood: depressive symptoms fall on opioid agonist treatment, alike on buprenorphine/naloxone and methadone
# (Bastien et al., Can J Psychiatry 2023;68:572; abstract read: OPTIMA, 272 people with prescription-type
# OUD randomised to BUP/NX or methadone; BDI −3.2 ± 1.2 at week 12 and −7.3 ± 1.3 at week 24, both
# P < 0.001, no treatment × time interaction, P = 0.28; also Stein et al., J Subst Abuse Treat
# 2010;39:157: on buprenorphine BDI-II lower than baseline at every follow-up, placebo arm included).
# Assumed: the OUD cohort of mood.oud.prevalence (default OUD covariates; heroin 20/40/80 mg IV q8h by
# patient) for 12 weeks stands for the prior opioid use; then methadone 80 mg/day or buprenorphine 16 mg
# SL/day (the model's maintenance doses, targets_adaptation.MAINTENANCE) for 24 weeks, each patient on
# both arms (paired); MADRS (the model's depression read-out) stands for the BDI; no placebo or
# care-participation response (placebo_response stays 0: the model's course is the pharmacology's);
# read at entry (1 h before the first dose, 7 h after the last injection), week 12 and week 24 (1 h
# before a dose). n = 24 (runtime). "Similar effectiveness" read as the arms' week-24 mean MADRS
# differing by less than half the mean week-24 fall (assumed).
OAT_N = 24


def oat_cohort(model, n: int):
    """pred.mood.oat_depression_course's cohort: ids 1..n, their parameters (targets_mood's OUD cohort), their
    12-week heroin history (targets_mood's doses and interval) and each one's heroin dose (mg); also read by
    scripts/oat_mood_terms.py."""
    from ..trials import choose
    from .targets_mood import OUD_HEROIN_DOSES_MG, OUD_HEROIN_INTERVAL, SEED, cohort
    ids = np.arange(1, n + 1)
    P, _ = cohort(model, ids, SEED, {})
    by = np.array(choose(ids, SEED, list(OUD_HEROIN_DOSES_MG)))
    heroin = sum((EventTable.from_regimens(model, f"heroin {d} mg IV {OUD_HEROIN_INTERVAL} for 84 d")
                  .for_ids(ids[by == d]) for d in OUD_HEROIN_DOSES_MG), EventTable())
    return ids, P, heroin, by


@target("pred.mood.oat_depression_course",
        finding="depressive symptoms fall on opioid agonist treatment, by week 12 and further by week 24, alike on "
                "buprenorphine/naloxone and methadone (BDI −3.2 at week 12, −7.3 at week 24)",
        band="in both arms mean MADRS at week 12 below entry and at week 24 below week 12; the arms' week-24 means "
             "differ by less than half the mean week-24 fall",
        source="Bastien et al., Can J Psychiatry 2023;68:572; Stein et al., J Subst Abuse Treat 2010;39:157")
def _oat_depression_course():
    model = default_model()
    ids, P, heroin, _ = oat_cohort(model, OAT_N)
    t_in = ENTRY - 1.0
    r0 = simulate(model, P, np.array([0.0, t_in]), heroin.expanded(), ids=ids)
    times = np.array([t_in, ENTRY + 12 * 168.0 - 1.0, ENTRY + 24 * 168.0 - 1.0])
    value, means = {}, {}
    for arm, reg in (("methadone", "methadone 80 mg oral daily"), ("buprenorphine", "buprenorphine 16 mg SL daily")):
        ev = EventTable.from_regimens(model, f"{reg} for 24 w", start=ENTRY).for_ids(ids).expanded()
        r = simulate(model, P, times, ev, ids=ids, t0=t_in, x0=r0.states[:, -1, :])
        ok_rows = ~r.failed
        m = r.get("madrs")[ok_rows].mean(axis=0)
        means[arm] = m
        value[f"{arm}: MADRS entry, w12, w24"] = [float(x) for x in m]
        value[f"{arm}: failed"] = int((~ok_rows).sum())
    ok = all(m[1] < m[0] and m[2] < m[1] for m in means.values())
    fall = np.mean([m[0] - m[2] for m in means.values()])
    gap = abs(means["methadone"][2] - means["buprenorphine"][2])
    value["mean week-24 fall"], value["arm gap at week 24"] = float(fall), float(gap)
    ok = ok and fall > 0 and gap < 0.5 * fall
    return value, ok, "; ".join(f"{k} {v}" for k, v in value.items())


# ----------------------------------------------------------------------------------------------
# Gut: faecal short-chain fatty acids are reduced in methadone-maintained patients (Cruz-Lebrón et al., Gut
# Microbes 2021;13:1946368; abstract read: MMT participants against non-opioid users; an imbalance of the
# communities producing SCFAs and degrading mucus; faecal SCFAs reduced). Assumed: 12 weeks of heroin, then
# methadone 80 mg/day for 24 weeks; colonic butyrate (the model's only SCFA) stands for faecal SCFAs, mean
# over the last week, against the drug-free typical person. The abstract gives no magnitude: direction.
@target("pred.gut.mmt_scfa",
        finding="faecal short-chain fatty acids are lower in methadone-maintained patients than in non-opioid users",
        band="colonic butyrate on methadone (week 24) below the drug-free level (direction)",
        source="Cruz-Lebrón et al., Gut Microbes 2021;13:1946368")
def _mmt_scfa():
    t_end = ENTRY + 24 * 168.0
    t = np.arange(0.0, t_end + 1e-9, 6.0)
    r = typical_patient([HEROIN_HISTORY, f"methadone 80 mg oral daily for 24 w at {ENTRY:g} h"], t)
    free = _drug_free(t)
    value = {}
    for name in ("butyrate_colon", "butyrate_rel", "rel_butyrate_producers", "rel_akkermansia", "rel_bacteroides",
                 "barrier_permeability", "sbm_rate"):
        value[f"{name}: methadone"] = _window_mean(r, name, t, t_end - 168.0, t_end)
        value[f"{name}: drug-free"] = _window_mean(free, name, t, t_end - 168.0, t_end)
    ok = value["butyrate_colon: methadone"] < value["butyrate_colon: drug-free"]
    return value, ok, "week 24 of methadone 80 mg/day: " + "; ".join(f"{k} {v:.4g}" for k, v in value.items())


# ----------------------------------------------------------------------------------------------
# HPA: long-term methadone patients have higher hair cortisol than controls (Yang et al., PLoS One
# 2016;11:e0150729; abstract read: 52 MMT patients, 41 age-matched controls, hair cortisol by LC-MS/MS
# higher in MMT, p < 0.05; no longer significant with perceived stress, depression and anxiety as
# covariates). Hair cortisol integrates cortisol over months. Assumed: 12 weeks of heroin, then methadone
# 60 mg/day for 52 weeks (long-term MMT); the hair segment = mean plasma cortisol over the last 90 days
# (3 cm of hair at ~1 cm/month), against the drug-free typical person over the same days. Unadjusted
# comparison (the model's patient carries its mood and stress with it). Note: hpa.mat12m (plasma cortisol
# at 12 months inside the controls' 5th–95th percentile) is a calibration target of the HPA tolerance;
# this band (the mean above the control's) is not constrained by it.
@target("pred.hpa.mmt_hair_cortisol",
        finding="heroin users on long-term methadone maintenance have higher hair cortisol than controls",
        band="mean plasma cortisol over the last 90 days of 52 weeks of methadone 60 mg/day above the drug-free "
             "person's (direction)",
        source="Yang et al., PLoS One 2016;11:e0150729")
def _mmt_hair_cortisol():
    t_end = ENTRY + 52 * 168.0
    t = np.concatenate([np.arange(0.0, t_end - 90 * 24.0, 24.0), np.arange(t_end - 90 * 24.0, t_end + 1e-9, 1.0)])
    r = typical_patient([HEROIN_HISTORY, f"methadone 60 mg oral daily for 52 w at {ENTRY:g} h"], t)
    free = _drug_free(t)
    lo = t_end - 90 * 24.0
    value = {}
    for name in ("cortisol_plasma", "acth_plasma", "madrs", "withdrawal_signal"):
        value[f"{name}: methadone"] = _window_mean(r, name, t, lo, t_end)
        value[f"{name}: drug-free"] = _window_mean(free, name, t, lo, t_end)
    value["cortisol ratio"] = value["cortisol_plasma: methadone"] / value["cortisol_plasma: drug-free"]
    ok = value["cortisol ratio"] > 1.0
    return value, ok, "last 90 days of 52 w methadone 60 mg/day: " + "; ".join(
        f"{k} {v:.4g}" for k, v in value.items())
