"""Sorting: the active-set encoder over the whole recording in chunks, on parallel threads.

Each chunk is encoded with a margin on both sides and only the codes of its
middle are kept, so the result does not depend on the chunk size and memory
is bounded by the chunk size whatever the recording's length.
"""
from __future__ import annotations

import os
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch

from engine.model.active_set import ActiveSetEncoder, cached_encoder, merge_spikes
from engine.model.autoencoder import ConvSparseAutoencoder
from engine.recording.base import Recording

MAX_WORKERS = 8  # threads sorting chunks at once
CHUNK_VALUES = 1 << 22  # samples x (channels + units) per chunk: bounds memory
MIN_WINDOW_CHUNK_FILTERS = 32
REFRACTORY_MS = 1.0


@dataclass
class SortResult:
    times: np.ndarray  # int64 sample of each spike's trough
    units: np.ndarray  # int64
    amplitudes: np.ndarray  # float32 code values
    sampling_rate: float
    n_units: int
    merges: list[list[int]] = field(default_factory=list)  # units that are one neuron (engine.sorting.same_neuron)

    def __len__(self) -> int:
        return len(self.times)

    def counts(self) -> np.ndarray:
        return np.bincount(self.units, minlength=self.n_units)

    def unit_times(self, unit: int) -> np.ndarray:
        return self.times[self.units == unit]


def trough_offsets(filters: np.ndarray) -> np.ndarray:
    """Tap of each filter's largest excursion on its largest channel: where its spike 'is'."""
    best_channel = np.abs(filters).max(axis=2).argmax(axis=1)
    return np.array([np.abs(f[c]).argmax() for f, c in zip(filters, best_channel)], dtype=np.int64)


DETECT_FRACTION = 0.5


def detection_thresholds(lam: float, n_units: int, min_amplitudes: np.ndarray | None = None,
                         fraction: float = DETECT_FRACTION) -> np.ndarray:
    """Code height a spike must reach: ``fraction`` of lambda, and each unit's amplitude floor.

    Pure noise gives (almost) no code above lambda's scale, a spike of a unit
    gives a code of about its amplitude times the filter norm minus lambda.
    The floors (engine.training.amplitude_floor) drop codes far below the unit's
    typical amplitude.
    """
    thresholds = np.full(n_units, fraction * lam, dtype=np.float32)
    return thresholds if min_amplitudes is None else np.maximum(thresholds, min_amplitudes).astype(np.float32)


def default_thresholds(model: ConvSparseAutoencoder, fraction: float = DETECT_FRACTION,
                       floors: bool = True) -> np.ndarray:
    return detection_thresholds(model.lam, model.n_units, model.min_amplitudes if floors else None, fraction)


def chunk_spikes(model: ConvSparseAutoencoder, traces: np.ndarray, thresholds: np.ndarray,
                 encoder: ActiveSetEncoder | None = None, key=None):
    """(code index, unit, amplitude) of the spikes above their unit's threshold in a (samples, channels)
    window (``key``: see ``ActiveSetEncoder.encode``)."""
    y = torch.from_numpy(np.ascontiguousarray(traces.T))[None].to(model.weight.device)
    encoder = encoder or ActiveSetEncoder(model)
    spikes = encoder.label(merge_spikes(encoder.encode(y, key=key), model.peak_distance))
    keep = spikes.value > thresholds[spikes.unit]
    return spikes.position[keep], spikes.unit[keep], spikes.value[keep]


def default_chunk(model: ConvSparseAutoencoder) -> int:
    """Codes per chunk of ``sort_recording`` (engine.distributed cuts a recording at the same boundaries)."""
    return int(np.clip(CHUNK_VALUES // (model.n_channels + model.n_units), 1 << 14, 1 << 19))


def sorting_threads() -> int:
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def window_chunk(model: ConvSparseAutoencoder, n_samples: int) -> int:
    """Codes per chunk for a short stretch that is wanted at once (the window on screen after a λ
    change): shared among the sorting threads, as one chunk it is solved on one. Chunks of at least
    ``MIN_WINDOW_CHUNK_FILTERS`` filter lengths keep the margins read twice a small share."""
    share = -(-n_samples // sorting_threads())
    return int(min(default_chunk(model), max(share, MIN_WINDOW_CHUNK_FILTERS * model.n_taps)))


def sort_recording(recording: Recording, model: ConvSparseAutoencoder, *, thresholds=None,
                   chunk: int | None = None, margin: int | None = None, start: int = 0,
                   stop: int | None = None, progress=None, keep_correlations: bool = False) -> SortResult:
    """Spikes of every unit between ``start`` and ``stop`` (samples).

    ``keep_correlations``: the model's encoder keeps each chunk's Hᵀy (the most recent, up to
    ``CORRELATIONS_KEPT_BYTES``), so that sorting the same stretch again with another lambda or floors
    skips it (the window on screen; for a whole recording the kept chunks would only take memory)."""
    taps = model.n_taps
    if chunk is None:
        chunk = default_chunk(model)
    stop = recording.n_samples if stop is None else min(stop, recording.n_samples)
    n_codes_end = stop - taps + 1
    margin = 4 * taps if margin is None else margin
    thresholds = default_thresholds(model) if thresholds is None else np.broadcast_to(
        np.asarray(thresholds, dtype=np.float32), (model.n_units,))
    offsets = trough_offsets(model.filters())
    encoder = cached_encoder(model)

    def sort_chunk(lo: int):
        hi = min(lo + chunk, n_codes_end)
        read_lo = max(0, lo - margin)
        read_hi = min(recording.n_samples, hi + margin + taps - 1)
        # the recording by weak reference: the key neither keeps it alive nor matches a later one at its id
        key = (weakref.ref(recording), read_lo, read_hi) if keep_correlations else None
        idx, unit, amp = chunk_spikes(model, recording.traces(read_lo, read_hi), thresholds, encoder, key)
        idx = idx + read_lo
        keep = (idx >= lo) & (idx < hi)
        return idx[keep] + offsets[unit[keep]], unit[keep], amp[keep], hi - lo

    times, units, amps = [], [], []
    # chunks are independent; torch, numpy and the sparse solver release the GIL for most of their work
    with ThreadPoolExecutor(sorting_threads()) as pool:
        for chunk_times, chunk_units, chunk_amps, n in pool.map(sort_chunk, range(start, max(start, n_codes_end),
                                                                                    chunk)):
            times.append(chunk_times)
            units.append(chunk_units)
            amps.append(chunk_amps)
            if progress is not None:
                progress(n)
    if not times:
        empty = np.zeros(0, dtype=np.int64)
        return SortResult(empty, empty, np.zeros(0, np.float32), recording.sampling_rate, model.n_units)
    times, units, amps = np.concatenate(times), np.concatenate(units), np.concatenate(amps)
    order = np.lexsort((units, times))
    return SortResult(times[order].astype(np.int64), units[order], amps[order],
                      recording.sampling_rate, model.n_units)
