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
    "clock_elapsed_time": "the circadian clock's time base: hours since the start (dτ/dt = 1)",
}

# (the circadian clock is an explicit function of elapsed time, integrated exactly: no state gets a
# phase-drift allowance; the oscillator it replaced needed 2e-5 for its cos/sin and the hormones)
PHASE_TOLERANCE: dict[str, float] = {}


@pytest.fixture(scope="module")
def model():
    return default_model()


def test_drug_free_typical_person_stays_at_rest(model):
    """With the HPA axis's circadian drive the rest state is periodic (24 h), not constant: the
    person must be in the same state at the same clock time every day. Samples are at t = 1, 30
    and 365 days, all the clock hour of t = 0, and are compared with each other and with the start
    (the start is put on the rest orbit by a Fourier series of it, accurate to ~1e-7; the fast
    hormones' sub-1e-6 mismatch settles within minutes)."""
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
        scale = max(1.0, abs(x0[j]))
        drift = np.abs(X[:, j] - X[0, j]).max()          # same clock hour, day 1 vs days 30 and 365
        start = abs(X[0, j] - x0[j])                       # the start lies on the periodic rest state
        if drift > PHASE_TOLERANCE.get(name, 1e-6) * scale or start > 1e-5 * scale:
            moved[name] = (x0[j], X[0, j], X[-1, j])
    assert moved == {}, f"drug-free states drift (start, day 1, day 365): {moved}"


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
