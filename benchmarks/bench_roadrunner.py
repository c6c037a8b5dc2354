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

Equal accuracy. Two simulators given the same nominal tolerances do not reach the same accuracy
(their error estimators and norms differ), so the benchmark also measures each one's TRUE error
against a reference solution (opiaxis at rtol 1e-10, atol 1e-13, checked against libRoadRunner
at the same tight tolerances with ``--check-reference``) on the shared patients: the error of a
state is its largest relative difference from the reference over all patients and output times
(floor: 1e-6 of the state's peak, or atol), and the simulator's error is the largest over all
states ("max") together with the median over states ("median"). opiaxis is then run on a grid of
looser tolerances (a work-precision table), and its cohorts are timed at the loosest tolerance
whose max AND median errors are both no larger than libRoadRunner's at ``--rtol``.
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


def _ready(_):
    return _RR is not None


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


def _errors(a, ref, atol):
    """Per-state error: max over patients and times of |a - ref| / max(|ref|, floor)."""
    peak = np.nanmax(np.abs(ref), axis=(0, 1))
    floor = np.maximum(1e-6 * peak, atol)
    rel = np.abs(a - ref) / np.maximum(np.abs(ref), floor)
    rel = np.where(np.isfinite(a), rel, np.inf)
    return rel.max(axis=(0, 1))


def _summary(e):
    return float(np.max(e)), float(np.median(e))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--opiaxis", type=int, nargs="+", default=[100, 1000], help="opiaxis cohort sizes")
    ap.add_argument("--roadrunner", type=int, default=20, help="roadrunner cohort size (also the shared patients for accuracy)")
    ap.add_argument("--days", type=float, default=365.0)
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--atol", type=float, default=1e-9)
    ap.add_argument("--grid", type=float, nargs="+", default=[1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4],
                    help="opiaxis rtols for the work-precision table (atol scales with rtol)")
    ap.add_argument("--same-tolerance-cohorts", type=int, nargs="*", default=None,
                    help="cohort sizes also timed at --rtol (default: all of --opiaxis)")
    ap.add_argument("--check-reference", type=int, default=0,
                    help="also run libRoadRunner at the reference tolerances on this many patients")
    ap.add_argument("--modules", default="pk,receptors", help="comma-separated modules, or 'all'")
    ap.add_argument("--methadone", action="store_true")
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--chunk", type=int, default=1000, help="patients per simulate call in the cohort runs")
    ap.add_argument("--json", default=None, help="write the measurements to this JSON file")
    a = ap.parse_args()

    import json

    import numba
    import roadrunner
    from opiaxis import dosing
    from opiaxis.engine.simulate import SolverOptions, simulate
    from opiaxis.interop.sbml import group_doses, to_sbml
    from opiaxis.models import build_model, default_model
    from opiaxis.population import sample_parameters
    from opiaxis.dosing import drug_routes, iu_factors

    model = default_model() if a.modules == "all" else build_model(modules=a.modules.split(","))
    maint = "methadone 80 mg oral q24h" if a.methadone else "buprenorphine 16 mg SL q24h"
    regs = [f"heroin 25 mg IV q6h for {min(a.days, 90):g} d"]
    if a.days > 90:
        regs.append(f"{maint} for {a.days - 90:g} d from day 91")
    rows = pd.concat([dosing.parse_regimen(t, drugs=drug_routes(model), unit_factors=iu_factors(model))
                      for t in regs], ignore_index=True)
    one = dosing.expand_doses(rows.assign(ID=1)[list(dosing.EVENT_COLUMNS)])
    one = one[one.TIME < a.days * 24].reset_index(drop=True)
    times = np.arange(1.0, a.days * 24 + 1e-9, 24.0) - 0.5     # daily, off the dose times
    years = a.days / 365.0
    atol_ratio = a.atol / a.rtol

    def opts(rtol):
        return SolverOptions(rtol=rtol, atol=rtol * atol_ratio)

    record = {"machine": platform.processor() or platform.machine(), "cores": os.cpu_count(),
              "python": platform.python_version(), "numba": numba.__version__,
              "roadrunner": roadrunner.__version__, "states": len(model.states),
              "modules": [m.name for m in model.modules], "doses_per_patient": len(one),
              "days": a.days, "rtol": a.rtol, "atol": a.atol}
    print(f"machine: {record['machine']}, {os.cpu_count()} cores; model "
          f"{len(model.states)} states ({','.join(record['modules'])}); {len(one)} doses per "
          f"patient over {a.days:g} days; rtol {a.rtol:g}, atol {a.atol:g}; roadrunner {roadrunner.__version__}")
    nmax = max(a.opiaxis + [a.roadrunner])
    ids = np.arange(1, nmax + 1)
    P_all = sample_parameters(model, ids, 2026)

    def doses_for(k):
        d = one.drop(columns="ID")
        tiled = {c: np.tile(d[c].to_numpy(), k) for c in d.columns}
        tiled["ID"] = np.repeat(ids[:k], len(d))
        return pd.DataFrame(tiled)

    def run_opiaxis(k, rtol):
        t = time.perf_counter()
        res = simulate(model, P_all[:k], times, doses_for(k), ids=ids[:k], options=opts(rtol))
        return res, time.perf_counter() - t

    # warm-up (compile / cache)
    simulate(model, P_all[:2], times[:2], doses_for(2), ids=ids[:2], options=opts(a.rtol))

    # --- libRoadRunner on the shared patients (all states selected, for the accuracy check)
    sbml = to_sbml(model, doses=one, solver_offsets=False)   # states set by name per patient; the recorded method
    groups, _ = group_doses(one)
    counters = [f"opiaxis_dose{k}_k" for k in range(1, len(groups) + 1)] + \
               [f"opiaxis_dose{k}_kstop" for k, g in enumerate(groups, 1) if g.rate > 0]
    n_rr = a.roadrunner
    select = list(model.state_names)

    def run_rr(k, rtol, atol):
        x0 = model.initial_state(P_all[:k])
        jobs = [(P_all[i], x0[i], times, select, counters) for i in range(k)]
        with mp.get_context("fork").Pool(a.workers, initializer=_init,
                                         initargs=(sbml, rtol, atol, model.parameter_names, model.state_names)) as pool:
            t = time.perf_counter()
            pool.map(_ready, range(4 * a.workers), chunksize=1)  # every worker has compiled the SBML
            t_ready = time.perf_counter()
            outs = pool.map(_run, jobs, chunksize=1)
            t_end = time.perf_counter()
        return np.stack(outs), t_end - t_ready, t_ready - t

    rr_out, wall_rr, compile_rr = run_rr(n_rr, a.rtol, a.atol)
    rr_rate = n_rr * years / wall_rr
    failed = int(np.isnan(rr_out).any(axis=(1, 2)).sum())
    print(f"roadrunner  {n_rr:6d} patients: {wall_rr:8.2f} s  {rr_rate:9.3f} patient-years/s  "
          f"(excluding {compile_rr:.1f} s of pool start and SBML compile; failed {failed})")
    record["roadrunner_run"] = {"patients": n_rr, "wall_s": wall_rr, "compile_s": compile_rr,
                              "patient_years_per_s": rr_rate, "failed": failed}

    # --- reference solution and true errors
    ref, wall_ref = run_opiaxis(n_rr, 1e-10)
    ref = ref.states
    print(f"reference (opiaxis rtol 1e-10) on {n_rr} patients: {wall_ref:.1f} s")
    if a.check_reference:
        k = min(a.check_reference, n_rr)
        rr_ref, _, _ = run_rr(k, 1e-10, 1e-13)
        e = _errors(rr_ref, ref[:k], a.atol)
        print(f"reference check: libRoadRunner at rtol 1e-10 vs opiaxis at rtol 1e-10, {k} patients: "
              f"max {e.max():.1e}, median {np.median(e):.1e}")
        record["reference_check"] = {"patients": k, "max": float(e.max()), "median": float(np.median(e))}
    e_rr = _errors(rr_out, ref, a.atol)
    rr_max, rr_med = _summary(e_rr)
    worst = [model.state_names[i] for i in np.argsort(e_rr)[-3:][::-1]]
    print(f"libRoadRunner rtol {a.rtol:g}: true error max {rr_max:.2e} ({', '.join(worst)}), median {rr_med:.2e}")
    record["roadrunner_error"] = {"max": rr_max, "median": rr_med, "worst_states": worst}

    print(f"work-precision, opiaxis on the same {n_rr} patients:")
    table = []
    for rtol in sorted(a.grid):
        res, wall = run_opiaxis(n_rr, rtol)
        e = _errors(res.states, ref, rtol * atol_ratio)
        mx, md = _summary(e)
        ok = mx <= rr_max and md <= rr_med
        table.append({"rtol": rtol, "wall_s": wall, "patient_years_per_s": n_rr * years / wall,
                      "max": mx, "median": md, "as_accurate_as_roadrunner": bool(ok),
                      "mean_steps": float(res.stats[:, 0].mean())})
        print(f"  rtol {rtol:8.1e}: {wall:7.2f} s, error max {mx:.2e} median {md:.2e}, "
              f"steps/patient {res.stats[:, 0].mean():8.0f}  {'<= libRoadRunner' if ok else ''}")
    record["work_precision"] = table
    eq = max([r["rtol"] for r in table if r["as_accurate_as_roadrunner"]], default=None)
    record["equal_accuracy_rtol"] = eq
    print(f"opiaxis tolerance at equal or better accuracy than libRoadRunner at rtol {a.rtol:g}: "
          f"{'none in the grid' if eq is None else f'rtol {eq:g}'}")

    # --- cohorts
    same = a.opiaxis if a.same_tolerance_cohorts is None else a.same_tolerance_cohorts
    record["cohorts"] = []
    for n in a.opiaxis:
        for label, rtol in (("same tolerance", a.rtol), ("equal accuracy", eq)):
            if rtol is None or (label == "same tolerance" and n not in same):
                continue
            if label == "equal accuracy" and rtol == a.rtol and n in same:
                continue
            # chunks of --chunk patients (a cohort's daily states for all 123 states would not fit in
            # memory at 10^4), each one simulate call over all cores, as run_study does
            wall, nfail, steps = 0.0, 0, []
            for lo in range(0, n, a.chunk):
                hi = min(n, lo + a.chunk)
                t = time.perf_counter()
                res = simulate(model, P_all[lo:hi], times, doses_for(hi - lo).assign(ID=lambda d: d.ID + lo),
                               ids=ids[lo:hi], options=opts(rtol))
                wall += time.perf_counter() - t
                nfail += int((res.stats[:, 2] != 0).sum())
                steps.append(res.stats[:, 0])
                del res
            rate = n * years / wall
            print(f"opiaxis     {n:6d} patients, {label} (rtol {rtol:g}): {wall:8.2f} s  {rate:9.3f} patient-years/s  "
                  f"ratio {rate / rr_rate:5.1f}x  (failed {nfail}, mean steps {np.concatenate(steps).mean():.0f})", flush=True)
            record["cohorts"].append({"patients": n, "basis": label, "rtol": rtol, "wall_s": wall,
                                      "patient_years_per_s": rate, "ratio": rate / rr_rate, "failed": nfail})
            if a.json:
                with open(a.json, "w") as fh:
                    json.dump(record, fh, indent=2)

    # agreement on key variables at the same tolerance (as before)
    res, _ = run_opiaxis(n_rr, a.rtol)
    for v in [k for k in KEY if k in model.state_index or k in model.assignment_index]:
        A = res.get(v)
        j = model.state_index.get(v)
        B = rr_out[:, :, j] if j is not None else None
        if B is None:
            continue
        scale = np.nanmax(np.abs(A))
        ok = np.isfinite(B)
        rel = np.abs(A - B)[ok] / np.maximum(np.maximum(np.abs(A), np.abs(B))[ok], max(1e-6 * scale, a.atol))
        print(f"agreement {v:26s}: max relative difference {rel.max():.2e} (floor 1e-6 of its peak, or atol)")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(record, fh, indent=2)


if __name__ == "__main__":
    main()
