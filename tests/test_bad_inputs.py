"""A catalogue of bad and unusual inputs (issue 16): each row is one input and the clear error
(or the correct behaviour) it must get. No silent wrong answer, no hang, no traceback.

To add a case, add a row to the table of its kind: a study-file edit, an event table, an API
call, or a command line.
"""
import json
import os
import textwrap

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from opiaxis import checks
from opiaxis.cli import app
from opiaxis.engine import SolverOptions, simulate
from opiaxis.errors import OpiaxisInputError
from opiaxis.models import build_model, default_model
from opiaxis.study import SerialExecutor, load_study, run_study

STUDY = """\
name: tiny
seed: 11
population:
  size: 6
schedule:
  duration: 2 d
  every: 6 h
arms:
  - name: bup
    regimens:
      - buprenorphine 8 mg SL q24h for 2 d
  - name: mor
    regimens:
      - morphine 10 mg IV q6h for 1 d
outputs: [buprenorphine_plasma, morphine_plasma]
"""


@pytest.fixture(scope="module")
def small():
    """pk and receptors only: compiles in seconds, enough for studies with drug outputs."""
    return build_model(modules=["pk", "receptors"])


@pytest.fixture
def small_default(monkeypatch):
    """The command line on the small model (OPIAXIS_MODULES), restored afterwards."""
    monkeypatch.setenv("OPIAXIS_MODULES", "pk,receptors")
    default_model.cache_clear()
    yield
    default_model.cache_clear()


def write(folder, text, name="study.yaml"):
    p = folder / name
    p.write_text(textwrap.dedent(text))
    return p


# ----------------------------------------------------------------------------------------------
# study files: edit -> error text (every piece must appear)
EVENTS_OK = "ID,TIME,EVID,AMT,CMT\n1,0,1,8,buprenorphine.sl\n"
STUDY_CASES = [
    # id, (old, new) edit of STUDY, extra files {name: text}, expected pieces
    ("negative clearance", ("  size: 6\n", "  size: 6\n  parameters: {morphine_CL: -80}\n"), {},
     ["study.yaml:5", "population.parameters.morphine_CL", "-80", ">= 0"]),
    ("NaN parameter", ("  size: 6\n", "  parameters: {morphine_CL: .nan}\n  size: 6\n"), {},
     ["population.parameters.morphine_CL", "not a finite number"]),
    ("parameter as text", ("  size: 6\n", "  parameters: {morphine_CL: fast}\n  size: 6\n"), {},
     ["population.parameters.morphine_CL", "not a number"]),
    ("arm parameter above its bound", ("      - morphine 10 mg IV q6h for 1 d\n",
                                       "      - morphine 10 mg IV q6h for 1 d\n    parameters: {morphine_oral_F: 2}\n"), {},
     ["arms[1].parameters.morphine_oral_F", "between 0 and 1"]),
    ("1e9 mg of morphine IV", ("morphine 10 mg IV", "morphine 1e9 mg IV"), {},
     ["study.yaml", "arms[1].regimens", "morphine.iv dose of 1e+09 mg", "plausible single dose", "--allow-implausible-doses"]),
    ("morphine daily amount too high", ("morphine 10 mg IV q6h", "morphine 150 mg IV q1h"), {},
     ["arms[1].regimens", "within 24 h", "plausible daily amount of 3000 mg"]),
    ("AMT 1e300 in an event table", ("      - morphine 10 mg IV q6h for 1 d\n", "    events: ev.csv\n"),
     {"ev.csv": "ID,TIME,EVID,AMT,CMT\n1,0,1,1e300,morphine.iv\n"}, ["ev.csv", "arms[1].events", "1e+300 mg"]),
    ("string IDs match no patient", ("      - morphine 10 mg IV q6h for 1 d\n", "    events: ev.csv\n"),
     {"ev.csv": "ID,TIME,EVID,AMT,CMT\nP1,0,1,10,morphine.iv\nP2,0,1,10,morphine.iv\n"},
     ["ev.csv", "'P1', 'P2'", "match no patient", "1..6"]),
    ("IDs outside the cohort", ("      - morphine 10 mg IV q6h for 1 d\n", "    events: ev.csv\n"),
     {"ev.csv": "ID,TIME,EVID,AMT,CMT\n1,0,1,10,morphine.iv\n99,0,1,10,morphine.iv\n"},
     ["ev.csv", "ID(s) 99 match no patient", "1..6"]),
    ("fractional IDs", ("      - morphine 10 mg IV q6h for 1 d\n", "    events: ev.csv\n"),
     {"ev.csv": "ID,TIME,EVID,AMT,CMT\n1.5,0,1,10,morphine.iv\n"}, ["ev.csv:2", "ID is '1.5'", "whole-number"]),
    ("header-only event table", ("      - morphine 10 mg IV q6h for 1 d\n", "    events: ev.csv\n"),
     {"ev.csv": "ID,TIME,EVID,AMT,CMT\n"}, ["ev.csv", "header but no rows"]),
    ("trial file given to run", ("name: tiny\n", "kind: behaviour-trial\nname: tiny\n"), {},
     ["study.yaml:1", "behaviour-trial", "opiaxis trial"]),
    ("empty outputs", ("outputs: [buprenorphine_plasma, morphine_plasma]", "outputs: []"), {},
     ["study.yaml:15", "non-empty list"]),
    ("output listed twice", ("outputs: [buprenorphine_plasma, morphine_plasma]",
                             "outputs: [morphine_plasma, morphine_plasma]"), {}, ["morphine_plasma listed twice"]),
    ("name is a list", ("name: tiny", "name: [a, b]"), {}, ["study.yaml:1", "name must be text"]),
    ("covariates as a list", ("  size: 6\n", "  size: 6\n  covariates: [1]\n"), {},
     ["population.covariates", "must be a mapping"]),
    ("ADDL of 1e8 doses", ("      - morphine 10 mg IV q6h for 1 d\n", "    events: ev.csv\n"),
     {"ev.csv": "ID,TIME,EVID,AMT,CMT,II,ADDL\n1,0,1,5,morphine.iv,1,100000000\n"}, ["ev.csv:2", "at most 100000"]),
    ("ID beyond 2^53", ("      - morphine 10 mg IV q6h for 1 d\n", "    events: ev.csv\n"),
     {"ev.csv": "ID,TIME,EVID,AMT,CMT\n1e30,0,1,5,morphine.iv\n"}, ["ev.csv:2", "at most 2^53"]),
    ("parameters as a list", ("  size: 6\n", "  size: 6\n  parameters: [1, 2]\n"), {},
     ["study.yaml:5", "population.parameters", "mapping of parameter names"]),
    ("solver as text", ("outputs:", "solver: fast\noutputs:"), {}, ["study.yaml:15", "solver", "atol"]),
    ("numeric CMT in a study's event table", ("      - morphine 10 mg IV q6h for 1 d\n", "    events: ev.csv\n"),
     {"ev.csv": "ID,TIME,EVID,AMT,CMT\n1,0,1,5,1\n"}, ["ev.csv:2", "explicit mapping", "morphine.iv"]),
]


