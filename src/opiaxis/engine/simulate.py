"""Simulate a batch of virtual patients, each with its own parameters and its own doses.

Dosing semantics (NONMEM/mrgsolve tradition):

* a dose lands exactly at its time (plus the patient's lag time for that route), however the
  output grid is chosen: the solver stops at every event and restarts from the new state;
* bioavailability ``F`` scales the amount; for a zero-order input (``RATE > 0``) the rate is kept
  and the duration is ``F·AMT/RATE``, as in NONMEM;
* simultaneous events are applied in a defined order: resets, then infusion stops, then doses and
  infusion starts in the order of the event table;
* an output at the time of a dose reports the state *after* the dose.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from .. import checks
from ..errors import OpiaxisInputError
from ..model.core import Model
from .codegen import compile_model
from .readouts import assignment_function

EV_BOLUS, EV_RATE, EV_RESET = 0, 1, 2
# the smallest step, in units in the last place of t: below it both solvers stop with status 2
# (kernel.py, which is not imported but appended to generated code, holds the same number)
H_MIN_ULPS = 4.0


@dataclass
class SolverOptions:
    rtol: float = 1e-6
    atol: float = 1e-9
    h_max: float = np.inf
    max_steps: int = 5_000_000


@dataclass(frozen=True, kw_only=True)
class SolverStats:
    """Per-patient solver statistics (one entry per patient, in the batch's order)."""
    steps: np.ndarray      # accepted steps
    rejected: np.ndarray   # rejected steps
    status: np.ndarray     # 0 = solved; otherwise the kernel's failure code

    @classmethod
    def from_array(cls, stats: np.ndarray) -> SolverStats:
        """From the kernel's (patients, 3) array: steps, rejected steps, status."""
        stats = np.asarray(stats)
        return cls(steps=stats[:, 0], rejected=stats[:, 1], status=stats[:, 2])

    @property
    def failed(self) -> np.ndarray:
        return self.status != 0


@dataclass
class Results:
    """Labelled results of a batch simulation.

    ``states`` has shape (patients, times, states). Assignments (interface variables, read-outs)
    are computed from states and parameters on request with :meth:`get` or ``results[name]``;
    :attr:`names` lists them all.
    """

    model: Model
    ids: np.ndarray
    times: np.ndarray
    states: np.ndarray
    params: np.ndarray
    stats: np.ndarray
    wall_seconds: float = 0.0
    _cache: dict = field(default_factory=dict, repr=False)

    def get(self, name: str) -> np.ndarray:
        """Values of a state or assignment, shape (patients, times)."""
        m = self.model
        if name in m.state_index:
            return self.states[:, :, m.state_index[name]]
        if name in self._cache:
            return self._cache[name]
        if name in m.assignment_index:
            f = assignment_function(m, name)
            args = [self.states[:, :, i] for i in range(len(m.states))] + \
                   [self.params[:, k][:, None] for k in range(len(m.parameters))]
            with np.errstate(all="ignore"):
                v = np.broadcast_to(np.asarray(f(*args), dtype=float), self.states.shape[:2]).copy()
            self._cache[name] = v
            return v
        if name in m.param_index:
            return np.repeat(self.params[:, m.param_index[name]][:, None], len(self.times), axis=1)
        raise KeyError(f"{name!r} is neither a state, an assignment nor a parameter of the model")

    @property
    def names(self) -> list[str]:
        """The outputs :meth:`get` (and ``results[name]``) can return: the model's states, then its
        assignments (interface variables and read-outs), in the model's order."""
        return list(self.model.state_names) + list(self.model.assignment_index)

    def __getitem__(self, name: str) -> np.ndarray:
        """``results["craving"]`` is ``results.get("craving")``: shape (patients, times)."""
        return self.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self.model.state_index or name in self.model.assignment_index

    @property
    def solver_stats(self) -> SolverStats:
        """Steps, rejected steps and status per patient (``stats`` is the kernel's raw array)."""
        return SolverStats.from_array(self.stats)

    @property
    def failed(self) -> np.ndarray:
        return self.solver_stats.failed

    def to_frame(self, variables: list[str] | None = None, *, by_patient: bool = False) -> pd.DataFrame:
        """Tidy long table: patient, time (h), variable, value, unit (``variable`` and ``unit`` are
        categoricals). Rows run variable by variable, each patient's times in turn; with
        ``by_patient`` they are ordered by patient, variable name and time (a study's chunk files;
        each variable named once)."""
        variables = list(variables or self.model.state_names)
        if by_patient and len(set(variables)) < len(variables):
            raise OpiaxisInputError(f"variables {variables} name one twice; expected each once (by_patient)",
                                    field="variables")
        n_p, n_t = len(self.ids), len(self.times)
        df = pd.concat([pd.DataFrame({
            "patient": np.repeat(self.ids, n_t),
            "time": np.tile(self.times, n_p),
            "variable": v,
            "value": self.get(v).reshape(-1),
            "unit": self.model.unit_of(v),
        }) for v in variables], ignore_index=True)
        df["variable"] = df["variable"].astype("category")
        df["unit"] = df["unit"].astype("category")
        if by_patient:
            df = df.sort_values(["patient", "variable", "time"], kind="mergesort", ignore_index=True)
        return df

    def to_xarray(self, variables: list[str] | None = None, *, coords: dict | None = None):
        """A labelled :class:`xarray.Dataset`: one variable per output (default: the states), dims
        ``(patient, time)``, each with its unit in ``attrs["units"]`` (time in h). ``coords``
        adds per-patient coordinates such as ``{"arm": [...], "age": [...]}`` (one value per
        patient, in the order of :attr:`ids`)."""
        xr = require_xarray()
        variables = variables or self.model.state_names
        ds = xr.Dataset({v: (("patient", "time"), self.get(v), {"units": self.model.unit_of(v)}) for v in variables},
                        coords={"patient": np.asarray(self.ids), "time": ("time", np.asarray(self.times), {"units": "h"})})
        for name, values in (coords or {}).items():
            values = np.asarray(values)
            if values.shape != (len(self.ids),):
                raise OpiaxisInputError(f"coordinate {name!r} has shape {values.shape}; expected one value per "
                                        f"patient ({len(self.ids)})", field=f"coords.{name}")
            ds = ds.assign_coords({name: ("patient", values)})
        ds.attrs["model"] = self.model.name
        return ds


def require_xarray():
    """The xarray module, or an error saying how to install it."""
    try:
        import xarray
    except ImportError:
        raise OpiaxisInputError("labelled arrays need xarray; install it with: pip install xarray") from None
    return xarray


def event_arrays(model: Model, P: np.ndarray, ids: np.ndarray, doses: pd.DataFrame | None):
    """Translate expanded dose rows into the kernel's per-patient (CSR) event arrays."""
    n_pat = len(ids)
    if doses is None or len(doses) == 0:
        return (np.zeros(n_pat + 1, np.int64), np.zeros(0), np.zeros(0, np.int64),
                np.zeros(0, np.int64), np.zeros(0))
    pos = {int(i): k for k, i in enumerate(ids)}
    try:
        prow = doses["ID"].map(pos)
    except KeyError as exc:
        raise OpiaxisInputError(f"event table has no column {exc}") from None
    if prow.isna().any():
        bad = sorted(set(doses.loc[prow.isna(), "ID"]))[:5]
        raise OpiaxisInputError(f"event table names patients {bad} that are not in the cohort", field="ID")
    prow = prow.to_numpy(np.int64)
    evid = doses["EVID"].to_numpy(np.int64)
    time = doses["TIME"].to_numpy(float).copy()
    amt = doses["AMT"].to_numpy(float)
    rate = doses["RATE"].to_numpy(float) if "RATE" in doses else np.zeros(len(doses))
    order = doses["ORDER"].to_numpy(np.int64) if "ORDER" in doses else np.arange(len(doses))
    is_dose = np.isin(evid, (1, 4))
    is_reset = np.isin(evid, (3, 4))

    cmt_state = np.zeros(len(doses), np.int64)
    F = np.ones(len(doses))
    names = doses["CMT"].astype(str).to_numpy()
    for name in np.unique(names[is_dose]):
        if name not in model.dose_targets:
            known = ", ".join(sorted(model.dose_targets))
            raise OpiaxisInputError(f"unknown dosing compartment {name!r}; known: {known}", field="CMT")
        dt = model.dose_targets[name]
        sel = is_dose & (names == name)
        cmt_state[sel] = model.state_index[dt.state]
        rows = prow[sel]
        if dt.bioavailability:
            f = P[rows, model.param_index[dt.bioavailability]]
            if dt.dose_exponent:
                ref = P[rows, model.param_index[dt.reference_dose]]
                f = f * (amt[sel] / ref) ** P[rows, model.param_index[dt.dose_exponent]]
            F[sel] = np.clip(f, 0.0, 1.0)
        if dt.lag:
            time[sel] += P[rows, model.param_index[dt.lag]]

    recs = []  # (patient, time, class, order, kind, state, value)
    infusion = is_dose & (rate > 0)
    bolus = is_dose & ~infusion
    if bolus.any():
        recs.append((prow[bolus], time[bolus], np.full(bolus.sum(), 2), order[bolus],
                     np.full(bolus.sum(), EV_BOLUS), cmt_state[bolus], F[bolus] * amt[bolus]))
    if infusion.any():
        r = rate[infusion]
        dur = F[infusion] * amt[infusion] / r
        k = infusion.sum()
        recs.append((prow[infusion], time[infusion], np.full(k, 2), order[infusion],
                     np.full(k, EV_RATE), cmt_state[infusion], r))
        recs.append((prow[infusion], time[infusion] + dur, np.full(k, 1), order[infusion],
                     np.full(k, EV_RATE), cmt_state[infusion], -r))
    if is_reset.any():
        k = is_reset.sum()
        recs.append((prow[is_reset], doses["TIME"].to_numpy(float)[is_reset], np.zeros(k), order[is_reset],
                     np.full(k, EV_RESET), np.zeros(k, np.int64), np.zeros(k)))
    cols = [np.concatenate([rec[i] for rec in recs]) for i in range(7)]
    pat, t, cls, ordr, kind, st, val = cols
    idx = np.lexsort((ordr, cls, t, pat))
    pat, t, kind, st, val = pat[idx], t[idx], kind[idx], st[idx], val[idx]
    if is_reset.any() and infusion.any():
        # a reset stops every running infusion (NONMEM): drop the scheduled stops of infusions
        # that a reset has already ended, so they do not subtract a rate that is no longer there
        keep = np.ones(len(t), bool)
        for p in np.unique(pat[kind == EV_RESET]):
            rows = np.flatnonzero(pat == p)
            running: dict[tuple[int, float], int] = {}
            for r in rows:
                if kind[r] == EV_RESET:
                    running.clear()
                elif kind[r] == EV_RATE and val[r] > 0:
                    running[(st[r], val[r])] = running.get((st[r], val[r]), 0) + 1
                elif kind[r] == EV_RATE and val[r] < 0:
                    key = (st[r], -val[r])
                    if running.get(key, 0) > 0:
                        running[key] -= 1
                    else:
                        keep[r] = False
        pat, t, kind, st, val = pat[keep], t[keep], kind[keep], st[keep], val[keep]
    ptr = np.zeros(n_pat + 1, np.int64)
    np.add.at(ptr, pat + 1, 1)
    ptr = np.cumsum(ptr)
    return ptr, t.astype(float), kind.astype(np.int64), st.astype(np.int64), val.astype(float)


def simulate(model: Model, params: np.ndarray, times, doses: pd.DataFrame | None = None, *,
             ids=None, t0: float = 0.0, x0: np.ndarray | None = None,
             options: SolverOptions | None = None, backend: str = "numba") -> Results:
    """Simulate ``len(params)`` patients.

    Parameters
    ----------
    params: (patients, parameters) in the model's parameter order (``model.parameter_names``).
    times: output times in hours (shared by all patients), sorted, >= t0.
    doses: expanded dose rows (``opiaxis.dosing.expand_doses``): ID, TIME, EVID, AMT, CMT, RATE.
    ids: patient ids matching ``doses.ID`` (default 1..n).
    backend: ``"numba"`` (default, CPU cores) or ``"jax"`` (GPU when one is visible to JAX; the
        optional extra ``opiaxis[jax]``, see docs/gpu-backend.md).
    """
    checks.simulate_arguments(model, params, times, ids=ids, t0=t0, x0=x0, options=options, doses=doses)  # no hangs
    if backend == "jax":  # optional extra, imported only when asked for
        from .jax_backend import simulate_jax
        return simulate_jax(model, params, times, doses, ids=ids, t0=t0, x0=x0, options=options)
    if backend != "numba":
        raise OpiaxisInputError(f"unknown backend {backend!r}; expected 'numba' or 'jax'", field="backend")
    options = options or SolverOptions()
    P = np.ascontiguousarray(np.atleast_2d(np.asarray(params, dtype=float)))
    if P.shape[1] != len(model.parameters):
        raise ValueError(f"params has {P.shape[1]} columns; the model has {len(model.parameters)} parameters")
    ids = np.arange(1, P.shape[0] + 1) if ids is None else np.asarray(ids)
    t_out = np.ascontiguousarray(np.asarray(times, dtype=float))
    if t_out.ndim != 1 or len(t_out) == 0 or np.any(np.diff(t_out) < 0) or t_out[0] < t0:
        raise OpiaxisInputError("output times must be a non-empty, sorted list of times >= the start time")
    X0 = model.initial_state(P) if x0 is None else np.ascontiguousarray(np.broadcast_to(x0, (P.shape[0], len(model.states))), dtype=float)
    ev = event_arrays(model, P, ids, doses)
    mod = compile_model(model)
    Y = np.empty((P.shape[0], len(t_out), len(model.states)))
    stats = np.zeros((P.shape[0], 3), np.int64)
    start = _time.perf_counter()
    mod.simulate_batch(P, np.ascontiguousarray(X0), *ev, t_out, float(t0), options.rtol, options.atol,
                       np.ones(len(model.states)), model.error_floors(), float(options.h_max),
                       int(options.max_steps), Y, stats)
    wall = _time.perf_counter() - start
    return Results(model, ids, t_out, Y, P, stats, wall)
