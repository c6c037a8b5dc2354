"""Which states control the fit's and recommend's step size (issue 15, speed; eleventh session).

Observers declared ``step_control=False`` (the defecation switch's deficit and the cumulative SBM
count: no other state reads them) are integrated along without letting their local error set the
step; states no requested output depends on do not control it either, and come back as NaN. The
contract: the read-outs that use the observers stay as close to a reference solve as with every
state controlled (the same tolerance), with fewer steps.
"""

import numpy as np
import pytest

from opiaxis.calibrate.fit import Simulator
from opiaxis.dosing import EventTable
from opiaxis.errors import ModelDefinitionError, OpiaxisInputError
from opiaxis.model.core import Module, compose
from opiaxis.population import sample_parameters

HISTORY = [(0.0, "heroin 20 mg IV q8h for 7 d"), (168.0, "buprenorphine 16 mg SL q24h for 14 d")]


@pytest.fixture(scope="module")
def case(model):
    doses = EventTable.from_regimens(model, [t for _, t in HISTORY], start=[s for s, _ in HISTORY]) \
        .for_ids([1]).expanded()
    return Simulator(model), sample_parameters(model, np.arange(1, 5), 3), doses, np.arange(0.0, 504.01, 24.0)


def _every_state_controlled(sim, monkeypatch):
    n = len(sim.model.states)
    monkeypatch.setattr(sim, "error_weights", lambda outputs=None: (np.ones(n), np.zeros(n, bool)))


def test_the_observers_are_declared_and_read_by_no_controlled_state(model):
    free = {s.name for s in model.states if not s.step_control}
    assert free == {"sbm_phase_deficit", "sbm_expected_count"}
    controlled = [s.name for s in model.states if s.step_control]
    assert not model.states_upstream(controlled) & free


def test_observers_out_of_the_error_norm_keep_the_counts_to_tolerance_in_fewer_steps(case, monkeypatch):
    sim, P, doses, days = case
    c = sim.model.state_index["sbm_expected_count"]
    with monkeypatch.context() as mp:
        _every_state_controlled(sim, mp)
        ref = np.diff(sim.run(P, days, doses, rtol=1e-9, atol=1e-12)[0][:, :, c], axis=1)
        X_all, st_all = sim.run(P, days, doses, rtol=1e-4, atol=1e-9)
    X, st = sim.run(P, days, doses, rtol=1e-4, atol=1e-9)
    err_all = np.abs(np.diff(X_all[:, :, c], axis=1) - ref).max()
    err = np.abs(np.diff(X[:, :, c], axis=1) - ref).max()
    assert ref.max() > 0.5                          # daily expected counts of the order of one
    assert err <= 1e-4 * ref.max() and err <= 2.0 * err_all   # measured 1.3e-4 / 1.1e-4 on 8 patients
    assert st[:, 0].sum() <= 0.92 * st_all[:, 0].sum()        # measured 12-23% fewer steps
    # the switch's rejected steps: at most half until the thirteenth session; the fourteenth session's fast
    # superactivation adds two controlled states with a 1-h time scale whose rejections count in both runs
    # (measured 425 of 812, 0.52, on 4 patients)
    assert st[:, 1].sum() <= 0.6 * st_all[:, 1].sum()


def test_states_no_output_reads_do_not_control_the_step_and_come_back_nan(case, monkeypatch):
    sim, P, doses, days = case
    m = sim.model
    X, st = sim.run(P, days, doses, rtol=1e-3, atol=1e-9, outputs=["cows_score"])
    up = m.states_upstream(["cows_score"])
    assert "wm_injury" not in up and "buprenorphine_central" in up
    unread = np.array([s not in up for s in m.state_names])
    assert np.isnan(X[:, :, unread]).all() and np.isfinite(X[:, :, ~unread]).all()
    with monkeypatch.context() as mp:
        _every_state_controlled(sim, mp)
        ref, _ = sim.run(P, days, doses, rtol=1e-8, atol=1e-11)
        full, st_full = sim.run(P, days, doses, rtol=1e-3, atol=1e-9)
    cows = lambda X: sim.value("cows_score", X, P)   # noqa: E731
    scale = np.abs(cows(ref)).max()
    assert np.abs(cows(X) - cows(ref)).max() <= max(2.0 * np.abs(cows(full) - cows(ref)).max(), 1e-3 * scale)
    assert st[:, 0].sum() < st_full[:, 0].sum()


def test_an_unknown_output_is_a_clear_error(case):
    sim, P, doses, days = case
    with pytest.raises(OpiaxisInputError, match="cows_scor"):
        sim.run(P[:1], days, doses, outputs=["cows_scor"])


def test_compose_rejects_an_observer_that_a_controlled_state_reads():
    m = Module("toy")
    k = m.parameter("k", 0.1, "1/h", "assumed: toy")
    x = m.state("x", "mg", 1.0, step_control=False)
    y = m.state("y", "mg", 0.0)
    m.ode(x, -k * x)
    m.ode(y, k * x - k * y)
    with pytest.raises(ModelDefinitionError, match="'x'.*step_control=False.*'y'"):
        compose([m])
    ok = Module("toy")
    k = ok.parameter("k", 0.1, "1/h", "assumed: toy")
    x = ok.state("x", "mg", 1.0)
    y = ok.state("y", "mg", 0.0, step_control=False)   # y reads x: an observer of x is fine
    ok.ode(x, -k * x)
    ok.ode(y, k * x - k * y)
    compose([ok])
