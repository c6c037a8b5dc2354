"""Side-by-side throughput: opiaxis (Numba RODAS4, numba prange over patients) vs libRoadRunner
(LLVM + CVODE, one RoadRunner per process, multiprocessing Pool over all cores) on the same
virtual cohort, the same exported model, the same doses and the same tolerances.

Cohort: one year per patient; heroin 25 mg IV four times a day for the first 90 days, then
buprenorphine 16 mg SL daily for the rest of the year (the maintenance arm; ``--methadone``
gives methadone 80 mg oral daily instead). Each patient has its own parameters
(between-patient variability, ``opiaxis.population.sample_parameters``); libRoadRunner gets
them with ``setValues`` on one compiled model per process, and its doses are SBML events driven
by parameters (opiaxis.interop.sbml, two repeating events), so both simulators receive the same
patients. Output: daily read-outs.

    python benchmarks/bench_roadrunner.py                       # defaults: 100 and 1000 / 20
    python benchmarks/bench_roadrunner.py --opiaxis 1000 10000 --roadrunner 200
    python benchmarks/bench_roadrunner.py --modules all         # the full composed model

Prints patient-years per second for each, the ratio, and the agreement (max relative difference
on key variables over the patients both simulated). roadrunner's throughput is measured on its
own cohort size (it is per patient and embarrassingly parallel, so it does not depend on the
cohort size beyond Pool start-up, which is excluded from neither).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import time

import numpy as np
import pandas as pd

KEY = ["buprenorphine_plasma", "morphine_plasma", "mor_occupancy_central", "buprenorphine_central"]

_RR = None
_NAMES = None


def _init(sbml, rtol, atol, names, states):
    global _RR, _NAMES
    import roadrunner
    roadrunner.Logger.setLevel(roadrunner.Logger.LOG_CRITICAL)
    _RR = roadrunner.RoadRunner(sbml)
    it = _RR.getIntegrator()
    it.setValue("relative_tolerance", rtol)
    it.setValue("absolute_tolerance", atol)
    it.setValue("maximum_num_steps", 10 ** 6)
    for sid in states:  # one absolute tolerance per state (roadrunner otherwise scales it by initial values)
        it.setIndividualTolerance(sid, atol)
    _NAMES = names


def _run(args):
    params, x0, times, select, counters = args
    rr = _RR
    rr.resetAll()
    rr.setValues(_NAMES, list(params))
    for c in counters:
        rr.setValue(c, 0.0)
    # libRoadRunner does not re-evaluate event triggers after setValue (sys-bio/roadrunner #983):
    # without this reset the parameter-driven repeating dose events fire once and never again
    rr.reset()
    rr.timeCourseSelections = ["time"] + select
    try:
        out = np.asarray(rr.simulate(times=[0.0] + list(times)))[1:, 1:]
    except RuntimeError:
        out = np.full((len(times), len(select)), np.nan)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--opiaxis", type=int, nargs="+", default=[100, 1000], help="opiaxis cohort sizes")
    ap.add_argument("--roadrunner", type=int, default=20, help="roadrunner cohort size")
    ap.add_argument("--days", type=float, default=365.0)
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--atol", type=float, default=1e-9)
    ap.add_argument("--modules", default="pk,receptors", help="comma-separated modules, or 'all'")
    ap.add_argument("--methadone", action="store_true")
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    a = ap.parse_args()

    import roadrunner
    from opiaxis import dosing
    from opiaxis.engine.simulate import SolverOptions, simulate
    from opiaxis.interop.sbml import group_doses, to_sbml
    from opiaxis.models import build_model, default_model
    from opiaxis.population import sample_parameters
    from opiaxis.study import drug_routes, iu_factors

    model = default_model() if a.modules == "all" else build_model(modules=a.modules.split(","))
    maint = "methadone 80 mg oral q24h" if a.methadone else "buprenorphine 16 mg SL q24h"
    regs = ["heroin 25 mg IV q6h for 90 d", f"{maint} for {a.days - 90:g} d from day 91"]
    rows = pd.concat([dosing.parse_regimen(t, drugs=drug_routes(model), unit_factors=iu_factors(model))
                      for t in regs], ignore_index=True)
    one = dosing.expand_doses(rows.assign(ID=1)[list(dosing.EVENT_COLUMNS)])
    times = np.arange(1.0, a.days * 24 + 1e-9, 24.0) - 0.5     # daily, off the dose times
    years = a.days / 365.0
    opts = SolverOptions(rtol=a.rtol, atol=a.atol)
    select = [k for k in KEY if k in model.state_index or k in model.assignment_index]

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; model "
          f"{len(model.states)} states ({','.join(m.name for m in model.modules)}); {len(one)} doses per "
          f"patient over {a.days:g} days; rtol {a.rtol:g}, atol {a.atol:g}; roadrunner {roadrunner.__version__}")
    nmax = max(a.opiaxis + [a.roadrunner])
    ids = np.arange(1, nmax + 1)
    P_all = sample_parameters(model, ids, 2026)

    def doses_for(k):
        d = one.drop(columns="ID")
        tiled = {c: np.tile(d[c].to_numpy(), k) for c in d.columns}
        tiled["ID"] = np.repeat(ids[:k], len(d))
        return pd.DataFrame(tiled)

    # warm-up (compile / cache)
    simulate(model, P_all[:2], times[:2], doses_for(2), ids=ids[:2], options=opts)
    res_small = None
    rates = {}
    for n in a.opiaxis:
        t = time.perf_counter()
        res = simulate(model, P_all[:n], times, doses_for(n), ids=ids[:n], options=opts)
        wall = time.perf_counter() - t
        rates[n] = n * years / wall
        print(f"opiaxis     {n:6d} patients: {wall:8.2f} s  {rates[n]:9.2f} patient-years/s  "
              f"(failed {int((res.stats[:, 2] != 0).sum())}, mean steps {res.stats[:, 0].mean():.0f})")
        if res_small is None or n >= a.roadrunner:
            res_small = res if res_small is None or res_small.states.shape[0] < a.roadrunner else res_small

    # roadrunner: one SBML, doses as parameter-driven repeating events, per-patient parameters
    sbml = to_sbml(model, doses=one)
    groups, _ = group_doses(one)
    counters = [f"opiaxis_dose{k}_{c}" for k in range(1, len(groups) + 1) for c in ("k",)] + \
               [f"opiaxis_dose{k}_kstop" for k, g in enumerate(groups, 1) if g.rate > 0]
    n_rr = a.roadrunner
    x0 = model.initial_state(P_all[:n_rr])
    jobs = [(P_all[i], x0[i], times, select, counters) for i in range(n_rr)]
    t = time.perf_counter()
    with mp.get_context("fork").Pool(a.workers, initializer=_init,
                                     initargs=(sbml, a.rtol, a.atol, model.parameter_names, model.state_names)) as pool:
        t_ready = time.perf_counter()
        outs = pool.map(_run, jobs, chunksize=1)
    wall_rr = time.perf_counter() - t
    rr_rate = n_rr * years / wall_rr
    failed = sum(np.isnan(o).any() for o in outs)
    print(f"roadrunner  {n_rr:6d} patients: {wall_rr:8.2f} s  {rr_rate:9.2f} patient-years/s  "
          f"(including {t_ready - t:.1f} s pool start and model compile per process; failed {failed})")
    for n, r in rates.items():
        print(f"ratio opiaxis({n}) / roadrunner({n_rr}): {r / rr_rate:.1f}x")

    # agreement on the patients both simulated (opiaxis at the same tolerances)
    res = simulate(model, P_all[:n_rr], times, doses_for(n_rr), ids=ids[:n_rr], options=opts)
    for j, v in enumerate(select):
        A = res.get(v)
        B = np.stack([o[:, j] for o in outs])
        scale = np.nanmax(np.abs(A))
        ok = np.isfinite(B)
        rel = np.abs(A - B)[ok] / np.maximum(np.maximum(np.abs(A), np.abs(B))[ok], 1e-6 * scale)
        print(f"agreement {v:26s}: max relative difference {rel.max():.2e} (floor 1e-6 of its peak)")


if __name__ == "__main__":
    main()
