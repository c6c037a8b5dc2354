"""Rank interventions for one fitted patient by posterior expected utility.

Candidates and adjuncts are data (``data/candidates.yaml``; a user file adds or replaces them,
:func:`load_options`). Every adjunct is added to the best base candidate of each drug class (no
medication, buprenorphine maintenance, a buprenorphine taper, methadone, naltrexone: an adjunct's
effect depends on the drug and the regimen), and
every other adjunct on top of the best of these (greedy stacking: a laxative and a PAMORA, a
laxative and an antidepressant — with one adjunct at a time the laxative's gain, which every
opioid-maintained patient has, hid every other adjunct's); each class's best combination is carried
to the other doses of its class. Candidates start at the decision time (default: the patient's last
measurement); the history's doses after it are dropped. Every candidate is simulated over the
horizon for the same posterior draws (fitted parameters from the posterior; every other
parameter with variability from its population distribution), from each draw's own state at
the decision time, so differences between candidates are paired.

The decision rule
-----------------
One utility orders the table and is the one ``p_best`` uses: utility = −loss, with

    loss = Σ_k w_k · term_k            (one unit ≈ one clinically meaningful burden)

============================  ======================================  ===========================
term k (weight key)           from                                    term
============================  ======================================  ===========================
withdrawal                    ``cows_score``                          mean COWS
overdose                      ``ventilation_rel``                     max(0, 0.9 − min ventilation)
pain                          ``pain_nrs``                            mean NRS
depression                    ``madrs``                               mean MADRS
constipation                  ``bowel_function_index`` (BFI, 0–100)   mean BFI / 12
craving (relapse proxy)       ``craving`` (reward module)             mean craving
inflammation                  ``il6_plasma``                          max(0, log2(mean IL-6 / 3 pg/mL))
============================  ======================================  ===========================

Default weights are in ``data/candidates.yaml`` with their sources (COWS 5 = mild withdrawal,
Wesson & Ling 2003; 2 NRS points clinically important, Farrar et al., Pain 2001;94:149; 10 MADRS
points ≈ one severity band; a BFI change of 12 points is clinically meaningful, Abramowitz et al.,
Curr Med Res Opin 2013;29:1083 — recalled, as is the BFI ≥ 30 constipation cut-off; craving and
inflammation weights assumed). The overdose term scores the deepest point of the horizon, not a
mean: a single nadir of 80% of baseline ventilation costs 1 loss unit, as much as a mean COWS of 5
(mild withdrawal) over the whole horizon; normal sleep lowers ventilation by ~10–15%, hence the
0.9 threshold (assumed). Without ``bowel_function_index`` the constipation term is
max(0, 3 − SBM/week) (Rome IV: < 3 SBM/week). Terms whose variable the model lacks are left out and listed in the notes.

For each candidate c and posterior draw d the loss L[c, d] is computed once; then

* the table is ordered by the posterior expected loss E_d L[c, d] (= maximum expected utility);
* ``p_best`` = share of draws in which c has the smallest loss (the same L);
* ``p_beats_next`` = P(L[c] < L[next candidate in the table]);
* ``delta_vs_best`` = E(L[c] − L[rank 1]) with its 90% interval (paired draws);
* ``tie``: the posterior cannot separate c from rank 1 — P(L[c] − L[rank 1] < MID) > 5%, MID the
  minimal important difference (default 0.1 loss units);
* ``driver``: the terms that move c's expected loss most relative to rank 1 (rank 1: relative to
  rank 2).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..dosing import EventTable, drug_routes
from ..errors import OpiaxisInputError
from ..yamlio import line_of, load_yaml, load_yaml_file
from .fit import FitResult, Simulator

TERMS = {  # weight key: (model variable, outcome column, description of the term)
    "withdrawal": ("cows_score", "cows_mean", "mean COWS"),
    "overdose": ("ventilation_rel", "ventilation_min", "max(0, 0.9 - min ventilation_rel)"),
    "pain": ("pain_nrs", "pain_nrs_mean", "mean pain NRS"),
    "depression": ("madrs", "madrs_mean", "mean MADRS"),
    "constipation": ("bowel_function_index", "bfi_mean", "mean BFI / 12"),
    "craving": ("craving", "craving_mean", "mean craving"),
    "inflammation": ("il6_plasma", "il6_mean", "max(0, log2(mean IL-6 / 3 pg/mL))"),
}
IL6_REFERENCE = 3.0  # pg/mL, upper reference limit used for the inflammatory stratum too


@dataclass(frozen=True, kw_only=True)
class Options:
    """What ``recommend`` ranks and how: candidates, adjuncts, weights, MID."""

    candidates: dict
    adjuncts: dict
    weights: dict
    mid: float = 0.1

    def describe(self) -> str:
        terms = " + ".join(f"{self.weights[k]:g}·[{TERMS[k][2]}]" for k in TERMS if self.weights.get(k, 0))
        return (f"utility = −loss, loss = {terms}; ranked by posterior expected utility; p_best on the same "
                f"loss over the same draws; tie = P(loss − loss of rank 1 < {self.mid:g}) > 5%")


def _check_spec(name, spec, file, where, line):
    if spec is None:
        spec = {}
    if not isinstance(spec, dict) or set(spec) - {"regimens", "parameters", "only_with"}:
        raise OpiaxisInputError(f"{name!r}: expected a mapping with 'regimens' (list), 'parameters' "
                                "(mapping) and, for an adjunct, 'only_with' (list of drugs)", file=file, line=line,
                                field=where)
    regs = spec.get("regimens") or []
    pars = spec.get("parameters") or {}
    if not isinstance(regs, list) or not all(isinstance(t, str) for t in regs):
        raise OpiaxisInputError(f"{name!r}: regimens must be a list of regimen texts", file=file, line=line,
                                field=f"{where}.regimens")
    if not isinstance(pars, dict) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                             for v in pars.values()):
        raise OpiaxisInputError(f"{name!r}: parameters must map parameter names to numbers", file=file, line=line,
                                field=f"{where}.parameters")
    out = {"regimens": list(regs), "parameters": {k: float(v) for k, v in pars.items()}}
    if "only_with" in spec:
        only = spec["only_with"]
        if not where.startswith("adjuncts.") or not isinstance(only, list) or not only \
                or not all(isinstance(d, str) for d in only):
            raise OpiaxisInputError(f"{name!r}: only_with is an adjunct's non-empty list of drugs, one of which "
                                    "the base candidate must dose", file=file, line=line, field=f"{where}.only_with")
        out["only_with"] = list(only)
    return out


def _merge(base: Options | None, doc, file) -> Options:
    if not isinstance(doc, dict) or set(doc) - {"utility", "candidates", "adjuncts"}:
        raise OpiaxisInputError("expected keys utility, candidates, adjuncts", file=file, line=getattr(doc, "line", None))
    cands = dict(base.candidates) if base else {}
    adj = dict(base.adjuncts) if base else {}
    weights = dict(base.weights) if base else {}
    mid = base.mid if base else 0.1
    for key, target in (("candidates", cands), ("adjuncts", adj)):
        sect = doc.get(key) or {}
        if not isinstance(sect, dict):
            raise OpiaxisInputError(f"{key} must be a mapping of name: spec", file=file, line=line_of(doc, key), field=key)
        for name, spec in sect.items():
            target[str(name)] = _check_spec(name, spec, file, f"{key}.{name}", line_of(sect, name))
    u = doc.get("utility") or {}
    if not isinstance(u, dict) or set(u) - {"weights", "minimal_important_difference"}:
        raise OpiaxisInputError("utility takes weights and minimal_important_difference", file=file,
                                line=line_of(doc, "utility"), field="utility")
    for k, v in (u.get("weights") or {}).items():
        weights[k] = _weight(k, v, file, line_of(u.get("weights"), k))
    if "minimal_important_difference" in u:
        mid = _weight("minimal_important_difference", u["minimal_important_difference"], file,
                      line_of(u, "minimal_important_difference"))
    return Options(candidates=cands, adjuncts=adj, weights=weights, mid=mid)


def _weight(k, v, file=None, line=None) -> float:
    if k not in TERMS and k != "minimal_important_difference":
        import difflib
        m = difflib.get_close_matches(str(k), list(TERMS), n=1)
        raise OpiaxisInputError(f"unknown utility term {k!r}" + (f" (did you mean {m[0]!r}?)" if m else "")
                                + f"; terms: {', '.join(TERMS)}", file=file, line=line, field=f"weights.{k}")
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise OpiaxisInputError(f"{k}: {v!r} is not a number", file=file, line=line, field=f"weights.{k}") from None
    if not math.isfinite(x) or x < 0:
        raise OpiaxisInputError(f"{k}: weight must be a finite number >= 0, got {v!r}", file=file, line=line,
                                field=f"weights.{k}")
    return x


def load_options(path: str | Path | None = None, weights: dict | None = None) -> Options:
    """The shipped candidates and utility, updated by a user file and by ``weights`` (term: value)."""
    text = (resources.files("opiaxis") / "data" / "candidates.yaml").read_text(encoding="utf-8")
    opts = _merge(None, load_yaml(text, "<candidates.yaml>"), "<candidates.yaml>")
    if path is not None:
        opts = _merge(opts, load_yaml_file(path), str(path))
    if weights:
        w = dict(opts.weights)
        for k, v in weights.items():
            w[k] = _weight(k, v)
        opts = Options(candidates=opts.candidates, adjuncts=opts.adjuncts, weights=w, mid=opts.mid)
    return opts


def parse_weights(items: list[str] | None) -> dict:
    """``["pain=1", "craving=2"]`` (the CLI's --weight) → {term: value}."""
    out = {}
    for it in items or []:
        if "=" not in it:
            raise OpiaxisInputError(f"--weight {it!r}: expected TERM=VALUE, terms: {', '.join(TERMS)}", field="--weight")
        k, v = it.split("=", 1)
        out[k.strip()] = _weight(k.strip(), v.strip())
    return out


def check_options(model, opts: Options, *, horizon_days: float, draws: int) -> list[str]:
    """Validate everything ``recommend`` needs before any fitting (raises
    :class:`OpiaxisInputError`); returns notes on candidates the model cannot simulate."""
    if not (isinstance(horizon_days, (int, float)) and math.isfinite(horizon_days) and horizon_days > 0):
        raise OpiaxisInputError(f"horizon must be a positive number of days, got {horizon_days!r}", field="horizon")
    if int(draws) != draws or draws < 1:
        raise OpiaxisInputError(f"draws must be a positive integer, got {draws!r}", field="draws")
    notes = []
    for kind, specs in (("candidate", opts.candidates), ("adjunct", opts.adjuncts)):
        for name, spec in specs.items():
            why = _available(model, spec)
            if why:
                notes.append(f"{kind} {name!r} skipped: {why}")
                continue
            _doses(model, spec["regimens"], 0.0, horizon_days * 24, where=f"{kind} {name!r}")
    _check_only_with(model, opts)
    if all(_available(model, s) for s in opts.candidates.values()):
        raise OpiaxisInputError("no candidate intervention can be simulated with this model: " + "; ".join(notes),
                                field="candidates")
    if not any(opts.weights.get(k, 0) > 0 and model_has(model, TERMS[k][0]) for k in TERMS):
        raise OpiaxisInputError("every utility term this model can compute has weight 0", field="weights")
    return notes


def check_decision_time(data, decision_time: float | None) -> list[str]:
    """The decision time against the patient's record (before any fitting): an explicit one must
    not precede the record nor have history doses after it (those would be silently replaced by
    the candidates); the default (last measurement) drops later history doses with a note."""
    t_dec = data.end if decision_time is None else float(decision_time)
    if decision_time is not None and t_dec < data.start:
        raise OpiaxisInputError(f"decision time {t_dec:g} h is before the start of the record ({data.start:g} h)",
                                field="decision_time", file=data.file or None)
    later = data.doses[data.doses["TIME"] >= t_dec] if len(data.doses) else data.doses
    if not len(later):
        return []
    what = f"{len(later)} history dose(s) at or after the decision time {t_dec:g} h (first {later['TIME'].min():g} h: " \
           f"{later['CMT'].iloc[0]})"
    if decision_time is not None:
        raise OpiaxisInputError(f"{what}; the candidates replace the treatment from the decision time on — end the "
                                "history's regimens before it or choose a later decision time",
                                field="decision_time", file=data.file or None)
    return [f"{what} are dropped: the candidates replace the treatment from the decision time on"]


def model_has(model, name) -> bool:
    return name in model.state_index or name in model.assignment_index or name in model.param_index


def spec_drugs(spec) -> frozenset[str]:
    """The drugs a candidate's or adjunct's regimens dose: each regimen's drug word, a combination
    product's components separately ("buprenorphine-naloxone 16/4 mg SL" doses buprenorphine and
    naloxone: the regimen grammar's 'a-b' / 'a/b')."""
    return frozenset(d for t in spec.get("regimens", []) for d in re.split(r"[-/]", t.split()[0]))


def _check_only_with(model, opts: Options) -> None:
    """An adjunct's ``only_with`` names drugs of the drug library (or of this model): a misspelt name
    would silently keep the adjunct off every base."""
    from ..physiology.drugs import load_drugs
    known = set(drug_routes(model)) | set(load_drugs())
    for name, spec in opts.adjuncts.items():
        unknown = [d for d in spec.get("only_with", []) if d not in known]
        if unknown:
            raise OpiaxisInputError(f"adjunct {name!r}: only_with names {unknown[0]!r}, not a drug; expected drugs "
                                    f"such as {', '.join(sorted(known)[:6])}, ...", field=f"adjuncts.{name}.only_with")


def _available(model, spec) -> str | None:
    """Why a candidate cannot be simulated with this model (None if it can)."""
    routes = drug_routes(model)
    for drug in sorted(spec_drugs(spec)):
        if drug not in routes:
            return f"the model has no {drug}"
    for p in spec.get("parameters", {}):
        if p not in model.param_index:
            return f"the model has no parameter {p!r}"
    return None


def _doses(model, texts, start, H, where=None):
    days = max(int(math.ceil(H / 24)), 1)
    texts = [t.replace("{H7}", str(max(days - 7, 1))).replace("{H}", str(days)) for t in texts]
    if not texts:
        return None
    d = EventTable.from_regimens(model, texts, start=start, where=where).for_ids([1]).expanded()
    return d[d["TIME"] < start + H]


# the model variables :func:`outcomes` reads (those the model has): the candidate simulations' outputs
OUTCOME_VARIABLES = ("cows_score", "ventilation_rel", "pain_nrs", "madrs", "sbm_rate", "bowel_function_index",
                     "craving", "il6_plasma")


def outcome_variables(sim: Simulator) -> list[str]:
    return [v for v in OUTCOME_VARIABLES if sim.has(v)]


def outcomes(sim: Simulator, X: np.ndarray, P: np.ndarray, times: np.ndarray,
             trajectories: dict | None = None) -> dict[str, np.ndarray]:
    """Per-draw outcomes over the simulated window (columns of the ranking table); ``trajectories``:
    a dict filled with the utility's variables over the window ({variable: (draws, times)})."""
    out = {}
    T = times - times[0]
    span = max(T[-1], 1e-9)
    V = sim.values(outcome_variables(sim), X, P)

    def mean(v):
        return np.trapezoid(v, T, axis=1) / span

    if "cows_score" in V:
        out["cows_hours"] = np.trapezoid(V["cows_score"], T, axis=1)
        out["cows_mean"] = out["cows_hours"] / span
    if "ventilation_rel" in V:
        out["ventilation_min"] = V["ventilation_rel"].min(axis=1)
    for var, col in (("pain_nrs", "pain_nrs_mean"), ("madrs", "madrs_mean"), ("sbm_rate", "sbm_per_week"),
                     ("bowel_function_index", "bfi_mean"),
                     ("craving", "craving_mean"), ("il6_plasma", "il6_mean")):
        if var in V:
            out[col] = mean(V[var])
    if trajectories is not None:
        trajectories.update({TERMS[k][0]: V[TERMS[k][0]] for k in TERMS if TERMS[k][0] in V})
    return out


def loss_terms(o: dict[str, np.ndarray], weights: dict) -> dict[str, np.ndarray]:
    """Weighted loss terms per draw ({term: (draws,)}) for the outcomes present."""
    tr = {
        "withdrawal": lambda: o["cows_mean"],
        "overdose": lambda: np.maximum(0.0, 0.9 - o["ventilation_min"]),
        "pain": lambda: o["pain_nrs_mean"],
        "depression": lambda: o["madrs_mean"],
        "constipation": lambda: (o["bfi_mean"] / 12.0 if "bfi_mean" in o else np.maximum(0.0, 3.0 - o["sbm_per_week"])),
        "craving": lambda: o["craving_mean"],
        "inflammation": lambda: np.maximum(0.0, np.log2(np.maximum(o["il6_mean"], 1e-12) / IL6_REFERENCE)),
    }
    have = set(o) | ({"bfi_mean"} if "sbm_per_week" in o else set())
    return {k: weights.get(k, 0.0) * f() for k, f in tr.items() if TERMS[k][1] in have}


def composite(o: dict[str, np.ndarray], weights: dict | None = None) -> np.ndarray:
    """The loss per draw (lower is better): the sum of :func:`loss_terms`."""
    w = weights if weights is not None else load_options().weights
    terms = loss_terms(o, w)
    n = len(next(iter(o.values())))
    return np.sum(list(terms.values()), axis=0) if terms else np.zeros(n)


@dataclass
class Recommendation:
    patient: str
    table: pd.DataFrame          # ranked: candidate, kind, composite (mean, 5%, 95%), p_best, … outcomes
    strata: pd.DataFrame
    notes: list = field(default_factory=list)
    draws: int = 0
    horizon_h: float = 0.0
    decision_time: float = 0.0
    seconds: float = 0.0
    rule: str = ""
    draws_loss: dict = field(default_factory=dict)   # {candidate: (draws,) loss}
    trajectories: dict = field(default_factory=dict)  # {candidate: {variable: (draws, T)}}, "_times"
    screened: dict = field(default_factory=dict)      # {combination: expected loss on the search draws}
    parameters: np.ndarray | None = None              # (draws, n_params): the decision draws' parameter rows

    def figure(self, path, top: int = 3) -> Path:
        """PNG: the utility's variables over the horizon under the top candidates (median and 90%
        band over the posterior draws)."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        names = [c for c in self.table["candidate"].iloc[:top] if c in self.trajectories]
        if not names:
            raise OpiaxisInputError("no trajectories to plot (recommend was run without them)")
        vars_ = list(self.trajectories[names[0]])
        cols = min(3, len(vars_))
        rows = math.ceil(len(vars_) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(4.4 * cols, 3.0 * rows), squeeze=False)
        td = self.trajectories["_times"] / 24.0
        for k, v in enumerate(vars_):
            ax = axes[k // cols][k % cols]
            for j, n in enumerate(names):
                y = self.trajectories[n][v]
                lo, med, hi = np.nanpercentile(y, [5, 50, 95], axis=0)
                ax.fill_between(td, lo, hi, color=f"C{j}", alpha=0.15, lw=0)
                ax.plot(td, med, color=f"C{j}", lw=1.3, label=f"{j + 1}. {n}")
            ax.set_title(v, fontsize=9)
            ax.set_xlabel("days from the decision")
            ax.tick_params(labelsize=7)
        for k in range(len(vars_), rows * cols):
            axes[k // cols][k % cols].axis("off")
        fig.legend(*axes[0][0].get_legend_handles_labels(), loc="lower center", fontsize=7, ncol=1)
        fig.suptitle(f"patient {self.patient}: top {len(names)} candidates (median, 90% band over "
                     f"{self.draws} posterior draws)", fontsize=10)
        fig.tight_layout(rect=(0, 0.02 + 0.03 * len(names), 1, 1))
        path = Path(path)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path


def predicted_outcomes(fit: FitResult, *, horizon_days: float = 28.0, draws: int = 30, seed: int = 0,
                       decision_time: float | None = None, options: Options | None = None,
                       step_h: float = 2.0, prior_for_unfitted: bool = True, with_adjuncts: bool = True,
                       P: np.ndarray | None = None, adjunct_bases: list[str] | None = None, rtol: float | None = None,
                       trajectories: dict | None = None, condition_unfitted: bool = True, stack: bool = True,
                       search_draws: int = 8, screened: dict | None = None, consistent_draws: bool = False,
                       search_race_sds: float | None = None, draw_rows: list | None = None):
    """Per-draw outcomes of each candidate: ``({candidate: {outcome: array}}, kinds, notes, t_dec)``.
    ``P``: parameter rows to use instead of posterior draws (e.g. the true parameters).
    ``adjunct_bases``: add the adjuncts to these base candidates (default: the one with the best
    expected utility). ``trajectories``: a dict filled with ``{candidate: {variable: (draws, times)}}``
    of the utility's variables and ``"_times"`` (hours since the decision time).
    ``condition_unfitted``: draw the screened, unfitted parameters from their posterior given the
    data (:class:`~opiaxis.calibrate.fit.UnfittedPosterior`) rather than the population.
    ``stack``: also try a second adjunct on top of each base's best adjunct (see :func:`_adjunct_stages`).
    ``rtol``: the candidates' solver tolerance (default :data:`CANDIDATE_RTOL`; the history to the
    decision time runs at 1e-4). 1e-3 had moved every base candidate's expected loss by at most 0.0005
    loss units against 1e-4 (MID 0.1) for 57% of the CPU time (docs/precision-recovery.md).
    ``search_draws``: the adjunct search (:func:`_adjunct_stages`) compares adjuncts on the first this
    many draws (paired: the same draws for every candidate); the combinations it selects are then
    simulated for every draw and ranked with the bases. ``screened``: a dict filled with the
    searched combinations' expected loss on those draws (those not ranked are reported there; a
    combination dropped inside the search, on the first half of them). ``search_race_sds``: the
    racing threshold inside the search (default :data:`STAGE_RACE_SDS`; ``inf``: no racing there).
    ``consistent_draws``: only posterior draws that the data do not contradict
    (``FitResult.draw_parameters(consistent=True)``; ``recommend`` asks for them). ``draw_rows``: a
    list the draws' parameter rows are appended to (the value of information, :mod:`.voi`)."""
    prob = fit.problem
    model, sim = prob.model, prob.sim
    opts = options or load_options()
    rtol = CANDIDATE_RTOL if rtol is None else rtol
    notes = check_options(model, opts, horizon_days=horizon_days, draws=draws)
    t_dec = prob.data.end if decision_time is None else float(decision_time)
    if P is None:  # (a given P is a what-if for the record as it is)
        notes += check_decision_time(prob.data, decision_time)
    H = horizon_days * 24.0
    x_end = None
    if P is None:
        P, x_end = fit.draw_parameters(draws, seed, prior_for_unfitted=prior_for_unfitted,
                                       condition_unfitted=condition_unfitted, consistent=consistent_draws,
                                       end_states=True)
        if draws == 1:
            P[0], x_end = fit.parameter_row(), None
    if draw_rows is not None:
        draw_rows.append(P)
    x0 = _decision_state(prob, P, t_dec, rtol, x_end)
    times = np.arange(t_dec, t_dec + H + 1e-9, step_h)
    runs = _Runs(sim, model, P, x0, times, t_dec, H, rtol, notes, trajectories is not None)
    n_s = min(int(search_draws), P.shape[0]) if search_draws else P.shape[0]
    racing = with_adjuncts and n_s < P.shape[0]
    bases = [(name, [spec], "intervention") for name, spec in opts.candidates.items() if not _available(model, spec)]
    if not racing:
        runs.run(bases, runs.results)
        if with_adjuncts:
            final = _adjunct_stages(lambda items: runs.run(items, runs.results), runs.results, n_s, opts, model,
                                    adjunct_bases, stack)
            runs.run([it for it in final if it[0] not in runs.results], runs.results)
    else:
        search = lambda items: runs.run(items, runs.found, slice(0, n_s))  # noqa: E731
        search(bases)
        final = _adjunct_stages(search, runs.found, n_s, opts, model, adjunct_bases, stack,
                                stage=lambda items, base_of: runs.search_stage(items, n_s, base_of, opts,
                                                                               search_race_sds))
        dropped = _race(runs, search, bases + final, n_s, opts)
        if screened is not None:
            screened.update({k: float(composite(v, opts.weights).mean()) for k, v in runs.partial.items()})
            screened.update({k: float(composite(v, opts.weights).mean()) for k, v in runs.found.items()})
        notes.append(f"adjuncts searched on {n_s} of {P.shape[0]} draws ({len(runs.found) + len(runs.partial)} "
                     f"combinations, {len(runs.partial)} of them dropped after {n_s // 2} draws); each drug "
                     "class's best combination is ranked on every draw")
        if dropped:
            notes.append(f"{dropped} candidate(s) clearly worse than the best on those draws (paired loss difference "
                         f"above the MID by more than {RACE_SDS:g} SD) were not simulated further: their expected "
                         "loss on the search draws is in Recommendation.screened")
    results, kinds = runs.results, {k: runs.kinds[k] for k in runs.results}
    if trajectories is not None:
        trajectories.update(runs.trajectories())
    missing = [f"{k} ({TERMS[k][0]})" for k in TERMS if not sim.has(TERMS[k][0])]
    if missing:
        notes.append("outcomes not in the model (left out of the utility): " + ", ".join(missing))
    if not sim.has("craving"):
        notes.append("return to use is not modelled (no reward/behaviour module in this model): the ranking "
                     "does not credit medications for relapse prevention or retention")
    return results, kinds, notes, t_dec


