import numpy as np

from engine.model.autoencoder import ConvSparseAutoencoder
from engine.recording.noise import noise_std, universal_lambda
from engine.groundtruth.simulate import SimulationConfig, simulate_recording
from engine.sorting import sorter
from engine.model import active_set
from engine.model.active_set import cached_encoder
from engine.sorting.sorter import default_chunk, sort_recording, window_chunk


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


def test_the_window_on_screen_is_shared_among_the_sorting_threads_and_sorts_as_one_pass(monkeypatch):
    rec = simulate_recording(SimulationConfig(minutes=0.2, seed=6))
    lam = universal_lambda(float(np.median(noise_std(rec.traces()))), 3, 10_000)
    model = ConvSparseAutoencoder(rec.ground_truth.waveforms, lam)
    monkeypatch.setattr(sorter, "sorting_threads", lambda: 2)
    assert window_chunk(model, 10_000) == 5_000  # one second at 10 kHz: half on each core
    assert window_chunk(model, 100) == sorter.MIN_WINDOW_CHUNK_FILTERS * model.n_taps  # no chunk of a few taps
    assert window_chunk(model, 10 ** 8) == default_chunk(model)  # a long stretch: the memory bound
    one = sort_recording(rec, model, start=20_000, stop=30_000, chunk=10_000)
    shared = sort_recording(rec, model, start=20_000, stop=30_000, chunk=window_chunk(model, 10_000))
    assert len(one) > 10
    np.testing.assert_array_equal(one.times, shared.times)
    np.testing.assert_array_equal(one.units, shared.units)


def test_a_window_sorted_again_with_another_lambda_reuses_its_correlations_and_sorts_as_afresh():
    rec = simulate_recording(SimulationConfig(minutes=0.2, seed=6))
    lam = universal_lambda(float(np.median(noise_std(rec.traces()))), 3, 10_000)
    model = ConvSparseAutoencoder(rec.ground_truth.waveforms, lam)
    encoder = cached_encoder(model)
    correlate, calls = encoder.operator.correlate, []
    encoder.operator.correlate = lambda y: calls.append(1) or correlate(y)
    window = dict(start=20_000, stop=30_000, chunk=5_000)
    sort_recording(rec, model, keep_correlations=True, **window)
    assert len(calls) == 2  # one per chunk
    for factor in (0.5, 2.0):
        model.lam = factor * lam
        before = len(calls)
        again = sort_recording(rec, model, keep_correlations=True, **window)
        assert len(calls) == before  # Hᵀy does not depend on lambda: kept
        afresh = sort_recording(rec, model, **window)
        assert len(calls) == before + 2  # without the flag every chunk is correlated
        assert len(again) > 10
        np.testing.assert_array_equal(again.times, afresh.times)
        np.testing.assert_array_equal(again.units, afresh.units)
        np.testing.assert_array_equal(again.amplitudes, afresh.amplitudes)
    other = simulate_recording(SimulationConfig(minutes=0.2, seed=7))  # same stretch, another recording
    sort_recording(other, model, keep_correlations=True, **window)
    assert len(calls) == 8


def test_the_kept_correlations_stay_within_their_memory_bound(monkeypatch):
    rec = simulate_recording(SimulationConfig(minutes=0.2, seed=6))
    model = ConvSparseAutoencoder(rec.ground_truth.waveforms, 1.0)
    one_chunk = 3 * (5_000 + 8 * model.n_taps) * 4  # units x codes read x float32 (about)
    monkeypatch.setattr(active_set, "CORRELATIONS_KEPT_BYTES", 3 * one_chunk)
    encoder = cached_encoder(model)
    for start in range(0, 60_000, 10_000):  # scrolling: six windows of two chunks
        sort_recording(rec, model, start=start, stop=start + 10_000, chunk=5_000, keep_correlations=True)
        kept = sum(c.nbytes for c in encoder._correlations.values())
        assert 0 < kept <= 3 * one_chunk
    assert len(encoder._correlations) >= 2  # the last window's chunks
