"""Atomic writes: the old file survives a failed write whole, and no temporary file is left."""
import pytest

from engine.io.atomic import atomic_path


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "session.h5"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp, open(tmp, "w") as f:
            f.write("half of the new")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["session.h5"]


def test_a_finished_write_replaces_the_file_and_can_keep_the_extension(tmp_path):
    target = tmp_path / "units.nwb"
    with atomic_path(target, keep_extension=True) as tmp:
        assert tmp.endswith(".nwb") and tmp != str(target)
        with open(tmp, "w") as f:
            f.write("new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["units.nwb"]
