"""Studies and the command line: bad input gets a clear error naming file, line and field;
results do not depend on chunking; interrupted runs resume."""
import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from opiaxis.cli import app
from opiaxis.errors import OpiaxisInputError
from opiaxis.study import load_study, run_study

GOOD = """\
name: tiny
seed: 11
population:
  size: 12
schedule:
  duration: 3 d
  every: 2 h
arms:
  - name: bup
    regimens:
      - heroin 20 mg IV q6h for 1 d
      - buprenorphine 8 mg SL q24h for 2 d from day 2
  - name: mmt
    weight: 2
    regimens:
      - methadone 40 mg oral daily for 3 d
outputs: [buprenorphine_plasma, methadone_plasma, mor_occupancy_central]
"""


def write(tmp_path, text, name="study.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_default_study_loads(model):
    s = load_study(None, model)
    assert s.size >= 100 and len(s.arms) >= 2


@pytest.mark.parametrize("bad, replacement, line, needle", [
    ("- heroin 20 mg IV", "- heroine 20 mg IV", 11, "unknown drug 'heroine'"),
    ("- buprenorphine 8 mg SL", "- buprenorphine -8 mg SL", 12, "expected a positive number"),
    ("- methadone 40 mg oral", "- methadone 40 oral", 16, "unit"),
    ("- methadone 40 mg oral", "- methadone 40 mg rectal", 16, "route"),
])
def test_regimen_errors_name_file_line_and_expectation(tmp_path, model, bad, replacement, line, needle):
    p = write(tmp_path, GOOD.replace(bad, replacement))
    with pytest.raises(OpiaxisInputError) as e:
        load_study(p, model)
    msg = str(e.value)
    assert f"study.yaml:{line}" in msg, msg
    assert needle in msg, msg


@pytest.mark.parametrize("edit, needle", [
    (("outputs: [buprenorphine_plasma", "outputs: [buprenorphin_plasma"), "unknown output 'buprenorphin_plasma'"),
    (("  size: 12", "  size: -3"), "population.size"),
    (("  duration: 3 d", "  duration: three days"), "schedule.duration"),
    (("seed: 11", "seed: 11\ncolour: red"), "unknown key 'colour'"),
    (("    weight: 2", "    weight: -2"), "arms[1].weight"),
    (("  every: 2 h", "  every: 2 h\n  step: 1"), "unknown key 'step'"),
])
def test_schema_errors(tmp_path, model, edit, needle):
    p = write(tmp_path, GOOD.replace(*edit))
    with pytest.raises(OpiaxisInputError) as e:
        load_study(p, model)
    assert needle in str(e.value) and "study.yaml" in str(e.value)


def test_arm_without_regimens_is_an_error(tmp_path, model):
    text = GOOD.replace("    regimens:\n      - methadone 40 mg oral daily for 3 d\n", "")
    with pytest.raises(OpiaxisInputError, match="neither regimens nor an event table"):
        load_study(write(tmp_path, text), model)


def test_event_table_with_missing_columns(tmp_path, model):
    (tmp_path / "doses.csv").write_text("ID,TIME,AMT\n1,0,10\n")
    text = GOOD.replace("    weight: 2\n", "    weight: 2\n    events: doses.csv\n")
    with pytest.raises(OpiaxisInputError) as e:
        load_study(write(tmp_path, text), model)
    assert "doses.csv" in str(e.value) and "EVID" in str(e.value)


def test_malformed_yaml_names_the_line(tmp_path, model):
    p = write(tmp_path, GOOD.replace("  every: 2 h", "  every: [2 h"))
    with pytest.raises(OpiaxisInputError) as e:
        load_study(p, model)
    assert "study.yaml" in str(e.value) and "YAML" in str(e.value)


def test_results_independent_of_chunking_and_resume(tmp_path, model):
    s = load_study(write(tmp_path, GOOD), model)
    a = run_study(s, model, tmp_path / "a", chunk_size=100)
    b = run_study(s, model, tmp_path / "b", chunk_size=3)
    ra = pd.read_parquet(tmp_path / "a" / "results.parquet")
    rb = pd.read_parquet(tmp_path / "b" / "results.parquet")
    pd.testing.assert_frame_equal(ra, rb)
    assert set(ra["arm"]) == {"bup", "mmt"} and ra["patient"].nunique() == 12
    # an interrupted run: drop the merged files and one chunk; the rest is reused, results equal
    (tmp_path / "b" / "results.parquet").unlink()
    victim = sorted((tmp_path / "b" / "chunks").glob("arm*-00000.parquet"))[0]
    victim.unlink()
    c = run_study(s, model, tmp_path / "b", chunk_size=3)
    assert c.reused_chunks == b.chunks - 1
    pd.testing.assert_frame_equal(ra, pd.read_parquet(tmp_path / "b" / "results.parquet"))
    bup = ra[(ra.arm == "bup") & (ra.variable == "buprenorphine_plasma")]
    assert bup[bup.time < 24].value.max() == 0 and bup[bup.time > 30].value.max() > 0.5


runner = CliRunner()


def test_cli_bad_study_exits_2_without_traceback(tmp_path):
    p = write(tmp_path, GOOD.replace("heroin 20 mg", "heroin -20 mg"))
    res = runner.invoke(app, ["run", str(p), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "study.yaml:11" in res.output and "Traceback" not in res.output


def test_cli_run_writes_results_and_report(tmp_path):
    p = write(tmp_path, GOOD)
    res = runner.invoke(app, ["run", str(p), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "o" / "report.html").read_text()
    assert "data:image/png;base64" in html and "tiny" in html
    assert (tmp_path / "o" / "patients.parquet").exists()


def test_cli_validate_json_and_model_markdown(tmp_path):
    res = runner.invoke(app, ["validate", "--target", "pk.fentanyl", "--json", str(tmp_path / "v.json"),
                              "--checkpoint", str(tmp_path / "ck")])
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "v.json").read_text())
    assert data[0]["id"] == "pk.fentanyl" and data[0]["passed"] is True
    res = runner.invoke(app, ["model", "--markdown", str(tmp_path / "m.md")])
    assert res.exit_code == 0, res.output
    md = (tmp_path / "m.md").read_text()
    assert "`buprenorphine_sl_F`" in md and "calibrated" in md and "mor_occupancy_central" in md


def test_cli_unknown_target(tmp_path):
    res = runner.invoke(app, ["validate", "--target", "no.such.target", "--checkpoint", str(tmp_path / "ck")])
    assert res.exit_code == 2 and "unknown target" in res.output


def test_cli_check_events(tmp_path):
    (tmp_path / "ev.csv").write_text("ID,TIME,EVID,AMT,CMT,II,ADDL\n1,0,1,16,buprenorphine.sl,24,6\n2,0,1,-5,methadone.oral,0,0\n")
    res = runner.invoke(app, ["check-events", str(tmp_path / "ev.csv")])
    assert res.exit_code == 2 and "ev.csv:3" in res.output


def test_study_covariates_block(tmp_path, model):
    text = GOOD.replace("  size: 12\n", "  size: 12\n  covariates:\n    fentanyl_supply: {p: 1.0}\n    age: {mean: 50, sd: 1}\n")
    s = load_study(write(tmp_path, text), model)
    res = run_study(s, model, tmp_path / "o", chunk_size=50)
    pats = res.patients
    assert (pats["cov_fentanyl_supply"] == 1).all() and pats["cov_age"].between(45, 55).all()
    bad = GOOD.replace("  size: 12\n", "  size: 12\n  covariates:\n    shoe_size: {mean: 42}\n")
    with pytest.raises(OpiaxisInputError) as e:
        load_study(write(tmp_path, bad, "bad.yaml"), model)
    assert "bad.yaml:6" in str(e.value) and "unknown covariate 'shoe_size'" in str(e.value)


ENDPOINTS = """\
endpoints:
  - {name: occ day 3, kind: mean, variable: mor_occupancy_central, at: 3 d, reference: mmt}
  - {name: occupied, kind: responder, variable: mor_occupancy_central, at: 3 d, above: 0.5, reference: mmt}
  - {name: time to 50%, kind: time_to_event, variable: mor_occupancy_central, above: 0.5, reference: mmt}
"""


def test_endpoints_are_analysed(tmp_path, model):
    s = load_study(write(tmp_path, GOOD + ENDPOINTS), model)
    res = run_study(s, model, tmp_path / "o", chunk_size=50)
    ep = pd.read_csv(tmp_path / "o" / "endpoints.csv")
    assert set(ep["endpoint"]) == {"occ day 3", "occupied", "time to 50%"}
    mean = ep[(ep.endpoint == "occ day 3") & (ep.arm == "bup")].iloc[0]
    r = res.results
    last = r[(r.variable == "mor_occupancy_central") & (r.time == r.time.max())]
    expected = last[last.arm == "bup"].value.mean() - last[last.arm == "mmt"].value.mean()
    assert mean["difference"] == pytest.approx(expected, rel=1e-9)
    assert mean["diff_low"] < mean["difference"] < mean["diff_high"]
    resp = ep[(ep.endpoint == "occupied") & (ep.arm == "bup")].iloc[0]
    assert 0 <= resp["low"] <= resp["estimate"] <= resp["high"] <= 1
    tte = ep[ep.endpoint == "time to 50%"]
    assert "hazard_ratio" in tte.columns


def test_endpoint_naming_unknown_readout(tmp_path, model):
    bad = GOOD + ENDPOINTS.replace("variable: mor_occupancy_central, at: 3 d, reference", "variable: cows_scor, at: 3 d, reference")
    with pytest.raises(OpiaxisInputError) as e:
        load_study(write(tmp_path, bad), model)
    assert "endpoints[0].variable" in str(e.value) and "cows_scor" in str(e.value) and "study.yaml:19" in str(e.value)


MEAS = """\
measurements:
  visits: [0 d, 1 d, 3 d]
  readouts: [buprenorphine_conc, methadone_conc]
"""


def test_measurements_at_visits_with_petab(tmp_path, model):
    s = load_study(write(tmp_path, GOOD + MEAS), model)
    res = run_study(s, model, tmp_path / "o", chunk_size=50)
    m = pd.read_parquet(tmp_path / "o" / "measurements.parquet")
    assert set(m["time"]) == {0.0, 24.0, 72.0}
    assert set(m["measurement"]) == {"buprenorphine_conc", "methadone_conc"}
    assert (m.loc[m.time == 0, "censored"] == "<LLOQ").all()  # drug-free at baseline: below quantification
    petab = pd.read_csv(tmp_path / "o" / "measurements_petab.tsv", sep="\t")
    assert {"observableId", "simulationConditionId", "measurement", "time"} <= set(petab.columns)
    again = run_study(s, model, tmp_path / "o", chunk_size=50)  # resumed: same measurements
    pd.testing.assert_frame_equal(res.measurements.reset_index(drop=True), again.measurements.reset_index(drop=True))


@pytest.mark.parametrize("old, new, needle", [
    ("visits: [0 d, 1 d, 3 d]", "visits: [0 d, 1 d, 31 h]", "measurements.visits[2]"),
    ("readouts: [buprenorphine_conc, methadone_conc]", "readouts: [buprenorphine_conc, il6_serm]", "unknown read-out 'il6_serm'"),
])
def test_measurement_errors(tmp_path, model, old, new, needle):
    with pytest.raises(OpiaxisInputError) as e:
        load_study(write(tmp_path, GOOD + MEAS.replace(old, new)), model)
    assert "study.yaml" in str(e.value) and needle in str(e.value)


def test_solver_tolerances_are_checked(tmp_path, model):
    with pytest.raises(OpiaxisInputError, match="solver.rtol"):
        load_study(write(tmp_path, GOOD + "solver: {rtol: 2}\n"), model)
    s = load_study(write(tmp_path, GOOD + "solver: {rtol: 1.0e-5}\n"), model)
    assert s.rtol == 1e-5


def test_large_cohort_path_keeps_results_on_disk(tmp_path, model):
    """Above the in-memory threshold, results stay on disk; endpoints, measurements and the
    report read back only what they need, and give the same numbers."""
    from opiaxis.report.html import write_report
    s = load_study(write(tmp_path, GOOD + ENDPOINTS + MEAS), model)
    mem = run_study(s, model, tmp_path / "mem", chunk_size=5)
    disk = run_study(s, model, tmp_path / "disk", chunk_size=5, in_memory_rows=10)
    assert disk.results is None and mem.results is not None
    pd.testing.assert_frame_equal(mem.endpoints, disk.endpoints)
    pd.testing.assert_frame_equal(mem.measurements.reset_index(drop=True), disk.measurements.reset_index(drop=True))
    write_report(tmp_path / "disk" / "report.html", s, disk, results_path=tmp_path / "disk" / "results.parquet")
    assert "first 2,000 patients" in (tmp_path / "disk" / "report.html").read_text()


def test_study_run_as_labelled_array(tmp_path, model):
    """StudyRun.to_xarray: dims (patient, time), units, arm and covariates as coordinates — the
    same numbers as the tidy table, in memory or read back from disk."""
    xr = pytest.importorskip("xarray")
    s = load_study(write(tmp_path, GOOD), model)
    res = run_study(s, model, tmp_path / "o", chunk_size=5)
    ds = res.to_xarray()
    assert isinstance(ds, xr.Dataset) and dict(ds.sizes) == {"patient": 12, "time": len(s.times)}
    assert ds["buprenorphine_plasma"].attrs["units"] == "ng/mL" and ds["time"].attrs["units"] == "h"
    pats = res.patients.set_index("patient")
    assert list(ds["arm"].values) == list(pats.loc[ds["patient"].values, "arm"])
    assert "age" in ds.coords and np.allclose(ds["age"].values, pats.loc[ds["patient"].values, "cov_age"])
    r = res.results
    row = r[(r.variable == "methadone_plasma")].iloc[7]
    assert ds["methadone_plasma"].sel(patient=row.patient, time=row.time).item() == row.value
    disk = run_study(s, model, tmp_path / "d", chunk_size=5, in_memory_rows=10)
    assert disk.results is None
    xr.testing.assert_identical(disk.to_xarray(["methadone_plasma"]), ds[["methadone_plasma"]])
    with pytest.raises(OpiaxisInputError, match="not an output"):
        res.to_xarray(["cortisol"])


def test_kind_study_is_the_default_kind(tmp_path, model):
    from opiaxis.study import load_spec
    a = load_study(write(tmp_path, GOOD), model)
    b = load_spec(write(tmp_path, "kind: study\n" + GOOD, "k.yaml"), model)
    assert a.kind == b.kind == "study" and [x.name for x in a.arms] == [x.name for x in b.arms]
    assert a.times.tolist() == b.times.tolist() and len(a.arms[1].doses) == len(b.arms[1].doses)


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_every_example_loads_through_load_spec(path):
    """Every example file, study or behaviour trial, is read by the one entry (unchanged files)."""
    from opiaxis.study import load_spec
    s = load_spec(path)
    assert s.kind == ("behaviour-trial" if "behaviour-trial" in path.read_text() else "study") and s.arms
