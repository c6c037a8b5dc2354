"""reward — hedonic opponent process, allostatic reward set point, dopamine tone and craving.

Equations (time in hours; all quantities dimensionless unless stated)
--------------------------------------------------------------------
1. **Hedonic a-process.** From the efficacy-weighted central μ occupancy A
   (``mor_agonism_central``) the module forms the agonist load x = A/(1 − A + ε) (occupancy
   odds, Mann et al., Clin Pharmacol Ther 2022;112:1020) and the compressed stimulus S = x^h, the
   same transform as the adaptation module. Tolerance removes hedonic potency:
   S_h = S·(1 − tolerance_level) (tolerance to euphoria; ``tolerance_level`` is the fraction of
   acute potency lost). The a-process — phasic dopamine release from μ-mediated disinhibition of
   VTA neurons (Johnson & North, J Neurosci 1992;12:483) — is a = a_max·S_h/(S_h + S50_a).
2. **Opponent b-process.** dB/dt = k_b·(a − B): slower than a, so every dose is followed by a
   dysphoric crash when a falls below B (Solomon & Corbit, Psychol Rev 1974;81:119; the biphasic
   hedonic response of Chou & D'Orsogna, Chaos 2022;32:021102).
3. **Allostatic reward set point** R (1 healthy; Koob & Le Moal, Neuropsychopharmacology
   2001;24:97; Ahmed & Koob, Psychopharmacology 2005;180:473): chronic counter-adaptation and
   repeated withdrawal drive it down, and it recovers slowly in abstinence,
   dR/dt = −k_down·(T⁺ + g_w·W)·(R − R_min) + k_up·(1 − R).
4. **Dopamine tone** D = R·(1 + a)/(1 + B + g_wd·W) (relative; 1 at rest). Withdrawal lowers
   mesolimbic dopamine (Rossetti, Hmaidan & Gessa, Eur J Pharmacol 1992;221:227).
5. **Cue conditioning and incubation.** The associative strength of drug cues V (0…1) is learnt
   from experienced drug reward and forgotten slowly: dV/dt = k_acq·a·(1 − V) − k_forget·V
   (Rescorla–Wagner-type acquisition; blocked reward under an antagonist teaches nothing).
   Incubation I (0…1) grows during abstinence and resets quickly on drug exposure:
   dI/dt = k_inc·Ab·(1 − I) − k_reset·(1 − Ab)·I with Ab = 1/(1 + (A/A_ab)²) the abstinence
   indicator. Cue reactivity V·(1 + g_inc·I) therefore rises over the first weeks to months of
   abstinence and then declines as V fades — the inverted U of incubation of craving (Grimm,
   Hope, Wise & Shaham, Nature 2001;412:141; Pickens et al., Trends Neurosci 2011;34:411; in
   humans: Bedi et al., Biol Psychiatry 2011;69:708; Wang et al., PLoS One 2013 (PMC3722210):
   cue-induced craving rises up to 3 months of abstinence and falls by 6–12 months).
6. **Craving** (0…1; the observation layer maps it to a 0–100 VAS). Drives, each dimensionless:
   withdrawal w_w·W; reward deficit w_d·(1 − D)⁺ (negative reinforcement, Koob); cues
   w_c·V·(1 + g_inc·I)·(c_bg + cue_exposure)·OT^(−e_cue); stress w_s·(cortisol_rel − 1)⁺·OT^(−e_s);
   pain w_p·pain_nrs/10; inflammation w_i·(IL-6/IL-6_ref − 1)⁺; negative affect w_m·M⁺ (M the mood
   module's latent depressive state, exactly 0 when euthymic). Their sum is scaled by trait
   vulnerability (1 + v_ela·early_life_adversity + v_dep·depression_history) and by μ satiety
   1/(1 + (A/A_sat)^2) (an occupied receptor satiates — the "narcotic blockade" of adequate
   methadone doses, Dole, Nyswander & Kreek, Arch Intern Med 1966;118:304), and mapped to 0…1 by
   craving = q/(q + c50). ``oxytocin_tone`` (oxytocin module; 1 when absent) dampens cue and
   stress reactivity (seed 002: Houghton, Heroin Addict Relat Clin Probl 2022;24(5):27).
   ``cue_exposure`` is set by the behaviour layer (or a cue-reactivity session) per interval.
7. **Drug priming** (added 2026-11-30). A dose of the drug itself reinstates wanting: non-contingent
   priming injections of heroin or morphine reinstate extinguished heroin seeking in rats (de Wit &
   Stewart, Psychopharmacology 1983;79:29), for 1–4 h after morphine, while naltrexone suppresses it
   (Stewart & Wise, Psychopharmacology 1992;108:79); acute (naltrexone-precipitated) withdrawal does not
   reinstate it, an opioid-like (agonist) effect does, through mesolimbic dopamine overflow (Shaham &
   Stewart, Psychopharmacology 1995;119:334). In humans an extra 33% of the daily methadone dose raised
   heroin craving against placebo (Curran et al., Addiction 1999;94:665), and in methadone patients
   craving rises again a few hours after the morning dose (de Vos et al., 'Patterns of craving and
   pharmacokinetics in long-term opiate addicts in methadone maintenance therapy', Jellinek Clinic,
   n = 20; journal details not read).
   In incentive-sensitization terms the drug's rising effect is itself a conditioned (interoceptive)
   cue that triggers wanting (Robinson & Berridge, Brain Res Rev 1993;18:247). The priming drive is
   w_c·e_p·V·(a − B)⁺: the net hedonic rise a − B (positive only while the a-process rises ahead of
   its opponent, i.e. for the hours after a dose; zero at steady state and in withdrawal) acting as a
   cue on the learnt association V (no priming in a person who never learnt drug–cue associations),
   scaled like an explicit cue. It depends on the dependence state through a: hedonic tolerance shrinks
   the rise a maintained patient gets from an extra dose. Satiety acts on the level of agonism and does
   not divide the priming drive, which the agonist's own rising effect produces: so an extra dose on
   top of a maintenance dose raises craving for a few hours (priming wins on the rise) and lowers it
   once the rise is over (satiety wins on the level).
"""

