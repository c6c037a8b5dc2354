"""Tests for opiaxis.dosing: event tables, ADDL expansion and the regimen shorthand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from opiaxis.dosing import (
    EVENT_COLUMNS,
    expand_doses,
    parse_regimen,
    read_event_table,
    regimen_to_events,
)
from opiaxis.errors import OpiaxisInputError

DRUGS: dict[str, set[str]] = {
    "buprenorphine": {"sl", "iv"},
    "naloxone": {"iv", "im", "intranasal", "sl"},
    "heroin": {"iv", "smoked", "intranasal"},
    "naltrexone": {"oral", "xr_im"},
    "morphine": {"iv", "oral", "oral_er"},
    "oxycodone": {"oral", "oral_er"},
    "fentanyl": {"iv", "transdermal", "intranasal"},
    "oxytocin": {"intranasal", "iv"},
    "samidorphan": {"oral"},
}
OXYTOCIN_MG_PER_IU = 1 / 600  # ~600 IU per mg
CMTS = ["buprenorphine.sl", "naloxone.iv", "morphine.iv"]
WHERE = "study.yaml:14 arms[0].regimens[1]"


def one(text: str, **kw) -> dict:
    df = parse_regimen(text, drugs=DRUGS, unit_factors={"oxytocin": OXYTOCIN_MG_PER_IU}, **kw)
    assert len(df) == 1
    return df.iloc[0].to_dict()


# --------------------------------------------------------------------------- regimen parsing


@pytest.mark.parametrize(
    "text, expected",
    [
        ("buprenorphine 16 mg SL q24h for 28 d",
         dict(TIME=0.0, AMT=16.0, CMT="buprenorphine.sl", RATE=0.0, II=24.0, ADDL=27)),
        ("heroin 20 mg IV q6h for 7 d",
         dict(TIME=0.0, AMT=20.0, CMT="heroin.iv", RATE=0.0, II=6.0, ADDL=27)),
        ("naltrexone 50 mg oral once",
         dict(TIME=0.0, AMT=50.0, CMT="naltrexone.oral", RATE=0.0, II=0.0, ADDL=0)),
        ("naltrexone 380 mg XR-IM q4w for 24 weeks",
         dict(TIME=0.0, AMT=380.0, CMT="naltrexone.xr_im", RATE=0.0, II=672.0, ADDL=5)),
        ("morphine 10 mg IV over 2 h",
         dict(TIME=0.0, AMT=10.0, CMT="morphine.iv", RATE=5.0, II=0.0, ADDL=0)),
        ("oxycodone 10 mg PO bid for 12 weeks from day 1",
         dict(TIME=0.0, AMT=10.0, CMT="oxycodone.oral", RATE=0.0, II=12.0, ADDL=167)),
        ("oxytocin 40 IU intranasal once at 2 h",
         dict(TIME=2.0, AMT=40 * OXYTOCIN_MG_PER_IU, CMT="oxytocin.intranasal", RATE=0.0,
              II=0.0, ADDL=0)),
        ("fentanyl 25 ug/h TD q72h for 12 d",
         dict(TIME=0.0, AMT=1.8, CMT="fentanyl.transdermal", RATE=0.025, II=72.0, ADDL=3)),
        # aliases, spacing, case, attached units
        ("  Morphine   30mg  oral ER   q12h  x 3 doses ",
         dict(TIME=0.0, AMT=30.0, CMT="morphine.oral_er", RATE=0.0, II=12.0, ADDL=2)),
        ("buprenorphine 300 µg sublingual tid for 2 days starting day 3",
         dict(TIME=48.0, AMT=0.3, CMT="buprenorphine.sl", RATE=0.0, II=8.0, ADDL=5)),
        ("naloxone 4 mg nasal once", dict(TIME=0.0, AMT=4.0, CMT="naloxone.intranasal",
                                          RATE=0.0, II=0.0, ADDL=0)),
        ("heroin 0.02 g smoked/inhaled qid for 1 d",
         dict(TIME=0.0, AMT=20.0, CMT="heroin.smoked", RATE=0.0, II=6.0, ADDL=3)),
        ("naltrexone 380 mg depot monthly for 6 months",
         dict(TIME=0.0, AMT=380.0, CMT="naltrexone.xr_im", RATE=0.0, II=672.0, ADDL=5)),
        ("naltrexone 380 mg extended-release IM once", dict(CMT="naltrexone.xr_im", ADDL=0)),
        ("fentanyl 100 mcg iv over 30 min", dict(AMT=0.1, RATE=0.2, II=0.0)),
        ("morphine 10 mg iv once daily for 2.5 d", dict(II=24.0, ADDL=2)),  # ceil(60/24)=3
        ("morphine 10 mg iv q1d x1", dict(II=24.0, ADDL=0)),
        ("morphine 10 mg iv weekly for 4 weeks", dict(II=168.0, ADDL=3)),
    ],
)
def test_parse_regimen_examples(text: str, expected: dict) -> None:
    row = one(text)
    assert row["EVID"] == 1
    for key, value in expected.items():
        if isinstance(value, float):
            assert row[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key
        else:
            assert row[key] == value, key


def test_parse_regimen_columns_and_start() -> None:
    df = parse_regimen("heroin 20 mg IV q6h for 7 d from day 2", drugs=DRUGS, start=100.0)
    assert list(df.columns) == ["TIME", "EVID", "AMT", "CMT", "RATE", "II", "ADDL"]
    assert df["TIME"].iloc[0] == 124.0
    # doses strictly before start + duration: last dose at 124 + 27*6 = 286 < 124 + 168
    assert df["TIME"].iloc[0] + df["ADDL"].iloc[0] * df["II"].iloc[0] < 124.0 + 168.0


@pytest.mark.parametrize("name", ["buprenorphine-naloxone", "buprenorphine/naloxone",
                                  "Buprenorphine / Naloxone"])
def test_combination_buprenorphine_naloxone(name: str) -> None:
    df = parse_regimen(f"{name} 16/4 mg SL q24h for 28 d", drugs=DRUGS)
    assert df["CMT"].tolist() == ["buprenorphine.sl", "naloxone.sl"]
    assert df["AMT"].tolist() == [16.0, 4.0]
    assert df["II"].tolist() == [24.0, 24.0]
    assert df["ADDL"].tolist() == [27, 27]


def test_combination_falls_back_to_oral() -> None:
    df = parse_regimen("buprenorphine-samidorphan 2/2 mg SL daily x 5", drugs=DRUGS)
    assert df["CMT"].tolist() == ["buprenorphine.sl", "samidorphan.oral"]
    drugs = dict(DRUGS, samidorphan={"oral", "sl"})
    df = parse_regimen("buprenorphine-samidorphan 2/2 mg SL daily x 5", drugs=drugs)
    assert df["CMT"].tolist() == ["buprenorphine.sl", "samidorphan.sl"]


def test_regimen_to_events() -> None:
    ev = regimen_to_events(["naloxone 0.4 mg IV once at 5 h",
                            "buprenorphine 16 mg SL q24h for 2 d"],
                           drugs=DRUGS, ids=[2, 1])
    assert tuple(ev.columns) == EVENT_COLUMNS
    assert ev["ID"].tolist() == [1, 1, 2, 2]
    assert ev["CMT"].tolist() == ["buprenorphine.sl", "naloxone.iv"] * 2
    assert ev["TIME"].tolist() == [0.0, 5.0, 0.0, 5.0]
    # the result is a valid event table
    table = read_event_table(ev, cmt_names=CMTS, name="regimens")
    expanded = expand_doses(table)
    assert expanded[expanded["ID"] == 1]["TIME"].tolist() == [0.0, 5.0, 24.0]


# --------------------------------------------------------------------------- regimen errors


def err(text: str, **kw) -> OpiaxisInputError:
    with pytest.raises(OpiaxisInputError) as info:
        parse_regimen(text, drugs=DRUGS, where=WHERE, **kw)
    e = info.value
    assert e.file == "study.yaml"
    assert e.line == 14
    assert e.field == "arms[0].regimens[1]"
    assert repr(text) in str(e)
    assert str(e).startswith("study.yaml:14: arms[0].regimens[1]: ")
    return e


def test_error_unknown_drug() -> None:
    e = err("buprenorphin 16 mg SL once")
    assert "unknown drug 'buprenorphin'" in e.message
    assert "naltrexone" in e.message  # lists known drugs
    assert "did you mean 'buprenorphine'" in e.message


def test_error_unknown_combination_component() -> None:
    e = err("buprenorphine-naloxon 16/4 mg SL once")
    assert "unknown drug 'naloxon'" in e.message and "did you mean 'naloxone'" in e.message


def test_error_unknown_route() -> None:
    e = err("buprenorphine 16 mg sublinguel once")
    assert "unknown route 'sublinguel'" in e.message
    assert "xr_im" in e.message
    assert "did you mean 'sublingual'" in e.message


def test_error_route_not_for_drug() -> None:
    e = err("buprenorphine 16 mg oral once")
    assert "'oral' is not available for buprenorphine" in e.message
    assert "iv, sl" in e.message


def test_error_missing_route() -> None:
    e = err("buprenorphine 16 mg q24h for 2 d")
    assert "missing route" in e.message and "token 4 'q24h'" in e.message


def test_error_missing_unit() -> None:
    e = err("buprenorphine 16 SL once")
    assert "missing unit after amount '16'" in e.message and "mg" in e.message


def test_error_unknown_unit() -> None:
    e = err("buprenorphine 16 mgs SL once")
    assert "unknown unit 'mgs'" in e.message and "did you mean 'mg'" in e.message
    e = err("buprenorphine 2 mL SL once")
    assert "volume" in e.message


@pytest.mark.parametrize("amount, words", [("-16", "must be > 0"), ("0", "must be > 0"),
                                            ("sixteen", "not a number")])
def test_error_bad_amount(amount: str, words: str) -> None:
    e = err(f"buprenorphine {amount} mg SL once")
    assert words in e.message and f"token 2 '{amount}'" in e.message


def test_error_combination_amounts() -> None:
    e = err("buprenorphine-naloxone 16 mg SL once")
    assert "needs 2 amounts" in e.message
    e = err("buprenorphine 16/4 mg SL once")
    assert "expected one amount" in e.message


@pytest.mark.parametrize("freq", ["q6x", "qxh", "q6", "q0h"])
def test_error_malformed_frequency(freq: str) -> None:
    e = err(f"heroin 20 mg IV {freq} for 7 d")
    assert f"token 5 '{freq}'" in e.message and "q24h" in e.message


@pytest.mark.parametrize("tail, token", [("for 7 fortnights", "'fortnights'"),
                                         ("for seven d", "'seven'"),
                                         ("for -7 d", "'-7'"), ("x 0 doses", "'x'"),
                                         ("for", "at the end")])
def test_error_malformed_duration(tail: str, token: str) -> None:
    e = err(f"heroin 20 mg IV q6h {tail}")
    assert "malformed duration" in e.message and token in e.message


def test_error_duration_without_frequency() -> None:
    e = err("heroin 20 mg IV for 7 d")
    assert "needs a repeat frequency" in e.message and "token 5 'for'" in e.message
    e = err("heroin 20 mg IV once x 3")
    assert "needs a repeat frequency" in e.message


def test_error_frequency_without_duration() -> None:
    e = err("heroin 20 mg IV q6h")
    assert "needs a duration" in e.message


def test_error_trailing_garbage() -> None:
    e = err("naltrexone 50 mg oral once please")
    assert "token 6 'please'" in e.message and "unexpected" in e.message


def test_error_iu_without_factor_and_rate_without_duration() -> None:
    e = err("oxytocin 40 IU intranasal once")
    assert "mg-per-IU" in e.message and "unit_factors" in e.message
    e = err("fentanyl 25 ug/h TD once")
    assert "rate dose" in e.message and "over" in e.message


def test_where_without_line_and_default_field() -> None:
    with pytest.raises(OpiaxisInputError) as info:
        parse_regimen("nope 1 mg iv", drugs=DRUGS)
    assert info.value.file is None and info.value.field == "regimen"
    with pytest.raises(OpiaxisInputError) as info:
        parse_regimen("nope 1 mg iv", drugs=DRUGS, where="arm.yaml")
    assert info.value.file == "arm.yaml" and info.value.line is None


# --------------------------------------------------------------------------- event tables


def write(tmp_path: Path, text: str, name: str = "events.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD_CSV = """\
id,time,evid,amt,cmt,rate,ii,addl,DV,WT
1,0,1,16,buprenorphine.sl,0,24,2,.,70
1,1,0,.,.,.,.,.,1.5,70
1,2,1,0.4,2,0,0,0,.,70
2,0,4,10,MORPHINE.IV,5,0,0,.,80
"""


def test_read_event_table_csv(tmp_path: Path) -> None:
    df = read_event_table(write(tmp_path, GOOD_CSV), cmt_names=CMTS)
    assert list(df.columns) == list(EVENT_COLUMNS) + ["DV", "WT"]
    cmt = df["CMT"].tolist()
    assert pd.isna(cmt[1])
    assert cmt[:1] + cmt[2:] == ["buprenorphine.sl", "naloxone.iv", "morphine.iv"]
    assert df["EVID"].tolist() == [1, 0, 1, 4]
    assert df["AMT"].tolist() == [16.0, 0.0, 0.4, 10.0]
    assert df["ADDL"].tolist() == [2, 0, 0, 0]
    assert df["ID"].tolist() == [1, 1, 1, 2]
    assert np.isnan(df["DV"].iloc[0]) and df["DV"].iloc[1] == 1.5
    assert df["WT"].tolist() == [70, 70, 70, 80]


def test_read_event_table_optional_columns_default(tmp_path: Path) -> None:
    df = read_event_table(write(tmp_path, "ID,TIME,EVID,AMT,CMT\n1,0,1,5,1\n"),
                          cmt_names=CMTS)
    assert df[["RATE", "II", "ADDL"]].iloc[0].tolist() == [0.0, 0.0, 0]


def csv_error(tmp_path: Path, text: str) -> OpiaxisInputError:
    path = write(tmp_path, text)
    with pytest.raises(OpiaxisInputError) as info:
        read_event_table(path, cmt_names=CMTS)
    assert info.value.file == str(path)
    return info.value


HEADER = "ID,TIME,EVID,AMT,CMT,RATE,II,ADDL\n"
OK_ROW = "1,0,1,16,1,0,0,0\n"


@pytest.mark.parametrize(
    "bad_row, field, words",
    [
        ("1,abc,1,16,1,0,0,0", "TIME", ["'abc'", "not a number"]),
        ("1,-1,1,16,1,0,0,0", "TIME", ["TIME >= 0"]),
        ("1,,1,16,1,0,0,0", "TIME", ["missing"]),
        ("1,5,7,16,1,0,0,0", "EVID", ["EVID is 7", "4 (reset and dose)"]),
        ("1,5,1,-3,1,0,0,0", "AMT", ["AMT is -3", ">= 0"]),
        ("1,5,1,0,1,0,0,0", "AMT", ["dose row", "> 0 mg"]),
        ("1,5,1,.,1,0,0,0", "AMT", ["missing on a dose row"]),
        ("1,5,1,16,1,-5,0,0", "RATE", ["RATE is -5", ">= 0"]),
        ("1,5,1,16,1,-2,0,0", "RATE", ["modelled duration", "not supported"]),
        ("1,5,1,16,1,-1,0,0", "RATE", ["modelled rate", "not supported"]),
        ("1,5,1,16,1,0,0,3", "II", ["ADDL is 3", "II > 0"]),
        ("1,5,1,16,1,0,24,1.5", "ADDL", ["ADDL is 1.5", "whole number"]),
        ("1,5,1,16,1,0,24,-1", "ADDL", ["ADDL is -1", "non-negative"]),
        ("1,5,1,16,1,0,-24,0", "II", ["II is -24"]),
        ("1,5,0,16,1,0,0,0", "AMT", ["EVID 0 row", "must be 0"]),
        ("1,5,1,16,bupe.sl,0,0,0", "CMT", ["CMT 'bupe.sl' is not a known dosing compartment",
                                           "buprenorphine.sl, naloxone.iv, morphine.iv"]),
        ("1,5,1,16,buprenorphine.sI,0,0,0", "CMT", ["did you mean 'buprenorphine.sl'"]),
        ("1,5,1,16,4,0,0,0", "CMT", ["CMT index 4 is out of range 1..3"]),
        ("1,5,1,16,,0,0,0", "CMT", ["CMT is missing on a dose row"]),
    ],
)
def test_read_event_table_bad_value_line(tmp_path: Path, bad_row: str, field: str,
                                         words: list[str]) -> None:
    # header = line 1, good rows on lines 2-3, blank line 4, bad row on line 5
    e = csv_error(tmp_path, HEADER + OK_ROW + OK_ROW + "\n" + bad_row + "\n" + OK_ROW)
    assert e.line == 5, str(e)
    assert e.field == field
    assert f"events.csv:5: {field}: " in str(e)
    for w in words:
        assert w in e.message, e.message


def test_read_event_table_missing_columns(tmp_path: Path) -> None:
    e = csv_error(tmp_path, "ID,TIME,AMT\n1,0,5\n")
    assert "EVID, CMT" in e.message
    assert "ID, TIME, EVID, AMT, CMT" in e.message  # expected set


def test_read_event_table_time_decreasing(tmp_path: Path) -> None:
    e = csv_error(tmp_path, HEADER + "1,0,1,16,1,0,0,0\n2,0,0,,,,,\n1,4,0,,,,,\n"
                  "1,3,0,,,,,\n")
    assert e.line == 5
    assert "within ID 1" in e.message and "line 4" in e.message and "line 5" in e.message


def test_read_event_table_field_count_and_ss(tmp_path: Path) -> None:
    e = csv_error(tmp_path, HEADER + OK_ROW + "1,0,1\n")
    assert e.line == 3 and "3 fields" in e.message
    e = csv_error(tmp_path, "ID,TIME,EVID,AMT,CMT,SS,II\n1,0,1,16,1,3,24\n")
    assert e.line == 2 and "SS is 3" in e.message
    e = csv_error(tmp_path, "ID,TIME,EVID,AMT,CMT,SS,II\n1,0,1,16,1,1,0\n")
    assert e.line == 2 and "steady-state dose needs" in e.message


def test_steady_state_dose_expands_to_a_run_in() -> None:
    from opiaxis.dosing import SS_RUN_IN_DOSES, SS_RUN_IN_HOURS
    table = pd.DataFrame({"ID": [1], "TIME": [0.0], "EVID": [4], "AMT": [16.0], "CMT": ["buprenorphine.sl"],
                          "II": [24.0], "ADDL": [2], "SS": [1]})
    out = expand_doses(read_event_table(table, cmt_names=CMTS))
    n_pre = max(SS_RUN_IN_DOSES, int(np.ceil(SS_RUN_IN_HOURS / 24)))
    assert out["TIME"].tolist() == [24.0 * k for k in range(-n_pre, 3)]
    assert set(out["EVID"]) == {1} and out["ORDER"].tolist() == list(range(n_pre + 3))


def test_read_event_table_dataframe_source() -> None:
    frame = pd.DataFrame({"ID": [1, 1], "Time": [0.0, 1.0], "EVID": [1, 1],
                          "AMT": [1.0, np.nan], "CMT": ["naloxone.iv", "naloxone.iv"]})
    with pytest.raises(OpiaxisInputError) as info:
        read_event_table(frame, cmt_names=CMTS, name="arm A events")
    e = info.value
    assert e.file == "arm A events" and e.line is None
    assert "row 1" in e.field and "AMT" in e.field and "missing" in e.message


def test_read_event_table_missing_file(tmp_path: Path) -> None:
    with pytest.raises(OpiaxisInputError) as info:
        read_event_table(tmp_path / "nope.csv", cmt_names=CMTS)
    assert "nope.csv" in str(info.value)


# --------------------------------------------------------------------------- expansion/order


def test_expand_doses_addl_and_order() -> None:
    table = pd.DataFrame({
        "ID":   [1, 1, 1, 1, 1, 2],
        "TIME": [0.0, 0.0, 12.0, 24.0, 24.0, 0.0],
        "EVID": [1, 1, 0, 1, 1, 1],
        "AMT":  [16.0, 4.0, 0.0, 2.0, 8.0, 1.0],
        "CMT":  ["buprenorphine.sl", "naloxone.iv", None, "naloxone.iv", "morphine.iv",
                 "morphine.iv"],
        "RATE": [0.0, 0.0, 0.0, 0.0, 4.0, 0.0],
        "II":   [24.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        "ADDL": [2, 0, 0, 0, 0, 0],
    })
    out = expand_doses(read_event_table(table, cmt_names=CMTS))
    assert list(out.columns) == ["ID", "TIME", "EVID", "AMT", "CMT", "RATE", "ORDER"]
    one_ = out[out["ID"] == 1]
    assert one_["TIME"].tolist() == [0.0, 0.0, 24.0, 24.0, 24.0, 48.0]
    # simultaneous at t=24: the implied dose of row 0 first (row order), then rows 3 and 4
    assert one_["CMT"].tolist() == ["buprenorphine.sl", "naloxone.iv", "buprenorphine.sl",
                                    "naloxone.iv", "morphine.iv", "buprenorphine.sl"]
    assert one_["ORDER"].tolist() == list(range(6))
    assert one_["RATE"].tolist() == [0.0, 0.0, 0.0, 0.0, 4.0, 0.0]
    assert out[out["ID"] == 2]["ORDER"].tolist() == [0]


def test_expand_doses_resets_first_and_cancel_addl() -> None:
    table = pd.DataFrame({
        "ID":   [1, 1, 1, 1],
        "TIME": [0.0, 48.0, 48.0, 60.0],
        "EVID": [1, 1, 3, 4],
        "AMT":  [16.0, 2.0, 0.0, 5.0],
        "CMT":  ["buprenorphine.sl", "naloxone.iv", None, "morphine.iv"],
        "II":   [24.0, 0.0, 0.0, 6.0],
        "ADDL": [4, 0, 0, 1],
    })
    out = expand_doses(read_event_table(table, cmt_names=CMTS))
    # reset at 48 sorts before the doses at 48 (written before it) and cancels the implied
    # buprenorphine doses at 48, 72, 96; the EVID 4 row resets before dosing and its own
    # additional dose (t=66) is a plain dose.
    assert out["TIME"].tolist() == [0.0, 24.0, 48.0, 48.0, 60.0, 66.0]
    assert out["EVID"].tolist() == [1, 1, 3, 1, 4, 1]
    assert out["CMT"].tolist()[3:] == ["naloxone.iv", "morphine.iv", "morphine.iv"]
    assert out["ORDER"].tolist() == list(range(6))
    assert out["AMT"].iloc[2] == 0.0


def test_expand_doses_missing_columns() -> None:
    with pytest.raises(OpiaxisInputError) as info:
        expand_doses(pd.DataFrame({"TIME": [0.0]}))
    assert "ID" in info.value.message and "EVID" in info.value.message


def test_expand_doses_reset_does_not_leak_across_ids() -> None:
    table = pd.DataFrame({
        "ID": [1, 2, 2], "TIME": [0.0, 0.0, 10.0], "EVID": [1, 1, 3],
        "AMT": [1.0, 1.0, 0.0], "CMT": ["naloxone.iv", "naloxone.iv", None],
        "II": [6.0, 6.0, 0.0], "ADDL": [3, 3, 0],
    })
    out = expand_doses(read_event_table(table, cmt_names=CMTS))
    assert out[out["ID"] == 1]["TIME"].tolist() == [0.0, 6.0, 12.0, 18.0]
    assert out[out["ID"] == 2]["TIME"].tolist() == [0.0, 6.0, 10.0]
    assert out[out["ID"] == 2]["EVID"].tolist() == [1, 1, 3]


def test_start_at_zero_hours_is_the_regimen_start_and_a_negative_one_is_refused() -> None:
    """``at 0 h`` is the regimen's own start (a start time may be 0; a duration may not)."""
    assert parse_regimen("heroin 20 mg IV at 0 h", drugs=DRUGS, start=100.0)["TIME"].tolist() == [100.0]
    assert parse_regimen("heroin 20 mg IV at 0.0 h", drugs=DRUGS)["TIME"].tolist() == [0.0]
    e = err("heroin 20 mg IV at -1 h")
    assert "must be >= 0" in e.message and "token 6 '-1'" in e.message
    e = err("heroin 20 mg IV q6h for 0 d")
    assert "must be > 0" in e.message


