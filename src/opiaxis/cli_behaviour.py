"""CLI: ``opiaxis trial <file.yaml>`` — behaviour trials (detox, methadone, buprenorphine-naloxone,
XR-naltrexone, intranasal oxytocin, naloxone distribution) from a study file of kind
``behaviour-trial`` (see examples/oud_treatment_24w.yaml)."""

from __future__ import annotations


def run_trial_file(path: str) -> dict:
    import numpy as np
    import yaml

    from .behaviour.engine import CohortSim
    from .behaviour.trials import oud_cohort
    from .trials import proportion, randomise
    spec = yaml.safe_load(open(path))
    n = int(spec.get("population", {}).get("size", 100))
    seed = int(spec.get("seed", 0))
    fent = float(spec.get("population", {}).get("fentanyl_supply", 0.0))
    days = int(spec.get("days", 168))
    arms = spec["arms"]
    c = oud_cohort(n, seed, fent)
    arm = randomise(c.ids, seed, [1] * len(arms))
    for nm, v in (spec.get("behaviour") or {}).items():
        c.B[nm] = np.full(n, float(v))
    inp = np.array([float(arms[a].get("inpatient_days", 0)) for a in arm])
    for a_i, a in enumerate(arms):
        for nm, v in (a.get("behaviour") or {}).items():
            c.B[nm] = np.where(arm == a_i, float(v), c.B[nm])
    sim = CohortSim(c, [arms[a]["treatment"] for a in arm], days, inpatient_days=inp)
    rec = sim.run()
    out = {}
    for a_i, a in enumerate(arms):
        s = arm == a_i
        out[a["name"]] = {"n": int(s.sum()), "any use last 4 weeks": str(proportion(rec.uses[s, -28:].sum(1) > 0)),
                          "in treatment at end": str(proportion(rec.in_tx[s, -1])),
                          "overdoses": int(rec.od[s].sum()), "deaths": int((rec.dead_day[s] >= 0).sum()),
                          "mean craving (VAS)": float(100 * rec.craving[s].mean())}
    return out


def register(app) -> None:
    import typer

    @app.command("trial")
    def trial(path: str = typer.Argument(..., help="behaviour-trial YAML file")):
        """Simulate a behaviour trial (use, treatment, overdose) and print per-arm outcomes."""
        import json
        print(json.dumps(run_trial_file(path), indent=2))
