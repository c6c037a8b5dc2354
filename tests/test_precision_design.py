"""Data that discriminate between candidates (issue 15): a methadone PK test dose must narrow the
posterior of the methadone parameters that the decision draws use, where a buprenorphine-only
history leaves them at their population spread; the transcutaneous PCO2 read-out reads PaCO2."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))


def test_transcutaneous_pco2_reads_paco2_and_converts_kpa(model):
    from opiaxis.calibrate import read_patients
    df = pd.DataFrame([
        {"patient": "T", "kind": "regimen", "time": 0, "name": "heroin 20 mg IV q8h for 2 d", "value": "", "unit": ""},
        {"patient": "T", "kind": "measurement", "time": 1, "name": "ptcco2", "value": 6.0, "unit": "kPa"},
    ])
    data = read_patients(df, model)["T"]
    assert data.measurements["value"].iloc[0] == pytest.approx(6.0 * 7.50062, rel=1e-4)


def _methadone_cl_draws(model, design: str) -> tuple[float, object]:
    import decision_study as ds
    from opiaxis.calibrate.fit import fit_patient, read_patients, synthetic_table
    P = ds.true_parameters(model, {}, {}, 3, "typical-1")
    regimens, visits = ds.DESIGNS[design]
    df = synthetic_table(model, P, ds.REGIMENS + regimens, {**ds.VISITS, **visits}, patient="typical-1", seed=3)
    fit = fit_patient(read_patients(df, model)["typical-1"], model)
    z = np.log(fit.draw_parameters(400, 0)[:, model.param_index["methadone_CL"]])
    return float(np.subtract(*np.percentile(z, [95, 5])) / (2 * 1.6449)), fit  # the 90% range as an SD


def test_methadone_test_dose_narrows_the_decision_draws_of_methadone_clearance(model):
    omega = float(np.sqrt(np.log1p(0.45 ** 2)))  # methadone CL: cv 0.45 (data/drugs.yaml)
    std, fit_std = _methadone_cl_draws(model, "standard")
    inf, fit_inf = _methadone_cl_draws(model, "informative")
    # without methadone in the record its clearance is not even screened: the population spread
    assert "methadone_CL" not in set(fit_std.screen["parameter"])
    assert 0.8 * omega < std < 1.25 * omega, (std, omega)
    # the test dose's four levels inform it: fitted, and the decision draws at most 70% as wide
    row = fit_inf.table.set_index("parameter").loc["methadone_CL"]
    assert row["fitted"] and row["sd_ratio"] < 0.7, row
    assert inf < 0.7 * omega, (inf, omega)


@pytest.fixture(scope="module")
def typical_informative(model):
    import decision_study as ds
    return ds.one_patient(model, "typical", 1, "assumed", seed=3, draws=20, horizon=28.0, design="informative")


@pytest.fixture(scope="module")
def typical_informative_fit(model):
    import decision_study as ds
    from opiaxis.calibrate.fit import fit_patient, read_patients, synthetic_table
    P = ds.true_parameters(model, {}, {}, 3, "typical-1")
    regimens, visits = ds.DESIGNS["informative"]
    df = synthetic_table(model, P, ds.REGIMENS + regimens, {**ds.VISITS, **visits}, patient="typical-1", seed=3)
    return P, fit_patient(read_patients(df, model)["typical-1"], model)


TENTH = ("tenth session: SBM/week now counts the heroin week (the gut module's expected count over the week, not the "
         "rate at the intake visit's heroin trough); typical-1's four counts (12, 17, 14, 16) lie above their expected "
         "8.8, 12.3, 14.7, 11.8, the posterior reads a gut little slowed by agonists (gut_mor_imax z -0.85, truth -0.36; "
         "main -0.51) and puts methadone level with buprenorphine (draws 0.005 loss units against the truth's 0.18), "
         "ranking methadone + PEG + naloxegol first, regret 0.18 (docs/precision-recovery.md, 'Issue 15, tenth session'). "
         "Fourteenth session (measured with --runxfail on 186fa37 and with the pain slope): the sign is now right but "
         "the draws overweigh methadone's cost, 0.433 loss units against the truth's 0.131 (ratio 3.3, the test asks < 2)")


@pytest.mark.xfail(strict=True, reason=TENTH)
def test_informative_design_weighs_methadone_against_buprenorphine_as_the_truth_does(typical_informative_fit):
    """typical-1 of the decision study, informative design (a methadone test dose's levels and the
    heroin-week PtcCO2): the posterior's expected-loss difference between methadone 30→60 mg and
    buprenorphine 32 mg, each + PEG + naloxegol, has the truth's sign and is within a factor of 2 of
    it. (Until the sixth session typical-1's true best was a methadone combination and this test
    asked that it be ranked first; on the seventh session's model its true best is buprenorphine 32
    mg + PEG + naloxegol, methadone worse by ~0.21 loss units, and no decision-study patient has a
    methadone truth.) The posterior's difference is estimated on 200 draws: on 20 (until the tenth
    session) it was a Monte Carlo coin toss — on main, draw seeds 3–7 gave 0.13, 0.19, 0.47, 0.11 and
    −0.03 against a truth of 0.18, and adding one variable parameter to the model (which re-draws the
    unfitted parameters after it in ``FitResult.draw_parameters``) moved seed 3 to 0.017; 200 draws give
    0.14 (main) and 0.11 (with the octt parameter)."""
    from opiaxis.calibrate.recommend import combination_outcomes, composite, load_options
    P, fit = typical_informative_fit
    opts = load_options()
    adj = ("osmotic laxative (PEG 17 g/day)", "PAMORA naloxegol 25 mg/day")
    combos = [("methadone 30→60 mg/day", adj), ("buprenorphine 32 mg/day", adj)]
    diff = {}
    for label, rows in (("draws", fit.draw_parameters(200, 3)), ("truth", P[None])):
        a, b = (composite(o, opts.weights) for o in combination_outcomes(fit, combos, rows.copy(), options=opts).values())
        diff[label] = float(np.mean(a) - np.mean(b))
    assert abs(diff["truth"]) > 0.1, diff                      # the truth separates them by more than the MID
    assert np.sign(diff["draws"]) == np.sign(diff["truth"]), diff
    assert 0.5 < diff["draws"] / diff["truth"] < 2.0, diff


def test_informative_design_ranks_the_true_best_combination_first(typical_informative):
    """A strict xfail in the sixth pass (rank 1 methadone + PEG + naloxegol; the SSRI's gain depends on
    how close a euthymic patient's mood is to its tipping point, which four MADRS scores cannot tell:
    a posterior margin of ~0.02 loss units). It passes on the model after the sixth session's merges
    (naloxegol's measured exposure, the O2 store, the solver's restarts); a close call, so a model
    change can move it back (docs/precision-recovery.md, 'Issue 15, sixth pass'). A strict xfail for part
    of the tenth session (typical-1 ranked methadone first with Poisson weekly counts); a hit again since
    the counts are negative binomial (the diary's week-to-week frailty) and the unfitted decision draws
    are drawn by parameter name. A strict xfail in the twelfth session (its mood change made + SSRI + PEG
    typical-1's true best by 0.016, a tie, with the SSRI's effect size set on the old mood dynamics); a hit
    again since the thirteenth session re-anchored the SSRI to the trials' drug–placebo difference
    (antidepressant_effect 0.12 → 0.045, opiaxis calibrate mood.antidepressant)."""
    r = typical_informative
    assert r["hit"], (r["recommended"], r["true_best"], r["regret"])


@pytest.fixture(scope="module")
def depressed_fit(model):
    """low_bup_F_pain-1 of the decision study (informative design, assumed noise): MADRS 32-35 at
    all four visits; at the population median the model predicts ~2 (euthymic)."""
    import decision_study as ds
    from opiaxis.calibrate.fit import fit_patient, read_patients, synthetic_table
    cov, shifts = ds.PHENOTYPES["low_bup_F_pain"]
    P = ds.true_parameters(model, cov, shifts, 3, "low_bup_F_pain-1")
    regimens, visits = ds.DESIGNS["informative"]
    df = synthetic_table(model, P, ds.REGIMENS + regimens, {**ds.VISITS, **visits}, patient="low_bup_F_pain-1",
                         seed=3, covariates=cov)
    return P, fit_patient(read_patients(df, model)["low_bup_F_pain-1"], model)


@pytest.mark.xfail(strict=True, reason="twelfth session's mood change: low_bup_F_pain-1 (trait +2.35 SD of the re-fitted SD 0.0375) is euthymic on this model (MADRS 2, 7, 7, 7 at the visits; was 32-35), so the record shows no switch and the screen rightly leaves the trait unfitted. Thirteenth session: no decision-study patient can replace it. true_parameters clips the trait at +2.5 SD = 0.094, below the drive that tips an episode (0.096), so no patient without a depression history is in one (the five highest-trait patients, replicates 1-20 of seed 3: MADRS <= 7 at all visits); the hpa_depressed patients are in an episode already at their covariates' population median (local information 0.218, nothing for the nonlinear screen to promote: no hidden switch); low_bup_F_pain-1 with a recorded depression history (MADRS 33-37) has local information 0.367 > 0.3. The test needs a patient the study cannot draw; docs/precision-recovery.md, 'Issue 15, thirteenth session'")
def test_a_switch_the_local_screen_cannot_see_is_fitted_when_the_data_show_it(model, depressed_fit):
    """The mood module is bistable: at the median trait the patient is euthymic and MADRS hardly
    moves with the trait (local information < 0.3), past the tipping point (+2.35 SD here) MADRS is
    ~30. The nonlinear screen (fit._nonlinear_screen) promotes the trait offset, the MAP started on
    the depressed side finds it, and its interval covers the truth (issue 15, sixth pass)."""
    P, fit = depressed_fit
    scr = fit.screen.set_index("parameter")
    assert scr.loc["mood_trait_offset", "local_information"] < 0.3
    assert "mood_trait_offset" in fit.names, fit.names
    assert set(fit.screen.attrs["start"]) & set(fit.names) == {"mood_trait_offset"}, fit.screen.attrs["start"]
    row = fit.table.set_index("parameter").loc["mood_trait_offset"]
    assert row["lower90"] <= P[model.param_index["mood_trait_offset"]] <= row["upper90"], row
    assert row["lower90"] > 0.0, row   # the data exclude the population median (euthymic)


@pytest.mark.xfail(strict=True, reason="on 200 decision draws the posterior prefers + PEG + naloxegol to + SSRI + PEG "
                   "by ~0.06 loss units (the truth the reverse by 0.155): the record's four MADRS cannot tell how far "
                   "past its tipping point the patient's mood sits (docs/precision-recovery.md, 'Issue 15, sixth pass'). "
                   "Since the twelfth session the fixture's patient is euthymic (the test above), so its premise is gone; "
                   "thirteenth session (SSRI 0.045): the draws prefer naloxegol by 0.150 (6.989 vs 7.139 loss units)")
def test_an_ssri_is_preferred_for_a_patient_in_an_episode(model, depressed_fit):
    """With the trait offset fitted, the posterior prefers buprenorphine 32 mg + SSRI + PEG to
    + PEG + naloxegol, as the truth does (by 0.155 loss units); before the nonlinear screen the
    posterior predicted a euthymic patient (MADRS ~2) and preferred naloxegol by ~0.05. A strict
    xfail from the seventh session (after the gut merge the draws preferred naloxegol by ~0.04); on 20
    draws a coin toss (the tenth session's week-recall SBM/week flipped it once), so 200 draws since."""
    from opiaxis.calibrate.recommend import combination_outcomes, composite, load_options
    P, fit = depressed_fit
    opts = load_options()
    ssri, peg, nal = ("SSRI antidepressant (e.g. sertraline 100 mg/day)", "osmotic laxative (PEG 17 g/day)",
                      "PAMORA naloxegol 25 mg/day")
    combos = [("buprenorphine 32 mg/day", (ssri, peg)), ("buprenorphine 32 mg/day", (peg, nal))]
    for rows in (fit.draw_parameters(200, 3), P[None]):   # 200 draws: on 20 a Monte Carlo coin toss
        a, b = (composite(o, opts.weights) for o in combination_outcomes(fit, combos, rows.copy(), options=opts).values())
        assert np.mean(a) < np.mean(b), (np.mean(a), np.mean(b))
