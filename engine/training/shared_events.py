"""Each filter learns from the events it alone codes.

When a filter fits its unit's spikes imperfectly (a large unit's amplitude or jitter), the encoder
adds a small code on another filter over the same channels at the same instant to mop up the rest.
The least-squares filter update then fits that second filter to the first unit's residual. For a
unit of a few spikes a batch, the residuals of a busy neighbour soon outweigh its own spikes: its
filter turns into a residual catcher, codes hundreds of events a batch, and the unit is lost (on a
generated 32-channel probe, two units of 4x and 7.6x the noise firing at 0.5-2.4 Hz went this way
within two batches).

So in training, of two codes of different units on shared channels whose troughs lie within a
fraction of a millisecond of each other, only the larger one is fitted; the reconstruction of that
event is left to its unit. Two neurons firing that close together on the same channels are rare
(a 30 Hz neighbour costs a unit about 1 % of its spikes, and only for the update), so no test is
needed here; the whole-recording sort decides the same question by one (engine.sorting.double_codes).
"""
from __future__ import annotations

import numpy as np

from engine.model.active_set import SparseCodes, spike_peaks
from engine.sorting.double_codes import coincidence_window, coincident_pairs


def shared_channels(support: np.ndarray | None, n_units: int) -> np.ndarray:
    """(units, units) bool: whether two units' filters share a channel (all do without a support)."""
    if support is None:
        return np.ones((n_units, n_units), dtype=bool)
    support = np.asarray(support, dtype=np.int64)
    return (support @ support.T) > 0


def drop_shared_events(codes: SparseCodes, troughs: np.ndarray, overlap: np.ndarray, distance: int,
                       sampling_rate: float) -> SparseCodes:
    """``codes`` without the smaller of every two spikes of different, overlapping units whose troughs
    (code position + each unit's ``troughs`` offset) lie within ``double_codes.COINCIDENCE_MS``. A spike is a group of
    same-unit codes closer than ``distance`` (engine.model.active_set.spike_groups), valued by its sum."""
    if len(codes) < 2:
        return codes
    groups, peak, value = spike_peaks(codes, distance)
    unit = codes.unit[peak]
    window = coincidence_window(sampling_rate)
    span = int(codes.position.max()) + int(troughs.max()) + 2 * window + 1  # segments never meet
    time = codes.segment[peak].astype(np.int64) * span + codes.position[peak] + troughs[unit]
    order = np.argsort(time, kind="stable")
    a, b = coincident_pairs(time[order], window)
    a, b = order[a], order[b]
    clash = (unit[a] != unit[b]) & overlap[unit[a], unit[b]]
    a, b = a[clash], b[clash]
    smaller = np.where(value[a] < value[b], a, b)
    keep = ~np.isin(groups, smaller)
    return SparseCodes(codes.segment[keep], codes.position[keep], codes.unit[keep], codes.value[keep])
