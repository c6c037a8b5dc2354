"""Mood and endogenous-opioid targets (targets.md, "Mood and endogenous opioids (seed 001)").

Each target mirrors its study: who (covariates, current episode or not), what (drugs, social
challenge, trial arms), when (lead-in, treatment weeks), read-out (MADRS, BPND). Per-patient
randomness (placebo response, rater noise, arm) comes from the patient's own streams
(:mod:`opiaxis.trials`), so a patient's draws do not depend on cohort size or chunking.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import dosing
from ..engine import simulate
from ..models import default_model
from ..population import virtual_cohort
from ..population.covariates import covariate_specs
from ..streams import Purpose, Streams
from ..dosing import EventTable
from .registry import target

SEED = 20240505
NUMMENMAA_N = 135  # healthy adults with [11C]carfentanil PET and BDI-II (Nummenmaa et al. 2020)
MADRS_CASE = 20.0  # moderate depression (Müller et al., J Affect Disord 2003;77:255: MADRS 20–34)


# ----------------------------------------------------------------------------------------------
def cohort(model, ids, seed: int, covariates: dict | None = None, parameters: dict | None = None,
           per_patient: dict | None = None) -> tuple[np.ndarray, pd.DataFrame]:
    """Parameter matrix and covariate table of a virtual cohort (own streams per patient)."""
    P, cov = virtual_cohort(model, ids, seed, overrides=parameters or {}, covariates=covariate_specs(covariates or {}))
    for name, values in (per_patient or {}).items():
        P[:, model.param_index[name]] = values
    return P, cov


def patient_normal(seed: int, ids, stream: int) -> np.ndarray:
    from ..streams import Purpose, Streams
    return Streams(seed).normals(ids, Purpose.TRIAL, 1, stream)[:, 0]


def hedges_g(a: np.ndarray, b: np.ndarray) -> float:
    """Standardised mean difference (a − b) with the small-sample correction."""
    na, nb = len(a), len(b)
    sp_ = np.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
    return float((a.mean() - b.mean()) / sp_ * (1 - 3 / (4 * (na + nb) - 9)))


# ----------------------------------------------------------------------------------------------
GENERAL_POPULATION = {
    "depression_history": {"p": 0.166},   # lifetime MDD 16.6% (Kessler et al., Arch Gen Psychiatry 2005;62:593)
    "early_life_adversity": {"p": 0.125},  # ACE >= 4 in 12.5% (Felitti et al., Am J Prev Med 1998;14:245)
    "chronic_pain": {"p": 0.2},
}


# The OUD cohort's heroin (decided from street and treatment data before the target was re-run;
# design memo docs/design/heroin-potency.md, "Doses on the street and in treatment"). Santo 2022
# pools people with OUD in the community and in treatment, i.e. street users, not the refractory
# users of heroin-assisted treatment (HAT), whose doses are the upper bound.
# - Frequency: 3 injections a day. NDARC's working definition of a dependent heroin user is use
#   2-3 times a day (NSW Druginfo, quoted); 70% of Sydney injectors injected more than once a day
#   (NSW IDRS 1999, NDARC Technical Report 86); HAT trials give at most 3 supervised injections a
#   day (NAOMI, Oviedo-Joekes et al., NEJM 2009;361:777; German HAT, NCT00268814: "3x/d").
#   The former q6h (4 a day, assumed) is the upper end of street use and above HAT's schedule.
# - Amount (mg diacetylmorphine base): street caps in Melbourne hold a median 12.0 mg (IQR 6.6,
#   range 0.4-111; Stam et al., 983 seizures, 2012-13); among UK injectors 70% used < 0.5 g street
#   heroin a day, 19% 0.5-0.75 g, 11% more (Gossop et al. 1988, via IDMU's review), i.e. at 30-50%
#   purity mostly < 150-250 mg a day; HAT's refractory users take 200-690 mg/day IV (Gyr et al.,
#   Int J Clin Pharmacol Ther 2000;38:486), 300-400 mg/day is what stops topping up from the street
#   (Parry, via IDMU), ceiling 1000 mg/day (NAOMI; Dutch trials, Blanken et al., Addiction 2005).
# So tertiles of 60 / 120 / 240 mg a day (20 / 40 / 80 mg per injection, q8h): a low street habit
# (~2 Melbourne caps an injection), the typical one, and a heavy one still below HAT's 300-400 mg.
# Was 15 / 25 / 40 mg q6h (60 / 100 / 160 mg a day, assumed). Not fitted to the target.
OUD_HEROIN_DOSES_MG = (20, 40, 80)
OUD_HEROIN_INTERVAL = "q8h"


def prevalence(model=None, n: int = 300, weeks: int = 4, population: str = "oud", seed: int = SEED) -> dict:
    """Point prevalence of current depression (MADRS >= 20) after ``weeks`` of the population's
    exposure: ``"oud"`` = chronic heroin users (IV heroin q8h, 20/40/80 mg by patient, see
    ``OUD_HEROIN_DOSES_MG``; default OUD covariates), ``"general"`` = adults without opioids
    (general-population covariates)."""
    model = model or default_model()
    from ..trials import choose
    ids = np.arange(1, n + 1)
    covs = GENERAL_POPULATION if population == "general" else {}
    P, cov = cohort(model, ids, seed, covs)
    t_end = weeks * 168.0
    times = np.concatenate([[0.0], t_end - 24 + np.arange(0, 24, 0.5)])  # last day of exposure
    if population == "oud":
        doses_by = np.array(choose(ids, seed, list(OUD_HEROIN_DOSES_MG)))
        heroin = sum((EventTable.from_regimens(model, f"heroin {d} mg IV {OUD_HEROIN_INTERVAL} for {weeks * 7 + 1} d")
                      .for_ids(ids[doses_by == d]) for d in OUD_HEROIN_DOSES_MG), EventTable())
        doses = heroin.expanded()
    else:
        doses = None
    r = simulate(model, P, times, doses, ids=ids)
    ok = ~r.failed
    # a current episode: the latent state is past the separatrix, or the euthymic state no longer
    # exists at the drive the exposure has settled to (the episode is under way; Santo 2022 surveys
    # people with long-standing OUD, so the steady state is the comparison)
    drive = r.get("mood_drive")[:, 1:].mean(axis=1)
    c = P[:, model.param_index["mood_cubic_gain"]]
    th = P[:, model.param_index["mood_threshold"]]
    grid = np.linspace(0, 1, 2001)[None, :] * th[:, None]
    d_up = c * np.max(grid * (grid - th[:, None]) * (grid - 1), axis=1)
    state = r.get("mood_state")[:, -1]
    case = ((drive > d_up) | (state > th))[ok]
    madrs = r.get("madrs")[:, -1]
    hist = cov["depression_history"].to_numpy()[ok] > 0.5
    return {"prevalence %": 100 * float(case.mean()), "n": int(ok.sum()),
            "MADRS >= 20 at end %": 100 * float((madrs[ok] >= MADRS_CASE).mean()),
            "mean drive": float(drive[ok].mean()),
            "prevalence % (depression history)": 100 * float(case[hist].mean()) if hist.any() else float("nan"),
            "prevalence % (no history)": 100 * float(case[~hist].mean()) if (~hist).any() else float("nan")}


@target("mood.oud.prevalence",
        finding="current depression in 36.1% (32.4–39.7) of people with OUD",
        band="30–42%",
        source="Santo et al., Drug Alcohol Depend 2022;238:109551",
        calibration="the between-person SD of the mood drive (mood_trait_offset) was fitted to a general-population "
                    "12-month MDD prevalence of 6.6% (Kessler 2003, NCS-R; opiaxis calibrate mood.spread), not to OUD data; the OUD prevalence is a "
                    "prediction. Caveat: the default OUD covariate depression_history (p 0.36) was itself set from "
                    "Santo 2022 by the population module, and a history is the largest single drive term. The OUD-specific "
                    "drive terms (dynorphin_tolerance_gain, mood_weight_il6, mood_weight_kappa) were adjusted with "
                    "this target in view, so it is not an independent test. Issue 14 added two links that were not fitted to it: "
                    "central cytokines → mood (mood_weight_central_cytokines, set equal to the IL-6 weight) and the "
                    "depressive state's CRH drive (hpa_depression_gain, assumed from the MDD cortisol literature). "
                    "The cohort's heroin (20/40/80 mg IV q8h, was 15/25/40 mg q6h assumed) was re-anchored to street "
                    "and heroin-assisted-treatment data (OUD_HEROIN_DOSES_MG's comment) after 6-MAM's potency "
                    "correction left this target missed; the doses were chosen from the data before the target was "
                    "re-run, not chosen among scored alternatives (the two counterfactuals in docs/design/heroin-potency.md "
                    "were run afterwards, to attribute the change), so they are not fitted to it")
def _prevalence(n: int = 300, seed: int = SEED):
    v = prevalence(n=n, seed=seed)
    g = prevalence(n=n, population="general", seed=seed)
    value = {"OUD prevalence %": v["prevalence %"], "OUD MADRS >= 20 at week 4 %": v["MADRS >= 20 at end %"],
             "OUD prevalence % (history)": v["prevalence % (depression history)"],
             "OUD prevalence % (no history)": v["prevalence % (no history)"],
             "general-population prevalence % (calibration, 6.6)": g["prevalence %"]}
    ok = 30 <= v["prevalence %"] <= 42
    return value, ok, (f"{v['prevalence %']:.1f}% of {v['n']} chronic heroin users in (or bound for) an episode after 4 weeks of heroin "
                       f"(general population {g['prevalence %']:.1f}%)")


# ----------------------------------------------------------------------------------------------
REJECTION_START, REJECTION_LEN = 24.0, 0.5


def rejection_challenge(model=None, n: int = 40, seed: int = SEED) -> dict:
    """Hsu et al. 2013/2015 paradigm: medication-free MDD patients (current episode) and healthy
    controls; a 30-min social-rejection challenge after a day at rest. BPND during the challenge
    (mean over it) vs the resting scan; recovery = time for negative affect to fall to a quarter of
    its peak after the challenge ends."""
    from ..physiology.endogenous import social_events
    model = model or default_model()
    out = {}
    for g, (hist, m0, id0) in {"HC": (0.0, 0.0, 1), "MDD": (1.0, 1.1, 1001)}.items():
        ids = np.arange(id0, id0 + n)
        P, _ = cohort(model, ids, seed, {"depression_history": {"p": hist}, "early_life_adversity": {"p": 0.125}},
                      {"mood_initial": m0})
        rate = P[:, model.param_index["social_signal_rate"]]
        ev = pd.concat([social_events([pid], "rejection", REJECTION_START, REJECTION_LEN, 1.0, rate=k)
                        for pid, k in zip(ids, rate)], ignore_index=True)
        doses = dosing.expand_doses(ev)
        times = np.concatenate([[0.0, REJECTION_START - 1], REJECTION_START + np.arange(0, 6.0001, 1 / 60)])
        r = simulate(model, P, times, doses, ids=ids)
        dur = (times >= REJECTION_START) & (times <= REJECTION_START + REJECTION_LEN)
        res = {}
        for reg in ("nacc", "amygdala", "thalamus", "insula", "acc"):
            b = r.get(f"mor_bpnd_{reg}")
            res[f"BPND change % {reg}"] = float(np.mean(100 * (b[:, dur].mean(axis=1) / b[:, 1] - 1)))
        A = r.get("negative_affect")
        end = np.searchsorted(times, REJECTION_START + REJECTION_LEN)
        peak = A[:, end]
        after = A[:, end:] <= 0.25 * peak[:, None]
        rec = np.where(after.any(axis=1), times[end:][np.argmax(after, axis=1)] - times[end], np.nan)
        res["recovery h"] = float(np.nanmean(rec))
        res["peak negative affect"] = float(peak.mean())
        res["baseline MADRS"] = float(r.get("madrs")[:, 1].mean())
        out[g] = res
    return out


@target("mood.rejection",
        finding="MDD patients release less μ-opioid (smaller BPND drop) during social rejection than controls, "
                "and recover more slowly",
        band="directions hold",
        source="Hsu et al., Mol Psychiatry 2015;20:193; seed 001 Fig. 3",
        calibration="the rejection release gain was chosen so a control's NAcc BPND falls ~7% (order of Hsu 2013); "
                    "the smaller MDD release follows from an assumed trait release deficit (mdd_release_deficit, "
                    "direction taken from this finding) together with between-person variability; the slower "
                    "recovery follows from the smaller release and the depressed state (assumed rumination term)")
def _rejection(n: int = 40, seed: int = SEED):  # n per group
    o = rejection_challenge(n=n, seed=seed)
    value, notes, ok = {}, [], True
    for reg in ("nacc", "amygdala", "thalamus"):
        hc, mdd = o["HC"][f"BPND change % {reg}"], o["MDD"][f"BPND change % {reg}"]
        value[f"{reg} BPND change % HC"], value[f"{reg} BPND change % MDD"] = hc, mdd
        if not (hc < 0 and hc < mdd):
            ok = False
            notes.append(f"{reg}: HC {hc:.1f}% vs MDD {mdd:.1f}%")
    value["recovery h HC"], value["recovery h MDD"] = o["HC"]["recovery h"], o["MDD"]["recovery h"]
    if not o["MDD"]["recovery h"] > o["HC"]["recovery h"]:
        ok = False
        notes.append("MDD recovery not slower")
    return value, ok, "; ".join(notes) or (
        f"NAcc BPND {o['HC']['BPND change % nacc']:.1f}% (HC) vs {o['MDD']['BPND change % nacc']:.1f}% (MDD); "
        f"affect recovery {o['HC']['recovery h'] * 60:.0f} vs {o['MDD']['recovery h'] * 60:.0f} min")


# ----------------------------------------------------------------------------------------------
def adjunct_trial(model=None, n: int = 300, seed: int = SEED, weeks_leadin: int = 8, weeks: int = 6,
                  active: str | None = "buprenorphine-samidorphan 2/2 mg SL daily", antidepressant: float = 0.06,
                  placebo_mean: float = 0.15, placebo_sd: float = 0.12, rater_sd: float = 3.0,
                  active_parameters: dict | None = None, covariates: dict | None = None):
    """Adjunctive ``active`` vs placebo in MDD with inadequate antidepressant response (the design
    of Fava 2016; FORWARD-4/-5, Fava 2020): adults in a current episode (depression history 1,
    latent state 1.1) on a background antidepressant for ``weeks_leadin`` weeks; those still at
    MADRS >= 20 are randomised 1:1 (own stream) to adjunctive ``active`` or placebo for ``weeks``
    weeks. Both arms get a per-patient placebo (trial-participation) response ~ N(mean, sd) (own
    stream); MADRS is rated with per-visit rater noise SD ``rater_sd`` (own stream).

    Paired arms (:mod:`opiaxis.trials`, common random numbers): every randomised patient is
    simulated under both arms with the same physiology, placebo response and rater noise. Returns
    the MADRS change from randomisation to the end of treatment of every randomised patient under
    each arm (:class:`opiaxis.trials.PairedOutcomes`, arms "placebo" and "active") and their
    MADRS at randomisation.

    The active arm is ``active`` (a regimen, or None) and/or ``active_parameters`` (parameter
    settings from randomisation on, e.g. a conventional antidepressant's ``antidepressant_effect``:
    :func:`ssri_trial`); ``covariates`` overrides the cohort's (default: the OUD defaults with a
    depression history in everyone, the adjunctive trials' cohort)."""
    from ..trials import PairedOutcomes, randomise
    model = model or default_model()
    ids = np.arange(1, n + 1)
    P, cov = cohort(model, ids, seed, covariates or {"depression_history": {"p": 1.0}},
                    {"mood_initial": 1.1, "antidepressant_effect": antidepressant})
    t_lead = weeks_leadin * 168.0
    r0 = simulate(model, P, np.array([0.0, t_lead]), None, ids=ids)
    madrs0 = r0.get("madrs")[:, -1] + rater_sd * patient_normal(seed, ids, 11)
    elig = ~r0.failed & (madrs0 >= MADRS_CASE)
    e_ids, x0 = ids[elig], r0.states[elig, -1, :]
    P2 = P[elig].copy()
    P2[:, model.param_index["placebo_response"]] = placebo_mean + placebo_sd * patient_normal(seed, e_ids, 12)
    times = np.array([t_lead, t_lead + weeks * 168.0])
    end_noise = rater_sd * patient_normal(seed, e_ids, 13)
    P_active = P2.copy()
    for name, v in (active_parameters or {}).items():
        P_active[:, model.param_index[name]] = v
    active_doses = EventTable.from_regimens(model, f"{active} for {weeks * 7} d", start=t_lead).for_ids(
        e_ids).expanded() if active else None
    change = {}
    for name, P_arm, doses in (("placebo", P2, None), ("active", P_active, active_doses)):
        r = simulate(model, P_arm, times, doses, ids=e_ids, t0=t_lead, x0=x0)
        change[name] = np.where(r.failed, np.nan, r.get("madrs")[:, -1] + end_noise - madrs0[elig])
    return (PairedOutcomes(ids=e_ids, arm=randomise(e_ids, seed, (1, 1)), names=("placebo", "active"), outcomes=change),
            madrs0[elig])


