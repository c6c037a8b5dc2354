"""Patient covariates with realistic joint distributions, and their effects on parameters.

Joint distribution: a Gaussian copula. Each patient draws standard normals from its own stream
(seed, patient id), correlates them with the Cholesky factor of :data:`CORRELATIONS`, and maps
each margin to its distribution (normal, log-normal, Bernoulli, bounded score). The defaults
describe adults entering treatment for opioid use disorder; a study overrides any margin.

Effects on model parameters (:func:`apply_covariates`):

* body size — allometric scaling of every clearance (exponent 0.75) and volume (exponent 1) to
  70 kg (Anderson & Holford, Annu Rev Pharmacol Toxicol 2008;48:303), except buprenorphine
  clearance, which follows its own population model: CL·(age/35)^-0.233·(weight/72.4)^0.413
  (Bjornsson et al., Clin Pharmacokinet 2023;62:1427);
* OPRM1 A118G — carriers of the G allele need more μ agonist for the same effect (Klepstad et al.,
  Acta Anaesthesiol Scand 2004;48:1232: GG homozygotes needed ~2.3× the morphine of AA);
  modelled as a higher apparent μ dissociation constant of full agonists, ×1.5 for carriers
  (assumed: between AA and GG, most carriers being heterozygous);
* every model parameter named like a covariate (e.g. an input ``early_life_adversity`` declared
  by a later module) takes the patient's covariate value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from .. import yamlio
from ..errors import OpiaxisInputError
from ..model.core import Model
from ..streams import Purpose, Streams


@dataclass(frozen=True, kw_only=True)
class Covariate:
    name: str
    kind: str          # normal | lognormal | bernoulli | score
    unit: str
    params: dict
    source: str
    description: str = ""


# Defaults: adults entering OUD treatment. Sources or explicit assumptions for each margin.
COVARIATES: dict[str, Covariate] = {c.name: c for c in [
    Covariate(name="age", kind="normal", unit="yr", params={"mean": 37.0, "sd": 11.0, "lower": 18.0, "upper": 75.0},
              source="assumed: OUD treatment trials enrol adults with mean age ~34-40 (e.g. X:BOT, Lee et al. "
                     "Lancet 2018)",
              description="age in years"),
    Covariate(name="sex_male", kind="bernoulli", unit="dimensionless", params={"p": 0.68},
              source="assumed: ~70% men in US OUD treatment trials (X:BOT 70%)", description="1 = male"),
    Covariate(name="weight", kind="lognormal", unit="kg",
              params={"median_male": 80.0, "median_female": 68.0, "cv": 0.18, "lower": 40.0, "upper": 160.0},
              source="assumed: adult body weight by sex, CV 18%", description="body weight"),
    Covariate(name="oprm1_g_carrier", kind="bernoulli", unit="dimensionless", params={"p": 0.15},
              source="Bond et al., PNAS 1998;95:9608 (118G allele frequency ~10-20% in European ancestry; higher "
                     "in East Asian)",
              description="carrier of the OPRM1 118G allele"),
    Covariate(name="early_life_adversity", kind="bernoulli", unit="dimensionless", params={"p": 0.45},
              source="assumed: ~40-50% of people with OUD report >= 4 adverse childhood experiences",
              description="ACE score >= 4"),
    Covariate(name="chronic_pain", kind="bernoulli", unit="dimensionless", params={"p": 0.45},
              source="assumed: chronic pain in ~40-60% of people in OUD treatment",
              description="chronic non-cancer pain"),
    Covariate(name="cancer", kind="bernoulli", unit="dimensionless", params={"p": 0.0},
              source="assumed: none in an OUD cohort", description="active cancer"),
    Covariate(name="depression_history", kind="bernoulli", unit="dimensionless", params={"p": 0.36},
              source="Santo et al., Drug Alcohol Depend 2022;238:109551 (current depression 36.1% in OUD)",
              description="depression history"),
    Covariate(name="social_support", kind="score", unit="dimensionless", params={"mean": 0.5, "sd": 0.2},
              source="assumed: standardised 0-1 social support score", description="0 none ... 1 strong"),
    Covariate(name="fentanyl_supply", kind="bernoulli", unit="dimensionless", params={"p": 0.5},
              source="assumed: illicit supply adulterated or replaced by fentanyl for half the cohort",
              description="1 = fentanyl supply"),
]}

# Latent correlations of the copula (assumed directions from the seeds; magnitudes assumed moderate)
CORRELATIONS = {
    ("early_life_adversity", "depression_history"): 0.3,
    ("early_life_adversity", "social_support"): -0.3,
    ("depression_history", "social_support"): -0.3,
    ("chronic_pain", "depression_history"): 0.25,
    ("age", "chronic_pain"): 0.2,
}

_ALLOWED = {"normal": {"mean", "sd", "lower", "upper"}, "lognormal": {"median_male", "median_female", "median", "cv", "lower", "upper"},
            "bernoulli": {"p"}, "score": {"mean", "sd"}}


def covariate_specs(overrides: dict | None = None, *, file: str | None = None, where: str = "population.covariates",
                    line_of=lambda key: None) -> dict[str, Covariate]:
    """Defaults updated by a study's overrides, validated."""
    specs = dict(COVARIATES)
    for name, spec in (overrides or {}).items():
        if name not in specs:
            raise OpiaxisInputError(f"unknown covariate {name!r}; known: {', '.join(sorted(specs))}", file=file,
                                    line=line_of(name), field=f"{where}.{name}")
        base = specs[name]
        if not isinstance(spec, dict):
            raise OpiaxisInputError(f"expected a mapping of distribution settings, e.g. {base.params}", file=file,
                                    line=line_of(name), field=f"{where}.{name}")
        for k, v in spec.items():
            if k not in _ALLOWED[base.kind]:
                raise OpiaxisInputError(f"{base.kind} covariate takes {sorted(_ALLOWED[base.kind])}, not {k!r}", file=file,
                                        line=line_of(name), field=f"{where}.{name}.{k}")
        params = {**base.params, **{k: yamlio.number(v, f"{where}.{name}.{k}", file=file, name=k,
                                                     line=yamlio.line_of(spec, k) or line_of(name))
                                    for k, v in spec.items()}}
        if "p" in params and not 0.0 <= params["p"] <= 1.0:
            raise OpiaxisInputError(f"probability {params['p']} outside [0, 1]", file=file, line=line_of(name),
                                    field=f"{where}.{name}.p")
        for k in ("sd", "cv"):
            if k in params and params[k] < 0:
                raise OpiaxisInputError(f"{k} {params[k]} is negative", file=file, line=line_of(name), field=f"{where}.{name}.{k}")
        if "lower" in params and "upper" in params and params["lower"] >= params["upper"]:
            raise OpiaxisInputError("lower bound must be below upper bound", file=file, line=line_of(name), field=f"{where}.{name}")
        specs[name] = Covariate(name=name, kind=base.kind, unit=base.unit, params=params,
                                source=base.source + "; study override", description=base.description)
    return specs


