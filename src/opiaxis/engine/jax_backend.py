"""A JAX backend of the engine, for running large cohorts on a GPU (issue 8).

:func:`simulate_jax` takes the arguments of :func:`opiaxis.engine.simulate.simulate` and returns
the same :class:`~opiaxis.engine.simulate.Results`; the event arrays (doses with lag and F,
infusion start/stop, resets, their order) are built by ``simulate.py``'s own helper, so both
backends read a dose table identically.

The method is the Numba kernel's, transcribed to array code: the six-stage, L-stable, stiffly
accurate Rosenbrock method of order 4(3) "RODAS4" of

    Hairer E, Wanner G. Solving Ordinary Differential Equations II: Stiff and Differential-
    Algebraic Problems, 2nd ed. Springer 1996, Section IV.7 (coefficient set "RODAS4", written,
    as in kernel.py, in the form  (I/(h*gamma) - J) K_i = f(y + sum_j A_ij K_j) + sum_j C_ij/h K_j,
    y_new = y + sum_i M_i K_i, error estimate K_6),

with the same step-size control, the same event handling (a dose lands exactly at its time: the
step ends there and the integration restarts from the new state) and the same cubic Hermite
output between steps. The coefficients are the ones in ``kernel.py`` (a test checks that the two
tables agree).

How it maps to a GPU: every patient runs the same loop, so the loop is written once over the
whole batch — arrays of shape (patients, ...), one ``lax.while_loop`` whose iteration makes one
step attempt for every patient still running, each with its own step size, event pointer and
output pointer; patients that are finished or waiting are masked. (``vmap`` of a per-patient
while loop would do the same but select over the whole output buffer at every iteration.) The
right-hand side and the analytic sparse Jacobian are generated from the model's SymPy equations,
``vmap``-ed over patients; the iteration matrix is factorised, by default, with the Numba
kernel's own sparse LU plan (``sparse.plan_lu``: ordering, fill, no pivoting) regrouped into
levels of independent operations, each level one gather–multiply–scatter over the batch
(:func:`level_schedule`); ``linear_solver="dense"`` factorises the dense matrix with partial
pivoting (``jax.scipy.linalg.lu_factor``).

Arithmetic is float64 (``jax.enable_x64`` around tracing and running only, so the rest of a
user's JAX session keeps its own setting). Non-integer powers keep the engine's guarded
semantics: ``b**e`` is 0 for ``b <= 0`` (see ``codegen.SPow``).

JAX is an optional dependency (``pip install "opiaxis[jax]"``); nothing imports this module
unless asked to.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import sympy as sp

try:
    import jax
    import jax.numpy as jnp
    from jax import lax
    from jax.scipy.linalg import lu_factor, lu_solve
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError('the JAX backend needs JAX: pip install "opiaxis[jax]" '
                      '(for an NVIDIA GPU: pip install "jax[cuda12]")') from exc
from sympy.printing.numpy import JaxPrinter

from ..errors import OpiaxisInputError
from ..model.core import Model
from .codegen import _guard_powers
from .sparse import LevelSchedule, level_schedule  # noqa: F401 - level_schedule re-exported for callers
from .simulate import EV_BOLUS, EV_RATE, EV_RESET, H_MIN_ULPS, Results, SolverOptions, event_arrays

__all__ = ["simulate_jax", "last_timing", "LINEAR_SOLVERS", "max_relative_difference"]

LINEAR_SOLVERS = ("sparse", "sparse-loop", "dense")


# RODAS4 (Hairer & Wanner 1996, Section IV.7), in the W-transformed form above: the numbers of
# the Numba kernel, which tests/test_jax_backend.py checks against the compiled kernel's own.
GAMMA = 0.25
A = np.array([
    [0.0, 0.0, 0.0, 0.0, 0.0],
    [1.544, 0.0, 0.0, 0.0, 0.0],
    [0.9466785280815826, 0.2557011698983284, 0.0, 0.0, 0.0],
    [3.314825187068521, 2.896124015972201, 0.9986419139977817, 0.0, 0.0],
    [1.221224509226641, 6.019134481288629, 12.53708332932087, -0.687886036105895, 0.0],
    [1.221224509226641, 6.019134481288629, 12.53708332932087, -0.687886036105895, 1.0],
])
C = np.array([
    [0.0, 0.0, 0.0, 0.0, 0.0],
    [-5.6688, 0.0, 0.0, 0.0, 0.0],
    [-2.430093356833875, -0.2063599157091915, 0.0, 0.0, 0.0],
    [-0.1073529058151375, -9.594562251023355, -20.47028614809616, 0.0, 0.0],
    [7.496443313967647, -10.24680431464352, -33.99990352819905, 11.7089089320616, 0.0],
    [8.083246795921522, -7.981132988064893, -31.52159432874371, 16.31930543123136, -6.058818238834054],
])
M = np.array([1.221224509226641, 6.019134481288629, 12.53708332932087, -0.687886036105895, 1.0, 1.0])


# --------------------------------------------------------------------------- code generation

class _Printer(JaxPrinter):
    """jax.numpy printer with the engine's guarded non-integer powers."""

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.args
        if exp.is_Integer:
            e = int(exp)
            b = self.parenthesize(base, 100)
            if e == 1:
                return b
            if e == -1:
                return f"(1.0/{b})"
            if 0 < e <= 4:
                return "(" + "*".join([b] * e) + ")"
            if -4 <= e < 0:
                return "(1.0/(" + "*".join([b] * (-e)) + "))"
            return f"{b}**{e}"
        return f"_spow({self._print(base)}, {self._print(exp)})"

    def _print_SPow(self, expr):
        return f"_spow({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_Heaviside(self, expr):
        # H(0) = 1/2, as SymPy and the Numba printer define it
        z = self._print(expr.args[0])
        return f"jnp.where({z} < 0, 0.0, jnp.where({z} == 0, 0.5, 1.0))"

    def _print_Max(self, expr):
        args = [self._print(a) for a in expr.args]
        out = args[0]
        for a in args[1:]:
            out = f"jnp.maximum({out}, {a})"
        return out

    def _print_Min(self, expr):
        args = [self._print(a) for a in expr.args]
        out = args[0]
        for a in args[1:]:
            out = f"jnp.minimum({out}, {a})"
        return out


