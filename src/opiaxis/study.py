"""Studies: a YAML file declares the virtual cohort, its arms and regimens, the schedule of
read-outs and the outputs; :func:`run_study` simulates it in chunks and writes tidy results.

Schema (every key is checked; errors name the file, line and field)::

    name: buprenorphine-induction          # required
    description: free text
    seed: 20261122                         # integer; same seed, same results
    population:
      size: 300                            # patients (ids 1..size unless id_start is given)
      covariates:                          # override default margins (see population/covariates.py)
        fentanyl_supply: {p: 0.8}
        age: {mean: 40, sd: 10}
      id_start: 1
      variability: true                    # between-patient variability on/off
      parameters: {morphine_CL: 80}        # typical-value overrides, by parameter name
    arms:                                  # at least one
      - name: bup16
        weight: 1                          # randomisation weight (default 1)
        regimens:                          # regimen shorthand, see opiaxis.dosing.parse_regimen
          - heroin 25 mg IV q6h for 7 d
          - buprenorphine 16 mg SL q24h for 28 d from day 9
        events: doses.csv                  # optional NONMEM-style event table (path relative to the study)
        parameters: {}                     # arm-specific typical-value overrides
    schedule:
      duration: 36 d                       # simulated time
      every: 1 h                           # read-out interval
    outputs: [buprenorphine_plasma, mor_availability_pet]   # states or assignments
    solver: {rtol: 1e-6, atol: 1e-9}       # the defaults; cohort studies may use rtol 1e-5
    measurements:                          # what a study would measure (opiaxis.observe): assay noise, LLOQ
      visits: [0 d, 7 d, 28 d]             # must be read-out times of the schedule
      readouts: [il6_serum, cortisol_serum, cows]   # default: every read-out the outputs allow
    endpoints:                             # analysed per arm against a reference arm (opiaxis.analysis)
      - {name: availability day 28, kind: mean, variable: mor_availability_pet, at: 28 d, reference: bup16}
      - {name: blockade, kind: responder, variable: mor_availability_pet, at: 28 d, below: 0.5}
      - {name: time to 50% occupancy, kind: time_to_event, variable: mor_availability_pet, below: 0.5}
"""

from __future__ import annotations

import difflib
import math
import os
import time as _time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from . import checks, dosing
from .dosing import EventTable, drug_routes, iu_factors  # noqa: F401 (behaviour/ imports the vocabulary from here)
from .engine import simulate
from .errors import OpiaxisInputError
from .model.core import Model
from .model.units import ureg
from .population import patient_normals, virtual_cohort
from .yamlio import LDict, line_of, load_yaml, load_yaml_file

TOP_KEYS = {"name", "description", "seed", "population", "arms", "schedule", "outputs", "endpoints", "measurements", "solver"}
MEAS_KEYS = {"visits", "readouts"}
SOLVER_KEYS = {"rtol", "atol"}
POP_KEYS = {"size", "id_start", "variability", "parameters", "covariates"}
ARM_KEYS = {"name", "weight", "regimens", "events", "parameters"}
SCHED_KEYS = {"duration", "every"}


@dataclass
class Arm:
    name: str
    weight: float = 1.0
    regimens: list[tuple[str, str]] = field(default_factory=list)  # (text, where)
    events: pd.DataFrame | None = None
    parameters: dict[str, float] = field(default_factory=dict)
    doses: EventTable = field(default_factory=EventTable)  # the regimens, then the event table (parsed once)


@dataclass
class Study:
    name: str
    file: str
    seed: int
    size: int
    id_start: int
    variability: bool
    parameters: dict[str, float]
    arms: list[Arm]
    duration: float
    every: float
    outputs: list[str]
    description: str = ""
    covariates: dict = field(default_factory=dict)   # validated Covariate specs
    endpoints: list = field(default_factory=list)    # analysis.Endpoint
    visits: list = field(default_factory=list)       # hours at which read-outs are measured
    readouts: list | None = None                     # read-out names (None: all that the outputs allow)
    rtol: float = 1e-6
    atol: float = 1e-9
    dose_overrides: list = field(default_factory=list)  # implausible doses allowed explicitly (recorded)

    @property
    def ids(self) -> np.ndarray:
        return np.arange(self.id_start, self.id_start + self.size)

    @property
    def times(self) -> np.ndarray:
        n = int(math.floor(self.duration / self.every + 1e-9))
        return np.arange(n + 1) * self.every


def _err(msg, file, node, key, field):
    return OpiaxisInputError(msg, file=file, line=line_of(node, key), field=field)


