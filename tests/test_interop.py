"""SBML export checked against libRoadRunner; NONMEM datasets; PEtab export."""

import os

import numpy as np
import pandas as pd
import pytest
import sympy as sp

from opiaxis import dosing
from opiaxis.engine.simulate import SolverOptions, simulate
from opiaxis.errors import OpiaxisInputError
from opiaxis.interop.sbml import SBMLExportError, formula, sbml_errors, to_sbml
from opiaxis.models import build_model
from opiaxis.dosing import drug_routes, iu_factors

RTOL_RR, ATOL_RR = 1e-10, 1e-14
OPTS = SolverOptions(rtol=1e-10, atol=1e-12)
REGIMENS = ["heroin 25 mg IV q6h for 2 d",                         # boluses, 4x/day
            "morphine 30 mg oral q12h for 2 d from day 2",         # depot with a lag time
            "fentanyl 25 ug/h TD q72h for 4 d",                    # zero-order input (infusion)
            "buprenorphine 16 mg SL q24h for 3 d from day 2",      # dose-dependent F
            "naloxone 0.4 mg IV once at 30 h"]


@pytest.fixture(scope="module")
def pkrec():
    return build_model(modules=["pk", "receptors"])


def _doses(model, regimens, pid=1):
    rows = pd.concat([dosing.parse_regimen(t, drugs=drug_routes(model), unit_factors=iu_factors(model))
                      for t in regimens], ignore_index=True)
    return dosing.expand_doses(rows.assign(ID=pid)[list(dosing.EVENT_COLUMNS)])


def _agree(model, params, doses, times):
    """Max relative difference beyond the floor, and whether every state at every time agrees:
    |a-b| <= 1e-4·max(|a|,|b|) + 1e-9·(peak of that state) + 1e-12 (the engine's atol). A state
    that changes sign (``nonnegative=False``: the circadian clock's cos/sin) is compared relative to
    its amplitude, not to its value near a zero crossing, where any relative criterion is ill-posed
    (the engine's cubic Hermite output between steps is ~3e-6 off on the clock at rtol 1e-10)."""
    roadrunner = pytest.importorskip("roadrunner")
    roadrunner.Logger.setLevel(roadrunner.Logger.LOG_CRITICAL)
    from opiaxis.interop.sbml import roadrunner_simulate
    ids = [int(doses["ID"].iloc[0])] if doses is not None else [1]
    res = simulate(model, params[None], times, doses, ids=ids, options=OPTS)
    assert res.stats[0, 2] == 0
    sbml = to_sbml(model, params, doses)
    Y = roadrunner_simulate(sbml, np.r_[0.0, times], model.state_names, rtol=RTOL_RR, atol=ATOL_RR,
                            states=model.state_names)[1:]
    A = res.states[0]
    scale = np.maximum(np.abs(A).max(0), np.abs(Y).max(0))
    d = np.abs(A - Y)
    big = np.maximum(np.abs(A), np.abs(Y))
    signed = np.array([not s.nonnegative for s in model.states])
    big[:, signed] = np.maximum(big[:, signed], scale[signed])
    ok = d <= 1e-4 * big + 1e-9 * scale + 1e-12
    rel = np.where(d > 1e-9 * scale + 1e-12, d / np.where(big > 0, big, 1.0), 0.0)
    return ok, rel, A


def test_pk_receptors_agree_with_roadrunner(pkrec):
    m = pkrec
    P = m.default_parameters()
    P[m.param_index["morphine_oral_lag"]] = 0.75         # a lag that is not on the output grid
    times = np.arange(0.37, 4 * 24, 0.5)                # never exactly at a dose time
    ok, rel, A = _agree(m, P, _doses(m, REGIMENS), times)
    assert ok.all(), f"{(~ok).sum()} state-times differ; worst relative {rel.max():.3g}"
    assert rel.max() < 1e-4
    # the doses really happened: fentanyl patch input, morphine after its lag
    assert A[:, m.state_index["fentanyl_depot_transdermal"]].max() > 0.01
    assert A[:, m.state_index["buprenorphine_mor_central_bound"]].max() > 0.2


