"""One check of number fields and keys for every input file (issue 17): `yamlio.number` and
`yamlio.check_keys`, used by study files, covariate overrides, read-out definitions and VPop
targets alike. Each bad value is an error naming the file, line and field and what was expected."""
import math
import textwrap

import numpy as np
import pandas as pd
import pytest

from opiaxis.errors import OpiaxisInputError
from opiaxis.models import build_model
from opiaxis.observe import load_readouts
from opiaxis.population.vpop import select_vpop
from opiaxis.study import load_study
from opiaxis.yamlio import number


@pytest.mark.parametrize("value, kw, expected", [
    (3, {}, 3.0),
    (np.float64(2.5), {"positive": True}, 2.5),
    (0, {"minimum": 0}, 0.0),
    (7, {"integer": True, "minimum": 1}, 7),
    (np.int64(4), {"integer": True}, 4),
])
def test_a_number_field_is_returned_as_a_float_or_an_int(value, kw, expected):
    got = number(value, "f", **kw)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("value, kw, message", [
    ("fast", {}, "'fast' must be a finite number"),
    (math.nan, {}, "nan must be a finite number"),
    (math.inf, {"minimum": 0}, "inf must be a number >= 0"),
    (True, {}, "True must be a finite number"),
    (0, {"positive": True}, "0 must be a positive number"),
    (-0.5, {"minimum": 0}, "-0.5 must be a number >= 0"),
    (0, {"integer": True, "minimum": 1, "name": "size"}, "size 0 must be a positive integer"),
    (2.0, {"integer": True, "minimum": 0, "name": "seed"}, "seed 2.0 must be a non-negative integer"),
    (2, {"integer": True, "minimum": 3}, "2 must be an integer >= 3"),
])
def test_a_bad_number_field_says_where_and_what_was_expected(value, kw, message):
    with pytest.raises(OpiaxisInputError) as e:
        number(value, "population.size", file="s.yaml", line=4, **kw)
    assert e.value.file == "s.yaml" and e.value.line == 4 and e.value.field == "population.size"
    assert message in str(e.value), str(e.value)


STUDY = """\
name: tiny
seed: 11
population:
  size: 4
schedule:
  duration: 1 d
  every: 6 h
arms:
  - name: mor
    regimens: [morphine 10 mg IV once]
outputs: [morphine_plasma]
"""


@pytest.fixture(scope="module")
def small():
    return build_model(modules=["pk", "receptors"])


@pytest.mark.parametrize("old, new, line, field, message", [
    ("  size: 4", "  size: 0", 4, "population.size", "size 0 must be a positive integer"),
    ("  size: 4", "  size: 2.5", 4, "population.size", "size 2.5 must be a positive integer"),
    ("seed: 11", "seed: -1", 2, "seed", "seed -1 must be a non-negative integer"),
    ("    regimens:", "    weight: heavy\n    regimens:", 10, "arms[0].weight", "weight 'heavy' must be a positive number"),
    # a covariate setting on its own line is located at that line (not at the covariate's name)
    ("  size: 4", "  size: 4\n  covariates:\n    age:\n      mean: 40\n      sd: .nan", 8,
     "population.covariates.age.sd", "sd nan must be a finite number"),
])
def test_study_file_number_fields(tmp_path, small, old, new, line, field, message):
    p = tmp_path / "study.yaml"
    p.write_text(STUDY.replace(old, new))
    with pytest.raises(OpiaxisInputError) as e:
        load_study(p, small)
    assert (e.value.file, e.value.line, e.value.field) == (str(p), line, field)
    assert message in str(e.value), str(e.value)


def test_readouts_unknown_top_level_key_is_named_by_itself(tmp_path):
    p = tmp_path / "readouts.yaml"
    p.write_text(textwrap.dedent("""\
        version: 1
        readout: {x: {variable: il6_plasma, unit: pg/mL}}
        """))
    with pytest.raises(OpiaxisInputError) as e:
        load_readouts(p)
    assert (e.value.line, e.value.field) == (2, "readout")
    assert "did you mean 'readouts'?" in str(e.value)


@pytest.mark.parametrize("spec, field, message", [
    ({"dist": "normal", "mean": "ten", "sd": 1}, "targets.x.mean", "mean 'ten' must be a finite number"),
    ({"dist": "normal", "mean": 10, "sd": -1}, "targets.x.sd", "sd -1 must be a positive number"),
    ({"dist": "lognormal", "meanlog": 1, "sdlog": 0}, "targets.x.sdlog", "sdlog 0 must be a positive number"),
    ({"dist": "normal", "mean": 10, "sdd": 1}, "targets.x.sdd", "did you mean 'sd'?"),
])
def test_vpop_target_fields(spec, field, message):
    plausible = pd.DataFrame({"x": np.linspace(1, 20, 50)})
    with pytest.raises(OpiaxisInputError) as e:
        select_vpop(plausible, {"x": spec}, seed=1)
    assert e.value.field == field and message in str(e.value), str(e.value)