from __future__ import annotations

from types import SimpleNamespace

import sympy as sp

from .adaptation import LOAD_FLOOR, LOAD_FLOOR_SOURCE, compressed_load
from .immune import resting_levels
from ..model.core import Module, lognormal


def _pos(x, d):
    """Smooth positive part (width d)."""
    return (x + sp.sqrt(x ** 2 + d ** 2)) / 2


def positive_part(x, d):
    """Positive part that is exactly 0 for x ≤ 0 and continuously differentiable: x⁺²/(x⁺ + d),
    ≈ x − d for x ≫ d. Used where a state is driven by the positive part, so that a drug-free
    person is at rest (the symmetric smoothing :func:`_pos` is d/2 at x = 0 and made the reward
    set point and oxytocin tone drift 2.5% and 0.5% below 1 in a person who never took an opioid)."""
    xp = sp.Max(x, 0)
    return xp ** 2 / (xp + d)


def _inputs(m: Module) -> dict:
    """Inputs from the other modules and the covariates (each with its value when the module is absent)."""
    A = m.input("mor_agonism_central", "dimensionless", 0.0, "receptors module (0 without drugs)")
    T = m.input("tolerance_level", "dimensionless", 0.0, "adaptation module (0 when absent)")
    W = m.input("withdrawal_signal", "dimensionless", 0.0, "adaptation module (0 when absent)")
    cort = m.input("cortisol_rel", "dimensionless", 1.0, "hpa module (healthy baseline 1 when absent)")
    pain = m.input("pain_nrs", "dimensionless", 0.0, "pain module (0 when absent)")
    il6 = m.input("il6_plasma", "pg/mL", resting_levels()["il6"], "immune module (its resting IL-6 when absent)")
    ot = m.input("oxytocin_tone", "dimensionless", 1.0, "oxytocin module (healthy tone 1 when absent)")
    ela = m.input("early_life_adversity", "dimensionless", 0.0,
                  "covariate (population/covariates.py); 0 for a healthy adult without ACE >= 4")
    dep = m.input("depression_history", "dimensionless", 0.0,
                  "covariate (population/covariates.py); 0 for a healthy adult without depression history")
    mood = m.input("mood_state", "dimensionless", 0.0,
                   "mood module latent depressive state (0 euthymic, ~1 in an episode; 0 when absent)")
    return dict(A=A, T=T, W=W, cort=cort, pain=pain, il6=il6, ot=ot, ela=ela, dep=dep, mood=mood)


