"""PEtab v1 problems for a study's measurements.

:func:`export_petab` writes, into a directory::

    model.xml          SBML L3V2 (opiaxis.interop.sbml) with every dose regimen of the study as a
                       repeating event whose number of doses is a parameter (0 by default)
    conditions.tsv     one condition per patient (default; or one per distinct dosing): it switches
                       its regimens on (``opiaxis_dose<k>_n``), sets the arm's parameter overrides
                       and maps each estimated parameter to the patient's own copy
    observables.tsv    one observable per measured variable (``obs_<variable>``): the assay's noise
                       model where a read-out of data/readouts.yaml measures it (log-normal CV ->
                       ``log`` transformation with a constant SD), else additive normal noise with
                       an SD ``sd_<variable>`` to be estimated
    measurements.tsv   one row per measurement: observable, condition, time (h), value; the
                       patient is the ``replicateId``
    parameters.tsv     the parameters to estimate: by default every parameter with between-patient
                       variability (log10 scale, bounds typical/10..typical·10 within the declared
                       bounds), one copy per patient with the population distribution as its prior
                       (``parameterScaleNormal``), and the noise SDs
    problem.yaml       the PEtab problem (format_version 1)

Measurements are a tidy table (``patient, time, variable, value``; ``arm`` optional), a NONMEM
dataset (DV at MDV 0 rows; see :mod:`opiaxis.interop.nonmem`), or simulated from the study
(:func:`study_measurements`). PEtab v1 has no hierarchy: individual parameters are condition-
specific copies with the population prior, which makes a fit empirical Bayes (typical values fixed).

:func:`check_petab` lints the problem with the ``petab`` library (extra ``opiaxis[petab]``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import OpiaxisInputError
from ..model.core import Model
from .sbml import DoseGroup, group_doses, sbml_id, to_sbml

CONDITION_COLS = ["conditionId", "conditionName"]
OBSERVABLE_COLS = ["observableId", "observableName", "observableFormula", "observableTransformation",
                   "noiseFormula", "noiseDistribution"]
MEASUREMENT_COLS = ["observableId", "simulationConditionId", "measurement", "time", "replicateId"]
PARAMETER_COLS = ["parameterId", "parameterName", "parameterScale", "lowerBound", "upperBound",
                  "nominalValue", "estimate"]
PRIOR_COLS = ["objectivePriorType", "objectivePriorParameters"]


def _sid(text: str) -> str:
    return sbml_id(text, "c_")


def study_measurements(study, model: Model, n_patients: int | None = None,
                       variables: list[str] | None = None, every: float | None = None) -> pd.DataFrame:
    """Simulated measurements of a study's first ``n_patients`` (default all): a tidy table
    ``patient, arm, time, variable, value`` at the study's read-out times (or every ``every`` h)."""
    from ..engine import simulate
    from ..population import sample_parameters
    from ..study import arm_doses, assign_arms

    ids = study.ids[: n_patients or study.size]
    arm_of = assign_arms(study, ids)
    times = study.times if every is None else np.arange(every, study.duration + 1e-9, every)
    frames = []
    for a, arm in enumerate(study.arms):
        aid = ids[arm_of == a]
        if not len(aid):
            continue
        P = sample_parameters(model, aid, study.seed, overrides={**study.parameters, **arm.parameters},
                              variability=study.variability)
        res = simulate(model, P, times, arm_doses(study, arm, model, aid), ids=aid)
        df = res.to_frame(variables or study.outputs)
        df.insert(1, "arm", arm.name)
        frames.append(df[["patient", "arm", "time", "variable", "value"]])
    out = pd.concat(frames, ignore_index=True)
    out["variable"] = out["variable"].astype(str)
    return out


