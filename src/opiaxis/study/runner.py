"""Running a study: the plan goes to an executor with the model, each finished chunk is written
atomically and recorded with its checksum, and the merged results, endpoints and measurements
come back as one typed :class:`StudyRun`."""

from __future__ import annotations

import json
import os
import shutil
import time as _time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ..errors import OpiaxisInputError
from ..model.core import Model
from .execute import DaskExecutor, SerialExecutor
from .plan import RunPlan, check_resources
from .spec import StudySpec
from .store import (MANIFEST, FolderLock, atomic_parquet, key_changes, prepare_out_dir, run_key, sha256,
                    stream_merge, write_json)

IN_MEMORY_ROWS = 5_000_000   # above this, results stay on disk and are read back in parts


@dataclass(kw_only=True)
class StudyRun:
    """What a study run produced (the files under ``out`` hold the same)."""
    study: StudySpec
    out: Path
    patients: pd.DataFrame                    # one row per patient: arm, solver_status, cov_*, parameters
    results: pd.DataFrame | None              # tidy results; None when kept on disk (large cohorts)
    endpoints: pd.DataFrame | None = None
    km: dict = field(default_factory=dict)    # endpoint -> arm -> Kaplan-Meier table
    measurements: pd.DataFrame | None = None
    chunks: int = 0
    reused_chunks: int = 0
    wall_seconds: float = 0.0
    solver_seconds: float = 0.0
    failed_patients: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    notes: list[str] = field(default_factory=list)
    dose_overrides: list[str] = field(default_factory=list)
    kind: str = "study"

    @property
    def failed(self) -> int:
        """How many patients' solves failed."""
        return int(len(self.failed_patients))

    @property
    def results_path(self) -> Path:
        return self.out / "results.parquet"

    def to_xarray(self, variables: list[str] | None = None):
        """The results as a labelled :class:`xarray.Dataset`: one variable per output, dims
        ``(patient, time)``, units in ``attrs["units"]`` (time in h); each patient's arm and
        covariates (``cov_*`` of patients.parquet, without the prefix) as coordinates. Reads the
        needed rows from disk when the results are kept there."""
        from ..engine.simulate import require_xarray
        xr = require_xarray()
        table = self.results
        if table is None:
            filters = [("variable", "in", list(variables))] if variables else None
            table = pd.read_parquet(self.results_path, filters=filters)
        variables = variables or list(dict.fromkeys(table["variable"].astype(str)))
        pats = self.patients.set_index("patient").sort_index()
        data = {}
        for v in variables:
            rows = table[table["variable"].astype(str) == v]
            if rows.empty:
                raise OpiaxisInputError(f"{v!r} is not an output of this study; expected one of "
                                        f"{sorted(set(table['variable'].astype(str)))}", field="variables")
            wide = rows.pivot(index="patient", columns="time", values="value").reindex(pats.index)
            data[v] = (("patient", "time"), wide.to_numpy(float), {"units": str(rows["unit"].iloc[0])})
        times = np.asarray(wide.columns, float)
        coords = {"patient": pats.index.to_numpy(), "time": ("time", times, {"units": "h"}),
                  "arm": ("patient", pats["arm"].astype(str).to_numpy())}
        for c in (c for c in pats.columns if c.startswith("cov_")):
            coords[c[4:]] = ("patient", pats[c].to_numpy())
        return xr.Dataset(data, coords=coords, attrs={"study": self.study.name, "seed": self.study.seed})


