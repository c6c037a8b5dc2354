"""Analgesic tolerance in two phases (pain module, equation 1; twelfth session, 2026-11-30).

The analgesic potency shift T_a combines the adaptation module's counter-adaptation T (the fast phase,
days; it also sets withdrawal) with a slow phase T_s that follows T with the half-time of the slow phase
of opioid tolerance, 13.2 d (Cox et al., Br J Pharmacol 1975), half of the log potency fold each:
1 − T_a = (1 − T)^½·(1 − T_s)^½. On a steady exposure T_a = T; on starting, analgesic tolerance keeps
growing for weeks after T has settled (pred.gut.no_constipation_tolerance, test_validation.py); on
stopping, it outlasts the moderator.
"""

import numpy as np
import pytest

from opiaxis.models import build_model, default_model
from opiaxis.validate.targets_pk import typical_patient

DAY = 24.0


@pytest.fixture(scope="module")
def pain_only():
    return build_model(modules=["pain"])


def test_slow_phase_follows_tolerance_with_its_half_time(pain_only):
    """T held at 0.6: the slow phase is half-way after 13.2 d, and T_a equals T once it has settled."""
    P = pain_only.default_parameters()
    half = np.log(2) / P[pain_only.param_index["analgesic_tolerance_slow_rate"]] / DAY
    assert half == pytest.approx(13.2, rel=1e-3)
    r = typical_patient([], np.array([0.0, half * DAY, 365 * DAY]), {"tolerance_level": 0.6}, model=pain_only)
    ts, ta = r.get("analgesic_tolerance_slow")[0], r.get("analgesic_tolerance_level")[0]
    assert ts[0] == 0.0 and ta[0] == pytest.approx(1 - 0.4 ** 0.5, rel=1e-6)   # fast phase only at the start
    assert ts[1] == pytest.approx(0.3, rel=1e-3)
    assert ta[1] == pytest.approx(1 - (0.4 * 0.7) ** 0.5, rel=1e-3)
    assert ta[2] == pytest.approx(0.6, abs=1e-6)


@pytest.fixture(scope="module")
def morphine_then_stop():
    """SR morphine 30 mg bid for 8 weeks, then two weeks without."""
    t = np.arange(0.0, 70 * DAY + 1e-9, 12.0)
    r = typical_patient(["morphine 30 mg oral ER bid for 56 d"], t, model=default_model())
    return t, r.get("tolerance_level")[0], r.get("analgesic_tolerance_level")[0]


def _at(t, x, day):
    return float(x[np.argmin(abs(t - day * DAY))])


def test_analgesic_tolerance_keeps_growing_after_the_moderator_settles(morphine_then_stop):
    t, T, Ta = morphine_then_stop
    assert abs(_at(t, T, 55) - _at(t, T, 14)) < 0.005          # the withdrawal-setting moderator has settled
    assert _at(t, Ta, 55) - _at(t, Ta, 14) > 0.1               # analgesic tolerance still growing (slow phase)
    assert _at(t, Ta, 7) < _at(t, T, 7) - 0.1                  # in week 1 it lags T
    assert abs(_at(t, Ta, 55) - _at(t, T, 55)) < 0.03          # and approaches T under steady exposure


def test_analgesic_tolerance_outlasts_the_moderator_after_stopping(morphine_then_stop):
    t, T, Ta = morphine_then_stop
    assert _at(t, T, 63) < 0.2 < _at(t, Ta, 63)                # a week after the last dose: slow phase still held
    assert _at(t, Ta, 70) < _at(t, Ta, 63)                     # and being lost
