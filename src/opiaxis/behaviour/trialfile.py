"""Behaviour-trial study files (``kind: behaviour-trial``): load with errors that name the file,
line and field; run (randomised arms of an OUD cohort through the behaviour layer); write
per-patient and per-day results, a summary and an HTML report with Kaplan–Meier curves of
relapse and retention and craving / oxytocin trajectories.

File layout (see examples/oud_treatment_24w.yaml)::

    kind: behaviour-trial
    name: ...
    seed: 2024                 # integer; with the patient id it fixes every random stream
    days: 168                  # follow-up
    population: {size: 120, fentanyl_supply: 0.0}
    behaviour: {naloxone_access: 0.5}          # optional overrides of behaviour parameters
    arms:
      - name: methadone+oxytocin
        treatment: methadone                   # none | no_replacement | methadone | bupnx | xrntx | detox | cncp
        inpatient_days: 0                      # optional
        medication:                            # optional: the treatment's medication as data
          dose: methadone 50 mg oral           #   (defaults: data/treatments.yaml)
          titration: {start: 30 mg, step: 10 mg, every: 3 d}   # or none (fixed dose)
          taper: {from_day: 85, over: 4 weeks, every: 1 week}  # or {from_day: 1, doses: [30, 25, ...]}
        detox: {...}                           # optional: inpatient detoxification taper, same keys
        behaviour:                             # optional, this arm only: typical values (the
          dropout_rate: 0.0002                 #   between-patient spread is kept), or
          naloxone_access: {value: 0.8, fixed: true}   # every patient exactly this value
        adjunct: ["oxytocin 24 IU intranasal q24h for 12 weeks"]   # optional regimen texts

The full format, every output file and every column: docs/trials.md.

Adjunct doses are given while the patient is in treatment (always in a 'none' arm).
Outcome definitions used in the outputs: relapse = first run of 7 consecutive days with use
(X:BOT's daily-use criterion, Lee et al. 2018), counted from the day after any inpatient stay;
retention = days until the patient leaves treatment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..dosing import EventTable, drug_routes, iu_factors, parse_regimen, suggest
from ..errors import OpiaxisInputError
from ..yamlio import check_keys, field_error, line_of, load_yaml_file
from .engine import TX_CODES, TX_NONE, CohortSim, runs
from .params import model_parameters
from .treatments import Treatment, default_treatments, parse_treatment

TOP_KEYS = ("kind", "name", "description", "seed", "days", "population", "behaviour", "arms")
ARM_KEYS = ("name", "treatment", "inpatient_days", "forced_abstinence_days", "behaviour", "adjunct", "medication",
            "detox")
# treatments that can follow forced abstinence (they start at release)
AFTER_RELEASE = ("none", "no_replacement", "methadone")
POP_KEYS = ("size", "fentanyl_supply")
RELAPSE_RUN_DAYS = 7
# treatments whose start the behaviour layer models only on an inpatient unit (without a stay the
# arm would silently get no medication)
INPATIENT_ONLY = {"detox": "the detoxification taper is given on the unit"}


@dataclass(frozen=True, kw_only=True)
class BehaviourSetting:
    """A behaviour parameter set by a trial file: the typical value (each patient keeps their
    between-patient deviation), or with ``fixed`` the value every patient gets."""
    value: float
    fixed: bool = False

    def __str__(self):
        return f"{self.value:g}" + (" (fixed)" if self.fixed else "")


@dataclass(kw_only=True)
class TrialArm:
    name: str
    treatment: str
    inpatient_days: float = 0.0
    behaviour: dict = field(default_factory=dict)   # name -> BehaviourSetting
    adjunct: list = field(default_factory=list)     # regimen texts
    regimen: Treatment | None = None                # the medication as data (defaults of the treatment)
    forced_abstinence_days: float = 0.0             # prison/hospital: no access to drugs, then release

    def __post_init__(self):
        if self.regimen is None:
            self.regimen = default_treatments()[self.treatment]


@dataclass(kw_only=True)
class TrialSpec:
    name: str
    seed: int
    days: int
    size: int
    arms: list
    fentanyl_supply: float = 0.0
    behaviour: dict = field(default_factory=dict)
    description: str = ""
    file: str | None = None
    kind: str = "behaviour-trial"


def _number(d, key, file, fld, *, lo=None, hi=None, integer=False, default=None):
    if key not in d or d[key] is None:
        if default is None:
            raise field_error(f"missing {key!r}", file, d, key, fld)
        return default
    v = d[key]
    kind = "an integer" if integer else "a number"
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or (integer and v != int(v)):
        raise field_error(f"{v!r} is not {kind}", file, d, key, fld)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f"≥ {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise field_error(f"{v!r} out of range; expected {kind} {rng}", file, d, key, fld)
    return int(v) if integer else float(v)


def _behaviour(d, file, fld, known):
    """``name: value`` sets the typical value (between-patient variability kept);
    ``name: {value: v, fixed: true}`` gives every patient exactly v. ``known``: the behaviour
    parameters of the model."""
    if d is None:
        return {}
    if not isinstance(d, dict):
        raise OpiaxisInputError("expected a mapping of behaviour parameter names to numbers", file=file,
                                line=getattr(d, "line", None), field=fld)
    out = {}
    for k in d:
        if k not in known:
            raise field_error(f"unknown behaviour parameter {k!r}{suggest(str(k), known)}", file, d, k, f"{fld}.{k}")
        v = d[k]
        if isinstance(v, dict):
            check_keys(v, ("value", "fixed"), file, f"{fld}.{k}")
            fixed = v.get("fixed", False)
            if not isinstance(fixed, bool):
                raise field_error(f"fixed is {fixed!r}; expected true or false", file, v, "fixed", f"{fld}.{k}.fixed")
            out[k] = BehaviourSetting(value=_number(v, "value", file, f"{fld}.{k}.value", lo=0.0), fixed=fixed)
        else:
            out[k] = BehaviourSetting(value=_number(d, k, file, f"{fld}.{k}", lo=0.0))
    return out


TRIAL_KINDS = ("behaviour-trial", "trial")   # what `kind:` says of a behaviour-trial file


def _trial_arm(a, j: int, arms_raw, days: int, file: str, routes, iu, seen: set, known) -> TrialArm:
    where = f"arms[{j}]"
    if not isinstance(a, dict):
        raise field_error("expected a mapping with name and treatment", file, arms_raw, j, where)
    check_keys(a, ARM_KEYS, file, where)
    if not a.get("name"):
        raise field_error("missing arm name", file, a, "name", f"{where}.name")
    an = str(a["name"])
    if an in seen:
        raise field_error(f"arm name {an!r} used twice", file, a, "name", f"{where}.name")
    tx = a.get("treatment")
    if tx not in TX_CODES:
        raise field_error(f"unknown treatment {tx!r}; expected one of {', '.join(TX_CODES)}"
                          f"{suggest(str(tx), TX_CODES)}", file, a, "treatment", f"{where}.treatment")
    ip = _number(a, "inpatient_days", file, f"{where}.inpatient_days", lo=0.0, hi=days, default=0.0)
    if tx in INPATIENT_ONLY and ip <= 0:
        raise field_error(f"treatment {tx!r} needs inpatient_days > 0: {INPATIENT_ONLY[tx]}", file, a,
                          "inpatient_days" if "inpatient_days" in a else "treatment", f"{where}.inpatient_days")
    fa = _number(a, "forced_abstinence_days", file, f"{where}.forced_abstinence_days", lo=0.0, hi=days,
                 default=0.0)
    if fa > 0 and (ip > 0 or tx not in AFTER_RELEASE):
        raise field_error(f"forced abstinence is followed by release to {', '.join(AFTER_RELEASE)} (started at "
                          "release) and has no inpatient stay", file, a, "forced_abstinence_days",
                          f"{where}.forced_abstinence_days")
    adj = a.get("adjunct") or []
    if not isinstance(adj, list):
        raise field_error("expected a list of regimen texts", file, a, "adjunct", f"{where}.adjunct")
    for k, text in enumerate(adj):
        loc = f"{file}:{line_of(adj, k)} {where}.adjunct[{k}]"
        if not isinstance(text, str):
            raise field_error(f"{text!r} is not a regimen text", file, a, "adjunct", f"{where}.adjunct[{k}]")
        parse_regimen(text, drugs=routes, where=loc, unit_factors=iu)   # validate now
    regimen = parse_treatment(tx, a, file=file, where=where, routes=routes, iu=iu)
    return TrialArm(name=an, treatment=tx, inpatient_days=ip,
                    behaviour=_behaviour(a.get("behaviour"), file, f"{where}.behaviour", known), adjunct=list(adj),
                    regimen=regimen, forced_abstinence_days=fa)


def parse_trial(d, file: str, *, model=None) -> TrialSpec:
    """A parsed behaviour-trial file (see the module docstring) as a :class:`TrialSpec`."""
    from .engine import behaviour_model
    if not isinstance(d, dict):
        raise OpiaxisInputError("expected a mapping at the top level (kind, name, seed, days, population, arms)",
                                file=file, line=1)
    check_keys(d, TOP_KEYS, file, "")
    if d.get("kind") not in TRIAL_KINDS:
        raise field_error(f"kind is {d.get('kind')!r}; this command runs files of kind 'behaviour-trial' "
                          "(study files run with `opiaxis run`)", file, d, "kind", "kind")
    seed = _number(d, "seed", file, "seed", lo=0, integer=True, default=0)
    days = _number(d, "days", file, "days", lo=1, hi=3650, integer=True, default=168)
    pop = d.get("population") or {}
    if not isinstance(pop, dict):
        raise field_error("expected a mapping with size and fentanyl_supply", file, d, "population", "population")
    check_keys(pop, POP_KEYS, file, "population")
    size = _number(pop, "size", file, "population.size", lo=1, hi=100000, integer=True, default=100)
    fent = _number(pop, "fentanyl_supply", file, "population.fentanyl_supply", lo=0.0, hi=1.0, default=0.0)
    model = model if model is not None else behaviour_model()
    known = [p.name for p in model_parameters(model)]
    beh = _behaviour(d.get("behaviour"), file, "behaviour", known)
    arms_raw = d.get("arms")
    if not isinstance(arms_raw, list) or not arms_raw:
        raise field_error("expected a non-empty list of arms", file, d, "arms", "arms")
    routes, iu = drug_routes(model), iu_factors(model)
    arms: list[TrialArm] = []
    for j, a in enumerate(arms_raw):
        arms.append(_trial_arm(a, j, arms_raw, days, file, routes, iu, {x.name for x in arms}, known))
    return TrialSpec(name=str(d.get("name") or Path(file).stem), seed=seed, days=days, size=size, arms=arms,
                     fentanyl_supply=fent, behaviour=beh, description=str(d.get("description") or "").strip(),
                     file=file)


def load_trial(path: str | Path, *, model=None) -> TrialSpec:
    """Read and check a behaviour-trial file; every error names the file, line and field."""
    return parse_trial(load_yaml_file(path, expect="trial"), str(path), model=model)


def _adjunct_doses(spec: TrialSpec, c, arm_of: np.ndarray) -> pd.DataFrame | None:
    """The adjunct regimens' dose rows of the patients of each arm that has one."""
    frames = [EventTable.from_regimens(c.model, a.adjunct).for_ids(c.ids[arm_of == a_i]).expanded()
              for a_i, a in enumerate(spec.arms) if a.adjunct and (arm_of == a_i).any()]
    if not frames:
        return None
    return pd.concat(frames, ignore_index=True)[["ID", "TIME", "EVID", "AMT", "CMT", "RATE", "ORDER"]]


