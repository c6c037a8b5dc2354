"""Oro-caecal transit time by lactulose hydrogen breath test (read-out ``octt``, issue 15): the read-out's
definition and its bad inputs in a patient file, and the decision study's design that measures it (the
gut module's prediction of it is tested in tests/test_gut.py)."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from opiaxis.calibrate import read_patients
from opiaxis.errors import OpiaxisInputError
from opiaxis.observe import load_readouts

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))


def test_the_readout_is_defined_with_the_tests_noise_and_its_end():
    r = load_readouts()["octt"]
    assert r.kind == "continuous" and r.unit == "min" and r.variables == ["oro_caecal_transit_time"]
    assert r.noise.model == "lognormal" and 0.1 <= r.noise.cv <= 0.3 and "La Brooy" in r.noise.source
    assert r.uloq == pytest.approx(300.0) and r.lloq is None


def _patient(tmp_path, value, unit):
    p = tmp_path / "t.csv"
    p.write_text("patient,kind,time,name,value,unit\nA,regimen,0,methadone 30 mg oral q24h for 3 d,,\n"
                 f"A,measurement,50,octt,{value},{unit}\n")
    return p


def test_a_patient_file_reads_it_converts_hours_and_censors_a_test_without_a_rise(model, tmp_path):
    m = read_patients(_patient(tmp_path, 2.5, "h"), model)["A"].measurements
    assert m["measurement"].iloc[0] == "octt" and m["value"].iloc[0] == pytest.approx(150.0)
    m = read_patients(_patient(tmp_path, ">ULOQ", "min"), model)["A"].measurements
    assert m["censored"].iloc[0] == ">" and m["limit"].iloc[0] == pytest.approx(300.0)


@pytest.mark.parametrize("value, unit, words", [
    (120, "ng/mL", ["t.csv:3", "unit", "'ng/mL'", "min"]),
    (120, "", ["t.csv:3", "unit", "missing unit"]),
    (-5, "min", ["t.csv:3", "value", "negative"]),
    ("slow", "min", ["t.csv:3", "value"]),
])
def test_a_bad_octt_row_names_the_line_and_the_field(model, tmp_path, value, unit, words):
    with pytest.raises(OpiaxisInputError) as exc:
        read_patients(_patient(tmp_path, value, unit), model)
    for w in words:
        assert w in str(exc.value), str(exc.value)


def test_the_transit_design_is_informative_plus_three_breath_tests(model):
    import decision_study as ds
    from opiaxis.calibrate.fit import synthetic_table
    regimens, visits = ds.DESIGNS["informative-transit"]
    base_reg, base_vis = ds.DESIGNS["informative"]
    assert regimens == base_reg and {k: v for k, v in visits.items() if k != "octt"} == base_vis
    # dated 1 h after the lactulose: lactulose 1 h after an observed heroin dose (q8h from 0) on the intake
    # day, at a buprenorphine trough (daily from 168 h), 2 h after the methadone test dose
    heroin_doses = np.arange(0, 168, 8)
    (t_dose, _), = ds.TEST_DOSE
    assert visits["octt"] == [162, 335, 460] and 160 in heroin_doses and (335 - 168) % 24 == 23
    assert t_dose + 3 == 460
    P = ds.true_parameters(model, {}, {}, 3, "typical-1")
    df = synthetic_table(model, P, ds.REGIMENS + regimens, {**ds.VISITS, **visits}, patient="typical-1", seed=3)
    got = df[df["name"] == "octt"]
    assert len(got) == 3 and (got["unit"] == "min").all()


def test_the_breath_tests_inform_the_guts_mu_sensitivity_and_voi_can_propose_them(model):
    """low_bup_exposure-1 of the decision study (gut_mor_imax at −1.5 prior SD): on the informative
    design the record leaves the gut's μ sensitivity at its prior (SD ratio 0.96, docs/precision-recovery.md,
    ninth session); the three breath tests narrow it and move it towards the truth. The value-of-information
    catalogue (every read-out the model predicts) includes the breath test."""
    import decision_study as ds
    from opiaxis.calibrate.fit import fit_patient, synthetic_table
    from opiaxis.calibrate.voi import _readout_terms, record_information
    cov, shifts = ds.PHENOTYPES["low_bup_exposure"]
    P = ds.true_parameters(model, cov, shifts, 3, "low_bup_exposure-1")
    regimens, visits = ds.DESIGNS["informative-transit"]
    df = synthetic_table(model, P, ds.REGIMENS + regimens, {**ds.VISITS, **visits}, patient="low_bup_exposure-1",
                         seed=3, covariates=cov)
    fit = fit_patient(read_patients(df, model)["low_bup_exposure-1"], model)
    info = record_information(fit, ["gut_mor_imax"]).loc["gut_mor_imax"]
    assert info["sd_ratio"] < 0.8 and info["z_posterior"] < -0.4, info
    assert "octt" in {name for name, _ in _readout_terms(fit)}
