"""The demo as a new user meets it: simulated off the GUI thread with its progress shown, training on its
own (unless the setting says not to), and its session saved where the user will find it."""
import threading
import time

import pytest
from qt_windows import CLOSE_TIMEOUT_MS, close_window, make_window

import app.demo
from engine.groundtruth.simulate import SimulationConfig


@pytest.fixture
def small_demo(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(app.demo, "DEMO_CONFIG", SimulationConfig(minutes=0.15, seed=2))
    threads = []
    real = app.demo.write_simulation

    def recorded(*args, **kwargs):
        threads.append(threading.current_thread())
        time.sleep(0.8)  # long enough to see the window answer while it runs
        return real(*args, **kwargs)

    monkeypatch.setattr(app.demo, "write_simulation", recorded)
    return threads


def test_the_demo_is_simulated_off_the_gui_thread_and_trains_on_its_own(qtbot, tmp_path, small_demo):
    win = make_window(qtbot, tmp_path)
    try:
        start = time.perf_counter()
        win.open_demo()
        assert time.perf_counter() - start < 0.25  # the window is back at once: nothing simulated here
        qtbot.waitUntil(lambda: win.job_progress.isVisible(), timeout=CLOSE_TIMEOUT_MS)
        assert "Simulating the demo" in win.job_progress.format()
        with qtbot.waitSignal(win.controller.snapshotReceived, timeout=CLOSE_TIMEOUT_MS):
            pass  # nobody pressed Train
        assert small_demo and small_demo[0] is not threading.main_thread()
        assert win.state_label.text() == "training" and not win.job_progress.isVisible()
        assert win.actions["demo_trains"].isChecked()
    finally:
        close_window(qtbot, win)


def test_the_setting_turns_training_on_opening_off(qtbot, tmp_path, small_demo):
    win = make_window(qtbot, tmp_path)
    try:
        win.actions["demo_trains"].trigger()
        assert win.settings.value("demo_trains_on_open", type=bool) is False
        with qtbot.waitSignal(win.controller.recordingChanged, timeout=CLOSE_TIMEOUT_MS):
            win.open_demo()
        qtbot.wait(300)
        assert win.controller.training_state == "idle" and win.actions["train"].isEnabled()
    finally:
        close_window(qtbot, win)


def test_the_demos_session_goes_to_the_recordings_folder_and_the_status_bar_says_so(qtbot, tmp_path, small_demo):
    recordings = tmp_path / "my recordings"
    recordings.mkdir()
    from engine.groundtruth.simulate import write_simulation
    write_simulation(recordings / "mouse1.h5", SimulationConfig(minutes=0.05, seed=3))
    win = make_window(qtbot, tmp_path)
    try:
        win.actions["demo_trains"].trigger()  # off: the test sorts with the true filters instead
        assert win.open_path(str(recordings / "mouse1.h5"))  # the user's recordings live here
        with qtbot.waitSignal(win.controller.recordingChanged, timeout=CLOSE_TIMEOUT_MS):
            win.open_demo()
        from qt_windows import sort_with_true_filters
        sort_with_true_filters(qtbot, win, win.controller.recording_path)
        win.controller.set_selected_units([0])
        win.actions["label_good"].trigger()  # the first curation action saves the session
        saved = recordings / "sparsesort-demo.session.h5"
        assert saved.exists() and win.controller.curation.session_path == str(saved)
        assert str(saved) in win.statusBar().currentMessage()
    finally:
        close_window(qtbot, win)
