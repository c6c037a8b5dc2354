"""The drug library: PK and receptor pharmacology of every drug, as data.

``data/drugs.yaml`` holds one entry per drug; every number carries its unit and source (see the
header of that file for the schema). This module loads it, converts every quantity to the
model's units (hours, litres, mg, ng/mL) with pint and validates it, so the PK and receptor
modules are generated from data rather than written drug by drug.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from ..errors import OpiaxisInputError
from ..model.units import ureg

ROUTES = ("iv", "im", "sc", "oral", "oral_er", "sl", "intranasal", "smoked", "transdermal", "xr_im")
SITES = ("mu", "kappa", "delta", "nop")


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str
    source: str
    cv: float | None = None


@dataclass
class Route:
    name: str
    bioavailability: Quantity | None = None
    ka: Quantity | None = None
    lag: Quantity | None = None
    dose_exponent: Quantity | None = None
    reference_dose: Quantity | None = None
    first_pass: list[tuple[str, Quantity]] = field(default_factory=list)  # (metabolite, fraction of the non-bioavailable dose)

    @property
    def absorbed(self) -> bool:
        return self.ka is not None


@dataclass
class Binding:
    site: str
    kind: str  # equilibrium | kinetic
    hill: Quantity
    efficacy: Quantity
    affinity: Quantity | None = None  # ng/mL
    kon: Quantity | None = None       # 1/h/(ng/mL)^hill
    koff: Quantity | None = None      # 1/h
    antagonism: str = "competitive"   # or "noncompetitive" (insurmountable: not displaced by agonists)
    antagonism_source: str = ""
    tau: Quantity | None = None       # operational-model transducer ratio (Black & Leff 1983); None: 1
    enteric_affinity: Quantity | None = None  # ng/mL: functional constant at the enteric site; None: the site's own
    respiratory_kon: Quantity | None = None   # 1/h/(ng/mL)^hill: in-vivo kinetics at the respiratory μ site; None: central
    respiratory_koff: Quantity | None = None  # 1/h

    def dissociation_constant(self) -> float:
        """Concentration (ng/mL) at 50% occupancy alone at equilibrium."""
        if self.kind == "equilibrium":
            return self.affinity.value
        return (self.koff.value / self.kon.value) ** (1.0 / self.hill.value)

    def enteric_dissociation_constant(self) -> float:
        """Constant (ng/mL, against plasma) at the enteric site: ``enteric_affinity`` where the library
        gives the functional enteric potency of an agonist (a binding Ki from an agonist radioligand
        overstates it), otherwise the site's own constant."""
        return self.enteric_affinity.value if self.enteric_affinity is not None else self.dissociation_constant()

    def respiratory_dissociation_constant(self) -> float | None:
        """Constant (ng/mL, against the effect-site concentration) at the respiratory μ site where the
        library gives in-vivo binding kinetics fitted to ventilation (``respiratory``); None: the
        central constant applies."""
        if self.respiratory_kon is None:
            return None
        return (self.respiratory_koff.value / self.respiratory_kon.value) ** (1.0 / self.hill.value)


@dataclass
class Drug:
    name: str
    description: str
    mw: Quantity
    brain_entry: bool
    central_volume: Quantity
    clearance: Quantity
    peripherals: list[tuple[Quantity, Quantity]] = field(default_factory=list)  # (volume, flow)
    ke0: Quantity | None = None
    metabolites: list[tuple[str, Quantity]] = field(default_factory=list)
    routes: dict[str, Route] = field(default_factory=dict)
    receptors: dict[str, Binding] = field(default_factory=dict)
    iu_per_mg: Quantity | None = None
    brain_penetration: Quantity = field(default_factory=lambda: DEFAULT_KP_UU)

    def central_dissociation_constant(self, site: str) -> float:
        """Dissociation constant against the effect-site (plasma-equivalent) concentration: the site's
        own constant divided by the unbound brain-to-plasma ratio Kp,uu (a drug kept out of the brain
        needs a higher plasma-equivalent concentration to occupy the same fraction of receptors)."""
        return self.receptors[site].dissociation_constant() / self.brain_penetration.value