def _km_table(time: np.ndarray, event: np.ndarray) -> pd.DataFrame:
    """The Kaplan–Meier table (lifelines, fitted once) with its 95% band and numbers at risk."""
    from lifelines import KaplanMeierFitter

    from ..analysis import km_table
    return km_table(KaplanMeierFitter().fit(np.asarray(time, float), np.asarray(event, bool)))


def _steps(table: pd.DataFrame, time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """(k, 2) steps (time, event-free fraction) of a KM table at 0 and at each event time — the
    only times the curve changes."""
    t = table["time"].to_numpy(float)
    keep = (t == 0) | np.isin(t, np.asarray(time, float)[np.asarray(event, bool)])
    return np.column_stack([t[keep], table["survival"].to_numpy(float)[keep]])


def km_curve(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """Kaplan–Meier estimate as (k, 2) steps (time, event-free fraction) at 0 and at each event time."""
    return _steps(_km_table(time, event), time, event)


@dataclass(kw_only=True)
class TrialRun:
    """What a behaviour trial produced: ``summary`` (per arm), ``patients`` (one row per patient,
    columns in docs/trials.md), ``daily`` (patient × day), ``events`` (the event history,
    :meth:`CohortSim.event_table`), ``km`` (Kaplan–Meier steps) and ``km_tables`` (the fitted
    tables), ``record`` (the per-day :class:`~opiaxis.behaviour.engine.Record`), ``sim`` (the
    :class:`CohortSim` after the run) and ``arm`` (each patient's arm index)."""
    spec: TrialSpec
    summary: dict
    patients: pd.DataFrame
    daily: pd.DataFrame
    events: pd.DataFrame
    km: dict
    km_tables: dict
    record: object
    sim: object
    arm: np.ndarray
    kind: str = "behaviour-trial"

    def __getitem__(self, key: str):
        """``run["summary"]``: the former dict access, for callers not yet moved to attributes."""
        return getattr(self, key)


@dataclass(frozen=True, kw_only=True)
class _Outcomes:
    """Per-patient relapse and retention, derived once from the day-by-day record."""
    use: np.ndarray
    relapsed: np.ndarray
    rel_day: np.ndarray
    treated: np.ndarray
    left: np.ndarray
    ret_day: np.ndarray
    dead: np.ndarray


def _outcomes(spec: TrialSpec, sim, rec, inp: np.ndarray, fab: np.ndarray) -> _Outcomes:
    n = rec.uses.shape[0]
    use = rec.uses > 0
    start = np.ceil(np.maximum(inp, fab)).astype(int)       # relapse counted after the inpatient stay / release
    rel = np.array([runs(use[i:i + 1, start[i]:], RELAPSE_RUN_DAYS)[0] for i in range(n)])
    relapsed = rel >= 0
    rel_day = np.where(relapsed, rel + start + RELAPSE_RUN_DAYS, spec.days).astype(float)
    treated = sim.arm0 != TX_NONE
    fstart = np.ceil(fab).astype(int)                       # treatment after forced abstinence starts at release
    in_tx = rec.in_tx | (np.arange(spec.days)[None, :] < fstart[:, None])
    left = treated & ~in_tx.all(axis=1)
    ret_day = np.where(left, np.argmin(in_tx, axis=1), spec.days).astype(float)
    return _Outcomes(use=use, relapsed=relapsed, rel_day=rel_day, treated=treated, left=left, ret_day=ret_day,
                     dead=rec.dead_day >= 0)


def _day_or_nan(d):
    return np.where(d >= 0, d, np.nan)


def _patients_table(spec: TrialSpec, ids, arm, rec, o: _Outcomes) -> pd.DataFrame:
    return pd.DataFrame({
        "patient": ids, "arm": np.array([a.name for a in spec.arms])[arm],
        "treatment": [spec.arms[a].treatment for a in arm],
        "relapsed": o.relapsed, "relapse_day": np.where(o.relapsed, o.rel_day, np.nan),
        "left_treatment": o.left, "left_treatment_day": np.where(o.left, o.ret_day, np.nan),
        "dropout_day": _day_or_nan(rec.dropout_day), "completed_treatment_day": _day_or_nan(rec.completed_day),
        "discharge_day": _day_or_nan(rec.discharge_day), "release_day": _day_or_nan(rec.release_day),
        "days_with_use": o.use.sum(axis=1), "uses": rec.uses.sum(axis=1), "overdoses": rec.od.sum(axis=1),
        "died": o.dead, "death_day": np.where(o.dead, rec.dead_day, np.nan),
        "inducted_day": _day_or_nan(rec.inducted), "induction_failed": rec.induction_failed,
        "days_on_medication": rec.on_med.sum(axis=1),
        "adjunct_doses": rec.adjunct_given,
        "mean_craving_vas": 100 * rec.craving.mean(axis=1), "solver_failed": rec.solver_failed})


def _daily_table(spec: TrialSpec, ids, arm, rec, o: _Outcomes) -> pd.DataFrame:
    d, n = spec.days, len(ids)
    names = np.array([a.name for a in spec.arms])[arm]
    return pd.DataFrame({
        "patient": np.repeat(ids, d), "arm": np.repeat(names, d), "day": np.tile(np.arange(d), n),
        "uses": rec.uses.ravel(), "overdoses": rec.od.ravel(), "in_treatment": rec.in_tx.ravel(),
        "on_medication": rec.on_med.ravel(), "craving_vas": 100 * rec.craving.ravel(),
        "oxytocin_tone": rec.oxytocin.ravel(), "use_expectancy": rec.expectancy.ravel(),
        "alive": np.repeat(~o.dead, d) | (np.tile(np.arange(d), n) < np.repeat(np.where(o.dead, rec.dead_day, d), d))})


RELAPSE_KM = "relapse (7 consecutive days of use)"
RETENTION_KM = "retention in treatment"


def _summary_and_km(spec: TrialSpec, arm, rec, o: _Outcomes):
    from ..trials import proportion
    summary, km = {}, {RELAPSE_KM: {}, RETENTION_KM: {}}
    km_tables = {k: {} for k in km}
    for a_i, a in enumerate(spec.arms):
        s = arm == a_i
        if not s.any():
            continue
        summary[a.name] = {
            "n": int(s.sum()), "treatment": a.treatment,
            "relapsed": str(proportion(o.relapsed[s])),
            "any use last 4 weeks": str(proportion(o.use[s, -28:].any(axis=1))),
            "in treatment at end": str(proportion(rec.in_tx[s, -1])) if o.treated[s].any() else "n/a",
            "overdoses": int(rec.od[s].sum()), "deaths": int(o.dead[s].sum()),
            "mean craving (VAS)": round(float(100 * rec.craving[s].mean()), 1),
            "mean oxytocin tone": round(float(rec.oxytocin[s].mean()), 3)}
        tab = km_tables[RELAPSE_KM][a.name] = _km_table(o.rel_day[s], o.relapsed[s])
        km[RELAPSE_KM][a.name] = _steps(tab, o.rel_day[s], o.relapsed[s])
        if o.treated[s].any():
            tab = km_tables[RETENTION_KM][a.name] = _km_table(o.ret_day[s], o.left[s])
            km[RETENTION_KM][a.name] = _steps(tab, o.ret_day[s], o.left[s])
    return summary, km, km_tables


def run_trial(spec: TrialSpec, progress=None) -> TrialRun:
    """Simulate the trial: randomise the cohort to the arms, run the behaviour layer day by day,
    and derive relapse, retention and the per-arm summary (:class:`TrialRun`)."""
    from ..streams import Streams
    from .trials import oud_cohort
    c = oud_cohort(spec.size, spec.seed, spec.fentanyl_supply)
    arm = Streams(spec.seed).randomise(c.ids, [1] * len(spec.arms))
    for nm, v in spec.behaviour.items():
        c.set_behaviour(nm, v.value, fixed=v.fixed)
    for a_i, a in enumerate(spec.arms):
        for nm, v in a.behaviour.items():
            c.set_behaviour(nm, v.value, arm == a_i, fixed=v.fixed)
    inp = np.array([spec.arms[a].inpatient_days for a in arm])
    fab = np.array([spec.arms[a].forced_abstinence_days for a in arm])
    sim = CohortSim(c, [spec.arms[a].regimen for a in arm], spec.days, inpatient_days=inp,
                    adjunct_doses=_adjunct_doses(spec, c, arm), abstinent_days=fab)
    rec = sim.run(progress=progress)
    o = _outcomes(spec, sim, rec, inp, fab)
    summary, km, km_tables = _summary_and_km(spec, arm, rec, o)
    return TrialRun(spec=spec, summary=summary, patients=_patients_table(spec, c.ids, arm, rec, o),
                    daily=_daily_table(spec, c.ids, arm, rec, o), events=sim.event_table(), km=km,
                    km_tables=km_tables, record=rec, sim=sim, arm=arm)


def write_trial_outputs(spec: TrialSpec, result: TrialRun, out: str | Path) -> list[Path]:
    """summary.json, patients.csv, daily.parquet, report.html and events.csv under ``out``
    (:func:`opiaxis.report.trial.write_trial_outputs`, the one report renderer)."""
    from ..report.trial import write_trial_outputs as write
    return write(spec, result, out)
