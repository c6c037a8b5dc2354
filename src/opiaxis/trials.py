"""Small reusable helpers for simulated trials.

* randomisation to arms (:func:`randomise`) and to options (:func:`choose`), each patient from
  its own stream (:class:`opiaxis.streams.Streams`) — a patient's draws do not depend on the
  cohort size, chunking or the other patients;
* proportions with confidence intervals (:func:`proportion`, Wilson or Clopper–Pearson via
  statsmodels) and differences of two proportions (:func:`difference`, Newcombe's hybrid score
  interval or Wald, via statsmodels);
* :func:`simulate_arms`: one simulation per arm with the arm's regimens and parameter overrides.
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