def test_error_start_day_zero_and_repeated_clause() -> None:
    e = err("heroin 20 mg IV q6h for 7 d from day 0")
    assert "day 1 is the start" in e.message
    e = err("heroin 20 mg IV q6h bid for 7 d")
    assert "frequency given twice" in e.message and "token 6 'bid'" in e.message


# ---------------------------------------------------------------------------------------------
# EventTable: the one place regimen text becomes event rows
# ---------------------------------------------------------------------------------------------
def _table(texts, **kw):
    from opiaxis.dosing import EventTable
    return EventTable.from_texts(texts, drugs=DRUGS, **kw)


def test_event_table_for_ids_matches_expanding_every_subject() -> None:
    """Expanding a regimen once and repeating it per subject gives what expanding each subject's
    rows gives (ORDER included), so the engine sees the same events."""
    texts = ["heroin 20 mg IV q6h for 2 d", "naloxone 0.4 mg IV once at 5 h"]
    got = _table(texts, start=3.0).for_ids([2, 1]).expanded()
    ref = expand_doses(regimen_to_events(texts, drugs=DRUGS, ids=[2, 1], start=3.0))
    key = ["ID", "TIME", "ORDER"]
    cols = ["ID", "TIME", "EVID", "AMT", "CMT", "RATE", "ORDER"]
    pd.testing.assert_frame_equal(got.sort_values(key, ignore_index=True)[cols],
                                  ref.sort_values(key, ignore_index=True)[cols])
    assert list(got.columns) == cols and len(got) == 2 * (8 + 1)


