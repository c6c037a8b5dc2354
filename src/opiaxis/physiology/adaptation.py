"""adaptation — tolerance, dependence and withdrawal as counter-adaptation to μ-opioid agonism.

Equations (time in hours; every quantity dimensionless unless stated)
--------------------------------------------------------------------
1. **μ stimulus.** The receptors module gives the efficacy-weighted central μ occupancy
   ``A = mor_agonism_central`` (0…1). Occupancy saturates close to 1 in chronic users, while the
   concentration keeps rising; the stimulus is therefore taken on a compressed load scale

       x = A / (1 − A + ε),    S = x^h,

   where x is the agonist load in units of the dissociation constant (for full agonists
   x = Σ (C/K)^n exactly, the receptor-occupancy odds, Mann et al. Clin Pharmacol Ther
   2022;112:1020) and ε bounds x at (1+ε)/ε. With h = 1/2 the stimulus is a power law of
   concentration (exponent n·h), a compression close to the log-linear range of a sigmoid
   concentration–effect curve (a logarithm would serve equally; the engine's code generator does
   not print ``log``/``exp`` today). A partial agonist (buprenorphine, efficacy 0.5) can never
   give more than S = 1: its ceiling emerges from the receptor module's efficacy.

2. **Counter-adaptation (nonlinear feedback / "moderator" tolerance model).** Gabrielsson &
   Peletier's feedback family (AAPS J 2008;10:70, PMID 18446507; model-anchors §2.1), with the
   response R read as the μ-inhibitable signalling tone (adenylyl-cyclase/cAMP tone, whose
   superactivation on agonist removal is the cellular correlate of withdrawal: Sharma, Klee &
   Nirenberg, PNAS 1975;72:3092) and M the moderator (counter-adaptation):

       dR/dt = k_r · ( M^(−p) − (1 + S) · R )          (baseline R = M = 1)
       dM/dt = k_tol · ( R − M )

   At constant S the steady state is R = M = (1+S)^(−1/(p+1)): part of the effect persists
   (tolerance is incomplete) and production is raised by M^(−p) (dependence). When agonism
   falls faster than M can follow, R overshoots baseline (rebound): spontaneously on stopping,
   abruptly when an antagonist (naloxone, naltrexone) or a high-affinity partial agonist
   (buprenorphine) displaces the full agonist. A competitive antagonist acts through its Gaddum shift
   of the agonist's load (receptors module), so naloxone-precipitated withdrawal lasts while that
   shift is large, not while naloxone merely occupies receptors: after 0.4 mg IV in a methadone
   80 mg patient it peaks within ~15 min and halves by ~45 min (clinically 30–60 min;
   pred.wd.naloxone_duration). Separate effect and tolerance compartments with a
   tolerance equilibration half-life of about a day: Ekblom, Hammarlund-Udenaes & Paalzow, JPET
   1993;266:244 (rat morphine, tolerance t½ 26 ± 6 h); Ouellet & Pollack, J Pharmacokinet
   Biopharm 1995;23:531.

2b. **A fast phase: acute physical dependence, read-outs only (added 2026-11-30, fourteenth session).**
   With M alone (half-time of days) one dose of morphine leaves no dependence, yet naloxone precipitates
   withdrawal and hyperalgesia after a single dose in non-dependent people: from 45 min after morphine
   18 mg IM, not at 0 or 15 min, its onset paralleling the agonist's (Heishman, Stitzer, Bigelow & Liebson,
   JPET 1989;250:485); graded with the morphine dose, 1–17 mg (Bickel et al., JPET 1988;244:126); after
   10 mg IV with naloxone at 2 or 6 h (Compton, Miotto & Elashoff, Pharmacol Biochem Behav 2004;77:263),
   cold-pressor tolerance ~70% of baseline (Compton, Athanasos & Elashoff, J Pain 2003;4:511; abstracts
   read). A fast superactivation of the signalling pathway (production excess F, units of naive basal
   production) builds while the agonist holds the tone below its slowly adapted level and decays with its
   own half-time; the agonist inhibits the tone D it adds as it inhibits basal production:

       dF/dt = k_f·( p·w_f·(1 − (R + D)/M)⁺ − F ),    dD/dt = k_r·( F − (1 + S)·D ),    F(0) = D(0) = 0,

   and the read-outs take R + D where they took R (``withdrawal_signal`` = (R + D − 1)⁺/r_sev,
   ``unopposed_counteradaptation`` = (R + D − M)⁺/r_sev). Neither R nor M reads F or D, so the slow loop
   (and ``tolerance_level``) is exactly the one-moderator model's in any fixed regimen. Why this form (the
   data and the thirteenth session's measurements, docs/validation.md): (i) the fast phase must be unmasked
   only when the agonist is removed faster than F decays (precipitated, not spontaneous, withdrawal after one
   dose), which the agonist's inhibition (1 + S) of D gives; (ii) it must not raise the tone the slow
   moderator follows — variant 2 (F in the production of R itself) raised production between heroin
   injections, the slow moderator settled higher (M 0.742 → 0.756) and mood.oud.prevalence was lost; (iii) it
   is driven by the relative error of the tone it adds to, (1 − (R + D)/M)⁺, so it is 0 at any steady
   exposure (a maintained patient's chronic dependence stays in M, with which the withdrawal constants were
   calibrated) and it does not adapt to a rebound (R + D > M), which broke a symmetric fast moderator
   (variant 1); (iv) the fast loop must close on R + D, not on R: driven by R alone F overcompensates
   (quasi-steady R + D − 1 = S(2 − S)/(1 + S)² > 0 for S < 2 in a naive person) and one dose of morphine
   10 mg IV read spontaneous COWS 11 at 15 h (without the fast phase the peak is 2.8, at 29.5 h; measured,
   fourteenth session);
   closed, R + D = (1 + p·w_f)/(1 + p·w_f + S) < 1 under any quasi-steady agonism, and the same dose reads
   2.9. The gain p·w_f is
   variant 2's production boost M_f^(−p·w_f) linearised about the naive state (M_f ≈ R/M); it is not
   scaled by the slow loop's raised production M^(−p) (assumed: the fast phase is the same size in
   dependent and naive people). Rate k_f and weight w_f are assumed (parameters' sources); k_r is the
   tone's turnover; the withdrawal constants calibrated with M alone were not re-fitted.

3. **Read-outs.**
   * ``tolerance_level`` = 1 − M^(p+1): the fraction of the acute potency lost
     (potency fold shift Φ = 1/(1 − tolerance_level) = M^(−(p+1)) = 1 + S̄ at steady state);
     0 in a naïve person, negative (supersensitivity) after an overshoot in abstinence.
   * ``withdrawal_signal`` = smooth positive part of (R + D − 1) (D of equation 2b), divided by the rebound
     ``wd_rebound_severe`` that is read as severe withdrawal (≈1 severe, 0 none); exactly 0 at
     baseline, so no withdrawal appears without prior exposure.
     Expressed withdrawal is amplified by glial activation, W_e = W·(1 + g_glia·glial_activation)
     (seed 000: glial activation in OUD; Hutchinson et al., Sci World J 2007;7:98 and
     Cooper et al., Neuropsychopharmacology 2016;41:2419 — glial modulators such as ibudilast
     reduce withdrawal), and clonidine/lofexidine-type α2 agonists lower the expressed score by
     the fraction ``alpha2_agonist_effect`` (Gowing et al., Cochrane 2016 CD002024).
     Central oxytocin damps the expression (added 2026-11-30, eleventh session):
     W_e = W·(1 + g_glia·glial_activation)·OT^(−e_ot), with OT the oxytocin module's
     ``oxytocin_tone`` (1 healthy; endogenous + intranasal). Oxytocin dose-dependently attenuated
     the signs of naloxone-precipitated morphine withdrawal (stereotyped jumping, hypothermia,
     weight loss) and delayed its onset in mice, and an oxytocin-receptor antagonist prevented its
     effects (Kovács & Telegdy, Brain Res Bull 1988;20:893; Kovács et al., Neuropharmacology
     1985;24:413; abstracts read); hippocampal oxytocin is lowered in morphine-dependent mice (Kovács et al.,
     Brain Res 1985;328:158), so the opioid-suppressed endogenous tone of a dependent person
     (oxytocin module) expresses its withdrawal more fully. The size e_ot is assumed (no
     dose–response in tone units was found). It acts on the expressed score, not on the signalling
     rebound W: the HPA axis and craving read W (oxytocin reaches them by their own couplings).
     The drug-free baseline cannot move (W = 0 there).
   * ``unopposed_counteradaptation`` = smooth positive part of (R + D − M) (D of equation 2b; R − M below,
     the fast tone D added as in ``withdrawal_signal``), divided by ``wd_rebound_severe``
     (added 2026-11-30, thirteenth session): the same rebound measured from the level the signalling
     tone has adapted to (M, the moderator; R = M at any steady exposure) instead of from the drug-free
     baseline 1. R − M is the feedback's own error signal (dM/dt = k_tol·(R − M)). It equals
     ``withdrawal_signal`` in a naive person (M = 1) and exceeds it by at most (1 − M)/r_sev in
     withdrawal; between the doses of a maintained patient, when agonism falls below its daily mean,
     R rises above M while staying below 1 (no withdrawal_signal). Read by the pain module's
     withdrawal hyperalgesia only (pain equation 3); COWS, HPA, craving and the rest keep
     ``withdrawal_signal``.
   * ``cows_score`` (Clinical Opiate Withdrawal Scale, 0–48; Wesson & Ling, J Psychoactive Drugs
     2003;35:253) = 48 · W_e/(W_e + w_half) · (1 − alpha2_agonist_effect). The mapping is a
     saturating hyperbola chosen so that withdrawal_signal 1 ("severe") reads COWS 30 (inside the
     "moderately severe" band 25–36 of Wesson & Ling), 0.07 reads 5 (the mild threshold used
     for onset) and the score can never leave 0–48.
   * ``mor_stimulus`` is an interface variable. Respiration does not read it: the respiration module
     (``respiration.py``) reads the receptors module's linear μ signal σ (``mor_signal_central``),
     with a breathing tolerance of its own (issue 14; the compressed, ε-bounded stimulus flattened
     exactly where methadone sits, design memo docs/design/breathing-tolerance.md).
"""

