"""The fit's treatment of the parameters it does not estimate: the draws used for decisions
condition them on the data (``UnfittedPosterior``) instead of taking them from the population."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from opiaxis.calibrate import fit_patient, read_patients, synthetic_table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_precision import VISITS, _truth  # noqa: E402  (same synthetic patient)


@pytest.fixture(scope="module")
def two_parameter_fit(model):
    """Buprenorphine for a week; drug levels, cortisol and IL-6 measured; only the two most
    informed parameters fitted, so cortisol_baseline (true z = +1.2) and il6_source (z = −1) are
    left to the unfitted posterior."""
    df = synthetic_table(model, _truth(model), [(0.0, "buprenorphine 16 mg SL q24h for 7 d")],
                         {"buprenorphine_conc": VISITS, "cortisol_serum": [1, 49, 119, 167],
                          "il6_serum": [1, 49, 119, 167]}, patient="S1", seed=5)
    return fit_patient(read_patients(df, model)["S1"], model, max_params=2)


@pytest.mark.parametrize("name", ["cortisol_baseline", "il6_source"])
def test_unfitted_but_measured_parameters_are_conditioned_on_the_data(model, two_parameter_fit, name):
    fit = two_parameter_fit
    assert name not in fit.names and name in fit.unfitted.names
    j = model.param_index[name]
    truth, median = _truth(model)[j], model.default_parameters()[j]
    post = fit.draw_parameters(400, seed=1)[:, j]
    prior = fit.draw_parameters(400, seed=1, condition_unfitted=False)[:, j]
    lo, mid, hi = np.percentile(post, [5, 50, 95])
    assert lo <= truth <= hi, (name, truth, lo, hi)
    assert abs(np.log(mid / truth)) < 0.5 * abs(np.log(median / truth))
    p_lo, p_hi = np.percentile(prior, [5, 95])
    assert np.log(hi / lo) < 0.5 * np.log(p_hi / p_lo)


def test_unmeasured_parameters_keep_their_population_distribution(model, two_parameter_fit):
    """A parameter outside the screen (no sensitivity to any measurement) is drawn from the
    population as before: the conditioning only moves what the data inform."""
    fit = two_parameter_fit
    var_names = [p.name for _, p in fit.problem.var_idx]
    outside = [n for n in var_names if n not in fit.unfitted.names and n not in fit.names]
    assert outside
    a = fit.draw_parameters(50, seed=2)
    b = fit.draw_parameters(50, seed=2, condition_unfitted=False)
    idx = [model.param_index[n] for n in outside]
    assert np.array_equal(a[:, idx], b[:, idx])


def test_irls_hessian_weights_are_the_student_t_curvature():
    """``hessian='irls'``: on the t-transformed residuals r_t (½r_t² = ρ(r)), the weight of a row's
    Gauss–Newton term must give the Hessian of ρ for a model linear in z: ρ''(r)·(dr/dr_t)²; zero
    where the t loss is concave (|r| > √ν)."""
    from opiaxis.calibrate.fit import _t_curvature
    nu = 4.0
    r = np.array([1e-4, 0.5, 1.0, 1.9, 2.5, 6.0])
    rho = lambda x: (nu + 1) / 2 * np.log1p(x * x / nu)  # noqa: E731
    r_t = np.sqrt(2 * rho(r))
    h = 1e-4
    rho2 = (rho(r + h) - 2 * rho(r) + rho(r - h)) / h ** 2
    drt_dr = (np.sqrt(2 * rho(r + h)) - np.sqrt(2 * rho(r - h))) / (2 * h)
    expected = np.clip(rho2 / drt_dr ** 2, 0.0, None)
    expected[0] = 1.0  # the limit at r → 0
    assert np.allclose(_t_curvature(r_t, nu), expected, rtol=1e-3, atol=1e-6)
    assert np.all(_t_curvature(r_t, None) == 1.0)


def test_correlated_marginalisation_signs_match_the_residuals(model):
    """The correlation an unfitted parameter induces between observations is built from the
    screen's sensitivities with each read-out's residual sign (continuous: observed − predicted;
    scales and counts: predicted − observed). Check it against the residuals themselves: moving a
    parameter by h moves each residual by ≈ h·(its row of A)."""
    from opiaxis.calibrate.fit import Problem, screen
    visits = {"buprenorphine_conc": VISITS, "cortisol_serum": [49, 119, 167], "sbm_week": [49, 119, 167],
              "cows": [49, 119, 167]}
    df = synthetic_table(model, _truth(model), [(0.0, "heroin 20 mg IV q8h for 3 d"),
                                                (72.0, "buprenorphine 16 mg SL q24h for 4 d")],
                         visits, patient="S2", seed=5)
    data = read_patients(df, model)["S2"]
    names = ["buprenorphine_CL", "cortisol_baseline", "colonic_transit_time_drug_free"]
    S = screen(model, data, names)
    prob = Problem(model, data, S["parameter"].tolist())
    prob.set_unfitted_sensitivities(S.attrs["S"])
    K = len(names)
    plain = Problem(model, data, S["parameter"].tolist())  # no marginalisation, normal residuals
    h = 0.1
    R = plain.residuals(np.vstack([np.zeros(K), h * np.eye(K)]))[:, K:]
    dR = (R[1:] - R[0]) / h
    sign = np.concatenate([np.full(len(g[2]), -1.0 if g[1].readout.kind == "continuous" else 1.0)
                           for g in plain.groups])
    expected = S.attrs["S"] * sign[None, :]
    big = np.abs(expected) > 0.2
    assert big.sum() >= 5
    assert np.all(np.sign(dR[big]) == np.sign(expected[big])), (dR[big], expected[big])
    lin = np.concatenate([g[5] for g in plain.groups]) == ""
    Sigma = (prob.whiten @ prob.whiten.T)[np.ix_(lin, lin)]
    assert np.allclose(Sigma, np.eye(lin.sum()) + expected[:, lin].T @ expected[:, lin], atol=1e-8)


def test_decision_draws_that_the_data_contradict_are_replaced(model, two_parameter_fit):
    """``draw_parameters(consistent=True)``: a parameter row that fits a read-out far worse than the
    posterior mode (buprenorphine clearance 4 prior SDs off: every level wrong) is not used for
    decisions; the mode itself is, and the draws are the requested number of passing proposals."""
    fit = two_parameter_fit
    good = fit.parameter_row()
    bad = good.copy()
    j = model.param_index["buprenorphine_CL"]
    omega = model.parameter("buprenorphine_CL").variability.omega
    bad[j] *= np.exp(4.0 * omega)
    assert list(fit.consistent_rows(np.vstack([bad, good]), 1)) == [1]
    assert list(fit.consistent_rows(np.vstack([good, bad]), 2)) == [0, 1]   # filled with the least bad
    P = fit.draw_parameters(12, seed=4, consistent=True)
    assert P.shape == (12, len(model.parameters))
    Q = fit.draw_parameters(36, seed=4)
    assert set(map(tuple, P)) <= set(map(tuple, Q))


def test_the_data_check_gives_the_decision_state_and_stops_when_enough_draws_pass(model, two_parameter_fit):
    """``consistent_rows`` checks the proposals a batch at a time until n pass: the same rows as
    checking every proposal (``data_excess``), and with ``end_states`` each chosen row's state at
    the last measurement, bit for bit the state from which ``recommend``'s candidates start (the
    history simulated to the decision time on its own)."""
    from opiaxis.calibrate.recommend import _decision_state
    fit = two_parameter_fit
    good = fit.parameter_row()
    bad = good.copy()
    bad[model.param_index["buprenorphine_CL"]] *= np.exp(4.0 * model.parameter("buprenorphine_CL").variability.omega)
    Q = np.vstack([good, bad, fit.draw_parameters(10, seed=4)])
    excess = fit.data_excess(Q)
    for n in (2, 5, len(Q)):
        ok = np.flatnonzero(excess <= 1.0)
        expected = ok[:n] if len(ok) >= n else np.r_[ok, np.argsort(np.where(excess <= 1.0, np.inf, excess),
                                                                   kind="stable")[:n - len(ok)]]
        rows, X_end = fit.consistent_rows(Q, n, end_states=True)
        np.testing.assert_array_equal(rows, expected)
        assert (1 in rows) == (n == len(Q))   # the contradicted row only when every row is asked for
    P, X_end = fit.draw_parameters(6, seed=4, consistent=True, end_states=True)
    np.testing.assert_array_equal(P, fit.draw_parameters(6, seed=4, consistent=True))
    prob = fit.problem
    np.testing.assert_array_equal(X_end, _decision_state(prob, P, prob.data.end, 3e-3))


def test_unfitted_conditioning_reaches_the_mode_of_a_nonlinear_readout():
    """The decision draws' conditioning of an unfitted parameter is one linear step at the prior
    median; where the read-outs follow an Emax in it (the breath tests in the gut's μ slowing) that
    step stops short of the conditional mode (the decision study's low_bup_exposure-1: −0.63 against
    a grid posterior of −1.16, truth −1.5). The Gauss–Newton steps of ``_unfitted_posterior`` must
    reach the mode of the exact posterior (here on a grid) and leave a linear read-out's answer as
    it was."""
    from types import SimpleNamespace

    from opiaxis.calibrate.fit import _g, _unfitted_posterior, readout_set
    ro = readout_set()["octt"]                       # lognormal, CV 20%
    sd = np.sqrt(np.log1p(ro.noise.cv ** 2))

    def problem(f, y):
        term = SimpleNamespace(readout=ro)
        groups = [("octt", term, np.arange(len(y)), np.arange(len(y)), np.asarray(y, float),
                   np.array([""] * len(y)), np.full(len(y), np.nan))]
        par = SimpleNamespace(name="u")
        return SimpleNamespace(groups=groups, var_idx=[(0, par)], residual_dof=None, n_obs=len(y),
                               params=lambda Z, Zall=None: np.zeros((len(Z), 1)) if Zall is None else Zall[:, :1],
                               predictions=lambda P, rtol=None: [f(P[:, :1]) * np.ones((1, len(y)))])

    def screened(prob, f):
        S = (_g("continuous", ro, f(np.array([[0.05]]))) - _g("continuous", ro, f(np.array([[-0.05]])))) / 0.1
        scr = pd.DataFrame({"parameter": ["u"]})
        scr.attrs["S"] = S * np.ones((1, prob.n_obs))
        return scr

    def grid_mode(f, y):
        u = np.linspace(-4, 4, 8001)[:, None]
        r = (np.log(f(u)) - np.log(np.asarray(y)[None, :])) / sd
        return float(u[np.argmax(-0.5 * (r ** 2).sum(axis=1) - 0.5 * u[:, 0] ** 2), 0])

    emax = lambda u: 100.0 * (1.0 + 4.0 / (1.0 + np.exp(-2.0 * (u + 0.3))))   # an Emax in the logit  # noqa: E731
    y = emax(np.array([[-1.8]]))[0] * np.exp(np.array([0.05, -0.1, 0.02]))
    prob = problem(emax, y)
    one = _unfitted_posterior(prob, screened(prob, emax), [], np.zeros(0), None, iterations=0)
    gn = _unfitted_posterior(prob, screened(prob, emax), [], np.zeros(0), None)
    mode = grid_mode(emax, y)
    assert abs(gn.mean[0] - mode) < 0.1 < abs(one.mean[0] - mode), (one.mean, gn.mean, mode)
    lin = lambda u: 100.0 * np.exp(0.3 * u)                                    # log-linear: one step is exact  # noqa: E731
    y = lin(np.array([[-1.0]]))[0] * np.exp(np.array([0.05, -0.1, 0.02]))
    prob = problem(lin, y)
    one = _unfitted_posterior(prob, screened(prob, lin), [], np.zeros(0), None, iterations=0)
    gn = _unfitted_posterior(prob, screened(prob, lin), [], np.zeros(0), None)
    assert abs(gn.mean[0] - one.mean[0]) < 0.02 and abs(gn.mean[0] - grid_mode(lin, y)) < 0.02
    assert abs(gn.chol[0, 0] - one.chol[0, 0]) < 0.01


def test_unfitted_conditioning_holds_back_only_what_a_switching_readout_vetoes(monkeypatch):
    """A read-out that switches (MADRS when the mood trait crosses the end of an episode) must veto
    only the step of the parameters that move it, not the rest of the Gauss–Newton step (the decision
    study's misspecified hpa_depressed-1: halving the whole step left the gut's parameters at half
    their linear step, 0.43 and −0.83 prior SDs against a grid mode near +1.0 and −1.5). Here u1 and
    u2 explain a log-linear read-out together and a second read-out collapses when u2 < −0.3; the
    data say u2 ≥ −0.3, so u1 must carry the first read-out (grid mode ≈ (−0.95, −0.3), on the switch's
    edge, which the steps cannot see). Holding u2 back keeps u1's linear step (−0.65); halving the whole
    step (``_overshooting`` answering None) leaves u1 at −0.16."""
    from types import SimpleNamespace

    import opiaxis.calibrate.fit as F
    ro = F.readout_set()["octt"]                                                # lognormal, CV 20%
    sd = np.sqrt(np.log1p(ro.noise.cv ** 2))
    fa = lambda P: 100.0 * np.exp(0.4 * P[:, :1] + 0.4 * P[:, 1:2]) * np.ones((1, 3))  # noqa: E731
    fb = lambda P: (30.0 * np.where(P[:, 1:2] < -0.3, 1 / 30, 1.0)                # collapses below −0.3  # noqa: E731
                    * np.exp(0.02 * P[:, 1:2]) * np.ones((1, 3)))
    ya = 100.0 * np.exp(0.4 * -1.3) * np.exp(np.array([0.05, -0.1, 0.02]))
    yb = 30.0 * np.exp(np.array([0.03, -0.02, 0.01]))
    term = SimpleNamespace(readout=ro)
    groups = [(n, term, np.arange(3), np.arange(3) + 3 * k, y, np.array([""] * 3), np.full(3, np.nan))
              for k, (n, y) in enumerate((("a", ya), ("b", yb)))]
    prob = SimpleNamespace(groups=groups, var_idx=[(0, SimpleNamespace(name="u1")), (1, SimpleNamespace(name="u2"))],
                           residual_dof=None, n_obs=6,
                           params=lambda Z, Zall=None: np.zeros((len(Z), 2)) if Zall is None else Zall[:, :2],
                           predictions=lambda P, rtol=None: [fa(P), fb(P)])
    g = lambda P: np.concatenate([F._g("continuous", ro, f(P)) for f in (fa, fb)], axis=1)[0]  # noqa: E731
    scr = pd.DataFrame({"parameter": ["u1", "u2"]})
    scr.attrs["S"] = np.array([(g(np.array([[0.05, 0.0]])) - g(np.array([[-0.05, 0.0]]))) / 0.1,
                               (g(np.array([[0.0, 0.05]])) - g(np.array([[0.0, -0.05]]))) / 0.1])
    u = np.linspace(-3, 1, 401)
    U1, U2 = np.meshgrid(u, u, indexing="ij")
    P = np.column_stack([U1.ravel(), U2.ravel()])
    r = (np.log(np.hstack([fa(P), fb(P)])) - np.log(np.r_[ya, yb])[None, :]) / sd
    mode = P[np.argmax(-0.5 * (r ** 2).sum(axis=1) - 0.5 * (P ** 2).sum(axis=1))]
    one = F._unfitted_posterior(prob, scr, [], np.zeros(0), None, iterations=0)
    held = F._unfitted_posterior(prob, scr, [], np.zeros(0), None)
    monkeypatch.setattr(F, "_overshooting", lambda *a, **k: None)
    halved = F._unfitted_posterior(prob, scr, [], np.zeros(0), None)
    assert one.mean[1] < -0.3, one.mean                    # the linear step crosses the switch
    assert held.mean[1] >= -0.3 and halved.mean[1] >= -0.3, (held.mean, halved.mean)
    assert abs(held.mean[0] - one.mean[0]) < 0.05, (held.mean, one.mean)          # u1 keeps its step
    assert abs(held.mean[0] - mode[0]) + 0.3 < abs(halved.mean[0] - mode[0]), (held.mean, halved.mean, mode)


def test_unfitted_conditioning_stays_inside_a_parameters_bounds():
    """Beyond the deviate where a parameter reaches its bound every z is the same value and the
    forward difference is 0: a Gauss–Newton step there would give the parameter back its prior SD
    (hpa_depressed-1's HPA suppression, capped at 0.95 = 0.6·e^(0.3·1.53)). ``_z_bounds`` keeps the
    steps ``h`` inside that deviate, and ±4 where there is no bound."""
    from types import SimpleNamespace

    from opiaxis.calibrate.fit import _z_bounds
    from opiaxis.models import default_model
    model = default_model()
    names = ["hpa_opioid_suppression_max", "gut_mor_imax"]
    var_idx = [(k, model.parameter(n)) for k, n in enumerate(names)]
    prob = SimpleNamespace(var_idx=var_idx, base=np.array([p.value for _, p in var_idx]))
    lo, hi = _z_bounds(prob, names, 0.1)
    p = model.parameter("hpa_opioid_suppression_max")
    z_cap = float(p.variability.z_of(p.value, p.upper))
    assert 1.4 < z_cap < 1.7 and abs(hi[0] - (z_cap - 0.1)) < 1e-9 and lo[0] == -4.0
    assert p.at_z(p.value, hi[0] + 0.1) == pytest.approx(p.upper) and p.at_z(p.value, hi[0]) < p.upper


def test_decision_draws_come_in_mirrored_pairs(model, two_parameter_fit):
    """``draw_parameters``' antithetic pairs (``ANTITHETIC_DRAWS``): each odd row mirrors the row
    before it about the posterior centre in every parameter's z — the fitted about the MAP, the
    conditioned about their conditional mean (the conditioning is affine in the prior deviates), the
    unscreened about the population median — so the mean over the draws of anything linear in z is
    exact whatever the seed (a decision between two candidates whose loss difference is nearly linear
    in the deciding parameter no longer turns on the Monte-Carlo draw: docs/precision-recovery.md,
    "Issue 15, thirteenth session"). Control: independent draws (``antithetic=False``) are not
    mirrored and their means scatter from seed to seed."""
    fit = two_parameter_fit
    prob = fit.problem
    names = list(fit.names) + ["cortisol_baseline", "il6_source", "naloxegol_CL"]
    centre = np.r_[fit.z, [fit.unfitted.mean[fit.unfitted.names.index(n)] for n in names[-3:-1]], 0.0]

    def z(P):
        return np.stack([model.parameter(n).variability.z_of(prob.base[model.param_index[n]],
                                                             P[:, model.param_index[n]]) for n in names], axis=1)
    for anti, check in ((True, np.testing.assert_allclose), (False, None)):
        Z = z(fit.draw_parameters(20, seed=7, antithetic=anti))
        pair_mean = 0.5 * (Z[0::2] + Z[1::2])
        if check is not None:
            check(pair_mean, np.broadcast_to(centre, pair_mean.shape), atol=1e-6)
        else:
            assert np.max(np.abs(pair_mean - centre)) > 0.3
    means = {anti: np.array([z(fit.draw_parameters(20, seed=s, antithetic=anti)).mean(axis=0) for s in range(8)])
             for anti in (True, False)}
    assert np.max(np.abs(means[True] - centre)) < 1e-6
    assert np.min(means[False].std(axis=0)) > 0.01   # ~ SD/√20: 0.03-0.15 here (posterior SDs 0.15-1)
