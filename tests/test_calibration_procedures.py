"""Calibration procedures (opiaxis.calibrate.procedures), the calibrate command, the record and
cross-validation (opiaxis.calibrate.crossval)."""

import dataclasses
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from opiaxis.calibrate import crossval
from opiaxis.calibrate import procedures as cp
from opiaxis.cli import app
from opiaxis.errors import OpiaxisInputError
from opiaxis.models import default_model

TRUE_IMAX = 0.37   # the value the synthetic objective is built around


def small_model():
    from opiaxis.validate.targets_gut import gut_model
    return gut_model()


def synthetic(inp, quantities):
    """A smooth stand-in for a simulation: reads the injected parameter from the model it is given."""
    imax = inp.model.parameter("gut_mor_imax").value
    return {"a": 10 * imax ** 2, "b": 5 * imax}


def synthetic_procedure(optimiser="least_squares", **kw):
    targets = (cp.TargetUse(quantity="a", target="gut.oic.cncp", reference="synthetic", published=10 * TRUE_IMAX ** 2,
                            low=10 * TRUE_IMAX ** 2 - 0.2, high=10 * TRUE_IMAX ** 2 + 0.2),
               cp.TargetUse(quantity="b", target="gut.oic.cancer", reference="synthetic", published=5 * TRUE_IMAX,
                            low=5 * TRUE_IMAX - 0.3, high=5 * TRUE_IMAX + 0.3))
    spec = dict(name="synthetic", summary="test", targets=targets, simulate=synthetic, optimiser=optimiser,
                cost="instant", model=small_model,
                free=(cp.FreeParameter(name="gut_mor_imax", lower=0.2, upper=0.7, prior=0.45),),
                grid={"gut_mor_imax": (0.3, 0.35, 0.4, 0.45)})
    spec.update(kw)
    return cp.Procedure(**spec)


# ---------------------------------------------------------------------------------------------
def test_registry_is_consistent():
    """Every free parameter exists (model or behaviour layer), its current value or spread lies
    inside its bounds (and the grid inside the bounds), and every target id is in the registry."""
    m = default_model()
    for proc in cp.procedures().values():
        model = proc.model() if proc.model else m
        assert cp.check_procedure(proc, model) == [], proc.name
        assert proc.targets and proc.free and proc.cost, proc.name
    registry = cp.registered_targets()
    ported = {t.target for p in cp.procedures().values() for t in p.targets if t.target}
    assert {"occ.bup.greenwald2003", "occ.ntx.oral", "gut.oic.cncp", "gut.oic.cancer", "mmt.retention",
            "pain.cncp.oud", "xbot.relapse24w", "mortality.ost"} <= ported
    for tid in ported:   # the scorecard says these targets were calibrated to
        assert registry[tid].calibration, tid


def test_check_finds_bad_declarations():
    m = small_model()
    bad = synthetic_procedure(free=(cp.FreeParameter(name="no_such_parameter", lower=0, upper=1),
                                    cp.FreeParameter(name="gut_mor_imax", lower=0.2, upper=0.3)),
                              targets=(dataclasses.replace(synthetic_procedure().targets[0], target="no.such.target"),))
    problems = "\n".join(cp.check_procedure(bad, m))
    assert "needs 0 < step < 1" in "\n".join(cp.check_procedure(synthetic_procedure("linear", step=0.0), m))
    assert "no_such_parameter: no model parameter" in problems
    assert f"current value {m.parameter('gut_mor_imax').value:g} outside the bounds [0.2, 0.3]" in problems
    assert "'no.such.target' is not in the validation registry" in problems


@pytest.mark.parametrize("optimiser", ["least_squares", "minimize_scalar"])
def test_optimisers_recover_a_known_value(optimiser):
    fit = cp.run_procedure(synthetic_procedure(optimiser))
    assert fit.new["gut_mor_imax"] == pytest.approx(TRUE_IMAX, abs=2e-3)
    assert fit.objective < 1e-4 and fit.old["gut_mor_imax"] == small_model().parameter("gut_mor_imax").value
    assert small_model().parameter("gut_mor_imax").value == 0.79   # its declared value: injected into a copy, never the model


def test_linear_optimiser_solves_a_linear_objective_in_three_runs_and_iterates_on_a_curved_one():
    """The linear optimiser: a start run, one finite-difference run per parameter, then a check run;
    on an exactly linear quantity (b = 5·imax) the first check agrees and the fit ends there. On a
    curved one (a = 10·imax², from imax 0.79) the checks repeat with the same slope until they agree."""
    linear = synthetic_procedure("linear", targets=synthetic_procedure().targets[1:])
    fit = cp.run_procedure(linear)
    assert fit.new["gut_mor_imax"] == pytest.approx(TRUE_IMAX, rel=1e-6) and fit.evaluations == 3
    fit = cp.run_procedure(synthetic_procedure("linear", checks=12))
    assert fit.new["gut_mor_imax"] == pytest.approx(TRUE_IMAX, abs=2e-3) and 4 <= fit.evaluations < 14


