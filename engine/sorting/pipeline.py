"""The one pipeline from a recording to its sort; ``sparsesort sort``, the window and
``run_sparsesort`` all go through it, with one set of defaults.

    raw recording -> preprocessing (the auto rule, or as given) -> motion correction (on long probes)
                  -> training (TrainConfig: lengths in ms and s, steps from the duration and channels)
                  -> sorting the whole recording -> one code per spike (engine.sorting.double_codes)
                  -> units that are one neuron, to merge (engine.sorting.same_neuron)

Every default is derived from the recording itself (its sampling rate, duration, channel count and
probe geometry), never given in samples or channel indices.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from engine.recording.base import Recording
from engine.recording.motion import MotionEstimate, correct_motion, resolve_motion
from engine.recording.preprocessing import PreprocessingConfig, default_config, preprocess
from engine.sorting.double_codes import drop_double_codes
from engine.sorting.same_neuron import same_neuron_groups
from engine.sorting.sorter import SortResult, sort_recording
from engine.training.trainer import Snapshot, TrainConfig, Trainer


@dataclass
class PipelineSettings:
    """What a user chooses; None and 'auto' mean: derived from the recording."""

    train: TrainConfig = field(default_factory=TrainConfig)
    preprocessing: PreprocessingConfig | None = None  # None: engine.recording.preprocessing.default_config
    motion: str = "auto"  # auto, none, rigid or nonrigid (engine.recording.motion)


@dataclass
class PreparedRecording:
    """The recording the model sees, and how it was made from the raw one."""

    raw: Recording
    recording: Recording
    preprocessing: PreprocessingConfig
    motion: str  # none, rigid or nonrigid: what was done
    motion_estimate: MotionEstimate | None = None


@dataclass
class SortOutcome:
    prepared: PreparedRecording
    trainer: Trainer
    result: SortResult
    train_seconds: float
    sort_seconds: float

    @property
    def recording(self) -> Recording:
        return self.prepared.recording


def prepare_recording(raw: Recording, settings: PipelineSettings | None = None) -> PreparedRecording:
    """Preprocess, then correct motion where the probe is long enough for it to matter (or as asked)."""
    settings = settings or PipelineSettings()
    preprocessing = default_config(raw) if settings.preprocessing is None else settings.preprocessing
    recording = preprocess(raw, preprocessing)
    motion = resolve_motion(settings.motion, raw)
    estimate = None
    if motion != "none":
        recording, estimate = correct_motion(recording, motion)
    return PreparedRecording(raw, recording, preprocessing, motion, estimate)


#: The whole-recording sort: ``sorter(recording, model, progress=...)`` -> SortResult.
Sorter = Callable[..., SortResult]


def sort(raw: Recording, settings: PipelineSettings | None = None, *,
         on_snapshot: Callable[[Snapshot], None] | None = None, progress: Callable[[int], None] | None = None,
         prepared: PreparedRecording | None = None, snapshot_interval: float = 0.5,
         sorter: Sorter = sort_recording) -> SortOutcome:
    """Learn the filters and sort the whole recording. ``on_snapshot`` sees training as it goes;
    ``progress`` gets the number of samples sorted after each chunk. ``sorter`` sorts the whole
    recording with the learned model, called as ``sorter(recording, model, progress=progress)``
    (default ``sort_recording`` in this process; engine.distributed passes its chunks on a cluster)."""
    settings = settings or PipelineSettings()
    prepared = prepared or prepare_recording(raw, settings)
    trainer = Trainer(prepared.recording, settings.train, snapshot_interval=snapshot_interval)
    start = time.perf_counter()
    trainer.initialize()
    for snapshot in trainer.steps():
        if on_snapshot is not None:
            on_snapshot(snapshot)
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    result = drop_double_codes(sorter(prepared.recording, trainer.model, progress=progress),
                               prepared.recording.n_samples)
    result.merges = same_neuron_groups(result, trainer.model.filters(), prepared.recording.channel_positions,
                                       prepared.recording.n_samples)
    return SortOutcome(prepared, trainer, result, train_seconds, time.perf_counter() - start)
