"""Oxytocin's couplings to withdrawal (adaptation module) and to the HPA axis (hpa module), eleventh session.

Central oxytocin damps the expression of opioid withdrawal (mice: Kovács & Telegdy, Brain Res Bull
1988;20:893) and buffers the stressors' drive of CRH release (Smith et al., Psychoneuroendocrinology
2016;63:50; Cardoso et al., Psychoneuroendocrinology 2014;49:161: only where the axis is stimulated).
Both act through ``oxytocin_tone``, so they hold for the endogenous tone and for intranasal doses alike;
neither may move a drug-free person at rest, whatever their tone (early adversity or low social support
lower it with no opioid)."""

import numpy as np
import pytest

from opiaxis.behaviour.engine import Evaluator
from opiaxis.engine import simulate
from opiaxis.models import build_model

DAY = 24.0


@pytest.fixture(scope="module")
def adaptation():
    return build_model(modules=["adaptation"])


@pytest.fixture(scope="module")
def hpa():
    return build_model(modules=["hpa"])


def _at_tones(model, tones, **values):
    P = np.tile(model.default_parameters(), (len(tones), 1))
    P[:, model.param_index["oxytocin_tone"]] = tones
    for name, v in values.items():
        P[:, model.param_index[name]] = v
    return P


def _cows(model, rebound, tones):
    """COWS and expressed withdrawal at a signalling tone R = 1 + rebound, for each oxytocin tone."""
    P = _at_tones(model, tones)
    X = model.initial_state(P)
    X[:, model.state_index["mor_signal_tone"]] = 1.0 + rebound
    ev = Evaluator(model)
    return ev("cows_score", X, P), ev("withdrawal_expressed", X, P), ev("withdrawal_signal", X, P)


def test_oxytocin_damps_expressed_withdrawal_by_its_declared_power(adaptation):
    tones = np.array([0.65, 1.0, 1.2])                 # dependence-suppressed, healthy, after intranasal oxytocin
    cows, we, w = _cows(adaptation, 1.0, tones)
    e = adaptation.parameter("wd_oxytocin_exponent").value
    assert np.allclose(w, w[1])                        # the signalling rebound itself is untouched
    assert we == pytest.approx(w * tones ** (-e), rel=1e-9)
    assert cows[0] > cows[1] > cows[2]


def test_no_withdrawal_without_a_rebound_whatever_the_oxytocin_tone(adaptation):
    cows, we, _ = _cows(adaptation, 0.0, np.array([0.5, 1.0, 1.5]))
    assert np.all(cows == 0.0) and np.all(we == 0.0)


def test_oxytocin_does_not_move_a_drug_free_axis_at_rest(hpa):
    """The buffering scales the stressors' drive only: a person with a low tone and no stressor keeps
    the healthy rest orbit (no drift of cortisol or gland masses over 60 days)."""
    t = np.array([0.0, 2.0, 30 * DAY, 60 * DAY])
    r = simulate(hpa, _at_tones(hpa, np.array([0.5, 1.0, 1.5])), t)
    for name in ("cortisol_rel", "acth_rel", "adrenal_mass", "corticotroph_mass"):
        v = r.get(name)
        assert np.allclose(v, v[1], rtol=1e-6, atol=1e-9), name


def test_oxytocin_buffers_the_cortisol_response_to_a_stressor(hpa):
    """A step of withdrawal signal (a stressor the axis has not habituated to): the higher the tone, the
    smaller the rise of CRH and cortisol over the next two hours."""
    t = np.array([0.0, 0.5, 2.0])
    r = simulate(hpa, _at_tones(hpa, np.array([0.65, 1.0, 1.2]), withdrawal_signal=0.5), t)
    rise = r.get("cortisol_rel")[:, -1] - r.get("cortisol_rel")[:, 0]
    assert np.all(rise > 0)
    assert rise[0] > rise[1] > rise[2]
    buffering = r.get("hpa_oxytocin_buffering")[:, -1]
    e = hpa.parameter("hpa_oxytocin_exponent").value
    assert buffering == pytest.approx(np.array([0.65, 1.0, 1.2]) ** (-e), rel=1e-9)
