"""Scoring stochastic targets in expectation and at the trial's own size (issue 14), on a toy
target registered here: no model is simulated."""
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from opiaxis.errors import OpiaxisInputError
from opiaxis.streams import Purpose, Streams
from opiaxis.validate import registry as R

TOY = "toy.coin"
TOY_SEED, TOY_N = 11, 30


def _toy(n: int = TOY_N, seed: int = TOY_SEED):
    """A small effect (0.1 SD) in n draws: passes when the sample mean is positive. Its power at
    n=30 is ~0.7, so some draws fail; at 100x the size it passes in expectation."""
    x = 0.1 + Streams(seed).shared(Purpose.TRIAL, "toy").standard_normal(n)
    return {"mean": float(x.mean()), "n": n}, bool(x.mean() > 0), f"n={n}"


def _det():
    return 1.0, True, "deterministic"


@pytest.fixture
def toy():
    R._load_all()   # the real targets first, so run_targets' own loading does not re-register them
    R.target(TOY, finding="toy", band="mean > 0", source="test")(_toy)
    R.target("toy.det", finding="toy", band="1", source="test")(_det)
    yield R.REGISTRY[TOY]
    R.REGISTRY.pop(TOY, None)
    R.REGISTRY.pop("toy.det", None)


def test_stochastic_detected_from_seed_and_n_keywords(toy):
    assert toy.stochastic and toy.default_seed == TOY_SEED and toy.default_n == TOY_N
    assert not R.REGISTRY["toy.det"].stochastic


def test_replicate_seeds_differ_are_reproducible_and_do_not_depend_on_k(toy):
    s10 = R.replicate_seeds(toy, 10)
    assert len(set(s10)) == 10 and TOY_SEED not in s10
    assert R.replicate_seeds(toy, 10) == s10
    assert R.replicate_seeds(toy, 4) == s10[:4]


def test_pass_fraction_is_the_share_of_draws_reproduced(toy):
    rep = R.run_replicates(toy, 12)
    expected = [_toy(n=TOY_N, seed=s)[1] for s in rep.seeds]
    assert rep.passed == expected and rep.n == TOY_N
    assert rep.values == [_toy(n=TOY_N, seed=s)[0] for s in rep.seeds]
    assert rep.fraction == pytest.approx(sum(expected) / 12)
    assert 0 < rep.reproduced < 12, "the toy's power is ~0.7: some of 12 draws pass, some fail"
    assert rep.summary() == f"reproduced in {sum(expected)} of 12 draws at n={TOY_N}"
    assert R.run_replicates(toy, 12) == rep


def test_expectation_runs_once_at_a_multiple_of_the_trial_size(toy):
    e = R.run_expectation(toy, 100)
    assert e.n == 100 * TOY_N and e.seed == TOY_SEED
    assert e.value == _toy(n=3000, seed=TOY_SEED)[0]
    assert e.passed, "a 0.1-SD effect is positive in 3000 draws"


def test_default_run_unchanged(toy, tmp_path):
    plain = R.run_targets([TOY, "toy.det"])
    drawn = R.run_targets([TOY, "toy.det"], replicates=3, expectation_scale=2)
    for a, b in zip(plain, drawn):
        assert (a.value, a.passed, a.detail) == (b.value, b.passed, b.detail)
    assert plain[0].value == _toy()[0]
    assert plain[0].replicates is None and plain[0].expectation is None
    assert drawn[1].replicates is None, "a deterministic target is not re-drawn"
    R.write_json(plain, tmp_path / "plain.json")
    assert all("replicates" not in d and "expectation" not in d for d in json.loads((tmp_path / "plain.json").read_text()))
    R.write_markdown(plain, tmp_path / "plain.md")
    assert "re-drawn" not in (tmp_path / "plain.md").read_text()


def test_scorecard_reports_the_draws(toy, tmp_path):
    res = R.run_targets([TOY, "toy.det"], replicates=4, expectation_scale=10)
    R.write_json(res, tmp_path / "card.json")
    d = {x["id"]: x for x in json.loads((tmp_path / "card.json").read_text())}
    assert d[TOY]["replicates"]["n"] == TOY_N and len(d[TOY]["replicates"]["passed"]) == 4
    assert d[TOY]["expectation"]["n"] == 10 * TOY_N
    assert "replicates" not in d["toy.det"]
    R.write_markdown(res, tmp_path / "card.md")
    md = (tmp_path / "card.md").read_text()
    assert "| re-drawn |" in md and "of 4 draws at n=30" in md and "in expectation (n=300" in md


