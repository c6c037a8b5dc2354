"""The stochastic behaviour layer over the ODE model: a patient's own opioid use, treatment,
overdose, rescue and death, simulated in decision intervals.

Loop (one decision interval of ``dt`` hours, all living patients in one batch):

1. read the patient's state at the interval start (craving, withdrawal, pain, μ occupancy by
   antagonists/partial agonists) from the ODE states;
2. draw a fixed number of uniforms from the patient's own stream (seed, patient id) — so a
   patient's path never depends on the batch, its size or order;
3. decide use: hazard λ = λ0·access·(craving/c_ref)^γ·exp(β_w·W + β_p·pain/10 + β_cue·cue)·
   (1 − occ_block)^n_block·E, P(use in a slot) = 1 − exp(−λ·dt/n_slots). E (0…1) is the patient's
   learned outcome expectancy of a use: after each use E ← E + α·(r − E) with r = 1 − occ_block
   the reinforcement the dose can deliver (Rescorla–Wagner), and between uses E relaxes back to
   1 (spontaneous recovery). Use under an antagonist is not reinforced and extinguishes itself —
   the rationale of naltrexone treatment (Martin, Jasinski & Mansky, Arch Gen Psychiatry
   1973;28:784; Wikler 1973) seen on a research ward (Mello et al., JPET 1981;216:45); without
   blockade r = 1 and E stays at 1. Two more learnt terms in the exponent (issue 14): a patient
   discharged from detoxification without maintenance medication holds an abstinence commitment
   −c until the first use, which ends it and adds a fading abstinence-violation term +v (Marlatt &
   Gordon 1985: a lapse turning into a relapse); a chronic-pain patient's extra doses of the
   prescribed opioid raise an escalation state H (0…1, fading without extra doses) that adds g·H
   (escalation of self-administration, Ahmed & Koob, Science 1998;282:298). The dose (heroin or
   fentanyl, with use-to-use purity/potency spread) lands at the slot time; treatment doses
   (methadone, buprenorphine-naloxone, XR-naltrexone, prescribed oxycodone, naloxone challenge)
   are added by the patient's treatment policy;
4. simulate the interval from the last states (``x0``, ``t0``) with the generated doses;
5. overdose: a hazard on hypoxaemia over time, h = h0·((30 − PaO2)/30)⁺^m, with 30 mmHg the FDA
   model's "dangerous" arterial PO2 (Mann et al., Clin Pharmacol Ther 2022); each exposure (a use, or
   an agonist maintenance dose: methadone, buprenorphine-naloxone) is scored from its time to the
   next exposure or the interval's end, P = 1 − exp(−∫h dt) (:func:`od_probability`), on the
   respiration module's PaO2 (μ depression of the central drive with CO2 and hypoxic chemoreflexes, an
   O2 store that falls within minutes of a bolus, and a breathing tolerance of its own, lost in
   abstinence), deeper for a sedative co-user (a patient
   trait: benzodiazepines, alcohol, gabapentinoids) on the days they have sedatives on board
   (:func:`sedative_on_board`, a fraction ``sedative_day_fraction`` of days: the odds of the
   opioid's depression of the central drive times s, set in the simulation through the respiration
   module's ``sedative_odds_shift``, so the chemoreflexes answer it); rescue by bystander naloxone
   (re-simulated with naloxone 4 mg intranasal) or emergency services; death otherwise with a
   probability. The expected number of deaths given the path (Rao–Blackwell) is accumulated too;
6. daily: treatment dropout (hazard in craving and recent use), re-entry, other-cause death.

Rare events: with ``immortal=True`` deaths are not drawn; each patient carries its survival
probability S and its expected deaths Σ S·p_k (the conditional expectation of the death count
given the use path), which estimates mortality rates with far lower variance than counting
deaths in a small cohort; confidence intervals come from a bootstrap over patients.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from ..engine.readouts import assignment_function
from ..engine.simulate import SolverOptions, simulate
from ..model.core import Model, compose
from . import params as behaviour_params
from .treatments import Treatment, default_treatments

DRUGS = ("heroin", "mam6", "morphine", "m6g", "fentanyl", "methadone", "buprenorphine", "naloxone", "naltrexone",
         "naltrexol6b", "oxycodone", "oxytocin")
MODULES = ("pk", "receptors", "adaptation", "respiration", "hpa", "pain", "reward", "oxytocin")
OPTIONS = SolverOptions(rtol=1e-3, atol=1e-6)   # checked against 1e-6/1e-9: ventilation, tolerance agree to 1e-4
N_DRAWS = 12
FLUSH = 1e-20   # drug amounts below this are zero (far below any unit's meaningful amount)
TAG = 0xBE4A


@lru_cache(maxsize=1)
def behaviour_model() -> Model:
    """The composition the behaviour layer simulates: pk (drugs of OUD and its treatment only),
    receptors, adaptation, hpa, pain, reward, oxytocin, and the behaviour parameters (the
    parameter-only module of ``params.py``). Immune, glia, gut, mood are left out for speed (their
    interface variables take their resting defaults)."""
    from ..physiology.drugs import load_drugs
    drugs = load_drugs()
    sub = {k: drugs[k] for k in DRUGS if k in drugs}
    model = compose([importlib.import_module(f"opiaxis.physiology.{n}").build(sub) for n in MODULES]
                    + [behaviour_params.module()], name="opiaxis-behaviour")
    fp = model.fingerprint()
    model.fingerprint = lambda: fp  # the structure is fixed: avoid re-hashing on every interval's simulate call
    return model


class Evaluator:
    """Assignments (read-outs, interface variables) evaluated on state arrays, by the engine's
    cached read-out functions (:func:`opiaxis.engine.readouts.assignment_function`: made once per
    model structure, kept on disk, powers guarded as in the kernel)."""

    def __init__(self, model: Model):
        self.model = model

    def __call__(self, name, X, P):
        """X: (n, ns) or (n, T, ns); P: (n, np). Returns (n,) or (n, T)."""
        m = self.model
        if name in m.state_index:
            return X[..., m.state_index[name]]
        f = assignment_function(m, name)
        if X.ndim == 2:
            args = [X[:, i] for i in range(X.shape[1])] + [P[:, k] for k in range(P.shape[1])]
        else:
            args = [X[:, :, i] for i in range(X.shape[2])] + [P[:, k][:, None] for k in range(P.shape[1])]
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(f(*args), float), X.shape[:-1]).copy()


# ------------------------------------------------------------------------------------------------
TX_NONE, TX_NOREPL, TX_METHADONE, TX_BUPNX, TX_XRNTX, TX_DETOX, TX_CNCP = range(7)
# treatments a patient out of treatment can re-enter (``CohortSim(reentry=True)``): the agonist
# maintenance programmes people cycle in and out of (Sordo et al., BMJ 2017) — methadone and, since
# issue 14, buprenorphine-naloxone (after a taper: Ling et al., Addiction 2009;104:256 — "following
# the taper, participants could continue in TAU or be referred to other local treatment resources")
REENTRY_KINDS = (TX_METHADONE, TX_BUPNX)
TX_CODES = {"none": TX_NONE, "no_replacement": TX_NOREPL, "methadone": TX_METHADONE, "bupnx": TX_BUPNX,
            "xrntx": TX_XRNTX, "detox": TX_DETOX, "cncp": TX_CNCP}


@dataclass(kw_only=True)
class Cohort:
    model: Model
    ids: np.ndarray
    seed: int
    P: np.ndarray
    X: np.ndarray
    cov: pd.DataFrame
    B: dict            # behaviour parameters per patient (arrays; P's columns of them hold typical values)
    t: float = 0.0
    rngs: list = field(default_factory=list)
    eta: dict = field(default_factory=dict)   # each patient's multiplicative deviation from the typical value

    @property
    def n(self):
        return len(self.ids)

    def set_behaviour(self, name: str, value: float, where=None, *, fixed: bool = False) -> None:
        """Set a behaviour parameter's typical value for the patients in ``where`` (all when None):
        each keeps their own between-patient deviation (log-normal, the parameter's CV), as an
        override of a population parameter does in NONMEM; ``fixed=True`` gives every one of them
        exactly ``value`` instead."""
        new = np.full(self.n, float(value)) if fixed else float(value) * self.eta[name]
        self.B[name] = new if where is None else np.where(where, new, self.B[name])
        derive_traits(self.B, self.ids, self.seed)   # traits drawn from a parameter follow it


def make_cohort(ids, seed: int, *, covariates: dict | None = None, overrides: dict | None = None,
                behaviour: dict | None = None, model: Model | None = None) -> Cohort:
    """Virtual patients: covariates, ODE parameters (with covariate effects), behaviour parameters,
    initial states and one random stream each — all fixed by (seed, patient id). The behaviour
    parameters come from ``model`` (its ``behaviour`` module; :func:`behaviour_values`), their
    typical values overridden by ``behaviour`` (or ``overrides``) by name."""
    from ..population import virtual_cohort
    from ..streams import Purpose, Streams
    from ..population.covariates import covariate_specs
    model = model or behaviour_model()
    ids = np.asarray(ids, dtype=np.int64)
    P, cov = virtual_cohort(model, ids, seed, overrides=overrides, covariates=covariate_specs(covariates))
    if "nociceptive_drive" in model.param_index and "chronic_pain" in cov:
        # chronic pain: nociceptive drive giving NRS ~5–6 untreated (assumed; pain module's scale)
        P[:, model.param_index["nociceptive_drive"]] = np.where(cov["chronic_pain"] > 0.5, 1.2, 0.0)
    B, eta = behaviour_values(model, ids, seed, {**(overrides or {}), **(behaviour or {})})
    derive_traits(B, ids, seed)
    X = model.initial_state(P)
    rngs = [Streams(seed).patient(pid, Purpose.BEHAVIOUR_EVENTS) for pid in ids]
    return Cohort(model=model, ids=ids, seed=int(seed), P=P, X=X, cov=cov, B=B, t=0.0, rngs=rngs, eta=eta)


def behaviour_values(model: Model, ids, seed: int, typical: dict | None = None) -> tuple[dict, dict]:
    """(values, deviations): each patient's behaviour parameters, read from ``model`` (its
    ``behaviour`` module: typical value and log-normal CV) with ``typical`` overriding typical
    values by name, and each patient's multiplicative deviation from the typical value. The
    deviations are the patient's own named normals (stream BEHAVIOUR_TRAITS, keyed by the
    parameter's name), so they do not depend on which other parameters exist."""
    from ..streams import Purpose, Streams
    ids = np.asarray(ids, dtype=np.int64)
    declared = behaviour_params.model_parameters(model)
    for p in declared:
        if p.variability is not None and p.variability.kind != "lognormal":
            raise ValueError(f"behaviour parameter {p.name!r} has {p.variability.kind} variability; the behaviour "
                             "layer draws log-normal deviations only")
    Z = Streams(seed).named_normals(ids, Purpose.BEHAVIOUR_TRAITS, [p.name for p in declared])
    B, eta = {}, {}
    for k, p in enumerate(declared):
        v = (typical or {}).get(p.name, p.value)
        cv = p.variability.spread if p.variability is not None else 0.0
        eta[p.name] = np.exp(np.sqrt(np.log1p(cv ** 2)) * Z[:, k]) if cv > 0 else np.ones(len(ids))
        B[p.name] = v * eta[p.name] if cv > 0 else np.full(len(ids), float(v))
    return B, eta


