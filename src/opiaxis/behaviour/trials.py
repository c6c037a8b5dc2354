"""Simulated trials and cohorts behind the behaviour targets — each mirrors its study's population,
arms, definitions and statistics (proportions with Wilson CIs, RR with log-scale CIs, Cox HR
with lifelines, correlations, t-tests)."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import stats

from ..streams import Purpose, Streams
from .engine import CohortSim, Evaluator, OPTIONS, _doses, make_cohort, run_in, runs

SEED = 20240606
HEROIN_SUPPLY = {"fentanyl_supply": {"p": 0.0}}   # pre-fentanyl trials (X:BOT 2014–16, Mattick, Sordo)


@lru_cache(maxsize=8)
def _oud_cohort(n: int, seed: int, fentanyl_p: float = 0.0, overrides: tuple = (), behaviour: tuple = ()):
    """Dependent OUD patients after a 28-day run-in of their habitual use (cached per process)."""
    c = make_cohort(np.arange(1, n + 1), seed, covariates={"fentanyl_supply": {"p": fentanyl_p}},
                    overrides=dict(overrides), behaviour=dict(behaviour))
    run_in(c, 28)
    return c.X.copy(), c


def oud_cohort(n: int, seed: int = SEED, fentanyl_p: float = 0.0, *, overrides: dict | None = None,
               behaviour: dict | None = None):
    """``overrides`` (ODE typical values) and ``behaviour`` (behaviour typical values) are injected
    by calibration (opiaxis.calibrate.procedures); both key the cache."""
    key_o, key_b = tuple(sorted((overrides or {}).items())), tuple(sorted((behaviour or {}).items()))
    X, c = _oud_cohort(n, seed, fentanyl_p, key_o, key_b)
    c2 = make_cohort(c.ids, seed, covariates={"fentanyl_supply": {"p": fentanyl_p}}, overrides=overrides,
                     behaviour=behaviour)
    c2.X = X.copy()
    return c2


def _trial_seed(seed: int, trial: str) -> int:
    """The cohort seed of one named trial, derived from the study seed (Purpose.COHORT keyed by the
    trial's name): trials no longer share cohorts the way the former ``seed + k`` offsets made
    mmt_cohort and post_release (``seed + 3``), and cncp_misuse and taper_duration (``seed + 4``), do."""
    return Streams(seed).derived_seed(Purpose.COHORT, trial)


def rr_ci(a, n1, b, n2):
    """Risk ratio (a/n1)/(b/n2) with a log-scale 95% CI (0.5 added to empty cells)."""
    if a == 0 or b == 0:
        a, b, n1, n2 = a + 0.5, b + 0.5, n1 + 1, n2 + 1
    rr = (a / n1) / (b / n2)
    se = math.sqrt(1 / a - 1 / n1 + 1 / b - 1 / n2)
    return rr, rr * math.exp(-1.96 * se), rr * math.exp(1.96 * se)


def relapse_after_detox(n: int = 100, follow_days: int = 150, seed: int = SEED) -> dict:
    """Smyth et al. 2010: inpatient detox (methadone taper, 6-week programme, leaving early allowed),
    discharge without maintenance; relapse = return to daily use (3 consecutive days of use)."""
    c = oud_cohort(n, seed)
    ip = 42

    def stop(sim, k):
        d = sim.rec.discharge_day
        rel = runs(sim.rec.uses > 0, 3)
        return (rel >= 0) & (d >= 0) & (rel > d)

    sim = CohortSim(c, ["detox"] * n, ip + follow_days, inpatient_days=ip, stop_when=stop)
    rec = sim.run()
    dis = rec.discharge_day
    rel_day = np.full(n, -1)
    for i in range(n):
        if dis[i] < 0:
            continue
        r = runs(rec.uses[i:i + 1, dis[i] + 1:] > 0, 3)[0]
        rel_day[i] = r + 1 if r >= 0 else -1
    relapsed = rel_day >= 0
    week1 = relapsed & (rel_day <= 7)
    # lapse = any use (Smyth: 66% lapsed within the first week, 59% relapsed)
    lapse1 = np.array([dis[i] >= 0 and rec.uses[i, dis[i] + 1:dis[i] + 8].sum() > 0 for i in range(n)])
    return {"n": n, "relapse": relapsed.mean(), "relapse_week1": week1.mean(), "lapse_week1": lapse1.mean(),
            "completed_programme": float((dis >= ip - 1).mean()), "rel_day": rel_day, "record": rec}


def xbot(n: int = 570, seed: int = SEED, *, follow_after_relapse: bool = True, overrides: dict | None = None,
         behaviour: dict | None = None) -> dict:
    """X:BOT (Lee et al., Lancet 2018): 570 inpatients randomised 1:1 to XR-NTX (283) or BUP-NX (287);
    24 weeks (simple randomisation here, so the arms are ~285 each).
    Relapse = 4 consecutive weeks with any use or 7 consecutive days of use, assessed over weeks 3–24
    (days 21–167: the trial's relapse window, which leaves the first three weeks to detoxification
    and induction — "opioid relapse, weeks 3–24", Lee et al. 2018); failure to induct counts as
    relapse at day 21 (ITT). Cox PH (lifelines) for XR-NTX vs BUP-NX.

    Every patient is followed for the full 24 weeks (``follow_after_relapse``), so outcomes after
    relapse (overdoses, deaths, re-induction) can be read from ``record``, ``events`` and
    ``sim``; the relapse end point reads only the first relapse run in weeks 3–24, which following
    up cannot change (each patient's path has its own random stream). ``follow_after_relapse=False``
    stops simulating a patient at relapse or failed induction (faster, same end point).
    ``overrides``/``behaviour``: typical values injected by calibration (see :func:`oud_cohort`)."""
    from lifelines import CoxPHFitter

    from ..trials import proportion, randomise
    c = oud_cohort(n, seed, overrides=overrides, behaviour=behaviour)
    arm = randomise(c.ids, seed, (1, 1))
    arms = np.where(arm == 0, "xrntx", "bupnx")
    inp = np.where(arm == 0, 21.0, 4.0)
    days = 168

    window = 21   # first day of the relapse window (week 3)

    def relapse_day(rec):
        """Day the first relapse run starts inside the window (-1 none)."""
        use = rec.uses[:, window:] > 0
        d7 = runs(use, 7)
        wk = use[:, : (use.shape[1] // 7) * 7].reshape(len(use), -1, 7).any(axis=2)
        w4 = runs(wk, 4) * 7
        out = np.where(d7 >= 0, d7, 10 ** 6)
        out = np.minimum(out, np.where(w4 >= 0, w4, 10 ** 6))
        return np.where(out < 10 ** 6, out + window, -1)

    def stop(sim, k):
        return (relapse_day(sim.rec) >= 0) | sim.ind_failed

    sim = CohortSim(c, list(arms), days, inpatient_days=inp, stop_when=None if follow_after_relapse else stop)
    rec = sim.run()
    fail = sim.ind_failed | (sim.inducted < 0)
    rd = relapse_day(rec)
    event = fail | (rd >= 0)
    time = np.where(fail, 21.0, np.where(rd >= 0, rd + 1.0, days))
    df = pd.DataFrame({"T": time, "E": event.astype(int), "xrntx": (arm == 0).astype(int)})
    cph = CoxPHFitter().fit(df, "T", "E")
    hr = float(np.exp(cph.params_["xrntx"]))
    lo, hi = np.exp(cph.confidence_intervals_.loc["xrntx"].to_numpy())
    x, b = arm == 0, arm == 1
    return {"induction_xrntx": proportion(~fail[x]), "induction_bupnx": proportion(~fail[b]),
            "relapse_xrntx": proportion(event[x]), "relapse_bupnx": proportion(event[b]),
            "hr": hr, "hr_ci": (float(lo), float(hi)), "frame": df, "record": rec, "sim": sim,
            "events": sim.event_table()}


def mmt_vs_no_replacement(n: int = 120, days: int = 112, seed: int = SEED, *, overrides: dict | None = None,
                          behaviour: dict | None = None) -> dict:
    """Mattick et al., Cochrane 2009 trials: methadone maintenance (30 mg → 80 mg) vs no opioid
    replacement (counselling/placebo/wait-list). Retention = still in treatment at the end;
    heroin use = morphine-positive urine at the final test (use in the preceding 72 h), all
    randomised patients followed. ``overrides``/``behaviour``: see :func:`oud_cohort`."""
    from ..trials import randomise
    s = _trial_seed(seed, "mmt_vs_no_replacement")
    c = oud_cohort(n, s, overrides=overrides, behaviour=behaviour)
    arm = randomise(c.ids, s, (1, 1))
    arms = np.where(arm == 0, "methadone", "no_replacement")
    rec = CohortSim(c, list(arms), days).run()
    ret = rec.in_tx[:, -1]
    pos = rec.uses[:, -3:].sum(axis=1) > 0
    m, p = arm == 0, arm == 1
    return {"retention": rr_ci(ret[m].sum(), m.sum(), ret[p].sum(), p.sum()),
            "heroin_use": rr_ci(pos[m].sum(), m.sum(), pos[p].sum(), p.sum()),
            "retention_rates": (ret[m].mean(), ret[p].mean()), "use_rates": (pos[m].mean(), pos[p].mean()),
            "record": rec}


def mortality_ost(n: int = 100, days: int = 365, seed: int = SEED, n_boot: int = 400, *,
                  overrides: dict | None = None, behaviour: dict | None = None, exit_tapers: bool = True) -> dict:
    """Sordo et al., BMJ 2017: mortality in and out of methadone treatment. A cohort starting
    methadone cycles out (dropout) and back in (re-entry) over a year; person-time is classified
    by treatment status that day. Deaths are not drawn (immortal cohort): expected deaths given each
    path (Rao–Blackwell) estimate the rates; CIs by bootstrap over patients. ``overrides``: ODE
    typical values, ``behaviour`` behaviour typical values (counterfactuals, calibration; see
    :func:`oud_cohort`). A population's treatment episodes often end in a dose taper (Nosyk et al.,
    Addiction 2012: 57% of completed methadone episodes): ``exit_tapers`` lets a patient deciding to
    leave do so through methadone's exit taper (``data/treatments.yaml``), False the former
    immediate exits (counterfactual)."""
    c = oud_cohort(n, _trial_seed(seed, "mortality_ost"), overrides=overrides, behaviour=behaviour)
    sim = CohortSim(c, ["methadone"] * n, days, dt=24.0, immortal=True, reentry=True, exit_tapers=exit_tapers)
    rec = sim.run()
    on = rec.in_tx
    py_on = (rec.surv * on).sum(axis=1) / 365.25
    py_off = (rec.surv * ~on).sum(axis=1) / 365.25
    od_on, od_off = (rec.exp_od_death * on).sum(1), (rec.exp_od_death * ~on).sum(1)
    ot_on, ot_off = (rec.exp_other_death * on).sum(1), (rec.exp_other_death * ~on).sum(1)

    def ratios(ix):
        r_on = (od_on[ix] + ot_on[ix]).sum() / py_on[ix].sum()
        r_off = (od_off[ix] + ot_off[ix]).sum() / py_off[ix].sum()
        o_on = od_on[ix].sum() / py_on[ix].sum()
        o_off = od_off[ix].sum() / py_off[ix].sum()
        return r_off / r_on, o_off / max(o_on, 1e-12), 1000 * r_on, 1000 * r_off, 1000 * o_on, 1000 * o_off

    est = ratios(np.arange(n))
    rng = Streams(seed).shared(Purpose.BOOTSTRAP)
    boot = np.array([ratios(rng.integers(0, n, n)) for _ in range(n_boot)])
    lo, hi = np.nanpercentile(boot, [2.5, 97.5], axis=0)
    return {"rr_all": est[0], "rr_all_ci": (lo[0], hi[0]), "rr_od": est[1], "rr_od_ci": (lo[1], hi[1]),
            "rates_per_1000py": {"all_on": est[2], "all_off": est[3], "od_on": est[4], "od_off": est[5]},
            "phase_rates_per_1000py": phase_rates(rec), "person_years": (py_on.sum(), py_off.sum()),
            "overdoses": int(rec.od.sum()), "record": rec}


def treatment_phases(in_tx: np.ndarray, weeks: int = 4) -> np.ndarray:
    """Each patient-day's phase of the treatment cycle: 'on, first N weeks' (induction and
    titration), 'on, later', 'off, first N weeks' (after leaving, or before the first entry) and
    'off, later' — the periods in which cohort studies of opioid substitution treatment find the
    mortality peaks (Cornish et al., BMJ 2010;341:c5475: weeks 1–2 of treatment 3.1× the rest of
    time on it; weeks 1–4 after stopping 8–9× it, the rest of time off 1.9×; Cousins et al.,
    Addiction 2016;111:73; Sordo et al., BMJ 2017)."""
    n, d = in_tx.shape
    out = np.empty((n, d), dtype=object)
    for i in range(n):
        start = 0
        for k in range(d):
            if k > 0 and in_tx[i, k] != in_tx[i, k - 1]:
                start = k
            early = k - start < 7 * weeks
            out[i, k] = ("on" if in_tx[i, k] else "off") + (f", first {weeks} weeks" if early else ", later")
    return out


def phase_rates(rec, weeks: int = 4) -> dict:
    """Expected overdose and all-cause deaths per 1000 person-years in each treatment phase
    (:func:`treatment_phases`), with the person-years at risk."""
    ph = treatment_phases(rec.in_tx, weeks)
    out = {}
    for p in sorted(set(ph.ravel())):
        sel = ph == p
        py = rec.surv[sel].sum() / 365.25
        od = rec.exp_od_death[sel].sum()
        out[p] = {"od": 1000 * od / py, "all": 1000 * (od + rec.exp_other_death[sel].sum()) / py, "py": py}
    return out


@lru_cache(maxsize=2)
def mmt_cohort(n: int = 77, days: int = 84, seed: int = SEED):
    """A methadone-maintained cohort (Lin 2018: 77 MMT patients): run-in, then methadone with its
    dose escalation, in treatment throughout (stable patients)."""
    c = oud_cohort(n, _trial_seed(seed, "mmt_cohort"))
    sim = CohortSim(c, ["methadone"] * n, days, dt=24.0)
    sim.c.B["dropout_rate"] = np.zeros(n)
    sim.run()
    return sim.c


def ot_craving(n: int = 77, seed: int = SEED) -> dict:
    """Lin et al., Eur Addict Res 2018: plasma oxytocin vs craving in MMT patients (Spearman)."""
    c = mmt_cohort(n, seed=seed)
    ev = Evaluator(c.model)
    ot = ev("oxytocin_endogenous_plasma", c.X, c.P)
    tone = ev("oxytocin_tone", c.X, c.P)
    cr = ev("craving", c.X, c.P)
    rho, p = stats.spearmanr(ot, cr)
    rho_c, p_c = stats.spearmanr(tone, cr)
    rho_m = stats.spearmanr(ot, tone)[0]
    return {"rho": float(rho), "p": float(p), "n": n, "ot": ot, "craving": cr, "rho_central": float(rho_c),
            "p_central": float(p_c), "rho_plasma_central": float(rho_m)}


def ot_intranasal(n: int = 64, seed: int = SEED, vas_sd: float = 15.0) -> dict:
    """Woolley et al. (pilot, NCT01728909): single 40 IU intranasal oxytocin vs placebo (crossover)
    in ORT patients; cue-induced craving (VAS 0–100) 45 min after dosing; paired t-test."""
    from ..engine.simulate import simulate
    c = mmt_cohort(77, seed=seed)
    ids, X, P = c.ids[:n], c.X[:n], c.P[:n].copy()
    P[:, c.model.param_index["cue_exposure"]] = 1.0
    ev = Evaluator(c.model)
    iu = c.model.parameter("oxytocin_iu_per_mg").value
    res = {}
    for arm in ("oxytocin", "placebo"):
        d = _doses([(pid, 0.0, 40.0 / iu, "oxytocin.intranasal") for pid in ids]) if arm == "oxytocin" else None
        r = simulate(c.model, P, [0.75], d, ids=ids, x0=X, t0=0.0, options=OPTIONS)
        res[arm] = 100 * ev("craving", r.states[:, -1, :], P)
    noise = np.array([Streams(seed).patient(pid, Purpose.TRIAL, 0x0F).normal(0, vas_sd, 2) for pid in ids])
    a, b = res["oxytocin"] + noise[:, 0], res["placebo"] + noise[:, 1]
    t, p = stats.ttest_rel(a, b)
    return {"diff": float(np.mean(a - b)), "true_diff": float(np.mean(res["oxytocin"] - res["placebo"])),
            "p": float(p), "n": n}


def cncp_misuse(n: int = 150, days: int = 365, seed: int = SEED, *, overrides: dict | None = None,
                behaviour: dict | None = None) -> dict:
    """Vowles et al., Pain 2015: chronic non-cancer pain on long-term opioid therapy (oxycodone 20 mg
    bid, opioid-naïve at start), 1 year. Operational definitions: misuse = extra (non-prescribed)
    doses on ≥3 days within any 30-day window; addiction = extra doses on ≥14 days within any
    28-day window (loss of control, compulsive use) — a subset of misuse."""
    cov = {"chronic_pain": {"p": 1.0}, "fentanyl_supply": {"p": 0.0}, "early_life_adversity": {"p": 0.25},
           "depression_history": {"p": 0.3}}
    c = make_cohort(np.arange(1, n + 1), _trial_seed(seed, "cncp_misuse"), covariates=cov, overrides=overrides,
                    behaviour=behaviour)
    rec = CohortSim(c, ["cncp"] * n, days, dt=24.0).run()
    ex = rec.extra > 0
    cs = np.cumsum(np.pad(ex.astype(int), ((0, 0), (1, 0))), axis=1)
    w30 = (cs[:, 30:] - cs[:, :-30]).max(axis=1)
    w28 = (cs[:, 28:] - cs[:, :-28]).max(axis=1)
    misuse = w30 >= 3
    addiction = w28 >= 14
    from ..trials import proportion
    return {"misuse": proportion(misuse), "addiction": proportion(addiction), "record": rec}


def post_release(n: int = 200, abstinent_days: int = 60, follow_days: int = 84, seed: int = SEED,
                 behaviour: dict | None = None, dt: float = 6.0, *, overrides: dict | None = None) -> dict:
    """Binswanger et al., NEJM 2007 (and Merrall et al., Addiction 2010): overdose death after release
    from prison. Dependent heroin users (28-day run-in) spend ``abstinent_days`` without access to
    opioids (forced abstinence), are released without treatment and followed for ``follow_days``.
    Deaths are not drawn (immortal cohort): the expected overdose deaths given each path
    (Rao–Blackwell) per person-day at risk give the rate in weeks 1–2 and weeks 5–12 after release.
    ``behaviour`` overrides behaviour parameters' typical values, ``overrides`` the ODE model's
    (counterfactuals)."""
    c = oud_cohort(n, _trial_seed(seed, "post_release"), overrides=overrides)
    for k, v in (behaviour or {}).items():
        c.set_behaviour(k, v)
    sim = CohortSim(c, ["none"] * n, abstinent_days + follow_days, dt=dt, immortal=True,
                    abstinent_days=abstinent_days)
    rec = sim.run()
    d0 = abstinent_days
    surv_prev = np.concatenate([np.ones((n, 1)), rec.surv[:, :-1]], axis=1)   # at risk at day start

    def rate(a, b):   # expected overdose deaths per person-day, days [d0 + a, d0 + b)
        den = surv_prev[:, d0 + a:d0 + b].sum()
        return rec.exp_od_death[:, d0 + a:d0 + b].sum() / den if den > 0 else np.nan

    r12, r512 = rate(0, 14), rate(28, 84)
    # the shape Merrall et al. 2010 pooled besides the scored ratio: weeks 1-2 vs 3-12 (3.1-8.4 by country)
    # and weeks 3-4 vs 5-12 (1.7, 1.3-2.2: the excess lasts into the fourth week)
    r34, r312 = rate(14, 28), rate(14, 84)
    ev = sim.event_table()
    uses = ev[ev.event == "use"]
    wk = (uses["day"] - d0) // 7
    return {"n": n, "rate_w1_2": r12, "rate_w5_12": r512, "ratio": r12 / r512 if r512 > 0 else np.inf,
            "ratio_w1_2_vs_3_12": r12 / r312 if r312 > 0 else np.inf,
            "ratio_w3_4_vs_5_12": r34 / r512 if r512 > 0 else np.inf,
            "p_od_w1_2": float(uses.loc[wk < 2, "p_overdose"].mean()),
            "p_od_w5_12": float(uses.loc[(wk >= 4) & (wk < 12), "p_overdose"].mean()),
            "uses_w1_2": float((wk < 2).sum() / n), "uses_w5_12": float(((wk >= 4) & (wk < 12)).sum() / n),
            "record": rec, "events": ev}


def taper_duration(n: int = 516, seed: int = SEED, stabilise_days: int = 28, follow_days: int = 30) -> dict:
    """Ling et al., Addiction 2009;104:256 (NIDA CTN-0003; n = 516 randomised, the default): buprenorphine-naloxone stabilisation for
    1 month (16/4 mg here), then a 7-day or 28-day taper to zero; outcome = opioid-free urine at the
    end of the taper (no use in the 3 preceding days; missing — out of treatment before the taper
    ended — counts as positive) and at the 1-month follow-up (no use in the 3 preceding days, same
    missing rule). Outpatient programmes: outpatient (home) induction, its early attrition included
    (induction failures count as positive). The 28-day taper steps down weekly (16, 12, 8, 4 mg), the 7-day
    taper daily. Out of treatment (after the taper, or after leaving it), patients re-enter
    buprenorphine-naloxone treatment at ``reentry_rate`` (assumed, not fitted; as in
    :func:`mortality_ost`): Ling et al. let participants continue treatment as usual or be referred
    to other local treatment after the taper, and the follow-up visits counted everyone."""
    from dataclasses import replace

    from ..trials import proportion, randomise
    from .treatments import Taper, default_treatments
    s = _trial_seed(seed, "taper_duration")
    c = oud_cohort(n, s)
    arm = randomise(c.ids, s, (1, 1))
    base = default_treatments()["bupnx"]
    t7 = replace(base, medication=replace(base.medication, taper=Taper(stabilise_days + 1, (), 7.0, 1.0)))
    t28 = replace(base, medication=replace(base.medication, taper=Taper(stabilise_days + 1, (), 28.0, 7.0)))
    treat = [t7 if a == 0 else t28 for a in arm]
    days = stabilise_days + 28 + follow_days + 1
    sim = CohortSim(c, treat, days, reentry=True)   # outpatient: home induction, no inpatient stay
    rec = sim.run()
    end = np.where(arm == 0, stabilise_days + 7, stabilise_days + 28)   # day of the end-of-taper visit
    out_early = (rec.dropout_day >= 0) & (rec.dropout_day < end)
    out_early |= sim.ind_failed | (sim.inducted < 0)
    free_end = np.array([rec.uses[i, end[i] - 3:end[i]].sum() == 0 for i in range(n)]) & ~out_early
    fu = end + follow_days
    free_fu = np.array([rec.uses[i, fu[i] - 3:fu[i]].sum() == 0 for i in range(n)]) & ~out_early
    a7, a28 = arm == 0, arm == 1
    reentered = np.zeros(n, bool)
    reentered[[e[0] for e in sim.events if e[3] == "reentry"]] = True
    in_tx_fu = rec.in_tx[np.arange(n), np.minimum(fu, days) - 1]
    return {"n": n, "free_end_7": proportion(free_end[a7]), "free_end_28": proportion(free_end[a28]),
            "free_fu": proportion(free_fu), "free_fu_7": proportion(free_fu[a7]),
            "free_fu_28": proportion(free_fu[a28]), "reentered": proportion(reentered),
            "in_treatment_fu": proportion(in_tx_fu), "record": rec, "sim": sim}
