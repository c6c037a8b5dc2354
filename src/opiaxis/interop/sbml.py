"""SBML Level 3 Version 2 export of a composed model, with a patient's doses as SBML events.

What the export contains
------------------------
* **states** — one SBML ``parameter`` (``constant="false"``) per state with a ``rateRule``: the
  state keeps exactly the engine's meaning (an amount in mg stays an amount in mg, a
  concentration stays a concentration; no species/compartment volume conversion is involved);
* **parameters** — constant SBML parameters with their values (the typical values, or one
  patient's values) and units; each carries its source, description, module, between-patient
  variability and bounds in ``notes`` (XHTML) and in an ``annotation``
  (namespace :data:`ANNOTATION_NS`);
* **assignments** — ``assignmentRule`` s on non-constant parameters (interface variables and
  read-outs such as ``mor_occupancy_central``), with their units;
* **initial values** — numbers, or ``initialAssignment`` s where a state's initial value is an
  expression of parameters;
* **units** — a ``unitDefinition`` for every unit in use, derived from the pint unit (``ng/mL``
  becomes gram·10⁻⁹ per litre·10⁻³); the model's time unit is the hour;
* **doses** (optional) — one patient's expanded dose rows (:func:`opiaxis.dosing.expand_doses`)
  as events, with the engine's semantics: a bolus adds ``F·AMT`` to the target state at
  ``TIME + lag``; an infusion adds ``RATE`` to an input-rate parameter that is part of the
  state's rate rule, from ``TIME + lag`` for ``F·AMT/RATE`` hours; a reset (EVID 3/4) returns
  every state to its initial value and stops infusions. ``F`` and the lag are the model's
  parameters (``F = clip(F_ref·(AMT/reference)^exponent, 0, 1)`` where a dose exponent is
  declared), so changing a patient's parameters in a simulator changes its doses as it does in
  opiaxis. Simultaneous events follow the engine's order through SBML priorities: resets (3),
  infusion stops (2), doses and infusion starts (1).

  Repeated identical doses (same compartment, amount and rate at a constant interval) become a
  single *repeating* event driven by parameters ``opiaxis_dose<k>_t0``, ``_ii``, ``_n``,
  ``_amt`` (and ``_rate``) and a counter ``_k``: the event fires at ``t0 + k·ii + lag`` while
  ``k < n``. A year of four doses a day is then two events, not 1460 (``compact=False`` gives
  one event per dose instead).

Guarded powers: the engine evaluates ``b**e`` for a non-integer ``e`` as ``0`` when ``b <= 0``
(see :mod:`opiaxis.engine.codegen`); the export writes ``piecewise(b^e, b > 0, 0)``.
``Max``/``Min`` become ``piecewise``, ``log`` the natural logarithm ``ln``.

An expression SBML cannot express (a SymPy function without a MathML counterpart, complex or
infinite numbers, a ``Piecewise`` without an otherwise branch) raises :class:`SBMLExportError`
naming the equation.
"""

from __future__ import annotations

import bisect
import html
import math
import re
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd
import sympy as sp

from ..errors import OpiaxisInputError
from ..model.core import Model
from ..model.units import parse_unit, ureg

ANNOTATION_NS = "https://opiaxis.org/ns/sbml-annotation/1"
OFFSET_PREFIX = "opiaxis_z_"
OFFSET = 1e-6   # in each state's own unit
_SID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = {"time", "avogadro", "pi", "exponentiale", "true", "false", "inf", "infinity",
             "nan", "notanumber", "e"}
_DL = " dimensionless"  # literal numbers carry units so that libSBML can check every equation
PRIORITY_RESET, PRIORITY_STOP, PRIORITY_DOSE = 3, 2, 1


class SBMLExportError(OpiaxisInputError):
    """The model (or the doses) cannot be written as SBML; the message names the equation."""


# ----------------------------------------------------------------------------------------------
# SymPy -> SBML L3 infix formula
# ----------------------------------------------------------------------------------------------
_FUNCS = {
    sp.exp: "exp", sp.Abs: "abs", sp.sin: "sin", sp.cos: "cos", sp.tan: "tan",
    sp.sinh: "sinh", sp.cosh: "cosh", sp.tanh: "tanh", sp.asin: "arcsin", sp.acos: "arccos",
    sp.atan: "arctan", sp.asinh: "arcsinh", sp.acosh: "arccosh", sp.atanh: "arctanh",
    sp.sec: "sec", sp.csc: "csc", sp.cot: "cot", sp.floor: "floor", sp.ceiling: "ceil",
}
_REL = {sp.StrictLessThan: "<", sp.LessThan: "<=", sp.StrictGreaterThan: ">",
        sp.GreaterThan: ">=", sp.Equality: "==", sp.Unequality: "!="}
