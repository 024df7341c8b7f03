"""Atomic writes of files and folders: a reader (or a crash) sees the old one or the new one, never half of one.

A write goes to a hidden partial copy beside its target, named for what it is
(``.S.h5.partial-1234`` for ``S.h5``, written by process 1234), which is flushed
and renamed over the target once complete. A process killed mid-write leaves
its partial copy behind; the next write or open of the same target removes the
partial copies whose writer is no longer running (``remove_stale_partials``).

A folder (a Phy export) is written whole beside the old one and the two are
swapped in one step (Linux's ``renameat2(RENAME_EXCHANGE)``); where the file
system cannot swap, the old folder is renamed aside first, and put back by the
next write or open if a crash came between the two renames.
"""
from __future__ import annotations

import ctypes
import errno
import glob
import os
import shutil
from contextlib import contextmanager

class OutputError(ValueError):
    """A file or folder to be written cannot be; names it and the problem (for users, in one line)."""

    def __init__(self, path, problem: str):
        self.path, self.problem = os.fspath(path), problem
        super().__init__(f"{self.path}: {problem}")


def check_writable(path, folder: bool = False) -> None:
    """Refuse, before any work is done, an output whose folder does not exist or cannot be written
    (and a file output that is a folder, or a ``folder`` output that is a file)."""
    path = os.fspath(path)
    if not folder and os.path.isdir(path):
        raise OutputError(path, "is a folder, not a file to write")
    if folder and os.path.lexists(path) and not os.path.isdir(path):
        raise OutputError(path, "is a file, not a folder to write")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise OutputError(path, f"cannot be written: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(path, f"cannot be written: the folder {parent} is read-only")


PARTIAL = "partial"  # a write in progress (or killed): the new content, incomplete
PREVIOUS = "previous"  # a folder's old content, renamed aside while the new one takes its name


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


def side_name(path, kind: str = PARTIAL, pid: int | None = None, keep_extension: bool = False) -> str:
    """The hidden name beside ``path`` for its ``kind`` copy written by process ``pid``.

    ``keep_extension`` puts the marker before the extension (``.units.partial-1234.nwb``), for writers
    that check the name they are given.
    """
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    pid = os.getpid() if pid is None else pid
    root, ext = os.path.splitext(name)
    hidden = f".{root}.{kind}-{pid}{ext}" if keep_extension else f".{name}.{kind}-{pid}"
    return os.path.join(folder, hidden)


def _side_copies(path, kind: str) -> list[tuple[str, int]]:
    """(path, writer pid) of every ``kind`` copy of ``path`` there is, with or without the extension kept."""
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    root, ext = os.path.splitext(name)
    patterns = {(f".{name}.{kind}-", ""), (f".{root}.{kind}-", ext)}
    found = []
    for head, tail in patterns:
        for candidate in glob.glob(os.path.join(glob.escape(folder), glob.escape(head) + "*" + glob.escape(tail))):
            middle = os.path.basename(candidate)[len(head):len(os.path.basename(candidate)) - len(tail)]
            if middle.isdigit():
                found.append((candidate, int(middle)))
    return found


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return True  # no safe liveness check: leave it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


def remove_stale_partials(path) -> list[str]:
    """Remove what killed writes of ``path`` left beside it; returns what was removed.

    A folder whose swap was interrupted (the old one renamed aside, the new one not yet in place) is
    put back first, so that ``path`` is the old folder again.
    """
    path = os.fspath(path)
    previous = [p for p, pid in _side_copies(path, PREVIOUS) if not _running(pid)]
    if previous and not os.path.lexists(path):
        os.rename(max(previous, key=os.path.getmtime), path)
        previous = [p for p in previous if os.path.lexists(p)]
    removed = []
    for stale in previous + [p for p, pid in _side_copies(path, PARTIAL) if not _running(pid)]:
        _remove(stale)
        removed.append(stale)
    return removed


@contextmanager
def atomic_path(path, keep_extension: bool = False):
    """Yield a partial name beside ``path`` to write a file to; when the block ends without an error the
    file is flushed to disk and renamed over ``path``. On an error the partial file is removed and
    ``path`` is untouched. Partial copies that killed writers left are removed first.
    """
    path = os.fspath(path)
    remove_stale_partials(path)
    tmp = side_name(path, keep_extension=keep_extension)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_folder(path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def exchange(a: str, b: str) -> bool:
    """Swap two existing paths in one step; False where the platform or file system cannot."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), b)


@contextmanager
def atomic_folder(path):
    """Yield an empty partial folder beside ``path`` to fill; when the block ends without an error it
    takes the place of ``path`` in one step and the old folder is removed. On an error the partial
    folder is removed and ``path`` is untouched."""
    path = os.path.abspath(os.fspath(path))
    remove_stale_partials(path)
    tmp = side_name(path)
    os.makedirs(tmp)
    try:
        yield tmp
        for name in os.listdir(tmp):
            if os.path.isfile(os.path.join(tmp, name)):
                with open(os.path.join(tmp, name), "rb") as f:
                    os.fsync(f.fileno())
        fsync_folder(os.path.join(tmp, "."))
        if not os.path.exists(path):
            os.rename(tmp, path)
        elif not exchange(tmp, path):  # two renames; remove_stale_partials puts the old one back after a crash
            previous = side_name(path, PREVIOUS)
            os.rename(path, previous)
            os.rename(tmp, path)
            tmp = previous
        fsync_folder(path)
    finally:
        _remove(tmp)  # after the swap: the old folder
