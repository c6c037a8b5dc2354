"""Regimen grammar (issue 20): seconds and days as time units, continuous infusions written as
'infusion at R mg/h for N h', with located errors."""
from __future__ import annotations

import pytest

from opiaxis.dosing import parse_regimen
from opiaxis.errors import OpiaxisInputError

DRUGS = {"morphine": {"iv", "oral"}, "naloxone": {"iv", "intranasal"}, "fentanyl": {"iv", "transdermal"},
         "oxycodone": {"oral"}, "buprenorphine": {"sl", "iv"}}
WHERE = "trial.yaml:12 arms[1].adjunct[0]"


def one(text):
    df = parse_regimen(text, drugs=DRUGS)
    assert len(df) == 1
    return df.iloc[0].to_dict()


@pytest.mark.parametrize("text, amt, rate, time", [
    ("naloxone 0.4 mg IV once over 90 s", 0.4, 0.4 / (90 / 3600), 0.0),     # 16 mg/h for 90 s
    ("naloxone 0.4 mg IV over 90 sec", 0.4, 16.0, 0.0),
    ("naloxone 0.4 mg IV over 30 seconds", 0.4, 48.0, 0.0),
    ("morphine 48 mg IV over 2 days", 48.0, 1.0, 0.0),
    ("morphine 48 mg IV over 1 d", 48.0, 2.0, 0.0),
    ("morphine 10 mg IV once at 30 s", 10.0, 0.0, 30 / 3600),
])
def test_seconds_and_days(text, amt, rate, time):
    r = one(text)
    assert r["AMT"] == pytest.approx(amt) and r["RATE"] == pytest.approx(rate) and r["TIME"] == pytest.approx(time)
    assert r["II"] == 0 and r["ADDL"] == 0


@pytest.mark.parametrize("text, cmt, amt, rate, time", [
    ("morphine infusion at 2 mg/h IV for 24 h", "morphine.iv", 48.0, 2.0, 0.0),
    ("morphine IV infusion at 2 mg/h for 24 h", "morphine.iv", 48.0, 2.0, 0.0),
    ("morphine infusion at 2 mg/h for 1 d", "morphine.iv", 48.0, 2.0, 0.0),            # iv by default
    ("fentanyl infusion at 50 ug/h for 90 min from day 2", "fentanyl.iv", 0.075, 0.05, 24.0),
    ("fentanyl infusion at 1 ug/min for 2 h at 3 h", "fentanyl.iv", 0.12, 0.06, 3.0),
    ("morphine infusion at 2mg/h for 30 h", "morphine.iv", 60.0, 2.0, 0.0),
])
def test_infusion_at_rate_for_duration(text, cmt, amt, rate, time):
    r = one(text)
    assert r["CMT"] == cmt and r["II"] == 0 and r["ADDL"] == 0
    assert r["AMT"] == pytest.approx(amt) and r["RATE"] == pytest.approx(rate) and r["TIME"] == pytest.approx(time)
    # the infusion is the same input as the equivalent 'over' form
    if "from" not in text and " at 3 h" not in text:
        same = one(f"{cmt.split('.')[0]} {amt} mg IV over {amt / rate} h")
        assert same["AMT"] == pytest.approx(r["AMT"]) and same["RATE"] == pytest.approx(r["RATE"])


@pytest.mark.parametrize("text, token, words", [
    ("morphine infusion 2 mg/h for 24 h", "token 3 '2'", "expected 'at <rate>'"),
    ("morphine infusion at 2 mg for 24 h", "token 5 'mg'", "rate unit"),
    ("morphine infusion at 2 mg/h IV", "at the end", "needs its duration"),
    ("morphine infusion at 2 mg/h IV for 24 h q12h", "token 10 'q12h'", "unexpected text"),
    ("morphine infusion at 2 mg/h for 24 h for 2 h", "token 9 'for'", "given twice"),
    ("oxycodone infusion at 2 mg/h for 24 h", "token 2 'infusion'", "route 'iv' is not available"),
    ("morphine infusion at 2 mg/h for 24 parsecs", "token 8 'parsecs'", "unknown time unit"),
    ("naloxone 0.4 mg IV over 90 furlongs", "token 7 'furlongs'", "expected 'over <N> s|min|h|d'"),
])
def test_infusion_and_unit_errors_are_located(text, token, words):
    with pytest.raises(OpiaxisInputError) as info:
        parse_regimen(text, drugs=DRUGS, where=WHERE)
    e = info.value
    assert e.file == "trial.yaml" and e.line == 12 and e.field == "arms[1].adjunct[0]"
    assert token in str(e) and words in str(e), str(e)
