"""The validation scorecard: targets of the foundation issue."""
import json

import pytest

from opiaxis.validate.registry import REGISTRY, run_targets, write_json

pytestmark = pytest.mark.scorecard

FOUNDATION = ["occ.bup.greenwald2003", "occ.bup.thresholds", "occ.ntx.oral", "pk.morphine", "pk.heroin", "pk.fentanyl"]


@pytest.fixture(scope="module")
def scorecard():
    return {r.id: r for r in run_targets(FOUNDATION)}


def test_all_foundation_targets_registered(scorecard):
    assert set(FOUNDATION) <= set(REGISTRY)


@pytest.mark.parametrize("tid", ["pk.morphine", "pk.heroin", "pk.fentanyl", "occ.bup.greenwald2003"])
def test_target_reproduced(scorecard, tid):
    r = scorecard[tid]
    assert r.passed, f"{tid} missed: {r.detail}"


def test_fentanyl_is_the_published_model(scorecard):
    assert scorecard["pk.fentanyl"].value["max relative deviation"] < 1e-4


def test_calibrated_targets_say_so(scorecard):
    assert scorecard["occ.ntx.oral"].calibration
    assert "predictions" in scorecard["occ.bup.greenwald2003"].calibration
    assert scorecard["pk.morphine"].calibration == ""


def test_json_scorecard(tmp_path, scorecard):
    path = tmp_path / "card.json"
    write_json(list(scorecard.values()), path)
    data = json.loads(path.read_text())
    assert {d["id"] for d in data} == set(FOUNDATION)
    for d in data:
        assert {"id", "value", "band", "passed"} <= set(d)
        assert isinstance(d["passed"], bool)


def test_mechanism_targets_registered_and_not_calibrated():
    """The 2026-11-29 targets that test mechanisms (targets.md): registered, none calibrated to."""
    from opiaxis.validate.registry import _load_all
    _load_all()
    for tid in ("occ.ntx.duration", "occ.nlx.clearance", "gut.naldemedine.compose4", "hpa.ntx.challenge",
                "mood.mor.bdi"):
        assert tid in REGISTRY, tid
        assert REGISTRY[tid].calibration == "", tid


HELD_OUT = ["pred.resp.bup_ceiling", "pred.nlx.bup_reversal", "pred.ntx.heroin_blockade", "pred.nlx.renarcotization",
            "pred.wd.naloxone_duration", "pred.wd.bup_in_methadone", "pred.wd.bup_timing", "pred.hpa.morphine_acute",
            "pred.pain.mmt_crosstolerance", "pred.craving.methadone_priming", "pred.mood.aticaprant",
            "pred.dti.duration",
            "pred.mor.effect_duration"]   # fourteenth session
# pred.wd.acute_dependence left this list in the fourteenth session: its fast phase was developed against it
# (its `calibration` says how), so it is no longer independent.


def test_held_out_predictions_registered_and_independent():
    """The 2026-11-30 held-out predictions (targets_predictions.py): registered, none calibrated to,
    each naming its study; the registry runs them with the modules they read."""
    from opiaxis.validate.registry import TOPIC_REQUIRES, _load_all
    _load_all()
    for tid in HELD_OUT:
        assert tid in REGISTRY, tid
        assert REGISTRY[tid].calibration == "", tid
        assert any(ch.isdigit() for ch in REGISTRY[tid].source), tid   # a year/volume, not a bare name
    assert {"respiration", "hpa", "mood"} <= set(TOPIC_REQUIRES["targets_predictions"])


SEED_HELD_OUT = ["pred.wd.bup_discontinuation", "pred.gut.fentanyl_td_constipation", "pred.gut.no_constipation_tolerance",
                 "pred.hpa.naloxone_mmt", "pred.ot.withdrawal", "pred.mood.mmt_interdose",
                 "pred.gut.oxycodone_naloxone_pr"]   # twelfth session (oral naloxone's gut-wall exposure)


def test_seed_held_out_predictions_registered_and_independent():
    """The eleventh session's held-out predictions from the seed reviews (targets_predictions_seeds.py):
    registered, none calibrated to, each naming its study with a year/volume; the registry runs them
    with the modules they read (gut, oxytocin, respiration, hpa, mood among them)."""
    from opiaxis.validate.registry import TOPIC_REQUIRES, _load_all
    _load_all()
    for tid in SEED_HELD_OUT:
        assert tid in REGISTRY, tid
        assert REGISTRY[tid].calibration == "", tid
        assert any(ch.isdigit() for ch in REGISTRY[tid].source), tid
        assert REGISTRY[tid].run.__module__.endswith("targets_predictions_seeds"), tid
    assert {"gut", "oxytocin", "respiration", "hpa", "mood"} <= set(TOPIC_REQUIRES["targets_predictions_seeds"])


