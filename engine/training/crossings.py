"""Threshold crossings gathered over a long stretch of recording, read piece by piece, in bounded memory.

A unit firing at 0.5 Hz leaves 20 spikes in the 40 s of a training buffer and 150 in five minutes; a
cluster of 20 cannot be told from noise and one of 150 can. So discovery reads more of the recording
than training keeps, one piece at a time, and keeps at most ``max_snippets`` crossings, the budget
shared evenly between the channels they peak on: a channel with few crossings keeps them all, so a
rare unit on a quiet channel keeps its spikes when busy channels are thinned.
"""
from __future__ import annotations

import numpy as np
from scipy.signal import find_peaks


def detect_crossings(traces: np.ndarray, sigma: np.ndarray, threshold: float, min_distance: int) -> np.ndarray:
    """Samples where the most negative channel (in units of its noise) peaks below -threshold."""
    normalized = traces / np.maximum(sigma, 1e-12)[None, :]
    depth = -normalized.min(axis=1)
    peaks, _ = find_peaks(depth, height=threshold, distance=max(1, min_distance))
    return peaks


def extract_snippets(traces: np.ndarray, peaks: np.ndarray, n_taps: int, pre: int) -> np.ndarray:
    """(n, channels, taps) windows starting ``pre`` samples before each peak."""
    starts = peaks - pre
    keep = (starts >= 0) & (starts + n_taps <= len(traces))
    starts = starts[keep]
    index = starts[:, None] + np.arange(n_taps)[None, :]
    return np.transpose(traces[index], (0, 2, 1))  # (n, channels, taps)


def even_share(channel: np.ndarray, priority: np.ndarray, total: int) -> np.ndarray:
    """Indices of at most ``total`` crossings, shared evenly between the channels they peak on (water-
    filling: what quiet channels leave goes to the busy ones), the lowest ``priority`` kept in each."""
    groups = [np.flatnonzero(channel == c) for c in np.unique(channel)]
    sizes = np.array([len(g) for g in groups])
    quota = total / max(len(groups), 1)
    for _ in range(len(groups)):
        small = sizes <= quota
        if small.all() or not small.any():
            break
        quota = (total - sizes[small].sum()) / (~small).sum()
    kept = [g if len(g) <= quota else g[np.argsort(priority[g])[:int(quota)]] for g in groups]
    return np.sort(np.concatenate(kept)) if kept else np.zeros(0, dtype=np.int64)


class CrossingPool:
    """Snippets of the crossings seen so far, at most ``max_snippets``, evenly shared between channels.

    Each crossing gets a random priority when it is seen and a channel keeps its lowest ones, so the
    pool after any number of pieces is what ``even_share`` would keep of all of them at once: a
    channel's quota only shrinks as more crossings arrive.
    """

    def __init__(self, sigma: np.ndarray, n_taps: int, pre: int, threshold: float, max_snippets: int, seed: int = 0):
        self.sigma, self.n_taps, self.pre = sigma, n_taps, pre
        self.threshold, self.max_snippets = threshold, max_snippets
        self._rng = np.random.default_rng(seed)
        # the kept snippets stay where they were written, and a new one takes a place a dropped one left:
        # gathering the survivors anew for every piece copied the whole pool (460 MB on 128 channels) 29
        # times in npx128-30k's discovery, 9 of its 16 s
        self._store = np.zeros((0, len(sigma), n_taps), dtype=np.float32)
        self._slot = np.zeros(0, dtype=np.int64)  # each kept crossing's place in the store, in arrival order
        self._channel = np.zeros(0, dtype=np.int64)
        self._priority = np.zeros(0)
        self.n_crossings = 0

    @property
    def snippets(self) -> np.ndarray:
        """(n, channels, taps) snippets of the kept crossings, in the order they were seen."""
        return self._store[self._slot]

    def add(self, traces: np.ndarray) -> None:
        """Crossings of one (samples, channels) piece."""
        peaks = detect_crossings(traces, self.sigma, self.threshold, min_distance=max(1, self.n_taps // 3))
        peaks = peaks[(peaks >= self.pre) & (peaks - self.pre + self.n_taps <= len(traces))]
        if not len(peaks):
            return
        self.n_crossings += len(peaks)
        n_old = len(self._channel)
        channel = np.concatenate([self._channel, (traces[peaks] / np.maximum(self.sigma, 1e-12)).argmin(axis=1)])
        priority = np.concatenate([self._priority, self._rng.random(len(peaks))])
        keep = np.arange(len(channel))
        if len(keep) > self.max_snippets:
            keep = even_share(channel, priority, self.max_snippets)  # sorted: the old ones first
        old, new = keep[keep < n_old], keep[keep >= n_old] - n_old
        free = np.setdiff1d(np.arange(max(len(self._store), len(keep))), self._slot[old])[:len(new)]
        if len(self._store) < len(keep):
            grown = np.zeros((min(self.max_snippets, max(len(keep), 2 * len(self._store))),) + self._store.shape[1:],
                             dtype=np.float32)
            grown[:len(self._store)] = self._store
            self._store = grown
        self._store[free] = extract_snippets(traces, peaks[new], self.n_taps, self.pre)
        self._slot = np.concatenate([self._slot[old], free])
        self._channel, self._priority = channel[keep], priority[keep]
