"""Spike-train summaries for judging clusters: ISI histogram, correlograms, firing rate."""
from __future__ import annotations

import numpy as np


def isi_histogram(times, sampling_rate: float, bin_ms: float = 0.5, max_ms: float = 50.0):
    """(bin edges in ms, counts) of inter-spike intervals."""
    edges = np.arange(0.0, max_ms + bin_ms, bin_ms)
    isi_ms = np.diff(np.sort(np.asarray(times))) * 1e3 / sampling_rate
    return edges, np.histogram(isi_ms, edges)[0]


def correlogram(times_a, times_b, sampling_rate: float, bin_ms: float = 1.0, window_ms: float = 50.0,
                same: bool = False):
    """(bin centres in ms, counts) of the lags t_b - t_a within +-window; ``same`` drops the zero lag
    of each spike with itself (an auto-correlogram)."""
    a = np.sort(np.asarray(times_a, dtype=np.int64))
    b = np.sort(np.asarray(times_b, dtype=np.int64))
    window = int(round(window_ms * 1e-3 * sampling_rate))
    half_bins = int(round(window_ms / bin_ms))
    edges = np.linspace(-window, window, 2 * half_bins + 1)
    lo = np.searchsorted(b, a - window, side="left")
    hi = np.searchsorted(b, a + window, side="right")
    starts = np.repeat(lo, hi - lo)
    owner = np.repeat(np.arange(len(a)), hi - lo)
    index = starts + (np.arange(len(starts)) - np.repeat(np.cumsum(hi - lo) - (hi - lo), hi - lo))
    lags = b[index] - a[owner]
    if same:
        lags = lags[index != owner]
    counts = np.histogram(lags, edges)[0]
    centres_ms = 0.5 * (edges[1:] + edges[:-1]) * 1e3 / sampling_rate
    return centres_ms, counts


def firing_rate(times, sampling_rate: float, duration_s: float, bin_s: float = 1.0):
    """(bin start times in s, rate in Hz) over the recording."""
    n_bins = max(1, int(np.ceil(duration_s / bin_s)))
    edges = np.arange(n_bins + 1) * bin_s
    counts = np.histogram(np.asarray(times) / sampling_rate, edges)[0]
    return edges[:-1], counts / bin_s
