"""Any format SpikeInterface reads (Open Ephys, Intan, Blackrock, ...), through the optional
``formats`` extra (``pip install sparsesort[formats]``).

``format`` names a SpikeInterface reader: ``openephys`` calls
``spikeinterface.extractors.read_openephys``; ``spikeinterface`` loads a
folder SpikeInterface saved itself. SpikeInterface reads lazily, so this
wrapper only asks for the window it is given.
"""
from __future__ import annotations

import os

import numpy as np

from engine.errors import RecordingError
from engine.recording.base import Recording, default_positions

# file endings and folder markers that name a SpikeInterface reader
SUFFIX_FORMATS = {".rhd": "intan", ".rhs": "intan", ".ns5": "blackrock", ".ns6": "blackrock",
                  ".plx": "plexon", ".pl2": "plexon2", ".smrx": "spike2", ".continuous": "openephys"}
FOLDER_MARKERS = {"structure.oebin": "openephys", "settings.xml": "openephys", "si_folder.json": "spikeinterface"}


def guess_format(path: str) -> str | None:
    if os.path.isdir(path):
        for marker, name in FOLDER_MARKERS.items():
            if os.path.exists(os.path.join(path, marker)):
                return name
        return None
    return SUFFIX_FORMATS.get(os.path.splitext(path)[1].lower())


def _extractors():
    try:
        import spikeinterface.extractors as se
    except ImportError:
        return None
    return se


def read_with_spikeinterface(path: str, format: str):
    """A SpikeInterface recording object for ``path``."""
    se = _extractors()
    if se is None:
        raise RecordingError(path, f"is a {format} recording, read through SpikeInterface, which is not "
                                   "installed (pip install 'sparsesort[formats]')")
    if format == "spikeinterface":
        import spikeinterface
        reader = spikeinterface.load
    else:
        reader = getattr(se, f"read_{format}", None)
        if reader is None:
            raise RecordingError(path, f"unknown format '{format}' (SpikeInterface has no read_{format})")
    try:
        return reader(path)
    except Exception as exc:  # each reader raises its own kinds
        raise RecordingError(path, f"cannot be read as {format} ({type(exc).__name__}: {exc})") from None


class SpikeInterfaceRecording(Recording):
    """A SpikeInterface recording (its first segment), in microvolts."""

    format_name = "spikeinterface"

    def __init__(self, si_recording, path: str | None = None):
        self.si = si_recording
        self.path = path
        if si_recording.get_num_segments() > 1:
            raise RecordingError(path, f"has {si_recording.get_num_segments()} segments; concatenate them "
                                       "or pick one first (spikeinterface.concatenate_recordings / select_segments)")
        self.sampling_rate = float(si_recording.get_sampling_frequency())
        self.n_channels = int(si_recording.get_num_channels())
        self.n_samples = int(si_recording.get_num_samples(segment_index=0))
        self._ids = si_recording.get_channel_ids()
        self._in_uv = bool(si_recording.has_scaleable_traces())
        self.is_filtered = bool(si_recording.is_filtered())
        try:
            self.channel_positions = np.asarray(si_recording.get_channel_locations(), dtype=float)[:, :2]
        except Exception:  # no probe attached
            self.channel_positions = default_positions(self.n_channels)

    def _read(self, start, stop, channels):
        return self.si.get_traces(segment_index=0, start_frame=start, end_frame=stop,
                                  channel_ids=self._ids[channels], return_in_uV=self._in_uv)
