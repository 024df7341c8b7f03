"""The window sorts with the amplitude floors training estimated, and saves them with the session."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from engine.io.session import load_session  # noqa: E402
from engine.groundtruth.simulate import SimulationConfig, simulate_recording  # noqa: E402
from engine.training.trainer import TrainConfig  # noqa: E402
from tests.qt_windows import CLOSE_TIMEOUT_MS, close_window, make_window  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_trained_floors_reach_the_window_sort_and_the_session(qtbot, tmp_path):
    win = make_window(qtbot, tmp_path)
    try:
        c = win.controller
        c.set_recording(simulate_recording(SimulationConfig(minutes=0.25, seed=3)))
        win.training.show_config(TrainConfig(max_steps=4, batch_size=8, tolerance=0.0))
        win.actions["train"].trigger()
        qtbot.waitUntil(lambda: c.training_state == "idle" and c.spikes is not None, timeout=CLOSE_TIMEOUT_MS)
        qtbot.waitUntil(lambda: c.min_amplitudes is not None and len(c.spikes) > 0, timeout=CLOSE_TIMEOUT_MS)
        floors = c.min_amplitudes
        assert (floors > c.lam / 2).all()  # above the lambda-based threshold: the floors decide
        assert (c.spikes.amplitudes >= floors[c.spikes.units] * (1 - 1e-6)).all()
        # a floor above every spike of unit 0 must empty that unit in the window's next sort
        raised = floors.copy()
        raised[0] = 10 * c.spikes.amplitudes.max()
        c.min_amplitudes = raised
        # the visible window is re-sorted first, and the whole sort that training's end started may still
        # arrive with the old floors: wait for a whole sort (not a spliced window) with unit 0 empty
        c.sort_all()
        qtbot.waitUntil(lambda: not c.spikes_spliced and c.spikes.counts()[0] == 0, timeout=CLOSE_TIMEOUT_MS)
        assert c.spikes.counts()[1:].sum() > 0
        c.min_amplitudes = floors
        assert c.save_session(tmp_path / "s.h5")
        saved = load_session(tmp_path / "s.h5")
        np.testing.assert_allclose(saved.min_amplitudes, floors)
        np.testing.assert_allclose(saved.thresholds, np.maximum(c.lam / 2, floors))
    finally:
        close_window(qtbot, win)