def _read_record(out: Path, key: dict, fresh: bool) -> dict | None:
    """The previous run record of the folder (None if none), after checking it is this run's."""
    chunks_dir, manifest_path = out / "chunks", out / MANIFEST
    if fresh:
        shutil.rmtree(chunks_dir, ignore_errors=True)
        manifest_path.unlink(missing_ok=True)
        chunks_dir.mkdir(parents=True, exist_ok=True)
    if not manifest_path.exists():
        if any(chunks_dir.glob("*.parquet")):
            raise OpiaxisInputError("chunks/ holds results without a run record (run.json), so what made them cannot "
                                    "be checked; use --fresh to discard them, or give another --out",
                                    file=str(out), field="--out")
        return None
    try:
        old = json.loads(manifest_path.read_text(encoding="utf-8"))
        if not isinstance(old, dict) or not isinstance(old.get("key"), dict):
            raise ValueError("no key")
    except (ValueError, OSError):
        raise OpiaxisInputError("the run record is damaged, so the chunks beside it cannot be verified; "
                                "use --fresh to discard them, or give another --out",
                                file=str(manifest_path), field="--out") from None
    changed = key_changes(old["key"], key)
    if changed:
        raise OpiaxisInputError(f"this folder holds results of a different run: {'; '.join(changed)} changed. "
                                "Resuming would mix in results that are not this study's; use --fresh to "
                                "discard them, or give another --out", file=str(out), field="--out")
    return old


def _problem(record: dict, p: Path) -> str | None:
    """None if the chunk file is there and matches run.json; else what is wrong ("" if never written)."""
    entry = record["chunks"].get(p.name)
    if not p.exists():
        return "" if entry is None else "missing"
    if entry is None:
        return "not in run.json (the run stopped while writing it)"
    if p.stat().st_size != entry.get("bytes"):
        return f"truncated or damaged ({p.stat().st_size} bytes, run.json says {entry.get('bytes')})"
    if sha256(p) != entry.get("sha256"):
        return "damaged (its checksum differs from run.json)"
    return None


def _todo(record: dict, paths: list[tuple[Path, Path]], note) -> list[int]:
    """The chunks to (re)compute: never written, or not matching their record (said)."""
    todo = []
    for n, pair in enumerate(paths):
        probs = [(x.name, _problem(record, x)) for x in pair]
        if all(pr is None for _, pr in probs):
            continue
        for name, pr in probs:
            if pr:
                note(f"chunk {name} is {pr}; recomputing it")
        todo.append(n)
    return todo


def _endpoints(study: StudySpec, out: Path, results, failed: np.ndarray, note):
    if not study.endpoints:
        return None, {}
    from ..analysis import analyse
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
    return endpoints, km


def _measurements(study: StudySpec, model: Model, out: Path, results):
    if not study.visits:
        return None
    from ..observe import load_readouts, observe, to_petab_measurements, write_measurements
    # a read-out that recalls a window (BFI, SBM/week) needs the rows inside it, not only the visits'
    defs = load_readouts()
    wmax = max([defs[n].window or 0.0 for n in (study.readouts or defs) if n in defs], default=0.0)
    times = [float(t) for t in study.times if any(v - wmax - 1e-9 <= t <= v + 1e-9 for v in study.visits)]
    table = results if results is not None else pd.read_parquet(
        out / "results.parquet", filters=[("time", "in", times)])
    measurements = observe(table, study.readouts, seed=study.seed, model=model, visits=study.visits)
    write_measurements(measurements, out / "measurements.parquet")
    write_measurements(to_petab_measurements(measurements), out / "measurements_petab.tsv")
    return measurements


