"""Long work off the GUI thread (the demo's simulation, export, quality metrics, merge suggestions, features).

A job is a plain function ``work(progress)`` that runs on the jobs thread and calls ``progress(fraction)``
now and then; its result comes back to ``done(result)`` on the GUI thread. A newer job of the same
``kind`` supersedes an older one: the older is skipped if it has not started, cancelled at its next
``progress`` call if it has, and its result is dropped. ``Jobs.progressed`` gives the status bar the
running job's name and percent.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count
from typing import Callable

from PyQt6.QtCore import QObject, pyqtSignal, pyqtSlot

from app.worker import Cancelled, EngineWorker

_ids = count(1)


@dataclass(eq=False)
class Job:
    name: str  # for the status bar: "Exporting to Phy"
    work: Callable  # work(progress) -> result, on the jobs thread
    done: Callable | None = None  # done(result), on the GUI thread
    kind: str = ""  # a newer job of the same kind supersedes this one
    job_id: int = field(default_factory=lambda: next(_ids))


class JobWorker(EngineWorker):
    finished = pyqtSignal(object, object)  # Job, result
    progress = pyqtSignal(object, int)  # Job, percent
    ended = pyqtSignal(object)  # Job, after finished, failed or cancelled

    def __init__(self):
        super().__init__()
        self.newest: dict[str, int] = {}  # kind -> newest job id, written by the GUI thread

    def stale(self, job: Job) -> bool:
        return self.newest.get(job.kind, job.job_id) > job.job_id

    @pyqtSlot(object)
    def run(self, job: Job) -> None:
        try:
            if self.stale(job):
                return
            with self.guarded():
                def progress(fraction: float) -> None:
                    if self.stale(job) or self.thread().isInterruptionRequested():
                        raise Cancelled
                    self.progress.emit(job, int(100 * min(1.0, max(0.0, fraction))))

                result = job.work(progress)
                if not self.stale(job):
                    self.finished.emit(job, result)
        finally:
            self.ended.emit(job)


class Jobs(QObject):
    """The GUI side: submit jobs, hear their progress; owned by the Controller."""

    progressed = pyqtSignal(str, int)  # name, percent (100 when no job is left)
    _submitted = pyqtSignal(object)

    def __init__(self, controller):
        super().__init__(controller)
        self.worker: JobWorker = controller.start_worker(JobWorker(), "jobs")
        self.worker.log.connect(controller.message)
        self.worker.failed.connect(controller.report_error)
        self.worker.finished.connect(self._on_finished)
        self.worker.progress.connect(lambda job, percent: self.progressed.emit(job.name, percent))
        self.worker.ended.connect(self._on_ended)
        self._submitted.connect(self.worker.run)
        self.pending: list[Job] = []

    def submit(self, name: str, work, done=None, kind: str = "") -> Job:
        job = Job(name, work, done, kind or name)
        self.worker.newest[job.kind] = job.job_id
        self.pending.append(job)
        self.progressed.emit(name, 0)
        self._submitted.emit(job)
        return job

    @property
    def busy(self) -> bool:
        return bool(self.pending)

    def _on_finished(self, job: Job, result) -> None:
        if job.done is not None and not self.worker.stale(job):
            job.done(result)

    def _on_ended(self, job: Job) -> None:
        if job in self.pending:
            self.pending.remove(job)
        if self.pending:
            self.progressed.emit(self.pending[0].name, 0)
        else:
            self.progressed.emit("", 100)
