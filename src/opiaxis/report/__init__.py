"""Reports: one renderer for every kind of study run (:func:`render`)."""

from __future__ import annotations

from pathlib import Path


def render(spec, run, out: str | Path, *, validation=None) -> list[Path]:
    """Write the report of ``run`` (a StudyRun or a TrialRun) of ``spec`` under ``out``; returns
    the files written. A study gets ``report.html`` beside its Parquet results; a behaviour trial
    gets summary.json, patients.csv, daily.parquet, report.html and events.csv."""
    out = Path(out)
    if getattr(spec, "kind", "study") in ("behaviour-trial", "trial"):
        from .trial import write_trial_outputs
        return write_trial_outputs(spec, run, out)
    from .html import write_report
    out.mkdir(parents=True, exist_ok=True)
    write_report(out / "report.html", spec, run, validation=validation, results_path=out / "results.parquet")
    return [out / "report.html"]
