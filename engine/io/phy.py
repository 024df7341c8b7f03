"""Phy's template-gui folder from a session: the files Kilosort writes and phylib reads.

Nothing of the recording is copied: ``params.py`` points at the raw binary
file the session was sorted from, with its channel count, dtype and header
offset, and ``channel_map.npy`` names the file channels the recording used
(channels not on the probe, SpikeGLX's sync channel, are left out). For
recordings that are not flat binaries (HDF5, NWB, SpikeInterface formats)
``dat_path`` is blank: Phy opens the folder and shows templates, amplitudes
and correlograms, but no raw traces (a comment in params.py names the
recording). The raw data are unfiltered: ``hp_filtered = False``.

``spike_templates.npy`` holds the filter that found each spike,
``spike_clusters.npy`` and ``cluster_group.tsv`` the curated clusters and
their labels (see engine/io/curated.py). Templates are the learned filters
as (units, taps, channels); a spike's waveform is its amplitude times its
unit's template, as in Phy.

The folder is written whole beside the old one and swapped in for it in one
step (engine/io/atomic.py), so phylib sees the old export or the new one,
never new spikes with old labels. The folder is replaced as a whole: it must
be new, empty, or a Phy folder (its ``.npy`` and ``.tsv`` files, ``params.py``,
``phy.log`` and Phy's ``.phy`` cache, which belongs to the old export).
"""
from __future__ import annotations

import os
import re

import numpy as np

from engine.io.atomic import OutputError, atomic_folder, check_writable
from engine.io.curated import curated_clusters
from engine.recording.base import default_positions
from engine.io.session import Session


PHY_STATE = ("params.py", "phy.log", ".phy")  # besides .npy and .tsv files
_OLD_TEMPORARY = re.compile(r".*\.tmp-\d+$")  # what sparsesort before 0.2 left when killed mid-export


def _save_npy(folder: str, name: str, array: np.ndarray) -> None:
    np.save(os.path.join(folder, name), array)


def _save_text(folder: str, name: str, text: str) -> None:
    with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
        f.write(text)


def check_phy_target(folder) -> None:
    """Refuse a target that is a file, or a folder holding anything but a Phy export (it is replaced whole)."""
    folder = os.fspath(folder)
    check_writable(folder, folder=True)
    if os.path.isdir(folder):
        foreign = sorted(name for name in os.listdir(folder)
                         if not (name in PHY_STATE or name.endswith((".npy", ".tsv")) or _OLD_TEMPORARY.match(name)))
        if foreign:
            raise OutputError(folder, f"holds files that are not a Phy export ({', '.join(foreign[:3])}"
                                      f"{', ...' if len(foreign) > 3 else ''}); the export replaces the whole "
                                      "folder: choose a new or empty one")


def params_text(session: Session) -> str:
    raw = session.recording_info.get("raw_binary")
    n_channels = session.filters.shape[1]
    if raw is not None:
        lines = [f"dat_path = {raw['path']!r}", f"n_channels_dat = {raw['n_channels']}",
                 f"dtype = {raw['dtype']!r}", f"offset = {raw['offset']}"]
    else:
        lines = [f"# the recording ({session.recording_info.get('format', 'unknown')} format) is not a flat "
                 f"binary file Phy can read:", f"# {session.recording_path}",
                 "dat_path = ''", f"n_channels_dat = {n_channels}", "dtype = 'float32'", "offset = 0"]
    lines += [f"sample_rate = {float(session.sampling_rate)!r}", "hp_filtered = False"]
    return "\n".join(lines) + "\n"


def export_phy(session: Session, folder) -> str:
    """Write ``session`` as a Phy template-gui folder; returns the path of its params.py."""
    folder = os.fspath(folder)
    check_phy_target(folder)
    n_channels = session.filters.shape[1]
    order = np.argsort(session.spike_times, kind="stable")
    units = np.asarray(session.spike_units, dtype=np.int32)[order]
    clusters = curated_clusters(session)
    raw = session.recording_info.get("raw_binary")
    channel_map = np.asarray(raw["channel_indices"] if raw else np.arange(n_channels), dtype=np.int32)
    positions = (session.channel_positions if session.channel_positions is not None
                 else default_positions(n_channels))

    with atomic_folder(folder) as new:
        _save_npy(new, "spike_times.npy", np.asarray(session.spike_times, dtype=np.int64)[order])
        _save_npy(new, "spike_templates.npy", units)
        _save_npy(new, "spike_clusters.npy", clusters.spike_clusters.astype(np.int32)[order])
        _save_npy(new, "amplitudes.npy", np.asarray(session.spike_amplitudes, dtype=np.float32)[order])
        _save_npy(new, "templates.npy", np.ascontiguousarray(session.filters.transpose(0, 2, 1), dtype=np.float32))
        _save_npy(new, "channel_map.npy", channel_map)
        _save_npy(new, "channel_positions.npy", np.asarray(positions, dtype=np.float64))
        _save_text(new, "cluster_group.tsv", "cluster_id\tgroup\n" + "".join(
            f"{cluster}\t{label}\n" for cluster, label in sorted(clusters.labels.items())))
        _save_text(new, "params.py", params_text(session))
    return os.path.join(folder, "params.py")
