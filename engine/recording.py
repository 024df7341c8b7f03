"""The one interface every recording offers, whatever its format.

``traces(start, stop, channels)`` returns float32 microvolts with shape
(samples, channels), read lazily: nothing but the requested window is read.
"""
from __future__ import annotations

import os
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


RAW_SUFFIXES = (".bin", ".dat", ".raw")
HDF5_SUFFIXES = (".h5", ".hdf5")
NWB_SUFFIXES = (".nwb",)
FORMATS = ("binary", "spikeglx", "hdf5", "nwb")  # plus any SpikeInterface reader name


def _is_nwb(path: str) -> bool:
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            return "nwb_version" in h5.attrs
    except OSError:
        return False


def guess_format(path: str, raw_args_given: bool = False) -> str | None:
    """The reader for ``path`` from its name and neighbours; None when nothing fits."""
    from engine.readers.spikeglx import meta_path_for
    from engine.readers.spikeinterface import guess_format as guess_spikeinterface

    suffix = os.path.splitext(path)[1].lower()
    if os.path.isdir(path):
        return guess_spikeinterface(path)
    if suffix in NWB_SUFFIXES:
        return "nwb"
    if suffix in HDF5_SUFFIXES:
        return "nwb" if _is_nwb(path) else "hdf5"
    if suffix == ".bin" and not raw_args_given and os.path.exists(meta_path_for(path)):
        return "spikeglx"
    if suffix in RAW_SUFFIXES or raw_args_given:
        return "binary"
    return guess_spikeinterface(path)


def open_recording(path, sampling_rate: float | None = None, n_channels: int | None = None,
                   dtype: str | None = None, offset: int = 0, gain: float = 1.0,
                   dataset: str | None = None, probe=None, format: str | None = None) -> Recording:
    """Open any supported recording by its file (or folder) name.

    ``format`` overrides the guess from the name: binary, spikeglx, hdf5, nwb,
    or the name of a SpikeInterface reader (openephys, intan, ...).
    ``dataset`` names the HDF5 dataset or the NWB ElectricalSeries when the
    file holds several. ``probe`` is a probeinterface JSON or PRB file giving
    the geometry of a raw binary or SpikeGLX recording; file channels not on
    the probe are left out.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise RecordingError(path, "no such file")
    raw_args_given = sampling_rate is not None or n_channels is not None
    format = format or guess_format(path, raw_args_given)
    if format is None:
        if os.path.isdir(path):
            raise RecordingError(path, "is a folder, not a recording file (nor an Open Ephys or SpikeInterface "
                                       "folder; name its format with --format)")
        raise RecordingError(path, f"unknown recording format '{os.path.splitext(path)[1]}' (expected one of "
                                   f"{', '.join(HDF5_SUFFIXES + NWB_SUFFIXES + RAW_SUFFIXES)}, a SpikeGLX .bin "
                                   "with its .meta, or --format NAME)")
    if probe is not None and format not in ("binary", "spikeglx"):
        raise RecordingError(path, f"a probe file applies to raw binary and SpikeGLX recordings, not {format}")
    if format in ("binary", "spikeglx") and os.path.isdir(path):
        raise RecordingError(path, "is a folder, not a recording file")
    if format == "hdf5":
        from engine.readers.hdf5 import Hdf5Recording
        return Hdf5Recording(path, dataset=dataset)
    if format == "nwb":
        from engine.readers.nwb import NwbRecording
        return NwbRecording(path, series=dataset)
    if format == "spikeglx":
        from engine.readers.spikeglx import SpikeGlxRecording, meta_path_for, read_meta
        layout = None
        if probe is not None:
            from engine.probe import read_probe
            n_saved = read_meta(meta_path_for(path)).get("nSavedChans") if os.path.exists(meta_path_for(path)) else None
            layout = read_probe(probe, int(n_saved) if n_saved else None)
        return SpikeGlxRecording(path, channel_layout=layout)
    if format == "binary":
        from engine.readers.binary import BinaryRecording
        positions = indices = None
        if probe is not None:
            from engine.probe import read_probe
            layout = read_probe(probe, n_channels)
            positions, indices = layout.positions, layout.channel_indices
        return BinaryRecording(path, sampling_rate=sampling_rate, n_channels=n_channels,
                               dtype=dtype or "int16", offset=offset, gain=gain,
                               channel_positions=positions, channel_indices=indices)
    from engine.readers.spikeinterface import SpikeInterfaceRecording, read_with_spikeinterface
    return SpikeInterfaceRecording(read_with_spikeinterface(path, format), path=path)
