"""Joint calibration of the behaviour layer (issue 6) — which parameters, to which data, how.

Fitted parameters, each to the part of one published target named here (point estimate; the
published band is only used to scale the residual):

    parameter                                   calibrated to (target: quantity = published value)
    craving_satiety_agonism (reward.py, ODE)    mmt.retention: heroin-use RR = 0.66 (0.56–0.78)
    dropout_medication_factor (behaviour)       mmt.retention: retention RR = 4.44 (3.26–6.04)
    cncp_extra_dose_rate (behaviour)            pain.cncp.oud: 1-year misuse = 25% (Vowles 21–29%)
    xrntx_attendance (behaviour)                xbot.relapse24w: XR-NTX 24-week relapse = 65% (expectation, n=2000)

Not used for fitting (independent checks after the fit): mortality.ost (all-cause and overdose
RR), xbot.relapse24w's BUP-NX arm and HR (HR 1.36 published; 1.15 after the fit), pain.cncp.oud's addiction rate, relapse.detox,
ot.craving, ot.intranasal.single, xbot.induction. (relapse.detox, xbot.induction and
ot.intranasal.single keep their earlier hand calibrations of use_rate_max, access_inpatient and
oxytocin_nose_to_brain_gain; those parameters are not refitted here.)

Objective: J = Σ_q ((g(sim_q) − g(pub_q)) / h_q)², g = log for ratios and identity for
proportions, h_q = half the published band's width on the same scale — each residual in units
of the published uncertainty. The problem is block-triangular: the mmt.retention parameters
change every other target, but the other parameters do not change the MMT trial (extinction
needs antagonist/partial-agonist occupancy; the extra-dose rate only acts in chronic pain). So
the fit is one block-coordinate sweep — (1) a 2-D grid over (craving_satiety_agonism,
dropout_medication_factor) on the MMT trial, (2) a 1-D grid over cncp_extra_dose_rate on the
CNCP cohort, (3) a 1-D grid over xrntx_attendance on X:BOT — each minimising its block's
terms of J on the targets' own cohorts, seeds and definitions (common random numbers: every
grid point sees the same patients and random streams). Finally every behaviour target is run
with the fitted values.

The grids are coarse on purpose: the fit was run on a 2-core machine shared with a benchmark
(~3% of a core, ~7 min per trial simulation), so each grid holds the previous value and one or
two candidates. Results of the run that set the parameters (issue 6):
    mmt   (0.35, 0.3): retention RR 4.58, heroin-use RR 0.323 (J 18.6)
          (0.35, 0.2): 5.05, 0.255 (J 33.1);  (0.35, 0.13): 5.15, 0.255 (J 33.1)
          (0.50, 0.3): retention RR 4.40, heroin-use RR 0.582 (J 0.57)   <- chosen
          (0.6 in an earlier diagnosis: use RR in band, retention RR out of band; not rerun)
    cncp  (rate 0.006, satiety 0.5): misuse 50.0%, addiction 3.3% (J 39.1) — the weaker methadone/
          oxycodone satiety raises extra dosing in chronic pain sharply;
          (0.0025): misuse 24.7%, addiction 2.0% (J 0.007)   <- chosen (addiction, held out, misses 3–17%)
    xbot  (first run, before the two corrections below) α 0.25: XR-NTX relapse 85.3%; α 0.8: 83.8%.
          Rerun after (a) the X:BOT relapse window was corrected to the trial's weeks 3–24 and (b) oral
          naltrexone F was re-derived from the label's XR/oral exposure ratio (drugs.yaml; the PET-fitted
          μ K fell from 1.31 to 0.54 ng/mL, so XR-NTX occupancy is 71% rather than 58% three weeks after
          an injection):
          (α 0):    XR-NTX 80.9%, BUP-NX 62.0%, HR 1.60 (J 3.9)
          (α 0.25): XR-NTX 83.8%, BUP-NX 55.4%, HR 1.87 (J 5.5)
          (α 0.8):  XR-NTX 76.5%, BUP-NX 51.1%, HR 1.80 (J 2.1)   <- chosen; the XR-NTX arm still misses
          The differences between these α are within the trial's sampling noise (α 0.25 is worse than
          both neighbours). What limits XR-NTX in the model is missed monthly injections: the first
          build's attendance 0.85·(1 − 0.5·craving), ~0.57 per injection, left 12% on XR-NTX at 24
          weeks. The craving term was dropped (on XR-NTX, use does not predict dropout: Nunes et al.,
          Addiction 2020, PMC6980175) and xrntx_attendance is now the fitted parameter of this block
          (use_extinction_rate stays at 0.8, set from Mello et al. 1981):
          First fitted at the target's realisation (then n = 160): 0.77 (64.7%). That realisation
          was noisy — the same 0.77 gives 71.0% at n = 600 — so the fit now uses the expectation:
          n = 2000, xrntx_attendance 0.78 / 0.82 / 0.86: XR-NTX relapse 71.2 / 66.0 / 60.2%,
          BUP-NX 56.6% (published 57%), XR-NTX induction 71.4% (published 72%); 65% at 0.827 ->
          0.83 chosen.
          The target itself now simulates X:BOT's own size (570 randomised, was 160): at 0.83 it
          gives XR-NTX 61.6%, BUP-NX 57.1%, HR 1.15 (published 1.36; not fitted).
          Extinction at the fitted attendance (n = 2000): α 0 / 0.25 / 0.8 give XR-NTX 69.0 / 66.2 /
          65.0%, BUP-NX 67.2 / 61.2 / 56.6%, HR 1.10 / 1.20 / 1.29 — in expectation α (set from Mello
          1981, not fitted) is what brings the BUP-NX arm, fitted by nothing, to the published 57%.

Side effects on targets not fitted here: relapse.detox moved from 97% / 61% in week 1 (in band) to
99% / 70% (just above 80–97%) with craving_satiety_agonism 0.5 — weaker methadone satiety during the
taper. Refitting use_rate_max (its own hand calibration) was tried: 0.03 restores relapse.detox
(95% / 51%) but drops mmt.retention's retention RR to 2.3 (0.035: 3.5, 0.04: 2.2); the retention RR
rests on ~10 retained no-replacement patients, so this landscape is dominated by sampling noise and
use_rate_max was left at 0.045. mortality.ost's overdose RR fell from 32 to 11 (band 3–8): the
off-treatment overdose rate matches Sordo (12.0 vs 12.7 per 1000 PY), the on-methadone rate is too
low (1.1 vs 2.6).

Sampling noise. Each target simulates its trial's size with one seed, so a single realisation is
scored. The same trials at n = 600 (closer to the expectation; the sampling SD of a proportion is
still ~2–3 points there), with xrntx_attendance 0.77 (before its refit at n = 2000):
    use_rate_max 0.045: detox 97.2% / 69.2% in week 1; MMT retention RR 3.54, heroin-use RR 0.55;
                        X:BOT XR-NTX 71.0%, BUP-NX 57.0%, HR 1.43
    use_rate_max 0.035: detox 96.0% / 59.8%; MMT 3.49, 0.53; X:BOT 69.2%, 52.6%, HR 1.55
In expectation the model sits on the edges of relapse.detox and the heroin-use RR band rather than
clearly inside or outside them; which side a trial-sized realisation lands on is chance. 0.035 is
closer in expectation on relapse.detox but its trial-sized realisations miss both relapse.detox
(98%) and the heroin-use RR (0.54); use_rate_max was left at 0.045.

A finer grid (craving_satiety_agonism 0.5–0.6, dropout_medication_factor 0.15–0.3) is the
obvious next step when CPU is available; at the chosen MMT point both RRs are already inside their bands.

Run:  /work/venv/bin/python scripts/calibrate_behaviour.py  [--block mmt|cncp|xbot|check]
(~15–25 min on 2 cores). The fitted values are printed; they are copied by hand into
src/opiaxis/physiology/reward.py and src/opiaxis/behaviour/params.py with this script named in
their source text.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import time


import opiaxis.population as population
from opiaxis.behaviour import params as bparams
from opiaxis.behaviour import trials

# published point estimates and bands (targets.md) used in the objective
PUBLISHED = {
    "heroin_use_rr": (0.66, 0.56, 0.78, "log"),       # mmt.retention (Mattick 2009)
    "retention_rr": (4.44, 3.26, 6.04, "log"),        # mmt.retention
    "cncp_misuse": (0.25, 0.21, 0.29, "lin"),         # pain.cncp.oud (Vowles 2015: 21–29%)
    "xrntx_relapse": (0.65, 0.57, 0.73, "lin"),       # xbot.relapse24w (Lee 2018, ±8 points)
}

GRIDS = {
    "craving_satiety_agonism": [0.35, 0.5],
    "dropout_medication_factor": [0.3],
    "cncp_extra_dose_rate": [0.006, 0.0025],
    "xrntx_attendance": [0.78, 0.82, 0.86],
}

ODE_PARAMS = {"craving_satiety_agonism"}


def residual(q: str, sim: float) -> float:
    pub, lo, hi, scale = PUBLISHED[q]
    g = (lambda v: math.log(max(v, 1e-9))) if scale == "log" else (lambda v: v)
    return (g(sim) - g(pub)) / ((g(hi) - g(lo)) / 2)


@contextlib.contextmanager
def parameters(values: dict):
    """Temporarily set typical values: ODE parameters through sample_parameters' overrides,
    behaviour parameters by replacing their BParam (their between-patient CV is kept)."""
    ode = {k: v for k, v in values.items() if k in ODE_PARAMS}
    beh = {k: v for k, v in values.items() if k not in ODE_PARAMS}
    orig_sample = population.sample_parameters
    orig_b = {k: bparams.PARAMS[k] for k in beh}

    def sample(model, ids, seed, *, overrides=None, variability=True):
        return orig_sample(model, ids, seed, overrides={**ode, **(overrides or {})}, variability=variability)

    population.sample_parameters = sample
    for k, v in beh.items():
        bparams.PARAMS[k] = dataclasses.replace(orig_b[k], value=float(v))
    trials.mmt_cohort.cache_clear()
    try:
        yield
    finally:
        population.sample_parameters = orig_sample
        bparams.PARAMS.update(orig_b)
        trials.mmt_cohort.cache_clear()


def sim_mmt(values):
    with parameters(values):
        r = trials.mmt_vs_no_replacement()
    return {"retention_rr": r["retention"][0], "heroin_use_rr": r["heroin_use"][0]}


def sim_cncp(values):
    with parameters(values):
        r = trials.cncp_misuse()
    return {"cncp_misuse": r["misuse"].rate, "cncp_addiction": r["addiction"].rate}


XBOT_EXPECTATION_N = 2000   # X:BOT is fitted to its expectation (n = 570 in the trial and its target)


def sim_xbot(values):
    with parameters(values):
        r = trials.xbot(n=XBOT_EXPECTATION_N)
    return {"xrntx_relapse": r["relapse_xrntx"].rate, "bupnx_relapse": r["relapse_bupnx"].rate, "hr": r["hr"],
            "xrntx_induction": r["induction_xrntx"].rate}


def grid_fit(label, sim, fixed, axes: dict, terms):
    """Evaluate J (the block's terms) on the grid; return the best point."""
    import itertools
    names = list(axes)
    best, best_j = None, math.inf
    for point in itertools.product(*(axes[n] for n in names)):
        vals = {**fixed, **dict(zip(names, point))}
        t0 = time.perf_counter()
        out = sim(vals)
        j = sum(residual(q, out[q]) ** 2 for q in terms)
        print(f"  [{label}] {dict(zip(names, point))} -> "
              + ", ".join(f"{k} {v:.3g}" for k, v in out.items()) + f"; J {j:.3f} ({time.perf_counter() - t0:.0f} s)",
              flush=True)
        if j < best_j:
            best, best_j = dict(zip(names, point)), j
    print(f"  [{label}] best {best} (J {best_j:.3f})", flush=True)
    return best


def check(values):
    """Every behaviour target with the fitted values (its own cohort, seed and definitions)."""
    from opiaxis.validate.registry import REGISTRY, _load_all
    _load_all()
    import opiaxis.validate.targets_behaviour as tb
    tb._XB.clear()
    with parameters(values):
        for tid in ("ot.craving", "ot.intranasal.single", "relapse.detox", "xbot.induction", "xbot.relapse24w",
                    "mmt.retention", "mortality.ost", "pain.cncp.oud"):
            value, ok, detail = REGISTRY[tid].run()
            print(f"  {tid}: {'PASS' if ok else 'MISS'} {value}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--block", choices=["all", "mmt", "cncp", "xbot", "check"], default="all")
    ap.add_argument("--fixed", nargs="*", default=[], help="name=value for blocks fitted earlier")
    ap.add_argument("--grid", nargs="*", default=[], help="name=v1,v2 replaces a grid (e.g. to split a grid "
                    "over processes)")
    a = ap.parse_args()
    for g in a.grid:
        k, v = g.split("=")
        GRIDS[k] = [float(x) for x in v.split(",")]
    fitted = {k: float(v) for k, v in (s.split("=") for s in a.fixed)}
    if a.block in ("all", "mmt"):
        print("block 1: MMT trial (Mattick 2009) — heroin-use RR and retention RR", flush=True)
        fitted.update(grid_fit("mmt", sim_mmt, fitted,
                               {k: GRIDS[k] for k in ("craving_satiety_agonism", "dropout_medication_factor")},
                               ["heroin_use_rr", "retention_rr"]))
    if a.block in ("all", "cncp"):
        print("block 2: chronic-pain cohort (Vowles 2015) — misuse", flush=True)
        fitted.update(grid_fit("cncp", sim_cncp, fitted, {"cncp_extra_dose_rate": GRIDS["cncp_extra_dose_rate"]},
                               ["cncp_misuse"]))
    if a.block in ("all", "xbot"):
        print("block 3: X:BOT (Lee 2018) — XR-NTX 24-week relapse", flush=True)
        fitted.update(grid_fit("xbot", sim_xbot, fitted, {"xrntx_attendance": GRIDS["xrntx_attendance"]},
                               ["xrntx_relapse"]))
    print("fitted values:", flush=True)
    for k, v in fitted.items():
        print(f"  {k} = {v:g}", flush=True)
    if a.block in ("all", "check"):
        print("check: all behaviour targets with the fitted values", flush=True)
        check(fitted)


if __name__ == "__main__":
    main()
