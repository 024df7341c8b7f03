"""A re-sort of the visible window spliced into the whole recording's spikes (engine.sorting.splice)."""
import numpy as np

from engine.sorting.splice import spliced
from engine.sorting.sorter import SortResult


def _sort(rng, n, lo, hi, n_units=5):
    times = np.sort(rng.integers(lo, hi, n))
    return SortResult(times, rng.integers(0, n_units, n), rng.random(n).astype(np.float32), 30_000.0, n_units)


def _reference(old, window, start, stop):
    outside = (old.times < start) | (old.times >= stop)
    times = np.concatenate([old.times[outside], window.times])
    units = np.concatenate([old.units[outside], window.units])
    amplitudes = np.concatenate([old.amplitudes[outside], window.amplitudes])
    return sorted(zip(times.tolist(), units.tolist(), amplitudes.tolist()))


def test_the_window_replaces_its_stretch_and_the_spikes_stay_in_time_order():
    rng = np.random.default_rng(0)
    old = _sort(rng, 20_000, 0, 1_000_000)
    for start, stop in ((200_000, 230_000), (0, 5_000), (990_000, 1_000_000)):
        window = _sort(rng, 700, start, stop + 90)  # troughs up to a filter past the window's last code
        out = spliced(old, window, start, stop)
        assert np.all(np.diff(out.times) >= 0)
        assert sorted(zip(out.times.tolist(), out.units.tolist(), out.amplitudes.tolist())) == \
            _reference(old, window, start, stop)
        assert out.n_units == old.n_units and out.sampling_rate == old.sampling_rate
    # spikes out of time order (not a sorter's): still the same spikes, in time order
    shuffled = SortResult(old.times[::-1].copy(), old.units[::-1].copy(), old.amplitudes[::-1].copy(), 30_000.0, 5)
    window = _sort(rng, 300, 400_000, 410_000)
    out = spliced(shuffled, window, 400_000, 410_000)
    assert np.all(np.diff(out.times) >= 0) and len(out) == len(_reference(shuffled, window, 400_000, 410_000))
