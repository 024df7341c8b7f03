"""A session made at the command line opens in the window with everything it holds."""
import h5py
import numpy as np

from engine.cli import main
from qt_windows import close_window, make_window


def test_the_window_shows_the_lambda_curve_of_a_session_sorted_at_the_command_line(qtbot, tmp_path):
    rec, session = tmp_path / "seed.h5", tmp_path / "seed.session.h5"
    assert main(["--quiet", "simulate", str(rec), "--minutes", "0.2", "--seed", "3"]) == 0
    assert main(["--quiet", "sort", str(rec), "--units", "3", "--steps", "4", "--lambda", "auto",
                 "--out", str(session)]) == 0
    with h5py.File(session, "r") as h5:
        stored = np.asarray(h5["history/lam"])
    assert len(stored) >= 1
    win = make_window(qtbot, tmp_path)
    try:
        assert win.controller.load_session(str(session))
        history = win.controller.history
        assert np.allclose(history["lam"], stored)
        assert len(history["step"]) == len(history["lam"]) == len(history["loss"])
    finally:
        close_window(qtbot, win)