_SUPPORTED = ("+, -, *, /, integer and real powers, exp, log, sqrt, Abs, Max, Min, Piecewise "
              "(with an otherwise branch), relations, And/Or/Not, trigonometric and hyperbolic "
              "functions, floor, ceiling")


def _num(x: float, where: str) -> str:
    if not math.isfinite(x):
        raise SBMLExportError(f"{where}: the number {x} is not finite; SBML export needs finite "
                              "constants (expected a finite real number)")
    r = repr(float(x)) + _DL
    return f"({r})" if x < 0 else r


def formula(expr, where: str = "expression") -> str:
    """An SBML Level 3 infix formula (libSBML ``parseL3Formula`` syntax) for a SymPy expression.

    Non-integer powers are guarded like the engine's (``0`` for a base ``<= 0``)."""
    e = sp.sympify(expr)
    if e.is_Symbol:
        return str(e)
    if e is sp.true or isinstance(e, sp.logic.boolalg.BooleanTrue):
        return "true"
    if e is sp.false or isinstance(e, sp.logic.boolalg.BooleanFalse):
        return "false"
    if e.is_Number:
        if e.is_Integer:
            return f"{int(e)}{_DL}" if int(e) >= 0 else f"({int(e)}{_DL})"
        if e.is_Rational or e.is_Float:
            return _num(float(e), where)
        raise SBMLExportError(f"{where}: the number {e} is not a finite real number; SBML "
                              "export needs finite real constants")
    if e is sp.pi:
        return "pi"
    if e is sp.E:
        return "exponentiale"
    if isinstance(e, sp.NumberSymbol):
        return _num(float(e), where)
    if e.has(sp.I) or e.has(sp.zoo) or e.has(sp.nan):
        raise SBMLExportError(f"{where}: [{e}] involves a complex, infinite or undefined number; "
                              "expected a real-valued expression")
    if isinstance(e, sp.Add):
        return "(" + " + ".join(formula(a, where) for a in e.args) + ")"
    if isinstance(e, sp.Mul):
        return "(" + " * ".join(formula(a, where) for a in e.args) + ")"
    if isinstance(e, sp.Pow):
        b, x = e.args
        fb = formula(b, where)
        if x.is_Integer:
            n = int(x)
            if n == -1:
                return f"(1{_DL}/{fb})"
            if n >= 0:
                return f"({fb}^{n}{_DL})"
            return f"(1{_DL}/({fb}^{-n}{_DL}))"
        # the engine's guarded power (_spow): b**x if b > 0 else 0
        return f"piecewise({fb}^{formula(x, where)}, {fb} > 0, 0{_DL})"
    if type(e).__name__ == "SPow":  # opiaxis.engine.codegen.SPow, should one reach us
        fb = formula(e.args[0], where)
        return f"piecewise({fb}^{formula(e.args[1], where)}, {fb} > 0, 0{_DL})"
    if isinstance(e, sp.log):
        if len(e.args) != 1:
            raise SBMLExportError(f"{where}: log with a base in [{e}]; expected log(x)")
        return f"ln({formula(e.args[0], where)})"
    if isinstance(e, (sp.Max, sp.Min)):
        op = ">=" if isinstance(e, sp.Max) else "<="
        args = [formula(a, where) for a in e.args]
        acc = args[0]
        for a in args[1:]:
            acc = f"piecewise({acc}, {acc} {op} {a}, {a})"
        return acc
    if isinstance(e, sp.Piecewise):
        parts = []
        otherwise = None
        for val, cond in e.args:
            if cond is sp.true or cond == True:  # noqa: E712 (SymPy true)
                otherwise = formula(val, where)
                break
            parts += [formula(val, where), formula(cond, where)]
        if otherwise is None:
            raise SBMLExportError(f"{where}: Piecewise [{e}] has no otherwise branch (a last "
                                  "condition True); expected one so that the value is defined "
                                  "everywhere")
        return "piecewise(" + ", ".join(parts + [otherwise]) + ")"
    for cls, op in _REL.items():
        if isinstance(e, cls):
            return f"({formula(e.args[0], where)} {op} {formula(e.args[1], where)})"
    if isinstance(e, sp.And):
        return "(" + " && ".join(formula(a, where) for a in e.args) + ")"
    if isinstance(e, sp.Or):
        return "(" + " || ".join(formula(a, where) for a in e.args) + ")"
    if isinstance(e, sp.Not):
        return f"!({formula(e.args[0], where)})"
    for cls, name in _FUNCS.items():
        if isinstance(e, cls):
            return f"{name}(" + ", ".join(formula(a, where) for a in e.args) + ")"
    raise SBMLExportError(f"{where}: {type(e).__name__} in [{e}] cannot be expressed in SBML; "
                          f"expected only {_SUPPORTED}")


