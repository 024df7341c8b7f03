"""Engine work in a process of its own, for a job on the jobs thread: the GUI thread keeps the GIL.

The jobs thread shares Python's GIL with the GUI thread, so a long computation there (the quality
metrics of 300 units) slows every frame. ``ProcessRunner.run(fn, args, progress)`` runs ``fn(*args,
progress)`` in one spawned process (started on first use, kept for the next job) and waits for it,
at a lower priority (``NICENESS``), relaying its progress to the job's ``progress`` every ``POLL_S`` (which raises ``Cancelled`` when a newer
job supersedes it: the process is then told to stop at its next progress call).

Arguments travel pickled, but numpy arrays over ``SPILL_BYTES`` (spike times, an in-memory recording's
samples) are written to a temporary folder with ``np.save``, which releases the GIL, and the process maps
them read-only; pickling them would hold the GIL for the whole copy. Work that cannot be pickled (an
HDF5 file's open handle) runs on the jobs thread as before: ``run_job`` chooses.

This module imports no Qt: the process imports it to unpickle the call.
"""
from __future__ import annotations

import concurrent.futures as cf
import io
import multiprocessing as mp
import os
import pickle
import shutil
import sys
import tempfile
import threading
import time
import types

import numpy as np

SPILL_BYTES = 1 << 20
POLL_S = 0.05
NICENESS = 10
PARENT_POLL_S = 1.0  # how often a child looks whether the window's process still exists

_child: dict = {}


class _ChildCancelled(Exception):
    """The process stopped a job at its progress call, as asked."""


class _Spiller(pickle.Pickler):
    def __init__(self, file, folder: str):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.folder, self.count = folder, 0

    def persistent_id(self, obj):
        if isinstance(obj, np.ndarray) and obj.nbytes > SPILL_BYTES and obj.dtype != object:
            self.count += 1
            path = os.path.join(self.folder, f"{self.count}.npy")
            np.save(path, obj, allow_pickle=False)
            return path
        return None


class _Mapper(pickle.Unpickler):
    def persistent_load(self, pid):
        return np.load(pid, mmap_mode="r", allow_pickle=False)


def _init_child(progress, cancel) -> None:
    _child["progress"], _child["cancel"] = progress, cancel
    try:
        os.nice(NICENESS)  # on a busy machine the window's own process comes first
    except OSError:
        pass
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """End this process once the window's is gone: a window killed mid-measurement (a crash, kill -9)
    would otherwise leave it computing for minutes, and the pool's own shutdown never comes."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(0)


def _call_in_child(payload: bytes, token: int):
    fn, args = _Mapper(io.BytesIO(payload)).load()

    def progress(fraction: float) -> None:
        if _child["cancel"].value == token:
            raise _ChildCancelled
        _child["progress"].value = float(fraction)

    result = fn(*args, progress)
    return result, os.getpid()


class ProcessRunner:
    """One spawned process that runs engine functions for the jobs thread, one at a time."""

    def __init__(self):
        self._pool: cf.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._token = 0
        self.last_pid: int | None = None  # the process that computed the last result

    def _start(self) -> cf.ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = mp.get_context("spawn")
                self._progress, self._cancel = context.Value("d", 0.0, lock=False), context.Value("q", 0, lock=False)
                pool = cf.ProcessPoolExecutor(1, mp_context=context, initializer=_init_child,
                                              initargs=(self._progress, self._cancel))
                # spawned now, with the main script hidden: spawn re-runs a script's top level in the child
                # (a script that opens the window without a __main__ guard would open another there)
                main = sys.modules.get("__main__")
                sys.modules["__main__"] = types.ModuleType("__main__")
                try:
                    pool.submit(os.getpid).result()
                finally:
                    sys.modules["__main__"] = main
                self._pool = pool
            return self._pool

    def pack(self, fn, args, folder: str) -> bytes | None:
        """The pickled call with its large arrays spilled into ``folder``; None when it cannot be pickled."""
        buffer = io.BytesIO()
        try:
            _Spiller(buffer, folder).dump((fn, tuple(args)))
        except (pickle.PicklingError, TypeError, AttributeError, ValueError):
            return None
        return buffer.getvalue()

    def run(self, fn, args, progress):
        """fn(*args, progress) in the process, or on this thread when the call cannot be pickled."""
        folder = tempfile.mkdtemp(prefix="sparsesort-job-")
        try:
            payload = self.pack(fn, args, folder)
            if payload is None:
                return fn(*args, progress)
            pool = self._start()
            with self._lock:
                self._token += 1
                token = self._token
            self._progress.value = 0.0
            future = pool.submit(_call_in_child, payload, token)
            while True:
                try:
                    result, self.last_pid = future.result(timeout=POLL_S)
                    return result
                except cf.TimeoutError:
                    pass
                except cf.process.BrokenProcessPool:
                    with self._lock:
                        self._pool = None  # the process died: the next job starts a new one
                    raise
                try:
                    progress(self._progress.value)
                except BaseException:
                    self._cancel.value = token  # the process stops at its next progress call
                    raise
        finally:
            shutil.rmtree(folder, ignore_errors=True)  # the process keeps what it mapped

    def close(self) -> None:
        """Stop the process (a job in it is abandoned); a later ``run`` starts a new one."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        self._cancel.value = self._token
        processes = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=2.0)
