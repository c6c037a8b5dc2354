"""Seconds per patient: ``fit`` and ``recommend`` vs a generic pipeline on the same problem.

Generic pipeline: ``scipy.optimize.least_squares`` on the same parameters, the same simulations
and the same measurement residuals (read-out noise models, censoring), but without the
population priors, without the covariate-independent prior residuals, with SciPy's own
(serial) two-point finite-difference Jacobian, and no Laplace step — what one would write
against the engine without this module. Both are timed on the same synthetic patients (the
recovery-study design); the log-scale error against the true parameters is printed too.

    python benchmarks/bench_fit.py --n 3
    python benchmarks/bench_fit.py --n 3 --hessian irls    # no FD Hessian batch
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--draws", type=int, default=30)
    ap.add_argument("--hessian", default="fd", help="fit_patient's Laplace Hessian (fd, irls, gn)")
    a = ap.parse_args(argv)
    from scipy import optimize

    from opiaxis.calibrate.fit import Problem, fit_patient, read_patients, synthetic_table
    from opiaxis.calibrate.recommend import recommend
    from opiaxis.models import default_model
    from opiaxis.population import sample_parameters
    from opiaxis.population.covariates import apply_covariates, sample_covariates
    from recovery_study import REGIMENS, VISITS

    model = default_model()
    ids = np.arange(1, a.n + 1)
    cov = sample_covariates(ids, a.seed)[["patient", "age", "weight", "sex_male"]]
    P = apply_covariates(model, sample_parameters(model, ids, a.seed), cov)
    # warm-up (compiled code, lambdified read-outs)
    df = synthetic_table(model, P[0], REGIMENS, VISITS, patient="0", seed=a.seed)
    fit_patient(read_patients(df, model)["0"], model, hessian="gn", max_params=2)
    rows = []
    for k, pid in enumerate(ids):
        covs = {c: float(cov[c].iloc[k]) for c in ("age", "weight", "sex_male")}
        df = synthetic_table(model, P[k], REGIMENS, VISITS, patient=str(pid), seed=a.seed, covariates=covs)
        data = read_patients(df, model)[str(pid)]
        t, c = time.perf_counter(), time.process_time()
        fit = fit_patient(data, model, hessian=a.hessian)
        t_fit, c_fit = time.perf_counter() - t, time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        rec = recommend(fit, draws=a.draws)
        t_rec, c_rec = time.perf_counter() - t, time.process_time() - c
        # generic: same names, same residuals, no prior, serial 2-point Jacobian
        prob = Problem(model, data, fit.names)
        K = len(fit.names)
        t, c = time.perf_counter(), time.process_time()
        sol = optimize.least_squares(lambda z: prob.residuals(z[None])[0, K:], np.zeros(K), method="trf",
                                     ftol=1e-6, xtol=1e-4, gtol=1e-6, max_nfev=60 * K)
        t_gen, c_gen = time.perf_counter() - t, time.process_time() - c
        truth = np.array([P[k, model.param_index[n]] for n in fit.names])
        est_map = fit.problem.params(fit.z[None])[0][fit.problem.idx]
        est_gen = prob.params(sol.x[None])[0][prob.idx]
        rows.append({"patient": pid, "K": K, "fit_s": t_fit, "fit_cpu_s": c_fit, "recommend_s": t_rec,
                     "recommend_cpu_s": c_rec, "candidates": len(rec.table), "generic_s": t_gen, "generic_cpu_s": c_gen,
                     "generic_nfev": sol.nfev, "map_rmse_log": float(np.sqrt(np.mean(np.log(est_map / truth) ** 2))),
                     "generic_rmse_log": float(np.sqrt(np.mean(np.log(est_gen / truth) ** 2))),
                     "generic_at_bound": int(np.sum(np.abs(sol.x) > 10)),
                     # wall time on a shared machine is inflated by the others' jobs: the 1-minute
                     # load average says by how much (2 cores here); CPU seconds compare across loads
                     "load1": os.getloadavg()[0]})
        print(rows[-1], flush=True)
    R = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(R.to_string(index=False))
    f, g, r = R["fit_s"].mean(), R["generic_s"].mean(), R["recommend_s"].mean()
    print(f"\nseconds per patient: opiaxis fit {f:.1f} s (MAP + FD Laplace, {R['K'].mean():.1f} parameters) | "
          f"generic least_squares {g:.1f} s (no priors, no uncertainty) | ratio generic/opiaxis {g / f:.2f}")
    print(f"seconds per patient: recommend {r:.1f} s ({a.draws} draws x {R['candidates'].iloc[0]} candidates)")
    print(f"CPU seconds per patient (all threads): fit {R['fit_cpu_s'].mean():.1f}, recommend {R['recommend_cpu_s'].mean():.1f}, "
          f"generic least_squares {R['generic_cpu_s'].mean():.1f}")
    print(f"1-minute load average during the runs: {R['load1'].min():.1f}-{R['load1'].max():.1f} "
          f"on {os.cpu_count()} cores")
    print(f"log-scale RMSE vs truth: opiaxis MAP {R['map_rmse_log'].mean():.3f} | generic {R['generic_rmse_log'].mean():.3f}")


if __name__ == "__main__":
    main()
