"""Deep (two-layer) sparse coding (engine.deep.deep_sparse_coding): both dictionaries recovered from simulated
y = A2 A1 x, codes sparser up the hierarchy, and more examples giving smaller errors."""
import numpy as np
import pytest

from engine.deep.deep_sparse_coding import (DeepSparseConfig, dictionary_errors, learn_deep_sparse_coding, perturbed,
                                            simulate_deep_sparse)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

D, R2, R1, S, S_A1 = 30, 20, 40, 2, 3
START_ERROR = 0.3
MANY = R1 * R1


def learned(n, seed):
    rng = np.random.default_rng(seed)
    sim = simulate_deep_sparse(n, D, R2, R1, S, S_A1, 0.01, rng)
    start = (perturbed(sim.a2, START_ERROR, rng), perturbed(sim.a1, START_ERROR, rng))
    return sim, start, learn_deep_sparse_coding(sim.y, start, DeepSparseConfig())


@pytest.fixture(scope="module")
def many_examples():
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield learned(MANY, 0)
    torch.set_num_threads(threads)


def test_the_start_is_at_the_asked_filter_error(rng):
    atoms = rng.normal(size=(10, 6))
    np.testing.assert_allclose(dictionary_errors(perturbed(atoms, 0.3, rng), atoms), 0.3, atol=1e-9)


def test_both_dictionaries_are_recovered_and_the_codes_are_sparser_up_the_hierarchy(many_examples):
    sim, start, model = many_examples
    a2, a1 = model.dictionaries()
    assert dictionary_errors(start[0], sim.a2).min() > 0.29
    for errors in (dictionary_errors(a2, sim.a2), dictionary_errors(a1, sim.a1)):
        assert errors.mean() < 0.02 and np.mean(errors < 0.05) >= 0.9, errors
    x2, x = model.encode(sim.y)
    true_x2 = sim.x @ sim.a1.T
    np.testing.assert_allclose(model.decode(x), sim.y, atol=0.1)
    assert (x > 1e-6).mean() < 0.3 * (x2 > 1e-6).mean()  # x is sparser than x2, as the truth: 2/40 against <= 6/20
    assert abs((x2 > 1e-6).mean() - (true_x2 > 0).mean()) < 0.03


def test_more_examples_give_smaller_dictionary_errors(many_examples):
    sim, _, model = learned(MANY // 32, 0)
    few = dictionary_errors(model.dictionaries()[1], sim.a1).mean()
    sim, _, model = many_examples
    assert dictionary_errors(model.dictionaries()[1], sim.a1).mean() < 0.5 * few
