"""The window applies the same preprocessing rule as ``sparsesort sort``."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from qt_windows import close_window, make_window  # noqa: E402

from engine.groundtruth.simulate import SimulationConfig, simulate_recording, write_simulation  # noqa: E402


def test_raw_binary_is_band_passed_and_simulations_are_not(qtbot, tmp_path):
    rec = simulate_recording(SimulationConfig(minutes=0.1, seed=2))
    raw = tmp_path / "rec.dat"
    (rec.traces() + 500.0).astype(np.int16).tofile(raw)  # a large DC offset, as amplifiers give
    simulated = tmp_path / "sim.h5"
    write_simulation(simulated, SimulationConfig(minutes=0.1, seed=2))
    win = make_window(qtbot, tmp_path)
    try:
        c = win.controller
        assert c.open_recording(str(raw), sampling_rate=10_000, n_channels=1, dtype="int16")
        assert c.preprocessing.bandpass is not None
        assert abs(float(np.median(c.recording.traces(10_000, 20_000)))) < 5.0  # offset filtered out
        assert c.open_recording(str(simulated))
        assert c.preprocessing.is_identity
        np.testing.assert_allclose(c.recording.traces(0, 1000), rec.traces(0, 1000), atol=1e-4)
    finally:
        close_window(qtbot, win)
