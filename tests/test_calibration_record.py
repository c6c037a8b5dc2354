"""The calibration record (data/calibration.yaml) agrees with the model: every entry names a
model or behaviour parameter, and its current value (or spread) is the recorded new value."""

from importlib import resources

import pytest

from opiaxis.behaviour.params import PARAMS as BEHAVIOUR
from opiaxis.models import default_model
from opiaxis.yamlio import load_yaml

REQUIRED = {"parameter", "what", "old", "new", "targets", "objective", "procedure", "date"}


def entries():
    text = (resources.files("opiaxis") / "data" / "calibration.yaml").read_text(encoding="utf-8")
    return load_yaml(text, "calibration.yaml")


def test_record_matches_the_model():
    m = default_model()
    recs = entries()
    assert recs, "the record is empty"
    for e in recs:
        assert REQUIRED <= set(e), f"{e.get('parameter')}: missing {sorted(REQUIRED - set(e))}"
        name = e["parameter"]
        if name in BEHAVIOUR:
            b = BEHAVIOUR[name]
            current = b.cv if e["what"] == "spread" else b.value
        else:
            p = m.parameter(name)
            current = p.variability.spread if e["what"] == "spread" else p.value
        assert current == pytest.approx(float(e["new"]), rel=1e-9), e["parameter"]
        assert e["targets"], e["parameter"]
