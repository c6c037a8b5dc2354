"""Checks on what users hand to the API: arrays, parameter values and doses.

Each check raises :class:`~opiaxis.errors.OpiaxisInputError` naming the argument (or file, line
and field) and what was expected, so that a bad value stops a run before it can hang a solver
or give a silent wrong answer. Entry points call them with one line.

Parameter bounds
----------------
A parameter's declared ``lower``/``upper`` (``opiaxis.model.core.Parameter``) are used when
given. Otherwise the default rule applies: a value must be finite and non-negative, unless the
parameter is *signed*: its typical value is negative, its variability is additive (normal), or
its name is in :data:`SIGNED` (coefficients and offsets whose sign is part of the model).

Dose limits
-----------
``data/dose_limits.yaml`` gives, per drug and route, the largest plausible single dose and the
largest plausible amount within 24 h (from labels and the literature, each with its source).
A dose outside them is an error unless the caller allows implausible doses explicitly; the
allowed doses are then returned so that the caller records them in its outputs.
"""

from __future__ import annotations

import fnmatch
import math
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from .errors import OpiaxisInputError

#: parameters that may be negative although no lower bound is declared (glob patterns)
SIGNED = ("gut_eps_*", "gut_M_*", "*_weight_*", "mood_trait_offset", "mood_initial")


# ----------------------------------------------------------------------------------------------
# arrays
def times_array(times, *, t0: float = 0.0, name: str = "times") -> np.ndarray:
    """Output times: a non-empty 1-D array of finite numbers, sorted, none before ``t0``."""
    try:
        t = np.asarray(times, dtype=float)
    except (TypeError, ValueError):
        raise OpiaxisInputError(f"{name} must be numbers in hours, got {type(times).__name__}", field=name) from None
    if t.ndim != 1 or t.size == 0:
        raise OpiaxisInputError(f"{name} must be a non-empty 1-D array of hours, got shape {t.shape}", field=name)
    bad = np.flatnonzero(~np.isfinite(t))
    if bad.size:
        raise OpiaxisInputError(f"{name}[{bad[0]}] is {t[bad[0]]}; expected finite times in hours", field=name)
    if not math.isfinite(float(t0)):
        raise OpiaxisInputError(f"t0 is {t0}; expected a finite start time in hours", field="t0")
    down = np.flatnonzero(np.diff(t) < 0)
    if down.size:
        k = down[0]
        raise OpiaxisInputError(f"{name} are not sorted: {name}[{k}] = {t[k]:g} > {name}[{k + 1}] = {t[k + 1]:g}; "
                                "expected non-decreasing times", field=name)
    if t[0] < t0:
        raise OpiaxisInputError(f"{name}[0] = {t[0]:g} is before the start time t0 = {t0:g}", field=name)
    return t


def simulate_arguments(model, params, times, *, ids=None, t0: float = 0.0, x0=None, options=None,
                       doses=None) -> None:
    """Check the arguments of :func:`opiaxis.engine.simulate` (shapes, finite values, sorted times,
    solver options, dose rows)."""
    if options is not None:
        solver_options(options)
    if doses is not None:
        dose_rows(doses, t0=float(t0))
    n_par = len(model.parameters)
    try:
        P = np.atleast_2d(np.asarray(params, dtype=float))
    except (TypeError, ValueError):
        raise OpiaxisInputError("params must be a numeric array (patients x parameters)", field="params") from None
    if P.ndim != 2 or P.shape[1] != n_par or P.shape[0] == 0:
        raise OpiaxisInputError(f"params has shape {P.shape}; expected (patients, {n_par}) in the order of "
                                "model.parameter_names", field="params")
    bad = np.argwhere(~np.isfinite(P))
    if len(bad):
        i, j = bad[0]
        raise OpiaxisInputError(f"parameter {model.parameters[j].name} of patient row {i} is {P[i, j]}; "
                                "expected a finite number", field="params")
    times_array(times, t0=t0)
    if ids is not None:
        arr = np.asarray(ids)
        if arr.ndim != 1 or len(arr) != P.shape[0]:
            raise OpiaxisInputError(f"ids has shape {arr.shape}; expected one id per patient ({P.shape[0]})", field="ids")
        if len(pd.unique(arr)) != len(arr):
            raise OpiaxisInputError("ids contain duplicates; expected one distinct id per patient", field="ids")
    if x0 is not None:
        X = np.asarray(x0, dtype=float)
        n_st = len(model.states)
        if X.shape not in ((n_st,), (P.shape[0], n_st)):
            raise OpiaxisInputError(f"x0 has shape {X.shape}; expected ({n_st},) or ({P.shape[0]}, {n_st})", field="x0")
        if not np.isfinite(X).all():
            raise OpiaxisInputError("x0 has a value that is not finite; expected finite initial states", field="x0")