def factorial_combinations(model, opts: Options, max_adjuncts: int = 2) -> list[tuple[str, tuple]]:
    """Every simulable base candidate with every set of at most ``max_adjuncts`` adjuncts (no drug
    or intervention parameter twice): the space :func:`predicted_outcomes`' search explores
    greedily, for :func:`combination_outcomes` (e.g. a truth-known study's true best)."""
    from itertools import combinations
    bases = [b for b, s in opts.candidates.items() if not _available(model, s)]
    adj = [a for a, s in opts.adjuncts.items() if not _available(model, s)]
    sets = [c for k in range(max_adjuncts + 1) for c in combinations(sorted(adj), k)
            if not any(_overlap(opts.adjuncts[x], opts.adjuncts[y]) for x, y in combinations(c, 2))]
    return [(b, c) for b in bases for c in sets if all(_combinable(opts.candidates[b], opts.adjuncts[a]) for a in c)]


# Racing (Maron & Moore, NIPS 1993): after the search draws, a candidate whose paired loss
# difference from the best there exceeds the MID by more than RACE_SDS standard deviations (of that
# difference over the search draws) is not simulated on the other draws. 5 SD: with the SD itself
# estimated from 8 draws (its 95% upper bound is 1.6x the estimate) the normal probability of a
# difference below the MID on a further draw is still < 1e-3, so such a candidate would not be
# flagged a tie with rank 1 (tie: > 5% of draws within the MID). In the decision study's
# misspecified typical-1 it drops buprenorphine 24 and 32 mg without adjuncts (0.4 loss units behind
# the best on every search draw); most patients' candidates all stay (docs/precision-recovery.md).
RACE_SDS = 5.0
# Racing inside the adjunct search (_Runs.search_stage): a combination more than the MID +
# STAGE_RACE_SDS SD behind its base's best combination on the first half of the search draws (4 of
# 8) is not simulated on the other half. What the search selects from a stage is a base's best
# combination and the runner-up within the MID of it, on the mean over all 8 search draws; a dropped
# one could only have been selected if its 8-draw mean difference m8 from the best came within the
# MID. Given the first 4 paired differences (mean m4, SD s4), the next 4 have mean m4' with the
# Student-t(3) predictive m4' - m4 ~ s4·sqrt(1/4 + 1/4)·t3, and m8 = (m4 + m4')/2 < MID needs
# m4' - m4 < -2(m4 - MID) < -2·3·s4: P(t3 < -8.5) = 0.0017 per dropped combination (5 SD: 0.0004
# but it drops 8 of 35 first adjuncts instead of ~30 in the benchmark patients, where first adjuncts
# other than a laxative trail it by 3.6-8 SD). The stacked pairs of a base are mostly within 3 SD.
STAGE_RACE_SDS = 3.0


