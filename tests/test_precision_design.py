"""Data that discriminate between candidates (issue 15): a methadone PK test dose must narrow the
posterior of the methadone parameters that the decision draws use, where a buprenorphine-only
history leaves them at their population spread; the transcutaneous PCO2 read-out reads PaCO2."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))


def test_transcutaneous_pco2_reads_paco2_and_converts_kpa(model):
    from opiaxis.calibrate import read_patients
    df = pd.DataFrame([
        {"patient": "T", "kind": "regimen", "time": 0, "name": "heroin 20 mg IV q8h for 2 d", "value": "", "unit": ""},
        {"patient": "T", "kind": "measurement", "time": 1, "name": "ptcco2", "value": 6.0, "unit": "kPa"},
    ])
    data = read_patients(df, model)["T"]
    assert data.measurements["value"].iloc[0] == pytest.approx(6.0 * 7.50062, rel=1e-4)


def _methadone_cl_draws(model, design: str) -> tuple[float, object]:
    import decision_study as ds
    from opiaxis.calibrate.fit import fit_patient, read_patients, synthetic_table
    P = ds.true_parameters(model, {}, {}, 3, "typical-1")
    regimens, visits = ds.DESIGNS[design]
    df = synthetic_table(model, P, ds.REGIMENS + regimens, {**ds.VISITS, **visits}, patient="typical-1", seed=3)
    fit = fit_patient(read_patients(df, model)["typical-1"], model)
    z = np.log(fit.draw_parameters(400, 0)[:, model.param_index["methadone_CL"]])
    return float(np.subtract(*np.percentile(z, [95, 5])) / (2 * 1.6449)), fit  # the 90% range as an SD


def test_methadone_test_dose_narrows_the_decision_draws_of_methadone_clearance(model):
    omega = float(np.sqrt(np.log1p(0.45 ** 2)))  # methadone CL: cv 0.45 (data/drugs.yaml)
    std, fit_std = _methadone_cl_draws(model, "standard")
    inf, fit_inf = _methadone_cl_draws(model, "informative")
    # without methadone in the record its clearance is not even screened: the population spread
    assert "methadone_CL" not in set(fit_std.screen["parameter"])
    assert 0.8 * omega < std < 1.25 * omega, (std, omega)
    # the test dose's four levels inform it: fitted, and the decision draws at most 70% as wide
    row = fit_inf.table.set_index("parameter").loc["methadone_CL"]
    assert row["fitted"] and row["sd_ratio"] < 0.7, row
    assert inf < 0.7 * omega, (inf, omega)


@pytest.fixture(scope="module")
def typical_informative(model):
    import decision_study as ds
    return ds.one_patient(model, "typical", 1, "assumed", seed=3, draws=20, horizon=28.0, design="informative")


def test_informative_design_puts_methadone_first_for_a_patient_whose_true_best_it_is(typical_informative):
    """typical-1 of the decision study: with the standard (buprenorphine-only) record rank 1 is a
    buprenorphine combination against a true best methadone combination; with the methadone test
    dose's levels and the heroin-week PtcCO2 the posterior ranks a methadone combination first
    (docs/precision-recovery.md, issue 15 fourth pass)."""
    r = typical_informative
    assert r["true_best"].startswith("methadone"), r["true_best"]
    assert r["recommended"].startswith("methadone"), (r["recommended"], r["true_best"], r["regret"])
    assert r["rank1_is_max_eu"]


@pytest.mark.xfail(strict=True, reason="known miss since the breathing-tolerance rebuild (fifth session): rank 1 "
                   "is methadone + PEG + naloxegol, the true best methadone + SSRI + PEG (regret 0.11, just above "
                   "the MID 0.1); before the rebuild rank 1 was the true best. Cause not yet diagnosed "
                   "(docs/precision-recovery.md)")
def test_informative_design_ranks_the_true_best_combination_first(typical_informative):
    r = typical_informative
    assert r["hit"], (r["recommended"], r["true_best"], r["regret"])