# ----------------------------------------------------------------------------------------------
# Units
# ----------------------------------------------------------------------------------------------
# SBML base unit kinds tried for each pint component, in order (pint name, libsbml kind name)
_KINDS = [("liter", "litre"), ("gram", "gram"), ("second", "second"), ("mole", "mole"),
          ("meter", "metre"), ("kelvin", "kelvin"), ("ampere", "ampere"),
          ("candela", "candela"), ("international_unit", "item")]
_ROOT_KIND = {"meter": "metre", "gram": "gram", "second": "second", "mole": "mole",
              "kelvin": "kelvin", "ampere": "ampere", "candela": "candela",
              "international_unit": "item", "radian": "radian", "bit": "dimensionless"}


def unit_components(text: str) -> list[tuple[str, float, float]]:
    """(SBML kind, exponent, multiplier) factors of a pint unit string; [] = dimensionless."""
    u = parse_unit(text)
    out: list[tuple[str, float, float]] = []
    for comp, expo in u._units.items():  # noqa: SLF001 (pint has no public accessor)
        q = ureg.Quantity(1.0, comp)
        for pname, kind in _KINDS:
            if q.dimensionality == ureg.Quantity(1.0, pname).dimensionality:
                out.append((kind, float(expo), float(q.to(pname).magnitude)))
                break
        else:
            root = q.to_root_units()
            mag = float(root.magnitude)
            items = list(root.units._units.items())  # noqa: SLF001
            if not items:
                out.append(("dimensionless", 1.0, mag ** float(expo)))
                continue
            for k, (rname, rexp) in enumerate(items):
                kind = _ROOT_KIND.get(rname)
                if kind is None:
                    raise SBMLExportError(f"unit {text!r}: no SBML unit kind for {rname!r}; "
                                          "expected units built from litre, gram, second, mole, "
                                          "metre, kelvin, ampere, candela or IU")
                m = mag if k == 0 else 1.0
                out.append((kind, float(rexp) * float(expo), m ** (1.0 / float(rexp)) if k == 0 else m))
    return out


def _unit_id(text: str) -> str:
    s = text.strip().replace("**", "_pow").replace("^", "_pow").replace("/", "_per_")
    s = s.replace("*", "_").replace(" ", "").replace("(", "").replace(")", "").replace(".", "p")
    s = re.sub(r"[^A-Za-z0-9_]", "_", s)
    return "u_" + s


# ----------------------------------------------------------------------------------------------
# Doses -> grouped events
# ----------------------------------------------------------------------------------------------
@dataclass(kw_only=True)
class DoseGroup:
    """``n`` identical doses of ``amt`` (mg) into ``cmt`` at ``t0 + k·ii`` (h), k = 0..n-1;
    ``rate`` > 0 for zero-order infusions (mg/h)."""

    cmt: str
    amt: float
    rate: float
    t0: float
    ii: float
    n: int