@pytest.mark.parametrize("edit, files, pieces", [c[1:] for c in STUDY_CASES], ids=[c[0] for c in STUDY_CASES])
def test_study_file_catalogue(tmp_path, small, edit, files, pieces):
    assert edit[0] in STUDY, "the edit must change the study"
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(OpiaxisInputError) as e:
        load_study(write(tmp_path, STUDY.replace(*edit)), small)
    for piece in pieces:
        assert piece in str(e.value), str(e.value)


@pytest.mark.parametrize("make, pieces", [
    (lambda p: p.mkdir(), ["is a directory", "study file"]),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), ["not a text file"]),
    (lambda p: None, ["file not found"]),
], ids=["directory", "binary", "missing"])
def test_study_path_catalogue(tmp_path, small, make, pieces):
    p = tmp_path / "study.yaml"
    make(p)
    with pytest.raises(OpiaxisInputError) as e:
        load_study(p, small)
    assert all(x in str(e.value) for x in pieces) and str(p) in str(e.value), str(e.value)


def test_implausible_dose_allowed_explicitly_is_recorded(tmp_path, small):
    s = load_study(write(tmp_path, STUDY.replace("morphine 10 mg IV", "morphine 1e4 mg IV")), small,
                   allow_implausible_doses=True)
    assert s.dose_overrides and "morphine.iv" in s.dose_overrides[0]
    res = run_study(s, small, tmp_path / "o")
    record = json.loads((tmp_path / "o" / "run.json").read_text())
    assert record["dose_overrides"] == s.dose_overrides
    assert any("implausible dose allowed" in n for n in res.notes)


def test_event_ids_of_other_arms_are_fine(tmp_path, small):
    """A table covering the whole cohort (as the examples do) is valid for each arm."""
    (tmp_path / "ev.csv").write_text("ID,TIME,EVID,AMT,CMT\n" + "".join(f"{i},0,1,10,morphine.iv\n" for i in range(1, 7)))
    s = load_study(write(tmp_path, STUDY.replace("      - morphine 10 mg IV q6h for 1 d\n", "    events: ev.csv\n")), small)
    res = run_study(s, small, tmp_path / "o")
    mor = res.results.query("arm == 'mor' and variable == 'morphine_plasma' and time == 6")
    assert len(mor) and (mor["value"] > 0).all()


# ----------------------------------------------------------------------------------------------
# runs: resume keyed by content, damaged chunks, locks, empty arms
def _run(tmp_path, small, text=STUDY, out="o", **kw):
    return run_study(load_study(write(tmp_path, text), small), small, tmp_path / out, chunk_size=2, **kw)


@pytest.mark.parametrize("edit, pieces", [
    (("seed: 11", "seed: 12"), ["seed (11 -> 12)", "--fresh"]),
    (("morphine 10 mg IV", "morphine 20 mg IV"), ["study spec (arms)"]),
    (("  size: 6", "  size: 8"), ["study spec (population.size)"]),
    (("every: 6 h", "every: 3 h"), ["study spec (schedule.every)"]),
], ids=["seed", "dose", "size", "schedule"])
def test_resume_refuses_another_studys_results(tmp_path, small, edit, pieces):
    first = _run(tmp_path, small)
    before = (tmp_path / "o" / "results.parquet").read_bytes()
    with pytest.raises(OpiaxisInputError) as e:
        _run(tmp_path, small, STUDY.replace(*edit))
    msg = str(e.value)
    assert all(p in msg for p in pieces) and "different run" in msg and str(tmp_path / "o") in msg, msg
    assert (tmp_path / "o" / "results.parquet").read_bytes() == before   # nothing written earlier is lost
    again = _run(tmp_path, small, STUDY.replace(*edit), fresh=True)
    assert again.reused_chunks == 0 and first.chunks >= 1


