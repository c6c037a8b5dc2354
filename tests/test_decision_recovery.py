"""Truth-known decision recovery: synthetic patients whose best intervention differs, fitted and
ranked as a user would, compared with the best computed from their true parameters
(``scripts/decision_study.py``; three of its six patients, the assumed noise model)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

PATIENTS = ("typical", "fast_bup_CL", "constipated")


@pytest.fixture(scope="module")
def study(model):
    import decision_study as ds
    return {name: ds.one_patient(model, name, k + 1, "assumed", seed=3, draws=12, horizon=28.0)
            for k, name in enumerate(PATIENTS)}


def test_rank_one_is_the_maximum_expected_utility_candidate(study):
    assert all(r["rank1_is_max_eu"] for r in study.values())


def test_patients_differ_in_their_true_best(study):
    assert len({r["true_best"] for r in study.values()}) >= 2


def test_patients_get_different_rankings(study):
    """The complaint was that every patient got the same ranking; these three differ in their
    true best and should not all get the same top three. (A strict xfail from the third pass until
    the breathing-tolerance rebuild of 2026-11-29's fifth session, when the three top-three lists
    differed; a strict xfail again after the sixth session's merges; passing since the seventh pass's
    decision draws checked against the data and the runner-up combinations carried across doses.)"""
    assert len({tuple(r["top3"]) for r in study.values()}) >= 2, {k: r["top3"] for k, r in study.items()}


def test_true_best_is_rank_one_or_a_flagged_tie_and_regret_is_small(study):
    """Where the data cannot tell (e.g. craving parameters nobody measured), the true best must be
    among the candidates flagged as ties with rank 1, and choosing rank 1 costs less than half a
    clinically meaningful unit. (A strict xfail from the third pass; passing since the seventh.)"""
    for name, r in study.items():
        assert r["true_best_in_ties"], (name, r["recommended"], r["true_best"])
        assert r["regret"] < 0.5, (name, r["recommended"], r["true_best"], r["regret"])


def test_rank_one_is_the_true_best_for_most_patients(study):
    """A strict xfail from the third pass; passing on the seventh session's merged model (the gut merge
    made buprenorphine 32 mg + PEG + naloxegol the true best of more patients, which the standard design
    ranks first). Thirteenth session: with the antithetic decision draws alone constipated-3 fell to a
    two-dose tie (8 vs 16 mg, 0.011 apart under the truth) and this failed (1 of 3); with the SSRI
    re-anchored (antidepressant_effect 0.12 -> 0.045) merged beside them it passes again."""
    assert sum(r["hit"] for r in study.values()) >= 2


def test_fitted_parameter_intervals_cover_the_truth(study):
    covered = sum(r["covered"] for r in study.values())
    n = sum(r["n_params"] for r in study.values())
    assert covered / n >= 0.75, [r["missed"] for r in study.values()]


def test_miss_diagnosis_separates_ties_search_and_posterior():
    """The study's verdict on hand-made losses (no simulation): a combination is the same whatever
    the order of its adjuncts; a miss is a tie under the truth, a posterior error or the search's."""
    import pandas as pd

    import decision_study as ds
    truth = {"A + x + y": 1.00, "B": 1.05, "C": 1.50, "D + z": 0.60}
    post = {"A + y + x": 2.0, "B": 2.1, "C": 2.2}
    v = ds.judge("A + y + x", {k: v for k, v in truth.items() if k != "D + z"}, post, 0.1)
    assert v["hit"] and v["regret"] == 0 and v["cause"] == "hit"
    # rank 1 B, true best A + x + y 0.05 better: a tie under the truth, not a miss that matters
    assert ds.judge("B", {k: v for k, v in truth.items() if k != "D + z"}, post, 0.1)["cause"].startswith("(b)")
    # the true best D + z was never simulated: the search
    v = ds.judge("A + x + y", truth, post, 0.1)
    assert v["cause"].startswith("(search)") and v["true_best"] == "D + z" and abs(v["regret"] - 0.4) < 1e-12
    # the true best's adjuncts were simulated on another dose of its drug class: the posterior's call
    v = ds.diagnose("A", {"A": 1.0, "E + z": 1.3}, pd.Series({"A": 1.0, "D + z": 0.6}), 0.1,
                    {"D": frozenset({"m"}), "E": frozenset({"m"}), "A": frozenset({"b"})})
    assert v.startswith("(a) on 'E'") and "1.300" in v
    # the true best only searched (its loss is the search draws'): compared with rank 1 there, not with
    # rank 1's loss over all draws
    v = ds.judge("C", {"C": 1.5, "A + x + y": 1.0}, {"C": 1.9, "A + y + x": 2.0}, 0.1, {"C": 1.8, "A + x + y": 2.0})
    assert v["cause"].startswith("(a) on the search draws") and "by 0.200" in v["cause"], v["cause"]
    # rank 1 C, true best A + x + y simulated and 0.5 better: the posterior got it wrong
    v = ds.judge("C", {k: v for k, v in truth.items() if k != "D + z"}, {**post, "C": 1.9}, 0.1)
    assert v["cause"].startswith("(a)") and "by 0.100" in v["cause"] and "reverse by 0.500" in v["cause"]


def test_truths_are_keyed_by_patient_and_parameter_name(model):
    """Each synthetic patient's truth is a function of (seed, patient, parameter name): the same
    patient twice is the same truth, another replicate of the phenotype is another draw, and the
    phenotype's designed shifts are kept."""
    import numpy as np

    import decision_study as ds
    cov, shifts = ds.PHENOTYPES["fast_bup_CL"]
    a = ds.true_parameters(model, cov, shifts, 3, "fast_bup_CL-1")
    assert np.array_equal(a, ds.true_parameters(model, cov, shifts, 3, "fast_bup_CL-1"))
    b = ds.true_parameters(model, cov, shifts, 3, "fast_bup_CL-2")
    j = model.param_index["buprenorphine_CL"]
    assert a[j] == b[j] and not np.array_equal(a, b)
