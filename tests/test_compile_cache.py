"""The compile cache is keyed deterministically: a new process with another hash seed finds it warm.

Python randomises string hashing per process (PYTHONHASHSEED), and set iteration order follows it.
Anything that reaches the cache key or the generated code through a set would make every new
process (a CLI call, a Dask worker, a test run) pay the cold path again. A warm process does no
SymPy work for its read-outs either (their NumPy functions are cached beside the kernel), and no
``simulate()`` call repeats SymPy work (issue 18).
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import sympy

_SCRIPT = textwrap.dedent("""
    import json, os, sys
    import numpy as np
    import sympy
    from opiaxis.models import build_model
    from opiaxis.engine import simulate
    from opiaxis.engine.codegen import compile_model
    model = build_model(modules=sys.argv[1].split(","))
    mod = compile_model(model)
    P = np.array([p.value for p in model.parameters])[None, :]
    res = simulate(model, P, np.linspace(0.0, 24.0, 7))
    stats = {name: getattr(mod, name).stats for name in ("simulate_batch", "rhs", "jac")}
    sympy_dir, entered = os.path.dirname(sympy.__file__) + os.sep, []
    def watch(frame, event, arg):
        if event == "call" and frame.f_code.co_filename.startswith(sympy_dir):
            entered.append(frame.f_code.co_name)
    sys.setprofile(watch)
    readouts = {a.name: res.get(a.name)[0, -1] for a in model.assignments}
    sys.setprofile(None)
    print(json.dumps({
        "fingerprint": model.fingerprint(),
        "source": open(mod.__file__).read(),
        "misses": {k: int(sum(s.cache_misses.values())) for k, s in stats.items()},
        "hits": {k: int(sum(s.cache_hits.values())) for k, s in stats.items()},
        "x_end": res.states[0, -1].tolist(),
        "readouts": readouts,
        "readout_sympy_calls": len(entered),
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
    assert cold["readout_sympy_calls"] > 0      # the first process made the read-out functions
    assert warm["readout_sympy_calls"] == 0     # the second read them from the cache
    assert list(warm["readouts"]) == list(cold["readouts"])
    np.testing.assert_array_equal(list(warm["readouts"].values()), list(cold["readouts"].values()))


def _sympy_functions_entered(fn):
    """(names of the SymPy functions that ``fn()`` entered, what it returned)."""
    sympy_dir, entered = os.path.dirname(sympy.__file__) + os.sep, []

    def watch(frame, event, arg):
        if event == "call" and frame.f_code.co_filename.startswith(sympy_dir):
            entered.append(frame.f_code.co_name)
    sys.setprofile(watch)
    try:
        out = fn()
    finally:
        sys.setprofile(None)
    return entered, out


def test_simulate_does_no_sympy_work_per_call():
    """Issue 18: a fixed ~0.2 CPU-s per ``simulate()`` call went to re-lambdifying initial states.
    Once a model has run, another call (and the read-outs of its results) touches no SymPy."""
    from opiaxis.engine import simulate
    from opiaxis.model import Module, compose
    mod = Module("warm")
    a0 = mod.parameter("a0", 5.0, "mg", "assumed: test")
    k = mod.parameter("k", 0.3, "1/h", "assumed: test")
    v = mod.parameter("v", 2.0, "L", "assumed: test")
    a = mod.state("amount", "mg", a0)                       # an initial state that is a function of a parameter
    mod.ode(a, -k * a)
    mod.assign("conc", a / v, "mg/L", interface=True)
    model = compose([mod])
    P, times = model.default_parameters()[None], np.linspace(0.0, 4.0, 5)
    simulate(model, P, times).get("conc")                 # once per model: load the kernel, make the functions
    entered, res = _sympy_functions_entered(lambda: simulate(model, P, times))
    assert entered == []
    entered, conc = _sympy_functions_entered(lambda: res.get("conc"))
    assert entered == []
    np.testing.assert_allclose(conc[0], 2.5 * np.exp(-0.3 * times), rtol=1e-5)


def test_fingerprint_of_the_full_model_does_not_depend_on_the_hash_seed():
    code = "from opiaxis.models import default_model; print(default_model().fingerprint())"
    prints = set()
    for seed in ("0", "3", "11"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        env.pop("OPIAXIS_MODULES", None)
        prints.add(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                  timeout=300, check=True).stdout.strip())
    assert len(prints) == 1, prints
