"""A re-sort of one stretch put into a whole recording's sort: the window re-sorted after a λ change."""
from __future__ import annotations

import numpy as np

from engine.sorting.sorter import SortResult


def spliced(old: SortResult, window: SortResult, start: int, stop: int) -> SortResult:
    """``old`` with its spikes in samples start:stop replaced by ``window``'s, in time order.

    Sorts come in time order, so the window goes between the spikes before and after it: on 5.4 M
    spikes, 37 ms where an argsort of them all took about 400 ms (of the GUI thread, in the window).
    The window's spikes sit on their troughs, up to a filter past its last code, so they can pass
    ``stop``; the old spikes they pass are ordered with them."""
    arrays = ((old.times, window.times), (old.units, window.units), (old.amplitudes, window.amplitudes))
    times = old.times
    if len(times) > 1 and not bool(np.all(times[1:] >= times[:-1])):  # not a sorter's: keep what lies outside
        outside = (times < start) | (times >= stop)
        joined = [np.concatenate([before[outside], new]) for before, new in arrays]
        order = np.argsort(joined[0], kind="stable")
        return SortResult(*(array[order] for array in joined), old.sampling_rate, old.n_units)
    first, last = np.searchsorted(times, [start, stop])
    late = last + int(np.searchsorted(times[last:], window.times.max(initial=stop), side="right"))
    middles = [np.concatenate([new, before[last:late]]) for before, new in arrays]
    order = np.argsort(middles[0], kind="stable")
    return SortResult(*(np.concatenate([before[:first], middle[order], before[late:]])
                        for (before, _), middle in zip(arrays, middles)), old.sampling_rate, old.n_units)
