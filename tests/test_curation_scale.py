"""Curation at scale (issue 17.5): each unit's channels only, bounded memory, metrics in a process of their own.

Qt is imported inside the window test only: the process the runner spawns imports this module to find ``_slow``.
"""
import os
import time
import tracemalloc

import numpy as np
import pytest

from engine.curation.features import best_channels, pca_features, read_snippets, sample_spikes
from engine.curation.local import MAX_CHANNELS, cluster_channels, overlapping_pairs
from engine.curation.quality import ISOLATION_CHANNELS, SNIPPETS_PER_CLUSTER, isolation, quality_metrics
from engine.curation.suggestions import evaluate_pairs
from engine.groundtruth.simulate import SimulationConfig, simulate_recording
from engine.recording.noise import noise_std


def _truth(recording):
    t = recording.ground_truth
    order = np.argsort(t.spike_times, kind="stable")
    return t.spike_times[order], t.amplitudes[order], t.spike_units[order]


def _whole_probe_metrics(recording, times, clusters, ids, sigma):
    """The metrics as they were computed before (every channel of every snippet, all pairs): snr, nearest,
    isolation."""
    snippets = {c: read_snippets(recording, times[sample_spikes(np.flatnonzero(clusters == c), SNIPPETS_PER_CLUSTER,
                                                                seed=c)]) for c in ids}
    means = {c: s.mean(axis=0) for c, s in snippets.items()}
    flat = np.array([means[c].ravel() for c in ids])
    distance = ((flat[:, None, :] - flat[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(distance, np.inf)
    out = {}
    for i, c in enumerate(ids):
        near = ids[int(distance[i].argmin())]
        channels = np.union1d(best_channels(means[c], ISOLATION_CHANNELS), best_channels(means[near], ISOLATION_CHANNELS))
        features = pca_features(np.concatenate([snippets[c][..., channels], snippets[near][..., channels]]), 3)
        channel = int(best_channels(means[c], 1)[0])
        out[c] = (np.abs(means[c][:, channel]).max() / sigma[channel], near,
                  isolation(features[:len(snippets[c])], features[len(snippets[c]):]))
    return out


def test_on_a_tetrode_every_channel_is_near_and_the_metrics_equal_the_whole_probe_ones():
    recording = simulate_recording(SimulationConfig(minutes=0.3, units=5, channels=4, seed=2))
    times, amplitudes, clusters = _truth(recording)
    sigma = noise_std(recording.traces(0, 50_000))
    ids = list(range(5))
    members = {c: np.flatnonzero(clusters == c) for c in ids}
    assert all(np.array_equal(ch, np.arange(4)) for ch in cluster_channels(recording, times, members).values())
    metrics = quality_metrics(recording, times, amplitudes, clusters, ids, sigma)
    for c, (snr, near, iso) in _whole_probe_metrics(recording, times, clusters, ids, sigma).items():
        assert metrics[c].snr == pytest.approx(snr, rel=1e-5)
        assert metrics[c].nearest == near and metrics[c].isolation == pytest.approx(iso)
    # merge evidence: a unit cut in two is suggested, the same with every channel given as the unit's
    split = clusters.copy()
    split[np.flatnonzero(clusters == 0)[::2]] = 7
    local = evaluate_pairs(recording, times, amplitudes, split, [0, 1, 2, 3, 4, 7])
    every = evaluate_pairs(recording, times, amplitudes, split, [0, 1, 2, 3, 4, 7],
                           channels={c: np.arange(4) for c in [0, 1, 2, 3, 4, 7]})
    assert [(e.a, e.b) for e in local if e.suggested] == [(0, 7)]
    assert [(e.a, e.b, e.suggested) for e in local] == [(e.a, e.b, e.suggested) for e in every]
    assert np.allclose([e.similarity for e in local], [e.similarity for e in every])


@pytest.fixture(scope="module")
def wide():
    """12 s of 16 units on a 192-channel line (3.8 mm): most units share no channel."""
    return simulate_recording(SimulationConfig(minutes=0.2, units=16, channels=192, seed=1))


def test_on_a_wide_probe_metrics_read_each_units_channels_in_bounded_memory(wide):
    times, amplitudes, clusters = _truth(wide)
    sigma = noise_std(wide.traces(0, 50_000))
    ids = list(range(16))
    members = {c: np.flatnonzero(clusters == c) for c in ids}
    channels = cluster_channels(wide, times, members)
    peaks = np.abs(wide.ground_truth.waveforms).max(axis=2).argmax(axis=1)
    for c in ids:  # a unit's channels: the few around its true peak channel
        assert peaks[c] in channels[c] and len(channels[c]) <= MAX_CHANNELS
    tracemalloc.start()
    metrics = quality_metrics(wide, times, amplitudes, clusters, ids, sigma)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # the whole-probe snippets alone were 16 units x 200 spikes x 30 taps x 192 channels x 4 bytes = 74 MB
    # (106 MB at the peak); here a read block (16 MB) and each unit's means and pair snippets
    assert peak < 48 * 2 ** 20, peak / 2 ** 20
    shared = set(overlapping_pairs(channels))
    for c, m in metrics.items():
        assert m.count == len(members[c]) and m.snr > 4
        if m.nearest is not None:  # measured against a unit sharing its channels, never a far one
            assert (min(c, m.nearest), max(c, m.nearest)) in shared and m.isolation > 0.8


def _slow(seconds, progress):
    """Calls progress for ``seconds`` (in the runner's process) and returns that process's id."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        progress(0.5)
        time.sleep(0.01)
    return os.getpid()


def _total(values, progress):
    progress(1.0)
    assert isinstance(values, np.memmap)  # mapped from the file it was spilled into
    return int(values.sum())


def test_the_process_runner_reports_progress_stops_when_cancelled_and_runs_again():
    from app.process_jobs import ProcessRunner
    from app.worker import Cancelled

    runner = ProcessRunner()
    try:
        seen = []
        assert runner.run(_slow, (0.3,), seen.append) != os.getpid()
        assert seen and max(seen) == pytest.approx(0.5)

        calls = {"n": 0}

        def cancel_soon(_fraction):
            calls["n"] += 1
            if calls["n"] > 3:
                raise Cancelled

        start = time.monotonic()
        with pytest.raises(Cancelled):
            runner.run(_slow, (60.0,), cancel_soon)
        pid = runner.run(_slow, (0.05,), lambda f: None)  # the cancelled job gave the process back
        assert pid != os.getpid() and time.monotonic() - start < 30
        big = np.arange(3_000_000)  # over SPILL_BYTES: sent through a file, not pickled
        assert runner.run(_total, (big,), lambda f: None) == int(big.sum())
    finally:
        runner.close()


_ORPHAN_PARENT = """
import os, sys, threading, time
sys.path.insert(0, {root!r})
from app.process_jobs import ProcessRunner
from tests.test_curation_scale import _slow
runner = ProcessRunner()
threading.Thread(target=runner.run, args=(_slow, (120.0,), lambda f: None), daemon=True).start()
while runner._pool is None or not runner._pool._processes:
    time.sleep(0.05)
print(next(iter(runner._pool._processes)), flush=True)
time.sleep(0.5)
os.kill(os.getpid(), 9)  # the window's process killed mid-measurement
"""


def test_a_measuring_process_ends_when_the_window_process_is_killed():
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parent = subprocess.Popen([sys.executable, "-c", _ORPHAN_PARENT.format(root=root)], stdout=subprocess.PIPE,
                              text=True, cwd=root)
    child = int(parent.stdout.readline())  # (the pipe stays open while the child lives: read one line)
    parent.wait(timeout=60)
    parent.stdout.close()
    end = time.monotonic() + 15
    while time.monotonic() < end and _alive(child):
        time.sleep(0.1)
    assert not _alive(child), "the measuring process outlived the window's"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def test_the_window_measures_many_units_in_a_process_while_its_event_loop_ticks(qtbot, tmp_path, monkeypatch):
    from PyQt6.QtCore import QTimer

    import app.curation_controller as cc
    from engine.sorting.sorter import SortResult
    from qt_windows import CLOSE_TIMEOUT_MS, close_window, make_window

    recording = simulate_recording(SimulationConfig(minutes=0.3, units=4, channels=8, seed=4))
    path = tmp_path / "rec.dat"
    recording.traces().astype(np.float32).tofile(path)
    monkeypatch.setattr(cc, "PROCESS_MIN_WORK", 0)  # a small recording, measured as 300 units would be
    win = make_window(qtbot, tmp_path)
    try:
        c = win.controller
        assert c.open_recording(str(path), sampling_rate=recording.sampling_rate, n_channels=8, dtype="float32",
                                estimate_motion=False)
        c.filters, c.lam = recording.ground_truth.waveforms.astype(np.float32), 1.0
        c.filtersChanged.emit(c.filters)
        times, amplitudes, units = _truth(recording)
        ticks = []
        timer = QTimer(interval=10)
        timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
        timer.start()
        c.spikes = SortResult(times, units, amplitudes, recording.sampling_rate, 4)
        c.spikesChanged.emit(c.spikes)
        qtbot.waitUntil(lambda: any(j.kind == "measure" for j in c.jobs.pending), timeout=CLOSE_TIMEOUT_MS)
        started = len(ticks)
        qtbot.waitUntil(lambda: set(c.curation.quality) == {0, 1, 2, 3}, timeout=CLOSE_TIMEOUT_MS)
        timer.stop()
        assert c.curation.runner.last_pid not in (None, os.getpid())  # computed in the runner's process
        assert len(ticks) - started >= 5  # the GUI thread's event loop ran meanwhile
        assert max(np.diff(ticks[started:])) < 0.5
        direct = quality_metrics(c.recording, times, amplitudes, units, [0, 1, 2, 3], c.noise_sigma)
        for k, m in direct.items():
            assert c.curation.quality[k].snr == pytest.approx(m.snr) and c.curation.quality[k].nearest == m.nearest
    finally:
        close_window(qtbot, win)
        qtbot.waitUntil(lambda: c.curation.runner._pool is None, timeout=CLOSE_TIMEOUT_MS)
