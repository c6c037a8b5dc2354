"""Constants and small helpers shared by the event-table reader, the expander and the grammar."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable

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


def is_missing(value) -> bool:
    """A missing value of an event table or dataset: None, NaN, or a text marker such as NONMEM's
    ``.`` (case-insensitive, surrounding blanks ignored)."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip().lower() in _MISSING_TOKENS


def suggest(word: str, options: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for a close match, else ``""``."""
    opts = list(options)
    lowered = {o.lower(): o for o in opts}
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f"; did you mean '{lowered[match[0]]}'?" if match else ""


def _fmt(value: float) -> str:
    return f"{value:g}"
