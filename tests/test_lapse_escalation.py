"""Issue 14's behaviour mechanisms: the abstinence commitment after detoxification, lost at the
first use (abstinence violation), and the escalation loop of extra doses of a prescribed opioid.
Counterfactuals on the same patients and random streams (a test of each mechanism, not of a
calibrated rate)."""

import numpy as np

from opiaxis.behaviour import CohortSim, PARAMS, make_cohort

CNCP_COV = {"chronic_pain": {"p": 1.0}, "fentanyl_supply": {"p": 0.0}}


def _craving_cohort(n, seed, behaviour):
    """Patients with a learnt cue reactivity and an allostatic reward deficit (craving ~0.5) and a
    high use hazard, so that uses happen within days."""
    c = make_cohort(np.arange(1, n + 1), seed, covariates={"fentanyl_supply": {"p": 0.0}},
                    behaviour={"naloxone_access": 0.0, "ems_rescue": 0.0, **behaviour})
    m = c.model
    c.X[:, m.state_index["cue_association"]] = 0.9
    c.X[:, m.state_index["reward_setpoint_state"]] = 0.4
    return c


def _detox(n, commitment):
    c = _craving_cohort(n, 5, {"use_rate_max": 0.3, "abstinence_commitment": commitment})
    sim = CohortSim(c, ["detox"] * n, 6, dt=24.0, immortal=True, inpatient_days=1)
    sim.run()
    return sim


def test_commitment_after_detox_holds_until_the_first_use():
    """Discharged from detoxification, a patient holds the commitment until their first use; the
    first use ends it (abstinence violation) and the hazard is the dependent user's again."""
    n = 12
    committed, none = _detox(n, PARAMS["abstinence_commitment"].value), _detox(n, 0.0)
    after = committed.rec.uses[:, 1:].sum(axis=1) > 0
    assert after.any() and (~after).any()
    assert np.all(committed.commitment[after] == 0.0)
    assert np.all(committed.commitment[~after] > 0.0)
    assert np.allclose(committed.commitment[~after], committed.c.B["abstinence_commitment"][~after])
    # the same patients use less after discharge with the commitment than without it
    assert committed.rec.uses[:, 1:].sum() < none.rec.uses[:, 1:].sum()
    first = lambda rec: np.array([np.argmax(u > 0) if (u > 0).any() else 99 for u in rec.uses[:, 1:]])
    assert np.mean(first(committed.rec)) > np.mean(first(none.rec))


def test_no_commitment_without_detoxification():
    """Only a detoxification discharge carries the commitment (not community use)."""
    c = _craving_cohort(4, 5, {"use_rate_max": 0.3})
    sim = CohortSim(c, ["none"] * 4, 2, dt=24.0, immortal=True)
    sim.run()
    assert np.all(sim.commitment == 0.0)


def _cncp(n, gain, days=60, rate=0.01):
    c = make_cohort(np.arange(1, n + 1), 9, covariates=CNCP_COV,
                    behaviour={"cncp_extra_dose_rate": rate, "misuse_escalation_gain": gain})
    sim = CohortSim(c, ["cncp"] * n, days, dt=24.0, immortal=True)
    sim.run()
    return sim


def test_extra_doses_escalate_misuse():
    """Each extra dose of the prescribed opioid raises the escalation state (0…1), which raises the
    hazard of the next: with the loop (gain > 0) the same patients take more extra doses than
    without it (gain 0), and those who take most escalate most."""
    n = 12
    loop, flat = _cncp(n, PARAMS["misuse_escalation_gain"].value), _cncp(n, 0.0)
    extra = loop.rec.extra.sum(axis=1)
    assert extra.sum() > flat.rec.extra.sum()
    assert np.all((loop.escalation >= 0) & (loop.escalation <= 1))
    assert np.all(loop.escalation[extra == 0] == 0.0)
    assert np.all(loop.escalation[extra > 0] > 0.0)
    assert np.all(loop.rec.uses == loop.rec.extra)   # a chronic-pain patient's uses are extra doses


def test_escalation_fades_without_extra_doses():
    """Without extra doses the escalation state decays with misuse_escalation_decay."""
    c = make_cohort([1], 9, covariates=CNCP_COV, behaviour={"cncp_extra_dose_rate": 0.0})
    sim = CohortSim(c, ["cncp"], 1, dt=24.0, immortal=True)
    sim.escalation[:] = 0.5
    sim.run()
    k = PARAMS["misuse_escalation_decay"].value
    assert np.isclose(sim.escalation[0], 0.5 * np.exp(-k * 24.0))
