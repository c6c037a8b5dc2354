"""Why does the posterior rank two combinations differently from the truth? Term by term.

For one decision-study patient (``scripts/decision_study.py``'s phenotypes, designs and noise
models) and two combinations A and B of one base candidate, prints each loss term of A and B
(withdrawal, overdose, pain, depression, constipation, craving, inflammation) and the raw means
(MADRS, SBM/week, BFI) under:

* ``truth``                 the true parameters;
* ``MAP``                   the fit's parameter row (unfitted parameters at their median);
* ``draws``                 recommend's decision draws (``fit.draw_parameters(draws, seed, consistent=True)``);
* ``draws, fitted=truth``   the same draws with the fitted parameters at their true values;
* ``draws, unfitted=truth`` the same draws with every other variable parameter at its true value;

then the parameters that move Δ = loss(A) − loss(B) most when one at a time is moved from its true
value to the draws' centre (log-mean for positive parameters), with how much the record informs each
(the truth's z, the posterior's z and SD in the prior's standard-normal space, and whether it is
fitted, conditioned on the data or left at its prior: ``informed``), the log posterior over two
parameters' z on a grid (``--profile NAME1,NAME2``), and oracle runs: the draws with one
named parameter at its true value (``--oracle NAME``, repeatable).

    python scripts/decision_terms.py typical 1 --base "methadone 30→60 mg/day" --oracle mood_trait_offset
    python scripts/decision_terms.py low_bup_F_pain 1 --noise misspec
    python scripts/decision_terms.py hpa_depressed 2 --noise misspec --base-b "buprenorphine 8 mg/day"
    python scripts/decision_terms.py hpa_depressed 1 --profile gut_mor_imax,sbm_rate_drug_free
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

SSRI = "SSRI antidepressant (e.g. sertraline 100 mg/day)"
PEG = "osmotic laxative (PEG 17 g/day)"
NAL = "PAMORA naloxegol 25 mg/day"
SHORT = {SSRI: "SSRI", PEG: "PEG", NAL: "naloxegol"}


def patient_fit(model, name, rep, noise, design, seed=3):
    """(true parameters, fit) of a decision-study patient, as ``decision_study.one_patient`` makes them."""
    import decision_study as ds
    from opiaxis.calibrate.fit import fit_patient, read_patients, synthetic_table
    cov, shifts = ds.PHENOTYPES[name]
    pid = f"{name}-{rep}"
    P = ds.true_parameters(model, cov, shifts, seed, pid)
    regimens, visits = ds.DESIGNS[design]
    df = synthetic_table(model, P, ds.REGIMENS + regimens, {**ds.VISITS, **visits}, patient=pid, seed=seed,
                         covariates=cov, within_cv=ds.NOISE[noise])
    return P, fit_patient(read_patients(df, model)[pid], model)


def term_table(fit, combos, sets: dict, opts) -> pd.DataFrame:
    """Mean loss terms of each combination under each set of parameter rows."""
    from opiaxis.calibrate.recommend import combination_outcomes, loss_terms
    rows = []
    for label, PP in sets.items():
        for k, o in combination_outcomes(fit, combos, PP.copy(), options=opts).items():
            terms = loss_terms(o, opts.weights)
            r = {"rows": label, "combination": " + ".join(SHORT.get(a, a) for a in k.split(" + "))}
            r.update({t: float(np.mean(v)) for t, v in terms.items()})
            r["total"] = float(np.mean(np.sum(list(terms.values()), axis=0)))
            r.update({c: float(np.mean(o[c])) for c in ("madrs_mean", "sbm_per_week", "bfi_mean") if c in o})
            rows.append(r)
    return pd.DataFrame(rows)


def attribution(fit, combos, P, Pd, opts, top=12) -> pd.DataFrame:
    """Change of Δ = loss(A) − loss(B) (and of its terms) when one variable parameter at a time goes
    from its true value to the draws' centre."""
    from opiaxis.calibrate.recommend import combination_outcomes, loss_terms
    model = fit.problem.model
    var = [model.param_index[p.name] for p in model.parameters if p.variability is not None and p.variability.spread != 0]
    centre = np.where(np.all(Pd > 0, axis=0), np.exp(np.mean(np.log(np.abs(Pd) + 1e-300), axis=0)), Pd.mean(axis=0))
    rows = [P.copy()]
    for j in var:
        q = P.copy()
        q[j] = centre[j]
        rows.append(q)
    out = combination_outcomes(fit, combos[:2], np.array(rows), options=opts)
    La, Lb = (loss_terms(o, opts.weights) for o in out.values())
    d = {t: La[t] - Lb[t] for t in La}
    tot = sum(d.values())
    res = pd.DataFrame({"parameter": [model.parameters[j].name for j in var], "truth": P[var], "draws_centre": centre[var],
                        "change_of_delta": tot[1:] - tot[0], **{t: d[t][1:] - d[t][0] for t in d}})
    print(f"Δ at the truth: {tot[0]:+.4f} (" + ", ".join(f"{t} {d[t][0]:+.4f}" for t in d) + ")")
    res = res.iloc[np.argsort(-np.abs(res["change_of_delta"].to_numpy()))].head(top)
    return res.join(informed(fit, list(res["parameter"]), P), on="parameter")


def z_of(p, typical: float, value: float) -> float:
    """The standard-normal deviate of ``value`` in parameter ``p``'s population distribution."""
    return float(p.variability.z_of(typical, value))