from __future__ import annotations

from types import SimpleNamespace

import sympy as sp

from ..model.core import Module, lognormal

#: numerical bound ε of the agonist load x = A/(1−A+ε) and the load exponent h (S = x^h)
LOAD_EPS = 0.01
LOAD_EXPONENT = 0.75
LOAD_FLOOR = 1e-9
LOAD_FLOOR_SOURCE = (
    "assumed: numerical regularisation of x^h at x = 0, where its slope h·x^(h−1) is infinite: "
    "(x + x0)^h − x0^h bounds the slope at h·x0^(h−1) (~133 at h 0.75) and changes the value by less "
    "than 0.1% wherever x > 1e-6; no physiological content. Without it a heroin dose after 60 days of "
    "abstinence (x ~1e-200) gave Jacobian entries of 1e17 and the solver's step size underflowed")


def compressed_load(A, eps, h, x0):
    """The compressed μ agonist load (x + x0)^h − x0^h of the occupancy odds x = A/(1 − A + ε):
    x^h (Gabrielsson & Peletier's stimulus, compressed) with a finite slope at x = 0
    (:data:`LOAD_FLOOR`); 0 at zero load, as x^h is."""
    x = A / (1 - A + eps)
    return (x + x0) ** h - x0 ** h


def _positive_part(d, delta):
    """Smooth positive part of d (width ``wd_smoothing``): exactly 0 at d = 0, ≈ d for d ≫ δ."""
    return (d + sp.sqrt(d ** 2 + delta ** 2)) / 2 * d ** 2 / (d ** 2 + delta ** 2)


