"""Issue 17: the behaviour layer's parameters are model parameters (a parameter-only module
``behaviour`` built from behaviour/params.py), read by the behaviour layer from the model it is
given; their between-patient draws stay the behaviour layer's own (stream BEHAVIOUR_TRAITS, by
name), and no ODE-side draw, factor or estimate moves. The behaviour record is a labelled
(patient, day) Dataset."""

import numpy as np
import pandas as pd
import pytest

from opiaxis.behaviour import CohortSim, behaviour_model, make_cohort
from opiaxis.behaviour.engine import behaviour_values
from opiaxis.behaviour.params import MODULE, PARAMS, module
from opiaxis.calibrate.procedures import with_parameters
from opiaxis.errors import ModelDefinitionError
from opiaxis.model.core import compose
from opiaxis.models import build_model


@pytest.fixture(scope="module")
def small():
    """pk and receptors with and without the behaviour parameters (no compilation needed)."""
    return build_model(modules=["pk", "receptors"]), build_model(modules=["pk", "receptors", "behaviour"])


def test_every_declaration_is_a_model_parameter_with_unit_source_and_variability():
    m = behaviour_model()
    declared = [p for p in m.parameters if p.module == MODULE]
    assert [p.name for p in declared] == list(PARAMS)
    for p in declared:
        b = PARAMS[p.name]
        assert (p.value, p.unit, p.source, p.description) == (b.value, b.unit, b.source, b.description)
        if b.cv > 0:
            assert p.variability.kind == "lognormal" and p.variability.spread == b.cv
        else:
            assert p.variability is None


def test_ode_sampling_leaves_them_typical_and_moves_no_other_draw(small):
    """The ODE side is unchanged: the same parameters are sampled with the same values (draws are
    keyed by name), and the behaviour parameters (a parameter-only module: no equation can use
    them) keep their typical values in the ODE rows."""
    from opiaxis.population import sample_parameters
    plain, with_b = small
    assert with_b.external_parameters() == set(PARAMS) and plain.external_parameters() == set()
    ids = np.arange(1, 9)
    P0, P1 = sample_parameters(plain, ids, 4), sample_parameters(with_b, ids, 4)
    for name, j in plain.param_index.items():
        assert np.array_equal(P0[:, j], P1[:, with_b.param_index[name]]), name
    for name in PARAMS:
        assert np.all(P1[:, with_b.param_index[name]] == PARAMS[name].value), name


def test_sensitivity_and_fit_leave_them_out(small):
    from opiaxis.calibrate.fit import candidate_parameters
    from opiaxis.sensitivity import factors
    plain, with_b = small
    assert factors(with_b) == factors(plain)
    with pytest.raises(Exception, match="dropout_rate: behaviour-layer parameter"):
        factors(with_b, names=["dropout_rate"])
    doses = pd.DataFrame({"ID": [1], "TIME": [0.0], "AMT": [8.0], "CMT": ["buprenorphine.sl"], "EVID": [1],
                          "RATE": [0.0]})
    assert candidate_parameters(with_b, doses) == candidate_parameters(plain, doses)


def test_sbml_export_carries_them(small):
    from opiaxis.interop.sbml import to_sbml
    _, with_b = small
    text = to_sbml(with_b)
    for name in ("use_rate_max", "xrntx_attendance", "heroin_dose"):
        assert f'id="{name}"' in text, name
    assert PARAMS["use_rate_max"].source[:30] in text


def test_the_behaviour_layer_reads_them_from_its_model():
    """Injected, not a module global: a model with another typical value gives every patient that
    value times their own deviation; a spread set on the model is the one drawn with; a model
    composed without them is a clear error."""
    m = behaviour_model()
    ids = np.arange(1, 7)
    B, eta = behaviour_values(m, ids, 3)
    B2, eta2 = behaviour_values(with_parameters(m, {"use_rate_max": 0.09}, {"heroin_dose": 0.0}), ids, 3)
    np.testing.assert_allclose(B2["use_rate_max"], 0.09 * eta["use_rate_max"])
    assert np.all(eta2["heroin_dose"] == 1.0) and np.all(B2["heroin_dose"] == PARAMS["heroin_dose"].value)
    assert np.array_equal(B["dropout_rate"], B2["dropout_rate"])
    with pytest.raises(ModelDefinitionError, match="no behaviour parameters"):
        behaviour_values(compose([m.modules[0]], name="pk-only"), ids, 3)


def test_draws_are_keyed_by_name_not_by_position():
    """A new behaviour parameter (appended by another change) moves no patient's other draws."""
    from opiaxis.behaviour.params import BParam, _P
    m = behaviour_model()
    ids = np.arange(1, 6)
    B, _ = behaviour_values(m, ids, 8)
    extra = module()
    extra.parameter("zz_new_trait", 1.0, "dimensionless", "assumed: test", variability=None)
    grown = compose(m.modules[:-1] + [extra], name="grown")
    B2, _ = behaviour_values(grown, ids, 8)
    assert all(np.array_equal(B[k], B2[k]) for k in B)
    assert isinstance(_P[0], BParam)


def test_behaviour_record_as_labelled_dataset():
    c = make_cohort([3, 1, 2], 6, covariates={"fentanyl_supply": {"p": 0.5}})
    sim = CohortSim(c, ["none", "methadone", "none"], 2, dt=24.0, immortal=True)
    rec = sim.run()
    ds = rec.to_xarray(coords={"site": ["a", "b", "a"]})
    assert ds["uses"].dims == ("patient", "day") and ds["dead_day"].dims == ("patient",)
    assert list(ds["patient"].values) == [3, 1, 2] and list(ds["day"].values) == [0, 1]
    assert list(ds["arm"].values) == ["none", "methadone", "none"] and list(ds["site"].values) == ["a", "b", "a"]
    assert np.array_equal(ds["fentanyl_supply"].values, c.cov["fentanyl_supply"].to_numpy())
    assert np.array_equal(ds["craving"].values, rec.craving) and np.array_equal(ds["in_tx"].values, rec.in_tx)
    assert ds["uses"].attrs["units"] == "1/d" and ds["dropout_day"].attrs["units"] == "d"
    assert ds["day"].attrs["units"] == "d"
    with pytest.raises(ValueError, match="one value per patient"):
        rec.to_xarray(coords={"site": ["a"]})
