"""The fit's shortcuts (issue 15, speed) return what the plain computation returns.

The MAP skips the Jacobian that ``least_squares`` computes after its last step (the FD Hessian
replaces it), starts from the screen's own runs, and the MAP's read-out predictions are simulated
once for the fit table, the unfitted conditioning and the phenotype.
"""

import numpy as np
import pytest

from opiaxis.calibrate import fit_patient, read_patients, synthetic_table
from opiaxis.calibrate import fit as F
from opiaxis.calibrate.fit import MAP_PREDICTION_RTOL, _map_estimate, _MapObjective, _screen_start


class _CurvedProblem:
    """A stand-in for :class:`opiaxis.calibrate.fit.Problem`: prior residuals z and nonlinear data
    residuals (exponential decays with a saturating term), counting the rows it evaluates."""

    def __init__(self, K, seed):
        rng = np.random.default_rng(seed)
        self.K = K
        self.t = np.linspace(0.2, 4.0, 12)
        self.truth = rng.normal(0.0, 1.0, K)
        self.y = self._pred(self.truth[None])[0] + 0.05 * rng.standard_normal(len(self.t))
        self.rows = 0

    def _pred(self, Z):
        a = np.exp(0.4 * Z[:, :1])
        b = np.exp(0.3 * Z[:, 1:2]) if self.K > 1 else 1.0
        c = np.tanh(Z[:, 2:].sum(axis=1, keepdims=True)) if self.K > 2 else 0.0
        return a * np.exp(-b * self.t[None]) + 0.5 * c

    def residuals(self, Z, rtol=None):
        Z = np.atleast_2d(Z)
        self.rows += Z.shape[0]
        return np.hstack([Z, (self._pred(Z) - self.y[None]) / 0.05])


@pytest.mark.parametrize("K,seed", [(1, 0), (2, 1), (3, 2), (3, 3), (4, 4), (4, 5)])
def test_skipping_the_last_jacobian_finds_the_same_map_with_k_fewer_rows(K, seed):
    full, short = _CurvedProblem(K, seed), _CurvedProblem(K, seed)
    a = _map_estimate(full, K, final_jacobian=True)
    b = _map_estimate(short, K, final_jacobian=False)
    assert np.array_equal(a.x, b.x) and a.nfev == b.nfev
    assert not b.jac_is_final
    assert short.rows == full.rows - K       # exactly the last Jacobian's K rows saved


def test_a_wrongly_skipped_jacobian_is_computed_and_the_map_goes_on(monkeypatch):
    """Were the stopping test wrong, the optimiser's next evaluation resumes with the Jacobian
    simulated: the same MAP within the tolerances, never a step from a stale Jacobian."""
    monkeypatch.setattr(F, "_would_stop", lambda *a, **k: True)   # claims every step is the last
    ref = _map_estimate(_CurvedProblem(3, 7), 3)
    got = _map_estimate(_CurvedProblem(3, 7), 3, final_jacobian=False)
    assert np.allclose(got.x, ref.x, atol=5e-3)


def test_the_objective_resumes_from_where_the_jacobian_was_skipped(monkeypatch):
    prob = _CurvedProblem(2, 8)
    obj = _MapObjective(prob, 2, (-5.0, 5.0), skip_last=True)
    monkeypatch.setattr(F, "_would_stop", lambda *a, **k: True)
    obj.jac(np.zeros(2))                       # the first Jacobian is always computed
    obj.jac(np.array([0.1, 0.0]))              # skipped
    with pytest.raises(F._GoneOn):
        obj.fun(np.array([0.2, 0.0]))


@pytest.fixture(scope="module")
def fitted(model):
    df = synthetic_table(model, model.default_parameters(), [(0.0, "buprenorphine 16 mg SL q24h for 7 d")],
                         {"buprenorphine_conc": [1, 4, 24, 49, 72, 119, 167], "cortisol_serum": [1, 49, 119, 167],
                          "il6_serum": [1, 49, 119, 167]}, patient="Q", seed=2)
    return fit_patient(read_patients(df, model)["Q"], model)


