"""The base of every object that runs engine work on a QThread of its own.

A worker is a QObject moved to its thread; the GUI thread calls its slots through queued signals
and never waits on it. Requests carry a generation number: the GUI thread raises ``generation``
(a plain int store, atomic) when newer work supersedes older, and work whose generation is older
is skipped or cancelled. Inside ``guarded()`` any engine exception becomes one ``failed`` message
for the user (the traceback goes to ``log``), and ``Cancelled`` ends the job silently.
"""
from __future__ import annotations

import traceback
from contextlib import contextmanager

from PyQt6.QtCore import QObject, pyqtSignal

OOM_ADVICE = ("The GPU ran out of memory. Lower the batch size, the segment length or the "
              "number of units, or train on the CPU (Device: cpu).")


class Cancelled(Exception):
    """Raised inside a job (from a progress callback) when a newer request superseded it."""


def describe_failure(exc: BaseException) -> str:
    """A user-facing sentence for an engine exception."""
    text = str(exc)
    if type(exc).__name__ == "OutOfMemoryError" or "out of memory" in text.lower():
        return OOM_ADVICE
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class EngineWorker(QObject):
    failed = pyqtSignal(str)
    log = pyqtSignal(str)

    failure_prefix = ""  # put before the failure's description, e.g. "Motif discovery failed: "

    def __init__(self):
        super().__init__()
        self.generation = 0  # written by the GUI thread

    def is_stale(self, generation: int) -> bool:
        return generation < self.generation

    def raise_if_stale(self, generation: int) -> None:
        if self.is_stale(generation):
            raise Cancelled

    @contextmanager
    def guarded(self):
        try:
            yield
        except Cancelled:
            pass
        except Exception as exc:  # noqa: BLE001 - any engine failure becomes a message, never a dead thread
            self.log.emit(traceback.format_exc())
            self.failed.emit(self.failure_prefix + describe_failure(exc))
