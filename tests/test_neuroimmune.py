"""HPA axis, immune, glia and white-matter modules (issue 3, part B) and their targets."""
import importlib

import numpy as np
import pytest
import sympy as sp

from opiaxis.engine import simulate
from opiaxis.study import regimen_doses
from opiaxis.model.core import Module, compose
from opiaxis.models import available_modules, build_model
from opiaxis.physiology.drugs import load_drugs
from opiaxis.validate import targets_neuroimmune as T
from opiaxis.validate.registry import REGISTRY, _load_all

OURS = ["hpa", "immune", "glia", "white_matter"]


def withdrawal_standin() -> Module:
    """Stand-in for the adaptation module: withdrawal = adapted agonism − current agonism."""
    m = Module("withdrawal_standin", "test stand-in: withdrawal as the mismatch to an adapted μ-agonism level")
    ago = m.input("mor_agonism_central", "dimensionless", 0.0, "receptors module")
    k = m.parameter("standin_adaptation_rate", 1 / 26, "1/h", "Ekblom et al., JPET 1993;266:244 (t½ 26 h); test stand-in")
    a = m.state("standin_adapted_agonism", "dimensionless", 0.0, "adapted agonism level")
    m.ode(a, k * (ago - a))
    m.assign("withdrawal_signal", sp.Max(a - ago, 0), "dimensionless", "stand-in withdrawal", interface=True)
    return m


@pytest.fixture(scope="module")
def nmodel():
    """pk + receptors + (real adaptation if present, else the stand-in) + our modules."""
    drugs = load_drugs()
    mods = [importlib.import_module(f"opiaxis.physiology.{n}").build(drugs) for n in ("pk", "receptors")]
    if "adaptation" in available_modules():
        mods.append(importlib.import_module("opiaxis.physiology.adaptation").build(drugs))
    else:
        mods.append(withdrawal_standin())
    mods += [importlib.import_module(f"opiaxis.physiology.{n}").build(drugs) for n in OURS]
    return compose(mods)


@pytest.fixture(scope="module")
def immune_only():
    return build_model(modules=["immune"])


def test_each_module_runs_alone():
    for name in OURS:
        m = build_model(modules=[name])
        assert m.states


def test_targets_registered():
    _load_all()
    for tid in ("hpa.withdrawal", "hpa.abstinence30", "hpa.mat12m", "cyt.withdrawal", "cyt.abstinence12w",
                "cyt.mmt", "dti.recovery"):
        assert tid in REGISTRY
        assert REGISTRY[tid].calibration


def test_rest_is_steady_and_healthy(nmodel):
    P = nmodel.default_parameters()[None, :]
    times = np.array([0.0, 24.0, 24 * 60.0])
    r = simulate(nmodel, P, times)
    for v in ("cortisol_rel", "acth_rel", "crh_rel", "tnf_plasma", "il6_plasma", "il10_plasma", "il1b_plasma",
              "crp_plasma", "glial_activation", "fa_frontal", "spinal_sensitization", "bdnf_rel"):
        x = r.get(v)[0]
        assert np.allclose(x, x[0], rtol=1e-4, atol=1e-6), (v, x)
    assert np.allclose(r.get("cortisol_rel")[0], 1.0) and np.allclose(r.get("glial_activation")[0], 0.0)
    assert np.isclose(r.get("cortisol_plasma")[0, 0], 350.0) and np.isclose(r.get("crp_plasma")[0, 0], 1.0)


def test_lps_challenge_tnf_peak(immune_only):
    """2 ng/kg endotoxin bolus: TNF-α peaks at 1–2 h (Dobreva 2021), IL-6 later; CRP peaks ~1–2 days."""
    m = immune_only
    P = m.default_parameters()[None, :]
    x0 = m.initial_state(P)
    x0[0, m.state_index["lps"]] += 2.0
    times = np.arange(0, 72.01, 0.05)
    r = simulate(m, P, times, x0=x0)
    tnf, il6, crp = r.get("tnf_plasma")[0], r.get("il6_plasma")[0], r.get("crp_plasma")[0]
    assert 1.0 <= times[tnf.argmax()] <= 2.0
    assert 50 < tnf.max() < 2000
    assert times[il6.argmax()] > times[tnf.argmax()]
    assert 12 <= times[crp.argmax()] <= 60 and crp.max() > 3
    for v in ("tnf_plasma", "il6_plasma", "il10_plasma", "il1b_plasma", "crp_plasma"):
        assert r.get(v).min() >= 0


def test_heroin_course_invariants(nmodel):
    stop, (d, c) = T.heroin_abstinence(nmodel, 8)
    assert not d.failed.any()
    for v in ("tnf_plasma", "il6_plasma", "il10_plasma", "il1b_plasma", "crp_plasma"):
        assert d.get(v).min() >= 0
    fa = d.get("fa_frontal")
    assert ((fa > 0) & (fa < 1)).all()
    g = d.get("glial_activation")
    assert ((g >= -1e-9) & (g <= 1)).all()
    # controls (same people, no drug) show no withdrawal-driven change: cortisol stays near their own rest
    assert np.allclose(c.get("withdrawal_signal"), 0)


