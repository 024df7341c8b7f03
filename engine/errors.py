"""Exceptions the engine raises for bad input, with messages meant for users."""
from __future__ import annotations

import os


class RecordingError(Exception):
    """A recording (or session) file cannot be used; names the file and the problem."""

    def __init__(self, path: str | os.PathLike | None, problem: str):
        self.path = None if path is None else os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)
