"""Phenotype / risk strata of a fitted patient, and the same across a cohort.

A stratum is decided from the patient's measured read-outs, each taken as the fitted model's
prediction at the measurement times (median over visits; this pools the visits, handles values
below the LLOQ and removes assay noise), compared with a reference limit. A read-out that was not
measured does not decide a stratum (the model's population-typical prediction is no evidence);
a stratum none of whose read-outs was measured is "not assessed", and a stratum whose variables
the model lacks is "skipped (module absent)".

=============================  ===============================================================
stratum                        rule (any criterion met → yes)
=============================  ===============================================================
inflammatory                   IL-6 > 3 pg/mL; hsCRP > 3 mg/L (Pearson et al., Circulation
                               2003;107:499); TNF-α > 4 pg/mL
HPA-dysregulated               cortisol outside 140–690 nmol/L; ACTH outside 7–63 pg/mL
                               (typical morning reference ranges)
dysbiotic                      plasma LPS > 0.3 EU/mL; LBP > 15 µg/mL; sCD14 > 2.5 µg/mL;
                               stool Shannon (guild level) < 90% of the model's drug-free value
endogenous-opioid-deficient    posterior P(social_release_capacity below its population
                               16th percentile, z < −1) ≥ 0.8 — needs data that inform it
                               (PET μ-receptor challenge); endogenous module
oxytocin-deficient             plasma oxytocin (endogenous) < 1.5 pg/mL; oxytocin module
=============================  ===============================================================

The reference limits are assumed from the read-out definitions' healthy ranges (``data/readouts.yaml``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import OpiaxisInputError
from .fit import FitResult, fit_patient, read_patients, resolve_readout


@dataclass(frozen=True)
class Criterion:
    readout: str
    low: float | None   # below → abnormal
    high: float | None  # above → abnormal
    unit: str
    reference: str


STRATA: dict[str, list[Criterion]] = {
    "inflammatory": [Criterion("il6_serum", None, 3.0, "pg/mL", "healthy 0.5–3 pg/mL"),
                     Criterion("crp_serum", None, 3.0, "mg/L", "AHA/CDC high-risk hsCRP > 3 mg/L"),
                     Criterion("tnf_serum", None, 4.0, "pg/mL", "healthy 0.5–3 pg/mL")],
    "HPA-dysregulated": [Criterion("cortisol_serum", 140.0, 690.0, "nmol/L", "morning reference 140–690 nmol/L"),
                         Criterion("acth_plasma", 7.0, 63.0, "pg/mL", "morning reference 7–63 pg/mL")],
    "dysbiotic": [Criterion("lps_plasma", None, 0.3, "EU/mL", "healthy LAL 0.02–0.3 EU/mL"),
                  Criterion("lbp_plasma", None, 15.0, "ug/mL", "healthy 5–15 ug/mL"),
                  Criterion("scd14_plasma", None, 2.5, "ug/mL", "healthy 1–2.5 ug/mL"),
                  Criterion("stool_shannon", "ref90", None, "nats", "90% of the drug-free model value")],
    "oxytocin-deficient": [Criterion("oxytocin_plasma_total", 1.5, None, "pg/mL", "healthy extracted 1–10 pg/mL")],
}
REQUIRES = {"oxytocin-deficient": ("oxytocin_endogenous_plasma", "oxytocin_endogenous", "oxytocin_tone")}
PARAM_STRATA = {"endogenous-opioid-deficient": ("social_release_capacity", -1.0, 0.8, "endogenous")}


def _ref_shannon(fit: FitResult) -> float | None:
    prob = fit.problem
    defs = prob.defs
    if "stool_shannon" not in defs:
        return None
    term = resolve_readout(defs["stool_shannon"], prob.model, defs)
    if term is None:
        return None
    P = prob.model.default_parameters()[None]
    X = prob.sim.initial_state(P)[:, None, :]
    return float(term.predict(prob.sim, X, P)[0, 0])


def classify(values: dict[str, float], ref_shannon: float | None = None) -> dict[str, str]:
    """Stratum status from read-out values ({read-out: value}); 'not assessed' when none of a
    stratum's read-outs is given (the measurement-based strata only)."""
    out = {}
    for stratum, crits in STRATA.items():
        hit, seen = False, False
        for c in crits:
            if c.readout not in values or values[c.readout] is None or not np.isfinite(values[c.readout]):
                continue
            seen = True
            v = values[c.readout]
            low = (None if ref_shannon is None else 0.9 * ref_shannon) if c.low == "ref90" else c.low
            hit |= (c.high is not None and v > c.high) or (low is not None and v < low)
        out[stratum] = ("yes" if hit else "no") if seen else "not assessed"
    return out


