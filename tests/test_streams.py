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


def test_named_normals_are_keyed_by_name_and_patient():
    from opiaxis.streams import Purpose, Streams
    s = Streams(11)
    ids = np.arange(1, 2001)
    a = s.named_normals(ids, Purpose.PARAMETERS, ["k_a", "k_b"])
    b = s.named_normals(ids[::-1][:500], Purpose.PARAMETERS, ["new_one", "k_b", "k_a"])
    # adding and reordering names, and another cohort/chunk, leave each (patient, name) draw alone
    assert np.array_equal(b[:, 1], a[::-1][:500, 1]) and np.array_equal(b[:, 2], a[::-1][:500, 0])
    # different seed, purpose or name: different numbers
    assert not np.allclose(a[:, 0], a[:, 1])
    assert not np.allclose(a, Streams(12).named_normals(ids, Purpose.PARAMETERS, ["k_a", "k_b"]))
    assert not np.allclose(a, s.named_normals(ids, Purpose.COVARIATES, ["k_a", "k_b"]))


def test_named_normals_are_standard_normal_and_independent():
    from scipy import stats

    from opiaxis.streams import Purpose, Streams
    z = Streams(3).named_normals(np.arange(100_000), Purpose.PARAMETERS, [f"p{k}" for k in range(4)])
    assert np.abs(z.mean(0)).max() < 0.02 and np.abs(z.std(0) - 1).max() < 0.02
    assert np.abs(np.corrcoef(z.T) - np.eye(4)).max() < 0.02
    assert stats.kstest(z[:, 0], "norm").pvalue > 0.001
    # consecutive patient ids are not correlated either
    assert abs(np.corrcoef(z[:-1, 0], z[1:, 0])[0, 1]) < 0.02


def test_a_new_module_does_not_redraw_other_parameters():
    """Adding a module's varying parameters leaves every existing parameter of every patient as
    it was (draws are keyed by parameter name, not position)."""
    from opiaxis.models import build_model
    from opiaxis.population import sample_parameters
    small = build_model(modules=["pk", "receptors"])
    big = build_model(modules=["pk", "receptors", "adaptation"])
    ids = np.arange(1, 51)
    A = sample_parameters(small, ids, 5)
    B = sample_parameters(big, ids, 5)
    for name in small.parameter_names:
        assert np.array_equal(A[:, small.param_index[name]], B[:, big.param_index[name]]), name
