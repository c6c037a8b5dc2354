"""What would decide this: the value of information of one recommendation (issue 15).

When the posterior cannot separate the top candidates of :func:`~opiaxis.calibrate.recommend.recommend`,
the useful answer is which uncertain quantity decides between them and which measurement would
resolve it. From the recommendation's own decision draws (their parameter rows,
``Recommendation.parameters``) and per-draw losses (``Recommendation.draws_loss``; every ranked
candidate is simulated on the same draws, so the losses are paired), extended by
:data:`EXTRA_DRAWS` further draws on which only the candidates of the decision are simulated
(:func:`more_draws`: the same simulation, tolerance and utility, so still paired; the 20-30 draws
of a ranking alone leave the regressions below at the level of their permutation null — in the
decision study's hpa_depressed-1, with 126 uncertain parameters, an irrelevant drug's clearance
correlated 0.56 with the naloxegol-versus-SSRI loss difference over 20 draws):

* **the decision**: rank 1 and the candidates in contention with it — those flagged as a tie, or the
  runner-up when none is;
* **EVPI** (expected value of perfect information) over that decision: the expected loss of the
  posterior decision minus the expected loss if each draw's best were chosen,
  ``min_c E L_c − E min_c L_c`` (loss units; no regression);
* **EVPPI** of each uncertain parameter θ (partial perfect information: knowing θ alone),
  ``min_c E L_c − E_θ min_c E(L_c | θ)``, by the regression method of Strong, Oakley & Brennan
  (Med Decis Making 2014;34:311): each candidate's loss over the draws is regressed on θ and the
  fitted values stand for E(L_c | θ). With the ~30 draws of a recommendation the smoother is a
  polynomial of degree :data:`DEGREE` (1: a straight line) in θ's prior standard-normal deviate z
  (the decision draws of a fitted parameter come from its posterior, of an unfitted one from the
  population or its conditional posterior, all on the z scale of :class:`~opiaxis.model.Variability`).
  The estimator is biased upward in small samples: the fitted values carry the noise of the
  regression, and the minimum over candidates of noisy values is below the minimum of their means
  (even a parameter that does not enter the losses gets a positive EVPPI, ~ (degree/n)·spread of
  the loss differences). Two guards: a bootstrap interval over the draws (:data:`BOOTSTRAPS`
  resamples), and a permutation null (:data:`PERMUTATIONS` shuffles of the draws' losses against
  their parameters, the same shuffle for every parameter, which breaks every association and keeps
  the small-sample bias): a parameter is reported as deciding (``decides``) only when its EVPPI
  exceeds the 95th percentile of the null's maximum over all parameters (family-wise 5% over the
  ~100 uncertain parameters). ``evppi_excess`` is the EVPPI minus the null's mean for that parameter.
  The top :data:`TOP` parameters are also taken two at a time (:func:`evppi_pairs`: the regression on
  both z and their product, its own bootstrap and permutation null over the pairs): two parameters
  that decide only together (the bowel's own rate and the opioid's slowing of it) show there.

Then, for the top parameters by EVPPI (:data:`TOP`), **which measurement informs each**:

* how much the present record informs it: its posterior SD in z over its prior SD (1), as the fit
  holds it (``fitted``: the Laplace posterior; ``conditioned``: the linear conditional of the
  screened, unfitted parameters, :class:`~opiaxis.calibrate.fit.UnfittedPosterior`; ``prior``: no
  read-out of the record depends on it) — :func:`record_information`;
* which read-outs of ``data/readouts.yaml`` are sensitive to it under which condition, from the
  model at the posterior centre (:func:`centre_row`: the fitted parameters at the MAP, the
  conditioned ones at their conditional mean; central finite differences of ±:data:`STEP_Z` prior SD, on the fit's
  noise-standardised scale, one measurement): **drug-free** (the resting state: before opioids or
  after a washout), **on the record's treatment at the decision time**, and **after
  :data:`PROBE_DAYS` d of each candidate in contention** (one per set of drugs; a drug's level only
  where that drug is given); and what one such measurement would leave of the parameter's SD, in
  the linear-Gaussian preposterior at the MAP: with Σ = (I + JᵀJ)⁻¹ the record's linearised
  posterior covariance of z (J: the record's sensitivities to the deciding parameters and the fitted
  and conditioned ones that share a read-out with them, :func:`record_covariance`, :func:`partners`) and s the new measurement's sensitivities (noise SD 1),
  SD_after² = Σ_jj − (Σs)_j² / (1 + sᵀΣs). A measurement that moves with the parameter along the
  direction the record already fixed (stool counts on opioids, which see the bowel's drug-free
  rate and the opioid's slowing only together) leaves its SD where it is; one that sees it alone
  does not. Parameters outside that set are held at the MAP (their effect on the new measurement is
  not counted: SD_after is optimistic). A measurement is named informative
  (``informative_readouts``) when it leaves at most :data:`INFORMATIVE` of the SD and takes at least
  :data:`MIN_GAIN` prior SD off it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import OpiaxisInputError
from ..streams import Purpose, Streams
from .fit import FitResult, _g, resolve_readout
from .recommend import Options, Recommendation, _candidate_doses, load_options, spec_drugs

DEGREE = 1          # the smoother: a polynomial of this degree in z (assumed: ~30 draws; Strong et al. use a GAM)
BOOTSTRAPS = 200    # resamples for the EVPPI and EVPI intervals (90%)
PERMUTATIONS = 200  # shuffles for the permutation null
TOP = 5             # parameters whose measurements are looked for
STEP_Z = 0.5        # finite-difference half-step, prior SD (assumed: within the linear range of most read-outs)
PROBE_DAYS = 7.0    # a measurement on a candidate: after this many days of it (assumed: one week, a clinic visit)
INFORMATIVE = 0.9   # a measurement is named as informative when it leaves at most this share of the SD
REPEATS = 4         # sd_after_repeated: after this many such measurements (assumed: a month of weekly visits)
MIN_GAIN = 0.05     # ... and takes at least this much off it (prior SD; assumed: less is no use to a decision)
EXTRA_DRAWS = 40    # posterior draws added to the recommendation's for the regressions (see the module docstring)


@dataclass(frozen=True, kw_only=True)
class ValueOfInformation:
    """What would decide a recommendation: EVPI over the decision, EVPPI per parameter, measurements."""

    patient: str
    contenders: list                 # rank 1 first
    evpi: float                      # loss units
    evpi_lo90: float
    evpi_hi90: float
    null_max95: float                # 95th percentile of the permutation null's maximum EVPPI over parameters
    table: pd.DataFrame              # per parameter, by EVPPI (see :func:`value_of_information`)
    measurements: pd.DataFrame       # parameter, condition, readout, sensitivity, sd_now, sd_after, sd_after_repeated
    pairs: pd.DataFrame = field(default_factory=pd.DataFrame)   # the top parameters two at a time (:func:`evppi_pairs`)
    draws: int = 0
    mid: float = 0.1                 # the utility's minimal important difference (loss units)
    seconds: float = 0.0
    notes: list = field(default_factory=list)

    def deciding(self) -> pd.DataFrame:
        return self.table[self.table["decides"]]

    def summary(self) -> str:
        """One console line."""
        others = len(self.contenders) - 1
        head = (f"what would decide this (rank 1 vs {others} in contention): EVPI {self.evpi:.3f} "
                f"[{self.evpi_lo90:.3f}, {self.evpi_hi90:.3f}] loss units (MID {self.mid:g})")
        dec = self.deciding()
        if not len(dec):
            return head + "; no single parameter stands out from the permutation null"
        r = dec.iloc[0]
        return (f"{head}; most: {r['parameter']} (EVPPI {r['evppi']:.3f}, {r['informed_by']}, record SD ratio "
                f"{r['sd_ratio']:.2f}); informative read-outs: {r['informative_readouts']}")

    def markdown(self) -> str:
        """The report section "What would decide this"."""
        lines = ["## What would decide this", "",
                 f"Decision between rank 1, **{self.contenders[0]}**, and the candidates in contention with it "
                 f"({self.draws} paired posterior draws):", "",
                 *(f"- {c}" for c in self.contenders[1:]), "",
                 f"EVPI {self.evpi:.3f} loss units (90% bootstrap {self.evpi_lo90:.3f}–{self.evpi_hi90:.3f}; "
                 f"the minimal important difference is {self.mid:g}); "
                 f"a parameter decides when its EVPPI exceeds {self.null_max95:.3f}, the 95th percentile of "
                 "the permutation null's maximum over parameters.", "",
                 "| parameter | EVPPI (90%) | excess over null | decides | record SD ratio | informed by | "
                 "informative read-outs |", "|---|---|---|---|---|---|---|"]
        for _, r in self.table.head(TOP).iterrows():
            lines.append(f"| {r['parameter']} | {r['evppi']:.3f} ({r['evppi_lo90']:.3f}–{r['evppi_hi90']:.3f}) | "
                         f"{r['evppi_excess']:+.3f} | {'yes' if r['decides'] else 'no'} | {r['sd_ratio']:.2f} | "
                         f"{r['informed_by']} | {r['informative_readouts'] or '(not among the top)'} |")
        if len(self.pairs):
            lines += ["", "Two at a time (regression on both and their product; the null's maximum over pairs "
                      f"{self.pairs['null_max95'].iloc[0]:.3f}):", "",
                      "| parameters | EVPPI (90%) | gain over the better alone | decides |", "|---|---|---|---|"]
            for _, r in self.pairs.head(3).iterrows():
                lines.append(f"| {r['parameter_1']} + {r['parameter_2']} | {r['evppi']:.3f} "
                             f"({r['evppi_lo90']:.3f}–{r['evppi_hi90']:.3f}) | {r['gain_over_single']:+.3f} | "
                             f"{'yes' if r['decides'] else 'no'} |")
        lines += ["", *(f"- {n}" for n in self.notes)]
        return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------
# the estimators
# ----------------------------------------------------------------------------------------------
def evpi(L: np.ndarray) -> float:
    """Expected value of perfect information of a decision among the rows of ``L`` (candidates,
    draws) of losses: min_c E L_c − E min_c L_c."""
    L = np.asarray(L, float)
    return float(L.mean(axis=1).min() - L.min(axis=0).mean())


def _standardised(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sd = Z.std(axis=0)
    return (Z - Z.mean(axis=0)) / np.where(sd > 0, sd, 1.0), sd > 0


def _regression_evppi(L: np.ndarray, A: np.ndarray) -> np.ndarray:
    """min_c E L_c − E min_c Ê(L_c | design), Ê the least-squares fit on each design A[k] (n, d)."""
    fitted = A @ (np.linalg.pinv(A) @ L.T[None])                         # (K, n, C)
    return np.maximum(L.mean(axis=1).min() - fitted.min(axis=2).mean(axis=1), 0.0)


def evppi(L: np.ndarray, Z: np.ndarray, degree: int = DEGREE) -> np.ndarray:
    """EVPPI of each column of ``Z`` (draws, parameters) for the decision among the rows of ``L``
    (candidates, draws): min_c E L_c − E min_c Ê(L_c | z), Ê the least-squares polynomial of
    ``degree`` in z (Strong, Oakley & Brennan 2014's regression estimator with a polynomial
    smoother). A column that is constant over the draws gets 0."""
    L, Z = np.asarray(L, float), np.atleast_2d(np.asarray(Z, float))
    if Z.shape[0] != L.shape[1]:
        raise ValueError(f"Z has {Z.shape[0]} rows for {L.shape[1]} draws")
    X, varies = _standardised(Z)
    A = np.moveaxis(np.stack([X ** d for d in range(degree + 1)], axis=-1), 1, 0)   # (K, n, degree+1)
    return np.where(varies, _regression_evppi(L, A), 0.0)


def evppi_pairs(L: np.ndarray, Z: np.ndarray, pairs: list[tuple[int, int]]) -> np.ndarray:
    """EVPPI of pairs of columns of ``Z`` known together: the regression on 1, z₁, z₂ and z₁·z₂ (the
    interaction lets one parameter change the other's effect, e.g. how much of a slow bowel is the
    opioid's). Biased upward like :func:`evppi`, more so (four coefficients)."""
    L, Z = np.asarray(L, float), np.atleast_2d(np.asarray(Z, float))
    if not pairs:
        return np.zeros(0)
    X, _ = _standardised(Z)
    a, b = X[:, [i for i, _ in pairs]], X[:, [j for _, j in pairs]]
    A = np.moveaxis(np.stack([np.ones_like(a), a, b, a * b], axis=-1), 1, 0)         # (pairs, n, 4)
    return _regression_evppi(L, A)


def _bootstrap(L, Z, rng, B: int) -> tuple[np.ndarray, np.ndarray]:
    """EVPPI (B, K) and EVPI (B,) over ``B`` resamples of the draws."""
    n = L.shape[1]
    idx = rng.integers(0, n, (B, n))
    return (np.array([evppi(L[:, i], Z[i]) for i in idx]), np.array([evpi(L[:, i]) for i in idx]))


def _permutation_null(L, Z, rng, B: int) -> np.ndarray:
    """EVPPI (B, K) with the draws' losses shuffled against their parameters (one shuffle for all)."""
    n = L.shape[1]
    return np.array([evppi(L[:, rng.permutation(n)], Z) for _ in range(B)])


# ----------------------------------------------------------------------------------------------
# the decision and its parameters
# ----------------------------------------------------------------------------------------------
def contenders(rec: Recommendation) -> list[str]:
    """Rank 1 and the candidates flagged as a tie with it, or the runner-up when none is."""
    t = rec.table
    names = [str(t["candidate"].iloc[0])] + [str(c) for c in t["candidate"].iloc[1:][t["tie"].iloc[1:].to_numpy(bool)]]
    if len(names) == 1 and len(t) > 1:
        names.append(str(t["candidate"].iloc[1]))
    return names


def draw_z(fit: FitResult, P: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The uncertain parameters' names and their prior standard-normal deviates z (draws, K) in the
    parameter rows ``P``; parameters constant over the rows are left out."""
    prob = fit.problem
    names, cols = [], []
    for j, p in prob.var_idx:
        z = p.variability.z_of(prob.base[j], P[:, j])
        if np.ptp(z) > 1e-9:
            names.append(p.name)
            cols.append(z)
    return names, (np.stack(cols, axis=1) if cols else np.zeros((len(P), 0)))


def record_information(fit: FitResult, names: list[str]) -> pd.DataFrame:
    """How much the record informs each parameter, in its prior's standard-normal space: the
    posterior's mean and SD of z (fitted: the Laplace posterior; screened and unfitted: the linear
    conditional at the MAP, :class:`~opiaxis.calibrate.fit.UnfittedPosterior`; otherwise the prior
    N(0, 1)) and how: ``fitted``, ``conditioned`` or ``prior`` (no read-out of the record depends
    on it, e.g. the PK of a drug never given). A decision that turns on a ``prior`` parameter, or on
    one whose SD ratio is near 1, cannot be learned from this record by any inference."""
    rows = []
    for n in names:
        if n in fit.names:
            k = fit.names.index(n)
            rows.append((n, float(fit.z[k]), float(np.sqrt(fit.cov[k, k])), "fitted"))
        elif fit.unfitted is not None and n in fit.unfitted.names:
            k = fit.unfitted.names.index(n)
            rows.append((n, float(fit.unfitted.mean[k]), float(np.linalg.norm(fit.unfitted.chol[k])), "conditioned"))
        else:
            rows.append((n, 0.0, 1.0, "prior"))
    return pd.DataFrame(rows, columns=["parameter", "z_posterior", "sd_ratio", "informed_by"]).set_index("parameter")


# ----------------------------------------------------------------------------------------------
# which measurement informs a parameter
# ----------------------------------------------------------------------------------------------
def _readout_terms(fit: FitResult) -> list:
    """[(name, ObsTerm)] of every read-out the model can predict (microbiome counts and their
    diversity left out: not one number per visit on the fit's noise scale)."""
    model, defs = fit.problem.model, fit.problem.defs
    out = []
    for name, r in defs.items():
        if r.kind in ("counts", "diversity"):
            continue
        term = resolve_readout(r, model, defs)
        if term is not None:
            out.append((name, term))
    return out


def centre_row(fit: FitResult) -> np.ndarray:
    """The parameter row the measurements are linearised at: the fitted parameters at their MAP, the
    screened, unfitted ones at their conditional posterior mean
    (:class:`~opiaxis.calibrate.fit.UnfittedPosterior`; the
    fit's own parameter row leaves them at the population median), the others at the median."""
    prob = fit.problem
    Zall = np.zeros((1, len(prob.var_idx)))
    if fit.unfitted is not None:
        names = [p.name for _, p in prob.var_idx]
        for k, n in enumerate(fit.unfitted.names):
            if n in names:
                Zall[0, names.index(n)] = fit.unfitted.mean[k]
    return prob.params(fit.z[None, :], Zall)[0]


def _perturbed_rows(fit: FitResult, names: list[str]) -> np.ndarray:
    """The :func:`centre_row`, then for each parameter in ``names`` that row with its z moved by
    +STEP_Z and by −STEP_Z (clipped at its bounds): rows (1 + 2K, n_params)."""
    prob, model = fit.problem, fit.problem.model
    P0 = centre_row(fit)
    rows = [P0]
    for n in names:
        j, p = model.param_index[n], model.parameter(n)
        z0 = float(p.variability.z_of(prob.base[j], P0[j]))
        for h in (STEP_Z, -STEP_Z):
            q = P0.copy()
            q[j] = p.at_z(prob.base[j], z0 + h)
            rows.append(q)
    return np.array(rows)


def _combination_specs(name: str, opts: Options) -> list | None:
    """The specs of a ranked candidate "base + adjunct + …" (None when a part is not in ``opts``)."""
    base, *adj = name.split(" + ")
    if base not in opts.candidates or any(a not in opts.adjuncts for a in adj):
        return None
    return [opts.candidates[base], *[opts.adjuncts[a] for a in adj]]


def _treatment_signature(specs: list) -> frozenset:
    """The drugs a combination doses and the intervention parameters it sets."""
    return frozenset([d for sp in specs for d in spec_drugs(sp)]
                     + [f"{k}={v:g}" for sp in specs for k, v in sp.get("parameters", {}).items()])


def _window_times(terms: list, t_end: float, start: float) -> np.ndarray:
    """The times the windowed read-outs of ``terms`` need for a measurement at ``t_end``."""
    return np.unique(np.concatenate([[t_end]] + [term.sampling([t_end], start).nodes for _, term in terms
                                                 if term.readout.window is not None]))


def condition_states(fit: FitResult, rec: Recommendation, P: np.ndarray, x_dec: np.ndarray, names: list[str],
                     opts: Options, terms: list | None = None) -> dict[str, tuple]:
    """States of parameter rows ``P`` under each measurement condition, as (X (rows, T, n_states),
    times (T,), the simulation's start): ``drug-free`` (the resting state: a week's mean is its
    instant), ``on the record's treatment`` (``x_dec``, the rows' states at the decision time, and
    the record's last week before it for read-outs that recall a window, ``terms``) and ``after
    PROBE_DAYS d of <candidate>`` for the candidates ``names`` (from the decision state, over the
    probe's last week; the first of each set of drugs and intervention parameters: the other doses
    of the same drugs are not simulated again). A measurement is at the last of ``times``."""
    prob, sim = fit.problem, fit.problem.sim
    terms = _readout_terms(fit) if terms is None else terms
    t_dec = rec.decision_time
    out = {"drug-free": (sim.initial_state(P)[:, None, :], np.zeros(1), 0.0)}
    week = _window_times(terms, t_dec, prob.t0)
    if len(week) > 1:   # the record's week before the decision (its history, as _decision_state runs it)
        hist = prob.data.doses
        hist = hist[hist["TIME"] < t_dec] if len(hist) else hist
        Xw, _ = sim.run(P, week, hist, t0=prob.t0, rtol=1e-4, atol=1e-9)
        Xw[:, -1, :] = x_dec
        out["on the record's treatment"] = (Xw, week, prob.t0)
    else:
        out["on the record's treatment"] = (x_dec[:, None, :], week, prob.t0)
    seen = set()
    for name in names:
        specs = _combination_specs(name, opts)
        if specs is None:
            continue
        what = _treatment_signature(specs)
        if what in seen:     # another dose of the same drugs measures the same things (one run per set)
            continue
        seen.add(what)
        doses = _candidate_doses(prob.model, specs, rec.decision_time, rec.horizon_h, None)
        times = np.unique(np.r_[t_dec, _window_times(terms, t_dec + PROBE_DAYS * 24.0, t_dec)])
        X, _ = sim.run(P, times, doses, t0=rec.decision_time, x0=x_dec, rtol=1e-4, atol=1e-9)
        out[f"after {PROBE_DAYS:g} d of {name}"] = (X, times, t_dec)
    return out


def readout_sensitivities(fit: FitResult, rec: Recommendation, P: np.ndarray, x_dec: np.ndarray, names: list[str],
                          contenders_: list[str], opts: Options) -> pd.DataFrame:
    """d g / d z at the MAP of every read-out (g: the fit's noise-standardised scale, one
    measurement; a read-out that recalls a window, its mean over the window before the
    measurement) under every condition (:func:`condition_states`) for the parameters ``names``
    perturbed in the rows ``P`` (:func:`_perturbed_rows`; ``x_dec`` their states at the decision
    time): rows condition, readout; columns the
    parameters. A level below its LLOQ at both ends of the difference informs nothing (0)."""
    sim = fit.problem.sim
    rows, index = [], []
    terms = _readout_terms(fit)
    for cond, (X, times, start) in condition_states(fit, rec, P, x_dec, contenders_, opts, terms).items():
        for rname, term in terms:
            r = term.readout
            with np.errstate(all="ignore"):
                if r.window is not None:
                    x = term.predict_at(sim, X, P, times, term.sampling([times[-1]], start))
                else:
                    x = term.predict(sim, X[:, -1:, :], P)
                x = np.asarray(x, float).reshape(len(P))
                g = _g(r.kind, r, x)
            s = (g[1::2] - g[2::2]) / (2 * STEP_Z)
            if r.lloq is not None:
                s = np.where((x[1::2] < r.lloq) & (x[2::2] < r.lloq), 0.0, s)
            rows.append(np.nan_to_num(s, nan=0.0, posinf=0.0, neginf=0.0))
            index.append((cond, rname))
    return pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["condition", "readout"]), columns=names)


