"""The registry of published targets and the scorecard.

Each target is named by its id in ``shared/science/targets.md`` and is a simulation that mirrors
the study behind it (population, doses, timing, read-out). A target is scored against the
published band; a miss is reported as a miss — bands are never widened here.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np


@dataclass(kw_only=True)
class TargetResult:
    id: str
    finding: str
    source: str
    value: object          # a number or a mapping of named numbers
    band: str              # the published band, as scored
    passed: bool
    detail: str = ""
    calibration: str = ""  # what of this target the model was calibrated to ("" = independent)
    seconds: float = 0.0

    def as_json(self) -> dict:
        def clean(v):
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            if isinstance(v, (np.floating, float)):
                return None if not math.isfinite(float(v)) else round(float(v), 6)
            if isinstance(v, (np.integer,)):
                return int(v)
            if isinstance(v, np.bool_):
                return bool(v)
            return v
        return clean(asdict(self))


@dataclass(kw_only=True)
class Target:
    id: str
    finding: str
    band: str
    source: str
    run: Callable[[], tuple[object, bool, str]]
    calibration: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


REGISTRY: dict[str, Target] = {}

# modules each targets file needs; a target whose modules are not in the composed model is not run
TOPIC_REQUIRES = {
    "targets_pk": ("pk", "receptors"),
    "targets_adaptation": ("adaptation", "pain"),
    "targets_neuroimmune": ("hpa", "immune", "glia", "white_matter"),
    "targets_gut": ("gut",),
    "targets_mood": ("endogenous", "mood"),
    "targets_behaviour": ("reward", "oxytocin"),
}
SKIPPED: list[tuple[str, str]] = []


def target(id: str, *, finding: str, band: str, source: str, calibration: str = "",
           tags: tuple[str, ...] = ()):
    """Register a target. The function returns (value, passed, detail). ``calibration`` says
    which part of the target's data the model's parameters were calibrated to, if any."""
    def deco(fn):
        if id in REGISTRY:
            raise ValueError(f"target {id!r} registered twice")
        REGISTRY[id] = Target(id=id, finding=finding, band=band, source=source, run=fn, calibration=calibration,
                              tags=tags)
        return fn
    return deco


def _load_all() -> None:
    """Import every ``targets_*.py`` in this package; each registers its targets on import."""
    import importlib
    import pkgutil
    from pathlib import Path
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name):
        if info.name.startswith("targets_"):
            importlib.import_module(f"{__package__}.{info.name}")


def _requires(t: Target) -> tuple[str, ...]:
    topic = t.run.__module__.rsplit(".", 1)[-1]
    return TOPIC_REQUIRES.get(topic, ())


def run_targets(ids: list[str] | None = None, progress=None) -> list[TargetResult]:
    """Run targets (all by default). Targets whose modules are absent from the composed model
    are not run; they are listed in :data:`SKIPPED` with the reason."""
    from ..models import available_modules
    _load_all()
    present = set(available_modules())
    SKIPPED.clear()
    if ids:
        unknown = [i for i in ids if i not in REGISTRY]
        if unknown:
            from ..errors import OpiaxisInputError
            raise OpiaxisInputError(f"unknown target(s) {unknown}; known: {sorted(REGISTRY)}", field="target")
    chosen = []
    for i in (ids or list(REGISTRY)):
        missing = [m for m in _requires(REGISTRY[i]) if m not in present]
        if missing:
            SKIPPED.append((i, f"module(s) {', '.join(missing)} not in the composed model"))
        else:
            chosen.append(REGISTRY[i])
    results = []
    for k, t in enumerate(chosen):
        start = time.perf_counter()
        value, passed, detail = t.run()
        results.append(TargetResult(id=t.id, finding=t.finding, source=t.source, value=value, band=t.band,
                                    passed=bool(passed), detail=detail, calibration=t.calibration,
                                    seconds=time.perf_counter() - start))
        if progress:
            progress(k + 1, len(chosen), t.id)
    return results


def write_json(results: list[TargetResult], path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump([r.as_json() for r in results], fh, indent=2)


def format_value(v) -> str:
    if isinstance(v, dict):
        return "; ".join(f"{k} {format_value(x)}" for k, x in v.items())
    if isinstance(v, (float, np.floating)):
        return f"{v:.3g}"
    return str(v)


def write_markdown(results: list[TargetResult], path) -> None:
    """The scorecard as a Markdown page (docs/validation.md is written with this)."""
    from datetime import date
    n_ok = sum(r.passed for r in results)
    lines = ["# Validation scorecard", "",
             f"`opiaxis validate --markdown`, {date.today().isoformat()}: **{n_ok} of {len(results)} targets reproduced**. "
             "Bands are the published ones (targets.md); a miss is reported, never widened. "
             "*Calibrated* means the model's parameters were fitted to (part of) that target's data.", "",
             "| target | result | simulated | band | source |", "|---|---|---|---|---|"]
    for r in results:
        res = ("reproduced" if r.passed else "**missed**") + (" (calibrated)" if r.calibration else "")
        lines.append(f"| {r.id} | {res} | {format_value(r.value)} | {r.band} | {r.source} |")
    lines += ["", "## Notes per target", ""]
    for r in results:
        lines.append(f"- **{r.id}** — {r.finding}. {r.detail}." + (f" Calibration: {r.calibration}." if r.calibration else ""))
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
