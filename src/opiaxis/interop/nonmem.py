"""NONMEM-style datasets: read them as an event table plus observations, simulate them, and
write simulated datasets in the same format.

A dataset has one row per record with the columns ID, TIME (h), EVID (0 observation, 1 dose,
2 other, 3 reset, 4 reset and dose), AMT (mg), CMT, DV, MDV and optionally RATE, II, ADDL and
covariate columns (see :mod:`opiaxis.dosing` for the dose items).

* **Dose rows** (EVID 1/4): CMT is a dosing compartment ``<drug>.<route>``, or a number that an
  explicit mapping (``cmt_map``, ``--cmt-map 1=morphine.iv``) names; a number without a mapping
  is an error listing the compartments (never a guess).
* **Observation rows** (EVID 0): CMT names the model variable observed (a state or an
  assignment such as ``buprenorphine_plasma``); when CMT is empty, or a number as NONMEM
  datasets often carry, the variable given as ``dv=`` is used. ``MDV = 0`` means DV is an
  observation; ``MDV = 1`` a row that only asks for a prediction.
* **DV and MDV**: on every row with a DV value MDV must be 0 or 1; MDV = 0 only on EVID 0 rows,
  and then DV must be a number. Without an MDV column it is inferred as NONMEM does: 0 on
  EVID 0 rows with a numeric DV, 1 elsewhere.
* **Covariates**: a column whose name is a model parameter sets that parameter for the ID
  (constant within an ID); other columns are carried through unchanged.

Simulated datasets put the model's value in DV at every observation row (MDV = 0 there, 1
elsewhere), missing values written as ``.``. An observation at the time of a dose reports the
state after the dose (the engine's convention, whatever the row order).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import checks, dosing
from ..errors import OpiaxisInputError
from ..model.core import Model

_NONMEM_ITEMS = set(dosing.EVENT_COLUMNS) | {"DV", "MDV", "SS", "CMT"}


@dataclass(kw_only=True)
class NonmemData:
    """A read dataset: ``events`` (validated event table, every row), ``observations`` (one row
    per EVID 0 record: ROW, ID, TIME, VARIABLE, DV, MDV), ``covariates`` (ID × parameter
    columns), the file name and the original column order."""

    events: pd.DataFrame
    observations: pd.DataFrame
    covariates: pd.DataFrame
    file: str
    columns: list[str] = field(default_factory=list)
    dv_unit: str | None = None   # the unit of DV in the file (None: the model's unit of each variable)

    @property
    def ids(self) -> np.ndarray:
        return pd.unique(self.events["ID"])

    def doses(self) -> pd.DataFrame:
        """Expanded dose rows (ADDL/II as explicit doses) for :func:`opiaxis.engine.simulate`."""
        return dosing.expand_doses(self.events)


def _raw(source, name):
    """(string frame, line numbers or None, label)."""
    if isinstance(source, pd.DataFrame):
        return source.reset_index(drop=True).copy(), None, name or "<DataFrame>"
    path = Path(source)
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            return pd.read_parquet(path), None, str(path)
        except (OSError, ValueError, ImportError) as exc:
            raise OpiaxisInputError(f"cannot read parquet dataset: {exc}", file=str(path)) from None
    frame, lines = dosing.read_csv_with_lines(path)
    return frame, lines, str(path)


def _number(v):
    if dosing.is_missing(v):
        return None
    try:
        x = float(str(v).strip()) if isinstance(v, str) else float(v)
    except (TypeError, ValueError):
        return "bad"
    return x if math.isfinite(x) else "bad"


def _dv_factor(model: Model, var: str, unit: str, where) -> float:
    """Model units of ``var`` per ``unit`` (DV given in another unit)."""
    from ..model.units import ureg
    try:
        return float(ureg.Quantity(1.0, unit).to(ureg(model.unit_of(var))).magnitude)
    except Exception as exc:  # pint: undefined unit, dimensionality
        raise OpiaxisInputError(f"DV unit {unit!r} cannot be converted to {model.unit_of(var)!r}, the unit of "
                                f"{var} ({type(exc).__name__}); expected a unit such as ng/mL", **where) from None


def read_nonmem(source, model: Model, *, dv: str | None = None, name: str | None = None,
                cmt_map=None, dv_unit: str | None = None) -> NonmemData:
    """Read and check a NONMEM-style dataset (CSV, Parquet or a DataFrame).

    ``dv``: the model variable observed on rows whose CMT does not name one.
    ``cmt_map``: numeric CMT values of dose rows -> dosing compartments (``{1: "morphine.iv"}``
    or text for :func:`opiaxis.dosing.parse_cmt_map`); without it a numeric CMT on a dose row is
    an error that lists the compartments.
    ``dv_unit``: the unit of DV (e.g. ``"ug/L"``), also read from a header such as ``DV[ug/L]``
    or ``DV (ug/L)``; DV is converted to the model's unit of each observed variable, and
    :func:`simulate_dataset` writes it back in this unit. EVID 2 rows are kept and not simulated.

    Raises :class:`OpiaxisInputError` naming file, line (or row), column and what was expected,
    for: DV on a row without MDV (when there is an MDV column), MDV not 0/1, MDV = 0 on a non-EVID-0
    row or without a numeric DV, TIME decreasing within an ID, an unknown CMT (dose rows: not a
    dosing compartment; observation rows: not a model variable and no ``dv``), a covariate that
    changes within an ID — and everything :func:`opiaxis.dosing.read_event_table` rejects.
    """
    raw, lines, label = _raw(source, name)
    raw, dv_unit = _dv_unit_from_header(raw, dv_unit, label, lines)
    loc = dosing.RowLocator(label, lines, list(raw.index))
    known_vars = set(model.state_names) | set(model.assignment_index)
    if dv is not None and dv not in known_vars:
        raise OpiaxisInputError(f"dv {dv!r} is not a model variable; expected a state or an "
                                "assignment such as 'buprenorphine_plasma'", field="dv")
    raw = _nonmem_defaults(raw)
    upper = {str(c).strip().upper(): c for c in raw.columns}

    # the event part: every dose item, TIME order, dose CMT (errors with lines)
    cmt_names = sorted(model.dose_targets)
    if cmt_map is not None:
        cmt_map = dosing.parse_cmt_map(cmt_map, cmt_names, variables=known_vars)
    events = dosing.read_event_table(raw, cmt_names=cmt_names, name=label, cmt_map=cmt_map,
                                     allow_index=False, lines=lines)
    if len(events) != len(raw):  # pragma: no cover - read_event_table keeps every non-blank row
        raise OpiaxisInputError("internal: row count changed while reading", file=label)
    observed = _ObservedVariable(known=known_vars, cmt_names=cmt_names, cmt_map=cmt_map, dv=dv)
    obs = _observations(raw, upper, events, observed, loc)
    if dv_unit is not None:
        for var, sel in obs.groupby("VARIABLE").indices.items():
            f = _dv_factor(model, var, dv_unit, {"file": label, "field": "DV"})
            obs.loc[obs.index[sel], "DV"] = obs["DV"].to_numpy(float)[sel] * f
    cov = _covariates(events, model, loc)
    return NonmemData(events=events, observations=obs, covariates=cov, file=label,
                      columns=[str(c) for c in raw.columns], dv_unit=dv_unit)


def _dv_unit_from_header(raw: pd.DataFrame, dv_unit: str | None, label: str,
                         lines) -> tuple[pd.DataFrame, str | None]:
    """A DV column headed ``DV[ug/L]`` or ``DV (ug/L)`` is DV in that unit (it must agree with
    ``dv_unit`` when both are given)."""
    for col in list(raw.columns):
        m = re.fullmatch(r"\s*DV\s*[\[(]\s*(.+?)\s*[\])]\s*", str(col), flags=re.IGNORECASE)
        if m:
            if dv_unit is not None and dv_unit != m.group(1):
                raise OpiaxisInputError(f"the header gives DV in {m.group(1)!r} but dv_unit is {dv_unit!r}",
                                        file=label, line=1 if lines is not None else None, field="DV")
            dv_unit = m.group(1)
            raw = raw.rename(columns={col: "DV"})
    return raw, dv_unit


def _nonmem_defaults(raw: pd.DataFrame) -> pd.DataFrame:
    """NONMEM's defaults for absent items: EVID from AMT (a record with AMT > 0 is a dose), CMT 1
    for doses (the default dose compartment; it needs cmt_map like any number)."""
    upper = {str(c).strip().upper(): c for c in raw.columns}
    if "EVID" not in upper and "AMT" in upper:
        amt = pd.to_numeric(raw[upper["AMT"]].map(lambda v: None if dosing.is_missing(v) else v), errors="coerce")
        raw["EVID"] = np.where(amt.fillna(0).to_numpy(float) > 0, 1, 0)
    if "CMT" not in upper and "ID" in upper:
        evid_now = pd.to_numeric(raw["EVID"] if "EVID" in raw else raw[upper["EVID"]], errors="coerce")
        raw["CMT"] = np.where(evid_now.isin((1, 4)), "1", ".")
    return raw


@dataclass(frozen=True, kw_only=True)
class _ObservedVariable:
    """What an observation row's CMT may name: a model variable (``known``), a number of
    ``cmt_map``, or (empty, a number, a dosing compartment) the variable ``dv``."""

    known: set[str]
    cmt_names: list[str]
    cmt_map: dict[int, str] | None
    dv: str | None

    def of(self, cmt, pos: int, loc) -> str:
        text = None if dosing.is_missing(cmt) else str(cmt).strip()
        if text is not None and self.cmt_map is not None and _number(text) not in (None, "bad") \
                and float(text) == int(float(text)) and int(float(text)) in self.cmt_map:
            text = self.cmt_map[int(float(text))]
        if text is not None and text in self.known:
            return text
        if self.dv is not None and (text is None or _number(text) not in (None, "bad")
                                    or text.lower() in {x.lower() for x in self.cmt_names}):
            return self.dv
        hint = dosing.suggest(text, sorted(self.known)) if text else ""
        what = f"CMT {text!r} is not a model variable" if text else "CMT is missing"
        raise loc.error(f"{what} on an observation row (EVID 0); expected a state or "
                        f"assignment such as 'buprenorphine_plasma'{hint}, or give the observed "
                        "variable as dv=", pos, "CMT")


def _observations(raw: pd.DataFrame, upper: dict, events: pd.DataFrame, observed: _ObservedVariable,
                  loc) -> pd.DataFrame:
    """One row per EVID 0 record (ROW, ID, TIME, VARIABLE, DV, MDV), after checking DV and MDV
    on every row; without an MDV column it is inferred as NONMEM does (an EVID 0 row with a DV
    value is an observation)."""
    n = len(raw)
    evid = events["EVID"].to_numpy(int)
    dv_raw = raw[upper["DV"]].tolist() if "DV" in upper else [None] * n
    if "MDV" in upper:
        mdv_raw = raw[upper["MDV"]].tolist()
    else:
        mdv_raw = [0 if evid[i] == 0 and _number(dv_raw[i]) not in (None, "bad") else 1 for i in range(n)]
    cmt_raw = raw[upper["CMT"]].tolist()
    rows = []
    for i in range(n):
        dval, mval = _dv_and_mdv(dv_raw[i], mdv_raw[i], evid[i], i, loc)
        if evid[i] != 0:
            continue
        rows.append({"ROW": i, "ID": events["ID"].iat[i], "TIME": float(events["TIME"].iat[i]),
                     "VARIABLE": observed.of(cmt_raw[i], i, loc), "DV": np.nan if dval is None else dval,
                     "MDV": 1 if mval is None else int(mval)})
    return pd.DataFrame(rows, columns=["ROW", "ID", "TIME", "VARIABLE", "DV", "MDV"])


def _dv_and_mdv(dv_text, mdv_text, evid: int, pos: int, loc) -> tuple[float | None, float | None]:
    """DV and MDV of one row (None where missing): DV a number or missing, MDV 0 or 1 wherever DV
    is given, MDV 0 only on an EVID 0 row with a DV."""
    dval, mval = _number(dv_text), _number(mdv_text)
    if dval == "bad":
        raise loc.error(f"DV is {dv_text!r}; expected a number or '.' (missing)", pos, "DV")
    if mval == "bad" or (mval is not None and mval not in (0.0, 1.0)):
        raise loc.error(f"MDV is {mdv_text!r}; expected 0 (DV is an observation) or 1", pos, "MDV")
    if dval is not None and mval is None:
        raise loc.error(f"DV is {dv_text!r} but MDV is missing; expected MDV 0 (DV is an "
                        "observation) or 1 (DV not used)", pos, "MDV")
    if mval == 0.0 and evid != 0:
        raise loc.error(f"MDV is 0 on an EVID {evid} row; expected MDV 1 on dose, other and "
                        "reset rows (only EVID 0 rows carry observations)", pos, "MDV")
    if mval == 0.0 and dval is None:
        raise loc.error("MDV is 0 but DV is missing; expected a numeric DV on an observation "
                        "row (or MDV 1)", pos, "DV")
    return dval, mval


def _covariates(events: pd.DataFrame, model: Model, loc) -> pd.DataFrame:
    """Columns named after model parameters: one plausible value per ID (ID × parameter)."""
    cov_cols = [c for c in events.columns if c not in _NONMEM_ITEMS and str(c) in model.param_index]
    cov = pd.DataFrame({"ID": pd.unique(events["ID"])})
    for c in cov_cols:
        vals = pd.to_numeric(events[c], errors="coerce")
        bad = vals.isna() | ~np.isfinite(vals.to_numpy(float, na_value=np.nan))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise loc.error(f"covariate {c} is {events[c].iat[i]!r}; expected a finite number "
                            f"(the value of parameter {c} in {model.unit_of(c)})", i, c)
        lo, hi = checks.bounds(model.parameters[model.param_index[c]])
        out_of = ((vals < lo) | (vals > hi)).to_numpy()
        if out_of.any():
            i = int(np.flatnonzero(out_of)[0])
            try:
                checks.parameter_value(model, c, float(vals.iat[i]))
            except OpiaxisInputError as exc:
                raise loc.error(f"covariate {exc.message}", i, c) from None
        first = vals.groupby(events["ID"], sort=False).transform("first")
        changed = (vals != first).to_numpy()
        if changed.any():
            i = int(np.flatnonzero(changed)[0])
            raise loc.error(f"covariate {c} changes within ID {events['ID'].iat[i]} "
                            f"({first.iat[i]:g} -> {vals.iat[i]:g}); expected one value per ID "
                            "(time-varying covariates are not supported)", i, c)
        cov[c] = vals.groupby(events["ID"], sort=False).first().to_numpy()
    return cov


def simulate_dataset(model: Model, data: NonmemData, params=None, *, options=None) -> pd.DataFrame:
    """Simulate every ID of a dataset with its doses and return the dataset with DV simulated at
    the observation rows (MDV 0 there, 1 elsewhere).

    ``params``: None (typical values), an array (IDs in order of appearance × parameters) or a
    DataFrame with an ``ID`` column and parameter columns; covariate columns of the dataset that
    name parameters override both. An SS = 1 dose after an ID's first record resets that ID to
    the steady state of its dose (a separate run-in), and the simulation continues from there.
    """
    ids = data.ids
    P = np.tile(model.default_parameters(), (len(ids), 1))
    if isinstance(params, pd.DataFrame):
        if "ID" not in params.columns:
            raise OpiaxisInputError("params table has no ID column", field="ID")
        idx = {i: k for k, i in enumerate(ids)}
        for c in params.columns:
            if c == "ID":
                continue
            if c not in model.param_index:
                raise OpiaxisInputError(f"unknown parameter column {c!r}", field=str(c))
            vals = checks.parameter_values(model, c, pd.to_numeric(params[c], errors="coerce"), field=f"params.{c}")
            for i, v in zip(params["ID"], vals):
                if i in idx:
                    P[idx[i], model.param_index[c]] = v
    elif params is not None:
        A = np.atleast_2d(np.asarray(params, float))
        if A.shape != P.shape:
            raise OpiaxisInputError(f"params has shape {A.shape}; expected {P.shape} (IDs × parameters)",
                                    field="params")
        P = A.copy()
    for c in data.covariates.columns:
        if c != "ID":
            P[:, model.param_index[c]] = checks.parameter_values(model, c, data.covariates[c], file=data.file,
                                                                 field=f"covariate column {c}")
    obs = data.observations
    if not len(obs):
        raise OpiaxisInputError("the dataset has no observation rows (EVID 0); expected at least one "
                                "row at which to simulate DV", file=data.file, field="EVID")
    doses = dosing.expand_doses(data.events, late_steady_state="reset")
    resets = _steady_state_resets(data.events)
    pos = {i: k for k, i in enumerate(ids)}
    values = np.full(len(obs), np.nan)
    plain = [i for i in ids if i not in resets]
    if plain:   # one batch: IDs without a steady-state reset after their first record
        sel_obs = obs["ID"].isin(plain).to_numpy()
        if sel_obs.any():
            d = doses[doses["ID"].isin(plain)]
            rows = [pos[i] for i in plain]
            _fill(values, sel_obs, obs, model, P[rows], plain, d, options)
    for i in resets:   # per ID, in segments: each SS = 1 record restarts from its steady state
        bounds = [float(data.events.loc[data.events["ID"] == i, "TIME"].min())] + [t for t, _ in resets[i]] + [np.inf]
        d_id = doses[doses["ID"] == i]
        for s in range(len(bounds) - 1):
            lo, hi = bounds[s], bounds[s + 1]
            sel_obs = ((obs["ID"] == i) & (obs["TIME"] >= lo) & (obs["TIME"] < hi)).to_numpy()
            if not sel_obs.any():
                continue
            x0 = None if s == 0 else _steady_state(model, P[pos[i]], resets[i][s - 1], i, options)
            seg = d_id[(d_id["TIME"] >= lo) & (d_id["TIME"] < hi)]
            if s > 0:   # the system starts at its steady state: the reset part of the SS record is done
                seg = seg[seg["EVID"] != 3].assign(EVID=lambda f: np.where(f["EVID"] == 4, 1, f["EVID"]))
            _fill(values, sel_obs, obs, model, P[[pos[i]]], [i], seg, options, t0=lo, x0=x0)
    out = data.events.copy()
    out["DV"] = np.nan
    out["MDV"] = 1
    if data.dv_unit is not None:   # back in the file's unit
        for var, sel in obs.groupby("VARIABLE").indices.items():
            values[sel] = values[sel] / _dv_factor(model, var, data.dv_unit, {"file": data.file, "field": "DV"})
    out.loc[obs["ROW"].to_numpy(), "DV"] = values
    out.loc[obs["ROW"].to_numpy(), "MDV"] = 0
    cmt = out["CMT"].astype(object).to_numpy()
    cmt[obs["ROW"].to_numpy()] = obs["VARIABLE"].to_numpy()
    out["CMT"] = cmt
    return out


def _steady_state_resets(events: pd.DataFrame) -> dict:
    """{ID: [(time, SS row), ...]} for SS = 1 doses after an ID's first record."""
    if "SS" not in events.columns:
        return {}
    first = events.groupby("ID", sort=False)["TIME"].transform("min")
    late = events[(events["SS"] == 1) & (events["TIME"] > first) & events["EVID"].isin((1, 4))]
    out: dict = {}
    for _, row in late.iterrows():
        out.setdefault(row["ID"], []).append((float(row["TIME"]), row))
    return out


