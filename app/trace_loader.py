"""Reads the visible stretch of traces off the GUI thread, reduced for display."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PyQt6.QtCore import pyqtSignal, pyqtSlot

from app.worker import EngineWorker
from app.workers import ModelCache, ModelSpec
from engine.recording.base import Recording

MAX_OVERLAY_SAMPLES = 400_000  # the reconstruction needs the encoder: skip it on long windows


def minmax_decimate(data: np.ndarray, start: int, sampling_rate: float, pixels: int):
    """(times s, values) with at most 2 points per pixel: each bin's min and max, in order.

    data: (samples, channels). Keeps every spike's extreme visible, unlike striding.
    """
    n = len(data)
    if n <= 2 * pixels:
        return (start + np.arange(n)) / sampling_rate, data
    size = int(np.ceil(n / pixels))
    bins = n // size
    body = data[:bins * size].reshape(bins, size, -1)
    values = np.empty((2 * bins, data.shape[1]), dtype=data.dtype)
    values[0::2] = body.min(axis=1)
    values[1::2] = body.max(axis=1)
    times = start + np.repeat(np.arange(bins) * size, 2) + np.tile([0, size // 2], bins)
    return times / sampling_rate, values


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
            raw = rec.traces(request.start, request.stop)
            reconstruction = None
            if request.overlay is not None and len(raw) <= MAX_OVERLAY_SAMPLES:
                reconstruction = self._reconstruct(request.overlay, raw, rec.sampling_rate)
            if self.is_stale(request.request_id):
                return
            times, raw_points = minmax_decimate(raw, request.start, rec.sampling_rate, request.pixels)
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
