"""Engine work off the GUI thread: QObjects that live on their own QThreads.

The engine never sees Qt; these thin wrappers run its generators and plain
functions and turn their results into queued signals. Control from the GUI
thread goes through the trainer's thread-safe methods or plain integer
"generation" counters, never through waiting.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PyQt6.QtCore import pyqtSignal, pyqtSlot

from app.worker import EngineWorker

from engine.model.device import describe_device
from engine.model.autoencoder import ConvSparseAutoencoder
from engine.recording.base import Recording
from engine.sorting.double_codes import drop_double_codes
from engine.sorting.same_neuron import same_neuron_groups
from engine.sorting.sorter import REFRACTORY_MS, sort_recording, window_chunk
from engine.training.trainer import Trainer, TrainConfig

@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild a sorting model from plain data."""

    filters: np.ndarray
    lam: float
    n_steps: int
    debias_steps: int
    min_amplitudes: np.ndarray | None = None  # per-unit amplitude floors, once training has estimated them
    version: int | None = None  # the controller's filters_version: raised with every filter update

    def build(self, sampling_rate: float) -> ConvSparseAutoencoder:
        peak_distance = max(1, int(round(REFRACTORY_MS * sampling_rate / 1000.0)))
        model = ConvSparseAutoencoder(self.filters, self.lam, self.n_steps, self.debias_steps, peak_distance)
        model.min_amplitudes = self.min_amplitudes
        return model


class ModelCache:
    """Rebuilds the model only when the filters change (another array, or the same array at a newer
    version: an update in place) or the step count does; lambda and the floors are set on the cached
    model. The key holds the array itself, so it cannot be freed and its id reused by another array."""

    def __init__(self):
        self._key: tuple | None = None
        self._model = None

    def _same_key(self, key: tuple) -> bool:
        return self._key is not None and self._key[0] is key[0] and self._key[1:] == key[1:]

    def get(self, spec: ModelSpec, sampling_rate: float) -> ConvSparseAutoencoder:
        key = (spec.filters, spec.version, spec.n_steps, spec.debias_steps, sampling_rate)
        if not self._same_key(key):
            self._model, self._key = spec.build(sampling_rate), key
        self._model.lam = spec.lam
        self._model.min_amplitudes = spec.min_amplitudes
        return self._model


class TrainingWorker(EngineWorker):
    snapshot = pyqtSignal(object)  # engine.training.trainer.Snapshot
    deviceChosen = pyqtSignal(str)
    done = pyqtSignal()

    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()
        self._trainer: Trainer | None = None
        self._stop_requested = False

    @pyqtSlot(object, object)
    def train(self, recording: Recording, config: TrainConfig) -> None:
        try:
            with self.guarded():
                trainer = Trainer(recording, config, snapshot_interval=0.05)
                with self._lock:
                    self._trainer = trainer
                    if self._stop_requested:
                        trainer.stop()
                self.deviceChosen.emit(describe_device(trainer.device))
                self.log.emit("Initialising filters from threshold crossings ...")
                trainer.initialize()
                self.log.emit(f"Training {trainer.model.n_units} units on {describe_device(trainer.device)}, "
                              f"lambda {trainer.model.lam:.3g}")
                for snap in trainer.steps():
                    self.snapshot.emit(snap)
        finally:
            with self._lock:
                self._trainer = None
                self._stop_requested = False
            self.done.emit()

    # Called from the GUI thread: the trainer's controls are thread-safe flags.
    def _control(self, name: str, *args) -> None:
        with self._lock:
            if self._trainer is not None:
                getattr(self._trainer, name)(*args)

    def pause(self) -> None:
        self._control("pause")

    def resume(self) -> None:
        self._control("resume")

    def set_lambda(self, value: float) -> None:
        self._control("set_lambda", value)

    def set_auto_lambda(self, enabled: bool) -> None:
        self._control("set_auto_lambda", enabled)

    def stop(self) -> None:
        with self._lock:
            self._stop_requested = self._trainer is None
        self._control("stop")


@dataclass(frozen=True)
class SortRequest:
    generation: int
    recording: Recording
    spec: ModelSpec
    start: int = 0
    stop: int | None = None  # None: to the end of the recording

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.stop is None


DASK_CONNECT_TIMEOUT_S = 5.0


def dask_source(controller, recording: Recording):
    """How Dask workers open the window's recording: its file, reader options, preprocessing and motion
    estimate, as a session keeps them (engine.distributed.RecordingSource); None for another recording."""
    from engine.distributed import RecordingSource

    if recording is not controller.recording or not controller.recording_path:
        return None
    return RecordingSource.of_file(controller.recording_path, controller.recording_args, controller.preprocessing,
                                   controller.motion.estimate)


class SortWorker(EngineWorker):
    """Sorts a window or the whole recording; newer generations cancel older work.

    With ``scheduler`` set (a Dask scheduler's address, written by the GUI thread), the whole recording
    is sorted on that cluster's workers, which open it with ``source_of(recording)``; a recording
    without one (no file) is sent to them as it is."""

    sorted = pyqtSignal(object, object)  # SortRequest, SortResult
    progress = pyqtSignal(int, int)  # generation, percent
    idle = pyqtSignal()

    def __init__(self):
        super().__init__()
        self._models = ModelCache()
        self.scheduler = ""  # "": sort here
        self.source_of: Callable[[Recording], object] = lambda recording: None

    @pyqtSlot(object)
    def sort(self, request: SortRequest) -> None:
        if self.is_stale(request.generation):
            return  # a newer lambda or model arrived while this waited in the queue
        try:
            with self.guarded():
                self._sort(request)
        finally:
            self.idle.emit()

    def _sort(self, request: SortRequest) -> None:
        rec = request.recording
        model = self._models.get(request.spec, rec.sampling_rate)
        stop = rec.n_samples if request.stop is None else request.stop
        total = max(1, stop - request.start)
        done = 0

        def progress(n_samples: int) -> None:
            nonlocal done
            self.raise_if_stale(request.generation)
            done += n_samples
            if request.whole:
                self.progress.emit(request.generation, min(100, int(100 * done / total)))

        scheduler = self.scheduler
        if request.whole and scheduler:
            result = self._sort_on_dask(scheduler, rec, model, progress)
            if result is None:
                return
        else:
            chunk = None if request.whole else window_chunk(model, total)  # the window on both cores
            result = sort_recording(rec, model, start=request.start, stop=stop, chunk=chunk, progress=progress,
                                    keep_correlations=not request.whole)  # the next λ re-sorts this window
        result = drop_double_codes(result, total)  # as engine.sorting.pipeline does
        if request.whole:
            result.merges = same_neuron_groups(result, model.filters(), rec.channel_positions, rec.n_samples)
        if not self.is_stale(request.generation):
            self.sorted.emit(request, result)

    def _sort_on_dask(self, scheduler: str, recording: Recording, model, progress):
        from engine.distributed import SchedulerUnreachable, dask_client, sort_on_cluster

        self.log.emit(f"Sorting the whole recording on the Dask scheduler at {scheduler} ...")
        try:
            with dask_client(scheduler=scheduler, timeout=DASK_CONNECT_TIMEOUT_S) as client:
                return sort_on_cluster(client, recording, model, self.source_of(recording), progress=progress)
        except SchedulerUnreachable as exc:
            self.failed.emit(f"Sorting failed: {exc}. Start the scheduler, or clear Training > Dask scheduler... "
                             "to sort in this window.")
            return None
