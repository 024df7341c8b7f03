"""Each unit's own channels, and its spikes' waveforms read there only, in bounded memory.

A spike's waveform lives on the channels around its peak channel; elsewhere its snippet is noise. On a
384-channel probe, reading every channel of every sampled spike (as curation did) costs about
units x spikes x taps x 384 values, and comparing every pair of units' mean waveforms over the whole
probe about units^2 x taps x 384: 2.8 GB for 100 units. Here:

- ``cluster_channels``: a unit's channels are the contacts within ``CHANNEL_RADIUS_UM`` of its peak
  channel (at most ``MAX_CHANNELS``, the nearest), the peak channel found from a few of its spikes'
  troughs (a (units, 2 x PEAK_TAPS + 1, channels) sum, not their snippets);
- ``stream``: the sampled spikes are read in blocks of the recording (at most ``READ_BLOCK_VALUES``
  samples x channels each, spikes far apart read apart), and each unit's snippets are cut on its own
  channels only;
- ``overlapping_pairs``: pairwise comparisons only for units whose channels overlap.

On a probe where every channel is near every other (a tetrode, a single contact, a short line), a unit's
channels are all channels and every result equals the whole-probe one.
"""
from __future__ import annotations

import numpy as np

from engine.curation.features import READ_BLOCK_VALUES, best_channels, read_snippets, snippet_window

CHANNEL_RADIUS_UM = 100.0
MAX_CHANNELS = 32
MERGE_GAP_SAMPLES = 4096  # sampled spikes further apart than this are read apart
PEAK_SPIKES = 50  # spikes per unit whose troughs give its peak channel
PEAK_TAPS = 2  # taps either side of the trough looked at for the peak channel


def nearby_channels(positions: np.ndarray, channel: int, radius_um: float = CHANNEL_RADIUS_UM,
                    limit: int = MAX_CHANNELS) -> np.ndarray:
    """The channels within ``radius_um`` of ``channel`` (itself included; the ``limit`` nearest), ascending."""
    positions = np.asarray(positions, dtype=float)
    distance = np.linalg.norm(positions - positions[channel], axis=1)
    near = np.flatnonzero(distance <= radius_um)
    if len(near) > limit:
        near = near[np.argsort(distance[near], kind="stable")[:limit]]
    return np.sort(near)


def _spans(sorted_times: np.ndarray, before: int, after: int, max_samples: int, gap: int) -> list[tuple[int, int]]:
    """[i, j) runs of sorted spikes read together: no gap over ``gap`` and at most ``max_samples`` long."""
    n = len(sorted_times)
    breaks = np.flatnonzero(np.diff(sorted_times) > gap) + 1
    out, i = [], 0
    while i < n:
        limit = sorted_times[i] + max(1, max_samples - before - after)
        j = max(i + 1, int(np.searchsorted(sorted_times, limit, side="right")))
        k = int(np.searchsorted(breaks, i, side="right"))
        if k < len(breaks):
            j = min(j, int(breaks[k]))
        out.append((i, j))
        i = j
    return out


