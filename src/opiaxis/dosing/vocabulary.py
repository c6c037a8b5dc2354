"""The dosing vocabulary a model offers: which drugs by which routes, and mg per IU.

Both come from the composed model (its dosing compartments ``<drug>.<route>`` and its
``<drug>_iu_per_mg`` parameters), so a custom model doses exactly the drugs it has.
"""

from __future__ import annotations

from typing import Any


def drug_routes(model: Any) -> dict[str, set[str]]:
    """``{drug: {route, ...}}`` from the model's dosing compartments."""
    routes: dict[str, set[str]] = {}
    for name in model.dose_targets:
        d, r = name.split(".", 1)
        routes.setdefault(d, set()).add(r)
    return routes


def iu_factors(model: Any) -> dict[str, float]:
    """mg per IU for drugs dosed in international units (from their ``<drug>_iu_per_mg``)."""
    out = {}
    for p in model.parameters:
        if p.name.endswith("_iu_per_mg"):
            out[p.name[: -len("_iu_per_mg")]] = 1.0 / p.value
    return out