class _Runs:
    """Candidate simulations of one recommendation: per-draw outcomes of the draws simulated so far
    (``found``: the search draws; ``results``: every draw) and the utility variables' trajectories
    of each simulated part, from one dose cache."""

    def __init__(self, sim, model, P, x0, times, t_dec, H, rtol, notes, keep_trajectories: bool):
        self.sim, self.model, self.P, self.x0, self.times = sim, model, P, x0, times
        self.t_dec, self.H, self.rtol, self.notes = t_dec, H, rtol, notes
        self.keep = keep_trajectories
        self.found: dict = {}
        self.results: dict = {}
        self.kinds: dict = {}
        self.parts: dict = {}      # {name: {first draw: {variable: (draws, T)}}}
        self.doses: dict = {}
        self.partial: dict = {}    # searched combinations dropped after the first half of the search draws

    def run(self, items, into: dict, rows: slice = slice(None)) -> None:
        """Simulate candidates [(name, specs, kind)] for the draws ``rows`` in ONE kernel batch."""
        P, x0 = self.P[rows], self.x0[rows]
        for name, kind, o, traj in _simulate(self.sim, self.model, items, P, x0, self.times, self.t_dec, self.H,
                                             self.rtol, self.notes, self.doses, self.keep):
            into[name] = o
            self.kinds.setdefault(name, kind)
            if self.keep:
                self.parts.setdefault(name, {})[rows.start or 0] = traj

    def search_stage(self, items, n_s: int, base_of: dict, opts: Options, sds: float | None = None) -> None:
        """One stage of the adjunct search (:func:`_adjunct_stages`) into ``found``: every
        combination on the first half of the ``n_s`` search draws, then on the second half only those
        not clearly worse than the best of their base's selection group (``base_of``: {name: base} for
        the stage's combinations and for those already searched that the stage's choice is made among)
        on the first half — paired loss difference above the MID by more than :data:`STAGE_RACE_SDS` SD of that
        difference (the error bound is at its definition; ``sds`` another threshold). The dropped ones
        go to ``partial``."""
        sds = STAGE_RACE_SDS if sds is None else sds
        n_h = n_s // 2
        if n_h < 4:   # the error bound at STAGE_RACE_SDS is for 4 draws or more
            self.run(items, self.found, slice(0, n_s))
            return
        first: dict = {}
        self.run(items, first, slice(0, n_h))
        W = opts.weights
        L = {name: composite(o, W) for name, o in first.items()}
        for name in base_of.keys() - first.keys():   # the rest of a base's selection group, already searched
            if name in self.found:
                L[name] = composite(self.found[name], W)[:n_h]
        best = {}
        for name in sorted(L, key=lambda k: _mean_or_inf(L[k])):
            best.setdefault(base_of[name], name)
        keep = []
        for it in items:
            if _in_contention(L[it[0]] - L[best[base_of[it[0]]]], opts.mid, sds):
                keep.append(it)
            else:
                self.partial[it[0]] = first[it[0]]
        rest: dict = {}
        self.run(keep, rest, slice(n_h, n_s))
        for name, _, _ in keep:
            self.found[name] = {k: np.concatenate([first[name][k], rest[name][k]]) for k in rest[name]}

    def complete(self, items, n_s: int) -> None:
        """Candidates simulated on the first ``n_s`` draws (in ``found``): the other draws, then
        every draw into ``results``."""
        rest: dict = {}
        self.run(items, rest, slice(n_s, self.P.shape[0]))
        for name, _, _ in items:
            self.results[name] = {k: np.concatenate([self.found[name][k], rest[name][k]]) for k in rest[name]}

    def trajectories(self) -> dict:
        """{candidate: {variable: (draws, T)}} of the ranked candidates, and "_times"."""
        out = {"_times": self.times - self.t_dec}
        for name in self.results:
            parts = self.parts.get(name, {})
            if parts:
                first = [parts[k] for k in sorted(parts)]
                out[name] = {v: np.concatenate([p[v] for p in first]) for v in first[0]}
        return out


