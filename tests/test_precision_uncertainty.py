"""The fit's treatment of the parameters it does not estimate: the draws used for decisions
condition them on the data (``UnfittedPosterior``) instead of taking them from the population."""

import sys
from pathlib import Path

import numpy as np
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
