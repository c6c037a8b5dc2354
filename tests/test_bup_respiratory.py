"""Buprenorphine at the respiratory μ site (eleventh session): its own in-vivo binding kinetics there
(Yassen et al., Clin Pharmacokinet 2007;46:965: KD 0.085 ng/mL, koff 0.0172/min) against the central,
PET-anchored constant, so its partial agonism caps breathing depression at doses that hold a fifth of
the brain's receptors, and naloxone, which binds only the receptors buprenorphine has released,
reverses it slowly. Every other ligand binds both sites alike."""
import numpy as np
import pytest

from opiaxis.errors import OpiaxisInputError
from opiaxis.physiology.drugs import load_drugs
from opiaxis.validate.targets_pk import typical_patient

CLAMP = {"co2_clamp": 1.0}


def _params(model):
    return dict(zip(model.parameter_names, model.default_parameters()))


def test_without_a_ligand_of_its_own_the_respiratory_signal_is_the_central_one(model):
    """Methadone (equilibrium, τ 100), fentanyl and naloxone (kinetic, Mann 2022) bind the respiratory
    site with the central constants: the two σ coincide through the whole mixture."""
    t = 24 * 20 + np.array([0.0, 3.0, 3.1, 3.25, 3.5, 4.0])
    reg = ["methadone 80 mg oral daily for 21 d", "fentanyl 100 ug IV once at 483 h",
           "naloxone 0.4 mg IV once at 483.1 h"]
    r = typical_patient(reg, t, model=model)
    np.testing.assert_allclose(r.get("mor_signal_respiratory")[0], r.get("mor_signal_central")[0], rtol=1e-6)
    np.testing.assert_allclose(r.get("mor_resp_occupancy")[0], r.get("mor_occupancy_central")[0], rtol=1e-6)


def test_buprenorphine_binds_the_respiratory_site_with_its_ventilation_constant(model):
    """At steady SL dosing (binding near equilibrium) buprenorphine's odds of occupancy per unit
    effect-site concentration are 1/K at each site: 1/0.085 at the respiratory, 1/0.67 at the central
    site, so it holds most respiratory receptors where it holds under half of the brain's."""
    b = load_drugs()["buprenorphine"].receptors["mu"]
    p = _params(model)
    assert p["buprenorphine_mor_respiratory_K"] == pytest.approx(b.respiratory_dissociation_constant())
    assert p["buprenorphine_mor_respiratory_K"] < p["buprenorphine_mor_central_K"] / 5
    t = 24 * 13 + np.array([12.0, 18.0, 23.0])   # mid- to late dosing interval, effect site near plasma
    r = typical_patient(["buprenorphine 4 mg sl daily for 14 d"], t, model=model)
    c = r.get("buprenorphine_effect")[0]
    resp = r.get("mor_resp_occupancy_buprenorphine")[0] / r.get("mor_resp_free")[0] / c
    cent = r.get("mor_occupancy_buprenorphine")[0] / r.get("mor_free")[0] / c
    np.testing.assert_allclose(resp, 1 / p["buprenorphine_mor_respiratory_K"], rtol=0.05)
    np.testing.assert_allclose(cent, 1 / p["buprenorphine_mor_central_K"], rtol=0.05)
    assert (r.get("mor_resp_occupancy_buprenorphine")[0] > 0.75).all()
    assert (r.get("mor_occupancy_buprenorphine")[0] < 0.5).all()


def test_buprenorphines_breathing_depression_has_a_ceiling_fentanyls_none(model):
    """Isohypercapnic: however large the dose, the partial agonist's signal is bounded by its τ, so the
    central drive is depressed by at most E(τ) = 0.5 (τ = σ50); doubling the dose from 0.3 to 0.6 mg moves
    the nadir by under 0.1, while fentanyl goes on to near-apnoea."""
    t = np.concatenate([[0.0, 0.5], np.arange(1.0, 8.0, 1 / 30)])
    nadir = {}
    for reg in ("buprenorphine 0.3 mg IV once at 1 h", "buprenorphine 0.6 mg IV once at 1 h",
                "buprenorphine 16 mg IV once at 1 h", "fentanyl 0.5 mg IV once at 1 h"):
        r = typical_patient([reg], t, CLAMP, model=model)
        v = r.get("ventilation_rel")[0]   # relative to the drug-free clamped value at 0.5 h (clamp settled)
        nadir[reg.split(" IV")[0]] = float(v[2:].min() / v[1])
    assert nadir["buprenorphine 16 mg"] >= 0.5 - 1e-6
    assert abs(nadir["buprenorphine 0.3 mg"] - nadir["buprenorphine 0.6 mg"]) < 0.1
    assert nadir["buprenorphine 0.6 mg"] < 0.7          # the plateau is reached, not a shallow dose-response
    assert nadir["fentanyl 0.5 mg"] < 0.1


