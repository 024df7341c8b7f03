"""Where a curation lives on disk: the session's saved curation plus the journal beside it."""
from __future__ import annotations

import os

from engine.curation.model import Curation
from engine.curation.journal import Journal, journal_path, read_journal, set_aside


def open_curation(session_path, saved: dict | None, times, units, n_units: int, sampling_rate: float) -> Curation:
    """The curation of a session: what the session file saved, then every journaled action after it.

    ``saved`` is the session's curation (``Curation.to_dict()``) or None. A journal
    that belongs to another curation is renamed aside, never replayed or lost.
    From here on every action is journaled next to the session.
    """
    path = journal_path(session_path)
    journal_id, entries = read_journal(path)
    if saved:
        curation = Curation.from_dict(saved, times, units, n_units, sampling_rate)
        if journal_id is not None and journal_id != curation.curation_id:
            set_aside(path)
            entries = []
    else:
        curation = Curation(times, units, n_units, sampling_rate, curation_id=journal_id)
    curation.replay(entries)
    curation.journal = Journal(path, curation.curation_id)
    return curation


def fold_journal(curation: Curation) -> None:
    """Call once the session file holding ``curation.to_dict()`` is safely written."""
    if curation.journal is not None:
        curation.journal.reset()


def relocate_journal(curation: Curation, session_path) -> None:
    """Journal next to ``session_path`` from now on (a first save, 'save as'), taking the entries along."""
    path = journal_path(session_path)
    old = curation.journal
    if old is not None and os.path.abspath(old.path) == os.path.abspath(path):
        return
    if os.path.exists(path):
        set_aside(path)
    if old is not None:
        old.close()
        if os.path.exists(old.path):
            os.replace(old.path, path)
    curation.journal = Journal(path, curation.curation_id)