DEFAULT_KP_UU = Quantity(1.0, "dimensionless",
                         "assumed: passive blood-brain barrier equilibrium (unbound brain = unbound plasma) where "
                         "no efflux or active influx is reported")


# canonical units of each field
_CANON = {"mw": "g/mol", "central_volume": "L", "clearance": "L/h", "volume": "L", "flow": "L/h",
          "ke0": "1/h", "fraction": "dimensionless", "bioavailability": "dimensionless", "ka": "1/h",
          "lag": "h", "dose_exponent": "dimensionless", "reference_dose": "mg", "affinity": "ng/mL", "enteric_affinity": "ng/mL",
          "hill": "dimensionless", "efficacy": "dimensionless", "koff": "1/h", "iu_per_mg": "IU/mg",
          "brain_penetration": "dimensionless", "tau": "dimensionless"}


def _q(node, path: str, canon: str | None, file: str) -> Quantity:
    if not isinstance(node, dict) or not {"value", "unit", "source"} <= set(node):
        raise OpiaxisInputError("expected a mapping with value, unit and source", file=file, field=path)
    try:
        value = float(node["value"])
    except (TypeError, ValueError):
        raise OpiaxisInputError(f"value {node['value']!r} is not a number", file=file, field=path) from None
    src = str(node["source"]).strip()
    if not src:
        raise OpiaxisInputError("empty source: give a citation or 'assumed: why'", file=file, field=path)
    cv = node.get("cv")
    if cv is not None and (not isinstance(cv, (int, float)) or cv < 0):
        raise OpiaxisInputError(f"cv must be a number >= 0, got {cv!r}", file=file, field=path)
    unit = str(node["unit"])
    if canon is not None:
        try:
            value = float(ureg.Quantity(value, ureg.parse_units(unit) if unit not in ("dimensionless", "1") else ureg.dimensionless).to(canon).magnitude)
        except Exception as exc:
            raise OpiaxisInputError(f"unit {unit!r} cannot be converted to {canon}: {exc}", file=file, field=path) from None
        unit = canon
    return Quantity(value, unit, src, None if cv is None else float(cv))


def _kon_unit(hill: float) -> str:
    return f"1/h/(ng/mL)**{hill:g}" if hill != 1 else "1/h/(ng/mL)"


def _tau(q, b: dict, path: str, bind: Binding, file: str) -> Quantity | None:
    """The optional operational-model transducer ratio τ of a binding (central μ site): > 0, for an
    agonist; a full agonist's τ needs equilibrium binding (its affinity is then the apparent,
    potency constant and the binding constant is τ times it)."""
    if b.get("tau") is None:
        return None
    tau = q("tau", b.get("tau"), f"{path}.tau")
    if not tau.value > 0 or bind.efficacy.value == 0.0:
        raise OpiaxisInputError(f"tau must be > 0 and belongs to an agonist (efficacy > 0), got tau {tau.value} "
                                f"with efficacy {bind.efficacy.value}", file=file, field=f"{path}.tau")
    if bind.efficacy.value == 1.0 and bind.kind != "equilibrium":
        raise OpiaxisInputError("tau of a full agonist needs equilibrium binding (its affinity is the apparent "
                                "potency constant, the binding constant is tau times it)", file=file, field=f"{path}.tau")
    return tau


def _respiratory(r, path: str, site: str, bind: Binding, file: str) -> None:
    """The optional in-vivo binding kinetics at the respiratory μ site (brainstem respiratory network),
    where ventilation data give a ligand's kon and koff apart from the central (PET or analgesia)
    constants: a kinetic μ binding only, with both rates > 0."""
    if site != "mu" or bind.kind != "kinetic" or not isinstance(r, dict) or set(r) != {"kon", "koff"}:
        raise OpiaxisInputError("respiratory binding takes exactly kon and koff, on a kinetic mu binding",
                                file=file, field=path)
    bind.respiratory_kon = _q(r["kon"], f"{path}.kon", _kon_unit(bind.hill.value), file)
    bind.respiratory_koff = _q(r["koff"], f"{path}.koff", "1/h", file)
    for key, qq in (("kon", bind.respiratory_kon), ("koff", bind.respiratory_koff)):
        if not qq.value > 0:
            raise OpiaxisInputError(f"{key} must be > 0, got {qq.value}", file=file, field=f"{path}.{key}")


