"""Where a curation lives on disk: the session's saved curation plus the journal beside it."""
from __future__ import annotations

import os
from typing import Callable

from engine.curation.model import Curation, CurationError
from engine.curation.journal import Journal, journal_path, read_journal, set_aside
from engine.io.atomic import remove_stale_partials


def _foreign(saved: dict | None, journal_id: str | None, entries: list[dict]) -> str | None:
    """Why the journal does not belong to the session's curation; None when it does."""
    if journal_id is None and not entries:
        return None
    saved_id = (saved or {}).get("curation_id")
    if saved_id is not None:
        return None if journal_id == saved_id else "it belongs to another sort of this file"
    if entries and entries[0].get("seq") != 1:  # a session without a curation id: only a journal from the start
        return f"it continues a curation this session does not hold (from action {entries[0].get('seq')})"
    return None


def open_curation(session_path, saved: dict | None, times, units, n_units: int, sampling_rate: float,
                  notify: Callable[[str], None] | None = None) -> Curation:
    """The curation of a session: what the session file saved, then every journaled action after it.

    ``saved`` is the session's curation (``Curation.to_dict()``, or just its ``curation_id`` for a
    session no one has curated yet) or None. A journal that belongs to another curation (another
    sort of the same file, say) or that cannot be replayed onto these spikes is renamed aside,
    never replayed or lost, and ``notify`` is told in one sentence. From here on every action is
    journaled next to the session.
    """
    path = journal_path(session_path)
    remove_stale_partials(path)
    journal_id, entries = read_journal(path)

    def fresh() -> Curation:
        if saved:
            return Curation.from_dict(saved, times, units, n_units, sampling_rate)
        return Curation(times, units, n_units, sampling_rate, curation_id=journal_id)

    curation = fresh()
    problem = _foreign(saved, journal_id, entries)
    if problem is None:
        try:
            curation.replay(entries)
        except CurationError as exc:
            problem = f"its actions do not apply to this session's spikes ({exc})"
    if problem is not None:
        kept = set_aside(path)
        if notify is not None:
            notify(f"{path}: the curation journal was set aside as {os.path.basename(kept)}, not replayed: "
                   f"{problem}")
        if not saved:
            journal_id = None
        curation = fresh()
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
