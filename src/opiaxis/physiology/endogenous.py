"""endogenous — endogenous opioid peptides, their competition with drugs, and regional μ PET.

Peptides (each a tone relative to the resting healthy level, 1 = basal):

* **β-endorphin** (POMC; μ, also δ) and **enkephalins** (proenkephalin; δ and μ): basal release,
  stress-driven release (cortisol excess, withdrawal), suppressed by chronic exogenous μ agonism
  (chronic opioid users have low β-endorphin; e.g. Ho et al., Life Sci 1980;27:1211 — recalled),
  first-order turnover  dB/dt = k_B·(release_B − B).
* **dynorphins** (prodynorphin; κ): released by stress (CRF→dynorphin/κ coupling, Land et al.,
  J Neurosci 2008;28:407; Bruchas, Land & Chavkin, Brain Res 2010;1314:44), up-regulated by
  chronic opioid exposure and withdrawal (Koob's "dark side", Koob, Neuron 2008;59:11) and by a
  sustained depressive state (chronic stress induces CREB-driven prodynorphin in the nucleus
  accumbens, Knoll & Carlezon, Brain Res 2010;1314:56; learned helplessness, the rat model of
  depression, raises dynorphin A and B in nucleus accumbens and hippocampus, where κ blockade is
  antidepressant-like, Shirayama et al., J Neurochem 2004;90:1258):
  dD/dt = k_D·(1 + g·stress + g_wd·withdrawal + g_tol·tolerance + g_M·M⁺ − D), M⁺ the positive
  part of the mood module's latent depressive state (0 in a euthymic person, so rest is unchanged).
* **nociceptin/orphanin FQ** (NOP): stress-released (Witkin et al., Pharmacol Ther
  2014;141:283), dN/dt = k_N·(1 + g·stress − N).

Social events (seed 001 Fig. 3; Hsu et al., Mol Psychiatry 2013;18:1211 and 2015;20:193):
two states, ``social_rejection`` and ``social_acceptance`` (dimensionless intensity, 1 = the
Hsu "not liked"/"liked" feedback paradigm), are **dose targets** ``social.rejection`` and
``social.acceptance``: an event-table row with ``CMT = social.rejection`` adds AMT to the state
(bolus), or, with RATE > 0, feeds it at RATE per hour for AMT/RATE h, so that during a
sustained challenge the state plateaus at RATE/k_social. The regimen shorthand cannot express a
non-drug event (it needs a drug route); :func:`social_events` builds the rows. Social rejection
releases endogenous μ ligand region by region (Hsu 2013: ventral striatum/NAcc, amygdala, midline
thalamus, PAG; acceptance: amygdala and anterior insula activation, thalamus and sgACC
deactivation). The release capacity is lower in people with a depression history (Hsu 2015:
MDD patients release less μ-opioid during rejection); this trait deficit is an assumed parameter.

Competition with drugs: the receptors module computes drug occupancies without the
endogenous ligands in its competitive denominator. Here each endogenous ligand binds the
receptors that drugs leave free: occ_endo = x/(1+x)·(1 − occ_drug), x = tone·x0 (x0 = ligand
level over its apparent K at rest). This equals the exact competitive solution
x·(1−ΣRL_k)/(1+Σx_i+x) to first order in x (x ≤ ~0.2 here), so drugs displace endogenous
ligands (naltrexone/samidorphan block endogenous μ tone; aticaprant/buprenorphine block
dynorphin–κ signalling) while the (small) reverse effect on drug occupancy is neglected.

Receptor density: people differ in how many μ receptors they express (a person-level relative
B_max, ``mor_density``, 1 = typical). Density scales every regional BPND (BPND ∝ B_max/K_D) and
the endogenous μ *signal* that reaches downstream circuits (``mor_endogenous_signal`` = density ×
endogenous occupancy: fewer receptors, less tonic signalling at the same peptide level), which the
mood module reads. Lower μ availability therefore goes with a weaker antidepressant endogenous
tone — the mechanism behind the negative correlation of [11C]carfentanil BPND with depressive
symptoms across people (Nummenmaa et al., Neuropsychopharmacology 2020;45:1953; seed 001).

PET read-out ([11C]carfentanil binding potential, BPND, reference region occipital cortex):
BPND_r = BPND0_r · density · A_drug · (1 + x0)/(1 + x_r), where A_drug = ``mor_availability_pet`` from the
receptors module (drug displacement, with buprenorphine's PET ceiling) and x_r the regional
endogenous μ-ligand level; (1+x0)/(1+x_r) is the fraction of receptors freed/occupied by
endogenous release relative to the resting scan, so BPND0_r is the measured resting value
(which already includes basal endogenous occupancy). Regions: nucleus accumbens/ventral
striatum, amygdala, thalamus, insula, anterior cingulate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sympy as sp

from ..model.core import Module, lognormal
from .reward import positive_part

REGIONS = {
    # name: (resting BPND, weight of rejection-induced release, weight of acceptance-induced release)
    "nacc": (3.0, 1.0, 0.3),
    "amygdala": (2.6, 0.9, 0.6),
    "thalamus": (3.2, 0.8, -0.4),
    "insula": (2.0, 0.2, 0.6),
    "acc": (1.8, 0.5, -0.3),
}
REGION_NAMES = {"nacc": "nucleus accumbens / ventral striatum", "amygdala": "amygdala",
                "thalamus": "midline thalamus", "insula": "anterior insula",
                "acc": "anterior cingulate cortex"}
BPND_SOURCE = ("assumed: resting [11C]carfentanil BPND (occipital reference) of the order reported in "
               "healthy adults by the Zubieta group (e.g. Zubieta et al., Science 2001;293:311; Hsu et al., "
               "Mol Psychiatry 2013;18:1211): thalamus and striatum highest (~3), amygdala ~2.5, insula ~2, "
               "ACC lowest (~1.5–2); values not read from a table")


def _stress_drive(m: Module, cort, rej):
    """Stress drive of peptide release: cortisol excess (smooth, 0 at rest) and social rejection."""
    g_cort = m.parameter("endo_cortisol_gain", 0.5, "dimensionless",
                         "assumed: stress co-releases POMC products and dynorphin; a doubling of cortisol "
                         "raises peptide release by half (direction: Bruchas 2010; magnitude not measured)")
    # smooth max(cortisol_rel − 1, 0), shifted so that it is exactly 0 at cortisol_rel = 1
    cort_ex = (sp.log(1 + sp.exp(4 * (cort - 1))) - sp.log(2)) / 4
    stress = m.assign("endo_stress_drive", g_cort * cort_ex + rej, "dimensionless",
                      "stress drive of peptide release: cortisol excess (smooth, 0 at rest) and social rejection")
    return stress


def _mu_delta_peptides(m: Module, ago, stress):
    """μ/δ peptides: β-endorphin and enkephalin tone."""
    k_b = m.parameter("beta_endorphin_rate", 1.0, "1/h",
                      "assumed: central β-endorphin turnover of the order of an hour (plasma t½ ~20–40 min; "
                      "brain peptide pools turn over more slowly)")
    k_e = m.parameter("enkephalin_rate", 4.0, "1/h", "assumed: enkephalins are degraded within minutes by "
                      "enkephalinases; release-limited turnover t½ ~10 min")
    g_b = m.parameter("endorphin_stress_gain", 0.3, "dimensionless",
                      "assumed: stress-evoked β-endorphin release (+30% per unit stress drive)")
    s_ago = m.parameter("endorphin_agonist_suppression", 0.5, "dimensionless",
                        "assumed: chronic exogenous μ agonism halves POMC/β-endorphin release at full "
                        "agonism (low β-endorphin in heroin users; recalled, magnitude assumed)")
    B = m.state("beta_endorphin_tone", "dimensionless", 1.0, "central β-endorphin relative to rest")
    E = m.state("enkephalin_tone", "dimensionless", 1.0, "central enkephalins relative to rest")
    supp = 1 - s_ago * ago
    m.ode(B, k_b * ((1 + g_b * stress) * supp - B))
    m.ode(E, k_e * ((1 + g_b * stress) * supp - E))
    return B, E


def _dynorphin_nociceptin(m: Module, tol, wd, stress, mood):
    """Dynorphin (κ) and nociceptin (NOP) tone, driven by stress, withdrawal, tolerance and (dynorphin)
    a depressive state."""
    k_d = m.parameter("dynorphin_rate", 0.5, "1/h", "assumed: dynorphin release/turnover t½ ~1.4 h")
    g_d = m.parameter("dynorphin_stress_gain", 0.5, "dimensionless",
                      "assumed: stress raises dynorphin release by half per unit stress drive (CRF→dynorphin, "
                      "Land et al., J Neurosci 2008;28:407)")
    g_dwd = m.parameter("dynorphin_withdrawal_gain", 0.5, "dimensionless",
                        "assumed: withdrawal recruits dynorphin/κ (Koob, Neuron 2008;59:11)")
    g_dtol = m.parameter("dynorphin_tolerance_gain", 0.25, "dimensionless",
                         "assumed: chronic opioid exposure up-regulates prodynorphin (Koob 2008; striatal "
                         "prodynorphin up-regulation in heroin users, Hurd lab post-mortem work, recalled) — "
                         "+25% at full tolerance")
    g_dm = m.parameter("dynorphin_depression_gain", 0.5, "dimensionless",
                       "assumed: a major depressive episode (latent state 1) recruits dynorphin as much as full "
                       "withdrawal does (dynorphin_withdrawal_gain 0.5): both are the sustained-stress state in which "
                       "dynorphin/κ signalling is up-regulated (Knoll & Carlezon, Brain Res 2010;1314:56; Chavkin & "
                       "Koob, Neuropsychopharmacology 2016;41:373); direction from chronic-stress models (learned "
                       "helplessness raises NAc and hippocampal dynorphin A/B, Shirayama et al., J Neurochem "
                       "2004;90:1258), no human magnitude (KOR availability does not differ in MDD, Miller et al. 2018, "
                       "but availability does not measure release); not fitted; no between-patient variability (no human magnitude to "
                       "spread)",
                       description="dynorphin release added per unit of depressive state")
    Dy = m.state("dynorphin_tone", "dimensionless", 1.0, "central dynorphins relative to rest")
    m.ode(Dy, k_d * (1 + g_d * stress + g_dwd * wd + g_dtol * tol + g_dm * positive_part(mood, 0.02) - Dy))
    k_n = m.parameter("nociceptin_rate", 1.0, "1/h", "assumed: peptide turnover of the order of an hour")
    g_n = m.parameter("nociceptin_stress_gain", 0.3, "dimensionless",
                      "assumed: stress-evoked N/OFQ release (Witkin 2014, direction only)")
    N = m.state("nociceptin_tone", "dimensionless", 1.0, "central nociceptin/orphanin FQ relative to rest")
    m.ode(N, k_n * (1 + g_n * stress - N))
    return Dy, N


def _binding(m: Module, dep, B, E, rej, acc, Dy, mor_occ, kor_occ, dor_occ, N, nop_occ):
    """Binding: endogenous ligands take the receptors drugs leave free."""
    x_mu0 = m.parameter("endogenous_mu_ratio", 0.1, "dimensionless",
                        "assumed: resting endogenous μ-ligand level over its apparent K (basal occupancy ~9%); "
                        "with the release gain it gives rejection-induced BPND falls of ~5–8% in healthy "
                        "controls, the order of the Hsu 2013 effects",
                        description="resting x = [ligand]/K of endogenous μ ligands")
    x_k0 = m.parameter("endogenous_kappa_ratio", 0.25, "dimensionless",
                       "assumed: resting dynorphin κ occupancy ~20% (tonic dynorphin/κ signalling)")
    x_d0 = m.parameter("endogenous_delta_ratio", 0.15, "dimensionless", "assumed: resting enkephalin δ occupancy ~13%")
    x_n0 = m.parameter("endogenous_nop_ratio", 0.15, "dimensionless", "assumed: resting N/OFQ NOP occupancy ~13%")
    cap = m.parameter("social_release_capacity", 1.0, "dimensionless",
                      "assumed: healthy release capacity (1); varies between people (Hsu 2013: resiliency "
                      "correlated with MOR activation)", variability=lognormal(0.3),
                      description="capacity for socially evoked μ-opioid release")
    deficit = m.parameter("mdd_release_deficit", 0.5, "dimensionless",
                          "assumed: people with a depression history release about half as much μ-opioid "
                          "during rejection (Hsu et al., Mol Psychiatry 2015;20:193 report a reduction, "
                          "magnitude not read); direction only", lower=0.0, upper=1.0)
    a_rej = m.parameter("rejection_release_gain", 1.4, "dimensionless",
                        "calibrated: relative rise of regional endogenous μ ligand per unit rejection signal "
                        "(1 = Hsu paradigm), chosen so a healthy control's NAcc BPND falls ~7% (order of Hsu "
                        "2013 effects; direction and order only)")
    a_acc = m.parameter("acceptance_release_gain", 0.5, "dimensionless",
                        "assumed: acceptance releases less than rejection (Hsu 2013: fewer and smaller effects)")
    eff_cap = m.assign("social_release_capacity_effective", cap * (1 - deficit * dep), "dimensionless",
                       "socially evoked release capacity after the depression-history deficit")
    mu_tone = m.assign("mu_endogenous_tone", (B + E) / 2, "dimensionless",
                       "global endogenous μ-ligand tone (β-endorphin and enkephalins) relative to rest")

    wsum_rej = sum(w for _, w, _ in REGIONS.values()) / len(REGIONS)
    wsum_acc = sum(w for _, _, w in REGIONS.values()) / len(REGIONS)
    soc_mean = m.assign("social_mu_release", eff_cap * (a_rej * wsum_rej * rej + a_acc * wsum_acc * acc),
                        "dimensionless", "brain-average socially evoked μ-ligand release (relative to rest)",
                        interface=True)
    x_mu = x_mu0 * (mu_tone + soc_mean)
    m.assign("endorphin_effect", x_mu, "dimensionless",
             "endogenous μ-ligand level at the receptor over its apparent K (global)", interface=True)
    m.assign("dynorphin_effect", x_k0 * Dy, "dimensionless",
             "dynorphin level at κ receptors over its apparent K", interface=True)
    occ_mu = m.assign("mor_endogenous_occupancy", x_mu / (1 + x_mu) * (1 - mor_occ), "dimensionless",
                      "μ receptors occupied by endogenous ligands (of those drugs leave free)", interface=True)
    m.assign("mor_endogenous_agonism", occ_mu, "dimensionless", "endogenous μ signal (full agonists)",
             interface=True)
    density = m.parameter("mor_density", 1.0, "dimensionless",
                          "assumed: person-level relative μ-receptor density (B_max), 1 = typical; between-person "
                          "CV 0.2 assumed, the order of the between-subject spread of whole-brain [11C]carfentanil "
                          "BPND in healthy adults (Kantonen et al., NeuroImage 2020;217:116922, n = 204; spread not "
                          "read from a table)", variability=lognormal(0.2),
                          description="relative μ-opioid receptor density of this person")
    m.assign("mor_endogenous_signal", density * occ_mu, "dimensionless",
             "endogenous μ signalling reaching downstream circuits: receptor density × endogenous occupancy",
             interface=True)
    xk = x_k0 * Dy
    m.assign("kor_endogenous_agonism", xk / (1 + xk) * (1 - kor_occ), "dimensionless",
             "dynorphin κ signal (full agonists) on receptors drugs leave free", interface=True)
    xd = x_d0 * E
    m.assign("dor_endogenous_agonism", xd / (1 + xd) * (1 - dor_occ), "dimensionless",
             "enkephalin δ signal on receptors drugs leave free", interface=True)
    xn = x_n0 * N
    m.assign("nop_endogenous_agonism", xn / (1 + xn) * (1 - nop_occ), "dimensionless",
             "N/OFQ NOP signal on receptors drugs leave free", interface=True)
    return x_mu0, a_rej, a_acc, eff_cap, mu_tone, density


def _regional_pet(m: Module, x_mu0, mu_tone, eff_cap, pet, rej, acc, density, a_rej, a_acc):
    """Regional [11C]carfentanil BPND and the regional weights of social release."""
    for r, (bp0, w_rej, w_acc) in REGIONS.items():
        bp = m.parameter(f"bpnd0_{r}", bp0, "dimensionless", BPND_SOURCE, variability=lognormal(0.15),
                         description=f"resting [11C]carfentanil BPND, {REGION_NAMES[r]}")
        wr = m.parameter(f"rejection_weight_{r}", w_rej, "dimensionless",
                         "assumed from Hsu et al. 2013 (rejection activated MOR in ventral striatum, amygdala, "
                         "midline thalamus; weak elsewhere) and seed 001 Fig. 3")
        wa = m.parameter(f"acceptance_weight_{r}", w_acc, "dimensionless",
                         "assumed from Hsu et al. 2013 (acceptance: activation in amygdala and anterior insula, "
                         "deactivation in midline thalamus and sgACC)")
        xr = x_mu0 * (mu_tone + eff_cap * (a_rej * wr * rej + a_acc * wa * acc))
        m.assign(f"mor_bpnd_{r}", bp * density * pet * (1 + x_mu0) / (1 + xr), "dimensionless",
                 f"[11C]carfentanil BPND, {REGION_NAMES[r]}: drug occupancy and endogenous release",
                 interface=True)


def build(drugs=None) -> Module:
    m = Module("endogenous", __doc__)
    mor_occ = m.input("mor_occupancy_central", "dimensionless", 0.0, "receptors module (0 without drugs)")
    kor_occ = m.input("kor_occupancy", "dimensionless", 0.0, "receptors module (0 without drugs)")
    dor_occ = m.input("dor_occupancy", "dimensionless", 0.0, "receptors module (0 without drugs)")
    nop_occ = m.input("nop_occupancy", "dimensionless", 0.0, "receptors module (0 without drugs)")
    ago = m.input("mor_agonism_central", "dimensionless", 0.0, "receptors module (0 without drugs)")
    pet = m.input("mor_availability_pet", "dimensionless", 1.0, "receptors module (1 without drugs)")
    cort = m.input("cortisol_rel", "dimensionless", 1.0, "hpa module (healthy baseline 1 when absent)")
    wd = m.input("withdrawal_signal", "dimensionless", 0.0, "adaptation module (0 when absent)")
    tol = m.input("tolerance_level", "dimensionless", 0.0, "adaptation module (0 when absent)")
    dep = m.input("depression_history", "dimensionless", 0.0,
                  "covariate (population/covariates.py; 1 = history of major depression); 0 for a healthy "
                  "adult. Declared as an input so every module can share the covariate")
    mood = m.input("mood_state", "dimensionless", 0.0, "mood module latent depressive state (0 euthymic when absent)")

    # --- social events --------------------------------------------------------------------
    k_soc = m.parameter("social_signal_rate", 3.0, "1/h",
                        "assumed: the affective impact of a social-feedback episode fades within ~15–30 min "
                        "after it ends (t½ ~14 min); sets the plateau RATE/k of a sustained challenge",
                        description="first-order decay of the social event signals")
    rej = m.state("social_rejection", "dimensionless", 0.0, "social-rejection signal (1 = Hsu paradigm)")
    acc = m.state("social_acceptance", "dimensionless", 0.0, "social-acceptance signal (1 = Hsu paradigm)")
    m.ode(rej, -k_soc * rej)
    m.ode(acc, -k_soc * acc)
    m.dose_target("social.rejection", rej, amount_unit="dimensionless",
                  description="social rejection event; AMT = intensity (bolus) or RATE = intensity·k_social")
    m.dose_target("social.acceptance", acc, amount_unit="dimensionless",
                  description="social acceptance event; AMT = intensity (bolus) or RATE = intensity·k_social")
    stress = _stress_drive(m, cort, rej)
    B, E = _mu_delta_peptides(m, ago, stress)
    Dy, N = _dynorphin_nociceptin(m, tol, wd, stress, mood)
    x_mu0, a_rej, a_acc, eff_cap, mu_tone, density = _binding(m, dep, B, E, rej, acc, Dy, mor_occ, kor_occ,
                                                              dor_occ, N, nop_occ)
    _regional_pet(m, x_mu0, mu_tone, eff_cap, pet, rej, acc, density, a_rej, a_acc)
    return m


def social_events(ids, kind: str = "rejection", start: float = 0.0, duration: float | None = 0.5,
                  intensity: float = 1.0, rate: float = 3.0) -> pd.DataFrame:
    """Event-table rows (columns ``ID, TIME, EVID, AMT, CMT, RATE, II, ADDL``) for a social event.

    ``kind``: ``"rejection"`` or ``"acceptance"`` (CMT ``social.<kind>``); ``start`` in h;
    ``intensity``: 1 = the Hsu et al. (2013) "not liked"/"liked" feedback paradigm. With a
    ``duration`` (h) the event is a zero-order input RATE = intensity·``rate`` (``rate`` should be
    the patient's ``social_signal_rate``, default 3 /h) for ``duration`` h, so the signal plateaus at
    ``intensity``; with ``duration=None`` it is a bolus of AMT = intensity. Concatenate with drug
    rows and pass through :func:`opiaxis.dosing.expand_doses` (or read from CSV with
    :func:`opiaxis.dosing.read_event_table`).
    """
    if kind not in ("rejection", "acceptance"):
        raise ValueError(f"kind must be 'rejection' or 'acceptance', got {kind!r}")
    if not intensity > 0:
        raise ValueError("intensity must be > 0")
    ids = list(np.atleast_1d(ids))
    if duration is None:
        amt, r = float(intensity), 0.0
    else:
        if not duration > 0:
            raise ValueError("duration must be > 0 h")
        r = float(intensity) * float(rate)
        amt = r * float(duration)
    return pd.DataFrame({"ID": ids, "TIME": float(start), "EVID": 1, "AMT": amt, "CMT": f"social.{kind}",
                         "RATE": r, "II": 0.0, "ADDL": 0})
