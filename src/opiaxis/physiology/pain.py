"""pain — nociceptive drive, sensitisation, opioid analgesia and opioid-induced hyperalgesia.

Equations (time in hours)
-------------------------
1. **μ stimulus and analgesia.** From ``mor_agonism_central`` A the module forms the same
   compressed agonist load as the adaptation module, S = (A/(1 − A + ε))^h (occupancy odds,
   Mann et al. Clin Pharmacol Ther 2022;112:1020). Tolerance shifts potency: the effective
   stimulus is S_a = S·(1 − T_a), T_a the fraction of acute analgesic potency lost (below, from the
   adaptation module's tolerance_level T; Ekblom et al., JPET 1993;266:244 model tolerance as a
   potency shift of the effect compartment). Relief is an Emax function, relief = Emax·S_a/(S_a + S50).
   *Analgesic tolerance in two phases (added 2026-11-30, twelfth session).* The tolerance that
   shifts analgesic potency is not the adaptation module's T itself but T_a, made of a fast and a
   slow phase (Φ = 1/(1 − T) is the potency fold):

       1 − T_a = (1 − T)^(1−w) · (1 − T_s)^w,      dT_s/dt = k_s·(T − T_s),   T_s(0) = 0,

   i.e. ln Φ_a = (1 − w)·ln Φ_T + w·ln Φ_s. The fast phase is the counter-adaptation that also
   sets withdrawal (days: Ekblom et al. 1993, t½ 26 h in rats); the slow phase T_s follows it with
   the half-time of the slow phase of opioid (analgesic) tolerance, 13.2 ± 0.5 d in rats (17.4 in
   mice) after morphine, methadone or diamorphine, any regimen (Cox, Ginsburg, Willis & Davies, Br J
   Pharmacol 1975, doi:10.1111/j.1476-5381.1975.tb07374.x; abstract read); a rapid and a slowly
   developing tolerance were also separated by the spacing of doses (Mushlin, Grell & Cochin, JPET
   1976;196:280). The same source and the same half-and-half split (w = ½, assumed: Cox gives the
   phases' rates, not their amplitudes) make the breathing tolerance's two phases (respiration
   module, equation 4). At a steady exposure T_a = T (nothing changes for a maintained patient);
   on starting an opioid analgesic tolerance keeps growing for weeks after the withdrawal-setting
   moderator has settled, and after stopping it is lost over weeks. Unscored check: after one month of
   SR morphine (~78 mg/day) patients had lost 42% of remifentanil's analgesic potency (Chu et al.,
   Pain 2012;153:1583; abstract read); morphine 40 mg bid gives T_a 0.66 on day 30 (T alone 0.73),
   still more tolerance than Chu's. T_a reaches only the analgesic read-outs (equations 1 and
   5); OIH (equation 2), withdrawal, euphoria and the behaviour layer keep reading T.
2. **Opioid-induced hyperalgesia (OIH).** A slow pronociceptive state H accumulates while the
   counter-adaptation persists and reverses slowly once it is gone:
   dH/dt = k_oih·T⁺·(1 − H) − k_off·H, T⁺ the positive part of tolerance_level. OIH and
   tolerance share their mechanisms (NMDA-dependent pronociceptive adaptation: Célèrier et al.,
   Anesthesiology 2000;92:465; Simonnet & Rivat, NeuroReport 2003;14:1; Mao, Price & Mayer,
   Pain 1995;62:259); H grows for months and decays for months (hyperalgesia still increasing
   between 4–8 and 12–18 weeks of maintenance, Compton et al., J Pain 2012;13:401; abnormal
   nociception months after detoxification, Eisenberg et al., Drug Alcohol Depend 2008). k_oih is
   slower than the adaptation rate, so a person can be fully tolerant before OIH has peaked, and
   k_off ≪ k_oih, so hyperalgesia keeps growing on any maintained agonist (full or partial).
3. **Sensitisation gain: one shared, saturable dorsal-horn pathway.** The chronic central
   terms — OIH H, the glia module's spinal/DRG neuro-immune sensitisation Z and supraspinal
   glial activation G — are not independent additions. Morphine hyperalgesia is expressed through
   the same microglia → BDNF → KCC2 loss of dorsal-horn Cl⁻ homeostasis (Ferrini et al., Nat
   Neurosci 2013;16:183: ablating spinal microglia or deleting microglial BDNF abolishes it;
   restoring E_anion reverses it) as glial pain after nerve injury (Coull et al., Nature
   2005;438:1017), and NMDA-dependent OIH (Mao, Price & Mayer 1995) shares the NMDA
   amplification of central sensitisation (Woolf, Pain 2011;152:S2). Inhibition can be lost only
   once: each input takes a fraction of the capacity still left (occlusion, assumed),
   C = 1 − (1 − H)·(1 − w_z·Z)·(1 − w_g·G), 0 ≤ C ≤ 1 (w_z = ``spinal_sensitization_gain``,
   w_g = ``glial_pain_gain``, each ≤ 1), and
   G_s = (1 + s_periph)·(1 + a_oih·C + a_wd·U): peripheral sensitisation multiplies,
   central sensitisation and withdrawal hyperalgesia add (seed 004: Su et al., J Pain Res 2022;
   withdrawal hyperalgesia: Compton, Athanasos & Elashoff, J Pain 2003;4:511, cold-pressor tolerance
   ~70% of baseline in precipitated withdrawal; abstract read). For one input alone this is the
   earlier additive gain; with OIH established, the resolution of heroin-era neuro-immune
   sensitisation on buprenorphine (no TLR4 agonism at clinical concentrations) frees only the
   (1 − H) share that OIH had not already taken, so it no longer cancels the OIH that keeps growing
   on the maintained agonist (issue 14, pain.oih).
   *Withdrawal hyperalgesia from the adapted level (added 2026-11-30, thirteenth session).* U is the
   adaptation module's ``unopposed_counteradaptation``, (R − M)⁺/r_sev: the rebound of the
   μ-inhibitable tone R over the level M it has adapted to, not over the drug-free baseline
   (``withdrawal_signal``, (R − 1)⁺/r_sev, which U equals while M = 1). Hyperalgesia is the
   pronociceptive counter-adaptation unmasked whenever agonism falls below the level it has adapted
   to (opponent process; opioid-activated NMDA pronociceptive systems that mask analgesia and are
   revealed as the opioid wanes: Célèrier et al., Brain Res 1999;847:18 and J Neurosci
   2001;21:4074, titles read). A maintained patient is then more hyperalgesic at trough than at
   peak without overt withdrawal, as observed: pain threshold follows plasma methadone within the
   dosing interval (Dyer et al., Clin Pharmacol Ther 1999;65:685, slope factor N 2.8), cold-pressor
   tolerance rises 23% from trough (Athanasos et al., Pain 2006;120:267), trough hyperalgesia grows on
   stabilisation (Compton et al., J Pain 2012;13:401) and delaying the dose 4 h lowers cold-pressor
   threshold (VA Connecticut, Br J Clin Pharmacol 2024;90:2977; abstracts read). No new constant: a_wd
   and r_sev are the existing ones. Methadone 60 mg/day at 26 weeks: U 0.053 at 24 h, ≤ 0.001 from 1 to
   13 h after the dose (withdrawal_signal < 0.0003 throughout), pain sensitivity 1.994 at trough vs
   1.941 at 3 h.

4. **Read-outs.** Clinical pain: q = D·G_s·(1 − relief), pain NRS = 10·q/(1 + q), with D the
   ``nociceptive_drive`` of the pain condition (0 none). Cold-pressor tolerance: the raw latency
   T_raw = T_ctrl/(G_s·(1 − relief_cp)) is capped smoothly at the test ceiling T_cap = 180 s,
   CPT = T_cap·(1 + (T_cap/T_raw)^k)^(−1/k) (k = 4: within 0.1% of T_raw below 40 s). The
   180 s ceiling is the common cold-pressor cut-off (180–300 s are used; Compton's studies use
   300 s — recalled); 180 s is chosen here and stated in the read-out.
5. **Cold-pressor analgesia.** The cold pressor is a tonic, near-maximal stimulus on which μ agonists
   act with the same potency but much less efficacy than on clinical pain: morphine 5 mg IV lowers
   cold-pressor pain ratings only from 57 to 43 mm (−25%; Watso et al., Am J Physiol Heart Circ
   Physiol 2022, n = 29, crossover), and oral morphine up to 0.43 mg/kg lengthened tolerance time
   significantly only at the top dose without lowering pain ratings (Cleeland et al.,
   Neuropsychopharmacology 1996;15:252). The read-out therefore uses its own maximal relief,
   relief_cp = E_cp·S_a/(S_a + S50) (same stimulus S_a and S50 as equation 1), with E_cp derived from
   Watso's −25% at the model's S_a 35 min after 5 mg IV (data/calibration.yaml). Tolerance time stays
   inversely proportional to the remaining pain intensity (a subject withdraws when pain, rising at a
   rate ∝ intensity, reaches their tolerance level — assumed), so the 10th-session diagnosis of the
   held-out pred.pain.mmt_crosstolerance is addressed by the efficacy, not by the mapping's shape:
   with the clinical E_max (0.8) the morphine relief of 0.69 tripled the latency.
"""

