"""Closed-form filter update: the least-squares decoder given the codes.

For fixed codes x the reconstruction H x is linear in the filter
coefficients, so the filters minimising ||y - H x||^2 solve a linear system
of (units * taps) unknowns per channel. Its normal equations are summed over
batches with exponential forgetting (online dictionary learning, Mairal et
al. 2009), which averages out the noise of single batches while old codes,
computed with worse filters, fade.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy import linalg, sparse


class LeastSquaresFilterUpdate:
    def __init__(self, forget: float = 0.7, ridge: float = 1e-3):
        self.forget = forget
        self.ridge = ridge
        # DᵀD, sparse: two (unit, tap) columns meet only where the units' codes lie within a filter
        # length of each other, so on a long probe it is nearly block-diagonal (dense, 150 units of
        # 90 taps would be 1.5 GB)
        self._gram: sparse.csr_matrix | None = None
        self._cross: np.ndarray | None = None  # DᵀY, (units x taps, channels)
        self.residual = float("nan")  # ||y − Hx||² of the last batch, with the filters it came with

    def keep(self, units: np.ndarray, n_taps: int) -> None:
        """Forget the removed units' rows and columns of the accumulated normal equations."""
        if self._gram is None:
            return
        index = (np.asarray(units, dtype=np.int64)[:, None] * n_taps + np.arange(n_taps)).ravel()
        self._gram = self._gram[index][:, index]
        self._cross = self._cross[index]

    @staticmethod
    def _design(codes: torch.Tensor, n_samples: int, n_taps: int) -> sparse.csr_matrix:
        """Rows: samples of all segments; columns: (unit, tap) shifted codes.

        Sparse: a code x[b, c, n] places its filter on samples n .. n + taps - 1,
        so it fills taps entries, and codes are mostly zero. (A dense design of
        32 segments x 300 ms at 30 kHz with 5 units of 90 taps is 1 GB.)
        """
        batch, units, _ = codes.shape
        b, c, n = (idx.cpu().numpy() for idx in torch.nonzero(codes, as_tuple=True))
        values = codes[b, c, n].double().cpu().numpy()
        taps = np.arange(n_taps)
        rows = ((b * n_samples + n)[:, None] + taps).ravel()
        cols = (c[:, None] * n_taps + taps).ravel()
        return sparse.csr_matrix((np.repeat(values, n_taps), (rows, cols)),
                                 shape=(batch * n_samples, units * n_taps))

    @torch.no_grad()
    def __call__(self, weight: torch.Tensor, y: torch.Tensor, codes: torch.Tensor,
                 support: np.ndarray | None = None) -> torch.Tensor:
        """New filters (units, channels, taps) for segments y and their codes; with a ``support``
        ((units, channels) bool, engine.model.filter_shape), each channel is fitted by the units whose
        support holds it, and the others' coefficients there are zero."""
        units, channels, taps = weight.shape
        design = self._design(codes, y.shape[-1], taps)
        target = y.double().permute(0, 2, 1).reshape(-1, channels).cpu().numpy()
        gram = (design.T @ design).tocsr()
        cross = np.asarray(design.T @ target)
        current = weight.detach().double().permute(0, 2, 1).reshape(units * taps, channels).cpu().numpy()
        # from the normal equations, without decoding the batch: |Y − DW|² = |Y|² − 2<W, DᵀY> + <W, DᵀD W>
        self.residual = float((target ** 2).sum() - 2 * (current * cross).sum() + (current * (gram @ current)).sum())
        if self._gram is None:
            self._gram, self._cross = gram, cross
        else:
            self._gram = (self.forget * self._gram + gram).tocsr()
            self._cross = self.forget * self._cross + cross
        eps = self.ridge * max(float(self._gram.diagonal().mean()), 1e-12)
        rhs = self._cross + eps * current
        solution = np.zeros_like(rhs)
        if support is None:
            support = np.ones((units, channels), dtype=bool)
        # channels seen by the same units share one system
        patterns, which = np.unique(np.asarray(support, dtype=bool).T, axis=0, return_inverse=True)
        for pattern_index, pattern in enumerate(patterns):
            if not pattern.any():
                continue
            rows = (np.flatnonzero(pattern)[:, None] * taps + np.arange(taps)).ravel()
            columns = np.flatnonzero(which.ravel() == pattern_index)
            system = self._gram[rows][:, rows].toarray() + eps * np.eye(len(rows))
            solution[np.ix_(rows, columns)] = _solve(torch.from_numpy(system).to(weight.device),
                                                     torch.from_numpy(rhs[np.ix_(rows, columns)]).to(weight.device)
                                                     ).cpu().numpy()
        solution = torch.from_numpy(solution).to(weight.device)
        return solution.reshape(units, taps, channels).permute(0, 2, 1).to(weight.dtype)


def _solve(system: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    """The ridge makes the system positive definite: a Cholesky factorisation, half an LU's cost. On the
    CPU LAPACK's through scipy, faster than torch's on one thread (npx128-30k's 550 systems of up to
    1,890 unknowns: 21.1 -> 16.7 s of its 71 s of training)."""
    if system.device.type == "cpu":
        try:
            factor = linalg.cho_factor(system.numpy(), lower=True, check_finite=False)
            return torch.from_numpy(linalg.cho_solve(factor, rhs.numpy(), check_finite=False))
        except linalg.LinAlgError:
            return torch.linalg.solve(system, rhs)
    factor, info = torch.linalg.cholesky_ex(system)
    return torch.cholesky_solve(rhs, factor) if int(info) == 0 else torch.linalg.solve(system, rhs)