def _withdrawal_parameters(m: Module) -> SimpleNamespace:
    """The withdrawal read-out's parameters (rebound scale, smoothing, glial and oxytocin modulation, the
    COWS mapping, an α2 agonist), declared in the module's order."""
    r_sev = m.parameter("wd_rebound_severe", 2.0, "dimensionless",
                        "calibrated to wd.short.timecourse: rebound of the signalling tone (R − 1) read "
                        "as severe withdrawal (withdrawal_signal = 1), so that abrupt cessation of "
                        "heroin 4×/day peaks in the moderate-to-moderately-severe COWS range",
                        variability=lognormal(0.3), description="rebound R−1 that counts as severe withdrawal")
    delta = m.parameter("wd_smoothing", 0.02, "dimensionless",
                        "assumed: width of the smooth positive parts of R−1, R+D−M and the fast phase's "
                        "relative error 1−(R+D)/M (numerical smoothing)")
    g_glia = m.parameter("wd_glial_gain", 1.0, "dimensionless",
                         "assumed: expressed withdrawal doubles at maximal glial activation (seed 000; "
                         "glial modulators attenuate withdrawal: Hutchinson et al. 2007; Cooper et al. "
                         "2016) — no human dose–response to calibrate against",
                         variability=lognormal(0.5), description="amplification of withdrawal by glial activation")
    e_ot = m.parameter("wd_oxytocin_exponent", 0.5, "dimensionless",
                       "assumed: expressed withdrawal ∝ oxytocin_tone^(−0.5). Direction from mice: oxytocin "
                       "dose-dependently attenuated the signs of precipitated morphine withdrawal (jumping, "
                       "hypothermia, weight loss), blocked by an oxytocin-receptor antagonist (Kovács & Telegdy, "
                       "Brain Res Bull 1988;20:893; Kovács et al., Neuropharmacology 1985;24:413); no dose–response "
                       "translatable to a relative central tone exists. Half the reward module's cue/stress exponent "
                       "(0.8): the somatic signs are mostly a spinal and brainstem (locus coeruleus) rebound that "
                       "oxytocin reaches less than the limbic circuits of craving. With it the tone suppressed by "
                       "dependence (~0.65, oxytocin module) expresses ~24% more withdrawal, and 40 IU intranasal "
                       "(tone +~0.1) lowers the expression by ~4%. Not fitted (pred.ot.withdrawal, Moeini et al. "
                       "2019, is held out)", variability=lognormal(0.5),
                       description="damping of expressed withdrawal by central oxytocin")
    w_half = m.parameter("cows_half_signal", 0.6, "dimensionless",
                         "assumed mapping: withdrawal_signal at half the COWS maximum (24); gives COWS 30 "
                         "at withdrawal_signal 1 (moderately severe, Wesson & Ling 2003)",
                         description="half-saturation of the COWS mapping")
    cows_max = m.parameter("cows_max", 48.0, "dimensionless",
                           "Wesson & Ling, J Psychoactive Drugs 2003;35:253: COWS sums 11 items to 0–48",
                           description="COWS scale maximum")
    a2 = m.parameter("alpha2_agonist_effect", 0.0, "dimensionless",
                     "intervention parameter (0 = none). Clonidine/lofexidine-type symptomatic detox "
                     "lowers expressed withdrawal signs; Gowing et al., Cochrane 2016 CD002024: α2 "
                     "agonists more effective than placebo; a value ~0.3–0.4 represents lofexidine "
                     "2.16–2.88 mg/d (assumed from the SOWS-Gossop differences of Gorodetzky et al., "
                     "Drug Alcohol Depend 2017;176:79; UNCONFIRMED)",
                     description="fraction of the COWS score suppressed by an α2 agonist", lower=0.0, upper=1.0)
    return SimpleNamespace(r_sev=r_sev, delta=delta, g_glia=g_glia, e_ot=e_ot, w_half=w_half,
                           cows_max=cows_max, a2=a2)