def _parse_drug(name: str, d: dict, file: str) -> Drug:
    def q(key, node=None, path=None, canon="auto"):
        node = d.get(key) if node is None else node
        path = path or f"{name}.{key}"
        c = _CANON.get(key.split(".")[-1]) if canon == "auto" else canon
        return _q(node, path, c, file)

    for req in ("mw", "central_volume", "clearance"):
        if req not in d:
            raise OpiaxisInputError(f"missing required field {req!r}", file=file, field=f"{name}.{req}")
    drug = Drug(name=name, description=str(d.get("description", "")), mw=q("mw"),
                brain_entry=bool(d.get("brain_entry", True)), central_volume=q("central_volume"),
                clearance=q("clearance"))
    for k, per in enumerate(d.get("peripherals") or []):
        drug.peripherals.append((q("volume", per.get("volume"), f"{name}.peripherals[{k}].volume"),
                                 q("flow", per.get("flow"), f"{name}.peripherals[{k}].flow")))
    if len(drug.peripherals) > 2:
        raise OpiaxisInputError("at most two peripheral compartments", file=file, field=f"{name}.peripherals")
    if d.get("ke0") is not None:
        drug.ke0 = q("ke0")
    for k, met in enumerate(d.get("metabolites") or []):
        drug.metabolites.append((str(met["drug"]), q("fraction", met.get("fraction"), f"{name}.metabolites[{k}].fraction")))
    for rname, r in (d.get("routes") or {}).items():
        if rname not in ROUTES:
            raise OpiaxisInputError(f"unknown route {rname!r}; expected one of {', '.join(ROUTES)}", file=file, field=f"{name}.routes")
        r = r or {}
        route = Route(rname)
        for key in ("bioavailability", "ka", "lag", "dose_exponent", "reference_dose"):
            if r.get(key) is not None:
                setattr(route, key, q(key, r[key], f"{name}.routes.{rname}.{key}"))
        for k, fp in enumerate(r.get("first_pass") or []):
            if not isinstance(fp, dict) or "drug" not in fp:
                raise OpiaxisInputError("expected {drug: <metabolite>, fraction: {...}}", file=file,
                                        field=f"{name}.routes.{rname}.first_pass[{k}]")
            route.first_pass.append((str(fp["drug"]), q("fraction", fp.get("fraction"), f"{name}.routes.{rname}.first_pass[{k}].fraction")))
        if route.first_pass and (route.bioavailability is None or route.dose_exponent is not None):
            raise OpiaxisInputError("first-pass metabolism needs a bioavailability and no dose exponent",
                                    file=file, field=f"{name}.routes.{rname}.first_pass")
        if rname != "iv" and route.ka is None:
            raise OpiaxisInputError("an extravascular route needs an absorption rate ka", file=file, field=f"{name}.routes.{rname}")
        if (route.dose_exponent is None) != (route.reference_dose is None):
            raise OpiaxisInputError("dose_exponent and reference_dose go together", file=file, field=f"{name}.routes.{rname}")
        drug.routes[rname] = route
    for site, b in (d.get("receptors") or {}).items():
        if site not in SITES:
            raise OpiaxisInputError(f"unknown receptor site {site!r}; expected one of {', '.join(SITES)}", file=file, field=f"{name}.receptors")
        path = f"{name}.receptors.{site}"
        kind = b.get("binding", "equilibrium")
        hill = q("hill", b.get("hill", {"value": 1, "unit": "dimensionless", "source": "assumed: simple mass action"}), f"{path}.hill")
        eff = q("efficacy", b.get("efficacy"), f"{path}.efficacy")
        if not 0.0 <= eff.value <= 1.0:
            raise OpiaxisInputError(f"efficacy {eff.value} outside [0, 1]", file=file, field=f"{path}.efficacy")
        antagonism = str(b.get("antagonism", "competitive"))
        if antagonism not in ("competitive", "noncompetitive"):
            raise OpiaxisInputError(f"antagonism must be 'competitive' or 'noncompetitive', got {antagonism!r}",
                                    file=file, field=f"{path}.antagonism")
        if antagonism == "noncompetitive" and (kind != "equilibrium" or eff.value != 0.0
                                               or not str(b.get("antagonism_source", "")).strip()):
            raise OpiaxisInputError("noncompetitive antagonism needs equilibrium binding, efficacy 0 and an "
                                    "antagonism_source", file=file, field=f"{path}.antagonism")
        if kind == "equilibrium":
            bind = Binding(site, kind, hill, eff, affinity=q("affinity", b.get("affinity"), f"{path}.affinity"),
                           antagonism=antagonism, antagonism_source=str(b.get("antagonism_source", "")).strip())
        elif kind == "kinetic":
            kon = _q(b.get("kon"), f"{path}.kon", _kon_unit(hill.value), file)
            bind = Binding(site, kind, hill, eff, kon=kon, koff=q("koff", b.get("koff"), f"{path}.koff"))
        else:
            raise OpiaxisInputError(f"binding must be 'equilibrium' or 'kinetic', got {kind!r}", file=file, field=f"{path}.binding")
        bind.tau = _tau(q, b, path, bind, file)
        if b.get("enteric_affinity") is not None:
            bind.enteric_affinity = q("enteric_affinity", b["enteric_affinity"], f"{path}.enteric_affinity")
            if not bind.enteric_affinity.value > 0:
                raise OpiaxisInputError(f"enteric_affinity must be > 0 ng/mL, got {bind.enteric_affinity.value}",
                                        file=file, field=f"{path}.enteric_affinity")
        if b.get("respiratory") is not None:
            _respiratory(b["respiratory"], f"{path}.respiratory", site, bind, file)
        drug.receptors[site] = bind
    if d.get("iu_per_mg") is not None:
        drug.iu_per_mg = q("iu_per_mg")
    if d.get("brain_penetration") is not None:
        drug.brain_penetration = q("brain_penetration")
        if not drug.brain_penetration.value > 0:
            raise OpiaxisInputError(f"brain_penetration (Kp,uu) must be > 0, got {drug.brain_penetration.value}",
                                    file=file, field=f"{name}.brain_penetration")
    return drug