def _hedonic_parameters(m: Module) -> dict:
    """Parameters of the opponent process, the allostatic set point, cue learning and incubation (equations 1–5)."""
    eps = m.parameter("reward_load_eps", 0.01, "dimensionless",
                      "assumed: same numerical bound on the occupancy odds as the adaptation module")
    h = m.parameter("reward_load_exponent", 0.75, "dimensionless",
                    "assumed: same compression of the μ load as the adaptation module (adapt_load_exponent)")
    x0 = m.parameter("reward_load_floor", LOAD_FLOOR, "dimensionless", LOAD_FLOOR_SOURCE,
                     description="regularisation of the hedonic load's power law at zero load")
    amax = m.parameter("reward_a_max", 1.0, "dimensionless",
                       "assumed: maximal phasic dopamine response doubles tone (μ agonists raise accumbal dopamine "
                       "~1.5–2.5-fold in microdialysis; Di Chiara & Imperato, PNAS 1988;85:5274)")
    s50a = m.parameter("reward_a_s50", 1.0, "dimensionless",
                       "assumed: half-maximal hedonic response at a μ stimulus of 1 (occupancy odds ~1, half the "
                       "receptors occupied by a full agonist in a naïve person)", variability=lognormal(0.4))
    kb = m.parameter("reward_b_rate", 0.35, "1/h",
                     "assumed: opponent (b) process lags the a-process by ~2 h (t½ 2 h), giving the post-dose "
                     "dysphoric crash within hours (Chou & D'Orsogna 2022 use a slower b than a; values not read)")
    k_down = m.parameter("reward_setpoint_down_rate", 1 / (14 * 24), "1/h",
                         "assumed: allostatic decrease of the reward set point over ~2 weeks of dependence (Ahmed & "
                         "Koob 2005: escalation over weeks of extended access; parameters not read)")
    k_up = m.parameter("reward_setpoint_recovery_rate", 1 / (60 * 24), "1/h",
                       "assumed: protracted abstinence — anhedonia and reward deficits recover over months "
                       "(Koob & Le Moal 2001; Martinotti et al., J Psychopharmacol 2012 (anhedonia in abstinence))",
                       variability=lognormal(0.4))
    rmin = m.parameter("reward_setpoint_min", 0.4, "dimensionless",
                       "assumed: floor of the allostatic set point (ventral striatal responses to natural rewards "
                       "roughly halved in opioid dependence; no quantitative anchor)")
    g_w = m.parameter("reward_setpoint_withdrawal_gain", 1.0, "dimensionless",
                      "assumed: each unit of withdrawal signal drives the set point as much as full tolerance")
    g_wd = m.parameter("reward_withdrawal_dopamine_gain", 1.0, "dimensionless",
                       "assumed: severe withdrawal (signal 1) halves dopamine tone (Rossetti et al. 1992: accumbal "
                       "dopamine falls to ~40–60% of baseline in morphine withdrawal, rat)")
    k_acq = m.parameter("cue_acquisition_rate", 0.05, "1/h",
                        "assumed: cue–drug association approaches its maximum over a few weeks of daily use "
                        "(Rescorla–Wagner learning driven by the a-process)")
    k_fg = m.parameter("cue_forgetting_rate", 0.693 / (120 * 24), "1/h",
                       "assumed: cue associations fade with a half-life of ~4 months without reinforcement, so that "
                       "cue-induced craving falls by 6–12 months of abstinence (Wang et al. 2013, PMC3722210; "
                       "cue reactivity persists >1 year in long-abstinent heroin users, Zhao et al. PMC3288796)",
                       variability=lognormal(0.5))
    k_inc = m.parameter("incubation_rate", 0.693 / (20 * 24), "1/h",
                        "assumed: incubation half-time ~3 weeks so that cue reactivity peaks at 1–3 months of "
                        "abstinence (Grimm et al. 2001; Pickens et al. 2011; Bedi et al. 2011: day 35 > day 7)")
    k_res = m.parameter("incubation_reset_rate", 0.693 / 24, "1/h",
                        "assumed: renewed drug exposure resets incubation within about a day")
    a_ab = m.parameter("incubation_agonism_threshold", 0.05, "dimensionless",
                       "assumed: μ agonism below ~5% counts as abstinence (maintenance doses keep agonism >0.3)")
    g_inc = m.parameter("incubation_gain", 1.5, "dimensionless",
                        "assumed: incubated cue reactivity up to 2.5× the early-abstinence value (rat "
                        "cue-induced responding rises several-fold from day 1 to day 30–90, Grimm et al. 2001)")
    return dict(eps=eps, h=h, x0=x0, amax=amax, s50a=s50a, kb=kb, k_down=k_down, k_up=k_up, rmin=rmin, g_w=g_w, g_wd=g_wd, k_acq=k_acq, k_fg=k_fg, k_inc=k_inc, k_res=k_res, a_ab=a_ab, g_inc=g_inc)


