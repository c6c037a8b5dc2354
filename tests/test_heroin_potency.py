"""Heroin's central μ potency against the clinical heroin:morphine ratio (design memo
docs/design/heroin-potency.md). Heroin is ~2× as potent as morphine parenterally (Kaiko et al., NEJM
1981;304:1501: 1.6–2.6, IM), so with the conventional fentanyl:morphine ~100:1 heroin 5 mg IV ≡
fentanyl 80–130 µg IV. Its central signal must therefore peak within the fentanyl-referenced bracket,
not at the ~630 µg equivalent that 6-MAM's former constant (Kp,uu 1 assumed) gave."""

import numpy as np
import pytest

from opiaxis.models import build_model
from opiaxis.validate.targets_pk import typical_patient

TIMES = np.arange(0.0, 3.0 + 1e-9, 1 / 120)   # 30-s grid, 3 h


@pytest.fixture(scope="module")
def m():
    return build_model(modules=["pk", "receptors"])


def _peak(m, regimen, name="mor_signal_central"):
    r = typical_patient([regimen], TIMES, model=m)
    y = r.get(name)[0]
    return float(y.max()), r


def test_heroin_5mg_peaks_within_the_fentanyl_referenced_clinical_bracket(m):
    """Bracket widened to the memo's derivation range (6-MAM K 2.4–4.9 ng/mL ≡ fentanyl 55–117 µg):
    fentanyl 50 µg < heroin 5 mg < fentanyl 130 µg in peak central signal."""
    heroin, _ = _peak(m, "heroin 5 mg IV once")
    low, _ = _peak(m, "fentanyl 50 ug IV once")
    high, _ = _peak(m, "fentanyl 130 ug IV once")
    assert low < heroin < high


def test_6mam_carries_heroins_early_central_effect(m):
    """6-MAM, not heroin or morphine, is the mediator of heroin's early central effect (Gottås et al.,
    Br J Pharmacol 2013; Int J Neuropsychopharmacol 2014): at the peak its effect-site odds are most of
    the signal."""
    peak, r = _peak(m, "heroin 5 mg IV once")
    k = int(np.argmax(r.get("mor_signal_central")[0]))
    P = m.default_parameters()
    mam6 = r.get("mam6_effect")[0][k] / P[m.param_index["mam6_mor_central_K"]]
    assert mam6 > 0.8 * peak