def _spow(b, e):
    """``b**e`` for b > 0, else 0 — with a safe base in the untaken branch so that neither the
    value nor a forward-mode derivative picks up a NaN."""
    pos = b > 0
    return jnp.where(pos, jnp.where(pos, b, 1.0) ** e, 0.0)


def generate_jax_source(model: Model) -> str:
    """Python source of ``rhs(x, p, r)`` and ``jac(x, p)`` (dense (n, n) from the analytic sparse
    entries), one patient each, in jax.numpy."""
    xs = [s.symbol for s in model.states]
    ps = [p.symbol for p in model.parameters]
    # generated local names: x_<i>, p_<k> (model names could shadow jnp, jax, ...)
    ren = {s: sp.Symbol(f"x_{i}", real=True) for i, s in enumerate(xs)}
    ren.update({s: sp.Symbol(f"p_{k}", real=True) for k, s in enumerate(ps)})
    odes = model.substituted_odes()
    f = [_guard_powers(odes[s.name]).xreplace(ren) for s in model.states]
    xr = [ren[s] for s in xs]
    entries = []
    for i, fi in enumerate(f):
        syms = fi.free_symbols
        for j, xj in enumerate(xr):
            if xj in syms:
                d = sp.diff(fi, xj)
                if d != 0:
                    entries.append((i, j, d))
    pr = _Printer({"fully_qualified_modules": True, "standard": "python3"})
    n = len(xs)

    def function(name, args, exprs, tail):
        used = set().union(*[e.free_symbols for e in exprs]) if exprs else set()
        lines = [f"def {name}({args}):"]
        lines += [f"    x_{i} = x[{i}]" for i in range(n) if sp.Symbol(f"x_{i}", real=True) in used]
        lines += [f"    p_{k} = p[{k}]" for k in range(len(ps)) if sp.Symbol(f"p_{k}", real=True) in used]
        # plain CSE, as codegen.py: the "basic" optimisations cost most of the generation time
        # (the full model: minutes of sympy) for a few percent of run time
        repl, red = sp.cse(exprs, symbols=sp.numbered_symbols("_c"))
        lines += [f"    {s} = {pr.doprint(e)}" for s, e in repl]
        # constants are broadcast to the dtype of x so that stack sees arrays only
        lines += ["    _z = jnp.zeros_like(x[0])"]
        lines += ["    _v = jnp.stack([" + ", ".join(f"_z + ({pr.doprint(e)})" for e in red) + "])"]
        lines += tail
        return lines

    rows = ", ".join(str(i) for i, _, _ in entries)
    cols = ", ".join(str(j) for _, j, _ in entries)
    src = [f"# Generated by opiaxis.engine.jax_backend for model {model.name!r}. Do not edit.", "",
           f"JAC_ROWS = [{rows}]", f"JAC_COLS = [{cols}]", ""]
    src += function("rhs", "x, p, r", f, ["    return _v + r"])
    src += [""]
    if entries:
        src += function("jac_values", "x, p", [d for _, _, d in entries], ["    return _v"])
        src += ["", "def jac(x, p):",
                f"    return jnp.zeros(({n}, {n}), x.dtype).at[jnp.array(JAC_ROWS), jnp.array(JAC_COLS)].set(jac_values(x, p))"]
    else:
        src += ["def jac_values(x, p):", "    return jnp.zeros((0,), x.dtype)", "",
                "def jac(x, p):", f"    return jnp.zeros(({n}, {n}), x.dtype)"]
    return "\n".join(src) + "\n"


