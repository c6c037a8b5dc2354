"""oxytocin — endogenous oxytocin tone as an allostatic variable, and intranasal oxytocin.

Equations (time in hours)
-------------------------
1. **Endogenous tone** O (relative, 1 in a healthy adult) relaxes to an allostatic set point
   that chronic opioid exposure, early-life adversity, psychiatric comorbidity and social
   exclusion lower (seed 002: Houghton, Heroin Addict Relat Clin Probl 2022;24(5):27 —
   oxytocin as an allostatic system dysregulated by chronic opioid use, early trauma,
   psychiatric disorder and social exclusion; preclinical: chronic morphine lowers hypothalamic
   and hippocampal oxytocin, review Zanos et al., Br J Pharmacol 2018;175:2809, PMC6016632;
   lower blood oxytocin in drug-dependent patients with partial recovery over 2 weeks of
   abstinence, Huang et al., Front Psychiatry 2018;9:633):

       O* = exp(−(d_op·T⁺ + d_ela·ELA + d_dep·DEP + d_soc·(s_ref − social_support)))
       dO/dt = k_O·(O* − O)

   with T⁺ the positive part of ``tolerance_level`` (a marker of chronic μ exposure).
2. **Intranasal oxytocin** (documented assumption). The pk module gives the nasal depot
   ``oxytocin_depot_intranasal`` (mg, after the route's tiny systemic F) and plasma
   ``oxytocin_plasma``. No human intranasal population model with nose-to-brain transfer exists
   (model-anchors §6.1). Assumed: a direct nose-to-brain route proportional to the nasal depot
   raises central oxytocin, dE/dt = g_nb·k_nb·depot − k_E·E, so that 40 IU raises central tone
   by ~+0.12 at ~40 min and fades over ~3 h (CSF oxytocin rises within 75 min after 24 IU,
   Striepens et al., Sci Rep 2013;3:3440; salivary/CSF elevations last ~2–4 h). IV oxytocin
   (which hardly crosses the blood–brain barrier) gives no central effect here.
3. **Read-outs.** ``oxytocin_tone`` = O + E (central, relative; consumed by reward to dampen
   cue and stress reactivity, by adaptation to damp the expression of withdrawal, and by hpa to
   buffer the stressors' drive of CRH release — the last two added 2026-11-30, eleventh session;
   each coupling's source is in the receiving module). ``oxytocin_endogenous_plasma`` = P_0·O^ε (pg/mL). Plasma
   oxytocin is neurohypophysial release by the magnocellular neurons of the supraoptic and
   paraventricular nuclei, which also release oxytocin into the brain from their dendrites
   (Ludwig & Leng, Nat Rev Neurosci 2006;7:126; dendritic release is regulated partly apart from
   axonal release): the allostatic drivers of item 1 act on those neurons, so plasma moves in
   proportion with the tone they set (ε = 1; the blood-level ratio that sizes d_op, Huang et
   al. 2018, is then the plasma ratio too). What
   plasma does *not* share with the brain — peripheral-only release, clearance, the assay — is
   the large between-person spread of P_0, which keeps plasma a loose mirror at rest (Valstad
   et al., Neurosci Biobehav Rev 2017;78:117: plasma–CSF r 0.08 at baseline, 0.49 after a
   stressor, 0.66 after intranasal oxytocin). ``oxytocin_total_plasma`` adds the exogenous drug.
"""

from __future__ import annotations

import sympy as sp

from .reward import positive_part
from ..model.core import Module, lognormal


