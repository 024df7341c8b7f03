"""Screenshots of the main window: ``python -m app.screenshots OUTDIR --seconds N [--size WxH] [--file FILE]``.

Opens FILE (default: the demo, which trains on its own), trains for N seconds, and saves PNGs of the
window while training and after sorting: ``training-WxH.png``, ``sorted-WxH.png`` and
``overlay-WxH.png`` (the Traces zoomed in with the reconstruction). Works offscreen
(QT_QPA_PLATFORM=offscreen) or under Xvfb (``xvfb-run -a -s "-screen 0 2560x1440x24"``).
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
    parser.add_argument("--size", default="1600x1000", help="window size, WIDTHxHEIGHT")
    parser.add_argument("--file", default=None, help="recording to open instead of the demo")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    os.makedirs(args.outdir, exist_ok=True)
    from app import create_application
    from app.main_window import MainWindow

    app = create_application()
    scratch = tempfile.mkdtemp(prefix="sparsesort-screens-")
    settings = QSettings(os.path.join(scratch, "settings.ini"), QSettings.Format.IniFormat)  # the default layout
    window = MainWindow(settings=settings)
    window.resize(width, height)
    window.show()
    controller = window.controller
    suffix = f"-{width}x{height}"

    def save(name: str) -> None:
        path = os.path.join(args.outdir, f"{name}{suffix}.png")
        window.grab().save(path)
        print(f"saved {path}", flush=True)

    def started(state: str) -> None:
        if state == "training" and not getattr(started, "done", False):
            started.done = True
            QTimer.singleShot(int(args.seconds * 1000), stop_training)
        elif state == "idle" and not getattr(stop_training, "done", False):
            stop_training()  # it settled before N seconds: the last of training

    def stop_training() -> None:
        if not getattr(stop_training, "done", False):
            stop_training.done = True
            save("training")
            controller.stop_training()

    def after_sort(percent: int) -> None:
        if percent >= 100 and controller.training_state == "idle" and getattr(started, "done", False):
            controller.set_selected_units([0])
            QTimer.singleShot(500, when_measured)

    def when_measured() -> None:  # quality metrics and suggestions arrive from the jobs thread
        if controller.jobs.busy:
            QTimer.singleShot(250, when_measured)
        else:
            QTimer.singleShot(500, finish)

    def finish() -> None:
        save("sorted")
        for name in ("Similarity", "Correlograms"):
            window.curation_docks[name].raise_()
        window.docks["Probe"].raise_()
        QTimer.singleShot(800, curation)

    def curation() -> None:
        save("curation")
        window.actions["overlay"].trigger()
        window.traces.zoom(0.1)
        QTimer.singleShot(1500, lambda: (save("overlay"), window.close()))

    controller.trainingStateChanged.connect(started)
    controller.sortProgress.connect(after_sort)
    if args.file:
        window.open_path(args.file)
        window.actions["train"].trigger()
    else:
        window.open_demo()  # trains as it opens
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
