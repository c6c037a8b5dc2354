"""Behaviour layer: module composition, units, reproducibility independent of batch size/order."""

import numpy as np
import pytest

from opiaxis.behaviour import CohortSim, Evaluator, PARAMS, behaviour_model, make_cohort, runs
from opiaxis.model.units import parse_unit


def test_modules_compose_and_run_alone():
    from opiaxis.model.core import compose
    from opiaxis.physiology import oxytocin, reward
    m = compose([reward.build(), oxytocin.build()])
    assert "craving" in m.assignment_index and "oxytocin_tone" in m.assignment_index
    for p in m.parameters:
        assert p.source and parse_unit(p.unit) is not None


def test_resting_patient_no_craving():
    m = behaviour_model()
    c = make_cohort([1, 2], 3, covariates={"chronic_pain": {"p": 0.0}})
    ev = Evaluator(m)
    cr = ev("craving", c.X, c.P)
    assert np.all(cr < 0.1)
    assert np.allclose(ev("dopamine_tone", c.X, c.P), 1.0)


def _paths(ids, seed=5, days=3):
    c = make_cohort(ids, seed, covariates={"fentanyl_supply": {"p": 0.5}})
    # a crude dependent state without the run-in: start with heroin in the body and tolerance
    m = c.model
    c.X[:, m.state_index["mor_counteradaptation"]] = 0.75
    c.X[:, m.state_index["cue_association"]] = 0.9
    rec = CohortSim(c, ["none"] * len(ids), days).run()
    return {int(pid): (rec.uses[k].copy(), rec.od[k].copy()) for k, pid in enumerate(c.ids)}


def test_reproducible_independent_of_batch():
    full = _paths(np.arange(1, 9))
    part = _paths(np.array([7, 3, 5]))
    for pid, (u, o) in part.items():
        assert np.array_equal(u, full[pid][0]) and np.array_equal(o, full[pid][1])
    assert sum(u.sum() for u, _ in full.values()) > 0


def test_runs_helper():
    f = np.array([[0, 1, 1, 1, 0], [1, 0, 1, 0, 1]], bool)
    assert list(runs(f, 3)) == [1, -1]


def test_overdose_hazard_on_hypoxaemia_and_ratio():
    """The overdose hazard reads hypoxaemia over time (design memo C): zero at or above the FDA
    'dangerous' PaO2 (30 mmHg, Mann 2022), rising as PaO2 falls below it; an exposure's P(overdose)
    is 1 − exp(−∫h dt) over its window, so a longer hypoxaemia costs more. The fatal share of
    overdoses gives a non-fatal:fatal ratio of 20–30:1 (Darke 2003)."""
    from opiaxis.behaviour.engine import hypoxaemia_hazard, od_probability
    h0, m, thr = (PARAMS[n].value for n in ("od_hazard_ref", "od_hypoxaemia_exponent", "od_pao2_threshold"))
    assert thr == 30.0
    h = hypoxaemia_hazard(np.array([95.0, 40.0, 30.0, 25.0, 15.0, 5.0]), h0, m, thr)
    assert np.all(h[:3] == 0) and np.all(np.diff(h[2:]) > 0)
    t = np.linspace(0.0, 6.0, 25)
    assert od_probability(t, np.full_like(t, 31.0), 0.0, 6.0, h0, m, thr) == 0.0
    p1 = od_probability(t, np.full_like(t, 20.0), 0.0, 1.0, h0, m, thr)
    p3 = od_probability(t, np.full_like(t, 20.0), 0.0, 3.0, h0, m, thr)
    assert p1 == pytest.approx(1 - np.exp(-hypoxaemia_hazard(20.0, h0, m, thr)), rel=1e-9) and p3 > p1
    v = {n: PARAMS[n].value for n in ("od_witnessed", "naloxone_access", "ems_rescue", "od_fatal_unrescued")}
    rescue = v["od_witnessed"] * (v["naloxone_access"] + (1 - v["naloxone_access"]) * v["ems_rescue"])
    fatal = (1 - rescue) * v["od_fatal_unrescued"]
    assert 20 <= (1 - fatal) / fatal <= 30