HOURS = cp.HOURS_PER_YEAR


def synthetic_rates(background, use, f_on=0.28, f_off=0.75):
    """Non-overdose death rates per 1000 PY on/off treatment of a background hazard plus an extra hazard
    on days of use (1/h), with use on f_on/f_off of the days: the structure of mortality.ost's cohort."""
    return np.array([1000 * HOURS * (background + use * f) for f in (f_on, f_off)])


def test_linear_surrogate_recovers_hazards_and_respects_the_floor():
    """On exactly linear rates the surrogate fit recovers the hazards that made them; where the
    published rates would need a background hazard below its floor (the general population's), it
    stays at the floor and splits the misfit between the two rates (on too high, off too low, at the
    least-squares optimum of the extra hazard on days of use)."""
    used = tuple(cp.sordo_rate_target(q, "synthetic") for q in ("nonod_on", "nonod_off"))
    x0 = np.array([9.9e-7, 3.0e-6])
    slopes = np.column_stack([synthetic_rates(1.0, 0.0), synthetic_rates(0.0, 1.0)])
    lower, upper = np.array([cp.GENERAL_POPULATION_DEATH_RATE, 0.0]), np.array([1e-5, 1e-4])
    truth = np.array([4e-7, 2.5e-6])
    published = synthetic_rates(*truth)
    used_true = tuple(dataclasses.replace(t, published=v, low=v / 1.2, high=v * 1.2) for t, v in zip(used, published))
    x = cp.linear_surrogate_fit(used_true, synthetic_rates(*x0), slopes, x0, lower, upper, 0.1 * x0)
    assert x == pytest.approx(truth, rel=1e-6)
    # Sordo's 8.7 on / 23.4 off with use on 28% / 75% of days: the unconstrained background is below the floor
    x = cp.linear_surrogate_fit(used, synthetic_rates(*x0), slopes, x0, lower, upper, 0.1 * x0)
    assert x[0] == pytest.approx(cp.GENERAL_POPULATION_DEATH_RATE)
    def j(use):
        return sum(t.residual(v) ** 2 for t, v in zip(used, synthetic_rates(x[0], use)))
    r = [t.residual(v) for t, v in zip(used, synthetic_rates(*x))]
    assert r[0] > 0 > r[1] and j(x[1]) < min(j(0.99 * x[1]), j(1.01 * x[1]))


def test_grid_picks_the_best_point_and_a_prior_when_nothing_is_left():
    fit = cp.run_procedure(synthetic_procedure("grid"))
    assert fit.new == {"gut_mor_imax": 0.35} and fit.evaluations == 4   # the best point is not simulated twice
    left = cp.run_procedure(synthetic_procedure("grid"), leave_out=("gut.oic.cncp", "gut.oic.cancer"))
    assert left.prior_only and left.new == {"gut_mor_imax": 0.45}


def test_spreads_are_injected():
    m = default_model()
    spread, imax = m.parameter("mood_trait_offset").variability.spread, m.parameter("gut_mor_imax").value
    m2 = cp.with_parameters(m, spreads={"mood_trait_offset": 0.07}, values={"gut_mor_imax": 0.5})
    assert m2.parameter("mood_trait_offset").variability.spread == 0.07 and m2.parameter("gut_mor_imax").value == 0.5
    # the original is untouched
    assert m.parameter("mood_trait_offset").variability.spread == spread and m.parameter("gut_mor_imax").value == imax
    assert m2.fingerprint() == m.fingerprint()   # the compiled code is shared
    with pytest.raises(OpiaxisInputError, match="unknown model parameter 'nope'"):
        cp.with_parameters(m, values={"nope": 1.0})


