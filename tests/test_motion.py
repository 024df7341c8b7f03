"""A drifting probe: sorted with motion correction its units are found, without it they are lost."""
import os

import numpy as np
import pytest

from engine.sorting.spikeinterface import run_sparsesort

pytest.importorskip("spikeinterface.generation")


def drifting_probe(seconds=60.0, seed=11, um=25.0, mode="zigzag"):
    """32 contacts in two columns (300 um), 8 units, a ±``um`` zigzag every 30 s (or ``mode`` "bump")."""
    import probeinterface as pi
    from spikeinterface.generation import generate_drifting_recording

    probe = pi.generate_multi_columns_probe(num_columns=2, num_contact_per_column=16, xpitch=20, ypitch=20)
    probe.set_device_channel_indices(np.arange(32))
    _, drifting, truth = generate_drifting_recording(
        num_units=8, duration=seconds, sampling_frequency=20_000.0, probe=probe, seed=seed,
        generate_unit_locations_kwargs={"margin_um": 10.0, "minimum_z": 5.0, "maximum_z": 40.0,
                                        "minimum_distance": 25.0, "max_iteration": 200, "distance_strict": False},
        generate_displacement_vector_kwargs={
            "displacement_sampling_frequency": 5.0, "drift_start_um": [0, um], "drift_stop_um": [0, -um],
            "drift_step_um": 1, "motion_list": [{"drift_mode": mode, "non_rigid_gradient": None,
                                                 "t_start_drift": 5.0, "t_end_drift": None, "period_s": 30}]},
        generate_templates_kwargs={"ms_before": 1.0, "ms_after": 2.5, "mode": "ellipsoid",
                                   "unit_params": {"alpha": (300.0, 600.0), "spatial_decay": (20, 30),
                                                   "ellipse_shrink": (0.4, 1), "ellipse_angle": (0, 6.28)}},
        generate_sorting_kwargs={"firing_rates": (5.0, 12.0), "refractory_period_ms": 4.0},
        generate_noise_kwargs={"noise_levels": (5.0, 6.0), "spatial_decay": 25.0})
    return drifting, truth


def _accuracies(truth, sorting):
    from spikeinterface.comparison import compare_sorter_to_ground_truth
    comparison = compare_sorter_to_ground_truth(truth, sorting, exhaustive_gt=True)
    return comparison.get_performance()["accuracy"].to_numpy().astype(float)


def test_a_drifting_probe_is_sorted_well_only_with_motion_correction():
    recording, truth = drifting_probe()
    corrected = run_sparsesort(recording)  # auto: the probe spans 300 um, room for two windows
    assert corrected.get_annotation("sparsesort_motion") == "nonrigid"
    with_motion = _accuracies(truth, corrected)
    without = _accuracies(truth, run_sparsesort(recording, motion="none"))
    assert np.sum(with_motion >= 0.9) >= 7 and with_motion.mean() >= 0.9, with_motion
    assert without.mean() < with_motion.mean() - 0.2, (without, with_motion)


def test_the_same_recording_gets_the_same_motion_estimate_every_time():
    from engine.recording.motion import correct_motion
    from engine.recording.readers.spikeinterface import SpikeInterfaceRecording

    recording, _ = drifting_probe(seconds=20.0)
    first, second = (correct_motion(SpikeInterfaceRecording(recording), "rigid")[1] for _ in range(2))
    np.testing.assert_array_equal(first.peak_times_s, second.peak_times_s)
    np.testing.assert_array_equal(first.displacement_um, second.displacement_um)


def test_a_drift_larger_than_a_quarter_window_is_followed_whole():
    """A ±40 um zigzag (80 um of swing) with 150 um non-rigid windows: dredge's default search range, a
    quarter window (37.5 um), found 57-63 um of it; the 100 um range finds 71."""
    from engine.recording.motion import correct_motion
    from engine.recording.readers.spikeinterface import SpikeInterfaceRecording

    recording, _ = drifting_probe(seconds=30.0, um=40.0)
    _, estimate = correct_motion(SpikeInterfaceRecording(recording), "nonrigid")
    assert np.ptp(estimate.displacement_um, axis=0).min() >= 80.0 * 5 / 6


def test_the_compiled_peak_detection_is_kept_on_disk_for_the_next_process():
    from numba.core.caching import NullCache
    from spikeinterface.sortingcomponents.peak_detection import locally_exclusive

    from engine.recording.motion import correct_motion
    from engine.recording.readers.spikeinterface import SpikeInterfaceRecording

    recording, _ = drifting_probe(seconds=10.0)
    correct_motion(SpikeInterfaceRecording(recording), "rigid")
    kernel = locally_exclusive.detect_peaks_numba_locally_exclusive_on_chunk
    assert not isinstance(kernel._cache, NullCache)
    folder = kernel._cache.cache_path
    assert any(name.endswith(".nbi") and kernel.__name__ in name for name in os.listdir(folder)), folder