def read_measurements(path, model: Model, dv: str | None = None) -> pd.DataFrame:
    """Measurements from a tidy CSV (patient, time, variable, value) or a NONMEM dataset."""
    p = Path(path)
    head = pd.read_csv(p, nrows=0) if p.suffix.lower() != ".parquet" else pd.read_parquet(p).iloc[:0]
    cols = {c.strip().lower() for c in head.columns}
    if {"patient", "time", "variable", "value"} <= cols:
        df = pd.read_csv(p) if p.suffix.lower() != ".parquet" else pd.read_parquet(p)
        df.columns = [c.strip().lower() for c in df.columns]
        return df
    if {"id", "time", "dv"} <= cols:
        from .nonmem import read_nonmem
        data = read_nonmem(p, model, dv=dv)
        obs = data.observations[data.observations["MDV"] == 0]
        return pd.DataFrame({"patient": obs["ID"].to_numpy(), "time": obs["TIME"].to_numpy(),
                             "variable": obs["VARIABLE"].to_numpy(), "value": obs["DV"].to_numpy()})
    raise OpiaxisInputError("measurements: expected a tidy table with columns patient, time, variable, "
                            "value, or a NONMEM dataset with ID, TIME, DV, MDV (and CMT or dv=); found "
                            + ", ".join(map(str, head.columns)), file=str(p), line=1)


def assay_noise(model: Model, variables: list[str]) -> dict[str, dict]:
    """For each model variable that a continuous assay read-out measures (``data/readouts.yaml``)
    with a proportional noise model and no additive part: the observable's transformation and
    noise formula. A log-normal assay (y = x·exp(s·z − s²/2), s² = ln(1+CV²)) is PEtab's
    ``log`` transformation with a constant SD s; a normal one with CV only is ``lin`` with SD
    CV·x. Assays with an additive SD or a unit conversion keep an estimated SD."""
    from ..observe.assays import load_readouts
    out = {}
    for r in load_readouts().values():
        if r.kind != "continuous" or r.combine != "first" or len(r.terms) != 1 or r.noise.sd > 0 \
                or r.window is not None:   # a PEtab observable is an instant, not a window's mean
            continue
        for cand in r.terms[0].options:
            v = cand.name
            if v not in variables or v in out or cand.factor != 1.0 or cand.reference or cand.factor_unit:
                continue
            try:
                from ..observe.assays import conversion_factor
                if abs(conversion_factor(model.unit_of(v), r.unit, r.mw) - 1.0) > 1e-12:
                    continue
            except Exception:  # noqa: BLE001 - units that do not convert are not this assay's
                continue
            if r.noise.model == "lognormal" and r.noise.cv > 0:
                s = float(np.sqrt(np.log1p(r.noise.cv ** 2)))
                out[v] = {"name": f"{r.name} ({r.label}; log-normal assay CV {r.noise.cv:g})",
                          "transformation": "log", "noise": repr(s)}
            elif r.noise.model == "normal" and r.noise.cv > 0:
                out[v] = {"name": f"{r.name} ({r.label}; assay CV {r.noise.cv:g})",
                          "transformation": "lin", "noise": f"{r.noise.cv!r} * obs_{v}"}
    return out


def _prior(p, nominal: float, scale: str) -> dict:
    """The population distribution of a parameter as a PEtab prior on its estimation scale."""
    v = p.variability
    if v is not None and v.kind == "lognormal" and scale == "log10" and nominal > 0:
        return {"objectivePriorType": "parameterScaleNormal",
                "objectivePriorParameters": f"{float(np.log10(nominal))!r};{float(v.omega / np.log(10))!r}"}
    if v is not None and v.kind == "normal" and scale == "lin":
        return {"objectivePriorType": "normal", "objectivePriorParameters": f"{float(nominal)!r};{float(v.spread)!r}"}
    return {"objectivePriorType": "uniform", "objectivePriorParameters": ""}


