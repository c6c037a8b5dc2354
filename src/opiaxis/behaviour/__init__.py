"""behaviour — the patient's own opioid use as a stochastic process over the ODE model, treatment
(detox, methadone, buprenorphine-naloxone, XR-naltrexone, prescribed opioids), overdose, naloxone
rescue and death; and the simulated trials behind the behaviour targets (see ``engine`` and
``trials``)."""

from .engine import CohortSim, Evaluator, Record, behaviour_model, behaviour_values, make_cohort, run_in, runs  # noqa: F401
from .params import PARAMS  # noqa: F401  (the declarations; a simulation reads its model's values)
from .treatments import Medication, Taper, Titration, Treatment, default_treatments  # noqa: F401
