"""The Controller's worker threads: each worker on a QThread of its own, started with the Controller and
ended cooperatively when the window closes (``shutdownFinished`` once every thread has ended)."""
from __future__ import annotations

from PyQt6.QtCore import QObject, QThread


class WorkerThreads:
    """Mixed into the Controller (a QObject with a ``shutdownFinished`` signal); call ``_init_threads`` first."""

    def _init_threads(self) -> None:
        self._threads: list[QThread] = []

    def start_worker(self, worker: QObject, name: str) -> QObject:
        thread = QThread(self)
        thread.setObjectName(f"sparsesort-{name}")
        worker.moveToThread(thread)
        # no deleteLater on finishing: destroyed in its own thread while the GUI thread, holding the GIL,
        # tore down objects connected to it, the two waited on each other's lock and the window hung
        # on closing; the worker is freed with the controller, once its thread has ended
        thread.finished.connect(self._on_thread_finished)
        thread.start()
        self._threads.append(thread)
        return worker

    @property
    def threads(self) -> list[QThread]:
        return list(self._threads)

    def _end_threads(self) -> None:
        for thread in self._threads:
            thread.requestInterruption()  # long slots that check it return early
            thread.quit()  # the loop ends once the running slot returns

    def _on_thread_finished(self) -> None:
        if all(thread.isFinished() for thread in self._threads):
            self.shutdownFinished.emit()

    @property
    def finished(self) -> bool:
        return all(thread.isFinished() for thread in self._threads)
