"""Firing motifs: recurring population sequences in binned spike counts, learned with the Poisson auto-encoder.

Counts y (units, bins) are modelled as Poisson with log rate
    b_u + sum_k (h_k * x_k)_u(t),
where each motif h_k is a (units x lags) pattern of log-rate increases (h >= 0:
without the constraint, entries where a window happens to hold no spike
run off towards minus infinity, as the Poisson likelihood barely resists) and
x_k >= 0 is sparse: x_k(t) > 0 marks an occurrence of motif k starting at
bin t. The motifs start from k-means centroids of the windows of highest
population activity and are refined with engine.family_model; occurrences
are the peaks of the codes over the whole session.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.cluster.vq import kmeans2
from scipy.signal import find_peaks

from engine.activations import NonnegativeL1
from engine.family_model import FamilyAutoencoder, train_family
from engine.likelihoods import Poisson
from engine.metrics import filter_error

ENCODE_CHUNK_BINS = 20_000
INIT_WINDOWS_PER_MOTIF = 60
INIT_CLUSTERS_PER_MOTIF = 4
DISTINCT_ERROR = 0.6


@dataclass
class MotifConfig:
    k: int = 3
    bin_ms: float = 10.0
    motif_ms: float = 150.0
    lam: float | None = None  # None: lam_scale x the noise level of the codes' gradient
    lam_scale: float = 1.5
    n_steps: int = 30  # unrolled FISTA steps
    debias_steps: int = 10
    train_steps: int = 60
    batch_size: int = 8
    segment_bins: int = 500
    learning_rate: float = 1e-2
    filter_shrinkage: float = 0.5  # L1 prior on the motifs, as a fraction of the learning rate per step
    seed: int = 0

    @property
    def n_lags(self) -> int:
        return max(2, int(round(self.motif_ms / self.bin_ms)))


@dataclass
class MotifResult:
    motifs: np.ndarray  # (k, units, lags), unit norm, log-rate increase
    baseline: np.ndarray  # (units,) log rate per bin
    occurrences: list[np.ndarray]  # per motif: bins where it starts
    amplitudes: list[np.ndarray]  # per motif: code value at each occurrence
    bin_ms: float
    lam: float

    @property
    def k(self) -> int:
        return len(self.motifs)

    def occurrence_seconds(self, motif: int) -> np.ndarray:
        """Times of a motif's occurrences, at the centre of its mass (robust to where its window starts)."""
        return (self.occurrences[motif] + motif_centre(self.motifs[motif])) * self.bin_ms / 1000.0


def motif_centre(motif: np.ndarray) -> float:
    """Lag of a (units x lags) pattern's centre of positive mass."""
    weight = np.clip(motif, 0, None).sum(axis=0)
    return float((weight * np.arange(len(weight))).sum() / max(weight.sum(), 1e-12))


def bin_spikes(times: np.ndarray, units: np.ndarray, n_units: int, sampling_rate: float, bin_ms: float = 10.0,
               n_samples: int | None = None) -> np.ndarray:
    """Spike counts per unit and bin: (units, bins), float32."""
    bin_samples = bin_ms * sampling_rate / 1000.0
    end = n_samples if n_samples is not None else (int(times.max()) + 1 if len(times) else 0)
    n_bins = max(1, math.ceil(end / bin_samples))
    bins = np.minimum((np.asarray(times) / bin_samples).astype(np.int64), n_bins - 1)
    flat = np.bincount(np.asarray(units, dtype=np.int64) * n_bins + bins, minlength=n_units * n_bins)
    return flat.reshape(n_units, n_bins).astype(np.float32)


def default_lambda(counts: np.ndarray, k: int, scale: float = 1.0) -> float:
    """Universal threshold of the codes' gradient H^T(y - rate) on pure baseline firing.

    With unit-norm motifs its standard deviation is about sqrt(mean count per bin).
    """
    n_codes = max(2, k * counts.shape[1])
    return scale * math.sqrt(max(float(counts.mean()), 1e-6)) * math.sqrt(2.0 * math.log(n_codes))


