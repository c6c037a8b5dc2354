"""Central μ breathing signal of single IV boluses in one typical person (design memo heroin-potency.md).

For each bolus: the peak central μ signal σ over the naïve σ50 (``vent_s50_naive``), each agonist's
share of that peak (its effect-site concentration over its central constant: the full agonists' odds,
since σ = Σ C_e/K for full agonists with τ 1), the peak drive depression E, the ventilation nadir,
the PaO2 nadir and the minutes with PaO2 < 30 mmHg (the overdose hazard's threshold).

Tolerance is set, not grown: the breathing tolerance fold Φ (``resp_tolerance_fold`` = fast × slow
phase) starts at the given value, all of it put in the fast phase (its loss over the 3-h horizon is
negligible in either phase: t½ 3 d and 13.2 d). ``--runin REGIMEN`` instead
reports the fold Φ that a regimen builds (its value at the regimen's end, and its daily minimum and
maximum over the last day) and the last day's PaO2 nadir.

    PYTHONPATH=src nice python scripts/heroin_potency_probe.py [--fold 1 --fold 20]
        [--set mam6_mor_central_K=2.5 ...] [--runin "heroin 25 mg IV q6h for 28 d"]
"""

from __future__ import annotations

import argparse

import numpy as np

from opiaxis.cli.calibrate import parse_set
from opiaxis.dosing import EventTable
from opiaxis.errors import OpiaxisInputError
from opiaxis.engine.simulate import simulate
from opiaxis.models import default_model

BOLUSES = ["heroin 5 mg IV once", "heroin 10 mg IV once", "heroin 25 mg IV once",
           "morphine 10 mg IV once", "fentanyl 100 ug IV once"]
AGONISTS = ["heroin", "mam6", "morphine", "m6g"]   # equilibrium full agonists with τ 1: odds = C_e/K
HORIZON_H = 3.0


def _parameters(model, overrides: dict[str, float]) -> np.ndarray:
    P = model.default_parameters()
    for name, value in overrides.items():
        if name not in model.param_index:
            raise SystemExit(f"--set {name}: no such model parameter")
        P[model.param_index[name]] = value
    return P


def probe(model, regimen: str, P: np.ndarray, fold: float) -> dict[str, float]:
    """Peak signal, its shares and the breathing read-outs of one bolus at t = 0."""
    times = np.arange(0.0, HORIZON_H + 1e-9, 1 / 120)   # 30-s grid
    doses = EventTable.from_regimens(model, [regimen]).for_ids([1]).expanded()
    x0 = model.initial_state(P[None, :])
    x0[0, model.state_index["resp_tolerance_fast"]] = fold   # Φ = fast × slow; the slow phase stays 1
    r = simulate(model, P[None, :], times, doses, ids=[1], x0=x0)
    s50 = P[model.param_index["vent_s50_naive"]]
    sigma = r.get("mor_signal_central")[0]
    k = int(np.argmax(sigma))
    out = {"peak σ/σ50": sigma[k] / s50, "t peak min": 60 * times[k]}
    for d in AGONISTS:
        if f"{d}_effect" in model.state_index and f"{d}_mor_central_K" in model.param_index:
            out[f"{d} share"] = r.get(f"{d}_effect")[0][k] / P[model.param_index[f"{d}_mor_central_K"]] / s50
    pao2 = r.get("pao2")[0]
    out.update({"peak E": r.get("resp_drive_depression")[0].max(),
                "vent nadir": r.get("ventilation_rel")[0].min(), "PaO2 nadir": pao2.min(),
                "min PaO2<30": 60 * float(np.sum(pao2 < 30.0)) / 120})
    return out


def runin(model, regimen: str, P: np.ndarray) -> dict[str, float]:
    """The breathing tolerance fold a repeated regimen builds, read over its last day (10-min grid)."""
    doses = EventTable.from_regimens(model, [regimen]).for_ids([1]).expanded()
    end = float(doses.TIME.max()) + 6.0
    times = np.arange(0.0, end + 1e-9, 1 / 6)
    r = simulate(model, P[None, :], times, doses, ids=[1])
    last = times >= end - 24.0
    fold = r.get("resp_tolerance_fold")[0]
    return {"Φ end": fold[-1], "Φ min last day": fold[last].min(), "Φ max last day": fold[last].max(),
            "PaO2 nadir last day": r.get("pao2")[0][last].min()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fold", type=float, action="append", help="breathing tolerance fold Φ (default 1)")
    ap.add_argument("--set", action="append", default=[], help="NAME=VALUE parameter override")
    ap.add_argument("--runin", action="append", default=[], help="regimen text: report the tolerance fold it builds")
    ap.add_argument("--bolus", action="append", help="regimen text (default: heroin 5/10/25 mg, morphine 10 mg, fentanyl 100 µg IV)")
    a = ap.parse_args()
    model = default_model()
    try:
        overrides = parse_set(a.set)
    except OpiaxisInputError as e:
        raise SystemExit(str(e)) from None
    P = _parameters(model, overrides)
    for regimen in a.runin:
        o = runin(model, regimen, P)
        print(f"{regimen:28s} " + "  ".join(f"{n} {v:.3g}" for n, v in o.items()) + (f"; {overrides}" if overrides else ""), flush=True)
    if a.runin and not a.fold:
        return
    for fold in a.fold or [1.0]:
        print(f"# Φ = {fold:g}" + (f"; overrides {overrides}" if overrides else ""))
        for regimen in a.bolus or BOLUSES:
            o = probe(model, regimen, P, fold)
            print(f"{regimen:28s} " + "  ".join(f"{n} {v:.3g}" for n, v in o.items()), flush=True)


if __name__ == "__main__":
    main()
