"""Quality metrics of curated clusters, as users know them from SpikeInterface / Phy.

- SNR: the mean waveform's largest excursion on its best channel over that channel's noise std.
- ISI-violation ratio (after Hill et al. 2011): the number of intervals below 1.5 ms over the
  number a Poisson train of the same rate would have; 0 is clean, 1 is as many violations as
  chance (SpikeInterface's ``isi_violations_ratio`` is half of this number).
- Presence ratio: the fraction of time bins (60 s, or a tenth of a short recording) with a spike.
- Amplitude cutoff (Hill et al.): the estimated fraction of spikes lost below the detection
  threshold, from how far the amplitude histogram is cut off on its low side (at most 0.5).
- Isolation: the fraction of each spike's nearest neighbours (PCA of the waveforms on the two
  clusters' best channels) that belong to its own cluster, against the most similar other cluster
  among those sharing a channel with it; 1 is perfectly isolated, 0.5 indistinguishable.

Waveforms are read on each cluster's own channels (engine.curation.local), in bounded memory.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.spatial import cKDTree

from engine.curation.features import best_channels, pca_features, sample_spikes
from engine.curation.local import (cluster_channels, cluster_means, global_best_channels, overlapping_pairs,
                                  pair_snippets)

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


def snr(mean_waveform: np.ndarray, noise_sigma: np.ndarray, channels=None) -> float:
    """``channels``: the probe channel of each column of ``mean_waveform`` (by default, all in order)."""
    column = int(best_channels(mean_waveform, 1)[0])
    channel = column if channels is None else int(np.asarray(channels)[column])
    sigma = float(noise_sigma[channel])
    return float(np.abs(mean_waveform[:, column]).max()) / sigma if sigma > 0 else float("nan")


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


def cluster_members(spike_clusters, clusters) -> dict[int, np.ndarray]:
    """cluster -> its spikes' indices (ascending), from one stable sort instead of one pass per cluster."""
    spike_clusters = np.asarray(spike_clusters)
    order = np.argsort(spike_clusters, kind="stable")
    ordered = spike_clusters[order]
    out = {}
    for c in clusters:
        lo, hi = np.searchsorted(ordered, c, side="left"), np.searchsorted(ordered, c, side="right")
        out[c] = order[lo:hi]
    return out


def _nearest_clusters(means: dict[int, np.ndarray], channels: dict[int, np.ndarray]) -> dict[int, int | None]:
    """The cluster whose mean waveform is nearest (squared distance, zero off a cluster's own channels),
    among those sharing a channel: no all-pairs array."""
    ids = list(means)
    norms = {c: float(np.sum(means[c].astype(np.float64) ** 2)) for c in ids}
    best: dict[int, tuple[float, int]] = {}
    rank = {c: k for k, c in enumerate(ids)}
    for a, b in overlapping_pairs({c: channels[c] for c in ids}):
        _, ia, ib = np.intersect1d(channels[a], channels[b], assume_unique=True, return_indices=True)
        cross = float(np.sum(means[a][:, ia].astype(np.float64) * means[b][:, ib]))
        distance = norms[a] + norms[b] - 2.0 * cross
        for c, other in ((a, b), (b, a)):
            if c not in best or (distance, rank[other]) < (best[c][0], rank[best[c][1]]):
                best[c] = (distance, other)
    return {c: best[c][1] if c in best else None for c in ids}


def quality_metrics(recording, times, amplitudes, spike_clusters, clusters, noise_sigma, channels=None,
                    progress=None) -> dict[int, QualityMetrics]:
    """Metrics of each listed cluster (spike_clusters: the cluster of every spike of the sort).

    Waveforms are read on each cluster's own channels only (``channels``: cluster -> probe channels, by
    default those near its peak channel, engine.curation.local), in blocks; isolation is measured against
    the nearest cluster among those sharing a channel.
    """
    fs, duration = recording.sampling_rate, recording.duration
    times = np.asarray(times)
    step = (lambda lo, hi: (lambda f: progress(lo + (hi - lo) * f))) if progress is not None else (lambda lo, hi: None)
    members = cluster_members(spike_clusters, clusters)
    samples = {c: sample_spikes(m, SNIPPETS_PER_CLUSTER, seed=c) for c, m in members.items() if len(m)}
    if channels is None:
        channels = cluster_channels(recording, times, samples, step(0.0, 0.1))
    means = cluster_means(recording, times, samples, channels, step(0.1, 0.5))
    nearest = _nearest_clusters(means, channels)
    requests = [(c, near, np.union1d(global_best_channels(means[c], channels[c], ISOLATION_CHANNELS),
                                     global_best_channels(means[near], channels[near], ISOLATION_CHANNELS)))
                for c, near in nearest.items() if near is not None]
    isolations = {}
    for r, own, other in pair_snippets(recording, times, samples, requests, step(0.5, 1.0)):
        features = pca_features(np.concatenate([own, other]), 3)
        isolations[requests[r][0]] = isolation(features[:len(own)], features[len(own):])
    result = {}
    for c, m in members.items():
        result[c] = QualityMetrics(
            cluster=c, count=len(m),
            snr=snr(means[c], noise_sigma, channels[c]) if c in means and noise_sigma is not None else float("nan"),
            isi_violation_ratio=isi_violation_ratio(times[m], fs, duration),
            presence_ratio=presence_ratio(times[m], fs, duration),
            amplitude_cutoff=amplitude_cutoff(amplitudes[m]),
            isolation=isolations.get(c, float("nan")), nearest=nearest.get(c))
    return result