def initial_motifs(counts: np.ndarray, k: int, n_lags: int, rng: np.random.Generator) -> np.ndarray:
    """k distinct k-means centroids of the (units x lags) windows where the population fires most.

    As in spike sorting's initialisation (threshold crossings -> snippets ->
    k-means), with peaks of the population count summed over a motif's
    length as the 'crossings'. Windows catch a motif at any shift, so
    k-means splits one motif into shifted copies: it runs with more clusters
    than wanted, and the most populous centroids are kept that are not
    shifted copies of one already kept (shift-tolerant filter error).
    """
    n_units, n_bins = counts.shape
    activity = np.convolve(counts.sum(0), np.ones(n_lags), mode="valid")  # window starting at each bin
    peaks, _ = find_peaks(activity, distance=n_lags)
    top = peaks[np.argsort(activity[peaks])[::-1][:INIT_WINDOWS_PER_MOTIF * k]]
    windows = np.stack([counts[:, s:s + n_lags] for s in top]).reshape(len(top), -1)
    n_clusters = min(len(windows), INIT_CLUSTERS_PER_MOTIF * k)
    centroids, labels = kmeans2(windows, n_clusters, minit="++", seed=rng)
    excess = centroids.reshape(n_clusters, n_units, n_lags) - counts.mean(1)[:, None]
    # A sequence's members fire in most of its windows, chance coincidences in few: keep the former.
    candidates = np.clip(excess - 0.5 * excess.max(axis=(1, 2), keepdims=True), 0, None)
    kept: list[int] = []
    for index in np.argsort(np.bincount(labels, minlength=n_clusters))[::-1]:
        if not candidates[index].any():
            continue
        if all(filter_error(candidates[index], candidates[other], max_shift=n_lags // 2) > DISTINCT_ERROR
               for other in kept):
            kept.append(index)
        if len(kept) == k:
            break
    while len(kept) < k:  # fewer distinct patterns than motifs asked for: fill with random positive ones
        candidates = np.concatenate([candidates, rng.random((1, n_units, n_lags))])
        kept.append(len(candidates) - 1)
    motifs = candidates[kept] + 1e-6
    return motifs / np.linalg.norm(motifs.reshape(k, -1), axis=1)[:, None, None]


def _segments(counts: torch.Tensor, batch: int, length: int, rng: np.random.Generator):
    length = min(length, counts.shape[1])

    def next_batch() -> torch.Tensor:
        starts = rng.integers(0, counts.shape[1] - length + 1, batch)
        return torch.stack([counts[:, s:s + length] for s in starts])
    return next_batch


def encode_session(model: FamilyAutoencoder, counts: torch.Tensor) -> np.ndarray:
    """Codes (k, bins - lags + 1) of the whole session, in chunks overlapping by a motif on each side."""
    n_bins, lags = counts.shape[1], model.n_taps
    n_codes = n_bins - lags + 1
    codes = np.zeros((model.n_units, n_codes), np.float32)
    margin = 2 * lags
    with torch.no_grad():
        for start in range(0, n_codes, ENCODE_CHUNK_BINS):
            stop = min(n_codes, start + ENCODE_CHUNK_BINS)
            lo, hi = max(0, start - margin), min(n_bins, stop + lags - 1 + margin)
            chunk = model.encode(counts[None, :, lo:hi])[0].numpy()
            codes[:, start:stop] = chunk[:, start - lo:stop - lo]
    return codes


def discover_motifs(counts: np.ndarray, config: MotifConfig | None = None, callback=None) -> MotifResult:
    """Learn ``config.k`` motifs from counts (units, bins) and find their occurrences."""
    config = config or MotifConfig()
    n_lags = config.n_lags
    if counts.shape[1] < 4 * n_lags:
        raise ValueError(f"{counts.shape[1]} bins are too few for motifs of {n_lags} bins")
    rng = np.random.default_rng(config.seed)
    torch.manual_seed(config.seed)
    lam = config.lam if config.lam is not None else default_lambda(counts, config.k, config.lam_scale)
    model = FamilyAutoencoder(initial_motifs(counts, config.k, n_lags, rng), Poisson(), NonnegativeL1(lam),
                              n_steps=config.n_steps, bias=Poisson().link(counts.mean(1)),
                              debias_steps=config.debias_steps, peak_distance=n_lags, support_fraction=0.5)
    data = torch.as_tensor(counts, dtype=torch.float32)
    train_family(model, _segments(data, config.batch_size, config.segment_bins, rng), config.train_steps,
                 config.learning_rate, nonnegative_filters=True, filter_shrinkage=config.filter_shrinkage,
                 callback=callback)
    codes = encode_session(model, data)
    occurrences, amplitudes = [], []
    for code in codes:
        peaks, props = find_peaks(code, height=0.5 * lam, distance=n_lags)
        occurrences.append(peaks)
        amplitudes.append(props["peak_heights"].astype(np.float32))
    return MotifResult(model.filters(), model.bias.detach().numpy().copy(), occurrences, amplitudes,
                       config.bin_ms, lam)


@dataclass
class PlantedPopulation:
    spike_times: np.ndarray  # samples
    spike_units: np.ndarray
    sampling_rate: float
    n_samples: int
    motifs: np.ndarray  # (k, units, lags): 1 where a unit fires in the sequence
    onsets: list[np.ndarray]  # per motif: the bins where it was planted


def simulate_population(n_units: int = 30, minutes: float = 5.0, k: int = 3, units_per_motif: int = 8,
                        n_lags: int = 10, motif_rate_hz: float = 0.5, baseline_hz: float = 3.0,
                        fire_probability: float = 0.9, bin_ms: float = 10.0, sampling_rate: float = 10_000.0,
                        seed: int = 0) -> PlantedPopulation:
    """Poisson background firing plus planted sequences: each unit of a motif fires at its own lag."""
    rng = np.random.default_rng(seed)
    bin_samples = bin_ms * sampling_rate / 1000.0
    n_bins = int(minutes * 60_000 / bin_ms)
    counts = rng.poisson(baseline_hz * bin_ms / 1000.0, size=(n_units, n_bins))
    motifs = np.zeros((k, n_units, n_lags))
    onsets = []
    for motif in motifs:
        members = rng.choice(n_units, units_per_motif, replace=False)
        motif[members, rng.integers(0, n_lags, units_per_motif)] = 1.0
        expected = motif_rate_hz * n_bins * bin_ms / 1000.0
        onset = np.unique(rng.choice(n_bins - n_lags, int(expected), replace=False))
        onsets.append(onset)
        for start in onset:
            unit, lag = np.nonzero(motif * (rng.random(motif.shape) < fire_probability))
            np.add.at(counts, (unit, start + lag), 1)
    units, bins = np.nonzero(counts)
    repeats = counts[units, bins]
    bins, units = np.repeat(bins, repeats), np.repeat(units, repeats)
    times = ((bins + rng.random(len(bins))) * bin_samples).astype(np.int64)
    order = np.argsort(times, kind="stable")
    return PlantedPopulation(times[order], units[order], sampling_rate, int(n_bins * bin_samples), motifs, onsets)
