"""What a Dask worker needs to open a recording itself: never its traces, only how to read them.

A ``RecordingSource`` holds what a session file holds for the same purpose (the path, the reader's
options, the preprocessing and the motion estimate) and opens the recording with
``engine.io.session.reopen_recording``, as a saved session is reopened. A recording without a file
(simulated in memory) travels as it is. Each worker process keeps the last few recordings it opened,
so that a whitening matrix or a motion interpolation is made once per worker, not once per chunk.
"""
from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

from engine.recording.base import Recording
from engine.recording.motion import MotionEstimate

KEEP_OPEN = 2  # recordings a worker keeps open


@dataclass(frozen=True, eq=False)
class RecordingSource:
    recording_path: str | None  # the names of engine.io.session.Session, which reopen_recording reads
    recording_args: dict = field(default_factory=dict)  # what open_recording is given beyond the path
    preprocessing: dict = field(default_factory=dict)  # PreprocessingConfig.to_dict(); {}: none
    motion_estimate: MotionEstimate | None = None
    recording: Recording | None = None  # a recording without a file, sent as it is
    key: str = field(default_factory=lambda: uuid.uuid4().hex)  # the workers' cache key

    @classmethod
    def of_file(cls, path, recording_args: dict | None = None, preprocessing=None,
                motion_estimate: MotionEstimate | None = None) -> "RecordingSource":
        """``preprocessing``: a PreprocessingConfig, its dict, or None for none."""
        if preprocessing is not None and not isinstance(preprocessing, dict):
            preprocessing = {} if preprocessing.is_identity else preprocessing.to_dict()
        return cls(str(path), dict(recording_args or {}), dict(preprocessing or {}), motion_estimate)

    @classmethod
    def in_memory(cls, recording: Recording) -> "RecordingSource":
        return cls(None, recording=recording)

    def open(self) -> Recording:
        if self.recording is not None:
            return self.recording
        from engine.io.session import reopen_recording
        return reopen_recording(self)


_opened: OrderedDict[str, Recording] = OrderedDict()
_lock = threading.Lock()


def opened(source: RecordingSource) -> Recording:
    """The recording of ``source``, opened once per worker process."""
    with _lock:
        recording = _opened.get(source.key)
        if recording is None:
            recording = _opened[source.key] = source.open()
            while len(_opened) > KEEP_OPEN:
                _opened.popitem(last=False)
        _opened.move_to_end(source.key)
        return recording
