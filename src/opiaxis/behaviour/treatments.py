"""Treatments of behaviour trials as data: what each arm's medication is (a dose written as a
regimen text, ``buprenorphine-naloxone 16/4 mg SL``), how often it is given, how it is titrated to
its target, how long it is maintained and how it is tapered; and the inpatient detoxification
taper some treatments begin with. The defaults live in ``data/treatments.yaml``; a trial file's
arm overrides any field (see docs/trials.md). What the patient *does* with a treatment
(attendance, adherence, induction, dropout) is behaviour, with its parameters in ``params.py``.

Schedule semantics (day 0 = the first day of treatment, or of re-entry):

* the dose on treatment day ``d`` is ``min(start + step·⌊d / every⌋, dose)`` with a titration,
  else ``dose`` (the maintenance dose);
* a taper from treatment day ``from_day`` (1-based, like the regimen grammar's ``from day``)
  either lists its doses (one per dosing day) or runs linearly over ``over`` days from the dose
  reached before it: ``D·(1 − ⌊k / every⌋·every / over)`` on taper day k; once it has ended the
  patient has completed treatment and leaves it;
* an exit taper (``exit_taper``: ``over``, ``every``) is the same linear taper, started on the
  day after a patient decides to leave treatment, in cohorts that model planned exits
  (``CohortSim(exit_tapers=True)``); the patient leaves when it ends (or drops out during it);
* doses of a daily or more frequent medication are given at clock times ``at + k·every``
  within each day (``every`` divides 24 h); a medication given every N days (N whole) is given on
  treatment days 0, N, 2N, ...; XR-naltrexone's injections run every ``every`` from the injection
  after a negative naloxone challenge.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources

from ..dosing import MASS_UNITS as _MASS_UNITS
from ..dosing import TIME_UNITS as _TIME_UNITS
from ..dosing import parse_regimen
from ..errors import OpiaxisInputError
from ..yamlio import check_keys, field_error, line_of, load_yaml

KINDS = ("none", "no_replacement", "methadone", "bupnx", "xrntx", "detox", "cncp")
WITH_MEDICATION = ("methadone", "bupnx", "xrntx", "cncp")
MEDICATION_KEYS = ("dose", "every", "at", "titration", "taper", "exit_taper", "source")
_QTY = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*([a-zµμ]+)\s*$", re.I)


@dataclass(frozen=True)
class Titration:
    start: float        # mg (first component) on treatment day 0
    step: float         # mg added every ``every_days``
    every_days: float


@dataclass(frozen=True)
class Taper:
    from_day: int                  # 1-based treatment day of the first tapered dose
    doses: tuple = ()              # mg per dosing day (explicit schedule), or
    over_days: float = 0.0         # a linear taper to zero over this many days
    every_days: float = 1.0        # ... reduced every this many days

    @property
    def length_days(self) -> float:
        return float(len(self.doses)) if self.doses else self.over_days


@dataclass(frozen=True)
class Medication:
    text: str                 # one administration at the maintenance dose, as a regimen text
    components: tuple         # ((compartment, mg per mg of the first component), ...)
    dose: float               # maintenance (target) dose, mg of the first component
    every_h: float = 24.0     # dosing interval
    at_h: float = 9.0         # clock time of the day's first dose (clinic opens at 9:00)
    titration: Titration | None = None
    taper: Taper | None = None
    exit_taper: Taper | None = None   # the taper a patient leaving treatment takes (cohorts with exit tapers)
    source: str = ""

    def with_exit_taper(self, from_day: int) -> "Medication":
        """This medication with its exit taper starting on treatment day ``from_day`` (1-based)."""
        return replace(self, taper=replace(self.exit_taper, from_day=int(from_day)), exit_taper=None)

    def dose_on(self, day: float) -> float | None:
        """Dose (mg of the first component) on treatment day ``day`` (0-based); None once the
        taper has ended."""
        tp = self.taper
        if tp is not None and day >= tp.from_day - 1:
            k = day - (tp.from_day - 1)
            if tp.doses:
                return float(tp.doses[int(k)]) if k < len(tp.doses) else None
            if k >= tp.over_days:
                return None
            return self._titrated(tp.from_day - 2) * (1 - (k // tp.every_days) * tp.every_days / tp.over_days)
        return self._titrated(day)

    def _titrated(self, day: float) -> float:
        t = self.titration
        if t is None or day < 0:
            return self.dose if t is None else min(t.start, self.dose)
        return min(t.start + t.step * (day // t.every_days), self.dose)

    def rows(self, mg: float) -> list[tuple[str, float]]:
        """(compartment, amount) of one administration of ``mg`` (of the first component)."""
        return [(cmt, float(mg * f)) for cmt, f in self.components]

    @property
    def clock_times(self) -> tuple:
        """Hours of the day at which a daily-or-more-often medication is given."""
        if self.every_h > 24:
            return (self.at_h,)
        return tuple(self.at_h + k * self.every_h for k in range(int(round(24 / self.every_h))))

    def given_on(self, day: float) -> bool:
        """Whether treatment day ``day`` is a dosing day (every N days from day 0)."""
        return self.every_h <= 24 or (day % (self.every_h / 24.0)) == 0

    def describe(self) -> str:
        every = "daily" if self.every_h == 24 else (f"every {_fmt(self.every_h / 24)} d" if self.every_h > 24
                                                     else f"every {_fmt(self.every_h)} h")
        parts = [self.text, every]
        if self.titration:
            t = self.titration
            parts.append(f"titrated from {_fmt(t.start)} mg by {_fmt(t.step)} mg every {_fmt(t.every_days)} d")
        if self.taper:
            tp = self.taper
            parts.append(f"taper from day {tp.from_day}: " + (" ".join(_fmt(d) for d in tp.doses) + " mg"
                                                              if tp.doses else
                                                              f"to zero over {_fmt(tp.over_days)} d in steps every "
                                                              f"{_fmt(tp.every_days)} d"))
        return ", ".join(parts)


@dataclass(frozen=True)
class Treatment:
    kind: str                              # one of KINDS
    medication: Medication | None = None   # maintenance medication (after induction)
    detox: Medication | None = None        # inpatient detoxification taper, from day 0 while inpatient

    def describe(self) -> str:
        out = [self.kind]
        if self.detox:
            out.append(f"detox: {self.detox.describe()}")
        if self.medication:
            out.append(self.medication.describe())
        return "; ".join(out)


def _fmt(v: float) -> str:
    return f"{v:g}"


# -- reading (defaults file and trial files share one parser, with located errors) ---------------
def _quantity(node, key, units: dict, example: str, file, fld, *, lo_exclusive=0.0) -> float:
    v = node[key]
    m = _QTY.match(str(v)) if isinstance(v, str) else None
    if not m or m.group(2).lower() not in units:
        raise field_error(f"{v!r} is not a quantity; expected {example}", file, node, key, fld)
    value = float(m.group(1)) * units[m.group(2).lower()]
    if not value > lo_exclusive:
        raise field_error(f"{v!r} must be > {lo_exclusive:g}; expected {example}", file, node, key, fld)
    return value


def _titration(node, file, where) -> Titration | None:
    if node is None or node == "none":
        return None
    check_keys(node, ("start", "step", "every"), file, where)
    for k in ("start", "step", "every"):
        if k not in node:
            raise field_error(f"missing {k!r}; expected e.g. {{start: 30 mg, step: 10 mg, every: 3 d}}", file, node, None,
                              f"{where}.{k}")
    start = _quantity(node, "start", _MASS_UNITS, "a dose such as '30 mg'", file, f"{where}.start")
    step = _quantity(node, "step", _MASS_UNITS, "a dose step such as '10 mg'", file, f"{where}.step")
    every = _quantity(node, "every", _TIME_UNITS, "an interval such as '3 d'", file, f"{where}.every") / 24.0
    return Titration(start, step, every)


def _taper(node, file, where) -> Taper | None:
    if node is None or node == "none":
        return None
    check_keys(node, ("from_day", "doses", "over", "every"), file, where)
    fd = node.get("from_day", 1)
    if isinstance(fd, bool) or not isinstance(fd, int) or fd < 1:
        raise field_error(f"from_day {fd!r} must be a whole number ≥ 1 (day 1 = the first day of treatment)",
                          file, node, "from_day", f"{where}.from_day")
    if ("doses" in node) == ("over" in node):
        raise field_error("give either 'doses' (a list of mg, one per dosing day) or 'over' (a linear taper to zero, "
                          "e.g. over: 4 weeks)", file, node, None, where)
    if "doses" in node:
        doses = node["doses"]
        if not isinstance(doses, list) or not doses or any(
                isinstance(d, bool) or not isinstance(d, (int, float)) or not math.isfinite(d) or d < 0 for d in doses):
            raise field_error(f"{doses!r} is not a list of doses in mg (numbers ≥ 0)", file, node, "doses", f"{where}.doses")
        if "every" in node:
            raise field_error("'every' goes with 'over' (the step interval of a linear taper)", file, node, "every",
                              f"{where}.every")
        return Taper(fd, tuple(float(d) for d in doses))
    over = _quantity(node, "over", _TIME_UNITS, "a duration such as '4 weeks'", file, f"{where}.over") / 24.0
    every = (_quantity(node, "every", _TIME_UNITS, "an interval such as '1 d' or '1 week'", file, f"{where}.every")
             / 24.0 if "every" in node else 1.0)
    if every > over or abs(over / every - round(over / every)) > 1e-9 or abs(every - round(every)) > 1e-9:
        raise field_error(f"the taper's step interval ({every:g} d) must be a whole number of days that divides its "
                          f"length ({over:g} d)", file, node, "every" if "every" in node else "over", f"{where}.every")
    return Taper(fd, (), over, every)


def parse_medication(node, *, file, where, routes, iu, base: Medication | None = None) -> Medication:
    """A medication from a mapping (keys ``dose``, ``every``, ``at``, ``titration``, ``taper``,
    ``source``); keys left out are taken from ``base``. Errors name the file, line and field."""
    if not isinstance(node, dict):
        raise OpiaxisInputError("expected a mapping with keys " + ", ".join(MEDICATION_KEYS), file=file,
                                line=getattr(node, "line", None), field=where)
    check_keys(node, MEDICATION_KEYS, file, where)
    if "dose" in node:
        text = node["dose"]
        loc = f"{file}:{line_of(node, 'dose')} {where}.dose"
        if not isinstance(text, str):
            raise field_error(f"{text!r} is not a dose; expected a regimen text such as 'methadone 50 mg oral'",
                              file, node, "dose", f"{where}.dose")
        rows = parse_regimen(text, drugs=routes, where=loc, unit_factors=iu)
        if (rows["II"] > 0).any() or (rows["RATE"] > 0).any() or (rows["TIME"] != 0).any():
            raise field_error(f"{text!r}: the dose is one administration, e.g. 'methadone 50 mg oral'; the interval goes "
                              "in 'every', the schedule in 'titration' and 'taper'", file, node, "dose", f"{where}.dose")
        amt = rows["AMT"].to_numpy(float)
        comps = tuple((str(c), float(a / amt[0])) for c, a in zip(rows["CMT"], amt))
        med = Medication(text, comps, float(amt[0]))
    elif base is None:
        raise field_error("missing 'dose' (a regimen text such as 'methadone 50 mg oral')", file, node, None, f"{where}.dose")
    else:
        med = base
    if "every" in node:
        every = _quantity(node, "every", _TIME_UNITS, "an interval such as '24 h' or '28 d'", file, f"{where}.every")
        if (every < 24 and abs(24 / every - round(24 / every)) > 1e-9) or (every > 24 and abs(every / 24 - round(every / 24)) > 1e-9):
            raise field_error(f"{node['every']!r}: a dosing interval divides the day (e.g. 12 h) or is a whole number of "
                              "days (e.g. 2 d, 28 d)", file, node, "every", f"{where}.every")
        med = replace(med, every_h=every)
    if "at" in node:
        at = node["at"]
        h = _quantity(node, "at", _TIME_UNITS, "a clock time such as '9 h'", file, f"{where}.at", lo_exclusive=-1e-12)
        if h >= 24:
            raise field_error(f"{at!r} is not a clock time; expected 0 h ≤ at < 24 h", file, node, "at", f"{where}.at")
        med = replace(med, at_h=h)
    if med.every_h < 24 and med.at_h + med.every_h * (round(24 / med.every_h) - 1) >= 24:
        raise field_error(f"the day's doses from {med.at_h:g} h every {med.every_h:g} h run past midnight; give an "
                          "earlier 'at'", file, node, "at" if "at" in node else "every", f"{where}.at")
    if "titration" in node:
        med = replace(med, titration=_titration(node["titration"], file, f"{where}.titration"))
    if "taper" in node:
        med = replace(med, taper=_taper(node["taper"], file, f"{where}.taper"))
    if "titration" not in node and med.titration is not None and med.titration.start >= med.dose:
        med = replace(med, titration=None)   # a dose at or below the default schedule's start is given from day 0
    if med.titration is not None and med.titration.start > med.dose:
        raise field_error(f"the titration starts at {med.titration.start:g} mg, above the target dose {med.dose:g} mg",
                          file, node, "titration" if "titration" in node else "dose", f"{where}.titration")
    if "exit_taper" in node:
        med = replace(med, exit_taper=_exit_taper(node["exit_taper"], file, f"{where}.exit_taper"))
    if "source" in node:
        med = replace(med, source=str(node["source"]))
    return med


def _exit_taper(node, file, where) -> Taper | None:
    """The exit taper: a linear taper (``over``, ``every``) whose first day is the day after the
    patient decides to leave (set by the behaviour engine), so ``from_day`` is not given."""
    if node is None or node == "none":
        return None
    if isinstance(node, dict) and ("from_day" in node or "doses" in node or "over" not in node):
        raise field_error("an exit taper is linear and starts when the patient decides to leave: give 'over' (and "
                          "'every'), e.g. {over: 12 weeks, every: 1 week}, without 'from_day' or 'doses'",
                          file, node, None, where)
    return _taper(node, file, where)


def parse_treatment(kind: str, node, *, file, where, routes, iu) -> Treatment:
    """The arm's treatment: the default of ``kind`` with the arm's ``medication`` / ``detox``
    mappings (``node``: the arm) laid over it field by field."""
    base = default_treatments()[kind]
    med, det = base.medication, base.detox
    if node.get("medication") is not None:
        if kind not in WITH_MEDICATION:
            raise field_error(f"treatment {kind!r} gives no maintenance medication; 'medication' is for "
                              f"{', '.join(WITH_MEDICATION)}", file, node, "medication", f"{where}.medication")
        med = parse_medication(node["medication"], file=file, where=f"{where}.medication", routes=routes, iu=iu,
                               base=med)
    if node.get("detox") is not None:
        det = parse_medication(node["detox"], file=file, where=f"{where}.detox", routes=routes, iu=iu, base=det)
        if det.taper is None:
            raise field_error("a detoxification needs a 'taper' (doses or over)", file, node, "detox", f"{where}.detox")
    return Treatment(kind, med, det)


@lru_cache(maxsize=1)
def default_treatments() -> dict[str, Treatment]:
    """The default treatment of each kind, read from ``data/treatments.yaml``."""
    from ..dosing import drug_routes, iu_factors
    from .engine import behaviour_model
    model = behaviour_model()
    routes, iu = drug_routes(model), iu_factors(model)
    file = "opiaxis/data/treatments.yaml"
    raw = load_yaml(resources.files("opiaxis").joinpath("data/treatments.yaml").read_text(encoding="utf-8"), file)
    out = {}
    for kind in KINDS:
        node = raw.get(kind) or {}
        med = parse_medication(node["medication"], file=file, where=f"{kind}.medication", routes=routes, iu=iu) \
            if node.get("medication") else None
        det = parse_medication(node["detox"], file=file, where=f"{kind}.detox", routes=routes, iu=iu) \
            if node.get("detox") else None
        out[kind] = Treatment(kind, med, det)
    return out