def export_petab(study, model: Model, measurements: pd.DataFrame, out_dir, *,
                 estimate: list[str] | None = None, per_patient: bool = True) -> Path:
    """Write the PEtab problem of ``study`` and ``measurements`` into ``out_dir``; returns the
    path of ``problem.yaml``. ``estimate``: parameter names to estimate (default: those with
    between-patient variability, the behaviour layer's left out).

    ``per_patient`` (default): one condition per patient, whose estimated parameters are the
    patient's own (``<name>__<patient condition>`` in the parameter table, with the population
    distribution as their prior, so an individual fit is empirical Bayes). Otherwise one
    condition per distinct dosing (normally one per arm) and typical values are estimated."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meas, t, v = _checked_measurements(measurements, model)
    patients, arm_of = _patients_and_arms(study, meas)
    rows, groups, cond_of_patient = _conditions(study, model, patients, arm_of, per_patient)
    cond, dose_cols, override_cols = _condition_table(rows, groups, study, model)
    if estimate is None:
        external = model.external_parameters()   # a behaviour-layer parameter cannot be estimated from states
        estimate = [p.name for p in model.parameters if p.variability is not None and p.name not in external]
    for name in estimate:
        if name not in model.param_index:
            raise OpiaxisInputError(f"cannot estimate {name!r}: not a model parameter", field="estimate")
    individual = [n for n in estimate if n not in override_cols] if per_patient else []
    for name in individual:  # each patient's own copy of the parameter, estimated
        cond[name] = [f"{name}__{cid}" for cid in cond["conditionId"]]
    cond = cond[CONDITION_COLS + dose_cols + override_cols + individual]

    sbml = to_sbml(model, params=dict(study.parameters), dose_groups=groups,
                   model_id=_sid(f"opiaxis_{study.name}"))
    (out / "model.xml").write_text(sbml, encoding="utf-8")
    variables = sorted(set(meas["variable"].astype(str)))
    obs, assay = _observables(model, meas, v, variables)
    m = pd.DataFrame({
        "observableId": "obs_" + meas["variable"].astype(str),
        "simulationConditionId": meas["patient"].map(cond_of_patient),
        "measurement": v.to_numpy(float),
        "time": t.to_numpy(float),
        "replicateId": "patient_" + meas["patient"].astype(str),
    })[MEASUREMENT_COLS]
    rows = _estimated_parameter_rows(model, study, estimate, individual, cond)
    rows += _noise_parameter_rows([var for var in variables if var not in assay], m)
    par = pd.DataFrame(rows, columns=PARAMETER_COLS + (PRIOR_COLS if individual else []))
    return _write_problem(out, cond, obs, m, par)


def _checked_measurements(measurements: pd.DataFrame, model: Model) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """(measurements, time, value): columns patient, time, variable, value; model variables; times
    >= 0 h and finite values."""
    meas = measurements.copy()
    meas.columns = [str(c).strip() for c in meas.columns]
    for c in ("patient", "time", "variable", "value"):
        if c not in meas.columns:
            raise OpiaxisInputError(f"measurements have no column {c!r}; expected patient, time, "
                                    "variable, value", field=c)
    known = set(model.state_names) | set(model.assignment_index)
    bad = sorted(set(meas["variable"].astype(str)) - known)
    if bad:
        raise OpiaxisInputError(f"measured variable(s) {bad[:5]} are not model variables; expected "
                                "states or assignments", field="variable")
    t = pd.to_numeric(meas["time"], errors="coerce")
    v = pd.to_numeric(meas["value"], errors="coerce")
    if t.isna().any() or (t < 0).any() or v.isna().any() or not np.isfinite(v).all():
        raise OpiaxisInputError("measurements: time must be a number >= 0 h and value a finite "
                                "number on every row", field="time/value")
    return meas, t, v


def _patients_and_arms(study, meas: pd.DataFrame) -> tuple[np.ndarray, dict]:
    """The measured patients (in order of appearance), each in the study, and every patient's arm."""
    from ..study import assign_arms
    ids_all = study.ids
    patients = pd.unique(meas["patient"])
    missing = [p for p in patients if p not in set(ids_all.tolist())]
    if missing:
        raise OpiaxisInputError(f"measurements name patients {missing[:5]} that are not in the study "
                                f"(ids {ids_all[0]}..{ids_all[-1]})", field="patient")
    return patients, dict(zip(ids_all.tolist(), assign_arms(study, ids_all)))


