"""Long work off the GUI thread (the demo's simulation, export, quality metrics, merge suggestions, features).

A job is a plain function ``work(progress)`` that runs on a jobs thread and calls ``progress(fraction)``
now and then; its result comes back to ``done(result)`` on the GUI thread. A newer job of the same
``kind`` supersedes an older one: the older is skipped if it has not started, cancelled at its next
``progress`` call if it has, and its result is dropped. ``Jobs.progressed`` gives the status bar the
running job's name and percent.

Jobs run one at a time on each of two threads (``LANES``): "work" for long work (export, the units'
metrics, the demo), "views" for what a view shows on a selection (waveforms, features, the similarity
matrix), so a selection is not answered only after a minute of metrics.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count
from typing import Callable

from PyQt6.QtCore import QObject, pyqtSignal, pyqtSlot

from app.worker import Cancelled, EngineWorker

_ids = count(1)
LANES = ("work", "views")


@dataclass(eq=False)
class Job:
    name: str  # for the status bar: "Exporting to Phy"
    work: Callable  # work(progress) -> result, on the jobs thread
    done: Callable | None = None  # done(result), on the GUI thread
    kind: str = ""  # a newer job of the same kind supersedes this one
    lane: str = LANES[0]  # the thread it runs on
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
                shown = [-1]

                def progress(fraction: float) -> None:
                    if self.stale(job) or self.thread().isInterruptionRequested():
                        raise Cancelled
                    percent = int(100 * min(1.0, max(0.0, fraction)))
                    if percent != shown[0]:  # the status bar repaints for each: only when the figure moves
                        shown[0] = percent
                        self.progress.emit(job, percent)

                result = job.work(progress)
                if not self.stale(job):
                    self.finished.emit(job, result)
        finally:
            self.ended.emit(job)


class Jobs(QObject):
    """The GUI side: submit jobs, hear their progress; owned by the Controller."""

    progressed = pyqtSignal(str, int)  # name, percent (100 when no job is left)

    def __init__(self, controller):
        super().__init__(controller)
        self.workers: dict[str, JobWorker] = {}
        self._submit = {}
        for lane in LANES:
            worker = self.workers[lane] = controller.start_worker(JobWorker(), f"jobs-{lane}")
            worker.log.connect(controller.message)
            worker.failed.connect(controller.report_error)
            worker.finished.connect(self._on_finished)
            worker.progress.connect(lambda job, percent: self.progressed.emit(job.name, percent))
            worker.ended.connect(self._on_ended)
            self._submit[lane] = _Submitter(self)
            self._submit[lane].submitted.connect(worker.run)
        self.pending: list[Job] = []

    def submit(self, name: str, work, done=None, kind: str = "", lane: str = LANES[0]) -> Job:
        job = Job(name, work, done, kind or name, lane)
        self.workers[lane].newest[job.kind] = job.job_id
        self.pending.append(job)
        self.progressed.emit(name, 0)
        self._submit[lane].submitted.emit(job)
        return job

    @property
    def busy(self) -> bool:
        return bool(self.pending)

    def _on_finished(self, job: Job, result) -> None:
        if job.done is not None and not self.workers[job.lane].stale(job):
            job.done(result)

    def _on_ended(self, job: Job) -> None:
        if job in self.pending:
            self.pending.remove(job)
        if self.pending:
            self.progressed.emit(self.pending[0].name, 0)
        else:
            self.progressed.emit("", 100)


class _Submitter(QObject):
    """A lane's queued hand-off to its worker's thread."""

    submitted = pyqtSignal(object)
