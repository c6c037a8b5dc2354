"""mood — a latent depressive state driven by μ/κ balance, inflammation, cortisol and social stress.

Latent mood (Demic & Cheng, PLoS ONE 2014;9:e110358): one variable M (0 = euthymic, ~1 = a
major depressive episode) with two stable states separated by an unstable threshold θ, moved by a
net depressogenic drive D:

    dM/dt = k_M · ( −c·M·(M − θ)·(M − 1) + D )

With c = 2 and θ = 0.5 the euthymic state disappears when D > 0.096 (an episode starts) and the
depressed state disappears when D < −0.096 (remission): hysteresis, so an episode outlasts the
stressor that started it (Demic & Cheng's bistability). The state starts at the drug-free steady
state of the person's resting drive: past the tipping point only the depressed state exists, so
such a person starts in an episode (:func:`drug_free_mood`). Antidepressants and placebo enter, as in
Demic & Cheng, as parameter changes on the dynamics — here as a drive reduction that builds up
over weeks through a first-order state (onset of antidepressant effects over 2–4 weeks).

Drive (each term 0 for a healthy adult at rest, so the resting state is M = 0 with no drift):

    D = u_trait + w_hist·depression_history + w_ela·early_life_adversity + w_ss·(0.5 − social_support)
        + w_il6·ln(IL-6/IL-6_ref) + w_cc·ln(central_cytokines_rel) + w_cort·(cortisol_rel − 1)
        − w_μ·(μ_endo − μ_rest·(1 − s_μ) + μ_drug·(1 − tolerance))
        + w_κ·(κ_endo − κ_rest·(1 − s_κ) + f_κ·κ_drug) − w_δ·(δ_endo − δ_rest·(1 − occ_δ))
        + w_nop·(nop_endo − nop_rest·(1 − occ_nop)) + w_wd·withdrawal + w_A·A − R

Set points of the opioid tones (twelfth session): each endogenous term is measured against the
resting tone of the receptors a drug does not hold *silently*, x_rest·(1 − s), with s = occupancy −
drug agonism (occupancy-equivalent; floored at 0) the drug-held receptors that do not signal —
all of an antagonist's occupancy, the unconverted part of a partial agonist's. A silent blocker
therefore takes the tonic tone and its set point away together (mood-neutral), and only departures
of the signal from the resting tone of the free receptors move mood: stress-, depression-,
withdrawal- and tolerance-recruited dynorphin (endogenous module) is depressogenic, and blocking it
antidepressant, while blocking the resting dynorphin tone of a person whose dynorphin is not raised
does nothing. Why: κ antagonists are antidepressant/anti-anhedonic where dynorphin is raised by
stress (Bruchas, Land & Chavkin, Brain Res 2010;1314:44; Knoll & Carlezon 2010; Carr & Lucki,
Psychopharmacology 2010;210:295) and have small clinical effects (Krystal et al., Nat Med
2020;26:760); naltrexone 50 mg/day for 8 weeks leaves healthy adults' mood unchanged (Malcolm et
al., Biol Psychiatry 1987;22:710). Receptors an agonist holds keep their set point (the agonist's
signal replaces the tone), so a tolerant heroin user's μ signal still falls below it (the OUD
deficit), and a drug's κ agonism stays depressogenic. Before, the whole resting κ tone counted:
any near-complete κ antagonist lowered the drive by w_κ·κ_rest·occupancy ≈ 0.14 in everyone.

* μ/κ balance: μ agonism (endogenous — scaled by the person's μ-receptor density, so lower μ
  availability goes with more depressive symptoms, Nummenmaa et al., Neuropsychopharmacology
  2020;45:1953 — and drug agonism net of tolerance) is antidepressant
  (low-dose buprenorphine in treatment-resistant depression, Karp et al., J Clin Psychiatry
  2014;75:e785; Yovell et al., Am J Psychiatry 2016;173:491); dynorphin/κ signalling is
  depressogenic and κ antagonism antidepressant (Knoll & Carlezon, Brain Res 2010;1314:56;
  aticaprant/JNJ-67953964 FAST-MAS, Krystal et al., Nat Med 2020;26:760); buprenorphine/samidorphan
  keeps κ antagonism while samidorphan blocks μ agonism (Fava et al., Am J Psychiatry 2016;173:499;
  Fava et al. 2020, PMC7303008); δ agonism antidepressant-like and NOP agonism depressogenic in
  animals (Peciña et al., Mol Psychiatry 2019;24:576 — seed 001 — for all of these).
* inflammation: IL-6 is raised in MDD (Dowlati et al., Biol Psychiatry 2010;67:446) and cytokine
  challenges induce depressed mood (seed 000; model-anchors §6.2). Central cytokines carry the
  signal to mood: peripheral cytokines induce brain IL-1β/TNF-α in microglia, and brain cytokines
  cause sickness behaviour and, when sustained, depression (Dantzer R et al., Nat Rev Neurosci
  2008;9:46). The glia module's ``central_cytokines_rel`` (microglial IL-1β/TNF-α relative to rest)
  therefore enters the drive as its own term — opioid (TLR4) and withdrawal-driven glial activation
  reach mood through it, and a glial modulator (ibudilast/minocycline-type) lowers it;
* cortisol: hypercortisolism in MDD (Stetler & Miller, Psychosom Med 2011;73:114);
* social stress: low social support and the acute negative affect A of rejection (seed 001).

Acute negative affect A (Hsu et al., Mol Psychiatry 2015;20:193: MDD patients recover more slowly
after rejection; μ-opioid release is thought to dampen social pain):

    dA/dt = g_A·rejection/(1 + b_A·release) − k_A·A·(1 + b_A·release)/(1 + r_M·max(M,0))

so less socially evoked μ release (``social_mu_release`` from the endogenous module) and a
depressed state both slow the recovery.

Read-outs (published ranges; mappings documented at each parameter):
MADRS (0–60) = MADRS_floor + (60 − floor)·(1 − exp(−s·M)) for M ≥ 0 — M = 1 ↔ MADRS ≈ 31, the
baseline of adjunctive trials — and floor·exp(s·(60 − floor)/floor·M) below the euthymic point
(continuous with a continuous slope at M = 0, tending to 0): a person whose drive sits below the
typical resting level scores below the typical euthymic MADRS. Sub-clinical symptom scores vary
continuously across healthy people (Nummenmaa et al. 2020 studied exactly this range), so the
read-outs must not clip them: clipping every M < 0 to the floor and the scale intercepts below
(BDI-II = 1.85·HAM-D − 5 was 0 for HAM-D < 2.7) gave most euthymic people a BDI-II of exactly 0.
HAM-D-17 (0–52) = 0.8·MADRS − 0.5 (linear equating; baseline MADRS ~30 ↔ HAM-D ~23–24), joined
below MADRS 2.5 by the line through the origin (0.6·MADRS); BDI-II (0–63) piecewise linear
through the equipercentile links HAM-D 10/20/30 ↔ BDI-II 13/32/50 (Furukawa et al., Epidemiol
Psychiatr Sci 2019;29:e24) and the origin, slope 1.8 above HAM-D 30; PHQ-9 (0–27) piecewise
linear through the origin and the moderate and moderately-severe anchors PHQ-9 10/15 (Kroenke et
al., J Gen Intern Med 2001;16:606) ↔ HAM-D 17/24 (Zimmerman et al., J Affect Disord
2013;150:384). The zero-to-zero segments are assumed (a person without symptoms on one scale has
none on the other). Equating between scales is a population-level approximation (Furukawa 2019
and Hawley et al., Int J Methods Psychiatr Res 2013 — individual translation is imprecise).

Interventions: drugs through the receptors module (buprenorphine, buprenorphine-samidorphan,
aticaprant, opioids); a conventional (monoaminergic) antidepressant as the parameter
``antidepressant_effect`` (drive reduction at full effect; 0.045 for an SSRI, calibrated so an
8-week SSRI vs placebo trial in depressed adults gives the MADRS drug–placebo difference on Cipriani
et al.'s dataset, Lancet 2018;391:1357: 2.99 points, Hengartner et al., PLoS ONE 2020;15:e0229381 —
opiaxis calibrate mood.antidepressant; the value lives in data/candidates.yaml);
trial participation (placebo/expectancy) as ``placebo_response``.
"""

