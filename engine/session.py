"""Session files: everything a sorting run produced, in one HDF5 file.

Written atomically (temporary file + rename), so a crash mid-write never
leaves a half-written session behind.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import h5py
import numpy as np

from engine.errors import RecordingError

SCHEMA_VERSION = 1


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


def save_session(path, session: Session) -> None:
    path = os.fspath(path)
    tmp = f"{path}.tmp-{os.getpid()}"
    with h5py.File(tmp, "w") as h5:
        h5.attrs["schema_version"] = SCHEMA_VERSION
        h5.attrs["recording_path"] = session.recording_path or ""
        h5.attrs["recording_args"] = json.dumps(session.recording_args)
        h5.attrs["sampling_rate"] = session.sampling_rate
        h5.attrs["train_config"] = json.dumps(session.train_config)
        h5.attrs["metrics"] = json.dumps(session.metrics)
        model = h5.create_group("model")
        model["filters"] = session.filters
        model.attrs["lambda"] = session.lam
        model["thresholds"] = session.thresholds
        spikes = h5.create_group("spikes")
        spikes["times"] = session.spike_times
        spikes["units"] = session.spike_units
        spikes["amplitudes"] = session.spike_amplitudes
        history = h5.create_group("history")
        for key, values in session.history.items():
            history[key] = np.asarray(values)
    os.replace(tmp, path)


def load_session(path) -> Session:
    path = os.fspath(path)
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
        return Session(
            recording_path=str(h5.attrs["recording_path"]) or None,
            recording_args=json.loads(h5.attrs["recording_args"]),
            sampling_rate=float(h5.attrs["sampling_rate"]),
            filters=np.asarray(h5["model/filters"]),
            lam=float(h5["model"].attrs["lambda"]),
            train_config=json.loads(h5.attrs["train_config"]),
            spike_times=np.asarray(h5["spikes/times"]),
            spike_units=np.asarray(h5["spikes/units"]),
            spike_amplitudes=np.asarray(h5["spikes/amplitudes"]),
            thresholds=np.asarray(h5["model/thresholds"]),
            history={k: np.asarray(v) for k, v in h5["history"].items()},
            metrics=json.loads(h5.attrs["metrics"]),
        )