def build(drugs=None) -> Module:
    m = Module("adaptation", __doc__)
    A = m.input("mor_agonism_central", "dimensionless", 0.0, "receptors module",
                "efficacy-weighted central μ occupancy")
    G = m.input("glial_activation", "dimensionless", 0.0,
                "glia module (0 at rest when absent)", "microglia/astrocyte activation, 0 rest … 1 maximal")
    ot = m.input("oxytocin_tone", "dimensionless", 1.0, "oxytocin module (healthy tone 1 when absent)",
                 "central oxytocin tone, endogenous + intranasal (relative, 1 healthy)")

    eps = m.parameter("adapt_load_eps", LOAD_EPS, "dimensionless",
                      "assumed: numerical bound on the agonist load x = A/(1−A+ε) (x ≤ 101 at full "
                      "occupancy); no physiological content",
                      description="regularisation of the occupancy odds")
    h = m.parameter("adapt_load_exponent", LOAD_EXPONENT, "dimensionless",
                    "calibrated to wd.short.timecourse and wd.methadone.timecourse (onset times): compression "
                    "of the agonist load into the μ stimulus, S = x^h (x ∝ C^n); 0.75 keeps the stimulus "
                    "of a heroin user within ~4-fold between injection peak and trough",
                    description="exponent h of the stimulus S = x^h")
    k_r = m.parameter("adapt_signal_rate", 2.0, "1/h",
                      "assumed: turnover of the μ-inhibitable signalling tone (cAMP pathway) is fast "
                      "(minutes) relative to PK; 2/h (t½ 21 min) lets naloxone-precipitated withdrawal "
                      "peak within ~30 min (Compton et al., Pharmacol Biochem Behav 2004;77:263: "
                      "precipitated withdrawal within minutes of IV naloxone)",
                      variability=lognormal(0.3), description="turnover rate k_r of the signalling tone R")
    k_tol = m.parameter("adapt_tolerance_rate", 0.003, "1/h",
                        "calibrated to wd.short.timecourse (peak 24–48 h, resolution by day 3–7 after "
                        "heroin) and wd.methadone.timecourse; t½ ln2/k = 231 h. Ekblom et al., JPET "
                        "1993;266:244 found a 26 ± 6 h tolerance equilibration half-life in rats; the "
                        "effective recovery here is faster than ln2/k because the rate is proportional "
                        "to the mismatch R − M (nonlinear feedback), and Ouellet & Pollack 1995 report "
                        "~18.5 d for full recovery from tolerance",
                        variability=lognormal(0.35), description="rate k_tol of the moderator M")
    p = m.parameter("adapt_feedback_exponent", 6.0, "dimensionless",
                    "calibrated to wd.short.timecourse (onset 6–12 h): moderator feedback exponent p of "
                    "the nonlinear feedback tolerance model (Gabrielsson & Peletier, AAPS J 2008;10:70); "
                    "at steady state R = (1+S)^(−1/(p+1)), so p = 6 gives near-complete tolerance and "
                    "strong dependence",
                    variability=lognormal(0.2), description="feedback exponent p")
    wd = _withdrawal_parameters(m)
    r_sev, delta = wd.r_sev, wd.delta
    R = m.state("mor_signal_tone", "dimensionless", 1.0,
                "μ-inhibitable signalling tone (cAMP-like), 1 at drug-free baseline")
    M = m.state("mor_counteradaptation", "dimensionless", 1.0,
                "moderator of the feedback tolerance model, 1 at baseline, < 1 when counter-adapted")

    x0 = m.parameter("adapt_load_floor", LOAD_FLOOR, "dimensionless", LOAD_FLOOR_SOURCE,
                     description="regularisation of the stimulus power law at zero load")
    S = m.assign("mor_stimulus", compressed_load(A, eps, h, x0), "dimensionless",
                 "μ stimulus: compressed agonist load (occupancy odds)^h", interface=True)
    m.ode(R, k_r * (M ** (-p) - (1 + S) * R))
    m.ode(M, k_tol * (R - M))
    # equation 2b: the fast superactivation's tone D, read-outs only (the slow loop never sees it)
    Rx = R + _fast_superactivation(m, R, M, S, k_r, p, delta)

    m.assign("tolerance_level", 1 - M ** (p + 1), "dimensionless",
                   "fraction of acute μ potency lost to counter-adaptation (0 naïve)", interface=True)
    W = m.assign("withdrawal_signal", _positive_part(Rx - 1, delta) / r_sev, "dimensionless",
                 "withdrawal: rebound of the signalling tone (with the fast superactivation) above baseline, "
                 "~1 severe", interface=True)
    m.assign("unopposed_counteradaptation", _positive_part(Rx - M, delta) / r_sev, "dimensionless",
             "excess of the signalling tone (with the fast superactivation D) over its adapted level M (the "
             "feedback's own error R − M, plus D), in "
             "units of the severe rebound: > 0 whenever agonism is below the level the counter-adaptation has "
             "adapted to (between doses, in withdrawal), 0 naive (equation 3)", interface=True)
    We = m.assign("withdrawal_expressed", W * (1 + wd.g_glia * G) * ot ** (-wd.e_ot), "dimensionless",
                  "withdrawal signal amplified by glial activation and damped by central oxytocin")
    m.assign("cows_score", wd.cows_max * We / (We + wd.w_half) * (1 - wd.a2), "dimensionless",
             "Clinical Opiate Withdrawal Scale, 0–48", interface=True)
    return m


