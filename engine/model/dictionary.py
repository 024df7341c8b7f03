"""The family with a dense dictionary: data points y (points, dims) = f(x A^T + b), codes x (points, atoms).

The convolutional members (engine.model.family) place filters at every
sample; here each point has one code vector and the dictionary A is a
(dims, atoms) matrix, a convolution with one tap. The encoder is the same
unrolled FISTA (engine.model.family.unrolled_fista) with any likelihood of
engine.model.likelihoods and any activation of engine.model.activations,
which act on the atoms axis (axis 1, the units axis of the convolutional
codes). Used by K-deep simplex (engine.manifold) and the layers of deep
sparse coding (engine.deep).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from engine.model.family import unrolled_fista
from engine.model.likelihoods import Gaussian


class FamilyDictionary(nn.Module):
    """A dense dictionary with an unrolled encoder; ``unit_norm`` keeps every atom on the unit sphere."""

    def __init__(self, atoms, activation, likelihood=None, n_steps: int = 50, unit_norm: bool = True,
                 debias_steps: int = 0):
        super().__init__()
        self.weight = nn.Parameter(torch.as_tensor(np.asarray(atoms, dtype=np.float32)).clone())
        if self.weight.ndim != 2:
            raise ValueError("atoms must be (dims, atoms)")
        self.activation = activation
        self.likelihood = likelihood if likelihood is not None else Gaussian()
        self.n_steps = int(n_steps)
        self.debias_steps = int(debias_steps)
        self.unit_norm = bool(unit_norm)
        self.normalize()
        self.lipschitz = self.estimate_lipschitz()

    @property
    def n_dims(self) -> int:
        return self.weight.shape[0]

    @property
    def n_atoms(self) -> int:
        return self.weight.shape[1]

    def atoms(self) -> np.ndarray:
        """A numpy copy of the dictionary, (dims, atoms)."""
        return self.weight.detach().cpu().numpy().copy()

    @torch.no_grad()
    def normalize(self) -> None:
        if self.unit_norm:
            self.weight.div_(self.weight.norm(dim=0, keepdim=True).clamp_min(1e-12))

    @torch.no_grad()
    def estimate_lipschitz(self) -> float:
        """||A||_2^2, the largest eigenvalue of A^T A, with the margin of engine.model.autoencoder."""
        return float(torch.linalg.matrix_norm(self.weight.detach().double(), ord=2) ** 2) * 1.02 + 1e-8

    def refresh(self) -> None:
        """After the atoms changed: back onto the sphere (if unit_norm) and a new step size."""
        self.normalize()
        self.lipschitz = self.estimate_lipschitz()

    def predictor(self, codes: torch.Tensor) -> torch.Tensor:
        return codes @ self.weight.t()

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        return self.likelihood.mean(self.predictor(codes))

    def step_size(self, y: torch.Tensor) -> float:
        return 1.0 / (self.lipschitz * self.likelihood.curvature(y))

    def encode(self, y: torch.Tensor, n_steps: int | None = None, codes: torch.Tensor | None = None,
               activation=None) -> torch.Tensor:
        """Codes (points, atoms) of y (points, dims): the family's FISTA with the prior's activation
        (``activation`` overrides it for this call), then, as engine.model.family's encoder does,
        ``debias_steps`` steps without the prior on the codes' support, which undo the L1 shrinkage."""
        n_steps = self.n_steps if n_steps is None else n_steps
        if codes is None:
            codes = y.new_zeros(y.shape[0], self.n_atoms)
        codes = self._iterate(y, codes, n_steps, activation if activation is not None else self.activation)
        if self.debias_steps:
            support = codes != 0
            codes = self._iterate(y, codes, self.debias_steps, lambda v, step: v * support)
        return codes

    def _iterate(self, y, codes, n_steps, prox):
        return unrolled_fista(y, codes, n_steps, self.step_size(y), self.likelihood, prox, self.predictor,
                              lambda r: r @ self.weight)

    def loss(self, y: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood per point plus the prior's penalty per point."""
        return (self.likelihood.nll(y, self.predictor(codes)).sum() + self.activation.penalty(codes)) / len(y)

    def forward(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        codes = self.encode(y)
        return self.decode(codes), codes
