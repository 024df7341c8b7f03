"""The curation journal: one JSON line per action, on disk (fsync) before the action returns.

The first line is a header naming the curation it belongs to; the rest are the
curation's entries (see ``engine.curation.model``). A crash can only tear the last
line, which reading skips. Saving the session folds the journal in: the
session stores the curation up to its revision, and the journal restarts
empty (``reset``); a journal left over from a crash between those two steps
only holds entries the session already has, which replay skips by revision.
"""
from __future__ import annotations

import json
import os
import time

from engine.io.atomic import atomic_path, fsync_folder

HEADER = "sparsesort-curation-journal"
SUFFIX = ".journal.jsonl"


def journal_path(session_path) -> str:
    return os.fspath(session_path) + SUFFIX


def _drop_torn_tail(path: str) -> None:
    """Cut a last line a crash left without its newline, so that new entries start on a line of their own."""
    if not os.path.exists(path):
        return
    with open(path, "rb+") as f:
        data = f.read()
        if data and not data.endswith(b"\n"):
            f.truncate(data.rfind(b"\n") + 1)


class Journal:
    def __init__(self, path, curation_id: str):
        self.path = os.fspath(path)
        self.curation_id = curation_id
        _drop_torn_tail(self.path)
        fresh = not os.path.exists(self.path) or os.path.getsize(self.path) == 0
        self._file = open(self.path, "a", encoding="utf-8")
        if fresh:
            self._write({"op": "header", "format": HEADER, "curation_id": curation_id})
            fsync_folder(self.path)

    def append(self, entry: dict) -> None:
        self._write(entry)

    def _write(self, entry: dict) -> None:
        self._file.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def reset(self) -> None:
        """Start over with only the header (after the session has folded the entries in)."""
        self._file.close()
        with atomic_path(self.path) as tmp, open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps({"op": "header", "format": HEADER, "curation_id": self.curation_id}) + "\n")
        self._file = open(self.path, "a", encoding="utf-8")

    def close(self) -> None:
        self._file.close()


def read_journal(path) -> tuple[str | None, list[dict]]:
    """(curation id, entries) of a journal file; (None, []) if there is none. A torn last line is skipped."""
    path = os.fspath(path)
    if not os.path.exists(path):
        return None, []
    curation_id, entries = None, []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                break  # the line a crash interrupted: nothing after it was ever completed
            if entry.get("op") == "header":
                curation_id = entry.get("curation_id")
            else:
                entries.append(entry)
    return curation_id, entries


def set_aside(path) -> str:
    """Rename a journal that belongs to another curation, so that it is kept but not replayed."""
    path = os.fspath(path)
    target = f"{path}.stale-{time.strftime('%Y%m%d-%H%M%S')}"
    os.replace(path, target)
    return target
