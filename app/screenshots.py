"""Screenshots of the main window: ``python -m app.screenshots OUTDIR --seconds N [FILE]``.

Opens FILE (default: the demo), trains for N seconds, and saves PNGs of the
window while training and after it. Works offscreen (QT_QPA_PLATFORM=offscreen) or under Xvfb.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import sys

from PyQt6.QtCore import QSettings, QTimer


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.screenshots")
    parser.add_argument("outdir")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--file", default=None, help="recording to open instead of the demo")
    args = parser.parse_args(argv)
    os.makedirs(args.outdir, exist_ok=True)
    from app import create_application
    from app.main_window import MainWindow

    app = create_application()
    scratch = tempfile.mkdtemp(prefix="sparsesort-screens-")
    settings = QSettings(os.path.join(scratch, "settings.ini"), QSettings.Format.IniFormat)  # the default layout
    window = MainWindow(settings=settings)
    window.resize(1600, 1000)
    window.show()
    window.open_path(args.file) if args.file else window.open_demo()
    controller = window.controller

    def save(name: str) -> None:
        path = os.path.join(args.outdir, name)
        window.grab().save(path)
        print(f"saved {path}", flush=True)

    def stop_training() -> None:
        save("training.png")
        controller.stop_training()

    def after_sort(percent: int) -> None:
        if percent >= 100 and controller.training_state == "idle":
            window.controller.set_selected_units([0])
            QTimer.singleShot(500, finish)

    def finish() -> None:
        save("sorted.png")
        window.actions["overlay"].trigger()
        window.traces.zoom(0.25)
        QTimer.singleShot(1500, lambda: (save("overlay.png"), window.close()))

    controller.sortProgress.connect(after_sort)
    window.actions["train"].trigger()
    QTimer.singleShot(int(args.seconds * 1000), stop_training)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
