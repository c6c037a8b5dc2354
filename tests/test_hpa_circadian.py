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


def _heroin_abstinence(model, overrides=None):
    from opiaxis.dosing import EventTable
    P = model.default_parameters()
    for k, v in (overrides or {}).items():
        P[model.param_index[k]] = v
    stop = 84 * 24.0
    t = stop + np.array([1, 3, 30]) * 24.0           # 08:00 samples
    reg = EventTable.from_regimens(model, ["heroin 25 mg IV q6h for 84 d"])
    return simulate(model, P[None], t, reg.for_ids([1]).expanded(), ids=[1])


def test_abstinence_cortisol_rises_as_the_atrophied_adrenal_recovers(model):
    """Karin's ACTH/cortisol dissociation after chronic opioid suppression: from day 3 to day 30 of
    abstinence the adrenal mass grows back, cortisol rises and ACTH falls."""
    r = _heroin_abstinence(model)
    cort, acth, adrenal = (r.get(v)[0] for v in ("cortisol_plasma", "acth_plasma", "adrenal_mass"))
    assert adrenal[2] > adrenal[1]
    assert cort[2] > cort[1]
    assert acth[2] < acth[1]


def test_habituation_removes_the_withdrawal_tail_from_the_drive(model):
    """Without habituation the tail of withdrawal on day 3 still drives CRH; with it the day-1 surge
    drives the axis and day 3 hardly does."""
    on = _heroin_abstinence(model)
    off = _heroin_abstinence(model, {"hpa_withdrawal_habituation_max": 0.0})
    wd_on, wd_off = on.get("hpa_withdrawal_drive")[0], off.get("hpa_withdrawal_drive")[0]
    assert wd_on[0] > 0.3 * wd_off[0]                  # the acute surge survives
    assert wd_on[1] < 0.2 * wd_off[1]                  # the day-3 tail is habituated
    assert on.get("cortisol_plasma")[0, 1] < off.get("cortisol_plasma")[0, 1]


def test_clock_is_exact_elapsed_time_and_resumes_with_the_carried_states(model):
    """The circadian clock is an explicit function of elapsed time (dτ/dt = 1, integrated exactly): τ equals
    the time since the start to round-off, and a run resumed from carried states at t0 = 30 h continues the
    same clock (the same cortisol at 54 h as one uninterrupted run)."""
    from opiaxis.engine.simulate import SolverOptions
    P = model.default_parameters()[None]
    opts = SolverOptions(rtol=1e-8, atol=1e-11)
    whole = simulate(model, P, [30.0, 54.0], None, options=opts)
    assert whole.get("clock_elapsed_time")[0] == pytest.approx([30.0, 54.0], rel=1e-12)
    first = simulate(model, P, [30.0], None, options=opts)
    resumed = simulate(model, P, [54.0], None, t0=30.0, x0=first.states[:, -1], options=opts)
    assert resumed.get("cortisol_plasma")[0, 0] == pytest.approx(whole.get("cortisol_plasma")[0, 1], rel=1e-6)
