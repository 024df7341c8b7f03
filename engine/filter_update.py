"""Closed-form filter update: the least-squares decoder given the codes.

For fixed codes x the reconstruction H x is linear in the filter
coefficients, so the filters minimising ||y - H x||^2 solve a linear system
of (units * taps) unknowns per channel. Its normal equations are summed over
batches with exponential forgetting (online dictionary learning, Mairal et
al. 2009), which averages out the noise of single batches while old codes,
computed with worse filters, fade.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


class LeastSquaresFilterUpdate:
    def __init__(self, forget: float = 0.7, ridge: float = 1e-3):
        self.forget = forget
        self.ridge = ridge
        self._gram: torch.Tensor | None = None
        self._cross: torch.Tensor | None = None

    @staticmethod
    def _design(codes: torch.Tensor, n_taps: int) -> torch.Tensor:
        """Rows: samples of all segments; columns: (unit, tap) shifted codes."""
        batch, units, _ = codes.shape
        padded = F.pad(codes, (n_taps - 1, n_taps - 1))
        windows = padded.unfold(2, n_taps, 1).flip(-1)  # [b, c, n, k] = x[c, n - k]
        return windows.permute(0, 2, 1, 3).reshape(-1, units * n_taps)

    @torch.no_grad()
    def __call__(self, weight: torch.Tensor, y: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """New filters (units, channels, taps) for segments y and their codes."""
        units, channels, taps = weight.shape
        design = self._design(codes.double(), taps)
        target = y.double().permute(0, 2, 1).reshape(-1, channels)
        gram = design.T @ design
        cross = design.T @ target
        if self._gram is None:
            self._gram, self._cross = gram, cross
        else:
            self._gram = self.forget * self._gram + gram
            self._cross = self.forget * self._cross + cross
        current = weight.double().permute(0, 2, 1).reshape(units * taps, channels)
        eps = self.ridge * torch.diagonal(self._gram).mean().clamp_min(1e-12)
        system = self._gram + eps * torch.eye(units * taps, dtype=torch.float64, device=weight.device)
        solution = torch.linalg.solve(system, self._cross + eps * current)
        return solution.reshape(units, taps, channels).permute(0, 2, 1).to(weight.dtype)
