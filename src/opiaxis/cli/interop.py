"""Interoperability commands: ``export-sbml``, ``export-petab``, ``export-omex``, ``import-nonmem``,
``simulate-nonmem`` (registered on the main app by :mod:`opiaxis.cli`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import OpiaxisError, OpiaxisInputError
from .common import console, fail, output_file


def _model(modules: Optional[str]):
    from ..models import build_model, check_modules, default_model
    if modules is None:
        return default_model()
    return build_model(modules=check_modules([x.strip() for x in modules.split(",") if x.strip()], "--modules"))


def export_sbml(out: Path = typer.Option(Path("opiaxis.xml"), "--out", "-o", help="SBML file to write"),
                modules: Optional[str] = typer.Option(None, help="comma-separated modules (default: all)"),
                regimen: Optional[list[str]] = typer.Option(None, "--regimen", "-r",
                                                            help="doses as events (regimen shorthand; repeatable)"),
                events: Optional[Path] = typer.Option(None, help="NONMEM-style event table of doses"),
                patient: Optional[str] = typer.Option(None, help="which ID of --events to write"),
                per_dose: bool = typer.Option(False, help="one SBML event per dose instead of repeating events"),
                solver_offsets: bool = typer.Option(True, help="integrate states that start at 0 with a small offset, so "
                                                    "libRoadRunner runs it with its default settings (docs/interop.md)"),
                cmt_map: Optional[str] = typer.Option(None, "--cmt-map", help="numeric CMT -> dosing compartment, e.g. '1=morphine.iv,2=buprenorphine.sl' (or a file of such lines)")):
    """Write the composed model (or chosen modules) as SBML L3V2, optionally with doses as events."""
    try:
        import pandas as pd

        from .. import dosing
        from ..interop.sbml import write_sbml
        output_file(out, "--out")
        m = _model(modules)
        doses = None
        table = dosing.EventTable.from_regimens(m, regimen or [],
                                                where=[f"--regimen[{k}]" for k in range(len(regimen or []))])
        table = table.for_ids([1])
        if events:
            names = sorted(m.dose_targets)
            ev = dosing.read_event_table(events, cmt_names=names, cmt_map=dosing.parse_cmt_map(cmt_map, names),
                                         allow_index=False)
            if patient is not None:
                ids = {str(i): i for i in pd.unique(ev.loc[ev["EVID"].isin([1, 3, 4]), "ID"])}
                if patient not in ids:
                    raise OpiaxisInputError(f"no ID {patient!r} in {events}", field="--patient")
                ev = ev[ev["ID"] == ids[patient]]
            table = table + dosing.EventTable.from_rows(ev)   # every ID of the table is written as one patient
        if len(table):
            doses = table.expanded().assign(ID=1)
            if (doses["TIME"] < 0).any():
                raise OpiaxisInputError("steady-state (SS) doses cannot be written as SBML events (their "
                                        "run-in starts before time 0); give the doses explicitly",
                                        file=str(events), field="SS")
        write_sbml(out, m, doses=doses, compact=not per_dose, solver_offsets=solver_offsets)
        console.print(f"wrote {out}: {len(m.states)} states, {len(m.parameters)} parameters, "
                      f"{len(m.assignments)} assignment rules" + (f", {len(doses)} dose event(s)" if doses is not None else "")
                      + "; libSBML consistency check passed")
    except (OpiaxisError, OSError) as exc:
        fail(exc)


def export_petab_cmd(study: Optional[Path] = typer.Argument(None, help="study YAML (default: the embedded study)"),
                     out: Path = typer.Option(Path("petab"), "--out", "-o", help="output directory"),
                     measurements: Optional[Path] = typer.Option(None, help="tidy CSV (patient,time,variable,value) "
                                                                 "or NONMEM dataset; default: simulated"),
                     dv: Optional[str] = typer.Option(None, help="observed variable for NONMEM rows without one"),
                     patients: int = typer.Option(5, help="patients to simulate when no measurements are given"),
                     every: float = typer.Option(24.0, help="hours between simulated measurements"),
                     modules: Optional[str] = typer.Option(None, help="comma-separated modules (default: all)")):
    """Write a PEtab v1 problem (SBML, conditions, observables, measurements, parameters, YAML)."""
    try:
        import math

        from ..interop.petab import check_petab, export_petab, read_measurements, study_measurements
        from ..study import load_study
        if out.exists() and not out.is_dir():
            raise OpiaxisInputError("is a file; expected a folder for the PEtab problem", file=str(out), field="--out")
        if not (math.isfinite(every) and every > 0):
            raise OpiaxisInputError(f"{every:g} h; expected a positive number of hours", field="--every")
        if patients < 1:
            raise OpiaxisInputError(f"{patients} patients; expected at least 1", field="--patients")
        m = _model(modules)
        s = load_study(study, m)
        meas = read_measurements(measurements, m, dv) if measurements else \
            study_measurements(s, m, n_patients=patients, every=every)
        y = export_petab(s, m, meas, out)
        try:
            problems = check_petab(y)
        except OpiaxisInputError as exc:  # petab not installed: the files are written, not linted
            console.print(f"wrote {y} ({len(meas)} measurements); not linted: {exc}", highlight=False)
            return
        if problems:
            raise OpiaxisInputError("; ".join(problems), file=str(y))
        console.print(f"wrote {y} ({len(meas)} measurements); petab lint passed")
    except (OpiaxisError, OSError) as exc:
        fail(exc)


def import_nonmem(path: Path = typer.Argument(..., help="NONMEM-style dataset (CSV or Parquet)"),
                  dv: Optional[str] = typer.Option(None, help="observed variable for rows whose CMT names none"),
                  modules: Optional[str] = typer.Option(None, help="comma-separated modules (default: all)"),
                  cmt_map: Optional[str] = typer.Option(None, "--cmt-map", help="numeric CMT -> dosing compartment, e.g. '1=morphine.iv,2=buprenorphine.sl' (or a file of such lines)"),
                  dv_unit: Optional[str] = typer.Option(None, help="unit of DV, e.g. ug/L (or a DV[ug/L] header)")):
    """Check a NONMEM dataset and summarise its doses, observations and covariates."""
    try:
        from ..interop.nonmem import read_nonmem
        m = _model(modules)
        d = read_nonmem(path, m, dv=dv, cmt_map=cmt_map, dv_unit=dv_unit)
        obs = d.observations
        from ..dosing import expand_doses
        n_doses = len(expand_doses(d.events, late_steady_state="reset"))
        console.print(f"{path}: {len(d.events)} rows, {len(d.ids)} ID(s), {n_doses} dose event(s), "
                      f"{int((obs['MDV'] == 0).sum())} observation(s) of "
                      f"{', '.join(sorted(set(obs['VARIABLE']))) or 'nothing'}; covariates: "
                      f"{', '.join(c for c in d.covariates.columns if c != 'ID') or 'none'}; OK")
    except (OpiaxisError, OSError) as exc:
        fail(exc)


def simulate_nonmem(path: Path = typer.Argument(..., help="NONMEM-style dataset (CSV or Parquet)"),
                    out: Path = typer.Option(Path("simulated.csv"), "--out", "-o"),
                    dv: Optional[str] = typer.Option(None, help="observed variable for rows whose CMT names none"),
                    modules: Optional[str] = typer.Option(None, help="comma-separated modules (default: all)"),
                    cmt_map: Optional[str] = typer.Option(None, "--cmt-map", help="numeric CMT -> dosing compartment, e.g. '1=morphine.iv,2=buprenorphine.sl' (or a file of such lines)"),
                    allow_implausible_doses: bool = typer.Option(
                        False, "--allow-implausible-doses", help="simulate doses above data/dose_limits.yaml"),
                    dv_unit: Optional[str] = typer.Option(None, help="unit of DV, e.g. ug/L (or a DV[ug/L] header)")):
    """Simulate every ID of a dataset and write it back with DV simulated at the observation rows."""
    try:
        from ..checks import check_doses
        from ..interop.nonmem import read_nonmem, simulate_dataset, write_nonmem
        output_file(out, "--out")
        m = _model(modules)
        d = read_nonmem(path, m, dv=dv, cmt_map=cmt_map, dv_unit=dv_unit)
        from ..dosing import expand_doses
        for msg in check_doses(expand_doses(d.events, late_steady_state="reset"), allow=allow_implausible_doses,
                               file=str(path), field="AMT"):
            console.print(f"note: implausible dose allowed: {msg}", markup=False)
        write_nonmem(simulate_dataset(m, d), out)
        console.print(f"wrote {out}")
    except (OpiaxisError, OSError) as exc:
        fail(exc)


def export_omex_cmd(study: Optional[Path] = typer.Argument(None, help="study YAML (default: the embedded study)"),
                    out: Path = typer.Option(Path("study.omex"), "--out", "-o", help="COMBINE archive to write (.omex)"),
                    modules: Optional[str] = typer.Option(None, help="comma-separated modules (default: all)")):
    """Write a study as a COMBINE archive: SBML per arm (typical patient, doses as events), SED-ML, manifest."""
    try:
        from ..interop.omex import write_omex
        from ..study import load_study
        output_file(out, "--out")
        m = _model(modules)
        s = load_study(study, m)
        write_omex(s, m, out)
        console.print(f"wrote {out}: {len(s.arms)} arm model(s), SED-ML time course of {s.duration:g} h "
                      f"every {s.every:g} h, {len(s.outputs)} output(s)", highlight=False)
    except (OpiaxisError, OSError) as exc:
        fail(exc)


def register(app: typer.Typer) -> None:
    app.command("export-sbml")(export_sbml)
    app.command("export-petab")(export_petab_cmd)
    app.command("export-omex")(export_omex_cmd)
    app.command("import-nonmem")(import_nonmem)
    app.command("simulate-nonmem")(simulate_nonmem)
