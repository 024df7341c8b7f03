import numpy as np

from engine.model.autoencoder import ConvSparseAutoencoder
from engine.recording.noise import noise_std, universal_lambda
from engine.groundtruth.simulate import SimulationConfig, simulate_recording
from engine.sorting.sorter import sort_recording


def test_chunked_sorting_equals_one_pass():
    rec = simulate_recording(SimulationConfig(minutes=0.2, channels=4, units=4, seed=5))
    truth = rec.ground_truth.waveforms
    filters = truth + 0.02 * np.abs(truth).max() * np.random.default_rng(0).standard_normal(truth.shape)
    lam = universal_lambda(float(np.median(noise_std(rec.traces()))), 4, 10_000)
    model = ConvSparseAutoencoder(filters, lam)
    whole = sort_recording(rec, model, chunk=rec.n_samples)
    chunked = sort_recording(rec, model, chunk=7_001)
    assert len(whole) > 100
    np.testing.assert_array_equal(whole.times, chunked.times)
    np.testing.assert_array_equal(whole.units, chunked.units)
    np.testing.assert_allclose(whole.amplitudes, chunked.amplitudes, rtol=1e-3)


def test_sorting_a_time_range_returns_only_spikes_inside_it():
    rec = simulate_recording(SimulationConfig(minutes=0.2, seed=6))
    lam = universal_lambda(float(np.median(noise_std(rec.traces()))), 3, 10_000)
    model = ConvSparseAutoencoder(rec.ground_truth.waveforms, lam)
    part = sort_recording(rec, model, start=20_000, stop=60_000)
    assert len(part) > 50
    assert part.times.min() >= 20_000 and part.times.max() < 60_000 + model.n_taps