def test_resume_refuses_other_chunking_and_model(tmp_path, small):
    _run(tmp_path, small)
    s = load_study(write(tmp_path, STUDY), small)
    with pytest.raises(OpiaxisInputError, match=r"chunking \(chunk size 2 -> 3\)"):
        run_study(s, small, tmp_path / "o", chunk_size=3)
    record = json.loads((tmp_path / "o" / "run.json").read_text())
    record["key"]["model"] = "0123456789abcdef"
    (tmp_path / "o" / "run.json").write_text(json.dumps(record))
    with pytest.raises(OpiaxisInputError, match="model fingerprint"):
        run_study(s, small, tmp_path / "o", chunk_size=2)


@pytest.mark.parametrize("damage, note", [
    (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "truncated or damaged"),
    (lambda p: p.write_bytes(b""), "truncated or damaged"),
    (lambda p: p.write_bytes(bytes(reversed(p.read_bytes()))), "checksum differs"),
], ids=["truncated", "empty", "same size, other bytes"])
def test_damaged_chunk_is_recomputed_with_a_note(tmp_path, small, damage, note):
    first = _run(tmp_path, small)
    victim = sorted((tmp_path / "o" / "chunks").glob("arm*.parquet"))[0]
    damage(victim)
    said = []
    again = _run(tmp_path, small, notes=said.append)
    assert again.reused_chunks == first.chunks - 1
    assert any(victim.name in s and note in s and "recomputing" in s for s in said), said
    pd.testing.assert_frame_equal(first.results, again.results)


def test_chunks_without_run_record_are_not_trusted(tmp_path, small):
    _run(tmp_path, small)
    (tmp_path / "o" / "run.json").unlink()
    with pytest.raises(OpiaxisInputError, match="without a run record"):
        _run(tmp_path, small)


def test_second_concurrent_run_is_told_who_holds_the_folder(tmp_path, small):
    import fcntl
    out = tmp_path / "o"
    out.mkdir()
    with open(out / ".opiaxis.lock", "w") as holder:   # another process's lock (flock is per open file)
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
        holder.write("pid 4242 on elsewhere since 2026-01-01 00:00:00")
        holder.flush()
        with pytest.raises(OpiaxisInputError) as e:
            _run(tmp_path, small)
    assert "another run" in str(e.value) and "pid 4242" in str(e.value) and str(out) in str(e.value)
    _run(tmp_path, small)   # released: runs


@pytest.mark.parametrize("out, pieces", [
    ("a_file", ["is a file", "--out"]),
    ("/proc/opiaxis-results", ["cannot write", "--out"]),
], ids=["file", "unwritable"])
def test_out_folder_catalogue(tmp_path, small, out, pieces):
    (tmp_path / "a_file").write_text("x")
    target = out if out.startswith("/") else tmp_path / out
    s = load_study(write(tmp_path, STUDY), small)
    with pytest.raises(OpiaxisInputError) as e:
        run_study(s, small, target)
    assert all(p in str(e.value) for p in pieces), str(e.value)


def test_arm_with_zero_patients_is_an_error(tmp_path, small):
    text = STUDY.replace("  size: 6", "  size: 2").replace("arms:\n", "arms:\n  - name: a3\n    regimens: [morphine 5 mg IV once]\n"
                                   "  - name: a4\n    regimens: [morphine 5 mg oral once]\n")
    with pytest.raises(OpiaxisInputError) as e:
        _run(tmp_path, small, text)
    assert "get no patients" in str(e.value) and "population.size" in str(e.value)


def test_population_too_large_for_memory_is_caught_up_front(tmp_path, small):
    from opiaxis.study import check_resources
    s = load_study(write(tmp_path, STUDY.replace("  size: 6", "  size: 1000000")), small)
    with pytest.raises(OpiaxisInputError) as e:
        check_resources(s, small, tmp_path, 500, memory=1e9)
    assert "GiB of memory" in str(e.value) and "patients fit" in str(e.value) and "population.size" in str(e.value)
    fine = load_study(write(tmp_path, STUDY.replace("every: 6 h", "every: 1 min").replace("  size: 6", "  size: 1000")), small)
    with pytest.raises(OpiaxisInputError, match="--chunk-size"):
        check_resources(fine, small, tmp_path, 500, memory=0.2e9)
    check_resources(fine, small, tmp_path, 1, memory=0.2e9)   # one patient per chunk fits


# ----------------------------------------------------------------------------------------------
# the Python API: arrays
def _dose(m):
    from opiaxis.study import regimen_doses
    return regimen_doses(m, [1], ["morphine 10 mg IV once"])


def _api(small):
    P = small.default_parameters()[None, :]
    return P


