"""Filter error and spike-train comparison against ground truth."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

DEFAULT_DELTA_MS = 0.4


def best_shifts(h: np.ndarray, others: np.ndarray, max_shift: int) -> tuple[np.ndarray, np.ndarray]:
    """``best_shift`` of ``h`` against each of ``others`` (n, channels, taps) at once: (values, shifts)."""
    h = np.asarray(h, dtype=np.float64)
    others = np.asarray(others, dtype=np.float64)
    taps = max(h.shape[-1], others.shape[-1])
    h = np.pad(h, ((0, 0), (0, taps - h.shape[-1])))
    others = np.pad(others, ((0, 0), (0, 0), (0, taps - others.shape[-1])))
    norms = np.linalg.norm(h) * np.linalg.norm(others.reshape(len(others), -1), axis=1)
    padded = np.pad(h, ((0, 0), (max_shift, max_shift)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, taps, axis=1)  # [c, j] = h shifted by j - max_shift
    values = np.einsum("cjt,nct->nj", windows, others)
    best = np.argmax(np.abs(values), axis=1)
    picked = values[np.arange(len(others)), best]
    nonzero = norms > 0
    correlation = np.where(nonzero, np.clip(picked / np.where(nonzero, norms, 1.0), -1.0, 1.0), 0.0)
    return correlation, np.where(nonzero, best - max_shift, 0)


def best_shift(h: np.ndarray, g: np.ndarray, max_shift: int) -> tuple[float, int]:
    """<h shifted by s, g> / (|h||g|) at the shift s (|s| <= max_shift) where its size is largest: (value, s).

    h, g: (channels, taps); the shorter is zero-padded to the longer. A
    positive s means h's features come s taps later than g's.
    """
    values, shifts = best_shifts(h, np.asarray(g)[None], max_shift)
    return float(values[0]), int(shifts[0])


def filter_error(h: np.ndarray, g: np.ndarray, max_shift: int | None = None) -> float:
    """sqrt(1 - <h,g>^2 / (|h|^2 |g|^2)), best over small time shifts.

    h, g: (channels, taps) or (taps,). ``max_shift`` defaults to a quarter of
    the longer filter.
    """
    h = np.atleast_2d(h)
    g = np.atleast_2d(g)
    if max_shift is None:
        max_shift = max(h.shape[-1], g.shape[-1]) // 4
    c, _ = best_shift(h, g, max_shift)
    return float(np.sqrt(max(0.0, 1.0 - c * c)))


def filter_error_matrix(learned: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(n_learned, n_truth) matrix of filter errors."""
    return np.array([[filter_error(h, g) for g in truth] for h in learned])


def match_filters(learned: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Assignment minimising the total filter error.

    Returns (learned index for each true unit, or -1 if none; error for each
    true unit, 1.0 where unmatched).
    """
    errors = filter_error_matrix(learned, truth)
    rows, cols = linear_sum_assignment(errors)
    assigned = np.full(len(truth), -1)
    per_truth = np.ones(len(truth))
    assigned[cols] = rows
    per_truth[cols] = errors[rows, cols]
    return assigned, per_truth


def count_matches(truth_times: np.ndarray, sorted_times: np.ndarray, delta: int) -> int:
    """Number of one-to-one pairs of spikes closer than ``delta`` samples."""
    a = np.sort(np.asarray(truth_times))
    b = np.sort(np.asarray(sorted_times))
    i = j = matched = 0
    while i < len(a) and j < len(b):
        d = b[j] - a[i]
        if abs(d) <= delta:
            matched += 1
            i += 1
            j += 1
        elif d < 0:
            j += 1
        else:
            i += 1
    return matched


@dataclass
class UnitScore:
    truth_unit: int
    sorted_unit: int  # -1 if no sorted unit was matched
    n_truth: int
    n_sorted: int
    true_positives: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.n_sorted if self.n_sorted else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.n_truth if self.n_truth else 0.0

    @property
    def accuracy(self) -> float:
        fn = self.n_truth - self.true_positives
        fp = self.n_sorted - self.true_positives
        denominator = self.true_positives + fn + fp
        return self.true_positives / denominator if denominator else 0.0


def compare_spike_trains(truth_times, truth_units, sorted_times, sorted_units, sampling_rate: float,
                         delta_ms: float = DEFAULT_DELTA_MS) -> list[UnitScore]:
    """Match units by the assignment with most agreeing spikes, then score each true unit."""
    delta = int(round(delta_ms * sampling_rate / 1000.0))
    truth_ids = np.unique(truth_units)
    sorted_ids = np.unique(sorted_units)
    truth_trains = {u: truth_times[truth_units == u] for u in truth_ids}
    sorted_trains = {u: sorted_times[sorted_units == u] for u in sorted_ids}
    matches = np.zeros((len(truth_ids), len(sorted_ids)), dtype=np.int64)
    agreement = np.zeros_like(matches, dtype=float)
    for i, t in enumerate(truth_ids):
        for j, s in enumerate(sorted_ids):
            m = count_matches(truth_trains[t], sorted_trains[s], delta)
            matches[i, j] = m
            agreement[i, j] = m / (len(truth_trains[t]) + len(sorted_trains[s]) - m)
    scores = []
    rows, cols = linear_sum_assignment(-agreement) if len(sorted_ids) else ([], [])
    pairs = dict(zip(rows, cols))
    for i, t in enumerate(truth_ids):
        j = pairs.get(i)
        if j is None or matches[i, j] == 0:
            scores.append(UnitScore(int(t), -1, len(truth_trains[t]), 0, 0))
        else:
            s = sorted_ids[j]
            scores.append(UnitScore(int(t), int(s), len(truth_trains[t]), len(sorted_trains[s]),
                                    int(matches[i, j])))
    return scores
