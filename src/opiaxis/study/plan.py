"""From a study to a run plan: randomisation of patients to arms, the chunks each arm is
simulated in, and the memory and disk the run needs (checked before anything is simulated)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import OpiaxisInputError
from ..model.core import Model
from ..streams import Purpose, Streams
from .spec import StudySpec


def assign_arms(study: StudySpec, ids: np.ndarray) -> np.ndarray:
    """Arm index of each patient, from its own stream (independent of chunking)."""
    return Streams(study.seed).randomise(ids, [a.weight for a in study.arms], Purpose.ARM)


def arm_doses(study: StudySpec, arm, model: Model, ids: np.ndarray):
    """Expanded dose rows of an arm for the given patients (its regimens, then its event table)."""
    return arm.doses.for_ids(ids).expanded()


def check_arms(study: StudySpec, arm_of: np.ndarray) -> None:
    """Every arm must get patients: an empty arm would silently drop out of every endpoint."""
    counts = np.bincount(arm_of, minlength=len(study.arms))
    empty = [a.name for a, c in zip(study.arms, counts) if c == 0]
    if empty:
        raise OpiaxisInputError(f"arm(s) {', '.join(repr(e) for e in empty)} get no patients: {study.size} patient(s) "
                                f"randomised over {len(study.arms)} arms (weights "
                                f"{', '.join(f'{a.weight:g}' for a in study.arms)}); expected a larger "
                                "population.size or fewer arms", file=study.file, field="population.size")


@dataclass(frozen=True, kw_only=True)
class Chunk:
    """Patients of one arm simulated together; ``name`` names its files under ``chunks/``."""
    arm: int
    index: int
    ids: np.ndarray

    @property
    def name(self) -> str:
        return f"arm{self.arm:02d}-{self.index:05d}"


@dataclass(frozen=True, kw_only=True)
class RunPlan:
    """What an executor simulates: the study, each patient's arm and the chunks."""
    study: StudySpec
    chunk_size: int
    arm_of: np.ndarray
    chunks: tuple[Chunk, ...]

    @classmethod
    def make(cls, study: StudySpec, chunk_size: int) -> RunPlan:
        ids = study.ids
        arm_of = assign_arms(study, ids)
        check_arms(study, arm_of)
        chunks = []
        for a_idx in range(len(study.arms)):
            arm_ids = ids[arm_of == a_idx]
            chunks += [Chunk(arm=a_idx, index=k // chunk_size, ids=arm_ids[k:k + chunk_size])
                       for k in range(0, len(arm_ids), chunk_size)]
        return cls(study=study, chunk_size=chunk_size, arm_of=arm_of, chunks=tuple(chunks))


def _available_memory() -> float | None:
    """Bytes available to a new allocation (Linux MemAvailable: free memory plus reclaimable cache)."""
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def check_resources(study: StudySpec, model: Model, out: Path, chunk_size: int, memory: float | None = None) -> None:
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


def regimen_doses(model: Model, ids, regimens: list[str], start: float = 0.0):
    """Expanded dose rows giving every patient in ``ids`` all the regimen texts (None if none);
    a thin wrapper over :class:`opiaxis.dosing.EventTable` (rows sorted by ID)."""
    from ..dosing import EventTable
    if not regimens:
        return None
    ids = np.array([int(i) for i in ids], dtype=np.int64)
    out = EventTable.from_regimens(model, regimens, start=start).for_ids(ids).expanded()
    if len(ids) > 1 and not (np.diff(ids) > 0).all():
        out = out.sort_values("ID", kind="mergesort", ignore_index=True)
    return out[["ID", "TIME", "EVID", "AMT", "CMT", "RATE", "ORDER"]]
