"""Observation layer: what a study would measure, from the latent model variables.

``data/readouts.yaml`` declares every read-out (latent variable(s), unit, assay noise with its
source, limits of quantification, scale bounds, screening cutoffs, sequencing depth);
:func:`observe` applies them to a tidy results table (``patient, [arm,] time, variable, value,
unit`` as written by :func:`opiaxis.study.run_study` or :meth:`Results.to_frame`) and returns
tidy measurements::

    patient, [arm,] time, measurement, value, unit, censored, limit, variable

``censored`` is ``'<LLOQ'``, ``'>ULOQ'`` or ``''``; a censored row has ``value`` NaN — as a lab
reports "<0.2 pg/mL" — and the limit crossed in ``limit`` (for M3-style likelihoods).

Reproducibility: the noise of one read-out for one patient comes from its own stream, seeded by
``(seed, purpose, patient id, read-out name)`` (:class:`opiaxis.streams.Streams`); draws are
taken in time order. The same seed and the same visit times give the same measurements
whatever the chunking, the order of patients or the other read-outs requested. Give the visits
(``visits=``) or subsample to them (:func:`visit_schedule`) before observing; a read-out that
recalls a window (BFI, SBM/week: :mod:`opiaxis.observe.window`) needs the table's rows inside its
window, so it needs ``visits=`` on the full table.

A read-out whose latent variable the model (or the results table) lacks is skipped with a note
in ``df.attrs["notes"]``, not an error — modules join the model over time. A malformed
read-out entry is an :class:`~opiaxis.errors.OpiaxisInputError` naming file, entry and field.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import OpiaxisInputError
from ..model.units import ureg
from ..streams import Purpose, Streams
from .assays import (Readout, diversity, integral_factor, load_readouts, observe_binary,
                     observe_continuous, observe_counts, observe_poisson, observe_scale,
                     parse_readouts, template_drug_readout, term_factor)
from .window import sampling

__all__ = ["load_readouts", "parse_readouts", "observe", "visit_schedule", "to_petab_measurements",
           "write_measurements", "Readout", "MEASUREMENT_COLUMNS", "PETAB_COLUMNS"]

log = logging.getLogger(__name__)

MEASUREMENT_COLUMNS = ["patient", "time", "measurement", "value", "unit", "censored", "limit", "variable"]
PETAB_COLUMNS = ["observableId", "preequilibrationConditionId", "simulationConditionId", "measurement",
                 "time", "observableParameters", "noiseParameters"]


def readout_stream(seed: int, patient, readout: str) -> np.random.Generator:
    """The assay-noise stream of one patient and read-out (:meth:`Streams.patient`)."""
    return Streams(seed).patient(patient, Purpose.READOUT, readout)


def _check_table(df: pd.DataFrame) -> None:
    if not isinstance(df, pd.DataFrame):
        raise OpiaxisInputError("expected a results table (pandas DataFrame)", field="results_table")
    missing = [c for c in ("patient", "time", "variable", "value") if c not in df.columns]
    if missing:
        raise OpiaxisInputError(f"results table lacks columns {missing}; expected patient, time, variable, "
                                "value, unit", field="results_table")


class _Resolver:
    """Which latent variables exist, with which units, in the table and the model."""

    def __init__(self, table: pd.DataFrame, model):
        self.in_table = set(map(str, table["variable"].unique()))
        self.model = model
        self.in_model = None
        if model is not None:
            self.in_model = set(model.state_names) | set(model.assignment_index)
        self.units = {}
        if "unit" in table.columns:
            u = table[["variable", "unit"]].drop_duplicates("variable")
            self.units = dict(zip(u["variable"].astype(str), u["unit"].astype(str)))

    def unit(self, v: str) -> str:
        if v in self.units and self.units[v] not in ("", "nan", "None"):
            return self.units[v]
        if self.model is not None:
            try:
                return self.model.unit_of(v)
            except KeyError:
                pass
        return "dimensionless"

    def status(self, v: str) -> str:
        """'ok', 'not_output' (model has it, table does not) or 'absent'."""
        if v in self.in_table:
            return "ok"
        if self.in_model is not None and v in self.in_model:
            return "not_output"
        return "absent"


def _resolve(r: Readout, res: _Resolver, notes: list[str]):
    """[(variable, factor, (integral, factor) or None)] for the read-out, or None (skipped, with a
    note). A windowed read-out's integral is used when the table has it."""
    picked, missing = [], []
    for term in r.terms:
        cand = next((c for c in term.options if res.status(c.name) == "ok"), None)
        if cand is None:
            not_out = [c for c in term.candidates if res.status(c) == "not_output"]
            missing.append((term, not_out))
            continue
        found = cand.name
        try:
            f = term_factor(r, cand, res.unit(found))
        except ValueError as exc:
            raise OpiaxisInputError(f"model variable {found!r} (unit {res.unit(found)!r}) cannot be "
                                    f"reported in {r.unit!r}: {exc}", file=r.file,
                                    field=f"readouts.{r.name}.unit") from None
        integral = None
        if r.window is not None and cand.integral is not None:
            if res.status(cand.integral) == "ok":
                integral = (cand.integral, integral_factor(r, cand, res.unit(cand.integral), res.unit(found)))
            else:
                notes.append(f"{r.name}: {cand.integral!r} is not in the results table; the window's mean of "
                             f"{found!r} is a trapezoid over the table's times")
        picked.append((found, f, integral))
    for term, not_out in missing:
        what = " or ".join(repr(c) for c in term.candidates)
        if not_out:
            notes.append(f"{r.name}: {not_out[0]!r} is in the model but not in the results table "
                         "(add it to the study outputs)")
        elif r.combine == "sum" and picked:
            notes.append(f"{r.name}: component {what} is absent from the model; measured without it")
        else:
            notes.append(f"{r.name}: skipped, the model has no {what}")
    if not picked or (r.combine == "first" and missing):
        return None
    return picked


