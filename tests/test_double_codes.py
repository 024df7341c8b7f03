"""One spike coded by two filters: the smaller unit's coincident codes go, independent units keep theirs."""
import numpy as np

from engine.sorting.double_codes import double_coded_pairs, drop_double_codes
from engine.sorting.sorter import SortResult

RATE = 20_000
SAMPLES = 600 * RATE


def _train(rng, hz):
    return np.sort(rng.choice(SAMPLES, int(hz * SAMPLES / RATE), replace=False))


def _result(trains, amplitudes):
    times = np.concatenate(trains)
    units = np.concatenate([np.full(len(t), u) for u, t in enumerate(trains)])
    amps = np.concatenate(amplitudes).astype(np.float32)
    order = np.lexsort((units, times))
    return SortResult(times[order], units[order], amps[order], RATE, len(trains))


def test_a_unit_that_echoes_another_loses_only_its_echoes():
    rng = np.random.default_rng(0)
    host, independent = _train(rng, 15.0), _train(rng, 20.0)
    echoes = np.sort(rng.choice(host, len(host) // 3, replace=False)) + rng.integers(-2, 3, len(host) // 3)
    own = _train(rng, 2.0)
    result = _result([host, independent, np.concatenate([echoes, own])],
                     [np.full(len(host), 200.0), np.full(len(independent), 150.0),
                      np.r_[np.full(len(echoes), 60.0), np.full(len(own), 90.0)]])

    assert double_coded_pairs(result, SAMPLES, window=4) == [(0, 2)]
    cleaned = drop_double_codes(result, SAMPLES)
    np.testing.assert_array_equal(cleaned.unit_times(0), host)
    np.testing.assert_array_equal(cleaned.unit_times(1), independent)  # chance coincidences with 0 kept
    kept = cleaned.unit_times(2)
    assert np.isin(own, kept).mean() > 0.99  # its own spikes stay, bar the few that meet the host by chance
    assert not np.isin(echoes, kept).any()


def test_the_host_is_the_unit_with_the_larger_code():
    rng = np.random.default_rng(1)
    big = _train(rng, 10.0)
    small = big + 1
    result = _result([small, big], [np.full(len(small), 40.0), np.full(len(big), 300.0)])
    assert double_coded_pairs(result, SAMPLES, window=4) == [(1, 0)]
    cleaned = drop_double_codes(result, SAMPLES)
    assert cleaned.counts().tolist() == [0, len(big)]


def test_independent_units_are_left_alone():
    rng = np.random.default_rng(2)
    trains = [_train(rng, hz) for hz in (30.0, 25.0, 5.0, 0.5)]
    result = _result(trains, [np.full(len(t), 100.0) for t in trains])
    cleaned = drop_double_codes(result, SAMPLES)
    assert len(cleaned) == len(result)
