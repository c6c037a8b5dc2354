"""Global sensitivity analysis: which parameters drive an outcome under a regimen.

The parameter space is the model's own between-patient variability: every parameter that
declares a distribution (log-normal CV, normal SD, logit-normal SD, with its bounds) is a factor,
sampled through the inverse of that distribution from a unit hypercube, so "sensitive" means
"matters across the patients the model describes", not "matters over an arbitrary ±x% box".

Two methods from SALib (Herman & Usher 2017, doi:10.21105/joss.00097):

* **Morris** elementary effects (Morris 1991, Technometrics 33:161; the μ* of Campolongo,
  Cariboni & Saltelli 2007, Environ Model Softw 22:1509) for screening many factors:
  ``r·(k+1)`` runs for ``k`` factors and ``r`` trajectories;
* **Sobol'** first-order and total indices with Saltelli's estimators (Saltelli et al. 2010,
  Comput Phys Commun 181:259) and bootstrap confidence intervals: ``N·(k+2)`` runs, for the
  few factors that screening keeps.

Every sample is one virtual patient of one batched :func:`opiaxis.engine.simulate` call (chunked
for memory; chunks may run on a Dask cluster). An outcome is a summary of one model variable
over the simulated horizon (``ventilation_rel:min`` — the ventilation nadir, the model's
overdose-risk read-out; ``cows:max``; ``cortisol_rel:mean``; ``mor_occupancy_central:at 72 h``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.integrate import trapezoid
from scipy.special import ndtri

from .dosing import EventTable
from .durations import hours
from .errors import OpiaxisInputError
from .model.core import Model

STATISTICS = ("max", "min", "mean", "final", "auc", "at")


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """A summary of one model variable per patient: max, min, mean (time-weighted), final,
    auc (unit·h) or the value at a time (hours)."""

    variable: str
    statistic: str
    at_hours: float | None = None

    @property
    def label(self) -> str:
        return f"{self.variable}:{self.statistic}" + (f" {self.at_hours:g} h" if self.at_hours is not None else "")

    def evaluate(self, times: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``values``: (patients, times) -> one number per patient (NaN where the solver failed)."""
        if self.statistic == "max":
            return values.max(axis=1)
        if self.statistic == "min":
            return values.min(axis=1)
        if self.statistic == "final":
            return values[:, -1]
        auc = trapezoid(values, times, axis=1)
        if self.statistic == "auc":
            return auc
        if self.statistic == "mean":
            return auc / (times[-1] - times[0])
        k = int(np.argmin(np.abs(times - self.at_hours)))
        return values[:, k]


def parse_outcome(text: str, model: Model, horizon_hours: float) -> Outcome:
    """``variable:statistic`` with statistic one of max, min, mean, final, auc, or ``at <time>``."""
    m = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(max|min|mean|final|auc|at\s+(.+))\s*", text)
    if not m:
        raise OpiaxisInputError(f"outcome {text!r} is not 'variable:statistic'; expected e.g. 'ventilation_rel:min', "
                                f"'cows:max' or 'mor_occupancy_central:at 72 h' (statistics: {', '.join(STATISTICS)})",
                                field="--outcome")
    name = m.group(1)
    if name not in model.state_index and name not in model.assignment_index:
        import difflib
        near = difflib.get_close_matches(name, model.state_names + [a.name for a in model.assignments], n=3)
        raise OpiaxisInputError(f"unknown outcome variable {name!r}" + (f"; did you mean {', '.join(near)}?" if near else
                                "; expected a state or assignment of the model (opiaxis model --markdown lists them)"),
                                field="--outcome")
    if m.group(3) is None:
        return Outcome(variable=name, statistic=m.group(2))
    at = parse_hours(m.group(3), "--outcome")
    if at > horizon_hours:
        raise OpiaxisInputError(f"outcome time {m.group(3)!r} is after the horizon ({horizon_hours:g} h)", field="--outcome")
    return Outcome(variable=name, statistic="at", at_hours=at)


def parse_hours(text: str, field: str) -> float:
    """'14 d', '72 h', '2 weeks' or a number of hours, in hours (:func:`opiaxis.durations.hours`)."""
    return hours(text, field=field)


