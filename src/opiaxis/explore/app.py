"""The explorer's web app: a JSON API and one page (see :mod:`opiaxis.explore`)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import OpiaxisError, OpiaxisInputError

# what the page shows, by panel: (title, variables); exposure adds each dosed drug's plasma level
PANELS = [
    ("Exposure and μ receptors", ["mor_occupancy_central"]),
    ("Withdrawal and breathing", ["cows_score", "ventilation_rel"]),
    ("Stress axis", ["cortisol_plasma", "acth_plasma"]),
    ("Inflammation", ["il6_plasma", "tnf_plasma", "crp_plasma"]),
    ("Pain", ["pain_nrs"]),
    ("Gut and microbiota", ["sbm_rate", "rel_butyrate_producers", "rel_enterobacteriaceae", "rel_bifidobacteria"]),
    ("Mood", ["madrs", "phq9"]),
    ("Reward and oxytocin", ["craving", "oxytocin_plasma"]),
]
PHENOTYPES = ["chronic_pain", "oprm1_g_carrier", "early_life_adversity", "depression_history", "fentanyl_supply",
              "sex_male", "cancer"]
EXAMPLE_REGIMENS = [
    "buprenorphine 16 mg SL q24h for 14 d",
    "methadone 60 mg oral daily for 14 d",
    "heroin 25 mg IV q6h for 7 d",
    "naltrexone 380 mg XR-IM once",
    "fentanyl 25 ug/h TD q72h for 12 d",
    "oxycodone 20 mg oral q12h for 14 d",
]
LIMITS = {"arms": 4, "size": 400, "horizon_days": 365, "points": 6000}
_STATIC = Path(__file__).with_name("static")


def _plotly_js() -> Path:
    import plotly
    return Path(plotly.__file__).with_name("package_data") / "plotly.min.js"


def _trial_examples() -> list[str]:
    """Behaviour-trial files in examples/ of the checkout the package runs from, or of the
    current directory (an installed package ships none)."""
    out = []
    for folder in (Path(__file__).resolve().parents[3] / "examples", Path.cwd() / "examples"):
        for p in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            try:
                if "behaviour-trial" in p.read_text(encoding="utf-8") and str(p) not in out:
                    out.append(str(p))
            except OSError:
                continue
    return out


def read_fitted_patient(path: str | Path, model) -> dict[str, float]:
    """The individual estimates of ``opiaxis fit``'s parameters.csv (columns parameter, estimate)."""
    p = Path(path)
    try:
        t = pd.read_csv(p)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise OpiaxisInputError(f"cannot read the fitted patient ({exc}); expected opiaxis fit's parameters.csv",
                                file=str(p)) from None
    missing = {"parameter", "estimate"} - set(t.columns)
    if missing:
        raise OpiaxisInputError(f"missing column(s) {', '.join(sorted(missing))}; expected opiaxis fit's parameters.csv "
                                "(parameter, estimate, …)", file=str(p))
    unknown = [n for n in t["parameter"] if n not in model.param_index]
    if unknown:
        raise OpiaxisInputError(f"parameter(s) {', '.join(map(str, unknown[:5]))} are not in the model", file=str(p),
                                field="parameter")
    values = pd.to_numeric(t["estimate"], errors="coerce")
    if values.isna().any() or not np.isfinite(values).all():
        row = int(np.flatnonzero(values.isna() | ~np.isfinite(values))[0]) + 2
        raise OpiaxisInputError("estimate must be a finite number", file=str(p), line=row, field="estimate")
    from ..checks import parameter_value
    return {str(n): parameter_value(model, str(n), float(v), file=str(p), line=k + 2, field="estimate")
            for k, (n, v) in enumerate(zip(t["parameter"], values))}


class _Context:
    def __init__(self, model, patient_file: str | None, workers: int):
        from ..dosing import drug_routes
        from .jobs import JobManager
        self.model = model
        self.routes = drug_routes(model)
        self.patient = read_fitted_patient(patient_file, model) if patient_file else None
        self.patient_file = patient_file
        self.jobs = JobManager(workers)


def check_regimen(model, routes, text: str) -> dict:
    from ..dosing import EventTable, iu_factors
    try:
        rows = EventTable.from_texts(text, drugs=routes, unit_factors=iu_factors(model)).frame
    except OpiaxisInputError as exc:
        return {"ok": False, "message": str(exc)}
    drugs = sorted({str(c).split(".")[0] for c in rows["CMT"]})
    n = int(rows.get("ADDL", pd.Series(0, index=rows.index)).fillna(0).sum() + len(rows))
    return {"ok": True, "message": f"{n} dose(s) of {', '.join(drugs)}", "drugs": drugs}


