"""``EventTable``: dose events as a value, in the spirit of mrgsolve's ``ev()``.

This is the one place where regimen text becomes event rows::

    bup = EventTable.from_regimens(model, ["buprenorphine 16 mg SL q24h for 28 d"])
    doses = (bup + EventTable.from_regimens(model, "naloxone 0.4 mg IV once at 5 h")).for_ids(ids)
    simulate(model, P, times, doses.expanded(), ids=ids)

A table is a sum of parts. A part is either a *regimen* (rows without ID: the same doses for
every subject it is given to with :meth:`EventTable.for_ids`) or *subject rows* (an event table
with an ID column, e.g. read with :func:`opiaxis.dosing.read_event_table`).

Adding two regimens that no subject has been given yet makes one regimen (their rows are
expanded together, as one text list). Otherwise the parts of a sum stay apart: each is expanded
on its own, and a later part's events come after an earlier part's at the same time (its
``ORDER`` is offset by 1,000,000 per part), so a reset in one part does not cancel another
part's additional (ADDL) doses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from opiaxis.errors import OpiaxisInputError

from ._common import _EXPANDED_COLUMNS, EVENT_COLUMNS
from .expand import expand_doses
from .grammar import parse_regimen
from .vocabulary import drug_routes, iu_factors

#: ORDER offset between the parts of a sum (later parts after earlier ones at equal times)
PART_ORDER_OFFSET = 1_000_000

_REGIMEN_COLUMNS = [c for c in EVENT_COLUMNS if c != "ID"]


@dataclass(frozen=True, eq=False)
class _Part:
    rows: pd.DataFrame                 # a regimen's rows (no ID), or subject rows (with ID)
    ids: np.ndarray | None = None      # a regimen: the subjects it is given to (None: not yet)

    @property
    def is_regimen(self) -> bool:
        return "ID" not in self.rows.columns


def _as_list(value, n: int, what: str, field: str) -> list:
    if value is None or isinstance(value, (str, int, float, np.number)):
        return [value] * n
    out = list(value)
    if len(out) != n:
        raise OpiaxisInputError(f"{len(out)} {what} for {n} regimens; expected one '{field}' per regimen "
                                "text or a single one", field=field)
    return out


@dataclass(frozen=True, eq=False)
class EventTable:
    """Dose events in NONMEM columns (see :mod:`opiaxis.dosing`); immutable, combine with ``+``."""

    parts: tuple[_Part, ...] = ()

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_texts(cls, texts: str | Iterable[str], *, drugs: Mapping[str, Iterable[str]],
                   unit_factors: Mapping[str, float] | None = None,
                   start: float | Sequence[float] = 0.0,
                   where: str | Sequence[str | None] | None = None) -> EventTable:
        """A regimen from shorthand texts (:func:`opiaxis.dosing.parse_regimen`), for any subject.

        ``start`` (h) and ``where`` (the error location, e.g. ``"study.yaml:14 arms[0].regimens[1]"``)
        are one value for all texts or one per text. Raises located errors for a bad text.
        """
        text_list = [texts] if isinstance(texts, str) else list(texts)
        starts = _as_list(start, len(text_list), "start times", "start")
        wheres = _as_list(where, len(text_list), "locations", "where")
        frames = [parse_regimen(t, drugs=drugs, start=s, where=w, unit_factors=unit_factors)
                  for t, s, w in zip(text_list, starts, wheres)]
        if not frames:
            return cls()
        return cls((_Part(pd.concat(frames, ignore_index=True)[_REGIMEN_COLUMNS]),))

    @classmethod
    def from_regimens(cls, model: Any, texts: str | Iterable[str], *,
                      start: float | Sequence[float] = 0.0,
                      where: str | Sequence[str | None] | None = None) -> EventTable:
        """A regimen from shorthand texts in the model's dosing vocabulary (its drugs and routes,
        mg per IU); see :meth:`from_texts`."""
        return cls.from_texts(texts, drugs=drug_routes(model), unit_factors=iu_factors(model),
                              start=start, where=where)

    @classmethod
    def from_rows(cls, rows: pd.DataFrame) -> EventTable:
        """Rows in NONMEM columns: with an ID column, subject rows (e.g. from
        :func:`opiaxis.dosing.read_event_table`); without one, a regimen for any subject."""
        if len(rows) == 0:
            return cls()
        if "ID" not in rows.columns:
            rows = rows.assign(**{c: 0.0 for c in ("RATE", "II") if c not in rows.columns})
            rows = rows.assign(**{c: 0 for c in ("ADDL",) if c not in rows.columns})
        return cls((_Part(rows.reset_index(drop=True)),))

    # -- combination ------------------------------------------------------------------------------
    def __add__(self, other: EventTable) -> EventTable:
        if not isinstance(other, EventTable):
            return NotImplemented
        if (len(self.parts) == 1 and len(other.parts) == 1 and self.parts[0].is_regimen
                and other.parts[0].is_regimen and self.parts[0].ids is None and other.parts[0].ids is None):
            return EventTable((_Part(pd.concat([self.parts[0].rows, other.parts[0].rows], ignore_index=True)),))
        return EventTable(self.parts + other.parts)

    def __radd__(self, other):
        if other == 0:          # sum(tables)
            return self
        return NotImplemented

    def __len__(self) -> int:
        return sum(len(p.rows) * (1 if p.ids is None else len(p.ids)) for p in self.parts)

    def for_ids(self, ids: Iterable[Any]) -> EventTable:
        """The events of subjects ``ids``: a regimen is given to each of them (in the order of
        ``ids``); subject rows of other IDs are left out."""
        id_arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids)
        parts = []
        for p in self.parts:
            if not p.is_regimen:
                parts.append(_Part(p.rows[p.rows["ID"].isin(id_arr)]))
            elif p.ids is None:
                parts.append(_Part(p.rows, id_arr))
            else:
                parts.append(_Part(p.rows, p.ids[np.isin(p.ids, id_arr)]))
        return EventTable(tuple(parts))

    # -- views -------------------------------------------------------------------------------------
    @property
    def frame(self) -> pd.DataFrame:
        """The unexpanded rows (II/ADDL as given); ID is missing on a regimen not yet given to
        subjects."""
        frames = []
        for p in self.parts:
            if p.is_regimen and p.ids is not None:
                k = len(p.rows)
                cols = {"ID": np.repeat(p.ids, k)}
                cols.update({c: np.tile(p.rows[c].to_numpy(), len(p.ids)) for c in p.rows.columns})
                frames.append(pd.DataFrame(cols))
            else:
                frames.append(p.rows)
        if not frames:
            return pd.DataFrame({c: [] for c in EVENT_COLUMNS})
        return pd.concat(frames, ignore_index=True)

    def expanded(self) -> pd.DataFrame:
        """Explicit dose and reset rows (columns ID, TIME, EVID, AMT, CMT, RATE, ORDER) for the
        engine: each part expanded by :func:`opiaxis.dosing.expand_doses`, a regimen once and then
        repeated for its subjects."""
        frames = []
        for k, p in enumerate(self.parts):
            if p.is_regimen:
                if p.ids is None:
                    raise OpiaxisInputError("this regimen is not given to any subject yet; call "
                                            ".for_ids(ids) before .expanded()", field="ids")
                one = expand_doses(p.rows.assign(ID=0)[list(EVENT_COLUMNS)])
                n = len(one)
                cols = {"ID": np.repeat(p.ids, n)}
                cols.update({c: np.tile(one[c].to_numpy(), len(p.ids)) for c in one.columns if c != "ID"})
                ev = pd.DataFrame(cols)
            else:
                ev = expand_doses(p.rows)
            if len(ev):
                frames.append(ev.assign(ORDER=ev["ORDER"] + k * PART_ORDER_OFFSET) if k else ev)
        if not frames:
            return pd.DataFrame(columns=list(_EXPANDED_COLUMNS))
        return pd.concat(frames, ignore_index=True)

    def __repr__(self) -> str:
        kinds = ", ".join(("regimen" if p.is_regimen else "subject rows") + f" ({len(p.rows)} rows"
                          + (f", {len(p.ids)} ids" if p.ids is not None else "") + ")" for p in self.parts)
        return f"EventTable({kinds})"


def regimen_to_events(texts: str | Sequence[str], *, drugs: Mapping[str, Iterable[str]],
                      ids: Iterable[Any], start: float = 0.0,
                      where: str | Sequence[str | None] | None = None,
                      unit_factors: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Event table (columns :data:`EVENT_COLUMNS`) giving every id all the regimens in ``texts``.

    ``where`` is one location for all texts or one per text. Rows are sorted by ID and TIME,
    keeping the order of ``texts`` for ties.
    """
    id_list = list(ids)
    if not id_list:
        raise OpiaxisInputError("no subject ids given; expected at least one id", field="ids")
    table = EventTable.from_texts(texts, drugs=drugs, unit_factors=unit_factors, start=start, where=where)
    out = table.for_ids(id_list).frame[list(EVENT_COLUMNS)]
    return out.sort_values(["ID", "TIME"], kind="mergesort").reset_index(drop=True)
