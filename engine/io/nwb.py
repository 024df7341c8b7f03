"""An NWB file with the session's units: spike times, mean waveforms and electrodes (pynwb).

One NWB unit per curated cluster (see engine/io/curated.py). Each
unit's ``waveform_mean`` is the filter most of its spikes came from times
their median amplitude, (taps, channels) in volts, and its ``electrodes`` are all the
recording's channels, which the electrodes table lists with their probe
positions (rel_x, rel_y in micrometres). Curation labels go into a
``label`` column, every spike's amplitude into a ragged ``spike_amplitudes``
column. Written to a temporary file and renamed.
"""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone

import numpy as np

from engine.io.atomic import atomic_path
from engine.io.curated import curated_clusters
from engine.recording.base import default_positions
from engine.io.session import Session


def export_nwb(session: Session, path, session_start_time: datetime | None = None) -> str:
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.misc import Units

    path = os.fspath(path)
    n_channels = session.filters.shape[1]
    rate = float(session.sampling_rate)
    nwbfile = NWBFile(
        session_description=f"sparsesort spike sorting of {session.recording_path or 'a recording'}",
        identifier=str(uuid.uuid4()),
        session_start_time=session_start_time or datetime.now(timezone.utc),
    )
    device = nwbfile.create_device(name="probe", description="recording probe")
    group = nwbfile.create_electrode_group(name="probe", description="all recorded channels",
                                           location="unknown", device=device)
    positions = (session.channel_positions if session.channel_positions is not None
                 else default_positions(n_channels))
    for x, y in positions:
        nwbfile.add_electrode(group=group, location="unknown", rel_x=float(x), rel_y=float(y))

    nwbfile.units = Units(name="units", description="units sorted by sparsesort (one learned filter each)",
                          waveform_rate=rate, waveform_unit="volts", resolution=1.0 / rate,
                          electrode_table=nwbfile.electrodes)
    nwbfile.add_unit_column(name="label", description="curation group (good, mua, noise, unsorted, ...)")
    nwbfile.add_unit_column(name="spike_amplitudes", description="code value (amplitude) of each spike",
                            index=True)
    all_channels = list(range(n_channels))
    clusters = curated_clusters(session)
    units = np.asarray(session.spike_units)
    for cluster, label in sorted(clusters.labels.items()):
        mine = clusters.spike_clusters == cluster
        amplitudes = np.asarray(session.spike_amplitudes[mine], dtype=float)
        scale = float(np.median(amplitudes)) if len(amplitudes) else 1.0
        nwbfile.add_unit(
            id=cluster,
            spike_times=np.sort(np.asarray(session.spike_times[mine], dtype=float)) / rate,
            electrodes=all_channels,
            waveform_mean=1e-6 * scale * session.filters[clusters.main_unit(cluster, units)].T,
            label=label,
            spike_amplitudes=amplitudes,
        )
    with atomic_path(path, keep_extension=True) as tmp, NWBHDF5IO(tmp, mode="w") as io:  # pynwb checks the name
        io.write(nwbfile)
    return path