def _duration(value, file, node, key, field, *, allow_zero: bool = False) -> float:
    """A duration such as '36 d', '12 weeks', '1 h' or a number of hours, in hours."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        h = float(value)
    else:
        text = str(value).strip().replace("days", "day").replace("weeks", "week")
        try:
            q = ureg.Quantity(text)
            h = float(q.to("h").magnitude)
        except Exception:
            raise _err(f"{value!r} is not a duration; expected e.g. '36 d', '12 weeks' or '6 h'",
                       file, node, key, field) from None
    if not math.isfinite(h) or h < 0 or (h == 0 and not allow_zero):
        raise _err(f"duration {value!r} must be positive", file, node, key, field)
    return h


def _check_keys(node, allowed, file, where, line=None):
    if not isinstance(node, dict):
        raise OpiaxisInputError(f"expected a mapping with keys {sorted(allowed)}", file=file,
                                line=getattr(node, "line", line), field=where)
    for k in node:
        if k not in allowed:
            hint = difflib.get_close_matches(str(k), sorted(allowed), n=1)
            raise _err(f"unknown key {k!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                       + f"; expected one of {sorted(allowed)}", file, node, k, f"{where}.{k}" if where else str(k))


def _overrides(node, model: Model, file, where, line=None) -> dict[str, float]:
    if node is None:
        return {}
    if not isinstance(node, dict):
        raise OpiaxisInputError("expected a mapping of parameter names to values, e.g. {morphine_CL: 80}",
                                file=file, line=getattr(node, "line", line), field=where)
    out = {}
    for k, v in node.items():
        if k not in model.param_index:
            hint = difflib.get_close_matches(str(k), model.parameter_names, n=1)
            raise _err(f"unknown parameter {k!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""),
                       file, node, k, f"{where}.{k}")
        out[k] = checks.parameter_value(model, k, v, file=file, line=line_of(node, k), field=f"{where}.{k}")
    return out


def regimen_doses(model: Model, ids, regimens: list[str], start: float = 0.0) -> pd.DataFrame | None:
    """Expanded dose rows giving every patient in ``ids`` all the regimen texts (None if none).

    A thin wrapper over :class:`opiaxis.dosing.EventTable` (rows sorted by ID, as before)."""
    if not regimens:
        return None
    ids = np.array([int(i) for i in ids], dtype=np.int64)
    out = EventTable.from_regimens(model, regimens, start=start).for_ids(ids).expanded()
    if len(ids) > 1 and not (np.diff(ids) > 0).all():
        out = out.sort_values("ID", kind="mergesort", ignore_index=True)
    return out[["ID", "TIME", "EVID", "AMT", "CMT", "RATE", "ORDER"]]


def _check_event_ids(events: pd.DataFrame, cohort: range, file: str, field: str) -> None:
    """Every ID of an arm's event table must be a patient of the cohort (else its doses would be lost)."""
    ids = pd.unique(events["ID"])
    bad = [i for i in ids if isinstance(i, (str, bytes)) or not float(i).is_integer() or int(i) not in cohort]
    if bad:
        shown = ", ".join(repr(i) if isinstance(i, str) else f"{i:g}" for i in bad[:8])
        raise OpiaxisInputError(f"ID(s) {shown}{' …' if len(bad) > 8 else ''} match no patient of the study; "
                                f"expected whole numbers {cohort.start}..{cohort.stop - 1} "
                                "(population.id_start .. id_start + size - 1)", file=file, field=field)


