"""Planned exits from methadone maintenance (ninth session): a patient deciding to leave may leave
through the medication's exit taper (Nosyk et al., Addiction 2012: 57% of completed episodes began
with a taper), in cohorts that model planned exits (``CohortSim(exit_tapers=True)``)."""

import numpy as np
import pytest

from opiaxis.behaviour import CohortSim
from opiaxis.behaviour.treatments import default_treatments, parse_medication
from opiaxis.dosing import drug_routes, iu_factors
from opiaxis.behaviour.engine import behaviour_model
from opiaxis.behaviour.trials import oud_cohort
from opiaxis.errors import OpiaxisInputError


def test_exit_taper_runs_down_from_the_days_dose_and_ends():
    med = default_treatments()["methadone"].medication
    assert med.exit_taper is not None and med.taper is None
    tapered = med.with_exit_taper(41)            # decided on treatment day 39: first tapered dose on day 40
    assert tapered.exit_taper is None            # one exit taper: a dropout during it is an immediate exit
    assert tapered.dose_on(39) == pytest.approx(80.0)
    over, every = med.exit_taper.over_days, med.exit_taper.every_days
    assert tapered.dose_on(40) == pytest.approx(80.0)                         # first week at the day's dose
    assert tapered.dose_on(40 + every) == pytest.approx(80.0 * (1 - every / over))
    assert tapered.dose_on(40 + over - 1) == pytest.approx(80.0 * every / over)
    assert tapered.dose_on(40 + over) is None                                 # ended: treatment completed
    # during titration the taper starts from the titrated dose reached (30 mg on day 1)
    assert med.with_exit_taper(3).dose_on(2) == pytest.approx(30.0)


def test_exit_taper_input_errors_name_the_field():
    m = behaviour_model()
    kw = dict(file="arm.yaml", where="arms.a.medication", routes=drug_routes(m), iu=iu_factors(m))
    with pytest.raises(OpiaxisInputError, match="exit_taper") as e:
        parse_medication({"dose": "methadone 60 mg oral", "exit_taper": {"from_day": 3, "over": "4 weeks"}}, **kw)
    assert "without 'from_day'" in str(e.value)
    ok = parse_medication({"dose": "methadone 60 mg oral", "exit_taper": {"over": "4 weeks", "every": "1 week"}}, **kw)
    assert ok.exit_taper.over_days == pytest.approx(28.0)


def _leaving_cohort(fraction, exit_tapers, n=3, days=45):
    c = oud_cohort(n, 7, behaviour={"methadone_exit_taper_fraction": fraction})
    c.B["dropout_rate"] = np.full(n, 0.02)       # everyone decides to leave within days
    sim = CohortSim(c, ["methadone"] * n, days, dt=24.0, immortal=True, exit_tapers=exit_tapers)
    sim.run()
    return sim, sim.event_table()


def test_a_decision_to_leave_becomes_a_taper_only_with_exit_tapers():
    sim, ev = _leaving_cohort(1.0, True)
    starts = ev[ev.event == "taper_start"]
    assert len(starts) == sim.c.n                # every patient's first decision to leave starts the taper
    for pid, g in ev.groupby("patient"):
        s0 = g[g.event == "taper_start"].time_h.iloc[0]
        first_out = g[g.event.isin(["dropout", "taper_completed"])]
        doses = g[(g.event == "dose") & (g.time_h > s0)].amount_mg.to_numpy()
        assert first_out.empty or first_out.time_h.iloc[0] > s0   # still in treatment while tapering
        assert np.all(np.diff(doses) <= 1e-9)                     # the dose only falls during the taper
    _, ev0 = _leaving_cohort(1.0, False)
    assert (ev0.event == "taper_start").sum() == 0 and (ev0.event == "dropout").sum() == sim.c.n
    _, ev_none = _leaving_cohort(0.0, True)
    assert (ev_none.event == "taper_start").sum() == 0
