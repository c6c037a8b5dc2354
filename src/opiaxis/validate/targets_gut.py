"""Gut targets (targets.md, Gut table): opioid-induced constipation, PAMORA trials, dysbiosis.

The read-outs of these targets (transit, SBM, microbiota) depend only on the chain
pk → receptors → gut (the gut consumes ``mor_enteric_agonism``; IL-6/TNF only change barrier
permeability, which none of these targets reads), so they run on that composition to stay well
under 20 s each. Trials are simulated as trials:

* **population**: chronic non-cancer pain (CNCP) patients on a stable opioid — a mixture of
  oxycodone 10–40 mg bid, ER morphine 30–60 mg bid and transdermal fentanyl 25–50 µg/h (30–120 mg
  morphine equivalents/day; COMPOSE/KODIAC required ≥30 mg MED), each patient's regimen drawn from
  its own random stream, with between-patient variability on every parameter that declares it;
* **run-in and selection**: 1 week on the opioid, then a 2-week screening diary without laxatives;
  patients are eligible with OIC at baseline — ≤4 SBMs in the 14 screening days (COMPOSE) or a
  screening mean <3 SBM/week (KODIAC); baseline = screening mean. COMPOSE-4 (cancer pain) enrolled
  OIC *despite laxatives* and kept the laxative: its patients take a background osmotic laxative
  throughout and must also have OIC by history (<3 expected SBM/week on that regimen), so a low
  diary fortnight alone does not qualify them. The CNCP trials keep diary-only selection: their
  SBM dispersion and placebo effect were calibrated with it, and the criterion there would need
  that calibration re-run (with it, COMPOSE-1/2 at seed 2017 gives drug 34%, placebo 18%: the
  calibrated CNCP placebo response leans on regression to the mean of diary-selected patients);
* **randomisation** 1:1 to PAMORA or placebo from per-patient streams, 12 weeks of treatment;
* **diary**: weekly SBM counts drawn negative-binomially around each patient's expected weekly
  count (from the ODE's cumulative ``sbm_expected_count``), per-patient streams;
* **placebo response**: regression to the mean (selection on low screening counts against the
  week-to-week variability of the diary) plus an explicit placebo/participation effect that
  multiplies the expected SBM rate by 1 + :data:`opiaxis.physiology.gut.PLACEBO_SBM_EFFECT` in both
  arms from randomisation on;
* **responder** (both trials): ≥3 SBM/week with an increase ≥1 from baseline in ≥9 of 12 weeks and
  ≥3 of the last 4;
* **time to first SBM** after the first dose (the onset endpoint of PAMORA trials): per patient,
  P(≥1 SBM within h hours) from the expected count since the dose with the diary's frailty
  (:func:`opiaxis.physiology.gut.first_sbm_probability`); the arm's median is where the mean
  probability crosses 0.5. Reported in the trial targets' values; targets.md has no band for it, so
  it is checked by ``scripts/gut_onset.py`` (with SC methylnaltrexone in COMPOSE-4's population) and
  not scored. Published: COMPOSE-4 median 4.7 vs 26.6 h; COMPOSE-1/2 16.1/18.3 vs 46.7/45.9 h;
  methylnaltrexone SC laxation ≤4 h 48 vs 15%, median 6.3 vs >48 h (Thomas 2008); SC 12 mg in CNCP
  ≤4 h 34.2 vs 9.9% (Michna 2011). Onset comes from two pieces (gutonset): defecation read as threshold
  crossings of the rectal content (gut4/gut5: a PAMORA that lifts the opioid brake releases the patients
  whose rectum already holds more than the new threshold), and morphine's and M6G's enteric constants
  taken from their functional tissue potency (guinea-pig myenteric IC50 86 nM, Johnson et al. 1987)
  instead of the [3H]DAMGO binding constant, with which oral morphine held ~98% of enteric receptors
  and no competitive PAMORA could displace it (methylnaltrexone P(≤4 h) 0.07 before). Model now (scripts/
  gut_onset.py): methylnaltrexone P(≤4 h) 0.42 vs placebo 0.02; COMPOSE-4 median 0.9 h (drug) vs 47 h
  (placebo) — naldemedine's release is too fast (published 4.7 h; its slow receptor association,
  Kanemasa et al. 2020, is represented at equilibrium) and the placebo arm too slow (26.6 h: no diurnal
  defecation pattern; trial dosing in the morning catches the gastrocolic peak).

Not modelled: rescue bisacodyl (COMPOSE/KODIAC: after 72 h without a BM; an SBM is a BM without
rescue in the previous 24 h) is only the read-out ``rescue_laxative_rate`` — the diary counts every
expected BM as an SBM. Background laxatives: COMPOSE-1/2 and KODIAC patients used none; COMPOSE-4's
continued theirs (see :data:`COMPOSE4_BACKGROUND`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import trials
from ..engine.simulate import SolverOptions
from ..errors import OpiaxisInputError
from ..models import build_model
from ..physiology import gut
from .registry import target

WEEK = 168.0
FAST = SolverOptions(rtol=1e-4, atol=1e-7)  # weekly expected counts within 1e-4 of the default tolerance

CNCP_REGIMENS = {  # regimen text (per week count filled in) : weight
    "oxycodone 10 mg oral bid": 1, "oxycodone 20 mg oral bid": 2, "oxycodone 40 mg oral bid": 1,
    "morphine 30 mg oral_er bid": 2, "morphine 60 mg oral_er bid": 1,
    "fentanyl 25 ug/h TD q72h": 1, "fentanyl 50 ug/h TD q72h": 1,
}
# cancer pain: higher around-the-clock doses (WHO step III) plus a daily breakthrough IR dose
CANCER_REGIMENS = {
    "morphine 60 mg oral_er bid": 2, "morphine 90 mg oral_er bid": 1, "oxycodone 40 mg oral bid": 1,
    "oxycodone 20 mg oral bid": 1, "fentanyl 50 ug/h TD q72h": 1, "fentanyl 75 ug/h TD q72h": 1,
    "morphine 30 mg oral_er bid": 1,
}
CANCER_BREAKTHROUGH = "morphine 10 mg oral q24h"
# days on the opioid before the screening diary: the enteric counter-adaptation (t½ 1 d) is at
# steady state (>99%) when the diary starts (trial patients had been on a stable opioid for weeks)
RUN_IN_DAYS = 7
# OIC prevalence is read as the expected SBM count in the second week on the opioid: the first week
# carries the onset (counter-adaptation, colonic loading); the second is at steady state
OIC_WEEKS = 2
# hours after the first dose at which the probability of a first SBM is read (time-to-first-SBM endpoint)
FIRST_SBM_HORIZONS_H = [1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 18.0, 24.0, 36.0, 48.0, 72.0, 96.0, 120.0, 144.0]


@lru_cache(maxsize=1)
def gut_model():
    """pk + receptors + gut: everything the gut read-outs depend on."""
    return build_model(modules=["pk", "receptors", "gut"])


def _with_duration(text: str, weeks: int) -> str:
    return f"{text} for {weeks} weeks"


def opioid_cohort(ids, seed: int, regimens: dict, weeks: int, times, *, extra: list[str] | None = None,
                  overrides: dict | None = None, model=None, options=None):
    """Simulate patients each on its own background opioid regimen (drawn from ``regimens``);
    returns (ids in result order, Results list aligned, regimen per id)."""
    model = model or gut_model()
    ids = np.asarray(ids)
    reg = dict(zip(ids, trials.choose(ids, seed, list(regimens), list(regimens.values()))))
    arms = {"all": {"ids": ids, "regimens": list(extra or [])}}
    out = trials.simulate_arms(model, ids, seed, arms, times, overrides=overrides, options=options,
                               regimen_of=lambda pid: [_with_duration(reg[pid], weeks)])
    return out["all"], reg


def _stack(parts, name, order):
    pos = {}
    rows = []
    for g_ids, res in parts:
        v = res.get(name)
        for k, pid in enumerate(g_ids):
            pos[pid] = len(rows)
            rows.append(v[k])
    return np.array([rows[pos[p]] for p in order])


def oic_prevalence(regimens, *, n=400, seed=4101, extra=None, overrides=None, weeks=OIC_WEEKS):
    """Proportion of a cohort on ``regimens`` (plus ``extra`` regimen texts, durations added) with
    fewer than 3 expected SBMs in the last of ``weeks`` weeks on the opioid — the Rome/trial
    definition read as a weekly count, so it does not depend on where in the dosing interval it is
    read; returns (proportion, expected SBMs in that week per patient)."""
    ids = np.arange(1, n + 1)
    times = np.array([0.0, (weeks - 1) * WEEK, weeks * WEEK])
    parts, _ = opioid_cohort(ids, seed, regimens, weeks, times, extra=[_with_duration(x, weeks) for x in extra or []],
                             overrides=overrides, options=FAST)
    count = _stack(parts, "sbm_expected_count", ids)
    sbm = count[:, -1] - count[:, -2]
    return trials.proportion(sbm < 3.0), sbm


# ----------------------------------------------------------------------------------------------
def pamora_trial(pamora: str, *, n_candidates=1000, seed=2017, max_screen_total=4, placebo=None,
                 dispersion=None, period_dispersion=None, overrides=None, regimens=None, extra=None,
                 weeks: int = 12, oic_history_max: float | None = None):
    """Simulated PAMORA vs placebo trial in patients with OIC (see module doc): CNCP patients on
    :data:`CNCP_REGIMENS` for 12 weeks by default; ``regimens``/``extra`` give another population
    (e.g. cancer pain) and ``weeks`` another treatment length. With 12 weeks the responder is
    COMPOSE/KODIAC's; with fewer weeks it is COMPOSE-4's: mean ≥3 SBM/week over the treatment
    period with an increase ≥1 SBM/week from baseline. ``overrides`` sets parameters of every
    patient in both arms (e.g. a background laxative continued through the trial).

    ``oic_history_max`` (SBM/week), when given, adds an OIC-by-history criterion to the diary one:
    the patient's expected weekly SBM count on the current regimen (opioid and any background
    laxative, before the trial) must be below it — constipation that persists, not a low fortnight
    of the diary. None (default) selects on the screening diary alone."""
    if oic_history_max is not None and not oic_history_max > 0:
        raise OpiaxisInputError(f"oic_history_max must be a positive SBM/week count, got {oic_history_max!r}",
                                field="oic_history_max")
    regimens = CNCP_REGIMENS if regimens is None else regimens
    placebo = gut.PLACEBO_SBM_EFFECT if placebo is None else placebo
    dispersion = gut.SBM_DISPERSION if dispersion is None else dispersion
    period_dispersion = gut.SBM_PERIOD_DISPERSION if period_dispersion is None else period_dispersion
    ids = np.arange(1, n_candidates + 1)
    arm_of = trials.randomise(ids, seed, (1, 1))
    reg = dict(zip(ids, trials.choose(ids, seed, list(regimens), list(regimens.values()))))
    # The SBM chain (motility, stool water: time constants <= 12 h; the enteric counter-adaptation:
    # t½ 1 d) does not depend on the slow microbiota states, so with stable dosing the expected
    # weekly count is the same every week once the run-in has passed. Simulate: run-in, one
    # screening week on the opioid, the first treatment week (PAMORA from its first day) and one
    # steady treatment week; the diary repeats the screening week twice and the steady week for
    # treatment weeks 2-12.
    run_in = RUN_IN_DAYS * 24.0
    weeks_t = run_in + np.array([0.0, WEEK, 2 * WEEK, 3 * WEEK])
    dose_h = weeks_t[1]                     # first PAMORA (or placebo) dose: start of treatment week 1
    times = np.union1d(weeks_t, dose_h + np.asarray(FIRST_SBM_HORIZONS_H))
    start_day = RUN_IN_DAYS + 7 + 1
    background = [_with_duration(x, 5) for x in (extra or [])]
    arms = {"drug": {"ids": ids[arm_of == 0],
                     "regimens": [f"{pamora} for 3 weeks from day {start_day}"] + background},
            "placebo": {"ids": ids[arm_of == 1], "regimens": background}}
    out = trials.simulate_arms(gut_model(), ids, seed, arms, times, overrides=overrides, options=FAST,
                               regimen_of=lambda pid: [_with_duration(reg[pid], 5)])
    result = {}
    for name in ("drug", "placebo"):
        a_ids = arms[name]["ids"]
        exp_parts = [(g, gut.weekly_expected(r, weeks_t)) for g, r in out[name]]
        first = _stack([(g, _Prob(gut.first_sbm_probability(r, dose_h, FIRST_SBM_HORIZONS_H, multiplier=1.0 + placebo,
                                                            dispersion=dispersion)))
                        for g, r in out[name]], "p", a_ids)
        pos = {pid: (k, j) for k, (g, _) in enumerate(exp_parts) for j, pid in enumerate(g)}
        e3 = np.array([exp_parts[pos[p][0]][1][pos[p][1]] for p in a_ids])
        expected = np.column_stack([e3[:, 0], e3[:, 0], e3[:, 1]] + [e3[:, 2]] * (weeks - 1))
        mult = np.ones(expected.shape[1])
        mult[2:] = 1.0 + placebo
        periods = np.r_[0, 0, np.ones(weeks, int)]
        counts = gut.weekly_sbm_counts(expected, a_ids, seed, dispersion=dispersion, multiplier=mult,
                                       periods=periods, period_dispersion=period_dispersion)
        screen = counts[:, :2]
        eligible = screen.sum(axis=1) <= max_screen_total
        if oic_history_max is not None:
            eligible &= e3[:, 0] < oic_history_max
        baseline = screen.mean(axis=1)
        if weeks == 12:
            resp = gut.sbm_responders(counts[eligible, 2:], baseline[eligible])
        else:
            on = counts[eligible, 2:].mean(axis=1)
            resp = (on >= 3) & (on - baseline[eligible] >= 1)
        result[name] = {"proportion": trials.proportion(resp), "eligible": int(eligible.sum()),
                        "screened": len(a_ids), "baseline_mean": float(baseline[eligible].mean()),
                        "treatment_mean": float(counts[eligible, 2:].mean()),
                        "first_sbm_4h": float(first[eligible, FIRST_SBM_HORIZONS_H.index(4.0)].mean()),
                        "first_sbm_24h": float(first[eligible, FIRST_SBM_HORIZONS_H.index(24.0)].mean()),
                        "median_first_sbm_h": gut.median_time_to_first_sbm(first[eligible], FIRST_SBM_HORIZONS_H)}
    diff = trials.difference(result["drug"]["proportion"], result["placebo"]["proportion"])
    return result, diff


class _Prob:
    """Adapter so :func:`_stack` can order a probability array (patients × horizons) by patient id."""

    def __init__(self, p):
        self.p = p

    def get(self, name):
        return self.p


def _trial_value(result, diff):
    d, p = result["drug"], result["placebo"]
    return {"drug responders %": 100 * d["proportion"].rate,
            "drug 95% CI": [100 * d["proportion"].low, 100 * d["proportion"].high],
            "placebo responders %": 100 * p["proportion"].rate,
            "placebo 95% CI": [100 * p["proportion"].low, 100 * p["proportion"].high],
            "difference points": 100 * diff.diff, "difference 95% CI": [100 * diff.low, 100 * diff.high],
            "randomised (drug, placebo)": [d["eligible"], p["eligible"]],
            "baseline SBM/week": (d["baseline_mean"] + p["baseline_mean"]) / 2,
            "on-treatment SBM/week (drug, placebo)": [d["treatment_mean"], p["treatment_mean"]],
            "P(first SBM ≤4 h after first dose) (drug, placebo)": [d["first_sbm_4h"], p["first_sbm_4h"]],
            "P(first SBM ≤24 h) (drug, placebo)": [d["first_sbm_24h"], p["first_sbm_24h"]],
            "median h to first SBM (drug, placebo)": [d["median_first_sbm_h"], p["median_first_sbm_h"]]}


CAL_TRIALS = ("gut_mor_imax (typical value and between-patient spread), the negative-binomial dispersion of "
              "weekly SBM counts and the placebo/participation effect were calibrated by a small grid search jointly to the OIC "
              "prevalences and to the placebo arms of COMPOSE-1/2 and KODIAC-04/05 (Imax 0.45–0.55, "
              "weekly shape 6–12, period shape 1.5–2.5, placebo 0.2–0.4); drug arms and differences are predictions. "
              "Issue 14 added the enteric counter-adaptation and re-fitted gut_mor_imax alone (0.41 → 0.64, OIC "
              "prevalences only); the dispersion and placebo effect were not re-fitted. Issue 14 then added the colonic "
              "content (faecal loading) state, shortened the motor time constant 8 → 1 h and read the OIC prevalences "
              "as weekly expected counts (week 2 on the opioid) instead of an instantaneous rate: the procedure "
              "re-run on that model keeps gut_mor_imax at 0.64 (OIC 42.0% and 52.3%, J 0.044); nothing re-fitted. "
              "gutonset: morphine's and M6G's enteric constants became their functional potency (drug library "
              "enteric_affinity), and the procedure re-fitted gut_mor_imax 0.64 → 0.79 (OIC 45.8% and 52.3%); the "
              "dispersion and placebo effect were not re-fitted")


# ----------------------------------------------------------------------------------------------
@target("gut.oic.cncp",
        finding="constipation in 41% of chronic non-cancer pain patients in opioid trials",
        band="30–50%", source="Kalso et al., Pain 2004;112:372",
        calibration="gut_mor_imax and its spread were calibrated to this prevalence and gut.oic.cancer "
                    "(the typical value by opiaxis calibrate gut.mor_imax)")
def _oic_cncp(n: int = 400, seed: int = 4101):
    p, sbm = oic_prevalence(CNCP_REGIMENS, n=n, seed=seed)
    value = {"OIC %": 100 * p.rate, "95% CI": [100 * p.low, 100 * p.high], "n": p.n,
             "median SBM/week on opioid": float(np.median(sbm))}
    return value, 30 <= 100 * p.rate <= 50, (f"CNCP cohort on the trial opioid mixture, {OIC_WEEKS} weeks, no "
                                             f"laxatives; OIC = <3 expected SBMs in week {OIC_WEEKS}: {p}")


@target("gut.oic.cancer",
        finding="opioid-induced constipation in 40–70% of cancer pain patients on opioids",
        band="inside 40–70%", source="secondary (targets.md)",
        calibration="gut_mor_imax and its spread were calibrated to this prevalence and gut.oic.cncp "
                    "(the typical value by opiaxis calibrate gut.mor_imax)")
def _oic_cancer(n: int = 400, seed: int = 4102):
    p, sbm = oic_prevalence(CANCER_REGIMENS, extra=[CANCER_BREAKTHROUGH], n=n, seed=seed)
    value = {"OIC %": 100 * p.rate, "95% CI": [100 * p.low, 100 * p.high], "n": p.n,
             "median SBM/week on opioid": float(np.median(sbm))}
    return value, 40 <= 100 * p.rate <= 70, (f"cancer-pain cohort (60–180 mg MED/day around the clock + 10 mg IR "
                                             f"morphine breakthrough daily), {OIC_WEEKS} weeks, no laxatives; OIC = <3 "
                                             f"expected SBMs in week {OIC_WEEKS}: {p}")


@target("gut.naldemedine.compose12",
        finding="12-week responders, naldemedine 0.2 mg vs placebo: 47.6% vs 34.6% (COMPOSE-1) and 52.5% vs "
                "33.6% (COMPOSE-2)",
        band="drug arm 40–60%, placebo 27–42%, difference 8–25 points",
        source="Hale et al., Lancet Gastroenterol Hepatol 2017", calibration=CAL_TRIALS)
def _compose(n: int = 1000, seed: int = 2017):  # n: candidates screened
    res, diff = pamora_trial("naldemedine 0.2 mg oral daily", max_screen_total=4, n_candidates=n, seed=seed)
    v = _trial_value(res, diff)
    ok = 40 <= v["drug responders %"] <= 60 and 27 <= v["placebo responders %"] <= 42 and \
        8 <= v["difference points"] <= 25
    return v, ok, (f"drug {res['drug']['proportion']}, placebo {res['placebo']['proportion']}, "
                   f"difference {diff}; eligibility ≤4 SBM in 14 screening days. Time to first SBM (reported, not "
                   f"scored; no band in targets.md): SBM within 24 h 61.2% vs 28.3% (COMPOSE-1) and 56.5% vs 33.6% "
                   f"(COMPOSE-2), median 16.1 vs 46.7 h and 18.3 vs 45.9 h (Wild et al., Pain 2019;160:2358)")


@target("gut.naloxegol.kodiac",
        finding="12-week responders, naloxegol 25 mg vs placebo: 44.4% vs 29.4% and 39.7% vs 29.3%",
        band="drug 35–50%, placebo 24–35%", source="Chey et al., NEJM 2014;370:2387", calibration=CAL_TRIALS)
def _kodiac(n: int = 1000, seed: int = 2014):  # n: candidates screened
    res, diff = pamora_trial("naloxegol 25 mg oral daily", max_screen_total=5, n_candidates=n, seed=seed)
    v = _trial_value(res, diff)
    ok = 35 <= v["drug responders %"] <= 50 and 24 <= v["placebo responders %"] <= 35
    return v, ok, (f"drug {res['drug']['proportion']}, placebo {res['placebo']['proportion']}, "
                   f"difference {diff}; eligibility screening mean <3 SBM/week")


@target("gut.diversity",
        finding="opioid-agonist users have lower gut α-diversity; less Roseburia (butyrate producers)",
        band="direction holds", source="Gicquelais et al., Sci Rep 2020;10:19471",
        calibration="the opioid susceptibilities ε_op of the guilds were signed and sized for this direction "
                    "(no opioid-specific gLV perturbation data exist)")
def _diversity(n: int = 100, seed: int = 5150):  # n: users, and as many non-users
    from scipy.stats import mannwhitneyu
    weeks = 16
    times = np.array([0.0, weeks * WEEK])
    ids_u = np.arange(1, n + 1)
    parts, _ = opioid_cohort(ids_u, seed, CNCP_REGIMENS, weeks, times, options=FAST)
    alpha_u = _stack(parts, "alpha_diversity", ids_u)[:, -1]
    but_u = _stack(parts, "rel_butyrate_producers", ids_u)[:, -1]
    ids_c = np.arange(n + 1, 2 * n + 1)
    ctrl = trials.simulate_arms(gut_model(), ids_c, seed, {"c": {"ids": ids_c, "regimens": []}}, times,
                                options=FAST)["c"]
    alpha_c = _stack(ctrl, "alpha_diversity", ids_c)[:, -1]
    but_c = _stack(ctrl, "rel_butyrate_producers", ids_c)[:, -1]
    p_a = mannwhitneyu(alpha_u, alpha_c, alternative="less").pvalue
    p_b = mannwhitneyu(but_u, but_c, alternative="less").pvalue
    value = {"Shannon users": float(alpha_u.mean()), "Shannon non-users": float(alpha_c.mean()),
             "butyrate producers % users": 100 * float(but_u.mean()),
             "butyrate producers % non-users": 100 * float(but_c.mean()),
             "p (Shannon lower)": float(p_a), "p (butyrate producers lower)": float(p_b)}
    ok = alpha_u.mean() < alpha_c.mean() and but_u.mean() < but_c.mean() and p_a < 0.05 and p_b < 0.05
    return value, ok, f"{n} CNCP opioid users after {weeks} weeks vs {n} non-users (one-sided Mann–Whitney)"


# COMPOSE-4's population (Katakami et al., J Clin Oncol 2017;35:3859, the same design as its phase IIb,
# Katakami et al., J Clin Oncol 2017;35:1921): cancer patients on a stable opioid for ≥2 weeks with a
# constipation symptom *despite laxative use* and ≤5 SBMs in the 14 screening days; their regular
# laxative was continued in both arms (the pooled analysis of the two trials has a concomitant-laxative
# subgroup: Osaka et al., ESMO Open 2019;4:e000527)
COMPOSE4_BACKGROUND = {"osmotic_laxative_dose_effect": 1.0}
COMPOSE4_BACKGROUND_SOURCE = ("assumed: every patient on one standard daily osmotic laxative — magnesium oxide is the "
                              "usual regular laxative for opioid users in Japan (it is the comparator of naldemedine "
                              "as OIC prophylaxis in the MAGNET trial, Ozaki et al., Trials 2020;21:453); the "
                              "proportion of COMPOSE-4 patients on laxatives and their kind were not read")
# OIC by history on that regimen: fewer than 3 expected SBM/week (Rome IV; the OIC definition of
# gut.oic.*), besides the diary criterion
COMPOSE4_OIC_HISTORY_MAX = 3.0


@target("gut.naldemedine.compose4",
        finding="naldemedine 0.2 mg in cancer patients with OIC: 2-week responders 71.1% vs placebo 34.4%",
        band="drug 60–80%, placebo 25–45%",
        source="Katakami et al., J Clin Oncol 2017 (COMPOSE-4)")
def _compose4(n: int = 2000, seed: int = 2004):  # n: candidates screened (~1 in 5 is eligible)
    res, diff = pamora_trial("naldemedine 0.2 mg oral daily", max_screen_total=5, n_candidates=n, seed=seed,
                             regimens=CANCER_REGIMENS, extra=[CANCER_BREAKTHROUGH], weeks=2,
                             overrides=COMPOSE4_BACKGROUND, oic_history_max=COMPOSE4_OIC_HISTORY_MAX)
    v = _trial_value(res, diff)
    ok = 60 <= v["drug responders %"] <= 80 and 25 <= v["placebo responders %"] <= 45
    return v, ok, (f"cancer-pain cohort (gut.oic.cancer's regimens, 60–180 mg MED/day + daily IR morphine) with OIC "
                   f"despite a regular laxative continued through the trial (one standard osmotic laxative, "
                   f"{COMPOSE4_BACKGROUND_SOURCE}); eligibility: OIC by history (<3 expected SBM/week on that "
                   f"regimen) and ≤5 SBM in 14 screening days; 2 weeks of treatment; responder = mean ≥3 SBM/week "
                   f"and ≥1 above baseline; drug {res['drug']['proportion']}, placebo {res['placebo']['proportion']}; "
                   f"COMPOSE-4 change from baseline: +5.16 (drug) vs +1.54 (placebo) SBM/week. Issue 14 (gut3): "
                   f"the earlier scenario (no laxatives, diary-only eligibility) gave drug ~57–59% in expectation "
                   f"— its eligible patients were largely selected on a low diary fortnight (regression to the "
                   f"mean: placebo change +2.4/week), and without the laxative the drug/placebo ratio of "
                   f"on-treatment SBMs was 1.7 against the trial's ~2.4. The pass rests on the laxative: with "
                   f"the history criterion and a laxative in half of the patients the drug arm is ~57%, in none "
                   f"~55% (seed 2004, n=2000; three quarters ~64%). Not calibrated to this trial: "
                   f"gut_mor_imax was re-fitted to the OIC prevalences after the enteric counter-adaptation "
                   f"was added (issue 14; its gain 0.5 assumed — 0.3 and 1.0 were tried as a sensitivity check and not "
                   f"adopted); the SBM dispersion and placebo effect come from the CNCP trials' placebo arms; the "
                   f"osmotic laxative's effect from its meta-analysis (osmotic_laxative_water_gain). "
                   f"Time to first SBM after the first dose (no band in targets.md; reported, not scored): COMPOSE-4 "
                   f"median 4.7 h (naldemedine) vs 26.6 h (placebo), Katakami et al., Ann Oncol 2018;29:1461")
