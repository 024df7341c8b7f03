"""Spike waveforms read back from the recording, and their PCA features, for judging clusters."""
from __future__ import annotations

import numpy as np

SNIPPET_BEFORE_MS = 1.0
SNIPPET_AFTER_MS = 2.0
READ_BLOCK_SAMPLES = 1 << 18  # spikes are read in blocks of the recording, not one read per spike
READ_BLOCK_VALUES = 1 << 22  # ... of at most this many samples x channels (16 MB), whatever the probe


def snippet_window(sampling_rate: float) -> tuple[int, int]:
    """Samples before and after a spike's trough that a snippet holds."""
    return int(round(SNIPPET_BEFORE_MS * 1e-3 * sampling_rate)), int(round(SNIPPET_AFTER_MS * 1e-3 * sampling_rate))


def read_snippets(recording, times, channels=None, progress=None) -> np.ndarray:
    """(spikes, taps, channels) around each trough; spikes too near an end of the recording are zeros.
    ``progress(fraction)`` after each block read (it may raise to cancel)."""
    before, after = snippet_window(recording.sampling_rate)
    channels = np.arange(recording.n_channels) if channels is None else np.asarray(channels, dtype=np.int64)
    times = np.asarray(times, dtype=np.int64)
    out = np.zeros((len(times), before + after, len(channels)), dtype=np.float32)
    inside = (times - before >= 0) & (times + after <= recording.n_samples)
    order = np.flatnonzero(inside)[np.argsort(times[inside], kind="stable")]
    sorted_times = times[order]
    offsets = np.arange(-before, after)
    span = max(1, min(READ_BLOCK_SAMPLES, READ_BLOCK_VALUES // max(1, len(channels))) - before - after)
    i = 0
    while i < len(order):
        lo = sorted_times[i] - before
        j = max(i + 1, np.searchsorted(sorted_times, sorted_times[i] + span, side="right"))
        block_spikes = order[i:j]
        hi = times[block_spikes].max() + after
        block = recording.traces(lo, hi, channels)
        out[block_spikes] = block[(times[block_spikes] - lo)[:, None] + offsets[None, :]]
        i = j
        if progress is not None:
            progress(i / len(order))
    return out


def sample_spikes(spike_indices: np.ndarray, limit: int, seed: int = 0) -> np.ndarray:
    """At most ``limit`` of the given spikes, chosen at random but reproducibly, in their original order."""
    spike_indices = np.asarray(spike_indices)
    if len(spike_indices) <= limit:
        return spike_indices
    return np.sort(np.random.default_rng(seed).choice(spike_indices, limit, replace=False))


def best_channels(mean_waveform: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` channels where a (taps, channels) mean waveform is largest, largest first."""
    peak = np.abs(mean_waveform).max(axis=0)
    return np.argsort(-peak, kind="stable")[:count]


def pca_features(snippets: np.ndarray, n_components: int = 3) -> np.ndarray:
    """(spikes, n_components) principal-component scores of flattened snippets."""
    flat = snippets.reshape(len(snippets), -1).astype(np.float64)
    if len(flat) == 0:
        return np.zeros((0, n_components))
    centred = flat - flat.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    scores = centred @ vt[:n_components].T
    if scores.shape[1] < n_components:
        scores = np.pad(scores, ((0, 0), (0, n_components - scores.shape[1])))
    return scores