def stream(recording, times, samples: dict, channels: dict, window=None, progress=None,
           budget: int = READ_BLOCK_VALUES):
    """Yield (unit, rows, snippets): ``snippets`` (n, taps, len(channels[unit])) of the spikes
    ``samples[unit][rows]`` (indices into ``times``), cut on the unit's channels only.

    Spikes too near an end of the recording are never yielded (read_snippets gives zeros for them).
    ``window``: (taps before, taps after) the trough, by default ``snippet_window``.
    """
    before, after = snippet_window(recording.sampling_rate) if window is None else window
    units = [u for u in samples if len(samples[u])]
    if not units:
        return
    unit_of = np.concatenate([np.full(len(samples[u]), k) for k, u in enumerate(units)])
    row_of = np.concatenate([np.arange(len(samples[u])) for u in units])
    spike_times = np.asarray(times, dtype=np.int64)[np.concatenate([np.asarray(samples[u]) for u in units])]
    inside = (spike_times - before >= 0) & (spike_times + after <= recording.n_samples)
    order = np.flatnonzero(inside)[np.argsort(spike_times[inside], kind="stable")]
    unit_of, row_of, spike_times = unit_of[order], row_of[order], spike_times[order]
    unit_channels = [np.asarray(channels[u], dtype=np.int64) for u in units]
    widest = max(len(c) for c in unit_channels)
    max_samples = max(before + after + 1, budget // max(1, min(recording.n_channels, widest * len(units))))
    offsets = np.arange(-before, after)
    spans = _spans(spike_times, before, after, max_samples, MERGE_GAP_SAMPLES)
    for n_done, (i, j) in enumerate(spans):
        lo, hi = int(spike_times[i]) - before, int(spike_times[j - 1]) + after
        present = np.unique(unit_of[i:j])
        needed = np.unique(np.concatenate([unit_channels[k] for k in present]))
        block = recording.traces(lo, hi, needed)
        for k in present:
            mine = np.flatnonzero(unit_of[i:j] == k) + i
            columns = np.searchsorted(needed, unit_channels[k])
            rows = (spike_times[mine] - lo)[:, None] + offsets[None, :]
            yield units[k], row_of[mine], block[rows[:, :, None], columns[None, None, :]]
        if progress is not None:
            progress((n_done + 1) / len(spans))


def cluster_means(recording, times, samples: dict, channels: dict, progress=None) -> dict:
    """unit -> (taps, channels) mean snippet of its sampled spikes on its channels (zeros for spikes
    too near an end, counted, as read_snippets gives them)."""
    before, after = snippet_window(recording.sampling_rate)
    sums = {u: np.zeros((before + after, len(channels[u])), dtype=np.float64) for u in samples if len(samples[u])}
    for unit, _, snippets in stream(recording, times, samples, channels, progress=progress):
        sums[unit] += snippets.sum(axis=0, dtype=np.float64)
    return {u: (s / len(samples[u])).astype(np.float32) for u, s in sums.items()}


def cluster_snippets(recording, times, samples: dict, channels: dict, progress=None) -> dict:
    """unit -> (n, taps, channels) snippets of its sampled spikes on the given channels."""
    before, after = snippet_window(recording.sampling_rate)
    out = {u: np.zeros((len(samples[u]), before + after, len(channels[u])), dtype=np.float32) for u in samples}
    for unit, rows, snippets in stream(recording, times, samples, channels, progress=progress):
        out[unit][rows] = snippets
    return out


def peak_channels(recording, times, samples: dict, progress=None) -> dict:
    """unit -> the channel where the mean of (up to PEAK_SPIKES of) its spikes' troughs is largest."""
    n = recording.n_channels
    if n == 1:
        return {u: 0 for u in samples}
    few = {u: np.asarray(s)[np.linspace(0, len(s) - 1, min(len(s), PEAK_SPIKES)).astype(np.int64)]
           for u, s in samples.items() if len(s)}
    every = {u: np.arange(n) for u in few}
    sums = {u: np.zeros((2 * PEAK_TAPS + 1, n)) for u in few}
    for unit, _, snippets in stream(recording, times, few, every, window=(PEAK_TAPS, PEAK_TAPS + 1),
                                    progress=progress):
        sums[unit] += snippets.sum(axis=0, dtype=np.float64)
    return {u: int(np.abs(sums[u]).max(axis=0).argmax()) if u in sums else 0 for u in samples}


def cluster_channels(recording, times, samples: dict, progress=None) -> dict:
    """unit -> its channels (ascending): those near its peak channel on the probe."""
    peaks = peak_channels(recording, times, samples, progress)
    positions = recording.channel_positions
    return {u: nearby_channels(positions, p) for u, p in peaks.items()}


def overlapping_pairs(channels: dict) -> list[tuple[int, int]]:
    """The (a, b) pairs of units, a listed before b, that share at least one channel."""
    units = list(channels)
    rank = {u: k for k, u in enumerate(units)}
    on_channel: dict[int, list[int]] = {}
    for u in units:
        for ch in np.asarray(channels[u]).tolist():
            on_channel.setdefault(ch, []).append(u)
    pairs = set()
    for members in on_channel.values():
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                pairs.add((a, b) if rank[a] < rank[b] else (b, a))
    return sorted(pairs, key=lambda p: (rank[p[0]], rank[p[1]]))


def on_channels(mean: np.ndarray, own: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """A (taps, own channels) mean spread onto ``wanted`` channels (zeros where it was not read)."""
    own, wanted = np.asarray(own), np.asarray(wanted)
    out = np.zeros((mean.shape[0], len(wanted)), dtype=np.float64)
    where = np.searchsorted(own, wanted)
    hit = np.zeros(len(wanted), dtype=bool)
    valid = where < len(own)
    hit[valid] = own[where[valid]] == wanted[valid]
    out[:, hit] = mean[:, where[hit]]
    return out


def global_best_channels(mean: np.ndarray, own: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` channels (probe indices) where a unit's mean on its own channels is largest."""
    return np.asarray(own)[best_channels(mean, count)]


def pair_snippets(recording, times, samples: dict, requests: list, progress=None,
                  budget: int = 4 * READ_BLOCK_VALUES):
    """Yield (request index, snippets of a, snippets of b) for each (a, b, channels) request, the two
    units' sampled spikes read on those channels; requests are read in batches holding at most
    ``budget`` values, so memory does not grow with the number of units."""
    before, after = snippet_window(recording.sampling_rate)
    taps = before + after
    batch: list[int] = []
    needed: dict[int, set] = {}

    def size(need: dict) -> int:
        return sum(len(samples[u]) * taps * len(c) for u, c in need.items())

    def flush():
        chans = {u: np.array(sorted(c), dtype=np.int64) for u, c in needed.items()}
        snips = cluster_snippets(recording, times, {u: samples[u] for u in chans}, chans)
        for r in batch:
            a, b, wanted = requests[r]
            yield r, snips[a][..., np.searchsorted(chans[a], wanted)], snips[b][..., np.searchsorted(chans[b], wanted)]

    done = 0
    for r, (a, b, wanted) in enumerate(requests):
        trial = {u: set(c) for u, c in needed.items()}
        for u in (a, b):
            trial.setdefault(u, set()).update(np.asarray(wanted).tolist())
        if batch and size(trial) > budget:
            yield from flush()
            done += len(batch)
            if progress is not None:
                progress(done / len(requests))
            batch, trial = [], {u: set(np.asarray(wanted).tolist()) for u in (a, b)}
        batch.append(r)
        needed = trial
    if batch:
        yield from flush()
        if progress is not None:
            progress(1.0)


def local_snippets(recording, times) -> tuple[np.ndarray, np.ndarray]:
    """(snippets (spikes, taps, channels), channels): the spikes' snippets on the channels near the peak
    channel of their mean (one unit's spikes)."""
    channels = cluster_channels(recording, times, {0: np.arange(len(times))})[0]
    return read_snippets(recording, times, channels), channels