# targets reproduced by the behaviour layer (issue 6); each simulates its study (~10–25 s each)
# Left out since the joint re-fit of craving_satiety_agonism (opiaxis calibrate behaviour.mmt), both reported
# as missed on the scorecard: pain.cncp.oud (misuse fitted, addiction 2.0% below 3–17%) and relapse.detox
# (relapse 99% above 80–97%; a lower use_rate_max restores it but breaks mmt.retention's retention RR).
# mmt.retention was left out in issue 14b (retention RR 3.20 at trial size, n=120; 3.16 and heroin-use RR 0.545
# in expectation, n=600; bands 3.26-6.04 and 0.56-0.78). Back since dropout_use_beta took its cited value
# (ln 6.25, Nunes et al. 2020; it was 1.5): 4.49 / 0.68 at trial size, 5.10 / 0.58 in expectation (n=600).
# Left out again since issue 17 seeded each trial's cohort by name: the new draw gives heroin-use RR 0.48
# (retention RR 5.66); `opiaxis validate --replicates 5 -t mmt.retention` reproduced it in 1 of 5 draws at
# n=120 (in expectation, n=600: 5.01 / 0.586, just inside). Reported as missed on the scorecard.
# Issue 14 (relapse, escalation, MMT in expectation) brought back three: mmt.retention after behaviour.mmt was
# re-fitted in the trial's expectation (n = 600: craving_satiety_agonism 0.5 -> 0.6; RRs 4.70 / 0.667 at
# trial size), relapse.detox with the abstinence commitment and violation effect (relapse 88%, week 1 47% at
# n=100; 91.6% / 57.8% in expectation, n=500) and pain.cncp.oud with the escalation loop (misuse 26%, addiction
# 4.7%, not fitted; 26.4% / 5.1% in expectation). Re-draws (`opiaxis validate --replicates 3`): relapse.detox
# 3 of 3 (week 1 53, 70, 52%); pain.cncp.oud 2 of 3 (addiction 2.0% in one); mmt.retention 2 of 3
# (retention RR 7.6 in one).
# mmt.retention left out again in the seventh session: after 6-MAM's central potency correction (heroin
# was ~10x its clinical potency) the default draw (n=120) reads retention RR 6.45 above 6.04; re-draws 8.07,
# 5.60, 3.44; in expectation (n=600) 4.19 / 0.667, inside both bands. Reported as missed on the scorecard.
REPRODUCED = ["ot.intranasal.single", "xbot.induction", "xbot.relapse24w", "relapse.detox", "pain.cncp.oud"]
# reproduced without a parameter fitted to them (their calibration note is empty). taper.bup.duration since
# issue 14's re-entry into buprenorphine treatment after the taper (Ling 2009's referral to other local
# treatment): 1-month follow-up 5.6% -> 13.0% (band 10-26), taper ends unchanged (~3 min).
# PREDICTED: taper.bup.duration (parametrised below; a strict xfail in the tenth session, reproduced again since the eleventh)


@pytest.mark.scorecard
@pytest.mark.parametrize("tid", REPRODUCED)
def test_behaviour_target_reproduced(tid):
    from opiaxis.validate.registry import REGISTRY, _load_all
    _load_all()
    value, ok, detail = REGISTRY[tid].run()
    assert ok, (tid, value, detail)
    assert REGISTRY[tid].calibration


@pytest.mark.parametrize("tid", ["taper.bup.duration"])
def test_behaviour_target_predicted(tid):
    """taper.bup.duration was a strict xfail in the tenth session (default draw 9.9%, one patient short
    of the band; 3 of 3 re-draws reproduced); on the eleventh session's model (oxytocin's couplings to
    withdrawal, among others) the default draw gives 11.2% (docs/validation.md)."""
    from opiaxis.validate.registry import REGISTRY, _load_all
    _load_all()
    value, ok, detail = REGISTRY[tid].run()
    assert ok, (tid, value, detail)
    assert not REGISTRY[tid].calibration


