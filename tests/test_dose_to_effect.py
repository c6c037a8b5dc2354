"""Users dose to the effect they seek (ninth session): the dose is the habitual dose times the
potency fold 1/(1 − T) the user believes they have, relative to the fold the habit was formed at
(``engine.effect_titration``), so heroin on top of methadone's cross-tolerance is taken in larger doses
than the habit and after abstinence in smaller ones."""

import numpy as np
import pytest

from opiaxis.behaviour import CohortSim
from opiaxis.behaviour.engine import effect_titration
from opiaxis.behaviour.trials import oud_cohort


def test_effect_titration_is_the_believed_potency_fold_relative_to_the_habits():
    assert effect_titration(0.6, 0.6, 0.2) == pytest.approx(1.0)                 # the habit's tolerance: the habit
    assert effect_titration(0.9, 0.6, 0.2) == pytest.approx(0.4 / 0.1)           # fold 10 vs 2.5: 4x the habit
    assert effect_titration(0.3, 0.6, 0.2) == pytest.approx(0.4 / 0.7)           # less tolerance: less
    assert effect_titration(0.0, 0.9, 0.2) == pytest.approx(0.2)                 # floored at dose_floor
    t = np.linspace(0, 0.98, 50)
    assert np.all(np.diff(effect_titration(t, 0.5, 0.2)) >= 0)                    # monotone in the belief
    assert effect_titration(1.0, 0.0, 0.2) == pytest.approx(100.0)               # held below T = 0.99


def test_heroin_on_methadone_is_taken_in_larger_doses_than_off_treatment():
    """Same patients and streams, methadone vs no treatment for 3 weeks: on methadone's
    cross-tolerance (tolerance_level above the habit's) the heroin doses of weeks 2-3 exceed the
    habit (median dose/habit > 1) and those of the untreated arm."""
    n = 8
    ratio = {}
    for arm in ("methadone", "none"):
        c = oud_cohort(n, 11)
        habit = dict(zip(c.ids, c.B["heroin_dose"]))
        sim = CohortSim(c, [arm] * n, 21, dt=24.0, immortal=True)
        c.B["dropout_rate"] = np.zeros(n)
        sim.run()
        ev = sim.event_table()
        u = ev[(ev.event == "use") & (ev.day >= 7)]
        ratio[arm] = (u.amount_mg / u.patient.map(habit)).median()
    assert ratio["methadone"] > 1.0
    assert ratio["methadone"] > 1.5 * ratio["none"]
