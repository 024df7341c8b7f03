"""Quality metrics of curated clusters, as users know them from SpikeInterface / Phy.

- SNR: the mean waveform's largest excursion on its best channel over that channel's noise std.
- ISI-violation ratio (after Hill et al. 2011): the number of intervals below 1.5 ms over the
  number a Poisson train of the same rate would have; 0 is clean, 1 is as many violations as
  chance (SpikeInterface's ``isi_violations_ratio`` is half of this number).
- Presence ratio: the fraction of time bins (60 s, or a tenth of a short recording) with a spike.
- Amplitude cutoff (Hill et al.): the estimated fraction of spikes lost below the detection
  threshold, from how far the amplitude histogram is cut off on its low side (at most 0.5).
- Isolation: the fraction of each spike's nearest neighbours (PCA of the waveforms on the two
  clusters' best channels) that belong to its own cluster, against the most similar other cluster;
  1 is perfectly isolated, 0.5 indistinguishable.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.spatial import cKDTree

from engine.curation.features import best_channels, pca_features, read_snippets, sample_spikes

ISI_THRESHOLD_MS = 1.5
PRESENCE_BIN_S = 60.0
SNIPPETS_PER_CLUSTER = 200
ISOLATION_CHANNELS = 4
ISOLATION_NEIGHBOURS = 5


@dataclass
class QualityMetrics:
    cluster: int
    count: int
    snr: float
    isi_violation_ratio: float
    presence_ratio: float
    amplitude_cutoff: float
    isolation: float
    nearest: int | None  # the cluster isolation was measured against


def snr(mean_waveform: np.ndarray, noise_sigma: np.ndarray) -> float:
    channel = int(best_channels(mean_waveform, 1)[0])
    sigma = float(noise_sigma[channel])
    return float(np.abs(mean_waveform[:, channel]).max()) / sigma if sigma > 0 else float("nan")


def isi_violation_ratio(times, sampling_rate: float, duration_s: float,
                        threshold_ms: float = ISI_THRESHOLD_MS) -> float:
    times = np.sort(np.asarray(times))
    n = len(times)
    if n < 2 or duration_s <= 0:
        return 0.0
    violations = int(np.sum(np.diff(times) < threshold_ms * 1e-3 * sampling_rate))
    expected = n * n * threshold_ms * 1e-3 / duration_s
    return violations / expected


def presence_ratio(times, sampling_rate: float, duration_s: float) -> float:
    if duration_s <= 0:
        return 0.0
    bin_s = min(PRESENCE_BIN_S, duration_s / 10.0)
    n_bins = max(1, int(np.floor(duration_s / bin_s)))
    counts = np.histogram(np.asarray(times) / sampling_rate, bins=n_bins, range=(0.0, n_bins * bin_s))[0]
    return float(np.mean(counts > 0))


def amplitude_cutoff(amplitudes, n_bins: int = 100, smoothing_bins: float = 3.0) -> float:
    amplitudes = np.asarray(amplitudes, dtype=np.float64)
    if len(amplitudes) < 20:
        return float("nan")
    pdf, edges = np.histogram(amplitudes, bins=n_bins, density=True)
    pdf = gaussian_filter1d(pdf, smoothing_bins)
    peak = int(pdf.argmax())
    # the bin above the mode whose density matches the lowest bin: the mirror image of the cut-off
    mirror = peak + int(np.abs(pdf[peak:] - pdf[0]).argmin())
    missing = float(np.sum(pdf[mirror:]) * (edges[1] - edges[0]))
    return min(missing, 0.5)


def isolation(own: np.ndarray, other: np.ndarray, k: int = ISOLATION_NEIGHBOURS) -> float:
    """Fraction of the k nearest neighbours of ``own``'s points (features) that are ``own``'s."""
    if len(own) <= k or len(other) == 0:
        return float("nan")
    points = np.vstack([own, other])
    _, neighbours = cKDTree(points).query(own, k=k + 1)
    return float(np.mean(neighbours[:, 1:] < len(own)))


def _nearest_clusters(means: dict[int, np.ndarray]) -> dict[int, int | None]:
    ids = list(means)
    flat = np.array([means[c].ravel() for c in ids])
    if len(ids) < 2:
        return {c: None for c in ids}
    distance = ((flat[:, None, :] - flat[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(distance, np.inf)
    return {c: ids[int(distance[i].argmin())] for i, c in enumerate(ids)}


def quality_metrics(recording, times, amplitudes, spike_clusters, clusters, noise_sigma) -> dict[int, QualityMetrics]:
    """Metrics of each listed cluster (spike_clusters: the cluster of every spike of the sort)."""
    fs, duration = recording.sampling_rate, recording.duration
    members = {c: np.flatnonzero(spike_clusters == c) for c in clusters}
    snippets = {c: read_snippets(recording, times[sample_spikes(m, SNIPPETS_PER_CLUSTER, seed=c)])
                for c, m in members.items() if len(m)}
    means = {c: s.mean(axis=0) for c, s in snippets.items()}
    nearest = _nearest_clusters(means)
    result = {}
    for c, m in members.items():
        iso, near = float("nan"), nearest.get(c)
        if near is not None:
            channels = np.union1d(best_channels(means[c], ISOLATION_CHANNELS),
                                  best_channels(means[near], ISOLATION_CHANNELS))
            both = np.concatenate([snippets[c][..., channels], snippets[near][..., channels]])
            features = pca_features(both, 3)
            iso = isolation(features[:len(snippets[c])], features[len(snippets[c]):])
        result[c] = QualityMetrics(
            cluster=c, count=len(m),
            snr=snr(means[c], noise_sigma) if c in means and noise_sigma is not None else float("nan"),
            isi_violation_ratio=isi_violation_ratio(times[m], fs, duration),
            presence_ratio=presence_ratio(times[m], fs, duration),
            amplitude_cutoff=amplitude_cutoff(amplitudes[m]),
            isolation=iso, nearest=near)
    return result
