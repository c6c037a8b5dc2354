"""Results list their outputs (.names) and give labelled access (results["name"])."""
import numpy as np
import pandas as pd
import pytest

from opiaxis.engine import simulate
from opiaxis.model import Module, compose
from opiaxis.population import sample_parameters


def _toy(elimination_rate: bool = False):
    """One-compartment IV toy model: amount, concentration (and the elimination rate if asked)."""
    m = Module("toy")
    k = m.parameter("k", 0.5, "1/h", "assumed: test")
    v = m.parameter("v", 10.0, "L", "assumed: test")
    a = m.state("amount", "mg")
    m.ode(a, -k * a)
    m.assign("concentration", a / v, "mg/L")
    if elimination_rate:
        m.assign("elimination_rate", k * a, "mg/h")
    m.dose_target("toy.iv", a)
    return compose([m])


def test_names_and_labelled_access():
    model = _toy()
    P = sample_parameters(model, [1, 2], 0)
    doses = pd.DataFrame({"ID": [1, 2], "TIME": [0.0, 0.0], "AMT": [10.0, 20.0], "CMT": ["toy.iv"] * 2,
                          "EVID": [1, 1], "RATE": [0.0, 0.0]})
    r = simulate(model, P, [1.0, 2.0], doses, ids=[1, 2])
    assert r.names == ["amount", "concentration"]
    assert "concentration" in r and "k" not in r
    np.testing.assert_array_equal(r["amount"], r.states[:, :, 0])
    np.testing.assert_allclose(r["concentration"], r.states[:, :, 0] / 10.0)
    np.testing.assert_allclose(r["amount"][:, 0], [10 * np.exp(-0.5), 20 * np.exp(-0.5)], rtol=1e-5)
    with pytest.raises(KeyError, match="neither a state"):
        r["nothing"]


def test_solver_stats_are_named():
    """``results.solver_stats.status`` (not ``stats[:, 2]``): solved patients have status 0 and
    steps counted; starved of steps, they fail and the named record says so."""
    from opiaxis.engine import SolverOptions
    m = Module("toy")
    k = m.parameter("k", 0.5, "1/h", "assumed: test")
    a = m.state("amount", "mg", initial=10.0)
    m.ode(a, -k * a)
    model = compose([m])
    P = sample_parameters(model, [1, 2], 0, variability=False)
    ok = simulate(model, P, [1.0, 200.0], None, ids=[1, 2])
    st = ok.solver_stats
    np.testing.assert_array_equal(st.status, [0, 0])
    assert (st.steps > 0).all() and (st.rejected >= 0).all() and not ok.failed.any()
    starved = simulate(model, P, [1.0, 200.0], None, ids=[1, 2], options=SolverOptions(max_steps=2))
    assert (starved.solver_stats.status != 0).all() and starved.failed.all()
    np.testing.assert_array_equal(starved.solver_stats.status, starved.stats[:, 2])


def test_results_as_labelled_array():
    xr = pytest.importorskip("xarray")
    m = Module("toy")
    k = m.parameter("k", 0.5, "1/h", "assumed: test")
    a = m.state("amount", "mg", initial=10.0)
    m.ode(a, -k * a)
    m.assign("half", a / 2, "mg")
    model = compose([m])
    P = sample_parameters(model, [3, 5], 0, variability=False)
    r = simulate(model, P, [0.0, 1.0, 2.0], None, ids=[3, 5])
    ds = r.to_xarray(["amount", "half"], coords={"arm": ["a", "b"]})
    assert isinstance(ds, xr.Dataset) and dict(ds.sizes) == {"patient": 2, "time": 3}
    assert ds["amount"].attrs["units"] == "mg" and list(ds["arm"].values) == ["a", "b"]
    np.testing.assert_array_equal(ds["half"].sel(patient=5).values, r["half"][1])
    from opiaxis.errors import OpiaxisInputError
    with pytest.raises(OpiaxisInputError, match="one value per patient"):
        r.to_xarray(coords={"arm": ["a"]})


def test_tidy_rows_by_patient_are_the_sorted_tidy_rows():
    """A study's chunk files hold rows by patient, variable name and time; ``to_frame(by_patient=True)``
    builds them in that order, and they must be exactly the variable-major table sorted (same
    values, dtypes and categories), whatever the order of the patient ids."""
    model = _toy(elimination_rate=True)
    ids = [7, 3, 11]
    P = sample_parameters(model, ids, 0)
    doses = pd.DataFrame({"ID": ids, "TIME": 0.0, "AMT": [10.0, 20.0, 5.0], "CMT": "toy.iv", "EVID": 1, "RATE": 0.0})
    r = simulate(model, P, [0.0, 1.0, 2.0, 4.0], doses, ids=ids)
    variables = ["concentration", "elimination_rate", "amount"]
    sorted_rows = r.to_frame(variables).sort_values(["patient", "variable", "time"], kind="mergesort",
                                                    ignore_index=True)
    pd.testing.assert_frame_equal(r.to_frame(variables, by_patient=True), sorted_rows, check_exact=True)
    from opiaxis.errors import OpiaxisInputError
    with pytest.raises(OpiaxisInputError, match="name one twice"):
        r.to_frame(["amount", "amount"], by_patient=True)
