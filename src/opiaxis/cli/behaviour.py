"""CLI: ``opiaxis trial <file.yaml>`` — behaviour trials (detox, methadone, buprenorphine-naloxone,
XR-naltrexone, intranasal oxytocin adjunct, naloxone distribution) from a study file of kind
``behaviour-trial`` (see examples/oud_treatment_24w.yaml and opiaxis.behaviour.trialfile).
``opiaxis run`` runs the same files; both go through :func:`run_trial_file`."""

from __future__ import annotations

import json
from pathlib import Path

from .common import console, fail, progress_bar


def run_trial_file(spec, out: Path) -> None:
    """Simulate a parsed behaviour trial, print per-arm outcomes and write its files and report."""
    from ..report import render
    from ..study import run_spec
    console.print(f"behaviour trial [bold]{spec.name}[/]: {spec.size} patients, {len(spec.arms)} arms, "
                  f"{spec.days} days, seed {spec.seed}")
    with progress_bar() as prog:
        task = prog.add_task("simulating days", total=spec.days)
        res = run_spec(spec, None, out, progress=lambda k: prog.update(task, completed=k))
    paths = render(spec, res, out)
    print(json.dumps(res.summary, indent=2, ensure_ascii=False))
    console.print("wrote " + ", ".join(str(p) for p in paths))


def register(app) -> None:
    import typer

    @app.command("trial")
    def trial(path: str = typer.Argument(..., help="behaviour-trial YAML file"),
              out: Path = typer.Option(Path("opiaxis-trial"), "--out", "-o", help="output directory")):
        """Simulate a behaviour trial (use, treatment, overdose); print per-arm outcomes and write
        summary.json, patients.csv, daily.parquet, events.csv (event history) and report.html
        (relapse/retention curves); columns in docs/trials.md."""
        from ..behaviour.trialfile import load_trial
        from ..errors import OpiaxisError
        try:
            run_trial_file(load_trial(path), out)
        except OpiaxisError as exc:
            fail(exc)
