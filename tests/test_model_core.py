"""The declarative core: unit checking, interface variables, composition errors."""
import pytest
import sympy as sp

from opiaxis.errors import ModelDefinitionError
from opiaxis.model import Module, compose, lognormal


def pk_module():
    m = Module("pk")
    a = m.state("drug_central", "mg", 0.0)
    v = m.parameter("drug_V", 50.0, "L", "assumed: test", variability=lognormal(0.3))
    cl = m.parameter("drug_CL", 5.0, "L/h", "assumed: test")
    conv = m.parameter("conv", 1000.0, "ng/mL/(mg/L)", "unit identity")
    m.assign("drug_plasma", conv * a / v, "ng/mL", interface=True)
    m.ode(a, -cl / v * a)
    return m


def effect_module(unit="ng/mL"):
    m = Module("effect")
    c = m.input("drug_plasma", unit, 0.0, "assumed: absent")
    k = m.parameter("k_eff", 0.5, "1/h", "assumed: test")
    kd = m.parameter("kd", 2.0, "ng/mL", "assumed: test")
    e = m.state("signal", "dimensionless", 0.0)
    m.ode(e, k * (c / (kd + c) - e))
    return m


def test_interface_variable_connects_modules():
    model = compose([pk_module(), effect_module()])
    assert [(c.variable, c.provider, c.consumer) for c in model.couplings] == [("drug_plasma", "pk", "effect")]
    assert "drug_plasma" not in model.param_index  # provided, so not a parameter


def test_unprovided_input_becomes_parameter_with_default():
    model = compose([effect_module()])
    p = model.parameter("drug_plasma")
    assert p.value == 0.0 and "input default" in p.source


def test_unit_mismatch_names_module_equation_and_units():
    m = Module("bad")
    a = m.state("x", "mg", 0.0)
    k = m.parameter("k", 1.0, "1/min", "assumed: test")
    m.ode(a, -k * a)
    with pytest.raises(ModelDefinitionError) as e:
        compose([m])
    msg = str(e.value)
    assert "module 'bad'" in msg and "dx/dt" in msg and "factor 60" in msg


def test_dimension_mismatch_in_sum_is_reported():
    m = Module("bad")
    a = m.state("x", "mg", 0.0)
    v = m.parameter("V", 1.0, "L", "assumed: test")
    k = m.parameter("k", 1.0, "1/h", "assumed: test")
    m.ode(a, -k * a + k * v)
    with pytest.raises(ModelDefinitionError, match="terms of a sum differ in unit"):
        compose([m])


def test_interface_unit_mismatch_is_an_error():
    with pytest.raises(ModelDefinitionError, match="drug_plasma"):
        compose([pk_module(), effect_module("mg/L")])


def test_using_another_modules_symbol_without_input_is_an_error():
    m = Module("sneaky")
    s = m.state("y", "ng/mL", 0.0)
    k = m.parameter("k2", 1.0, "1/h", "assumed: test")
    m.ode(s, k * (sp.Symbol("drug_plasma", real=True) - s))
    with pytest.raises(ModelDefinitionError, match="without declaring it as an input"):
        compose([pk_module(), m])


def test_parameter_needs_a_source():
    m = Module("x")
    with pytest.raises(ModelDefinitionError, match="no source"):
        m.parameter("k", 1.0, "1/h", "")


def test_duplicate_names_across_modules():
    with pytest.raises(ModelDefinitionError, match="declared by both"):
        compose([pk_module(), pk_module()])


def test_assignment_cycle_is_detected():
    m = Module("cyc")
    x = m.state("x", "dimensionless", 0.0)
    a = sp.Symbol("a", real=True)
    b = sp.Symbol("b", real=True)
    k = m.parameter("kk", 1.0, "1/h", "assumed: test")
    m.assign("a", b + 1, "dimensionless")
    m.assign("b", a + 1, "dimensionless")
    m.ode(x, k * (a - x))
    with pytest.raises(ModelDefinitionError, match="cycle"):
        compose([m])


def test_full_model_has_the_interface_variables(model):
    # (every parameter's unit and source are enforced by Module.parameter: test above)
    for name in ("mor_occupancy_central", "mor_agonism_central", "mor_enteric_occupancy",
                 "mor_enteric_agonism", "kor_agonism", "mor_availability_pet"):
        assert name in model.assignment_index


def test_parameters_upstream_follow_the_equations_one_way():
    """Model.parameters_upstream: a read-out's parameters through assignments, ODEs, initial values
    and dose targets; never those of a module it does not depend on (the fit's screen skips those)."""
    pk = pk_module()
    pk.parameter("drug_F", 0.5, "dimensionless", "assumed: test")
    pk.dose_target("drug.oral", "drug_central", bioavailability="drug_F")
    model = compose([pk, effect_module()])
    assert model.parameters_upstream({"drug_plasma"}) == {"drug_V", "drug_CL", "conv", "drug_F"}
    assert model.parameters_upstream({"signal"}) == {"drug_V", "drug_CL", "conv", "drug_F", "k_eff", "kd"}
    assert model.parameters_upstream({"drug_central"}) == {"drug_V", "drug_CL", "drug_F"}
    assert model.parameters_upstream({"kd"}) == {"kd"}