def group_doses(doses: pd.DataFrame) -> tuple[list[DoseGroup], list[float]]:
    """Split one patient's expanded dose rows into repeating groups and reset times."""
    if doses is None or len(doses) == 0:
        return [], []
    ev = doses.sort_values(["TIME", "ORDER"] if "ORDER" in doses else ["TIME"], kind="mergesort")
    evid = ev["EVID"].to_numpy(int)
    resets = [float(t) for t in ev["TIME"].to_numpy(float)[np.isin(evid, (3, 4))]]
    d = ev[np.isin(evid, (1, 4))]
    rate = d["RATE"].to_numpy(float) if "RATE" in d else np.zeros(len(d))
    groups: list[DoseGroup] = []
    keys: dict[tuple, list[float]] = {}
    for cmt, amt, r, t in zip(d["CMT"].astype(str), d["AMT"].to_numpy(float), rate,
                              d["TIME"].to_numpy(float)):
        keys.setdefault((cmt, float(amt), float(r)), []).append(float(t))
    for (cmt, amt, r), times in keys.items():
        remaining = sorted(times)
        while remaining:
            t0 = remaining.pop(0)
            tol = 1e-9 * max(1.0, abs(t0))
            j = bisect.bisect_right(remaining, t0 + tol)
            if j >= len(remaining):
                groups.append(DoseGroup(cmt=cmt, amt=amt, rate=r, t0=t0, ii=0.0, n=1))
                continue
            ii = remaining[j] - t0
            n = 1
            while True:
                target = t0 + n * ii
                tol = 1e-9 * max(1.0, abs(target))
                i = bisect.bisect_left(remaining, target - tol)
                if i < len(remaining) and abs(remaining[i] - target) <= tol:
                    remaining.pop(i)
                    n += 1
                else:
                    break
            groups.append(DoseGroup(cmt=cmt, amt=amt, rate=r, t0=t0, ii=ii, n=n))
    groups.sort(key=lambda g: (g.t0, g.cmt))
    return groups, resets


# ----------------------------------------------------------------------------------------------
# The export
# ----------------------------------------------------------------------------------------------
def sbml_id(text, prefix: str = "_") -> str:
    """``text`` as an SBML/PEtab/SED-ML identifier: every non-word character becomes ``_``, and
    ``prefix`` goes in front when the result would start with a digit."""
    s = re.sub(r"\W", "_", str(text))
    return s if _SID.match(s) else f"{prefix}{s}"


def _libsbml():
    try:
        import libsbml
    except ImportError:  # pragma: no cover - a declared dependency
        raise OpiaxisInputError("SBML export needs python-libsbml; install it with "
                                "'pip install python-libsbml'") from None
    return libsbml


def _notes(lines: list[tuple[str, str]] | str) -> str:
    if isinstance(lines, str):
        body = "".join(f"<p>{html.escape(par)}</p>" for par in lines.split("\n\n") if par.strip())
    else:
        body = "".join(f"<p><b>{html.escape(k)}:</b> {html.escape(v)}</p>" for k, v in lines if v)
    return f'<body xmlns="http://www.w3.org/1999/xhtml">{body or "<p/>"}</body>'


def _annotation(tag: str, attrs: dict) -> str:
    a = " ".join(f"{k}={quoteattr(str(v))}" for k, v in attrs.items() if v not in (None, ""))
    return f'<annotation><opiaxis:{tag} xmlns:opiaxis="{ANNOTATION_NS}" {a}/></annotation>'


def _check(code, what: str) -> None:
    if code is not None and code != 0:
        libsbml = _libsbml()
        raise SBMLExportError(f"libSBML refused {what}: {libsbml.OperationReturnValue_toString(code)}")


def to_sbml(model: Model, params=None, doses: pd.DataFrame | None = None, *,
            patient=None, compact: bool = True, validate: bool = True,
            model_id: str | None = None, dose_groups: list[DoseGroup] | None = None,
            solver_offsets: bool = True) -> str:
    """The model as an SBML Level 3 Version 2 document (a string).

    Parameters
    ----------
    model: a composed model (``opiaxis.models.build_model(modules=[...])``).
    params: one patient's parameter vector in ``model.parameter_names`` order, or a mapping
        ``{name: value}`` of overrides of the typical values; default the typical values.
    doses: expanded dose rows (``opiaxis.dosing.expand_doses``) of one patient; written as
        events (see the module docstring).
    patient: which ID of ``doses`` to write when it holds several patients.
    compact: repeated identical doses as one repeating event (default) or one event per dose.
    validate: run libSBML's consistency checks and raise :class:`SBMLExportError` on any error.
    dose_groups: repeating dose events to write instead of ``doses`` (their parameters can then be
        changed per condition, as :mod:`opiaxis.interop.petab` does; ``n = 0`` disables one).
    solver_offsets: integrate every state that starts at 0 as ``opiaxis_z_<state> = state +``
        :data:`OFFSET` (in the state's own unit), with ``state`` an assignment rule (see
        ``docs/interop.md``: this is what lets libRoadRunner run the document with its default
        settings).
    """
    libsbml = _libsbml()
    values = _parameter_values(model, params)
    _check_identifiers(model)
    groups, resets = _dose_plan(model, doses, patient, compact)
    if dose_groups is not None:
        groups = list(dose_groups)
        _check_compartments(model, groups)
    w = _Writer(model, model_id, libsbml)
    w.parameters(values)
    inf_param = {s: f"opiaxis_infusion_{s}" for s in
                 sorted({model.dose_targets[g.cmt].state for g in groups if g.rate > 0})}
    w.states(solver_offsets, inf_param)
    w.assignments()
    w.rate_rules(inf_param)
    for k, g in enumerate(groups, start=1):
        w.dose_group(k, g, inf_param)
    for k, t in enumerate(resets, start=1):
        w.reset(k, t, list(inf_param.values()))
    if validate:
        errors = sbml_errors(w.doc)
        if errors:
            raise SBMLExportError("libSBML consistency check failed: " + "; ".join(errors[:5]))
    return libsbml.writeSBMLToString(w.doc)


