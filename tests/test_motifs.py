"""Firing-motif discovery: binning, and planted sequences in 30 simulated units found with their times."""
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from engine.metrics import filter_error
from engine.motifs import MotifConfig, bin_spikes, discover_motifs, motif_centre, simulate_population

BIN_MS = 10.0


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_bin_spikes_counts_each_spike_in_its_unit_and_bin():
    times = np.array([0, 99, 100, 250, 250, 999])
    units = np.array([0, 0, 1, 1, 1, 0])
    counts = bin_spikes(times, units, n_units=2, sampling_rate=10_000.0, bin_ms=10.0, n_samples=1000)
    np.testing.assert_array_equal(counts, [[2, 0, 0, 0, 0, 0, 0, 0, 0, 1], [0, 1, 2, 0, 0, 0, 0, 0, 0, 0]])


def test_discovery_finds_planted_sequences_and_their_times():
    population = simulate_population(n_units=30, minutes=20.0, k=3, n_lags=10, motif_rate_hz=1.0, seed=1)
    counts = bin_spikes(population.spike_times, population.spike_units, 30, population.sampling_rate, BIN_MS,
                        population.n_samples)
    config = MotifConfig(k=3, bin_ms=BIN_MS, motif_ms=150.0)
    result = discover_motifs(counts, config)
    slack = config.n_lags - population.motifs.shape[2]  # the learned window is longer than the sequences
    errors = np.array([[filter_error(learned, planted, max_shift=slack) for planted in population.motifs]
                       for learned in result.motifs])
    rows, cols = linear_sum_assignment(errors)
    assert errors[rows, cols].max() < 0.15, errors
    for learned, planted in zip(rows, cols):
        planted_s = (population.onsets[planted] + motif_centre(population.motifs[planted])) * BIN_MS / 1000
        found_s = result.occurrence_seconds(learned)
        distance = np.abs(found_s[:, None] - planted_s[None, :])
        one_bin = BIN_MS / 1000 + 1e-9
        assert np.mean(distance.min(0) <= one_bin) > 0.8  # planted occurrences found within a bin
        assert np.mean(distance.min(1) <= one_bin) > 0.95  # found occurrences are planted ones
