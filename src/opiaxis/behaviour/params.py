"""Parameters of the stochastic behaviour layer: value, unit (pint), source, between-patient
variability — the same rules as the ODE modules. Time in hours.

This file is the one place a behaviour parameter is written: a ``BParam`` in the list ``_P``
(append new ones at the end). :func:`module` turns the list into a parameter-only model module,
``behaviour``, which the composed models include (``opiaxis.models.build_model``, the behaviour
layer's ``behaviour_model``): so the parameters are model parameters — listed by ``opiaxis model
--markdown``, exported to SBML and PEtab — and the behaviour layer reads each value and spread
from the model it is given (:func:`model_parameters`), never from this file. No equation of the
ODE system uses them; the behaviour layer draws each patient's values from its own stream
(``Purpose.BEHAVIOUR_TRAITS``, one named normal per patient and parameter)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ModelDefinitionError
from ..model.core import Model, Module, Parameter, lognormal
from ..model.units import parse_unit

#: the name of the parameter-only module that carries these parameters in a composed model
MODULE = "behaviour"


@dataclass(frozen=True)
class BParam:
    name: str
    value: float
    unit: str
    source: str
    cv: float = 0.0          # log-normal between-patient CV (0 = none)
    description: str = ""

    def __post_init__(self):
        parse_unit(self.unit)  # raises on an invalid unit
        if not self.source.strip():
            raise ValueError(f"behaviour parameter {self.name!r} has no source")


_P = [
    # --- use hazard -----------------------------------------------------------------------------
    BParam("use_rate_max", 0.045, "1/h",
           "calibrated to relapse.detox (91% / 59% in week 1, Smyth 2010) and xbot.relapse24w: hazard of use at "
           "craving 0.5 in the community without blockade (~1/day); a dependent user in withdrawal (craving ~0.8, "
           "withdrawal 1) reaches ~0.5/h and uses within hours", 0.6,
           "λ0: use hazard at reference craving"),
    BParam("cncp_extra_dose_rate", 0.0007, "1/h",
           "calibrated to pain.cncp.oud's misuse rate (Vowles et al., Pain 2015: 21–29%) by opiaxis calibrate "
           "behaviour.cncp (history: data/calibration.yaml): hazard of taking an extra, "
           "non-prescribed oxycodone dose at craving 0.5 for a chronic-pain patient on prescribed opioids "
           "(replaces use_rate_max: prescribed supply, no illicit market, no injection; the same craving, "
           "withdrawal, pain and cue terms apply). Between-patient CV 1.5 (assumed: risk of aberrant use is "
           "concentrated in a minority — prior substance use disorder, psychiatric comorbidity, Vowles 2015)", 1.5),
    BParam("use_craving_ref", 0.5, "dimensionless", "assumed: reference craving (VAS 50)"),
    BParam("use_craving_exponent", 3.0, "dimensionless",
           "calibrated to relapse.detox (long tail of late relapse): steepness of the hazard in craving"),
    BParam("use_withdrawal_beta", 1.0, "dimensionless",
           "assumed: withdrawal (signal 1 = severe) multiplies the hazard by e (relief seeking) beyond its effect "
           "through craving"),
    BParam("use_pain_beta", 0.5, "dimensionless",
           "assumed: pain NRS 10 multiplies the hazard by e^0.5 (self-medication of pain; Vowles 2015 review)"),
    BParam("use_cue_beta", 0.7, "dimensionless",
           "assumed: a high-risk cue situation doubles the hazard (lapse context: ease of access and drug-using "
           "peers, Ducray et al., Ir J Psychol Med 2014)"),
    BParam("cue_event_probability", 0.08, "dimensionless",
           "assumed: a high-risk cue situation in ~1 of 12 six-hour intervals (2 per week)"),
    BParam("access_inpatient", 0.001, "dimensionless",
           "calibrated to xbot.induction (X:BOT induction failures are mostly early departures and use during "
           "detox): relative access to opioids on a locked/supervised inpatient unit (0.03 gave ~0.7 uses per "
           "inpatient day in withdrawal — implausible on a detox ward)"),
    BParam("blockade_exponent", 2.0, "dimensionless",
           "calibrated to xbot.relapse24w: the use hazard is multiplied by (1 − occ)^n, occ the μ occupancy by "
           "antagonists and partial agonists (naltrexone, 6β-naltrexol, naloxone, buprenorphine): the expected "
           "reward of a heroin dose, hence the motive to use, falls with the fraction of free receptors. n = 2 "
           "gives ~2% of the hazard at the ~0.85 occupancy of XR-NTX 380 mg in its first weeks (XR-NTX blocks "
           "the subjective effects of heroin 25 mg for ~5 weeks, Comer et al., Arch Gen Psychiatry 2006;63:210)"),
    # --- doses ---------------------------------------------------------------------------------
    BParam("heroin_dose", 25.0, "mg",
           "assumed: street heroin ~25 mg diacetylmorphine per injection (typical patient of the adaptation "
           "targets: heroin 25 mg IV q6h)", 0.4),
    BParam("heroin_purity_sd", 0.4, "dimensionless",
           "assumed: log-scale SD of street purity from use to use (street heroin purity varies 2–3-fold)"),
    BParam("dose_floor", 0.2, "dimensionless",
           "assumed: the smallest fraction of the habitual dose a user takes, for a user who believes their tolerance "
           "is gone. Since the ninth session users dose to the effect they seek: dose = habit·max((1 − T_habit)/"
           "(1 − T_perceived), f), the believed potency fold 1/(1 − T) relative to the fold the habit was formed at "
           "(engine.effect_titration; T = tolerance_level, perceived: see tolerance_insight); before, dose = "
           "habit·(f + (1 − f)·T_perceived), never above the habit"),
    BParam("fentanyl_dose", 0.3, "mg",
           "assumed: illicit fentanyl per use roughly equianalgesic to the heroin dose", 0.4),
    BParam("fentanyl_potency_sd", 0.8, "dimensionless",
           "assumed: log-scale SD of fentanyl content per use (uneven mixing; 'hot spots')"),
    # --- overdose, rescue, death ----------------------------------------------------------------
    BParam("od_hazard_ref", 0.51763, "1/h",
           "calibrated to mortality.ost's overdose rate off OST (Sordo et al., BMJ 2017: 12.7/1000 PY) by opiaxis "
           "calibrate behaviour.mortality, jointly with the non-overdose hazards (data/calibration.yaml). Hazard of a clinical overdose at PaO2 0 mmHg; below the FDA 'dangerous' "
           "PaO2 (od_pao2_threshold) the hazard is h0·((30 − PaO2)/30)^m (design memo "
           "docs/design/breathing-tolerance.md, C). Between-patient spread: using alone, other unmodelled risk "
           "(assumed CV 0.5; sedative co-use is its own trait, sedative_couse_prevalence, on sedative_day_fraction of days)", 0.5),
    BParam("od_hypoxaemia_exponent", 2.0, "dimensionless",
           "assumed: the hazard rises steeply as PaO2 falls from the 'dangerous' 30 mmHg towards the FDA "
           "model's collapse level 15 mmHg (cardiovascular collapse after 220 s below it, Mann et al., "
           "Clin Pharmacol Ther 2022); quadratic in the depth below the threshold. Not fitted"),
    BParam("od_pao2_threshold", 30.0, "mmHg",
           "Mann et al., Clin Pharmacol Ther 2022 (doi:10.1002/cpt.2696; FDA translational overdose model): "
           "'dangerous' arterial PO2 30 mmHg (with SpO2 90% and brain PO2 20 mmHg); no overdose hazard above it"),
    BParam("od_fatal_unrescued", 0.05, "dimensionless",
           "calibrated: fraction of unrescued overdoses that are fatal, set so that with the rescue parameters "
           "below (25.5% of overdoses rescued) 3.7% of overdoses are fatal — a non-fatal:fatal ratio of ~26:1 "
           "(20–30:1, Darke, Mattick & Degenhardt, Addiction 2003;98:1169)"),
    BParam("od_witnessed", 0.5, "dimensionless",
           "assumed: half of overdoses happen with someone present"),
    BParam("naloxone_access", 0.3, "dimensionless",
           "intervention: probability that a bystander carries naloxone (take-home naloxone distribution raises "
           "it; McDonald & Strang, Addiction 2016;111:1177)"),
    BParam("ems_rescue", 0.3, "dimensionless",
           "assumed: witnessed overdose rescued by emergency services when no naloxone is at hand"),
    BParam("other_death_rate", 1.5067e-7, "1/h",
           "calibrated by opiaxis calibrate behaviour.mortality jointly with other_death_use_rate to Sordo et al., "
           "BMJ 2017's non-overdose deaths on/off methadone (8.7/23.4 per 1000 PY; data/calibration.yaml); at its "
           "lower bound, the general population's mortality at OST patients' age and sex (Cornish et al., BMJ "
           "2010: 7/1000 PY on OST at SMR 5.3 → 1.32/1000 PY): the rates leave no room for a background above it. "
           "Non-overdose death hazard on a day without illicit use"),
    BParam("other_death_use_rate", 3.1811e-6, "1/h",
           "calibrated by opiaxis calibrate behaviour.mortality jointly with other_death_rate to Sordo et al., BMJ "
           "2017's non-overdose deaths on/off methadone (8.7/23.4 per 1000 PY; data/calibration.yaml): extra "
           "non-overdose hazard on a day with illicit use (injection-related infection, violence)"),
    # --- treatment -----------------------------------------------------------------------------
    BParam("dropout_rate", 1.5e-4, "1/h",
           "calibrated to mmt.retention (Mattick et al., Cochrane 2009: retention RR 4.44; no-replacement arms "
           "retain ~10–20% at 16 weeks): dropout hazard without medication at craving 0.5 and no recent use "
           "(daily 0.36%; ~1.7%/day with ongoing use)", 0.5),
    BParam("dropout_craving_beta", 1.0, "dimensionless",
           "assumed: dropout rises with craving (e^1 from craving 0 to 1); weaker than the use term, which "
           "carries most of the craving effect (recent use → dropout)"),
    BParam("dropout_use_beta", 1.833, "dimensionless",
           "Nunes et al., Addiction 2020;115:239 (PMC6980175): in the placebo arm an opioid-positive urine raised "
           "the hazard of dropout 6.25-fold, so β = ln 6.25 = 1.833 on illicit use in the past week (issue 14: the "
           "first build assumed 1.5, e^1.5 = 4.5, while citing this HR; not fitted)"),
    BParam("dropout_medication_factor", 0.3, "dimensionless",
           "calibrated to mmt.retention's retention RR (Mattick et al., Cochrane 2009: RR 4.44, 3.26–6.04) "
           "jointly with craving_satiety_agonism by opiaxis calibrate behaviour.mmt (history: "
           "data/calibration.yaml): dropout hazard on maintenance medication relative to no medication "
           "(engagement, daily clinic contact)"),
    BParam("reentry_rate", 1.0 / (120 * 24), "1/h",
           "assumed: re-entry into treatment about every 4 months out of treatment (cycles in and out of OST, "
           "Sordo 2017 cohorts)"),
    BParam("bup_adherence", 0.9, "dimensionless",
           "assumed: probability of taking the daily take-home buprenorphine-naloxone dose at craving 0"),
    BParam("xrntx_attendance", 0.79, "dimensionless",
           "calibrated to the expectation of xbot.relapse24w's XR-NTX arm (65% relapse, Lee et al., Lancet 2018; "
           "simulated with n = 2000 so that sampling noise does not drive the fit) by opiaxis calibrate "
           "behaviour.xbot (history: data/calibration.yaml). Probability of attending each monthly XR-NTX "
           "injection (a missed injection ends treatment). 0.79^5 ≈ 31% receive all six injections, below the Russian placebo-controlled "
           "trial (median retention > 168 days, Krupitsky et al., Lancet 2011;377:1506), whose population had "
           "no agonist alternative"),
    BParam("leave_inpatient_rate", 0.0008, "1/h",
           "assumed (first build; its 'calibrated to xbot.induction' claim withdrawn — induction is now set by "
           "access_inpatient): hazard of leaving the inpatient unit against advice at craving 0.5"),
    BParam("xrntx_abstinence_days", 7.0, "d",
           "Lee et al., Lancet 2018 (X:BOT): XR-NTX induction after detoxification and opioid abstinence (typically "
           "≥ 3–7 days) with a negative naloxone challenge", 0.3),
    BParam("bup_induction_wait", 16.0, "h",
           "assumed: buprenorphine induction once in mild–moderate withdrawal, 12–24 h after the last "
           "short-acting opioid (label guidance)"),
    BParam("challenge_cows_rise", 5.0, "dimensionless",
           "assumed: a naloxone challenge is positive when COWS rises by ≥5 within 30 min"),
    # --- learning (appended last: each patient's draws of the parameters above stay unchanged) ---
    BParam("use_extinction_rate", 0.8, "dimensionless",
           "set from Mello et al. 1981 (below), not fitted: Rescorla–Wagner learning rate of the use expectancy per use, E ← E + α·(r − E), r = the "
           "fraction of μ receptors free of antagonist/partial agonist at the use. Mechanism: the extinction "
           "rationale of antagonist treatment — unreinforced use under blockade extinguishes drug taking (Martin, "
           "Jasinski & Mansky, Arch Gen Psychiatry 1973;28:784; Wikler 1973); on a research ward naltrexone-"
           "maintained addicts stopped self-administering heroin after the 1st or 2nd injection while placebo "
           "subjects took 57–100% of the heroin offered (Mello et al., JPET 1981;216:45), hence α near 1. In X:BOT's expectation (n = 2000, "
           "xrntx_attendance 0.83) α 0 / 0.25 / 0.8 give XR-NTX relapse 69.0 / 66.2 / 65.0% and BUP-NX relapse "
           "67.2 / 61.2 / 56.6% (published 65%, 57%): buprenorphine's own occupancy leaves heroin used on "
           "top of it less reinforced, so extinction matters most in the BUP-NX arm, which no parameter was "
           "fitted to"),
    BParam("use_expectancy_recovery_rate", 0.693 / (30 * 24), "1/h",
           "assumed, because extinguished responding is not erased but recovers with time and context "
           "(spontaneous recovery and renewal, Bouton, Biol Psychiatry 2002;52:976; Rescorla, Learn Mem "
           "2004;11:501) and no human rate is published: the use expectancy relaxes back to 1 with t½ 30 days, "
           "about one XR-naltrexone dosing interval"),
    BParam("xrntx_attendance_craving_weight", 0.0, "dimensionless",
           "the probability of attending a monthly XR-NTX injection is xrntx_attendance·(1 − w·craving). w = 0: "
           "on XR-NTX, opioid use did not predict dropout (positive urine → dropout HR 1.67, 95% CI 0.6–4.5, vs "
           "6.25 on placebo; Nunes et al., Addiction 2020;115:239, PMC6980175). The first build assumed w = 0.5"),
]

_P.append(BParam(
    "methadone_attendance", 0.95, "dimensionless",
    "assumed (was a literal in the engine): probability of attending the methadone clinic for the day's "
    "supervised dose while in treatment; missed days are common but a minority (take-home doses not modelled)"))

# --- tolerance after abstinence (issue 14; appended last so every earlier draw is unchanged) ------
_P.append(BParam(
    "tolerance_insight", 0.5, "dimensionless",
    "assumed (no published estimate of how well users judge their remaining tolerance; 0.5 = they "
    "know half of what they lost): users do not know the tolerance the ODE adaptation module has left "
    "(tolerance_level, lost in abstinence with the moderator's time scale, adapt_tolerance_rate: t½ "
    "~10 d, full recovery ~18.5 d, Ouellet & Pollack 1995). They dose from memory: the perceived "
    "tolerance is w·(true tolerance) + (1 − w)·(tolerance at their last use), and the dose is "
    "habit·max((1 − T_habit)/(1 − perceived), dose_floor) since the ninth session (dose to effect: the "
    "believed potency fold relative to the habit's; engine.effect_titration). After forced abstinence (prison, hospital) the "
    "remembered tolerance is the pre-abstinence one, so the first uses are too large for the "
    "tolerance left — the mechanism proposed for the post-release overdose peak (Binswanger et al., "
    "NEJM 2007;356:157: 'if they return to their usual doses after release, they will have lost "
    "tolerance'; Strang et al., BMJ 2003;326:959). w = 1 is the previous build (users titrate to their "
    "true tolerance). Users judge doses by their subjective effect (this tolerance); the overdose risk "
    "follows the breathing tolerance of the respiration module, a separate, partial state lost in "
    "abstinence with its own time scale (t½ ~3 d)"))
_P.append(BParam(
    "dose_judgement_sd", 0.3, "dimensionless",
    "assumed: log-scale SD of the user's own error in judging a dose (in addition to street purity), "
    "from use to use; users cannot measure what they take"))

# --- sedative co-use as a patient trait (issue 14; appended last: earlier draws unchanged) --------
_P.append(BParam(
    "sedative_couse_prevalence", 0.45, "dimensionless",
    "as quoted in issue 14 (not re-checked against the papers in this build): methadone-maintained "
    "patients commonly use benzodiazepines, ~40–50% (Lintzeris et al. 2007; Chen et al. 2011); 79% of "
    "Danish methadone overdose deaths had benzodiazepines detected (Eur Addict Res 2016;22:249). Fraction "
    "of patients who are sedative co-users (benzodiazepines, alcohol, gabapentinoids): a persistent trait, "
    "drawn once per patient (named normal 'sedative_couser', stream BEHAVIOUR_TRAITS), the same on and off "
    "treatment. Since the eighth session a co-user has sedatives on board on a fraction sedative_day_fraction of "
    "days (was: at every opioid exposure, assumed). Of 438 people entering inpatient opioid detoxification "
    "(85% of the benzodiazepine users used heroin), 40% had used benzodiazepines in the past 30 days (Stein et al., "
    "J Subst Abuse Treat 2016, jsatjournal S0740-5472(16)30071-X; abstract read)"))
_P.append(BParam(
    "sedative_potency_shift", 3.47, "dimensionless",
    "van der Schrier et al., Anesthesiology 2017;126:534: oxycodone 20 mg reduced resting ventilation by 28% "
    "(V = 0.72) and ethanol 1 g/l a further 19% (V = 0.72·0.81 = 0.583), ethanol alone without respiratory "
    "effect. Pharmacodynamic interaction as a potency shift: the sedative multiplies the odds of the opioid's "
    "depression of the central drive E by s (respiration's sedative_odds_shift, set by the behaviour layer on a "
    "co-user's sedative days), a left shift of the opioid's concentration–depression curve: no depression without "
    "opioid, none beyond an abolished drive. Tenth session: the shift acts inside the simulation, so the CO2 and "
    "hypoxic chemoreflexes answer it, and s is the shift on E that reproduces the published resting ventilation "
    "through the model's own loop: the model gives 0.720 for oxycodone 20 mg PO alone (the paper's 0.72) and "
    "0.583 with s = 3.47 (1.84 → 0.652, 2.5 → 0.618, 3.5 → 0.582; derived once, not fitted to any target). Before, "
    "s = (0.72/0.28)/(0.583/0.417) = 1.84 multiplied the odds of ventilation after the simulation, which is "
    "the same resting datum without the loop's answer. (Isohypercapnic VE55, 33.4 → 18.6 → 15.7 l/min, gives 1.42 "
    "on the drive directly; the model's clamped oxycodone depression, 0.42, does not match VE55's 0.56, so the "
    "resting datum, which the model reproduces, is used.) Benzodiazepines blunt "
    "the hypercapnic response and act synergistically with opioids (midazolam + fentanyl: hypoxaemia 92% vs "
    "50%, apnoea 50% vs 0%, Bailey et al., Anesthesiology 1990;73:826). Not fitted"))

# --- sedative co-use as episodic (eighth session; appended last: earlier draws unchanged) --------------
_P.append(BParam(
    "sedative_day_fraction", 0.443, "dimensionless",
    "Stein et al., J Subst Abuse Treat 2016 (Reasons for benzodiazepine use among persons seeking opioid "
    "detoxification; jsatjournal S0740-5472(16)30071-X; abstract read): benzodiazepine users entering detoxification "
    "reported 13.3 ± 11.2 days of use in the past 30, 13.3/30 = 0.443 of days. The fraction of days on which a "
    "sedative co-user (sedative_couse_prevalence) has sedatives on board at the day's opioid exposures, drawn per "
    "patient and day (engine.sedative_on_board). Between-patient CV 0.84 (11.2/13.3, the same survey; a draw above 1 "
    "means every day). Benzodiazepines only: alcohol and gabapentinoid days are not counted (assumed to overlap)",
    0.84))

# --- lapse and relapse after detoxification (issue 14; appended last: earlier draws unchanged) -------
_P.append(BParam(
    "abstinence_commitment", 2.1, "dimensionless",
    "calibrated (in expectation, n = 500) to Smyth et al. 2010's week-1 lapse (66% of 109 lapsed — any use — within a week of discharge, "
    "59% relapsed; Lyons, Drugnet Ireland 2010;35:21 tabulates the paper), not to its relapse numbers: the "
    "use hazard of a patient discharged from inpatient detoxification without maintenance medication is "
    "multiplied by exp(−c) until their first use after discharge (the abstinence goal they were discharged "
    "with). The first use ends it: the abstinence violation effect (Marlatt & Gordon, Relapse Prevention, "
    "1985; Curry, Marlatt & Gordon, J Consult Clin Psychol 1987;55:145) — after a lapse, the hazard is the "
    "dependent user's again and a lapse becomes a relapse (return to daily use) unless the craving falls. "
    "Between-patient CV 0.5 assumed (commitment varies; Smyth: completion and aftercare delayed relapse)", 0.5))
_P.append(BParam(
    "abstinence_violation_gain", 0.8, "dimensionless",
    "calibrated (in expectation, n = 500) to Smyth et al. 2010's lapse-to-relapse conversion in the first week (64 of the 72 patients "
    "who lapsed within a week of discharge relapsed — returned to daily use — within that week, 89%; Lyons, "
    "Drugnet Ireland 2010;35:21): the first use after a detoxification discharge multiplies the use hazard by "
    "e^v, fading with abstinence_violation_decay — the abstinence violation effect (Marlatt & Gordon 1985; "
    "Curry, Marlatt & Gordon, J Consult Clin Psychol 1987;55:145: a lapse attributed to internal, stable "
    "causes predicts continued use) together with drug priming of craving (reinstatement by a single dose: "
    "de Wit, Exp Clin Psychopharmacol 1996;4:5). Without it (commitment 2.0, satiety 0.5) only 2 in 3 first-week "
    "lapses became relapses"))
_P.append(BParam(
    "abstinence_violation_decay", 0.693 / (7 * 24), "1/h",
    "assumed: the abstinence violation effect fades with t½ 7 days (the week over which Smyth et al. 2010 "
    "counted lapses turning into relapses; no published time course)"))
# --- escalation of misuse of a prescribed opioid (issue 14; appended last) --------------------------
_P.append(BParam(
    "misuse_escalation_gain", 2.303, "dimensionless",
    "assumed: a fully escalated chronic-pain patient takes extra doses e^2.303 = 10 times as often as before "
    "any misuse — the span between Vowles et al. 2015's operational definitions, misuse (extra doses on a few "
    "days a month: ≥3 in 30) and addiction (near-daily loss of control: ≥14 in 28), not fitted to either "
    "rate. The hazard of an extra, non-prescribed dose is multiplied by exp(g·H), H (0…1) the patient's "
    "escalation state. Escalation of drug taking with repeated self-administration: Ahmed & Koob, Science "
    "1998;282:298 (heroin: Ahmed, Walker & Koob, Neuropsychopharmacology 2000;22:413); incentive "
    "sensitisation, Robinson & Berridge, Brain Res Rev 1993;18:247. Applies to extra doses of a prescribed "
    "opioid only: the illicit-use hazard (use_rate_max) is calibrated to dependent users whose escalation is "
    "complete"))
_P.append(BParam(
    "misuse_escalation_learning", 0.2, "dimensionless",
    "assumed: learning rate of the escalation state per extra dose, H ← H + a·(1 − H) (Rescorla–Wagner form, "
    "as the use expectancy, use_extinction_rate); a = 0.2: about ten reinforced extra doses take H most of the "
    "way (1 − 0.8^10 = 0.89). Each extra dose is reinforced (no antagonist in the prescription)"))
_P.append(BParam(
    "misuse_escalation_decay", 0.693 / (30 * 24), "1/h",
    "assumed: the escalation state fades without extra doses with t½ 30 days — the time scale assumed for "
    "the spontaneous recovery of the use expectancy (use_expectancy_recovery_rate); no human rate is "
    "published. The loop escalation → more extra doses → more escalation is self-sustaining when "
    "a·λ(H)·(1 − H) exceeds the decay (λ the extra-dose rate): a minority with a high base rate escalates "
    "to near-daily use, the rest stay at occasional misuse or none"))

# --- planned exits from methadone maintenance (ninth session; appended last: earlier draws unchanged) --
_P.append(BParam(
    "methadone_exit_taper_fraction", 0.572, "dimensionless",
    "Nosyk et al., Addiction 2012;107:1621 (abstract read): of 25 545 completed methadone maintenance episodes in "
    "British Columbia 1996-2006, 14 602 began with a dose taper (0.572). The probability that a patient who decides "
    "to leave methadone treatment (the dropout hazard) leaves through the medication's exit taper instead of at once, "
    "in cohorts that model planned exits (CohortSim(exit_tapers=True): the population cohort of mortality.ost); drawn "
    "per decision (keyed draw 'exit_taper:<day>', stream BEHAVIOUR_EVENTS). A dropout during the taper is an "
    "immediate exit. No between-patient CV (one pooled proportion)"))


#: the declarations by name (what this file says; a simulation reads its model's values)
PARAMS: dict[str, BParam] = {p.name: p for p in _P}

MODULE_DOC = """The stochastic behaviour layer's parameters (``opiaxis/behaviour/params.py``): drug use,
treatment policies, overdose, rescue and death are decided once per decision interval from the ODE
states (``opiaxis/behaviour/engine.py``). No equation of the ODE system uses them. Between-patient
variability is log-normal; each patient's values are drawn by the behaviour layer from its own
stream (``Purpose.BEHAVIOUR_TRAITS``, keyed by the patient and the parameter's name)."""


def module() -> Module:
    """The parameter-only model module ``behaviour``: every declaration of ``_P`` in order, with its
    value, unit, source, description and log-normal between-patient CV (none when 0)."""
    m = Module(MODULE, MODULE_DOC)
    for p in _P:
        m.parameter(p.name, p.value, p.unit, p.source, description=p.description,
                    variability=lognormal(p.cv) if p.cv > 0 else None)
    return m


def model_parameters(model: Model) -> list[Parameter]:
    """The behaviour parameters of ``model`` (those of its module ``behaviour``), in declaration
    order; an error naming the model when it was composed without them."""
    found = [p for p in model.parameters if p.module == MODULE]
    if not found:
        raise ModelDefinitionError(f"model {model.name!r} has no behaviour parameters: compose it with "
                                   "opiaxis.behaviour.params.module() (opiaxis.models.build_model and "
                                   "behaviour_model() do)")
    return found
