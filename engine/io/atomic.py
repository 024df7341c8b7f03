"""Atomic file writes: a reader (or a crash) sees the old file or the new one, never half of one."""
from __future__ import annotations

import os
from contextlib import contextmanager


def fsync_folder(path) -> None:
    """Make a rename inside ``path``'s folder durable."""
    try:
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    except OSError:
        return  # not every platform opens folders
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path, keep_extension: bool = False):
    """Yield a temporary name beside ``path`` to write to; when the block ends without an error the
    file is flushed to disk and renamed over ``path``. On an error the temporary file is removed and
    ``path`` is untouched.

    ``keep_extension`` puts the temporary marker before the extension (``x.tmp-1234.nwb``), for
    writers that check the name they are given.
    """
    path = os.fspath(path)
    root, ext = os.path.splitext(path)
    tmp = f"{root}.tmp-{os.getpid()}{ext}" if keep_extension else f"{path}.tmp-{os.getpid()}"
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_folder(path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