def build(drugs=None) -> Module:
    m = Module("oxytocin", __doc__)
    T = m.input("tolerance_level", "dimensionless", 0.0, "adaptation module (0 when absent)")
    ela = m.input("early_life_adversity", "dimensionless", 0.0,
                  "covariate (population/covariates.py); 0 for a healthy adult without ACE >= 4")
    dep = m.input("depression_history", "dimensionless", 0.0,
                  "covariate (population/covariates.py); 0 for a healthy adult without depression history")
    ss = m.input("social_support", "dimensionless", 0.5,
                 "covariate (population/covariates.py); 0.5 = average support (score 0-1)")
    depot = m.input("oxytocin_depot_intranasal", "mg", 0.0, "pk module nasal depot (0 when absent)")
    exo = m.input("oxytocin_plasma", "ng/mL", 0.0, "pk module (exogenous oxytocin; 0 when absent)")

    k_o = m.parameter("oxytocin_tone_rate", 0.693 / (14 * 24), "1/h",
                      "assumed: t½ 2 weeks; blood oxytocin rose only partly within 2 weeks of abstinence "
                      "(Huang et al., Front Psychiatry 2018;9:633, ketamine dependence)", variability=lognormal(0.4))
    d_op = m.parameter("oxytocin_opioid_suppression", 0.5, "dimensionless",
                       "assumed: full chronic tolerance lowers the set point to exp(−0.5) = 61% (drug-dependent "
                       "patients ~60% of control blood oxytocin, Huang et al. 2018: 5.9 vs 9.5 ng/mL; chronic "
                       "opioids lower oxytocin in animals, Zanos et al. 2018)", variability=lognormal(0.4))
    d_ela = m.parameter("oxytocin_ela_suppression", 0.25, "dimensionless",
                        "assumed: childhood maltreatment lowers CSF oxytocin by ~20–25% (Heim et al., Mol Psychiatry "
                        "2009;14:954)")
    d_dep = m.parameter("oxytocin_depression_suppression", 0.15, "dimensionless",
                        "assumed: modestly lower oxytocin in depression (mixed findings; seed 002)")
    d_soc = m.parameter("oxytocin_social_gain", 0.6, "dimensionless",
                        "assumed: social exclusion lowers and support raises tone; a 0.5 drop of the 0–1 support "
                        "score lowers tone by 26% (seed 002: social exclusion)")
    s_ref = m.parameter("oxytocin_social_reference", 0.5, "dimensionless",
                        "assumed: average social support (score 0.5) leaves the set point unchanged")
    g_nb = m.parameter("oxytocin_nose_to_brain_gain", 250.0, "1/mg",
                       "calibrated to ot.intranasal.single (null single-dose effect on cue-induced craving, Woolley "
                       "et al.): central tone gained per mg of nasal depot so that 40 IU (F 1% systemic) raises tone "
                       "by ~0.12 at its peak. Striepens et al. 2013 show only a modest CSF rise after 24 IU and the "
                       "fraction reaching the brain is tiny (Leng & Ludwig, Biol Psychiatry 2016;79:243: ~0.005% "
                       "of an intranasal dose in CSF); the earlier assumption (+0.5, gain 980) gave a significant "
                       "craving reduction (p 0.03). No human nose-to-brain model exists (model-anchors §6.1)",
                       variability=lognormal(0.5))
    k_nb = m.parameter("oxytocin_nose_to_brain_rate", 4.0, "1/h",
                       "assumed: equal to the nasal absorption rate of the pk route (ka 4/h)")
    k_e = m.parameter("oxytocin_central_exogenous_elimination", 0.693 / 1.5, "1/h",
                      "assumed: central effect of a single dose fades with t½ 1.5 h (effects tested 30–90 min after "
                      "dosing; CSF elevation over ~2–4 h, Striepens 2013)")
    p0 = m.parameter("oxytocin_plasma_baseline", 10.0, "pg/mL",
                     "assumed: healthy plasma oxytocin ~1–10 pg/mL after extraction (assay dependent; unextracted "
                     "ELISA reads higher, Huang 2018 ng/mL-range values); 10 pg/mL chosen", variability=lognormal(0.4))
    eps_pl = m.parameter("oxytocin_plasma_exponent", 1.0, "dimensionless",
                         "assumed: plasma moves in proportion with the endogenous tone, because the allostatic drivers "
                         "act on the hypothalamic oxytocin neurons that release into blood and brain alike (Ludwig & "
                         "Leng, Nat Rev Neurosci 2006;7:126), and oxytocin_opioid_suppression is sized from blood "
                         "levels (Huang et al. 2018: 62% of control) — an exponent 0.7 (earlier) made plasma fall to "
                         "only ~72% at full tolerance, below the ratio the suppression is read from. The weak basal "
                         "plasma–CSF correlation (r 0.08, Valstad et al. 2017) is between-person spread that plasma "
                         "does not share with the brain: oxytocin_plasma_baseline's CV, not a sub-proportional mean")
    conv = m.parameter("oxytocin_pg_per_ng", 1000.0, "pg/ng", "unit identity: 1 ng = 1000 pg")
    dlt = m.parameter("oxytocin_smoothing", 0.02, "dimensionless", "assumed: numerical smoothing of T⁺")

    # a person starts at the drug-free set point of their covariates (1 for a typical adult), so a
    # drug-free person with early adversity or low support is at rest rather than drifting for weeks
    rest = sp.exp(-(d_ela * ela + d_dep * dep + d_soc * (s_ref - ss)))
    O = m.state("oxytocin_tone_endogenous", "dimensionless", rest, "endogenous central oxytocin tone (1 healthy)")
    E = m.state("oxytocin_central_exogenous", "dimensionless", 0.0, "central oxytocin added by intranasal dosing")
    Tp = positive_part(T, dlt)   # exactly 0 without tolerance: a drug-free person is at rest
    oset = m.assign("oxytocin_setpoint", sp.exp(-(d_op * Tp + d_ela * ela + d_dep * dep + d_soc * (s_ref - ss))),
                    "dimensionless", "allostatic set point of the endogenous tone")
    m.ode(O, k_o * (oset - O))
    m.ode(E, g_nb * k_nb * depot - k_e * E)
    m.assign("oxytocin_tone", O + E, "dimensionless", "central oxytocin tone (relative; endogenous + intranasal)",
             interface=True)
    endo = m.assign("oxytocin_endogenous_plasma", p0 * O ** eps_pl, "pg/mL", "endogenous plasma oxytocin",
                    interface=True)
    m.assign("oxytocin_total_plasma", endo + conv * exo, "pg/mL", "plasma oxytocin, endogenous + exogenous",
             interface=True)
    return m
