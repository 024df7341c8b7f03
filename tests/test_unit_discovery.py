"""Units found by their evidence: a unit that fires rarely among busy ones is a unit."""
import numpy as np
import pytest

pytest.importorskip("spikeinterface.core")

NOISE_UV = 6.0
RATES_HZ = [20.0, 20.0, 20.0, 20.0, 1.5]
PEAKS_X_NOISE = [12.0, 16.0, 20.0, 25.0, 20.0]  # the 1.5 Hz unit at 20x the noise
SECONDS = 240.0  # 360 spikes of the rare unit


def tetrode_with_a_rare_unit(seed=4):
    import probeinterface as pi
    from spikeinterface.core import generate_ground_truth_recording, generate_sorting, generate_templates
    from spikeinterface.core.generate import generate_unit_locations

    probe = pi.generate_tetrode()
    probe.set_device_channel_indices(np.arange(4))
    fs, n = 20_000.0, len(RATES_HZ)
    sorting = generate_sorting(num_units=n, sampling_frequency=fs, durations=[SECONDS], firing_rates=RATES_HZ,
                               refractory_period_ms=4.0, seed=seed)
    locations = generate_unit_locations(n, probe.contact_positions, seed=seed, margin_um=10.0, minimum_z=5.0,
                                        maximum_z=50.0, minimum_distance=20.0)

    def templates(alpha):
        return generate_templates(probe.contact_positions, locations, fs, 1.0, 3.0, seed=seed,
                                  unit_params=dict(alpha=alpha))

    # templates scale with alpha: one pass at 1 gives each unit's peak
    alpha = np.asarray(PEAKS_X_NOISE) * NOISE_UV / np.abs(templates(np.ones(n))).max(axis=(1, 2))
    return generate_ground_truth_recording(
        durations=[SECONDS], sampling_frequency=fs, sorting=sorting, probe=probe, templates=templates(alpha),
        ms_before=1.0, ms_after=3.0, seed=seed, noise_kwargs=dict(noise_levels=NOISE_UV, strategy="on_the_fly"))


def test_a_rare_unit_among_busy_ones_is_well_detected():
    from spikeinterface.comparison import compare_sorter_to_ground_truth
    from engine.sorting.spikeinterface import run_sparsesort

    recording, truth = tetrode_with_a_rare_unit()
    rare = truth.unit_ids[-1]
    assert len(truth.get_unit_spike_train(rare)) >= 300
    performance = compare_sorter_to_ground_truth(truth, run_sparsesort(recording),
                                                 exhaustive_gt=True).get_performance()
    accuracy = performance["accuracy"].astype(float)
    assert accuracy[rare] >= 0.8, accuracy.round(3).tolist()


def single_contact_with_similar_troughs(seed=11):
    """Three units on one contact whose troughs are equally deep (15x the noise) but whose waveforms
    differ: a narrow, a medium and a broad spike. Nothing but the waveform tells them apart."""
    import probeinterface as pi
    from spikeinterface.core import generate_ground_truth_recording, generate_sorting, generate_templates

    probe = pi.generate_linear_probe(num_elec=1)
    probe.set_device_channel_indices([0])
    fs, n, seconds = 30_000.0, 3, 180.0
    sorting = generate_sorting(num_units=n, sampling_frequency=fs, durations=[seconds], firing_rates=8.0,
                               refractory_period_ms=4.0, seed=seed)
    locations = np.array([[0.0, 0.0, 20.0]] * n)
    shapes = dict(repolarization_ms=np.array([0.3, 0.5, 0.8]), recovery_ms=np.array([0.5, 1.0, 1.5]),
                  positive_amplitude=np.array([0.35, 0.2, 0.1]))

    def templates(alpha):
        return generate_templates(probe.contact_positions, locations, fs, 1.0, 3.0, seed=seed,
                                  unit_params=dict(alpha=alpha, **shapes))

    alpha = 15.0 * NOISE_UV / np.abs(templates(np.ones(n))).max(axis=(1, 2))
    return generate_ground_truth_recording(
        durations=[seconds], sampling_frequency=fs, sorting=sorting, probe=probe, templates=templates(alpha),
        ms_before=1.0, ms_after=3.0, seed=seed, noise_kwargs=dict(noise_levels=NOISE_UV, strategy="on_the_fly"))


def test_three_units_with_similar_troughs_stay_three():
    from spikeinterface.comparison import compare_sorter_to_ground_truth
    from engine.sorting.spikeinterface import run_sparsesort

    recording, truth = single_contact_with_similar_troughs()
    performance = compare_sorter_to_ground_truth(truth, run_sparsesort(recording),
                                                 exhaustive_gt=True).get_performance()
    accuracy = performance["accuracy"].astype(float)
    assert (accuracy >= 0.8).all(), accuracy.round(3).tolist()
