"""K-deep simplex (Tankala, Tasissa, Murphy & Ba 2021): manifold learning and clustering by local dictionaries.

Every point y is written as a convex combination of a few atoms near it:
    min_x  1/2 ||y - A x||^2 + lam sum_j x_j ||y - a_j||^2,   x >= 0, sum_j x_j = 1.
The locality weights ||y - a_j||^2 make the combination local, so the atoms
spread along the data's manifold and every point's code names the piece of
it where the point lies. The encoder is the family's unrolled FISTA on the
dense dictionary of engine.model.dictionary (Gaussian likelihood) whose
activation is the simplex projection with the weighted-L1 shift
(engine.model.activations.LocalSimplex); the atoms, which live in data
space and are not normalised, are learned by back-propagating the objective
through the unrolled encoder. While learning, every point keeps its code
from one batch to the next (it starts at its nearest atom), so a few
unrolled steps from that warm start do the work of the encoder's 50 from
zero.

Clustering from the codes, as in the paper: the points' similarity is
W = X X^T (two points are alike when they use the same atoms), and the
clusters are those of normalised spectral clustering of W. W is never
formed: with degrees d = X (X^T 1), the leading eigenvectors of
D^-1/2 W D^-1/2 are the left singular vectors of D^-1/2 X, which costs
O(points x atoms^2).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans

from engine.model.activations import LocalSimplex
from engine.model.dictionary import FamilyDictionary


ATOMS_PER_CLUSTER = 15  # the number of atoms the command and the benchmark give each cluster


@dataclass
class KDSConfig:
    n_clusters: int = 2
    n_atoms: int = 40
    lam: float = 0.5  # weight of the locality penalty (dimensionless: both terms are squared distances)
    n_steps: int = 50  # unrolled FISTA steps from zero: the encoder whose codes are clustered
    warm_steps: int = 10  # unrolled FISTA steps per batch while learning, from each point's previous code
    train_steps: int = 150
    batch_size: int = 256
    learning_rate: float = 1e-2  # Adam, as a fraction of the data's spread
    kmeans_restarts: int = 10  # k-means on the spectral embedding
    max_train_points: int | None = None  # atoms learned on at most this many points (drawn at random)
    seed: int = 0


@dataclass
class KDSResult:
    labels: np.ndarray  # (points,) cluster of each point
    codes: np.ndarray  # (points, atoms) on the simplex
    atoms: np.ndarray  # (atoms, dims), in the data's units
    losses: list[float]


class KDeepSimplexModel(FamilyDictionary):
    """The family's dense dictionary with the locality-weighted simplex prior; atoms (dims, atoms) in data space."""

    def __init__(self, atoms, lam: float, n_steps: int = 50):
        self.lam = float(lam)
        super().__init__(atoms, activation=None, n_steps=n_steps, unit_norm=False)

    def locality(self, y: torch.Tensor) -> torch.Tensor:
        """||y - a_j||^2 of every point and atom, (points, atoms)."""
        return ((y[:, :, None] - self.weight[None]) ** 2).sum(1)

    def prior(self, y: torch.Tensor) -> LocalSimplex:
        return LocalSimplex(self.lam, self.locality(y))

    def nearest_codes(self, y: torch.Tensor) -> torch.Tensor:
        """Each point's code at its nearest atom (a vertex of the simplex), (points, atoms)."""
        locality = self.locality(y)
        return torch.zeros_like(locality).scatter_(1, locality.argmin(1, keepdim=True), 1.0)

    def encode(self, y: torch.Tensor, n_steps: int | None = None, codes: torch.Tensor | None = None,
               activation=None) -> torch.Tensor:
        return super().encode(y, n_steps, codes, activation if activation is not None else self.prior(y))

    def loss(self, y: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """The objective per point: reconstruction plus locality."""
        return (self.likelihood.nll(y, self.predictor(codes)).sum() + self.prior(y).penalty(codes)) / len(y)


class Adam:
    """Adam on one tensor, computed as torch.optim.Adam computes it with its defaults (betas 0.9 and 0.999,
    eps 1e-8). Not torch.optim's own: its first use in a process imports torch._dynamo, 3 s on the
    development machine, longer than a whole split of a unit in the window."""

    def __init__(self, parameter: torch.Tensor, lr: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.parameter, self.lr, self.betas, self.eps = parameter, float(lr), betas, float(eps)
        self.mean, self.square, self.steps = torch.zeros_like(parameter), torch.zeros_like(parameter), 0

    @torch.no_grad()
    def step(self) -> None:
        (b1, b2), gradient = self.betas, self.parameter.grad
        self.steps += 1
        self.mean.lerp_(gradient, 1 - b1)
        self.square.mul_(b2).addcmul_(gradient, gradient, value=1 - b2)
        denominator = (self.square.sqrt() / math.sqrt(1 - b2 ** self.steps)).add_(self.eps)
        self.parameter.addcdiv_(self.mean, denominator, value=-self.lr / (1 - b1 ** self.steps))
        self.parameter.grad = None


def train_k_deep_simplex(points: np.ndarray, config: KDSConfig, callback=None) -> tuple[KDeepSimplexModel, list]:
    """Atoms started at distinct random points, then Adam through the unrolled encoder on random batches.

    Each batch runs ``config.warm_steps`` unrolled steps from its points' codes of the last batch that
    drew them (at first, their nearest atoms) and back-propagates through them."""
    rng = np.random.default_rng(config.seed)
    torch.manual_seed(config.seed)
    data = torch.as_tensor(np.asarray(points, np.float32))
    n_atoms = min(config.n_atoms, len(data))
    start = data[rng.choice(len(data), n_atoms, replace=False)].numpy().T
    model = KDeepSimplexModel(start, config.lam, config.n_steps)
    spread = float(data.std(0).mean()) or 1.0
    optimizer = Adam(model.weight, lr=config.learning_rate * spread)
    with torch.no_grad():
        codes = model.nearest_codes(data)
    losses = []
    for index in range(config.train_steps):
        rows = torch.as_tensor(rng.choice(len(data), min(config.batch_size, len(data)), replace=False))
        batch = data[rows]
        batch_codes = model.encode(batch, config.warm_steps, codes[rows])
        loss = model.loss(batch, batch_codes)
        loss.backward()
        optimizer.step()
        model.refresh()
        codes[rows] = batch_codes.detach()
        losses.append(float(loss.item()))
        if callback is not None:
            callback(index, losses[-1])
    return model, losses


def spectral_labels(codes: np.ndarray, n_clusters: int, restarts: int = 10, seed: int = 0) -> np.ndarray:
    """Normalised spectral clustering (Ng, Jordan & Weiss) of the similarity W = X X^T of nonnegative codes X."""
    codes = np.asarray(codes, np.float64)
    degrees = codes @ codes.sum(0)
    scaled = codes / np.sqrt(np.maximum(degrees, 1e-12))[:, None]
    left, _, _ = np.linalg.svd(scaled, full_matrices=False)
    embedding = left[:, :n_clusters]
    embedding /= np.maximum(np.linalg.norm(embedding, axis=1, keepdims=True), 1e-12)
    return KMeans(n_clusters, n_init=restarts, random_state=seed).fit_predict(embedding)


def k_deep_simplex(points: np.ndarray, config: KDSConfig | None = None, callback=None) -> KDSResult:
    """Learn the local dictionary of points (points, dims) (on at most ``config.max_train_points`` of them),
    encode every point and cluster the codes."""
    config = config or KDSConfig()
    points = np.asarray(points, np.float32)
    if len(points) < config.n_clusters:
        raise ValueError(f"{len(points)} points cannot make {config.n_clusters} clusters")
    learn = points
    if config.max_train_points is not None and len(points) > config.max_train_points:
        learn = points[np.random.default_rng(config.seed).choice(len(points), config.max_train_points, replace=False)]
    model, losses = train_k_deep_simplex(learn, config, callback)
    with torch.no_grad():
        codes = model.encode(torch.as_tensor(points)).numpy()
    labels = spectral_labels(codes, config.n_clusters, config.kmeans_restarts, config.seed)
    return KDSResult(labels, codes, model.atoms().T, losses)


def clustering_accuracy(labels: np.ndarray, truth: np.ndarray) -> float:
    """Fraction of points whose cluster, under the best one-to-one matching of clusters to classes, is their class."""
    labels, truth = np.unique(labels, return_inverse=True)[1], np.unique(truth, return_inverse=True)[1]
    table = np.zeros((labels.max() + 1, truth.max() + 1))
    np.add.at(table, (labels, truth), 1)
    rows, cols = linear_sum_assignment(-table)
    return float(table[rows, cols].sum() / len(labels))
