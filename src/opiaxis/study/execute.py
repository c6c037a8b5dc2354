"""Executors: simulate the chunks of a :class:`~opiaxis.study.plan.RunPlan` with the model they
are given — in this process (:class:`SerialExecutor`) or on a Dask cluster
(:class:`DaskExecutor`, which ships that same model to its workers, so a custom model is never
replaced by the default one there). Each patient's parameters come from its own random stream,
so results do not depend on the executor, the chunking or the workers."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..engine import SolverOptions, simulate
from ..errors import OpiaxisInputError
from ..model.core import Model
from ..population import virtual_cohort
from .plan import Chunk, RunPlan
from .spec import StudySpec


@dataclass(frozen=True, kw_only=True)
class ChunkResult:
    results: pd.DataFrame      # tidy rows: patient, arm, time, variable, value, unit
    patients: pd.DataFrame     # patient, arm, solver_status, covariates (cov_*), parameters
    solver_seconds: float


def simulate_chunk(study: StudySpec, model: Model, chunk: Chunk) -> ChunkResult:
    """Simulate one chunk of one arm with ``model``."""
    arm = study.arms[chunk.arm]
    cids = np.asarray(chunk.ids)
    P, cov = virtual_cohort(model, cids, study.seed, overrides={**study.parameters, **arm.parameters},
                            variability=study.variability, covariates=study.covariates)
    doses = arm.doses.for_ids(cids).expanded()
    t0 = min(0.0, float(doses["TIME"].min())) if len(doses) else 0.0   # steady-state run-ins start before 0
    res = simulate(model, P, study.times, doses, ids=cids, t0=t0,
                   options=SolverOptions(rtol=study.rtol, atol=study.atol))
    df = res.to_frame(study.outputs, by_patient=True)     # rows by patient, variable, time
    df["variable"] = df["variable"].astype(str)
    df["unit"] = df["unit"].astype(str)
    df.insert(1, "arm", arm.name)
    pat = pd.DataFrame(P, columns=model.parameter_names)
    pat.insert(0, "patient", cids)
    pat.insert(1, "arm", arm.name)
    pat.insert(2, "solver_status", res.solver_stats.status)
    for k, c in enumerate(col for col in cov.columns if col != "patient"):
        pat.insert(3 + k, f"cov_{c}", cov[c].to_numpy())
    return ChunkResult(results=df, patients=pat, solver_seconds=res.wall_seconds)


class SerialExecutor:
    """Chunks one after another in this process."""

    def run(self, plan: RunPlan, model: Model, todo: Sequence[int]) -> Iterator[tuple[int, ChunkResult]]:
        for n in todo:
            yield n, simulate_chunk(plan.study, model, plan.chunks[n])


class DaskExecutor:
    """Chunks on the workers of a Dask ``client``; the model is sent to every worker once
    (results come back here, so no shared file system is needed)."""

    def __init__(self, client):
        self.client = client

    def run(self, plan: RunPlan, model: Model, todo: Sequence[int]) -> Iterator[tuple[int, ChunkResult]]:
        from distributed import as_completed
        if not todo:
            return
        shipped = self.client.scatter(model, broadcast=True, hash=False)
        futures = {self.client.submit(simulate_chunk, plan.study, shipped, plan.chunks[n], pure=False): n
                   for n in todo}
        for fut in as_completed(futures):
            yield futures[fut], fut.result()


@contextlib.contextmanager
def dask_client(address: str | None, workers: int | None = None):
    """``None`` when ``address`` is None (serial), else a connected client (:func:`connect_scheduler`);
    on exit the client is closed, and a local cluster started for it is shut down too."""
    if address is None:
        yield None
        return
    client = connect_scheduler(address, workers)
    try:
        yield client
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None:
            cluster.close()


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
