"""Tolerance, withdrawal and hyperalgesia targets (targets.md, withdrawal table; tol.fentanyl.c50).

Each function takes an optional ``model`` (default: the composed default model) so that tests can
score the same simulation on a reduced composition (pk, receptors, adaptation, pain).
"""

from __future__ import annotations

import numpy as np

from .registry import target
from .targets_pk import inside, typical_patient

# Study designs (mirroring the populations behind each finding)
HEROIN = "heroin 25 mg IV q6h for 28 d"          # dependent heroin user, 4 injections a day, 4 weeks
HEROIN_LAST = 27 * 24 + 18.0                     # time of the last injection (h)
METHADONE = "methadone 80 mg oral daily for 60 d"  # maintenance 60–100 mg; 80 mg the middle
METHADONE_LAST = 59 * 24.0


def withdrawal_course(regimens, last_dose: float, days: float = 14, model=None, overrides=None) -> dict:
    """COWS after the last dose: onset (first COWS ≥ 5), peak time and value, time back under 5."""
    t = np.arange(0.0, last_dose + days * 24 + 1e-9, 0.25)
    r = typical_patient(regimens, t, overrides, model=model)
    c = r.get("cows_score")[0]
    tt = t - last_dose
    after = tt >= 0
    ta, ca = tt[after], c[after]
    onset = float(ta[np.argmax(ca >= 5)]) if (ca >= 5).any() else float("nan")
    k = int(np.argmax(ca))
    below = np.nonzero((ta > ta[k]) & (ca < 5))[0]
    resolved = float(ta[below[0]]) if len(below) else float("nan")
    return {"onset h": onset, "peak h": float(ta[k]), "peak COWS": float(ca[k]),
            "back under 5 h": resolved, "max COWS before stopping": float(c[(tt < 0) & (tt > -72)].max())}


@target("wd.short.timecourse",
        finding="after the last dose of heroin or IR morphine: withdrawal onset 6–12 h, peak 24–48 h, subsiding "
                "over 3–5 days",
        band="onset (COWS ≥5) 6–12 h; peak 24–48 h; COWS back under 5 by day 3–7",
        source="clinical overview (secondary); Tompkins et al., JPET 2014;348:217",
        calibration="adapt_tolerance_rate, adapt_feedback_exponent, adapt_load_exponent and wd_rebound_severe "
                    "were calibrated to this time course together with wd.methadone.timecourse")
def _wd_short(model=None):
    v = withdrawal_course([HEROIN], HEROIN_LAST, model=model)
    checks = [("onset", v["onset h"], 6, 12), ("peak", v["peak h"], 24, 48),
              ("back under 5", v["back under 5 h"], 72, 168)]
    bad = [f"{n} {x:.3g} h outside {lo}–{hi} h" for n, x, lo, hi in checks if not inside(x, lo, hi)]
    return v, not bad, ("heroin 25 mg IV 4×/day for 4 weeks, then abrupt stop (typical patient); "
                        + ("; ".join(bad) or "all inside"))


@target("wd.methadone.timecourse",
        finding="after methadone: onset 30–72 h, resolution over ~10 days",
        band="onset 30–72 h; peak later and lower than after heroin",
        source="clinical overview (secondary)",
        calibration="adaptation parameters calibrated jointly with wd.short.timecourse (onset times)")
def _wd_methadone(model=None):
    v = withdrawal_course([METHADONE], METHADONE_LAST, days=20, model=model)
    h = withdrawal_course([HEROIN], HEROIN_LAST, model=model)
    ok_on = inside(v["onset h"], 30, 72)
    later, lower = v["peak h"] > h["peak h"], v["peak COWS"] < h["peak COWS"]
    value = dict(v, **{"heroin peak h": h["peak h"], "heroin peak COWS": h["peak COWS"]})
    detail = (f"methadone 80 mg/day for 60 days, then stop; onset {'inside' if ok_on else 'outside'} 30–72 h; "
              f"peak {'later' if later else 'NOT later'} and {'lower' if lower else 'NOT lower'} than heroin's")
    return value, ok_on and later and lower, detail


