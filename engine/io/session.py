"""Session files: everything a sorting run produced, in one HDF5 file.

Layout (schema 2)::

    attrs     schema_version, recording_path, sampling_rate
    settings/ JSON text: recording_args (what open_recording was given),
              recording_info (format, size, raw binary source), preprocessing,
              train_config, metrics, curation, motion (the choice and what was done)
    recording/channel_positions
    motion/   the motion estimate, when motion was corrected: displacement over time and depth,
              and the peaks it came from (a drift map)
    model/    filters (units, channels, taps), thresholds, min_amplitudes (optional); attrs lambda
    spikes/   times (trough samples), units, amplitudes
    history/  one array per training curve

Settings are JSON datasets rather than attributes because HDF5 attributes
are limited to 64 kB and curation state can grow past that. Schema 1 files
(settings as attributes) still load. Written atomically (a partial file
beside it, fsync, rename), so a crash mid-write never leaves a half-written
session; what a killed write left is removed on the next open or write.
``back_up_session`` keeps an old session (and its curation journal) under a
dated name before a new sort takes its place.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field

import h5py
import numpy as np

from engine.errors import RecordingError
from engine.io.atomic import atomic_path, remove_stale_partials
from engine.recording.motion import MotionEstimate

SCHEMA_VERSION = 2
# the training curves a session may hold, one value per step (filter_error: a list per true unit)
HISTORY_CURVES = ("step", "elapsed", "loss", "snr_db", "lam", "filter_error")
_OLD_CURVE_NAMES = {"lambda": "lam"}  # sessions written by the command line before 0.2
JSON_FIELDS = ("recording_args", "recording_info", "preprocessing", "train_config", "metrics", "curation", "motion")


@dataclass
class Session:
    recording_path: str | None
    recording_args: dict
    sampling_rate: float
    filters: np.ndarray
    lam: float
    train_config: dict
    spike_times: np.ndarray
    spike_units: np.ndarray
    spike_amplitudes: np.ndarray
    thresholds: np.ndarray
    history: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    curation: dict = field(default_factory=dict)  # JSON-serialisable; owned by the curation model
    preprocessing: dict = field(default_factory=dict)  # PreprocessingConfig.to_dict(); {}: none
    recording_info: dict = field(default_factory=dict)  # see recording_info()
    channel_positions: np.ndarray | None = None
    min_amplitudes: np.ndarray | None = None  # per-unit amplitude floors (engine.training.amplitude_floor)
    motion: dict = field(default_factory=dict)  # {"choice": auto|none|rigid|nonrigid, "kind": what was done}
    motion_estimate: MotionEstimate | None = None  # the displacement and the drift map's peaks
    schema_version: int = SCHEMA_VERSION


def recording_info(recording) -> dict:
    """What a session keeps about its recording, beyond the arguments that reopen it."""
    source = recording.raw_source()
    return {
        "format": recording.format_name,
        "n_samples": int(recording.n_samples),
        "n_channels": int(recording.n_channels),
        "raw_binary": None if source is None else {
            "path": os.path.abspath(source.path), "dtype": source.dtype, "n_channels": source.n_channels,
            "offset": source.offset, "channel_indices": list(source.channel_indices)},
    }


def _plain(value):
    """numpy scalars and arrays as JSON understands them."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def save_session(path, session: Session) -> None:
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            h5.attrs["schema_version"] = SCHEMA_VERSION
            h5.attrs["recording_path"] = session.recording_path or ""
            h5.attrs["sampling_rate"] = session.sampling_rate
            settings = h5.create_group("settings")
            for name in JSON_FIELDS:
                settings[name] = json.dumps(getattr(session, name), default=_plain)
            if session.channel_positions is not None:
                h5["recording/channel_positions"] = np.asarray(session.channel_positions, dtype=float)
            model = h5.create_group("model")
            model["filters"] = session.filters
            model.attrs["lambda"] = session.lam
            model["thresholds"] = session.thresholds
            if session.min_amplitudes is not None:
                model["min_amplitudes"] = np.asarray(session.min_amplitudes, dtype=np.float32)
            spikes = h5.create_group("spikes")
            spikes["times"] = session.spike_times
            spikes["units"] = session.spike_units
            spikes["amplitudes"] = session.spike_amplitudes
            if session.motion_estimate is not None:
                group = h5.create_group("motion")
                for name, values in session.motion_estimate.arrays().items():
                    group[name] = values
            history = h5.create_group("history")
            for key, values in session.history.items():
                history[key] = np.asarray(values)