_functions: dict[str, tuple] = {}


class ModelFunctions(NamedTuple):
    """A model's generated per-patient JAX functions and its Jacobian's sparsity (entry k of
    ``jac_values`` is d f[rows[k]] / d x[cols[k]], in the Numba code generator's order)."""

    rhs: Callable         # (x, p, r) -> dx/dt
    jac: Callable         # (x, p) -> dense (n, n)
    jac_values: Callable  # (x, p) -> (nnz,)
    rows: tuple
    cols: tuple


def _cached_source(model: Model, key: str) -> str:
    """The generated source, kept in the opiaxis cache directory (keyed by the model's
    fingerprint and the generator's text: :func:`generate_jax_source`, the printer and the
    guarded power): generating it for the full model is tens of CPU-seconds of SymPy."""
    import hashlib
    import inspect
    import os

    from .codegen import cache_dir
    gen = "".join(inspect.getsource(f) for f in (generate_jax_source, _Printer, _spow, _guard_powers))
    path = cache_dir() / f"jax_{key}_{hashlib.sha256(gen.encode()).hexdigest()[:8]}.py"
    if path.exists():
        return path.read_text(encoding="utf-8")
    src = generate_jax_source(model)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(src, encoding="utf-8")
    os.replace(tmp, path)  # atomic: concurrent processes never read half a file
    return src


def model_functions(model: Model) -> ModelFunctions:
    """The generated functions of ``model`` (generated once per model structure)."""
    key = model.fingerprint()
    if key not in _functions:
        src = _cached_source(model, key)
        import functools
        ns = {"jax": jax, "jnp": jnp, "functools": functools, "_spow": _spow}
        exec(compile(src, f"<opiaxis-jax {model.name} {key}>", "exec"), ns)  # noqa: S102 - generated from the model
        _functions[key] = ModelFunctions(ns["rhs"], ns["jac"], ns["jac_values"],
                                         tuple(ns["JAC_ROWS"]), tuple(ns["JAC_COLS"]))
    return _functions[key]


# --------------------------------------------------------------------------- the sparse LU, by levels

def _run_levels(body, tables, pad, init, unroll: bool):
    """``body(idx, carry)`` for each level: ``idx`` the level's rows of ``tables`` (each
    (columns, levels, width)). Either one traced ``lax.fori_loop`` over the padded levels (the
    traced graph does not grow with the number of levels), or unrolled: one gather–scatter per level
    with its indices as constants and the padding (entries equal to ``pad``) dropped."""
    n_levels = tables[0].shape[1]
    if not unroll:
        jt = [jnp.asarray(t) for t in tables]
        return lax.fori_loop(0, n_levels, lambda l, c: body([t[:, l] for t in jt], c), init)
    c = init
    for l in range(n_levels):
        idx = []
        for t, pd_ in zip(tables, pad):
            keep = t[0, l] != pd_
            idx.append(t[:, l][:, keep] if keep.any() else None)
        c = body(idx, c)
    return c


def sparse_lu_functions(sched: LevelSchedule, unroll: bool = False):
    """(factor, solve) over a batch: ``factor(jv, ihg) -> (a, ok)`` with ``jv`` the Jacobian's
    values (patients, n_jac) and ``ihg`` = 1/(h·γ) (patients,); ``solve(a, b) -> x`` with b and x
    (patients, n) in the original state order. ``ok`` is False for a patient whose pivot is 0 or
    not finite (the step is then retried with h/2, as after the kernel's failed ``_decompose``).
    ``unroll``: see :func:`_run_levels`."""
    diag, jpos, perm, iperm = (jnp.asarray(v, jnp.int32) for v in (sched.diag, sched.jpos, sched.perm, sched.iperm))
    S, ONE, n = sched.nnz, sched.nnz + 1, sched.n

    def factor(jv, ihg):
        a = jnp.zeros((jv.shape[0], sched.nnz + 2), jv.dtype)
        a = a.at[:, diag].set(ihg[:, None]).at[:, ONE].set(1.0).at[:, jpos].add(-jv)

        def level(idx, a):
            div, upd = idx
            a_new = a
            if div is not None:
                dt, du = div
                a_new = a_new.at[:, dt].set(a[:, dt] / a[:, du])
            if upd is not None:
                a_new = a_new.at[:, upd[0]].add(-(a[:, upd[1]] * a[:, upd[2]]))
            return a_new

        a = _run_levels(level, (sched.div, sched.upd), (S, S), a, unroll)
        piv = a[:, diag]
        # the Numba kernel rejects 0 and NaN pivots; an infinite one there gives a non-finite step that its
        # error norm rejects, so flagging it here ends in the same retry with h/2
        return a, jnp.all((piv != 0.0) & jnp.isfinite(piv), axis=1)

    def solve(a, b):
        y = jnp.concatenate([b[:, perm], jnp.zeros_like(b[:, :1])], axis=1)   # column n: scratch

        def forward(idx, y):
            if idx[0] is None:
                return y
            r, p, c = idx[0]
            return y.at[:, r].add(-(a[:, p] * y[:, c]))

        def backward(idx, y):
            y = forward(idx, y)
            rr, dp = idx[1]
            return y.at[:, rr].set(y[:, rr] / a[:, dp])

        y = _run_levels(forward, (sched.fw,), (n,), y, unroll)
        y = _run_levels(backward, (sched.bw, sched.bw_rows), (n, n), y, unroll)
        return y[:, iperm]

    return factor, solve


