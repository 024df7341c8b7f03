"""K-deep simplex (engine.manifold.k_deep_simplex): its prior's prox, its encoder against a solver, clustering
of planted manifolds, and the curation's re-cluster methods (engine.curation.recluster)."""
import numpy as np
import pytest
import torch
from scipy.optimize import minimize
from sklearn.cluster import KMeans
from sklearn.datasets import make_circles, make_moons

from engine.curation.recluster import RECLUSTER_METHODS, recluster
from engine.manifold.k_deep_simplex import (KDeepSimplexModel, KDSConfig, clustering_accuracy, k_deep_simplex,
                                            spectral_labels)
from engine.model.activations import LocalSimplex

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def simplex_minimum(objective, n):
    constraint = {"type": "eq", "fun": lambda x: x.sum() - 1.0}
    result = minimize(objective, np.full(n, 1.0 / n), bounds=[(0, None)] * n, constraints=[constraint],
                      method="SLSQP", options={"ftol": 1e-12, "maxiter": 500})
    return result.x


def test_the_local_simplex_activation_is_the_prox_of_its_weighted_l1_prior_on_the_simplex(rng):
    v, weights = rng.normal(size=(5, 6)), rng.uniform(0, 2, size=(5, 6))
    lam, step = 0.7, 0.4
    out = LocalSimplex(lam, torch.as_tensor(weights))(torch.as_tensor(v), step).numpy()
    for row in range(5):
        expected = simplex_minimum(lambda x: 0.5 * ((x - v[row]) ** 2).sum() + step * lam * weights[row] @ x, 6)
        np.testing.assert_allclose(out[row], expected, atol=1e-5)