SEED_HELD_OUT_3 = ["pred.glia.minocycline_cpt", "pred.glia.ibudilast_craving", "pred.pain.morphine_month_no_oih",
                   "pred.mood.oat_depression_course", "pred.gut.mmt_scfa", "pred.hpa.mmt_hair_cortisol"]


def test_seed_held_out_third_set_registered_and_independent():
    """The fifteenth session's third set of held-out predictions (targets_predictions_seeds2.py; bands
    committed before the first run): registered, none calibrated to, each naming its study with a
    year/volume, none of their sources a calibration source (data/calibration.yaml), and the registry runs
    them with the glia, immune, gut, hpa, pain and mood modules they read."""
    from pathlib import Path

    from opiaxis.validate.registry import TOPIC_REQUIRES, _load_all
    _load_all()
    calib = (Path(__file__).parents[1] / "src/opiaxis/data/calibration.yaml").read_text(encoding="utf-8")
    for tid in SEED_HELD_OUT_3:
        assert tid in REGISTRY, tid
        t = REGISTRY[tid]
        assert t.calibration == "", tid
        assert any(ch.isdigit() for ch in t.source), tid
        assert t.run.__module__.endswith("targets_predictions_seeds2"), tid
        first_author = t.source.split(" et al.")[0].split(",")[0].strip()
        assert first_author not in calib, (tid, first_author)
    assert {"glia", "immune", "gut", "hpa", "pain", "mood"} <= set(TOPIC_REQUIRES["targets_predictions_seeds2"])


@pytest.mark.parametrize("tid", ["pred.glia.minocycline_cpt", "pred.gut.mmt_scfa"])
def test_seed_held_out_third_set_reproduced(tid):
    """Third-set held-out findings reproduced on their first run (fifteenth session, bands committed before):
    minocycline leaves the maintained patient's cold-pressor tolerance unchanged (ratio 1.007 on day 8,
    1.008 on day 15, band 0.8–1.2) although it halves glial activation (0.233 → 0.106 on day 15), because the
    shared dorsal-horn pathway is already taken by OIH after 24 weeks of methadone (central sensitisation
    0.946 → 0.930); colonic butyrate on methadone is below the drug-free level (6.2 vs 15 mM). The third
    reproduced one, pred.glia.ibudilast_craving, passes by 0.0003 craving units (−0.05%, direction only,
    through mood: the reward module reads no glial input), so it is not pinned by a test."""
    from opiaxis.validate.registry import _load_all
    _load_all()
    value, ok, detail = REGISTRY[tid].run()
    assert ok, detail


@pytest.mark.parametrize("tid", ["pred.wd.bup_discontinuation", "pred.gut.no_constipation_tolerance"])
def test_seed_held_out_reproduced(tid):
    """Seed held-out findings the model reproduced when first simulated (eleventh session, bands committed
    before the runs): buprenorphine withdrawal is mild and peaks on days 3–5 (COWS 2.0 at 108 h vs
    heroin's 29.7 at 25 h). pred.mood.mmt_interdose also passes, by 0.006 MADRS points (direction
    only, no mechanism behind it), so it is not pinned by a test. Twelfth session: tolerance develops to
    analgesia but not to constipation (SR morphine 30 mg bid, relief week 12/week 1 0.71, band ≤ 0.75), by
    the slow phase of analgesic tolerance (pain equation 1; Cox 1975), band and protocol unchanged."""
    from opiaxis.validate.registry import _load_all
    _load_all()
    value, ok, detail = REGISTRY[tid].run()
    assert ok, detail


@pytest.mark.parametrize("tid", ["pred.nlx.renarcotization", "pred.wd.bup_timing", "pred.wd.naloxone_duration",
                                 "pred.hpa.morphine_acute", "pred.dti.duration", "pred.resp.bup_ceiling",
                                 "pred.mood.aticaprant"])
def test_held_out_reproduced(tid):
    """Held-out findings the model reproduces without any fit: naloxone's action ends before
    methadone's (renarcotization); buprenorphine precipitates withdrawal soon after heroin but
    relieves it once withdrawal has begun; naloxone-precipitated withdrawal in a methadone patient
    is over within the hour (since the tenth session, 2026-11-30: the antagonist's Gaddum shift of
    the occupancy-equivalent agonism, receptors.py); acute morphine stops cortisol secretion in
    opioid-naive people (the naive HPA sensitivity, tenth session); frontal FA keeps falling over
    years of heroin (myelin injury whose repair activated glia slow, eleventh session); buprenorphine's
    breathing depression levels off while fentanyl's goes to apnoea (eleventh session: its own binding
    kinetics at the respiratory μ site, Yassen 2007 — constants fitted by their authors on related data);
    adjunctive aticaprant's antidepressant effect is small (twelfth session: the mood drive counts only κ
    signal above the set point of the receptors drugs do not hold silently, and a depressive state
    recruits dynorphin; on main it was −10.6 MADRS, this test fails there)."""
    from opiaxis.validate.registry import _load_all
    _load_all()
    value, ok, detail = REGISTRY[tid].run()
    assert ok, detail