def _taxa(r: Readout, res: _Resolver, notes):
    rx = re.compile(r.taxa)
    found = sorted((m.group(1), v) for v in res.in_table if (m := rx.fullmatch(v)))
    if not found:
        in_model = res.in_model and any(rx.fullmatch(v) for v in res.in_model)
        notes.append(f"{r.name}: " + ("taxa are in the model but not in the results table (add them to the outputs)"
                                      if in_model else f"skipped, no latent taxa match {r.taxa!r}"))
        return None
    return found


def _wide(table: pd.DataFrame, variables) -> pd.DataFrame:
    sub = table[table["variable"].astype(str).isin(set(variables))]
    w = sub.pivot_table(index=["patient", "time"], columns="variable", values="value", aggfunc="first",
                        observed=True, dropna=False)
    w.columns = [str(c) for c in w.columns]
    return w.sort_index()


def _per_patient(index: pd.MultiIndex):
    """(patient, row slice) over a (patient, time)-sorted index."""
    pats = index.get_level_values(0).to_numpy()
    if len(pats) == 0:
        return
    cut = np.flatnonzero(pats[1:] != pats[:-1]) + 1
    starts = np.r_[0, cut]
    ends = np.r_[cut, len(pats)]
    for s, e in zip(starts, ends):
        yield pats[s], slice(s, e)


def _frame(index, measurement, values, unit, censored, limit, variable):
    n = len(values)
    return pd.DataFrame({
        "patient": index.get_level_values(0).to_numpy(),
        "time": index.get_level_values(1).to_numpy(float),
        "measurement": measurement,
        "value": np.asarray(values, float),
        "unit": unit,
        "censored": censored if censored is not None else np.full(n, "", dtype=object),
        "limit": limit if limit is not None else np.full(n, np.nan),
        "variable": variable,
    })


def _observe_counts(r: Readout, table, taxa, seed):
    names = [t for t, _ in taxa]
    w = _wide(table, [v for _, v in taxa])[[v for _, v in taxa]].dropna(how="all")
    X = w.to_numpy(float)
    C = np.zeros_like(X)
    for pid, sl in _per_patient(w.index):
        C[sl] = observe_counts(X[sl], r, readout_stream(seed, pid, r.name))
    return w.index, names, [v for _, v in taxa], C


def _copy_set(defs):
    from .assays import ReadoutSet
    out = ReadoutSet(defs)
    out.drug_template = getattr(defs, "drug_template", None)
    out.drug_name = getattr(defs, "drug_name", "{drug}_conc")
    return out


def _with_drug_templates(defs: dict, res, model) -> dict:
    """Add a drug-level read-out for every ``<drug>_plasma`` of the model without one."""
    if model is None:
        return defs
    covered = {c for r in defs.values() for c in r.variables}
    for v in sorted(res.in_model):
        if v.endswith("_plasma") and v not in covered and any(
                k.startswith(v[: -len("_plasma")] + ".") for k in model.dose_targets):
            t = template_drug_readout(v[: -len("_plasma")], defs)
            if t is not None and t.name not in defs:
                defs[t.name] = t
    return defs


