"""Sorting on Dask (``dask.distributed``): the chunks of one recording, or many recordings, on workers.

- ``cluster``: a client of a local cluster of worker processes, or of a running scheduler;
- ``source``: how a worker opens the recording the model sees (the file, its reader options, the
  preprocessing and the motion estimate), so that traces never travel;
- ``chunks``: one recording's chunks sorted on the workers with the learned model, cut at the
  boundaries ``engine.sorting.sorter.sort_recording`` uses, so that the spikes equal its own;
- ``batch``: many recordings, one task each, with one row of summary per recording.

Training stays in the calling process; only the learned model is sent to the workers, once.
"""
from engine.distributed.chunks import sort_on_cluster, train_and_sort
from engine.distributed.cluster import SchedulerUnreachable, dask_client
from engine.distributed.source import RecordingSource

__all__ = ["RecordingSource", "SchedulerUnreachable", "dask_client", "sort_on_cluster", "train_and_sort"]
