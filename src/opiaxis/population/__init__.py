"""Virtual patients: between-patient variability on the parameters that declare it.

Reproducibility: each patient's random numbers come from its own stream,
:meth:`opiaxis.streams.Streams.named_normals`, a function of ``(seed, purpose, patient id, parameter
name)``. A patient's parameters are therefore the same whatever the cohort size, the batch or
chunk it falls in, the number of workers, and whatever other parameters the model has (a new
module does not re-draw the population).
"""

from __future__ import annotations

import numpy as np

from ..checks import parameter_value
from ..errors import OpiaxisInputError
from ..model.core import Model
from ..streams import Purpose, Streams


def sample_parameters(model: Model, ids, seed: int, *, overrides: dict[str, float] | None = None,
                      variability: bool = True) -> np.ndarray:
    """Parameter matrix (patients x parameters): typical values, then between-patient variability.

    ``overrides`` sets typical values by name before variability is applied. Each draw is keyed
    by the patient and the parameter's name. The parameters of parameter-only modules (the
    behaviour layer's, :meth:`~opiaxis.model.core.Model.external_parameters`) keep their typical values.
    """
    ids = np.asarray(ids)
    P = np.tile(model.default_parameters(), (len(ids), 1))
    for name, value in (overrides or {}).items():
        if name not in model.param_index:
            raise OpiaxisInputError(f"unknown parameter {name!r}", field="parameters")
        P[:, model.param_index[name]] = parameter_value(model, name, value, field=f"overrides.{name}")
    if not variability:
        return P
    # the behaviour layer's parameters keep their typical values (it draws its own, stream
    # BEHAVIOUR_TRAITS); every draw is keyed by name, so leaving them out moves no other draw
    external = model.external_parameters()
    var = [(model.param_index[p.name], p) for p in model.parameters
           if p.variability is not None and p.name not in external]
    if not var:
        return P
    Z = Streams(seed).named_normals(ids, Purpose.PARAMETERS, [p.name for _, p in var])
    for col, (j, p) in enumerate(var):
        P[:, j] = p.at_z(P[:, j], Z[:, col])
    return P


def virtual_cohort(model: Model, ids, seed: int, *, overrides: dict[str, float] | None = None,
                   variability: bool = True, covariates: dict | None = None):
    """Parameter matrix and covariate table of a virtual cohort: typical values (with
    ``overrides``), between-patient variability, sampled covariates (validated specs from
    :func:`opiaxis.population.covariates.covariate_specs`; default margins if None) and their
    effects. Parameters and covariates come from separate per-patient streams."""
    from .covariates import apply_covariates, sample_covariates
    ids = np.asarray(ids)
    P = sample_parameters(model, ids, seed, overrides=overrides, variability=variability)
    cov = sample_covariates(ids, seed, covariates or None)
    return apply_covariates(model, P, cov), cov
