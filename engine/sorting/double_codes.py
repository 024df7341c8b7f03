"""One spike coded by two filters: the smaller unit's share of it removed.

When a filter fits a unit's spikes imperfectly (a spike between two samples, a waveform the
dictionary holds in two atoms), the encoder adds a second code on another, similar filter at
the same instant, and that unit gains a false spike at every spike of the first. Independent
neurons seldom fire within a fraction of a millisecond of each other: two units whose codes
coincide far more often than their rates explain are coding the same events. For each such
pair, the unit with the smaller code in most of the coincidences (the guest) loses its
coincident codes; the host keeps the spike. A real synchronous spike of the guest is lost
with them, a small price beside a false spike at every spike of the host.

The decision is a Poisson test of each pair's coincidences against independent firing,
corrected for the number of pairs, so it needs no threshold fitted to a recording.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import poisson

from engine.sorting.sorter import SortResult

COINCIDENCE_MS = 0.2  # codes of one event lie within a few samples of each other
FALSE_ALARM = 1e-3  # chance, over all pairs of one sort, of removing codes of independent units


def coincidence_window(sampling_rate: float) -> int:
    """``COINCIDENCE_MS`` in samples (at least one)."""
    return max(1, int(round(COINCIDENCE_MS * 1e-3 * sampling_rate)))


def coincident_pairs(times: np.ndarray, window: int):
    """Indices (earlier, later) of the spikes within ``window`` samples of each other; times sorted."""
    firsts, seconds = [], []
    step = 1
    while step < len(times):
        near = np.flatnonzero(times[step:] - times[:-step] <= window)
        if len(near) == 0:
            break
        firsts.append(near)
        seconds.append(near + step)
        step += 1
    if not firsts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    return np.concatenate(firsts), np.concatenate(seconds)


def double_coded_pairs(result: SortResult, n_samples: int, window: int,
                       false_alarm: float = FALSE_ALARM) -> list[tuple[int, int]]:
    """(host, guest) of every pair of units whose codes coincide beyond chance."""
    return _beyond_chance(result, *coincident_pairs(result.times, window), n_samples, window, false_alarm)


def _beyond_chance(result: SortResult, first: np.ndarray, second: np.ndarray, n_samples: int, window: int,
                   false_alarm: float = FALSE_ALARM) -> list[tuple[int, int]]:
    """``double_coded_pairs`` from the coincident spikes ``coincident_pairs`` found."""
    a, b = result.units[first], result.units[second]
    other = a != b
    first, second, a, b = first[other], second[other], a[other], b[other]
    k = result.n_units
    low, high = np.minimum(a, b), np.maximum(a, b)
    observed = np.bincount(low * k + high, minlength=k * k).reshape(k, k)
    low_larger = np.where(a == low, result.amplitudes[first] >= result.amplitudes[second],
                          result.amplitudes[second] > result.amplitudes[first])
    low_hosts = np.bincount(low * k + high, weights=low_larger, minlength=k * k).reshape(k, k)
    counts = result.counts().astype(np.float64)
    expected = np.outer(counts, counts) * (2 * window + 1) / max(1, n_samples)
    n_pairs = max(1, k * (k - 1) // 2)
    pairs = []
    for i, j in zip(*np.nonzero(observed)):
        if poisson.sf(observed[i, j] - 1, expected[i, j]) * n_pairs < false_alarm:
            pairs.append((i, j) if 2 * low_hosts[i, j] >= observed[i, j] else (j, i))
    return [(int(h), int(g)) for h, g in pairs]


def drop_double_codes(result: SortResult, n_samples: int) -> SortResult:
    """``result`` without the guest's codes at the events of its host (see the module's doc)."""
    if len(result) == 0:
        return result
    window = coincidence_window(result.sampling_rate)
    first, second = coincident_pairs(result.times, window)
    pairs = _beyond_chance(result, first, second, n_samples, window)
    if not pairs:
        return result
    guest_of = np.zeros((result.n_units, result.n_units), dtype=bool)
    for host, guest in pairs:
        guest_of[host, guest] = True
    a, b = result.units[first], result.units[second]
    drop = np.zeros(len(result), dtype=bool)
    drop[second[guest_of[a, b]]] = True
    drop[first[guest_of[b, a]]] = True
    keep = ~drop
    return SortResult(result.times[keep], result.units[keep], result.amplitudes[keep], result.sampling_rate,
                      result.n_units)
