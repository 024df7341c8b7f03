import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.model.active_set import (ActiveSetProblem, Partners, SparseCodes, _cross_talk, cross_correlations,
                                     merge_spikes)
from engine.training.amplitude_floor import FLOOR_FRACTION, amplitude_floors
from engine.model.autoencoder import ConvSparseAutoencoder
from engine.model.spectral import SpectralOperator


@pytest.mark.parametrize("channels, units, taps, n", [(1, 3, 45, 3000), (4, 5, 90, 1234), (32, 7, 31, 517), (2, 3, 90, 20_000)])
def test_spectral_correlation_equals_conv1d(rng, channels, units, taps, n):
    w = torch.as_tensor(rng.standard_normal((units, channels, taps)), dtype=torch.float64)
    y = torch.as_tensor(rng.standard_normal((2, channels, n)), dtype=torch.float64)
    assert torch.allclose(SpectralOperator(w).correlate(y), F.conv1d(y, w), atol=1e-9)


@pytest.mark.parametrize("channels, units, taps", [(1, 3, 45), (32, 5, 90), (4, 2, 2)])
def test_filter_cross_correlations_match_their_definition(rng, channels, units, taps):
    w = rng.standard_normal((units, channels, taps))
    table = cross_correlations(torch.as_tensor(w))
    for u, v, d in [(0, 1 % units, 0), (units - 1, 0, taps - 1), (0, units - 1, 1 - taps), (1 % units, 1 % units, taps // 3)]:
        # <h_u at m, h_v at m + d>: h_v starts d samples later
        expected = sum(w[u, :, t] @ w[v, :, t - d] for t in range(taps) if 0 <= t - d < taps)
        assert table[u, v, d + taps - 1] == pytest.approx(expected, abs=1e-9)


def test_the_lasso_gram_holds_the_filters_inner_products_of_interacting_units_only(rng):
    """Entry (i, j) is <h_ui at k_i, h_uj at k_j> where the two units interact and the codes overlap."""
    units, channels, taps, n = 5, 3, 12, 400
    w = rng.standard_normal((units, channels, taps))
    interacts = np.ones((units, units), dtype=bool)
    interacts[0, 3] = interacts[3, 0] = interacts[1, 4] = interacts[4, 1] = False
    key = np.sort(rng.integers(0, n, 120))
    unit = rng.integers(0, units, 120)
    gram = ActiveSetProblem(cross_correlations(torch.as_tensor(w)), Partners(interacts), n).gram(key, unit).toarray()
    placed = np.zeros((120, channels, n + taps))
    for i, (k, u) in enumerate(zip(key, unit)):
        placed[i, :, k:k + taps] = w[u]
    inner = np.einsum("ict,jct->ij", placed, placed)
    expected = np.where(interacts[unit][:, unit], inner, 0.0)
    np.testing.assert_allclose(gram, expected, atol=1e-9)


def test_the_residual_cross_talk_is_the_codes_filters_correlated_with_every_partner(rng):
    """HᵀHx from the cross-correlation table equals Hᵀ of the codes' reconstruction Hx."""
    units, channels, taps, n, segments = 4, 3, 15, 500, 2
    w = rng.standard_normal((units, channels, taps))
    flat = rng.choice(segments * units * n, 60, replace=False)  # distinct codes, as the encoder's are
    codes = SparseCodes(flat // (units * n), flat % n, (flat // n) % units, rng.random(60).astype(np.float32))
    x = codes.to_dense(segments, units, n).double()
    weight = torch.as_tensor(w)
    reconstruction = F.conv_transpose1d(x, weight)  # (segments, channels, n + taps − 1)
    expected = F.conv1d(reconstruction, weight)
    got = _cross_talk(codes, cross_correlations(weight), Partners(np.ones((units, units), dtype=bool)),
                      (segments, units, n))
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-4, atol=1e-4)


def test_noiseless_spikes_are_recovered_exactly_even_when_they_overlap(rng):
    filters = rng.standard_normal((3, 4, 30))
    model = ConvSparseAutoencoder(filters, lam=0.5, peak_distance=10)
    w = model.filters()
    spikes = [(200, 0, 8.0), (600, 1, 5.0), (610, 2, 6.0), (1500, 2, 4.0), (1504, 0, 7.0)]
    y = np.zeros((4, 2000))
    for position, unit, amplitude in spikes:
        y[:, position:position + 30] += amplitude * w[unit]
    codes = merge_spikes(model.encode_sparse(torch.as_tensor(y, dtype=torch.float32)[None]), 10)
    found = sorted(zip(codes.position.tolist(), codes.unit.tolist(), codes.value.tolist()))
    assert [(p, u) for p, u, _ in found] == [(p, u) for p, u, _ in spikes]
    np.testing.assert_allclose([v for _, _, v in found], [a for _, _, a in spikes], rtol=1e-3)


@pytest.mark.parametrize("lag", [9, 13, 17])
def test_a_small_spike_on_the_flank_of_a_large_one_is_found_from_the_residual(monkeypatch, lag):
    """A spike of amplitude 4, 9-17 samples after one of amplitude 30 of a similar unit, makes no maximum in Hᵀy."""
    taps, t = 60, np.arange(60) - 18

    def wave(width):
        return -np.exp(-0.5 * (t / (3.0 * width)) ** 2) + 0.35 * np.exp(-0.5 * ((t - 12 * width) / (7.0 * width)) ** 2)

    filters = np.stack([np.array([1.0, 0.7, 0.4, 0.2])[:, None] * wave(1.0),
                        np.array([0.8, 1.0, 0.5, 0.3])[:, None] * wave(1.15)])
    model = ConvSparseAutoencoder(filters, lam=1.0, peak_distance=10)
    w = model.filters()
    y = np.zeros((4, 1000))
    y[:, 400:400 + taps] += 30 * w[0]
    y[:, 400 + lag:400 + lag + taps] += 4 * w[1]

    def spikes():
        codes = merge_spikes(model.encode_sparse(torch.as_tensor(y, dtype=torch.float32)[None]), 10)
        big = codes.value > 0.5
        return sorted(zip(codes.position[big].tolist(), codes.unit[big].tolist(), codes.value[big].tolist()))

    found = spikes()
    assert [(p, u) for p, u, _ in found] == [(400, 0), (400 + lag, 1)]
    np.testing.assert_allclose([v for _, _, v in found], [30.0, 4.0], rtol=0.02)
    nothing = np.zeros(0, dtype=np.int64)
    monkeypatch.setattr("engine.model.active_set._uncovered_candidates", lambda *args: (nothing, nothing, nothing))
    assert (400 + lag, 1) not in [(p, u) for p, u, _ in spikes()]  # Hᵀy alone misses it


def test_a_spike_between_two_samples_is_one_spike_of_two_adjacent_codes():
    codes = SparseCodes(np.array([0, 0, 0]), np.array([100, 101, 300]), np.array([1, 1, 1]),
                        np.array([3.0, 5.0, 2.0], dtype=np.float32))
    spikes = merge_spikes(codes, distance=10)
    assert spikes.position.tolist() == [101, 300]
    np.testing.assert_allclose(spikes.value, [8.0, 2.0])


def test_floors_follow_the_units_large_spikes_not_the_many_small_codes(rng):
    # unit 0: 300 spikes near 600 and 900 small codes of another neuron's residue; unit 1: one clean mode
    values = np.concatenate([rng.normal(600, 20, 300), rng.uniform(20, 40, 900), rng.normal(100, 10, 400)])
    units = np.concatenate([np.zeros(1200, int), np.ones(400, int)])
    floors = amplitude_floors(values, units, 3)
    assert floors[0] == pytest.approx(FLOOR_FRACTION * 600, rel=0.05)
    assert floors[1] == pytest.approx(FLOOR_FRACTION * 100, rel=0.05)
    assert floors[2] == 0.0


def test_a_refit_that_keeps_turning_negative_still_keeps_every_other_spike(rng, monkeypatch):
    # six near-parallel atoms (one waveform, a little different each time: units of similar
    # waveforms) and one apart from them; the unpenalised fit of the six gives negative codes
    import engine.model.active_set as active_set
    from scipy import sparse
    base, apart = rng.standard_normal(40), rng.standard_normal(40)
    atoms = np.stack([base + 0.05 * rng.standard_normal(40) for _ in range(6)] + [apart], axis=1)
    y = 3.0 * base + 5.0 * apart + 0.5 * rng.standard_normal(40)  # and noise
    gram, b = sparse.csr_matrix(atoms.T @ atoms), atoms.T @ y
    assert (np.linalg.solve(atoms.T @ atoms, b)[:6] < 0).any()  # the case this test is about
    monkeypatch.setattr(active_set, "MAX_REFITS", 1)  # the stubborn case: out of rounds with negatives left
    x = active_set.refit(gram, b, np.ones(7, dtype=bool))
    assert (x >= 0).all()
    assert x[6] == pytest.approx(5.0, rel=0.05)
    assert np.linalg.norm(y - atoms @ x) < 0.3 * np.linalg.norm(y)


def test_the_sorters_encoder_is_kept_while_the_filters_floors_and_step_stay(rng):
    import gc
    import weakref

    from engine.model.active_set import cached_encoder

    model = ConvSparseAutoencoder(torch.tensor(rng.normal(size=(3, 4, 20)), dtype=torch.float32), 0.5, 10)
    first = cached_encoder(model)
    assert cached_encoder(model) is first  # a λ change: lam is read when encoding
    model.lam = 2.0
    assert cached_encoder(model) is first
    with torch.no_grad():
        model.weight.mul_(1.0)  # the filters updated in place (as training does)
    second = cached_encoder(model)
    assert second is not first and cached_encoder(model) is second
    model.min_amplitudes = np.full(3, 0.4, np.float32)
    third = cached_encoder(model)
    assert third is not second and cached_encoder(model) is third
    model.lipschitz = model.lipschitz * 2
    assert cached_encoder(model) is not third
    y = torch.tensor(rng.normal(size=(1, 4, 500)), dtype=torch.float32)
    cached, fresh = cached_encoder(model).encode(y), model.encode_sparse(y)
    assert np.array_equal(cached.position, fresh.position) and np.allclose(cached.value, fresh.value)
    alive = weakref.ref(model)
    del model, first, second, third, cached, fresh
    gc.collect()
    assert alive() is None  # the cache does not keep a model alive
