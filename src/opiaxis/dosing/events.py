"""Reading NONMEM/mrgsolve-style event tables (CSV, whitespace, DataFrame) with located errors.

The columns and their meanings are in the :mod:`opiaxis.dosing` docstring.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from opiaxis.errors import OpiaxisInputError

from ._common import (
    _DOSE_EVID,
    _MISSING_TOKENS,
    _OPTIONAL_DEFAULTS,
    _VALID_EVID,
    EVENT_COLUMNS,
    MAX_ADDL,
    REQUIRED_COLUMNS,
    _fmt,
    suggest,
)

# ---------------------------------------------------------------------------------------------
# Event tables
# ---------------------------------------------------------------------------------------------


class RowLocator:
    """Turns a row position into the ``file``/``line``/``field`` of an error."""

    def __init__(self, name: str, lines: Sequence[int] | None, labels: Sequence[Any]):
        self.name = name
        self.lines = lines
        self.labels = labels

    def describe(self, pos: int) -> str:
        if self.lines is not None:
            return f"line {self.lines[pos]}"
        return f"row {self.labels[pos]!r}"

    def error(self, message: str, pos: int | None, column: str | None) -> OpiaxisInputError:
        if pos is None:
            return OpiaxisInputError(message, file=self.name, field=column)
        if self.lines is not None:
            return OpiaxisInputError(message, file=self.name, line=self.lines[pos], field=column)
        field = f"row {self.labels[pos]!r}" + (f", {column}" if column else "")
        return OpiaxisInputError(message, file=self.name, field=field)


class _WhitespaceReader:
    """csv.reader's interface for whitespace-separated files (NONMEM .dta/.dat tables)."""

    def __init__(self, handle):
        self.handle = handle
        self.line_num = 0

    def __iter__(self):
        for line in self.handle:
            self.line_num += 1
            yield line.split()


def read_csv_with_lines(path: Path) -> tuple[pd.DataFrame, list[int]]:
    """Read a CSV (or a whitespace-separated NONMEM table) as strings, remembering the 1-based
    line where each data row starts. A leading ``#`` on the header line is ignored."""
    name = str(path)
    if path.is_dir():
        raise OpiaxisInputError("is a directory; expected an event table file (.csv, .dta or .parquet)",
                                file=name)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
        first = handle.readline()
        handle.seek(0)
    except OSError as exc:
        raise OpiaxisInputError(f"cannot open event table: {exc.strerror or exc}",
                                file=name) from None
    except UnicodeDecodeError as exc:
        raise OpiaxisInputError(f"event table is not UTF-8 text: {exc.reason}", file=name) from None
    with handle:
        if "," in first:
            reader = csv.reader(handle)
        elif "\t" in first:
            reader = csv.reader(handle, delimiter="\t")
        else:
            reader = _WhitespaceReader(handle)
        header: list[str] | None = None
        rows: list[list[str]] = []
        lines: list[int] = []
        previous_end = 0
        try:
            for record in reader:
                start = previous_end + 1
                previous_end = reader.line_num
                if header is None:
                    if start != 1 or not any(cell.strip() for cell in record):
                        raise OpiaxisInputError(
                            "the first line must be the header naming the columns; expected "
                            f"at least {', '.join(REQUIRED_COLUMNS)}", file=name, line=start)
                    header = [cell.strip() for cell in record]
                    if header and header[0].startswith("#"):
                        header[0] = header[0][1:].strip()
                        if not header[0]:
                            header = header[1:]
                    continue
                if not any(cell.strip() for cell in record):
                    continue  # blank line
                if len(record) != len(header):
                    raise OpiaxisInputError(
                        f"row has {len(record)} fields but the header has {len(header)}; "
                        "expected one value per column", file=name, line=start)
                rows.append(record)
                lines.append(start)
        except csv.Error as exc:
            raise OpiaxisInputError(f"malformed CSV: {exc}", file=name,
                                    line=reader.line_num) from None
        except UnicodeDecodeError as exc:
            raise OpiaxisInputError(f"event table is not UTF-8 text: {exc.reason}",
                                    file=name) from None
    if header is None:
        raise OpiaxisInputError(
            f"event table is empty; expected a header with {', '.join(REQUIRED_COLUMNS)}",
            file=name, line=1)
    header = [h if h else f"Unnamed: {i}" for i, h in enumerate(header)]
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    return frame, lines


