"""The encoder's lasso solved on candidate spike positions (an active set).

The dense encoder (``ConvSparseAutoencoder.encode``) updates a code at every
sample of every unit at every FISTA step, although nearly all of them stay
zero: at 30 kHz that is most of the time spent sorting. The solution of the
nonnegative lasso is zero wherever the correlation Hᵀy stays below lambda
and no spike nearby changes it, so this solver works only where spikes can be:

1. the correlations b = Hᵀy, once (FFT);
2. candidates: each unit's local maxima of b above ``CANDIDATE_FRACTION``
   of lambda, at least ``peak_distance`` apart;
3. the same objective as the dense encoder (two reweighted-L1 passes, then
   a refit without penalty on the codes that survive) restricted to the
   candidates. Its Gram matrix is sparse, since two codes interact only
   when less than ``taps`` samples apart, and its entries are the filters'
   cross-correlations;
4. the gradient at every position is then recomputed from the codes found;
   where it still exceeds the candidate level (a spike hidden by an
   overlapping one) new candidates join and the problem is solved again.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import sparse
from scipy.sparse import linalg as sparse_linalg
from scipy.signal import find_peaks

from engine.spectral import SpectralOperator

CANDIDATE_FRACTION = 0.5
REFINE_ROUNDS = 1
INTERACTION_FLOOR = 0.02  # largest cross-correlation of two unit-norm filters below which they do not interact
GRAM_BLOCK_CODES = 20_000  # codes scattered at once: bounds memory on probes with many units
STEPS_PER_PASS = 40
MAX_REFITS = 5
RIDGE = 1e-6  # relative to the diagonal: keeps the refit solvable where two codes are nearly parallel


@dataclass
class SparseCodes:
    """Nonzero codes: segment, code index, unit and value of each."""
    segment: np.ndarray
    position: np.ndarray
    unit: np.ndarray
    value: np.ndarray

    def __len__(self) -> int:
        return len(self.value)

    def to_dense(self, n_segments: int, n_units: int, n_codes: int, device=None) -> torch.Tensor:
        dense = torch.zeros(n_segments, n_units, n_codes, device=device)
        index = (torch.as_tensor(self.segment), torch.as_tensor(self.unit), torch.as_tensor(self.position))
        dense[tuple(i.to(dense.device) for i in index)] = torch.as_tensor(self.value, dtype=torch.float32,
                                                                         device=dense.device)
        return dense


def cross_correlations(weight: torch.Tensor) -> np.ndarray:
    """(units, units, 2 taps − 1): entry [u, v, d + taps − 1] is <h_u at m, h_v at m + d>."""
    taps = weight.shape[-1]
    w = weight.detach().double().cpu()
    return F.conv1d(F.pad(w, (taps - 1, taps - 1)), w).numpy()


def _local_maxima(values: np.ndarray, level: float, distance: int) -> list[np.ndarray]:
    """Per row: indices of peaks above ``level`` at least ``distance`` apart."""
    return [find_peaks(row, height=level, distance=max(1, distance))[0] for row in values]


class ActiveSetProblem:
    """The lasso over the candidates of a batch of segments, on one time axis.

    Segment s, code index m sits at s * stride + m; the stride leaves a gap of
    ``taps`` between segments so that codes of different segments never
    interact.
    """

    def __init__(self, table: np.ndarray, n_codes: int):
        self.table = table
        self.n_taps = (table.shape[-1] + 1) // 2
        self.stride = n_codes + self.n_taps
        # units whose filters barely overlap (far apart on a probe) are treated as not interacting
        self.interacts = np.abs(table).max(axis=2) >= INTERACTION_FLOOR

    def gram(self, key: np.ndarray, unit: np.ndarray) -> sparse.csr_matrix:
        """Sparse Gram matrix of candidates sorted by ``key``."""
        reach = self.n_taps - 1
        lo = np.searchsorted(key, key - reach, side="left")
        hi = np.searchsorted(key, key + reach, side="right")
        counts = hi - lo
        rows = np.repeat(np.arange(len(key)), counts)
        starts = np.cumsum(counts) - counts
        cols = lo[rows] + np.arange(counts.sum()) - starts[rows]
        near = self.interacts[unit[rows], unit[cols]]
        rows, cols = rows[near], cols[near]
        values = self.table[unit[rows], unit[cols], key[cols] - key[rows] + reach]
        return sparse.csr_matrix((values, (rows, cols)), shape=(len(key), len(key)))


def _fista(gram: sparse.csr_matrix, b: np.ndarray, x: np.ndarray, weights: np.ndarray, n_steps: int,
           lipschitz: float) -> np.ndarray:
    """Nonnegative FISTA on 1/2 xᵀGx − bᵀx + weightsᵀx."""
    step = 1.0 / lipschitz
    z, t = x, 1.0
    for _ in range(n_steps):
        x_next = np.maximum(z + step * (b - gram @ z - weights), 0.0)
        t_next = (1.0 + np.sqrt(1.0 + 4.0 * t * t)) / 2.0
        z = x_next + ((t - 1.0) / t_next) * (x_next - x)
        x, t = x_next, t_next
    return x


def refit(gram: sparse.csr_matrix, b: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Least squares on the support, without penalty; codes that turn negative leave it."""
    x = np.zeros_like(b)
    index = np.flatnonzero(support)
    for _ in range(MAX_REFITS):
        if len(index) == 0:
            break
        block = gram[index][:, index].tocsc()
        block = block + sparse.diags(RIDGE * block.diagonal())
        values = np.atleast_1d(sparse_linalg.spsolve(block, b[index]))
        if (values > 0).all():
            x[index] = values
            break
        index = index[values > 0]
    return x


