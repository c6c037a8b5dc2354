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