def _steady_state(model: Model, params: np.ndarray, reset, pid, options) -> np.ndarray:
    """The state just before an SS = 1 dose: a run-in of identical doses every II from the
    initial state, alone (the history before the reset does not count)."""
    from ..engine import simulate
    t, row = reset
    ii = float(row["II"])
    k = int(max(dosing.SS_RUN_IN_DOSES, np.ceil(dosing.SS_RUN_IN_HOURS / ii)))
    times = t - ii * np.arange(k, 0, -1)
    run_in = pd.DataFrame({"ID": pid, "TIME": times, "EVID": 1, "AMT": float(row["AMT"]), "CMT": row["CMT"],
                           "RATE": float(row["RATE"]), "ORDER": np.arange(k)})
    res = simulate(model, params[None, :], [t], run_in, ids=[pid], t0=float(times[0]), options=options)
    return res.states[0, 0, :].copy()


def _fill(values, sel, obs, model, P, ids, doses, options, t0=None, x0=None):
    """Simulate ``ids`` with ``doses`` and put the values of the observation rows ``sel``."""
    from ..engine import simulate
    part = obs[sel]
    times = np.unique(part["TIME"].to_numpy(float))
    if t0 is None:   # a steady-state run-in starts before 0
        t0 = min(0.0, float(doses["TIME"].min())) if len(doses) else 0.0
    res = simulate(model, P, times, doses, ids=ids, t0=t0, x0=x0, options=options)
    pos = {i: k for k, i in enumerate(ids)}
    ti = np.searchsorted(times, part["TIME"].to_numpy(float))
    pi = part["ID"].map(pos).to_numpy(int)
    idx = np.flatnonzero(sel)
    for var, rows in part.groupby("VARIABLE").indices.items():
        values[idx[rows]] = res.get(var)[pi[rows], ti[rows]]


