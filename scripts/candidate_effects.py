"""Trace every candidate's effect to the utility's outcomes, with known (true) parameters.

For each phenotype of ``scripts/decision_study.py`` (the same true parameters, history and
decision time, day 21 after heroin 7 d then buprenorphine 16 mg 14 d), every base candidate and
every adjunct on ``--base`` is simulated over the horizon with the patient's true parameters (no
fit, no posterior), and the script prints, per candidate, the outcomes the utility sees and the
weighted loss terms of ``calibrate.recommend`` — as values, or with ``--delta`` as the difference
from the base. This is the check that the designed contrasts of the decision study exist in the
model at all: an adjunct whose row is all zeros cannot win for any patient.

    python scripts/candidate_effects.py                                  # all phenotypes
    python scripts/candidate_effects.py --patients typical,hpa_depressed --delta
    python scripts/candidate_effects.py --classes --replicates 3 --design informative

``--classes`` answers "for whom does methadone beat buprenorphine?" with the decision study's own
truth: per patient of the study ("phenotype-replicate", the same true parameters and history), the
best combination of each drug class over the full factorial (``decision_study.true_losses``'s
combinations), its loss terms, and the margin between the best methadone and the best buprenorphine
maintenance combination (negative: methadone is better).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

OUTCOMES = ["cows_mean", "ventilation_min", "pain_nrs_mean", "madrs_mean", "bfi_mean", "sbm_per_week",
            "craving_mean", "il6_mean"]


def effects(model, name: str, pid: int, *, seed: int = 3, horizon: float = 28.0,
            base: str = "buprenorphine 16 mg/day") -> pd.DataFrame:
    """One row per candidate: outcomes (true parameters), weighted loss terms and the total loss."""
    import decision_study as ds
    from opiaxis.calibrate.fit import Problem, read_patients, synthetic_table
    from opiaxis.calibrate.recommend import load_options, loss_terms, predicted_outcomes
    cov, shifts = ds.PHENOTYPES[name]
    P = ds.true_parameters(model, cov, shifts, seed, pid)
    df = synthetic_table(model, P, ds.REGIMENS, ds.VISITS, patient=str(pid), seed=seed, covariates=cov)
    data = read_patients(df, model)[str(pid)]
    shell = SimpleNamespace(problem=Problem(model, data, []))  # predicted_outcomes needs only the problem
    opts = load_options()
    res, kinds, _, _ = predicted_outcomes(shell, horizon_days=horizon, draws=1, options=opts, P=P[None].copy(),
                                          adjunct_bases=[base])
    rows = []
    for cand, o in res.items():
        row = {"patient": name, "candidate": cand}
        row.update({k: float(o[k][0]) for k in OUTCOMES if k in o})
        terms = loss_terms(o, opts.weights)
        row.update({f"L_{k}": float(v[0]) for k, v in terms.items()})
        row["loss"] = float(sum(v[0] for v in terms.values()))
        rows.append(row)
    return pd.DataFrame(rows)


TERMS = ["withdrawal", "overdose", "pain", "depression", "constipation", "craving", "inflammation"]


def class_margins(model, name: str, rep: int, *, seed: int = 3, horizon: float = 28.0,
                  design: str = "standard") -> pd.DataFrame:
    """The best combination of each drug class (no medication, buprenorphine maintenance, the
    buprenorphine taper, methadone, naltrexone) for decision-study patient ``name-rep``, with its
    loss terms and minimum ventilation: every base with no, one or two adjuncts simulated with the
    true parameters from the decision time, as ``decision_study.true_losses`` does."""
    import decision_study as ds
    from opiaxis.calibrate.fit import Problem, read_patients, synthetic_table
    from opiaxis.calibrate.recommend import combination_outcomes, factorial_combinations, load_options, loss_terms
    cov, shifts = ds.PHENOTYPES[name]
    pid = f"{name}-{rep}"
    P = ds.true_parameters(model, cov, shifts, seed, pid)
    extra_regimens, extra_visits = ds.DESIGNS[design]
    df = synthetic_table(model, P, ds.REGIMENS + extra_regimens, {**ds.VISITS, **extra_visits}, patient=pid,
                         seed=seed, covariates=cov)
    shell = SimpleNamespace(problem=Problem(model, read_patients(df, model)[pid], []))
    opts = load_options()
    out = combination_outcomes(shell, factorial_combinations(model, opts), P[None].copy(), horizon_days=horizon,
                               options=opts)
    classes = ds.drug_classes()
    rows = []
    for combo, o in out.items():
        drugs, maintained = classes[combo.split(" + ")[0]]
        terms = {k: float(v[0]) for k, v in loss_terms(o, opts.weights).items()}
        rows.append({"patient": pid, "class": "+".join(sorted(drugs)) + ("" if maintained else " (taper)") if drugs
                     else "no medication", "combination": ds.canon(combo), **terms,
                     "loss": sum(terms.values()), "ventilation_min": float(o["ventilation_min"][0])})
    T = pd.DataFrame(rows).sort_values("loss")
    best = T.groupby("class", sort=False).head(1).reset_index(drop=True)
    loss = best.set_index("class")["loss"]
    best["methadone_minus_buprenorphine"] = loss.get("methadone", np.nan) - loss.get("buprenorphine", np.nan)
    return best


def main(argv=None):
    import decision_study as ds
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--patients", default=",".join(ds.PHENOTYPES))
    ap.add_argument("--base", default="buprenorphine 16 mg/day")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--horizon", type=float, default=28.0)
    ap.add_argument("--delta", action="store_true", help="print differences from the base candidate")
    ap.add_argument("--csv", help="also write the table here")
    ap.add_argument("--classes", action="store_true",
                    help="the best combination of each drug class per decision-study patient (full factorial)")
    ap.add_argument("--replicates", type=int, default=1, help="with --classes: patients per phenotype")
    ap.add_argument("--design", default="standard", help="with --classes: the decision study's design (history)")
    a = ap.parse_args(argv)
    from opiaxis.models import default_model
    model = default_model()
    if a.classes:
        return _print_classes(model, a)
    order = list(ds.PHENOTYPES)
    out = []
    for name in a.patients.split(","):
        t = effects(model, name, order.index(name) + 1, seed=a.seed, horizon=a.horizon, base=a.base)
        if a.delta:
            num = t.columns.drop(["patient", "candidate"])
            t[num] = t[num] - t.loc[t["candidate"] == a.base, num].to_numpy()
        out.append(t)
        pd.set_option("display.width", 250)
        pd.set_option("display.max_columns", 30)
        print(f"\n== {name} ({'difference from ' + a.base if a.delta else 'values'})")
        print(t.drop(columns="patient").sort_values("loss").to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if a.csv:
        pd.concat(out).to_csv(a.csv, index=False)
    return pd.concat(out)



def _print_classes(model, a) -> pd.DataFrame:
    pd.set_option("display.width", 250)
    pd.set_option("display.max_colwidth", 90)
    out = []
    for name in a.patients.split(","):
        for rep in range(1, a.replicates + 1):
            t = class_margins(model, name, rep, seed=a.seed, horizon=a.horizon, design=a.design)
            out.append(t)
            print(f"\n== {name}-{rep}: methadone − buprenorphine {t['methadone_minus_buprenorphine'].iloc[0]:+.3f} "
                  f"loss units (best of each class, true parameters, {a.design} design)")
            print(t.drop(columns=["patient", "methadone_minus_buprenorphine"]).to_string(
                index=False, float_format=lambda v: f"{v:.3f}"))
    R = pd.concat(out)
    if a.csv:
        R.to_csv(a.csv, index=False)
    return R


if __name__ == "__main__":
    main()
