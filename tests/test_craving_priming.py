"""Drug priming of craving (reward module, equation 7; 2026-11-30).

A dose of the drug reinstates wanting for hours (de Wit & Stewart, Psychopharmacology 1983;79:29;
Stewart & Wise, Psychopharmacology 1992;108:79: 1–4 h after morphine); in methadone patients an
extra 33% of the daily dose raised heroin craving against placebo (Curran et al., Addiction
1999;94:665). The model's priming drive is the rising net hedonic effect a − B acting as a cue on
the learnt association; μ satiety acts on the level of agonism. So an extra dose raises craving
while its effect rises and lowers it once the rise is over; a steady level primes nothing; and
hedonic tolerance shrinks the prime.
"""

import numpy as np
import pytest

from opiaxis.validate.targets_pk import typical_patient

T_S = 59 * 24.0  # the 60th daily dose
MAINTENANCE = "methadone 50 mg oral daily for 60 d"


@pytest.fixture(scope="module")
def extra_dose():
    t = np.concatenate([np.arange(0.0, T_S, 6.0), T_S + np.array([-1e-3, 2.0, 12.0])])
    out = {}
    for arm, extra in (("placebo", []), ("extra", [f"methadone 16.5 mg oral once at {T_S:g} h"])):
        r = typical_patient([MAINTENANCE] + extra, t)
        out[arm] = {v: r.get(v)[0][-3:] for v in ("craving", "craving_priming")}
    return out


def test_an_extra_dose_primes_craving_while_its_effect_rises(extra_dose):
    p, e = extra_dose["placebo"], extra_dose["extra"]
    assert e["craving_priming"][1] > p["craving_priming"][1] > 0      # 2 h: both doses prime, the larger more
    assert e["craving"][1] > p["craving"][1]                           # Curran 1999: craving higher than placebo


def test_satiety_still_lowers_craving_once_the_rise_is_over(extra_dose):
    p, e = extra_dose["placebo"], extra_dose["extra"]
    assert p["craving_priming"][0] == 0 and e["craving_priming"][2] == 0   # steady level (trough) and 12 h: no prime
    assert e["craving"][2] < p["craving"][2]                                 # 12 h: more agonism, less craving


def test_hedonic_tolerance_shrinks_the_prime():
    """The same heroin dose primes a detoxified former user (tolerance lost) far more than a
    methadone-maintained patient (hedonic tolerance ~0.9)."""
    t_h = 58 * 24.0
    t = np.concatenate([np.arange(0.0, t_h, 6.0), t_h + np.array([0.25, 0.5, 1.0])])
    dose = [f"heroin 10 mg IV once at {t_h:g} h"]
    detox = typical_patient(["heroin 25 mg IV q6h for 28 d"] + dose, t).get("craving_priming")[0][-3:].max()
    mmt = typical_patient(["methadone 50 mg oral daily for 59 d"] + dose, t).get("craving_priming")[0][-3:].max()
    assert detox > 5 * mmt > 0
