"""Issue 14, points 2 and 9: a write killed at any point leaves the old file or folder or the new one,
never a mixture; what it leaves beside the target is named for what it is and removed by the next
open or write of that target."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from engine.cli import main
from engine.curation.journal import journal_path
from engine.curation.store import open_curation
from engine.io.atomic import OutputError, atomic_path, side_name
from engine.io.phy import export_phy
from engine.io.session import load_session, save_session
from tests.kill_points import run_sweep
from tests.test_session import make_session


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_phy_reexport_killed_at_any_point_leaves_the_old_folder_or_the_new_one(tmp_path):
    result = run_sweep("phy", tmp_path, 16)
    assert result["kill_points"] == 16 and result["old"] + result["new"] == 16
    assert result["torn"] == 0  # never new spike_clusters.npy with the old cluster_group.tsv
    assert result["left_partials"] > 0 and result["partials_after_next_open"] == 0


def test_a_session_write_killed_at_any_point_leaves_the_old_session_and_the_next_open_removes_its_partial(tmp_path):
    result = run_sweep("session", tmp_path, 12)
    assert result["torn"] == 0 and result["old"] + result["new"] == 12
    assert result["left_partials"] > 0 and result["partials_after_next_open"] == 0


def test_partial_files_say_what_they_are_and_only_dead_writers_are_cleaned(tmp_path):
    path = tmp_path / "S.h5"
    assert os.path.basename(side_name(path, pid=12)) == ".S.h5.partial-12"
    assert os.path.basename(side_name(tmp_path / "u.nwb", pid=12, keep_extension=True)) == ".u.partial-12.nwb"
    save_session(path, make_session())
    dead, alive = side_name(path, pid=_dead_pid()), side_name(path, pid=os.getppid())
    for name in (dead, alive):
        open(name, "w").write("half a session")
    load_session(path)  # the next open
    assert not os.path.exists(dead) and os.path.exists(alive)  # a live writer's file is its own
    with atomic_path(path) as tmp:
        assert os.path.basename(tmp) == f".S.h5.partial-{os.getpid()}"
        open(tmp, "w").write("new")
    assert sorted(os.listdir(tmp_path)) == sorted(["S.h5", os.path.basename(alive)])


def test_a_journal_rewrite_killed_leaves_a_partial_that_reopening_the_curation_removes(tmp_path):
    session = str(tmp_path / "S.h5")
    times, units = np.arange(0, 30_000, 100), np.arange(300) % 3
    c = open_curation(session, None, times, units, 3, 10_000.0)
    c.merge([0, 1])
    c.journal.close()
    stale = side_name(journal_path(session), pid=_dead_pid())
    open(stale, "w").write('{"op":"header"')  # a journal reset (after a save) killed mid-write
    reopened = open_curation(session, None, times, units, 3, 10_000.0)
    assert not os.path.exists(stale) and reopened.revision == 1
    reopened.journal.close()


def test_the_exported_folder_loads_in_phylib_after_a_reexport(tmp_path):
    from phylib.io.model import load_model

    raw = tmp_path / "rec.bin"
    np.zeros((300_000, 5), np.int16).tofile(raw)
    old, new = make_session(str(raw), seed=1), make_session(str(raw), seed=2)
    folder = tmp_path / "phy"
    export_phy(old, folder)
    (folder / ".phy").mkdir()  # phy's cache of the old export
    (folder / "cluster_info.tsv").write_text("cluster_id\tgroup\n0\tnoise\n")  # phy's table of the old one
    model = load_model(export_phy(new, folder))
    np.testing.assert_array_equal(np.round(model.spike_times * model.sample_rate), np.sort(new.spike_times))
    assert model.metadata["group"] == {0: "good", 1: "unsorted", 2: "noise"}
    model.close()
    assert sorted(os.listdir(tmp_path)) == ["phy", "rec.bin"]  # nothing left beside it


def test_the_phy_export_refuses_a_file_and_a_folder_that_is_not_a_phy_export(tmp_path, capsys):
    session_path = tmp_path / "S.h5"
    save_session(session_path, make_session())
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    capsys.readouterr()
    assert main(["export", str(session_path), "--phy", str(a_file)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(a_file) in err and "Traceback" not in err
    assert a_file.read_text() == "mine"
    data = tmp_path / "data"
    data.mkdir()
    (data / "rec.bin").write_bytes(b"\0" * 10)
    with pytest.raises(OutputError, match="not a Phy export"):
        export_phy(make_session(), data)
    assert os.listdir(data) == ["rec.bin"]


def test_the_sweep_harness_finds_the_torn_export_it_is_meant_to_find(tmp_path):
    """The kill points do reach between the files: written one by one, in place, the export tears."""
    code = textwrap.dedent("""
        import contextlib, json, os, sys
        sys.path.insert(0, {root!r})
        import engine.io.phy as phy, tests.kill_points as kill_points

        @contextlib.contextmanager
        def in_place(path):  # the export as it was: each file written over the old one
            os.makedirs(path, exist_ok=True)
            yield path

        phy.atomic_folder = in_place
        print(json.dumps(kill_points.sweep("phy", {folder!r}, 12)))
    """)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", code.format(root=root, folder=str(tmp_path))], capture_output=True,
                          text=True, timeout=120, cwd=root)
    assert json.loads(done.stdout.splitlines()[-1])["torn"] > 0, done.stderr


def test_where_folders_cannot_be_swapped_a_crash_between_the_two_renames_is_undone_by_the_next_export(
        tmp_path, monkeypatch):
    import engine.io.atomic as atomic

    old, new = make_session(seed=1), make_session(seed=2)
    folder = tmp_path / "phy"
    export_phy(old, folder)
    monkeypatch.setattr(atomic, "exchange", lambda a, b: False)  # a file system without RENAME_EXCHANGE
    export_phy(new, folder)
    np.testing.assert_array_equal(np.load(folder / "spike_times.npy"), np.sort(new.spike_times))
    assert sorted(os.listdir(tmp_path)) == ["phy"]
    # killed between the renames: the old folder aside, the new one complete but not yet in place
    aside = atomic.side_name(folder, atomic.PREVIOUS, pid=_dead_pid())
    os.rename(folder, aside)
    export_phy(old, atomic.side_name(folder, pid=_dead_pid()))
    assert atomic.remove_stale_partials(folder)  # what the next export (or open) does first
    np.testing.assert_array_equal(np.load(folder / "spike_times.npy"), np.sort(new.spike_times))  # put back
    assert sorted(os.listdir(tmp_path)) == ["phy"]
