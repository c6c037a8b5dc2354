"""Precision-medicine commands: ``opiaxis fit | recommend | stratify`` (see :mod:`opiaxis.calibrate`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import OpiaxisError
from .common import console, err_console, fail, progress_bar


def _pick(pats: dict, patient: Optional[str], path) -> tuple[str, object]:
    from ..errors import OpiaxisInputError
    if patient is None:
        if len(pats) > 1:
            raise OpiaxisInputError(f"the file holds {len(pats)} patients ({', '.join(list(pats)[:5])} …); "
                                    "choose one with --patient (or use 'opiaxis stratify')", file=str(path), field="--patient")
        return next(iter(pats.items()))
    if str(patient) not in pats:
        raise OpiaxisInputError(f"no patient {patient!r} in the file; patients: {', '.join(list(pats)[:10])}",
                                file=str(path), field="--patient")
    return str(patient), pats[str(patient)]


def _model(modules: Optional[str]):
    from ..models import build_model, default_model
    if modules:
        return build_model(modules=[m.strip() for m in modules.split(",") if m.strip()])
    return default_model()


def _fmt_table(df, cols, title, console):
    from rich.table import Table
    t = Table(title=title)
    for c in cols:
        t.add_column(c, overflow="fold")
    for _, r in df.iterrows():
        t.add_row(*[(f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c])) for c in cols])
    console.print(t)


def fit_command(path: Path = typer.Argument(..., help="patient table (tidy CSV/Parquet), PEtab measurement table, NONMEM dataset, or a directory of "
                                                "SDTM-like domains (ex/pc/lb/qs/dm .csv)"),
        patient: Optional[str] = typer.Option(None, "--patient", help="patient id (when the file holds several)"),
        out: Path = typer.Option(Path("opiaxis-fit"), "--out", "-o", help="output directory"),
        sample: int = typer.Option(0, "--sample", help="importance-sampling draws from the Laplace posterior (0 = none)"),
        hessian: str = typer.Option("fd", help="Laplace Hessian: fd (finite differences), irls (Student-t "
                                    "curvature on the final Jacobian, no extra simulations) or gn (Gauss–Newton)"),
        max_params: int = typer.Option(8, help="at most this many individual parameters (chosen by sensitivity)"),
        parameter: Optional[list[str]] = typer.Option(None, "--parameter", help="fit these parameters instead"),
        regimen: Optional[list[str]] = typer.Option(None, "--regimen", help="dosing for PEtab tables (regimen shorthand)"),
        modules: Optional[str] = typer.Option(None, help="comma-separated module subset (e.g. pk,receptors,adaptation,hpa,immune)"),
        figure: bool = typer.Option(True, help="write fit.png"),
        strict: bool = typer.Option(True, help="exit 2 when no parameter is identifiable from the data")):
    """Fit one patient's individual parameters (empirical-Bayes MAP, Laplace uncertainty)."""
    try:
        from ..calibrate.fit import fit_patient, read_patients
        from ..errors import OpiaxisInputError
        model = _model(modules)
        pats = read_patients(path, model, regimens=regimen)
        pid, data = _pick(pats, patient, path)
        res = fit_patient(data, model, parameters=parameter or None, max_params=max_params, hessian=hessian,
                          sample=sample)
        out.mkdir(parents=True, exist_ok=True)
        res.table.to_csv(out / "parameters.csv", index=False)
        res.fit_table.to_csv(out / "fit.csv", index=False)
        shown = res.table[res.table["fitted"]] if res.table["fitted"].any() else res.table.head(8)
        _fmt_table(shown, ["parameter", "estimate", "lower90", "upper90", "prior_median", "shrinkage", "identifiable", "unit"],
                   f"patient {pid}: individual parameters (90% intervals; {res.hessian} Laplace"
                   + (f", {sample} importance samples, ESS {res.ess:.0f}" if res.ess else "") + ")", console)
        _fmt_table(res.fit_table, ["time", "measurement", "observed", "censored", "predicted", "unit", "residual"],
                   "fit vs data (residual: standardised, censored rows as √(2·nll))", console)
        for msg in res.messages:
            err_console.print(f"[yellow]note:[/] {msg}", highlight=False)
        if figure:
            res.figure(out / "fit.png")
        console.print(f"{len(res.names)} parameter(s) fitted in {res.seconds:.1f} s; wrote {out / 'parameters.csv'}, "
                      f"{out / 'fit.csv'}" + (f", {out / 'fit.png'}" if figure else ""))
        if strict and not res.identifiable:
            raise OpiaxisInputError(
                f"too few data to identify any parameter of patient {pid}: "
                + "; ".join(m for m in res.messages if "not identifiable" in m), file=str(path))
    except OpiaxisError as exc:
        fail(exc)

