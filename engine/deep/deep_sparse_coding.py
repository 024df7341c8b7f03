"""Deep (two-layer) sparse coding, y = A2 A1 x (Ba, "Deeply-sparse signal representations", IEEE TSP 2020).

x (r1) is sparse, x2 = A1 x (r2) is sparse because the columns of A1
(r2 x r1) are, and y = A2 x2 (d). The auto-encoder stacks two members of the
family, each a dense dictionary with the unrolled FISTA encoder
(engine.model.dictionary) and the nonnegative L1 prior, the shifted ReLU of
the spike-sorting model: the first encodes y into x2 with A2, the second x2
into x with A1, and the decoder is A2 A1 x. As in the paper it is learned
layer by layer, by alternating minimisation: encode every example with the
current dictionary, then fit the dictionary to the codes by least squares and
put its atoms back on the unit sphere (A1's clipped at zero first: its
columns are nonnegative and sparse). Layer 1 learns from layer 2's codes.
The theorem: n = O(max(r1^2, r1 s)) examples (s the sparsity of x) learn A1
and A2 from a start near them, and r1 = O(max(r2^2, r2 s_A1)) (an expansion)
is the width the model allows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from engine.groundtruth.metrics import match_filters
from engine.model.activations import NonnegativeL1
from engine.model.dictionary import FamilyDictionary

RIDGE = 1e-6  # relative ridge of the least-squares dictionary fit


@dataclass
class DeepSparseConfig:
    lam: tuple[float, float] = (0.1, 0.1)  # prior weights of layer 2 (codes x2) and layer 1 (codes x)
    n_steps: int = 100  # unrolled FISTA steps per layer
    debias_steps: int = 30  # then without the prior on the codes' support (amplitudes without L1 shrinkage)
    iterations: int = 40  # alternating-minimisation rounds per layer


@dataclass
class DeepSparseCoding:
    """The two layers: ``layers[0]`` has A2 (d x r2), ``layers[1]`` has A1 (r2 x r1)."""

    layers: list[FamilyDictionary]
    losses: list[list[float]] = field(default_factory=list)

    def encode(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(x2, x): the codes of every layer, (n, r2) and (n, r1)."""
        with torch.no_grad():
            x2 = self.layers[0].encode(torch.as_tensor(np.asarray(y, np.float32)))
            x = self.layers[1].encode(x2)
        return x2.numpy(), x.numpy()

    def decode(self, x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            x2 = self.layers[1].predictor(torch.as_tensor(np.asarray(x, np.float32)))
            return self.layers[0].predictor(x2).numpy()

    def dictionaries(self) -> tuple[np.ndarray, np.ndarray]:
        """(A2, A1) as numpy arrays."""
        return self.layers[0].atoms(), self.layers[1].atoms()


def fit_layer(layer: FamilyDictionary, data: torch.Tensor, iterations: int, nonnegative: bool) -> list[float]:
    """Alternating minimisation of one layer on data (n, dims): codes by its encoder, atoms by least squares."""
    losses = []
    with torch.no_grad():
        for _ in range(iterations):
            codes = layer.encode(data).double()
            gram = codes.T @ codes
            gram += RIDGE * max(float(gram.diagonal().mean()), 1e-12) * torch.eye(len(gram), dtype=gram.dtype)
            atoms = torch.linalg.solve(gram, codes.T @ data.double()).T  # (dims, atoms)
            used = codes.abs().sum(0) > 0
            atoms = torch.where(used[None], atoms, layer.weight.double())  # an unused atom keeps its place
            if nonnegative:
                atoms = atoms.clamp_min(0.0)
            layer.weight.copy_(atoms.float())
            layer.refresh()
            losses.append(float(layer.loss(data, codes.float())))
    return losses


def make_layer(atoms: np.ndarray, lam: float, config: DeepSparseConfig) -> FamilyDictionary:
    """One layer: a dense dictionary with the nonnegative L1 prior and the config's unrolled steps."""
    return FamilyDictionary(atoms, NonnegativeL1(lam), n_steps=config.n_steps, debias_steps=config.debias_steps)


def data_start(y: np.ndarray, r2: int, r1: int, config: DeepSparseConfig | None = None,
               rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(A2, A1) started from the examples y (n, d) alone, for when nothing near the dictionaries is known:
    A2's atoms are r2 distinct nonzero examples, A1's r1 of their layer-2 codes under that A2 (nonnegative;
    a little positive noise keeps every column nonzero), all of unit norm. The theorem's guarantee is
    local, so from this start the learned dictionaries fit the data but need not be the generating ones."""
    config = config or DeepSparseConfig()
    rng = rng if rng is not None else np.random.default_rng(0)
    y = np.asarray(y, np.float64)
    nonzero = np.flatnonzero(np.linalg.norm(y, axis=1) > 0)
    if len(nonzero) < r2:
        raise ValueError(f"{len(nonzero)} nonzero examples cannot start {r2} atoms")
    a2 = y[rng.choice(nonzero, r2, replace=False)].T
    with torch.no_grad():
        x2 = make_layer(a2, config.lam[0], config).encode(torch.as_tensor(y, dtype=torch.float32)).double().numpy()
    a1 = np.clip(x2[rng.choice(len(y), r1, replace=len(y) < r1)], 0, None).T + 1e-3 * rng.random((r2, r1))
    return a2 / np.linalg.norm(a2, axis=0), a1 / np.linalg.norm(a1, axis=0)


def learn_deep_sparse_coding(y: np.ndarray, start: tuple[np.ndarray, np.ndarray],
                             config: DeepSparseConfig | None = None) -> DeepSparseCoding:
    """Learn (A2, A1) from examples y (n, d), starting from ``start`` = (A2, A1) (near the truth, or
    ``data_start``'s)."""
    config = config or DeepSparseConfig()
    a2, a1 = start
    layers = [make_layer(a2, config.lam[0], config), make_layer(np.clip(a1, 0, None), config.lam[1], config)]
    model = DeepSparseCoding(layers)
    data = torch.as_tensor(np.asarray(y, np.float32))
    model.losses.append(fit_layer(layers[0], data, config.iterations, nonnegative=False))
    with torch.no_grad():
        x2 = layers[0].encode(data)
    model.losses.append(fit_layer(layers[1], x2, config.iterations, nonnegative=True))
    return model


def dictionary_errors(learned: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per true atom, sqrt(1 - cos^2) to the learned atom matched to it (engine.groundtruth.metrics's filter error)."""
    return match_filters(np.asarray(learned).T[:, :, None], np.asarray(truth).T[:, :, None])[1]


@dataclass
class DeepSparseSimulation:
    y: np.ndarray  # (n, d)
    x: np.ndarray  # (n, r1)
    a1: np.ndarray  # (r2, r1), nonnegative, s_a1 nonzeros per column, unit norm
    a2: np.ndarray  # (d, r2), unit-norm columns


def simulate_deep_sparse(n: int, d: int, r2: int, r1: int, s: int, s_a1: int, noise: float,
                         rng: np.random.Generator) -> DeepSparseSimulation:
    """Examples of y = A2 A1 x + noise with s nonzeros in x (uniform on [1, 2]) and s_a1 in every column of A1
    (uniform on [0.5, 1] before normalisation; r1 >= r2)."""
    a2 = rng.normal(size=(d, r2))
    a2 /= np.linalg.norm(a2, axis=0)
    a1 = np.zeros((r2, r1))
    for column in range(r1):  # column c uses row c mod r2, so that every atom of A2 is used
        others = rng.choice(np.delete(np.arange(r2), column % r2), s_a1 - 1, replace=False)
        a1[np.r_[column % r2, others], column] = rng.uniform(0.5, 1.0, s_a1)
    a1 /= np.linalg.norm(a1, axis=0)
    x = np.zeros((n, r1))
    for row in range(n):
        x[row, rng.choice(r1, s, replace=False)] = rng.uniform(1.0, 2.0, s)
    y = x @ a1.T @ a2.T + noise * rng.normal(size=(n, d))
    return DeepSparseSimulation(y.astype(np.float32), x, a1, a2)


def perturbed(atoms: np.ndarray, error: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-norm atoms at filter error ``error`` from the given ones (a random orthogonal direction each)."""
    atoms = atoms / np.linalg.norm(atoms, axis=0)
    direction = rng.normal(size=atoms.shape)
    direction -= atoms * (atoms * direction).sum(0)
    direction /= np.linalg.norm(direction, axis=0)
    return np.sqrt(1.0 - error ** 2) * atoms + error * direction
