"""Coalescing a burst of updates: only the newest value reaches its consumer, at most every so often."""
from __future__ import annotations

from typing import Any, Callable

from PyQt6.QtCore import QObject, QTimer


class LatestOnly(QObject):
    """Hands the newest ``push``ed value to ``deliver`` at most every ``gap_ms``; older ones are dropped."""

    def __init__(self, parent: QObject, gap_ms: int, deliver: Callable[[Any], None]):
        super().__init__(parent)
        self._deliver = deliver
        self._value: Any = None
        self._timer = QTimer(self, singleShot=True, interval=gap_ms)
        self._timer.timeout.connect(self.flush)

    def push(self, value: Any) -> None:
        self._value = value
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Deliver the pending value now, if there is one."""
        value, self._value = self._value, None
        self._timer.stop()
        if value is not None:
            self._deliver(value)

    def drop(self) -> None:
        """Forget the pending value without delivering it."""
        self._value = None
        self._timer.stop()
