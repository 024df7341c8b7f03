"""A convolutional auto-encoder for any likelihood of engine.model.likelihoods and any prior of engine.model.activations.

The encoder is T unrolled FISTA steps on
    min_x  sum nll(y, Hx + b) + g(x),
whose gradient step is x + (1/(L c)) H^T (y - f(Hx + b)) with c the
likelihood's curvature bound, followed by the prior's activation (its prox).
The decoder is f(Hx_T + b) with the same filters and a per-channel bias b
(the baseline: a log rate for Poisson, a log odds for Binomial). Training
minimises the negative log-likelihood of the data given the codes.

Filters, codes and data have the shapes of engine.model.autoencoder; this model reuses
its filter handling (unit norm, Lipschitz constant by power iteration).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from engine.model.activations import SoftThreshold
from engine.model.correlation import convolve_full, correlate, decoder_weight, toeplitz
from engine.model.autoencoder import ConvSparseAutoencoder


def unrolled_fista(y: torch.Tensor, x: torch.Tensor, n_steps: int, step, likelihood, prox, predictor, adjoint
                   ) -> torch.Tensor:
    """The family's encoder: ``n_steps`` FISTA steps on sum nll(y, predictor(x)) + g(x).

    Each step is ``x = prox(z + step * adjoint(y - f(predictor(z))), step)``
    with FISTA's momentum on z, where the residual is the likelihood's and
    ``prox`` the prior's activation. ``predictor`` maps codes to eta
    (a convolution plus bias for this module's signals, a 2-D convolution for
    images in engine.imaging, a matrix product for the dense dictionaries of
    engine.model.dictionary) and ``adjoint`` is its transpose (the encoder's
    own filters where they are untied from the decoder's). ``step`` is a
    number or a tensor that broadcasts against the codes. Differentiable.
    """
    z = x
    t = 1.0
    for _ in range(n_steps):
        gradient = adjoint(likelihood.residual(y, predictor(z)))
        x_next = prox(z + step * gradient, step)
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        z = x_next + ((t - 1.0) / t_next) * (x_next - x)
        x, t = x_next, t_next
    return x


class FamilyAutoencoder(ConvSparseAutoencoder):
    def __init__(self, filters, likelihood, activation, n_steps: int = 50, bias=None, debias_steps: int = 0,
                 peak_distance: int = 1, support_fraction: float = 0.0):
        self.activation = activation
        super().__init__(filters, lam=getattr(activation, "lam", 0.0), n_steps=n_steps, debias_steps=debias_steps,
                         peak_distance=peak_distance, support_fraction=support_fraction,
                         reweight_passes=1)
        self.likelihood = likelihood
        bias = np.zeros(self.n_channels) if bias is None else np.broadcast_to(bias, (self.n_channels,))
        self.bias = nn.Parameter(torch.as_tensor(np.array(bias, dtype=np.float32)))

    @property
    def lam(self) -> float:
        """The prior's weight (0 for priors without one); the activation owns it."""
        return float(getattr(self.activation, "lam", 0.0))

    @lam.setter
    def lam(self, value: float) -> None:
        if hasattr(self.activation, "lam"):
            self.activation.lam = float(value)

    def predictor(self, codes: torch.Tensor) -> torch.Tensor:
        """eta = H x + b, (batch, channels, samples)."""
        return self.decode(codes) + self.bias[:, None]

    def encode(self, y: torch.Tensor, n_steps: int | None = None, codes: torch.Tensor | None = None,
               debias_steps: int | None = None, **_unused) -> torch.Tensor:
        """FISTA with the prior's activation; then, as in engine.model.autoencoder, ``debias_steps`` steps without
        the prior on the support of the codes (local maxima ``peak_distance`` apart), which undoes the
        L1 prior's shrinkage of the amplitudes."""
        n_steps = self.n_steps if n_steps is None else n_steps
        debias_steps = self.debias_steps if debias_steps is None else debias_steps
        if codes is None:
            codes = y.new_zeros(y.shape[0], self.n_units, y.shape[-1] - self.n_taps + 1)
        codes = self._iterate(y, codes, n_steps, self.activation)
        if debias_steps:
            support = self.spike_support(codes, self.lam)
            codes = self._iterate(y, codes, debias_steps, lambda v, step: v * support)
        return codes

    def _iterate(self, y, x, n_steps, prox):
        step = 1.0 / (self.lipschitz * self.likelihood.curvature(y))
        # The filters are fixed during an encode: their block-Toeplitz matrices are built once, not per step.
        correlation_matrix = toeplitz(self.weight)
        decoder_matrix = toeplitz(decoder_weight(self.weight))
        bias = self.bias[:, None]
        return unrolled_fista(y, x, n_steps, step, self.likelihood, prox,
                              lambda z: convolve_full(z, self.weight, decoder_matrix) + bias,
                              lambda r: correlate(r, self.weight, correlation_matrix))

    def loss(self, y: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood of y given the codes."""
        return self.likelihood.nll(y, self.predictor(codes)).mean()

    def forward(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        codes = self.encode(y)
        return self.likelihood.mean(self.predictor(codes)), codes


def train_family(model: FamilyAutoencoder, batches, n_steps: int, learning_rate: float = 1e-2,
                 through_encoder: bool = False, train_bias: bool = True, nonnegative_filters: bool = False,
                 filter_shrinkage: float = 0.0, callback=None) -> list[float]:
    """Adam on the filters (and bias) minimising the data's negative log-likelihood.

    ``batches()`` returns the next (batch, channels, samples) tensor. With
    ``through_encoder`` the gradient flows through the unrolled encoder (as
    in DCEA); without, the codes are held fixed for each step (alternating
    minimisation), which costs a third as much and learns the same filters
    when the encoder has converged. Filters are renormalised after each step
    (and, with ``nonnegative_filters``, first clipped at zero).

    ``filter_shrinkage`` > 0 soft-thresholds every filter coefficient by that
    fraction of the learning rate after each step: the proximal step of an
    L1 prior on the filters. Adam moves coefficients whose gradient is mostly
    noise by a fraction of its rate per step, in random directions, which
    leaves a floor of small coefficients; the shrinkage removes it, while
    coefficients with a consistent gradient move by the full rate and stay.
    Returns the loss of every step.
    """
    parameters = [model.weight] + ([model.bias] if train_bias else [])
    optimizer = torch.optim.Adam(parameters, lr=learning_rate)
    losses = []
    for index in range(n_steps):
        y = batches()
        with torch.set_grad_enabled(through_encoder):
            codes = model.encode(y)
        loss = model.loss(y, codes)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            if filter_shrinkage:
                shrunk = SoftThreshold(filter_shrinkage * learning_rate)(model.weight, 1.0)
                model.weight.copy_(shrunk)
            if nonnegative_filters:
                model.weight.clamp_(min=0.0)
        model.normalize_filters()
        model.lipschitz = model.estimate_lipschitz(n_iter=5)
        losses.append(float(loss.item()))
        if callback is not None:
            callback(index, losses[-1])
    return losses
