"""One source of random numbers: a patient's draws for a purpose depend only on (seed, purpose,
patient id, key) — not on the cohort, its order, or the draws made for other purposes."""
import numpy as np
import pytest

from opiaxis.errors import OpiaxisInputError
from opiaxis.streams import Purpose, Streams


def test_a_patients_draws_do_not_depend_on_the_cohort():
    s = Streams(42)
    whole = s.normals(np.arange(1, 201), Purpose.PARAMETERS, 3)
    part = s.normals([150, 7, 99], Purpose.PARAMETERS, 3)
    np.testing.assert_array_equal(part, whole[[149, 6, 98]])


def test_purposes_seeds_and_keys_give_different_streams():
    ids = np.arange(1, 101)
    a = Streams(42).uniforms(ids, Purpose.ARM)
    assert not np.array_equal(a, Streams(42).uniforms(ids, Purpose.CHOICE))
    assert not np.array_equal(a, Streams(43).uniforms(ids, Purpose.ARM))
    assert not np.array_equal(Streams(42).uniforms(ids, Purpose.READOUT, 1, "cows"),
                              Streams(42).uniforms(ids, Purpose.READOUT, 1, "il6_serum"))
    np.testing.assert_array_equal(a, Streams(42).uniforms(ids, Purpose.ARM))


def test_randomisation_follows_the_allocation_ratio():
    arm = Streams(7).randomise(np.arange(1, 30001), [1, 2, 1])
    frac = np.bincount(arm, minlength=3) / len(arm)
    np.testing.assert_allclose(frac, [0.25, 0.5, 0.25], atol=0.01)


@pytest.mark.parametrize("weights", [[1, 0], [1, -1], [np.nan], []])
def test_bad_weights_are_an_input_error(weights):
    with pytest.raises(OpiaxisInputError, match="weights"):
        Streams(1).randomise([1, 2], weights)


def test_a_seed_must_be_an_integer():
    with pytest.raises(OpiaxisInputError, match="seed"):
        Streams(1.5)