# ----------------------------------------------------------------------------------------------
# Tolerance to respiratory depression: fentanyl C50 in naïve and chronic users (Algera 2021).
# Algera's chronic users are the eight opioid-tolerant patients of Moss et al., PLoS One 2022;17:e0256752
# (their placebo sessions): daily opioid doses ≥ 90 mg oral morphine equivalents (inclusion criterion;
# the individual doses, opioids and the time of the last dose before the session were not available in
# the abstracts read); fentanyl given after a 360-min placebo infusion as up to four escalating IV doses,
# 250, 350, 500, 700 µg/70 kg in the chronic users (cumulative 250/600/1100/1800: apnoea after 600, 1100
# and 1800 µg) and 75, 150, 250, 350 µg/70 kg in the naïve (apnoea after 225 and 475 µg). Algera's C50 is
# the equilibrium parameter of a biophase (effect-site) model fitted to those boluses; a bolus read-out
# at the first crossing of 50% reads the hysteresis as well (naïve 1.17 ng/mL in this model), so the
# in-silico study reads the equilibrium C50 during a slow 60-min ramp instead.
CHRONIC_USER = "morphine 50 mg oral q6h for 56 d"  # assumed 'chronic high-dose user': 200 mg/day oral MME, 8 weeks
CHRONIC_USER_MIN = "morphine 22.5 mg oral q6h for 56 d"  # Moss/Algera inclusion minimum, 90 mg/day oral MME
CHRONIC_DELAY = 12.0  # fentanyl session the morning after the evening dose (usual morning dose withheld: assumed)
CHRONIC_LAST = 55 * 24 + 18.0
CHRONIC_RAMP_UG = 3000.0  # µg over 60 min: enough to reach the model's 50% point (Algera: 250–700 µg steps)
# spontaneous breathing halves ventilation only at E ≈ 0.97 (the CO2 that accumulates drives breathing back,
# respiration.py eq. 1), far beyond the naïve clamped 150-µg ramp's reach: the same ramp read-out with a
# larger (in-silico only) ramp
SPONTANEOUS_RAMP_UG = 3000.0


def _drug_free(times, model=None, overrides=None):
    """One typical patient without any dose."""
    from ..engine import simulate
    from ..models import default_model
    model = model or default_model()
    P = model.default_parameters()
    for k, v in (overrides or {}).items():
        P[model.param_index[k]] = v
    return simulate(model, P[None, :], np.asarray(times, float), None, ids=[1])


def fentanyl_c50(history: list[str], t_test: float, dose_ug: float, model=None, overrides=None, *,
                 clamped: bool = True) -> float:
    """Effect-site fentanyl concentration at which ventilation falls to 50% of what it would be
    without fentanyl, during a slow IV fentanyl ramp (60-min infusion) starting at ``t_test``.

    Mirrors Algera 2021: escalating IV fentanyl, isohypercapnic ventilation (PaCO2 clamped:
    ``clamped=True`` sets the respiration module's ``co2_clamp``) relative to the pre-fentanyl
    ventilation of the same person at the same clamp, C50 on the effect-site concentration. The
    reference (no-fentanyl) simulation removes the drift of any background opioid.
    ``clamped=False`` gives the same experiment in spontaneous breathing (PaCO2 free to rise)."""
    over = dict(overrides or {}, **({"co2_clamp": 1.0} if clamped else {}))
    t = np.concatenate([np.arange(0.0, t_test, 1.0), t_test + np.arange(0.0, 1.5 + 1e-9, 1 / 120)])
    ramp = f"fentanyl {dose_ug:g} ug IV once over 60 min at {t_test:g} h"
    with_f = typical_patient(history + [ramp], t, over, model=model)
    base = typical_patient(history, t, over, model=model) if history else _drug_free(t, model, over)
    ratio = with_f.get("ventilation_rel")[0] / base.get("ventilation_rel")[0]
    ce = with_f.get("fentanyl_effect")[0]
    sel = t >= t_test
    rr, cr = ratio[sel], ce[sel]
    k = np.nonzero(rr <= 0.5)[0]
    if not len(k):
        return float("nan")
    k = k[0]
    if k == 0:
        return float(cr[0])
    w = (rr[k - 1] - 0.5) / (rr[k - 1] - rr[k])
    return float(cr[k - 1] + w * (cr[k] - cr[k - 1]))


def _vent_s50(model=None) -> float:
    from ..models import default_model
    return float((model or default_model()).parameter("vent_s50_naive").value)


