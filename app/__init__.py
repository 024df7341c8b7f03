"""sparsesort's desktop application (PyQt6 + pyqtgraph)."""
from __future__ import annotations

import sys
from pathlib import Path

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def create_application(argv=None):
    from PyQt6.QtWidgets import QApplication
    import pyqtgraph as pg

    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    if not hasattr(app, "gui_thread_gc"):
        # Python's collector runs on whichever thread allocates; on a worker thread it would destroy the
        # plots' Qt objects there. It runs on the GUI thread only (pyqtgraph's advice).
        from pyqtgraph.util.garbage_collector import GarbageCollector
        app.gui_thread_gc = GarbageCollector(interval=1.0)
    app.setApplicationName("sparsesort")
    app.setOrganizationName("sparsesort")
    pg.setConfigOptions(antialias=False, background="#101014", foreground="#dcdcdc")
    style = RESOURCES / "style.qss"
    if style.exists() and app.styleSheet() != style.read_text():  # set again, it re-polishes every widget (1 s)
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
    from PyQt6.QtCore import QTimer
    from app.main_window import MainWindow

    window = MainWindow()
    report_uncaught_errors(window)
    app.aboutToQuit.connect(lambda: stop_threads(window))
    window.show()
    # opened from the event loop, like a file opened from the menu: an error is a message, not an exit
    QTimer.singleShot(0, (lambda: window.open_path(argv[0])) if argv else window.open_demo)
    try:
        return app.exec()
    finally:
        stop_threads(window)


def report_uncaught_errors(window) -> None:
    """An exception no handler caught (in a slot, a timer) goes to stderr with its traceback and reaches the
    user as the window's error message, instead of PyQt ending the process."""
    import traceback

    from app.worker import describe_failure

    def hook(kind, value, tb):
        traceback.print_exception(kind, value, tb)
        if issubclass(kind, Exception):
            window.controller.report_error(describe_failure(value))

    sys.excepthook = hook


def stop_threads(window) -> None:
    """Stop every worker thread of the window and wait for it, so that none is destroyed while it runs
    (a QThread destroyed running aborts the process), whatever ends the event loop."""
    from PyQt6.QtCore import QThread

    window.controller.shutdown()
    for thread in window.findChildren(QThread):
        thread.requestInterruption()
        thread.quit()
        thread.wait()