def cmt_map_path(path) -> Path:
    """Where :func:`write_nonmem` writes the CMT mapping of a dataset: ``<name>.cmt.txt``."""
    p = Path(path)
    return p.with_name(p.stem + ".cmt.txt")


def write_nonmem(df: pd.DataFrame, path, *, numeric_cmt: bool = True) -> Path:
    """Write a dataset as CSV with NONMEM's ``.`` for missing values; columns ID, TIME, EVID,
    AMT, CMT, RATE, II, ADDL, DV, MDV first (those present), then the rest.

    NONMEM reads numbers only: with ``numeric_cmt`` (the default) CMT names are written as
    numbers (dosing compartments first, in order of appearance, then observed variables) and
    the mapping is written next to the file (:func:`cmt_map_path`, lines ``1=buprenorphine.sl``),
    ready for ``read_nonmem(..., cmt_map=that file)`` or ``--cmt-map``."""
    first = [c for c in ("ID", "TIME", "EVID", "AMT", "CMT", "RATE", "II", "ADDL", "DV", "MDV") if c in df.columns]
    out = df[first + [c for c in df.columns if c not in first]].reset_index(drop=True)
    p = Path(path)
    if numeric_cmt and "CMT" in out.columns:
        cmt = out["CMT"]
        names = cmt[cmt.map(lambda v: isinstance(v, str) and not dosing.is_missing(v) and _number(v) == "bad")]
        if len(names):
            evid = pd.to_numeric(out["EVID"], errors="coerce") if "EVID" in out.columns else pd.Series(0, out.index)
            order = list(pd.unique(names[evid.loc[names.index].isin((1, 4)).to_numpy()]))
            order += [n for n in pd.unique(names) if n not in order]
            number = {n: k + 1 for k, n in enumerate(order)}
            out["CMT"] = cmt.map(lambda v: number.get(v, v))
            cmt_map_path(p).write_text("# CMT numbers of " + p.name + " (opiaxis): number=compartment or variable\n"
                                       + "".join(f"{k}={n}\n" for n, k in number.items()), encoding="utf-8")
    out.to_csv(p, index=False, na_rep=".", float_format="%.10g")
    return p