def _mean_or_inf(loss: np.ndarray) -> float:
    """A candidate's mean loss over draws, +inf when a draw's outcome is not finite (its solver
    failed even after :func:`_retry_failed`; reported in the notes): such a candidate is never
    the reference that racing compares the others with, and racing drops it."""
    m = float(np.mean(loss))
    return m if np.isfinite(m) else np.inf


def _in_contention(d: np.ndarray, mid: float, sds: float) -> bool:
    """The racing rule (:data:`RACE_SDS`, :data:`STAGE_RACE_SDS`): a candidate whose paired loss
    differences ``d`` from the reference (draws) are not above the MID by more than ``sds`` SD of
    ``d`` stays in contention; a non-finite difference does not."""
    sd = float(d.std(ddof=1)) if len(d) > 1 else 0.0
    return bool(d.mean() - mid <= sds * sd or d.mean() <= mid)


def _race(runs: _Runs, search, items, n_s: int, opts: Options) -> int:
    """Rank on every draw only the candidates still in contention after the ``n_s`` search draws
    (:data:`RACE_SDS`); the number dropped."""
    search([it for it in items if it[0] not in runs.found])
    W = opts.weights
    L = {name: composite(runs.found[name], W) for name, _, _ in items}
    best = min(L, key=lambda k: _mean_or_inf(L[k]))
    keep = [it for it in items if _in_contention(L[it[0]] - L[best], opts.mid, RACE_SDS)]
    runs.complete(keep, n_s)
    return len(items) - len(keep)


