"""Firing motifs: recurring population sequences in binned spike counts, learned with the Poisson auto-encoder.

Counts y (units, bins) are modelled as Poisson with log rate
    b_u + sum_k (h_k * x_k)_u(t),
where each motif h_k is a (units x lags) pattern of log-rate increases (h >= 0:
without the constraint, entries where a window happens to hold no spike
run off towards minus infinity, as the Poisson likelihood barely resists) and
x_k >= 0 is sparse: x_k(t) > 0 marks an occurrence of motif k starting at
bin t. The motifs start from averages of the population around the times
where pairs of units fire together at a fixed lag far above chance, and
are refined with engine.model.family; occurrences are the peaks of the
codes over the whole session.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.signal import find_peaks

from engine.model.activations import NonnegativeL1
from engine.model.family import FamilyAutoencoder, train_family
from engine.model.likelihoods import Poisson

ENCODE_CHUNK_BINS = 20_000
SEED_MIN_Z = 5.0  # a pair's co-firing above chance, in standard deviations, that can seed a motif
SEED_MIN_TRIGGERS = 20  # windows a sharpened (three-unit) trigger needs to replace the pair's average
SEED_FLOOR = 0.25  # fraction of a triggered average's peak below which an entry is not part of the seed


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


def lagged_cofiring(counts: np.ndarray, n_lags: int) -> np.ndarray:
    """z-scores (lags, units, units): how much more often unit b fires d bins after unit a than chance.

    Entry [d, a, b] compares sum_t y_a(t) y_b(t + d) with its value under
    independent firing at the units' mean rates; a unit with itself is -inf.
    """
    n_units, n_bins = counts.shape
    data = torch.as_tensor(counts, dtype=torch.float32)
    rate = counts.mean(1).astype(np.float64)
    z = np.empty((n_lags, n_units, n_units))
    for lag in range(n_lags):
        observed = (data[:, :n_bins - lag] @ data[:, lag:].T).double().numpy()
        expected = np.outer(rate, rate) * (n_bins - lag)
        z[lag] = (observed - expected) / np.sqrt(expected + 1.0)
        np.fill_diagonal(z[lag], -np.inf)
    return z


def _triggered_excess(counts: np.ndarray, rate: np.ndarray, n_lags: int, conditions) -> tuple[np.ndarray, int]:
    """Mean counts minus the mean rate around the bins t where every (unit, offset) of conditions
    fires at t + offset: (units, 3 lags) for offsets -lags .. 2 lags - 1, and the number of such t."""
    n_bins = counts.shape[1]
    span = np.arange(n_lags, n_bins - 2 * n_lags)
    trigger = np.ones(len(span), bool)
    for unit, offset in conditions:
        trigger &= counts[unit, span + offset] > 0
    times = span[trigger]
    if not len(times):
        return np.zeros((counts.shape[0], 3 * n_lags)), 0
    mean = np.stack([counts[:, times + offset].mean(1) for offset in range(-n_lags, 2 * n_lags)], axis=1)
    return mean - rate[:, None], len(times)


def _centred_pattern(excess: np.ndarray, n_lags: int) -> np.ndarray:
    """The (units x lags) pattern of a triggered average, centred on its mass.

    Entries below SEED_FLOOR of the largest are dropped; the others are
    capped at their median, as the trigger units themselves fire in every
    window and would otherwise dominate the seed.
    """
    if excess.max() <= 0:
        return np.zeros((len(excess), n_lags))
    members = excess > SEED_FLOOR * excess.max()
    pattern = np.minimum(excess, np.median(excess[members])) * members
    start = int(np.clip(round(motif_centre(pattern) - (n_lags - 1) / 2), 0, pattern.shape[1] - n_lags))
    return pattern[:, start:start + n_lags]


def _forget_pairs(z: np.ndarray, pattern: np.ndarray) -> None:
    """Remove from z the pairs of a pattern's units at (about) the lags the pattern puts between them."""
    n_lags = z.shape[0]
    members = np.flatnonzero(pattern.any(1))
    lag = pattern.argmax(1)
    for a in members:
        for b in members:
            for gap in range(lag[b] - lag[a] - 1, lag[b] - lag[a] + 2):
                if 0 <= gap < n_lags:
                    z[gap, a, b] = -np.inf
                elif 0 <= -gap < n_lags:
                    z[-gap, b, a] = -np.inf


def initial_motifs(counts: np.ndarray, k: int, n_lags: int, rng: np.random.Generator) -> np.ndarray:
    """k motifs seeded from the unit pairs that fire at a fixed lag from each other far above chance.

    The strongest pair (a, b, lag) triggers an average of the population
    around the bins where both fire; the strongest third unit of that
    average joins the trigger (a pair shared by two sequences would
    otherwise give their mixture), and the sharpened average, centred, is
    the seed. Pairs the seed explains are then set aside and the next
    strongest pair seeds the next motif. A background of independent units
    only adds noise to each average, whereas it buries the sequences when
    windows are compared whole (k-means of high-activity windows found one
    of four planted motifs among 100 units).
    """
    n_units, n_bins = counts.shape
    rate = counts.mean(1)
    z = lagged_cofiring(counts, n_lags)
    seeds: list[np.ndarray] = []
    while len(seeds) < k:
        lag, a, b = np.unravel_index(np.argmax(z), z.shape)
        if z[lag, a, b] < SEED_MIN_Z:
            break
        pair = [(a, 0), (b, lag)]
        excess, _ = _triggered_excess(counts, rate, n_lags, pair)
        others = excess.copy()
        others[a, n_lags] = others[b, n_lags + lag] = -np.inf
        third, offset = np.unravel_index(np.argmax(others), others.shape)
        sharpened, n_triggers = _triggered_excess(counts, rate, n_lags, pair + [(third, offset - n_lags)])
        if n_triggers >= SEED_MIN_TRIGGERS:
            excess = sharpened
        pattern = _centred_pattern(excess, n_lags)
        z[lag, a, b] = -np.inf
        _forget_pairs(z, pattern)
        if pattern.any():
            seeds.append(pattern)
    while len(seeds) < k:  # fewer sequences than motifs asked for: fill with random positive patterns
        seeds.append(rng.random((n_units, n_lags)))
    motifs = np.stack(seeds) + 1e-6
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
