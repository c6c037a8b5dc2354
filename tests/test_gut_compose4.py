"""COMPOSE-4's trial population (issue 14, gut3): OIC despite a continued laxative, selected on
persistent constipation as well as on the screening diary.

Katakami et al. (J Clin Oncol 2017;35:1921 and 35:3859) enrolled cancer patients with a constipation
symptom despite laxative use and ≤5 SBMs in 14 screening days. Selecting on the diary alone picks
many patients whose usual frequency is normal but whose fortnight was low; they regress to their
usual frequency on any treatment, which inflates the placebo arm's change from baseline (COMPOSE-4:
+1.54 SBM/week on placebo)."""

import pytest

from opiaxis.errors import OpiaxisInputError
from opiaxis.validate import targets_gut as T

PAMORA = "naldemedine 0.2 mg oral daily"


def _trial(oic_history_max, n=400):
    return T.pamora_trial(PAMORA, max_screen_total=5, n_candidates=n, seed=2004, regimens=T.CANCER_REGIMENS,
                          extra=[T.CANCER_BREAKTHROUGH], weeks=2, overrides=T.COMPOSE4_BACKGROUND,
                          oic_history_max=oic_history_max)[0]


def _change(arm):
    return arm["treatment_mean"] - arm["baseline_mean"]


def test_oic_history_limits_regression_to_the_mean():
    """With the OIC-by-history criterion fewer candidates qualify and the placebo arm's change from
    baseline shrinks (less regression to the mean), while naldemedine still beats placebo by more
    than the trial's placebo change. Counterfactual: diary-only selection of laxative users."""
    diary_only = _trial(None)
    history = _trial(T.COMPOSE4_OIC_HISTORY_MAX)
    for arm in ("drug", "placebo"):
        assert history[arm]["eligible"] < diary_only[arm]["eligible"]
    assert _change(history["placebo"]) < _change(diary_only["placebo"]) - 1.0
    assert _change(history["drug"]) - _change(history["placebo"]) > 1.54


def test_oic_history_bad_input():
    with pytest.raises(OpiaxisInputError, match="oic_history_max"):
        T.pamora_trial(PAMORA, n_candidates=10, weeks=2, oic_history_max=0.0)
