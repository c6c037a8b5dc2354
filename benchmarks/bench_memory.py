"""Peak memory of a one-year cohort run with daily outputs (issue 18), and its extrapolation.

Each cohort size runs in a fresh process (its peak RSS is its own): the full composed model,
the ``bench_roadrunner.py`` doses (635 per patient-year), daily outputs, one ``simulate`` call,
rtol 1e-5 (the equal-accuracy setting). Printed per size: the peak RSS after building and
loading the compiled model (the fixed part) and after the run. Peak RSS is then fitted as
``fixed + per_patient · N`` and extrapolated to 10^4 patients; the per-patient part is compared
with what the arrays need (daily states: 366 · states · 8 bytes, plus the expanded dose rows).

    python benchmarks/bench_memory.py --sizes 50 200
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys


def one(n: int, days: float) -> dict:
    import numpy as np
    import pandas as pd
    from opiaxis import dosing
    from opiaxis.dosing import drug_routes, iu_factors
    from opiaxis.engine.simulate import SolverOptions, simulate
    from opiaxis.models import default_model
    from opiaxis.population import sample_parameters

    model = default_model()
    rows = pd.concat([dosing.parse_regimen(t, drugs=drug_routes(model), unit_factors=iu_factors(model)) for t in
                      ("heroin 25 mg IV q6h for 90 d", "buprenorphine 16 mg SL q24h for 275 d from day 91")],
                     ignore_index=True)
    ids = np.arange(1, n + 1)
    one_patient = dosing.expand_doses(rows.assign(ID=1)[list(dosing.EVENT_COLUMNS)])
    one_patient = one_patient[one_patient.TIME < days * 24].drop(columns="ID")
    doses = pd.DataFrame({c: np.tile(one_patient[c].to_numpy(), n) for c in one_patient.columns})
    doses["ID"] = np.repeat(ids, len(one_patient))
    times = np.arange(1.0, days * 24 + 1e-9, 24.0) - 0.5
    P = sample_parameters(model, ids, 2026)
    simulate(model, P[:1], times[:1], doses[doses.ID == 1], ids=ids[:1])   # load the compiled model
    fixed = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    res = simulate(model, P, times, doses, ids=ids, options=SolverOptions(rtol=1e-5, atol=1e-8))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"patients": n, "days": days, "fixed_mb": fixed, "peak_mb": peak, "states": len(model.states),
            "outputs": len(times), "dose_rows": len(doses), "failed": int(res.failed.sum()),
            "result_array_mb": res.states.nbytes / 2 ** 20}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 200])
    ap.add_argument("--days", type=float, default=365.0)
    ap.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    if a.one is not None:
        print(json.dumps(one(a.one, a.days)))
        return
    recs = []
    for n in a.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n), "--days", str(a.days)],
                             capture_output=True, text=True, check=True)
        recs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        r = recs[-1]
        print(f"{n:6d} patients: fixed {r['fixed_mb']:.0f} MB, peak {r['peak_mb']:.0f} MB "
              f"(daily states array {r['result_array_mb']:.0f} MB; {r['dose_rows']} dose rows; failed {r['failed']})",
              flush=True)
    if len(recs) >= 2:
        a0, a1 = recs[0], recs[-1]
        per = (a1["peak_mb"] - a0["peak_mb"]) / (a1["patients"] - a0["patients"])
        fixed = a1["peak_mb"] - per * a1["patients"]
        need = a1["result_array_mb"] / a1["patients"]
        print(f"fit: peak RSS = {fixed:.0f} MB + {per * 1024:.0f} kB x patients (the daily states alone: "
              f"{need * 1024:.0f} kB per patient); 10^4 patients in one simulate call: {fixed + per * 1e4:.0f} MB")
        recs.append({"fit_fixed_mb": fixed, "fit_per_patient_kb": per * 1024, "extrapolated_10k_mb": fixed + per * 1e4})
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(recs, fh, indent=2)


if __name__ == "__main__":
    main()
