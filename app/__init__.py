"""sparsesort's desktop application (PyQt6 + pyqtgraph)."""
from __future__ import annotations

import sys
from pathlib import Path

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def create_application(argv=None):
    from PyQt6.QtWidgets import QApplication
    import pyqtgraph as pg

    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName("sparsesort")
    app.setOrganizationName("sparsesort")
    pg.setConfigOptions(antialias=False, background="#101014", foreground="#dcdcdc")
    style = RESOURCES / "style.qss"
    if style.exists():
        app.setStyleSheet(style.read_text())
    return app


def main(argv=None) -> int:
    """Open the main window on FILE, or on the built-in demo recording without one."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print("usage: python -m app [FILE]   (no FILE: the simulated demo recording)")
        return 0
    from app.qt_platform import exit_if_qt_cannot_start
    exit_if_qt_cannot_start()
    app = create_application()
    from app.main_window import MainWindow

    window = MainWindow()
    window.show()
    if argv:
        window.open_path(argv[0])
    else:
        window.open_demo()
    return app.exec()
