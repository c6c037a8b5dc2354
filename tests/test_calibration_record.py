"""The calibration record (data/calibration.yaml) agrees with the model: every entry names a
model or behaviour parameter, and the latest entry for each parameter (and ``what``) has its
current value (or spread) as the recorded new value; a parameter the model no longer has ends in a
``retired`` entry (new: null, saying what replaced it). An entry appended by
``opiaxis calibrate NAME --write`` fails here until the value is edited in its source — on purpose:
the record and the model must not disagree."""

from importlib import resources

import pytest

from opiaxis.calibrate.procedures import RECORD_FIELDS, read_record
from opiaxis.models import default_model


def entries():
    return read_record(resources.files("opiaxis") / "data" / "calibration.yaml")


def current(m, e):
    if e.get("candidate"):   # an intervention parameter: its calibrated value is a candidate's setting
        from opiaxis.calibrate.procedures import candidate_setting
        return candidate_setting(e["candidate"], e["parameter"])
    p = m.parameter(e["parameter"])   # a behaviour parameter too: they are model parameters (module behaviour)
    if e["what"] == "spread":
        return p.variability.spread if p.variability is not None else 0.0
    return p.value


def test_record_matches_the_model():
    m = default_model()
    recs = entries()
    assert recs, "the record is empty"
    latest = {}
    for e in recs:
        assert set(RECORD_FIELDS) <= set(e), f"{e.get('parameter')}: missing {sorted(set(RECORD_FIELDS) - set(e))}"
        assert e["what"] in ("value", "spread"), e["parameter"]
        assert e["targets"], e["parameter"]
        latest[(e["parameter"], e["what"])] = e
    for e in latest.values():
        if e.get("retired"):   # a parameter the model no longer has: its last entry says so, and why
            assert e["parameter"] not in m.param_index and e["new"] is None, e["parameter"]
            continue
        assert e["parameter"] in m.param_index, e["parameter"]
        assert current(m, e) == pytest.approx(float(e["new"]), rel=1e-9), e["parameter"]
    for e in recs:   # an entry for a parameter the model lacks must end in a retirement
        assert e["parameter"] in m.param_index or latest[(e["parameter"], e["what"])].get("retired"), e["parameter"]


def test_every_calibrated_procedure_parameter_has_a_history():
    """Each free parameter of a declared procedure has at least one record entry."""
    from opiaxis.calibrate.procedures import procedures
    named = {(e["parameter"], e["what"]) for e in entries()}
    for proc in procedures().values():
        for f in proc.free:
            assert (f.name, f.what) in named, f"{proc.name}: {f.name} ({f.what}) has no entry in calibration.yaml"
