"""Interoperability: SBML export (checked against libRoadRunner), PEtab problems and
NONMEM-style datasets.

* :func:`opiaxis.interop.sbml.to_sbml` — a composed model (and optionally one patient's
  parameters and doses, as SBML events) as SBML Level 3 Version 2;
* :mod:`opiaxis.interop.nonmem` — read NONMEM datasets into event and observation tables,
  simulate them and write simulated datasets in the same format;
* :mod:`opiaxis.interop.petab` — a PEtab v1 problem for a study's measurements.

The submodules import libSBML lazily; nothing here is needed by the engine.
"""

from __future__ import annotations

__all__ = ["sbml", "nonmem", "petab"]
