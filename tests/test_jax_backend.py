"""The JAX backend against the Numba engine: same method, same events, same answers.

Skipped where JAX is not installed (it is an optional extra: ``pip install "opiaxis[jax]"``).
Compiled JAX programs are kept in the opiaxis cache directory, so only the first run of this
file pays for XLA compilation (minutes for the full model on two cores).
"""
import numpy as np
import pandas as pd
import pytest

jax = pytest.importorskip("jax")

from opiaxis.engine.codegen import cache_dir, compile_model  # noqa: E402
from opiaxis.engine.jax_backend import max_relative_difference, simulate_jax  # noqa: E402
from opiaxis.engine.simulate import SolverOptions, simulate  # noqa: E402
from opiaxis.errors import OpiaxisInputError  # noqa: E402
from opiaxis.models import build_model  # noqa: E402
from opiaxis.population import sample_parameters  # noqa: E402
from opiaxis.study import regimen_doses  # noqa: E402

jax.config.update("jax_compilation_cache_dir", str(cache_dir() / "jax"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)

TIGHT = SolverOptions(rtol=1e-8, atol=1e-12)


@pytest.fixture(scope="module")
def pk_receptors():
    return build_model(modules=["pk", "receptors"])


@pytest.fixture(scope="module")
def cohort(pk_receptors):
    """Four patients, each with a different kind of event."""
    ids = np.arange(1, 5)
    P = sample_parameters(pk_receptors, ids, seed=3)
    doses = pd.DataFrame({
        "ID":   [1, 1, 2, 2, 3, 4, 4, 4],
        "TIME": [0.0, 6.0, 1.3, 13.3, 2.0, 0.0, 5.0, 9.7],
        "EVID": [1, 1, 1, 1, 1, 1, 3, 1],
        "AMT":  [10.0, 10.0, 20.0, 20.0, 5.0, 10.0, 0.0, 4.0],
        "CMT":  ["heroin.iv", "heroin.iv",              # IV boluses
                 "oxycodone.oral", "oxycodone.oral",    # oral: lag time and F
                 "fentanyl.iv",                         # an infusion (2.5 h)
                 "morphine.iv", "morphine.iv", "morphine.iv"],  # bolus, reset, bolus
        "RATE": [0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0],
    })
    return P, ids, doses, np.linspace(0.0, 24.0, 97)


def test_rodas4_coefficients_are_the_kernels(pk_receptors):
    from opiaxis.engine import jax_backend as jb
    mod = compile_model(pk_receptors)
    assert jb.GAMMA == mod._GAMMA
    np.testing.assert_array_equal(jb.A, mod._A)
    np.testing.assert_array_equal(jb.C, mod._C)
    np.testing.assert_array_equal(jb.M, mod._M)


SOLVERS = ["sparse", "sparse-loop", "dense"]
FULL_SOLVERS = ["sparse", "dense"]   # sparse-loop: the same arithmetic as sparse, checked on pk_runs


@pytest.fixture(scope="module")
def pk_runs(pk_receptors, cohort):
    """The cohort with Numba and with each JAX linear solver (each compiled once)."""
    P, ids, doses, times = cohort
    out = {"numba": simulate(pk_receptors, P, times, doses, ids=ids, options=TIGHT)}
    for ls in SOLVERS:
        out[ls] = simulate_jax(pk_receptors, P, times, doses, ids=ids, options=TIGHT, linear_solver=ls)
    return out


@pytest.mark.parametrize("linear_solver", SOLVERS)
def test_agrees_with_numba_on_bolus_oral_infusion_and_reset(pk_receptors, cohort, pk_runs, linear_solver):
    P, ids, doses, times = cohort
    ref, res = pk_runs["numba"], pk_runs[linear_solver]
    assert (res.stats[:, 2] == 0).all()
    assert res.states.shape == ref.states.shape and (res.ids == ref.ids).all()
    assert max_relative_difference(ref.states, res.states, TIGHT.atol) <= 1e-5
    # the events are where they should be: the oxycodone dose arrives after its lag, the reset
    # empties morphine's central compartment until the next dose
    oxy = res.get("oxycodone_depot_oral")[1]
    lag = P[1, pk_receptors.param_index["oxycodone_oral_lag"]]
    assert (oxy[times < 1.3 + lag] == 0).all() and oxy[times >= 1.3 + lag][0] > 0
    mor = res.get("morphine_central")[3]
    assert (np.abs(mor[(times >= 5.0) & (times < 9.7)]) <= TIGHT.atol).all()
    # same method, same error control: step counts agree closely
    np.testing.assert_allclose(res.stats[:, 0], ref.stats[:, 0], rtol=0.05, atol=5)


@pytest.mark.parametrize("linear_solver", SOLVERS)
def test_failure_status_and_nan_outputs_match_numba(pk_receptors, cohort, linear_solver):
    P, ids, doses, times = cohort
    few = SolverOptions(rtol=TIGHT.rtol, atol=TIGHT.atol, max_steps=500)
    ref = simulate(pk_receptors, P, times, doses, ids=ids, options=few)
    res = simulate_jax(pk_receptors, P, times, doses, ids=ids, options=few, linear_solver=linear_solver)
    assert ref.failed.any()
    np.testing.assert_array_equal(res.stats[:, 2], ref.stats[:, 2])
    np.testing.assert_array_equal(np.isnan(res.states), np.isnan(ref.states))


def test_sparse_and_dense_agree(pk_runs):
    """Same steps; the two factorisations differ only in round-off; the unrolled and the looped
    level schedules do the same arithmetic in the same order."""
    sparse, dense = pk_runs["sparse"], pk_runs["dense"]
    np.testing.assert_array_equal(sparse.stats, dense.stats)
    assert max_relative_difference(dense.states, sparse.states, TIGHT.atol) <= 1e-6
    # the same operations in the same order: identical on a CPU; a GPU scatter-adds in no fixed order
    np.testing.assert_allclose(pk_runs["sparse-loop"].states, sparse.states, rtol=1e-13, atol=1e-15)


@pytest.fixture(scope="module")
def full_runs(model):
    """Two patients of the full model, 3 days: heroin IV q6h and buprenorphine SL daily, with Numba
    and each JAX linear solver (the full model's compile, ~40 CPU-s each, is this file's cost)."""
    ids = np.array([1, 2])
    P = sample_parameters(model, ids, seed=11)
    doses = pd.concat([regimen_doses(model, [1], ["heroin 25 mg IV q6h for 3 d"]),
                       regimen_doses(model, [2], ["buprenorphine 16 mg SL q24h for 3 d"])], ignore_index=True)
    times = np.linspace(0.0, 72.0, 73)
    out = {"numba": simulate(model, P, times, doses, ids=ids, options=TIGHT)}
    for ls in FULL_SOLVERS:
        out[ls] = simulate_jax(model, P, times, doses, ids=ids, options=TIGHT, linear_solver=ls)
    return out


@pytest.mark.parametrize("linear_solver", FULL_SOLVERS)
def test_agrees_with_numba_on_the_full_model(full_runs, linear_solver):
    ref, res = full_runs["numba"], full_runs[linear_solver]
    assert (res.stats[:, 2] == 0).all()
    assert max_relative_difference(ref.states, res.states, TIGHT.atol) <= 1e-5
    np.testing.assert_allclose(res.get("mor_occupancy_central"), ref.get("mor_occupancy_central"), rtol=1e-5, atol=1e-9)


def test_sparse_and_dense_agree_on_the_full_model(full_runs):
    assert max_relative_difference(full_runs["dense"].states, full_runs["sparse"].states, TIGHT.atol) <= 1e-6


@pytest.mark.parametrize("unroll", [False, True])
def test_level_schedule_solves_and_flags_a_zero_pivot(unroll):
    """The level-scheduled sparse LU against numpy on a random sparse W, and a zero or NaN pivot
    reported as a failed factorisation (the step is then retried with h/2)."""
    from opiaxis.engine.jax_backend import sparse_lu_functions
    from opiaxis.engine.sparse import level_schedule
    rng = np.random.default_rng(5)
    n = 12
    pattern = sorted({(i, i) for i in range(n)} | {tuple(rng.integers(0, n, 2)) for _ in range(30)})
    rows, cols = [i for i, _ in pattern], [j for _, j in pattern]
    factor, solve = sparse_lu_functions(level_schedule(n, rows, cols), unroll=unroll)
    with jax.enable_x64(True):
        jv = rng.normal(size=(3, len(pattern)))
        ihg = np.array([20.0, 20.0, 20.0])
        jv[1] = [20.0 if i == j == 4 else 0.0 for i, j in pattern]   # patient 1: W diagonal, W[4, 4] = 0
        jv[2, 0] = np.nan                      # patient 2: a NaN in J entry 0, i.e. the (0, 0) pivot
        a, ok = factor(jv, ihg)
        b = rng.normal(size=(3, n))
        x = np.asarray(solve(a, b))
    W = np.eye(n) * 20.0
    W[rows, cols] -= jv[0]
    np.testing.assert_allclose(x[0], np.linalg.solve(W, b[0]), rtol=1e-10, atol=1e-12)
    assert np.asarray(ok).tolist() == [True, False, False]


def _same_error(call_a, call_b, kind):
    with pytest.raises(kind) as ea:
        call_a()
    with pytest.raises(kind) as eb:
        call_b()
    assert str(ea.value) == str(eb.value)
    return str(eb.value)


@pytest.mark.parametrize("case", ["unknown cmt", "unknown patient", "unsorted times", "times before t0",
                                  "parameter columns"])
def test_bad_input_gives_the_same_error_as_simulate(pk_receptors, cohort, case):
    P, ids, doses, times = cohort
    kind = OpiaxisInputError
    if case == "unknown cmt":
        doses = doses.assign(CMT=doses.CMT.replace("heroin.iv", "heroin.intravenous"))
    elif case == "unknown patient":
        doses = doses.assign(ID=doses.ID.replace(4, 99))
    elif case == "unsorted times":
        times = times[::-1]
    elif case == "times before t0":
        times = times - 1.0
    else:
        P, kind = P[:, :-1], ValueError
    msg = _same_error(lambda: simulate(pk_receptors, P, times, doses, ids=ids),
                      lambda: simulate_jax(pk_receptors, P, times, doses, ids=ids), kind)
    expected = {"unknown cmt": "unknown dosing compartment 'heroin.intravenous'",
                "unknown patient": "not in the cohort", "unsorted times": "sorted",
                "times before t0": "before the start time", "parameter columns": "expected (patients,"}[case]
    assert expected in msg


def test_unknown_jacobian_option_is_refused(pk_receptors, cohort):
    P, ids, doses, times = cohort
    with pytest.raises(ValueError, match="jacobian"):
        simulate_jax(pk_receptors, P, times, doses, ids=ids, jacobian="finite differences")
    with pytest.raises(ValueError, match="linear_solver"):
        simulate_jax(pk_receptors, P, times, doses, ids=ids, linear_solver="cholesky")


def test_simulate_dispatches_to_jax(pk_receptors, cohort):
    P, ids, doses, times = cohort
    a = simulate(pk_receptors, P[:1], times[:9], doses[doses.ID == 1], ids=ids[:1], options=TIGHT, backend="jax")
    b = simulate_jax(pk_receptors, P[:1], times[:9], doses[doses.ID == 1], ids=ids[:1], options=TIGHT)
    np.testing.assert_array_equal(a.states, b.states)
