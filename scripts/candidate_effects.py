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


def main(argv=None):
    import decision_study as ds
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--patients", default=",".join(ds.PHENOTYPES))
    ap.add_argument("--base", default="buprenorphine 16 mg/day")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--horizon", type=float, default=28.0)
    ap.add_argument("--delta", action="store_true", help="print differences from the base candidate")
    ap.add_argument("--csv", help="also write the table here")
    a = ap.parse_args(argv)
    from opiaxis.models import default_model
    model = default_model()
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


if __name__ == "__main__":
    main()
