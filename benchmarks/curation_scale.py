"""Curation at scale (issue 17.5): quality metrics and merge evidence of 300 units on 384 channels.

    QT_QPA_PLATFORM=offscreen python benchmarks/curation_scale.py [--seconds 30] [--units 300] [--runs 3]
                                                                  [--frames 40] [--folder DIR]

1. A ground-truth recording from SpikeInterface's ``generate_ground_truth_recording``: 384 channels on
   its default two-column probe (20 um pitch, 3.8 mm), 30 kHz, ``--units`` units at 5 Hz, written once
   as int16 (0.195 uV a step) with a probeinterface JSON beside it, in ``--folder``.
2. The engine: ``engine.curation.measure.measure`` (quality metrics and merge evidence of every unit) on
   that file opened as the window opens it (band-pass and common reference), with the true spikes as
   the sort; each run in a fresh process: wall time, its peak RSS over what it held before, and the
   peak of numpy's and Python's allocations (tracemalloc). Median over ``--runs``.
3. The window: the same file and spikes (a one-channel spike for each unit as its filter), shown as a
   sort; the time until its metrics are shown (measured in a process of their own, app/process_jobs.py,
   while the views build 300 units' plots). Once the views have settled, the units are measured again
   (as after a merge) and, while that runs, the Traces are scrolled by a tenth of their width per frame:
   the GUI thread's time per frame as in app_latency.py (scroll, redraw, repaint), the longest gap between
   the ticks of a 5 ms timer, and the same frames afterwards with nothing measured.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import statistics
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

FS = 30_000.0
GAIN_UV = 0.195


def generate(folder: str, seconds: float, units: int, seed: int = 0) -> dict:
    """The recording's paths (cached): int16 traces, probe JSON, true spikes and templates."""
    os.makedirs(folder, exist_ok=True)
    meta = os.path.join(folder, f"gt_384ch_{units}u_{seconds:g}s.json")
    if os.path.exists(meta):
        return json.load(open(meta))
    import probeinterface
    import spikeinterface.core as sc

    recording, sorting = sc.generate_ground_truth_recording(
        durations=[seconds], sampling_frequency=FS, num_channels=384, num_units=units, seed=seed,
        generate_sorting_kwargs={"firing_rates": 5.0, "refractory_period_ms": 4.0})
    base = meta[:-5]
    with open(base + ".dat", "wb") as fh:
        step = int(FS)
        for start in range(0, recording.get_num_samples(), step):
            block = recording.get_traces(start_frame=start, end_frame=min(start + step, recording.get_num_samples()))
            fh.write(np.clip(np.round(block / GAIN_UV), -32768, 32767).astype(np.int16).tobytes())
    probeinterface.write_probeinterface(base + ".probe.json", recording.get_probe())
    spikes = sorting.to_spike_vector()
    np.savez(base + ".spikes.npz", times=spikes["sample_index"].astype(np.int64),
             units=spikes["unit_index"].astype(np.int64))
    paths = {"traces": base + ".dat", "probe": base + ".probe.json", "spikes": base + ".spikes.npz",
             "units": units, "seconds": seconds}
    json.dump(paths, open(meta, "w"))
    return paths


def open_file(paths):
    from engine.recording.preprocessing import default_config, preprocess
    from engine.recording.registry import open_recording
    raw = open_recording(paths["traces"], sampling_rate=FS, n_channels=384, dtype="int16", gain=GAIN_UV,
                         probe=paths["probe"])
    return preprocess(raw, default_config(raw))


def spikes_of(paths, recording=None):
    data = np.load(paths["spikes"])
    times, units = data["times"], data["units"]
    order = np.argsort(times, kind="stable")
    times, units = times[order], units[order]
    amplitudes = np.ones(len(times), np.float32)  # the true spikes carry no fitted amplitude
    return times, units, amplitudes


def engine_run(paths, queue) -> None:
    """One measurement in this (fresh) process; puts (seconds, peak RSS MB over the start, peak RSS MB,
    tracemalloc peak MB, units, suggestions, median SNR, median isolation)."""
    import resource
    import tracemalloc

    from engine.curation.measure import measure
    from engine.recording.noise import noise_std
    recording = open_file(paths)
    times, units, amplitudes = spikes_of(paths, recording)
    sigma = noise_std(recording.traces(0, int(FS)))
    ids = sorted(set(units.tolist()))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    start = time.perf_counter()
    quality, evidence = measure(recording, times, amplitudes, units, ids, sigma, [], lambda f: None)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    snr = np.nanmedian([q.snr for q in quality.values()])
    iso = np.nanmedian([q.isolation for q in quality.values()])
    queue.put((seconds, after - before, after, peak, len(quality), sum(e.suggested for e in evidence), snr, iso))


def engine_figures(paths, runs: int) -> list[tuple]:
    context = mp.get_context("spawn")
    out = []
    for _ in range(runs):
        queue = context.Queue()
        process = context.Process(target=engine_run, args=(paths, queue))
        process.start()
        out.append(queue.get())
        process.join()
        print("engine run: %.1f s, peak RSS +%.0f MB (process peak %.0f MB), tracemalloc peak %.0f MB, %d units, %d suggested, "
              "median SNR %.1f, median isolation %.2f" % out[-1], flush=True)
    return out


