"""Where the solver's steps go after a dose (issue 18): a step-by-step replica of the kernel.

The replica runs the kernel's RODAS4 (same coefficients, error norm and controller) in Python on
the model's own compiled right-hand side and analytic Jacobian (dense LU instead of the sparse
plan), over one dosing interval, and records every step: its size, whether it was rejected,
and each state's share of the error norm. Its accepted-step count is checked against the
kernel's over the same interval (printed side by side).

    python benchmarks/profile_steps.py                 # an IV heroin dose and a SL buprenorphine dose
    python benchmarks/profile_steps.py --rtol 1e-5

Variants (``--variant``) try the levers of issue 18 on the same intervals without recompiling
the kernel: ``pi`` (Gustafsson's predictive controller), ``hw`` (no growth on the step after a
rejection), ``pihw`` (both), ``carry`` (the step size kept across the dose instead of the
initial-step heuristic). ``replica(..., ignore=...)`` leaves states out of the error norm (what
they cost), ``replica(..., floor=...)`` measures states on at least a given magnitude. Results:
docs/benchmarks.md, "Steps per dose".
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import pandas as pd
from scipy.linalg import lu_factor, lu_solve

# RODAS4's coefficients: the JAX backend's table, which tests/test_jax_backend.py checks against the
# compiled kernel's own (jax itself is optional there)
from opiaxis.engine.jax_backend import GAMMA, A, C, M  # noqa: E402


def initial_h(x, f0, rtol, atol, span, floor=None):
    """The kernel's initial-step heuristic after an event (Hairer's d0/d1 estimate, capped), with the
    states' error floors (``floor``) as in the kernel's norm."""
    sc = atol + rtol * np.maximum(np.abs(x), 0.0 if floor is None else floor)
    d0 = math.sqrt(np.mean((x / sc) ** 2))
    d1 = math.sqrt(np.mean((f0 / sc) ** 2))
    h = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    return max(min(h, 0.1 * span), 1e-10)


def replica(mod, p, x, t, t_end, rtol, atol, *, controller="i", h0=None, ignore=(), floor=None):
    """Integrate x from t to t_end like the kernel; returns a list of step records. ``ignore``:
    state indices left out of the error norm (a what-if: the steps those states cost); ``floor``: the
    states' error floors (the kernel's: ``model.error_floors()``; None: none)."""
    n = len(x)
    r = np.zeros(n)
    f0 = np.empty(n)
    mod.rhs(x, p, r, f0)
    h = initial_h(x, f0, rtol, atol, t_end - t, floor) if h0 is None else h0
    jv = np.empty(len(mod.JAC_ROW))
    K = np.empty((6, n))
    k1 = np.empty(n)
    recs = []
    err_old, h_old = None, None
    rejected_last = False
    while t < t_end:
        last = t + h >= t_end or t_end - (t + h) < 1e-9 * max(1.0, abs(t_end))
        if last:
            h = t_end - t
        mod.jac(x, p, jv)
        W = np.eye(n) / (h * GAMMA)
        np.subtract.at(W, (mod.JAC_ROW, mod.JAC_COL), jv)
        lu = lu_factor(W)
        for st in range(6):
            if st == 0:
                k1[:] = f0
            else:
                mod.rhs(x + A[st, :st] @ K[:st], p, r, k1)
                k1 += (C[st, :st] / h) @ K[:st]
            K[st] = lu_solve(lu, k1)
        xn = x + M @ K
        sc = atol + rtol * np.maximum(np.maximum(np.abs(x), np.abs(xn)), 0.0 if floor is None else floor)
        e2 = (K[5] / sc) ** 2
        e2[list(ignore)] = 0.0
        err = math.sqrt(e2.mean())
        rec = {"t": t, "h": h, "err": err, "accepted": err <= 1.0, "top": int(np.argmax(e2)),
               "share": e2 / max(e2.sum(), 1e-300)}
        recs.append(rec)
        if not err <= 1.0:
            fac = 0.9 * err ** -0.25 if err == err else 0.1
            h *= max(0.1, min(0.9, fac))
            rejected_last = True
            continue
        mod.rhs(xn, p, r, f0)
        x = xn
        t = t_end if last else t + h
        fac = 0.9 * err ** -0.25 if err > 0.0 else 6.0
        if controller.startswith("pi") and err_old is not None and err > 0.0:
            # Gustafsson's predictive controller (Hairer & Wanner II, IV.8, eq. 8.21)
            fac = min(fac, 0.9 * (h / h_old) * err ** -0.25 * (err_old / err) ** 0.25)
        # "hw": no growth on the step after a rejection (Hairer & Wanner I, II.4; II, IV.8)
        rec["growth"] = max(0.2, min(1.0 if ("hw" in controller and rejected_last) else 6.0, fac))
        rejected_last = False
        err_old, h_old = max(err, 1e-4), h
        h *= rec["growth"]
    return recs, x, h


def summarise(recs, names, label, kernel_steps=None):
    acc = [r for r in recs if r["accepted"]]
    rej = len(recs) - len(acc)
    t0 = recs[0]["t"]
    ramp = 0
    for r in acc:
        if r.get("growth", 0.0) < 6.0:
            break
        ramp += 1
    share = np.mean([r["share"] for r in acc], axis=0)
    order = np.argsort(share)[::-1][:6]
    top = pd.Series([names[r["top"]] for r in acc]).value_counts()
    reach = {lab: sum(1 for r in acc if r["t"] - t0 < dt) for lab, dt in
             (("36 s", 0.01), ("6 min", 0.1), ("1 h", 1.0), ("6 h", 6.0))}
    print(f"{label}: {len(acc)} accepted steps (kernel: {kernel_steps}), {rej} rejected, "
          f"{ramp} steps at the growth cap (x6) after the dose; steps before {reach}")
    print("   mean share of the error norm: " + ", ".join(f"{names[i]} {share[i]:.0%}" for i in order))
    print("   largest term in the norm (steps): " + ", ".join(f"{k} {v}" for k, v in top.head(6).items()))
    return {"accepted": len(acc), "rejected": rej, "ramp": ramp, "kernel": kernel_steps, "reach": reach,
            "share": {names[i]: float(share[i]) for i in order}, "top": top.head(6).to_dict()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--atol-ratio", type=float, default=1e-3)
    ap.add_argument("--patient", type=int, default=1)
    ap.add_argument("--variant", nargs="*", default=["i", "pi", "carry"])
    a = ap.parse_args()
    from opiaxis import dosing
    from opiaxis.dosing import drug_routes, iu_factors
    from opiaxis.engine.codegen import compile_model
    from opiaxis.engine.simulate import SolverOptions, simulate
    from opiaxis.models import default_model
    from opiaxis.population import sample_parameters

    model = default_model()
    mod = compile_model(model)
    rows = pd.concat([dosing.parse_regimen(t, drugs=drug_routes(model), unit_factors=iu_factors(model))
                      for t in ("heroin 25 mg IV q6h for 90 d", "buprenorphine 16 mg SL q24h for 275 d from day 91")],
                     ignore_index=True)
    doses = dosing.expand_doses(rows.assign(ID=a.patient)[list(dosing.EVENT_COLUMNS)])
    P = sample_parameters(model, [a.patient], 2026)
    opts = SolverOptions(rtol=a.rtol, atol=a.rtol * a.atol_ratio)
    names = model.state_names
    # an IV heroin dose on day 30 (6 h to the next) and a SL buprenorphine dose on day 200 (24 h)
    for label, t_dose, span in (("IV heroin 25 mg, day 30", 30 * 24.0, 6.0),
                                ("SL buprenorphine 16 mg, day 200", 200 * 24.0 + (doses.TIME % 24).iloc[-1], 24.0)):
        t_dose = float(doses.TIME[doses.TIME >= t_dose].iloc[0])
        before = simulate(model, P, [t_dose], doses[doses.TIME <= t_dose], ids=[a.patient], options=opts)
        x = before.states[0, 0].copy()                     # the state just after the dose
        kern = simulate(model, P, [t_dose + span], None, t0=t_dose, x0=x, options=opts)
        for v in a.variant:
            if v == "carry":  # keep the step size the solver had reached just before the dose
                xs = simulate(model, P, [t_dose - span], doses[doses.TIME < t_dose - span + 1e-9],
                              ids=[a.patient], options=opts).states[0, 0]
                _, _, h_before = replica(mod, P[0], xs, t_dose - span, t_dose, a.rtol, a.rtol * a.atol_ratio,
                                         floor=model.error_floors())
                recs, _, _ = replica(mod, P[0], x, t_dose, t_dose + span, a.rtol, a.rtol * a.atol_ratio,
                                     h0=min(h_before, 0.1 * span), floor=model.error_floors())
            else:
                recs, _, _ = replica(mod, P[0], x, t_dose, t_dose + span, a.rtol, a.rtol * a.atol_ratio,
                                     controller=v, floor=model.error_floors())
            summarise(recs, names, f"{label} [{v}]", int(kern.stats[0, 0]))


if __name__ == "__main__":
    main()
