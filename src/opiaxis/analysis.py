"""Endpoints of a study and their analysis, with the field's own statistics libraries.

Endpoint kinds (declared in a study's ``endpoints:`` list):

``mean``
    A variable at a time (``at``), per arm: mean, SD and the t 95% CI of the mean; against the reference arm the mean
    difference with a Welch 95% CI (statsmodels ``CompareMeans``) and Hedges' g.
``responder``
    The proportion of patients whose variable at ``at`` is ``above``/``below`` a threshold,
    per arm with a Wilson 95% CI (statsmodels ``proportion_confint``); the difference against the
    reference arm with a Newcombe CI (``confint_proportions_2indep``).
``time_to_event``
    The first time a variable crosses a threshold (``above``/``below``) after ``from`` hours;
    Kaplan–Meier curves per arm (lifelines) and the Cox hazard ratio of each arm against the
    reference arm with its 95% CI (lifelines ``CoxPHFitter``); patients without the event are
    censored at the end of follow-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import OpiaxisInputError

KINDS = {"mean", "responder", "time_to_event"}
KEYS = {"name", "kind", "variable", "at", "above", "below", "from", "reference"}


@dataclass(kw_only=True)
class Endpoint:
    name: str
    kind: str
    variable: str
    at: float | None = None
    above: float | None = None
    below: float | None = None
    start: float = 0.0
    reference: str | None = None


def parse_endpoints(node, *, outputs: list[str], arms: list[str], file: str, line_of, to_hours) -> list[Endpoint]:
    if node is None:
        return []
    if not isinstance(node, list):
        raise OpiaxisInputError("endpoints must be a list", file=file, line=line_of(None), field="endpoints")
    eps = []
    for i, e in enumerate(node):
        where = f"endpoints[{i}]"
        if not isinstance(e, dict):
            raise OpiaxisInputError("expected a mapping (name, kind, variable, ...)", file=file, line=line_of(i), field=where)
        for k in e:
            if k not in KEYS:
                raise OpiaxisInputError(f"unknown key {k!r}; expected {sorted(KEYS)}", file=file, line=line_of(i), field=f"{where}.{k}")
        for req in ("name", "kind", "variable"):
            if req not in e:
                raise OpiaxisInputError(f"missing {req!r}", file=file, line=line_of(i), field=f"{where}.{req}")
        if e["kind"] not in KINDS:
            raise OpiaxisInputError(f"kind {e['kind']!r} unknown; expected one of {sorted(KINDS)}", file=file,
                                    line=line_of(i), field=f"{where}.kind")
        if e["variable"] not in outputs:
            raise OpiaxisInputError(f"endpoint reads {e['variable']!r}, which is not among the study's outputs "
                                    f"{outputs}; add it to 'outputs'", file=file, line=line_of(i), field=f"{where}.variable")
        ref = e.get("reference", arms[0])
        if ref not in arms:
            raise OpiaxisInputError(f"reference arm {ref!r} is not an arm ({arms})", file=file, line=line_of(i), field=f"{where}.reference")
        at = to_hours(e["at"], f"{where}.at") if "at" in e else None
        if e["kind"] in ("mean", "responder") and at is None:
            raise OpiaxisInputError(f"a {e['kind']} endpoint needs 'at' (a time, e.g. '28 d')", file=file, line=line_of(i), field=f"{where}.at")
        if e["kind"] in ("responder", "time_to_event") and (("above" in e) == ("below" in e)):
            raise OpiaxisInputError("give exactly one of 'above' or 'below' (the threshold)", file=file, line=line_of(i), field=where)
        for k in ("above", "below"):
            if k in e and (isinstance(e[k], bool) or not isinstance(e[k], (int, float))):
                raise OpiaxisInputError(f"{k} must be a number", file=file, line=line_of(i), field=f"{where}.{k}")
        eps.append(Endpoint(name=str(e["name"]), kind=e["kind"], variable=e["variable"], at=at,
                            above=e.get("above"), below=e.get("below"),
                            start=to_hours(e["from"], f"{where}.from") if "from" in e else 0.0, reference=ref))
    return eps


def _at(results: pd.DataFrame, variable: str, t: float) -> pd.DataFrame:
    d = results[results["variable"] == variable]
    times = np.unique(d["time"].to_numpy())
    tt = times[np.argmin(np.abs(times - t))]
    return d[d["time"] == tt][["patient", "arm", "value"]]


def hedges_g(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = len(a), len(b)
    sp = math.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
    if sp == 0:
        return float("nan")
    return float((a.mean() - b.mean()) / sp * (1 - 3 / (4 * (na + nb) - 9)))


def km_table(kmf) -> pd.DataFrame:
    """A fitted lifelines KaplanMeierFitter as a table: time (h), survival, its 95% confidence
    band (lifelines' exponential Greenwood interval) and the number at risk just before each time."""
    sf = kmf.survival_function_.iloc[:, 0]
    ci = kmf.confidence_interval_survival_function_
    return pd.DataFrame({"time": sf.index.to_numpy(float), "survival": sf.to_numpy(float),
                         "low": ci.iloc[:, 0].to_numpy(float), "high": ci.iloc[:, 1].to_numpy(float),
                         "at_risk": kmf.event_table["at_risk"].reindex(sf.index).to_numpy()})


def analyse(results: pd.DataFrame, endpoints: list[Endpoint]) -> tuple[pd.DataFrame, dict]:
    """One row per endpoint × arm; the second value holds Kaplan–Meier tables for figures."""
    from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint
    from statsmodels.stats.weightstats import CompareMeans, DescrStatsW
    rows, km = [], {}
    for ep in endpoints:
        if ep.kind in ("mean", "responder"):
            d = _at(results, ep.variable, ep.at)
            ref = d[d.arm == ep.reference]["value"].to_numpy()
            for arm, g in d.groupby("arm", observed=True):
                v = g["value"].to_numpy()
                row = {"endpoint": ep.name, "kind": ep.kind, "arm": arm, "n": len(v), "reference": ep.reference}
                if ep.kind == "mean":
                    lo, hi = DescrStatsW(v).tconfint_mean() if len(v) > 1 else (np.nan, np.nan)
                    row.update(estimate=v.mean(), sd=v.std(ddof=1) if len(v) > 1 else np.nan, low=lo, high=hi)
                    if arm != ep.reference and len(v) > 1 and len(ref) > 1:
                        cm = CompareMeans(DescrStatsW(v), DescrStatsW(ref))
                        lo, hi = cm.tconfint_diff(usevar="unequal")
                        row.update(difference=v.mean() - ref.mean(), diff_low=lo, diff_high=hi, hedges_g=hedges_g(v, ref))
                else:
                    hit = v > ep.above if ep.above is not None else v < ep.below
                    rh = ref > ep.above if ep.above is not None else ref < ep.below
                    lo, hi = proportion_confint(hit.sum(), len(hit), method="wilson")
                    row.update(estimate=hit.mean(), low=lo, high=hi)
                    if arm != ep.reference and len(rh):
                        dl, dh = confint_proportions_2indep(hit.sum(), len(hit), rh.sum(), len(rh), method="newcomb")
                        row.update(difference=hit.mean() - rh.mean(), diff_low=dl, diff_high=dh)
                rows.append(row)
        else:
            from lifelines import CoxPHFitter, KaplanMeierFitter
            d = results[(results["variable"] == ep.variable) & (results["time"] >= ep.start)]
            hit = d["value"] > ep.above if ep.above is not None else d["value"] < ep.below
            t_end = d["time"].max()
            first = d[hit].groupby("patient")["time"].min()
            pats = d.groupby("patient")["arm"].first()
            surv = pd.DataFrame({"arm": pats, "T": first.reindex(pats.index).fillna(t_end) - ep.start,
                                 "E": pats.index.isin(first.index).astype(int)})
            curves = {}
            for arm, g in surv.groupby("arm", observed=True):
                kmf = KaplanMeierFitter().fit(g["T"], g["E"])
                curves[str(arm)] = km_table(kmf)
                row = {"endpoint": ep.name, "kind": ep.kind, "arm": arm, "n": len(g), "reference": ep.reference,
                       "events": int(g["E"].sum()), "estimate": float(kmf.median_survival_time_)}
                if arm != ep.reference:
                    two = surv[surv["arm"].isin([arm, ep.reference])].copy()
                    two["treated"] = (two["arm"] == arm).astype(float)
                    if two["E"].sum() > 0 and two["treated"].nunique() == 2:
                        cph = CoxPHFitter().fit(two[["T", "E", "treated"]], "T", "E")
                        s = cph.summary.loc["treated"]
                        row.update(hazard_ratio=float(s["exp(coef)"]), hr_low=float(s["exp(coef) lower 95%"]),
                                   hr_high=float(s["exp(coef) upper 95%"]))
                rows.append(row)
            km[ep.name] = curves
    return pd.DataFrame(rows), km