def _requested(readouts, defs: dict) -> list[str]:
    if readouts is None:
        return list(defs)
    if isinstance(readouts, str):
        readouts = [readouts]
    for j, n in enumerate(readouts):
        if n not in defs:
            import difflib
            hint = difflib.get_close_matches(str(n), sorted(defs), n=1)
            raise OpiaxisInputError(f"unknown read-out {n!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""),
                                    field=f"readouts[{j}]")
    return list(readouts)


def _counts_frames(r: Readout, defs: dict, results_table, res, seed: int, notes: list, cache: dict) -> list:
    """Frames of a 16S counts read-out (one per taxon) or of a diversity index computed from one."""
    src = r if r.kind == "counts" else defs[r.source_readout]
    if src.name not in cache:
        taxa = _taxa(src, res, notes)
        cache[src.name] = None if taxa is None else _observe_counts(src, results_table, taxa, seed)
    got = cache[src.name]
    if got is None:
        if r.kind == "diversity":
            notes.append(f"{r.name}: skipped, its counts read-out {src.name!r} has no taxa")
        return []
    idx, taxa_names, taxa_vars, C = got
    if r.kind == "counts":
        return [_frame(idx, f"{r.name}_{t}", C[:, j], r.label, None, None, v)
                for j, (t, v) in enumerate(zip(taxa_names, taxa_vars))]
    return [_frame(idx, r.name, diversity(C, r.metric), r.label, None, None,
                   "+".join(taxa_vars) if len(taxa_vars) <= 3 else f"{src.name} taxa")]


MIN_WINDOW_ROWS = 8   # assumed: fewer table rows than this in a week's trapezoid is a subsampled table, not a run's grid
_OBSERVERS = {"scale": observe_scale, "binary": observe_binary, "poisson": observe_poisson}


def _windowed(r: Readout, results_table, picked, visits, notes: list) -> tuple[pd.MultiIndex, np.ndarray]:
    """(patient, visit) index and latent values of a read-out that recalls a window: each
    patient's mean over [visit − window, visit] of the table's rows (:mod:`.window`; exact from
    the running integrals when every latent has one, else the trapezoid over the table's times),
    clipped at the patient's first simulated time. A trapezoid over fewer than
    ``MIN_WINDOW_ROWS`` rows (e.g. a table already subsampled to the visits) is noted."""
    exact = all(i is not None for _, _, i in picked)
    vars_ = [v for v, _, _ in picked] + ([i for _, _, (i, _) in picked] if exact else [])
    w = _wide(results_table, vars_)[vars_].dropna()
    lat = sum(f * w[v].to_numpy(float) for v, f, _ in picked)
    cum = sum(f * c * w[i].to_numpy(float) for _, f, (i, c) in picked) if exact else None
    idx, vals = [], []
    for pid, sl in _per_patient(w.index):
        grid = w.index.get_level_values(1).to_numpy(float)[sl]
        t = grid if visits is None else np.asarray(visits, float)
        t = t[(t >= grid[0] - 1e-9) & (t <= grid[-1] + 1e-9)]
        samp = sampling(t, r.window, float(grid[0]), nodes=grid, exact=exact)
        full = t - grid[0] >= r.window - 1e-9      # windows the table covers whole
        if not exact and (np.count_nonzero(samp.level[full], axis=1) < MIN_WINDOW_ROWS).any() \
                and not any(n.startswith(f"{r.name}: ") for n in notes):
            notes.append(f"{r.name}: some windows hold fewer than {MIN_WINDOW_ROWS} rows of the table; its "
                         f"{r.window:g} h mean is a coarse trapezoid (observe the full table with visits=)")
        vals.append(samp.apply(lat[sl], None if cum is None else cum[sl]))
        idx += [(pid, ti) for ti in t]
    return pd.MultiIndex.from_tuples(idx, names=["patient", "time"]), \
        (np.concatenate(vals) if vals else np.zeros(0))


