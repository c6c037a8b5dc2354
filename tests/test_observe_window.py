"""Read-outs that recall a window (BFI: 7-day recall; SBM/week: the week's count): the windowed
value is the latent's mean over [t − window, t], one definition for observe(), synthetic records
and the fit; a bad window is an input error naming file, line and field."""

import copy

import numpy as np
import pandas as pd
import pytest

from opiaxis.calibrate.fit import Problem, read_patients, resolve_readout, synthetic_table
from opiaxis.engine import simulate
from opiaxis.errors import OpiaxisInputError
from opiaxis.observe import load_readouts, observe
from opiaxis.observe.assays import Noise
from opiaxis.observe.window import sampling, window_nodes

WEEK = 168.0


def write_defs(tmp_path, text):
    p = tmp_path / "readouts.yaml"
    p.write_text("readouts:\n  " + text + "\n")
    return p


def tidy(columns: dict, times, patient=1):
    """A results table of one patient: {variable: (values over times, unit)}."""
    return pd.concat([pd.DataFrame({"patient": patient, "time": np.asarray(times, float), "variable": v,
                                    "value": np.asarray(x, float), "unit": u}) for v, (x, u) in columns.items()],
                     ignore_index=True)


# ---------------------------------------------------------------------------------------------- the window mean

def test_constant_rate_counts_rate_times_week_and_a_step_counts_its_fraction():
    t = np.arange(0.0, 2 * WEEK + 1)
    s = sampling([WEEK + 100.0], WEEK, 0.0)
    grid = s.nodes
    assert s.apply(np.full(len(grid), 3.0)) == pytest.approx([3.0])
    # a rate of 7/week until 3 days before the visit, then 1/week: the week's mean is (4·7 + 3·1)/7
    step = np.where(grid < WEEK + 100.0 - 72.0, 7.0, 1.0)
    exact = (4 * 7 + 3 * 1) / 7
    assert s.apply(step)[0] == pytest.approx(exact, abs=0.5 / WEEK * 6)   # one 1-h trapezoid panel straddles it
    # a running integral gives it exactly, even between nodes
    cum = np.cumsum(np.r_[0.0, np.where(t[1:] <= WEEK + 100.0 - 72.0, 7.0, 1.0) / WEEK])
    e = sampling([WEEK + 100.0], WEEK, 0.0, nodes=t, exact=True)
    assert e.apply(np.zeros(len(t)), cum)[0] * WEEK == pytest.approx(exact, rel=1e-12)


def test_window_before_the_start_is_clipped_and_at_the_start_is_the_instant():
    s = sampling([0.0, 24.0], WEEK, 0.0)
    x = 1.0 + s.nodes          # a ramp: mean over [0, 24] is 13, at t = 0 the value is 1
    assert s.apply(x) == pytest.approx([1.0, 13.0])
    assert window_nodes([24.0], WEEK, 0.0, exact=True).tolist() == [0.0, 24.0]
    e = sampling([0.0, 24.0], WEEK, 0.0, exact=True)
    cum = np.array([0.0, 48.0])
    assert e.apply(np.array([5.0, 9.0]), cum) == pytest.approx([5.0, 2.0])


