"""Where the model's hyperalgesia after one month of oral morphine comes from (fifteenth session).

The held-out pred.pain.morphine_month_no_oih (Chu et al., Pain 2012;153:1583: no OIH after a month of
SR morphine, mean 78 mg/day) is missed: day-30 trough pain sensitivity 1.74× (band ≤ 1.10×). These
tests pin the measured decomposition in that scenario (morphine 40 mg oral ER bid for 30 d, chronic
non-cancer pain, nociceptive_drive 1.5), so that a later change to the glia, immune or pain modules
that alters it is noticed:

* M3G at TLR4 (``glia_tlr4_m3g_weight`` and ``tlr4_m3g_weight``, both assumed 1) carries about
  0.32 of the 0.74 excess (1.743 → 1.420 with both set to 0). Setting them to 0 was measured and not
  kept: dti.recovery, pred.dti.duration and mood.oud.prevalence are lost (heroin users' glial and
  cytokine drive rests on M3G too; docs/validation.md, fifteenth session).
* OIH alone (glial path removed with glial_modulator_inhibition 1) still gives 1.32×, above the
  band: the miss is not the M3G assumption alone.
"""

import numpy as np
import pytest

from opiaxis.validate.targets_pk import typical_patient

REGIMEN = ["morphine 40 mg oral ER bid for 30 d"]
T = np.array([0.0, 30 * 24.0])


def _sensitivity(**over):
    r = typical_patient(REGIMEN, T, overrides=dict(over, nociceptive_drive=1.5))
    g = r.get("pain_sensitivity")[0]
    return float(g[1] / g[0]), r


@pytest.fixture(scope="module")
def default_run():
    return _sensitivity()


def test_default_month_of_morphine_is_hyperalgesic(default_run):
    g, r = default_run
    assert 1.6 < g < 1.9                                   # measured 1.743
    assert 0.2 < float(r.get("oih_level")[0, 1]) < 0.35     # measured 0.280


def test_m3g_tlr4_carries_a_large_share_of_the_excess(default_run):
    g0, _ = default_run
    g, r = _sensitivity(glia_tlr4_m3g_weight=0.0, tlr4_m3g_weight=0.0)
    assert g0 - g > 0.25                                   # measured 1.743 → 1.420
    assert float(r.get("drg_macrophages")[0, 1]) < 0.2      # measured 0.77 → 0.12


def test_oih_alone_exceeds_the_no_oih_band():
    g, r = _sensitivity(glial_modulator_inhibition=1.0)
    assert float(r.get("spinal_sensitization")[0, 1]) == pytest.approx(0.0, abs=1e-9)
    assert g > 1.10                                        # measured 1.320
