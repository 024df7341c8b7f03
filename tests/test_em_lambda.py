"""EM lambda (CRsAE): on data drawn from the model, EM finds the lambda that generated it."""
import numpy as np
import pytest
import torch

from engine.model.correlation import convolve_full
from engine.training.em_lambda import GammaPrior, estimate_lambda, lambda_update
from engine.model.autoencoder import ConvSparseAutoencoder

SIGMA = 0.05


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_lambda_update_is_the_gamma_posterior_mode():
    codes = torch.tensor([0.0, 1.0, 3.0, 0.0])
    assert lambda_update(codes, GammaPrior()) == pytest.approx(4 / 4)
    assert lambda_update(codes, GammaPrior(shape=3.0, rate=2.0)) == pytest.approx((2 + 4) / (2 + 4))
    prior = GammaPrior.around(mean=5.0, weight=10.0)
    assert (prior.shape - 1) / prior.rate == pytest.approx(5.0)


@pytest.mark.parametrize("true_lambda, start", [(2.0, 0.4), (5.0, 25.0)])
def test_em_converges_to_the_generating_lambda(true_lambda, start, rng):
    """Codes drawn from the exponential prior, 2 units of 4 channels x 8 taps, Gaussian noise."""
    filters = rng.normal(size=(2, 4, 8))
    filters /= np.linalg.norm(filters.reshape(2, -1), axis=1)[:, None, None]
    codes = rng.exponential(1 / true_lambda, size=(4, 2, 500)).astype(np.float32)
    y = convolve_full(torch.as_tensor(codes), torch.as_tensor(filters, dtype=torch.float32))
    y = y + SIGMA * torch.as_tensor(rng.standard_normal(y.shape), dtype=torch.float32)
    model = ConvSparseAutoencoder(filters, 1.0, n_steps=200, debias_steps=0, reweight_passes=1)
    result = estimate_lambda(lambda data, threshold: model.encode(data, lam=threshold), y, SIGMA, lam=start)
    assert abs(result.lam - true_lambda) < 0.2 * true_lambda, result.history
    assert len(result.history) > 2


def test_a_truncated_prior_caps_the_update():
    codes = torch.tensor([0.0, 1.0, 3.0, 0.0])
    assert lambda_update(codes, GammaPrior(upper=0.5)) == 0.5
    assert lambda_update(codes, GammaPrior(upper=2.0)) == pytest.approx(1.0)
    assert lambda_update(torch.zeros(3), GammaPrior(upper=7.0)) == 7.0
