"""Precision medicine: fit one patient's biomarkers, phenotype them, rank interventions.

* :mod:`.fit` — the patient file format, empirical-Bayes MAP with a Laplace approximation;
* :mod:`.recommend` — predicted outcomes per candidate intervention, phenotype / risk strata;
* :mod:`.stratify` — the same across a cohort.

See ``docs/precision-recovery.md`` for the format, the methods and the recovery study.
"""

from .fit import (FitResult, PatientData, Problem, Simulator, fit_patient, read_patients,  # noqa: F401
                  synthetic_table)