# The candidates' solver tolerance from the decision time (the history to it runs at 1e-4). 3e-3
# (fifth pass): 25-35% fewer RODAS4 steps than 1e-3 (typical decision-study patient, 20 draws:
# buprenorphine 16 mg 598 -> 452 steps, methadone 540 -> 354, no medication 427 -> 299) and every
# expected loss within 0.0005 loss units of 1e-3 (MID 0.1). 1e-2 (eighth pass, on the model with the
# gut's defecation-threshold switch, whose kink makes a third of the steps rejected ones): 13-40%
# fewer steps than 3e-3 (benchmark draws: no medication 306 -> 265, buprenorphine 8 mg 651 -> 478,
# buprenorphine 32 mg + PEG + naloxegol 705 -> 420, methadone 30->60 mg + samidorphan 862 -> 619),
# per-draw losses within 0.006 and expected losses within 0.008 loss units of 3e-3, the same order
# of every ranked candidate and the same ties in the two benchmark patients, recommend 25-28% less
# CPU; the decision study's rank 1 against 3e-3: docs/precision-recovery.md, issue 15 eighth pass.
CANDIDATE_RTOL = 1e-2
# What-ifs and truths (combination_outcomes: a truth-known study's true best) stay at 3e-3, so that
# a truth is not computed at the tolerance whose effect on decisions it is used to judge.
WHAT_IF_RTOL = 3e-3


