"""Curation survives a real re-sort: a lambda change re-sorts with the same filters."""
import numpy as np

from engine.curation.model import Curation
from engine.model.autoencoder import ConvSparseAutoencoder
from engine.recording.noise import noise_std, universal_lambda
from engine.groundtruth.simulate import SimulationConfig, simulate_recording
from engine.sorting.sorter import sort_recording


def test_merges_labels_and_splits_follow_a_lambda_change():
    recording = simulate_recording(SimulationConfig(minutes=0.1, seed=4))
    filters = recording.ground_truth.waveforms
    sigma = float(noise_std(recording.traces(0, 20_000)).max())
    lam = universal_lambda(sigma, len(filters), int(recording.sampling_rate))
    model = ConvSparseAutoencoder(filters, lam, n_steps=30, debias_steps=5, peak_distance=10)
    first = sort_recording(recording, model)
    c = Curation(first.times, first.units, first.n_units, first.sampling_rate)
    merged = c.merge([0, 2])
    c.label([merged], "good")
    c.label([1], "mua")
    chosen = c.spikes_of(1)[: len(c.spikes_of(1)) // 2]
    split = c.split(1, chosen)

    model.lam = 2.5 * lam  # fewer, but mostly the same, spikes
    second = sort_recording(recording, model)
    assert len(second) != len(first)
    c.rebase(second.times, second.units, second.n_units)
    clusters = c.spike_clusters()
    assert len(clusters) == len(second)
    assert np.all(clusters[np.isin(second.units, [0, 2])] == merged)
    assert c.cluster_labels() == {1: "mua", merged: "good", split: "unsorted"}
    moved = second.times[clusters == split]
    chosen_times = first.times[chosen]
    distance = np.abs(second.times[second.units == 1][:, None] - chosen_times[None, :]).min(axis=1)
    assert len(moved) == np.sum(distance <= 4)  # every spike of the re-sort within 0.4 ms of a chosen one
    assert len(moved) > 0.5 * len(chosen)