def informed(fit, names: list[str], P: np.ndarray) -> pd.DataFrame:
    """How much the data inform each parameter (:func:`opiaxis.calibrate.voi.record_information`:
    the posterior's mean and SD of z, fitted, conditioned or prior), with the truth's z beside it.
    A decision that turns on a ``prior`` parameter, or on one whose posterior SD is near 1, cannot be
    learned from this record by any inference."""
    from opiaxis.calibrate.voi import record_information
    prob, model = fit.problem, fit.problem.model
    t = record_information(fit, names).rename(columns={"sd_ratio": "sd_posterior"})
    t.insert(0, "z_truth", [z_of(model.parameter(n), prob.base[model.param_index[n]], P[model.param_index[n]])
                            for n in names])
    return t


def profile(fit, P: np.ndarray, names: list[str], span: float = 2.5, points: int = 11) -> pd.DataFrame:
    """The log posterior over two parameters' z on a grid (±``span`` prior SDs), the other parameters
    at the fit's parameter row: the fit's residual model on every read-out (½ΣQ,
    :meth:`FitResult.readout_misfit`) plus the two N(0, 1) priors, relative to its maximum on the grid
    (0 = the mode; −3 = e⁻³ times as probable). Rows: the first name's z; columns: the second's. Shows
    what the record says about two parameters that it informs only together (e.g. the bowel's
    drug-free rate and the opioid's maximal slowing from stool counts all taken on opioids)."""
    model, prob = fit.problem.model, fit.problem
    zs = np.linspace(-span, span, points)
    base = fit.parameter_row()
    rows = np.tile(base, (points * points, 1))
    (ja, jb), (pa, pb) = ([model.param_index[n] for n in names], [model.parameter(n) for n in names])
    za, zb = np.repeat(zs, points), np.tile(zs, points)
    for j, par, z in ((ja, pa, za), (jb, pb, zb)):
        rows[:, j] = par.at_z(np.full(len(z), prob.base[j]), z)
    logp = -0.5 * fit.readout_misfit(rows)[0].sum(axis=1) - 0.5 * (za ** 2 + zb ** 2)
    out = pd.DataFrame((logp - logp.max()).reshape(points, points), index=pd.Index(zs.round(2), name=names[0]),
                       columns=pd.Index(zs.round(2), name=names[1]))
    print(f"truth: {names[0]} z {z_of(pa, prob.base[ja], P[ja]):+.2f}, {names[1]} z {z_of(pb, prob.base[jb], P[jb]):+.2f}")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("phenotype")
    ap.add_argument("replicate", type=int)
    ap.add_argument("--noise", default="assumed")
    ap.add_argument("--design", default="informative")
    ap.add_argument("--base", default="buprenorphine 32 mg/day")
    ap.add_argument("--a", default=f"{SSRI},{PEG}", help="adjuncts of combination A (comma-separated)")
    ap.add_argument("--b", default=f"{PEG},{NAL}", help="adjuncts of combination B (comma-separated)")
    ap.add_argument("--base-b", default=None, help="combination B's base candidate (default: --base)")
    ap.add_argument("--draws", type=int, default=20)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--oracle", action="append", default=[], help="a parameter set to its true value in the draws")
    ap.add_argument("--profile", default=None, help="NAME1,NAME2: the log posterior over these two parameters' z (profile)")
    a = ap.parse_args(argv)
    from opiaxis.calibrate.recommend import combination_outcomes, composite, load_options
    from opiaxis.models import default_model
    model, opts = default_model(), load_options()
    P, fit = patient_fit(model, a.phenotype, a.replicate, a.noise, a.design, a.seed)
    print("fitted:", ", ".join(fit.names))
    combos = [(a.base, tuple(a.a.split(","))), (a.base_b or a.base, tuple(a.b.split(",")))]
    Pd = fit.draw_parameters(a.draws, a.seed, consistent=True)
    from opiaxis.calibrate.fit import CONSISTENCY_PROPOSALS
    ex = fit.data_excess(fit.draw_parameters(a.draws * CONSISTENCY_PROPOSALS, a.seed))
    print(f"proposals the data do not contradict: {np.sum(ex <= 1)} of {len(ex)} (needed {a.draws})")
    fitted = [model.param_index[n] for n in fit.names]
    var = [model.param_index[p.name] for p in model.parameters if p.variability is not None and p.variability.spread != 0]
    unf = [j for j in var if j not in fitted]
    f_true, u_true = Pd.copy(), Pd.copy()
    f_true[:, fitted], u_true[:, unf] = P[fitted], P[unf]
    sets = {"truth": P[None], "MAP": fit.parameter_row()[None], "draws": Pd, "draws, fitted=truth": f_true,
            "draws, unfitted=truth": u_true}
    pd.set_option("display.width", 250)
    print(term_table(fit, combos, sets, opts).round(4).to_string(index=False))
    print(attribution(fit, combos, P, Pd, opts).round(4).to_string(index=False))
    if a.profile:
        print(profile(fit, P, a.profile.split(",")).round(1).to_string())
    for name in a.oracle:
        j = model.param_index[name]
        for label, v in (("truth", P[j]), ("posterior", None)):
            Q = Pd.copy()
            if v is not None:
                Q[:, j] = v
            La, Lb = (composite(o, opts.weights) for o in combination_outcomes(fit, combos, Q, options=opts).values())
            print(f"oracle {name} = {label}: E Δ {np.mean(La - Lb):+.3f}, P(A better) {np.mean(La < Lb):.2f}")


if __name__ == "__main__":
    main()