def _is_number(text) -> bool:
    try:
        float(str(text))
    except ValueError:
        return False
    return True


def _normalise_columns(frame: pd.DataFrame, loc: RowLocator) -> pd.DataFrame:
    """Upper-case the event columns, check for missing and duplicated ones."""
    rename: dict[Any, str] = {}
    seen: dict[str, Any] = {}
    for col in frame.columns:
        key = str(col).strip().upper()
        if key in EVENT_COLUMNS or key == "SS":
            if key in seen:
                raise loc.error(
                    f"column {key} appears twice ({seen[key]!r} and {col!r}); column names "
                    "are case-insensitive", None, key)
            seen[key] = col
            rename[col] = key
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if missing and len(frame.columns) and all(_is_number(c) for c in frame.columns):
        raise loc.error(
            f"the first line ({', '.join(map(str, frame.columns))}) is data, not a header; NONMEM takes "
            "column names from $INPUT, here they must be the first line: add a header such as "
            f"{' '.join(REQUIRED_COLUMNS)} ...", None, None)
    if missing:
        raise loc.error(
            f"missing required column(s) {', '.join(missing)}; expected columns "
            f"{', '.join(REQUIRED_COLUMNS)} (required) and {', '.join(_OPTIONAL_DEFAULTS)} "
            f"(optional, default 0); found {', '.join(map(str, frame.columns)) or 'none'}",
            None, None)
    return frame.rename(columns=rename)


def _missing_mask(series: pd.Series) -> np.ndarray:
    as_str = series.map(lambda v: v.strip().lower() if isinstance(v, str) else None)
    return np.asarray(series.isna() | as_str.isin(_MISSING_TOKENS), dtype=bool)


def _numeric(series: pd.Series, column: str, loc: RowLocator) -> tuple[np.ndarray, np.ndarray]:
    """Parse a column as float; returns (values with NaN for missing, missing mask)."""
    missing = _missing_mask(series)
    cleaned = series.map(lambda v: v.strip() if isinstance(v, str) else v)
    cleaned = cleaned.where(~missing, None)
    if cleaned.map(lambda v: isinstance(v, (bool, np.bool_))).any():
        pos = int(np.flatnonzero(cleaned.map(lambda v: isinstance(v, (bool, np.bool_))))[0])
        raise loc.error(f"{column} is {series.iloc[pos]!r}; expected a number", pos, column)
    values = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(values) & ~missing
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise loc.error(f"{column} is {series.iloc[pos]!r}, not a number; expected a number",
                        pos, column)
    infinite = np.isinf(values)
    if infinite.any():
        pos = int(np.flatnonzero(infinite)[0])
        raise loc.error(f"{column} is {series.iloc[pos]!r}; expected a finite number", pos,
                        column)
    return values, missing


def _first(mask: np.ndarray) -> int | None:
    idx = np.flatnonzero(mask)
    return int(idx[0]) if idx.size else None


def _parse_ids(series: pd.Series, loc: RowLocator) -> pd.Series:
    missing = _missing_mask(series)
    pos = _first(missing)
    if pos is not None:
        raise loc.error("ID is missing; expected a subject identifier", pos, "ID")
    cleaned = series.map(lambda v: v.strip() if isinstance(v, str) else v)
    numbers = pd.to_numeric(cleaned, errors="coerce")
    if not numbers.isna().any():
        arr = numbers.to_numpy(dtype=float)
        pos = _first(~np.isfinite(arr) | (arr != np.round(arr)) | (np.abs(arr) > 2.0 ** 53))
        if pos is not None:
            raise loc.error(f"ID is {series.iloc[pos]!r}; expected a whole-number subject identifier "
                            "(NONMEM IDs are integers, here at most 2^53)", pos, "ID")
        return pd.Series(arr.astype(np.int64), index=series.index)
    return cleaned.map(str)


