"""Observation layer: assay noise, censoring, scales, screens, counts, reproducibility, PEtab."""

import numpy as np
import pandas as pd
import pytest

from opiaxis.errors import OpiaxisInputError
from opiaxis.observe import (PETAB_COLUMNS, load_readouts, observe, to_petab_measurements,
                             visit_schedule, write_measurements)


def table(variable, values, unit, times=(0.0,), ids=None):
    """A tidy results table with one variable; ``values`` has shape (patients,) or (patients, times)."""
    v = np.asarray(values, float)
    if v.ndim == 1:
        v = np.repeat(v[:, None], len(times), axis=1)
    ids = np.arange(1, v.shape[0] + 1) if ids is None else np.asarray(ids)
    return pd.DataFrame({"patient": np.repeat(ids, len(times)), "time": np.tile(np.asarray(times, float), len(ids)),
                         "variable": variable, "value": v.reshape(-1), "unit": unit})


def write_defs(tmp_path, text):
    p = tmp_path / "readouts.yaml"
    p.write_text(text)
    return p


# ---------------------------------------------------------------------------------------------- definitions

def test_shipped_readouts_cover_the_list_and_cite_their_noise(model):
    defs = load_readouts()
    kinds = {r.kind for r in defs.values()}
    assert kinds == {"continuous", "scale", "binary", "poisson", "counts", "diversity"}
    for name in ["tnf_serum", "il6_serum", "il10_serum", "il1b_serum", "crp_serum", "cortisol_serum",
                 "acth_plasma", "oxytocin_plasma_total", "lps_plasma", "lbp_plasma", "scd14_plasma",
                 "stool_16s", "stool_shannon", "scfa_stool", "uds_opiates", "uds_fentanyl", "pet_mor_bpnd",
                 "dti_fa_frontal", "cows", "craving_vas", "madrs", "hamd17", "phq9", "pain_nrs", "bfi", "sbm_week"]:
        assert name in defs, name
    for r in defs.values():
        if r.noise.model != "none":
            assert r.noise.source.strip(), r.name
    # every drug concentration of the model has a read-out
    covered = {v for r in defs.values() for v in r.variables}
    plasma = [v for v in model.assignment_index if v.endswith("_plasma")
              and any(k.startswith(v[:-7] + ".") for k in model.dose_targets)]
    assert plasma and set(plasma) <= covered


@pytest.mark.parametrize("entry, field", [
    ("x: {variable: il6_plasma, unit: pg/mL, noise: {model: lognormal, cv: -0.1, source: s}}", "readouts.x.noise.cv"),
    ("x: {variable: il6_plasma, unit: pg/mL, noise: {model: gamma, cv: 0.1, source: s}}", "readouts.x.noise.model"),
    ("x: {variable: il6_plasma, unit: pg/mL, noise: {model: lognormal, cv: 0.1}}", "readouts.x.noise.source"),
    ("x: {variable: il6_plasma, noise: {model: none}}", "readouts.x.unit"),
    ("x: {variable: il6_plasma, unit: furlongs_per_wibble}", "readouts.x.unit"),
    ("x: {variable: il6_plasma, unit: pg/mL, lloq: {value: 5, source: s}, uloq: {value: 1, source: s}}", "readouts.x.uloq"),
    ("x: {kind: scale, variable: cows_score, unit: points, bounds: [48, 0]}", "readouts.x.bounds"),
    ("x: {kind: spectral, variable: cows_score, unit: points}", "readouts.x.kind"),
    ("x: {variable: il6_plasma, unit: pg/mL, lloq_value: 3}", "readouts.x.lloq_value"),
    ("x: {kind: binary, variable: morphine_plasma, unit: ng/mL}", "readouts.x.cutoff"),
])
def test_malformed_entry_names_file_entry_and_field(tmp_path, entry, field):
    p = write_defs(tmp_path, "readouts:\n  " + entry + "\n")
    with pytest.raises(OpiaxisInputError) as exc:
        load_readouts(p)
    assert exc.value.field == field
    assert str(p) in str(exc.value) and exc.value.line == 2


