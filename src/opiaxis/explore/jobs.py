"""Simulation jobs for the explorer: chunks of patients run in a worker process that keeps the
compiled model; progress is counted in chunks, and a cancelled job stops between chunks."""

from __future__ import annotations

import multiprocessing as mp
import threading
import traceback
import uuid
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import OpiaxisError

CHUNK = 16  # patients per worker call: small enough that cancel and progress feel immediate


# ---- in the worker process ------------------------------------------------------------------
_MODEL = None


def _worker_model():
    global _MODEL
    if _MODEL is None:
        from ..models import default_model
        _MODEL = default_model()
    return _MODEL


def warm_up() -> int:
    """Build and compile the model in the worker (loads the compile cache when warm)."""
    import numpy as np

    from ..engine import simulate
    m = _worker_model()
    simulate(m, m.default_parameters()[None, :], np.array([0.0, 1.0]))
    return len(m.states)


def simulate_arm_chunk(spec: dict, arm: int, ids: list[int]) -> pd.DataFrame:
    """One chunk of one arm as a tidy frame (patient, arm, time, variable, value, unit)."""
    from ..engine import SolverOptions, simulate
    from ..population import virtual_cohort
    from ..population.covariates import covariate_specs
    from ..dosing import EventTable
    model = _worker_model()
    ids = np.asarray(ids)
    a = spec["arms"][arm]
    if spec["population"]["kind"] == "patient":
        # one fitted patient: the fit's individual estimates, no between-patient variability
        P = np.tile(model.default_parameters(), (len(ids), 1))
        for name, value in spec["population"]["parameters"].items():
            P[:, model.param_index[name]] = value
    else:
        P, _ = virtual_cohort(model, ids, spec["seed"],
                              covariates=covariate_specs(spec["population"].get("covariates") or {}))
    times = np.arange(0.0, spec["horizon_h"] + 1e-9, spec["every_h"])
    regimen = EventTable.from_regimens(model, a["regimens"])
    doses = regimen.for_ids(ids).expanded() if len(regimen) else None
    res = simulate(model, P, times, doses, ids=ids, options=SolverOptions(rtol=1e-5))
    df = res.to_frame(spec["outputs"])
    df.insert(1, "arm", a["name"])
    df["variable"] = df["variable"].astype(str)
    df["unit"] = df["unit"].astype(str)
    df.loc[np.repeat(res.stats[:, 2] != 0, len(times) * len(spec["outputs"])), "value"] = np.nan
    return df


def run_trial_file(path: str, size: int | None) -> dict:
    """A behaviour trial file, run whole: Kaplan–Meier tables and the summary."""
    from ..behaviour.trialfile import load_trial, run_trial
    spec = load_trial(path, model=_worker_model())
    if size:
        spec.size = int(size)
    result = run_trial(spec)
    km = {name: {arm: np.asarray(tab, float)[:, :2].tolist() for arm, tab in curves.items()}
          for name, curves in result["km"].items()}
    return {"km": km, "summary": _plain(result["summary"]), "name": spec.name, "size": spec.size, "days": spec.days}


def _plain(obj):
    """JSON-ready copy: NumPy scalars and arrays become Python numbers and lists, NaN becomes None."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


# ---- in the web server's process --------------------------------------------------------------
@dataclass(kw_only=True)
class Job:
    id: str
    kind: str
    total: int
    done: int = 0
    state: str = "running"      # running | done | cancelled | error
    message: str = ""
    frames: list = field(default_factory=list)
    result: dict | None = None
    spec: dict | None = None
    futures: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def status(self) -> dict:
        return {"id": self.id, "kind": self.kind, "state": self.state, "done": self.done, "total": self.total,
                "message": self.message}


class JobManager:
    """One worker process (it keeps the compiled model); jobs queue their chunks on it."""

    def __init__(self, workers: int = 1):
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"))
        self.ready: Future = self._pool.submit(warm_up)
        self.jobs: dict[str, Job] = {}

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def submit_simulation(self, spec: dict) -> Job:
        plan = []
        for k, _ in enumerate(spec["arms"]):
            ids = list(range(1, spec["population"]["size"] + 1))
            plan += [(k, ids[i:i + CHUNK]) for i in range(0, len(ids), CHUNK)]
        job = Job(id=uuid.uuid4().hex[:12], kind="simulation", total=len(plan), spec=spec)
        self.jobs[job.id] = job
        for arm, ids in plan:
            fut = self._pool.submit(simulate_arm_chunk, spec, arm, ids)
            fut.add_done_callback(lambda f, job=job: self._chunk_done(job, f))
            job.futures.append(fut)
        return job

    def submit_trial(self, path: str, size: int | None) -> Job:
        job = Job(id=uuid.uuid4().hex[:12], kind="trial", total=1, message="running the behaviour trial")
        self.jobs[job.id] = job
        fut = self._pool.submit(run_trial_file, path, size)
        fut.add_done_callback(lambda f, job=job: self._trial_done(job, f))
        job.futures.append(fut)
        return job

    def cancel(self, job: Job) -> None:
        with job.lock:
            if job.state == "running":
                job.state = "cancelled"
                job.message = f"cancelled after {job.done} of {job.total} chunks"
        for f in job.futures:
            f.cancel()

    @staticmethod
    def _error_text(exc: BaseException) -> str:
        if isinstance(exc, OpiaxisError):
            return str(exc)
        return "".join(traceback.format_exception_only(type(exc), exc)).strip()

    def _chunk_done(self, job: Job, fut: Future) -> None:
        with job.lock:
            if job.state != "running":
                return
            try:
                job.frames.append(fut.result())
            except CancelledError:
                return
            except Exception as exc:  # noqa: BLE001 - reported to the page, not swallowed
                job.state, job.message = "error", self._error_text(exc)
                for f in job.futures:
                    f.cancel()
                return
            job.done += 1
            if job.done == job.total:
                job.state = "done"

    def _trial_done(self, job: Job, fut: Future) -> None:
        with job.lock:
            if job.state != "running":
                return
            try:
                job.result = fut.result()
            except CancelledError:
                return
            except Exception as exc:  # noqa: BLE001
                job.state, job.message = "error", self._error_text(exc)
                return
            job.done, job.state, job.message = 1, "done", ""
