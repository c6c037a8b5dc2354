"""One patient's data → that patient's individual parameters (empirical-Bayes MAP + Laplace).

The patient file (tidy CSV or Parquet; see ``docs/precision-recovery.md``)
---------------------------------------------------------------------------
One row per record, columns (case-insensitive; extra columns are ignored)::

    patient, kind, time, name, value, unit

``kind``
    ``measurement`` (the default when the column is absent), ``regimen``, ``dose`` or ``covariate``.
``time``
    hours, on any origin shared by the patient's rows (e.g. 0 = start of the record).
``name``
    * measurement: a read-out of ``data/readouts.yaml`` (``il6_serum``, ``cortisol_serum``,
      ``buprenorphine_conc``, ``cows``, ``sbm_week`` …); a column ``measurement`` may hold it instead;
    * regimen: the regimen shorthand of :func:`opiaxis.dosing.parse_regimen` (``heroin 20 mg IV
      q8h for 7 d``), starting at ``time``;
    * dose: a dosing compartment ``<drug>.<route>`` (``buprenorphine.sl``), one bolus at ``time``;
    * covariate: ``age``, ``weight``, ``sex_male``, ``oprm1_g_carrier``, ``chronic_pain``,
      ``depression_history`` … (:data:`opiaxis.population.covariates.COVARIATES`).
``value``
    a number; for a measurement below / above the assay's range ``<LLOQ`` / ``>ULOQ`` or ``<0.2``
    / ``>1750`` (the limit in the row's unit).
``unit``
    pint syntax. Concentrations are converted to the read-out's unit when compatible (``ng/L`` →
    ``ng/mL``, ``ug/dL`` cortisol → ``nmol/L`` through its molar mass) and rejected otherwise;
    scales take their label (``points``, ``mm``, ``SBM/week``) or nothing; weight in kg or lb,
    age in years; doses in g, mg, ug or ng.

The simulation starts at the first dose of the history (the model's drug-free baseline before
it); a measurement before the first dose contradicts that history and is an error (add the
earlier opioid use as a regimen row instead). A PEtab measurement table (``observableId`` = a
read-out name, ``simulationConditionId`` = ``patient_<id>``, values in the read-out's unit) or a
NONMEM dataset (:func:`opiaxis.interop.nonmem.read_nonmem`; ``DV`` of an observed model
variable in the read-out's unit, optional ``BLQ``/``CENS`` = 1 for a DV that is the LLOQ) are
read too; their dosing comes from the NONMEM dose rows or from ``regimens=``.

The fit
-------
Parameters are expressed as standard-normal deviates ``z`` of their between-patient
variability (``θ = θ_typical(covariates)·exp(ω z)`` for log-normal ones), so the population
distribution is the prior ``z ~ N(0, I)``. Which parameters are fitted is decided by a
sensitivity screen: every parameter with variability in the modules on the patient's path
(pharmacokinetic parameters only for drugs in the history and their metabolites) is perturbed
by 0.1 SD; its Fisher information ``I_k = Σ_i (∂g_i/∂z_k)²`` on the noise-standardised
observation scale ``g`` (log value / σ for log-normal assays, value / SD for scales, 2√λ for
counts; censored rows count half) ranks it; those with ``I_k ≥ min_info`` (default 0.3: the
data could shrink the prior SD by ≥ 12%) are fitted, at most ``max_params`` (default 8). The
others stay at their population median (and are drawn from the prior when uncertainty is
propagated in :mod:`.recommend`). The screen is local; where a read-out is far from what the
linearised prior predictive allows (a switch such as the mood module's depressive episode), the
parameters it found uninformed are also moved by ±3 SD, and one that explains most of that misfit
is fitted with a MAP started on that side (:func:`_nonlinear_screen`).

The negative log posterior ``Φ(z) = ½|z|² + Σ_i nll_i(z)`` uses the read-out noise models of
:mod:`opiaxis.observe.assays`: log-normal assays on the log scale, censored rows (``<LLOQ``,
``>ULOQ``) as the probability mass beyond the limit (NONMEM M3), clinical scales as interval-
censored normals (rounding to the resolution, clipping at the bounds), Poisson counts, binary
screens as a probit on the log concentration. Every term is written as a residual
(``√(2·nll)`` for one-sided terms, signed deviance residuals otherwise) so that
``scipy.optimize.least_squares`` (trust-region reflective, forward-difference Jacobian batched
through the engine) minimises Φ; by default the data residuals are Student-t (ν = 4), so a visit
far outside the assay noise pulls less. Uncertainty: Laplace approximation with a forward
finite-difference Hessian of Φ (``hessian='fd'``, default) or the Gauss–Newton ``JᵀJ + I``
(``hessian='gn'``, no extra simulation), with (i) each read-out's information divided by its
residual dispersion s²_g ≥ 1 (shrunk to the pooled value), (ii) the linearised confounding of the
unfitted parameters added to the covariance, (iii) Student-t quantiles with n − edf degrees of
freedom; ``sample=N`` adds importance sampling from the Laplace Gaussian (covariance inflated
×1.5) with its effective sample size.

Identifiability (:func:`_identifiability`): a fitted parameter is identifiable when its posterior
SD is at most 70% of its prior SD and at most a quarter of it lies along directions the data
inform less than the prior; identified combinations (products of powers, e.g. F/CL), uninformed
directions and strong posterior correlations are reported; every screened parameter the data do
not inform is not identifiable. Shrinkage is ``Var_post/ω²`` (Xu, Savic & Karlsson, AAPS J
2012;14:927): 0 = data decide, 1 = the prior decides.
"""

from __future__ import annotations

import math
import re
import time as _time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.linalg import solve_triangular
from scipy.special import log_ndtr, ndtr

from .. import dosing
from ..dosing import EventTable, suggest
from ..engine.readouts import assignment_function
from ..errors import OpiaxisInputError
from ..model.core import Model
from ..streams import Purpose, Streams
from ..observe.assays import (Readout, conversion_factor, integral_factor, load_readouts, template_drug_readout,
                              term_factor)
from ..observe.window import Sampling, sampling

# ----------------------------------------------------------------------------------------------
# fast batched simulation (the compiled kernel, called once per batch)
# ----------------------------------------------------------------------------------------------
_SIM_CACHE: dict[int, "Simulator"] = {}


class Simulator:
    """The compiled model for many parameter vectors at once.

    Fitting calls the kernel hundreds of times, so this holds the compiled module and calls it
    directly. Initial states and read-outs come from the model's own functions, made once per
    model (``Model.initial_state``) and cached on disk beside the kernel
    (:func:`opiaxis.engine.readouts.assignment_function`): a process with a warm cache does no
    SymPy work for them, and they are the functions ``Results.get`` uses (non-integer powers
    guarded as in the kernel).
    """

    def __init__(self, model: Model):
        from ..engine.codegen import compile_model
        self.model = model
        self.mod = compile_model(model)
        self._weights: dict = {}   # outputs -> (error weights, unread states): error_weights
        self._floors = model.error_floors()   # the states' error floors (State.error_floor)

    @classmethod
    def of(cls, model: Model) -> "Simulator":
        sim = _SIM_CACHE.get(id(model))
        if sim is None or sim.model is not model:
            sim = _SIM_CACHE[id(model)] = cls(model)
        return sim

    def initial_state(self, P: np.ndarray) -> np.ndarray:
        return self.model.initial_state(np.atleast_2d(P))

    def run(self, P, times, doses: pd.DataFrame | None, *, t0: float = 0.0, x0=None,
            rtol: float = 1e-4, atol: float = 1e-8, per_row: bool = False, outputs=None):
        """States (n, len(times), n_states) and solver stats for the rows of ``P``; ``doses`` are
        expanded dose rows for ONE patient (any ID), given to every row, or with ``per_row`` rows
        whose ID is the 1-based row of ``P`` they belong to (many regimens in one batch).

        Step control: states declared ``step_control=False`` (observers: a running count, a
        switch's memory) are integrated along without letting their local error set the step
        (:meth:`error_weights`). ``outputs``: the states and assignments the caller will read
        (default: all); the states not upstream of them (:meth:`Model.states_upstream`) do not
        control the step either and are returned as NaN, so that no caller reads a value the solver
        did not keep to ``rtol``. The outputs' exact solution does not depend on those states: their
        numerical one changes only through the step sequence (a tolerance-level change)."""
        from ..engine.simulate import event_arrays
        P = np.ascontiguousarray(np.atleast_2d(P), dtype=float)
        n = P.shape[0]
        ids = np.arange(1, n + 1)
        if per_row:
            dd = doses if doses is not None and len(doses) else None
        elif doses is not None and len(doses):
            k = len(doses)
            tiled = {c: np.tile(doses[c].to_numpy(), n) for c in doses.columns if c != "ID"}
            tiled["ID"] = np.repeat(ids, k)
            dd = pd.DataFrame(tiled)
        else:
            dd = None
        X0 = self.initial_state(P) if x0 is None else np.ascontiguousarray(
            np.broadcast_to(x0, (n, len(self.model.states))), dtype=float)
        ev = event_arrays(self.model, P, ids, dd)
        t_out = np.ascontiguousarray(np.asarray(times, float))
        Y = np.empty((n, len(t_out), len(self.model.states)))
        stats = np.zeros((n, 3), np.int64)
        err_w, unread = self.error_weights(outputs)
        self.mod.simulate_batch(P, np.ascontiguousarray(X0), *ev, t_out, float(t0), float(rtol), float(atol),
                                err_w, self._floors, float(np.inf), 5_000_000, Y, stats)
        if unread.any():
            Y[:, :, unread] = np.nan
        return Y, stats

    def error_weights(self, outputs=None) -> tuple[np.ndarray, np.ndarray]:
        """Per state, 1.0 if its local error controls the step size for ``outputs`` (:meth:`run`),
        else 0.0; and which states are not upstream of ``outputs`` (their values go unread)."""
        key = None if outputs is None else frozenset(outputs)
        hit = self._weights.get(key)
        if hit is None:
            m = self.model
            unknown = sorted(v for v in key or () if not self.has(v))
            if unknown:
                raise OpiaxisInputError(f"outputs {unknown} are not states, assignments or parameters of the model",
                                        field="outputs")
            up = m.states_upstream(key) if key else frozenset(m.state_names)
            unread = np.array([s.name not in up for s in m.states])
            w = np.array([1.0 if s.step_control and s.name in up else 0.0 for s in m.states])
            if not w.any():   # nothing to control (only parameters or observers asked for)
                w, unread = np.ones(len(m.states)), np.zeros(len(m.states), bool)
            hit = self._weights[key] = (w, unread)
        return hit

    def has(self, name: str) -> bool:
        m = self.model
        return name in m.state_index or name in m.assignment_index or name in m.param_index

    def value(self, name: str, X: np.ndarray, P: np.ndarray) -> np.ndarray:
        """A state, assignment or parameter for states ``X`` (n, T, S) and parameters ``P`` (n, p)."""
        return self.values([name], X, P)[name]

    def values(self, names: list[str], X: np.ndarray, P: np.ndarray) -> dict[str, np.ndarray]:
        """Several of :meth:`value` for the same states and parameters, the read-out functions'
        arguments (one per state and parameter) built once."""
        m = self.model
        out, args = {}, None
        for name in names:
            if name in m.state_index:
                out[name] = X[:, :, m.state_index[name]]
            elif name in m.param_index:
                out[name] = np.repeat(P[:, m.param_index[name]][:, None], X.shape[1], axis=1)
            else:
                f = assignment_function(m, name, cse=True)   # evaluated on every iteration of a fit
                if args is None:
                    args = list(np.moveaxis(X, 2, 0)) + list(P.T[:, :, None])
                with np.errstate(all="ignore"):
                    out[name] = np.broadcast_to(np.asarray(f(*args), float), X.shape[:2]).copy()
        return out


# ----------------------------------------------------------------------------------------------
# read-outs as likelihood terms
# ----------------------------------------------------------------------------------------------
DIVERSITY_SD = 0.1  # nats; assumed: 16S depth ~30,000 reads and DM overdispersion 0.02 give SD << 0.1


_READOUTS: dict[int, tuple] = {}


def readout_set(model: Model | None = None, definitions=None):
    """The read-out definitions (shipped or ``definitions``) with a concentration read-out for every
    dosed drug of ``model``; the shipped set is parsed once per model and process."""
    if definitions is None and model is not None:
        hit = _READOUTS.get(id(model))
        if hit is not None and hit[0] is model:
            return hit[1]
        defs = readout_set(model, load_readouts())
        _READOUTS[id(model)] = (model, defs)
        return defs
    defs = definitions if isinstance(definitions, dict) else load_readouts(definitions)
    if model is not None:
        for v in model.assignment_index:
            if v.endswith("_plasma"):
                d = v[: -len("_plasma")]
                name = getattr(defs, "drug_name", "{drug}_conc").format(drug=d)
                if name not in defs and any(k.startswith(d + ".") for k in model.dose_targets):
                    t = template_drug_readout(d, defs)
                    if t is not None:
                        defs[name] = t
    return defs


@dataclass
class ObsTerm:
    """How one read-out is predicted from the model: Σ factor·latent (or a diversity), at the
    measurement's instant or, for a read-out with a ``window``, as the latent's mean over the
    window before it (:mod:`opiaxis.observe.window`; exact from ``integrals`` when the model keeps
    every latent's running integral)."""

    readout: Readout
    latents: list[tuple[str, float]]
    taxa: list[str] = field(default_factory=list)
    # latent -> (its running integral, factor from Δintegral/Δt in hours to the latent's unit)
    integrals: dict[str, tuple[str, float]] = field(default_factory=dict)

    @property
    def variables(self) -> list[str]:
        """Every model variable the prediction reads (latents, their integrals, taxa)."""
        return [v for v, _ in self.latents] + [i for i, _ in self.integrals.values()] + list(self.taxa)

    @property
    def exact(self) -> bool:
        return self.readout.window is not None and bool(self.latents) and \
            all(v in self.integrals for v, _ in self.latents)

    def sampling(self, t, start: float) -> Sampling:
        """Where the latents are needed for measurements at ``t`` of a simulation from ``start``."""
        return sampling(t, self.readout.window, start, exact=self.exact)

    def predict(self, sim: Simulator, X: np.ndarray, P: np.ndarray, V: dict | None = None) -> np.ndarray:
        """The read-out's latent value at the instants of ``X``; ``V``: its latent variables already
        evaluated (by name). A windowed read-out's value is :meth:`predict_at`'s."""
        if self.readout.kind == "diversity":
            A = np.clip(np.stack([X[:, :, sim.model.state_index[t]] for t in self.taxa], -1), 0, None)
            p = A / np.maximum(A.sum(-1, keepdims=True), 1e-300)
            with np.errstate(all="ignore"):
                return -np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0).sum(-1)
        x = 0.0
        for v, f in self.latents:
            x = x + f * (V[v] if V is not None and v in V else sim.value(v, X, P))
        return np.asarray(x, float)

    def predict_at(self, sim: Simulator, X: np.ndarray, P: np.ndarray, times: np.ndarray, samp: Sampling,
                   V: dict | None = None) -> np.ndarray:
        """Values (n, measurements) at ``samp.t`` from states ``X`` (n, len(times), S) on ``times``,
        which contain ``samp.nodes``; ``V``: latents already evaluated on ``times``."""
        j = np.searchsorted(times, samp.nodes - 1e-9)
        if np.any(j >= len(times)) or not np.allclose(times[np.minimum(j, len(times) - 1)], samp.nodes, atol=1e-6):
            raise ValueError(f"{self.readout.name}: the simulation lacks the times its window needs")
        Vj = None if V is None else {v: a[:, j] for v, a in V.items()}
        x = self.predict(sim, X[:, j, :], P, Vj)
        I = None
        if samp.integral is not None:
            I = 0.0
            for v, f in self.latents:
                name, c = self.integrals[v]
                I = I + f * c * (Vj[name] if Vj is not None and name in Vj else sim.value(name, X[:, j, :], P))
        with np.errstate(all="ignore"):
            return samp.apply(np.nan_to_num(x, nan=0.0) if samp.integral is not None else x, I)