def recommend_command(path: Path = typer.Argument(..., help="patient table (as for 'opiaxis fit')"),
              patient: Optional[str] = typer.Option(None, "--patient"),
              out: Path = typer.Option(Path("opiaxis-recommend"), "--out", "-o"),
              horizon: float = typer.Option(28.0, help="horizon in days from the decision time"),
              draws: int = typer.Option(30, help="posterior draws propagated"),
              decision_time: Optional[float] = typer.Option(None, help="decision time (h); default the last measurement"),
              candidates: Optional[Path] = typer.Option(None, "--candidates",
                                                        help="YAML adding/replacing candidates, adjuncts, utility weights "
                                                             "(format of opiaxis/data/candidates.yaml)"),
              weight: Optional[list[str]] = typer.Option(None, "--weight",
                                                         help="utility weight TERM=VALUE (withdrawal, overdose, pain, "
                                                              "depression, constipation, craving, inflammation)"),
              hessian: str = typer.Option("fd"),
              sample: int = typer.Option(0, "--sample"),
              regimen: Optional[list[str]] = typer.Option(None, "--regimen"),
              modules: Optional[str] = typer.Option(None),
              seed: int = typer.Option(0),
              voi: bool = typer.Option(False, "--voi/--no-voi",
                                       help="what would decide this: EVPI, EVPPI per parameter and the measurements "
                                            "that inform the deciding ones (voi.csv, voi-measurements.csv, "
                                            "what-would-decide.md; ~4-6 CPU-s more)")):
    """Rank candidate interventions for one patient by posterior expected utility; phenotype / risk strata."""
    try:
        from ..calibrate.fit import fit_patient, read_patients
        from ..calibrate.recommend import check_decision_time, check_options, load_options, parse_weights
        from ..calibrate.recommend import recommend as _rec
        from ..errors import OpiaxisInputError
        opts = load_options(candidates, parse_weights(weight))  # options are checked before the slow fit
        if hessian not in ("fd", "gn", "irls"):
            raise OpiaxisInputError(f"hessian must be 'fd', 'gn' or 'irls', got {hessian!r}", field="--hessian")
        model = _model(modules)
        check_options(model, opts, horizon_days=horizon, draws=draws)
        pats = read_patients(path, model, regimens=regimen)
        pid, data = _pick(pats, patient, path)
        check_decision_time(data, decision_time)
        res = fit_patient(data, model, hessian=hessian, sample=sample, seed=seed)
        rec = _rec(res, horizon_days=horizon, draws=draws, seed=seed, decision_time=decision_time, options=opts)
        out.mkdir(parents=True, exist_ok=True)
        rec.table.to_csv(out / "ranking.csv", index=False)
        rec.strata.to_csv(out / "strata.csv", index=False)
        res.table.to_csv(out / "parameters.csv", index=False)
        (out / "utility.txt").write_text(rec.rule + "\n", encoding="utf-8")
        rec.figure(out / "trajectories.png")
        shown = rec.table.head(8).assign(tie=lambda d: d["tie"].map({True: "tie", False: ""}))
        _fmt_table(shown, ["rank", "candidate", "composite", "p_best", "p_beats_next", "tie", "driver"],
                   f"patient {pid}: expected loss over {horizon:g} d from {rec.decision_time:g} h ({draws} draws; "
                   "lower is better; top 8, all in ranking.csv)", console)
        console.print(rec.rule, highlight=False)
        _fmt_table(rec.strata, ["stratum", "status", "evidence"], f"patient {pid}: phenotype / risk strata", console)
        for msg in res.messages + rec.notes:
            err_console.print(f"[yellow]note:[/] {msg}", highlight=False)
        if voi:
            _write_voi(res, rec, opts, seed, out)
        console.print(f"wrote {out / 'ranking.csv'}, {out / 'strata.csv'}, {out / 'parameters.csv'}, "
                      f"{out / 'utility.txt'}, {out / 'trajectories.png'} (fit {res.seconds:.1f} s, recommend {rec.seconds:.1f} s)")
    except OpiaxisError as exc:
        fail(exc)


