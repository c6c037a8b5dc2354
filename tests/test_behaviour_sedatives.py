"""Sedative co-use as a patient trait (issue 14): a pharmacodynamic interaction on ventilation at
the opioid exposures, the agonist maintenance dose included (mortality.ost on treatment), on the days a
co-user has sedatives on board (eighth session: episodic, sedative_day_fraction)."""

import numpy as np
import pytest

from opiaxis.behaviour import CohortSim, PARAMS
from opiaxis.behaviour.engine import sedated_nadir, sedated_pao2, sedative_couser, sedative_on_board


def test_interaction_deepens_only_opioid_depression():
    k = PARAMS["sedative_potency_shift"].value
    v = np.array([1.0, 0.9, 0.68, 0.34])
    assert np.allclose(sedated_nadir(v, 0.0, k), v)               # non-users unchanged
    s = sedated_nadir(v, 1.0, k)
    assert s[0] == 1.0 and np.all(s[1:] < v[1:])                   # nothing without an opioid
    # van der Schrier 2017: oxycodone 0.72, with ethanol 1 g/l 0.72·0.81
    assert np.isclose(sedated_nadir(0.72, 1.0, k), 0.72 * 0.81, atol=0.01)
    assert np.all(np.diff(sedated_nadir(np.linspace(0.01, 1, 50), 1.0, k)) > 0)   # monotone in the opioid's nadir
    # PaO2 with sedatives: the deeper hypoventilation enlarges the alveolar O2 deficit (inspired minus
    # alveolar PO2) by V/V' at the same O2 uptake (alveolar ventilation equation) and lowers PaO2 by the
    # extra; nothing for a non-user or without opioid. In a steady state the deficit is PaCO2/RQ.
    vent, paco2 = np.array([1.0, 0.68, 0.34]), np.array([40.0, 55.0, 80.0])
    deficit = paco2 / 0.8
    pao2 = 149.0 - deficit - 10.0
    assert np.allclose(sedated_pao2(pao2, deficit, vent, 0.0, k), pao2)
    ps = sedated_pao2(pao2, deficit, vent, 1.0, k)
    assert ps[0] == pao2[0] and np.all(ps[1:] < pao2[1:])
    assert ps[1] == pytest.approx(pao2[1] - 55.0 * (0.68 / sedated_nadir(0.68, 1.0, k) - 1) / 0.8)


def test_buprenorphine_ceiling_holds_with_sedatives():
    """Buprenorphine's ceiling on respiratory depression survives the interaction: in opioid-naive
    co-users 32 and 128 mg SL barely differ and stay shallow, while methadone 60 mg goes deep."""
    from opiaxis.behaviour.engine import OPTIONS, Evaluator, _doses, make_cohort, simulate
    c = make_cohort([1, 2, 3], 5)
    ev, grid, k = Evaluator(c.model), np.linspace(0.25, 12, 48), PARAMS["sedative_potency_shift"].value

    def nadir(cmt, mg):
        rows = [(pid, 0.0, float(mg), cmt) for pid in c.ids]
        r = simulate(c.model, c.P, grid, _doses(rows), ids=c.ids, x0=c.X, t0=0.0, options=OPTIONS)
        return (sedated_nadir(ev("ventilation_rel", r.states, c.P).min(axis=1), 1.0, k),
                ev("resp_drive_depression", r.states, c.P).max(axis=1))

    (b32, e32), (b128, e128), (m60, em) = (nadir("buprenorphine.sl", 32), nadir("buprenorphine.sl", 128),
                                           nadir("methadone.oral", 60))
    # the ceiling: the drive depression E stays ≤ 0.5 (Dahan 2006's isohypercapnic ceiling, buprenorphine's τ =
    # σ50) whatever the dose, i.e. spontaneous ventilation ≥ 0.5^(1/(F+1)) ≈ 0.88 at steady state, ~0.8 with the
    # sedative's shift; methadone has no ceiling
    assert np.all(e128 <= 0.5) and np.all(e32 <= 0.5) and np.all(em > 0.8)
    assert np.all(b128 > 0.7) and np.all(b32 > 0.7)
    assert np.all(m60 < 0.6) and np.all(m60 < b32 - 0.2)