def preposterior_sd(Sigma: np.ndarray, S: np.ndarray) -> np.ndarray:
    """SD of each parameter after one measurement with sensitivities ``S`` (measurements, K) on a
    noise-SD-1 scale, prior covariance ``Sigma`` (K, K) (linear-Gaussian update):
    sqrt(Σ_jj − (Σs)_j² / (1 + sᵀΣs)); (measurements, K)."""
    SS = S @ Sigma                                   # (m, K): (Σs)ᵀ
    q = 1.0 + np.einsum("mk,mk->m", SS, S)           # 1 + sᵀΣs
    return np.sqrt(np.maximum(np.diag(Sigma)[None, :] - SS ** 2 / q[:, None], 0.0))


def record_covariance(fit: FitResult, rec: Recommendation, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The linearised posterior covariance of z of the parameters perturbed in ``P``
    (:func:`_perturbed_rows`) given the record, at the MAP: (I + JᵀJ)⁻¹ with J the record's
    sensitivities (observations × parameters) on the fit's noise-standardised scale, each row's noise
    scaled by the fit's read-out dispersion (Laplace approximation; the parameters outside ``P``
    held at the MAP). Unlike the decision draws (whose unfitted parameters come from a linear
    conditional at the population median), it sees the directions the record informs at the MAP.
    Also the rows' states at the decision time, from the same simulation of the record when the
    decision is at its last measurement with no dose at or after it (else simulated anew)."""
    from .recommend import _decision_state
    prob, t_dec = fit.problem, rec.decision_time
    doses = prob.data.doses
    tail = len(doses) and bool((doses["TIME"] >= t_dec).any())
    X = prob.simulate(P)
    x_dec = X[:, -1, :] if (len(prob.times) and prob.times[-1] == t_dec and not tail) else \
        _decision_state(prob, P, t_dec, 1e-4)
    G = [_g(g[1].readout.kind, g[1].readout, x) for g, x in zip(prob.groups, prob.predictions_of(X, P))]
    K = (len(P) - 1) // 2
    if not G:
        return np.eye(K), x_dec
    G = np.concatenate(G, axis=1)                                           # (rows, observations)
    J = np.nan_to_num((G[1::2] - G[2::2]) / (2 * STEP_Z)).T                 # (observations, K)
    if fit.dispersion is not None and len(fit.dispersion) == J.shape[0]:
        J = J / np.sqrt(fit.dispersion)[:, None]
    return np.linalg.inv(np.eye(K) + J.T @ J), x_dec


def partners(fit: FitResult, top: list[str], threshold: float = 0.1) -> list[str]:
    """``top`` and the fitted and conditioned parameters that the record sees together with one of
    them: a screen sensitivity above ``threshold`` noise SDs on an observation where a ``top``
    parameter has one (the screen's sensitivities at the population median, ``fit.screen``).
    Parameters that share no read-out with the deciding ones cannot change what a measurement says
    about them in the linearised posterior."""
    scr = fit.screen
    unf = list(fit.unfitted.names) if fit.unfitted is not None else []
    pool = list(dict.fromkeys([*fit.names, *unf]))
    S = scr.attrs.get("S") if scr is not None else None
    order = list(scr["parameter"]) if scr is not None and len(scr) else []
    if S is None or not len(order) or S.shape[0] != len(order):
        return list(dict.fromkeys([*top, *pool]))
    seen = np.zeros(S.shape[1], bool)
    for t in top:
        if t in order:
            seen |= np.abs(np.nan_to_num(S[order.index(t)])) > threshold
    near = [n for n in pool if n in order and (np.abs(np.nan_to_num(S[order.index(n)]))[seen] > threshold).any()]
    return list(dict.fromkeys([*top, *near]))


def measurement_table(fit: FitResult, rec: Recommendation, top: list[str], contenders_: list[str],
                      opts: Options) -> pd.DataFrame:
    """Per deciding parameter in ``top``, condition and read-out: the sensitivity (noise SDs of one
    measurement per prior SD), the parameter's SD given the record (:func:`record_covariance` over
    the deciding parameters and their :func:`partners`) and after one such measurement more
    (:func:`preposterior_sd`; ``sd_after_repeated``: after :data:`REPEATS` independent ones)."""
    Q = partners(fit, top)
    P = _perturbed_rows(fit, Q)
    Sigma, x_dec = record_covariance(fit, rec, P)
    S = readout_sensitivities(fit, rec, P, x_dec, Q, contenders_, opts)
    after = preposterior_sd(Sigma, S.to_numpy())
    after4 = preposterior_sd(Sigma, REPEATS ** 0.5 * S.to_numpy())   # k independent ones: information k·ssᵀ
    rows = []
    for n in top:
        k = Q.index(n)
        sd_now = float(np.sqrt(Sigma[k, k]))
        for (cond, rname), s, a, a4 in zip(S.index, S[n].to_numpy(), after[:, k], after4[:, k]):
            if abs(s) > 0.05 or a < sd_now - 1e-3:
                rows.append({"parameter": n, "condition": cond, "readout": rname, "sensitivity": float(s),
                             "sd_now": sd_now, "sd_after": float(a), "sd_after_repeated": float(a4)})
    cols = ["parameter", "condition", "readout", "sensitivity", "sd_now", "sd_after", "sd_after_repeated"]
    return pd.DataFrame(rows, columns=cols).sort_values(["parameter", "sd_after"], kind="stable", ignore_index=True)


def _informative(meas: pd.DataFrame, name: str, k: int = 3) -> str:
    """The ``k`` measurements that leave the least of ``name``'s SD (at most INFORMATIVE of it, and
    at least MIN_GAIN less); "none (best: …)" when no measurement does."""
    mine = meas[meas["parameter"] == name]
    m = mine[(mine["sd_after"] <= INFORMATIVE * mine["sd_now"]) & (mine["sd_now"] - mine["sd_after"] >= MIN_GAIN)]
    if not len(m):
        if not len(mine):
            return "none: no read-out is sensitive to it"
        r = next(mine.nsmallest(1, "sd_after").itertuples())
        return (f"none (best: {r.readout} {r.condition}, SD {r.sd_now:.2f}→{r.sd_after:.2f}; "
                f"{REPEATS} of them →{r.sd_after_repeated:.2f})")
    return "; ".join(f"{r.readout} {r.condition} (SD {r.sd_now:.2f}→{r.sd_after:.2f})"
                     for r in m.nsmallest(k, "sd_after").itertuples())


# ----------------------------------------------------------------------------------------------
# the read-out
# ----------------------------------------------------------------------------------------------
def more_draws(fit: FitResult, rec: Recommendation, names: list[str], opts: Options, n: int,
               seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` further decision draws (parameter rows, as ``recommend`` draws them: consistent with the
    data, unfitted parameters conditioned) from their own stream, and the losses (len(names), n) of
    the candidates ``names`` on them — the same simulation, tolerance and utility as the ranking, so
    they extend its paired draws."""
    from .recommend import CANDIDATE_RTOL, _decision_state, _simulate, composite
    prob = fit.problem
    P, x_end = fit.draw_parameters(n, Streams(seed).derived_seed(Purpose.FIT, "value of information", fit.patient),
                                   consistent=True, end_states=True)
    x0 = _decision_state(prob, P, rec.decision_time, CANDIDATE_RTOL, x_end)
    times = np.arange(rec.decision_time, rec.decision_time + rec.horizon_h + 1e-9, 2.0)
    items = [(c, _combination_specs(c, opts), "") for c in names]
    if any(it[1] is None for it in items):
        missing = [c for c, sp, _ in items if sp is None]
        raise OpiaxisInputError(f"candidates not in the options: {missing}", field="candidates")
    out = {c: o for c, _, o, _ in _simulate(prob.sim, prob.model, items, P, x0, times, rec.decision_time,
                                             rec.horizon_h, CANDIDATE_RTOL, [], {})}
    return P, np.array([composite(out[c], opts.weights) for c in names])


