"""The composed opiaxis model.

Which modules, which couplings, which read-outs — in that order:

1. ``pk``: every drug in the library (``data/drugs.yaml``) — compartments, routes, metabolites,
   effect sites. Exposes ``<drug>_plasma`` and ``<drug>_effect``.
2. ``receptors``: competitive binding of all ligands at central μ, κ, δ, NOP and enteric μ,
   consuming those concentrations. Exposes ``mor_occupancy_central``, ``mor_agonism_central``,
   ``mor_enteric_occupancy``, ``mor_enteric_agonism``, ``kor_agonism``, ``mor_availability_pet`` …
3. then the physiology that consumes them, each in its own file under ``physiology/`` with a
   ``build(drugs)`` function, in the order of :data:`MODULES`: counter-adaptation (tolerance,
   withdrawal), respiration (CO2 chemoreflex, breathing tolerance), HPA axis, peripheral immunity, glia, pain, white matter, gut. A module joins the
   model by existing; modules couple only through named interface variables, so none of the
   others changes when one is added.
4. ``behaviour``: the stochastic behaviour layer's parameters (``behaviour/params.py``) as a
   parameter-only module — no equation uses them; they are model parameters so that they are
   documented, exported (SBML, PEtab) and injected like every other parameter.
"""

from __future__ import annotations

import importlib
import importlib.util
from functools import lru_cache

from .model.core import Model, compose
from .physiology.drugs import load_drugs

MODULES = ("pk", "receptors", "adaptation", "respiration", "hpa", "immune", "glia", "pain", "white_matter", "gut",
           "endogenous", "mood", "reward", "oxytocin")
#: the parameter-only module of the behaviour layer's parameters (declared in behaviour/params.py)
BEHAVIOUR = "behaviour"
KNOWN = MODULES + (BEHAVIOUR,)


#: modules that need others to be meaningful: without them the drug path would be missing and
#: the module would run on constant input defaults (no drug effect at all), a silent wrong answer
REQUIRES = {
    "receptors": ("pk",), "immune": ("pk",), "glia": ("pk",), "oxytocin": ("pk",),
    **{m: ("pk", "receptors") for m in ("adaptation", "hpa", "pain", "gut", "endogenous", "mood", "reward")},
    "respiration": ("pk", "receptors", "adaptation"),
}


def check_modules(names: list[str], field: str) -> list[str]:
    """A user's module list (``--modules``, ``OPIAXIS_MODULES``): known names, with what each needs."""
    from .errors import OpiaxisInputError
    if not names:
        raise OpiaxisInputError(f"no modules given; expected a comma-separated list such as pk,receptors "
                                f"(known: {', '.join(KNOWN)})", field=field)
    unknown = [m for m in names if m not in KNOWN]
    if unknown:
        import difflib
        hints = [h for u in unknown for h in difflib.get_close_matches(u, KNOWN, n=1)]
        raise OpiaxisInputError(f"unknown module(s) {', '.join(unknown)}"
                                + (f" (did you mean {', '.join(hints)}?)" if hints else "")
                                + f"; known: {', '.join(KNOWN)}", field=field)
    missing = [f"{m} needs {', '.join(r for r in REQUIRES.get(m, ()) if r not in names)}"
               for m in names if any(r not in names for r in REQUIRES.get(m, ()))]
    if missing:
        raise OpiaxisInputError("; ".join(missing) + " (the drug path: pk gives drug concentrations, receptors "
                                "their occupancy); add them to the list", field=field)
    return list(dict.fromkeys(names))


def available_modules() -> list[str]:
    """The modules to compose: those of :data:`MODULES` that exist and the behaviour parameters, or
    the comma-separated list in the environment variable ``OPIAXIS_MODULES`` (e.g. ``pk,receptors``;
    ``behaviour`` adds the behaviour parameters) when it is set."""
    import os
    chosen = os.environ.get("OPIAXIS_MODULES")
    if chosen:
        return check_modules([m.strip() for m in chosen.split(",") if m.strip()], "OPIAXIS_MODULES")
    return [m for m in MODULES if importlib.util.find_spec(f"opiaxis.physiology.{m}") is not None] + [BEHAVIOUR]


def build_module(name: str, drugs):
    """One module of the composition: a physiology module's ``build(drugs)``, or the behaviour
    layer's parameter-only module."""
    if name == BEHAVIOUR:
        from .behaviour.params import module
        return module()
    return importlib.import_module(f"opiaxis.physiology.{name}").build(drugs)


def build_model(drug_library: str | None = None, modules: list[str] | None = None) -> Model:
    """Compose the model from the drug library and the modules (default: all present, see
    :func:`available_modules`)."""
    drugs = load_drugs(drug_library)
    names = modules or available_modules()
    return compose([build_module(m, drugs) for m in names], name="opiaxis")


@lru_cache(maxsize=2)
def default_model() -> Model:
    return build_model()
