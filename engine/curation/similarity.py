"""Similarity of learned filters (the Similarity view's matrix; merge suggestions weigh more evidence, in
engine/curation/suggestions.py).

A shifted copy of a waveform is the auto-encoder's typical duplicate unit, so
similarity is the best normalised cross-correlation over time shifts (up to
half a filter), the complement of the filter error: sqrt(1 - error^2).
"""
from __future__ import annotations

import numpy as np

from engine.curation.local import nearby_channels, overlapping_pairs
from engine.groundtruth.metrics import filter_error


def filter_similarity(filters: np.ndarray, positions=None) -> np.ndarray:
    """(units, units) symmetric matrix in [0, 1], ones on the diagonal.

    With the probe's channel ``positions``, only filters whose channels (those near their largest
    channel, engine.curation.local) overlap are compared, on the union of their channels; the others
    are 0. Without, every pair on every channel.
    """
    n = len(filters)
    max_shift = filters.shape[-1] // 2
    sim = np.eye(n)
    if positions is None:
        pairs, channels = [(a, b) for a in range(n) for b in range(a + 1, n)], None
    else:
        energy = np.einsum("uct,uct->uc", filters, filters)
        channels = {u: nearby_channels(positions, int(energy[u].argmax())) for u in range(n)}
        pairs = overlapping_pairs(channels)
    for a, b in pairs:
        rows = slice(None) if channels is None else np.union1d(channels[a], channels[b])
        err = filter_error(filters[a][rows], filters[b][rows], max_shift=max_shift)
        sim[a, b] = sim[b, a] = np.sqrt(max(0.0, 1.0 - err * err))
    return sim


def cluster_similarity(filter_sim: np.ndarray, cluster_filters: dict[int, list[int]]) -> np.ndarray:
    """Similarity of clusters: the best of their filters' (a merged cluster holds several filters)."""
    ids = list(cluster_filters)
    sim = np.eye(len(ids))
    for i, a in enumerate(ids):
        for j in range(i + 1, len(ids)):
            fa, fb = cluster_filters[a], cluster_filters[ids[j]]
            value = float(filter_sim[np.ix_(fa, fb)].max()) if fa and fb else 0.0
            sim[i, j] = sim[j, i] = value
    return sim