def test_observe_reads_the_week_from_the_table_not_the_visit_instant(tmp_path):
    """A noise-free windowed read-out on a table: a rate of 14/week for a day, 0 at the visit."""
    t = np.arange(0.0, 8 * 24 + 1)
    rate = np.where((t >= 30) & (t <= 54), 14.0, 0.0)
    week = np.trapezoid(rate[24:], t[24:]) / WEEK          # 25 h at 14/week (the interpolant's ramps)
    cum = np.r_[0.0, np.cumsum(0.5 * (rate[1:] + rate[:-1]) / WEEK)]
    p = write_defs(tmp_path, "mean_rate: {variable: {variable: sbm_event_rate, integral: sbm_expected_count}, "
                             "unit: 1/week, window: 1 week}\n"
                             "  trap_rate: {variable: sbm_event_rate, unit: 1/week, window: 1 week}\n"
                             "  now_rate: {variable: sbm_event_rate, unit: 1/week}")
    tab = tidy({"sbm_event_rate": (rate, "1/week"), "sbm_expected_count": (cum, "dimensionless")}, t)
    obs = observe(tab, ["mean_rate", "trap_rate", "now_rate"], seed=1, definitions=p, visits=[192.0])
    v = obs.set_index("measurement")["value"]
    assert v["now_rate"] == 0.0
    assert week == pytest.approx(14.0 * 25 / WEEK)
    assert v["mean_rate"] == pytest.approx(week, rel=1e-9)
    assert v["trap_rate"] == pytest.approx(week, rel=1e-9)
    # the window reaches before the table's start: a visit at 48 h averages [0, 48]
    early = observe(tab, ["mean_rate", "trap_rate"], seed=1, definitions=p, visits=[48.0])["value"]
    assert early.to_numpy() == pytest.approx([np.trapezoid(rate[:49], t[:49]) / 48] * 2, rel=1e-9)


# ---------------------------------------------------------------------------------------------- bad windows

@pytest.mark.parametrize("entry, field", [
    ("x: {kind: scale, variable: bfi, unit: points, bounds: [0, 100], window: -1 week}", "readouts.x.window"),
    ("x: {kind: scale, variable: bfi, unit: points, bounds: [0, 100], window: seven}", "readouts.x.window"),
    ("x: {kind: scale, variable: bfi, unit: points, bounds: [0, 100], window: 3 mg}", "readouts.x.window"),
    ("x: {kind: scale, variable: bfi, unit: points, bounds: [0, 100], window: 7}", "readouts.x.window"),
    ("x: {kind: binary, variable: morphine_plasma, unit: ng/mL, cutoff: 300, window: 1 week}", "readouts.x.window"),
    ("x: {kind: poisson, variable: sbm_rate, unit: SBM/week}", "readouts.x.window"),
    ("x: {kind: poisson, variable: {variable: sbm_rate, integral: 3}, unit: SBM/week, window: 1 week}",
     "readouts.x.variable.integral"),
    ("x: {variable: {variable: il6_plasma, integral: il6_auc}, unit: pg/mL}", "readouts.x.window"),
])
def test_bad_window_names_file_line_and_field(tmp_path, entry, field):
    p = write_defs(tmp_path, entry)
    with pytest.raises(OpiaxisInputError) as exc:
        load_readouts(p)
    assert exc.value.field == field
    assert str(p) in str(exc.value) and exc.value.line == 2


# ---------------------------------------------------------------------------------------------- one definition

HEROIN = [(0.0, "heroin 20 mg IV q8h for 7 d")]


@pytest.fixture(scope="module")
def noise_free(model):
    """The shipped read-outs with the BFI noise-free and unrounded (its windowed latent itself)."""
    from opiaxis.calibrate.fit import readout_set
    defs = copy.copy(readout_set(model))
    bfi = copy.copy(defs["bfi"])
    bfi.noise, bfi.resolution = Noise(), 1e-9
    defs["bfi"] = bfi
    return defs


def test_sbm_week_is_the_exact_expected_count_of_the_week(model):
    """On heroin the intake visit (a trough, 7 h after the last dose) reads the whole heroin week."""
    term = resolve_readout(load_readouts()["sbm_week"], model, {})
    assert term.exact and term.integrals["sbm_event_rate"][0] == "sbm_expected_count"
    P = model.default_parameters()
    df = synthetic_table(model, P, HEROIN, {"sbm_week": [0.0, 167.0]}, patient="1", seed=3)
    prob = Problem(model, read_patients(df, model)["1"], [])
    pred = prob.predictions(P[None], rtol=1e-7)[0][0]
    doses = prob.data.doses
    r = simulate(model, P[None], np.array([0.0, 167.0]), doses, ids=[1])
    count = r.get("sbm_expected_count")[0]
    # at t = 0 the drug-free rate; at 167 h the count since the start (clipped window) per week
    assert pred[0] == pytest.approx(r.get("sbm_event_rate")[0, 0], rel=1e-6)
    assert pred[1] == pytest.approx((count[1] - count[0]) * WEEK / 167.0, rel=1e-3)
    assert pred[1] < 0.9 * r.get("sbm_rate")[0, 1]     # the instant at the trough reads more