from __future__ import annotations

from types import SimpleNamespace

import sympy as sp

from .immune import resting_levels
from ..model.core import Module, Variability


def drug_free_mood(m0, d0, c, th):
    """Initial latent state: the drug-free steady state of the person's resting drive ``d0``.

    With drive D the cubic −c·M(M − θ)(M − 1) + D has a euthymic stable state only while
    D ≤ D_up = c·max_{0≤M≤θ} M(M − θ)(M − 1) (0.096 for c = 2, θ = 0.5; the maximum is at
    M* = ((1 + θ) − √(1 − θ + θ²))/3). A person whose drug-free drive exceeds D_up has only the
    depressed state (Demic & Cheng 2014): at rest, before any opioid, they are in an episode —
    the same criterion ``validate.targets_mood.prevalence`` counts as a current episode. Starting
    such a person euthymic (as the model did: M = 0 for everyone) made the first weeks of every
    simulation a descent into an episode that an opioid started at time 0 pre-empted, so nobody
    with a depression history was depressed on opioid treatment. Between the two thresholds the
    state is bistable and history decides; the study setting ``mood_initial`` (0 by default) picks
    the branch. The depressed branch is placed at its linearisation about M = 1,
    M ≈ 1 + D/(c·(1 − θ)) (0.02 above the root at D = 0.1, 0.04 at D = 0.15; the dynamics relax the rest).
    The IL-6, cortisol and endogenous-opioid terms of the drive are 0 at rest by construction and
    left out here."""
    ms = ((1 + th) - sp.sqrt(1 - th + th ** 2)) / 3
    d_up = c * ms * (ms - th) * (ms - 1)
    depressed = 1 + d0 / (c * (1 - th))
    return sp.Piecewise((sp.Max(m0, depressed), d0 > d_up), (m0, True))


