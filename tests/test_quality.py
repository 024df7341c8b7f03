"""Quality metrics, spike-train summaries and filter similarity on known inputs."""
import numpy as np
import pytest

from engine.curation.similarity import cluster_similarity, filter_similarity
from engine.curation.trains import correlogram, firing_rate, isi_histogram
from engine.curation.quality import amplitude_cutoff, isi_violation_ratio, isolation, presence_ratio, quality_metrics
from engine.groundtruth.simulate import SimulationConfig, simulate_recording

FS = 10_000.0


@pytest.fixture(scope="module")
def recording():
    return simulate_recording(SimulationConfig(minutes=0.25, seed=3))


def poisson_times(rate_hz, seconds, rng, refractory_ms=0.0):
    isi = rng.exponential(1.0 / rate_hz, int(rate_hz * seconds * 1.5)) + refractory_ms * 1e-3
    times = np.cumsum(isi)
    return (times[times < seconds] * FS).astype(np.int64)


def test_isi_violation_ratio_is_one_for_poisson_and_zero_with_a_refractory_period(rng):
    assert isi_violation_ratio(poisson_times(50, 200, rng), FS, 200) == pytest.approx(1.0, abs=0.2)
    assert isi_violation_ratio(poisson_times(50, 200, rng, refractory_ms=2.0), FS, 200) == 0.0


def test_presence_ratio_counts_the_bins_with_spikes(rng):
    times = poisson_times(20, 100, rng)
    assert presence_ratio(times, FS, 100) == 1.0
    assert presence_ratio(times[times < 50 * FS], FS, 100) == pytest.approx(0.5, abs=0.1)


def test_amplitude_cutoff_sees_a_truncated_distribution(rng):
    amplitudes = rng.normal(100, 10, 5000)
    assert amplitude_cutoff(amplitudes) < 0.05
    assert amplitude_cutoff(amplitudes[amplitudes > 95]) > 0.2


def test_isolation_is_one_for_separate_clusters_and_a_half_for_one_cloud(rng):
    a, b = rng.normal(0, 1, (300, 3)), rng.normal(20, 1, (300, 3))
    assert isolation(a, b) == pytest.approx(1.0)
    assert isolation(a, rng.normal(0, 1, (300, 3))) == pytest.approx(0.5, abs=0.1)


def test_correlograms_and_rates_match_a_direct_count(rng):
    a, b = poisson_times(30, 20, rng, refractory_ms=2.0), poisson_times(30, 20, rng)
    centres, counts = correlogram(a, b, FS, bin_ms=1.0, window_ms=20.0)
    lags = (b[None, :] - a[:, None]).ravel()
    assert counts.sum() == np.sum(np.abs(lags) <= 200) and len(centres) == 40
    _, auto = correlogram(a, a, FS, bin_ms=1.0, window_ms=20.0, same=True)
    assert auto[19] == auto[20] == 0 and auto.sum() > 0  # nothing within the 2 ms refractory period
    edges, isi = isi_histogram(a, FS)
    assert isi[:4].sum() == 0 and isi.sum() > 0 and len(edges) == len(isi) + 1
    starts, rate = firing_rate(a, FS, 20.0, bin_s=2.0)
    assert len(starts) == 10 and rate.mean() == pytest.approx(len(a) / 20.0)


def test_a_shifted_copy_of_a_filter_is_alike_and_a_merged_cluster_takes_its_best_filter(rng):
    base = rng.normal(0, 1, (2, 40))
    filters = np.stack([base, np.roll(base, 5, axis=1), rng.normal(0, 1, (2, 40))])
    sim = filter_similarity(filters)
    assert sim[0, 1] > 0.85 and sim[0, 2] < 0.5 and np.allclose(sim, sim.T)
    clusters = cluster_similarity(sim, {0: [0], 1: [1], 7: [2]})
    assert clusters[0, 1] == pytest.approx(sim[0, 1]) and clusters[0, 2] == pytest.approx(sim[0, 2])
    merged = cluster_similarity(sim, {0: [0, 2], 7: [1]})
    assert merged[0, 1] == pytest.approx(max(sim[0, 1], sim[2, 1]))


def test_quality_metrics_of_the_true_units_are_good(recording):
    truth = recording.ground_truth
    order = np.argsort(truth.spike_times)
    times, units = truth.spike_times[order], truth.spike_units[order]
    from engine.recording.noise import noise_std
    sigma = noise_std(recording.traces(0, 50_000))
    metrics = quality_metrics(recording, times, truth.amplitudes[order], units, [0, 1, 2], sigma)
    for unit, m in metrics.items():
        assert m.count == np.sum(units == unit)
        assert m.snr > 4 and m.isi_violation_ratio < 0.5 and m.presence_ratio == 1.0
        assert m.isolation > 0.9 and m.nearest != unit
    mixed = quality_metrics(recording, times, truth.amplitudes[order], np.where(units == 1, 0, units), [0, 2],
                            sigma)
    assert mixed[0].isolation > 0.9 and mixed[0].count == np.sum(units <= 1)
