"""Cross-validation of the calibration procedures: the model's out-of-sample score.

For each procedure, the in-sample fold fits to every published number it uses and scores them
("reproduced when calibrated to"); then each fold (a target, or numbers sharing a mechanism: a
:class:`~.procedures.TargetUse`'s ``group``) is left out in turn, the procedure is re-fitted to the
rest, and the left-out numbers are scored with the re-fitted parameters ("reproduced when not").
When nothing is left to fit to (a procedure with one fold), the left-out numbers are scored at the
free parameters' priors — the value the model would have without this calibration; that is the
honest out-of-sample number, and the table says so.

Resumable: one JSON file per fold in the output folder, keyed by the content that determines it
(the procedure's declaration and simulation code, the model's structure and parameter values, the
behaviour parameters); a fold whose file carries the current key is not re-run, a changed one is.
With a Dask client the folds run on its workers (results are written here).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import OpiaxisInputError
from .procedures import Procedure, evaluate, evaluation_model, get_procedure, procedures, run_procedure

CV_VERSION = 1   # bump when the fold file's meaning changes


@dataclass(frozen=True, kw_only=True)
class Score:
    quantity: str
    target: str
    fold: str
    published: float
    low: float
    high: float
    simulated: float
    residual: float
    inside: bool


@dataclass(frozen=True, kw_only=True)
class FoldResult:
    procedure: str
    left_out: str            # "" = the in-sample fit (nothing left out)
    values: dict             # the fitted (or prior) parameter values
    objective: float         # J on the numbers fitted to (nan when prior-only)
    prior_only: bool         # nothing was left to fit to: ``values`` are the priors
    scores: list             # Score as dicts: the left-out numbers (all numbers for the in-sample fold)
    seconds: float
    key: str

    def as_json(self) -> dict:
        return {"version": CV_VERSION, **asdict(self),
                "objective": None if not math.isfinite(self.objective) else self.objective}

    @classmethod
    def from_json(cls, d: dict) -> "FoldResult":
        d = {k: v for k, v in d.items() if k != "version"}
        d["objective"] = float("nan") if d["objective"] is None else d["objective"]
        return cls(**d)


@dataclass(kw_only=True)
class CrossValidation:
    results: list = field(default_factory=list)     # FoldResult
    ran: int = 0
    reused: int = 0
    not_cross_validated: list = field(default_factory=list)   # (procedure, cost)


def _model_for(proc: Procedure):
    return proc.model() if proc.model else evaluation_model()


def fold_key(proc: Procedure, left_out: str, model) -> str:
    """What determines a fold's result, hashed."""
    # the behaviour layer's parameters are model parameters: their values and spreads are in these lists
    spreads = [p.variability.spread if p.variability else None for p in model.parameters]
    content = {"version": CV_VERSION, "procedure": proc.describe(), "left_out": left_out,
               "code": inspect.getsource(proc.simulate), "model": model.fingerprint(),
               "values": model.default_parameters().tolist(), "spreads": spreads,
               "error_floors": model.error_floors().tolist()}   # the solver's per-state error scales
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:20]


def run_fold(proc: Procedure, left_out: str, key: str = "") -> FoldResult:
    """Fit without ``left_out`` (nothing left out: the in-sample fit) and score what was left out."""
    start = time.perf_counter()
    model = _model_for(proc)
    fit = run_procedure(proc, leave_out=(left_out,) if left_out else (), model=model)
    scored = [t for t in proc.targets if t.fold == left_out] if left_out else list(proc.targets)
    sim = fit.simulated if not left_out else evaluate(proc, fit.new, tuple(scored), model=model)
    scores = [asdict(Score(quantity=t.quantity, target=t.target, fold=t.fold, published=t.published, low=t.low,
                           high=t.high, simulated=float(sim[t.quantity]), residual=float(t.residual(sim[t.quantity])),
                           inside=t.inside(sim[t.quantity]))) for t in scored]
    return FoldResult(procedure=proc.name, left_out=left_out, values={k: float(v) for k, v in fit.new.items()},
                      objective=fit.objective, prior_only=fit.prior_only, scores=scores,
                      seconds=time.perf_counter() - start, key=key)