def test_event_table_sum_keeps_parts_apart() -> None:
    """Regimens not yet given combine into one regimen; parts given to subjects stay apart, a
    later part after an earlier one at equal times, and a reset in one part does not cancel
    another part's additional doses."""
    from opiaxis.dosing import PART_ORDER_OFFSET, EventTable
    both = _table("heroin 20 mg IV q6h for 1 d") + _table("naloxone 0.4 mg IV once")
    assert len(both.parts) == 1 and len(both.frame) == 2 and "ID" not in both.frame
    reset = EventTable.from_rows(pd.DataFrame({"ID": [1], "TIME": [6.0], "EVID": [3], "AMT": [0.0],
                                               "CMT": ["heroin.iv"], "RATE": [0.0], "II": [0.0], "ADDL": [0]}))
    ev = (_table("heroin 20 mg IV q6h for 1 d").for_ids([1, 2]) + reset).expanded()
    assert (ev["ID"] == 1).sum() == 4 + 1          # the heroin doses at 6, 12, 18 h are kept
    assert ev.loc[ev["EVID"] == 3, "ORDER"].item() == PART_ORDER_OFFSET
    assert set(reset.for_ids([2]).frame["ID"]) == set()    # subject rows of other IDs are left out


def test_event_table_errors_and_views() -> None:
    with pytest.raises(OpiaxisInputError, match="for_ids"):
        _table("heroin 20 mg IV once").expanded()
    with pytest.raises(OpiaxisInputError, match="2 locations for 1 regimens"):
        _table(["heroin 20 mg IV once"], where=["a", "b"])
    with pytest.raises(OpiaxisInputError, match="arm.yaml"):
        _table(["heroin 20 mg IV once", "nope 1 mg IV"], where=[None, "arm.yaml:3 arms[0].regimens[1]"])
    t = _table(["heroin 20 mg IV once", "heroin 10 mg IV once"], start=[0.0, 12.0])
    assert t.frame["TIME"].tolist() == [0.0, 12.0]
    assert t.for_ids([7, 8]).frame["ID"].tolist() == [7, 7, 8, 8]
    empty = _table([])
    assert len(empty) == 0 and len(empty.for_ids([1]).expanded()) == 0


def test_event_table_vocabulary_comes_from_the_model(model) -> None:
    from opiaxis.dosing import EventTable, drug_routes
    assert "sl" in drug_routes(model)["buprenorphine"]
    ev = EventTable.from_regimens(model, "oxytocin 24 IU intranasal once").for_ids([1]).expanded()
    assert ev["CMT"].item() == "oxytocin.intranasal" and 0 < ev["AMT"].item() < 1   # IU -> mg