def _decision_state(prob, P, t_dec, rtol, x_end=None):
    """Each parameter row's state at the decision time: the history simulated once (at most rtol
    1e-4), from which every candidate resumes. ``x_end``: the rows' states at the last measurement
    time from the data check's simulation of the record (``FitResult.draw_parameters(end_states=
    True)``), used when it is this state: the decision time is the last measurement, the check ran
    at the history's tolerance (same atol) and no history dose falls on the decision time (the
    record's simulation applies a dose at its last time before that output; the history here
    stops before it). The kernel's steps do not depend on the output times (Hermite output), so
    that run's state is the one simulated here, bit for bit."""
    hist = prob.data.doses
    on_time = len(hist) and bool((hist["TIME"] == t_dec).any())
    if x_end is not None and len(prob.times) and t_dec == prob.times[-1] and prob.rtol == min(rtol, 1e-4) \
            and not on_time:
        return x_end
    hist = hist[hist["TIME"] < t_dec] if len(hist) else hist
    if t_dec > prob.t0:
        Xh, _ = prob.sim.run(P, np.array([prob.t0, t_dec]), hist, t0=prob.t0, rtol=min(rtol, 1e-4), atol=1e-9)
        return Xh[:, -1, :]
    return prob.sim.initial_state(P)


def combination_outcomes(fit, combinations: list[tuple[str, tuple]], P: np.ndarray, *, horizon_days: float = 28.0,
                         options: Options | None = None, step_h: float = 2.0, rtol: float | None = None) -> dict:
    """Outcomes ``{"base + adjunct + …": {outcome: (rows,)}}`` of the given (base, adjuncts)
    combinations for parameter rows ``P`` (e.g. a patient's true parameters), from the decision time
    (the last measurement) over the horizon — the same doses, states and outcomes as
    :func:`predicted_outcomes`, for any set of combinations (a full factorial, a what-if), at
    :data:`WHAT_IF_RTOL` unless ``rtol`` says otherwise (the candidates run at :data:`CANDIDATE_RTOL`)."""
    prob = fit.problem
    opts = options or load_options()
    rtol = WHAT_IF_RTOL if rtol is None else rtol
    t_dec, H = prob.data.end, horizon_days * 24.0
    x0 = _decision_state(prob, P, t_dec, rtol)
    times = np.arange(t_dec, t_dec + H + 1e-9, step_h)
    items = [(" + ".join([b, *adj]), [opts.candidates[b], *[opts.adjuncts[a] for a in adj]], "")
             for b, adj in combinations]
    return {name: o for name, _, o, _ in _simulate(prob.sim, prob.model, items, P, x0, times, t_dec, H, rtol, [], {})}


def _candidate_doses(model, specs, t_dec, H, cache: dict | None) -> pd.DataFrame | None:
    """A combination's dose rows from the decision time: each regimen text expanded once (``cache``:
    {(text, t_dec, H): rows}) and the combination's texts concatenated. The same events as one
    :func:`_doses` call on all texts: a combination never doses one drug twice (:func:`_overlap`),
    so simultaneous events of its regimens go to different compartments and their order does not
    matter. (Expanding every combination's regimens anew was ~0.6 CPU-s of a recommendation.)"""
    frames = []
    for text in (t for s in specs for t in s.get("regimens", [])):
        key = (text, t_dec, H)
        if cache is None or key not in cache:
            d = _doses(model, [text], t_dec, H)
            if cache is None:
                frames.append(d)
                continue
            cache[key] = d
        frames.append(cache[key])
    frames = [f for f in frames if f is not None and len(f)]
    return pd.concat(frames, ignore_index=True) if frames else None


def _simulate(sim, model, items, P, x0, times, t_dec, H, rtol, notes, dose_cache: dict | None = None,
              trajectories: bool = False):
    """Candidates [(name, specs, kind)] for parameter rows ``P`` from states ``x0`` at the decision
    time, in ONE kernel batch: yields (name, kind, outcomes, the utility's variables over the
    window when ``trajectories``, else None).

    The batch's rows are draw-major (row j·C + c: draw j of candidate c, C candidates): Numba's
    ``prange`` gives each of its threads one contiguous block of rows, and candidates differ in
    cost (a 28-day candidate with a daily laxative takes ~3x the steps of no medication), so
    candidate-major blocks put 1.17-1.33x their share of the steps on one thread in a
    recommendation's search batches (the other idle meanwhile); draw-major blocks hold every
    candidate. Each row is integrated alone: the order changes no value."""
    if not items:
        return
    n, C, Ps, frames = P.shape[0], len(items), [], []
    for c, (name, specs, kind) in enumerate(items):
        Pc = P.copy()
        for s in specs:
            for k, v in s.get("parameters", {}).items():
                Pc[:, model.param_index[k]] = v
        Ps.append(Pc)
        d = _candidate_doses(model, specs, t_dec, H, dose_cache)
        if d is not None:   # the same rows for each of the candidate's n parameter rows
            cols = {col: np.tile(d[col].to_numpy(), n) for col in d.columns if col != "ID"}
            frames.append(pd.DataFrame({"ID": np.repeat(np.arange(n) * C + c + 1, len(d)), **cols}))
    Pall, X0 = np.stack(Ps, axis=1).reshape(n * C, P.shape[1]), np.repeat(x0, C, axis=0)
    doses = pd.concat(frames, ignore_index=True) if frames else None
    X, stats = sim.run(Pall, times, doses, t0=t_dec, x0=X0, rtol=rtol, atol=1e-9, per_row=True,
                       outputs=outcome_variables(sim))
    _retry_failed(sim, Pall, X0, doses, times, t_dec, rtol, X, stats)
    for c, (name, specs, kind) in enumerate(items):
        rows = slice(c, None, C)
        if (stats[rows, 2] != 0).any():
            notes.append(f"{name}: solver failed for {(stats[rows, 2] != 0).sum()} draw(s)")
        traj = {} if trajectories else None
        yield name, kind, outcomes(sim, X[rows], Pall[rows], times, traj), traj


