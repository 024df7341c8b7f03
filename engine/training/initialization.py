"""Data-driven initial filters: threshold crossings -> snippets -> PCA -> k-means.

A randomly initialised auto-encoder does not find spike waveforms; starting
from cluster means of detected spikes puts every filter near a real unit, and
training then refines them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

from engine.recording.fast_median import median
from engine.groundtruth.metrics import best_shifts
from engine.recording.noise import noise_std
from engine.training.shifted_copies import copy_units
from engine.training.unit_evidence import is_unit


MIN_CLUSTERS = 16
CLUSTERS_PER_CHANNEL = 2  # k-means over-splits, merging then finds the unit count
MAX_COMPONENTS = 48  # PCA features: 3 per channel, up to this
NOISE_SAMPLES = 100_000  # the noise level from an evenly strided subsample: the median is slow on probes
TROUGH_FRACTION = 0.3  # where in the window a detected trough is put
MERGE_SHIFT_FRACTION = 8  # templates are compared at shifts up to 1/8 of their length (spike jitter)
KMEANS_RESTARTS = 3  # over-splitting and merging make the best of ten restarts unnecessary


@dataclass
class InitialFilters:
    filters: np.ndarray  # (units, channels, taps), unit norm
    n_snippets: int
    cluster_sizes: np.ndarray
    sigma: np.ndarray  # per-channel noise std


def merge_shift(n_taps: int) -> int:
    """Largest shift at which two templates count as the same spike: beyond it, a match is a shifted copy."""
    return max(1, n_taps // MERGE_SHIFT_FRACTION)


def trough_tap(n_taps: int, fraction: float = TROUGH_FRACTION) -> int:
    """Where in a window of ``n_taps`` the initialisation puts a detected trough."""
    return int(round(fraction * n_taps))


def detect_crossings(traces: np.ndarray, sigma: np.ndarray, threshold: float, min_distance: int) -> np.ndarray:
    """Samples where the most negative channel (in units of its noise) peaks below -threshold."""
    normalized = traces / np.maximum(sigma, 1e-12)[None, :]
    depth = -normalized.min(axis=1)
    peaks, _ = find_peaks(depth, height=threshold, distance=max(1, min_distance))
    return peaks


def extract_snippets(traces: np.ndarray, peaks: np.ndarray, n_taps: int, pre: int) -> np.ndarray:
    """(n, channels, taps) windows starting ``pre`` samples before each peak."""
    starts = peaks - pre
    keep = (starts >= 0) & (starts + n_taps <= len(traces))
    starts = starts[keep]
    index = starts[:, None] + np.arange(n_taps)[None, :]
    return np.transpose(traces[index], (0, 2, 1))  # (n, channels, taps)


def _shifted(template: np.ndarray, shift: int) -> np.ndarray:
    """``template`` (or a stack of snippets) moved along time to line up with the one it was compared to."""
    out = np.zeros_like(template)
    if shift >= 0:
        out[..., shift:] = template[..., :template.shape[-1] - shift]
    else:
        out[..., :shift] = template[..., -shift:]
    return out


def template_distance(a: np.ndarray, b: np.ndarray, corr: float) -> float:
    """||a − b|| at the best shift, relative to the larger template.

    Shape and amplitude both count: two neurons with similar waveforms but
    amplitudes a factor of three apart (one near the electrode, one farther)
    stay apart, while clusters k-means cut out of one unit's amplitude
    spread merge.
    """
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(np.sqrt(max(0.0, na * na + nb * nb - 2.0 * max(corr, 0.0) * na * nb)) / max(na, nb, 1e-12))


def merge_templates(templates: list[np.ndarray], sizes: list[int], n_units: int | None,
                    merge_below: float, max_shift: int, min_size: int = 0,
                    members: list[np.ndarray] | None = None) -> tuple[list[np.ndarray], list[int]]:
    """Agglomerate shift-aligned templates.

    The cost of merging two clusters is their distance (``template_distance``)
    squared times the smaller cluster's size, so small clusters (overlaps, noise, one unit's
    outliers) are absorbed before two large ones are ever joined. Merging
    stops at ``n_units`` clusters or, when that is None, once the cheapest
    merge would join two clusters of at least ``min_size`` spikes whose
    distance exceeds ``merge_below``. When that is None, a cluster smaller
    than ``min_size`` whose cheapest merge exceeds ``merge_below`` is left
    out (overlapping spikes, noise): merged, it pulled the nearest small
    unit's template away from that unit's waveform. But given ``members``
    (each cluster's snippets in units of each channel's noise), such a cluster
    is kept when its spikes are its template plus noise
    (``unit_evidence.is_unit``): a unit firing rarely among busy ones.
    """
    templates, sizes = list(templates), list(sizes)
    members = None if members is None else list(members)
    rare_units: list[int] = []

    def row(i: int, others: list[int]) -> dict[tuple[int, int], tuple[float, int]]:
        """Distance and shift from template i to each of ``others``, keyed (smaller index, larger index)."""
        if not others:
            return {}
        corrs, shifts = best_shifts(templates[i], np.stack([templates[j] for j in others]), max_shift)
        return {(min(i, j), max(i, j)): (template_distance(templates[i], templates[j], c), s if i < j else -s)
                for j, c, s in zip(others, corrs, shifts)}

    # distances are kept between merges: only the merged cluster's row changes
    distance = {}
    for i in range(len(templates)):
        distance.update(row(i, list(range(i + 1, len(templates)))))
    alive = list(range(len(templates)))
    while len(alive) > (n_units or 1):
        (i, j), (error, shift) = min(distance.items(),
                                     key=lambda item: item[1][0] ** 2 * min(sizes[item[0][0]], sizes[item[0][1]]))
        keep, gone, shift = (i, j, shift) if sizes[i] >= sizes[j] else (j, i, -shift)
        if n_units is None and error > merge_below:
            if sizes[gone] >= min_size:
                break
            if members is not None and is_unit(members[gone], median(members[gone], axis=0)):
                rare_units.append(gone)
            alive.remove(gone)
            distance = {key: value for key, value in distance.items() if gone not in key}
            continue
        total = sizes[keep] + sizes[gone]
        templates[keep] = (sizes[keep] * templates[keep] + sizes[gone] * _shifted(templates[gone], shift)) / total
        sizes[keep] = total
        if members is not None:
            members[keep] = np.concatenate([members[keep], _shifted(members[gone], shift)])
        alive.remove(gone)
        distance = {key: value for key, value in distance.items() if gone not in key and keep not in key}
        distance.update(row(keep, [other for other in alive if other != keep]))
    kept = alive + rare_units
    return [templates[k] for k in kept], [sizes[k] for k in kept]


def initial_filters(traces: np.ndarray, n_taps: int, n_units: int | None = None, *,
                    threshold: float = 5.0, trough_fraction: float = TROUGH_FRACTION, max_units: int | None = None,
                    n_components: int | None = None, max_snippets: int = 10000, merge_below: float = 0.3,
                    min_cluster_fraction: float = 0.03, seed: int = 0) -> InitialFilters:
    """Initial filters from a stretch of recording, (samples, channels) in microvolts."""
    sigma = noise_std(traces[::max(1, len(traces) // NOISE_SAMPLES)])
    pre = trough_tap(n_taps, trough_fraction)
    peaks = detect_crossings(traces, sigma, threshold, min_distance=max(1, n_taps // 3))
    snippets = extract_snippets(traces, peaks, n_taps, pre)
    rng = np.random.default_rng(seed)
    if len(snippets) > max_snippets:
        snippets = snippets[rng.choice(len(snippets), max_snippets, replace=False)]
    wanted = n_units or 1
    if len(snippets) < max(2 * wanted, 10):
        raise ValueError(f"only {len(snippets)} threshold crossings above {threshold:g} sigma: "
                         "too few spikes to learn from (lower the threshold or use more data)")
    flat = (snippets / sigma[None, :, None]).reshape(len(snippets), -1).astype(np.float32)  # halves the PCA's time
    n_components = n_components or min(MAX_COMPONENTS, max(6, 3 * traces.shape[1]))
    n_comp = min(n_components, flat.shape[1], len(flat))
    features = PCA(n_comp, random_state=seed).fit_transform(flat)
    max_units = max_units or max(MIN_CLUSTERS, CLUSTERS_PER_CHANNEL * traces.shape[1])
    n_clusters = n_units or min(len(snippets) // 5, max_units)
    labels = KMeans(n_clusters, n_init=KMEANS_RESTARTS, random_state=seed).fit_predict(features)
    counts = np.bincount(labels, minlength=n_clusters)
    templates = [median(snippets[labels == k], axis=0) if counts[k] else snippets[rng.integers(len(snippets))]
                 for k in range(n_clusters)]
    if n_units is None:
        normalised = (snippets / sigma[None, :, None]).astype(np.float32)
        templates, counts = merge_templates(templates, list(counts), None, merge_below, merge_shift(n_taps),
                                            min_size=int(min_cluster_fraction * len(snippets)),
                                            members=[normalised[labels == k] for k in range(n_clusters)])
        copies = set(copy_units(np.stack(templates), np.asarray(counts), merge_shift(n_taps), pre).tolist())
        templates = [t for k, t in enumerate(templates) if k not in copies]
        counts = [c for k, c in enumerate(counts) if k not in copies]
    templates = np.stack(templates)
    sizes = np.asarray(counts)
    n_units = len(templates)
    order = np.argsort(-np.abs(templates).max(axis=(1, 2)))
    templates = templates[order]
    norms = np.linalg.norm(templates.reshape(n_units, -1), axis=1)
    filters = (templates / norms[:, None, None]).astype(np.float32)
    return InitialFilters(filters, len(snippets), sizes[order], sigma)

