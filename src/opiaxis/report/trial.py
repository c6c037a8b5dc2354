"""The report and files of a behaviour trial (``kind: behaviour-trial``): summary.json,
patients.csv, daily.parquet, events.csv and report.html (Kaplan–Meier curves of relapse and
retention, craving and oxytocin trajectories). Columns: docs/trials.md."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

def _trajectory_plots(daily: pd.DataFrame, arms: list[str]) -> list[str]:
    from .figures import bands
    live = daily[daily["alive"] & daily["arm"].isin(arms)]
    return [bands(live, x="day", y=var, group="arm", title=f"{label}: median and interquartile range",
                  div_id=f"traj-{k}", ylabel=label)
            for k, (var, label) in enumerate((("craving_vas", "craving (VAS 0–100)"),
                                              ("oxytocin_tone", "central oxytocin tone (1 = healthy)")))]


_TEMPLATE = """<!doctype html><html><head><meta charset="utf-8"><title>{{ spec.name }} — opiaxis behaviour trial</title>
<style>body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}.fig{display:inline-block;margin:4px}.sub{color:#555;font-size:13px}</style>
{{ plotly_js }}</head><body><h1>{{ spec.name }}</h1><p>{{ spec.description }}</p>
<p class="sub">{{ spec.size }} patients randomised with equal allocation to {{ spec.arms|length }} arms; {{ spec.days }} days;
seed {{ spec.seed }}; fentanyl supply {{ spec.fentanyl_supply }}. Relapse = first run of 7 consecutive days of use after
any inpatient stay; retention = days until leaving treatment. File: {{ spec.file }}.</p>
<h2>Arms</h2><table><tr><th>arm</th><th>treatment</th><th>inpatient days</th><th>adjunct</th><th>behaviour overrides</th></tr>
{% for a in spec.arms %}<tr><td>{{ a.name }}</td><td>{{ a.regimen.describe() }}</td><td>{{ a.inpatient_days }}</td>
<td>{{ a.adjunct|join('; ') }}</td><td>{% for k, v in a.behaviour.items() %}{{ k }} = {{ v }}{% if not loop.last %}; {% endif %}{% endfor %}</td></tr>{% endfor %}</table>
<h2>Outcomes</h2><table><tr><th>arm</th>{% for k in cols %}<th>{{ k }}</th>{% endfor %}</tr>
{% for arm, row in summary.items() %}<tr><td>{{ arm }}</td>{% for k in cols %}<td>{{ row[k] }}</td>{% endfor %}</tr>{% endfor %}</table>
<p class="sub">Proportions with Wilson 95% confidence intervals.</p>
<h2>Relapse and retention</h2><p class="sub">Kaplan–Meier curves with 95% confidence bands (exponential Greenwood) and the numbers at risk.</p>
{% for f in km %}<div class="plot">{{ f }}</div>{% endfor %}
<h2>Craving and oxytocin</h2>{% for f in traj %}<div class="plot">{{ f }}</div>{% endfor %}
<p class="sub">Files (columns in docs/trials.md): <code>summary.json</code>, <code>patients.csv</code> (one row per patient),
<code>daily.parquet</code> (patient × day: uses, overdoses, in treatment, on medication, craving, oxytocin tone, use expectancy, alive),
<code>events.csv</code> (event history: uses with dose, ventilation nadir and P(overdose), overdoses, rescues, deaths,
inductions, discharges, dropouts, tapers completed).</p>
</body></html>"""


def write_trial_outputs(spec, result, out: str | Path) -> list[Path]:
    """Write the trial's files under ``out``; ``spec`` a TrialSpec, ``result`` its TrialRun."""
    import jinja2

    from .figures import kaplan_meier, plotly_script
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "summary.json", out / "patients.csv", out / "daily.parquet", out / "report.html",
             out / "events.csv"]
    paths[0].write_text(json.dumps({"trial": spec.name, "seed": spec.seed, "days": spec.days,
                                    "arms": result.summary}, indent=2), encoding="utf-8")
    result.patients.to_csv(paths[1], index=False)
    result.daily.to_parquet(paths[2], index=False)
    km = [kaplan_meier(curves, name, f"km-{k}", time_unit="day")
          for k, (name, curves) in enumerate(result.km_tables.items()) if curves]
    cols = list(next(iter(result.summary.values())).keys()) if result.summary else []
    html = jinja2.Template(_TEMPLATE).render(spec=spec, summary=result.summary, cols=cols, km=km,
                                             traj=_trajectory_plots(result.daily, [a.name for a in spec.arms]),
                                             plotly_js=plotly_script())
    paths[3].write_text(html, encoding="utf-8")
    result.events.to_csv(paths[4], index=False)
    return paths