def _parameter_values(model: Model, params) -> np.ndarray:
    """The parameter vector to write: typical values, a full vector, or overrides by name."""
    values = model.default_parameters()
    if isinstance(params, dict):
        for k, v in params.items():
            if k not in model.param_index:
                raise OpiaxisInputError(f"unknown parameter {k!r}; expected a parameter of the "
                                        "model", field="params")
            values[model.param_index[k]] = float(v)
    elif params is not None:
        arr = np.asarray(params, dtype=float).reshape(-1)
        if arr.shape[0] != len(model.parameters):
            raise OpiaxisInputError(f"params has {arr.shape[0]} values; the model has "
                                    f"{len(model.parameters)} parameters", field="params")
        values = arr.copy()
    if not np.all(np.isfinite(values)):
        bad = model.parameter_names[int(np.flatnonzero(~np.isfinite(values))[0])]
        raise OpiaxisInputError(f"parameter {bad!r} is not finite; expected a finite number",
                                field="params")
    return values


def _check_identifiers(model: Model) -> None:
    names = set(model.state_names) | set(model.parameter_names) | set(model.assignment_index)
    for n in sorted(names):
        if not _SID.match(n) or n.lower() in _RESERVED or n.startswith("opiaxis_"):
            raise SBMLExportError(f"name {n!r} cannot be an SBML identifier (expected letters, "
                                  "digits and '_', not starting with a digit, not a reserved "
                                  f"word {sorted(_RESERVED)} and not starting with 'opiaxis_')")


def _check_compartments(model: Model, groups) -> None:
    for g in groups:
        if g.cmt not in model.dose_targets:
            raise OpiaxisInputError(f"unknown dosing compartment {g.cmt!r}; known: "
                                    f"{', '.join(sorted(model.dose_targets))}", field="CMT")


def _dose_plan(model: Model, doses, patient, compact: bool) -> tuple[list[DoseGroup], list[float]]:
    """One patient's expanded dose rows as (repeating) dose groups and reset times."""
    if doses is None or not len(doses):
        return [], []
    d = doses
    if "ID" in d.columns:
        ids = pd.unique(d["ID"])
        if patient is None and len(ids) > 1:
            raise OpiaxisInputError(f"the dose table holds {len(ids)} patients; expected one, "
                                    "or name one with patient=", field="ID")
        if patient is not None:
            d = d[d["ID"] == patient]
            if not len(d):
                raise OpiaxisInputError(f"no doses for patient {patient!r}", field="ID")
    for c in ("TIME", "EVID", "AMT", "CMT"):
        if c not in d.columns:
            raise OpiaxisInputError(f"dose table has no column {c}; expected expanded dose rows "
                                    "from opiaxis.dosing.expand_doses", field=c)
    groups, resets = group_doses(d)
    if not compact:
        groups = [DoseGroup(cmt=g.cmt, amt=g.amt, rate=g.rate, t0=g.t0 + k * g.ii, ii=0.0, n=1)
                  for g in groups for k in range(g.n)]
    _check_compartments(model, groups)
    return groups, resets


