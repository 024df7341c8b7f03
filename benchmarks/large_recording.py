"""Opening a huge raw recording and reading random windows in constant memory.

Creates a sparse int16 file (384 channels, 20 GB by default; ``truncate``,
no data written, so it takes no disk space), opens it with
``open_recording`` and reads ``--windows`` random one-second windows, raw
and through the default preprocessing (band-pass 300-6000 Hz + common average
reference). Prints the time to open, the time per window and the peak
resident memory (``ru_maxrss``) after each phase.

    python benchmarks/large_recording.py [--gigabytes 20] [--windows 100] [--path /tmp/large.bin]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time

import numpy as np

from engine.recording.preprocessing import PreprocessingConfig, preprocess
from engine.recording.registry import open_recording

N_CHANNELS = 384
SAMPLING_RATE = 30_000.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def make_sparse_file(path: str, gigabytes: float) -> int:
    frame = 2 * N_CHANNELS
    size = int(gigabytes * 1e9) // frame * frame
    with open(path, "wb") as f:
        f.truncate(size)
    return size


def read_windows(recording, starts, window) -> float:
    t0 = time.perf_counter()
    for start in starts:
        data = recording.traces(int(start), int(start) + window)
        assert data.shape == (window, N_CHANNELS)
    return (time.perf_counter() - t0) / len(starts)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=20.0)
    parser.add_argument("--windows", type=int, default=100)
    parser.add_argument("--path", default=None, help="where to put the sparse file (default: a temporary folder)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    folder = None if args.path else tempfile.TemporaryDirectory()
    path = args.path or os.path.join(folder.name, "large.bin")
    try:
        size = make_sparse_file(path, args.gigabytes)
        rss_before = peak_rss_mb()
        t0 = time.perf_counter()
        recording = open_recording(path, sampling_rate=SAMPLING_RATE, n_channels=N_CHANNELS, dtype="int16")
        open_seconds = time.perf_counter() - t0
        window = int(SAMPLING_RATE)
        starts = np.random.default_rng(args.seed).integers(0, recording.n_samples - window, args.windows)
        raw_seconds = read_windows(recording, starts, window)
        rss_raw = peak_rss_mb()
        filtered = preprocess(recording, PreprocessingConfig())
        filtered_seconds = read_windows(filtered, starts, window)
        result = {
            "file_bytes": size, "allocated_bytes": os.stat(path).st_blocks * 512,
            "channels": N_CHANNELS, "hours": round(recording.duration / 3600, 3), "windows": args.windows,
            "open_ms": round(1000 * open_seconds, 2),
            "raw_ms_per_window": round(1000 * raw_seconds, 1),
            "preprocessed_ms_per_window": round(1000 * filtered_seconds, 1),
            "peak_rss_mb_before_open": round(rss_before, 1),
            "peak_rss_mb_after_raw": round(rss_raw, 1),
            "peak_rss_mb_after_preprocessed": round(peak_rss_mb(), 1),
        }
    finally:
        if folder is not None:
            folder.cleanup()
        elif os.path.exists(path):
            os.remove(path)
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