def bupsam_trial(model=None, n: int = 300, seed: int = SEED, **design) -> dict:
    """The adjunctive trial (:func:`adjunct_trial`; ``design``: its keyword arguments) summarised.
    The trial-sized statistic (``difference``, ``hedges g``) is read on the randomised assignment,
    as the trial did; the model's expected effect (``expected difference`` with its SE, ``expected
    g``) is the mean within-patient difference over all randomised patients."""
    trial, madrs0 = adjunct_trial(model, n, seed, **design)
    return trial_summary(trial, madrs0, n)


def trial_summary(trial, madrs0: np.ndarray, n: int) -> dict:
    """A paired-arm mood trial (:func:`adjunct_trial`) summarised: the randomised arms' MADRS change
    (the trial-sized statistic) and the model's expected effect over all randomised patients."""
    a, p = trial.randomised("active"), trial.randomised("placebo")
    expected = trial.expected("active", "placebo")
    return {"randomised": len(trial.ids), "screened": n, "baseline MADRS": float(madrs0.mean()),
            "change active": float(a.mean()), "change placebo": float(p.mean()),
            "difference": float(a.mean() - p.mean()), "hedges g": -hedges_g(a, p),
            "n active": len(a), "n placebo": len(p),
            "expected difference": expected.mean, "expected difference SE": expected.se,
            "expected g": -expected.standardised, "paired n": expected.n}