from __future__ import annotations

import sympy as sp

from ..model.core import Module, lognormal


def build(drugs=None) -> Module:
    m = Module("pain", __doc__)
    A = m.input("mor_agonism_central", "dimensionless", 0.0, "receptors module")
    T = m.input("tolerance_level", "dimensionless", 0.0,
                "adaptation module (0: no tolerance when absent)")
    U = m.input("unopposed_counteradaptation", "dimensionless", 0.0,
                "adaptation module (0 when absent): rebound of the μ-inhibitable tone over its adapted level")
    G = m.input("glial_activation", "dimensionless", 0.0, "glia module (0 at rest when absent)")
    Z = m.input("spinal_sensitization", "dimensionless", 0.0, "glia module (0 when absent)")

    eps = m.parameter("pain_load_eps", 0.01, "dimensionless",
                      "assumed: same numerical bound on the occupancy odds as the adaptation module")
    h = m.parameter("pain_load_exponent", 0.75, "dimensionless",
                    "same compression of the agonist load as adapt_load_exponent (calibrated there to "
                    "the withdrawal time courses)")
    D = m.parameter("nociceptive_drive", 0.0, "dimensionless",
                    "pain condition (0 = none). Documented values: chronic non-cancer pain 1.5 (untreated "
                    "NRS 6), cancer pain 2.3 (untreated NRS 7) — assumed from the usual baseline NRS 6–7 of "
                    "opioid trials in these populations",
                    variability=lognormal(0.4), description="nociceptive input of the pain condition")
    s_per = m.parameter("peripheral_sensitization", 0.0, "dimensionless",
                        "condition parameter (0 = none): relative gain of peripheral nociceptors "
                        "(inflammatory or neuropathic sensitisation; seed 004)",
                        description="peripheral sensitisation gain")
    emax = m.parameter("analgesia_emax", 0.8, "dimensionless",
                       "assumed: opioids relieve at most ~80% of pain intensity (cold-pressor and clinical "
                       "pain are rarely abolished at tolerable doses)", lower=0.0, upper=1.0)
    s50 = m.parameter("analgesia_s50", 1.0, "dimensionless",
                      "assumed: half-maximal relief at half-maximal μ activation (stimulus 1 = load 1); "
                      "between-patient variability reflects OPRM1 and other differences",
                      variability=lognormal(0.4), description="μ stimulus for half-maximal analgesia")
    k_oih = m.parameter("oih_rate", 6.9e-4, "1/h",
                        "calibrated to pain.oih (hyperalgesia still growing between 4–8 and 12–18 weeks "
                        "of maintenance, Compton et al., J Pain 2012;13:401): t½ 1000 h (~6 weeks)",
                        variability=lognormal(0.4), description="rate of opioid-induced hyperalgesia")
    k_off = m.parameter("oih_recovery_rate", 7.9e-5, "1/h",
                        "assumed: t½ 1 year — abnormal nociception persists months after detoxification "
                        "(Eisenberg et al., Drug Alcohol Depend 2008)",
                        variability=lognormal(0.5), description="reversal rate of opioid-induced hyperalgesia")
    a_oih = m.parameter("oih_gain", 1.0, "dimensionless",
                        "assumed: full central sensitisation (OIH, glial, or both: the shared pathway C = 1) "
                        "doubles pain sensitivity — maintained patients tolerate the cold pressor for roughly "
                        "half as long as controls (Compton et al. 2000, 2001; Doverty et al., Pain 2001;90:91)",
                        variability=lognormal(0.5), description="gain of central sensitisation on pain sensitivity")
    a_wd = m.parameter("withdrawal_hyperalgesia_gain", 1.0, "dimensionless",
                       "assumed: a severe rebound (unopposed counter-adaptation 1) doubles pain sensitivity. "
                       "Hyperalgesia is part of withdrawal: naloxone-precipitated withdrawal after a single opioid "
                       "dose lowered cold-pressor threshold and tolerance to ~70% of baseline in healthy men (Compton, "
                       "Athanasos & Elashoff, J Pain 2003;4:511; abstract read; n = 4) — the size, not the rebound "
                       "that produced it, so the gain stays assumed",
                       description="gain of withdrawal (unopposed counter-adaptation) on pain sensitivity")
    a_sp = m.parameter("spinal_sensitization_gain", 1.0, "dimensionless",
                       "assumed: maximal spinal/DRG neuro-immune sensitisation takes the whole shared dorsal-horn "
                       "pathway (microglial BDNF → KCC2, Coull et al. 2005; Ferrini et al. 2013)",
                       lower=0.0, upper=1.0)
    a_gl = m.parameter("glial_pain_gain", 0.5, "dimensionless",
                       "assumed: maximal supraspinal glial activation takes half of the shared pathway "
                       "(seed 004, Su et al. 2022)", lower=0.0, upper=1.0)
    t_ctrl = m.parameter("cold_pressor_control", 40.0, "s",
                         "assumed ~ healthy-control means of 30–60 s in the cold-pressor studies of "
                         "Compton et al. 2000/2001/2012 and Doverty et al. 2001 (UNCONFIRMED exact value)",
                         variability=lognormal(0.6), description="drug-free cold-pressor tolerance")
    t_cap = m.parameter("cold_pressor_ceiling", 180.0, "s",
                        "test ceiling: 180 s chosen among the usual 180–300 s cut-offs")
    k_cap = m.parameter("cold_pressor_cap_sharpness", 4.0, "dimensionless",
                        "assumed: smoothness of the ceiling (numerical)")
    e_cp = m.parameter("cold_pressor_analgesia_emax", 0.4, "dimensionless",
                       "calibrated (data/calibration.yaml): maximal μ relief of cold-pressor pain, derived from one "
                       "point — morphine 5 mg IV lowers cold-pressor pain ratings 25% at 35 min (Watso et al., Am J "
                       "Physiol Heart Circ Physiol 2022), where the model's S_a/(S_a + S50) is 0.60; half the clinical "
                       "analgesia_emax (equation 5)", lower=0.0, upper=1.0)

    H = m.state("oih_level", "dimensionless", 0.0, "opioid-induced hyperalgesia (0 none … 1 full)")
    Ta = _analgesic_tolerance(m, T)
    x = A / (1 - A + eps)
    S = x ** h
    Sa = S * (1 - Ta)
    relief = m.assign("analgesia_fraction", emax * Sa / (Sa + s50), "dimensionless",
                      "fraction of pain intensity relieved by μ agonism")
    d = 0.01
    t_pos = (T + sp.sqrt(T ** 2 + d ** 2)) / 2 * T ** 2 / (T ** 2 + d ** 2)
    m.ode(H, k_oih * t_pos * (1 - H) - k_off * H)
    central = m.assign("central_sensitization", 1 - (1 - H) * (1 - a_sp * Z) * (1 - a_gl * G), "dimensionless",
                       "share of the dorsal-horn pathway taken by OIH and glial sensitisation (0 none … 1 full)",
                       interface=True)
    gs = m.assign("pain_sensitivity", (1 + s_per) * (1 + a_oih * central + a_wd * U),
                  "dimensionless", "pain sensitisation gain (1 = healthy, drug-free)")
    q = D * gs * (1 - relief)
    m.assign("pain_nrs", 10 * q / (1 + q), "dimensionless", "pain intensity, numeric rating scale 0–10",
             interface=True)
    relief_cp = m.assign("cold_pressor_analgesia", e_cp * Sa / (Sa + s50), "dimensionless",
                         "fraction of cold-pressor pain intensity relieved by μ agonism (equation 5)")
    t_raw = m.assign("cold_pressor_raw", t_ctrl / (gs * (1 - relief_cp)), "s",
                     "cold-pressor tolerance before the test ceiling")
    m.assign("cold_pressor_tolerance", t_cap * (1 + (t_cap / t_raw) ** k_cap) ** (-1 / k_cap), "s",
             "cold-pressor tolerance (s), capped at the 180 s test ceiling", interface=True)
    return m


