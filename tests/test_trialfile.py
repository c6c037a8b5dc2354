"""Behaviour-trial files (opiaxis trial): checked input, adjunct dosing, outputs, reproducibility."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from opiaxis.behaviour.trialfile import km_curve, load_trial, run_trial, write_trial_outputs
from opiaxis.errors import OpiaxisInputError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SMALL = """kind: behaviour-trial
name: small
seed: 5
days: 10
population: {size: 10, fentanyl_supply: 0.0}
arms:
  - {name: mmt, treatment: methadone}
  - name: mmt+ot
    treatment: methadone
    adjunct: ["oxytocin 24 IU intranasal q12h for 12 weeks"]
"""


def _write(tmp_path, text, name="t.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("name", ["oud_treatment_24w.yaml", "fentanyl_vs_heroin.yaml", "oxytocin_adjunct.yaml"])
def test_examples_load(name):
    spec = load_trial(EXAMPLES / name)
    assert spec.arms and spec.size > 0 and spec.days > 0


@pytest.mark.parametrize("old,new,line,field,words", [
    ("treatment: methadone\n    adjunct", "treatment: methadon\n    adjunct", 9, "arms[1].treatment", "did you mean 'methadone'"),
    ("{name: mmt, treatment: methadone}", "{name: mmt, treatment: methadone, inpatient_days: -3}", 7,
     "arms[0].inpatient_days", "out of range"),
    ("{name: mmt, treatment: methadone}", "{name: mmt, treatment: methadone, behaviour: {use_rate_mx: 0.1}}", 7,
     "arms[0].behaviour.use_rate_mx", "use_rate_max"),
    ("seed: 5", "sead: 5", 3, "sead", "did you mean 'seed'"),
    ("oxytocin 24 IU intranasal", "oxytocn 24 IU intranasal", 10, None, "oxytocin"),
    ("kind: behaviour-trial", "kind: study", 1, "kind", "behaviour-trial"),
    ("size: 10,", "size: ten,", 5, "population.size", "not an integer"),
    ("{name: mmt, treatment: methadone}", "{name: mmt+ot, treatment: methadone}", 8, "arms[1].name", "used twice"),
])
def test_bad_input_names_file_line_field(tmp_path, old, new, line, field, words):
    assert old in SMALL
    p = _write(tmp_path, SMALL.replace(old, new))
    with pytest.raises(OpiaxisInputError) as e:
        load_trial(p)
    msg = str(e.value)
    assert str(p) in msg and words in msg
    assert f":{line}" in msg
    if field is not None:
        assert e.value.field == field


def test_malformed_yaml(tmp_path):
    p = _write(tmp_path, SMALL.replace("arms:", "arms: [unclosed"))
    with pytest.raises(OpiaxisInputError, match="not valid YAML"):
        load_trial(p)


def test_small_trial_adjunct_outputs_and_reproducibility(tmp_path):
    spec = load_trial(_write(tmp_path, SMALL))
    a = run_trial(spec)
    pats = a.patients
    ot = pats["arm"] == "mmt+ot"
    assert ot.any() and (~ot).any()
    # twice a day while in treatment; none in the other arm
    assert (pats.loc[~ot, "adjunct_doses"] == 0).all()
    in_tx_days = a.record.in_tx[ot.to_numpy()].sum(axis=1)
    assert np.all(pats.loc[ot, "adjunct_doses"].to_numpy() >= 2 * (in_tx_days - 1))
    assert pats.loc[ot, "adjunct_doses"].max() <= 2 * spec.days
    paths = write_trial_outputs(spec, a, tmp_path / "out")
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    assert len(pd.read_csv(paths[1])) == spec.size
    daily = pd.read_parquet(paths[2])
    assert len(daily) == spec.size * spec.days
    assert paths[3].read_text().count('class="plotly-graph-div"') == 4  # two Kaplan-Meier, two trajectories
    b = run_trial(load_trial(_write(tmp_path, SMALL, "u.yaml")))
    pd.testing.assert_frame_equal(a.patients, b.patients)


def test_km_curve():
    t = np.array([2.0, 3.0, 3.0, 5.0, 8.0])
    e = np.array([True, True, False, True, False])
    k = km_curve(t, e)
    # S(2) = 4/5; S(3) = 4/5 * 3/4; S(5) = 0.6 * 1/2
    np.testing.assert_allclose(k, [[0, 1], [2, 0.8], [3, 0.6], [5, 0.3]])


def test_run_and_trial_commands_run_the_same_trial_file(tmp_path):
    """A behaviour trial is a kind of study file: `opiaxis run` and `opiaxis trial` give the same
    outputs; `kind: trial` is the same kind."""
    from typer.testing import CliRunner

    from opiaxis.cli import app
    from opiaxis.study import load_spec
    p = _write(tmp_path, SMALL.replace("days: 10", "days: 4"))
    runner = CliRunner()
    for cmd in ("run", "trial"):
        res = runner.invoke(app, [cmd, str(p), "--out", str(tmp_path / cmd)])
        assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "run" / "patients.csv"),
                                  pd.read_csv(tmp_path / "trial" / "patients.csv"))
    alias = load_spec(_write(tmp_path, SMALL.replace("kind: behaviour-trial", "kind: trial"), "alias.yaml"))
    assert alias.kind == "behaviour-trial" and [a.name for a in alias.arms] == ["mmt", "mmt+ot"]


def test_unknown_kind_names_file_line_and_kinds(tmp_path):
    from opiaxis.study import load_spec
    with pytest.raises(OpiaxisInputError) as e:
        load_spec(_write(tmp_path, SMALL.replace("kind: behaviour-trial", "kind: behavior-trial")))
    assert "t.yaml:1" in str(e.value) and "behaviour-trial" in str(e.value) and "study" in str(e.value)
