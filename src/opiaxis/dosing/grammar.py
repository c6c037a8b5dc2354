"""The regimen shorthand: ``"buprenorphine 16 mg SL q24h for 28 d"`` -> dose rows (II/ADDL)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

import pandas as pd

from opiaxis.errors import OpiaxisInputError

from ._common import _fmt, suggest


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

MASS_UNITS: dict[str, float] = {
    "g": 1000.0, "gram": 1000.0, "grams": 1000.0,
    "mg": 1.0, "milligram": 1.0, "milligrams": 1.0,
    "ug": 1e-3, "mcg": 1e-3, "microgram": 1e-3, "micrograms": 1e-3,
    "ng": 1e-6, "nanogram": 1e-6, "nanograms": 1e-6,
}
_UNIT_LIST = "g, mg, ug (µg, mcg), ng, IU, or a rate such as ug/h"
TIME_UNITS: dict[str, float] = {
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
                 example: str, *, zero_ok: bool = False) -> tuple[float, int]:
        """Parse ``N unit`` or ``Nunit`` at the cursor; returns (value * unit factor, index).
        The value must be > 0 (a duration, an interval), or >= 0 with ``zero_ok`` (a start time:
        ``at 0 h`` is the regimen's start)."""
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
        if value < 0 or (value == 0 and not zero_ok):
            bound = ">= 0" if zero_ok else "> 0"
            raise self.error(f"malformed {what}: {m.group('num')} must be {bound}; expected "
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
            f"'a-b' or 'a/b'){suggest(unknown[0], known)}", 0)

    def parse_amount(self, ndrugs: int) -> tuple[list[float], str, int]:
        index = self.i
        tok = self.peek()
        if tok is None:
            raise self.error("missing amount; expected a number and a unit, e.g. '16 mg'",
                             index)
        m = _AMOUNT_RE.match(tok)
        if not m:
            if tok in MASS_UNITS or tok == "iu" or self._route_at(self.i) is not None:
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
        if unit in MASS_UNITS:
            return MASS_UNITS[unit], False
        if unit == "iu":
            return self.iu_factor(drug, index), False
        if "/" in unit:
            mass, _, per = unit.partition("/")
            if per in _RATE_TIME_UNITS and (mass in MASS_UNITS or mass == "iu"):
                base = MASS_UNITS[mass] if mass != "iu" else self.iu_factor(drug, index)
                return base / _RATE_TIME_UNITS[per], True
        if unit.partition("/")[0] in ("ml", "l", "ul", "dl", "cc", "tablet", "tablets", "tab"):
            raise self.error(f"unit {unit!r} is a volume or a count; expected an amount in "
                             f"{_UNIT_LIST}", index)
        options = list(MASS_UNITS) + ["iu", "ug/h", "mg/h"]
        raise self.error(f"unknown unit {unit!r}; expected {_UNIT_LIST}"
                         f"{suggest(unit, options)}", index)

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
            raise self.error(f"unknown route {tok!r}; {expected}{suggest(tok, aliases)}",
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
        offset, _ = self.quantity("start", TIME_UNITS,
                                  "'from day <d>', 'starting day <d>' or 'at <t> h'", zero_ok=True)
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
                duration, _ = self.quantity("infusion duration", TIME_UNITS,
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
                duration, _ = self.quantity("duration", TIME_UNITS,
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
                over, _ = self.quantity("infusion duration", TIME_UNITS,
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