class _Writer:
    """Builds one SBML document: units, parameters, states, rules, dose and reset events."""

    def __init__(self, model: Model, model_id: str | None, libsbml):
        self.model, self.lib = model, libsbml
        self.doc = libsbml.SBMLDocument(3, 2)
        sm = self.sm = self.doc.createModel()
        sm.setId(model_id or re.sub(r"\W", "_", model.name) or "opiaxis")
        sm.setName(f"{model.name}: " + ", ".join(m.name for m in model.modules))
        notes = [f"opiaxis model {model.name!r}, modules: " + ", ".join(m.name for m in model.modules)
                 + f". Exported by opiaxis.interop.sbml. {len(model.states)} states (parameters with "
                 "rate rules, time in hours), "
                 f"{len(model.parameters)} constant parameters, {len(model.assignments)} assignment rules. "
                 "Non-integer powers are guarded as in the opiaxis engine: b^e is 0 for b <= 0."]
        notes += [f"Module {m.name}: " + " ".join((m.doc or "").split()) for m in model.modules]
        sm.setNotes(_notes("\n\n".join(notes)))
        self.unit_ids: dict[str, str] = {}
        self.hour = self.unit("h")
        sm.setTimeUnits(self.hour)
        self.settings = libsbml.L3ParserSettings()
        self.settings.setModel(sm)
        self.settings.setParseLog(libsbml.L3P_PARSE_LOG_AS_LN)
        self.settings.setParseUnits(True)
        self.integrated: dict[str, str] = {}   # state -> the SBML variable carrying its rate rule

    def unit(self, text: str) -> str:
        key = text.strip()
        if key in self.unit_ids:
            return self.unit_ids[key]
        comps = unit_components(key)
        if not comps:
            self.unit_ids[key] = "dimensionless"
            return "dimensionless"
        uid = base = _unit_id(key)
        k = 1
        while self.sm.getUnitDefinition(uid) is not None:
            k += 1
            uid = f"{base}_{k}"
        ud = self.sm.createUnitDefinition()
        ud.setId(uid)
        ud.setName(key)
        for kind, expo, mult in comps:
            u = ud.createUnit()
            u.setKind(self.lib.UnitKind_forName(kind))
            u.setExponent(expo)
            u.setScale(0)
            u.setMultiplier(mult)
        self.unit_ids[key] = uid
        return uid

    def math(self, text: str, where: str):
        ast = self.lib.parseL3FormulaWithSettings(text, self.settings)
        if ast is None:
            raise SBMLExportError(f"{where}: libSBML could not parse the formula "
                                  f"({self.lib.getLastParseL3Error()}): {text[:300]}")
        return ast

    def param(self, pid, value, unit_id, *, constant=True, note="", meta=False):
        p = self.sm.createParameter()
        p.setId(pid)
        p.setConstant(constant)
        p.setValue(float(value))
        p.setUnits(unit_id)
        if meta:
            p.setMetaId(f"meta_{pid}")
        if note:
            p.setNotes(_notes([("description", note)]))
        return p

    def rule(self, var: str, text: str, where: str) -> None:
        r = self.sm.createAssignmentRule()
        r.setVariable(var)
        r.setMath(self.math(text, where))

    def parameters(self, values) -> None:
        for p, v in zip(self.model.parameters, values):
            sp_ = self.param(p.name, v, self.unit(p.unit), meta=True)
            var = p.variability.describe() if p.variability else "none (fixed)"
            sp_.setNotes(_notes([("source", p.source), ("description", p.description), ("module", p.module),
                                 ("unit", p.unit), ("typical value", f"{p.value:g}"),
                                 ("between-patient variability", var)]))
            _check(sp_.setAnnotation(_annotation("parameter", {
                "source": p.source, "description": p.description, "module": p.module, "unit": p.unit,
                "typical": repr(p.value), "variability": p.variability.kind if p.variability else None,
                "spread": p.variability.spread if p.variability else None,
                "lower": p.lower, "upper": p.upper})), f"the annotation of {p.name}")

    def states(self, solver_offsets: bool, inf_param: dict[str, str]) -> None:
        """States as rate-rule parameters (or offset variables, see :func:`to_sbml`), and the
        input-rate parameters of infused states."""
        for s in self.model.states:
            ps = self.param(s.name, 0.0, self.unit(s.unit), constant=False, meta=True)
            numeric = not (isinstance(s.initial, sp.Expr) and s.initial.free_symbols)
            self.integrated[s.name] = s.name
            extra = []
            if solver_offsets and numeric and float(s.initial) == 0.0:
                z = self.integrated[s.name] = f"{OFFSET_PREFIX}{s.name}"
                self.param(z, OFFSET, self.unit(s.unit), constant=False,
                           note=f"{s.name} + {OFFSET:g} {s.unit}: the variable integrated for {s.name}, so "
                                "that no solver tolerance derived from its current value collapses to zero "
                                "(opiaxis.interop.sbml, solver offsets)")
                self.rule(s.name, f"{z} - {OFFSET} {self.unit(s.unit)}", f"offset of {s.name}")
                extra = [("integrated as", f"{z} − {OFFSET:g} {s.unit}")]
            elif numeric:
                ps.setValue(float(s.initial))
            else:
                ia = self.sm.createInitialAssignment()
                ia.setSymbol(s.name)
                where = f"initial value of {s.name}"
                ia.setMath(self.math(formula(s.initial, where), where))
            ps.setNotes(_notes([("state", s.description), ("module", s.module), ("unit", s.unit)] + extra))
            _check(ps.setAnnotation(_annotation("state", {"module": s.module, "unit": s.unit,
                                                           "description": s.description})),
                   f"the annotation of {s.name}")
        for s, pid in inf_param.items():
            self.param(pid, 0.0, self.unit(f"({self.model.states[self.model.state_index[s]].unit})/h"),
                       constant=False, note=f"zero-order input into {s} (sum of running infusions)")

    def assignments(self) -> None:
        for a in self.model.assignments:
            pa = self.param(a.name, 0.0, self.unit(a.unit), constant=False)
            pa.setNotes(_notes([("assignment", a.description), ("module", a.module), ("unit", a.unit),
                                ("interface variable", "yes" if a.interface else "")]))
            where = f"assignment {a.name!r} (module {a.module!r})"
            self.rule(a.name, formula(a.expr, where), where)

    def rate_rules(self, inf_param: dict[str, str]) -> None:
        for s in self.model.states:
            rr = self.sm.createRateRule()
            rr.setVariable(self.integrated[s.name])
            where = f"d{s.name}/dt (module {s.module!r})"
            text = formula(self.model.odes[s.name], where)
            if s.name in inf_param:
                text = f"{text} + {inf_param[s.name]}"
            rr.setMath(self.math(text, where))

    def event(self, eid, trigger, priority, assignments, note="") -> None:
        ev = self.sm.createEvent()
        ev.setId(eid)
        ev.setUseValuesFromTriggerTime(False)
        tr = ev.createTrigger()
        tr.setInitialValue(False)
        tr.setPersistent(True)
        tr.setMath(self.math(trigger, f"trigger of {eid}"))
        pr = ev.createPriority()
        pr.setMath(self.math(f"{priority}{_DL}", f"priority of {eid}"))
        for var, text in assignments:
            ea = ev.createEventAssignment()
            ea.setVariable(var)
            ea.setMath(self.math(text, f"event {eid}, assignment to {var}"))
        if note:
            ev.setNotes(_notes([("description", note)]))

    def dose_group(self, k: int, g: DoseGroup, inf_param: dict[str, str]) -> None:
        """A (repeating) bolus, or infusion start and stop events, driven by parameters."""
        dt = self.model.dose_targets[g.cmt]
        pre = f"opiaxis_dose{k}_"
        what = (f"{g.n} dose(s) of {g.amt:g} mg {g.cmt}" + (f" every {g.ii:g} h" if g.n > 1 else "")
                + f" from {g.t0:g} h" + (f", infused at {g.rate:g} mg/h" if g.rate > 0 else ""))
        self.param(pre + "t0", g.t0, self.hour, note=f"time of the first dose: {what}")
        self.param(pre + "ii", g.ii, self.hour, note="dosing interval")
        self.param(pre + "n", g.n, "dimensionless", note="number of doses")
        self.param(pre + "amt", g.amt, self.unit("mg"), note=f"amount per dose into {dt.state}")
        self.param(pre + "k", 0, "dimensionless", constant=False, note="doses given so far")
        lag = f" + {dt.lag}" if dt.lag else ""
        F = f"1{_DL}"
        if dt.bioavailability:
            f = dt.bioavailability
            if dt.dose_exponent:
                f = f"({f} * ({pre}amt / {dt.reference_dose})^{dt.dose_exponent})"
            F = f"piecewise(0{_DL}, {f} < 0{_DL}, 1{_DL}, {f} > 1{_DL}, {f})"
        due = f"({pre}k < {pre}n) && (time >= {pre}t0 + {pre}k * {pre}ii{lag})"
        count = (pre + "k", f"{pre}k + 1{_DL}")
        if g.rate <= 0:
            zs = self.integrated[dt.state]
            self.event(pre + "bolus", due, PRIORITY_DOSE, [(zs, f"{zs} + {F} * {pre}amt"), count], note=what)
            return
        unit = self.unit(f"({self.model.states[self.model.state_index[dt.state]].unit})/h")
        self.param(pre + "rate", g.rate, unit, note="infusion rate")
        self.param(pre + "kstop", 0, "dimensionless", constant=False, note="infusions stopped so far")
        ip = inf_param[dt.state]
        self.event(pre + "start", due, PRIORITY_DOSE, [(ip, f"{ip} + {pre}rate"), count], note="start: " + what)
        self.event(pre + "stop", f"({pre}kstop < {pre}k) && (time >= {pre}t0 + {pre}kstop * {pre}ii{lag}"
                                 f" + {F} * {pre}amt / {pre}rate)",
                   PRIORITY_STOP, [(ip, f"{ip} - {pre}rate"), (pre + "kstop", f"{pre}kstop + 1{_DL}")],
                   note="stop: " + what)

    def reset(self, k: int, t: float, infused: list[str]) -> None:
        """EVID 3/4: every state back to its initial value, running infusions stopped."""
        self.param(f"opiaxis_reset{k}_time", t, self.hour, note="reset (EVID 3/4) time")
        assigns = []
        for s in self.model.states:
            z = self.integrated[s.name]
            if z != s.name:
                init = f"{OFFSET} {self.unit(s.unit)}"
            elif isinstance(s.initial, sp.Expr):
                init = formula(s.initial, s.name)
            else:
                init = _num(float(s.initial), s.name)
            assigns.append((z, init))
        assigns += [(pid, f"0{_DL} * {pid}") for pid in infused]
        self.event(f"opiaxis_reset{k}", f"time >= opiaxis_reset{k}_time", PRIORITY_RESET, assigns,
                   note="reset: every state to its initial value, infusions stopped")


