"""Sedative co-use as a patient trait (issue 14): a pharmacodynamic interaction on ventilation at
the opioid exposures, the agonist maintenance dose included (mortality.ost on treatment), on the days a
co-user has sedatives on board (eighth session: episodic, sedative_day_fraction); since the tenth session
inside the simulation (respiration's sedative_odds_shift), so the chemoreflexes answer it."""

import numpy as np

from opiaxis.behaviour import CohortSim, PARAMS
from opiaxis.behaviour.engine import sedative_couser, sedative_on_board


def _fentanyl_run(shift, clamp=0.0, ug=100.0, times=None):
    from opiaxis.validate.targets_pk import typical_patient
    t = np.arange(0.0, 3.0 + 1e-9, 1 / 60) if times is None else times
    r = typical_patient([f"fentanyl {ug:g} ug IV once at 0.5 h"] if ug > 0 else [], t,
                        overrides={"sedative_odds_shift": shift, "co2_clamp": clamp})
    return {k: r.get(k)[0] for k in ("resp_drive_depression", "ventilation_rel", "pao2", "resp_tolerance_fold")}


def test_sedative_deepens_the_opioid_drive_depression_inside_the_loop():
    """Tenth session: a sedative on board multiplies the odds of the opioid's depression of the central
    drive inside the simulation (respiration's sedative_odds_shift; van der Schrier et al. 2017: ethanol alone
    depresses nothing). Without an opioid nothing moves; under an end-tidal CO2 clamp (the drive read
    directly) the odds are multiplied by s exactly; breathing spontaneously, the CO2 and hypoxic chemoreflexes
    answer the deeper depression, so ventilation falls less than the same odds shift applied to ventilation
    after the simulation (the former post-hoc rule) would say; breathing tolerance is driven by the opioid's
    own depression only."""
    k = PARAMS["sedative_potency_shift"].value
    none = _fentanyl_run(k, ug=0.0)
    assert np.allclose(none["ventilation_rel"], 1.0, atol=1e-6) and np.allclose(none["resp_drive_depression"], 0.0)
    c0, c1 = _fentanyl_run(1.0, clamp=1.0), _fentanyl_run(k, clamp=1.0)
    e0, e1 = c0["resp_drive_depression"], c1["resp_drive_depression"]
    on = e0 > 0.05
    assert np.allclose(e1[on] / (1 - e1[on]), k * e0[on] / (1 - e0[on]), rtol=1e-3)
    s0, s1 = _fentanyl_run(1.0), _fentanyl_run(k)
    v0, v1 = s0["ventilation_rel"].min(), s1["ventilation_rel"].min()
    assert v1 < v0 < 0.9 and s1["pao2"].min() < s0["pao2"].min()
    assert v1 > v0 / (v0 + k * (1 - v0)) + 0.02     # the chemoreflexes answer the sedative's share
    assert np.allclose(s1["resp_tolerance_fold"], s0["resp_tolerance_fold"], rtol=1e-6)


