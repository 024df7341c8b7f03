"""Units that are one neuron (split by drift, or sharing one refractory period): found, merged in the
curation, undoable; independent neighbours stay apart."""
import numpy as np

from engine.curation.model import Curation
from engine.sorting.same_neuron import (NOTE, first_curation, merge_in_curation, merged_labels,
                                        same_neuron_groups)
from engine.sorting.sorter import SortResult

RATE = 20_000
SECONDS = 300
TAPS = 40


def _waveform(shift: float, channels: int = 4) -> np.ndarray:
    """A unit's filter on a column of ``channels`` contacts, its peak at contact ``shift`` (fractional)."""
    t = np.arange(TAPS)
    shape = -np.exp(-0.5 * ((t - 12) / 2.0) ** 2) + 0.4 * np.exp(-0.5 * ((t - 20) / 4.0) ** 2)
    gains = np.exp(-0.5 * ((np.arange(channels) - shift) / 0.8) ** 2)
    filt = gains[:, None] * shape[None, :]
    return filt / np.linalg.norm(filt)


def _poisson(rng, hz, periods):
    times = []
    for lo, hi in periods:
        n = rng.poisson(hz * (hi - lo))
        times.append(rng.uniform(lo, hi, n))
    return (np.sort(np.concatenate(times)) * RATE).astype(np.int64)


def _result(trains):
    times = np.concatenate(trains)
    units = np.concatenate([np.full(len(t), u) for u, t in enumerate(trains)])
    order = np.lexsort((units, times))
    return SortResult(times[order], units[order], np.ones(len(times), np.float32), RATE, len(trains))


POSITIONS = np.column_stack([np.zeros(8), 20.0 * np.arange(8)])
REST = [(0, 40), (70, 130), (160, 230), (260, 300)]
BUMPS = [(40, 70), (130, 160), (230, 260)]


def test_a_neuron_that_fires_in_turns_on_two_nearby_filters_is_one_group():
    rng = np.random.default_rng(0)
    filters = np.zeros((4, 8, TAPS), np.float32)
    filters[0, :4] = _waveform(1.0)  # the neuron at rest
    filters[1, :4] = _waveform(1.6)  # the same neuron during the bumps, 12 µm away
    filters[2, :4] = _waveform(1.3)  # another neuron of the same shape there, firing throughout
    filters[3, 4:] = _waveform(1.0)  # a neuron 80 µm away that fires only during the bumps
    trains = [_poisson(rng, 10.0, REST), _poisson(rng, 10.0, BUMPS), _poisson(rng, 6.0, [(0, SECONDS)]),
              _poisson(rng, 8.0, BUMPS)]
    result = _result(trains)
    assert same_neuron_groups(result, filters, POSITIONS, SECONDS * RATE) == [[0, 1]]


def test_a_neuron_handed_from_filter_to_filter_slowly_as_the_probe_moves_is_one_group():
    """A zigzag moves the probe through the displacement between the two footprints over seconds:
    in those seconds the neuron's spikes go to either filter, and both fire in many bins."""
    rng = np.random.default_rng(5)
    filters = np.zeros((2, 8, TAPS), np.float32)
    filters[0, :4], filters[1, :4] = _waveform(1.0), _waveform(1.6)
    spikes = _poisson(rng, 8.0, [(0, SECONDS)])
    seconds = spikes / RATE
    period, ramp = 40.0, 6.0  # the displacement's zigzag, and the seconds of each hand-over
    phase = np.abs((seconds % period) - period / 2) - (period / 4 - ramp / 2)  # 0 .. ramp within a hand-over
    to_second = rng.uniform(0, ramp, len(spikes)) < phase
    result = _result([spikes[~to_second], spikes[to_second]])
    assert same_neuron_groups(result, filters, POSITIONS, SECONDS * RATE) == [[0, 1]]


def test_a_neuron_in_three_pieces_two_of_which_share_some_seconds_is_one_group():
    """Where the third piece shares seconds with the second, it has only part of the neuron's spikes
    in the bins the first piece leaves it: only the first two together show the neuron's rate."""
    rng = np.random.default_rng(6)
    filters = np.zeros((3, 8, TAPS), np.float32)
    filters[0, :4], filters[1, :4], filters[2, :4] = _waveform(1.0), _waveform(1.6), _waveform(1.3)
    shared = _poisson(rng, 10.0, [(250, 265)])
    to_third = rng.uniform(size=len(shared)) < 0.2
    trains = [_poisson(rng, 10.0, [(0, 150)]),
              np.sort(np.r_[_poisson(rng, 10.0, [(150, 250)]), shared[~to_third]]),
              np.sort(np.r_[shared[to_third], _poisson(rng, 10.0, [(265, 300)])])]
    assert same_neuron_groups(_result(trains), filters, POSITIONS, SECONDS * RATE) == [[0, 1, 2]]


