"""The HPA axis's circadian drive: a healthy day curve with a morning peak, a periodic rest state,
and withdrawal (an arrhythmic stress drive) flattening the rhythm."""

import numpy as np
import pytest

from opiaxis.engine.simulate import simulate
from opiaxis.models import default_model


@pytest.fixture(scope="module")
def model():
    return default_model()


def _day_curve(model, overrides=None, start_day=2):
    P = model.default_parameters()
    for k, v in (overrides or {}).items():
        P[model.param_index[k]] = v
    t = start_day * 24 + np.arange(0, 24.01, 0.25)
    res = simulate(model, P[None], t, None)
    return t, res.get("cortisol_plasma")[0], res.get("acth_plasma")[0], res


def test_healthy_cortisol_peaks_in_the_morning_and_falls_several_fold(model):
    t, cort, acth, _ = _day_curve(model)
    hour = (t - t[0] + 8.0) % 24          # clock_offset 08:00 at t = 0
    peak_hour = hour[np.argmax(cort)]
    assert 6.5 <= peak_hour <= 9.5, peak_hour
    assert cort.max() / cort.min() > 2.5          # a real rhythm, not a ripple
    # the 08:00 value is the person's stated healthy morning cortisol
    assert cort[0] == pytest.approx(model.parameter("cortisol_baseline").value, rel=1e-4)
    assert acth[0] == pytest.approx(model.parameter("acth_baseline").value, rel=1e-4)


def test_clock_offset_moves_the_rhythm_with_the_clock(model):
    """With t = 0 at 20:00 instead of 08:00, the sample at t = 24 k is an evening (low) sample."""
    t, morning, _, _ = _day_curve(model)
    _, evening, _, _ = _day_curve(model, {"clock_offset": 20.0})
    assert evening[0] < 0.6 * morning[0]
    # the same clock hour gives the same value whatever the offset (12 h apart on the sample grid)
    assert evening[48] == pytest.approx(morning[0], rel=1e-3)


def test_relative_cortisol_is_one_at_every_clock_hour_at_rest(model):
    """Downstream modules read cortisol relative to a healthy person's at the same hour: 1 at rest."""
    _, _, _, res = _day_curve(model)
    assert np.allclose(res.get("cortisol_rel")[0], 1.0, atol=1e-6)


def test_withdrawal_flattens_the_rhythm(model):
    """An arrhythmic stress drive (withdrawal) adds to the circadian drive: the evening nadir rises more
    than the morning peak, so the peak/nadir ratio falls."""
    _, c0, _, _ = _day_curve(model)
    from opiaxis.dosing import EventTable
    P = model.default_parameters()
    reg = EventTable.from_regimens(model, ["heroin 25 mg IV q6h for 28 d"])
    t = 29 * 24 + np.arange(0, 24.01, 0.25)       # day 2 of withdrawal
    res = simulate(model, P[None], t, reg.for_ids([1]).expanded(), ids=[1])
    c1 = res.get("cortisol_plasma")[0]
    assert res.get("withdrawal_signal")[0].mean() > 0.05
    assert c1.max() / c1.min() < 0.8 * (c0.max() / c0.min())
