import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.training.filter_update import LeastSquaresFilterUpdate


def test_least_squares_update_recovers_the_filters_from_their_codes():
    gen = torch.Generator().manual_seed(0)
    filters = torch.randn(2, 3, 7, generator=gen)
    codes = torch.relu(torch.randn(3, 2, 44, generator=gen) - 1.5)
    y = F.conv_transpose1d(codes, filters)
    update = LeastSquaresFilterUpdate(ridge=1e-9)
    start = torch.randn(2, 3, 7, generator=gen)
    assert torch.allclose(update(start, y, codes), filters, atol=1e-5)


def test_a_unit_without_spikes_keeps_its_filter():
    gen = torch.Generator().manual_seed(1)
    filters = torch.randn(2, 1, 5, generator=gen)
    codes = torch.relu(torch.randn(2, 2, 60, generator=gen) - 1.0)
    codes[:, 1] = 0.0
    y = F.conv_transpose1d(codes, filters)
    start = torch.randn(2, 1, 5, generator=gen)
    new = LeastSquaresFilterUpdate()(start, y, codes)
    assert torch.allclose(new[1], start[1], atol=1e-6)
    assert torch.allclose(new[0], filters[0], atol=1e-2)


def test_update_reports_the_batch_residual_of_the_filters_it_was_given(rng):
    filters = torch.as_tensor(rng.standard_normal((2, 3, 7)))
    codes = torch.zeros(2, 2, 94, dtype=torch.float64)
    codes[0, 0, 10], codes[1, 1, 40], codes[1, 0, 70] = 3.0, 2.0, 1.5
    y = F.conv_transpose1d(codes, filters) + 0.1 * torch.as_tensor(rng.standard_normal((2, 3, 100)))
    update = LeastSquaresFilterUpdate()
    update(filters, y, codes)
    assert update.residual == pytest.approx(torch.sum((y - F.conv_transpose1d(codes, filters)) ** 2).item(), rel=1e-9)


def test_the_normal_equations_are_solved_exactly_and_an_indefinite_system_still_gets_its_solution(rng):
    from engine.training.filter_update import _solve

    basis = rng.standard_normal((60, 40))
    system, rhs = basis.T @ basis + 1e-3 * np.eye(40), rng.standard_normal((40, 3))
    np.testing.assert_allclose(_solve(torch.from_numpy(system), torch.from_numpy(rhs)).numpy(),
                               np.linalg.solve(system, rhs), rtol=1e-9, atol=1e-12)
    indefinite = np.diag([2.0, -1.0, 0.5])  # no Cholesky factor: solved by LU instead
    np.testing.assert_allclose(_solve(torch.from_numpy(indefinite), torch.ones(3, 1, dtype=torch.float64)).numpy(),
                               [[0.5], [-1.0], [2.0]])
