"""A Dask client: of a local cluster of N worker processes, or of a scheduler that is already running
(for example one started by dask-jobqueue on SLURM). Closing it closes the local cluster with it."""
from __future__ import annotations

import logging
from contextlib import contextmanager

CONNECT_TIMEOUT_S = 10.0


class SchedulerUnreachable(RuntimeError):
    """The scheduler at the address given did not answer."""


def connect(scheduler: str, timeout: float | None = None):
    """A client of the scheduler at ``scheduler`` (``tcp://host:8786``, or a scheduler file's path)."""
    from distributed import Client

    timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
    options = {"scheduler_file": scheduler} if scheduler.endswith(".json") else {"address": scheduler}
    try:
        return Client(**options, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SchedulerUnreachable(f"cannot reach the Dask scheduler at {scheduler} within {timeout:g} s "
                                   f"({type(exc).__name__}: {exc})") from None


def local_cluster(workers: int | None = None):
    """A LocalCluster of ``workers`` processes (default: one per core) with one thread each."""
    import dask
    from distributed import LocalCluster

    # Dask gives its workers MALLOC_TRIM_THRESHOLD_=65536, which turns off glibc's dynamic mmap threshold:
    # every large array is then a fresh mapping, and a chunk costs 1.5x the CPU (3-4x the page faults)
    # of the same chunk in a plain process. Left unset, unless the user set it.
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                            silence_logs=logging.ERROR)


@contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None, timeout: float | None = None):
    """``with dask_client(workers=2) as client``: a local cluster of ``workers`` processes with one thread
    each (numerical libraries single-threaded there), or, with ``scheduler``, a running cluster's client."""
    if scheduler:
        client = connect(scheduler, timeout)
        try:
            yield client
        finally:
            client.close()
        return
    from distributed import Client

    cluster = local_cluster(workers)
    try:
        client = Client(cluster, set_as_default=False)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()