# The drug–placebo difference of a conventional antidepressant on the MADRS, on Cipriani et al.'s
# dataset (Lancet 2018;391:1357; 522 trials): the 28 placebo-controlled trials (n = 11,705) that
# rated the MADRS give 2.99 (95% CI 2.24–3.74) points, SMD 0.30 (0.22–0.38) (Hengartner et al., PLoS
# ONE 2020;15:e0229381; the HAM-D-17 trials: 2.07 points, SMD 0.27). The same order follows from
# Cipriani's SMD ~0.3 and a MADRS change SD of 8–10 (2.4–3.0 points). antidepressant_effect of an
# SSRI is calibrated to it (opiaxis calibrate mood.antidepressant; data/calibration.yaml).
SSRI_MADRS_DIFFERENCE = (2.99, 2.24, 3.74)   # point, 95% CI (MADRS points, drug better than placebo)


def ssri_trial(model=None, effect: float = 0.12, n: int = 300, seed: int = SEED, weeks: int = 8,
               **design) -> dict:
    """A conventional antidepressant (``antidepressant_effect`` = ``effect``) vs placebo for ``weeks``
    weeks in adults in a major depressive episode, the design of the trials Cipriani 2018 pooled:
    general-population covariates with a depression history in everyone (latent state 1.1, a current
    episode), a drug-free screening week, MADRS >= 20 randomised 1:1, a per-patient placebo
    (trial-participation) response in both arms and per-visit rater noise — :func:`adjunct_trial`
    with no background antidepressant and the active arm a parameter setting (``design``: its other
    keyword arguments). Returns :func:`bupsam_trial`'s summary; ``expected difference`` (active −
    placebo, MADRS change; negative = drug better) is the model's expected effect over all
    randomised patients, each simulated on both arms."""
    trial, madrs0 = adjunct_trial(model, n, seed, weeks_leadin=1, weeks=weeks, active=None, antidepressant=0.0,
                                  active_parameters={"antidepressant_effect": effect},
                                  covariates={**GENERAL_POPULATION, "depression_history": {"p": 1.0}}, **design)
    return trial_summary(trial, madrs0, n)