def _resolve_cmt(raw: Any, cmt_names: Sequence[str], lookup: Mapping[str, str],
                 cmt_map: Mapping[int, str] | None = None,
                 allow_index: bool = True) -> tuple[str | None, str]:
    """Return (name or None, problem description)."""
    if isinstance(raw, str):
        text = raw.strip()
    elif raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return None, "CMT is missing"
    else:
        text = str(raw)
    if text.lower() in _MISSING_TOKENS:
        return None, "CMT is missing"
    if text.lower() in lookup:
        return lookup[text.lower()], ""
    try:
        number = float(text)
    except ValueError:
        return None, f"CMT {text!r} is not a known dosing compartment"
    if cmt_map is not None:
        if number == int(number) and int(number) in cmt_map:
            target = cmt_map[int(number)]
            if target.lower() in lookup:
                return lookup[target.lower()], ""
            return None, f"CMT {text} maps to {target!r}, which is not a dosing compartment"
        return None, (f"CMT {text} is not in the compartment mapping "
                      f"({', '.join(f'{k}={v}' for k, v in sorted(cmt_map.items()))})")
    if not allow_index:
        return None, (f"CMT {text} is a number, and numbers need an explicit mapping to dosing "
                      "compartments (cmt_map, or --cmt-map '1=morphine.iv,2=buprenorphine.sl')")
    if number == int(number) and 1 <= int(number) <= len(cmt_names):
        return cmt_names[int(number) - 1], ""
    return None, f"CMT index {text} is out of range 1..{len(cmt_names)}"


def parse_cmt_map(text: str | Path | Mapping | None, cmt_names: Sequence[str],
                  where: str = "--cmt-map", variables: Iterable[str] = ()) -> dict[int, str] | None:
    """A numeric-CMT mapping from ``"1=morphine.iv,2=buprenorphine.sl"``, a mapping, or a file
    with one ``number=compartment`` (or ``number: compartment``) per line. ``variables``: other
    names a number may stand for (observed model variables, for observation rows)."""
    if text is None:
        return None
    if isinstance(text, Mapping):
        items = [(str(k), str(v)) for k, v in text.items()]
    else:
        raw = str(text)
        path = Path(raw)
        if "=" not in raw and path.is_file():
            raw = path.read_text(encoding="utf-8")
            where = str(path)
        items = []
        for part in re.split(r"[,\n;]", raw):
            part = part.strip()
            if not part or part.startswith("#"):
                continue
            bits = re.split(r"\s*[=:]\s*", part, maxsplit=1)
            if len(bits) != 2:
                raise OpiaxisInputError(f"{part!r} is not 'number=compartment'; expected e.g. "
                                        "'1=morphine.iv,2=buprenorphine.sl'", field=where)
            items.append((bits[0], bits[1]))
    lookup = {c.lower(): c for c in cmt_names}
    lookup.update({str(c).lower(): str(c) for c in variables})
    out: dict[int, str] = {}
    for k, v in items:
        try:
            num = float(k)
        except ValueError:
            num = math.nan
        if not math.isfinite(num) or num != int(num):
            raise OpiaxisInputError(f"{k!r} is not a whole compartment number; expected e.g. '1=morphine.iv'",
                                    field=where)
        if v.strip().lower() not in lookup:
            raise OpiaxisInputError(f"{v!r} is not a dosing compartment{suggest(v.strip(), cmt_names)}; "
                                    f"expected one of {', '.join(cmt_names)}", field=where)
        out[int(num)] = lookup[v.strip().lower()]
    if not out:
        raise OpiaxisInputError("empty compartment mapping; expected e.g. '1=morphine.iv'", field=where)
    return out