def madrs_from_latent(M, floor, slope):
    """MADRS from the latent state: floor + (60 − floor)·(1 − exp(−slope·M)) for M ≥ 0 and, below the
    euthymic point, floor·exp(k·M) with k = slope·(60 − floor)/floor, so value and slope are continuous
    at M = 0 and the score tends to 0 (not clipped at the floor: sub-clinical scores vary between people).
    Written with Max/Min rather than a Piecewise so each branch is evaluated only on its own side."""
    k = slope * (60 - floor) / floor
    return floor * sp.exp(k * sp.Min(M, 0)) + (60 - floor) * (1 - sp.exp(-slope * sp.Max(M, 0)))


def through_anchors(x, anchors, tail_slope):
    """Piecewise-linear scale equating through the origin and the (x, y) ``anchors`` (increasing), with
    ``tail_slope`` beyond the last anchor, as a sum of ramps s_0·x + Σ (s_i − s_(i−1))·max(x − x_i, 0);
    monotone, so a between-person ranking survives the equating; floored at 0 for x < 0."""
    xs = [0] + [a[0] for a in anchors]
    ys = [0] + [a[1] for a in anchors]
    slopes = [sp.Rational(ys[i + 1] - ys[i], xs[i + 1] - xs[i]) for i in range(len(anchors))] + [tail_slope]
    x = sp.Max(x, 0)
    y = slopes[0] * x
    for i in range(1, len(slopes)):
        y += (slopes[i] - slopes[i - 1]) * sp.Max(x - xs[i], 0)
    return y


