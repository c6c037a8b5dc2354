"""``opiaxis sensitivity``: global sensitivity analysis (Morris, Sobol') of an outcome under a
regimen (registered on the main app by :mod:`opiaxis.cli`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import OpiaxisError
from .common import console, fail, progress_bar


def register(app: typer.Typer) -> None:

    @app.command("sensitivity")
    def sensitivity(outcome: str = typer.Option("ventilation_rel:min", "--outcome", "-y",
                                                help="variable:statistic (max, min, mean, final, auc, 'at 72 h')"),
                    regimen: Optional[list[str]] = typer.Option(None, "--regimen", "-r",
                                                                help="regimen shorthand (repeatable)"),
                    horizon: str = typer.Option("3 d", help="simulated time, e.g. '3 d', '12 weeks'"),
                    method: str = typer.Option("morris", help="morris (screening) or sobol (indices with CIs)"),
                    n: Optional[int] = typer.Option(None, "--n", help="Morris trajectories (10) or Sobol' base samples (256)"),
                    parameter: Optional[list[str]] = typer.Option(None, "--parameter", "-p",
                                                                  help="factors (repeatable; default: all that vary)"),
                    module: Optional[list[str]] = typer.Option(None, "--module", "-m", help="only factors of these modules"),
                    every: str = typer.Option("1 h", help="read-out interval"),
                    seed: int = typer.Option(0, help="sampling seed"),
                    rtol: float = typer.Option(1e-5, help="solver relative tolerance"),
                    out: Path = typer.Option(Path("opiaxis-sensitivity"), "--out", "-o", help="output directory"),
                    scheduler: Optional[str] = typer.Option(None, help="run on Dask: a scheduler address or 'local'")):
        """Which parameters drive an outcome: Morris screening or Sobol' indices over the model's
        declared between-patient distributions. Writes indices.csv, runs.parquet and indices.png."""
        try:
            import numpy as np
            import pandas as pd

            from ..models import default_model
            from ..sensitivity import analyse, plot
            from ..errors import OpiaxisInputError
            model = default_model()
            regimens = list(regimen) if regimen is not None else ["fentanyl 100 ug IV once at 24 h"]
            if out.exists() and not out.is_dir():
                raise OpiaxisInputError(f"{out} is a file; expected a directory for the results", field="--out")
            from ..study import dask_client
            with dask_client(scheduler) as client, progress_bar() as prog:
                task = prog.add_task("simulating (first run compiles the model)", total=None)
                res = analyse(model, outcome=outcome, regimens=regimens, horizon=horizon, method=method, n=n,
                              parameters=list(parameter) if parameter else None,
                              modules=list(module) if module else None, every=every, seed=seed, rtol=rtol,
                              client=client, progress=lambda k, total: prog.update(task, total=total, completed=k,
                                                                                  description="simulating"))
            out.mkdir(parents=True, exist_ok=True)
            res.indices.to_csv(out / "indices.csv", index=False)
            pd.DataFrame({"run": np.arange(res.runs), res.outcome.label: res.outcome_values}).to_parquet(out / "runs.parquet")
            plot(res, out / "indices.png")
            console.print(res.summary(), highlight=False)
            console.print(res.indices.head(12).to_string(index=False, float_format=lambda v: f"{v:.4g}"), highlight=False)
            console.print(f"wrote {out / 'indices.csv'}, {out / 'runs.parquet'}, {out / 'indices.png'}")
        except OpiaxisError as exc:
            fail(exc)