def _craving_parameters(m: Module) -> dict:
    """Parameters of the craving drives, their trait scaling and μ satiety (equation 6)."""
    w_w = m.parameter("craving_weight_withdrawal", 2.0, "dimensionless",
                      "calibrated to relapse.detox (early relapse): weight of withdrawal in craving")
    w_d = m.parameter("craving_weight_deficit", 1.5, "dimensionless",
                      "assumed: reward deficit (dopamine tone below 1) drives craving (negative reinforcement, Koob)")
    w_c = m.parameter("craving_weight_cue", 0.6, "dimensionless",
                      "calibrated to relapse.detox and xbot.relapse24w: weight of cue reactivity in craving")
    c_bg = m.parameter("cue_background", 0.3, "dimensionless",
                       "assumed: everyday background exposure to drug cues relative to an explicit cue session (1)")
    cue = m.parameter("cue_exposure", 0.0, "dimensionless",
                      "intervention/behaviour input: explicit cue exposure (0 none, 1 a cue-reactivity session or "
                      "a high-risk situation); set per decision interval by the behaviour layer", lower=0.0)
    w_s = m.parameter("craving_weight_stress", 0.5, "dimensionless",
                      "assumed: stress (cortisol above baseline) raises craving; cortisol correlates with craving in "
                      "early abstinence (targets.md hpa.abstinence30)")
    w_p = m.parameter("craving_weight_pain", 0.4, "dimensionless",
                      "assumed: pain NRS 10 adds 0.4 to the craving drive (pain predicts craving and misuse in OUD "
                      "and CNCP; Tsui et al., Drug Alcohol Depend 2016)")
    w_i = m.parameter("craving_weight_inflammation", 0.1, "dimensionless",
                      "assumed: a doubling of IL-6 adds 0.1 to the craving drive (seed 000: inflammation in early "
                      "abstinence; weak, no quantitative anchor)")
    w_m = m.parameter("craving_weight_negative_affect", 0.5, "dimensionless",
                      "assumed: a depressive episode (mood state 1) adds 0.5 to the craving drive, as much as a "
                      "doubled cortisol (craving_weight_stress). Negative mood rises with opioid craving in the hours "
                      "before lapses (EMA in 149 outpatients on agonist treatment: Preston et al., Psychopharmacology "
                      "2018;235:2713) and couples to craving within person day by day in residential OUD treatment "
                      "(Cleveland et al. 2021, PMC8060350); craving, anxiety and depression all tracked cortisol in "
                      "the first month of heroin abstinence (Shi et al., Am J Drug Alcohol Abuse 2009;35:267). The "
                      "size is not fitted")
    il6_ref = m.parameter("craving_il6_reference", resting_levels()["il6"], "pg/mL",
                          "computed: resting IL-6 of the immune module (Dobreva et al. 2021 baseline with basal LPS), so the term is 0 in a drug-free person at rest")
    e_cue = m.parameter("oxytocin_cue_exponent", 0.8, "dimensionless",
                        "assumed: cue reactivity ∝ oxytocin_tone^(−0.8) (seed 002: dysregulated oxytocin drives "
                        "automated cue responses; oxytocin reduces heroin self-administration in rats, Kovács et "
                        "al. 1998 (review PMC6016632))")
    e_s = m.parameter("oxytocin_stress_exponent", 0.8, "dimensionless",
                      "assumed: oxytocin dampens stress reactivity (Heinrichs et al., Biol Psychiatry 2003;54:1389)")
    v_ela = m.parameter("craving_vulnerability_ela", 0.3, "dimensionless",
                        "assumed: ACE ≥ 4 raises craving reactivity by 30% (early adversity and cue reactivity; seed "
                        "002)")
    v_dep = m.parameter("craving_vulnerability_depression", 0.3, "dimensionless",
                        "assumed: depression history raises craving reactivity by 30% (low mood the most reported "
                        "contributor to lapse, Ducray et al., Ir J Psychol Med 2014)")
    e_p = m.parameter("craving_priming_cue_equivalence", 1.0, "dimensionless",
                      "assumed: a net hedonic rise a − B of 1 (a-process at its maximum over a resting opponent: "
                      "accumbal dopamine doubled) primes wanting as strongly as an explicit cue session (cue_exposure "
                      "1). Non-contingent heroin priming and heroin-paired cues reinstate heroin seeking to comparable "
                      "extents in rats (de Wit & Stewart 1983; Shaham & Stewart 1995: footshock mimicked a 50 µg/kg "
                      "heroin prime; review Shalev, Grimm & Shaham, Pharmacol Rev 2002;54:1); no human number relates "
                      "the two, so the equivalence is not fitted")
    a_sat = m.parameter("craving_satiety_agonism", 0.6, "dimensionless",
                        "calibrated to mmt.retention's heroin-use RR 0.66 (0.56–0.78; Mattick et al., Cochrane "
                        "2009), in the trial's expectation (n = 600), jointly with dropout_medication_factor by "
                        "opiaxis calibrate behaviour.mmt (history: "
                        "data/calibration.yaml): μ agonism that halves craving. Methadone 60–80 mg and buprenorphine 16 mg reach "
                        "agonism ~0.4–0.9, so an adequate dose still halves craving or more (the 'narcotic "
                        "blockade', Dole et al. 1966)", variability=lognormal(0.3))
    c50 = m.parameter("craving_half_drive", 1.0, "dimensionless",
                      "assumed: drive giving craving 0.5 (VAS 50)", variability=lognormal(0.3))
    dlt = m.parameter("reward_smoothing", 0.02, "dimensionless", "assumed: numerical smoothing of positive parts")
    return dict(w_w=w_w, w_d=w_d, w_c=w_c, c_bg=c_bg, cue=cue, w_s=w_s, w_p=w_p, w_i=w_i, il6_ref=il6_ref, e_cue=e_cue, e_s=e_s, v_ela=v_ela, v_dep=v_dep, a_sat=a_sat, c50=c50, dlt=dlt, w_m=w_m, e_p=e_p)