def test_the_unrolled_encoder_solves_the_k_deep_simplex_problem(rng):
    atoms, points, lam = rng.normal(size=(3, 7)), rng.normal(size=(4, 3)), 0.3
    model = KDeepSimplexModel(atoms, lam, n_steps=800)
    with torch.no_grad():
        codes = model.encode(torch.as_tensor(points, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(codes.sum(1), 1.0, atol=1e-5)
    assert codes.min() >= 0
    for y, x in zip(points, codes):
        distances = ((y[:, None] - atoms) ** 2).sum(0)
        def objective(c):
            return 0.5 * ((y - atoms @ c) ** 2).sum() + lam * distances @ c
        expected = simplex_minimum(objective, 7)
        assert objective(x) <= objective(expected) + 1e-4


def test_spectral_clustering_of_codes_finds_points_that_share_atoms(rng):
    codes = np.zeros((60, 8))  # the first 30 points mix two of atoms 0-3, the others two of atoms 4-7
    for row in range(60):
        atoms = rng.choice(4, 2, replace=False) + (4 if row >= 30 else 0)
        codes[row, atoms] = rng.dirichlet([1, 1])
    labels = spectral_labels(codes, 2)
    assert clustering_accuracy(labels, np.repeat([0, 1], 30)) == 1.0


@pytest.mark.parametrize("maker", [lambda: make_moons(300, noise=0.05, random_state=0),
                                   lambda: make_circles(300, noise=0.04, factor=0.5, random_state=0)],
                         ids=["two moons", "circles"])
def test_k_deep_simplex_clusters_planted_manifolds_that_k_means_cuts(maker):
    points, truth = maker()
    result = k_deep_simplex(points, KDSConfig(n_clusters=2, n_atoms=30, train_steps=60))
    assert clustering_accuracy(result.labels, truth) >= 0.97
    assert clustering_accuracy(KMeans(2, n_init=10, random_state=0).fit_predict(points), truth) < 0.9
    np.testing.assert_allclose(result.codes.sum(1), 1.0, atol=1e-4)
    assert (result.codes > 1e-6).sum(1).mean() < 6  # local: a handful of atoms per point


def test_clustering_accuracy_takes_the_best_matching_of_clusters_to_classes():
    assert clustering_accuracy(np.array([1, 1, 0, 0, 2]), np.array([0, 0, 1, 1, 1])) == pytest.approx(0.8)


def test_the_recluster_methods_split_two_arcs_and_refuse_unknown_names(rng):
    angle = rng.uniform(0, np.pi, 400)
    arcs = np.where(np.arange(400)[:, None] < 200, np.c_[np.cos(angle), np.sin(angle)],
                    np.c_[1 - np.cos(angle), 0.4 - np.sin(angle)]) + rng.normal(scale=0.04, size=(400, 2))
    truth = np.arange(400) >= 200
    assert set(RECLUSTER_METHODS) == {"kmeans", "kds"}
    assert clustering_accuracy(recluster(arcs, "kds"), truth) >= 0.97
    assert clustering_accuracy(recluster(arcs, "kmeans"), truth) < 0.9
    with pytest.raises(ValueError, match="unknown"):
        recluster(arcs, "dbscan")
    with pytest.raises(ValueError, match="too few"):
        recluster(arcs[:3], "kds")


def test_the_trainers_adam_is_torchs():
    from engine.manifold.k_deep_simplex import Adam
    torch.manual_seed(0)
    ours, theirs = torch.nn.Parameter(torch.randn(5, 4)), torch.nn.Parameter(torch.zeros(5, 4))
    theirs.data.copy_(ours.data)
    target, step, reference = torch.randn(5, 4), Adam(ours, 0.05), torch.optim.Adam([theirs], lr=0.05)
    for _ in range(50):
        ((ours - target) ** 4).sum().backward()
        step.step()
        reference.zero_grad()
        ((theirs - target) ** 4).sum().backward()
        reference.step()
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)


def test_the_cluster_command_finds_two_moons_from_a_table_and_writes_the_labels(tmp_path, capsys):
    import json
    from engine.cli.commands import main
    points, truth = make_moons(300, noise=0.05, random_state=0)
    np.savetxt(tmp_path / "moons.csv", points, delimiter=",", header="x,y", comments="")
    np.save(tmp_path / "truth.npy", truth)
    assert main(["cluster", str(tmp_path / "moons.csv"), "--clusters", "2", "--atoms", "30", "--train-steps", "60",
                 "--truth", str(tmp_path / "truth.npy"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    labels = np.loadtxt(tmp_path / "moons.labels.csv")
    assert summary["out"] == str(tmp_path / "moons.labels.csv") and labels.shape == (300,)
    assert clustering_accuracy(labels, truth) == summary["accuracy"] >= 0.97 > 0.9 > summary["kmeans_accuracy"]
    assert sum(summary["sizes"]) == 300 and summary["atoms"] == 30


@pytest.mark.parametrize("write, args, problem", [
    (None, ["--clusters", "2"], "no such file"),
    (lambda p: np.save(p, np.arange(5.0)), ["--clusters", "2"], "expected a 2-D array of points x dimensions"),
    (lambda p: np.save(p, np.array([[1.0, np.nan]] * 4)), ["--clusters", "2"], "row 0 holds NaN"),
    (lambda p: p.write_text("x"), ["--clusters", "2"], "not a .npy array"),
    (lambda p: np.save(p, np.ones((3, 2))), ["--clusters", "4"], "3 points cannot make 4 clusters"),
    (lambda p: np.save(p, np.ones((6, 2))), ["--clusters", "2", "--truth", "TRUTH"], "expected 6 labels"),
])
def test_the_cluster_command_names_the_file_and_the_problem_in_one_line(tmp_path, capsys, write, args, problem):
    from tests.test_reliability_inputs import one_line_error
    path, truth = tmp_path / "points.npy", tmp_path / "truth.csv"
    truth.write_text("0\n1\n0\n")
    if write is not None:
        write(path)
    named = truth if "TRUTH" in args else path
    args = [str(truth) if a == "TRUTH" else a for a in args]
    assert problem in one_line_error(capsys, "cluster", path, *args, names=named)