def test_cli_replicates(toy, tmp_path):
    from opiaxis.cli import app
    out = CliRunner().invoke(app, ["validate", "-t", TOY, "--replicates", "3", "--expectation-scale", "5",
                                   "--checkpoint", str(tmp_path / "ck")])
    assert out.exit_code == 0, out.output
    assert "draws at n=30" in out.output and "in expectation" in out.output


@pytest.mark.parametrize("kw", [{"replicates": -1}, {"replicates": 1.5}, {"expectation_scale": 0.0},
                                {"expectation_scale": float("nan")}])
def test_bad_options_are_named(toy, kw):
    with pytest.raises(OpiaxisInputError, match="replicates|expectation scale"):
        R.run_targets([TOY], **kw)


def test_registration_checks():
    def no_int_seed(n: int = 3, seed=None):
        return 0, True, ""
    with pytest.raises(ValueError, match="integer default"):
        R.target("toy.bad", finding="", band="", source="")(no_int_seed)
    with pytest.raises(ValueError, match="trial_n"):
        R.target("toy.bad", finding="", band="", source="", trial_n=5)(_det)
    assert "toy.bad" not in R.REGISTRY


def test_trial_sized_targets_are_stochastic():
    """The targets issue 14 found to flip with the draw can be re-drawn; mood.mor.bdi is scored on a
    large cohort but re-drawn at Nummenmaa's size."""
    R._load_all()
    for tid in ("mmt.retention", "ot.intranasal.single", "mortality.ost", "hpa.abstinence30", "mood.mor.bdi"):
        assert R.REGISTRY[tid].stochastic, tid
    assert R.REGISTRY["mood.mor.bdi"].default_n == 135
    assert np.isclose(R.REGISTRY["hpa.abstinence30"].default_n, 32)


def test_a_band_set_at_the_trial_size_is_not_scored_in_expectation(toy):
    """A null result ("not significant at n≈64") fails in a large enough cohort by design: it is
    re-drawn at its size, and its expectation run is reported as not scored, not as a miss."""
    R.target("toy.null", finding="toy", band="not significant", source="test", band_at_trial_size=True)(_toy)
    try:
        (r,) = R.run_targets(["toy.null"], replicates=2, expectation_scale=10)
        assert r.expectation.passed is None and r.expectation.value is None
        assert len(r.replicates.passed) == 2
        assert "not scored in expectation" in R.draws_summary(r)
    finally:
        R.REGISTRY.pop("toy.null", None)
    assert R.REGISTRY["ot.intranasal.single"].band_at_trial_size


def test_checkpoint_resumes_and_never_reuses_other_code_or_options(toy, tmp_path, monkeypatch):
    import functools

    from opiaxis.study import store
    calls = []
    for tid in (TOY, "toy.det"):
        fn = R.REGISTRY[tid].run
        monkeypatch.setattr(R.REGISTRY[tid], "run",
                            functools.wraps(fn)(lambda *a, _fn=fn, _tid=tid, **k: calls.append(_tid) or _fn(*a, **k)))
    assert R.REGISTRY[TOY].stochastic
    first = R.run_targets([TOY, "toy.det"], replicates=2, checkpoint=R.Checkpoint(tmp_path / "ck", replicates=2))
    assert calls == [TOY] * 3 + ["toy.det"]          # the default draw and 2 re-draws; the deterministic one
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == [f"{TOY}.json", "toy.det.json"]
    # interrupted: one result torn -> only that one is scored again, the other is read back as it was
    (tmp_path / "ck" / "toy.det.json").write_text("{torn", encoding="utf-8")
    again = R.Checkpoint(tmp_path / "ck", replicates=2)
    second = R.run_targets([TOY, "toy.det"], replicates=2, checkpoint=again)
    assert calls[4:] == ["toy.det"] and again.reused == [TOY]
    def scored(results):
        return [{k: v for k, v in r.as_json().items() if k != "seconds"} for r in results]
    assert scored(second) == scored(first)
    # other options, or other code, are another key: nothing is read back
    del calls[:]
    other = R.Checkpoint(tmp_path / "ck", replicates=3)
    R.run_targets([TOY], replicates=3, checkpoint=other)
    assert other.reused == [] and calls == [TOY] * 4
    monkeypatch.setattr(store, "code_version", lambda: "changed")
    changed = R.Checkpoint(tmp_path / "ck", replicates=3)
    R.run_targets([TOY], replicates=3, checkpoint=changed)
    assert changed.reused == [] and calls == [TOY] * 8
    fresh = R.Checkpoint(tmp_path / "ck", replicates=3, reuse=False)
    R.run_targets([TOY], replicates=3, checkpoint=fresh)
    assert fresh.reused == [] and len(calls) == 12
