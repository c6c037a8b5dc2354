"""Paired arms in simulated trials (common random numbers, :mod:`opiaxis.trials`): every randomised
patient is simulated under each arm with the same draws, so the model's expected effect is read
without the luck of the randomisation, while the trial-sized statistic stays on the randomised arms."""

import numpy as np
import pytest

from opiaxis import trials
from opiaxis.errors import OpiaxisInputError
from opiaxis.validate import targets_mood as T

SMALL = dict(n=60, weeks_leadin=2, weeks=2)          # the adjunctive MDD design, shortened
INERT = "aticaprant 0.0001 mg oral daily"            # 0.1 µg: κ occupancy ~1e-4, no effect on MADRS


def test_paired_effect_statistics_and_bad_input():
    e = trials.paired_effect([3.0, 4.0, 6.0, np.nan], [2.0, 2.0, 3.0, 1.0])   # differences 1, 2, 3; NaN pair left out
    assert e.n == 3 and e.mean == pytest.approx(2.0) and e.se == pytest.approx(1 / np.sqrt(3))
    assert e.low < 2.0 < e.high and e.high - 2.0 == pytest.approx(4.303 / np.sqrt(3), rel=1e-3)  # t(0.975, 2)
    with pytest.raises(OpiaxisInputError, match="one length"):
        trials.paired_effect([1.0, 2.0], [1.0])
    with pytest.raises(OpiaxisInputError, match="at least 2"):
        trials.paired_effect([1.0, np.nan], [0.0, 0.0])


def test_counterfactual_arms_put_every_patient_in_every_arm():
    arms = {"drug": {"ids": [1, 3], "regimens": ["x"]}, "placebo": {"ids": [2], "regimens": []}}
    both = trials.counterfactual_arms(arms, [1, 2, 3])
    assert all(list(spec["ids"]) == [1, 2, 3] for spec in both.values())
    assert both["drug"]["regimens"] == ["x"] and arms["drug"]["ids"] == [1, 3]   # the input is not changed


@pytest.fixture(scope="module")
def inert_and_active():
    return (T.adjunct_trial(active=INERT, **SMALL)[0],
            T.adjunct_trial(active="aticaprant 10 mg oral daily", **SMALL)[0])


def test_inert_arm_has_no_expected_effect(inert_and_active):
    inert, _ = inert_and_active
    e = inert.expected("active", "placebo")
    # ~0 within its error; 0.01 MADRS allows the 0.1 µg dose's own (systematic, tiny) pharmacology
    assert abs(e.mean) <= 2 * e.se + 0.01
    assert e.se < 0.05                                   # the paired estimate is precise at n = 60
    # the criterion can fail: the same inert arm against a placebo arm drawn independently (another
    # seed: other physiology, placebo response and rater noise for the same ids) is not precise
    other, _ = T.adjunct_trial(seed=T.SEED + 1, active=INERT, **SMALL)
    common, i, j = np.intersect1d(inert.ids, other.ids, return_indices=True)
    unpaired = trials.paired_effect(inert.outcomes["active"][i], other.outcomes["placebo"][j])
    assert len(common) > 20 and unpaired.se > 0.3 and not unpaired.se < 0.05


def test_common_random_numbers_and_randomised_read_out(inert_and_active):
    inert, active = inert_and_active
    # a patient's placebo outcome does not depend on which drug the other arm had
    assert np.array_equal(inert.outcomes["placebo"], active.outcomes["placebo"], equal_nan=True)
    # an effective drug stands many standard errors from 0 in the same design
    e = active.expected("active", "placebo")
    assert e.mean < -10 * e.se < 0
    # the trial-sized statistic is the randomised arms' own outcomes (both arms non-empty, disjoint)
    n_a, n_p = len(active.randomised("active")), len(active.randomised("placebo"))
    assert n_a > 0 and n_p > 0 and n_a + n_p <= len(active.ids)
    with pytest.raises(OpiaxisInputError, match="no arm"):
        active.randomised("naltrexone")
