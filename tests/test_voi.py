"""What would decide this (opiaxis.calibrate.voi): the value-of-information estimators on decisions
with a known answer, and on the decision-study patient whose choice turns on the bowel."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from opiaxis.calibrate.voi import evpi, evppi, preposterior_sd
from opiaxis.model.core import Variability


def _expected_positive_part(mu: float, sd: float) -> float:
    """E max(0, X) for X ~ N(mu, sd²)."""
    return sd * norm.pdf(mu / sd) + mu * norm.cdf(mu / sd)


def _toy(n: int, seed: int = 1):
    """Two options: L0 = 0, L1 = a + b·θ + c·ψ; ω enters neither. The posterior decision is option 0
    (a > 0); knowing θ is worth E max(0, −a − bθ) (closed form), knowing everything E max(0, −L1)."""
    rng = np.random.default_rng(seed)
    a, b, c = 0.3, 0.6, 0.25
    th, psi, om = rng.standard_normal((3, n))
    L = np.vstack([np.zeros(n), a + b * th + c * psi])
    return L, np.column_stack([th, psi, om]), (a, b, c)


def test_evppi_of_a_linear_decision_matches_its_closed_form():
    L, Z, (a, b, c) = _toy(20000)
    got = evppi(L, Z)
    want_theta = _expected_positive_part(-a, b)
    want_psi = _expected_positive_part(-a, c)
    assert got[0] == pytest.approx(want_theta, rel=0.05)
    assert got[1] == pytest.approx(want_psi, rel=0.10)
    assert got[2] < 0.01 * want_theta                      # ω does not enter the losses
    assert evpi(L) == pytest.approx(_expected_positive_part(-a, np.hypot(b, c)), rel=0.05)
    assert got[0] <= evpi(L) and got[1] <= evpi(L)         # partial information is worth at most perfect


def test_evppi_of_a_constant_parameter_is_zero_and_small_samples_are_biased_up():
    L, Z, _ = _toy(20)
    Z[:, 2] = 0.7
    assert evppi(L, Z)[2] == 0.0
    # with 20 draws a parameter that does not enter still gets a positive EVPPI (the bias the
    # permutation null guards against): shuffling the losses keeps it on average
    rng = np.random.default_rng(5)
    om = rng.standard_normal((400, 20))
    biased = np.mean([evppi(L, w[:, None])[0] for w in om])
    assert biased > 0.0


def test_one_measurement_of_an_informed_combination_leaves_the_parts_uncertain():
    """Two parameters whose sum the record fixed (posterior SD of each 0.7, correlation −0.96): a
    measurement of the sum again changes little; one of the first alone cuts both SDs by over a third."""
    sd, rho = 0.7, -0.96
    Sigma = sd ** 2 * np.array([[1, rho], [rho, 1]])
    S = np.array([[1.0, 1.0], [2.0, 0.0]])          # sensitivities (noise SDs per SD): the sum; the first alone
    after = preposterior_sd(Sigma, S)
    assert after[0] == pytest.approx(np.sqrt(np.diag(Sigma)), rel=0.02)
    s = S[1]
    want = np.sqrt(np.diag(Sigma) - (Sigma @ s) ** 2 / (1 + s @ Sigma @ s))
    assert after[1] == pytest.approx(want)
    assert (after[1] < 0.65 * sd).all()


@pytest.mark.parametrize("kind,typical", [("lognormal", 3.0), ("normal", -1.0), ("logitnormal", 0.2)])
def test_z_of_inverts_apply(kind, typical):
    v = Variability(kind, 0.4)
    z = np.array([-2.0, 0.0, 1.3])
    assert v.z_of(typical, v.apply(typical, z)) == pytest.approx(z)


# ----------------------------------------------------------------------------------------------
# the decision study's hpa_depressed-1 (assumed noise, informative design): its choice between an
# SSRI and naloxegol turns on the bowel and on naloxegol's own clearance (docs/precision-recovery.md)
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hpa_depressed_1(model):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import decision_terms
    from opiaxis.calibrate.recommend import load_options, recommend
    from opiaxis.calibrate.voi import value_of_information
    _, fit = decision_terms.patient_fit(model, "hpa_depressed", 1, "assumed", "informative", seed=3)
    rec = recommend(fit, horizon_days=28.0, draws=20, seed=3, consistent_draws=True)
    opts = load_options()
    return fit, rec, opts, value_of_information(fit, rec, options=opts, seed=3)


@pytest.mark.xfail(strict=True, reason="twelfth session's mood change: for hpa_depressed-1 the craving satiety (craving_satiety_agonism) now also decides between the contenders, beside the bowel and naloxegol's clearance. Thirteenth session, the SSRI re-anchored to the trials (antidepressant_effect 0.12 -> 0.045): the SSRI is no longer a contender; the contenders are buprenorphine 24/32/16/8 mg + PEG + naloxegol (EVPI 0.024), decided by gut_mor_imax (EVPPI 0.0093) and craving_satiety_agonism (0.0080), a choice of dose, not between the SSRI and naloxegol. Fourteenth session (--runxfail, with and without the pain slope): EVPI 0.018, craving_satiety_agonism 0.0060, gut_mor_imax 0.0039")
def test_the_bowel_and_naloxegol_decide_between_the_ssri_and_naloxegol(hpa_depressed_1):
    fit, rec, opts, v = hpa_depressed_1
    assert any("SSRI" in c for c in v.contenders) and any("naloxegol" in c for c in v.contenders)
    top = list(v.table["parameter"].head(5))
    assert {"gut_mor_imax", "sbm_rate_drug_free"} & set(top), top
    assert v.table["decides"].any()
    assert set(v.deciding()["parameter"]) <= {"naloxegol_CL", "gut_mor_imax", "sbm_rate_drug_free",
                                               "mood_trait_offset", "naloxegol_V1"}, v.deciding()
    assert 0 < v.table["evppi"].max() <= v.evpi + 1e-12
    assert v.table.set_index("parameter").loc["gut_mor_imax", "sd_ratio"] > 0.9   # the record hardly informs it


def test_a_drug_free_stool_count_informs_the_bowel_and_a_drug_level_needs_its_drug(hpa_depressed_1):
    from opiaxis.calibrate.voi import contenders, measurement_table
    fit, rec, opts, v = hpa_depressed_1
    m = measurement_table(fit, rec, ["sbm_rate_drug_free", "gut_mor_imax", "naloxegol_CL"], contenders(rec), opts)
    m = m.set_index(["parameter", "condition", "readout"])
    free = m.loc[("sbm_rate_drug_free", "drug-free", "sbm_week")]
    assert free["sd_after"] <= 0.9 * free["sd_now"]
    # the opioid's slowing of the bowel is invisible without an opioid, visible on one
    g = m.loc["gut_mor_imax"]
    assert ("drug-free", "sbm_week") not in g.index or abs(g.loc[("drug-free", "sbm_week"), "sensitivity"]) < 1e-6
    assert abs(g.loc[("on the record's treatment", "sbm_week"), "sensitivity"]) > 0.1
    # naloxegol's clearance: nothing informs it but a measurement on naloxegol, its level first
    n = m.loc["naloxegol_CL"]
    informative = n[n["sd_after"] <= 0.9 * n["sd_now"]].reset_index()
    assert len(informative) and informative["condition"].str.contains("naloxegol").all()
    assert informative.sort_values("sd_after")["readout"].iloc[0] == "naloxegol_conc"


def test_recommend_writes_what_would_decide_this(hpa_depressed_1, tmp_path, capsys):
    import pandas as pd
    from opiaxis.cli.precision import _write_voi
    fit, rec, opts, v = hpa_depressed_1
    _write_voi(fit, rec, opts, 3, tmp_path)
    t = pd.read_csv(tmp_path / "voi.csv")
    assert {"parameter", "evppi", "evppi_lo90", "evppi_hi90", "decides", "sd_ratio", "informed_by",
            "informative_readouts"} <= set(t.columns)
    assert list(t["parameter"]) == list(v.table["parameter"])          # the same draws and streams: reproducible
    assert "## What would decide this" in (tmp_path / "what-would-decide.md").read_text(encoding="utf-8")
    assert "what would decide this" in capsys.readouterr().out


def test_two_parameters_that_decide_only_together_show_as_a_pair():
    """L1 = a + b·θ·ψ: knowing θ or ψ alone is worth nothing (E(L1 | θ) = a), knowing both
    E max(0, −a − bθψ)."""
    from opiaxis.calibrate.voi import evppi_pairs
    rng = np.random.default_rng(3)
    n, a, b = 20000, 0.2, 0.8
    th, psi, om = rng.standard_normal((3, n))
    L = np.vstack([np.zeros(n), a + b * th * psi])
    Z = np.column_stack([th, psi, om])
    single = evppi(L, Z)
    pair = evppi_pairs(L, Z, [(0, 1), (0, 2)])
    want = np.maximum(0.0, -(a + b * th * psi)).mean()
    assert single.max() < 0.05 * want
    assert pair[0] == pytest.approx(want, rel=0.05)
    assert pair[1] < 0.05 * want


def test_a_recommendation_without_its_draws_is_refused():
    import pandas as pd
    from opiaxis.calibrate.recommend import Recommendation
    from opiaxis.calibrate.voi import value_of_information
    from opiaxis.errors import OpiaxisInputError
    rec = Recommendation("P1", pd.DataFrame(), pd.DataFrame())
    with pytest.raises(OpiaxisInputError, match="decision draws"):
        value_of_information(None, rec)
