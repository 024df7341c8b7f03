"""Constraints on the filters' shape: where on the probe each unit's filter lives, and its rank.

A neuron's spike reaches the contacts within about 100 µm of it (on the suite's probes 96-99 % of
a unit's template energy lies within 100 µm of its peak channel, 98-99 % within 150 µm; the rest is
mostly the noise of the average). A filter allowed on every channel of a long probe learns that
noise, and the cross-talk of the units that fire with it, on channels its neuron never reaches. So
each filter is confined to its *support*: the channels within ``radius_um`` of its peak channel. On
a tetrode or a short probe the support is every channel, and nothing changes. The radius is 150 µm
rather than 100 µm: with 100 µm, filters whose support held a large unit's remaining tail learned
it and fired with that unit's every spike (benchmarks/README.md, "Filters on their neighbourhood").

The seed's rank-1 filters, ``h_c[n] = g_c · w[n]`` (one waveform scaled per channel), are the
nearest rank-1 matrix of each filter (its first singular pair), taken after every filter update.
"""
from __future__ import annotations

import numpy as np
import torch

FILTER_RADIUS_UM = 150.0


def peak_channels(filters: np.ndarray) -> np.ndarray:
    """The channel of each (units, channels, taps) filter with the largest peak-to-peak."""
    return np.ptp(np.asarray(filters), axis=2).argmax(axis=1)


def filter_support(filters: np.ndarray, positions: np.ndarray | None,
                   radius_um: float | None = FILTER_RADIUS_UM) -> np.ndarray:
    """(units, channels) bool: the channels within ``radius_um`` of each filter's peak channel.
    Every channel when there is no geometry or no radius."""
    units, channels = np.asarray(filters).shape[:2]
    if positions is None or radius_um is None or not np.isfinite(radius_um):
        return np.ones((units, channels), dtype=bool)
    positions = np.asarray(positions, dtype=float)
    peaks = positions[peak_channels(filters)]
    distance = np.linalg.norm(peaks[:, None, :] - positions[None, :, :], axis=-1)
    return distance <= radius_um


def lives_on(weight: torch.Tensor) -> torch.Tensor:
    """(units, channels) bool: where each (units, channels, taps) filter is not zero, its support once
    ``constrain`` has been applied."""
    return weight.detach().abs().amax(dim=-1) > 0


def constrain(weight: torch.Tensor, support: np.ndarray | None, rank: int | None = None,
              denoise: bool = False) -> torch.Tensor:
    """The filters made rank-1 (with ``rank=1``) or, with ``denoise``, cut to the rank their singular
    values show above the noise (``denoise_rank``), and set to zero outside their support (in place;
    the masking comes last because an SVD leaves rounding noise on channels that were zero)."""
    if rank == 1:
        nearest_rank_one(weight)
    elif denoise:
        denoise_rank(weight, support)
    if support is not None and not support.all():
        weight.mul_(torch.as_tensor(support, dtype=weight.dtype, device=weight.device)[:, :, None])
    return weight


def nearest_rank_one(weight: torch.Tensor) -> torch.Tensor:
    """Each (channels, taps) filter replaced by its best rank-1 approximation (in place)."""
    u, s, vh = torch.linalg.svd(weight.detach().double(), full_matrices=False)
    rank_one = (u[:, :, :1] * s[:, None, :1]) @ vh[:, :1, :]
    weight.copy_(rank_one.to(weight.dtype))
    return weight


def _noise_edge(singular_values: torch.Tensor, aspect: float) -> torch.Tensor:
    """Gavish and Donoho's optimal hard threshold for a matrix of unknown white noise level:
    omega(aspect) times the median singular value (aspect = short side / long side)."""
    omega = 0.56 * aspect ** 3 - 0.95 * aspect ** 2 + 1.82 * aspect + 1.43
    return omega * singular_values.median()


def denoise_rank(weight: torch.Tensor, support: np.ndarray | None) -> torch.Tensor:
    """Each filter (channels x taps, on its support's channels) without the singular components that
    noise alone would give (in place).

    A filter fitted to the spikes of a small, rare unit carries the noise of their average on every
    channel and tap of its support (hundreds of values), enough to pull its shape away from the unit;
    a spike's waveform over the channels is nearly low-rank (a few temporal shapes scaled per
    channel), the noise is not. The threshold comes from each filter's own singular values, so a
    large unit seen on many spikes keeps its detail and a noisy one keeps its main components."""
    units, channels, taps = weight.shape
    support = np.ones((units, channels), dtype=bool) if support is None else np.asarray(support, dtype=bool)
    for unit in range(units):
        rows = torch.as_tensor(np.flatnonzero(support[unit]), device=weight.device)
        if len(rows) < 2:
            continue
        block = weight[unit, rows].double()
        u, s, vh = torch.linalg.svd(block, full_matrices=False)
        keep = s > _noise_edge(s, min(block.shape) / max(block.shape))
        weight[unit, rows] = ((u[:, keep] * s[keep]) @ vh[keep]).to(weight.dtype)
    return weight