# --------------------------------------------------------------------------- the batched solver

class _Ops(NamedTuple):
    """The model's right-hand side over a batch of patients, and the batched linear solver."""

    rhs: Callable        # (x, p, r) -> dx/dt, each (patients, ...)
    factor: Callable     # (x, p, h) -> (factors of I/(h·γ) - J, ok (patients,))
    solve: Callable      # (factors, b) -> W⁻¹ b


class _Batch(NamedTuple):
    """What every step attempt of one solve reads: the patients' parameters and initial states,
    their padded events (patients, E + 1), the output times (with a +inf sentinel), the
    tolerances, the RODAS4 tables and the batched functions."""

    ops: _Ops
    P: jax.Array
    X0: jax.Array
    ev_time: jax.Array
    ev_kind: jax.Array
    ev_cmt: jax.Array
    ev_val: jax.Array
    t_out: jax.Array
    n_out: int
    pid: jax.Array
    t_last: jax.Array
    rtol: jax.Array
    atol: jax.Array
    floor: jax.Array     # (n,) the states' error floors (State.error_floor), as the Numba kernel
    h_max: jax.Array
    max_steps: jax.Array
    A: jax.Array         # (6, 6), zero above the diagonal
    C: jax.Array
    M: jax.Array


def _linear_solver(fns: ModelFunctions, jacobian: str, linear_solver: str, n: int):
    """(factor, solve) of W = I/(h·γ) − J over a batch: ``"dense"``, LU with partial pivoting
    (``jax.scipy.linalg.lu_factor``) of the dense W; ``"sparse"``, the Numba kernel's planned
    sparse LU without pivoting, run level by level, the levels unrolled (constant indices, no
    padding); ``"sparse-loop"``, the same levels padded and run by ``lax.fori_loop``
    (:func:`sparse_lu_functions`)."""
    rhs = fns.rhs
    jac_one = fns.jac if jacobian == "sympy" else jax.jacfwd(lambda x, p: rhs(x, p, jnp.zeros_like(x)))
    if linear_solver == "dense":
        jac_b, lu_b = jax.vmap(jac_one), jax.vmap(lu_factor)
        solve_b = jax.vmap(lambda lu, piv, b: lu_solve((lu, piv), b))

        def factor(x, P, hs):
            W = jnp.eye(n, dtype=x.dtype) / (hs * GAMMA)[:, None, None] - jac_b(x, P)
            lu, piv = lu_b(W)
            diag = jnp.diagonal(lu, axis1=1, axis2=2)
            return (lu, piv), jnp.all((diag != 0.0) & jnp.isfinite(diag), axis=1)

        return factor, lambda f, b: solve_b(f[0], f[1], b)
    sp_factor, sp_solve = sparse_lu_functions(level_schedule(n, fns.rows, fns.cols),
                                              unroll=linear_solver == "sparse")
    rows, cols = np.asarray(fns.rows, np.int32), np.asarray(fns.cols, np.int32)
    jv_b = jax.vmap(fns.jac_values) if jacobian == "sympy" else (
        lambda x, P: jax.vmap(jac_one)(x, P)[:, rows, cols])
    return (lambda x, P, hs: sp_factor(jv_b(x, P), 1.0 / (hs * GAMMA))), sp_solve


