"""Oral (prolonged-release) naloxone: the systemic exposure pinned to published human data (fifteenth session).

Sources (abstracts read):
* Smith et al., 'Low absolute bioavailability of oral naloxone in healthy subjects', Int J Clin Pharmacol Ther
  2012;50:360 (doi:10.5414/CP201646; volume/page recalled, the doi and abstract read): 28 healthy subjects, naloxone 1 mg IV (sampled 24 h) against single PR
  tablets of 5–120 mg (sampled 72 h); absolute F 0.9% (5 mg) to 2% (40–120 mg) on AUC(t), 1.9–2.2% on AUC(inf)
  for 20–120 mg; linear across the oral doses.
* The IV exposure per mg, two published values: Papathanasiou et al., Br J Anaesth 2019;123:e204 (CL 0.049
  L/kg/min, the model's disposition: 4.99 ng·h/mL per mg at 70 kg) and Skulberg et al., Addiction 2019;114:859
  (IN 1.4 mg AUC0-last 2.62 ng·h/mL at absolute F 0.49, i.e. 3.82 ng·h/mL per mg IV; IM 0.8 mg 3.09, i.e. 3.86
  per mg). No published plasma naloxone Cmax after a PR tablet was found in an abstract (the Targin label says
  the concentrations after OXN are too low for a PK analysis and uses naloxone-3-glucuronide instead), so the
  exposure is pinned by its extent (AUC), not its peak.
The absolute band for the AUC of one 20 mg PR tablet is F (1.9–2.2%) x 20 mg x the IV exposure per mg (3.82–4.99
ng·h/mL): 1.45–2.20 ng·h/mL; at steady state on 20 mg bid (oxycodone/naloxone PR 40/20) the mean plasma
naloxone is that AUC / 12 h: 0.121–0.183 ng/mL.
"""
import numpy as np
import pytest

from opiaxis.validate.targets_pk import typical_patient

F_BAND = (0.019, 0.022)                    # Smith 2012, AUC(inf), 20–120 mg
IV_AUC_PER_MG = (3.82, 4.99)               # ng·h/mL per mg IV: Skulberg 2019 (derived), Papathanasiou 2019
T_ORAL = np.arange(0.0, 72.0 + 1e-9, 0.05)  # Smith's 72 h sampling


def _auc(regimen: str, times) -> tuple[float, float]:
    r = typical_patient([regimen], times)
    c = r.get("naloxone_plasma")[0]
    return float(np.trapezoid(c, times)), float(c.max())


@pytest.fixture(scope="module")
def iv_auc_per_mg():
    return _auc("naloxone 1 mg IV once at 0 h", T_ORAL)[0]


def test_iv_exposure_inside_the_published_range(iv_auc_per_mg):
    assert IV_AUC_PER_MG[0] * 0.95 <= iv_auc_per_mg <= IV_AUC_PER_MG[1] * 1.05, iv_auc_per_mg


@pytest.mark.parametrize("dose", [20, 40, 120])
def test_oral_pr_absolute_bioavailability_is_smiths(dose, iv_auc_per_mg):
    """AUC(0–72 h) of one PR tablet over the IV AUC per mg: Smith's 1.9–2.2%, and linear in dose."""
    auc, _ = _auc(f"naloxone {dose} mg oral ER once at 0 h", T_ORAL)
    f = auc / (dose * iv_auc_per_mg)
    assert F_BAND[0] <= f <= F_BAND[1], f"F {100 * f:.2f}% at {dose} mg"


def test_oral_pr_20mg_absolute_exposure_and_low_peak():
    auc, cmax = _auc("naloxone 20 mg oral ER once at 0 h", T_ORAL)
    lo, hi = F_BAND[0] * 20 * IV_AUC_PER_MG[0], F_BAND[1] * 20 * IV_AUC_PER_MG[1]
    assert lo <= auc <= hi, auc
    # no published PR Cmax was found; the tablet must at least stay prolonged-release: its peak below that of a
    # 0.4 mg IM rescue dose (mean Cmax 0.74 ng/mL, Rezenopy label, FDA 2024, table 1; an immediate-release
    # profile of the same 0.4 mg absorbed would exceed it)
    assert cmax < 0.74, cmax


def test_oxn_40_20_bid_steady_state_mean_plasma_naloxone():
    t = np.arange(0.0, 7 * 24.0 + 1e-9, 0.1)
    r = typical_patient(["oxycodone 40 mg oral ER bid for 7 d", "naloxone 20 mg oral ER bid for 7 d"], t)
    sel = (t >= 6 * 24.0) & (t <= 6 * 24.0 + 12.0)
    cavg = float(r.get("naloxone_plasma")[0][sel].mean())
    lo, hi = F_BAND[0] * 20 * IV_AUC_PER_MG[0] / 12.0, F_BAND[1] * 20 * IV_AUC_PER_MG[1] / 12.0
    assert lo <= cavg <= hi, cavg
