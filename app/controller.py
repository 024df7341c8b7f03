"""The one owner of the application's state; views read it and react to its signals."""
from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal

from app import sessions
from app.latest_only import LatestOnly
from app.sessions import empty_history
from app.curation_controller import CurationController
from app.jobs import Jobs
from app.motion_controller import MotionController
from app.trace_loader import TraceLoader, TraceRequest
from app.worker_threads import WorkerThreads
from app.workers import ModelSpec, SortRequest, SortWorker, TrainingWorker
from engine.errors import RecordingError
from engine.recording.noise import noise_std
from engine.recording.preprocessing import NO_PREPROCESSING, PreprocessingConfig, default_config, preprocess
from engine.recording.base import Recording
from engine.recording.registry import open_recording
from engine.io.session import Session
from engine.sorting.sorter import SortResult
from engine.sorting.splice import spliced
from engine.training.trainer import Snapshot, TrainConfig

IDLE, TRAINING, PAUSED, STOPPING = "idle", "training", "paused", "stopping"
NOISE_ESTIMATE_SECONDS = 5.0
SNAPSHOT_GAP_MS = 100  # the views follow training's snapshots at most this often (each update costs them 60 ms)


class Controller(WorkerThreads, QObject):
    recordingChanged = pyqtSignal(object)  # Recording
    trainingStateChanged = pyqtSignal(str)
    snapshotReceived = pyqtSignal(object)  # Snapshot
    filtersChanged = pyqtSignal(object)  # (units, channels, taps) numpy array
    historyChanged = pyqtSignal()
    lambdaChanged = pyqtSignal(float)
    lambdaAutoChanged = pyqtSignal(bool)  # lambda learned by EM while training
    spikesChanged = pyqtSignal(object)  # SortResult
    sortProgress = pyqtSignal(int)  # percent of the whole-recording sort, 100 when done
    selectionChanged = pyqtSignal(list)  # cluster ids of the curation
    centerRequested = pyqtSignal(float)  # seconds
    traceChannelsChanged = pyqtSignal(object)  # channels the Traces show, None for all
    traceWindowLoaded = pyqtSignal(object)  # TraceWindow
    deviceChanged = pyqtSignal(str)
    message = pyqtSignal(str)  # log line
    notice = pyqtSignal(str)  # for the status bar (also logged)
    errorOccurred = pyqtSignal(str)  # shown to the user, also logged
    shutdownFinished = pyqtSignal()
    # Queued hand-offs to the workers' threads.
    _trainRequested = pyqtSignal(object, object)
    _sortRequested = pyqtSignal(object)
    _tracesRequested = pyqtSignal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.recording: Recording | None = None
        self.recording_path: str | None = None
        self.recording_args: dict = {}
        self.preprocessing = NO_PREPROCESSING
        self.train_config = TrainConfig()
        self.filters: np.ndarray | None = None
        self.lam: float | None = None
        self.filters_version = 0  # raised with every new filters array: caches key on it
        self.recordings_folder: str | None = None  # where the user's recordings are (the demo's session goes there)
        self.trace_channels: list[int] | None = None  # the Traces' channels (chosen on the probe view)
        self.hide_noise = False  # clusters labelled noise: hidden (True) or greyed in every view
        self.min_amplitudes: np.ndarray | None = None
        self.spikes: SortResult | None = None
        # the last spikes were a window's re-sort spliced into the whole sort's: the same units, and
        # only the stretch on screen changed (the views of the whole units wait for the next whole sort)
        self.spikes_spliced = False
        self.sorted_seconds = 0.0  # how much of the recording the spikes cover (the visible window while training)
        self.history = empty_history()
        self.noise_sigma: np.ndarray | None = None
        self.selected_units: list[int] = []
        self.training_state = IDLE
        self.visible_window = (0, 0)  # samples shown by the trace view
        self.last_trace_request: TraceRequest | None = None
        self._lambda_from_user = False
        self.lambda_auto = False
        self._window_sort_in_flight = False
        self._sort_generation = 0
        self._trace_request_id = 0
        self._closing = False
        self._init_threads()
        self.training_worker = self.start_worker(TrainingWorker(), "training")
        self.sort_worker = self.start_worker(SortWorker(), "sorting")
        self.trace_loader = self.start_worker(TraceLoader(), "traces")
        self.filtersChanged.connect(self._bump_filters_version)  # first: before any view reads the filters
        self._wire_workers()
        self.notice.connect(self.message)
        self.jobs = Jobs(self)  # export, quality metrics, suggestions, features, the demo's simulation
        self.curation = CurationController(self)
        self.motion = MotionController(self)
        self._queued_training: TrainConfig | None = None  # asked for while motion was being estimated
        self._snapshots = LatestOnly(self, SNAPSHOT_GAP_MS, self._show_snapshot)  # the newest to the views

    # -- workers (started and ended by app/worker_threads.py) -------------------
    def _wire_workers(self) -> None:
        for worker in (self.training_worker, self.sort_worker, self.trace_loader):
            worker.log.connect(self.message)
        self._trainRequested.connect(self.training_worker.train)
        self._sortRequested.connect(self.sort_worker.sort)
        self._tracesRequested.connect(self.trace_loader.load)
        self.training_worker.snapshot.connect(self._on_snapshot)
        self.training_worker.deviceChosen.connect(self.deviceChanged)
        self.training_worker.failed.connect(self.report_error)
        self.training_worker.done.connect(self._on_training_done)
        self.sort_worker.sorted.connect(self._on_sorted)
        self.sort_worker.progress.connect(self._on_sort_progress)
        self.sort_worker.failed.connect(self.report_error)
        self.sort_worker.failed.connect(self._on_sort_failed)
        self.sort_worker.idle.connect(self._on_sort_idle)
        self.trace_loader.loaded.connect(self._on_traces_loaded)
        self.trace_loader.failed.connect(self.report_error)

    def report_error(self, text: str) -> None:
        """Show an error to the user (the window's message box and status bar) and log it."""
        self.message.emit(f"ERROR: {text}")
        self.errorOccurred.emit(text)

    # -- recordings -----------------------------------------------------------
    def open_recording(self, path, preprocessing: PreprocessingConfig | None = None, estimate_motion: bool = True,
                       **args) -> bool:
        """Open a file; without ``preprocessing``, the engine's default rule picks it (as ``sort`` does), and
        motion is corrected in the background by the same rule as ``sort --motion auto``."""
        try:
            raw = open_recording(path, **args)
            config = default_config(raw) if preprocessing is None else preprocessing
            recording = preprocess(raw, config)
            self.set_recording(recording, os.fspath(path), args)  # reads the first seconds: bad samples show here
        except (RecordingError, ValueError, OSError) as exc:
            self.report_error(str(exc))
            return False
        self.preprocessing = config
        if not config.is_identity:
            self.message.emit(f"Preprocessing: {config.to_dict()}")
        if estimate_motion:
            self.motion.start(recording)
        return True

    def replace_recording(self, recording: Recording) -> None:
        """The same recording, read another way (motion-corrected): views reload, the model is kept."""
        self.recording = recording
        self._next_sort_generation()
        self.recordingChanged.emit(recording)

    def motion_settled(self) -> None:
        if self._queued_training is not None:
            config, self._queued_training = self._queued_training, None
            self.start_training(config)

    def set_recording(self, recording: Recording, path: str | None = None, args: dict | None = None) -> None:
        if self.training_state != IDLE:
            self.stop_training()
        self.recording, self.recording_path, self.recording_args = recording, path, dict(args or {})
        self.motion.reset()
        self._queued_training = None
        self.preprocessing = NO_PREPROCESSING
        self.filters, self.spikes, self.lam, self.min_amplitudes = None, None, None, None
        self._snapshots.drop()  # one of the old recording's, not shown
        self._lambda_from_user = False
        self.history = empty_history()
        self.selected_units = []
        self.trace_channels = None
        self._next_sort_generation()
        n = min(recording.n_samples, int(NOISE_ESTIMATE_SECONDS * recording.sampling_rate))
        self.noise_sigma = noise_std(recording.traces(0, n)) if n else None
        self.message.emit(f"Opened {path or 'in-memory recording'}: {recording.describe()}")
        self.recordingChanged.emit(recording)
        self.historyChanged.emit()

    # -- training -------------------------------------------------------------
    def start_training(self, config: TrainConfig | None = None) -> bool:
        if self.recording is None or self.training_state != IDLE:
            return False
        if self.motion.pending:
            self._queued_training = config or self.train_config
            self.message.emit("Training starts once the motion is corrected")
            return True
        self.train_config = replace(config or self.train_config, lam_auto=self.lambda_auto)
        run_config = replace(self.train_config, lam=self.lam if self._lambda_from_user else self.train_config.lam)
        self.history = empty_history()
        self.historyChanged.emit()
        self._set_state(TRAINING)
        self.message.emit(f"Training started: {run_config.to_dict()}")
        self._trainRequested.emit(self.recording, run_config)
        return True

    def pause_training(self) -> None:
        if self.training_state == TRAINING:
            self.training_worker.pause()
            self._set_state(PAUSED)

    def resume_training(self) -> None:
        if self.training_state == PAUSED:
            self.training_worker.resume()
            self._set_state(TRAINING)

    def stop_training(self) -> None:
        if self.training_state in (TRAINING, PAUSED):
            self.training_worker.stop()
            self._set_state(STOPPING)

    def _set_state(self, state: str) -> None:
        self.training_state = state
        self.trainingStateChanged.emit(state)

    def _on_snapshot(self, snap: Snapshot) -> None:
        """Every snapshot goes into the history; the views are shown the newest one at most every
        SNAPSHOT_GAP_MS (shown each, 20 a second at 60 ms each left the event loop no time: the window
        froze while training)."""
        if self._closing:
            return
        if not self._lambda_from_user:
            self.lam = snap.lam
            self.lambdaChanged.emit(snap.lam)
        h = self.history
        for key, value in (("step", snap.step), ("elapsed", snap.elapsed), ("loss", snap.loss),
                           ("snr_db", snap.snr_db), ("lam", snap.lam),
                           ("filter_error", snap.filter_error or [])):
            h[key].append(value)
        self.snapshotReceived.emit(snap)
        self._snapshots.push(snap)

    def _show_snapshot(self, snap: Snapshot) -> None:
        """The snapshot's filters and the history to the views, and the visible window re-sorted."""
        if self._closing:
            return
        self.filters, self.min_amplitudes = snap.filters, snap.min_amplitudes
        self.filtersChanged.emit(snap.filters)
        self.historyChanged.emit()
        if not self._window_sort_in_flight:
            self._sort_visible_window()

    def _on_training_done(self) -> None:
        if self._closing:
            return
        self._snapshots.flush()  # the last filters, before the whole recording is sorted with them
        self._set_state(IDLE)
        learned = f"; lambda learned by EM: {self.lam:.4g}" if self.lambda_auto and self.lam is not None else ""
        self.message.emit(f"Training ended after {self.history['step'][-1] if self.history['step'] else 0} steps"
                          f"{learned}")
        self.sort_all()

    # -- lambda and sorting ---------------------------------------------------
    def set_lambda(self, value: float) -> None:
        value = float(value)
        if self.lam is not None and np.isclose(value, self.lam, rtol=1e-6):
            return
        self.set_lambda_auto(False)
        self.lam = value
        self._lambda_from_user = True
        self.lambdaChanged.emit(value)
        if self.training_state in (TRAINING, PAUSED):
            self.training_worker.set_lambda(value)
        self.sort_all()

    def set_lambda_auto(self, enabled: bool) -> None:
        """Learn lambda by EM while training, the shown value following the snapshots; a manual lambda ends it."""
        enabled = bool(enabled)
        if enabled == self.lambda_auto:
            return
        self.lambda_auto = enabled
        if enabled:
            self._lambda_from_user = False
        if self.training_state in (TRAINING, PAUSED):
            self.train_config = replace(self.train_config, lam_auto=enabled)
            self.training_worker.set_auto_lambda(enabled)
        self.lambdaAutoChanged.emit(enabled)

    def _bump_filters_version(self, _filters=None) -> None:
        self.filters_version += 1

    def set_model(self, filters: np.ndarray, lam: float, min_amplitudes: np.ndarray | None = None) -> None:
        """A model from elsewhere (a session): its lambda is kept as if the user had set it."""
        self.filters, self.lam, self.min_amplitudes, self._lambda_from_user = filters, lam, min_amplitudes, True

    def set_trace_channels(self, channels) -> None:
        """Show only these channels in the Traces (None or empty: all of them)."""
        self.trace_channels = sorted(set(int(ch) for ch in channels)) if channels is not None and len(channels) else None
        self.traceChannelsChanged.emit(self.trace_channels)

    def set_hide_noise(self, hidden: bool) -> None:
        """Clusters labelled noise are hidden (or, when False, greyed) in every view."""
        self.hide_noise = bool(hidden)
        self.curation.changed.emit()

    def _model_spec(self) -> ModelSpec | None:
        if self.filters is None or self.lam is None:
            return None
        return ModelSpec(self.filters, self.lam, self.train_config.n_steps, self.train_config.debias_steps,
                         self.min_amplitudes, self.filters_version)

    def _next_sort_generation(self) -> int:
        self._sort_generation += 1
        self.sort_worker.generation = self._sort_generation
        return self._sort_generation

    def _sort_visible_window(self) -> None:
        spec = self._model_spec()
        start, stop = self.visible_window
        if spec is None or stop <= start:
            return
        self._window_sort_in_flight = True
        self._sortRequested.emit(SortRequest(self._sort_generation, self.recording, spec, start, stop))

    def sort_all(self) -> None:
        """Re-sort the visible window at once, then the whole recording in the background."""
        spec = self._model_spec()
        if spec is None:
            return
        generation = self._next_sort_generation()
        self._sort_visible_window()
        self.sortProgress.emit(0)
        self._sortRequested.emit(SortRequest(generation, self.recording, spec))

    def _on_sorted(self, request: SortRequest, result: SortResult) -> None:
        if self._closing or request.recording is not self.recording:
            return
        self.spikes_spliced = not (request.whole or self.spikes is None or self.spikes.n_units != result.n_units)
        if not self.spikes_spliced:
            self.spikes = result
            stop = self.recording.n_samples if request.stop is None else request.stop
            self.sorted_seconds = (stop - request.start) / self.recording.sampling_rate
        else:
            self.spikes = spliced(self.spikes, result, request.start, request.stop)
        if request.whole:
            self.sortProgress.emit(100)
            self.message.emit(f"Sorted the recording: {len(result)} spikes, per unit {result.counts().tolist()}")
        self.spikesChanged.emit(self.spikes)

    def _on_sort_progress(self, generation: int, percent: int) -> None:
        if generation == self._sort_generation:
            self.sortProgress.emit(percent)

    def _on_sort_failed(self, _text: str) -> None:
        self.sortProgress.emit(100)  # the sort has ended: its progress bar goes

    def _on_sort_idle(self) -> None:
        self._window_sort_in_flight = False

    # -- trace browsing -------------------------------------------------------
    def set_visible_window(self, start: int, stop: int) -> None:
        self.visible_window = (int(start), int(stop))

    def request_traces(self, start: int, stop: int, pixels: int, overlay: bool = False) -> None:
        if self.recording is None:
            return
        self._trace_request_id += 1
        self.trace_loader.generation = self._trace_request_id
        request = TraceRequest(self._trace_request_id, self.recording, int(start), int(stop), max(1, int(pixels)),
                               self._model_spec() if overlay else None)
        self.last_trace_request = request
        self._tracesRequested.emit(request)

    def _on_traces_loaded(self, window) -> None:
        if not self._closing and window.request_id == self._trace_request_id:
            self.traceWindowLoaded.emit(window)

    def center_on(self, seconds: float) -> None:
        self.centerRequested.emit(float(seconds))

    # -- units ----------------------------------------------------------------
    def set_selected_units(self, units) -> None:
        units = sorted(set(int(u) for u in units))
        if units != self.selected_units:
            self.selected_units = units
            self.selectionChanged.emit(units)

    # -- sessions (app/sessions.py) ---------------------------------------------
    def build_session(self) -> Session | None:
        """Everything there is to save or export, as a session (None, with a message, before a model exists)."""
        return sessions.build_session(self)

    def save_session(self, path) -> bool:
        return sessions.save_session(self, path)

    def load_session(self, path) -> bool:
        return sessions.load_session(self, path)

    # -- shutdown -------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop all work cooperatively; ``shutdownFinished`` follows when every thread has ended."""
        if self._closing:
            return
        self._closing = True
        self.training_worker.stop()
        self._next_sort_generation()
        self.trace_loader.generation = self._trace_request_id + 1
        self._end_threads()