def read_event_table(source: str | Path | pd.DataFrame, *, cmt_names: Sequence[str],
                     name: str | None = None, cmt_map: Mapping[int, str] | None = None,
                     allow_index: bool = True, lines: Sequence[int] | None = None) -> pd.DataFrame:
    """Read and validate a NONMEM-style event table.

    Parameters
    ----------
    source:
        Path to a ``.csv`` (or ``.parquet``) file, or a DataFrame.
    cmt_names:
        Ordered dosing compartments ``"<drug>.<route>"``; CMT may name one (case-insensitive)
        or give its 1-based index in this order (unless ``allow_index`` is False).
    cmt_map:
        Explicit mapping of numeric CMT values to compartment names (``parse_cmt_map``); when
        given, a number must be one of its keys.
    allow_index:
        False where ``cmt_names`` is not an order the user chose (e.g. the model's sorted
        compartments): a numeric CMT without ``cmt_map`` is then an error listing the
        compartments, never a guess.
    lines:
        For a DataFrame read from a file: the file line of each row (errors then name it).
    name:
        Name of a DataFrame source in error messages (default ``"<DataFrame>"``).

    Returns
    -------
    DataFrame with the columns of :data:`EVENT_COLUMNS` first (ID, TIME float h, EVID int,
    AMT float mg, CMT name, RATE float mg/h, II float h, ADDL int), then any other columns in
    their original order. Missing optional RATE/II/ADDL are 0.

    Raises
    ------
    OpiaxisInputError
        Naming the file, the 1-based CSV line (header = line 1) or the DataFrame row, the
        column, the offending value and what was expected.
    """
    cmt_names = [str(c) for c in cmt_names]
    if not cmt_names:
        raise OpiaxisInputError("no dosing compartments given; expected cmt_names such as "
                                "['buprenorphine.sl']", field="cmt_names")
    raw, label, lines = _load_event_source(source, name, lines)
    loc = RowLocator(label, lines, list(raw.index))
    frame = _normalise_columns(raw.reset_index(drop=True), loc)
    if len(frame) == 0:
        raise loc.error("event table has a header but no rows; expected at least one event row "
                        "(ID, TIME, EVID, AMT, CMT)", None, None)
    ids = _parse_ids(frame["ID"], loc)
    values, missing = _numeric_columns(frame, loc)
    time, evid = _time_and_evid(values, missing, loc)
    is_dose = np.isin(evid, _DOSE_EVID)
    amt = _dose_amounts(values["AMT"], missing["AMT"], evid, is_dose, loc)
    rate, ii, addl = _dose_timing(values, missing, loc)
    _check_dose_items_on_dose_rows({"AMT": amt, "RATE": rate, "II": ii, "ADDL": addl}, evid, is_dose, loc)
    ss = _steady_state_flags(frame, evid, is_dose, ii, loc)
    cmt = _resolve_cmt_column(frame["CMT"], evid, is_dose, cmt_names, cmt_map, allow_index, loc)
    _check_time_order(ids, time, ss, loc)
    out = pd.DataFrame({
        "ID": ids.to_numpy(),
        "TIME": time.astype(float),
        "EVID": evid,
        "AMT": amt.astype(float),
        "CMT": pd.Series(cmt, dtype=object).to_numpy(),
        "RATE": rate.astype(float),
        "II": ii.astype(float),
        "ADDL": addl,
    })
    for col in [c for c in frame.columns if c not in EVENT_COLUMNS]:
        out[col] = _other_column(frame[col], from_text=lines is not None)
    if "SS" in frame.columns:
        out["SS"] = ss
    return out


