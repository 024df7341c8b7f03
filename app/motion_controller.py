"""Motion correction in the application: estimated on a thread of its own after a recording opens.

The recording is shown at once as it is; once SpikeInterface has estimated the motion, the corrected
recording replaces it (the same rule as ``sparsesort sort --motion auto``), and the Drift map view
shows the estimate. Training asked for meanwhile starts when the corrected recording is there.
"""
from __future__ import annotations

from PyQt6.QtCore import QObject, pyqtSignal, pyqtSlot

from app.worker import EngineWorker
from engine.recording.motion import MotionEstimate, apply_motion, correct_motion, resolve_motion


class MotionWorker(EngineWorker):
    corrected = pyqtSignal(int, object, object)  # generation, Recording, MotionEstimate
    done = pyqtSignal(int)

    failure_prefix = "Motion correction failed: "

    @pyqtSlot(int, object, str)
    def correct(self, generation: int, recording, kind: str) -> None:
        try:
            with self.guarded():
                corrected, estimate = correct_motion(recording, kind)
                if not self.is_stale(generation):
                    self.corrected.emit(generation, corrected, estimate)
        finally:
            self.done.emit(generation)


class MotionController(QObject):
    changed = pyqtSignal()  # the estimate, or whether one is being made, changed
    _correctRequested = pyqtSignal(int, object, str)

    def __init__(self, controller):
        super().__init__(controller)
        self.controller = controller
        self.choice = "auto"  # auto, none, rigid or nonrigid
        self.kind = "none"  # what is (being) done to the current recording
        self.estimate: MotionEstimate | None = None
        self.pending = False
        self._generation = 0
        self.worker = controller.start_worker(MotionWorker(), "motion")
        self.worker.log.connect(controller.message)
        self.worker.failed.connect(controller.report_error)
        self.worker.corrected.connect(self._on_corrected)
        self.worker.done.connect(self._on_done)
        self._correctRequested.connect(self.worker.correct)

    def reset(self) -> None:
        self._generation += 1
        self.worker.generation = self._generation
        self.estimate, self.pending, self.kind = None, False, "none"

    def start(self, recording) -> None:
        """A recording was opened: estimate its motion in the background if the rule says so."""
        self.reset()
        self.kind = resolve_motion(self.choice, recording)
        if self.kind != "none":
            self.pending = True
            self.controller.message.emit(f"Estimating the probe's motion ({self.kind}) ...")
            self._correctRequested.emit(self._generation, recording, self.kind)
        self.changed.emit()

    def adopt(self, recording, kind: str, estimate: MotionEstimate | None):
        """A session's recording: its stored estimate corrects it again, without re-estimating."""
        self.reset()
        if estimate is None:
            self.changed.emit()
            return recording
        self.kind, self.estimate = kind, estimate
        self.changed.emit()
        return apply_motion(recording, estimate)

    def _on_corrected(self, generation: int, recording, estimate: MotionEstimate) -> None:
        if generation != self._generation:
            return
        self.estimate = estimate
        drift = float(estimate.displacement_um.max() - estimate.displacement_um.min())
        self.controller.message.emit(f"Motion corrected ({self.kind}): {drift:.0f} µm of drift at most")
        self.controller.replace_recording(recording)

    def _on_done(self, generation: int) -> None:
        if generation == self._generation:
            self.pending = False
            self.changed.emit()
            self.controller.motion_settled()

    def settings(self) -> dict:
        return {"choice": self.choice, "kind": self.kind if self.estimate is not None else "none"}
