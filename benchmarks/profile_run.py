"""Where the CPU time of ``opiaxis run`` (the default study) goes, phase by phase.

    PYTHONPATH=src python benchmarks/profile_run.py [--out DIR] [--prof FILE] [-- extra run options]

Runs the CLI command in this process under cProfile with ``time.process_time`` as the clock, so
each phase is charged the CPU seconds of every thread of the process (the Numba kernel runs on
all cores) and the figures hold on a shared, busy machine, where wall time does not. Prints one
line per phase (CPU-s, and the share of the run) and the run's total wall and CPU time. Not a
test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time

# (phase, function name as cProfile records it: file suffix, function); cumulative CPU-s of each
PHASES = [
    ("imports (opiaxis.cli and what it pulls in)", None),
    ("study file -> StudySpec (load_spec, incl. model build)", ("study/kinds.py", "load_spec")),
    ("  model build (default_model)", ("opiaxis/models.py", "default_model")),
    ("compiled model load (compile_model)", ("engine/codegen.py", "compile_model")),
    ("virtual cohort (parameters, covariates)", ("population/__init__.py", "virtual_cohort")),
    ("dose rows (EventTable.for_ids, expanded)", ("dosing/table.py", "expanded")),
    ("ODE kernel (simulate_batch, all threads)", (".py", "simulate_batch")),
    ("tidy results (Results.to_frame)", ("engine/simulate.py", "to_frame")),
    ("  assignment read-outs (Results.get)", ("engine/simulate.py", "get")),
    ("chunk Parquet writes (atomic_parquet)", ("study/store.py", "atomic_parquet")),
    ("merge chunks (stream_merge)", ("study/store.py", "stream_merge")),
    ("endpoints (analyse)", ("study/runner.py", "_endpoints")),
    ("measurements (observe)", ("study/runner.py", "_measurements")),
    ("report (render)", ("report/__init__.py", "render")),
]


def _cumulative(stats: pstats.Stats, where: tuple[str, str]) -> float:
    suffix, name = where
    return sum(v[3] for (file, _, func), v in stats.stats.items() if func == name and file.endswith(suffix))


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/opiaxis-profile-run")
    ap.add_argument("--prof", default=None, help="also write the cProfile data here")
    args, extra = ap.parse_known_args(argv)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    from opiaxis.cli import app
    imports_cpu = time.process_time() - cpu0
    try:
        app(["run", "--out", args.out, "--fresh", *extra], standalone_mode=False)
    finally:
        prof.disable()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    if args.prof:
        prof.dump_stats(args.prof)
    stats = pstats.Stats(prof)
    print(f"\n{'phase':58s} {'CPU-s':>7s} {'share':>6s}")
    for label, where in PHASES:
        s = imports_cpu if where is None else _cumulative(stats, where)
        print(f"{label:58s} {s:7.1f} {100 * s / cpu:5.0f}%")
    print(f"{'total':58s} {cpu:7.1f}   (wall {wall:.1f} s)")


if __name__ == "__main__":
    main(sys.argv[1:])