@pytest.mark.parametrize("call, pieces", [
    (lambda m, P: simulate(m, P, [0.0, np.nan, 2.0]), ["times[1] is nan"]),
    (lambda m, P: simulate(m, P, [0.0, np.inf]), ["times[1] is inf"]),
    (lambda m, P: simulate(m, P, [3.0, 1.0]), ["not sorted"]),
    (lambda m, P: simulate(m, P, []), ["non-empty"]),
    (lambda m, P: simulate(m, P, [[0, 1], [2, 3]]), ["1-D"]),
    (lambda m, P: simulate(m, P, [0.0, 1.0], t0=5.0), ["before the start time"]),
    (lambda m, P: simulate(m, P[:, :-1], [0.0, 1.0]), ["params has shape", "parameter_names"]),
    (lambda m, P: simulate(m, np.where(np.arange(P.shape[1]) == 0, np.nan, P), [0.0, 1.0]), ["expected a finite number"]),
    (lambda m, P: simulate(m, np.vstack([P, P]), [0.0, 1.0], ids=[1, 1]), ["duplicates"]),
    (lambda m, P: simulate(m, P, [0.0, 1.0], ids=[1, 2]), ["one id per patient"]),
    (lambda m, P: simulate(m, P, [0.0, 1.0], x0=np.zeros(2)), ["x0 has shape"]),
    (lambda m, P: simulate(m, P, [0.0, 1.0], options=SolverOptions(rtol=-1)), ["rtol is -1"]),
    (lambda m, P: simulate(m, P, [0.0, 1.0], options=SolverOptions(atol=float("nan"))), ["atol is nan"]),
    (lambda m, P: simulate(m, P, [0.0, 1.0], options=SolverOptions(h_max=0)), ["h_max is 0"]),
    (lambda m, P: simulate(m, P, [0.0, 1.0], options=SolverOptions(max_steps=0)), ["max_steps is 0"]),
    (lambda m, P: simulate(m, P, [0.0, 1.0], _dose(m).assign(AMT=np.nan)), ["AMT is nan"]),
    (lambda m, P: simulate(m, P, [0.0, 1.0], _dose(m).assign(AMT=-10.0)), ["AMT is -10", ">= 0"]),
    (lambda m, P: simulate(m, P, [0.0, 1.0], _dose(m).assign(TIME=np.nan)), ["TIME is nan"]),
    (lambda m, P: simulate(m, P, [0.0, 1.0], _dose(m).assign(RATE=-1.0)), ["RATE is -1"]),
    (lambda m, P: simulate(m, P, [0.0, 1.0], _dose(m).assign(TIME=-5.0)), ["before the start time"]),
    (lambda m, P: simulate(m, P, [0.0, 1.0], _dose(m).assign(EVID=7)), ["EVID is 7"]),
    (lambda m, P: simulate(m, P, [0.0, 1.0], _dose(m).drop(columns="CMT")), ["no column(s) CMT"]),
], ids=["nan time", "inf time", "unsorted", "empty", "2-D times", "before t0", "params shape", "nan param",
        "duplicate ids", "ids length", "x0 shape", "negative rtol", "nan atol", "zero h_max", "zero max_steps",
        "nan dose", "negative dose", "nan dose time", "negative rate", "dose before t0", "EVID 7", "no CMT"])
def test_simulate_argument_catalogue(small, call, pieces):
    with pytest.raises(OpiaxisInputError) as e:
        call(small, _api(small))
    assert all(p in str(e.value) for p in pieces), str(e.value)


@pytest.mark.parametrize("name, value, ok", [
    ("morphine_CL", -80.0, False), ("morphine_CL", float("nan"), False), ("morphine_CL", 80.0, True),
    ("morphine_oral_F", 1.5, False), ("morphine_oral_F", 0.5, True),
])
def test_parameter_bounds_on_the_api_override_path(small, name, value, ok):
    from opiaxis.population import sample_parameters
    if ok:
        assert sample_parameters(small, [1], 0, overrides={name: value}, variability=False)[0, small.param_index[name]] == value
    else:
        with pytest.raises(OpiaxisInputError, match=name):
            sample_parameters(small, [1], 0, overrides={name: value})


def test_signed_parameters_may_be_negative():
    """The default bound (non-negative) must not reject the full model's own negative typical values."""
    from opiaxis.models import MODULES
    m = build_model(modules=list(MODULES))
    neg = [p for p in m.parameters if p.value < 0]
    assert neg and all(checks.bounds(p)[0] <= p.value for p in m.parameters)
    assert checks.bounds(m.parameters[m.param_index["morphine_CL"]]) == (0.0, float("inf"))


def test_dose_limits_cover_every_drug_route(small):
    limits = checks.dose_limits()
    drugs = {t for t in small.dose_targets}
    assert drugs <= set(limits), sorted(drugs - set(limits))
    assert all(v["single"] <= v["daily"] and v["source"] for v in limits.values())


# ----------------------------------------------------------------------------------------------
# the command line: arguments -> exit code and message, never a traceback
runner = CliRunner()