def phenotype(fit: FitResult) -> pd.DataFrame:
    """Strata with status ('yes', 'no', 'not assessed', 'skipped') and evidence."""
    prob = fit.problem
    preds = fit.map_predictions()   # the fit table's, not simulated again
    by_name = {g[0]: (g, x[0]) for g, x in zip(prob.groups, preds)}
    rows = []
    ref_sh = None
    for stratum, crits in STRATA.items():
        need = REQUIRES.get(stratum)
        if need and not any(prob.sim.has(v) for v in need):
            rows.append({"stratum": stratum, "status": "skipped",
                         "evidence": "module absent: the model has none of " + ", ".join(need)})
            continue
        present = [c for c in crits if c.readout in prob.defs and
                   resolve_readout(prob.defs[c.readout], prob.model, prob.defs) is not None]
        if not present:
            rows.append({"stratum": stratum, "status": "skipped",
                         "evidence": "module absent: the model has none of " + ", ".join(c.readout for c in crits)})
            continue
        hits, ev, measured = [], [], []
        for c in present:
            if c.readout not in by_name:
                continue
            g, x = by_name[c.readout]
            name, term, rows_, tidx, y, cens, lim = g
            v = float(np.median(x))
            obs = y[cens == ""]
            low = c.low
            if low == "ref90":
                ref_sh = ref_sh if ref_sh is not None else _ref_shannon(fit)
                low = None if ref_sh is None else 0.9 * ref_sh
            measured.append(c.readout)
            bad_hi = c.high is not None and v > c.high
            bad_lo = low is not None and v < low
            lim_txt = (f"> {c.high:g}" if c.high is not None else "") + (" or " if c.high is not None and low is not None else "") + \
                (f"< {low:.3g}" if low is not None else "")
            fold = (v / c.high) if bad_hi else (v / low if bad_lo and low else None)
            ncens = int((cens != "").sum())
            txt = (f"{c.readout} {v:.3g} {term.readout.label} (fitted, median of {len(y)} visit(s); observed median "
                   + (f"{np.median(obs):.3g}" if len(obs) else "n/a") + (f", {ncens} censored" if ncens else "")
                   + f") vs abnormal {lim_txt} [{c.reference}]" + (f" → ×{fold:.2f} the limit" if fold else ""))
            ev.append(txt)
            if bad_hi or bad_lo:
                hits.append(c.readout)
        if not measured:
            rows.append({"stratum": stratum, "status": "not assessed",
                         "evidence": "none of " + ", ".join(c.readout for c in present) + " was measured"})
        else:
            rows.append({"stratum": stratum, "status": "yes" if hits else "no", "evidence": "; ".join(ev)})
    for stratum, (pname, zcut, pcut, module) in PARAM_STRATA.items():
        if pname not in prob.model.param_index:
            rows.append({"stratum": stratum, "status": "skipped", "evidence": f"module absent ({module})"})
            continue
        if pname not in fit.names or pname in fit.not_identifiable:
            rows.append({"stratum": stratum, "status": "not assessed",
                         "evidence": f"{pname} is not informed by these measurements (needs e.g. a PET μ-receptor "
                                     "challenge: pet_mor_bpnd)"})
            continue
        k = fit.names.index(pname)
        sd = float(np.sqrt(fit.cov[k, k]))
        from scipy.special import ndtr
        p = float(ndtr((zcut - fit.z[k]) / max(sd, 1e-9)))
        rows.append({"stratum": stratum, "status": "yes" if p >= pcut else "no",
                     "evidence": f"{pname} z = {fit.z[k]:+.2f} ± {sd:.2f}; P(z < {zcut:g}) = {p:.2f} (cut {pcut:g})"})
    return pd.DataFrame(rows, columns=["stratum", "status", "evidence"])


@dataclass
class CohortResult:
    patients: pd.DataFrame     # patient × (stratum statuses, best candidate, fit seconds, messages)
    sizes: pd.DataFrame        # stratum, yes, no, not assessed, skipped
    responses: pd.DataFrame    # stratum, candidate, n, mean composite, share best
    fits: dict


def stratify_cohort(source, model=None, *, recommend_draws: int = 8, horizon_days: float = 28.0,
                    hessian: str = "gn", max_params: int = 8, regimens=None, progress=None,
                    with_recommend: bool = True) -> CohortResult:
    """Fit, phenotype and (optionally) rank interventions for every patient of a cohort file."""
    from ..models import default_model
    from .recommend import predicted_outcomes, rank
    model = model or default_model()
    pats = read_patients(source, model, regimens=regimens)
    if not pats:
        raise OpiaxisInputError("the cohort has no patients", file=str(source))
    prow, resp, fits = [], [], {}
    for k, (pid, data) in enumerate(pats.items()):
        fit = fit_patient(data, model, hessian=hessian, max_params=max_params)
        fits[pid] = fit
        ph = phenotype(fit)
        row = {"patient": pid, "fitted": len(fit.names), "fit_seconds": round(fit.seconds, 2),
               "not_identifiable": ", ".join(n for n in fit.names if n in fit.not_identifiable)}
        for _, s in ph.iterrows():
            row[s["stratum"]] = s["status"]
        if with_recommend:
            results, kinds, notes, _ = predicted_outcomes(fit, horizon_days=horizon_days, draws=recommend_draws,
                                                          with_adjuncts=False)
            t = rank(results, kinds)
            row["best"] = t["candidate"].iloc[0]
            for _, r in t.iterrows():
                resp.append({"patient": pid, "candidate": r["candidate"], "composite": r["composite"],
                             "best": r["rank"] == 1})
        prow.append(row)
        if progress:
            progress(k + 1, len(pats), pid)
    P = pd.DataFrame(prow)
    strata = [c for c in P.columns if c in STRATA or c in PARAM_STRATA]
    sizes = pd.DataFrame([{"stratum": s, **{st: int((P[s] == st).sum()) for st in ("yes", "no", "not assessed", "skipped")}}
                          for s in strata])
    R = pd.DataFrame(resp)
    rrows = []
    if len(R):
        for s in strata:
            for status in ("yes", "no"):
                ids = set(P.loc[P[s] == status, "patient"])
                if not ids:
                    continue
                sub = R[R["patient"].isin(ids)]
                for cand, g in sub.groupby("candidate", sort=False):
                    rrows.append({"stratum": s, "in_stratum": status, "candidate": cand, "n": len(g),
                                  "mean_composite": g["composite"].mean(), "share_best": g["best"].mean()})
    responses = pd.DataFrame(rrows)
    if len(responses):
        responses = responses.sort_values(["stratum", "in_stratum", "mean_composite"], ascending=[True, False, True],
                                          kind="mergesort").reset_index(drop=True)
    return CohortResult(P, sizes, responses, fits)
