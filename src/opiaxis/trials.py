"""Small reusable helpers for simulated trials.

* randomisation to arms (:func:`randomise`) and to options (:func:`choose`), each patient from
  its own stream (:class:`opiaxis.streams.Streams`) — a patient's draws do not depend on the
  cohort size, chunking or the other patients;
* proportions with confidence intervals (:func:`proportion`, Wilson or Clopper–Pearson via
  statsmodels) and differences of two proportions (:func:`difference`, Newcombe's hybrid score
  interval or Wald, via statsmodels);
* :func:`simulate_arms`: one simulation per arm with the arm's regimens and parameter overrides;
* paired arms (common random numbers): :func:`counterfactual_arms` puts every randomised patient in
  every arm, and :func:`paired_effect` gives the model's expected treatment effect from the
  within-patient differences, with its standard error.

Paired arms. A simulated trial has two questions: what would *a trial of this size* have reported
(the statistic on the randomised arm assignment, as the real trial computed it — it carries the
luck of who was randomised where), and what is *the model's* treatment effect (which should not
depend on that luck). Every per-patient draw (physiology, covariates, placebo response, rating
noise, diaries) comes from the patient's own stream and not from its arm, so a patient simulated
under both arms meets the same draws in each: the within-patient difference holds the drug's effect
alone, and its mean over the randomised patients estimates the average treatment effect with a
standard error free of between-patient and rating-noise variance (common random numbers; Law,
Simulation Modeling and Analysis, 5th ed. 2015, §11.2). The trial-sized statistic is still read
on the randomised assignment, from the same simulations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import OpiaxisInputError
from .streams import Purpose, Streams


def randomise(ids, seed: int, weights=(1, 1), purpose: Purpose = Purpose.ARM) -> np.ndarray:
    """Arm index (0..len(weights)-1) of each patient, from its own stream (simple randomisation
    with the given allocation ratio): :meth:`opiaxis.streams.Streams.randomise`."""
    return Streams(seed).randomise(ids, weights, purpose)


def choose(ids, seed: int, options, weights=None) -> list:
    """Assign each patient one of ``options`` (e.g. opioid regimens of a trial population) with
    probabilities ``weights``, from its own stream."""
    options = list(options)
    idx = Streams(seed).randomise(ids, weights if weights is not None else [1] * len(options), Purpose.CHOICE)
    return [options[i] for i in idx]


@dataclass(kw_only=True)
class Proportion:
    count: int
    n: int
    rate: float
    low: float
    high: float
    method: str

    def as_dict(self, scale: float = 100.0) -> dict:
        return {"n": self.n, "responders": self.count, "rate": scale * self.rate,
                "ci_low": scale * self.low, "ci_high": scale * self.high}

    def __str__(self):
        return f"{100 * self.rate:.1f}% ({self.count}/{self.n}; 95% CI {100 * self.low:.1f}–{100 * self.high:.1f})"


def proportion(flags, *, alpha: float = 0.05, method: str = "wilson") -> Proportion:
    """Responder rate with a confidence interval (``method``: 'wilson' or 'beta' = Clopper–Pearson)."""
    from statsmodels.stats.proportion import proportion_confint
    flags = np.asarray(flags, bool)
    n, x = int(flags.size), int(flags.sum())
    if n == 0:
        raise OpiaxisInputError("no patients to compute a proportion from")
    lo, hi = proportion_confint(x, n, alpha=alpha, method=method)
    return Proportion(count=x, n=n, rate=x / n, low=float(lo), high=float(hi), method=method)


@dataclass(kw_only=True)
class Difference:
    diff: float
    low: float
    high: float
    method: str

    def as_dict(self, scale: float = 100.0) -> dict:
        return {"difference": scale * self.diff, "ci_low": scale * self.low, "ci_high": scale * self.high}

    def __str__(self):
        return f"{100 * self.diff:+.1f} points (95% CI {100 * self.low:+.1f} to {100 * self.high:+.1f})"


def difference(a: Proportion, b: Proportion, *, alpha: float = 0.05, method: str = "newcomb") -> Difference:
    """Difference of two independent proportions a − b with a CI ('newcomb', 'wald', 'score', …)."""
    from statsmodels.stats.proportion import confint_proportions_2indep
    lo, hi = confint_proportions_2indep(a.count, a.n, b.count, b.n, method=method, compare="diff", alpha=alpha)
    return Difference(diff=a.rate - b.rate, low=float(lo), high=float(hi), method=method)


@dataclass(kw_only=True)
class PairedEffect:
    """Mean within-patient difference (arm − control) over ``n`` patients simulated under both arms
    with the same draws, its standard error and t-interval, and the standardised effect: the mean
    over the pooled between-patient SD of the outcome in the two arms (the effect size a trial of
    these patients estimates, e.g. Hedges' g without its small-sample correction)."""
    mean: float
    se: float
    low: float
    high: float
    n: int
    standardised: float

    def as_dict(self, prefix: str = "expected difference") -> dict:
        return {prefix: self.mean, f"{prefix} SE": self.se, f"{prefix} CI low": self.low,
                f"{prefix} CI high": self.high, f"{prefix} n": self.n, f"{prefix} standardised": self.standardised}

    def __str__(self):
        return (f"{self.mean:+.2f} (SE {self.se:.2f}; 95% CI {self.low:+.2f} to {self.high:+.2f}; "
                f"standardised {self.standardised:+.2f}; {self.n} paired)")


def paired_effect(arm, control, *, alpha: float = 0.05) -> PairedEffect:
    """Expected effect from paired outcomes: ``arm[i]`` and ``control[i]`` are patient i's outcome
    under each arm, simulated with the same draws (:func:`counterfactual_arms`). Patients with a
    non-finite outcome in either arm (a failed solve) are left out of both."""
    from scipy.stats import t as student_t
    a, c = np.asarray(arm, float), np.asarray(control, float)
    if a.shape != c.shape or a.ndim != 1:
        raise OpiaxisInputError(f"paired outcomes need two 1-D arrays of one length, got shapes {a.shape} and "
                                f"{c.shape}", field="arm")
    keep = np.isfinite(a) & np.isfinite(c)
    a, c = a[keep], c[keep]
    n = int(a.size)
    if n < 2:
        raise OpiaxisInputError(f"a paired effect needs at least 2 patients with both outcomes, got {n}", field="arm")
    d = a - c
    se = float(d.std(ddof=1) / np.sqrt(n))
    half = float(student_t.ppf(1 - alpha / 2, n - 1)) * se
    sd = float(np.sqrt((a.var(ddof=1) + c.var(ddof=1)) / 2))
    return PairedEffect(mean=float(d.mean()), se=se, low=float(d.mean() - half), high=float(d.mean() + half), n=n,
                        standardised=float(d.mean() / sd) if sd > 0 else float("nan"))


@dataclass(kw_only=True)
class PairedOutcomes:
    """Each randomised patient's outcome under every arm, simulated with the same draws (common
    random numbers), and the arm it was randomised to (``arm[i]`` indexes ``names``; NaN outcome
    where a solve failed)."""
    ids: np.ndarray
    arm: np.ndarray
    names: tuple[str, ...]
    outcomes: dict[str, np.ndarray]

    def randomised(self, name: str) -> np.ndarray:
        """The outcomes of the patients randomised to ``name`` (what the trial observed)."""
        if name not in self.names:
            raise OpiaxisInputError(f"no arm {name!r}; arms are {list(self.names)}", field="arm")
        v = self.outcomes[name][self.arm == self.names.index(name)]
        return v[np.isfinite(v)]

    def expected(self, name: str, control: str, *, alpha: float = 0.05) -> PairedEffect:
        """The model's expected effect of ``name`` against ``control`` over every randomised patient."""
        return paired_effect(self.outcomes[name], self.outcomes[control], alpha=alpha)


def counterfactual_arms(arms: dict[str, dict], ids) -> dict[str, dict]:
    """The same arms with every patient of ``ids`` in each (for :func:`simulate_arms`): each patient
    is simulated under every arm with its own, arm-independent draws (common random numbers). The
    randomised assignment is kept by the caller to read the trial-sized statistic."""
    ids = np.asarray(ids)
    return {name: {**spec, "ids": ids} for name, spec in arms.items()}


def simulate_arms(model, ids, seed: int, arms: dict[str, dict], times, *, overrides: dict | None = None,
                  variability: bool = True, regimen_of=None, options=None):
    """Simulate each arm: ``arms = {name: {"ids": [...], "regimens": [...], "parameters": {...}}}``.

    ``regimen_of`` (optional) maps a patient id to extra regimens of its own (e.g. its background
    opioid); patients sharing the same extra regimens are simulated together. Returns
    ``{name: [(ids, Results), ...]}``. Parameters come from :func:`opiaxis.population.sample_parameters`
    with the trial seed, so a patient has the same physiology whichever arm it is in.
    """
    from .dosing import EventTable
    from .engine import simulate
    from .population import sample_parameters
    out = {}
    for name, spec in arms.items():
        a_ids = np.asarray(spec["ids"])
        groups: dict[tuple, list] = {}
        for pid in a_ids:
            extra = tuple(regimen_of(pid)) if regimen_of else ()
            groups.setdefault(extra, []).append(pid)
        res = []
        for extra, g_ids in groups.items():
            g_ids = np.asarray(g_ids)
            texts = list(extra) + list(spec.get("regimens", []))
            P = sample_parameters(model, g_ids, seed, overrides={**(overrides or {}), **spec.get("parameters", {})},
                                  variability=variability)
            doses = EventTable.from_regimens(model, texts).for_ids(g_ids).expanded() if texts else None
            res.append((g_ids, simulate(model, P, times, doses, ids=g_ids, options=options)))
        out[name] = res
    return out
