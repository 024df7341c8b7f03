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


def test_the_deep_sparse_command_learns_both_dictionaries_from_a_start_and_writes_them(tmp_path, capsys):
    import json
    from engine.cli.commands import main
    rng = np.random.default_rng(2)
    sim = simulate_deep_sparse(600, 20, 8, 16, 2, 2, 0.01, rng)
    np.save(tmp_path / "y.npy", sim.y)
    np.savez(tmp_path / "start.npz", a2=perturbed(sim.a2, START_ERROR, rng), a1=perturbed(sim.a1, START_ERROR, rng))
    assert main(["deep-sparse", str(tmp_path / "y.npy"), "--start", str(tmp_path / "start.npz"), "--iterations", "15",
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    with np.load(tmp_path / "y.dictionaries.npz") as learned:
        assert dictionary_errors(learned["a2"], sim.a2).mean() < 0.05
        assert dictionary_errors(learned["a1"], sim.a1).mean() < 0.05
    assert summary["atoms"] == [8, 16] and summary["nonzero_x"] < summary["nonzero_x2"]  # sparser up the hierarchy
    assert summary["residual_energy"] < 0.01


@pytest.mark.parametrize("args, problem", [
    ([], "give --atoms R2 R1, or --start"),
    (["--start", "Y"], "not an .npz of dictionaries"),
    (["--start", "SHAPES"], "do not fit 5-dimensional examples"),
    (["--atoms", "20", "30"], "10 examples cannot start 20 atoms"),
])
def test_the_deep_sparse_command_names_the_file_and_the_problem_in_one_line(tmp_path, capsys, args, problem):
    from tests.test_reliability_inputs import one_line_error
    y, shapes = tmp_path / "y.npy", tmp_path / "shapes.npz"
    np.save(y, np.random.default_rng(0).normal(size=(10, 5)))
    np.savez(shapes, a2=np.ones((4, 3)), a1=np.ones((3, 6)))
    args = [{"Y": str(y), "SHAPES": str(shapes)}.get(a, a) for a in args]
    named = shapes if str(shapes) in args else y
    assert problem in one_line_error(capsys, "deep-sparse", y, *args, names=named if args else "")