# ---------------------------------------------------------------------------------------------- noise

def test_lognormal_noise_has_the_declared_cv_and_keeps_the_mean():
    n = 20000
    obs = observe(table("il6_plasma", np.full(n, 5.0), "pg/mL"), ["il6_serum"], seed=11)
    cv = load_readouts()["il6_serum"].noise.cv
    v = obs["value"].to_numpy()
    assert (obs["censored"] == "").all()
    assert v.std() / v.mean() == pytest.approx(cv, rel=0.05)
    assert v.mean() == pytest.approx(5.0, rel=0.005)


def test_combined_normal_noise_sd(tmp_path):
    p = write_defs(tmp_path, "readouts:\n  y: {variable: v, unit: mg/L, noise: {model: normal, cv: 0.1, sd: 0.5, source: s}}\n")
    n = 20000
    obs = observe(table("v", np.full(n, 10.0), "mg/L"), ["y"], seed=3, definitions=p)
    assert obs["value"].std() == pytest.approx(np.hypot(0.1 * 10, 0.5), rel=0.05)
    assert obs["value"].mean() == pytest.approx(10.0, abs=0.03)


def test_lloq_and_uloq_censoring():
    vals = np.r_[np.full(50, 0.01), np.full(50, 3.0), np.full(50, 1e5)]
    obs = observe(table("il6_plasma", vals, "pg/mL"), ["il6_serum"], seed=1).sort_values("patient")
    r = load_readouts()["il6_serum"]
    low, mid, high = obs.iloc[:50], obs.iloc[50:100], obs.iloc[100:]
    assert (low["censored"] == "<LLOQ").all() and low["value"].isna().all() and (low["limit"] == r.lloq).all()
    assert (mid["censored"] == "").all() and mid["value"].notna().all() and mid["limit"].isna().all()
    assert (high["censored"] == ">ULOQ").all() and (high["limit"] == r.uloq).all()


def test_unit_conversion_and_reference_for_relative_latents():
    # cortisol given in ug/dL -> reported in nmol/L through its molar mass (1 ug/dL = 27.59 nmol/L)
    obs = observe(table("cortisol_plasma", np.full(4000, 10.0), "ug/dL"), ["cortisol_serum"], seed=2)
    assert obs["unit"].iloc[0] == "nmol/L"
    assert obs["value"].mean() == pytest.approx(275.9, rel=0.01)
    # a dimensionless (relative-to-normal) latent is scaled by the reference
    obs = observe(table("cortisol", np.full(4000, 2.0), "dimensionless"), ["cortisol_serum"], seed=2)
    assert obs["value"].mean() == pytest.approx(600, rel=0.01)
    # an impossible conversion of an explicitly requested read-out is an error naming the field
    with pytest.raises(OpiaxisInputError) as exc:
        observe(table("cortisol_plasma", np.full(3, 10.0), "mm"), ["cortisol_serum"], seed=2)
    assert exc.value.field == "readouts.cortisol_serum.unit"


# ---------------------------------------------------------------------------------------------- kinds

@pytest.mark.parametrize("readout, variable, lo, hi", [("cows", "cows_score", 0, 48), ("pain_nrs", "pain_nrs", 0, 10),
                                                       ("madrs", "madrs_score", 0, 60), ("phq9", "phq9_score", 0, 27)])
def test_scales_are_integers_within_bounds(readout, variable, lo, hi):
    latent = np.linspace(-5, hi + 10, 3000)
    obs = observe(table(variable, latent, "dimensionless"), [readout], seed=5)
    v = obs["value"].to_numpy()
    assert np.all(v == np.round(v)) and v.min() == lo and v.max() == hi
    assert obs["unit"].iloc[0] == "points"


def test_urine_screen_is_positive_above_cutoff():
    morphine = np.r_[np.full(500, 0.01), np.full(500, 50.0)]  # urine ~1.5 vs ~7500 ng/mL
    obs = observe(table("morphine_plasma", morphine, "ng/mL"), ["uds_opiates"], seed=4).sort_values("patient")
    assert set(obs["value"].unique()) <= {0.0, 1.0}
    assert obs["value"].iloc[:500].sum() == 0 and obs["value"].iloc[500:].all()


