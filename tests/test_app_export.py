"""File > Export writes what the window shows, curation included."""
import numpy as np
from qt_windows import close_window, make_window, sort_with_true_filters

from app.exporting import export_to_nwb, export_to_phy
from engine.groundtruth.simulate import SimulationConfig, write_simulation


def test_export_to_phy_and_nwb_carries_spikes_and_labels(qtbot, tmp_path):
    recording = tmp_path / "rec.h5"
    write_simulation(recording, SimulationConfig(minutes=0.2, seed=3))
    win = make_window(qtbot, tmp_path)
    try:
        sort_with_true_filters(qtbot, win, str(recording))
        c = win.controller
        c.curation.curation.label([1], "good")
        assert export_to_phy(c, str(tmp_path / "phy"))
        assert export_to_nwb(c, str(tmp_path / "units.nwb"))
    finally:
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