def _hedonic_states(m: Module, i, q):
    """Equations 1–5: a- and b-process, set point, dopamine tone, cue learning and incubation.
    Returns the cue association, incubation, dopamine tone and the net hedonic state a − B."""
    B = m.state("hedonic_b_process", "dimensionless", 0.0, "opponent (b) process")
    R = m.state("reward_setpoint_state", "dimensionless", 1.0, "allostatic reward set point (1 healthy)")
    V = m.state("cue_association", "dimensionless", 0.0, "associative strength of drug cues (0…1)")
    I = m.state("craving_incubation", "dimensionless", 0.0, "incubation of cue reactivity in abstinence (0…1)")

    Sh = compressed_load(i.A, q.eps, q.h, q.x0) * (1 - i.T)
    a = m.assign("hedonic_a_process", q.amax * Sh / (Sh + q.s50a), "dimensionless", "a-process (phasic dopamine)")
    m.ode(B, q.kb * (a - B))
    Tp = positive_part(i.T, q.dlt)
    m.ode(R, -q.k_down * (Tp + q.g_w * i.W) * (R - q.rmin) + q.k_up * (1 - R))
    m.ode(V, q.k_acq * a * (1 - V) - q.k_fg * V)
    ab = 1 / (1 + (i.A / q.a_ab) ** 2)
    m.ode(I, q.k_inc * ab * (1 - I) - q.k_res * (1 - ab) * I)

    D = m.assign("dopamine_tone", R * (1 + a) / (1 + B + q.g_wd * i.W), "dimensionless",
                 "mesolimbic dopamine tone relative to healthy rest", interface=True)
    m.assign("reward_setpoint", R, "dimensionless", "allostatic reward set point (1 healthy)", interface=True)
    net = m.assign("hedonic_state", a - B, "dimensionless", "net hedonic perception a − b")
    return V, I, D, net


