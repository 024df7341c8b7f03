"""The Dask speed-up: one recording's sort on a local cluster of N worker processes against the
single-process sort (``sort_recording``, whose chunks run on a thread pool), with the same model.

The model is learned once, in this process, as ``sparsesort sort`` learns it. Then, in turns, the
single-process sort and the sort on the cluster (``engine.distributed.sort_on_cluster``; each worker
opens the recording from its folder with the same preprocessing), ``--runs`` times each; every run's
spikes must equal the single-process ones. The cluster is started once; its start and its first
(cold: the workers import torch) sort are reported apart. The load average is read before and after
each run: other work on the machine slows both sides.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
        python benchmarks/distributed.py [--entry tetrode-20k] [--workers 2] [--runs 3] [--json OUT.json]

``--entry`` is a recording of the ground-truth suite (``benchmarks/suite.py --list``), generated when
it is not saved yet.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# this file's name is the package's: its folder must not come first on the path, here or on the workers
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]


def load_suite():
    spec = importlib.util.spec_from_file_location("suite", os.path.join(HERE, "suite.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules["suite"] = module
    spec.loader.exec_module(module)
    return module


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def timed(run):
    load_before = load_average()
    began = time.perf_counter()
    result = run()
    return result, {"seconds": round(time.perf_counter() - began, 2), "load_before": load_before,
                    "load_after": load_average()}


def same(a, b) -> bool:
    return (np.array_equal(a.times, b.times) and np.array_equal(a.units, b.units)
            and np.array_equal(a.amplitudes, b.amplitudes))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entry", default="tetrode-20k")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: TrainConfig's)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    import dask
    import distributed
    import torch

    suite = load_suite()
    from engine.distributed import RecordingSource, dask_client, sort_on_cluster
    from engine.recording.registry import open_recording
    from engine.sorting.pipeline import PipelineSettings, prepare_recording
    from engine.sorting.sorter import default_chunk, sort_recording
    from engine.training.trainer import TrainConfig, Trainer

    entry = next(e for e in suite.RECORDINGS if e.name == args.entry)
    folder = suite.generate(entry) / "recording"
    raw = open_recording(folder)
    config = TrainConfig() if args.steps is None else TrainConfig(max_steps=args.steps)
    prepared = prepare_recording(raw, PipelineSettings(config))
    recording = prepared.recording
    began = time.perf_counter()
    trainer = Trainer(recording, config)
    trainer.initialize()
    for _ in trainer.steps():
        pass
    model = trainer.model
    train_seconds = time.perf_counter() - began
    source = RecordingSource.of_file(folder, {}, prepared.preprocessing, prepared.motion_estimate)
    n_chunks = -(-(recording.n_samples - model.n_taps + 1) // default_chunk(model))
    print(f"{entry.name}: {recording.n_channels} channels, {recording.duration / 60:.1f} min at "
          f"{recording.sampling_rate / 1000:g} kHz, {model.n_units} units, {n_chunks} chunks; "
          f"learned in {train_seconds:.1f} s", flush=True)

    single, dask_runs = [], []
    reference, _ = timed(lambda: sort_recording(recording, model))
    cluster_began = time.perf_counter()
    with dask_client(workers=args.workers) as client:
        cluster_seconds = time.perf_counter() - cluster_began
        got, cold = timed(lambda: sort_on_cluster(client, recording, model, source))
        assert same(reference, got), "the cluster's spikes differ from the single-process sort's"
        print(f"cluster of {args.workers} started in {cluster_seconds:.1f} s; cold sort {cold}", flush=True)
        for run in range(args.runs):
            got, single_run = timed(lambda: sort_recording(recording, model))
            assert same(reference, got)
            single.append(single_run)
            got, dask_run = timed(lambda: sort_on_cluster(client, recording, model, source))
            assert same(reference, got), "the cluster's spikes differ from the single-process sort's"
            dask_runs.append(dask_run)
            print(f"run {run + 1}: single process {single_run}, Dask {dask_run}", flush=True)
    single_median = statistics.median(r["seconds"] for r in single)
    dask_median = statistics.median(r["seconds"] for r in dask_runs)
    report = {
        "entry": entry.name, "channels": recording.n_channels, "minutes": round(recording.duration / 60, 2),
        "sampling_rate": recording.sampling_rate, "units": model.n_units, "spikes": len(reference),
        "chunks": n_chunks, "workers": args.workers, "train_seconds": round(train_seconds, 1),
        "cluster_start_seconds": round(cluster_seconds, 1), "cold_dask": cold,
        "single": single, "dask": dask_runs, "single_median_s": single_median, "dask_median_s": dask_median,
        "speed_up": round(single_median / dask_median, 2), "spikes_equal": True,
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                    "python": platform.python_version(), "torch": torch.__version__, "dask": dask.__version__,
                    "distributed": distributed.__version__, "torch_threads": torch.get_num_threads()},
    }
    print(f"median of {args.runs}: single process {single_median:.2f} s, Dask ({args.workers} workers) "
          f"{dask_median:.2f} s: speed-up {report['speed_up']}x; spikes equal: yes", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