def test_fit_predicts_what_synthetic_records_and_observe_draw_from(model, noise_free):
    """BFI at the heroin intake visit: the synthetic record, the fit's prediction and observe() on a
    run's hourly results table are the same week's mean (not the trough's instant)."""
    P = model.default_parameters()
    df = synthetic_table(model, P, HEROIN, {"bfi": [167.0]}, patient="1", seed=3, readouts=noise_free)
    recorded = float(df.loc[df["kind"] == "measurement", "value"].astype(float).iloc[0])
    prob = Problem(model, read_patients(df, model)["1"], [], readouts=noise_free)
    predicted = float(prob.predictions(P[None], rtol=1e-7)[0][0, 0])
    assert predicted == pytest.approx(recorded, abs=1e-3)   # the table keeps 6 digits
    grid = np.arange(0.0, 168.0)
    r = simulate(model, P[None], grid, prob.data.doses, ids=[1])
    tab = tidy({"bowel_function_index": (r.get("bowel_function_index")[0], "dimensionless")}, grid)
    observed = observe(tab, ["bfi"], seed=1, definitions=noise_free, visits=[167.0])["value"].iloc[0]
    assert observed == pytest.approx(predicted, abs=0.02)
    instant = r.get("bowel_function_index")[0, -1]
    assert predicted > instant + 5    # the heroin week is more constipated than its trough


STUDY = """\
name: week
seed: 5
population:
  size: 3
schedule:
  duration: 9 d
  every: 2 h
arms:
  - name: heroin
    regimens:
      - heroin 20 mg IV q8h for 9 d
outputs: [bowel_function_index, sbm_event_rate, sbm_expected_count]
measurements:
  visits: [0 d, 8 d]
  readouts: [bfi, sbm_week]
"""


def test_a_study_run_measures_the_week_whether_results_stay_in_memory_or_on_disk(tmp_path, model):
    """The runner reads the rows inside each visit's window back from disk (not only the visits')."""
    from opiaxis.study import load_study, run_study
    p = tmp_path / "study.yaml"
    p.write_text(STUDY)
    s = load_study(p, model)
    mem = run_study(s, model, tmp_path / "mem")
    disk = run_study(s, model, tmp_path / "disk", in_memory_rows=10)
    assert disk.results is None
    m = mem.measurements.reset_index(drop=True)
    pd.testing.assert_frame_equal(m, disk.measurements.reset_index(drop=True))
    assert set(m["time"]) == {0.0, 192.0} and m["value"].notna().all()
    assert set(m.loc[m["measurement"] == "sbm_week", "variable"]) == {"sbm_event_rate"}


def test_a_table_already_subsampled_to_the_visits_is_noted(tmp_path):
    """observe(visit_schedule(...)) was the old pattern: a week's mean from two rows is noted."""
    t = np.arange(0.0, 15 * 24 + 1)
    tab = tidy({"bowel_function_index": (np.full(len(t), 20.0), "dimensionless")}, t)
    full = observe(tab, ["bfi"], seed=1, visits=[168.0, 336.0])
    assert not [n for n in full.attrs["notes"] if n.startswith("bfi:")]
    sub = observe(tab[tab["time"].isin([0.0, 168.0, 336.0])], ["bfi"], seed=1)
    assert any(n.startswith("bfi:") and "coarse" in n for n in sub.attrs["notes"])