def build_spec(ctx: _Context, body: dict) -> dict:
    """Validate a run request and turn it into the worker's spec (arms, population, outputs)."""
    def bad(msg, field):
        raise OpiaxisInputError(msg, field=field)
    arms = body.get("arms") or []
    if not isinstance(arms, list) or not 1 <= len(arms) <= LIMITS["arms"]:
        bad(f"give 1 to {LIMITS['arms']} regimens to compare", "arms")
    names, drugs, clean = set(), set(), []
    for k, a in enumerate(arms):
        name = str(a.get("name") or f"regimen {k + 1}").strip()[:60]
        if name in names:
            bad(f"two regimens are called {name!r}", f"arms[{k}].name")
        names.add(name)
        lines = [ln.strip() for ln in (a.get("regimens") or []) if str(ln).strip()]
        for j, ln in enumerate(lines):
            chk = check_regimen(ctx.model, ctx.routes, ln)
            if not chk["ok"]:
                bad(f"{name}, line {j + 1}: {chk['message']}", f"arms[{k}].regimens[{j}]")
            drugs.update(chk["drugs"])
        clean.append({"name": name, "regimens": lines})
    pop = body.get("population") or {}
    kind = pop.get("kind", "population")
    if kind not in ("population", "phenotype", "patient"):
        bad(f"unknown population kind {kind!r}; expected population, phenotype or patient", "population.kind")
    size = pop.get("size", 40)
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= LIMITS["size"]:
        bad(f"population size must be a whole number from 1 to {LIMITS['size']}", "population.size")
    covariates = {}
    if kind == "phenotype":
        for name, value in (pop.get("covariates") or {}).items():
            if name not in PHENOTYPES:
                bad(f"unknown phenotype {name!r}; expected one of {', '.join(PHENOTYPES)}", f"population.covariates.{name}")
            if value not in (0, 1, True, False):
                bad("a phenotype is 1 (everyone has it) or 0 (no one has it)", f"population.covariates.{name}")
            covariates[name] = {"p": float(value)}
    spec_pop = {"kind": kind, "size": size, "covariates": covariates}
    if kind == "patient":
        if ctx.patient is None:
            bad("no fitted patient loaded; start the explorer with --patient opiaxis-fit/parameters.csv",
                "population.kind")
        spec_pop.update(size=1, parameters=ctx.patient)
    horizon_days = body.get("horizon_days", 14)
    every_h = body.get("every_h", 1.0)
    for v, f, hi in ((horizon_days, "horizon_days", LIMITS["horizon_days"]), (every_h, "every_h", 24 * 7)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or not 0 < v <= hi:
            bad(f"{f} must be a number above 0 and at most {hi}", f)
    if horizon_days * 24 / every_h > LIMITS["points"]:
        bad(f"{horizon_days} days every {every_h} h is more than {LIMITS['points']} read-outs; read out less often",
            "every_h")
    seed = body.get("seed", 1)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        bad("seed must be a non-negative whole number", "seed")
    outputs = [f"{d}_plasma" for d in sorted(drugs) if f"{d}_plasma" in ctx.model.assignment_index]
    outputs += [v for _, vs in PANELS for v in vs if v in ctx.model.assignment_index or v in ctx.model.state_index]
    return {"arms": clean, "population": spec_pop, "horizon_h": float(horizon_days) * 24.0, "every_h": float(every_h),
            "seed": seed, "outputs": outputs, "drugs": sorted(drugs)}


def summarise(frames: list[pd.DataFrame], spec: dict, model) -> dict:
    """Median and 5th–95th percentiles per arm, variable and time, grouped by panel."""
    df = pd.concat(frames, ignore_index=True)
    q = df.groupby(["variable", "arm", "time"])["value"].quantile([0.05, 0.5, 0.95]).unstack()
    panels = []
    plasma = [f"{d}_plasma" for d in spec["drugs"] if f"{d}_plasma" in spec["outputs"]]
    for title, variables in PANELS:
        variables = (plasma if title.startswith("Exposure") else []) + [v for v in variables if v in spec["outputs"]]
        series = []
        for v in variables:
            arms = {}
            for a in spec["arms"]:
                try:
                    s = q.loc[(v, a["name"])]
                except KeyError:
                    continue
                arms[a["name"]] = {"day": (s.index.to_numpy() / 24.0).round(5).tolist(),
                                   "p05": _list(s[0.05]), "p50": _list(s[0.5]), "p95": _list(s[0.95])}
            series.append({"variable": v, "unit": model.unit_of(v), "arms": arms})
        panels.append({"title": title, "series": series})
    failed = int(df[df["value"].isna()].drop_duplicates(["arm", "patient"]).shape[0])
    return {"panels": panels, "failed": failed, "patients": int(df[["arm", "patient"]].drop_duplicates().shape[0])}


def _list(s: pd.Series) -> list:
    return [None if not np.isfinite(v) else float(v) for v in s.to_numpy(float)]


def create_app(model=None, *, patient_file: str | None = None, workers: int = 1):
    """The FastAPI app. The model (default: the composed default model) is described here and
    simulated in the worker process."""
    from contextlib import asynccontextmanager

    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    if model is None:
        from ..models import default_model
        model = default_model()
    ctx = _Context(model, patient_file, workers)

    @asynccontextmanager
    async def lifespan(app):
        yield
        ctx.jobs.shutdown()

    app = FastAPI(title="opiaxis explorer", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.ctx = ctx

    @app.exception_handler(OpiaxisError)
    async def _input_error(request, exc):
        return JSONResponse({"error": str(exc), "field": getattr(exc, "field", None)}, status_code=422)

    _page_routes(app)
    _run_routes(app, ctx)
    _job_routes(app, ctx)
    return app


def _page_routes(app) -> None:
    """The page and its static files (plotly.js from the installed plotly)."""
    from fastapi import HTTPException
    from fastapi.responses import FileResponse, HTMLResponse

    @app.get("/", response_class=HTMLResponse)
    def index():
        return (_STATIC / "index.html").read_text(encoding="utf-8")

    @app.get("/static/{name}")
    def static(name: str):
        if name == "plotly.min.js":
            return FileResponse(_plotly_js(), media_type="text/javascript")
        path = _STATIC / name
        if name not in {"app.js", "style.css"} or not path.exists():
            raise HTTPException(404)
        return FileResponse(path, media_type="text/javascript" if name.endswith(".js") else "text/css")


def _run_routes(app, ctx: _Context) -> None:
    """What the page offers (drugs, phenotypes, limits), regimen checks, and starting a run or a
    behaviour trial."""
    model = ctx.model

    @app.get("/api/meta")
    def meta():
        ready = ctx.jobs.ready.done() and ctx.jobs.ready.exception() is None
        return {"drugs": {d: sorted(r) for d, r in sorted(ctx.routes.items()) if r},
                "phenotypes": PHENOTYPES, "panels": [t for t, _ in PANELS], "examples": EXAMPLE_REGIMENS,
                "trials": _trial_examples(), "patient": ctx.patient_file, "limits": LIMITS, "ready": ready,
                "model": {"states": len(model.states), "parameters": len(model.parameters)}}

    @app.post("/api/check")
    def check(body: dict):
        return check_regimen(model, ctx.routes, str(body.get("text", "")))

    @app.post("/api/runs")
    def start(body: dict):
        return ctx.jobs.submit_simulation(build_spec(ctx, body)).status()

    @app.post("/api/trials")
    def start_trial(body: dict):
        path = str(body.get("path", ""))
        if not path or not Path(path).is_file():
            raise OpiaxisInputError(f"no trial file at {path!r}", field="path")
        size = body.get("size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or not 2 <= size <= 2000):
            raise OpiaxisInputError("trial size must be a whole number from 2 to 2000", field="size")
        return ctx.jobs.submit_trial(path, size).status()


def _job_routes(app, ctx: _Context) -> None:
    """A job's status (with its summary when done), cancelling it, and its data as CSV or Parquet."""
    from fastapi import HTTPException
    from fastapi.responses import Response

    def _job(job_id: str):
        job = ctx.jobs.jobs.get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id}")
        return job

    @app.get("/api/jobs/{job_id}")
    def status(job_id: str):
        job = _job(job_id)
        out = job.status()
        if job.state == "done":
            if job.kind == "simulation":
                if job.result is None:
                    job.result = summarise(job.frames, job.spec, ctx.model)
                out["result"] = job.result
            else:
                out["result"] = job.result
        return out

    @app.post("/api/jobs/{job_id}/cancel")
    def cancel(job_id: str):
        job = _job(job_id)
        ctx.jobs.cancel(job)
        return job.status()

    @app.get("/api/jobs/{job_id}/data.{fmt}")
    def download(job_id: str, fmt: str):
        job = _job(job_id)
        if job.kind != "simulation" or job.state != "done":
            raise HTTPException(409, "the run has not finished")
        df = pd.concat(job.frames, ignore_index=True).sort_values(["arm", "patient", "variable", "time"], kind="mergesort")
        if fmt == "csv":
            return Response(df.to_csv(index=False), media_type="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="opiaxis-{job_id}.csv"'})
        if fmt == "parquet":
            buf = io.BytesIO()
            df.to_parquet(buf, index=False)
            return Response(buf.getvalue(), media_type="application/vnd.apache.parquet",
                            headers={"Content-Disposition": f'attachment; filename="opiaxis-{job_id}.parquet"'})
        raise HTTPException(404, "expected data.csv or data.parquet")


def serve(host: str = "127.0.0.1", port: int = 8765, *, patient_file: str | None = None, workers: int = 1,
          open_browser: bool = False) -> None:
    import uvicorn
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise OpiaxisInputError(f"the explorer listens on this machine only (127.0.0.1), not {host!r}", field="--host")
    app = create_app(patient_file=patient_file, workers=workers)
    if open_browser:
        import threading
        import webbrowser
        threading.Timer(1.5, lambda: webbrowser.open(f"http://{host}:{port}/")).start()
    uvicorn.run(app, host=host, port=port, log_level=os.environ.get("OPIAXIS_LOG_LEVEL", "warning"))