def tone_above_set_point(signal, rest, occupancy, agonism=0):
    """An endogenous receptor signal less the resting tone of the receptors a drug does not hold
    silently: ``signal − rest·(1 − max(occupancy − agonism, 0))`` (module docstring, "Set points").
    0 at rest and under a pure antagonist in a person whose peptide tone is at rest; positive when
    the peptide is raised, negative when it falls or when an agonist holds receptors without
    replacing their tone."""
    return signal - rest * (1 - sp.Max(occupancy - agonism, 0))


def _drive_parameters(m: Module) -> SimpleNamespace:
    """Parameters of the latent mood dynamics and of each depressogenic drive."""
    """Dynamics."""
    k_m = m.parameter("mood_rate", 1 / 168, "1/h",
                      "assumed: depressive states build and resolve over weeks (Demic & Cheng 2014 time "
                      "scale; antidepressant and placebo responses unfold over 2–6 weeks in trials)")
    c = m.parameter("mood_cubic_gain", 2.0, "dimensionless",
                    "assumed: Demic & Cheng 2014 bistable form; sets the hysteresis width (±0.048·c)")
    th = m.parameter("mood_threshold", 0.5, "dimensionless",
                     "assumed: separatrix midway between euthymic (0) and depressed (1) states")
    u = m.parameter("mood_trait_offset", 0.0, "dimensionless",
                    "calibrated: between-person SD of the resting drive fitted to a general-population "
                    "12-month MDD prevalence of 6.6% (Kessler et al., JAMA 2003;289:3095, NCS-R) — see "
                    "validate/targets_mood.py and data/calibration.yaml", variability=Variability("normal", 0.0375),
                    description="between-person vulnerability not explained by the covariates")
    w_hist = m.parameter("mood_weight_history", 0.05, "dimensionless",
                         "assumed: a past episode is the strongest predictor of the next (recurrence risk "
                         "~50% after one episode, Burcusa & Iacono, Clin Psychol Rev 2007;27:959)")
    w_ela = m.parameter("mood_weight_adversity", 0.04, "dimensionless",
                        "assumed: ACE ≥ 4 roughly quadruples depression risk (Felitti et al., Am J Prev Med "
                        "1998;14:245); smaller than history")
    w_ss = m.parameter("mood_weight_social_support", 0.04, "dimensionless",
                       "assumed: low social support raises depression risk (seed 001; Hsu 2015 introduction)")
    w_il6 = m.parameter("mood_weight_il6", 0.015, "dimensionless",
                        "assumed: a 7-fold IL-6 rise adds a third of the episode threshold (Dowlati 2010 "
                        "effect sizes; endotoxin mood effects modest, model-anchors §6.2)")
    il6_ref = m.parameter("mood_il6_reference", resting_levels()["il6"], "pg/mL",
                          "computed: resting IL-6 of the immune module (Dobreva et al. 2021 baseline with basal LPS), so the term is 0 in a drug-free person at rest")
    w_cc = m.parameter("mood_weight_central_cytokines", 0.015, "dimensionless",
                       "assumed: equal per e-fold to the IL-6 weight (mood_weight_il6). Brain IL-1β/TNF-α "
                       "are the mediators through which peripheral inflammation induces sickness behaviour "
                       "and depressed mood (Dantzer et al., Nat Rev Neurosci 2008;9:46); no human dose–response "
                       "for brain cytokines exists, so the peripheral weight is reused; not fitted")
    w_cort = m.parameter("mood_weight_cortisol", 0.05, "dimensionless",
                         "assumed: sustained hypercortisolism depressogenic (Stetler & Miller 2011), modest weight")
    w_mu = m.parameter("mood_weight_mu", 0.6, "dimensionless",
                       "calibrated: μ-agonism weight (antidepressant); jointly with the κ weight to the "
                       "adjunctive BUP/SAM 2/2 mg trial effect (Fava 2016; Fava 2020) — see targets_mood.py")
    w_k = m.parameter("mood_weight_kappa", 0.7, "dimensionless",
                      "calibrated: κ-signalling weight (depressogenic); jointly with the μ weight to the "
                      "BUP/SAM trial effect (Fava 2016; 2020)")
    f_k = m.parameter("mood_kappa_drug_expression", 0.2, "dimensionless",
                      "assumed: fraction of a drug's in-vitro κ partial agonism expressed in mood; the only "
                      "drug in the library with κ efficacy > 0 is samidorphan (0.3, assumed in drugs.yaml), "
                      "and no κ-agonist dysphoria is reported in samidorphan trials (Fava 2016; Lybalvi label)")
    w_d = m.parameter("mood_weight_delta", 0.2, "dimensionless",
                      "assumed: δ agonism antidepressant-like in animals (seed 001), weaker than μ")
    w_n = m.parameter("mood_weight_nop", 0.3, "dimensionless",
                      "assumed: NOP agonism depressogenic, NOP antagonists antidepressant-like (seed 001)")
    w_wd = m.parameter("mood_weight_withdrawal", 0.3, "dimensionless",
                       "assumed: withdrawal dysphoria (Koob 2008); full withdrawal (signal 1) tips an episode")
    w_a = m.parameter("mood_weight_affect", 0.05, "dimensionless",
                      "assumed: a single rejection episode moves the latent state little")
    mu_rest = m.parameter("mood_mu_rest", 0.1 / 1.1, "dimensionless",
                          "resting endogenous μ agonism x0/(1+x0) (endogenous module)")
    k_rest = m.parameter("mood_kappa_rest", 0.25 / 1.25, "dimensionless", "resting dynorphin κ agonism (endogenous module)")
    d_rest = m.parameter("mood_delta_rest", 0.15 / 1.15, "dimensionless", "resting enkephalin δ agonism (endogenous module)")
    n_rest = m.parameter("mood_nop_rest", 0.15 / 1.15, "dimensionless", "resting N/OFQ NOP agonism (endogenous module)")
    return SimpleNamespace(k_m=k_m, c=c, th=th, u=u, w_hist=w_hist, w_ela=w_ela, w_ss=w_ss, w_il6=w_il6, il6_ref=il6_ref, w_cc=w_cc, w_cort=w_cort, w_mu=w_mu, w_k=w_k, f_k=f_k, w_d=w_d, w_n=w_n, w_wd=w_wd, w_a=w_a, mu_rest=mu_rest, k_rest=k_rest, d_rest=d_rest, n_rest=n_rest)