def load_drugs(path: str | Path | None = None) -> dict[str, Drug]:
    """Load and validate a drug library (default: the one shipped with opiaxis)."""
    if path is None:
        return dict(_default_library())
    return _load(Path(path))


def _load(path: Path) -> dict[str, Drug]:
    file = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise OpiaxisInputError(f"not valid YAML: {exc}", file=file) from None
    if not isinstance(raw, dict):
        raise OpiaxisInputError("expected a mapping of drug names to entries", file=file)
    drugs = {name: _parse_drug(name, d or {}, file) for name, d in raw.items()}
    for dname, drug in drugs.items():
        for met, _ in drug.metabolites + [fp for r in drug.routes.values() for fp in r.first_pass]:
            if met not in drugs:
                raise OpiaxisInputError(f"metabolite {met!r} is not a drug in the library", file=file, field=f"{dname}.metabolites")
        for r in drug.routes.values():
            if sum(f.value for _, f in r.first_pass) > 1.0 + 1e-9:
                raise OpiaxisInputError("first-pass fractions add up to more than 1", file=file,
                                        field=f"{dname}.routes.{r.name}.first_pass")
        if sum(f.value for _, f in drug.metabolites) > 1.0 + 1e-9:
            raise OpiaxisInputError("metabolite fractions add up to more than 1", file=file, field=f"{dname}.metabolites")
    return drugs


@lru_cache(maxsize=1)
def _default_library() -> dict[str, Drug]:
    with resources.as_file(resources.files("opiaxis") / "data" / "drugs.yaml") as p:
        return _load(Path(p))
