"""Virtual-population selection: pick, from a plausible population, the virtual patients whose
observables match target (clinical) distributions — without weighting.

Method: Allen, Rieger & Musante, CPT Pharmacometrics Syst Pharmacol 2016;5:140
(doi:10.1002/psp4.12063), as summarised in ``software-peers.md`` §5.1:

1. every plausible patient (PP) gets a probability of inclusion
   ``p = f_target(x) / f_plausible(x)`` — the density of the target distribution at the PP's
   observables over the density of the plausible population there. Here ``f_plausible`` is a
   Gaussian KDE (:class:`scipy.stats.gaussian_kde`) and both densities are evaluated in one
   standardised space (observables declared log-normal, or empirical with ``log: True``, are
   log-transformed first; the Jacobians cancel in the ratio). ``p`` is scaled to max 1;
2. a scaling factor ``sf`` is chosen by a 1-D search (a log-spaced grid) that maximises the
   goodness of fit of the selected population to the targets — by default it minimises the
   mean Kolmogorov–Smirnov statistic over observables, which balances fit (too large an ``sf``
   lets the plausible shape back in) against the sampling noise of a small selection (too small
   an ``sf`` keeps few patients). ``objective='pvalue'`` / ``'min_pvalue'`` maximise the mean /
   smallest K–S p-value instead (these favour small selections; pair them with
   ``min_selected``);
3. a PP is selected when ``u < p·sf``, with ``u`` uniform from the PP's own stream seeded by
   ``(seed, patient id)`` — so a patient's draw never depends on the others' order.

Targets per observable (``dict``): ``{"dist": "normal", "mean": m, "sd": s}``,
``{"dist": "lognormal", "mean": m, "sd": s}`` (arithmetic mean and SD; or ``meanlog`` /
``sdlog``), or ``{"dist": "empirical", "data": [...], "log": False}`` (a bare list or array is
shorthand for an empirical sample). A :class:`pandas.DataFrame` of data (patients × observables)
is a joint empirical target (joint KDE). ``correlation`` (parametric targets only) makes the
target a multivariate normal in the (log-)transformed space — a Gaussian copula.

No command calls :func:`select_vpop` yet, and it stays on purpose: it is the library entry point
(tested in ``tests/test_vpop.py``) for matching a plausible cohort (e.g. ``patients.parquet`` of
``opiaxis run``) to clinical distributions, and the planned ``opiaxis calibrate`` (issue 17's
predictive-validity follow-up) is to call it rather than re-implement it.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import OpiaxisInputError
from ..streams import Purpose, Streams
from ..yamlio import check_keys, number

DISTS = ("normal", "lognormal", "empirical")


@dataclass(kw_only=True)
class Target:
    observable: str
    dist: str
    mean: float | None = None  # in the transformed space (log for lognormal)
    sd: float | None = None
    data: np.ndarray | None = None  # natural scale
    log: bool = False
    natural_mean: float | None = None
    natural_sd: float | None = None

    def cdf(self):
        if self.dist == "normal":
            return stats.norm(self.mean, self.sd).cdf
        if self.dist == "lognormal":
            return stats.lognorm(s=self.sd, scale=math.exp(self.mean)).cdf
        return None


@dataclass(kw_only=True)
class VPopResult:
    ids: np.ndarray
    report: pd.DataFrame
    probability: pd.Series  # probability of inclusion (scaled to max 1), by plausible patient
    sf: float
    n_plausible: int
    n_selected: int
    objective: str
    summary: dict = field(default_factory=dict)

    @property
    def acceptance_rate(self) -> float:
        return self.n_selected / self.n_plausible if self.n_plausible else float("nan")

    def to_markdown(self) -> str:
        s = self.summary
        lines = ["## Virtual population selection (Allen, Rieger & Musante 2016)", "",
                 f"- plausible patients: {s['n_plausible']} ({s['n_evaluable']} with finite observables)",
                 f"- selected: {s['n_selected']} (acceptance rate {100 * s['acceptance_rate']:.1f}%)",
                 f"- scaling factor sf: {s['sf']:.4g} (objective {s['objective']}: {s['objective_value']:.4g})",
                 f"- seed: {s['seed']}", ""]
        cols = ["observable", "target", "target_mean", "target_sd", "selected_mean", "selected_sd",
                "selected_ks", "selected_p", "unselected_mean", "unselected_sd", "unselected_ks",
                "unselected_p", "plausible_p"]
        lines.append("| " + " | ".join(cols) + " |")
        lines.append("|" + "---|" * len(cols))
        for _, row in self.report.iterrows():
            cells = []
            for c in cols:
                v = row[c]
                if isinstance(v, (float, np.floating)):
                    cells.append("" if not np.isfinite(v) else (f"{v:.3g}" if not c.endswith("_p") else f"{v:.2g}"))
                else:
                    cells.append(str(v))
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------

def _parse_target(name, spec) -> Target:
    fld = f"targets.{name}"
    if isinstance(spec, Target):
        spec = {"dist": spec.dist, "mean": spec.natural_mean, "sd": spec.natural_sd, "data": spec.data, "log": spec.log}
    if isinstance(spec, (list, tuple, np.ndarray, pd.Series)):
        spec = {"dist": "empirical", "data": spec}
    if not isinstance(spec, dict):
        raise OpiaxisInputError("expected a mapping such as {'dist': 'normal', 'mean': 10, 'sd': 2} or a data sample",
                                field=fld)
    check_keys(spec, {"dist", "mean", "sd", "meanlog", "sdlog", "data", "log"}, None, fld)
    dist = spec.get("dist", "empirical" if "data" in spec else "normal")
    if dist not in DISTS:
        raise OpiaxisInputError(f"unknown distribution {dist!r}; expected one of {list(DISTS)}", field=f"{fld}.dist")
    if dist == "empirical":
        if "data" not in spec:
            raise OpiaxisInputError("an empirical target needs 'data'", field=f"{fld}.data")
        data = np.asarray(spec["data"], dtype=float).ravel()
        data = data[np.isfinite(data)]
        if len(data) < 2 or np.std(data) == 0:
            raise OpiaxisInputError("an empirical target needs at least 2 distinct finite values", field=f"{fld}.data")
        log = bool(spec.get("log", False))
        if log and np.any(data <= 0):
            raise OpiaxisInputError("log-transformed empirical data must be positive", field=f"{fld}.data")
        return Target(observable=name, dist=dist, data=data, log=log, natural_mean=float(data.mean()), natural_sd=float(data.std(ddof=1)))
    if dist == "lognormal" and "meanlog" in spec:
        mu = number(spec["meanlog"], f"{fld}.meanlog", name="meanlog")
        if "sdlog" not in spec:
            raise OpiaxisInputError("missing 'sdlog'", field=f"{fld}.sdlog")
        sg = number(spec["sdlog"], f"{fld}.sdlog", name="sdlog", positive=True)
        m = math.exp(mu + sg ** 2 / 2)
        return Target(observable=name, dist=dist, mean=mu, sd=sg, log=True, natural_mean=m, natural_sd=m * math.sqrt(math.expm1(sg ** 2)))
    for k in ("mean", "sd"):
        if k not in spec:
            raise OpiaxisInputError(f"missing {k!r}", field=f"{fld}.{k}")
    mean = number(spec["mean"], f"{fld}.mean", name="mean")
    sd = number(spec["sd"], f"{fld}.sd", name="sd", positive=True)
    if dist == "normal":
        return Target(observable=name, dist=dist, mean=mean, sd=sd, natural_mean=mean, natural_sd=sd)
    if mean <= 0:
        raise OpiaxisInputError(f"a log-normal target needs a positive mean (got {mean})", field=f"{fld}.mean")
    s2 = math.log1p((sd / mean) ** 2)
    return Target(observable=name, dist=dist, mean=math.log(mean) - s2 / 2, sd=math.sqrt(s2), log=True, natural_mean=mean, natural_sd=sd)


def _uniforms(seed: int, ids) -> np.ndarray:
    return Streams(seed).uniforms(ids, Purpose.VPOP)[:, 0]


def _ks(x, t: Target):
    if len(x) < 1:
        return np.nan, np.nan
    if t.dist == "empirical":
        r = stats.ks_2samp(x, t.data)
    else:
        r = stats.kstest(x, t.cdf())
    return float(r.statistic), float(r.pvalue)


def _ks_stat(x, t: Target) -> float:
    """The K–S statistic alone (no p-value): cheap enough for the sf search."""
    x = np.sort(x)
    n = len(x)
    if t.dist == "empirical":
        d = np.sort(t.data)
        allv = np.concatenate([x, d])
        return float(np.max(np.abs(np.searchsorted(x, allv, side="right") / n
                                   - np.searchsorted(d, allv, side="right") / len(d))))
    F = t.cdf()(x)
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - F), np.max(F - (i - 1) / n)))


def _correlation(correlation, names):
    if correlation is None:
        return None
    if isinstance(correlation, pd.DataFrame):
        missing = [n for n in names if n not in correlation.index or n not in correlation.columns]
        if missing:
            raise OpiaxisInputError(f"correlation lacks observables {missing}", field="correlation")
        R = correlation.loc[names, names].to_numpy(float)
    elif isinstance(correlation, dict):
        R = np.eye(len(names))
        pos = {n: i for i, n in enumerate(names)}
        for key, r in correlation.items():
            if not (isinstance(key, tuple) and len(key) == 2 and all(k in pos for k in key)):
                raise OpiaxisInputError(f"correlation key {key!r} must be a pair of target observables",
                                        field="correlation")
            r = number(r, f"correlation[{key!r}]", name="correlation")
            R[pos[key[0]], pos[key[1]]] = R[pos[key[1]], pos[key[0]]] = r
    else:
        R = np.asarray(correlation, dtype=float)
    if R.shape != (len(names), len(names)) or not np.all(np.isfinite(R)):
        raise OpiaxisInputError(f"correlation must be a {len(names)}x{len(names)} matrix over {names}", field="correlation")
    if not np.allclose(R, R.T) or not np.allclose(np.diag(R), 1) or np.any(np.abs(R) > 1):
        raise OpiaxisInputError("correlation must be symmetric with unit diagonal and entries in [-1, 1]",
                                field="correlation")
    if np.linalg.eigvalsh(R).min() <= 1e-10:
        raise OpiaxisInputError("correlation matrix is not positive definite", field="correlation")
    return R


def _plausible_table(observables, seed, objective) -> pd.DataFrame:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise OpiaxisInputError(f"seed {seed!r} must be an integer", field="seed")
    if not isinstance(observables, pd.DataFrame):
        raise OpiaxisInputError("expected a DataFrame of plausible patients x observables", field="observables")
    obs = observables.set_index("patient") if "patient" in observables.columns else observables
    if len(obs) == 0:
        raise OpiaxisInputError("the plausible population is empty", field="observables")
    if obs.index.has_duplicates:
        raise OpiaxisInputError("patient ids must be unique", field="observables")
    if objective not in ("ks", "pvalue", "min_pvalue"):
        raise OpiaxisInputError(f"unknown objective {objective!r}; expected 'ks', 'pvalue' or 'min_pvalue'",
                                field="objective")
    return obs


def _parsed_targets(targets, obs: pd.DataFrame, correlation):
    """(names, parsed targets, joint target sample or None, correlation matrix or None)."""
    joint = None
    if isinstance(targets, pd.DataFrame):
        joint = targets
        targets = {c: {"dist": "empirical", "data": targets[c].to_numpy(float)} for c in targets.columns}
    if not isinstance(targets, dict) or not targets:
        raise OpiaxisInputError("expected at least one target, as {observable: spec}", field="targets")
    names = list(targets)
    for n in names:
        if n not in obs.columns:
            hint = difflib.get_close_matches(str(n), [str(c) for c in obs.columns], n=1)
            raise OpiaxisInputError(f"unknown observable {n!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                                    + f"; the plausible population has {list(map(str, obs.columns))}",
                                    field=f"targets.{n}")
    tg = [_parse_target(n, targets[n]) for n in names]
    R = _correlation(correlation, names)
    if R is not None and any(t.dist == "empirical" for t in tg):
        raise OpiaxisInputError("a correlation applies to normal/log-normal targets only", field="correlation")
    return names, tg, joint, R


def _target_density(Z, m, s, names, tg, joint, R) -> np.ndarray:
    """The target density at the standardised plausible patients ``Z``."""
    if joint is not None:
        D = joint[names].to_numpy(float)
        D = D[np.all(np.isfinite(D), axis=1)]
        for j, t in enumerate(tg):
            if t.log:
                D[:, j] = np.log(D[:, j])
        return stats.gaussian_kde(((D - m) / s).T)(Z.T)
    if R is not None:
        mu = np.array([(t.mean - m[j]) / s[j] for j, t in enumerate(tg)])
        sd = np.array([t.sd / s[j] for j, t in enumerate(tg)])
        return stats.multivariate_normal(mu, R * np.outer(sd, sd)).pdf(Z)
    f_t = np.ones(len(Z))
    for j, t in enumerate(tg):
        if t.dist == "empirical":
            d = np.log(t.data) if t.log else t.data
            f_t *= stats.gaussian_kde((d - m[j]) / s[j])(Z[:, j])
        else:
            f_t *= stats.norm.pdf(Z[:, j], (t.mean - m[j]) / s[j], t.sd / s[j])
    return f_t


def _inclusion_probability(X, ok, names, tg, joint, R, seed: int, kde_max_points: int) -> np.ndarray:
    """Each plausible patient's inclusion probability: target over plausible density (Allen et
    al. 2016), scaled to a maximum of 1; 0 where the observables are not evaluable."""
    G = X[ok].copy()   # standardised (log-)space
    for j, t in enumerate(tg):
        if t.log:
            G[:, j] = np.log(G[:, j])
    m, s = G.mean(axis=0), G.std(axis=0, ddof=1)
    s[s == 0] = 1.0
    Z = (G - m) / s
    fit = Z   # plausible density (KDE; fitted on a seeded subsample when the population is large)
    if len(Z) > kde_max_points:
        rng = Streams(seed).shared(Purpose.VPOP, "kde subsample")
        fit = Z[np.sort(rng.choice(len(Z), kde_max_points, replace=False))]
    f_pp = stats.gaussian_kde(fit.T)(Z.T)
    f_t = _target_density(Z, m, s, names, tg, joint, R)
    ratio = np.where(f_pp > 0, f_t / np.maximum(f_pp, 1e-300), 0.0)
    if ratio.max() <= 0:
        raise OpiaxisInputError("the targets have no density where the plausible population lies; "
                                "widen the plausible population", field="targets")
    p = np.zeros(len(X))
    p[ok] = ratio / ratio.max()
    return p


def _best_scaling(X, p, u, tg, objective: str, min_sel: int, n_grid: int, n_ok: int):
    """(objective value, log10 scaling factor, selection) of the best scaling factor on the grid."""
    pos = p[p > 0]
    hi = min(12.0, math.log10(1.0 / pos.min()) + 1e-9) if len(pos) else 0.0
    best, seen = None, set()
    for lsf in np.linspace(0.0, max(hi, 1e-6), n_grid):
        sel = u < p * 10 ** lsf
        k = int(sel.sum())
        if k < min_sel or k in seen:  # selection grows monotonically with sf: same size, same set
            continue
        seen.add(k)
        if objective == "ks":
            val = float(np.mean([_ks_stat(X[sel, j], t) for j, t in enumerate(tg)]))
        else:
            P_ = np.array([_ks(X[sel, j], t)[1] for j, t in enumerate(tg)])
            val = -P_.mean() if objective == "pvalue" else -P_.min()
        if best is None or val < best[0] - 1e-12:
            best = (val, lsf, sel)
    if best is None:
        raise OpiaxisInputError(f"no scaling factor selects at least {min_sel} patients from {n_ok} evaluable "
                                "plausible patients; generate more plausible patients", field="observables")
    return best


def _fit_report(X, ok, sel, tg) -> pd.DataFrame:
    rows = []
    for j, t in enumerate(tg):
        row = {"observable": t.observable,
               "target": t.dist + (" (log)" if t.dist == "empirical" and t.log else ""),
               "target_mean": t.natural_mean, "target_sd": t.natural_sd}
        for label, mask in (("selected", sel), ("unselected", ok & ~sel), ("plausible", ok)):
            x = X[mask, j]
            d_, p_ = _ks(x, t)
            row.update({f"{label}_n": int(mask.sum()),
                        f"{label}_mean": float(x.mean()) if len(x) else np.nan,
                        f"{label}_sd": float(x.std(ddof=1)) if len(x) > 1 else np.nan,
                        f"{label}_ks": d_, f"{label}_p": p_})
        rows.append(row)
    return pd.DataFrame(rows)


def select_vpop(observables: pd.DataFrame, targets, *, seed: int, correlation=None,
                objective: str = "ks", min_selected: int | None = None, n_grid: int = 300,
                kde_max_points: int = 5000) -> VPopResult:
    """Select a virtual population from plausible patients (rows of ``observables``; index =
    patient id, or a ``patient`` column) to match ``targets``. See the module docstring."""
    obs = _plausible_table(observables, seed, objective)
    names, tg, joint, R = _parsed_targets(targets, obs, correlation)
    ids = obs.index.to_numpy()
    X = obs[names].to_numpy(float)
    ok = np.all(np.isfinite(X), axis=1)
    for j, t in enumerate(tg):
        if t.log:
            ok &= X[:, j] > 0
    n_pp, n_ok = len(ids), int(ok.sum())
    if n_ok < len(names) + 2:
        raise OpiaxisInputError(f"only {n_ok} plausible patients have finite (and, for log-normal targets, "
                                "positive) observables; too few to estimate their density", field="observables")
    p = _inclusion_probability(X, ok, names, tg, joint, R, seed, kde_max_points)
    min_sel = max(10, len(names) + 2) if min_selected is None else int(min_selected)
    val, lsf, sel = _best_scaling(X, p, _uniforms(seed, ids), tg, objective, min_sel, n_grid, n_ok)
    sf = 10 ** lsf
    report = _fit_report(X, ok, sel, tg)
    n_sel = int(sel.sum())
    summary = {"n_plausible": n_pp, "n_evaluable": n_ok, "n_selected": n_sel,
               "acceptance_rate": n_sel / n_pp, "sf": sf, "objective": objective,
               "objective_value": float(abs(val)), "seed": int(seed)}
    report.attrs.update(summary)
    return VPopResult(ids=ids[sel], report=report, probability=pd.Series(p, index=obs.index, name="p_inclusion"),
                      sf=sf, n_plausible=n_pp, n_selected=n_sel, objective=objective, summary=summary)
