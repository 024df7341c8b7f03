"""HDF5 recordings: a (samples, channels) dataset with a sampling_rate attribute.

The simulator writes this layout, with the ground truth in a group beside it.
"""
from __future__ import annotations

import os

import h5py
import numpy as np

from engine.errors import RecordingError
from engine.recording.base import GroundTruth, Recording, default_positions
from engine.recording.readers.binary import check_sampling_rate

DEFAULT_DATASET = "traces"


def _datasets(h5: h5py.File) -> list[str]:
    names: list[str] = []
    h5.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    return names


class Hdf5Recording(Recording):
    format_name = "hdf5"

    def __init__(self, path, dataset: str | None = None):
        self.path = os.fspath(path)
        try:
            self._file = h5py.File(self.path, "r")
        except OSError as exc:
            raise RecordingError(self.path, f"cannot be read as HDF5 ({exc})") from None
        name = dataset or DEFAULT_DATASET
        if name not in self._file or not isinstance(self._file[name], h5py.Dataset):
            candidates = [n for n in _datasets(self._file) if self._file[n].ndim == 2]
            if dataset is None and len(candidates) == 1:
                name = candidates[0]
            else:
                listing = ", ".join(_datasets(self._file)) or "none"
                problem = (f"holds several 2-D datasets and none is called '{name}'; name one with --dataset"
                           if dataset is None and len(candidates) > 1 else f"has no recording dataset '{name}'")
                raise RecordingError(self.path, f"{problem} (datasets: {listing})")
        ds = self._file[name]
        if ds.ndim != 2:
            raise RecordingError(self.path, f"dataset '{name}' must be 2-D (samples x channels), not {ds.shape}")
        rate = ds.attrs.get("sampling_rate", self._file.attrs.get("sampling_rate"))
        if rate is None:
            raise RecordingError(self.path, f"dataset '{name}' has no 'sampling_rate' attribute")
        self._ds = ds
        self.sampling_rate = check_sampling_rate(self.path, rate, f"the 'sampling_rate' attribute of '{name}'")
        self.n_samples, self.n_channels = ds.shape
        self.gain = float(ds.attrs.get("gain", 1.0))
        positions = self._file.get("channel_positions")
        self.channel_positions = (np.asarray(positions, dtype=float) if positions is not None
                                  else default_positions(self.n_channels))
        self.ground_truth = self._read_ground_truth()

    def _read_ground_truth(self) -> GroundTruth | None:
        group = self._file.get("ground_truth")
        if group is None:
            return None
        return GroundTruth(
            waveforms=np.asarray(group["waveforms"], dtype=np.float32),
            spike_times=np.asarray(group["spike_times"], dtype=np.int64),
            spike_units=np.asarray(group["spike_units"], dtype=np.int64),
            amplitudes=np.asarray(group["amplitudes"], dtype=np.float32),
            trough_index=int(group.attrs.get("trough_index", 0)),
        )

    def _read(self, start, stop, channels):
        if len(channels) == self.n_channels and np.array_equal(channels, np.arange(self.n_channels)):
            data = self._ds[start:stop]
        else:
            data = self._ds[start:stop][:, channels]
        data = np.asarray(data, dtype=np.float32)
        if self.gain != 1.0:
            data *= self.gain
        return data