@target("tol.fentanyl.c50",
        finding="effect-site fentanyl concentration for 50% ventilatory depression 0.42±0.07 ng/mL in opioid-naïve "
                "vs 1.82±0.39 ng/mL in chronic users",
        band="both within ±2 SD (naïve 0.28–0.56, chronic 1.04–2.60 ng/mL)",
        source="Algera et al., Clin Pharmacol Ther 2021, doi:10.1002/cpt.2027",
        calibration="vent_s50_naive is the naïve C50 converted to the linear μ signal through the fentanyl binding "
                    "constants (so the naïve half is not independent); the chronic C50 is a prediction. Breathing "
                    "tolerance is effect-driven (dΦ/dt = k_on·E·Φ − k_off·(Φ − 1), design memo "
                    "docs/design/breathing-tolerance.md), in two phases since the eighth session (fast, t½ 3 d "
                    "assumed; slow, t½ 13.2 d, Cox et al., BJP 1975; Φ = Φ_f·Φ_s); its one calibrated constant, "
                    "resp_tolerance_residual r = k_off/k_on = 0.268 (0.237 on the one-phase model), was calibrated "
                    "by opiaxis calibrate respiration.tolerance to the hypercapnic ventilatory response of "
                    "methadone-maintained patients (Teichtahl et al., Chest 2005: daily-mean 1 − E 0.77 on day 59 "
                    "of methadone 80 mg), not to this target. Under sustained exposure the daily-mean E settles near "
                    "r·(1 − 1/Φ_x) in each phase, so Φ grows with the exposure's signal and the chronic C50 rests on "
                    "the assumed exposure: oral morphine 200 mg/day builds Φ ≈ 9.1 (8.3 with one phase; σ 1.2·σ50 at "
                    "the 12-h trough before the ramp, more at its peaks), a fentanyl C50 fold ≈ 13 (16 before the "
                    "fix, 12 with one phase); the band "
                    "needs Φ ≈ 3.4 (fold 4.3), i.e. a much lower sustained signal. The remaining miss lies in the "
                    "exposure of Algera's chronic users (doses and opioids not found: only the abstract and the "
                    "≥ 90 mg/day inclusion; at 90 mg/day the model gives 3.26 ng/mL, still above the band) or in "
                    "morphine's central potency relative to methadone's, not in a tolerance gain fitted elsewhere. "
                    "A ceiling on Φ was considered and rejected (memo, second round): with r fitted, methadone 80 mg "
                    "needs Φ ≈ 33 for Teichtahl's 0.77; a Φ capped near 5 would leave methadone patients an HCVR "
                    "ratio of ~0.2. The O2 store and hypoxic drive (memo C, second step) do not touch this clamped "
                    "read-out (the hypoxic term is off under end-tidal forcing)")
def _fentanyl_c50(model=None):
    naive = fentanyl_c50([], 24.0, 150.0, model=model)
    t_test = CHRONIC_LAST + CHRONIC_DELAY
    chronic = fentanyl_c50([CHRONIC_USER], t_test, CHRONIC_RAMP_UG, model=model)
    chronic_min = fentanyl_c50([CHRONIC_USER_MIN], t_test, CHRONIC_RAMP_UG, model=model)
    naive_spont = fentanyl_c50([], 24.0, SPONTANEOUS_RAMP_UG, model=model, clamped=False)
    bg = typical_patient([CHRONIC_USER], np.array([0.0, t_test]), {"co2_clamp": 1.0}, model=model)
    ok = inside(naive, 0.28, 0.56) and inside(chronic, 1.04, 2.60)
    return ({"naïve C50 ng/mL": naive, "chronic C50 ng/mL": chronic, "fold": chronic / naive,
             "chronic C50 at 90 mg/day ng/mL": chronic_min,
             "naïve C50, spontaneous breathing ng/mL": naive_spont,
             "chronic: central μ occupancy before fentanyl": float(bg.get("mor_occupancy_central")[0, 1]),
             "chronic: μ signal before fentanyl / σ50": float(bg.get("mor_signal_respiratory")[0, 1]
                                                             / _vent_s50(model)),
             "chronic: breathing tolerance fold": float(bg.get("resp_tolerance_fold")[0, 1])}, ok,
            f"isohypercapnic (PaCO2 clamped) 60-min IV fentanyl ramp read at equilibrium (naïve 150 µg, inside "
            f"Algera's 75–350 µg; chronic {CHRONIC_RAMP_UG:g} µg; Algera: escalating boluses analysed with a biophase "
            "model); chronic users (Moss et al. 2022's opioid-tolerant patients, ≥ 90 mg/day oral morphine "
            "equivalents) assumed on oral morphine 200 mg/day for 8 weeks, infusion 12 h after the last dose (doses "
            f"and timing not read; at the inclusion minimum, 90 mg/day: C50 {chronic_min:.2f} ng/mL); spontaneous "
            f"breathing (PaCO2 free to rise, naïve {SPONTANEOUS_RAMP_UG:g}-µg ramp): "
            + (f"C50 {naive_spont:.2f} ng/mL, above the clamped C50 (the CO2 that accumulates offsets the depression; "
               "read during the ramp while PaCO2 still rises: at steady state halving takes E ≈ 0.97)"
               if np.isfinite(naive_spont) else "ventilation never halved"))