def parse_study(raw, model: Model, file: str, base_dir: Path | None = None, *,
                allow_implausible_doses: bool = False) -> Study:
    _check_keys(raw, TOP_KEYS, file, "", 1)
    for req in ("name", "arms", "schedule"):
        if req not in raw:
            raise OpiaxisInputError(f"missing required key {req!r}", file=file, line=getattr(raw, "line", None), field=req)
    if not isinstance(raw["name"], (str, int, float)) or isinstance(raw["name"], bool):
        raise _err(f"name must be text, got {raw['name']!r}", file, raw, "name", "name")
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise _err(f"seed {seed!r} must be a non-negative integer", file, raw, "seed", "seed")
    pop = raw.get("population") or LDict()
    _check_keys(pop, POP_KEYS, file, "population", line_of(raw, "population"))
    size = pop.get("size", 100)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise _err(f"size {size!r} must be a positive integer", file, pop, "size", "population.size")
    id_start = pop.get("id_start", 1)
    if isinstance(id_start, bool) or not isinstance(id_start, int) or id_start < 0:
        raise _err(f"id_start {id_start!r} must be a non-negative integer", file, pop, "id_start", "population.id_start")
    variability = pop.get("variability", True)
    if not isinstance(variability, bool):
        raise _err("variability must be true or false", file, pop, "variability", "population.variability")
    params = _overrides(pop.get("parameters"), model, file, "population.parameters", line_of(pop, "parameters"))
    from .population.covariates import covariate_specs
    cov_node = pop.get("covariates") or LDict()
    if not isinstance(cov_node, dict):
        raise _err("covariates must be a mapping of covariate names to settings, e.g. {age: {mean: 40, sd: 10}}",
                   file, pop, "covariates", "population.covariates")
    covs = covariate_specs(cov_node, file=file, line_of=lambda k: line_of(cov_node, k))

    arms_node = raw["arms"]
    if not isinstance(arms_node, list) or not arms_node:
        raise _err("arms must be a non-empty list", file, raw, "arms", "arms")
    arms: list[Arm] = []
    overrides: list[str] = []
    for i, a in enumerate(arms_node):
        where = f"arms[{i}]"
        _check_keys(a, ARM_KEYS, file, where, line_of(arms_node, i))
        if "name" not in a:
            raise OpiaxisInputError("an arm needs a name", file=file, line=getattr(a, "line", None), field=where)
        name = str(a["name"])
        if name in {x.name for x in arms}:
            raise _err(f"two arms are named {name!r}", file, a, "name", f"{where}.name")
        w = a.get("weight", 1)
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not (w > 0 and math.isfinite(w)):
            raise _err(f"weight {w!r} must be a positive number", file, a, "weight", f"{where}.weight")
        regs = a.get("regimens") or []
        if not isinstance(regs, list):
            raise _err("regimens must be a list of regimen texts", file, a, "regimens", f"{where}.regimens")
        arm = Arm(name, float(w), parameters=_overrides(a.get("parameters"), model, file, f"{where}.parameters",
                                                            line_of(a, "parameters")))
        arm.regimens = [(text, f"{file}:{line_of(regs, j)} {where}.regimens[{j}]") for j, text in enumerate(regs)]
        arm.doses = EventTable.from_regimens(model, [t for t, _ in arm.regimens], where=[w for _, w in arm.regimens])
        if a.get("events") is not None:
            p = Path(str(a["events"]))
            if not p.is_absolute() and base_dir is not None:
                p = base_dir / p
            if not p.exists():
                raise _err(f"event table {str(p)!r} not found", file, a, "events", f"{where}.events")
            arm.events = dosing.read_event_table(p, cmt_names=sorted(model.dose_targets), allow_index=False)
            _check_event_ids(arm.events, range(id_start, id_start + size), str(p), f"{where}.events")
            arm.doses = arm.doses + EventTable.from_rows(arm.events)
            if "SS" in arm.events and ((arm.events["SS"] != 0) & (arm.events["TIME"] > 0)).any():
                raise _err(f"event table {str(p)!r} has a steady-state dose (SS) after TIME 0; read-outs start "
                           "at 0 and would see its run-in: put steady-state doses at TIME 0", file, a, "events",
                           f"{where}.events")
            overrides += checks.check_doses(dosing.expand_doses(arm.events), allow=allow_implausible_doses,
                                            file=str(p), field=f"{where}.events (used by {file})")
        if arm.regimens:
            overrides += checks.check_doses(arm.doses.for_ids([0]).expanded(),
                                            allow=allow_implausible_doses, file=file,
                                            line=line_of(a, "regimens"), field=f"{where}.regimens")
        if not arm.regimens and arm.events is None:
            raise _err(f"arm {name!r} has neither regimens nor an event table; expected at least "
                       "one regimen such as 'buprenorphine 16 mg SL q24h for 28 d'",
                       file, a, "name", f"{where}.regimens")
        arms.append(arm)

    sched = raw["schedule"]
    _check_keys(sched, SCHED_KEYS, file, "schedule", line_of(raw, "schedule"))
    if "duration" not in sched:
        raise OpiaxisInputError("missing required key 'duration'", file=file, line=getattr(sched, "line", None), field="schedule.duration")
    duration = _duration(sched["duration"], file, sched, "duration", "schedule.duration")
    every = _duration(sched.get("every", "1 h"), file, sched, "every", "schedule.every")
    if every > duration:
        raise _err("read-out interval is longer than the study", file, sched, "every", "schedule.every")

    outputs = raw.get("outputs", ["mor_occupancy_central"])
    if not isinstance(outputs, list) or not outputs:
        raise _err("outputs must be a non-empty list of variable names", file, raw, "outputs", "outputs")
    twice = sorted({str(o) for o in outputs if outputs.count(o) > 1})
    if twice:
        raise _err(f"output(s) {', '.join(twice)} listed twice; expected each once", file, raw, "outputs", "outputs")
    known = set(model.state_names) | set(model.assignment_index)
    for j, o in enumerate(outputs):
        if o not in known:
            hint = difflib.get_close_matches(str(o), sorted(known), n=1)
            raise OpiaxisInputError(f"unknown output {o!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""),
                                    file=file, line=line_of(outputs, j), field=f"outputs[{j}]")
    from .analysis import parse_endpoints
    ep_node = raw.get("endpoints")
    endpoints = parse_endpoints(ep_node, outputs=[str(o) for o in outputs], arms=[a.name for a in arms], file=file,
                                line_of=lambda k: line_of(ep_node, k) if k is not None else line_of(raw, "endpoints"),
                                to_hours=lambda v, f: _duration(v, file, raw, "endpoints", f))
    visits, readouts = [], None
    meas = raw.get("measurements")
    if meas is not None:
        _check_keys(meas, MEAS_KEYS, file, "measurements", line_of(raw, "measurements"))
        vnode = meas.get("visits") or []
        if not isinstance(vnode, list) or not vnode:
            raise _err("visits must be a non-empty list of times, e.g. [0 d, 7 d, 28 d]", file, meas, "visits", "measurements.visits")
        grid = np.arange(int(math.floor(duration / every + 1e-9)) + 1) * every
        for j, v in enumerate(vnode):
            h = _duration(v, file, vnode, j, f"measurements.visits[{j}]", allow_zero=True)
            if h > duration + 1e-9 or np.min(np.abs(grid - h)) > 1e-6:
                raise OpiaxisInputError(f"visit {v!r} ({h:g} h) is not a read-out time of the schedule "
                                        f"(every {every:g} h up to {duration:g} h)", file=file,
                                        line=line_of(vnode, j), field=f"measurements.visits[{j}]")
            visits.append(h)
        if meas.get("readouts") is not None:
            from .observe import load_readouts
            known = load_readouts()
            readouts = []
            for j, r in enumerate(meas["readouts"]):
                if r not in known:
                    hint = difflib.get_close_matches(str(r), sorted(known), n=1)
                    raise OpiaxisInputError(f"unknown read-out {r!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""),
                                            file=file, line=line_of(meas["readouts"], j), field=f"measurements.readouts[{j}]")
                readouts.append(str(r))
    tol = {"rtol": 1e-6, "atol": 1e-9}
    sol = raw.get("solver")
    if sol is not None:
        _check_keys(sol, SOLVER_KEYS, file, "solver", line_of(raw, "solver"))
        for k in SOLVER_KEYS & set(sol):
            v = sol[k]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 < v < 1):
                raise _err(f"{k} must be a number between 0 and 1, got {v!r}", file, sol, k, f"solver.{k}")
            tol[k] = float(v)
    return Study(str(raw["name"]), file, int(seed), size, id_start, variability, params, arms,
                 duration, every, [str(o) for o in outputs], str(raw.get("description", "")), covs, endpoints,
                 visits, readouts, tol["rtol"], tol["atol"], overrides)