def _fast_superactivation(m: Module, R, M, S, k_r, p, delta):
    """The fast phase of equation 2b, read-outs only: a production excess F that builds towards p·w_f times
    the relative fall of the read-out tone R + D below the slowly adapted level, (1 − (R + D)/M)⁺, and decays
    with its own half-time, and the tone D it adds, which the agonist inhibits as it inhibits basal production."""
    k_f = m.parameter("adapt_fast_rate", round(0.693 / 1.0, 4), "1/h",
                      "assumed: t½ 1 h, for both build-up and decay. Acute dependence begins within the hour of one "
                      "dose: naloxone-precipitated withdrawal first at 45 min after morphine 18 mg IM, not at 15 min, "
                      "its onset paralleling the agonist's (Heishman, Stitzer, Bigelow & Liebson, JPET 1989;250:485); "
                      "naloxone hyperalgesia 15 min after IV morphine in rats (Brain Res 1990, "
                      "doi:10.1016/0006-8993(90)90894-h); abstracts read, no rate published. The thirteenth "
                      "session's variant 2 used the same t½ (chosen there after a t½ of 26 h gave no onset within "
                      "2 h), so the 45/90-min clauses of pred.wd.acute_dependence are not blind to it",
                      description="rate k_f of the fast superactivation F (no between-patient variability: none published)")
    w_f = m.parameter("adapt_fast_weight", 0.5, "dimensionless",
                      "assumed: the thirteenth session's variant-2 weight (production × M_f^(−p·w_f)), here in its "
                      "linear form about the naive state (gain p·w_f = 3 per unit relative fall of the tone); the "
                      "half-and-half convention of the analgesic and breathing tolerances' two phases (pain "
                      "equation 1, respiration equation 4); no human study gives the amplitude of a fast "
                      "counter-adaptation. Not fitted to pred.wd.acute_dependence (held out)",
                      lower=0.0, upper=1.0, description="weight w_f of the fast superactivation (no between-patient variability: none published)")
    # error floor 0.1 (solver only, engine/kernel.py): F and D hover near 0 between doses on maintenance, and a
    # relative error of their momentary values made F the step-limiting state of recommend's candidates (157 of
    # 289 rejected steps, fifteenth session). F acts only through D, and D only through R + D in the withdrawal
    # signal W = (R + D − 1)⁺/r_sev and U = (R + D − M)⁺/r_sev (r_sev 2; read by COWS, pain sensitivity and the
    # modules W feeds: glia, hpa, immune, mood, reward, endogenous). A local error of rtol·0.1 in D moves W and U
    # by ~0.05·rtol, of order 4·rtol COWS points (COWS = 48·We/(We + 0.6), more where glia or low oxytocin amplify
    # We; per unit of the RMS-scaled local error, which one state alone can exceed by up to √n): 0.04 points at
    # recommend's rtol 1e-2, 4e-6 at the default 1e-6, vanishing with rtol (tests/test_error_floor.py)
    F = m.state("mor_superactivation_fast", "dimensionless", 0.0,
                "fast production excess of the signalling tone (acute dependence; units of naive basal "
                "production), 0 drug-free and at any steady exposure; read-outs only (equation 2b)", error_floor=0.1)
    D = m.state("mor_signal_tone_fast", "dimensionless", 0.0,
                "signalling tone added by the fast production excess F, inhibited by the agonist like basal "
                "production; read-outs only (equation 2b)", error_floor=0.1)
    m.ode(F, k_f * (p * w_f * _positive_part(1 - (R + D) / M, delta) - F))
    m.ode(D, k_r * (F - (1 + S) * D))
    return D