def scroll_frames(c, traces, loaded, frames: int, stop) -> list[float]:
    """GUI-thread seconds of each frame (scroll and paint; the new window's redraw and paint), as app_latency."""
    from app_latency import painted, wait_until
    out = []
    for _ in range(frames):
        if stop():
            break
        before = loaded["n"]
        cost = painted(lambda: traces.scroll(0.1 if traces.plot.viewRange()[0][1] < c.recording.duration - 1
                                             else -10.0))
        wait_until(lambda: loaded["n"] > before, 120)
        out.append(cost + painted(traces._redraw))
    return out


def window_run(paths, frames: int) -> dict:
    from PyQt6.QtCore import QTimer

    from app import create_application
    from app_latency import new_window, wait_until
    from engine.sorting.sorter import SortResult

    window_run.app = create_application()  # kept alive for the windows that follow
    window = new_window()
    c = window.controller
    assert c.open_recording(paths["traces"], sampling_rate=FS, n_channels=384, dtype="int16", gain=GAIN_UV,
                            probe=paths["probe"], estimate_motion=False)
    loaded = {"n": 0}
    c.traceWindowLoaded.connect(lambda _: loaded.__setitem__("n", loaded["n"] + 1))
    wait_until(lambda: loaded["n"] >= 1)
    times, units, amplitudes = spikes_of(paths, c.recording)
    n_units = int(units.max()) + 1
    filters = np.zeros((n_units, c.recording.n_channels, 60), np.float32)  # each unit on its peak channel
    rng = np.random.default_rng(0)
    filters[np.arange(n_units), rng.integers(0, c.recording.n_channels, n_units), 20] = -1.0
    c.filters, c.lam = filters, 1.0
    c.filtersChanged.emit(c.filters)
    measured = {"at": None}
    c.curation.measured.connect(lambda: measured.__setitem__("at", time.perf_counter()))
    ticks, last = [], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        ticks.append(now - last[0])
        last[0] = now

    start = time.perf_counter()
    c.spikes = SortResult(times, units, amplitudes, FS, n_units)
    c.sorted_seconds = c.recording.duration
    c.spikesChanged.emit(c.spikes)
    wait_until(lambda: measured["at"] is not None and not c.jobs.busy, 1800)
    after_sort = measured["at"] - start  # the first measurement, while 300 units' views are being built
    settle = time.perf_counter() + 3.0
    wait_until(lambda: time.perf_counter() > settle)  # the views' layouts done: only the metrics run next
    timer = QTimer(interval=5)
    timer.timeout.connect(tick)
    traces = window.traces
    traces.set_x_range(1.0, 2.0)
    measured["at"] = None
    start = time.perf_counter()
    last[0] = start
    timer.start()
    c.curation._measure()  # as after a merge: the metrics of every unit again
    gui_times = scroll_frames(c, traces, loaded, frames, lambda: measured["at"] is not None)
    wait_until(lambda: measured["at"] is not None, 1800)
    gaps_while = list(ticks)
    timer.stop()
    wait_until(lambda: not c.jobs.busy, 600)
    after = scroll_frames(c, traces, loaded, frames, lambda: False)  # the same, with nothing measured
    result = {"gui_s": gui_times, "after_s": after, "tick_gap_ms": [1000 * g for g in gaps_while],
              "metrics_s": measured["at"] - start, "after_sort_s": after_sort,
              "in_process": c.curation.runner.last_pid not in (None, os.getpid()), "units": len(c.curation.quality)}
    window.close()
    wait_until(lambda: c.finished, 120)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--units", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--folder", default=os.path.join(tempfile.gettempdir(), "sparsesort-curation-scale"))
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; load {os.getloadavg()}", flush=True)
    start = time.perf_counter()
    paths = generate(args.folder, args.seconds, args.units)
    print(f"recording: {paths['traces']} ({time.perf_counter() - start:.0f} s to make or find)", flush=True)
    if args.runs:
        runs = engine_figures(paths, args.runs)
        print(f"engine, median of {len(runs)}: {statistics.median(r[0] for r in runs):.1f} s, peak RSS "
              f"+{statistics.median(r[1] for r in runs):.0f} MB, tracemalloc peak "
              f"{statistics.median(r[3] for r in runs):.0f} MB; load {os.getloadavg()}", flush=True)
    for k in range(args.runs if args.frames else 0):
        from app_latency import describe
        r = window_run(paths, args.frames)
        print(f"window run {k + 1}: metrics shown {r['after_sort_s']:.1f} s after the sort; measured again: "
              f"{r['metrics_s']:.1f} s (in a process: {r['in_process']}, "
              f"{r['units']} units); GUI thread per frame while measuring: "
              f"{describe(r['gui_s']) if r['gui_s'] else 'no frames'}; afterwards, nothing measured: "
              f"{describe(r['after_s'])}; "
              f"5 ms timer's longest gap {max(r['tick_gap_ms'], default=float('nan')):.1f} ms, median "
              f"{statistics.median(r['tick_gap_ms']) if r['tick_gap_ms'] else float('nan'):.1f} ms; "
              f"load {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
