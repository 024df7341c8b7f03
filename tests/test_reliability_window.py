"""Issue 14, points 3 and 8: zooming out of the Traces keeps memory bounded whatever the span; every
engine error reaches the user as a message, the process never aborts on a running QThread, and the
sorting progress bar goes when a sort fails."""
import os
import sys
import tracemalloc

import numpy as np
import pytest
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication

from app.trace_loader import TraceLoader, TraceRequest, minmax_decimate
from engine.recording.base import ArrayRecording
from engine.recording.registry import open_recording
from tests.qt_windows import CLOSE_TIMEOUT_MS, close_window, make_window

RATE, CHANNELS = 30_000, 32
FILE_BYTES = 4 * 2**30  # 4 GiB, sparse: made with truncate, nothing written but a few spikes
MEMORY_BOUND = 40e6  # bytes the loader may hold at its peak, whatever the span


def test_zooming_out_over_a_4_gb_file_reads_in_blocks_in_bounded_memory(tmp_path):
    path = tmp_path / "big.bin"
    frame = 2 * CHANNELS
    with open(path, "wb") as f:
        f.truncate(FILE_BYTES)
        for second, channel, value in ((5, 3, -900), (59, 30, 700), (110, 0, -1200)):
            f.seek(second * RATE * frame + 2 * channel)
            f.write(np.int16(value).tobytes())
    rec = open_recording(path, sampling_rate=RATE, n_channels=CHANNELS)
    assert rec.duration > 2000
    loader = TraceLoader()
    windows = []
    loader.loaded.connect(windows.append)
    loader.failed.connect(pytest.fail)
    tracemalloc.start()
    try:
        for span in (10, 60, 120):  # zoom out: the old loader held span x 32 channels x 4 bytes (460 MB at 120 s)
            tracemalloc.reset_peak()
            loader.load(TraceRequest(span, rec, 0, span * RATE, 1000))
            assert tracemalloc.get_traced_memory()[1] < MEMORY_BOUND, span
    finally:
        tracemalloc.stop()
    last = windows[-1]
    assert last.raw.shape == (2000, CHANNELS) and np.all(np.diff(last.times) >= 0)
    assert (last.raw[:, 3].min(), last.raw[:, 30].max(), last.raw[:, 0].min()) == (-900, 700, -1200)  # extremes kept
    assert last.times[np.argmin(last.raw[:, 0])] == pytest.approx(110, abs=120 / 1000)


def test_block_decimation_equals_decimating_the_whole_window_at_once(rng):
    data = rng.standard_normal((50_000, 3)).astype(np.float32)
    loader = TraceLoader()
    windows = []
    loader.loaded.connect(windows.append)
    from app import trace_loader
    rec = ArrayRecording(data, 1000.0)
    original = trace_loader.BLOCK_VALUES
    trace_loader.BLOCK_VALUES = 3 * 777  # blocks that cut through the pixel bins
    try:
        loader.load(TraceRequest(1, rec, 1234, 48_000, 300))
    finally:
        trace_loader.BLOCK_VALUES = original
    times, values = minmax_decimate(data[1234:48_000], 1234, 1000.0, 300)
    np.testing.assert_array_equal(windows[0].raw, values)
    np.testing.assert_array_equal(windows[0].times, times)


@pytest.fixture
def nan_file(tmp_path):
    import h5py
    path = tmp_path / "nan.h5"
    traces = np.zeros((100_000, 2), np.float32)
    traces[1000, 1] = np.nan
    with h5py.File(path, "w") as h5:
        h5["traces"] = traces
        h5["traces"].attrs["sampling_rate"] = 10_000.0
    return path


def test_the_window_started_on_a_file_with_nan_samples_says_so_and_exits_cleanly(nan_file, qtbot, tmp_path,
                                                                                  monkeypatch):
    import app
    from app.main_window import MainWindow

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # app.main installs its own: put it back after
    monkeypatch.setenv("HOME", str(tmp_path))  # a settings file of its own
    seen = {}

    def close_once_the_error_shows():
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if windows and windows[0].last_error:
            seen["error"], seen["window"] = windows[0].last_error, windows[0]
            windows[0].close()
        else:
            QTimer.singleShot(100, close_once_the_error_shows)

    QTimer.singleShot(100, close_once_the_error_shows)
    QTimer.singleShot(CLOSE_TIMEOUT_MS, QApplication.quit)  # a hang fails below, never blocks the run
    assert app.main([str(nan_file)]) == 0
    assert str(nan_file) in seen["error"] and "NaN" in seen["error"]
    assert seen["window"].controller.finished  # every worker thread ended before the window went


def test_after_a_sort_fails_the_progress_bar_goes_and_the_error_shows(qtbot, tmp_path, seed_minute):
    window = make_window(qtbot, tmp_path)
    c = window.controller
    traces = seed_minute.traces()
    traces[40 * 10_000, 0] = np.nan  # past the first seconds the window reads on opening
    c.set_recording(ArrayRecording(traces, seed_minute.sampling_rate, path=str(tmp_path / "rec.h5")),
                    str(tmp_path / "rec.h5"))
    c.filters = seed_minute.ground_truth.waveforms.astype(np.float32)
    c.lam = 50.0
    with qtbot.waitSignal(c.errorOccurred, timeout=CLOSE_TIMEOUT_MS) as error:
        c.sort_all()
    assert "NaN" in error.args[0]
    qtbot.waitUntil(lambda: not window.progress.isVisible(), timeout=5_000)
    assert window.last_error == error.args[0]
    close_window(qtbot, window)


WINDOW_ON_A_FILE = """
import sys
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication
import app
from app.launch import main
qapp = app.create_application()  # the timers below need the application (kept alive by the name)
def close():
    for w in QApplication.topLevelWidgets():
        if getattr(w, "last_error", None):
            print("shown:", w.last_error, flush=True)
            w.close()
            return
    QTimer.singleShot(100, close)
QTimer.singleShot(100, close)
sys.exit(main(["gui", sys.argv[1]]))
"""


def window_on_a_file(path, home, timeout: float = 60):
    """``sparsesort gui PATH`` in a child process that closes the window once it shows an error."""
    import subprocess

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(home)}
    return subprocess.run([sys.executable, "-c", WINDOW_ON_A_FILE, str(path)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.skipif(os.name != "posix", reason="the child's exit status")
def test_the_window_command_on_a_nan_file_never_aborts(nan_file, tmp_path):
    """In a child process, as a user starts it: the window opens, shows the error, and closes with status 0
    (it was 134: 'QThread: Destroyed while thread ... is still running')."""
    done = window_on_a_file(nan_file, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"shown: {nan_file}" in done.stdout and "NaN" in done.stdout
    assert "Destroyed while thread" not in done.stderr