def _cholesky(names: list[str]) -> np.ndarray:
    R = np.eye(len(names))
    idx = {n: i for i, n in enumerate(names)}
    for (a, b), r in CORRELATIONS.items():
        if a in idx and b in idx:
            R[idx[a], idx[b]] = R[idx[b], idx[a]] = r
    return np.linalg.cholesky(R)


def sample_covariates(ids, seed: int, specs: dict[str, Covariate] | None = None) -> pd.DataFrame:
    """One row per patient, from its own stream (independent of the parameter stream)."""
    specs = specs or COVARIATES
    names = list(specs)
    ids = np.asarray(ids)
    Z = Streams(seed).named_normals(ids, Purpose.COVARIATES, names) @ _cholesky(names).T
    out = {"patient": ids}
    for k, n in enumerate(names):
        c, z = specs[n], Z[:, k]
        p = c.params
        if c.kind == "bernoulli":
            # high latent values are the event, so a positive latent correlation is a positive association
            v = (z > ndtri(1 - min(max(p["p"], 1e-12), 1 - 1e-12))).astype(float) if 0 < p["p"] < 1 else np.full(len(z), p["p"])
        elif c.kind == "normal":
            v = np.clip(p["mean"] + p["sd"] * z, p.get("lower", -np.inf), p.get("upper", np.inf))
        elif c.kind == "score":
            v = ndtr((ndtri(np.clip(p["mean"], 1e-6, 1 - 1e-6)) + z * p["sd"] / 0.25))
        else:  # lognormal, median by sex when given
            omega = np.sqrt(np.log1p(p["cv"] ** 2))
            if "median" in p:
                med = np.full(len(z), p["median"])
            else:
                male = out.get("sex_male", np.ones(len(z)))
                med = np.where(male > 0.5, p["median_male"], p["median_female"])
            v = np.clip(med * np.exp(omega * z), p.get("lower", 0), p.get("upper", np.inf))
        out[n] = v
    return pd.DataFrame(out)


OPRM1_AGONIST_FACTOR = 1.5


def apply_covariates(model: Model, P: np.ndarray, cov: pd.DataFrame) -> np.ndarray:
    """Covariate effects on a parameter matrix (rows aligned with ``cov``); returns a copy."""
    P = P.copy()
    idx = model.param_index
    wt = cov["weight"].to_numpy() if "weight" in cov else None
    age = cov["age"].to_numpy() if "age" in cov else None
    if wt is not None:
        for p in model.parameters:
            if p.module != "pk":
                continue
            base = p.name.rsplit("_", 1)
            if len(base) != 2:
                continue
            tag = base[1]
            if p.name == "buprenorphine_CL":
                f = (wt / 72.4) ** 0.413 * ((age / 35.0) ** -0.233 if age is not None else 1.0)
            elif tag == "CL" or (tag.startswith("Q") and tag[1:].isdigit()):
                f = (wt / 70.0) ** 0.75
            elif tag.startswith("V") and tag[1:].isdigit():
                f = wt / 70.0
            else:
                continue
            P[:, idx[p.name]] *= f
    if "oprm1_g_carrier" in cov:
        carrier = cov["oprm1_g_carrier"].to_numpy() > 0.5
        for p in model.parameters:
            if p.name.endswith("_mor_central_K"):
                drug = p.name[: -len("_mor_central_K")]
                eff = f"{drug}_mor_central_efficacy"
                if eff in idx and model.parameters[idx[eff]].value >= 0.99:  # full agonists
                    P[carrier, idx[p.name]] *= OPRM1_AGONIST_FACTOR
    for name in cov.columns:
        if name in idx:
            P[:, idx[name]] = cov[name].to_numpy()
    return P
