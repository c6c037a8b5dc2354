"""Dosing as data: NONMEM/mrgsolve-style event tables and a regimen shorthand.

Units: time in hours (h), amounts in mg, rates in mg/h.

Event table
-----------
An event table has one row per event with the columns of :data:`EVENT_COLUMNS`:

``ID``
    Subject identifier.
``TIME``
    Event time in h, non-decreasing within an ID (in file order).
``EVID``
    Event identifier with the NONMEM PREDPP meanings:

    * 0 -- observation event (the row asks for a prediction; DV may hold the observation);
    * 1 -- dose event: ``AMT`` mg into compartment ``CMT``;
    * 2 -- other-type event (e.g. a covariate change, an extra output time);
    * 3 -- reset event: all compartment amounts return to their initial values, infusions in
      progress stop;
    * 4 -- reset-and-dose: a reset immediately followed by a dose.

    As in PREDPP, dose-related items (AMT, RATE, II, ADDL) must be zero (or missing) on
    EVID 0, 2 and 3 rows.
``AMT``
    Dose amount in mg (> 0 on dose rows). Missing (empty or ``.``) on a non-dose row means 0.
``CMT``
    Dosing compartment, named ``"<drug>.<route>"`` (e.g. ``"buprenorphine.sl"``), or a number
    mapped explicitly to a name (``cmt_map``; ``--cmt-map 1=morphine.iv`` on the command line),
    or a 1-based index into a list of compartments whose order the caller gave. A number is
    never matched to the model's own (alphabetical) list: without a mapping it is an error that
    lists the compartments. After reading, CMT is always the name. On non-dose rows any value
    (e.g. an observed output) is kept.
``RATE``
    0 for a bolus; > 0 for a zero-order infusion of AMT at RATE mg/h, lasting AMT/RATE h.
    NONMEM's modelled rate (RATE = -1) and modelled duration (RATE = -2) are not supported.
``II``
    Interdose interval in h for additional doses.
``ADDL``
    Number of additional doses, identical to the initiating one, at TIME + k*II
    (k = 1..ADDL). Additional doses of an EVID 4 row are plain doses (EVID 1), as in NONMEM
    and mrgsolve.

``SS``
    Steady state (optional): 0 none; 1 or 2 on a dose row with II > 0: the dose is the last of
    an infinite series of identical doses every II h, the system at steady state. A steady-state
    dose that is its ID's first record (SS = 1 and SS = 2 then mean the same) is realised by
    :func:`expand_doses` as a run-in of identical doses every II over the preceding
    :data:`SS_RUN_IN_HOURS` (at least :data:`SS_RUN_IN_DOSES` doses), at negative times when
    the dose is at TIME 0, which reaches steady state for half-lives up to about 4 days
    (simulate from the first run-in dose: ``t0 = min(0, TIME)``). A later SS = 1 dose resets
    the patient to that steady state: :func:`opiaxis.interop.nonmem.simulate_dataset` simulates
    the run-in separately and continues from its state. A later SS = 2 (superposition), SS = 3
    and steady-state infusions without II (SS with II = 0) are rejected.

Other columns (DV, MDV, covariates) are kept unchanged.

Order of simultaneous events
----------------------------
:func:`expand_doses` gives a defined order (mrgsolve style: data order is kept for ties,
records are stable-sorted by time): events are sorted by ID, then TIME, then resets (EVID 3,
and the reset part of EVID 4) before doses, then original row order; additional doses
generated from ADDL take the row position of their initiating row. A reset discards the
additional (ADDL) doses scheduled by rows that precede it in this order (those at or after
the reset time), following PREDPP, where a reset re-initialises the whole dosing history.
Infusions in progress at a reset must be stopped by the solver.

Regimen shorthand
-----------------
:func:`parse_regimen` turns text such as ``"buprenorphine 16 mg SL q24h for 28 d"`` into dose
rows using II/ADDL; see its docstring for the grammar.
"""

from __future__ import annotations

import csv
import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from opiaxis.errors import OpiaxisInputError

__all__ = [
    "EVENT_COLUMNS",
    "REQUIRED_COLUMNS",
    "ROUTE_ALIASES",
    "read_event_table",
    "expand_doses",
    "parse_regimen",
    "regimen_to_events",
]

EVENT_COLUMNS: tuple[str, ...] = ("ID", "TIME", "EVID", "AMT", "CMT", "RATE", "II", "ADDL")
REQUIRED_COLUMNS: tuple[str, ...] = ("ID", "TIME", "EVID", "AMT", "CMT")
_OPTIONAL_DEFAULTS: dict[str, float] = {"RATE": 0.0, "II": 0.0, "ADDL": 0.0}
_VALID_EVID = (0, 1, 2, 3, 4)
_DOSE_EVID = (1, 4)
_RESET_EVID = (3, 4)
_MISSING_TOKENS = frozenset({"", ".", "nan", "na", "none", "null"})
_EXPANDED_COLUMNS = ("ID", "TIME", "EVID", "AMT", "CMT", "RATE", "ORDER")
MAX_ADDL = 100_000            # additional doses per row (about 11 years hourly)
MAX_EXPANDED_EVENTS = 20_000_000   # dose rows after expansion, all subjects together
SS_RUN_IN_HOURS = 21 * 24.0   # steady state: run-in of identical doses over the preceding 21 days
SS_RUN_IN_DOSES = 10          # and at least 10 doses