def load_study(path: str | Path | None, model: Model, *, allow_implausible_doses: bool = False) -> Study:
    """Load a study file, or the embedded default study when ``path`` is None.

    Doses above the plausible range of ``data/dose_limits.yaml`` are an error unless
    ``allow_implausible_doses``; those allowed are kept in ``Study.dose_overrides`` and recorded
    in the run's outputs."""
    if path is None:
        text = (resources.files("opiaxis") / "data" / "default_study.yaml").read_text()
        return parse_study(load_yaml(text, "<default study>"), model, "<default study>",
                           allow_implausible_doses=allow_implausible_doses)
    p = Path(path)
    return parse_study(load_yaml_file(p, expect="study"), model, str(p), p.parent,
                       allow_implausible_doses=allow_implausible_doses)


# ----------------------------------------------------------------------------------------------
def assign_arms(study: Study, ids: np.ndarray) -> np.ndarray:
    """Randomise each patient to an arm from its own stream (independent of chunking)."""
    w = np.array([a.weight for a in study.arms])
    cum = np.cumsum(w / w.sum())
    u = patient_normals(study.seed + 7919, ids, 1)[:, 0]
    from scipy.special import ndtr
    return np.minimum(np.searchsorted(cum, ndtr(u), side="right"), len(cum) - 1)


def arm_doses(study: Study, arm: Arm, model: Model, ids: np.ndarray) -> pd.DataFrame:
    """Expanded dose rows of an arm for the given patients (its regimens, then its event table)."""
    return arm.doses.for_ids(ids).expanded()


IN_MEMORY_ROWS = 5_000_000   # above this, results stay on disk and are read back in parts


