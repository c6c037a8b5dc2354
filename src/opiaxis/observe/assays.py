"""Read-out definitions (``data/readouts.yaml``) and the assay models that turn latent model
values into measurements.

A read-out says which latent variable(s) it measures, in which unit, with which noise and
which limits. Kinds:

``continuous``
    a concentration or imaging value: unit conversion (pint), noise, LLOQ/ULOQ censoring.
``scale``
    a clinical rating (COWS, NRS, MADRS …): rater/occasion noise in points, rounding to the
    scale's resolution, clipping to its bounds.
``binary``
    a screening test (urine drug screen): a urine concentration built from plasma
    concentrations, positive when it exceeds the cutoff.
``poisson``
    a count of events in a window (spontaneous bowel movements per week) from a latent rate.

A ``continuous``, ``scale`` or ``poisson`` read-out may recall a ``window`` (``1 week``): its value
at a visit t is the mean of the latent over [t − window, t] (a poisson read-out counts the events
of that window: the mean rate times the window), as the Bowel Function Index recalls the past 7
days (Rentz et al., J Med Econ 2009;12:371) and an SBM diary counts the week before the visit.
The mean is exact when the model keeps the latent's running integral (a candidate's
``integral``, e.g. the gut module's ``sbm_expected_count``: the difference over the window)
and a trapezoid over nodes ``WINDOW_STEP_H`` apart otherwise (:func:`window_sampling`). A window
that reaches before the start of the simulation is clipped to it (the mean of what exists); at
the start itself the value is the latent at that instant.
``counts``
    stool 16S-like read counts: relative abundances of the latent taxa, sequencing depth,
    Dirichlet-multinomial sampling.
``diversity``
    α-diversity (Shannon, Simpson, observed richness) computed from a ``counts`` read-out's
    own draws, so the two always agree.

Noise models (``noise.model``):

* ``lognormal``: ``y = x·exp(σz − σ²/2) + sd·z₂`` with ``σ² = ln(1 + cv²)`` — mean-preserving
  proportional error with coefficient of variation ``cv``, plus an additive SD;
* ``normal``: ``y = x + sqrt((cv·x)² + sd²)·z`` — the combined proportional + additive error
  of NONMEM practice;
* ``gamma`` (``poisson`` read-outs only): the expected count times a gamma frailty of mean 1 and
  coefficient of variation ``cv`` (shape 1/cv²), drawn anew for each measurement — the count is then
  negative binomial, the week-to-week and period-to-period scatter of a patient's bowel diary
  around what the model expects (the gut trials' diary, ``physiology.gut.weekly_sbm_counts``);
* ``none``.

Concentrations are never negative (``y`` is clipped at 0 before censoring).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import OpiaxisInputError
from ..model.units import ureg
from ..yamlio import LDict, check_keys, line_of, load_yaml, load_yaml_file, number

# Endotoxin units: 1 EU ≈ 0.1 ng of reference standard endotoxin (USP/FDA convention). pint's own
# "EU" parses as exa-enzyme-unit, so the unit gets an explicit name.
try:
    ureg.define("endotoxin_unit = 100 * picogram")
except Exception:  # already defined by another import
    pass

KINDS = ("continuous", "scale", "binary", "poisson", "counts", "diversity")
NOISE_MODELS = ("lognormal", "normal", "gamma", "none")
DIVERSITY_METRICS = ("shannon", "simpson", "observed")

COMMON_KEYS = {"description", "kind", "variable", "components", "unit", "unit_label", "noise", "source"}
KIND_KEYS = {
    "continuous": {"lloq", "uloq", "mw", "reference", "window"},
    "scale": {"bounds", "resolution", "window"},
    "binary": {"cutoff"},
    "poisson": {"window"},
    "counts": {"taxa", "depth", "overdispersion"},
    "diversity": {"from", "metric"},
}
TERM_KEYS = {"variable", "factor", "reference", "integral"}
WINDOW_KINDS = ("continuous", "scale", "poisson")
# Trapezoid node spacing of a window mean without an exact integral (hours). Assumed: 1 h resolves
# the shortest dose-to-dose swing of the latents read over a window (heroin q8h moves transit with
# tau_m = 1 h); docs/precision-recovery.md, tenth session, measures the error of 1, 2 and 4 h.
WINDOW_STEP_H = 1.0
NOISE_KEYS = {"model", "cv", "sd", "source"}


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """A latent variable, times ``factor``; when the latent is dimensionless (relative to normal)
    and ``reference`` is given, it is multiplied by the reference (value, unit) too."""

    name: str
    factor: float = 1.0
    reference: tuple[float, str] | None = None
    factor_unit: str | None = None  # a factor with a unit maps the latent's unit onto the read-out's
    integral: str | None = None  # a model variable that is the running integral of this latent over time


@dataclass(frozen=True, kw_only=True)
class Term:
    """One latent contribution: the first of ``options`` that the model has."""

    options: tuple[Candidate, ...]

    @property
    def candidates(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.options)


@dataclass(frozen=True, kw_only=True)
class Noise:
    model: str = "none"
    cv: float = 0.0
    sd: float = 0.0
    source: str = ""


@dataclass(kw_only=True)
class Readout:
    name: str
    kind: str
    unit: str
    terms: tuple[Term, ...] = ()
    combine: str = "first"  # "first": one term (variable); "sum": components that are present
    noise: Noise = field(default_factory=Noise)
    description: str = ""
    source: str = ""
    unit_label: str = ""
    lloq: float | None = None
    uloq: float | None = None
    lloq_source: str = ""
    mw: float | None = None  # g/mol, for mass <-> molar conversion
    bounds: tuple[float, float] | None = None
    resolution: float | None = None
    cutoff: float | None = None
    cutoff_source: str = ""
    window: float | None = None  # hours: the value is the latent's mean over [t - window, t] (poisson: its count)
    taxa: str | None = None  # regex with one group (taxon name) over variable names
    depth: tuple[float, float] = (30000.0, 0.5)  # median reads, CV
    overdispersion: float = 0.0
    source_readout: str | None = None  # diversity: the counts read-out
    metric: str = "shannon"
    file: str = ""

    @property
    def label(self) -> str:
        if self.kind == "binary":
            return self.unit_label or "1=positive"
        return self.unit_label or self.unit

    @property
    def variables(self) -> list[str]:
        return [c for t in self.terms for c in t.candidates]


# ----------------------------------------------------------------------------------------------
# loading and validation

class _Ctx:
    def __init__(self, file):
        self.file = file

    def err(self, msg, node, key, fld):
        return OpiaxisInputError(msg, file=self.file, line=line_of(node, key), field=fld)


def _num(ctx, node, key, fld, *, minimum=None, positive=False) -> float:
    return number(node[key], fld, file=ctx.file, line=line_of(node, key), minimum=minimum, positive=positive)


def _unit(ctx, text, node, key, fld, *, label_ok=False):
    if not isinstance(text, str) or not text.strip():
        raise ctx.err(f"{text!r} is not a unit; expected a unit such as 'pg/mL'", node, key, fld)
    if label_ok:
        return text
    try:
        ureg.parse_expression(text)
    except Exception:
        raise ctx.err(f"unknown unit {text!r} (pint syntax expected, e.g. 'pg/mL', 'nmol/L')",
                      node, key, fld) from None
    return text


def _quantity(ctx, node, key, fld, target_unit, *, mw=None, need_source=True):
    """A {value, unit?, source} mapping (or a bare number in ``target_unit``) -> (value, source)."""
    q = node[key]
    if isinstance(q, (int, float)) and not isinstance(q, bool):
        return _num(ctx, node, key, fld, minimum=0), ""
    check_keys(q, {"value", "unit", "source"}, ctx.file, fld)
    if "value" not in q:
        raise ctx.err("missing 'value'", q, None, f"{fld}.value")
    v = _num(ctx, q, "value", f"{fld}.value", minimum=0)
    src = str(q.get("source", ""))
    if need_source and not src:
        raise ctx.err("missing 'source' (a citation or 'assumed: <why>')", q, None, f"{fld}.source")
    if "unit" in q and target_unit is not None:
        u = _unit(ctx, q["unit"], q, "unit", f"{fld}.unit")
        try:
            v = v * conversion_factor(u, target_unit, mw)
        except ValueError as exc:
            raise ctx.err(str(exc), q, "unit", f"{fld}.unit") from None
    return v, src


def _candidate(ctx, node, fld, factor=1.0, ref=None, funit=None, integral=None) -> list[Candidate]:
    if isinstance(node, str) and node.strip():
        return [Candidate(name=node, factor=factor, reference=ref, factor_unit=funit, integral=integral)]
    if isinstance(node, list) and node:
        return [c for j, item in enumerate(node)
                for c in _candidate(ctx, item, f"{fld}[{j}]", factor, ref, funit, integral)]
    if isinstance(node, dict):
        check_keys(node, TERM_KEYS, ctx.file, fld)
        if "variable" not in node:
            raise ctx.err("missing 'variable'", node, None, f"{fld}.variable")
        f, funit = factor, funit
        if isinstance(node.get("factor"), dict):
            fq = node["factor"]
            check_keys(fq, {"value", "unit", "source"}, ctx.file, f"{fld}.factor")
            for k in ("value", "unit", "source"):
                if k not in fq:
                    raise ctx.err(f"missing {k!r}", fq, None, f"{fld}.factor.{k}")
            f = _num(ctx, fq, "value", f"{fld}.factor.value")
            funit = _unit(ctx, fq["unit"], fq, "unit", f"{fld}.factor.unit")
        elif "factor" in node:
            f = _num(ctx, node, "factor", f"{fld}.factor")
        if "reference" in node:
            r = node["reference"]
            check_keys(r, {"value", "unit", "source"}, ctx.file, f"{fld}.reference")
            for k in ("value", "unit", "source"):
                if k not in r:
                    raise ctx.err(f"missing {k!r}", r, None, f"{fld}.reference.{k}")
            ref = (_num(ctx, r, "value", f"{fld}.reference.value", positive=True),
                   _unit(ctx, r["unit"], r, "unit", f"{fld}.reference.unit"))
        if "integral" in node:
            integral = node["integral"]
            if not isinstance(integral, str) or not re.fullmatch(r"[A-Za-z_]\w*", integral) \
                    or not isinstance(node["variable"], str):
                raise ctx.err(f"integral {integral!r} must be the name of the model variable that integrates "
                              "this one latent over time (e.g. 'sbm_expected_count')", node, "integral",
                              f"{fld}.integral")
        return _candidate(ctx, node["variable"], f"{fld}.variable", f, ref, funit, integral)
    raise OpiaxisInputError("expected a variable name, a list of candidate names, or "
                            "{variable, factor, reference}", file=ctx.file,
                            line=getattr(node, "line", None), field=fld)


def _term(ctx, node, fld) -> Term:
    return Term(options=tuple(_candidate(ctx, node, fld)))


def _diversity_fields(ctx, node, r: Readout, where: str) -> None:
    if "from" not in node or not isinstance(node["from"], str):
        raise ctx.err("a diversity read-out needs 'from': the name of a counts read-out", node, "from", f"{where}.from")
    r.source_readout = node["from"]
    r.metric = node.get("metric", "shannon")
    if r.metric not in DIVERSITY_METRICS:
        raise ctx.err(f"unknown metric {r.metric!r}; expected one of {list(DIVERSITY_METRICS)}",
                      node, "metric", f"{where}.metric")


def _counts_fields(ctx, node, r: Readout, where: str) -> None:
    if "taxa" not in node or not isinstance(node["taxa"], str):
        raise ctx.err("a counts read-out needs 'taxa': a regular expression with one group "
                      "(the taxon name) matching the latent abundance variables", node, "taxa", f"{where}.taxa")
    try:
        rx = re.compile(node["taxa"])
    except re.error as exc:
        raise ctx.err(f"not a regular expression: {exc}", node, "taxa", f"{where}.taxa") from None
    if rx.groups != 1:
        raise ctx.err("the pattern must have exactly one group (the taxon name)", node, "taxa", f"{where}.taxa")
    r.taxa = node["taxa"]
    if "depth" in node:
        d = node["depth"]
        check_keys(d, {"median", "cv", "source"}, ctx.file, f"{where}.depth")
        for k in ("median", "cv"):
            if k not in d:
                raise ctx.err(f"missing {k!r}", d, None, f"{where}.depth.{k}")
        r.depth = (_num(ctx, d, "median", f"{where}.depth.median", positive=True),
                   _num(ctx, d, "cv", f"{where}.depth.cv", minimum=0))
    if "overdispersion" in node:
        od, _ = _quantity(ctx, node, "overdispersion", f"{where}.overdispersion", None)
        if not 0 <= od < 1:
            raise ctx.err(f"overdispersion {od} must be in [0, 1)", node, "overdispersion", f"{where}.overdispersion")
        r.overdispersion = od


def _latent_terms(ctx, node, r: Readout, where: str) -> None:
    if ("variable" in node) == ("components" in node):
        raise ctx.err("give exactly one of 'variable' (one latent, or candidate names) and 'components' "
                      "(latents summed)", node, None, f"{where}.variable")
    if "variable" in node:
        r.terms = (_term(ctx, node["variable"], f"{where}.variable"),)
        r.combine = "first"
    else:
        comps = node["components"]
        if not isinstance(comps, list) or not comps:
            raise ctx.err("components must be a non-empty list", node, "components", f"{where}.components")
        r.terms = tuple(_term(ctx, c, f"{where}.components[{j}]") for j, c in enumerate(comps))
        r.combine = "sum"


def _noise(ctx, node, where: str) -> Noise:
    nz = node.get("noise", {"model": "none"})
    check_keys(nz, NOISE_KEYS, ctx.file, f"{where}.noise")
    model = nz.get("model", "none")
    if model not in NOISE_MODELS:
        raise ctx.err(f"unknown noise model {model!r}; expected one of {list(NOISE_MODELS)}",
                      nz, "model", f"{where}.noise.model")
    cv = _num(ctx, nz, "cv", f"{where}.noise.cv", minimum=0) if "cv" in nz else 0.0
    sd = _num(ctx, nz, "sd", f"{where}.noise.sd", minimum=0) if "sd" in nz else 0.0
    if model != "none" and not str(nz.get("source", "")).strip():
        raise ctx.err("missing 'source' (a citation or 'assumed: <why>')", nz, None, f"{where}.noise.source")
    if model == "gamma" and (node.get("kind") != "poisson" or cv <= 0 or sd > 0):
        raise ctx.err("a gamma noise model is a frailty on a poisson read-out's expected count: kind poisson, "
                      "cv > 0 (its coefficient of variation) and no sd", nz, "model", f"{where}.noise.model")
    return Noise(model=model, cv=cv, sd=sd, source=str(nz.get("source", "")))


def _continuous_fields(ctx, node, r: Readout, where: str) -> None:
    if "mw" in node:
        r.mw, _ = _quantity(ctx, node, "mw", f"{where}.mw", "g/mol", need_source=False)
    for lim in ("lloq", "uloq"):
        if lim in node:
            v, src = _quantity(ctx, node, lim, f"{where}.{lim}", r.unit, mw=r.mw)
            setattr(r, lim, v)
            if lim == "lloq":
                r.lloq_source = src
    if r.lloq is not None and r.uloq is not None and r.lloq >= r.uloq:
        raise ctx.err(f"lloq {r.lloq} must be below uloq {r.uloq}", node, "uloq", f"{where}.uloq")


def _scale_fields(ctx, node, r: Readout, where: str) -> None:
    b = node.get("bounds")
    if (not isinstance(b, list) or len(b) != 2 or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in b)
            or b[0] >= b[1]):
        raise ctx.err(f"bounds {b!r} must be [low, high] with low < high", node, "bounds", f"{where}.bounds")
    r.bounds = (float(b[0]), float(b[1]))
    r.resolution = _num(ctx, node, "resolution", f"{where}.resolution", positive=True) if "resolution" in node else 1.0


def _binary_fields(ctx, node, r: Readout, where: str) -> None:
    if "cutoff" not in node:
        raise ctx.err("a binary read-out needs 'cutoff'", node, None, f"{where}.cutoff")
    r.cutoff, r.cutoff_source = _quantity(ctx, node, "cutoff", f"{where}.cutoff", r.unit)
    if r.cutoff <= 0:
        raise ctx.err("cutoff must be positive", node, "cutoff", f"{where}.cutoff")


def _window(ctx, node, r: Readout, where: str) -> None:
    """``window``: a positive duration (hours in :attr:`Readout.window`)."""
    text = node["window"]
    try:
        if isinstance(text, bool) or not isinstance(text, str):
            raise ValueError
        w = float(ureg.Quantity(text).to("h").magnitude)
    except Exception:
        raise ctx.err(f"{text!r} is not a duration such as '1 week' or '7 d'", node, "window",
                      f"{where}.window") from None
    if not (w > 0 and math.isfinite(w)):
        raise ctx.err(f"window {text!r} must be a positive duration", node, "window", f"{where}.window")
    r.window = w


def _poisson_fields(ctx, node, r: Readout, where: str) -> None:
    if "window" not in node:
        raise ctx.err("a poisson read-out needs 'window' (e.g. '1 week')", node, None, f"{where}.window")


_KIND_FIELDS = {"continuous": _continuous_fields, "scale": _scale_fields, "binary": _binary_fields,
                "poisson": _poisson_fields}


def parse_readout(name: str, node, file: str) -> Readout:
    """Validate one read-out entry; errors name the file, line, entry and field."""
    ctx = _Ctx(file)
    where = f"readouts.{name}"
    kind = node.get("kind", "continuous") if isinstance(node, dict) else None
    if kind not in KINDS:
        raise ctx.err(f"unknown kind {kind!r}; expected one of {list(KINDS)}", node, "kind", f"{where}.kind")
    if isinstance(node, dict) and "window" in node and kind not in WINDOW_KINDS:
        raise ctx.err(f"a {kind} read-out cannot recall a window (only {', '.join(WINDOW_KINDS)} read-outs: "
                      "the mean of a latent over [t - window, t])", node, "window", f"{where}.window")
    check_keys(node, COMMON_KEYS | KIND_KEYS[kind], ctx.file, where)
    r = Readout(name=name, kind=kind, unit="", file=file, description=str(node.get("description", "")),
                source=str(node.get("source", "")), unit_label=str(node.get("unit_label", "")))
    label_unit = kind in ("scale", "poisson", "counts", "diversity", "binary")
    if "unit" not in node:
        raise ctx.err("missing required key 'unit'", node, None, f"{where}.unit")
    r.unit = _unit(ctx, node["unit"], node, "unit", f"{where}.unit", label_ok=label_unit and kind != "binary")
    if kind in ("diversity", "counts"):
        (_diversity_fields if kind == "diversity" else _counts_fields)(ctx, node, r, where)
        return r
    _latent_terms(ctx, node, r, where)
    r.noise = _noise(ctx, node, where)
    if "window" in node:
        _window(ctx, node, r, where)
    if kind in _KIND_FIELDS:
        _KIND_FIELDS[kind](ctx, node, r, where)
    if r.window is None and any(c.integral for t in r.terms for c in t.options):
        raise ctx.err("'integral' is only used by a read-out with a 'window'", node, None, f"{where}.window")
    return r


def _drug_readouts(section, file, out: "ReadoutSet") -> None:
    """Expand ``drug_levels`` (a template plus per-drug overrides) for every drug in the library."""
    from ..physiology.drugs import load_drugs

    ctx = _Ctx(file)
    check_keys(section, {"template", "drugs", "name"}, ctx.file, "drug_levels")
    template = section.get("template")
    if not isinstance(template, dict):
        raise ctx.err("drug_levels needs a 'template' read-out entry", section, "template", "drug_levels.template")
    pattern = str(section.get("name", "{drug}_conc"))
    overrides = section.get("drugs") or {}
    if not isinstance(overrides, dict):
        raise ctx.err("drug_levels.drugs must map drug names to overrides", section, "drugs", "drug_levels.drugs")
    library = load_drugs()
    proto = LDict(template)
    proto.line, proto.key_lines = getattr(template, "line", None), dict(getattr(template, "key_lines", {}))
    proto["variable"] = "DRUG_plasma"
    out.drug_template = parse_readout("drug_levels.template", proto, file)
    out.drug_name = pattern
    for d in overrides:
        if d not in library:
            hint = difflib.get_close_matches(str(d), sorted(library), n=1)
            raise ctx.err(f"unknown drug {d!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""),
                          overrides, d, f"drug_levels.drugs.{d}")
    for d in library:
        entry = LDict({k: v for k, v in template.items()})
        entry.line, entry.key_lines = getattr(template, "line", None), dict(getattr(template, "key_lines", {}))
        entry["variable"] = f"{d}_plasma"
        entry["description"] = f"{d} plasma concentration (LC-MS/MS)"
        ov = overrides.get(d) or {}
        for k, v in ov.items():
            entry[k] = v
            entry.key_lines[k] = line_of(ov, k)
        name = pattern.format(drug=d)
        out[name] = parse_readout(name, entry, file)


class ReadoutSet(dict):
    """Read-outs by name; ``drug_template`` measures a ``<drug>_plasma`` without its own entry."""

    drug_template: Readout | None = None
    drug_name: str = "{drug}_conc"


def template_drug_readout(drug: str, readouts: dict[str, Readout]) -> Readout | None:
    """A drug-level read-out for a drug outside the library (the ``drug_levels`` template)."""
    proto = getattr(readouts, "drug_template", None)
    if proto is None:
        return None
    import copy
    r = copy.copy(proto)
    r.name = readouts.drug_name.format(drug=drug)
    r.terms = (Term(options=(Candidate(name=f"{drug}_plasma"),)),)
    r.description = f"{drug} plasma concentration (LC-MS/MS; template LLOQ)"
    return r


def parse_readouts(raw, file: str) -> dict[str, Readout]:
    ctx = _Ctx(file)
    check_keys(raw, {"version", "readouts", "drug_levels"}, ctx.file, "")
    entries = raw.get("readouts")
    if not isinstance(entries, dict) or not entries:
        raise ctx.err("expected 'readouts': a mapping of read-out names to entries", raw, "readouts", "readouts")
    out = ReadoutSet()
    if "drug_levels" in raw:
        _drug_readouts(raw["drug_levels"], file, out)
    for name, node in entries.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ctx.err(f"read-out name {name!r} must be an identifier", entries, name, f"readouts.{name}")
        out[name] = parse_readout(name, node, file)
    for r in out.values():
        if r.kind == "diversity":
            src = out.get(r.source_readout)
            if src is None or src.kind != "counts":
                raise OpiaxisInputError(f"'from' names {r.source_readout!r}, which is not a counts read-out",
                                        file=file, field=f"readouts.{r.name}.from")
    return out


def load_readouts(path: str | Path | None = None) -> dict[str, Readout]:
    """Read-out definitions by name, from ``path`` or the shipped ``data/readouts.yaml``."""
    if path is None:
        text = (resources.files("opiaxis") / "data" / "readouts.yaml").read_text(encoding="utf-8")
        return parse_readouts(load_yaml(text, "<readouts.yaml>"), "<readouts.yaml>")
    p = Path(path)
    return parse_readouts(load_yaml_file(p), str(p))


# ----------------------------------------------------------------------------------------------
# units

def conversion_factor(from_unit: str, to_unit: str, mw: float | None = None) -> float:
    """Factor f with value[to_unit] = f · value[from_unit]; molar <-> mass through ``mw`` (g/mol)."""
    fu = ureg.parse_expression(from_unit or "dimensionless")
    tu = ureg.parse_expression(to_unit or "dimensionless")
    q = (1.0 * fu) if not isinstance(fu, (int, float)) else ureg.Quantity(float(fu))
    try:
        return float(q.to(tu).magnitude)
    except Exception:
        pass
    if mw:
        M = ureg.Quantity(mw, "g/mol")
        for cand in (q * M, q / M):
            try:
                return float(cand.to(tu).magnitude)
            except Exception:
                continue
    raise ValueError(f"cannot convert {from_unit!r} to {to_unit!r}"
                     + ("" if mw else " (give 'mw' for molar <-> mass conversion)"))


def is_dimensionless(unit: str) -> bool:
    try:
        q = ureg.parse_expression(unit or "dimensionless")
    except Exception:
        return False
    return isinstance(q, (int, float)) or q.dimensionless


def term_factor(r: Readout, term: Candidate, model_unit: str) -> float:
    """Factor from the model variable's unit to the read-out's unit for one candidate."""
    if r.kind == "scale":
        return term.factor
    if r.kind == "poisson":
        # a rate in the model's unit -> expected events per window
        return term.factor * conversion_factor(model_unit, "1/h") * r.window
    if term.factor_unit is not None:
        q = ureg.Quantity(1.0, model_unit or "dimensionless") * ureg.Quantity(term.factor, term.factor_unit)
        return conversion_factor(str(q.units), r.unit, r.mw) * float(q.magnitude)
    if term.reference is not None and is_dimensionless(model_unit):
        v, u = term.reference
        return term.factor * v * conversion_factor(u, r.unit, r.mw) * conversion_factor(model_unit, "dimensionless")
    return term.factor * conversion_factor(model_unit, r.unit, r.mw)


def integral_factor(r: Readout, term: Candidate, integral_unit: str, model_unit: str) -> float:
    """Factor from a running integral's change per hour (its unit / h) to the latent's unit."""
    try:
        return conversion_factor(f"({integral_unit or 'dimensionless'})/h", model_unit or "dimensionless")
    except ValueError:
        raise OpiaxisInputError(f"integral {term.integral!r} (unit {integral_unit!r}) is not the running integral "
                                f"of {term.name!r} (unit {model_unit!r}): its change per hour is not in "
                                f"{model_unit!r}", file=r.file, field=f"readouts.{r.name}.variable.integral") from None


# ----------------------------------------------------------------------------------------------
# noise and assay models (one patient, one read-out: x has shape (n_times,) or (n_times, k))

def apply_noise(x: np.ndarray, noise: Noise, rng: np.random.Generator) -> np.ndarray:
    z = rng.standard_normal((len(x), 2))
    if noise.model == "none":
        return x.copy()
    if noise.model == "gamma":   # mean-1 frailty of shape 1/cv² (negative binomial counts)
        k = 1.0 / noise.cv ** 2
        return x * rng.gamma(k, 1.0 / k, np.shape(x))
    if noise.model == "lognormal":
        s2 = math.log1p(noise.cv ** 2)
        return x * np.exp(math.sqrt(s2) * z[:, 0] - s2 / 2) + noise.sd * z[:, 1]
    return x + np.sqrt((noise.cv * x) ** 2 + noise.sd ** 2) * z[:, 0]


def observe_continuous(x, r: Readout, rng):
    """Values and censoring flags ('<LLOQ', '>ULOQ', '') for one patient."""
    y = np.maximum(apply_noise(x, r.noise, rng), 0.0)
    flag = np.full(len(y), "", dtype=object)
    limit = np.full(len(y), np.nan)
    if r.lloq is not None:
        lo = y < r.lloq
        flag[lo], limit[lo], y[lo] = "<LLOQ", r.lloq, np.nan
    if r.uloq is not None:
        hi = y > r.uloq
        flag[hi], limit[hi], y[hi] = ">ULOQ", r.uloq, np.nan
    return y, flag, limit


def observe_scale(x, r: Readout, rng):
    y = apply_noise(x, r.noise, rng)
    res = r.resolution or 1.0
    y = np.round(y / res) * res
    return np.clip(y, *r.bounds) + 0.0  # + 0.0 turns -0.0 into 0.0


def observe_binary(x, r: Readout, rng):
    y = np.maximum(apply_noise(x, r.noise, rng), 0.0)
    return (y >= r.cutoff).astype(float)


def observe_poisson(mu, r: Readout, rng):
    lam = np.maximum(apply_noise(mu, r.noise, rng), 0.0)
    return rng.poisson(lam).astype(float)


def observe_counts(X: np.ndarray, r: Readout, rng) -> np.ndarray:
    """16S-like counts for abundances X (times x taxa): depth ~ log-normal, then
    Dirichlet-multinomial with overdispersion θ (α = p·(1−θ)/θ; θ = 0 is multinomial)."""
    n_t, k = X.shape
    X = np.clip(np.nan_to_num(X, nan=0.0), 0.0, None)
    med, cv = r.depth
    s = math.sqrt(math.log1p(cv ** 2))
    depth = np.maximum(np.round(med * np.exp(s * rng.standard_normal(n_t))), 1).astype(np.int64)
    out = np.zeros((n_t, k))
    for t in range(n_t):
        tot = X[t].sum()
        if tot <= 0:
            continue
        p = X[t] / tot
        if r.overdispersion > 0:
            a = p * (1 - r.overdispersion) / r.overdispersion
            g = np.where(a > 0, rng.gamma(np.where(a > 0, a, 1.0)), 0.0)
            p = g / g.sum() if g.sum() > 0 else p
        out[t] = rng.multinomial(depth[t], p)
    return out


def diversity(counts: np.ndarray, metric: str) -> np.ndarray:
    tot = counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(tot > 0, counts / np.where(tot > 0, tot, 1), 0.0)
        if metric == "observed":
            return (counts > 0).sum(axis=1).astype(float)
        if metric == "simpson":
            return np.where(tot[:, 0] > 0, 1.0 - (p ** 2).sum(axis=1), np.nan)
        plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0.0)
        return np.where(tot[:, 0] > 0, -plogp.sum(axis=1), np.nan)