def _treatment_response(m: Module):
    """Antidepressant and placebo response, built up over weeks; returns its state."""
    ad = m.parameter("antidepressant_effect", 0.0, "dimensionless",
                     "intervention parameter: drive reduction of a conventional antidepressant at full effect "
                     "(0 = none; an SSRI/SNRI: calibrated 0.045, the SSRI candidate's setting in data/candidates.yaml, "
                     "to an 8-week drug–placebo difference of 2.99 MADRS points on Cipriani et al.'s dataset, Lancet "
                     "2018;391:1357 — Hengartner et al., PLoS ONE 2020;15:e0229381; data/calibration.yaml)")
    pla = m.parameter("placebo_response", 0.0, "dimensionless",
                      "intervention parameter: drive reduction from trial participation/expectancy (0 outside "
                      "trials); targets_mood.py draws it per patient")
    k_ad = m.parameter("antidepressant_onset_rate", 0.693 / 240, "1/h",
                       "assumed: antidepressant and placebo effects build with t½ ~10 d (response over 2–4 weeks)")
    R = m.state("antidepressant_response", "dimensionless", 0.0, "built-up antidepressant/placebo drive reduction")
    m.ode(R, k_ad * (ad + pla - R))
    return R


def _affect_parameters(m: Module) -> tuple:
    """Parameters of acute negative affect (social pain) and the mood state's initial value."""
    """Acute negative affect."""
    g_a = m.parameter("affect_rejection_gain", 2.0, "1/h",
                      "assumed: negative affect rises to ~0.5 during a 30-min rejection challenge")
    k_a = m.parameter("affect_recovery_rate", 2.0, "1/h",
                      "assumed: healthy emotional recovery after social feedback t½ ~20 min")
    b_a = m.parameter("affect_opioid_buffer", 2.0, "dimensionless",
                      "assumed: μ-opioid release dampens social pain and speeds recovery (Hsu 2013; 2015)")
    r_m = m.parameter("affect_rumination", 1.0, "dimensionless",
                      "assumed: the depressed state halves the recovery rate (Hsu 2015: slower recovery in MDD)")
    m0 = m.parameter("mood_initial", 0.0, "dimensionless",
                     "study setting: initial latent state (0 euthymic; ~1.1 for a patient in a current episode); "
                     "a person whose drug-free drive leaves no euthymic state starts depressed regardless")
    return g_a, k_a, b_a, r_m, m0


