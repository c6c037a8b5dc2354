"""Behaviour layer, issue 14: forced abstinence and release, dosing from remembered tolerance,
solver failures reported rather than re-simulated, tapers and post-release targets registered."""

import numpy as np
import pytest

from opiaxis.behaviour import CohortSim, Evaluator
from opiaxis.behaviour.trials import oud_cohort, post_release


def test_forced_abstinence_no_use_then_release_and_tolerance_lost():
    """No access during forced abstinence (prison, hospital): no use; tolerance (the adaptation
    module's) falls; release is an event on the day it ends; methadone started at release."""
    n = 6
    c = oud_cohort(n, 31)
    ev = Evaluator(c.model)
    tol0 = ev("tolerance_level", c.X, c.P)
    sim = CohortSim(c, ["none"] * 3 + ["methadone"] * 3, 14, immortal=True, abstinent_days=10)
    rec = sim.run()
    assert rec.uses[:, :10].sum() == 0 and rec.on_med[:, :10].sum() == 0
    assert np.all(rec.release_day == 10)
    assert rec.on_med[3:, 10:].any(axis=1).all()          # methadone starts at release
    e = sim.event_table()
    assert (e.event == "release").sum() == n and not (e.event == "solver_failure").any()
    first = e[(e.event == "use")].groupby("patient").first()
    assert np.all(first["tolerance"].to_numpy() < 0.5 * tol0.min())


def test_users_dose_from_remembered_tolerance():
    """Counterfactual on the same patients and random streams: users who judge their remaining
    tolerance partly from memory (tolerance_insight 0.5, default) take a larger first dose after
    forced abstinence than users who know it exactly (insight 1, the previous build), so its
    ventilation nadir is deeper and its P(overdose) higher (a dose at the floor in both is equal). Every patient's first use happens at the
    same time in both (the use draws do not depend on the dose)."""
    kw = dict(n=10, abstinent_days=30, follow_days=5, seed=4)
    a = post_release(**kw)["events"]
    b = post_release(**kw, behaviour={"tolerance_insight": 1.0})["events"]
    fa = a[a.event == "use"].groupby("patient").first()
    fb = b[b.event == "use"].groupby("patient").first()
    assert len(fa) >= 5 and np.allclose(fa["time_h"], fb["time_h"])
    # at least as large for every patient (both can sit at the dose floor since users dose to effect,
    # ninth session), larger for most and on average
    assert np.all(fa["amount_mg"] >= fb["amount_mg"] - 1e-9)
    assert (fa["amount_mg"] > fb["amount_mg"] + 1e-9).mean() >= 0.5 and fa["amount_mg"].mean() > fb["amount_mg"].mean()
    assert np.all(fa["ventilation_nadir"] <= fb["ventilation_nadir"] + 1e-9)
    assert fa["p_overdose"].mean() > fb["p_overdose"].mean()
    assert not (a.event == "solver_failure").any()   # re-dosing after weeks of abstinence integrates


def test_solver_failure_reported_and_not_resimulated(monkeypatch):
    """A patient whose ODE step fails is reported (event, Record.solver_failed), leaves the
    simulation and is never simulated again; the others go on."""
    import opiaxis.behaviour.engine as eng
    real = eng.simulate
    calls = {"n": 0, "ids": []}

    def flaky(model, P, times, doses, ids=None, **kw):
        r = real(model, P, times, doses, ids=ids, **kw)
        calls["n"] += 1
        calls["ids"].append(set(np.asarray(ids).tolist()))
        if calls["n"] == 3 and 2 in set(np.asarray(ids).tolist()):
            k = list(ids).index(2)
            r.states[k, 1:, :] = np.nan
            r.stats[k, 2] = 2
        return r

    monkeypatch.setattr(eng, "simulate", flaky)
    c = oud_cohort(4, 7)
    sim = CohortSim(c, ["none"] * 4, 2, immortal=True)
    rec = sim.run()
    assert rec.solver_failed.tolist() == [False, True, False, False]
    e = sim.event_table()
    assert (e.event == "solver_failure").sum() == 1
    assert all(2 not in s for s in calls["ids"][3:])
    assert np.isfinite(c.X).all()


def test_trial_file_forced_abstinence(tmp_path):
    from opiaxis.behaviour.trialfile import load_trial
    from opiaxis.errors import OpiaxisInputError
    spec = load_trial("examples/prison_release.yaml")
    assert [a.forced_abstinence_days for a in spec.arms] == [0, 60, 60, 60]
    p = tmp_path / "bad.yaml"
    p.write_text("kind: behaviour-trial\nname: x\nseed: 1\ndays: 30\npopulation: {size: 4}\narms:\n"
                 "  - {name: a, treatment: bupnx, inpatient_days: 4, forced_abstinence_days: 10}\n")
    with pytest.raises(OpiaxisInputError, match="forced_abstinence_days"):
        load_trial(p)


def test_new_targets_registered_independent():
    from opiaxis.validate.registry import REGISTRY, _load_all
    _load_all()
    for tid in ("od.post.release", "taper.bup.duration"):
        assert tid in REGISTRY and REGISTRY[tid].calibration == ""