def _parameter_table(L: np.ndarray, names: list[str], Z: np.ndarray, rng) -> tuple[pd.DataFrame, np.ndarray, float]:
    """EVPPI per parameter with its bootstrap interval and permutation null; the bootstrap EVPI
    values and the null's 95th percentile of the maximum over parameters."""
    ev = evppi(L, Z)
    boot, boot_evpi = _bootstrap(L, Z, rng, BOOTSTRAPS)
    null = _permutation_null(L, Z, rng, PERMUTATIONS)
    null_max95 = float(np.percentile(null.max(axis=1), 95)) if null.size else 0.0
    t = pd.DataFrame({"parameter": names, "evppi": ev,
                      "evppi_lo90": np.percentile(boot, 5, axis=0) if boot.size else ev,
                      "evppi_hi90": np.percentile(boot, 95, axis=0) if boot.size else ev,
                      "null_mean": null.mean(axis=0) if null.size else 0.0,
                      "null95": np.percentile(null, 95, axis=0) if null.size else 0.0})
    t["evppi_excess"] = t["evppi"] - t["null_mean"]
    t["decides"] = t["evppi"] > null_max95 + 1e-9     # (the null is exactly 0 when no shuffle changes the choice)
    return t.sort_values("evppi", ascending=False, kind="stable", ignore_index=True), boot_evpi, null_max95


