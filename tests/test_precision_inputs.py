"""The bad-input catalogue of ``opiaxis fit`` / ``recommend`` for each input format (tidy table,
NONMEM dataset, SDTM-like domains): unknown read-out, unit mismatch, negative concentration, doses
after the decision time, a single row. Each is an :class:`OpiaxisInputError` naming the file, the
line and the column, and saying what was expected."""

import pytest

from opiaxis.calibrate import fit_patient, read_patients
from opiaxis.calibrate.recommend import check_decision_time
from opiaxis.errors import OpiaxisInputError

NM_HEAD = "ID,TIME,EVID,AMT,CMT,DV,MDV\n1,0,1,16,buprenorphine.sl,.,1\n"


def _nonmem(tmp_path, rows, head=NM_HEAD):
    p = tmp_path / "nm.csv"
    p.write_text(head + "".join(r + "\n" for r in rows))
    return p


def _raises(words, fn, *args):
    with pytest.raises(OpiaxisInputError) as exc:
        fn(*args)
    msg = str(exc.value)
    for w in words:
        assert w in msg, msg
    return msg


@pytest.mark.parametrize("rows, words", [
    # unknown read-out: a model variable without a noise model, and a name that is no model variable
    (["1,2,0,0,ventilation_rel,0.9,0"], ["nm.csv:3", "CMT", "ventilation_rel", "no read-out"]),
    (["1,2,0,0,buprenorphine_plasmaa,4.1,0"], ["nm.csv:3", "CMT", "buprenorphine_plasma"]),
    # negative concentration, a scale outside its range, a count that is not a count
    (["1,2,0,0,buprenorphine_plasma,-4.1,0"], ["nm.csv:3", "DV", "negative concentration"]),
    (["1,2,0,0,cows_score,70,0"], ["nm.csv:3", "DV", "outside the cows scale"]),
])
def test_nonmem_bad_rows_name_line_and_column(model, tmp_path, rows, words):
    _raises(words, read_patients, _nonmem(tmp_path, rows), model)


def test_nonmem_unit_mismatch(model, tmp_path):
    p = _nonmem(tmp_path, ["1,2,0,0,buprenorphine_plasma,4.1,0"],
                head="ID,TIME,EVID,AMT,CMT,DV[mg],MDV\n1,0,1,16,buprenorphine.sl,.,1\n")
    _raises(["nm.csv", "DV", "'mg'", "cannot be converted"], read_patients, p, model)


def test_nonmem_compatible_unit_is_converted(model, tmp_path):
    p = _nonmem(tmp_path, ["1,2,0,0,buprenorphine_plasma,4100,0"],
                head="ID,TIME,EVID,AMT,CMT,DV[pg/mL],MDV\n1,0,1,16,buprenorphine.sl,.,1\n")
    m = read_patients(p, model)["1"].measurements
    assert m["value"].iloc[0] == pytest.approx(4.1)


def test_tidy_negative_concentration(model, tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("patient,kind,time,name,value,unit\nA,regimen,0,buprenorphine 16 mg SL q24h for 3 d,,\n"
                 "A,measurement,24,buprenorphine_conc,-1.2,ng/mL\n")
    _raises(["t.csv:3", "value", "negative concentration"], read_patients, p, model)


def _sdtm(tmp_path, files):
    d = tmp_path / "sdtm"
    d.mkdir(exist_ok=True)
    for name, text in files.items():
        (d / name).write_text(text)
    return d


EX = ("USUBJID,EXTRT,EXDOSE,EXDOSU,EXROUTE,EXSTDTC\nP1,BUPRENORPHINE,16,mg,SUBLINGUAL,2026-01-01T08:00\n"
      "P1,BUPRENORPHINE,16,mg,SUBLINGUAL,2026-01-02T08:00\n")


def test_sdtm_negative_drug_level_and_unit(model, tmp_path):
    pc = "USUBJID,PCTESTCD,PCSTRESN,PCSTRESC,PCSTRESU,PCDTC\nP1,BUPREN,{v},{v},{u},2026-01-01T10:00\n"
    _raises(["pc.csv:2", "negative concentration"], read_patients,
            _sdtm(tmp_path, {"ex.csv": EX, "pc.csv": pc.format(v="-3.1", u="ng/mL")}), model)
    _raises(["pc.csv:2", "cannot convert"], read_patients,
            _sdtm(tmp_path, {"ex.csv": EX, "pc.csv": pc.format(v="3.1", u="mmol")}), model)


@pytest.mark.parametrize("fmt", ["tidy", "nonmem", "sdtm"])
def test_a_single_row_without_measurements_is_a_clear_error(model, tmp_path, fmt):
    """A file of one (dose) row reads, and fitting it says there is nothing to fit, naming the file."""
    if fmt == "tidy":
        src = tmp_path / "one.csv"
        src.write_text("patient,kind,time,name,value,unit\nA,regimen,0,buprenorphine 16 mg SL q24h for 3 d,,\n")
    elif fmt == "nonmem":
        src = _nonmem(tmp_path, [])
    else:
        src = _sdtm(tmp_path, {"ex.csv": EX.rsplit("P1", 1)[0]})
    (pid, data), = read_patients(src, model).items()
    msg = _raises(["no measurements", "nothing to fit"], fit_patient, data, model)
    assert src.name in msg, msg


def test_a_header_alone_is_a_clear_error(model, tmp_path):
    p = tmp_path / "empty.csv"
    p.write_text("patient,kind,time,name,value,unit\n")
    _raises(["empty.csv", "no rows"], read_patients, p, model)


@pytest.mark.parametrize("fmt", ["tidy", "nonmem", "sdtm"])
def test_doses_after_an_explicit_decision_time_are_an_error(model, tmp_path, fmt):
    """A decision at 10 h with history doses at 24 h: the candidates would silently replace them."""
    if fmt == "tidy":
        src = tmp_path / "t.csv"
        src.write_text("patient,kind,time,name,value,unit\nA,regimen,0,buprenorphine 16 mg SL q24h for 3 d,,\n"
                       "A,measurement,2,buprenorphine_conc,3.1,ng/mL\n")
    elif fmt == "nonmem":
        src = _nonmem(tmp_path, ["1,2,0,0,buprenorphine_plasma,3.1,0", "1,24,1,16,buprenorphine.sl,.,1"])
    else:
        src = _sdtm(tmp_path, {"ex.csv": EX, "pc.csv": "USUBJID,PCTESTCD,PCSTRESN,PCSTRESU,PCDTC\n"
                                                       "P1,BUPREN,3.1,ng/mL,2026-01-01T10:00\n"})
    (pid, data), = read_patients(src, model).items()
    _raises(["decision_time", "after the decision time 10 h", "first 24 h"], check_decision_time, data, 10.0)
    # with the default decision time (the last measurement, 2 h) they are dropped with a note
    assert "dropped" in check_decision_time(data, None)[0]