def test_glial_modulator_dampens(nmodel):
    _, (d, _) = T.heroin_abstinence(nmodel, 4)
    stop = T.HEROIN_DAYS * 24.0
    times = d.times
    from opiaxis.population import sample_parameters
    ids = np.arange(1, 5)
    P = sample_parameters(nmodel, ids, 2024, overrides={"glial_modulator_inhibition": 0.7})
    r = simulate(nmodel, P, times, regimen_doses(nmodel, ids, [f"heroin 25 mg IV q6h for {T.HEROIN_DAYS} d"]), ids=ids)
    k = int(np.argmin(abs(times - stop)))
    assert (r.get("glial_activation")[:, k] < 0.7 * d.get("glial_activation")[:, k]).all()
    assert (r.get("fa_frontal")[:, k] > d.get("fa_frontal")[:, k]).all()


def test_myelin_injury_accrues_over_years_and_heals_over_months(nmodel):
    """White matter's second state (eleventh session): myelin injury accrues over years of heroin
    because activated glia slow remyelination, and heals over months once they settle. The
    reversible (oedema) state alone is at steady state within weeks and healed within days, so FA
    would be flat from month 6 to year 2 of use and from month 1 to month 6 of abstinence."""
    H, stop = 24.0, 730 * 24.0
    times = np.array([180, 730, 760, 910]) * H
    ids = np.arange(1, 4)
    from opiaxis.population import sample_parameters
    P = sample_parameters(nmodel, ids, 2024)
    r = simulate(nmodel, P, times, regimen_doses(nmodel, ids, ["heroin 25 mg IV q6h for 730 d"]), ids=ids)
    fa, m = r.get("fa_frontal"), r.get("wm_myelin_injury")
    assert (fa[:, 1] < fa[:, 0] - 0.002).all()          # year 2 of use below month 6
    assert (fa[:, 3] > fa[:, 2] + 0.001).all()          # 6 months abstinent above 1 month abstinent
    assert (m[:, 1] > m[:, 0]).all() and (m[:, 3] < 0.8 * m[:, 1]).all()


@pytest.mark.parametrize("fn", ["hpa_withdrawal", "cyt_withdrawal", "cyt_abstinence12w", "dti_recovery"])
def test_target_reproduced(nmodel, fn):
    value, ok, detail = getattr(T, fn)(nmodel, n=24)
    assert ok, f"{fn}: {value} {detail}"


def test_cyt_mmt(nmodel):
    value, ok, detail = T.cyt_mmt(nmodel, n=12)
    assert ok, detail


def test_hpa_abstinence30_acth_falls(nmodel):
    """The ACTH half of hpa.abstinence30 is reproduced; the cortisol rise is a known miss (see report)."""
    value, ok, detail = T.hpa_abstinence30(nmodel, n=24)
    assert value["ACTH day30/day3"] < 1
    assert "NOT ASSESSABLE" in detail or "craving" in detail


@pytest.fixture(scope="module")
def endo_hpa():
    """pk + receptors + endogenous + hpa: the chain of hpa.ntx.challenge."""
    return build_model(modules=["pk", "receptors", "endogenous", "hpa"])


def test_antagonist_disinhibits_hpa_only_through_endogenous_tone(endo_hpa):
    """Naltrexone in an opioid-free person raises cortisol (endogenous μ tone restrains the axis;
    Lovallo 2018); without that restraint (counterfactual) it does not; an agonist that displaces the
    endogenous peptides but signals itself does not disinhibit."""
    m = endo_hpa
    times = np.arange(0, 3.01, 0.25)

    def cort(regimens, **over):
        P = m.default_parameters()
        for k, v in over.items():
            P[m.param_index[k]] = v
        doses = regimen_doses(m, [1], regimens) if regimens else None
        r = simulate(m, P[None, :], times, doses, ids=[1])
        return r.get("cortisol_rel")[0], r.get("hpa_mu_signal_deficit")[0]

    base, _ = cort([])
    ntx, deficit = cort(["naltrexone 50 mg oral once"])
    assert np.allclose(base, 1.0, atol=1e-6)
    assert deficit.max() > 0.8
    assert ntx[-1] > 1.1
    ntx0, _ = cort(["naltrexone 50 mg oral once"], hpa_endogenous_restraint=0.0)
    assert np.allclose(ntx0, 1.0, atol=1e-6)
    mor, d_mor = cort(["morphine 10 mg IV once"])
    assert d_mor.max() == pytest.approx(0.0, abs=1e-9)
    assert mor[-1] < 1.0


def test_hpa_disinhibition_adapts_under_sustained_antagonism(endo_hpa):
    """Daily naltrexone: the disinhibition fades over days (μ up-regulation), partially (80%)."""
    m = endo_hpa
    times = np.array([0.0, 2 * 24 + 3, 28 * 24 + 3])
    doses = regimen_doses(m, [1], ["naltrexone 50 mg oral daily for 29 d"])
    r = simulate(m, m.default_parameters()[None, :], times, doses, ids=[1])
    c = r.get("cortisol_rel")[0]
    assert c[1] > 1.05 and 1.0 < c[2] < c[1]