def _pair_table(L: np.ndarray, names: list[str], Z: np.ndarray, top: list[str], single: pd.Series,
                rng) -> pd.DataFrame:
    """EVPPI of the ``top`` parameters two at a time (:func:`evppi_pairs`) with its bootstrap interval,
    the permutation null's 95th percentile of the maximum over the pairs, and the gain over the
    better of the two alone (``single``: EVPPI by name)."""
    idx = [names.index(n) for n in top]
    pairs = [(idx[a], idx[b]) for a in range(len(idx)) for b in range(a + 1, len(idx))]
    cols = ["parameter_1", "parameter_2", "evppi", "evppi_lo90", "evppi_hi90", "null_max95", "decides",
            "gain_over_single"]
    if not pairs:
        return pd.DataFrame(columns=cols)
    ev = evppi_pairs(L, Z, pairs)
    n = L.shape[1]
    boot = np.array([evppi_pairs(L[:, i], Z[i], pairs) for i in rng.integers(0, n, (BOOTSTRAPS, n))])
    null = np.array([evppi_pairs(L[:, rng.permutation(n)], Z, pairs) for _ in range(PERMUTATIONS)])
    q = float(np.percentile(null.max(axis=1), 95))
    t = pd.DataFrame({"parameter_1": [names[i] for i, _ in pairs], "parameter_2": [names[j] for _, j in pairs],
                      "evppi": ev, "evppi_lo90": np.percentile(boot, 5, axis=0),
                      "evppi_hi90": np.percentile(boot, 95, axis=0), "null_max95": q, "decides": ev > q + 1e-9})
    t["gain_over_single"] = t["evppi"] - np.maximum(single[t["parameter_1"]].to_numpy(), single[t["parameter_2"]].to_numpy())
    return t[cols].sort_values("evppi", ascending=False, kind="stable", ignore_index=True)