def test_naltrexone_reproduces_the_recorded_value_and_write_appends_an_entry(tmp_path):
    """The fast occupancy procedure, run from the command line, lands within 5% of the recorded
    constant; --write appends a well-formed entry to a copy of the record, keeping what was there."""
    record = tmp_path / "calibration.yaml"
    record.write_text(cp.record_path().read_text(encoding="utf-8"), encoding="utf-8")
    before = cp.read_record(record)
    res = CliRunner().invoke(app, ["calibrate", "occupancy.naltrexone", "--write", "--record", str(record)])
    assert res.exit_code == 0, res.output
    after = cp.read_record(record)
    assert after[:len(before)] == before and len(after) == len(before) + 1
    entry = after[-1]
    recorded = [e for e in before if e["parameter"] == "naltrexone_mor_enteric_K"][-1]["new"]
    assert entry["parameter"] == "naltrexone_mor_enteric_K" and entry["what"] == "value"
    assert entry["old"] == pytest.approx(default_model().parameter("naltrexone_mor_enteric_K").value)
    assert entry["new"] == pytest.approx(recorded, rel=0.05)
    assert entry["procedure"].startswith("opiaxis calibrate occupancy.naltrexone")
    assert len(entry["targets"]) == 4 and all(t.startswith("occ.ntx.oral:") for t in entry["targets"])
    assert "J = " in entry["objective"] and "edit needed: set naltrexone_mor_enteric_K" in res.output


def test_cross_validation_resumes_and_reruns_a_changed_procedure(tmp_path):
    proc = synthetic_procedure("minimize_scalar")
    first = crossval.cross_validate([proc], tmp_path)
    assert first.ran == 3 and first.reused == 0   # in-sample + one fold per target
    left = {r.left_out: r for r in first.results}
    assert set(left) == {"", "gut.oic.cncp", "gut.oic.cancer"}
    # the synthetic numbers are consistent, so each left-out number is predicted by the other
    assert all(s["inside"] for r in first.results for s in r.scores)
    assert [s["quantity"] for s in left["gut.oic.cncp"].scores] == ["a"]
    assert len(list(tmp_path.glob("synthetic--*.json"))) == 3
    again = crossval.cross_validate([proc], tmp_path)
    assert again.ran == 0 and again.reused == 3
    assert crossval.markdown(again) == crossval.markdown(first)
    assert "| gut.oic.cncp | yes (1 of 1) | yes (1 of 1) |" in crossval.markdown(first)   # the per-target table
    changed = dataclasses.replace(proc, free=(dataclasses.replace(proc.free[0], upper=0.69),))
    assert crossval.cross_validate([changed], tmp_path).ran == 3
    # a torn fold file is run again, not trusted
    path = crossval.fold_file(tmp_path, changed, "gut.oic.cncp")
    path.write_text("{not json", encoding="utf-8")
    assert crossval.cross_validate([changed], tmp_path).ran == 1
    assert json.loads(path.read_text(encoding="utf-8"))["left_out"] == "gut.oic.cncp"


def test_single_target_fold_is_scored_at_the_prior(tmp_path):
    proc = synthetic_procedure("minimize_scalar", targets=synthetic_procedure().targets[:1])
    cv = crossval.cross_validate([proc], tmp_path)
    fold = [r for r in cv.results if r.left_out][0]
    assert fold.prior_only and fold.values == {"gut_mor_imax": 0.45}
    assert fold.scores[0]["simulated"] == pytest.approx(10 * 0.45 ** 2)
    assert "prior (nothing left to fit)" in crossval.markdown(cv)


def test_unknown_procedure_is_a_clear_error(tmp_path):
    with pytest.raises(OpiaxisInputError, match="unknown calibration procedure 'nope'; known: .*occupancy.naltrexone"):
        cp.get_procedure("nope")
    res = CliRunner().invoke(app, ["calibrate", "nope"])
    assert res.exit_code == 2 and "unknown calibration procedure" in res.output and "gut.mor_imax" in res.output
    res = CliRunner().invoke(app, ["validate", "--cross-validate", "--procedure", "nope", "--out", str(tmp_path / "cv")])
    assert res.exit_code == 2 and "known:" in res.output and not (tmp_path / "cv").exists()


def test_bad_record_names_file_and_entry(tmp_path):
    bad = tmp_path / "calibration.yaml"
    bad.write_text("- parameter: gut_mor_imax\n  what: value\n  old: 0.4\n", encoding="utf-8")
    with pytest.raises(OpiaxisInputError, match="entry 1 \\(gut_mor_imax\\) lacks new, targets, objective") as e:
        cp.read_record(bad)
    assert e.value.file == str(bad) and e.value.line == 1


def test_list_and_dry_run_simulate_nothing():
    res = CliRunner().invoke(app, ["calibrate", "--list"])
    assert res.exit_code == 0 and "behaviour.xbot" in res.output and "mood.spread" in res.output
    res = CliRunner().invoke(app, ["calibrate", "gut.mor_imax", "--dry-run"])
    assert res.exit_code == 0 and "dry run: nothing simulated" in res.output and "gut.oic.cancer" in res.output


