"""The window follows a unit count that changes while training (a shifted copy removed)."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import engine.training.trainer  # noqa: E402
from engine.groundtruth.simulate import SimulationConfig, simulate_recording  # noqa: E402
from engine.training.trainer import TrainConfig  # noqa: E402
from tests.qt_windows import CLOSE_TIMEOUT_MS, close_window, make_window  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_a_unit_removed_during_training_leaves_the_window_consistent(qtbot, tmp_path, monkeypatch):
    calls = []

    def last_unit_is_a_copy_at_the_second_step(filters, size, min_shift, trough_tap):
        calls.append(len(filters))
        return np.array([len(filters) - 1]) if len(calls) == 2 else np.zeros(0, dtype=np.int64)

    monkeypatch.setattr(engine.training.trainer, "copy_units", last_unit_is_a_copy_at_the_second_step)
    win = make_window(qtbot, tmp_path)
    try:
        c = win.controller
        c.set_recording(simulate_recording(SimulationConfig(minutes=0.25, seed=3)))
        win.training.show_config(TrainConfig(n_units=None, max_steps=5, batch_size=8))
        win.actions["train"].trigger()
        qtbot.waitUntil(lambda: c.training_state == "idle" and c.spikes is not None, timeout=CLOSE_TIMEOUT_MS)
        qtbot.waitUntil(lambda: c.spikes.n_units == calls[0] - 1, timeout=CLOSE_TIMEOUT_MS)
        assert win.last_error is None
        assert len(c.filters) == len(c.min_amplitudes) == calls[0] - 1
        assert win.filters.n_filters == calls[0] - 1
        assert c.spikes.units.max() < calls[0] - 1 and len(c.spikes) > 0
        assert c.save_session(tmp_path / "s.h5")
    finally:
        close_window(qtbot, win)
