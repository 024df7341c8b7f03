"""Units whose filter is another unit's waveform moved along the window.

Snippets of one neuron detected on a feature other than its trough (an
earlier or later phase, or a neighbour's spike just before) make a cluster
whose waveform is that neuron's, displaced by a millisecond or so. As a
filter it competes with the original for the same spikes: the lasso splits
a spike's code between the two, the original's share can fall below its
amplitude floor, and the spike goes missing or lands in a small junk unit.
On the generated 32-channel probe of benchmarks/peers.py three of nineteen
units were such copies, at 25-42 samples and correlations of 0.94-0.98.

Two different neurons can share a shape (the same cell type at different
distances), but then their troughs line up, because every initial filter is
cut around a detected trough. A near-identical shape far off the alignment
is a copy, and of the two the one with its trough where the window puts
troughs is the original.
"""
from __future__ import annotations

import numpy as np
import torch

from engine.model.active_set import cross_correlations
from engine.sorting.sorter import trough_offsets

COPY_CORRELATION = 0.85  # <h_u shifted, h_v> of unit-norm filters above which one is a copy of the other


def shift_correlations(filters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signed correlations of the unit-norm filters at every shift, (units, units, 2 taps - 1) (signed:
    an inverted filter takes other spikes), and each shift's size in samples."""
    weight = torch.as_tensor(np.asarray(filters, dtype=np.float32))
    norms = weight.flatten(1).norm(dim=1).clamp_min(1e-12)
    taps = weight.shape[-1]
    return cross_correlations(weight / norms[:, None, None]), np.abs(np.arange(2 * taps - 1) - (taps - 1))


def copy_units(filters: np.ndarray, size: np.ndarray, min_shift: int, trough_tap: int,
               min_correlation: float = COPY_CORRELATION) -> np.ndarray:
    """Indices of the units that are shifted copies of another.

    filters: (units, channels, taps). Of two units whose best correlation,
    at a shift of more than ``min_shift`` samples, reaches
    ``min_correlation``, the original is the one whose trough lies nearer
    ``trough_tap`` (where the initialisation cuts the window around a
    detected trough); on a tie, the one with the larger ``size`` (typical
    amplitude or spike count). Copies of a unit that is itself a copy count
    against the unit that is kept.
    """
    table, shifts = shift_correlations(filters)
    far = shifts > min_shift
    shifted = np.where(far[None, None, :], table, -np.inf).max(axis=2)
    aligned = np.where(far[None, None, :], -np.inf, table).max(axis=2)
    is_copy = (shifted >= min_correlation) & (shifted > aligned)
    off_centre = np.abs(trough_offsets(np.asarray(filters)) - trough_tap)
    rank = np.lexsort((-np.asarray(size, dtype=np.float64), off_centre))  # originals first
    kept: list[int] = []
    dropped: list[int] = []
    for unit in rank:
        if any(is_copy[unit, v] for v in kept):
            dropped.append(int(unit))
        else:
            kept.append(int(unit))
    return np.array(sorted(dropped), dtype=np.int64)
