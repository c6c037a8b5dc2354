"""Neuroimmune–endocrine targets (targets.md, second table): HPA axis, cytokines, white matter.

Every target simulates a virtual cohort (``sample_parameters``: between-patient variability) and
compares it with *matched controls*: the same virtual people simulated without any drug. A
direction "holds" when the cohort's mean log-ratio to its controls has the stated sign and a
one-sample t-test on the log-ratios gives p < 0.05.

Study designs mirrored (doses are typical street / clinic doses; the cohort's drug history is
shortened to 12 weeks to keep each target under ~20 s — an approximation of years of use):

* heroin cohort: heroin 25 mg IV q6h for 84 d, then abrupt, unassisted abstinence for 90 d;
* methadone cohort: methadone 80 mg oral daily (cyt.mmt: 40/80/120 mg, samples 20 h post-dose; HPA
  targets: 07:30 morning samples before the dose);
* buprenorphine cohort: 16 mg SL daily for 12 months.

Withdrawal enters through ``withdrawal_signal`` (adaptation module). Each target takes an
optional ``model`` so tests can run it with a stand-in when that module is absent; with the
default model and no adaptation module, withdrawal is 0 and the withdrawal-driven parts miss.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ..engine import simulate
from ..models import default_model
from ..population import sample_parameters, virtual_cohort
from ..streams import Purpose, Streams
from ..dosing import EventTable
from .registry import target

H = 24.0
# Clock: t = 0 is 08:00 (hpa clock_offset), daily doses are 08:00 doses, and t = k·24 h is 08:00.
# Cortisol has a circadian rhythm, so every HPA sample is a morning sample: heroin abstinence at 08:00,
# maintenance patients at 07:30 just before their dose (the usual morning pre-dose draw).
MORNING_PREDOSE = 0.5
HEROIN_DAYS = 84
HEROIN_SEED = 2024   # the seed of the heroin-abstinence cohort shared by the withdrawal targets
FOLLOW_DAYS = 90
_CACHE: dict = {}


def cohort(model, regimens, n, seed, times, overrides=None, oud_covariates=False):
    """(drug cohort, matched drug-free controls) — the same virtual people. With ``oud_covariates`` the
    people also carry the population module's default (OUD) covariates — depression history, early
    adversity, social support, chronic pain — as a sample of people with OUD does."""
    key = (model.fingerprint(), id(model), tuple(regimens), n, seed, tuple(np.round(times, 6)),
           tuple(sorted((overrides or {}).items())), oud_covariates)
    if key in _CACHE:
        return _CACHE[key]
    ids = np.arange(1, n + 1)
    if oud_covariates:
        P, _cov = virtual_cohort(model, ids, seed, overrides=overrides)
    else:
        P = sample_parameters(model, ids, seed, overrides=overrides)
    regimen = EventTable.from_regimens(model, regimens)
    drug = simulate(model, P, times, regimen.for_ids(ids).expanded() if len(regimen) else None, ids=ids)
    ctrl = simulate(model, P, times, None, ids=ids)
    _CACHE[key] = (drug, ctrl)
    return drug, ctrl


def _at(res, name, t):
    return res.get(name)[:, int(np.argmin(np.abs(res.times - t)))]


def _direction(x, ref, sign):
    """Mean log-ratio of x to its matched controls has the given sign, p < 0.05 (one-sample t)."""
    lr = np.log(np.maximum(x, 1e-12) / np.maximum(ref, 1e-12))
    if np.allclose(lr, lr[0]):
        p = 0.0 if np.sign(lr[0]) == sign and lr[0] != 0 else 1.0
    else:
        p = float(stats.ttest_1samp(lr, 0.0).pvalue)
    return bool(np.sign(lr.mean()) == sign and p < 0.05), float(np.exp(lr.mean())), p


def _has(model, name):
    return name in model.state_index or name in model.assignment_index


def heroin_abstinence(model, n, oud_covariates=False, overrides=None, seed=HEROIN_SEED):
    stop = HEROIN_DAYS * H
    times = np.unique(np.concatenate([np.arange(0, stop, H), stop + np.arange(0, FOLLOW_DAYS * H + 0.1, 6.0)]))
    return stop, cohort(model, [f"heroin 25 mg IV q6h for {HEROIN_DAYS} d"], n, seed, times, overrides, oud_covariates)


# ----------------------------------------------------------------------------------------------
@target("hpa.withdrawal",
        finding="acute withdrawal without agonist: cortisol higher than healthy controls; methadone stabilisation: "
                "cortisol lower, ACTH normal",
        band="directions hold (ACTH 'normal' scored as cohort mean within ±20% of matched controls)",
        source="Am J Drug Alcohol Abuse 2008, doi:10.1080/00952990802385781",
        calibration="hpa_withdrawal_gain and hpa_opioid_suppression_max were set by hand so both directions hold; "
                    "hpa_withdrawal_gain re-calibrated 2.5 → 6 when the drive became circadian and habituating "
                    "(08:00 samples; 5 is the smallest round value that holds)")
def hpa_withdrawal(model=None, n=32):
    model = model or default_model()
    stop, (d, c) = heroin_abstinence(model, n)
    t_wd = stop + 1 * H  # ~30 h after the last dose: peak withdrawal
    ok1, r1, p1 = _direction(_at(d, "cortisol_plasma", t_wd), _at(c, "cortisol_plasma", t_wd), +1)
    t12 = 84 * H - MORNING_PREDOSE  # 07:30, just before the day's dose: a morning trough sample
    md, mc = cohort(model, ["methadone 80 mg oral daily for 85 d"], n, 2025, np.arange(1, 85) * H - MORNING_PREDOSE)
    ok2, r2, p2 = _direction(_at(md, "cortisol_plasma", t12), _at(mc, "cortisol_plasma", t12), -1)
    acth = float(np.mean(_at(md, "acth_plasma", t12) / _at(mc, "acth_plasma", t12)))
    ok3 = abs(acth - 1) <= 0.2
    value = {"withdrawal day 1 cortisol / control": r1, "MMT week 12 cortisol / control": r2,
             "MMT week 12 ACTH / control": acth}
    detail = (f"withdrawal cortisol higher: {ok1} (p={p1:.2g}); MMT cortisol lower: {ok2} (p={p2:.2g}); "
              f"MMT ACTH normal: {ok3}; n={n} + matched controls")
    return value, ok1 and ok2 and ok3, detail


@target("hpa.abstinence30",
        finding="first month of unassisted abstinence: cortisol rises from day 3 to day 30 while ACTH falls; "
                "cortisol correlates positively with craving",
        band="cortisol(day 30) > cortisol(day 3); ACTH(day 30) < ACTH(day 3); positive correlation across the cohort",
        source="Am J Drug Alcohol Abuse 2009, doi:10.1080/00952990902933878",
        calibration="hpa_cytokine_gain and hpa_opioid_tolerance_rate were tuned by hand with a withdrawal stand-in; "
                    "the gland kinetics are Karin 2020's. The day-3→30 directions follow from habituation of the HPA "
                    "response to sustained withdrawal (assumed t½ 1 d, 80%; not fitted) plus adrenal-mass recovery; "
                    "samples at 08:00")
def hpa_abstinence30(model=None, n=32, seed=HEROIN_SEED):
    # Shi et al. 2009 studied heroin addicts: the cohort carries the default OUD covariates (depression
    # history, early adversity, social support), which shape affect, craving and — through the depressive
    # state's CRH drive — cortisol, as in the people studied
    model = model or default_model()
    stop, (d, _c) = heroin_abstinence(model, n, oud_covariates=True, seed=seed)
    c3, c30 = _at(d, "cortisol_plasma", stop + 3 * H), _at(d, "cortisol_plasma", stop + 30 * H)
    a3, a30 = _at(d, "acth_plasma", stop + 3 * H), _at(d, "acth_plasma", stop + 30 * H)
    ok_c, rc, pc = _direction(c30, c3, +1)
    ok_a, ra, pa = _direction(a30, a3, -1)
    value = {"cortisol day30/day3": rc, "ACTH day30/day3": ra}
    crav = next((v for v in ("craving", "craving_vas") if _has(model, v)), None)
    if crav:
        rho = float(stats.spearmanr(c30, _at(d, crav, stop + 30 * H)).statistic)
        value["cortisol–craving Spearman ρ (day 30)"] = rho
        # not scored: the same with cortisol relative to the person's own healthy level, which removes the
        # between-person spread of baseline cortisol (cortisol_baseline, CV 0.3) that plasma values carry
        value["cortisol_rel–craving Spearman ρ (day 30, not scored)"] = float(
            stats.spearmanr(_at(d, "cortisol_rel", stop + 30 * H), _at(d, crav, stop + 30 * H)).statistic)
        ok_r, note = rho > 0, f"cortisol–craving ρ={rho:.2f}"
    else:
        ok_r, note = True, "cortisol–craving correlation NOT ASSESSABLE (no craving variable in the model; scored on the two hormone directions only)"
    detail = f"cortisol rises: {ok_c} (p={pc:.2g}); ACTH falls: {ok_a} (p={pa:.2g}); {note}; n={n}"
    return value, ok_c and ok_a and ok_r, detail


@target("hpa.mat12m",
        finding="12 months of methadone or buprenorphine normalises plasma cortisol",
        band="cortisol at 12 months within healthy-control range (scored: cohort mean inside the 5th–95th percentile "
             "of the matched healthy controls, for both drugs)",
        source="Nava et al. 2006",
        calibration="hpa_opioid_tolerance_rate and hpa_opioid_tolerance_max were set so that this holds while "
                    "hpa.withdrawal's early-MMT cortisol stays low")
def hpa_mat12m(model=None, n=24):
    model = model or default_model()
    t = 364 * H - MORNING_PREDOSE
    times = np.arange(1, 53) * 7 * H - MORNING_PREDOSE
    value, ok = {}, True
    for label, reg, seed in (("methadone 80 mg", "methadone 80 mg oral daily for 365 d", 2026),
                             ("buprenorphine 16 mg", "buprenorphine 16 mg SL daily for 365 d", 2027)):
        d, c = cohort(model, [reg], n, seed, times)
        x, ref = _at(d, "cortisol_plasma", t), _at(c, "cortisol_plasma", t)
        lo, hi = np.percentile(ref, [5, 95])
        value[f"{label}: mean cortisol nmol/L"] = float(x.mean())
        value[f"{label}: control 5–95% nmol/L"] = [float(lo), float(hi)]
        ok &= bool(lo <= x.mean() <= hi)
    return value, ok, f"12 months of daily dosing, sampled at 07:30 before the morning dose; n={n} per drug + matched controls"


@target("cyt.withdrawal",
        finding="pro-inflammatory state in withdrawal / early abstinence (IL-6, TNF-α above controls), gradual recovery "
                "with abstinence",
        band="directions hold; recovery monotone after the first weeks",
        source="seed 000; Wei et al., Addiction 2020 (all SUD)",
        calibration="monocyte_withdrawal_gain, tlr4_opioid_efficacy and the myeloid-priming rates were set by hand")
def cyt_withdrawal(model=None, n=32, seed=HEROIN_SEED):
    model = model or default_model()
    stop, (d, c) = heroin_abstinence(model, n, seed=seed)
    value, ok, notes = {}, True, []
    for cyt in ("il6_plasma", "tnf_plasma"):
        up, r, p = _direction(_at(d, cyt, stop + 2 * H), _at(c, cyt, stop + 2 * H), +1)
        value[f"{cyt} day 2 / control"] = r
        days = np.arange(14, FOLLOW_DAYS + 1, 7)
        excess = np.array([np.mean(_at(d, cyt, stop + k * H) / _at(c, cyt, stop + k * H)) for k in days])
        mono = bool(np.all(np.diff(excess) <= 1e-9))
        value[f"{cyt} / control at days 14..{FOLLOW_DAYS} (weekly)"] = [round(float(v), 3) for v in excess]
        ok &= up and mono
        notes.append(f"{cyt}: above controls {up} (p={p:.2g}), monotone recovery from week 2 {mono}")
    return value, ok, "; ".join(notes)


@target("cyt.abstinence12w",
        finding="immune markers not restored after 12 weeks of abstinence",
        band="at least one of IL-6/TNF-α/IFN-γ still above control at day 84 (IFN-γ not modelled)",
        source="Folia Biol (Praha) 2015;61:241",
        calibration="myeloid_priming_decay (t½ 6 weeks) and myeloid_priming_gain were chosen for this target")
def cyt_abstinence12w(model=None, n=32, seed=HEROIN_SEED):
    model = model or default_model()
    stop, (d, c) = heroin_abstinence(model, n, seed=seed)
    t = stop + 84 * H
    value, any_up, notes = {}, False, []
    for cyt in ("il6_plasma", "tnf_plasma"):
        up, r, p = _direction(_at(d, cyt, t), _at(c, cyt, t), +1)
        value[f"{cyt} day 84 / control"] = r
        any_up |= up
        notes.append(f"{cyt} above: {up} (p={p:.2g})")
    return value, any_up, "; ".join(notes) + f"; n={n} vs matched controls"


@target("cyt.mmt",
        finding="on methadone maintenance IL-6 (and IL-1β) above controls; TNF-α and IL-6 rise with daily methadone dose; "
                "IL-6 predicts early dropout",
        band="directions hold in a simulated MMT cohort",
        source="Psychiatry Res 2015;226:230; Lu et al., Drug Alcohol Depend 2019;204:107516",
        calibration="tlr4_opioid_efficacy and tlr4_opioid_K were set by hand so methadone raises IL-6 (no human "
                    "TLR4 affinity exists)")
def cyt_mmt(model=None, n=24, seed=2028):
    model = model or default_model()
    t = 84 * H + 20
    times = np.arange(0, t + 1, 7 * H) + 20
    value, ok, notes, means = {}, True, [], {}
    for dose in (40, 80, 120):
        d, c = cohort(model, [f"methadone {dose} mg oral daily for 85 d"], n, seed, times)
        for cyt in ("il6_plasma", "tnf_plasma", "il1b_plasma"):
            up, r, p = _direction(_at(d, cyt, t), _at(c, cyt, t), +1)
            means[(dose, cyt)] = r
            if dose == 80 and cyt in ("il6_plasma", "il1b_plasma"):
                ok &= up
                notes.append(f"80 mg {cyt} above controls: {up} (p={p:.2g})")
            value[f"{dose} mg {cyt} / control"] = r
    for cyt in ("il6_plasma", "tnf_plasma"):
        rising = means[(40, cyt)] < means[(80, cyt)] < means[(120, cyt)]
        ok &= rising
        notes.append(f"{cyt} rises with dose: {rising}")
    notes.append("IL-6 → early dropout NOT ASSESSABLE (no behaviour/retention module yet; scored on the other parts)")
    return value, ok, "; ".join(notes)


@target("dti.recovery",
        finding="frontal FA lower than controls at 3 days of abstinence, no longer different at 1 month; FA correlates "
                "positively with abstinence duration",
        band="FA gap at 1 month ≤ one third of the day-3 gap; positive correlation",
        source="Addict Biol 2013;18:727; Zhu et al., J Addict Med 2022",
        calibration="wm_repair_rate (t½ 5 d) and the glial weights were set by hand so the 1-month gap ratio holds")
def dti_recovery(model=None, n=32, seed=HEROIN_SEED):
    # ``seed`` re-draws the people; the scan schedule below is the study's design and keeps its own stream
    model = model or default_model()
    stop, (d, c) = heroin_abstinence(model, n, seed=seed)
    g3 = float(np.mean(_at(c, "fa_frontal", stop + 3 * H) - _at(d, "fa_frontal", stop + 3 * H)))
    g30 = float(np.mean(_at(c, "fa_frontal", stop + 30 * H) - _at(d, "fa_frontal", stop + 30 * H)))
    lower, _, p3 = _direction(_at(d, "fa_frontal", stop + 3 * H), _at(c, "fa_frontal", stop + 3 * H), -1)
    # cross-sectional correlation (Zhu 2022 design): each patient scanned once, at an abstinence duration 3–90 d
    rng = Streams(7).shared(Purpose.DESIGN, "scan timing")
    dur = rng.uniform(3, FOLLOW_DAYS, len(d.ids))
    fa = np.array([d.get("fa_frontal")[i, int(np.argmin(np.abs(d.times - (stop + k * H))))] for i, k in enumerate(dur)])
    rho = float(stats.spearmanr(dur, fa).statistic)
    ratio = g30 / g3 if g3 > 0 else float("inf")
    ok = lower and g3 > 0 and ratio <= 1 / 3 and rho > 0
    value = {"FA gap day 3": g3, "FA gap day 30": g30, "gap ratio 30/3": ratio, "Spearman ρ(FA, duration)": rho}
    return value, ok, f"day-3 FA lower (p={p3:.2g}): {lower}; gap ratio {ratio:.2f} (≤0.33); ρ={rho:.2f}; n={n}"


@target("hpa.ntx.challenge",
        finding="naltrexone 50 mg raises cortisol over 180 min in healthy people: endogenous opioid tone restrains the "
                "HPA axis",
        band="cortisol higher than after placebo (direction), in opioid-free people",
        source="Lovallo et al., PLoS One 2018;13:e0205723")
def hpa_ntx_challenge(model=None, n=32, seed=2018):
    model = model or default_model()
    times = np.arange(0, 3.001, 0.25)
    d, c = cohort(model, ["naltrexone 50 mg oral once"], n, seed, times)
    sel = times > 0
    x = d.get("cortisol_plasma")[:, sel].mean(axis=1)
    ref = c.get("cortisol_plasma")[:, sel].mean(axis=1)
    ok, ratio, p = _direction(x, ref, +1)
    at180 = float(np.mean(_at(d, "cortisol_plasma", 3.0) / _at(c, "cortisol_plasma", 3.0)))
    value = {"mean cortisol 0–180 min / placebo": ratio, "cortisol at 180 min / placebo": at180}
    return value, ok, (f"n={n} opioid-free healthy adults, naltrexone 50 mg oral vs placebo (the same people); "
                       f"cortisol higher: {ok} (p={p:.2g}); not calibrated: hpa_endogenous_restraint (0.5) is an assumed "
                       f"magnitude, not fitted to this study")
