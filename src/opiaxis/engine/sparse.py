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
from typing import NamedTuple

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


# ---------------------------------------------------------------- the plan as levels (JAX backend)

class LevelSchedule(NamedTuple):
    """The Numba kernel's sparse LU plan (``sparse.plan_lu``: minimum-degree ordering, fill, no
    pivoting) regrouped into *levels* of mutually independent operations, padded to rectangles
    (levels × widest level) so that a ``lax.fori_loop`` runs one level per iteration as one
    gather–multiply–scatter over the whole batch. The factors' nonzeros live in a (patients,
    nnz + 2) array; position ``nnz`` is a scratch entry that stays 0 and ``nnz + 1`` holds 1, and
    padding operations read and write only those two (0/1 = 0, 0 − 1·0 = 0)."""

    n: int
    nnz: int
    diag: np.ndarray      # (n,) position of each permuted diagonal entry
    jpos: np.ndarray      # (n_jac,) position of each Jacobian entry
    perm: np.ndarray      # (n,) permuted position k -> state index
    iperm: np.ndarray     # (n,) state index -> permuted position
    div: np.ndarray       # (2, L, .) a[t] /= a[u]: t, u
    upd: np.ndarray       # (3, L, .) a[t] -= a[u]·a[v]: t, u, v (a target may repeat: scatter-add)
    fw: np.ndarray        # (3, Lf, .) y[row] -= a[pos]·y[col]
    bw: np.ndarray        # (3, Lb, .) y[row] -= a[pos]·y[col], then ...
    bw_rows: np.ndarray   # (2, Lb, .) ... y[row] /= a[pos] for the rows finished at that level


def _pad_levels(level: np.ndarray, cols: list[np.ndarray], fill: list[int], n_levels: int) -> np.ndarray:
    """(len(cols), n_levels, widest) int32: column c of the operations of level l (1-based) in
    row l - 1, in their original order, padded with ``fill[c]``."""
    counts = np.bincount(level, minlength=n_levels + 1)[1:]
    width = max(int(counts.max(initial=0)), 1)
    out = np.empty((len(cols), n_levels, width), np.int32)
    for c, f in enumerate(fill):
        out[c] = f
    for lv in range(1, n_levels + 1):
        sel = level == lv
        for c, col in enumerate(cols):
            out[c, lv - 1, :sel.sum()] = col[sel]
    return out


def level_schedule(n: int, rows, cols) -> LevelSchedule:
    """The level schedule of ``plan_lu(n, zip(rows, cols))``.

    Factorisation (the plan's IKJ operation list, in order): a division a[t] /= a[u] may run once
    a[t] and the pivot a[u] are final; an update a[t] -= a[u]·a[v] once a[u] (divided) and a[v]
    (a finished row of U) are final; a[t] is final after its last update or its division. Updates
    of one entry are a sum, so those in one level are scatter-added (their order, and so the
    round-off, may differ from the sequential kernel's). Forward solve: row i at 1 + the deepest
    row it reads (rows that read none are b itself); backward: likewise from the bottom, each row
    divided by its pivot in the level it is finished."""
    plan = plan_lu(n, list(zip(rows, cols)))
    S, ONE = plan.nnz, plan.nnz + 1
    avail = np.zeros(plan.nnz + 2, np.int64)
    lev = np.empty(len(plan.op_kind), np.int64)
    for q, (kind, t, u, v) in enumerate(zip(plan.op_kind, plan.op_t, plan.op_u, plan.op_v)):
        if kind == 0:
            lev[q] = avail[t] = 1 + max(avail[t], avail[u])
        else:
            lev[q] = 1 + max(avail[u], avail[v])
            avail[t] = max(avail[t], lev[q])
    L = int(lev.max(initial=0)) or 1
    d, up = plan.op_kind == 0, plan.op_kind == 1
    div = _pad_levels(np.where(d, lev, 0), [plan.op_t, plan.op_u], [S, ONE], L)
    upd = _pad_levels(np.where(up, lev, 0), [plan.op_t, plan.op_u, plan.op_v], [S, ONE, S], L)
    fl = np.zeros(n, np.int64)
    for r, c in zip(plan.fw_row, plan.fw_col):     # rows in increasing order, columns < row
        fl[r] = max(fl[r], 1 + fl[c])
    bl = np.ones(n, np.int64)
    for i in range(n - 1, -1, -1):
        for q in range(plan.bw_ptr[i], plan.bw_ptr[i + 1]):
            bl[i] = max(bl[i], 1 + bl[plan.bw_col[q]])
    fw = _pad_levels(fl[plan.fw_row], [plan.fw_row, plan.fw_pos, plan.fw_col], [n, S, n], int(fl.max(initial=0)) or 1)
    Lb = int(bl.max(initial=1))
    bw = _pad_levels(bl[plan.bw_row], [plan.bw_row, plan.bw_pos, plan.bw_col], [n, S, n], Lb)
    bw_rows = _pad_levels(bl, [np.arange(n), plan.diag], [n, ONE], Lb)
    return LevelSchedule(n, plan.nnz, plan.diag, plan.jpos, plan.perm, np.argsort(plan.perm), div, upd, fw, bw, bw_rows)
