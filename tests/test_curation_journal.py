"""The journal: every completed action is on disk; a killed process loses none; saving folds it in."""
import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np

from engine.curation.model import Curation
from engine.curation.store import fold_journal, open_curation, relocate_journal
from engine.curation.journal import journal_path, read_journal

FS = 10_000.0
TIMES = np.arange(0, 400_000, 100, dtype=np.int64)
UNITS = np.arange(len(TIMES)) % 4


def scripted_action(c: Curation, step: int) -> None:
    """A deterministic curation session: the same step always does the same thing."""
    ids = c.cluster_ids()
    kind = step % 4
    if kind == 0 and len(ids) >= 2:
        c.merge(ids[:2])
    elif kind == 1:
        spikes = c.spikes_of(ids[-1])
        if len(spikes) > 2:
            c.split(ids[-1], spikes[::2])
    elif kind == 2:
        c.label([ids[step % len(ids)]], ["good", "mua", "noise"][step % 3])
    elif c.can_undo:
        c.undo()


CHILD = textwrap.dedent("""
    import sys, numpy as np
    sys.path.insert(0, {tests!r})
    from test_curation_journal import TIMES, UNITS, FS, scripted_action
    from engine.curation.store import open_curation
    c = open_curation({session!r}, None, TIMES, UNITS, 4, FS)
    step = 0
    while True:
        scripted_action(c, step)
        print(step, c.revision, flush=True)  # the action has returned: it is complete
        step += 1
""")


def test_a_killed_curating_process_loses_no_completed_action(tmp_path):
    session = str(tmp_path / "rec.session.h5")
    code = CHILD.format(tests=os.path.dirname(__file__), session=session)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                             cwd=os.path.dirname(os.path.dirname(__file__)))
    last_step = last_revision = -1
    try:
        for line in child.stdout:
            last_step, last_revision = map(int, line.split())
            if last_step >= 60:
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert last_step >= 60
    reopened = open_curation(session, None, TIMES, UNITS, 4, FS)
    assert reopened.revision >= last_revision
    reference = Curation(TIMES, UNITS, 4, FS)
    step = 0
    while reference.revision < reopened.revision:
        scripted_action(reference, step)
        step += 1
    assert np.array_equal(reopened.spike_clusters(), reference.spike_clusters())
    assert reopened.cluster_labels() == reference.cluster_labels()
    assert reopened.done == reference.done and reopened.undone == reference.undone


def test_torn_last_line_is_skipped_and_later_entries_are_kept(tmp_path):
    session = tmp_path / "s.h5"
    c = open_curation(session, None, TIMES, UNITS, 4, FS)
    c.merge([0, 1])
    c.journal.close()
    with open(journal_path(session), "a") as f:
        f.write('{"seq": 2, "op": "lab')  # the crash hit mid-write
    c = open_curation(session, None, TIMES, UNITS, 4, FS)
    assert c.revision == 1
    c.label([2], "good")
    c.journal.close()
    c = open_curation(session, None, TIMES, UNITS, 4, FS)
    assert c.revision == 2 and c.label_of(2) == "good" and c.cluster_ids() == [2, 3, 4]


def test_saving_folds_the_journal_and_a_crash_between_the_steps_replays_nothing_twice(tmp_path):
    session = tmp_path / "s.h5"
    c = open_curation(session, None, TIMES, UNITS, 4, FS)
    c.merge([0, 1])
    c.label([4], "good")
    saved = json.loads(json.dumps(c.to_dict()))  # what the session file stores
    # the crash came after the session was written, before the journal was reset
    again = open_curation(session, saved, TIMES, UNITS, 4, FS)
    assert again.revision == 2 and again.cluster_ids() == [2, 3, 4]
    fold_journal(again)
    assert read_journal(journal_path(session))[1] == []
    again.undo()
    again.journal.close()
    reopened = open_curation(session, saved, TIMES, UNITS, 4, FS)
    assert reopened.revision == 3 and reopened.cluster_ids() == [2, 3, 4] and reopened.label_of(4) == "unsorted"


def test_a_journal_of_another_curation_is_set_aside_not_replayed(tmp_path):
    session = tmp_path / "s.h5"
    other = open_curation(session, None, TIMES, UNITS, 4, FS)
    other.merge([0, 1])
    other.journal.close()
    mine = Curation(TIMES, UNITS, 4, FS)
    c = open_curation(session, mine.to_dict(), TIMES, UNITS, 4, FS)
    assert c.revision == 0 and c.cluster_ids() == [0, 1, 2, 3]
    assert any(name.startswith("s.h5.journal.jsonl.stale-") for name in os.listdir(tmp_path))


def test_relocating_the_journal_takes_its_entries_along(tmp_path):
    c = open_curation(tmp_path / "a.h5", None, TIMES, UNITS, 4, FS)
    c.merge([2, 3])
    relocate_journal(c, tmp_path / "b.h5")
    c.label([0], "mua")
    c.journal.close()
    assert not os.path.exists(journal_path(tmp_path / "a.h5"))
    reopened = open_curation(tmp_path / "b.h5", None, TIMES, UNITS, 4, FS)
    assert reopened.cluster_labels() == {0: "mua", 1: "unsorted", 4: "unsorted"}
