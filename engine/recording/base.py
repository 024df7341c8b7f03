"""The one interface every recording offers, whatever its format.

``traces(start, stop, channels)`` returns float32 microvolts with shape
(samples, channels), read lazily: nothing but the requested window is read.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.errors import RecordingError


@dataclass
class GroundTruth:
    """What a simulated recording was made of."""

    waveforms: np.ndarray  # (units, channels, taps), microvolts at unit amplitude
    spike_times: np.ndarray  # int64 sample of each spike's trough
    spike_units: np.ndarray  # int64 unit of each spike
    amplitudes: np.ndarray = field(default_factory=lambda: np.zeros(0))
    trough_index: int = 0  # tap of the trough within each waveform

    @property
    def n_units(self) -> int:
        return self.waveforms.shape[0]

    def unit_times(self, unit: int) -> np.ndarray:
        return self.spike_times[self.spike_units == unit]


@dataclass(frozen=True)
class RawBinarySource:
    """Where a recording's samples lie in a flat interleaved binary file (what Phy's params.py needs)."""

    path: str
    dtype: str
    n_channels: int  # channels in the file, including any the recording leaves out
    offset: int  # header bytes
    channel_indices: tuple[int, ...]  # file channel of each recording channel


class Recording:
    """Base class; subclasses implement ``_read`` and set the attributes."""

    format_name = "array"
    path: str | None = None
    sampling_rate: float
    n_channels: int
    n_samples: int
    channel_positions: np.ndarray
    ground_truth: GroundTruth | None = None
    is_filtered = False  # already band-passed at the source (a SpikeInterface preprocessing chain)

    @property
    def duration(self) -> float:
        return self.n_samples / self.sampling_rate

    def traces(self, start: int = 0, stop: int | None = None, channels=None) -> np.ndarray:
        stop = self.n_samples if stop is None else min(int(stop), self.n_samples)
        start = max(0, int(start))
        if stop < start:
            stop = start
        chans = np.arange(self.n_channels) if channels is None else np.asarray(channels, dtype=np.int64)
        data = np.asarray(self._read(start, stop, chans), dtype=np.float32)
        if not np.all(np.isfinite(data)):
            bad = int(np.argwhere(~np.isfinite(data))[0][0]) + start
            raise RecordingError(self.path, f"contains NaN or infinite samples (first at sample {bad})")
        return data

    def _read(self, start: int, stop: int, channels: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def raw_source(self) -> RawBinarySource | None:
        """The flat binary file holding the samples as they are, if there is one."""
        return None

    def describe(self) -> str:
        return (f"{self.n_channels} channels, {self.sampling_rate:g} Hz, "
                f"{self.duration:.1f} s ({self.n_samples} samples)")


def default_positions(n_channels: int) -> np.ndarray:
    """A vertical line of contacts 20 um apart, when the file gives no geometry."""
    return np.column_stack([np.zeros(n_channels), 20.0 * np.arange(n_channels)])


class ArrayRecording(Recording):
    """A recording held in memory (tests, notebooks, simulated data)."""

    def __init__(self, traces: np.ndarray, sampling_rate: float, channel_positions=None,
                 ground_truth: GroundTruth | None = None, path: str | None = None):
        traces = np.asarray(traces, dtype=np.float32)
        if traces.ndim == 1:
            traces = traces[:, None]
        self._data = traces
        self.path = path
        self.sampling_rate = float(sampling_rate)
        self.n_samples, self.n_channels = traces.shape
        self.channel_positions = (default_positions(self.n_channels) if channel_positions is None
                                  else np.asarray(channel_positions, dtype=float))
        self.ground_truth = ground_truth

    def _read(self, start, stop, channels):
        return self._data[start:stop][:, channels]