def test_naloxone_takes_only_the_receptors_buprenorphine_releases(model):
    """A naloxone bolus far above its own K at the buprenorphine peak: buprenorphine's respiratory
    occupancy falls no faster than its dissociation (t½ 40 min) allows, ~16% in 10 min, whereas at the
    central site (analgesic koff, t½ 9 min) it falls by over half in the same time."""
    t0 = 3.0
    t = np.array([0.0, t0, t0 + 10 / 60])
    reg = ["buprenorphine 0.2 mg IV once at 0.5 h", f"naloxone 0.8 mg IV once at {t0:g} h"]
    r = typical_patient(reg, t, CLAMP, model=model)
    koff = _params(model)["buprenorphine_mor_respiratory_koff"]
    resp = r.get("mor_resp_occupancy_buprenorphine")[0]
    cent = r.get("mor_occupancy_buprenorphine")[0]
    assert resp[1] > 0.6
    assert resp[2] / resp[1] >= np.exp(-koff * 10 / 60) - 1e-3
    assert cent[2] / cent[1] < 0.5


def test_a_long_naloxone_infusion_nearly_blocks_buprenorphines_rebinding(model):
    """Naloxone 4 mg over 30 min at the buprenorphine peak (van Dorp et al., Anesthesiology 2006;105:51):
    buprenorphine's respiratory occupancy falls no faster than exp(−koff·t) for the whole hour, and naloxone
    (Mann 2022 constants) holds enough free receptors to keep it within 25% of that bound at 60 min. With
    the 10-fold weaker in-vivo naloxone constant of Yassen et al. (Clin Pharmacokinet 2007;46:965, KD
    1.87 ng/mL) it ends 1.6-fold above the bound, and naloxone 0.4 mg no longer reverses methadone
    (pred.nlx.renarcotization; docs/validation.md, "Naloxone against buprenorphine")."""
    t0 = 3.0
    t = np.concatenate([np.arange(0, t0, 0.25), t0 + np.arange(0, 1.0 + 1e-9, 1 / 60)])
    reg = ["buprenorphine 0.2 mg IV once over 1.5 min at 0.5 h", f"naloxone 4 mg IV once over 30 min at {t0:g} h"]
    r = typical_patient(reg, t, CLAMP, model=model)
    koff = _params(model)["buprenorphine_mor_respiratory_koff"]  # 1/h
    after = t >= t0
    resp = r.get("mor_resp_occupancy_buprenorphine")[0][after]
    bound = resp[0] * np.exp(-koff * (t[after] - t0))
    assert (resp >= bound - 1e-6).all()
    assert resp[-1] <= 1.25 * bound[-1]


PROBE = """
probe:
  mw: {value: 300, unit: g/mol, source: test}
  central_volume: {value: 10, unit: L, source: test}
  clearance: {value: 10, unit: L/h, source: test}
  ke0: {value: 1, unit: 1/h, source: test}
  routes: {iv: {}}
  receptors:
    mu:
%s
      efficacy: {value: 0.5, unit: dimensionless, source: test}
      respiratory:
        kon: {value: %s, unit: "mL/ng/min", source: test}
        koff: {value: 0.01, unit: 1/min, source: test}
"""
KINETIC = """      binding: kinetic
      kon: {value: 1.0, unit: "1/h/(ng/mL)", source: test}
      koff: {value: 1.0, unit: 1/h, source: test}"""
EQUILIBRIUM = "      affinity: {value: 1.0, unit: ng/mL, source: test}"


def test_respiratory_kinetics_are_read_in_model_units(tmp_path):
    f = tmp_path / "drugs.yaml"
    f.write_text(PROBE % (KINETIC, 0.1))
    b = load_drugs(f)["probe"].receptors["mu"]
    assert b.respiratory_kon.value == pytest.approx(6.0) and b.respiratory_koff.value == pytest.approx(0.6)
    assert b.respiratory_dissociation_constant() == pytest.approx(0.1)


@pytest.mark.parametrize("binding, kon", [(EQUILIBRIUM, 0.1), (KINETIC, 0.0), (KINETIC, -1.0)])
def test_bad_respiratory_kinetics_are_an_error_naming_the_field(tmp_path, binding, kon):
    """Only a kinetic μ binding takes respiratory kinetics, and both rates must be positive."""
    f = tmp_path / "drugs.yaml"
    f.write_text(PROBE % (binding, kon))
    with pytest.raises(OpiaxisInputError, match="probe.receptors.mu.respiratory"):
        load_drugs(f)
