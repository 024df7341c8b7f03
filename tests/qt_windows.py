"""Opening and closing main windows in pytest-qt tests."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PyQt6.QtCore import QSettings  # noqa: E402

from app import create_application  # noqa: E402
from app.main_window import MainWindow  # noqa: E402

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
