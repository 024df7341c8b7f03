"""Data-driven initial filters: threshold crossings -> snippets -> clusters -> median templates.

A randomly initialised auto-encoder does not find spike waveforms; starting
from cluster medians of detected spikes puts every filter near a real unit, and
training then refines them. Without a unit count, clusters are found on each
channel's neighbourhood (engine.training.local_clusters) and merged, first
within a channel, then over the probe, by the evidence of their spikes
(engine.training.unit_evidence); with one, by k-means over all channels.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

from engine.recording.fast_median import median
from engine.groundtruth.metrics import best_shifts
from engine.recording.noise import noise_std
from engine.training.shifted_copies import copy_units
from engine.training.crossings import CrossingPool
from engine.training.local_clusters import LocalClusters, local_clusters
from engine.training.unit_evidence import is_unit, separated, shape_variation
from engine.recording.base import default_positions
from engine.recording.motion import MIN_SPAN_UM


MAX_COMPONENTS = 48  # PCA features: 3 per channel, up to this
NOISE_SAMPLES = 100_000  # the noise level from an evenly strided subsample: the median is slow on probes
TROUGH_FRACTION = 0.3  # where in the window a detected trough is put
MERGE_SHIFT_FRACTION = 8  # templates are compared at shifts up to 1/8 of their length (spike jitter)
MAX_SAME_UNIT_DISTANCE = 1.0  # templates further apart than the larger one's norm are never one unit
KMEANS_RESTARTS = 3  # over-splitting and merging make the best of ten restarts unnecessary
MEDIAN_VARIANCE = np.pi / 2  # a median of n noise samples varies by about pi/2 sigma^2 / n


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


def _shifted(template: np.ndarray, shift: int) -> np.ndarray:
    """``template`` (or a stack of snippets) moved along time to line up with the one it was compared to."""
    out = np.zeros_like(template)
    if shift >= 0:
        out[..., shift:] = template[..., :template.shape[-1] - shift]
    else:
        out[..., :shift] = template[..., -shift:]
    return out


def template_distance(a: np.ndarray, b: np.ndarray, corr: float, noise_a: float = 0.0, noise_b: float = 0.0) -> float:
    """||a − b|| at the best shift, relative to the larger template.

    Shape and amplitude both count: two neurons with similar waveforms but
    amplitudes a factor of three apart (one near the electrode, one farther)
    stay apart, while clusters k-means cut out of one unit's amplitude
    spread merge. ``noise_a`` and ``noise_b``, the expected energy of each template's own noise, are
    taken out of every squared norm: a median of 50 snippets on 32 channels carries as much noise as a
    unit near the threshold has signal, and two halves of that unit look as far apart as two units.
    """
    na2, nb2 = float((a * a).sum()), float((b * b).sum())
    apart = na2 + nb2 - 2.0 * max(corr, 0.0) * np.sqrt(na2 * nb2) - noise_a - noise_b
    return float(np.sqrt(max(0.0, apart) / max(na2 - noise_a, nb2 - noise_b, 1e-24)))


@dataclass
class Agglomeration:
    templates: list[np.ndarray]
    sizes: list[int]
    members: list[np.ndarray] | None  # each kept cluster's snippets, aligned to its template, when given


def agglomerate(templates: list[np.ndarray], sizes: list[int], n_units: int | None,
                merge_below: float, max_shift: int, min_size: int = 0,
                members: list[np.ndarray] | None = None, separation: bool = False,
                shape_variation: float = 0.0, noise_energy: float = 0.0) -> Agglomeration:
    """Agglomerate shift-aligned templates.

    The cost of merging two clusters is their distance squared times the smaller cluster's size, so
    small clusters (overlaps, noise, one unit's outliers) are absorbed before two large ones are ever
    joined. For the cost, the distance is taken without the templates' own noise
    (``template_distance``'s noise terms; ``noise_energy`` is one snippet's, a cluster's median carries
    ``MEDIAN_VARIANCE`` of it over its size): the pieces k-means cuts out of a unit near the
    threshold then find each other before a larger unit on their channel, which their noise made
    the nearest cluster to each. Merging
    stops at ``n_units`` clusters. When that is None, two clusters are one
    unit when their distance is at most ``merge_below`` or, with
    ``separation`` and ``members`` (each cluster's snippets in units of each
    channel's noise), when their spikes do not lie apart along the line
    joining them (``unit_evidence.separated``): judged against the noise and
    the units' own spread, so that k-means' small pieces of one unit, too far
    apart for the fixed distance because of their templates' noise, join. Two distinct clusters of at
    least ``min_size`` spikes are never joined. A smaller cluster distinct
    from its cheapest partner goes on to the next (it may still be a piece of
    another), and one joined to none is left out (overlapping spikes, noise: merged,
    it pulled the nearest small unit's template away from that unit's
    waveform), unless, given ``members``, its spikes are its template plus
    noise (``unit_evidence.is_unit``, shapes varying by ``shape_variation``): a unit firing rarely
    among busy ones.
    """
    templates, sizes = list(templates), list(sizes)
    members = None if members is None else list(members)
    by_separation = separation and members is not None
    # pairs further apart than this are never one unit, so they are not kept
    never_below = np.inf if n_units is not None else MAX_SAME_UNIT_DISTANCE if by_separation else merge_below

    def noise(k: int) -> float:
        return MEDIAN_VARIANCE * noise_energy / sizes[k]

    def row(i: int, others: list[int]) -> dict[tuple[int, int], tuple[float, int, float]]:
        """Distance, shift and noise-free distance from template i to each of ``others`` it could join,
        keyed (smaller index, larger index); the shift moves the larger index's template onto the smaller's."""
        if not others:
            return {}
        corrs, shifts = best_shifts(templates[i], np.stack([templates[j] for j in others]), max_shift)
        pairs = {}
        for j, c, s in zip(others, corrs, shifts):
            error = template_distance(templates[i], templates[j], c)
            if error <= never_below:
                pairs[(min(i, j), max(i, j))] = (error, s if i < j else -s,
                                                 template_distance(templates[i], templates[j], c, noise(i), noise(j)))
        return pairs

    medians: dict[int, np.ndarray] = {}  # of each cluster's members, until it merges

    def member_median(k: int) -> np.ndarray:
        if k not in medians:
            medians[k] = median(members[k], axis=0)
        return medians[k]

    def distinct(keep: int, gone: int, error: float, shift: int) -> bool:
        if not by_separation:
            return error > merge_below
        if error <= merge_below:  # pieces of one unit whose shape moved (residual drift) stay one
            return False
        # a cluster's median is its snippets' shifted with them: computed once, not at every partner tried
        return separated(members[keep], _shifted(members[gone], shift), member_median(keep),
                         _shifted(member_median(gone), shift))

    # distances are kept between merges: only the merged cluster's row changes
    distance = {}
    for i in range(len(templates)):
        distance.update(row(i, list(range(i + 1, len(templates)))))
    alive = list(range(len(templates)))
    while distance and len(alive) > (n_units or 1):
        (i, j), (error, shift, _) = min(distance.items(),
                                        key=lambda item: item[1][2] ** 2 * min(sizes[item[0][0]], sizes[item[0][1]]))
        keep, gone, shift = (i, j, shift) if sizes[i] >= sizes[j] else (j, i, -shift)
        if n_units is None and distinct(keep, gone, error, shift):
            del distance[(i, j)]  # a small cluster may still be a piece of another: all its partners are tried
            continue
        total = sizes[keep] + sizes[gone]
        templates[keep] = (sizes[keep] * templates[keep] + sizes[gone] * _shifted(templates[gone], shift)) / total
        sizes[keep] = total
        if members is not None:
            members[keep] = np.concatenate([members[keep], _shifted(members[gone], shift)])
            medians.pop(keep, None)
        alive.remove(gone)
        distance = {key: value for key, value in distance.items() if gone not in key and keep not in key}
        distance.update(row(keep, [other for other in alive if other != keep]))
    if n_units is None:  # a small cluster joined to no unit is one itself only on its spikes' evidence
        alive = [k for k in alive if sizes[k] >= min_size or (
            members is not None and is_unit(members[k], member_median(k), shape_variation))]
    return Agglomeration([templates[k] for k in alive], [sizes[k] for k in alive],
                         None if members is None else [members[k] for k in alive])


def merge_templates(templates: list[np.ndarray], sizes: list[int], n_units: int | None,
                    merge_below: float, max_shift: int, min_size: int = 0,
                    members: list[np.ndarray] | None = None) -> tuple[list[np.ndarray], list[int]]:
    """``agglomerate``'s templates and sizes."""
    merged = agglomerate(templates, sizes, n_units, merge_below, max_shift, min_size, members)
    return merged.templates, merged.sizes


def fixed_count_clusters(snippets: np.ndarray, sigma: np.ndarray, n_units: int, n_components: int | None,
                         seed: int) -> tuple[list[np.ndarray], list[int]]:
    """``n_units`` k-means clusters of the snippets' principal components over all channels."""
    rng = np.random.default_rng(seed)
    flat = (snippets / sigma[None, :, None]).reshape(len(snippets), -1).astype(np.float32)  # halves the PCA's time
    n_components = n_components or min(MAX_COMPONENTS, max(6, 3 * snippets.shape[1]))
    n_comp = min(n_components, flat.shape[1], len(flat))
    features = PCA(n_comp, random_state=seed).fit_transform(flat)
    labels = KMeans(n_units, n_init=KMEANS_RESTARTS, random_state=seed).fit_predict(features)
    counts = np.bincount(labels, minlength=n_units)
    templates = [median(snippets[labels == k], axis=0) if counts[k] else snippets[rng.integers(len(snippets))]
                 for k in range(n_units)]
    return templates, list(counts)


def discover_units(snippets: np.ndarray, sigma: np.ndarray, pre: int, n_taps: int, positions: np.ndarray | None,
                   merge_below: float, min_size: int, seed: int) -> tuple[list[np.ndarray], list[int]]:
    """As many units as the crossings show: clusters found on each channel's neighbourhood, merged
    within it, then over the whole probe, and shifted copies dropped.

    A rare cluster is a unit when its spikes are its template plus noise, with shapes varying as much as
    those of the units certain by their count (``unit_evidence.shape_variation``): on a still probe
    they do not vary, after motion correction a large unit's shape varies by a share of its size, and
    that alone must not cost a large unit that fires rarely its place. So the certain units are found
    first, and the rare clusters judged again when those vary."""
    positions = default_positions(snippets.shape[1]) if positions is None else positions
    if np.ptp(positions[:, 1]) < MIN_SPAN_UM:
        # the fixed distance is kept for pieces of one unit whose footprint residual drift moved, on
        # probes long enough for motion correction; on a tetrode or a single contact, distinct units
        # often lie that close, and only their spikes' separation decides
        merge_below = 0.0
    local = local_clusters(snippets, sigma, pre, positions, seed)
    shift = merge_shift(n_taps)
    noise_energy = float((np.asarray(sigma, dtype=np.float64) ** 2).sum()) * n_taps
    merged = _merge_local(local, pre, merge_below, shift, min_size, 0.0, noise_energy)
    variation = shape_variation([m for m, size in zip(merged.members, merged.sizes) if size >= min_size])
    if variation > 0:
        merged = _merge_local(local, pre, merge_below, shift, min_size, variation, noise_energy)
    templates, counts = merged.templates, merged.sizes
    copies = set(copy_units(np.stack(templates), np.asarray(counts), shift, pre).tolist())
    return ([t for k, t in enumerate(templates) if k not in copies],
            [c for k, c in enumerate(counts) if k not in copies])


def _merge_local(local: LocalClusters, pre: int, merge_below: float, shift: int, min_size: int,
                 variation: float, noise_energy: float) -> Agglomeration:
    """The local clusters merged within each peak channel, then over the probe."""
    kept = LocalClusters([], [], [])
    by_channel = np.array([t[:, pre].argmin() for t in local.templates])
    for channel in np.unique(by_channel):
        group = np.flatnonzero(by_channel == channel)
        merged = agglomerate([local.templates[k] for k in group], [local.sizes[k] for k in group], None,
                             merge_below, shift, min_size, [local.members[k] for k in group], separation=True,
                             shape_variation=variation, noise_energy=noise_energy)
        kept.templates += merged.templates
        kept.sizes += merged.sizes
        kept.members += merged.members
    return agglomerate(kept.templates, kept.sizes, None, merge_below, shift, min_size, kept.members,
                       separation=True, shape_variation=variation, noise_energy=noise_energy)


def initial_filters(traces: np.ndarray, n_taps: int, n_units: int | None = None, *,
                    pieces: Iterable[np.ndarray] | None = None, positions: np.ndarray | None = None,
                    threshold: float = 5.0, trough_fraction: float = TROUGH_FRACTION,
                    n_components: int | None = None, max_snippets: int = 10000, merge_below: float = 0.3,
                    min_cluster_fraction: float = 0.03, seed: int = 0) -> InitialFilters:
    """Initial filters from a recording, (samples, channels) in microvolts: the noise is measured on
    ``traces``, and the crossings are found in ``pieces`` (read one at a time) or, without them, in
    ``traces``."""
    sigma = noise_std(traces[::max(1, len(traces) // NOISE_SAMPLES)])
    pre = trough_tap(n_taps, trough_fraction)
    pool = CrossingPool(sigma, n_taps, pre, threshold, max_snippets, seed)
    for piece in ([traces] if pieces is None else pieces):
        pool.add(piece)
    snippets = pool.snippets
    wanted = n_units or 1
    if len(snippets) < max(2 * wanted, 10):
        raise ValueError(f"only {len(snippets)} threshold crossings above {threshold:g} sigma: "
                         "too few spikes to learn from (lower the threshold or use more data)")
    if n_units is None:
        templates, counts = discover_units(snippets, sigma, pre, n_taps, positions, merge_below,
                                           int(min_cluster_fraction * len(snippets)), seed)
    else:
        templates, counts = fixed_count_clusters(snippets, sigma, n_units, n_components, seed)
    templates = np.stack(templates)
    sizes = np.asarray(counts)
    n_units = len(templates)
    order = np.argsort(-np.abs(templates).max(axis=(1, 2)))
    templates = templates[order]
    norms = np.linalg.norm(templates.reshape(n_units, -1), axis=1)
    filters = (templates / norms[:, None, None]).astype(np.float32)
    return InitialFilters(filters, len(snippets), sizes[order], sigma)

