import numpy as np
import torch

from engine.training.initialization import merge_templates
from engine.groundtruth.metrics import match_filters
from engine.training.shifted_copies import copy_units
from engine.training.trainer import TrainConfig, Trainer

TAPS = 90


def spike(channels: int, peak: int, scale: float, spread: np.ndarray) -> np.ndarray:
    """A biphasic waveform with its trough at tap ``peak`` on every channel, scaled per channel."""
    t = np.arange(TAPS) - peak
    wave = -np.exp(-0.5 * (t / 3.0) ** 2) + 0.4 * np.exp(-0.5 * ((t - 12) / 6.0) ** 2)
    return scale * spread[:channels, None] * wave[None, :]


def test_a_shifted_copy_is_found_and_a_smaller_aligned_unit_of_the_same_shape_is_not():
    spread = np.linspace(1.0, 0.2, 8)
    original = spike(8, 27, 200.0, spread)
    copy = spike(8, 65, 150.0, spread)  # the same neuron seen 38 samples later in the window
    small_twin = spike(8, 27, 40.0, spread)  # a farther neuron of the same type: aligned, not a copy
    other = spike(8, 27, 120.0, spread[::-1])
    filters = np.stack([original, copy, small_twin, other])
    sizes = np.array([200.0, 150.0, 40.0, 120.0])
    assert copy_units(filters, sizes, TAPS // 8, trough_tap=27).tolist() == [1]
    # the copy is the one with its trough away from where the window puts troughs, whatever its index and size
    assert copy_units(filters[[1, 0]], np.array([300.0, 200.0]), TAPS // 8, trough_tap=27).tolist() == [0]
    # a filter of opposite sign takes other spikes (codes are nonnegative): not a copy
    assert copy_units(np.stack([original, -copy]), sizes[:2], TAPS // 8, trough_tap=27).tolist() == []


def test_merging_leaves_out_small_clusters_unlike_every_unit():
    spread = np.linspace(1.0, 0.2, 8)
    unit_a, unit_b = spike(8, 27, 200.0, spread), spike(8, 27, 60.0, spread[::-1])
    junk = spike(8, 50, 180.0, np.ones(8)) + spike(8, 20, 150.0, spread)  # an overlap of two spikes
    fragment = 0.9 * unit_b  # one unit's low-amplitude spikes: merged back in
    templates, sizes = merge_templates([unit_a, unit_b, junk, fragment], [500, 400, 20, 30], None,
                                       merge_below=0.3, max_shift=TAPS // 8, min_size=100)
    assert sizes == [500, 430]
    assert np.allclose(templates[0], unit_a)
    # the small unit's template is not pulled towards the overlap
    corr = np.sum(templates[1] * unit_b) / (np.linalg.norm(templates[1]) * np.linalg.norm(unit_b))
    assert corr > 0.999


def test_training_removes_a_unit_that_became_a_shifted_copy(seed_minute):
    trainer = Trainer(seed_minute, TrainConfig(n_units=None, max_steps=3, device="cpu"))
    model = trainer.initialize()
    assert model.n_units == 3
    weight = model.weight.detach()
    shift = model.n_taps // 3
    copy = torch.zeros_like(weight[0])
    copy[:, shift:] = weight[0][:, :-shift]  # unit 0 moved along the window
    model.weight = torch.nn.Parameter(torch.cat([weight, copy[None]]))
    model.support = np.vstack([model.support, model.support[:1]])  # the copy lives where unit 0 does
    model.keep_units(np.arange(4))  # refreshes the step size for four units
    trainer._floors.typical = np.r_[trainer._floors.typical, np.nan]
    list(trainer.steps())
    assert trainer.model.n_units == 3
    _, errors = match_filters(trainer.model.filters(), seed_minute.ground_truth.waveforms)
    assert np.all(errors < 0.1), errors
