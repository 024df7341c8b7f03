"""Raw interleaved binary recordings (samples x channels), memory-mapped window by window.

Each read maps only the requested rows and unmaps them afterwards: a mapping
of the whole file would keep every page ever read resident (and counted in
the process's memory) until the file is closed, which for a 100 GB file is
not "constant memory".
"""
from __future__ import annotations

import os

import numpy as np

from engine.errors import RecordingError
from engine.recording.base import RawBinarySource, Recording, default_positions

SUPPORTED_DTYPES = ("int16", "uint16", "int32", "float32", "float64")


def check_sampling_rate(path, rate, where: str = "the sampling rate") -> float:
    """A sampling rate must be a finite positive number of Hz; anything else names the file."""
    shown = np.asarray(rate).tolist() if isinstance(rate, (np.ndarray, np.generic)) else rate
    try:
        value = float(rate)
    except (TypeError, ValueError):
        raise RecordingError(path, f"{where} must be a number of Hz (got {shown!r})") from None
    if not np.isfinite(value) or value <= 0:
        raise RecordingError(path, f"{where} must be a positive number of Hz (got {shown!r})")
    return value


def fitting_channel_counts(n_bytes: int, itemsize: int, limit: int = 1024) -> list[int]:
    n_items = n_bytes // itemsize
    return [c for c in range(1, limit + 1) if n_items % c == 0]


class BinaryRecording(Recording):
    """``n_channels`` file channels of ``dtype`` after ``offset`` header bytes.

    ``channel_indices`` keeps only those file channels (e.g. the ones on the
    probe), in that order; ``gain`` (microvolts per unit) is one number or one
    per kept channel.
    """

    format_name = "binary"

    def __init__(self, path, sampling_rate, n_channels, dtype="int16", offset=0, gain=1.0,
                 channel_positions=None, channel_indices=None):
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise RecordingError(self.path, "no such file")
        if not os.access(self.path, os.R_OK):
            raise RecordingError(self.path, "cannot be read (permission denied)")
        if sampling_rate is None or n_channels is None:
            raise RecordingError(self.path, "a raw binary recording needs its sampling rate and channel "
                                            "count (--sampling-rate HZ --n-channels N)")
        if str(dtype) not in SUPPORTED_DTYPES:
            raise RecordingError(self.path, f"unknown dtype '{dtype}' (use one of {', '.join(SUPPORTED_DTYPES)})")
        check_sampling_rate(self.path, sampling_rate)
        if int(n_channels) != n_channels or n_channels <= 0:
            raise RecordingError(self.path, f"the channel count must be a positive whole number (got {n_channels})")
        if int(offset) != offset or offset < 0:
            raise RecordingError(self.path, f"the header offset must be a whole number of bytes, 0 or more "
                                            f"(got {offset})")
        gains = np.asarray(gain, dtype=np.float64)
        if not np.all(np.isfinite(gains)) or np.any(gains == 0):
            raise RecordingError(self.path, f"the gain must be a finite number other than 0 (got {gain})")
        self.dtype = np.dtype(dtype)
        self.offset = int(offset)
        size = os.path.getsize(self.path) - self.offset
        frame = self.dtype.itemsize * int(n_channels)
        if size <= 0:
            raise RecordingError(self.path, "holds no samples after the header offset")
        if size % frame:
            fits = [c for c in fitting_channel_counts(size, self.dtype.itemsize) if c <= 512][-8:]
            raise RecordingError(
                self.path, f"size {size} bytes is not a whole number of frames of {n_channels} channels x "
                           f"{self.dtype.itemsize} bytes; channel counts that fit: {', '.join(map(str, fits))}")
        self.file_channels = int(n_channels)
        self.channel_indices = (np.arange(self.file_channels) if channel_indices is None
                                else np.asarray(channel_indices, dtype=np.int64))
        if len(self.channel_indices) and (self.channel_indices.min() < 0
                                          or self.channel_indices.max() >= self.file_channels):
            raise RecordingError(self.path, f"channel {int(self.channel_indices.max())} asked for, but the file "
                                            f"has {self.file_channels} channels")
        self.sampling_rate = float(sampling_rate)
        self.n_channels = len(self.channel_indices)
        self.n_samples = size // frame
        self.gain = np.broadcast_to(np.asarray(gain, dtype=np.float32), (self.n_channels,)).copy()
        self.channel_positions = (default_positions(self.n_channels) if channel_positions is None
                                  else np.asarray(channel_positions, dtype=float))
        if self.channel_positions.shape != (self.n_channels, 2):
            raise RecordingError(self.path, f"{len(self.channel_positions)} channel positions given for "
                                            f"{self.n_channels} channels")

    def _read(self, start, stop, channels):
        if stop <= start:
            return np.zeros((0, len(channels)), dtype=np.float32)
        frame = self.dtype.itemsize * self.file_channels
        window = np.memmap(self.path, dtype=self.dtype, mode="r", offset=self.offset + start * frame,
                           shape=(stop - start, self.file_channels))
        columns = self.channel_indices[channels]
        if len(columns) == self.file_channels and np.array_equal(columns, np.arange(self.file_channels)):
            data = np.asarray(window, dtype=np.float32)
        else:
            data = np.asarray(window[:, columns], dtype=np.float32)
        del window  # unmaps the window
        gain = self.gain[channels]
        if np.any(gain != 1.0):
            data *= gain
        return data

    def raw_source(self) -> RawBinarySource:
        return RawBinarySource(self.path, self.dtype.name, self.file_channels, self.offset,
                               tuple(int(c) for c in self.channel_indices))
