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
unit's template, as in Phy. Every file is written atomically
(engine/io/atomic.py).
"""
from __future__ import annotations

import os

import numpy as np

from engine.io.atomic import atomic_path
from engine.io.curated import curated_clusters
from engine.recording.base import default_positions
from engine.io.session import Session


def _write_atomically(path: str, write) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        write(f)


def _save_npy(folder: str, name: str, array: np.ndarray) -> None:
    _write_atomically(os.path.join(folder, name), lambda f: np.save(f, array))


def _save_text(folder: str, name: str, text: str) -> None:
    _write_atomically(os.path.join(folder, name), lambda f: f.write(text.encode("utf-8")))


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
    os.makedirs(folder, exist_ok=True)
    n_channels = session.filters.shape[1]
    order = np.argsort(session.spike_times, kind="stable")
    units = np.asarray(session.spike_units, dtype=np.int32)[order]
    clusters = curated_clusters(session)
    raw = session.recording_info.get("raw_binary")
    channel_map = np.asarray(raw["channel_indices"] if raw else np.arange(n_channels), dtype=np.int32)
    positions = (session.channel_positions if session.channel_positions is not None
                 else default_positions(n_channels))

    _save_npy(folder, "spike_times.npy", np.asarray(session.spike_times, dtype=np.int64)[order])
    _save_npy(folder, "spike_templates.npy", units)
    _save_npy(folder, "spike_clusters.npy", clusters.spike_clusters.astype(np.int32)[order])
    _save_npy(folder, "amplitudes.npy", np.asarray(session.spike_amplitudes, dtype=np.float32)[order])
    _save_npy(folder, "templates.npy", np.ascontiguousarray(session.filters.transpose(0, 2, 1), dtype=np.float32))
    _save_npy(folder, "channel_map.npy", channel_map)
    _save_npy(folder, "channel_positions.npy", np.asarray(positions, dtype=np.float64))
    _save_text(folder, "cluster_group.tsv", "cluster_id\tgroup\n" + "".join(
        f"{cluster}\t{label}\n" for cluster, label in sorted(clusters.labels.items())))
    _save_text(folder, "params.py", params_text(session))
    return os.path.join(folder, "params.py")
