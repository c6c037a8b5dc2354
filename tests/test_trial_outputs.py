"""Behaviour-trial outputs checked against the simulation's own state (issue 20): every column of
patients.csv, daily.parquet and events.csv; induction recorded; overrides that keep variability;
treatments (fixed dose, titration, taper, detox) as data in the trial file."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from opiaxis.behaviour.params import PARAMS
from opiaxis.behaviour.trialfile import load_trial, run_trial, write_trial_outputs
from opiaxis.behaviour.treatments import default_treatments
from opiaxis.errors import OpiaxisInputError

TRIAL = """kind: behaviour-trial
name: all-kinds
seed: 8
days: 16
population: {size: 30, fentanyl_supply: 0.3}
behaviour: {naloxone_access: 0.6}
arms:
  - {name: xr, treatment: xrntx, inpatient_days: 16}
  - {name: bup, treatment: bupnx, inpatient_days: 4, behaviour: {dropout_rate: 0.01}}
  - name: bup-taper
    treatment: bupnx
    inpatient_days: 4
    medication: {dose: buprenorphine-naloxone 8/2 mg SL, taper: {from_day: 6, over: 4 d, every: 2 d}}
  - name: mmt-40
    treatment: methadone
    behaviour: {dropout_rate: {value: 0.01, fixed: true}}
    medication: {dose: methadone 40 mg oral, titration: {start: 20 mg, step: 5 mg, every: 2 d}}
  - {name: detox, treatment: detox, inpatient_days: 5, detox: {taper: {doses: [20, 10, 5]}}}
