"""Natural exponential-family likelihoods of the data given the predictor eta = Hx + bias (DCEA).

Each likelihood has its mean function f (the inverse link), the encoder's
residual ``y - f(eta)`` (scaled 1/M for the Binomial) which is minus the
derivative of its negative log-likelihood with respect to eta, and a bound
on that derivative's derivative, which sets the encoder's step size.
Negative log-likelihoods drop the terms that depend on y alone.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

MAX_LOG_RATE = 10.0  # Poisson: exp(eta) is capped here so that an early overshoot cannot overflow


class Gaussian:
    """y real, identity link, unit variance: nll = 1/2 (y - eta)^2."""

    name = "gaussian"

    def mean(self, eta: torch.Tensor) -> torch.Tensor:
        return eta

    def link(self, mu: np.ndarray) -> np.ndarray:
        return np.asarray(mu, dtype=float)

    def residual(self, y: torch.Tensor, eta: torch.Tensor) -> torch.Tensor:
        return y - eta

    def nll(self, y: torch.Tensor, eta: torch.Tensor) -> torch.Tensor:
        return 0.5 * (y - eta) ** 2

    def curvature(self, y: torch.Tensor) -> float:
        return 1.0

    def sample(self, eta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return eta + rng.standard_normal(eta.shape)


@dataclass
class Binomial:
    """y in 0..M (successes of M trials), sigmoid mean per trial; nll and residual per trial (scaled 1/M)."""

    trials: int
    name = "binomial"

    def mean(self, eta: torch.Tensor) -> torch.Tensor:
        return self.trials * torch.sigmoid(eta)

    def link(self, mu: np.ndarray) -> np.ndarray:
        p = np.clip(np.asarray(mu, dtype=float) / self.trials, 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p))

    def residual(self, y: torch.Tensor, eta: torch.Tensor) -> torch.Tensor:
        return y / self.trials - torch.sigmoid(eta)

    def nll(self, y: torch.Tensor, eta: torch.Tensor) -> torch.Tensor:
        return F.softplus(eta) - (y / self.trials) * eta

    def curvature(self, y: torch.Tensor) -> float:
        return 0.25  # the largest slope of the sigmoid

    def sample(self, eta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return rng.binomial(self.trials, 1.0 / (1.0 + np.exp(-eta))).astype(float)


class Poisson:
    """y counts, exp mean: nll = exp(eta) - y eta."""

    name = "poisson"

    def mean(self, eta: torch.Tensor) -> torch.Tensor:
        return torch.exp(eta.clamp(max=MAX_LOG_RATE))

    def link(self, mu: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(np.asarray(mu, dtype=float), 1e-6))

    def residual(self, y: torch.Tensor, eta: torch.Tensor) -> torch.Tensor:
        return y - self.mean(eta)

    def nll(self, y: torch.Tensor, eta: torch.Tensor) -> torch.Tensor:
        return self.mean(eta) - y * eta

    def curvature(self, y: torch.Tensor) -> float:
        # exp(eta) has no global bound; near the fit the rate stays below the largest count.
        return max(1.0, float(y.max()))

    def sample(self, eta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return rng.poisson(np.exp(np.minimum(eta, MAX_LOG_RATE))).astype(float)


LIKELIHOODS = ("gaussian", "binomial", "poisson")


def make_likelihood(name: str, trials: int = 1):
    if name == "gaussian":
        return Gaussian()
    if name == "binomial":
        return Binomial(int(trials))
    if name == "poisson":
        return Poisson()
    raise ValueError(f"unknown likelihood '{name}' (use {', '.join(LIKELIHOODS)})")