@target("mood.bupsam",
        finding="adjunctive buprenorphine/samidorphan 2/2 mg vs placebo: MADRS-10 −1.9 (FORWARD-5); −4.9 "
                "(−8.2 to −1.6) in the phase 2 study; pooled Hedges' g 0.22",
        band="simulated difference −1 to −5 MADRS points; g 0.1–0.4",
        source="Fava et al., Am J Psychiatry 2016;173:499; Fava et al. 2020 (PMC7303008)",
        calibration="the μ and κ weights of the mood drive (mood_weight_mu, mood_weight_kappa) were set with this "
                    "trial's effect in view; the placebo-response distribution (mean 0.15, SD 0.12 drive units), the background antidepressant (0.06) and "
                    "rater noise (SD 3 MADRS points) are assumed and chosen so placebo-arm change is of the order "
                    "seen in these trials (~−6 to −9 points)")
def _bupsam(n: int = 300, seed: int = SEED):  # n: screened
    v = bupsam_trial(n=n, seed=seed)
    # scored on the model's expected effect (paired arms), which does not depend on who was randomised where
    ok = (-5 <= v["expected difference"] <= -1) and (0.1 <= v["expected g"] <= 0.4)
    return v, ok, (f"expected difference {v['expected difference']:.2f} (SE {v['expected difference SE']:.2f}), "
                   f"g {v['expected g']:.2f} over {v['paired n']} randomised patients each simulated on both arms; "
                   f"the trial-sized draw on the randomised arms: MADRS change {v['change active']:.1f} (BUP/SAM) vs "
                   f"{v['change placebo']:.1f} (placebo), difference {v['difference']:.2f}, g {v['hedges g']:.2f}")


