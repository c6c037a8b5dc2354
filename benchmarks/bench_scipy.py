"""Second peer (issue 18): SciPy ``solve_ivp`` (BDF, LSODA) on opiaxis's own generated right-hand
side with its analytic Jacobian — what a user would write by hand — against opiaxis, interleaved
in one process, per core.

Both get the same model (the full composed model), the same patients (``sample_parameters``,
seed 2026), the same doses as ``bench_roadrunner.py`` (heroin 25 mg IV q6h for 90 days, then
buprenorphine 16 mg SL daily) translated by the same ``event_arrays`` (bioavailability, lag,
infusion rates), and the same daily outputs. SciPy integrates from event to event (a dose is a
discontinuity; ``solve_ivp`` is restarted after each, as a hand-written driver would) with
``dense_output`` for the daily read-outs. BDF gets the Jacobian as a sparse CSC matrix with the
model's sparsity (SciPy then factorises with SuperLU); LSODA gets it dense.

The right-hand side and Jacobian are the compiled Numba functions of the generated module, so the
peer's per-call cost is the same as opiaxis's; what differs is the method, its step-size and
order control, and the per-step Python overhead of ``solve_ivp``.

Accuracy: each run's error against opiaxis at rtol 1e-10/atol 1e-13 on the same patients (the
``bench_roadrunner.py`` measure: per state the largest relative difference over patients and
outputs, floor 1e-6 of the state's peak or atol; max and median over states). Time: CPU seconds of
this process (``time.process_time``) with ``NUMBA_NUM_THREADS=1``, so every figure is per core.

``--roadrunner RTOL`` also runs libRoadRunner in this process, patient after patient (the set-up
of ``bench_roadrunner.py``: its SBML export, one absolute tolerance per state), so that all three
are timed per core in the same window — on a shared machine the only fair comparison.

    NUMBA_NUM_THREADS=1 python benchmarks/bench_scipy.py --patients 3 --days 365
    NUMBA_NUM_THREADS=1 python benchmarks/bench_scipy.py --patients 3 --methods --roadrunner 1e-6
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import pandas as pd
import scipy
from scipy.integrate import solve_ivp
from scipy.sparse import csc_matrix

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_roadrunner  # noqa: E402
from bench_roadrunner import _errors, _summary  # noqa: E402  (the one error measure of the benchmarks)


def scipy_patient(mod, p, x0, ev, t_out, method, rtol, atol):
    """One patient with ``solve_ivp``, restarted at every event; returns outputs and counters."""
    ev_time, ev_kind, ev_cmt, ev_val = ev
    n = len(x0)
    x, r = x0.copy(), np.zeros(n)
    out, jv = np.empty(n), np.empty(len(mod.JAC_ROW))
    Y = np.full((len(t_out), n), np.nan)
    cnt = {"steps": 0, "nfev": 0, "njev": 0, "nlu": 0}

    def f(t, y):
        mod.rhs(y, p, r, out)
        return out.copy()

    def jac_sparse(t, y):
        mod.jac(y, p, jv)
        return csc_matrix((jv.copy(), (mod.JAC_ROW, mod.JAC_COL)), shape=(n, n))

    def jac_dense(t, y):
        mod.jac(y, p, jv)
        J = np.zeros((n, n))
        np.add.at(J, (mod.JAC_ROW, mod.JAC_COL), jv)
        return J

    jac = jac_sparse if method == "BDF" else jac_dense
    bounds = np.unique(np.concatenate([[0.0], ev_time[ev_time < t_out[-1]], [t_out[-1]]]))
    k = 0
    for a, b in zip(bounds[:-1], bounds[1:]):
        while k < len(ev_time) and ev_time[k] <= a:   # events due now, in the kernel's order
            if ev_kind[k] == 0:
                x[ev_cmt[k]] += ev_val[k]
            elif ev_kind[k] == 1:
                r[ev_cmt[k]] += ev_val[k]
            else:
                x, r = x0.copy(), np.zeros(n)
            k += 1
        sol = solve_ivp(f, (a, b), x, method=method, rtol=rtol, atol=atol, jac=jac, dense_output=True)
        if sol.status != 0:
            return Y, cnt, False
        sel = (t_out >= a) & (t_out < b) | ((t_out == b) & (b == t_out[-1]))
        if sel.any():
            Y[sel] = sol.sol(t_out[sel]).T
        x = sol.y[:, -1].copy()
        cnt["steps"] += len(sol.t) - 1
        for key in ("nfev", "njev", "nlu"):
            cnt[key] += int(getattr(sol, key))
    return Y, cnt, True


def roadrunner_cohort(model, P, X0, one, times, rtol, atol):
    """libRoadRunner in this process, patient after patient (bench_roadrunner's set-up: the SBML
    export with parameter-driven repeating dose events, one absolute tolerance per state);
    CPU seconds exclude the SBML compile."""
    from opiaxis.interop.sbml import group_doses, to_sbml
    sbml = to_sbml(model, doses=one.assign(ID=1), solver_offsets=False)
    groups, _ = group_doses(one.assign(ID=1))
    counters = [f"opiaxis_dose{k}_k" for k in range(1, len(groups) + 1)] + \
               [f"opiaxis_dose{k}_kstop" for k, g in enumerate(groups, 1) if g.rate > 0]
    bench_roadrunner._init(sbml, rtol, atol, model.parameter_names, model.state_names)
    c = time.process_time()
    Y = np.stack([bench_roadrunner._run((P[k], X0[k], times, list(model.state_names), counters))
                  for k in range(len(P))])
    return Y, time.process_time() - c


def _regimens(name: str, days: float) -> list[str]:
    """The regimen texts of a benchmark cohort (see --regimen)."""
    if name == "methadone-lapses":
        lapses = [f"heroin 25 mg IV q6h for 1 d from day {d}" for d in range(10, int(days), 22)]
        return [f"methadone 80 mg oral q24h for {days:g} d"] + lapses
    regs = [f"heroin 25 mg IV q6h for {min(days, 90):g} d"]
    if days > 90:
        regs.append(f"buprenorphine 16 mg SL q24h for {days - 90:g} d from day 91")
    return regs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, default=2)
    ap.add_argument("--days", type=float, default=120.0)
    ap.add_argument("--rtol", type=float, nargs="+", default=[1e-6, 1e-5])
    ap.add_argument("--opiaxis-rtol", type=float, nargs="+", default=[1e-6, 1e-5])
    ap.add_argument("--atol-ratio", type=float, default=1e-3)
    ap.add_argument("--methods", nargs="*", default=["BDF", "LSODA"])
    ap.add_argument("--roadrunner", type=float, nargs="*", default=[],
                    help="also time libRoadRunner in this process (per core) at these rtols")
    ap.add_argument("--regimen", choices=["heroin-bup", "methadone-lapses"], default="heroin-bup",
                    help="heroin-bup: heroin 25 mg IV q6h for 90 d, then buprenorphine 16 mg SL daily (635 doses a "
                         "year); methadone-lapses: issue 18's harness, methadone 80 mg oral daily plus a one-day "
                         "heroin lapse (25 mg IV q6h) every 22 days from day 10 (429 doses a year)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()

    import numba
    from opiaxis import dosing
    from opiaxis.dosing import drug_routes, iu_factors
    from opiaxis.engine.codegen import compile_model
    from opiaxis.engine.simulate import SolverOptions, event_arrays, simulate
    from opiaxis.models import default_model
    from opiaxis.population import sample_parameters

    model = default_model()
    mod = compile_model(model)
    regs = _regimens(a.regimen, a.days)
    rows = pd.concat([dosing.parse_regimen(t, drugs=drug_routes(model), unit_factors=iu_factors(model))
                      for t in regs], ignore_index=True)
    ids = np.arange(1, a.patients + 1)
    doses = dosing.expand_doses(pd.concat([rows.assign(ID=i) for i in ids])[list(dosing.EVENT_COLUMNS)])
    doses = doses[doses.TIME < a.days * 24].reset_index(drop=True)
    n_doses = int((doses.ID == 1).sum())
    times = np.arange(1.0, a.days * 24 + 1e-9, 24.0) - 0.5
    P = sample_parameters(model, ids, 2026)
    X0 = model.initial_state(P)
    ptr, *ev = event_arrays(model, P, ids, doses)
    years = a.days / 365.0
    rec = {"numba_threads": numba.config.NUMBA_NUM_THREADS, "scipy": scipy.__version__, "patients": a.patients,
           "days": a.days, "doses_per_patient": n_doses, "states": len(model.states), "runs": []}
    print(f"{len(model.states)} states, {a.patients} patients, {a.days:g} days, {n_doses} doses per patient; "
          f"NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}; scipy {scipy.__version__}; load {os.getloadavg()}")

    def opiaxis_run(rtol):
        c = time.process_time()
        res = simulate(model, P, times, doses, ids=ids, options=SolverOptions(rtol=rtol, atol=rtol * a.atol_ratio))
        return res.states, time.process_time() - c, res.stats[:, 0].mean()

    opiaxis_run(1e-6)  # warm-up (compile or load the cache)
    for rtol in a.opiaxis_rtol:  # the drug-free rhythm's share of the steps
        free = simulate(model, P, times, None, ids=ids, options=SolverOptions(rtol=rtol, atol=rtol * a.atol_ratio))
        print(f"drug-free, rtol {rtol:7.1e}: steps per patient-year {free.stats[:, 0].mean() / years:9.0f} "
              f"(+ {free.stats[:, 1].mean() / years:.0f} rejected)", flush=True)
        rec.setdefault("drug_free", []).append({"rtol": rtol, "steps_per_year": free.stats[:, 0].mean() / years,
                                                 "rejected_per_year": free.stats[:, 1].mean() / years})
    ref, cpu_ref, _ = opiaxis_run(1e-10)
    print(f"reference (opiaxis rtol 1e-10): {cpu_ref:.1f} CPU-s")

    def report(label, rtol, Y, cpu, steps, extra=""):
        e = _errors(Y, ref, a.atol_ratio * rtol)
        mx, md = _summary(e)
        # the same measure over the states that leave the absolute-tolerance floor: a state that
        # stays ~0 (a drug never given) can differ by ~atol, which the relative measure calls 100%
        live = np.nanmax(np.abs(ref), axis=(0, 1)) > 1e3 * a.atol_ratio * rtol
        e_live = np.where(live, e, 0.0)
        extra = (f"worst {model.state_names[int(np.argmax(e))]}; over states above 1e3*atol: max "
                 f"{e_live.max():.2e} ({model.state_names[int(np.argmax(e_live))]}) {extra}")
        rate = a.patients * years / cpu
        print(f"{label:24s} rtol {rtol:7.1e}: {cpu:8.2f} CPU-s, {rate:8.4f} patient-years per CPU-s, "
              f"steps/dose {steps / n_doses:7.1f}, error max {mx:.2e} median {md:.2e} {extra}", flush=True)
        rec["runs"].append({"solver": label, "rtol": rtol, "cpu_s": cpu, "patient_years_per_cpu_s": rate,
                            "steps_per_dose": steps / n_doses, "max": mx, "median": md,
                            "worst": model.state_names[int(np.argmax(e))], "max_live_states": float(e_live.max())})

    # interleaved: opiaxis at each tolerance, then each SciPy method at each tolerance
    for rtol in a.opiaxis_rtol:
        Y, cpu, steps = opiaxis_run(rtol)
        report("opiaxis RODAS4", rtol, Y, cpu, steps)
    for rtol in a.rtol:
        for method in a.methods:
            c = time.process_time()
            outs, cnts, ok = [], [], 0
            for k in range(a.patients):
                e = [arr[ptr[k]:ptr[k + 1]] for arr in ev]
                Y, cnt, good = scipy_patient(mod, P[k], X0[k], e, times, method, rtol, rtol * a.atol_ratio)
                outs.append(Y)
                cnts.append(cnt)
                ok += good
            cpu = time.process_time() - c
            mean = {key: np.mean([cn[key] for cn in cnts]) for key in cnts[0]}
            report(f"scipy {method}", rtol, np.stack(outs), cpu, mean["steps"],
                   f"(nfev {mean['nfev'] / n_doses:.0f}, njev {mean['njev'] / n_doses:.1f}, "
                   f"nlu {mean['nlu'] / n_doses:.1f} per dose; {a.patients - ok} failed)")
        for r in a.opiaxis_rtol:  # opiaxis again, after the peer, to show the load did not drift
            if r == rtol:
                Y, cpu, steps = opiaxis_run(r)
                report("opiaxis RODAS4 (again)", r, Y, cpu, steps)
    for rtol in a.roadrunner:
        Y, cpu = roadrunner_cohort(model, P, X0, doses[doses.ID == 1], times, rtol, rtol * a.atol_ratio)
        report("libRoadRunner CVODE", rtol, Y, cpu, np.nan)
        for r in a.opiaxis_rtol:
            Y, cpu, steps = opiaxis_run(r)
            report("opiaxis RODAS4 (again)", r, Y, cpu, steps)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(rec, fh, indent=2)


if __name__ == "__main__":
    main()
