"""Reads the visible stretch of traces off the GUI thread, reduced for display.

The stretch is read block by block, each block reduced at once to its pixel bins' minima and maxima,
so memory stays bounded by the block and the pixel count, whatever the span shown: a zoom-out over an
hour of 384 channels reads the hour but never holds more than one block of it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from PyQt6.QtCore import pyqtSignal, pyqtSlot

from app.worker import EngineWorker
from app.workers import ModelCache, ModelSpec
from engine.recording.base import Recording

MAX_OVERLAY_SAMPLES = 400_000  # the reconstruction needs the encoder: skip it on long windows
MAX_OVERLAY_VALUES = 1 << 22  # and on windows of many channels: the window is held whole (16 MB of float32)
BLOCK_VALUES = 1 << 21  # samples x channels read at once: 8 MB of float32


def decimate_blocks(read: Callable[[int, int], np.ndarray], start: int, stop: int, n_channels: int, pixels: int,
                    block_values: int = BLOCK_VALUES, check: Callable[[], None] | None = None):
    """(sample of each point, values) of samples ``start:stop`` with at most 2 points per pixel: each
    bin's min and max, in order. Keeps every spike's extreme visible, unlike striding.

    ``read(a, b)`` returns samples a:b as (samples, channels); it is called on blocks of about
    ``block_values`` values, so at most one block is held at a time. ``check`` runs between blocks (it
    raises to cancel a stale request).
    """
    n = max(0, stop - start)
    if n <= 2 * pixels:
        return start + np.arange(n), read(start, start + n)
    edges = start + (np.arange(pixels + 1) * n) // pixels  # bin b holds samples edges[b]:edges[b + 1]
    low = np.full((pixels, n_channels), np.inf, dtype=np.float32)
    high = np.full((pixels, n_channels), -np.inf, dtype=np.float32)
    block = max(1, block_values // max(1, n_channels))
    for first_sample in range(start, stop, block):
        if check is not None:
            check()
        last_sample = min(stop, first_sample + block)
        data = read(first_sample, last_sample)
        first = np.searchsorted(edges, first_sample, side="right") - 1
        last = np.searchsorted(edges, last_sample - 1, side="right")
        starts = np.maximum(edges[first:last], first_sample) - first_sample
        np.minimum(low[first:last], np.minimum.reduceat(data, starts, axis=0), out=low[first:last])
        np.maximum(high[first:last], np.maximum.reduceat(data, starts, axis=0), out=high[first:last])
    values = np.empty((2 * pixels, n_channels), dtype=np.float32)
    values[0::2], values[1::2] = low, high
    samples = np.repeat(edges[:-1], 2)
    samples[1::2] += np.diff(edges) // 2
    return samples, values


def minmax_decimate(data: np.ndarray, start: int, sampling_rate: float, pixels: int):
    """(times s, values) of an array already in memory (data: samples x channels), reduced as ``decimate_blocks``."""
    samples, values = decimate_blocks(lambda a, b: data[a - start:b - start], start, start + len(data),
                                      data.shape[1], pixels)
    return samples / sampling_rate, values


@dataclass(frozen=True)
class TraceRequest:
    request_id: int
    recording: Recording
    start: int
    stop: int
    pixels: int
    overlay: ModelSpec | None = None  # reconstruction and residual wanted


@dataclass
class TraceWindow:
    request_id: int
    start: int
    stop: int
    times: np.ndarray  # seconds, one per point
    raw: np.ndarray  # (points, channels)
    reconstruction: np.ndarray | None = None
    residual: np.ndarray | None = None


class TraceLoader(EngineWorker):
    """Its generation is the newest request id: older requests are dropped unread."""

    loaded = pyqtSignal(object)  # TraceWindow

    def __init__(self):
        super().__init__()
        self._models = ModelCache()

    @pyqtSlot(object)
    def load(self, request: TraceRequest) -> None:
        if self.is_stale(request.request_id):
            return
        with self.guarded():
            rec = request.recording
            start, stop = max(0, request.start), min(request.stop, rec.n_samples)
            reconstruction = None
            n = stop - start
            if request.overlay is not None and n <= MAX_OVERLAY_SAMPLES and n * rec.n_channels <= MAX_OVERLAY_VALUES:
                raw = rec.traces(start, stop)
                reconstruction = self._reconstruct(request.overlay, raw, rec.sampling_rate)
                times, raw_points = minmax_decimate(raw, start, rec.sampling_rate, request.pixels)
            else:  # block by block: memory bounded whatever the span
                samples, raw_points = decimate_blocks(rec.traces, start, stop, rec.n_channels, request.pixels,
                                                      check=lambda: self.raise_if_stale(request.request_id))
                times = samples / rec.sampling_rate
            if self.is_stale(request.request_id):
                return
            window = TraceWindow(request.request_id, request.start, request.stop, times, raw_points)
            if reconstruction is not None:
                _, window.reconstruction = minmax_decimate(reconstruction, request.start, rec.sampling_rate,
                                                           request.pixels)
                _, window.residual = minmax_decimate(raw - reconstruction, request.start, rec.sampling_rate,
                                                     request.pixels)
            self.loaded.emit(window)

    @torch.no_grad()
    def _reconstruct(self, spec: ModelSpec, raw: np.ndarray, sampling_rate: float) -> np.ndarray:
        model = self._models.get(spec, sampling_rate)
        if len(raw) < model.n_taps:
            return np.zeros_like(raw)
        y = torch.from_numpy(np.ascontiguousarray(raw.T))[None].to(model.weight.device)
        return model.decode(model.encode(y))[0].cpu().numpy().T