def test_buprenorphine_ceiling_holds_with_sedatives():
    """Buprenorphine's ceiling on respiratory depression survives the interaction: in opioid-naive
    co-users with sedatives on board 32 and 128 mg SL barely differ and stay shallow, while methadone 60 mg
    goes deep."""
    from opiaxis.behaviour.engine import OPTIONS, Evaluator, _doses, make_cohort, simulate
    c = make_cohort([1, 2, 3], 5)
    ev, grid, k = Evaluator(c.model), np.linspace(0.25, 12, 48), PARAMS["sedative_potency_shift"].value

    def nadir(cmt, mg, shift):
        P = c.P.copy()
        P[:, c.model.param_index["sedative_odds_shift"]] = shift
        rows = [(pid, 0.0, float(mg), cmt) for pid in c.ids]
        r = simulate(c.model, P, grid, _doses(rows), ids=c.ids, x0=c.X, t0=0.0, options=OPTIONS)
        return ev("ventilation_rel", r.states, P).min(axis=1), ev("resp_drive_depression", r.states, P).max(axis=1)

    (b32, e32), (b128, e128), (m60, em) = (nadir("buprenorphine.sl", 32, k), nadir("buprenorphine.sl", 128, k),
                                           nadir("methadone.oral", 60, k))
    # the ceiling: the opioid's own drive depression stays ≤ u/(1 + u), u = (τ/σ50)^γ with the patient's own σ50
    # (0.5 for the typical patient: Dahan 2006's isohypercapnic ceiling, buprenorphine's τ = σ50) whatever the
    # dose, so with the sedative's odds shift E ≤ s·u/(1 + s·u); methadone has no ceiling. (Since the eleventh
    # session buprenorphine holds nearly all respiratory receptors at these doses, so the per-patient ceiling is
    # reached: one of the three has σ50 below the typical one and E 0.54.)
    pi = c.model.param_index
    u = (c.P[:, pi["buprenorphine_mor_central_tau"]] / c.P[:, pi["vent_s50_naive"]]) ** c.P[:, pi["vent_hill"]]
    _, e128_alone = nadir("buprenorphine.sl", 128, 1.0)
    assert np.all(u / (1 + u) < 0.6)
    assert np.all(e128_alone <= u / (1 + u) + 1e-9)
    assert np.all(e128 <= k * u / (1 + k * u) + 1e-9) and np.all(e32 <= k * u / (1 + k * u) + 1e-9)
    assert np.all(em > 0.8)
    # Eleventh session (buprenorphine's respiratory-site binding, Yassen 2007): 32 and 128 mg now reach the ceiling
    # itself, which the sedative deepens (E ≤ s·u/(1 + s·u), 0.73–0.82 here): nadirs 32 mg 0.81/0.81/0.78 →
    # 0.76/0.78/0.72, 128 mg 0.78/0.79/0.73 → 0.72/0.74/0.68, methadone 0.51/0.49/0.54 unchanged. The thresholds
    # were 0.7 and a 0.2 gap before (set on the old model, no source); the ceiling claim (|b128 − b32| < 0.1) is kept
    assert np.all(b128 > 0.65) and np.all(b32 > 0.65) and np.all(np.abs(b128 - b32) < 0.1)
    assert np.all(m60 < b32 - 0.15)   # (< 0.6 when the sedative was applied after the simulation; the chemoreflexes
    # now answer its share: 0.56–0.61 in these three)


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


def _on_treatment_nadirs(prev, n=16, days=30):
    """Sedatives on board every day for a co-user (sedative_day_fraction far above 1: the former trait, the
    mechanism at its largest): each methadone dose's logged ventilation nadir (med_log) per patient."""
    from opiaxis.behaviour.trials import oud_cohort
    c = oud_cohort(n, 11, behaviour={"sedative_couse_prevalence": prev, "sedative_day_fraction": 100.0})
    sim = CohortSim(c, ["methadone"] * n, days, dt=24.0, immortal=True)
    sim.run()
    log = np.array([(row[0], row[2], row[4]) for row in sim.med_log])
    nadir = np.array([log[log[:, 0] == i, 1].mean() if (log[:, 0] == i).any() else np.nan for i in range(n)])
    return nadir, log[:, 2], c.B["sedative_couser"] > 0.5


def test_sedatives_deepen_each_methadone_exposure():
    """Counterfactual on the same methadone cohort: every patient a co-user (sedatives every day) vs none — each
    methadone dose's ventilation nadir is deeper with the sedative on board (the engine sets respiration's
    sedative_odds_shift on a co-user's sedative days), and at the sourced prevalence the co-users' are deeper than
    the others'. (Tenth session: since the chemoreflexes answer the sedative, this 16-person, 30-day cohort has no
    on-treatment exposure below the hazard's PaO2 threshold even with sedatives every day; before, applied after
    the simulation, the sedative made such exposures, and this test compared overdose rates.)"""
    v0, p0, _ = _on_treatment_nadirs(0.0)
    vall, pall, _ = _on_treatment_nadirs(1.0)
    ok = np.isfinite(v0) & np.isfinite(vall)
    assert ok.sum() >= 10 and np.all(vall[ok] < v0[ok])
    v1, p1, cu = _on_treatment_nadirs(PARAMS["sedative_couse_prevalence"].value)
    assert 0 < cu.sum() < len(cu)
    assert np.nanmean(v1[cu]) < np.nanmean(v1[~cu])
    assert all(0 <= p < 1 for p in np.concatenate([p0, pall, p1]))


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
