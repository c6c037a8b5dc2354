"""The level schedule of the sparse LU (engine/sparse.py, used by the JAX backend) checked with numpy
alone, so it runs where JAX is absent: executing the padded levels (scatter-adds for several updates
of one entry in one level) reproduces the sequential plan and numpy's dense solve."""

import numpy as np
import pytest

from opiaxis.engine.sparse import level_schedule, plan_lu


def _factor_levels(sched, jv, ihg):
    a = np.zeros(sched.nnz + 2)
    a[sched.diag] = ihg
    a[sched.nnz + 1] = 1.0
    np.add.at(a, sched.jpos, -jv)
    for lv in range(sched.div.shape[1]):
        t, u = sched.div[:, lv]
        new = a.copy()
        new[t] = a[t] / a[u]          # padding: scratch nnz / 1 = 0, written to the scratch entry
        t, u, v = sched.upd[:, lv]
        np.add.at(new, t, -(a[u] * a[v]))
        a = new
    return a


def _solve_levels(sched, a, b):
    y = np.concatenate([b[sched.perm], [0.0]])
    for lv in range(sched.fw.shape[1]):
        r, p, c = sched.fw[:, lv]
        np.add.at(y, r, -(a[p] * y[c]))
        y[sched.n] = 0.0
    for lv in range(sched.bw.shape[1]):
        r, p, c = sched.bw[:, lv]
        np.add.at(y, r, -(a[p] * y[c]))
        y[sched.n] = 0.0
        rr, dp = sched.bw_rows[:, lv]
        y[rr] = y[rr] / a[dp]
        y[sched.n] = 0.0
    return y[:sched.n][sched.iperm]


def _factor_sequential(plan, jv, ihg):
    a = np.zeros(plan.nnz)
    a[plan.diag] = ihg
    np.add.at(a, plan.jpos, -jv)
    for kind, t, u, v in zip(plan.op_kind, plan.op_t, plan.op_u, plan.op_v):
        if kind == 0:
            a[t] /= a[u]
        else:
            a[t] -= a[u] * a[v]
    return a


@pytest.mark.parametrize("seed", range(8))
def test_levels_reproduce_the_sequential_plan_and_a_dense_solve(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 30))
    pattern = sorted({(i, i) for i in range(n)} | {tuple(int(k) for k in rng.integers(0, n, 2))
                                                    for _ in range(3 * n)})
    rows, cols = [i for i, _ in pattern], [j for _, j in pattern]
    sched, plan = level_schedule(n, rows, cols), plan_lu(n, list(zip(rows, cols)))
    assert sched.div.shape[1] > 1 or n < 5            # a real schedule, not one level
    jv, ihg, b = rng.normal(size=len(pattern)), 3.0 * n, rng.normal(size=n)
    a = _factor_levels(sched, jv, ihg)
    np.testing.assert_allclose(a[:sched.nnz], _factor_sequential(plan, jv, ihg), rtol=1e-12, atol=1e-14)
    assert a[sched.nnz] == 0.0 and a[sched.nnz + 1] == 1.0     # padding read 0/1 and wrote 0
    W = np.eye(n) * ihg
    np.add.at(W, (np.array(rows), np.array(cols)), -jv)
    np.testing.assert_allclose(_solve_levels(sched, a, b), np.linalg.solve(W, b), rtol=1e-10, atol=1e-12)
