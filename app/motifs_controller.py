"""Firing-motif discovery in the application: the worker that runs it and the state the Motifs view shows.

Motifs are learned from the clusters of the current sorting (as curated,
without those labelled noise) on a thread of their own. A result belongs to
the spikes it was learned from: it is dropped, and a run still going is
cancelled, when the spikes change or another recording opens.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PyQt6.QtCore import QObject, QThread, pyqtSignal, pyqtSlot

from app.worker import Cancelled, EngineWorker
from engine.curation.model import DELETED_LABEL
from engine.motifs.discovery import MotifConfig, MotifResult, bin_spikes, discover_motifs


@dataclass(frozen=True)
class MotifRequest:
    generation: int
    times: np.ndarray  # sample of each spike that takes part
    rows: np.ndarray  # row of each spike in the binned counts
    unit_ids: tuple[int, ...]  # the cluster each row stands for
    sampling_rate: float
    n_samples: int
    config: MotifConfig


@dataclass(frozen=True)
class FoundMotifs:
    result: MotifResult
    unit_ids: tuple[int, ...]  # the cluster of each row of the motifs


class MotifWorker(EngineWorker):
    found = pyqtSignal(object, object)  # MotifRequest, MotifResult
    done = pyqtSignal()

    failure_prefix = "Motif discovery failed: "

    @pyqtSlot(object)
    def discover(self, request: MotifRequest) -> None:
        def check_cancelled(step: int, loss: float) -> None:
            self.raise_if_stale(request.generation)
            if QThread.currentThread().isInterruptionRequested():
                raise Cancelled

        try:
            with self.guarded():
                counts = bin_spikes(request.times, request.rows, len(request.unit_ids), request.sampling_rate,
                                    request.config.bin_ms, request.n_samples)
                result = discover_motifs(counts, request.config, callback=check_cancelled)
                if not self.is_stale(request.generation):
                    self.found.emit(request, result)
        finally:
            self.done.emit()


class MotifsController(QObject):
    changed = pyqtSignal()  # running, availability or the found motifs changed
    _discoverRequested = pyqtSignal(object)

    def __init__(self, controller):
        super().__init__(controller)
        self.controller = controller
        self.found: FoundMotifs | None = None
        self.running = False
        self._generation = 0
        self.worker = controller.start_worker(MotifWorker(), "motifs")
        self.worker.log.connect(controller.message)
        self.worker.failed.connect(controller.report_error)
        self.worker.found.connect(self._on_found)
        self.worker.done.connect(self._on_done)
        self._discoverRequested.connect(self.worker.discover)
        controller.spikesChanged.connect(lambda _: self._forget())
        controller.recordingChanged.connect(lambda _: self._forget())

    @property
    def available(self) -> bool:
        """Whether there are sorted spikes to learn motifs from."""
        spikes = self.controller.spikes
        return self.controller.recording is not None and spikes is not None and len(spikes) > 0

    def discover(self, config: MotifConfig) -> bool:
        """Start learning motifs; False, and nothing started, while a run goes on or without sorted spikes."""
        if self.running or not self.available:
            return False
        request = self._request(config)
        if not request.unit_ids:
            self.controller.report_error("No units to learn motifs from: every cluster is labelled noise.")
            return False
        self.running = True
        self.controller.message.emit(f"Learning {config.k} motifs from {len(request.unit_ids)} units "
                                     f"({config.bin_ms:g} ms bins, {config.motif_ms:g} ms long) ...")
        self._discoverRequested.emit(request)
        self.changed.emit()
        return True

    def _request(self, config: MotifConfig) -> MotifRequest:
        c = self.controller
        spikes, curation = c.spikes, c.curation.curation
        if curation is not None and len(curation.times) == len(spikes):
            clusters = curation.spike_clusters()
            unit_ids = np.array([u for u in curation.cluster_ids() if curation.label_of(u) != DELETED_LABEL],
                                dtype=np.int64)
        else:
            clusters, unit_ids = spikes.units, np.arange(spikes.n_units)
        rows = np.minimum(np.searchsorted(unit_ids, clusters), max(len(unit_ids) - 1, 0))
        kept = (unit_ids[rows] == clusters) if len(unit_ids) else np.zeros(len(clusters), bool)
        return MotifRequest(self._generation, spikes.times[kept], rows[kept], tuple(unit_ids.tolist()),
                            spikes.sampling_rate, c.recording.n_samples, config)

    def _forget(self) -> None:
        if self.running and self.worker.generation == self._generation:
            self.controller.message.emit("Motif discovery cancelled: the spikes changed")
        self._generation += 1
        self.worker.generation = self._generation
        self.found = None
        self.changed.emit()

    def _on_found(self, request: MotifRequest, result: MotifResult) -> None:
        if request.generation != self._generation:
            return
        self.found = FoundMotifs(result, request.unit_ids)
        counts = ", ".join(str(len(o)) for o in result.occurrences)
        self.controller.message.emit(f"Found {result.k} motifs (λ {result.lam:.3g}); occurrences: {counts}")
        self.changed.emit()

    def _on_done(self) -> None:
        self.running = False
        self.changed.emit()