def _stream_merge(paths: list[Path], dest: Path) -> None:
    """Concatenate Parquet files into one, one file in memory at a time, atomically."""
    tmp = dest.with_name(dest.name + ".tmp")
    writer = None
    try:
        for p in paths:
            t = pq.read_table(p)
            if writer is None:
                writer = pq.ParquetWriter(tmp, t.schema)
            writer.write_table(t.replace_schema_metadata(writer.schema.metadata).cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()
    os.replace(tmp, dest)


def _atomic_parquet(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def simulate_chunk(study: Study, model: Model | None, a_idx: int, cids: np.ndarray):
    """Simulate one chunk of one arm; returns (tidy results, patients table, solver seconds).

    Runs in the calling process or on a Dask worker (``model=None`` builds the default model
    there, once per worker process). Each patient's parameters come from its own random stream,
    so the result does not depend on which chunk or worker simulates it.
    """
    if model is None:
        from .models import default_model
        model = default_model()
    arm = study.arms[a_idx]
    P, cov = virtual_cohort(model, cids, study.seed, overrides={**study.parameters, **arm.parameters},
                            variability=study.variability, covariates=study.covariates)
    doses = arm_doses(study, arm, model, cids)
    from .engine import SolverOptions
    t0 = min(0.0, float(doses["TIME"].min())) if len(doses) else 0.0   # steady-state run-ins start before 0
    res = simulate(model, P, study.times, doses, ids=cids, t0=t0,
                   options=SolverOptions(rtol=study.rtol, atol=study.atol))
    df = res.to_frame(study.outputs).sort_values(["patient", "variable", "time"], kind="mergesort",
                                                 ignore_index=True)
    df["variable"] = df["variable"].astype(str)
    df["unit"] = df["unit"].astype(str)
    df.insert(1, "arm", arm.name)
    pat = pd.DataFrame(P, columns=model.parameter_names)
    pat.insert(0, "patient", cids)
    pat.insert(1, "arm", arm.name)
    pat.insert(2, "solver_status", res.stats[:, 2])
    for k, c in enumerate(col for col in cov.columns if col != "patient"):
        pat.insert(3 + k, f"cov_{c}", cov[c].to_numpy())
    return df, pat, res.wall_seconds


def connect_scheduler(address: str | None, workers: int | None = None):
    """A Dask client: ``"local"`` starts a local cluster of worker processes; anything else is a
    scheduler address (``tcp://host:8786``). A scheduler that does not answer is an input error."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise OpiaxisInputError("Dask is not installed; install it with: pip install 'opiaxis[dask]' "
                                "(or pip install 'dask[distributed]') to use --scheduler", field="--scheduler") from None
    if address in (None, "", "local"):
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, dashboard_address=None)
        return Client(cluster)
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise OpiaxisInputError(f"no Dask scheduler answers at {address!r} ({exc}); expected the address "
                                "of a running scheduler such as tcp://127.0.0.1:8786, or 'local'",
                                field="--scheduler") from None


# ----------------------------------------------------------------------------------------------
# what a chunk was made from, checksums, and the lock on an output folder
MANIFEST = "run.json"
LOCK = ".opiaxis.lock"


def _canonical(obj):
    """A JSON-able, deterministic form of a study's parts (event tables by content hash)."""
    import dataclasses
    import hashlib
    if isinstance(obj, pd.DataFrame):
        return "sha256:" + hashlib.sha256(obj.to_csv(index=False).encode()).hexdigest()
    if dataclasses.is_dataclass(obj):
        return {f.name: _canonical(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if isinstance(obj, float):
        return repr(obj)
    return obj if isinstance(obj, (str, int, bool, type(None))) else repr(obj)


def _code_version() -> str:
    """The package version and a hash of its source and data files (any change to the code shows)."""
    import hashlib
    from . import __version__
    h = hashlib.sha256()
    root = Path(__file__).parent
    for f in sorted(root.rglob("*")):
        if f.suffix in (".py", ".yaml") and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return f"{__version__}+{h.hexdigest()[:12]}"


def run_key(study: Study, model: Model, chunk_size: int) -> dict:
    """What the chunks of a run are made from: study spec (the parts that shape the simulated
    results), model fingerprint, code version, seed and chunking."""
    spec = {"population": {"size": study.size, "id_start": study.id_start, "variability": study.variability,
                           "parameters": study.parameters, "covariates": study.covariates},
            "arms": [{"name": a.name, "weight": a.weight, "regimens": [t for t, _ in a.regimens],
                      "events": a.events, "parameters": a.parameters} for a in study.arms],
            "schedule": {"duration": study.duration, "every": study.every},
            "outputs": study.outputs, "solver": {"rtol": study.rtol, "atol": study.atol}}
    return {"study": _canonical(spec), "model": model.fingerprint(), "code": _code_version(),
            "seed": study.seed, "chunking": {"chunk_size": int(chunk_size)}}


def _key_changes(old: dict, new: dict) -> list[str]:
    out = []
    for k in ("study", "model", "code", "seed", "chunking"):
        a, b = old.get(k), new.get(k)
        if a == b:
            continue
        if k == "study" and isinstance(a, dict):
            parts = []
            for part in sorted(set(a) | set(b)):
                if a.get(part) != b.get(part):
                    sub = a.get(part), b.get(part)
                    keys = sorted(set(sub[0]) | set(sub[1])) if all(isinstance(x, dict) for x in sub) else []
                    parts += [f"{part}.{q}" for q in keys if sub[0].get(q) != sub[1].get(q)] or [part]
            out.append(f"study spec ({', '.join(parts)})")
        elif k == "model":
            out.append(f"model fingerprint ({a} -> {b})")
        elif k == "code":
            out.append(f"code version ({a} -> {b})")
        elif k == "seed":
            out.append(f"seed ({a} -> {b})")
        else:
            out.append(f"chunking (chunk size {(a or {}).get('chunk_size')} -> {b['chunk_size']})")
    return out


def _sha256(path: Path) -> str:
    import hashlib
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_json(path: Path, obj) -> None:
    import json
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True))
    os.replace(tmp, path)


class _FolderLock:
    """An exclusive lock on an output folder (released when the process ends, even by kill -9)."""

    def __init__(self, folder: Path):
        self.path = folder / LOCK
        self.handle = None

    def __enter__(self):
        import socket
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock
            return self
        self.handle = open(self.path, "a+")
        try:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.handle.seek(0)
            holder = self.handle.read().strip() or "another process"
            self.handle.close()
            self.handle = None
            raise OpiaxisInputError(f"another run is writing to this folder ({holder}); wait for it to finish, "
                                    "or give another --out", file=str(self.path.parent), field="--out") from None
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(f"pid {os.getpid()} on {socket.gethostname()} since "
                          f"{_time.strftime('%Y-%m-%d %H:%M:%S')}")
        self.handle.flush()
        return self

    def __exit__(self, *exc):
        if self.handle is not None:
            self.handle.seek(0)
            self.handle.truncate()
            self.handle.close()
        return False


def prepare_out_dir(out_dir: str | Path) -> Path:
    """The output folder, created if needed; a file in its place or no permission is an input error."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OpiaxisInputError("is a file; expected a folder for the results (give another --out)",
                                file=str(out), field="--out")
    try:
        (out / "chunks").mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OpiaxisInputError(f"cannot write to this folder ({exc.strerror or exc}); expected a writable "
                                "folder for the results (give another --out)", file=str(out), field="--out") from None
    return out


def check_arms(study: Study, arm_of: np.ndarray) -> None:
    """Every arm must get patients: an empty arm would silently drop out of every endpoint."""
    counts = np.bincount(arm_of, minlength=len(study.arms))
    empty = [a.name for a, c in zip(study.arms, counts) if c == 0]
    if empty:
        raise OpiaxisInputError(f"arm(s) {', '.join(repr(e) for e in empty)} get no patients: {study.size} patient(s) "
                                f"randomised over {len(study.arms)} arms (weights "
                                f"{', '.join(f'{a.weight:g}' for a in study.arms)}); expected a larger "
                                "population.size or fewer arms", file=study.file, field="population.size")


def _available_memory() -> float | None:
    """Bytes available to a new allocation (Linux MemAvailable: free memory plus reclaimable cache)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def check_resources(study: Study, model: Model, out: Path, chunk_size: int, memory: float | None = None) -> None:
    """Estimate memory and disk before simulating; say what fits when it does not."""
    import shutil
    memory = _available_memory() if memory is None else memory
    n_t = len(study.times)
    per_patient_chunk = n_t * (len(model.states) * 8 + len(study.outputs) * 64)   # states array + tidy rows
    per_patient_table = (len(model.parameters) + 16) * 8                            # patients table, kept whole
    need = min(chunk_size, study.size) * per_patient_chunk + study.size * per_patient_table
    if memory is not None and need > 0.8 * memory:
        fit_chunk = int((0.8 * memory - study.size * per_patient_table) // per_patient_chunk)
        if fit_chunk >= 1:
            hint = f"use --chunk-size {fit_chunk} or less"
        else:
            hint = (f"at most about {int(0.8 * memory // (per_patient_table + per_patient_chunk))} patients fit; "
                    "reduce population.size, schedule.every or the outputs")
        raise OpiaxisInputError(f"the run needs about {need / 2**30:.1f} GiB of memory ({study.size} patients, "
                                f"{n_t} read-out times, {len(model.states)} states) but {memory / 2**30:.1f} GiB is "
                                f"available; {hint}", file=study.file, field="population.size")
    disk = study.size * n_t * len(study.outputs) * 24.0   # ~3 numbers per row, uncompressed upper bound
    try:
        free = shutil.disk_usage(out).free
    except OSError:  # pragma: no cover
        return
    if disk > free:
        raise OpiaxisInputError(f"the results need up to {disk / 2**30:.1f} GiB on disk but {free / 2**30:.1f} GiB "
                                f"is free under {out}; reduce population.size, the read-outs (schedule.every) "
                                "or the outputs, or give another --out", file=study.file, field="population.size")


def run_study(study: Study, model: Model, out_dir: str | Path, *, chunk_size: int = 500,
              progress=None, client=None, fresh: bool = False, notes=None) -> dict:
    """Simulate the study in chunks of patients and write ``results.parquet`` (tidy),
    ``patients.parquet`` (arm, solver status and parameters) and per-chunk files under ``chunks/``.

    Resume is keyed by content: ``run.json`` records what the chunks were made from (study spec,
    model fingerprint, code version, seed, chunking) and each chunk's SHA-256. A run into a folder
    made by a different study, model, code, seed or chunking stops with an error saying which of
    them changed (``fresh=True`` discards the old chunks instead); nothing is overwritten silently.
    A chunk that is missing, damaged or truncated is recomputed and the run says so (``notes``, a
    callable taking a message, and the ``notes`` list of the result). A lock on the folder stops a
    second concurrent run into it with a message naming the holder.

    A chunk file is written atomically once complete, so an interrupted run resumes from its
    last completed chunk; the merged results are written last, atomically. With a Dask
    ``client`` the chunks are simulated on its workers (results are sent back and written
    here, so no shared file system is needed); the results are identical, value for value, to a
    single-process run with the same seed.
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise OpiaxisInputError(f"chunk size {chunk_size!r} must be a whole number >= 1", field="--chunk-size")
    out = prepare_out_dir(out_dir)
    with _FolderLock(out):
        return _run_locked(study, model, out, int(chunk_size), progress, client, fresh, notes)


def _run_locked(study, model, out: Path, chunk_size: int, progress, client, fresh: bool, notes) -> dict:
    import json
    chunks_dir = out / "chunks"
    said: list[str] = []

    def note(msg):
        said.append(msg)
        if notes:
            notes(msg)

    check_resources(study, model, out, chunk_size)
    ids = study.ids
    arm_of = assign_arms(study, ids)
    check_arms(study, arm_of)
    plan = []
    for a_idx, arm in enumerate(study.arms):
        arm_ids = ids[arm_of == a_idx]
        for k in range(0, len(arm_ids), chunk_size):
            plan.append((a_idx, k // chunk_size, arm_ids[k:k + chunk_size]))
    key = run_key(study, model, chunk_size)
    manifest_path = out / MANIFEST
    if fresh:
        import shutil
        shutil.rmtree(chunks_dir, ignore_errors=True)
        manifest_path.unlink(missing_ok=True)
        chunks_dir.mkdir(parents=True, exist_ok=True)
    old = None
    if manifest_path.exists():
        try:
            old = json.loads(manifest_path.read_text())
            if not isinstance(old, dict) or not isinstance(old.get("key"), dict):
                raise ValueError("no key")
        except (ValueError, OSError):
            raise OpiaxisInputError("the run record is damaged, so the chunks beside it cannot be verified; "
                                    "use --fresh to discard them, or give another --out",
                                    file=str(manifest_path), field="--out") from None
        changed = _key_changes(old["key"], key)
        if changed:
            raise OpiaxisInputError(f"this folder holds results of a different run: {'; '.join(changed)} changed. "
                                    "Resuming would mix in results that are not this study's; use --fresh to "
                                    "discard them, or give another --out", file=str(out), field="--out")
    elif any(chunks_dir.glob("*.parquet")):
        raise OpiaxisInputError("chunks/ holds results without a run record (run.json), so what made them cannot "
                                "be checked; use --fresh to discard them, or give another --out",
                                file=str(out), field="--out")
    record = {"opiaxis_run": 1, "key": key, "chunks": dict((old or {}).get("chunks", {})),
              "dose_overrides": list(study.dose_overrides)}
    if study.dose_overrides:
        for m in study.dose_overrides:
            note(f"implausible dose allowed: {m}")
    _write_json(manifest_path, record)

    started = _time.perf_counter()
    sim_seconds = 0.0
    paths = [(chunks_dir / f"arm{a:02d}-{k:05d}.parquet", chunks_dir / f"arm{a:02d}-{k:05d}.patients.parquet")
             for a, k, _ in plan]

    def problem(p: Path) -> str | None:
        """None if the chunk file is there and matches run.json; else what is wrong ("" if never written)."""
        entry = record["chunks"].get(p.name)
        if not p.exists():
            return "" if entry is None else "missing"
        if entry is None:
            return "not in run.json (the run stopped while writing it)"
        if p.stat().st_size != entry.get("bytes"):
            return f"truncated or damaged ({p.stat().st_size} bytes, run.json says {entry.get('bytes')})"
        if _sha256(p) != entry.get("sha256"):
            return "damaged (its checksum differs from run.json)"
        return None

    todo = []
    for n, (p, pp) in enumerate(paths):
        probs = [(x.name, problem(x)) for x in (p, pp)]
        if all(pr is None for _, pr in probs):
            continue
        for name, pr in probs:
            if pr:
                note(f"chunk {name} is {pr}; recomputing it")
        todo.append(n)
    reused = len(plan) - len(todo)
    done = reused
    if progress:
        progress(done, len(plan), "resumed" if reused else "starting")

    def store(n, result):
        nonlocal sim_seconds, done
        df, pat, secs = result
        sim_seconds += secs
        for frame, p in ((pat, paths[n][1]), (df, paths[n][0])):
            _atomic_parquet(frame, p)
            record["chunks"][p.name] = {"sha256": _sha256(p), "bytes": p.stat().st_size, "rows": len(frame)}
        _write_json(manifest_path, record)
        done += 1
        if progress:
            progress(done, len(plan), study.arms[plan[n][0]].name)

    if client is None:
        for n in todo:
            store(n, simulate_chunk(study, model, plan[n][0], plan[n][2]))
    else:
        from distributed import as_completed
        futures = {client.submit(simulate_chunk, study, None, plan[n][0], plan[n][2], pure=False): n for n in todo}
        for fut in as_completed(futures):
            store(futures[fut], fut.result())
    # merge chunk by chunk (memory bounded by one chunk): rows ordered by arm, patient, variable, time
    _stream_merge([p for p, _ in paths], out / "results.parquet")
    _stream_merge([pp for _, pp in paths], out / "patients.parquet")
    patients = pd.read_parquet(out / "patients.parquet")
    n_rows = sum(pq.ParquetFile(p).metadata.num_rows for p, _ in paths)
    results = pd.read_parquet(out / "results.parquet") if n_rows <= IN_MEMORY_ROWS else None
    failed = patients.loc[patients["solver_status"] != 0, "patient"].to_numpy()
    endpoints, km = None, {}
    if study.endpoints:
        from .analysis import analyse
        table = results if results is not None else pd.read_parquet(
            out / "results.parquet", filters=[("variable", "in", sorted({e.variable for e in study.endpoints}))])
        if len(failed):   # a failed solve has no trustworthy values: leave those patients out, and say so
            table = table[~table["patient"].isin(failed)]
            note(f"{len(failed)} patient(s) whose solver failed are left out of the endpoints "
                 "(solver_status in patients.parquet)")
        endpoints, km = analyse(table, study.endpoints)
        tmp = out / "endpoints.csv.tmp"
        endpoints.to_csv(tmp, index=False)
        os.replace(tmp, out / "endpoints.csv")
    measurements = None
    if study.visits:
        from .observe import observe, to_petab_measurements, visit_schedule, write_measurements
        table = results if results is not None else pd.read_parquet(
            out / "results.parquet", filters=[("time", "in", [float(v) for v in study.visits])])
        measurements = observe(visit_schedule(table, study.visits), study.readouts, seed=study.seed, model=model)
        write_measurements(measurements, out / "measurements.parquet")
        write_measurements(to_petab_measurements(measurements), out / "measurements_petab.tsv")
    record["solver_failures"] = {"count": int(len(failed)), "of": int(len(patients)),
                                 "patients": [int(i) for i in failed[:100]]}
    _write_json(manifest_path, record)
    return {"results": results, "patients": patients, "endpoints": endpoints, "km": km, "measurements": measurements,
            "chunks": len(plan), "reused_chunks": reused,
            "wall_seconds": _time.perf_counter() - started, "solver_seconds": sim_seconds,
            "failed": int(len(failed)), "failed_patients": failed, "notes": said,
            "dose_overrides": list(study.dose_overrides)}