def test_weekly_counts_have_the_latent_mean_and_the_diarys_week_to_week_scatter():
    # negative binomial: Poisson around the expected count times the gut trials' week-to-week gamma
    # frailty (shape SBM_DISPERSION), so variance = mean + mean²/shape
    from opiaxis.physiology.gut import SBM_DISPERSION
    assert load_readouts()["sbm_week"].noise.cv == pytest.approx(SBM_DISPERSION ** -0.5, rel=1e-4)
    obs = observe(table("sbm_rate", np.full(20000, 3.0), "1/week"), ["sbm_week"], seed=9)
    v = obs["value"].to_numpy()
    assert np.all(v == np.round(v)) and v.mean() == pytest.approx(3.0, rel=0.02)
    assert v.var() == pytest.approx(3.0 + 9.0 / SBM_DISPERSION, rel=0.05)


def test_the_fit_scores_a_weekly_count_by_its_negative_binomial_likelihood():
    from scipy.stats import nbinom
    from opiaxis.calibrate.fit import residuals_for
    r = load_readouts()["sbm_week"]
    k = r.noise.cv ** -2
    for y in (0.0, 2.0, 7.0):
        for mu in (0.5, 3.0, 8.0):
            res = residuals_for(r, np.array([mu]), np.array([y]), np.array([""]), np.array([np.nan]))[0]
            nll = -nbinom.logpmf(y, k, k / (k + mu)) + nbinom.logpmf(y, k, k / (k + max(y, 1e-9)))
            assert res * res / 2 == pytest.approx(nll, rel=1e-6, abs=1e-9)
            assert np.sign(res) == np.sign(mu - y)


def test_16s_counts_and_diversity_agree():
    n, taxa = 300, {"guild_bacteroides": 0.5, "guild_akkermansia": 0.3, "guild_enterococcus": 0.2}
    t = pd.concat([table(k, np.full(n, a), "dimensionless", times=(0.0, 24.0)) for k, a in taxa.items()])
    obs = observe(t, ["stool_16s", "stool_shannon", "stool_richness"], seed=8)
    counts = obs[obs["measurement"].str.startswith("stool_16s_")]
    assert set(counts["measurement"]) == {"stool_16s_bacteroides", "stool_16s_akkermansia", "stool_16s_enterococcus"}
    C = counts.pivot_table(index=["patient", "time"], columns="measurement", values="value")
    assert np.all(C.to_numpy() == np.round(C.to_numpy()))
    frac = C.sum() / C.to_numpy().sum()
    assert frac["stool_16s_bacteroides"] == pytest.approx(0.5, abs=0.02)
    P = C.to_numpy() / C.to_numpy().sum(axis=1, keepdims=True)
    shannon = -(np.where(P > 0, P * np.log(np.where(P > 0, P, 1)), 0)).sum(axis=1)
    sh = obs[obs["measurement"] == "stool_shannon"].set_index(["patient", "time"])["value"].loc[C.index]
    np.testing.assert_allclose(sh.to_numpy(), shannon)
    # diversity alone reproduces the same draws
    alone = observe(t, ["stool_shannon"], seed=8).set_index(["patient", "time"])["value"].loc[C.index]
    np.testing.assert_array_equal(alone.to_numpy(), sh.to_numpy())


# ---------------------------------------------------------------------------------------------- availability

def test_absent_latent_is_skipped_with_a_note_and_unknown_readout_is_an_error(model):
    t = table("il6_plasma", np.full(10, 2.0), "pg/mL")
    obs = observe(t, ["il6_serum", "madrs"], seed=1)
    assert set(obs["measurement"]) == {"il6_serum"}
    assert any(n.startswith("madrs: skipped") for n in obs.attrs["notes"])
    obs = observe(t, ["il6_serum", "pet_mor_bpnd"], seed=1, model=model)
    assert any("pet_mor_bpnd" in n and "study outputs" in n for n in obs.attrs["notes"])
    with pytest.raises(OpiaxisInputError) as exc:
        observe(t, ["il6_serun"], seed=1)
    assert exc.value.field == "readouts[0]" and "il6_serum" in str(exc.value)
    with pytest.raises(OpiaxisInputError):
        observe(t.drop(columns="variable"), None, seed=1)