"""
PATIENT_COLUMNS = {"patient", "arm", "treatment", "relapsed", "relapse_day", "left_treatment", "left_treatment_day",
                   "dropout_day", "completed_treatment_day", "discharge_day", "days_with_use", "uses", "overdoses",
                   "died", "death_day", "inducted_day", "induction_failed", "days_on_medication", "adjunct_doses",
                   "mean_craving_vas", "release_day", "solver_failed"}


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    d = tmp_path_factory.mktemp("trial")
    (d / "t.yaml").write_text(TRIAL)
    spec = load_trial(d / "t.yaml")
    res = run_trial(spec)
    paths = write_trial_outputs(spec, res, d / "out")
    return spec, res, {p.name: p for p in paths}


def _first_day(ev, kind):
    g = ev[ev["event"] == kind].groupby("patient")["day"].min()
    return g


def test_patients_csv_columns_match_simulation(trial):
    spec, res, paths = trial
    sim, rec = res.sim, res.record
    pats = pd.read_csv(paths["patients.csv"])
    ev = pd.read_csv(paths["events.csv"])
    assert set(pats.columns) == PATIENT_COLUMNS
    ids = sim.c.ids
    assert list(pats["patient"]) == list(ids)
    assert list(pats["arm"]) == [spec.arms[a].name for a in res.arm]
    assert list(pats["treatment"]) == [spec.arms[a].treatment for a in res.arm]
    # induction: the simulation's own arrays, and the event history agrees
    np.testing.assert_array_equal(pats["inducted_day"].fillna(-1).astype(int), sim.inducted)
    np.testing.assert_array_equal(pats["induction_failed"], sim.ind_failed)
    ind = _first_day(ev, "induction")
    assert {int(p): int(d) for p, d in ind.items()} == {int(p): int(d) for p, d in zip(ids, sim.inducted) if d >= 0}
    assert set(ev.loc[ev["event"] == "induction_failed", "patient"]) == set(ids[sim.ind_failed])
    # inductions happened in the XR-NTX and BUP-NX arms (they were always empty before issue 20)
    arm = pats["arm"]
    assert pats.loc[arm == "xr", "inducted_day"].notna().any() and pats.loc[arm == "bup", "inducted_day"].notna().any()
    assert pats.loc[arm == "detox", "inducted_day"].isna().all()
    # counts against the record and the event history
    counts = ev.groupby(["patient", "event"]).size().unstack(fill_value=0).reindex(ids, fill_value=0)
    np.testing.assert_array_equal(pats["uses"], rec.uses.sum(axis=1))
    np.testing.assert_array_equal(pats["uses"], counts.get("use", 0))
    np.testing.assert_array_equal(pats["overdoses"], counts.get("overdose", 0))
    np.testing.assert_array_equal(pats["days_with_use"], (rec.uses > 0).sum(axis=1))
    np.testing.assert_array_equal(pats["days_on_medication"], rec.on_med.sum(axis=1))
    dose_days = ev[ev["event"] == "dose"].groupby("patient")["day"].nunique().reindex(ids, fill_value=0)
    np.testing.assert_array_equal(pats["days_on_medication"], dose_days)
    np.testing.assert_array_equal(pats["died"], ~sim.alive)
    np.testing.assert_array_equal(pats["died"], counts.get("death", 0) > 0)
    np.testing.assert_array_equal(pats["death_day"].fillna(-1), rec.dead_day)
    for col, kind in (("dropout_day", "dropout"), ("completed_treatment_day", "taper_completed"),
                      ("discharge_day", "discharge")):
        got = pats[col].fillna(-1).to_numpy()
        want = _first_day(ev, kind).reindex(ids).fillna(-1).to_numpy()
        np.testing.assert_array_equal(got, want, err_msg=col)
    # leaving treatment: the first day out of treatment, the day of the event that ended it
    ended = ev[ev["event"].isin(["dropout", "taper_completed", "induction_failed", "death"])
               | ((ev["event"] == "discharge") & pats.set_index("patient").loc[ev["patient"], "treatment"].eq("detox").to_numpy())]
    first_end = ended.groupby("patient")["day"].min().reindex(ids)
    left = pats["left_treatment"].to_numpy()
    np.testing.assert_array_equal(left, first_end.notna().to_numpy() & (pats["treatment"] != "none").to_numpy())
    np.testing.assert_array_equal(pats.loc[left, "left_treatment_day"], first_end[left])
    assert pats["completed_treatment_day"].notna().any()           # the short taper ends within 16 days
    # relapse: the first 7-day run of use after the inpatient stay, counted at its end
    for _, p in pats[pats["relapsed"]].iterrows():
        i = int(np.nonzero(ids == p["patient"])[0][0])
        d = int(p["relapse_day"])
        assert (rec.uses[i, d - 7:d] > 0).all() and d - 7 >= spec.arms[res.arm[i]].inpatient_days
    np.testing.assert_allclose(pats["mean_craving_vas"], 100 * rec.craving.mean(axis=1))
    np.testing.assert_array_equal(pats["adjunct_doses"], rec.adjunct_given)


def test_daily_and_events_files(trial):
    spec, res, paths = trial
    rec, sim = res.record, res.sim
    daily = pd.read_parquet(paths["daily.parquet"])
    n, d = rec.uses.shape
    assert len(daily) == n * d
    for col, arr in (("uses", rec.uses), ("overdoses", rec.od), ("in_treatment", rec.in_tx),
                     ("on_medication", rec.on_med), ("craving_vas", 100 * rec.craving),
                     ("use_expectancy", rec.expectancy), ("oxytocin_tone", rec.oxytocin)):
        np.testing.assert_allclose(daily[col].to_numpy(float).reshape(n, d), arr.astype(float), err_msg=col)
    ev = pd.read_csv(paths["events.csv"])
    pd.testing.assert_frame_equal(ev, pd.read_csv(paths["events.csv"]))
    assert list(ev.columns) == ["patient", "day", "time_h", "event", "detail", "amount_mg", "ventilation_nadir",
                                "tolerance", "p_overdose", "in_treatment"]
    uses = ev[ev["event"] == "use"]
    # every use carries its dose, ventilation nadir and overdose probability (the former use_log)
    assert uses[["amount_mg", "ventilation_nadir", "p_overdose"]].notna().all().all()
    np.testing.assert_allclose(np.sort(uses["p_overdose"]), np.sort([u[4] for u in sim.use_log]))
    assert (ev.groupby("patient")["time_h"].apply(lambda t: t.is_monotonic_increasing)).all()
    assert set(ev["event"]) <= {"treatment_start", "dose", "use", "overdose", "rescue", "death", "induction",
                                "induction_failed", "discharge", "dropout", "taper_completed", "reentry"}
    # events decided at the end of an interval or day (discharge, dropout, other-cause death) carry its end
    assert ((ev["day"] * 24 <= ev["time_h"]) & (ev["time_h"] <= (ev["day"] + 1) * 24)).all()


def test_doses_follow_the_treatment_data(trial):
    """Titration, fixed dose, taper and detox taper: the doses given are the trial file's."""
    spec, res, paths = trial
    ev = pd.read_csv(paths["events.csv"])
    arm_of = dict(zip(res.sim.c.ids, [spec.arms[a].name for a in res.arm]))
    doses = ev[ev["event"] == "dose"].assign(arm=lambda e: e["patient"].map(arm_of))
    mmt = doses[doses["arm"] == "mmt-40"]
    assert set(mmt["detail"]) == {"methadone.oral"}
    # titration 20 mg + 5 mg every 2 days to 40 mg, treatment day = trial day here (no re-entry)
    np.testing.assert_array_equal(mmt["amount_mg"], np.minimum(20 + 5 * (mmt["day"] // 2), 40))
    tap = doses[(doses["arm"] == "bup-taper") & (doses["detail"] == "buprenorphine.sl")]
    assert len(mmt) and len(tap) and (tap["day"] >= 7).any()
    expect = np.where(tap["day"] < 7, 8.0, 4.0)     # 8 mg to day 6 (0-based 5, 6 of the taper: full dose), then 4
    np.testing.assert_array_equal(tap["amount_mg"], expect)
    assert (tap["day"] < 9).all()                              # from day 6 over 4 days: days 5–8
    nlx = doses[(doses["arm"] == "bup-taper") & (doses["detail"] == "naloxone.sl")]
    np.testing.assert_array_equal(nlx["amount_mg"], tap["amount_mg"] / 4)
    det = doses[doses["arm"] == "detox"]
    assert len(det)
    np.testing.assert_array_equal(det["amount_mg"], np.array([20.0, 10.0, 5.0])[det["day"]])
    xr = doses[doses["arm"] == "xr"]
    assert set(xr.loc[xr["detail"] == "buprenorphine.sl", "amount_mg"]) <= {8.0, 4.0, 2.0}
    assert (xr.loc[xr["detail"] == "naltrexone.xr_im", "amount_mg"] == 380.0).all()


def test_overrides_keep_variability_unless_fixed(trial):
    spec, res, _ = trial
    c, arm = res.sim.c, res.arm
    names = [a.name for a in spec.arms]
    eta = c.eta["dropout_rate"]
    assert PARAMS["dropout_rate"].cv > 0
    bup, mmt, xr = arm == names.index("bup"), arm == names.index("mmt-40"), arm == names.index("xr")
    np.testing.assert_allclose(c.B["dropout_rate"][bup], 0.01 * eta[bup])         # typical value, own spread
    assert np.std(np.log(c.B["dropout_rate"][bup])) > 0.2
    np.testing.assert_array_equal(c.B["dropout_rate"][mmt], 0.01)                   # fixed: no spread
    np.testing.assert_allclose(c.B["dropout_rate"][xr], PARAMS["dropout_rate"].value * eta[xr])
    np.testing.assert_allclose(c.B["naloxone_access"], 0.6)                         # trial-wide; CV 0


def test_dose_below_default_titration_start_is_fixed(tmp_path):
    p = tmp_path / "f.yaml"
    p.write_text("kind: behaviour-trial\nname: f\narms:\n  - {name: a, treatment: methadone, medication: "
                 "{dose: methadone 20 mg oral}}\n")
    med = load_trial(p).arms[0].regimen.medication
    assert med.titration is None and [med.dose_on(d) for d in range(5)] == [20.0] * 5


def test_default_treatments_are_the_previous_engine_literals():
    t = default_treatments()
    m = t["methadone"].medication
    assert [m.dose_on(d) for d in (0, 2, 3, 6, 14, 15, 100)] == [30, 30, 40, 50, 70, 80, 80]
    assert t["bupnx"].medication.rows(t["bupnx"].medication.dose_on(0)) == [("buprenorphine.sl", 16.0),
                                                                            ("naloxone.sl", 4.0)]
    x = t["xrntx"]
    assert x.medication.rows(x.medication.dose) == [("naltrexone.xr_im", 380.0)] and x.medication.every_h == 672
    assert x.detox.taper.doses == (8, 4, 2) and x.detox.components[0][0] == "buprenorphine.sl"
    assert t["detox"].detox.taper.doses == (30, 30, 25, 25, 20, 15, 15, 10, 5, 5)
    assert t["cncp"].medication.clock_times == (8.0, 20.0) and t["cncp"].medication.dose == 20.0
    assert t["none"].medication is None and t["no_replacement"].medication is None


@pytest.mark.parametrize("arm, line, field, words", [
    ("{name: a, treatment: methadone, medication: {dose: methadone 50 mg oral q24h for 3 d}}", 6,
     "arms[0].medication.dose", "one administration"),
    ("{name: a, treatment: methadone, medication: {dose: methadon 50 mg oral}}", 6, "arms[0].medication.dose",
     "did you mean 'methadone'"),
    ("{name: a, treatment: methadone, medication: {titration: {start: 30 mg, step: 10}}}", 6,
     "arms[0].medication.titration.every", "missing 'every'"),
    ("{name: a, treatment: methadone, medication: {titration: {start: 30 mg, step: 10, every: 3 d}}}", 6,
     "arms[0].medication.titration.step", "not a quantity"),
    ("{name: a, treatment: methadone, medication: {dose: methadone 20 mg oral, titration: {start: 30 mg, step: 5 mg,"
     " every: 1 d}}}", 6, "arms[0].medication.titration", "above the target dose"),
    ("{name: a, treatment: bupnx, inpatient_days: 4, medication: {taper: {from_day: 0, over: 4 weeks}}}", 6,
     "arms[0].medication.taper.from_day", "≥ 1"),
    ("{name: a, treatment: bupnx, inpatient_days: 4, medication: {taper: {over: 4 weeks, every: 3 weeks}}}", 6,
     "arms[0].medication.taper.every", "divides"),
    ("{name: a, treatment: bupnx, inpatient_days: 4, medication: {taper: {over: 4 weeks, doses: [4]}}}", 6,
     "arms[0].medication.taper", "either 'doses'"),
    ("{name: a, treatment: bupnx, inpatient_days: 4, medication: {tapr: {over: 4 weeks}}}", 6, "arms[0].medication.tapr",
     "did you mean 'taper'"),
    ("{name: a, treatment: none, medication: {dose: methadone 20 mg oral}}", 6, "arms[0].medication",
     "gives no maintenance medication"),
    ("{name: a, treatment: methadone, medication: {every: 7 h}}", 6, "arms[0].medication.every", "divides the day"),
    ("{name: a, treatment: detox, inpatient_days: 5, detox: {taper: {doses: [30, -5]}}}", 6, "arms[0].detox.taper.doses", "≥ 0"),
    ("{name: a, treatment: methadone, behaviour: {dropout_rate: {value: 0.01, fixed: yes please}}}", 6,
     "arms[0].behaviour.dropout_rate.fixed", "true or false"),
    ("{name: a, treatment: methadone, behaviour: {dropout_rate: {valu: 0.01}}}", 6,
     "arms[0].behaviour.dropout_rate.valu", "did you mean 'value'"),
    # a bupnx arm without inpatient_days is an outpatient induction since issue 14 (no error);
    # forced abstinence is released only to none / no_replacement / methadone
    ("{name: a, treatment: bupnx, forced_abstinence_days: 3}", 6, "arms[0].forced_abstinence_days",
     "forced abstinence is followed by release"),
    ("{name: a, treatment: detox, inpatient_days: 0}", 6, "arms[0].inpatient_days", "needs inpatient_days > 0"),
    ("{name: a, treatment: methadone, behaviour: {dropout_rate: {value: -1}}}", 6,
     "arms[0].behaviour.dropout_rate.value", "out of range"),
])
def test_treatment_and_override_errors_are_located(tmp_path, arm, line, field, words):
    text = ("kind: behaviour-trial\nname: e\nseed: 1\ndays: 5\narms:\n  - " + arm + "\n")
    p = tmp_path / "e.yaml"
    p.write_text(text)
    with pytest.raises(OpiaxisInputError) as e:
        load_trial(p)
    assert e.value.file == str(p) and e.value.line == line and e.value.field == field, (str(e.value), e.value.field)
    assert words in str(e.value), str(e.value)


@pytest.mark.parametrize("name", ["methadone_dose_response.yaml", "buprenorphine_taper.yaml"])
def test_treatment_examples_load(name):
    spec = load_trial(Path(__file__).resolve().parents[1] / "examples" / name)
    assert len({a.regimen for a in spec.arms}) == len(spec.arms)     # the arms differ in their treatment data


def test_summary_json_and_report_match_patients(trial):
    import json
    spec, res, paths = trial
    pats = pd.read_csv(paths["patients.csv"])
    summary = json.loads(paths["summary.json"].read_text())
    assert summary["seed"] == spec.seed and summary["days"] == spec.days
    daily = pd.read_parquet(paths["daily.parquet"])
    for a in spec.arms:
        s, p = summary["arms"][a.name], pats[pats["arm"] == a.name]
        assert s["n"] == len(p) and s["treatment"] == a.treatment
        assert s["overdoses"] == p["overdoses"].sum() and s["deaths"] == p["died"].sum()
        assert f"({p['relapsed'].sum()}/{len(p)};" in s["relapsed"]
        last = daily[(daily["arm"] == a.name) & (daily["day"] == spec.days - 1)]
        if a.treatment != "none":
            assert f"({last['in_treatment'].sum()}/{len(p)};" in s["in treatment at end"]
        assert s["mean craving (VAS)"] == pytest.approx(p["mean_craving_vas"].mean(), abs=0.051)
    html = paths["report.html"].read_text()
    assert all(a.regimen.describe() in html for a in spec.arms)
    assert "dropout_rate = 0.01 (fixed)" in html and "dropout_rate = 0.01<" in html
