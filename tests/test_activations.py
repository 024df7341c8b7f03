"""Every activation is the minimiser of 1/2||x - v||^2 + step g(x) over its constraint set (checked with scipy)."""
import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from engine.model.activations import (GroupShrinkage, NonnegativeL1, Ridge, Simplex, SoftThreshold, TwoSidedGaussian,
                                make_activation)

N_UNITS = 6
STEP = 0.7
TOLERANCE = 1e-4


def activation_of(activation, v: np.ndarray) -> np.ndarray:
    """The activation applied to one sample's codes (units,), as a (1, units, 1) tensor."""
    x = activation(torch.as_tensor(v, dtype=torch.float64).view(1, -1, 1), STEP)
    return x.view(-1).numpy()


def proximal_objective(activation, v):
    def objective(x):
        x_t = torch.as_tensor(x, dtype=torch.float64).view(1, -1, 1)
        return 0.5 * np.sum((x - v) ** 2) + STEP * float(activation.penalty(x_t))
    return objective


def numerical_minimiser(activation, v: np.ndarray) -> np.ndarray:
    """scipy's minimiser, written as a smooth problem where the penalty is not smooth."""
    n = len(v)
    objective = proximal_objective(activation, v)
    if isinstance(activation, NonnegativeL1):  # linear on the feasible orthant
        return minimize(objective, np.zeros(n), method="L-BFGS-B", bounds=[(0, None)] * n, tol=1e-12).x
    if isinstance(activation, SoftThreshold):  # x = p - q, |x| = p + q at the optimum
        def split(pq):
            p, q = pq[:n], pq[n:]
            return 0.5 * np.sum((p - q - v) ** 2) + STEP * activation.lam * np.sum(p + q)
        pq = minimize(split, np.zeros(2 * n), method="L-BFGS-B", bounds=[(0, None)] * (2 * n), tol=1e-12).x
        return pq[:n] - pq[n:]
    if isinstance(activation, GroupShrinkage):  # non-smooth where a group is zero: derivative-free
        bounds = [(0, None) if activation.nonnegative else (None, None)] * n
        return minimize(objective, np.maximum(v, 0), method="Powell", bounds=bounds,
                        options={"xtol": 1e-10, "ftol": 1e-14, "maxfev": 100_000}).x
    if isinstance(activation, Simplex):
        return minimize(objective, np.full(n, 1.0 / n), method="SLSQP", bounds=[(0, None)] * n, tol=1e-12,
                        constraints=[{"type": "eq", "fun": lambda x: np.sum(x) - 1.0}]).x
    return minimize(objective, np.zeros(n), method="BFGS", tol=1e-12).x  # smooth: ridge, two-sided Gaussian


ACTIVATIONS = [NonnegativeL1(0.8), SoftThreshold(0.8), Ridge(1.3), TwoSidedGaussian(1.5, 0.4),
               GroupShrinkage(1.1, (0, 0, 1, 1, 2, 2)), GroupShrinkage(1.1, (0, 0, 0, 1, 1, 1), nonnegative=False),
               Simplex()]


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda a: type(a).__name__)
def test_activation_is_the_minimiser_of_its_objective(activation, rng):
    for _ in range(5):
        v = rng.normal(scale=1.5, size=N_UNITS)
        ours, theirs = activation_of(activation, v), numerical_minimiser(activation, v)
        objective = proximal_objective(activation, v)
        assert objective(ours) <= objective(theirs) + TOLERANCE
        np.testing.assert_allclose(ours, theirs, atol=1e-3)


def test_simplex_projection_satisfies_its_constraints(rng):
    v = torch.as_tensor(rng.normal(scale=3.0, size=(4, N_UNITS, 50)))
    x = Simplex()(v)
    assert torch.all(x >= 0)
    torch.testing.assert_close(x.sum(1), torch.ones(4, 50, dtype=x.dtype))


def test_activations_act_on_code_tensors_and_are_differentiable(rng):
    v = torch.as_tensor(rng.normal(size=(2, N_UNITS, 30)), dtype=torch.float32).requires_grad_()
    for name in ("relu", "soft", "ridge", "leaky", "group", "simplex"):
        out = make_activation(name, lam=0.5, n_units=N_UNITS, group_size=2)(v, STEP)
        assert out.shape == v.shape
        (grad,) = torch.autograd.grad(out.sum(), v)
        assert torch.isfinite(grad).all()


def test_unknown_activation_is_refused():
    with pytest.raises(ValueError, match="unknown activation"):
        make_activation("tanh")
