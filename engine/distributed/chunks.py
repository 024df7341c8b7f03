"""One recording's chunks sorted on Dask workers with the learned model.

The recording is cut where ``sort_recording`` cuts it (``default_chunk``), and each task is
``sort_recording`` itself over one chunk's codes (``start`` at the chunk, ``stop`` where its last
code's window ends), so it reads the same margins and keeps the same codes: the spikes equal the
single-process sort's. The model is scattered once to every worker; each worker opens the recording
from its ``RecordingSource``.
"""
from __future__ import annotations

import copy
import time
from typing import Callable

import numpy as np
import torch

from engine.distributed.source import RecordingSource, opened
from engine.model.autoencoder import ConvSparseAutoencoder
from engine.recording.base import Recording
from engine.sorting.sorter import SortResult, default_chunk, sort_recording


def chunk_tasks(n_samples: int, n_taps: int, chunk: int, start: int = 0, stop: int | None = None):
    """(start, stop) in samples of each chunk's call of sort_recording: its codes [start, stop - taps + 1)."""
    stop = n_samples if stop is None else min(stop, n_samples)
    n_codes_end = stop - n_taps + 1
    return [(lo, min(lo + chunk, n_codes_end) + n_taps - 1) for lo in range(start, max(start, n_codes_end), chunk)]


def sort_task(source: RecordingSource, model: ConvSparseAutoencoder, start: int, stop: int, chunk: int,
              thresholds, margin):
    """On a worker: the spikes of one chunk (times, units, amplitudes)."""
    result = sort_recording(opened(source), model, thresholds=thresholds, chunk=chunk, margin=margin,
                            start=start, stop=stop)
    return result.times, result.units, result.amplitudes


def warm_up() -> None:
    """On every worker, while the model learns: import what the chunks need (torch, the sorter)."""
    import engine.distributed.chunks  # noqa: F401


def portable(model: ConvSparseAutoencoder) -> ConvSparseAutoencoder:
    """The model on the CPU, as every worker can load it (a copy when it is on a GPU)."""
    if model.weight.device.type == "cpu":
        return model
    model = copy.deepcopy(model).cpu()
    for name, value in vars(model).items():
        if isinstance(value, torch.Tensor):
            setattr(model, name, value.cpu())
    return model


def sort_on_cluster(client, recording: Recording, model: ConvSparseAutoencoder, source: RecordingSource | None = None,
                    *, thresholds=None, chunk: int | None = None, margin: int | None = None, start: int = 0,
                    stop: int | None = None, progress: Callable[[int], None] | None = None) -> SortResult:
    """``sort_recording(recording, model, ...)`` with its chunks on the workers of ``client``.

    ``source`` says how the workers open ``recording`` (default: a recording without a file is sent
    as it is). ``progress`` gets the samples of each chunk done, as chunks finish (it may raise to
    cancel: the chunks not yet sorted are cancelled)."""
    from distributed import as_completed

    if source is None:
        if recording.path is not None:
            raise ValueError(f"{recording.path}: say how the workers open it (a RecordingSource)")
        source = RecordingSource.in_memory(recording)
    chunk = default_chunk(model) if chunk is None else int(chunk)
    tasks = chunk_tasks(recording.n_samples, model.n_taps, chunk, start, stop)
    if not tasks:
        return sort_recording(recording, model, thresholds=thresholds, chunk=chunk, start=start, stop=stop)
    [model_future, source_future] = client.scatter([portable(model), source], broadcast=True, hash=False)
    futures = [client.submit(sort_task, source_future, model_future, lo, hi, chunk, thresholds, margin,
                             key=f"sparsesort-chunk-{source.key}-{i}-{time.monotonic_ns()}", pure=False)
               for i, (lo, hi) in enumerate(tasks)]
    index = {future.key: i for i, future in enumerate(futures)}
    parts: list = [None] * len(futures)
    try:
        for future in as_completed(futures, loop=client.loop):
            i = index[future.key]
            parts[i] = future.result()
            if progress is not None:
                lo, hi = tasks[i]
                progress(hi - model.n_taps + 1 - lo)
    finally:
        client.cancel(futures + [model_future, source_future])
    times, units, amps = (np.concatenate([part[k] for part in parts]) for k in range(3))
    order = np.lexsort((units, times))
    return SortResult(times[order].astype(np.int64), units[order], amps[order], recording.sampling_rate,
                      model.n_units)


def train_and_sort(client, prepared, train_config, source: RecordingSource, *, on_snapshot=None, progress=None,
                   snapshot_interval: float = 0.5):
    """``engine.sorting.pipeline.sort`` with the sort on the cluster: training here (while the workers
    import what the chunks need), then the chunks on the workers. Returns the pipeline's SortOutcome."""
    from engine.sorting.pipeline import PipelineSettings, sort

    def on_cluster(recording, model, progress=None):
        return sort_on_cluster(client, recording, model, source, progress=progress)

    warming = [client.submit(warm_up, workers=[worker], pure=False) for worker in client.scheduler_info()["workers"]]
    try:
        return sort(prepared.raw, PipelineSettings(train_config), prepared=prepared, on_snapshot=on_snapshot,
                    progress=progress, snapshot_interval=snapshot_interval, sorter=on_cluster)
    finally:
        client.cancel(warming)