def derive_traits(B: dict, ids, seed: int) -> None:
    """The patient traits drawn from behaviour parameters (the sedative co-use trait from
    ``sedative_couse_prevalence``), into ``B``: at cohort creation and after every
    :meth:`Cohort.set_behaviour`, so that an override of the parameter reaches its trait whenever it is
    applied. Each trait is fixed by (seed, patient id): an unchanged parameter gives the same trait."""
    B["sedative_couser"] = sedative_couser(ids, seed, B["sedative_couse_prevalence"])


def sedative_couser(ids, seed: int, prevalence) -> np.ndarray:
    """The sedative co-use trait (1 co-user, 0 not) of each patient: Φ(z) < prevalence with z the
    patient's own named normal 'sedative_couser' (stream BEHAVIOUR_TRAITS), so the trait is fixed by
    (seed, patient id) and a higher prevalence only adds co-users."""
    from ..streams import Purpose, Streams
    z = Streams(seed).named_normals(ids, Purpose.BEHAVIOUR_TRAITS, ["sedative_couser"])[:, 0]
    return (ndtr(z) < np.asarray(prevalence, float)).astype(float)


def sedative_on_board(ids, seed: int, k_day: int, couser, day_fraction) -> np.ndarray:
    """Whether each patient has sedatives on board on day ``k_day`` (1 yes, 0 no): a co-user
    (:func:`sedative_couser`) on a fraction ``sedative_day_fraction`` of days, drawn per patient and day
    from a keyed normal (stream BEHAVIOUR_EVENTS, key 'sedative_day:<day>'), so no other draw moves and
    every exposure of that day shares it."""
    from ..streams import Purpose, Streams
    z = Streams(seed).named_normals(ids, Purpose.BEHAVIOUR_EVENTS, [f"sedative_day:{int(k_day)}"])[:, 0]
    return np.asarray(couser, float) * (ndtr(z) < np.asarray(day_fraction, float))


def effect_titration(perceived, habit_tolerance, floor, ceiling: float = 0.99):
    """The dose a user takes, as a multiple of their habitual dose, to reach the effect they seek:
    tolerance_level T is the fraction of acute potency lost, so the same effect needs the potency fold
    Φ = 1/(1 − T) times the dose (the adaptation module's definition); a user doses by the fold they
    believe they have (``perceived``) relative to the fold their habit was formed at
    (``habit_tolerance``): (1 − T_habit)/(1 − T_perceived), at least ``floor`` (``dose_floor``). On
    methadone's cross-tolerance a heroin dose is larger than the habit, after abstinence smaller — the
    rightward shift of the dose–effect curve that defines tolerance (ninth session; the earlier rule
    interpolated linearly between floor and habit, so no dose exceeded the habit). T is held below
    ``ceiling`` (fold at most 100)."""
    t = np.clip(np.asarray(perceived, float), 0.0, ceiling)
    t_habit = np.clip(np.asarray(habit_tolerance, float), 0.0, ceiling)
    return np.maximum((1.0 - t_habit) / (1.0 - t), np.asarray(floor, float))


def hypoxaemia_hazard(pao2, h0, exponent, threshold):
    """Hazard (1/h) of a clinical overdose at arterial PO2 ``pao2`` (mmHg): zero at or above
    ``threshold`` (the FDA model's "dangerous" PaO2, 30 mmHg: Mann et al., Clin Pharmacol Ther 2022,
    doi:10.1002/cpt.2696), h0·((threshold − PaO2)/threshold)^m below it."""
    x = np.clip((threshold - np.asarray(pao2, float)) / threshold, 0.0, 1.0)
    return h0 * x ** exponent


def od_probability(times, pao2, t_from, t_to, h0, exponent, threshold) -> float:
    """P(clinical overdose) of an exposure scored over [t_from, t_to]: 1 − exp(−∫ h(PaO2(t)) dt) with
    :func:`hypoxaemia_hazard`, PaO2 linear between the simulated ``times`` (held outside them)."""
    times = np.asarray(times, float)
    pts = np.concatenate([[t_from], times[(times > t_from) & (times < t_to)], [t_to]])
    h = hypoxaemia_hazard(np.interp(pts, times, np.asarray(pao2, float)), h0, exponent, threshold)
    return float(1.0 - np.exp(-np.trapezoid(h, pts)))


def _doses(rows):
    if not rows:
        return None
    d = pd.DataFrame(rows, columns=["ID", "TIME", "AMT", "CMT"])
    d["EVID"] = 1
    d["RATE"] = 0.0
    return d.sort_values(["ID", "TIME"], kind="mergesort").reset_index(drop=True)


