"""Issue 14, point 1: a sort never overwrites a curated session, and a journal of another sort is never
replayed into this one (it is set aside with a message, in the engine and in the window)."""
import glob
import os

import numpy as np
import pytest

from engine.cli import main
from engine.curation.journal import journal_path, read_journal
from engine.curation.store import open_curation
from engine.io.session import load_session, save_session

SORT = ["--units", "3", "--steps", "2", "--unrolled-steps", "20", "--motion", "none"]


@pytest.fixture(scope="module")
def curated(tmp_path_factory):
    """A sorted session with 3 saved curation actions and 2 more only in its journal (not yet saved)."""
    folder = tmp_path_factory.mktemp("curated")
    recording, path = str(folder / "rec.h5"), str(folder / "S.h5")
    assert main(["--quiet", "simulate", recording, "--minutes", "0.1"]) == 0
    assert main(["--quiet", "sort", recording, *SORT, "--out", path]) == 0
    session = load_session(path)
    c = open_curation(path, session.curation, session.spike_times, session.spike_units, 3, session.sampling_rate)
    c.label([0], "good")
    c.label([1], "mua")
    c.merge([1, 2])
    session.curation = c.to_dict()
    save_session(path, session)
    c.journal.reset()
    c.label([0], "noise")
    c.note(0, "after the save")
    c.journal.close()
    return recording, path


def _labels(path):
    session = load_session(path)
    c = open_curation(path, session.curation, session.spike_times, session.spike_units, len(session.filters),
                      session.sampling_rate)
    c.journal.close()
    return c.cluster_labels(), c.note_of(0)


def test_a_sort_refuses_to_overwrite_a_session_and_with_force_keeps_it_as_a_dated_backup(curated, capsys, tmp_path):
    recording, path = curated
    before = open(path, "rb").read(), open(journal_path(path), "rb").read()
    capsys.readouterr()
    assert main(["--quiet", "sort", recording, *SORT, "--out", path]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and path in err and "--force" in err and "Traceback" not in err
    assert (open(path, "rb").read(), open(journal_path(path), "rb").read()) == before  # untouched

    expected = _labels(path)
    assert expected == ({0: "noise", 3: "unsorted"}, "after the save")
    assert main(["--quiet", "sort", recording, *SORT, "--out", path, "--force"]) == 0
    err = capsys.readouterr().err
    backups = glob.glob(os.path.join(os.path.dirname(path), "S.backup-*.h5"))
    assert len(backups) == 1 and backups[0] in err
    assert _labels(backups[0]) == expected  # the backup reopens with every action, journaled ones too
    assert not os.path.exists(journal_path(path))  # the new session starts with no journal of the old one
    new = load_session(path)
    c = open_curation(path, new.curation, new.spike_times, new.spike_units, 3, new.sampling_rate,
                      notify=pytest.fail)
    assert c.revision == 0 and c.cluster_ids() == [0, 1, 2]
    c.journal.close()


def _session_and_journal(tmp_path, saved_id, journal_id, first_seq):
    times, units = np.arange(0, 30_000, 100), np.arange(300) % 3
    path = str(tmp_path / "S.h5")
    with open(journal_path(path), "w") as f:
        f.write(f'{{"op":"header","format":"sparsesort-curation-journal","curation_id":"{journal_id}"}}\n')
        for seq in range(first_seq, first_seq + 3):
            f.write(f'{{"seq":{seq},"op":"label","clusters":[{seq % 3}],"label":"good"}}\n')
    saved = {"curation_id": saved_id} if saved_id else {}
    return path, saved, times, units


@pytest.mark.parametrize("saved_id, journal_id, first_seq", [
    ("this-sort", "another-sort", 1),  # a journal of another sort of the same file
    (None, "old", 181),  # a session with no curation id and a journal continuing another one's actions
])
def test_a_foreign_journal_is_set_aside_with_a_message_and_never_replayed(tmp_path, saved_id, journal_id, first_seq):
    path, saved, times, units = _session_and_journal(tmp_path, saved_id, journal_id, first_seq)
    messages = []
    c = open_curation(path, saved, times, units, 3, 10_000.0, notify=messages.append)
    assert c.revision == 0 and set(c.cluster_labels().values()) == {"unsorted"}
    assert len(messages) == 1 and journal_path(path) in messages[0] and "set aside" in messages[0]
    stale = glob.glob(journal_path(path) + ".stale-*")
    assert len(stale) == 1 and len(read_journal(stale[0])[1]) == 3  # kept, not lost
    c.merge([0, 1])  # curation goes on, journaled afresh
    assert read_journal(journal_path(path))[1][0]["op"] == "merge"
    c.journal.close()


def test_a_journal_whose_actions_do_not_apply_is_set_aside(tmp_path):
    path, saved, times, units = _session_and_journal(tmp_path, None, "x", 1)
    with open(journal_path(path), "a") as f:
        f.write('{"seq":9,"op":"merge","clusters":[0,1],"into":3}\n')  # actions 4-8 are missing
    messages = []
    c = open_curation(path, saved, times, units, 3, 10_000.0, notify=messages.append)
    assert c.revision == 0 and len(messages) == 1 and "do not apply" in messages[0]
    c.journal.close()


def test_the_window_reopens_a_session_with_a_stale_journal_shows_why_and_curates(curated, qtbot, tmp_path):
    from app.controller import Controller

    recording, path = curated
    stale = str(tmp_path / "T.h5")
    session = load_session(path)
    session.curation = {"curation_id": "the-new-sort"}
    save_session(stale, session)
    with open(journal_path(stale), "w") as f:
        f.write('{"op":"header","format":"sparsesort-curation-journal","curation_id":"old-sort"}\n')
        f.write('{"seq":181,"op":"merge","clusters":[0,1],"into":3}\n')  # the old sort's, left beside it
    controller = Controller()
    errors = []
    controller.errorOccurred.connect(errors.append)
    assert controller.load_session(stale)
    qtbot.waitUntil(lambda: controller.curation.curation is not None, timeout=10_000)
    assert len(errors) == 1 and journal_path(stale) in errors[0]
    assert controller.curation.cluster_ids() == [0, 1, 2]
    assert controller.curation.merge([0, 1])
    controller.curation._close_journal()
    controller.shutdown()
    qtbot.waitUntil(lambda: controller.finished, timeout=10_000)