def factors(model: Model, names: list[str] | None = None, modules: list[str] | None = None) -> list[str]:
    """The parameters that vary between patients (declared variability), optionally restricted
    to some names or modules. A named parameter without variability is an error: it has no
    declared distribution to sample; so is a behaviour-layer parameter (no equation uses it)."""
    external = model.external_parameters()   # the behaviour layer's parameters change no simulated state
    variable = [p for p in model.parameters if p.variability is not None and p.variability.spread > 0]
    if names:
        by_name = {p.name: p for p in variable if p.name not in external}
        bad = [n for n in names if n not in by_name]
        if bad:
            unknown = [n for n in bad if n not in model.param_index]
            varying = {p.name for p in variable}
            unused = [n for n in bad if n in varying]
            fixed = [n for n in bad if n in model.param_index and n not in varying]
            parts = []
            if unknown:
                parts.append(f"unknown parameter(s) {', '.join(unknown)}")
            if unused:
                parts.append(f"{', '.join(unused)}: behaviour-layer parameter(s), used by no equation")
            if fixed:
                parts.append(f"{', '.join(fixed)} declare(s) no between-patient variability to sample")
            raise OpiaxisInputError("; ".join(parts), field="--parameter")
        return list(names)
    if modules:
        known = {p.module for p in model.parameters}
        bad = [m for m in modules if m not in known]
        if bad:
            raise OpiaxisInputError(f"unknown module(s) {', '.join(bad)}; the model has {', '.join(sorted(known))}",
                                    field="--module")
        variable = [p for p in variable if p.module in modules]
    variable = [p for p in variable if p.name not in external]
    if not variable:
        where = f" in module(s) {', '.join(modules)}" if modules else ""
        raise OpiaxisInputError(f"no parameter with between-patient variability{where} to analyse",
                                field="--module" if modules else "--parameter")
    return [p.name for p in variable]


def unit_to_parameters(model: Model, names: list[str], U: np.ndarray) -> np.ndarray:
    """Map unit-hypercube samples (runs, factors) to parameter matrices through each factor's
    declared distribution (inverse CDF), at the typical values of every other parameter."""
    P = np.tile(model.default_parameters(), (U.shape[0], 1))
    Z = ndtri(np.clip(U, 1e-6, 1 - 1e-6))
    for col, name in enumerate(names):
        p = model.parameters[model.param_index[name]]
        P[:, model.param_index[name]] = p.at_z(P[:, model.param_index[name]], Z[:, col])
    return P


def _simulate_outcome(model: Model, P: np.ndarray, times: np.ndarray, doses: EventTable, outcome: Outcome,
                      rtol: float) -> tuple[np.ndarray, np.ndarray]:
    from .engine import SolverOptions, simulate
    ids = np.arange(1, P.shape[0] + 1)
    dose_rows = doses.for_ids(ids).expanded() if len(doses) else None
    res = simulate(model, P, times, dose_rows, ids=ids, options=SolverOptions(rtol=rtol))
    return outcome.evaluate(times, res.get(outcome.variable)), res.stats[:, 2]


def evaluate(model: Model, P: np.ndarray, times: np.ndarray, regimens: list[str] | EventTable, outcome: Outcome, *,
             rtol: float = 1e-5, chunk_size: int = 256, client=None, progress=None) -> tuple[np.ndarray, np.ndarray]:
    """The outcome for every row of ``P`` (and the solver status), in chunks; with a Dask
    ``client`` the chunks run on its workers (the model is sent with them). ``regimens``: texts
    or an :class:`~opiaxis.dosing.EventTable` (parsed once, given to every row)."""
    doses = regimens if isinstance(regimens, EventTable) else EventTable.from_regimens(model, regimens)
    spans = [(a, min(a + chunk_size, len(P))) for a in range(0, len(P), chunk_size)]
    y = np.empty(len(P))
    status = np.empty(len(P), np.int64)
    if client is None:
        for k, (a, b) in enumerate(spans):
            y[a:b], status[a:b] = _simulate_outcome(model, P[a:b], times, doses, outcome, rtol)
            if progress:
                progress(k + 1, len(spans))
    else:
        from distributed import as_completed
        futures = {client.submit(_simulate_outcome, model, P[a:b], times, doses, outcome, rtol, pure=False): (a, b)
                   for a, b in spans}
        for k, fut in enumerate(as_completed(futures)):
            a, b = futures[fut]
            y[a:b], status[a:b] = fut.result()
            if progress:
                progress(k + 1, len(spans))
    return y, status


@dataclass(kw_only=True)
class SensitivityResult:
    method: str
    outcome: Outcome
    regimens: list[str]
    horizon_hours: float
    runs: int
    indices: pd.DataFrame          # one row per factor, sorted by importance
    outcome_values: np.ndarray     # the model outputs of every run

    def summary(self) -> str:
        y = self.outcome_values
        return (f"{self.method} on {self.outcome.label} under {'; '.join(self.regimens) or 'no dosing'} over "
                f"{self.horizon_hours / 24:g} d: {self.runs} runs, {len(self.indices)} factors; outcome median "
                f"{np.median(y):.4g} (5–95%: {np.percentile(y, 5):.4g}–{np.percentile(y, 95):.4g})")


