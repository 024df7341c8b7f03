"""The median along one axis, by a full sort.

np.median partitions each lane separately, with a fixed cost per lane that
dominates for the short lanes sorting has: 32 channels per sample, or one
cluster's 150 snippets per template coefficient. Sorting the whole array
at once is 3-5x faster there (measured on 80,000 x 32 and 150 x 32 x 90
float32 arrays). For long lanes (a channel's noise level from 100,000
samples) the partition is faster, and np.median stays.
"""
from __future__ import annotations

import numpy as np


def median(data: np.ndarray, axis: int, keepdims: bool = False) -> np.ndarray:
    """np.median(data, axis, keepdims=keepdims) for arrays without NaN."""
    ordered = np.sort(data, axis=axis)
    n = data.shape[axis]
    lower = np.take(ordered, [(n - 1) // 2], axis=axis)
    upper = np.take(ordered, [n // 2], axis=axis)
    middle = 0.5 * (lower + upper)
    return middle if keepdims else np.squeeze(middle, axis=axis)
