"""lambda learned by expectation-maximisation (CRsAE, Tolooshams, Dey & Ba 2020).

Model: y = Hx + Gaussian noise of variance sigma^2, codes iid with the
Laplace (for x >= 0: exponential) density lambda/2 exp(-lambda |x|), and a
Gamma(shape, rate) prior on lambda. The encoder's MAP codes solve
    min_x 1/2 ||y - Hx||^2 + sigma^2 lambda ||x||_1,
so its threshold is sigma^2 lambda. Given the codes, the posterior mode of
lambda is closed-form:
    lambda = (shape - 1 + N) / (rate + ||x||_1),   N = number of codes,
or the prior's upper end if that is lower (a prior truncated there).
EM alternates the two until lambda settles.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch


@dataclass
class GammaPrior:
    shape: float = 1.0  # 1 with rate 0: flat, lambda is the maximum-likelihood estimate
    rate: float = 0.0
    upper: float = math.inf  # truncated: no lambda above this

    @classmethod
    def around(cls, mean: float, weight: float, upper: float = math.inf) -> "GammaPrior":
        """A prior with this mean, worth ``weight`` codes' evidence."""
        return cls(shape=1.0 + weight, rate=weight / mean, upper=upper)


def lambda_update(codes: torch.Tensor, prior: GammaPrior, n_codes: float | None = None) -> float:
    """The M-step: the posterior mode of lambda given the codes.

    ``n_codes``: how many independent codes ``codes`` stands for (default: every element).
    """
    n_codes = codes.numel() if n_codes is None else n_codes
    total = prior.rate + codes.abs().sum().item()
    if total <= 0.0:
        return prior.upper
    return float(min(prior.upper, (prior.shape - 1.0 + n_codes) / total))


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


@dataclass
class OnlineLambdaEM:
    """lambda by EM during training: one M-step on each training batch's codes.

    Works in the model's units: ``threshold`` is the encoder's lambda
    (sigma^2 times the EM lambda above). Two departures from the textbook
    update keep it from running away on spike data, where most codes are
    zero and the Laplace prior is a poor model of spike amplitudes:

    - The encoder keeps at most one code per unit every ``slot`` samples (its
      refractory peak rule), so a batch holds ``codes.numel() / slot``
      independent codes. Counting every sample counts the zeros the rule
      forces as evidence of sparsity and inflates lambda ``slot``-fold.
    - Fewer or smaller spikes give a larger lambda, which finds fewer spikes:
      with a flat prior lambda grows until no spike is left. Small spikes
      need a lower lambda, not a higher one, and above the noise-based
      lambda pure noise already leaves (almost) no code, so the Gamma prior
      is truncated at ``anchor`` (the noise-based lambda). It is centred
      there and counts ``weight`` times the batch's slots, which keeps the
      move down moderate: on the seed data, to 0.8-0.9 x anchor.
    """
    sigma: float
    anchor: float
    slot: int
    weight: float = 4.0

    def update(self, codes: torch.Tensor) -> float:
        """The encoder's lambda after one M-step on ``codes`` (any shape, zeros included)."""
        variance = self.sigma * self.sigma
        slots = codes.numel() / max(1, self.slot)
        prior = GammaPrior.around(self.anchor / variance, self.weight * slots, upper=self.anchor / variance)
        return variance * lambda_update(codes.detach(), prior, n_codes=slots)
