"""NWB recordings: an ElectricalSeries (time x electrodes), read lazily with pynwb.

The file stays open while the recording is in use: pynwb hands back the
HDF5 dataset itself, so only the requested window is read. Values are
turned into microvolts with the series' ``conversion``, ``offset`` and
per-channel ``channel_conversion``.
"""
from __future__ import annotations

import os

import numpy as np

from engine.errors import RecordingError
from engine.recording.base import Recording, default_positions
from engine.recording.readers.binary import check_sampling_rate


def _electrical_series(nwbfile) -> dict[str, object]:
    from pynwb.ecephys import ElectricalSeries

    found = {}
    for obj in nwbfile.objects.values():
        if isinstance(obj, ElectricalSeries):
            found[obj.name] = obj
    return found


def _positions(series, n_channels: int) -> np.ndarray:
    table = series.electrodes.table
    rows = np.asarray(series.electrodes.data[:], dtype=np.int64)
    for xs, ys in (("rel_x", "rel_y"), ("x", "y")):
        if xs in table.colnames and ys in table.colnames:
            x = np.asarray(table[xs].data[:], dtype=float)[rows]
            y = np.asarray(table[ys].data[:], dtype=float)[rows]
            if np.all(np.isfinite(x)) and np.all(np.isfinite(y)):
                return np.column_stack([x, y])
    return default_positions(n_channels)


class NwbRecording(Recording):
    format_name = "nwb"

    def __init__(self, path, series: str | None = None):
        from pynwb import NWBHDF5IO

        self.path = os.fspath(path)
        try:
            self._io = NWBHDF5IO(self.path, mode="r", load_namespaces=True)
            nwbfile = self._io.read()
        except Exception as exc:  # pynwb/hdmf raise many kinds for a file that is not NWB
            raise RecordingError(self.path, f"cannot be read as NWB ({type(exc).__name__}: {exc})") from None
        found = _electrical_series(nwbfile)
        if series is None and len(found) == 1:
            series = next(iter(found))
        if series not in found:
            listing = ", ".join(sorted(found)) or "none"
            problem = ("holds several ElectricalSeries; name one" if series is None
                       else f"has no ElectricalSeries '{series}'")
            raise RecordingError(self.path, f"{problem} (ElectricalSeries: {listing})")
        es = found[series]
        self.series_name = series
        if es.data.ndim != 2:
            raise RecordingError(self.path, f"ElectricalSeries '{series}' must be 2-D (time x electrodes), "
                                            f"not {es.data.shape}")
        self._data = es.data
        self.n_samples, self.n_channels = es.data.shape
        self.sampling_rate = (check_sampling_rate(self.path, es.rate, f"the rate of ElectricalSeries '{series}'")
                              if es.rate is not None else self._rate_from_timestamps(es))
        scale = 1e6 * float(es.conversion)
        if es.channel_conversion is not None:
            scale = scale * np.asarray(es.channel_conversion[:], dtype=np.float64)
        self._scale = np.broadcast_to(np.asarray(scale, dtype=np.float32), (self.n_channels,)).copy()
        self._offset_uv = np.float32(1e6 * float(getattr(es, "offset", 0.0) or 0.0))
        self.channel_positions = _positions(es, self.n_channels)

    def _rate_from_timestamps(self, es) -> float:
        stamps = np.asarray(es.timestamps[: min(len(es.timestamps), 10_000)], dtype=float)
        steps = np.diff(stamps)
        if len(steps) == 0 or np.any(steps <= 0) or np.ptp(steps) > 1e-3 * np.median(steps):
            raise RecordingError(self.path, f"ElectricalSeries '{es.name}' has irregular timestamps and no rate")
        return float(1.0 / np.median(steps))

    def _read(self, start, stop, channels):
        if len(channels) == self.n_channels and np.array_equal(channels, np.arange(self.n_channels)):
            data = self._data[start:stop]
        else:
            data = self._data[start:stop][:, channels]
        return np.asarray(data, dtype=np.float32) * self._scale[channels] + self._offset_uv

    def close(self) -> None:
        self._io.close()
