"""Decisions under within-patient variability: the conditioning of the unfitted parameters uses the
fit's own (Student-t) residual model, and the adjunct search does not drop a combination the search
draws cannot separate from the best (docs/precision-recovery.md, issue 15, seventh pass)."""

import numpy as np

from opiaxis.calibrate.recommend import load_options


def _linear_record(outlier: float):
    """Eight rows of a linear model d = −S_uᵀ z_u + e on the noise-standardised scale: one unfitted
    parameter (true z 1.5, sensitivity 1 on every row), unit noise, and one row off by ``outlier``."""
    rng = np.random.default_rng(7)
    Su = np.ones((1, 8))
    d = -Su[0] * 1.5 + 0.5 * rng.standard_normal(8)
    d[3] += outlier
    return Su, d


def _posterior_mean(Su, d, w):
    return float(-np.linalg.solve(np.eye(1) + (Su * w) @ Su.T, (Su * w) @ d)[0])


def test_one_far_row_is_discounted_by_the_student_t_weights():
    """One visit off by 12 noise SDs (a heavy-tailed within-patient excursion): its EM weight is
    small, the others stay near 1, and the conditional mean of the unfitted parameter stays near
    the truth where the Gaussian conditioning (all weights 1) is pulled away."""
    from opiaxis.calibrate.fit import _t_weights
    Su, d = _linear_record(12.0)
    ok, s2 = np.ones(8, bool), np.ones(8)
    u = _t_weights(Su, d, s2, ok, 4.0)
    assert u[3] < 0.15 and np.all(np.delete(u, 3) > 0.6), u
    robust, gauss = _posterior_mean(Su, d, u), _posterior_mean(Su, d, np.ones(8))
    assert abs(robust - 1.5) < 0.35 and abs(gauss - 1.5) > 1.0, (robust, gauss)


def test_t_weights_are_ones_under_normal_errors_and_near_one_without_outliers():
    from opiaxis.calibrate.fit import _t_weights
    Su, d = _linear_record(0.0)
    ok, s2 = np.ones(8, bool), np.ones(8)
    assert np.array_equal(_t_weights(Su, d, s2, ok, None), np.ones(8))
    u = _t_weights(Su, d, s2, ok, 4.0)
    assert np.all(u > 0.75), u
    assert abs(_posterior_mean(Su, d, u) - _posterior_mean(Su, d, np.ones(8))) < 0.1


def _outcome(loss: float, n: int = 8) -> dict:
    return {"cows_mean": np.full(n, loss)}   # withdrawal only: composite = weight × mean COWS


def test_a_class_carries_the_runner_up_combination_when_the_search_cannot_separate_it():
    """The class's best combination and, when within the MID of it on the search draws, the
    runner-up are both returned (to be carried to the class's other doses and ranked on every
    draw); a pair found in both stacking orders counts once; a runner-up beyond the MID is not."""
    from opiaxis.calibrate.recommend import _best_combinations
    opts = load_options()
    W = {"withdrawal": 1.0}
    mid = opts.mid
    avail = {"A": {"regimens": ["a"]}, "B": {"regimens": ["b"]}, "C": {"regimens": ["c"]}}
    found = {"x + A": _outcome(1.0), "x + A + B": _outcome(0.50), "x + B": _outcome(0.9),
             "x + B + A": _outcome(0.50), "x + A + C": _outcome(0.50 + 0.6 * mid)}
    got = _best_combinations(found, "x", ["A", "B"], avail, W, mid)
    assert [set(label.split(" + ")) for label, _ in got] == [{"A", "B"}, {"A", "C"}]
    assert [len(specs) for _, specs in got] == [2, 2]
    found["x + A + C"] = _outcome(0.50 + 1.5 * mid)
    got = _best_combinations(found, "x", ["A", "B"], avail, W, mid)
    assert [set(label.split(" + ")) for label, _ in got] == [{"A", "B"}]
