"""Recovery study of ``opiaxis fit``: synthetic patients with known parameters, clinic sampling.

Each synthetic patient is a draw of the model's population (every parameter with variability,
covariates from the copula, their effects applied), injecting heroin 20 mg IV q8h for 7 days,
then inducted onto buprenorphine 16 mg SL daily for 14 days. A clinic samples four visits
(intake on day 7 before induction, days 9, 14 and 21): buprenorphine level (first one 2 h after
the first dose, then troughs), IL-6, hsCRP, cortisol, ACTH, COWS, pain NRS, MADRS, spontaneous
bowel movements in the past week, plasma LPS and stool Shannon diversity (intake and day 21),
with the assay noise and censoring of ``data/readouts.yaml``. Each patient is fitted with the
default settings of ``opiaxis fit`` (sensitivity screen, at most 8 parameters, FD Laplace).

Reports, over all (patient, fitted parameter) pairs and per parameter: bias and RMSE of the
estimate on the log scale (z scale for non-log-normal parameters), the RMSE of the prior median
for comparison, and how often the 90% interval covers the truth; stratum recovery (strata from
the true noise-free values at the visits vs the strata from the fit). Writes the results into
``docs/precision-recovery.md``.

    python scripts/recovery_study.py --n 20 --seed 1         # ~3-4 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REGIMENS = [(0.0, "heroin 20 mg IV q8h for 7 d"), (168.0, "buprenorphine 16 mg SL q24h for 14 d")]
LABS = [167, 215, 335, 503]
VISITS = {"buprenorphine_conc": [170, 215, 335, 503], "il6_serum": LABS, "crp_serum": LABS,
          "cortisol_serum": LABS, "acth_plasma": LABS, "cows": LABS, "pain_nrs": LABS, "madrs": LABS,
          "sbm_week": LABS, "lps_plasma": [167, 503], "stool_shannon": [167, 503]}


def _z_of(p, typical, value):
    v = p.variability
    if v.kind == "lognormal":
        return math.log(value / typical) / v.omega
    if v.kind == "normal":
        return (value - typical) / v.spread
    lg = lambda x: math.log(x / (1 - x))  # noqa: E731
    return (lg(min(max(value, 1e-12), 1 - 1e-12)) - lg(min(max(typical, 1e-12), 1 - 1e-12))) / v.spread


def run(n: int, seed: int, hessian: str = "fd"):
    from opiaxis.calibrate.fit import CHRONIC_PAIN_DRIVE, Problem, fit_patient, read_patients, synthetic_table
    from opiaxis.calibrate.stratify import _ref_shannon, classify, phenotype
    from opiaxis.models import default_model
    from opiaxis.population import sample_parameters
    from opiaxis.population.covariates import apply_covariates, sample_covariates
    model = default_model()
    ids = np.arange(1, n + 1)
    cov = sample_covariates(ids, seed)
    P = apply_covariates(model, sample_parameters(model, ids, seed), cov)
    if "nociceptive_drive" in model.param_index:  # chronic pain, as the fit's typical_parameters maps it
        j = model.param_index["nociceptive_drive"]
        om = model.parameter("nociceptive_drive").variability.spread
        z = np.random.default_rng([seed, 0xA1]).standard_normal(n)
        P[:, j] = np.where(cov["chronic_pain"].to_numpy() > 0.5, CHRONIC_PAIN_DRIVE * np.exp(om * z), 0.0)
    cov_cols = ["age", "weight", "sex_male", "oprm1_g_carrier", "early_life_adversity", "chronic_pain",
                "depression_history", "social_support"]
    rows, strata_rows, times = [], [], []
    for k, pid in enumerate(ids):
        covs = {c: float(cov[c].iloc[k]) for c in cov_cols}
        df = synthetic_table(model, P[k], REGIMENS, VISITS, patient=str(pid), seed=seed, covariates=covs)
        data = read_patients(df, model)[str(pid)]
        t0 = time.perf_counter()
        fit = fit_patient(data, model, hessian=hessian)
        times.append(time.perf_counter() - t0)
        for j, name in enumerate(fit.names):
            p = model.parameter(name)
            typ = fit.problem.base[model.param_index[name]]
            true = P[k, model.param_index[name]]
            row = fit.table.set_index("parameter").loc[name]
            log_scale = p.variability.kind == "lognormal"
            err = math.log(row["estimate"] / true) if log_scale else fit.z[j] - _z_of(p, typ, true)
            prior_err = math.log(typ / true) if log_scale else -_z_of(p, typ, true)
            rows.append({"patient": pid, "parameter": name, "err": err, "prior_err": prior_err,
                         "covered": bool(row["lower90"] <= true <= row["upper90"]), "sd_ratio": row["sd_ratio"],
                         "identifiable": bool(row["identifiable"]), "scale": "log" if log_scale else "z"})
        # strata: truth = noise-free read-outs at the visits with the true parameters
        prob = Problem(model, data, [])
        X = prob.simulate(P[k][None], rtol=1e-7)
        true_vals = {}
        for (name, *_), x in zip(prob.groups, prob.predictions_of(X, P[k][None])):   # windowed read-outs too
            true_vals[name] = float(np.median(x[0]))
        truth = classify(true_vals, _ref_shannon(fit))
        got = phenotype(fit).set_index("stratum")["status"].to_dict()
        for s, st in truth.items():
            strata_rows.append({"patient": pid, "stratum": s, "true": st, "fitted": got.get(s)})
        print(f"patient {pid}: {len(fit.names)} fitted in {times[-1]:.1f} s", file=sys.stderr, flush=True)
    return pd.DataFrame(rows), pd.DataFrame(strata_rows), np.array(times)


def summarise(R: pd.DataFrame, S: pd.DataFrame, times: np.ndarray):
    per = R.groupby("parameter").agg(n=("err", "size"), scale=("scale", "first"), bias=("err", "mean"),
                                     rmse=("err", lambda e: float(np.sqrt(np.mean(e ** 2)))),
                                     prior_rmse=("prior_err", lambda e: float(np.sqrt(np.mean(e ** 2)))),
                                     coverage90=("covered", "mean"), sd_ratio=("sd_ratio", "mean"))
    per = per.sort_values("n", ascending=False)
    overall = {"pairs": len(R), "coverage90": R["covered"].mean(),
               "rmse_log": float(np.sqrt(np.mean(R.loc[R.scale == 'log', "err"] ** 2))),
               "prior_rmse_log": float(np.sqrt(np.mean(R.loc[R.scale == 'log', "prior_err"] ** 2))),
               "bias_log": R.loc[R.scale == 'log', "err"].mean(),
               "sec_median": float(np.median(times)), "sec_mean": float(np.mean(times))}
    st = []
    for s, g in S.groupby("stratum", sort=False):
        g = g[g["true"] != "not assessed"]
        if not len(g):
            continue
        tp = int(((g.true == "yes") & (g.fitted == "yes")).sum())
        st.append({"stratum": s, "patients": len(g), "true_yes": int((g.true == "yes").sum()),
                   "fitted_yes": int((g.fitted == "yes").sum()), "agreement": float((g.true == g.fitted).mean()),
                   "sensitivity": tp / max(int((g.true == "yes").sum()), 1) if (g.true == "yes").any() else float("nan")})
    return per, overall, pd.DataFrame(st)


def _md(df: pd.DataFrame, fmt=".3g") -> str:
    cols = list(df.columns)
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        out.append("| " + " | ".join(format(r[c], fmt) if isinstance(r[c], (float, np.floating)) else str(r[c])
                                     for c in cols) + " |")
    return "\n".join(out)


def write_doc(path: Path, per, overall, strata, n, seed, wall):
    text = path.read_text() if path.exists() else ""
    marker, end = "<!-- recovery results -->", "<!-- /recovery results -->"
    head = text.split(marker)[0] if marker in text else text
    tail = text.split(end, 1)[1] if end in text else ""
    res = [marker, "",
           f"Run: `python scripts/recovery_study.py --n {n} --seed {seed}` — {n} synthetic patients, "
           f"{wall / 60:.1f} min wall time on the 2-core development machine (shared with other jobs); "
           f"fit {overall['sec_median']:.1f} s per patient (median).", "",
           f"**Overall** ({overall['pairs']} patient × fitted-parameter pairs): 90% interval coverage "
           f"**{overall['coverage90']:.0%}**; log-scale RMSE **{overall['rmse_log']:.3f}** "
           f"(prior median alone: {overall['prior_rmse_log']:.3f}); log-scale bias {overall['bias_log']:+.3f}.", "",
           "Per parameter (parameters fitted in at least one patient; `scale` log = log parameter, "
           "z = standard-normal deviate for normal / logit-normal ones):", "",
           _md(per.reset_index()), "",
           "Strata (truth: the rules applied to the true noise-free read-outs at the visits; fitted: "
           "`phenotype` of the fit):", "", _md(strata), "", end]
    path.write_text(head.rstrip() + "\n\n" + "\n".join(res) + tail)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hessian", default="fd")
    ap.add_argument("--doc", default=str(ROOT / "docs" / "precision-recovery.md"))
    a = ap.parse_args(argv)
    t = time.perf_counter()
    R, S, times = run(a.n, a.seed, a.hessian)
    per, overall, strata = summarise(R, S, times)
    wall = time.perf_counter() - t
    pd.set_option("display.width", 200)
    print(per.to_string())
    print(overall)
    print(strata.to_string())
    write_doc(Path(a.doc), per, overall, strata, a.n, a.seed, wall)
    print(f"wrote {a.doc} ({wall / 60:.1f} min)")


if __name__ == "__main__":
    main()
