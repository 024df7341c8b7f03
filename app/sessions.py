"""Sessions in the window: build one from the controller's state, save it, load one back; where the demo's goes.

Functions of the Controller (``Controller.build_session`` and the others call them) kept apart from
its training and sorting state machine.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from engine.errors import RecordingError
from engine.io.session import HISTORY_CURVES, Session, load_session as read_session, recording_info
from engine.io.session import save_session as write_session
from engine.recording.preprocessing import NO_PREPROCESSING, PreprocessingConfig
from engine.sorting.sorter import SortResult, detection_thresholds
from engine.training.trainer import TrainConfig

SESSION_SUFFIX = ".session.h5"
DEMO_SESSION_NAME = "sparsesort-demo" + SESSION_SUFFIX


def empty_history() -> dict:
    return {name: [] for name in HISTORY_CURVES}


def is_demo(recording_path: str | None) -> bool:
    from app.demo import cache_dir
    return bool(recording_path) and Path(recording_path).resolve().parent == cache_dir().resolve()


def default_session_path(recording_path: str, recordings_folder: str | None = None) -> str:
    """Next to the recording; the demo's (in the cache folder, where nobody looks) goes to the user's
    recordings folder (the folder of the last recording opened) or the home folder."""
    if is_demo(recording_path):
        folder = recordings_folder if recordings_folder and os.path.isdir(recordings_folder) else Path.home()
        return os.path.join(folder, DEMO_SESSION_NAME)
    return os.path.splitext(recording_path)[0] + SESSION_SUFFIX


def build_session(c) -> Session | None:
    if c.filters is None or c.recording is None:
        c.report_error("Nothing to save yet: train or load a model first.")
        return None
    spikes = c.spikes or SortResult(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32),
                                    c.recording.sampling_rate, len(c.filters))
    history = {k: v for k, v in c.history.items() if k != "filter_error" or all(v)}
    session = Session(c.recording_path, c.recording_args, c.recording.sampling_rate, c.filters,
                      float(c.lam), c.train_config.to_dict(), spikes.times, spikes.units,
                      spikes.amplitudes, detection_thresholds(c.lam, len(c.filters), c.min_amplitudes),
                      history,
                      preprocessing={} if c.preprocessing.is_identity else c.preprocessing.to_dict(),
                      recording_info=recording_info(c.recording),
                      channel_positions=c.recording.channel_positions, min_amplitudes=c.min_amplitudes,
                      motion=c.motion.settings(), motion_estimate=c.motion.estimate)
    c.curation.attach_to(session)
    return session


def save_session(c, path) -> bool:
    session = build_session(c)
    if session is None:
        return False
    try:
        write_session(path, session)
    except OSError as exc:
        c.report_error(f"{path}: cannot be written ({exc})")
        return False
    c.curation.session_saved(path)
    c.message.emit(f"Session saved to {path}")
    return True


def load_session(c, path) -> bool:
    try:
        session = read_session(path)
        if session.recording_path is None:
            raise RecordingError(path, "names no recording file")
    except RecordingError as exc:
        c.report_error(str(exc))
        return False
    preprocessing = (PreprocessingConfig.from_dict(session.preprocessing) if session.preprocessing
                     else NO_PREPROCESSING)
    if not c.open_recording(session.recording_path, preprocessing, estimate_motion=False,
                            **session.recording_args):
        return False
    if session.motion_estimate is not None:
        c.replace_recording(c.motion.adopt(c.recording, session.motion.get("kind", "nonrigid"),
                                           session.motion_estimate))
    known = set(TrainConfig().to_dict())
    c.train_config = TrainConfig(**{k: v for k, v in session.train_config.items() if k in known})
    c.set_model(session.filters, session.lam, session.min_amplitudes)
    c.spikes = SortResult(session.spike_times, session.spike_units, session.spike_amplitudes,
                          session.sampling_rate, len(session.filters))
    c.sorted_seconds = c.recording.duration
    c.history = empty_history()
    c.history.update({k: list(v) for k, v in session.history.items() if k in c.history})
    c.curation.adopt_session(path, session)
    c.message.emit(f"Session loaded from {path}")
    c.lambdaChanged.emit(c.lam)
    c.filtersChanged.emit(c.filters)
    c.historyChanged.emit()
    c.spikes_spliced = False  # a session's spikes: every view shows them
    c.spikesChanged.emit(c.spikes)
    return True
