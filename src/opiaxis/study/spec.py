"""The study specification: a YAML study file parsed once into a typed, keyword-only
:class:`StudySpec` whose arms hold :class:`~opiaxis.dosing.EventTable` s (regimen text becomes
event rows here, once). Every error names the file, line and field.

Schema (every key is checked)::

    kind: study                            # optional; 'behaviour-trial' files: opiaxis.study.trial
    name: buprenorphine-induction          # required
    description: free text
    seed: 20261122                         # integer; same seed, same results
    population:
      size: 300                            # patients (ids id_start..id_start+size-1)
      covariates:                          # override default margins (see population/covariates.py)
        fentanyl_supply: {p: 0.8}
      id_start: 1
      variability: true                    # between-patient variability on/off
      parameters: {morphine_CL: 80}        # typical-value overrides, by parameter name
    arms:                                  # at least one
      - name: bup16
        weight: 1                          # randomisation weight (default 1)
        regimens:                          # regimen shorthand, see opiaxis.dosing.parse_regimen
          - heroin 25 mg IV q6h for 7 d
          - buprenorphine 16 mg SL q24h for 28 d from day 9
        events: doses.csv                  # optional NONMEM-style event table (relative to the study)
        parameters: {}                     # arm-specific typical-value overrides
    schedule: {duration: 36 d, every: 1 h}
    outputs: [buprenorphine_plasma, mor_availability_pet]   # states or assignments
    solver: {rtol: 1e-6, atol: 1e-9}
    measurements: {visits: [0 d, 7 d, 28 d], readouts: [il6_serum, cows]}   # opiaxis.observe
    endpoints:                             # opiaxis.analysis
      - {name: availability day 28, kind: mean, variable: mor_availability_pet, at: 28 d, reference: bup16}
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .. import checks, dosing
from ..dosing import EventTable
from ..durations import hours
from ..errors import OpiaxisInputError
from ..model.core import Model
from ..yamlio import LDict, check_keys, field_error, line_of, load_yaml, load_yaml_file, number

TOP_KEYS = {"kind", "name", "description", "seed", "population", "arms", "schedule", "outputs", "endpoints",
            "measurements", "solver"}
MEAS_KEYS = {"visits", "readouts"}
SOLVER_KEYS = {"rtol", "atol"}
POP_KEYS = {"size", "id_start", "variability", "parameters", "covariates"}
ARM_KEYS = {"name", "weight", "regimens", "events", "parameters"}
SCHED_KEYS = {"duration", "every"}
STUDY_KINDS = ("study",)   # what `kind:` says of a study file (absent: a study)


@dataclass(kw_only=True)
class Arm:
    """An arm: its doses as one event table (regimens first, then the arm's event file), its
    randomisation weight and typical-value overrides. ``regimens`` (text) and ``events`` (the
    file's rows) are kept as provenance for the report and the run record."""
    name: str
    doses: EventTable = field(default_factory=EventTable)
    weight: float = 1.0
    parameters: dict[str, float] = field(default_factory=dict)
    regimens: list[str] = field(default_factory=list)
    events: pd.DataFrame | None = None


@dataclass(kw_only=True)
class Schedule:
    duration: float   # h
    every: float      # h

    @property
    def times(self) -> np.ndarray:
        n = int(math.floor(self.duration / self.every + 1e-9))
        return np.arange(n + 1) * self.every


@dataclass(kw_only=True)
class StudySpec:
    """A study, parsed and checked once; what every later stage reads."""
    name: str
    file: str
    seed: int
    size: int
    arms: list[Arm]
    duration: float                                  # h
    every: float                                     # h, read-out interval
    outputs: list[str]
    id_start: int = 1
    variability: bool = True
    parameters: dict[str, float] = field(default_factory=dict)
    description: str = ""
    covariates: dict = field(default_factory=dict)   # validated Covariate specs
    endpoints: list = field(default_factory=list)    # analysis.Endpoint
    visits: list = field(default_factory=list)       # hours at which read-outs are measured
    readouts: list | None = None                     # read-out names (None: all that the outputs allow)
    rtol: float = 1e-6
    atol: float = 1e-9
    dose_overrides: list = field(default_factory=list)  # implausible doses allowed explicitly (recorded)
    kind: str = "study"

    @property
    def ids(self) -> np.ndarray:
        return np.arange(self.id_start, self.id_start + self.size)

    @property
    def times(self) -> np.ndarray:
        return Schedule(duration=self.duration, every=self.every).times


Study = StudySpec   # the former name


def _duration(value, file, node, key, fld, *, allow_zero: bool = False) -> float:
    return hours(value, file=file, line=line_of(node, key), field=fld, allow_zero=allow_zero)


def _hint(name, known) -> str:
    hint = difflib.get_close_matches(str(name), sorted(known), n=1)
    return f" (did you mean {hint[0]!r}?)" if hint else ""


def parameter_overrides(node, model: Model, file, where, line=None) -> dict[str, float]:
    """``{parameter name: typical value}``, each name known to the model and each value checked."""
    if node is None:
        return {}
    if not isinstance(node, dict):
        raise OpiaxisInputError("expected a mapping of parameter names to values, e.g. {morphine_CL: 80}",
                                file=file, line=getattr(node, "line", line), field=where)
    out = {}
    for k, v in node.items():
        if k not in model.param_index:
            raise field_error(f"unknown parameter {k!r}{_hint(k, model.parameter_names)}", file, node, k,
                              f"{where}.{k}")
        out[k] = checks.parameter_value(model, k, v, file=file, line=line_of(node, k), field=f"{where}.{k}")
    return out


def _whole(node, key, default, file, fld, *, lo: int) -> int:
    return number(node.get(key, default), fld, file=file, line=line_of(node, key), name=key, integer=True, minimum=lo)


def _population(raw, model: Model, file: str) -> dict:
    from ..population.covariates import covariate_specs
    pop = raw.get("population") or LDict()
    check_keys(pop, POP_KEYS, file, "population", line_of(raw, "population"))
    variability = pop.get("variability", True)
    if not isinstance(variability, bool):
        raise field_error("variability must be true or false", file, pop, "variability", "population.variability")
    cov_node = pop.get("covariates") or LDict()
    if not isinstance(cov_node, dict):
        raise field_error("covariates must be a mapping of covariate names to settings, e.g. "
                          "{age: {mean: 40, sd: 10}}", file, pop, "covariates", "population.covariates")
    return {"size": _whole(pop, "size", 100, file, "population.size", lo=1),
            "id_start": _whole(pop, "id_start", 1, file, "population.id_start", lo=0),
            "variability": variability,
            "parameters": parameter_overrides(pop.get("parameters"), model, file, "population.parameters",
                                              line_of(pop, "parameters")),
            "covariates": covariate_specs(cov_node, file=file, line_of=lambda k: line_of(cov_node, k))}


def _check_event_ids(events: pd.DataFrame, cohort: range, file: str, fld: str) -> None:
    """Every ID of an arm's event table must be a patient of the cohort (else its doses would be lost)."""
    ids = pd.unique(events["ID"])
    bad = [i for i in ids if isinstance(i, (str, bytes)) or not float(i).is_integer() or int(i) not in cohort]
    if bad:
        shown = ", ".join(repr(i) if isinstance(i, str) else f"{i:g}" for i in bad[:8])
        raise OpiaxisInputError(f"ID(s) {shown}{' …' if len(bad) > 8 else ''} match no patient of the study; "
                                f"expected whole numbers {cohort.start}..{cohort.stop - 1} "
                                "(population.id_start .. id_start + size - 1)", file=file, field=fld)


def _arm_events(a, model: Model, file, where, base_dir, cohort: range, allow: bool):
    """The arm's event file: (rows, allowed implausible doses)."""
    p = Path(str(a["events"]))
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    if not p.exists():
        raise field_error(f"event table {str(p)!r} not found", file, a, "events", f"{where}.events")
    events = dosing.read_event_table(p, cmt_names=sorted(model.dose_targets), allow_index=False)
    _check_event_ids(events, cohort, str(p), f"{where}.events")
    if "SS" in events and ((events["SS"] != 0) & (events["TIME"] > 0)).any():
        raise field_error(f"event table {str(p)!r} has a steady-state dose (SS) after TIME 0; read-outs start "
                          "at 0 and would see its run-in: put steady-state doses at TIME 0", file, a, "events",
                          f"{where}.events")
    allowed = checks.check_doses(dosing.expand_doses(events), allow=allow, file=str(p),
                                 field=f"{where}.events (used by {file})")
    return events, allowed


def _arm(a, i: int, arms_node, model: Model, file, base_dir, cohort: range, allow: bool, seen: set):
    """One arm, and the implausible doses it was allowed."""
    where = f"arms[{i}]"
    check_keys(a, ARM_KEYS, file, where, line_of(arms_node, i))
    if "name" not in a:
        raise OpiaxisInputError("an arm needs a name", file=file, line=getattr(a, "line", None), field=where)
    name = str(a["name"])
    if name in seen:
        raise field_error(f"two arms are named {name!r}", file, a, "name", f"{where}.name")
    w = number(a.get("weight", 1), f"{where}.weight", file=file, line=line_of(a, "weight"), name="weight",
               positive=True)
    regs = a.get("regimens") or []
    if not isinstance(regs, list):
        raise field_error("regimens must be a list of regimen texts", file, a, "regimens", f"{where}.regimens")
    params = parameter_overrides(a.get("parameters"), model, file, f"{where}.parameters", line_of(a, "parameters"))
    doses = EventTable.from_regimens(model, list(regs),
                                     where=[f"{file}:{line_of(regs, j)} {where}.regimens[{j}]" for j in range(len(regs))])
    allowed, events = [], None
    if a.get("events") is not None:
        events, allowed = _arm_events(a, model, file, where, base_dir, cohort, allow)
        doses = doses + EventTable.from_rows(events)
    if regs:
        allowed += checks.check_doses(doses.for_ids([0]).expanded(), allow=allow, file=file,
                                      line=line_of(a, "regimens"), field=f"{where}.regimens")
    if not regs and events is None:
        raise field_error(f"arm {name!r} has neither regimens nor an event table; expected at least "
                          "one regimen such as 'buprenorphine 16 mg SL q24h for 28 d'",
                          file, a, "name", f"{where}.regimens")
    return Arm(name=name, doses=doses, weight=float(w), parameters=params, regimens=[str(t) for t in regs],
               events=events), allowed


def _arms(raw, model: Model, file, base_dir, cohort: range, allow: bool) -> tuple[list[Arm], list[str]]:
    arms_node = raw["arms"]
    if not isinstance(arms_node, list) or not arms_node:
        raise field_error("arms must be a non-empty list", file, raw, "arms", "arms")
    arms, allowed = [], []
    for i, a in enumerate(arms_node):
        arm, ok = _arm(a, i, arms_node, model, file, base_dir, cohort, allow, {x.name for x in arms})
        arms.append(arm)
        allowed += ok
    return arms, allowed


def _schedule(raw, file) -> Schedule:
    sched = raw["schedule"]
    check_keys(sched, SCHED_KEYS, file, "schedule", line_of(raw, "schedule"))
    if "duration" not in sched:
        raise OpiaxisInputError("missing required key 'duration'", file=file, line=getattr(sched, "line", None),
                                field="schedule.duration")
    duration = _duration(sched["duration"], file, sched, "duration", "schedule.duration")
    every = _duration(sched.get("every", "1 h"), file, sched, "every", "schedule.every")
    if every > duration:
        raise field_error("read-out interval is longer than the study", file, sched, "every", "schedule.every")
    return Schedule(duration=duration, every=every)


def _outputs(raw, model: Model, file) -> list[str]:
    outputs = raw.get("outputs", ["mor_occupancy_central"])
    if not isinstance(outputs, list) or not outputs:
        raise field_error("outputs must be a non-empty list of variable names", file, raw, "outputs", "outputs")
    twice = sorted({str(o) for o in outputs if outputs.count(o) > 1})
    if twice:
        raise field_error(f"output(s) {', '.join(twice)} listed twice; expected each once", file, raw, "outputs",
                          "outputs")
    known = set(model.state_names) | set(model.assignment_index)
    for j, o in enumerate(outputs):
        if o not in known:
            raise OpiaxisInputError(f"unknown output {o!r}{_hint(o, known)}", file=file,
                                    line=line_of(outputs, j), field=f"outputs[{j}]")
    return [str(o) for o in outputs]


def _visits(meas, schedule: Schedule, file) -> list[float]:
    vnode = meas.get("visits") or []
    if not isinstance(vnode, list) or not vnode:
        raise field_error("visits must be a non-empty list of times, e.g. [0 d, 7 d, 28 d]", file, meas, "visits",
                          "measurements.visits")
    grid, visits = schedule.times, []
    for j, v in enumerate(vnode):
        h = _duration(v, file, vnode, j, f"measurements.visits[{j}]", allow_zero=True)
        if h > schedule.duration + 1e-9 or np.min(np.abs(grid - h)) > 1e-6:
            raise OpiaxisInputError(f"visit {v!r} ({h:g} h) is not a read-out time of the schedule "
                                    f"(every {schedule.every:g} h up to {schedule.duration:g} h)", file=file,
                                    line=line_of(vnode, j), field=f"measurements.visits[{j}]")
        visits.append(h)
    return visits


def _measurements(raw, schedule: Schedule, file) -> tuple[list[float], list[str] | None]:
    meas = raw.get("measurements")
    if meas is None:
        return [], None
    check_keys(meas, MEAS_KEYS, file, "measurements", line_of(raw, "measurements"))
    visits = _visits(meas, schedule, file)
    if meas.get("readouts") is None:
        return visits, None
    from ..observe import load_readouts
    known, readouts = load_readouts(), []
    for j, r in enumerate(meas["readouts"]):
        if r not in known:
            raise OpiaxisInputError(f"unknown read-out {r!r}{_hint(r, known)}", file=file,
                                    line=line_of(meas["readouts"], j), field=f"measurements.readouts[{j}]")
        readouts.append(str(r))
    return visits, readouts


def _solver(raw, file) -> dict[str, float]:
    tol = {"rtol": 1e-6, "atol": 1e-9}
    sol = raw.get("solver")
    if sol is not None:
        check_keys(sol, SOLVER_KEYS, file, "solver", line_of(raw, "solver"))
        for k in SOLVER_KEYS & set(sol):
            v = sol[k]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 < v < 1):
                raise field_error(f"{k} must be a number between 0 and 1, got {v!r}", file, sol, k, f"solver.{k}")
            tol[k] = float(v)
    return tol


def _head(raw, file) -> tuple[str, int, str]:
    """name, seed and kind of a study file."""
    check_keys(raw, TOP_KEYS, file, "", 1)
    kind = raw.get("kind", "study")
    if kind not in STUDY_KINDS:
        raise field_error(f"kind {kind!r}: this reads study files (kind: study); behaviour trials "
                          "(kind: behaviour-trial) are read by opiaxis.study.load_spec and run with `opiaxis run` "
                          "or `opiaxis trial`", file, raw, "kind", "kind")
    for req in ("name", "arms", "schedule"):
        if req not in raw:
            raise OpiaxisInputError(f"missing required key {req!r}", file=file, line=getattr(raw, "line", None),
                                    field=req)
    if not isinstance(raw["name"], (str, int, float)) or isinstance(raw["name"], bool):
        raise field_error(f"name must be text, got {raw['name']!r}", file, raw, "name", "name")
    return str(raw["name"]), _whole(raw, "seed", 0, file, "seed", lo=0), "study"


def parse_study(raw, model: Model, file: str, base_dir: Path | None = None, *,
                allow_implausible_doses: bool = False) -> StudySpec:
    """A parsed YAML study (see the module docstring) as a :class:`StudySpec`."""
    name, seed, kind = _head(raw, file)
    pop = _population(raw, model, file)
    cohort = range(pop["id_start"], pop["id_start"] + pop["size"])
    arms, allowed = _arms(raw, model, file, base_dir, cohort, allow_implausible_doses)
    schedule = _schedule(raw, file)
    outputs = _outputs(raw, model, file)
    from ..analysis import parse_endpoints
    ep_node = raw.get("endpoints")
    endpoints = parse_endpoints(ep_node, outputs=outputs, arms=[a.name for a in arms], file=file,
                                line_of=lambda k: line_of(ep_node, k) if k is not None else line_of(raw, "endpoints"),
                                to_hours=lambda v, f: _duration(v, file, raw, "endpoints", f))
    visits, readouts = _measurements(raw, schedule, file)
    tol = _solver(raw, file)
    return StudySpec(name=name, file=file, seed=seed, size=pop["size"], id_start=pop["id_start"],
                     variability=pop["variability"], parameters=pop["parameters"], covariates=pop["covariates"],
                     arms=arms, duration=schedule.duration, every=schedule.every, outputs=outputs,
                     description=str(raw.get("description", "")), endpoints=endpoints, visits=visits,
                     readouts=readouts, rtol=tol["rtol"], atol=tol["atol"], dose_overrides=allowed, kind=kind)


def default_study_text() -> str:
    return (resources.files("opiaxis") / "data" / "default_study.yaml").read_text(encoding="utf-8")


def load_study(path: str | Path | None, model: Model, *, allow_implausible_doses: bool = False) -> StudySpec:
    """Load a study file, or the embedded default study when ``path`` is None.

    Doses above the plausible range of ``data/dose_limits.yaml`` are an error unless
    ``allow_implausible_doses``; those allowed are kept in ``StudySpec.dose_overrides`` and
    recorded in the run's outputs."""
    if path is None:
        return parse_study(load_yaml(default_study_text(), "<default study>"), model, "<default study>",
                           allow_implausible_doses=allow_implausible_doses)
    p = Path(path)
    return parse_study(load_yaml_file(p, expect="study"), model, str(p), p.parent,
                       allow_implausible_doses=allow_implausible_doses)