def analyse(model: Model, *, outcome: str, regimens: list[str], horizon: str | float = "14 d",
            method: str = "morris", n: int | None = None, parameters: list[str] | None = None,
            modules: list[str] | None = None, every: str | float = "1 h", seed: int = 0, rtol: float = 1e-5,
            client=None, progress=None) -> SensitivityResult:
    """Run a global sensitivity analysis (see the module docstring).

    ``n``: Morris trajectories (default 10) or Sobol' base samples (default 256, a power of 2).
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    horizon_h = parse_hours(horizon, "--horizon")
    step_h = parse_hours(every, "--every")
    if step_h > horizon_h:
        raise OpiaxisInputError(f"read-out interval {every!r} is longer than the horizon {horizon!r}; expected at "
                                "least two read-outs", field="--every")
    times = np.arange(0.0, horizon_h + 0.5 * step_h, step_h)
    out = parse_outcome(outcome, model, horizon_h)
    doses = EventTable.from_regimens(model, regimens)  # located regimen errors before any simulation
    names = factors(model, parameters, modules)
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    if method == "morris":
        n = n or 10
        if n < 2:
            raise OpiaxisInputError("Morris needs at least 2 trajectories", field="--n")
        U = morris_sample.sample(problem, n, num_levels=4, seed=seed)
    elif method == "sobol":
        n = n or 256
        if n < 8 or n & (n - 1):
            raise OpiaxisInputError(f"Sobol' base samples must be a power of 2 >= 8, got {n}", field="--n")
        U = sobol_sample.sample(problem, n, calc_second_order=False, seed=seed)
    else:
        raise OpiaxisInputError(f"unknown method {method!r}; expected 'morris' or 'sobol'", field="--method")
    y, status = evaluate(model, unit_to_parameters(model, names, U), times, doses, out, rtol=rtol,
                         client=client, progress=progress)
    bad = (status != 0) | ~np.isfinite(y)
    if bad.any():
        raise OpiaxisInputError(f"{int(bad.sum())} of {len(y)} runs failed in the solver or gave a non-finite "
                                f"{out.label}; narrow the factors (--parameter/--module) or tighten --rtol", field="--outcome")
    if method == "morris":
        r = morris_analyze.analyze(problem, U, y, num_levels=4, conf_level=0.95, seed=seed)
        table = pd.DataFrame({"parameter": names, "mu_star": r["mu_star"], "mu_star_ci95": r["mu_star_conf"],
                              "mu": r["mu"], "sigma": r["sigma"]}).sort_values("mu_star", ascending=False)
    else:
        r = sobol_analyze.analyze(problem, y, calc_second_order=False, conf_level=0.95, seed=seed)
        table = pd.DataFrame({"parameter": names, "S1": r["S1"], "S1_ci95": r["S1_conf"],
                              "ST": r["ST"], "ST_ci95": r["ST_conf"]}).sort_values("ST", ascending=False)
    table.insert(1, "module", [model.parameters[model.param_index[p]].module for p in table["parameter"]])
    table.insert(2, "unit", [model.parameters[model.param_index[p]].unit for p in table["parameter"]])
    return SensitivityResult(method=method, outcome=out, regimens=list(regimens), horizon_hours=horizon_h, runs=len(y),
                             indices=table.reset_index(drop=True), outcome_values=y)


def plot(result: SensitivityResult, path, top: int = 15) -> None:
    """A bar chart of the leading factors with their 95% confidence intervals."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t = result.indices.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(t) + 1.6))
    if result.method == "morris":
        ax.barh(t["parameter"], t["mu_star"], xerr=t["mu_star_ci95"], color="#4c72b0")
        ax.set_xlabel(f"Morris μ* (effect on {result.outcome.label})")
    else:
        yy = np.arange(len(t))
        ax.barh(yy + 0.2, t["ST"], 0.4, xerr=t["ST_ci95"], label="total (ST)", color="#4c72b0")
        ax.barh(yy - 0.2, t["S1"], 0.4, xerr=t["S1_ci95"], label="first order (S1)", color="#dd8452")
        ax.set_yticks(yy, t["parameter"])
        ax.set_xlabel(f"Sobol' index of {result.outcome.label}")
        ax.legend(loc="lower right")
    ax.set_title(f"{result.method}: {'; '.join(result.regimens) or 'no dosing'}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
