"""Antagonists against agonists at the central μ receptor: a competitive antagonist shifts a high-reserve
agonist's occupancy-equivalent signal as it shifts the linear signal σ (Gaddum), so precipitated
withdrawal follows the shift, not the antagonist's occupancy."""
import numpy as np
import pytest

from opiaxis.validate.targets_pk import typical_patient

METHADONE = "methadone 80 mg oral daily for 60 d"  # tolerant and dependent (k_tol t½ ~10 d)
T_NLX = 59 * 24.0 + 3.0  # 3 h after the last dose, as pred.wd.naloxone_duration


@pytest.fixture(scope="module")
def methadone_naloxone(model):
    t = T_NLX + np.array([-0.5, 5 / 60, 0.25, 0.5, 1.0, 2.0])
    return t, typical_patient([METHADONE, f"naloxone 0.4 mg IV once at {T_NLX:g} h"], t, model=model)


def test_a_competitive_antagonist_shifts_methadones_agonism_as_it_shifts_its_signal(methadone_naloxone):
    """Methadone (τ 100: few receptors bound for its effect) with naloxone holding most receptors: the
    occupancy-equivalent agonism A obeys the same Gaddum shift as σ, A = σ/(1 + σ) with no partial
    agonist present, so it is not capped at the receptors naloxone leaves free (1 − ρ_naloxone), as an
    insurmountable antagonist would cap it."""
    t, r = methadone_naloxone
    a, sigma = r.get("mor_agonism_central")[0], r.get("mor_signal_central")[0]
    np.testing.assert_allclose(a, sigma / (1 + sigma), rtol=1e-6)
    occ_nlx = r.get("mor_occupancy_naloxone")[0]
    k = 1  # 5 min after naloxone
    assert occ_nlx[k] > 0.8
    assert a[k] > 3 * (1 - occ_nlx[k])
    assert sigma[k] < 0.2 * sigma[0]  # naloxone does reverse the signal


def test_agonism_is_the_efficacy_weighted_occupancy_when_every_agonist_has_tau_1(model):
    """Heroin (τ 1) against naltrexone: A is still exactly the agonist's occupancy (occupancy theory),
    so the change for high-reserve agonists moves nothing for agonists without a τ."""
    t = np.array([24.0, 24.1, 24.25, 24.5])
    r = typical_patient(["naltrexone 50 mg oral once", "heroin 25 mg IV once at 24 h"], t, model=model)
    occ = sum(r.get(f"mor_occupancy_{d}")[0] for d in ("heroin", "mam6", "morphine", "m6g"))
    np.testing.assert_allclose(r.get("mor_agonism_central")[0], occ, rtol=1e-6, atol=1e-12)
    assert r.get("mor_occupancy_naltrexone")[0][0] > 0.1


def test_naloxone_precipitated_withdrawal_ends_while_naloxone_still_holds_receptors(methadone_naloxone):
    """With the Gaddum shift the withdrawal follows naloxone's shift of the methadone signal, not its
    occupancy: 2 h after 0.4 mg IV naloxone still holds a third or more of central μ (Trøstheim 2022's
    IV dose–occupancy curve, occ.nlx.clearance) yet methadone's signal is back near its level and the
    precipitated withdrawal (clinically 30–60 min) has subsided."""
    t, r = methadone_naloxone
    cows, occ = r.get("cows_score")[0], r.get("mor_occupancy_naloxone")[0]
    assert cows[0] < 1 and cows[1:4].max() > 10  # precipitated within minutes
    assert occ[-1] > 0.3 and cows[-1] < 2



# Hemi-equilibrium (eleventh session): a kinetic antagonist is displaced by an agonist bolus only as fast as it
# dissociates. Naloxone 2 mg IV, heroin 25 mg IV 1 h later; the override slows naloxone's koff 2850-fold
# (142.56 → 0.05/h) and keeps its dissociation constant K (a separate parameter), so only the kinetics change.
HEMI_T = 1.0 + np.array([-0.01, 2, 5, 10, 15, 20, 30]) / 60


def _naloxone_then_heroin(model, koff=None):
    over = {"naloxone_mor_central_koff": koff} if koff is not None else None
    r = typical_patient(["naloxone 2 mg IV once", "heroin 25 mg IV once at 1 h"], HEMI_T, over, model=model)
    return r.get("mor_agonism_central")[0], r.get("mor_occupancy_naloxone")[0]


def test_a_fast_dissociating_antagonist_is_surmountable_by_an_agonist_bolus(model):
    """Naloxone's koff 143/h (t½ 0.3 min, Mann 2022): heroin displaces it within minutes and reaches far more
    receptors than naloxone left free before the bolus (competitive, Gaddum)."""
    a, rl = _naloxone_then_heroin(model)
    assert rl[0] > 0.8
    assert rl[2] < 0.5 * rl[0]  # displaced within 5 min
    assert a[1:].max() > 5 * (1 - rl[0])


def test_a_slowly_dissociating_antagonist_caps_an_agonist_bolus_at_the_free_receptors(model):
    """The same antagonist with koff 0.05/h (t½ 14 h) holds its receptors through heroin's peak, so heroin binds
    only those left free (hemi-equilibrium, insurmountable on the bolus's time-scale; reviewed by Charlton &
    Vauquelin, Br J Pharmacol 2010) — the mechanism naltrexone would need to block a challenge at the occupancies PET measures; naltrexone
    itself is bound at equilibrium (its koff was not found; a kon like naloxone's makes it faster still)."""
    a, rl = _naloxone_then_heroin(model, koff=0.05)
    assert rl[0] > 0.3
    assert np.abs(rl - rl[0]).max() < 0.03  # not displaced in 30 min
    assert a[1:].max() <= 1 - rl[0] + 0.01
