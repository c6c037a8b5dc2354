"""CLI: ``opiaxis trial <file.yaml>`` — behaviour trials (detox, methadone, buprenorphine-naloxone,
XR-naltrexone, intranasal oxytocin adjunct, naloxone distribution) from a study file of kind
``behaviour-trial`` (see examples/oud_treatment_24w.yaml and opiaxis.behaviour.trialfile)."""

from __future__ import annotations

from pathlib import Path

from .common import console, fail, progress_bar


def register(app) -> None:
    import typer

    @app.command("trial")
    def trial(path: str = typer.Argument(..., help="behaviour-trial YAML file"),
              out: Path = typer.Option(Path("opiaxis-trial"), "--out", "-o", help="output directory")):
        """Simulate a behaviour trial (use, treatment, overdose); print per-arm outcomes and write
        summary.json, patients.csv, daily.parquet, events.csv (event history) and report.html
        (relapse/retention curves); columns in docs/trials.md."""
        import json

        from ..behaviour.trialfile import load_trial, run_trial, write_trial_outputs
        from ..errors import OpiaxisError
        try:
            spec = load_trial(path)
            console.print(f"behaviour trial [bold]{spec.name}[/]: {spec.size} patients, {len(spec.arms)} arms, "
                          f"{spec.days} days, seed {spec.seed}")
            with progress_bar() as prog:
                task = prog.add_task("simulating days", total=spec.days)
                res = run_trial(spec, progress=lambda k: prog.update(task, completed=k))
            paths = write_trial_outputs(spec, res, out)
        except OpiaxisError as exc:
            fail(exc)
        print(json.dumps(res["summary"], indent=2, ensure_ascii=False))
        console.print("wrote " + ", ".join(str(p) for p in paths))