def value_of_information(fit: FitResult, rec: Recommendation, *, options: Options | None = None, seed: int = 0,
                         top: int = TOP, measurements: bool = True, extra_draws: int = EXTRA_DRAWS) -> ValueOfInformation:
    """What would decide ``rec`` (see the module docstring): EVPI, EVPPI per uncertain parameter
    (``table``: parameter, evppi with its 90% bootstrap interval, the permutation null's mean and
    95th percentile, evppi_excess, decides, z_posterior, sd_ratio, informed_by,
    informative_readouts) and, for the ``top`` parameters by EVPPI, the measurements that inform
    them (``measurements``; ``measurements=False`` skips their simulations). ``extra_draws``: the
    decision's candidates are also simulated on this many further posterior draws (:func:`more_draws`)."""
    t0 = time.perf_counter()
    if rec.parameters is None or not rec.draws_loss:
        raise OpiaxisInputError("the recommendation holds no decision draws (Recommendation.parameters); run "
                                "recommend() to keep them", field="recommendation")
    opts = options or load_options()
    names_c = contenders(rec)
    L, P = np.array([rec.draws_loss[c] for c in names_c], float), rec.parameters
    cpu = {"draws": time.process_time()}
    if extra_draws > 0 and len(names_c) > 1:
        P2, L2 = more_draws(fit, rec, names_c, opts, int(extra_draws), seed)
        L, P = np.hstack([L, L2]), np.vstack([P, P2])
    cpu["draws"] = time.process_time() - cpu["draws"]
    names, Z = draw_z(fit, P)
    notes = []
    ok = np.isfinite(L).all(axis=0)
    if not ok.all():
        notes.append(f"{(~ok).sum()} draw(s) with a non-finite loss left out")
        L, Z = L[:, ok], Z[ok]
    rng = Streams(seed).shared(Purpose.BOOTSTRAP, "value of information", fit.patient)
    cpu["regressions"] = time.process_time()
    table, boot_evpi, null_max95 = _parameter_table(L, names, Z, rng)
    cpu["regressions"] = time.process_time() - cpu["regressions"]
    table = table.join(record_information(fit, list(table["parameter"])), on="parameter")
    top_names = list(table["parameter"].head(top)) if len(names_c) > 1 else []
    if len(names_c) == 1:
        notes.append("one candidate ranked: nothing to decide between, no measurement looked for")
    pairs = _pair_table(L, names, Z, top_names, table.set_index("parameter")["evppi"], rng)
    meas = pd.DataFrame(columns=["parameter", "condition", "readout", "sensitivity", "sd_now", "sd_after",
                                 "sd_after_repeated"])
    cpu["measurements"] = time.process_time()
    if measurements and top_names:
        meas = measurement_table(fit, rec, top_names, names_c, opts)
    cpu["measurements"] = time.process_time() - cpu["measurements"]
    table["informative_readouts"] = [_informative(meas, n) if n in top_names else "" for n in table["parameter"]]
    notes.append(f"EVPPI: linear regression of each candidate's loss on one parameter's z over {L.shape[1]} draws "
                 f"(Strong, Oakley & Brennan 2014); {BOOTSTRAPS} bootstrap resamples, {PERMUTATIONS} permutations; CPU s: "
                 + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()))
    return ValueOfInformation(patient=fit.patient, contenders=names_c, evpi=evpi(L),
                              evpi_lo90=float(np.percentile(boot_evpi, 5)), evpi_hi90=float(np.percentile(boot_evpi, 95)),
                              null_max95=null_max95, table=table, measurements=meas, pairs=pairs,
                              draws=int(L.shape[1]), mid=opts.mid,
                              seconds=time.perf_counter() - t0, notes=notes)
