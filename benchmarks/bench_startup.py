"""Cold and warm start of the default model, each in a fresh process (issue 18).

    PYTHONPATH=src python benchmarks/bench_startup.py [--cache DIR]

1. cold: an empty compile cache (``OPIAXIS_CACHE``), ``PYTHONHASHSEED=1``: imports, model build,
   code generation, Numba compile, one patient for 24 h, and the read-outs of the default study;
2. warm: the same cache, another hash seed (``PYTHONHASHSEED=2``): the same steps, which should
   load the generated code, Numba's cache and the read-out functions (0 recompiles).

Prints wall and CPU seconds of each phase in each process (CPU is the figure that holds on a
shared machine) and the Numba cache misses of the warm process. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap

_CHILD = textwrap.dedent("""
    import json, time
    t = {"wall": time.perf_counter(), "cpu": time.process_time()}
    phases = []
    def tick(name):
        w, c = time.perf_counter(), time.process_time()
        phases.append((name, w - t["wall"], c - t["cpu"]))
        t["wall"], t["cpu"] = w, c
    import numpy as np
    from opiaxis.models import default_model
    from opiaxis.engine import simulate
    from opiaxis.engine.codegen import compile_model
    from opiaxis.study import load_spec
    tick("imports")
    model = default_model()
    model.fingerprint()
    tick("model build (SymPy) and fingerprint")
    mod = compile_model(model)
    tick("generated code: written (cold) or read (warm)")
    res = simulate(model, model.default_parameters()[None], np.linspace(0.0, 24.0, 25))
    tick("first simulate(): Numba compile (cold) or cache load (warm), 1 patient x 24 h")
    outputs = load_spec(None, None).outputs
    tick("the default study's outputs (load_spec)")
    for v in outputs:
        res.get(v)
    tick("read-outs of those outputs (Results.get)")
    stats = {n: getattr(mod, n).stats for n in ("simulate_batch", "rhs", "jac")}
    print(json.dumps({"phases": phases,
                      "misses": sum(int(sum(s.cache_misses.values())) for s in stats.values())}))
""")


def _run(cache: str, hash_seed: str) -> dict:
    env = dict(os.environ, OPIAXIS_CACHE=cache, PYTHONHASHSEED=hash_seed)
    env.pop("OPIAXIS_MODULES", None)
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=None, help="cache folder (default: a new empty temporary one)")
    args = ap.parse_args(argv)
    cache = args.cache or tempfile.mkdtemp(prefix="opiaxis-cache-")
    for label, seed in (("cold (empty cache, PYTHONHASHSEED=1)", "1"), ("warm (PYTHONHASHSEED=2)", "2")):
        r = _run(cache, seed)
        print(f"\n{label}: Numba cache misses {r['misses']}")
        print(f"  {'phase':78s} {'wall s':>7s} {'CPU s':>7s}")
        for name, wall, cpu in r["phases"]:
            print(f"  {name:78s} {wall:7.1f} {cpu:7.1f}")
        print(f"  {'total':78s} {sum(p[1] for p in r['phases']):7.1f} {sum(p[2] for p in r['phases']):7.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