def _conditions(study, model: Model, patients, arm_of: dict,
                per_patient: bool) -> tuple[list[dict], list[DoseGroup], dict]:
    """Condition rows (one per patient, or per distinct dosing of an arm: its id, name, the number
    of doses of each dose group and the arm's parameter overrides), the dose groups (each
    switched off, ``n = 0``, in the model) and each patient's condition id."""
    from ..study import arm_doses
    group_index: dict[tuple, int] = {}
    groups: list[DoseGroup] = []
    cond_of_key: dict[tuple, str] = {}
    conditions: list[dict] = []
    cond_of_patient: dict = {}
    for pid in patients:
        a = int(arm_of[pid])
        arm = study.arms[a]
        gs, resets = group_doses(arm_doses(study, arm, model, np.array([pid])))
        if resets:
            raise OpiaxisInputError(f"arm {arm.name!r} has reset events (EVID 3/4), which the PEtab "
                                    "export does not support; expected dose events only",
                                    field=f"arms[{a}].events")
        key_groups = tuple((g.cmt, g.amt, g.rate, g.t0, g.ii, g.n) for g in gs)
        key = (pid,) if per_patient else (a, key_groups)
        if key not in cond_of_key:
            if per_patient:
                cid, cname = _sid(f"patient_{pid}"), f"patient {pid} (arm {arm.name})"
            else:
                same_arm = sum(1 for k in cond_of_key if k[0] == a)
                cid, cname = _sid(f"arm_{arm.name}" + (f"_{same_arm + 1}" if same_arm else "")), f"arm {arm.name}"
            cond_of_key[key] = cid
            row = {"conditionId": cid, "conditionName": cname}
            for k in key_groups:
                if k not in group_index:
                    group_index[k] = len(groups) + 1
                    groups.append(DoseGroup(cmt=k[0], amt=k[1], rate=k[2], t0=k[3], ii=k[4], n=0))
                row[f"opiaxis_dose{group_index[k]}_n"] = k[5]
            row.update(arm.parameters)
            conditions.append(row)
        cond_of_patient[pid] = cond_of_key[key]
    return conditions, groups, cond_of_patient


def _condition_table(rows: list[dict], groups: list[DoseGroup], study,
                     model: Model) -> tuple[pd.DataFrame, list[str], list[str]]:
    """(conditions, dose-count columns, parameter-override columns): a dose group a condition does
    not use has 0 doses; an override an arm does not set has the study's (or the model's) value."""
    cond = pd.DataFrame(rows)
    dose_cols = [f"opiaxis_dose{k}_n" for k in range(1, len(groups) + 1)]
    for c in dose_cols:
        if c not in cond:
            cond[c] = 0
    override_cols = sorted({k for a in study.arms for k in a.parameters})
    for c in override_cols:
        default = float(study.parameters.get(c, model.parameter(c).value))
        cond[c] = cond[c].astype(float).fillna(default) if c in cond else default
    cond[dose_cols] = cond[dose_cols].fillna(0).astype(int)
    return cond, dose_cols, override_cols


def _observables(model: Model, meas: pd.DataFrame, v: pd.Series,
                 variables: list[str]) -> tuple[pd.DataFrame, dict[str, dict]]:
    """The observable table, with the assay's noise model where a read-out measures the variable
    (else additive normal noise of SD ``sd_<variable>``), and the assay noise models used."""
    assay = assay_noise(model, variables)
    obs_rows = []
    for var in list(variables):
        a = assay.get(var)
        n_nonpos = int((v[meas["variable"].astype(str) == var] <= 0).sum())
        if a is not None and a["transformation"] == "log" and n_nonpos:
            # a log-normal assay cannot give 0 (those rows are below its LLOQ): keep additive noise
            a = assay.pop(var)
            obs_rows.append({"observableId": f"obs_{var}",
                             "observableName": f"{var} ({model.unit_of(var)}); {a['name']} not used: "
                                               f"{n_nonpos} measurement(s) <= 0",
                             "observableFormula": var, "observableTransformation": "lin",
                             "noiseFormula": f"sd_{var}", "noiseDistribution": "normal"})
        elif a is None:
            obs_rows.append({"observableId": f"obs_{var}", "observableName": f"{var} ({model.unit_of(var)})",
                             "observableFormula": var, "observableTransformation": "lin",
                             "noiseFormula": f"sd_{var}", "noiseDistribution": "normal"})
        else:
            obs_rows.append({"observableId": f"obs_{var}", "observableName": a["name"],
                             "observableFormula": var, "observableTransformation": a["transformation"],
                             "noiseFormula": a["noise"], "noiseDistribution": "normal"})
    return pd.DataFrame(obs_rows, columns=OBSERVABLE_COLS), assay


