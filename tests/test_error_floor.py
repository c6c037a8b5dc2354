"""States' error floors in the solver's error norm (fifteenth session, issue 15's speed).

The fast superactivation F and its tone D (adaptation equation 2b) hover near 0 between doses on
maintenance; measured against rtol of their momentary values they set recommend's step size. Their
declared floor (``State.error_floor`` 0.1) measures them against rtol of their own scale instead. The
contract: fewer steps, COWS still within the tolerance's reach of a tight reference, and the difference
from the floorless solve vanishing with rtol (the floor is proportional to rtol, not a fixed atol).
"""

import numpy as np
import pytest
import sympy as sp

from opiaxis.calibrate.fit import Simulator
from opiaxis.dosing import EventTable
from opiaxis.errors import ModelDefinitionError
from opiaxis.engine import SolverOptions, simulate
from opiaxis.model.core import Module, compose
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
    assert ref.max() > 5.0                                  # withdrawal after the switch to methadone is on the scale
    # measured: 2548 vs 2832 steps (-10%) on 4 patients; COWS error 0.079 vs 0.066 points (peak 14)
    assert st[:, 0].sum() <= 0.95 * st0[:, 0].sum(), (st[:, 0].sum(), st0[:, 0].sum())
    assert err <= max(2.0 * err0, 0.2), (err, err0)         # COWS points, 0-48


# every read-out D reaches (through R + D): COWS, the withdrawal signal other modules read, the unopposed
# counter-adaptation and the pain sensitivity that reads it
READS_D = ("cows_score", "withdrawal_signal", "unopposed_counteradaptation", "pain_sensitivity")


def test_the_floor_s_effect_vanishes_with_rtol(case, monkeypatch):
    sim, P, doses, hours = case
    diffs = []
    for rtol in (1e-3, 1e-6):
        X = sim.run(P, hours, doses, rtol=rtol, atol=1e-12)[0]
        with monkeypatch.context() as mp:
            mp.setattr(sim, "_floors", np.zeros(len(sim.model.states)))
            X0 = sim.run(P, hours, doses, rtol=rtol, atol=1e-12)[0]
        a, b = sim.values(list(READS_D), X, P), sim.values(list(READS_D), X0, P)
        diffs.append({v: np.abs(a[v] - b[v]).max() / max(np.abs(b[v]).max(), 1e-9) for v in READS_D})
    assert diffs[0]["cows_score"] > 0.0             # the floors reached the solver
    for v in READS_D:   # relative to each read-out's range; measured on COWS 1.1e-3 -> 2.1e-7 points
        assert diffs[1][v] <= 1e-3 * max(diffs[0][v], 1e-9) + 1e-7, (v, diffs)


@pytest.fixture(scope="module")
def near_zero():
    """A toy in the fast superactivation's shape: a unit oscillator (c, s) and a state z driven by 1e-3 times
    the smooth positive part of s (width 0.02, as adaptation's), so z is switched on and off twice a period
    and decays towards 0 in between; its floor (1, the oscillator's scale) is what its error is measured
    against."""
    m = Module("floortoy")
    w = m.parameter("w", 2 * np.pi / 24, "1/h", "assumed: test (a 24-h period)")
    k = m.parameter("k", 0.5, "1/h", "assumed: test")
    c = m.state("c", "dimensionless", 1.0, nonnegative=False)
    s = m.state("s", "dimensionless", 0.0, nonnegative=False)
    z = m.state("z", "dimensionless", 0.0, nonnegative=False, error_floor=1.0)
    m.ode(c, -w * s)
    m.ode(s, w * c)
    pp = (s + sp.sqrt(s ** 2 + 0.02 ** 2)) / 2 * s ** 2 / (s ** 2 + 0.02 ** 2)
    m.ode(z, k * (1e-3 * pp - z))
    return compose([m])


def _toy_steps(model, monkeypatch, floor: bool, backend=simulate, **kw):
    with monkeypatch.context() as mp:
        if not floor:
            mp.setattr(model, "error_floors", lambda: np.zeros(len(model.states)))
        res = backend(model, model.default_parameters()[None], np.arange(0.0, 240.1, 6.0),
                      options=SolverOptions(rtol=1e-4, atol=1e-12), **kw)
    return int(res.stats[0, 0]), res.states


def test_simulate_uses_the_floors(near_zero, monkeypatch):
    n1, X1 = _toy_steps(near_zero, monkeypatch, True)
    n0, X0 = _toy_steps(near_zero, monkeypatch, False)
    assert n1 < 0.8 * n0, (n1, n0)
    t = np.arange(0.0, 240.1, 6.0)
    exact = np.stack([np.cos(2 * np.pi / 24 * t), np.sin(2 * np.pi / 24 * t)], axis=-1)
    e1, e0 = np.abs(X1[0, :, :2] - exact).max(), np.abs(X0[0, :, :2] - exact).max()
    # measured: 195 vs 666 steps; oscillator error 8.3e-4 vs 2.4e-4 (10 periods at rtol 1e-4: the floorless run's
    # extra steps, forced by z, also sharpen the oscillator); z within rtol x its floor of the floorless run
    assert e1 < 2e-3, (e1, e0)
    assert np.abs(X1[0, :, 2] - X0[0, :, 2]).max() <= 1e-4 * 1.0, np.abs(X1[0, :, 2] - X0[0, :, 2]).max()


def test_the_jax_backend_uses_the_floors_as_the_kernel_does(near_zero, monkeypatch):
    pytest.importorskip("jax")
    from opiaxis.engine.jax_backend import simulate_jax
    for floor in (True, False):
        n_nb, X_nb = _toy_steps(near_zero, monkeypatch, floor)
        n_jx, X_jx = _toy_steps(near_zero, monkeypatch, floor, backend=simulate_jax)
        assert abs(n_jx - n_nb) <= max(2, 0.02 * n_nb), (floor, n_jx, n_nb)


def test_a_negative_or_non_finite_floor_is_refused_naming_the_state():
    m = Module("toy", "a toy module")
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ModelDefinitionError, match="'x'.*error_floor"):
            m.state("x", "dimensionless", 0.0, "a state", error_floor=bad)