def test_pk_alone_agrees_with_roadrunner_second_patient():
    m = build_model(modules=["pk"])
    rng = np.random.default_rng(3)
    P = m.default_parameters() * np.exp(0.2 * rng.standard_normal(len(m.parameters)))
    for k, p in enumerate(m.parameters):   # keep fractions inside their bounds
        if p.upper is not None:
            P[k] = min(P[k], p.upper)
    times = np.arange(0.21, 3 * 24, 0.75)
    ok, rel, _ = _agree(m, P, _doses(m, REGIMENS[:4], pid=7), times)
    assert ok.all() and rel.max() < 1e-4


def test_receptors_alone_agree_with_roadrunner():
    # alone, the receptor module sees its input concentrations as parameters
    m = build_model(modules=["receptors"])
    P = m.default_parameters()
    for name, c in (("buprenorphine_effect", 2.0), ("fentanyl_effect", 1.0), ("naloxone_effect", 3.0)):
        P[m.param_index[name]] = c
    ok, rel, A = _agree(m, P, None, np.linspace(0.1, 48, 60))
    assert ok.all() and rel.max() < 1e-4
    assert A[-1].sum() > 0.1


@pytest.mark.parametrize("name", ["adaptation", "respiration", "hpa", "immune", "glia", "pain", "white_matter",
                                  "gut", "endogenous", "mood", "reward", "oxytocin"])
def test_other_modules_alone_agree_with_roadrunner(name):
    from opiaxis.models import available_modules
    if name not in available_modules():
        pytest.skip(f"module {name} not present")
    m = build_model(modules=[name])
    P = m.default_parameters()
    # push every interface input away from its default so that the module moves
    for p in m.parameters:
        if p.source.startswith("input default"):
            P[m.param_index[p.name]] = p.value + (0.3 if p.unit in ("dimensionless", "") else 0.3 * max(p.value, 1.0))
    ok, rel, _ = _agree(m, P, None, np.linspace(0.5, 72, 40))
    assert ok.all(), f"{name}: worst relative difference {rel.max():.3g}"


def test_full_model_export_is_valid_sbml():
    from opiaxis.models import default_model
    m = default_model()
    text = to_sbml(m, doses=_doses(m, REGIMENS))
    assert sbml_errors(text) == []
    import libsbml
    doc = libsbml.readSBMLFromString(text)
    sm = doc.getModel()
    assert (doc.getLevel(), doc.getVersion()) == (3, 2)
    rate_rules = [sm.getRule(i) for i in range(sm.getNumRules()) if sm.getRule(i).isRate()]
    assert len(rate_rules) == len(m.states)
    offsets = [r.getVariable() for r in rate_rules if r.getVariable().startswith("opiaxis_z_")]
    assert sm.getNumRules() == len(m.states) + len(m.assignments) + len(offsets)
    p = sm.getParameter("buprenorphine_CL")
    assert "source" in p.getNotesString() and p.getUnits().startswith("u_L")
    assert m.parameter("buprenorphine_CL").source[:20] in p.getAnnotationString()


def test_full_model_agrees_with_roadrunner():
    """Every module composed: every state at every output time agrees with libRoadRunner
    (CVODE) on the exported SBML (per-state absolute tolerances; see roadrunner_simulate)."""
    from opiaxis.models import default_model
    m = default_model()
    ok, rel, _ = _agree(m, m.default_parameters(), _doses(m, REGIMENS), np.arange(0.37, 72, 0.5))
    assert ok.all()


