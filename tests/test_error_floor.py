"""States' error floors in the solver's error norm (fifteenth session, issue 15's speed).

The fast superactivation F and its tone D (adaptation equation 2b) hover near 0 between doses on
maintenance; measured against rtol of their momentary values they set recommend's step size. Their
declared floor (``State.error_floor`` 0.1) measures them against rtol of their own scale instead. The
contract: fewer steps, COWS still within the tolerance's reach of a tight reference, and the difference
from the floorless solve vanishing with rtol (the floor is proportional to rtol, not a fixed atol).
"""

import numpy as np
import pytest

from opiaxis.calibrate.fit import Simulator
from opiaxis.dosing import EventTable
from opiaxis.errors import ModelDefinitionError
from opiaxis.model.core import Module
from opiaxis.population import sample_parameters

HISTORY = [(0.0, "heroin 20 mg IV q8h for 7 d"), (168.0, "methadone 60 mg PO q24h for 14 d")]


@pytest.fixture(scope="module")
def case(model):
    doses = EventTable.from_regimens(model, [t for _, t in HISTORY], start=[s for s, _ in HISTORY]) \
        .for_ids([1]).expanded()
    return Simulator(model), sample_parameters(model, np.arange(1, 5), 3), doses, np.arange(168.0, 504.01, 1.0)


def _cows(sim, X, P):
    return sim.value("cows_score", X, P)


def test_the_floors_are_declared_on_the_fast_phase_only(model):
    floors = model.error_floors()
    named = {model.states[i].name: floors[i] for i in np.flatnonzero(floors)}
    assert named == {"mor_superactivation_fast": 0.1, "mor_signal_tone_fast": 0.1}


def test_a_floor_cuts_steps_and_keeps_cows_to_tolerance(case, monkeypatch):
    sim, P, doses, hours = case
    ref = _cows(sim, sim.run(P, hours, doses, rtol=1e-8, atol=1e-12)[0], P)
    X, st = sim.run(P, hours, doses, rtol=1e-2, atol=1e-9)
    with monkeypatch.context() as mp:
        mp.setattr(sim, "_floors", np.zeros(len(sim.model.states)))
        X0, st0 = sim.run(P, hours, doses, rtol=1e-2, atol=1e-9)
    err, err0 = np.abs(_cows(sim, X, P) - ref).max(), np.abs(_cows(sim, X0, P) - ref).max()
    assert ref.max() > 5.0                                  # withdrawal between heroin doses is on the scale
    # measured: 2548 vs 2832 steps (-10%) on 4 patients; COWS error 0.079 vs 0.066 points (peak 14)
    assert st[:, 0].sum() <= 0.95 * st0[:, 0].sum(), (st[:, 0].sum(), st0[:, 0].sum())
    assert err <= max(2.0 * err0, 0.5), (err, err0)         # COWS points, 0-48


def test_the_floor_s_effect_vanishes_with_rtol(case, monkeypatch):
    sim, P, doses, hours = case
    diffs = []
    for rtol in (1e-3, 1e-6):
        X = sim.run(P, hours, doses, rtol=rtol, atol=1e-12)[0]
        with monkeypatch.context() as mp:
            mp.setattr(sim, "_floors", np.zeros(len(sim.model.states)))
            X0 = sim.run(P, hours, doses, rtol=rtol, atol=1e-12)[0]
        diffs.append(np.abs(_cows(sim, X, P) - _cows(sim, X0, P)).max())
    assert diffs[1] <= 1e-3 * max(diffs[0], 1e-9) + 1e-6, diffs   # measured 1.1e-3 -> 2.1e-7 COWS points


def test_a_negative_or_non_finite_floor_is_refused_naming_the_state():
    m = Module("toy", "a toy module")
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ModelDefinitionError, match="'x'.*error_floor"):
            m.state("x", "dimensionless", 0.0, "a state", error_floor=bad)
