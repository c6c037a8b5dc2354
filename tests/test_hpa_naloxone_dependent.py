"""Naloxone's HPA response in a methadone-dependent person (hpa module; the held-out prediction
pred.hpa.naloxone_mmt, Culpepper-Morgan & Kreek, Metabolism 1997;46:130; twelfth session, 2026-11-30,
docs/validation.md).

In the model the HPA axis of a dependent person answers naloxone only through the adaptation module's
withdrawal signal: methadone keeps total μ signalling far above the resting endogenous level, so the
endogenous-restraint term that moves hpa.ntx.challenge in drug-free people never fires, and the drive is
back on its course ~90 min after 0.4 mg IV while cortisol is still ~1.4×. Whether ACTH at 2 h is above
its course then depends on how fast glucocorticoid feedback follows cortisol: with Karin's instantaneous
feedback CRH and ACTH fall below their course (the original miss, ACTH 0.957×); with the delayed
feedback (t½ 30 min; Keller-Wood & Dallman, Endocr Rev 1984;5:1) ACTH is still above it."""

import numpy as np
import pytest

from opiaxis.models import default_model
from opiaxis.validate.targets_pk import typical_patient

T_NLX = 59 * 24.0 + 3.0                            # the protocol of pred.hpa.naloxone_mmt: 3 h after dose 60
MINUTES = np.array([0, 15, 30, 60, 90, 120])
METHADONE = ["methadone 80 mg oral daily for 60 d"]


def _ratios(model, overrides=None):
    t = np.concatenate([np.arange(0.0, T_NLX, 1.0), T_NLX + MINUTES / 60.0])
    base = typical_patient(METHADONE, t, overrides, model=model)
    nlx = typical_patient(METHADONE + [f"naloxone 0.4 mg IV once at {T_NLX:g} h"], t, overrides, model=model)
    k = len(MINUTES)
    return {name: (base.get(name)[0][-k:], nlx.get(name)[0][-k:])
            for name in ("hpa_mu_signal_deficit", "hpa_withdrawal_drive", "hpa_drive", "crh", "acth", "cortisol")}


@pytest.fixture(scope="module")
def model():
    return default_model()


@pytest.fixture(scope="module")
def runs(model):
    return _ratios(model)


def test_methadone_masks_the_endogenous_restraint(runs):
    """μ signalling (methadone + endogenous) stays above the resting endogenous level under naloxone, so
    the antagonist's direct disinhibition of CRH (hpa_endogenous_restraint) is zero throughout."""
    base, nlx = runs["hpa_mu_signal_deficit"]
    assert np.all(base == 0) and np.all(nlx == 0)


def test_the_hpa_drive_follows_the_withdrawal_signal(runs):
    """The withdrawal drive peaks by 15 min and is over by 90 min; the total drive is then back on its course."""
    _, wd = runs["hpa_withdrawal_drive"]
    assert wd[1] > 0.3                                         # 15 min: precipitated withdrawal
    assert wd[4] < 0.01 * wd[1]                                # 90 min: over
    base, nlx = runs["hpa_drive"]
    assert nlx[2] / base[2] > 2                                # 30 min: the drive triples
    assert abs(nlx[5] / base[5] - 1) < 0.05                    # 120 min: back on its course


def test_delayed_feedback_keeps_acth_above_its_course_at_two_hours(model, runs):
    """ACTH doubles at 30 min; at 120 min cortisol is still > 1.2× its course. With the delayed feedback ACTH
    is still above its course; with a near-instantaneous one (t½ 0.4 min, Karin's form) the same cortisol
    excess holds CRH and ACTH below theirs — the original miss of pred.hpa.naloxone_mmt."""
    ratio = {name: runs[name][1] / runs[name][0] for name in ("crh", "acth", "cortisol")}
    assert ratio["acth"][2] > 1.5
    assert ratio["cortisol"][5] > 1.2
    assert ratio["acth"][5] > 1.0
    fast = _ratios(model, {"hpa_feedback_lag_rate": 100.0})
    fast_ratio = {name: fast[name][1] / fast[name][0] for name in ("crh", "acth", "cortisol")}
    assert fast_ratio["cortisol"][5] > 1.2
    assert fast_ratio["crh"][5] < 0.9
    assert fast_ratio["acth"][5] < 1.0