def _analgesic_tolerance(m: Module, T):
    """T_a of equation 1: the adaptation module's tolerance_level T as the fast phase, its slowly
    equilibrating copy T_s as the slow phase (Cox et al. 1975), half of the log potency fold each."""
    k_s = m.parameter("analgesic_tolerance_slow_rate", round(0.693 / (13.2 * 24.0), 6), "1/h",
                      "Cox, Ginsburg, Willis & Davies, Br J Pharmacol 1975 (doi:10.1111/j.1476-5381.1975.tb07374.x; "
                      "abstract read): the slow phase of the offset of opioid analgesic tolerance (after morphine, "
                      "methadone or diamorphine, any regimen) had a half-time of 13.2 ± 0.53 d in rats (17.4 d in "
                      "mice); taken for its onset too (assumed). No between-patient variability: no human spread "
                      "is known (Cox's ± is a standard error)",
                      description="rate k_s of the slow phase of analgesic tolerance")
    w_s = m.parameter("analgesic_tolerance_slow_share", 0.5, "dimensionless",
                      "assumed: half of the log potency fold in the slow phase — Cox et al. 1975 give the phases' "
                      "rates, not their amplitudes; the same split as the breathing tolerance's two phases "
                      "(respiration module, equation 4); no between-patient variability (the split itself is unknown)",
                      lower=0.0, upper=1.0,
                      description="share w of analgesic tolerance (log potency fold) in the slow phase")
    Ts = m.state("analgesic_tolerance_slow", "dimensionless", 0.0,
                 "slow phase of analgesic tolerance: tolerance_level followed with t½ ~2 weeks (Cox 1975); 0 naive")
    m.ode(Ts, k_s * (T - Ts))
    return m.assign("analgesic_tolerance_level", 1 - (1 - T) ** (1 - w_s) * (1 - Ts) ** w_s, "dimensionless",
                    "fraction of acute analgesic μ potency lost, fast and slow phases (0 naive; equation 1)")
