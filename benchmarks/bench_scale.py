"""Scale benchmark (not a test): patients per second and peak memory of `run_study` for growing
cohorts and simulated durations, chunked to disk as in production.

    python benchmarks/bench_scale.py                 # 1e3 and 1e4 patients x 30 and 90 days
    python benchmarks/bench_scale.py --sizes 1000 10000 100000 --days 30 365

Each configuration runs in a fresh subprocess so that peak RSS (ru_maxrss) is its own; the
model is compiled once beforehand (cache in ~/.cache/opiaxis), so times exclude compilation.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap

CHILD = r"""
import json, resource, sys, tempfile, time
from opiaxis.models import default_model
from opiaxis.study import parse_study, run_study
from opiaxis.yamlio import load_yaml
n, days, chunk = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
text = f'''
name: scale
seed: 1
population: {{size: {n}}}
schedule: {{duration: {days} d, every: 24 h}}
arms:
  - name: heroin then buprenorphine
    regimens:
      - heroin 25 mg IV q6h for 14 d
      - buprenorphine 16 mg SL q24h for {max(days - 15, 1)} d from day 16
  - name: methadone
    regimens: [methadone 80 mg oral daily for {days} d]
outputs: [mor_occupancy_central, buprenorphine_plasma, methadone_plasma]
'''
model = default_model()
s = parse_study(load_yaml(text, "<bench>"), model, "<bench>")
with tempfile.TemporaryDirectory() as d:
    t = time.perf_counter()
    res = run_study(s, model, d, chunk_size=chunk)
    wall = time.perf_counter() - t
print(json.dumps({"patients": n, "days": days, "wall_s": wall, "solver_s": res.solver_seconds,
                  "patients_per_s": n / wall, "patient_years_per_s": n * days / 365 / wall,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "failed": res.failed}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--days", type=int, nargs="+", default=[30, 90])
    ap.add_argument("--chunk", type=int, default=2000)
    a = ap.parse_args()
    subprocess.run([sys.executable, "-c", CHILD, "10", "2", "10"], check=True, capture_output=True)  # compile once
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'patients':>9} {'days':>5} {'wall s':>8} {'patients/s':>11} {'pt-years/s':>11} {'peak RSS MB':>12}")
    rows = []
    for days in a.days:
        for n in a.sizes:
            out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(days), str(a.chunk)], check=True,
                                 capture_output=True, text=True).stdout.strip().splitlines()[-1]
            r = json.loads(out)
            rows.append(r)
            print(f"{n:>9} {days:>5} {r['wall_s']:>8.1f} {r['patients_per_s']:>11.1f} {r['patient_years_per_s']:>11.2f} "
                  f"{r['peak_rss_mb']:>12.0f}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
