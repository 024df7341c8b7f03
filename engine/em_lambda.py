"""lambda learned by expectation-maximisation (CRsAE, Tolooshams, Dey & Ba 2020).

Model: y = Hx + Gaussian noise of variance sigma^2, codes iid with the
Laplace (for x >= 0: exponential) density lambda/2 exp(-lambda |x|), and a
Gamma(shape, rate) prior on lambda. The encoder's MAP codes solve
    min_x 1/2 ||y - Hx||^2 + sigma^2 lambda ||x||_1,
so its threshold is sigma^2 lambda. Given the codes, the posterior mode of
lambda is closed-form:
    lambda = (shape - 1 + N) / (rate + ||x||_1),   N = number of codes.
EM alternates the two until lambda settles.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class GammaPrior:
    shape: float = 1.0  # 1 with rate 0: flat, lambda is the maximum-likelihood estimate
    rate: float = 0.0

    @classmethod
    def around(cls, mean: float, weight: float) -> "GammaPrior":
        """A prior with this mean, worth ``weight`` codes' evidence."""
        return cls(shape=1.0 + weight, rate=weight / mean)


def lambda_update(codes: torch.Tensor, prior: GammaPrior) -> float:
    """The M-step: the posterior mode of lambda given the codes."""
    return float((prior.shape - 1.0 + codes.numel()) / (prior.rate + codes.abs().sum().item()))


@dataclass
class EMResult:
    lam: float  # prior lambda; the encoder's threshold is sigma^2 * lam
    codes: torch.Tensor
    history: list[float] = field(default_factory=list)


def estimate_lambda(encode, y: torch.Tensor, sigma: float, lam: float, prior: GammaPrior | None = None,
                    max_iter: int = 30, tolerance: float = 1e-3) -> EMResult:
    """Alternate ``codes = encode(y, sigma^2 lam)`` and the closed-form lambda update.

    ``encode(y, threshold_weight)`` is any encoder of the L1 problem above
    (e.g. ``lambda y, w: model.encode(y, lam=w)``). Stops when lambda moves
    by less than ``tolerance`` (relative) or after ``max_iter`` updates.
    """
    prior = prior or GammaPrior()
    history = [float(lam)]
    codes = None
    with torch.no_grad():
        for _ in range(max_iter):
            codes = encode(y, sigma * sigma * lam)
            new_lam = lambda_update(codes, prior)
            history.append(new_lam)
            converged = abs(new_lam - lam) <= tolerance * lam
            lam = new_lam
            if converged:
                break
    return EMResult(lam, codes, history)