def _build_solver(fns: ModelFunctions, jacobian: str, linear_solver: str, n: int):
    """A jitted solver for a batch of patients; one ``lax.while_loop``, one step attempt per
    iteration for every patient still running."""
    factor, solve = _linear_solver(fns, jacobian, linear_solver, n)
    ops = _Ops(rhs=jax.vmap(fns.rhs), factor=factor, solve=solve)

    def solve(P, X0, ev_time, ev_kind, ev_cmt, ev_val, t_out, t0, rtol, atol, floor, h_max, max_steps):
        B = X0.shape[0]
        n_out = t_out.shape[0] - 1           # t_out carries a +inf sentinel
        pid = jnp.arange(B)
        A_j = jnp.asarray(np.pad(A, ((0, 0), (0, 1))), X0.dtype)
        C_j = jnp.asarray(np.pad(C, ((0, 0), (0, 1))), X0.dtype)
        M_j = jnp.asarray(M, X0.dtype)
        b = _Batch(ops=ops, P=P, X0=X0, ev_time=ev_time, ev_kind=ev_kind, ev_cmt=ev_cmt, ev_val=ev_val,
                   t_out=t_out, n_out=n_out, pid=pid, t_last=t_out[n_out - 1], rtol=rtol, atol=atol,
                   floor=floor, h_max=h_max, max_steps=max_steps, A=A_j, C=C_j, M=M_j)
        init = {"t": jnp.full(B, t0), "x": X0, "r": jnp.zeros_like(X0), "f0": jnp.zeros_like(X0),
                "h": jnp.zeros(B, X0.dtype), "h_prev": jnp.zeros(B, X0.dtype),
                "h_start": jnp.full(B, 1e-10, X0.dtype), "fresh": jnp.zeros(B, bool), "k_ev": jnp.zeros(B, jnp.int32),
                "j_out": jnp.zeros(B, jnp.int32), "steps": jnp.zeros(B, jnp.int64),
                "rejects": jnp.zeros(B, jnp.int64), "status": jnp.zeros(B, jnp.int64),
                "Y": jnp.zeros((B, n_out + 1, n), X0.dtype)}
        c = lax.while_loop(lambda c: jnp.any(_running(b, c)), lambda c: _step(b, c), init)
        return c["Y"][:, :n_out], jnp.stack([c["steps"], c["rejects"], c["status"]], axis=1), c["j_out"]

    return jax.jit(solve)


def _running(b: _Batch, c: dict) -> jax.Array:
    return (c["status"] == 0) & (c["j_out"] < b.n_out)


def _event_due(b: _Batch, c: dict) -> jax.Array:
    return _running(b, c) & (b.ev_time[b.pid, c["k_ev"]] <= c["t"])


def _apply_event(b: _Batch, c: dict) -> dict:
    """The next event of every patient with one due at its time, in the given order: a bolus adds
    to its state, an infusion start or stop changes its rate, a reset restores the initial
    state; the step size is 0, so the next step starts a new segment (the step before the event
    is kept in ``h_prev``, as the kernel keeps it)."""
    due = _event_due(b, c)
    pid, k = b.pid, c["k_ev"]
    kind, cmt, val = b.ev_kind[pid, k], b.ev_cmt[pid, k], b.ev_val[pid, k]
    x = c["x"].at[pid, cmt].add(jnp.where(due & (kind == EV_BOLUS), val, 0.0))
    is_rate = due & (kind == EV_RATE)
    rc = c["r"][pid, cmt] + jnp.where(is_rate, val, 0.0)
    # an infusion stop cancels its start exactly
    rc = jnp.where(is_rate & (jnp.abs(rc) < 1e-12 * jnp.abs(val)), 0.0, rc)
    r = c["r"].at[pid, cmt].set(rc)
    reset = (due & (kind == EV_RESET))[:, None]
    x = jnp.where(reset, b.X0, x)
    r = jnp.where(reset, 0.0, r)
    h_prev = jnp.where(due & (c["h"] > 0.0), c["h"], c["h_prev"])
    return {**c, "x": x, "r": r, "k_ev": k + due, "h": jnp.where(due, 0.0, c["h"]), "h_prev": h_prev}


def _output_due(b: _Batch, c: dict) -> jax.Array:
    return _running(b, c) & (b.t_out[c["j_out"]] <= c["t"])


def _write_output(b: _Batch, c: dict) -> dict:
    """The state of every patient with an output due exactly at its time (after the events there)."""
    due = _output_due(b, c)
    row = jnp.where(due, c["j_out"], b.n_out)      # row n_out is a scratch row
    return {**c, "Y": c["Y"].at[b.pid, row].set(c["x"]), "j_out": c["j_out"] + due}


