"""hpa — CRH, ACTH and cortisol with gland masses (weeks-scale HPA dynamics).

Equations: the gland-mass model of Karin O, Raz M, Tendler A, Bar A, Korem Kohanim Y, Milo T,
Alon U. *A new model for the HPA axis explains dysregulation of stress hormones on the timescale
of weeks.* Mol Syst Biol 2020;16:e9510 (also used by Milo T et al., Mol Syst Biol 2025;21:254),
written in hours and normalised so that the healthy, unstressed steady state is 1 for every
variable (production constants equal removal constants, b_i = a_i):

    dx1/dt = a1·( u·MR(x_f)·GR(x_f) − x1 )                    CRH (hypothalamus)
    dx2/dt = a2·( P·x1·GR(x_f) − x2 )                         ACTH (pituitary)
    dx3/dt = a3·( A·x2 − x3 )                                 cortisol (adrenal)
    dx_f/dt = k_f·( x3 − x_f )                                cortisol as the feedback sites see it
    dP/dt  = aP·P·(x1 − 1)                                    corticotroph functional mass
    dA/dt  = aA·A·(x2 − 1)                                    adrenal-cortex functional mass
    MR(x3) = (1+ε)/(x3+ε)  (Karin: 1/x3; ε regularises x3→0)
    GR(x3) = (1 + K_GR^−3)/(1 + (x3/K_GR)^3)                  normalised to 1 at x3 = 1

Karin's feedback reads plasma cortisol instantaneously. Here it reads x_f, cortisol through a first-order
lag (t½ 30 min; added 2026-11-30, twelfth session): glucocorticoid feedback on ACTH secretion is delayed —
in adrenalectomised dogs, step infusions of cortisol had no effect on ACTH secretion for about 20 min and
their full effect within 1 h, with no fast rate-sensitive component (dog step-infusion study, abstract read;
the time domains of fast, delayed and slow feedback: Keller-Wood ME & Dallman MF, Endocr Rev 1984;5:1), and
in normal men a steady physiological cortisol level did not hold ACTH down once its rise had stopped
("Negative, rate-sensitive feedback effects on adrenocorticotrophin secretion by cortisol in normal
subjects", cortisol infusions; abstract read, journal not recorded). On the weeks
scale x_f ≈ x3 and Karin's dynamics are unchanged; on the hours scale a cortisol excess that outlives its
drive (naloxone-precipitated withdrawal, pred.hpa.naloxone_mmt) no longer pushes ACTH below its course at
once. Left out: the brief rate-sensitive fast feedback (minutes; Carroll BJ et al., "Fast feedback inhibition of ACTH
secretion by endogenous cortisol in humans", Karger 2019, record read: onset ~4 min after cortisol
secretion starts, duration ~7.5 min).

Because the glands grow when their input hormone is above its set point and shrink below it,
the axis shows dynamical compensation: under a sustained drive u, CRH and ACTH return to their
set points over weeks while cortisol settles at ≈ u; after the drive ends, the enlarged (or
atrophied) glands take weeks to recover. That is what makes HPA recovery in abstinence take
weeks, and what lets methadone-stabilised patients have low cortisol with normal ACTH.

Drive (the opioid- and inflammation-specific part; assumptions, see parameter sources)::

    u = (u_c(h) + (g_wd·W_eff + g_cyt·max(cytokine excess, 0))·OT^(−e_ot)) · (1 − s(F)·ago·(1 − f_tol·T))
        · (1 + g_endo·(δ − f_ad·D_ad)) · (1 + g_dep·M⁺),   δ = max(1 − (μ_endo + ago)/μ_endo,rest, 0)
    u_c(h) = 1 + a_c·cos(2π(h − 06:30)/24)      circadian (SCN) drive, daily mean 1
    W_eff = max(W − f_hab·Hb, 0),  dHb/dt = k_hab·(W − Hb)   habituation to sustained withdrawal
    s(F) = Imax + (1 − Imax)·f_n·(1 − F)         suppression at full agonism: naive 0.9 … tolerant 0.6
    dF/dt = k_on·ago·(1 − F) − k_off·F          fast (days) loss of the naive sensitivity
    dT/dt = k_T·(ago − T)                       slow tolerance of the opioid suppression
    dD_ad/dt = k_ad·(δ − D_ad)                  adaptation to a sustained μ-signal deficit

Circadian clock. Karin 2020's model is driven by a circadian input u(t); here the clock hour h is an
explicit function of the time elapsed since the simulation started (a state τ with dτ/dt = 1, which
the solver integrates exactly): h = clock_offset + τ (mod 24), with ``clock_offset`` the hour of day
at t = 0 (08:00 assumed), so sampling times in studies mean clock times: t = k·24 h is 08:00.
Withdrawal and cytokines add an *arrhythmic* stress drive to the rhythmic one, which raises the
evening nadir more than the morning peak — the flattened cortisol rhythm of stress and withdrawal
(assumed form; flattened diurnal
cortisol slopes under chronic stress are a common finding, and disturbed cortisol/ACTH rhythms in
heroin addicts were reported by Facchinetti F et al., 1985 — recalled, UNCONFIRMED). The drug-free
periodic rest orbit (gland masses where the *daily means* of CRH and ACTH are at their set points)
is found by a shooting solve at import and stored as a Fourier series over the clock angle: it gives
every state's start at any clock_offset, and the healthy same-hour levels that the ``*_rel``
read-outs divide by (so downstream modules, built on relative cortisol with a healthy value 1, see
exactly 1 at rest at every hour). The orbit is computed at the default values of a1–a3, K_GR, ε and
a_c; a person with other values of these starts slightly off it (a transient of hours for the
hormones). Habituation: the hypothalamic response to a sustained, homotypic stressor habituates over
days (Grissom & Bhatnagar 2009), so the acute withdrawal surge drives the axis while the tail of
withdrawal on days 3–7 drives it little — which leaves the heroin-atrophied adrenal (A) to set
early-abstinence cortisol, and its recovery over weeks makes cortisol rise while ACTH falls
(hpa.abstinence30, Karin's ACTH/cortisol dissociation).

* endogenous opioid tone restrains the axis: β-endorphin/enkephalin μ signalling tonically
  inhibits CRH release, so removing it (an antagonist in an opioid-free person) disinhibits the
  PVN and ACTH and cortisol rise (naloxone/naltrexone challenges in healthy volunteers; e.g.
  Lovallo et al., PLoS One 2018;13:e0205723, oral naltrexone 50 mg; Kreek-laboratory IV
  naltrexone/nalmefene 10 mg, Hum Psychopharmacol, PMC11372649). The term acts only on a
  *deficit* of total μ signalling (endogenous + drug agonism) below the person's resting
  endogenous level, so an agonist that displaces endogenous peptides but signals itself does not
  disinhibit (its excess signalling is the suppression term above). Under sustained antagonism the
  disinhibition adapts (D_ad, days), as μ receptors up-regulate and become supersensitive during
  chronic antagonist treatment (Tempel, Gardner & Zukin, J Pharmacol Exp Ther 1985;232:439 —
  rat, recalled); without it the gland-mass dynamics would turn a month of naltrexone or
  samidorphan into a lasting hypercortisolism, which is not reported. The adaptation leaves an
  acute (hours) challenge unchanged and gives a transient supersensitivity when the antagonist
  stops.

* μ agonism suppresses CRH release (opioid inhibition of the PVN: Kreek's studies of heroin
  addicts; Vuong C et al., Endocr Rev 2010;31:98 review). The suppression fades with months of
  stable agonism (tolerance T), so methadone- or buprenorphine-maintained patients normalise
  (Kreek MJ, 1973; Nava F et al. 2006).
* acute vs chronic suppression (2026-11-30). In opioid-naive people therapeutic morphine all but
  stops cortisol secretion: 2.5 mg IV suppressed cortisol over 3 h in healthy volunteers (Zis et al.,
  Psychiatry Res 1985;15:91), morphine suppresses early-morning ACTH release (McDonald et al., J
  Pharmacol Exp Ther 1959;125:241), and three days of morphine left cortisol undetectable (case report,
  Endocrinol Diabetes Metab Case Rep). The calibrated Imax (0.6) describes people who have taken
  opioids daily for weeks — every HPA calibration target (hpa.withdrawal, hpa.abstinence30,
  hpa.mat12m) is there. A naive person has an extra sensitivity (f_n: 0.9 at full agonism, assumed)
  that days of use remove (F, t½ 1 d at full agonism, assumed from the days-scale HPA tolerance to
  repeated morphine in rats, Ignar & Kuhn 1990, recalled) and weeks without opioid restore (t½ 30 d,
  assumed). With daily use F ≥ 0.9, so s is within 0.04 of Imax and the chronic calibration holds; the
  slow, partial tolerance T (months) then normalises maintained patients. Acute morphine 5 mg IV at
  09:30 lowers cortisol to 0.68 of placebo at 180 min (held-out pred.hpa.morphine_acute, Zis et al.,
  Psychoneuroendocrinology 1984;9:423: ≤ 0.7; was 0.80) — scored after the values were set.
* withdrawal (the ``withdrawal_signal`` of the adaptation module) activates the axis
  (Am J Drug Alcohol Abuse 2008, doi:10.1080/00952990802385781).
* a depressive state drives CRH release: CSF CRH is raised in major depression (Nemeroff CB et al.,
  Science 1984;226:1342) and cortisol is higher in depressed than in healthy people (meta-analysis:
  Stetler C & Miller GE, Psychosom Med 2011;73:114; HPA hyperactivity in depression, Pariante CM &
  Lightman SL, Trends Neurosci 2008;31:464). M⁺ is the positive part of the mood module's latent
  state (0 euthymic, ~1 in an episode; exactly 0 in a typical drug-free person, who stays at rest).
  With cortisol → mood (mood module) this closes the loop by which negative affect and the axis feed
  each other; it is what makes people in a worse affective state in protracted abstinence have
  higher cortisol — the positive cortisol–craving (and cortisol–depression, cortisol–anxiety)
  correlation across heroin users in the first month of abstinence (Shi J et al., Am J Drug Alcohol
  Abuse 2009;35:267, hpa.abstinence30) — since negative affect and craving share their drivers.
* circulating IL-6 and TNF-α activate CRH release (Bangsgaard et al. 2017 ITIS model;
  Windoloski et al. 2022 LPS–HPA model: cytokine → CRH stimulation).
* central oxytocin buffers the stress drives (added 2026-11-30, eleventh session): the withdrawal and
  cytokine terms — the stressors' part of the drive — are scaled by OT^(−e_ot), with OT the oxytocin
  module's ``oxytocin_tone`` (1 healthy; endogenous + intranasal). Oxytocin released in the PVN
  inhibits stress activation of CRH neurons through local GABA neurons (Smith et al.,
  Psychoneuroendocrinology 2016;63:50, prairie vole: intra-PVN oxytocin before a stressor blocked the
  CRH-neuron activation and corticosterone rise); in men intranasal oxytocin with social support gave
  the lowest cortisol response to the Trier Social Stress Test (Heinrichs et al., Biol Psychiatry
  2003;54:1389), and across 18 placebo-controlled trials (N 675) it lowered the cortisol response
  only where the task stimulated the axis robustly (Hedges g −0.43, 95% CI −0.84 to −0.03; overall
  −0.15, n.s.: Cardoso, Kingdon & Ellenbogen, Psychoneuroendocrinology 2014;49:161); oxytocin also
  blunted the ACTH and cortisol rise after endotoxin in men (Clodi et al., Am J Physiol Endocrinol
  Metab 2008;295:E686; abstract read, ECE 2008 OC1.9). Acting on the stress terms only, it leaves the
  circadian (basal) drive alone — the meta-analytic effect is confined to stimulated axes — so a
  drug-free person at rest, whatever their tone, does not move. Left out: the inhibition of
  corticotrophs by plasma oxytocin, which IV infusions reaching ~10× normal plasma levels show as a
  fall of basal ACTH and cortisol in men (Legros et al., Acta Endocrinol 1987;114:345; the dose–
  response of plasma oxytocin vs ACTH and cortisol during infusion in normal men, Legros et al., J
  Clin Endocrinol Metab, abstract read) and intranasal doses do not reach.

Read-outs: ``crh_rel``, ``acth_rel``, ``cortisol_rel`` (relative to a healthy person's at the same
clock hour: 1 at rest) and absolute ``cortisol_plasma`` (nmol/L) and ``acth_plasma`` (pg/mL) at the
clock hour of the sample (``cortisol_baseline``/``acth_baseline`` are the healthy 08:00 values).
Left out: ultradian pulses, a skewed (non-sinusoidal) circadian waveform — with one harmonic the
cortisol nadir falls in the early evening rather than near midnight — and the brain-cortisol
compartment of Milo 2025.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp

from ..model.core import Module, lognormal
from .immune import resting_levels
from .reward import positive_part

KARIN = "Karin et al., Mol Syst Biol 2020;16:e9510"
DAY_H = 24.0
# Rest-orbit constants shared by the module's parameters and the periodic rest state computed below
# (one source for each number; the parameters cite them).
REST = {"a1": 0.17 * 60, "a2": 0.035 * 60, "a3": 0.0086 * 60, "aP": 0.6931 / (20 * 24), "aA": 0.6931 / (30 * 24),
        "kgr": 4.0, "eps": 0.05, "amp": 0.9, "kfb": 0.6931 / 0.5}
# Clock hour of the circadian CRH drive's peak (06:30: assumed so that cortisol, with its 80-min half-life
# and feedback, peaks near 08:00 as in healthy day curves, Debono et al., J Clin Endocrinol Metab
# 2009;94:1548, recalled). The drive's angle is measured from this peak (clock_elapsed_time +
# clock_offset − peak), which keeps the drive a plain cos and the rest orbit independent of it.
DRIVE_PEAK_H = 6.5
CLOCK_OFFSET_H = 8.0      # hour of day at t = 0 (assumed; see the parameter's source)
MORNING_H = 8.0           # clock hour of the "morning sample" that cortisol_baseline / acth_baseline describe
N_HARMONICS = 24


def _rest_rhs(t, y, q):
    """Drug-free HPA right-hand side with the circadian drive at clock hour t (the module's ODEs at rest)."""
    x1, x2, x3, P, A, xf = y
    u = 1 + q["amp"] * np.cos(2 * np.pi * t / DAY_H)   # t: hours since the drive's daily peak
    gr = (1 + q["kgr"] ** -3) / (1 + (xf / q["kgr"]) ** 3)
    mr = (1 + q["eps"]) / (xf + q["eps"])
    return [q["a1"] * (u * mr * gr - x1), q["a2"] * (P * x1 * gr - x2), q["a3"] * (A * x2 - x3),
            q["aP"] * P * (x1 - 1), q["aA"] * A * (x2 - 1), q["kfb"] * (x3 - xf)]


@lru_cache(maxsize=4)
def rest_orbit(items: tuple = tuple(sorted(REST.items()))) -> np.ndarray:
    """Fourier coefficients (6 states × (1 + 2K)) of the drug-free periodic rest state over the
    clock angle since the drive's peak (hours since DRIVE_PEAK_H).

    The gland masses settle where the daily means of CRH and ACTH are exactly their set points
    (Karin's dP/dt ∝ x1 − 1), so with a rhythm P and A at rest are not 1; a shooting solve for the
    24-h periodic orbit gives the values a healthy person starts from at any clock time."""
    from scipy.integrate import solve_ivp
    from scipy.optimize import fsolve
    q = dict(items)
    fast = dict(q, aP=0.05, aA=0.05)   # accelerated glands: a good first guess in 60 simulated days
    y = solve_ivp(_rest_rhs, (0, 60 * DAY_H), [1, 1, 1, 1, 1, 1], args=(fast,), method="LSODA",
                  rtol=1e-10, atol=1e-12).y[:, -1]

    def shoot(y0):
        return solve_ivp(_rest_rhs, (0, DAY_H), y0, args=(q,), method="LSODA", rtol=1e-12, atol=1e-14).y[:, -1] - y0

    y0 = fsolve(shoot, y, xtol=1e-13)
    hours = np.arange(0, DAY_H, DAY_H / 256)
    Y = solve_ivp(_rest_rhs, (0, DAY_H), y0, args=(q,), method="LSODA", t_eval=hours, rtol=1e-12, atol=1e-14).y
    F = np.fft.rfft(Y, axis=1) / len(hours)
    K = N_HARMONICS
    return np.concatenate([F[:, :1].real, 2 * F[:, 1:K + 1].real, -2 * F[:, 1:K + 1].imag], axis=1)


def rest_value(coef_row: np.ndarray, cos_t, sin_t):
    """Evaluate one rest-orbit Fourier series at clock angle θ given cos θ and sin θ (NumPy or SymPy).

    On the unit circle cos kθ = T_k(cos θ) and sin kθ = sin θ·U_{k−1}(cos θ) (Chebyshev polynomials), so
    the series is p(cos θ) + sin θ·q(cos θ) with two polynomials in Horner form: a flat expression
    whose derivatives stay small (no inverse trigonometry, no nested angle-addition recurrences)."""
    from numpy.polynomial import chebyshev as C
    K = N_HARMONICS
    p = C.cheb2poly(np.concatenate([[coef_row[0]], coef_row[1:K + 1]]))
    # Σ b_k U_{k−1}(x): U_n = (T_n − T_{n+2})/2 summed → express in the monomial basis via U recurrence
    q = np.zeros(K)
    u_prev, u_cur = np.zeros(K), np.zeros(K)
    u_cur[0] = 1.0                                   # U_0 = 1
    for k in range(1, K + 1):
        q += coef_row[K + k] * u_cur
        u_next = np.zeros(K)
        u_next[1:] = 2 * u_cur[:-1]
        u_next -= u_prev
        u_prev, u_cur = u_cur, u_next
    return _horner(p, cos_t) + sin_t * _horner(q, cos_t)


def _horner(c: np.ndarray, x):
    total = float(c[-1])
    for a in c[-2::-1]:
        total = total * x + float(a)
    return total


def _gland_parameters(m: Module) -> tuple:
    """Gland kinetics (Karin 2020): hormone removal, gland-mass turnover, GR/MR constants."""
    a1 = m.parameter("hpa_crh_removal_rate", REST["a1"], "1/h",
                     f"{KARIN} (a1 = 0.17 /min: CRH half-life ≈ 4 min), converted to hours")
    a2 = m.parameter("hpa_acth_removal_rate", REST["a2"], "1/h",
                     f"{KARIN} (a2 = 0.035 /min: ACTH half-life ≈ 20 min), converted to hours")
    a3 = m.parameter("hpa_cortisol_removal_rate", REST["a3"], "1/h",
                     f"{KARIN} (a3 = 0.0086 /min: cortisol half-life ≈ 80 min), converted to hours")
    aP = m.parameter("hpa_corticotroph_turnover", REST["aP"], "1/h",
                     f"{KARIN}; Milo et al., Mol Syst Biol 2025;21:254 (corticotroph turnover ≈ 20 d, "
                     "aP = bP = ln2/20 per day)", variability=lognormal(0.3),
                     description="pituitary corticotroph mass turnover rate")
    aA = m.parameter("hpa_adrenal_turnover", REST["aA"], "1/h",
                     f"{KARIN}; Milo et al. 2025 (adrenal cortex turnover ≈ 30 d, aA = bA = ln2/30 per day)",
                     variability=lognormal(0.3), description="adrenal cortex functional-mass turnover rate")
    kgr = m.parameter("hpa_gr_k", REST["kgr"], "dimensionless",
                      f"{KARIN} (glucocorticoid-receptor feedback half-point K_GR = 4 × baseline cortisol, Hill 3)")
    eps = m.parameter("hpa_mr_regularisation", REST["eps"], "dimensionless",
                      "assumed: numerical regularisation of Karin's MR(x3) = 1/x3 at x3 → 0; changes "
                      "MR by < 5% in the physiological range")
    return a1, a2, a3, aP, aA, kgr, eps


def _drive_parameters(m: Module) -> tuple:
    """The hypothalamic drive: μ suppression and its tolerance, withdrawal, cytokines, endogenous restraint, antagonist adaptation, depression."""
    imax = m.parameter("hpa_opioid_suppression_max", 0.6, "dimensionless",
                       "calibrated: maximal fractional suppression of hypothalamic drive by full μ agonism once the "
                       "fast (days) tolerance of the naive response is complete (every calibration target is weeks "
                       "into daily use, where it is), set so methadone stabilisation lowers cortisol with ACTH normal (hpa.withdrawal, "
                       "Am J Drug Alcohol Abuse 2008) and chronic heroin use leaves the adrenal atrophied "
                       "(hpa.abstinence30)", variability=lognormal(0.3), upper=0.95,
                       description="opioid inhibition of CRH release at full μ agonism")
    ktol = m.parameter("hpa_opioid_tolerance_rate", 0.6931 / (120 * 24), "1/h",
                       "calibrated: tolerance of the HPA suppression with t½ ≈ 120 d, so that 12 months of "
                       "methadone or buprenorphine normalise cortisol (Nava et al. 2006; hpa.mat12m) while "
                       "early stabilisation still lowers it (hpa.withdrawal)", variability=lognormal(0.4),
                       description="rate at which the HPA axis becomes tolerant to μ suppression")
    ftol = m.parameter("hpa_opioid_tolerance_max", 0.7, "dimensionless",
                       "assumed: tolerance to opioid HPA suppression is partial (70%), so chronic use keeps the "
                       "adrenal partly atrophied while stabilised methadone patients approach normal (Kreek)", upper=1.0)
    gwd = m.parameter("hpa_withdrawal_gain", 6.0, "dimensionless",
                      "calibrated: CRH drive per unit (unhabituated) withdrawal_signal, set so acute withdrawal "
                      "raises 08:00 cortisol above controls (hpa.withdrawal). Re-calibrated 2.5 → 6 when the drive "
                      "became circadian (withdrawal adds to a morning drive ≈ 1.8, not to 1) and habituating: "
                      "5 is the smallest round value that holds (p = 0.02), 6 leaves a margin",
                      variability=lognormal(0.4), description="gain of withdrawal on the hypothalamic drive")
    gcyt = m.parameter("hpa_cytokine_gain", 0.1, "dimensionless",
                       "calibrated (by hand, hpa.abstinence30): CRH drive per unit relative excess of IL-6/TNF-α; "
                       "kept small because chronic low-grade inflammation would otherwise hold u above 1 all "
                       "through abstinence. Direction from Windoloski et al. 2022 (LPS + HPA model)", variability=lognormal(0.5))
    g_endo = m.parameter("hpa_endogenous_restraint", 0.5, "dimensionless",
                         "assumed: complete loss of resting endogenous μ signalling raises the hypothalamic drive by "
                         "half (order of the ACTH/cortisol rises after opioid-antagonist challenges in healthy "
                         "volunteers: IV naltrexone 10 mg and nalmefene 10 mg raise ACTH and cortisol over 180 min, "
                         "Hum Psychopharmacol, PMC11372649; magnitudes not read). Not fitted to hpa.ntx.challenge, "
                         "which scores the direction only", variability=lognormal(0.4),
                         description="disinhibition of CRH release when μ signalling falls below its resting level")
    endo_rest = m.parameter("hpa_mu_signal_rest", 0.1 / 1.1, "dimensionless",
                            "resting endogenous μ agonism x0/(1+x0) of the endogenous module (endogenous_mu_ratio 0.1)")
    k_ad = m.parameter("hpa_antagonist_adaptation_rate", 0.6931 / (4 * 24), "1/h",
                       "assumed: t½ 4 d, the time scale of μ-receptor up-regulation under chronic antagonist "
                       "treatment in rodents (Tempel et al., J Pharmacol Exp Ther 1985;232:439; recalled)",
                       variability=lognormal(0.4), description="rate of adaptation to a sustained μ-signal deficit")
    f_ad = m.parameter("hpa_antagonist_adaptation_max", 0.8, "dimensionless",
                       "assumed: adaptation to sustained μ blockade is substantial but partial (80%)", upper=1.0)
    g_dep = m.parameter("hpa_depression_gain", 0.2, "dimensionless",
                        "assumed: a major depressive episode (latent state 1) raises the hypothalamic drive by 20%, "
                        "so that, once the glands have compensated (cortisol ≈ u, Karin 2020), morning cortisol is "
                        "~20% higher — a moderate effect against a between-person CV of ~30%, the order of the "
                        "MDD–control difference (Stetler & Miller, Psychosom Med 2011;73:114; CSF CRH raised in "
                        "depression, Nemeroff et al., Science 1984;226:1342); not fitted",
                        description="CRH drive added per unit of depressive state")
    return imax, ktol, ftol, gwd, gcyt, g_endo, endo_rest, k_ad, f_ad, g_dep


def _naive_suppression(m: Module, ago, imax):
    """Suppression of the hypothalamic drive at full μ agonism, s = imax + (1 − imax)·f_n·(1 − F): an
    opioid-naive person (F = 0) loses most of the drive that the days-tolerant imax leaves, and the
    extra sensitivity is lost with days of use (F → 1) and regained over weeks without opioid."""
    f_n = m.parameter("hpa_opioid_naive_extra_suppression", 0.75, "dimensionless",
                      "assumed: in an opioid-naive person full μ agonism suppresses 75% of the drive that the "
                      "tolerant suppression leaves (0.6 + 0.4·0.75 = 0.9 at the calibrated 0.6): therapeutic "
                      "morphine all but stops cortisol secretion in naive people — 2.5 mg IV suppressed cortisol "
                      "over 3 h in healthy volunteers (Zis et al., Psychiatry Res 1985;15:91), morphine suppresses "
                      "early-morning ACTH release (McDonald et al., J Pharmacol Exp Ther 1959;125:241), three days "
                      "of morphine left serum cortisol undetectable (case report, Endocrinol Diabetes Metab Case "
                      "Rep, Birmingham) — while in chronic users the calibrated 0.6 holds. Not fitted (the "
                      "held-out pred.hpa.morphine_acute, Zis 1984, was scored after it was set)", upper=1.0,
                      description="extra opioid suppression of CRH release in an opioid-naive person")
    k_on = m.parameter("hpa_opioid_acute_tolerance_rate", 0.6931 / 24.0, "1/h",
                       "assumed: t½ 1 d at full μ agonism — tolerance of the HPA response to repeated morphine "
                       "develops within days in rats (Ignar & Kuhn, J Pharmacol Exp Ther 1990;255:1287, recalled, "
                       "UNCONFIRMED); no human time course found", variability=lognormal(0.4),
                       description="rate at which the naive HPA sensitivity to opioids is lost")
    k_off = m.parameter("hpa_opioid_acute_tolerance_loss", 0.6931 / (30 * 24.0), "1/h",
                        "assumed: t½ 30 d — the naive sensitivity returns over weeks of abstinence (the order of the "
                        "HPA recovery in abstinence, hpa.abstinence30); slow enough that intermittent daily use "
                        "keeps F near 1 (F = ago/(ago + k_off/k_on), ≥ 0.9 for mean agonism ≥ 0.3)")
    F = m.state("hpa_opioid_acute_tolerance", "dimensionless", 0.0,
                "loss of the opioid-naive HPA sensitivity (0 naive … 1 after days of use)")
    m.ode(F, k_on * ago * (1 - F) - k_off * F)
    return m.assign("hpa_opioid_suppression", imax + (1 - imax) * f_n * (1 - F), "dimensionless",
                    "fractional suppression of the hypothalamic drive at full μ agonism (naive 0.9 … tolerant 0.6)")


def _references(m: Module) -> tuple:
    """Reference levels: the immune module's resting cytokines and the plasma hormone baselines."""
    rest = resting_levels()
    tnf_ref = m.parameter("hpa_tnf_reference", rest["tnf"], "pg/mL",
                          "computed: resting plasma TNF-α of the immune module (Dobreva et al., J Physiol 2021 baseline "
                          "1.118 pg/mL plus the basal-LPS contribution), so a healthy person's axis does not drift")
    il6_ref = m.parameter("hpa_il6_reference", rest["il6"], "pg/mL",
                          "computed: resting plasma IL-6 of the immune module (Dobreva 2021 baseline 1.0475 pg/mL "
                          "plus basal LPS)")
    cort0 = m.parameter("cortisol_baseline", 350.0, "nmol/L",
                        "assumed: healthy morning plasma cortisol ≈ 350 nmol/L (12.7 µg/dL; reference range "
                        "≈ 140–690 nmol/L)", variability=lognormal(0.3),
                        description="healthy morning plasma cortisol of this person")
    acth0 = m.parameter("acth_baseline", 20.0, "pg/mL",
                        "assumed: healthy morning plasma ACTH ≈ 20 pg/mL (reference range ≈ 7–63 pg/mL)",
                        variability=lognormal(0.35), description="healthy morning plasma ACTH of this person")
    return tnf_ref, il6_ref, cort0, acth0


def build(drugs=None) -> Module:
    m = Module("hpa", __doc__)
    ago = m.input("mor_agonism_central", "dimensionless", 0.0, "receptors module")
    wd = m.input("withdrawal_signal", "dimensionless", 0.0,
                 "adaptation module (0 = no withdrawal when that module is absent)")
    endo = m.input("mor_endogenous_agonism", "dimensionless", 0.1 / 1.1,
                   "endogenous module (its resting value x0/(1+x0) when absent)")
    tnf = m.input("tnf_plasma", "pg/mL", resting_levels()["tnf"], "immune module (default: its resting TNF-α)")
    il6 = m.input("il6_plasma", "pg/mL", resting_levels()["il6"], "immune module (default: its resting IL-6)")
    mood = m.input("mood_state", "dimensionless", 0.0, "mood module latent depressive state (0 euthymic when absent)")
    ot = m.input("oxytocin_tone", "dimensionless", 1.0, "oxytocin module (healthy tone 1 when absent)")
    a1, a2, a3, aP, aA, kgr, eps = _gland_parameters(m)
    imax, ktol, ftol, gwd, gcyt, g_endo, endo_rest, k_ad, f_ad, g_dep = _drive_parameters(m)
    tnf_ref, il6_ref, cort0, acth0 = _references(m)

    ccos, csin, theta0, circ = _circadian_clock(m)
    coef = rest_orbit()
    init = [rest_value(coef[i], sp.cos(theta0), sp.sin(theta0)) for i in range(6)]
    x1 = m.state("crh", "dimensionless", init[0], "hypothalamic CRH relative to the healthy daily-mean set point")
    x2 = m.state("acth", "dimensionless", init[1], "plasma ACTH relative to the healthy daily-mean set point")
    x3 = m.state("cortisol", "dimensionless", init[2], "plasma cortisol relative to the healthy CRH/ACTH set points")
    P = m.state("corticotroph_mass", "dimensionless", init[3], "pituitary corticotroph functional mass")
    A = m.state("adrenal_mass", "dimensionless", init[4], "adrenal cortex functional mass")
    T = m.state("hpa_opioid_tolerance", "dimensionless", 0.0, "tolerance of the HPA axis to μ suppression")
    Dad = m.state("hpa_mu_deficit_adaptation", "dimensionless", 0.0,
                  "adaptation of the HPA axis to a sustained deficit of μ signalling (antagonist treatment)")
    excess = m.assign("hpa_cytokine_excess", sp.Max((tnf / tnf_ref + il6 / il6_ref) / 2 - 1, 0), "dimensionless",
                      "mean relative excess of plasma TNF-α and IL-6 over their healthy levels")
    deficit = m.assign("hpa_mu_signal_deficit", sp.Max(1 - (endo + ago) / endo_rest, 0), "dimensionless",
                       "fraction of the resting endogenous μ signal that is missing (antagonist blockade)")
    wd_eff = _habituated_withdrawal(m, wd)
    s_mu = _naive_suppression(m, ago, imax)
    stress = m.assign("hpa_stress_drive", (gwd * wd_eff + gcyt * excess) * _oxytocin_buffering(m, ot),
                      "dimensionless", "stressors' (withdrawal, cytokine) drive of CRH release, oxytocin-buffered")
    u = m.assign("hpa_drive", (circ + stress) * (1 - s_mu * ago * (1 - ftol * T))
                 * (1 + g_endo * (deficit - f_ad * Dad)) * (1 + g_dep * positive_part(mood, 0.02)),
                 "dimensionless", "hypothalamic drive u(t) of Karin 2020 (healthy, unstressed = 1)")
    kfb = m.parameter("hpa_feedback_lag_rate", REST["kfb"], "1/h",
                      "assumed: t½ 30 min, the delay of glucocorticoid feedback on ACTH secretion — no effect for "
                      "~20 min and the full effect within 1 h of a cortisol step in adrenalectomised dogs (abstract "
                      "read; Keller-Wood & Dallman, Endocr Rev 1984;5:1, delayed feedback); a first-order lag with "
                      "t½ 30 min reaches 75% at 1 h. Not fitted; pred.hpa.naloxone_mmt's ACTH at 120 min is above its "
                      "course for t½ ≳ 20 min and below it for shorter lags (docs/validation.md, twelfth session). No between-patient "
                      "variability: no human spread of the feedback delay is known",
                      description="rate at which the hypothalamic-pituitary feedback sites follow plasma cortisol")
    xf = m.state("cortisol_feedback", "dimensionless", init[5],
                 "plasma cortisol as the hypothalamic and pituitary feedback sites see it (delayed feedback)")
    m.ode(xf, kfb * (x3 - xf))
    gr = (1 + kgr ** -3) / (1 + (xf / kgr) ** 3)
    mr = (1 + eps) / (xf + eps)
    m.ode(x1, a1 * (u * mr * gr - x1))
    m.ode(x2, a2 * (P * x1 * gr - x2))
    m.ode(x3, a3 * (A * x2 - x3))
    m.ode(P, aP * P * (x1 - 1))
    m.ode(A, aA * A * (x2 - 1))
    m.ode(T, ktol * (ago - T))
    m.ode(Dad, k_ad * (deficit - Dad))

    # healthy same-clock-time levels: downstream modules were built on relative levels with a healthy
    # value of 1, so they read cortisol relative to a healthy person's at the same hour (exactly 1 at rest)
    rest = [rest_value(coef[i], ccos, csin) for i in range(3)]
    m.assign("crh_rel", x1 / rest[0], "dimensionless", "CRH relative to a healthy person's at this clock hour",
             interface=True)
    m.assign("acth_rel", x2 / rest[1], "dimensionless", "ACTH relative to a healthy person's at this clock hour",
             interface=True)
    m.assign("cortisol_rel", x3 / rest[2], "dimensionless",
             "cortisol relative to a healthy person's at this clock hour", interface=True)
    th = 2 * np.pi * (MORNING_H - DRIVE_PEAK_H) / DAY_H
    morning = [float(rest_value(coef[i], np.cos(th), np.sin(th))) for i in (1, 2)]
    m.assign("cortisol_plasma", cort0 * x3 / morning[1], "nmol/L",
             "plasma cortisol at this clock hour (cortisol_baseline is the healthy 08:00 value)", interface=True)
    m.assign("acth_plasma", acth0 * x2 / morning[0], "pg/mL",
             "plasma ACTH at this clock hour (acth_baseline is the healthy 08:00 value)", interface=True)
    return m


def _circadian_clock(m: Module):
    """The 24-h clock and the circadian CRH drive u_c; returns (cos θ, sin θ, θ at the start, u_c), where
    θ = ω·(τ + clock_offset − 06:30) is the clock angle since the drive's daily peak and τ the hours
    elapsed since the simulation started.

    The angle is an explicit function of elapsed time, not an oscillator integrated by the solver: τ is a
    state with dτ/dt = 1, which every Rosenbrock (and BDF) step integrates exactly, so the clock has no
    phase drift and costs no error control (as the autonomous form of the non-autonomous ODE — Hairer &
    Wanner II, IV.7: Rosenbrock methods are invariant under autonomisation). Keeping elapsed time as a
    state rather than the solver's t keeps the clock's semantics of the earlier oscillator: it starts at
    clock_offset at the start of every simulation (whatever its t0), resumes with the carried states, and
    restarts with them at a reset. Measured on the former cos/sin oscillator: two-thirds of a drug-free
    year's error norm and its worst state at every tolerance (docs/benchmarks.md)."""
    offset = m.parameter("clock_offset", CLOCK_OFFSET_H, "h",
                         "assumed: the clock hour of day at t = 0 is 08:00, so doses at t = 0 + k·24 h are morning "
                         "doses (clinic dosing) and a sample at t = k·24 h is an 08:00 morning sample. A study "
                         "with another schedule sets it; a person then starts on the healthy rest orbit at that hour")
    amp = m.parameter("hpa_circadian_amplitude", REST["amp"], "dimensionless",
                      "assumed: relative amplitude of the circadian (SCN) drive of CRH release, u_c = 1 + a·cos(2π(h − "
                      "06:30)/24), as the circadian input u(t) of Karin 2020's HPA model (their exact waveform not "
                      "read). 0.9 gives a healthy cortisol peak ≈ 07:45 and nadir ≈ 20:00, ratio ≈ 4 (tests/"
                      "test_hpa_circadian.py); healthy day curves have peak ≈ 08:00 and a nadir several-fold lower "
                      "around midnight (Debono et al., J Clin Endocrinol Metab 2009;94:1548, recalled)", upper=0.99)
    w = m.parameter("clock_angular_frequency", 2 * np.pi / DAY_H, "1/h",
                    "definition: one revolution of the clock angle per 24-h day (2π/24 rad/h)")
    tau = m.state("clock_elapsed_time", "h", 0.0,
                  "hours elapsed since the start of the simulation (dτ/dt = 1): the circadian clock's time base")
    m.ode(tau, sp.Integer(1))
    peak = m.parameter("hpa_circadian_drive_peak_hour", DRIVE_PEAK_H, "h",
                       "assumed: clock hour of the circadian CRH drive's peak, 06:30, so that cortisol (80-min "
                       "half-life, feedback) peaks near 08:00 as in healthy day curves (Debono et al., J Clin "
                       "Endocrinol Metab 2009;94:1548, recalled); the 08:00 normalisation of cortisol_plasma and "
                       "acth_plasma is computed at this value")
    theta = w * (tau + offset - peak)
    theta0 = w * (offset - peak)
    circ = m.assign("hpa_circadian_drive", 1 + amp * sp.cos(theta),
                    "dimensionless", "circadian (SCN) drive of CRH release, daily mean 1")
    return sp.cos(theta), sp.sin(theta), theta0, circ


def _oxytocin_buffering(m: Module, ot):
    """Factor OT^(−e_ot) by which central oxytocin scales the stressors' drive of CRH release (1 at a healthy tone)."""
    e_ot = m.parameter("hpa_oxytocin_exponent", 0.8, "dimensionless",
                       "assumed: the stressors' drive of CRH release ∝ oxytocin_tone^(−0.8), the exponent the reward "
                       "module gives oxytocin's damping of stress reactivity (oxytocin_stress_exponent; Heinrichs et "
                       "al., Biol Psychiatry 2003;54:1389), so one stress-buffering strength serves both. Check against "
                       "Cardoso et al., Psychoneuroendocrinology 2014;49:161 (18 RCTs, N 675): intranasal 24–40 IU "
                       "lowered the cortisol response with Hedges g −0.15 overall (n.s.) and −0.43 for robust "
                       "stressors; here 40 IU (central tone +~0.1, oxytocin_nose_to_brain_gain) lowers the stress "
                       "drive by ~7%, a smaller effect than either estimate unless the response's between-person SD is "
                       "below half its mean — the conservative end of that evidence. Direction: oxytocin in the PVN blocks stress "
                       "activation of CRH neurons (Smith et al., Psychoneuroendocrinology 2016;63:50). Not fitted "
                       "(pred.ot.withdrawal, Moeini et al. 2019, is held out)", variability=lognormal(0.5),
                       description="oxytocin buffering of the stress-driven CRH release")
    return m.assign("hpa_oxytocin_buffering", ot ** (-e_ot), "dimensionless",
                    "factor by which central oxytocin scales the stressors' drive of CRH release (1 at tone 1)")


def _habituated_withdrawal(m: Module, wd):
    """Withdrawal's drive of CRH release after habituation to the sustained stressor."""
    k_hab = m.parameter("hpa_withdrawal_habituation_rate", 0.6931 / 24.0, "1/h",
                        "assumed: t½ 1 d — the HPA response to a sustained, homotypic stressor habituates over "
                        "days (Grissom & Bhatnagar, Horm Behav 2009;55:22, review; recalled)",
                        variability=lognormal(0.4), description="rate of habituation of the HPA axis to withdrawal")
    f_hab = m.parameter("hpa_withdrawal_habituation_max", 0.8, "dimensionless",
                        "assumed: habituation removes most (80%) of the HPA response to sustained withdrawal; the "
                        "onset of withdrawal still drives the axis fully", upper=1.0)
    hab = m.state("hpa_withdrawal_habituation", "dimensionless", 0.0,
                  "habituation of the hypothalamic drive to sustained withdrawal (lags withdrawal_signal)")
    m.ode(hab, k_hab * (wd - hab))
    return m.assign("hpa_withdrawal_drive", sp.Max(wd - f_hab * hab, 0), "dimensionless",
                    "withdrawal signal not yet habituated: the stressor's drive of CRH release")