def _estimated_parameter_rows(model: Model, study, estimate: list[str], individual: list[str],
                              cond: pd.DataFrame) -> list[dict]:
    """Parameter-table rows of the estimated model parameters: bounds typical/10..typical·10
    within the declared bounds (log10 scale when positive); a patient's own copy per condition
    with the population prior, or the typical value where no condition fixes it."""
    fixed = set(cond.columns)
    rows = []
    for name in estimate:
        p = model.parameter(name)
        nominal = float(study.parameters.get(name, p.value))
        lo, hi = (nominal / 10, nominal * 10) if nominal > 0 else (nominal - 1.0, nominal + 1.0)
        if p.lower is not None:
            lo = max(lo, p.lower)
        if p.upper is not None:
            hi = min(hi, p.upper)
        scale = "log10" if lo > 0 else "lin"
        row = {"parameterName": (p.description or name)[:80], "parameterScale": scale, "lowerBound": lo,
               "upperBound": hi, "nominalValue": nominal, "estimate": 1}
        if name in individual:
            prior = _prior(p, nominal, scale)
            for cid in cond["conditionId"]:
                rows.append({"parameterId": f"{name}__{cid}", **row, **prior})
        elif name not in fixed:
            rows.append({"parameterId": name, **row})
    return rows


def _noise_parameter_rows(variables: list[str], m: pd.DataFrame) -> list[dict]:
    """An estimated noise SD ``sd_<variable>`` for each variable without an assay noise model,
    nominally 10% of its mean measurement (bounds 10^-3..10^3 times that)."""
    rows = []
    for var in variables:
        vals = m.loc[m["observableId"] == f"obs_{var}", "measurement"].abs()
        nominal = float(0.1 * vals.mean()) if len(vals) and vals.mean() > 0 else 1.0
        rows.append({"parameterId": f"sd_{var}", "parameterName": f"noise SD of {var}",
                     "parameterScale": "log10", "lowerBound": nominal * 1e-3,
                     "upperBound": nominal * 1e3, "nominalValue": nominal, "estimate": 1})
    return rows


def _write_problem(out: Path, cond: pd.DataFrame, obs: pd.DataFrame, m: pd.DataFrame, par: pd.DataFrame) -> Path:
    """The four tables and ``problem.yaml`` (format_version 1); returns the path of the latter."""
    import yaml
    cond.to_csv(out / "conditions.tsv", sep="\t", index=False)
    obs.to_csv(out / "observables.tsv", sep="\t", index=False)
    m.to_csv(out / "measurements.tsv", sep="\t", index=False)
    par.to_csv(out / "parameters.tsv", sep="\t", index=False)
    problem = {"format_version": 1, "parameter_file": "parameters.tsv",
               "problems": [{"sbml_files": ["model.xml"], "condition_files": ["conditions.tsv"],
                             "measurement_files": ["measurements.tsv"],
                             "observable_files": ["observables.tsv"]}]}
    y = out / "problem.yaml"
    y.write_text(yaml.safe_dump(problem, sort_keys=False), encoding="utf-8")
    return y


def check_petab(problem_yaml) -> list[str]:
    """Lint a PEtab v1 problem with the ``petab`` library (extra ``opiaxis[petab]``); returns the
    problems found (empty when the problem is valid)."""
    import logging
    try:
        from petab import v1
    except ImportError:
        raise OpiaxisInputError("the petab package is not installed; pip install 'opiaxis[petab]' "
                                "to lint PEtab problems") from None

    class _Collect(logging.Handler):
        def __init__(self):
            super().__init__(logging.WARNING)
            self.messages: list[str] = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    handler = _Collect()
    log = logging.getLogger("petab")
    log.addHandler(handler)
    try:
        failed = v1.lint_problem(v1.Problem.from_yaml(str(problem_yaml)))
    finally:
        log.removeHandler(handler)
    errors = [m for m in handler.messages if m]
    return (errors or ["petab lint failed"]) if failed else []