def resolve_readout(r: Readout, model: Model, defs) -> ObsTerm | None:
    """The latent variables of ``r`` in ``model`` (None when the model lacks them)."""
    known = set(model.state_names) | set(model.assignment_index)
    if r.kind == "diversity":
        src = defs[r.source_readout]
        rx = re.compile(src.taxa)
        taxa = sorted(v for v in model.state_names if rx.fullmatch(v))
        if r.metric != "shannon" or not taxa:
            return None
        return ObsTerm(r, [], taxa)
    if r.kind == "counts":
        return None
    picked, integrals = [], {}
    for term in r.terms:
        cand = next((c for c in term.options if c.name in known), None)
        if cand is None:
            if r.combine == "sum" and term is not r.terms[0]:
                continue
            if r.combine == "first":
                return None
            continue
        picked.append((cand.name, term_factor(r, cand, model.unit_of(cand.name))))
        if r.window is not None and cand.integral is not None and cand.integral in known:
            integrals[cand.name] = (cand.integral, integral_factor(r, cand, model.unit_of(cand.integral),
                                                                   model.unit_of(cand.name)))
    return ObsTerm(r, picked, integrals=integrals) if picked else None


def _g(kind: str, r: Readout, x: np.ndarray) -> np.ndarray:
    """Noise-standardised observation scale (for the sensitivity screen)."""
    if kind == "continuous" and r.noise.model == "lognormal" and r.noise.sd == 0:
        return np.log(np.maximum(x, 1e-12)) / math.sqrt(math.log1p(r.noise.cv ** 2))
    if kind == "binary":
        s = math.sqrt(math.log1p(max(r.noise.cv, 0.05) ** 2))
        return np.log(np.maximum(x, 1e-12)) / s * 0.5
    if kind == "poisson":
        if r.noise.model == "gamma":   # negative binomial, shape k: its variance-stabilising transform
            k = 1.0 / r.noise.cv ** 2
            return 2 * math.sqrt(k) * np.arcsinh(np.sqrt(np.maximum(x, 1e-9) / k))
        return 2 * np.sqrt(np.maximum(x, 1e-9))
    if kind == "diversity":
        return x / DIVERSITY_SD
    sd = r.noise.sd if r.noise.model != "none" else 0.5
    return x / max(sd, 1e-9) if r.noise.cv == 0 else np.log(np.maximum(x, 1e-12)) / max(r.noise.cv, 1e-3)


def _sqrt2(nll):
    return np.sqrt(2.0 * np.maximum(nll, 0.0))


def _finite(r: np.ndarray) -> np.ndarray:
    """Residuals with NaN/inf (a prediction the read-out cannot score) replaced by ±50 noise SDs."""
    return np.nan_to_num(r, nan=50.0, posinf=50.0, neginf=-50.0)


def student_t_residuals(r: np.ndarray, nu: float) -> np.ndarray:
    """Noise-standardised residuals under Student-t(ν) errors, written as residuals: ½r_t² =
    (ν+1)/2·log(1 + r²/ν), sign kept, so a visit that scatters far more than the assay noise
    (biological variability, a transient illness) pulls the fit less than under normal errors."""
    return np.sign(r) * np.sqrt((nu + 1.0) * np.log1p(r * r / nu))