def dose_rows(doses, *, t0: float = 0.0) -> None:
    """Expanded dose rows handed to simulate(): the columns, finite numbers, amounts and rates
    >= 0, EVID 0-4, and no dose before the start time (it would be lost or misplaced)."""
    if not isinstance(doses, pd.DataFrame):
        raise OpiaxisInputError(f"doses must be a DataFrame of dose rows (opiaxis.dosing.expand_doses), got "
                                f"{type(doses).__name__}", field="doses")
    if not len(doses):
        return
    missing = [c for c in ("ID", "TIME", "EVID", "AMT", "CMT") if c not in doses.columns]
    if missing:
        raise OpiaxisInputError(f"doses have no column(s) {', '.join(missing)}; expected ID, TIME, EVID, AMT, CMT "
                                "(and RATE) as from opiaxis.dosing.expand_doses", field="doses")
    for col in ("TIME", "EVID", "AMT") + (("RATE",) if "RATE" in doses.columns else ()):
        v = pd.to_numeric(doses[col], errors="coerce").to_numpy(float)
        bad = np.flatnonzero(~np.isfinite(v))
        if bad.size:
            x = doses[col].iloc[bad[0]]
            shown = f"{float(x):g}" if isinstance(x, (int, float, np.number)) else repr(x)
            raise OpiaxisInputError(f"doses row {bad[0]}: {col} is {shown}; expected a finite number", field=f"doses.{col}")
        if col in ("AMT", "RATE") and (v < 0).any():
            k = int(np.flatnonzero(v < 0)[0])
            raise OpiaxisInputError(f"doses row {k}: {col} is {v[k]:g}; expected >= 0", field=f"doses.{col}")
        if col == "EVID" and not np.isin(v, (0, 1, 2, 3, 4)).all():
            k = int(np.flatnonzero(~np.isin(v, (0, 1, 2, 3, 4)))[0])
            raise OpiaxisInputError(f"doses row {k}: EVID is {v[k]:g}; expected 1 (dose), 3 (reset) or 4 (reset and "
                                    "dose)", field="doses.EVID")
        if col == "TIME" and (v < t0).any():
            k = int(np.flatnonzero(v < t0)[0])
            raise OpiaxisInputError(f"doses row {k}: TIME {v[k]:g} h is before the start time t0 = {t0:g} h; "
                                    "simulate from an earlier t0", field="doses.TIME")


def solver_options(options) -> None:
    """rtol and atol positive and finite, h_max positive, max_steps a whole number >= 1."""
    for name in ("rtol", "atol"):
        v = getattr(options, name)
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not (0 < v < math.inf):
            raise OpiaxisInputError(f"{name} is {v!r}; expected a positive finite tolerance such as 1e-6",
                                    field=f"options.{name}")
    h = options.h_max
    if isinstance(h, bool) or not isinstance(h, (int, float, np.integer, np.floating)) or not h > 0:
        raise OpiaxisInputError(f"h_max is {h!r}; expected a positive step bound in hours (inf for none)",
                                field="options.h_max")
    n = options.max_steps
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise OpiaxisInputError(f"max_steps is {n!r}; expected a whole number >= 1", field="options.max_steps")


# ----------------------------------------------------------------------------------------------
# parameter bounds
def is_signed(p) -> bool:
    if p.lower is not None:
        return p.lower < 0
    return (p.value < 0 or (p.variability is not None and p.variability.kind == "normal")
            or any(fnmatch.fnmatchcase(p.name, pat) for pat in SIGNED))


def bounds(p) -> tuple[float, float]:
    """(lower, upper) allowed for parameter ``p`` (declared, or the default rule)."""
    lo = p.lower if p.lower is not None else (-math.inf if is_signed(p) else 0.0)
    hi = p.upper if p.upper is not None else math.inf
    return lo, hi


