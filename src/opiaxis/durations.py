"""Durations written by a user ('36 d', '12 weeks', '6 h' or a number of hours), in hours: the one
parser behind study schedules, visits, endpoints and sensitivity horizons."""

from __future__ import annotations

import math

from .errors import OpiaxisInputError


def hours(value, *, file: str | None = None, line: int | None = None, field: str | None = None,
          allow_zero: bool = False) -> float:
    """``value`` in hours; a bare number (or numeric text) is already hours. Anything else is an
    input error naming the file, line and field."""
    from .model.units import ureg
    if isinstance(value, bool):
        h = math.nan
    elif isinstance(value, (int, float)):
        h = float(value)
    else:
        text = str(value).strip()
        try:
            h = float(text)
        except ValueError:
            try:
                h = float(ureg.Quantity(text.replace("days", "day").replace("weeks", "week")).to("h").magnitude)
            except Exception:
                raise OpiaxisInputError(f"{value!r} is not a duration; expected e.g. '36 d', '12 weeks' or '6 h'",
                                        file=file, line=line, field=field) from None
    if not math.isfinite(h) or h < 0 or (h == 0 and not allow_zero):
        raise OpiaxisInputError(f"duration {value!r} must be positive", file=file, line=line, field=field)
    return h
