"""The composed opiaxis model.

Which modules, which couplings, which read-outs — in that order:

1. ``pk``: every drug in the library (``data/drugs.yaml``) — compartments, routes, metabolites,
   effect sites. Exposes ``<drug>_plasma`` and ``<drug>_effect``.
2. ``receptors``: competitive binding of all ligands at central μ, κ, δ, NOP and enteric μ,
   consuming those concentrations. Exposes ``mor_occupancy_central``, ``mor_agonism_central``,
   ``mor_enteric_occupancy``, ``mor_enteric_agonism``, ``kor_agonism``, ``mor_availability_pet`` …

Later modules (adaptation, HPA, immune, gut, mood, …) join by consuming these interface
variables; nothing here needs to change when they do.
"""

from __future__ import annotations

from functools import lru_cache

from .model.core import Model, compose
from .physiology import pk, receptors
from .physiology.drugs import load_drugs


def build_model(drug_library: str | None = None) -> Model:
    drugs = load_drugs(drug_library)
    return compose([
        pk.build(drugs),
        receptors.build(drugs),
    ], name="opiaxis")


@lru_cache(maxsize=2)
def default_model() -> Model:
    return build_model()
