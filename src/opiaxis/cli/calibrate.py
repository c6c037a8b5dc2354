"""``opiaxis calibrate``: list and run the declared calibration procedures
(:mod:`opiaxis.calibrate.procedures`) and append their results to the calibration record."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ..errors import OpiaxisError, OpiaxisInputError
from .common import console, fail, progress_bar


def _list() -> None:
    from ..calibrate.procedures import procedures
    t = Table(title="calibration procedures")
    t.add_column("name", no_wrap=True)
    for col in ("free parameters [bounds]", "fitted to", "optimiser", "cost"):
        t.add_column(col, overflow="fold")
    for p in procedures().values():
        free = "\n".join(f"{f.name}{' (spread)' if f.what == 'spread' else ''} [{f.lower:g}, {f.upper:g}]"
                         for f in p.free)
        t.add_row(p.name, free, "\n".join(u.describe() for u in p.targets), p.optimiser, p.cost)
    console.print(t)


def _dry_run(proc) -> None:
    console.print(f"[bold]{proc.name}[/]: {proc.summary}")
    for f in proc.free:
        prior = f"; prior {f.prior:g} ({f.prior_source})" if f.prior is not None else ""
        grid = f"; grid {list(proc.grid[f.name])}" if f.name in proc.grid else ""
        console.print(f"  free: {f.name} ({f.layer} {f.what}) in [{f.lower:g}, {f.upper:g}]{grid}{prior}")
    for u in proc.targets:
        console.print(f"  fitted to: {u.describe()} [{u.scale} scale; fold {u.fold!r}]")
    console.print(f"  optimiser: {proc.optimiser}; cost: {proc.cost}")
    if proc.notes:
        console.print(f"  notes: {proc.notes}")
    console.print("dry run: nothing simulated")


def _report(proc, fit, model) -> None:
    from ..calibrate.procedures import edit_needed
    t = Table(title=f"{proc.name}: J = {fit.objective:.4g} after {fit.evaluations} evaluations")
    for col in ("parameter", "old", "new"):
        t.add_column(col)
    for f in proc.free:
        t.add_row(f"{f.name}{' (spread)' if f.what == 'spread' else ''}", f"{fit.old[f.name]:.6g}", f"{fit.new[f.name]:.6g}")
    console.print(t)
    for u in proc.targets:
        v = fit.simulated[u.quantity]
        verdict = "[green]inside[/]" if u.inside(v) else "[red]outside[/]"
        console.print(f"  {u.quantity}: simulated {v:.4g}, published {u.published:g} ({u.low:g}–{u.high:g}) {verdict}; "
                      f"residual {u.residual(v):+.2f}")
    for line in edit_needed(proc, fit, model):
        console.print(f"  edit needed: {line}")


def parse_set(items: list[str]) -> dict:
    """``NAME=VALUE`` options (``--set``) as {name: float}; a clear error naming the item otherwise."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise OpiaxisInputError(f"{item!r}: expected name=value with a number, e.g. craving_satiety_agonism=0.5",
                                    field="--set")
    return out


def register(app: typer.Typer) -> None:

    @app.command("calibrate")
    def calibrate(name: Optional[str] = typer.Argument(None, help="procedure to run (see --list)"),
                  list_: bool = typer.Option(False, "--list", help="list the procedures and exit"),
                  dry_run: bool = typer.Option(False, "--dry-run", help="show what would be fitted; simulate nothing"),
                  write: bool = typer.Option(False, "--write", help="append the result to the calibration record"),
                  record: Optional[Path] = typer.Option(None, "--record",
                                                        help="record file to append to (default: the packaged "
                                                             "data/calibration.yaml)"),
                  set_: Optional[list[str]] = typer.Option(None, "--set",
                                                           help="hold another parameter at a typical value, "
                                                                "name=value (repeatable; e.g. an earlier block's fit)")):
        """Run a declared calibration procedure: prints old → new and the objective; --write appends
        an entry to data/calibration.yaml. Values in the code are not edited: the edit is printed."""
        try:
            from ..calibrate import procedures as cp
            if list_:
                _list()
                return
            if name is None:
                raise OpiaxisInputError(f"name a procedure ({', '.join(sorted(cp.procedures()))}) or give --list",
                                        field="NAME")
            proc = cp.get_procedure(name)
            fixed = parse_set(set_ or [])
            path = record if record is not None else cp.record_path()
            if write:
                cp.read_record(path)   # a bad record fails before any slow work
            if dry_run:
                _dry_run(proc)
                return
            model = proc.model() if proc.model else cp.evaluation_model()
            with progress_bar() as prog:
                task = prog.add_task(f"{proc.name} ({proc.cost})", total=None)
                fit = cp.run_procedure(proc, model=model, fixed=fixed, progress=lambda k, n, text: prog.update(
                    task, completed=k, total=n, description=text))
            _report(proc, fit, model)
            if write:
                cp.append_record(cp.record_entries(proc, fit, datetime.date.today().isoformat()), path)
                console.print(f"appended {len(proc.free)} entr{'y' if len(proc.free) == 1 else 'ies'} to {path}")
        except (OpiaxisError, OSError) as exc:
            fail(exc)
