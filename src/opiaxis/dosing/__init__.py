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

Event tables as values
----------------------
:class:`EventTable` is the one place where regimen text becomes event rows (mrgsolve's ``ev()``):
``EventTable.from_regimens(model, texts).for_ids(ids).expanded()`` gives the engine its dose
rows, in the model's dosing vocabulary (:func:`drug_routes`, :func:`iu_factors`).

Layout: ``events.py`` (reading tables), ``expand.py`` (ADDL/SS expansion), ``grammar.py`` (the
shorthand), ``vocabulary.py`` (what a model doses), ``table.py`` (:class:`EventTable`).
"""

from ._common import (
    EVENT_COLUMNS,
    MAX_ADDL,
    MAX_EXPANDED_EVENTS,
    REQUIRED_COLUMNS,
    SS_RUN_IN_DOSES,
    SS_RUN_IN_HOURS,
    is_missing,
    suggest,
)
from .events import RowLocator, parse_cmt_map, read_csv_with_lines, read_event_table
from .expand import expand_doses
from .grammar import MASS_UNITS, ROUTE_ALIASES, TIME_UNITS, parse_regimen
from .table import PART_ORDER_OFFSET, EventTable, regimen_to_events
from .vocabulary import drug_routes, iu_factors

__all__ = [
    "EVENT_COLUMNS",
    "MAX_ADDL",
    "MASS_UNITS",
    "MAX_EXPANDED_EVENTS",
    "REQUIRED_COLUMNS",
    "ROUTE_ALIASES",
    "SS_RUN_IN_DOSES",
    "SS_RUN_IN_HOURS",
    "TIME_UNITS",
    "PART_ORDER_OFFSET",
    "EventTable",
    "RowLocator",
    "drug_routes",
    "expand_doses",
    "iu_factors",
    "is_missing",
    "parse_cmt_map",
    "parse_regimen",
    "read_csv_with_lines",
    "read_event_table",
    "regimen_to_events",
    "suggest",
]
