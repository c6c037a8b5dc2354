"""Candidates' effects reach the utility's outcomes (issue 15; ``scripts/candidate_effects.py``):
with known parameters, a patient with a depression history whose drug-free drive leaves no
euthymic state is depressed on buprenorphine and an antidepressant adjunct lowers the depression
term; for a euthymic patient the same adjunct changes the loss by less than a tenth of the minimal important
difference."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

BASE = "buprenorphine 16 mg/day"
SSRI = f"{BASE} + SSRI antidepressant (e.g. sertraline 100 mg/day)"


@pytest.fixture(scope="module")
def effects(model):
    import candidate_effects as ce
    return {name: ce.effects(model, name, pid).set_index("candidate") for name, pid in
            (("hpa_depressed", 6), ("typical", 1))}


def test_depression_history_patient_is_depressed_on_buprenorphine_and_off_it(effects):
    t = effects["hpa_depressed"]
    assert t.loc[BASE, "madrs_mean"] > 20
    assert t.loc["no medication (abstinence)", "madrs_mean"] > t.loc[BASE, "madrs_mean"]
    assert effects["typical"].loc[BASE, "madrs_mean"] < 5


@pytest.mark.xfail(strict=True, reason="thirteenth session: the SSRI re-anchored to the trials (antidepressant_effect 0.12 -> 0.045, opiaxis calibrate mood.antidepressant: an 8-week SSRI-placebo difference of 3.19 MADRS points against Cipriani 2018's MADRS trials' 2.99, 95% CI 2.24-3.74; 0.12 gave 9.21) lowers the depressed patient's depression loss by 0.028 (3.224 -> 3.196), below the MID of 0.1; at 0.12 on the twelfth session's mood dynamics it was 0.082 (3.224 -> 3.143), and > 0.1 before them. A trial-sized SSRI does not lift a buprenorphine patient this deep in an episode out of it within 28 days; docs/precision-recovery.md, 'Issue 15, thirteenth session'")
def test_antidepressant_adjunct_matters_only_for_the_depressed_patient(effects):
    dep, typ = effects["hpa_depressed"], effects["typical"]
    assert dep.loc[SSRI, "L_depression"] < dep.loc[BASE, "L_depression"] - 0.1   # > MID
    # for the euthymic patient the adjunct moves the loss by far less than the minimal important
    # difference (0.1): sub-clinical MADRS is no longer clipped at the scale's floor (issue 14,
    # mood.mor.bdi), so the antidepressant's push on the latent mood state shows as ~0.03 MADRS
    # points instead of exactly 0
    assert abs(typ.loc[SSRI, "loss"] - typ.loc[BASE, "loss"]) < 0.01
    assert abs(typ.loc[SSRI, "L_depression"] - typ.loc[BASE, "L_depression"]) < 0.01


def test_laxative_and_pamora_stack(effects):
    t = effects["typical"]
    peg = f"{BASE} + osmotic laxative (PEG 17 g/day)"
    both = f"{peg} + PAMORA naloxegol 25 mg/day"
    assert both in t.index
    assert t.loc[both, "L_constipation"] < t.loc[peg, "L_constipation"] < t.loc[BASE, "L_constipation"]


def _daily_methadone_mg(model, regimens: list[str], days: int = 28) -> list[float]:
    from opiaxis.dosing import EventTable
    texts = [t.replace("{H7}", str(days - 7)).replace("{H}", str(days)) for t in regimens]
    d = EventTable.from_regimens(model, texts, start=0.0).for_ids([1]).expanded()
    d = d[d["CMT"].str.startswith("methadone") & (d["TIME"] < days * 24.0)]
    return [float(d.loc[(d["TIME"] >= 24.0 * k) & (d["TIME"] < 24.0 * (k + 1)), "AMT"].sum()) for k in range(days)]


def test_methadone_candidates_titrate_no_faster_than_the_guidelines(model):
    """Every methadone candidate starts at <= 30 mg (US rule 42 CFR 8.12: first dose <= 30 mg, day 1
    <= 40 mg) and rises by at most 10 mg no sooner than every 3 days (ASAM 2020; Baxter et al. 2013;
    UK: <= 30 mg a week in the first two weeks); until the ninth session they went 30 -> 60 mg in one
    step on day 4 (data/candidates.yaml)."""
    from opiaxis.calibrate.recommend import load_options
    opts = load_options()
    methadone = {n: s for n, s in opts.candidates.items() if any(r.startswith("methadone") for r in s["regimens"])}
    assert {"methadone 30→60 mg/day", "methadone 30→90 mg/day"} <= set(methadone)
    for name, spec in methadone.items():
        daily = _daily_methadone_mg(model, spec["regimens"])
        assert 0 < daily[0] <= 30.0, (name, daily[0])
        steps = [(k, daily[k] - daily[k - 1]) for k in range(1, len(daily)) if daily[k] != daily[k - 1]]
        assert all(0 < rise <= 10.0 for _, rise in steps), (name, steps)
        assert all(b - a >= 3 for (a, _), (b, _) in zip(steps, steps[1:])) and (not steps or steps[0][0] >= 3), (name, steps)
        assert max(daily[7] - daily[0], daily[14] - daily[7]) <= 30.0, (name, daily[:15])
    assert _daily_methadone_mg(model, methadone["methadone 30→60 mg/day"]["regimens"])[-1] == 60.0
    assert _daily_methadone_mg(model, methadone["methadone 30→90 mg/day"]["regimens"])[-1] == 90.0


@pytest.fixture(scope="module")
def class_margins(model):
    import candidate_effects as ce
    return {name: ce.class_margins(model, name, 1, design="informative") for name in ("typical", "low_bup_exposure")}


def test_methadone_beats_buprenorphine_for_the_low_exposure_patient_only(class_margins):
    """The decision study's methadone phenotype (low buprenorphine exposure, craving satiated by μ
    agonism, a gut little slowed by it) does better on methadone than on any buprenorphine combination
    by more than the minimal important difference, in the truth; the typical patient does worse on it
    by more than the MID (docs/precision-recovery.md, 'Issue 15, ninth session'). Since the tenth
    session's mechanisms (drug priming of craving, the sedative inside the breathing loop, the naive
    HPA sensitivity) the typical patient's methadone penalty is 0.061 loss units, less than the MID: it
    is still worse on methadone, no longer by a margin that matters (a property of the model's truth
    that the decision study reports, not a published finding)."""
    mid = 0.1
    low, typ = class_margins["low_bup_exposure"], class_margins["typical"]
    assert low["class"].iloc[0] == "methadone", low[["class", "combination", "loss"]]
    assert low["methadone_minus_buprenorphine"].iloc[0] < -mid, low[["class", "loss"]]
    assert typ["class"].iloc[0] == "buprenorphine", typ[["class", "loss"]]
    assert typ["methadone_minus_buprenorphine"].iloc[0] > 0.0, typ[["class", "loss"]]
    # what decides it: methadone's craving relief against its constipation, not its breathing
    m, b = (low.set_index("class").loc[c] for c in ("methadone", "buprenorphine"))
    assert m["craving"] < b["craving"] - mid and m["overdose"] == 0.0, (m, b)
