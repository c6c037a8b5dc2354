"""gut — opioid-induced bowel dysfunction, microbial guilds, butyrate, barrier and LPS translocation.

Time in hours. Everything downstream of the receptors module is driven by **enteric** μ agonism
(``mor_enteric_agonism``) only, so a PAMORA (methylnaltrexone, naloxegol, naldemedine: no brain
entry) restores transit without touching central agonism. How much a competitive PAMORA releases
depends on the agonists' occupancy odds at the enteric site, so the receptors module reads an
agonist's functional enteric potency where the drug library gives one (``enteric_affinity``:
morphine and M6G, from the guinea-pig myenteric IC50 of morphine, Johnson et al., Naunyn-Schmiedeberg's
Arch Pharmacol 1987;336:419) rather than its [3H]DAMGO binding constant, with which oral morphine held
~98% of enteric receptors and methylnaltrexone could not displace it (gutonset).

Equations
---------
Colonic motility (relative propulsive rate, 1 = drug-free), model-anchors §5.3 form::

    d E/dt = k_E·(A_ent − E)                                        (enteric counter-adaptation)
    transit_target = (1 − Imax·A_ent)·(1 + g_E·E)·(1 + s_stim·stim)·(1 + s_osm,tr·osm)
    d transit_rel/dt = (transit_target − transit_rel)/τ_m

E is the counter-adaptation (dependence) of the myenteric plexus to sustained enteric μ agonism —
the enteric analogue of the adaptation module's moderator (cAMP superactivation; the
naloxone-precipitated withdrawal contracture of the isolated ileum of morphine-treated guinea
pigs; PAMORA-precipitated diarrhoea in morphine-dependent rats, Kanemasa et al., J Pharmacol Exp
Ther 2020;373:438). On a stable opioid it offsets part of the slowing (partial tolerance: the
colon keeps most of its opioid slowing, Ross et al., J Pharmacol Exp Ther 2008;327:561), so the
steady agonism–transit relation (1 − Imax·A)(1 + g_E·A) is concave: the OIC prevalences fix it
at full agonism, and a partial block near full agonism (naldemedine 0.2 mg holds ~10–60% of
enteric μ receptors over its dosing interval) restores more transit than a linear relation would.
When agonism falls faster than E follows (t½ ~1 d), propulsion transiently exceeds its new steady
level (rebound). E is 0 without opioid, so a drug-free person stays at rest. The motor response
follows agonism within about an hour (τ_m = 1 h).
    colonic_transit_time = CTT0 / transit_rel

Small-intestinal propulsion (issue 15, octt2): its own opioid brake and its own tolerance, read by
the lactulose hydrogen breath test as the oro-caecal transit time (OCTT, minutes)::

    x = Imax/(1 − Imax)·A_ent                                       (the patient's colonic odds × agonism)
    d E_si/dt = k_si·(A_ent − E_si)                                 (small-bowel tolerance, t½ 2 d)
    si_target = (1 − x/(x + K_si))·(1 + g_si·E_si)
    d si_transit_rel/dt = (si_target − si_transit_rel)/τ_si         (τ_si = 0.5 h)
    oro_caecal_transit_time = OCTT0 / si_transit_rel

Why a state of its own: with the colon's brake the breath-test sizes missed in opposite directions
(morphine 0.05 mg/kg IV ×1.15 against ×1.56 observed, Yuan et al., Clin Pharmacol Ther 1996;59:469;
methadone maintenance ~290–320 min against 159 ± 49, Yuan et al., J Clin Pharmacol 1998;38:931). A
strong acute and a weaker chronic effect is tolerance, and in animals it develops in the ileum but
not in the colon (β-arrestin-2 dependent: Ross et al., J Pharmacol Exp Ther 2008;327:561; Kang et al.,
J Pharmacol Exp Ther 2012;340:567; Akbarali et al., Neurogastroenterol Motil 2014;26:1361) — why
constipation persists on maintenance while other gut effects wane. The small bowel's brake is an Emax
in the agonism (a small dose already slows it: receptor reserve), the counter-adaptation has the
colon's form with its own gain and time course. K_si is calibrated on Yuan 1996, g_si on Yuan 1998
(``data/calibration.yaml``); methylnaltrexone on methadone (Yuan et al., JAMA 2000;283:367: −59%) is
held out and missed (25 mg SC −17% at its peak: the library's SC methylnaltrexone lowers methadone's
enteric agonism only from 0.98 to 0.76; the trial gave up to 0.365 mg/kg IV). Assumed: the patient's
between-patient deviate of ``gut_mor_imax`` (the colon's μ sensitivity) carries over to the small
bowel through the odds x, since one person's enteric μ receptor expression and coupling serve both
(no within-person comparison was found); K_si is then the small bowel's half-effect in units of that
odds. Not in OCTT: the laxatives (they act on the colon: bisacodyl, PEG), lactulose's own acceleration
of small-bowel transit (Miller et al., Dig Dis Sci 1997;42:10; in OCTT0), and opioid-delayed gastric
emptying (Murphy et al., Anesthesiology 1997;87:765; folded into the brake by the calibration).
OCTT0 = 105 min (Yuan 1996, placebo arm: 104.6 ± 31.1 min), between-patient CV 25% (a single test's
between-subject CV of 30–38%, Yuan 1996 and Jorge et al., Eur J Surg 1994;160:409, less the test's own
within-subject noise, ``data/readouts.yaml``). The test takes 1–3 h; the read-out is the OCTT at the
propulsive rate of its instant, to be dated at the middle of the transit (about an hour after the
lactulose).

Colonic content (faecal loading, issue 14). The colon holds c (dry faecal mass relative to
drug-free), filled at the drug-free rate and moved on at the propulsive rate::

    d c/dt = (1 − transit_rel·c)/CTT0          (steady c = 1/transit_rel: Little's law, c ∝ transit time)
    rectal_delivery_rel = transit_rel·c         (1 at any steady state)
    colonic_faecal_volume = V0·c·(1 − W0)/(1 − W)

On an opioid the colon loads (slow propulsion, same inflow); when a PAMORA restores propulsion the
loaded colon delivers more than its steady flux to the rectum until c has fallen to its new level
(time constant CTT0/transit_rel, ~1–2 days) — the acute laxation of PAMORA trials. The defecation
hazard (``sbm_rate`` below) rises with that delivery, so the weekly SBM count and the time to the
first SBM after a dose (:func:`first_sbm_probability`) follow from one mechanism. At any steady
state delivery is 1, so the steady SBM–transit relation (and what was calibrated on it) is unchanged.
The loading alone gave too slow an onset (COMPOSE-4 median 13.5 h to the first SBM against 4.7 h):
the overshoot of delivery is at most ~2-fold and lasts a day, while half of the patients defecate
within hours. The threshold below supplies the rest.

Defecation as a threshold crossing (issue 14, gut4). The rectum fills with what the colon delivers
and a bowel movement empties it when its content reaches the threshold that triggers the call to
stool (rectal sensation and the recto-anal reflexes: Remes-Troche et al., Dis Colon Rectum
2010;53:1047). Read as that integrate-and-fire process, ``sbm_rate`` is the speed at which the
rectal content approaches its threshold, and by mass balance each bowel movement evacuates one
threshold's worth, so the threshold relative to drug-free is what the rate law's non-flux factors
imply::

    θ = rectal_delivery_rel^(1−n_d) · transit_rel^(−γ) · exp(−β_W·(W − W0))   (defecation_threshold_rel)

On an opioid θ is high: each bowel movement is rarer and larger at the same faecal flux (the stool
waits in the rectosigmoid: oxycodone lengthened rectosigmoid transit 2.7 → 9.0 h, 3.3-fold, against
2.1-fold for the whole colorectum, Poulsen et al., J Neurogastroenterol Motil 2016;22:282; opioid
use goes with rectal hyposensitivity and evacuation disorders, Vollebregt et al., Neurogastroenterol
Motil 2020;32:e13839, and dyssynergic defecation, Lodhia et al., Dig Dis Sci 2022; fentanyl raises
rectal perception thresholds dose-dependently, Lembo et al., Pain 2000;87:137). With a cohort's
phases (rectal content/θ) spread evenly, the expected event rate is the filling speed plus the share
of patients a falling threshold overtakes::

    net = sbm_rate − (168 h/week)·dlnθ/dt
    sbm_event_rate = max(net, 0)·exp(−max(D, 0)/D_s) ;  dD/dt = (sbm_event_rate − net)/168

When a PAMORA lifts the opioid brake (transit_rel rises within τ_m), θ falls and every patient whose
rectum already holds more than the new threshold defecates: over the fall, ln(θ_old/θ_new) expected
events, i.e. P(≥1) = 1 − θ_new/θ_old, the exact first-passage probability of the integrate-and-fire
process — the acute laxation within hours of PAMORA trials (methylnaltrexone SC: laxation within
4 h in 48% vs 15%, median ~0.5–1 h in responders, Thomas et al., NEJM 2008;358:2332). A rising
threshold (an opioid dose) pushes every phase back: D counts the bowel movements so deferred, repaid
before the next event (D_s only smooths the switch). Over any closed cycle of θ the extra events sum
to zero, so the steady and periodic weekly SBM counts (and everything calibrated on them) are those
of ``sbm_rate``; only transitions move. ``sbm_rate`` itself (and its read-outs: BFI, rescue rate)
is unchanged. No new physiological parameter: θ is the calibrated rate law read as a threshold.

Stool water fraction W relaxes to a residence-time dependent level (the colon absorbs water the
longer stool stays; an osmotic laxative retains water)::

    W_target = W_min + (W0 − W_min)·transit_rel^δ + s_osm,w·osm ;  dW/dt = (W_target − W)/τ_W

Spontaneous bowel movements (expected rate, per week) and read-outs::

    sbm_rate = SBM0 · transit_rel^γ · rectal_delivery_rel^n_d · exp(β_W·(W − W0))
    bowel_function_index = 100 / (1 + (sbm_rate/S50)^h)            (0–100; ≥30 = constipated)
    rescue_laxative_rate = (7/3 per week)·exp(−sbm_rate·3 d)        (bisacodyl after 72 h without a BM,
                                                                     the COMPOSE/KODIAC rescue rule, Poisson gaps)
    d sbm_expected_count/dt = sbm_event_rate                        (cumulative expected count → weekly counts;
                                                                     sbm_event_rate: threshold crossings, above)

Observed weekly SBM counts are drawn outside the ODE (:func:`weekly_sbm_counts`): negative
binomial around the weekly expected count, from per-patient random streams. The probability of a
first SBM within h hours of a dose is the same negative binomial's P(N ≥ 1) over the expected count
since the dose (:func:`first_sbm_probability`).

Microbiota: generalised Lotka–Volterra (Stein et al. 2013) on seven guilds re-labelled from
Stein's genera (butyrate producers ← unclassified Lachnospiraceae; Bacteroides ← Barnesiella;
Bifidobacterium/Lactobacillus ← Blautia; Enterobacteriaceae ← undefined Enterobacteriaceae;
Enterococcus ← Enterococcus; Akkermansia ← Akkermansia; other ← "Other")::

    dx_i/dt = x_i·(μ_i + Σ_j M_ij x_j + ε_op,i·A_ent + ε_tr,i·(1 − transit_rel) + ε_abx,i·u_abx) + δ_i,bif·r_pro·probiotic

x in units of 10^11 16S copies/cm^3 (Stein's scale, dimensionless here). Stein's M_ij (murine,
per day) are used with off-diagonal terms scaled by κ = 0.3 (the 7-guild sub-community of the
11-genus matrix has no stable positive equilibrium at κ = 1; κ = 0.3 gives one, slowest mode
~1/300 d). Growth rates μ_i are then derived as μ = −M·x0 so that the drug-free equilibrium is a
typical adult human composition x0 (assumed). Susceptibilities ε_abx are Stein's clindamycin
values; ε_op (opioid) and ε_tr (slow transit) are new, signed after the opioid dysbiosis
signature (loss of butyrate producers/Roseburia and Bacteroides, expansion of Enterococcus and
Enterobacteriaceae: Banerjee 2016; Wang 2018; Gicquelais 2020; Acharya 2017) — a calibration
step (model-anchors §5.1: no opioid-specific ε were found).

α-diversity (Shannon) by the grouping property of Shannon's index: between-guild entropy plus
the abundance-weighted within-guild Shannon index of each guild (assumed typical values), so that
loss of species-rich guilds and blooms of near-monospecific ones both lower it::

    alpha_diversity = −Σ p_i ln p_i + Σ p_i·H_i ,   H_i = H_i0·2r_i/(1 + r_i), r_i = x_i/x0_i

Butyrate (colonic lumen, mM): production by butyrate producers with bifidobacterial cross-feeding,
first-order absorption by colonocytes::

    d but/dt = k_but·(but0·(x_but/x_but0)·(x_bif + K_cf)/(x_bif0 + K_cf) − but)

Enteric glia (reactive level G): dG/dt = k_G·(A_ent − G) (morphine → enteric glia → barrier:
Bhave et al. 2017). Barrier permeability P (relative, 1 = healthy): tight junctions damaged by
TNF-α/IL-6 and reactive glia, repaired by butyrate::

    P_target = (1 + g_G·G)·(TNF/TNF0)^a_TNF·(IL6/IL60)^a_IL6·(1 + c_b)/(butyrate_rel + c_b)
    dP/dt = k_rep·(P_target − P)

LPS translocation (ng/kg/h, consumed by the immune module as endotoxin entering the blood) —
permeability × Gram-negative endotoxic load (Bacteroides and Akkermansia LPS weighted low;
d'Hennezel 2017); an explicit, tunable assumption (Hollander & Kaunitz 2020 caveat)::

    lps_translocation_rate = LPS0 · P · Σ w_i x_i / Σ w_i x0_i

Papers
------
* Stein RR et al. PLoS Comput Biol 2013;9:e1003388 (gLV parameters, clindamycin susceptibility).
* Coluzzi F et al. Int J Mol Sci 2024;25:7999 (seed 003: opioids, OIC, dysbiosis, leaky gut).
* Metcalf AM et al. Gastroenterology 1987;92:40 (colonic transit ~35 h).
* Heaton KW et al. Gut 1992;33:818; Mitsuhashi S et al. 2018 (normal bowel habit, ~1 BM/day).
* Rentz AM et al. J Med Econ 2009;12:371; Ducrotté P & Caussé C, Curr Med Res Opin 2012;28:457
  (Bowel Function Index, constipation threshold ≥28.8/30).
* Lewis SJ & Heaton KW, Scand J Gastroenterol 1997;32:920 (Bristol stool form vs transit);
  Wyman JB et al. Gut 1978;19:146 (stool water).
* Cummings JH et al. Gut 1987;28:1221 (colonic SCFA, butyrate ~15–20 mM).
* Peng L et al. J Nutr 2009;139:1619 (butyrate enhances tight-junction barrier).
* Ma TY et al. Am J Physiol 2004;286:G367; Al-Sadi R et al. 2014 (TNF-α, IL-6 raise TJ permeability).
* Meng J et al. PLoS ONE 2013;8:e54040; Banerjee S et al. Mucosal Immunol 2016;9:1418
  (morphine → barrier disruption, translocation, Enterococcus expansion).
* Wang F et al. Neuropsychopharmacology 2018;43:2606 (morphine dysbiosis, Enterococcus).
* Bhave S et al. Neuropsychopharmacology 2017;42:2485 (enteric glia, morphine, barrier).
* Gicquelais RE et al. Sci Rep 2020;10:19471 (opioid users: lower α-diversity, less Roseburia).
* Acharya C et al. Aliment Pharmacol Ther 2017;45:319 (opioids and microbiota in cirrhosis).
* d'Hennezel E et al. mSystems 2017;2:e00046 (Bacteroides LPS immunosilent).
* Rivière A et al. Front Microbiol 2016;7:979 (bifidobacteria–butyrate producer cross-feeding).
* Hale M et al. Lancet Gastroenterol Hepatol 2017;2:555 (COMPOSE-1/2); Chey WD et al. NEJM
  2014;370:2387 (KODIAC-04/05): responder definitions and rescue-bisacodyl rule.
* Dobreva A et al. J Physiol 2021 (endotoxin scale in ng/kg the immune module uses).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sympy as sp

from ..errors import OpiaxisInputError
from ..model.core import Module, Variability, lognormal
from .immune import basal_lps_translocation, resting_levels

# ----------------------------------------------------------------------------------------------
# Guilds and the Stein et al. 2013 parameters they are re-labelled from
# ----------------------------------------------------------------------------------------------
GUILDS = ("butyrate_producers", "bacteroides", "bifidobacteria", "enterobacteriaceae",
          "enterococcus", "akkermansia", "other")
STEIN_GENUS = {
    "butyrate_producers": "unclassified Lachnospiraceae",
    "bacteroides": "Barnesiella",
    "bifidobacteria": "Blautia",
    "enterobacteriaceae": "undefined genus of Enterobacteriaceae",
    "enterococcus": "Enterococcus",
    "akkermansia": "Akkermansia",
    "other": "Other",
}
GUILD_LABEL = {
    "butyrate_producers": "butyrate producers (Lachnospiraceae/Roseburia)",
    "bacteroides": "Bacteroides",
    "bifidobacteria": "Bifidobacterium/Lactobacillus",
    "enterobacteriaceae": "Enterobacteriaceae",
    "enterococcus": "Enterococcus",
    "akkermansia": "Akkermansia",
    "other": "other taxa",
}
# Stein 2013 interaction matrix (per day, per 10^11 copies/cm^3), rows/cols in GUILDS order,
# taken from the 11x11 matrix (S1 / erijones/ssr_module stein_parameters.csv, model-anchors §5.1)
_STEIN_M = np.array([
    # but        bact       bif        entb       entc       akk        other
    [-0.10162, 0.14373, -0.16537, -0.20645, -0.005959, -0.50414, -0.13971],   # uncl. Lachnospiraceae
    [0.16739, -0.20516, -0.14341, -0.26894, 0.0088853, -0.51535, -0.16461],    # Barnesiella
    [-5.03e-05, -0.18016, -0.70858, 0.10635, 0.22438, -0.50756, -0.054212],    # Blautia
    [0.24887, -0.3742, 0.08399, -0.3841, -0.038764, -0.23242, -0.16829],       # Enterobacteriaceae
    [0.02398, -0.04225, -0.32893, 0.023816, -0.19213, 0.054767, -0.11784],     # Enterococcus
    [-0.12222, -0.12669, 0.4003, -0.096352, 0.19189, -1.2124, 0.3809],         # Akkermansia
    [0.00045883, 0.22403, -0.2238, -0.40032, -0.038986, -0.20529, -0.83125],   # Other
])
_STEIN_EPS_CLINDA = np.array([-2.0909, -3.2926, -1.3491, 3.7009, 1.0671, -0.92446, -1.9395])
KAPPA = 0.3  # off-diagonal scaling (see module docstring)
# drug-free human composition (10^11 copies/cm^3; relative: 30/25/5/1/0.3/3/35.7 %)
X0 = np.array([1.5, 1.25, 0.25, 0.05, 0.015, 0.15, 1.785])
X0_SOURCE = ("assumed: typical adult faecal composition (Human Microbiome Project Consortium, Nature "
             "2012;486:207; Arumugam 2011): Lachnospiraceae/Ruminococcaceae butyrate producers ~30%, "
             "Bacteroides ~25%, Bifidobacterium/Lactobacillus ~5%, Enterobacteriaceae ~1%, Enterococcus "
             "~0.3%, Akkermansia ~3% (Derrien 2017), rest other; total 5e11 16S copies/cm^3 (Stein scale)")
# within-guild Shannon index (nats), assumed from typical species richness/evenness of each guild
H_WITHIN = {"butyrate_producers": 2.5, "bacteroides": 1.2, "bifidobacteria": 0.8, "enterobacteriaceae": 0.3,
            "enterococcus": 0.2, "akkermansia": 0.0, "other": 2.8}
# opioid (enteric μ agonism) and slow-transit susceptibilities, per day per unit signal (calibration)
EPS_OPIOID = {"butyrate_producers": -0.06, "bacteroides": -0.02, "bifidobacteria": -0.02,
              "enterobacteriaceae": 0.06, "enterococcus": 0.05, "akkermansia": 0.03, "other": -0.05}
EPS_TRANSIT = {"butyrate_producers": 0.0, "bacteroides": -0.01, "bifidobacteria": 0.0,
               "enterobacteriaceae": 0.01, "enterococcus": 0.0, "akkermansia": 0.02, "other": 0.01}
# endotoxic LPS weight per unit abundance, relative to Enterobacteriaceae
LPS_WEIGHT = {"butyrate_producers": 0.0, "bacteroides": 0.05, "bifidobacteria": 0.0, "enterobacteriaceae": 1.0,
              "enterococcus": 0.0, "akkermansia": 0.05, "other": 0.02}


def interaction_matrix() -> np.ndarray:
    """Stein interactions (per day) with off-diagonals scaled by :data:`KAPPA`."""
    d = np.diag(np.diag(_STEIN_M))
    return d + KAPPA * (_STEIN_M - d)


def growth_rates() -> np.ndarray:
    """μ (per day) that make :data:`X0` the drug-free equilibrium: μ = −M·x0."""
    return -interaction_matrix() @ X0


def build(drugs=None) -> Module:
    m = Module("gut", __doc__)
    A = m.input("mor_enteric_agonism", "dimensionless", 0.0, "receptors module (0 when no μ ligand)",
                "enteric μ agonist signal")
    il6 = m.input("il6_plasma", "pg/mL", resting_levels()["il6"], "immune module (default: its resting IL-6)")
    tnf = m.input("tnf_plasma", "pg/mL", resting_levels()["tnf"], "immune module (default: its resting TNF-α)")
    osm, stim, pro, abx_const = _interventions(m)
    tr, content, delivery, rates = _motility_and_content(m, A, osm, stim)
    _stool_and_bowel_movements(m, tr, content, delivery, rates, osm)
    x = _microbiota(m, A, tr, pro, abx_const)
    _butyrate_barrier_and_translocation(m, A, x, il6, tnf)
    return m


def _interventions(m: Module):
    """Study switches (laxatives, probiotic, antibiotic exposure), 0 by default."""
    P = m.parameter
    # ---- interventions (study overrides) -----------------------------------------------------
    osm = P("osmotic_laxative_dose_effect", 0.0, "dimensionless",
            "assumed: intervention switch; 1 = a standard osmotic laxative dose (PEG 3350 17 g/day)",
            lower=0.0, description="osmotic laxative exposure (0 none, 1 standard daily dose)")
    stim = P("stimulant_laxative_effect", 0.0, "dimensionless",
             "assumed: intervention switch; 1 = a standard stimulant dose (bisacodyl 10 mg or senna 15–30 mg daily)",
             lower=0.0, description="stimulant laxative exposure (0 none, 1 standard daily dose)")
    pro = P("probiotic_input", 0.0, "dimensionless",
            "assumed: intervention switch; 1 = a standard daily multi-strain probiotic (~1e10 CFU/day)",
            lower=0.0, description="probiotic intake (0 none, 1 standard daily dose)")
    abx_const = P("antibiotic_exposure", 0.0, "dimensionless",
                  "Stein et al. 2013: u(t) = 1 is the clindamycin exposure of their gLV perturbation; "
                  "0 by default (use the antibiotic.oral dose target for courses)", lower=0.0,
                  description="sustained antibiotic exposure signal u (Stein's scale)")
    return osm, stim, pro, abx_const


def _motility_and_content(m: Module, A, osm, stim):
    """Colonic propulsion (enteric μ agonism, counter-adaptation, laxatives) and the colonic content it moves."""
    P = m.parameter
    # ---- motility and transit --------------------------------------------------------------
    imax = P("gut_mor_imax", 0.79, "dimensionless",
             "calibrated: maximal fractional (acute) slowing of colonic propulsion by full enteric μ agonism "
             "(k_tr = k_tr0·(1 − Imax·A), model-anchors §5.3), before the enteric counter-adaptation offsets "
             "part of it — fitted to the OIC prevalence targets (gut.oic.cncp, gut.oic.cancer) with morphine's and "
             "M6G's functional enteric potency (drug library enteric_affinity); opioids slow "
             "colonic transit 2–3 fold (Kurz & Sessler, Drugs 2003;63:649). "
             "Fitted by opiaxis calibrate gut.mor_imax (history: data/calibration.yaml)",
             variability=Variability("logitnormal", 0.8), lower=0.0, upper=0.999,
             description="sensitivity of colonic motility to enteric μ agonism")
    tau_m = P("gut_motility_time_constant", 1.0, "h",
              "assumed: the colonic motor response follows a change of enteric μ agonism within about an hour — "
              "SC methylnaltrexone gives laxation with a median of ~45 min in responders (Thomas et al., NEJM "
              "2008;358:2332) and oral naldemedine a median 4.7 h to the first SBM (Katakami et al., Ann Oncol "
              "2018;29:1461), which a multi-hour motor lag could not allow (was 8 h, assumed, before the "
              "colonic-content state of issue 14)")
    s_stim = P("stimulant_laxative_motility_gain", 0.6, "dimensionless",
               "assumed: a standard stimulant dose raises propulsive rate by 60% (bisacodyl/senna in OIC "
               "add ~1.5–2.5 SBM/week; Müller-Lissner 2017 Pain Med review)")
    s_osm_tr = P("osmotic_laxative_motility_gain", 0.25, "dimensionless",
                 "assumed: PEG accelerates transit modestly through stool volume (Corazziari 2000 Gut 46:522)")
    ctt0 = P("colonic_transit_time_drug_free", 35.0, "h",
             "Metcalf et al., Gastroenterology 1987;92:40 (mean colonic transit ~35 h)", variability=lognormal(0.3))
    tr = m.state("transit_rel", "dimensionless", 1.0, "colonic propulsive rate relative to drug-free")
    k_e = P("enteric_counteradaptation_rate", 0.6931 / 24.0, "1/h",
            "assumed: t½ 1 d. Enteric dependence develops within days of continuous opioid (isolated ileum of "
            "morphine-treated guinea pigs shows a naloxone-precipitated withdrawal contracture after days of "
            "exposure; morphine-dependent rats get diarrhoea from PAMORAs, Kanemasa et al., J Pharmacol Exp Ther "
            "2020;373:438) and resolves over days after the opioid stops",
            description="rate of enteric counter-adaptation")
    g_e = P("enteric_counteradaptation_gain", 0.5, "dimensionless",
            "assumed: the counter-adapted excitatory drive of the myenteric plexus raises propulsion by half at "
            "full enteric agonism (at steady state it offsets a third of the acute slowing). The colon keeps most "
            "of its opioid slowing on chronic dosing (little colonic tolerance: Ross et al., J Pharmacol Exp Ther "
            "2008;327:561), so the gain is partial; no human estimate exists (a PAMORA unmasks it: laxation "
            "within 4 h in 48% after methylnaltrexone, Thomas et al., NEJM 2008;358:2332). Not fitted: 0.5 "
            "('partial') was set before gut_mor_imax was re-calibrated to the OIC prevalences; 0.3 and 1.0 were "
            "tried as a sensitivity check (COMPOSE-4 drug arm ~59% and ~63%) and the value was not moved",
            lower=0.0, description="gain of the enteric counter-adaptation on propulsion")
    E = _following_state(m, "enteric_counteradaptation", k_e, A,
                         "counter-adaptation (dependence) of the myenteric plexus to enteric μ agonism, 0 at rest")
    tr_target = (1 - imax * A) * (1 + g_e * E) * (1 + s_stim * stim) * (1 + s_osm_tr * osm)
    d_tr = (tr_target - tr) / tau_m
    m.ode(tr, d_tr)
    m.assign("colonic_transit_time", ctt0 / tr, "h", "colonic transit time")
    _small_bowel(m, A, imax)

    # ---- colonic content (faecal loading) --------------------------------------------------------
    # dry faecal mass in the colon relative to drug-free: filled at the drug-free (ileal) rate,
    # moved on at the propulsive rate; by Little's law its steady level is the residence time ratio
    # 1/transit_rel, and the rate it is delivered to the rectum (transit_rel·content) is 1 at any
    # steady state but overshoots when propulsion returns to a loaded colon
    content = m.state("colonic_content_rel", "dimensionless", 1.0,
                      "colonic faecal (dry) mass relative to drug-free (faecal loading)")
    d_content = (1 - tr * content) / ctt0
    m.ode(content, d_content)
    delivery = m.assign("rectal_delivery_rel", tr * content, "dimensionless",
                        "faecal mass delivered to the rectum per unit time, relative to drug-free", interface=True)
    # relative rate of change of the delivery and of the propulsive rate (1/h), for the defecation threshold
    return tr, content, delivery, {"ln_tr": d_tr / tr, "ln_delivery": d_tr / tr + d_content / content}


def _following_state(m: Module, name: str, rate, A, description: str):
    """A dimensionless state that follows the enteric agonism A at ``rate`` (dX/dt = rate·(A − X)), 0 at rest."""
    x = m.state(name, "dimensionless", 0.0, description)
    m.ode(x, rate * (A - x))
    return x


def _small_bowel(m: Module, A, imax) -> None:
    """Small-intestinal propulsion with its own opioid brake and its own tolerance, read by the
    lactulose hydrogen breath test as the oro-caecal transit time (see the module docstring)."""
    P = m.parameter
    octt0 = P("oro_caecal_transit_time_drug_free", 105.0, "min",
              "Yuan et al., Clin Pharmacol Ther 1996;59:469: lactulose (10 g) hydrogen breath test in 12 healthy "
              "volunteers after IV placebo, 104.6 ± 31.1 min (the protocol of the same group's methadone studies, "
              "Yuan et al., J Clin Pharmacol 1998;38:931 and JAMA 2000;283:367); healthy ranges 60–120 min "
              "(Jorge et al., Eur J Surg 1994;160:409: 60 ± 27 min in women, 89 ± 24 in men)",
              variability=lognormal(0.25),
              description="oro-caecal transit time without opioids (lactulose breath test)")
    k_si = P("small_bowel_mor_half_agonism", 1.12, "dimensionless",
             "calibrated (small-bowel brake): the enteric μ agonism, in units of the patient's colonic odds "
             "Imax/(1 − Imax), that halves small-bowel propulsion, inhibition = odds·A/(odds·A + K). The patient's "
             "enteric μ sensitivity (gut_mor_imax's between-patient deviate) carries over through the odds — "
             "assumed: one person's enteric μ receptor expression and coupling serve the small and the large "
             "bowel alike (myenteric μ receptors along the whole gut, Holzer, Regul Pept 2009;155:11); no "
             "within-person comparison of the two was found. Procedure: opiaxis calibrate gut.small_bowel (history: "
             "data/calibration.yaml)",
             lower=1e-6, description="small-bowel half-effect enteric μ agonism (in colonic odds units)")
    tau_si = P("small_bowel_motility_time_constant", 0.5, "h",
               "assumed: IV morphine disrupts duodeno-jejunal migrating motor complexes within minutes and delays "
               "gastric emptying within the first half hour (Murphy et al., Anesthesiology 1997;87:765: gastric "
               "t0.5 5.5 → 21 min after 0.09 mg/kg IV); the lactulose head reaches the caecum in ~1.5–3 h, so "
               "the motor response must follow agonism faster than that")
    k_esi = P("small_bowel_tolerance_rate", 0.6931 / 48.0, "1/h",
              "assumed: t½ 2 d. Tolerance of the ileum to morphine (β-arrestin-2 dependent; none in the colon) is "
              "complete after 3–7 days of continuous morphine in mice (Ross et al., J Pharmacol Exp Ther "
              "2008;327:561; Kang et al., J Pharmacol Exp Ther 2012;340:567; Akbarali et al., Neurogastroenterol "
              "Motil 2014;26:1361); no human time course was found",
              description="rate of small-bowel tolerance (counter-adaptation)")
    g_si = P("small_bowel_tolerance_gain", 1.87, "dimensionless",
             "calibrated (small-bowel tolerance): gain of the small bowel's counter-adapted excitatory drive on "
             "its propulsion at full enteric agonism (tolerance in the small bowel, not the colon: Ross 2008). "
             "Procedure: opiaxis calibrate gut.small_bowel (history: data/calibration.yaml)",
             lower=0.0, description="gain of small-bowel tolerance on propulsion")
    E_si = _following_state(m, "small_bowel_counteradaptation", k_esi, A,
                            "tolerance (counter-adaptation) of small-intestinal propulsion to enteric μ agonism, 0 at rest")
    si = m.state("si_transit_rel", "dimensionless", 1.0, "small-intestinal propulsive rate relative to drug-free")
    odds_a = imax / (1 - imax) * A
    m.ode(si, ((1 - odds_a / (odds_a + k_si)) * (1 + g_si * E_si) - si) / tau_si)
    m.assign("oro_caecal_transit_time", octt0 / si, "min",
             "oro-caecal (mouth-to-caecum) transit time at the present small-bowel propulsive rate", interface=True)


def _stool_and_bowel_movements(m: Module, tr, content, delivery, rates: dict, osm) -> None:
    """Stool water, faecal volume, the SBM hazard and its read-outs."""
    P = m.parameter
    # ---- stool water ----------------------------------------------------------------------
    w0 = P("stool_water_drug_free", 0.75, "dimensionless",
           "Wyman et al., Gut 1978;19:146 (normal faecal water ~75%)")
    wmin = P("stool_water_min", 0.62, "dimensionless",
             "assumed: hard, lumpy stool (Bristol 1–2) ~60–65% water (Wyman 1978; Lewis & Heaton 1997)")
    delta = P("stool_water_transit_exponent", 0.5, "dimensionless",
              "assumed: water absorption saturates with residence time")
    s_osm_w = P("osmotic_laxative_water_gain", 0.028, "dimensionless",
                "calibrated: PEG 3350/4000 adds 1.8 bowel movements/week over placebo (95% CrI 1.0–2.8; network "
                "meta-analysis of 19 RCTs in functional constipation, baseline ~1.3–2/week: Katelaris et al., BMC "
                "Gastroenterol 2016;16:42; 1.98/week in Belsey et al., Int J Clin Pract 2010;64:944). With the "
                "motility gain fixed, 0.028 gives that difference for a constipated person at 1.5/week with the "
                "trial-participation effect in both arms (SBM ×1.92); the earlier assumed 0.05 (~5 points of stool "
                "water) gave ×2.4, i.e. +2.7/week here and +7 to +10/week at a normal bowel habit")
    tau_w = P("stool_water_time_constant", 12.0, "h", "assumed: about half a colonic residence")
    W = m.state("stool_water", "dimensionless", w0, "stool water fraction")
    d_w = (wmin + (w0 - wmin) * tr ** delta + s_osm_w * osm - W) / tau_w
    m.ode(W, d_w)
    v0 = P("colonic_faecal_volume_drug_free", 750.0, "mL",
           "MRI colonic faecal volume of healthy men: 884 mL after 6 days of oxycodone (Olesen et al., J "
           "Neurogastroenterol Motil 2019;25:602) less the ~100 mL that 5 days of oxycodone add (Mark et al., "
           "J Magn Reson Imaging 2019, doi:10.1002/jmri.26628)")
    m.assign("colonic_faecal_volume", v0 * content * (1 - w0) / (1 - W), "mL",
             "colonic faecal volume: dry mass × (1 − W0)/(1 − W) (drier stool occupies less volume)", interface=True)
    m.assign("bristol_stool_form", 1 + 6 / (1 + sp.exp(-(W - 0.74) / 0.035)), "dimensionless",
             "Bristol stool form scale (1 hard – 7 watery), logistic in stool water (Lewis & Heaton 1997)")

    # ---- bowel movements ------------------------------------------------------------------
    sbm0 = P("sbm_rate_drug_free", 7.0, "1/week",
             "Heaton et al., Gut 1992;33:818 and Mitsuhashi 2018 (median ~1 bowel movement/day; normal 3/week–3/day)",
             variability=lognormal(0.45), description="spontaneous bowel movements per week without opioids")
    gam = P("sbm_transit_exponent", 1.0, "dimensionless",
            "assumed: bowel-movement frequency proportional to colonic propulsive rate")
    beta_w = P("sbm_stool_water_gain", 10.0, "dimensionless",
               "assumed: softer stool eases defecation; +5 points stool water ×1.65 SBM rate")
    how = P("hours_per_week", 168.0, "h/week", "definition")
    n_del = P("sbm_rectal_delivery_exponent", 1.0, "dimensionless",
              "assumed: the urge to defecate is triggered by rectal filling (rectal distension), taken as linear "
              "in the delivery rate since no human estimate of the steepness was found; not fitted. 0 removes the faecal-loading effect (the pre-issue-14 model)", lower=0.0)
    sbm = m.assign("sbm_rate", sbm0 * tr ** gam * delivery ** n_del * sp.exp(beta_w * (W - w0)), "1/week",
                   "expected spontaneous bowel movements per week", interface=True)
    s50 = P("bfi_sbm50", 2.3, "1/week",
            "assumed: BFI 40 at 3 SBM/week and 15 at 7/week (Rentz 2009; constipation ≥28.8, Ducrotté 2012)")
    hb = P("bfi_hill", 1.57, "dimensionless", "assumed: see bfi_sbm50")
    m.assign("bowel_function_index", 100 / (1 + (sbm / s50) ** hb), "dimensionless",
             "Bowel Function Index 0–100 (≥30: constipated)", interface=True)
    gap = P("rescue_gap", 3.0 / 7.0, "week",
            "COMPOSE/KODIAC rescue rule: bisacodyl after 72 h without a bowel movement")
    m.assign("rescue_laxative_rate", (1 / gap) * sp.exp(-sbm * gap), "1/week",
             "expected rescue-laxative doses per week (Poisson gaps of 72 h)", interface=True)
    # relative rate of change of the defecation threshold θ = delivery^(1−n_d)·transit_rel^−γ·exp(−β_W(W − W0))
    # (1/h): the phase speed sbm_rate is sbm0·delivery/θ (see _defecation_events)
    d_ln_threshold = (1 - n_del) * rates["ln_delivery"] - gam * rates["ln_tr"] - beta_w * d_w
    m.assign("defecation_threshold_rel", delivery ** (1 - n_del) * tr ** (-gam) * sp.exp(-beta_w * (W - w0)),
             "dimensionless", "rectal content that triggers a bowel movement, relative to drug-free "
             "(integrate-and-fire reading of sbm_rate; 1 drug-free)")
    _defecation_events(m, sbm, sbm0, d_ln_threshold, how)
    thr = P("oic_sbm_threshold", 3.0, "1/week", "Rome IV / trial definition of OIC: <3 SBM per week")
    m.assign("constipated", 1 / (1 + (sbm / thr) ** 12),
             "dimensionless", "smooth indicator of fewer than 3 SBM/week")


def _defecation_events(m: Module, sbm, sbm0, d_ln_threshold, how) -> None:
    """Expected bowel movements as threshold crossings of the rectal content (integrate and fire).

    ``sbm_rate`` is the speed at which the rectum fills towards its defecation threshold θ (one
    threshold's worth per bowel movement). With the phases of a cohort spread evenly, the event rate
    is that speed plus the share of patients a falling threshold overtakes, −dlnθ/dt; a rising
    threshold pushes everyone back from it (the deficit D, in bowel movements, repaid before the next
    event). See the module docstring."""
    P = m.parameter
    d0 = P("sbm_deficit_smoothing", 0.1, "dimensionless",
           "assumed: numerical regularisation of the event-rate switch (a deficit of 0.1 bowel movement "
           "holds the event rate at 1/e of its value); no physiological content. 0.1 rather than 0.01: the "
           "sharper switch cost ~25% more solver steps in fits and candidate simulations, while the onset "
           "checks (scripts/gut_onset.py) and the gut targets moved by < 0.02 in P(≤4 h) and < 1 point in "
           "responders; 0.3 began to blur them (methylnaltrexone P(≤4 h) 0.42 → 0.38)", lower=1e-6)
    release = P("sbm_threshold_release", 1.0, "dimensionless",
                "definition: 1 reads the SBM rate law as threshold crossings (a falling threshold releases the "
                "patients it overtakes, a rising one defers them); 0 is the earlier reading as a Poisson rate "
                "(counterfactual for tests and sensitivity analyses)", lower=0.0, upper=1.0)
    net = sbm - release * how * d_ln_threshold
    # the deficit and the count are observers (no other state reads them): they do not control the
    # fit's and recommend's step size (State.step_control). The switch's kink at D = 0, where D rests,
    # made 13-18% of those solver steps rejected ones; the weekly counts stay within the solver's
    # tolerance of a reference solve (tests/test_fit_speed.py, docs/precision-recovery.md, eleventh session)
    deficit = m.state("sbm_phase_deficit", "dimensionless", 0.0,
                      "bowel movements the defecation threshold's rise has pushed back (0 at rest)",
                      step_control=False)
    events = m.assign("sbm_event_rate", sbm0 * sp.Max(net / sbm0, 0) * sp.exp(-sp.Max(deficit, 0) / d0), "1/week",
                      "expected bowel movements per week, including those a falling threshold releases",
                      interface=True)
    m.ode(deficit, (events - net) / how)
    cnt = m.state("sbm_expected_count", "dimensionless", 0.0, "cumulative expected SBM count",
                  step_control=False)
    m.ode(cnt, events / how)


def _microbiota(m: Module, A, tr, pro, abx_const) -> dict:
    """Seven-guild gLV community (Stein et al. 2013) with opioid, transit and antibiotic perturbations."""
    P = m.parameter
    # ---- microbiota (gLV) -------------------------------------------------------------------
    Mx = interaction_matrix() / 24.0      # per hour
    mu = growth_rates() / 24.0
    eps_abx = _STEIN_EPS_CLINDA / 24.0
    abx_k = P("antibiotic_lumen_elimination", 0.1, "1/h",
              "assumed: luminal antibiotic cleared with t½ ~7 h (absorption, transit)")
    abx_50 = P("antibiotic_lumen_half_effect", 300.0, "mg",
               "assumed: one standard 300–500 mg dose gives about half of Stein's u = 1 exposure")
    abx_L = m.state("antibiotic_lumen", "mg", 0.0, "antibiotic amount in the gut lumen")
    m.ode(abx_L, -abx_k * abx_L)
    m.dose_target("antibiotic.oral", abx_L, amount_unit="mg",
                  description="oral broad-spectrum antibiotic course (clindamycin-like susceptibility)")
    u_abx = m.assign("antibiotic_signal", abx_const + abx_L / (abx_L + abx_50), "dimensionless",
                     "antibiotic perturbation u(t) (Stein's scale)")
    r_pro = P("probiotic_colonisation_rate", 0.002, "1/h",
              "assumed: a standard probiotic adds ~20% of the resident Bifidobacterium/Lactobacillus guild per day "
              "(transient colonisation, lost on stopping)")
    x = {}
    for i, g in enumerate(GUILDS):
        x[g] = m.state(f"guild_{g}", "dimensionless", float(X0[i]),
                       f"{GUILD_LABEL[g]} abundance (10^11 16S copies/cm^3; Stein scale)")
    mus, Ms, eop, etr, eab = {}, {}, {}, {}, {}
    for i, g in enumerate(GUILDS):
        mus[g] = P(f"gut_mu_{g}", float(mu[i]), "1/h",
                   f"derived: μ = −M·x0 (drug-free equilibrium at the assumed human composition) with M from "
                   f"Stein et al. 2013 ({STEIN_GENUS[g]}; Stein's own μ {float(growth_rates()[i]):.3g}/d is replaced)")
        eop[g] = P(f"gut_eps_opioid_{g}", EPS_OPIOID[g] / 24.0, "1/h",
                   "calibrated: sign from the opioid dysbiosis signature (Banerjee 2016; Wang 2018; Gicquelais 2020), "
                   "size so butyrate producers fall ~40% over 12 weeks of typical opioid exposure (gut.diversity)")
        etr[g] = P(f"gut_eps_transit_{g}", EPS_TRANSIT[g] / 24.0, "1/h",
                   "assumed: slow transit favours Akkermansia and proteolytic taxa, disfavours Bacteroides "
                   "(Roager et al., Nat Microbiol 2016;1:16093)")
        eab[g] = P(f"gut_eps_antibiotic_{g}", float(eps_abx[i]), "1/h",
                   f"Stein et al. 2013 clindamycin susceptibility of {STEIN_GENUS[g]} (per day /24)")
    for i, gi in enumerate(GUILDS):
        for j, gj in enumerate(GUILDS):
            Ms[(gi, gj)] = P(f"gut_M_{gi}__{gj}", float(Mx[i, j]), "1/h",
                             f"Stein et al. 2013 interaction {STEIN_GENUS[gj]} → {STEIN_GENUS[gi]} "
                             + ("(self-interaction)" if i == j else f"×{KAPPA} (off-diagonal scaling, see module doc)")
                             + ", per day /24")
    sens = P("microbiome_opioid_sensitivity", 1.0, "dimensionless",
             "assumed: people differ in how strongly their microbiota responds to opioids",
             variability=lognormal(0.5))
    for g in GUILDS:
        growth = mus[g] + sp.Add(*[Ms[(g, h)] * x[h] for h in GUILDS]) + sens * eop[g] * A \
            + etr[g] * (1 - tr) + eab[g] * u_abx
        rhs = x[g] * growth
        if g == "bifidobacteria":
            rhs = rhs + r_pro * pro
        m.ode(x[g], rhs)
    total = m.assign("microbiota_total", sp.Add(*x.values()), "dimensionless", "total 16S load (Stein scale)")
    rel = {}
    for g in GUILDS:
        rel[g] = m.assign(f"rel_{g}", x[g] / total, "dimensionless", f"relative abundance of {GUILD_LABEL[g]}",
                          interface=True)
    hw = {g: P(f"shannon_within_{g}", H_WITHIN[g], "dimensionless",
               "assumed: typical within-guild species diversity (nats) of this guild (HMP 2012)") for g in GUILDS}
    zr = P("shannon_within_abundance_exponent", 1.0, "dimensionless",
           "assumed: a guild's species diversity falls as its population shrinks (rare species lost below "
           "persistence; species–abundance relation), H_i = H_i0·2r^z/(1 + r^z), r = x_i/x_i0")
    hwi = {}
    for i, g in enumerate(GUILDS):
        r = (x[g] / float(X0[i])) ** zr
        hwi[g] = hw[g] * 2 * r / (1 + r)
    m.assign("alpha_diversity",
             sp.Add(*[-rel[g] * sp.log(rel[g] + 1e-12) + rel[g] * hwi[g] for g in GUILDS]), "dimensionless",
             "Shannon α-diversity (nats), grouping property: between-guild + within-guild", interface=True)
    return x


def _butyrate_barrier_and_translocation(m: Module, A, x: dict, il6, tnf) -> None:
    """Butyrate, enteric glia, barrier permeability and LPS translocation."""
    P = m.parameter
    # ---- butyrate ----------------------------------------------------------------------------
    but0 = P("butyrate_drug_free", 15.0, "mM", "Cummings et al., Gut 1987;28:1221 (colonic butyrate ~15–20 mM)",
             variability=lognormal(0.3))
    kbut = P("butyrate_turnover_rate", 0.5, "1/h", "assumed: SCFA absorbed by colonocytes within hours")
    kcf = P("butyrate_crossfeeding_K", 0.25, "dimensionless",
            "assumed: bifidobacterial acetate/lactate cross-feeding (Rivière 2016) as a saturating factor")
    x_but0 = P("guild_butyrate_producers_ref", float(X0[0]), "dimensionless", X0_SOURCE)
    x_bif0 = P("guild_bifidobacteria_ref", float(X0[2]), "dimensionless", X0_SOURCE)
    but = m.state("butyrate_colon", "mM", but0, "colonic luminal butyrate")
    m.ode(but, kbut * (but0 * (x["butyrate_producers"] / x_but0) * (x["bifidobacteria"] + kcf) / (x_bif0 + kcf) - but))
    but_rel = m.assign("butyrate_rel", but / but0, "dimensionless", "colonic butyrate relative to drug-free",
                       interface=True)

    # ---- enteric glia and barrier -----------------------------------------------------------------
    kg = P("enteric_glia_rate", 1.0 / 24.0, "1/h", "assumed: glial reactivity develops over about a day")
    G = m.state("enteric_glia_activation", "dimensionless", 0.0,
                "reactive enteric glia driven by enteric μ agonism (Bhave et al. 2017)")
    m.ode(G, kg * (A - G))
    gG = P("barrier_glia_gain", 0.5, "dimensionless",
           "assumed: morphine-reactive enteric glia raise permeability ~1.5-fold (Bhave 2017; Meng 2013, mouse)")
    rest = resting_levels()
    il60 = P("barrier_il6_ref", rest["il6"], "pg/mL",
             "computed: resting IL-6 of the immune module (Dobreva et al. 2021 baseline with basal LPS), so "
             "the cytokine terms are 1 in a drug-free person")
    tnf0 = P("barrier_tnf_ref", rest["tnf"], "pg/mL",
             "computed: resting TNF-α of the immune module (Dobreva et al. 2021 baseline with basal LPS)")
    a6 = P("barrier_il6_exponent", 0.2, "dimensionless",
           "assumed: IL-6 raises TJ permeability (Al-Sadi 2014, Caco-2), weaker than TNF-α")
    at = P("barrier_tnf_exponent", 0.4, "dimensionless",
           "assumed: TNF-α raises TJ permeability dose-dependently (Ma et al. 2004, Caco-2)")
    cb = P("barrier_butyrate_K", 1.0, "dimensionless",
           "assumed: loss of all butyrate doubles permeability (Peng et al. 2009 J Nutr, Caco-2)")
    krep = P("barrier_repair_rate", 1.0 / 48.0, "1/h",
             "assumed: tight-junction remodelling / epithelial renewal over 3–5 days (model-anchors §5.2)")
    Pm = m.state("barrier_permeability_rel", "dimensionless", 1.0, "intestinal permeability relative to healthy")
    p_target = (1 + gG * G) * (tnf / tnf0) ** at * (il6 / il60) ** a6 * (1 + cb) / (but_rel + cb)
    m.ode(Pm, krep * (p_target - Pm))
    m.assign("barrier_permeability", Pm, "dimensionless", "barrier permeability (relative)", interface=True)

    # ---- LPS translocation ----------------------------------------------------------------
    w = {g: P(f"lps_weight_{g}", LPS_WEIGHT[g], "dimensionless",
              "assumed: endotoxic LPS per unit abundance relative to Enterobacteriaceae (Gram-positive 0; "
              "Bacteroides/Akkermansia LPS weakly agonistic, d'Hennezel 2017)") for g in GUILDS}
    load0 = float(sum(LPS_WEIGHT[g] * X0[i] for i, g in enumerate(GUILDS)))
    ref = P("lps_load_ref", load0, "dimensionless", "derived: endotoxic load at the drug-free composition")
    lps0 = P("lps_translocation_baseline", basal_lps_translocation(), "ng/kg/h",
             "derived: the immune module's basal translocation (its resting endotoxin × its clearance rate, "
             "Dobreva et al. 2021 kpe 1.08/h), the flux that keeps resting cytokines at Dobreva's baselines; "
             "healthy plasma endotoxin is near the assay limit. Dysbiosis and a leaky barrier raise it "
             "several-fold",
             variability=lognormal(0.5))
    load = sp.Add(*[w[g] * x[g] for g in GUILDS])
    m.assign("gram_negative_load_rel", load / ref, "dimensionless", "endotoxic Gram-negative load relative to healthy")
    m.assign("lps_translocation_rate", lps0 * Pm * load / ref, "ng/kg/h",
             "endotoxin entering the blood from the gut", interface=True)




# ----------------------------------------------------------------------------------------------
# Observation models (outside the ODE): weekly SBM counts, trial responders, 16S counts
# ----------------------------------------------------------------------------------------------
SBM_DISPERSION = 12.0
SBM_PERIOD_DISPERSION = 1.5
SBM_DISPERSION_SOURCE = ("calibrated (trial placebo arms): weekly SBM counts are Poisson around the expected count "
                         "times two gamma frailties of mean 1 — a week-to-week one (shape SBM_DISPERSION) and a "
                         "slower period-level one (shape SBM_PERIOD_DISPERSION: diet, activity, pain flares over "
                         "weeks), drawn anew for the screening and the treatment period")
PLACEBO_SBM_EFFECT = 0.30
PLACEBO_SOURCE = ("calibrated (gut.naldemedine.compose12 / gut.naloxegol.kodiac placebo arms): trial "
                  "participation (diary, attention, fluid/diet advice, expectation) multiplies the expected SBM "
                  "rate by 1 + effect from randomisation on; the rest of the placebo response is regression to "
                  "the mean from selecting patients on low screening counts")


def weekly_expected(results, week_starts_h) -> np.ndarray:
    """Expected SBM count in each week [t_k, t_k+1) from the cumulative ``sbm_expected_count``.
    ``results`` must have output times including every boundary; returns (patients, weeks)."""
    t = results.times
    idx = [int(np.argmin(abs(t - b))) for b in week_starts_h]
    if any(abs(t[i] - b) > 1e-6 for i, b in zip(idx, week_starts_h)):
        raise OpiaxisInputError("weekly_expected needs output times at every week boundary", field="times")
    return _count_increments(results.get("sbm_expected_count")[:, idx])


def _count_increments(c: np.ndarray) -> np.ndarray:
    """Increments of the cumulative expected count along axis 1 (each column minus the previous).
    The count never falls (its rate is ≥ 0); a fall within the solver's tolerance — a patient whose
    threshold deficit holds the event rate at ~0 for a week — is read as 0, a larger one is an error."""
    d = np.diff(c, axis=1)
    # the trial targets integrate at rtol 1e-4 (targets_gut.FAST); a relative 1e-3 of the count absorbs the
    # solver's wobble where the deficit switch holds the event rate at ~0 (a 1e-6 tolerance failed there)
    tol = 1e-3 * max(1.0, float(np.nanmax(np.abs(c)))) if c.size else 0.0
    if np.any(~np.isfinite(d)) or np.any(d < -tol):
        raise OpiaxisInputError("sbm_expected_count is not a non-decreasing finite counter", field="sbm_expected_count")
    return np.maximum(d, 0.0)


def weekly_sbm_counts(expected: np.ndarray, ids, seed: int, *, dispersion: float = SBM_DISPERSION,
                      multiplier: np.ndarray | float = 1.0, periods=None,
                      period_dispersion: float = SBM_PERIOD_DISPERSION, stream: int = 0x5B3) -> np.ndarray:
    """Observed weekly SBM counts (patients × weeks): Poisson around ``expected·multiplier`` times a
    weekly gamma frailty (shape ``dispersion``) and, when ``periods`` labels each week with a period
    (e.g. 0 = screening, 1 = treatment), a gamma frailty per patient and period (shape
    ``period_dispersion``). One random stream per patient id, so a patient's diary is the same
    whatever the cohort it is simulated in."""
    from ..streams import Purpose, Streams
    mean = np.asarray(expected, float) * np.asarray(multiplier, float)
    if mean.ndim != 2 or np.any(~np.isfinite(mean)) or np.any(mean < 0):
        raise OpiaxisInputError("expected SBM counts must be a patients × weeks array of finite values ≥ 0",
                                field="expected")
    per = np.zeros(mean.shape[1], int) if periods is None else np.asarray(periods, int)
    out = np.empty(mean.shape, dtype=np.int64)
    for row, pid in enumerate(ids):
        rng = Streams(seed).patient(pid, Purpose.SBM_DIARY, stream)
        fp = rng.gamma(period_dispersion, 1.0 / period_dispersion, size=per.max() + 1) if periods is not None \
            else np.ones(1)
        lam = rng.gamma(dispersion, 1.0 / dispersion, size=mean.shape[1]) * fp[per] * mean[row]
        out[row] = rng.poisson(lam)
    return out


def first_sbm_probability(results, dose_h: float, horizons_h, *, multiplier: float = 1.0,
                          dispersion: float = SBM_DISPERSION) -> np.ndarray:
    """Probability of at least one SBM within each horizon after a dose at ``dose_h`` (patients ×
    horizons): the defecation events are Poisson in the expected event rate ``sbm_event_rate`` (its
    integral is ``sbm_expected_count``) times the diary's gamma frailty of shape ``dispersion``, so
    P = 1 − (1 + Λ/k)^−k with Λ the expected count since the dose. For the events a falling defecation
    threshold releases (Λ = ln(θ_old/θ_new)) this is, with multiplier 1 and large k, the
    integrate-and-fire first-passage probability 1 − θ_new/θ_old; for the filling between thresholds it is the Poisson approximation (an exactly
    periodic rectum would give min(1, Λ)). ``results`` must have output times at ``dose_h`` and at
    ``dose_h`` + every horizon."""
    t = results.times
    want = [dose_h] + [dose_h + float(h) for h in horizons_h]
    idx = [int(np.argmin(abs(t - w))) for w in want]
    if any(abs(t[i] - w) > 1e-6 for i, w in zip(idx, want)):
        raise OpiaxisInputError("first_sbm_probability needs output times at the dose and at dose + each horizon",
                                field="times")
    c = results.get("sbm_expected_count")[:, idx]
    lam = np.cumsum(_count_increments(c), axis=1) * multiplier
    return 1.0 - (1.0 + lam / dispersion) ** (-dispersion)


def median_time_to_first_sbm(prob: np.ndarray, horizons_h) -> float:
    """Median time (h) to the first SBM of a cohort from :func:`first_sbm_probability` (patients ×
    horizons): where the cohort's mean probability crosses 0.5, linearly interpolated; ``inf`` if
    it stays below 0.5 within the last horizon."""
    h = np.r_[0.0, np.asarray(horizons_h, float)]
    f = np.r_[0.0, np.asarray(prob, float).mean(axis=0)]
    if f[-1] < 0.5:
        return float("inf")
    k = int(np.argmax(f >= 0.5))
    return float(h[k - 1] + (0.5 - f[k - 1]) * (h[k] - h[k - 1]) / (f[k] - f[k - 1]))


def sbm_responders(weekly: np.ndarray, baseline: np.ndarray, *, min_weeks: int = 9, last: int = 4,
                   min_last: int = 3) -> np.ndarray:
    """COMPOSE/KODIAC responder: ≥3 SBM/week with an increase ≥1 from baseline in ≥9 of the 12
    treatment weeks and in ≥3 of the last 4 (``weekly``: patients × 12 treatment weeks)."""
    weekly = np.asarray(weekly)
    good = (weekly >= 3) & (weekly - np.asarray(baseline)[:, None] >= 1)
    return (good.sum(axis=1) >= min_weeks) & (good[:, -last:].sum(axis=1) >= min_last)


def check_microbiome_table(table: pd.DataFrame) -> pd.DataFrame:
    """Validate a microbiome count table (rows samples, columns guild names): known taxa, counts
    finite, whole and non-negative. Returns relative abundances."""
    unknown = [c for c in table.columns if c not in GUILDS]
    if unknown:
        raise OpiaxisInputError(f"unknown taxa {unknown}; known guilds: {', '.join(GUILDS)}", field="columns")
    v = table.to_numpy(dtype=float)
    if np.any(~np.isfinite(v)) or np.any(v < 0):
        raise OpiaxisInputError("microbiome counts must be finite and ≥ 0 (found negative or missing counts)")
    if np.any(v != np.round(v)):
        raise OpiaxisInputError("microbiome counts must be whole numbers")
    s = v.sum(axis=1, keepdims=True)
    if np.any(s == 0):
        raise OpiaxisInputError("a sample has zero reads")
    return pd.DataFrame(v / s, columns=table.columns, index=table.index)


def shannon(rel: np.ndarray) -> np.ndarray:
    """Shannon index of relative abundances (last axis), with the within-guild terms of the model."""
    rel = np.asarray(rel, float)
    hw = np.array([H_WITHIN[g] for g in GUILDS])
    with np.errstate(divide="ignore", invalid="ignore"):
        return -(np.where(rel > 0, rel * np.log(rel), 0.0)).sum(-1) + (rel * hw).sum(-1)