def _json_field(h5: h5py.File, name: str):
    if "settings" in h5 and name in h5["settings"]:
        raw = h5["settings"][name][()]
    elif name in h5.attrs:  # schema 1
        raw = h5.attrs[name]
    else:
        return {}
    return json.loads(raw.decode() if isinstance(raw, bytes) else raw)


def back_up_session(path) -> str:
    """Rename a session and its curation journal to ``NAME.backup-DATE.h5`` (and that name's journal);
    returns the backup's path. Reopened, the backup has its curation, journaled actions included."""
    from engine.curation.journal import journal_path

    path = os.fspath(path)
    root, ext = os.path.splitext(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup, n = f"{root}.backup-{stamp}{ext}", 1
    while os.path.lexists(backup) or os.path.lexists(journal_path(backup)):
        n += 1
        backup = f"{root}.backup-{stamp}-{n}{ext}"
    os.rename(path, backup)
    if os.path.exists(journal_path(path)):
        os.rename(journal_path(path), journal_path(backup))
    return backup


def load_session(path) -> Session:
    path = os.fspath(path)
    remove_stale_partials(path)
    if not os.path.exists(path):
        raise RecordingError(path, "no such session file")
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise RecordingError(path, f"cannot be read as HDF5 ({exc})") from None
    with h5:
        if "schema_version" not in h5.attrs or "model" not in h5:
            raise RecordingError(path, "is not a sparsesort session file")
        version = int(h5.attrs["schema_version"])
        if version > SCHEMA_VERSION:
            raise RecordingError(path, f"was written by a newer sparsesort (schema {version})")
        positions = h5.get("recording/channel_positions")
        floors = h5.get("model/min_amplitudes")  # sessions written before the floors have none
        settings = {name: _json_field(h5, name) for name in JSON_FIELDS}
        estimate = (MotionEstimate.from_arrays(settings["motion"].get("kind", "nonrigid"),
                                               {k: v[()] for k, v in h5["motion"].items()})
                    if "motion" in h5 else None)
        return Session(
            recording_path=str(h5.attrs["recording_path"]) or None,
            sampling_rate=float(h5.attrs["sampling_rate"]),
            filters=np.asarray(h5["model/filters"]),
            lam=float(h5["model"].attrs["lambda"]),
            spike_times=np.asarray(h5["spikes/times"]),
            spike_units=np.asarray(h5["spikes/units"]),
            spike_amplitudes=np.asarray(h5["spikes/amplitudes"]),
            thresholds=np.asarray(h5["model/thresholds"]),
            history={_OLD_CURVE_NAMES.get(k, k): np.asarray(v) for k, v in h5["history"].items()},
            channel_positions=None if positions is None else np.asarray(positions),
            min_amplitudes=None if floors is None else np.asarray(floors),
            schema_version=version,
            motion_estimate=estimate,
            **settings,
        )


def reopen_recording(session: Session):
    """The session's recording, opened as it was sorted (same reader options, same preprocessing)."""
    from engine.recording.preprocessing import PreprocessingConfig, preprocess
    from engine.recording.registry import open_recording

    if session.recording_path is None:
        raise RecordingError(None, "the session names no recording file")
    recording = open_recording(session.recording_path, **session.recording_args)
    config = PreprocessingConfig.from_dict(session.preprocessing) if session.preprocessing else None
    recording = preprocess(recording, config)
    if session.motion_estimate is not None:
        from engine.recording.motion import apply_motion
        recording = apply_motion(recording, session.motion_estimate)
    return recording