def _step(b: _Batch, c: dict) -> dict:
    """One pass: the events and outputs due at each patient's time, then one RODAS4 step attempt
    towards its next event (or last output), its dense output, and the next step size."""
    c = lax.while_loop(lambda c: jnp.any(_event_due(b, c)), lambda c: _apply_event(b, c), c)
    c = lax.while_loop(lambda c: jnp.any(_output_due(b, c)), lambda c: _write_output(b, c), c)
    active = _running(b, c)
    t, x, r = c["t"], c["x"], c["r"]
    t_end = jnp.minimum(b.t_last, b.ev_time[b.pid, c["k_ev"]])
    f0, h, h_start, fresh = _start_segment(b, c, active, t_end)

    out_of_steps = active & (c["steps"] >= b.max_steps)
    stepping = active & ~out_of_steps
    h = jnp.minimum(h, b.h_max)
    last = (t + h >= t_end) | (t_end - (t + h) < 1e-9 * jnp.maximum(1.0, jnp.abs(t_end)))
    h = jnp.where(last, t_end - t, h)
    hs = jnp.where(stepping, h, 1.0)           # idle patients compute with a harmless h
    xn, err, lu_ok = _rodas4(b, x, r, f0, hs)
    ok = stepping & lu_ok & (err <= 1.0)         # `err <= 1` is False for NaN
    lu_fail = stepping & ~lu_ok
    err_fail = stepping & lu_ok & ~(err <= 1.0)

    f2 = b.ops.rhs(xn, b.P, r)
    t_new = jnp.where(last, t_end, t + hs)
    c = _dense_output(b, c, ok, t, t_new, hs, (x, f0, xn, f2))
    h_new = _next_step_size(h, err, ok, lu_fail, err_fail, fresh, h_start)
    too_small = err_fail & (h_new < H_MIN_ULPS * np.finfo(np.float64).eps * jnp.maximum(1.0, jnp.abs(t)))
    status = jnp.where(out_of_steps, 1, jnp.where(too_small, 2, c["status"]))
    return {**c,
            "t": jnp.where(ok, t_new, t),
            "x": jnp.where(ok[:, None], xn, x),
            "f0": jnp.where(ok[:, None], f2, f0),
            "h": h_new,
            "h_start": h_start,
            "fresh": fresh & ~ok,
            "steps": c["steps"] + stepping,
            "rejects": c["rejects"] + (lu_fail | err_fail),
            "status": status}


def _start_segment(b: _Batch, c: dict, active: jax.Array,
                   t_end: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """(f(x), step size, the heuristic's step, no step accepted since the segment's start): for a
    patient starting a segment (at the start, or after an event: h = 0) f at its state and the
    kernel's initial step size (0.01·|x|/|f| in the error norm, at least 5% of the step before
    the event), else its own."""
    t, x, r, h = c["t"], c["x"], c["r"], c["h"]
    fresh = active & (h == 0.0)

    def start(f0, h):
        f_new = b.ops.rhs(x, b.P, r)
        sc = b.atol + b.rtol * jnp.maximum(jnp.abs(x), b.floor)
        d0 = jnp.sqrt(jnp.mean((x / sc) ** 2, axis=1))
        d1 = jnp.sqrt(jnp.mean((f_new / sc) ** 2, axis=1))
        h0 = jnp.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / jnp.where(d1 > 0, d1, 1.0))
        h0 = jnp.maximum(jnp.minimum(h0, 0.1 * (t_end - t)), 1e-10)
        h1 = jnp.minimum(jnp.maximum(h0, 0.05 * c["h_prev"]), t_end - t)
        return (jnp.where(fresh[:, None], f_new, f0), jnp.where(fresh, h1, h),
                jnp.where(fresh, h0, c["h_start"]))

    f0, h, h_start = lax.cond(jnp.any(fresh), start, lambda f0, h: (f0, h, c["h_start"]), c["f0"], h)
    return f0, h, h_start, fresh | c["fresh"]