def residuals_for(r: Readout, x: np.ndarray, y: np.ndarray, cens: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Residuals (½ r² = negative log-likelihood up to a constant) of rows of one read-out;
    ``x`` (n, rows) predicted, ``y`` observed (NaN when censored), ``cens`` '', '<', '>'."""
    kind = r.kind
    lo, hi = cens == "<", cens == ">"
    with np.errstate(all="ignore"):
        if kind == "diversity":
            return (x - y) / DIVERSITY_SD
        if kind == "poisson":   # half the unit deviance: Poisson, or negative binomial under a gamma frailty
            lam = np.maximum(x, 1e-9)
            k = np.broadcast_to(y, lam.shape)
            dev = lam - k + np.where(k > 0, k * np.log(np.where(k > 0, k, 1) / lam), 0.0)
            if r.noise.model == "gamma":
                a = 1.0 / r.noise.cv ** 2
                dev = np.where(k > 0, k * np.log(np.where(k > 0, k, 1) / lam), 0.0) \
                    - (k + a) * np.log((k + a) / (lam + a))
            return np.sign(lam - k) * _sqrt2(dev)
        if kind == "binary":
            s = math.sqrt(math.log1p(max(r.noise.cv, 0.05) ** 2))
            u = (np.log(np.maximum(x, 1e-12)) - s * s / 2 - math.log(r.cutoff)) / s
            return _sqrt2(-np.where(y > 0.5, log_ndtr(u), log_ndtr(-u)))
        if kind == "scale":
            sd = math.sqrt(max(r.noise.sd, 1e-6) ** 2)
            res = r.resolution or 1.0
            blo, bhi = r.bounds
            at_lo, at_hi = y <= blo + 1e-9, y >= bhi - 1e-9
            a = (y - res / 2 - x) / sd
            b = (y + res / 2 - x) / sd
            # interval probability, computed on the side away from the bulk for accuracy
            p = np.where(a > 0, ndtr(-a) - ndtr(-b), ndtr(b) - ndtr(a))
            nll_in = -np.log(np.maximum(p, 1e-300))
            nll_min = -math.log(max(2 * ndtr(res / (2 * sd)) - 1, 1e-300))
            r_in = np.sign(x - y) * _sqrt2(nll_in - nll_min)
            r_lo = _sqrt2(-log_ndtr((blo + res / 2 - x) / sd))
            r_hi = _sqrt2(-log_ndtr((x - (bhi - res / 2)) / sd))
            return np.where(at_lo, r_lo, np.where(at_hi, r_hi, r_in))
        # continuous
        if r.noise.model == "lognormal" and r.noise.sd == 0:
            s = math.sqrt(math.log1p(r.noise.cv ** 2)) if r.noise.cv > 0 else 0.05
            mu = np.log(np.maximum(x, 1e-12)) - s * s / 2
            r_obs = (np.log(np.maximum(y, 1e-12)) - mu) / s
            r_lo = _sqrt2(-log_ndtr((np.log(limit) - mu) / s))
            r_hi = _sqrt2(-log_ndtr(-(np.log(limit) - mu) / s))
        else:  # normal (or log-normal with an additive part): variance at the observation
            ref = np.where(np.isnan(y), limit, y)
            s = np.sqrt((r.noise.cv * ref) ** 2 + r.noise.sd ** 2)
            s = np.where(s > 0, s, 0.05 * np.maximum(np.abs(ref), 1e-6))
            r_obs = (y - x) / s
            r_lo = _sqrt2(-log_ndtr((limit - x) / s))
            r_hi = _sqrt2(-log_ndtr((x - limit) / s))
        return np.where(lo, r_lo, np.where(hi, r_hi, r_obs))


# ----------------------------------------------------------------------------------------------
# patient data
# ----------------------------------------------------------------------------------------------
KINDS = ("measurement", "regimen", "dose", "covariate")
MASS_UNITS = "g, mg, ug, ng"


@dataclass
class PatientData:
    """One patient: measurements (in read-out units), the dose history, covariates."""

    patient: str
    measurements: pd.DataFrame      # time, measurement, value, unit, censored ('', '<', '>'), limit, line
    doses: pd.DataFrame             # expanded dose rows (ID, TIME, EVID, AMT, CMT, RATE, ORDER)
    covariates: dict = field(default_factory=dict)
    regimens: list = field(default_factory=list)
    parameters: dict = field(default_factory=dict)   # direct parameter settings (NONMEM covariates)
    file: str = ""

    @property
    def first_dose(self) -> float | None:
        return float(self.doses["TIME"].min()) if len(self.doses) else None

    @property
    def start(self) -> float:
        fd = self.first_dose
        if fd is not None:
            return fd
        return min(0.0, float(self.measurements["time"].min())) if len(self.measurements) else 0.0

    @property
    def end(self) -> float:
        return float(self.measurements["time"].max()) if len(self.measurements) else self.start

    def covariate_frame(self) -> pd.DataFrame:
        return pd.DataFrame({k: [float(v)] for k, v in self.covariates.items()})


def _read_table(source) -> tuple[pd.DataFrame, list | None, str]:
    if isinstance(source, pd.DataFrame):
        return source.reset_index(drop=True).astype(object), None, "<DataFrame>"
    p = Path(source)
    if not p.exists():
        raise OpiaxisInputError("no such file", file=str(p))
    if p.suffix.lower() in (".parquet", ".pq"):
        try:
            df = pd.read_parquet(p)
        except Exception as exc:  # noqa: BLE001
            raise OpiaxisInputError(f"cannot read Parquet: {exc}", file=str(p)) from None
        return df.reset_index(drop=True).astype(object), None, str(p)
    sep = "\t" if p.suffix.lower() == ".tsv" else ","
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False, sep=sep, skip_blank_lines=True)
    except Exception as exc:  # noqa: BLE001
        raise OpiaxisInputError(f"cannot read the table: {exc}", file=str(p)) from None
    # 1-based line numbers (header on line 1; blank lines skipped by pandas are rare in practice)
    lines = [i + 2 for i in range(len(df))]
    return df, lines, str(p)


class _Loc:
    def __init__(self, file, lines):
        self.file, self.lines = file, lines

    def err(self, msg, i, fld):
        if self.lines is not None:
            return OpiaxisInputError(msg, file=self.file, line=self.lines[i], field=fld)
        return OpiaxisInputError(msg, file=self.file, field=f"row {i}" + (f", {fld}" if fld else ""))

    def line(self, i):
        return self.lines[i] if self.lines is not None else i


def _num(v, loc, i, fld, *, what="a number"):
    s = str(v).strip() if v is not None else ""
    try:
        x = float(s)
    except ValueError:
        raise loc.err(f"{v!r} is not {what}", i, fld) from None
    if not math.isfinite(x):
        raise loc.err(f"{v!r} is not a finite number", i, fld)
    return x


def detect_format(df: pd.DataFrame) -> str:
    cols = {str(c).strip().lower() for c in df.columns}
    if "observableid" in cols:
        return "petab"
    if {"evid", "dv"} & cols and "id" in cols:
        return "nonmem"
    return "tidy"


def read_patients(source, model: Model | None = None, *, fmt: str = "auto", regimens=None,
                  readouts=None) -> dict[str, PatientData]:
    """Read patients from a tidy patient table, a PEtab measurement table, a NONMEM dataset
    (CSV/TSV/Parquet path or DataFrame) or CDISC SDTM-like domains (a directory of ex/pc/lb/qs/dm
    CSV files, :mod:`.sdtm`). Returns ``{patient: PatientData}`` in file order.

    Raises :class:`OpiaxisInputError` naming file, line and column for unknown measurements,
    units that are unknown or incompatible with the read-out, non-numeric values, unknown
    kinds, covariates or dosing compartments, bad regimens, and measurements before the first
    dose of the patient's history.
    """
    from ..models import default_model
    model = model or default_model()
    defs = readout_set(model, readouts)
    if fmt == "sdtm" or (fmt == "auto" and (isinstance(source, dict) or
                                            (not isinstance(source, pd.DataFrame) and Path(source).is_dir()))):
        from .sdtm import read_sdtm
        return read_sdtm(source, model, defs, regimens)
    if fmt == "auto":
        if not isinstance(source, pd.DataFrame) and Path(source).exists() and \
                Path(source).suffix.lower() not in (".parquet", ".pq", ".csv", ".tsv", ".txt"):
            raise OpiaxisInputError("expected a .csv, .tsv or .parquet file", file=str(source))
        df, lines, file = _read_table(source)
        fmt = detect_format(df)
    else:
        df, lines, file = _read_table(source)
    if fmt == "nonmem":
        return _read_nonmem(source, model, defs, regimens)
    loc = _Loc(file, lines)
    if fmt == "petab":
        return _read_petab(df, loc, model, defs, regimens)
    if fmt != "tidy":
        raise OpiaxisInputError(f"unknown format {fmt!r}; expected auto, tidy, petab, nonmem or sdtm", field="format")
    return _read_tidy(df, loc, model, defs, regimens)


def _cols(df, loc, required):
    low = {str(c).strip().lower(): c for c in df.columns}
    miss = [c for c in required if c not in low]
    if miss:
        raise OpiaxisInputError(f"missing column(s) {miss}; a patient table has columns patient, kind, "
                                "time, name (or measurement), value, unit", file=loc.file,
                                line=1 if loc.lines is not None else None, field="header")
    return low


def _measurement_row(name, value, unit, t, defs, loc, i, rows, model_has):
    if name not in defs:
        if re.fullmatch(r"stool_16s_\w+", name):
            return  # 16S counts: phenotype evidence only, not in the likelihood
        raise loc.err(f"unknown measurement {name!r}{suggest(str(name), defs)}; expected a read-out of "
                      "data/readouts.yaml", i, "name")
    r = defs[name]
    if not model_has(name):
        raise loc.err(f"measurement {name!r} cannot be predicted: the model has none of its latent "
                      f"variables ({', '.join(r.variables) or r.source_readout}); add the module that "
                      "provides it or drop the rows", i, "name")
    sval = str(value).strip()
    cens, limit = "", np.nan
    unit = "" if unit is None or (isinstance(unit, float) and math.isnan(unit)) else str(unit).strip()
    if r.kind == "continuous":
        if not unit:
            raise loc.err(f"missing unit for {name!r}; expected a unit convertible to {r.unit!r}", i, "unit")
        try:
            f = 1.0 if unit in (r.unit_label, r.unit) else conversion_factor(
                unit.replace("EU/", "endotoxin_unit/"), r.unit, r.mw)
        except Exception as exc:  # noqa: BLE001  (pint: undefined unit, or dimensionality)
            msg = str(exc).replace(" (give 'mw' for molar <-> mass conversion)", "")
            if "cannot convert" not in msg:
                msg = f"unknown unit {unit!r}"
            raise loc.err(f"{msg}; {name!r} is reported in {r.label!r} (or a compatible unit)", i, "unit") from None
        m = re.fullmatch(r"([<>])\s*(LLOQ|ULOQ|BLQ|[-+0-9.eE]+)", sval, flags=re.I)
        if m:
            cens = m.group(1)
            tok = m.group(2).upper()
            if tok in ("LLOQ", "BLQ", "ULOQ"):
                lim = r.lloq if cens == "<" else r.uloq
                if lim is None:
                    raise loc.err(f"{sval!r}: the read-out {name!r} has no {'LLOQ' if cens == '<' else 'ULOQ'}; "
                                  "give the limit as a number (e.g. '<0.2')", i, "value")
                limit = lim
            else:
                limit = _num(tok, loc, i, "value") * f
            y = np.nan
        else:
            y = _num(sval, loc, i, "value", what="a number, '<LLOQ', '>ULOQ' or e.g. '<0.2'") * f
            if y < 0:
                raise loc.err(f"negative concentration {sval}", i, "value")
            if y == 0:  # a zero concentration is a censored one
                if r.lloq is None:
                    raise loc.err("a concentration of 0 needs an LLOQ; give '<limit'", i, "value")
                cens, limit, y = "<", r.lloq, np.nan
        out_unit = r.unit
    else:
        ok = {"", r.unit, r.label, r.unit_label}
        if r.kind == "binary":
            ok |= {"1=positive", "positive", "dimensionless"}
        if unit not in ok:
            raise loc.err(f"unit {unit!r} does not match {name!r}, which is reported in {r.label!r}", i, "unit")
        y = _num(sval, loc, i, "value")
        if r.kind == "scale" and not (r.bounds[0] <= y <= r.bounds[1]):
            raise loc.err(f"{y:g} is outside the {name} scale {r.bounds[0]:g}–{r.bounds[1]:g}", i, "value")
        if r.kind == "poisson" and (y < 0 or y != round(y)):
            raise loc.err(f"{sval!r} is not a count", i, "value")
        if r.kind == "binary" and y not in (0.0, 1.0):
            raise loc.err(f"{sval!r}: a screen is 0 (negative) or 1 (positive)", i, "value")
        out_unit = r.label
    rows.append({"time": t, "measurement": name, "value": y, "unit": out_unit, "censored": cens,
                 "limit": limit, "line": loc.line(i)})


def _covariate(name, value, unit, loc, i):
    from ..population.covariates import COVARIATES
    if name not in COVARIATES:
        raise loc.err(f"unknown covariate {name!r}{suggest(str(name), COVARIATES)}; known: {', '.join(COVARIATES)}", i, "name")
    c = COVARIATES[name]
    v = _num(value, loc, i, "value")
    unit = str(unit or "").strip()
    if c.unit != "dimensionless" and unit:
        try:
            v = v * conversion_factor(unit, c.unit)
        except Exception:  # noqa: BLE001
            raise loc.err(f"unit {unit!r} is not a unit of {name} (expected {c.unit})", i, "unit") from None
    elif c.unit == "dimensionless" and unit not in ("", "dimensionless", "1"):
        raise loc.err(f"{name} takes no unit, got {unit!r}", i, "unit")
    if c.kind == "bernoulli" and v not in (0.0, 1.0):
        raise loc.err(f"{name} is 0 or 1, got {value!r}", i, "value")
    return v


def _finish(pid, meas_rows, dose_tables, covs, regs, file, model, params=None) -> PatientData:
    """``dose_tables``: the patient's history as regimens (:class:`EventTable` without IDs)."""
    history = sum(dose_tables, EventTable())
    if len(history):   # one regimen, its rows in time order, given to the patient (ID 1)
        rows = history.frame[list(dosing.EVENT_COLUMNS[1:])].sort_values("TIME", kind="mergesort")
        doses = EventTable.from_rows(rows.reset_index(drop=True)).for_ids([1]).expanded()
    else:
        doses = pd.DataFrame(columns=["ID", "TIME", "EVID", "AMT", "CMT", "RATE", "ORDER"])
    meas = pd.DataFrame(meas_rows, columns=["time", "measurement", "value", "unit", "censored", "limit", "line"])
    pdat = PatientData(str(pid), meas.sort_values(["time", "measurement"], kind="mergesort").reset_index(drop=True),
                       doses, covs, regs, params or {}, file)
    fd = pdat.first_dose
    if fd is not None and len(meas):
        early = meas[meas["time"] < fd - 1e-9]
        if len(early):
            row = early.iloc[0]
            raise OpiaxisInputError(
                f"patient {pid}: measurement {row['measurement']!r} at {row['time']:g} h is before the first dose "
                f"of the history ({fd:g} h); the simulation starts at the first dose, so the history says the "
                "patient was not yet exposed — add the earlier opioid use as a regimen row starting before it",
                file=file, line=int(row["line"]) if isinstance(row["line"], (int, np.integer)) else None, field="time")
    return pdat


def _read_tidy(df, loc, model, defs, extra_regimens):
    low = _cols(df, loc, ["patient", "time"])
    name_col = low.get("name", low.get("measurement"))
    if name_col is None:
        raise OpiaxisInputError("missing column 'name' (or 'measurement')", file=loc.file, field="header")
    kind_col, val_col, unit_col = low.get("kind"), low.get("value"), low.get("unit")
    if val_col is None:
        raise OpiaxisInputError("missing column 'value'", file=loc.file, field="header")
    terms: dict[str, bool] = {}

    def model_has(name):
        if name not in terms:
            terms[name] = resolve_readout(defs[name], model, defs) is not None
        return terms[name]

    by: dict[str, dict] = {}
    for i in range(len(df)):
        pid = str(df[low["patient"]].iloc[i]).strip()
        if not pid:
            raise loc.err("missing patient id", i, "patient")
        kind = str(df[kind_col].iloc[i]).strip().lower() if kind_col is not None else "measurement"
        kind = kind or "measurement"
        if kind not in KINDS:
            raise loc.err(f"unknown kind {kind!r}{suggest(str(kind), KINDS)}; expected one of {', '.join(KINDS)}", i, "kind")
        rec = by.setdefault(pid, {"meas": [], "doses": [], "covs": {}, "regs": []})
        name = str(df[name_col].iloc[i]).strip()
        tval = str(df[low["time"]].iloc[i]).strip()
        unit = df[unit_col].iloc[i] if unit_col is not None else ""
        value = df[val_col].iloc[i]
        if kind == "covariate":
            rec["covs"][name] = _covariate(name, value, unit, loc, i)
            continue
        t = _num(tval, loc, i, "time", what="a time in hours")
        if kind == "measurement":
            _measurement_row(name, value, unit, t, defs, loc, i, rec["meas"], model_has)
        elif kind == "regimen":
            where = f"{loc.file}:{loc.line(i)} name" if loc.lines is not None else f"{loc.file} row {i}"
            rec["doses"].append(EventTable.from_regimens(model, name, start=t, where=where))
            rec["regs"].append((t, name))
        else:  # dose
            if name not in model.dose_targets:
                raise loc.err(f"unknown dosing compartment {name!r}{suggest(str(name), model.dose_targets)}; "
                              "expected <drug>.<route>, e.g. buprenorphine.sl", i, "name")
            amt = _num(value, loc, i, "value")
            u = str(unit or "mg").strip() or "mg"
            try:
                amt *= conversion_factor(u, "mg")
            except Exception:  # noqa: BLE001
                raise loc.err(f"dose unit {u!r} is not a mass ({MASS_UNITS})", i, "unit") from None
            if amt <= 0:
                raise loc.err("a dose amount must be positive", i, "value")
            rec["doses"].append(EventTable.from_rows(pd.DataFrame({"TIME": [t], "EVID": [1], "AMT": [amt], "CMT": [name],
                                                                   "RATE": [0.0], "II": [0.0], "ADDL": [0]})))
    out = {}
    extra = EventTable.from_regimens(model, extra_regimens or [], where="--regimen")
    for pid, rec in by.items():
        out[pid] = _finish(pid, rec["meas"], rec["doses"] + [extra], rec["covs"], rec["regs"], loc.file, model)
    if not out:
        raise OpiaxisInputError("the table has no rows", file=loc.file)
    return out


def _read_petab(df, loc, model, defs, regimens):
    low = _cols(df, loc, ["observableid", "simulationconditionid", "measurement", "time"])
    terms = {}

    def model_has(name):
        if name not in terms:
            terms[name] = resolve_readout(defs[name], model, defs) is not None
        return terms[name]

    by: dict[str, list] = {}
    for i in range(len(df)):
        pid = re.sub(r"^patient_", "", str(df[low["simulationconditionid"]].iloc[i]).strip())
        name = str(df[low["observableid"]].iloc[i]).strip()
        t = _num(df[low["time"]].iloc[i], loc, i, "time")
        unit = defs[name].label if name in defs else ""
        _measurement_row(name, df[low["measurement"]].iloc[i], unit, t, defs, loc, i, by.setdefault(pid, []), model_has)
    doses = EventTable.from_regimens(model, regimens or [], where="--regimen")
    return {pid: _finish(pid, rows, [doses], {}, [(0.0, r) for r in regimens or []], loc.file, model)
            for pid, rows in by.items()}


def _read_nonmem(source, model, defs, regimens):
    from ..interop.nonmem import read_nonmem
    data = read_nonmem(source, model)
    label = data.file
    raw, lines, _ = _read_table(source)
    upper = {str(c).strip().upper(): c for c in raw.columns}
    cens_col = upper.get("BLQ", upper.get("CENS"))
    by_var = {}
    for name, r in defs.items():
        if r.kind in ("continuous", "scale", "poisson") and r.terms and len(r.terms) == 1:
            for c in r.terms[0].options:
                by_var.setdefault(c.name, name)
    loc = _Loc(label, lines)
    terms: dict[str, bool] = {}

    def model_has(name):
        if name not in terms:
            terms[name] = resolve_readout(defs[name], model, defs) is not None
        return terms[name]

    out = {}
    extra = EventTable.from_regimens(model, regimens or [], where="--regimen")
    for pid in data.ids:
        obs = data.observations[(data.observations["ID"] == pid) & (data.observations["MDV"] == 0)]
        rows = []
        for _, o in obs.iterrows():
            i = int(o["ROW"])
            cens = cens_col is not None and str(raw[cens_col].iloc[i]).strip() in ("1", "1.0")
            _nonmem_observation(o, by_var, defs, loc, cens, rows, model_has)
        ev = data.events[(data.events["ID"] == pid) & data.events["EVID"].isin([1, 4])]
        frames = [EventTable.from_rows(ev.drop(columns=["ID"])), extra]
        params = {}
        if len(data.covariates):
            crow = data.covariates[data.covariates["ID"] == pid] if "ID" in data.covariates else data.covariates.loc[[pid]]
            for c in crow.columns:
                if c in model.param_index and len(crow):
                    params[c] = float(crow[c].iloc[0])
        out[str(pid)] = _finish(pid, rows, frames, {}, [], label, model, params)
    return out


def _nonmem_observation(o, by_var, defs, loc, cens: bool, rows: list, model_has) -> None:
    """One NONMEM observation row (DV already in the model variable's unit) through the same
    checks as a tidy row (negative concentrations, scale bounds, counts), its errors naming the
    dataset's line and the NONMEM column (CMT for the read-out, DV for the value)."""
    i, var = int(o["ROW"]), str(o["VARIABLE"])
    if var not in by_var:
        raise loc.err(f"observed variable {var!r} has no read-out (noise model) in data/readouts.yaml; "
                      f"observable variables: {', '.join(sorted(by_var))}", i, "CMT")
    name = by_var[var]
    r = defs[name]
    if cens and r.kind != "continuous":
        raise loc.err(f"BLQ/CENS = 1 on {name!r}, a {r.kind} read-out; only assay concentrations are "
                      "censored at a limit", i, "BLQ")
    value = f"<{float(o['DV']):.17g}" if cens else f"{float(o['DV']):.17g}"
    try:
        _measurement_row(name, value, r.unit if r.kind == "continuous" else "", float(o["TIME"]), defs, loc, i,
                         rows, model_has)
    except OpiaxisInputError as exc:
        field = {"value": "DV", "name": "CMT", "unit": "DV"}.get(exc.field, exc.field)
        raise OpiaxisInputError(exc.message, file=exc.file, line=exc.line, field=field) from None


# ----------------------------------------------------------------------------------------------
# the problem: parameters <-> z, residuals
# ----------------------------------------------------------------------------------------------
def relevant_drugs(model: Model, doses: pd.DataFrame) -> set[str]:
    from ..physiology.drugs import load_drugs
    lib = load_drugs()
    given = {str(c).split(".", 1)[0] for c in doses["CMT"]} if len(doses) else set()
    out, todo = set(), list(given)
    while todo:
        d = todo.pop()
        if d in out:
            continue
        out.add(d)
        if d in lib:
            todo += [m for m, _ in lib[d].metabolites] + [m for r in lib[d].routes.values() for m, _ in r.first_pass]
    return out


def candidate_parameters(model: Model, doses: pd.DataFrame, modules=None) -> list[str]:
    """Parameters with between-patient variability the patient's data could inform."""
    drugs = relevant_drugs(model, doses)
    used = {str(c) for c in doses["CMT"]} if len(doses) else set()
    out = []
    external = model.external_parameters()   # the behaviour layer's: no state depends on them
    for p in model.parameters:
        if p.variability is None or p.variability.spread == 0 or p.name in external:
            continue
        if modules and p.module not in modules:
            continue
        if p.module == "pk":
            d = next((d for d in sorted(drugs, key=len, reverse=True) if p.name.startswith(d + "_")), None)
            if d is None:
                continue
            m = re.fullmatch(rf"{d}_(\w+)_F", p.name)
            if m and f"{d}.{m.group(1)}" not in used:
                continue
        out.append(p.name)
    return out


# chronic non-cancer pain: the pain module's documented nociceptive drive (untreated NRS ~6). The
# behaviour engine's cohorts use 1.2 (NRS ~5-6, its own assumption); both are assumptions.
CHRONIC_PAIN_DRIVE = 1.5


def typical_parameters(model: Model, covariates: dict | None = None) -> np.ndarray:
    """The typical parameter row of a patient with these covariates: the population medians with
    the covariate effects of :func:`opiaxis.population.covariates.apply_covariates`, and
    ``chronic_pain`` = 1 setting the pain module's ``nociceptive_drive`` (which ``apply_covariates``
    does not map: without it every patient is pain-free and pain never enters the utility)."""
    from ..population.covariates import apply_covariates
    base = model.default_parameters()[None].copy()
    cov = dict(covariates or {})
    if cov:
        base = apply_covariates(model, base, pd.DataFrame({k: [float(v)] for k, v in cov.items()}))
    if cov.get("chronic_pain", 0) > 0.5 and "nociceptive_drive" in model.param_index:
        base[0, model.param_index["nociceptive_drive"]] = CHRONIC_PAIN_DRIVE
    return base[0]


class Problem:
    """Negative log posterior of one patient in the z-space of ``names``."""

    def __init__(self, model: Model, data: PatientData, names: list[str], *, readouts=None,
                 rtol: float = 1e-4, extra_times=(), residual_dof: float | None = None):
        self.model, self.data, self.names = model, data, list(names)
        self.sim = Simulator.of(model)
        self.defs = readout_set(model, readouts)
        base = typical_parameters(model, data.covariates)
        for k, v in data.parameters.items():
            base[model.param_index[k]] = v
        self.base = base
        external = model.external_parameters()   # the behaviour layer's parameters: not fitted to states
        self.var_idx = [(model.param_index[p.name], p) for p in model.parameters
                        if p.variability is not None and p.variability.spread > 0 and p.name not in external]
        self.idx = np.array([model.param_index[n] for n in self.names], int)
        self.rtol = rtol
        meas = data.measurements
        self.t0 = data.start
        terms = {name: resolve_readout(self.defs[name], model, self.defs) for name in sorted(meas["measurement"].unique())}
        # a read-out that recalls a window needs the latents over it (opiaxis.observe.window)
        self.samplings = {name: term.sampling(meas.loc[meas["measurement"] == name, "time"].to_numpy(float), self.t0)
                          for name, term in terms.items() if term is not None and term.readout.window is not None}
        self.times = np.unique(np.round(np.r_[meas["time"].to_numpy(float), np.asarray(extra_times, float),
                                              *[w.nodes for w in self.samplings.values()]], 9))
        self.times = self.times[self.times >= self.t0]
        self.groups = []
        for name, sub in meas.groupby("measurement", sort=True):
            term = terms[name]
            if term is None:
                continue
            tidx = np.searchsorted(self.times, sub["time"].to_numpy(float) - 1e-9)
            cens = sub["censored"].astype(str).to_numpy()
            self.groups.append((name, term, sub.index.to_numpy(), tidx, sub["value"].to_numpy(float), cens,
                                sub["limit"].to_numpy(float)))
        self.n_obs = int(sum(len(g[2]) for g in self.groups))
        self.inflation = np.ones(self.n_obs)
        self.whiten = None                  # Cholesky factor of the data residuals' covariance
        self.noise_scale2 = np.ones(self.n_obs)   # residual variance factors (set_noise_scale)
        self._unfitted_cov = np.zeros((self.n_obs, self.n_obs))
        self.residual_dof = residual_dof

    def set_unfitted_variance(self, v: np.ndarray) -> None:
        """First-order marginalisation of the parameters that are not fitted: observation i's
        residual is divided by sqrt(1 + v_i), v_i = Σ_k S_ik² over unfitted parameters k
        (S: sensitivities on the noise-standardised scale, from the screen)."""
        self.inflation = np.sqrt(1.0 + np.asarray(v, float))
        self.whiten = None

    def set_unfitted_sensitivities(self, S_unfitted: np.ndarray) -> None:
        """Linear-Gaussian marginalisation of the parameters that are not fitted, with the
        correlation they induce: an unfitted parameter moves every visit of a read-out together,
        so its error is shared across observations, not independent per observation (the
        diagonal inflation of :meth:`set_unfitted_variance` counts four visits as four independent
        pieces of evidence against it, and the fitted parameters absorb its effect). With the
        screen's sensitivities S (unfitted × observations, noise-standardised scale, at the prior
        median) the data residuals have covariance Σ = I + AᵀA, A = S · sign (signs of each
        read-out's residual convention); the fit uses L⁻¹r with Σ = LLᵀ — generalised least
        squares, i.e. the marginal likelihood of the linearised model (e.g. Bates & Watts 1988,
        ch. 2; the first-order marginalisation of FOCE, Beal & Sheiner). Censored rows and urine
        screens (whose residuals are not linear in the prediction) keep the diagonal inflation."""
        S = np.nan_to_num(np.asarray(S_unfitted, float))
        sign = np.concatenate([np.full(len(g[2]), -1.0 if g[1].readout.kind == "continuous" else 1.0)
                               for g in self.groups]) if self.groups else np.zeros(0)
        cens = np.concatenate([g[5] for g in self.groups]) if self.groups else np.zeros(0, str)
        binary = np.concatenate([np.full(len(g[2]), g[1].readout.kind == "binary") for g in self.groups]) \
            if self.groups else np.zeros(0, bool)
        lin = (cens == "") & ~binary
        A = S * (sign * lin)[None, :]
        self._unfitted_cov = A.T @ A + np.diag(np.where(lin, 0.0, (S ** 2).sum(axis=0)))
        self.inflation = np.ones(self.n_obs)
        self.whiten = np.linalg.cholesky(np.diag(self.noise_scale2) + self._unfitted_cov)

    def set_noise_scale(self, s2: np.ndarray) -> None:
        """Residual variance factors per observation (one per read-out, ≥ 1): the read-out's noise
        SD is sqrt(s²) times its noise model's. With the correlated marginalisation the data
        residuals then have covariance diag(s²) + AᵀA (the noise is the scaled assay noise, the
        unfitted parameters add to it); otherwise each residual is divided by its s."""
        s2 = np.asarray(s2, float)
        self.noise_scale2 = s2
        if self.whiten is not None:
            self.whiten = np.linalg.cholesky(np.diag(s2) + self._unfitted_cov)
        else:
            self.inflation = self.inflation * np.sqrt(s2)

    # -- parameters ---------------------------------------------------------------------
    def params(self, Z: np.ndarray, Zall: np.ndarray | None = None) -> np.ndarray:
        """Parameter rows for z of the fitted names (n, K) [and, optionally, z of every
        variable parameter (n, n_var) for the others; median otherwise]."""
        Z = np.atleast_2d(Z)
        P = np.tile(self.base, (Z.shape[0], 1))
        zfull = np.zeros((Z.shape[0], len(self.model.parameters)))
        if Zall is not None:
            for c, (j, _) in enumerate(self.var_idx):
                zfull[:, j] = Zall[:, c]
        if len(self.idx):
            zfull[:, self.idx] = Z
        for j, p in self.var_idx:
            P[:, j] = p.at_z(P[:, j], zfull[:, j])
        return P

    # -- predictions and residuals ---------------------------------------------------------
    def simulate(self, P, times=None, rtol=None):
        times = self.times if times is None else times
        X, stats = self.sim.run(P, times, self.data.doses, t0=self.t0, rtol=rtol or self.rtol, atol=1e-9)
        return X

    def predictions(self, P, rtol=None) -> list[np.ndarray]:
        return self.predictions_of(self.simulate(P, rtol=rtol), P)

    def predictions_of(self, X, P) -> list[np.ndarray]:
        """Each read-out group's predictions (rows, its measurements) from states ``X`` on
        :attr:`times` of parameter rows ``P``."""
        # every read-out's latent variables at every measurement time, in one evaluation
        V = self.sim.values(sorted({v for g in self.groups for v in g[1].variables if v not in g[1].taxa}), X, P)
        out = []
        for name, term, rows, tidx, y, cens, lim in self.groups:
            if name in self.samplings:
                x = term.predict_at(self.sim, X, P, self.times, self.samplings[name], V)
            else:
                x = term.predict(self.sim, X[:, tidx, :], P, {v: a[:, tidx] for v, a in V.items()})
            out.append(np.asarray(x, float).reshape(X.shape[0], len(rows)))
        return out

    def residuals(self, Z, rtol=None) -> np.ndarray:
        """(n, K + n_obs): prior residuals z, then data residuals."""
        Z = np.atleast_2d(Z)
        return self.residuals_of(Z, self.predictions(self.params(Z), rtol=rtol))

    def residuals_of(self, Z, preds: list[np.ndarray]) -> np.ndarray:
        """:meth:`residuals` of the rows ``Z`` from their read-out predictions ``preds``
        (:meth:`predictions_of`)."""
        Z = np.atleast_2d(Z)
        parts = [Z]
        for (name, term, rows, tidx, y, cens, lim), x in zip(self.groups, preds):
            parts.append(_finite(residuals_for(term.readout, x, y[None, :], cens[None, :], lim[None, :])))
        R = np.concatenate(parts, axis=1)
        R[:, Z.shape[1]:] /= self.inflation[None, :]
        if self.whiten is not None:
            R[:, Z.shape[1]:] = solve_triangular(self.whiten, R[:, Z.shape[1]:].T, lower=True).T
        if self.residual_dof:
            R[:, Z.shape[1]:] = student_t_residuals(R[:, Z.shape[1]:], self.residual_dof)
        return R

    def phi(self, Z, rtol=None) -> np.ndarray:
        R = self.residuals(Z, rtol=rtol)
        return 0.5 * (R ** 2).sum(axis=1)


# ----------------------------------------------------------------------------------------------
# sensitivity screen
# ----------------------------------------------------------------------------------------------
def screen(model: Model, data: PatientData, candidates: list[str], *, readouts=None, step: float = 0.1,
           rtol: float = 1e-3, nonlinear: bool = True, min_info: float = 0.3) -> pd.DataFrame:
    """Fisher information of each candidate at the population median (one batch of simulations).

    ``rtol`` 1e-3 (the MAP and the Hessian run at 1e-4): against 1e-4, in three decision-study
    patients the information changed by at most 0.05 (threshold 0.3), the sensitivities by at most
    0.06 noise SDs, the same 8 parameters were chosen, for 59% of the CPU time.

    ``nonlinear``: where the data are far from the linearised prior predictive, also screen the
    uninformed parameters over ±:data:`SECANT_Z` prior SDs (:func:`_nonlinear_screen`);
    ``information`` is then the larger of the local and the secant information
    (``local_information``: the local one), ``attrs["start"]`` the promoted ones' starting z."""
    prob = Problem(model, data, candidates, readouts=readouts, rtol=rtol)
    K = len(candidates)
    if K == 0 or prob.n_obs == 0:
        return pd.DataFrame({"parameter": candidates, "information": np.zeros(K), "local_information": np.zeros(K)})
    Z = np.vstack([np.zeros(K), step * np.eye(K)])
    preds = _screen_predictions(prob, prob.params(Z))
    info = np.zeros(K)
    Ss, g0s = [], []
    for (name, term, rows, tidx, y, cens, lim), x in zip(prob.groups, preds):
        g = _g(term.readout.kind, term.readout, x)
        S = np.nan_to_num((g[1:] - g[0]) / step)
        w = np.where(cens == "", 1.0, 0.5)
        info += (S ** 2 * w).sum(axis=1)
        Ss.append(S)
        g0s.append(g[0])
    start = _nonlinear_screen(prob, candidates, info, Ss, g0s, min_info) if nonlinear else {}
    local = info.copy()
    for n, (inf_s, _) in start.items():
        info[candidates.index(n)] = max(info[candidates.index(n)], inf_s)
    out = pd.DataFrame({"parameter": candidates, "module": [model.parameter(n).module for n in candidates],
                        "information": info, "local_information": local})
    order = np.argsort(-info, kind="mergesort")
    out = out.iloc[order].reset_index(drop=True)
    # per-observation sensitivities (candidates x observations, groups concatenated), screen order
    out.attrs["S"] = np.concatenate(Ss, axis=1)[order] if Ss else np.zeros((K, 0))
    out.attrs["start"] = {n: z for n, (_, z) in start.items()}   # MAP starting z of the promoted ones
    # the simulations themselves (rows: median, then +step of each candidate in ``candidates`` order),
    # the fit's first Jacobian where its parameters were screened (:func:`_screen_start`)
    out.attrs["runs"] = ScreenRuns(candidates=list(candidates), step=step, predictions=preds)
    return out


def _screen_predictions(prob: Problem, P: np.ndarray) -> list[np.ndarray]:
    """:meth:`Problem.predictions` of the screen's rows ``P`` (row 0 the median, row 1 + k candidate
    k moved), simulating only the rows that can differ from row 0. A row is not simulated, and gets
    row 0's predictions, when (a) it is bitwise row 0 (a log-normal parameter whose typical value is
    0, or one clipped at a bound: the kernel is deterministic, so its simulation is row 0's), or
    (b) its candidate is not upstream of any observed read-out in the model's equations
    (:meth:`Model.parameters_upstream`): the exact solution of every read-out is then row 0's, and
    a simulated row differs from it only through the step-size control, which sees all states (the
    recovery design's 30 such candidates of 88: at most 1.1e-5 noise SDs; a 7-day buprenorphine
    record's 40: at most 0.013 at rtol 1e-3, 1e-4 at 1e-5, i.e. noise that vanishes with the
    tolerance; against the 0.3 information threshold; ``tests/test_fit_speed.py``). Their sensitivities are then exactly 0, so the
    nonlinear screen does not secant-test them either (it could not promote them: they cannot move
    a read-out)."""
    names = {v for g in prob.groups for v in g[1].variables}
    up = prob.model.parameters_upstream(names)
    run = np.r_[True, [n in up for n in prob.names]] & ~np.all(P == P[:1], axis=1)
    run[0] = True
    sim = np.flatnonzero(run)
    at = np.zeros(len(P), int)
    at[sim] = np.arange(len(sim))
    preds = prob.predictions(P[sim])
    return [x[at] for x in preds]


@dataclass(frozen=True, kw_only=True)
class ScreenRuns:
    """The screen's read-out predictions at the prior median (row 0) and at +``step`` SD of each
    candidate (row 1 + k), per read-out group of the screen's :class:`Problem`."""
    candidates: list
    step: float
    predictions: list


def _screen_start(prob: Problem, scr: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """Residuals and forward-difference Jacobian of ``prob`` at z = 0 from the screen's own runs
    (step 0.1 SD at rtol 1e-3 instead of 0.05 at 1e-4): the MAP's first iteration without
    simulating. None when the screen did not run every fitted parameter (or on other groups)."""
    runs = scr.attrs.get("runs")
    if runs is None or any(n not in runs.candidates for n in prob.names) or \
            [x.shape[1] for x in runs.predictions] != [len(g[2]) for g in prob.groups]:
        return None
    K = len(prob.names)
    rows = np.r_[0, [1 + runs.candidates.index(n) for n in prob.names]]
    Z = np.vstack([np.zeros(K), runs.step * np.eye(K)])
    R = prob.residuals_of(Z, [x[rows] for x in runs.predictions])
    return R[0], ((R[1:] - R[0][None, :]) / runs.step).T


# The nonlinear screen (issue 15, sixth pass). The local screen linearises at the prior median;
# a parameter whose effect is a switch (the mood module's bistable episode: at the median trait a
# person is euthymic and MADRS barely moves with the trait, past the tipping point it is ~30) has
# no local information although the data decide it. When some read-out's misfit at the prior
# median is beyond what the linearised prior predictive allows (the Mahalanobis distance dᵀΣ⁻¹d of
# its rows' misfit d on the noise-standardised scale, Σ = I + SᵀS with the local sensitivities S,
# above the 99.9% χ² quantile: the visits of a read-out share the parameters' shifts), the parameters
# the local screen left uninformed are moved to ±SECANT_Z prior SDs (2 batches of simulations),
# and one that removes at least half of those read-outs' squared misfit is fitted ("promoted",
# with its secant information; a second MAP starts on that side, :func:`_map_from_start`).
# SECANT_Z 3 (0.3% of the population beyond): in the decision study's low_bup_F_pain-1 (MADRS
# 32-35 at four visits, ~2 predicted at the median) the trait offset tips the median patient into
# an episode between 2 and 2.5 SD (truth 2.35), so ±2 SD would not have seen it.
SECANT_Z = 3.0
SECANT_EXPLAINS = 0.5


def _nonlinear_screen(prob, candidates, info, Ss, g0s, min_info) -> dict:
    """{parameter: (secant information, starting z)} of the parameters promoted (see above)."""
    from scipy.stats import chi2
    ys, oks, flag = [], [], []
    for (name, term, rows, tidx, y, cens, lim), S, g0 in zip(prob.groups, Ss, g0s):
        kind = term.readout.kind
        ok = (cens == "") & np.isfinite(y) & (kind != "binary")
        gy = _g(kind, term.readout, np.where(np.isfinite(y), y, 1.0))
        d, So = (g0 - gy)[ok], S[:, ok]
        m = float(d @ np.linalg.solve(np.eye(len(d)) + So.T @ So, d)) if len(d) else 0.0
        ys.append(gy)
        oks.append(ok)
        flag.append(np.full(len(ok), len(d) > 0 and m > chi2.ppf(0.999, max(len(d), 1))))
    # only parameters that reach a flagged read-out at all: upstream of its latent variables in the
    # model's equations (:meth:`Model.parameters_upstream`; another one can move it only by the
    # integration's noise) and with a local sensitivity there that is not exactly 0
    up = prob.model.parameters_upstream({v for g, f in zip(prob.groups, flag) if f.any()
                                         for v in [*(v for v, _ in g[1].latents), *g[1].taxa]})
    flag = np.concatenate(flag) & np.concatenate(oks)
    reach = (np.abs(np.concatenate(Ss, axis=1)[:, flag]).max(axis=1, initial=0.0) > 1e-9) & \
        np.array([n in up for n in candidates], bool)
    weak = [k for k in range(len(candidates)) if info[k] < min_info and reach[k]]
    if not flag.any() or not weak:
        return {}
    gy, g0 = np.concatenate(ys), np.concatenate(g0s)
    Z = np.zeros((2 * len(weak), len(candidates)))
    for i, k in enumerate(weak):
        Z[2 * i, k], Z[2 * i + 1, k] = SECANT_Z, -SECANT_Z
    G = np.concatenate([_g(g[1].readout.kind, g[1].readout, x) for g, x in
                        zip(prob.groups, prob.predictions(prob.params(Z)))], axis=1)
    w = np.where(np.concatenate([g[5] for g in prob.groups]) == "", 1.0, 0.5)
    d0 = np.sum((g0 - gy)[flag] ** 2)
    out = {}
    for i, k in enumerate(weak):
        for r in (2 * i, 2 * i + 1):
            D = np.nan_to_num(G[r] - g0)
            if np.sum((G[r] - gy)[flag] ** 2) <= (1.0 - SECANT_EXPLAINS) * d0:
                inf_s = float(np.sum(w * (D / SECANT_Z) ** 2))
                if inf_s >= min_info and inf_s > out.get(candidates[k], (0.0, 0.0))[0]:
                    out[candidates[k]] = (inf_s, float(Z[r, k]))
    return out


# ----------------------------------------------------------------------------------------------
# the fit
# ----------------------------------------------------------------------------------------------
MAP_PREDICTION_RTOL = 1e-6   # the fit table's and the phenotype's predictions at the MAP

@dataclass
class FitResult:
    patient: str
    problem: Problem
    names: list
    z: np.ndarray
    cov: np.ndarray
    table: pd.DataFrame
    fit_table: pd.DataFrame
    screen: pd.DataFrame
    messages: list
    not_identifiable: list
    seconds: float
    objective: float
    samples: np.ndarray | None = None        # z draws (importance-resampled), fitted names
    ess: float | None = None
    hessian: str = "fd"
    dof: float = np.inf                      # residual degrees of freedom (Student-t intervals and draws)
    unfitted: "UnfittedPosterior | None" = None  # linearised posterior of the screened, unfitted parameters
    dispersion: np.ndarray | None = None     # residual variance factor s² per observation (≥ 1)
    _map_predictions: tuple | None = field(default=None, repr=False)   # (z, read-out predictions at it)

    def map_predictions(self) -> list[np.ndarray]:
        """Each read-out group's predictions (1, its measurements) at the MAP, rtol
        :data:`MAP_PREDICTION_RTOL`: those of the fit table, simulated again only if ``z`` changed."""
        if self._map_predictions is not None and np.array_equal(self._map_predictions[0], self.z):
            return self._map_predictions[1]
        return self.problem.predictions(self.parameter_row()[None], rtol=MAP_PREDICTION_RTOL)

    @property
    def identifiable(self) -> bool:
        return bool(len(self.names)) and not all(n in self.not_identifiable for n in self.names)

    @property
    def model(self):
        return self.problem.model

    def parameter_row(self) -> np.ndarray:
        return self.problem.params(self.z[None, :])[0]

    def draw_z(self, n: int, seed: int = 0) -> np.ndarray:
        """Posterior draws of the fitted z (importance samples when available, else Laplace)."""
        rng = Streams(seed).shared(Purpose.FIT, "posterior draws")
        K = len(self.names)
        if K == 0:
            return np.zeros((n, 0))
        if self.samples is not None and len(self.samples):
            return self.samples[rng.integers(0, len(self.samples), n)]
        L = np.linalg.cholesky(self.cov + 1e-12 * np.eye(K))
        E = rng.standard_normal((n, K)) @ L.T
        if np.isfinite(self.dof):  # multivariate Student-t, as the intervals
            E /= np.sqrt(rng.chisquare(self.dof, (n, 1)) / self.dof)
        return self.z + E

    def draw_parameters(self, n: int, seed: int = 0, *, prior_for_unfitted: bool = True,
                        condition_unfitted: bool = True, consistent: bool = False, end_states: bool = False,
                        antithetic: bool | None = None):
        """(n, n_params): fitted parameters from the posterior; the other parameters with
        variability from their population distribution (or at the median), those the screen
        found informed by the data conditioned on it (``condition_unfitted``; :class:`UnfittedPosterior`).
        ``consistent``: only draws that the data do not contradict (:meth:`consistent_rows`), from
        ``CONSISTENCY_PROPOSALS`` × n proposals (the decision draws of ``recommend``).
        ``end_states``: return ``(P, X_end)``, X_end (n, n_states) the rows' states at the last
        measurement time from the data check's simulation (``None`` without the check).
        ``antithetic``: rows in mirrored pairs (:func:`_antithetic`), so that a mean over the draws of
        anything linear in the deviates is exact (default :data:`ANTITHETIC_DRAWS`)."""
        antithetic = ANTITHETIC_DRAWS if antithetic is None else antithetic
        m = n * CONSISTENCY_PROPOSALS if consistent and prior_for_unfitted else n
        Zf = self.draw_z(m, seed)
        if antithetic and self.samples is None:  # Laplace / Student-t draws: mirrored about the MAP
            Zf = self.z + _antithetic(Zf - self.z)
        Zall = None
        if prior_for_unfitted:
            # by parameter name (one draw per (seed, row, name)): a parameter added to the model does not
            # re-draw the others (drawn as one matrix in parameter order, a new gut parameter moved four
            # near-tie rank 1s of the decision study)
            Zall = Streams(seed).named_normals([f"unfitted prior:{i}" for i in range(m)], Purpose.FIT,
                                               [p.name for _, p in self.problem.var_idx])
            if antithetic:
                Zall = _antithetic(Zall)
            if self.unfitted is not None and condition_unfitted:
                self.unfitted.condition(Zall, Zf - self.z, [p.name for _, p in self.problem.var_idx])
        P = self.problem.params(Zf, Zall)
        if m == n:
            return (P, None) if end_states else P
        rows, X_end = self.consistent_rows(P, n, end_states=True)
        return (P[rows], X_end) if end_states else P[rows]

    def consistent_rows(self, P: np.ndarray, n: int, *, end_states: bool = False):
        """Indices of the first ``n`` rows of ``P`` that the data do not contradict
        (:meth:`data_excess` ≤ 1): a posterior-predictive check of each decision draw against the
        data at hand. The draws of the unfitted parameters come from a linearisation at the
        population median (:class:`UnfittedPosterior`), which cannot see a switch: in the
        misspecified hpa_depressed-3 of the decision study (in a depressive episode, MADRS ~28 at
        every visit) half of them left the episode (mean MADRS 12 over the draws). When fewer than
        ``n`` pass, the rest are the proposals that exceed their quantiles least.
        ``end_states``: also the chosen rows' states at the last measurement time, (n, n_states).

        The rows are checked in order, a batch at a time, until ``n`` have passed (a row's excess
        does not depend on which rows share its batch: the kernel integrates each row alone), so
        the proposals after the n-th passing one are never simulated; the indices are those of
        checking every row at once."""
        excess, X_end = np.full(len(P), np.inf), np.zeros((len(P), len(self.problem.model.states)))
        q, X = self.readout_misfit(np.vstack([self.parameter_row()[None], P[:n]]))  # the mode with the first n
        q_mode, done = q[:1], min(n, len(P))
        excess[:done], X_end[:done] = self._excess(q[1:], q_mode), X[1:]
        while done < len(P) and (excess[:done] <= 1.0).sum() < n:
            k = max(2 * (n - int((excess[:done] <= 1.0).sum())), 2)   # twice the shortfall
            q, X_end[done:done + k] = self.readout_misfit(P[done:done + k])
            excess[done:done + k] = self._excess(q, q_mode)
            done += k
        ok = np.flatnonzero(excess <= 1.0)
        rows = ok[:n] if len(ok) >= n else \
            np.r_[ok, np.argsort(np.where(excess <= 1.0, np.inf, excess), kind="stable")[:n - len(ok)]]
        return (rows, X_end[rows]) if end_states else rows

    def data_excess(self, P: np.ndarray) -> np.ndarray:
        """Per parameter row: the largest, over read-outs, of (Q_g(row) − Q_g(mode)) / χ²₀.₉₉₉(n_g),
        Q_g the sum of the read-out's squared residuals in the fit's residual model (Student-t,
        noise scaled by the read-out's dispersion), the mode the fit's parameter row, n_g its rows.
        Above 1: the row fits some read-out worse than the mode by more than chance allows."""
        q, _ = self.readout_misfit(np.vstack([self.parameter_row()[None], P]))
        return self._excess(q[1:], q[:1])

    def _excess(self, q: np.ndarray, q_mode: np.ndarray) -> np.ndarray:
        """:meth:`data_excess` from the read-outs' Q_g of the rows (rows, groups) and of the mode (1, groups)."""
        from scipy.stats import chi2
        k = np.array([len(g[2]) for g in self.problem.groups], float)
        if not len(k):
            return np.zeros(len(q))
        return np.maximum(((q - q_mode) / chi2.ppf(0.999, k)[None, :]).max(axis=1), 0.0)

    def readout_misfit(self, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Q_g of :meth:`data_excess` per row of ``P`` and read-out group (rows, groups), and the
        rows' states at the last measurement time (rows, n_states): one simulation of the record."""
        prob = self.problem
        s2 = self.dispersion if self.dispersion is not None else np.ones(prob.n_obs)
        X = prob.simulate(P)
        q, i = np.zeros((len(P), len(prob.groups))), 0
        for c, ((name, term, r_idx, tidx, y, cens, lim), x) in enumerate(zip(prob.groups, prob.predictions_of(X, P))):
            k = len(r_idx)
            r = _finite(residuals_for(term.readout, x, y[None], cens[None], lim[None])) / np.sqrt(s2[i:i + k])[None]
            if prob.residual_dof:
                r = student_t_residuals(r, prob.residual_dof)
            q[:, c] = (r * r).sum(axis=1)
            i += k
        return q, X[:, -1, :]

    def predict(self, times, P=None) -> tuple[np.ndarray, np.ndarray]:
        """States on ``times`` for parameter rows ``P`` (default: the MAP)."""
        P = self.parameter_row()[None] if P is None else P
        times = np.asarray(times, float)
        X = self.problem.simulate(P, times=times)
        return X, P

    def figure(self, path, n_draws: int = 20) -> Path:
        """PNG: each measurement over time, the MAP prediction with a 90% band from posterior
        draws, observed values (censored ones as triangles at the limit)."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        prob = self.problem
        names = [g[0] for g in prob.groups]
        n = max(len(names), 1)
        cols = min(3, n)
        rows = math.ceil(n / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
        grid = np.unique(np.r_[np.linspace(prob.t0, max(prob.data.end, prob.t0 + 1), 200), prob.times])
        P = np.vstack([self.parameter_row()[None], self.problem.params(self.draw_z(n_draws, 1))]) if len(self.names) \
            else self.parameter_row()[None]
        X = prob.sim.run(P, grid, prob.data.doses, t0=prob.t0, rtol=1e-5)[0]
        for k, (name, term, rows_, tidx, y, cens, lim) in enumerate(prob.groups):
            ax = axes[k // cols][k % cols]
            x = term.predict(prob.sim, X, P)
            td = (grid - prob.t0) / 24
            if len(P) > 2:
                lo, hi = np.nanpercentile(x[1:], [5, 95], axis=0)
                ax.fill_between(td, lo, hi, color="C0", alpha=0.2, lw=0, label="90% band")
            ax.plot(td, x[0], color="C0", lw=1.5, label="MAP")
            t_obs = (prob.times[tidx] - prob.t0) / 24
            ok = cens == ""
            ax.plot(t_obs[ok], y[ok], "o", color="C3", ms=4, label="observed")
            if (~ok).any():
                ax.plot(t_obs[~ok], lim[~ok], "v", color="C3", mfc="none", ms=6, label="censored (limit)")
            ax.set_title(name, fontsize=9)
            ax.set_xlabel("days since start")
            ax.set_ylabel(term.readout.label, fontsize=8)
            ax.tick_params(labelsize=7)
        for k in range(len(prob.groups), rows * cols):
            axes[k // cols][k % cols].axis("off")
        axes[0][0].legend(fontsize=7)
        fig.suptitle(f"patient {self.patient}: fit of {len(self.names)} individual parameter(s)", fontsize=10)
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path


# Proposals per decision draw for FitResult.draw_parameters(consistent=True): draws that the data
# contradict are replaced by the next proposals (assumed: 3 leaves room for one in two rejected).
CONSISTENCY_PROPOSALS = 3
# Decision draws in antithetic pairs (FitResult.draw_parameters): each odd row mirrors the row before it
# about the posterior centre, in every deviate (the fitted ones about the MAP, the unfitted ones' prior
# deviates about 0, which the conditioning maps affinely onto mirror images about the conditional mean).
# A mean over the draws of any loss is then exact for the part of it linear in the parameters, and only
# the even part is left to Monte-Carlo error (Hammersley & Morton, Proc Camb Phil Soc 1956;52:449;
# Owen, "Monte Carlo theory, methods and examples" 2013, ch. 8.2). Measured on the decision study's
# low_bup_exposure-1: docs/precision-recovery.md, "Issue 15, thirteenth session".
ANTITHETIC_DRAWS = True


def _antithetic(E: np.ndarray) -> np.ndarray:
    """Deviates from their centre (rows) with every odd row replaced by the negative of the row before it."""
    E = np.array(E, dtype=float, copy=True)
    k = len(E) // 2
    E[1:2 * k:2] = -E[0:2 * k:2]
    return E


@dataclass(frozen=True, kw_only=True)
class UnfittedPosterior:
    """Posterior of the screened parameters the fit holds at their median, given the data and
    the fitted ones, in the linearised model of the screen: z_u | z_f ~ N(mean + gain·(z_f − ẑ_f),
    chol·cholᵀ). Without it the decision draws take them from the population although the data
    inform them (e.g. the gut's transit parameters from the bowel-movement counts)."""
    names: list
    mean: np.ndarray      # (U,) at the MAP of the fitted ones
    gain: np.ndarray      # (U, K)
    chol: np.ndarray      # (U, U)

    def condition(self, Zall: np.ndarray, dZf: np.ndarray, var_names: list[str]) -> None:
        """Replace the prior standard-normal draws in ``Zall`` (columns ``var_names``) of these
        parameters by conditional posterior draws (in place; the same normal deviates)."""
        cols = [var_names.index(n) for n in self.names]
        E = Zall[:, cols]
        Zall[:, cols] = np.clip(self.mean[None, :] + dZf @ self.gain.T + E @ self.chol.T, -4.0, 4.0)


UNFITTED_ITERATIONS = 3   # Gauss–Newton steps of the unfitted parameters' conditioning (0: one linear step at the median)
UNFITTED_RELINEARISE = 4  # of the most informed unfitted parameters, sensitivities re-computed at each step
UNFITTED_STEP_TOL = 0.1   # stop when no conditional mean moves by more than this (prior SDs)


def _unfitted_posterior(prob: Problem, scr: pd.DataFrame, names: list[str], z: np.ndarray,
                        s2: np.ndarray | None, preds: list | None = None,
                        iterations: int = UNFITTED_ITERATIONS) -> UnfittedPosterior | None:
    """Linear-Gaussian (Bayesian linear regression) posterior of the unfitted screened parameters,
    from the screen's sensitivities S at the prior median and the misfit d = g(x̂) − g(y) of the
    uncensored rows at the MAP on the noise-standardised scale g (noise variance s² per row, the
    read-out dispersion): precision Q = I + S_u W S_uᵀ, mean −Q⁻¹ S_u W (d + S_fᵀ Δz_f), W = diag(u/s²),
    with the Student-t row weights u of the fit's own residual model (:func:`_t_weights`; u = 1 under
    normal errors). ``preds``: the read-out predictions at the MAP at the fit's rtol, when already
    simulated (the FD Hessian's first row; each row of a batch is solved on its own, so they are
    the same numbers).

    ``iterations``: that linear step, taken at the prior median, is one Gauss–Newton step; where the
    read-outs are nonlinear in an unfitted parameter it stops short of the conditional mode. Up to
    ``iterations`` further steps (:func:`_gauss_newton_unfitted`) re-evaluate the misfit at the
    current conditional mean and the sensitivities of the ``UNFITTED_RELINEARISE`` most informed
    unfitted parameters there (an iterated Laplace approximation, as the iterated extended Kalman
    filter: Bell & Cathey, IEEE Trans Autom Control 1993;38:294). Measured on the decision study's
    low_bup_exposure-1 (informative-transit record): the gut's maximal μ slowing, whose breath tests
    follow an Emax in its odds, conditioned at −0.63 ± 0.44 prior SDs by one step against an exact
    two-parameter grid posterior of −1.16 ± 0.56 (truth −1.5; docs/precision-recovery.md, "Issue 15,
    eleventh session")."""
    S = scr.attrs.get("S")
    order = list(scr["parameter"])
    unf = [n for n in order if n not in names]
    if S is None or not unf or S.shape[1] != prob.n_obs or any(n not in order for n in names):
        return None
    P = prob.params(z[None])
    d, ok = _misfit(prob, prob.predictions(P) if preds is None else preds)
    s2 = np.ones(len(d)) if s2 is None else np.asarray(s2, float)
    Su = np.nan_to_num(S[[order.index(n) for n in unf]])
    Sf = np.nan_to_num(S[[order.index(n) for n in names]])
    w = ok * _t_weights(Su, d, s2, ok, prob.residual_dof) / s2
    C = _inv_precision(Su, w)
    mean = -C @ (Su * w) @ d
    if iterations:
        mean, Su, w, C = _gauss_newton_unfitted(prob, z, unf, mean, Su, d, ok, s2, iterations)
    return UnfittedPosterior(names=unf, mean=mean, gain=-C @ (Su * w) @ Sf.T,
                             chol=np.linalg.cholesky(C + 1e-12 * np.eye(len(unf))))


def _misfit(prob: Problem, preds: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """d = g(x) − g(y) of every observation (first row of ``preds``) on the noise-standardised
    scale, and which rows enter the linear conditioning (uncensored, finite, not binary)."""
    d, ok = [], []
    for (name, term, rows, tidx, y, cens, lim), x in zip(prob.groups, preds):
        kind = term.readout.kind
        d.append(_g(kind, term.readout, x[0]) - _g(kind, term.readout, np.where(np.isnan(y), 1.0, y)))
        ok.append((cens == "") & np.isfinite(y) & (kind != "binary"))
    return np.nan_to_num(np.concatenate(d)), np.concatenate(ok)


def _gauss_newton_unfitted(prob: Problem, z: np.ndarray, unf: list[str], mean: np.ndarray, Su: np.ndarray,
                           d0: np.ndarray, ok: np.ndarray, s2: np.ndarray, iterations: int, h: float = 0.1):
    """Gauss–Newton steps on the unfitted parameters' conditional log posterior
    ½ Σ w (d(m))² + ½ |m|², the fitted ones at the MAP ``z``, started from the linear step ``mean``:
    at each step one simulation at m and one per relinearised parameter (forward differences of
    ``h`` prior SDs; the others keep the screen's sensitivities at the median). A step that raises
    the objective first holds back the parameters that move the read-outs whose misfit rose
    (:func:`_overshooting`), then, if it still does, is halved; the steps stay inside the parameters'
    bounds (:func:`_z_bounds`). Returns (mean, S_u, w, C) at the last point, C = (I + S_u W S_uᵀ)⁻¹."""
    var_names = [p.name for _, p in prob.var_idx]
    cols = np.array([var_names.index(n) for n in unf])
    lo, hi = _z_bounds(prob, unf, h)
    w = ok * _t_weights(Su, d0, s2, ok, prob.residual_dof) / s2
    pick = np.argsort(-((Su ** 2) * w[None, :]).sum(axis=1))[:UNFITTED_RELINEARISE]

    def evaluate(m):
        Zall = np.zeros((1 + len(pick), len(var_names)))
        Zall[:, cols] = m[None, :]
        Zall[np.arange(1, 1 + len(pick)), cols[pick]] += h
        preds = prob.predictions(prob.params(np.repeat(z[None], len(Zall), axis=0), Zall))
        d, _ = _misfit(prob, [x[:1] for x in preds])
        S = Su.copy()
        S[pick] = np.concatenate([np.nan_to_num((_g(g[1].readout.kind, g[1].readout, x[1:])
                                                 - _g(g[1].readout.kind, g[1].readout, x[:1])) / h)
                                  for g, x in zip(prob.groups, preds)], axis=1)
        return d, S

    w0 = w                                        # the objective's weights (fixed: steps are compared on it)
    ends = np.cumsum([len(g[2]) for g in prob.groups])[:-1]

    def objective(d, m):
        return 0.5 * float(np.sum(w0 * d * d)) + 0.5 * float(m @ m)

    m_old, f_old, done, accepted, S0 = np.zeros(len(unf)), objective(d0, np.zeros(len(unf))), False, False, Su
    d_old, held = d0, False
    m = np.clip(mean, lo, hi)
    for _ in range(iterations):
        d, S = evaluate(m)
        f = objective(d, m)
        if f > f_old:                             # the last step overshot
            keep = None if held else _overshooting(Su, w0, d, d_old, m - m_old, ends, f - f_old)
            held = True
            # hold the parameters that move the read-outs whose misfit rose at their last accepted value
            # (the others keep their step) once; a step that still overshoots is halved
            m = np.where(keep, m_old, m) if keep is not None else 0.5 * (m_old + m)
            continue
        m_old, f_old, Su, accepted, d_old, held = m, f, S, True, d, False
        r = d - Su.T @ m                          # the linear model d(u) ≈ r + S_uᵀ u around m
        w = ok * _t_weights(Su, r, s2, ok, prob.residual_dof) / s2
        m = np.clip(-_inv_precision(Su, w) @ (Su * w) @ r, lo, hi)
        if np.max(np.abs(m - m_old)) < UNFITTED_STEP_TOL:
            done = True
            break
    if not accepted:                              # no step lowered the objective: the linear step, as before
        return mean, S0, w0, _inv_precision(S0, w0)
    if not done:                                  # the last step was not checked: keep the last point that was
        m = m_old
    return m, Su, w, _inv_precision(Su, w)


def _z_bounds(prob: Problem, names: list[str], h: float) -> tuple[np.ndarray, np.ndarray]:
    """The prior-z interval in which the Gauss–Newton steps keep each unfitted parameter: ±4, and ``h``
    inside the deviate where the parameter reaches a bound (``Parameter.at_z`` clips there). Beyond it
    every z is the same value, the forward difference is 0 and the parameter would leave the
    conditioning with its prior SD although the data inform it (the decision study's hpa_depressed-1:
    ``hpa_opioid_suppression_max``, 0.6·e^(0.3z) capped at 0.95, i.e. z ≤ 1.53, stepped to 1.70 and
    came back ± 1.00 instead of ± 0.22)."""
    par = {p.name: (j, p) for j, p in prob.var_idx}
    lo, hi = np.full(len(names), -4.0), np.full(len(names), 4.0)
    for k, n in enumerate(names):
        j, p = par[n]
        with np.errstate(all="ignore"):
            for b, arr, sign in ((getattr(p, "lower", None), lo, 1.0), (getattr(p, "upper", None), hi, -1.0)):
                zb = float(p.variability.z_of(prob.base[j], b)) if b is not None else np.nan
                if np.isfinite(zb) and abs(zb) < 4.0:
                    arr[k] = zb + sign * h
    return lo, np.maximum(hi, lo)


def _overshooting(Su: np.ndarray, w: np.ndarray, d: np.ndarray, d_old: np.ndarray, step: np.ndarray,
                  ends: np.ndarray, rise: float, share: float = 0.1) -> np.ndarray | None:
    """Which unfitted parameters a Gauss–Newton step that raised the objective by ``rise`` should hold
    back: the read-out groups (split at ``ends``) whose weighted misfit rose by at least ``share`` of
    ``rise``, and the parameters whose step moves those rows, in the linear model, by at least ``share``
    of the largest such move (Σ_rows w·(step_i·S_i)²). A read-out that switches (MADRS, when the mood
    trait crosses the point where an episode ends: the decision study's misspecified hpa_depressed-1,
    where the step to −0.46 prior SDs dropped the predicted MADRS from ~30 to ~1) then vetoes only the
    parameters that move it, and not the rest of the step (the gut's, informed by other read-outs),
    which halving all of it would cost. None when no group or parameter stands out (halve instead)."""
    rose = [(0.5 * np.sum(wg * dg * dg) - 0.5 * np.sum(wg * og * og)) >= share * rise
            for wg, dg, og in zip(np.split(w, ends), np.split(d, ends), np.split(d_old, ends))]
    rows = np.concatenate([np.full(len(wg), r) for wg, r in zip(np.split(w, ends), rose)])
    if not rows.any():
        return None
    move = ((step[:, None] * Su[:, rows]) ** 2 * w[None, rows]).sum(axis=1)
    keep = move >= share * move.max() if move.max() > 0 else None
    return None if keep is None or keep.all() else keep


def _inv_precision(Su: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(I + S_u W S_uᵀ)⁻¹, symmetrised."""
    C = np.linalg.inv(np.eye(len(Su)) + (Su * w) @ Su.T)
    return 0.5 * (C + C.T)


def _t_weights(Su: np.ndarray, d: np.ndarray, s2: np.ndarray, ok: np.ndarray, nu: float | None,
               iterations: int = 20) -> np.ndarray:
    """Row weights u_i = (ν+1)/(ν + e_i²/s²_i) of the linear model d = −S_uᵀz_u + e with Student-t(ν)
    errors of scale s (the fit's residual model, ``Problem.residual_dof``), z_u ~ N(0, I), by EM
    (Lange, Little & Taylor, JASA 1989;84:881, sec. 3: the t-likelihood as a normal one whose row
    precisions are scaled by u, re-estimated from the residuals e at the current posterior mean).
    Without it the conditioning is Gaussian while the fit is not: one visit far off (the
    within-patient variability of a misspecified record; in the decision study's misspecified
    typical-1 an IL-6 of 16 pg/mL at one visit against ~2 at the others) pulled the unfitted
    parameters that can explain it (the monocytes' withdrawal gain to +0.9 SD, truth −1.9) although
    the fit itself had discounted it. All ones under normal errors (``nu`` None)."""
    u = np.ones(len(d))
    if not nu:
        return u
    for _ in range(iterations):
        w = ok * u / s2
        m = -np.linalg.solve(np.eye(Su.shape[0]) + (Su * w) @ Su.T, (Su * w) @ d)
        e = d + Su.T @ m
        u_new = (nu + 1.0) / (nu + e * e / s2)
        if np.max(np.abs(u_new - u)) < 1e-4:
            return u_new
        u = u_new
    return u


def _data_information(sol, fd, K: int, hessian: str, residual_dof, obs_weight=None):
    """The data part of the Hessian at the MAP (FD, Gauss–Newton or t-curvature-weighted
    Gauss–Newton), projected onto the positive semi-definite cone: (Hd, eigenvalues, vectors)."""
    J = sol.jac
    wv = np.ones(len(sol.fun)) if obs_weight is None else np.r_[np.ones(K), obs_weight]
    if hessian == "irls":
        wv = wv * np.r_[np.ones(K), _t_curvature(sol.fun[K:], residual_dof)]
    H = _fd_hessian(fd, K, obs_weight) if fd is not None else J.T @ (J * wv[:, None])
    H = 0.5 * (H + H.T) - np.eye(K)  # the data part
    w, V = np.linalg.eigh(H)
    w = np.clip(w, 0.0, None)
    return (V * w) @ V.T, w, V


def _laplace(prob: Problem, sol, fd, hessian: str, scr, names: list[str], sandwich: bool):
    """Laplace covariance of the fitted z with its corrections: (cov, residual dof, s² per row,
    data information Hd and its eigen-decomposition)."""
    K = len(names)
    Hd, w, V = _data_information(sol, fd, K, hessian, prob.residual_dof)
    H0 = np.eye(K) + Hd
    # residual dispersion: where a read-out's data scatter more than its noise model says
    # (biological variability, a wrong residual model, a misfit), its information is divided by
    # s²_g = Σ r²/(n_g − edf_g) ≥ 1 (shrunk to the pooled value); edf = Σ w/(1 + w) is the
    # effective number of fitted parameters
    edf = float(np.sum(w / (1.0 + w)))
    dof = max(prob.n_obs - edf, 1.0)
    s2 = _dispersion(prob, sol.fun[K:], edf)
    if np.any(s2 > 1.0):
        Hd, w, V = _data_information(sol, fd, K, hessian, prob.residual_dof, 1.0 / s2)
    cov = np.linalg.inv(np.eye(K) + Hd)
    # the unfitted parameters: the fit holds them at their medians, which makes the fitted ones
    # look better determined than they are when both move the same observations (e.g. CL and
    # V1 with F). Add the difference between the linearised marginal and conditional posteriors.
    D = _marginal_correction(scr, names, prob)
    if D is not None:
        cov = cov + D
    if sandwich:
        cov = _widen(cov, _sandwich(H0, sol.jac, sol.fun, K) + (D if D is not None else 0.0))
    return 0.5 * (cov + cov.T), dof, s2, Hd, w, V


def _dispersion_note(prob: Problem, s2: np.ndarray) -> list[str]:
    """A note naming the read-outs whose residuals scatter more than their noise models say."""
    wide = sorted({g[0] for g, i in zip(prob.groups, np.cumsum([0] + [len(g[2]) for g in prob.groups]))
                   if s2[i] > 1.5})
    if not wide:
        return []
    return [f"the residuals of {', '.join(wide)} scatter more than their noise models say (up to "
            f"{math.sqrt(s2.max()):.2g}×: biological variability or misspecification); their "
            "information is down-weighted, intervals widened accordingly"]


def _relinearise(prob: Problem, scr: pd.DataFrame, names: list[str], z: np.ndarray, top: int = 16) -> None:
    """Re-compute the sensitivities of the ``top`` most informative unfitted parameters at the MAP
    (fitted parameters at their estimates) instead of the prior median, and re-marginalise."""
    order = list(scr["parameter"])
    unf = [n for n in order if n not in names]
    S = np.nan_to_num(scr.attrs["S"][[order.index(n) for n in unf]]).copy()
    pick = unf[:top]
    var_names = [p.name for _, p in prob.var_idx]
    Zall = np.zeros((1 + len(pick), len(var_names)))
    for k, n in enumerate(pick):
        Zall[1 + k, var_names.index(n)] = 0.1
    preds = prob.predictions(prob.params(np.repeat(z[None], 1 + len(pick), axis=0), Zall))
    cols = []
    for (name, term, rows, tidx, y, cens, lim), x in zip(prob.groups, preds):
        g = _g(term.readout.kind, term.readout, x)
        cols.append(np.nan_to_num((g[1:] - g[0]) / 0.1))
    S[:len(pick)] = np.concatenate(cols, axis=1)
    prob.set_unfitted_sensitivities(S)


def _map_from_start(prob: Problem, names: list[str], start: dict, sol0, final_jacobian: bool = True):
    """The MAP from the nonlinear screen's side of the parameters it promoted
    (:func:`_nonlinear_screen`), kept when its objective is lower than ``sol0``'s (the MAP from the
    prior median). Two stages: the other parameters with the promoted ones held at their starting
    z, then all of them — started jointly, a first step that improves the others can carry a
    promoted parameter back across its switch (low_bup_F_pain-1: the trait offset from 3 to 0.2)."""
    K = len(names)
    z1 = np.array([start.get(n, 0.0) for n in names])
    held = z1 != 0
    if not held.any():
        return sol0
    lb, ub = np.full(K, -5.0), np.full(K, 5.0)
    lb[held], ub[held] = z1[held] - 1e-6, z1[held] + 1e-6
    s1 = _map_estimate(prob, K, z1, bounds=(lb, ub), final_jacobian=False)
    s2 = _map_estimate(prob, K, np.clip(s1.x, -5.0, 5.0), final_jacobian=final_jacobian)
    return s2 if s2.cost < sol0.cost else sol0


def _map_estimate(prob: Problem, K: int, z0: np.ndarray | None = None, bounds=(-5.0, 5.0), *,
                  start: tuple | None = None, final_jacobian: bool = True, coarse: bool = False):
    """MAP of the negative log posterior (``scipy.optimize.least_squares``, trust region), the
    forward-difference Jacobian (step 0.05 in z) in one batch of simulations per iteration.

    ``start``: (residuals, Jacobian) already known at ``z0`` (the screen's, :func:`_screen_start`),
    used for the first iteration instead of simulating them. ``final_jacobian`` False: the caller
    does not use ``sol.jac`` (the FD Hessian replaces it), so the Jacobian that ``least_squares``
    computes after its last step is not simulated (:class:`_MapObjective`); ``sol.jac`` is then
    the previous iterate's and ``sol.jac_is_final`` False. ``coarse``: first iterate at
    :data:`COARSE_RTOL` until the cost falls by less than :data:`COARSE_FTOL` per step, then go
    on at the fit's rtol from there, the coarse Jacobian at that point as the first one."""
    z0 = np.zeros(K) if z0 is None else np.asarray(z0, float)
    if coarse:
        c = _MapObjective(prob, K, bounds, start=None if start is None else (z0, *start), rtol=COARSE_RTOL)
        s1 = optimize.least_squares(c.fun, z0, jac=c.jac, method="trf", bounds=bounds,
                                    **{**MAP_TOLERANCES, "ftol": COARSE_FTOL, "xtol": COARSE_XTOL})
        z0, start = s1.x, (None, s1.jac)
    obj = _MapObjective(prob, K, bounds, start=None if start is None else (z0, *start),
                        skip_last=not final_jacobian)
    try:
        sol = optimize.least_squares(obj.fun, z0, jac=obj.jac, method="trf", bounds=bounds, **MAP_TOLERANCES)
    except _GoneOn:   # the skipped Jacobian was not the last one: go on from there, computing it
        obj.stale, obj.skip_last = None, False
        sol = optimize.least_squares(obj.fun, obj.prev[0], jac=obj.jac, method="trf", bounds=bounds,
                                     **MAP_TOLERANCES)
    sol.jac_is_final = obj.stale is None
    return sol


MAP_TOLERANCES = dict(x_scale=1.0, ftol=1e-4, xtol=1e-3, gtol=1e-6, max_nfev=60)
COARSE_RTOL, COARSE_FTOL, COARSE_XTOL = 1e-3, 1e-2, 1e-2


class _GoneOn(Exception):
    """``least_squares`` evaluated another point after a Jacobian was skipped as its last."""


class _MapObjective:
    """Residuals and forward-difference Jacobian of Φ for ``least_squares`` (trust-region
    reflective), the last evaluation's residuals cached.

    ``least_squares`` simulates the Jacobian at every accepted point, also at the one where it then
    stops (scipy's ``trf``: the termination test runs before the Jacobian update, the loop ends
    after it). With ``skip_last`` the same test (:func:`_would_stop`; its ftol, xtol, and the step's
    ratio of actual to predicted reduction from the previous Jacobian, with a margin) is evaluated
    here first; where it says the optimiser stops, the previous Jacobian is returned unsimulated
    (8 rows of 1e-4 simulations, ~0.2 CPU-s for 8 fitted parameters). Were the optimiser to go on
    nevertheless, its next evaluation raises :class:`_GoneOn` and the caller resumes from that
    point with the Jacobian simulated: a stale Jacobian never steers a step."""

    step = 0.05

    def __init__(self, prob: Problem, K: int, bounds, *, start=None, skip_last: bool = False,
                 rtol: float | None = None):
        self.prob, self.K, self.start, self.skip_last, self.rtol = prob, K, start, skip_last, rtol
        self.lb, self.ub = (np.broadcast_to(np.asarray(b, float), (K,)) for b in bounds)
        self.cache: dict = {}
        self.prev = None    # (z, residuals, Jacobian) of the last Jacobian returned
        self.stale = None   # z where a Jacobian was skipped

    def _known(self, z) -> bool:
        return self.start is not None and np.array_equal(z, self.start[0])

    def fun(self, z):
        if self.stale is not None:
            raise _GoneOn()
        if self._known(z) and self.start[1] is not None:
            return self.start[1]
        key = z.tobytes()
        if key not in self.cache:
            self.cache.clear()
            self.cache[key] = self.prob.residuals(z[None], rtol=self.rtol)[0]
        return self.cache[key]

    def jac(self, z):
        r0 = self.fun(z)
        if self._known(z):
            J = self.start[2]
        elif self.skip_last and self.prev is not None and _would_stop(*self.prev, z, r0, self.lb, self.ub):
            self.stale = z.copy()
            return self.prev[2]
        else:
            Rp = self.prob.residuals(z[None, :] + self.step * np.eye(self.K), rtol=self.rtol)
            J = ((Rp - r0[None, :]) / self.step).T
        self.prev = (z.copy(), r0, J)
        return J


def _would_stop(x, r, J, x_new, r_new, lb, ub, margin: float = 0.9) -> bool:
    """Whether scipy's ``trf`` stops after the accepted step ``x → x_new`` (``check_termination``:
    relative cost reduction < ftol with actual/predicted reduction > 0.25, or step norm < xtol·(xtol +
    |x|)), evaluated with ``margin`` on both tolerances and 0.3 for the ratio. The predicted
    reduction is trf's quadratic model in its Coleman–Li scaled variables (Branch, Coleman & Li,
    SIAM J Sci Comput 1999;21:1): −(gᵀs + ½|Js|² + ½ Σ g_i dv_i s_i²/v_i)."""
    ftol, xtol = MAP_TOLERANCES["ftol"], MAP_TOLERANCES["xtol"]
    s = x_new - x
    if np.linalg.norm(s) < margin * xtol * (xtol + np.linalg.norm(x)):
        return True
    g = J.T @ r
    v, dv = np.ones_like(x), np.zeros_like(x)
    up, lo = (g < 0) & np.isfinite(ub), (g > 0) & np.isfinite(lb)
    v[up], dv[up] = ub[up] - x[up], -1.0
    v[lo], dv[lo] = x[lo] - lb[lo], 1.0
    predicted = -(g @ s + 0.5 * np.sum((J @ s) ** 2) + 0.5 * np.sum(g * dv * s ** 2 / v))
    F = 0.5 * float(r @ r)
    dF = F - 0.5 * float(r_new @ r_new)
    return predicted > 0 and dF < margin * ftol * F and dF / predicted > 0.3


# A read-out whose residuals at the first MAP scatter this much more than its noise model (variance
# factor s², shrunk towards the pooled value) gets its own residual scale in a second MAP. 1.5: the
# threshold of the dispersion note; under the assumed noise most patients stay below it (no refit).
RESCALE_AT = 1.5


def _rescaled_map(prob: Problem, sol, K: int, messages: list):
    """A residual model fitted per read-out: the noise SD of each read-out is its noise model's
    times s_g, s²_g ≥ 1 estimated from its residuals at the MAP (:func:`_dispersion`, effective
    degrees of freedom from the Gauss–Newton information, shrunk towards the pooled value), and
    the MAP is re-estimated with it (empirical Bayes; as NONMEM estimates a residual error per
    observation type, Beal & Sheiner, or PEtab's noise parameters). Within-patient variability
    that the noise model lacks then widens the posterior and lets the prior and the other read-outs
    weigh more, instead of the fit bending the parameters to four scattered visits (the covariance-
    only correction of :func:`_laplace` kept the MAP so bent). No refit when no read-out reaches
    :data:`RESCALE_AT`."""
    _, w, _ = _data_information(sol, None, K, "gn", prob.residual_dof)
    s2 = _dispersion(prob, sol.fun[K:], float(np.sum(w / (1.0 + w))))
    if s2.max() < RESCALE_AT:
        return sol
    prob.set_noise_scale(s2)
    messages.append("residual scale re-estimated per read-out (variance factors up to "
                    f"{s2.max():.2g}); MAP refitted with it")
    return _map_estimate(prob, K, sol.x)


def _t_curvature(r_t: np.ndarray, nu: float | None) -> np.ndarray:
    """Row weights that turn the Gauss–Newton JᵀJ of the Student-t-transformed residuals r_t
    (½r_t² = ρ(r) = (ν+1)/2·log(1 + r²/ν)) into the Hessian of Σρ for a model linear in z:
    ρ''(r)·(dr/dr_t)² = ρ''(r)·r_t²/ψ(r)², ψ = ρ'; 1 at r = 0, clipped at 0 where the t loss is
    concave (|r| > √ν). No simulations: it uses the final Jacobian of the MAP."""
    if not nu:
        return np.ones_like(r_t)
    r = np.sqrt(nu * np.expm1(r_t ** 2 / (nu + 1.0)))
    psi = (nu + 1.0) * r / (nu + r * r)
    rho2 = (nu + 1.0) * (nu - r * r) / (nu + r * r) ** 2
    with np.errstate(all="ignore"):
        w = np.where(r > 1e-6, rho2 * r_t ** 2 / np.maximum(psi, 1e-300) ** 2, 1.0)
    return np.clip(w, 0.0, None)


def _sandwich(H: np.ndarray, J: np.ndarray, r: np.ndarray, K: int) -> np.ndarray:
    """Misspecification-robust (sandwich) posterior covariance H⁻¹ (I + Σ_i s_i s_iᵀ) H⁻¹, with
    s_i = r_i ∇r_i the score of data row i at the MAP (the prior's part taken at its expected
    information I). Under the assumed noise model E[Σ s sᵀ] is the data information and this is
    ≈ H⁻¹; when the residuals scatter more than assumed (within-patient variability, unfitted
    parameters beyond the linear marginalisation) or the Student-t loss's observed curvature
    overstates the information (its Hessian at |r| < √ν is up to (ν+1)/ν times the normal one),
    it is wider. White, Econometrica 1982;50:1; for posteriors Müller, Econometrica 2013;81:1805."""
    Sc = J[K:] * r[K:, None]
    Hi = np.linalg.inv(H)
    return Hi @ (np.eye(K) + Sc.T @ Sc) @ Hi


def _widen(cov: np.ndarray, other: np.ndarray) -> np.ndarray:
    """``cov`` plus the positive semi-definite part of ``other − cov``: the wider of the two
    in every direction."""
    w, V = np.linalg.eigh(0.5 * ((other - cov) + (other - cov).T))
    return cov + (V * np.clip(w, 0.0, None)) @ V.T


def _fd_residuals(prob: Problem, z: np.ndarray, h: float = 0.1, rtol: float = 1e-4):
    """Residuals at the points of a forward finite-difference Hessian (one batch of
    1 + K + K(K+1)/2 simulations), so that Hessians for any observation weights follow; and the
    read-out predictions at ``z`` itself (its first row)."""
    K = len(z)
    pts = [z.copy()]
    for i in range(K):
        e = z.copy(); e[i] += h; pts.append(e)
    pairs = []
    for i in range(K):
        for j in range(i, K):
            e = z.copy(); e[i] += h; e[j] += h; pts.append(e); pairs.append((i, j))
    pts = np.array(pts)
    preds = prob.predictions(prob.params(pts), rtol=rtol)
    return (prob.residuals_of(pts, preds), pairs, h), [x[:1] for x in preds]


def _fd_hessian(fd, K: int, obs_weight: np.ndarray | None = None) -> np.ndarray:
    """Forward finite-difference Hessian of Φ (data rows weighted by ``obs_weight``)."""
    R, pairs, h = fd
    wv = np.ones(R.shape[1])
    if obs_weight is not None:
        wv[K:] = obs_weight
    f = 0.5 * (R ** 2 * wv).sum(axis=1)
    f0, fi = f[0], f[1:K + 1]
    H = np.zeros((K, K))
    for k, (i, j) in enumerate(pairs):
        H[i, j] = H[j, i] = (f[K + 1 + k] - fi[i] - fi[j] + f0) / h ** 2
    return H


def _dispersion(prob: Problem, r_data: np.ndarray, edf: float, prior_dof: float = 4.0) -> np.ndarray:
    """Per-observation variance factors s²_g ≥ 1, one per read-out: Σ r²/(n_g − edf_g) of the
    read-out's residuals, shrunk towards the pooled value with ``prior_dof`` pseudo-observations
    (empirical Bayes; four visits alone give a noisy variance)."""
    n = len(r_data)
    pooled = float(np.sum(r_data ** 2)) / max(n - edf, 1.0)
    out = np.ones(n)
    i = 0
    for g in prob.groups:
        m = len(g[2])
        dof_g = max(m - edf * m / max(n, 1), 0.5)
        s2 = (prior_dof * pooled + float(np.sum(r_data[i:i + m] ** 2))) / (prior_dof + dof_g)
        out[i:i + m] = max(1.0, s2)
        i += m
    return out


def fit_patient(data: PatientData, model: Model | None = None, *, parameters: list[str] | None = None,
                max_params: int = 8, min_info: float = 0.3, hessian: str = "fd", sample: int = 0,
                seed: int = 0, readouts=None, modules: list[str] | None = None,
                sd_ratio_limit: float = 0.7, marginalise: bool = True, residual_dof: float | None = 4.0,
                correlated: bool = True, sandwich: bool = False, relinearise: bool = False,
                rescale: bool = False, condition_iterations: int = UNFITTED_ITERATIONS) -> FitResult:
    """Empirical-Bayes MAP of one patient's parameters with a Laplace approximation.

    ``parameters``: fit these (names of parameters with variability) instead of the screen's
    choice. ``hessian``: 'fd' (finite-difference Hessian of the negative log posterior, 1 + K +
    K(K+1)/2 more simulations), 'irls' (the Student-t loss's curvature on the final Jacobian of
    the MAP, no extra simulations; :func:`_t_curvature`) or 'gn' (Gauss–Newton from the final Jacobian). ``sample``: importance-sampling draws (0 = none).
    ``marginalise``: inflate each observation's noise by the variance the unfitted parameters
    would add to it (first-order, from the screen's sensitivities), so that fixing them at their
    median does not make the fitted ones over-confident. ``residual_dof``: Student-t errors with
    this many degrees of freedom on the noise-standardised residuals (None: normal errors).
    ``correlated``: with ``marginalise``, account for the correlation the unfitted parameters
    induce between observations (generalised least squares, :meth:`Problem.set_unfitted_sensitivities`)
    instead of inflating each observation's noise on its own. ``sandwich``: widen the Laplace
    covariance to the misspecification-robust sandwich covariance where that is wider.
    ``relinearise``: after a first MAP, re-compute the 16 most informative unfitted parameters'
    sensitivities at it (instead of the prior median), re-marginalise and refine the MAP.
    Both are measured in docs/precision-recovery.md and off by default. ``rescale``: a residual
    scale per read-out estimated at the MAP and used in a second MAP (:func:`_rescaled_map`).
    ``condition_iterations``: Gauss–Newton steps of the unfitted parameters' conditioning on the data
    after its first linear step (:func:`_unfitted_posterior`; 0: the linear step at the prior median only).
    """
    from ..models import default_model
    t_start = _time.perf_counter()
    model = model or default_model()
    if hessian not in ("fd", "gn", "irls"):
        raise OpiaxisInputError(f"hessian must be 'fd', 'gn' or 'irls', got {hessian!r}", field="hessian")
    if len(data.measurements) == 0:
        raise OpiaxisInputError(f"patient {data.patient}: no measurements; nothing to fit", file=data.file)
    messages = []
    scr, names = _choose_parameters(model, data, parameters, modules, readouts, max_params, min_info, messages)
    uninformed = [p for p in scr["parameter"] if p not in names]
    prob = Problem(model, data, names, readouts=readouts, residual_dof=residual_dof)
    if marginalise and len(scr) and scr.attrs.get("S") is not None and scr.attrs["S"].shape[1] == prob.n_obs:
        unf = np.array([p not in names for p in scr["parameter"]])
        if correlated:
            prob.set_unfitted_sensitivities(scr.attrs["S"][unf])
        else:
            prob.set_unfitted_variance((scr.attrs["S"][unf] ** 2).sum(axis=0))
    K = len(names)
    not_ident: list[str] = []
    if K == 0:
        z, cov, obj = np.zeros(0), np.zeros((0, 0)), float(prob.phi(np.zeros((1, 0)))[0])
        dof = float(max(prob.n_obs, 1))
        messages.append("not identifiable: no parameter is informed by these data (largest Fisher information "
                        f"{scr['information'].max() if len(scr) else 0:.3g} < {min_info}); the population priors "
                        "are returned unchanged")
    else:
        # the Jacobian at the MAP: only the Gauss–Newton Hessians, the sandwich and the rescaled or
        # relinearised MAP use it (the default FD Hessian does not)
        need_jac = hessian != "fd" or sandwich or rescale or relinearise
        sol = _map_estimate(prob, K, start=_screen_start(prob, scr), final_jacobian=need_jac, coarse=True)
        if scr.attrs.get("start"):
            sol = _map_from_start(prob, names, scr.attrs["start"], sol, final_jacobian=need_jac)
        if rescale:
            sol = _rescaled_map(prob, sol, K, messages)
        if relinearise and prob.whiten is not None:
            _relinearise(prob, scr, names, sol.x)
            sol = _map_estimate(prob, K, sol.x)
        z = sol.x
        obj = float(0.5 * (sol.fun ** 2).sum())
        fd, fd_map_preds = None, None
        if hessian == "fd":
            fd, fd_map_preds = _fd_residuals(prob, z)
            if not np.all(np.isfinite(fd[0])):
                messages.append("finite-difference Hessian not finite; Gauss–Newton used")
                fd = None
                if not getattr(sol, "jac_is_final", True):
                    sol.jac = _MapObjective(prob, K, (-5.0, 5.0)).jac(z)

        cov, dof, s2, Hd, w, V = _laplace(prob, sol, fd, hessian, scr, names, sandwich)
        s2 = s2 * prob.noise_scale2   # the read-outs' residual variance factors in all
        messages += _dispersion_note(prob, s2)
        messages += _identifiability(names, cov, Hd, w, V, prob, sd_ratio_limit, not_ident)
        if sol.status <= 0:
            messages.append(f"optimiser stopped: {sol.message}")
    if K and len(not_ident) == K:
        messages.append("not identifiable: none of the fitted parameters is informed beyond its prior")

    unfitted = _unfitted_posterior(prob, scr, names, z, s2 if K else None, fd_map_preds if K else None,
                                   iterations=condition_iterations) if len(scr) else None
    samples, ess = None, None
    if sample and K:
        samples, ess = _importance(prob, z, cov, obj, int(sample), seed)
        if ess < 0.1 * sample:
            messages.append(f"importance sampling: effective sample size {ess:.0f} of {sample}; the Laplace "
                            "approximation is poor here, intervals from the samples are rough")
    from scipy.stats import t as student_t
    q90 = float(student_t.ppf(0.95, dof))
    table = _param_table(prob, names, z, cov, samples, not_ident, uninformed, scr, q90)
    map_preds = prob.predictions(prob.params(np.atleast_2d(z)), rtol=MAP_PREDICTION_RTOL)
    return FitResult(data.patient, prob, names, z, cov, table, _fit_table(prob, map_preds), scr, messages,
                     not_ident + uninformed, _time.perf_counter() - t_start, obj, samples, ess, hessian, dof,
                     unfitted, s2 if K else None, _map_predictions=(z.copy(), map_preds))


def _choose_parameters(model, data, parameters, modules, readouts, max_params, min_info, messages):
    """The sensitivity screen and the parameters to fit: ``parameters`` when given (checked), else
    the at most ``max_params`` most informed ones with information ≥ ``min_info``."""
    if parameters:
        bad = [p for p in parameters if p not in model.param_index or model.parameter(p).variability is None
               or p in model.external_parameters()]
        if bad:
            raise OpiaxisInputError(f"{bad} are not ODE model parameters with between-patient variability",
                                    field="parameters")
        return screen(model, data, list(parameters), readouts=readouts), list(parameters)
    scr = screen(model, data, candidate_parameters(model, data.doses, modules), readouts=readouts, min_info=min_info)
    sel = scr[scr["information"] >= min_info]
    promoted = [n for n in scr.attrs.get("start", {}) if n in list(sel["parameter"].iloc[:max_params])]
    if promoted:
        messages.append(f"{', '.join(promoted)}: little local information at the population median, but moving "
                        f"{'it' if len(promoted) == 1 else 'them'} by {SECANT_Z:g} prior SDs explains most of a "
                        "read-out's misfit there (a nonlinear effect): fitted, and a MAP also started on that side")
    if len(sel) > max_params:
        messages.append(f"{len(sel)} parameters are informed; the {max_params} most informed are fitted "
                        f"(next: {', '.join(sel['parameter'].iloc[max_params:max_params + 3])})")
    return scr, list(sel["parameter"].iloc[:max_params])


def _marginal_correction(scr, names, prob) -> np.ndarray | None:
    """Linearised (at the prior median, from the screen's sensitivities) difference between the
    posterior covariance of the fitted z when every screened parameter is uncertain and when the
    unfitted ones are held fixed (with the fit's first-order noise inflation); PSD-projected."""
    S = scr.attrs.get("S")
    order = list(scr["parameter"])
    if S is None or S.shape[1] != prob.n_obs or any(n not in order for n in names) or len(order) == len(names):
        return None
    cens = np.concatenate([g[5] for g in prob.groups]) if prob.groups else np.zeros(0, str)
    Sw = np.nan_to_num(S) * np.sqrt(np.where(cens == "", 1.0, 0.5))[None, :]
    f = [order.index(n) for n in names]
    Sf = Sw[f] / prob.inflation[None, :]
    if prob.whiten is not None:  # the fit's information is that of the whitened residuals
        sign = np.concatenate([np.full(len(g[2]), -1.0 if g[1].readout.kind == "continuous" else 1.0)
                               for g in prob.groups])
        Sf = solve_triangular(prob.whiten, (Sf * sign[None, :]).T, lower=True).T
    K = len(names)
    cond = np.linalg.inv(np.eye(K) + Sf @ Sf.T)
    Sn = Sw / np.sqrt(prob.noise_scale2)[None, :]   # the residual noise as the fit has it
    full = np.linalg.inv(np.eye(len(order)) + Sn @ Sn.T)[np.ix_(f, f)]
    w, V = np.linalg.eigh(0.5 * ((full - cond) + (full - cond).T))
    return (V * np.clip(w, 0.0, None)) @ V.T


def _combination(v, names, prob) -> str:
    """A direction in z as a product of powers of the parameters (log-normal ones) or a sum."""
    parts = []
    for k in np.argsort(-np.abs(v)):
        if abs(v[k]) < 0.25 * np.abs(v).max():
            continue
        p = prob.model.parameter(names[k])
        om = p.variability.omega if p.variability is not None else 1.0
        parts.append((names[k], v[k] / om if p.variability.kind == "lognormal" else v[k],
                      p.variability.kind == "lognormal"))
    if all(lg for *_, lg in parts):
        a = max(abs(c) for _, c, _ in parts)
        return " · ".join(f"{n}^{c / a:+.2g}" for n, c, _ in parts)
    return " + ".join(f"{c:+.2f}·z({n})" for n, c, _ in parts)


def _identifiability(names, cov, Hd, w, V, prob, sd_ratio_limit, not_ident) -> list[str]:
    """Which fitted parameters the data identify on their own, and which combinations they
    identify when the parameters themselves are not (e.g. only F/CL from troughs).

    A parameter is identifiable when its posterior SD is at most ``sd_ratio_limit`` of its prior
    SD (the posterior covariance includes the unfitted parameters' confounding) and at most a
    quarter of it lies in directions the data inform less than the prior does (data-information
    eigenvalue < 1): otherwise its posterior is narrow only because a partner in a combination
    has a tight prior (CL looks identified when only F/CL is, and F's prior is narrower). For the others,
    the eigen-directions of the data information ``Hd`` with eigenvalue ≥ 1 (at least as
    informative as the prior) that load on them are reported as identified combinations; the
    directions with eigenvalue < 0.1 as not informed at all."""
    msgs = []
    K = len(names)
    sd = np.sqrt(np.diag(cov))
    weak_load = (V[:, w < 1.0] ** 2).sum(axis=1)
    not_ident.extend(n for k, n in enumerate(names) if sd[k] > sd_ratio_limit or weak_load[k] > 0.25)
    if not_ident:
        msgs.append(f"not identifiable from these data (posterior SD > {sd_ratio_limit:.0%} of prior SD, or "
                    "mostly in directions the data inform less than the prior): " + ", ".join(not_ident))
    bad = [names.index(n) for n in not_ident]
    for j in range(K):
        v = V[:, j]
        if w[j] >= 1.0 and bad and np.max(np.abs(v[bad])) > 0.3 and np.sum(np.abs(v) > 0.25 * np.abs(v).max()) >= 2:
            msgs.append(f"identified combination (data information {w[j]:.3g} vs prior 1): "
                        f"{_combination(v, names, prob)} — the parameters in it are not identified separately")
        elif w[j] < 0.1:
            msgs.append(f"not identifiable: the direction {_combination(v, names, prob)} is not informed by the "
                        f"data (data-Hessian eigenvalue {w[j]:.2g} vs prior 1)")
    C = cov / np.outer(sd, sd)
    for a in range(K):
        for b in range(a + 1, K):
            if abs(C[a, b]) > 0.7:
                msgs.append(f"posterior correlation {C[a, b]:+.2f} between {names[a]} and {names[b]}")
    return msgs


def _importance(prob, z, cov, obj, n, seed):
    rng = Streams(seed).shared(Purpose.FIT, "importance")
    K = len(z)
    C = 1.5 * cov
    L = np.linalg.cholesky(C + 1e-12 * np.eye(K))
    E = rng.standard_normal((n, K))
    Z = z + E @ L.T
    logq = -0.5 * (E ** 2).sum(1)
    logp = -(prob.phi(Z) - obj)
    lw = logp - logq
    lw -= lw.max()
    w = np.exp(lw)
    w /= w.sum()
    ess = 1.0 / (w ** 2).sum()
    idx = rng.choice(n, size=n, p=w)
    return Z[idx], float(ess)


def _param_table(prob, names, z, cov, samples, not_ident, uninformed, scr, q90=1.6448536269514722):
    rows = []
    info = dict(zip(scr["parameter"], scr["information"]))
    q = 1.6448536269514722
    for k, n in enumerate(names):
        p = prob.model.parameter(n)
        typ = prob.base[prob.model.param_index[n]]
        sd = math.sqrt(cov[k, k])
        if samples is not None:
            lo_z, hi_z = np.percentile(samples[:, k], [5, 95])
        else:
            lo_z, hi_z = z[k] - q90 * sd, z[k] + q90 * sd
        lo, hi = sorted((float(p.at_z(typ, lo_z)), float(p.at_z(typ, hi_z))))
        rows.append({"parameter": n, "module": p.module, "unit": p.unit, "estimate": float(p.at_z(typ, z[k])),
                     "lower90": lo, "upper90": hi, "prior_median": float(typ),
                     "prior_lower90": float(min(p.at_z(typ, -q), p.at_z(typ, q))),
                     "prior_upper90": float(max(p.at_z(typ, -q), p.at_z(typ, q))),
                     "z": float(z[k]), "sd_ratio": sd, "shrinkage": sd ** 2, "information": info.get(n, np.nan),
                     "identifiable": n not in not_ident, "fitted": True})
    for n in uninformed:
        p = prob.model.parameter(n)
        typ = prob.base[prob.model.param_index[n]]
        rows.append({"parameter": n, "module": p.module, "unit": p.unit, "estimate": float(typ),
                     "lower90": float(min(p.at_z(typ, -q), p.at_z(typ, q))),
                     "upper90": float(max(p.at_z(typ, -q), p.at_z(typ, q))),
                     "prior_median": float(typ),
                     "prior_lower90": float(min(p.at_z(typ, -q), p.at_z(typ, q))),
                     "prior_upper90": float(max(p.at_z(typ, -q), p.at_z(typ, q))),
                     "z": 0.0, "sd_ratio": 1.0, "shrinkage": 1.0, "information": info.get(n, np.nan),
                     "identifiable": False, "fitted": False})
    return pd.DataFrame(rows)


def _fit_table(prob: Problem, preds: list[np.ndarray]) -> pd.DataFrame:
    """Observed, predicted (``preds``: the MAP's read-out predictions) and residual per measurement."""
    frames = []
    for (name, term, rows, tidx, y, cens, lim), x in zip(prob.groups, preds):
        r = residuals_for(term.readout, x, y[None], cens[None], lim[None])[0]
        frames.append(pd.DataFrame({"time": prob.times[tidx], "measurement": name, "observed": y,
                                    "censored": np.where(cens == "<", "<LLOQ", np.where(cens == ">", ">ULOQ", "")),
                                    "limit": lim, "predicted": x[0], "unit": term.readout.label,
                                    "residual": r}))
    if not frames:
        return pd.DataFrame(columns=["time", "measurement", "observed", "censored", "limit", "predicted", "unit", "residual"])
    return pd.concat(frames, ignore_index=True).sort_values(["time", "measurement"], kind="mergesort").reset_index(drop=True)


# ----------------------------------------------------------------------------------------------
# synthetic patients (recovery studies, tests, the example)
# ----------------------------------------------------------------------------------------------
def synthetic_table(model: Model, P: np.ndarray, regimens: list[tuple[float, str]], visits: dict[str, list[float]],
                    *, patient="1", seed: int = 0, covariates: dict | None = None, readouts=None,
                    within_cv: float = 0.0) -> pd.DataFrame:
    """A tidy patient table simulated with parameters ``P`` (one row): ``regimens`` as (start h,
    text), ``visits`` = {read-out: [times h]}, assay noise and censoring from the read-out
    definitions (streams seeded by (seed, patient, read-out)).

    ``within_cv`` > 0 adds within-patient biological variability that the fit does not model: each
    visit's latent value is multiplied by exp(cv·ε) (continuous, counts, diversity) or shifted by
    cv·(scale range)/4·ε (clinical scales), ε Student-t with 4 degrees of freedom (heavier tails
    than the assumed noise)."""
    from ..observe import readout_stream
    from ..observe.assays import observe_binary, observe_continuous, observe_poisson, observe_scale
    defs = readout_set(model, readouts)
    doses = EventTable.from_regimens(model, [t for _, t in regimens], start=[s for s, _ in regimens]) \
        .for_ids([1]).expanded() if regimens else None
    t0 = min(s for s, _ in regimens) if regimens else 0.0
    terms = {name: resolve_readout(defs[name], model, defs) for name in visits}
    samps = {name: term.sampling(np.asarray(visits[name], float), t0) for name, term in terms.items()
             if term is not None and term.readout.window is not None}
    times = np.unique(np.round(np.concatenate([np.asarray(v, float) for v in visits.values()]
                                              + [w.nodes for w in samps.values()]), 9))
    sim = Simulator.of(model)
    X, _ = sim.run(np.atleast_2d(P), times, doses, t0=t0, rtol=1e-7, atol=1e-10)
    rows = [{"patient": patient, "kind": "regimen", "time": s, "name": t, "value": "", "unit": ""} for s, t in regimens]
    for k, v in (covariates or {}).items():
        from ..population.covariates import COVARIATES
        rows.append({"patient": patient, "kind": "covariate", "time": "", "name": k, "value": v,
                     "unit": "" if COVARIATES[k].unit == "dimensionless" else COVARIATES[k].unit})
    pid = int(patient) if str(patient).isdigit() else patient
    for name, ts in visits.items():
        r, term = defs[name], terms[name]
        if term is None:
            continue
        if name in samps:   # the same windowed value the fit predicts (Problem.predictions_of)
            x = term.predict_at(sim, X, np.atleast_2d(P), times, samps[name])[0]
        else:
            tidx = np.searchsorted(times, np.asarray(ts, float) - 1e-9)
            x = term.predict(sim, X[:, tidx, :], np.atleast_2d(P))[0]
        rng = readout_stream(seed, pid, name)
        if within_cv > 0:
            eps = rng.standard_t(4, len(x)) / math.sqrt(2.0)  # unit variance
            if r.kind == "scale":
                x = np.clip(x + within_cv * (r.bounds[1] - r.bounds[0]) / 4 * eps, *r.bounds)
            else:
                x = x * np.exp(within_cv * eps)
        if r.kind == "continuous":
            y, flag, lim = observe_continuous(x, r, rng)
            vals = [f"<{l:.6g}" if f == "<LLOQ" else (f">{l:.6g}" if f == ">ULOQ" else f"{v:.5g}")
                    for v, f, l in zip(y, flag, lim)]
        elif r.kind == "scale":
            vals = [f"{v:g}" for v in observe_scale(x, r, rng)]
        elif r.kind == "poisson":
            vals = [f"{v:g}" for v in observe_poisson(x, r, rng)]
        elif r.kind == "binary":
            vals = [f"{v:g}" for v in observe_binary(x, r, rng)]
        else:  # diversity: Normal(x, DIVERSITY_SD)
            vals = [f"{v:.4g}" for v in x + DIVERSITY_SD * rng.standard_normal(len(x))]
        for t, v in zip(ts, vals):
            rows.append({"patient": patient, "kind": "measurement", "time": t, "name": name, "value": v,
                         "unit": r.label})
    return pd.DataFrame(rows, columns=["patient", "kind", "time", "name", "value", "unit"])
