"""Probe geometry from a probeinterface JSON or a PRB file.

A probe names, for each contact, the file channel it was recorded on
(``device_channel_indices``) and where it sits. Contacts wired to no channel
(index -1) and file channels on no contact are left out of the recording.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from engine.errors import RecordingError


@dataclass
class ChannelLayout:
    channel_indices: np.ndarray  # int64, the file channel of each recording channel, ascending
    positions: np.ndarray  # (channels, 2) micrometres


def read_probe(path, n_file_channels: int | None = None) -> ChannelLayout:
    """The channels a probe file wires, in file order, with their contact positions."""
    import probeinterface

    path = os.fspath(path)
    if not os.path.exists(path):
        raise RecordingError(path, "no such probe file")
    reader = probeinterface.read_prb if path.lower().endswith(".prb") else probeinterface.read_probeinterface
    try:
        group = reader(path)
    except Exception as exc:  # probeinterface raises many kinds for a malformed file
        raise RecordingError(path, f"cannot be read as a probe file ({type(exc).__name__}: {exc})") from None
    indices, positions = [], []
    for probe in group.probes:
        wiring = probe.device_channel_indices
        if wiring is None:
            raise RecordingError(path, "the probe does not say which file channel each contact was recorded on "
                                       "(device_channel_indices)")
        wired = np.asarray(wiring) >= 0
        indices.append(np.asarray(wiring)[wired])
        positions.append(np.asarray(probe.contact_positions, dtype=float)[wired][:, :2])
    indices = np.concatenate(indices).astype(np.int64)
    positions = np.concatenate(positions)
    if len(indices) == 0:
        raise RecordingError(path, "no contact of the probe is wired to a channel")
    if len(np.unique(indices)) != len(indices):
        raise RecordingError(path, "two contacts are wired to the same channel")
    if n_file_channels is not None and indices.max() >= n_file_channels:
        raise RecordingError(path, f"wires channel {int(indices.max())} but the recording has only "
                                   f"{n_file_channels} channels")
    order = np.argsort(indices)
    return ChannelLayout(indices[order], positions[order])