CLI_CASES = [
    ("unknown module", ["export-sbml", "--modules", "pk,recepters"], 2, ["--modules", "recepters", "did you mean receptors"]),
    ("missing dependency", ["export-sbml", "--modules", "receptors"], 2, ["receptors needs pk"]),
    ("missing drug library", ["model", "--drug-library", "nope.yaml"], 2, ["nope.yaml", "drug library not found"]),
    ("check-events fractional IDs", ["check-events", "{tmp}/frac.csv"], 2, ["frac.csv:2", "ID is '1.5'"]),
    ("check-events header only", ["check-events", "{tmp}/empty.csv"], 2, ["empty.csv", "header but no rows"]),
    ("check-events implausible", ["check-events", "{tmp}/huge.csv"], 2, ["huge.csv", "1e+09 mg"]),
    ("run --out is a file", ["run", "{tmp}/study.yaml", "--out", "{tmp}/a_file"], 2, ["a_file", "is a file"]),
    ("run a directory", ["run", "{tmp}"], 2, ["is a directory"]),
    ("run a trial file runs it as a trial", ["run", "{tmp}/trial.yaml"], 2, ["trial.yaml", "non-empty list of arms"]),
    ("trial a study file", ["trial", "{tmp}/study.yaml"], 2, ["opiaxis run"]),
    ("run --workers 0", ["run", "{tmp}/study.yaml", "--scheduler", "local", "--workers", "0"], 2, ["--workers"]),
    ("run --max-failure-rate 2", ["run", "{tmp}/study.yaml", "--max-failure-rate", "2"], 2, ["not a fraction"]),
    ("population too large", ["run", "{tmp}/huge.yaml", "--out", "{tmp}/o"], 2, ["GiB of memory", "population.size"]),
    ("export-sbml --out is a folder", ["export-sbml", "-o", "{tmp}"], 2, ["is a folder", "--out"]),
    ("export-sbml --out unwritable", ["export-sbml", "-o", "/proc/nope/x.xml"], 2, ["does not exist", "--out"]),
    ("model --markdown is a folder", ["model", "--markdown", "{tmp}"], 2, ["is a folder", "--markdown"]),
    ("export-petab --every 0", ["export-petab", "{tmp}/study.yaml", "--every", "0", "-o", "{tmp}/pe"], 2, ["--every"]),
    ("export-petab --out is a file", ["export-petab", "{tmp}/study.yaml", "-o", "{tmp}/a_file"], 2, ["is a file"]),
    ("simulate-nonmem --out is a folder", ["simulate-nonmem", "{tmp}/huge.csv", "-o", "{tmp}"], 2, ["is a folder"]),
    ("import-nonmem numeric CMT", ["import-nonmem", "{tmp}/num.csv", "--dv", "morphine_plasma"], 2,
     ["num.csv:2", "explicit mapping", "morphine.iv"]),
    ("import-nonmem with --cmt-map", ["import-nonmem", "{tmp}/num.csv", "--dv", "morphine_plasma", "--cmt-map", "1=morphine.iv"],
     0, ["1 dose event(s)", "OK"]),
]


