"""ADDL/II and steady-state expansion into explicit dose rows, in a defined event order."""

from __future__ import annotations

import numpy as np
import pandas as pd

from opiaxis.errors import OpiaxisInputError

from ._common import (
    _DOSE_EVID,
    _EXPANDED_COLUMNS,
    _RESET_EVID,
    EVENT_COLUMNS,
    MAX_EXPANDED_EVENTS,
    SS_RUN_IN_DOSES,
    SS_RUN_IN_HOURS,
    _fmt,
)


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
    kept = _dose_and_reset_rows(df)
    _late_steady_state_as_reset(kept, late_steady_state)
    pre = _steady_state_run_in(kept)
    _check_and_clear_reset_items(kept)
    base = _explicit_doses(kept, pre)
    base = base.sort_values(["ID", "TIME", "_RESET", "_SRC", "_K"], kind="mergesort")
    if np.isin(kept["EVID"], _RESET_EVID).any():
        base = _cancel_doses_after_resets(base, len(kept["EVID"]))
    base = base.reset_index(drop=True)
    base["ORDER"] = base.groupby("ID", sort=False).cumcount().astype(np.int64)
    return base[list(_EXPANDED_COLUMNS)].reset_index(drop=True)


_NAME = "<event table>"


def _dose_and_reset_rows(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """The dose (EVID 1, 4) and reset (EVID 3) rows as arrays by column: ID, CMT, TIME, EVID,
    AMT, RATE, II, ADDL, SS (absent or missing items are 0, as when read), SRC (the row's
    position in ``df``) and FIRST (the row is at its ID's first time)."""
    missing = [c for c in ("ID", "TIME", "EVID", "AMT", "CMT") if c not in df.columns]
    if missing:
        raise OpiaxisInputError(
            f"missing column(s) {', '.join(missing)}; expected an event table from "
            "read_event_table or regimen_to_events with columns "
            f"{', '.join(EVENT_COLUMNS)}", file=_NAME)
    evid = pd.to_numeric(df["EVID"], errors="coerce").to_numpy(dtype=float)
    keep = np.isin(evid, (1, 3, 4))
    sub = df.loc[keep]
    if "SS" in df.columns and len(df):
        all_time = pd.to_numeric(df["TIME"], errors="coerce")
        first_of_id = (all_time <= all_time.groupby(df["ID"].to_numpy()).transform("min").to_numpy()).to_numpy()[keep]
    else:
        first_of_id = np.ones(len(sub), dtype=bool)

    def get(col: str) -> np.ndarray:
        if col not in sub.columns:
            return np.zeros(len(sub))
        return pd.to_numeric(sub[col], errors="coerce").fillna(0.0).to_numpy(float)

    return {"ID": sub["ID"].to_numpy(), "CMT": sub["CMT"].to_numpy(), "SRC": np.flatnonzero(keep),
            "FIRST": first_of_id, "EVID": evid[keep].astype(np.int64),
            "TIME": pd.to_numeric(sub["TIME"], errors="coerce").to_numpy(dtype=float),
            "AMT": get("AMT"), "RATE": get("RATE"), "II": get("II"), "ADDL": get("ADDL"),
            "SS": get("SS") if "SS" in sub.columns else np.zeros(len(sub))}


def _late_steady_state_as_reset(kept: dict[str, np.ndarray], late_steady_state: str) -> None:
    """A steady-state dose after its ID's first record: an error, or (``"reset"``, SS = 1 only)
    a reset and dose (EVID 4) for a caller that sets the steady state itself."""
    ss, time = kept["SS"], kept["TIME"]
    late = (ss != 0) & ~kept["FIRST"]
    if not late.any():
        return
    t_late = time[late][0]
    if late_steady_state != "reset" or (ss[late] == 2).any():
        raise OpiaxisInputError(
            f"a steady-state dose (SS {int(ss[late][0])}) at TIME {_fmt(t_late)} follows earlier records of "
            f"ID {kept['ID'][late][0]}; "
            + ("SS = 2 (added to the current state) is supported only as an ID's first record"
               if (ss[late] == 2).any() else
               "its reset to steady state is simulated by opiaxis.interop.nonmem.simulate_dataset "
               "(opiaxis simulate-nonmem), not in one timeline of doses"), file=_NAME, field="SS")
    kept["EVID"] = np.where(late, 4, kept["EVID"])


def _steady_state_run_in(kept: dict[str, np.ndarray]) -> np.ndarray:
    """Number of identical doses before each steady-state dose (k < 0): at least SS_RUN_IN_DOSES
    and SS_RUN_IN_HOURS of them. The dose is its ID's first record, so the reset of an EVID 4
    steady-state dose is moot (and would erase the run-in): it becomes EVID 1."""
    ev, ii = kept["EVID"], kept["II"]
    steady = (kept["SS"] != 0) & np.isin(ev, _DOSE_EVID) & (ii > 0) & kept["FIRST"]
    pre = np.where(steady, np.maximum(SS_RUN_IN_DOSES, np.ceil(SS_RUN_IN_HOURS / np.where(ii > 0, ii, 1.0))), 0)
    kept["EVID"] = np.where(steady, 1, ev)
    return pre.astype(np.int64)


def _check_and_clear_reset_items(kept: dict[str, np.ndarray]) -> None:
    """TIME is a number and ADDL > 0 only with II > 0; a reset (EVID 3) has no dose items."""
    ev = kept["EVID"]
    if np.isnan(kept["TIME"]).any():
        raise OpiaxisInputError("TIME is missing or not numeric on a dose or reset row; "
                                "expected a number (read the table with read_event_table)",
                                file=_NAME, field="TIME")
    addl = np.where(ev == 3, 0, kept["ADDL"]).astype(np.int64)
    if ((addl > 0) & (kept["II"] <= 0)).any():
        raise OpiaxisInputError("ADDL > 0 with II <= 0; additional doses need II > 0 h",
                                file=_NAME, field="II")
    kept["ADDL"] = addl
    kept["AMT"] = np.where(ev == 3, 0.0, kept["AMT"])
    kept["RATE"] = np.where(ev == 3, 0.0, kept["RATE"])


def _explicit_doses(kept: dict[str, np.ndarray], pre: np.ndarray) -> pd.DataFrame:
    """One row per dose: each kept row's run-in doses (k < 0), itself (k = 0) and its additional
    doses (k = 1..ADDL) at TIME + k*II; sort keys _RESET (0 for a row's own reset), _SRC, _K and
    its _PARENT row."""
    ev, time, ii, addl = kept["EVID"], kept["TIME"], kept["II"], kept["ADDL"]
    counts = addl + 1 + pre
    if counts.sum() > MAX_EXPANDED_EVENTS:
        raise OpiaxisInputError(f"the doses expand to {int(counts.sum()):,} events (ADDL and regimens); expected at "
                                f"most {MAX_EXPANDED_EVENTS:,}: check II, ADDL and the regimen durations",
                                file=_NAME, field="ADDL")
    parent = np.repeat(np.arange(len(ev)), counts)
    k = np.arange(len(parent)) - np.repeat(np.cumsum(counts) - counts, counts) - pre[parent]
    return pd.DataFrame({
        "ID": kept["ID"][parent],
        "TIME": time[parent] + k * ii[parent],
        "EVID": np.where(k != 0, 1, ev[parent]),
        "AMT": kept["AMT"][parent],
        "CMT": kept["CMT"][parent],
        "RATE": kept["RATE"][parent],
        "_RESET": np.where((k == 0) & np.isin(ev[parent], _RESET_EVID), 0, 1),
        "_SRC": kept["SRC"][parent],
        "_K": k,
        "_PARENT": parent,
    })


def _cancel_doses_after_resets(base: pd.DataFrame, n_rows: int) -> pd.DataFrame:
    """Drop the additional doses (k > 0) of rows ordered before a reset that fall at or after
    the reset's time. In the sorted order times are non-decreasing within an ID, so the first
    reset after a row (in order) is the one that matters."""
    base = base.reset_index(drop=True)
    is_reset = ((base["_K"] == 0) & (base["_RESET"] == 0)).to_numpy()
    reset_time = pd.Series(np.where(is_reset, base["TIME"].to_numpy(), np.inf))
    next_reset = (reset_time[::-1].groupby(base["ID"][::-1], sort=False).cummin()
                  .groupby(base["ID"][::-1], sort=False).shift(1, fill_value=np.inf)
                  [::-1].sort_index().to_numpy())
    initiating = (base["_K"] == 0).to_numpy()
    cutoff = np.full(n_rows, np.inf)
    cutoff[base["_PARENT"].to_numpy()[initiating]] = next_reset[initiating]
    implied = base["_K"].to_numpy() > 0
    drop = implied & (base["TIME"].to_numpy() >= cutoff[base["_PARENT"].to_numpy()])
    return base.loc[~drop]
