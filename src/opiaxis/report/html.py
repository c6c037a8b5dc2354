"""A self-contained HTML report of a study run: a one-screen summary, then interactive figures
(Plotly, with plotly.js inline so the file works offline) and tables."""

from __future__ import annotations

import base64
import io
from datetime import datetime, timezone

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from jinja2 import Environment  # noqa: E402

from .. import __version__  # noqa: E402

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>opiaxis — {{ study.name }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222;padding:0 1em}
h1{margin-bottom:0}.sub{color:#666;margin-top:.2em}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}
.fig{display:inline-block;margin:.5em;vertical-align:top}.fig img{max-width:520px}
.ok{color:#0a7d2c;font-weight:600}.miss{color:#b3261e;font-weight:600}
code{background:#f5f5f5;padding:0 .2em}
.summary{border:1px solid #ccd;background:#f7f8fc;border-radius:6px;padding:.6em 1.2em;margin:1em 0}
.summary ul{margin:.3em 0;padding-left:1.2em}.warn{color:#b3261e;font-weight:600}
.plot{margin:.6em 0}
</style>{{ plotly_js|safe }}</head><body>
<h1>{{ study.name }}</h1>
<p class="sub">opiaxis {{ version }} · {{ now }} · seed {{ study.seed }} · {{ n_patients }} virtual patients ·
{{ "%.0f"|format(study.duration) }} h simulated, read-outs every {{ "%g"|format(study.every) }} h</p>
{% if study.description %}<p>{{ study.description }}</p>{% endif %}
<div class="summary" id="summary"><h2 style="margin:.2em 0">Summary</h2><ul>
<li>{{ n_patients }} virtual patients in {{ arms|length }} arm(s) ({% for a in arms %}{{ a.name }}: {{ a.n }}{{ ", " if not loop.last }}{% endfor %}),
{{ "%g"|format(study.duration / 24) }} days simulated, seed {{ study.seed }}, opiaxis {{ version }}.</li>
{% for r in endpoints[:6] %}<li>{{ r.endpoint }} — {{ r.arm }}: {{ r.estimate }}{% if r.ci %} (95% CI {{ r.ci }}){% endif %}{% if r.versus %}; {{ r.versus }}{% endif %}</li>{% endfor %}
{% if endpoints|length > 6 %}<li>… {{ endpoints|length - 6 }} more endpoint rows below.</li>{% endif %}
<li class="{{ 'warn' if run.failed else '' }}">{{ run.failed }} patient(s) with a solver failure{% if run.failed %} — their values are missing from the figures and endpoints{% endif %}.</li>
</ul></div>
<h2>Arms</h2>
<table><tr><th class="l">arm</th><th>patients</th><th class="l">regimens</th></tr>
{% for a in arms %}<tr><td class="l">{{ a.name }}</td><td>{{ a.n }}</td><td class="l">{% for r in a.regimens %}{{ r }}{% if not loop.last %}<br>{% endif %}{% endfor %}</td></tr>{% endfor %}
</table>
<p>Solver: {{ run.chunks }} chunk(s){% if run.reused_chunks %} ({{ run.reused_chunks }} resumed from disk){% endif %},
{{ "%.1f"|format(run.solver_seconds) }} s in the solver, {{ run.failed }} patient(s) with solver failure.</p>
{% if covariates %}<h2>Population</h2>
<table><tr><th class="l">covariate</th>{% for a in arms %}<th>{{ a.name }}</th>{% endfor %}</tr>
{% for c in covariates %}<tr><td class="l">{{ c.name }}</td>{% for v in c.cells %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}
</table>{% endif %}
<h2>Time courses</h2>
<p>Median (line) and 5th–95th percentile (band) across each arm's virtual patients{% if subsampled %} (the first 2,000 patients of each arm){% endif %}. Hover for values; the camera icon saves a PNG.</p>
{% for f in plots %}<div class="plot">{{ f|safe }}</div>{% endfor %}
{% for f in figures %}<div class="fig"><img alt="{{ f.title }}" src="data:image/png;base64,{{ f.png }}"></div>{% endfor %}
{% if endpoints %}<h2>Endpoints</h2>
<table><tr><th class="l">endpoint</th><th class="l">arm</th><th>n</th><th>estimate</th><th>95% CI</th><th class="l">vs reference</th></tr>
{% for r in endpoints %}<tr><td class="l">{{ r.endpoint }}</td><td class="l">{{ r.arm }}</td><td>{{ r.n }}</td>
<td>{{ r.estimate }}</td><td>{{ r.ci }}</td><td class="l">{{ r.versus }}</td></tr>{% endfor %}</table>
<p>Kaplan–Meier curves with 95% confidence bands (exponential Greenwood); the numbers at risk are under each plot.</p>
{% for f in km_plots %}<div class="plot">{{ f|safe }}</div>{% endfor %}
{% endif %}
<h2>Summary at the end of the study</h2>
<table><tr><th class="l">variable</th><th class="l">unit</th><th class="l">arm</th><th>median</th><th>5%</th><th>95%</th></tr>
{% for r in summary %}<tr><td class="l">{{ r.variable }}</td><td class="l">{{ r.unit }}</td><td class="l">{{ r.arm }}</td>
<td>{{ "%.4g"|format(r.median) }}</td><td>{{ "%.4g"|format(r.p05) }}</td><td>{{ "%.4g"|format(r.p95) }}</td></tr>{% endfor %}
</table>
{% if validation %}<h2>Validation scorecard</h2>
<table><tr><th class="l">target</th><th class="l">simulated</th><th class="l">band</th><th>result</th></tr>
{% for v in validation %}<tr><td class="l">{{ v.id }}</td><td class="l">{{ v.value }}</td><td class="l">{{ v.band }}</td>
<td class="{{ 'ok' if v.passed else 'miss' }}">{{ 'reproduced' if v.passed else 'missed' }}</td></tr>{% endfor %}</table>{% endif %}
<p class="sub">Files: <code>results.parquet</code> (tidy: patient, arm, time, variable, value, unit),
<code>patients.parquet</code> (arm and parameters of every patient).</p>
</body></html>"""


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def time_course_plots(results: pd.DataFrame) -> list[str]:
    from .figures import time_course
    variables = list(pd.unique(results["variable"].astype(str)))
    return [time_course(results, v, f"tc-{k}") for k, v in enumerate(variables)]


def composition_figures(results: pd.DataFrame) -> list[dict]:
    """Stacked median relative abundance of the microbial guilds over time, one panel per arm,
    when the study outputs guild abundances (``rel_<guild>`` variables of the gut module)."""
    rel = results[results["variable"].astype(str).str.startswith("rel_")]
    if rel["variable"].nunique() < 2:
        return []
    arms = list(pd.unique(rel["arm"]))
    fig, axes = plt.subplots(1, len(arms), figsize=(3.4 * len(arms), 3.2), sharey=True, squeeze=False)
    for ax, arm in zip(axes[0], arms):
        med = rel[rel["arm"] == arm].groupby(["time", "variable"], observed=True)["value"].median().unstack()
        ax.stackplot(med.index.to_numpy() / 24.0, med.to_numpy().T, labels=[c[4:] for c in med.columns], alpha=0.85)
        ax.set_title(str(arm), fontsize=9)
        ax.set_xlabel("day")
    axes[0][0].set_ylabel("median relative abundance")
    axes[0][-1].legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    return [{"title": "guild composition", "png": _png(fig)}]


def end_summary(results: pd.DataFrame) -> list[dict]:
    t_end = results["time"].max()
    last = results[results["time"] == t_end]
    rows = []
    for (var, arm), d in last.groupby(["variable", "arm"], observed=True):
        v = d["value"].to_numpy()
        rows.append({"variable": var, "arm": arm, "unit": str(d["unit"].iloc[0]), "median": float(np.nanmedian(v)),
                     "p05": float(np.nanpercentile(v, 5)), "p95": float(np.nanpercentile(v, 95))})
    return rows


def _fmt(v, pct=False):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "—"
    return f"{100 * v:.1f}%" if pct else f"{v:.3g}"


def endpoint_rows(df: pd.DataFrame) -> list[dict]:
    rows = []
    for r in df.to_dict("records"):
        pct = r["kind"] == "responder"
        if r["kind"] == "time_to_event":
            ci = ""
        else:
            ci = f"{_fmt(r.get('low'), pct)} – {_fmt(r.get('high'), pct)}"
        vs = ""
        if r["kind"] == "time_to_event" and pd.notna(r.get("hazard_ratio", np.nan)):
            vs = f"HR {_fmt(r['hazard_ratio'])} ({_fmt(r['hr_low'])}–{_fmt(r['hr_high'])})"
        elif pd.notna(r.get("difference", np.nan)):
            vs = f"Δ {_fmt(r['difference'], pct)} ({_fmt(r['diff_low'], pct)} to {_fmt(r['diff_high'], pct)})"
            if pd.notna(r.get("hedges_g", np.nan)):
                vs += f", g {_fmt(r['hedges_g'])}"
        est = _fmt(r["estimate"], pct)
        if r["kind"] == "time_to_event":
            est += f" h (median; {r.get('events', 0)} events)"
        elif r["kind"] == "mean" and pd.notna(r.get("sd", np.nan)):
            est += f" (SD {_fmt(r['sd'])})"
        rows.append({"endpoint": r["endpoint"], "arm": r["arm"], "n": r["n"], "estimate": est, "ci": ci, "versus": vs})
    return rows


def km_plots(km: dict) -> list[str]:
    from .figures import kaplan_meier
    return [kaplan_meier(curves, name, f"km-{k}") for k, (name, curves) in enumerate(km.items()) if curves]


REPORT_PATIENTS_PER_ARM = 2000


def _arm_rows(study, patients: pd.DataFrame) -> list[dict]:
    return [{"name": a.name, "n": int((patients["arm"] == a.name).sum()),
             "regimens": list(a.regimens) + (["(event table)"] if a.events is not None else [])}
            for a in study.arms]


def _covariate_rows(study, patients: pd.DataFrame) -> list[dict]:
    covariates = []
    for col in [c for c in patients.columns if c.startswith("cov_")]:
        vals = []
        for a in study.arms:
            v = patients.loc[patients["arm"] == a.name, col]
            binary = set(np.unique(v)) <= {0.0, 1.0}
            vals.append(f"{100 * v.mean():.0f}%" if binary else f"{v.mean():.1f} ± {v.std():.1f}")
        covariates.append({"name": col[4:], "cells": vals})
    return covariates


def write_report(path, study, run, validation=None, results_path=None) -> None:
    """``run`` is the :class:`~opiaxis.study.StudyRun` of ``study``. Figures use every patient,
    or — for cohorts kept on disk — the first REPORT_PATIENTS_PER_ARM patients of each arm (said
    in the report)."""
    results, subsampled = run.results, False
    if results is None:
        pats = run.patients.groupby("arm", observed=True)["patient"].apply(lambda s: s.head(REPORT_PATIENTS_PER_ARM))
        results = pd.read_parquet(results_path or run.results_path,
                                  filters=[("patient", "in", [int(p) for p in pats.to_numpy()])])
        subsampled = True
    patients = run.patients
    from .figures import plotly_script
    html = Environment(autoescape=True).from_string(_TEMPLATE).render(
        covariates=_covariate_rows(study, patients),
        endpoints=endpoint_rows(run.endpoints) if run.endpoints is not None else [],
        km_plots=km_plots(run.km or {}), plotly_js=plotly_script(), subsampled=subsampled,
        study=study, version=__version__, now=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        n_patients=len(patients), arms=_arm_rows(study, patients), run=run, plots=time_course_plots(results),
        figures=composition_figures(results), summary=end_summary(results), validation=validation)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(html)
    import os
    os.replace(tmp, path)