def _write_voi(fit, rec, opts, seed: int, out: Path) -> None:
    """The value-of-information read-out of a recommendation (:mod:`opiaxis.calibrate.voi`): its
    files and one console line."""
    from ..calibrate.voi import value_of_information
    v = value_of_information(fit, rec, options=opts, seed=seed)
    v.table.to_csv(out / "voi.csv", index=False)
    v.measurements.to_csv(out / "voi-measurements.csv", index=False)
    (out / "what-would-decide.md").write_text(v.markdown(), encoding="utf-8")
    console.print(v.summary() + f" ({v.seconds:.1f} s; {out / 'voi.csv'}, {out / 'what-would-decide.md'})",
                  highlight=False)


def stratify_command(path: Path = typer.Argument(..., help="cohort: patient table with many patients (CSV or Parquet)"),
             out: Path = typer.Option(Path("opiaxis-stratify"), "--out", "-o"),
             draws: int = typer.Option(8, help="posterior draws per patient for the treatment responses"),
             horizon: float = typer.Option(28.0, help="horizon (days)"),
             responses: bool = typer.Option(True, help="predict treatment responses per stratum"),
             hessian: str = typer.Option("gn", help="Laplace Hessian (gn is faster for cohorts)"),
             regimen: Optional[list[str]] = typer.Option(None, "--regimen"),
             modules: Optional[str] = typer.Option(None)):
    """Phenotype every patient of a cohort: strata sizes and predicted treatment responses per stratum."""
    try:
        from ..calibrate.stratify import stratify_cohort
        model = _model(modules)
        with progress_bar() as prog:
            task = prog.add_task("fitting patients", total=None)
            res = stratify_cohort(path, model, recommend_draws=draws, horizon_days=horizon, hessian=hessian,
                                  regimens=regimen, with_recommend=responses,
                                  progress=lambda k, n, pid: prog.update(task, total=n, completed=k,
                                                                         description=f"patient {pid}"))
        out.mkdir(parents=True, exist_ok=True)
        res.patients.to_csv(out / "patients.csv", index=False)
        res.sizes.to_csv(out / "strata.csv", index=False)
        res.responses.to_csv(out / "responses.csv", index=False)
        _fmt_table(res.sizes, list(res.sizes.columns), f"strata of {len(res.patients)} patient(s)", console)
        if len(res.responses):
            top = res.responses[res.responses["in_stratum"] == "yes"].groupby("stratum", sort=False).head(3)
            _fmt_table(top, ["stratum", "candidate", "n", "mean_composite", "share_best"],
                       "predicted responses in each stratum (top 3 by mean composite)", console)
        console.print(f"wrote {out / 'patients.csv'}, {out / 'strata.csv'}, {out / 'responses.csv'}")
    except OpiaxisError as exc:
        fail(exc)


def register(app: typer.Typer) -> None:
    app.command("fit")(fit_command)
    app.command("recommend")(recommend_command)
    app.command("stratify")(stratify_command)