def _suggest(word: str, options: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for a close match, else ``""``."""
    opts = list(options)
    lowered = {o.lower(): o for o in opts}
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f"; did you mean '{lowered[match[0]]}'?" if match else ""


# ---------------------------------------------------------------------------------------------
# Event tables
# ---------------------------------------------------------------------------------------------


class _Locator:
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


def _read_csv_strings(path: Path) -> tuple[pd.DataFrame, list[int]]:
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


def _normalise_columns(frame: pd.DataFrame, loc: _Locator) -> pd.DataFrame:
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


def _numeric(series: pd.Series, column: str, loc: _Locator) -> tuple[np.ndarray, np.ndarray]:
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


def _fmt(value: float) -> str:
    return f"{value:g}"


def _parse_ids(series: pd.Series, loc: _Locator) -> pd.Series:
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
            raw = path.read_text()
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
            raise OpiaxisInputError(f"{v!r} is not a dosing compartment{_suggest(v.strip(), cmt_names)}; "
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
    lookup = {c.lower(): c for c in cmt_names}

    lines: list[int] | None
    if isinstance(source, pd.DataFrame):
        label = name or "<DataFrame>"
        raw = source.copy()
        lines = None if lines is None else list(lines)
    else:
        path = Path(source)
        label = str(path)
        if path.suffix.lower() in (".parquet", ".pq"):
            try:
                raw = pd.read_parquet(path)
            except ImportError as exc:
                raise OpiaxisInputError(
                    f"cannot read parquet ({exc}); install pyarrow or give a .csv file",
                    file=label) from None
            except (OSError, ValueError) as exc:
                raise OpiaxisInputError(f"cannot read parquet event table: {exc}",
                                        file=label) from None
            lines = None
        elif path.suffix.lower() in (".csv", ".txt", ".dta", ".dat", ".tsv", ""):
            raw, lines = _read_csv_strings(path)
        else:
            raise OpiaxisInputError(
                f"unsupported event table format {path.suffix!r}; expected .csv, a whitespace-"
                "separated .dta/.dat/.txt table, or .parquet", file=label)
    loc = _Locator(label, lines, list(raw.index))
    raw = raw.reset_index(drop=True)
    frame = _normalise_columns(raw, loc)
    n = len(frame)
    if n == 0:
        raise loc.error("event table has a header but no rows; expected at least one event row "
                        "(ID, TIME, EVID, AMT, CMT)", None, None)

    ids = _parse_ids(frame["ID"], loc) if n else pd.Series([], dtype=np.int64)

    values: dict[str, np.ndarray] = {}
    missing: dict[str, np.ndarray] = {}
    for col in ("TIME", "EVID", "AMT") + tuple(_OPTIONAL_DEFAULTS):
        if col in frame.columns:
            values[col], missing[col] = _numeric(frame[col], col, loc)
        else:
            values[col] = np.full(n, _OPTIONAL_DEFAULTS[col])
            missing[col] = np.zeros(n, dtype=bool)

    for col in ("TIME", "EVID"):
        pos = _first(missing[col])
        if pos is not None:
            raise loc.error(f"{col} is missing; expected a number on every row", pos, col)

    time, evid_f, amt = values["TIME"], values["EVID"], values["AMT"]
    pos = _first(time < 0)
    if pos is not None:
        raise loc.error(f"TIME is {_fmt(time[pos])}; expected TIME >= 0 h", pos, "TIME")
    pos = _first(~np.isin(evid_f, _VALID_EVID))
    if pos is not None:
        raise loc.error(
            f"EVID is {_fmt(evid_f[pos])}; expected one of 0 (observation), 1 (dose), "
            "2 (other), 3 (reset), 4 (reset and dose)", pos, "EVID")
    evid = evid_f.astype(np.int64)
    is_dose = np.isin(evid, _DOSE_EVID)

    # AMT
    pos = _first(missing["AMT"] & is_dose)
    if pos is not None:
        raise loc.error(f"AMT is missing on a dose row (EVID {evid[pos]}); expected an amount "
                        "> 0 mg", pos, "AMT")
    amt = np.where(missing["AMT"], 0.0, amt)
    pos = _first(amt < 0)
    if pos is not None:
        raise loc.error(f"AMT is {_fmt(amt[pos])}; expected an amount >= 0 mg", pos, "AMT")
    pos = _first((amt <= 0) & is_dose)
    if pos is not None:
        raise loc.error(f"AMT is {_fmt(amt[pos])} on a dose row (EVID {evid[pos]}); expected "
                        "an amount > 0 mg", pos, "AMT")

    # RATE, II, ADDL (missing means 0, the NONMEM convention for '.')
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
    for col, arr in (("AMT", amt), ("RATE", rate), ("II", ii), ("ADDL", addl)):
        pos = _first((arr != 0) & ~is_dose)
        if pos is not None:
            raise loc.error(
                f"{col} is {_fmt(float(arr[pos]))} on an EVID {evid[pos]} row; dose items "
                "(AMT, RATE, II, ADDL) must be 0 or empty unless EVID is 1 or 4", pos, col)

    ss = np.zeros(n, dtype=np.int64)
    if "SS" in frame.columns:
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

    # CMT
    cmt_out: list[Any] = []
    for pos, raw_cmt in enumerate(frame["CMT"].tolist()):
        resolved, problem = _resolve_cmt(raw_cmt, cmt_names, lookup, cmt_map, allow_index)
        if resolved is None and is_dose[pos]:
            hint = _suggest(str(raw_cmt).strip(), cmt_names) if isinstance(raw_cmt, str) else ""
            index = f" or an index 1..{len(cmt_names)}" if allow_index and cmt_map is None else ""
            raise loc.error(
                f"{problem} on a dose row (EVID {evid[pos]}); expected one of "
                f"{', '.join(cmt_names)}{index}{hint}", pos, "CMT")
        if resolved is None:
            # non-dose row: keep what is there (e.g. an observed output), None if missing
            resolved = None if problem == "CMT is missing" else (
                raw_cmt.strip() if isinstance(raw_cmt, str) else raw_cmt)
        cmt_out.append(resolved)

    # TIME non-decreasing within ID (file order)
    if n:
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

    out = pd.DataFrame({
        "ID": ids.to_numpy(),
        "TIME": time.astype(float),
        "EVID": evid,
        "AMT": amt.astype(float),
        "CMT": pd.Series(cmt_out, dtype=object).to_numpy(),
        "RATE": rate.astype(float),
        "II": ii.astype(float),
        "ADDL": addl,
    })
    extras = [c for c in frame.columns if c not in EVENT_COLUMNS]
    for col in extras:
        column = frame[col]
        if lines is not None:  # CSV strings: missing markers to NaN, numeric when possible
            column = column.where(~_missing_mask(column), np.nan)
            converted = pd.to_numeric(column, errors="coerce")
            if not (converted.isna() & column.notna()).any():
                column = converted
        out[col] = column.to_numpy()
    if "SS" in frame.columns:
        out["SS"] = ss
    return out


def expand_doses(df: pd.DataFrame, *, late_steady_state: str = "error") -> pd.DataFrame:
    """Expand ADDL/II into explicit dose rows and put simultaneous events in a defined order.

    Steady-state doses (SS = 1 or 2) that are their ID's first record get a run-in of identical
    doses before them (see the module docstring). An SS = 1 dose after earlier records resets
    the system to a steady state, which one timeline of doses cannot express:
    ``late_steady_state="error"`` (the default) refuses it; ``"reset"`` writes it as a reset and
    dose (EVID 4), for callers that set the steady state themselves at that time
    (:func:`opiaxis.interop.nonmem.simulate_dataset`).

    Keeps dose rows (EVID 1 and 4) and reset rows (EVID 3); each additional dose of a row with
    ADDL > 0 becomes an explicit EVID 1 row at TIME + k*II, k = 1..ADDL.

    Order (mrgsolve-style stable order, resets first): rows are sorted by ID, then TIME, then
    resets (EVID 3, and EVID 4 whose reset comes before its own dose) before doses (EVID 1),
    then original row order (stable; additional doses inherit the row position of their
    initiating row). ``ORDER`` numbers the events 0..n-1 within each ID in that order.

    A reset discards additional doses scheduled by rows earlier in this order whose time is at
    or after the reset time (the reset re-initialises the system and its pending doses, as in
    NONMEM PREDPP). Infusions still running at a reset must be stopped by the solver.

    Returns
    -------
    DataFrame with columns ID, TIME, EVID, AMT, CMT, RATE, ORDER (EVID 3 rows have AMT = RATE
    = 0).
    """
    name = "<event table>"
    missing = [c for c in ("ID", "TIME", "EVID", "AMT", "CMT") if c not in df.columns]
    if missing:
        raise OpiaxisInputError(
            f"missing column(s) {', '.join(missing)}; expected an event table from "
            "read_event_table or regimen_to_events with columns "
            f"{', '.join(EVENT_COLUMNS)}", file=name)
    evid = pd.to_numeric(df["EVID"], errors="coerce").to_numpy(dtype=float)
    keep = np.isin(evid, (1, 3, 4))
    sub = df.loc[keep]
    src = np.flatnonzero(keep)
    if "SS" in df.columns and len(df):
        all_time = pd.to_numeric(df["TIME"], errors="coerce")
        first_of_id = (all_time <= all_time.groupby(df["ID"].to_numpy()).transform("min").to_numpy()).to_numpy()[keep]
    else:
        first_of_id = np.ones(len(sub), dtype=bool)

    def get(col: str) -> np.ndarray:
        """Numeric column of the kept rows; absent or missing values are 0 (as when read)."""
        if col not in sub.columns:
            return np.zeros(len(sub))
        return pd.to_numeric(sub[col], errors="coerce").fillna(0.0).to_numpy(float)

    ev = evid[keep].astype(np.int64)
    time = pd.to_numeric(sub["TIME"], errors="coerce").to_numpy(dtype=float)
    amt, rate, ii, addl_f = get("AMT"), get("RATE"), get("II"), get("ADDL")
    ss = get("SS") if "SS" in sub.columns else np.zeros(len(sub))
    late = (ss != 0) & ~first_of_id
    if late.any():
        t_late = time[late][0]
        if late_steady_state != "reset" or (ss[late] == 2).any():
            raise OpiaxisInputError(
                f"a steady-state dose (SS {int(ss[late][0])}) at TIME {_fmt(t_late)} follows earlier records of "
                f"ID {sub['ID'].to_numpy()[late][0]}; "
                + ("SS = 2 (added to the current state) is supported only as an ID's first record"
                   if (ss[late] == 2).any() else
                   "its reset to steady state is simulated by opiaxis.interop.nonmem.simulate_dataset "
                   "(opiaxis simulate-nonmem), not in one timeline of doses"), file=name, field="SS")
        ev = np.where(late, 4, ev)
    steady = (ss != 0) & np.isin(ev, _DOSE_EVID) & (ii > 0) & first_of_id
    # steady state: a run-in of identical doses before the dose (k < 0); it is an ID's first
    # record, so the reset of an EVID 4 steady-state dose is moot (and would erase the run-in)
    pre = np.where(steady, np.maximum(SS_RUN_IN_DOSES, np.ceil(SS_RUN_IN_HOURS / np.where(ii > 0, ii, 1.0))), 0)
    pre = pre.astype(np.int64)
    ev = np.where(steady, 1, ev)
    if np.isnan(time).any():
        raise OpiaxisInputError("TIME is missing or not numeric on a dose or reset row; "
                                "expected a number (read the table with read_event_table)",
                                file=name, field="TIME")
    addl = np.where(ev == 3, 0, addl_f).astype(np.int64)
    if ((addl > 0) & (ii <= 0)).any():
        raise OpiaxisInputError("ADDL > 0 with II <= 0; additional doses need II > 0 h",
                                file=name, field="II")
    amt = np.where(ev == 3, 0.0, amt)
    rate = np.where(ev == 3, 0.0, rate)

    counts = addl + 1 + pre
    if counts.sum() > MAX_EXPANDED_EVENTS:
        raise OpiaxisInputError(f"the doses expand to {int(counts.sum()):,} events (ADDL and regimens); expected at "
                                f"most {MAX_EXPANDED_EVENTS:,}: check II, ADDL and the regimen durations",
                                file=name, field="ADDL")
    parent = np.repeat(np.arange(len(sub)), counts)
    k = np.arange(len(parent)) - np.repeat(np.cumsum(counts) - counts, counts) - pre[parent]
    base = pd.DataFrame({
        "ID": sub["ID"].to_numpy()[parent],
        "TIME": time[parent] + k * ii[parent],
        "EVID": np.where(k != 0, 1, ev[parent]),
        "AMT": amt[parent],
        "CMT": sub["CMT"].to_numpy()[parent],
        "RATE": rate[parent],
        "_RESET": np.where((k == 0) & np.isin(ev[parent], _RESET_EVID), 0, 1),
        "_SRC": src[parent],
        "_K": k,
        "_PARENT": parent,
    })
    base = base.sort_values(["ID", "TIME", "_RESET", "_SRC", "_K"], kind="mergesort")

    if np.isin(ev, _RESET_EVID).any():
        # A reset cancels the implied doses (k > 0) of initiating rows ordered before it that
        # fall at or after the reset time. In the sorted order times are non-decreasing within
        # an ID, so the first reset after a row (in order) is the one that matters.
        base = base.reset_index(drop=True)
        is_reset = ((base["_K"] == 0) & (base["_RESET"] == 0)).to_numpy()
        reset_time = pd.Series(np.where(is_reset, base["TIME"].to_numpy(), np.inf))
        next_reset = (reset_time[::-1].groupby(base["ID"][::-1], sort=False).cummin()
                      .groupby(base["ID"][::-1], sort=False).shift(1, fill_value=np.inf)
                      [::-1].sort_index().to_numpy())
        initiating = (base["_K"] == 0).to_numpy()
        cutoff = np.full(len(sub), np.inf)
        cutoff[base["_PARENT"].to_numpy()[initiating]] = next_reset[initiating]
        implied = base["_K"].to_numpy() > 0
        drop = implied & (base["TIME"].to_numpy() >= cutoff[base["_PARENT"].to_numpy()])
        base = base.loc[~drop]

    base = base.reset_index(drop=True)
    base["ORDER"] = base.groupby("ID", sort=False).cumcount().astype(np.int64)
    return base[list(_EXPANDED_COLUMNS)].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Regimen shorthand
# ---------------------------------------------------------------------------------------------

#: Route aliases (lower case, as token tuples) -> canonical route.
ROUTE_ALIASES: dict[tuple[str, ...], str] = {
    ("iv",): "iv", ("intravenous",): "iv",
    ("im",): "im", ("intramuscular",): "im",
    ("sc",): "sc", ("subcutaneous",): "sc", ("subq",): "sc", ("s.c.",): "sc",
    ("oral",): "oral", ("po",): "oral", ("oral", "ir"): "oral", ("po", "ir"): "oral",
    ("oral_ir",): "oral",
    ("oral_er",): "oral_er", ("oral", "er"): "oral_er", ("po", "er"): "oral_er",
    ("er",): "oral_er", ("oral-er",): "oral_er",
    ("sl",): "sl", ("sublingual",): "sl",
    ("intranasal",): "intranasal", ("in",): "intranasal", ("nasal",): "intranasal",
    ("smoked",): "smoked", ("inhaled",): "smoked", ("smoked/inhaled",): "smoked",
    ("transdermal",): "transdermal", ("td",): "transdermal", ("patch",): "transdermal",
    ("xr_im",): "xr_im", ("xr-im",): "xr_im", ("depot",): "xr_im",
    ("extended-release", "im"): "xr_im", ("xr", "im"): "xr_im",
}
_CANONICAL_ROUTES = ("iv", "im", "sc", "oral", "oral_er", "sl", "intranasal", "smoked",
                     "transdermal", "xr_im")

_MASS_UNITS: dict[str, float] = {
    "g": 1000.0, "gram": 1000.0, "grams": 1000.0,
    "mg": 1.0, "milligram": 1.0, "milligrams": 1.0,
    "ug": 1e-3, "mcg": 1e-3, "microgram": 1e-3, "micrograms": 1e-3,
    "ng": 1e-6, "nanogram": 1e-6, "nanograms": 1e-6,
}
_UNIT_LIST = "g, mg, ug (µg, mcg), ng, IU, or a rate such as ug/h"
_TIME_UNITS: dict[str, float] = {
    "s": 1 / 3600, "sec": 1 / 3600, "secs": 1 / 3600, "second": 1 / 3600, "seconds": 1 / 3600,
    "min": 1 / 60, "mins": 1 / 60, "minute": 1 / 60, "minutes": 1 / 60,
    "h": 1.0, "hr": 1.0, "hrs": 1.0, "hour": 1.0, "hours": 1.0,
    "d": 24.0, "day": 24.0, "days": 24.0,
    "w": 168.0, "wk": 168.0, "wks": 168.0, "week": 168.0, "weeks": 168.0,
    "mo": 672.0, "month": 672.0, "months": 672.0,
}
_RATE_TIME_UNITS = {"h": 1.0, "hr": 1.0, "d": 24.0, "day": 24.0, "min": 1 / 60}
_NAMED_FREQUENCIES: dict[str, float] = {
    "daily": 24.0, "qd": 24.0, "qday": 24.0, "bid": 12.0, "tid": 8.0, "qid": 6.0,
    "qod": 48.0, "weekly": 168.0, "qw": 168.0, "qwk": 168.0, "monthly": 672.0,
}
_FREQ_UNITS: dict[str, float] = {
    "h": 1.0, "hr": 1.0, "hrs": 1.0, "d": 24.0, "w": 168.0, "wk": 168.0, "wks": 168.0,
    "mo": 672.0,
}
_NUM = r"(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?"
_AMOUNT_RE = re.compile(rf"^(?P<amt>[+-]?{_NUM}(?:/[+-]?{_NUM})*)(?P<unit>[a-z/]+)?$")
_QUANTITY_RE = re.compile(rf"^(?P<num>[+-]?{_NUM})(?P<unit>[a-z]+)?$")
_FREQ_RE = re.compile(rf"^q(?P<num>{_NUM})?(?P<unit>[a-z]+)$")
_FREQ_HELP = ("qNh (q4h, q6h, q8h, q12h, q24h, q72h), qNd, qNw, daily/qd/once daily, bid, tid, "
              "qid, weekly, monthly (= q28d) or once")
_MODIFIER_HELP = ("a frequency (" + _FREQ_HELP + "), 'for <N> h|d|weeks|months', "
                  "'x <N> doses', 'over <N> s|min|h|d', 'from day <d>', 'starting day <d>' or "
                  "'at <t> h'")
_INFUSION_EXAMPLE = "'<drug> infusion at <R> mg/h [<route>] for <N> h', e.g. 'morphine infusion at 2 mg/h IV for 24 h'"


class _RegimenParser:
    """One-shot recursive-descent parser for a regimen string."""

    def __init__(self, text: str, drugs: Mapping[str, Iterable[str]], start: float,
                 where: str | None, unit_factors: Mapping[str, float] | None):
        self.text = text
        self.drugs = {str(k): {str(r).lower() for r in v} for k, v in drugs.items()}
        self.drug_lookup = {k.lower(): k for k in self.drugs}
        self.start = start
        self.unit_factors = {str(k).lower(): float(v) for k, v in (unit_factors or {}).items()}
        self.file, self.line, self.field = _split_where(where)
        normal = text.replace("µ", "u").replace("μ", "u").replace("×", "x")
        normal = re.sub(r"\s*/\s*", "/", normal.strip())
        self.tokens_raw = normal.split()
        self.tokens = [t.lower() for t in self.tokens_raw]
        self.i = 0

    # -- helpers -------------------------------------------------------------------------------
    def error(self, message: str, index: int | None = None) -> OpiaxisInputError:
        if index is not None and index < len(self.tokens):
            token = f"token {index + 1} {self.tokens_raw[index]!r}: "
        elif index is not None:
            token = "at the end: "
        else:
            token = ""
        return OpiaxisInputError(f"regimen {self.text!r}: {token}{message}", file=self.file,
                                 line=self.line, field=self.field)

    def peek(self, offset: int = 0) -> str | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def quantity(self, what: str, units: Mapping[str, float],
                 example: str) -> tuple[float, int]:
        """Parse ``N unit`` or ``Nunit`` at the cursor; returns (value * unit factor, index)."""
        first = self.i
        tok = self.peek()
        if tok is None:
            raise self.error(f"malformed {what}: expected {example}", first)
        m = _QUANTITY_RE.match(tok)
        if not m:
            raise self.error(f"malformed {what}: {tok!r} is not a number; expected {example}",
                             first)
        value = float(m.group("num"))
        unit = m.group("unit")
        self.i += 1
        if unit is None:
            unit = self.peek()
            if unit is None or unit not in units:
                raise self.error(f"malformed {what}: missing or unknown time unit; expected "
                                 f"{example}", self.i if unit is not None else first)
            self.i += 1
        elif unit not in units:
            raise self.error(f"malformed {what}: unknown time unit {unit!r}; expected "
                             f"{example}", first)
        if value <= 0:
            raise self.error(f"malformed {what}: {m.group('num')} must be > 0; expected "
                             f"{example}", first)
        return value * units[unit], first

    # -- grammar -------------------------------------------------------------------------------
    def parse_drugs(self) -> list[str]:
        if not self.tokens:
            raise self.error("empty regimen; expected '<drug> <amount> <unit> <route> "
                             "[<frequency>] [for <duration>]'")
        # longest known (possibly multi-word) drug name first
        for length in range(min(4, len(self.tokens)), 0, -1):
            candidate = " ".join(self.tokens[:length])
            if candidate in self.drug_lookup:
                self.i = length
                return [self.drug_lookup[candidate]]
        tok = self.tokens[0]
        parts = re.split(r"[-/]", tok)
        if len(parts) > 1 and all(p in self.drug_lookup for p in parts):
            self.i = 1
            return [self.drug_lookup[p] for p in parts]
        known = sorted(self.drugs)
        if not known:
            raise self.error("this model has no drugs to dose: its modules do not include pk (the drug "
                             "library); expected a model composed with pk (e.g. --modules pk,receptors)", 0)
        unknown = [p for p in parts if p not in self.drug_lookup] if len(parts) > 1 else [tok]
        raise self.error(
            f"unknown drug {unknown[0]!r}; known drugs: {', '.join(known)} (combinations as "
            f"'a-b' or 'a/b'){_suggest(unknown[0], known)}", 0)

    def parse_amount(self, ndrugs: int) -> tuple[list[float], str, int]:
        index = self.i
        tok = self.peek()
        if tok is None:
            raise self.error("missing amount; expected a number and a unit, e.g. '16 mg'",
                             index)
        m = _AMOUNT_RE.match(tok)
        if not m:
            if tok in _MASS_UNITS or tok == "iu" or self._route_at(self.i) is not None:
                raise self.error("missing amount; expected a number before the unit, e.g. "
                                 "'16 mg'", index)
            raise self.error("amount is not a number; expected a positive number followed by "
                             f"a unit ({_UNIT_LIST})", index)
        amounts = [float(a) for a in m.group("amt").split("/")]
        if len(amounts) != ndrugs:
            if ndrugs > 1:
                raise self.error(
                    f"a combination of {ndrugs} drugs needs {ndrugs} amounts separated by '/', "
                    "e.g. '16/4 mg'", index)
            raise self.error("several amounts separated by '/' are only for combination "
                             "products such as 'buprenorphine-naloxone 16/4 mg'; expected one "
                             "amount", index)
        for a in amounts:
            if a <= 0:
                raise self.error(f"amount {_fmt(a)} must be > 0; expected a positive number",
                                 index)
        self.i += 1
        unit = m.group("unit")
        unit_index = index
        if unit is None:
            unit_index = self.i
            unit = self.peek()
            if unit is None or self._route_at(self.i) is not None or \
                    self._frequency_at(self.i) is not None:
                raise self.error(f"missing unit after amount {m.group('amt')!r}; expected "
                                 f"{_UNIT_LIST}", unit_index)
            self.i += 1
        return amounts, unit, unit_index

    def unit_factor(self, unit: str, drug: str, index: int) -> tuple[float, bool]:
        """mg (or mg/h) per unit of the given token; bool is True for a rate unit."""
        if unit in _MASS_UNITS:
            return _MASS_UNITS[unit], False
        if unit == "iu":
            return self.iu_factor(drug, index), False
        if "/" in unit:
            mass, _, per = unit.partition("/")
            if per in _RATE_TIME_UNITS and (mass in _MASS_UNITS or mass == "iu"):
                base = _MASS_UNITS[mass] if mass != "iu" else self.iu_factor(drug, index)
                return base / _RATE_TIME_UNITS[per], True
        if unit.partition("/")[0] in ("ml", "l", "ul", "dl", "cc", "tablet", "tablets", "tab"):
            raise self.error(f"unit {unit!r} is a volume or a count; expected an amount in "
                             f"{_UNIT_LIST}", index)
        options = list(_MASS_UNITS) + ["iu", "ug/h", "mg/h"]
        raise self.error(f"unknown unit {unit!r}; expected {_UNIT_LIST}"
                         f"{_suggest(unit, options)}", index)

    def iu_factor(self, drug: str, index: int) -> float:
        factor = self.unit_factors.get(drug.lower())
        if factor is None or not factor > 0:
            raise self.error(
                f"dose in IU but no mg-per-IU factor for {drug!r}; expected unit_factors to "
                f"map {drug!r} to mg per IU (known: {', '.join(self.unit_factors) or 'none'})",
                index)
        return factor

    def _route_at(self, j: int) -> tuple[str, int] | None:
        for length in (2, 1):
            key = tuple(self.tokens[j:j + length])
            if len(key) == length and key in ROUTE_ALIASES:
                return ROUTE_ALIASES[key], length
        return None

    def parse_route(self) -> tuple[str, int]:
        index = self.i
        found = self._route_at(self.i)
        if found is None:
            tok = self.peek()
            aliases = sorted({" ".join(k) for k in ROUTE_ALIASES})
            expected = (f"expected a route: {', '.join(_CANONICAL_ROUTES)} (aliases: po, "
                        "oral ER, sublingual, nasal, inhaled, td, patch, XR-IM, depot, ...)")
            if tok is None or self._frequency_at(self.i) is not None or tok in (
                    "for", "x", "over", "from", "at", "starting"):
                raise self.error(f"missing route; {expected}", index)
            raise self.error(f"unknown route {tok!r}; {expected}{_suggest(tok, aliases)}",
                             index)
        route, length = found
        self.i += length
        return route, index

    def _frequency_at(self, j: int) -> tuple[float, int] | None:
        """Interval in h (0 = once) and tokens used, or None when no frequency is here."""
        tok = self.tokens[j] if j < len(self.tokens) else None
        if tok is None:
            return None
        nxt = self.tokens[j + 1] if j + 1 < len(self.tokens) else None
        if tok == "once":
            return (24.0, 2) if nxt == "daily" else (0.0, 1)
        if tok == "twice" and nxt == "daily":
            return 12.0, 2
        if tok in _NAMED_FREQUENCIES:
            return _NAMED_FREQUENCIES[tok], 1
        m = _FREQ_RE.match(tok)
        if m and m.group("unit") in _FREQ_UNITS:
            num = float(m.group("num")) if m.group("num") else 1.0
            return num * _FREQ_UNITS[m.group("unit")], 1
        return None

    def parse_frequency(self) -> float | None:
        index = self.i
        found = self._frequency_at(self.i)
        if found is None:
            tok = self.peek()
            if tok is not None and re.match(r"^q(\d|\.|$|x|[a-z]*\d)", tok):
                raise self.error(f"malformed frequency; expected {_FREQ_HELP}", index)
            return None
        interval, length = found
        if found[1] == 1 and _FREQ_RE.match(self.tokens[index]) and interval <= 0:
            raise self.error(f"frequency interval must be > 0; expected {_FREQ_HELP}", index)
        self.i += length
        return interval

    def parse_start(self, tok: str, index: int) -> float:
        """``from day <d>`` / ``starting [on] day <d>`` / ``at <t> h`` after the cursor's keyword:
        the offset in h from the regimen's start."""
        self.i += 1
        if self.peek() in ("on", "at") and tok != "at":
            self.i += 1
        if self.peek() == "day":
            self.i += 1
            day_tok = self.peek()
            if day_tok is None or not re.fullmatch(r"\d+", day_tok) or int(day_tok) < 1:
                raise self.error(
                    "malformed start: expected 'day <d>' with d a whole number >= 1 "
                    "(day 1 is the start of the study)", index)
            self.i += 1
            return (int(day_tok) - 1) * 24.0
        offset, _ = self.quantity("start", _TIME_UNITS,
                                  "'from day <d>', 'starting day <d>' or 'at <t> h'")
        return offset

    def _infusion_ahead(self) -> bool:
        if self.peek() == "infusion":
            return True
        found = self._route_at(self.i)
        return found is not None and self.peek(found[1]) == "infusion"

    def parse_infusion(self, names: list[str]) -> pd.DataFrame:
        """``<drug> [<route>] infusion at <rate> [<route>] for <duration> [<start>]``: one
        zero-order input at the rate for the duration (the route defaults to iv)."""
        route = None
        if self.peek() != "infusion":
            route, route_index = self.parse_route()
        inf_index = self.i
        self.i += 1
        if self.peek() != "at":
            raise self.error(f"expected 'at <rate>' after 'infusion'; expected {_INFUSION_EXAMPLE}",
                             self.i)
        self.i += 1
        amounts, unit, unit_index = self.parse_amount(len(names))
        factors = [self.unit_factor(unit, d, unit_index) for d in names]
        if not factors[0][1]:
            raise self.error(f"an infusion needs a rate unit such as mg/h, ug/h or mg/min, not "
                             f"{unit!r}; expected {_INFUSION_EXAMPLE}", unit_index)
        if route is None:
            if self._route_at(self.i) is not None:
                route, route_index = self.parse_route()
            else:
                route, route_index = "iv", inf_index
        duration: float | None = None
        offset = 0.0
        seen: dict[str, int] = {}
        while self.i < len(self.tokens):
            index = self.i
            tok = self.tokens[index]
            kind = "duration" if tok == "for" else "start" if tok in ("from", "starting", "start", "at") else None
            if kind is None:
                raise self.error(f"unexpected text; an infusion takes 'for <N> s|min|h|d' and "
                                 f"optionally a start ('from day <d>' or 'at <t> h'); expected "
                                 f"{_INFUSION_EXAMPLE}", index)
            if kind in seen:
                raise self.error(f"{kind} given twice (first at token {seen[kind] + 1}); "
                                 "expected at most one", index)
            seen[kind] = index
            if kind == "duration":
                self.i += 1
                duration, _ = self.quantity("infusion duration", _TIME_UNITS,
                                            "'for <N> s|min|h|d'")
            else:
                offset = self.parse_start(tok, index)
        if duration is None:
            raise self.error(f"an infusion needs its duration; expected {_INFUSION_EXAMPLE}",
                             len(self.tokens))
        rows = []
        for drug, amount, (factor, _rate) in zip(names, amounts, factors):
            cmt_route = self.route_for(drug, route, route_index, combination=len(names) > 1)
            rate = amount * factor
            rows.append({"TIME": float(self.start) + offset, "EVID": 1,
                         "AMT": _clean(rate * duration), "CMT": f"{drug}.{cmt_route}",
                         "RATE": _clean(rate), "II": 0.0, "ADDL": 0})
        return pd.DataFrame(rows, columns=["TIME", "EVID", "AMT", "CMT", "RATE", "II", "ADDL"])

    def parse(self) -> pd.DataFrame:
        names = self.parse_drugs()
        if self._infusion_ahead():
            return self.parse_infusion(names)
        amounts, unit, unit_index = self.parse_amount(len(names))
        factors = [self.unit_factor(unit, d, unit_index) for d in names]
        is_rate = factors[0][1]
        route, route_index = self.parse_route()

        interval: float | None = None
        duration: float | None = None
        count: int | None = None
        over: float | None = None
        offset: float | None = None
        seen: dict[str, int] = {}

        def once(kind: str, index: int) -> None:
            if kind in seen:
                raise self.error(f"{kind} given twice (first at token {seen[kind] + 1}); "
                                 "expected at most one", index)
            seen[kind] = index

        while self.i < len(self.tokens):
            index = self.i
            tok = self.tokens[index]
            freq = self.parse_frequency()
            if freq is not None:
                once("frequency", index)
                interval = freq
                continue
            if tok == "for":
                once("duration", index)
                self.i += 1
                duration, _ = self.quantity("duration", _TIME_UNITS,
                                            "'for <N> h|d|days|weeks|months'")
            elif tok == "x" or re.match(r"^x\d", tok):
                once("duration", index)
                self.i += 1
                number = tok[1:] if tok != "x" else self.peek()
                if tok == "x":
                    self.i += 1
                if number is None or not re.fullmatch(r"\d+", number) or int(number) < 1:
                    raise self.error("malformed duration: expected 'x <N> [doses]' with N a "
                                     "whole number >= 1", index)
                count = int(number)
                if self.peek() in ("dose", "doses"):
                    self.i += 1
            elif tok == "over":
                once("over", index)
                self.i += 1
                over, _ = self.quantity("infusion duration", _TIME_UNITS,
                                        "'over <N> s|min|h|d', e.g. 'over 90 s'")
            elif tok in ("from", "starting", "start", "at"):
                once("start", index)
                offset = self.parse_start(tok, index)
            else:
                raise self.error(f"unexpected text; expected {_MODIFIER_HELP}", index)

        repeating = interval is not None and interval > 0
        if (duration is not None or count is not None) and not repeating:
            raise self.error(
                "a duration ('for ...' / 'x N') needs a repeat frequency such as q24h, bid or "
                "weekly; 'once' (the default) gives a single dose", seen["duration"])
        if repeating and duration is None and count is None:
            raise self.error(
                "a repeat frequency needs a duration; expected 'for <N> d|weeks|...' or "
                "'x <N> doses' (use 'once' for a single dose)", seen["frequency"])
        if is_rate and over is None and not repeating:
            raise self.error(
                f"a rate dose ({unit}) needs the input duration: give a repeat frequency "
                "(each input lasts one interval, e.g. q72h) or 'over <N> h'", unit_index)

        ii = interval if repeating else 0.0
        assert ii is not None
        if repeating:
            if count is None:
                assert duration is not None
                count = max(1, math.ceil(duration / ii - 1e-9))
            addl = count - 1
        else:
            addl = 0
        time = float(self.start) + (offset or 0.0)

        rows = []
        for drug, amount, (factor, _rate) in zip(names, amounts, factors):
            cmt_route = self.route_for(drug, route, route_index, combination=len(names) > 1)
            if is_rate:
                rate = amount * factor
                length = over if over is not None else ii
                amt = rate * length
            else:
                amt = amount * factor
                rate = amt / over if over is not None else 0.0
            rows.append({"TIME": time, "EVID": 1, "AMT": _clean(amt),
                         "CMT": f"{drug}.{cmt_route}", "RATE": _clean(rate), "II": float(ii),
                         "ADDL": int(addl)})
        return pd.DataFrame(rows, columns=["TIME", "EVID", "AMT", "CMT", "RATE", "II", "ADDL"])

    def route_for(self, drug: str, route: str, index: int, *, combination: bool) -> str:
        routes = self.drugs[drug]
        if route in routes:
            return route
        if combination and route == "sl" and "oral" in routes:
            return "oral"  # e.g. samidorphan in a sublingual combination tablet
        raise self.error(
            f"route {route!r} is not available for {drug}; {drug} routes: "
            f"{', '.join(sorted(routes)) or 'none'}", index)


def _clean(value: float) -> float:
    """Round away binary noise (12 significant digits)."""
    return float(f"{value:.12g}")


def _split_where(where: str | None) -> tuple[str | None, int | None, str]:
    """``"study.yaml:14 arms[0].regimens[1]"`` -> (``study.yaml``, 14, ``arms[0]...``)."""
    if not where:
        return None, None, "regimen"
    head, _, rest = where.strip().partition(" ")
    line: int | None = None
    m = re.match(r"^(.*):(\d+)$", head)
    if m:
        head, line = m.group(1), int(m.group(2))
    return head, line, rest.strip() or "regimen"


def parse_regimen(text: str, *, drugs: Mapping[str, Iterable[str]], start: float = 0.0,
                  where: str | None = None,
                  unit_factors: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Parse a regimen shorthand into dose rows.

    Grammar (case-insensitive; extra spaces ignored)::

        <drug> <amount> <unit> <route> [<frequency>] [for <duration> | x <N> [doses]]
               [over <duration>] [from day <d> | starting day <d> | at <t> h]
        <drug> [<route>] infusion at <rate> [<route>] for <duration>
               [from day <d> | starting day <d> | at <t> h]

    * ``<drug>``: a key of ``drugs``, or a combination ``a-b`` / ``a/b`` of known drugs with
      amounts ``x/y`` (``buprenorphine-naloxone 16/4 mg SL``) giving one row per component. In
      a sublingual combination a component without an ``sl`` route but with ``oral`` is dosed
      orally (e.g. samidorphan).
    * ``<unit>``: g, mg, ug/µg/mcg, ng, or IU (needs ``unit_factors[drug]`` in mg per IU). A
      rate unit such as ``ug/h`` (or ``mg/h``, ``mg/d``) means a zero-order input (a patch) at
      that rate for one dosing interval (or for ``over <duration>``): ``fentanyl 25 ug/h TD
      q72h`` gives AMT 1.8 mg, RATE 0.025 mg/h, II 72 h.
    * ``<route>``: iv; im; sc (subcutaneous); oral (po, oral IR); oral_er (oral ER, po ER, ER);
      sl (sublingual); intranasal (in, nasal); smoked (inhaled, smoked/inhaled); transdermal
      (td, patch); xr_im (XR-IM, depot, extended-release IM). It must be one of the drug's
      routes.
    * ``<frequency>``: qNh, qNd, qNw/qNwk, qd/daily/once daily (24 h), bid (12 h), tid (8 h),
      qid (6 h), qod (48 h), weekly (168 h), monthly (= q28d, 672 h), once (a single dose; the
      default).
    * ``for <N> <unit>`` with unit s, min, h, d/day(s), w/wk/week(s), month(s) (a month is 28 d): the
      number of doses is ceil(duration / interval), i.e. doses strictly before start +
      duration. ``x <N> [doses]`` gives N doses. Both need a repeat frequency, and a repeat
      frequency needs one of them.
    * ``over <N> s|min|h|d`` (s/sec/seconds, min/minutes, h/hours, d/days): zero-order input,
      RATE = AMT / duration (``naloxone 0.4 mg IV once over 90 s``).
    * ``infusion at <R> <mass>/<time> for <N> <unit>``: one continuous infusion at rate R for the
      duration, AMT = R·duration (``morphine infusion at 2 mg/h IV for 24 h``); the route may
      stand before ``infusion`` or after the rate and defaults to iv.
    * Time units everywhere: s, min, h, d, w (weeks), months (28 d).
    * ``from day <d>`` / ``starting day <d>``: first dose at start + (d - 1) * 24 h (day 1 is
      the start); ``at <t> h``: first dose at start + t.

    Returns
    -------
    DataFrame with columns TIME (h), EVID (= 1), AMT (mg), CMT (``"<drug>.<route>"``), RATE
    (mg/h, 0 for a bolus), II (h, 0 for a single dose), ADDL.

    Raises
    ------
    OpiaxisInputError
        Quoting the text and the wrong token, with what was expected; ``where`` (e.g.
        ``"study.yaml:14 arms[0].regimens[1]"``) becomes the error's file, line and field.
    """
    if not isinstance(text, str):
        file, line, field = _split_where(where)
        raise OpiaxisInputError(f"regimen is {text!r}; expected a text such as "
                                "'buprenorphine 16 mg SL q24h for 28 d'", file=file, line=line,
                                field=field)
    return _RegimenParser(text, drugs, start, where, unit_factors).parse()


def regimen_to_events(texts: str | Sequence[str], *, drugs: Mapping[str, Iterable[str]],
                      ids: Iterable[Any], start: float = 0.0,
                      where: str | Sequence[str | None] | None = None,
                      unit_factors: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Event table (columns :data:`EVENT_COLUMNS`) giving every id all the regimens in ``texts``.

    ``where`` is one location for all texts or one per text. Rows are sorted by ID and TIME,
    keeping the order of ``texts`` for ties.
    """
    text_list = [texts] if isinstance(texts, str) else list(texts)
    if where is None or isinstance(where, str):
        wheres: list[str | None] = [where] * len(text_list)
    else:
        wheres = list(where)
        if len(wheres) != len(text_list):
            raise OpiaxisInputError(
                f"{len(wheres)} locations for {len(text_list)} regimens; expected one 'where' "
                "per regimen text or a single one", field="where")
    id_list = list(ids)
    if not id_list:
        raise OpiaxisInputError("no subject ids given; expected at least one id", field="ids")
    parsed = [parse_regimen(t, drugs=drugs, start=start, where=w, unit_factors=unit_factors)
              for t, w in zip(text_list, wheres)]
    columns = list(EVENT_COLUMNS)
    if not parsed:
        return pd.DataFrame({c: [] for c in columns})
    block = pd.concat(parsed, ignore_index=True)
    frames = [block.assign(ID=pid) for pid in id_list]
    out = pd.concat(frames, ignore_index=True)[columns]
    out = out.sort_values(["ID", "TIME"], kind="mergesort").reset_index(drop=True)
    return out
