"""The SpikeInterface entry point, scored by SpikeInterface's own ground-truth comparison."""
import numpy as np
import pytest

sc = pytest.importorskip("spikeinterface.core")
from spikeinterface.comparison import compare_sorter_to_ground_truth  # noqa: E402

from engine.sorting.spikeinterface import run_sparsesort  # noqa: E402


def test_entry_point_sorts_a_generated_tetrode_accurately(one_torch_thread):
    # seed 6: four units of 64-152 µV peak over 5 µV noise, 15 Hz each, 20 s at 30 kHz
    recording, truth = sc.generate_ground_truth_recording(durations=[20.0], sampling_frequency=30_000.0,
                                                          num_channels=4, num_units=4, seed=6)
    sorting = run_sparsesort(recording, max_steps=10)
    assert sorting.get_sampling_frequency() == 30_000.0
    assert sorting.get_annotation("sparsesort_lambda") > 0
    comparison = compare_sorter_to_ground_truth(truth, sorting, exhaustive_gt=True)
    accuracy = comparison.get_performance()["accuracy"].to_numpy(dtype=float)
    assert np.mean(accuracy) > 0.9, accuracy
    assert len(comparison.get_well_detected_units(0.8)) == 4


def test_entry_point_refuses_a_multi_segment_recording_by_name():
    recording, _ = sc.generate_ground_truth_recording(durations=[1.0, 1.0], num_channels=4, num_units=2, seed=1)
    with pytest.raises(Exception, match="segments"):
        run_sparsesort(recording)