def build(drugs=None) -> Module:
    m = Module("mood", __doc__)
    ago = m.input("mor_agonism_central", "dimensionless", 0.0, "receptors module (0 without drugs)")
    kago = m.input("kor_agonism", "dimensionless", 0.0, "receptors module (0 without drugs)")
    mocc = m.input("mor_occupancy_central", "dimensionless", 0.0, "receptors module (0 without drugs)")
    kocc = m.input("kor_occupancy", "dimensionless", 0.0, "receptors module (0 without drugs)")
    docc = m.input("dor_occupancy", "dimensionless", 0.0, "receptors module (0 without drugs)")
    nocc = m.input("nop_occupancy", "dimensionless", 0.0, "receptors module (0 without drugs)")
    tol = m.input("tolerance_level", "dimensionless", 0.0, "adaptation module (0 when absent)")
    il6 = m.input("il6_plasma", "pg/mL", resting_levels()["il6"], "immune module (its resting IL-6 when absent)")
    cort = m.input("cortisol_rel", "dimensionless", 1.0, "hpa module (healthy baseline 1 when absent)")
    ccy = m.input("central_cytokines_rel", "dimensionless", 1.0,
                  "glia module: central IL-1β/TNF-α relative to rest (1 at rest and when absent)")
    wd = m.input("withdrawal_signal", "dimensionless", 0.0, "adaptation module (0 when absent)")
    mu_e = m.input("mor_endogenous_signal", "dimensionless", 0.1 / 1.1,
                   "endogenous module: receptor density × endogenous μ occupancy (resting value x0/(1+x0) for a "
                   "person of typical density when absent)")
    k_e = m.input("kor_endogenous_agonism", "dimensionless", 0.25 / 1.25,
                  "endogenous module (resting value when absent)")
    d_e = m.input("dor_endogenous_agonism", "dimensionless", 0.15 / 1.15,
                  "endogenous module (resting value when absent)")
    n_e = m.input("nop_endogenous_agonism", "dimensionless", 0.15 / 1.15,
                  "endogenous module (resting value when absent)")
    rel = m.input("social_mu_release", "dimensionless", 0.0, "endogenous module (0 when absent)")
    rej = m.input("social_rejection", "dimensionless", 0.0, "endogenous module social event state (0 when absent)")

    dep = m.input("depression_history", "dimensionless", 0.0,
                  "covariate (population/covariates.py); 0 for a healthy adult without depression history")
    ela = m.input("early_life_adversity", "dimensionless", 0.0,
                  "covariate (population/covariates.py); 0 for a healthy adult without ACE >= 4")
    ss = m.input("social_support", "dimensionless", 0.5,
                 "covariate (population/covariates.py); 0.5 = average support (score 0-1)")
    q = _drive_parameters(m)
    R = _treatment_response(m)
    g_a, k_a, b_a, r_m, m0 = _affect_parameters(m)
    trait = q.u + q.w_hist * dep + q.w_ela * ela + q.w_ss * (0.5 - ss)
    M = m.state("mood_state", "dimensionless", drug_free_mood(m0, trait, q.c, q.th),
                "latent depressive state (0 euthymic, ~1 major depressive episode)", nonnegative=False)
    A = m.state("negative_affect", "dimensionless", 0.0, "acute negative affect (social pain)")
    Mp = sp.log(1 + sp.exp(20 * M)) / 20  # smooth max(M, 0)
    m.ode(A, g_a * rej / (1 + b_a * rel) - k_a * A * (1 + b_a * rel) / (1 + r_m * Mp))

    mu_drug = ago * (1 - tol)
    mu_net = tone_above_set_point(mu_e, q.mu_rest, mocc, ago) + mu_drug
    kappa_net = m.assign("kappa_mood_signal", tone_above_set_point(k_e, q.k_rest, kocc, kago) + q.f_k * kago,
                         "dimensionless", "κ signalling that enters mood: dynorphin signal above the resting tone of "
                         "the receptors drugs do not hold silently, plus the drug's expressed κ agonism",
                         interface=True)
    drive = m.assign(
        "mood_drive",
        trait + q.w_il6 * sp.log(il6 / q.il6_ref)
        + q.w_cc * sp.log(ccy) + q.w_cort * (cort - 1) - q.w_mu * mu_net + q.w_k * kappa_net
        - q.w_d * tone_above_set_point(d_e, q.d_rest, docc) + q.w_n * tone_above_set_point(n_e, q.n_rest, nocc)
        + q.w_wd * wd + q.w_a * A - R,
        "dimensionless", "net depressogenic drive D")
    m.ode(M, q.k_m * (-q.c * M * (M - q.th) * (M - 1) + drive))
    m.assign("mu_kappa_balance", mu_net - kappa_net, "dimensionless",
             "μ minus κ signalling as it enters mood (each net of its set point)", interface=True)

    _scales(m, M)
    m.assign("mood_depressed", sp.Piecewise((1.0, M > q.th), (0.0, True)), "dimensionless",
             "1 when the latent state is past the separatrix (current episode)")
    return m


