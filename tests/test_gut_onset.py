"""Onset of laxation after a peripheral μ antagonist (issue 14, gut4): defecation read as threshold
crossings of the rectal content (integrate and fire), see :mod:`opiaxis.physiology.gut`.

The SBM rate law is unchanged; what changes is when its events fall. A falling defecation threshold
(a PAMORA lifting the opioid brake) releases every patient whose rectum already holds more than the
new threshold, a rising one (an opioid dose) defers them, and over a closed cycle the two cancel, so
steady and periodic weekly counts are those of ``sbm_rate``."""

import numpy as np
import pytest

from opiaxis.physiology import gut
from opiaxis.validate import targets_gut as T

from test_gut import run

MORPHINE = "morphine 60 mg oral_er bid for 4 weeks"
OXYCODONE = "oxycodone 20 mg oral bid for 4 weeks"            # wide swings of enteric agonism within a dose
NALDEMEDINE = "naldemedine 0.2 mg oral daily for 2 weeks from day 15"
DOSE_H = 14 * 24.0
HORIZONS = [1.0, 2.0, 4.0, 24.0, 48.0]
OFF = {"sbm_threshold_release": 0.0}                          # the earlier Poisson reading of the rate law


@pytest.fixture(scope="module")
def gm():
    return T.gut_model()


def _first_sbm(gm, regimens, overrides=None):
    t = np.unique(np.r_[np.arange(0.0, DOSE_H, 24.0), DOSE_H, DOSE_H + np.array(HORIZONS)])
    return gut.first_sbm_probability(run(gm, regimens, t, overrides), DOSE_H, HORIZONS)[0]


def test_drug_free_events_are_the_rate(gm):
    """Drug-free the threshold is constant: the event rate is sbm_rate, nothing is deferred."""
    r = run(gm, [], [0.0, 24.0, 24 * 28.0])
    np.testing.assert_allclose(r.get("sbm_event_rate")[0], 7.0, rtol=1e-9)
    np.testing.assert_allclose(r.get("defecation_threshold_rel")[0], 1.0, rtol=1e-9)
    assert np.all(np.abs(r.get("sbm_phase_deficit")[0]) < 1e-9)


def test_periodic_dosing_keeps_the_weekly_count(gm):
    """On a bid opioid whose enteric agonism swings widely within each dose, the threshold rises after
    every dose and falls before the next: events cluster in the falling phase, but the expected count
    of a steady week (week 3) is the integral of sbm_rate, as in the Poisson reading — the calibrated
    weekly counts (OIC prevalences, trial responders) do not move."""
    t = np.arange(0.0, 24 * 21 + 1e-9, 0.25)
    on = run(gm, [OXYCODONE], t)
    off = run(gm, [OXYCODONE], t, OFF)
    wk = t >= 24 * 14
    ev = on.get("sbm_event_rate")[0, wk]
    assert ev.max() > 2 * ev.mean() and ev.min() < 0.1 * ev.mean()     # the timing within a dose does change
    week3 = lambda r: r.get("sbm_expected_count")[0, -1] - r.get("sbm_expected_count")[0, wk][0]
    assert week3(on) == pytest.approx(week3(off), rel=0.02)
    assert week3(on) == pytest.approx(np.trapezoid(on.get("sbm_rate")[0, wk], t[wk]) / 168.0, rel=0.02)


def test_pamora_releases_a_loaded_rectum_within_hours(gm):
    """Naldemedine on a stable high-dose opioid: most of the first-day effect comes in the first hours
    (COMPOSE-4: median 4.7 h to the first SBM on naldemedine vs 26.6 h on placebo, Katakami et al., Ann
    Oncol 2018;29:1461). Counterfactual: read as a Poisson rate, the same drug gives a fraction of it."""
    drug = _first_sbm(gm, [MORPHINE, NALDEMEDINE])
    plac = _first_sbm(gm, [MORPHINE])
    poisson = _first_sbm(gm, [MORPHINE, NALDEMEDINE], OFF)
    h4 = HORIZONS.index(4.0)
    assert drug[h4] > 0.25 and drug[h4] > 3 * plac[h4]     # 0.29 for the typical patient (gutonset)
    assert drug[h4] > 2 * poisson[h4]
    assert drug[h4] - plac[h4] > 0.6 * (drug[HORIZONS.index(24.0)] - plac[HORIZONS.index(24.0)])


def test_methylnaltrexone_releases_on_oral_morphine(gm):
    """SC methylnaltrexone (tmax 0.5 h, competitive) on oral morphine: laxation within 4 h in about half
    of the patients against ~15% on placebo (Thomas et al., NEJM 2008;358:2332: 48 vs 15%), as fast as
    naldemedine's insurmountable block. It needs morphine's and M6G's functional enteric potency
    (gutonset); with their [3H]DAMGO binding constants (~98% of enteric receptors held) the same dose
    barely moves the threshold."""
    mntx = "methylnaltrexone 8.6 mg sc q48h for 2 weeks from day 15"
    drug = _first_sbm(gm, [MORPHINE, mntx])
    plac = _first_sbm(gm, [MORPHINE])
    nald = _first_sbm(gm, [MORPHINE, NALDEMEDINE])
    binding = _first_sbm(gm, [MORPHINE, mntx], {"morphine_mor_enteric_K": 0.512, "m6g_mor_enteric_K": 0.606})
    h4 = HORIZONS.index(4.0)
    assert drug[h4] > 0.3 and drug[h4] > 3 * plac[h4]
    assert drug[h4] > 0.5 * nald[h4]
    assert binding[h4] < 0.5 * drug[h4]


def test_release_grows_with_the_opioid_brake(gm):
    """The release is ln(θ_old/θ_new): a patient whose colon the opioid slows more (higher
    gut_mor_imax) holds more above the drug-free threshold and is more likely to defecate within
    2 h of the same PAMORA dose."""
    mild = _first_sbm(gm, [MORPHINE, NALDEMEDINE], {"gut_mor_imax": 0.4})
    severe = _first_sbm(gm, [MORPHINE, NALDEMEDINE], {"gut_mor_imax": 0.8})
    h2 = HORIZONS.index(2.0)
    assert severe[h2] > mild[h2] + 0.1


def test_count_increments_refuse_a_falling_counter():
    class R:
        times = np.array([0.0, 168.0, 336.0])

        def get(self, name):
            return np.array([[0.0, 3.0, 2.0]])
    with pytest.raises(Exception, match="non-decreasing"):
        gut.weekly_expected(R(), [0.0, 168.0, 336.0])