def _craving(m: Module, i, q, V, I, D, net) -> None:
    """Equations 6–7: cue reactivity, the craving drives, μ satiety, drug priming, trait scaling and saturation."""
    otp = _pos(i.ot, q.dlt)
    cue_r = m.assign("cue_reactivity", V * (1 + q.g_inc * I) * otp ** (-q.e_cue), "dimensionless",
                     "craving response to an explicit drug cue (incubated, oxytocin-dampened)", interface=True)
    drive = (q.w_w * i.W + q.w_d * _pos(1 - D, q.dlt) + q.w_c * cue_r * (q.c_bg + q.cue)
             + q.w_s * _pos(i.cort - 1, q.dlt) * otp ** (-q.e_s) + q.w_p * i.pain / 10
             + q.w_i * _pos(i.il6 / q.il6_ref - 1, q.dlt) + q.w_m * positive_part(i.mood, q.dlt))
    prime = m.assign("craving_priming", q.w_c * q.e_p * V * positive_part(net, q.dlt), "dimensionless",
                     "drug-primed wanting: the rising net hedonic effect of a dose as an interoceptive cue (equation 7)")
    c = m.assign("craving_drive", (drive / (1 + (i.A / q.a_sat) ** 2) + prime) * (1 + q.v_ela * i.ela + q.v_dep * i.dep),
                 "dimensionless", "craving drive before saturation")
    m.assign("craving", c / (c + q.c50), "dimensionless", "craving 0…1 (VAS/100)", interface=True)


def build(drugs=None) -> Module:
    m = Module("reward", __doc__)
    i = SimpleNamespace(**_inputs(m))
    q = SimpleNamespace(**_hedonic_parameters(m), **_craving_parameters(m))
    V, I, D, net = _hedonic_states(m, i, q)
    _craving(m, i, q, V, I, D, net)
    return m