def parameter_value(model, name: str, value, *, file=None, line=None, field=None) -> float:
    """An override of parameter ``name``: a finite number within its bounds, else an error."""
    where = field or name
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise OpiaxisInputError(f"value {value!r} is not a number; expected a finite number in "
                                f"{model.unit_of(name)}", file=file, line=line, field=where)
    v = float(value)
    p = model.parameters[model.param_index[name]]
    lo, hi = bounds(p)
    if not math.isfinite(v):
        raise OpiaxisInputError(f"value {value!r} is not a finite number; expected a finite number in "
                                f"{model.unit_of(name)}", file=file, line=line, field=where)
    if not lo <= v <= hi:
        rng = (f">= {lo:g}" if hi == math.inf else f"<= {hi:g}" if lo == -math.inf else f"between {lo:g} and {hi:g}")
        raise OpiaxisInputError(f"{name} = {v:g} is outside its bounds; expected {rng} {p.unit} "
                                f"(typical value {p.value:g})", file=file, line=line, field=where)
    return v


def parameter_values(model, name: str, values, *, file=None, line=None, field=None) -> np.ndarray:
    """Many values of one parameter (a column of a table): each finite and within its bounds."""
    arr = np.asarray(values, dtype=float)
    lo, hi = bounds(model.parameters[model.param_index[name]])
    bad = np.flatnonzero(~np.isfinite(arr) | (arr < lo) | (arr > hi))
    if bad.size:
        parameter_value(model, name, float(arr[bad[0]]), file=file, line=line, field=field)
    return arr


# ----------------------------------------------------------------------------------------------
# dose limits
@lru_cache(maxsize=1)
def dose_limits() -> dict[str, dict]:
    """``{"<drug>.<route>": {"single": mg, "daily": mg, "source": text}}`` from data/dose_limits.yaml."""
    import yaml
    raw = yaml.safe_load((resources.files("opiaxis") / "data" / "dose_limits.yaml").read_text(encoding="utf-8"))
    out = {}
    for drug, routes in raw.items():
        for route, spec in routes.items():
            out[f"{drug}.{route}"] = {"single": float(spec["single"]), "daily": float(spec["daily"]),
                                      "source": str(spec["source"])}
    return out


def implausible_doses(doses: pd.DataFrame) -> list[str]:
    """Messages for every (patient, compartment) whose single dose or 24-h amount is above the
    plausible range of ``data/dose_limits.yaml`` (expanded dose rows: ID, TIME, EVID, AMT, CMT)."""
    if doses is None or not len(doses):
        return []
    limits = dose_limits()
    d = doses[np.isin(pd.to_numeric(doses["EVID"], errors="coerce"), (1, 4))]
    out = []
    for cmt, g in d.groupby(d["CMT"].astype(str), sort=True):
        lim = limits.get(cmt)
        if lim is None:
            continue
        amt = g["AMT"].to_numpy(float)
        k = int(np.argmax(amt))
        if amt[k] > lim["single"]:
            out.append(f"{cmt} dose of {amt[k]:g} mg (ID {g['ID'].iloc[k]}, time {g['TIME'].iloc[k]:g} h) is above the "
                       f"plausible single dose of {lim['single']:g} mg ({lim['source']})")
            continue
        for pid, gp in g.groupby("ID", sort=False):
            t = gp["TIME"].to_numpy(float)
            a = gp["AMT"].to_numpy(float)
            o = np.argsort(t, kind="mergesort")
            t, a = t[o], a[o]
            c = np.concatenate([[0.0], np.cumsum(a)])
            end = np.searchsorted(t, t + 24.0 - 1e-9, side="left")
            window = c[end] - c[np.arange(len(t))]
            j = int(np.argmax(window))
            if window[j] > lim["daily"] * (1 + 1e-9):
                out.append(f"{cmt}: {window[j]:g} mg within 24 h from {t[j]:g} h (ID {pid}) is above the plausible "
                           f"daily amount of {lim['daily']:g} mg ({lim['source']})")
                break
    return out


def check_doses(doses: pd.DataFrame, *, allow: bool, file=None, line=None, field=None) -> list[str]:
    """Error for implausible doses unless ``allow``; returns the allowed messages (record them)."""
    found = implausible_doses(doses)
    if found and not allow:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise OpiaxisInputError(f"{found[0]}{more}; check the amount and unit, or pass --allow-implausible-doses "
                                "(allow_implausible_doses=True) to simulate it anyway, which is recorded in the outputs",
                                file=file, line=line, field=field)
    return found
