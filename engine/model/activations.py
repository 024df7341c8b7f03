"""Priors as activations: the proximal operators of the seed's table.

Each activation is ``prox_{step g}(v) = argmin_x 1/2 ||x - v||^2 + step g(x)``
over its constraint set, where g is the negative log-prior of the codes and
``step`` the encoder's step 1/L. Applied to codes (batch, units, samples);
group sparsity and the simplex act across the units axis at every sample.
All are written in torch and differentiable almost everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

UNITS_AXIS = 1


def _shrink_factor(sigma: float, step: float) -> float:
    """c(sigma) = sigma^2 / (step + sigma^2): the prox of step x^2 / (2 sigma^2) is c x."""
    return sigma * sigma / (step + sigma * sigma)


@dataclass
class NonnegativeL1:
    """g = lam sum x, x >= 0: the shifted ReLU (the spike-sorting model's prior)."""

    lam: float

    def __call__(self, v: torch.Tensor, step: float) -> torch.Tensor:
        return torch.relu(v - step * self.lam)

    def penalty(self, x: torch.Tensor) -> torch.Tensor:
        return self.lam * x.sum()


@dataclass
class SoftThreshold:
    """g = lam sum |x|: two-sided soft thresholding."""

    lam: float

    def __call__(self, v: torch.Tensor, step: float) -> torch.Tensor:
        return torch.sign(v) * torch.relu(v.abs() - step * self.lam)

    def penalty(self, x: torch.Tensor) -> torch.Tensor:
        return self.lam * x.abs().sum()


@dataclass
class Ridge:
    """g = sum x^2 / (2 sigma^2): a Gaussian prior, the prox scales by c(sigma)."""

    sigma: float

    def __call__(self, v: torch.Tensor, step: float) -> torch.Tensor:
        return _shrink_factor(self.sigma, step) * v

    def penalty(self, x: torch.Tensor) -> torch.Tensor:
        return (x * x).sum() / (2.0 * self.sigma ** 2)


@dataclass
class TwoSidedGaussian:
    """g = sum x^2 / (2 sigma_pos^2) over x >= 0 plus x^2 / (2 sigma_neg^2) over x < 0.

    A leaky ReLU with slopes c(sigma_pos) and c(sigma_neg).
    """

    sigma_pos: float
    sigma_neg: float

    def __call__(self, v: torch.Tensor, step: float) -> torch.Tensor:
        positive = _shrink_factor(self.sigma_pos, step)
        negative = _shrink_factor(self.sigma_neg, step)
        return torch.where(v >= 0, positive * v, negative * v)

    def penalty(self, x: torch.Tensor) -> torch.Tensor:
        sigma = torch.where(x >= 0, torch.as_tensor(self.sigma_pos, dtype=x.dtype),
                            torch.as_tensor(self.sigma_neg, dtype=x.dtype))
        return (x * x / (2.0 * sigma ** 2)).sum()


@dataclass
class GroupShrinkage:
    """g = lam sum_g ||x_g||_2 over groups of units (at each sample), optionally with x >= 0.

    ``groups[u]`` is the group of unit u. With x >= 0 the prox is the group
    shrinkage of ReLU(v): the penalty depends on |x| only, so the constraint
    and the shrinkage commute.
    """

    lam: float
    groups: tuple[int, ...]
    nonnegative: bool = True

    def _group_index(self, device) -> torch.Tensor:
        return torch.as_tensor(self.groups, dtype=torch.long, device=device)

    def _group_norms(self, x: torch.Tensor) -> torch.Tensor:
        """||x_g|| of each unit's group, broadcast back to the units, same shape as x."""
        index = self._group_index(x.device)
        shape = list(x.shape)
        shape[UNITS_AXIS] = int(index.max()) + 1
        squares = x.new_zeros(shape).index_add_(UNITS_AXIS, index, x * x)
        return squares.index_select(UNITS_AXIS, index).sqrt()

    def __call__(self, v: torch.Tensor, step: float) -> torch.Tensor:
        if self.nonnegative:
            v = torch.relu(v)
        norms = self._group_norms(v)
        return v * torch.relu(1.0 - step * self.lam / norms.clamp_min(1e-30))

    def penalty(self, x: torch.Tensor) -> torch.Tensor:
        index = self._group_index(x.device)
        moved = x.movedim(UNITS_AXIS, 0).reshape(x.shape[UNITS_AXIS], -1)
        squares = moved.new_zeros(int(index.max()) + 1, moved.shape[1]).index_add_(0, index, moved * moved)
        return self.lam * squares.sqrt().sum()


@dataclass
class Simplex:
    """x >= 0, sum over units of x = 1 (at each sample), no penalty: Euclidean projection.

    ReLU(v - b(v)) with the threshold b of Duchi, Shalev-Shwartz, Singer &
    Chandra (2008): sort, and find the largest k whose k-th value stays
    positive after the shift.
    """

    def __call__(self, v: torch.Tensor, step: float = 1.0) -> torch.Tensor:
        ordered = torch.sort(v, dim=UNITS_AXIS, descending=True).values
        excess = ordered.cumsum(UNITS_AXIS) - 1.0
        shape = [1] * v.ndim
        shape[UNITS_AXIS] = -1
        rank = torch.arange(1, v.shape[UNITS_AXIS] + 1, device=v.device, dtype=v.dtype).view(shape)
        support = (ordered - excess / rank > 0).sum(UNITS_AXIS, keepdim=True)
        threshold = excess.gather(UNITS_AXIS, support - 1) / support.to(v.dtype)
        return torch.relu(v - threshold)

    def penalty(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(())


ACTIVATIONS = ("relu", "soft", "ridge", "leaky", "group", "simplex")


def make_activation(name: str, lam: float = 1.0, n_units: int = 1, sigma: float = 1.0,
                    sigma_neg: float = 0.1, group_size: int = 1):
    """An activation by its short name (the command line's and the config's spelling)."""
    if name == "relu":
        return NonnegativeL1(lam)
    if name == "soft":
        return SoftThreshold(lam)
    if name == "ridge":
        return Ridge(sigma)
    if name == "leaky":
        return TwoSidedGaussian(sigma, sigma_neg)
    if name == "group":
        return GroupShrinkage(lam, tuple(int(g) for g in np.arange(n_units) // max(1, group_size)))
    if name == "simplex":
        return Simplex()
    raise ValueError(f"unknown activation '{name}' (use {', '.join(ACTIVATIONS)})")


@dataclass
class LocalSimplex:
    """g = lam sum_j w_j x_j on the simplex (K-deep simplex's locality prior): the simplex projection of v - step lam w.

    ``weights`` (points, units), w_j >= 0, is fixed during an encode; in
    K-deep simplex it is the squared distance of each point to each atom, so
    that a point is written with the atoms near it. The penalty is linear on
    the simplex, so the prox is the projection of the shifted input.
    """

    lam: float
    weights: torch.Tensor

    def __call__(self, v: torch.Tensor, step: float) -> torch.Tensor:
        return Simplex()(v - step * self.lam * self.weights)

    def penalty(self, x: torch.Tensor) -> torch.Tensor:
        return self.lam * (self.weights * x).sum()