def test_the_map_predictions_are_those_of_a_fresh_simulation(fitted):
    prob = fitted.problem
    fresh = prob.predictions(fitted.parameter_row()[None], rtol=MAP_PREDICTION_RTOL)
    kept = fitted.map_predictions()
    assert all(np.array_equal(a, b) for a, b in zip(kept, fresh))
    assert np.array_equal(np.concatenate([x[0] for x in kept]),
                          fitted.fit_table.sort_values(["measurement", "time"], kind="mergesort")["predicted"].to_numpy())


def test_the_map_predictions_follow_a_changed_z(fitted):
    import copy
    moved = copy.copy(fitted)
    moved.z = fitted.z + 0.5
    fresh = moved.problem.predictions(moved.parameter_row()[None], rtol=MAP_PREDICTION_RTOL)
    assert all(np.array_equal(a, b) for a, b in zip(moved.map_predictions(), fresh))
    assert not all(np.array_equal(a, b) for a, b in zip(moved.map_predictions(), fitted.map_predictions()))


def test_the_screen_start_is_the_forward_difference_jacobian_at_the_median(fitted):
    """The screen's runs (0.1 SD, rtol 1e-3) give the MAP's first Jacobian; it agrees with the
    MAP's own (0.05 SD, rtol 1e-4) to within the curvature over the step."""
    prob = fitted.problem
    r0, J0 = _screen_start(prob, fitted.screen)
    obj = _MapObjective(prob, len(prob.names), (-5.0, 5.0))
    J = obj.jac(np.zeros(len(prob.names)))
    assert np.allclose(r0, obj.fun(np.zeros(len(prob.names))), atol=0.05)
    col = np.linalg.norm(J, axis=0)
    assert np.all(np.linalg.norm(J0 - J, axis=0) <= 0.15 * col + 0.05)


def test_the_screen_skips_only_rows_that_cannot_move_a_read_out(fitted, model):
    """The screen does not simulate a candidate that is not upstream of any observed read-out in the
    model's equations (or whose row is the median row), and reports exactly 0 for it. Simulated
    anyway, such rows move the read-outs only by integration noise (the step-size control sees all
    states): far below the 0.3 information threshold at the screen's rtol, and 10x smaller or more
    at rtol 1e-5 (a real effect would not shrink with the tolerance)."""
    data = fitted.problem.data
    cand = F.candidate_parameters(model, data.doses)
    prob = F.Problem(model, data, cand, rtol=1e-3)
    up = model.parameters_upstream({v for g in prob.groups for v, _ in g[1].latents})
    assert "buprenorphine_CL" in up and "cortisol_baseline" in up
    assert "hypoxic_ventilatory_gain" not in up     # breathing: no path to these read-outs
    P = prob.params(np.vstack([np.zeros(len(cand)), 0.1 * np.eye(len(cand))]))
    skipped = [k for k, n in enumerate(cand) if n not in up or np.array_equal(P[1 + k], P[0])]
    assert len(skipped) >= 10
    scr = F.screen(model, data, cand, nonlinear=False)
    row = {n: i for i, n in enumerate(scr["parameter"])}
    assert all(not scr.attrs["S"][row[cand[k]]].any() for k in skipped)
    kept = [k for k in range(len(cand)) if k not in skipped]
    assert max(scr["information"][row[cand[k]]] for k in kept) > 1.0
    noise = []
    for rtol in (1e-3, 1e-5):
        full = prob.predictions(P[np.r_[0, [1 + k for k in skipped]]], rtol=rtol)
        G = np.concatenate([F._g(g[1].readout.kind, g[1].readout, x) for g, x in zip(prob.groups, full)], axis=1)
        noise.append(np.abs(np.nan_to_num((G[1:] - G[0]) / 0.1)).max())
    assert noise[0] < 0.05 and noise[1] < 0.1 * noise[0]
