"""The registry of published targets and the scorecard.

Each target is named by its id in ``shared/science/targets.md`` and is a simulation that mirrors
the study behind it (population, doses, timing, read-out). A target is scored against the
published band; a miss is reported as a miss — bands are never widened here.
"""

from __future__ import annotations

import inspect
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
    replicates: Replicates | None = None    # re-draws at the trial's size (only when asked for)
    expectation: Expectation | None = None  # one run at a multiple of the trial's size (only when asked for)

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
        out = clean(asdict(self))
        for key in ("replicates", "expectation"):  # absent unless run: the default scorecard is unchanged
            if out[key] is None:
                del out[key]
        return out


@dataclass(kw_only=True)
class Replicates:
    """A stochastic target re-run with ``len(seeds)`` derived seeds at ``n`` patients (its trial's
    size): whether a pass depends on the draw (issue 14)."""
    n: int
    seeds: list[int]
    passed: list[bool]
    values: list = field(default_factory=list)   # each draw's simulated value, to see what flips

    @property
    def reproduced(self) -> int:
        return sum(self.passed)

    @property
    def fraction(self) -> float:
        return self.reproduced / len(self.passed) if self.passed else float("nan")

    def summary(self) -> str:
        return f"reproduced in {self.reproduced} of {len(self.passed)} draws at n={self.n}"


@dataclass(kw_only=True)
class Expectation:
    """A stochastic target run once at ``scale`` times its trial's size: its result in expectation
    (the sampling error of the cohort made small), as against one draw at the trial's size."""
    n: int
    scale: float
    seed: int
    value: object
    passed: bool | None      # None: not scored in expectation (the band is set at the trial's size)
    detail: str = ""

    def summary(self) -> str:
        if self.passed is None:
            return "not scored in expectation (the band is a test at the trial's own size)"
        return f"{'reproduced' if self.passed else 'missed'} in expectation (n={self.n}, {self.scale:g}× the trial)"


@dataclass(kw_only=True)
class Target:
    id: str
    finding: str
    band: str
    source: str
    run: Callable[..., tuple[object, bool, str]]
    calibration: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    trial_n: int | None = None   # the study's own size where the function's default ``n`` differs from it
    band_at_trial_size: bool = False   # the band is a test at the trial's size (e.g. "not significant at n≈64")

    @property
    def stochastic(self) -> bool:
        """A target is stochastic when its function takes ``seed`` and ``n`` keywords: its cohort can
        be re-drawn and re-sized without editing its body."""
        params = inspect.signature(self.run).parameters
        return "seed" in params and "n" in params

    @property
    def default_seed(self) -> int:
        return int(inspect.signature(self.run).parameters["seed"].default)

    @property
    def default_n(self) -> int:
        """The trial's size: ``trial_n`` when given, else the default of the function's ``n``."""
        return int(self.trial_n or inspect.signature(self.run).parameters["n"].default)


REGISTRY: dict[str, Target] = {}

# modules each targets file needs; a target whose modules are not in the composed model is not run
TOPIC_REQUIRES = {
    "targets_pk": ("pk", "receptors"),
    "targets_adaptation": ("adaptation", "pain"),
    "targets_neuroimmune": ("hpa", "immune", "glia", "white_matter"),
    "targets_gut": ("gut",),
    "targets_mood": ("endogenous", "mood"),
    "targets_behaviour": ("reward", "oxytocin"),
    "targets_predictions": ("pk", "receptors", "respiration", "adaptation", "hpa", "pain", "reward", "mood"),
    "targets_predictions_seeds": ("pk", "receptors", "respiration", "adaptation", "hpa", "pain", "reward", "mood",
                                  "gut", "oxytocin"),
    "targets_predictions_seeds2": ("pk", "receptors", "adaptation", "hpa", "immune", "glia", "pain", "reward", "mood",
                                   "gut", "oxytocin", "endogenous"),
}
SKIPPED: list[tuple[str, str]] = []


def target(id: str, *, finding: str, band: str, source: str, calibration: str = "",
           tags: tuple[str, ...] = (), trial_n: int | None = None, band_at_trial_size: bool = False):
    """Register a target. The function returns (value, passed, detail). ``calibration`` says
    which part of the target's data the model's parameters were calibrated to, if any.

    A stochastic target's function takes ``seed`` and ``n`` keywords whose defaults are the
    scorecard's (so a plain call is today's result); ``trial_n`` is the published study's size when
    the default ``n`` is not it (e.g. a large cohort scored against a small study).
    ``band_at_trial_size``: the band is a test at the study's size (a null result, "not significant
    at n≈64"), which a larger cohort fails by design; such a target is re-drawn at its size but
    not scored in expectation."""
    def deco(fn):
        if id in REGISTRY:
            raise ValueError(f"target {id!r} registered twice")
        t = Target(id=id, finding=finding, band=band, source=source, run=fn, calibration=calibration,
                   tags=tags, trial_n=trial_n, band_at_trial_size=band_at_trial_size)
        if t.stochastic:
            params = inspect.signature(fn).parameters
            for key in ("seed", "n"):
                d = params[key].default
                if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
                    raise ValueError(f"target {id!r}: keyword {key!r} needs an integer default (today's "
                                     f"scorecard value), got {d!r}")
        elif trial_n is not None or band_at_trial_size:
            raise ValueError(f"target {id!r}: trial_n or band_at_trial_size given but the function takes no "
                             "seed and n keywords")
        REGISTRY[id] = t
        return fn
    return deco


