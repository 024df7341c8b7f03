"""What the views show of every cluster of one curation state, from one pass over the spikes.

The Units table's counts and mean amplitudes and the Raster's firing density over the whole recording
are per-cluster figures; each view counting them itself over every spike (5.4 M on an hour of 300
units) cost the GUI thread most of a second whenever the clusters changed. The table is built once per
state (``CurationController.cluster_table``), from the curation's (cluster, filter) counts and two
``bincount``s.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DENSITY_BINS = 600  # stretches of the recording the firing density is counted in (a pixel or two each)
CHUNK = 1 << 18  # spikes counted at a time: the keys' temporaries stay in cache (5.4 M at once: twice the time)


def pair_counts(first: np.ndarray, second: np.ndarray, n_first: int, n_second: int) -> np.ndarray:
    """(n_first, n_second) counts of the pairs (first[i], second[i])."""
    out = np.zeros(n_first * n_second, np.int64)
    for start in range(0, len(first), CHUNK):
        out += np.bincount(first[start:start + CHUNK] * n_second + second[start:start + CHUNK],
                           minlength=n_first * n_second)
    return out.reshape(n_first, n_second)


@dataclass(frozen=True)
class ClusterTable:
    counts: np.ndarray  # spikes of each cluster id (ids that no longer exist: 0)
    mean_amplitudes: np.ndarray  # mean code of each cluster's spikes (0 without spikes or amplitudes)
    density: np.ndarray  # (cluster ids, DENSITY_BINS): spikes per second in each stretch of the recording
    duration_s: float

    @classmethod
    def of(cls, clusters: np.ndarray, filter_counts: np.ndarray, times: np.ndarray,
           amplitudes: np.ndarray | None, n_samples: int, sampling_rate: float,
           bins: int = DENSITY_BINS) -> "ClusterTable":
        """``clusters``: each spike's cluster id; ``filter_counts``: (cluster ids, filters) spike counts
        (``Curation.filter_counts``); ``times`` in samples of a recording of ``n_samples``."""
        size = len(filter_counts)
        counts = np.asarray(filter_counts).sum(axis=1)
        means = np.zeros(size)
        if amplitudes is not None and len(amplitudes) == len(clusters) and len(clusters):
            means = np.bincount(clusters, weights=amplitudes, minlength=size) / np.maximum(counts, 1)
        n_samples = max(int(n_samples), 1)
        stretch = np.minimum(np.asarray(times, dtype=np.int64) * bins // n_samples, bins - 1)
        duration = n_samples / float(sampling_rate)
        density = pair_counts(clusters, stretch, size, bins)
        return cls(counts, means, density * (bins / duration), duration)

    @property
    def edges_s(self) -> np.ndarray:
        """The stretches' edges, in seconds."""
        return np.linspace(0.0, self.duration_s, self.density.shape[1] + 1)

    def density_of(self, ids) -> np.ndarray:
        """Spikes per second of the clusters ``ids`` together, in each stretch."""
        ids = [k for k in ids if 0 <= k < len(self.density)]
        return self.density[ids].sum(axis=0) if ids else np.zeros(self.density.shape[1])
