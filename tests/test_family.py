"""Exponential-family auto-encoders: likelihood consistency, and Binomial / Poisson filter recovery from counts."""
import numpy as np
import pytest
import torch

from engine.model.activations import NonnegativeL1
from engine.model.correlation import convolve_full
from engine.model.family import FamilyAutoencoder, train_family
from engine.model.likelihoods import Binomial, Gaussian, Poisson, make_likelihood
from engine.groundtruth.metrics import match_filters

N_UNITS, N_CHANNELS, N_TAPS = 3, 2, 15
N_CODES = 60_000
CODE_DENSITY = 1 / 150


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("likelihood", [Gaussian(), Binomial(20), Poisson()], ids=lambda lik: lik.name)
def test_residual_is_minus_the_derivative_of_the_nll(likelihood, rng):
    y = torch.as_tensor(likelihood.sample(rng.normal(size=50), rng))
    eta = torch.as_tensor(rng.normal(size=50)).requires_grad_()
    (gradient,) = torch.autograd.grad(likelihood.nll(y, eta).sum(), eta)
    torch.testing.assert_close(likelihood.residual(y, eta.detach()), -gradient)
    torch.testing.assert_close(torch.as_tensor(likelihood.link(likelihood.mean(eta.detach()).numpy())),
                               eta.detach())


def simulated_counts(likelihood, baseline_mean, amplitude, rng):
    truth = rng.normal(size=(N_UNITS, N_CHANNELS, N_TAPS))
    truth /= np.linalg.norm(truth.reshape(N_UNITS, -1), axis=1)[:, None, None]
    codes = np.zeros((N_UNITS, N_CODES), np.float32)
    for unit in range(N_UNITS):
        where = rng.choice(N_CODES, int(N_CODES * CODE_DENSITY), replace=False)
        codes[unit, where] = rng.uniform(amplitude, 1.5 * amplitude, len(where))
    bias = np.full(N_CHANNELS, likelihood.link(baseline_mean))
    eta = convolve_full(torch.as_tensor(codes[None]), torch.as_tensor(truth, dtype=torch.float32))[0].numpy()
    counts = likelihood.sample(eta + bias[:, None], rng).astype(np.float32)
    return truth, bias, torch.as_tensor(counts)


def random_segments(data, rng, batch=8, length=400):
    def batches():
        starts = rng.integers(0, data.shape[1] - length, batch)
        return torch.stack([data[:, s:s + length] for s in starts])
    return batches


@pytest.mark.parametrize("likelihood, baseline_mean, amplitude, lam, support_fraction", [
    (Binomial(20), 4.0, 8.0, 0.1, 10.0),  # 20 trials at p = 0.2
    (Poisson(), 5.0, 2.0, 3.0, 0.3),
], ids=["binomial", "poisson"])
def test_auto_encoder_recovers_known_filters_from_counts(likelihood, baseline_mean, amplitude, lam,
                                                         support_fraction, rng):
    truth, bias, counts = simulated_counts(likelihood, baseline_mean, amplitude, rng)
    start = truth + rng.normal(scale=0.04, size=truth.shape)
    assert match_filters(start, truth)[1].min() > 0.15
    model = FamilyAutoencoder(start, likelihood, NonnegativeL1(lam), n_steps=30, bias=bias, debias_steps=10,
                              peak_distance=5, support_fraction=support_fraction)
    train_family(model, random_segments(counts, rng), n_steps=40, learning_rate=3e-3)
    _, errors = match_filters(model.filters(), truth)
    assert errors.max() < 0.1, errors


def test_gaussian_family_model_matches_the_spike_sorting_encoder_without_reweighting(rng):
    """With the Gaussian likelihood and the nonnegative L1 prior, the family encoder is engine.model.autoencoder's FISTA."""
    from engine.model.autoencoder import ConvSparseAutoencoder
    filters = rng.normal(size=(N_UNITS, N_CHANNELS, N_TAPS))
    y = torch.as_tensor(rng.normal(size=(2, N_CHANNELS, 200)), dtype=torch.float32)
    family = FamilyAutoencoder(filters, make_likelihood("gaussian"), NonnegativeL1(0.5), n_steps=40)
    plain = ConvSparseAutoencoder(filters, 0.5, n_steps=40, debias_steps=0, reweight_passes=1)
    with torch.no_grad():
        torch.testing.assert_close(family.encode(y), plain.encode(y), atol=1e-4, rtol=1e-3)
