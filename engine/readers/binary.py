"""Raw interleaved binary recordings (samples x channels), memory-mapped."""
from __future__ import annotations

import os

import numpy as np

from engine.errors import RecordingError
from engine.recording import Recording, default_positions

SUPPORTED_DTYPES = ("int16", "uint16", "int32", "float32", "float64")


def fitting_channel_counts(n_bytes: int, itemsize: int, limit: int = 1024) -> list[int]:
    n_items = n_bytes // itemsize
    return [c for c in range(1, limit + 1) if n_items % c == 0]


class BinaryRecording(Recording):
    def __init__(self, path, sampling_rate, n_channels, dtype="int16", offset=0, gain=1.0,
                 channel_positions=None):
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise RecordingError(self.path, "no such file")
        if sampling_rate is None or n_channels is None:
            raise RecordingError(self.path, "a raw binary recording needs its sampling rate and channel "
                                            "count (--sampling-rate HZ --n-channels N)")
        if str(dtype) not in SUPPORTED_DTYPES:
            raise RecordingError(self.path, f"unknown dtype '{dtype}' (use one of {', '.join(SUPPORTED_DTYPES)})")
        if sampling_rate <= 0 or n_channels <= 0:
            raise RecordingError(self.path, "sampling rate and channel count must be positive")
        self.dtype = np.dtype(dtype)
        size = os.path.getsize(self.path) - int(offset)
        frame = self.dtype.itemsize * int(n_channels)
        if size <= 0:
            raise RecordingError(self.path, "holds no samples after the header offset")
        if size % frame:
            fits = [c for c in fitting_channel_counts(size, self.dtype.itemsize) if c <= 512][-8:]
            raise RecordingError(
                self.path, f"size {size} bytes is not a whole number of frames of {n_channels} channels x "
                           f"{self.dtype.itemsize} bytes; channel counts that fit: {', '.join(map(str, fits))}")
        self.sampling_rate = float(sampling_rate)
        self.n_channels = int(n_channels)
        self.n_samples = size // frame
        self.gain = float(gain)
        self._map = np.memmap(self.path, dtype=self.dtype, mode="r", offset=int(offset),
                              shape=(self.n_samples, self.n_channels))
        self.channel_positions = (default_positions(self.n_channels) if channel_positions is None
                                  else np.asarray(channel_positions, dtype=float))

    def _read(self, start, stop, channels):
        data = np.asarray(self._map[start:stop][:, channels], dtype=np.float32)
        if self.gain != 1.0:
            data *= self.gain
        return data