# ----------------------------------------------------------------------------------------------
# Opioid-induced hyperalgesia on maintenance (Compton 2000, 2001, 2012)
HEROIN_HISTORY = "heroin 25 mg IV q6h for 12 w"   # treatment-seeking heroin users before entry (assumed 12 weeks)
ENTRY = 12 * 7 * 24.0
MAINTENANCE = {"methadone": "methadone 80 mg oral daily", "buprenorphine": "buprenorphine 16 mg SL daily"}


def maintenance_cold_pressor(agent: str, model=None, overrides=None) -> dict:
    """Cold-pressor tolerance at trough (just before the daily dose) at 6 weeks (stabilisation,
    4–8 weeks) and 15 weeks (chronic, 12–18 weeks) of maintenance, and in a drug-free control."""
    weeks = 16
    regimen = f"{MAINTENANCE[agent]} for {weeks} w at {ENTRY:g} h"
    troughs = {w: ENTRY + w * 7 * 24.0 - 1e-3 for w in (6, 15)}
    t = np.unique(np.concatenate([np.arange(0.0, ENTRY + weeks * 7 * 24, 6.0), list(troughs.values())]))
    r = typical_patient([HEROIN_HISTORY, regimen], t, overrides, model=model)
    c = r.get("cold_pressor_tolerance")[0]
    ctrl = _drug_free(t[:2], model, overrides).get("cold_pressor_tolerance")[0, 0]
    out = {"control s": float(ctrl)}
    for w, tw in troughs.items():
        out[f"week {w} trough s"] = float(c[np.argmin(abs(t - tw))])
    return out


@target("pain.oih",
        finding="patients on methadone or buprenorphine maintenance tolerate cold-pressor pain for less time than "
                "controls; hyperalgesia grows after stabilisation",
        band="both directions hold",
        source="Compton et al. 2000, 2001, 2012",
        calibration="oih_rate set so that hyperalgesia is still growing between 4–8 and 12–18 weeks of maintenance "
                    "(the second direction of this target). Issue 14: OIH and the glial/spinal neuro-immune "
                    "terms now act through one saturable dorsal-horn pathway (occlusion; Ferrini et al. 2013) "
                    "instead of adding up; nothing re-fitted — the buprenorphine half, missed before because "
                    "the resolving heroin-era glial sensitisation outweighed OIH growth, follows from it by a "
                    "small margin (~0.1 s at trough). Fragile: in a 64-patient cohort with between-patient "
                    "variability the buprenorphine mean does not grow (+0.11 s, paired p 0.11; falls in 55%), its "
                    "spread set mostly by the assumed oih_recovery_rate (Spearman ρ 0.71)")
def _oih(model=None):
    value, ok, notes = {}, True, []
    for agent in MAINTENANCE:
        v = maintenance_cold_pressor(agent, model=model)
        for k, x in v.items():
            value[f"{agent} {k}"] = x
        below = v["week 6 trough s"] < v["control s"] and v["week 15 trough s"] < v["control s"]
        grows = v["week 15 trough s"] < v["week 6 trough s"]
        ok = ok and below and grows
        notes.append(f"{agent}: {'below' if below else 'NOT below'} controls, hyperalgesia "
                     f"{'grows' if grows else 'does not grow'} from week 6 to week 15")
    return value, ok, ("12 weeks of heroin 4×/day, then methadone 80 mg or buprenorphine 16 mg daily; cold pressor "
                       "at trough; " + "; ".join(notes))
