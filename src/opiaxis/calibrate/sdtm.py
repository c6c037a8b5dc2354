"""CDISC SDTM-like domains → the tidy patient table of :mod:`.fit` (how trial data arrive).

A directory (or a ``{domain: DataFrame}`` mapping) with some of these CSV files, one row per
record, columns as in SDTM (case-insensitive; others ignored):

======  =====================================================================================
EX      doses: ``USUBJID``, ``EXTRT`` (drug), ``EXDOSE``, ``EXDOSU``, ``EXROUTE`` (SUBLINGUAL,
        ORAL, INTRAVENOUS, INTRAMUSCULAR, SUBCUTANEOUS, INTRANASAL, TRANSDERMAL), ``EXSTDTC``
PC      drug concentrations: ``PCTESTCD`` or ``PCTEST`` (the drug), ``PCSTRESN``/``PCSTRESC``
        (``<0.05`` or ``BLQ`` below the limit), ``PCSTRESU``, ``PCDTC``
LB      labs: ``LBTESTCD`` (IL6, CRP/HSCRP, CORT/CORTISOL, ACTH, LPS, TNF/TNFA, IL10, IL1B, LBP,
        SCD14, or a read-out name), ``LBSTRESN``/``LBSTRESC``, ``LBSTRESU``, ``LBDTC``
QS      questionnaires: ``QSTESTCD`` (COWS/COWSTOT, MADRS/MADRSTOT, NRS/PAINNRS, SBM/SBMWEEK,
        HAMD17, BDI, PHQ9, BFI, or a read-out name), ``QSSTRESN``, ``QSDTC``
DM      optional covariates: ``AGE`` (years), ``SEX`` (M/F), ``WEIGHT`` (kg)
======  =====================================================================================

Times are ISO 8601 date-times (``--DTC``; ``--DY`` study days when there is no ``--DTC``),
converted to hours since the subject's first dose (first record when there are no doses). The
table is then read by the tidy reader, so units, limits and values get its checks; errors name
the domain file, its line and the SDTM column.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ..errors import OpiaxisInputError

ROUTES = {"SUBLINGUAL": "sl", "ORAL": "oral", "INTRAVENOUS": "iv", "INTRAMUSCULAR": "im", "SUBCUTANEOUS": "sc",
          "INTRANASAL": "intranasal", "NASAL": "intranasal", "TRANSDERMAL": "transdermal"}
LB_CODES = {"IL6": "il6_serum", "CRP": "crp_serum", "HSCRP": "crp_serum", "CORT": "cortisol_serum",
            "CORTISOL": "cortisol_serum", "ACTH": "acth_plasma", "LPS": "lps_plasma", "TNF": "tnf_serum",
            "TNFA": "tnf_serum", "IL10": "il10_serum", "IL1B": "il1b_serum", "LBP": "lbp_plasma",
            "SCD14": "scd14_plasma"}
QS_CODES = {"COWS": "cows", "COWSTOT": "cows", "MADRS": "madrs", "MADRSTOT": "madrs", "NRS": "pain_nrs",
            "PAINNRS": "pain_nrs", "SBM": "sbm_week", "SBMWEEK": "sbm_week", "HAMD17": "hamd17", "BDI": "bdi",
            "PHQ9": "phq9", "BFI": "bfi"}
DOMAINS = ("ex", "pc", "lb", "qs", "dm")


class _Src:
    """Where a converted row came from: (file, line, SDTM column for value/name/unit/time)."""

    def __init__(self):
        self.rows, self.where = [], []

    def add(self, row, file, line, cols):
        self.rows.append(row)
        self.where.append((file, line, cols))


def _load(source) -> dict[str, tuple[pd.DataFrame, str]]:
    out = {}
    if isinstance(source, dict):
        for k, df in source.items():
            out[k.lower()] = (df.rename(columns=str.upper).astype(object), f"<{k.upper()}>")
        return out
    p = Path(source)
    if not p.is_dir():
        raise OpiaxisInputError("expected a directory of SDTM domain files (ex.csv, pc.csv, lb.csv, qs.csv, dm.csv)",
                                file=str(p))
    for f in sorted(p.iterdir()):
        if f.suffix.lower() == ".csv" and f.stem.lower() in DOMAINS:
            try:
                df = pd.read_csv(f, dtype=str, keep_default_na=False)
            except Exception as exc:  # noqa: BLE001
                raise OpiaxisInputError(f"cannot read the table: {exc}", file=str(f)) from None
            out[f.stem.lower()] = (df.rename(columns=lambda c: str(c).strip().upper()), str(f))
    if not out:
        raise OpiaxisInputError("no SDTM domain file (ex.csv, pc.csv, lb.csv, qs.csv) in the directory", file=str(p))
    return out


def _need(df, file, cols):
    miss = [c for c in cols if c not in df.columns]
    if miss:
        raise OpiaxisInputError(f"missing column(s) {miss}", file=file, line=1, field="header")


def _time(row, dom, file, line) -> float:
    """Absolute time in hours (from the epoch for --DTC, from study day 1 for --DY)."""
    dtc = str(row.get(f"{dom}DTC", row.get(f"{dom}STDTC", ""))).strip()
    if dtc:
        try:
            dt = datetime.fromisoformat(dtc)
            return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).timestamp() / 3600.0  # naive = UTC
        except (ValueError, TypeError, OverflowError):
            raise OpiaxisInputError(f"{dtc!r} is not an ISO 8601 date-time", file=file, line=line,
                                    field=f"{dom}DTC") from None
    dy = str(row.get(f"{dom}DY", row.get(f"{dom}STDY", ""))).strip()
    try:
        return (float(dy) - 1.0) * 24.0 - 1e9  # study days: a separate origin, far from any epoch time
    except ValueError:
        raise OpiaxisInputError(f"no {dom}DTC and no {dom}DY", file=file, line=line, field=f"{dom}DTC") from None


def _value(row, dom):
    n = str(row.get(f"{dom}STRESN", "")).strip()
    c = str(row.get(f"{dom}STRESC", row.get(f"{dom}ORRES", ""))).strip()
    if c.upper() in ("BLQ", "<LLOQ", "BQL"):
        return "<LLOQ"
    return c if c.startswith(("<", ">")) or not n else n


def to_tidy(source, model) -> tuple[pd.DataFrame, list, str]:
    """The tidy patient table, the source of each row, and a label of the source."""
    from ..dosing import drug_routes
    doms = _load(source)
    routes = drug_routes(model)
    src = _Src()
    label = str(source) if not isinstance(source, dict) else "<SDTM>"
    for dom, (df, file) in doms.items():
        D = dom.upper()
        if dom == "dm":
            _need(df, file, ["USUBJID"])
            for i, r in df.iterrows():
                for col, cov in (("AGE", "age"), ("WEIGHT", "weight")):
                    if str(r.get(col, "")).strip():
                        src.add({"patient": r["USUBJID"], "kind": "covariate", "time": "", "name": cov,
                                 "value": r[col], "unit": "yr" if cov == "age" else "kg"}, file, i + 2, col)
                sex = str(r.get("SEX", "")).strip().upper()
                if sex:
                    if sex not in ("M", "F"):
                        raise OpiaxisInputError(f"SEX {sex!r}: expected M or F", file=file, line=i + 2, field="SEX")
                    src.add({"patient": r["USUBJID"], "kind": "covariate", "time": "", "name": "sex_male",
                             "value": 1.0 if sex == "M" else 0.0, "unit": ""}, file, i + 2, "SEX")
            continue
        if dom == "ex":
            _need(df, file, ["USUBJID", "EXTRT", "EXDOSE", "EXDOSU", "EXROUTE"])
        for i, r in df.iterrows():
            line = i + 2
            t = _time(r, D, file, line)
            if dom == "ex":
                drug = str(r["EXTRT"]).strip().lower()
                route = ROUTES.get(str(r["EXROUTE"]).strip().upper())
                if drug not in routes:
                    raise OpiaxisInputError(f"unknown drug {r['EXTRT']!r}; the model doses {', '.join(sorted(routes))}",
                                            file=file, line=line, field="EXTRT")
                if route is None or route not in routes[drug]:
                    raise OpiaxisInputError(f"route {r['EXROUTE']!r} is not one of {drug}'s routes "
                                            f"({', '.join(sorted(routes[drug]))}; SDTM terms {', '.join(ROUTES)})",
                                            file=file, line=line, field="EXROUTE")
                src.add({"patient": r["USUBJID"], "kind": "dose", "time": t, "name": f"{drug}.{route}",
                         "value": r["EXDOSE"], "unit": r["EXDOSU"]}, file, line, "EXDOSE")
                continue
            code = str(r.get(f"{D}TESTCD", r.get(f"{D}TEST", ""))).strip()
            if dom == "pc":
                name = f"{code.lower()}_conc" if code.lower() in routes else \
                    next((f"{d}_conc" for d in routes if d.startswith(code.lower()[:6]) and code), None)
            else:
                name = (LB_CODES if dom == "lb" else QS_CODES).get(code.upper(), code.lower() or None)
            if name is None:
                raise OpiaxisInputError(f"no read-out for test code {code!r}", file=file, line=line, field=f"{D}TESTCD")
            src.add({"patient": r["USUBJID"], "kind": "measurement", "time": t, "name": name,
                     "value": _value(r, D), "unit": str(r.get(f"{D}STRESU", r.get(f"{D}ORRESU", ""))).strip()},
                    file, line, f"{D}TESTCD")
    tidy = pd.DataFrame(src.rows, columns=["patient", "kind", "time", "name", "value", "unit"])
    # hours since each subject's first dose (first timed record without doses)
    timed = tidy["time"] != ""
    t = pd.to_numeric(tidy["time"].where(timed), errors="coerce")
    ref = {}
    for pid, g in tidy[timed].groupby("patient"):
        doses = t[g.index][g["kind"] == "dose"]
        ref[pid] = doses.min() if len(doses) else t[g.index].min()
    tidy["time"] = [("" if not timed[i] else f"{t[i] - ref[tidy['patient'][i]]:.6g}") for i in range(len(tidy))]
    if not len(tidy):
        raise OpiaxisInputError("the SDTM domains hold no records", file=label)
    return tidy, src.where, label


class SdtmLoc:
    """Error locations of converted rows: the domain file, its line and the SDTM column."""

    def __init__(self, where, label):
        self.where, self.file, self.lines = where, label, None

    def err(self, msg, i, fld):
        file, line, col = self.where[i]
        return OpiaxisInputError(msg, file=file, line=line, field=col if fld in ("name", "value", "unit") else fld)

    def line(self, i):
        return int(self.where[i][1])


def read_sdtm(source, model, defs, regimens=None) -> dict:
    from .fit import _read_tidy
    tidy, where, label = to_tidy(source, model)
    return _read_tidy(tidy.astype(object), SdtmLoc(where, label), model, defs, regimens)

