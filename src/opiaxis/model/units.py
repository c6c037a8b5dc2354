"""Units: one pint registry for the whole package, and dimensional analysis of SymPy expressions.

The engine does no unit conversion at run time. Instead every equation is checked when the
model is composed: the unit of its right-hand side must equal the declared unit *exactly*,
scale included (``mg/h`` is not ``ug/h``). A conversion is therefore always explicit in the
model, as a parameter that carries the conversion's unit — the way SBML unit consistency works.
"""

from __future__ import annotations

from functools import lru_cache

import pint
import sympy as sp

from ..errors import ModelDefinitionError

ureg = pint.UnitRegistry()
# International units of a peptide (oxytocin) are not a physical dimension.
ureg.define("international_unit = [biological_activity] = IU")

TIME_UNIT = "h"


@lru_cache(maxsize=None)
def parse_unit(text: str) -> pint.Unit:
    """Parse a unit string ("ng/mL", "1/h", "dimensionless"). Raises ValueError on nonsense."""
    if text in ("", "1", "dimensionless"):
        return ureg.dimensionless
    try:
        q = ureg.parse_expression(text)
    except Exception as exc:  # pint raises several kinds
        raise ValueError(f"unknown unit {text!r}: {exc}") from None
    if isinstance(q, (int, float)):
        if float(q) == 1.0:
            return ureg.dimensionless
        raise ValueError(f"unit {text!r} is a number, not a unit")
    if q.magnitude != 1:
        raise ValueError(f"unit {text!r} carries a scale factor {q.magnitude}; write the unit only")
    return q.units


def conversion_factor(src: pint.Unit, dst: pint.Unit) -> float:
    """How many ``dst`` make one ``src``; raises pint.DimensionalityError if incompatible."""
    return float((1.0 * src).to(dst).magnitude)


def same_unit(a: pint.Unit, b: pint.Unit, rtol: float = 1e-9) -> bool:
    try:
        return abs(conversion_factor(a, b) - 1.0) <= rtol
    except pint.DimensionalityError:
        return False


def fmt(u: pint.Unit) -> str:
    s = f"{u:~C}"
    return s if s else "dimensionless"


class UnitMismatch(Exception):
    """Raised inside :func:`unit_of` with a description of the offending sub-expression."""


def unit_of(expr: sp.Expr, units: dict[sp.Symbol, pint.Unit]) -> pint.Unit:
    """The unit of a SymPy expression whose symbols have the given units.

    Sums must be of one unit (scale included); exponents, arguments of exp/log and
    of Hill-type comparisons must be dimensionless.
    """
    if isinstance(expr, sp.Symbol):
        try:
            return units[expr]
        except KeyError:
            raise UnitMismatch(f"symbol {expr} has no declared unit") from None
    if expr.is_Number or isinstance(expr, (sp.core.numbers.NumberSymbol,)):
        return ureg.dimensionless
    if isinstance(expr, sp.Add):
        terms = [(t, unit_of(t, units)) for t in expr.args]
        ref_t, ref_u = terms[0]
        for t, u in terms[1:]:
            if not same_unit(u, ref_u):
                raise UnitMismatch(f"terms of a sum differ in unit: [{ref_t}] is {fmt(ref_u)} "
                                   f"but [{t}] is {fmt(u)}")
        return ref_u
    if isinstance(expr, sp.Mul):
        u = ureg.dimensionless
        for a in expr.args:
            u = u * unit_of(a, units)
        return u
    if isinstance(expr, sp.Pow):
        base, exp = expr.args
        exp_u = unit_of(exp, units)
        if not same_unit(exp_u, ureg.dimensionless):
            raise UnitMismatch(f"exponent of [{expr}] has unit {fmt(exp_u)}")
        bu = unit_of(base, units)
        if same_unit(bu, ureg.dimensionless):
            return ureg.dimensionless
        if not exp.is_Number:
            raise UnitMismatch(f"[{expr}]: a quantity with unit {fmt(bu)} raised to a symbolic power")
        return bu ** float(exp)
    if isinstance(expr, (sp.Min, sp.Max)):
        us = [unit_of(a, units) for a in expr.args]
        for u in us[1:]:
            if not same_unit(u, us[0]):
                raise UnitMismatch(f"arguments of [{expr}] differ in unit")
        return us[0]
    if isinstance(expr, sp.Piecewise):
        us = [unit_of(e, units) for e, _c in expr.args]
        for u in us[1:]:
            if not same_unit(u, us[0]):
                raise UnitMismatch(f"branches of [{expr}] differ in unit")
        return us[0]
    if isinstance(expr, sp.Function):  # exp, log, tanh, ...: dimensionless in and out
        for a in expr.args:
            au = unit_of(a, units)
            if not same_unit(au, ureg.dimensionless):
                raise UnitMismatch(f"argument of {expr.func.__name__} in [{expr}] has unit {fmt(au)}")
        return ureg.dimensionless
    raise UnitMismatch(f"cannot determine the unit of [{expr}] ({type(expr).__name__})")


def check_unit(expr: sp.Expr, units: dict, declared: pint.Unit, *, module: str, what: str) -> None:
    """Raise ModelDefinitionError naming module and equation if ``expr`` is not in ``declared``."""
    try:
        u = unit_of(expr, units)
    except UnitMismatch as exc:
        raise ModelDefinitionError(f"module {module!r}, {what}: {exc}") from None
    if not same_unit(u, declared):
        try:
            factor = conversion_factor(u, declared)
            detail = f" (same dimension, but off by a factor {factor:g})"
        except pint.DimensionalityError:
            detail = ""
        raise ModelDefinitionError(
            f"module {module!r}, {what}: right-hand side has unit {fmt(u)}, "
            f"expected {fmt(declared)}{detail}")
