"""Log pane: every message and error the controller reports, with a time stamp."""
from __future__ import annotations

import time

from PyQt6.QtWidgets import QPlainTextEdit

MAX_LINES = 5000


class LogView(QPlainTextEdit):
    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(MAX_LINES)
        controller.message.connect(self.append_line)

    def append_line(self, text: str) -> None:
        self.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text.rstrip()}")