def _load_event_source(source: str | Path | pd.DataFrame, name: str | None,
                       lines: Sequence[int] | None) -> tuple[pd.DataFrame, str, list[int] | None]:
    """(raw table, its name in errors, the file line of each row or None) of a DataFrame, a
    Parquet file or a text table (CSV, tab- or whitespace-separated)."""
    if isinstance(source, pd.DataFrame):
        return source.copy(), name or "<DataFrame>", None if lines is None else list(lines)
    path = Path(source)
    label = str(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            return pd.read_parquet(path), label, None
        except ImportError as exc:
            raise OpiaxisInputError(
                f"cannot read parquet ({exc}); install pyarrow or give a .csv file",
                file=label) from None
        except (OSError, ValueError) as exc:
            raise OpiaxisInputError(f"cannot read parquet event table: {exc}",
                                    file=label) from None
    if path.suffix.lower() in (".csv", ".txt", ".dta", ".dat", ".tsv", ""):
        raw, file_lines = read_csv_with_lines(path)
        return raw, label, file_lines
    raise OpiaxisInputError(
        f"unsupported event table format {path.suffix!r}; expected .csv, a whitespace-"
        "separated .dta/.dat/.txt table, or .parquet", file=label)


def _numeric_columns(frame: pd.DataFrame, loc: RowLocator) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """TIME, EVID, AMT and the optional RATE, II, ADDL as floats, and where each is missing;
    an absent optional column is its default (0) on every row."""
    n = len(frame)
    values: dict[str, np.ndarray] = {}
    missing: dict[str, np.ndarray] = {}
    for col in ("TIME", "EVID", "AMT") + tuple(_OPTIONAL_DEFAULTS):
        if col in frame.columns:
            values[col], missing[col] = _numeric(frame[col], col, loc)
        else:
            values[col] = np.full(n, _OPTIONAL_DEFAULTS[col])
            missing[col] = np.zeros(n, dtype=bool)
    return values, missing


def _time_and_evid(values: dict[str, np.ndarray], missing: dict[str, np.ndarray],
                   loc: RowLocator) -> tuple[np.ndarray, np.ndarray]:
    """TIME (>= 0 h) and EVID (0-4, as integers), present on every row."""
    for col in ("TIME", "EVID"):
        pos = _first(missing[col])
        if pos is not None:
            raise loc.error(f"{col} is missing; expected a number on every row", pos, col)
    time, evid_f = values["TIME"], values["EVID"]
    pos = _first(time < 0)
    if pos is not None:
        raise loc.error(f"TIME is {_fmt(time[pos])}; expected TIME >= 0 h", pos, "TIME")
    pos = _first(~np.isin(evid_f, _VALID_EVID))
    if pos is not None:
        raise loc.error(
            f"EVID is {_fmt(evid_f[pos])}; expected one of 0 (observation), 1 (dose), "
            "2 (other), 3 (reset), 4 (reset and dose)", pos, "EVID")
    return time, evid_f.astype(np.int64)


def _dose_amounts(amt: np.ndarray, missing: np.ndarray, evid: np.ndarray, is_dose: np.ndarray,
                  loc: RowLocator) -> np.ndarray:
    """AMT: > 0 mg on dose rows, >= 0 elsewhere; missing is 0 on rows that are not doses."""
    pos = _first(missing & is_dose)
    if pos is not None:
        raise loc.error(f"AMT is missing on a dose row (EVID {evid[pos]}); expected an amount "
                        "> 0 mg", pos, "AMT")
    amt = np.where(missing, 0.0, amt)
    pos = _first(amt < 0)
    if pos is not None:
        raise loc.error(f"AMT is {_fmt(amt[pos])}; expected an amount >= 0 mg", pos, "AMT")
    pos = _first((amt <= 0) & is_dose)
    if pos is not None:
        raise loc.error(f"AMT is {_fmt(amt[pos])} on a dose row (EVID {evid[pos]}); expected "
                        "an amount > 0 mg", pos, "AMT")
    return amt


def _dose_timing(values: dict[str, np.ndarray], missing: dict[str, np.ndarray],
                 loc: RowLocator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RATE (mg/h, 0 = bolus), II (h) and ADDL (whole, II > 0 when ADDL > 0); missing means 0,
    the NONMEM convention for '.'."""
    rate = np.where(missing["RATE"], 0.0, values["RATE"])
    pos = _first(np.isin(rate, (-1.0, -2.0)))
    if pos is not None:
        kind = "modelled duration" if rate[pos] == -2 else "modelled rate"
        raise loc.error(
            f"RATE is {_fmt(rate[pos])} (NONMEM {kind}), which is not supported; give a "
            "zero-order infusion explicitly as RATE = AMT / duration in mg/h (> 0), or 0 for "
            "a bolus", pos, "RATE")
    pos = _first(rate < 0)
    if pos is not None:
        raise loc.error(f"RATE is {_fmt(rate[pos])}; expected RATE >= 0 mg/h (0 = bolus, "
                        "> 0 = zero-order infusion over AMT/RATE h)", pos, "RATE")
    ii = np.where(missing["II"], 0.0, values["II"])
    pos = _first(ii < 0)
    if pos is not None:
        raise loc.error(f"II is {_fmt(ii[pos])}; expected an interdose interval >= 0 h", pos,
                        "II")
    addl_f = np.where(missing["ADDL"], 0.0, values["ADDL"])
    pos = _first((addl_f < 0) | (addl_f != np.round(addl_f)))
    if pos is not None:
        raise loc.error(f"ADDL is {_fmt(addl_f[pos])}; expected a non-negative whole number of "
                        "additional doses", pos, "ADDL")
    pos = _first(addl_f > MAX_ADDL)
    if pos is not None:
        raise loc.error(f"ADDL is {_fmt(addl_f[pos])}; expected at most {MAX_ADDL} additional doses per row "
                        "(split the regimen over several rows)", pos, "ADDL")
    addl = addl_f.astype(np.int64)
    pos = _first((addl > 0) & (ii <= 0))
    if pos is not None:
        raise loc.error(f"ADDL is {addl[pos]} but II is {_fmt(ii[pos])}; additional doses need "
                        "an interdose interval II > 0 h", pos, "II")
    return rate, ii, addl


def _check_dose_items_on_dose_rows(items: dict[str, np.ndarray], evid: np.ndarray, is_dose: np.ndarray,
                                   loc: RowLocator) -> None:
    """AMT, RATE, II and ADDL are 0 (or empty) on rows that are not doses."""
    for col, arr in items.items():
        pos = _first((arr != 0) & ~is_dose)
        if pos is not None:
            raise loc.error(
                f"{col} is {_fmt(float(arr[pos]))} on an EVID {evid[pos]} row; dose items "
                "(AMT, RATE, II, ADDL) must be 0 or empty unless EVID is 1 or 4", pos, col)


def _steady_state_flags(frame: pd.DataFrame, evid: np.ndarray, is_dose: np.ndarray, ii: np.ndarray,
                        loc: RowLocator) -> np.ndarray:
    """SS (0, 1 or 2; 0 when there is no SS column): only on dose rows with II > 0."""
    ss = np.zeros(len(frame), dtype=np.int64)
    if "SS" not in frame.columns:
        return ss
    ss_f, ss_missing = _numeric(frame["SS"], "SS", loc)
    ss_f = np.where(ss_missing, 0.0, ss_f)
    pos = _first(~np.isin(ss_f, (0.0, 1.0, 2.0)))
    if pos is not None:
        raise loc.error(f"SS is {_fmt(ss_f[pos])}; expected 0 (no steady state), 1 or 2 (SS = 3 is "
                        "not supported)", pos, "SS")
    ss = ss_f.astype(np.int64)
    pos = _first((ss != 0) & ~is_dose)
    if pos is not None:
        raise loc.error(f"SS is {ss[pos]} on an EVID {evid[pos]} row; steady state is for dose rows "
                        "(EVID 1 or 4)", pos, "SS")
    pos = _first((ss != 0) & (ii <= 0))
    if pos is not None:
        raise loc.error(f"SS is {ss[pos]} but II is {_fmt(ii[pos])}; a steady-state dose needs its "
                        "interdose interval II > 0 h (steady-state infusions without II are not "
                        "supported)", pos, "II")
    return ss


def _resolve_cmt_column(column: pd.Series, evid: np.ndarray, is_dose: np.ndarray, cmt_names: list[str],
                        cmt_map: Mapping[int, str] | None, allow_index: bool, loc: RowLocator) -> list[Any]:
    """CMT of each row: a dosing compartment's name on dose rows (an error names the choices);
    on other rows what is there (e.g. an observed output), None where missing."""
    lookup = {c.lower(): c for c in cmt_names}
    cmt_out: list[Any] = []
    for pos, raw_cmt in enumerate(column.tolist()):
        resolved, problem = _resolve_cmt(raw_cmt, cmt_names, lookup, cmt_map, allow_index)
        if resolved is None and is_dose[pos]:
            hint = suggest(str(raw_cmt).strip(), cmt_names) if isinstance(raw_cmt, str) else ""
            index = f" or an index 1..{len(cmt_names)}" if allow_index and cmt_map is None else ""
            raise loc.error(
                f"{problem} on a dose row (EVID {evid[pos]}); expected one of "
                f"{', '.join(cmt_names)}{index}{hint}", pos, "CMT")
        if resolved is None:
            resolved = None if problem == "CMT is missing" else (
                raw_cmt.strip() if isinstance(raw_cmt, str) else raw_cmt)
        cmt_out.append(resolved)
    return cmt_out


def _check_time_order(ids: pd.Series, time: np.ndarray, ss: np.ndarray, loc: RowLocator) -> None:
    """TIME non-decreasing within an ID (file order); SS = 2 only as an ID's first record."""
    n = len(time)
    order = pd.DataFrame({"ID": ids.to_numpy(), "TIME": time, "POS": np.arange(n)})
    grouped = order.groupby("ID", sort=False)
    prev_time = grouped["TIME"].shift(1).to_numpy(dtype=float)
    prev_pos = grouped["POS"].shift(1).to_numpy(dtype=float)
    pos = _first(time < prev_time)
    if pos is not None:
        before = int(prev_pos[pos])
        raise loc.error(
            f"TIME decreases within ID {ids.iloc[pos]}: {loc.describe(before)} has TIME "
            f"{_fmt(time[before])} but {loc.describe(pos)} has TIME {_fmt(time[pos])}; "
            "expected TIME non-decreasing within an ID (sort rows by ID, TIME)",
            pos, "TIME")
    first_time = grouped["TIME"].transform("min").to_numpy(dtype=float)
    pos = _first((ss == 2) & (time > first_time))
    if pos is not None:
        raise loc.error(
            f"SS is 2 at TIME {_fmt(time[pos])}, after earlier records of ID {ids.iloc[pos]} "
            f"(from TIME {_fmt(first_time[pos])}); SS = 2 adds a steady state to the current one "
            "(superposition, which a nonlinear model has not), supported only as an ID's first "
            "record; use SS = 1 (reset to steady state)", pos, "SS")


def _other_column(column: pd.Series, *, from_text: bool) -> np.ndarray:
    """A column that is not an event item, carried through; read from text, its missing markers
    become NaN and it is numeric when every value is."""
    if from_text:
        column = column.where(~_missing_mask(column), np.nan)
        converted = pd.to_numeric(column, errors="coerce")
        if not (converted.isna() & column.notna()).any():
            column = converted
    return column.to_numpy()