def run_in(c: Cohort, days: int = 28) -> None:
    """Establish dependence: the patient's habitual dose 4×/day (heroin, or fentanyl for a fentanyl
    supply) for ``days`` before time 0. One simulation; the cohort's states are replaced."""
    fent = c.cov["fentanyl_supply"].to_numpy() > 0.5
    times = -days * 24.0 + np.arange(days * 4) * 6.0 + 1.0
    rows = []
    for i, pid in enumerate(c.ids):
        cmt, amt = ("fentanyl.iv", c.B["fentanyl_dose"][i]) if fent[i] else ("heroin.iv", c.B["heroin_dose"][i])
        rows += [(pid, t, amt, cmt) for t in times]
    r = simulate(c.model, c.P, [0.0], _doses(rows), ids=c.ids, t0=-days * 24.0, options=OPTIONS)
    c.X = r.states[:, -1, :].copy()
    c.t = 0.0


# ------------------------------------------------------------------------------------------------
# (unit, description) of each record field, for the labelled Dataset (:meth:`Record.to_xarray`)
RECORD_FIELDS = {
    "uses": ("1/d", "illicit opioid uses that day"),
    "extra": ("1/d", "extra (non-prescribed) doses of the prescribed opioid that day"),
    "in_tx": ("dimensionless", "in treatment at the day's end (bool)"),
    "on_med": ("dimensionless", "received maintenance medication that day (bool)"),
    "craving": ("dimensionless", "craving (0-1) at the day's start"),
    "od": ("1/d", "overdoses that day"),
    "exp_od_death": ("1/d", "expected overdose deaths that day given the path (Rao-Blackwell)"),
    "exp_other_death": ("1/d", "expected other-cause deaths that day given the path"),
    "surv": ("dimensionless", "survival probability at the day's end"),
    "expectancy": ("dimensionless", "learned outcome expectancy of a use (0-1) at the day's start"),
    "oxytocin": ("dimensionless", "central oxytocin tone (relative to rest) at the day's start"),
    "dead_day": ("d", "day of death (0-based; -1 alive)"),
    "inducted": ("d", "day of induction onto the medication (-1 never)"),
    "induction_failed": ("dimensionless", "the induction failed (bool)"),
    "discharge_day": ("d", "day of leaving inpatient care (-1 never inpatient)"),
    "dropout_day": ("d", "day of the first dropout from treatment (-1 none)"),
    "adjunct_given": ("dimensionless", "adjunct doses given"),
    "completed_day": ("d", "day the medication's taper ended (-1 never)"),
    "release_day": ("d", "day of release from forced abstinence (-1 none)"),
    "solver_failed": ("dimensionless", "the patient's ODE step failed and the simulation stopped (bool)"),
}


@dataclass(kw_only=True)
class Record:
    """What the behaviour layer records of each patient: per day ``(n, days)`` arrays and per patient
    ``(n,)`` arrays (see :data:`RECORD_FIELDS` for units and meanings); ``patient``, ``arm`` and
    ``covariates`` label the rows (patient ids, each patient's treatment kind, covariate table)."""
    uses: np.ndarray          # (n, days) number of illicit uses
    extra: np.ndarray         # (n, days) extra (non-prescribed) doses of the prescribed opioid
    in_tx: np.ndarray         # (n, days) in treatment at day end
    on_med: np.ndarray        # (n, days) received maintenance medication that day
    craving: np.ndarray       # (n, days) craving at the start of the day
    od: np.ndarray            # (n, days) overdoses
    dead_day: np.ndarray      # (n,) day of death (-1 alive)
    exp_od_death: np.ndarray  # (n, days) expected overdose deaths (Rao–Blackwell)
    exp_other_death: np.ndarray
    surv: np.ndarray          # (n, days) survival probability at day end
    inducted: np.ndarray      # (n,) day of induction (-1 never)
    induction_failed: np.ndarray  # (n,) bool
    discharge_day: np.ndarray  # (n,) day of leaving inpatient care (-1 never inpatient)
    dropout_day: np.ndarray   # (n,) first dropout from treatment (-1 none)
    expectancy: np.ndarray | None = None  # (n, days) learned outcome expectancy of a use, day start
    oxytocin: np.ndarray | None = None    # (n, days) central oxytocin tone (relative), day start
    adjunct_given: np.ndarray | None = None  # (n,) adjunct doses given
    completed_day: np.ndarray | None = None  # (n,) day the medication's taper ended (-1 never)
    release_day: np.ndarray | None = None    # (n,) day of release from forced abstinence (-1 none)
    solver_failed: np.ndarray | None = None  # (n,) the patient's ODE step failed; simulation stopped
    patient: np.ndarray | None = None        # (n,) patient ids
    arm: np.ndarray | None = None            # (n,) each patient's treatment kind ('methadone', ...)
    covariates: pd.DataFrame | None = None   # (n rows) the patients' covariates

    def to_xarray(self, *, coords: dict | None = None):
        """A labelled :class:`xarray.Dataset` with dims ``(patient, day)``: one variable per record
        field, per-day fields over (patient, day) and per-patient fields over (patient), each with
        ``units`` and ``description`` in its attrs (a day index is in ``d``, -1 for never);
        coordinates ``patient`` (ids), ``day`` (0-based), ``arm`` and every covariate, and any
        per-patient ``coords`` given (one value per patient)."""
        from ..engine.simulate import require_xarray
        xr = require_xarray()
        n, days = self.uses.shape
        data = {}
        for name, (unit, text) in RECORD_FIELDS.items():
            v = getattr(self, name)
            if v is not None:
                data[name] = (("patient", "day") if np.ndim(v) == 2 else ("patient",), np.asarray(v),
                              {"units": unit, "description": text})
        ids = np.asarray(self.patient) if self.patient is not None else np.arange(n)
        ds = xr.Dataset(data, coords={"patient": ids, "day": ("day", np.arange(days), {"units": "d"})})
        extra = dict(coords or {})
        if self.arm is not None:
            extra = {"arm": self.arm, **extra}
        if self.covariates is not None:
            extra = {**{c: self.covariates[c].to_numpy() for c in self.covariates.columns}, **extra}
        for name, values in extra.items():
            values = np.asarray(values)
            if values.shape != (n,):
                raise ValueError(f"coordinate {name!r} has shape {values.shape}; expected one value per patient ({n})")
            ds = ds.assign_coords({name: ("patient", values)})
        ds.attrs["description"] = "behaviour layer record (opiaxis.behaviour): one row per patient, one column per day"
        return ds


def _empty_record(n: int, days: int, ids, arm, cov) -> Record:
    """A record of ``n`` patients over ``days`` days before the first day."""
    def per_day(dtype=float, fill=0):
        return np.full((n, days), fill, dtype)

    def never():
        return np.full(n, -1, np.int64)
    return Record(uses=per_day(np.int16), extra=per_day(np.int16), in_tx=per_day(bool, False),
                  on_med=per_day(bool, False), craving=per_day(), od=per_day(np.int16), dead_day=never(),
                  exp_od_death=per_day(), exp_other_death=per_day(), surv=per_day(fill=1.0),
                  inducted=never(), induction_failed=np.zeros(n, bool), discharge_day=never(),
                  dropout_day=never(), expectancy=per_day(fill=1.0), oxytocin=per_day(fill=1.0),
                  adjunct_given=np.zeros(n, np.int64), completed_day=never(), release_day=never(),
                  solver_failed=np.zeros(n, bool), patient=np.asarray(ids), arm=np.asarray(arm, dtype=object),
                  covariates=cov.reset_index(drop=True) if cov is not None else None)


EVENT_COLUMNS = ("patient", "day", "time_h", "event", "detail", "amount_mg", "ventilation_nadir", "tolerance",
                 "p_overdose", "in_treatment")


