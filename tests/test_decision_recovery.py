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
    true best and should not all get the same top three."""
    assert len({tuple(r["top3"]) for r in study.values()}) >= 2, {k: r["top3"] for k, r in study.items()}


@pytest.mark.xfail(strict=True, reason="known miss since the candidates' effects reach the outcomes (issue 15): "
                   "for the fast-clearance patient the true best is methadone + PEG + PAMORA (its true respiratory "
                   "nadir on methadone is mild), while the posterior — which has never seen this patient on "
                   "methadone — expects a deeper nadir and ranks buprenorphine 32 mg + PEG + PAMORA first, not tied. "
                   "See docs/precision-recovery.md, 'Issue 15, second pass'")
def test_true_best_is_rank_one_or_a_flagged_tie_and_regret_is_small(study):
    """Where the data cannot tell (e.g. craving parameters nobody measured), the true best must be
    among the candidates flagged as ties with rank 1, and choosing rank 1 costs less than half a
    clinically meaningful unit."""
    for name, r in study.items():
        assert r["true_best_in_ties"], (name, r["recommended"], r["true_best"])
        assert r["regret"] < 0.5, (name, r["recommended"], r["true_best"], r["regret"])


@pytest.mark.xfail(strict=True, reason="known miss: rank 1 is the true best for fewer than 2 of these 3 "
                   "patients — the fast-clearance patient's true best is methadone, which a buprenorphine-only "
                   "history cannot show (see docs/precision-recovery.md, 'Issue 15, second pass')")
def test_rank_one_is_the_true_best_for_most_patients(study):
    assert sum(r["hit"] for r in study.values()) >= 2


def test_fitted_parameter_intervals_cover_the_truth(study):
    covered = sum(r["covered"] for r in study.values())
    n = sum(r["n_params"] for r in study.values())
    assert covered / n >= 0.75, [r["missed"] for r in study.values()]