# ----------------------------------------------------------------------------------------------
@target("mood.mor.bdi",
        finding="lower μOR availability goes with more depressive symptoms across people",
        band="negative correlation between μOR availability and a depression scale across a virtual population",
        source="Nummenmaa et al. 2020 (PET, [11C]carfentanil)", trial_n=NUMMENMAA_N)
def _mor_bdi(model=None, n: int = 300, seed: int = SEED):
    from scipy.stats import spearmanr

    from ..physiology.endogenous import REGIONS
    model = model or default_model()
    ids = np.arange(1, n + 1)
    # its own cohort, not the other mood targets' (the seed was SEED + 7 before issue 17's streams)
    P, _cov = cohort(model, ids, Streams(seed).derived_seed(Purpose.COHORT, "mood.mor.bdi"), GENERAL_POPULATION)
    times = np.array([0.0, 8 * 168.0])  # drug-free adults, 8 weeks for the mood state to settle
    r = simulate(model, P, times, None, ids=ids)
    ok_run = ~r.failed
    bpnd = np.mean([r.get(f"mor_bpnd_{k}")[:, -1] for k in REGIONS], axis=0)[ok_run]
    bdi = r.get("bdi")[:, -1][ok_run]
    rho, p = spearmanr(bpnd, bdi)
    rho_s, p_s = spearmanr(bpnd[:NUMMENMAA_N], bdi[:NUMMENMAA_N])
    value = {"Spearman ρ (BPND, BDI-II)": float(rho), "p": float(p), "n": int(ok_run.sum()),
             f"Spearman ρ, first {NUMMENMAA_N} (the study's size)": float(rho_s), f"p, first {NUMMENMAA_N}": float(p_s),
             "BDI-II > 13 %": 100 * float((bdi > 13).mean()), "mean BDI-II": float(bdi.mean()),
             "BDI-II = 0 %": 100 * float((bdi <= 0).mean())}
    ok = bool(rho < 0 and p < 0.05)
    return value, ok, (f"{int(ok_run.sum())} drug-free adults (general-population covariates) after 8 weeks; "
                       f"regional-mean [11C]carfentanil BPND vs BDI-II, Spearman ρ={rho:.2f} (p={p:.2g}; at Nummenmaa's "
                       f"n={NUMMENMAA_N}: ρ={rho_s:.2f}, p={p_s:.2g}); not calibrated: the spread of μ-receptor density "
                       f"(mor_density, CV 0.2) is assumed from the spread of BPND, and the mood weights were calibrated to "
                       f"other targets (mood.bupsam, mood.oud.prevalence); the read-outs carry sub-clinical symptom "
                       f"variation (mean BDI-II {bdi.mean():.1f}; no rating noise)")