def test_full_model_runs_in_roadrunner_with_default_settings():
    """issue 19: the exported model (every module, the five test regimens) loads and simulates 24 h
    in libRoadRunner with its default integrator settings (CVODE, rtol 1e-6, scalar atol 1e-12,
    20000 steps), and every state agrees with opiaxis at rtol 1e-8 within 1e-4 of that state's
    own scale (its peak over the day; floor 1e-12, the engine's atol)."""
    roadrunner = pytest.importorskip("roadrunner")
    roadrunner.Logger.setLevel(roadrunner.Logger.LOG_CRITICAL)
    from opiaxis.models import default_model
    m = default_model()
    P = m.default_parameters()
    doses = _doses(m, REGIMENS)
    times = np.arange(0.25, 24.01, 0.25)
    res = simulate(m, P[None], times, doses, ids=[1], options=SolverOptions(rtol=1e-8, atol=1e-12))
    r = roadrunner.RoadRunner(to_sbml(m, P, doses))
    integ = r.getIntegrator()
    assert (integ.getValue("relative_tolerance"), integ.getValue("absolute_tolerance")) == (1e-6, 1e-12)
    r.timeCourseSelections = ["time"] + m.state_names
    Y = np.asarray(r.simulate(times=[0.0] + list(times)))[1:, 1:]
    A = res.states[0]
    peak = np.maximum(np.abs(A).max(0), np.abs(Y).max(0))
    worst = (np.abs(A - Y) - 1e-4 * peak - 1e-12).max(0)
    bad = {m.state_names[j]: float(np.abs(A - Y)[:, j].max() / peak[j]) for j in np.flatnonzero(worst > 0)}
    assert bad == {}


def test_export_without_solver_offsets_keeps_states_as_rate_rules(pkrec):
    import libsbml
    with_offsets = libsbml.readSBMLFromString(to_sbml(pkrec)).getModel()
    plain = libsbml.readSBMLFromString(to_sbml(pkrec, solver_offsets=False)).getModel()
    assert plain.getRateRule("heroin_central") is not None
    assert with_offsets.getRateRule("heroin_central") is None
    assert with_offsets.getRateRule("opiaxis_z_heroin_central") is not None
    assert with_offsets.getAssignmentRule("heroin_central") is not None


def test_units_and_annotations(pkrec):
    import libsbml
    doc = libsbml.readSBMLFromString(to_sbml(pkrec))
    sm = doc.getModel()
    ud = sm.getUnitDefinition(sm.getParameter("buprenorphine_plasma").getUnits())
    kinds = {libsbml.UnitKind_toString(ud.getUnit(i).getKind()): (ud.getUnit(i).getExponent(),
                                                                  ud.getUnit(i).getMultiplier())
             for i in range(ud.getNumUnits())}
    assert kinds["gram"] == (1.0, pytest.approx(1e-9)) and kinds["litre"] == (-1.0, pytest.approx(1e-3))
    hour = sm.getUnitDefinition(sm.getTimeUnits())
    assert hour.getUnit(0).getMultiplier() == pytest.approx(3600)
    # every equation is unit-checked: no warnings at all, not even undeclared-unit ones
    assert sbml_errors(doc, warnings=True) == []


def test_guarded_power_and_functions():
    x, y = sp.symbols("x y", real=True)
    assert formula(x ** sp.Float(0.7)) == "piecewise(x^0.7 dimensionless, x > 0, 0 dimensionless)"
    assert "piecewise" in formula(sp.Max(x, y)) and "ln(x)" in formula(sp.log(x))
    assert formula(x ** -2) == "(1 dimensionless/(x^2 dimensionless))"
    f = formula(sp.Piecewise((x, x > 1), (y, True)))
    assert f.startswith("piecewise(x, (x > 1 dimensionless), y")


@pytest.mark.parametrize("expr", [sp.erf(sp.Symbol("x", real=True)), sp.gamma(sp.Symbol("x", real=True)),
                                  sp.Piecewise((sp.Symbol("x"), sp.Symbol("x") > 0)), sp.Symbol("x") * sp.I])
def test_unexpressible_equation_is_a_clear_error(expr):
    with pytest.raises(SBMLExportError) as exc:
        formula(expr, "assignment 'bad' (module 'm')")
    assert "assignment 'bad'" in str(exc.value)
    assert isinstance(exc.value, OpiaxisInputError)