def _rodas4(b: _Batch, x: jax.Array, r: jax.Array, f0: jax.Array,
            hs: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(new state, scaled error norm, LU succeeded) of one RODAS4 step of size ``hs`` from ``x``."""
    lu, lu_ok = b.ops.factor(x, b.P, hs)
    ih = (1.0 / hs)[:, None]
    # stages 2..6 in a loop so that the right-hand side appears once in the compiled
    # program (compile time grows with the size of the traced expression graph)
    K0 = b.ops.solve(lu, f0)
    Ks = jnp.zeros((6,) + x.shape, x.dtype).at[0].set(K0)

    def stage(s, Ks):
        xs = x + jnp.tensordot(b.A[s], Ks, axes=1)
        rhs_s = b.ops.rhs(xs, b.P, r) + jnp.tensordot(b.C[s], Ks, axes=1) * ih
        return Ks.at[s].set(b.ops.solve(lu, rhs_s))

    Ks = lax.fori_loop(1, 6, stage, Ks)
    xn = x + jnp.tensordot(b.M, Ks, axes=1)
    K5 = Ks[5]
    sc = b.atol + b.rtol * jnp.maximum(jnp.maximum(jnp.abs(x), jnp.abs(xn)), b.floor)
    err = jnp.sqrt(jnp.mean((K5 / sc) ** 2, axis=1))
    return xn, err, lu_ok


def _dense_output(b: _Batch, c: dict, ok: jax.Array, t: jax.Array, t_new: jax.Array, hs: jax.Array,
                  ends: tuple) -> dict:
    """Cubic Hermite outputs on [t, t_new) of the accepted steps (an output exactly at the step's
    end waits for the next pass, after the events there); ``ends`` = (x, f(x), x_new, f(x_new))."""
    x, f0, xn, f2 = ends

    def hermite_due(c):
        return ok & (b.t_out[c["j_out"]] < t_new)

    def hermite(c):
        due = hermite_due(c)
        s_ = ((b.t_out[c["j_out"]] - t) / hs)[:, None]
        h00 = (1.0 + 2.0 * s_) * (1.0 - s_) ** 2
        h10 = s_ * (1.0 - s_) ** 2
        h01 = s_ * s_ * (3.0 - 2.0 * s_)
        h11 = s_ * s_ * (s_ - 1.0)
        y = h00 * x + h10 * hs[:, None] * f0 + h01 * xn + h11 * hs[:, None] * f2
        row = jnp.where(due, c["j_out"], b.n_out)
        return {**c, "Y": c["Y"].at[b.pid, row].set(y), "j_out": c["j_out"] + due}

    return lax.while_loop(lambda c: jnp.any(hermite_due(c)), hermite, c)


def _next_step_size(h: jax.Array, err: jax.Array, ok: jax.Array, lu_fail: jax.Array,
                    err_fail: jax.Array, fresh: jax.Array, h_start: jax.Array) -> jax.Array:
    """The kernel's step-size control: h·0.9·err^(-1/4) within [0.2, 100] after an accepted step,
    within [0.1, 0.9] after a rejected one (0.1 for a non-finite error; the first step of a
    segment: at most max(h_start, h/100)), h/2 after a failed LU."""
    fac_ok = jnp.where(err > 0.0, 0.9 * jnp.where(err > 0.0, err, 1.0) ** -0.25, 6.0)
    fac_bad = jnp.where(jnp.isfinite(err), 0.9 * jnp.where(err > 0.0, err, 1.0) ** -0.25, 0.1)
    h_bad = h * jnp.clip(fac_bad, 0.1, 0.9)
    h_bad = jnp.where(fresh, jnp.minimum(h_bad, jnp.maximum(h_start, 0.01 * h)), h_bad)
    return jnp.where(ok, h * jnp.clip(fac_ok, 0.2, 100.0),
                     jnp.where(lu_fail, h * 0.5, jnp.where(err_fail, h_bad, h)))


_solvers: dict[tuple, object] = {}


def _compiled_solver(model: Model, jacobian: str, linear_solver: str, args, device):
    """The solver compiled for this model and these argument shapes (kept for reuse)."""
    shapes = tuple(np.shape(a) for a in args[:7])
    key = (model.fingerprint(), jacobian, linear_solver, shapes, str(device))
    if key not in _solvers:
        fns = model_functions(model)
        _solvers[key] = _build_solver(fns, jacobian, linear_solver, len(model.states)).lower(*args).compile()
    return _solvers[key]


def _pad_events(ptr, ev_time, ev_kind, ev_cmt, ev_val, n_pat):
    """CSR event arrays -> (patients, E + 1) arrays, padded with never-due events (time +inf);
    E is rounded up to a power of two so that similar dose tables share one compiled solver."""
    counts = np.diff(ptr)
    E = int(counts.max()) if n_pat else 0
    E = 1 << max(E - 1, 0).bit_length() if E > 0 else 0
    T = np.full((n_pat, E + 1), np.inf)
    K = np.zeros((n_pat, E + 1), np.int32)
    S = np.zeros((n_pat, E + 1), np.int32)
    V = np.zeros((n_pat, E + 1))
    col = np.arange(len(ev_time)) - np.repeat(ptr[:-1], counts)
    row = np.repeat(np.arange(n_pat), counts)
    T[row, col], K[row, col], S[row, col], V[row, col] = ev_time, ev_kind, ev_cmt, ev_val
    return T, K, S, V


def simulate_jax(model: Model, params: np.ndarray, times, doses=None, *, ids=None, t0: float = 0.0,
                 x0: np.ndarray | None = None, options: SolverOptions | None = None,
                 jacobian: str = "sympy", linear_solver: str = "sparse", device=None) -> Results:
    """Simulate ``len(params)`` patients with JAX; same arguments, semantics and
    :class:`Results` as :func:`opiaxis.engine.simulate.simulate`.

    Extra arguments
    ---------------
    jacobian: ``"sympy"`` (analytic sparse entries, the default) or ``"jacfwd"`` (forward-mode
        automatic differentiation of the generated right-hand side).
    linear_solver: ``"sparse"`` (the default: the Numba kernel's planned sparse LU of
        W = I/(h·γ) − J, no pivoting, run as a level schedule, levels unrolled; see
        :func:`level_schedule`), ``"sparse-loop"`` (the same, levels in a ``lax.fori_loop``) or
        ``"dense"`` (batched dense LU with partial pivoting, ``jax.scipy.linalg.lu_factor``).
        A zero or non-finite pivot fails the step attempt, which is retried with h/2, in both.
    device: a ``jax.Device`` to run on (default: JAX's default device, a GPU when one is
        visible to the installed jaxlib).

    ``Results.wall_seconds`` is the solve alone. The first call for a model and a batch shape
    also traces and compiles (seconds to minutes for the full model); :func:`last_timing` gives
    both.
    """
    if jacobian not in ("sympy", "jacfwd"):
        raise ValueError(f"jacobian must be 'sympy' or 'jacfwd', not {jacobian!r}")
    if linear_solver not in LINEAR_SOLVERS:
        raise ValueError(f"linear_solver must be one of {', '.join(LINEAR_SOLVERS)}, not {linear_solver!r}")
    from .. import checks
    checks.simulate_arguments(model, params, times, ids=ids, t0=t0, x0=x0, options=options, doses=doses)
    options = options or SolverOptions()
    # the same checks, in the same words, as simulate()
    P = np.ascontiguousarray(np.atleast_2d(np.asarray(params, dtype=float)))
    if P.shape[1] != len(model.parameters):
        raise ValueError(f"params has {P.shape[1]} columns; the model has {len(model.parameters)} parameters")
    ids = np.arange(1, P.shape[0] + 1) if ids is None else np.asarray(ids)
    t_out = np.ascontiguousarray(np.asarray(times, dtype=float))
    if t_out.ndim != 1 or len(t_out) == 0 or np.any(np.diff(t_out) < 0) or t_out[0] < t0:
        raise OpiaxisInputError("output times must be a non-empty, sorted list of times >= the start time")
    X0 = model.initial_state(P) if x0 is None else np.ascontiguousarray(
        np.broadcast_to(x0, (P.shape[0], len(model.states))), dtype=float)
    ptr, *ev = event_arrays(model, P, ids, doses)
    T, K, S, V = _pad_events(ptr, *ev, P.shape[0])
    args = (P, X0, T, K, S, V, np.append(t_out, np.inf), float(t0), float(options.rtol),
            float(options.atol), model.error_floors(), float(options.h_max), int(min(options.max_steps, 2**62)))
    with jax.enable_x64(True):
        if device is not None:
            args = jax.device_put(args, device)
        start, cpu = _time.perf_counter(), _time.process_time()
        compiled = _compiled_solver(model, jacobian, linear_solver, args, device)
        compile_s, compile_cpu = _time.perf_counter() - start, _time.process_time() - cpu
        start, cpu = _time.perf_counter(), _time.process_time()
        Y, stats, j_out = jax.block_until_ready(compiled(*args))
        wall, solve_cpu = _time.perf_counter() - start, _time.process_time() - cpu
        Y, stats, j_out = np.array(Y), np.asarray(stats, np.int64), np.asarray(j_out)
    failed = stats[:, 2] != 0
    if failed.any():  # outputs after a failure are NaN, as in the Numba kernel
        Y[failed[:, None] & (np.arange(len(t_out))[None, :] >= j_out[:, None])] = np.nan
    _last_timing.update(compile_seconds=compile_s, solve_seconds=wall, compile_cpu_seconds=compile_cpu,
                        solve_cpu_seconds=solve_cpu, device=str(compiled_device(args)))
    return Results(model=model, ids=ids, times=t_out, states=Y, params=P, stats=stats, wall_seconds=wall)


_last_timing: dict[str, float] = {}


def compiled_device(args) -> object:
    """The device the solver runs on: the arguments' (when placed) or JAX's default."""
    for a in args:
        if isinstance(a, jax.Array):
            return next(iter(a.devices()))
    return jax.devices()[0]


def last_timing() -> dict:
    """Of the latest :func:`simulate_jax` call: wall seconds spent compiling (``compile_seconds``;
    near 0 when the program was already compiled) and solving (``solve_seconds``), the process
    CPU seconds of each (``*_cpu_seconds``, all threads) and the ``device``."""
    return dict(_last_timing)


def max_relative_difference(a: np.ndarray, b: np.ndarray, atol: float) -> float:
    """Agreement of two runs' states (patients, times, states), ``a`` the reference (Numba):
    max |a − b| / max(|a|, 1e-6 of the state's peak over the cohort), over the states ``a`` moves
    beyond ``atol``. A state ``a`` keeps within atol of 0 (a drug nobody takes; round-off such as
    −7e-18 in a state at rest, which one LU keeps and another rounds to exactly 0) must stay within
    atol of 0 in ``b`` too. NaN if either run has a NaN or that condition fails (so ``<= bound`` is
    False). Used by tests/test_jax_backend.py and benchmarks/bench_jax.py."""
    if np.isnan(a).any() or np.isnan(b).any():
        return float("nan")
    peak = np.abs(a).max(axis=(0, 1))
    moved = peak > atol
    if np.abs(b[:, :, ~moved]).max(initial=0.0) > atol:
        return float("nan")
    a, b, peak = a[:, :, moved], b[:, :, moved], peak[moved]
    return float((np.abs(a - b) / np.maximum(np.abs(a), 1e-6 * peak)).max())
