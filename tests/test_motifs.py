"""Firing-motif discovery: binning, and planted sequences in 30 simulated units found with their times."""
import numpy as np
import pytest

from engine.motifs.simulation import match_planted, simulate_population
from engine.motifs.discovery import MotifConfig, bin_spikes, discover_motifs

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
    result = discover_motifs(counts, MotifConfig(k=3, bin_ms=BIN_MS, motif_ms=150.0))
    match = match_planted(result, population)
    assert match.errors.max() < 0.15, match.errors
    assert np.all(match.found > 0.8), match.found  # planted occurrences found within a bin
    assert np.all(match.genuine > 0.95), match.genuine  # found occurrences are planted ones