# ---------------------------------------------------------------------------------------------- reproducibility

def _mixed_table(n=60):
    rng = np.random.default_rng(0)
    times = (0.0, 24.0, 168.0)
    return pd.concat([
        table("il6_plasma", rng.lognormal(0.5, 0.8, (n, 3)), "pg/mL", times),
        table("cows_score", rng.uniform(0, 30, (n, 3)), "dimensionless", times),
        table("morphine_plasma", rng.lognormal(0, 2, (n, 3)), "ng/mL", times),
        table("guild_other", rng.uniform(0.1, 1, (n, 3)), "dimensionless", times),
        table("guild_bacteroides", rng.uniform(0.1, 1, (n, 3)), "dimensionless", times),
    ], ignore_index=True)


def test_same_seed_same_values_whatever_the_chunking():
    t = _mixed_table()
    keys = ["patient", "measurement", "time"]
    whole = observe(t, None, seed=42).sort_values(keys).reset_index(drop=True)
    again = observe(t, None, seed=42).sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(whole, again)
    chunks = [observe(t[t["patient"].isin(ids)], None, seed=42) for ids in (range(1, 17), range(17, 45), range(45, 61))]
    chunked = pd.concat(chunks, ignore_index=True).sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(whole, chunked)
    shuffled = observe(t.sample(frac=1.0, random_state=1), None, seed=42).sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(whole, shuffled)
    # a read-out's values do not depend on which other read-outs are requested
    only = observe(t, ["il6_serum"], seed=42).sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(only, whole[whole["measurement"] == "il6_serum"].reset_index(drop=True))
    other = observe(t, None, seed=43).sort_values(keys).reset_index(drop=True)
    il6 = whole["measurement"] == "il6_serum"
    assert not np.allclose(whole.loc[il6, "value"], other.loc[il6, "value"], equal_nan=True)


# ---------------------------------------------------------------------------------------------- visits, PEtab, files

def test_visit_schedule():
    t = table("il6_plasma", np.ones((3, 5)), "pg/mL", times=(0.0, 24.0, 48.0, 168.0, 336.0))
    v = visit_schedule(t, [0, "day 2", "1 week", "week 2"])
    assert sorted(v["time"].unique()) == [0.0, 48.0, 168.0, 336.0] and len(v) == 12
    with pytest.raises(OpiaxisInputError) as exc:
        visit_schedule(t, [0, 30])
    assert exc.value.field == "times[1]"


def test_petab_measurement_table(tmp_path):
    vals = np.r_[np.full(5, 0.01), np.full(5, 3.0)]
    obs = observe(table("il6_plasma", vals, "pg/mL", times=(0.0, 24.0)).assign(arm="bup16"), ["il6_serum"], seed=1)
    pe = to_petab_measurements(obs, observable_prefix="obs_")
    assert list(pe.columns) == PETAB_COLUMNS
    assert len(pe) == 10 and pe["measurement"].notna().all()          # censored rows dropped
    assert set(pe["observableId"]) == {"obs_il6_serum"}
    assert set(pe["simulationConditionId"]) == {f"patient_{i}" for i in range(6, 11)}
    assert (pe["preequilibrationConditionId"] == "").all() and (pe["noiseParameters"] == "").all()
    kept = to_petab_measurements(obs, condition="arm", censored="limit")
    assert len(kept) == 20 and set(kept["simulationConditionId"]) == {"bup16"}
    path = write_measurements(pe, tmp_path / "measurements.tsv")
    back = pd.read_csv(path, sep="\t", keep_default_na=False)
    assert list(back.columns) == PETAB_COLUMNS
    pq = write_measurements(obs, tmp_path / "m.parquet")
    assert len(pd.read_parquet(pq)) == len(obs)
