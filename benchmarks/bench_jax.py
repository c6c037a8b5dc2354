"""JAX backend vs the Numba engine (not a test): patient-days per second and agreement.

    python benchmarks/bench_jax.py                                   # 1e2 and 1e3 patients, both models
    python benchmarks/bench_jax.py --sizes 100 --models pk,receptors --json benchmarks/results/jax.json

Same cohort for both (``sample_parameters``, seed 2026), heroin 25 mg IV q6h for the whole
simulated time (default 30 days: 120 doses per patient), rtol 1e-6 / atol 1e-9, read-outs every
24 h. Times exclude compilation (Numba: cached on disk and warmed on 2 patients first; JAX: the
compile of the first call for each batch shape is reported separately). CPU seconds (all threads
of this process) are printed beside wall seconds because on a shared machine the wall clock
measures the neighbours too. Agreement: max relative difference over all states, times and
patients, with a floor of 1e-6 of each state's peak, over the states Numba moves beyond atol;
the others must stay within atol of 0.

On a GPU: ``pip install "jax[cuda12]"`` (NVIDIA, CUDA 12), then run this script; the first line
says which device JAX uses.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--models", nargs="+", default=["pk,receptors", "all"],
                    help="comma-separated module lists, or 'all' for the default model")
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--every", type=float, default=24.0, help="read-out interval (h)")
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--atol", type=float, default=1e-9)
    ap.add_argument("--jacobian", default="sympy", choices=["sympy", "jacfwd"])
    ap.add_argument("--linear-solver", default="sparse,dense",
                    help="comma-separated JAX linear solvers to run, each compiled and timed apart: sparse (levels "
                         "unrolled), sparse-loop (levels in a fori_loop), dense (pivoted LU)")
    ap.add_argument("--skip-numba-above", type=int, default=None,
                    help="run Numba only for cohorts up to this size (agreement is then on those)")
    ap.add_argument("--jax-cache", default="opiaxis",
                    help="JAX's persistent compile cache: 'opiaxis' (under the opiaxis cache directory) or "
                         "'none' (every compile is measured cold)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    solvers = [x for x in a.linear_solver.split(",") if x]
    from opiaxis.engine.jax_backend import LINEAR_SOLVERS
    if not solvers or set(solvers) - set(LINEAR_SOLVERS):
        ap.error(f"--linear-solver: sparse, sparse-loop and/or dense, not {a.linear_solver!r}")

    import jax
    import numba

    from opiaxis.engine.codegen import cache_dir
    from opiaxis.engine.jax_backend import last_timing, max_relative_difference, simulate_jax
    from opiaxis.engine.simulate import SolverOptions, simulate
    from opiaxis.models import build_model, default_model
    from opiaxis.population import sample_parameters
    from opiaxis.study import regimen_doses

    t_start = time.perf_counter()
    if a.jax_cache == "opiaxis":
        jax.config.update("jax_compilation_cache_dir", str(cache_dir() / "jax"))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    dev = jax.devices()[0]
    print(f"JAX {jax.__version__} on {dev.platform}: {dev.device_kind} ({len(jax.devices())} device(s)); "
          f"numba {numba.__version__}; {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    opts = SolverOptions(rtol=a.rtol, atol=a.atol)
    times = np.arange(0.0, a.days * 24.0 + 1e-9, a.every)
    regimen = [f"heroin 25 mg IV q6h for {a.days:g} d"]
    rows = []
    hdr = (f"{'model':>13} {'states':>6} {'patients':>8} {'backend':>15} {'wall s':>8} {'cpu s':>8} "
           f"{'pt-days/s':>10} {'compile s':>9} {'steps/pt':>8} {'failed':>6} {'max rel diff':>12} {'at s':>6}")
    print(hdr)
    for spec in a.models:
        model = default_model() if spec == "all" else build_model(modules=spec.split(","))
        print(f"[{time.perf_counter() - t_start:.0f} s] model {spec} built", flush=True)
        warm = sample_parameters(model, [1, 2], seed=1)
        simulate(model, warm, times[:3], regimen_doses(model, [1, 2], regimen), options=opts)  # Numba compile/load
        print(f"[{time.perf_counter() - t_start:.0f} s] Numba kernel compiled or loaded", flush=True)
        for n in a.sizes:
            ids = np.arange(1, n + 1)
            P = sample_parameters(model, ids, seed=2026)
            doses = regimen_doses(model, ids, regimen)
            ref = None
            if a.skip_numba_above is None or n <= a.skip_numba_above:
                c0 = time.process_time()
                ref = simulate(model, P, times, doses, ids=ids, options=opts)
                cpu = time.process_time() - c0
                rows.append({"model": spec, "states": len(model.states), "patients": n, "backend": "numba",
                             "wall_s": ref.wall_seconds, "cpu_s": cpu, "compile_s": 0.0,
                             "patient_days_per_s": n * a.days / ref.wall_seconds,
                             "steps_per_patient": float(ref.stats[:, 0].mean()), "failed": int(ref.failed.sum()),
                             "max_rel_diff": None})
                rows[-1]["elapsed_s"] = time.perf_counter() - t_start
                _print(rows[-1])
                _dump(a, jax, dev, numba, rows)
            for ls in solvers:
                res = simulate_jax(model, P, times, doses, ids=ids, options=opts, jacobian=a.jacobian,
                                   linear_solver=ls)
                t = last_timing()
                diff = max_relative_difference(ref.states, res.states, a.atol) if ref is not None else None
                rows.append({"model": spec, "states": len(model.states), "patients": n, "backend": f"jax-{ls}",
                             "linear_solver": ls, "device": t["device"], "jacobian": a.jacobian,
                             "wall_s": t["solve_seconds"], "cpu_s": t["solve_cpu_seconds"],
                             "compile_s": t["compile_seconds"], "compile_cpu_s": t["compile_cpu_seconds"],
                             "patient_days_per_s": n * a.days / t["solve_seconds"],
                             "steps_per_patient": float(res.stats[:, 0].mean()), "failed": int(res.failed.sum()),
                             "max_rel_diff": diff})
                rows[-1]["elapsed_s"] = time.perf_counter() - t_start
                _print(rows[-1])
                _dump(a, jax, dev, numba, rows)


def _dump(a, jax, dev, numba, rows) -> None:
    """The rows so far, as JSON (written as it goes: a long run that is stopped still leaves its numbers)."""
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"jax": jax.__version__, "device": str(dev), "numba": numba.__version__,
                       "cores": os.cpu_count(), "days": a.days, "rtol": a.rtol, "atol": a.atol,
                       "linear_solvers": a.linear_solver, "rows": rows}, fh, indent=1)


def _print(r: dict) -> None:
    d = r["max_rel_diff"]
    print(f"{r['model']:>13} {r['states']:>6} {r['patients']:>8} {r['backend']:>15} {r['wall_s']:>8.2f} "
          f"{r['cpu_s']:>8.2f} {r['patient_days_per_s']:>10.1f} {r['compile_s']:>9.1f} "
          f"{r['steps_per_patient']:>8.0f} {r['failed']:>6} {('' if d is None else f'{d:.1e}'):>12} {r['elapsed_s']:>6.0f}", flush=True)


if __name__ == "__main__":
    main()