def test_trait_prevalence_fixed_by_patient_and_nested():
    ids = np.arange(1, 4001)
    lo, hi = sedative_couser(ids, 3, 0.2), sedative_couser(ids, 3, PARAMS["sedative_couse_prevalence"].value)
    assert abs(hi.mean() - PARAMS["sedative_couse_prevalence"].value) < 0.03
    assert np.all(hi >= lo)                                         # more prevalence only adds co-users
    assert np.array_equal(sedative_couser(ids[::-1], 3, 0.45), hi[::-1])   # independent of batch order
    assert not np.array_equal(sedative_couser(ids, 4, 0.45), hi)


def test_setting_the_prevalence_on_a_built_cohort_redraws_the_trait():
    """A behaviour override applied to a built cohort (trials.post_release's ``behaviour``, a trial
    file's behaviour block) reaches the co-use trait drawn from the prevalence, as the same override
    given when the cohort is made does (it was silently ignored before: the trait stayed as drawn)."""
    from opiaxis.behaviour.engine import make_cohort
    ids = np.arange(1, 201)
    made = make_cohort(ids, 5, behaviour={"sedative_couse_prevalence": 0.9})
    c = make_cohort(ids, 5)
    before = c.B["sedative_couser"].copy()
    c.set_behaviour("sedative_couse_prevalence", 0.9)
    assert c.B["sedative_couser"].sum() > before.sum() + 40
    assert np.array_equal(c.B["sedative_couser"], made.B["sedative_couser"])
    half = np.arange(len(ids)) < 100
    c2 = make_cohort(ids, 5)
    c2.set_behaviour("sedative_couse_prevalence", 0.0, half)
    assert c2.B["sedative_couser"][half].sum() == 0
    assert np.array_equal(c2.B["sedative_couser"][~half], before[~half])


def _on_treatment_od(prev, n=16, days=30):
    """Sedatives on board every day for a co-user (sedative_day_fraction far above 1: the former trait, the
    mechanism at its largest). At the sourced fraction (0.443) this 16-person, 30-day cohort has no on-treatment
    exposure below the hazard's PaO2 threshold at all (the mortality.ost miss: on-OST overdose too rare)."""
    from opiaxis.behaviour.trials import oud_cohort
    c = oud_cohort(n, 11, behaviour={"sedative_couse_prevalence": prev, "sedative_day_fraction": 100.0})
    sim = CohortSim(c, ["methadone"] * n, days, dt=24.0, immortal=True)
    rec = sim.run()
    on = rec.in_tx
    return (rec.exp_od_death * on).sum(axis=1), on.sum(axis=1), c.B["sedative_couser"] > 0.5, sim


def test_counterfactual_without_trait_on_treatment_overdose_collapses():
    """Counterfactual on the same methadone cohort: every patient a co-user (sedatives every day) vs none — the on-treatment
    overdose death rate falls without the trait (the sedative deepens each exposure's hypoxaemia); at the sourced prevalence the co-users carry the excess; the
    methadone doses themselves are scored as exposures."""
    d0, on0, _, _ = _on_treatment_od(0.0)
    dall, onall, _, _ = _on_treatment_od(1.0)
    assert dall.sum() / onall.sum() > 2 * d0.sum() / on0.sum()
    d1, on1, cu, sim = _on_treatment_od(PARAMS["sedative_couse_prevalence"].value)
    assert 0 < cu.sum() < len(cu)
    per_day = d1 / np.maximum(on1, 1)
    assert per_day[cu].mean() > 2 * per_day[~cu].mean()
    assert len(sim.med_log) > 0 and all(0 <= row[4] < 1 for row in sim.med_log)


def test_sedative_days_episodic_fixed_by_patient_and_day():
    """A co-user has sedatives on board on a fraction sedative_day_fraction of days (Stein et al. 2016:
    13.3 of 30 days), a non-user never; the day's flag is fixed by (seed, patient, day), independent of the
    batch and its order, and differs from day to day."""
    ids = np.arange(1, 3001)
    f = PARAMS["sedative_day_fraction"].value
    couser = sedative_couser(ids, 3, PARAMS["sedative_couse_prevalence"].value)
    days = np.array([sedative_on_board(ids, 3, k, couser, f) for k in range(10)])
    assert np.all(days[:, couser == 0] == 0)
    assert abs(days[:, couser == 1].mean() - f) < 0.03
    assert np.array_equal(sedative_on_board(ids[::-1], 3, 4, couser[::-1], f), days[4][::-1])
    assert not np.array_equal(days[4], days[5])
    assert np.all(sedative_on_board(ids, 3, 4, couser, 100.0) == couser)   # every day: the former trait