def _scales(m: Module, M) -> None:
    """Clinical scales from the latent state (MADRS, then HAM-D-17, BDI-II and PHQ-9 by equating)."""
    floor = m.parameter("madrs_floor", 2.0, "dimensionless",
                        "assumed: euthymic adults score ~0–4 on the MADRS (remission ≤ 10)")
    s_m = m.parameter("madrs_slope", 0.7, "dimensionless",
                      "assumed: maps M = 1 to MADRS ≈ 31, the baseline of adjunctive MDD trials (Fava 2016)")
    madrs = m.assign("madrs", madrs_from_latent(M, floor, s_m), "dimensionless",
                     "Montgomery–Åsberg Depression Rating Scale (0–60)", interface=True)
    hamd = m.assign("hamd", sp.Min(through_anchors(madrs, ((2.5, 1.5),), 0.8), 52),
                    "dimensionless", "HAM-D-17 (0–52), linear equating from MADRS (baseline MADRS ~30 ↔ HAM-D "
                    "~23–24), through the origin below MADRS 2.5", interface=True)
    m.assign("bdi", sp.Min(through_anchors(hamd, ((10, 13), (20, 32), (30, 50)), 1.8), 63), "dimensionless",
             "BDI-II (0–63) via Furukawa et al. 2019 equipercentile anchors and the origin", interface=True)
    m.assign("phq9", sp.Min(through_anchors(hamd, ((17, 10), (24, 15)), 5 / 7), 27), "dimensionless",
             "PHQ-9 (0–27) via Kroenke 2001 / Zimmerman 2013 severity anchors and the origin", interface=True)
