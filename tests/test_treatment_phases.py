"""Treatment-cycle phases of the mortality.ost cohort (issue 14): induction weeks, later time on
treatment, the first weeks after leaving and later time off, and expected-death rates by phase."""

from types import SimpleNamespace

import numpy as np
import pytest

from opiaxis.behaviour.trials import phase_rates, treatment_phases


def test_phases_follow_entry_and_leaving():
    on = np.array([[True] * 10 + [False] * 5 + [True] * 3])
    ph = treatment_phases(on, weeks=1)[0]
    assert list(ph[:7]) == ["on, first 1 weeks"] * 7
    assert list(ph[7:10]) == ["on, later"] * 3
    assert list(ph[10:15]) == ["off, first 1 weeks"] * 5      # leaving restarts the clock
    assert list(ph[15:]) == ["on, first 1 weeks"] * 3          # so does re-entry


def test_phase_rates_are_deaths_per_person_time():
    on = np.array([[True] * 28 + [False] * 28])
    od = np.zeros((1, 56))
    od[0, 3] = 0.01          # an induction-period overdose death (expected)
    rec = SimpleNamespace(in_tx=on, surv=np.ones((1, 56)), exp_od_death=od, exp_other_death=np.zeros((1, 56)))
    r = phase_rates(rec, weeks=4)
    assert set(r) == {"on, first 4 weeks", "off, first 4 weeks"}
    assert r["on, first 4 weeks"]["od"] == pytest.approx(1000 * 0.01 / (28 / 365.25))
    assert r["off, first 4 weeks"]["od"] == 0.0
    assert r["on, first 4 weeks"]["py"] == pytest.approx(28 / 365.25)
