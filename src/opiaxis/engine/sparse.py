"""Symbolic sparse LU for the Rosenbrock iteration matrix W = I/(h·γ) − J.

The sparsity of J is known when the model is compiled, so the factorisation is planned once:
a greedy minimum-degree ordering (on the symmetrised pattern) limits fill-in, and the
elimination is written out as a flat list of operations on the nonzeros. The kernel then
factorises and solves by running through those lists — no pivot search, as in the KPP
chemical-kinetics code generator (Damian et al., Comput Chem Eng 2002;26:1567), which W's
dominant diagonal at the step sizes of interest makes safe; a zero pivot makes the solver
retry the step with a smaller h.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class LUPlan:
    n: int
    perm: np.ndarray          # new position k -> original state index
    nnz: int                  # nonzeros of the factors (incl. fill)
    diag: np.ndarray          # position of each (permuted) diagonal entry
    jpos: np.ndarray          # position of each Jacobian entry (in the generated order)
    op_kind: np.ndarray       # 0: a[t] /= a[u] ; 1: a[t] -= a[u] * a[v]
    op_t: np.ndarray
    op_u: np.ndarray
    op_v: np.ndarray
    fw_row: np.ndarray        # forward: y[fw_row] -= a[fw_pos] * y[fw_col]
    fw_pos: np.ndarray
    fw_col: np.ndarray
    bw_row: np.ndarray        # backward: y[bw_row] -= a[bw_pos] * y[bw_col] (then /= diag)
    bw_pos: np.ndarray
    bw_col: np.ndarray
    bw_ptr: np.ndarray        # bw ops of row i (descending order of processing) in bw_ptr[i]:bw_ptr[i+1]


def min_degree_order(n: int, pattern: set[tuple[int, int]]) -> list[int]:
    adj = [set() for _ in range(n)]
    for i, j in pattern:
        if i != j:
            adj[i].add(j)
            adj[j].add(i)
    remaining = set(range(n))
    order = []
    while remaining:
        k = min(remaining, key=lambda v: (len(adj[v]), v))
        order.append(k)
        nb = adj[k]
        for u in nb:  # eliminating k connects its neighbours (fill)
            adj[u] |= nb - {u}
            adj[u].discard(k)
        remaining.discard(k)
        adj[k] = set()
    return order


def plan_lu(n: int, jac_entries: list[tuple[int, int]]) -> LUPlan:
    pattern = set(jac_entries) | {(i, i) for i in range(n)}
    order = min_degree_order(n, pattern)
    inv = {old: new for new, old in enumerate(order)}
    rows: list[set[int]] = [set() for _ in range(n)]
    for i, j in pattern:
        rows[inv[i]].add(inv[j])
    # symbolic IKJ elimination with fill
    for i in range(n):
        done = set()
        while True:
            ks = sorted(k for k in rows[i] if k < i and k not in done)
            if not ks:
                break
            k = ks[0]
            done.add(k)
            rows[i] |= {j for j in rows[k] if j > k}
    pos: dict[tuple[int, int], int] = {}
    for i in range(n):
        for j in sorted(rows[i]):
            pos[(i, j)] = len(pos)
    ops = []
    for i in range(n):
        for k in sorted(j for j in rows[i] if j < i):
            ops.append((0, pos[(i, k)], pos[(k, k)], 0))
            for j in sorted(j for j in rows[k] if j > k):
                ops.append((1, pos[(i, j)], pos[(i, k)], pos[(k, j)]))
    fw = [(i, pos[(i, k)], k) for i in range(n) for k in sorted(j for j in rows[i] if j < i)]
    bw, ptr = [], [0]
    for i in range(n):
        bw += [(i, pos[(i, j)], j) for j in sorted(j for j in rows[i] if j > i)]
        ptr.append(len(bw))
    a = lambda xs, c: np.array([x[c] for x in xs], dtype=np.int64)  # noqa: E731
    return LUPlan(n, np.array(order, np.int64), len(pos), np.array([pos[(k, k)] for k in range(n)], np.int64),
                  np.array([pos[(inv[i], inv[j])] for i, j in jac_entries], np.int64),
                  a(ops, 0), a(ops, 1), a(ops, 2), a(ops, 3),
                  a(fw, 0), a(fw, 1), a(fw, 2), a(bw, 0), a(bw, 1), a(bw, 2), np.array(ptr, np.int64))


def emit_constants(plan: LUPlan) -> str:
    lines = [f"LU_NNZ = {plan.nnz}", f"N_JAC = {len(plan.jpos)}"]
    for name in ("perm", "diag", "jpos", "op_kind", "op_t", "op_u", "op_v", "fw_pos", "fw_col",
                 "bw_pos", "bw_col", "bw_ptr"):
        arr = getattr(plan, name)
        lines.append(f"LU_{name.upper()} = np.array({arr.tolist()!r}, dtype=np.int64)")
    # forward rows are contiguous per row: pointer array
    fptr = np.zeros(plan.n + 1, np.int64)
    for r in plan.fw_row:
        fptr[r + 1] += 1
    lines.append(f"LU_FW_PTR = np.array({np.cumsum(fptr).tolist()!r}, dtype=np.int64)")
    return "\n".join(lines) + "\n"
