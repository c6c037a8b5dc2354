"""Scale-out: a real local Dask cluster (scheduler and workers in separate processes) gives the
same results, value for value, as a single-process run with the same seed."""
import textwrap

import pandas as pd
import pytest

from opiaxis.errors import OpiaxisInputError
from opiaxis.study import connect_scheduler, load_study, run_study

distributed = pytest.importorskip("distributed")

STUDY = """\
name: dask-check
seed: 5
population:
  size: 16
schedule:
  duration: 2 d
  every: 3 h
arms:
  - name: a
    regimens: [buprenorphine 8 mg SL q24h for 2 d]
  - name: b
    regimens: [methadone 40 mg oral daily for 2 d]
outputs: [buprenorphine_plasma, methadone_plasma, mor_occupancy_central]
"""


def test_dask_cluster_matches_single_process(tmp_path, model):
    p = tmp_path / "s.yaml"
    p.write_text(textwrap.dedent(STUDY))
    s = load_study(p, model)
    run_study(s, model, tmp_path / "single", chunk_size=16)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        with distributed.Client(cluster) as client:
            res = run_study(s, model, tmp_path / "dask", chunk_size=3, client=client)
    finally:
        cluster.close()
    assert res.chunks > 2
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "single" / "results.parquet"),
                                  pd.read_parquet(tmp_path / "dask" / "results.parquet"))


def test_scheduler_that_does_not_answer():
    with pytest.raises(OpiaxisInputError, match="no Dask scheduler answers"):
        connect_scheduler("tcp://127.0.0.1:1")


def test_dask_workers_run_the_callers_model_not_the_default(tmp_path):
    """A custom model (pk and receptors only) reaches the workers: the Dask run's patients table
    has that model's parameters and every value matches the single-process run."""
    from opiaxis.models import build_model
    small = build_model(modules=["pk", "receptors"])
    p = tmp_path / "s.yaml"
    p.write_text(textwrap.dedent(STUDY))
    s = load_study(p, small)
    run_study(s, small, tmp_path / "single", chunk_size=16)
    with distributed.Client(distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                                     dashboard_address=None)) as client:
        run_study(s, small, tmp_path / "dask", chunk_size=5, client=client)
        client.cluster.close()
    single, dask = (pd.read_parquet(tmp_path / d / "patients.parquet") for d in ("single", "dask"))
    assert [c for c in dask.columns if c in small.param_index] == list(small.parameter_names)
    pd.testing.assert_frame_equal(single, dask)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "single" / "results.parquet"),
                                  pd.read_parquet(tmp_path / "dask" / "results.parquet"))