@pytest.mark.parametrize("args, code, pieces", [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_cli_catalogue(tmp_path, small_default, args, code, pieces):
    write(tmp_path, STUDY)
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "frac.csv").write_text("ID,TIME,EVID,AMT,CMT\n1.5,0,1,10,morphine.iv\n")
    (tmp_path / "empty.csv").write_text("ID,TIME,EVID,AMT,CMT\n")
    (tmp_path / "huge.csv").write_text("ID,TIME,EVID,AMT,CMT\n1,0,1,1e9,morphine.iv\n")
    (tmp_path / "trial.yaml").write_text("kind: behaviour-trial\nname: t\n")
    write(tmp_path, STUDY.replace("  size: 6", "  size: 100000000000"), "huge.yaml")
    (tmp_path / "num.csv").write_text("ID,TIME,EVID,AMT,CMT,DV,MDV\n1,0,1,10,1,.,1\n1,1,0,.,.,3,0\n")
    res = runner.invoke(app, [a.format(tmp=tmp_path) for a in args])
    out = res.output
    assert res.exit_code == code, out
    assert "Traceback" not in out and not isinstance(res.exception, (KeyError, TypeError, AttributeError)), out
    flat = " ".join(out.split())
    assert all(p in flat for p in pieces), out


def test_cli_scheduler_without_dask_prints_install_command_intact(monkeypatch, tmp_path, small_default):
    import builtins
    real = builtins.__import__

    def no_dask(name, *a, **k):
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError(name)
        return real(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", no_dask)
    res = runner.invoke(app, ["run", str(write(tmp_path, STUDY)), "--out", str(tmp_path / "o"), "--scheduler", "local"])
    assert res.exit_code == 2, res.output
    assert "pip install 'opiaxis[dask]'" in " ".join(res.output.split()), res.output


def test_cli_solver_failures_above_threshold_exit_3(tmp_path, small_default, monkeypatch):
    import opiaxis.study.execute as execute   # the CLI builds its own executor: patch what it runs
    real = execute.simulate_chunk

    def failing(*a, **k):
        chunk = real(*a, **k)
        chunk.patients["solver_status"] = 1
        return chunk
    monkeypatch.setattr(execute, "simulate_chunk", failing)
    res = runner.invoke(app, ["run", str(write(tmp_path, STUDY)), "--out", str(tmp_path / "o"), "--no-report"])
    flat = " ".join(res.output.split())
    assert res.exit_code == 3, res.output
    assert "solver failures: 6 of 6 patients" in flat and "solver_status" in flat and "--max-failure-rate" in flat
    ok = runner.invoke(app, ["run", str(tmp_path / "study.yaml"), "--out", str(tmp_path / "o2"), "--no-report",
                             "--max-failure-rate", "1"])
    assert ok.exit_code == 0 and "solver failures" in " ".join(ok.output.split())


# ----------------------------------------------------------------------------------------------
# NONMEM datasets: text -> error pieces (None: reads, and the check in the last column holds)
NM_HEAD = "ID,TIME,EVID,AMT,CMT,DV,MDV\n"
NM_CASES = [
    ("numeric CMT without a mapping", NM_HEAD + "1,0,1,8,1,.,1\n1,2,0,.,.,2.5,0\n", {},
     ["data.csv:2", "CMT 1 is a number", "explicit mapping", "buprenorphine.sl", "morphine.iv"]),
    ("numeric CMT outside the mapping", NM_HEAD + "1,0,1,8,3,.,1\n", {"cmt_map": "1=buprenorphine.sl"},
     ["data.csv:2", "not in the compartment mapping", "1=buprenorphine.sl"]),
    ("mapping names no compartment", NM_HEAD + "1,0,1,8,1,.,1\n", {"cmt_map": "1=buprenorfine.sl"},
     ["--cmt-map", "'buprenorfine.sl' is not a dosing compartment", "did you mean 'buprenorphine.sl'"]),
    ("fractional ID", NM_HEAD + "1.5,0,1,8,buprenorphine.sl,.,1\n", {}, ["data.csv:2", "ID is '1.5'"]),
    ("negative clearance covariate", "ID,TIME,EVID,AMT,CMT,DV,MDV,buprenorphine_CL\n1,0,1,8,buprenorphine.sl,.,1,-5\n",
     {}, ["data.csv:2", "buprenorphine_CL", ">= 0"]),
    ("header-less .dta", "1 0 1 8 1\n1 2 0 0 0\n", {"name": "data.dta"}, ["data.dta", "is data, not a header", "$INPUT"]),
]


@pytest.mark.parametrize("text, kw, pieces", [c[1:] for c in NM_CASES], ids=[c[0] for c in NM_CASES])
def test_nonmem_catalogue(tmp_path, small, text, kw, pieces):
    from opiaxis.interop.nonmem import read_nonmem
    kw = dict(kw)
    p = tmp_path / kw.pop("name", "data.csv")
    p.write_text(text)
    with pytest.raises(OpiaxisInputError) as e:
        read_nonmem(p, small, dv="buprenorphine_plasma", **kw)
    assert all(x in str(e.value) for x in pieces), str(e.value)


def test_nonmem_whitespace_dta_with_mapping_and_no_mdv(tmp_path, small):
    """A whitespace-separated .dta, numeric CMT mapped explicitly, MDV inferred from EVID and DV."""
    from opiaxis.interop.nonmem import read_nonmem, simulate_dataset
    (tmp_path / "pk.dta").write_text("#ID TIME EVID AMT CMT DV\n1 0 1 8 1 .\n1 2 0 . 2 2.5\n1 4 0 . 2 .\n")
    d = read_nonmem(tmp_path / "pk.dta", small, cmt_map="1=buprenorphine.sl,2=buprenorphine_plasma")
    assert d.events["CMT"].iloc[0] == "buprenorphine.sl" and d.observations["MDV"].tolist() == [0, 1]
    assert d.observations["VARIABLE"].tolist() == ["buprenorphine_plasma"] * 2
    sim = simulate_dataset(small, d)
    assert sim["DV"].iloc[1] > 0


def test_nonmem_mapping_from_a_file(tmp_path, small):
    from opiaxis.dosing import parse_cmt_map
    f = tmp_path / "map.txt"
    f.write_text("# numbers\n1=morphine.iv\n2: buprenorphine.sl\n")
    assert parse_cmt_map(str(f), sorted(small.dose_targets)) == {1: "morphine.iv", 2: "buprenorphine.sl"}
    with pytest.raises(OpiaxisInputError, match="is not 'number=compartment'"):
        parse_cmt_map("1 morphine.iv", sorted(small.dose_targets))


# ----------------------------------------------------------------------------------------------
# steady state (SS = 1, SS = 2 with II)
SS_HEAD = "ID,TIME,EVID,AMT,CMT,II,SS,DV,MDV\n"


@pytest.mark.parametrize("rows, pieces", [
    ("1,0,1,40,methadone.oral,0,1,.,1\n", ["data.csv:2", "SS is 1 but II is 0", "II > 0"]),
    ("1,0,1,40,methadone.oral,24,3,.,1\n", ["data.csv:2", "SS is 3", "1 or 2"]),
    ("1,0,0,.,methadone_plasma,.,1,.,1\n", ["data.csv:2", "steady state is for dose rows"]),
    ("1,0,1,40,methadone.oral,24,0,.,1\n1,24,1,40,methadone.oral,24,2,.,1\n",
     ["data.csv:3", "SS is 2", "only as an ID's first record", "use SS = 1"]),
], ids=["no II", "SS 3", "observation row", "SS 2 after other records"])
def test_steady_state_catalogue(tmp_path, small, rows, pieces):
    from opiaxis.interop.nonmem import read_nonmem
    (tmp_path / "data.csv").write_text(SS_HEAD + rows)
    with pytest.raises(OpiaxisInputError) as e:
        read_nonmem(tmp_path / "data.csv", small)
    assert all(p in str(e.value) for p in pieces), str(e.value)


@pytest.mark.parametrize("ss", [1, 2])
def test_steady_state_dose_matches_a_long_explicit_history(tmp_path, small, ss):
    """SS at TIME 0 (q24h methadone) gives what 60 days of explicit daily doses give on day 60."""
    from opiaxis.interop.nonmem import read_nonmem, simulate_dataset
    (tmp_path / "ss.csv").write_text(SS_HEAD + f"1,0,1,40,methadone.oral,24,{ss},.,1\n"
                                     "1,2,0,.,methadone_plasma,.,0,0,0\n1,12,0,.,methadone_plasma,.,0,0,0\n")
    sim = simulate_dataset(small, read_nonmem(tmp_path / "ss.csv", small))
    (tmp_path / "long.csv").write_text("ID,TIME,EVID,AMT,CMT,II,ADDL,DV,MDV\n1,0,1,40,methadone.oral,24,60,.,1\n"
                                       "1,1442,0,.,methadone_plasma,.,.,0,0\n1,1452,0,.,methadone_plasma,.,.,0,0\n")
    long = simulate_dataset(small, read_nonmem(tmp_path / "long.csv", small))
    (tmp_path / "one.csv").write_text(SS_HEAD + "1,0,1,40,methadone.oral,24,0,.,1\n1,2,0,.,methadone_plasma,.,0,0,0\n")
    single = simulate_dataset(small, read_nonmem(tmp_path / "one.csv", small))
    got, want = sim["DV"].iloc[1:].to_numpy(float), long["DV"].iloc[1:].to_numpy(float)
    assert np.allclose(got, want, rtol=0.01), (got, want)
    assert got[0] > 1.5 * single["DV"].iloc[1]   # accumulation: not a single dose


def test_steady_state_in_a_study_only_at_time_0(tmp_path, small):
    (tmp_path / "ev.csv").write_text("ID,TIME,EVID,AMT,CMT,II,SS\n1,24,1,40,methadone.oral,24,1\n")
    with pytest.raises(OpiaxisInputError, match="steady-state dose .* after TIME 0"):
        load_study(write(tmp_path, STUDY.replace("      - morphine 10 mg IV q6h for 1 d\n", "    events: ev.csv\n")), small)


def test_steady_state_reset_after_earlier_records(tmp_path, small):
    """SS = 1 with EVID 4 after a first visit (as in pharmpy's moxo.csv): the patient is reset to the
    steady state of 200 mg q12h; compare with 30 days of explicit doses from a clean start."""
    from opiaxis.dosing import expand_doses
    from opiaxis.interop.nonmem import read_nonmem, simulate_dataset
    (tmp_path / "late.csv").write_text(SS_HEAD + "1,0,1,100,methadone.oral,0,0,.,1\n1,1,0,.,methadone_plasma,.,0,0,0\n"
                                       "1,40,4,20,methadone.oral,12,1,.,1\n1,40.5,0,.,methadone_plasma,.,0,0,0\n"
                                       "1,46,0,.,methadone_plasma,.,0,0,0\n")
    late = read_nonmem(tmp_path / "late.csv", small)
    with pytest.raises(OpiaxisInputError, match="simulate_dataset"):
        expand_doses(late.events)   # one timeline cannot express it: never a silent plain dose
    sim = simulate_dataset(small, late)
    (tmp_path / "long.csv").write_text("ID,TIME,EVID,AMT,CMT,II,ADDL,DV,MDV\n1,0,1,20,methadone.oral,12,60,.,1\n"
                                       "1,720.5,0,.,methadone_plasma,.,.,0,0\n1,726,0,.,methadone_plasma,.,.,0,0\n")
    long = simulate_dataset(small, read_nonmem(tmp_path / "long.csv", small))
    got, want = sim["DV"].iloc[[3, 4]].to_numpy(float), long["DV"].iloc[[1, 2]].to_numpy(float)
    assert np.allclose(got, want, rtol=0.01), (got, want)
    first = simulate_dataset(small, read_nonmem(tmp_path / "late.csv", small))["DV"].iloc[1]
    assert first > 0   # the first visit is simulated from the patient's own history


def _pharmpy_examples():
    import importlib.util
    spec = importlib.util.find_spec("pharmpy")
    roots = [os.environ.get("OPIAXIS_PHARMPY_EXAMPLES", "")]
    if spec and spec.submodule_search_locations:
        roots.append(os.path.join(list(spec.submodule_search_locations)[0], "internals", "example_models"))
    for r in roots:
        if r and os.path.exists(os.path.join(r, "pheno.dta")):
            return r
    pytest.skip("pharmpy's example datasets are not installed (pip install pharmpy-core, or set OPIAXIS_PHARMPY_EXAMPLES)")


@pytest.mark.parametrize("name, kw, counts", [
    # pheno.dta: whitespace-separated, no EVID, no CMT, no MDV (NONMEM's defaults apply)
    ("pheno.dta", {"cmt_map": "1=morphine.iv", "dv": "morphine_plasma"}, (744, 59, 155)),
    # moxo.csv: numeric CMT (1 dose, 2 observation), SS = 1 with EVID 4 after a first visit
    ("moxo.csv", {"cmt_map": "1=morphine.oral", "dv": "morphine_plasma"}, None),
])
def test_real_public_datasets_from_pharmpy(small, name, kw, counts):
    from opiaxis.interop.nonmem import read_nonmem, simulate_dataset
    path = os.path.join(_pharmpy_examples(), name)
    with pytest.raises(OpiaxisInputError, match="numbers need an explicit mapping"):
        read_nonmem(path, small, dv=kw["dv"])   # the moxonidine dose is never guessed into a compartment
    d = read_nonmem(path, small, **kw)
    obs = d.observations
    if counts:
        assert (len(d.events), len(d.ids), int((obs["MDV"] == 0).sum())) == counts
    sim = simulate_dataset(small, d)
    assert np.isfinite(sim.loc[obs["ROW"], "DV"]).all()


@pytest.mark.parametrize("header, kw, factor", [
    ("DV", {}, 1.0), ("DV[mg/L]", {}, 1000.0), ("DV (ug/L)", {}, 1.0), ("DV", {"dv_unit": "mg/L"}, 1000.0),
])
def test_nonmem_dv_units_from_header_or_option(tmp_path, small, header, kw, factor):
    """DV in mg/L is 1000 x the model's ng/mL; simulated DV is written back in the file's unit."""
    from opiaxis.interop.nonmem import read_nonmem, simulate_dataset
    (tmp_path / "u.csv").write_text(f"ID,TIME,EVID,AMT,CMT,{header},MDV\n1,0,1,8,buprenorphine.sl,.,1\n"
                                    "1,2,2,.,.,.,1\n1,4,0,.,buprenorphine_plasma,0.002,0\n")
    d = read_nonmem(tmp_path / "u.csv", small, **kw)
    assert d.observations["DV"].iloc[0] == pytest.approx(0.002 * factor)
    sim = simulate_dataset(small, d)
    (tmp_path / "plain.csv").write_text((tmp_path / "u.csv").read_text().replace(header, "DV"))
    plain = simulate_dataset(small, read_nonmem(tmp_path / "plain.csv", small))
    assert sim["DV"].iloc[2] == pytest.approx(plain["DV"].iloc[2] / factor)
    assert sim["MDV"].iloc[1] == 1 and np.isnan(sim["DV"].iloc[1])   # the EVID 2 row is kept, not simulated


def test_nonmem_dv_unit_that_does_not_convert(tmp_path, small):
    from opiaxis.interop.nonmem import read_nonmem
    (tmp_path / "u.csv").write_text("ID,TIME,EVID,AMT,CMT,DV[kg],MDV\n1,0,1,8,buprenorphine.sl,.,1\n"
                                    "1,4,0,.,buprenorphine_plasma,2,0\n")
    with pytest.raises(OpiaxisInputError, match="'kg' cannot be converted to 'ng/mL'"):
        read_nonmem(tmp_path / "u.csv", small)


class _OneFails(SerialExecutor):
    """Patient 1's solve "fails": its values are garbage (an executor injected into run_study)."""

    def run(self, plan, model, todo):
        for n, chunk in super().run(plan, model, todo):
            chunk.patients.loc[chunk.patients["patient"] == 1, "solver_status"] = 1
            chunk.results.loc[chunk.results["patient"] == 1, "value"] = 1e9
            yield n, chunk


def test_failed_patients_are_left_out_of_endpoints_with_a_note(tmp_path, small):
    text = STUDY + "endpoints:\n  - {name: m, kind: mean, variable: morphine_plasma, at: 6 h, reference: bup}\n"
    res = _run(tmp_path, small, text, executor=_OneFails())
    assert res.failed == 1 and list(res.failed_patients) == [1]
    assert any("left out of the endpoints" in n for n in res.notes)
    assert res.endpoints.select_dtypes("number").abs().max().max() < 1e8   # the garbage did not reach them
    assert json.loads((tmp_path / "o" / "run.json").read_text())["solver_failures"]["patients"] == [1]


@pytest.mark.parametrize("edit, message", [
    (("methadone", "tau: {value: 100", "tau: {value: -5"), "tau must be > 0"),
    (("naloxone", "efficacy: {value: 0.0", "tau: {value: 3, unit: dimensionless, source: x}\n      efficacy: {value: 0.0"),
     "belongs to an agonist"),
])
def test_drug_library_tau_is_checked_and_named(tmp_path, edit, message):
    """The operational-model τ (issue 14) of a drug library: positive, for agonists only; the error
    names the file and the field."""
    from opiaxis.errors import OpiaxisInputError
    from pathlib import Path

    import opiaxis
    from opiaxis.physiology.drugs import load_drugs
    text = (Path(opiaxis.__file__).parent / "data" / "drugs.yaml").read_text(encoding="utf-8")
    drug, old, new = edit
    start = text.index(f"\n{drug}:")
    i = text.index(old, start)
    bad = tmp_path / "drugs.yaml"
    bad.write_text(text[:i] + new + text[i + len(old):], encoding="utf-8")
    with pytest.raises(OpiaxisInputError, match=message) as err:
        load_drugs(bad)
    assert "drugs.yaml" in str(err.value) and f"{drug}" in str(err.value) and "tau" in str(err.value)