def solve_lasso(gram: sparse.csr_matrix, b: np.ndarray, lam: float, reweight_scale: float,
                lipschitz: float, reweight_passes: int = 2) -> np.ndarray:
    """Reweighted nonnegative lasso, then an unpenalised refit on its support.

    The step is the model's global 1/L, not one fitted to these candidates, so
    that every group of interacting codes gets the same iterates whichever
    chunk of the recording it is solved in.
    """
    x = np.zeros_like(b)
    weights = np.full_like(b, lam)
    for _ in range(reweight_passes):
        x = _fista(gram, b, x, weights, STEPS_PER_PASS, lipschitz)
        weights = lam / (1.0 + x / (reweight_scale * lam))
    return refit(gram, b, x > 0)


class ActiveSetEncoder:
    """The active-set solver for segments of up to ``n_samples`` samples, with the model's current filters.

    Building it transforms the filters once (FFT, cross-correlations);
    sorting builds one per run, training one per step.
    """

    def __init__(self, model, n_samples: int, neighbours: bool = True):
        self.model = model
        self.n_samples = int(n_samples)
        self.neighbours = neighbours
        with torch.no_grad():
            self.operator = SpectralOperator(model.weight.detach(), self.n_samples)
        self.problem = ActiveSetProblem(cross_correlations(model.weight), self.operator.n_codes)

    def encode(self, y: torch.Tensor, lam: float | None = None) -> SparseCodes:
        """Codes of segments y (batch, channels, n <= n_samples)."""
        model, problem = self.model, self.problem
        lam = model.lam if lam is None else lam
        n_codes = y.shape[-1] - model.n_taps + 1
        if y.shape[-1] > self.n_samples:
            raise ValueError(f"segments of {y.shape[-1]} samples; this encoder takes at most {self.n_samples}")
        with torch.no_grad():
            # zeros after the end add no codes inside it; the ones beyond are dropped below
            y = F.pad(y, (0, self.n_samples - y.shape[-1]))
            correlation = self.operator.correlate(y).cpu().numpy()
        level = CANDIDATE_FRACTION * lam
        distance = model.peak_distance
        segment, position, unit = self._with_neighbours(*_candidates(correlation[..., :n_codes], level, distance),
                                                         n_codes)
        for round_index in range(REFINE_ROUNDS + 1):
            key = segment * problem.stride + position
            order = np.argsort(key, kind="stable")
            segment, position, unit, key = segment[order], position[order], unit[order], key[order]
            b = correlation[segment, unit, position].astype(np.float64)
            x = solve_lasso(problem.gram(key, unit), b, lam, model.reweight_scale, model.lipschitz,
                            model.reweight_passes)
            if round_index == REFINE_ROUNDS:
                break
            residual = correlation[..., :n_codes] - self._gram_times(segment, position, unit, x, correlation.shape[0],
                                                                        n_codes)
            found = _candidates(residual, level, distance)
            fresh = ~_near_existing(found, (segment, position, unit), distance, model.n_units, problem.stride)
            if not fresh.any():
                break
            found = self._with_neighbours(*(f[fresh] for f in found), n_codes)
            segment, position, unit = (np.concatenate([a, f]) for a, f in zip((segment, position, unit), found))
        keep = x > 0
        return SparseCodes(segment[keep], position[keep], unit[keep], x[keep].astype(np.float32))


    def _with_neighbours(self, segment, position, unit, n_codes):
        """Candidates plus both neighbours of each: a spike between two samples is fitted by two adjacent codes.

        Sorting only: in training, the split between two nearly parallel
        codes is arbitrary and the least-squares filters come out smoothed.
        """
        if not self.neighbours:
            return segment, position, unit
        position = np.concatenate([position - 1, position, position + 1])
        segment, unit = np.tile(segment, 3), np.tile(unit, 3)
        inside = (position >= 0) & (position < n_codes)
        keys = np.unique(np.stack([segment[inside], unit[inside], position[inside]]), axis=1)
        return keys[0], keys[2], keys[1]

    def _gram_times(self, segment, position, unit, x, n_segments: int, n_codes: int) -> np.ndarray:
        """HᵀH x at every position, x given by its nonzero codes: each adds its cross-correlations around it."""
        table = self.problem.table  # [v, u, j]: <h_v at p − j + reach, h_u at p>
        n_units, _, width = table.shape
        reach = width // 2
        length = n_codes + 2 * reach
        out = np.zeros(n_segments * n_units * length)
        active = np.flatnonzero(x > 0)
        lags = np.arange(width)
        for block in np.array_split(active, max(1, len(active) // GRAM_BLOCK_CODES + 1)):
            code, other = np.nonzero(self.problem.interacts[unit[block]])  # pairs (code, unit it reaches)
            code = block[code]
            rows = (segment[code] * n_units + other) * length
            index = rows[:, None] + (position[code, None] + 2 * reach - lags[None, :])
            weights = x[code, None] * table[other, unit[code], :]
            out += np.bincount(index.ravel(), weights=weights.ravel(), minlength=len(out))
        return out.reshape(n_segments, n_units, length)[:, :, reach:reach + n_codes]


def encode_active_set(model, y: torch.Tensor, lam: float | None = None, neighbours: bool = True) -> SparseCodes:
    """Codes of segments y (batch, channels, n) by the active-set solver."""
    return ActiveSetEncoder(model, y.shape[-1], neighbours).encode(y, lam)


def _candidates(correlation: np.ndarray, level: float, distance: int):
    segments, positions, units = [], [], []
    n_segments, n_units, _ = correlation.shape
    for s in range(n_segments):
        for u, peaks in enumerate(_local_maxima(correlation[s], level, distance)):
            segments.append(np.full(len(peaks), s))
            positions.append(peaks)
            units.append(np.full(len(peaks), u))
    return (np.concatenate(segments).astype(np.int64), np.concatenate(positions).astype(np.int64),
            np.concatenate(units).astype(np.int64))


def spike_groups(codes: SparseCodes, distance: int) -> np.ndarray:
    """Group number of each code: same-unit codes closer than ``distance`` are one spike."""
    order = np.lexsort((codes.position, codes.unit, codes.segment))
    seg, pos, un = codes.segment[order], codes.position[order], codes.unit[order]
    new_group = np.ones(len(order), dtype=bool)
    new_group[1:] = (seg[1:] != seg[:-1]) | (un[1:] != un[:-1]) | (pos[1:] - pos[:-1] >= distance)
    groups = np.empty(len(order), dtype=np.int64)
    groups[order] = np.cumsum(new_group) - 1
    return groups


def merge_spikes(codes: SparseCodes, distance: int) -> SparseCodes:
    """One spike per group of same-unit codes closer than ``distance``: summed value, at the largest code.

    Candidates include each local maximum's two neighbours, so a spike that
    falls between two samples is fitted by two adjacent codes of its unit.
    """
    if len(codes) == 0:
        return codes
    groups = spike_groups(codes, distance)
    total = np.bincount(groups, weights=codes.value)
    by_value = np.lexsort((codes.value, groups))  # each group's largest code comes last
    peak = by_value[np.flatnonzero(np.r_[groups[by_value][1:] != groups[by_value][:-1], True])]
    return SparseCodes(codes.segment[peak], codes.position[peak], codes.unit[peak], total.astype(np.float32))


def drop_below(codes: SparseCodes, floors: np.ndarray, distance: int) -> SparseCodes:
    """The codes of spikes (groups) whose summed value reaches their unit's floor."""
    if len(codes) == 0:
        return codes
    groups = spike_groups(codes, distance)
    total = np.bincount(groups, weights=codes.value)
    keep = total[groups] >= floors[codes.unit]
    return SparseCodes(codes.segment[keep], codes.position[keep], codes.unit[keep], codes.value[keep])


def _near_existing(found, existing, distance: int, n_units: int, stride: int) -> np.ndarray:
    """Mask of found candidates less than ``distance`` from an existing one of the same segment and unit."""
    def keys(segment, position, unit):
        return (segment * n_units + unit) * stride + position
    old = np.sort(keys(*existing))
    new = keys(*found)
    right = np.searchsorted(old, new).clip(0, max(len(old) - 1, 0))
    left = (right - 1).clip(0)
    if len(old) == 0:
        return np.zeros(len(new), dtype=bool)
    gap = np.minimum(np.abs(old[right] - new), np.abs(old[left] - new))
    return gap < max(1, distance)
