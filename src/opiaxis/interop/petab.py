"""PEtab v1 problems for a study's measurements.

:func:`export_petab` writes, into a directory::

    model.xml          SBML L3V2 (opiaxis.interop.sbml) with every dose regimen of the study as a
                       repeating event whose number of doses is a parameter (0 by default)
    conditions.tsv     one condition per distinct dosing (normally one per arm): it switches its
                       regimens on (``opiaxis_dose<k>_n``) and sets the arm's parameter overrides
    observables.tsv    one observable per measured variable (``obs_<variable>``), additive normal
                       noise with a standard deviation ``sd_<variable>`` to be estimated
    measurements.tsv   one row per measurement: observable, condition, time (h), value; the
                       patient is the ``replicateId``
    parameters.tsv     the parameters to estimate: by default every parameter with between-patient
                       variability (log10 scale, bounds typical/10..typical·10 within the declared
                       bounds) and the noise SDs
    problem.yaml       the PEtab problem (format_version 1)

Measurements are a tidy table (``patient, time, variable, value``; ``arm`` optional), a NONMEM
dataset (DV at MDV 0 rows; see :mod:`opiaxis.interop.nonmem`), or simulated from the study
(:func:`study_measurements`). PEtab v1 has no individual parameters: the problem describes the
typical patient of each arm; patients are replicates.

:func:`check_petab` checks the tables' schema and cross-references (the ``petab`` package, when
installed, can lint the result too: ``petablint -y problem.yaml``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import OpiaxisInputError
from ..model.core import Model
from .sbml import DoseGroup, group_doses, to_sbml

CONDITION_COLS = ["conditionId", "conditionName"]
OBSERVABLE_COLS = ["observableId", "observableName", "observableFormula", "observableTransformation",
                   "noiseFormula", "noiseDistribution"]
MEASUREMENT_COLS = ["observableId", "simulationConditionId", "measurement", "time", "replicateId"]
PARAMETER_COLS = ["parameterId", "parameterName", "parameterScale", "lowerBound", "upperBound",
                  "nominalValue", "estimate"]
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _sid(text: str) -> str:
    s = re.sub(r"\W", "_", str(text))
    return s if _ID.match(s) else f"c_{s}"


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


def export_petab(study, model: Model, measurements: pd.DataFrame, out_dir, *,
                 estimate: list[str] | None = None) -> Path:
    """Write the PEtab problem of ``study`` and ``measurements`` into ``out_dir``; returns the
    path of ``problem.yaml``. ``estimate``: parameter names to estimate (default: those with
    between-patient variability)."""
    import yaml

    from ..study import arm_doses, assign_arms

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
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
    ids_all = study.ids
    patients = pd.unique(meas["patient"])
    missing = [p for p in patients if p not in set(ids_all.tolist())]
    if missing:
        raise OpiaxisInputError(f"measurements name patients {missing[:5]} that are not in the study "
                                f"(ids {ids_all[0]}..{ids_all[-1]})", field="patient")
    arm_of = dict(zip(ids_all.tolist(), assign_arms(study, ids_all)))

    # distinct dosings -> conditions
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
        key = (a, key_groups)
        if key not in cond_of_key:
            same_arm = sum(1 for k in cond_of_key if k[0] == a)
            cid = _sid(f"arm_{arm.name}" + (f"_{same_arm + 1}" if same_arm else ""))
            cond_of_key[key] = cid
            row = {"conditionId": cid, "conditionName": f"arm {arm.name}"}
            for k in key_groups:
                if k not in group_index:
                    group_index[k] = len(groups) + 1
                    groups.append(DoseGroup(k[0], k[1], k[2], k[3], k[4], 0))
                row[f"opiaxis_dose{group_index[k]}_n"] = k[5]
            row.update(arm.parameters)
            conditions.append(row)
        cond_of_patient[pid] = cond_of_key[key]
    cond = pd.DataFrame(conditions)
    dose_cols = [f"opiaxis_dose{k}_n" for k in range(1, len(groups) + 1)]
    for c in dose_cols:
        if c not in cond:
            cond[c] = 0
    override_cols = sorted({k for a in study.arms for k in a.parameters})
    for c in override_cols:
        default = float(study.parameters.get(c, model.parameter(c).value))
        cond[c] = cond[c].astype(float).fillna(default) if c in cond else default
    cond[dose_cols] = cond[dose_cols].fillna(0).astype(int)
    cond = cond[CONDITION_COLS + dose_cols + override_cols]

    # model
    sbml = to_sbml(model, params=dict(study.parameters), dose_groups=groups,
                   model_id=_sid(f"opiaxis_{study.name}"))
    (out / "model.xml").write_text(sbml, encoding="utf-8")

    # observables and measurements
    variables = sorted(set(meas["variable"].astype(str)))
    obs = pd.DataFrame({
        "observableId": [f"obs_{v}" for v in variables],
        "observableName": [f"{v} ({model.unit_of(v)})" for v in variables],
        "observableFormula": variables,
        "observableTransformation": "lin",
        "noiseFormula": [f"sd_{v}" for v in variables],
        "noiseDistribution": "normal",
    })[OBSERVABLE_COLS]
    m = pd.DataFrame({
        "observableId": "obs_" + meas["variable"].astype(str),
        "simulationConditionId": meas["patient"].map(cond_of_patient),
        "measurement": v.to_numpy(float),
        "time": t.to_numpy(float),
        "replicateId": "patient_" + meas["patient"].astype(str),
    })[MEASUREMENT_COLS]

    # parameters
    fixed = set(cond.columns)
    if estimate is None:
        estimate = [p.name for p in model.parameters if p.variability is not None]
    rows = []
    for name in estimate:
        if name not in model.param_index:
            raise OpiaxisInputError(f"cannot estimate {name!r}: not a model parameter", field="estimate")
        if name in fixed:
            continue
        p = model.parameter(name)
        nominal = float(study.parameters.get(name, p.value))
        lo, hi = (nominal / 10, nominal * 10) if nominal > 0 else (nominal - 1.0, nominal + 1.0)
        if p.lower is not None:
            lo = max(lo, p.lower)
        if p.upper is not None:
            hi = min(hi, p.upper)
        scale = "log10" if lo > 0 else "lin"
        rows.append({"parameterId": name, "parameterName": (p.description or name)[:80],
                     "parameterScale": scale, "lowerBound": lo, "upperBound": hi,
                     "nominalValue": nominal, "estimate": 1})
    for var in variables:
        vals = m.loc[m["observableId"] == f"obs_{var}", "measurement"].abs()
        nominal = float(0.1 * vals.mean()) if len(vals) and vals.mean() > 0 else 1.0
        rows.append({"parameterId": f"sd_{var}", "parameterName": f"noise SD of {var}",
                     "parameterScale": "log10", "lowerBound": nominal * 1e-3,
                     "upperBound": nominal * 1e3, "nominalValue": nominal, "estimate": 1})
    par = pd.DataFrame(rows, columns=PARAMETER_COLS)

    cond.to_csv(out / "conditions.tsv", sep="\t", index=False)
    obs.to_csv(out / "observables.tsv", sep="\t", index=False)
    m.to_csv(out / "measurements.tsv", sep="\t", index=False)
    par.to_csv(out / "parameters.tsv", sep="\t", index=False)
    problem = {"format_version": 1, "parameter_file": "parameters.tsv",
               "problems": [{"sbml_files": ["model.xml"], "condition_files": ["conditions.tsv"],
                             "measurement_files": ["measurements.tsv"],
                             "observable_files": ["observables.tsv"]}]}
    y = out / "problem.yaml"
    y.write_text(yaml.safe_dump(problem, sort_keys=False))
    return y


def check_petab(problem_yaml) -> list[str]:
    """Schema and cross-reference checks of a PEtab v1 problem (no ``petab`` package needed);
    returns the problems found (empty when the problem is valid)."""
    import libsbml
    import yaml

    y = Path(problem_yaml)
    base = y.parent
    doc = yaml.safe_load(y.read_text())
    errs: list[str] = []
    if str(doc.get("format_version")) != "1":
        errs.append("format_version must be 1")
    pb = doc["problems"][0]
    tables = {
        "parameters": (base / doc["parameter_file"], PARAMETER_COLS),
        "conditions": (base / pb["condition_files"][0], CONDITION_COLS[:1]),
        "observables": (base / pb["observable_files"][0], ["observableId", "observableFormula", "noiseFormula"]),
        "measurements": (base / pb["measurement_files"][0], ["observableId", "simulationConditionId",
                                                              "measurement", "time"]),
    }
    df = {}
    for k, (path, req) in tables.items():
        df[k] = pd.read_csv(path, sep="\t")
        for c in req:
            if c not in df[k].columns:
                errs.append(f"{path.name}: missing required column {c}")
    sbml = libsbml.readSBMLFromFile(str(base / pb["sbml_files"][0]))
    if sbml.getNumErrors(libsbml.LIBSBML_SEV_ERROR):
        errs.append("model: SBML read errors")
    model = sbml.getModel()
    rule_targets = {model.getRule(i).getVariable() for i in range(model.getNumRules())}
    sbml_params = {model.getParameter(i).getId() for i in range(model.getNumParameters())}
    for k, col in (("conditions", "conditionId"), ("observables", "observableId"),
                   ("parameters", "parameterId")):
        ids = df[k][col].astype(str)
        if ids.duplicated().any():
            errs.append(f"{k}: duplicate {col} {ids[ids.duplicated()].iloc[0]}")
        for i in ids:
            if not _ID.match(i):
                errs.append(f"{k}: {col} {i!r} is not a valid identifier")
    for c in df["conditions"].columns[2:]:
        if c not in sbml_params or c in rule_targets:
            errs.append(f"conditions: column {c} is not a constant model parameter")
        if c in set(df["parameters"]["parameterId"]):
            errs.append(f"conditions: column {c} is also in the parameter table")
    for pid in df["parameters"]["parameterId"]:
        if pid in rule_targets:
            errs.append(f"parameters: {pid} is the target of a rule")
    for pid, row in df["parameters"].set_index("parameterId").iterrows():
        if row["parameterScale"] not in ("lin", "log", "log10"):
            errs.append(f"parameters: {pid} has scale {row['parameterScale']}")
        if row["estimate"] not in (0, 1):
            errs.append(f"parameters: {pid} estimate must be 0 or 1")
        if not (row["lowerBound"] <= row["nominalValue"] <= row["upperBound"]):
            errs.append(f"parameters: {pid} nominal value outside its bounds")
        if row["parameterScale"] != "lin" and row["lowerBound"] <= 0:
            errs.append(f"parameters: {pid} log scale with a bound <= 0")
    known_obs = set(df["observables"]["observableId"])
    known_cond = set(df["conditions"]["conditionId"])
    known_syms = sbml_params | set(df["parameters"]["parameterId"])
    for f in list(df["observables"]["observableFormula"]) + list(df["observables"]["noiseFormula"]):
        for sym in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", str(f)):
            if sym not in known_syms and not sym.startswith(("noiseParameter", "observableParameter")):
                errs.append(f"observables: unknown symbol {sym} in {f}")
    me = df["measurements"]
    if not set(me["observableId"]) <= known_obs:
        errs.append("measurements: unknown observableId")
    if not set(me["simulationConditionId"]) <= known_cond:
        errs.append("measurements: unknown simulationConditionId")
    if not np.isfinite(me["time"].to_numpy(float)).all() or (me["time"] < 0).any():
        errs.append("measurements: time must be finite and >= 0")
    if not np.isfinite(me["measurement"].to_numpy(float)).all():
        errs.append("measurements: measurement must be finite")
    return errs
