"""Filters that live on their unit's neighbourhood of the probe, and the seed's rank-1 filters."""
import numpy as np
import torch

from engine.groundtruth.metrics import match_filters
from engine.groundtruth.simulate import SimulationConfig, simulate_recording
from engine.model.filter_shape import filter_support, nearest_rank_one
from engine.training.filter_update import LeastSquaresFilterUpdate
from engine.training.trainer import TrainConfig, Trainer


def test_support_is_the_channels_within_the_radius_of_the_peak_channel():
    positions = np.column_stack([np.zeros(10), 20.0 * np.arange(10)])
    filters = np.zeros((2, 10, 5))
    filters[0, 1, 2] = -1.0
    filters[1, 8, 2] = -1.0
    support = filter_support(filters, positions, radius_um=40.0)
    assert support[0].tolist() == [True, True, True, True] + [False] * 6
    assert support[1].tolist() == [False] * 6 + [True] * 4
    assert filter_support(filters, positions, radius_um=None).all()


def test_least_squares_on_a_support_is_the_least_squares_of_the_units_allowed_on_each_channel():
    rng = np.random.default_rng(0)
    units, channels, taps, n = 3, 4, 5, 400
    codes = torch.zeros(1, units, n - taps + 1)
    for u in range(units):
        codes[0, u, rng.choice(n - taps + 1, 30, replace=False)] = torch.from_numpy(rng.uniform(1, 2, 30)).float()
    y = torch.from_numpy(rng.standard_normal((1, channels, n))).float()
    support = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [1, 1, 1, 1]], dtype=bool)
    update = LeastSquaresFilterUpdate(ridge=0.0)
    filters = update(torch.zeros(units, channels, taps), y, codes, support).numpy()

    assert np.all(filters[~support] == 0.0)
    design = LeastSquaresFilterUpdate._design(codes, n, taps).toarray()
    for channel in range(channels):
        allowed = np.flatnonzero(support[:, channel])
        columns = (allowed[:, None] * taps + np.arange(taps)).ravel()
        expected, *_ = np.linalg.lstsq(design[:, columns], y[0, channel].double().numpy(), rcond=None)
        np.testing.assert_allclose(filters[allowed, channel].ravel(), expected, rtol=1e-4, atol=1e-5)


def _long_probe(seed=3):
    return simulate_recording(SimulationConfig(minutes=1.0, units=5, channels=24, sampling_rate=20_000.0,
                                               rate_hz=15.0, snr_db=20.0, seed=seed))


def test_filters_learned_on_a_long_probe_are_zero_beyond_their_neighbourhood_and_match_the_truth():
    recording = _long_probe()
    trainer = Trainer(recording, TrainConfig(n_units=5, filter_ms=4.5, seed=0))
    model = trainer.run()
    filters = model.filters()
    support = filter_support(filters, recording.channel_positions)
    assert not support.all()  # 460 µm of probe: every filter is confined
    assert np.all(filters[~support] == 0.0)
    _, errors = match_filters(filters, recording.ground_truth.waveforms)
    assert np.max(errors) < 0.1


def test_rank_one_filters_are_one_waveform_scaled_per_channel():
    weight = torch.randn(3, 6, 20)
    nearest_rank_one(weight)
    singular = torch.linalg.svdvals(weight)
    assert torch.all(singular[:, 1] < 1e-4 * singular[:, 0])

    recording = _long_probe(seed=5)
    model = Trainer(recording, TrainConfig(n_units=5, filter_ms=4.5, rank=1, seed=0)).run()
    singular = np.linalg.svd(model.filters(), compute_uv=False)
    assert np.all(singular[:, 1] < 1e-3 * singular[:, 0])
    _, errors = match_filters(model.filters(), recording.ground_truth.waveforms)
    assert np.median(errors) < 0.15  # the simulated spikes travel (0.2 ms per 100 µm): nearly rank 1


