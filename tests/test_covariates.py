"""Covariates: joint distribution, reproducibility, effects on parameters, bad specifications."""
import numpy as np
import pytest

from opiaxis.errors import OpiaxisInputError
from opiaxis.population import sample_parameters
from opiaxis.population.covariates import apply_covariates, covariate_specs, sample_covariates


def test_margins_and_correlations():
    cov = sample_covariates(np.arange(1, 20001), seed=2)
    assert cov["sex_male"].mean() == pytest.approx(0.68, abs=0.015)
    assert cov["depression_history"].mean() == pytest.approx(0.36, abs=0.015)
    assert cov["age"].between(18, 75).all()
    men, women = cov[cov.sex_male == 1], cov[cov.sex_male == 0]
    assert men["weight"].median() == pytest.approx(80, rel=0.03) and women["weight"].median() == pytest.approx(68, rel=0.03)
    # adversity goes with depression, against social support (copula correlations)
    adv = cov["early_life_adversity"] == 1
    assert cov.loc[adv, "depression_history"].mean() > cov.loc[~adv, "depression_history"].mean() + 0.05
    assert cov.loc[adv, "social_support"].mean() < cov.loc[~adv, "social_support"].mean() - 0.03


def test_reproducible_per_patient():
    a = sample_covariates(np.arange(1, 101), seed=9)
    b = sample_covariates(np.arange(51, 101), seed=9)
    np.testing.assert_array_equal(a.iloc[50:].to_numpy(), b.to_numpy())


def test_effects_on_parameters(model):
    ids = np.arange(1, 401)
    cov = sample_covariates(ids, seed=4)
    P0 = sample_parameters(model, ids, seed=4, variability=False)
    P = apply_covariates(model, P0, cov)
    i = model.param_index
    heavy = cov["weight"].to_numpy() > 90
    assert (P[heavy, i["morphine_CL"]] > P0[heavy, i["morphine_CL"]]).all()
    np.testing.assert_allclose(P[:, i["fentanyl_V1"]] / P0[:, i["fentanyl_V1"]], cov["weight"] / 70.0)
    carrier = cov["oprm1_g_carrier"].to_numpy() == 1
    assert carrier.any()
    np.testing.assert_allclose(P[carrier, i["morphine_mor_central_K"]], 1.5 * P0[carrier, i["morphine_mor_central_K"]])
    np.testing.assert_allclose(P[:, i["naloxone_mor_central_K"]], P0[:, i["naloxone_mor_central_K"]])  # antagonist unaffected


@pytest.mark.parametrize("spec, needle", [
    ({"colour": {"p": 0.5}}, "unknown covariate 'colour'"),
    ({"sex_male": {"p": 1.4}}, "outside [0, 1]"),
    ({"age": {"sd": -3}}, "negative"),
    ({"age": {"p": 0.3}}, "takes"),
])
def test_bad_specifications(spec, needle):
    with pytest.raises(OpiaxisInputError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        covariate_specs(spec, file="s.yaml")