def _retry_failed(sim, P, X0, doses, times, t0, rtol, X, stats) -> None:
    """Rows of a candidate batch whose integration failed (step-size underflow) re-run in place at
    tighter tolerances, :data:`WHAT_IF_RTOL` then 1e-4, before a failure is reported: at
    :data:`CANDIDATE_RTOL` (1e-2) step control can fail where 3e-3 does not (eighth session: one
    misspecified decision-study patient's draw stopping buprenorphine, "no medication" and
    XR-naltrexone; its NaN loss then emptied the ranking). A failure is rare, so the retry costs
    nothing otherwise."""
    for tight in (WHAT_IF_RTOL, 1e-4):
        bad = np.flatnonzero(stats[:, 2] != 0)
        if not len(bad) or tight >= rtol:
            continue
        sub = None
        if doses is not None:   # per-row dose IDs are 1-based rows: renumber the failed rows 1..k
            sub = doses[doses["ID"].isin(bad + 1)]
            sub = sub.assign(ID=sub["ID"].map(dict(zip(bad + 1, np.arange(1, len(bad) + 1)))))
        X[bad], stats[bad] = sim.run(P[bad], times, sub, t0=t0, x0=X0[bad], rtol=tight, atol=1e-9, per_row=True,
                                     outputs=outcome_variables(sim))


def _overlap(x, y) -> bool:
    """The same drug or intervention parameter twice is not a second adjunct."""
    return bool(spec_drugs(x) & spec_drugs(y)) or bool(set(x.get("parameters", {})) & set(y.get("parameters", {})))


def _combinable(base, adjunct) -> bool:
    """Whether ``adjunct`` may be added to the base candidate ``base``: not the same drug or
    intervention parameter twice, and the base doses one of the adjunct's ``only_with`` drugs if it
    names any (samidorphan is given only as BUP/SAM, with buprenorphine: candidates.yaml)."""
    if _overlap(base, adjunct):
        return False
    only = adjunct.get("only_with")
    return not only or bool(spec_drugs(base) & set(only))


def drug_class(spec) -> tuple:
    """The drugs a candidate doses and whether it runs to the horizon (a ``{H}`` regimen): methadone
    30→60 and 30→90 mg are one class; a 9-day buprenorphine taper is not buprenorphine maintenance
    (its best adjuncts differ: in the decision study the taper, best of the buprenorphine bases
    without adjuncts, chose PEG + aticaprant for the maintenance doses, whose true best was PEG +
    naloxegol); no medication is its own class."""
    return spec_drugs(spec), any("{H" in t for t in spec.get("regimens", []))


def _adjunct_stages(search, found, n_s, opts, model, adjunct_bases, stack, stage=None) -> list:
    """Adjuncts on the best base of each drug class (or on each of ``adjunct_bases``); with
    ``stack``, every other adjunct on top of each such base's best adjunct (greedy: a second adjunct
    is tried only on the best first one); then each class's best combination (one or two adjuncts)
    on the other bases of its class.

    Per drug class, not on the single best base: an adjunct's effect depends on the drug — a
    laxative removes most of an opioid agonist's constipation term and little of no medication's;
    a κ-antagonist adds κ blockade to methadone, which buprenorphine already has — so the best base
    alone need not be the best base with its adjuncts. (With adjuncts on the best base only, the
    true best was never simulated for 3 of the decision study's first 6 patients:
    docs/precision-recovery.md.) Within a class (doses of one drug) the same combination is
    assumed best and is carried to the other doses.

    Stacking is there because patients get several adjuncts: a constipated patient a laxative *and*
    a PAMORA when the laxative is not enough, a depressed one an antidepressant besides the laxative
    that every opioid-maintained patient gains from; with one adjunct at a time the laxative's gain
    hid every other adjunct's.

    The search (adjuncts, then stacking) runs through ``search`` on the first ``n_s`` draws into
    ``found`` (the same draws for every candidate, so the comparisons are paired; ``found`` holds
    the bases on entry); returned are the selected combinations on every dose of their class
    [(name, specs, kind)], to be ranked on every draw. ``stage(items, {name: base})`` runs the
    adjunct and stacking stages when given (:meth:`_Runs.search_stage`: clear losers within a base
    are dropped after half the search draws), else ``search``."""
    stage = stage or (lambda items, base_of: search(items))
    W = opts.weights
    L = {k: float(composite(v, W)[:n_s].mean()) for k, v in found.items()}
    avail = {a: spec for a, spec in opts.adjuncts.items() if not _available(model, spec)}
    if adjunct_bases:
        bases = list(adjunct_bases)
    else:
        best_of: dict = {}
        for b in sorted(L, key=L.get):
            best_of.setdefault(drug_class(opts.candidates[b]), b)
        bases = list(best_of.values())
    firsts_items = [(f"{b} + {a}", [opts.candidates[b], spec], "adjunct") for b in bases for a, spec in avail.items()
                    if _combinable(opts.candidates[b], spec)]
    # selection groups: a base and its first adjuncts (first_adjuncts); its first adjuncts alone and
    # with a second one (_best_combinations)
    stage(firsts_items, {f"{b} + {a}": b for b in bases for a in avail} | {b: b for b in bases})

    def first_adjuncts(b):
        """The best first adjunct on ``b`` (when it improves on ``b`` alone) and the runner-up when
        the search draws cannot separate the two (expected losses within the MID): in the decision
        study's misspecified typical-1 the methadone class's first adjuncts samidorphan, aticaprant
        and PEG were 0.05-0.07 apart, and stacking on samidorphan alone never tried PEG + aticaprant,
        the true best."""
        combos = {a: composite(found[f"{b} + {a}"], W).mean() for a in avail if f"{b} + {a}" in found}
        if not combos or min(combos.values()) >= L[b]:
            return []
        ranked = sorted(combos, key=combos.get)
        return ranked[:2] if len(ranked) > 1 and combos[ranked[1]] - combos[ranked[0]] < opts.mid else ranked[:1]

    firsts = {b: first_adjuncts(b) for b in bases}
    if stack:
        stacked = _stacked(firsts, avail, opts)
        stage(stacked, {f"{b} + {a1} + {a2}": b for b, a1s in firsts.items() for a1 in a1s for a2 in avail}
              | {f"{b} + {a1}": b for b, a1s in firsts.items() for a1 in a1s})
    items = []
    if adjunct_bases is None:
        for b, a1s in firsts.items():
            if not a1s:
                continue
            for label, specs in _best_combinations(found, b, a1s, avail, W, opts.mid):
                items += [(f"{o} + {label}", [opts.candidates[o], *specs], "adjunct") for o in L
                          if drug_class(opts.candidates[o]) == drug_class(opts.candidates[b])
                          and all(_combinable(opts.candidates[o], s) for s in specs)]
    return items