def test_correlation_of_local_filters_computes_only_their_channels_and_equals_the_full_one():
    import torch.nn.functional as F
    from engine.model.spectral import SpectralOperator

    rng = np.random.default_rng(1)
    positions = np.column_stack([np.zeros(16), 20.0 * np.arange(16)])
    weight = rng.standard_normal((6, 16, 30)).astype(np.float32)
    for unit, peak in enumerate([14, 2, 9, 2, 5, 12]):  # not in the order of the probe
        weight[unit, peak] *= 10.0
    support = filter_support(weight, positions, radius_um=60.0)
    weight[~support] = 0.0
    y = torch.from_numpy(rng.standard_normal((2, 16, 9000)).astype(np.float32))
    operator = SpectralOperator(torch.from_numpy(weight))
    computed = sum(hi - lo for lo, hi in filter(None, operator.rows))
    assert computed < 0.6 * support.size  # units x channels products skipped off the supports
    np.testing.assert_allclose(operator.correlate(y).numpy(), F.conv1d(y, torch.from_numpy(weight)).numpy(),
                               rtol=1e-4, atol=1e-3)


def test_the_command_line_learns_rank_one_filters_on_a_radius_and_keeps_the_choice(tmp_path):
    from engine.cli import main
    from engine.io.session import load_session

    rec = tmp_path / "probe.h5"
    assert main(["--quiet", "simulate", str(rec), "--minutes", "0.3", "--channels", "12", "--units", "3",
                 "--seed", "2"]) == 0
    out = tmp_path / "s.h5"
    assert main(["--quiet", "sort", str(rec), "--units", "3", "--steps", "4", "--rank", "1",
                 "--filter-radius", "60", "--out", str(out)]) == 0
    session = load_session(out)
    assert session.train_config["rank"] == 1 and session.train_config["filter_radius_um"] == 60.0
    filters = session.filters
    singular = np.linalg.svd(filters, compute_uv=False)
    assert np.all(singular[:, 1] < 1e-3 * singular[:, 0])
    depth = 20.0 * np.arange(12)  # the simulator's line of contacts
    for unit_filter in filters:
        lives_on = depth[np.abs(unit_filter).max(axis=1) > 0]
        assert np.ptp(lives_on) <= 120.0  # within 60 µm either side of one channel, of 220 µm of probe


def test_the_step_size_of_local_filters_is_the_one_of_the_whole_probe_operator():
    from engine.model.autoencoder import ConvSparseAutoencoder

    rng = np.random.default_rng(4)
    positions = np.column_stack([np.zeros(40), 20.0 * np.arange(40)])
    weight = rng.standard_normal((8, 40, 20))
    for unit, peak in enumerate(rng.choice(40, 8, replace=False)):
        weight[unit, peak] *= 10.0
    weight[~filter_support(weight, positions, radius_um=60.0)] = 0.0
    model = ConvSparseAutoencoder(weight, lam=1.0)
    # the largest eigenvalue of HᵀH from every frequency's units x units Gram matrix
    spectrum = np.fft.rfft(model.filters().astype(np.float64), n=1024)  # (units, channels, freqs)
    largest = max(np.linalg.eigvalsh(spectrum[:, :, f].conj() @ spectrum[:, :, f].T)[-1]
                  for f in range(spectrum.shape[-1]))
    assert largest <= model.lipschitz <= 1.03 * largest


def test_noise_is_cut_from_a_filter_and_a_clean_one_is_kept_whole():
    from engine.model.filter_shape import denoise_rank
    rng = np.random.default_rng(2)
    channels, taps = 16, 60
    t = np.arange(taps)
    shapes = np.stack([np.exp(-0.5 * ((t - 20) / 3.0) ** 2), np.exp(-0.5 * ((t - 30) / 6.0) ** 2)])
    clean = (rng.standard_normal((channels, 2)) @ shapes)[None]
    clean /= np.linalg.norm(clean)
    noisy = clean + 0.02 * rng.standard_normal(clean.shape)  # noise of about a third of the filter's norm
    denoised = denoise_rank(torch.tensor(noisy), None).numpy()
    assert np.linalg.norm(denoised - clean) < 0.5 * np.linalg.norm(noisy - clean)
    np.testing.assert_allclose(denoise_rank(torch.tensor(clean), None).numpy(), clean, atol=1e-9)
    support = np.zeros((1, channels), dtype=bool)
    support[0, :6] = True
    masked = noisy * support[:, :, None]
    out = denoise_rank(torch.tensor(masked), support).numpy()
    assert np.all(out[0, 6:] == 0) and np.linalg.norm(out - masked) > 0
