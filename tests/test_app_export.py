"""File > Export writes what the window shows, curation included, on the jobs thread."""
import threading

import numpy as np
from qt_windows import CLOSE_TIMEOUT_MS, close_window, make_window, sort_with_true_filters

import app.exporting
from app.exporting import export_to_nwb, export_to_phy
from engine.groundtruth.simulate import SimulationConfig, write_simulation


def test_export_to_phy_and_nwb_carries_spikes_and_labels_written_off_the_gui_thread(qtbot, tmp_path, monkeypatch):
    recording = tmp_path / "rec.h5"
    write_simulation(recording, SimulationConfig(minutes=0.2, seed=3))
    threads, release = [], threading.Event()
    real_phy = app.exporting.export_phy

    def slow_phy(session, target):  # the GUI keeps running while this waits
        threads.append(threading.current_thread())
        release.wait(10)
        return real_phy(session, target)

    monkeypatch.setattr(app.exporting, "export_phy", slow_phy)
    win = make_window(qtbot, tmp_path)
    try:
        sort_with_true_filters(qtbot, win, str(recording))
        c = win.controller
        c.curation.curation.label([1], "good")
        assert export_to_phy(c, str(tmp_path / "phy"))
        qtbot.waitUntil(lambda: win.job_progress.isVisible() and "Exporting to Phy" in win.job_progress.format(),
                        timeout=CLOSE_TIMEOUT_MS)
        assert not (tmp_path / "phy" / "spike_times.npy").exists()  # the window is back before the write
        c.set_selected_units([2])  # ... and still answers
        release.set()
        assert export_to_nwb(c, str(tmp_path / "units.nwb"))
        qtbot.waitUntil(lambda: not c.jobs.busy and not win.job_progress.isVisible(), timeout=CLOSE_TIMEOUT_MS)
        assert threads and threads[0] is not threading.main_thread()
        assert "Exported to NWB" in win.statusBar().currentMessage()
    finally:
        release.set()
        close_window(qtbot, win)
    times = np.load(tmp_path / "phy" / "spike_times.npy")
    assert len(times) == len(c.spikes) and np.all(np.diff(times) >= 0)
    assert "1\tgood" in (tmp_path / "phy" / "cluster_group.tsv").read_text()
    from pynwb import NWBHDF5IO
    with NWBHDF5IO(str(tmp_path / "units.nwb"), "r") as io:
        units = io.read().units.to_dataframe()
    assert sum(len(t) for t in units["spike_times"]) == len(c.spikes)
    assert list(units["label"]).count("good") == 1


def test_export_before_a_model_exists_reports_instead_of_writing(qtbot, tmp_path):
    recording = tmp_path / "rec.h5"
    write_simulation(recording, SimulationConfig(minutes=0.05, seed=4))
    win = make_window(qtbot, tmp_path)
    try:
        errors = []
        win.controller.errorOccurred.connect(errors.append)
        assert win.controller.open_recording(str(recording))
        assert not export_to_phy(win.controller, str(tmp_path / "phy"))
        assert errors and "train or load a model" in errors[0]
        assert not (tmp_path / "phy").exists()
    finally:
        close_window(qtbot, win)


def test_a_failed_export_is_reported(qtbot, tmp_path):
    recording = tmp_path / "rec.h5"
    write_simulation(recording, SimulationConfig(minutes=0.05, seed=4))
    (tmp_path / "taken").write_text("a file where the folder should go")
    win = make_window(qtbot, tmp_path)
    try:
        sort_with_true_filters(qtbot, win, str(recording))
        assert export_to_phy(win.controller, str(tmp_path / "taken"))
        qtbot.waitUntil(lambda: win.last_error is not None, timeout=CLOSE_TIMEOUT_MS)
        assert "the Phy export failed" in win.last_error
    finally:
        close_window(qtbot, win)
