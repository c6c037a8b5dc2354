"""Virtual-population selection (Allen, Rieger & Musante 2016): the selection moves a wide
plausible population onto narrower targets, reproducibly, and bad targets are input errors."""

import numpy as np
import pandas as pd
import pytest

from opiaxis.errors import OpiaxisInputError
from opiaxis.population.vpop import select_vpop

TARGETS = {"x": {"dist": "normal", "mean": 10.0, "sd": 1.5},
           "y": {"dist": "lognormal", "mean": 5.0, "sd": 1.0}}


@pytest.fixture(scope="module")
def plausible():
    rng = np.random.default_rng(2016)
    n = 5000
    return pd.DataFrame({"x": rng.uniform(0, 20, n), "y": np.exp(rng.normal(1.5, 0.8, n)),
                         "z": rng.normal(size=n)}, index=pd.Index(np.arange(1001, 1001 + n), name="patient"))


@pytest.fixture(scope="module")
def selected(plausible):
    return select_vpop(plausible, TARGETS, seed=7)


def test_selection_moves_a_wide_population_onto_the_targets(selected):
    rep = selected.report.set_index("observable")
    for obs, t in TARGETS.items():
        r = rep.loc[obs]
        assert r["selected_p"] > 0.05, obs                       # selected matches the target
        assert r["plausible_p"] < 1e-10 and r["unselected_p"] < 1e-10, obs  # the plausible population did not
        assert r["selected_mean"] == pytest.approx(t["mean"], abs=0.2 * t["sd"])
        assert r["selected_sd"] == pytest.approx(t["sd"], rel=0.2)
        assert r["unselected_sd"] > 2 * t["sd"]
    s = selected.summary
    assert s["n_plausible"] == 5000 and 100 < s["n_selected"] < 1000
    assert s["acceptance_rate"] == pytest.approx(s["n_selected"] / 5000)
    assert selected.sf >= 1.0 and len(selected.ids) == s["n_selected"]
    assert selected.probability.max() == pytest.approx(1.0)
    md = selected.to_markdown()
    assert "scaling factor sf" in md and "| x | normal |" in md


def test_selection_is_reproducible_and_independent_of_row_order(plausible, selected):
    again = select_vpop(plausible, TARGETS, seed=7)
    np.testing.assert_array_equal(again.ids, selected.ids)
    shuffled = select_vpop(plausible.sample(frac=1.0, random_state=3), TARGETS, seed=7)
    assert set(shuffled.ids) == set(selected.ids)
    other = select_vpop(plausible, TARGETS, seed=8)
    assert set(other.ids) != set(selected.ids)
    # a 'patient' column works as the index
    col = select_vpop(plausible.reset_index(), TARGETS, seed=7)
    np.testing.assert_array_equal(col.ids, selected.ids)


def test_empirical_and_correlated_targets(plausible):
    data = np.random.default_rng(1).normal(8.0, 2.0, 400)
    r = select_vpop(plausible, {"x": data}, seed=1).report.iloc[0]
    assert r["selected_p"] > 0.05 and r["plausible_p"] < 1e-10
    assert r["selected_mean"] == pytest.approx(8.0, abs=0.4)
    res = select_vpop(plausible, {"x": TARGETS["x"], "z": {"dist": "normal", "mean": 0.0, "sd": 0.5}}, seed=2,
                      correlation=[[1.0, 0.6], [0.6, 1.0]])
    sel = plausible.loc[res.ids]
    assert np.corrcoef(sel["x"], sel["z"])[0, 1] == pytest.approx(0.6, abs=0.15)


@pytest.mark.parametrize("targets, kw, field", [
    ({"x": {"dist": "normal", "mean": 10, "sd": -1}}, {}, "targets.x.sd"),
    ({"x": {"dist": "normal", "mean": 10, "sd": 0}}, {}, "targets.x.sd"),
    ({"w": {"dist": "normal", "mean": 10, "sd": 1}}, {}, "targets.w"),
    ({"x": {"dist": "weibull", "mean": 10, "sd": 1}}, {}, "targets.x.dist"),
    ({"x": {"dist": "normal", "sd": 1}}, {}, "targets.x.mean"),
    ({"y": {"dist": "lognormal", "mean": -2, "sd": 1}}, {}, "targets.y.mean"),
    ({"x": {"dist": "normal", "mean": 10, "sdd": 1}}, {}, "targets.x.sdd"),
    ({"x": [3.0]}, {}, "targets.x.data"),
    ({}, {}, "targets"),
    (TARGETS, {"correlation": [[1, 2], [2, 1]]}, "correlation"),
    (TARGETS, {"seed": "seven"}, "seed"),
])
def test_bad_targets_raise_input_errors(plausible, targets, kw, field):
    kw = {"seed": 1, **kw}
    with pytest.raises(OpiaxisInputError) as exc:
        select_vpop(plausible, targets, **kw)
    assert exc.value.field == field


def test_empty_population_is_an_input_error():
    with pytest.raises(OpiaxisInputError) as exc:
        select_vpop(pd.DataFrame({"x": []}), {"x": {"dist": "normal", "mean": 0, "sd": 1}}, seed=1)
    assert exc.value.field == "observables"