def test_two_neurons_in_two_pieces_each_at_one_rate_pair_the_pieces_that_look_alike():
    """Both neurons fire at 4 Hz, at rest on one filter and in the bumps on another: each one's rest
    piece takes turns with the other's bump piece as well as with its own, at the same rate."""
    filters = np.zeros((4, 8, TAPS), np.float32)
    filters[0, :4], filters[1, :4] = _waveform(1.0), _waveform(1.7)  # A at rest, B in the bumps
    filters[2, :4], filters[3, :4] = _waveform(1.3), _waveform(2.0)  # A in the bumps, B at rest
    for seed in range(3):
        rng = np.random.default_rng(seed)
        trains = [_poisson(rng, 4.0, periods) for periods in (REST, BUMPS, BUMPS, REST)]
        assert same_neuron_groups(_result(trains), filters, POSITIONS, SECONDS * RATE) == [[0, 2], [1, 3]], seed


def test_drift_pieces_of_two_neurons_that_take_turns_at_different_rates_stay_apart():
    """A slow neuron's piece during the bumps and a fast neuron's at rest take turns as one neuron's
    pieces do; the slow neuron's two pieces are one group, the fast neuron's piece is not in it."""
    rng = np.random.default_rng(4)
    filters = np.zeros((3, 8, TAPS), np.float32)
    filters[0, :4] = _waveform(1.0)  # the slow neuron at rest
    filters[1, :4] = _waveform(1.6)  # the slow neuron during the bumps
    filters[2, :4] = _waveform(1.3)  # the fast neuron at rest; its piece during the bumps is elsewhere
    trains = [_poisson(rng, 2.0, REST), _poisson(rng, 2.0, BUMPS), _poisson(rng, 20.0, REST)]
    assert same_neuron_groups(_result(trains), filters, POSITIONS, SECONDS * RATE) == [[0, 1]]


def test_units_of_unlike_waveforms_are_not_merged_even_in_turns():
    rng = np.random.default_rng(1)
    filters = np.zeros((2, 8, TAPS), np.float32)
    filters[0, :4] = _waveform(1.0)
    positive = np.exp(-0.5 * ((np.arange(TAPS) - 25) / 6.0) ** 2)  # a slow positive wave on the same contacts
    filters[1, :4] = np.exp(-0.5 * ((np.arange(4) - 1.0) / 0.8) ** 2)[:, None] * positive
    result = _result([_poisson(rng, 10.0, REST), _poisson(rng, 10.0, BUMPS)])
    assert same_neuron_groups(result, filters, POSITIONS, SECONDS * RATE) == []


def test_independent_units_side_by_side_stay_apart():
    rng = np.random.default_rng(2)
    filters = np.stack([np.pad(_waveform(s), ((0, 4), (0, 0))) for s in (1.0, 1.4, 1.8)]).astype(np.float32)
    trains = [_poisson(rng, hz, [(0, SECONDS)]) for hz in (20.0, 3.0, 0.7)]
    assert same_neuron_groups(_result(trains), filters, POSITIONS, SECONDS * RATE) == []


def _refractory_train(rng, hz, refractory_s):
    """A renewal train: exponential intervals after a dead time."""
    gaps = refractory_s + rng.exponential(1.0 / hz, int(hz * SECONDS * 1.2))
    times = np.cumsum(gaps)
    return times[times < SECONDS]


def test_two_filters_that_split_one_neurons_spikes_at_random_are_one_group():
    rng = np.random.default_rng(4)
    filters = np.zeros((3, 8, TAPS), np.float32)
    filters[0, :4] = _waveform(1.0)
    filters[1, :4] = _waveform(1.05)  # the same neuron's waveform, learned twice
    filters[2, :4] = _waveform(1.2)  # a neighbour of the same shape, firing independently
    neuron = _refractory_train(rng, 30.0, 0.004)
    to_second = rng.random(len(neuron)) < 0.3
    other = _refractory_train(rng, 20.0, 0.004)
    trains = [(neuron[~to_second] * RATE).astype(np.int64), (neuron[to_second] * RATE).astype(np.int64),
              (other * RATE).astype(np.int64)]
    assert same_neuron_groups(_result(trains), filters, POSITIONS, SECONDS * RATE) == [[0, 1]]


def test_merged_labels_give_one_unit_per_neuron():
    labels, filters_of = merged_labels(np.array([0, 1, 2, 3, 1, 3]), 4, [[1, 3]])
    assert labels.tolist() == [0, 1, 2, 1, 1, 1] and filters_of == [[0], [1, 3], [2]]


def test_the_merge_is_a_curation_action_that_undo_reverses_and_hand_curation_is_kept():
    rng = np.random.default_rng(3)
    result = _result([_poisson(rng, 10.0, REST), _poisson(rng, 10.0, BUMPS), _poisson(rng, 5.0, BUMPS),
                      _poisson(rng, 5.0, REST)])
    result.merges = [[0, 1], [2, 3]]
    saved = first_curation(result)
    curation = Curation.from_dict(saved, result.times, result.units, 4, RATE)
    assert curation.cluster_ids() == [4, 5] and curation.filters_of(4) == [0, 1]
    assert curation.note_of(4) == NOTE
    while curation.can_undo:
        curation.undo()
    assert curation.cluster_ids() == [0, 1, 2, 3]

    curation.label([2], "good")  # curated by hand: not merged behind the user's back
    assert merge_in_curation(curation, result.merges) == [4]
    assert curation.cluster_ids() == [2, 3, 4]
