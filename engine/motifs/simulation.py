"""Simulated populations with planted firing sequences, and how well discovered motifs match them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from engine.groundtruth.metrics import filter_error
from engine.motifs.discovery import MotifResult, motif_centre


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


@dataclass
class PlantedMatch:
    """Per planted motif: the learned motif matched to it and how well they agree."""

    learned: np.ndarray  # index of the learned motif (assignment minimising the total filter error)
    errors: np.ndarray  # filter error between the two, best over the shifts the longer window allows
    found: np.ndarray  # fraction of the planted occurrences with a found one within a bin
    genuine: np.ndarray  # fraction of the found occurrences with a planted one within a bin


def _distance_to_nearest(times: np.ndarray, others: np.ndarray) -> np.ndarray:
    """For each of ``times``, the distance to the nearest of the sorted ``others`` (inf when there are none)."""
    if not len(others):
        return np.full(len(times), np.inf)
    after = np.clip(np.searchsorted(others, times), 0, len(others) - 1)
    before = np.clip(after - 1, 0, len(others) - 1)
    return np.minimum(np.abs(times - others[before]), np.abs(times - others[after]))


def match_planted(result: MotifResult, population: PlantedPopulation) -> PlantedMatch:
    slack = max(0, result.motifs.shape[2] - population.motifs.shape[2])
    errors = np.array([[filter_error(learned, planted, max_shift=slack) for planted in population.motifs]
                       for learned in result.motifs])
    rows, cols = linear_sum_assignment(errors)
    k = len(population.motifs)
    learned, error = np.full(k, -1), np.ones(k)
    found, genuine = np.zeros(k), np.zeros(k)
    one_bin = result.bin_ms / 1000.0 + 1e-9
    for row, col in zip(rows, cols):
        planted_s = (population.onsets[col] + motif_centre(population.motifs[col])) * result.bin_ms / 1000.0
        found_s = result.occurrence_seconds(row)
        learned[col], error[col] = row, errors[row, col]
        found[col] = np.mean(_distance_to_nearest(planted_s, found_s) <= one_bin)
        genuine[col] = np.mean(_distance_to_nearest(found_s, planted_s) <= one_bin) if len(found_s) else 0.0
    return PlantedMatch(learned, error, found, genuine)