def replicate_seeds(t: Target, k: int) -> list[int]:
    """The seeds of ``k`` re-draws of a stochastic target: replicate ``r``'s seed is drawn from
    ``Streams(default seed).derived_seed(Purpose.REPLICATE, r)``, so it depends on the target's own seed
    and ``r`` alone (the first 5 of 10 replicates are the 5 of a run with 5), never on an offset."""
    from ..streams import Purpose, Streams
    s = Streams(t.default_seed)
    return [s.derived_seed(Purpose.REPLICATE, r) for r in range(k)]


def _load_all() -> None:
    """Import every ``targets_*.py`` in this package; each registers its targets on import."""
    import importlib
    import pkgutil
    from pathlib import Path
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name):
        if info.name.startswith("targets_"):
            importlib.import_module(f"{__package__}.{info.name}")


def _check_scoring_options(replicates, expectation_scale) -> None:
    from ..errors import OpiaxisInputError
    if isinstance(replicates, bool) or not isinstance(replicates, (int, np.integer)) or replicates < 0:
        raise OpiaxisInputError(f"{replicates!r} replicates; expected a whole number >= 0", field="--replicates")
    if expectation_scale is not None and not (math.isfinite(expectation_scale) and expectation_scale > 0):
        raise OpiaxisInputError(f"expectation scale {expectation_scale!r}; expected a positive number (a multiple "
                                "of the trial's size, e.g. 10)", field="--expectation-scale")


def _requires(t: Target) -> tuple[str, ...]:
    topic = t.run.__module__.rsplit(".", 1)[-1]
    return TOPIC_REQUIRES.get(topic, ())


def run_targets(ids: list[str] | None = None, progress=None, *, replicates: int = 0,
                expectation_scale: float | None = None, checkpoint: "Checkpoint | None" = None) -> list[TargetResult]:
    """Run targets (all by default). Targets whose modules are absent from the composed model
    are not run; they are listed in :data:`SKIPPED` with the reason. With ``replicates`` K, each
    stochastic target is also re-run K times at its trial's size with derived seeds
    (:func:`replicate_seeds`); with ``expectation_scale`` F, once at F times its trial's size. The
    scored result is always the default draw. With a :class:`Checkpoint`, each result is saved as
    soon as it is scored and a target already scored by the same code with the same options is
    read back instead of re-run (an interrupted scorecard resumes)."""
    _check_scoring_options(replicates, expectation_scale)
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
        done = checkpoint.load(t.id) if checkpoint else None
        if done is not None:
            results.append(done)
            if progress:
                progress(k + 1, len(chosen), t.id)
            continue
        start = time.perf_counter()
        value, passed, detail = t.run()
        r = TargetResult(id=t.id, finding=t.finding, source=t.source, value=value, band=t.band,
                         passed=bool(passed), detail=detail, calibration=t.calibration)
        if t.stochastic and replicates:
            r.replicates = run_replicates(t, replicates)
        if t.stochastic and expectation_scale:
            r.expectation = run_expectation(t, expectation_scale)
        r.seconds = time.perf_counter() - start
        results.append(r)
        if checkpoint:
            checkpoint.save(r)
        if progress:
            progress(k + 1, len(chosen), t.id)
    return results