def test_unexpressible_model_equation(pkrec):
    from opiaxis.model.core import Module, compose
    mod = Module("odd")
    k = mod.parameter("k", 1.0, "dimensionless", "assumed: test")
    s = mod.state("s", "dimensionless", 0.0)
    r = mod.parameter("r", 1.0, "1/h", "assumed: test")
    mod.ode(s, sp.erf(k) * r)
    m = compose([mod])
    with pytest.raises(SBMLExportError, match="ds/dt.*erf"):
        to_sbml(m)


def test_events_group_and_reset(pkrec):
    import libsbml
    m = pkrec
    d = _doses(m, ["heroin 25 mg IV q6h for 30 d"])
    doc = libsbml.readSBMLFromString(to_sbml(m, doses=d))
    assert doc.getModel().getNumEvents() == 1            # 120 doses, one repeating event
    doc = libsbml.readSBMLFromString(to_sbml(m, doses=d, compact=False))
    assert doc.getModel().getNumEvents() == 120
    with pytest.raises(OpiaxisInputError, match="patients"):
        to_sbml(m, doses=pd.concat([d, d.assign(ID=2)]))


# ------------------------------------------------------------------------------------------------
# NONMEM datasets
# ------------------------------------------------------------------------------------------------
def _write(tmp_path, text, name="data.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


GOOD = """ID,TIME,EVID,AMT,CMT,RATE,DV,MDV,buprenorphine_CL
1,0,1,16,buprenorphine.sl,0,.,1,60
1,2,0,.,buprenorphine_plasma,.,3.1,0,60
1,6,0,.,,.,.,1,60
1,24,1,16,buprenorphine.sl,0,.,1,60
1,26,0,.,mor_occupancy_central,.,0.8,0,60
2,0,1,8,buprenorphine.sl,0,.,1,90
2,2,0,.,2,.,1.5,0,90
"""


def test_read_and_simulate_nonmem(tmp_path, pkrec):
    from opiaxis.interop.nonmem import read_nonmem, simulate_dataset, write_nonmem
    data = read_nonmem(_write(tmp_path, GOOD), pkrec, dv="buprenorphine_plasma")
    assert list(data.observations["VARIABLE"]) == ["buprenorphine_plasma", "buprenorphine_plasma",
                                                   "mor_occupancy_central", "buprenorphine_plasma"]
    assert data.observations["MDV"].tolist() == [0, 1, 0, 0]
    assert data.covariates["buprenorphine_CL"].tolist() == [60, 90]
    assert len(data.doses()) == 3
    sim = simulate_dataset(pkrec, data)
    assert (sim["MDV"] == np.array([1, 0, 0, 1, 0, 1, 0])).all()
    assert sim["DV"].iloc[[0, 3, 5]].isna().all()
    # the covariate column set buprenorphine_CL per patient: compare with a direct simulation
    P = pkrec.default_parameters()
    P[pkrec.param_index["buprenorphine_CL"]] = 90
    r = simulate(pkrec, P[None], [2.0], data.doses().query("ID == 2"), ids=[2])
    assert sim["DV"].iloc[6] == pytest.approx(r.get("buprenorphine_plasma")[0, 0], rel=1e-5)
    out = write_nonmem(sim, tmp_path / "sim.csv")
    from opiaxis.interop.nonmem import cmt_map_path
    written = pd.read_csv(out)
    assert pd.api.types.is_integer_dtype(written["CMT"])   # NONMEM reads numbers only
    assert cmt_map_path(out).read_text().splitlines()[1:] == ["1=buprenorphine.sl", "2=buprenorphine_plasma",
                                                              "3=mor_occupancy_central"]
    with pytest.raises(OpiaxisInputError, match="numbers need an explicit mapping"):
        read_nonmem(out, pkrec)
    back = read_nonmem(out, pkrec, cmt_map=cmt_map_path(out))
    assert np.allclose(back.observations["DV"], sim["DV"].iloc[[1, 2, 4, 6]])
    assert back.observations["VARIABLE"].tolist() == data.observations["VARIABLE"].tolist()


@pytest.mark.parametrize("text,line,field,what", [
    (GOOD.replace("1,24,1,16", "1,1,1,16"), 5, "TIME", "decreases"),
    (GOOD.replace("buprenorphine.sl,0,.,1,90", "buprenorphin.xx,0,.,1,90"), 7, "CMT", "dosing compartment"),
    (GOOD.replace("mor_occupancy_central", "mor_ocupancy"), 6, "CMT", "not a model variable"),
    (GOOD.replace("1,2,0,.,buprenorphine_plasma,.,3.1,0,60", "1,2,0,.,buprenorphine_plasma,.,3.1,.,60"),
     3, "MDV", "MDV is missing"),
    (GOOD.replace("1,0,1,16,buprenorphine.sl,0,.,1,60", "1,0,1,16,buprenorphine.sl,0,.,0,60"), 2, "MDV",
     "EVID 1"),
    (GOOD.replace("2,2,0,.,2,.,1.5,0,90", "2,2,0,.,2,.,1.5,0,95"), 8, "buprenorphine_CL", "changes within"),
])
def test_bad_nonmem_datasets(tmp_path, pkrec, text, line, field, what):
    from opiaxis.interop.nonmem import read_nonmem
    with pytest.raises(OpiaxisInputError) as exc:
        read_nonmem(_write(tmp_path, text), pkrec, dv="buprenorphine_plasma")
    e = exc.value
    assert e.line == line and field in (e.field or "") and what in str(e), str(e)


def test_dv_without_mdv_column_infers_mdv(tmp_path, pkrec):
    """As NONMEM does: MDV 0 on EVID 0 rows with a numeric DV, 1 elsewhere (same as GOOD's own MDV)."""
    from opiaxis.interop.nonmem import read_nonmem
    text = "\n".join(",".join(r.split(",")[:7]) for r in GOOD.strip().splitlines())
    inferred = read_nonmem(_write(tmp_path, text), pkrec, dv="buprenorphine_plasma").observations
    given = read_nonmem(_write(tmp_path, GOOD, "given.csv"), pkrec, dv="buprenorphine_plasma").observations
    assert inferred["MDV"].tolist() == given["MDV"].tolist() == [0, 1, 0, 0]


def test_observation_without_variable_needs_dv(tmp_path, pkrec):
    from opiaxis.interop.nonmem import read_nonmem
    with pytest.raises(OpiaxisInputError) as exc:
        read_nonmem(_write(tmp_path, GOOD), pkrec)
    assert exc.value.line == 4 and exc.value.field == "CMT"


# ------------------------------------------------------------------------------------------------
# PEtab
# ------------------------------------------------------------------------------------------------
STUDY = """
name: induction
seed: 5
population: {size: 20}
schedule: {duration: 12 d, every: 24 h}
arms:
  - name: bup 8 mg
    regimens: [heroin 30 mg IV q6h for 7 d, buprenorphine 8 mg SL q24h for 4 d from day 9]
  - name: bup 16 mg
    regimens: [heroin 30 mg IV q6h for 7 d, buprenorphine 16 mg SL q24h for 4 d from day 9]
    parameters: {buprenorphine_CL: 70}
outputs: [buprenorphine_plasma, mor_availability_pet]
"""


def _study(model):
    from opiaxis.study import parse_study
    from opiaxis.yamlio import load_yaml
    return parse_study(load_yaml(STUDY, "study.yaml"), model, "study.yaml")

def test_export_petab_one_condition_per_arm(tmp_path, pkrec):
    from opiaxis.interop.petab import check_petab, export_petab, study_measurements
    study = _study(pkrec)
    meas = study_measurements(study, pkrec, n_patients=6, variables=["buprenorphine_plasma",
                                                                     "mor_availability_pet"], every=24.0)
    y = export_petab(study, pkrec, meas, tmp_path / "petab", per_patient=False)
    assert check_petab(y) == []  # the petab library's linter
    cond = pd.read_csv(tmp_path / "petab" / "conditions.tsv", sep="\t")
    me = pd.read_csv(tmp_path / "petab" / "measurements.tsv", sep="\t")
    par = pd.read_csv(tmp_path / "petab" / "parameters.tsv", sep="\t")
    assert len(me) == len(meas) and set(me["simulationConditionId"]) <= set(cond["conditionId"])
    assert {"sd_mor_availability_pet", "buprenorphine_V1"} <= set(par["parameterId"])
    # an arm's parameter override is a condition column, so it is not estimated
    assert "buprenorphine_CL" in cond.columns and "buprenorphine_CL" not in set(par["parameterId"])
    assert sorted(cond["buprenorphine_CL"]) == sorted([70.0, pkrec.parameter("buprenorphine_CL").value])
    assert sbml_errors((tmp_path / "petab" / "model.xml").read_text()) == []
    # the condition switches its regimens on: heroin q6h for 7 d = 28 doses
    assert 28 in cond.iloc[0].to_numpy().tolist()


def test_export_petab_one_condition_per_patient_with_assay_noise_and_priors(tmp_path, pkrec):
    from opiaxis.interop.petab import check_petab, export_petab, study_measurements
    study = _study(pkrec)
    meas = study_measurements(study, pkrec, n_patients=6, variables=["buprenorphine_plasma",
                                                                     "mor_availability_pet"], every=24.0)
    meas = meas[meas["value"] > 0]
    y = export_petab(study, pkrec, meas, tmp_path / "petab")
    assert check_petab(y) == []
    cond = pd.read_csv(tmp_path / "petab" / "conditions.tsv", sep="\t")
    obs = pd.read_csv(tmp_path / "petab" / "observables.tsv", sep="\t").set_index("observableId")
    par = pd.read_csv(tmp_path / "petab" / "parameters.tsv", sep="\t").set_index("parameterId")
    me = pd.read_csv(tmp_path / "petab" / "measurements.tsv", sep="\t")
    assert len(cond) == meas["patient"].nunique()
    assert set(me["simulationConditionId"]) == {f"patient_{p}" for p in meas["patient"].unique()}
    # each patient estimates its own copy of a variable parameter, with the population prior
    row = cond.set_index("conditionId").loc["patient_1"]
    assert row["buprenorphine_V1"] == "buprenorphine_V1__patient_1"
    p = pkrec.parameter("buprenorphine_V1")
    prior = par.loc["buprenorphine_V1__patient_1"]
    assert prior["objectivePriorType"] == "parameterScaleNormal"
    mu, sd = map(float, prior["objectivePriorParameters"].split(";"))
    assert mu == pytest.approx(np.log10(p.value)) and sd == pytest.approx(p.variability.omega / np.log(10))
    # buprenorphine is measured by an LC-MS/MS assay with log-normal CV 10%: PEtab's log scale, SD s
    assert obs.loc["obs_buprenorphine_plasma", "observableTransformation"] == "log"
    assert float(obs.loc["obs_buprenorphine_plasma", "noiseFormula"]) == pytest.approx(np.sqrt(np.log1p(0.1 ** 2)))
    assert "sd_buprenorphine_plasma" not in par.index and "sd_mor_availability_pet" in par.index


def test_petab_rejects_unknown_variable(tmp_path, pkrec):
    from opiaxis.interop.petab import export_petab
    study = _study(pkrec)
    meas = pd.DataFrame({"patient": [1], "time": [1.0], "variable": ["no_such"], "value": [1.0]})
    with pytest.raises(OpiaxisInputError, match="no_such"):
        export_petab(study, pkrec, meas, tmp_path)


def test_cli_export_sbml(tmp_path):
    from typer.testing import CliRunner
    from opiaxis.cli import app
    out = tmp_path / "m.xml"
    r = CliRunner().invoke(app, ["export-sbml", "--modules", "pk,receptors", "--out", str(out),
                                 "--regimen", "buprenorphine 16 mg SL q24h for 3 d"])
    assert r.exit_code == 0, r.output
    assert sbml_errors(out.read_text()) == []
    r = CliRunner().invoke(app, ["export-sbml", "--modules", "pk,nope", "--out", str(out)])
    assert r.exit_code == 2 and "nope" in r.output
