"""CLI: ``opiaxis run | model | validate | drugs | check-events`` — studies, the model, the scorecard."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import OpiaxisError, OpiaxisInputError
from .common import console, err_console, fail, output_file, progress_bar


def _check_run_options(chunk_size: int, workers, max_failure_rate: float, out: Path) -> None:
    if chunk_size < 1:
        raise OpiaxisInputError(f"chunk size {chunk_size} must be >= 1", field="--chunk-size")
    if workers is not None and workers < 1:
        raise OpiaxisInputError(f"{workers} workers; expected at least 1", field="--workers")
    if not 0.0 <= max_failure_rate <= 1.0:
        raise OpiaxisInputError(f"{max_failure_rate:g} is not a fraction; expected 0..1", field="--max-failure-rate")
    if out.exists() and not out.is_dir():
        raise OpiaxisInputError("is a file; expected a folder for the results (give another --out)",
                                file=str(out), field="--out")


def _simulate_study(s, model, out: Path, *, chunk_size: int, scheduler, workers, fresh: bool):
    from ..study import dask_client, run_study
    console.print(f"study [bold]{s.name}[/]: {s.size} patients, {len(s.arms)} arm(s), "
                  f"{s.duration / 24:g} days; model {len(model.states)} states, {len(model.parameters)} parameters")
    with dask_client(scheduler, workers) as client:
        if client is not None:
            console.print(f"Dask: {client.scheduler.address if hasattr(client, 'scheduler') else scheduler}, "
                          f"{len(client.scheduler_info()['workers'])} worker(s)")
        with progress_bar() as prog:
            task = prog.add_task("simulating (first run compiles the model)", total=None)

            def cb(k, n, arm):
                prog.update(task, total=n, completed=k, description=f"simulating {arm}")
            return run_study(s, model, out, chunk_size=chunk_size, progress=cb, client=client, fresh=fresh,
                             notes=lambda msg: prog.console.print(f"[yellow]note:[/] {escape(msg)}", highlight=False))


def _say_failures(res, max_failure_rate: float) -> None:
    n_pat = max(len(res.patients), 1)
    if res.failed:
        ids = ", ".join(str(i) for i in res.failed_patients[:10]) + (" …" if res.failed > 10 else "")
        err_console.print(f"[yellow]solver failures:[/] {res.failed} of {n_pat} patients ({res.failed / n_pat:.1%}; "
                          f"patients {ids}); see the solver_status column of patients.parquet", highlight=False)
    if res.failed / n_pat > max_failure_rate:
        err_console.print(f"[bold red]error:[/] the solver failure rate {res.failed / n_pat:.1%} is above "
                          f"--max-failure-rate {max_failure_rate:.1%}; the results are incomplete", highlight=False)
        raise typer.Exit(3)


def run(study: Optional[Path] = typer.Argument(None, help="study or behaviour-trial YAML; the embedded default study if omitted"),
        out: Path = typer.Option(Path("opiaxis-results"), "--out", "-o", help="output directory"),
        chunk_size: int = typer.Option(500, help="patients per chunk (memory bound; chunks resume)"),
        report: bool = typer.Option(True, help="write report.html"),
        fresh: bool = typer.Option(False, help="discard finished chunks (and the run record) instead of resuming"),
        scheduler: Optional[str] = typer.Option(None, help="run chunks on Dask: a scheduler address, or 'local' for a local cluster"),
        workers: Optional[int] = typer.Option(None, help="workers of a local Dask cluster (default: all cores)"),
        allow_implausible_doses: bool = typer.Option(
            False, "--allow-implausible-doses",
            help="simulate doses above the plausible range of data/dose_limits.yaml (recorded in run.json)"),
        max_failure_rate: float = typer.Option(
            0.05, help="exit with status 3 when more than this fraction of patients fail to solve")):
    """Run a study file of any kind — a cohort study (default: the embedded buprenorphine-induction
    study) or a behaviour trial (kind: behaviour-trial) — and write results and a report."""
    try:
        _check_run_options(chunk_size, workers, max_failure_rate, out)
        from ..study import load_spec
        s = load_spec(study, None, allow_implausible_doses=allow_implausible_doses)
        if s.kind != "study":
            unused = [o for o, v in (("--scheduler", scheduler), ("--workers", workers), ("--fresh", fresh),
                                     ("--no-report", not report), ("--chunk-size", chunk_size != 500)) if v]
            if unused:
                err_console.print(f"[yellow]note:[/] {', '.join(unused)} not used by a behaviour trial", highlight=False)
            from .behaviour import run_trial_file
            run_trial_file(s, out)
            return
        from ..models import default_model
        model = default_model()
        res = _simulate_study(s, model, out, chunk_size=chunk_size, scheduler=scheduler, workers=workers, fresh=fresh)
        console.print(f"{len(res.patients)} patients in {res.wall_seconds:.1f} s "
                      f"(solver {res.solver_seconds:.1f} s; {res.reused_chunks} chunk(s) resumed; "
                      f"{res.failed} solver failure(s))")
        if report:
            from ..report import render
            render(s, res, out)
        console.print(f"wrote {out / 'results.parquet'}, {out / 'patients.parquet'}"
                      + (f", {out / 'report.html'}" if report else ""))
        _say_failures(res, max_failure_rate)
    except (OpiaxisError, OSError) as exc:
        fail(exc)


def model(markdown: Optional[Path] = typer.Option(None, "--markdown", help="write the description as Markdown"),
          drug_library: Optional[Path] = typer.Option(None, help="a drug library YAML instead of the shipped one")):
    """Describe the composed model: modules, states, parameters (unit, source, variability), couplings."""
    try:
        from ..describe import describe_markdown
        from ..models import build_model, default_model
        if markdown is not None:
            output_file(markdown, "--markdown")
        if drug_library is not None and not drug_library.is_file():
            raise OpiaxisInputError("drug library not found" if not drug_library.exists() else
                                    "is not a file", file=str(drug_library), field="--drug-library")
        m = build_model(str(drug_library)) if drug_library else default_model()
        text = describe_markdown(m)
        if markdown:
            markdown.write_text(text, encoding="utf-8")
            console.print(f"wrote {markdown}")
        else:
            t = Table(title=f"model {m.name}: {len(m.states)} states, {len(m.parameters)} parameters, "
                            f"{len(m.assignments)} assignments, {len(m.couplings)} couplings")
            for col in ("module", "states", "parameters", "interface variables"):
                t.add_column(col)
            for mod in m.modules:
                t.add_row(mod.name, str(len(mod.states)), str(len(mod.parameters)),
                          ", ".join(a for a, x in mod.assignments.items() if x.interface)[:120] + " …")
            console.print(t)
            console.print("couplings: " + ", ".join(f"{c.provider}→{c.consumer}:{c.variable}" for c in m.couplings[:12])
                          + (" …" if len(m.couplings) > 12 else ""))
            console.print("use --markdown FILE for every state and parameter with unit, source and variability")
    except (OpiaxisError, OSError) as exc:
        fail(exc)


def validate(json_out: Optional[Path] = typer.Option(None, "--json", help="write the scorecard as JSON"),
             target: Optional[list[str]] = typer.Option(None, "--target", "-t", help="only these target ids"),
             strict: bool = typer.Option(False, help="exit with status 1 if any target is missed"),
             markdown: Optional[Path] = typer.Option(None, "--markdown", help="write the scorecard as Markdown"),
             cross_validate: bool = typer.Option(False, "--cross-validate",
                                                 help="re-run the calibration procedures with each calibrated target "
                                                      "left out in turn and score it (resumable; see docs/calibration.md)"),
             out: Path = typer.Option(Path("opiaxis-crossval"), "--out", help="folder of the cross-validation folds"),
             procedure: Optional[list[str]] = typer.Option(None, "--procedure",
                                                           help="cross-validate only these procedures (default: "
                                                                "every procedure marked cross-validated)"),
             scheduler: Optional[str] = typer.Option(None, "--scheduler",
                                                     help="cross-validate on Dask: a scheduler address or 'local'"),
             replicates: int = typer.Option(0, "--replicates",
                                            help="also re-run each stochastic target this many times at its trial's "
                                                 "size with derived seeds and report how often it is reproduced"),
             expectation_scale: Optional[float] = typer.Option(
                 None, "--expectation-scale",
                 help="also run each stochastic target once at this multiple of its trial's size (in expectation)"),
             checkpoint: Path = typer.Option(Path("opiaxis-validate"), "--checkpoint",
                                             help="folder where each target's result is saved as it is scored; a "
                                                  "re-run resumes from it (targets scored by the same code and "
                                                  "options are read back, any change re-runs them)"),
             fresh: bool = typer.Option(False, "--fresh", help="score every target again (ignore the checkpoint)")):
    """Run the published targets and print the scorecard (or, with --cross-validate, the
    calibrated targets' in-sample and out-of-sample scores)."""
    if cross_validate:
        _cross_validate(out, procedure, scheduler, markdown)
        return
    try:
        from ..validate.registry import Checkpoint, run_targets, write_json
        store = Checkpoint(checkpoint, replicates=replicates, expectation_scale=expectation_scale, reuse=not fresh)
        with progress_bar() as prog:
            task = prog.add_task("validating", total=None)
            results = run_targets(target, progress=lambda k, n, i: prog.update(task, total=n, completed=k, description=i),
                                  replicates=replicates, expectation_scale=expectation_scale, checkpoint=store)
        console.print(_scorecard_table(results))
        if store.reused:
            console.print(f"{len(store.reused)} target(s) read back from {checkpoint} (scored earlier by this code "
                          "with these options; --fresh scores them again)")
        n_ok = sum(r.passed for r in results)
        console.print(f"{n_ok} of {len(results)} targets reproduced")
        from ..validate.registry import SKIPPED
        for tid, why in SKIPPED:
            console.print(f"[yellow]not run[/] {tid}: {why}")
        for r in results:
            if not r.passed:
                console.print(f"[red]missed[/] {r.id}: {r.detail}")
        _say_draws(results)
        if json_out:
            write_json(results, json_out)
            console.print(f"wrote {json_out}")
        if markdown:
            from ..validate.registry import write_markdown
            write_markdown(results, markdown)
            console.print(f"wrote {markdown}")
        if strict and n_ok < len(results):
            raise typer.Exit(1)
    except (OpiaxisError, OSError) as exc:
        fail(exc)


def _scorecard_table(results) -> Table:
    """The scorecard as a table; a 're-drawn' column only when replicates or expectation runs were made."""
    from ..validate.registry import draws_summary, format_value
    draws = any(r.replicates or r.expectation for r in results)
    t = Table(title="validation scorecard")
    for col in ("id", "simulated", "band", "result") + (("re-drawn",) if draws else ()):
        t.add_column(col, overflow="fold")
    for r in results:
        res = "[green]reproduced[/]" if r.passed else "[red]missed[/]"
        if r.calibration:
            res += " (calibrated)"
        row = [r.id, format_value(r.value), r.band, res]
        t.add_row(*row, *([escape(draws_summary(r)) or "—"] if draws else []))
    return t


def _say_draws(results) -> None:
    """One line per re-drawn target (the table folds long cells)."""
    from ..validate.registry import draws_summary
    for r in results:
        if r.replicates or r.expectation:
            console.print(f"re-drawn {r.id}: {escape(draws_summary(r))}", highlight=False)


def _cross_validate(out: Path, names, scheduler, markdown) -> None:
    try:
        from ..calibrate.crossval import cross_validate, markdown as cv_markdown
        from ..study import dask_client
        with dask_client(scheduler) as client, progress_bar() as prog:
            task = prog.add_task("cross-validating", total=None)
            cv = cross_validate(list(names) if names else None, out, client=client,
                                progress=lambda k, n, text: prog.update(task, completed=k, total=n, description=text))
        text = cv_markdown(cv)
        console.print(text, markup=False, highlight=False)
        console.print(f"{cv.ran} fold(s) run, {cv.reused} reused from {out}")
        for name, cost in cv.not_cross_validated:
            console.print(f"[yellow]not cross-validated[/] {name}: {cost}")
        (out / "crossval.md").write_text(text, encoding="utf-8")
        if markdown:
            output_file(markdown, "--markdown").write_text(text, encoding="utf-8")
            console.print(f"wrote {markdown}")
    except (OpiaxisError, OSError) as exc:
        fail(exc)


def drugs():
    """List the drugs, their routes and receptor sites."""
    from ..physiology.drugs import load_drugs
    t = Table(title="drug library")
    for col in ("drug", "routes", "receptors (efficacy)", "brain entry"):
        t.add_column(col)
    for name, d in load_drugs().items():
        t.add_row(name, ", ".join(d.routes) or "(metabolite)",
                  ", ".join(f"{s} ({b.efficacy.value:g})" for s, b in d.receptors.items()), "yes" if d.brain_entry else "no")
    console.print(t)


def check_events(path: Path = typer.Argument(..., help="NONMEM-style event table (CSV or Parquet)"),
                 allow_implausible_doses: bool = typer.Option(
                     False, "--allow-implausible-doses", help="report doses above data/dose_limits.yaml as notes"),
                 cmt_map: Optional[str] = typer.Option(None, "--cmt-map", help="numeric CMT -> dosing compartment, e.g. '1=morphine.iv,2=buprenorphine.sl' (or a file of such lines)")):
    """Validate an event table against the model's dosing compartments and plausible dose ranges."""
    try:
        from .. import checks, dosing
        from ..models import default_model
        m = default_model()
        names = sorted(m.dose_targets)
        df = dosing.read_event_table(path, cmt_names=names, cmt_map=dosing.parse_cmt_map(cmt_map, names),
                                     allow_index=False)
        doses = dosing.expand_doses(df)
        for msg in checks.check_doses(doses, allow=allow_implausible_doses, file=str(path), field="AMT"):
            err_console.print(f"[yellow]note:[/] implausible dose allowed: {escape(msg)}", highlight=False)
        console.print(f"{path}: {len(df)} rows, {df['ID'].nunique()} subject(s), {len(doses)} dose event(s) after "
                      "ADDL expansion; OK")
    except (OpiaxisError, OSError) as exc:
        fail(exc)


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(model)
    app.command()(validate)
    app.command()(drugs)
    app.command("check-events")(check_events)