def test_outpatient_buprenorphine_induction_and_early_attrition():
    """Buprenorphine-naloxone without an inpatient stay: induction at home at the first daily dose
    time once bup_induction_wait h have passed since the last use; before it the patient has no
    medication and the craving/use dropout hazard applies (early attrition, induction_failed)."""
    n = 30
    c = oud_cohort(n, 20240606 + 5)
    sim = CohortSim(c, ["bupnx"] * n, 21)
    rec = sim.run()
    e = sim.event_table()
    ind = e[e.event == "induction"]
    assert len(ind) >= n // 2
    for pid, t in zip(ind.patient, ind.time_h):      # no use within the wait before the first dose
        uses = e[(e.patient == pid) & (e.event == "use") & (e.time_h < t)]
        assert uses.empty or t - uses.time_h.max() >= 16.0 - 1e-9   # bup_induction_wait (no spread)
    assert np.all(sim.inducted[sim.ind_failed] < 0)   # failures are dropouts before the first dose
    assert set(e.loc[e.event == "induction_failed", "patient"]) == set(c.ids[sim.ind_failed])
    assert rec.on_med[sim.inducted >= 0].any(axis=1).all()


def test_same_dose_riskier_after_abstinence():
    """The mechanism of the post-release peak at a fixed dose: heroin 25 mg IV after 4 weeks of
    4×/day use, given at the next habitual time or after 30 days of abstinence. In abstinence the
    breathing tolerance (respiration module) is lost — its fast phase within days, its slow phase
    (t½ 13 d, Cox 1975) over weeks, so 30 days leave a little of it — and the modelled ventilation nadir
    and PaO2 are deeper and P(overdose) of the use (hypoxaemia hazard over 6 h) higher. (A 60-day gap is
    not simulated here: one typical_patient run at the default tolerances fails its step-size control at
    the first dose after ≥ 45 days, on main too; the behaviour engine's interval runs do not.)"""
    from opiaxis.behaviour.engine import behaviour_model, od_probability
    from opiaxis.behaviour.params import PARAMS
    from opiaxis.validate.targets_adaptation import HEROIN, HEROIN_LAST
    from opiaxis.validate.targets_pk import typical_patient
    m = behaviour_model()
    hz = [PARAMS[n].value for n in ("od_hazard_ref", "od_hypoxaemia_exponent", "od_pao2_threshold")]
    out = {}
    for gap in (6.0, 30 * 24.0):
        t_use = HEROIN_LAST + gap
        tt = t_use + np.arange(0.0, 6.0 + 1e-9, 1 / 30)
        r = typical_patient([HEROIN, f"heroin 25 mg IV once at {t_use:g} h"], np.concatenate([[0.0, t_use - 1.0], tt]),
                            model=m)
        v, pao2 = r.get("ventilation_rel")[0][2:], r.get("pao2")[0][2:]
        out[gap] = (v.min(), r.get("resp_tolerance_fold")[0][1], pao2.min(),
                    od_probability(tt, pao2, t_use, t_use + 6.0, *hz))
    (v_now, fold_now, o_now, p_now), (v_abst, fold_abst, o_abst, p_abst) = out[6.0], out[30 * 24.0]
    assert fold_abst < 1.5 < 2.0 < fold_now and fold_abst - 1 < 0.1 * (fold_now - 1)
    assert v_abst < 0.7 * v_now and o_abst < o_now
    assert p_abst > 3 * p_now and p_abst > 0


def test_reentry_into_buprenorphine_after_taper():
    """With re-entry (Ling 2009: after the taper, referral to other treatment), a patient whose
    buprenorphine taper has ended can re-enter it — medication resumes — and never without re-entry.
    A high re-entry hazard (assumed here, ~1/day) makes the mechanism visible within days."""
    from dataclasses import replace

    from opiaxis.behaviour.treatments import Taper, default_treatments
    n = 6
    base = default_treatments()["bupnx"]
    short = replace(base, medication=replace(base.medication, taper=Taper(4, (), 2.0, 1.0)))
    out = {}
    for reentry in (False, True):
        c = oud_cohort(n, 31, behaviour={"reentry_rate": 1.0 / 24})
        sim = CohortSim(c, [short] * n, 14, reentry=reentry)
        rec = sim.run()
        e = sim.event_table()
        done = np.nonzero(rec.completed_day >= 0)[0]
        assert done.size
        back = 0
        for i in done:
            later = e[(e.patient == c.ids[i]) & (e.day > rec.completed_day[i])]
            dosed = rec.on_med[i, rec.completed_day[i] + 1:].any()
            assert dosed == ("dose" in set(later.event))
            assert not dosed or "reentry" in set(later.event)   # no medication after a taper without re-entry
            back += dosed
        out[reentry] = back
    assert out[False] == 0 and out[True] > 0, out


def test_post_release_reports_merralls_contrasts():
    """post_release reports, besides the scored weeks 1–2 / 5–12 ratio, Merrall et al. 2010's two other
    pooled contrasts (weeks 1–2 / 3–12 and weeks 3–4 / 5–12), each the ratio of expected overdose deaths
    per person-day at risk over its own days after release (checked against the record)."""
    d0 = 20
    # a high overdose hazard (typical h0 ×40) and sedatives every day, so that a few patients give expected
    # overdose deaths in every period
    r = post_release(n=6, abstinent_days=d0, follow_days=84, seed=5, behaviour={
        "od_hazard_ref": 20.0, "sedative_couse_prevalence": 1.0, "sedative_day_fraction": 1.0})
    rec = r["record"]
    at_risk = np.concatenate([np.ones((6, 1)), rec.surv[:, :-1]], axis=1)

    def rate(a, b):
        return rec.exp_od_death[:, d0 + a:d0 + b].sum() / at_risk[:, d0 + a:d0 + b].sum()
    assert r["ratio"] == pytest.approx(rate(0, 14) / rate(28, 84))
    assert r["ratio_w1_2_vs_3_12"] == pytest.approx(rate(0, 14) / rate(14, 84))
    assert r["ratio_w3_4_vs_5_12"] == pytest.approx(rate(14, 28) / rate(28, 84))
    assert r["ratio_w1_2_vs_3_12"] != pytest.approx(r["ratio"])   # different denominators