def run_study(study: StudySpec, model: Model, out_dir: str | Path, *, chunk_size: int = 500,
              progress=None, client=None, executor=None, fresh: bool = False, notes=None,
              in_memory_rows: int = IN_MEMORY_ROWS) -> StudyRun:
    """Simulate the study in chunks of patients and write ``results.parquet`` (tidy),
    ``patients.parquet`` (arm, solver status and parameters) and per-chunk files under ``chunks/``.

    Resume is keyed by content: ``run.json`` records what the chunks were made from (study spec,
    model fingerprint, code version, seed, chunking) and each chunk's SHA-256. A run into a folder
    made by a different study, model, code, seed or chunking stops with an error saying which of
    them changed (``fresh=True`` discards the old chunks instead); nothing is overwritten silently.
    A chunk that is missing, damaged or truncated is recomputed and the run says so (``notes``, a
    callable taking a message, and :attr:`StudyRun.notes`). A lock on the folder stops a second
    concurrent run into it with a message naming the holder.

    The chunks go to ``executor`` (default :class:`SerialExecutor`; with a Dask ``client``,
    :class:`DaskExecutor`) together with ``model``; results are identical, value for value,
    whichever executor, chunking or worker count. Above ``in_memory_rows`` result rows the
    results stay on disk (``StudyRun.results`` is None) and are read back in parts.
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise OpiaxisInputError(f"chunk size {chunk_size!r} must be a whole number >= 1", field="--chunk-size")
    if executor is None:
        executor = SerialExecutor() if client is None else DaskExecutor(client)
    out = prepare_out_dir(out_dir)
    with FolderLock(out):
        return _run_locked(study, model, out, int(chunk_size), executor, progress, fresh, notes, in_memory_rows)


def _run_locked(study: StudySpec, model: Model, out: Path, chunk_size: int, executor, progress, fresh: bool,
                notes, in_memory_rows: int) -> StudyRun:
    said: list[str] = []

    def note(msg):
        said.append(msg)
        if notes:
            notes(msg)

    check_resources(study, model, out, chunk_size)
    plan = RunPlan.make(study, chunk_size)
    key = run_key(study, model, chunk_size)
    old = _read_record(out, key, fresh)
    record = {"opiaxis_run": 1, "key": key, "chunks": dict((old or {}).get("chunks", {})),
              "dose_overrides": list(study.dose_overrides)}
    for m in study.dose_overrides:
        note(f"implausible dose allowed: {m}")
    write_json(out / MANIFEST, record)
    started = _time.perf_counter()
    paths = [(out / "chunks" / f"{c.name}.parquet", out / "chunks" / f"{c.name}.patients.parquet") for c in plan.chunks]
    todo = _todo(record, paths, note)
    reused = done = len(plan.chunks) - len(todo)
    sim_seconds = 0.0
    if progress:
        progress(done, len(plan.chunks), "resumed" if reused else "starting")
    for n, chunk in executor.run(plan, model, todo):
        sim_seconds += chunk.solver_seconds
        for frame, p in ((chunk.patients, paths[n][1]), (chunk.results, paths[n][0])):
            atomic_parquet(frame, p)
            record["chunks"][p.name] = {"sha256": sha256(p), "bytes": p.stat().st_size, "rows": len(frame)}
        write_json(out / MANIFEST, record)
        done += 1
        if progress:
            progress(done, len(plan.chunks), study.arms[plan.chunks[n].arm].name)
    return _finish(study, model, out, plan, paths, record, note, said, reused=reused, started=started,
                   sim_seconds=sim_seconds, in_memory_rows=in_memory_rows)


def _finish(study, model, out: Path, plan: RunPlan, paths, record: dict, note, said: list[str], *, reused: int,
            started: float, sim_seconds: float, in_memory_rows: int) -> StudyRun:
    """Merge the chunks (one in memory at a time; rows ordered by arm, patient, variable, time),
    then endpoints and measurements."""
    stream_merge([p for p, _ in paths], out / "results.parquet")
    stream_merge([pp for _, pp in paths], out / "patients.parquet")
    patients = pd.read_parquet(out / "patients.parquet")
    n_rows = sum(pq.ParquetFile(p).metadata.num_rows for p, _ in paths)
    results = pd.read_parquet(out / "results.parquet") if n_rows <= in_memory_rows else None
    failed = patients.loc[patients["solver_status"] != 0, "patient"].to_numpy()
    endpoints, km = _endpoints(study, out, results, failed, note)
    measurements = _measurements(study, model, out, results)
    record["solver_failures"] = {"count": int(len(failed)), "of": int(len(patients)),
                                 "patients": [int(i) for i in failed[:100]]}
    write_json(out / MANIFEST, record)
    return StudyRun(study=study, out=out, patients=patients, results=results, endpoints=endpoints, km=km,
                    measurements=measurements, chunks=len(plan.chunks), reused_chunks=reused,
                    wall_seconds=_time.perf_counter() - started, solver_seconds=sim_seconds,
                    failed_patients=failed, notes=said, dose_overrides=list(study.dose_overrides))