def fold_file(out: Path, proc: Procedure, left_out: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", left_out or "all")
    return out / f"{proc.name}--{slug}.json"


def _load_done(path: Path, key: str) -> FoldResult | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return FoldResult.from_json(data) if data.get("key") == key and data.get("version") == CV_VERSION else None
    except (ValueError, TypeError, KeyError):
        return None   # a torn or foreign file: the fold is run again and the file replaced


def _save(path: Path, result: FoldResult) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(result.as_json(), indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)   # atomic: an interrupted run leaves no half-written fold


def _plan(procs: list[Procedure], out: Path, cv: CrossValidation) -> list[tuple[Procedure, str, str]]:
    todo = []
    for proc in procs:
        key_model = _model_for(proc)
        for left_out in ["", *proc.folds()]:
            key = fold_key(proc, left_out, key_model)
            done = _load_done(fold_file(out, proc, left_out), key)
            if done is not None:
                cv.results.append(done)
                cv.reused += 1
            else:
                todo.append((proc, left_out, key))
    return todo


def cross_validate(names: list | None, out: Path, *, client=None, progress=None) -> CrossValidation:
    """Cross-validate the named procedures (default: every procedure marked ``cross_validated``)
    into ``out``; folds already there with the current key are reused. ``progress(k, total, text)``."""
    out = Path(out)
    procs = [get_procedure(n) if isinstance(n, str) else n for n in names] if names else \
        [p for p in procedures().values() if p.cross_validated]
    if out.exists() and not out.is_dir():
        raise OpiaxisInputError("is a file; expected a folder for the cross-validation folds", file=str(out),
                                field="--out")
    out.mkdir(parents=True, exist_ok=True)
    chosen = {p.name for p in procs}
    cv = CrossValidation(not_cross_validated=[(p.name, p.cost) for p in procedures().values()
                                              if p.name not in chosen and not p.cross_validated])
    todo = _plan(procs, out, cv)
    for k, (proc, left_out, result) in enumerate(_execute(todo, client), start=1):
        _save(fold_file(out, proc, left_out), result)
        cv.results.append(result)
        cv.ran += 1
        if progress:
            progress(k, len(todo), f"{proc.name} without {left_out or '(nothing)'}")
    pos = {(p.name, lo): (i, j) for i, p in enumerate(procs) for j, lo in enumerate(["", *p.folds()])}
    cv.results.sort(key=lambda r: pos.get((r.procedure, r.left_out), (len(procs), 0)))
    return cv


def _execute(todo, client):
    if client is None:
        for proc, left_out, key in todo:
            yield proc, left_out, run_fold(proc, left_out, key)
        return
    from distributed import as_completed
    futures = {client.submit(run_fold, proc, left_out, key, pure=False): (proc, left_out) for proc, left_out, key in todo}
    for fut in as_completed(futures):
        proc, left_out = futures[fut]
        yield proc, left_out, fut.result()


# ----------------------------------------------------------------------------------------------
def rows(cv: CrossValidation) -> list[dict]:
    """One row per published number: in-sample and out-of-sample (left-out) score side by side."""
    inside = {(r.procedure, s["quantity"]): s for r in cv.results if not r.left_out for s in r.scores}
    table = []
    for r in cv.results:
        if not r.left_out:
            continue
        for s in r.scores:
            ins = inside.get((r.procedure, s["quantity"]))
            table.append({"procedure": r.procedure, "target": s["target"] or "(outside the registry)",
                          "quantity": s["quantity"], "band": f"{s['low']:g}–{s['high']:g}",
                          "in_sample": ins, "out_of_sample": s, "prior_only": r.prior_only, "values": r.values})
    return table


def _fmt(s: dict | None) -> str:
    if s is None:
        return "—"
    return f"{s['simulated']:.3g} ({'reproduced' if s['inside'] else 'missed'}, r {s['residual']:+.2f})"


def markdown(cv: CrossValidation) -> str:
    lines = ["| procedure | target | number (band) | calibrated to it | left out | left-out fit |",
             "|---|---|---|---|---|---|"]
    for row in rows(cv):
        how = "prior (nothing left to fit)" if row["prior_only"] else "re-fitted to the rest"
        vals = ", ".join(f"{k} {v:.4g}" for k, v in row["values"].items())
        lines.append(f"| {row['procedure']} | {row['target']} | {row['quantity']} ({row['band']}) | "
                     f"{_fmt(row['in_sample'])} | {_fmt(row['out_of_sample'])} | {how}: {vals} |")
    n = len(rows(cv))
    n_in = sum(1 for r in rows(cv) if r["in_sample"] and r["in_sample"]["inside"])
    n_out = sum(1 for r in rows(cv) if r["out_of_sample"]["inside"])
    lines.append("")
    lines.append(f"Reproduced when calibrated to: {n_in} of {n}; when left out: {n_out} of {n}.")
    return "\n".join(lines + ["", *by_target(cv)]) + "\n"


def by_target(cv: CrossValidation) -> list[str]:
    """Per target (all of its numbers inside their bands): reproduced when calibrated to, and when not."""
    groups: dict[str, list] = {}
    for row in rows(cv):
        groups.setdefault(row["target"], []).append(row)
    lines = ["| target | reproduced when calibrated to | reproduced when left out |", "|---|---|---|"]
    for target, rs in groups.items():
        k_in = sum(1 for r in rs if r["in_sample"] and r["in_sample"]["inside"])
        k_out = sum(1 for r in rs if r["out_of_sample"]["inside"])
        prior = " (scored at the prior)" if all(r["prior_only"] for r in rs) else ""
        lines.append(f"| {target} | {'yes' if k_in == len(rs) else 'no'} ({k_in} of {len(rs)}) | "
                     f"{'yes' if k_out == len(rs) else 'no'} ({k_out} of {len(rs)}){prior} |")
    return lines