def sbml_errors(doc_or_text, *, warnings: bool = False) -> list[str]:
    """libSBML consistency-check messages of a document (errors, or also warnings)."""
    libsbml = _libsbml()
    doc = libsbml.readSBMLFromString(doc_or_text) if isinstance(doc_or_text, str) else doc_or_text
    doc.checkConsistency()
    out = []
    for i in range(doc.getNumErrors()):
        e = doc.getError(i)
        if e.getSeverity() >= libsbml.LIBSBML_SEV_ERROR or warnings:
            out.append(f"[{e.getSeverityAsString()} {e.getErrorId()}] line {e.getLine()}: "
                       f"{' '.join(e.getMessage().split())}")
    return out


def write_sbml(path, model: Model, params=None, doses=None, **kw) -> str:
    """:func:`to_sbml` written to ``path``; returns the text."""
    from pathlib import Path
    text = to_sbml(model, params, doses, **kw)
    Path(path).write_text(text, encoding="utf-8")
    return text


# ----------------------------------------------------------------------------------------------
# libRoadRunner helpers (tests and benchmark)
# ----------------------------------------------------------------------------------------------
def roadrunner_simulate(sbml: str, times, variables, *, rtol: float = 1e-10, atol: float = 1e-14,
                        rr=None, max_steps: int = 1_000_000, states=None) -> np.ndarray:
    """Simulate an exported document with libRoadRunner (CVODE) at ``times`` (h, starting at 0);
    returns an array (times, variables). Needs the ``libroadrunner`` package."""
    try:
        import roadrunner
    except ImportError:
        raise OpiaxisInputError("libroadrunner is not installed; 'pip install libroadrunner' "
                                "(the test/bench extra)") from None
    r = rr or roadrunner.RoadRunner(sbml)
    integ = r.getIntegrator()
    integ.setValue("relative_tolerance", rtol)
    integ.setValue("absolute_tolerance", atol)
    integ.setValue("maximum_num_steps", max_steps)
    # libRoadRunner scales a scalar absolute tolerance by each state's current value at every
    # (re)start; a fixed tolerance per state (its integrated variable) gives the reference runs here
    rate_ids = set(r.getRateRuleIds())
    for sid in (states or []):
        z = f"{OFFSET_PREFIX}{sid}"
        integ.setIndividualTolerance(z if z in rate_ids else sid, atol)
    r.timeCourseSelections = ["time"] + list(variables)
    t = np.asarray(times, float)
    out = r.simulate(times=list(t))
    return np.asarray(out)[:, 1:]