class Checkpoint:
    """A folder holding each scored target as ``<id>.json``, keyed by what determines its result:
    the package's code and data (:func:`opiaxis.study.store.code_version`, so any change to the
    model or to a target re-runs it), the library versions and the scoring options. A file with
    another key, or a torn one, is ignored and replaced; nothing else in the folder is touched.
    ``reuse=False`` scores everything again (and still saves each result)."""

    VERSION = 1

    def __init__(self, folder, *, replicates: int = 0, expectation_scale: float | None = None, reuse: bool = True):
        import hashlib
        from pathlib import Path

        import scipy

        from ..study.store import code_version
        self.folder = Path(folder)
        content = {"version": self.VERSION, "code": code_version(), "numpy": np.__version__,
                   "scipy": scipy.__version__, "replicates": int(replicates),
                   "expectation_scale": expectation_scale}
        self.key = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:20]
        self.reused: list[str] = []
        self.reuse = reuse

    def _path(self, target_id: str):
        return self.folder / f"{target_id}.json"

    def load(self, target_id: str) -> TargetResult | None:
        path = self._path(target_id)
        if not self.reuse or not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("key") != self.key:
                return None
            r = result_from_json(data["result"])
        except (ValueError, TypeError, KeyError):
            return None    # torn or foreign: scored again and replaced
        self.reused.append(target_id)
        return r

    def save(self, r: TargetResult) -> None:
        import os
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            from ..errors import OpiaxisInputError
            raise OpiaxisInputError(f"cannot create the checkpoint folder {self.folder}: {exc}",
                                    field="--checkpoint") from exc
        path = self._path(r.id)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": self.key, "result": r.as_json()}, indent=1), encoding="utf-8")
        os.replace(tmp, path)


def result_from_json(d: dict) -> TargetResult:
    """A :class:`TargetResult` from :meth:`TargetResult.as_json` (numbers as written: rounded to 6
    decimals, non-finite ones as None)."""
    d = dict(d)
    rep, exp = d.pop("replicates", None), d.pop("expectation", None)
    r = TargetResult(**d)
    r.replicates = Replicates(**rep) if rep else None
    r.expectation = Expectation(**exp) if exp else None
    return r


def run_replicates(t: Target, k: int) -> Replicates:
    """Re-run a stochastic target with ``k`` derived seeds at its trial's size."""
    seeds = replicate_seeds(t, k)
    runs = [t.run(seed=s, n=t.default_n) for s in seeds]
    return Replicates(n=t.default_n, seeds=seeds, passed=[bool(r[1]) for r in runs], values=[r[0] for r in runs])


def run_expectation(t: Target, scale: float) -> Expectation:
    """Run a stochastic target once, with its own seed, at ``scale`` times its trial's size."""
    n = max(1, int(round(scale * t.default_n)))
    if t.band_at_trial_size:
        return Expectation(n=n, scale=float(scale), seed=t.default_seed, value=None, passed=None,
                           detail="not run: the band is a test at the trial's own size")
    value, passed, detail = t.run(seed=t.default_seed, n=n)
    return Expectation(n=n, scale=float(scale), seed=t.default_seed, value=value, passed=bool(passed), detail=detail)


def write_json(results: list[TargetResult], path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump([r.as_json() for r in results], fh, indent=2)


def format_value(v) -> str:
    if isinstance(v, dict):
        return "; ".join(f"{k} {format_value(x)}" for k, x in v.items())
    if isinstance(v, (float, np.floating)):
        return f"{v:.3g}"
    return str(v)


DRAWS_NOTE = ("*Re-drawn*: a stochastic target re-run with other seeds at its trial's size (how often it is "
              "reproduced) and once at a multiple of that size (in expectation); a pass that holds in few "
              "draws at the trial's size depends on the draw.")


def draws_summary(r: TargetResult) -> str:
    """'reproduced in 7 of 10 draws at n=32; reproduced in expectation (n=320, 10× the trial)', or ''."""
    return "; ".join(x.summary() for x in (r.replicates, r.expectation) if x is not None)


def write_markdown(results: list[TargetResult], path) -> None:
    """The scorecard as a Markdown page (docs/validation.md is written with this). A column of
    re-draws is added only when replicates or an expectation run were asked for."""
    from datetime import date
    n_ok = sum(r.passed for r in results)
    draws = any(r.replicates or r.expectation for r in results)
    lines = ["# Validation scorecard", "",
             f"`opiaxis validate --markdown`, {date.today().isoformat()}: **{n_ok} of {len(results)} targets reproduced**. "
             "Bands are the published ones (targets.md); a miss is reported, never widened. "
             "*Calibrated* means the model's parameters were fitted to (part of) that target's data."
             + (" " + DRAWS_NOTE if draws else ""), "",
             "| target | result | simulated | band | source |" + (" re-drawn |" if draws else ""),
             "|---|---|---|---|---|" + ("---|" if draws else "")]
    for r in results:
        res = ("reproduced" if r.passed else "**missed**") + (" (calibrated)" if r.calibration else "")
        row = f"| {r.id} | {res} | {format_value(r.value)} | {r.band} | {r.source} |"
        lines.append(row + (f" {draws_summary(r) or '—'} |" if draws else ""))
    lines += ["", "## Notes per target", ""]
    for r in results:
        lines.append(f"- **{r.id}** — {r.finding}. {r.detail}." + (f" Calibration: {r.calibration}." if r.calibration else "")
                     + (f" In expectation (n={r.expectation.n}): {format_value(r.expectation.value)}."
                        if r.expectation and r.expectation.passed is not None else ""))
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
