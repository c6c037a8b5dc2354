"""Studies: a YAML file declares a virtual cohort, its arms and doses, the read-out schedule,
measurements and endpoints (``kind: study``, :mod:`.spec`) — or a behaviour trial
(``kind: behaviour-trial``, :mod:`.trial`). The pipeline is typed from end to end::

    load_spec(path) ─► StudySpec ─► RunPlan.make ─► executor.run(plan, model) ─► StudyRun ─► report
                    └► TrialSpec ─► run_trial ──────────────────────────────────► TrialRun ─► report

:func:`run_spec` runs either kind; :func:`opiaxis.report.render` writes either report.
"""

from .execute import ChunkResult, DaskExecutor, SerialExecutor, connect_scheduler, dask_client, simulate_chunk
from .kinds import load_spec, run_spec
from .plan import Chunk, RunPlan, arm_doses, assign_arms, check_arms, check_resources, regimen_doses
from .runner import IN_MEMORY_ROWS, StudyRun, run_study
from .spec import Arm, StudySpec, Study, load_study, parse_study
from .store import run_key

__all__ = ["Arm", "Chunk", "ChunkResult", "DaskExecutor", "IN_MEMORY_ROWS", "RunPlan", "SerialExecutor", "Study",
           "StudyRun", "StudySpec", "arm_doses", "assign_arms", "check_arms", "check_resources",
           "connect_scheduler", "dask_client", "load_spec", "load_study", "parse_study", "regimen_doses", "run_key",
           "run_spec", "run_study", "simulate_chunk"]