def _latent_frame(r: Readout, results_table, picked, seed: int, visits=None, notes=None) -> pd.DataFrame:
    """A read-out of latent variables (weighted sum of ``picked``) with its assay noise, each
    patient from its own stream."""
    vars_ = [v for v, _, _ in picked]
    if r.window is not None:
        index, x = _windowed(r, results_table, picked, visits, [] if notes is None else notes)
    else:
        w = _wide(results_table, vars_)[vars_].dropna()
        index, x = w.index, np.zeros(len(w))
        for v, f, _ in picked:
            x = x + f * w[v].to_numpy(float)
    y = np.empty(len(index))
    cens = np.full(len(index), "", dtype=object)
    lim = np.full(len(index), np.nan)
    for pid, sl in _per_patient(index):
        rng = readout_stream(seed, pid, r.name)
        if r.kind == "continuous":
            y[sl], cens[sl], lim[sl] = observe_continuous(x[sl], r, rng)
        elif r.kind in _OBSERVERS:
            y[sl] = _OBSERVERS[r.kind](x[sl], r, rng)
    return _frame(index, r.name, y, r.label, cens, lim, "+".join(vars_))


def _assemble(frames: list, notes: list, results_table, explicit: bool, seed: int) -> pd.DataFrame:
    for n in notes:
        log.info("observe: %s", n)
    if explicit and not frames and notes:
        log.warning("observe: none of the requested read-outs could be measured: %s", "; ".join(notes))
    if frames:
        out = pd.concat(frames, ignore_index=True)
    else:
        out = pd.DataFrame({c: pd.Series(dtype=float if c in ("value", "time", "limit") else object)
                            for c in MEASUREMENT_COLUMNS})
    if "arm" in results_table.columns:
        arms = results_table[["patient", "arm"]].drop_duplicates("patient").set_index("patient")["arm"]
        out.insert(1, "arm", out["patient"].map(arms).astype(object))
    out = out.sort_values(["patient", "measurement", "time"], kind="mergesort").reset_index(drop=True)
    out.attrs["notes"] = notes
    out.attrs["seed"] = int(seed)
    return out


def observe(results_table: pd.DataFrame, readouts: list[str] | None = None, *, seed: int, model=None,
            definitions: dict[str, Readout] | str | Path | None = None, visits=None) -> pd.DataFrame:
    """Measurements of ``readouts`` (default: every read-out whose latent variables are in the
    table) with assay noise, units, censoring, rounding, as a tidy table.

    ``visits`` (hours, or '7 d', 'day 7', 'week 4'): measure at these times of the table
    (:func:`visit_schedule`); default every time of the table. A read-out that recalls a
    ``window`` (BFI, SBM/week) is the mean of its latent over the window before each visit, from
    the table's rows inside it (:mod:`opiaxis.observe.window`): give the full table and
    ``visits``, not a table already subsampled to the visits.

    ``model`` (optional) is used for units missing from the table, to tell "absent from the
    model" from "not in the study outputs", and to add a drug-level read-out for every
    ``<drug>_plasma`` of the model. ``definitions``: read-outs from :func:`load_readouts`, or a
    path to a read-out file (default: the shipped one).
    """
    _check_table(results_table)
    at_visits = results_table
    if visits is not None:
        visits = [_hours(t) for t in (visits if np.ndim(visits) else [visits])]
        at_visits = visit_schedule(results_table, visits)   # checks every visit is a simulated time
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise OpiaxisInputError(f"seed {seed!r} must be an integer", field="seed")
    defs = _copy_set(definitions if isinstance(definitions, dict) else load_readouts(definitions))
    res = _Resolver(results_table, model)
    defs = _with_drug_templates(defs, res, model)
    explicit = readouts is not None
    notes: list[str] = []
    frames, counts_cache = [], {}
    for name in _requested(readouts, defs):
        r = defs[name]
        if r.kind in ("counts", "diversity"):
            frames += _counts_frames(r, defs, at_visits, res, seed, notes, counts_cache)
            continue
        try:
            picked = _resolve(r, res, notes)
        except OpiaxisInputError as exc:
            if explicit:
                raise
            notes.append(f"{r.name}: skipped, unit mismatch: {exc.message}")
            continue
        if picked is not None:
            frames.append(_latent_frame(r, results_table if r.window is not None else at_visits, picked, seed,
                                        visits if r.window is not None else None, notes))
    return _assemble(frames, notes, results_table, explicit, seed)


# ----------------------------------------------------------------------------------------------

def _hours(t) -> float:
    if isinstance(t, (int, float, np.integer, np.floating)) and not isinstance(t, bool):
        return float(t)
    text = str(t).strip().replace("days", "day").replace("weeks", "week")
    m = re.fullmatch(r"(day|week)\s*([0-9.]+)", text)
    if m:  # "day 7", "week 4"
        text = f"{m.group(2)} {m.group(1)}"
    try:
        return float(ureg.Quantity(text).to("h").magnitude)
    except Exception:
        raise OpiaxisInputError(f"{t!r} is not a visit time; expected hours or e.g. '7 d', 'day 7', "
                                "'4 weeks'", field="times") from None