def _stacked(firsts: dict, avail: dict, opts: Options) -> list:
    """Every other adjunct on top of each base's first adjuncts ({base: [adjunct]}), each pair once
    and never the same drug or intervention parameter twice."""
    items, seen = [], set()
    for b, a1s in firsts.items():
        for a1 in a1s:
            for a2, spec in avail.items():
                key = (b, frozenset((a1, a2)))
                if a2 == a1 or key in seen or _overlap(avail[a1], spec) or not _combinable(opts.candidates[b], spec):
                    continue
                seen.add(key)
                items.append((f"{b} + {a1} + {a2}", [opts.candidates[b], avail[a1], spec], "adjunct"))
    return items


def _best_combinations(results, b, a1s, avail, W, mid: float) -> list[tuple[str, list]]:
    """Base ``b``'s best combination (one of its first adjuncts ``a1s`` alone or with a second one)
    and the runner-up when the search draws cannot separate the two (expected losses within the
    MID), as for the first adjuncts: the class's other doses then carry both and every draw decides.
    With the best alone, misspecified hpa_depressed-3 of the decision study never ranked its true
    best, buprenorphine 32 mg + SSRI + PEG: on the class's best dose (8 mg) + PEG + naloxegol led
    + PEG + SSRI by 0.05 on the 8 search draws, and only + PEG + naloxegol was carried to 32 mg."""
    combos = {}
    for a1 in a1s:
        combos[a1] = (composite(results[f"{b} + {a1}"], W).mean(), [avail[a1]])
        for a2 in avail:
            if f"{b} + {a1} + {a2}" in results:
                combos[f"{a1} + {a2}"] = (composite(results[f"{b} + {a1} + {a2}"], W).mean(), [avail[a1], avail[a2]])
    # one name per set of adjuncts (a pair stacked in either order is one combination)
    unique = {}
    for label in sorted(combos, key=lambda c: combos[c][0]):
        unique.setdefault(frozenset(label.split(" + ")), label)
    ranked = list(unique.values())
    keep = ranked[:2] if len(ranked) > 1 and combos[ranked[1]][0] - combos[ranked[0]][0] < mid else ranked[:1]
    return [(label, combos[label][1]) for label in keep]


def _driver(T_c: dict, T_ref: dict, k: int = 2) -> str:
    d = {t: float(np.mean(T_c[t] - T_ref[t])) for t in T_c}
    top = sorted(d, key=lambda t: -abs(d[t]))[:k]
    return ", ".join(f"{t} {d[t]:+.2f}" for t in top if abs(d[t]) >= 0.005) or "none"


def rank(results: dict, kinds: dict, weights: dict | None = None, mid: float = 0.1) -> pd.DataFrame:
    """The ranking table (see the module docstring for the decision rule)."""
    w = weights if weights is not None else load_options().weights
    names = list(results)
    terms = {n: loss_terms(results[n], w) for n in names}
    n_draws = len(next(iter(results[names[0]].values())))
    L = np.array([np.sum(list(terms[n].values()), axis=0) if terms[n] else np.zeros(n_draws) for n in names])
    order = np.argsort(L.mean(axis=1), kind="mergesort")
    # p_best: share of draws in which the candidate is (jointly) best, ties between candidates split
    is_min = np.isclose(L, L.min(axis=0, keepdims=True), rtol=0, atol=1e-12)
    p_best = (is_min / is_min.sum(axis=0, keepdims=True)).mean(axis=1)
    b = order[0]
    rows = []
    for pos, i in enumerate(order):
        n = names[i]
        nxt = order[pos + 1] if pos + 1 < len(order) else None
        d = L[i] - L[b]
        ref = order[1] if (pos == 0 and len(order) > 1) else b
        row = {"rank": pos + 1, "candidate": n, "kind": kinds[n], "composite": L[i].mean(),
               "composite_lo90": np.percentile(L[i], 5), "composite_hi90": np.percentile(L[i], 95),
               "expected_utility": -L[i].mean(), "p_best": float(p_best[i]),
               "p_beats_next": float(np.mean(L[i] < L[nxt])) if nxt is not None else np.nan,
               "delta_vs_best": float(d.mean()), "delta_lo90": float(np.percentile(d, 5)),
               "delta_hi90": float(np.percentile(d, 95)),
               "tie": bool(pos > 0 and np.mean(d < mid) > 0.05),
               "driver": ("vs rank 2: " if pos == 0 else "") + _driver(terms[n], terms[names[ref]]) if len(order) > 1 else ""}
        for t, v in terms[n].items():
            row[f"loss_{t}"] = float(v.mean())
        for k, v in results[n].items():
            row[k] = float(np.median(v))
            row[k + "_lo90"] = float(np.percentile(v, 5))
            row[k + "_hi90"] = float(np.percentile(v, 95))
        rows.append(row)
    t = pd.DataFrame(rows)
    t.attrs["loss"] = {names[i]: L[i] for i in order}
    return t


def recommend(fit: FitResult, *, horizon_days: float = 28.0, draws: int = 30, seed: int = 0,
              decision_time: float | None = None, options: Options | None = None, weights: dict | None = None,
              step_h: float = 2.0, condition_unfitted: bool = True, consistent_draws: bool = True) -> Recommendation:
    """Ranked candidate interventions (posterior expected utility, p_best, ties, 90% intervals over
    posterior draws) and the patient's phenotype / risk strata with their evidence."""
    import time as _time
    t = _time.perf_counter()
    opts = options or load_options(weights=weights)
    traj: dict = {}
    screened: dict = {}
    rows: list = []
    results, kinds, notes, t_dec = predicted_outcomes(fit, horizon_days=horizon_days, draws=draws, seed=seed,
                                                      decision_time=decision_time, options=opts, step_h=step_h,
                                                      trajectories=traj, condition_unfitted=condition_unfitted,
                                                      screened=screened, consistent_draws=consistent_draws,
                                                      draw_rows=rows)
    table = rank(results, kinds, opts.weights, opts.mid)
    from .stratify import phenotype
    strata = phenotype(fit)
    return Recommendation(fit.patient, table, strata, notes, draws, horizon_days * 24, t_dec,
                          _time.perf_counter() - t, opts.describe(), table.attrs["loss"], traj, screened,
                          parameters=rows[0] if rows else None)
