import numpy as np
import pytest

from engine.training.initialization import initial_filters
from engine.groundtruth.metrics import compare_spike_trains, match_filters
from engine.sorting.sorter import sort_recording
from engine.training.trainer import TrainConfig, Trainer


@pytest.fixture(scope="module")
def trained(seed_minute):
    trainer = Trainer(seed_minute, TrainConfig(n_units=3, max_steps=20, tolerance=0.0, filter_ms=4.5, device="cpu"))
    snapshots = list(trainer.steps())
    return trainer, snapshots


def test_initialisation_finds_every_unit(seed_minute):
    init = initial_filters(seed_minute.traces(), 45, 3)
    _, errors = match_filters(init.filters, seed_minute.ground_truth.waveforms)
    assert np.all(errors < 0.3)


def test_learning_reaches_small_filter_error(trained):
    trainer, snapshots = trained
    first, last = snapshots[0], snapshots[-1]
    assert last.finished and last.step == 20
    assert max(last.filter_error) < 0.1
    assert np.mean(last.filter_error) < np.mean(first.filter_error)


def test_sorting_accuracy_against_ground_truth(trained, seed_minute):
    trainer, _ = trained
    result = sort_recording(seed_minute, trainer.model)
    truth = seed_minute.ground_truth
    scores = compare_spike_trains(truth.spike_times, truth.spike_units, result.times, result.units,
                                  seed_minute.sampling_rate)
    assert len(scores) == 3
    assert all(s.accuracy > 0.95 for s in scores), [s.accuracy for s in scores]


def test_unit_count_is_chosen_from_the_data(seed_minute):
    trainer = Trainer(seed_minute, TrainConfig(n_units=None, device="cpu"))
    model = trainer.initialize()
    assert model.n_units == 3


def test_snapshots_carry_copies(trained):
    trainer, snapshots = trained
    snapshots[-1].filters[:] = 0
    assert np.abs(trainer.model.filters()).sum() > 0