def visit_schedule(results_table: pd.DataFrame, times, *, tolerance: float = 1e-6) -> pd.DataFrame:
    """Rows of ``results_table`` at the study visits ``times`` (hours, or '7 d', 'day 7',
    'week 4'). Each visit takes the nearest simulated time; a visit further than ``tolerance``
    hours from every simulated time is an error (simulate on a grid that contains the visits)."""
    _check_table(results_table)
    visits = np.array([_hours(t) for t in (times if np.ndim(times) else [times])], float)
    grid = np.unique(results_table["time"].to_numpy(float))
    if len(grid) == 0:
        raise OpiaxisInputError("results table is empty", field="results_table")
    pos = np.clip(np.searchsorted(grid, visits), 1, len(grid) - 1) if len(grid) > 1 else np.zeros(len(visits), int)
    left, right = grid[pos - 1] if len(grid) > 1 else grid[pos], grid[pos]
    nearest = np.where(np.abs(visits - left) <= np.abs(visits - right), left, right)
    off = np.abs(nearest - visits) > tolerance
    if off.any():
        j = int(np.flatnonzero(off)[0])
        raise OpiaxisInputError(f"visit at {visits[j]:g} h is not a simulated time (nearest {nearest[j]:g} h); "
                                "simulate on a grid that contains every visit", field=f"times[{j}]")
    to_visit = dict(zip(nearest, visits))
    out = results_table[results_table["time"].isin(list(to_visit))].copy()
    out["time"] = out["time"].map(to_visit).astype(float)
    return out.reset_index(drop=True)


def to_petab_measurements(df: pd.DataFrame, observable_prefix: str = "", *, condition: str = "patient",
                          censored: str = "drop") -> pd.DataFrame:
    """A PEtab v1 measurement table from :func:`observe` output.

    ``observableId`` = prefix + measurement; ``simulationConditionId`` = ``patient_<id>``
    (``condition='patient'``; each virtual patient is its own condition, as in PEtab practice
    for individual fits) or the arm (``condition='arm'``). PEtab v1 has no censoring: censored
    rows are dropped (``censored='drop'``) or kept at their limit (``'limit'``).
    """
    if condition not in ("patient", "arm"):
        raise OpiaxisInputError("condition must be 'patient' or 'arm'", field="condition")
    if censored not in ("drop", "limit"):
        raise OpiaxisInputError("censored must be 'drop' or 'limit'", field="censored")
    if not re.fullmatch(r"[A-Za-z0-9_]*", observable_prefix) or re.match(r"[0-9]", observable_prefix or "_"):
        raise OpiaxisInputError(f"observable_prefix {observable_prefix!r} must be letters, digits and "
                                "underscores, not starting with a digit", field="observable_prefix")
    d = df
    cens = d["censored"].astype(str).ne("") if "censored" in d else pd.Series(False, index=d.index)
    value = d["value"].astype(float)
    if censored == "drop":
        d, value = d[~cens], value[~cens]
    else:
        value = value.where(~cens, d.get("limit", value))
    if condition == "arm":
        if "arm" not in d:
            raise OpiaxisInputError("the measurements have no arm column", field="condition")
        cond = d["arm"].astype(str).map(lambda a: re.sub(r"\W", "_", a))
    else:
        cond = "patient_" + d["patient"].astype(str)
    obs = (observable_prefix + d["measurement"].astype(str)).map(lambda s: re.sub(r"\W", "_", s))
    return pd.DataFrame({
        "observableId": obs.to_numpy(),
        "preequilibrationConditionId": "",
        "simulationConditionId": np.asarray(cond),
        "measurement": value.to_numpy(float),
        "time": d["time"].to_numpy(float),
        "observableParameters": "",
        "noiseParameters": "",
    }, columns=PETAB_COLUMNS)


def write_measurements(df: pd.DataFrame, path: str | Path) -> Path:
    """Write measurements as Parquet (``.parquet``) or PEtab-style TSV (``.tsv``) / CSV."""
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    if p.suffix == ".parquet":
        df.to_parquet(tmp, index=False)
    elif p.suffix == ".tsv":
        df.to_csv(tmp, sep="\t", index=False)
    else:
        df.to_csv(tmp, index=False)
    import os
    os.replace(tmp, p)
    return p
