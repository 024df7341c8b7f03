"""In training, each filter learns from the events it alone codes."""
import numpy as np

from engine.model.active_set import SparseCodes
from engine.training.shared_events import drop_shared_events, shared_channels

RATE = 20_000.0  # the coincidence window, 0.2 ms, is 4 samples


def codes(rows):
    """SparseCodes from (segment, position, unit, value) rows."""
    segment, position, unit, value = (np.array(column) for column in zip(*rows))
    return SparseCodes(segment.astype(np.int64), position.astype(np.int64), unit.astype(np.int64),
                       value.astype(np.float32))


def kept(found, troughs=(10, 10, 10), overlap=None):
    overlap = np.ones((3, 3), dtype=bool) if overlap is None else overlap
    out = drop_shared_events(found, np.asarray(troughs), overlap, distance=20, sampling_rate=RATE)
    return sorted(zip(out.segment.tolist(), out.position.tolist(), out.unit.tolist()))


def test_of_two_units_coding_one_event_the_smaller_code_is_left_out():
    found = codes([(0, 100, 0, 300.0), (0, 102, 1, 40.0), (0, 500, 1, 60.0)])
    assert kept(found) == [(0, 100, 0), (0, 500, 1)]


def test_the_events_are_compared_at_the_units_troughs():
    found = codes([(0, 100, 0, 300.0), (0, 90, 1, 40.0)])
    assert kept(found, troughs=(10, 20, 10)) == [(0, 100, 0)]  # both troughs at sample 110
    assert kept(found, troughs=(10, 10, 10)) == [(0, 90, 1), (0, 100, 0)]  # 10 samples apart: two events


def test_units_on_other_channels_and_other_segments_keep_their_codes():
    found = codes([(0, 100, 0, 300.0), (0, 101, 2, 40.0), (1, 100, 1, 40.0)])
    apart = shared_channels(np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1]], dtype=bool), 3)
    assert not apart[0, 2] and apart[0, 1]
    assert kept(found, overlap=apart) == [(0, 100, 0), (0, 101, 2), (1, 100, 1)]


def test_a_spike_split_over_adjacent_codes_of_its_unit_counts_whole():
    # unit 1's two adjacent codes are one spike of 80, larger than unit 0's 60 at the same instant
    found = codes([(0, 100, 0, 60.0), (0, 100, 1, 45.0), (0, 101, 1, 35.0)])
    assert kept(found) == [(0, 100, 1), (0, 101, 1)]
