"""The output folder of a study run: what its chunks were made from (``run.json``: study spec,
model fingerprint, code version, seed, chunking, chunk checksums), the lock that keeps a second
run out, and atomic Parquet and JSON writes."""

from __future__ import annotations

import os
import time as _time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ..errors import OpiaxisInputError
from ..model.core import Model
from .spec import StudySpec

def stream_merge(paths: list[Path], dest: Path) -> None:
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


def atomic_parquet(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


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


def code_version() -> str:
    """The package version and a hash of its source and data files (any change to the code shows)."""
    import hashlib
    from .. import __version__
    h = hashlib.sha256()
    root = Path(__file__).parent.parent   # the opiaxis package
    for f in sorted(root.rglob("*")):
        if f.suffix in (".py", ".yaml") and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return f"{__version__}+{h.hexdigest()[:12]}"


def run_key(study: StudySpec, model: Model, chunk_size: int) -> dict:
    """What the chunks of a run are made from: study spec (the parts that shape the simulated
    results), model fingerprint, code version, seed and chunking."""
    spec = {"population": {"size": study.size, "id_start": study.id_start, "variability": study.variability,
                           "parameters": study.parameters, "covariates": study.covariates},
            "arms": [{"name": a.name, "weight": a.weight, "regimens": list(a.regimens),
                      "events": a.events, "parameters": a.parameters} for a in study.arms],
            "schedule": {"duration": study.duration, "every": study.every},
            "outputs": study.outputs, "solver": {"rtol": study.rtol, "atol": study.atol}}
    return {"study": _canonical(spec), "model": model.fingerprint(), "code": code_version(),
            "seed": study.seed, "chunking": {"chunk_size": int(chunk_size)}}


def key_changes(old: dict, new: dict) -> list[str]:
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


def sha256(path: Path) -> str:
    import hashlib
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_json(path: Path, obj) -> None:
    import json
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


class FolderLock:
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
        self.handle = open(self.path, "a+", encoding="utf-8")
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
