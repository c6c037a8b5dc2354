"""The compile cache is keyed deterministically: a new process with another hash seed finds it warm.

Python randomises string hashing per process (PYTHONHASHSEED), and set iteration order follows it.
Anything that reaches the cache key or the generated code through a set would make every new
process (a CLI call, a Dask worker, a test run) pay the cold path again.
"""
import json
import os
import subprocess
import sys
import textwrap

_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from opiaxis.models import build_model
    from opiaxis.engine import simulate
    from opiaxis.engine.codegen import compile_model
    model = build_model(modules=sys.argv[1].split(","))
    mod = compile_model(model)
    P = np.array([p.value for p in model.parameters])[None, :]
    res = simulate(model, P, np.linspace(0.0, 24.0, 7))
    stats = {name: getattr(mod, name).stats for name in ("simulate_batch", "rhs", "jac")}
    print(json.dumps({
        "fingerprint": model.fingerprint(),
        "source": open(mod.__file__).read(),
        "misses": {k: int(sum(s.cache_misses.values())) for k, s in stats.items()},
        "hits": {k: int(sum(s.cache_hits.values())) for k, s in stats.items()},
        "x_end": res.states[0, -1].tolist(),
    }))
""")


def _run(hash_seed: str, cache, modules: str) -> dict:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed, OPIAXIS_CACHE=str(cache))
    env.pop("OPIAXIS_MODULES", None)
    out = subprocess.run([sys.executable, "-c", _SCRIPT, modules], env=env, capture_output=True,
                         text=True, timeout=900, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_second_process_with_another_hash_seed_finds_the_cache_warm(tmp_path):
    modules = "pk,receptors,adaptation"
    cold = _run("1", tmp_path, modules)
    assert sum(cold["misses"].values()) > 0  # the first process compiled
    generated = sorted(p.name for p in tmp_path.glob("*.py"))
    warm = _run("2", tmp_path, modules)
    assert warm["fingerprint"] == cold["fingerprint"]
    assert warm["source"] == cold["source"]
    assert sorted(p.name for p in tmp_path.glob("*.py")) == generated  # no new generated file
    assert warm["misses"] == {"simulate_batch": 0, "rhs": 0, "jac": 0}  # Numba loaded, did not recompile
    assert warm["hits"]["simulate_batch"] >= 1
    assert warm["x_end"] == cold["x_end"]


def test_fingerprint_of_the_full_model_does_not_depend_on_the_hash_seed():
    code = "from opiaxis.models import default_model; print(default_model().fingerprint())"
    prints = set()
    for seed in ("0", "3", "11"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        env.pop("OPIAXIS_MODULES", None)
        prints.add(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                  timeout=300, check=True).stdout.strip())
    assert len(prints) == 1, prints