def test_cross_validation_on_dask_matches_serial(tmp_path):
    distributed = pytest.importorskip("distributed")
    proc = synthetic_procedure("minimize_scalar")
    serial = crossval.cross_validate([proc], tmp_path / "serial")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
        on_dask = crossval.cross_validate([proc], tmp_path / "dask", client=client)
    assert on_dask.ran == 3 and crossval.markdown(on_dask) == crossval.markdown(serial)


def test_set_holds_another_parameter_and_is_recorded(tmp_path):
    """--set injects another parameter's typical value (an earlier block's fit); a bad --set is
    a clear error before anything runs."""
    def reads_both(inp, quantities):
        assert inp.overrides["gut_mor_imax"] == inp.values["gut_mor_imax"]
        assert inp.behaviour == {"xrntx_attendance": 0.5}
        return synthetic(inp, quantities)
    fit = cp.run_procedure(synthetic_procedure("minimize_scalar", simulate=reads_both), fixed={"xrntx_attendance": 0.5})
    assert fit.fixed == {"xrntx_attendance": 0.5}
    proc = synthetic_procedure()
    entry = cp.record_entries(proc, fit, "2026-11-29")[0]
    assert "with xrntx_attendance = 0.5" in entry["objective"] and entry["new"] == pytest.approx(TRUE_IMAX, abs=2e-3)
    with pytest.raises(OpiaxisInputError, match="no model or behaviour parameter 'nope'"):
        cp.run_procedure(synthetic_procedure("minimize_scalar"), fixed={"nope": 1.0})
    res = CliRunner().invoke(app, ["calibrate", "gut.mor_imax", "--set", "gut_mor_imax"])
    assert res.exit_code == 2 and "expected name=value" in res.output


def test_behaviour_trials_take_injected_parameters():
    """The behaviour procedures' trials receive parameters as arguments (no patched globals): a
    behaviour value reaches every patient (with their own deviation), an ODE override reaches the
    parameter matrix, the run-in cache is keyed by both, and the default cohort is untouched."""
    import numpy as np
    from opiaxis.behaviour import trials
    from opiaxis.behaviour.params import PARAMS
    plain = trials.oud_cohort(4, 11)
    injected = trials.oud_cohort(4, 11, overrides={"craving_satiety_agonism": 0.9},
                                 behaviour={"xrntx_attendance": 0.5, "cncp_extra_dose_rate": 0.01})
    j = plain.model.param_index["craving_satiety_agonism"]
    assert np.allclose(injected.P[:, j] / plain.P[:, j], 0.9 / plain.model.parameter("craving_satiety_agonism").value)
    assert np.allclose(injected.B["xrntx_attendance"], 0.5)          # CV 0: everyone gets the value
    assert np.allclose(injected.B["cncp_extra_dose_rate"] / plain.B["cncp_extra_dose_rate"],
                       0.01 / PARAMS["cncp_extra_dose_rate"].value)   # each keeps their own deviation
    again = trials.oud_cohort(4, 11)
    assert np.array_equal(again.P, plain.P) and np.array_equal(again.X, plain.X)
    assert PARAMS["xrntx_attendance"].value == 0.79


def test_an_intervention_parameter_is_calibrated_as_its_candidates_setting():
    """antidepressant_effect is 0 (no drug) in the model: the procedure reads and reports the SSRI
    candidate's setting in data/candidates.yaml, and says to edit it there."""
    proc = cp.get_procedure("mood.antidepressant")
    m = default_model()
    (fp,) = proc.free
    assert m.parameter("antidepressant_effect").value == 0.0
    v = cp.current_value(m, fp)
    assert v == cp.candidate_setting(cp.SSRI_CANDIDATE, "antidepressant_effect") and v > 0
    fit = cp.Fit(procedure=proc.name, old={fp.name: v}, new={fp.name: 0.05}, objective=0.0,
                 used=("ssri_placebo_madrs_difference",), simulated={"ssri_placebo_madrs_difference": 3.0},
                 evaluations=1)
    assert "data/candidates.yaml" in cp.edit_needed(proc, fit, m)[0]
    (entry,) = cp.record_entries(proc, fit, "2026-11-30")
    assert entry["candidate"] == cp.SSRI_CANDIDATE
    assert "candidate" not in proc.describe()["free"][0] or proc.describe()["free"][0]["candidate"]
    assert all("candidate" not in f for p in cp.procedures().values() if p.name != proc.name
               for f in p.describe()["free"])   # other procedures' descriptions (cross-validation keys) unchanged
    with pytest.raises(OpiaxisInputError):
        cp.candidate_setting("no such candidate", "antidepressant_effect")
