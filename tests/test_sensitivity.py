"""Global sensitivity analysis against a model whose indices are known in closed form."""
import numpy as np
import pytest

from opiaxis.errors import OpiaxisInputError
from opiaxis.model import Module, compose
from opiaxis.model.core import Variability
from opiaxis.sensitivity import Outcome, analyse, parse_outcome, unit_to_parameters


@pytest.fixture(scope="module")
def additive():
    """y' = a + b + 0·c, so y(T) = (a + b)·T with a ~ N(1, 1), b ~ N(2, 2): first-order Sobol'
    indices S_a = 1/5, S_b = 4/5, S_c = 0 (independent, additive: S1 = ST)."""
    m = Module("toy")
    a = m.parameter("a", 1.0, "1/h", "assumed: test", variability=Variability("normal", 1.0))
    b = m.parameter("b", 2.0, "1/h", "assumed: test", variability=Variability("normal", 2.0))
    c = m.parameter("c", 3.0, "1/h", "assumed: test", variability=Variability("lognormal", 0.5))
    y = m.state("y", "dimensionless", 0.0)
    m.ode(y, a + b + 0 * c)
    return compose([m])


def test_sobol_indices_match_the_closed_form(additive):
    res = analyse(additive, outcome="y:final", regimens=[], horizon=2.0, every=1.0, method="sobol", n=512, seed=4)
    idx = res.indices.set_index("parameter")
    assert idx.loc["a", "S1"] == pytest.approx(0.2, abs=0.06)
    assert idx.loc["b", "S1"] == pytest.approx(0.8, abs=0.08)
    assert idx.loc["b", "ST"] == pytest.approx(0.8, abs=0.08)
    assert abs(idx.loc["c", "ST"]) < 0.02
    assert list(res.indices["parameter"][:2]) == ["b", "a"]
    assert res.runs == 512 * (3 + 2)
    assert np.var(res.outcome_values) == pytest.approx(4 * 5, rel=0.15)  # Var((a+b)T) = T²(1+4)


def test_morris_screening_ranks_the_driver_first_and_finds_the_inert_factor(additive):
    res = analyse(additive, outcome="y:final", regimens=[], horizon=2.0, every=1.0, method="morris", n=20, seed=1)
    idx = res.indices.set_index("parameter")
    assert list(res.indices["parameter"]) == ["b", "a", "c"]
    assert idx.loc["c", "mu_star"] == pytest.approx(0.0, abs=1e-9)
    assert res.runs == 20 * 4


def test_samples_follow_the_declared_distributions(additive):
    U = np.random.default_rng(0).random((20000, 3))
    P = unit_to_parameters(additive, ["a", "b", "c"], U)
    col = additive.param_index
    assert P[:, col["a"]].std() == pytest.approx(1.0, rel=0.05)
    assert np.median(P[:, col["c"]]) == pytest.approx(3.0, rel=0.03)  # log-normal: typical value is the median
    assert np.log(P[:, col["c"]]).std() == pytest.approx(np.sqrt(np.log1p(0.25)), rel=0.05)


def test_outcome_statistics():
    t = np.array([0.0, 1.0, 2.0])
    v = np.array([[0.0, 2.0, 1.0]])
    assert Outcome(variable="x", statistic="max").evaluate(t, v)[0] == 2.0
    assert Outcome(variable="x", statistic="auc").evaluate(t, v)[0] == pytest.approx(2.5)
    assert Outcome(variable="x", statistic="mean").evaluate(t, v)[0] == pytest.approx(1.25)
    assert Outcome(variable="x", statistic="at", at_hours=1.0).evaluate(t, v)[0] == 2.0


@pytest.mark.parametrize("kwargs, message", [
    ({"outcome": "y"}, "is not 'variable:statistic'"),
    ({"outcome": "yy:max"}, "unknown outcome variable 'yy'; did you mean y"),
    ({"outcome": "y:at 5 h"}, "after the horizon"),
    ({"outcome": "y:max", "parameters": ["a", "nope"]}, "unknown parameter(s) nope"),
    ({"outcome": "y:max", "method": "sobol", "n": 100}, "power of 2"),
    ({"outcome": "y:max", "method": "fast"}, "unknown method 'fast'"),
    ({"outcome": "y:max", "modules": ["gut"]}, "unknown module(s) gut"),
    ({"outcome": "y:max", "every": 3.0}, "longer than the horizon"),
    ({"outcome": "y:max", "horizon": -2.0}, "must be positive"),
])
def test_bad_requests_get_clear_errors(additive, kwargs, message):
    with pytest.raises(OpiaxisInputError, match=None) as exc:
        analyse(additive, regimens=[], **{"horizon": 2.0, "every": 1.0, **kwargs})
    assert message in str(exc.value)


def test_a_parameter_without_variability_is_refused(model):
    fixed = next(p.name for p in model.parameters if p.variability is None)
    with pytest.raises(OpiaxisInputError, match="no between-patient variability"):
        analyse(model, outcome="ventilation_rel:min", regimens=[], horizon=24.0, parameters=[fixed])
    with pytest.raises(OpiaxisInputError, match="unknown outcome variable"):
        parse_outcome("ventilation:min", model, 24.0)
