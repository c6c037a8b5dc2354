"""One entry for every kind of study file: ``kind: study`` (the default; a cohort through the
ODE model, :mod:`.spec`) or ``kind: behaviour-trial`` (alias ``trial``; randomised arms of an
OUD cohort through the behaviour layer, :mod:`opiaxis.behaviour.trialfile`). The file is read
once and parsed by its kind; errors name the file, line and field either way."""

from __future__ import annotations

from pathlib import Path

from ..behaviour.trialfile import TRIAL_KINDS, TrialSpec, parse_trial, run_trial
from ..model.core import Model
from ..yamlio import field_error, load_yaml, load_yaml_file
from .spec import STUDY_KINDS, StudySpec, default_study_text, parse_study

KINDS = STUDY_KINDS + TRIAL_KINDS


def load_spec(path: str | Path | None, model: Model | None = None, *,
              allow_implausible_doses: bool = False) -> StudySpec | TrialSpec:
    """A study file of any kind (the embedded default study when ``path`` is None).

    ``model`` is the ODE model of a ``kind: study`` file (default: the composed default model);
    a behaviour trial runs on the behaviour model."""
    if path is None:
        raw, file, base = load_yaml(default_study_text(), "<default study>"), "<default study>", None
    else:
        raw, file, base = load_yaml_file(path, expect="any"), str(path), Path(path).parent
    kind = raw.get("kind", "study") if isinstance(raw, dict) else "study"
    if kind in TRIAL_KINDS:
        return parse_trial(raw, file)
    if kind not in STUDY_KINDS:
        raise field_error(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}", file, raw, "kind", "kind")
    if model is None:
        from ..models import default_model
        model = default_model()
    return parse_study(raw, model, file, base, allow_implausible_doses=allow_implausible_doses)


def run_spec(spec: StudySpec | TrialSpec, model: Model | None, out_dir: str | Path, *, progress=None, **options):
    """Run a spec of either kind: a :class:`~opiaxis.study.runner.StudyRun` (``options`` go to
    :func:`~opiaxis.study.runner.run_study`, which writes under ``out_dir``) or a
    :class:`~opiaxis.behaviour.trialfile.TrialRun` (in memory; :func:`opiaxis.report.render`
    writes either kind's files and report)."""
    if isinstance(spec, TrialSpec):
        return run_trial(spec, progress=progress)
    from .runner import run_study
    if model is None:
        from ..models import default_model
        model = default_model()
    return run_study(spec, model, out_dir, progress=progress, **options)
