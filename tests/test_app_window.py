"""The main window on a few seconds of simulated data: training, lambda, pause/stop, errors, closing."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PyQt6.QtCore import QSettings  # noqa: E402

from app import create_application  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from engine.groundtruth.simulate import SimulationConfig, simulate_recording  # noqa: E402
from engine.training.trainer import TrainConfig  # noqa: E402

torch.set_num_threads(1)  # Qt's threads and torch's own pool would fight over 2 cores
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def recording():
    return simulate_recording(SimulationConfig(minutes=0.25, seed=1))


@pytest.fixture
def window(qtbot, tmp_path, recording):
    create_application()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings=settings)
    win.show()
    win.controller.set_recording(recording)
    yield win
    win.close()
    qtbot.waitUntil(lambda: win.controller.finished, timeout=TIMEOUT_MS)
    win.deleteLater()


def train(win, max_steps=3):
    win.training.show_config(TrainConfig(max_steps=max_steps, batch_size=8, n_steps=30, tolerance=0.0))
    win.actions["train"].trigger()


def wait_trained(qtbot, win):
    qtbot.waitUntil(lambda: win.controller.training_state == "idle" and win.controller.spikes is not None
                    and not win.progress.isVisible(), timeout=TIMEOUT_MS)


def test_window_opens_on_a_generated_recording(window):
    assert window.isVisible()
    assert set(window.docks) == {"Traces", "Training", "Filters", "Raster", "Curves", "Units", "Log", "Drift map", "Probe"}
    assert window.actions["train"].isEnabled() and not window.actions["pause"].isEnabled()
    assert len(window.actions.entries) > 20


def test_training_feeds_filters_and_curves_and_filter_error_falls(qtbot, window):
    with qtbot.waitSignal(window.controller.snapshotReceived, timeout=TIMEOUT_MS):
        train(window, max_steps=4)
    wait_trained(qtbot, window)
    history = window.controller.history
    assert window.filters.n_filters == len(window.controller.filters) >= 3
    assert len(window.curves.loss_curve.getData()[0]) == len(history["step"]) >= 2
    assert len(window.curves.error_curves) == 3
    errors = np.asarray(history["filter_error"])
    assert errors[-1].mean() < errors[0].mean()
    assert sum(window.raster.spike_counts) > 0 and sum(window.units.count_column()) > 0


def test_lambda_change_changes_the_spike_counts(qtbot, window):
    train(window, max_steps=2)
    wait_trained(qtbot, window)
    before = sum(window.raster.spike_counts)
    assert sum(window.units.count_column()) == before
    window.training.lambda_box.setValue(window.controller.lam * 4)
    qtbot.waitUntil(lambda: sum(window.raster.spike_counts) < before, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not window.progress.isVisible(), timeout=TIMEOUT_MS)
    assert sum(window.units.count_column()) == sum(window.raster.spike_counts) < before


def test_pause_resume_and_stop(qtbot, window):
    controller = window.controller
    with qtbot.waitSignal(controller.snapshotReceived, timeout=TIMEOUT_MS):
        train(window, max_steps=1000)
    window.actions["pause"].trigger()
    assert controller.training_state == "paused"
    for _ in range(30):  # the step in flight when pause was pressed still reports; wait for a quiet second
        with qtbot.waitSignal(controller.snapshotReceived, timeout=1000, raising=False) as in_flight:
            pass
        if not in_flight.signal_triggered:
            break
    with qtbot.assertNotEmitted(controller.snapshotReceived, wait=800):
        pass
    with qtbot.waitSignal(controller.snapshotReceived, timeout=TIMEOUT_MS):
        window.actions["resume"].trigger()
    window.actions["stop"].trigger()
    qtbot.waitUntil(lambda: controller.training_state == "idle", timeout=TIMEOUT_MS)
    assert controller.history["step"][-1] < 1000


@pytest.mark.parametrize("exception, words", [(RuntimeError("boom in the engine"), "boom in the engine"),
                                               (torch.cuda.OutOfMemoryError("CUDA out of memory"), "batch size")])
def test_engine_exception_shows_a_message_and_the_window_stays_usable(qtbot, window, monkeypatch, exception,
                                                                      words):
    def fail(self):
        raise exception

    monkeypatch.setattr("engine.training.trainer.Trainer.initialize", fail)
    with qtbot.waitSignal(window.controller.errorOccurred, timeout=TIMEOUT_MS):
        train(window)
    assert words in window.last_error
    assert words in window.log.toPlainText()
    qtbot.waitUntil(lambda: window.controller.training_state == "idle", timeout=TIMEOUT_MS)
    monkeypatch.undo()
    assert window.actions["train"].isEnabled()
    with qtbot.waitSignal(window.controller.snapshotReceived, timeout=TIMEOUT_MS):
        train(window, max_steps=1)


def test_closing_during_training_ends_the_threads(qtbot, window):
    controller = window.controller
    with qtbot.waitSignal(controller.snapshotReceived, timeout=TIMEOUT_MS):
        train(window, max_steps=1000)
    window.close()
    qtbot.waitUntil(lambda: controller.finished and not window.isVisible(), timeout=TIMEOUT_MS)
    assert not any(thread.isRunning() for thread in controller.threads)


def test_trace_view_requests_only_the_visible_window(qtbot, window, recording):
    loaded = []
    window.controller.traceWindowLoaded.connect(loaded.append)
    window.traces.set_x_range(2.0, 2.5)
    rate = recording.sampling_rate
    column = 0.5 * rate / window.traces.plot.getViewBox().width()  # samples a pixel: reads are on the pixel grid
    qtbot.waitUntil(lambda: bool(loaded) and abs(loaded[-1].start - 2.0 * rate) <= column + 1, timeout=TIMEOUT_MS)
    request = window.controller.last_trace_request
    assert abs(request.start - 2.0 * rate) <= column + 1 and abs(request.stop - 2.5 * rate) <= column + 2
    assert len(loaded[-1].raw) <= 2 * request.pixels
    window.traces.zoom(40.0)  # the whole 15 s: decimated to ~2 points per pixel
    qtbot.waitUntil(lambda: loaded[-1].stop - loaded[-1].start > 10 * rate, timeout=TIMEOUT_MS)
    assert len(loaded[-1].raw) <= 2 * window.controller.last_trace_request.pixels
    narrow = window.controller.last_trace_request.pixels
    window.resize(window.width() + 300, window.height())  # wider Traces: read again for the new width
    qtbot.waitUntil(lambda: window.controller.last_trace_request.pixels > narrow, timeout=TIMEOUT_MS)
    assert abs(window.controller.last_trace_request.pixels - window.traces.plot.getViewBox().width()) <= 2
