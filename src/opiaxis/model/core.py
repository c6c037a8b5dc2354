"""The declarative model core: parameters, states, assignments, modules and their composition.

A :class:`Module` declares, in the field's own words, what it adds to a virtual patient:

* **parameters** — value, unit, source (a citation, or ``"assumed: why"``) and, where people
  differ, a between-patient :class:`Variability`;
* **states** with units and initial values, and one ODE each (time in hours);
* **assignments** — named algebraic quantities; those marked ``interface=True`` are what other
  modules may consume (e.g. ``mor_occupancy_central``);
* **inputs** — interface variables the module consumes; when no module in the composition
  provides one, it becomes a parameter with the declared default, so every module also runs alone;
* **dose targets** — where a dose of ``<drug>.<route>`` lands (a state), with bioavailability
  and lag as parameters.

:func:`compose` joins modules into a :class:`Model`, resolving interface variables by name and
checking the unit of every equation (see :mod:`opiaxis.model.units`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter

import numpy as np
import sympy as sp

from ..errors import ModelDefinitionError
from .units import TIME_UNIT, check_unit, fmt, parse_unit, same_unit


# ----------------------------------------------------------------------------------------------
# Variability
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Variability:
    """Between-patient variability of a parameter around its typical value.

    ``lognormal``: the pharmacometric convention, value = typical · exp(ω·z) with
    ω = sqrt(ln(1+CV²)), so ``typical`` is the median.
    ``normal``: value = typical + sd·z (truncated at the bounds if given).
    ``logitnormal``: for fractions; logit(value) = logit(typical) + sd·z.
    """

    kind: str
    spread: float  # CV (lognormal), SD (normal, logitnormal on logit scale)

    def __post_init__(self):
        if self.kind not in ("lognormal", "normal", "logitnormal"):
            raise ValueError(f"unknown variability kind {self.kind!r}; expected lognormal, normal or logitnormal")
        if not (isinstance(self.spread, (int, float)) and math.isfinite(self.spread) and self.spread >= 0):
            raise ValueError(f"variability spread must be a finite number >= 0, got {self.spread!r}")

    @property
    def omega(self) -> float:
        return math.sqrt(math.log1p(self.spread ** 2)) if self.kind == "lognormal" else self.spread

    def apply(self, typical: np.ndarray | float, z: np.ndarray) -> np.ndarray:
        if self.kind == "lognormal":
            return typical * np.exp(self.omega * z)
        if self.kind == "normal":
            return typical + self.spread * z
        t = np.clip(typical, 1e-12, 1 - 1e-12)
        return 1.0 / (1.0 + np.exp(-(np.log(t / (1 - t)) + self.spread * z)))

    def z_of(self, typical: np.ndarray | float, value: np.ndarray | float) -> np.ndarray:
        """The standard-normal deviate of ``value`` (the inverse of :meth:`apply`; a value clipped at
        a parameter's bound gives the bound's deviate)."""
        typical, value = np.asarray(typical, float), np.asarray(value, float)
        if self.spread == 0:
            return np.zeros(np.broadcast(typical, value).shape)
        if self.kind == "lognormal":
            return np.log(np.maximum(value, 1e-300) / np.maximum(typical, 1e-300)) / self.omega
        if self.kind == "normal":
            return (value - typical) / self.spread

        def logit(x):
            x = np.clip(x, 1e-12, 1 - 1e-12)
            return np.log(x / (1 - x))
        return (logit(value) - logit(typical)) / self.spread

    def describe(self) -> str:
        return {"lognormal": f"log-normal, CV {self.spread:.0%}",
                "normal": f"normal, SD {self.spread:g}",
                "logitnormal": f"logit-normal, SD {self.spread:g} (logit scale)"}[self.kind]


def lognormal(cv: float) -> Variability:
    return Variability("lognormal", cv)


# ----------------------------------------------------------------------------------------------
# Declarations
# ----------------------------------------------------------------------------------------------
@dataclass(kw_only=True)
class Parameter:
    name: str
    value: float
    unit: str
    source: str
    variability: Variability | None = None
    description: str = ""
    module: str = ""
    lower: float | None = None
    upper: float | None = None

    @property
    def symbol(self) -> sp.Symbol:
        return sp.Symbol(self.name, real=True)

    def at_z(self, typical, z) -> np.ndarray:
        """The value at the standard-normal deviate ``z`` of its between-patient distribution around
        ``typical`` (:meth:`Variability.apply`), held within the parameter's bounds; the inverse of
        :meth:`Variability.z_of` inside them."""
        v = self.variability.apply(np.asarray(typical, float), np.asarray(z, float))
        if self.lower is None and self.upper is None:
            return v
        return np.clip(v, self.lower if self.lower is not None else -np.inf,
                       self.upper if self.upper is not None else np.inf)


@dataclass(kw_only=True)
class State:
    name: str
    unit: str
    initial: float | sp.Expr
    description: str = ""
    module: str = ""
    nonnegative: bool = True
    # False: an observer (a running count, a switch's memory) that no step-controlled state reads;
    # the fit's and recommend's solver integrates it along without letting its local error set the
    # step (engine/kernel.py's err_w; calibrate.fit.Simulator.error_weights), compose() checks the
    # "no controlled state reads it" part
    step_control: bool = True
    # the state's scale in the solver's error norm (engine/kernel.py): its local error is measured
    # against rtol·max(|x|, error_floor) + atol, so that a state whose value hovers near 0 but whose
    # effect on the read-outs is set by a larger scale is not kept to rtol of its momentary value;
    # 0 (the default): rtol·|x| + atol. Each non-zero floor says why in the module that declares it.
    error_floor: float = 0.0

    @property
    def symbol(self) -> sp.Symbol:
        return sp.Symbol(self.name, real=True)


@dataclass(kw_only=True)
class Assignment:
    name: str
    expr: sp.Expr
    unit: str
    description: str = ""
    module: str = ""
    interface: bool = False

    @property
    def symbol(self) -> sp.Symbol:
        return sp.Symbol(self.name, real=True)


@dataclass(kw_only=True)
class Input:
    name: str
    unit: str
    default: float
    source: str
    description: str = ""
    module: str = ""


@dataclass(kw_only=True)
class DoseTarget:
    """Where a dose of ``<drug>.<route>`` enters: a state, optionally through a bioavailability
    ``F`` (``F = F_ref·(dose/reference_dose)^dose_exponent`` when a dose exponent is given) and
    a lag time; all are parameter names so they vary between patients."""

    name: str
    state: str
    amount_unit: str = "mg"
    bioavailability: str | None = None
    lag: str | None = None
    dose_exponent: str | None = None
    reference_dose: str | None = None
    module: str = ""
    description: str = ""


def _check_name(name: str, what: str, module: str) -> None:
    if not name.isidentifier():
        raise ModelDefinitionError(f"module {module!r}: {what} name {name!r} is not a valid identifier")


class Module:
    """One physiological subsystem. Build it with the declaration methods; they return SymPy
    symbols to write the equations with."""

    def __init__(self, name: str, doc: str = ""):
        self.name = name
        self.doc = doc
        self.parameters: dict[str, Parameter] = {}
        self.states: dict[str, State] = {}
        self.assignments: dict[str, Assignment] = {}
        self.inputs: dict[str, Input] = {}
        self.odes: dict[str, sp.Expr] = {}
        self.dose_targets: dict[str, DoseTarget] = {}

    # -- declarations ---------------------------------------------------------------------
    def _new(self, name: str, what: str) -> None:
        _check_name(name, what, self.name)
        for table in (self.parameters, self.states, self.assignments, self.inputs):
            if name in table:
                raise ModelDefinitionError(f"module {self.name!r}: {name!r} declared twice")

    def parameter(self, name: str, value: float, unit: str, source: str, *,
                  variability: Variability | None = None, description: str = "",
                  lower: float | None = None, upper: float | None = None) -> sp.Symbol:
        self._new(name, "parameter")
        if not source or not str(source).strip():
            raise ModelDefinitionError(f"module {self.name!r}: parameter {name!r} has no source "
                                       "(give a citation or 'assumed: why')")
        if not (isinstance(value, (int, float)) and math.isfinite(value)):
            raise ModelDefinitionError(f"module {self.name!r}: parameter {name!r} value {value!r} is not a finite number")
        _parse(unit, self.name, f"parameter {name!r}")
        p = Parameter(name=name, value=float(value), unit=unit, source=str(source), variability=variability,
                      description=description, module=self.name, lower=lower, upper=upper)
        self.parameters[name] = p
        return p.symbol

    def state(self, name: str, unit: str, initial: float | sp.Expr = 0.0, description: str = "",
              *, nonnegative: bool = True, step_control: bool = True, error_floor: float = 0.0) -> sp.Symbol:
        self._new(name, "state")
        _parse(unit, self.name, f"state {name!r}")
        try:
            ok = bool(np.isfinite(float(error_floor)) and float(error_floor) >= 0.0)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ModelDefinitionError(f"state {name!r} ({self.name}): error_floor must be finite and >= 0, "
                                       f"not {error_floor!r}")
        s = State(name=name, unit=unit, initial=initial, description=description, module=self.name,
                  nonnegative=nonnegative, step_control=step_control, error_floor=float(error_floor))
        self.states[name] = s
        return s.symbol

    def assign(self, name: str, expr, unit: str, description: str = "", *,
               interface: bool = False) -> sp.Symbol:
        self._new(name, "assignment")
        _parse(unit, self.name, f"assignment {name!r}")
        a = Assignment(name=name, expr=sp.sympify(expr), unit=unit, description=description, module=self.name,
                       interface=interface)
        self.assignments[name] = a
        return a.symbol

    def input(self, name: str, unit: str, default: float, source: str, description: str = "") -> sp.Symbol:
        self._new(name, "input")
        _parse(unit, self.name, f"input {name!r}")
        self.inputs[name] = Input(name=name, unit=unit, default=float(default), source=source,
                                  description=description, module=self.name)
        return sp.Symbol(name, real=True)

    def ode(self, state: sp.Symbol | str, rhs) -> None:
        name = str(state)
        if name not in self.states:
            raise ModelDefinitionError(f"module {self.name!r}: ODE for {name!r}, which is not a state of this module")
        if name in self.odes:
            raise ModelDefinitionError(f"module {self.name!r}: two ODEs for state {name!r}")
        self.odes[name] = sp.sympify(rhs)

    def dose_target(self, name: str, state: sp.Symbol | str, **kw) -> None:
        if name in self.dose_targets:
            raise ModelDefinitionError(f"module {self.name!r}: dose target {name!r} declared twice")
        self.dose_targets[name] = DoseTarget(name=name, state=str(state), module=self.name, **kw)


def _parse(unit: str, module: str, what: str):
    try:
        return parse_unit(unit)
    except ValueError as exc:
        raise ModelDefinitionError(f"module {module!r}, {what}: {exc}") from None


# ----------------------------------------------------------------------------------------------
# Composition
# ----------------------------------------------------------------------------------------------
@dataclass(kw_only=True)
class Coupling:
    variable: str
    provider: str
    consumer: str
    unit: str


@dataclass(kw_only=True)
class Model:
    """A composed model: the one source of truth the engine, the unit checks, the docs and the
    SBML export read from. Indices of states and parameters are fixed here."""

    name: str
    modules: list[Module]
    states: list[State]
    parameters: list[Parameter]
    assignments: list[Assignment]          # topologically ordered
    odes: dict[str, sp.Expr]
    dose_targets: dict[str, DoseTarget]
    couplings: list[Coupling] = field(default_factory=list)

    def __post_init__(self):
        self.state_index = {s.name: i for i, s in enumerate(self.states)}
        self.param_index = {p.name: i for i, p in enumerate(self.parameters)}
        self.assignment_index = {a.name: i for i, a in enumerate(self.assignments)}

    # -- conveniences -----------------------------------------------------------------------
    @property
    def state_names(self) -> list[str]:
        return [s.name for s in self.states]

    def error_floors(self) -> np.ndarray:
        """Each state's :attr:`State.error_floor`, in state order (the solver's error norm)."""
        return np.array([s.error_floor for s in self.states], dtype=float)

    @property
    def parameter_names(self) -> list[str]:
        return [p.name for p in self.parameters]

    def parameter(self, name: str) -> Parameter:
        return self.parameters[self.param_index[name]]

    def default_parameters(self) -> np.ndarray:
        return np.array([p.value for p in self.parameters], dtype=float)

    def unit_of(self, name: str) -> str:
        if name in self.state_index:
            return self.states[self.state_index[name]].unit
        if name in self.assignment_index:
            return self.assignments[self.assignment_index[name]].unit
        if name in self.param_index:
            return self.parameters[self.param_index[name]].unit
        raise KeyError(name)

    def initial_state(self, params: np.ndarray) -> np.ndarray:
        """Initial states for each row of ``params`` (shape (n, n_params) or (n_params,))."""
        P = np.atleast_2d(params)
        constant, functions = self._initial_state_plan()
        x0 = np.repeat(constant[None, :], P.shape[0], axis=0)
        for i, f in functions:
            x0[:, i] = f(*P.T)
        return x0 if np.ndim(params) == 2 else x0[0]

    def _initial_state_plan(self):
        """(constant initial values, [(state index, NumPy function of the parameters)]), made once:
        lambdifying on every call cost ~0.2 s, half of a small simulate() call."""
        plan = self.__dict__.get("_initial_plan")
        if plan is None:
            constant = np.zeros(len(self.states))
            functions = []
            symbols = [p.symbol for p in self.parameters]
            for i, s in enumerate(self.states):
                if isinstance(s.initial, sp.Expr) and s.initial.free_symbols:
                    functions.append((i, sp.lambdify(symbols, s.initial, "numpy")))
                else:
                    constant[i] = float(s.initial)
            plan = self._initial_plan = (constant, functions)
        return plan

    def external_parameters(self) -> frozenset[str]:
        """Names of the parameters of parameter-only modules (no state, ODE or assignment): no
        equation can use them (modules connect only through interface variables), they serve a
        layer outside the ODE system — the behaviour layer's parameters. Between-patient sampling,
        sensitivity analysis, fits and PEtab estimation of the ODE system leave them out (that
        layer draws its own); computed once."""
        cached = self.__dict__.get("_external_parameters")
        if cached is None:
            cached = self._external_parameters = frozenset(
                n for m in self.modules if not (m.states or m.assignments or m.odes) for n in m.parameters)
        return cached

    def parameters_upstream(self, names) -> frozenset[str]:
        """The parameters that can change the states or assignments ``names`` over a simulation,
        from the equations' structure: the transitive closure of "uses" over the ODE right-hand
        sides, the assignments, the initial values and the dose targets' parameters (bioavailability,
        lag, dose exponent, reference dose: the dose events' parameters). A parameter outside it does
        not appear in any equation that feeds ``names``, so the exact solution of ``names`` does not
        depend on it (a numerical solution does only through the step-size control, which sees
        every state)."""
        return self._upstream(names) & set(self.param_index)

    def states_upstream(self, names) -> frozenset[str]:
        """The states whose values can change the states or assignments ``names`` over a simulation
        (``names``' own states included): the same closure as :meth:`parameters_upstream`. A state
        outside it feeds no equation of ``names``, so the solver may integrate it without letting it
        control the step (``Simulator.run``'s ``outputs``)."""
        return self._upstream(names) & set(self.state_index)

    def _upstream(self, names) -> frozenset[str]:
        """Every symbol that ``names`` use, transitively (see :meth:`parameters_upstream`)."""
        graph = self.__dict__.get("_uses")
        if graph is None:
            graph = {s.name: {str(v) for v in self.odes[s.name].free_symbols} for s in self.states}
            for s in self.states:
                if isinstance(s.initial, sp.Expr):
                    graph[s.name] |= {str(v) for v in s.initial.free_symbols}
            for a in self.assignments:
                graph[a.name] = {str(v) for v in a.expr.free_symbols}
            for dt in self.dose_targets.values():
                graph[dt.state] = graph.get(dt.state, set()) | {
                    p for p in (dt.bioavailability, dt.lag, dt.dose_exponent, dt.reference_dose) if p}
            self._uses = graph
        seen, todo = set(), list(names)
        while todo:
            v = todo.pop()
            if v not in seen:
                seen.add(v)
                todo += graph.get(v, ())
        return frozenset(seen)

    def interface_variables(self) -> list[Assignment]:
        return [a for a in self.assignments if a.interface]

    def substituted_odes(self) -> dict[str, sp.Expr]:
        """ODE right-hand sides in states and parameters only (assignments substituted)."""
        subs: dict[sp.Symbol, sp.Expr] = {}
        for a in self.assignments:
            subs[a.symbol] = a.expr.xreplace(subs)
        return {name: rhs.xreplace(subs) for name, rhs in self.odes.items()}

    def assignment_exprs(self) -> dict[str, sp.Expr]:
        """Each assignment in states and parameters only."""
        subs: dict[sp.Symbol, sp.Expr] = {}
        for a in self.assignments:
            subs[a.symbol] = a.expr.xreplace(subs)
        return {str(k): v for k, v in subs.items()}

    def fingerprint(self) -> str:
        """A hash of the model's structure (equations, names), for code caches (computed once)."""
        cached = self.__dict__.get("_fingerprint")
        if cached is not None:
            return cached
        import hashlib
        h = hashlib.sha256()
        for s in self.states:
            h.update(f"S{s.name}:{self.odes[s.name]}".encode())
        for p in self.parameters:
            h.update(f"P{p.name}".encode())
        for a in self.assignments:
            h.update(f"A{a.name}:{a.expr}".encode())
        self._fingerprint = h.hexdigest()[:16]
        return self._fingerprint


def compose(modules: list[Module], name: str = "opiaxis") -> Model:
    """Join modules into one model.

    * every name is declared once across modules;
    * an input is satisfied by another module's interface assignment or state of the same name
      and unit; otherwise it becomes a parameter (its declared default and source);
    * every symbol used in an equation is declared;
    * every equation is unit-consistent (scale included);
    * assignments are ordered so each depends only on earlier ones (a cycle is an error).
    """
    owner = _owners(modules)
    states = [s for m in modules for s in m.states.values()]
    parameters = [p for m in modules for p in m.parameters.values()]
    assignments = {a.name: a for m in modules for a in m.assignments.values()}
    unit_by_name = {s.name: s.unit for s in states} | {p.name: p.unit for p in parameters} | \
        {a.name: a.unit for a in assignments.values()}
    couplings, defaulted = _connect_inputs(modules, owner, unit_by_name)
    parameters += defaulted
    unit_by_name |= {p.name: p.unit for p in defaulted}
    _check_symbols(modules, owner, set(unit_by_name))
    units = {sp.Symbol(n, real=True): parse_unit(u) for n, u in unit_by_name.items()}
    _check_units(modules, units, {p.name for p in parameters})
    order = _assignment_order(assignments)
    dose_targets = _dose_targets(modules)
    odes = {n: e for m in modules for n, e in m.odes.items()}
    model = Model(name=name, modules=list(modules), states=states, parameters=parameters,
                  assignments=[assignments[n] for n in order], odes=odes, dose_targets=dose_targets,
                  couplings=couplings)
    _check_observers(model)
    return model


def _check_observers(model: "Model") -> None:
    """A state declared ``step_control=False`` is read by no step-controlled state's equation
    (through assignments too): otherwise its uncontrolled error would reach states the solver
    keeps to tolerance."""
    free = {s.name for s in model.states if not s.step_control}
    if not free:
        return
    controlled = [s.name for s in model.states if s.step_control]
    if not model.states_upstream(controlled) & free:   # one traversal; the culprit only on failure
        return
    for s in model.states:
        if s.step_control:
            used = model.states_upstream([s.name]) & free
            if used:
                v = sorted(used)[0]
                raise ModelDefinitionError(
                    f"state {v!r} ({model.states[model.state_index[v]].module}) is declared step_control=False, "
                    f"but the step-controlled state {s.name!r} ({s.module}) depends on it; declare it "
                    f"step-controlled or make {s.name!r} an observer too")


def _owners(modules: list[Module]) -> dict[str, tuple[str, str]]:
    """name -> (module, kind) of every parameter, state and assignment, each declared once; every
    state has its ODE."""
    owner: dict[str, tuple[str, str]] = {}
    for m in modules:
        for kind, table in (("parameter", m.parameters), ("state", m.states), ("assignment", m.assignments)):
            for n in table:
                if n in owner:
                    raise ModelDefinitionError(
                        f"{kind} {n!r} is declared by both module {owner[n][0]!r} and module {m.name!r}")
                owner[n] = (m.name, kind)
        for s in m.states:
            if s not in m.odes:
                raise ModelDefinitionError(f"module {m.name!r}: state {s!r} has no ODE")
    return owner


def _connect_inputs(modules: list[Module], owner: dict[str, tuple[str, str]],
                    unit_by_name: dict[str, str]) -> tuple[list[Coupling], list[Parameter]]:
    """(couplings, parameters): an input another module provides (an interface assignment or a
    state, in the same unit) is a coupling; one nobody provides becomes a parameter with the
    input's declared default and source, shared by every module that consumes it."""
    couplings: list[Coupling] = []
    defaulted: list[Parameter] = []
    declared = set(unit_by_name)
    for m in modules:
        for inp in m.inputs.values():
            if inp.name in owner:
                prov_mod, kind = owner[inp.name]
                if kind == "parameter":
                    raise ModelDefinitionError(
                        f"module {m.name!r} consumes {inp.name!r}, but module {prov_mod!r} declares it "
                        "as a parameter, not an interface variable")
                pu, cu = parse_unit(unit_by_name[inp.name]), parse_unit(inp.unit)
                if not same_unit(pu, cu):
                    raise ModelDefinitionError(
                        f"interface variable {inp.name!r}: module {prov_mod!r} provides {fmt(pu)}, "
                        f"module {m.name!r} expects {fmt(cu)}")
                couplings.append(Coupling(variable=inp.name, provider=prov_mod, consumer=m.name, unit=inp.unit))
            elif inp.name in declared:  # another module's input of the same name: share it
                continue
            else:
                defaulted.append(Parameter(
                    name=inp.name, value=inp.default, unit=inp.unit,
                    source=f"input default of module {m.name!r}: {inp.source}",
                    description=inp.description or "interface input not provided by any module", module=m.name))
                declared.add(inp.name)
    return couplings, defaulted


def _check_symbols(modules: list[Module], owner: dict[str, tuple[str, str]], known: set[str]) -> None:
    """Every symbol in an equation is declared and, when another module's, consumed as an input
    (modules connect only through interface variables)."""
    for m in modules:
        local = set(m.parameters) | set(m.states) | set(m.assignments) | set(m.inputs)
        exprs = [(f"assignment {a.name!r}", a.expr) for a in m.assignments.values()] + \
                [(f"d{n}/dt", e) for n, e in m.odes.items()]
        for what, e in exprs:
            for sym in e.free_symbols:
                if str(sym) not in known:
                    raise ModelDefinitionError(f"module {m.name!r}, {what}: unknown symbol {sym}")
                if str(sym) not in local:
                    raise ModelDefinitionError(
                        f"module {m.name!r}, {what}: uses {sym} from module {owner[str(sym)][0]!r} "
                        "without declaring it as an input (modules connect only through interface variables)")


def _check_units(modules: list[Module], units: dict, parameter_names: set[str]) -> None:
    """Every assignment has its declared unit and every ODE its state's unit per hour; a dose
    target lands in a state of its amount's unit and names declared parameters."""
    per_hour = parse_unit(f"1/{TIME_UNIT}")
    for m in modules:
        for a in m.assignments.values():
            check_unit(a.expr, units, parse_unit(a.unit), module=m.name, what=f"assignment {a.name!r}")
        for n, e in m.odes.items():
            check_unit(e, units, parse_unit(m.states[n].unit) * per_hour, module=m.name, what=f"d{n}/dt")
        for dt in m.dose_targets.values():
            if dt.state not in m.states:
                raise ModelDefinitionError(f"module {m.name!r}: dose target {dt.name!r} lands in unknown state {dt.state!r}")
            if not same_unit(parse_unit(m.states[dt.state].unit), parse_unit(dt.amount_unit)):
                raise ModelDefinitionError(
                    f"module {m.name!r}: dose target {dt.name!r} gives {dt.amount_unit} into state "
                    f"{dt.state!r} measured in {m.states[dt.state].unit}")
            for pname in (dt.bioavailability, dt.lag, dt.dose_exponent, dt.reference_dose):
                if pname is not None and pname not in parameter_names:
                    raise ModelDefinitionError(f"module {m.name!r}: dose target {dt.name!r} names unknown parameter {pname!r}")


def _assignment_order(assignments: dict[str, Assignment]) -> list[str]:
    """Assignment names, each after those it depends on (a cycle is an error). Predecessors are
    sorted by name, so the order (and the code generated from it) does not depend on Python's
    hash seed: set iteration order does."""
    graph = {n: sorted({str(s) for s in a.expr.free_symbols if str(s) in assignments})
             for n, a in assignments.items()}
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise ModelDefinitionError(f"assignments depend on each other in a cycle: {exc.args[1]}") from None


def _dose_targets(modules: list[Module]) -> dict[str, DoseTarget]:
    """Every module's dose targets, each declared by one module."""
    dose_targets = {}
    for m in modules:
        for k, v in m.dose_targets.items():
            if k in dose_targets:
                raise ModelDefinitionError(f"dose target {k!r} declared by two modules")
            dose_targets[k] = v
    return dose_targets
