"""What would decide this, for decision-study patients: ``opiaxis recommend``'s value-of-information
read-out (:mod:`opiaxis.calibrate.voi`) on the patients of ``scripts/decision_study.py`` (their
phenotypes, designs and noise models, fitted and ranked as there), with each parameter's true z
beside it (the read-out itself never sees the truth) and the CPU seconds of fit, recommend and the
read-out.

    python scripts/voi_study.py low_bup_F_pain-1 hpa_depressed-1 typical-2 hpa_depressed-3
    python scripts/voi_study.py hpa_depressed-1 --noise misspec --out voi-rows.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def one(model, pid: str, noise: str, design: str, seed: int, draws: int, horizon: float, dump: str | None = None) -> dict:
    import decision_study as ds
    from opiaxis.calibrate.fit import fit_patient, read_patients, synthetic_table
    from opiaxis.calibrate.recommend import load_options, recommend
    from opiaxis.calibrate.voi import value_of_information
    name, rep = pid.rsplit("-", 1)
    cov, shifts = ds.PHENOTYPES[name]
    P = ds.true_parameters(model, cov, shifts, seed, pid)
    regimens, visits = ds.DESIGNS[design]
    df = synthetic_table(model, P, ds.REGIMENS + regimens, {**ds.VISITS, **visits}, patient=pid, seed=seed,
                         covariates=cov, within_cv=ds.NOISE[noise])
    cpu = {}
    c = time.process_time()
    fit = fit_patient(read_patients(df, model)[pid], model)
    cpu["fit"], c = time.process_time() - c, time.process_time()
    opts = load_options()
    rec = recommend(fit, horizon_days=horizon, draws=draws, seed=seed, consistent_draws=True)
    cpu["recommend"], c = time.process_time() - c, time.process_time()
    voi = value_of_information(fit, rec, options=opts, seed=seed)
    cpu["voi"] = time.process_time() - c
    prob = fit.problem
    if dump:
        from opiaxis.calibrate.voi import draw_z
        names, Z = draw_z(fit, rec.parameters)
        Path(dump).mkdir(parents=True, exist_ok=True)
        voi.table.to_csv(Path(dump) / f"{pid}-{noise}-voi.csv", index=False)
        voi.measurements.to_csv(Path(dump) / f"{pid}-{noise}-measurements.csv", index=False)
        np.savez(Path(dump) / f"{pid}-{noise}-draws.npz", L=np.array(list(rec.draws_loss.values())),
                 candidates=np.array(list(rec.draws_loss)), Z=Z, names=np.array(names),
                 z_truth=np.array([float(model.parameter(n).variability.z_of(prob.base[model.param_index[n]],
                                                                             P[model.param_index[n]])) for n in names]))
    tab = voi.table.head(8).copy()
    tab["z_truth"] = [float(model.parameter(n).variability.z_of(prob.base[model.param_index[n]],
                                                                 P[model.param_index[n]])) for n in tab["parameter"]]
    return {"patient": pid, "noise": noise, "contenders": voi.contenders, "evpi": voi.evpi,
            "evpi90": [voi.evpi_lo90, voi.evpi_hi90], "null_max95": voi.null_max95, "summary": voi.summary(),
            "table": tab.round(4).to_dict(orient="records"), "pairs": voi.pairs.head(4).round(4).to_dict(orient="records"),
            "measurements": voi.measurements.groupby("parameter", sort=False).head(6).round(3).to_dict(orient="records"),
            "cpu_s": {k: round(v, 2) for k, v in cpu.items()}, "voi_wall_s": round(voi.seconds, 2), "notes": voi.notes}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("patients", nargs="+", help="phenotype-replicate, e.g. hpa_depressed-1")
    ap.add_argument("--noise", default="assumed")
    ap.add_argument("--design", default="informative")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--draws", type=int, default=20)
    ap.add_argument("--horizon", type=float, default=28.0)
    ap.add_argument("--out", default=None, help="append each patient's result to this JSON-lines file")
    ap.add_argument("--dump", default=None, help="write each patient's voi table, measurements and draws here")
    a = ap.parse_args(argv)
    from opiaxis.models import default_model
    model = default_model()
    for pid in a.patients:
        row = one(model, pid, a.noise, a.design, a.seed, a.draws, a.horizon, a.dump)
        print(json.dumps(row, default=float, indent=1), flush=True)
        if a.out:
            with open(a.out, "a", encoding="utf-8") as f:
                f.write(json.dumps(row, default=float) + "\n")


if __name__ == "__main__":
    np.set_printoptions(linewidth=200)
    main()
