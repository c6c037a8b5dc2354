"""Interactive figures for the reports (Plotly), embedded so a report works offline.

One builder per kind of figure; each returns an HTML fragment (a ``<div>`` and its script) that
assumes plotly.js is on the page once (:func:`plotly_script`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
_CONFIG = {"displaylogo": False, "responsive": True,
           "toImageButtonOptions": {"format": "png", "scale": 2}}


def plotly_script() -> str:
    """plotly.js, inline (about 4.8 MB): the report needs no network."""
    from plotly.offline import get_plotlyjs
    return f'<script type="text/javascript">{get_plotlyjs()}</script>'


def _html(fig, div_id: str) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=_CONFIG)


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[k:k + 2], 16) for k in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def time_course(results: pd.DataFrame, variable: str, div_id: str) -> str:
    """Median and 5th–95th percentile band per arm of one variable over days."""
    d = results[results["variable"] == variable]
    return bands(d.assign(day=d["time"] / 24.0), x="day", y="value", group="arm", title=str(variable),
                 div_id=div_id, ylabel=str(d["unit"].iloc[0]) if len(d) else "", quantiles=(0.05, 0.5, 0.95))


def bands(frame: pd.DataFrame, *, x: str, y: str, group: str, title: str, div_id: str, xlabel: str = "day",
          ylabel: str = "", quantiles: tuple[float, float, float] = (0.25, 0.5, 0.75)) -> str:
    """Median (line) and a quantile band per group of ``frame[y]`` against ``frame[x]``."""
    import plotly.graph_objects as go
    lo, mid, hi = quantiles
    fig = go.Figure()
    for k, (name, g) in enumerate(frame.groupby(group, observed=True)):
        color = _PALETTE[k % len(_PALETTE)]
        q = g.groupby(x)[y].quantile(list(quantiles)).unstack()
        xs = q.index.to_numpy(float)
        fig.add_trace(go.Scatter(x=np.r_[xs, xs[::-1]], y=np.r_[q[hi], q[lo][::-1]], fill="toself",
                                 fillcolor=_rgba(color, 0.18), line={"width": 0}, hoverinfo="skip",
                                 legendgroup=str(name), showlegend=False))
        fig.add_trace(go.Scatter(x=xs, y=q[mid], name=str(name), legendgroup=str(name), line={"color": color, "width": 2},
                                 hovertemplate=xlabel + " %{x:.3g}: %{y:.4g}<extra>" + str(name) + "</extra>"))
    fig.update_layout(title={"text": title, "font": {"size": 14}}, xaxis_title=xlabel, yaxis_title=ylabel, height=340,
                      margin={"l": 60, "r": 10, "t": 40, "b": 40}, template="plotly_white",
                      legend={"orientation": "h", "y": -0.25})
    return _html(fig, div_id)


def kaplan_meier(curves: dict[str, pd.DataFrame], title: str, div_id: str, *,
                 ylabel: str = "event-free fraction", ticks: int = 6, time_unit: str = "h") -> str:
    """Kaplan–Meier step curves with their 95% confidence bands, and the numbers at risk per arm
    under the plot. ``curves``: arm -> table with time (h), survival, low, high, at_risk (see
    :func:`opiaxis.analysis.km_table`), time in ``time_unit`` ("h" or "day"). The axis is in days,
    or in hours for follow-up under 2 days."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    arms = list(curves)
    to_h = 24.0 if time_unit == "day" else 1.0
    curves = {a: c.assign(time=c["time"] * to_h) for a, c in curves.items()}
    t_max_h = max(float(c["time"].max()) for c in curves.values()) if curves else 1.0
    scale, unit = (24.0, "day") if t_max_h > 48.0 else (1.0, "hour")
    fig = make_subplots(rows=2, cols=1, row_heights=[0.8, 0.2], shared_xaxes=True, vertical_spacing=0.08)
    tick = np.linspace(0.0, t_max_h / scale, ticks)
    for k, arm in enumerate(arms):
        c = curves[arm]
        color = _PALETTE[k % len(_PALETTE)]
        t = c["time"].to_numpy(float) / scale
        fig.add_trace(go.Scatter(x=t, y=c["high"], line={"shape": "hv", "width": 0}, hoverinfo="skip",
                                 showlegend=False, legendgroup=arm), row=1, col=1)
        fig.add_trace(go.Scatter(x=t, y=c["low"], line={"shape": "hv", "width": 0}, fill="tonexty",
                                 fillcolor=_rgba(color, 0.15), hoverinfo="skip", showlegend=False, legendgroup=arm),
                      row=1, col=1)
        fig.add_trace(go.Scatter(x=t, y=c["survival"], name=arm, legendgroup=arm, mode="lines",
                                 line={"shape": "hv", "color": color},
                                 customdata=np.c_[c["low"], c["high"], c["at_risk"]],
                                 hovertemplate=unit + " %{x:.3g}: %{y:.3f} (95% CI %{customdata[0]:.3f}–%{customdata[1]:.3f}), "
                                               "%{customdata[2]} at risk<extra>" + arm + "</extra>"), row=1, col=1)
        fig.add_trace(go.Scatter(x=tick, y=[k] * len(tick), mode="text",
                                 text=[str(number_at_risk(c, x * scale)) for x in tick],
                                 textfont={"color": color, "size": 11}, showlegend=False, hoverinfo="skip"), row=2, col=1)
    fig.update_yaxes(range=[0, 1.02], title_text=ylabel, row=1, col=1)
    fig.update_yaxes(title_text="at risk", tickvals=list(range(len(arms))), ticktext=arms,
                     range=[len(arms) - 0.5, -0.5], showgrid=False, zeroline=False, row=2, col=1)
    fig.update_xaxes(tickvals=tick, tickformat=".3~g", row=1, col=1)
    fig.update_xaxes(title_text=unit, tickvals=tick, tickformat=".3~g", row=2, col=1)
    fig.update_layout(title={"text": f"Kaplan–Meier: {title}", "font": {"size": 14}}, template="plotly_white",
                      height=420 + 22 * len(arms), margin={"l": 70, "r": 10, "t": 60, "b": 40},
                      legend={"orientation": "h", "y": 1.1})
    return _html(fig, div_id)


def number_at_risk(curve: pd.DataFrame, t: float) -> int:
    """Patients at risk at time ``t``: those whose event or censoring time is ``>= t``."""
    times = curve["time"].to_numpy(float)
    at_risk = curve["at_risk"].to_numpy()
    later = np.flatnonzero(times >= t)
    return int(at_risk[later[0]]) if len(later) else 0
