"""The composed model's drug-free baseline is a rest state: a typical person who takes no drug
stays where the model starts them. A module whose reference levels disagree with another module's
resting output (e.g. the gut's basal endotoxin flux against the immune module's) makes every
virtual patient drift at t = 0 — an inflammatory transient in people who never took an opioid, and
an initial transient that makes the exported SBML fail in libRoadRunner with default settings."""

import numpy as np
import pytest

from opiaxis.engine.simulate import SolverOptions, simulate
from opiaxis.models import default_model

# states that integrate time by design, not equilibrium quantities
ACCUMULATORS = {
    "sbm_expected_count": "expected bowel movements since t = 0 (a counter)",
    "craving_incubation": "incubation of cue reactivity grows with time without exposure (0 → 1)",
}


@pytest.fixture(scope="module")
def model():
    return default_model()


def test_drug_free_typical_person_stays_at_rest(model):
    P = model.default_parameters()
    x0 = model.initial_state(P)
    res = simulate(model, P[None], np.array([24.0, 24 * 30.0, 24 * 365.0]), None,
                   options=SolverOptions(rtol=1e-8, atol=1e-12))
    assert not res.failed.any()
    X = res.states[0]
    moved = {}
    for j, name in enumerate(model.state_names):
        if name in ACCUMULATORS:
            continue
        dev = np.abs(X[:, j] - x0[j]).max()
        if dev > 1e-6 * max(1.0, abs(x0[j])):
            moved[name] = (x0[j], X[-1, j])
    assert moved == {}, f"drug-free states drift from their initial values: {moved}"


def test_accumulators_exist(model):
    """The exemption list must not outlive the states it names."""
    assert set(ACCUMULATORS) <= set(model.state_names)


def test_modules_share_the_immune_resting_levels(model):
    """Every module's healthy cytokine reference is the immune module's resting level."""
    from opiaxis.physiology.immune import resting_levels
    rest = resting_levels()
    for name in ["barrier_il6_ref", "mood_il6_reference", "craving_il6_reference", "glia_il6_reference",
                 "hpa_il6_reference"]:
        assert model.parameter(name).value == pytest.approx(rest["il6"], rel=1e-12), name
    basal = model.parameter("lps_translocation_baseline").value
    assert basal == pytest.approx(rest["lps"] * model.parameter("lps_clearance_rate").value, rel=1e-9)
