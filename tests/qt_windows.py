"""Opening and closing main windows in pytest-qt tests."""
import os
from contextlib import contextmanager

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PyQt6.QtCore import QSettings  # noqa: E402

from app import create_application  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from engine.recording.noise import universal_lambda  # noqa: E402

CLOSE_TIMEOUT_MS = 30_000


def make_window(qtbot, tmp_path) -> MainWindow:
    """A shown main window with its own settings file (the user's layout never leaks in)."""
    create_application()
    win = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    win.show()
    return win


def close_window(qtbot, win) -> None:
    win.close()
    qtbot.waitUntil(lambda: win.controller.finished, timeout=CLOSE_TIMEOUT_MS)
    win.deleteLater()


def sort_with_true_filters(qtbot, win, recording_path):
    """Sort with the ground-truth waveforms as filters: a sorted session in a second, without training."""
    c = win.controller
    assert c.open_recording(recording_path)
    c.filters = c.recording.ground_truth.waveforms.astype(np.float32)
    c.lam = universal_lambda(float(c.noise_sigma.max()), len(c.filters), int(c.recording.sampling_rate))
    c.filtersChanged.emit(c.filters)
    with qtbot.waitSignal(c.curation.changed, timeout=CLOSE_TIMEOUT_MS):
        c.sort_all()
    qtbot.waitUntil(lambda: not win.progress.isVisible() and len(c.spikes) == len(c.curation.curation.times)
                    and set(c.curation.quality) == {0, 1, 2}, timeout=CLOSE_TIMEOUT_MS)


@contextmanager
def sorted_window(qtbot, tmp_path, config):
    """A window on a recording simulated with ``config``, sorted with its true waveforms; closed after."""
    from engine.groundtruth.simulate import write_simulation

    recording = tmp_path / "rec.h5"
    write_simulation(recording, config)
    win = make_window(qtbot, tmp_path)
    try:
        sort_with_true_filters(qtbot, win, str(recording))
        yield win
    finally:
        close_window(qtbot, win)