class CohortSim:
    """Simulate a cohort under per-patient treatment policies for ``days`` days.

    ``arms`` gives each patient's treatment: a kind ('methadone', ...: its default medication from
    ``data/treatments.yaml``) or a :class:`~opiaxis.behaviour.treatments.Treatment` (a trial file's
    arm). ``events`` collects the event history (see :meth:`event_table`)."""

    def __init__(self, c: Cohort, arms, days: int, *, dt: float = 6.0, immortal: bool = False,
                 inpatient_days=None, reentry: bool = False, stop_when=None, adjunct_doses=None,
                 abstinent_days=None, exit_tapers: bool = False):
        self.c = c
        self.days = int(days)
        self.dt = float(dt)
        self.nint = int(round(24 / self.dt))
        self.slots = np.array([1.0, 2.5, 4.0]) if self.dt <= 6 else np.array([2.0, 8.0, 14.0])
        offs = np.array([0.05, 0.1, 0.17, 0.25, 0.35, 0.5, 0.75, 1.0])
        # hourly points too: an exposure's hypoxaemia is integrated up to the next exposure
        self.grid = np.unique(np.concatenate([(self.slots[:, None] + offs[None, :]).ravel(), [3.0, 3.5, self.dt],
                                              np.arange(1.0, self.dt, 1.0)]))
        self.immortal = immortal
        self.reentry = reentry
        # planned exits: a patient deciding to leave methadone may leave through the medication's exit
        # taper (methadone_exit_taper_fraction; population cohorts such as Sordo's, not fixed-term trials)
        self.exit_tapers = exit_tapers
        self.stop_when = stop_when
        n = c.n
        defaults = default_treatments()
        self.treat = [a if isinstance(a, Treatment) else defaults[a] for a in arms]
        self.treat0 = list(self.treat)   # as assigned (an exit taper changes a patient's medication until re-entry)
        self.tx = np.array([TX_CODES[t.kind] for t in self.treat], dtype=np.int64)
        self.arm0 = self.tx.copy()
        self.ev = Evaluator(c.model)
        # drug amounts below FLUSH are set to 0 before each interval: the kernel's step-size control
        # fails on re-dosing when metabolite states hold ~1e-90 remnants after weeks of abstinence
        # (found with forced abstinence, issue 14)
        self._flush = np.array([any(st.name.startswith(d + "_") for d in DRUGS) and "tone" not in st.name
                                for st in c.model.states])
        self.idx = c.model.param_index
        self.inpatient = np.zeros(n, bool)
        self.inp_until = np.full(n, -1.0)
        if inpatient_days is not None:
            ip = np.broadcast_to(np.asarray(inpatient_days, float), (n,))
            self.inpatient = ip > 0
            self.inp_until = np.where(ip > 0, ip * 24.0, -1.0)
        self.in_tx = self.tx != TX_NONE
        # buprenorphine-naloxone without an inpatient stay: outpatient (home) induction
        self.outpatient_induction = (self.tx == TX_BUPNX) & ~self.inpatient
        # forced abstinence (prison, hospital without opioids): no access to drugs and no treatment
        # for the first N days, then release; treatment (if any) starts at release
        self._init_abstinence(abstinent_days)
        self.last_use = np.full(n, c.t - 6.0)
        self.tx_day0 = np.zeros(n)
        self.inducted = np.full(n, -1, np.int64)   # day of induction (-1 not (yet) inducted)
        self.ind_failed = np.zeros(n, bool)
        self.challenge_due = np.full(n, np.inf)
        self.challenge_pos = np.zeros(n, bool)
        self.ntx_next = np.full(n, np.inf)
        self.alive = np.ones(n, bool)
        self.active = np.ones(n, bool)
        self.S = np.ones(n)
        self.use_log = []   # (patient index, day, ventilation nadir, tolerance, P(overdose), in treatment)
        self.med_log = []   # the same for agonist maintenance doses scored as exposures
        self.events = []    # rows of EVENT_COLUMNS, patient as an index (see event_table)
        d = self.days
        self.rec = _empty_record(n, d, c.ids, [t.kind for t in self.treat], c.cov)
        self.rec.inducted, self.rec.induction_failed = self.inducted, self.ind_failed   # shared, updated in place
        self.rec.release_day = self.release_day
        self._init_learning(n)
        # the tolerance the patient remembers: the tolerance_level at their last use (dosing from habit)
        self.tol_mem = np.clip(self.ev("tolerance_level", c.X, c.P), 0.0, 1.0)
        # the tolerance at which the habitual dose was formed (the cohort's start: after the run-in)
        self.tol_habit = self.tol_mem.copy()
        fent = c.cov["fentanyl_supply"].to_numpy() > 0.5
        # extra (non-prescribed) doses of a prescribed opioid: one more tablet of the prescribed strength
        rx = [t.medication if t.kind == "cncp" else None for t in self.treat]
        self.use_cmt = np.array([m.components[0][0] if m else ("fentanyl.iv" if f else "heroin.iv")
                                 for m, f in zip(rx, fent)], dtype=object)
        self.extra_dose = np.array([m.dose if m else np.nan for m in rx])
        self.cue_col = self.idx.get("cue_exposure")
        self.sed_col = self.idx.get("sedative_odds_shift")
        # adjunct medication (e.g. intranasal oxytocin): dose rows with TIME in hours from the start of
        # the simulation, given while the patient is in treatment (always for treatment 'none')
        self.t_start = float(c.t)
        self.adjunct = {}
        if adjunct_doses is not None and len(adjunct_doses):
            pos = {pid: k for k, pid in enumerate(c.ids)}
            for pid, g in adjunct_doses.groupby("ID", sort=False):
                if pid not in pos:
                    raise ValueError(f"adjunct doses for unknown patient id {pid!r}")
                g = g.sort_values("TIME", kind="mergesort")
                self.adjunct[pos[pid]] = (g["TIME"].to_numpy(float), g["AMT"].to_numpy(float), g["CMT"].to_numpy())
        self._has_ot = "oxytocin_tone" in c.model.assignment_index
        # XR-NTX: naloxone challenge at 9:00 after the detoxification taper and the abstinence window
        self.x_days = np.round(c.B["xrntx_abstinence_days"])
        for i in np.nonzero(self.tx == TX_XRNTX)[0]:
            det = self.treat[i].detox
            self.challenge_due[i] = ((det.taper.length_days if det else 0.0) + self.x_days[i]) * 24.0 + 9.0
        for i in np.nonzero(self.in_tx)[0]:
            self._event(i, c.t, 0, "treatment_start", self.treat[i].describe())
        for i in np.nonzero(np.isfinite(self.abst_until))[0]:
            self._event(i, c.t, 0, "forced_abstinence", f"{(self.abst_until[i] - c.t) / 24:g} d without access")

    def _init_abstinence(self, abstinent_days):
        """Forced abstinence for the first N days of each patient (None: none), then release."""
        n = self.c.n
        self.abst_until = np.full(n, -np.inf)
        self.release_day = np.full(n, -1, np.int64)
        if abstinent_days is not None:
            ab = np.broadcast_to(np.asarray(abstinent_days, float), (n,))
            bad = (ab > 0) & ~np.isin(self.tx, (TX_NONE, TX_NOREPL, TX_METHADONE))
            if bad.any():
                raise ValueError("forced abstinence is followed by no treatment, no_replacement or methadone "
                                 "(started at release); other treatments start on an inpatient unit")
            self.abst_until = np.where(ab > 0, self.c.t + ab * 24.0, -np.inf)
            self.in_tx &= ~(ab > 0)

    def _init_learning(self, n):
        """The patients' learnt modifiers of the use hazard, per patient."""
        # learned outcome expectancy of a use (1 = every past use reinforced); extinction under blockade
        self.expectancy = np.ones(n)
        # ln-hazard reduction held by a patient discharged abstinent from detoxification until the first use
        # (abstinence_commitment; the first use ends it: abstinence violation)
        self.commitment = np.zeros(n)
        # ln-hazard rise after that first use (abstinence violation; fades with abstinence_violation_decay)
        self.violation = np.zeros(n)
        # escalation state of misuse of a prescribed opioid (0…1; misuse_escalation_*): grows with each extra dose
        self.escalation = np.zeros(n)

    def _event(self, i, t, day, event, detail="", amount=np.nan, vmin=np.nan, tol=np.nan, pod=np.nan):
        self.events.append((i, int(day), float(t - self.t_start), event, detail, float(amount), float(vmin),
                            float(tol), float(pod), bool(self.in_tx[i])))

    def event_table(self) -> pd.DataFrame:
        """The per-patient event history, one row per event in time order within each patient.

        Columns: patient (id), day (0-based), time_h (hours from the start of follow-up; events
        decided at the end of a decision interval or day — discharge, dropout, other-cause death,
        re-entry — carry that end, so day·24 ≤ time_h ≤ (day + 1)·24), event,
        detail, amount_mg, ventilation_nadir (relative to baseline, within 1 h of a use; with the
        patient's sedatives on board, if any),
        tolerance (tolerance_level at the use's interval start), p_overdose (P(clinical overdose)
        of the use: its hypoxaemia hazard integrated to the next exposure), in_treatment (at the event). Events: ``treatment_start`` (detail: the
        treatment); ``dose`` (a medication dose: detail the compartment, e.g. methadone.oral, and
        amount_mg; detoxification tapers included; adjunct doses are not listed); ``use`` (detail:
        the dose's compartment, e.g. heroin.iv; amount, nadir, tolerance, P(overdose));
        ``overdose`` (after a use, or after a methadone/buprenorphine dose scored as an exposure); ``rescue`` (bystander naloxone 4 mg intranasal or emergency services, 5 min
        after the use); ``death`` (detail: overdose or other cause); ``induction`` and
        ``induction_failed`` (detail: why); ``discharge`` (leaving inpatient care);
        ``dropout`` (leaving treatment; detail: why); ``taper_start`` (a planned exit through the
        medication's exit taper begins; detail: the tapered medication); ``taper_completed``; ``reentry``;
        ``forced_abstinence`` and ``release`` (prison/hospital without access); ``solver_failure``
        (the patient's ODE step failed: reported, and the patient leaves the simulation)."""
        df = pd.DataFrame(self.events, columns=list(EVENT_COLUMNS))
        df["patient"] = self.c.ids[df["patient"].to_numpy(int)] if len(df) else df["patient"]
        return df.sort_values(["patient", "time_h"], kind="mergesort").reset_index(drop=True)

    def _give(self, rows, i, t, k_day, med, mg):
        """One administration of ``med`` at ``mg`` (first component) at time ``t``: dose rows, and a
        ``dose`` event per component."""
        for cmt, amt in med.rows(mg):
            rows.append((self.c.ids[i], t, amt, cmt))
            self._event(i, t, k_day, "dose", cmt, amt)
        if self.tx[i] in (TX_METHADONE, TX_BUPNX) and med is self.treat[i].medication:
            self._med_dose_t.setdefault(i, []).append(t)

    def _dose_times(self, med, tday, dt):
        """Clock times (h of day) of ``med``'s doses falling inside [tday, tday + dt)."""
        return [h for h in med.clock_times if tday <= h < tday + dt]

    # -- one decision interval ----------------------------------------------------------------
    def _interval(self, k_day: int, j: int):
        """One decision interval for every living, active patient: read the state, decide uses,
        add treatment and adjunct doses, simulate, then overdoses, rescue, death and discharge."""
        c, dt = self.c, self.dt
        t0 = c.t
        act = np.nonzero(self.active & self.alive)[0]
        if len(act) == 0:
            c.t += dt
            return
        U = np.array([c.rngs[i].random(N_DRAWS) for i in act])
        X, P = c.X[act], c.P[act].copy()
        s = self._read_state(act, X, P, k_day, j)
        cue = (U[:, 0] < c.B["cue_event_probability"][act]).astype(float)
        if self.cue_col is not None:
            P[:, self.cue_col] = cue
        # sedatives on board today (co-users, a fraction of days): the respiration module deepens the opioid's
        # depression of the drive by the patient's odds shift, and the chemoreflexes answer it
        self._sedated = sedative_on_board(c.ids[act], c.seed, k_day, c.B["sedative_couser"][act],
                                          c.B["sedative_day_fraction"][act])
        if self.sed_col is not None:
            P[:, self.sed_col] = 1.0 + self._sedated * (c.B["sedative_potency_shift"][act] - 1.0)
        tx = self.tx[act]
        self._release(act, t0, k_day)
        rows, use_t, use_amt = self._decide_uses(act, U, s, cue, tx, t0)
        nuse = np.isfinite(use_t).sum(axis=1)
        med_today = np.zeros(len(act), bool)
        tday = t0 - k_day * 24.0  # hour of day at interval start
        self._use_t_now = use_t   # this interval's use times (induction waits for the last use before the dose)
        self._med_dose_t = {}     # this interval's agonist maintenance dose times per patient (scored for overdose)
        self._treatment_doses(act, tx, U, s["craving"], k_day, t0, tday, rows, med_today)
        self._adjunct_rows(act, t0, rows)
        self.rec.on_med[act, k_day] |= med_today
        doses = _doses(rows)
        grid = t0 + self.grid
        X = X.copy()
        X[:, self._flush] = np.where(np.abs(X[:, self._flush]) < FLUSH, 0.0, X[:, self._flush])
        r = simulate(c.model, P, grid, doses, ids=c.ids[act], x0=X, t0=t0, options=OPTIONS)
        Y = r.states
        self._solver_failures(act, r, X, Y, nuse, use_t, t0, k_day)
        self._challenge_readouts(act, tx, grid, Y, P, t0, k_day)
        if nuse.any() or self._med_dose_t:
            vent = self.ev("ventilation_rel", Y, P)
            self._hypoxaemia(act, Y, P, use_t, t0)
            for a in np.nonzero(nuse)[0]:
                self._uses_outcomes(a, act[a], s, use_t, use_amt, vent, grid, P, X, doses, t0, k_day)
            self._medication_exposures(act, use_t, vent, s["tolerance"], grid, P, X, doses, t0, k_day)
        self.rec.uses[act, k_day] += nuse.astype(np.int16)
        if (self.tx[act] == TX_CNCP).any():
            self.rec.extra[act, k_day] += np.where(self.tx[act] == TX_CNCP, nuse, 0).astype(np.int16)
        self._store_states(act, Y)
        self._leave_inpatient(act, s["craving"], s["withdrawal"], U, k_day)
        c.t += dt

    def _read_state(self, act, X, P, k_day, j) -> dict:
        """Craving, withdrawal, pain, tolerance and blocking μ occupancy at the interval start; the
        use expectancy after its spontaneous recovery; the day-start records (first interval)."""
        ev, B, dt = self.ev, self.c.B, self.dt
        s = {"craving": ev("craving", X, P), "withdrawal": ev("withdrawal_signal", X, P),
             "pain": ev("pain_nrs", X, P), "tolerance": ev("tolerance_level", X, P),
             "blocking": sum(ev(f"mor_occupancy_{d}", X, P)
                             for d in ("naltrexone", "naltrexol6b", "naloxone", "buprenorphine"))}
        # spontaneous recovery of extinguished drug taking (the expectancy relaxes back to 1)
        self.expectancy[act] = 1 - (1 - self.expectancy[act]) * np.exp(-B["use_expectancy_recovery_rate"][act] * dt)
        self.escalation[act] *= np.exp(-B["misuse_escalation_decay"][act] * dt)
        self.violation[act] *= np.exp(-B["abstinence_violation_decay"][act] * dt)
        s["expectancy"] = self.expectancy[act]
        if j == 0:
            self.rec.craving[act, k_day] = s["craving"]
            self.rec.expectancy[act, k_day] = s["expectancy"]
            if self._has_ot:
                self.rec.oxytocin[act, k_day] = ev("oxytocin_tone", X, P)
        return s

    def _release(self, act, t0, k_day):
        """Release from forced abstinence at the interval start; treatment (if any) starts then."""
        for i in act:
            if np.isfinite(self.abst_until[i]) and self.release_day[i] < 0 and t0 >= self.abst_until[i] - 1e-9:
                self.release_day[i] = k_day
                self._event(i, t0, k_day, "release", "end of forced abstinence")
                if self.tx[i] != TX_NONE:
                    self.in_tx[i] = True
                    self.tx_day0[i] = k_day
                    self._event(i, t0, k_day, "treatment_start", self.treat[i].describe())

    def _use_hazard(self, act, s, cue, tx, t0):
        """λ = λ0·access·(craving/c_ref)^γ·exp(β_w·W + β_p·pain/10 + β_cue·cue − c + v + g·H)·(1 − occ)^n·E
        (1/h): c the abstinence commitment after detoxification (0 once the patient has used), v the
        abstinence violation effect of that first use (fading), H the escalation state of extra
        doses of a prescribed opioid (0 for illicit use)."""
        B = self.c.B
        access = np.where(self.inpatient[act], B["access_inpatient"][act], 1.0)
        access = np.where(t0 < self.abst_until[act] - 1e-9, 0.0, access)
        rate0 = np.where(tx == TX_CNCP, B["cncp_extra_dose_rate"][act], B["use_rate_max"][act])
        escalated = np.where(tx == TX_CNCP, B["misuse_escalation_gain"][act] * self.escalation[act], 0.0)
        return (rate0 * access * (np.clip(s["craving"], 0, 1) / B["use_craving_ref"][act]) ** B["use_craving_exponent"][act]
                * np.exp(B["use_withdrawal_beta"][act] * s["withdrawal"] + B["use_pain_beta"][act] * s["pain"] / 10
                         + B["use_cue_beta"][act] * cue - self.commitment[act] + self.violation[act] + escalated)
                * (1 - np.clip(s["blocking"], 0, 1)) ** B["blockade_exponent"][act] * s["expectancy"])

    def _decide_uses(self, act, U, s, cue, tx, t0):
        """Uses in the interval's slots: dose rows, use times and amounts ((n_act, n_slots), NaN none)."""
        lam = self._use_hazard(act, s, cue, tx, t0)
        p_slot = 1 - np.exp(-lam * self.dt / len(self.slots))
        rows, use_t = [], np.full((len(act), len(self.slots)), np.nan)
        use_amt = np.full_like(use_t, np.nan)
        for k in range(len(self.slots)):
            for a in np.nonzero(U[:, 1 + k] < p_slot)[0]:
                i = act[a]
                tt = self.c.t + self.slots[k]
                amt = self._use_amount(i, a, k, s["tolerance"], U)
                rows.append((self.c.ids[i], tt, float(amt), self.use_cmt[i]))
                use_t[a, k] = tt
                use_amt[a, k] = amt
        return rows, use_t, use_amt

    def _use_amount(self, i, a, k, tol, U):
        """The amount of use ``k`` of patient ``i``: users dose to the effect they seek at the
        tolerance they believe they have — partly the true remaining tolerance, partly the tolerance
        of their last use (memory, habit) —, with judgement noise and street purity/potency spread;
        extra doses of a prescribed opioid are one tablet. The dose is the habitual dose times the
        believed potency fold relative to the fold the habit was formed at (:func:`effect_titration`)."""
        B, cmt = self.c.B, self.use_cmt[i]

        def lognormal(sd, u):
            return np.exp(sd * ndtri(min(max(u, 1e-9), 1 - 1e-9)))

        w = min(max(B["tolerance_insight"][i], 0.0), 1.0)
        perceived = w * min(max(tol[a], 0.0), 1.0) + (1 - w) * self.tol_mem[i]
        titr = effect_titration(perceived, self.tol_habit[i], B["dose_floor"][i]) * lognormal(
            B["dose_judgement_sd"][i], U[a, (8, 9, 11)[k]])
        if cmt == "heroin.iv":
            return titr * B["heroin_dose"][i] * lognormal(B["heroin_purity_sd"][i], U[a, 4 + k])
        if cmt == "fentanyl.iv":
            return titr * B["fentanyl_dose"][i] * lognormal(B["fentanyl_potency_sd"][i], U[a, 4 + k])
        return self.extra_dose[i]

    def _adjunct_rows(self, act, t0, rows):
        """Adjunct doses falling in the interval, for patients in treatment (always for 'none')."""
        if not self.adjunct:
            return
        lo, hi = t0 - self.t_start, t0 - self.t_start + self.dt
        for i in act:
            if i in self.adjunct and (self.in_tx[i] or self.tx[i] == TX_NONE):
                tt, amt, cmt = self.adjunct[i]
                for k in range(np.searchsorted(tt, lo), np.searchsorted(tt, hi)):
                    rows.append((self.c.ids[i], self.t_start + tt[k], float(amt[k]), str(cmt[k])))
                    self.rec.adjunct_given[i] += 1

    def _solver_failures(self, act, r, X, Y, nuse, use_t, t0, k_day):
        """A patient whose solver step fails is reported (event solver_failure, Record.solver_failed)
        and leaves the simulation: never re-simulated, never left with non-finite states."""
        failed = np.asarray(r.failed) | ~np.isfinite(Y).all(axis=(1, 2))
        for a in np.nonzero(failed)[0]:
            i = act[a]
            self.active[i] = False
            self.rec.solver_failed[i] = True
            self._event(i, t0, k_day, "solver_failure", f"ODE step failed in [{t0 - self.t_start:g}, "
                        f"{t0 - self.t_start + self.dt:g}) h; patient left the simulation")
            Y[a] = X[a][None, :]
            nuse[a] = 0
            use_t[a] = np.nan

    def _challenge_readouts(self, act, tx, grid, Y, P, t0, k_day):
        """Naloxone challenge read-out (XR-NTX induction): COWS rise within 30 min, or use within 72 h."""
        B = self.c.B
        for a, i in enumerate(act):
            if not (tx[a] == TX_XRNTX and self.inducted[i] < 0 and not self.ind_failed[i]
                    and t0 <= self.challenge_due[i] < t0 + self.dt):
                continue
            k0 = np.searchsorted(grid, self.challenge_due[i] - 1e-9)
            k1 = np.searchsorted(grid, self.challenge_due[i] + 0.5 - 1e-9)
            cw = self.ev("cows_score", Y[a:a + 1, [max(k0 - 1, 0), min(k1, len(grid) - 1)], :], P[a:a + 1])[0]
            positive = cw[1] - cw[0] >= B["challenge_cows_rise"][i]
            if positive or t0 + 3.0 - self.last_use[i] < 72.0:
                self.ind_failed[i] = True
                self.in_tx[i] = False
                self._event(i, self.challenge_due[i], k_day, "induction_failed",
                            "positive naloxone challenge" if positive else "opioid use within 72 h of the challenge")
            else:
                self.inducted[i] = k_day
                self._event(i, self.challenge_due[i], k_day, "induction", "negative naloxone challenge")
                self.ntx_next[i] = self.challenge_due[i] + 4.0
                self.inp_until[i] = min(self.inp_until[i], self.ntx_next[i] + 24.0)

    def _hypoxaemia(self, act, Y, P, use_t, t0):
        """The interval's PaO2 of each patient (with their sedatives on board, if any: simulated), and
        each patient's exposure times (uses and agonist maintenance doses), for :meth:`_exposure_risk`."""
        self._pao2 = self.ev("pao2", Y, P)
        self._exposure_t = [np.unique(np.concatenate([use_t[a][np.isfinite(use_t[a])],
                                                      np.asarray(self._med_dose_t.get(i, ()), float)]))
                            for a, i in enumerate(act)]
        self._t_end = t0 + self.dt

    def _exposure_risk(self, a, i, t, grid) -> float:
        """P(overdose) of patient ``i``'s exposure at ``t``: its hypoxaemia hazard integrated to the
        next exposure (which carries what follows) or the interval's end."""
        B, later = self.c.B, self._exposure_t[a][self._exposure_t[a] > t + 1e-9]
        t_to = float(later[0]) if len(later) else self._t_end
        return od_probability(grid, self._pao2[a], t, t_to, B["od_hazard_ref"][i], B["od_hypoxaemia_exponent"][i],
                              B["od_pao2_threshold"][i])

    def _uses_outcomes(self, a, i, s, use_t, use_amt, vent, grid, P, X, doses, t0, k_day):
        """Each use of patient ``i`` in the interval: memory of tolerance, extinction, P(overdose)
        from its hypoxaemia (:meth:`_exposure_risk`; the ventilation nadir within 1 h is logged),
        expected and drawn overdose, rescue or death."""
        c, B = self.c, self.c.B
        tol = float(s["tolerance"][a])
        for k in range(len(self.slots)):
            if not np.isfinite(use_t[a, k]):
                continue
            self.last_use[i] = use_t[a, k]
            self.tol_mem[i] = min(max(tol, 0.0), 1.0)
            if self.commitment[i] > 0:   # abstinence violation: the first use ends the commitment
                self.commitment[i] = 0.0
                self.violation[i] = B["abstinence_violation_gain"][i]
            if self.tx[i] == TX_CNCP:   # an extra dose of the prescribed opioid: escalation (reinforced)
                self.escalation[i] += B["misuse_escalation_learning"][i] * (1.0 - self.escalation[i])
            # extinction (Rescorla–Wagner): the use's reinforcement is the fraction of μ receptors
            # free of antagonist/partial agonist; unreinforced use lowers the expectancy
            reinf = 1.0 - min(max(float(s["blocking"][a]), 0.0), 1.0)
            self.expectancy[i] += B["use_extinction_rate"][i] * (reinf - self.expectancy[i])
            w = (grid > use_t[a, k]) & (grid <= use_t[a, k] + 1.0)
            vmin = float(np.min(vent[a, w]))
            pod = self._exposure_risk(a, i, use_t[a, k], grid)
            self.use_log.append((i, k_day, vmin, tol, pod, bool(self.in_tx[i])))
            self._event(i, use_t[a, k], k_day, "use", self.use_cmt[i], use_amt[a, k], vmin, tol, pod)
            if self._overdose(i, a, use_t[a, k], k_day, vmin, tol, pod, c.rngs[i].random(3), t0, grid, P, X, doses):
                return

    def _overdose(self, i, a, t, k_day, vmin, tol, pod, u, t0, grid, P, X, doses) -> bool:
        """An exposure at ``t`` with P(overdose) ``pod``: expected overdose death (Rao–Blackwell),
        then the drawn overdose (uniforms ``u``), rescue or death. True when the patient died."""
        B = self.c.B
        wit = B["od_witnessed"][i]
        prescue = wit * (B["naloxone_access"][i] + (1 - B["naloxone_access"][i]) * B["ems_rescue"][i])
        pdeath = pod * (1 - prescue) * B["od_fatal_unrescued"][i]
        self.rec.exp_od_death[i, k_day] += self.S[i] * pdeath
        self.S[i] *= 1 - pdeath
        if u[0] >= pod:
            return False
        self.rec.od[i, k_day] += 1
        self._event(i, t, k_day, "overdose", "", np.nan, vmin, tol, pod)
        if u[1] < prescue:
            self._rescue(i, a, t, t0, grid, P, X, doses)
        elif u[2] < B["od_fatal_unrescued"][i] and not self.immortal:
            self.alive[i] = False
            self.rec.dead_day[i] = k_day
            self._event(i, t + 1.0, k_day, "death", "overdose")
            return True
        return False

    def _medication_exposures(self, act, use_t, vent, tol, grid, P, X, doses, t0, k_day):
        """The overdose risk of the interval's agonist maintenance doses themselves (methadone,
        buprenorphine-naloxone), scored like a use: hypoxaemia from the dose to the next exposure or
        the interval's end (:meth:`_exposure_risk`; a use after the dose carries what follows it). The
        logged nadir is ventilation_rel's within 6 h (with the patient's sedatives, if any). Its uniforms
        are keyed draws (patient, 'medication_exposure', time), so no draw of the patient's event
        stream moves."""
        from ..streams import Purpose, Streams
        for a, i in enumerate(act):
            for t_dose in self._med_dose_t.get(i, ()):
                w = (grid > t_dose) & (grid <= t_dose + 6.0)
                if not w.any() or not (self.alive[i] and self.active[i]):
                    continue
                vmin = float(np.min(vent[a, w]))
                pod = self._exposure_risk(a, i, t_dose, grid)
                self.med_log.append((i, k_day, vmin, float(tol[a]), pod, bool(self.in_tx[i])))
                key = [f"medication_exposure:{t_dose - self.t_start:.4f}:{j}" for j in range(3)]
                u = ndtr(Streams(self.c.seed).named_normals([self.c.ids[i]], Purpose.BEHAVIOUR_EVENTS, key)[0])
                if self._overdose(i, a, t_dose, k_day, vmin, float(tol[a]), pod, u, t0, grid, P, X, doses):
                    break

    def _store_states(self, act, Y):
        """The interval's end states (a rescued patient's from the re-simulation with naloxone)."""
        c = self.c
        keep = self.alive[act]
        if not getattr(self, "_rescued", None):
            c.X[act[keep]] = Y[keep, -1, :]
            return
        for a, i in enumerate(act):
            if i in self._rescued:
                c.X[i] = self._rescued[i]
            elif keep[a]:
                c.X[i] = Y[a, -1, :]
        self._rescued = {}

    def _leave_inpatient(self, act, crav, wd, U, k_day):
        """Leaving inpatient care: planned discharge or leaving against advice (hazard in craving and
        withdrawal); leaving before induction fails the induction."""
        c, B, dt = self.c, self.c.B, self.dt
        for a, i in enumerate(act):
            if not self.inpatient[i]:
                continue
            h = B["leave_inpatient_rate"][i] * (crav[a] / 0.5) ** 2 * np.exp(0.5 * wd[a])
            if c.t + dt >= self.inp_until[i] or U[a, 10] < 1 - np.exp(-h * dt):
                self.inpatient[i] = False
                self.rec.discharge_day[i] = k_day
                planned = c.t + dt >= self.inp_until[i]
                self._event(i, c.t + dt, k_day, "discharge", "planned" if planned else "left against advice")
                if self.tx[i] in (TX_BUPNX, TX_XRNTX) and self.inducted[i] < 0 and not self.ind_failed[i]:
                    self.ind_failed[i] = True
                    self.in_tx[i] = False
                    self._event(i, c.t + dt, k_day, "induction_failed", "left inpatient care before induction")
                elif self.tx[i] in (TX_BUPNX, TX_XRNTX) and self.inducted[i] < 0:
                    self.in_tx[i] = False
                if self.tx[i] == TX_DETOX:
                    self.in_tx[i] = False
                    # discharged with an abstinence goal and no maintenance medication (planned or not)
                    self.commitment[i] = B["abstinence_commitment"][i]

    def _treatment_doses(self, act, tx, U, crav, k_day, t0, tday, rows, med_today):
        """The interval's medication doses (detox taper while inpatient, maintenance by treatment kind),
        inductions, naloxone challenges, missed injections and completed tapers; appends dose rows to
        ``rows`` and marks ``med_today``."""
        c, B, dt = self.c, self.c.B, self.dt
        for a, i in enumerate(act):
            T = tx[a]
            pid = c.ids[i]
            det, med = self.treat[i].detox, self.treat[i].medication
            if det is not None and self.inpatient[i]:
                for h in self._dose_times(det, tday, dt):
                    mg = det.dose_on(k_day)
                    if mg is not None:
                        self._give(rows, i, t0 + (h - tday), k_day, det, mg)
                        med_today[a] = True
            if not self.in_tx[i] or med is None:
                continue
            dd = k_day - self.tx_day0[i]
            due = self._dose_times(med, tday, dt) if T != TX_XRNTX and med.given_on(dd) else []
            if due and med.dose_on(dd) is None:
                self._taper_completed(i, k_day, t0 + (due[0] - tday))
                continue
            if T == TX_METHADONE and due and U[a, 7] < B["methadone_attendance"][i]:
                if self.inducted[i] < 0:
                    self.inducted[i] = k_day
                    self._event(i, t0 + (due[0] - tday), k_day, "induction", med.text)
                for h in due:
                    self._give(rows, i, t0 + (h - tday), k_day, med, med.dose_on(dd))
                med_today[a] = True
            elif T == TX_BUPNX and due:
                if self.inducted[i] < 0:
                    # on the unit, or at home (outpatient induction: no inpatient stay planned); the
                    # first dose once bup_induction_wait h have passed since the last use
                    t_dose = t0 + due[0] - tday
                    before = self._use_t_now[a][self._use_t_now[a] < t_dose]
                    last = max(self.last_use[i], before.max()) if before.size else self.last_use[i]
                    if (self.inpatient[i] or self.outpatient_induction[i]) and t_dose - last >= B["bup_induction_wait"][i]:
                        self.inducted[i] = k_day
                        self._event(i, t0 + (due[0] - tday), k_day, "induction", med.text)
                if self.inducted[i] >= 0 and (self.inpatient[i] or U[a, 7] < B["bup_adherence"][i] * (1 - 0.5 * crav[a])):
                    for h in due:
                        self._give(rows, i, t0 + (h - tday), k_day, med, med.dose_on(dd))
                    med_today[a] = True
            elif T == TX_CNCP and due:
                for h in due:
                    self._give(rows, i, t0 + (h - tday), k_day, med, med.dose_on(dd))
                med_today[a] = True
            elif T == TX_XRNTX:
                if self.inducted[i] < 0 and not self.ind_failed[i] and t0 <= self.challenge_due[i] < t0 + dt:
                    rows.append((pid, self.challenge_due[i], 0.8, "naloxone.iv"))
                elif self.inducted[i] >= 0 and t0 <= self.ntx_next[i] < t0 + dt:
                    mg = med.dose_on(dd)
                    if mg is None:
                        self._taper_completed(i, k_day, self.ntx_next[i])
                    # the first injection is given on the unit right after a negative challenge
                    elif self.inpatient[i] or U[a, 7] < B["xrntx_attendance"][i] * (1 - B["xrntx_attendance_craving_weight"][i] * crav[a]):
                        self._give(rows, i, self.ntx_next[i], k_day, med, mg)
                        med_today[a] = True
                        self.ntx_next[i] += med.every_h
                    else:
                        self.in_tx[i] = False
                        self.rec.dropout_day[i] = k_day if self.rec.dropout_day[i] < 0 else self.rec.dropout_day[i]
                        self._event(i, self.ntx_next[i], k_day, "dropout", "missed injection")

    def _rescue(self, i, a, t_use, t0, grid, P, X, doses):
        """Bystander naloxone 4 mg intranasal 5 min after the use: re-simulate the interval."""
        c = self.c
        self._event(i, t_use + 5 / 60, int((t_use - self.t_start) // 24), "rescue",
                    "bystander naloxone 4 mg intranasal or emergency services")
        rows = [] if doses is None else [tuple(r) for r in doses.loc[doses.ID == c.ids[i], ["ID", "TIME", "AMT", "CMT"]].itertuples(index=False)]
        rows.append((c.ids[i], t_use + 5 / 60, 4.0, "naloxone.intranasal"))
        r = simulate(c.model, P[a:a + 1], grid, _doses(rows), ids=c.ids[i:i + 1], x0=X[a:a + 1], t0=t0, options=OPTIONS)
        if not hasattr(self, "_rescued") or self._rescued is None:
            self._rescued = {}
        if np.isfinite(r.states[0, -1, :]).all() and not r.failed[0]:
            self._rescued[i] = r.states[0, -1, :].copy()
        else:   # the rescue's re-simulation failed: keep the interval's states, report it
            self._event(i, t_use, int((t_use - self.t_start) // 24), "solver_failure",
                        "re-simulation with naloxone failed; the interval's states are kept")

    def _taper_completed(self, i, k_day, t):
        self.in_tx[i] = False
        if self.rec.completed_day[i] < 0:
            self.rec.completed_day[i] = k_day
        self._event(i, t, k_day, "taper_completed", self.treat[i].medication.text)

    def _daily(self, k):
        c, B = self.c, self.c.B
        U = {}
        alive = np.nonzero(self.alive & self.active)[0]
        for i in alive:
            U[i] = c.rngs[i].random(3)
        last7 = self.rec.uses[:, max(0, k - 6):k + 1].sum(axis=1) > 0
        for i in alive:
            u = U[i]
            # other-cause death (expected and drawn)
            h = B["other_death_rate"][i] + B["other_death_use_rate"][i] * (self.rec.uses[i, k] > 0)
            p = 1 - np.exp(-h * 24.0)
            self.rec.exp_other_death[i, k] += self.S[i] * p
            self.S[i] *= 1 - p
            if not self.immortal and u[0] < p:
                self.alive[i] = False
                self.rec.dead_day[i] = k
                self._event(i, self.t_start + (k + 1) * 24.0, k, "death", "other cause")
                continue
            T = self.tx[i]
            if self.in_tx[i] and not self.inpatient[i] and T in (TX_METHADONE, TX_NOREPL, TX_BUPNX):
                if T == TX_BUPNX and self.inducted[i] < 0 and not self.outpatient_induction[i]:
                    pass
                else:
                    # outpatient induction: before the first dose the patient has no medication, and the
                    # same craving- and use-driven dropout hazard applies (early attrition)
                    pre = T == TX_BUPNX and self.inducted[i] < 0
                    crav = self.rec.craving[i, k]
                    f = B["dropout_medication_factor"][i] if T != TX_NOREPL and not pre else 1.0
                    h = B["dropout_rate"][i] * f * np.exp(B["dropout_craving_beta"][i] * (crav - 0.5)
                                                          + B["dropout_use_beta"][i] * last7[i])
                    leaves = u[1] < 1 - np.exp(-h * 24.0)
                    # a planned exit: the exit taper begins and the patient stays in treatment for now
                    leaves = leaves and (pre or not self._start_exit_taper(i, k))
                    if leaves:
                        self.in_tx[i] = False
                        if self.rec.dropout_day[i] < 0:
                            self.rec.dropout_day[i] = k
                        self._event(i, self.t_start + (k + 1) * 24.0, k, "dropout",
                                    "left before outpatient induction" if pre else "left treatment")
                        if pre:
                            self.ind_failed[i] = True
                            self._event(i, self.t_start + (k + 1) * 24.0, k, "induction_failed",
                                        "left before outpatient induction")
            elif (self.reentry and not self.in_tx[i] and self.arm0[i] in REENTRY_KINDS
                  and self.t_start + (k + 1) * 24.0 > self.abst_until[i]):
                if u[2] < 1 - np.exp(-B["reentry_rate"][i] * 24.0):
                    self.in_tx[i] = True
                    self.treat[i] = self.treat0[i]
                    self.tx_day0[i] = k + 1
                    self._event(i, self.t_start + (k + 1) * 24.0, k, "reentry", self.treat[i].describe())
            self.rec.in_tx[i, k] = self.in_tx[i]
        self.rec.surv[:, k] = self.S
        if self.stop_when is not None:
            self.active &= ~self.stop_when(self, k)

    def _start_exit_taper(self, i, k) -> bool:
        """Patient ``i``, deciding on day ``k`` to leave methadone, leaves through the medication's exit
        taper instead (probability ``methadone_exit_taper_fraction``, a keyed draw so no other draw
        moves): the taper starts the next day from the day's dose. False (an immediate exit) without
        exit tapers, for other treatments, or during a taper."""
        from ..streams import Purpose, Streams
        med = self.treat[i].medication
        if not (self.exit_tapers and self.tx[i] == TX_METHADONE and med is not None and med.exit_taper is not None):
            return False
        z = Streams(self.c.seed).named_normals([self.c.ids[i]], Purpose.BEHAVIOUR_EVENTS, [f"exit_taper:{int(k)}"])[0, 0]
        if ndtr(z) >= self.c.B["methadone_exit_taper_fraction"][i]:
            return False
        from_day = int(round(k + 1 - self.tx_day0[i])) + 1   # 1-based treatment day of the first tapered dose
        self.treat[i] = replace(self.treat[i], medication=med.with_exit_taper(from_day))
        self._event(i, self.t_start + (k + 1) * 24.0, k, "taper_start", self.treat[i].medication.describe())
        return True

    def run(self, progress=None) -> Record:
        """Simulate every day; ``progress(day)`` is called after each day when given."""
        for k in range(self.days):
            for j in range(self.nint):
                self._interval(k, j)
            self._daily(k)
            if progress is not None:
                progress(k + 1)
        return self.rec


# ------------------------------------------------------------------------------------------------
def runs(flags: np.ndarray, length: int) -> np.ndarray:
    """First day starting a run of ``length`` consecutive True days in each row (-1 none)."""
    n, d = flags.shape
    out = np.full(n, -1, np.int64)
    if d < length:
        return out
    cs = np.cumsum(np.pad(flags.astype(int), ((0, 0), (1, 0))), axis=1)
    win = cs[:, length:] - cs[:, :-length] == length
    has = win.any(axis=1)
    out[has] = np.argmax(win[has], axis=1)
    return out
