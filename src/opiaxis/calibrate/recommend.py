"""Rank interventions for one fitted patient, and place the patient in phenotype / risk strata.

Candidates (:data:`CANDIDATES`) start at the decision time (default: the patient's last
measurement); the history's doses after it are dropped. Every candidate is simulated over the
horizon for the same posterior draws (fitted parameters from the Laplace posterior or the
importance samples; every other parameter with variability from its population distribution),
from each draw's own state at the decision time, so differences between candidates are paired.

Outcomes per draw (those whose variables the model has; the others are skipped and listed in
``notes``):

============================  ======================================  ========================
outcome                       from                                    composite term (units)
============================  ======================================  ========================
withdrawal burden             ∫ ``cows_score`` dt (COWS-hours)         mean COWS / 5
overdose proxy                min ``ventilation_rel``                  max(0, 0.9 − min)/0.1
pain                          mean ``pain_nrs``                        mean NRS / 2
depression                    mean ``madrs``                           mean MADRS / 10
constipation                  mean ``sbm_rate`` (SBM/week)             max(0, 3 − SBM/week)
craving (relapse proxy)       mean ``craving`` (reward module)         5 × mean craving
inflammation (reported only)  mean ``il6_plasma``                      —
============================  ======================================  ========================

Weights (assumed, documented in ``docs/precision-recovery.md``): one unit ≈ one clinically
meaningful burden — COWS 5 is the threshold of mild withdrawal (Wesson & Ling 2003); ventilation
below 90% of baseline, one unit per further 10 points; 2 NRS points is the clinically important
pain change (Farrar et al., Pain 2001;94:149); 10 MADRS points ≈ one severity band; fewer than 3
SBM/week defines constipation (Rome IV). Candidates are ranked by the posterior mean of the
composite (lower is better); ``p_best`` is the share of draws in which the candidate is best.
Adjuncts are added to the best base candidate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import dosing
from ..errors import OpiaxisInputError
from .fit import FitResult, Simulator, _iu, _routes, readout_set, resolve_readout

CANDIDATES: dict[str, dict] = {
    "no medication (abstinence)": {"regimens": []},
    "methadone 30→60 mg/day": {"regimens": ["methadone 30 mg oral daily x 3", "methadone 60 mg oral daily for {H} d from day 4"]},
    "buprenorphine 8 mg/day": {"regimens": ["buprenorphine 8 mg SL daily for {H} d"]},
    "buprenorphine 16 mg/day": {"regimens": ["buprenorphine 16 mg SL daily for {H} d"]},
    "buprenorphine 24 mg/day": {"regimens": ["buprenorphine 24 mg SL daily for {H} d"]},
    "XR-naltrexone 380 mg after 7-day washout": {"regimens": ["naltrexone 380 mg XR-IM q28d for {H7} d from day 8"]},
    "buprenorphine taper over 9 days (detox)": {"regimens": ["buprenorphine 8 mg SL daily x 3", "buprenorphine 4 mg SL daily x 3 from day 4",
                                                             "buprenorphine 2 mg SL daily x 3 from day 7"]},
}
ADJUNCTS: dict[str, dict] = {
    "glial modulator (50% attenuation)": {"parameters": {"glial_modulator_inhibition": 0.5}},
    "PAMORA naloxegol 25 mg/day": {"regimens": ["naloxegol 25 mg oral daily for {H} d"]},
    "osmotic laxative (PEG 17 g/day)": {"parameters": {"osmotic_laxative_dose_effect": 1.0}},
}
WEIGHTS = {"cows": 1 / 5, "overdose": 1 / 0.1, "pain": 1 / 2, "depression": 1 / 10, "constipation": 1.0, "craving": 5.0}


def _available(model, spec) -> str | None:
    """Why a candidate cannot be simulated with this model (None if it can)."""
    routes = _routes(model)
    for text in spec.get("regimens", []):
        drug = text.split()[0]
        if drug not in routes:
            return f"the model has no {drug}"
    for p in spec.get("parameters", {}):
        if p not in model.param_index:
            return f"the model has no parameter {p!r}"
    return None


def _doses(model, texts, start, H):
    routes, iu = _routes(model), _iu(model)
    frames = []
    days = max(int(math.ceil(H / 24)), 1)
    for t in texts:
        t = t.replace("{H7}", str(max(days - 7, 1))).replace("{H}", str(days))
        frames.append(dosing.parse_regimen(t, drugs=routes, start=start, unit_factors=iu))
    if not frames:
        return None
    ev = pd.concat(frames, ignore_index=True).assign(ID=1)[list(dosing.EVENT_COLUMNS)]
    d = dosing.expand_doses(ev)
    return d[d["TIME"] < start + H]


def outcomes(sim: Simulator, X: np.ndarray, P: np.ndarray, times: np.ndarray) -> dict[str, np.ndarray]:
    """Per-draw outcomes over the simulated window (see the module docstring)."""
    out = {}
    T = times - times[0]
    span = max(T[-1], 1e-9)

    def mean(v):
        return np.trapezoid(v, T, axis=1) / span

    if sim.has("cows_score"):
        c = sim.value("cows_score", X, P)
        out["cows_hours"] = np.trapezoid(c, T, axis=1)
        out["cows_mean"] = out["cows_hours"] / span
    if sim.has("ventilation_rel"):
        out["ventilation_min"] = sim.value("ventilation_rel", X, P).min(axis=1)
    if sim.has("pain_nrs"):
        out["pain_nrs_mean"] = mean(sim.value("pain_nrs", X, P))
    if sim.has("madrs"):
        out["madrs_mean"] = mean(sim.value("madrs", X, P))
    if sim.has("sbm_rate"):
        out["sbm_per_week"] = mean(sim.value("sbm_rate", X, P))
    if sim.has("craving"):
        out["craving_mean"] = mean(sim.value("craving", X, P))
    if sim.has("il6_plasma"):
        out["il6_mean"] = mean(sim.value("il6_plasma", X, P))
    return out


def composite(o: dict[str, np.ndarray], weights=None) -> np.ndarray:
    w = {**WEIGHTS, **(weights or {})}
    n = len(next(iter(o.values())))
    s = np.zeros(n)
    if "cows_mean" in o:
        s += w["cows"] * o["cows_mean"]
    if "ventilation_min" in o:
        s += w["overdose"] * np.maximum(0.0, 0.9 - o["ventilation_min"])
    if "pain_nrs_mean" in o:
        s += w["pain"] * o["pain_nrs_mean"]
    if "madrs_mean" in o:
        s += w["depression"] * o["madrs_mean"]
    if "sbm_per_week" in o:
        s += w["constipation"] * np.maximum(0.0, 3.0 - o["sbm_per_week"])
    if "craving_mean" in o:
        s += w["craving"] * o["craving_mean"]
    return s


@dataclass
class Recommendation:
    patient: str
    table: pd.DataFrame          # ranked: candidate, kind, composite (mean, 5%, 95%), p_best, outcomes …
    strata: pd.DataFrame
    notes: list = field(default_factory=list)
    draws: int = 0
    horizon_h: float = 0.0
    decision_time: float = 0.0
    seconds: float = 0.0


def predicted_outcomes(fit: FitResult, *, horizon_days: float = 28.0, draws: int = 30, seed: int = 0,
                       decision_time: float | None = None, candidates: dict | None = None,
                       adjuncts: dict | None = None, weights=None, step_h: float = 2.0,
                       prior_for_unfitted: bool = True):
    """Per-draw outcomes of each candidate: ``({candidate: {outcome: array}}, kinds, notes, t_dec)``."""
    prob = fit.problem
    model, sim = prob.model, prob.sim
    if horizon_days <= 0:
        raise OpiaxisInputError("horizon must be positive (days)", field="horizon")
    if draws < 1:
        raise OpiaxisInputError("draws must be >= 1", field="draws")
    t_dec = prob.data.end if decision_time is None else float(decision_time)
    if t_dec < prob.t0:
        raise OpiaxisInputError(f"decision time {t_dec:g} h is before the start of the record ({prob.t0:g} h)",
                                field="decision_time")
    H = horizon_days * 24.0
    P = fit.draw_parameters(draws, seed, prior_for_unfitted=prior_for_unfitted)
    P[0] = fit.parameter_row() if draws == 1 else P[0]
    hist = prob.data.doses
    hist = hist[hist["TIME"] < t_dec] if len(hist) else hist
    if t_dec > prob.t0:
        Xh, _ = sim.run(P, np.array([prob.t0, t_dec]), hist, t0=prob.t0, rtol=1e-5, atol=1e-9)
        x0 = Xh[:, -1, :]
    else:
        x0 = sim.initial_state(P)
    times = np.arange(t_dec, t_dec + H + 1e-9, step_h)
    notes = []
    cands = CANDIDATES if candidates is None else candidates
    adj = ADJUNCTS if adjuncts is None else adjuncts
    results, kinds = {}, {}

    def run(name, specs, kind):
        texts = [t for s in specs for t in s.get("regimens", [])]
        params = {k: v for s in specs for k, v in s.get("parameters", {}).items()}
        Pc = P.copy()
        for k, v in params.items():
            Pc[:, model.param_index[k]] = v
        d = _doses(model, texts, t_dec, H)
        X, stats = sim.run(Pc, times, d, t0=t_dec, x0=x0, rtol=1e-5, atol=1e-9)
        if (stats[:, 2] != 0).any():
            notes.append(f"{name}: solver failed for {(stats[:, 2] != 0).sum()} draw(s)")
        results[name] = outcomes(sim, X, Pc, times)
        kinds[name] = kind

    for name, spec in cands.items():
        why = _available(model, spec)
        if why:
            notes.append(f"candidate {name!r} skipped: {why}")
            continue
        run(name, [spec], "intervention")
    if not results:
        raise OpiaxisInputError("no candidate intervention can be simulated with this model", field="candidates")
    score = {k: composite(v, weights).mean() for k, v in results.items()}
    best = min(score, key=score.get)
    for aname, aspec in adj.items():
        why = _available(model, aspec)
        if why:
            notes.append(f"adjunct {aname!r} skipped: {why}")
            continue
        run(f"{best} + {aname}", [cands[best], aspec], "adjunct")
    missing = [o for o, v in (("withdrawal (cows_score)", "cows_score"), ("overdose (ventilation_rel)", "ventilation_rel"),
                              ("pain (pain_nrs)", "pain_nrs"), ("depression (madrs)", "madrs"),
                              ("constipation (sbm_rate)", "sbm_rate"), ("relapse/craving (craving)", "craving"))
               if not sim.has(v)]
    if missing:
        notes.append("outcomes not in the model (left out of the composite): " + ", ".join(missing))
    if not sim.has("craving"):
        notes.append("return to use is not modelled (no reward/behaviour module in this model): the ranking "
                     "does not credit medications for relapse prevention or retention")
    return results, kinds, notes, t_dec


def rank(results: dict, kinds: dict, weights=None) -> pd.DataFrame:
    names = list(results)
    S = np.array([composite(results[n], weights) for n in names])  # (candidates, draws)
    best = np.argmin(S, axis=0)
    rows = []
    for i, n in enumerate(names):
        o = results[n]
        row = {"candidate": n, "kind": kinds[n], "composite": S[i].mean(),
               "composite_lo90": np.percentile(S[i], 5), "composite_hi90": np.percentile(S[i], 95),
               "p_best": float(np.mean(best == i))}
        for k, v in o.items():
            row[k] = float(np.median(v))
            row[k + "_lo90"] = float(np.percentile(v, 5))
            row[k + "_hi90"] = float(np.percentile(v, 95))
        rows.append(row)
    t = pd.DataFrame(rows).sort_values("composite", kind="mergesort").reset_index(drop=True)
    t.insert(0, "rank", np.arange(1, len(t) + 1))
    return t


def recommend(fit: FitResult, *, horizon_days: float = 28.0, draws: int = 30, seed: int = 0,
              decision_time: float | None = None, candidates: dict | None = None, adjuncts: dict | None = None,
              weights=None) -> Recommendation:
    """Ranked candidate interventions (with 90% intervals over posterior draws) and the
    patient's phenotype / risk strata with their evidence."""
    import time as _time
    t = _time.perf_counter()
    results, kinds, notes, t_dec = predicted_outcomes(fit, horizon_days=horizon_days, draws=draws, seed=seed,
                                                      decision_time=decision_time, candidates=candidates,
                                                      adjuncts=adjuncts, weights=weights)
    table = rank(results, kinds, weights)
    from .stratify import phenotype
    strata = phenotype(fit)
    return Recommendation(fit.patient, table, strata, notes, draws, horizon_days * 24, t_dec, _time.perf_counter() - t)