def _blockade_cohort(n, xr_mg, days, alpha=None, seed=11):
    """Craving users in the community (no treatment policy, deaths not drawn, no rescue naloxone —
    so that only the depot occupies receptors), with or without an XR-naltrexone depot placed at
    time 0, with the default extinction rate or ``alpha``. A high use hazard makes the mechanism
    visible within weeks; it is a test of the mechanism, not of a calibrated rate."""
    beh = {"use_rate_max": 2.0, "naloxone_access": 0.0, "ems_rescue": 0.0}
    if alpha is not None:
        beh["use_extinction_rate"] = alpha
    c = make_cohort(np.arange(1, n + 1), seed, covariates={"fentanyl_supply": {"p": 0.0}}, behaviour=beh)
    m = c.model
    c.X[:, m.state_index["cue_association"]] = 0.9        # strong learnt cue reactivity
    c.X[:, m.state_index["reward_setpoint_state"]] = 0.4   # allostatic reward deficit: craving ~0.5
    c.X[:, m.state_index["naltrexone_depot_xr_im"]] = xr_mg
    return CohortSim(c, ["none"] * n, days, dt=24.0, immortal=True).run()


def test_use_under_blockade_extinguishes():
    """Extinction (Martin et al. 1973; Mello et al. 1981): use under an XR-naltrexone depot is not
    reinforced, so the learnt expectancy — and with it the use hazard — falls. Counterfactual on the
    same patients and random streams: the same depot without extinction (α = 0) leaves the
    expectancy at 1 and more use; reinforced use (no depot) does not extinguish."""
    n = 12
    blocked = _blockade_cohort(n, 380.0, 21)
    no_learning = _blockade_cohort(n, 380.0, 21, alpha=0.0)
    used = blocked.uses.sum(axis=1) > 0
    assert used.sum() >= n // 2                      # users do try under blockade
    assert np.all(blocked.expectancy[used, -1] < 1.0)
    assert blocked.expectancy[used, -1].mean() < 0.7
    assert np.allclose(no_learning.expectancy, 1.0)
    assert blocked.uses.sum() < 0.8 * no_learning.uses.sum()
    free = _blockade_cohort(n, 0.0, 14)
    assert free.uses.sum() > 0
    assert np.allclose(free.expectancy, 1.0)         # reinforced use does not extinguish


def test_expectancy_recovers_without_use():
    """Spontaneous recovery: an extinguished expectancy relaxes back towards 1 (t½ from params)."""
    c = make_cohort([1], 2)
    sim = CohortSim(c, ["none"], 1, dt=24.0)
    sim.expectancy[:] = 0.2
    sim.c.B["use_rate_max"][:] = 0.0               # no use: pure recovery
    sim.run()
    k = PARAMS["use_expectancy_recovery_rate"].value
    assert np.isclose(sim.expectancy[0], 1 - 0.8 * np.exp(-k * 24.0))


def test_behaviour_parameters_in_model_description():
    """`opiaxis model --markdown` lists every behaviour parameter, as a parameter of the model's
    module `behaviour`, with its unit, variability and source."""
    from opiaxis.describe import describe_markdown
    text = describe_markdown(behaviour_model())
    section = text[text.index("## Module `behaviour`"):]
    for p in PARAMS.values():
        row = next(line for line in section.splitlines() if line.startswith(f"| `{p.name}` |"))
        assert f"| {p.unit} |" in row and p.source[:40].replace("|", "\\|") in row
        assert (f"CV {p.cv:.0%}" in row) if p.cv else "| — |" in row


def test_xbot_follows_patients_after_relapse_without_changing_the_end_point():
    """X:BOT's helper keeps simulating after relapse, so later outcomes can be read; the end point
    (relapse in weeks 3–24, failed induction = relapse at day 21) is the same event for every
    patient. A relapse time can only move earlier: a 4-week run that began before the 7-day run
    which stopped the old simulation is now seen to its end."""
    from opiaxis.behaviour.trials import xbot
    followed, stopped = xbot(40, seed=3), xbot(40, seed=3, follow_after_relapse=False)
    a, b = followed["frame"], stopped["frame"]
    assert (a["E"] == b["E"]).all() and (a["T"] <= b["T"]).all()
    relapsed_early = (b["E"] == 1) & (b["T"] < 120)
    assert relapsed_early.any()
    # followed patients are recorded to the last day; the old helper stopped at relapse detection
    rows = np.nonzero(relapsed_early.to_numpy())[0]
    alive = followed["record"].dead_day[rows] < 0
    assert np.all(followed["record"].craving[rows[alive], -1] > 0)
    assert np.all(stopped["record"].craving[rows, -1] == 0)
    ev = followed["events"]
    assert {"use", "induction", "dose"} <= set(ev["event"])
